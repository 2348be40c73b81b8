// top_host.h - drives mtx_top as the host does: the AXI4-lite registers
// (write, read), and a run over image, plan, input and output buffers held
// in a MemModel at fixed bases (read ports, write port, request stalls as
// the model is set). Shared by tb_top.cpp and rtl_run.cpp.
#ifndef MTX_SIM_TOP_HOST_H
#define MTX_SIM_TOP_HOST_H

#include "Vmtx_top.h"
#include "mem_model.h"
#include "axil.h"
#include "sim_util.h"

#include <vector>

namespace mtxsim {

typedef std::vector<uint8_t> Bytes;
static const uint64_t IMG = 0x10000000ull, PLAN = 0x80000000ull, IN = 0x20000000ull, OUT = 0x30000000ull;

struct TopHost {
    mtxsim::Harness<Vmtx_top> &h;
    mtxsim::MemModel *mem = nullptr;
    bool aw_fire = false, ar_fire = false, r_fire = false, b_fire = false;
    uint32_t rdata = 0;
    uint32_t err_word = 0; // ERRWORD of the last run
    explicit TopHost(mtxsim::Harness<Vmtx_top> &hh) : h(hh) {}
    void step()
    {
        Vmtx_top *m = h.m;
        mem->present(m);
        mem->present_wr(m);
        m->eval();
        mem->commit(m);
        mem->commit_wr(m);
        aw_fire = m->awvalid_i && m->awready_o;
        ar_fire = m->arvalid_i && m->arready_o;
        r_fire = m->rvalid_o && m->rready_i;
        b_fire = m->bvalid_o && m->bready_i;
        rdata = m->rdata_o;
        h.tick();
    }
    void write(uint8_t addr, uint32_t v) { mtxsim::axil_write(*this, addr, v); }
    uint32_t read(uint8_t addr) { return mtxsim::axil_read(*this, addr); }
    // One run over the given buffers; returns ERROR.
    // latency < 0: 1 + seed % 6 with 20 % read and 30 % write stalls (the
    // bench's); else that latency and no stalls (the rtl backend's).
    uint32_t run(const Bytes &img, const Bytes &plan, const Bytes &in, Bytes &out, uint32_t n, uint64_t seed,
                 uint64_t *pe, uint64_t *wr_bytes, uint64_t *cycles, int latency = -1)
    {
        mtxsim::MemModel mm(seed, latency < 0 ? 1 + (int)(seed % 6) : latency, latency < 0 ? 20 : 0);
        mm.set_wr_stall(latency < 0 ? 30 : 0);
        mm.add("image", IMG, img);
        mm.add("plan", PLAN, plan);
        mm.add("in", IN, in);
        mm.add("out", OUT, out, true);
        mem = &mm;
        const uint64_t regs[8] = {IMG, img.size(), PLAN, plan.size(), IN, in.size(), OUT, out.size()};
        for (int i = 0; i < 8; i++) {
            write((uint8_t)(0x20 + 8 * i), (uint32_t)regs[i]);
            write((uint8_t)(0x24 + 8 * i), (uint32_t)(regs[i] >> 32));
        }
        write(0x60, n);
        write(0x00, 1);
        while (!(read(0x04) & 2u))
            ;
        uint32_t err = read(0x08);
        err_word = read(0x64);
        *cycles = read(0x10) | (uint64_t)read(0x14) << 32;
        *pe = read(0x18) | (uint64_t)read(0x1c) << 32;
        *wr_bytes = mm.wr_bytes;
        out = mm.bytes("out");
        mem = nullptr;
        return err;
    }
};


} // namespace mtxsim

#endif
