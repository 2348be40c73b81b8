// tb_attention - mtx_attention against a reference written from the
// "Attention" section of docs/engine.md with the golden primitives
// (mtx_ref_softmax, mtx_ref_requant; EXP2 from mtx_exp2_table). The q, k and
// v RAMs are C++ models of synchronous one-cycle read ports (k and v at one
// address). Cases: encoder words stacked in rows of a batch (qbase = kbase =
// obase = the word's first row, qstride = kstride = the batch's rows),
// decoder rows of a batch against a KV cache (kstride 64, nq 1, qstride B),
// and random shapes (nq, nk 1..64, heads 1..8, hsw 1..8, C <= 512) with
// random bases and strides and random records (the quantizer's form and raw
// shifts 0..62). Every output beat is compared, beats outside the expected
// set or written twice fail, beats must come in (head, query, d) order, and
// each call's cycle count must equal the steady-state model below.
#include "Vmtx_attention.h"
extern "C" {
#include "engine/iops.h"
}
#include "ref_iops.h"
#include "sim_util.h"

#include <cmath>
#include <map>
#include <vector>

static const int AW = 15;
static const int NBEATS = 1 << AW;

struct Rams {
    std::vector<int8_t> q, k, v; // NBEATS * 16 bytes each
    Rams() : q(NBEATS * 16), k(NBEATS * 16), v(NBEATS * 16) {}
};

struct Call {
    int nq, qbase, qstride, obase, nk, kstride, kbase, heads, hsw, cw;
    int32_t m_sm, m_att;
    int s_sm, s_att;
};

// A record {s, m} the way quant.c's make_record forms it for multiplier f.
static void make_rec(double f, int32_t *m, int *s)
{
    int sh = 62;
    while (sh > 0 && std::ldexp(f, sh) >= 2147483647.0)
        sh--;
    *s = sh;
    *m = (int32_t)std::llround(std::ldexp(f, sh));
    if (*m < 1)
        *m = 1;
}

static void random_recs(mtxsim::Rng &rng, Call &c)
{
    int hs = c.hsw * 16;
    if (rng.range(0, 3) != 0) { // the quantizer's records
        double sq = std::pow(10.0, rng.range(-300, 100) / 100.0) / 127.0;
        double sk = std::pow(10.0, rng.range(-300, 100) / 100.0) / 127.0;
        make_rec(sq * sk / std::sqrt((double)hs) * 1.4426950408889634 * 256.0, &c.m_sm, &c.s_sm);
        double sv = std::pow(10.0, rng.range(-200, 100) / 100.0) / 127.0;
        double sa = std::pow(10.0, rng.range(-200, 100) / 100.0) / 127.0;
        make_rec(sv / 256.0 / sa, &c.m_att, &c.s_att);
    } else { // anything the golden accepts
        c.m_sm = (int32_t)rng.range(1, INT32_MAX);
        c.s_sm = (int)rng.range(0, 62);
        c.m_att = (int32_t)rng.range(1, INT32_MAX);
        c.s_att = (int)rng.range(0, 62);
    }
}

// The reference: engine.md's attention for every (h, t) of the call, into
// want[beat] (16 bytes a beat).
static void reference(const Rams &r, const Call &c, const uint32_t *exp2,
                      std::map<int, std::vector<int8_t>> &want, std::vector<int> &order)
{
    int hs = c.hsw * 16;
    for (int h = 0; h < c.heads; h++)
        for (int t = 0; t < c.nq; t++) {
            const int8_t *q = &r.q[(size_t)((c.qbase + h * c.qstride + t) * c.hsw) * 16];
            int32_t sc[64];
            uint8_t p[64];
            for (int j = 0; j < c.nk; j++) {
                const int8_t *k = &r.k[(size_t)((c.kbase + h * c.kstride + j) * c.hsw) * 16];
                int32_t s = 0;
                for (int d = 0; d < hs; d++)
                    s += (int32_t)q[d] * k[d];
                sc[j] = s;
            }
            mtx_ref_softmax(sc, c.nk, c.m_sm, c.s_sm, exp2, p);
            for (int db = 0; db < c.hsw; db++) {
                std::vector<int8_t> beat(16);
                for (int i = 0; i < 16; i++) {
                    int d = db * 16 + i;
                    int32_t o = 0;
                    for (int j = 0; j < c.nk; j++)
                        o += (int32_t)p[j] *
                             r.v[(size_t)((c.kbase + h * c.kstride + j) * c.hsw) * 16 + d];
                    beat[i] = (int8_t)mtx_ref_requant(o, c.m_att, c.s_att, MTX_REF_Q8, 0);
                }
                int addr = (c.obase + t) * c.cw + h * c.hsw + db;
                want[addr] = beat;
                order.push_back(addr);
            }
        }
}

