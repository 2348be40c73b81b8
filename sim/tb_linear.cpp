// tb_linear - mtx_linear (16 x 16 array) against mtx_ref_linear, operands
// streamed from mem_model.h (every beat checked inside its buffer): shapes of
// the shipped models' layers (qkv 12 x 128 -> 384, wi 12 x 128 -> 512, wo
// 12 x 512 -> 128) and ragged ones (tiles cut on both edges, one position,
// one output, k = 16 and k = 2048, 56 positions: 8 words' encoder rows
// as one qkv GEMM, n = 1 qkv and wo, weights streaming through the slot
// ring, k short enough that a feed waits for the drain), seeded random
// int8, memory latency 1-9
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

// docs/rtl.md cycle model for memory latency L, no stalls, no back-pressure.
// Loads in tile order: a row tile's activations (into buffer rt mod 2), then
// its column tiles' weights (load w into slot w mod NS), or, when every
// column tile fits the NS slots, weights only for the first row tile. A load
// set up in cycle s requests its B beats in cycles s+1 .. s+B and is
// complete (visible) in cycle s+B+L+1. It sets up no earlier than the
// previous load's last request (s' >= s+B); an activation load, and a
// weight load after one, once everything before it is complete; a weight
// load once the load two back is complete, and, streaming, once tile w-NS
// has been fed; an activation load once its buffer's previous row tile has
// been fed. Tile j feeds in the cycle after the previous tile's last feed
// when its operands are visible by then, else from the cycle after they
// are; its last element waits for the previous tile's last drain cycle;
// its drain gives nr rows from ROWS + COLS + 1 cycles after its last feed.
// Cycle 0 is the start; times are the cycles things happen in.
static uint64_t model_cycles(int n, int k, int o, int L)
{
    const uint64_t kw = (uint64_t)k / 16;
    int sl = 0;
    while ((1ull << sl) < kw)
        sl++;
    const uint64_t ns = (2ull * 2048 / 16) >> sl; // 2 * KMAX/16 beats a weight bank
    const int nct = (o + C - 1) / C, nrt = (n + R - 1) / R;
    const bool res = (uint64_t)nct <= ns;
    struct Load {
        bool isa;
        int rt, w;
        uint64_t beats, s, vis;
    };
    std::vector<Load> ld;
    std::vector<size_t> act_ld(nrt), w_ld;
    for (int rt = 0; rt < nrt; rt++) {
        uint64_t nr = n - rt * R < R ? n - rt * R : R;
        act_ld[rt] = ld.size();
        ld.push_back({true, rt, -1, nr * kw, 0, 0});
        if (res && rt > 0)
            continue;
        for (int c = 0; c < nct; c++) {
            uint64_t nc = o - c * C < C ? o - c * C : C;
            w_ld.push_back(ld.size());
            ld.push_back({false, rt, (int)w_ld.size() - 1, nc * kw, 0, 0});
        }
    }
    std::vector<uint64_t> fl((size_t)nrt * nct); // last feed cycle of each tile
    size_t m = 0;                                // next load to set up
    auto sched = [&](size_t upto) {
        for (; m <= upto; m++) {
            Load &x = ld[m];
            uint64_t s = 1;
            auto at_least = [&s](uint64_t t) { s = t > s ? t : s; };
            if (m > 0)
                at_least(ld[m - 1].s + ld[m - 1].beats);
            if (x.isa || (m > 0 && ld[m - 1].isa)) {
                if (m > 0)
                    at_least(ld[m - 1].vis);
            } else if (m > 1) {
                at_least(ld[m - 2].vis);
            }
            if (x.isa && x.rt >= 2)
                at_least(fl[(size_t)(x.rt - 2) * nct + nct - 1] + 1);
            if (!x.isa && !res && (uint64_t)x.w >= ns)
                at_least(fl[x.w - ns] + 1);
            x.s = s;
            x.vis = s + x.beats + L + 1;
        }
    };
    uint64_t prev_fl = 0, prev_d = 0;
    for (int rt = 0; rt < nrt; rt++) {
        uint64_t nr = n - rt * R < R ? n - rt * R : R;
        for (int c = 0; c < nct; c++) {
            size_t j = (size_t)rt * nct + c;
            size_t wl = w_ld[res ? c : j];
            sched(act_ld[rt] > wl ? act_ld[rt] : wl);
            uint64_t ready = ld[act_ld[rt]].vis > ld[wl].vis ? ld[act_ld[rt]].vis : ld[wl].vis;
            uint64_t f;
            if (j == 0)
                f = (ready > 1 ? ready : 1) + 1;
            else
                f = ready <= prev_fl ? prev_fl + 1 : ready + 1;
            uint64_t last = f + (uint64_t)k - 1;
            if (j > 0 && prev_d > last)
                last = prev_d; // the last element waits for the previous drain
            fl[j] = last;
            prev_fl = last;
            prev_d = last + R + C + nr; // last drain cycle
        }
    }
    return prev_d + 1;
}

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_linear> h(argc, argv, "tb_linear", 20000000);
    mtxsim::Rng rng(0x5eed0008);
    const Shape shapes[] = {{12, 128, 384, 1, 0}, {12, 128, 512, 4, 10}, {12, 512, 128, 1, 0},
                            {1, 16, 1, 1, 0},     {17, 48, 33, 3, 30},   {64, 128, 40, 9, 20},
                            {5, 2048, 20, 2, 5},  {16, 16, 16, 1, 0},    {33, 160, 17, 1, 0},
                            {56, 128, 384, 1, 0}, {40, 1024, 80, 1, 0},   {20, 2048, 48, 1, 0},
                            {33, 16, 300, 1, 0},  {17, 64, 1040, 2, 5},   {64, 32, 100, 1, 0},
                            {1, 128, 384, 1, 0},  {1, 512, 128, 1, 0}};
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
    return h.finish("17 layer shapes, 5 refused configurations");
}
