// tb_rmsnorm_rows - mtx_rmsnorm (n rows per start, one record) against
// mtx_ref_norm row by row: the row bench's edge cases (zero rows with eps 0,
// C = 512 of +-(2^23 - 1), C = 1, eps 2^32 - 1) as multi-row starts,
// n = 1, 2, 7, 56, 64 at C = 16, 128, 512, seeded random starts (C 1..512,
// n 1..64), each under several stream patterns: gaps on x and m, m held back
// for a while, back-pressure on a. Every start: exactly C m values and n*C x
// values taken (junk stays offered after them), n*C bytes in order, done_o
// exactly one cycle after the last byte, busy_o high in between, a start_i
// while busy (37 cycles in) ignored; C = 0 and n = 0 done at once. Back to
// back (no gaps, a_ready high): start_i to done_o in exactly
// 2C + 83 + (n - 1)·max(C, 42) cycles (C 1..512, n 1..64).
#include "Vmtx_rmsnorm.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

struct Job {
    int C, n;
    uint32_t eps;
    int s;
    std::vector<int32_t> m, x; // x: n rows of C
};

// Stream pattern: probabilities (in %) of offering x, m, taking a; m_delay
// holds m back for that many cycles after start.
struct Pat {
    int px, pm, pa, m_delay;
};

