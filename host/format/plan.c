/* plan.c - reconfiguration plans: building one from layer origins, encoding,
 * parsing and validating against the image, work per word and the tiling.
 *
 * One checker (plan_check) validates a plan struct against its image; the
 * builder and the parser both end in it, so a plan that can be built can be
 * parsed and the other way round. Errors read "<file>: <field>: <what>". */
#include "format/plan.h"

#include "core/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t w_bytes_of(uint32_t kind, const mtx_image_dims *d) {
    return kind == MTX_KIND_ENC ? MTX_ENC_W_BYTES(d->C, d->F) : MTX_DEC_W_BYTES(d->C, d->F);
}

static uint64_t k_bytes_of(uint32_t kind, const mtx_image_dims *d) {
    return 4ull * (kind == MTX_KIND_ENC ? MTX_ENC_K_WORDS(d->C, d->F) : MTX_DEC_K_WORDS(d->C, d->F));
}

/* One of a descriptor's two (offset, length) pairs. */
static mtx_status check_range(const mtx_image *im, uint64_t off, uint64_t len, uint64_t want, uint32_t type,
                              uint32_t origin, const char *name, const char *field) {
    if (len == 0) return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: zero length", name, field);
    if (off % MTX_ALIGN != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: offset %llu is not 64-byte aligned", name, field,
                             (unsigned long long)off);
    if (off > im->bytes || len > im->bytes - off)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: offset %llu + %llu bytes is outside the %llu-byte image", name,
                             field, (unsigned long long)off, (unsigned long long)len, (unsigned long long)im->bytes);
    if (len != want)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: length %llu, the dimensions imply %llu", name, field,
                             (unsigned long long)len, (unsigned long long)want);
    uint64_t toff, tlen;
    if (mtx_image_find(im, type, origin, &toff, &tlen) || toff != off || tlen != len)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: offset %llu is not the image's section for origin 0x%x", name,
                             field, (unsigned long long)off, origin);
    return MTX_OK;
}

/* One stack: count, and per descriptor kind, dimensions, origin, span, the
 * tiling's contiguity and both sections. */
static mtx_status check_stack(const mtx_plan_desc *ds, int n, uint32_t kind, const mtx_image *im, const char *name) {
    const mtx_image_dims *d = &im->dims;
    const char *stack = kind == MTX_KIND_ENC ? "encoder" : "decoder";
    uint32_t L = kind == MTX_KIND_ENC ? d->n_enc : d->n_dec;
    if (n < 1 || n > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: n_%s: %d layers is outside [1, %d]", name,
                             kind == MTX_KIND_ENC ? "enc" : "dec", n, MTX_MAX_STACK_LAYERS);
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const mtx_plan_desc *x = &ds[i];
        char field[64];
        if (x->kind != kind)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].kind: %u, an %s layer must be %u", name, stack, i,
                                 x->kind, stack, kind);
        if (x->C != d->C || x->H != d->H || x->F != d->F)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].dims: C %u H %u F %u, the image has C %u H %u F %u", name,
                                 stack, i, x->C, x->H, x->F, d->C, d->H, d->F);
        uint32_t g = MTX_ORIGIN_G(x->origin), j = MTX_ORIGIN_J(x->origin);
        if (x->origin > 0xffffu || (g != 1 && g != 2 && g != 3 && g != 6))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].origin: 0x%x is no teacher layer or module", name, stack,
                                 i, x->origin);
        if (x->span != g)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].span: %u, origin 0x%x replaces %u layers", name, stack,
                                 i, x->span, x->origin, g);
        if (pos != (uint64_t)g * j)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].origin: covers teacher layers from %llu, expected %llu",
                                 name, stack, i, (unsigned long long)g * j, (unsigned long long)pos);
        pos += g;
        if (pos > L)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: spans sum past the image's %u teacher layers", name, stack, L);
        uint32_t wt = kind == MTX_KIND_ENC ? MTX_SEC_ENC_WEIGHTS : MTX_SEC_DEC_WEIGHTS;
        snprintf(field, sizeof field, "%s[%d].weights", stack, i);
        mtx_status s = check_range(im, x->w_off, x->w_bytes, w_bytes_of(kind, d), wt, x->origin, name, field);
        if (s) return s;
        snprintf(field, sizeof field, "%s[%d].consts", stack, i);
        s = check_range(im, x->k_off, x->k_bytes, k_bytes_of(kind, d), wt + 1, x->origin, name, field);
        if (s) return s;
    }
    if (pos != L)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %s: spans sum to %llu, the image's teacher has %u layers", name, stack,
                             (unsigned long long)pos, L);
    return MTX_OK;
}