// Cycles from start_i to done_o: the schedule of docs/rtl.md replayed.
// The call plans in cycle 1; a sweep planned in cycle P issues nk * hsw reads
// in cycles P + 1 .. P + L and the next plan is at P + L + 1. A pair's
// softmax row holds nk + 16 cycles after the last read of its score sweep;
// its requant (4 cycles a beat) starts 3 cycles after its p.v sweep's last
// read, or when the previous pair's requant ends; a p.v sweep into a bank
// waits until the requant of the pair before last (same bank) has ended.
static long model_cycles(const Call &c)
{
    const int R = 3, L = c.nk * c.hsw, lat = c.nk + 16;
    const int N = c.nq * c.heads;
    std::vector<long> held(N, 0);
    long now = 1;
    int ns = 0, np = 0;
    long drain_free = 0;
    long bank_free[2] = {0, 0};
    long quiet = 0;
    for (;;) {
        int pend = ns - np;
        bool have_s = ns < N, have_p = pend > 0;
        bool same = have_s && have_p && ns / c.nq == np / c.nq;
        bool can_s = have_s && pend < R;
        bool ok_p = have_p && now >= held[np] && now >= bank_free[np & 1];
        bool s = false, p = false;
        if (ok_p) {
            p = true;
            s = can_s && same;
        } else if (can_s && (!have_p || !same || pend < R - 1)) {
            s = true;
        }
        if (!s && !p) {
            if (!have_s && !have_p && now >= quiet)
                return now + 1;
            now++;
            continue;
        }
        long end = now + L;
        if (s)
            held[ns++] = end + lat;
        if (p) {
            long start = std::max(end + 3, drain_free);
            drain_free = start + 4L * c.hsw;
            bank_free[np & 1] = drain_free;
            quiet = drain_free + 2;
            np++;
        }
        now = end + 1;
    }
}

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_attention> h(argc, argv, "tb_attention", 400000000);
    mtxsim::Rng rng(0x5eed0a77);
    int32_t table[256];
    mtx_exp2_table(table);
    uint32_t exp2[256];
    for (int i = 0; i < 256; i++)
        exp2[i] = (uint32_t)table[i];
    Rams ram;

    h.reset();
    for (int i = 0; i < 256; i++) {
        h.m->tbl_we_i = 1;
        h.m->tbl_addr_i = i;
        h.m->tbl_data_i = exp2[i];
        h.tick();
    }
    h.m->tbl_we_i = 0;

    auto fill = [&](std::vector<int8_t> &m, int lim) {
        for (auto &b : m)
            b = (int8_t)rng.range(-lim, lim);
    };
    int ncalls = 0;
    long model_bad = 0;
    std::map<int, std::vector<int8_t>> want;
    std::vector<int> order;
    std::map<int, std::vector<int8_t>> got;

    // One call: drive, serve the RAMs, collect beats, check order and cycles.
    auto run = [&](const Call &c, const char *what) -> long {
        want.clear();
        order.clear();
        got.clear();
        reference(ram, c, exp2, want, order);
        h.m->start_i = 1;
        h.m->nq_i = c.nq;
        h.m->qbase_i = c.qbase;
        h.m->qstride_i = c.qstride;
        h.m->obase_i = c.obase;
        h.m->nk_i = c.nk;
        h.m->kstride_i = c.kstride;
        h.m->kbase_i = c.kbase;
        h.m->heads_i = c.heads;
        h.m->hsw_i = c.hsw;
        h.m->cw_i = c.cw;
        h.m->m_sm_i = c.m_sm;
        h.m->s_sm_i = c.s_sm;
        h.m->m_att_i = c.m_att;
        h.m->s_att_i = c.s_att;
        uint64_t c0 = h.cycle;
        size_t next = 0;
        bool done = false;
        while (!done) {
            h.m->eval();
            bool re = h.m->re_o;
            int qa = h.m->q_addr_o, ka = h.m->kv_addr_o;
            if (h.m->out_valid_o) {
                int a = h.m->out_beat_o;
                std::vector<int8_t> b(16);
                for (int i = 0; i < 16; i++)
                    b[i] = (int8_t)(h.m->out_data_o[i / 4] >> (8 * (i % 4)));
                if (got.count(a))
                    h.fail("%s: beat %d written twice", what, a);
                got[a] = b;
                if (next >= order.size() || order[next] != a)
                    h.fail("%s: beat %d out of order (expected %d)", what, a,
                           next < order.size() ? order[next] : -1);
                next++;
            }
            h.tick();
            h.m->start_i = 0;
            if (re) {
                if (qa >= NBEATS || ka >= NBEATS) {
                    h.fail("%s: read address out of range", what);
                } else {
                    for (int w = 0; w < 4; w++) {
                        uint32_t qw = 0, kw = 0, vw = 0;
                        for (int i = 0; i < 4; i++) {
                            qw |= (uint32_t)(uint8_t)ram.q[(size_t)qa * 16 + w * 4 + i] << (8 * i);
                            kw |= (uint32_t)(uint8_t)ram.k[(size_t)ka * 16 + w * 4 + i] << (8 * i);
                            vw |= (uint32_t)(uint8_t)ram.v[(size_t)ka * 16 + w * 4 + i] << (8 * i);
                        }
                        h.m->q_rdata_i[w] = qw;
                        h.m->k_rdata_i[w] = kw;
                        h.m->v_rdata_i[w] = vw;
                    }
                }
            }
            done = h.m->done_o;
        }
        long cyc = (long)(h.cycle - c0);
        for (auto &kv : want) {
            auto it = got.find(kv.first);
            if (it == got.end()) {
                h.fail("%s: beat %d missing", what, kv.first);
                continue;
            }
            for (int i = 0; i < 16; i++)
                if (it->second[i] != kv.second[i]) {
                    h.fail("%s: nq %d nk %d H %d hsw %d beat %d byte %d: rtl %d ref %d", what,
                           c.nq, c.nk, c.heads, c.hsw, kv.first, i, it->second[i], kv.second[i]);
                    break;
                }
        }
        if (got.size() != want.size())
            h.fail("%s: %zu beats, expected %zu", what, got.size(), want.size());
        long mc = model_cycles(c);
        if (mc != cyc) {
            if (model_bad++ < 5)
                h.fail("%s: nq %d nk %d H %d hsw %d: %ld cycles, model %ld", what, c.nq, c.nk,
                       c.heads, c.hsw, cyc, mc);
        }
        // idle gap between calls
        h.tick();
        ncalls++;
        return cyc;
    };

    // Per (head, query) cycles at the brief's shapes: 4 heads x nq queries.
    auto perpair = [&](int nk, int hsw, int nq, int heads) {
        fill(ram.q, 127);
        fill(ram.k, 127);
        fill(ram.v, 127);
        Call c{nq, 0, nq, 0, nk, nk, 0, heads, hsw, heads * hsw, 0, 0, 0, 0};
        make_rec(0.05, &c.m_sm, &c.s_sm);
        make_rec(1.0 / 256, &c.m_att, &c.s_att);
        long cyc = run(c, "perpair");
        std::printf("tb_attention: nk %d hsw %d nq %d heads %d: %ld cycles, %.1f per (head, query)\n",
                    nk, hsw, nq, heads, cyc, (double)cyc / (nq * heads));
    };
    perpair(7, 2, 7, 4);
    perpair(56, 2, 56, 4);
    perpair(7, 2, 64, 1);
    perpair(56, 2, 64, 1);

    // Encoder words stacked in rows of a batch: C = 128, H = 4, hs = 32.
    for (int rep = 0; rep < 6; rep++) {
        int G = (int)rng.range(1, 8), hsw = (int)rng.range(1, 4), H = (int)rng.range(1, 4);
        std::vector<int> S(G), st(G);
        int N = 0;
        for (int g = 0; g < G; g++) {
            S[g] = (int)rng.range(1, 12);
            st[g] = N;
            N += S[g];
        }
        fill(ram.q, 127);
        fill(ram.k, 127);
        fill(ram.v, 127);
        for (int g = 0; g < G; g++) {
            Call c{S[g], st[g], N, st[g], S[g], N, st[g], H, hsw, H * hsw, 0, 0, 0, 0};
            random_recs(rng, c);
            run(c, "batch");
        }
    }

    // Decoder rows of a batch of B words against a KV cache (kstride 64).
    for (int rep = 0; rep < 6; rep++) {
        int B = (int)rng.range(1, 16), hsw = (int)rng.range(1, 4), H = (int)rng.range(1, 8);
        int lrow = (int)rng.range(0, 3) * H * 64;
        fill(ram.q, 127);
        fill(ram.k, 127);
        fill(ram.v, 127);
        for (int b = 0; b < B; b++) {
            Call c{1, b, B, b, (int)rng.range(1, 64), 64, lrow, H, hsw, H * hsw, 0, 0, 0, 0};
            random_recs(rng, c);
            run(c, "decoder");
        }
    }

    // Random shapes, bases and strides.
    for (int rep = 0; rep < 120; rep++) {
        Call c;
        c.hsw = (int)rng.range(1, 8);
        c.heads = (int)rng.range(1, std::min(8, 32 / c.hsw));
        c.cw = c.heads * c.hsw + (int)rng.range(0, 32 - c.heads * c.hsw);
        bool big = rep % 8 == 0;
        c.nq = (int)(big ? rng.range(1, 64) : rng.range(1, 12));
        c.nk = (int)(big ? rng.range(1, 64) : rng.range(1, 16));
        c.qstride = (int)rng.range(c.heads > 1 ? c.nq : 0, 127);
        c.qbase = (int)rng.range(0, 127);
        c.obase = (int)rng.range(0, 127 - c.nq + 1);
        c.kstride = (int)rng.range(0, 3) == 0 ? 64 : (int)rng.range(c.nk, 127);
        int kmax = NBEATS / c.hsw - (c.heads - 1) * c.kstride - c.nk;
        c.kbase = (int)rng.range(0, std::min(kmax, 8191));
        random_recs(rng, c);
        int lim = (int)rng.range(0, 3) == 0 ? 3 : 127; // small values: equal scores
        fill(ram.q, lim);
        fill(ram.k, lim);
        fill(ram.v, 127);
        run(c, "random");
    }

    char what[96];
    std::snprintf(what, sizeof what, "%d calls", ncalls);
    return h.finish(what);
}
