// mtx_engine - the control half of the engine: the AXI4-lite control
// registers (mtx_ctrl_regs) start the plan sequencer (mtx_plan_seq), which
// validates the image header, its table of contents, the plan, every
// descriptor and the batch registers through the memory port and then hands
// each descriptor out on the layer port (layer_*); the image's header fields
// and global section offsets (img_*) and the batch registers (batch_*) are
// outputs. The sequencer's bench (tb_engine) runs this half alone: BUSYPE
// reads 0 and a run ends when the last descriptor has been taken. The
// whole engine is mtx_top, which joins the same two units to the batch
// mover and the batched word controller.
`default_nettype none

module mtx_engine (
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
  // layer port: validated descriptors, encoder first
  output logic         layer_valid_o,
  input  logic         layer_ready_i,
  output logic [1:0]   layer_kind_o,
  output logic [31:0]  layer_origin_o,
  output logic [63:0]  layer_w_off_o,
  output logic [63:0]  layer_k_off_o,
  output logic [4:0]   layer_idx_o,
  // the image's header fields and global section offsets, after the TOC check
  output logic [9:0]   img_c_o,
  output logic [3:0]   img_heads_o,
  output logic [11:0]  img_f_o,
  output logic [8:0]   img_vs_o,
  output logic [8:0]   img_vt_o,
  output logic [6:0]   img_ps_o,
  output logic [6:0]   img_pt_o,
  output logic [31:0]  img_eps_o,
  output logic [7:0]   img_bos_o,
  output logic [7:0]   img_eos_o,
  output logic [64*9-1:0] img_sec_o,   // SRC_EMB .. EXP2 (type t at 64*(t-1))
  output logic [3:0]   plan_n_enc_o,
  output logic [3:0]   plan_n_dec_o,
  // batch registers (validated when the sequencer ends without error)
  output logic [63:0]  batch_in_base_o,
  output logic [63:0]  batch_out_base_o,
  output logic [6:0]   batch_n_o,
  output logic         irq_o
);

  logic        start, busy, done;
  logic [7:0]  err, layers;
  logic [63:0] img_base, img_bytes, plan_base, plan_bytes, in_bytes, out_bytes;
  logic [31:0] n_words;

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
    .in_base_o   (batch_in_base_o),
    .in_bytes_o  (in_bytes),
    .out_base_o  (batch_out_base_o),
    .out_bytes_o (out_bytes),
    .n_words_o   (n_words),
    .busy_i      (busy),
    .done_i      (done),
    .err_i       (err),
    .layers_i    (layers),
    .err_word_i  (6'd0),
    .pe_busy_i   (9'd0)
  );

  mtx_plan_seq u_seq (
    .clk_i,
    .rst_ni,
    .start_i        (start),
    .img_base_i     (img_base),
    .img_bytes_i    (img_bytes),
    .plan_base_i    (plan_base),
    .plan_bytes_i   (plan_bytes),
    .in_base_i      (batch_in_base_o),
    .in_bytes_i     (in_bytes),
    .out_base_i     (batch_out_base_o),
    .out_bytes_i    (out_bytes),
    .n_words_i      (n_words),
    .busy_o         (busy),
    .done_o         (done),
    .err_o          (err),
    .layers_o       (layers),
    .mem_req_valid_o,
    .mem_req_ready_i,
    .mem_req_addr_o,
    .mem_rsp_valid_i,
    .mem_rsp_data_i,
    .desc_valid_o   (layer_valid_o),
    .desc_ready_i   (layer_ready_i),
    .desc_kind_o    (layer_kind_o),
    .desc_origin_o  (layer_origin_o),
    .desc_w_off_o   (layer_w_off_o),
    .desc_k_off_o   (layer_k_off_o),
    .desc_idx_o     (layer_idx_o),
    .c_o            (img_c_o),
    .heads_o        (img_heads_o),
    .f_o            (img_f_o),
    .vs_o           (img_vs_o),
    .vt_o           (img_vt_o),
    .ps_o           (img_ps_o),
    .pt_o           (img_pt_o),
    .eps_o          (img_eps_o),
    .bos_o          (img_bos_o),
    .eos_o          (img_eos_o),
    .n_enc_o        (plan_n_enc_o),
    .n_dec_o        (plan_n_dec_o),
    .n_words_o      (batch_n_o),
    .src_emb_o      (img_sec_o[64*0 +: 64]),
    .src_pos_o      (img_sec_o[64*1 +: 64]),
    .tgt_emb_o      (img_sec_o[64*2 +: 64]),
    .tgt_pos_o      (img_sec_o[64*3 +: 64]),
    .enc_norm_o     (img_sec_o[64*4 +: 64]),
    .dec_norm_o     (img_sec_o[64*5 +: 64]),
    .lm_head_o      (img_sec_o[64*6 +: 64]),
    .lm_req_o       (img_sec_o[64*7 +: 64]),
    .exp2_o         (img_sec_o[64*8 +: 64])
  );

  assign irq_o = done;

endmodule
