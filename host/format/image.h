/* image.h - the weight image (image.bin): building, parsing, validating.
 *
 * Byte layout in format/layout.h, field by field in docs/formats.md. The
 * parser validates everything before returning (magic, version, sizes, CRC,
 * TOC entries inside the file, 64-aligned, non-overlapping, every global
 * section present with its exact length, dimensions within format/maxima.h)
 * and reports the first failure as a one-line error naming the file and the
 * field. */
#ifndef MTX_IMAGE_H
#define MTX_IMAGE_H

#include "core/mtx.h"
#include "format/layout.h"

typedef struct {
    uint32_t C, H, F;        /* d_model, heads, d_ff */
    uint32_t Vs, Vt, Ps, Pt; /* vocabularies, max source length, max decode steps */
    uint32_t n_enc, n_dec;   /* teacher layers per stack */
    uint32_t res_frac;       /* R */
    uint32_t eps_q;
    uint32_t bos, eos, pad;
} mtx_image_dims;

/* A parsed, validated image over caller-owned bytes (not copied). */
typedef struct {
    const uint8_t *data;
    uint64_t bytes;
    uint32_t crc;            /* header crc32: the image's identity */
    mtx_image_dims dims;
    uint32_t toc_count;
    uint64_t toc_offset;
} mtx_image;

/* Validates bytes as an image; name is used in error messages (a path). */
mtx_status mtx_image_parse(mtx_image *im, const uint8_t *data, uint64_t bytes, const char *name);

/* Reads path whole and parses it; *data is malloc'd (caller frees). */
mtx_status mtx_image_load(const char *path, uint8_t **data, uint64_t *bytes, mtx_image *im);

/* Offset and length of section (type, index); MTX_ERR_FORMAT if absent. */
mtx_status mtx_image_find(const mtx_image *im, uint32_t type, uint32_t index, uint64_t *off,
                          uint64_t *len);

/* Builder: sections are added in order, each placed at the next 64-aligned
 * offset; finish writes header, TOC and CRC into one malloc'd buffer. */
typedef struct mtx_image_builder mtx_image_builder;
mtx_status mtx_image_builder_new(mtx_image_builder **b, const mtx_image_dims *dims);
mtx_status mtx_image_builder_add(mtx_image_builder *b, uint32_t type, uint32_t index,
                                 const void *bytes, uint64_t len);
mtx_status mtx_image_builder_finish(mtx_image_builder *b, uint8_t **out, uint64_t *out_bytes);
void mtx_image_builder_free(mtx_image_builder *b);

/* Little-endian field access (no alignment assumed). */
uint32_t mtx_le32(const uint8_t *p);
uint64_t mtx_le64(const uint8_t *p);
void mtx_put_le32(uint8_t *p, uint32_t v);
void mtx_put_le64(uint8_t *p, uint64_t v);

#endif
