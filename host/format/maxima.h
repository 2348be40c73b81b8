/* maxima.h - compile-time maxima and fixed constants of the integer engine.
 *
 * The one source of sizes shared by every engine: the golden model
 * (host/engine), the HLS kernel (hls/) and the RTL parameters (hw/, sim/).
 * Plain C99, no includes, no code: each engine derives its buffer sizes from
 * these and refuses an image or plan that exceeds them. The arithmetic that
 * uses the fixed constants is specified once, in docs/engine.md. */
#ifndef MTX_MAXIMA_H
#define MTX_MAXIMA_H

#define MTX_MAX_D_MODEL 512     /* C */
#define MTX_MAX_HEADS 8         /* H */
#define MTX_MAX_HEAD_DIM 128    /* hs = C / H */
#define MTX_MAX_D_FF 2048       /* F */
#define MTX_MAX_POS 64          /* source and target positions (S, T) */
#define MTX_MAX_VOCAB 256       /* Vs and Vt */
#define MTX_MAX_STACK_LAYERS 12 /* layers per stack in an image's teacher and in a plan */
#define MTX_MAX_BANK_LAYERS 64  /* teacher layers + modules per stack in one image */
#define MTX_MAX_BATCH 64        /* words per engine call */
#define MTX_MAX_TOC 512         /* table-of-contents entries in an image */
#define MTX_MAX_IMAGE_BYTES 0x40000000u /* 1 GiB */

/* Processing-element array of the card engines: MTX_PE_ROWS x MTX_PE_COLS
 * int8 MACs per cycle (HLS GEMM tile, RTL array default). */
#define MTX_PE_ROWS 16
#define MTX_PE_COLS 16

/* Residual stream: int32 holding values in [-MTX_RES_MAX, MTX_RES_MAX]
 * (saturating), in units of 2^-R with R = image header res_frac_bits. */
#define MTX_RES_MAX 8388607 /* 2^23 - 1 */

/* Integer softmax: exp2 table entries, and the largest exponent argument
 * (in 1/256 units of log2) that still gives a non-zero value. */
#define MTX_EXP2_ENTRIES 256
#define MTX_EXP2_LIMIT 4096 /* 16 * 256 */

/* Fixed-point widths named in docs/engine.md. */
#define MTX_NORM_RECIP_BITS 40 /* inv = floor(2^40 / isqrt(ss)) */
#define MTX_NORM_Y_SHIFT 16    /* y = round(x * inv / 2^16): Q24 of x / rms */
#define MTX_SOFTMAX_RECIP_BITS 31 /* inv = floor(2^31 / sum) */
#define MTX_SOFTMAX_P_SHIFT 23    /* p = min(255, round(e * inv / 2^23)) */
#define MTX_INT8_MAX 127          /* activations and weights saturate to [-127, 127] */

#endif
