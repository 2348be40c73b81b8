// mtx_pe - one output-stationary int8 MAC with a result register: acc +=
// a * b while valid; a, valid and last pass right, b passes down, each
// through one register. The element marked last ends the tile: the cycle
// after its MAC the finished accumulator moves into res and the
// accumulator restarts from zero (from the product, when the next tile's
// first element arrives in that same cycle), so the next tile needs no
// gap. shift_i loads res from res_i (the PE below): the array drains its
// results while the accumulators work on the next tile; a capture wins
// over a shift. clear_i zeroes the accumulator. All registers reset
// synchronously (DSP-friendly).
`default_nettype none

module mtx_pe (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               clear_i,
  input  logic               shift_i,
  input  logic               valid_i,
  input  logic               last_i,
  input  logic signed [7:0]  a_i,
  input  logic signed [7:0]  b_i,
  input  logic signed [31:0] res_i,
  output logic               valid_o,
  output logic               last_o,
  output logic signed [7:0]  a_o,
  output logic signed [7:0]  b_o,
  output logic signed [31:0] res_o
);

  logic signed [31:0] acc_q, res_q;
  logic signed [15:0] prod;
  logic               cap_q;

  assign prod = a_i * b_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      acc_q <= '0;
    end else if (cap_q) begin
      acc_q <= valid_i ? 32'(prod) : 32'd0;
    end else if (valid_i) begin
      acc_q <= acc_q + 32'(prod);
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      res_q <= '0;
    end else if (cap_q) begin
      res_q <= acc_q;
    end else if (shift_i) begin
      res_q <= res_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      cap_q   <= 1'b0;
      valid_o <= 1'b0;
      last_o  <= 1'b0;
      a_o     <= '0;
      b_o     <= '0;
    end else begin
      cap_q   <= valid_i && last_i;
      valid_o <= valid_i;
      last_o  <= last_i;
      a_o     <= a_i;
      b_o     <= b_i;
    end
  end

  assign res_o = res_q;

endmodule
