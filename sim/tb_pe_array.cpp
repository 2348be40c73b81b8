// tb_pe_array - mtx_pe_array (PE_ROWS x PE_COLS, 16 x 16 unless the build
// defines them) against mtx_ref_linear: seeded random
// int8 tiles for K = 1, 2, 16, 17, 33, 47, 64, 128, 300 and 2048, the
// extremes (all +-127 and -128 at K = 2048: |acc| up to 2^25), fed back to
// back (the next tile's first element the cycle after the last one's), with
// input bubbles carrying junk data and junk last flags, and junk cleared by
// clear_i. Each tile's rows are read from exactly ROWS + COLS cycles after
// its last input (ROWS + COLS - 1 cycles later), a row per drain_i cycle
// with random gaps, while the next tile is fed; a tile's last element is
// held back until the previous tile's drain can end by the cycle after it
// (the latest the array allows), which then drains without gaps. After the
// last drain every result register reads zero.
// The same checker runs the RTL (make rtl-test: 16 x 16; make rtl-netlist:
// 4 x 4 with -GROWS=4 -GCOLS=4) and yosys' gate netlist of a 4 x 4 array
// (make rtl-netlist), so its ports are reached through width-generic
// accessors: Verilator gives a port of up to 64 bits as an integer, a wider
// one as VlWide.
#include "Vmtx_pe_array.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <deque>
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

struct Tile {
    int K;
    std::vector<int8_t> a, bt; // a (R, K) row-major; b^T (C, K) row-major
    std::vector<int32_t> want;
    uint64_t ready = 0; // first cycle its row 0 may be read
    int rows = 0;       // rows read
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_pe_array> h(argc, argv, "tb_pe_array", 2000000);
    mtxsim::Rng rng(0x5eed0007);
    h.reset();
    const int ks[] = {1, 2, 17, 300, 2048, 2048, 2048, 64, 64, 16, 33, 1, 47, 128, 2, 64};
    const int nt = (int)(sizeof ks / sizeof ks[0]);
    std::vector<Tile> tiles(nt);
    for (int t = 0; t < nt; t++) {
        Tile &x = tiles[t];
        x.K = ks[t];
        x.a.resize((size_t)R * x.K);
        x.bt.resize((size_t)C * x.K);
        for (auto &v : x.a)
            v = (int8_t)(t == 5 ? 127 : t == 6 ? -128 : rng.range(-127, 127));
        for (auto &v : x.bt)
            v = (int8_t)(t == 5 ? -127 : t == 6 ? -128 : rng.range(-127, 127));
        x.want.resize((size_t)R * C);
        mtx_ref_linear(x.a.data(), x.bt.data(), R, x.K, C, x.want.data());
    }
    std::deque<int> drainq; // tiles fed, rows not all read
    int ft = 0, fk = 0;     // tile and element being fed
    int force = 0;          // drain cycles that may not gap
    int done = 0, holds = 0;
    bool junked = false;
    for (uint64_t cyc = 0; done < nt; cyc++) {
        h.m->valid_i = 0;
        h.m->last_i = (uint8_t)rng.range(0, 1); // junk while not valid
        h.m->drain_i = 0;
        for (int r = 0; r < R; r++)
            set_byte(h.m->a_i, r, (int8_t)rng.next());
        for (int c = 0; c < C; c++)
            set_byte(h.m->b_i, c, (int8_t)rng.next());
        // Tile 7: everything drained first, then junk, then clear_i.
        if (ft == 7 && !junked && drainq.empty()) {
            h.m->eval();
            for (int c = 0; c < C; c++)
                if (word_of(h.m->row_o, c) != 0)
                    h.fail("before junk: result register not zero after drain");
            h.m->valid_i = 1;
            h.m->last_i = 0;
            for (int i = 0; i < 40; i++)
                h.tick();
            h.m->valid_i = 0;
            for (int i = 0; i < 40; i++)
                h.tick();
            h.m->clear_i = 1;
            h.tick();
            h.m->clear_i = 0;
            cyc += 81;
            junked = true;
            continue;
        }
        bool drain_now = false;
        if (!drainq.empty()) {
            Tile &d = tiles[drainq.front()];
            if (cyc >= d.ready && (force > 0 || d.rows == 0 || rng.range(0, 3) != 0))
                drain_now = true;
        }
        if (ft < nt && !(ft == 7 && !junked) && !(ft == 8 && rng.range(0, 2) == 0)) {
            Tile &x = tiles[ft];
            bool last = fk == x.K - 1;
            bool ok = true;
            if (last && !drainq.empty()) {
                // the previous tile's drain must end by the next cycle
                Tile &d = tiles[drainq.back()];
                int left = R - d.rows;
                ok = drainq.size() == 1 && cyc >= d.ready && left <= 2;
                if (ok) {
                    drain_now = true;
                    force = left;
                } else {
                    holds++;
                }
            }
            if (ok) {
                h.m->valid_i = 1;
                h.m->last_i = last;
                for (int r = 0; r < R; r++)
                    set_byte(h.m->a_i, r, x.a[(size_t)r * x.K + fk]);
                for (int c = 0; c < C; c++)
                    set_byte(h.m->b_i, c, x.bt[(size_t)c * x.K + fk]);
                if (last) {
                    x.ready = cyc + R + C;
                    drainq.push_back(ft);
                    ft++, fk = 0;
                } else {
                    fk++;
                }
            }
        }
        h.m->eval();
        if (drain_now) {
            int t = drainq.front();
            Tile &d = tiles[t];
            for (int c = 0; c < C; c++)
                if (word_of(h.m->row_o, c) != d.want[(size_t)d.rows * C + c])
                    h.fail("tile %d (K %d) acc[%d][%d]: rtl %d ref %d", t, d.K, d.rows, c,
                           word_of(h.m->row_o, c), d.want[(size_t)d.rows * C + c]);
            h.m->drain_i = 1;
            if (force > 0)
                force--;
            if (++d.rows == R) {
                drainq.pop_front();
                done++;
            }
        }
        h.tick();
    }
    h.m->drain_i = 0;
    h.m->valid_i = 0;
    h.m->eval();
    for (int c = 0; c < C; c++)
        if (word_of(h.m->row_o, c) != 0)
            h.fail("result register not zero after the last drain");
    char what[96];
    std::snprintf(what, sizeof what, "%d tiles of %dx%d back to back, %d last elements held for a drain",
                  nt, R, C, holds);
    return h.finish(what);
}
