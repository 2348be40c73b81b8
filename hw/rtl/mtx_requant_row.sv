// mtx_requant_row - the wide q8 requantiser of mtx_layer_ctrl: one row of a
// GEMM column tile (16 int32 accumulators, channels o0 .. o0 + 15) a cycle
// through 16 mtx_requant lanes (Q8 or RELU_Q8) into one 16-byte beat.
// Each lane needs its channel's multiplier m[o0 + i]; the 16 multipliers of
// the current column tile are held in registers and fetched from the
// caller's record RAM when a row of another tile arrives:
//   - row_valid_i with o0_i: a row of tile o0_i is waiting. Without the
//     tile's multipliers (hit_o low) a fetch starts: m_re_o with m_idx_o =
//     o0 + 0 .. o0 + 15 on 16 consecutive cycles, the word requested on one
//     cycle arriving on m_i the next (a synchronous RAM); hit_o rises once
//     all 16 are held.
//   - take_i (only while hit_o): the row acc_i is taken with its tag_i
//     (where its beat goes); beat_v_o, beat_o and tag_o follow three cycles
//     later (the requantisers' two stages and the input register).
//   - clear_i forgets the held multipliers (a new GEMM op, other records).
// s_i and mode_i are the op's shift and mode, constant while it runs.
// busy_o: a fetch or a row is in flight.
`default_nettype none

module mtx_requant_row #(
  parameter int unsigned TW = 18  // tag width
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              clear_i,
  input  logic              en_i,        // the op is a wide one and running
  input  logic              row_valid_i,
  input  logic [11:0]       o0_i,
  output logic              hit_o,
  output logic              m_re_o,
  output logic [12:0]       m_idx_o,     // channel whose multiplier is read
  input  logic [31:0]       m_i,         // the word requested the cycle before
  input  logic              take_i,
  input  logic [511:0]      acc_i,       // channel o0 + i at [i*32 +: 32]
  input  logic [TW-1:0]     tag_i,
  input  logic [5:0]        s_i,
  input  logic [1:0]        mode_i,
  output logic              beat_v_o,
  output logic [127:0]      beat_o,      // channel o0 + i's byte at [i*8 +: 8]
  output logic [TW-1:0]     tag_o,
  output logic              busy_o
);

  logic         mf_act_q;  // fetching the multipliers of column tile mf_o0
  logic [4:0]   mf_i_q;
  logic [11:0]  mf_o0_q, mc_o0_q;
  logic         mc_v_q;
  logic [511:0] mc_q;      // m[o0 + i] at [i*32 +: 32]
  logic [511:0] row_q;
  logic         v1_q, v2_q, v3_q;
  logic [TW-1:0] t1_q, t2_q, t3_q;
  logic [15:0]  lane_v;
  logic [3:0]   mf_m1;

  assign mf_m1   = 4'(mf_i_q - 5'd1);
  assign hit_o   = mc_v_q && (mc_o0_q == o0_i);
  assign m_re_o  = mf_act_q && (mf_i_q != 5'd16);
  assign m_idx_o = 13'(mf_o0_q) + 13'(mf_i_q);
  assign busy_o  = mf_act_q || v1_q || v2_q || v3_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mf_act_q <= 1'b0;
      mf_i_q   <= '0;
      mf_o0_q  <= '0;
      mc_o0_q  <= '0;
      mc_v_q   <= 1'b0;
      mc_q     <= '0;
      row_q    <= '0;
      v1_q     <= 1'b0;
      v2_q     <= 1'b0;
      v3_q     <= 1'b0;
      t1_q     <= '0;
      t2_q     <= '0;
      t3_q     <= '0;
    end else begin
      if (clear_i) begin
        mc_v_q   <= 1'b0;
        mf_act_q <= 1'b0;
      end else if (en_i) begin
        if (!mf_act_q && row_valid_i && !hit_o) begin
          mf_act_q <= 1'b1;
          mf_i_q   <= '0;
          mf_o0_q  <= o0_i;
          mc_v_q   <= 1'b0;
        end
        if (mf_act_q) begin  // word mf_i - 1 is on m_i
          mf_i_q <= mf_i_q + 5'd1;
          if (mf_i_q != 5'd0) begin
            mc_q[32'(mf_m1)*32 +: 32] <= m_i;
          end
          if (mf_i_q == 5'd16) begin
            mf_act_q <= 1'b0;
            mc_v_q   <= 1'b1;
            mc_o0_q  <= mf_o0_q;
          end
        end
      end
      v1_q <= take_i;
      if (take_i) begin
        row_q <= acc_i;
        t1_q  <= tag_i;
      end
      v2_q <= v1_q;
      t2_q <= t1_q;
      v3_q <= v2_q;
      t3_q <= t2_q;
    end
  end

  for (genvar i = 0; i < 16; i++) begin : g_lane
    logic signed [63:0] y;
    logic               unused_y;
    mtx_requant u_rq (
      .clk_i,
      .rst_ni,
      .valid_i(v1_q),
      .acc_i  (row_q[i*32 +: 32]),
      .m_i    (mc_q[i*32 +: 32]),
      .s_i    (s_i),
      .mode_i (mode_i),
      .x_i    (32'sd0),
      .valid_o(lane_v[i]),
      .y_o    (y)
    );
    assign beat_o[i*8 +: 8] = y[7:0];
    assign unused_y = ^y[63:8];  // q8: the value fits the low byte
  end

  logic unused_lanes;
  assign unused_lanes = ^lane_v[15:1];  // the lanes run in step with lane 0
  assign beat_v_o = lane_v[0];
  assign tag_o    = t3_q;

endmodule
