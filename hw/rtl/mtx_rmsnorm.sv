// mtx_rmsnorm - norm(x[r][0..C-1], {s, m}) of docs/engine.md for n rows per
// start, one record (bit-exact with the golden model's mtx_norm_row):
//   M     the record's m[0..C-1] (its own stream, once a start) into the m RAM
//   LOAD  row r into an x bank; ss = eps_q + sum x^2 as x arrives
//   SQRT  r = isqrt(ss)                                   33 cycles
//   DIV   inv = r == 0 ? 0 : udiv(2^40, r)                42 cycles
//   OUT   y = rshr(x * inv, 16); a = q8(rshr(y * m, s))   C reads, 5 deep
// Each stage hands its row on through one holding register (ss, root, inv),
// so later rows load and take their root while a row divides or streams
// out, and the sqrt of one row overlaps the divide of the one before. The x
// RAM (2·MAXC words, one block RAM) holds two banks of MAXC, or four of
// MAXC / 2 when C <= MAXC / 2; row r uses bank r mod banks and writes its
// address j only once the row before it in that bank has issued read j.
// Back to back (no gaps, a_ready_i high): 2C + 83 + (n - 1)·max(C, 42)
// cycles from start_i to done_o (tb_rmsnorm_rows). cfg is sampled at
// start_i; start_i while busy is ignored; C = 0 or n = 0: done_o at once.
`default_nettype none

module mtx_rmsnorm #(
  parameter int unsigned MAXC = 512,  // MTX_MAX_D_MODEL
  parameter int unsigned MAXN = 64    // MTX_MAX_POS
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               start_i,
  input  logic [9:0]         c_i,      // 1 .. MAXC channels
  input  logic [6:0]         n_i,      // 1 .. MAXN rows
  input  logic [31:0]        eps_i,    // image eps_q
  input  logic [5:0]         s_i,      // record shift
  input  logic               m_valid_i,
  output logic               m_ready_o,
  input  logic signed [31:0] m_i,
  input  logic               x_valid_i,
  output logic               x_ready_o,
  input  logic signed [31:0] x_i,
  output logic               a_valid_o,
  input  logic               a_ready_i,
  output logic signed [7:0]  a_o,
  output logic               busy_o,
  output logic               done_o
);

  localparam int unsigned IW = $clog2(MAXC);      // address within a row
  localparam int unsigned RW = $clog2(MAXN + 1);  // row counters
  localparam logic signed [63:0] Q8Max = 64'sd127;

  logic          busy_q, busy_d;
  logic [9:0]    c_q, c_d;
  logic [RW-1:0] n_q, n_d;
  logic [31:0]   eps_q, eps_d;
  logic [5:0]    s_q, s_d;
  logic          done_d;

  // M: count of m values written
  logic [9:0]    mc_q, mc_d;
  logic          m_take;

  // LOAD: row ld_row_q, address ld_i_q; squares one cycle behind
  logic [RW-1:0] ld_row_q, ld_row_d;
  logic [9:0]    ld_i_q, ld_i_d;
  logic          x_take, ld_last, ld_free;
  logic [RW-1:0] ld_ahead;
  logic          quad_q, quad_d;  // C <= MAXC / 2: four x banks instead of two
  logic [RW-1:0] nbank;
  logic [IW:0]   ld_addr, rd_addr;
  logic          sq_v_q, sq_last_q;
  logic [63:0]   sq_q;
  logic [63:0]   ss_q, ss_d;     // running eps + sum x^2 of the loading row
  logic          ssh_v_q, ssh_v_d;
  logic [63:0]   ssh_q, ssh_d;   // a loaded row's ss, waiting for SQRT

  // SQRT -> DIV -> OUT hand-overs
  logic          sqrt_start, sqrt_busy, sqrt_done;
  logic [31:0]   root;
  logic          root_v_q, root_v_d, root_v;
  logic          div_start, div_busy, div_done;
  logic [40:0]   div_q;
  logic          dz_q, dz_d;     // the row in the divider has r = 0
  logic          inv_v_q, inv_v_d, inv_v;
  logic          inv_take;

  // OUT: reads of row rd_row_q, address rd_i_q, with inv rinv_q
  logic          act_q, act_d;
  logic [RW-1:0] rd_row_q, rd_row_d;
  logic [9:0]    rd_i_q, rd_i_d;
  logic [40:0]   rinv_q, rinv_d;
  logic          en, issue, rd_last;
  logic [9:0]    o_i_q, o_i_d;   // bytes out of row o_row_q
  logic [RW-1:0] o_row_q, o_row_d;

  // Output pipeline, advanced by en: RAM read, x*inv, rshr 16, y*m, rshr s + q8.
  logic               v1_q, v2_q, v3_q, v4_q, av_q;
  logic [40:0]        inv1_q;
  logic signed [31:0] x1, m1;
  logic signed [31:0] m2_q, m3_q;
  logic signed [63:0] p1_q, y_q, p2_q;
  logic signed [63:0] y_d, a_full;
  logic signed [7:0]  a_q, a_d;

  // ---- storage: m[C] and two x rows (bank = row & 1), one write port each
  mtx_ram #(.DEPTH(MAXC), .WIDTH(32)) u_mram (
    .clk_i,
    .we_i   (m_take),
    .waddr_i(mc_q[IW-1:0]),
    .wdata_i(m_i),
    .re_i   (issue),
    .raddr_i(rd_i_q[IW-1:0]),
    .rdata_o(m1)
  );

  mtx_ram #(.DEPTH(2 * MAXC), .WIDTH(32)) u_xram (
    .clk_i,
    .we_i   (x_take),
    .waddr_i(ld_addr),
    .wdata_i(x_i),
    .re_i   (issue),
    .raddr_i(rd_addr),
    .rdata_o(x1)
  );

  // ---- stream acceptance
  assign m_take    = m_valid_i && m_ready_o;
  assign m_ready_o = busy_q && (mc_q < c_q);

  // Bank = row mod nbank. Row ld_row_q may write address ld_i_q of its bank
  // once row ld_row_q - nbank (same bank) has issued the read of that address.
  always_comb begin
    if (quad_q) begin
      nbank   = RW'(4);
      ld_addr = {ld_row_q[1:0], ld_i_q[IW-2:0]};
      rd_addr = {rd_row_q[1:0], rd_i_q[IW-2:0]};
    end else begin
      nbank   = RW'(2);
      ld_addr = {ld_row_q[0], ld_i_q[IW-1:0]};
      rd_addr = {rd_row_q[0], rd_i_q[IW-1:0]};
    end
  end
  assign ld_ahead  = ld_row_q - rd_row_q;
  assign ld_last   = (ld_i_q + 10'd1 == c_q);
  assign ld_free   = (ld_ahead < nbank) || (ld_ahead == nbank && rd_i_q > ld_i_q);
  // the last x of a row needs the ss hand-over register free a cycle later
  // (and not about to be filled by the row before: C = 1)
  assign x_ready_o = busy_q && (ld_row_q < n_q) && ld_free && !(ld_last && (ssh_v_q || sq_last_q));
  assign x_take    = x_valid_i && x_ready_o;

  // ---- SQRT, DIV
  assign root_v     = root_v_q || sqrt_done;
  assign inv_v      = inv_v_q || div_done;
  assign inv_take   = inv_v && (!act_q || rd_last);
  assign div_start  = root_v && !div_busy && (!inv_v || inv_take);
  assign sqrt_start = ssh_v_q && !sqrt_busy && (!root_v || div_start);

  mtx_isqrt u_sqrt (
    .clk_i,
    .rst_ni,
    .start_i(sqrt_start),
    .n_i    (ssh_q),
    .busy_o (sqrt_busy),
    .done_o (sqrt_done),
    .root_o (root)
  );

  mtx_udiv #(.NW(41), .DW(32)) u_div (
    .clk_i,
    .rst_ni,
    .start_i(div_start),
    .a_i    (41'h100_0000_0000),
    .b_i    (root),
    .busy_o (div_busy),
    .done_o (div_done),
    .q_o    (div_q)
  );

  // ---- OUT
  assign en      = !av_q || a_ready_i;
  assign issue   = act_q && en && (mc_q > rd_i_q);
  assign rd_last = issue && (rd_i_q + 10'd1 == c_q);

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

  always_ff @(posedge clk_i) begin
    sq_q <= 64'(x_i) * 64'(x_i);
    if (en) begin
      inv1_q <= rinv_q;
      p1_q   <= 64'(x1) * 64'($signed({1'b0, inv1_q}));
      m2_q   <= m1;
      y_q    <= y_d;
      m3_q   <= m2_q;
      p2_q   <= y_q * 64'(m3_q);
      a_q    <= a_d;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sq_v_q    <= 1'b0;
      sq_last_q <= 1'b0;
      v1_q      <= 1'b0;
      v2_q      <= 1'b0;
      v3_q      <= 1'b0;
      v4_q      <= 1'b0;
      av_q      <= 1'b0;
    end else begin
      sq_v_q    <= x_take;
      sq_last_q <= x_take && ld_last;
      if (en) begin
        v1_q <= issue;
        v2_q <= v1_q;
        v3_q <= v2_q;
        v4_q <= v3_q;
        av_q <= v4_q;
      end
    end
  end

  // ---- control
  always_comb begin
    busy_d   = busy_q;
    c_d      = c_q;
    n_d      = n_q;
    quad_d   = quad_q;
    eps_d    = eps_q;
    s_d      = s_q;
    done_d   = 1'b0;
    mc_d     = mc_q;
    ld_row_d = ld_row_q;
    ld_i_d   = ld_i_q;
    ss_d     = ss_q;
    ssh_v_d  = ssh_v_q;
    ssh_d    = ssh_q;
    root_v_d = root_v;
    dz_d     = dz_q;
    inv_v_d  = inv_v;
    act_d    = act_q;
    rd_row_d = rd_row_q;
    rd_i_d   = rd_i_q;
    rinv_d   = rinv_q;
    o_i_d    = o_i_q;
    o_row_d  = o_row_q;

    if (m_take) begin
      mc_d = mc_q + 10'd1;
    end

    // LOAD
    if (x_take) begin
      ld_i_d = ld_i_q + 10'd1;
      if (ld_last) begin
        ld_i_d   = '0;
        ld_row_d = ld_row_q + RW'(1);
      end
    end
    if (sqrt_start) begin
      ssh_v_d = 1'b0;
    end
    if (sq_v_q) begin
      ss_d = ss_q + sq_q;
      if (sq_last_q) begin
        ssh_d   = ss_q + sq_q;
        ssh_v_d = 1'b1;
        ss_d    = 64'(eps_q);
      end
    end

    // SQRT -> DIV -> OUT
    if (div_start) begin
      root_v_d = 1'b0;
      dz_d     = (root == 32'd0);
    end
    if (inv_take) begin
      inv_v_d = 1'b0;
      rinv_d  = dz_q ? 41'd0 : div_q;
    end

    // OUT reads
    if (issue) begin
      rd_i_d = rd_i_q + 10'd1;
    end
    if (rd_last) begin
      rd_i_d   = '0;
      rd_row_d = rd_row_q + RW'(1);
      act_d    = 1'b0;
    end
    if (inv_take) begin
      act_d = 1'b1;
    end

    // OUT bytes
    if (av_q && a_ready_i) begin
      o_i_d = o_i_q + 10'd1;
      if (o_i_q + 10'd1 == c_q) begin
        o_i_d   = '0;
        o_row_d = o_row_q + RW'(1);
        if (o_row_q + RW'(1) == n_q) begin
          busy_d = 1'b0;
          done_d = 1'b1;
        end
      end
    end

    if (!busy_q && start_i) begin
      if (c_i == 10'd0 || n_i == 7'd0) begin
        done_d = 1'b1;
      end else begin
        busy_d   = 1'b1;
        c_d      = c_i;
        n_d      = RW'(n_i);
        quad_d   = ({1'b0, c_i} <= 11'(MAXC / 2));
        eps_d    = eps_i;
        s_d      = s_i;
        mc_d     = '0;
        ld_row_d = '0;
        ld_i_d   = '0;
        ss_d     = 64'(eps_i);
        rd_row_d = '0;
        rd_i_d   = '0;
        o_i_d    = '0;
        o_row_d  = '0;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q   <= 1'b0;
      c_q      <= '0;
      n_q      <= '0;
      quad_q   <= 1'b0;
      eps_q    <= '0;
      s_q      <= '0;
      done_o   <= 1'b0;
      mc_q     <= '0;
      ld_row_q <= '0;
      ld_i_q   <= '0;
      ss_q     <= '0;
      ssh_v_q  <= 1'b0;
      ssh_q    <= '0;
      root_v_q <= 1'b0;
      dz_q     <= 1'b0;
      inv_v_q  <= 1'b0;
      act_q    <= 1'b0;
      rd_row_q <= '0;
      rd_i_q   <= '0;
      rinv_q   <= '0;
      o_i_q    <= '0;
      o_row_q  <= '0;
    end else begin
      busy_q   <= busy_d;
      c_q      <= c_d;
      n_q      <= n_d;
      quad_q   <= quad_d;
      eps_q    <= eps_d;
      s_q      <= s_d;
      done_o   <= done_d;
      mc_q     <= mc_d;
      ld_row_q <= ld_row_d;
      ld_i_q   <= ld_i_d;
      ss_q     <= ss_d;
      ssh_v_q  <= ssh_v_d;
      ssh_q    <= ssh_d;
      root_v_q <= root_v_d;
      dz_q     <= dz_d;
      inv_v_q  <= inv_v_d;
      act_q    <= act_d;
      rd_row_q <= rd_row_d;
      rd_i_q   <= rd_i_d;
      rinv_q   <= rinv_d;
      o_i_q    <= o_i_d;
      o_row_q  <= o_row_d;
    end
  end

  assign a_valid_o = av_q;
  assign a_o       = a_q;
  assign busy_o    = busy_q;

endmodule
