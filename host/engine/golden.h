/* golden.h - the golden model: the integer engine's executable specification.
 *
 * Runs a batch of words through a plan over an image exactly as docs/engine.md
 * writes it: integer only, single-threaded, written to be read. The HLS kernel
 * and the RTL are correct when their output ids equal these for every word. */
#ifndef MTX_GOLDEN_H
#define MTX_GOLDEN_H

#include "format/plan.h"

/* Optional per-layer trace for debugging other engines and for the
 * dequantized comparison with fp32: when non-NULL, called after every
 * layer with the residual stream of that layer (rows x C int32, residual
 * units). stack: MTX_KIND_ENC or MTX_KIND_DEC; step: decoding step (-1 for
 * the encoder). */
typedef void (*mtx_golden_trace_fn)(void *ctx, int word, int stack, int layer, int step,
                                    const int32_t *x, int rows, int C);

typedef struct {
    mtx_golden_trace_fn trace;
    void *trace_ctx;
} mtx_golden_opts;

/* in/out: B words of MTX_IO_STRIDE int32 each (format/layout.h). The image
 * and plan must have been validated by mtx_image_parse / mtx_plan_parse;
 * input words are checked here (MTX_ERR_DATA naming the word), and so are
 * the requant records the plan uses (MTX_ERR_FORMAT for a shift outside
 * [0, 62] or a multiplier of -2^31, which docs/engine.md rules out). */
mtx_status mtx_golden_run(const mtx_image *im, const mtx_plan *p, const int32_t *in, int B,
                          int32_t *out, const mtx_golden_opts *opts);

#endif
