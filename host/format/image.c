/* image.c - the weight image: little-endian helpers, the builder and the
 * validating parser (layout in format/layout.h, fields in docs/formats.md).
 *
 * The parser trusts nothing: every field is checked before any section is
 * touched, offsets and lengths in 64-bit arithmetic that cannot wrap, and the
 * first failure is reported as "<file>: <field>: <what>". The builder runs
 * the parser over what it wrote, so it never hands out an image the parser
 * would refuse. */
#include "format/image.h"

#include "core/fsutil.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------- little endian */

uint32_t mtx_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t mtx_le64(const uint8_t *p) { return (uint64_t)mtx_le32(p) | (uint64_t)mtx_le32(p + 4) << 32; }

void mtx_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void mtx_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* zlib's crc32 takes uInt lengths: feed it in chunks. */
static uint32_t crc_of(const uint8_t *p, uint64_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* ------------------------------------------------------------ sections */

static int is_global(uint32_t type) { return type >= MTX_SEC_SRC_EMB && type <= MTX_SEC_EXP2; }
static int is_layer(uint32_t type) { return type >= MTX_SEC_ENC_WEIGHTS && type <= MTX_SEC_DEC_CONSTS; }

/* Exact byte length of a section for these dimensions (0 for an unknown type). */
static uint64_t section_bytes(const mtx_image_dims *d, uint32_t type) {
    uint64_t C = d->C, F = d->F;
    switch (type) {
    case MTX_SEC_SRC_EMB: return 4ull * d->Vs * C;
    case MTX_SEC_SRC_POS: return 4ull * d->Ps * C;
    case MTX_SEC_TGT_EMB: return 4ull * d->Vt * C;
    case MTX_SEC_TGT_POS: return 4ull * d->Pt * C;
    case MTX_SEC_ENC_NORM:
    case MTX_SEC_DEC_NORM: return 4ull * MTX_REQ_WORDS(C);
    case MTX_SEC_LM_HEAD: return (uint64_t)d->Vt * C;
    case MTX_SEC_LM_REQ: return 4ull * MTX_REQ_WORDS((uint64_t)d->Vt);
    case MTX_SEC_EXP2: return 4ull * MTX_EXP2_ENTRIES;
    case MTX_SEC_ENC_WEIGHTS: return MTX_ENC_W_BYTES(C, F);
    case MTX_SEC_ENC_CONSTS: return 4ull * MTX_ENC_K_WORDS(C, F);
    case MTX_SEC_DEC_WEIGHTS: return MTX_DEC_W_BYTES(C, F);
    case MTX_SEC_DEC_CONSTS: return 4ull * MTX_DEC_K_WORDS(C, F);
    default: return 0;
    }
}

static const char *section_name(uint32_t type) {
    static const char *const names[] = { "", "src_emb", "src_pos", "tgt_emb", "tgt_pos", "enc_norm",
                                         "dec_norm", "lm_head", "lm_req", "exp2" };
    static const char *const layer[] = { "enc_weights", "enc_consts", "dec_weights", "dec_consts" };
    if (is_global(type)) return names[type];
    if (is_layer(type)) return layer[type - MTX_SEC_ENC_WEIGHTS];
    return "unknown";
}

/* Dimensions within format/maxima.h and consistent with each other. */
static mtx_status check_dims(const mtx_image_dims *d, const char *name) {
    const struct { const char *field; uint32_t v, max; } f[] = {
        { "d_model", d->C, MTX_MAX_D_MODEL },   { "heads", d->H, MTX_MAX_HEADS },
        { "d_ff", d->F, MTX_MAX_D_FF },         { "src_vocab", d->Vs, MTX_MAX_VOCAB },
        { "tgt_vocab", d->Vt, MTX_MAX_VOCAB },  { "src_pos", d->Ps, MTX_MAX_POS },
        { "tgt_pos", d->Pt, MTX_MAX_POS },      { "enc_layers", d->n_enc, MTX_MAX_STACK_LAYERS },
        { "dec_layers", d->n_dec, MTX_MAX_STACK_LAYERS },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].v == 0) return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: zero", name, f[i].field);
        if (f[i].v > f[i].max)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: %u is over the maximum %u", name, f[i].field,
                                 f[i].v, f[i].max);
    }
    if (d->C % d->H != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: heads: d_model %u is not a multiple of %u heads", name,
                             d->C, d->H);
    if (d->C / d->H > MTX_MAX_HEAD_DIM)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: heads: head size %u is over the maximum %u", name,
                             d->C / d->H, MTX_MAX_HEAD_DIM);
    if (d->res_frac > 24)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: res_frac: %u is over 24", name, d->res_frac);
    const struct { const char *field; uint32_t id; } ids[] = { { "bos", d->bos }, { "eos", d->eos }, { "pad", d->pad } };
    for (int i = 0; i < 3; i++)
        if (ids[i].id >= d->Vt)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: id %u is not below tgt_vocab %u", name,
                                 ids[i].field, ids[i].id, d->Vt);
    if (d->pad >= d->Vs)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: pad: id %u is not below src_vocab %u", name, d->pad, d->Vs);
    return MTX_OK;
}

