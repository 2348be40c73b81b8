// tb_linear - mtx_linear (16 x 16 array) against mtx_ref_linear, operands
// streamed from mem_model.h (every beat checked inside its buffer): shapes of
// the shipped models' layers (qkv 12 x 128 -> 384, wi 12 x 128 -> 512, wo
// 12 x 512 -> 128) and ragged ones (tiles cut on both edges, one position,
// one output, k = 16 and k = 2048, 56 positions: 8 words' encoder rows
// as one qkv GEMM), seeded random int8, memory latency 1-9
// with request stalls and output back-pressure. Also: the busy-PE count is
// n * nout * k exactly; with latency 1, no stall and no back-pressure the
// cycle count equals the cycle model of docs/rtl.md; a bad configuration
// ends with err_o and no memory access.
#include "Vmtx_linear.h"
#include "mem_model.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

static const int R = 16, C = 16;
static const uint64_t ACT = 0x10000000ull, WGT = 0x20000000ull;

struct Shape {
    int n, k, o, lat, stall;
};

// docs/rtl.md cycle model for memory latency L, no stalls, no back-pressure:
// the loader's loads in tile order (a row tile's activations, then its
// column tiles' weights into alternating buffers), each starting when the
// previous load is over and its buffer has been fed; each tile's feed
// starts when its activations and weights are loaded and the previous tile
// has drained. Cycle 0 is the start; times are the cycles things happen in.
static uint64_t model_cycles(int n, int k, int o, int L)
{
    const uint64_t kw = (uint64_t)k / 16;
    uint64_t ld_free = 1;            // first cycle the loader may start a load
    uint64_t a_free = 1;             // activations fed (visible) from this cycle
    uint64_t w_free[2] = {1, 1};     // weight buffer fed (visible) from this cycle
    uint64_t cp_free = 1;            // compute side back in Wait from this cycle
    int buf = 0;
    for (int r0 = 0; r0 < n; r0 += R) {
        uint64_t nr = n - r0 < R ? n - r0 : R;
        uint64_t s = ld_free > a_free ? ld_free : a_free;
        uint64_t a_full = s + nr * kw + L + 2; // set-up, beats, last response, hand-over
        ld_free = a_full;
        for (int o0 = 0; o0 < o; o0 += C, buf ^= 1) {
            uint64_t nc = o - o0 < C ? o - o0 : C;
            s = ld_free > w_free[buf] ? ld_free : w_free[buf];
            uint64_t w_full = s + nc * kw + L + 2;
            ld_free = w_full;
            uint64_t c = cp_free;                   // the Wait cycle that sees both loaded
            c = c > a_full ? c : a_full;
            c = c > w_full ? c : w_full;
            uint64_t feed_end = c + (uint64_t)k;
            w_free[buf] = feed_end + 1;
            if (o0 + C >= o)
                a_free = feed_end + 1;
            cp_free = feed_end + R + C + nr + 1;    // settle, drain, back in Wait
        }
    }
    return cp_free;
}

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_linear> h(argc, argv, "tb_linear", 20000000);
    mtxsim::Rng rng(0x5eed0008);
    const Shape shapes[] = {{12, 128, 384, 1, 0}, {12, 128, 512, 4, 10}, {12, 512, 128, 1, 0},
                            {1, 16, 1, 1, 0},     {17, 48, 33, 3, 30},   {64, 128, 40, 9, 20},
                            {5, 2048, 20, 2, 5},  {16, 16, 16, 1, 0},    {33, 160, 17, 1, 0},
                            {56, 128, 384, 1, 0}};
    h.reset();
    for (const Shape &s : shapes) {
        std::vector<int8_t> a((size_t)s.n * s.k), w((size_t)s.o * s.k);
        for (auto &v : a)
            v = (int8_t)rng.range(-127, 127);
        for (auto &v : w)
            v = (int8_t)rng.range(-127, 127);
        std::vector<int32_t> want((size_t)s.n * s.o);
        mtx_ref_linear(a.data(), w.data(), s.n, s.k, s.o, want.data());
        mtxsim::MemModel mem(rng.next(), s.lat, s.stall);
        mem.add("act", ACT, std::vector<uint8_t>(a.begin(), a.end()));
        mem.add("weights", WGT, std::vector<uint8_t>(w.begin(), w.end()));
        bool timed = s.stall == 0;
        std::vector<int> seen((size_t)s.n * s.o, 0);
        uint64_t busy = 0, c0 = h.cycle;
        h.m->start_i = 1;
        h.m->act_addr_i = ACT;
        h.m->w_addr_i = WGT;
        h.m->n_i = s.n;
        h.m->k_i = s.k;
        h.m->o_i = s.o;
        bool done = false;
        while (!done) {
            mem.present(h.m);
            h.m->out_ready_i = timed || rng.range(0, 3) != 0;
            h.m->eval();
            mem.commit(h.m);
            busy += h.m->pe_busy_o;
            if (h.m->out_valid_o && h.m->out_ready_i) {
                int t = h.m->out_t_o, o0 = h.m->out_o0_o, nc = h.m->out_nc_o;
                for (int c = 0; c < nc && t < s.n && o0 + c < s.o; c++) {
                    size_t idx = (size_t)t * s.o + o0 + c;
                    seen[idx]++;
                    if ((int32_t)h.m->out_row_o[c] != want[idx])
                        h.fail("%dx%d->%d out[%d][%d]: rtl %d ref %d", s.n, s.k, s.o, t, o0 + c,
                               (int32_t)h.m->out_row_o[c], want[idx]);
                }
            }
            h.tick();
            h.m->start_i = 0;
            done = h.m->done_o;
        }
        if (h.m->err_o)
            h.fail("%dx%d->%d: err_o on a valid shape", s.n, s.k, s.o);
        for (size_t i = 0; i < seen.size(); i++)
            if (seen[i] != 1) {
                h.fail("%dx%d->%d: output %zu delivered %d times", s.n, s.k, s.o, i, seen[i]);
                break;
            }
        if (busy != (uint64_t)s.n * s.o * s.k)
            h.fail("%dx%d->%d: busy PE-cycles %llu, want %llu", s.n, s.k, s.o,
                   (unsigned long long)busy, (unsigned long long)s.n * s.o * s.k);
        uint64_t cyc = h.cycle - c0;
        if (timed && cyc != model_cycles(s.n, s.k, s.o, s.lat))
            h.fail("%dx%d->%d: %llu cycles, cycle model %llu", s.n, s.k, s.o,
                   (unsigned long long)cyc, (unsigned long long)model_cycles(s.n, s.k, s.o, s.lat));
        std::printf("tb_linear: %2d x %4d -> %4d  latency %d stall %2d%%: %7llu cycles, PE use %.1f%%\n",
                    s.n, s.k, s.o, s.lat, s.stall, (unsigned long long)cyc,
                    100.0 * busy / ((double)cyc * R * C));
    }
    // Bad configurations: k not a multiple of 16, k over the maximum, n = 0, misaligned.
    const int bad[][3] = {{4, 24, 4}, {4, 4096, 4}, {0, 16, 4}, {4, 16, 0}};
    for (int i = 0; i < 5; i++) {
        mtxsim::MemModel mem(1, 1, 0); // no buffers: any access fails the bench
        h.m->start_i = 1;
        h.m->act_addr_i = i == 4 ? ACT + 8 : ACT;
        h.m->w_addr_i = WGT;
        h.m->n_i = i == 4 ? 4 : bad[i][0];
        h.m->k_i = i == 4 ? 16 : bad[i][1];
        h.m->o_i = i == 4 ? 4 : bad[i][2];
        for (int c = 0; c < 4; c++) {
            mem.present(h.m);
            h.m->eval();
            mem.commit(h.m);
            h.tick();
            h.m->start_i = 0;
            if (h.m->done_o)
                break;
        }
        if (!h.m->done_o || !h.m->err_o)
            h.fail("bad configuration %d not refused", i);
        h.tick();
    }
    return h.finish("10 layer shapes, 5 refused configurations");
}
