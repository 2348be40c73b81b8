// mem_model.h - the memory behind an engine's read port in the benches:
// named buffers at fixed bases, one 16-byte beat per request, responses in
// order after a fixed latency, optional random request stalls. A buffer
// occupies whole 16-byte beats from its (16-byte aligned) base: a read beat
// must lie inside the beats of one buffer (the last beat of a buffer whose
// length is not a multiple of 16 may be read whole; its bytes past the end
// read as 0): anything else ends the bench at once with exit status 3,
// naming the address. The write port (present_wr / commit_wr: wr_valid_o,
// wr_ready_i with random stalls, wr_addr_o 16-byte aligned, wr_data_o,
// wr_strb_o byte enables) writes into buffers added as writable; a written
// byte outside every writable buffer also ends the bench with exit 3.
#ifndef MTX_MEM_MODEL_H
#define MTX_MEM_MODEL_H

#include "sim_util.h"

#include <deque>
#include <string>
#include <vector>

namespace mtxsim {

class MemModel {
  public:
    uint64_t beats = 0;

    MemModel(uint64_t seed, int latency, int stall_pct)
        : rng_(seed), latency_(latency), stall_pct_(stall_pct)
    {
    }
    uint64_t wr_beats = 0, wr_bytes = 0;

    void add(const std::string &name, uint64_t base, const std::vector<uint8_t> &bytes, bool writable = false)
    {
        regions_.push_back({name, base, bytes, writable});
    }
    const std::vector<uint8_t> &bytes(const std::string &name) const
    {
        for (auto &r : regions_)
            if (r.name == name)
                return r.bytes;
        std::fprintf(stderr, "FAIL: mem_model: no buffer %s\n", name.c_str());
        std::exit(3);
    }
    void set_wr_stall(int pct) { wr_stall_pct_ = pct; }
    // Write port, before the clock edge.
    template <class M> void present_wr(M *m) { m->wr_ready_i = rng_.range(0, 99) >= wr_stall_pct_; }
    // Write port, after eval: take this cycle's write.
    template <class M> void commit_wr(M *m)
    {
        if (!(m->wr_valid_o && m->wr_ready_i))
            return;
        uint64_t addr = m->wr_addr_o;
        if (addr % 16 != 0) {
            std::fprintf(stderr, "FAIL: unaligned write beat at 0x%llx\n", (unsigned long long)addr);
            std::exit(3);
        }
        for (int i = 0; i < 16; i++) {
            if (!((m->wr_strb_o >> i) & 1u))
                continue;
            uint8_t v = (uint8_t)(m->wr_data_o[i / 4] >> (8 * (i % 4)));
            write_byte(addr + (uint64_t)i, v);
            wr_bytes++;
        }
        wr_beats++;
    }
    void clear() { regions_.clear(); }

    // Before the clock edge: what the memory drives this cycle.
    template <class M> void present(M *m)
    {
        m->mem_req_ready_i = rng_.range(0, 99) >= stall_pct_;
        m->mem_rsp_valid_i = 0;
        if (!q_.empty() && q_.front().at <= now_) {
            m->mem_rsp_valid_i = 1;
            for (int i = 0; i < 4; i++)
                m->mem_rsp_data_i[i] = q_.front().w[i];
        }
    }
    // After eval, before the edge: take this cycle's handshakes.
    template <class M> void commit(M *m)
    {
        if (m->mem_rsp_valid_i)
            q_.pop_front();
        if (m->mem_req_valid_o && m->mem_req_ready_i) {
            Beat b;
            read(m->mem_req_addr_o, b.w);
            b.at = now_ + (uint64_t)latency_;
            q_.push_back(b);
            beats++;
        }
        now_++;
    }
    bool idle() const { return q_.empty(); }

  private:
    struct Region {
        std::string name;
        uint64_t base;
        std::vector<uint8_t> bytes;
        bool writable;
    };
    void write_byte(uint64_t a, uint8_t v)
    {
        for (auto &r : regions_) {
            if (r.writable && a >= r.base && a - r.base < r.bytes.size()) {
                r.bytes[a - r.base] = v;
                return;
            }
        }
        std::fprintf(stderr, "FAIL: out-of-bounds memory write: byte at 0x%llx\n", (unsigned long long)a);
        std::exit(3);
    }
    struct Beat {
        uint64_t at;
        uint32_t w[4];
    };
    void read(uint64_t addr, uint32_t w[4])
    {
        for (auto &r : regions_) {
            uint64_t beats = (r.bytes.size() + 15) / 16;
            if (addr % 16 == 0 && addr >= r.base && (addr - r.base) / 16 < beats) {
                uint64_t o = addr - r.base;
                uint8_t p[16];
                for (int i = 0; i < 16; i++)
                    p[i] = o + i < r.bytes.size() ? r.bytes[o + i] : 0;
                for (int i = 0; i < 4; i++)
                    w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                           (uint32_t)p[4 * i + 3] << 24;
                return;
            }
        }
        std::fprintf(stderr, "FAIL: out-of-bounds memory access: 16-byte beat at 0x%llx\n",
                     (unsigned long long)addr);
        std::exit(3);
    }
    Rng rng_;
    int latency_;
    int stall_pct_;
    int wr_stall_pct_ = 0;
    uint64_t now_ = 0;
    std::vector<Region> regions_;
    std::deque<Beat> q_;
};

} // namespace mtxsim

#endif
