/* safetensors_write.c - the safetensors writer (see safetensors.h): tensors
 * collected by reference, then one header and data buffer built in memory
 * and written atomically. The same inputs always give the same bytes
 * (docs/formats-safetensors.md). */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

/* ---- little-endian bytes and float conversions ---- */

static void put_le(uint8_t *p, uint64_t v, int nbytes) {
    for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t f32_to_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Rounds to nearest, ties to even. Sets *overflow when a finite input
 * rounds past the largest binary16 (65504); Inf and NaN pass through. */
static uint16_t f32_bits_to_f16(uint32_t x, int *overflow) {
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | mant >> 13 : 0));
    int e = (int)exp - 127 + 15;
    uint32_t r, rem, half;
    if (e >= 31) {
        *overflow = 1;
        return (uint16_t)(sign | 0x7c00);
    }
    if (e <= 0) { /* binary16 subnormal: value = r * 2^-24 */
        if (exp == 0) return sign; /* float32 subnormals are below 2^-126 */
        uint32_t m = mant | 0x800000;
        int shift = 14 - e;
        if (shift > 25) return sign;
        r = m >> shift;
        rem = m & ((1u << shift) - 1);
        half = 1u << (shift - 1);
    } else {
        r = (uint32_t)e << 10 | mant >> 13;
        rem = mant & 0x1fff;
        half = 0x1000;
    }
    if (rem > half || (rem == half && (r & 1))) r++; /* a carry moves into the exponent */
    if (r >= 0x7c00) *overflow = 1;
    return (uint16_t)(sign | r);
}

static uint16_t f32_bits_to_bf16(uint32_t x, int *overflow) {
    if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)(x >> 16 | 0x40); /* quiet NaN */
    uint32_t r = (x + 0x7fff + ((x >> 16) & 1)) >> 16;
    if ((x & 0x7f800000u) != 0x7f800000u && (r & 0x7f80) == 0x7f80) *overflow = 1;
    return (uint16_t)r;
}

/* ---- writing ---- */

typedef struct {
    char name[MTX_ST_MAX_NAME];
    mtx_dtype dtype; /* as stored */
    int ndim;
    int64_t shape[MTX_ST_MAX_DIMS];
    const void *data; /* borrowed: float32 when from_f32, else stored bytes */
    int from_f32;
    size_t nbytes;    /* stored size */
} st_entry;

struct mtx_st_writer {
    st_entry *e;
    size_t n, cap;
    char **meta; /* (2 * n_meta) key, value, key, value, ... */
    size_t n_meta, cap_meta;
};

mtx_status mtx_st_writer_new(mtx_st_writer **out) {
    if (!out) return mtx_set_error(MTX_ERR_ARG, "mtx_st_writer_new: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return mtx_set_error(MTX_ERR_NOMEM, "cannot allocate safetensors writer");
    mtx_status st = mtx_st_add_meta(*out, "format_version", MTX_ST_FORMAT_VERSION);
    if (st) {
        mtx_st_writer_free(*out);
        *out = NULL;
    }
    return st;
}

void mtx_st_writer_free(mtx_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < 2 * w->n_meta; i++) free(w->meta[i]);
    free(w->meta);
    free(w->e);
    free(w);
}

static mtx_status add_entry(mtx_st_writer *w, const char *name, mtx_dtype dtype, int ndim,
                            const int64_t *shape, const void *data, int from_f32) {
    if (!w || !name || ndim < 0 || ndim > MTX_ST_MAX_DIMS || (ndim > 0 && !shape) ||
        mtx_st_dtype_size(dtype) == 0)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: invalid argument for '%s'",
                             name ? name : "(null)");
    if (!name[0] || strlen(name) >= MTX_ST_MAX_NAME || strcmp(name, MTX_ST_META) == 0)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: bad tensor name '%.40s' "
                             "(empty, reserved or over %d bytes)", name, MTX_ST_MAX_NAME - 1);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: duplicate tensor '%s'", name);
    uint64_t nbytes = mtx_st_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (double)shape[i] > MTX_ST_MAX_INT)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s': bad dimension %"
                                 PRId64, name, shape[i]);
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && nbytes > UINT64_MAX / d)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s' is too large", name);
        nbytes *= d;
    }
    if (nbytes > SIZE_MAX / 4 || (double)nbytes > MTX_ST_MAX_INT)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s' is too large", name);
    if (nbytes > 0 && !data)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s' has no data", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        st_entry *e = realloc(w->e, cap * sizeof *e);
        if (!e) return mtx_set_error(MTX_ERR_NOMEM, "safetensors writer: cannot grow to %zu", cap);
        w->e = e;
        w->cap = cap;
    }
    st_entry *e = &w->e[w->n++];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->from_f32 = from_f32;
    e->nbytes = (size_t)nbytes;
    return MTX_OK;
}

mtx_status mtx_st_add_f32(mtx_st_writer *w, const char *name, int ndim, const int64_t *shape,
                          const float *data, mtx_dtype store_as) {
    if (store_as != MTX_DT_F32 && store_as != MTX_DT_F16 && store_as != MTX_DT_BF16)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s': cannot store "
                             "floats as %s", name ? name : "(null)", mtx_st_dtype_name(store_as));
    return add_entry(w, name, store_as, ndim, shape, data, 1);
}

