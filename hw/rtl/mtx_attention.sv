// mtx_attention - "Attention" of docs/engine.md for nq query rows and every
// head: scores, softmax (mtx_softmax_row), p.v and the att requant (q8). q, k
// and v are int8 in three beat RAMs owned by the caller (16 bytes a beat, one
// synchronous read port for q and one address shared by k and v), laid out
// so one head's row is hsw = hs / 16 consecutive beats:
//   q beat (h, t, d)    = (qbase + h * qstride + t) * hsw + d
//   k, v beat (h, j, d) = (kbase + h * kstride + j) * hsw + d
// The output att[t][h * hs + ...] leaves one 16-byte beat per out_valid_o,
//   out beat (t, h, d)  = (obase + t) * cw + h * hsw + d
// beats of one (head, query) in d order, (head, query) pairs in order.
//
// Pairs n = h * nq + t go through a pipeline of sweeps. A sweep reads the k /
// v RAMs once over (j, d) (j outer, d inner: nk * hsw cycles) for one head and
// serves up to two pairs of that head at once: the scores of pair ns (q beat
// from the q RAM, 16 MACs, one score per hsw beats into a softmax row) and
// the p.v of an earlier pair np (p[j] from its held softmax row, 16 MACs into
// the beat's accumulators). NSM = 3 softmax rows (mtx_softmax_row in hold
// mode) let the scores run two pairs ahead of the p.v, so in steady state a
// sweep carries (scores n + 2, p.v n) while row n + 1 exponentiates and
// divides. Pairs of different heads cannot share a sweep (the k / v address
// is shared): around a head change the pipeline fills and drains with sweeps
// of one kind. The accumulators are two banks (pairs alternate), so a pair's
// 16 * hsw sums are requantised (4 mtx_requant lanes, 4 cycles a beat) while
// the next pair accumulates.
// Cycles per pair in steady state (one head, many queries):
//   T = max(nk * hsw + 1, (nk * hsw + nk + 16) / 2, 4 * hsw)
// on average (a sweep and its plan cycle; two sweeps cover a row's exp and
// divide, held nk + 16 cycles after its last score; the requant; nk = 4 with
// hsw >= 5 takes half a cycle more). Each head
// adds about two sweeps of one kind (pipeline fill and drain); tb_attention
// replays the schedule and checks every call's cycle count exactly.
`default_nettype none

module mtx_attention #(
  parameter int unsigned AW = 15  // beat address bits of q, k, v and out
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  // EXP2 table (the image's section), written before the first start
  input  logic               tbl_we_i,
  input  logic [7:0]         tbl_addr_i,
  input  logic [31:0]        tbl_data_i,
  input  logic               start_i,
  input  logic [6:0]         nq_i,       // query rows, >= 1
  input  logic [6:0]         qbase_i,    // first query row in the q RAM
  input  logic [6:0]         qstride_i,  // rows per head in the q RAM
  input  logic [6:0]         obase_i,    // first output row
  input  logic [6:0]         nk_i,       // keys, 1 .. 64
  input  logic [6:0]         kstride_i,  // rows per head in the k / v RAMs
  input  logic [14:0]        kbase_i,    // first row in the k / v RAMs
  input  logic [3:0]         heads_i,    // H
  input  logic [3:0]         hsw_i,      // hs / 16, 1 .. 8
  input  logic [5:0]         cw_i,       // C / 16
  input  logic signed [31:0] m_sm_i,
  input  logic [5:0]         s_sm_i,
  input  logic signed [31:0] m_att_i,
  input  logic [5:0]         s_att_i,
  // operand RAM read ports (synchronous, one cycle)
  output logic               re_o,
  output logic [AW-1:0]      q_addr_o,
  output logic [AW-1:0]      kv_addr_o,
  input  logic [127:0]       q_rdata_i,
  input  logic [127:0]       k_rdata_i,
  input  logic [127:0]       v_rdata_i,
  // att beats: byte i of the beat at [i*8 +: 8]
  output logic               out_valid_o,
  output logic [AW-1:0]      out_beat_o,
  output logic [127:0]       out_data_o,
  output logic               busy_o,
  output logic               done_o
);

  localparam int unsigned NSM = 3;  // softmax rows in flight

  typedef enum logic [1:0] {Idle, Plan, Sweep} state_e;

  state_e state_q, state_d;
  logic        done_d;

  // configuration, sampled at start_i
  logic [6:0]  nq_q, qb_q, qs_q, ob_q, nk_q, ks_q;
  logic [14:0] kb_q;
  logic [3:0]  hh_q, hsw_q;
  logic [5:0]  cw_q;
  logic signed [31:0] msm_q, matt_q;
  logic [5:0]  ssm_q, satt_q;

  // next pair to score (ns) and next pair for p.v (np)
  logic        hs_q, hs_d;                // a pair is left to score
  logic [3:0]  sh_q, sh_d;
  logic [6:0]  st_q, st_d;
  logic [1:0]  si_q, si_d;                // its softmax row
  logic [3:0]  ph_q, ph_d;
  logic [6:0]  pt_q, pt_d;
  logic [1:0]  pi_q, pi_d;
  logic        pb_q, pb_d;                // its accumulator bank
  logic [1:0]  pend_q, pend_d;            // pairs scored, p.v not yet issued

  // the sweep in progress
  logic        ws_q, ws_d, wp_q, wp_d;    // carries scores / p.v
  logic [3:0]  wh_q, wh_d;                // its head
  logic [6:0]  wst_q, wst_d;              // score query
  logic [1:0]  wsi_q, wsi_d, wpi_q, wpi_d;
  logic [6:0]  wpt_q, wpt_d;              // p.v query
  logic        wpb_q, wpb_d;
  logic [6:0]  j_q, j_d;
  logic [3:0]  d_q, d_d;

  // softmax rows
  logic [NSM-1:0]   sm_start, sm_scv, sm_rel, sm_held, sm_busy;
  logic [NSM*8-1:0] sm_prd;
  logic signed [31:0] sc;

  // stage 1: the data of last cycle's reads
  logic        v1_q, s1_q, p1_q, j01_q, dl1_q, last1_q, pb1_q;
  logic [1:0]  si1_q;
  logic [2:0]  d1_q;
  logic [3:0]  h1_q;
  logic [6:0]  t1_q;
  logic [7:0]  p1v_q;
  logic signed [31:0] sacc_q;
  logic signed [31:0] dot;
  logic        push;

  // p.v accumulators: entry {bank, d}, 16 x int32
  logic [511:0] acc_mem [16];
  logic [511:0] acc_rd, acc_dr;

  // requant drain
  logic        dp_q, dp_d;                // a drain waits: bank, head, query
  logic        dpb_q, dpb_d;
  logic [3:0]  dph_q, dph_d;
  logic [6:0]  dpt_q, dpt_d;
  logic        db_q, db_d;                // draining: bank, head, query, d, group
  logic        dbk_q, dbk_d;
  logic [3:0]  dh_q, dh_d;
  logic [6:0]  dt_q, dt_d;
  logic [3:0]  dd_q, dd_d;
  logic [1:0]  dg_q, dg_d;
  logic        dfin;
  logic [1:0]  g1_q, g2_q;
  logic        v2_q;
  logic [AW-1:0] a1_q, a2_q, dbeat;
  logic [3:0]  rq_vo;
  logic [255:0] rq_y;
  logic [127:0] out_q;
  logic        ov_q;
  logic [AW-1:0] ob_beat_q;
  logic        unused_y;

  // ---------------------------------------------------------------- softmax
  for (genvar r = 0; r < NSM; r++) begin : g_sm
    logic sm_pv_unused, sm_p_unused_v, sm_rdy_unused, sm_done_unused;
    logic [7:0] sm_p_unused;
    mtx_softmax_row #(.MAXN(64)) u_softmax (
      .clk_i,
      .rst_ni,
      .tbl_we_i,
      .tbl_addr_i,
      .tbl_data_i,
      .start_i   (sm_start[r]),
      .n_i       (nk_q),
      .m_i       (msm_q),
      .s_i       (ssm_q),
      .sc_valid_i(sm_scv[r]),
      .sc_ready_o(sm_rdy_unused),
      .sc_i      (sc),
      .p_valid_o (sm_pv_unused),
      .p_ready_i (1'b1),
      .p_o       (sm_p_unused),
      .hold_i    (1'b1),
      .pidx_i    (j_q[5:0]),
      .prd_o     (sm_prd[r*8 +: 8]),
      .held_o    (sm_held[r]),
      .release_i (sm_rel[r]),
      .busy_o    (sm_busy[r]),
      .done_o    (sm_done_unused)
    );
    assign sm_p_unused_v = ^{sm_pv_unused, sm_p_unused, sm_rdy_unused, sm_done_unused};
  end

  // ------------------------------------------------------------- read ports
  logic [AW-1:0] qrow, kvrow;
  logic          last_issue;
  always_comb begin
    qrow      = AW'(32'(qb_q) + 32'(wh_q) * 32'(qs_q) + 32'(wst_q));
    kvrow     = AW'(32'(kb_q) + 32'(wh_q) * 32'(ks_q) + 32'(j_q));
    q_addr_o  = AW'(32'(qrow) * 32'(hsw_q) + 32'(d_q));
    kv_addr_o = AW'(32'(kvrow) * 32'(hsw_q) + 32'(d_q));
  end
  assign re_o       = (state_q == Sweep);
  assign last_issue = (state_q == Sweep) && (j_q == nk_q - 7'd1) && (d_q == hsw_q - 4'd1);

  // ---------------------------------------------------------------- stage 1
  always_comb begin
    dot = '0;
    for (int i = 0; i < 16; i++) begin
      dot = dot + 32'($signed(q_rdata_i[i*8 +: 8])) * 32'($signed(k_rdata_i[i*8 +: 8]));
    end
  end
  assign sc     = sacc_q + dot;
  assign acc_rd = acc_mem[{pb1_q, d1_q}];
  assign push   = v1_q && p1_q && last1_q;

  always_comb begin
    for (int r = 0; r < NSM; r++) begin
      sm_scv[r] = v1_q && s1_q && dl1_q && (si1_q == 2'(r));
      sm_rel[r] = last_issue && wp_q && (wpi_q == 2'(r));
    end
  end

  always_ff @(posedge clk_i) begin
    if (v1_q && p1_q) begin
      for (int i = 0; i < 16; i++) begin
        acc_mem[{pb1_q, d1_q}][i*32 +: 32] <= (j01_q ? 32'sd0 : acc_rd[i*32 +: 32]) +
            32'($signed({1'b0, p1v_q})) * 32'($signed(v_rdata_i[i*8 +: 8]));
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q    <= 1'b0;
      s1_q    <= 1'b0;
      p1_q    <= 1'b0;
      j01_q   <= 1'b0;
      dl1_q   <= 1'b0;
      last1_q <= 1'b0;
      pb1_q   <= 1'b0;
      si1_q   <= '0;
      d1_q    <= '0;
      h1_q    <= '0;
      t1_q    <= '0;
      p1v_q   <= '0;
      sacc_q  <= '0;
    end else begin
      v1_q    <= (state_q == Sweep);
      s1_q    <= ws_q;
      p1_q    <= wp_q;
      j01_q   <= (j_q == 7'd0);
      dl1_q   <= (d_q == hsw_q - 4'd1);
      last1_q <= last_issue;
      pb1_q   <= wpb_q;
      si1_q   <= wsi_q;
      d1_q    <= d_q[2:0];
      h1_q    <= wh_q;
      t1_q    <= wpt_q;
      p1v_q   <= sm_prd[32'(wpi_q)*8 +: 8];
      if (v1_q && s1_q) begin
        sacc_q <= dl1_q ? 32'sd0 : sc;
      end
    end
  end

  // ------------------------------------------------------------ att requant
  assign dfin   = db_q && (dg_q == 2'd3) && (dd_q == hsw_q - 4'd1);
  assign acc_dr = acc_mem[{dbk_q, dd_q[2:0]}];
  assign dbeat  = AW'((32'(ob_q) + 32'(dt_q)) * 32'(cw_q) + 32'(dh_q) * 32'(hsw_q) + 32'(dd_q));

  for (genvar l = 0; l < 4; l++) begin : g_rq
    logic unused_hi;
    mtx_requant u_requant (
      .clk_i,
      .rst_ni,
      .valid_i(db_q),
      .acc_i  (acc_dr[(32'(dg_q)*4 + l)*32 +: 32]),
      .m_i    (matt_q),
      .s_i    (satt_q),
      .mode_i (2'd1),
      .x_i    (32'sd0),
      .valid_o(rq_vo[l]),
      .y_o    (rq_y[l*64 +: 64])
    );
    assign unused_hi = ^rq_y[l*64+8 +: 56];  // q8: the value fits the low byte
  end
  assign unused_y = ^{rq_vo[3:1], g_rq[0].unused_hi, g_rq[1].unused_hi, g_rq[2].unused_hi,
                      g_rq[3].unused_hi, h1_q, t1_q, g_sm[0].sm_p_unused_v,
                      g_sm[1].sm_p_unused_v, g_sm[2].sm_p_unused_v};

  always_comb begin
    dp_d  = dp_q;
    dpb_d = dpb_q;
    dph_d = dph_q;
    dpt_d = dpt_q;
    db_d  = db_q;
    dbk_d = dbk_q;
    dh_d  = dh_q;
    dt_d  = dt_q;
    dd_d  = dd_q;
    dg_d  = dg_q;
    if (db_q) begin
      dg_d = dg_q + 2'd1;
      if (dg_q == 2'd3) begin
        dd_d = dd_q + 4'd1;
      end
      if (dfin) begin
        db_d = 1'b0;
      end
    end
    if ((!db_q || dfin) && dp_q) begin
      dp_d  = 1'b0;
      db_d  = 1'b1;
      dbk_d = dpb_q;
      dh_d  = dph_q;
      dt_d  = dpt_q;
      dd_d  = '0;
      dg_d  = '0;
    end
    if (push) begin
      dp_d  = 1'b1;
      dpb_d = pb1_q;
      dph_d = h1_q;
      dpt_d = t1_q;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dp_q      <= 1'b0;
      dpb_q     <= 1'b0;
      dph_q     <= '0;
      dpt_q     <= '0;
      db_q      <= 1'b0;
      dbk_q     <= 1'b0;
      dh_q      <= '0;
      dt_q      <= '0;
      dd_q      <= '0;
      dg_q      <= '0;
      g1_q      <= '0;
      g2_q      <= '0;
      v2_q      <= 1'b0;
      a1_q      <= '0;
      a2_q      <= '0;
      out_q     <= '0;
      ov_q      <= 1'b0;
      ob_beat_q <= '0;
    end else begin
      dp_q  <= dp_d;
      dpb_q <= dpb_d;
      dph_q <= dph_d;
      dpt_q <= dpt_d;
      db_q  <= db_d;
      dbk_q <= dbk_d;
      dh_q  <= dh_d;
      dt_q  <= dt_d;
      dd_q  <= dd_d;
      dg_q  <= dg_d;
      g1_q  <= dg_q;
      g2_q  <= g1_q;
      v2_q  <= db_q;
      a1_q  <= dbeat;
      a2_q  <= a1_q;
      ov_q  <= 1'b0;
      if (rq_vo[0]) begin
        out_q[32'(g2_q)*32 +: 32] <= {rq_y[199:192], rq_y[135:128], rq_y[71:64], rq_y[7:0]};
        if (g2_q == 2'd3) begin
          ov_q      <= 1'b1;
          ob_beat_q <= a2_q;
        end
      end
    end
  end

  assign out_valid_o = ov_q;
  assign out_beat_o  = ob_beat_q;
  assign out_data_o  = out_q;

  // --------------------------------------------------------------- schedule
  logic have_p, held_p, idle_s, can_s, same, slot_ok, ok_p, quiet;
  always_comb begin
    have_p  = (pend_q != 2'd0);
    held_p  = sm_held[pi_q];
    idle_s  = !sm_busy[si_q];
    can_s   = hs_q && (pend_q < 2'(NSM)) && idle_s;
    same    = (sh_q == ph_q);
    // the bank is neither being requantised nor waiting for it (pairs
    // alternate banks: the other bank's job, waiting or being pushed now,
    // reaches the requant before this sweep pushes its own)
    slot_ok = !(db_q && dbk_q == pb_q) && !(dp_q && dpb_q == pb_q) && !(push && pb1_q == pb_q);
    ok_p    = have_p && held_p && slot_ok;
    quiet   = !db_q && !dp_q && !v1_q && !v2_q && !rq_vo[0];
  end

  always_comb begin
    state_d  = state_q;
    done_d   = 1'b0;
    hs_d     = hs_q;
    sh_d     = sh_q;
    st_d     = st_q;
    si_d     = si_q;
    ph_d     = ph_q;
    pt_d     = pt_q;
    pi_d     = pi_q;
    pb_d     = pb_q;
    pend_d   = pend_q;
    ws_d     = ws_q;
    wp_d     = wp_q;
    wh_d     = wh_q;
    wst_d    = wst_q;
    wsi_d    = wsi_q;
    wpi_d    = wpi_q;
    wpt_d    = wpt_q;
    wpb_d    = wpb_q;
    j_d      = j_q;
    d_d      = d_q;
    sm_start = '0;
    case (state_q)
      Idle: begin
        if (start_i) begin
          hs_d    = 1'b1;
          sh_d    = '0;
          st_d    = '0;
          si_d    = '0;
          ph_d    = '0;
          pt_d    = '0;
          pi_d    = '0;
          pb_d    = 1'b0;
          pend_d  = '0;
          state_d = Plan;
        end
      end
      Plan: begin
        // which pairs the next sweep carries
        ws_d = 1'b0;
        wp_d = 1'b0;
        if (ok_p) begin
          wp_d = 1'b1;
          ws_d = can_s && same;
        end else if (can_s && (!have_p || !same || pend_q < 2'(NSM - 1))) begin
          ws_d = 1'b1;
        end
        j_d = '0;
        d_d = '0;
        if (ws_d) begin
          wh_d  = sh_q;
          wst_d = st_q;
          wsi_d = si_q;
          sm_start[si_q] = 1'b1;
          si_d  = (si_q == 2'(NSM - 1)) ? 2'd0 : si_q + 2'd1;
          st_d  = st_q + 7'd1;
          if (st_q == nq_q - 7'd1) begin
            st_d = '0;
            sh_d = sh_q + 4'd1;
            if (sh_q == hh_q - 4'd1) begin
              hs_d = 1'b0;
            end
          end
        end
        if (wp_d) begin
          wh_d  = ph_q;
          wpt_d = pt_q;
          wpi_d = pi_q;
          wpb_d = pb_q;
          pb_d  = !pb_q;
          pi_d  = (pi_q == 2'(NSM - 1)) ? 2'd0 : pi_q + 2'd1;
          pt_d  = pt_q + 7'd1;
          if (pt_q == nq_q - 7'd1) begin
            pt_d = '0;
            ph_d = ph_q + 4'd1;
          end
        end
        pend_d = pend_q + 2'(ws_d) - 2'(wp_d);
        if (ws_d || wp_d) begin
          state_d = Sweep;
        end else if (!hs_q && !have_p && quiet) begin
          done_d  = 1'b1;
          state_d = Idle;
        end
      end
      Sweep: begin
        d_d = d_q + 4'd1;
        if (d_q == hsw_q - 4'd1) begin
          d_d = '0;
          j_d = j_q + 7'd1;
          if (j_q == nk_q - 7'd1) begin
            state_d = Plan;
          end
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= Idle;
      nq_q    <= '0;
      qb_q    <= '0;
      qs_q    <= '0;
      ob_q    <= '0;
      nk_q    <= '0;
      ks_q    <= '0;
      kb_q    <= '0;
      hh_q    <= '0;
      hsw_q   <= '0;
      cw_q    <= '0;
      msm_q   <= '0;
      ssm_q   <= '0;
      matt_q  <= '0;
      satt_q  <= '0;
      hs_q    <= 1'b0;
      sh_q    <= '0;
      st_q    <= '0;
      si_q    <= '0;
      ph_q    <= '0;
      pt_q    <= '0;
      pi_q    <= '0;
      pb_q    <= 1'b0;
      pend_q  <= '0;
      ws_q    <= 1'b0;
      wp_q    <= 1'b0;
      wh_q    <= '0;
      wst_q   <= '0;
      wsi_q   <= '0;
      wpi_q   <= '0;
      wpt_q   <= '0;
      wpb_q   <= 1'b0;
      j_q     <= '0;
      d_q     <= '0;
      done_o  <= 1'b0;
    end else begin
      state_q <= state_d;
      if (state_q == Idle && start_i) begin
        nq_q   <= nq_i;
        qb_q   <= qbase_i;
        qs_q   <= qstride_i;
        ob_q   <= obase_i;
        nk_q   <= nk_i;
        ks_q   <= kstride_i;
        kb_q   <= kbase_i;
        hh_q   <= heads_i;
        hsw_q  <= hsw_i;
        cw_q   <= cw_i;
        msm_q  <= m_sm_i;
        ssm_q  <= s_sm_i;
        matt_q <= m_att_i;
        satt_q <= s_att_i;
      end
      hs_q    <= hs_d;
      sh_q    <= sh_d;
      st_q    <= st_d;
      si_q    <= si_d;
      ph_q    <= ph_d;
      pt_q    <= pt_d;
      pi_q    <= pi_d;
      pb_q    <= pb_d;
      pend_q  <= pend_d;
      ws_q    <= ws_d;
      wp_q    <= wp_d;
      wh_q    <= wh_d;
      wst_q   <= wst_d;
      wsi_q   <= wsi_d;
      wpi_q   <= wpi_d;
      wpt_q   <= wpt_d;
      wpb_q   <= wpb_d;
      j_q     <= j_d;
      d_q     <= d_d;
      done_o  <= done_d;
    end
  end

  assign busy_o = (state_q != Idle);

endmodule