/* A layer origin that names a teacher layer or a module of a stack of L layers. */
static int origin_valid(uint32_t origin, uint32_t L) {
    uint32_t g = MTX_ORIGIN_G(origin), j = MTX_ORIGIN_J(origin);
    if (g != 1 && g != 2 && g != 3 && g != 6) return 0;
    return (uint64_t)g * j + g <= L;
}

/* ---------------------------------------------------------------- parse */

static void read_dims(const uint8_t *h, mtx_image_dims *d) {
    d->C = mtx_le32(h + MTX_IH_D_MODEL);
    d->H = mtx_le32(h + MTX_IH_HEADS);
    d->F = mtx_le32(h + MTX_IH_D_FF);
    d->Vs = mtx_le32(h + MTX_IH_SRC_VOCAB);
    d->Vt = mtx_le32(h + MTX_IH_TGT_VOCAB);
    d->Ps = mtx_le32(h + MTX_IH_SRC_POS);
    d->Pt = mtx_le32(h + MTX_IH_TGT_POS);
    d->n_enc = mtx_le32(h + MTX_IH_ENC_LAYERS);
    d->n_dec = mtx_le32(h + MTX_IH_DEC_LAYERS);
    d->res_frac = mtx_le32(h + MTX_IH_RES_FRAC);
    d->eps_q = mtx_le32(h + MTX_IH_EPS_Q);
    d->bos = mtx_le32(h + MTX_IH_BOS);
    d->eos = mtx_le32(h + MTX_IH_EOS);
    d->pad = mtx_le32(h + MTX_IH_PAD);
}

static void write_dims(uint8_t *h, const mtx_image_dims *d) {
    mtx_put_le32(h + MTX_IH_D_MODEL, d->C);
    mtx_put_le32(h + MTX_IH_HEADS, d->H);
    mtx_put_le32(h + MTX_IH_D_FF, d->F);
    mtx_put_le32(h + MTX_IH_SRC_VOCAB, d->Vs);
    mtx_put_le32(h + MTX_IH_TGT_VOCAB, d->Vt);
    mtx_put_le32(h + MTX_IH_SRC_POS, d->Ps);
    mtx_put_le32(h + MTX_IH_TGT_POS, d->Pt);
    mtx_put_le32(h + MTX_IH_ENC_LAYERS, d->n_enc);
    mtx_put_le32(h + MTX_IH_DEC_LAYERS, d->n_dec);
    mtx_put_le32(h + MTX_IH_RES_FRAC, d->res_frac);
    mtx_put_le32(h + MTX_IH_EPS_Q, d->eps_q);
    mtx_put_le32(h + MTX_IH_BOS, d->bos);
    mtx_put_le32(h + MTX_IH_EOS, d->eos);
    mtx_put_le32(h + MTX_IH_PAD, d->pad);
}

