// mtx_requant - the requant record of docs/engine.md applied to one
// accumulator per cycle: y = rshr(acc * m, s) with the int64 product, then by
// mode: RAW (logits, softmax exponents: no saturation), Q8 (q8), RELU_Q8
// (max(acc, 0) first, FFN wi) or RES (res(x + y), the residual add).
// Two pipeline stages: the product (one DSP cascade), then shift and clamp.
`default_nettype none

module mtx_requant (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               valid_i,
  input  logic signed [31:0] acc_i,
  input  logic signed [31:0] m_i,
  input  logic        [5:0]  s_i,
  input  logic        [1:0]  mode_i,  // 0 RAW, 1 Q8, 2 RELU_Q8, 3 RES
  input  logic signed [31:0] x_i,     // residual value (RES only)
  output logic               valid_o,
  output logic signed [63:0] y_o
);

  localparam logic [1:0] ModeRaw = 2'd0;
  localparam logic [1:0] ModeQ8 = 2'd1;
  localparam logic [1:0] ModeReluQ8 = 2'd2;
  localparam logic [1:0] ModeRes = 2'd3;
  localparam logic signed [63:0] Q8Max = 64'sd127;
  localparam logic signed [63:0] ResMax = 64'sd8388607;  // MTX_RES_MAX

  // Stage 1: product.
  logic               v1_q;
  logic signed [63:0] prod_q;
  logic        [5:0]  s1_q;
  logic        [1:0]  mode1_q;
  logic signed [31:0] x1_q;
  logic signed [31:0] acc_sel;

  always_comb begin
    acc_sel = acc_i;
    if (mode_i == ModeReluQ8 && acc_i < 32'sd0) begin
      acc_sel = 32'sd0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
    end else begin
      v1_q <= valid_i;
    end
  end

  always_ff @(posedge clk_i) begin
    prod_q  <= 64'(acc_sel) * 64'(m_i);
    s1_q    <= s_i;
    mode1_q <= mode_i;
    x1_q    <= x_i;
  end

  // Stage 2: round, then clamp by mode.
  logic signed [63:0] shifted;
  logic signed [63:0] with_res;
  logic signed [63:0] y_d;

  mtx_rshr u_rshr (
    .v_i(prod_q),
    .s_i(s1_q),
    .y_o(shifted)
  );

  always_comb begin
    with_res = 64'(x1_q) + shifted;
    y_d = shifted;
    case (mode1_q)
      ModeRaw: y_d = shifted;
      ModeQ8, ModeReluQ8: begin
        if (shifted > Q8Max) y_d = Q8Max;
        else if (shifted < -Q8Max) y_d = -Q8Max;
        else y_d = shifted;
      end
      ModeRes: begin
        if (with_res > ResMax) y_d = ResMax;
        else if (with_res < -ResMax) y_d = -ResMax;
        else y_d = with_res;
      end
      default: y_d = shifted;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_o <= 1'b0;
    end else begin
      valid_o <= v1_q;
    end
  end

  always_ff @(posedge clk_i) begin
    y_o <= y_d;
  end

endmodule
