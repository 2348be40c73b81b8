// mtx_plan_seq - reads the image header, the plan header and every layer
// descriptor through the memory port (16-byte beats), validates them as
// docs/engine.md asks, then hands the descriptors, encoder first, to the
// layer datapath (desc_*), each read again from the plan. The first failed
// check ends the run (done_o with err_o = its layout.h status code) with no
// further memory access; a beat is only requested once the buffer length
// has been checked to hold it, so a hostile plan or image never makes the
// engine read outside its buffers. Checks, in order:
//   image  buffer >= 128 B (SIZE); magic, header_bytes (MAGIC); version;
//          file_bytes = buffer, <= MTX_MAX_IMAGE_BYTES (SIZE); C, H, F, Vs,
//          Vt, Ps, Pt in [1, max], C % H = 0, hs <= 128, C and F multiples
//          of 16 (the array's k step) (DIMS). The TOC is not read.
//   plan   buffer >= 64 B (COUNT); magic, header and descriptor sizes (MAGIC);
//          version; image crc and size (IMAGE); n_enc, n_dec in [1, 12] and
//          buffer >= 64 * (1 + n_enc + n_dec) (COUNT); bytes 44..63 (RESERVED).
//   each descriptor  kind for its stack (KIND); C, H, F (DIMS); weight and
//          constant offsets 64-aligned (ALIGN); offset + length inside the
//          image without wrap-around (RANGE); lengths = layout.h formulas
//          (LENGTH); bytes 56..63 (RESERVED).
`default_nettype none

module mtx_plan_seq (
  input  logic         clk_i,
  input  logic         rst_ni,
  input  logic         start_i,
  input  logic [63:0]  img_base_i,
  input  logic [63:0]  img_bytes_i,
  input  logic [63:0]  plan_base_i,
  input  logic [63:0]  plan_bytes_i,
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
  output logic [31:0]  desc_origin_o,
  output logic [63:0]  desc_w_off_o,
  output logic [63:0]  desc_k_off_o
);

  // layout.h status codes
  localparam logic [7:0] EngOk = 8'd0, EngImageMagic = 8'd1, EngImageVersion = 8'd2;
  localparam logic [7:0] EngImageSize = 8'd3, EngImageDims = 8'd4, EngPlanMagic = 8'd6;
  localparam logic [7:0] EngPlanVersion = 8'd7, EngPlanImage = 8'd8, EngPlanCount = 8'd9;
  localparam logic [7:0] EngDescKind = 8'd10, EngDescDims = 8'd11, EngDescRange = 8'd12;
  localparam logic [7:0] EngDescLength = 8'd13, EngDescAlign = 8'd14, EngReserved = 8'd17;
  localparam logic [63:0] ImageMagic = 64'h474D_4958_5444_4F4D;  // "MODTXIMG"
  localparam logic [63:0] PlanMagic = 64'h4E4C_5058_5444_4F4D;   // "MODTXPLN"
  localparam logic [63:0] MaxImageBytes = 64'h4000_0000;
  localparam int unsigned MaxStack = 12;

  typedef enum logic [3:0] {
    Idle, Fetch, ImgHdr, ImgHs, PlanLen, PlanHdr, Desc, Disp, Finish
  } state_e;

  state_e state_q, state_d, ret_q, ret_d;
  logic [1023:0] buf_q;                 // fetched bytes, little-endian
  logic [63:0]  img_bytes_q, plan_base_q, plan_bytes_q;
  logic [63:0]  req_addr_q, req_addr_d;
  logic [3:0]   req_left_q, req_left_d, rsp_idx_q, rsp_idx_d, rsp_left_q, rsp_left_d;
  logic [31:0]  c_q, c_d, h_q, h_d, f_q, f_d, crc_q, crc_d;
  logic [31:0]  rem_q, rem_d, hs_q, hs_d;
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

  // Image header checks.
  logic [7:0] img_err;
  always_comb begin
    img_err = EngOk;
    if (u64(buf_q, 0) != ImageMagic || u32(buf_q, 12) != 32'd128) img_err = EngImageMagic;
    else if (u32(buf_q, 8) != 32'd1) img_err = EngImageVersion;
    else if (u64(buf_q, 16) != img_bytes_q || u64(buf_q, 16) > MaxImageBytes) img_err = EngImageSize;
    else if (u32(buf_q, 40) == 32'd0 || u32(buf_q, 40) > 32'd512 || u32(buf_q, 40) % 32'd16 != 32'd0 ||
             u32(buf_q, 44) == 32'd0 || u32(buf_q, 44) > 32'd8 ||
             u32(buf_q, 48) == 32'd0 || u32(buf_q, 48) > 32'd2048 || u32(buf_q, 48) % 32'd16 != 32'd0 ||
             u32(buf_q, 52) == 32'd0 || u32(buf_q, 52) > 32'd256 ||
             u32(buf_q, 56) == 32'd0 || u32(buf_q, 56) > 32'd256 ||
             u32(buf_q, 60) == 32'd0 || u32(buf_q, 60) > 32'd64 ||
             u32(buf_q, 64) == 32'd0 || u32(buf_q, 64) > 32'd64) img_err = EngImageDims;
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
  logic [63:0] w_off, w_len, k_off, k_len, w_want, k_want, cc, cf;
  always_comb begin
    is_dec = (idx_q >= n_enc_q);
    w_off  = u64(buf_q, 24);
    w_len  = u64(buf_q, 32);
    k_off  = u64(buf_q, 40);
    k_len  = u64(buf_q, 48);
    cc     = 64'(c_q) * 64'(c_q);
    cf     = 64'(c_q) * 64'(f_q);
    w_want = is_dec ? (64'd8 * cc + 64'd2 * cf) : (64'd4 * cc + 64'd2 * cf);
    k_want = is_dec ? 64'd4 * (64'd18 + 64'd12 * 64'(c_q) + 64'(f_q))
                    : 64'd4 * (64'd10 + 64'd7 * 64'(c_q) + 64'(f_q));
    desc_err = EngOk;
    if (u32(buf_q, 0) != (is_dec ? 32'd2 : 32'd1)) desc_err = EngDescKind;
    else if (u32(buf_q, 8) != c_q || u32(buf_q, 12) != h_q || u32(buf_q, 16) != f_q)
      desc_err = EngDescDims;
    else if (w_off[5:0] != 6'd0 || k_off[5:0] != 6'd0) desc_err = EngDescAlign;
    else if (w_off > img_bytes_q || w_len > img_bytes_q - w_off ||
             k_off > img_bytes_q || k_len > img_bytes_q - k_off) desc_err = EngDescRange;
    else if (w_len != w_want || k_len != k_want) desc_err = EngDescLength;
    else if (buf_q[8*56 +: 64] != '0) desc_err = EngReserved;
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
    crc_d      = crc_q;
    rem_d      = rem_q;
    hs_d       = hs_q;
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
          c_d     = u32(buf_q, 40);
          h_d     = u32(buf_q, 44);
          f_d     = u32(buf_q, 48);
          crc_d   = u32(buf_q, 24);
          rem_d   = u32(buf_q, 40);
          hs_d    = '0;
          state_d = ImgHs;
        end
      end
      ImgHs: begin
        // hs = C / H by repeated subtraction (C <= 512: at most 512 cycles)
        if (rem_q >= h_q) begin
          rem_d = rem_q - h_q;
          hs_d  = hs_q + 32'd1;
        end else if (rem_q != 32'd0 || hs_q > 32'd128) begin
          err_d   = EngImageDims;
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
              disp_d     = 1'b1;
              idx_d      = '0;
              req_addr_d = plan_base_q + 64'd64;
              req_left_d = 4'd4;
              rsp_left_d = 4'd4;
              rsp_idx_d  = '0;
              state_d    = Fetch;
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
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= Idle;
      ret_q        <= Idle;
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
      crc_q        <= '0;
      rem_q        <= '0;
      hs_q         <= '0;
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
      crc_q      <= crc_d;
      rem_q      <= rem_d;
      hs_q       <= hs_d;
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
  assign desc_origin_o   = u32(buf_q, 4);
  assign desc_w_off_o    = w_off;
  assign desc_k_off_o    = k_off;

endmodule
