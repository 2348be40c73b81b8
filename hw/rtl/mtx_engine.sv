// mtx_engine - the engine as far as it is connected: the AXI4-lite control
// registers (mtx_ctrl_regs) start the plan sequencer (mtx_plan_seq), which
// validates the image header, the plan and every descriptor through the
// memory port and then hands each descriptor out on the layer port (layer_*),
// where the layer datapath attaches. The datapath units (mtx_linear,
// mtx_rmsnorm_row, mtx_softmax_row, mtx_requant, mtx_argmax) are built and
// verified on their own but not yet connected here, so BUSYPE reads 0 and a
// run ends when the last descriptor has been taken.
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
  output logic         irq_o
);

  logic        start, busy, done;
  logic [7:0]  err, layers;
  logic [63:0] img_base, img_bytes, plan_base, plan_bytes;

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
    .busy_i      (busy),
    .done_i      (done),
    .err_i       (err),
    .layers_i    (layers),
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
    .desc_k_off_o   (layer_k_off_o)
  );

  assign irq_o = done;

endmodule
