// tb_top - the whole engine (mtx_top: registers, plan sequencer, batch
// mover, arbiters, batched word controller) through its AXI4-lite registers
// over the exported image and a plan in memory, with batches of random words
// (S in 1..12, ids < Vs) in an input buffer: the output buffer must equal,
// byte for byte, the golden model's (mtx_golden_run) output batch, all 65
// int32 of every word. Then: a word with S = 0 (ERROR = MTX_ENG_INPUT,
// output buffer untouched), 0 words (MTX_ENG_BATCH, neither batch buffer
// touched), a corrupt TOC length (MTX_ENG_IMAGE_TOC), and a clean run again.
// CYCLES and BUSYPE must be nonzero after a run. Memory latency 1-6, read
// stalls 20 %, write stalls 30 %; any access outside the buffers exits 3.
//   bench IMAGE PLAN
#include "Vmtx_top.h"
#include "format/layout.h"
#include "mem_model.h"
#include "sim_util.h"

extern "C" {
#include "engine/golden.h"
#include "format/image.h"
#include "format/plan.h"
}

#include <fstream>
#include <vector>

typedef std::vector<uint8_t> Bytes;
static const uint64_t IMG = 0x10000000ull, PLAN = 0x80000000ull, IN = 0x20000000ull, OUT = 0x30000000ull;

