// mtx_word_ctrl - "A word" of docs/engine.md on mtx_layer_ctrl:
//   x[s] = res(SRC_EMB[id_s] + SRC_POS[s]); encoder descriptors in plan
//   order; mem = norm(x, ENC_NORM); K2, V2 of every decoder descriptor;
//   tok = BOS; for t < Pt: y = res(TGT_EMB[tok] + TGT_POS[t]); decoder
//   descriptors (step t); tok = argmax over ids >= 2 of the logits; stop at
//   EOS (length t), else out[t] = tok (no EOS within Pt: length Pt).
// The plan's descriptors (weight and constant offsets) are written into a
// table through desc_*, the word's ids through id_* (int32 as in the batch
// buffer); the image's global section offsets and dimensions are inputs.
// Embedding rows are read through the memory port (C / 4 beats each) into
// two row buffers and added into x through the layer controller's x port.
// Checked at start, before any memory access (err_o with done_o): n_enc,
// n_dec in [1, 12] (MTX_ENG_PLAN_COUNT), S in [1, Ps] and every id < Vs
// (MTX_ENG_INPUT). A refused layer configuration ends
// the word with MTX_ENG_IMAGE_DIMS. Output: out_len_o ids, read by index.
`default_nettype none

module mtx_word_ctrl (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         start_i,
  // image header
  input  logic [9:0]   c_i,
  input  logic [3:0]   heads_i,
  input  logic [11:0]  f_i,
  input  logic [8:0]   vs_i,
  input  logic [8:0]   vt_i,
  input  logic [6:0]   ps_i,
  input  logic [6:0]   pt_i,
  input  logic [31:0]  eps_i,
  input  logic [7:0]   bos_i,
  input  logic [7:0]   eos_i,
  // global sections (byte offsets in the image)
  input  logic [63:0]  src_emb_i,
  input  logic [63:0]  src_pos_i,
  input  logic [63:0]  tgt_emb_i,
  input  logic [63:0]  tgt_pos_i,
  input  logic [63:0]  enc_norm_i,
  input  logic [63:0]  dec_norm_i,
  input  logic [63:0]  lm_head_i,
  input  logic [63:0]  lm_req_i,
  input  logic [63:0]  exp2_i,
  // plan: descriptor table, encoder at 0 .., decoder at 12 ..
  input  logic [3:0]   n_enc_i,
  input  logic [3:0]   n_dec_i,
  input  logic         desc_we_i,
  input  logic [4:0]   desc_idx_i,
  input  logic [63:0]  desc_w_i,
  input  logic [63:0]  desc_k_i,
  // the word
  input  logic [6:0]   n_i,
  input  logic         id_we_i,
  input  logic [5:0]   id_idx_i,
  input  logic [31:0]  id_data_i,
  output logic         busy_o,
  output logic         done_o,
  output logic [7:0]   err_o,
  output logic [8:0]   pe_busy_o,
  output logic [6:0]   out_len_o,
  input  logic [5:0]   out_idx_i,
  output logic [7:0]   out_id_o,
  // memory read port (16-byte beats, responses in order)
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i
);

  localparam logic [7:0] EngInput = 8'd16;  // MTX_ENG_INPUT
  localparam logic [7:0] EngDims = 8'd4;    // MTX_ENG_IMAGE_DIMS
  localparam logic [7:0] EngCount = 8'd9;   // MTX_ENG_PLAN_COUNT
  localparam logic signed [32:0] ResMax = 33'sd8388607;
  localparam logic [2:0] ProgEnc = 3'd0;
  localparam logic [2:0] ProgDec = 3'd1;
  localparam logic [2:0] ProgCkv = 3'd2;
  localparam logic [2:0] ProgMem = 3'd3;
  localparam logic [2:0] ProgHead = 3'd4;

  typedef enum logic [3:0] {
    Idle, Check, EmbE, EmbP, EmbW, Call, Wait, Next
  } state_e;
  // what the word does next, in order
  typedef enum logic [2:0] {SrcEmb, Enc, Mem, Ckv, TgtEmb, Dec, Head} phase_e;

  state_e state_q, state_d;
  phase_e ph_q, ph_d;
  logic [6:0]  s_n_q, s_n_d;
  logic [6:0]  i_q, i_d;          // Check index; embedding row
  logic [3:0]  l_q, l_d;          // layer
  logic [6:0]  t_q, t_d;          // decoding step
  logic [7:0]  tok_q, tok_d;
  logic        first_q, first_d;  // first layer call of the word: load EXP2
  logic [9:0]  wi_q, wi_d;        // EmbW word index
  logic        wv_q;
  logic [14:0] wx_q;
  logic        done_d;
  logic [7:0]  err_d;
  logic [6:0]  len_d;

  // tables
  logic [24*64-1:0] dw_q, dk_q;
  logic [64*9-1:0]  ids_q;        // {id >= 256 or < 0, id[7:0]}
  logic [64*8-1:0]  out_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dw_q  <= '0;
      dk_q  <= '0;
      ids_q <= '0;
    end else begin
      if (desc_we_i) begin
        dw_q[32'(desc_idx_i)*64 +: 64] <= desc_w_i;
        dk_q[32'(desc_idx_i)*64 +: 64] <= desc_k_i;
      end
      if (id_we_i) begin
        ids_q[32'(id_idx_i)*9 +: 9] <= {id_data_i[31:8] != 24'd0, id_data_i[7:0]};
      end
    end
  end
  assign out_id_o = out_q[32'(out_idx_i)*8 +: 8];

  // ---- layer controller ----
  logic         lc_start, lc_busy, lc_done, lc_err;
  logic [2:0]   lc_prog;
  logic [63:0]  lc_w, lc_k;
  logic [4:0]   lc_desc;
  logic [7:0]   lc_tok;
  logic         lc_req_v, lc_req_rdy, lc_rsp_v;
  logic [63:0]  lc_req_addr;
  logic         x_we;
  logic [14:0]  x_addr;
  logic [31:0]  x_wdata, x_rdata_unused;

  always_comb begin
    lc_prog = ProgEnc;
    lc_desc = 5'(l_q);
    lc_w    = '0;
    lc_k    = '0;
    case (ph_q)
      Enc: lc_prog = ProgEnc;
      Mem: lc_prog = ProgMem;
      Ckv: begin
        lc_prog = ProgCkv;
        lc_desc = 5'd12 + 5'(l_q);
      end
      Dec: begin
        lc_prog = ProgDec;
        lc_desc = 5'd12 + 5'(l_q);
      end
      Head: lc_prog = ProgHead;
      default: lc_prog = ProgEnc;
    endcase
    lc_w = dw_q[32'(lc_desc)*64 +: 64];
    lc_k = dk_q[32'(lc_desc)*64 +: 64];
    if (ph_q == Mem) begin
      lc_k = enc_norm_i;
    end
    if (ph_q == Head) begin
      lc_w = lm_head_i;
      lc_k = dec_norm_i;
    end
  end

  assign lc_start = (state_q == Call);

  mtx_layer_ctrl u_layer (
    .clk_i,
    .rst_ni,
    .start_i        (lc_start),
    .prog_i         (lc_prog),
    .layer_i        (l_q),
    .step_i         (t_q[5:0]),
    .tbl_load_i     (first_q),
    .c_i,
    .heads_i,
    .f_i,
    .n_i            (s_n_q),
    .eps_i,
    .w_off_i        (lc_w),
    .k_off_i        (lc_k),
    .exp2_off_i     (exp2_i),
    .k2_off_i       (lm_req_i),
    .vt_i,
    .busy_o         (lc_busy),
    .done_o         (lc_done),
    .err_o          (lc_err),
    .pe_busy_o,
    .tok_o          (lc_tok),
    .mem_req_valid_o(lc_req_v),
    .mem_req_ready_i(lc_req_rdy),
    .mem_req_addr_o (lc_req_addr),
    .mem_rsp_valid_i(lc_rsp_v),
    .mem_rsp_data_i,
    .x_we_i         (x_we),
    .x_addr_i       (x_addr),
    .x_wdata_i      (x_wdata),
    .x_rdata_o      (x_rdata_unused)
  );

  // ---- embedding rows: EMB row then POS row, C / 4 beats each ----
  logic [63:0]  laddr_q, laddr_d;
  logic [7:0]   lreq_q, lreq_d, lrsp_q, lrsp_d;
  logic [7:0]   rbeats;
  logic         loading;
  logic [127:0] e_rd, p_rd;
  logic [1:0]   lane_q;
  logic [7:0]   cur_id;
  logic [6:0]   cur_pos, emb_row;
  logic signed [32:0] sum;

  assign rbeats  = c_i[9:2];
  assign loading = (state_q == EmbE) || (state_q == EmbP);
  assign cur_id  = (ph_q == SrcEmb) ? ids_q[32'(i_q[5:0])*9 +: 8] : tok_q;
  assign cur_pos = (ph_q == SrcEmb) ? i_q : t_q;
  assign emb_row = (ph_q == SrcEmb) ? i_q : 7'd0;

  mtx_ram #(.DEPTH(128), .WIDTH(128)) u_erow (
    .clk_i,
    .we_i   (state_q == EmbE && mem_rsp_valid_i),
    .waddr_i(lrsp_q[6:0]),
    .wdata_i(mem_rsp_data_i),
    .re_i   (state_q == EmbW),
    .raddr_i(wi_q[8:2]),
    .rdata_o(e_rd)
  );

  mtx_ram #(.DEPTH(128), .WIDTH(128)) u_prow (
    .clk_i,
    .we_i   (state_q == EmbP && mem_rsp_valid_i),
    .waddr_i(lrsp_q[6:0]),
    .wdata_i(mem_rsp_data_i),
    .re_i   (state_q == EmbW),
    .raddr_i(wi_q[8:2]),
    .rdata_o(p_rd)
  );

  always_comb begin
    sum = 33'($signed(e_rd[32'(lane_q)*32 +: 32])) + 33'($signed(p_rd[32'(lane_q)*32 +: 32]));
    x_we    = wv_q;
    x_addr  = wx_q;
    x_wdata = 32'(sum);
    if (sum > ResMax) begin
      x_wdata = 32'(ResMax);
    end else if (sum < -ResMax) begin
      x_wdata = 32'(-ResMax);
    end
  end

  // memory port: the layer controller's while it runs, else the row loads
  assign mem_req_valid_o = lc_busy ? lc_req_v : (loading && lreq_q != 8'd0);
  assign mem_req_addr_o  = lc_busy ? lc_req_addr : laddr_q;
  assign lc_req_rdy      = lc_busy && mem_req_ready_i;
  assign lc_rsp_v        = lc_busy && mem_rsp_valid_i;

  // ---- sequencer ----
  logic ids_bad;
  assign ids_bad = ids_q[32'(i_q[5:0])*9 + 8] || (9'(ids_q[32'(i_q[5:0])*9 +: 8]) >= vs_i);

  always_comb begin
    state_d = state_q;
    ph_d    = ph_q;
    s_n_d   = s_n_q;
    i_d     = i_q;
    l_d     = l_q;
    t_d     = t_q;
    tok_d   = tok_q;
    first_d = first_q;
    wi_d    = wi_q;
    laddr_d = laddr_q;
    lreq_d  = lreq_q;
    lrsp_d  = lrsp_q;
    done_d  = 1'b0;
    err_d   = err_o;
    len_d   = out_len_o;

    if (loading && mem_req_valid_o && mem_req_ready_i) begin
      laddr_d = laddr_q + 64'd16;
      lreq_d  = lreq_q - 8'd1;
    end
    if (loading && mem_rsp_valid_i) begin
      lrsp_d = lrsp_q + 8'd1;
    end

    case (state_q)
      Idle: begin
        if (start_i) begin
          s_n_d = n_i;
          i_d   = '0;
          len_d = '0;
          err_d = '0;
          if (n_enc_i == 4'd0 || n_enc_i > 4'd12 || n_dec_i == 4'd0 || n_dec_i > 4'd12) begin
            err_d  = EngCount;
            done_d = 1'b1;
          end else if (n_i == 7'd0 || n_i > ps_i || n_i > 7'd64) begin
            err_d  = EngInput;
            done_d = 1'b1;
          end else begin
            state_d = Check;
          end
        end
      end
      Check: begin
        i_d = i_q + 7'd1;
        if (ids_bad) begin
          err_d   = EngInput;
          done_d  = 1'b1;
          state_d = Idle;
        end else if (i_q == s_n_q - 7'd1) begin
          i_d     = '0;
          ph_d    = SrcEmb;
          first_d = 1'b1;
          state_d = Next;
        end
      end
      Next: begin  // start the embedding row or layer call of ph / i / l / t
        if (ph_q == SrcEmb || ph_q == TgtEmb) begin
          laddr_d = ((ph_q == SrcEmb) ? src_emb_i : tgt_emb_i) +
                    64'(32'(cur_id) * 32'(c_i)) * 64'd4;
          lreq_d  = rbeats;
          lrsp_d  = '0;
          state_d = EmbE;
        end else begin
          state_d = Call;
        end
      end
      EmbE, EmbP: begin
        if (lreq_q == 8'd0 && lrsp_d == rbeats) begin
          if (state_q == EmbE) begin
            laddr_d = ((ph_q == SrcEmb) ? src_pos_i : tgt_pos_i) +
                      64'(32'(cur_pos) * 32'(c_i)) * 64'd4;
            lreq_d  = rbeats;
            lrsp_d  = '0;
            state_d = EmbP;
          end else begin
            wi_d    = '0;
            state_d = EmbW;
          end
        end
      end
      EmbW: begin
        wi_d = wi_q + 10'd1;
        if (wi_q == c_i - 10'd1) begin
          state_d = Wait;  // the last word is written next cycle
        end
      end
      Call: state_d = Wait;
      Wait: begin
        if (ph_q == SrcEmb) begin
          i_d     = i_q + 7'd1;
          state_d = Next;
          if (i_q == s_n_q - 7'd1) begin
            ph_d = Enc;
            l_d  = '0;
          end
        end else if (ph_q == TgtEmb) begin
          ph_d    = Dec;
          l_d     = '0;
          state_d = Next;
        end else if (lc_done) begin
          first_d = 1'b0;
          state_d = Next;
          l_d     = l_q + 4'd1;
          if (lc_err) begin
            err_d   = EngDims;
            done_d  = 1'b1;
            state_d = Idle;
          end else begin
            case (ph_q)
              Enc: if (l_q == n_enc_i - 4'd1) ph_d = Mem;
              Mem: begin
                ph_d = Ckv;
                l_d  = '0;
              end
              Ckv: begin
                if (l_q == n_dec_i - 4'd1) begin
                  ph_d  = TgtEmb;
                  t_d   = '0;
                  tok_d = bos_i;
                end
              end
              Dec: if (l_q == n_dec_i - 4'd1) ph_d = Head;
              Head: begin
                tok_d = lc_tok;
                ph_d  = TgtEmb;
                t_d   = t_q + 7'd1;
                if (lc_tok == eos_i) begin
                  len_d   = t_q;
                  done_d  = 1'b1;
                  state_d = Idle;
                end else if (t_q == pt_i - 7'd1) begin
                  len_d   = pt_i;
                  done_d  = 1'b1;
                  state_d = Idle;
                end
              end
              default: ph_d = Head;
            endcase
          end
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_q <= '0;
    end else if (state_q == Wait && ph_q == Head && lc_done && !lc_err && lc_tok != eos_i) begin
      out_q[32'(t_q[5:0])*8 +: 8] <= lc_tok;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wv_q   <= 1'b0;
      wx_q   <= '0;
      lane_q <= '0;
    end else begin
      wv_q   <= (state_q == EmbW);
      wx_q   <= 15'(32'(emb_row) * 32'(c_i) + 32'(wi_q));
      lane_q <= wi_q[1:0];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q   <= Idle;
      ph_q      <= SrcEmb;
      s_n_q     <= '0;
      i_q       <= '0;
      l_q       <= '0;
      t_q       <= '0;
      tok_q     <= '0;
      first_q   <= 1'b0;
      wi_q      <= '0;
      laddr_q   <= '0;
      lreq_q    <= '0;
      lrsp_q    <= '0;
      done_o    <= 1'b0;
      err_o     <= '0;
      out_len_o <= '0;
    end else begin
      state_q   <= state_d;
      ph_q      <= ph_d;
      s_n_q     <= s_n_d;
      i_q       <= i_d;
      l_q       <= l_d;
      t_q       <= t_d;
      tok_q     <= tok_d;
      first_q   <= first_d;
      wi_q      <= wi_d;
      laddr_q   <= laddr_d;
      lreq_q    <= lreq_d;
      lrsp_q    <= lrsp_d;
      done_o    <= done_d;
      err_o     <= err_d;
      out_len_o <= len_d;
    end
  end

  assign busy_o = (state_q != Idle);

endmodule
