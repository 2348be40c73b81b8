// tb_pe_array - mtx_pe_array (PE_ROWS x PE_COLS, 16 x 16 unless the build
// defines them) against mtx_ref_linear: seeded random int8 tiles for K = 1,
// 2, 17, 300 and 2048, the extremes (all +-127 and -128 at K = 2048: |acc| up
// to 2^25), input bubbles, garbage cleared by clear_i, results read exactly
// ROWS + COLS - 2 cycles after the last input and drained a row per drain_i
// cycle (with gaps), after which every accumulator reads zero.
// The same checker runs the RTL (make rtl-test: 16 x 16; make rtl-netlist:
// 4 x 4 with -GROWS=4 -GCOLS=4) and yosys' gate netlist of a 4 x 4 array
// (make rtl-netlist), so its ports are reached through width-generic
// accessors: Verilator gives a port of up to 64 bits as an integer, a wider
// one as VlWide.
#include "Vmtx_pe_array.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <vector>

#ifndef PE_ROWS
#define PE_ROWS 16
#endif
#ifndef PE_COLS
#define PE_COLS 16
#endif
static const int R = PE_ROWS, C = PE_COLS;

// Byte i of a port of up to 64 bits / of a wide port.
template <class T> static void set_byte(T &w, int i, int8_t v)
{
    int sh = 8 * i;
    w = (T)((w & ~((T)0xff << sh)) | ((T)(uint8_t)v << sh));
}
template <std::size_t N> static void set_byte(VlWide<N> &w, int i, int8_t v)
{
    uint32_t &word = w[i / 4];
    int sh = 8 * (i % 4);
    word = (word & ~(0xffu << sh)) | ((uint32_t)(uint8_t)v << sh);
}
// 32-bit word c of a port of up to 64 bits / of a wide port.
template <class T> static int32_t word_of(const T &w, int c)
{
    return (int32_t)(uint32_t)((uint64_t)w >> (32 * c));
}
template <std::size_t N> static int32_t word_of(const VlWide<N> &w, int c)
{
    return (int32_t)w[c];
}

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_pe_array> h(argc, argv, "tb_pe_array", 2000000);
    mtxsim::Rng rng(0x5eed0007);
    h.reset();
    const int ks[] = {1, 2, 17, 300, 2048, 2048, 2048, 64, 64};
    int tiles = 0;
    for (int t = 0; t < (int)(sizeof ks / sizeof ks[0]); t++) {
        int K = ks[t];
        // a (R, K) row-major; b^T (C, K) row-major, so ref = mtx_ref_linear(a, bt).
        std::vector<int8_t> a((size_t)R * K), bt((size_t)C * K);
        for (auto &v : a)
            v = (int8_t)(t == 5 ? 127 : t == 6 ? -128 : rng.range(-127, 127));
        for (auto &v : bt)
            v = (int8_t)(t == 5 ? -127 : t == 6 ? -128 : rng.range(-127, 127));
        std::vector<int32_t> want((size_t)R * C);
        mtx_ref_linear(a.data(), bt.data(), R, K, C, want.data());
        if (t == 7) { // garbage, then clear
            h.m->valid_i = 1;
            for (int i = 0; i < 16; i++) {
                for (int r = 0; r < R; r++)
                    set_byte(h.m->a_i, r, (int8_t)rng.next());
                for (int c = 0; c < C; c++)
                    set_byte(h.m->b_i, c, (int8_t)rng.next());
            }
            for (int i = 0; i < 40; i++)
                h.tick();
            h.m->valid_i = 0;
            for (int i = 0; i < 40; i++)
                h.tick();
        }
        h.m->clear_i = 1;
        h.tick();
        h.m->clear_i = 0;
        for (int k = 0; k < K; k++) {
            while (t == 8 && rng.range(0, 2) == 0) { // bubbles carry junk data
                h.m->valid_i = 0;
                for (int r = 0; r < R; r++)
                    set_byte(h.m->a_i, r, (int8_t)rng.next());
                h.tick();
            }
            h.m->valid_i = 1;
            for (int r = 0; r < R; r++)
                set_byte(h.m->a_i, r, a[(size_t)r * K + k]);
            for (int c = 0; c < C; c++)
                set_byte(h.m->b_i, c, bt[(size_t)c * K + k]);
            h.tick();
        }
        h.m->valid_i = 0;
        for (int i = 0; i < R + C - 2; i++)
            h.tick();
        for (int r = 0; r < R; r++) {
            h.m->eval();
            for (int c = 0; c < C; c++)
                if (word_of(h.m->row_o, c) != want[(size_t)r * C + c])
                    h.fail("K %d acc[%d][%d]: rtl %d ref %d", K, r, c, word_of(h.m->row_o, c),
                           want[(size_t)r * C + c]);
            while (rng.range(0, 3) == 0)
                h.tick(); // a gap holds the row
            h.m->drain_i = 1;
            h.tick();
            h.m->drain_i = 0;
        }
        for (int c = 0; c < C; c++)
            if (word_of(h.m->row_o, c) != 0)
                h.fail("K %d: accumulator not zero after drain", K);
        tiles++;
    }
    char what[64];
    std::snprintf(what, sizeof what, "%d tiles of %dx%d", tiles, R, C);
    return h.finish(what);
}
