// mtx_linear - one linear layer through the PE array: out[t][o] = sum_i
// act[t][i] * W[o][i] for t < n, o < nout, i < k (int8 in, int32 out).
// act (n, k) and W (nout, k) are int8 row-major in memory and stream in over
// a read-only valid/ready port of 16-byte beats (responses in order, always
// accepted). Tiles: ROWS positions x COLS output channels, row tile by row
// tile, column tiles in order within each. Two machines share the work:
// - the loader issues the loads in tile order: a row tile's activations
//   (nr * k / 16 beats; consecutive rows are contiguous) once the previous
//   row tile has been fed, then each column tile's weights (nc * k / 16
//   beats) into one of two weight buffers (double buffering, alternating)
//   once the tile that last used that buffer has been fed;
// - the compute side waits for its tile's activations and weights, feeds
//   k cycles (then frees the weight buffer, and the activations after a row
//   tile's last column tile), settles ROWS + COLS cycles and drains nr
//   cycles, one output row (COLS int32, with its position and first
//   channel) per handshake.
// So the next tile's weights load while the current tile computes.
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

  // Compute side.
  typedef enum logic [2:0] {Idle, Wait, Feed, Settle, Drain} state_e;

  state_e state_q, state_d;
  logic [6:0]  n_q, n_d;
  logic [11:0] k_q, k_d, o_q, o_d;
  logic [6:0]  r0_q, r0_d;                       // row tile base
  logic [11:0] o0_q, o0_d;                       // column tile base
  logic        cbuf_q, cbuf_d;                   // weight buffer being fed
  logic [11:0] fk_q, fk_d;                       // feed index
  logic [5:0]  cnt_q, cnt_d;                     // settle / drain count
  logic        done_d, err_d;
  logic        feed_v_q;
  logic [3:0]  bsel_q;

  // Loader.
  logic        ld_on_q, ld_on_d;                 // a load is under way
  logic        ld_fin_q, ld_fin_d;               // every load issued
  logic        ld_isa_q, ld_isa_d;               // next (current) load: activations
  logic        lbuf_q, lbuf_d;                   // weight buffer of the next (current) load
  logic [6:0]  lr0_q, lr0_d;
  logic [11:0] lo0_q, lo0_d;
  logic [63:0] w_q, w_d;                         // weight base
  logic [63:0] aptr_q, aptr_d, wptr_q, wptr_d;   // next tile addresses
  logic [63:0] req_addr_q, req_addr_d;
  logic [17:0] req_left_q, req_left_d, rsp_left_q, rsp_left_d;
  logic [5:0]  rs_bank_q, rs_bank_d;
  logic [WA-1:0] rs_w_q, rs_w_d;

  // Buffer state: loaded and not yet fed.
  logic        a_full_q, a_full_d;
  logic [1:0]  w_full_q, w_full_d;

  logic [RB-1:0] nr, lnr;
  logic [CB-1:0] nc, lnc;
  logic [6:0]  n_left, ln_left;
  logic [11:0] o_left, lo_left;
  logic [WA-1:0] kw_m1;
  logic [11:0] kw;
  logic [17:0] beats_a, beats_w;
  logic        cfg_bad;

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
  end

  // Operand banks: one per array row (activations) and column (weights);
  // a weight bank holds both buffers (the buffer is the top address bit).
  logic [ROWS*128-1:0] a_rd;
  logic [COLS*128-1:0] b_rd;
  logic                rd_en;
  logic [ROWS*8-1:0]   a_feed;
  logic [COLS*8-1:0]   b_feed;
  logic                ld_rsp;

  assign rd_en  = (state_q == Feed);
  assign ld_rsp = mem_rsp_valid_i && ld_on_q;

  for (genvar r = 0; r < ROWS; r++) begin : g_abank
    mtx_ram #(.DEPTH(KW), .WIDTH(128)) u_ram (
      .clk_i,
      .we_i   (ld_rsp && ld_isa_q && rs_bank_q == 6'(r)),
      .waddr_i(rs_w_q),
      .wdata_i(mem_rsp_data_i),
      .re_i   (rd_en),
      .raddr_i(fk_q[WA+3:4]),
      .rdata_o(a_rd[r*128 +: 128])
    );
    assign a_feed[r*8 +: 8] = (RB'(r) < nr) ? a_rd[r*128 + 32'(bsel_q)*8 +: 8] : 8'd0;
  end

  for (genvar c = 0; c < COLS; c++) begin : g_wbank
    mtx_ram #(.DEPTH(2 * KW), .WIDTH(128)) u_ram (
      .clk_i,
      .we_i   (ld_rsp && !ld_isa_q && rs_bank_q == 6'(c)),
      .waddr_i({lbuf_q, rs_w_q}),
      .wdata_i(mem_rsp_data_i),
      .re_i   (rd_en),
      .raddr_i({cbuf_q, fk_q[WA+3:4]}),
      .rdata_o(b_rd[c*128 +: 128])
    );
    assign b_feed[c*8 +: 8] = (CB'(c) < nc) ? b_rd[c*128 + 32'(bsel_q)*8 +: 8] : 8'd0;
  end

  logic drain;
  logic clear;

  assign clear = (state_q == Feed) && (fk_q == 12'd0);
  assign drain = (state_q == Drain) && out_ready_i;

  mtx_pe_array #(.ROWS(ROWS), .COLS(COLS)) u_array (
    .clk_i,
    .rst_ni,
    .clear_i(clear),
    .drain_i(drain),
    .valid_i(feed_v_q),
    .a_i    (a_feed),
    .b_i    (b_feed),
    .row_o  (out_row_o)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      feed_v_q <= 1'b0;
      bsel_q   <= '0;
    end else begin
      feed_v_q <= rd_en;
      bsel_q   <= fk_q[3:0];
    end
  end

  assign mem_req_valid_o = ld_on_q && (req_left_q != 18'd0);
  assign mem_req_addr_o  = req_addr_q;
  assign out_valid_o     = (state_q == Drain);
  assign out_t_o         = r0_q + 7'(cnt_q);
  assign out_o0_o        = o0_q;
  assign out_nc_o        = 6'(nc);
  assign pe_busy_o       = feed_v_q ? 9'(nr) * 9'(nc) : 9'd0;
  assign busy_o          = (state_q != Idle);

  // Loader: one load at a time, in tile order, each into a free buffer.
  always_comb begin
    ld_on_d    = ld_on_q;
    ld_fin_d   = ld_fin_q;
    ld_isa_d   = ld_isa_q;
    lbuf_d     = lbuf_q;
    lr0_d      = lr0_q;
    lo0_d      = lo0_q;
    aptr_d     = aptr_q;
    wptr_d     = wptr_q;
    req_addr_d = req_addr_q;
    req_left_d = req_left_q;
    rsp_left_d = rsp_left_q;
    rs_bank_d  = rs_bank_q;
    rs_w_d     = rs_w_q;
    a_full_d   = a_full_q;
    w_full_d   = w_full_q;

    if (mem_req_valid_o && mem_req_ready_i) begin
      req_addr_d = req_addr_q + 64'd16;
      req_left_d = req_left_q - 18'd1;
    end
    if (ld_rsp) begin
      rsp_left_d = rsp_left_q - 18'd1;
      if (rs_w_q == kw_m1) begin
        rs_w_d    = '0;
        rs_bank_d = rs_bank_q + 6'd1;
      end else begin
        rs_w_d = rs_w_q + WA'(1);
      end
    end

    if (state_q == Idle) begin
      // set up by a start (below)
    end else if (!ld_on_q) begin
      if (!ld_fin_q && (ld_isa_q ? !a_full_q : !w_full_q[lbuf_q])) begin
        // start this load: a linear sweep over lnr (lnc) rows of k bytes
        ld_on_d    = 1'b1;
        rs_bank_d  = '0;
        rs_w_d     = '0;
        req_addr_d = ld_isa_q ? aptr_q : wptr_q;
        req_left_d = ld_isa_q ? beats_a : beats_w;
        rsp_left_d = ld_isa_q ? beats_a : beats_w;
        if (ld_isa_q) begin
          aptr_d = aptr_q + 64'(beats_a) * 64'd16;
          wptr_d = w_q;
        end else begin
          wptr_d = wptr_q + 64'(beats_w) * 64'd16;
        end
      end
    end else if (rsp_left_q == 18'd0) begin
      // load complete: mark the buffer full, step to the next load
      ld_on_d = 1'b0;
      if (ld_isa_q) begin
        a_full_d = 1'b1;
        ld_isa_d = 1'b0;
      end else begin
        w_full_d[lbuf_q] = 1'b1;
        lbuf_d = !lbuf_q;
        if (lo0_q + 12'(COLS) < o_q) begin
          lo0_d = lo0_q + 12'(COLS);
        end else if (lr0_q + 7'(ROWS) < n_q) begin
          lr0_d    = lr0_q + 7'(ROWS);
          lo0_d    = '0;
          ld_isa_d = 1'b1;
        end else begin
          ld_fin_d = 1'b1;
        end
      end
    end

    // The compute side frees what it has fed.
    if (state_q == Feed && fk_q + 12'd1 == k_q) begin
      w_full_d[cbuf_q] = 1'b0;
      if (o0_q + 12'(COLS) >= o_q) begin
        a_full_d = 1'b0;
      end
    end

    if (state_q == Idle && start_i && !cfg_bad) begin
      ld_on_d  = 1'b0;
      ld_fin_d = 1'b0;
      ld_isa_d = 1'b1;
      lbuf_d   = 1'b0;
      lr0_d    = '0;
      lo0_d    = '0;
      aptr_d   = act_addr_i;
      req_left_d = '0;
      rsp_left_d = '0;
      a_full_d = 1'b0;
      w_full_d = '0;
    end
  end

  // Compute side: wait for the tile's operands, feed, settle, drain.
  always_comb begin
    state_d = state_q;
    w_d     = w_q;
    n_d     = n_q;
    k_d     = k_q;
    o_d     = o_q;
    r0_d    = r0_q;
    o0_d    = o0_q;
    cbuf_d  = cbuf_q;
    fk_d    = fk_q;
    cnt_d   = cnt_q;
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
            r0_d    = '0;
            o0_d    = '0;
            cbuf_d  = 1'b0;
            state_d = Wait;
          end
        end
      end
      Wait: begin
        if (a_full_q && w_full_q[cbuf_q]) begin
          fk_d    = '0;
          state_d = Feed;
        end
      end
      Feed: begin
        fk_d = fk_q + 12'd1;
        if (fk_q + 12'd1 == k_q) begin
          cnt_d   = '0;
          state_d = Settle;
        end
      end
      Settle: begin
        cnt_d = cnt_q + 6'd1;
        if (cnt_q + 6'd1 == 6'(SETTLE)) begin
          cnt_d   = '0;
          state_d = Drain;
        end
      end
      Drain: begin
        if (out_ready_i) begin
          cnt_d = cnt_q + 6'd1;
          if (cnt_q + 6'd1 == 6'(nr)) begin
            cnt_d  = '0;
            cbuf_d = !cbuf_q;
            if (o0_q + 12'(COLS) < o_q) begin
              o0_d    = o0_q + 12'(COLS);
              state_d = Wait;
            end else if (r0_q + 7'(ROWS) < n_q) begin
              r0_d    = r0_q + 7'(ROWS);
              o0_d    = '0;
              state_d = Wait;
            end else begin
              done_d  = 1'b1;
              state_d = Idle;
            end
          end
        end
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      w_q        <= '0;
      n_q        <= '0;
      k_q        <= '0;
      o_q        <= '0;
      r0_q       <= '0;
      o0_q       <= '0;
      cbuf_q     <= 1'b0;
      fk_q       <= '0;
      cnt_q      <= '0;
      done_o     <= 1'b0;
      err_o      <= 1'b0;
      ld_on_q    <= 1'b0;
      ld_fin_q   <= 1'b0;
      ld_isa_q   <= 1'b0;
      lbuf_q     <= 1'b0;
      lr0_q      <= '0;
      lo0_q      <= '0;
      aptr_q     <= '0;
      wptr_q     <= '0;
      req_addr_q <= '0;
      req_left_q <= '0;
      rsp_left_q <= '0;
      rs_bank_q  <= '0;
      rs_w_q     <= '0;
      a_full_q   <= 1'b0;
      w_full_q   <= '0;
    end else begin
      state_q    <= state_d;
      w_q        <= w_d;
      n_q        <= n_d;
      k_q        <= k_d;
      o_q        <= o_d;
      r0_q       <= r0_d;
      o0_q       <= o0_d;
      cbuf_q     <= cbuf_d;
      fk_q       <= fk_d;
      cnt_q      <= cnt_d;
      done_o     <= done_d;
      err_o      <= err_d;
      ld_on_q    <= ld_on_d;
      ld_fin_q   <= ld_fin_d;
      ld_isa_q   <= ld_isa_d;
      lbuf_q     <= lbuf_d;
      lr0_q      <= lr0_d;
      lo0_q      <= lo0_d;
      aptr_q     <= aptr_d;
      wptr_q     <= wptr_d;
      req_addr_q <= req_addr_d;
      req_left_q <= req_left_d;
      rsp_left_q <= rsp_left_d;
      rs_bank_q  <= rs_bank_d;
      rs_w_q     <= rs_w_d;
      a_full_q   <= a_full_d;
      w_full_q   <= w_full_d;
    end
  end

endmodule
