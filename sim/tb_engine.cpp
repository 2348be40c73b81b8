// tb_engine - mtx_engine through its AXI4-lite registers with images and
// plans built here from host/format/layout.h: two valid plans (the shipped
// shape C 128, H 4, F 512 with 2 + 2 layers; C 16, H 1, F 16 with 12 + 12)
// over images with a full TOC (nine global sections and the layers'
// weights and constants), whose descriptors must come out on the layer port
// in plan order with their table slots (encoder 0.., decoder 12..), and
// whose header fields and global section offsets must be on the outputs;
// and one hostile variant per check (magic, version, sizes, dims, reserved
// bytes, every TOC check, counts, crc, kinds, alignment, range with and
// without 64-bit wrap-around, lengths, the batch registers, buffers shorter
// than their headers): each must end with its layout.h status, no
// descriptor handed out, no beat outside the buffers (mem_model.h exits 3;
// the batch buffers are not in memory at all) and exactly the beats read up
// to the failed check. A second start after an error runs clean.
// With arguments IMAGE PLAN...: the exported image and its plans through the
// engine; the section offsets, header fields and descriptors must equal the
// host parser's (mtx_image_parse, mtx_image_find, mtx_plan_load).
#include "Vmtx_engine.h"
#include "format/layout.h"
#include "mem_model.h"
#include "axil.h"
#include "sim_util.h"

extern "C" {
#include "format/image.h"
#include "format/plan.h"
}

#include <fstream>
#include <functional>
#include <vector>

static const uint64_t IMG = 0x10000000ull, PLAN = 0x80000000ull;
static const uint64_t IN = 0x20000000ull, OUT = 0x30000000ull;
static const uint32_t VS = 40, VT = 48, PS = 32, PT = 32;

