// exp2_table.h - EXP2[i] = round(2^15 * 2^(-i/256)) (docs/engine.md), built
// here the way the exporter builds the image's EXP2 section, for the benches.
#ifndef MTX_EXP2_TABLE_H
#define MTX_EXP2_TABLE_H

#include <cmath>
#include <cstdint>

static inline void mtx_sim_exp2_table(uint32_t t[256])
{
    for (int i = 0; i < 256; i++)
        t[i] = (uint32_t)std::lround(32768.0 * std::exp2(-i / 256.0));
}

#endif
