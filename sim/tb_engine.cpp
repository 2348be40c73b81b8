// tb_engine - mtx_engine through its AXI4-lite registers with images and
// plans built here from host/format/layout.h: two valid plans (the shipped
// shape C 128, H 4, F 512 with 2 + 2 layers; C 16, H 1, F 16 with 12 + 12)
// whose descriptors must come out on the layer port in plan order, and one
// hostile variant per check (magic, version, sizes, dims, counts, crc,
// kinds, alignment, range with and without 64-bit wrap-around, lengths,
// reserved bytes, buffers shorter than their headers): each must end with
// its layout.h status, no descriptor handed out, no beat outside the
// buffers (mem_model.h exits 3) and exactly the beats read up to the failed
// check. A second start after an error runs clean.
#include "Vmtx_engine.h"
#include "format/layout.h"
#include "mem_model.h"
#include "sim_util.h"

#include <functional>
#include <vector>

static const uint64_t IMG = 0x10000000ull, PLAN = 0x80000000ull;

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
};

// A valid image (header and layer sections, contents zero: the sequencer
// reads only the header) and a plan over it.
static Setup make(uint32_t C, uint32_t H, uint32_t F, int n_enc, int n_dec)
{
    Setup s;
    uint64_t off = MTX_IMAGE_HEADER_BYTES;
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
    }
    s.img.assign(off, 0);
    std::memcpy(&s.img[MTX_IH_MAGIC], MTX_IMAGE_MAGIC, 8);
    put32(s.img, MTX_IH_VERSION, MTX_IMAGE_VERSION);
    put32(s.img, MTX_IH_HEADER_BYTES, MTX_IMAGE_HEADER_BYTES);
    put64(s.img, MTX_IH_FILE_BYTES, off);
    put32(s.img, MTX_IH_CRC32, 0x1234abcdu);
    put32(s.img, MTX_IH_D_MODEL, C);
    put32(s.img, MTX_IH_HEADS, H);
    put32(s.img, MTX_IH_D_FF, F);
    put32(s.img, MTX_IH_SRC_VOCAB, 40);
    put32(s.img, MTX_IH_TGT_VOCAB, 48);
    put32(s.img, MTX_IH_SRC_POS, 32);
    put32(s.img, MTX_IH_TGT_POS, 32);
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
    std::vector<uint64_t> got_w;
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
        if (m->layer_valid_o && m->layer_ready_i)
            got_w.push_back(m->layer_w_off_o);
        h.tick();
    }
    void write(uint8_t addr, uint32_t v)
    {
        Vmtx_engine *m = h.m;
        m->awvalid_i = m->wvalid_i = 1;
        m->awaddr_i = addr;
        m->wdata_i = v;
        m->wstrb_i = 0xf;
        do
            step();
        while (!aw_fire);
        m->awvalid_i = m->wvalid_i = 0;
        m->bready_i = 1;
        do
            step();
        while (!b_fire);
        m->bready_i = 0;
    }
    uint32_t read(uint8_t addr)
    {
        Vmtx_engine *m = h.m;
        m->arvalid_i = 1;
        m->araddr_i = addr;
        do
            step();
        while (!ar_fire);
        m->arvalid_i = 0;
        m->rready_i = 1;
        do
            step();
        while (!r_fire);
        m->rready_i = 0;
        return rdata;
    }
    // One run; returns the ERROR register; beats and layers through pointers.
    uint32_t run(const Setup &s, uint64_t *beats, uint32_t *layers, uint64_t *cycles)
    {
        mtxsim::MemModel mm(rng.next(), (int)rng.range(1, 6), 20);
        mm.add("image", IMG, s.img);
        mm.add("plan", PLAN, s.plan);
        mem = &mm;
        got_w.clear();
        const uint64_t regs[4] = {IMG, s.img_bytes, PLAN, s.plan_bytes};
        for (int i = 0; i < 4; i++) {
            write((uint8_t)(0x20 + 8 * i), (uint32_t)regs[i]);
            write((uint8_t)(0x24 + 8 * i), (uint32_t)(regs[i] >> 32));
        }
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
    uint64_t beats; // beats read up to and including the failed check
    std::function<void(Setup &)> edit;
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_engine> h(argc, argv, "tb_engine", 3000000);
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
        if (err != MTX_ENG_OK || layers != n || b.got_w != s.w_off || beats != 12 + 8ull * n)
            h.fail("valid plan C %u n %u: status %u, %u layers, %llu beats", sh[0], n, err, layers,
                   (unsigned long long)beats);
        std::printf("tb_engine: valid plan C %u, %u layers: %llu cycles, %llu beats\n", sh[0], n,
                    (unsigned long long)cycles, (unsigned long long)beats);
        runs++;
    }
    const std::vector<Hostile> hs = {
        {"image shorter than its header", MTX_ENG_IMAGE_SIZE, 0, [](Setup &s) { s.img.resize(64); s.img_bytes = 64; }},
        {"image magic", MTX_ENG_IMAGE_MAGIC, 8, [](Setup &s) { s.img[3] ^= 1; }},
        {"image header_bytes", MTX_ENG_IMAGE_MAGIC, 8, [](Setup &s) { put32(s.img, MTX_IH_HEADER_BYTES, 64); }},
        {"image version", MTX_ENG_IMAGE_VERSION, 8, [](Setup &s) { put32(s.img, MTX_IH_VERSION, 2); }},
        {"file_bytes != buffer", MTX_ENG_IMAGE_SIZE, 8, [](Setup &s) { s.img_bytes -= 64; }},
        {"file_bytes over 1 GiB", MTX_ENG_IMAGE_SIZE, 8,
         [](Setup &s) { s.img_bytes = 1ull << 31; put64(s.img, MTX_IH_FILE_BYTES, 1ull << 31); }},
        {"C zero", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 0); }},
        {"C over maximum", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 1024); }},
        {"C % H", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_HEADS, 3); }},
        {"hs over maximum", MTX_ENG_IMAGE_DIMS, 8,
         [](Setup &s) { put32(s.img, MTX_IH_D_MODEL, 256); put32(s.img, MTX_IH_HEADS, 1); }},
        {"F not a multiple of 16", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_D_FF, 520 - 4); }},
        {"Vs over maximum", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_SRC_VOCAB, 257); }},
        {"Pt zero", MTX_ENG_IMAGE_DIMS, 8, [](Setup &s) { put32(s.img, MTX_IH_TGT_POS, 0); }},
        {"plan shorter than its header", MTX_ENG_PLAN_COUNT, 8, [](Setup &s) { s.plan.resize(32); s.plan_bytes = 32; }},
        {"plan magic", MTX_ENG_PLAN_MAGIC, 12, [](Setup &s) { s.plan[7] = 'X'; }},
        {"plan desc_bytes", MTX_ENG_PLAN_MAGIC, 12, [](Setup &s) { put32(s.plan, MTX_PH_DESC_BYTES, 32); }},
        {"plan version", MTX_ENG_PLAN_VERSION, 12, [](Setup &s) { put32(s.plan, MTX_PH_VERSION, 9); }},
        {"plan image crc", MTX_ENG_PLAN_IMAGE, 12, [](Setup &s) { put32(s.plan, MTX_PH_IMAGE_CRC, 1); }},
        {"plan image size", MTX_ENG_PLAN_IMAGE, 12, [](Setup &s) { put64(s.plan, MTX_PH_IMAGE_BYTES, 64); }},
        {"n_enc zero", MTX_ENG_PLAN_COUNT, 12, [](Setup &s) { put32(s.plan, MTX_PH_N_ENC, 0); }},
        {"n_dec over maximum", MTX_ENG_PLAN_COUNT, 12, [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 13); }},
        {"n_dec 2^32 - 1", MTX_ENG_PLAN_COUNT, 12, [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 0xffffffffu); }},
        {"plan shorter than its descriptors", MTX_ENG_PLAN_COUNT, 12,
         [](Setup &s) { put32(s.plan, MTX_PH_N_DEC, 12); }},
        {"plan reserved", MTX_ENG_RESERVED, 12, [](Setup &s) { s.plan[50] = 1; }},
        {"encoder descriptor of kind dec", MTX_ENG_DESC_KIND, 16, [=](Setup &s) { put32(s.plan, D0 + MTX_D_KIND, MTX_KIND_DEC); }},
        {"decoder descriptor of kind enc", MTX_ENG_DESC_KIND, 24, [=](Setup &s) { put32(s.plan, D2 + MTX_D_KIND, MTX_KIND_ENC); }},
        {"descriptor C", MTX_ENG_DESC_DIMS, 16, [=](Setup &s) { put32(s.plan, D0 + MTX_D_D_MODEL, 64); }},
        {"descriptor F", MTX_ENG_DESC_DIMS, 24, [=](Setup &s) { put32(s.plan, D2 + MTX_D_D_FF, 256); }},
        {"weights misaligned", MTX_ENG_DESC_ALIGN, 16, [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_OFFSET, 128 + 32); }},
        {"constants past the end", MTX_ENG_DESC_RANGE, 24,
         [=](Setup &s) { put64(s.plan, D2 + MTX_D_K_OFFSET, s.img_bytes - 64); }},
        {"offset + length wraps", MTX_ENG_DESC_RANGE, 16,
         [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_OFFSET, ~0ull - 63); }},
        {"offset past the end", MTX_ENG_DESC_RANGE, 16,
         [=](Setup &s) { put64(s.plan, D0 + MTX_D_K_OFFSET, s.img_bytes + 64); }},
        {"weight length", MTX_ENG_DESC_LENGTH, 16, [=](Setup &s) { put64(s.plan, D0 + MTX_D_W_BYTES, 64); }},
        {"constant length", MTX_ENG_DESC_LENGTH, 24,
         [=](Setup &s) { put64(s.plan, D2 + MTX_D_K_BYTES, 4 * MTX_ENC_K_WORDS(128, 512)); }},
        {"descriptor reserved", MTX_ENG_RESERVED, 24, [=](Setup &s) { s.plan[D2 + 60] = 7; }},
    };
    for (const Hostile &x : hs) {
        Setup s = make(128, 4, 512, 2, 2);
        x.edit(s);
        uint64_t beats, cycles;
        uint32_t layers;
        uint32_t err = b.run(s, &beats, &layers, &cycles);
        if (err != x.want || layers != 0 || !b.got_w.empty() || beats != x.beats)
            h.fail("%s: status %u (want %u), %u layers, %llu beats (want %llu)", x.what, err, x.want,
                   layers, (unsigned long long)beats, (unsigned long long)x.beats);
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
    char what[80];
    std::snprintf(what, sizeof what, "%d runs (%zu hostile)", runs, hs.size());
    return h.finish(what);
}