/* Magic, version, sizes, CRC, reserved bytes and dimensions. */
static mtx_status parse_header(mtx_image *im, const uint8_t *data, uint64_t bytes, const char *name) {
    if (bytes < MTX_IMAGE_HEADER_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: header: truncated file: %llu bytes, the header alone is %u",
                             name, (unsigned long long)bytes, MTX_IMAGE_HEADER_BYTES);
    if (memcmp(data + MTX_IH_MAGIC, MTX_IMAGE_MAGIC, 8) != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: magic: not a modtx weight image (no %s)", name, MTX_IMAGE_MAGIC);
    uint32_t version = mtx_le32(data + MTX_IH_VERSION);
    if (version > MTX_IMAGE_VERSION)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: version: %u is newer than this build reads (%u); upgrade modtx",
                             name, version, MTX_IMAGE_VERSION);
    if (version != MTX_IMAGE_VERSION)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: version: %u is not a known version (%u)", name, version,
                             MTX_IMAGE_VERSION);
    uint32_t hb = mtx_le32(data + MTX_IH_HEADER_BYTES);
    if (hb != MTX_IMAGE_HEADER_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: header_bytes: %u, expected %u", name, hb, MTX_IMAGE_HEADER_BYTES);
    uint64_t fb = mtx_le64(data + MTX_IH_FILE_BYTES);
    if (fb > MTX_MAX_IMAGE_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: file_bytes: %llu is over the maximum %u", name,
                             (unsigned long long)fb, MTX_MAX_IMAGE_BYTES);
    if (fb > bytes)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: file_bytes: truncated file: header says %llu bytes, there are %llu",
                             name, (unsigned long long)fb, (unsigned long long)bytes);
    if (fb < bytes)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: file_bytes: header says %llu bytes, there are %llu (trailing bytes)",
                             name, (unsigned long long)fb, (unsigned long long)bytes);
    uint32_t crc = mtx_le32(data + MTX_IH_CRC32), got = crc_of(data + 32, bytes - 32);
    if (crc != got)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: crc32: stored 0x%08x, computed 0x%08x (corrupt file)", name, crc, got);
    for (unsigned i = 96; i < MTX_IMAGE_HEADER_BYTES; i++)
        if (data[i])
            return mtx_set_error(MTX_ERR_FORMAT, "%s: reserved: header byte %u is not zero", name, i);
    read_dims(data, &im->dims);
    mtx_status s = check_dims(&im->dims, name);
    if (s) return s;
    im->data = data;
    im->bytes = bytes;
    im->crc = crc;
    return MTX_OK;
}

typedef struct {
    uint32_t type, index;
    uint64_t off, len;
} toc_entry;

static int by_offset(const void *a, const void *b) {
    const toc_entry *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* One TOC entry on its own: known type, valid index, aligned, inside the
 * section area [128, toc_offset), exact length. */
static mtx_status check_entry(const mtx_image *im, const toc_entry *e, uint32_t i, const char *name) {
    const mtx_image_dims *d = &im->dims;
    if (!is_global(e->type) && !is_layer(e->type))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].type: unknown section type %u", name, i, e->type);
    if (is_global(e->type) && e->index != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].index: %u for global section %s (must be 0)", name, i,
                             e->index, section_name(e->type));
    uint32_t L = e->type <= MTX_SEC_ENC_CONSTS ? d->n_enc : d->n_dec;
    if (is_layer(e->type) && (e->index > 0xffffu || !origin_valid(e->index, L)))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].index: origin 0x%x of %s is no layer or module of a %u-layer stack",
                             name, i, e->index, section_name(e->type), L);
    if (e->len == 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].length: zero length (%s)", name, i, section_name(e->type));
    if (e->off % MTX_ALIGN != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].offset: %llu is not 64-byte aligned (%s)", name, i,
                             (unsigned long long)e->off, section_name(e->type));
    if (e->off < MTX_IMAGE_HEADER_BYTES || e->off > im->toc_offset || e->len > im->toc_offset - e->off)
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: toc[%u]: section %s at %llu + %llu bytes is outside the section area [128, %llu)",
                             name, i, section_name(e->type), (unsigned long long)e->off, (unsigned long long)e->len,
                             (unsigned long long)im->toc_offset);
    uint64_t want = section_bytes(d, e->type);
    if (e->len != want)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u].length: %s is %llu bytes, its dimensions imply %llu", name,
                             i, section_name(e->type), (unsigned long long)e->len, (unsigned long long)want);
    return MTX_OK;
}

