// axil.h - an AXI4-lite master for the benches: one register write (AW and
// W together, then B) or read (AR, then R), clocked by the bench's own
// step(), which evaluates the model and sets aw_fire / b_fire / ar_fire /
// r_fire and rdata for the cycle. Shared by tb_engine.cpp and top_host.h.
#ifndef MTX_SIM_AXIL_H
#define MTX_SIM_AXIL_H

#include <cstdint>

namespace mtxsim {

template <class B> void axil_write(B &b, uint8_t addr, uint32_t v)
{
    auto *m = b.h.m;
    m->awvalid_i = m->wvalid_i = 1;
    m->awaddr_i = addr;
    m->wdata_i = v;
    m->wstrb_i = 0xf;
    do
        b.step();
    while (!b.aw_fire);
    m->awvalid_i = m->wvalid_i = 0;
    m->bready_i = 1;
    do
        b.step();
    while (!b.b_fire);
    m->bready_i = 0;
}

template <class B> uint32_t axil_read(B &b, uint8_t addr)
{
    auto *m = b.h.m;
    m->arvalid_i = 1;
    m->araddr_i = addr;
    do
        b.step();
    while (!b.ar_fire);
    m->arvalid_i = 0;
    m->rready_i = 1;
    do
        b.step();
    while (!b.r_fire);
    m->rready_i = 0;
    return b.rdata;
}

} // namespace mtxsim

#endif
