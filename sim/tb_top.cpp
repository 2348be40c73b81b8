// tb_top - the whole engine (mtx_top: registers, plan sequencer, batch
// mover, arbiters, batched word controller) through its AXI4-lite registers
// over the exported image and a plan in memory, with batches of random words
// (S in 1..12, ids < Vs) in an input buffer: the output buffer must equal,
// byte for byte, the golden model's (mtx_golden_run) output batch, all 65
// int32 of every word. Then: word 3 with S = 0 (ERROR = MTX_ENG_INPUT,
// ERRWORD = 3, output buffer untouched), 0 words (MTX_ENG_BATCH, neither batch buffer
// touched), a corrupt TOC length (MTX_ENG_IMAGE_TOC), and a clean run again.
// CYCLES and BUSYPE must be nonzero after a run. Memory latency 1-6, read
// stalls 20 %, write stalls 30 %; any access outside the buffers exits 3.
//   bench IMAGE PLAN
#include "format/layout.h"
#include "top_host.h"

extern "C" {
#include "engine/golden.h"
#include "format/image.h"
#include "format/plan.h"
}

#include <fstream>
#include <vector>

typedef std::vector<uint8_t> Bytes;
using mtxsim::IMG;
using mtxsim::PLAN;
using mtxsim::IN;
using mtxsim::OUT;

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
    mtxsim::TopHost b(h);
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
        if (err != MTX_ENG_INPUT || b.err_word != 3 || out != before || wr != 0)
            h.fail("S = 0 in word 3: error %u word %u (want %u word 3), %llu bytes written", err, b.err_word,
                   MTX_ENG_INPUT, (unsigned long long)wr);
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
