// mtx_rmsnorm_row - norm(x[0..C-1], {s, m}) of docs/engine.md for one row:
//   LOAD  take x (int32), keep it, ss = sum x^2            C + 2 cycles
//   SQRT  r = isqrt(ss + eps_q)                            33 cycles
//   DIV   inv = r == 0 ? 0 : udiv(2^40, r)                 42 cycles
//   OUT   y = rshr(x * inv, 16); a = q8(rshr(y * m, s))    C + 5 cycles
// m[c] arrives on its own stream during OUT (the record is read from the
// image beside the row). x is kept in one block RAM (read with enable so the
// output pipeline can stall on a_ready_i). cfg is sampled at start_i.
`default_nettype none

module mtx_rmsnorm_row #(
  parameter int unsigned MAXC = 512  // MTX_MAX_D_MODEL
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               start_i,
  input  logic [9:0]         c_i,      // 1 .. MAXC channels
  input  logic [31:0]        eps_i,    // image eps_q
  input  logic [5:0]         s_i,      // record shift
  input  logic               x_valid_i,
  output logic               x_ready_o,
  input  logic signed [31:0] x_i,
  input  logic               m_valid_i,
  output logic               m_ready_o,
  input  logic signed [31:0] m_i,
  output logic               a_valid_o,
  input  logic               a_ready_i,
  output logic signed [7:0]  a_o,
  output logic               busy_o,
  output logic               done_o
);

  localparam int unsigned IW = $clog2(MAXC);
  localparam logic signed [63:0] Q8Max = 64'sd127;
  typedef enum logic [2:0] {Idle, Load, Sum, SqrtWait, DivWait, Out} state_e;

  state_e state_q, state_d;
  logic [9:0]  c_q, c_d;
  logic [31:0] eps_q, eps_d;
  logic [5:0]  s_q, s_d;
  logic [9:0]  i_q, i_d;    // LOAD count / OUT issue count
  logic [9:0]  o_q, o_d;    // OUT emitted count
  logic [63:0] ss_q, ss_d;
  logic [40:0] inv_q, inv_d;
  logic        sq_v_q;
  logic [63:0] sq_q;
  logic        done_d;

  logic signed [31:0] x_mem [MAXC];

  // Output pipeline, advanced by en: read, x*inv, rshr 16, y*m, rshr s + q8.
  logic               en;
  logic               issue;
  logic               v1_q, v2_q, v3_q, v4_q, av_q;
  logic signed [31:0] rd_q;
  logic signed [31:0] m1_q, m2_q, m3_q;
  logic signed [63:0] p1_q, y_q, p2_q;
  logic signed [63:0] y_d, a_full;
  logic signed [7:0]  a_q, a_d;

  logic        sqrt_start, sqrt_done, sqrt_busy_unused;
  logic [31:0] root;
  logic        div_start, div_done, div_busy_unused;
  logic [40:0] div_q;

  mtx_isqrt u_sqrt (
    .clk_i,
    .rst_ni,
    .start_i(sqrt_start),
    .n_i    (ss_q + 64'(eps_q)),
    .busy_o (sqrt_busy_unused),
    .done_o (sqrt_done),
    .root_o (root)
  );

  mtx_udiv #(.NW(41), .DW(32)) u_div (
    .clk_i,
    .rst_ni,
    .start_i(div_start),
    .a_i    (41'h100_0000_0000),
    .b_i    (root),
    .busy_o (div_busy_unused),
    .done_o (div_done),
    .q_o    (div_q)
  );

  mtx_rshr u_rshr_y (
    .v_i(p1_q),
    .s_i(6'd16),
    .y_o(y_d)
  );

  mtx_rshr u_rshr_a (
    .v_i(p2_q),
    .s_i(s_q),
    .y_o(a_full)
  );

  always_comb begin
    if (a_full > Q8Max) a_d = 8'sd127;
    else if (a_full < -Q8Max) a_d = -8'sd127;
    else a_d = a_full[7:0];
  end

  assign en        = !av_q || a_ready_i;
  assign issue     = (state_q == Out) && en && (i_q < c_q) && m_valid_i;
  assign m_ready_o = issue;
  assign x_ready_o = (state_q == Load);
  assign sqrt_start = (state_q == Sum) && !sq_v_q;
  assign div_start  = (state_q == SqrtWait) && sqrt_done && (root != 32'd0);

  always_ff @(posedge clk_i) begin
    if (x_valid_i && x_ready_o) begin
      x_mem[i_q[IW-1:0]] <= x_i;
    end
    if (issue) begin
      rd_q <= x_mem[i_q[IW-1:0]];
    end
    sq_q <= 64'(x_i) * 64'(x_i);
    if (en) begin
      m1_q <= m_i;
      p1_q <= 64'(rd_q) * 64'($signed({1'b0, inv_q}));
      m2_q <= m1_q;
      y_q  <= y_d;
      m3_q <= m2_q;
      p2_q <= y_q * 64'(m3_q);
      a_q  <= a_d;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sq_v_q <= 1'b0;
      v1_q   <= 1'b0;
      v2_q   <= 1'b0;
      v3_q   <= 1'b0;
      v4_q   <= 1'b0;
      av_q   <= 1'b0;
    end else begin
      sq_v_q <= x_valid_i && x_ready_o;
      if (en) begin
        v1_q <= issue;
        v2_q <= v1_q;
        v3_q <= v2_q;
        v4_q <= v3_q;
        av_q <= v4_q;
      end
    end
  end

  always_comb begin
    state_d = state_q;
    c_d     = c_q;
    eps_d   = eps_q;
    s_d     = s_q;
    i_d     = i_q;
    o_d     = o_q;
    ss_d    = ss_q;
    inv_d   = inv_q;
    done_d  = 1'b0;
    if (sq_v_q) begin
      ss_d = ss_q + sq_q;
    end
    case (state_q)
      Idle: begin
        if (start_i && c_i == 10'd0) begin
          done_d = 1'b1;
        end else if (start_i) begin
          c_d     = c_i;
          eps_d   = eps_i;
          s_d     = s_i;
          i_d     = '0;
          ss_d    = '0;
          state_d = Load;
        end
      end
      Load: begin
        if (x_valid_i) begin
          i_d = i_q + 10'd1;
          if (i_q + 10'd1 == c_q) begin
            state_d = Sum;
          end
        end
      end
      Sum: begin
        // the last square is added in this cycle; sqrt starts when none is pending
        if (!sq_v_q) begin
          state_d = SqrtWait;
        end
      end
      SqrtWait: begin
        if (sqrt_done) begin
          if (root == 32'd0) begin
            inv_d   = '0;
            i_d     = '0;
            o_d     = '0;
            state_d = Out;
          end else begin
            state_d = DivWait;
          end
        end
      end
      DivWait: begin
        if (div_done) begin
          inv_d   = div_q;
          i_d     = '0;
          o_d     = '0;
          state_d = Out;
        end
      end
      Out: begin
        if (issue) begin
          i_d = i_q + 10'd1;
        end
        if (av_q && a_ready_i) begin
          o_d = o_q + 10'd1;
          if (o_q + 10'd1 == c_q) begin
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
      c_q     <= '0;
      eps_q   <= '0;
      s_q     <= '0;
      i_q     <= '0;
      o_q     <= '0;
      ss_q    <= '0;
      inv_q   <= '0;
      done_o  <= 1'b0;
    end else begin
      state_q <= state_d;
      c_q     <= c_d;
      eps_q   <= eps_d;
      s_q     <= s_d;
      i_q     <= i_d;
      o_q     <= o_d;
      ss_q    <= ss_d;
      inv_q   <= inv_d;
      done_o  <= done_d;
    end
  end

  assign a_valid_o = av_q;
  assign a_o       = a_q;
  assign busy_o    = (state_q != Idle);

endmodule