/* The table of contents: placement, every entry, overlaps, duplicates,
 * every global section present, weights and constants in pairs. */
static mtx_status parse_toc(mtx_image *im, const char *name) {
    const uint8_t *data = im->data;
    uint32_t n = mtx_le32(data + MTX_IH_TOC_COUNT);
    uint64_t to = mtx_le64(data + MTX_IH_TOC_OFFSET);
    if (n == 0 || n > MTX_MAX_TOC)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc_count: %u is outside [1, %u]", name, n, MTX_MAX_TOC);
    if (to % MTX_ALIGN != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc_offset: %llu is not 64-byte aligned", name, (unsigned long long)to);
    if (to < MTX_IMAGE_HEADER_BYTES || to > im->bytes || im->bytes - to != (uint64_t)n * MTX_TOC_ENTRY_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: toc_offset: %u entries at %llu do not end the %llu-byte file",
                             name, n, (unsigned long long)to, (unsigned long long)im->bytes);
    im->toc_offset = to;
    im->toc_count = n;
    toc_entry *e = malloc(n * sizeof *e);
    if (!e) return mtx_set_error(MTX_ERR_NOMEM, "%s: toc: cannot allocate %u entries", name, n);
    mtx_status s = MTX_OK;
    for (uint32_t i = 0; i < n && !s; i++) {
        const uint8_t *p = data + to + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
        e[i] = (toc_entry){ mtx_le32(p + MTX_TOC_TYPE), mtx_le32(p + MTX_TOC_INDEX), mtx_le64(p + MTX_TOC_OFFSET),
                            mtx_le64(p + MTX_TOC_LENGTH) };
        s = check_entry(im, &e[i], i, name);
        for (uint32_t k = 0; k < i && !s; k++)
            if (e[k].type == e[i].type && e[k].index == e[i].index)
                s = mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u]: duplicate section %s index 0x%x (also toc[%u])", name,
                                  i, section_name(e[i].type), e[i].index, k);
    }
    for (uint32_t t = MTX_SEC_SRC_EMB; t <= MTX_SEC_EXP2 && !s; t++) {
        uint32_t k = 0;
        while (k < n && e[k].type != t) k++;
        if (k == n) s = mtx_set_error(MTX_ERR_FORMAT, "%s: toc: global section %s is missing", name, section_name(t));
    }
    uint32_t per_stack[2] = { 0, 0 };
    for (uint32_t i = 0; i < n && !s; i++) {
        if (!is_layer(e[i].type)) continue;
        uint32_t mate = e[i].type ^ 1u; /* weights <-> constants of the same stack */
        uint32_t k = 0;
        while (k < n && !(e[k].type == mate && e[k].index == e[i].index)) k++;
        if (k == n)
            s = mtx_set_error(MTX_ERR_FORMAT, "%s: toc[%u]: %s of origin 0x%x has no %s", name, i,
                              section_name(e[i].type), e[i].index, section_name(mate));
        else if ((e[i].type & 1u) == 0 && ++per_stack[e[i].type >= MTX_SEC_DEC_WEIGHTS] > MTX_MAX_BANK_LAYERS)
            s = mtx_set_error(MTX_ERR_FORMAT, "%s: toc: more than %u layers in one stack", name, MTX_MAX_BANK_LAYERS);
    }
    if (!s) {
        qsort(e, n, sizeof *e, by_offset);
        for (uint32_t i = 1; i < n && !s; i++)
            if (e[i].off < e[i - 1].off + e[i - 1].len)
                s = mtx_set_error(MTX_ERR_FORMAT, "%s: toc: sections %s (at %llu) and %s (at %llu) overlap", name,
                                  section_name(e[i - 1].type), (unsigned long long)e[i - 1].off,
                                  section_name(e[i].type), (unsigned long long)e[i].off);
    }
    free(e);
    return s;
}

