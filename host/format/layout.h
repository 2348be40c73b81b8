/* layout.h - byte layout of the weight image, the plan and the engine's
 * batch buffers, and the engine status codes.
 *
 * Plain C99 with fixed-width types and no code beyond constant macros, so the
 * HLS kernel (hls/) and the Verilator harness (sim/) include it as it is.
 * Every multi-byte field is little-endian. docs/formats.md describes each
 * field; docs/engine.md says how the engines use the constants.
 *
 * Image: [header 128 B][sections, each 64-byte aligned][TOC].
 * Plan:  [header 64 B][n_enc + n_dec descriptors of 64 B, encoder first]. */
#ifndef MTX_LAYOUT_H
#define MTX_LAYOUT_H

#include <stdint.h>

#include "format/maxima.h"

#define MTX_ALIGN 64u

/* ---- image header (128 bytes; offsets in bytes) ---- */
#define MTX_IMAGE_MAGIC "MODTXIMG"      /* 8 bytes, no NUL stored */
#define MTX_IMAGE_VERSION 1u
#define MTX_IMAGE_HEADER_BYTES 128u
#define MTX_IH_MAGIC 0          /* char[8] */
#define MTX_IH_VERSION 8        /* u32 */
#define MTX_IH_HEADER_BYTES 12  /* u32 = 128 */
#define MTX_IH_FILE_BYTES 16    /* u64 total length of the image */
#define MTX_IH_CRC32 24         /* u32 zlib crc32 of bytes [32, file_bytes) */
#define MTX_IH_TOC_COUNT 28     /* u32 entries */
#define MTX_IH_TOC_OFFSET 32    /* u64, 64-aligned */
#define MTX_IH_D_MODEL 40       /* u32 C */
#define MTX_IH_HEADS 44         /* u32 H */
#define MTX_IH_D_FF 48          /* u32 F */
#define MTX_IH_SRC_VOCAB 52     /* u32 Vs */
#define MTX_IH_TGT_VOCAB 56     /* u32 Vt */
#define MTX_IH_SRC_POS 60       /* u32 Ps (max source length) */
#define MTX_IH_TGT_POS 64       /* u32 Pt (max decoding steps) */
#define MTX_IH_ENC_LAYERS 68    /* u32 teacher encoder layers */
#define MTX_IH_DEC_LAYERS 72    /* u32 teacher decoder layers */
#define MTX_IH_RES_FRAC 76      /* u32 R: residual units are 2^-R */
#define MTX_IH_EPS_Q 80         /* u32 round(eps * C * 2^(2R)), added to sum(x^2) */
#define MTX_IH_BOS 84           /* u32 target id of <s> */
#define MTX_IH_EOS 88           /* u32 target id of </s> */
#define MTX_IH_PAD 92           /* u32 id 0 of both vocabularies */
/* bytes 96..127 reserved, zero */

/* ---- table of contents entry (24 bytes) ---- */
#define MTX_TOC_ENTRY_BYTES 24u
#define MTX_TOC_TYPE 0    /* u32 section type below */
#define MTX_TOC_INDEX 4   /* u32 layer origin for layer sections, else 0 */
#define MTX_TOC_OFFSET 8  /* u64, 64-aligned */
#define MTX_TOC_LENGTH 16 /* u64, > 0 */

/* Section types. Global sections occur once; layer sections once per origin. */
enum {
    MTX_SEC_SRC_EMB = 1,     /* i32 (Vs, C) token embeddings in residual units */
    MTX_SEC_SRC_POS = 2,     /* i32 (Ps, C) positions in residual units */
    MTX_SEC_TGT_EMB = 3,     /* i32 (Vt, C) */
    MTX_SEC_TGT_POS = 4,     /* i32 (Pt, C) */
    MTX_SEC_ENC_NORM = 5,    /* requant record, n = C: final encoder RMSNorm -> int8 memory */
    MTX_SEC_DEC_NORM = 6,    /* requant record, n = C: final decoder RMSNorm -> int8 */
    MTX_SEC_LM_HEAD = 7,     /* i8 (Vt, C) */
    MTX_SEC_LM_REQ = 8,      /* requant record, n = Vt: lm_head acc -> logits */
    MTX_SEC_EXP2 = 9,        /* i32 [256] = round(2^15 * 2^(-i/256)) */
    MTX_SEC_ENC_WEIGHTS = 16, /* i8 encoder layer weights (MTX_ENC_W_BYTES) */
    MTX_SEC_ENC_CONSTS = 17,  /* i32 encoder layer constants (MTX_ENC_K_WORDS) */
    MTX_SEC_DEC_WEIGHTS = 18, /* i8 decoder layer weights (MTX_DEC_W_BYTES) */
    MTX_SEC_DEC_CONSTS = 19   /* i32 decoder layer constants (MTX_DEC_K_WORDS) */
};

/* Layer origin (TOC index of layer sections, descriptor origin): (g << 8) | j.
 * g = 1: teacher layer j; g in {2, 3, 6}: module m(g, j), which replaces g
 * consecutive teacher layers. */
#define MTX_ORIGIN(g, j) ((uint32_t)(((g) << 8) | (j)))
#define MTX_ORIGIN_G(o) ((uint32_t)(o) >> 8)
#define MTX_ORIGIN_J(o) ((uint32_t)(o) & 0xffu)

/* A requant record is i32 words: [shift, m[0], ..., m[n-1]] (4 * (n + 1) bytes). */
#define MTX_REQ_WORDS(n) ((n) + 1)

