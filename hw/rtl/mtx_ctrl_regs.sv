// mtx_ctrl_regs - the engine's AXI4-lite control slave (32-bit registers,
// OKAY responses only; unmapped reads return 0, unmapped writes are ignored).
//   0x00 CTRL        W   bit 0: start (ignored while busy)
//   0x04 STATUS      R   bit 0 busy, bit 1 done (cleared by start)
//   0x08 ERROR       R   status code of the last run (layout.h MTX_ENG_*)
//   0x0C LAYERS      R   layer descriptors handed to the datapath
//   0x10/0x14 CYCLES R   cycles of the last run (lo, hi)
//   0x18/0x1C BUSYPE R   PE-cycles doing a useful MAC (lo, hi)
//   0x20/0x24 IMG_BASE, 0x28/0x2C IMG_BYTES, 0x30/0x34 PLAN_BASE,
//   0x38/0x3C PLAN_BYTES  RW  buffers (lo, hi); bases 16-byte aligned
//   0x40/0x44 IN_BASE, 0x48/0x4C IN_BYTES, 0x50/0x54 OUT_BASE,
//   0x58/0x5C OUT_BYTES   RW  batch buffers (lo, hi); bases 16-byte aligned
//   0x60 WORDS            RW  words in the batch (1..64)
//   0x64 ERRWORD     R   with ERROR = MTX_ENG_INPUT: the first refused word
// A write takes AW and W together; one outstanding transaction per channel.
`default_nettype none

module mtx_ctrl_regs (
  input  logic        clk_i,
  input  logic        rst_ni,
  // AXI4-lite
  input  logic        awvalid_i,
  output logic        awready_o,
  input  logic [7:0]  awaddr_i,
  input  logic        wvalid_i,
  output logic        wready_o,
  input  logic [31:0] wdata_i,
  input  logic [3:0]  wstrb_i,
  output logic        bvalid_o,
  input  logic        bready_i,
  output logic [1:0]  bresp_o,
  input  logic        arvalid_i,
  output logic        arready_o,
  input  logic [7:0]  araddr_i,
  output logic        rvalid_o,
  input  logic        rready_i,
  output logic [31:0] rdata_o,
  output logic [1:0]  rresp_o,
  // engine side
  output logic        start_o,
  output logic [63:0] img_base_o,
  output logic [63:0] img_bytes_o,
  output logic [63:0] plan_base_o,
  output logic [63:0] plan_bytes_o,
  output logic [63:0] in_base_o,
  output logic [63:0] in_bytes_o,
  output logic [63:0] out_base_o,
  output logic [63:0] out_bytes_o,
  output logic [31:0] n_words_o,
  input  logic        busy_i,
  input  logic        done_i,
  input  logic [7:0]  err_i,
  input  logic [5:0]  err_word_i,
  input  logic [7:0]  layers_i,
  input  logic [8:0]  pe_busy_i
);

  // 0x20..0x60: img base, img bytes, plan base, plan bytes, in base, in bytes,
  // out base, out bytes (lo, hi), words
  localparam int unsigned NRegs = 17;
  logic [31:0] regs_q [NRegs];
  logic        wr_reg, rd_reg;
  logic [4:0]  wr_idx, rd_idx;
  logic [63:0] cycles_q, pe_q;
  logic        done_q;
  logic [7:0]  err_q;
  logic [5:0]  errw_q;
  logic        bvalid_q, rvalid_q;
  logic [31:0] rdata_q;
  logic        wr, rd, start;
  logic [31:0] rd_d;

  assign wr    = awvalid_i && wvalid_i && !bvalid_q;
  assign rd    = arvalid_i && !rvalid_q;
  assign start = wr && awaddr_i[7:2] == 6'd0 && wdata_i[0] && wstrb_i[0] && !busy_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int i = 0; i < NRegs; i++) regs_q[i] <= '0;
    end else if (wr && wr_reg) begin
      for (int b = 0; b < 4; b++) begin
        if (wstrb_i[b]) begin
          regs_q[wr_idx][8*b +: 8] <= wdata_i[8*b +: 8];
        end
      end
    end
  end

  assign wr_idx = 5'(awaddr_i[7:2] - 6'h08);
  assign rd_idx = 5'(araddr_i[7:2] - 6'h08);
  assign wr_reg = awaddr_i[7:2] >= 6'h08 && awaddr_i[7:2] <= 6'h18;
  assign rd_reg = araddr_i[7:2] >= 6'h08 && araddr_i[7:2] <= 6'h18;

  always_comb begin
    rd_d = 32'd0;
    if (rd_reg) rd_d = regs_q[rd_idx];
    case (araddr_i[7:2])
      6'h01: rd_d = {30'd0, done_q, busy_i};
      6'h02: rd_d = {24'd0, err_q};
      6'h03: rd_d = {24'd0, layers_i};
      6'h04: rd_d = cycles_q[31:0];
      6'h05: rd_d = cycles_q[63:32];
      6'h06: rd_d = pe_q[31:0];
      6'h07: rd_d = pe_q[63:32];
      6'h19: rd_d = {26'd0, errw_q};
      default: ;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycles_q <= '0;
      pe_q     <= '0;
      done_q   <= 1'b0;
      err_q    <= '0;
      errw_q   <= '0;
      bvalid_q <= 1'b0;
      rvalid_q <= 1'b0;
      rdata_q  <= '0;
      start_o  <= 1'b0;
    end else begin
      start_o <= start;
      if (start) begin
        cycles_q <= '0;
        pe_q     <= '0;
        done_q   <= 1'b0;
        err_q    <= '0;
        errw_q   <= '0;
      end else begin
        if (busy_i) cycles_q <= cycles_q + 64'd1;
        pe_q <= pe_q + 64'(pe_busy_i);
        if (done_i) begin
          done_q <= 1'b1;
          err_q  <= err_i;
          errw_q <= err_word_i;
        end
      end
      if (wr) bvalid_q <= 1'b1;
      else if (bready_i) bvalid_q <= 1'b0;
      if (rd) begin
        rvalid_q <= 1'b1;
        rdata_q  <= rd_d;
      end else if (rready_i) begin
        rvalid_q <= 1'b0;
      end
    end
  end

  assign awready_o    = wr;
  assign wready_o     = wr;
  assign bvalid_o     = bvalid_q;
  assign bresp_o      = 2'b00;
  assign arready_o    = rd;
  assign rvalid_o     = rvalid_q;
  assign rdata_o      = rdata_q;
  assign rresp_o      = 2'b00;
  assign img_base_o   = {regs_q[1], regs_q[0]};
  assign img_bytes_o  = {regs_q[3], regs_q[2]};
  assign plan_base_o  = {regs_q[5], regs_q[4]};
  assign plan_bytes_o = {regs_q[7], regs_q[6]};
  assign in_base_o    = {regs_q[9], regs_q[8]};
  assign in_bytes_o   = {regs_q[11], regs_q[10]};
  assign out_base_o   = {regs_q[13], regs_q[12]};
  assign out_bytes_o  = {regs_q[15], regs_q[14]};
  assign n_words_o    = regs_q[16];

  // Registers are word-aligned: the byte-lane address bits carry nothing.
  logic unused_addr;
  assign unused_addr = ^{awaddr_i[1:0], araddr_i[1:0]};

endmodule
