// mtx_pe_array - ROWS x COLS output-stationary int8 systolic array with int32
// accumulators: acc[r][c] += sum_k a[r][k] * b[k][c], tile after tile.
// Each cycle with valid_i the caller gives column k of A (a_i, ROWS bytes)
// and row k of B (b_i, COLS bytes), unskewed, last_i on a tile's last
// element: the input skew (row r delayed r cycles, column c delayed c) is
// inside. PE (r, c) takes element k at cycle k + r + c and, the cycle after
// its last MAC, moves its result into its result register and starts the
// next tile from zero, so tiles may follow each other without a gap: every
// result of a tile is in the result registers ROWS + COLS - 1 cycles after
// its last input.
// Drain: row_o is row 0 of the result registers; each drain_i cycle moves
// every row up by one (row ROWS-1 fills with zeros), so ROWS cycles read all
// results, COLS * 32 bits at a time. A drain must start no earlier than
// ROWS + COLS - 1 cycles after the tile's last input and end no later than
// the cycle after the next tile's last input (when PE (0, 0) captures
// again). clear_i zeroes every accumulator.
`default_nettype none

module mtx_pe_array #(
  parameter int unsigned ROWS = 16,  // MTX_PE_ROWS
  parameter int unsigned COLS = 16   // MTX_PE_COLS
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   clear_i,
  input  logic                   drain_i,
  input  logic                   valid_i,
  input  logic                   last_i,
  input  logic [ROWS*8-1:0]      a_i,
  input  logic [COLS*8-1:0]      b_i,
  output logic [COLS*32-1:0]     row_o
);

  // Flat nets between PEs: index (r * (COLS + 1) + c) for horizontal ones,
  // (r * COLS + c) with r in 0..ROWS for vertical ones.
  logic [ROWS*(COLS+1)*8-1:0] a_h;
  logic [ROWS*(COLS+1)-1:0]   v_h;
  logic [ROWS*(COLS+1)-1:0]   l_h;
  logic [(ROWS+1)*COLS*8-1:0] b_v;
  logic [(ROWS+1)*COLS*32-1:0] res_v;

  // Input skew: row r of A, its valid and last delayed r cycles.
  for (genvar r = 0; r < ROWS; r++) begin : g_skew_a
    if (r == 0) begin : g_direct
      assign a_h[0 +: 8] = a_i[0 +: 8];
      assign v_h[0]      = valid_i;
      assign l_h[0]      = last_i;
    end else begin : g_delay
      logic [r*8-1:0] a_q;
      logic [r-1:0]   v_q;
      logic [r-1:0]   l_q;
      if (r == 1) begin : g_one
        always_ff @(posedge clk_i) begin
          if (!rst_ni) begin
            a_q <= '0;
            v_q <= '0;
            l_q <= '0;
          end else begin
            a_q <= a_i[r*8 +: 8];
            v_q <= valid_i;
            l_q <= last_i;
          end
        end
      end else begin : g_chain
        always_ff @(posedge clk_i) begin
          if (!rst_ni) begin
            a_q <= '0;
            v_q <= '0;
            l_q <= '0;
          end else begin
            a_q <= {a_q[(r-1)*8-1:0], a_i[r*8 +: 8]};
            v_q <= {v_q[r-2:0], valid_i};
            l_q <= {l_q[r-2:0], last_i};
          end
        end
      end
      assign a_h[r*(COLS+1)*8 +: 8] = a_q[(r-1)*8 +: 8];
      assign v_h[r*(COLS+1)]        = v_q[r-1];
      assign l_h[r*(COLS+1)]        = l_q[r-1];
    end
  end

  // Input skew: column c of B delayed c cycles.
  for (genvar c = 0; c < COLS; c++) begin : g_skew_b
    if (c == 0) begin : g_direct
      assign b_v[0 +: 8] = b_i[0 +: 8];
    end else begin : g_delay
      logic [c*8-1:0] b_q;
      if (c == 1) begin : g_one
        always_ff @(posedge clk_i) begin
          if (!rst_ni) b_q <= '0;
          else b_q <= b_i[c*8 +: 8];
        end
      end else begin : g_chain
        always_ff @(posedge clk_i) begin
          if (!rst_ni) b_q <= '0;
          else b_q <= {b_q[(c-1)*8-1:0], b_i[c*8 +: 8]};
        end
      end
      assign b_v[c*8 +: 8] = b_q[(c-1)*8 +: 8];
    end
  end

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      mtx_pe u_pe (
        .clk_i,
        .rst_ni,
        .clear_i,
        .shift_i(drain_i),
        .valid_i(v_h[r*(COLS+1)+c]),
        .last_i (l_h[r*(COLS+1)+c]),
        .a_i    (a_h[(r*(COLS+1)+c)*8 +: 8]),
        .b_i    (b_v[(r*COLS+c)*8 +: 8]),
        .res_i  (res_v[((r+1)*COLS+c)*32 +: 32]),
        .valid_o(v_h[r*(COLS+1)+c+1]),
        .last_o (l_h[r*(COLS+1)+c+1]),
        .a_o    (a_h[(r*(COLS+1)+c+1)*8 +: 8]),
        .b_o    (b_v[((r+1)*COLS+c)*8 +: 8]),
        .res_o  (res_v[(r*COLS+c)*32 +: 32])
      );
    end
  end

  assign res_v[ROWS*COLS*32 +: COLS*32] = '0;
  assign row_o = res_v[0 +: COLS*32];

  // The right column's a/valid/last and the bottom row's b leave the array unused.
  logic unused_edges;
  always_comb begin
    unused_edges = 1'b0;
    for (int r = 0; r < ROWS; r++) begin
      unused_edges = unused_edges ^ v_h[r*(COLS+1)+COLS] ^ l_h[r*(COLS+1)+COLS] ^ (^a_h[(r*(COLS+1)+COLS)*8 +: 8]);
    end
    unused_edges = unused_edges ^ (^b_v[ROWS*COLS*8 +: COLS*8]);
  end

endmodule
