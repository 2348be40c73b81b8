// mtx_softmax_row - one attention row of docs/engine.md from scores to
// probabilities: sc[0..n-1] in (int32), p[0..n-1] out (uint8, 1/256 units).
//   LOAD  take n scores, keep them and their maximum mx      n cycles
//   EXP   u = rshr((mx - sc) * m_sm, s_sm), e = EXP2 lookup,  n + 6 cycles
//         S = sum e (pipelined, one element per cycle)
//   DIV   inv = udiv(2^31, S), 2 quotient bits a cycle        9 cycles
//   OUT   p = min(255, (e * inv + 2^22) >> 23), one per cycle  n cycles
// The divide uses S >= 2^15 (the maximum score has u = 0, e = EXP2[0] =
// 2^15) and S <= 64 * 2^15: the first 14 quotient bits of 2^31 / S are 0 and
// the remainder after them is 2^13, so 18 restoring steps remain.
// With hold_i set at start_i the row is not streamed: after the divide the
// unit holds (held_o) and p[pidx_i] is read combinationally on prd_o until
// release_i, so a caller can read p in any order, as often as it needs.
// The EXP2 table is written through the tbl_* port before the first row.
// cfg (n, m, s, hold) is sampled at start_i. Scores and e live in LUT RAM.
`default_nettype none

module mtx_softmax_row #(
  parameter int unsigned MAXN = 64  // MTX_MAX_POS
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               tbl_we_i,
  input  logic [7:0]         tbl_addr_i,
  input  logic [31:0]        tbl_data_i,
  input  logic               start_i,
  input  logic [6:0]         n_i,       // 1 .. MAXN keys
  input  logic signed [31:0] m_i,       // record sm
  input  logic [5:0]         s_i,
  input  logic               sc_valid_i,
  output logic               sc_ready_o,
  input  logic signed [31:0] sc_i,
  output logic               p_valid_o,
  input  logic               p_ready_i,
  output logic [7:0]         p_o,
  input  logic               hold_i,    // keep the row for indexed reads
  input  logic [5:0]         pidx_i,    // held row: index read
  output logic [7:0]         prd_o,     // held row: p[pidx_i]
  output logic               held_o,    // held row: inv ready, prd_o valid
  input  logic               release_i, // held row: done reading, to Idle
  output logic               busy_o,
  output logic               done_o
);

  localparam int unsigned IW = $clog2(MAXN);
  typedef enum logic [2:0] {Idle, Load, Exp, Div, Out, Hold} state_e;

  state_e state_q, state_d;
  logic [6:0]         n_q, n_d;
  logic signed [31:0] m_q, m_d;
  logic [5:0]         s_q, s_d;
  logic [6:0]         i_q, i_d;      // LOAD count / EXP issue / OUT issue
  logic [6:0]         w_q, w_d;      // EXP write-back count
  logic signed [31:0] mx_q, mx_d;
  logic [31:0]        sum_q, sum_d;
  logic [31:0]        inv_q, inv_d;
  logic               pv_q, pv_d;
  logic [7:0]         p_q, p_d;
  logic               hold_q, hold_d;
  logic               done_d;

  logic signed [31:0] sc_mem [MAXN];
  logic [31:0]        e_mem [MAXN];

  // EXP pipeline: diff, product, rshr, then mtx_exp2 (2 stages).
  logic               ev0, ev1_q, ev2_q, ev3_q;
  logic signed [32:0] diff_q;
  logic signed [63:0] prod_q;
  logic signed [63:0] u_q;
  logic signed [63:0] u_d;
  logic               e_valid;
  logic [31:0]        e_val;
  // divider: remainder (< S <= 2^21), quotient bits, step pair count
  logic [22:0]        rem_q, rem_d;
  logic [17:0]        quo_q, quo_d;
  logic [3:0]         dc_q, dc_d;
  logic [22:0]        rem_a, rem_b;
  logic               qa, qb;
  logic [63:0]        pe_prod;
  logic [63:0]        pe_round;
  logic [63:0]        pr_prod;
  logic [63:0]        pr_round;

  assign ev0 = (state_q == Exp) && (i_q < n_q);

  mtx_rshr u_rshr (
    .v_i(prod_q),
    .s_i(s_q),
    .y_o(u_d)
  );

  mtx_exp2 u_exp2 (
    .clk_i,
    .rst_ni,
    .tbl_we_i,
    .tbl_addr_i,
    .tbl_data_i,
    .valid_i(ev3_q),
    .u_i    (u_q),
    .valid_o(e_valid),
    .e_o    (e_val)
  );

  // two restoring steps a cycle (the dividend's remaining bits are 0)
  always_comb begin
    rem_a = {rem_q[21:0], 1'b0};
    qa    = (rem_a >= {1'b0, sum_q[21:0]});
    if (qa) begin
      rem_a = rem_a - {1'b0, sum_q[21:0]};
    end
    rem_b = {rem_a[21:0], 1'b0};
    qb    = (rem_b >= {1'b0, sum_q[21:0]});
    if (qb) begin
      rem_b = rem_b - {1'b0, sum_q[21:0]};
    end
  end

  always_ff @(posedge clk_i) begin
    if (sc_valid_i && sc_ready_o) begin
      sc_mem[i_q[IW-1:0]] <= sc_i;
    end
    if (e_valid) begin
      e_mem[w_q[IW-1:0]] <= e_val;
    end
    diff_q <= 33'(mx_q) - 33'(sc_mem[i_q[IW-1:0]]);
    prod_q <= 64'(diff_q) * 64'(m_q);
    u_q    <= u_d;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ev1_q <= 1'b0;
      ev2_q <= 1'b0;
      ev3_q <= 1'b0;
    end else begin
      ev1_q <= ev0;
      ev2_q <= ev1_q;
      ev3_q <= ev2_q;
    end
  end

  assign sc_ready_o = (state_q == Load);
  assign pe_prod    = 64'(e_mem[i_q[IW-1:0]]) * 64'(inv_q);
  assign pe_round   = (pe_prod + 64'h40_0000) >> 23;
  assign pr_prod    = 64'(e_mem[pidx_i[IW-1:0]]) * 64'(inv_q);
  assign pr_round   = (pr_prod + 64'h40_0000) >> 23;
  assign prd_o      = (pr_round > 64'd255) ? 8'd255 : pr_round[7:0];
  assign held_o     = (state_q == Hold);

  always_comb begin
    state_d = state_q;
    n_d     = n_q;
    m_d     = m_q;
    s_d     = s_q;
    i_d     = i_q;
    w_d     = w_q;
    mx_d    = mx_q;
    sum_d   = sum_q;
    inv_d   = inv_q;
    pv_d    = pv_q;
    p_d     = p_q;
    hold_d  = hold_q;
    rem_d   = rem_q;
    quo_d   = quo_q;
    dc_d    = dc_q;
    done_d  = 1'b0;
    if (pv_q && p_ready_i) begin
      pv_d = 1'b0;
    end
    case (state_q)
      Idle: begin
        if (start_i && n_i == 7'd0) begin
          done_d = 1'b1;
        end else if (start_i) begin
          n_d     = n_i;
          m_d     = m_i;
          s_d     = s_i;
          hold_d  = hold_i;
          i_d     = '0;
          state_d = Load;
        end
      end
      Load: begin
        if (sc_valid_i) begin
          if (i_q == 7'd0 || sc_i > mx_q) begin
            mx_d = sc_i;
          end
          i_d = i_q + 7'd1;
          if (i_q + 7'd1 == n_q) begin
            i_d     = '0;
            w_d     = '0;
            sum_d   = '0;
            state_d = Exp;
          end
        end
      end
      Exp: begin
        if (ev0) begin
          i_d = i_q + 7'd1;
        end
        if (e_valid) begin
          w_d   = w_q + 7'd1;
          sum_d = sum_q + e_val;
          if (w_q + 7'd1 == n_q) begin
            rem_d   = 23'h2000;
            quo_d   = '0;
            dc_d    = '0;
            state_d = Div;
          end
        end
      end
      Div: begin
        rem_d = rem_b;
        quo_d = {quo_q[15:0], qa, qb};
        dc_d  = dc_q + 4'd1;
        if (dc_q == 4'd8) begin
          inv_d   = 32'({quo_q[15:0], qa, qb});
          i_d     = '0;
          state_d = hold_q ? Hold : Out;
        end
      end
      Hold: begin
        if (release_i) begin
          done_d  = 1'b1;
          state_d = Idle;
        end
      end
      Out: begin
        if (!pv_q || p_ready_i) begin
          if (i_q < n_q) begin
            pv_d = 1'b1;
            p_d  = (pe_round > 64'd255) ? 8'd255 : pe_round[7:0];
            i_d  = i_q + 7'd1;
          end else begin
            done_d  = 1'b1;
            state_d = Idle;
          end
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= Idle;
      n_q     <= '0;
      m_q     <= '0;
      s_q     <= '0;
      i_q     <= '0;
      w_q     <= '0;
      mx_q    <= '0;
      sum_q   <= '0;
      inv_q   <= '0;
      pv_q    <= 1'b0;
      p_q     <= '0;
      hold_q  <= 1'b0;
      rem_q   <= '0;
      quo_q   <= '0;
      dc_q    <= '0;
      done_o  <= 1'b0;
    end else begin
      state_q <= state_d;
      n_q     <= n_d;
      m_q     <= m_d;
      s_q     <= s_d;
      i_q     <= i_d;
      w_q     <= w_d;
      mx_q    <= mx_d;
      sum_q   <= sum_d;
      inv_q   <= inv_d;
      pv_q    <= pv_d;
      p_q     <= p_d;
      hold_q  <= hold_d;
      rem_q   <= rem_d;
      quo_q   <= quo_d;
      dc_q    <= dc_d;
      done_o  <= done_d;
    end
  end

  assign p_valid_o = pv_q;
  assign p_o       = p_q;
  assign busy_o    = (state_q != Idle);

endmodule
