// mtx_layer_ctrl - executes one layer descriptor of docs/engine.md with the
// residual stream x kept on chip, by program (prog_i), over n_i rows that
// belong to one or more words of a batch:
//   ENC  encoder layer over the n_i rows of nseg_i words (segment table:
//        word g spans rows seg_st .. seg_st + seg_len - 1):
//        a = norm(x, n1); q, k, v = qkv(a); att = attention(q, k, v; sm, att)
//        with each word's queries over its own keys only;
//        x = res(x + o(att)); a2 = norm(x, n2); x = res(x + wo(relu-q8(wi(a2))))
//   DEC  decoder layer layer_i at step step_i, one row per word (n_i words):
//        row g's self-attention over its KV cache slot (g * ndec_i +
//        layer_i), positions 0..step (k, v of this step stored first), its
//        cross-attention over its segment of K2, V2, then the FFN
//   CKV  K2, V2 of decoder layer layer_i = ckv(mem) over the n_i rows
//   MEM  mem = norm(x[s], record at k_off) for s < n_i (the final encoder norm)
//   HEAD h = norm(x rows, record at k_off: DEC_NORM); per row g: logits =
//        rshr(lm_head (w_off) . h_g * m_lm, s_lm) (record at k2_off: LM_REQ,
//        raw int64); tok_o = the smallest id >= 2 with the largest logit
//        (mtx_argmax), with tok_v_o and tok_row_o = g
// A start reads the descriptor's constants (every requant record, k_off)
// into a record RAM and, with tbl_load_i, the image's EXP2 section into the
// softmax table; the weights stream from the image through mtx_linear. Each
// program is a fixed list of ops (op_* below) of three kinds: NORM (one
// mtx_rmsnorm start over all rows, into A or M), GEMM (mtx_linear, its result
// rows queued in mtx_row_fifo; q8 / ReLU-q8 requantised a row of 16 channels
// a cycle (mtx_requant_row) into Q / caches / H, RES and RAW one channel a
// cycle into x or mtx_argmax) and ATT (mtx_attention per word or row, into
// A). mtx_linear reads its activations from A, H or M through the same port
// as the weights: addresses with bit 63 set are answered from the buffer
// (bits 41:40 select it) one cycle later, the rest go out on the memory
// port.
// On-chip buffers (beats of 16 bytes): A (S, C) int8 for norm outputs and
// att; M (S, C) int8, the memory; Q head-major ((h, t) rows of hs bytes);
// KC, VC the self-attention KV cache, (slot, h, position) rows of hs bytes
// with 64 positions a head, slot = word * ndec + layer (the encoder uses the
// first rows as its k, v: (h, row) at h * n + row); K2, V2 (layer, h, row)
// for cross-attention, the rows of every word of the batch; H (n, F) int8;
// x (n, C) int32, written and read through the x_* port while idle.
// KC, VC hold per word n_dec x H x 64 rows of hs bytes (24,576 beats in
// all: the caller keeps n_i x ndec_i x 4C within them).
// Checked at start (err_o with done_o, no memory access): n_i in [1, 64],
// C, F multiples of 16 within the maxima, H in [1, 8], hs = C / H a
// multiple of 16 and at most 128, layer_i < 12, HEAD: Vt in [3, 256];
// ENC: nseg_i in [1, n_i]; DEC: layer_i < ndec_i and n_i x ndec_i x 4C
// <= 24,576 (the caches).
`default_nettype none

module mtx_layer_ctrl (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         start_i,
  input  logic [2:0]   prog_i,       // 0 ENC, 1 DEC, 2 CKV, 3 MEM, 4 HEAD
  input  logic [3:0]   layer_i,      // DEC, CKV: decoder layer (cache slot)
  input  logic [5:0]   step_i,       // DEC: decoding step t
  input  logic         tbl_load_i,   // read the EXP2 section first
  input  logic [9:0]   c_i,          // C
  input  logic [3:0]   heads_i,      // H
  input  logic [11:0]  f_i,          // F
  input  logic [6:0]   n_i,          // rows: ENC, MEM, CKV the batch's positions; DEC, HEAD its words
  input  logic [3:0]   ndec_i,       // DEC: decoder layers of the plan (KV cache slots per word)
  input  logic [6:0]   nseg_i,       // ENC: words in the batch (segments of the n_i rows)
  // segment table, written while idle: word g's rows start at st and span len
  input  logic         seg_we_i,
  input  logic [5:0]   seg_idx_i,
  input  logic [5:0]   seg_st_i,
  input  logic [6:0]   seg_len_i,
  input  logic [31:0]  eps_i,        // image eps_q
  input  logic [63:0]  w_off_i,      // descriptor weights
  input  logic [63:0]  k_off_i,      // descriptor constants
  input  logic [63:0]  exp2_off_i,   // EXP2 section
  input  logic [63:0]  k2_off_i,     // HEAD: LM_REQ record
  input  logic [8:0]   vt_i,         // HEAD: Vt logits
  output logic         busy_o,
  output logic         done_o,
  output logic         err_o,
  output logic [8:0]   pe_busy_o,
  output logic         gemm_o,       // a GEMM op runs (performance counting)
  output logic [7:0]   tok_o,        // HEAD: the chosen id of row tok_row_o, valid with tok_v_o
  output logic         tok_v_o,
  output logic [5:0]   tok_row_o,
  // memory read port (16-byte beats, responses in order)
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i,
  // residual stream access while idle: x[x_addr_i] (index t * C + c)
  input  logic         x_we_i,
  input  logic [14:0]  x_addr_i,
  input  logic [31:0]  x_wdata_i,
  output logic [31:0]  x_rdata_o
);

  localparam int unsigned KBEATS = 2176;            // records (<= 2053 beats) + EXP2
  localparam int unsigned CBEATS = 24576;           // a cache: 12 layers x 64 rows x C / 16
  localparam logic [11:0] ExpBeat = 12'd2112;       // EXP2 table in the record RAM
  localparam logic [13:0] ExpWord = 14'd8448;
  localparam logic [1:0] ModeQ8 = 2'd1;
  localparam logic [1:0] ModeRelu = 2'd2;
  localparam logic [1:0] ModeRes = 2'd3;
  localparam logic [2:0] BufA = 3'd0;
  localparam logic [2:0] BufH = 3'd1;
  localparam logic [2:0] BufQ = 3'd2;
  localparam logic [2:0] BufKC = 3'd3;
  localparam logic [2:0] BufVC = 3'd4;
  localparam logic [2:0] BufK2 = 3'd5;
  localparam logic [2:0] BufV2 = 3'd6;
  localparam logic [2:0] BufM = 3'd7;
  localparam logic [1:0] SrcA = 2'd0;
  localparam logic [1:0] SrcH = 2'd1;
  localparam logic [1:0] SrcM = 2'd2;
  localparam logic [2:0] ProgEnc = 3'd0;
  localparam logic [2:0] ProgDec = 3'd1;
  localparam logic [2:0] ProgCkv = 3'd2;
  localparam logic [2:0] ProgMem = 3'd3;
  localparam logic [2:0] ProgHead = 3'd4;
  localparam logic [1:0] ModeRaw = 2'd0;
  // GEMM q8 destinations
  localparam logic [1:0] DstQkv = 2'd0;    // q | k | v split (ENC: rows h * S + t; DEC: cache)
  localparam logic [1:0] DstCross = 2'd1;  // K2 | V2 of layer_i
  localparam logic [1:0] DstH = 2'd2;
  localparam logic [1:0] DstArg = 2'd3;    // raw logits into mtx_argmax
  localparam logic [1:0] OpNorm = 2'd0;
  localparam logic [1:0] OpGemm = 2'd1;
  localparam logic [1:0] OpAtt = 2'd2;
  localparam logic [1:0] OpEnd = 2'd3;

  typedef enum logic [4:0] {
    Idle, HsDiv, LdK, LdK2, LdE, CopyE, Scal, Dispatch, Fetch, FetchW,
    NStart, NX, GStart, GRun, HTok, AStart, AWait
  } state_e;

  state_e state_q, state_d;
  logic [9:0]  c_q, c_d;
  logic [3:0]  hh_q, hh_d;
  logic [11:0] f_q, f_d;
  logic [6:0]  s_n_q, s_n_d;
  logic [31:0] eps_q, eps_d;
  logic [63:0] w_q, w_d, k_q, k_d, e_q, e_d;
  logic        tbl_q, tbl_d;
  logic [2:0]  prog_q, prog_d;
  logic [63:0] k2_q, k2_d;
  logic [8:0]  vt_q, vt_d;
  logic [5:0]  step_q, step_d;
  logic [14:0] lrow_q, lrow_d;      // first K2 / V2 row of layer_i: layer * H * 64
  logic [3:0]  nd_q, nd_d;          // DEC: cache slots per word (the plan's decoder layers)
  logic [6:0]  ns_q, ns_d;          // ENC: segments
  logic [6:0]  g_q, g_d;            // ATT: segment (ENC) or row (DEC); HEAD: row of the GEMM
  logic [3:0]  hsw_q, hsw_d;        // hs / 16
  logic [9:0]  hacc_q, hacc_d;
  logic [3:0]  pc_q, pc_d;          // micro-program counter
  logic [15:0] xi_q, xi_d;          // NORM: x words issued (rows back to back)
  logic [13:0] mi_q, mi_d;          // NORM: m words issued
  logic [15:0] oc_q, oc_d;          // NORM: a bytes received
  logic [8:0]  ci_q, ci_d;          // CopyE / Scal counter
  logic [5:0]  rs_q, rs_d;          // record shift of the current op
  logic signed [31:0] msm_q, msm_d, matt_q, matt_d;
  logic [5:0]  ssm_q, ssm_d, satt_q, satt_d;
  logic        lin_done_q, lin_done_d;
  logic        done_d, err_d;
  // memory loads (records, EXP2)
  logic [63:0] laddr_q, laddr_d;
  logic [11:0] lreq_q, lreq_d, lrsp_q, lrsp_d, lbase_q, lbase_d;

  logic [5:0]  cw;                  // C / 16
  logic [13:0] kwords;              // ENC 7C + F + 10, DEC / CKV 12C + F + 18, MEM C + 1
  logic [11:0] kbeats, k2beats;
  logic        cfg_bad;

  always_comb begin
    cw     = c_q[9:4];
    case (prog_q)
      ProgEnc: kwords = 14'(7 * 32'(c_q) + 32'(f_q) + 32'd10);
      ProgMem, ProgHead: kwords = 14'(32'(c_q) + 32'd1);
      default: kwords = 14'(12 * 32'(c_q) + 32'(f_q) + 32'd18);
    endcase
    kbeats = 12'((32'(kwords) + 32'd3) >> 2);
    k2beats = 12'((32'(vt_q) + 32'd4) >> 2);
    cfg_bad = (n_i == 7'd0) || (n_i > 7'd64) || (c_i == 10'd0) || (c_i[3:0] != 4'd0) ||
              (f_i == 12'd0) || (f_i[3:0] != 4'd0) || (heads_i == 4'd0) || (heads_i > 4'd8) ||
              (layer_i > 4'd11) ||
              (prog_i == ProgHead && (vt_i < 9'd3 || vt_i > 9'd256)) ||
              (prog_i == ProgEnc && (nseg_i == 7'd0 || nseg_i > n_i)) ||
              (prog_i == ProgDec && (ndec_i == 4'd0 || layer_i >= ndec_i ||
                                     32'(n_i) * 32'(ndec_i) * 32'(c_i) * 32'd4 > CBEATS));
  end

  // ---- micro-programs ----
  logic [1:0]  op_kind;
  logic [13:0] op_rec;       // record word offset (ATT: the sm record, att follows)
  logic [63:0] op_woff;      // weight byte offset in the descriptor's weights
  logic [11:0] op_k, op_o;
  logic [6:0]  op_n;         // rows (positions)
  logic [1:0]  op_mode;
  logic [1:0]  op_src;       // GEMM activations: A, H or M
  logic [1:0]  op_dst;       // GEMM q8 destination
  logic        op_to_m;      // NORM into M (else A)
  logic        op_cross;     // ATT over K2, V2 (else the cache)
  logic [31:0] cc;

  always_comb begin
    cc       = 32'(c_q) * 32'(c_q);
    op_kind  = OpEnd;
    op_rec   = '0;
    op_woff  = '0;
    op_k     = 12'(c_q);
    op_o     = 12'(c_q);
    op_n     = s_n_q;
    op_mode  = ModeRes;
    op_src   = SrcA;
    op_dst   = DstQkv;
    op_to_m  = 1'b0;
    op_cross = 1'b0;
    case ({prog_q, pc_q})
      // ENC
      {ProgEnc, 4'd0}: op_kind = OpNorm;  // a = norm(x, n1)
      {ProgEnc, 4'd1}, {ProgDec, 4'd1}: begin  // q, k, v
        op_kind = OpGemm;
        op_rec  = 14'(32'(c_q) + 32'd1);
        op_o    = 12'(3 * 32'(c_q));
        op_mode = ModeQ8;
      end
      {ProgEnc, 4'd2}, {ProgDec, 4'd2}: begin  // self-attention, records sm(1), att(1)
        op_kind = OpAtt;
        op_rec  = 14'(4 * 32'(c_q) + 32'd2);
      end
      {ProgEnc, 4'd3}, {ProgDec, 4'd3}: begin  // x += o(att)
        op_kind = OpGemm;
        op_rec  = 14'(4 * 32'(c_q) + 32'd6);
        op_woff = 64'(3 * cc);
      end
      {ProgEnc, 4'd4}, {ProgDec, 4'd4}: begin  // a2 = norm(x, n2)
        op_kind = OpNorm;
        op_rec  = 14'(5 * 32'(c_q) + 32'd7);
      end
      {ProgEnc, 4'd5}: begin  // h = relu-q8(wi(a2))
        op_kind = OpGemm;
        op_rec  = 14'(6 * 32'(c_q) + 32'd8);
        op_woff = 64'(4 * cc);
        op_o    = f_q;
        op_mode = ModeRelu;
        op_dst  = DstH;
      end
      {ProgEnc, 4'd6}: begin  // x += wo(h)
        op_kind = OpGemm;
        op_rec  = 14'(6 * 32'(c_q) + 32'(f_q) + 32'd9);
        op_woff = 64'(4 * cc) + 64'(32'(f_q) * 32'(c_q));
        op_k    = f_q;
        op_src  = SrcH;
      end
      // DEC (ops 1 .. 4 shared with ENC above)
      {ProgDec, 4'd0}: op_kind = OpNorm;  // a = norm(x, n1)
      {ProgDec, 4'd5}: begin  // q2 = cq(a2)
        op_kind = OpGemm;
        op_rec  = 14'(6 * 32'(c_q) + 32'd8);
        op_woff = 64'(4 * cc);
        op_mode = ModeQ8;
      end
      {ProgDec, 4'd6}: begin  // cross-attention, records sm2, att2
        op_kind  = OpAtt;
        op_rec   = 14'(9 * 32'(c_q) + 32'd10);
        op_cross = 1'b1;
      end
      {ProgDec, 4'd7}: begin  // x += co(att)
        op_kind = OpGemm;
        op_rec  = 14'(9 * 32'(c_q) + 32'd14);
        op_woff = 64'(7 * cc);
      end
      {ProgDec, 4'd8}: begin  // a3 = norm(x, n3)
        op_kind = OpNorm;
        op_rec  = 14'(10 * 32'(c_q) + 32'd15);
      end
      {ProgDec, 4'd9}: begin  // h = relu-q8(wi(a3))
        op_kind = OpGemm;
        op_rec  = 14'(11 * 32'(c_q) + 32'd16);
        op_woff = 64'(8 * cc);
        op_o    = f_q;
        op_mode = ModeRelu;
        op_dst  = DstH;
      end
      {ProgDec, 4'd10}: begin  // x += wo(h)
        op_kind = OpGemm;
        op_rec  = 14'(11 * 32'(c_q) + 32'(f_q) + 32'd17);
        op_woff = 64'(8 * cc) + 64'(32'(f_q) * 32'(c_q));
        op_k    = f_q;
        op_src  = SrcH;
      end
      // CKV: K2 | V2 = ckv(mem)
      {ProgCkv, 4'd0}: begin
        op_kind = OpGemm;
        op_rec  = 14'(7 * 32'(c_q) + 32'd9);
        op_woff = 64'(5 * cc);
        op_o    = 12'(2 * 32'(c_q));
        op_mode = ModeQ8;
        op_src  = SrcM;
        op_dst  = DstCross;
      end
      // HEAD: h = norm(x, DEC_NORM); logits; argmax
      {ProgHead, 4'd0}: op_kind = OpNorm;
      {ProgHead, 4'd1}: begin
        op_kind = OpGemm;
        op_rec  = {kbeats, 2'b00};  // LM_REQ follows DEC_NORM at beat kbeats
        op_o    = 12'(vt_q);
        op_mode = ModeRaw;
        op_dst  = DstArg;
      end
      // MEM: mem = norm(x, ENC_NORM)
      {ProgMem, 4'd0}: begin
        op_kind = OpNorm;
        op_to_m = 1'b1;
      end
      default: op_kind = OpEnd;
    endcase
  end

  // ---- segment table: word g of the batch spans rows seg_st .. + seg_len ----
  logic [64*6-1:0] seg_st_q;
  logic [64*7-1:0] seg_len_q;
  logic [5:0]      gst;
  logic [6:0]      glen;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      seg_st_q  <= '0;
      seg_len_q <= '0;
    end else if (seg_we_i && state_q == Idle) begin
      seg_st_q[32'(seg_idx_i)*6 +: 6]  <= seg_st_i;
      seg_len_q[32'(seg_idx_i)*7 +: 7] <= seg_len_i;
    end
  end
  assign gst  = seg_st_q[32'(g_q[5:0])*6 +: 6];
  assign glen = seg_len_q[32'(g_q[5:0])*7 +: 7];

  // ---- record RAM (128-bit beats, read one int32 word at a time) ----
  logic         kr_we, kr_re;
  logic [11:0]  kr_waddr;
  logic [13:0]  kr_word;
  logic [127:0] kr_beat;
  logic [1:0]   kr_lane_q;
  logic [31:0]  kr_data;

  mtx_ram #(.DEPTH(KBEATS), .WIDTH(128)) u_rec (
    .clk_i,
    .we_i   (kr_we),
    .waddr_i(kr_waddr),
    .wdata_i(mem_rsp_data_i),
    .re_i   (kr_re),
    .raddr_i(kr_word[13:2]),
    .rdata_o(kr_beat)
  );
  assign kr_data = kr_beat[32'(kr_lane_q)*32 +: 32];

  // ---- units ----
  logic         lin_start, lin_busy_unused, lin_done, lin_err;
  logic         lin_req_v, lin_req_rdy, lin_rsp_v;
  logic [63:0]  lin_req_addr;
  logic [127:0] lin_rsp_data;
  logic         lin_out_v, lin_out_rdy;
  logic [511:0] lin_row;
  logic [6:0]   lin_t;
  logic [11:0]  lin_o0;
  logic [5:0]   lin_nc;
  logic         lin_local;
  logic         la_out_v, la_out_rdy, rows_empty;
  logic [511:0] la_row;
  logic [6:0]   la_t;
  logic [11:0]  la_o0;
  logic [5:0]   la_nc;

  assign lin_start = (state_q == GStart);
  assign lin_local = lin_req_addr[63];

  mtx_linear u_linear (
    .clk_i,
    .rst_ni,
    .start_i        (lin_start),
    .act_addr_i     ({1'b1, 21'd0, op_src, 40'd0}),
    .w_addr_i       (w_q + op_woff),
    .n_i            (op_n),
    .k_i            (op_k),
    .o_i            (op_o),
    .busy_o         (lin_busy_unused),
    .done_o         (lin_done),
    .err_o          (lin_err),
    .pe_busy_o      (pe_busy_o),
    .mem_req_valid_o(lin_req_v),
    .mem_req_ready_i(lin_req_rdy),
    .mem_req_addr_o (lin_req_addr),
    .mem_rsp_valid_i(lin_rsp_v),
    .mem_rsp_data_i (lin_rsp_data),
    .out_valid_o    (la_out_v),
    .out_ready_i    (la_out_rdy),
    .out_row_o      (la_row),
    .out_t_o        (la_t),
    .out_o0_o       (la_o0),
    .out_nc_o       (la_nc)
  );

  // A tile's result rows queue here, so the array computes the next tile
  // while the requantiser works through them one channel a cycle.
  mtx_row_fifo #(.WIDTH(537), .DEPTH(16)) u_rows (
    .clk_i,
    .rst_ni,
    .in_valid_i (la_out_v),
    .in_ready_o (la_out_rdy),
    .in_data_i  ({la_row, la_t, la_o0, la_nc}),
    .out_valid_o(lin_out_v),
    .out_ready_i(lin_out_rdy),
    .out_data_o ({lin_row, lin_t, lin_o0, lin_nc}),
    .empty_o    (rows_empty)
  );

  // NORM: one start for all op_n rows; x streams from the x buffer (one
  // word a cycle, read one cycle ahead; a refused word is read again) and m
  // from the record RAM, each with its own valid / ready.
  logic        nm_start, nm_xv_q, nm_mv_q, nm_xrdy, nm_mrdy, nm_av, nm_busy_unused, nm_done;
  logic        nm_xadv, nm_madv, nm_xiss, nm_miss;
  logic [15:0] nm_total;
  logic signed [7:0] nm_a;

  assign nm_start = (state_q == NStart);
  assign nm_total = 16'(32'(op_n) * 32'(c_q));
  assign nm_xadv  = !nm_xv_q || nm_xrdy;
  assign nm_madv  = !nm_mv_q || nm_mrdy;
  assign nm_xiss  = (state_q == NX) && nm_xadv && (xi_q != nm_total);
  assign nm_miss  = (state_q == NX) && nm_madv && (mi_q != 14'(c_q));

  logic [31:0] x_rd;

  mtx_rmsnorm #(.MAXC(512), .MAXN(64)) u_norm (
    .clk_i,
    .rst_ni,
    .start_i  (nm_start),
    .c_i      (c_q),
    .n_i      (op_n),
    .eps_i    (eps_q),
    .s_i      (rs_q),
    .x_valid_i(nm_xv_q),
    .x_ready_o(nm_xrdy),
    .x_i      (x_rd),
    .m_valid_i(nm_mv_q),
    .m_ready_o(nm_mrdy),
    .m_i      (kr_data),
    .a_valid_o(nm_av),
    .a_ready_i(1'b1),
    .a_o      (nm_a),
    .busy_o   (nm_busy_unused),
    .done_o   (nm_done)
  );

  logic         at_re, at_ov, at_busy_unused, at_done;
  logic [14:0]  at_qa, at_kva, at_obeat;
  logic [127:0] kc_rd, vc_rd, k2_rd, v2_rd;
  logic [6:0]   at_nk;

  // ENC: segment g's queries attend to its own rows (Q, KC, VC rows h * S + t).
  // DEC: row g (word g of the batch) attends to its cache slot (self) or to
  // its segment of K2, V2 (cross).
  logic [6:0]  at_nq, at_qb, at_ks;
  logic [14:0] at_kb;
  always_comb begin
    at_nq = glen;
    at_qb = 7'(gst);
    at_nk = glen;
    at_ks = s_n_q;
    at_kb = 15'(gst);
    if (prog_q == ProgDec) begin
      at_nq = 7'd1;
      at_qb = g_q;
      at_ks = 7'd64;
      if (op_cross) begin
        at_kb = lrow_q + 15'(gst);
      end else begin
        at_nk = 7'(step_q) + 7'd1;
        at_kb = 15'(32'(g_q) * 32'(nd_q) * 32'(hh_q) * 32'd64 + 32'(lrow_q));
      end
    end
  end
  logic [127:0] at_od;
  logic [127:0] q_rd;
  logic         unused_qa;
  assign unused_qa = ^at_qa[14:11];  // q rows (h, t) fit the 2048 beats of Q

  mtx_attention #(.AW(15)) u_att (
    .clk_i,
    .rst_ni,
    .tbl_we_i   (state_q == CopyE && ci_q != 9'd0),
    .tbl_addr_i (8'(ci_q - 9'd1)),
    .tbl_data_i (kr_data),
    .start_i    (state_q == AStart),
    .nq_i       (at_nq),
    .nk_i       (at_nk),
    .kstride_i  (at_ks),
    .kbase_i    (at_kb),
    .qbase_i    (at_qb),
    .qstride_i  (s_n_q),
    .obase_i    (at_qb),
    .heads_i    (hh_q),
    .hsw_i      (hsw_q),
    .cw_i       (cw),
    .m_sm_i     (msm_q),
    .s_sm_i     (ssm_q),
    .m_att_i    (matt_q),
    .s_att_i    (satt_q),
    .re_o       (at_re),
    .q_addr_o   (at_qa),
    .kv_addr_o  (at_kva),
    .q_rdata_i  (q_rd),
    .k_rdata_i  (op_cross ? k2_rd : kc_rd),
    .v_rdata_i  (op_cross ? v2_rd : vc_rd),
    .out_valid_o(at_ov),
    .out_data_o (at_od),
    .out_beat_o (at_obeat),
    .busy_o     (at_busy_unused),
    .done_o     (at_done)
  );

  // ---- GEMM result serialiser: one channel a cycle into mtx_requant ----
  logic         sr_act_q, sr_act_d;
  logic [3:0]   sr_c_q, sr_c_d;
  logic [5:0]   sr_nc_q;        // channels in this row (the last column tile may be short)
  logic [511:0] sr_row_q;
  logic [6:0]   sr_t_q;
  logic [11:0]  sr_o0_q;
  logic [14:0]  sr_beat_q, sr_beat_d;
  logic [14:0]  sr_row;
  logic [2:0]   sr_buf_q, sr_buf_d;
  // q|k|v split of the column tiles: which, head, beat in head
  logic [1:0]   tw_q, tw_d;
  logic [3:0]   th_q, th_d, td_q, td_d;
  logic [11:0]  tprev_q, tprev_d;
  logic         sr_take;
  // pipeline: p1 (requant input), p2, p3 (requant output)
  logic         p1_q, p2_q, p3_q;
  logic [3:0]   p1c_q;
  logic [14:0]  p1x_q, p2x_q, p3x_q;
  logic [11:0]  p1o_q, p2o_q, p3o_q;  // channel (RAW: the logit's id)
  logic [5:0]   p1r_q, p2r_q, p3r_q;  // row
  logic [14:0]  p1b_q, p2b_q, p3b_q;
  logic [2:0]   p1u_q, p2u_q, p3u_q;
  logic         rq_vo;
  logic signed [63:0] rq_y;
  logic [14:0]  sr_xaddr;

  // q8 and ReLU-q8 results take the wide path: a whole row of a column
  // tile (16 channels) a cycle through 16 requantisers into one beat; RES
  // (which reads x) and RAW (into the argmax) go one channel a cycle.
  logic         wide, mc_hit, wide_busy;
  assign wide        = (op_mode == ModeQ8) || (op_mode == ModeRelu);
  assign lin_out_rdy = (state_q == GRun) && !sr_act_q && (!wide || mc_hit);
  assign sr_take     = lin_out_v && lin_out_rdy;
  assign sr_xaddr    = 15'(32'(sr_t_q) * 32'(c_q) + 32'(sr_o0_q) + 32'(sr_c_q));

  always_comb begin
    sr_act_d  = sr_act_q;
    sr_c_d    = sr_c_q;
    sr_beat_d = sr_beat_q;
    sr_row    = '0;
    sr_buf_d  = sr_buf_q;
    tw_d      = tw_q;
    th_d      = th_q;
    td_d      = td_q;
    tprev_d   = tprev_q;
    if (sr_act_q) begin
      sr_c_d = sr_c_q + 4'd1;
      if (6'(sr_c_q) + 6'd1 == sr_nc_q) begin
        sr_act_d = 1'b0;
      end
    end
    if (sr_take) begin
      sr_act_d = !wide;
      sr_c_d   = '0;
      tprev_d  = lin_o0;
      if (lin_o0 == 12'd0) begin
        tw_d = '0;
        th_d = '0;
        td_d = '0;
      end else if (lin_o0 != tprev_q) begin
        td_d = td_q + 4'd1;
        if (td_q == hsw_q - 4'd1) begin
          td_d = '0;
          th_d = th_q + 4'd1;
          if (th_q == hh_q - 4'd1) begin
            th_d = '0;
            tw_d = tw_q + 2'd1;
          end
        end
      end
      // q rows (h, t); cache rows (layer, h, position); H rows t
      sr_row = 15'(32'(th_d) * 32'(op_n) + 32'(lin_t));
      sr_buf_d = BufQ;
      if (op_dst == DstCross) begin
        sr_buf_d = (tw_d == 2'd0) ? BufK2 : BufV2;
        sr_row   = 15'(32'(lrow_q) + 32'(th_d) * 32'd64 + 32'(lin_t));
      end else if (tw_d != 2'd0) begin
        sr_buf_d = (tw_d == 2'd1) ? BufKC : BufVC;
        if (prog_q == ProgDec) begin
          // word lin_t's cache slot: (lin_t * ndec + layer) * H * 64
          sr_row = 15'(32'(lin_t) * 32'(nd_q) * 32'(hh_q) * 32'd64 + 32'(lrow_q) +
                       32'(th_d) * 32'd64 + 32'(step_q));
        end
      end
      sr_beat_d = 15'(32'(sr_row) * 32'(hsw_q) + 32'(td_d));
      if (op_dst == DstH) begin
        sr_buf_d  = BufH;
        sr_beat_d = 15'(32'(lin_t) * 32'(f_q[11:4]) + 32'(lin_o0[11:4]));
      end
    end
  end

  logic               rq_v;
  logic signed [31:0] rq_acc, rq_m, rq_x;
  logic [5:0]         rq_s;

  assign rq_v   = p1_q;
  assign rq_acc = sr_row_q[32'(p1c_q)*32 +: 32];
  assign rq_m   = kr_data;
  assign rq_x   = x_rd;
  assign rq_s   = rs_q;

  mtx_requant u_requant (
    .clk_i,
    .rst_ni,
    .valid_i(rq_v),
    .acc_i  (rq_acc),
    .m_i    (rq_m),
    .s_i    (rq_s),
    .mode_i (op_mode),
    .x_i    (rq_x),
    .valid_o(rq_vo),
    .y_o    (rq_y)
  );

  // HEAD: argmax over ids >= 2 of the raw logits, in id order
  logic       am_valid;
  logic [7:0] am_idx;
  logic signed [63:0] am_max_unused;
  logic       unused_o;

  assign am_valid = (state_q == GRun) && rq_vo && (op_dst == DstArg) && (p3o_q >= 12'd2);
  assign unused_o = ^p3o_q[11:8];  // RAW: ids < Vt <= 256

  // HEAD: every row's logits arrive in id order (column tiles in order),
  // rows interleaved; id 2 is each row's first candidate.
  mtx_argmax #(.W(64), .IW(8), .ROWS(64), .RW(6)) u_argmax (
    .clk_i,
    .valid_i (am_valid),
    .first_i (p3o_q == 12'd2),
    .row_i   (p3r_q),
    .idx_i   (p3o_q[7:0]),
    .v_i     (rq_y),
    .rd_row_i(g_q[5:0]),
    .idx_o   (am_idx),
    .max_o   (am_max_unused)
  );
  assign tok_o     = am_idx;
  assign tok_v_o   = (state_q == HTok);
  assign tok_row_o = g_q[5:0];

  logic unused_y;
  assign unused_y = ^rq_y[63:32];  // RES and q8 results fit 32 bits

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sr_act_q  <= 1'b0;
      sr_c_q    <= '0;
      sr_nc_q   <= '0;
      sr_row_q  <= '0;
      sr_t_q    <= '0;
      sr_o0_q   <= '0;
      sr_beat_q <= '0;
      sr_buf_q  <= '0;
      tw_q      <= '0;
      th_q      <= '0;
      td_q      <= '0;
      tprev_q   <= '0;
      p1_q      <= 1'b0;
      p2_q      <= 1'b0;
      p3_q      <= 1'b0;
      p1c_q     <= '0;
      p1x_q     <= '0;
      p1o_q     <= '0;
      p2o_q     <= '0;
      p3o_q     <= '0;
      p1r_q     <= '0;
      p2r_q     <= '0;
      p3r_q     <= '0;
      p2x_q     <= '0;
      p3x_q     <= '0;
      p1b_q     <= '0;
      p2b_q     <= '0;
      p3b_q     <= '0;
      p1u_q     <= '0;
      p2u_q     <= '0;
      p3u_q     <= '0;
    end else begin
      sr_act_q  <= sr_act_d;
      sr_c_q    <= sr_c_d;
      sr_beat_q <= sr_beat_d;
      sr_buf_q  <= sr_buf_d;
      tw_q      <= tw_d;
      th_q      <= th_d;
      td_q      <= td_d;
      tprev_q   <= tprev_d;
      if (sr_take) begin
        sr_row_q <= lin_row;
        sr_t_q   <= lin_t;
        sr_o0_q  <= lin_o0;
        sr_nc_q  <= lin_nc;
      end
      p1_q  <= sr_act_q;
      p1c_q <= sr_c_q;
      p1x_q <= sr_xaddr;
      p1o_q <= sr_o0_q + 12'(sr_c_q);
      p1r_q <= sr_t_q[5:0];
      p2o_q <= p1o_q;
      p2r_q <= p1r_q;
      p3o_q <= p2o_q;
      p3r_q <= p2r_q;
      p1b_q <= sr_beat_q;
      p1u_q <= sr_buf_q;
      p2_q  <= p1_q;
      p2x_q <= p1x_q;
      p2b_q <= p1b_q;
      p2u_q <= p1u_q;
      p3_q  <= p2_q;
      p3x_q <= p2x_q;
      p3b_q <= p2b_q;
      p3u_q <= p2u_q;
    end
  end

  // ---- wide path: the column tile's 16 multipliers, 16 requantisers ----
  logic         wq_v, mf_re;
  logic [12:0]  mf_idx;
  logic [127:0] wq_beat;
  logic [14:0]  wq_beat_no;
  logic [2:0]   wq_buf;

  mtx_requant_row #(.TW(18)) u_wide (
    .clk_i,
    .rst_ni,
    .clear_i    (state_q == GStart),
    .en_i       ((state_q == GRun) && wide),
    .row_valid_i(lin_out_v),
    .o0_i       (lin_o0),
    .hit_o      (mc_hit),
    .m_re_o     (mf_re),
    .m_idx_o    (mf_idx),
    .m_i        (kr_data),
    .take_i     (sr_take && wide),
    .acc_i      (lin_row),
    .tag_i      ({sr_buf_d, sr_beat_d}),
    .s_i        (rs_q),
    .mode_i     (op_mode),
    .beat_v_o   (wq_v),
    .beat_o     (wq_beat),
    .tag_o      ({wq_buf, wq_beat_no}),
    .busy_o     (wide_busy)
  );

  // ---- byte packer: 16 consecutive bytes of one producer form one beat ----
  logic         pk_v;
  logic [7:0]   pk_byte;
  logic [14:0]  pk_beat;
  logic [2:0]   pk_buf;
  logic [3:0]   pk_lane_q;
  logic [119:0] pk_data_q;
  logic         pk_we;
  logic [127:0] pk_wdata;

  always_comb begin
    pk_v    = 1'b0;
    pk_byte = '0;
    pk_beat = '0;
    pk_buf  = BufA;
    case (state_q)
      NStart, NX: begin
        pk_v    = nm_av;
        pk_byte = nm_a;
        pk_beat = {3'd0, oc_q[15:4]};  // rows of C bytes back to back
        pk_buf  = op_to_m ? BufM : BufA;
      end
      GRun: begin
        pk_v    = rq_vo && (op_mode == ModeQ8 || op_mode == ModeRelu);
        pk_byte = rq_y[7:0];
        pk_beat = p3b_q;
        pk_buf  = p3u_q;
      end
      default: pk_v = 1'b0;
    endcase
    pk_we    = pk_v && (pk_lane_q == 4'd15);
    pk_wdata = {pk_byte, pk_data_q};
    if (wq_v) begin  // a wide row: one whole beat
      pk_we    = 1'b1;
      pk_beat  = wq_beat_no;
      pk_buf   = wq_buf;
      pk_wdata = wq_beat;
    end
    if ((state_q == AStart || state_q == AWait) && at_ov) begin  // an att beat into A
      pk_we    = 1'b1;
      pk_beat  = at_obeat;
      pk_buf   = BufA;
      pk_wdata = at_od;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pk_lane_q <= '0;
      pk_data_q <= '0;
    end else if (pk_v) begin
      pk_lane_q <= pk_lane_q + 4'd1;
      if (pk_lane_q != 4'd15) begin
        pk_data_q[32'(pk_lane_q)*8 +: 8] <= pk_byte;
      end
    end
  end

  // ---- buffers ----
  logic [127:0] a_rd, h_rd, m_rd;
  logic         loc_v_q;
  logic [1:0]   loc_src_q;
  logic         loc_re;

  assign loc_re = lin_req_v && lin_local && (state_q == GRun);

  mtx_ram #(.DEPTH(2048), .WIDTH(128)) u_abuf (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufA),
    .waddr_i(pk_beat[10:0]),
    .wdata_i(pk_wdata),
    .re_i   (loc_re && lin_req_addr[41:40] == SrcA),
    .raddr_i(lin_req_addr[14:4]),
    .rdata_o(a_rd)
  );

  mtx_ram #(.DEPTH(2048), .WIDTH(128)) u_mbuf (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufM),
    .waddr_i(pk_beat[10:0]),
    .wdata_i(pk_wdata),
    .re_i   (loc_re && lin_req_addr[41:40] == SrcM),
    .raddr_i(lin_req_addr[14:4]),
    .rdata_o(m_rd)
  );

  mtx_ram #(.DEPTH(8192), .WIDTH(128)) u_hbuf (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufH),
    .waddr_i(pk_beat[12:0]),
    .wdata_i(pk_wdata),
    .re_i   (loc_re && lin_req_addr[41:40] == SrcH),
    .raddr_i(lin_req_addr[16:4]),
    .rdata_o(h_rd)
  );

  mtx_ram #(.DEPTH(2048), .WIDTH(128)) u_qbuf (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufQ),
    .waddr_i(pk_beat[10:0]),
    .wdata_i(pk_wdata),
    .re_i   (at_re),
    .raddr_i(at_qa[10:0]),
    .rdata_o(q_rd)
  );

  mtx_ram #(.DEPTH(CBEATS), .WIDTH(128)) u_kcache (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufKC),
    .waddr_i(pk_beat),
    .wdata_i(pk_wdata),
    .re_i   (at_re && !op_cross),
    .raddr_i(at_kva),
    .rdata_o(kc_rd)
  );

  mtx_ram #(.DEPTH(CBEATS), .WIDTH(128)) u_vcache (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufVC),
    .waddr_i(pk_beat),
    .wdata_i(pk_wdata),
    .re_i   (at_re && !op_cross),
    .raddr_i(at_kva),
    .rdata_o(vc_rd)
  );

  mtx_ram #(.DEPTH(CBEATS), .WIDTH(128)) u_k2 (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufK2),
    .waddr_i(pk_beat),
    .wdata_i(pk_wdata),
    .re_i   (at_re && op_cross),
    .raddr_i(at_kva),
    .rdata_o(k2_rd)
  );

  mtx_ram #(.DEPTH(CBEATS), .WIDTH(128)) u_v2 (
    .clk_i,
    .we_i   (pk_we && pk_buf == BufV2),
    .waddr_i(pk_beat),
    .wdata_i(pk_wdata),
    .re_i   (at_re && op_cross),
    .raddr_i(at_kva),
    .rdata_o(v2_rd)
  );

  logic        x_we;
  logic [14:0] x_waddr, x_raddr;
  logic [31:0] x_wdata;

  always_comb begin
    x_we    = 1'b0;
    x_waddr = x_addr_i;
    x_wdata = x_wdata_i;
    x_raddr = x_addr_i;
    if (state_q == Idle) begin
      x_we = x_we_i;
    end else if (state_q == GRun) begin
      x_we    = rq_vo && (op_mode == ModeRes);
      x_waddr = p3x_q;
      x_wdata = rq_y[31:0];
      x_raddr = sr_xaddr;
    end else begin
      x_raddr = nm_xadv ? xi_q[14:0] : 15'(xi_q - 16'd1);
    end
  end

  mtx_ram #(.DEPTH(32768), .WIDTH(32)) u_xbuf (
    .clk_i,
    .we_i   (x_we),
    .waddr_i(x_waddr),
    .wdata_i(x_wdata),
    .re_i   (1'b1),
    .raddr_i(x_raddr),
    .rdata_o(x_rd)
  );
  assign x_rdata_o = x_rd;

  // ---- memory port: record / EXP2 loads, or mtx_linear's non-local beats ----
  logic loading, ld_take;

  assign loading      = (state_q == LdK) || (state_q == LdK2) || (state_q == LdE);
  assign lin_req_rdy  = lin_local ? (state_q == GRun) : (mem_req_ready_i && state_q == GRun);
  assign lin_rsp_v    = loc_v_q || (mem_rsp_valid_i && state_q == GRun);
  assign lin_rsp_data = !loc_v_q ? mem_rsp_data_i :
                        (loc_src_q == SrcH) ? h_rd : (loc_src_q == SrcM) ? m_rd : a_rd;
  assign mem_req_valid_o = loading ? (lreq_q != 12'd0) :
                           (lin_req_v && !lin_local && state_q == GRun);
  assign mem_req_addr_o  = loading ? laddr_q : lin_req_addr;
  assign ld_take  = loading && mem_rsp_valid_i;
  assign kr_we    = ld_take;
  assign kr_waddr = lbase_q + lrsp_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      loc_v_q   <= 1'b0;
      loc_src_q <= '0;
      nm_xv_q   <= 1'b0;
      nm_mv_q   <= 1'b0;
      kr_lane_q <= '0;
    end else begin
      loc_v_q <= loc_re;
      loc_src_q <= lin_req_addr[41:40];
      if (state_q != NX) begin
        nm_xv_q <= 1'b0;
        nm_mv_q <= 1'b0;
      end else begin
        if (nm_xadv) nm_xv_q <= nm_xiss;
        if (nm_madv) nm_mv_q <= nm_miss;
      end
      if (kr_re) begin
        kr_lane_q <= kr_word[1:0];
      end
    end
  end

  // ---- record RAM read address by state ----
  always_comb begin
    kr_re   = 1'b0;
    kr_word = '0;
    case (state_q)
      CopyE: begin
        kr_re   = 1'b1;
        kr_word = ExpWord + 14'(ci_q[7:0]);  // ci = 256 re-reads word 0, unused
      end
      Scal: begin  // sm shift, sm multiplier, att shift, att multiplier
        kr_re   = 1'b1;
        kr_word = op_rec + 14'(ci_q);
      end
      Fetch: begin
        kr_re   = 1'b1;
        kr_word = op_rec;
      end
      NX: begin
        kr_re   = nm_miss;
        kr_word = op_rec + 14'd1 + mi_q;
      end
      GRun: begin
        kr_re   = sr_act_q;
        kr_word = op_rec + 14'd1 + 14'(sr_o0_q) + 14'(sr_c_q);
        if (wide) begin  // the wide path's multipliers, one word a cycle
          kr_re   = mf_re;
          kr_word = op_rec + 14'd1 + 14'(mf_idx);
        end
      end
      default: kr_re = 1'b0;
    endcase
  end

  // ---- sequencer ----
  always_comb begin
    state_d    = state_q;
    c_d        = c_q;
    hh_d       = hh_q;
    f_d        = f_q;
    s_n_d      = s_n_q;
    eps_d      = eps_q;
    w_d        = w_q;
    k_d        = k_q;
    e_d        = e_q;
    tbl_d      = tbl_q;
    prog_d     = prog_q;
    k2_d       = k2_q;
    vt_d       = vt_q;
    step_d     = step_q;
    lrow_d     = lrow_q;
    nd_d       = nd_q;
    ns_d       = ns_q;
    g_d        = g_q;
    hsw_d      = hsw_q;
    hacc_d     = hacc_q;
    pc_d       = pc_q;
    xi_d       = xi_q;
    mi_d       = mi_q;
    oc_d       = oc_q;
    ci_d       = ci_q;
    rs_d       = rs_q;
    msm_d      = msm_q;
    ssm_d      = ssm_q;
    matt_d     = matt_q;
    satt_d     = satt_q;
    lin_done_d = lin_done_q;
    laddr_d    = laddr_q;
    lreq_d     = lreq_q;
    lrsp_d     = lrsp_q;
    lbase_d    = lbase_q;
    done_d     = 1'b0;
    err_d      = err_o;

    if (loading && mem_req_valid_o && mem_req_ready_i) begin
      laddr_d = laddr_q + 64'd16;
      lreq_d  = lreq_q - 12'd1;
    end
    if (ld_take) begin
      lrsp_d = lrsp_q + 12'd1;
    end

    case (state_q)
      Idle: begin
        if (start_i) begin
          err_d = cfg_bad;
          if (cfg_bad) begin
            done_d = 1'b1;
          end else begin
            c_d     = c_i;
            hh_d    = heads_i;
            f_d     = f_i;
            s_n_d   = n_i;
            eps_d   = eps_i;
            w_d     = w_off_i;
            k_d     = k_off_i;
            e_d     = exp2_off_i;
            tbl_d   = tbl_load_i;
            prog_d  = prog_i;
            k2_d    = k2_off_i;
            vt_d    = vt_i;
            step_d  = step_i;
            lrow_d  = 15'(32'(layer_i) * 32'(heads_i) * 32'd64);
            nd_d    = ndec_i;
            ns_d    = nseg_i;
            hsw_d   = '0;
            hacc_d  = '0;
            state_d = HsDiv;
          end
        end
      end
      HsDiv: begin  // hs / 16 by repeated addition of 16 H
        hsw_d  = hsw_q + 4'd1;
        hacc_d = hacc_q + {2'd0, hh_q, 4'd0};
        if (hacc_d == c_q) begin
          laddr_d = k_q;
          lreq_d  = kbeats;
          lrsp_d  = '0;
          lbase_d = '0;
          state_d = LdK;
        end else if (hacc_d > c_q || hsw_q == 4'd7) begin
          err_d   = 1'b1;
          done_d  = 1'b1;
          state_d = Idle;
        end
      end
      LdK, LdK2: begin
        if (lrsp_d == ((state_q == LdK) ? kbeats : k2beats) && lreq_q == 12'd0) begin
          ci_d = '0;
          if (state_q == LdK && prog_q == ProgHead) begin
            laddr_d = k2_q;
            lreq_d  = k2beats;
            lrsp_d  = '0;
            lbase_d = kbeats;
            state_d = LdK2;
          end else if (tbl_q) begin
            laddr_d = e_q;
            lreq_d  = 12'd64;
            lrsp_d  = '0;
            lbase_d = ExpBeat;
            state_d = LdE;
          end else begin
            pc_d    = '0;
            state_d = Dispatch;
          end
        end
      end
      LdE: begin
        if (lrsp_d == 12'd64 && lreq_q == 12'd0) begin
          ci_d    = '0;
          state_d = CopyE;
        end
      end
      CopyE: begin  // word ci - 1 is on kr_data, written to the table
        ci_d = ci_q + 9'd1;
        if (ci_q == 9'd256) begin
          ci_d    = '0;
          pc_d    = '0;
          state_d = Dispatch;
        end
      end
      Scal: begin
        ci_d = ci_q + 9'd1;
        case (ci_q)
          9'd1: ssm_d = kr_data[5:0];
          9'd2: msm_d = kr_data;
          9'd3: satt_d = kr_data[5:0];
          9'd4: matt_d = kr_data;
          default: ;
        endcase
        if (ci_q == 9'd4) begin
          state_d = AStart;
        end
      end
      Dispatch: begin
        g_d = '0;
        case (op_kind)
          OpNorm, OpGemm: state_d = Fetch;
          OpAtt: begin
            ci_d    = '0;
            state_d = Scal;
          end
          default: begin
            done_d  = 1'b1;
            state_d = Idle;
          end
        endcase
      end
      Fetch: state_d = FetchW;
      FetchW: begin
        rs_d       = kr_data[5:0];
        lin_done_d = 1'b0;
        state_d    = (op_kind == OpNorm) ? NStart : GStart;
      end
      NStart: begin
        xi_d    = '0;
        mi_d    = '0;
        oc_d    = '0;
        state_d = NX;
      end
      NX: begin
        if (nm_done) begin
          pc_d    = pc_q + 4'd1;
          state_d = Dispatch;
        end
      end
      GStart: state_d = GRun;
      GRun: begin
        if (lin_done) begin
          lin_done_d = 1'b1;
          if (lin_err) begin
            err_d   = 1'b1;
            done_d  = 1'b1;
            state_d = Idle;
          end
        end
        if (lin_done_q && rows_empty && !sr_act_q && !p1_q && !p2_q && !p3_q && !wide_busy) begin
          pc_d    = pc_q + 4'd1;
          state_d = Dispatch;
          if (op_dst == DstArg) begin  // HEAD: each row's token out
            g_d     = '0;
            pc_d    = pc_q;
            state_d = HTok;
          end
        end
      end
      HTok: begin
        g_d = g_q + 7'd1;
        if (g_q + 7'd1 == s_n_q) begin
          pc_d    = pc_q + 4'd1;
          state_d = Dispatch;
        end
      end
      AStart: state_d = AWait;
      AWait: begin
        if (at_done) begin
          g_d     = g_q + 7'd1;
          state_d = AStart;
          if (g_q + 7'd1 == ((prog_q == ProgEnc) ? ns_q : s_n_q)) begin
            pc_d    = pc_q + 4'd1;
            state_d = Dispatch;
          end
        end
      end
      default: state_d = Idle;
    endcase

    if (nm_xiss) begin
      xi_d = xi_q + 16'd1;
    end
    if (nm_miss) begin
      mi_d = mi_q + 14'd1;
    end
    if ((state_q == NX) && nm_av) begin
      oc_d = oc_q + 16'd1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      c_q        <= '0;
      hh_q       <= '0;
      f_q        <= '0;
      s_n_q      <= '0;
      eps_q      <= '0;
      w_q        <= '0;
      k_q        <= '0;
      e_q        <= '0;
      tbl_q      <= 1'b0;
      prog_q     <= '0;
      k2_q       <= '0;
      vt_q       <= '0;
      step_q     <= '0;
      lrow_q     <= '0;
      nd_q       <= '0;
      ns_q       <= '0;
      g_q        <= '0;
      hsw_q      <= '0;
      hacc_q     <= '0;
      pc_q       <= '0;
      xi_q       <= '0;
      mi_q       <= '0;
      oc_q       <= '0;
      ci_q       <= '0;
      rs_q       <= '0;
      msm_q      <= '0;
      ssm_q      <= '0;
      matt_q     <= '0;
      satt_q     <= '0;
      lin_done_q <= 1'b0;
      laddr_q    <= '0;
      lreq_q     <= '0;
      lrsp_q     <= '0;
      lbase_q    <= '0;
      done_o     <= 1'b0;
      err_o      <= 1'b0;
    end else begin
      state_q    <= state_d;
      c_q        <= c_d;
      hh_q       <= hh_d;
      f_q        <= f_d;
      s_n_q      <= s_n_d;
      eps_q      <= eps_d;
      w_q        <= w_d;
      k_q        <= k_d;
      e_q        <= e_d;
      tbl_q      <= tbl_d;
      prog_q     <= prog_d;
      k2_q       <= k2_d;
      vt_q       <= vt_d;
      step_q     <= step_d;
      lrow_q     <= lrow_d;
      nd_q       <= nd_d;
      ns_q       <= ns_d;
      g_q        <= g_d;
      hsw_q      <= hsw_d;
      hacc_q     <= hacc_d;
      pc_q       <= pc_d;
      xi_q       <= xi_d;
      mi_q       <= mi_d;
      oc_q       <= oc_d;
      ci_q       <= ci_d;
      rs_q       <= rs_d;
      msm_q      <= msm_d;
      ssm_q      <= ssm_d;
      matt_q     <= matt_d;
      satt_q     <= satt_d;
      lin_done_q <= lin_done_d;
      laddr_q    <= laddr_d;
      lreq_q     <= lreq_d;
      lrsp_q     <= lrsp_d;
      lbase_q    <= lbase_d;
      done_o     <= done_d;
      err_o      <= err_d;
    end
  end

  assign busy_o = (state_q != Idle);
  assign gemm_o = (state_q == GStart) || (state_q == GRun);

endmodule
