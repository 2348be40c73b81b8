// tb_requant - mtx_requant against mtx_ref_requant: every mode on seeded
// random accumulators, multipliers and shifts, one input per cycle
// (pipelined), plus the rounding edges (exact halves of either sign, s = 0,
// products near 2^62) and the clamp edges.
#include "Vmtx_requant.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

struct Case {
    int32_t acc, m, x;
    int s, mode;
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_requant> h(argc, argv, "tb_requant", 1000000);
    mtxsim::Rng rng(0x5eed0001);
    std::vector<Case> cs;
    // Edges: halves round up (+2.5 -> 3, -2.5 -> -2, -0.5 -> 0), s = 0, extremes.
    const int32_t accs[] = {0, 1, -1, 3, -3, 5, -5, 127, -127, 33554431, -33554431, INT32_MAX, INT32_MIN + 1};
    const int32_t ms[] = {1, -1, 2, 3, INT32_MAX, -INT32_MAX, 1 << 30};
    const int ss[] = {0, 1, 2, 3, 16, 31, 32, 62};
    for (int32_t a : accs)
        for (int32_t m : ms)
            for (int s : ss)
                for (int mode = 0; mode < 4; mode++)
                    cs.push_back({a, m, (int32_t)rng.range(-8388607, 8388607), s, mode});
    for (int i = 0; i < 200000; i++) {
        Case c;
        c.acc = (int32_t)rng.range(-(1 << 25), 1 << 25);
        c.m = (int32_t)rng.range(-INT32_MAX, INT32_MAX);
        c.s = (int)rng.range(0, 62);
        c.mode = (int)rng.range(0, 3);
        c.x = (int32_t)rng.range(-8388607, 8388607);
        cs.push_back(c);
    }
    h.reset();
    size_t got = 0;
    for (size_t i = 0; i < cs.size() + 2; i++) {
        if (i < cs.size()) {
            h.m->valid_i = 1;
            h.m->acc_i = cs[i].acc;
            h.m->m_i = cs[i].m;
            h.m->s_i = cs[i].s;
            h.m->mode_i = cs[i].mode;
            h.m->x_i = cs[i].x;
        } else {
            h.m->valid_i = 0;
        }
        h.tick();
        if (h.m->valid_o) {
            const Case &c = cs[got];
            int64_t want = mtx_ref_requant(c.acc, c.m, c.s, c.mode, c.x);
            int64_t y = (int64_t)h.m->y_o;
            if (y != want)
                h.fail("acc %d m %d s %d mode %d x %d: rtl %lld ref %lld", c.acc, c.m, c.s, c.mode,
                       c.x, (long long)y, (long long)want);
            got++;
        }
    }
    if (got != cs.size())
        h.fail("%zu results for %zu inputs", got, cs.size());
    char what[64];
    std::snprintf(what, sizeof what, "%zu requants", cs.size());
    return h.finish(what);
}