typedef std::vector<uint8_t> Bytes;
static void put32(Bytes &b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}
static void put64(Bytes &b, size_t off, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

struct Setup {
    Bytes img, plan;
    uint64_t img_bytes, plan_bytes; // what the registers say
    std::vector<uint64_t> w_off;    // per descriptor, plan order
    uint64_t sec[MTX_SEC_EXP2 + 1] = {0};
    uint64_t toc = 0;
    uint32_t count = 0;
    // batch registers
    uint64_t in_base = IN, in_bytes = 0, out_base = OUT, out_bytes = 0;
    uint32_t n = 4;
    size_t entry(uint32_t i) const { return toc + (size_t)MTX_TOC_ENTRY_BYTES * i; }
};

// Beats of the TOC (pairs of entries: 3 beats, a last single one: 2) and up
// to and including entry e.
static uint64_t toc_beats(uint32_t count) { return 3ull * (count / 2) + 2ull * (count % 2); }
static uint64_t entry_beats(const Setup &s, uint32_t e)
{
    return 8 + 3ull * (e / 2) + (s.count - (e / 2) * 2 >= 2 ? 3 : 2);
}
static uint64_t global_len(uint32_t t, uint32_t C)
{
    switch (t) {
    case MTX_SEC_SRC_EMB: return 4ull * VS * C;
    case MTX_SEC_SRC_POS: return 4ull * PS * C;
    case MTX_SEC_TGT_EMB: return 4ull * VT * C;
    case MTX_SEC_TGT_POS: return 4ull * PT * C;
    case MTX_SEC_ENC_NORM:
    case MTX_SEC_DEC_NORM: return 4ull * MTX_REQ_WORDS(C);
    case MTX_SEC_LM_HEAD: return (uint64_t)VT * C;
    case MTX_SEC_LM_REQ: return 4ull * MTX_REQ_WORDS(VT);
    default: return 4ull * MTX_EXP2_ENTRIES;
    }
}

// A valid image (header, global and layer sections with contents zero, and
// the TOC that ends it; omit: a global section type left out) and a plan
// over it.
static Setup make(uint32_t C, uint32_t H, uint32_t F, int n_enc, int n_dec, uint32_t omit = 0)
{
    Setup s;
    uint64_t off = MTX_IMAGE_HEADER_BYTES;
    struct E { uint32_t type, index; uint64_t off, len; };
    std::vector<E> toc;
    for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2; t++) {
        uint64_t len = global_len(t, C);
        if (t != omit) {
            toc.push_back({t, 0, off, len});
            s.sec[t] = off;
        }
        off = (off + len + 63) / 64 * 64;
    }
    struct L { uint32_t kind; uint64_t w, wl, k, kl; };
    std::vector<L> ls;
    for (int i = 0; i < n_enc + n_dec; i++) {
        bool dec = i >= n_enc;
        L l;
        l.kind = dec ? MTX_KIND_DEC : MTX_KIND_ENC;
        l.wl = dec ? MTX_DEC_W_BYTES(C, F) : MTX_ENC_W_BYTES(C, F);
        l.kl = 4 * (dec ? MTX_DEC_K_WORDS(C, F) : MTX_ENC_K_WORDS(C, F));
        l.w = off;
        off = (off + l.wl + 63) / 64 * 64;
        l.k = off;
        off = (off + l.kl + 63) / 64 * 64;
        ls.push_back(l);
        uint32_t j = dec ? i - n_enc : i, wt = dec ? MTX_SEC_DEC_WEIGHTS : MTX_SEC_ENC_WEIGHTS;
        toc.push_back({wt, MTX_ORIGIN(1, j), l.w, l.wl});
        toc.push_back({wt + 1, MTX_ORIGIN(1, j), l.k, l.kl});
    }
    s.toc = off;
    s.count = (uint32_t)toc.size();
    off += MTX_TOC_ENTRY_BYTES * toc.size();
    s.img.assign(off, 0);
    for (size_t i = 0; i < toc.size(); i++) {
        size_t e = s.entry((uint32_t)i);
        put32(s.img, e + MTX_TOC_TYPE, toc[i].type);
        put32(s.img, e + MTX_TOC_INDEX, toc[i].index);
        put64(s.img, e + MTX_TOC_OFFSET, toc[i].off);
        put64(s.img, e + MTX_TOC_LENGTH, toc[i].len);
    }
    put32(s.img, MTX_IH_TOC_COUNT, s.count);
    put64(s.img, MTX_IH_TOC_OFFSET, s.toc);
    put32(s.img, MTX_IH_ENC_LAYERS, n_enc);
    put32(s.img, MTX_IH_DEC_LAYERS, n_dec);
    put32(s.img, MTX_IH_RES_FRAC, 14);
    put32(s.img, MTX_IH_EPS_Q, 34360);
    put32(s.img, MTX_IH_BOS, 1);
    put32(s.img, MTX_IH_EOS, 2);
    s.in_bytes = s.out_bytes = 260ull * s.n;
    std::memcpy(&s.img[MTX_IH_MAGIC], MTX_IMAGE_MAGIC, 8);
    put32(s.img, MTX_IH_VERSION, MTX_IMAGE_VERSION);
    put32(s.img, MTX_IH_HEADER_BYTES, MTX_IMAGE_HEADER_BYTES);
    put64(s.img, MTX_IH_FILE_BYTES, off);
    put32(s.img, MTX_IH_CRC32, 0x1234abcdu);
    put32(s.img, MTX_IH_D_MODEL, C);
    put32(s.img, MTX_IH_HEADS, H);
    put32(s.img, MTX_IH_D_FF, F);
    put32(s.img, MTX_IH_SRC_VOCAB, VS);
    put32(s.img, MTX_IH_TGT_VOCAB, VT);
    put32(s.img, MTX_IH_SRC_POS, PS);
    put32(s.img, MTX_IH_TGT_POS, PT);
    s.img_bytes = off;
    s.plan.assign(MTX_PLAN_HEADER_BYTES + MTX_DESC_BYTES * ls.size(), 0);
    std::memcpy(&s.plan[MTX_PH_MAGIC], MTX_PLAN_MAGIC, 8);
    put32(s.plan, MTX_PH_VERSION, MTX_PLAN_VERSION);
    put32(s.plan, MTX_PH_HEADER_BYTES, MTX_PLAN_HEADER_BYTES);
    put32(s.plan, MTX_PH_IMAGE_CRC, 0x1234abcdu);
    put32(s.plan, MTX_PH_DESC_BYTES, MTX_DESC_BYTES);
    put64(s.plan, MTX_PH_IMAGE_BYTES, off);
    put32(s.plan, MTX_PH_N_ENC, n_enc);
    put32(s.plan, MTX_PH_N_DEC, n_dec);
    for (size_t i = 0; i < ls.size(); i++) {
        size_t d = MTX_PLAN_HEADER_BYTES + MTX_DESC_BYTES * i;
        put32(s.plan, d + MTX_D_KIND, ls[i].kind);
        put32(s.plan, d + MTX_D_ORIGIN, MTX_ORIGIN(1, i));
        put32(s.plan, d + MTX_D_D_MODEL, C);
        put32(s.plan, d + MTX_D_HEADS, H);
        put32(s.plan, d + MTX_D_D_FF, F);
        put32(s.plan, d + MTX_D_SPAN, 1);
        put64(s.plan, d + MTX_D_W_OFFSET, ls[i].w);
        put64(s.plan, d + MTX_D_W_BYTES, ls[i].wl);
        put64(s.plan, d + MTX_D_K_OFFSET, ls[i].k);
        put64(s.plan, d + MTX_D_K_BYTES, ls[i].kl);
        s.w_off.push_back(ls[i].w);
    }
    s.plan_bytes = s.plan.size();
    return s;
}

