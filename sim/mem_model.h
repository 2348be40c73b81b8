// mem_model.h - the memory behind an engine's read port in the benches:
// named buffers at fixed bases, one 16-byte beat per request, responses in
// order after a fixed latency, optional random request stalls. Every beat
// must lie wholly inside one buffer: anything else ends the bench at once
// with exit status 3, naming the address.
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
    void add(const std::string &name, uint64_t base, const std::vector<uint8_t> &bytes)
    {
        regions_.push_back({name, base, bytes});
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
    };
    struct Beat {
        uint64_t at;
        uint32_t w[4];
    };
    void read(uint64_t addr, uint32_t w[4])
    {
        for (auto &r : regions_) {
            if (addr >= r.base && addr - r.base <= r.bytes.size() && r.bytes.size() - (addr - r.base) >= 16 &&
                addr % 16 == 0) {
                const uint8_t *p = r.bytes.data() + (addr - r.base);
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
    uint64_t now_ = 0;
    std::vector<Region> regions_;
    std::deque<Beat> q_;
};

} // namespace mtxsim

#endif
