// mtx_top - the whole engine: AXI4-lite registers (mtx_ctrl_regs), the plan
// sequencer (mtx_plan_seq), the batch mover (mtx_batch_io), two read
// arbiters (mtx_mem_arb) and the batched word controller (mtx_word_ctrl).
// A run:
//   Seq    mtx_plan_seq validates image, TOC, plan, descriptors and the
//          batch registers, and hands each descriptor into the word
//          controller's table (encoder at 0.., decoder at 12..);
//   Load   mtx_batch_io writes the input batch into the word tables;
//   Words  mtx_word_ctrl runs the batch (its err_o: MTX_ENG_INPUT, ...);
//   Store  mtx_batch_io writes the output batch;
// then ERROR / STATUS.done (the first failure's status, nothing written to
// the output buffer after a failure). Reads: the sequencer and the batch
// mover share one mtx_mem_arb, which shares a second with the word
// controller; writes: the batch mover alone. The sequencer's section and
// descriptor offsets are image offsets: the word controller gets them plus
// the image base (memory addresses; the base stays below 2^63).
`default_nettype none

module mtx_top (
  input  logic         clk_i,
  input  logic         rst_ni,
  // AXI4-lite control
  input  logic         awvalid_i,
  output logic         awready_o,
  input  logic [7:0]   awaddr_i,
  input  logic         wvalid_i,
  output logic         wready_o,
  input  logic [31:0]  wdata_i,
  input  logic [3:0]   wstrb_i,
  output logic         bvalid_o,
  input  logic         bready_i,
  output logic [1:0]   bresp_o,
  input  logic         arvalid_i,
  output logic         arready_o,
  input  logic [7:0]   araddr_i,
  output logic         rvalid_o,
  input  logic         rready_i,
  output logic [31:0]  rdata_o,
  output logic [1:0]   rresp_o,
  // memory read port (16-byte beats, responses in order)
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i,
  // memory write port (16-byte beats, byte enables)
  output logic         wr_valid_o,
  input  logic         wr_ready_i,
  output logic [63:0]  wr_addr_o,
  output logic [127:0] wr_data_o,
  output logic [15:0]  wr_strb_o,
  output logic         irq_o
);

  localparam logic [7:0] EngOk = 8'd0;

  typedef enum logic [2:0] {Idle, Seq, Load, Words, Store, Finish} state_e;
  state_e state_q, state_d;
  logic [7:0] err_q, err_d;

  // registers
  logic        start, done;
  logic [63:0] img_base, img_bytes, plan_base, plan_bytes;
  logic [63:0] in_base, in_bytes, out_base, out_bytes;
  logic [31:0] n_words;
  logic [8:0]  pe_busy;

  // sequencer
  logic        seq_busy, seq_done;
  logic [7:0]  seq_err, layers;
  logic        desc_valid;
  logic [1:0]  desc_kind;
  logic [4:0]  desc_idx;
  logic [31:0] desc_origin;
  logic [63:0] desc_w, desc_k;
  logic [9:0]  c;
  logic [3:0]  heads, n_enc, n_dec;
  logic [11:0] f;
  logic [8:0]  vs, vt;
  logic [6:0]  ps, pt, n_batch;
  logic [31:0] eps;
  logic [7:0]  bos, eos;
  logic [63:0] src_emb, src_pos, tgt_emb, tgt_pos, enc_norm, dec_norm, lm_head, lm_req, exp2;

  // batch mover
  logic        bio_load, bio_store, bio_busy, bio_done;
  logic        len_we, id_we;
  logic [5:0]  len_word, id_word, id_idx, out_word, out_idx;
  logic [31:0] len_data, id_data;
  logic [7:0]  out_id;
  logic [6:0]  out_len;

  // word controller
  logic        wc_start, wc_busy, wc_done;
  logic [7:0]  wc_err;
  logic [5:0]  wc_err_word;
  logic        perf_run;
  logic [2:0]  perf_prog;
  logic [6:0]  perf_rows;
  logic        perf_gemm;
  logic [6:0]  perf_words;

  // read masters
  logic         seq_req_valid, seq_req_ready, seq_rsp_valid;
  logic [63:0]  seq_req_addr;
  logic [127:0] seq_rsp_data;
  logic         bio_req_valid, bio_req_ready, bio_rsp_valid;
  logic [63:0]  bio_req_addr;
  logic [127:0] bio_rsp_data;
  logic         ctl_req_valid, ctl_req_ready, ctl_rsp_valid;
  logic [63:0]  ctl_req_addr;
  logic [127:0] ctl_rsp_data;
  logic         wc_req_valid, wc_req_ready, wc_rsp_valid;
  logic [63:0]  wc_req_addr;
  logic [127:0] wc_rsp_data;

  mtx_ctrl_regs u_regs (
    .clk_i,
    .rst_ni,
    .awvalid_i,
    .awready_o,
    .awaddr_i,
    .wvalid_i,
    .wready_o,
    .wdata_i,
    .wstrb_i,
    .bvalid_o,
    .bready_i,
    .bresp_o,
    .arvalid_i,
    .arready_o,
    .araddr_i,
    .rvalid_o,
    .rready_i,
    .rdata_o,
    .rresp_o,
    .start_o     (start),
    .img_base_o  (img_base),
    .img_bytes_o (img_bytes),
    .plan_base_o (plan_base),
    .plan_bytes_o(plan_bytes),
    .in_base_o   (in_base),
    .in_bytes_o  (in_bytes),
    .out_base_o  (out_base),
    .out_bytes_o (out_bytes),
    .n_words_o   (n_words),
    .busy_i      (state_q != Idle),
    .done_i      (done),
    .err_i       (err_q),
    .layers_i    (layers),
    .err_word_i  (wc_err_word),
    .pe_busy_i   (pe_busy)
  );

  mtx_plan_seq u_seq (
    .clk_i,
    .rst_ni,
    .start_i        (start && state_q == Idle),
    .img_base_i     (img_base),
    .img_bytes_i    (img_bytes),
    .plan_base_i    (plan_base),
    .plan_bytes_i   (plan_bytes),
    .in_base_i      (in_base),
    .in_bytes_i     (in_bytes),
    .out_base_i     (out_base),
    .out_bytes_i    (out_bytes),
    .n_words_i      (n_words),
    .busy_o         (seq_busy),
    .done_o         (seq_done),
    .err_o          (seq_err),
    .layers_o       (layers),
    .mem_req_valid_o(seq_req_valid),
    .mem_req_ready_i(seq_req_ready),
    .mem_req_addr_o (seq_req_addr),
    .mem_rsp_valid_i(seq_rsp_valid),
    .mem_rsp_data_i (seq_rsp_data),
    .desc_valid_o   (desc_valid),
    .desc_ready_i   (1'b1),           // the table takes one a cycle
    .desc_kind_o    (desc_kind),
    .desc_idx_o     (desc_idx),
    .desc_origin_o  (desc_origin),
    .desc_w_off_o   (desc_w),
    .desc_k_off_o   (desc_k),
    .c_o            (c),
    .heads_o        (heads),
    .f_o            (f),
    .vs_o           (vs),
    .vt_o           (vt),
    .ps_o           (ps),
    .pt_o           (pt),
    .eps_o          (eps),
    .bos_o          (bos),
    .eos_o          (eos),
    .n_enc_o        (n_enc),
    .n_dec_o        (n_dec),
    .n_words_o      (n_batch),
    .src_emb_o      (src_emb),
    .src_pos_o      (src_pos),
    .tgt_emb_o      (tgt_emb),
    .tgt_pos_o      (tgt_pos),
    .enc_norm_o     (enc_norm),
    .dec_norm_o     (dec_norm),
    .lm_head_o      (lm_head),
    .lm_req_o       (lm_req),
    .exp2_o         (exp2)
  );

  mtx_batch_io u_bio (
    .clk_i,
    .rst_ni,
    .load_i         (bio_load),
    .store_i        (bio_store),
    .n_i            (n_batch),
    .in_base_i      (in_base),
    .out_base_i     (out_base),
    .busy_o         (bio_busy),
    .done_o         (bio_done),
    .mem_req_valid_o(bio_req_valid),
    .mem_req_ready_i(bio_req_ready),
    .mem_req_addr_o (bio_req_addr),
    .mem_rsp_valid_i(bio_rsp_valid),
    .mem_rsp_data_i (bio_rsp_data),
    .len_we_o       (len_we),
    .len_word_o     (len_word),
    .len_data_o     (len_data),
    .id_we_o        (id_we),
    .id_word_o      (id_word),
    .id_idx_o       (id_idx),
    .id_data_o      (id_data),
    .out_word_o     (out_word),
    .out_idx_o      (out_idx),
    .out_id_i       (out_id),
    .out_len_i      (out_len),
    .wr_valid_o,
    .wr_ready_i,
    .wr_addr_o,
    .wr_data_o,
    .wr_strb_o
  );

  // sequencer and batch mover (never both reading) -> one master
  mtx_mem_arb u_arb_ctl (
    .clk_i,
    .rst_ni,
    .m0_req_valid_i (seq_req_valid),
    .m0_req_ready_o (seq_req_ready),
    .m0_req_addr_i  (seq_req_addr),
    .m0_rsp_valid_o (seq_rsp_valid),
    .m0_rsp_data_o  (seq_rsp_data),
    .m1_req_valid_i (bio_req_valid),
    .m1_req_ready_o (bio_req_ready),
    .m1_req_addr_i  (bio_req_addr),
    .m1_rsp_valid_o (bio_rsp_valid),
    .m1_rsp_data_o  (bio_rsp_data),
    .mem_req_valid_o(ctl_req_valid),
    .mem_req_ready_i(ctl_req_ready),
    .mem_req_addr_o (ctl_req_addr),
    .mem_rsp_valid_i(ctl_rsp_valid),
    .mem_rsp_data_i (ctl_rsp_data)
  );

  // control and datapath -> the memory port
  mtx_mem_arb u_arb_mem (
    .clk_i,
    .rst_ni,
    .m0_req_valid_i (ctl_req_valid),
    .m0_req_ready_o (ctl_req_ready),
    .m0_req_addr_i  (ctl_req_addr),
    .m0_rsp_valid_o (ctl_rsp_valid),
    .m0_rsp_data_o  (ctl_rsp_data),
    .m1_req_valid_i (wc_req_valid),
    .m1_req_ready_o (wc_req_ready),
    .m1_req_addr_i  (wc_req_addr),
    .m1_rsp_valid_o (wc_rsp_valid),
    .m1_rsp_data_o  (wc_rsp_data),
    .mem_req_valid_o,
    .mem_req_ready_i,
    .mem_req_addr_o,
    .mem_rsp_valid_i,
    .mem_rsp_data_i
  );

  mtx_word_ctrl u_words (
    .clk_i,
    .rst_ni,
    .start_i        (wc_start),
    .c_i            (c),
    .heads_i        (heads),
    .f_i            (f),
    .vs_i           (vs),
    .vt_i           (vt),
    .ps_i           (ps),
    .pt_i           (pt),
    .eps_i          (eps),
    .bos_i          (bos),
    .eos_i          (eos),
    .src_emb_i      (img_base + src_emb),
    .src_pos_i      (img_base + src_pos),
    .tgt_emb_i      (img_base + tgt_emb),
    .tgt_pos_i      (img_base + tgt_pos),
    .enc_norm_i     (img_base + enc_norm),
    .dec_norm_i     (img_base + dec_norm),
    .lm_head_i      (img_base + lm_head),
    .lm_req_i       (img_base + lm_req),
    .exp2_i         (img_base + exp2),
    .n_enc_i        (n_enc),
    .n_dec_i        (n_dec),
    .desc_we_i      (desc_valid),
    .desc_idx_i     (desc_idx),
    .desc_w_i       (img_base + desc_w),
    .desc_k_i       (img_base + desc_k),
    .n_words_i      (n_batch),
    .id_we_i        (id_we),
    .id_word_i      (id_word),
    .id_idx_i       (id_idx),
    .id_data_i      (id_data),
    .len_we_i       (len_we),
    .len_word_i     (len_word),
    .len_data_i     (len_data),
    .busy_o         (wc_busy),
    .done_o         (wc_done),
    .err_o          (wc_err),
    .err_word_o     (wc_err_word),
    .perf_run_o     (perf_run),
    .perf_prog_o    (perf_prog),
    .perf_rows_o    (perf_rows),
    .perf_gemm_o    (perf_gemm),
    .perf_words_o   (perf_words),
    .out_word_i     (out_word),
    .out_idx_i      (out_idx),
    .out_id_o       (out_id),
    .out_len_o      (out_len),
    .pe_busy_o      (pe_busy),
    .mem_req_valid_o(wc_req_valid),
    .mem_req_ready_i(wc_req_ready),
    .mem_req_addr_o (wc_req_addr),
    .mem_rsp_valid_i(wc_rsp_valid),
    .mem_rsp_data_i (wc_rsp_data)
  );

  // the run
  always_comb begin
    state_d   = state_q;
    err_d     = err_q;
    bio_load  = 1'b0;
    bio_store = 1'b0;
    wc_start  = 1'b0;
    done      = 1'b0;
    case (state_q)
      Idle: begin
        if (start) begin
          err_d   = EngOk;
          state_d = Seq;
        end
      end
      Seq: begin
        if (seq_done) begin
          err_d = seq_err;
          if (seq_err != EngOk) begin
            state_d = Finish;
          end else begin
            bio_load = 1'b1;
            state_d  = Load;
          end
        end
      end
      Load: begin
        if (bio_done) begin
          wc_start = 1'b1;
          state_d  = Words;
        end
      end
      Words: begin
        if (wc_done) begin
          err_d = wc_err;
          if (wc_err != EngOk) begin
            state_d = Finish;
          end else begin
            bio_store = 1'b1;
            state_d   = Store;
          end
        end
      end
      Store: begin
        if (bio_done) state_d = Finish;
      end
      Finish: begin
        done    = 1'b1;
        state_d = Idle;
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= Idle;
      err_q   <= EngOk;
    end else begin
      state_q <= state_d;
      err_q   <= err_d;
    end
  end

  assign irq_o = done;

  logic unused;
  assign unused = ^{seq_busy, bio_busy, wc_busy, desc_kind, desc_origin, perf_run, perf_prog,
                   perf_rows, perf_gemm, perf_words};

endmodule