mtx_status mtx_image_parse(mtx_image *im, const uint8_t *data, uint64_t bytes, const char *name) {
    if (!name) name = "image";
    if (!im || (!data && bytes)) return mtx_set_error(MTX_ERR_ARG, "%s: mtx_image_parse: NULL argument", name);
    mtx_image tmp;
    memset(&tmp, 0, sizeof tmp);
    memset(im, 0, sizeof *im);
    mtx_status s = parse_header(&tmp, data, bytes, name);
    if (!s) s = parse_toc(&tmp, name);
    if (!s) *im = tmp;
    return s;
}

mtx_status mtx_image_load(const char *path, uint8_t **data, uint64_t *bytes, mtx_image *im) {
    *data = NULL;
    *bytes = 0;
    size_t n = 0;
    mtx_status s = mtx_read_file(path, MTX_MAX_IMAGE_BYTES, data, &n);
    if (s) return s;
    s = mtx_image_parse(im, *data, n, path);
    if (s) {
        free(*data);
        *data = NULL;
        return s;
    }
    *bytes = n;
    return MTX_OK;
}

mtx_status mtx_image_find(const mtx_image *im, uint32_t type, uint32_t index, uint64_t *off, uint64_t *len) {
    for (uint32_t i = 0; i < im->toc_count; i++) {
        const uint8_t *p = im->data + im->toc_offset + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
        if (mtx_le32(p + MTX_TOC_TYPE) == type && mtx_le32(p + MTX_TOC_INDEX) == index) {
            *off = mtx_le64(p + MTX_TOC_OFFSET);
            *len = mtx_le64(p + MTX_TOC_LENGTH);
            return MTX_OK;
        }
    }
    return mtx_set_error(MTX_ERR_FORMAT, "image: section %s index 0x%x is not in the image", section_name(type), index);
}

/* -------------------------------------------------------------- builder */

struct mtx_image_builder {
    mtx_image_dims dims;
    uint8_t *buf;       /* the file so far: header space, then sections */
    uint64_t len, cap;
    uint32_t n;
    toc_entry toc[MTX_MAX_TOC];
};

mtx_status mtx_image_builder_new(mtx_image_builder **b, const mtx_image_dims *dims) {
    *b = NULL;
    mtx_status s = check_dims(dims, "image builder");
    if (s) return s;
    mtx_image_builder *nb = calloc(1, sizeof *nb);
    if (!nb) return mtx_set_error(MTX_ERR_NOMEM, "image builder: cannot allocate");
    nb->dims = *dims;
    nb->cap = 1u << 16;
    nb->buf = calloc(1, nb->cap);
    if (!nb->buf) {
        free(nb);
        return mtx_set_error(MTX_ERR_NOMEM, "image builder: cannot allocate");
    }
    nb->len = MTX_IMAGE_HEADER_BYTES;
    *b = nb;
    return MTX_OK;
}

/* Grows the buffer to hold need bytes; new space is zero. */
static mtx_status reserve(mtx_image_builder *b, uint64_t need) {
    if (need > MTX_MAX_IMAGE_BYTES)
        return mtx_set_error(MTX_ERR_ARG, "image builder: image would exceed %u bytes", MTX_MAX_IMAGE_BYTES);
    if (need <= b->cap) return MTX_OK;
    uint64_t cap = b->cap;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->buf, cap);
    if (!p) return mtx_set_error(MTX_ERR_NOMEM, "image builder: cannot grow to %llu bytes", (unsigned long long)cap);
    memset(p + b->cap, 0, cap - b->cap);
    b->buf = p;
    b->cap = cap;
    return MTX_OK;
}