static mtx_status plan_check(const mtx_plan *p, const mtx_image *im, const char *name) {
    if (p->image_crc != im->crc || p->image_bytes != im->bytes)
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: image: plan is for another image (crc 0x%08x, %llu bytes; this one is crc 0x%08x, %llu bytes)",
                             name, p->image_crc, (unsigned long long)p->image_bytes, im->crc,
                             (unsigned long long)im->bytes);
    mtx_status s = check_stack(p->enc, p->n_enc, MTX_KIND_ENC, im, name);
    return s ? s : check_stack(p->dec, p->n_dec, MTX_KIND_DEC, im, name);
}

static mtx_status desc_from_origin(mtx_plan_desc *x, const mtx_image *im, uint32_t kind, uint32_t origin) {
    uint32_t wt = kind == MTX_KIND_ENC ? MTX_SEC_ENC_WEIGHTS : MTX_SEC_DEC_WEIGHTS;
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->origin = origin;
    x->C = im->dims.C;
    x->H = im->dims.H;
    x->F = im->dims.F;
    x->span = MTX_ORIGIN_G(origin);
    mtx_status s = mtx_image_find(im, wt, origin, &x->w_off, &x->w_bytes);
    return s ? s : mtx_image_find(im, wt + 1, origin, &x->k_off, &x->k_bytes);
}

mtx_status mtx_plan_from_origins(mtx_plan *p, const mtx_image *im, const uint32_t *enc, int n_enc, const uint32_t *dec,
                                 int n_dec, uint32_t ratio_x100) {
    memset(p, 0, sizeof *p);
    if (n_enc < 1 || n_enc > MTX_MAX_STACK_LAYERS || n_dec < 1 || n_dec > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "plan: %d encoder and %d decoder layers, each must be in [1, %d]", n_enc,
                             n_dec, MTX_MAX_STACK_LAYERS);
    p->image_crc = im->crc;
    p->image_bytes = im->bytes;
    p->ratio_x100 = ratio_x100;
    p->n_enc = n_enc;
    p->n_dec = n_dec;
    for (int i = 0; i < n_enc + n_dec; i++) {
        int is_enc = i < n_enc;
        uint32_t o = is_enc ? enc[i] : dec[i - n_enc];
        mtx_status s = desc_from_origin(is_enc ? &p->enc[i] : &p->dec[i - n_enc], im,
                                        is_enc ? MTX_KIND_ENC : MTX_KIND_DEC, o);
        if (s)
            return mtx_set_error(MTX_ERR_ARG, "plan: %s layer %d: origin 0x%x is not in the image",
                                 is_enc ? "encoder" : "decoder", is_enc ? i : i - n_enc, o);
    }
    return plan_check(p, im, "plan");
}

static void put_desc(uint8_t *q, const mtx_plan_desc *x) {
    mtx_put_le32(q + MTX_D_KIND, x->kind);
    mtx_put_le32(q + MTX_D_ORIGIN, x->origin);
    mtx_put_le32(q + MTX_D_D_MODEL, x->C);
    mtx_put_le32(q + MTX_D_HEADS, x->H);
    mtx_put_le32(q + MTX_D_D_FF, x->F);
    mtx_put_le32(q + MTX_D_SPAN, x->span);
    mtx_put_le64(q + MTX_D_W_OFFSET, x->w_off);
    mtx_put_le64(q + MTX_D_W_BYTES, x->w_bytes);
    mtx_put_le64(q + MTX_D_K_OFFSET, x->k_off);
    mtx_put_le64(q + MTX_D_K_BYTES, x->k_bytes);
}

static void get_desc(const uint8_t *q, mtx_plan_desc *x) {
    x->kind = mtx_le32(q + MTX_D_KIND);
    x->origin = mtx_le32(q + MTX_D_ORIGIN);
    x->C = mtx_le32(q + MTX_D_D_MODEL);
    x->H = mtx_le32(q + MTX_D_HEADS);
    x->F = mtx_le32(q + MTX_D_D_FF);
    x->span = mtx_le32(q + MTX_D_SPAN);
    x->w_off = mtx_le64(q + MTX_D_W_OFFSET);
    x->w_bytes = mtx_le64(q + MTX_D_W_BYTES);
    x->k_off = mtx_le64(q + MTX_D_K_OFFSET);
    x->k_bytes = mtx_le64(q + MTX_D_K_BYTES);
}

