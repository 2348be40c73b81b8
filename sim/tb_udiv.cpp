// tb_udiv - mtx_udiv (NW 41, DW 32: the norm's 2^40 / r) against C's
// unsigned division: the two uses of the engine (2^40 / r for every r range,
// 2^31 / S), small and equal operands, the extremes, and seeded random pairs;
// each result arrives exactly 41 cycles after start.
#include "Vmtx_udiv.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <utility>
#include <vector>

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_udiv> h(argc, argv, "tb_udiv", 4000000);
    mtxsim::Rng rng(0x5eed0003);
    const uint64_t amax = (1ull << 41) - 1;
    std::vector<std::pair<uint64_t, uint64_t>> cs = {
        {0, 1}, {1, 1}, {1, 2}, {5, 5}, {amax, 1}, {amax, 0xffffffffull}, {1ull << 40, 1},
        {1ull << 40, 3}, {1ull << 40, 0xffffffffull}, {1ull << 31, 1ull << 15}, {1ull << 31, 3}};
    for (int i = 0; i < 20000; i++) {
        uint64_t r = 1 + (rng.next() & 0xfffffffull);
        cs.push_back({1ull << 40, r >> rng.range(0, 27) | 1});
        cs.push_back({1ull << 31, (uint64_t)rng.range(1 << 15, 1 << 21)});
        cs.push_back({rng.next() & amax, (rng.next() & 0xffffffffull) | 1});
        cs.push_back({rng.next() & amax, (rng.next() >> rng.range(32, 63)) | 1});
    }
    h.reset();
    for (auto &c : cs) {
        h.m->start_i = 1;
        h.m->a_i = c.first;
        h.m->b_i = (uint32_t)c.second;
        h.tick();
        h.m->start_i = 0;
        int waited = 0;
        while (!h.m->done_o) {
            h.tick();
            waited++;
        }
        if (waited != 41)
            h.fail("done after %d cycles, not 41", waited);
        uint64_t want = mtx_ref_udiv(c.first, c.second);
        if (h.m->q_o != want)
            h.fail("%llu / %llu: rtl %llu ref %llu", (unsigned long long)c.first,
                   (unsigned long long)c.second, (unsigned long long)h.m->q_o,
                   (unsigned long long)want);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu divisions", cs.size());
    return h.finish(what);
}