struct Bench {
    mtxsim::Harness<Vmtx_engine> &h;
    mtxsim::Rng rng{0x5eed0009};
    mtxsim::MemModel *mem = nullptr;
    std::vector<uint64_t> got_w, got_k;
    std::vector<uint32_t> got_idx;
    bool aw_fire = false, ar_fire = false, r_fire = false, b_fire = false;
    uint32_t rdata = 0;

    explicit Bench(mtxsim::Harness<Vmtx_engine> &hh) : h(hh) {}
    void step()
    {
        Vmtx_engine *m = h.m;
        mem->present(m);
        m->layer_ready_i = rng.range(0, 2) != 0;
        m->eval();
        mem->commit(m);
        aw_fire = m->awvalid_i && m->awready_o;
        ar_fire = m->arvalid_i && m->arready_o;
        r_fire = m->rvalid_o && m->rready_i;
        b_fire = m->bvalid_o && m->bready_i;
        rdata = m->rdata_o;
        if (m->layer_valid_o && m->layer_ready_i) {
            got_w.push_back(m->layer_w_off_o);
            got_k.push_back(m->layer_k_off_o);
            got_idx.push_back(m->layer_idx_o);
        }
        h.tick();
    }
    void write(uint8_t addr, uint32_t v) { mtxsim::axil_write(*this, addr, v); }
    uint32_t read(uint8_t addr) { return mtxsim::axil_read(*this, addr); }
    // One run; returns the ERROR register; beats and layers through pointers.
    uint32_t run(const Setup &s, uint64_t *beats, uint32_t *layers, uint64_t *cycles)
    {
        mtxsim::MemModel mm(rng.next(), (int)rng.range(1, 6), 20);
        mm.add("image", IMG, s.img);
        mm.add("plan", PLAN, s.plan);
        mem = &mm;
        got_w.clear();
        got_k.clear();
        got_idx.clear();
        const uint64_t regs[8] = {IMG, s.img_bytes, PLAN, s.plan_bytes, s.in_base, s.in_bytes, s.out_base, s.out_bytes};
        for (int i = 0; i < 8; i++) {
            write((uint8_t)(0x20 + 8 * i), (uint32_t)regs[i]);
            write((uint8_t)(0x24 + 8 * i), (uint32_t)(regs[i] >> 32));
        }
        write(0x60, s.n);
        for (int i = 0; i < 8; i++) {
            uint64_t v = read((uint8_t)(0x20 + 8 * i)) | (uint64_t)read((uint8_t)(0x24 + 8 * i)) << 32;
            if (v != regs[i])
                h.fail("register 0x%02x reads 0x%llx, written 0x%llx", 0x20 + 8 * i, (unsigned long long)v,
                       (unsigned long long)regs[i]);
        }
        if (read(0x60) != s.n)
            h.fail("register 0x60 (WORDS) reads %u, written %u", read(0x60), s.n);
        write(0x00, 1);
        while (!(read(0x04) & 2u))
            ;
        uint32_t err = read(0x08);
        *layers = read(0x0c);
        *cycles = read(0x10) | (uint64_t)read(0x14) << 32;
        *beats = mm.beats;
        for (int i = 0; i < 10; i++)
            step();
        mem = nullptr;
        return err;
    }
};

