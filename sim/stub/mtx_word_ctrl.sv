// sim/stub/mtx_word_ctrl.sv - a stand-in with the batched word controller's
// announced ports, for tb_top only (the real controller replaces it once it
// is on main). It checks what the top delivers and answers in a way the
// bench can predict, so the wiring of mtx_top is exercised end to end:
//   start: every descriptor slot of the plan (encoder 0.., decoder 12..)
//   written with nonzero offsets since reset, else err 99; n_words in
//   [1, 64]; every word's S in [1, Ps] and ids < Vs (MTX_ENG_INPUT = 16);
//   then, per word, one beat read (through the arbiters) from
//   SRC_EMB + 16 * (first id) for even words, the first decoder
//   descriptor's constants + 16 * word for odd ones; output length min(S, Pt), ids (id + 1) mod 256.
// Simulation only: behavioural.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off BLKSEQ */

module mtx_word_ctrl (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         start_i,
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
  input  logic [63:0]  src_emb_i,
  input  logic [63:0]  src_pos_i,
  input  logic [63:0]  tgt_emb_i,
  input  logic [63:0]  tgt_pos_i,
  input  logic [63:0]  enc_norm_i,
  input  logic [63:0]  dec_norm_i,
  input  logic [63:0]  lm_head_i,
  input  logic [63:0]  lm_req_i,
  input  logic [63:0]  exp2_i,
  input  logic [3:0]   n_enc_i,
  input  logic [3:0]   n_dec_i,
  input  logic         desc_we_i,
  input  logic [4:0]   desc_idx_i,
  input  logic [63:0]  desc_w_i,
  input  logic [63:0]  desc_k_i,
  input  logic [6:0]   n_words_i,
  input  logic         id_we_i,
  input  logic [5:0]   id_word_i,
  input  logic [5:0]   id_idx_i,
  input  logic [31:0]  id_data_i,
  input  logic         len_we_i,
  input  logic [5:0]   len_word_i,
  input  logic [31:0]  len_data_i,
  output logic         busy_o,
  output logic         done_o,
  output logic [7:0]   err_o,
  input  logic [5:0]   out_word_i,
  input  logic [5:0]   out_idx_i,
  output logic [7:0]   out_id_o,
  output logic [6:0]   out_len_o,
  output logic [8:0]   pe_busy_o,
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i
);
  logic [31:0] len_q [64];
  logic [31:0] id_q [64*64];
  logic [63:0] dw_q [24];
  logic [63:0] dk_q [24];
  logic [6:0]  olen_q [64];
  logic [6:0]  w_q;
  logic [7:0]  pend_q;
  logic        run_q, req_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int i = 0; i < 24; i++) begin
        dw_q[i] <= '0;
        dk_q[i] <= '0;
      end
      run_q <= 1'b0;
      req_q <= 1'b0;
      done_o <= 1'b0;
      err_o <= '0;
      pend_q <= '0;
      w_q <= '0;
    end else begin
      done_o <= 1'b0;
      if (desc_we_i) begin
        dw_q[desc_idx_i] <= desc_w_i;
        dk_q[desc_idx_i] <= desc_k_i;
      end
      if (len_we_i) len_q[len_word_i] <= len_data_i;
      if (id_we_i) id_q[{id_word_i, id_idx_i}] <= id_data_i;
      if (start_i) begin : check
        logic [7:0] e;
        e = 8'd0;
        for (int i = 0; i < 12; i++) begin
          if (i < int'(n_enc_i) && (dw_q[i] == 0 || dk_q[i] == 0)) e = 8'd99;
          if (i < int'(n_dec_i) && (dw_q[12 + i] == 0 || dk_q[12 + i] == 0)) e = 8'd99;
        end
        if (n_words_i == 0 || n_words_i > 64) e = 8'd15;
        for (int w = 0; w < 64; w++) begin
          if (e == 0 && w < int'(n_words_i)) begin
            if (len_q[w] == 0 || len_q[w] > 32'(ps_i)) e = 8'd16;
            else for (int i = 0; i < 64; i++)
              if (i < int'(len_q[w]) && id_q[w*64 + i] >= 32'(vs_i)) e = 8'd16;
          end
        end
        err_o <= e;
        if (e != 0) done_o <= 1'b1;
        else begin
          run_q <= 1'b1;
          req_q <= 1'b1;
          w_q <= '0;
          pend_q <= '0;
          for (int w = 0; w < 64; w++)
            olen_q[w] <= len_q[w] < 32'(pt_i) ? len_q[w][6:0] : pt_i;
        end
      end else if (run_q) begin
        if (mem_req_valid_o && mem_req_ready_i) begin
          if (w_q + 7'd1 == n_words_i) req_q <= 1'b0;
          w_q <= w_q + 7'd1;
        end
        pend_q <= pend_q + ((mem_req_valid_o && mem_req_ready_i) ? 8'd1 : 8'd0)
                         - (mem_rsp_valid_i ? 8'd1 : 8'd0);
        if (!req_q && pend_q == 0 && !(mem_req_valid_o && mem_req_ready_i)) begin
          run_q <= 1'b0;
          done_o <= 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk_i) out_id_o <= 8'(id_q[{out_word_i, out_idx_i}] + 32'd1);
  assign out_len_o = olen_q[out_word_i];
  assign busy_o = run_q;
  assign pe_busy_o = run_q ? 9'd3 : 9'd0;
  assign mem_req_valid_o = run_q && req_q;
  assign mem_req_addr_o = w_q[0] ? dk_q[12] + {53'd0, w_q, 4'd0}
                               : src_emb_i + {52'd0, id_q[{w_q[5:0], 6'd0}][7:0], 4'd0};
endmodule
