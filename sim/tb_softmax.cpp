// tb_softmax - mtx_softmax_row against mtx_ref_softmax: seeded random rows of
// 1..64 scores with realistic and extreme record values, equal scores,
// a single key, keys far below the maximum (u >= 4096 gives e = 0), scores
// arriving with gaps and p taken with random back-pressure. The EXP2 table
// goes in through the table port as the engine would load it.
#include "Vmtx_softmax_row.h"
extern "C" {
#include "engine/iops.h"
}
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

struct Row {
    std::vector<int32_t> sc;
    int32_t m;
    int s;
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_softmax_row> h(argc, argv, "tb_softmax", 5000000);
    mtxsim::Rng rng(0x5eed0005);
    int32_t table[256]; // the exporter's EXP2 section
    mtx_exp2_table(table);
    uint32_t exp2[256];
    for (int i = 0; i < 256; i++)
        exp2[i] = (uint32_t)table[i];
    std::vector<Row> rows;
    rows.push_back({std::vector<int32_t>(64, 12345), 1 << 20, 20});
    rows.push_back({{-7}, 1 << 20, 20});
    rows.push_back({{0, -2000000, 2000000, 5}, 1 << 30, 20});
    for (int i = 0; i < 3000; i++) {
        Row r;
        int n = (int)rng.range(1, 64);
        int32_t span = (int32_t)rng.range(1, 1 << 21);
        for (int j = 0; j < n; j++)
            r.sc.push_back((int32_t)rng.range(-span, span));
        r.s = (int)rng.range(8, 40);
        r.m = (int32_t)rng.range(1, INT32_MAX);
        if (i % 3 == 0) // keep u mostly inside the table
            r.m = (int32_t)rng.range(1, 1 << 24);
        rows.push_back(r);
    }
    h.reset();
    for (int i = 0; i < 256; i++) {
        h.m->tbl_we_i = 1;
        h.m->tbl_addr_i = i;
        h.m->tbl_data_i = exp2[i];
        h.tick();
    }
    h.m->tbl_we_i = 0;
    for (auto &r : rows) {
        int n = (int)r.sc.size();
        std::vector<uint8_t> want(n);
        mtx_ref_softmax(r.sc.data(), n, r.m, r.s, exp2, want.data());
        h.m->start_i = 1;
        h.m->n_i = n;
        h.m->m_i = r.m;
        h.m->s_i = r.s;
        h.tick();
        h.m->start_i = 0;
        int fed = 0, got = 0;
        bool done = false;
        while (!done) {
            h.m->sc_valid_i = fed < n && rng.range(0, 4) != 0;
            h.m->sc_i = fed < n ? r.sc[fed] : 0;
            h.m->p_ready_i = rng.range(0, 3) != 0;
            h.m->eval();
            bool take_sc = h.m->sc_valid_i && h.m->sc_ready_o;
            bool take_p = h.m->p_valid_o && h.m->p_ready_i;
            if (take_p) {
                if (got >= n)
                    h.fail("more than %d probabilities", n);
                else if (h.m->p_o != want[got])
                    h.fail("n %d m %d s %d p[%d]: rtl %d ref %d", n, r.m, r.s, got, h.m->p_o,
                           want[got]);
                got++;
            }
            h.tick();
            fed += take_sc;
            done = h.m->done_o;
        }
        if (got != n)
            h.fail("row of %d: %d probabilities", n, got);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu rows", rows.size());
    return h.finish(what);
}
