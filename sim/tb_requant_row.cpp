// tb_requant_row - mtx_requant_row (the layer controller's wide q8 path)
// against mtx_ref_requant: 400 ops (Q8 or RELU_Q8, seeded random shifts,
// each op with its own multiplier table, so multipliers kept across a clear
// would give wrong bytes), each a run of rows over column tiles in GEMM
// order (every row of a tile, then the next tile) or in random order
// (tiles revisited), rows offered with random gaps and taken with random
// stalls. The record RAM is a model with one cycle of read latency that
// drives garbage on m_i when nothing was read. Checked: every beat's 16
// bytes, its tag, that beats leave in order exactly 3 cycles after their
// take, that each fetch reads channels o0 .. o0 + 15 in order, and that a
// tile's multipliers are fetched once per run of its rows (16 reads per
// tile change, none for a row of the tile held).
#include "Vmtx_requant_row.h"
#include "ref_iops.h"
#include "sim_util.h"

#include <deque>
#include <vector>

struct Row {
    int o0;
    int32_t acc[16];
    uint32_t tag;
};

struct Sent {
    Row row;
    uint64_t cycle;
};

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_requant_row> h(argc, argv, "tb_requant_row", 20000000);
    mtxsim::Rng rng(0x5eed0a11);
    const int Tiles = 256; // o0 up to 4080: channels 0 .. 4095, the 12-bit channel index
    const int32_t edge_m[] = {1, -1, INT32_MAX, -INT32_MAX, 1 << 30, 3};
    const int32_t edge_acc[] = {0, 1, -1, INT32_MAX, INT32_MIN, 33554431, -33554431, 127, -128};
    h.reset();
    h.m->clear_i = 0;
    h.m->en_i = 0;
    h.m->row_valid_i = 0;
    h.m->take_i = 0;
    uint64_t rows_total = 0, reads = 0, fetches_want = 0;
    int ram_valid = 0;
    uint32_t ram_q = 0;
    std::vector<int32_t> mtab((size_t)Tiles * 16);
    for (int op = 0; op < 400; op++) {
        const int mode = rng.range(0, 1) ? 2 : 1; // RELU_Q8 or Q8
        const int s = op % 5 == 0 ? (int)rng.range(0, 62) : (int)rng.range(28, 44);
        for (auto &m : mtab)
            m = rng.range(0, 9) == 0 ? edge_m[rng.range(0, 5)] : (int32_t)rng.range(-INT32_MAX, INT32_MAX);
        // The op's rows: GEMM order (tiles in turn, rows of a tile together) or random tiles.
        std::vector<Row> rows;
        const int ntiles = (int)rng.range(1, 6), nrows = (int)rng.range(1, 9);
        const bool shuffled = op % 3 == 2;
        int tile_base = (int)rng.range(0, Tiles - ntiles);
        if (op % 7 == 6)
            tile_base = Tiles - ntiles; // up to the highest channels
        for (int k = 0; k < ntiles * nrows; k++) {
            Row r;
            r.o0 = 16 * (shuffled ? tile_base + (int)rng.range(0, ntiles - 1) : tile_base + k / nrows);
            for (int i = 0; i < 16; i++)
                r.acc[i] = rng.range(0, 15) == 0 ? edge_acc[rng.range(0, 8)] : (int32_t)rng.range(-(1 << 24), 1 << 24);
            r.tag = (uint32_t)rng.range(0, (1 << 18) - 1);
            rows.push_back(r);
        }
        int held = -1; // the tile whose multipliers the unit holds (bench's view)
        for (const Row &r : rows) {
            if (r.o0 != held)
                fetches_want++;
            held = r.o0;
        }
        // Clear (a new GEMM op), then run the rows.
        h.m->clear_i = 1;
        h.m->en_i = 0;
        h.m->row_valid_i = 0;
        h.m->take_i = 0;
        h.tick();
        ram_valid = 0;
        h.m->clear_i = 0;
        h.m->s_i = s;
        h.m->mode_i = mode;
        std::deque<Sent> inflight;
        size_t next = 0, done = 0;
        int fetch_o0 = -1, fetch_i = 0;
        uint64_t guard = h.cycle + 200000;
        while (done < rows.size()) {
            if (h.cycle > guard) {
                h.fail("op %d: stuck with %zu of %zu rows done", op, done, rows.size());
                return h.finish("requant rows");
            }
            // Inputs for this cycle.
            h.m->en_i = 1;
            h.m->m_i = ram_valid ? ram_q : (uint32_t)rng.next();
            const bool offer = next < rows.size() && rng.range(0, 4) != 0;
            if (offer) {
                const Row &r = rows[next];
                h.m->row_valid_i = 1;
                h.m->o0_i = r.o0;
                for (int i = 0; i < 16; i++)
                    h.m->acc_i[i] = (uint32_t)r.acc[i];
                h.m->tag_i = r.tag;
            } else {
                h.m->row_valid_i = 0;
                h.m->o0_i = (uint32_t)rng.range(0, 4095);
            }
            h.m->eval();
            const bool take = offer && h.m->hit_o && rng.range(0, 3) != 0;
            h.m->take_i = take;
            // The record RAM samples the read at the edge.
            const bool re = h.m->m_re_o;
            const int idx = (int)h.m->m_idx_o;
            if (re) {
                reads++;
                if (fetch_o0 < 0 || fetch_i == 16) {
                    fetch_o0 = idx;
                    fetch_i = 0;
                }
                if (idx != fetch_o0 + fetch_i || idx % 16 != fetch_i || (offer && idx - fetch_i != rows[next].o0))
                    h.fail("op %d: read of channel %d, want %d (row of tile %d)", op, idx, fetch_o0 + fetch_i,
                           offer ? rows[next].o0 : -1);
                fetch_i++;
            }
            if (take)
                inflight.push_back({rows[next++], h.cycle});
            h.tick();
            ram_valid = re;
            ram_q = re && idx < Tiles * 16 ? (uint32_t)mtab[(size_t)idx] : 0u;
            h.m->take_i = 0;
            h.m->eval();
            if (h.m->beat_v_o) {
                if (inflight.empty()) {
                    h.fail("op %d: a beat without a row", op);
                    return h.finish("requant rows");
                }
                const Sent sent = inflight.front();
                inflight.pop_front();
                const Row &r = sent.row;
                if (h.cycle - sent.cycle != 3)
                    h.fail("op %d: beat %llu cycles after its take, want 3", op,
                           (unsigned long long)(h.cycle - sent.cycle));
                if (h.m->tag_o != r.tag)
                    h.fail("op %d: tag %u, want %u (beats out of order?)", op, (unsigned)h.m->tag_o, r.tag);
                for (int i = 0; i < 16; i++) {
                    const int64_t want = mtx_ref_requant(r.acc[i], mtab[(size_t)r.o0 + i], s, mode, 0);
                    const uint8_t got = (uint8_t)(h.m->beat_o[i / 4] >> (8 * (i % 4)));
                    if (got != (uint8_t)want)
                        h.fail("op %d: channel %d: acc %d m %d s %d mode %d: rtl %d ref %lld", op, r.o0 + i,
                               r.acc[i], mtab[(size_t)r.o0 + i], s, mode, (int8_t)got, (long long)want);
                }
                done++;
                rows_total++;
            }
        }
        if (!inflight.empty())
            h.fail("op %d: %zu rows without a beat", op, inflight.size());
        for (int k = 0; k < 4; k++) { // drained: no more beats, not busy
            h.m->en_i = 0;
            h.m->row_valid_i = 0;
            h.tick();
            if (h.m->beat_v_o)
                h.fail("op %d: a beat after the last row", op);
        }
        if (h.m->busy_o)
            h.fail("op %d: busy after its rows", op);
    }
    if (reads != 16 * fetches_want)
        h.fail("%llu multiplier reads, want %llu (16 per tile change)", (unsigned long long)reads,
               (unsigned long long)(16 * fetches_want));
    char what[96];
    std::snprintf(what, sizeof what, "%llu rows in 400 ops, %llu tile fetches", (unsigned long long)rows_total,
                  (unsigned long long)fetches_want);
    return h.finish(what);
}
