// tb_argmax - mtx_argmax (one best index per row, rows interleaved) against
// mtx_ref_argmax row by row: trials of 1..64 rows, each a vector of
// 1..256 int64 logits with many ties (small value ranges) or wide values,
// fed in the layer controller's order (column tiles of 16: every row's
// 16 elements, then the next tile) or in a random interleaving that keeps
// each row's elements in order, with bubbles; all-equal rows (index 0),
// the maximum first and last, extreme values; junk on v_i / row_i while
// valid_i is low.
#include "Vmtx_argmax.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_argmax> h(argc, argv, "tb_argmax", 20000000);
    mtxsim::Rng rng(0x5eed0004);
    std::vector<std::vector<std::vector<int64_t>>> trials;
    {
        std::vector<int64_t> up(256), down(256);
        for (int i = 0; i < 256; i++) {
            up[i] = i;
            down[i] = -i;
        }
        trials.push_back({std::vector<int64_t>(256, 7), {INT64_MIN, INT64_MIN}, {INT64_MIN, INT64_MAX, INT64_MAX},
                          up, down});
    }
    for (int i = 0; i < 600; i++) {
        int rows = (int)rng.range(1, 64), n = (int)rng.range(1, 256);
        int64_t span = (i % 2) ? 3 : (int64_t)1 << 40;
        std::vector<std::vector<int64_t>> t(rows, std::vector<int64_t>(n));
        for (auto &v : t)
            for (auto &x : v)
                x = rng.range(-span, span);
        if (i % 5 == 0) // rows of their own lengths
            for (auto &v : t)
                v.resize((size_t)rng.range(1, n));
        trials.push_back(t);
    }
    size_t nrows = 0;
    for (size_t ti = 0; ti < trials.size(); ti++) {
        auto &t = trials[ti];
        const int R = (int)t.size();
        std::vector<size_t> next(R, 0);
        auto feed = [&](int r) {
            h.m->valid_i = 1;
            h.m->first_i = next[r] == 0;
            h.m->row_i = r;
            h.m->idx_i = (int)next[r];
            h.m->v_i = (uint64_t)t[r][next[r]];
            next[r]++;
            h.tick();
            if (rng.range(0, 3) == 0) { // a bubble with junk on the inputs
                h.m->valid_i = 0;
                h.m->first_i = 1;
                h.m->row_i = (int)rng.range(0, 63);
                h.m->v_i = (uint64_t)INT64_MAX;
                h.tick();
            }
        };
        size_t left = 0;
        for (auto &v : t)
            left += v.size();
        if (ti % 2 == 0) { // tile order
            for (size_t o0 = 0; left; o0 += 16)
                for (int r = 0; r < R; r++)
                    for (size_t c = o0; c < o0 + 16 && c < t[r].size(); c++, left--)
                        feed(r);
        } else { // random interleaving, each row in order
            for (; left; left--) {
                int r;
                do
                    r = (int)rng.range(0, R - 1);
                while (next[r] == t[r].size());
                feed(r);
            }
        }
        h.m->valid_i = 0;
        for (int r = 0; r < R; r++) {
            int want = mtx_ref_argmax(t[r].data(), (int)t[r].size());
            h.m->rd_row_i = r;
            h.m->eval();
            if ((int)h.m->idx_o != want || (int64_t)h.m->max_o != t[r][want])
                h.fail("trial %zu row %d (n %zu): rtl index %d ref %d", ti, r, t[r].size(), (int)h.m->idx_o, want);
        }
        nrows += (size_t)R;
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu rows in %zu trials", nrows, trials.size());
    return h.finish(what);
}
