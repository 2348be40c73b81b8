// mtx_linear - one linear layer through the PE array: out[t][o] = sum_i
// act[t][i] * W[o][i] for t < n, o < nout, i < k (int8 in, int32 out).
// act (n, k) and W (nout, k) are int8 row-major in memory and stream in over
// a read-only valid/ready port of 16-byte beats (responses in order, always
// accepted). Tiles: ROWS positions x COLS output channels, row tile by row
// tile, column tiles in order within each. Three machines share the work:
// - the loader issues the loads in tile order: a row tile's activations
//   (nr * k / 16 beats; consecutive rows are contiguous) into one of two
//   activation buffers (alternating per row tile) once the row tile that
//   last used it has been fed, then each column tile's weights (nc * k / 16
//   beats) into the next of NS weight slots (NS = 2 * KMAX / 16 / 2^ceil(
//   log2(k / 16)), a ring) once the tile that last used the slot has been
//   fed. When every column tile fits (ceil(nout / COLS) <= NS) the weights
//   stay resident: they load once, for the first row tile, and later row
//   tiles load only their activations. A weight load's requests follow the
//   previous weight load's without a gap (its responses still arriving);
//   an activation load, and the load after it, wait until every response
//   is in;
// - the feeder waits for its tile's activations and weights and feeds k
//   cycles, the last one marked; the next tile's feed follows at once when
//   its operands are loaded. A tile's last element waits while the
//   previous tile's drain is unfinished (short k or back-pressure);
// - the drain, ROWS + COLS cycles after a tile's last feed (its results
//   then in the array's result registers), gives nr output rows (COLS
//   int32, with position and first channel), one per handshake, while the
//   next tile computes.
// Lanes past the tile edge are fed zeros and drained rows stop at nr.
// Limits, checked at start (err_o with done_o, no memory access): 1 <= n <=
// NMAX, 16 <= k <= KMAX with k a multiple of 16, 1 <= nout <= OMAX, both
// addresses 16-byte aligned.
`default_nettype none

module mtx_linear #(
  parameter int unsigned ROWS = 16,    // MTX_PE_ROWS
  parameter int unsigned COLS = 16,    // MTX_PE_COLS
  parameter int unsigned KMAX = 2048,  // MTX_MAX_D_FF
  parameter int unsigned NMAX = 64,    // MTX_MAX_POS
  parameter int unsigned OMAX = 2048   // MTX_MAX_D_FF
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                start_i,
  input  logic [63:0]         act_addr_i,
  input  logic [63:0]         w_addr_i,
  input  logic [6:0]          n_i,
  input  logic [11:0]         k_i,
  input  logic [11:0]         o_i,
  output logic                busy_o,
  output logic                done_o,
  output logic                err_o,
  output logic [8:0]          pe_busy_o,   // PEs doing a useful MAC this cycle
  // memory read port
  output logic                mem_req_valid_o,
  input  logic                mem_req_ready_i,
  output logic [63:0]         mem_req_addr_o,
  input  logic                mem_rsp_valid_i,
  input  logic [127:0]        mem_rsp_data_i,
  // result rows
  output logic                out_valid_o,
  input  logic                out_ready_i,
  output logic [COLS*32-1:0]  out_row_o,
  output logic [6:0]          out_t_o,
  output logic [11:0]         out_o0_o,
  output logic [5:0]          out_nc_o
);

  localparam int unsigned KW = KMAX / 16;           // beats per row at most
  localparam int unsigned WA = $clog2(KW);
  localparam int unsigned RB = $clog2(ROWS) + 1;
  localparam int unsigned CB = $clog2(COLS) + 1;
  localparam int unsigned SETTLE = ROWS + COLS;
  localparam int unsigned SW = $clog2(WA + 2);       // slot-size shift width
  localparam int unsigned CL = $clog2(COLS);         // COLS a power of two

  // Set-up (latched at start).
  logic [63:0] w_q, w_d;                         // weight base
  logic [6:0]  n_q, n_d;
  logic [11:0] k_q, k_d, o_q, o_d;
  logic [SW-1:0] sl_q, sl_d;                     // log2 of a weight slot's depth
  logic [15:0] ns_q, ns_d;                       // weight slots
  logic        wres_q, wres_d;                   // every column tile fits: resident

  // Feeder.
  typedef enum logic [1:0] {Idle, Wait, Feed, Fin} state_e;

  state_e state_q, state_d;
  logic [6:0]  r0_q, r0_d;                       // row tile base
  logic [11:0] o0_q, o0_d;                       // column tile base
  logic        cab_q, cab_d;                     // activation buffer being fed
  logic [15:0] wi_q, wi_d;                       // weight load index of the tile
  logic [11:0] fk_q, fk_d;                       // feed index
  logic        done_d, err_d;

  // Drain.
  typedef enum logic [1:0] {DIdle, DSettle, DDrain} dstate_e;

  dstate_e     dst_q, dst_d;
  logic [6:0]  dr0_q, dr0_d;
  logic [11:0] do0_q, do0_d;
  logic [RB-1:0] dnr_q, dnr_d;
  logic [CB-1:0] dnc_q, dnc_d;
  logic [5:0]  dcnt_q, dcnt_d;

  // Loader, request side: the walker over the loads in tile order.
  logic        lfin_q, lfin_d;                   // every load started
  logic        lisa_q, lisa_d;                   // next load: activations
  logic        lab_q, lab_d;                     // activation buffer of the next act load
  logic [6:0]  lr0_q, lr0_d;
  logic [11:0] lo0_q, lo0_d;
  logic [15:0] lwn_q, lwn_d;                     // weight loads started
  logic [63:0] aptr_q, aptr_d, wptr_q, wptr_d;   // next tile addresses
  logic [63:0] req_addr_q, req_addr_d;
  logic [17:0] req_left_q, req_left_d;

  // Loader, response side: a queue of the loads whose responses are due.
  logic [1:0]  qn_q, qn_d;                       // entries
  logic [1:0]  qisa_q, qisa_d;
  logic [1:0]  qab_q, qab_d;
  logic [31:0] qwi_q, qwi_d;
  logic [11:0] qnb_q, qnb_d;                     // rows (banks) of the load
  logic [5:0]  rs_bank_q, rs_bank_d;
  logic [WA-1:0] rs_w_q, rs_w_d;

  // Buffer state.
  logic [1:0]  a_busy_q, a_busy_d;               // activation buffer loading or loaded
  logic [1:0]  a_full_q, a_full_d;               // activation buffer loaded
  logic [15:0] wl_done_q, wl_done_d;             // weight loads complete
  logic [15:0] wf_done_q, wf_done_d;             // weight tiles fed (streaming)

  // Feed pipeline (the cycle after a read).
  logic        feed_v_q, last_v_q;
  logic [3:0]  bsel_q;
  logic [RB-1:0] fnr_q;
  logic [CB-1:0] fnc_q;
  logic [8:0]  pbusy_q;

  logic [RB-1:0] nr, lnr;
  logic [CB-1:0] nc, lnc;
  logic [6:0]  n_left, ln_left;
  logic [11:0] o_left, lo_left;
  logic [WA-1:0] kw_m1;
  logic [11:0] kw, kw_i;
  logic [17:0] beats_a, beats_w;
  logic        cfg_bad;
  logic [SW-1:0] sl_i;
  logic [11:0] nct_i;

  always_comb begin
    n_left  = n_q - r0_q;
    o_left  = o_q - o0_q;
    ln_left = n_q - lr0_q;
    lo_left = o_q - lo0_q;
    nr  = (n_left >= 7'(ROWS)) ? RB'(ROWS) : RB'(n_left);
    nc  = (o_left >= 12'(COLS)) ? CB'(COLS) : CB'(o_left);
    lnr = (ln_left >= 7'(ROWS)) ? RB'(ROWS) : RB'(ln_left);
    lnc = (lo_left >= 12'(COLS)) ? CB'(COLS) : CB'(lo_left);
    kw_m1 = WA'((k_q >> 4) - 12'd1);
    kw = k_q >> 4;
    beats_a = 18'(lnr) * 18'(kw);
    beats_w = 18'(lnc) * 18'(kw);
    cfg_bad = (n_i == 7'd0) || (32'(n_i) > NMAX) || (k_i < 12'd16) || (32'(k_i) > KMAX) ||
              (k_i[3:0] != 4'd0) || (o_i == 12'd0) || (32'(o_i) > OMAX) ||
              (act_addr_i[3:0] != 4'd0) || (w_addr_i[3:0] != 4'd0);
    // slot depth 2^sl >= k / 16; column tiles
    kw_i = k_i >> 4;
    sl_i = '0;
    for (int i = 0; i <= WA; i++) begin
      if (32'(kw_i) > (32'd1 << i)) begin
        sl_i = SW'(i + 1);
      end
    end
    nct_i = (o_i + 12'(COLS - 1)) >> CL;
  end

  // Operand banks: one per array row (activations, two buffers) and column
  // (weights, NS slots); the buffer (slot) is the top of the address.
  logic [ROWS*128-1:0] a_rd;
  logic [COLS*128-1:0] b_rd;
  logic                rd_en;
  logic [ROWS*8-1:0]   a_feed;
  logic [COLS*8-1:0]   b_feed;
  logic                ld_rsp, rs_last;
  logic [WA:0]         w_raddr, w_waddr;
  logic                feed_last, hold;
  logic                dr_last;

  assign ld_rsp  = mem_rsp_valid_i && (qn_q != 2'd0);
  assign rs_last = ld_rsp && (rs_w_q == kw_m1) && (rs_bank_q + 6'd1 == qnb_q[0 +: 6]);
  assign w_raddr = (WA+1)'((32'(wi_q) << sl_q) | 32'(fk_q[11:4]));
  assign w_waddr = (WA+1)'((32'(qwi_q[0 +: 16]) << sl_q) | 32'(rs_w_q));

  // The drain's last handshake.
  assign dr_last   = (dst_q == DDrain) && out_ready_i && (6'(dcnt_q) + 6'd1 == 6'(dnr_q));
  // A tile's last element waits for the previous tile's drain.
  assign hold      = (fk_q + 12'd1 == k_q) && (dst_q != DIdle) && !dr_last;
  assign rd_en     = (state_q == Feed) && !hold;
  assign feed_last = rd_en && (fk_q + 12'd1 == k_q);

  for (genvar r = 0; r < ROWS; r++) begin : g_abank
    mtx_ram #(.DEPTH(2 * KW), .WIDTH(128)) u_ram (
      .clk_i,
      .we_i   (ld_rsp && qisa_q[0] && rs_bank_q == 6'(r)),
      .waddr_i({qab_q[0], rs_w_q}),
      .wdata_i(mem_rsp_data_i),
      .re_i   (rd_en),
      .raddr_i({cab_q, fk_q[WA+3:4]}),
      .rdata_o(a_rd[r*128 +: 128])
    );
    assign a_feed[r*8 +: 8] = (RB'(r) < fnr_q) ? a_rd[r*128 + 32'(bsel_q)*8 +: 8] : 8'd0;
  end

  for (genvar c = 0; c < COLS; c++) begin : g_wbank
    mtx_ram #(.DEPTH(2 * KW), .WIDTH(128)) u_ram (
      .clk_i,
      .we_i   (ld_rsp && !qisa_q[0] && rs_bank_q == 6'(c)),
      .waddr_i(w_waddr),
      .wdata_i(mem_rsp_data_i),
      .re_i   (rd_en),
      .raddr_i(w_raddr),
      .rdata_o(b_rd[c*128 +: 128])
    );
    assign b_feed[c*8 +: 8] = (CB'(c) < fnc_q) ? b_rd[c*128 + 32'(bsel_q)*8 +: 8] : 8'd0;
  end

  logic drain;
  logic clear;

  assign clear = (state_q == Idle) && start_i;
  assign drain = (dst_q == DDrain) && out_ready_i;

  mtx_pe_array #(.ROWS(ROWS), .COLS(COLS)) u_array (
    .clk_i,
    .rst_ni,
    .clear_i(clear),
    .drain_i(drain),
    .valid_i(feed_v_q),
    .last_i (last_v_q),
    .a_i    (a_feed),
    .b_i    (b_feed),
    .row_o  (out_row_o)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      feed_v_q <= 1'b0;
      last_v_q <= 1'b0;
      bsel_q   <= '0;
      fnr_q    <= '0;
      fnc_q    <= '0;
      pbusy_q  <= '0;
    end else begin
      feed_v_q <= rd_en;
      last_v_q <= feed_last;
      bsel_q   <= fk_q[3:0];
      fnr_q    <= nr;
      fnc_q    <= nc;
      pbusy_q  <= rd_en ? 9'(nr) * 9'(nc) : 9'd0;
    end
  end

  assign mem_req_valid_o = (req_left_q != 18'd0);
  assign mem_req_addr_o  = req_addr_q;
  assign out_valid_o     = (dst_q == DDrain);
  assign out_t_o         = dr0_q + 7'(dcnt_q);
  assign out_o0_o        = do0_q;
  assign out_nc_o        = 6'(dnc_q);
  assign pe_busy_o       = pbusy_q;
  assign busy_o          = (state_q != Idle);

  // Loader: loads in tile order, each into a free buffer (slot).
  logic        req_take, ld_go, ld_room, last_col;
  logic [15:0] w_used;

  assign req_take = mem_req_valid_o && mem_req_ready_i;
  assign w_used   = lwn_q - wf_done_q;
  // a new load may set up once the current one has issued its last request
  assign ld_room  = (req_left_q == 18'd0) || (req_left_q == 18'd1 && req_take);
  assign last_col = (o0_q + 12'(COLS) >= o_q);

  always_comb begin
    ld_go = 1'b0;
    if (state_q != Idle && state_q != Fin && !lfin_q && ld_room) begin
      if (lisa_q) begin
        ld_go = (qn_q == 2'd0) && !a_busy_q[lab_q];
      end else begin
        ld_go = (qn_q == 2'd0 || (qn_q == 2'd1 && !qisa_q[0])) && (wres_q || w_used < ns_q);
      end
    end
  end

  always_comb begin
    lfin_d     = lfin_q;
    lisa_d     = lisa_q;
    lab_d      = lab_q;
    lr0_d      = lr0_q;
    lo0_d      = lo0_q;
    lwn_d      = lwn_q;
    aptr_d     = aptr_q;
    wptr_d     = wptr_q;
    req_addr_d = req_addr_q;
    req_left_d = req_left_q;
    qn_d       = qn_q;
    qisa_d     = qisa_q;
    qab_d      = qab_q;
    qwi_d      = qwi_q;
    qnb_d      = qnb_q;
    rs_bank_d  = rs_bank_q;
    rs_w_d     = rs_w_q;
    a_busy_d   = a_busy_q;
    a_full_d   = a_full_q;
    wl_done_d  = wl_done_q;
    wf_done_d  = wf_done_q;

    if (req_take) begin
      req_addr_d = req_addr_q + 64'd16;
      req_left_d = req_left_q - 18'd1;
    end

    // Responses: into the head load's buffer, bank after bank.
    if (ld_rsp) begin
      if (rs_w_q == kw_m1) begin
        rs_w_d    = '0;
        rs_bank_d = rs_bank_q + 6'd1;
      end else begin
        rs_w_d = rs_w_q + WA'(1);
      end
    end
    if (rs_last) begin
      rs_bank_d = '0;
      if (qisa_q[0]) begin
        a_full_d[qab_q[0]] = 1'b1;
      end else begin
        wl_done_d = wl_done_q + 16'd1;
      end
      qn_d   = qn_q - 2'd1;
      qisa_d = {1'b0, qisa_q[1]};
      qab_d  = {1'b0, qab_q[1]};
      qwi_d  = {16'd0, qwi_q[31:16]};
      qnb_d  = {6'd0, qnb_q[11:6]};
    end

    // Set up the next load: queue it, step the walker.
    if (ld_go) begin
      req_addr_d = lisa_q ? aptr_q : wptr_q;
      req_left_d = lisa_q ? beats_a : beats_w;
      if (qn_d == 2'd0) begin
        qisa_d[0]       = lisa_q;
        qab_d[0]        = lab_q;
        qwi_d[0 +: 16]  = lwn_q;
        qnb_d[0 +: 6]   = lisa_q ? 6'(lnr) : 6'(lnc);
      end else begin
        qisa_d[1]       = lisa_q;
        qab_d[1]        = lab_q;
        qwi_d[16 +: 16] = lwn_q;
        qnb_d[6 +: 6]   = lisa_q ? 6'(lnr) : 6'(lnc);
      end
      qn_d = qn_d + 2'd1;
      if (lisa_q) begin
        a_busy_d[lab_q] = 1'b1;
        lab_d  = !lab_q;
        aptr_d = aptr_q + 64'(beats_a) * 64'd16;
        wptr_d = w_q;
        if (wres_q && lr0_q != 7'd0) begin
          // resident weights: the next load is the next row tile's
          if (lr0_q + 7'(ROWS) < n_q) begin
            lr0_d = lr0_q + 7'(ROWS);
          end else begin
            lfin_d = 1'b1;
          end
        end else begin
          lisa_d = 1'b0;
          lo0_d  = '0;
        end
      end else begin
        lwn_d  = lwn_q + 16'd1;
        wptr_d = wptr_q + 64'(beats_w) * 64'd16;
        if (lo0_q + 12'(COLS) < o_q) begin
          lo0_d = lo0_q + 12'(COLS);
        end else if (lr0_q + 7'(ROWS) < n_q) begin
          lr0_d  = lr0_q + 7'(ROWS);
          lisa_d = 1'b1;
        end else begin
          lfin_d = 1'b1;
        end
      end
    end

    // The feeder frees what it has fed.
    if (feed_last) begin
      if (!wres_q) begin
        wf_done_d = wf_done_q + 16'd1;
      end
      if (last_col) begin
        a_busy_d[cab_q] = 1'b0;
        a_full_d[cab_q] = 1'b0;
      end
    end

    if (state_q == Idle && start_i && !cfg_bad) begin
      lfin_d     = 1'b0;
      lisa_d     = 1'b1;
      lab_d      = 1'b0;
      lr0_d      = '0;
      lo0_d      = '0;
      lwn_d      = '0;
      aptr_d     = act_addr_i;
      req_left_d = '0;
      qn_d       = '0;
      rs_bank_d  = '0;
      rs_w_d     = '0;
      a_busy_d   = '0;
      a_full_d   = '0;
      wl_done_d  = '0;
      wf_done_d  = '0;
    end
  end

  // Feeder: wait for the tile's operands, feed; the next tile at once.
  logic [6:0]  nx_r0;
  logic [11:0] nx_o0;
  logic        nx_cab, nx_ready, nx_end;
  logic [15:0] nx_wi;

  always_comb begin
    nx_r0  = r0_q;
    nx_o0  = o0_q + 12'(COLS);
    nx_cab = cab_q;
    nx_wi  = wi_q + 16'd1;
    nx_end = 1'b0;
    if (last_col) begin
      nx_r0  = r0_q + 7'(ROWS);
      nx_o0  = '0;
      nx_cab = !cab_q;
      nx_end = (r0_q + 7'(ROWS) >= n_q);
      if (wres_q) begin
        nx_wi = '0;
      end
    end
    nx_ready = a_full_q[nx_cab] && (wl_done_q > nx_wi);
  end

  always_comb begin
    state_d = state_q;
    w_d     = w_q;
    n_d     = n_q;
    k_d     = k_q;
    o_d     = o_q;
    sl_d    = sl_q;
    ns_d    = ns_q;
    wres_d  = wres_q;
    r0_d    = r0_q;
    o0_d    = o0_q;
    cab_d   = cab_q;
    wi_d    = wi_q;
    fk_d    = fk_q;
    done_d  = 1'b0;
    err_d   = err_o;

    case (state_q)
      Idle: begin
        if (start_i) begin
          err_d = cfg_bad;
          if (cfg_bad) begin
            done_d = 1'b1;
          end else begin
            w_d     = w_addr_i;
            n_d     = n_i;
            k_d     = k_i;
            o_d     = o_i;
            sl_d    = sl_i;
            ns_d    = 16'd1 << (SW'(WA + 1) - sl_i);
            wres_d  = (16'(nct_i) <= (16'd1 << (SW'(WA + 1) - sl_i)));
            r0_d    = '0;
            o0_d    = '0;
            cab_d   = 1'b0;
            wi_d    = '0;
            state_d = Wait;
          end
        end
      end
      Wait: begin
        if (a_full_q[cab_q] && wl_done_q > wi_q) begin
          fk_d    = '0;
          state_d = Feed;
        end
      end
      Feed: begin
        if (rd_en) begin
          fk_d = fk_q + 12'd1;
        end
        if (feed_last) begin
          fk_d  = '0;
          r0_d  = nx_r0;
          o0_d  = nx_o0;
          cab_d = nx_cab;
          wi_d  = nx_wi;
          if (nx_end) begin
            state_d = Fin;
          end else if (!nx_ready) begin
            state_d = Wait;
          end
        end
      end
      Fin: begin
        if (dr_last) begin
          done_d  = 1'b1;
          state_d = Idle;
        end
      end
      default: state_d = Idle;
    endcase
  end

  // Drain: settle after a tile's last feed, then nr rows.
  always_comb begin
    dst_d  = dst_q;
    dr0_d  = dr0_q;
    do0_d  = do0_q;
    dnr_d  = dnr_q;
    dnc_d  = dnc_q;
    dcnt_d = dcnt_q;
    case (dst_q)
      DIdle: begin
      end
      DSettle: begin
        dcnt_d = dcnt_q + 6'd1;
        if (dcnt_q + 6'd1 == 6'(SETTLE)) begin
          dcnt_d = '0;
          dst_d  = DDrain;
        end
      end
      DDrain: begin
        if (out_ready_i) begin
          dcnt_d = dcnt_q + 6'd1;
          if (dr_last) begin
            dcnt_d = '0;
            dst_d  = DIdle;
          end
        end
      end
      default: dst_d = DIdle;
    endcase
    if (feed_last) begin
      dst_d  = DSettle;
      dcnt_d = '0;
      dr0_d  = r0_q;
      do0_d  = o0_q;
      dnr_d  = nr;
      dnc_d  = nc;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      w_q        <= '0;
      n_q        <= '0;
      k_q        <= '0;
      o_q        <= '0;
      sl_q       <= '0;
      ns_q       <= '0;
      wres_q     <= 1'b0;
      r0_q       <= '0;
      o0_q       <= '0;
      cab_q      <= 1'b0;
      wi_q       <= '0;
      fk_q       <= '0;
      done_o     <= 1'b0;
      err_o      <= 1'b0;
      dst_q      <= DIdle;
      dr0_q      <= '0;
      do0_q      <= '0;
      dnr_q      <= '0;
      dnc_q      <= '0;
      dcnt_q     <= '0;
      lfin_q     <= 1'b0;
      lisa_q     <= 1'b0;
      lab_q      <= 1'b0;
      lr0_q      <= '0;
      lo0_q      <= '0;
      lwn_q      <= '0;
      aptr_q     <= '0;
      wptr_q     <= '0;
      req_addr_q <= '0;
      req_left_q <= '0;
      qn_q       <= '0;
      qisa_q     <= '0;
      qab_q      <= '0;
      qwi_q      <= '0;
      qnb_q      <= '0;
      rs_bank_q  <= '0;
      rs_w_q     <= '0;
      a_busy_q   <= '0;
      a_full_q   <= '0;
      wl_done_q  <= '0;
      wf_done_q  <= '0;
    end else begin
      state_q    <= state_d;
      w_q        <= w_d;
      n_q        <= n_d;
      k_q        <= k_d;
      o_q        <= o_d;
      sl_q       <= sl_d;
      ns_q       <= ns_d;
      wres_q     <= wres_d;
      r0_q       <= r0_d;
      o0_q       <= o0_d;
      cab_q      <= cab_d;
      wi_q       <= wi_d;
      fk_q       <= fk_d;
      done_o     <= done_d;
      err_o      <= err_d;
      dst_q      <= dst_d;
      dr0_q      <= dr0_d;
      do0_q      <= do0_d;
      dnr_q      <= dnr_d;
      dnc_q      <= dnc_d;
      dcnt_q     <= dcnt_d;
      lfin_q     <= lfin_d;
      lisa_q     <= lisa_d;
      lab_q      <= lab_d;
      lr0_q      <= lr0_d;
      lo0_q      <= lo0_d;
      lwn_q      <= lwn_d;
      aptr_q     <= aptr_d;
      wptr_q     <= wptr_d;
      req_addr_q <= req_addr_d;
      req_left_q <= req_left_d;
      qn_q       <= qn_d;
      qisa_q     <= qisa_d;
      qab_q      <= qab_d;
      qwi_q      <= qwi_d;
      qnb_q      <= qnb_d;
      rs_bank_q  <= rs_bank_d;
      rs_w_q     <= rs_w_d;
      a_busy_q   <= a_busy_d;
      a_full_q   <= a_full_d;
      wl_done_q  <= wl_done_d;
      wf_done_q  <= wf_done_d;
    end
  end

endmodule
