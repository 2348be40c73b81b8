/* format_fixture.h - a tiny, real-shaped weight image for the format tests
 * and fuzzers (header only: the fuzzers build without the test runner).
 *
 * Dimensions C 8, H 2, F 16, vocabularies 6, positions 4, 2 + 2 teacher
 * layers; layer sections t0, t1 and m2.0 for each stack. Section bytes are a
 * pattern of (type, index, i), so a test can check any byte independently. */
#ifndef MTX_FORMAT_FIXTURE_H
#define MTX_FORMAT_FIXTURE_H

#include <stdlib.h>
#include <zlib.h>

#include "format/image.h"
#include "format/plan.h"

static inline mtx_image_dims fixture_dims(void) {
    mtx_image_dims d = { .C = 8, .H = 2, .F = 16, .Vs = 6, .Vt = 6, .Ps = 4, .Pt = 4, .n_enc = 2, .n_dec = 2,
                         .res_frac = 16, .eps_q = 1, .bos = 1, .eos = 2, .pad = 0 };
    return d;
}

static inline uint8_t fixture_byte(uint32_t type, uint32_t index, uint64_t i) {
    return (uint8_t)(type * 31u + index * 7u + (uint32_t)i * 13u + (uint32_t)(i >> 8));
}

/* Section lengths of the fixture's dimensions, by type. */
static inline uint64_t fixture_len(uint32_t type) {
    switch (type) {
    case MTX_SEC_SRC_EMB: case MTX_SEC_TGT_EMB: return 4 * 6 * 8;
    case MTX_SEC_SRC_POS: case MTX_SEC_TGT_POS: return 4 * 4 * 8;
    case MTX_SEC_ENC_NORM: case MTX_SEC_DEC_NORM: return 4 * 9;
    case MTX_SEC_LM_HEAD: return 6 * 8;
    case MTX_SEC_LM_REQ: return 4 * 7;
    case MTX_SEC_EXP2: return 4 * 256;
    case MTX_SEC_ENC_WEIGHTS: return MTX_ENC_W_BYTES(8, 16);
    case MTX_SEC_ENC_CONSTS: return 4 * MTX_ENC_K_WORDS(8, 16);
    case MTX_SEC_DEC_WEIGHTS: return MTX_DEC_W_BYTES(8, 16);
    case MTX_SEC_DEC_CONSTS: return 4 * MTX_DEC_K_WORDS(8, 16);
    default: return 0;
    }
}

static const uint32_t fixture_origins[3] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1), MTX_ORIGIN(2, 0) };

static inline mtx_status fixture_add(mtx_image_builder *b, uint32_t type, uint32_t index) {
    uint64_t n = fixture_len(type);
    uint8_t *buf = malloc(n);
    if (!buf) return MTX_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) buf[i] = fixture_byte(type, index, i);
    mtx_status s = mtx_image_builder_add(b, type, index, buf, n);
    free(buf);
    return s;
}

/* Globals 1..9, then per stack (encoder first) weights and constants of
 * t0, t1, m2.0. skip_type (0 for none) leaves one type out. */
static inline mtx_status fixture_image_without(uint8_t **out, uint64_t *bytes, uint32_t skip_type) {
    mtx_image_dims d = fixture_dims();
    mtx_image_builder *b;
    mtx_status s = mtx_image_builder_new(&b, &d);
    if (s) return s;
    for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2 && !s; t++)
        if (t != skip_type) s = fixture_add(b, t, 0);
    for (uint32_t t = MTX_SEC_ENC_WEIGHTS; t <= MTX_SEC_DEC_WEIGHTS && !s; t += 2)
        for (int o = 0; o < 3 && !s; o++) {
            if (t != skip_type) s = fixture_add(b, t, fixture_origins[o]);
            if (!s && t + 1 != skip_type) s = fixture_add(b, t + 1, fixture_origins[o]);
        }
    if (!s) s = mtx_image_builder_finish(b, out, bytes);
    mtx_image_builder_free(b);
    return s;
}

static inline mtx_status fixture_image(uint8_t **out, uint64_t *bytes) {
    return fixture_image_without(out, bytes, 0);
}

/* Rewrites the header CRC after a deliberate edit. */
static inline void fixture_recrc(uint8_t *img, uint64_t bytes) {
    mtx_put_le32(img + MTX_IH_CRC32, (uint32_t)crc32(crc32(0L, Z_NULL, 0), img + 32, (uInt)(bytes - 32)));
}

/* Byte offset of TOC entry i of a valid image. */
static inline uint64_t fixture_toc(const uint8_t *img, uint32_t i) {
    return mtx_le64(img + MTX_IH_TOC_OFFSET) + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
}

#endif