mtx_status mtx_plan_encode(const mtx_plan *p, uint8_t **out, uint64_t *bytes) {
    *out = NULL;
    *bytes = 0;
    if (p->n_enc < 1 || p->n_enc > MTX_MAX_STACK_LAYERS || p->n_dec < 1 || p->n_dec > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_ARG, "plan: %d encoder and %d decoder layers, each must be in [1, %d]", p->n_enc,
                             p->n_dec, MTX_MAX_STACK_LAYERS);
    uint64_t n = MTX_PLAN_HEADER_BYTES + (uint64_t)MTX_DESC_BYTES * (uint64_t)(p->n_enc + p->n_dec);
    uint8_t *b = calloc(1, n);
    if (!b) return mtx_set_error(MTX_ERR_NOMEM, "plan: cannot allocate %llu bytes", (unsigned long long)n);
    memcpy(b + MTX_PH_MAGIC, MTX_PLAN_MAGIC, 8);
    mtx_put_le32(b + MTX_PH_VERSION, MTX_PLAN_VERSION);
    mtx_put_le32(b + MTX_PH_HEADER_BYTES, MTX_PLAN_HEADER_BYTES);
    mtx_put_le32(b + MTX_PH_IMAGE_CRC, p->image_crc);
    mtx_put_le32(b + MTX_PH_DESC_BYTES, MTX_DESC_BYTES);
    mtx_put_le64(b + MTX_PH_IMAGE_BYTES, p->image_bytes);
    mtx_put_le32(b + MTX_PH_RATIO_X100, p->ratio_x100);
    mtx_put_le32(b + MTX_PH_N_ENC, (uint32_t)p->n_enc);
    mtx_put_le32(b + MTX_PH_N_DEC, (uint32_t)p->n_dec);
    for (int i = 0; i < p->n_enc + p->n_dec; i++)
        put_desc(b + MTX_PLAN_HEADER_BYTES + (uint64_t)MTX_DESC_BYTES * i,
                 i < p->n_enc ? &p->enc[i] : &p->dec[i - p->n_enc]);
    *out = b;
    *bytes = n;
    return MTX_OK;
}

