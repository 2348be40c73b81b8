// mtx_pe - one output-stationary int8 MAC: acc += a * b while valid, a and
// valid pass right, b passes down, each through one register. clear_i zeroes
// the accumulator; shift_i loads acc_i (the PE below) so the array drains a
// row per cycle. All registers reset synchronously (DSP-friendly).
`default_nettype none

module mtx_pe (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               clear_i,
  input  logic               shift_i,
  input  logic               valid_i,
  input  logic signed [7:0]  a_i,
  input  logic signed [7:0]  b_i,
  input  logic signed [31:0] acc_i,
  output logic               valid_o,
  output logic signed [7:0]  a_o,
  output logic signed [7:0]  b_o,
  output logic signed [31:0] acc_o
);

  logic signed [31:0] acc_q;
  logic signed [15:0] prod;

  assign prod = a_i * b_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || clear_i) begin
      acc_q <= '0;
    end else if (shift_i) begin
      acc_q <= acc_i;
    end else if (valid_i) begin
      acc_q <= acc_q + 32'(prod);
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_o <= 1'b0;
      a_o     <= '0;
      b_o     <= '0;
    end else begin
      valid_o <= valid_i;
      a_o     <= a_i;
      b_o     <= b_i;
    end
  end

  assign acc_o = acc_q;

endmodule
