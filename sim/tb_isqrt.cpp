// tb_isqrt - mtx_isqrt against mtx_ref_isqrt (binary search): perfect squares
// and their neighbours, powers of two, the extremes, and seeded random n
// below 2^56 (the norm's bound) and over the whole uint64 range; each result
// arrives exactly 32 cycles after start.
#include "Vmtx_isqrt.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_isqrt> h(argc, argv, "tb_isqrt", 2000000);
    mtxsim::Rng rng(0x5eed0002);
    std::vector<uint64_t> ns = {0, 1, 2, 3, 4, 5, 8, 9, 15, 16, 17, UINT64_MAX, (1ull << 56) - 1, 1ull << 56};
    for (int b = 0; b < 64; b++)
        ns.push_back(1ull << b);
    for (int i = 0; i < 2000; i++) {
        uint64_t r = rng.next() & 0xfffffffull; // root < 2^28
        ns.push_back(r * r);
        ns.push_back(r * r - 1);
        ns.push_back(r * r + 2 * r); // (r+1)^2 - 1
    }
    ns.push_back(0xffffffffull * 0xffffffffull);
    for (int i = 0; i < 20000; i++)
        ns.push_back(rng.next() >> (8 + rng.range(0, 55))); // shift <= 63: no UB
    for (int i = 0; i < 2000; i++)
        ns.push_back(rng.next());
    h.reset();
    for (uint64_t n : ns) {
        h.m->start_i = 1;
        h.m->n_i = n;
        h.tick();
        h.m->start_i = 0;
        int waited = 0;
        while (!h.m->done_o) {
            h.tick();
            waited++;
        }
        if (waited != 32)
            h.fail("n %llu: done after %d cycles, not 32", (unsigned long long)n, waited);
        uint32_t want = mtx_ref_isqrt(n);
        if (h.m->root_o != want)
            h.fail("isqrt(%llu): rtl %u ref %u", (unsigned long long)n, h.m->root_o, want);
    }
    char what[64];
    std::snprintf(what, sizeof what, "%zu square roots", ns.size());
    return h.finish(what);
}
