// mtx_rshr - rshr(v, s) of docs/engine.md: v if s = 0, else
// floor((v + 2^(s-1)) / 2^s), i.e. round half up computed as an arithmetic
// right shift of v + 2^(s-1). Combinational; int64 in, int64 out. The sum
// wraps like the golden model's int64 (no engine input comes near 2^63).
`default_nettype none

module mtx_rshr (
  input  logic signed [63:0] v_i,
  input  logic        [5:0]  s_i,
  output logic signed [63:0] y_o
);

  logic signed [63:0] bias;
  logic signed [63:0] sum;

  always_comb begin
    bias = 64'sd0;
    if (s_i != 6'd0) begin
      bias = 64'sd1 <<< (s_i - 6'd1);
    end
    sum = v_i + bias;
    y_o = sum >>> s_i;
  end

endmodule