/* Layer weights: int8 row-major [out][in], in this order.
 * Encoder: qkv (3C, C), o (C, C), wi (F, C), wo (C, F).
 * Decoder: qkv (3C, C), o (C, C), cq (C, C), ckv (2C, C), co (C, C), wi (F, C), wo (C, F). */
#define MTX_ENC_W_BYTES(C, F) (4ull * (C) * (C) + 2ull * (C) * (F))
#define MTX_DEC_W_BYTES(C, F) (8ull * (C) * (C) + 2ull * (C) * (F))

/* Layer constants: requant records back to back, in this order (n in brackets).
 * Encoder: n1[C] qkv[3C] sm[1] att[1] o[C] n2[C] wi[F] wo[C].
 * Decoder: n1[C] qkv[3C] sm1[1] att1[1] o[C] n2[C] cq[C] ckv[2C] sm2[1] att2[1]
 *          co[C] n3[C] wi[F] wo[C]. */
#define MTX_ENC_K_WORDS(C, F) (8ull + 7ull * (C) + (F) + 2ull)
#define MTX_DEC_K_WORDS(C, F) (14ull + 12ull * (C) + (F) + 4ull)

/* ---- plan header (64 bytes) ---- */
#define MTX_PLAN_MAGIC "MODTXPLN"
#define MTX_PLAN_VERSION 1u
#define MTX_PLAN_HEADER_BYTES 64u
#define MTX_PH_MAGIC 0        /* char[8] */
#define MTX_PH_VERSION 8      /* u32 */
#define MTX_PH_HEADER_BYTES 12 /* u32 = 64 */
#define MTX_PH_IMAGE_CRC 16   /* u32 the image's header crc32 (its identity) */
#define MTX_PH_DESC_BYTES 20  /* u32 = 64 */
#define MTX_PH_IMAGE_BYTES 24 /* u64 the image's file_bytes */
#define MTX_PH_RATIO_X100 32  /* u32 compression ratio * 100, rounded */
#define MTX_PH_N_ENC 36       /* u32 encoder descriptors */
#define MTX_PH_N_DEC 40       /* u32 decoder descriptors */
/* bytes 44..63 reserved, zero */

/* ---- layer descriptor (64 bytes) ---- */
#define MTX_DESC_BYTES 64u
#define MTX_D_KIND 0          /* u32 MTX_KIND_ENC or MTX_KIND_DEC */
#define MTX_D_ORIGIN 4        /* u32 MTX_ORIGIN(g, j) */
#define MTX_D_D_MODEL 8       /* u32 C */
#define MTX_D_HEADS 12        /* u32 H */
#define MTX_D_D_FF 16         /* u32 F */
#define MTX_D_SPAN 20         /* u32 teacher layers this layer does the work of (= g) */
#define MTX_D_W_OFFSET 24     /* u64 weights in the image, 64-aligned */
#define MTX_D_W_BYTES 32      /* u64 = MTX_{ENC,DEC}_W_BYTES(C, F) */
#define MTX_D_K_OFFSET 40     /* u64 constants in the image, 64-aligned */
#define MTX_D_K_BYTES 48      /* u64 = 4 * MTX_{ENC,DEC}_K_WORDS(C, F) */
/* bytes 56..63 reserved, zero */
enum { MTX_KIND_ENC = 1, MTX_KIND_DEC = 2 };

/* ---- engine batch buffers (int32 words) ----
 * Input: per word MTX_IO_STRIDE words: [S, id_0, ..., id_{S-1}, 0...].
 * Output: per word MTX_IO_STRIDE words: [T, id_0, ..., id_{T-1}, 0...] where
 * T is the number of tokens before </s> (at most Pt). */
#define MTX_IO_STRIDE (MTX_MAX_POS + 1)

/* ---- engine status codes (0 = ok), shared by every engine ---- */
enum {
    MTX_ENG_OK = 0,
    MTX_ENG_IMAGE_MAGIC = 1,   /* image magic or header_bytes wrong */
    MTX_ENG_IMAGE_VERSION = 2, /* image version not MTX_IMAGE_VERSION */
    MTX_ENG_IMAGE_SIZE = 3,    /* file_bytes disagrees with the buffer or exceeds the maximum */
    MTX_ENG_IMAGE_DIMS = 4,    /* header dimensions zero, inconsistent or over the maxima */
    MTX_ENG_IMAGE_TOC = 5,     /* TOC or a global section out of range, misaligned or missing */
    MTX_ENG_PLAN_MAGIC = 6,    /* plan magic or header/descriptor size wrong */
    MTX_ENG_PLAN_VERSION = 7,
    MTX_ENG_PLAN_IMAGE = 8,    /* plan names another image (crc or size) */
    MTX_ENG_PLAN_COUNT = 9,    /* n_enc / n_dec zero, over the maximum, or plan too short */
    MTX_ENG_DESC_KIND = 10,    /* descriptor kind wrong for its stack */
    MTX_ENG_DESC_DIMS = 11,    /* descriptor dimensions differ from the image's */
    MTX_ENG_DESC_RANGE = 12,   /* offset + length outside the image, or wraps */
    MTX_ENG_DESC_LENGTH = 13,  /* length not what the dimensions imply */
    MTX_ENG_DESC_ALIGN = 14,   /* offset not 64-aligned */
    MTX_ENG_BATCH = 15,        /* batch size 0 or over MTX_MAX_BATCH */
    MTX_ENG_INPUT = 16,        /* a word's length out of [1, Ps] or an id >= Vs */
    MTX_ENG_RESERVED = 17      /* a reserved field is not zero */
};

#endif
