/* mtx_engine.h - the HLS kernel's top function (hls/mtx_engine.c).
 *
 * The prototype is generated from the argument X-macro (mtx_kernel_args.h),
 * so the definition in mtx_engine.c, which is written out for the synthesis
 * report's sake, fails to compile if it drifts from the argument list.
 * Plain C99; the host's csim backend includes this with -I. and -Ihost.
 *
 * mtx_engine runs `batch` words (in: MTX_IO_STRIDE int32 each) through the
 * plan over the image exactly as docs/engine.md writes it and writes the
 * output words (same stride) and *status (MTX_ENG_OK or the first failing
 * check's MTX_ENG_* code from format/layout.h; on failure out is untouched).
 * It keeps its on-chip buffers in static storage: one call at a time. */
#ifndef MTX_ENGINE_H
#define MTX_ENGINE_H

#include "mtx_kernel_args.h"

/* X(name, is_pointer, c_type, bundle, bytes) -> ", c_type name"; the first
 * comma is dropped by MTX_ENGINE_DROP_FIRST (C99 empty macro argument). */
#define MTX_ENGINE_PARAM(name, is_pointer, c_type, bundle, bytes) , c_type name
#define MTX_ENGINE_DROP_FIRST_(first, ...) __VA_ARGS__
#define MTX_ENGINE_DROP_FIRST(...) MTX_ENGINE_DROP_FIRST_(__VA_ARGS__)

void mtx_engine(MTX_ENGINE_DROP_FIRST(MTX_KERNEL_ARGS(MTX_ENGINE_PARAM)));

#ifndef __SYNTHESIS__
#include <stdint.h>
/* Test-only (not synthesized): the kernel's own primitives, for checking
 * against independent values. RSHR: rshr(a, b); ISQRT: floor(sqrt(a)) for
 * a < 2^56; UDIV: floor(a / b) for a < 2^48, b > 0. */
enum { MTX_ENGINE_PRIM_RSHR = 0, MTX_ENGINE_PRIM_ISQRT = 1, MTX_ENGINE_PRIM_UDIV = 2 };
int64_t mtx_engine_prim(int op, int64_t a, int64_t b);
#endif

#endif
