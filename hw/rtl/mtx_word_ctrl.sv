// mtx_word_ctrl - "A batch" of docs/engine.md on mtx_layer_ctrl, several
// words at a time:
//   checks: n_enc, n_dec in [1, 12] (MTX_ENG_PLAN_COUNT); n_words in
//   [1, 64] (MTX_ENG_BATCH); every word's S in [1, Ps] and ids < Vs
//   (MTX_ENG_INPUT, err_word_o the first refused word), all before any
//   memory access.
//   Then groups of consecutive words, as many as fit: at most 64 rows (the
//   sum of their S) and at most as many words as the on-chip KV caches hold
//   for the plan (each word keeps n_dec x H x 64 rows of hs bytes in KC, VC:
//   24,576 beats, so 48 words at C = 128 and 6 decoder layers). A group:
//     x[r] = res(SRC_EMB[id] + SRC_POS[s]) for every row r = (word, s);
//     encoder descriptors in plan order over all the group's rows (the
//     GEMMs and norms see every row, attention stays inside each word);
//     mem = norm(x, ENC_NORM); K2, V2 of every decoder descriptor;
//     then all the group's words decode step by step together: tok = BOS;
//     for t < Pt: x[b] = res(TGT_EMB[tok_b] + TGT_POS[t]) for each word b;
//     decoder descriptors (step t, one row per word); HEAD gives tok_b;
//     a word stops at EOS (length t) or at Pt (length Pt) and its later
//     rows are computed but not recorded; the group ends when all stopped.
// The plan's descriptors (weight and constant offsets) are written into a
// table through desc_*, the batch's words through len_* (S, int32) and id_*
// (int32 as in the batch buffer); the image's global section offsets and
// dimensions are inputs. Embedding rows are read through the memory port
// (C / 4 beats each) into two row buffers and added into x through the
// layer controller's x port. Output: per word out_len_o ids, read by
// (out_word_i, out_idx_i) with out_id_o one clock later.
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
  // the batch: n_words_i words, written while idle
  input  logic [6:0]   n_words_i,
  input  logic         len_we_i,
  input  logic [5:0]   len_word_i,
  input  logic [31:0]  len_data_i,
  input  logic         id_we_i,
  input  logic [5:0]   id_word_i,
  input  logic [5:0]   id_idx_i,
  input  logic [31:0]  id_data_i,
  output logic         busy_o,
  output logic         done_o,
  output logic [7:0]   err_o,
  output logic [5:0]   err_word_o,
  output logic [8:0]   pe_busy_o,
  // performance: the program the layer controller runs (valid with perf_run_o)
  output logic         perf_run_o,
  output logic [2:0]   perf_prog_o,
  output logic [6:0]   perf_rows_o,
  output logic         perf_gemm_o,   // the layer controller runs a GEMM op
  output logic [6:0]   perf_words_o,  // words in the current group
  // results
  input  logic [5:0]   out_word_i,
  input  logic [5:0]   out_idx_i,
  output logic [6:0]   out_len_o,
  output logic [7:0]   out_id_o,
  // memory read port (16-byte beats, responses in order)
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i
);

  localparam logic [7:0] EngInput = 8'd16;  // MTX_ENG_INPUT
  localparam logic [7:0] EngBatch = 8'd15;  // MTX_ENG_BATCH
  localparam logic [7:0] EngDims = 8'd4;    // MTX_ENG_IMAGE_DIMS
  localparam logic [7:0] EngCount = 8'd9;   // MTX_ENG_PLAN_COUNT
  localparam logic [15:0] CacheBeats = 16'd24576;  // mtx_layer_ctrl's KC / VC
  localparam logic signed [32:0] ResMax = 33'sd8388607;
  localparam logic [2:0] ProgEnc = 3'd0;
  localparam logic [2:0] ProgDec = 3'd1;
  localparam logic [2:0] ProgCkv = 3'd2;
  localparam logic [2:0] ProgMem = 3'd3;
  localparam logic [2:0] ProgHead = 3'd4;

  typedef enum logic [3:0] {
    Idle, ChkLen, ChkRd, ChkId, Cap, Grp, IdRd, Next, EmbE, EmbP, EmbW, Call, Wait
  } state_e;
  // what the group does next, in order
  typedef enum logic [2:0] {SrcEmb, Enc, Mem, Ckv, TgtEmb, Dec, Head} phase_e;

  state_e state_q, state_d;
  phase_e ph_q, ph_d;
  logic [6:0]  nw_q, nw_d;        // words in the batch
  logic [6:0]  bm_q, bm_d;        // most words a group may hold (KV cache slots)
  logic [15:0] acc_q, acc_d;      // Cap: cache beats of bm words
  logic [6:0]  w0_q, w0_d;        // the group's first word
  logic [6:0]  gw_q, gw_d;        // words in the group
  logic [6:0]  rows_q, rows_d;    // rows of the group (sum of S)
  logic [6:0]  i_q, i_d;          // Check: word; group row (SrcEmb) or word row (TgtEmb)
  logic [6:0]  sg_q, sg_d;        // SrcEmb: word of the row in the group
  logic [6:0]  sp_q, sp_d;        // Check, SrcEmb: position in the word
  logic [3:0]  l_q, l_d;          // layer
  logic [6:0]  t_q, t_d;          // decoding step
  logic        first_q, first_d;  // first layer call of the batch: load EXP2
  logic [9:0]  wi_q, wi_d;        // EmbW word index
  logic        wv_q;
  logic [14:0] wx_q;
  logic        done_d;
  logic [7:0]  err_d;
  logic [5:0]  errw_d;

  // ---- tables ----
  logic [24*64-1:0] dw_q, dk_q;
  logic [64*8-1:0]  lens_q;       // {S >= 128 or < 0, S[6:0]} per word
  logic [64*8-1:0]  tokt_q;       // last token of each group row
  logic [63:0]      fin_q;        // group row stopped
  logic [6:0]       nfin_q;
  logic [64*7-1:0]  olen_q;       // output length per word

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dw_q   <= '0;
      dk_q   <= '0;
      lens_q <= '0;
    end else begin
      if (desc_we_i) begin
        dw_q[32'(desc_idx_i)*64 +: 64] <= desc_w_i;
        dk_q[32'(desc_idx_i)*64 +: 64] <= desc_k_i;
      end
      if (len_we_i) begin
        lens_q[32'(len_word_i)*8 +: 8] <= {len_data_i[31:7] != 25'd0, len_data_i[6:0]};
      end
    end
  end
  assign out_len_o = olen_q[32'(out_word_i)*7 +: 7];

  // ids of every word: {id >= 256 or < 0, id[7:0]} at (word, position)
  logic        ids_re;
  logic [11:0] ids_raddr;
  logic [8:0]  ids_rd;

  mtx_ram #(.DEPTH(4096), .WIDTH(9)) u_ids (
    .clk_i,
    .we_i   (id_we_i && state_q == Idle),
    .waddr_i({id_word_i, id_idx_i}),
    .wdata_i({id_data_i[31:8] != 24'd0, id_data_i[7:0]}),
    .re_i   (ids_re),
    .raddr_i(ids_raddr),
    .rdata_o(ids_rd)
  );

  // current word's length (Check: word i; Grp: word w0 + gw; SrcEmb: w0 + sg)
  logic [5:0] lw;           // (w0 + gw = 64 only when the batch is done: grp_full)
  logic [7:0] lent;
  logic       len_bad;
  always_comb begin
    lw = i_q[5:0];
    if (state_q == Grp) begin
      lw = 6'(w0_q + gw_q);
    end else if (ph_q == SrcEmb && state_q != ChkLen && state_q != ChkRd && state_q != ChkId) begin
      lw = 6'(w0_q + sg_q);
    end
    lent    = lens_q[32'(lw)*8 +: 8];
    len_bad = lent[7] || lent[6:0] == 7'd0 || lent[6:0] > ps_i || lent[6:0] > 7'd64;
  end

  always_comb begin
    ids_re    = (state_q == ChkRd) || (state_q == IdRd);
    ids_raddr = (state_q == ChkRd) ? {i_q[5:0], sp_q[5:0]} : {6'(w0_q + sg_q), sp_q[5:0]};
  end

  // ---- layer controller ----
  logic         lc_start, lc_busy, lc_done, lc_err;
  logic [2:0]   lc_prog;
  logic [63:0]  lc_w, lc_k;
  logic [4:0]   lc_desc;
  logic [6:0]   lc_n;
  logic [7:0]   lc_tok;
  logic         lc_tok_v;
  logic [5:0]   lc_tok_row;
  logic         lc_req_v, lc_req_rdy, lc_rsp_v;
  logic [63:0]  lc_req_addr;
  logic         x_we;
  logic [14:0]  x_addr;
  logic [31:0]  x_wdata, x_rdata_unused;
  logic         seg_we;
  logic         grp_full;  // Grp: word w0 + gw does not join the group

  assign grp_full = (8'(w0_q) + 8'(gw_q) >= 8'(nw_q)) || (gw_q >= bm_q) ||
                    (8'(rows_q) + 8'(lent[6:0]) > 8'd64);

  always_comb begin
    lc_prog = ProgEnc;
    lc_desc = 5'(l_q);
    lc_w    = '0;
    lc_k    = '0;
    lc_n    = rows_q;
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
        lc_n    = gw_q;
      end
      Head: begin
        lc_prog = ProgHead;
        lc_n    = gw_q;
      end
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

  assign lc_start    = (state_q == Call);
  assign seg_we      = (state_q == Grp) && !grp_full;
  assign perf_run_o  = lc_busy;
  assign perf_prog_o = lc_prog;
  assign perf_rows_o = lc_n;
  assign perf_words_o = gw_q;

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
    .n_i            (lc_n),
    .ndec_i         (n_dec_i),
    .nseg_i         (gw_q),
    .seg_we_i       (seg_we),
    .seg_idx_i      (gw_q[5:0]),
    .seg_st_i       (rows_q[5:0]),
    .seg_len_i      (lent[6:0]),
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
    .gemm_o         (perf_gemm_o),
    .tok_o          (lc_tok),
    .tok_v_o        (lc_tok_v),
    .tok_row_o      (lc_tok_row),
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
  logic [6:0]   cur_pos;
  logic signed [32:0] sum;

  assign rbeats  = c_i[9:2];
  assign loading = (state_q == EmbE) || (state_q == EmbP);
  always_comb begin
    cur_id  = ids_rd[7:0];
    cur_pos = sp_q;
    if (ph_q == TgtEmb) begin
      cur_id  = (t_q == 7'd0) ? bos_i : tokt_q[32'(i_q[5:0])*8 +: 8];
      cur_pos = t_q;
    end
  end

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

  // ---- results: tokens of the HEAD rows ----
  logic       rec_we;      // a token that is part of a word's output
  logic       stop;        // the row's word stops at this token
  logic [5:0] tw;          // the token's word in the batch
  always_comb begin
    tw     = 6'(w0_q + 7'(lc_tok_row));
    rec_we = lc_tok_v && !fin_q[lc_tok_row] && lc_tok != eos_i;
    stop   = lc_tok_v && !fin_q[lc_tok_row] && (lc_tok == eos_i || t_q == pt_i - 7'd1);
  end

  mtx_ram #(.DEPTH(4096), .WIDTH(8)) u_out (
    .clk_i,
    .we_i   (rec_we),
    .waddr_i({tw, t_q[5:0]}),
    .wdata_i(lc_tok),
    .re_i   (state_q == Idle),
    .raddr_i({out_word_i, out_idx_i}),
    .rdata_o(out_id_o)
  );

  logic dec_init;  // the group starts decoding: every row live
  assign dec_init = (state_q == Wait) && (ph_q == Ckv) && lc_done && !lc_err && (l_q == n_dec_i - 4'd1);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tokt_q <= '0;
      fin_q  <= '0;
      nfin_q <= '0;
      olen_q <= '0;
    end else begin
      if (state_q == Idle && start_i) begin
        olen_q <= '0;
      end
      if (dec_init) begin
        fin_q  <= '0;
        nfin_q <= '0;
      end
      if (lc_tok_v) begin
        tokt_q[32'(lc_tok_row)*8 +: 8] <= lc_tok;
      end
      if (stop) begin
        fin_q[lc_tok_row] <= 1'b1;
        nfin_q <= nfin_q + 7'd1;
        olen_q[32'(tw)*7 +: 7] <= (lc_tok == eos_i) ? t_q : pt_i;
      end
    end
  end

  // ---- sequencer ----
  logic [15:0] slot;  // cache beats one word needs: n_dec x H x 64 rows x hs / 16 = 4 C n_dec
  assign slot = 16'(32'(n_dec_i) * 32'(c_i) * 32'd4);

  always_comb begin
    state_d = state_q;
    ph_d    = ph_q;
    nw_d    = nw_q;
    bm_d    = bm_q;
    acc_d   = acc_q;
    w0_d    = w0_q;
    gw_d    = gw_q;
    rows_d  = rows_q;
    i_d     = i_q;
    sg_d    = sg_q;
    sp_d    = sp_q;
    l_d     = l_q;
    t_d     = t_q;
    first_d = first_q;
    wi_d    = wi_q;
    laddr_d = laddr_q;
    lreq_d  = lreq_q;
    lrsp_d  = lrsp_q;
    done_d  = 1'b0;
    err_d   = err_o;
    errw_d  = err_word_o;

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
          nw_d   = n_words_i;
          i_d    = '0;
          sp_d   = '0;
          err_d  = '0;
          errw_d = '0;
          if (n_enc_i == 4'd0 || n_enc_i > 4'd12 || n_dec_i == 4'd0 || n_dec_i > 4'd12) begin
            err_d  = EngCount;
            done_d = 1'b1;
          end else if (n_words_i == 7'd0 || n_words_i > 7'd64) begin
            err_d  = EngBatch;
            done_d = 1'b1;
          end else begin
            state_d = ChkLen;
          end
        end
      end
      ChkLen: begin  // word i: S in [1, Ps]
        sp_d = '0;
        if (len_bad) begin
          err_d   = EngInput;
          errw_d  = i_q[5:0];
          done_d  = 1'b1;
          state_d = Idle;
        end else begin
          state_d = ChkRd;
        end
      end
      ChkRd: state_d = ChkId;  // id (i, sp) on ids_rd next cycle
      ChkId: begin
        sp_d    = sp_q + 7'd1;
        state_d = ChkRd;
        if (ids_rd[8] || 9'(ids_rd[7:0]) >= vs_i) begin
          err_d   = EngInput;
          errw_d  = i_q[5:0];
          done_d  = 1'b1;
          state_d = Idle;
        end else if (sp_q + 7'd1 == lent[6:0]) begin
          i_d     = i_q + 7'd1;
          state_d = ChkLen;
          if (i_q + 7'd1 == nw_q) begin
            bm_d    = '0;
            acc_d   = '0;
            state_d = Cap;
          end
        end
      end
      Cap: begin  // bm = the words whose KV caches fit: min(64, 24576 / slot)
        if (bm_q != 7'd64 && 17'(acc_q) + 17'(slot) <= 17'(CacheBeats)) begin
          bm_d  = bm_q + 7'd1;
          acc_d = acc_q + slot;
        end else begin
          w0_d    = '0;
          gw_d    = '0;
          rows_d  = '0;
          first_d = 1'b1;
          state_d = Grp;
        end
      end
      Grp: begin  // add word w0 + gw while it fits; its segment goes to the layer controller
        if (!grp_full) begin
          gw_d   = gw_q + 7'd1;
          rows_d = rows_q + lent[6:0];
        end else begin
          ph_d    = SrcEmb;
          i_d     = '0;
          sg_d    = '0;
          sp_d    = '0;
          state_d = IdRd;
        end
      end
      IdRd: state_d = Next;  // id of (w0 + sg, sp) on ids_rd next cycle
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
          sp_d    = sp_q + 7'd1;
          state_d = IdRd;
          if (sp_q + 7'd1 == lent[6:0]) begin
            sp_d = '0;
            sg_d = sg_q + 7'd1;
          end
          if (i_q + 7'd1 == rows_q) begin
            ph_d    = Enc;
            l_d     = '0;
            state_d = Next;
          end
        end else if (ph_q == TgtEmb) begin
          i_d     = i_q + 7'd1;
          state_d = Next;
          if (i_q + 7'd1 == gw_q) begin
            ph_d = Dec;
            l_d  = '0;
          end
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
                  ph_d = TgtEmb;
                  t_d  = '0;
                  i_d  = '0;
                end
              end
              Dec: if (l_q == n_dec_i - 4'd1) ph_d = Head;
              Head: begin
                ph_d = TgtEmb;
                t_d  = t_q + 7'd1;
                i_d  = '0;
                if (nfin_q == gw_q) begin  // every word of the group stopped
                  w0_d    = w0_q + gw_q;
                  gw_d    = '0;
                  rows_d  = '0;
                  state_d = Grp;
                  if (w0_q + gw_q == nw_q) begin
                    done_d  = 1'b1;
                    state_d = Idle;
                  end
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
      wv_q   <= 1'b0;
      wx_q   <= '0;
      lane_q <= '0;
    end else begin
      wv_q   <= (state_q == EmbW);
      wx_q   <= 15'(32'(i_q) * 32'(c_i) + 32'(wi_q));
      lane_q <= wi_q[1:0];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      ph_q       <= SrcEmb;
      nw_q       <= '0;
      bm_q       <= '0;
      acc_q      <= '0;
      w0_q       <= '0;
      gw_q       <= '0;
      rows_q     <= '0;
      i_q        <= '0;
      sg_q       <= '0;
      sp_q       <= '0;
      l_q        <= '0;
      t_q        <= '0;
      first_q    <= 1'b0;
      wi_q       <= '0;
      laddr_q    <= '0;
      lreq_q     <= '0;
      lrsp_q     <= '0;
      done_o     <= 1'b0;
      err_o      <= '0;
      err_word_o <= '0;
    end else begin
      state_q    <= state_d;
      ph_q       <= ph_d;
      nw_q       <= nw_d;
      bm_q       <= bm_d;
      acc_q      <= acc_d;
      w0_q       <= w0_d;
      gw_q       <= gw_d;
      rows_q     <= rows_d;
      i_q        <= i_d;
      sg_q       <= sg_d;
      sp_q       <= sp_d;
      l_q        <= l_d;
      t_q        <= t_d;
      first_q    <= first_d;
      wi_q       <= wi_d;
      laddr_q    <= laddr_d;
      lreq_q     <= lreq_d;
      lrsp_q     <= lrsp_d;
      done_o     <= done_d;
      err_o      <= err_d;
      err_word_o <= errw_d;
    end
  end

  assign busy_o = (state_q != Idle);

endmodule
