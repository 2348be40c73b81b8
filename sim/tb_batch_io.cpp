// tb_batch_io - mtx_batch_io against the layout.h batch buffers. Per trial
// (seeded random): n words in 1..64 (n = 1, 64 and odd n among them), each
// [S, ids..., junk] with S in 0..70 and some negative, in a buffer of
// exactly 260 n bytes at a random 16-byte aligned base (so words straddle
// beats); the load must write every word's raw S into the length table and
// exactly the ids at positions < min(S, 64) (unsigned) into the id table, each
// equal to the buffer's int32. Then random output lengths T in 0..64 and ids
// in the datapath's tables (out_len_i registered on out_word_o in half the
// trials, combinational in the other; out_id_i one cycle after out_idx_o);
// the store must write the output buffer (exactly 260 n bytes, prefilled
// with junk) byte for byte as [T, id_0, ..., id_{T-1}, 0...] per word.
// Memory latency 1-9, read stalls 0-40 %, write stalls 0-50 %; any beat read
// outside the input buffer or byte written outside the output buffer ends
// the bench (mem_model.h, exit 3). Checks the number of beats read and
// written and that no more than Depth beats are outstanding.
#include "Vmtx_batch_io.h"
#include "format/layout.h"
#include "mem_model.h"
#include "sim_util.h"

#include <vector>

static const int STRIDE = MTX_IO_STRIDE; // int32 per word

