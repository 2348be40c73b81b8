// mtx_attention - "Attention" of docs/engine.md for nq query rows and every
// head: scores, softmax (mtx_softmax_row), p.v and the att requant (q8), one
// (head, query) at a time. q, k and v are int8 in three beat RAMs owned by
// the caller (16 bytes a beat), laid out head-major so one head's row is hsw
// = hs / 16 consecutive beats:
//   q beat (h, t, d) = (qbase + h * qstride + t) * hsw + d
//   k, v beat (h, j, d) = (kbase + h * kstride + j) * hsw + d   (kstride >= nk)
// The output att[t][h * hs + ...] leaves as a byte stream in row-major order
// of beats, out beat (t, h, d) = (obase + t) * cw + h * hsw + d, 16 bytes a
// beat. (One word of a batch: its rows in q, k, v and out start at a base.)
// Per (head, query): nk * hsw score cycles (16 MACs each), the softmax row,
// then per output beat nk p.v cycles (16 MACs) and 16 requant issues.
`default_nettype none

module mtx_attention #(
  parameter int unsigned AW = 11  // beat address bits of q, k, v and out
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  // EXP2 table (the image's section), written before the first start
  input  logic               tbl_we_i,
  input  logic [7:0]         tbl_addr_i,
  input  logic [31:0]        tbl_data_i,
  input  logic               start_i,
  input  logic [6:0]         nq_i,       // query rows, >= 1
  input  logic [6:0]         nk_i,       // keys, 1 .. 64
  input  logic [6:0]         kstride_i,  // rows per head in the k / v RAMs
  input  logic [14:0]        kbase_i,    // first row in the k / v RAMs
  input  logic [6:0]         qbase_i,    // first query row in the q RAM
  input  logic [6:0]         qstride_i,  // q rows per head (>= qbase + nq)
  input  logic [6:0]         obase_i,    // first output row
  input  logic [3:0]         heads_i,    // H
  input  logic [3:0]         hsw_i,      // hs / 16
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
  // att bytes, 16 consecutive bytes per beat
  output logic               out_valid_o,
  output logic [7:0]         out_byte_o,
  output logic [AW-1:0]      out_beat_o,
  output logic               busy_o,
  output logic               done_o
);

  typedef enum logic [2:0] {Idle, SmStart, Score, PWait, Pv, Rq, Drain} state_e;

  state_e state_q, state_d;
  logic [6:0]  nq_q, nq_d, nk_q, nk_d, ks_q, ks_d;
  logic [14:0] kb_q, kb_d;
  logic [6:0]  qb_q, qb_d, qs_q, qs_d, ob_q, ob_d;
  logic [3:0]  hh_q, hh_d, hsw_q, hsw_d;
  logic [5:0]  cw_q, cw_d;
  logic signed [31:0] msm_q, msm_d, matt_q, matt_d;
  logic [5:0]  ssm_q, ssm_d, satt_q, satt_d;
  logic [3:0]  h_q, h_d;          // head
  logic [6:0]  t_q, t_d;          // query
  logic [6:0]  j_q, j_d;          // key
  logic [3:0]  d_q, d_d;          // beat within the head
  logic [6:0]  pc_q, pc_d;        // probabilities received
  logic [4:0]  rc_q, rc_d;        // requant issue / drain count
  logic        done_d;
  logic [511:0] p_q;              // p[j] at [j*8 +: 8]
  logic [511:0] acc_q;            // p.v accumulators, 16 x int32
  logic signed [31:0] sacc_q;     // score accumulator

  // read pipeline: data of the reads issued last cycle
  logic        rv_q, rlast_q, rpv_q;
  logic [5:0]  rj_q;

  logic        sc_valid, sm_ready_unused, sm_busy_unused, sm_done_unused;
  logic signed [31:0] sc;
  logic signed [31:0] dot;
  logic        p_valid;
  logic [7:0]  p_val;

  // requant of the p.v sums (record att, q8)
  logic               rq_v;
  logic signed [31:0] rq_acc;
  logic               rq_vo;
  logic signed [63:0] rq_y;
  logic [3:0]         rc_m1;
  logic               unused_y;
  logic [AW-1:0]      beat_cur, beat1_q, beat2_q;

  always_comb begin
    dot = '0;
    for (int i = 0; i < 16; i++) begin
      dot = dot + 32'($signed(q_rdata_i[i*8 +: 8])) * 32'($signed(k_rdata_i[i*8 +: 8]));
    end
  end

  assign sc_valid = rv_q && rlast_q;
  assign sc       = sacc_q + dot;

  mtx_softmax_row #(.MAXN(64)) u_softmax (
    .clk_i,
    .rst_ni,
    .tbl_we_i,
    .tbl_addr_i,
    .tbl_data_i,
    .start_i   (state_q == SmStart),
    .n_i       (nk_q),
    .m_i       (msm_q),
    .s_i       (ssm_q),
    .sc_valid_i(sc_valid),
    .sc_ready_o(sm_ready_unused),
    .sc_i      (sc),
    .p_valid_o (p_valid),
    .p_ready_i (1'b1),
    .p_o       (p_val),
    .busy_o    (sm_busy_unused),
    .done_o    (sm_done_unused)
  );

  assign rq_v   = (state_q == Rq) && (rc_q != 5'd0);
  assign rc_m1  = rc_q[3:0] - 4'd1;
  assign rq_acc = acc_q[32'(rc_m1)*32 +: 32];

  mtx_requant u_requant (
    .clk_i,
    .rst_ni,
    .valid_i(rq_v),
    .acc_i  (rq_acc),
    .m_i    (matt_q),
    .s_i    (satt_q),
    .mode_i (2'd1),
    .x_i    (32'sd0),
    .valid_o(rq_vo),
    .y_o    (rq_y)
  );

  assign out_valid_o = rq_vo;
  assign out_byte_o  = rq_y[7:0];
  assign unused_y    = ^rq_y[63:8];  // q8: the value fits the low byte
  assign out_beat_o  = beat2_q;

  // Read addresses of the current (h, t, j, d).
  logic [AW-1:0] qrow, kvrow;
  always_comb begin
    qrow  = AW'(32'(qb_q) + 32'(h_q) * 32'(qs_q) + 32'(t_q));
    kvrow = AW'(32'(kb_q) + 32'(h_q) * 32'(ks_q) + 32'(j_q));
    q_addr_o  = AW'(32'(qrow) * 32'(hsw_q) + 32'(d_q));
    kv_addr_o = AW'(32'(kvrow) * 32'(hsw_q) + 32'(d_q));
  end
  assign re_o     = (state_q == Score) || (state_q == Pv);
  assign beat_cur = AW'((32'(ob_q) + 32'(t_q)) * 32'(cw_q) + 32'(h_q) * 32'(hsw_q) + 32'(d_q));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rv_q    <= 1'b0;
      rlast_q <= 1'b0;
      rpv_q   <= 1'b0;
      rj_q    <= '0;
      sacc_q  <= '0;
      acc_q   <= '0;
      p_q     <= '0;
      beat1_q <= '0;
      beat2_q <= '0;
    end else begin
      rv_q    <= (state_q == Score);
      rpv_q   <= (state_q == Pv);
      rlast_q <= (state_q == Score) ? (d_q == hsw_q - 4'd1) : (j_q == nk_q - 7'd1);
      rj_q    <= j_q[5:0];
      beat1_q <= beat_cur;
      beat2_q <= beat1_q;
      if (rv_q) begin
        sacc_q <= rlast_q ? 32'sd0 : sc;
      end
      if (p_valid) begin
        p_q[32'(pc_q[5:0])*8 +: 8] <= p_val;
      end
      if (state_q == Rq && rc_q == 5'd16) begin
        acc_q <= '0;
      end else if (rpv_q) begin
        for (int i = 0; i < 16; i++) begin
          acc_q[i*32 +: 32] <= acc_q[i*32 +: 32] +
              32'($signed({1'b0, p_q[32'(rj_q)*8 +: 8]})) * 32'($signed(v_rdata_i[i*8 +: 8]));
        end
      end
    end
  end

  always_comb begin
    state_d = state_q;
    nq_d    = nq_q;
    nk_d    = nk_q;
    ks_d    = ks_q;
    kb_d    = kb_q;
    qb_d    = qb_q;
    qs_d    = qs_q;
    ob_d    = ob_q;
    hh_d    = hh_q;
    hsw_d   = hsw_q;
    cw_d    = cw_q;
    msm_d   = msm_q;
    ssm_d   = ssm_q;
    matt_d  = matt_q;
    satt_d  = satt_q;
    h_d     = h_q;
    t_d     = t_q;
    j_d     = j_q;
    d_d     = d_q;
    pc_d    = pc_q;
    rc_d    = rc_q;
    done_d  = 1'b0;
    if (p_valid) begin
      pc_d = pc_q + 7'd1;
    end
    case (state_q)
      Idle: begin
        if (start_i) begin
          nq_d    = nq_i;
          nk_d    = nk_i;
          ks_d    = kstride_i;
          kb_d    = kbase_i;
          qb_d    = qbase_i;
          qs_d    = qstride_i;
          ob_d    = obase_i;
          hh_d    = heads_i;
          hsw_d   = hsw_i;
          cw_d    = cw_i;
          msm_d   = m_sm_i;
          ssm_d   = s_sm_i;
          matt_d  = m_att_i;
          satt_d  = s_att_i;
          h_d     = '0;
          t_d     = '0;
          state_d = SmStart;
        end
      end
      SmStart: begin
        j_d     = '0;
        d_d     = '0;
        pc_d    = '0;
        state_d = Score;
      end
      Score: begin
        d_d = d_q + 4'd1;
        if (d_q == hsw_q - 4'd1) begin
          d_d = '0;
          j_d = j_q + 7'd1;
          if (j_q == nk_q - 7'd1) begin
            j_d     = '0;
            state_d = PWait;
          end
        end
      end
      PWait: begin
        if (pc_q == nk_q) begin
          state_d = Pv;
        end
      end
      Pv: begin
        j_d = j_q + 7'd1;
        if (j_q == nk_q - 7'd1) begin
          j_d     = '0;
          rc_d    = '0;
          state_d = Rq;
        end
      end
      Rq: begin
        // the last p.v product is added in the first Rq cycle: issue from
        // the second on (rc 1 .. 16 reads accumulator rc - 1)
        rc_d = rc_q + 5'd1;
        if (rc_q == 5'd16) begin
          rc_d = '0;
          d_d  = d_q + 4'd1;
          if (d_q == hsw_q - 4'd1) begin
            d_d = '0;
            t_d = t_q + 7'd1;
            if (t_q == nq_q - 7'd1) begin
              t_d = '0;
              h_d = h_q + 4'd1;
              if (h_q == hh_q - 4'd1) begin
                state_d = Drain;
              end else begin
                state_d = SmStart;
              end
            end else begin
              state_d = SmStart;
            end
          end else begin
            state_d = Pv;
          end
        end
      end
      Drain: begin
        rc_d = rc_q + 5'd1;
        if (rc_q == 5'd3) begin
          rc_d    = '0;
          done_d  = 1'b1;
          state_d = Idle;
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= Idle;
      nq_q    <= '0;
      nk_q    <= '0;
      ks_q    <= '0;
      kb_q    <= '0;
      qb_q    <= '0;
      qs_q    <= '0;
      ob_q    <= '0;
      hh_q    <= '0;
      hsw_q   <= '0;
      cw_q    <= '0;
      msm_q   <= '0;
      ssm_q   <= '0;
      matt_q  <= '0;
      satt_q  <= '0;
      h_q     <= '0;
      t_q     <= '0;
      j_q     <= '0;
      d_q     <= '0;
      pc_q    <= '0;
      rc_q    <= '0;
      done_o  <= 1'b0;
    end else begin
      state_q <= state_d;
      nq_q    <= nq_d;
      nk_q    <= nk_d;
      ks_q    <= ks_d;
      kb_q    <= kb_d;
      qb_q    <= qb_d;
      qs_q    <= qs_d;
      ob_q    <= ob_d;
      hh_q    <= hh_d;
      hsw_q   <= hsw_d;
      cw_q    <= cw_d;
      msm_q   <= msm_d;
      ssm_q   <= ssm_d;
      matt_q  <= matt_d;
      satt_q  <= satt_d;
      h_q     <= h_d;
      t_q     <= t_d;
      j_q     <= j_d;
      d_q     <= d_d;
      pc_q    <= pc_d;
      rc_q    <= rc_d;
      done_o  <= done_d;
    end
  end

  assign busy_o = (state_q != Idle);

endmodule