mtx_status mtx_st_add_raw(mtx_st_writer *w, const char *name, mtx_dtype dtype, int ndim,
                          const int64_t *shape, const void *data) {
    return add_entry(w, name, dtype, ndim, shape, data, 0);
}

mtx_status mtx_st_add_meta(mtx_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return mtx_set_error(MTX_ERR_ARG, "mtx_st_add_meta: NULL argument");
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: duplicate metadata '%s'", key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **m = realloc(w->meta, 2 * cap * sizeof *m);
        if (!m) return mtx_set_error(MTX_ERR_NOMEM, "safetensors writer: cannot grow metadata");
        w->meta = m;
        w->cap_meta = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return mtx_set_error(MTX_ERR_NOMEM, "safetensors writer: cannot copy metadata");
    }
    w->meta[2 * w->n_meta] = k;
    w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return MTX_OK;
}

/* Integers are added as raw JSON text so they always print as plain digits
 * (cJSON's own number printing would switch to exponent form for 1e15). */
static int add_uint_array(cJSON *obj, const char *key, const uint64_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    if (!a || !cJSON_AddItemToObject(obj, key, a)) {
        cJSON_Delete(a);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64, v[i]);
        cJSON *r = cJSON_CreateRaw(num);
        if (!r || !cJSON_AddItemToArray(a, r)) {
            cJSON_Delete(r);
            return 0;
        }
    }
    return 1;
}

/* The header JSON, or NULL when cJSON runs out of memory. */
static char *build_header(const mtx_st_writer *w) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && w->n_meta > 0) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddItemToObject(root, MTX_ST_META, m);
        if (!ok) cJSON_Delete(m);
        for (size_t i = 0; ok && i < w->n_meta; i++)
            ok = cJSON_AddStringToObject(m, w->meta[2 * i], w->meta[2 * i + 1]) != NULL;
    }
    uint64_t off = 0;
    for (size_t i = 0; ok && i < w->n; i++) {
        const st_entry *e = &w->e[i];
        uint64_t dims[MTX_ST_MAX_DIMS], range[2] = {off, off + e->nbytes};
        for (int d = 0; d < e->ndim; d++) dims[d] = (uint64_t)e->shape[d];
        cJSON *t = cJSON_CreateObject();
        ok = t && cJSON_AddItemToObject(root, e->name, t);
        if (!ok) cJSON_Delete(t);
        ok = ok && cJSON_AddStringToObject(t, "dtype", mtx_st_dtype_name(e->dtype)) &&
             add_uint_array(t, "shape", dims, e->ndim) &&
             add_uint_array(t, "data_offsets", range, 2);
        off += e->nbytes;
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

/* Stores entry e at out (e->nbytes bytes), converting floats as needed. */
static mtx_status store_entry(const st_entry *e, uint8_t *out) {
    if (!e->from_f32) {
        if (e->nbytes) memcpy(out, e->data, e->nbytes);
        return MTX_OK;
    }
    const float *x = e->data;
    size_t esize = mtx_st_dtype_size(e->dtype), n = e->nbytes / esize;
    for (size_t i = 0; i < n; i++, out += esize) {
        uint32_t u = f32_to_bits(x[i]);
        int overflow = 0;
        if (e->dtype == MTX_DT_F32) put_le(out, u, 4);
        else if (e->dtype == MTX_DT_F16) put_le(out, f32_bits_to_f16(u, &overflow), 2);
        else put_le(out, f32_bits_to_bf16(u, &overflow), 2);
        if (overflow)
            return mtx_set_error(MTX_ERR_DATA, "tensor '%s': element %zu (%g) overflows %s",
                                 e->name, i, (double)x[i], mtx_st_dtype_name(e->dtype));
    }
    return MTX_OK;
}

mtx_status mtx_st_write(mtx_st_writer *w, const char *path) {
    if (!w || !path) return mtx_set_error(MTX_ERR_ARG, "mtx_st_write: NULL argument");
    size_t data_len = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->e[i].nbytes > SIZE_MAX / 2 - data_len)
            return mtx_set_error(MTX_ERR_ARG, "%s: tensors too large for memory", path);
        data_len += w->e[i].nbytes;
    }
    char *hdr = build_header(w);
    if (!hdr) return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot build header", path);
    size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;
    size_t total = 8 + padded + data_len;
    if (padded > MTX_ST_MAX_HEADER || total < data_len) {
        cJSON_free(hdr);
        return mtx_set_error(MTX_ERR_ARG, "%s: header of %zu bytes is over 100 MB", path, hlen);
    }
    uint8_t *buf = malloc(total);
    if (!buf) {
        cJSON_free(hdr);
        return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, total);
    }
    put_le(buf, padded, 8);
    memcpy(buf + 8, hdr, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    cJSON_free(hdr);
    mtx_status s = MTX_OK;
    uint8_t *p = buf + 8 + padded;
    for (size_t i = 0; i < w->n && s == MTX_OK; i++) {
        s = store_entry(&w->e[i], p);
        p += w->e[i].nbytes;
    }
    if (s == MTX_OK) s = mtx_write_file_atomic(path, buf, total);
    free(buf);
    return s;
}