int main(int argc, char **argv)
{
    mtxsim::Harness<Vmtx_batch_io> h(argc, argv, "tb_batch_io", 50000000);
    Vmtx_batch_io *m = h.m;
    mtxsim::Rng rng(0xba7c4100);
    h.reset();
    int trials = 0;
    uint64_t words = 0, rd_beats = 0, wr_beats = 0;
    for (int t = 0; t < 160; t++) {
        int n = t == 0 ? 1 : t == 1 ? 64 : (int)rng.range(1, 64);
        uint64_t in_base = 0x1000 + 16 * (uint64_t)rng.range(0, 64);
        uint64_t out_base = 0x100000 + 16 * (uint64_t)rng.range(0, 64);
        std::vector<int32_t> in((size_t)n * STRIDE);
        for (auto &v : in)
            v = (int32_t)rng.next();
        for (int w = 0; w < n; w++) {
            int32_t S = (int32_t)rng.range(0, 70);
            if (rng.range(0, 15) == 0)
                S = -(int32_t)rng.range(1, 1000);
            if (rng.range(0, 15) == 0)
                S = (int32_t)rng.next();
            in[(size_t)w * STRIDE] = S;
        }
        std::vector<uint8_t> in_bytes(in.size() * 4), out_bytes(in.size() * 4);
        std::memcpy(in_bytes.data(), in.data(), in_bytes.size());
        for (auto &b : out_bytes)
            b = (uint8_t)rng.next();
        int lat = (int)rng.range(1, 9);
        mtxsim::MemModel mem(rng.next(), lat, (int)rng.range(0, 40));
        mem.set_wr_stall((int)rng.range(0, 50));
        mem.add("in", in_base, in_bytes);
        mem.add("out", out_base, out_bytes, true);
        // datapath tables: written by the load, read by the store
        std::vector<int64_t> len_tab(64, -1);
        std::vector<std::vector<int64_t>> id_tab(64, std::vector<int64_t>(64, -1));
        std::vector<int> T(64);
        std::vector<std::vector<uint8_t>> oid(64, std::vector<uint8_t>(64));
        for (int w = 0; w < 64; w++) {
            T[w] = (int)rng.range(0, 64);
            for (auto &v : oid[w])
                v = (uint8_t)rng.next();
        }
        bool len_comb = t % 2;
        int prev_word = 0, prev_idx = 0, outstanding = 0, max_out = 0;
        uint64_t beats0 = mem.beats;

        m->n_i = n;
        m->in_base_i = in_base;
        m->out_base_i = out_base;
        for (int phase = 0; phase < 2; phase++) {
            m->load_i = phase == 0;
            m->store_i = phase == 1;
            bool done = false;
            while (!done) {
                mem.present(m);
                mem.present_wr(m);
                m->out_id_i = oid[prev_word][prev_idx];
                if (!len_comb)
                    m->out_len_i = T[prev_word];
                m->eval();
                if (len_comb) {
                    m->out_len_i = T[m->out_word_o];
                    m->eval();
                }
                if (m->len_we_o)
                    len_tab[m->len_word_o] = (int32_t)m->len_data_o;
                if (m->id_we_o) {
                    if (id_tab[m->id_word_o][m->id_idx_o] != -1)
                        h.fail("trial %d: id word %d idx %d written twice", t, m->id_word_o, m->id_idx_o);
                    id_tab[m->id_word_o][m->id_idx_o] = (int32_t)m->id_data_o;
                }
                if (m->mem_req_valid_o && m->mem_req_ready_i)
                    outstanding++;
                if (m->mem_rsp_valid_i)
                    outstanding--;
                if (outstanding > max_out)
                    max_out = outstanding;
                done = m->done_o;
                mem.commit(m);
                mem.commit_wr(m);
                prev_word = m->out_word_o;
                prev_idx = m->out_idx_o;
                h.tick();
                m->load_i = m->store_i = 0;
            }
            if (phase == 0) {
                // the load's tables against the buffer
                for (int w = 0; w < n; w++) {
                    int32_t S = in[(size_t)w * STRIDE];
                    if (len_tab[w] != S)
                        h.fail("trial %d word %d: length %lld, buffer %d", t, w, (long long)len_tab[w], S);
                    uint32_t lim = (uint32_t)S < 64u ? (uint32_t)S : 64u;
                    for (uint32_t i = 0; i < 64; i++) {
                        int64_t want = i < lim ? in[(size_t)w * STRIDE + 1 + i] : -1;
                        if (id_tab[w][i] != want)
                            h.fail("trial %d word %d (S %d) id %u: table %lld, want %lld", t, w, S, i,
                                   (long long)id_tab[w][i], (long long)want);
                    }
                }
                for (int w = n; w < 64; w++)
                    if (len_tab[w] != -1)
                        h.fail("trial %d: word %d past n written", t, w);
                uint64_t want_beats = ((uint64_t)n * STRIDE + 3) / 4;
                if (mem.beats - beats0 != want_beats)
                    h.fail("trial %d: %llu beats read, want %llu", t, (unsigned long long)(mem.beats - beats0),
                           (unsigned long long)want_beats);
                if (max_out > 4)
                    h.fail("trial %d: %d beats outstanding (queue depth 4)", t, max_out);
                rd_beats += mem.beats - beats0;
            }
        }
        // output buffer, byte for byte
        std::vector<int32_t> want((size_t)n * STRIDE, 0);
        for (int w = 0; w < n; w++) {
            want[(size_t)w * STRIDE] = T[w];
            for (int i = 0; i < T[w]; i++)
                want[(size_t)w * STRIDE + 1 + i] = oid[w][i];
        }
        const std::vector<uint8_t> &got = mem.bytes("out");
        if (std::memcmp(got.data(), want.data(), got.size()) != 0) {
            size_t i = 0;
            while (got[i] == ((const uint8_t *)want.data())[i])
                i++;
            h.fail("trial %d (n %d): output byte %zu (word %zu int %zu) is 0x%02x, want 0x%02x", t, n, i,
                   i / (4 * STRIDE), (i / 4) % STRIDE, got[i], ((const uint8_t *)want.data())[i]);
        }
        if (mem.wr_bytes != got.size())
            h.fail("trial %d: %llu bytes written, buffer %zu", t, (unsigned long long)mem.wr_bytes, got.size());
        wr_beats += mem.wr_beats;
        words += n;
        trials++;
    }
    char what[120];
    std::snprintf(what, sizeof what, "%d trials, %llu words, %llu beats read, %llu written", trials,
                  (unsigned long long)words, (unsigned long long)rd_beats, (unsigned long long)wr_beats);
    return h.finish(what);
}