static const Pat kPats[] = {{100, 100, 100, 0}, {75, 75, 67, 0}, {30, 90, 90, 0},
                            {100, 100, 25, 0},  {90, 20, 100, 0}, {100, 100, 100, 300}};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_rmsnorm> h(argc, argv, "tb_rmsnorm_rows", 200000000);
    mtxsim::Rng rng(0x5eed0016);

    auto make = [&](int C, int n, int32_t xspan, uint32_t eps, int kind) {
        Job j;
        j.C = C;
        j.n = n;
        j.eps = eps;
        j.s = (int)rng.range(24, 56);
        for (int c = 0; c < C; c++)
            j.m.push_back((int32_t)rng.range(-INT32_MAX, INT32_MAX));
        for (int r = 0; r < n; r++) {
            int32_t span = kind == 3 ? (int32_t)(rng.range(1, 8388607) >> rng.range(0, 22)) : xspan;
            for (int c = 0; c < C; c++) {
                int32_t v;
                if (kind == 1)
                    v = (c & 1) ? 8388607 : -8388607;
                else if (kind == 2 && (r & 1))
                    v = 0; // zero rows between random ones
                else
                    v = (int32_t)rng.range(-span, span);
                j.x.push_back(v);
            }
        }
        return j;
    };

    // One start under pattern p; returns start_i-to-done_o cycles.
    auto run = [&](const Job &j, const Pat &p) -> uint64_t {
        const int C = j.C, n = j.n, total = C * n;
        std::vector<int8_t> want(total);
        for (int r = 0; r < n; r++)
            mtx_ref_norm(&j.x[(size_t)r * C], C, j.eps, j.s, j.m.data(), &want[(size_t)r * C]);
        h.m->start_i = 1;
        h.m->c_i = C;
        h.m->n_i = n;
        h.m->eps_i = j.eps;
        h.m->s_i = j.s;
        h.m->x_valid_i = 0;
        h.m->m_valid_i = 0;
        h.m->a_ready_i = 0;
        h.m->eval();
        if (h.m->x_ready_o || h.m->m_ready_o || h.m->a_valid_o || h.m->busy_o)
            h.fail("C %d n %d: busy before start", C, n);
        uint64_t t0 = h.cycle;
        h.tick();
        h.m->start_i = 0;
        int fx = 0, fm = 0, got = 0;
        uint64_t last_out = 0;
        for (;;) {
            uint64_t t = h.cycle - t0;
            // junk stays offered past the end: it must never be taken
            h.m->x_valid_i = (fx >= total) || (int)rng.range(0, 99) < p.px;
            h.m->x_i = fx < total ? j.x[fx] : 0x7fffffff;
            h.m->m_valid_i = t >= (uint64_t)p.m_delay && ((fm >= C) || (int)rng.range(0, 99) < p.pm);
            h.m->m_i = fm < C ? j.m[fm] : 0x7fffffff;
            h.m->a_ready_i = (int)rng.range(0, 99) < p.pa;
            // a start while busy is ignored
            h.m->start_i = t == 37;
            h.m->c_i = 3;
            h.m->n_i = 1;
            h.m->eps_i = 0;
            h.m->s_i = 1;
            h.m->eval();
            if (h.m->done_o) {
                if (got != total || h.cycle != last_out + 1)
                    h.fail("C %d n %d: done_o with %d of %d bytes, %llu cycles after the last", C, n,
                           got, total, (unsigned long long)(h.cycle - last_out));
                break;
            }
            if (!h.m->busy_o)
                h.fail("C %d n %d: busy_o low at %d of %d bytes", C, n, got, total);
            bool tx = h.m->x_valid_i && h.m->x_ready_o;
            bool tm = h.m->m_valid_i && h.m->m_ready_o;
            if (tx && fx >= total)
                h.fail("C %d n %d: x value %d taken", C, n, fx + 1);
            if (tm && fm >= C)
                h.fail("C %d n %d: m value %d taken", C, n, fm + 1);
            if (h.m->a_valid_o && h.m->a_ready_i) {
                if (got >= total)
                    h.fail("C %d n %d: more than %d bytes", C, n, total);
                else if ((int8_t)h.m->a_o != want[got])
                    h.fail("C %d n %d eps %u s %d row %d a[%d]: rtl %d ref %d", C, n, j.eps, j.s,
                           got / C, got % C, (int8_t)h.m->a_o, want[got]);
                got++;
                last_out = h.cycle;
            }
            h.tick();
            fx += tx;
            fm += tm;
            if (t > 2000000) { h.fail("C %d n %d hang: fx %d fm %d got %d", C, n, fx, fm, got); return 0; }
            if (h.fails > 10)
                return 0;
        }
        uint64_t cycles = h.cycle - t0;
        h.m->start_i = 0;
        h.tick(); // done_o cycle: start_i low
        if (h.m->busy_o || h.m->done_o)
            h.fail("C %d n %d: busy_o / done_o after done", C, n);
        return cycles;
    };

    h.reset();
    int starts = 0;
    long rows = 0;
    auto go = [&](const Job &j, const Pat &p) {
        uint64_t c = run(j, p);
        starts++;
        rows += j.n;
        return c;
    };

    // C = 0 or n = 0: done_o the next cycle, nothing taken
    for (int k = 0; k < 2; k++) {
        h.m->start_i = 1;
        h.m->c_i = k ? 16 : 0;
        h.m->n_i = k ? 0 : 4;
        h.m->x_valid_i = 1;
        h.m->m_valid_i = 1;
        h.m->a_ready_i = 1;
        h.tick();
        h.m->start_i = 0;
        h.m->eval();
        if (!h.m->done_o || h.m->busy_o || h.m->x_ready_o || h.m->m_ready_o || h.m->a_valid_o)
            h.fail("C %d n %d: not done at once", k ? 16 : 0, k ? 0 : 4);
        h.tick();
        if (h.m->done_o || h.m->busy_o)
            h.fail("C %d n %d: done_o held", k ? 16 : 0, k ? 0 : 4);
    }

    // edge cases, each as a multi-row start under every pattern
    std::vector<Job> edge;
    edge.push_back(make(128, 3, 0, 0, 0));                  // zero rows, eps 0: r = 0, inv = 0
    edge.push_back(make(512, 2, 0, 0, 1));                  // +-(2^23 - 1): ss near 2^55
    edge.push_back(make(1, 7, 8388607, 1, 0));              // one channel
    edge.push_back(make(512, 3, 8388607, 0xffffffffu, 0));  // largest eps
    edge.push_back(make(64, 9, 8388607, 0, 2));             // zero rows between random ones
    for (auto &j : edge)
        for (auto &p : kPats)
            go(j, p);

    // n = 1, 2, 7, 56, 64 at C = 16, 128 (and 512 for the small n)
    for (int C : {16, 128, 512})
        for (int n : {1, 2, 7, 56, 64}) {
            if (C == 512 && n > 7)
                continue;
            Job j = make(C, n, 0, (uint32_t)rng.range(0, 1 << 20), 3);
            go(j, kPats[starts % 6]);
            go(j, kPats[1]);
        }

    // random starts
    for (int i = 0; i < 150; i++) {
        int C = (i % 4 == 0) ? 16 * (int)rng.range(1, 32) : (int)rng.range(1, 512);
        int n = (i % 3 == 0) ? (int)rng.range(1, 64) : (int)rng.range(1, 8);
        if (C * n > 16384)
            n = 16384 / C;
        Job j = make(C, n, 0, (uint32_t)rng.range(0, 1 << 20), 3);
        go(j, kPats[i % 6]);
    }

    // back to back: the cycle count
    for (int C : {1, 2, 16, 32, 41, 42, 43, 64, 77, 78, 80, 128, 255, 256, 257, 300, 512}) {
        for (int n : {1, 2, 8, 56, 64}) {
            if (C * n > 16384)
                continue;
            Job j = make(C, n, 0, (uint32_t)rng.range(0, 1 << 20), 3);
            uint64_t cyc = go(j, kPats[0]);
            uint64_t model = 2 * (uint64_t)C + 83 + (uint64_t)(n - 1) * (C > 42 ? C : 42);
            if (cyc != model)
                h.fail("back to back C %d n %d: %llu cycles, model %llu", C, n,
                       (unsigned long long)cyc, (unsigned long long)model);
            if (C == 16 || C == 64 || C == 128 || C == 512)
                std::printf("tb_rmsnorm_rows: back to back C %3d n %2d: %6llu cycles, %.1f a row\n",
                            C, n, (unsigned long long)cyc, (double)cyc / n);
        }
    }

    char what[64];
    std::snprintf(what, sizeof what, "%d starts, %ld rows", starts, rows);
    return h.finish(what);
}
