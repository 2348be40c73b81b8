// mtx_batch_io - moves the engine's batch buffers (layout.h: per word
// MTX_IO_STRIDE = 65 int32, 260 bytes, words back to back, so a word is not
// 16-byte aligned) between memory and the datapath's word tables.
//   load_i   reads n words of [S, id_0, ..., id_{S-1}, 0...] from in_base_i
//            through the read port (ceil(65 n / 4) beats, in order) and
//            writes each word's S (raw, len_*) and ids at positions < S
//            (unsigned compare, at most 64: id_*), one int32 a cycle.
//            At most Depth beats are requested and not yet consumed (the
//            responses land in a Depth-beat queue, so none is ever dropped).
//   store_i  reads each word's length T (out_len_i) and ids (out_idx_o ->
//            out_id_i the next cycle) from the datapath and writes n words of
//            [T, id_0, ..., id_{T-1}, 0...] (all 65 int32, zero padded) to
//            out_base_i through the write port: 16-byte beats with byte
//            enables, none outside [out_base, out_base + 260 n).
// out_word_o is held for a whole word and the length read one cycle after it
// changes (so out_len_i may be registered on out_word_o); out_idx_o is the
// id of the next int32 (a cycle ahead). Bases are 16-byte aligned and n in
// [1, 64] (mtx_plan_seq checks them). done_o pulses when a load or store is
// over (the store's last beat accepted).
`default_nettype none

module mtx_batch_io #(
  parameter int unsigned Depth = 4
) (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         load_i,
  input  logic         store_i,
  input  logic [6:0]   n_i,
  input  logic [63:0]  in_base_i,
  input  logic [63:0]  out_base_i,
  output logic         busy_o,
  output logic         done_o,
  // memory read port (16-byte beats, responses in order)
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i,
  // word table writes
  output logic         len_we_o,
  output logic [5:0]   len_word_o,
  output logic [31:0]  len_data_o,
  output logic         id_we_o,
  output logic [5:0]   id_word_o,
  output logic [5:0]   id_idx_o,
  output logic [31:0]  id_data_o,
  // output table reads
  output logic [5:0]   out_word_o,
  output logic [5:0]   out_idx_o,
  input  logic [7:0]   out_id_i,
  input  logic [6:0]   out_len_i,
  // memory write port (16-byte aligned beats, byte enables)
  output logic         wr_valid_o,
  input  logic         wr_ready_i,
  output logic [63:0]  wr_addr_o,
  output logic [127:0] wr_data_o,
  output logic [15:0]  wr_strb_o
);

  localparam int unsigned PW = $clog2(Depth);

  typedef enum logic [1:0] {Idle, Load, Store, Drain} state_e;
  state_e state_q, state_d;

  logic [12:0] total_q;            // int32s in the batch: 65 n
  logic [10:0] beats_q;            // beats of the input: ceil(65 n / 4)
  logic [63:0] in_base_q, out_base_q;
  logic [10:0] req_cnt_q, req_cnt_d;
  logic [PW:0] occ_q, occ_d;       // beats requested and not yet consumed
  logic [12:0] cnt_q, cnt_d;       // int32s done
  logic [5:0]  w_q, w_d;           // word
  logic [6:0]  p_q, p_d;           // int32 within the word, 0..64
  logic [31:0] s_q, s_d;           // the word's S (load) or T (store)
  logic        len_ok_q, len_ok_d; // out_word_o has been stable a cycle

  // response queue
  logic [127:0] fifo_q [Depth];
  logic [PW-1:0] wp_q, rp_q;
  logic [PW:0]  fill_q;
  logic         pop;

  // output beat being assembled and the beat on the write port
  logic [127:0] acc_q, acc_d, wr_data_q, wr_data_d;
  logic [15:0]  acc_strb_q, acc_strb_d, wr_strb_q, wr_strb_d;
  logic [63:0]  wr_addr_q, wr_addr_d;
  logic         wr_valid_q, wr_valid_d;

  logic        req_fire, ld_take, st_adv, last;
  logic [31:0] ld_val, st_val;
  logic [1:0]  lane;

  assign lane     = cnt_q[1:0];
  assign last     = (cnt_q + 13'd1 == total_q);
  assign req_fire = mem_req_valid_o && mem_req_ready_i;
  assign ld_take  = (state_q == Load) && (fill_q != '0);
  assign ld_val   = fifo_q[rp_q][32*lane +: 32];
  assign pop      = ld_take && (lane == 2'd3 || last);
  assign st_adv   = (state_q == Store) && (!wr_valid_q || wr_ready_i) && (p_q != 7'd0 || len_ok_q);

  always_comb begin
    if (p_q == 7'd0) st_val = {25'd0, out_len_i};
    else if (32'(p_q) <= s_q) st_val = {24'd0, out_id_i};
    else st_val = 32'd0;
  end

  always_comb begin
    state_d    = state_q;
    req_cnt_d  = req_cnt_q;
    occ_d      = occ_q;
    cnt_d      = cnt_q;
    w_d        = w_q;
    p_d        = p_q;
    s_d        = s_q;
    len_ok_d   = 1'b1;
    acc_d      = acc_q;
    acc_strb_d = acc_strb_q;
    wr_data_d  = wr_data_q;
    wr_strb_d  = wr_strb_q;
    wr_addr_d  = wr_addr_q;
    wr_valid_d = wr_valid_q;
    len_we_o   = 1'b0;
    id_we_o    = 1'b0;
    done_o     = 1'b0;

    if (req_fire) req_cnt_d = req_cnt_q + 11'd1;
    occ_d = occ_q + (req_fire ? 1 : 0) - (pop ? 1 : 0);
    if (wr_valid_q && wr_ready_i) wr_valid_d = 1'b0;

    case (state_q)
      Idle: begin
        cnt_d     = '0;
        w_d       = '0;
        p_d       = '0;
        req_cnt_d = '0;
        len_ok_d  = 1'b0;
        if (load_i) state_d = Load;
        else if (store_i) state_d = Store;
      end
      Load: begin
        if (ld_take) begin
          if (p_q == 7'd0) begin
            len_we_o = 1'b1;
            s_d      = ld_val;
          end else begin
            id_we_o = (32'(p_q) - 32'd1) < s_q;
          end
          cnt_d = cnt_q + 13'd1;
          if (p_q == 7'd64) begin
            p_d = '0;
            w_d = w_q + 6'd1;
          end else begin
            p_d = p_q + 7'd1;
          end
          if (last) begin
            done_o  = 1'b1;
            state_d = Idle;
          end
        end
      end
      Store: begin
        if (st_adv) begin
          if (p_q == 7'd0) s_d = {25'd0, out_len_i};
          acc_d[32*lane +: 32]     = st_val;
          acc_strb_d[4*lane +: 4]  = 4'hf;
          if (lane == 2'd3 || last) begin
            wr_data_d  = acc_d;
            wr_strb_d  = acc_strb_d;
            wr_addr_d  = out_base_q + {49'd0, cnt_q[12:2], 4'd0};
            wr_valid_d = 1'b1;
            acc_d      = '0;
            acc_strb_d = '0;
          end
          cnt_d = cnt_q + 13'd1;
          if (p_q == 7'd64) begin
            p_d      = '0;
            w_d      = w_q + 6'd1;
            len_ok_d = 1'b0;
          end else begin
            p_d = p_q + 7'd1;
          end
          if (last) state_d = Drain;
        end
      end
      Drain: begin
        if (!wr_valid_q || wr_ready_i) begin
          done_o  = 1'b1;
          state_d = Idle;
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (mem_rsp_valid_i) fifo_q[wp_q] <= mem_rsp_data_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      total_q    <= '0;
      beats_q    <= '0;
      in_base_q  <= '0;
      out_base_q <= '0;
      req_cnt_q  <= '0;
      occ_q      <= '0;
      cnt_q      <= '0;
      w_q        <= '0;
      p_q        <= '0;
      s_q        <= '0;
      len_ok_q   <= 1'b0;
      wp_q       <= '0;
      rp_q       <= '0;
      fill_q     <= '0;
      acc_q      <= '0;
      acc_strb_q <= '0;
      wr_data_q  <= '0;
      wr_strb_q  <= '0;
      wr_addr_q  <= '0;
      wr_valid_q <= 1'b0;
    end else begin
      state_q    <= state_d;
      req_cnt_q  <= req_cnt_d;
      occ_q      <= occ_d;
      cnt_q      <= cnt_d;
      w_q        <= w_d;
      p_q        <= p_d;
      s_q        <= s_d;
      len_ok_q   <= len_ok_d;
      acc_q      <= acc_d;
      acc_strb_q <= acc_strb_d;
      wr_data_q  <= wr_data_d;
      wr_strb_q  <= wr_strb_d;
      wr_addr_q  <= wr_addr_d;
      wr_valid_q <= wr_valid_d;
      if (state_q == Idle && (load_i || store_i)) begin
        total_q    <= 13'd65 * 13'(n_i);
        beats_q    <= 11'((13'd65 * 13'(n_i) + 13'd3) >> 2);
        in_base_q  <= in_base_i;
        out_base_q <= out_base_i;
      end
      if (mem_rsp_valid_i) wp_q <= wp_q + 1'b1;
      if (pop) rp_q <= rp_q + 1'b1;
      fill_q <= fill_q + (mem_rsp_valid_i ? 1 : 0) - (pop ? 1 : 0);
    end
  end

  assign busy_o          = (state_q != Idle);
  assign mem_req_valid_o = (state_q == Load) && (req_cnt_q < beats_q) && (occ_q < (PW+1)'(Depth));
  assign mem_req_addr_o  = in_base_q + {49'd0, req_cnt_q, 4'd0};
  assign len_word_o      = w_q;
  assign len_data_o      = ld_val;
  assign id_word_o       = w_q;
  assign id_idx_o        = 6'(p_q - 7'd1);
  assign id_data_o       = ld_val;
  assign out_word_o      = w_q;
  assign out_idx_o       = st_adv ? p_q[5:0] : p_q[5:0] - 6'd1;
  assign wr_valid_o      = wr_valid_q;
  assign wr_addr_o       = wr_addr_q;
  assign wr_data_o       = wr_data_q;
  assign wr_strb_o       = wr_strb_q;

endmodule