struct Bench {
    mtxsim::Harness<Vmtx_top> &h;
    mtxsim::MemModel *mem = nullptr;
    bool aw_fire = false, ar_fire = false, r_fire = false, b_fire = false;
    uint32_t rdata = 0;
    explicit Bench(mtxsim::Harness<Vmtx_top> &hh) : h(hh) {}
    void step()
    {
        Vmtx_top *m = h.m;
        mem->present(m);
        mem->present_wr(m);
        m->eval();
        mem->commit(m);
        mem->commit_wr(m);
        aw_fire = m->awvalid_i && m->awready_o;
        ar_fire = m->arvalid_i && m->arready_o;
        r_fire = m->rvalid_o && m->rready_i;
        b_fire = m->bvalid_o && m->bready_i;
        rdata = m->rdata_o;
        h.tick();
    }
    void write(uint8_t addr, uint32_t v)
    {
        Vmtx_top *m = h.m;
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
        Vmtx_top *m = h.m;
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
    // One run over the given buffers; returns ERROR.
    uint32_t run(const Bytes &img, const Bytes &plan, const Bytes &in, Bytes &out, uint32_t n, uint64_t seed,
                 uint64_t *pe, uint64_t *wr_bytes, uint64_t *cycles)
    {
        mtxsim::MemModel mm(seed, 1 + (int)(seed % 6), 20);
        mm.set_wr_stall(30);
        mm.add("image", IMG, img);
        mm.add("plan", PLAN, plan);
        mm.add("in", IN, in);
        mm.add("out", OUT, out, true);
        mem = &mm;
        const uint64_t regs[8] = {IMG, img.size(), PLAN, plan.size(), IN, in.size(), OUT, out.size()};
        for (int i = 0; i < 8; i++) {
            write((uint8_t)(0x20 + 8 * i), (uint32_t)regs[i]);
            write((uint8_t)(0x24 + 8 * i), (uint32_t)(regs[i] >> 32));
        }
        write(0x60, n);
        write(0x00, 1);
        while (!(read(0x04) & 2u))
            ;
        uint32_t err = read(0x08);
        *cycles = read(0x10) | (uint64_t)read(0x14) << 32;
        *pe = read(0x18) | (uint64_t)read(0x1c) << 32;
        *wr_bytes = mm.wr_bytes;
        out = mm.bytes("out");
        mem = nullptr;
        return err;
    }
};

static Bytes read_file(const char *path)
{
    std::ifstream f(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench IMAGE PLAN\n");
        return 2;
    }
    mtxsim::Harness<Vmtx_top> h(argc, argv, "tb_top", 5000000);
    Bench b(h);
    mtxsim::Rng rng(0x70b70b);
    h.reset();
    Bytes img = read_file(argv[1]), plan = read_file(argv[2]);
    mtx_image im;
    if (mtx_image_parse(&im, img.data(), img.size(), argv[1])) {
        std::fprintf(stderr, "tb_top: %s\n", mtx_last_error());
        return 1;
    }
    const mtx_image_dims &d = im.dims;
    mtx_plan pl;
    uint8_t *pd = nullptr;
    uint64_t pbytes = 0;
    if (mtx_plan_load(argv[2], &im, &pl, &pd, &pbytes)) {
        std::fprintf(stderr, "tb_top: %s\n", mtx_last_error());
        return 1;
    }
    free(pd);
    int runs = 0;
    auto batch = [&](uint32_t n, Bytes &in, std::vector<int32_t> &want) {
        std::vector<int32_t> w((size_t)n * MTX_IO_STRIDE, 0);
        want.assign(w.size(), 0);
        for (uint32_t k = 0; k < n; k++) {
            int32_t S = (int32_t)rng.range(1, 12);
            w[k * MTX_IO_STRIDE] = S;
            for (int32_t i = 0; i < S; i++)
                w[k * MTX_IO_STRIDE + 1 + i] = (int32_t)rng.range(0, d.Vs - 1);
        }
        if (n && mtx_golden_run(&im, &pl, w.data(), (int)n, want.data(), nullptr)) {
            std::fprintf(stderr, "tb_top: golden: %s\n", mtx_last_error());
            std::exit(1);
        }
        in.resize(w.size() * 4);
        std::memcpy(in.data(), w.data(), in.size());
    };
    for (uint32_t n : {1u, 6u}) {
        Bytes in, out;
        std::vector<int32_t> want;
        batch(n, in, want);
        out.assign(in.size(), 0xa5);
        uint64_t pe, wr, cycles;
        uint32_t err = b.run(img, plan, in, out, n, rng.next(), &pe, &wr, &cycles);
        if (err != MTX_ENG_OK || std::memcmp(out.data(), want.data(), out.size()) != 0 || wr != out.size())
            h.fail("%u words: error %u, output %s, %llu bytes written", n, err,
                   std::memcmp(out.data(), want.data(), out.size()) ? "differs" : "equal", (unsigned long long)wr);
        if (pe == 0 || cycles == 0)
            h.fail("%u words: BUSYPE %llu, CYCLES %llu", n, (unsigned long long)pe, (unsigned long long)cycles);
        std::printf("tb_top: %u words: %llu cycles, %llu busy PE-cycles, outputs equal the golden model's\n", n,
                    (unsigned long long)cycles, (unsigned long long)pe);
        runs++;
    }
    {
        Bytes in, out;
        std::vector<int32_t> want;
        batch(5, in, want);
        in[3 * 4 * MTX_IO_STRIDE] = 0; // word 3: S = 0
        in[3 * 4 * MTX_IO_STRIDE + 1] = 0;
        Bytes before(in.size(), 0x5a);
        out = before;
        uint64_t pe, wr, cycles;
        uint32_t err = b.run(img, plan, in, out, 5, rng.next(), &pe, &wr, &cycles);
        if (err != MTX_ENG_INPUT || out != before || wr != 0)
            h.fail("S = 0: error %u (want %u), %llu bytes written", err, MTX_ENG_INPUT, (unsigned long long)wr);
        runs++;
    }
    {
        Bytes none, out;
        uint64_t pe, wr, cycles;
        uint32_t err = b.run(img, plan, none, out, 0, rng.next(), &pe, &wr, &cycles);
        if (err != MTX_ENG_BATCH || wr != 0)
            h.fail("0 words: error %u (want %u)", err, MTX_ENG_BATCH);
        runs++;
    }
    {
        Bytes bad = img, in, out;
        std::vector<int32_t> want;
        batch(2, in, want);
        out.assign(in.size(), 0);
        uint64_t toc = im.toc_offset;
        bad[toc + MTX_TOC_LENGTH] ^= 4; // entry 0's length
        uint64_t pe, wr, cycles;
        uint32_t err = b.run(bad, plan, in, out, 2, rng.next(), &pe, &wr, &cycles);
        if (err != MTX_ENG_IMAGE_TOC || wr != 0)
            h.fail("corrupt TOC: error %u (want %u)", err, MTX_ENG_IMAGE_TOC);
        runs++;
    }
    {
        Bytes in, out;
        std::vector<int32_t> want;
        batch(3, in, want);
        out.assign(in.size(), 0);
        uint64_t pe, wr, cycles;
        uint32_t err = b.run(img, plan, in, out, 3, rng.next(), &pe, &wr, &cycles);
        if (err != MTX_ENG_OK || std::memcmp(out.data(), want.data(), out.size()) != 0)
            h.fail("clean run after the refused ones: error %u", err);
        runs++;
    }
    char what[80];
    std::snprintf(what, sizeof what, "%d runs of the whole engine", runs);
    return h.finish(what);
}
