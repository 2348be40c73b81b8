// tb_rmsnorm - mtx_rmsnorm_row against mtx_ref_norm: seeded random rows
// (C from 1 to 512, full residual range, small values, realistic multipliers
// and shifts), a zero row with eps 0 (r = 0, inv = 0), the largest row
// (C = 512 of +-(2^23 - 1): ss near 2^55), with gaps on x and m and random
// back-pressure on a.
#include "Vmtx_rmsnorm_row.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

struct Row {
    std::vector<int32_t> x, m;
    uint32_t eps;
    int s;
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_rmsnorm_row> h(argc, argv, "tb_rmsnorm", 20000000);
    mtxsim::Rng rng(0x5eed0006);
    std::vector<Row> rows;
    auto add = [&](int C, int32_t xspan, uint32_t eps, bool extreme) {
        Row r;
        for (int c = 0; c < C; c++) {
            r.x.push_back(extreme ? ((c & 1) ? 8388607 : -8388607) : (int32_t)rng.range(-xspan, xspan));
            r.m.push_back((int32_t)rng.range(-INT32_MAX, INT32_MAX));
        }
        r.eps = eps;
        r.s = (int)rng.range(24, 56);
        rows.push_back(r);
    };
    add(128, 0, 0, false);
    add(512, 0, 0, true);
    add(1, 8388607, 1, false);
    add(512, 8388607, 0xffffffffu, false);
    for (int i = 0; i < 300; i++) {
        int C = (i % 4 == 0) ? 128 : (int)rng.range(1, 512);
        int32_t span = (int32_t)rng.range(1, 8388607) >> rng.range(0, 20);
        add(C, span, (uint32_t)rng.range(0, 1 << 20), false);
    }
    h.reset();
    for (auto &r : rows) {
        int C = (int)r.x.size();
        std::vector<int8_t> want(C);
        mtx_ref_norm(r.x.data(), C, r.eps, r.s, r.m.data(), want.data());
        h.m->start_i = 1;
        h.m->c_i = C;
        h.m->eps_i = r.eps;
        h.m->s_i = r.s;
        h.tick();
        h.m->start_i = 0;
        int fx = 0, fm = 0, got = 0;
        bool done = false;
        while (!done) {
            h.m->x_valid_i = fx < C && rng.range(0, 4) != 0;
            h.m->x_i = fx < C ? r.x[fx] : 0;
            h.m->m_valid_i = fm < C && rng.range(0, 4) != 0;
            h.m->m_i = fm < C ? r.m[fm] : 0;
            h.m->a_ready_i = rng.range(0, 3) != 0;
            h.m->eval();
            bool tx = h.m->x_valid_i && h.m->x_ready_o;
            bool tm = h.m->m_valid_i && h.m->m_ready_o;
            if (h.m->a_valid_o && h.m->a_ready_i) {
                if (got >= C)
                    h.fail("more than %d outputs", C);
                else if ((int8_t)h.m->a_o != want[got])
                    h.fail("C %d eps %u s %d a[%d]: rtl %d ref %d", C, r.eps, r.s, got,
                           (int8_t)h.m->a_o, want[got]);
                got++;
            }
            h.tick();
            fx += tx;
            fm += tm;
            done = h.m->done_o;
        }
        if (got != C)
            h.fail("row of %d: %d outputs", C, got);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu rows", rows.size());
    return h.finish(what);
}
