// tb_argmax - mtx_argmax against mtx_ref_argmax: seeded random vectors of
// 1..256 int64 logits with many ties (small value ranges), all-equal vectors
// (index 0), the maximum first and last, and extreme values.
#include "Vmtx_argmax.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_argmax> h(argc, argv, "tb_argmax", 2000000);
    mtxsim::Rng rng(0x5eed0004);
    std::vector<std::vector<int64_t>> vs;
    vs.push_back(std::vector<int64_t>(256, 7));
    vs.push_back({INT64_MIN, INT64_MIN});
    vs.push_back({INT64_MIN, INT64_MAX, INT64_MAX});
    std::vector<int64_t> up(256), down(256);
    for (int i = 0; i < 256; i++) {
        up[i] = i;
        down[i] = -i;
    }
    vs.push_back(up);
    vs.push_back(down);
    for (int i = 0; i < 3000; i++) {
        int n = (int)rng.range(1, 256);
        int64_t span = (i % 2) ? 3 : (int64_t)1 << 40;
        std::vector<int64_t> v(n);
        for (auto &x : v)
            x = rng.range(-span, span);
        vs.push_back(v);
    }
    h.reset();
    for (auto &v : vs) {
        h.m->start_i = 1;
        h.tick();
        h.m->start_i = 0;
        for (size_t i = 0; i < v.size(); i++) {
            h.m->valid_i = 1;
            h.m->v_i = (uint64_t)v[i];
            h.tick();
            if (rng.range(0, 3) == 0) { // bubbles
                h.m->valid_i = 0;
                h.tick();
            }
        }
        h.m->valid_i = 0;
        int want = mtx_ref_argmax(v.data(), (int)v.size());
        if ((int)h.m->idx_o != want || (int64_t)h.m->max_o != v[want])
            h.fail("n %zu: rtl index %d ref %d", v.size(), (int)h.m->idx_o, want);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu vectors", vs.size());
    return h.finish(what);
}