struct Hostile {
    const char *what;
    uint32_t want;
    std::function<uint64_t(const Setup &)> beats; // beats read up to and including the failed check
    std::function<void(Setup &)> edit;
};

static uint64_t sec_out(Vmtx_engine *m, uint32_t t)
{
    uint32_t w = 2 * (t - 1);
    return (uint64_t)m->img_sec_o[w] | (uint64_t)m->img_sec_o[w + 1] << 32;
}

// Header fields and section offsets on the outputs against the expected ones.
static void check_image_outputs(mtxsim::Harness<Vmtx_engine> &h, const char *what, const mtx_image_dims &d,
                                const uint64_t *sec)
{
    Vmtx_engine *m = h.m;
    const uint32_t got[10] = {m->img_c_o, m->img_heads_o, m->img_f_o, m->img_vs_o, m->img_vt_o,
                              m->img_ps_o, m->img_pt_o, m->img_eps_o, m->img_bos_o, m->img_eos_o};
    const uint32_t want[10] = {d.C, d.H, d.F, d.Vs, d.Vt, d.Ps, d.Pt, d.eps_q, d.bos, d.eos};
    static const char *names[10] = {"C", "H", "F", "Vs", "Vt", "Ps", "Pt", "eps", "bos", "eos"};
    for (int i = 0; i < 10; i++)
        if (got[i] != want[i])
            h.fail("%s: header field %s is %u, want %u", what, names[i], got[i], want[i]);
    for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2; t++)
        if (sec_out(m, t) != sec[t])
            h.fail("%s: section type %u at %llu, want %llu", what, t, (unsigned long long)sec_out(m, t),
                   (unsigned long long)sec[t]);
}

