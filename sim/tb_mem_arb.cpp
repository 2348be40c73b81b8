// tb_mem_arb - mtx_mem_arb with two random read masters. Each master issues
// a seeded random sequence of beat addresses (request valid with random gaps,
// held until ready); memory latency 1-12 and request stalls 0-40 % per
// trial. Every beat's data is a function of its address, so each master's
// responses must come back exactly in its own request order with the data of
// its own addresses; no response may reach a master with none outstanding;
// at most Depth = 8 requests are outstanding; when both masters ask
// continuously each gets half of the grants, give or take one (round-robin). A trial with
// latency 7 and no stalls (Depth >= L + 1) must issue one beat a cycle.
#include "Vmtx_mem_arb.h"
#include "mem_model.h"
#include "sim_util.h"

#include <deque>
#include <vector>

static const uint64_t BASE = 0x40000;
static const int BEATS = 4096;

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_mem_arb> h(argc, argv, "tb_mem_arb", 20000000);
    Vmtx_mem_arb *m = h.m;
    mtxsim::Rng rng(0xa4b17e55);
    std::vector<uint8_t> bytes(16 * BEATS);
    for (size_t i = 0; i < bytes.size(); i++)
        bytes[i] = (uint8_t)(i * 7 + (i >> 4) * 131 + (i >> 9));
    h.reset();
    uint64_t total = 0;
    int trials = 0;
    for (int t = 0; t < 40; t++) {
        bool busy_test = t == 0;
        int lat = busy_test ? 7 : (int)rng.range(1, 12);
        mtxsim::MemModel mem(rng.next(), lat, busy_test ? 0 : (int)rng.range(0, 40));
        mem.add("mem", BASE, bytes);
        int gap[2] = {busy_test ? 0 : (int)rng.range(0, 80), busy_test ? 0 : (int)rng.range(0, 80)};
        int want_n[2] = {(int)rng.range(0, 600), (int)rng.range(0, 600)};
        if (busy_test)
            want_n[0] = want_n[1] = 500;
        int issued[2] = {0, 0}, got[2] = {0, 0}, grants_both[2] = {0, 0};
        std::deque<uint64_t> pend[2];
        bool valid[2] = {false, false};
        uint64_t addr[2] = {0, 0};
        int outstanding = 0, max_out = 0;
        uint64_t c0 = h.cycle, first = 0, last = 0;
        while (got[0] < want_n[0] || got[1] < want_n[1]) {
            for (int k = 0; k < 2; k++) {
                if (!valid[k] && issued[k] < want_n[k] && rng.range(0, 99) >= gap[k]) {
                    valid[k] = true;
                    addr[k] = BASE + 16 * (uint64_t)rng.range(0, BEATS - 1);
                }
            }
            m->m0_req_valid_i = valid[0];
            m->m0_req_addr_i = addr[0];
            m->m1_req_valid_i = valid[1];
            m->m1_req_addr_i = addr[1];
            mem.present(m);
            m->eval();
            bool rdy[2] = {(bool)m->m0_req_ready_o, (bool)m->m1_req_ready_o};
            bool rv[2] = {(bool)m->m0_rsp_valid_o, (bool)m->m1_rsp_valid_o};
            if (rdy[0] && rdy[1])
                h.fail("trial %d: both masters granted in one cycle", t);
            if (valid[0] && valid[1] && (rdy[0] || rdy[1]))
                grants_both[rdy[1]]++;
            for (int k = 0; k < 2; k++) {
                if (rv[k]) {
                    if (pend[k].empty()) {
                        h.fail("trial %d: response to master %d with none outstanding", t, k);
                        continue;
                    }
                    uint64_t a = pend[k].front() - BASE;
                    pend[k].pop_front();
                    for (int i = 0; i < 4; i++) {
                        uint32_t w = k ? m->m1_rsp_data_o[i] : m->m0_rsp_data_o[i];
                        uint32_t e = 0;
                        for (int b = 0; b < 4; b++)
                            e |= (uint32_t)bytes[a + 4 * i + b] << (8 * b);
                        if (w != e)
                            h.fail("trial %d master %d response %d word %d: 0x%08x, want 0x%08x", t, k, got[k], i,
                                   w, e);
                    }
                    got[k]++;
                }
                if (valid[k] && rdy[k]) {
                    pend[k].push_back(addr[k]);
                    valid[k] = false;
                    issued[k]++;
                    outstanding++;
                }
            }
            if (m->mem_rsp_valid_i)
                outstanding--;
            if (outstanding > max_out)
                max_out = outstanding;
            if (m->mem_req_valid_o && m->mem_req_ready_i) {
                if (!first)
                    first = h.cycle;
                last = h.cycle;
            }
            mem.commit(m);
            h.tick();
        }
        if (max_out > 8)
            h.fail("trial %d: %d requests outstanding (Depth 8)", t, max_out);
        if (busy_test) {
            if (last - first + 1 != 1000)
                h.fail("latency 7, no stalls: 1000 requests over %llu cycles", (unsigned long long)(last - first + 1));
            if (std::abs(grants_both[0] - grants_both[1]) > 1)
                h.fail("round-robin: %d / %d grants while both asked", grants_both[0], grants_both[1]);
        }
        total += issued[0] + issued[1];
        trials++;
        (void)c0;
    }
    char what[100];
    std::snprintf(what, sizeof what, "%d trials, %llu beats routed", trials, (unsigned long long)total);
    return h.finish(what);
}