/* Header fields that need no image: magic, version, sizes, reserved, counts, length. */
static mtx_status parse_plan_header(mtx_plan *p, const uint8_t *b, uint64_t bytes, const char *name) {
    if (bytes < MTX_PLAN_HEADER_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: header: truncated file: %llu bytes, the header alone is %u", name,
                             (unsigned long long)bytes, MTX_PLAN_HEADER_BYTES);
    if (memcmp(b + MTX_PH_MAGIC, MTX_PLAN_MAGIC, 8) != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: magic: not a modtx plan (no %s)", name, MTX_PLAN_MAGIC);
    uint32_t v = mtx_le32(b + MTX_PH_VERSION);
    if (v > MTX_PLAN_VERSION)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: version: %u is newer than this build reads (%u); upgrade modtx", name,
                             v, MTX_PLAN_VERSION);
    if (v != MTX_PLAN_VERSION)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: version: %u is not a known version (%u)", name, v, MTX_PLAN_VERSION);
    uint32_t hb = mtx_le32(b + MTX_PH_HEADER_BYTES), db = mtx_le32(b + MTX_PH_DESC_BYTES);
    if (hb != MTX_PLAN_HEADER_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: header_bytes: %u, expected %u", name, hb, MTX_PLAN_HEADER_BYTES);
    if (db != MTX_DESC_BYTES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: desc_bytes: %u, expected %u", name, db, MTX_DESC_BYTES);
    for (unsigned i = 44; i < MTX_PLAN_HEADER_BYTES; i++)
        if (b[i]) return mtx_set_error(MTX_ERR_FORMAT, "%s: reserved: header byte %u is not zero", name, i);
    p->image_crc = mtx_le32(b + MTX_PH_IMAGE_CRC);
    p->image_bytes = mtx_le64(b + MTX_PH_IMAGE_BYTES);
    p->ratio_x100 = mtx_le32(b + MTX_PH_RATIO_X100);
    uint32_t ne = mtx_le32(b + MTX_PH_N_ENC), nd = mtx_le32(b + MTX_PH_N_DEC);
    if (ne < 1 || ne > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: n_enc: %u layers is outside [1, %d]", name, ne, MTX_MAX_STACK_LAYERS);
    if (nd < 1 || nd > MTX_MAX_STACK_LAYERS)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: n_dec: %u layers is outside [1, %d]", name, nd, MTX_MAX_STACK_LAYERS);
    uint64_t want = MTX_PLAN_HEADER_BYTES + (uint64_t)MTX_DESC_BYTES * (ne + nd);
    if (bytes < want)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: descriptors: truncated file: %llu bytes, %u + %u descriptors need %llu",
                             name, (unsigned long long)bytes, ne, nd, (unsigned long long)want);
    if (bytes > want)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: descriptors: %llu bytes, %u + %u descriptors need %llu (trailing bytes)",
                             name, (unsigned long long)bytes, ne, nd, (unsigned long long)want);
    p->n_enc = (int)ne;
    p->n_dec = (int)nd;
    return MTX_OK;
}

mtx_status mtx_plan_parse(mtx_plan *p, const uint8_t *data, uint64_t bytes, const mtx_image *im, const char *name) {
    if (!name) name = "plan";
    memset(p, 0, sizeof *p);
    if (!data && bytes) return mtx_set_error(MTX_ERR_ARG, "%s: mtx_plan_parse: NULL argument", name);
    mtx_plan tmp;
    memset(&tmp, 0, sizeof tmp);
    mtx_status s = parse_plan_header(&tmp, data, bytes, name);
    if (s) return s;
    for (int i = 0; i < tmp.n_enc + tmp.n_dec; i++) {
        const uint8_t *q = data + MTX_PLAN_HEADER_BYTES + (uint64_t)MTX_DESC_BYTES * i;
        for (unsigned k = 56; k < MTX_DESC_BYTES; k++)
            if (q[k])
                return mtx_set_error(MTX_ERR_FORMAT, "%s: %s[%d].reserved: byte %u is not zero", name,
                                     i < tmp.n_enc ? "encoder" : "decoder", i < tmp.n_enc ? i : i - tmp.n_enc, k);
        get_desc(q, i < tmp.n_enc ? &tmp.enc[i] : &tmp.dec[i - tmp.n_enc]);
    }
    s = plan_check(&tmp, im, name);
    if (!s) *p = tmp;
    return s;
}

mtx_status mtx_plan_load(const char *path, const mtx_image *im, mtx_plan *p, uint8_t **data, uint64_t *bytes) {
    *data = NULL;
    *bytes = 0;
    size_t n = 0;
    uint64_t max = MTX_PLAN_HEADER_BYTES + 2ull * MTX_MAX_STACK_LAYERS * MTX_DESC_BYTES;
    mtx_status s = mtx_read_file(path, (size_t)max, data, &n);
    if (s) return s;
    s = mtx_plan_parse(p, *data, n, im, path);
    if (s) {
        free(*data);
        *data = NULL;
        return s;
    }
    *bytes = n;
    return MTX_OK;
}

/* ------------------------------------------------------------ the work */

void mtx_plan_layer_cost(const mtx_plan_desc *d, int src_len, int tgt_len, uint64_t *macs, uint64_t *weight_bytes) {
    uint64_t C = d->C, F = d->F, S = src_len > 0 ? (uint64_t)src_len : 0, T = tgt_len > 0 ? (uint64_t)tgt_len : 0;
    if (d->kind == MTX_KIND_ENC) {
        /* qkv, o, wi, wo at S positions; scores and p.v over S x S for every head. */
        *macs = S * (4 * C * C + 2 * C * F) + 2 * S * S * C;
        *weight_bytes = d->w_bytes + d->k_bytes;
    } else {
        /* Per step: qkv, o, cq, co, wi, wo for one position; self-attention
         * scores and p.v over t + 1 keys (sum over t is T(T+1)/2 each);
         * cross-attention scores and p.v over S keys; ckv once per word over S. */
        *macs = T * (6 * C * C + 2 * C * F) + C * T * (T + 1) + 2 * C * S * T + 2 * C * C * S;
        *weight_bytes = T * (d->w_bytes + d->k_bytes);
    }
}

void mtx_plan_cost(const mtx_plan *p, const mtx_image *im, int src_len, int tgt_len, uint64_t *macs,
                   uint64_t *weight_bytes) {
    uint64_t m = 0, w = 0, lm, lw;
    for (int i = 0; i < p->n_enc + p->n_dec; i++) {
        mtx_plan_layer_cost(i < p->n_enc ? &p->enc[i] : &p->dec[i - p->n_enc], src_len, tgt_len, &lm, &lw);
        m += lm;
        w += lw;
    }
    uint64_t T = tgt_len > 0 ? (uint64_t)tgt_len : 0, V = im->dims.Vt, C = im->dims.C;
    m += T * V * C;                                   /* lm_head per step */
    w += T * (V * C + 4ull * MTX_REQ_WORDS(V));       /* lm_head and its requant record per step */
    *macs = m;
    *weight_bytes = w;
}

void mtx_plan_tiling(const mtx_plan *p, char *buf, size_t cap) {
    size_t len = 0;
    if (cap == 0) return;
    buf[0] = 0;
    for (int i = 0; i < p->n_enc + p->n_dec && len < cap; i++) {
        const mtx_plan_desc *d = i < p->n_enc ? &p->enc[i] : &p->dec[i - p->n_enc];
        const char *sep = i == 0 ? "" : i == p->n_enc ? " | " : " ";
        uint32_t g = MTX_ORIGIN_G(d->origin), j = MTX_ORIGIN_J(d->origin);
        int w = g == 1 ? snprintf(buf + len, cap - len, "%st%u", sep, j)
                       : snprintf(buf + len, cap - len, "%sm%u.%u", sep, g, j);
        if (w < 0) break;
        len += (size_t)w;
    }
}