static Bytes read_file(const char *path)
{
    std::ifstream f(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_engine> h(argc, argv, "tb_engine", 5000000);
    Bench b(h);
    h.reset();
    int runs = 0;
    const size_t D0 = MTX_PLAN_HEADER_BYTES, D2 = MTX_PLAN_HEADER_BYTES + 2 * MTX_DESC_BYTES;
    // Valid plans.
    const uint32_t shapes[2][5] = {{128, 4, 512, 2, 2}, {16, 1, 16, 12, 12}};
    for (auto &sh : shapes) {
        Setup s = make(sh[0], sh[1], sh[2], (int)sh[3], (int)sh[4]);
        uint64_t beats, cycles;
        uint32_t layers;
        uint32_t err = b.run(s, &beats, &layers, &cycles);
        uint32_t n = sh[3] + sh[4];
        std::vector<uint32_t> idx;
        for (uint32_t i = 0; i < n; i++)
            idx.push_back(i < sh[3] ? i : MTX_MAX_STACK_LAYERS + i - sh[3]);
        if (err != MTX_ENG_OK || layers != n || b.got_w != s.w_off || b.got_idx != idx ||
            beats != 12 + toc_beats(s.count) + 8ull * n)
            h.fail("valid plan C %u n %u: status %u, %u layers, %llu beats", sh[0], n, err, layers,
                   (unsigned long long)beats);
        mtx_image_dims d = {};
        d.C = sh[0], d.H = sh[1], d.F = sh[2], d.Vs = VS, d.Vt = VT, d.Ps = PS, d.Pt = PT;
        d.eps_q = 34360, d.bos = 1, d.eos = 2;
        check_image_outputs(h, "valid plan", d, s.sec);
        std::printf("tb_engine: valid plan C %u, %u layers, %u TOC entries: %llu cycles, %llu beats\n", sh[0], n,
                    s.count, (unsigned long long)cycles, (unsigned long long)beats);
        runs++;
    }
    auto at = [](uint64_t v) { return [v](const Setup &) { return v; }; };
    auto after_toc = [](uint64_t extra) { return [extra](const Setup &s) { return 8 + toc_beats(s.count) + extra; }; };
    auto at_entry = [](uint32_t e) { return [e](const Setup &s) { return entry_beats(s, e); }; };
    // TOC entries of make(): globals 1..9 at 0..8, then per layer weights, constants.
    const uint32_t E_EXP2 = 8, E_W0 = 9, E_K0 = 10, E_DK1 = 16;
    const std::vector<Hostile> hs = {
        {"image shorter than its header", MTX_ENG_IMAGE_SIZE, at(0), [](Setup &s) { s.img.resize(64); s.img_bytes = 64; }},
        {"image magic", MTX_ENG_IMAGE_MAGIC, at(8), [](Setup &s) { s.img[3] ^= 1; }},
        {"image header_bytes", MTX_ENG_IMAGE_MAGIC, at(8), [](Setup &s) { put32(s.img, MTX_IH_HEADER_BYTES, 64); }},
        {"image version", MTX_ENG_IMAGE_VERSION, at(8), [](Setup &s) { put32(s.img, MTX_IH_VERSION, 2); }},
        {"file_bytes != buffer", MTX_ENG_IMAGE_SIZE, at(8), [](Setup &s) { s.img_bytes -= 64; }},
        {"file_bytes over 1 GiB", MTX_ENG_IMAGE_SIZE, at(8),
         [](Setup &s) { s.img_bytes = 1ull << 31; put64(s.img, MTX_IH_FILE_BYTES, 1ull << 31); }},
        {"C zero", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 0); }},
        {"C over maximum", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 1024); }},
        {"C % H", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_HEADS, 3); }},
        {"hs over maximum", MTX_ENG_IMAGE_DIMS, at(8),
         [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 256); put32(s.img, MTX_IH_HEADS, 1); }},
        {"F not a multiple of 16", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_D_FF, 520 - 4); }},
        {"Vs over maximum", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_SRC_VOCAB, 257); }},
        {"Pt zero", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_TGT_POS, 0); }},
        {"header n_enc zero", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_ENC_LAYERS, 0); }},
        {"header n_dec over maximum", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_DEC_LAYERS, 13); }},
        {"bos = Vt", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_BOS, VT); }},
        {"eos over Vt", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_EOS, 1000); }},
        {"pad = Vs", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_PAD, VS); }},
        {"res_frac 25", MTX_ENG_IMAGE_DIMS, at(8), [](Setup &s) { put32(s.img, MTX_IH_RES_FRAC, 25); }},
        {"image header reserved", MTX_ENG_RESERVED, at(8), [](Setup &s) { s.img[127] = 1; }},
        {"C % H before reserved", MTX_ENG_IMAGE_DIMS, at(8),
         [](Setup &s) { s.img[100] = 1; put32(s.img, MTX_IH_HEADS, 3); }},
        {"toc_count zero", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put32(s.img, MTX_IH_TOC_COUNT, 0); }},
        {"toc_count over 512", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put32(s.img, MTX_IH_TOC_COUNT, 513); }},
        {"toc_count 2^32 - 1", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put32(s.img, MTX_IH_TOC_COUNT, ~0u); }},
        {"toc_count one short (TOC does not end the file)", MTX_ENG_IMAGE_TOC, at(8),
         [](Setup &s) { put32(s.img, MTX_IH_TOC_COUNT, s.count - 1); }},
        {"toc_offset misaligned", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put64(s.img, MTX_IH_TOC_OFFSET, s.toc + 16); }},
        {"toc_offset in the header", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put64(s.img, MTX_IH_TOC_OFFSET, 64); }},
        {"toc_offset past the end", MTX_ENG_IMAGE_TOC, at(8),
         [](Setup &s) { put64(s.img, MTX_IH_TOC_OFFSET, s.img_bytes + 64); }},
        {"toc_offset wraps", MTX_ENG_IMAGE_TOC, at(8), [](Setup &s) { put64(s.img, MTX_IH_TOC_OFFSET, ~0ull - 63); }},
        {"entry of unknown type", MTX_ENG_IMAGE_TOC, at_entry(3), [](Setup &s) { put32(s.img, s.entry(3), 10); }},
        {"entry of type 0", MTX_ENG_IMAGE_TOC, at_entry(0), [](Setup &s) { put32(s.img, s.entry(0), 0); }},
        {"global section with index 1", MTX_ENG_IMAGE_TOC, at_entry(E_EXP2),
         [=](Setup &s) { put32(s.img, s.entry(E_EXP2) + MTX_TOC_INDEX, 1); }},
        {"layer origin g = 4", MTX_ENG_IMAGE_TOC, at_entry(E_W0),
         [=](Setup &s) { put32(s.img, s.entry(E_W0) + MTX_TOC_INDEX, MTX_ORIGIN(4, 0)); }},
        {"layer origin j past the stack", MTX_ENG_IMAGE_TOC, at_entry(E_K0),
         [=](Setup &s) { put32(s.img, s.entry(E_K0) + MTX_TOC_INDEX, MTX_ORIGIN(1, 2)); }},
        {"layer origin of a 2-module past the stack", MTX_ENG_IMAGE_TOC, at_entry(E_K0),
         [=](Setup &s) { put32(s.img, s.entry(E_K0) + MTX_TOC_INDEX, MTX_ORIGIN(2, 1)); }},
        {"layer origin over 16 bits", MTX_ENG_IMAGE_TOC, at_entry(E_DK1),
         [=](Setup &s) { put32(s.img, s.entry(E_DK1) + MTX_TOC_INDEX, 0x10100u); }},
        {"entry length zero", MTX_ENG_IMAGE_TOC, at_entry(1),
         [](Setup &s) { put64(s.img, s.entry(1) + MTX_TOC_LENGTH, 0); }},
        {"entry offset misaligned", MTX_ENG_IMAGE_TOC, at_entry(2),
         [](Setup &s) { put64(s.img, s.entry(2) + MTX_TOC_OFFSET, s.sec[3] + 16); }},
        {"entry offset in the header", MTX_ENG_IMAGE_TOC, at_entry(0),
         [](Setup &s) { put64(s.img, s.entry(0) + MTX_TOC_OFFSET, 64); }},
        {"entry over the TOC", MTX_ENG_IMAGE_TOC, at_entry(E_EXP2),
         [=](Setup &s) { put64(s.img, s.entry(E_EXP2) + MTX_TOC_OFFSET, s.toc - 512); }},
        {"entry past the end", MTX_ENG_IMAGE_TOC, at_entry(5),
         [](Setup &s) { put64(s.img, s.entry(5) + MTX_TOC_OFFSET, s.img_bytes + 4096); }},
        {"entry offset + length wraps", MTX_ENG_IMAGE_TOC, at_entry(4),
         [](Setup &s) { put64(s.img, s.entry(4) + MTX_TOC_OFFSET, ~0ull - 63); }},
        {"EXP2 length", MTX_ENG_IMAGE_TOC, at_entry(E_EXP2),
         [=](Setup &s) { put64(s.img, s.entry(E_EXP2) + MTX_TOC_LENGTH, 1020); }},
        {"SRC_POS length", MTX_ENG_IMAGE_TOC, at_entry(1),
         [](Setup &s) { put64(s.img, s.entry(1) + MTX_TOC_LENGTH, 4ull * (PS - 1) * 128); }},
        {"LM_REQ length", MTX_ENG_IMAGE_TOC, at_entry(7),
         [](Setup &s) { put64(s.img, s.entry(7) + MTX_TOC_LENGTH, 4ull * VT); }},
        {"layer weights length", MTX_ENG_IMAGE_TOC, at_entry(E_W0),
         [=](Setup &s) { put64(s.img, s.entry(E_W0) + MTX_TOC_LENGTH, MTX_DEC_W_BYTES(128, 512)); }},
        {"decoder constants length", MTX_ENG_IMAGE_TOC, at_entry(E_DK1),
         [=](Setup &s) { put64(s.img, s.entry(E_DK1) + MTX_TOC_LENGTH, 4 * MTX_ENC_K_WORDS(128, 512)); }},
        {"global section twice", MTX_ENG_IMAGE_TOC, at_entry(6),
         [](Setup &s) { std::memcpy(&s.img[s.entry(6)], &s.img[s.entry(5)], MTX_TOC_ENTRY_BYTES); }},
        {"EXP2 missing", MTX_ENG_IMAGE_TOC, after_toc(0), [](Setup &s) {
             Setup t = make(128, 4, 512, 2, 2, MTX_SEC_EXP2);
             s = t;
         }},
        {"SRC_EMB missing", MTX_ENG_IMAGE_TOC, after_toc(0), [](Setup &s) {
             Setup t = make(128, 4, 512, 2, 2, MTX_SEC_SRC_EMB);
             s = t;
         }},
        {"plan shorter than its header", MTX_ENG_PLAN_COUNT, after_toc(0), [](Setup &s) { s.plan.resize(32); s.plan_bytes = 32; }},
        {"plan magic", MTX_ENG_PLAN_MAGIC, after_toc(4), [](Setup &s) { s.plan[7] = 'X'; }},
        {"plan desc_bytes", MTX_ENG_PLAN_MAGIC, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_DESC_BYTES, 32); }},
        {"plan version", MTX_ENG_PLAN_VERSION, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_VERSION, 9); }},
        {"plan image crc", MTX_ENG_PLAN_IMAGE, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_IMAGE_CRC, 1); }},
        {"plan image size", MTX_ENG_PLAN_IMAGE, after_toc(4), [](Setup &s) { put64(s.plan, MTX_PH_IMAGE_BYTES, 64); }},
        {"n_enc zero", MTX_ENG_PLAN_COUNT, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_N_ENC, 0); }},
        {"n_dec over maximum", MTX_ENG_PLAN_COUNT, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 13); }},
        {"n_dec 2^32 - 1", MTX_ENG_PLAN_COUNT, after_toc(4), [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 0xffffffffu); }},
        {"plan shorter than its descriptors", MTX_ENG_PLAN_COUNT, after_toc(4),
         [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 12); }},
        {"plan reserved", MTX_ENG_RESERVED, after_toc(4), [](Setup &s) { s.plan[50] = 1; }},
        {"encoder descriptor of kind dec", MTX_ENG_DESC_KIND, after_toc(8), [=](Setup &s) { put32(s.plan, D0 + MTX_D_KIND, MTX_KIND_DEC); }},
        {"decoder descriptor of kind enc", MTX_ENG_DESC_KIND, after_toc(16), [=](Setup &s) { put32(s.plan, D2 + MTX_D_KIND, MTX_KIND_ENC); }},
        {"descriptor C", MTX_ENG_DESC_DIMS, after_toc(8), [=](Setup &s) { put32(s.plan, D0 + MTX_D_D_MODEL, 64); }},
        {"descriptor F", MTX_ENG_DESC_DIMS, after_toc(16), [=](Setup &s) { put32(s.plan, D2 + MTX_D_D_FF, 256); }},
        {"weights misaligned", MTX_ENG_DESC_ALIGN, after_toc(8), [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_OFFSET, 128 + 32); }},
        {"constants past the end", MTX_ENG_DESC_RANGE, after_toc(16),
         [=](Setup &s) { put64(s.plan, D2 + MTX_D_K_OFFSET, s.img_bytes & ~63ull); }},
        {"offset + length wraps", MTX_ENG_DESC_RANGE, after_toc(8),
         [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_OFFSET, ~0ull - 63); }},
        {"offset past the end", MTX_ENG_DESC_RANGE, after_toc(8),
         [=](Setup &s) { put64(s.plan, D0 + MTX_D_K_OFFSET, (s.img_bytes & ~63ull) + 64); }},
        {"weight length", MTX_ENG_DESC_LENGTH, after_toc(8), [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_BYTES, 64); }},
        {"constant length", MTX_ENG_DESC_LENGTH, after_toc(16),
         [=](Setup &s) { put64(s.plan, D2 + MTX_D_K_BYTES, 4 * MTX_ENC_K_WORDS(128, 512)); }},
        {"descriptor reserved", MTX_ENG_RESERVED, after_toc(16), [=](Setup &s) { s.plan[D2 + 60] = 7; }},
        {"batch of 0 words", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.n = 0; }},
        {"batch of 65 words", MTX_ENG_BATCH, after_toc(20),
         [](Setup &s) { s.n = 65; s.in_bytes = s.out_bytes = 65 * 260; }},
        {"batch of 2^32 - 1 words", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.n = ~0u; }},
        {"input buffer one byte short", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.in_bytes = 260ull * s.n - 1; }},
        {"output buffer one byte short", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.out_bytes = 260ull * s.n - 1; }},
        {"input base misaligned", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.in_base += 4; }},
        {"output base misaligned", MTX_ENG_BATCH, after_toc(20), [](Setup &s) { s.out_base += 8; }},
        {"descriptor before batch", MTX_ENG_DESC_DIMS, after_toc(8),
         [=](Setup &s) { s.n = 0; put32(s.plan, D0 + MTX_D_D_MODEL, 64); }},
    };
    for (const Hostile &x : hs) {
        if (std::getenv("TB_VERBOSE"))
            std::printf("hostile: %s\n", x.what);
        Setup s = make(128, 4, 512, 2, 2);
        x.edit(s);
        uint64_t beats, cycles;
        uint32_t layers;
        uint32_t err = b.run(s, &beats, &layers, &cycles);
        uint64_t want_beats = x.beats(s);
        if (err != x.want || layers != 0 || !b.got_w.empty() || beats != want_beats)
            h.fail("%s: status %u (want %u), %u layers, %llu beats (want %llu)", x.what, err, x.want,
                   layers, (unsigned long long)beats, (unsigned long long)want_beats);
        runs++;
    }
    {
        Setup s = make(128, 4, 512, 2, 2);
        uint64_t beats, cycles;
        uint32_t layers;
        if (b.run(s, &beats, &layers, &cycles) != MTX_ENG_OK || layers != 4)
            h.fail("valid plan after the hostile ones does not run clean");
        runs++;
    }
    // The exported image and its plans against the host parser.
    int real = 0;
    if (argc >= 3) {
        Bytes img = read_file(argv[1]);
        mtx_image im;
        if (mtx_image_parse(&im, img.data(), img.size(), argv[1])) {
            std::fprintf(stderr, "tb_engine: %s\n", mtx_last_error());
            return 1;
        }
        uint64_t sec[MTX_SEC_EXP2 + 1] = {0}, len = 0;
        for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2; t++)
            mtx_image_find(&im, t, 0, &sec[t], &len);
        for (int a = 2; a < argc && argv[a][0] != '+'; a++) {
            mtx_plan plan;
            uint8_t *pd = nullptr;
            uint64_t pbytes = 0;
            if (mtx_plan_load(argv[a], &im, &plan, &pd, &pbytes)) {
                std::fprintf(stderr, "tb_engine: %s\n", mtx_last_error());
                return 1;
            }
            Setup s;
            s.img = img;
            s.img_bytes = img.size();
            s.plan.assign(pd, pd + pbytes);
            s.plan_bytes = pbytes;
            free(pd);
            s.n = 64;
            s.in_bytes = s.out_bytes = 64 * 260;
            uint64_t beats, cycles;
            uint32_t layers;
            uint32_t err = b.run(s, &beats, &layers, &cycles);
            uint32_t n = plan.n_enc + plan.n_dec;
            std::vector<uint64_t> w, k;
            std::vector<uint32_t> idx;
            for (uint32_t i = 0; i < n; i++) {
                const mtx_plan_desc &ds = (int)i < plan.n_enc ? plan.enc[i] : plan.dec[i - plan.n_enc];
                w.push_back(ds.w_off);
                k.push_back(ds.k_off);
                idx.push_back((int)i < plan.n_enc ? i : MTX_MAX_STACK_LAYERS + i - plan.n_enc);
            }
            if (err != MTX_ENG_OK || layers != n || b.got_w != w || b.got_k != k || b.got_idx != idx ||
                beats != 12 + toc_beats(im.toc_count) + 8ull * n)
                h.fail("%s: status %u, %u layers (want %u), %llu beats", argv[a], err, layers, n,
                       (unsigned long long)beats);
            check_image_outputs(h, argv[a], im.dims, sec);
            if (h.m->plan_n_enc_o != (uint32_t)plan.n_enc || h.m->plan_n_dec_o != (uint32_t)plan.n_dec ||
                h.m->batch_n_o != 64)
                h.fail("%s: n_enc %u, n_dec %u, words %u", argv[a], h.m->plan_n_enc_o, h.m->plan_n_dec_o,
                       h.m->batch_n_o);
            std::printf("tb_engine: %s: %u layers, %u TOC entries, %llu cycles, %llu beats; offsets equal the "
                        "host parser's\n",
                        argv[a], n, im.toc_count, (unsigned long long)cycles, (unsigned long long)beats);
            real++;
            runs++;
        }
    }
    char what[100];
    std::snprintf(what, sizeof what, "%d runs (%zu hostile, %d over the exported image)", runs, hs.size(), real);
    return h.finish(what);
}
