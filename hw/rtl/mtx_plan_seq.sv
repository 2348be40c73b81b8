// mtx_plan_seq - reads the image header, the image's table of contents, the
// plan header and every layer descriptor through the memory port (16-byte
// beats), validates them as docs/engine.md asks, checks the batch registers,
// then hands the descriptors, encoder first, to the layer datapath (desc_*),
// each read again from the plan. The first failed check ends the run (done_o
// with err_o = its layout.h status code) with no further memory access; a
// beat is only requested once the buffer length has been checked to hold it
// (buffers occupy whole 16-byte beats: the last beat of a buffer whose length
// is not a multiple of 16 is read whole), so a hostile plan or image never
// makes the engine read outside its buffers. Checks, in order:
//   image  buffer >= 128 B (SIZE); magic, header_bytes (MAGIC); version;
//          file_bytes = buffer, <= MTX_MAX_IMAGE_BYTES (SIZE); C, H, F, Vs,
//          Vt, Ps, Pt, header n_enc / n_dec in [1, max], C and F multiples
//          of 16 (the array's k step), bos, eos, pad < Vt, pad < Vs,
//          res_frac <= 24, then C % H = 0 and hs <= 128 (DIMS); header bytes
//          96..127 (RESERVED).
//   TOC    toc_count in [1, 512], toc_offset 64-aligned, >= 128, and the
//          entries end the file exactly (IMAGE_TOC); every entry: known type,
//          index 0 for a global section, a valid origin (g in {1, 2, 3, 6},
//          g*j + g <= the header's stack depth) for a layer section, length
//          > 0, offset 64-aligned inside [128, toc_offset), length equal to
//          the layout.h formula; each global section at most once; all nine
//          global sections present (IMAGE_TOC).
//   plan   buffer >= 64 B (COUNT); magic, header and descriptor sizes (MAGIC);
//          version; image crc and size (IMAGE); n_enc, n_dec in [1, 12] and
//          buffer >= 64 * (1 + n_enc + n_dec) (COUNT); bytes 44..63 (RESERVED).
//   each descriptor  kind for its stack (KIND); C, H, F (DIMS); weight and
//          constant offsets 64-aligned (ALIGN); offset + length inside the
//          image without wrap-around (RANGE); lengths = layout.h formulas
//          (LENGTH); bytes 56..63 (RESERVED).
//   batch  n in [1, 64], input and output bases 16-byte aligned, both
//          buffers >= n * 260 bytes (BATCH).
// The header fields and the global section offsets are held on the outputs
// from the end of the TOC check until the next start.
`default_nettype none

module mtx_plan_seq (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         start_i,
  input  logic [63:0]  img_base_i,
  input  logic [63:0]  img_bytes_i,
  input  logic [63:0]  plan_base_i,
  input  logic [63:0]  plan_bytes_i,
  input  logic [63:0]  in_base_i,
  input  logic [63:0]  in_bytes_i,
  input  logic [63:0]  out_base_i,
  input  logic [63:0]  out_bytes_i,
  input  logic [31:0]  n_words_i,
  output logic         busy_o,
  output logic         done_o,
  output logic [7:0]   err_o,
  output logic [7:0]   layers_o,
  // memory read port
  output logic         mem_req_valid_o,
  input  logic         mem_req_ready_i,
  output logic [63:0]  mem_req_addr_o,
  input  logic         mem_rsp_valid_i,
  input  logic [127:0] mem_rsp_data_i,
  // validated descriptors to the layer datapath
  output logic         desc_valid_o,
  input  logic         desc_ready_i,
  output logic [1:0]   desc_kind_o,
  output logic [4:0]   desc_idx_o,     // table slot: encoder 0.., decoder 12..
  output logic [31:0]  desc_origin_o,
  output logic [63:0]  desc_w_off_o,
  output logic [63:0]  desc_k_off_o,
  // the image's header fields and global sections (image byte offsets)
  output logic [9:0]   c_o,
  output logic [3:0]   heads_o,
  output logic [11:0]  f_o,
  output logic [8:0]   vs_o,
  output logic [8:0]   vt_o,
  output logic [6:0]   ps_o,
  output logic [6:0]   pt_o,
  output logic [31:0]  eps_o,
  output logic [7:0]   bos_o,
  output logic [7:0]   eos_o,
  output logic [3:0]   n_enc_o,
  output logic [3:0]   n_dec_o,
  output logic [6:0]   n_words_o,
  output logic [63:0]  src_emb_o,
  output logic [63:0]  src_pos_o,
  output logic [63:0]  tgt_emb_o,
  output logic [63:0]  tgt_pos_o,
  output logic [63:0]  enc_norm_o,
  output logic [63:0]  dec_norm_o,
  output logic [63:0]  lm_head_o,
  output logic [63:0]  lm_req_o,
  output logic [63:0]  exp2_o
);

  // layout.h status codes
  localparam logic [7:0] EngOk = 8'd0, EngImageMagic = 8'd1, EngImageVersion = 8'd2;
  localparam logic [7:0] EngImageSize = 8'd3, EngImageDims = 8'd4, EngImageToc = 8'd5;
  localparam logic [7:0] EngPlanMagic = 8'd6;
  localparam logic [7:0] EngPlanVersion = 8'd7, EngPlanImage = 8'd8, EngPlanCount = 8'd9;
  localparam logic [7:0] EngDescKind = 8'd10, EngDescDims = 8'd11, EngDescRange = 8'd12;
  localparam logic [7:0] EngDescLength = 8'd13, EngDescAlign = 8'd14, EngBatch = 8'd15;
  localparam logic [7:0] EngReserved = 8'd17;
  localparam logic [63:0] ImageMagic = 64'h474D_4958_5444_4F4D;  // "MODTXIMG"
  localparam logic [63:0] PlanMagic = 64'h4E4C_5058_5444_4F4D;   // "MODTXPLN"
  localparam logic [63:0] MaxImageBytes = 64'h4000_0000;
  localparam int unsigned MaxStack = 12;

  typedef enum logic [3:0] {
    Idle, Fetch, ImgHdr, ImgHs, TocHdr, TocNext, TocEnt, TocEnd, PlanLen, PlanHdr, Desc, Batch,
    Finish
  } state_e;

  state_e state_q, state_d, ret_q, ret_d;
  logic [1023:0] buf_q;                 // fetched bytes, little-endian
  logic [63:0]  img_base_q, img_bytes_q, plan_base_q, plan_bytes_q;
  logic [63:0]  req_addr_q, req_addr_d;
  logic [3:0]   req_left_q, req_left_d, rsp_idx_q, rsp_idx_d, rsp_left_q, rsp_left_d;
  logic [31:0]  crc_q, crc_d, eps_q, eps_d;
  logic [9:0]   c_q, c_d;
  logic [3:0]   h_q, h_d, hn_enc_q, hn_enc_d, hn_dec_q, hn_dec_d;
  logic [11:0]  f_q, f_d;
  logic [8:0]   vs_q, vs_d, vt_q, vt_d;
  logic [6:0]   ps_q, ps_d, pt_q, pt_d;
  logic [7:0]   bos_q, bos_d, eos_q, eos_d;
  logic         resv_q, resv_d;         // header bytes 96..127 not all zero
  logic [9:0]   rem_q, rem_d;
  logic [9:0]   hs_q, hs_d;
  logic [9:0]   toc_left_q, toc_left_d; // TOC entries not yet checked
  logic         toc_sub_q, toc_sub_d;   // entry of the fetched pair
  logic [63:0]  toc_off_q, toc_off_d;
  logic [9:0]   seen_q, seen_d;         // global section types seen (bit = type)
  logic [64*10-1:0] sec_q;              // offsets by type (type 0 unused)
  logic         sec_we;
  logic [4:0]   n_enc_q, n_enc_d, n_dec_q, n_dec_d, idx_q, idx_d;
  logic         disp_q, disp_d;         // second pass: dispatching
  logic [7:0]   err_d, layers_d;
  logic         done_d;

  // Fields of the fetched bytes.
  function automatic logic [31:0] u32(input logic [1023:0] b, input int unsigned off);
    u32 = b[8*off +: 32];
  endfunction
  function automatic logic [63:0] u64(input logic [1023:0] b, input int unsigned off);
    u64 = b[8*off +: 64];
  endfunction
  // x in [1, max]
  function automatic logic in1(input logic [31:0] x, input logic [31:0] max);
    in1 = (x != 32'd0) && (x <= max);
  endfunction

  // Image header checks (C % H and hs follow in ImgHs).
  logic [7:0] img_err;
  always_comb begin
    img_err = EngOk;
    if (u64(buf_q, 0) != ImageMagic || u32(buf_q, 12) != 32'd128) img_err = EngImageMagic;
    else if (u32(buf_q, 8) != 32'd1) img_err = EngImageVersion;
    else if (u64(buf_q, 16) != img_bytes_q || u64(buf_q, 16) > MaxImageBytes) img_err = EngImageSize;
    else if (!in1(u32(buf_q, 40), 32'd512) || u32(buf_q, 40) % 32'd16 != 32'd0 ||
             !in1(u32(buf_q, 44), 32'd8) ||
             !in1(u32(buf_q, 48), 32'd2048) || u32(buf_q, 48) % 32'd16 != 32'd0 ||
             !in1(u32(buf_q, 52), 32'd256) || !in1(u32(buf_q, 56), 32'd256) ||
             !in1(u32(buf_q, 60), 32'd64) || !in1(u32(buf_q, 64), 32'd64) ||
             !in1(u32(buf_q, 68), MaxStack) || !in1(u32(buf_q, 72), MaxStack) ||
             u32(buf_q, 76) > 32'd24 ||
             u32(buf_q, 84) >= u32(buf_q, 56) || u32(buf_q, 88) >= u32(buf_q, 56) ||
             u32(buf_q, 92) >= u32(buf_q, 56) || u32(buf_q, 92) >= u32(buf_q, 52))
      img_err = EngImageDims;
  end

  // Layer section and descriptor lengths (layout.h) for this image's C, F.
  logic [63:0] cc, cf, enc_w_len, dec_w_len, enc_k_len, dec_k_len;
  always_comb begin
    cc        = 64'(c_q) * 64'(c_q);
    cf        = 64'(c_q) * 64'(f_q);
    enc_w_len = 64'd4 * cc + 64'd2 * cf;
    dec_w_len = 64'd8 * cc + 64'd2 * cf;
    enc_k_len = 64'd4 * (64'd10 + 64'd7 * 64'(c_q) + 64'(f_q));
    dec_k_len = 64'd4 * (64'd18 + 64'd12 * 64'(c_q) + 64'(f_q));
  end

  // One TOC entry (the first or second of the fetched pair).
  logic [191:0] ent;
  logic [31:0]  e_type, e_index;
  logic [63:0]  e_off, e_len, e_want, e_rows;
  logic         e_global, e_layer, e_origin_ok;
  logic [7:0]   e_g, e_j;
  logic [10:0]  e_gj;
  logic [3:0]   e_depth;
  logic         ent_bad;
  always_comb begin
    ent      = toc_sub_q ? buf_q[192 +: 192] : buf_q[0 +: 192];
    e_type   = ent[31:0];
    e_index  = ent[63:32];
    e_off    = ent[127:64];
    e_len    = ent[191:128];
    e_global = (e_type >= 32'd1) && (e_type <= 32'd9);
    e_layer  = (e_type >= 32'd16) && (e_type <= 32'd19);
    // origin (g << 8) | j of a stack of e_depth layers: g in {1, 2, 3, 6}, g*j + g <= depth
    e_g      = e_index[15:8];
    e_j      = e_index[7:0];
    e_depth  = (e_type <= 32'd17) ? hn_enc_q : hn_dec_q;
    case (e_g)
      8'd1:    e_gj = {3'd0, e_j};
      8'd2:    e_gj = {2'd0, e_j, 1'b0};
      8'd3:    e_gj = {3'd0, e_j} + {2'd0, e_j, 1'b0};
      8'd6:    e_gj = {2'd0, e_j, 1'b0} + {1'b0, e_j, 2'b0};
      default: e_gj = 11'h7ff;
    endcase
    e_origin_ok = (e_index[31:16] == 16'd0) && (e_gj != 11'h7ff) &&
                  (e_gj + 11'(e_g) <= 11'(e_depth));
    case (e_type[4:0])
      5'd1:    e_rows = 64'(vs_q);
      5'd2:    e_rows = 64'(ps_q);
      5'd4:    e_rows = 64'(pt_q);
      default: e_rows = 64'(vt_q);   // 3, 7
    endcase
    case (e_type[4:0])
      5'd1, 5'd2, 5'd3, 5'd4: e_want = 64'd4 * e_rows * 64'(c_q);
      5'd5, 5'd6:             e_want = 64'd4 * (64'(c_q) + 64'd1);
      5'd7:                   e_want = e_rows * 64'(c_q);
      5'd8:                   e_want = 64'd4 * (64'(vt_q) + 64'd1);
      5'd9:                   e_want = 64'd1024;
      5'd16:                  e_want = enc_w_len;
      5'd17:                  e_want = enc_k_len;
      5'd18:                  e_want = dec_w_len;
      5'd19:                  e_want = dec_k_len;
      default:                e_want = 64'd0;
    endcase
    ent_bad = 1'b0;
    if (!e_global && !e_layer) ent_bad = 1'b1;
    else if (e_global && e_index != 32'd0) ent_bad = 1'b1;
    else if (e_layer && !e_origin_ok) ent_bad = 1'b1;
    else if (e_len == 64'd0 || e_off[5:0] != 6'd0) ent_bad = 1'b1;
    else if (e_off < 64'd128 || e_off > toc_off_q || e_len > toc_off_q - e_off) ent_bad = 1'b1;
    else if (e_len != e_want) ent_bad = 1'b1;
    else if (e_global && seen_q[e_type[3:0]]) ent_bad = 1'b1;   // a global section twice
  end

  // Plan header checks (the length check needs n, so it is in PlanHdr).
  logic [7:0] plan_err;
  logic [5:0] n_total;
  always_comb begin
    plan_err = EngOk;
    n_total = 6'(u32(buf_q, 36)) + 6'(u32(buf_q, 40));
    if (u64(buf_q, 0) != PlanMagic || u32(buf_q, 12) != 32'd64 || u32(buf_q, 20) != 32'd64)
      plan_err = EngPlanMagic;
    else if (u32(buf_q, 8) != 32'd1) plan_err = EngPlanVersion;
    else if (u32(buf_q, 16) != crc_q || u64(buf_q, 24) != img_bytes_q) plan_err = EngPlanImage;
    else if (u32(buf_q, 36) == 32'd0 || u32(buf_q, 36) > MaxStack ||
             u32(buf_q, 40) == 32'd0 || u32(buf_q, 40) > MaxStack ||
             plan_bytes_q < 64'd64 * (64'd1 + 64'(n_total))) plan_err = EngPlanCount;
    else if (buf_q[8*44 +: 8*20] != '0) plan_err = EngReserved;
  end

  // Descriptor checks.
  logic [7:0]  desc_err;
  logic        is_dec;
  logic [63:0] w_off, w_len, k_off, k_len, w_want, k_want;
  always_comb begin
    is_dec = (idx_q >= n_enc_q);
    w_off  = u64(buf_q, 24);
    w_len  = u64(buf_q, 32);
    k_off  = u64(buf_q, 40);
    k_len  = u64(buf_q, 48);
    w_want = is_dec ? dec_w_len : enc_w_len;
    k_want = is_dec ? dec_k_len : enc_k_len;
    desc_err = EngOk;
    if (u32(buf_q, 0) != (is_dec ? 32'd2 : 32'd1)) desc_err = EngDescKind;
    else if (u32(buf_q, 8) != 32'(c_q) || u32(buf_q, 12) != 32'(h_q) || u32(buf_q, 16) != 32'(f_q))
      desc_err = EngDescDims;
    else if (w_off[5:0] != 6'd0 || k_off[5:0] != 6'd0) desc_err = EngDescAlign;
    else if (w_off > img_bytes_q || w_len > img_bytes_q - w_off ||
             k_off > img_bytes_q || k_len > img_bytes_q - k_off) desc_err = EngDescRange;
    else if (w_len != w_want || k_len != k_want) desc_err = EngDescLength;
    else if (buf_q[8*56 +: 64] != '0) desc_err = EngReserved;
  end

  // Batch checks: n words of MTX_IO_STRIDE int32 (260 bytes) in and out.
  logic [63:0] io_bytes;
  logic        batch_bad;
  always_comb begin
    io_bytes  = 64'd260 * 64'(n_words_i[6:0]);
    batch_bad = (n_words_i == 32'd0) || (n_words_i > 32'd64) ||
                (in_base_i[3:0] != 4'd0) || (out_base_i[3:0] != 4'd0) ||
                (in_bytes_i < io_bytes) || (out_bytes_i < io_bytes);
  end

  logic [63:0] desc_addr;
  assign desc_addr = plan_base_q + 64'd64 + 64'd64 * 64'(idx_q);

  always_comb begin
    state_d    = state_q;
    ret_d      = ret_q;
    req_addr_d = req_addr_q;
    req_left_d = req_left_q;
    rsp_idx_d  = rsp_idx_q;
    rsp_left_d = rsp_left_q;
    c_d        = c_q;
    h_d        = h_q;
    f_d        = f_q;
    vs_d       = vs_q;
    vt_d       = vt_q;
    ps_d       = ps_q;
    pt_d       = pt_q;
    eps_d      = eps_q;
    bos_d      = bos_q;
    eos_d      = eos_q;
    hn_enc_d   = hn_enc_q;
    hn_dec_d   = hn_dec_q;
    resv_d     = resv_q;
    crc_d      = crc_q;
    rem_d      = rem_q;
    hs_d       = hs_q;
    toc_left_d = toc_left_q;
    toc_sub_d  = toc_sub_q;
    toc_off_d  = toc_off_q;
    seen_d     = seen_q;
    sec_we     = 1'b0;
    n_enc_d    = n_enc_q;
    n_dec_d    = n_dec_q;
    idx_d      = idx_q;
    disp_d     = disp_q;
    err_d      = err_o;
    layers_d   = layers_o;
    done_d     = 1'b0;

    if (mem_req_valid_o && mem_req_ready_i) begin
      req_addr_d = req_addr_q + 64'd16;
      req_left_d = req_left_q - 4'd1;
    end

    case (state_q)
      Idle: begin
        if (start_i) begin
          err_d    = EngOk;
          layers_d = '0;
          disp_d   = 1'b0;
          seen_d   = '0;
          if (img_bytes_i < 64'd128) begin
            err_d   = EngImageSize;
            state_d = Finish;
          end else begin
            req_addr_d = img_base_i;
            req_left_d = 4'd8;
            rsp_left_d = 4'd8;
            rsp_idx_d  = '0;
            ret_d      = ImgHdr;
            state_d    = Fetch;
          end
        end
      end
      Fetch: begin
        if (mem_rsp_valid_i) begin
          rsp_idx_d  = rsp_idx_q + 4'd1;
          rsp_left_d = rsp_left_q - 4'd1;
          if (rsp_left_q == 4'd1) begin
            state_d = ret_q;
          end
        end
      end
      ImgHdr: begin
        if (img_err != EngOk) begin
          err_d   = img_err;
          state_d = Finish;
        end else begin
          c_d        = buf_q[8*40 +: 10];
          h_d        = buf_q[8*44 +: 4];
          f_d        = buf_q[8*48 +: 12];
          vs_d       = buf_q[8*52 +: 9];
          vt_d       = buf_q[8*56 +: 9];
          ps_d       = buf_q[8*60 +: 7];
          pt_d       = buf_q[8*64 +: 7];
          hn_enc_d   = buf_q[8*68 +: 4];
          hn_dec_d   = buf_q[8*72 +: 4];
          eps_d      = u32(buf_q, 80);
          bos_d      = buf_q[8*84 +: 8];
          eos_d      = buf_q[8*88 +: 8];
          crc_d      = u32(buf_q, 24);
          resv_d     = (buf_q[8*96 +: 8*32] != '0);
          toc_left_d = (u32(buf_q, 28) > 32'd512) ? 10'd0 : buf_q[8*28 +: 10];
          toc_off_d  = u64(buf_q, 32);
          rem_d      = buf_q[8*40 +: 10];
          hs_d       = '0;
          // toc_count out of [1, 512] is kept as 0 (refused in TocHdr)
          state_d    = ImgHs;
        end
      end
      ImgHs: begin
        // hs = C / H by repeated subtraction (C <= 512: at most 512 cycles)
        if (rem_q >= 10'(h_q)) begin
          rem_d = rem_q - 10'(h_q);
          hs_d  = hs_q + 10'd1;
        end else if (rem_q != 10'd0 || hs_q > 10'd128) begin
          err_d   = EngImageDims;
          state_d = Finish;
        end else begin
          state_d = TocHdr;
        end
      end
      TocHdr: begin
        // the entries must end the file: toc_offset + 24 * count = file_bytes
        if (resv_q) begin
          err_d   = EngReserved;
          state_d = Finish;
        end else if (toc_left_q == 10'd0 || toc_off_q[5:0] != 6'd0 || toc_off_q < 64'd128 ||
                     toc_off_q > img_bytes_q ||
                     img_bytes_q - toc_off_q != 64'd24 * 64'(toc_left_q)) begin
          err_d   = EngImageToc;
          state_d = Finish;
        end else begin
          req_addr_d = img_base_q + toc_off_q;
          state_d    = TocNext;
        end
      end
      TocNext: begin
        // the next pair of entries: 48 bytes = 3 beats (the last single entry 2)
        req_left_d = (toc_left_q == 10'd1) ? 4'd2 : 4'd3;
        rsp_left_d = (toc_left_q == 10'd1) ? 4'd2 : 4'd3;
        rsp_idx_d  = '0;
        toc_sub_d  = 1'b0;
        ret_d      = TocEnt;
        state_d    = Fetch;
      end
      TocEnt: begin
        if (ent_bad) begin
          err_d   = EngImageToc;
          state_d = Finish;
        end else begin
          if (e_global) begin
            seen_d[e_type[3:0]] = 1'b1;
            sec_we = 1'b1;
          end
          toc_left_d = toc_left_q - 10'd1;
          toc_sub_d  = ~toc_sub_q;
          if (toc_left_q == 10'd1) state_d = TocEnd;
          else if (toc_sub_q) state_d = TocNext;
        end
      end
      TocEnd: begin
        if (seen_q != 10'h3fe) begin
          err_d   = EngImageToc;
          state_d = Finish;
        end else begin
          state_d = PlanLen;
        end
      end
      PlanLen: begin
        if (plan_bytes_q < 64'd64) begin
          err_d   = EngPlanCount;
          state_d = Finish;
        end else begin
          req_addr_d = plan_base_q;
          req_left_d = 4'd4;
          rsp_left_d = 4'd4;
          rsp_idx_d  = '0;
          ret_d      = PlanHdr;
          state_d    = Fetch;
        end
      end
      PlanHdr: begin
        if (plan_err != EngOk) begin
          err_d   = plan_err;
          state_d = Finish;
        end else begin
          n_enc_d    = 5'(u32(buf_q, 36));
          n_dec_d    = 5'(u32(buf_q, 40));
          idx_d      = '0;
          req_addr_d = plan_base_q + 64'd64;
          req_left_d = 4'd4;
          rsp_left_d = 4'd4;
          rsp_idx_d  = '0;
          ret_d      = Desc;
          state_d    = Fetch;
        end
      end
      Desc: begin
        if (!disp_q && desc_err != EngOk) begin
          err_d   = desc_err;
          state_d = Finish;
        end else if (!disp_q || desc_ready_i) begin
          if (disp_q) begin
            layers_d = layers_o + 8'd1;
          end
          if (idx_q + 5'd1 == n_enc_q + n_dec_q) begin
            if (disp_q) begin
              state_d = Finish;
            end else begin
              state_d = Batch;
            end
          end else begin
            idx_d      = idx_q + 5'd1;
            req_addr_d = desc_addr + 64'd64;
            req_left_d = 4'd4;
            rsp_left_d = 4'd4;
            rsp_idx_d  = '0;
            state_d    = Fetch;
          end
        end
      end
      Batch: begin
        if (batch_bad) begin
          err_d   = EngBatch;
          state_d = Finish;
        end else begin
          disp_d     = 1'b1;
          idx_d      = '0;
          req_addr_d = plan_base_q + 64'd64;
          req_left_d = 4'd4;
          rsp_left_d = 4'd4;
          rsp_idx_d  = '0;
          ret_d      = Desc;
          state_d    = Fetch;
        end
      end
      Finish: begin
        done_d  = 1'b1;
        state_d = Idle;
      end
      default: state_d = Idle;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (state_q == Fetch && mem_rsp_valid_i) begin
      buf_q[128*rsp_idx_q[2:0] +: 128] <= mem_rsp_data_i;
    end
    if (sec_we) begin
      sec_q[64*e_type[3:0] +: 64] <= e_off;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= Idle;
      ret_q        <= Idle;
      img_base_q   <= '0;
      img_bytes_q  <= '0;
      plan_base_q  <= '0;
      plan_bytes_q <= '0;
      req_addr_q   <= '0;
      req_left_q   <= '0;
      rsp_idx_q    <= '0;
      rsp_left_q   <= '0;
      c_q          <= '0;
      h_q          <= '0;
      f_q          <= '0;
      vs_q         <= '0;
      vt_q         <= '0;
      ps_q         <= '0;
      pt_q         <= '0;
      eps_q        <= '0;
      bos_q        <= '0;
      eos_q        <= '0;
      hn_enc_q     <= '0;
      hn_dec_q     <= '0;
      resv_q       <= 1'b0;
      crc_q        <= '0;
      rem_q        <= '0;
      hs_q         <= '0;
      toc_left_q   <= '0;
      toc_sub_q    <= 1'b0;
      toc_off_q    <= '0;
      seen_q       <= '0;
      n_enc_q      <= '0;
      n_dec_q      <= '0;
      idx_q        <= '0;
      disp_q       <= 1'b0;
      err_o        <= '0;
      layers_o     <= '0;
      done_o       <= 1'b0;
    end else begin
      state_q  <= state_d;
      ret_q    <= ret_d;
      if (state_q == Idle && start_i) begin
        img_base_q   <= img_base_i;
        img_bytes_q  <= img_bytes_i;
        plan_base_q  <= plan_base_i;
        plan_bytes_q <= plan_bytes_i;
      end
      req_addr_q <= req_addr_d;
      req_left_q <= req_left_d;
      rsp_idx_q  <= rsp_idx_d;
      rsp_left_q <= rsp_left_d;
      c_q        <= c_d;
      h_q        <= h_d;
      f_q        <= f_d;
      vs_q       <= vs_d;
      vt_q       <= vt_d;
      ps_q       <= ps_d;
      pt_q       <= pt_d;
      eps_q      <= eps_d;
      bos_q      <= bos_d;
      eos_q      <= eos_d;
      hn_enc_q   <= hn_enc_d;
      hn_dec_q   <= hn_dec_d;
      resv_q     <= resv_d;
      crc_q      <= crc_d;
      rem_q      <= rem_d;
      hs_q       <= hs_d;
      toc_left_q <= toc_left_d;
      toc_sub_q  <= toc_sub_d;
      toc_off_q  <= toc_off_d;
      seen_q     <= seen_d;
      n_enc_q    <= n_enc_d;
      n_dec_q    <= n_dec_d;
      idx_q      <= idx_d;
      disp_q     <= disp_d;
      err_o      <= err_d;
      layers_o   <= layers_d;
      done_o     <= done_d;
    end
  end

  assign mem_req_valid_o = (state_q == Fetch) && (req_left_q != 4'd0);
  assign mem_req_addr_o  = req_addr_q;
  assign busy_o          = (state_q != Idle);
  assign desc_valid_o    = (state_q == Desc) && disp_q;
  assign desc_kind_o     = is_dec ? 2'd2 : 2'd1;
  assign desc_idx_o      = is_dec ? (idx_q - n_enc_q + 5'd12) : idx_q;
  assign desc_origin_o   = u32(buf_q, 4);
  assign desc_w_off_o    = w_off;
  assign desc_k_off_o    = k_off;
  assign c_o             = c_q;
  assign heads_o         = h_q;
  assign f_o             = f_q;
  assign vs_o            = vs_q;
  assign vt_o            = vt_q;
  assign ps_o            = ps_q;
  assign pt_o            = pt_q;
  assign eps_o           = eps_q;
  assign bos_o           = bos_q;
  assign eos_o           = eos_q;
  assign n_enc_o         = n_enc_q[3:0];
  assign n_dec_o         = n_dec_q[3:0];
  assign n_words_o       = n_words_i[6:0];
  assign src_emb_o       = sec_q[64*1 +: 64];
  assign src_pos_o       = sec_q[64*2 +: 64];
  assign tgt_emb_o       = sec_q[64*3 +: 64];
  assign tgt_pos_o       = sec_q[64*4 +: 64];
  assign enc_norm_o      = sec_q[64*5 +: 64];
  assign dec_norm_o      = sec_q[64*6 +: 64];
  assign lm_head_o       = sec_q[64*7 +: 64];
  assign lm_req_o        = sec_q[64*8 +: 64];
  assign exp2_o          = sec_q[64*9 +: 64];

  logic unused;
  assign unused = ^{sec_q[63:0], in_base_i[63:4], out_base_i[63:4], n_enc_q[4], n_dec_q[4], e_type[31:5]};

endmodule
