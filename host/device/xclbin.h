/* xclbin.h - the kernel's argument table and a metadata-only xclbin.
 *
 * Both are generated from hls/mtx_kernel_args.h (MTX_KERNEL_ARGS), so the
 * XRT backend's argument indices, the control-register offsets and the
 * xclbin's metadata cannot drift from the HLS top function.
 *
 * The xclbin written here is an "xclbin2" container (XRT's struct axlf) with
 * the sections XRT needs to open the kernel and place its buffers:
 * MEM_TOPOLOGY (one bank per m_axi bundle), IP_LAYOUT (one compute unit),
 * CONNECTIVITY (one entry per pointer argument) and EMBEDDED_METADATA (the
 * XML listing every argument). It carries no bitstream: XRT's no-op shim
 * accepts it (the tests drive the whole call sequence with it); a card needs
 * the xclbin v++ links (hw/, docs/deploy.md). The writer needs no XRT
 * headers; where they exist (MTX_HAVE_XRT) xclbin.c checks its byte offsets
 * against xclbin.h at compile time. */
#ifndef MTX_XCLBIN_H
#define MTX_XCLBIN_H

#include "core/mtx.h"

#include <stdint.h>

typedef struct {
    const char *name;    /* argument name in the HLS signature */
    int is_pointer;      /* 1: m_axi pointer, 0: s_axilite scalar */
    const char *c_type;  /* C type as written in MTX_KERNEL_ARGS */
    const char *bundle;  /* m_axi bundle, "" for scalars */
    uint32_t bytes;      /* 8 for pointers, else the scalar's size */
    uint32_t offset;     /* s_axilite control-register offset */
    int bank;            /* memory bank (index of its bundle), -1 for scalars */
} mtx_kernel_arg;

/* Arguments in index order (index = position in MTX_KERNEL_ARGS). */
int mtx_kernel_arg_count(void);
const mtx_kernel_arg *mtx_kernel_arg_get(int index);
/* Index of the argument called name, or -1. */
int mtx_kernel_arg_index(const char *name);
/* Number of distinct m_axi bundles (= memory banks in the xclbin). */
int mtx_kernel_bank_count(void);
/* First byte past the last argument's registers (the control map's end). */
uint32_t mtx_kernel_regs_end(void);

/* Builds the xclbin in one malloc'd buffer (caller frees). Deterministic:
 * the same argument list gives the same bytes (the uuid is derived from
 * the content). */
mtx_status mtx_xclbin_build(uint8_t **out, uint64_t *bytes);
/* Builds it and writes it atomically to path. */
mtx_status mtx_xclbin_write(const char *path);

#endif
