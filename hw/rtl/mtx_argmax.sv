// mtx_argmax - the smallest index holding the largest value of a stream
// (docs/engine.md: the greedy decoder's rule). start_i clears; each valid_i
// element is compared with the best so far (strictly greater replaces it, so
// the first of equal maxima stays). idx_o / max_o are current after the
// cycle that takes the last element.
`default_nettype none

module mtx_argmax #(
  parameter int unsigned W  = 64,
  parameter int unsigned IW = 8
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                start_i,
  input  logic                valid_i,
  input  logic signed [W-1:0] v_i,
  output logic        [IW-1:0] idx_o,
  output logic signed [W-1:0] max_o
);

  logic                any_q, any_d;
  logic        [IW-1:0] cnt_q, cnt_d;
  logic        [IW-1:0] idx_q, idx_d;
  logic signed [W-1:0] max_q, max_d;

  always_comb begin
    any_d = any_q;
    cnt_d = cnt_q;
    idx_d = idx_q;
    max_d = max_q;
    if (start_i) begin
      any_d = 1'b0;
      cnt_d = '0;
      idx_d = '0;
      max_d = '0;
    end else if (valid_i) begin
      cnt_d = cnt_q + IW'(1);
      any_d = 1'b1;
      if (!any_q || v_i > max_q) begin
        idx_d = cnt_q;
        max_d = v_i;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      any_q <= 1'b0;
      cnt_q <= '0;
      idx_q <= '0;
      max_q <= '0;
    end else begin
      any_q <= any_d;
      cnt_q <= cnt_d;
      idx_q <= idx_d;
      max_q <= max_d;
    end
  end

  assign idx_o = idx_q;
  assign max_o = max_q;

endmodule
