// mtx_exp2 - e = u >= MTX_EXP2_LIMIT ? 0 : EXP2[u mod 256] >> floor(u / 256)
// (docs/engine.md, softmax). The 256-entry table is the image's EXP2
// section, written through the table port (tbl_we_i) before use; it maps to
// one block RAM. u is unsigned: a negative exponent (impossible for a valid
// record) reads as a huge one and gives 0. Latency 2 (table read, shift).
`default_nettype none

module mtx_exp2 (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        tbl_we_i,
  input  logic [7:0]  tbl_addr_i,
  input  logic [31:0] tbl_data_i,
  input  logic        valid_i,
  input  logic [63:0] u_i,
  output logic        valid_o,
  output logic [31:0] e_o
);

  logic [31:0] tbl_q [256];
  logic [31:0] rd_q;
  logic [3:0]  sh_q;
  logic        zero_q;
  logic        v1_q;

  always_ff @(posedge clk_i) begin
    if (tbl_we_i) begin
      tbl_q[tbl_addr_i] <= tbl_data_i;
    end
  end

  always_ff @(posedge clk_i) begin
    rd_q   <= tbl_q[u_i[7:0]];
    sh_q   <= u_i[11:8];
    zero_q <= (u_i[63:12] != 52'd0);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q    <= 1'b0;
      valid_o <= 1'b0;
    end else begin
      v1_q    <= valid_i;
      valid_o <= v1_q;
    end
  end

  always_ff @(posedge clk_i) begin
    e_o <= zero_q ? 32'd0 : (rd_q >> sh_q);
  end

endmodule
