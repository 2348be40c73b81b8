// mtx_argmax - for each of up to ROWS rows, the smallest index holding the
// largest value of that row's stream (docs/engine.md: the greedy decoder's
// rule), with the rows' elements interleaved in any order that keeps each
// row's own elements in index order (a GEMM's column tiles give row 0's
// channels 0..15, row 1's 0..15, ..., then row 0's 16..31, ...). Each
// valid_i element (row_i, idx_i, v_i) replaces the row's best when first_i
// (the row's first element) or when strictly greater, so the first of equal
// maxima stays. idx_o / max_o read row rd_row_i, current after the cycle
// that takes the row's last element. No reset: first_i starts each row.
`default_nettype none

module mtx_argmax #(
  parameter int unsigned W    = 64,
  parameter int unsigned IW   = 8,
  parameter int unsigned ROWS = 64,
  parameter int unsigned RW   = 6
) (
  input  logic                 clk_i,
  input  logic                 valid_i,
  input  logic                 first_i,
  input  logic        [RW-1:0] row_i,
  input  logic        [IW-1:0] idx_i,
  input  logic signed [W-1:0]  v_i,
  input  logic        [RW-1:0] rd_row_i,
  output logic        [IW-1:0] idx_o,
  output logic signed [W-1:0]  max_o
);

  logic signed [W-1:0] max_q [ROWS];
  logic        [IW-1:0] idx_q [ROWS];
  logic signed [W-1:0] cur;

  assign cur = max_q[row_i];

  always_ff @(posedge clk_i) begin
    if (valid_i && (first_i || v_i > cur)) begin
      max_q[row_i] <= v_i;
      idx_q[row_i] <= idx_i;
    end
  end

  assign idx_o = idx_q[rd_row_i];
  assign max_o = max_q[rd_row_i];

endmodule