static uint64_t align_up(uint64_t x) { return (x + MTX_ALIGN - 1) / MTX_ALIGN * MTX_ALIGN; }

mtx_status mtx_image_builder_add(mtx_image_builder *b, uint32_t type, uint32_t index, const void *bytes, uint64_t len) {
    if (b->n >= MTX_MAX_TOC)
        return mtx_set_error(MTX_ERR_ARG, "image builder: more than %u sections", MTX_MAX_TOC);
    if (len == 0 || !bytes)
        return mtx_set_error(MTX_ERR_ARG, "image builder: section %s index 0x%x is empty", section_name(type), index);
    for (uint32_t i = 0; i < b->n; i++)
        if (b->toc[i].type == type && b->toc[i].index == index)
            return mtx_set_error(MTX_ERR_ARG, "image builder: section %s index 0x%x added twice", section_name(type), index);
    uint64_t off = align_up(b->len);
    if (len > MTX_MAX_IMAGE_BYTES)
        return mtx_set_error(MTX_ERR_ARG, "image builder: image would exceed %u bytes", MTX_MAX_IMAGE_BYTES);
    mtx_status s = reserve(b, off + len);
    if (s) return s;
    memcpy(b->buf + off, bytes, len);
    b->toc[b->n++] = (toc_entry){ type, index, off, len };
    b->len = off + len;
    return MTX_OK;
}

mtx_status mtx_image_builder_finish(mtx_image_builder *b, uint8_t **out, uint64_t *out_bytes) {
    *out = NULL;
    *out_bytes = 0;
    uint64_t to = align_up(b->len), total = to + (uint64_t)b->n * MTX_TOC_ENTRY_BYTES;
    mtx_status s = reserve(b, total);
    if (s) return s;
    memset(b->buf + b->len, 0, to - b->len);
    for (uint32_t i = 0; i < b->n; i++) {
        uint8_t *p = b->buf + to + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
        mtx_put_le32(p + MTX_TOC_TYPE, b->toc[i].type);
        mtx_put_le32(p + MTX_TOC_INDEX, b->toc[i].index);
        mtx_put_le64(p + MTX_TOC_OFFSET, b->toc[i].off);
        mtx_put_le64(p + MTX_TOC_LENGTH, b->toc[i].len);
    }
    uint8_t *h = b->buf;
    memset(h, 0, MTX_IMAGE_HEADER_BYTES);
    memcpy(h + MTX_IH_MAGIC, MTX_IMAGE_MAGIC, 8);
    mtx_put_le32(h + MTX_IH_VERSION, MTX_IMAGE_VERSION);
    mtx_put_le32(h + MTX_IH_HEADER_BYTES, MTX_IMAGE_HEADER_BYTES);
    mtx_put_le64(h + MTX_IH_FILE_BYTES, total);
    mtx_put_le32(h + MTX_IH_TOC_COUNT, b->n);
    mtx_put_le64(h + MTX_IH_TOC_OFFSET, to);
    write_dims(h, &b->dims);
    mtx_put_le32(h + MTX_IH_CRC32, crc_of(h + 32, total - 32));
    mtx_image check;
    s = mtx_image_parse(&check, b->buf, total, "image builder");
    if (s) return s;
    uint8_t *copy = malloc(total);
    if (!copy) return mtx_set_error(MTX_ERR_NOMEM, "image builder: cannot allocate %llu bytes", (unsigned long long)total);
    memcpy(copy, b->buf, total);
    *out = copy;
    *out_bytes = total;
    return MTX_OK;
}

void mtx_image_builder_free(mtx_image_builder *b) {
    if (!b) return;
    free(b->buf);
    free(b);
}
