/* safetensors.c - safetensors reader (whole file in memory, validated before
 * use) and writer (deterministic bytes, atomic replace). Format and rules:
 * docs/formats-safetensors.md. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

#define ST_MAX_HEADER 100000000u       /* same limit as the reference implementation */
#define ST_MAX_INT 9007199254740992.0  /* 2^53: largest range of exact JSON integers */
#define ST_META "__metadata__"

struct mtx_st_file {
    char *path;                    /* for error messages */
    uint8_t *buf;                  /* the whole file, NUL-terminated */
    size_t len;
    const uint8_t *data;           /* start of the data buffer, inside buf */
    uint64_t data_len;
    mtx_st_tensor *tensors;        /* (n) in header order */
    const mtx_st_tensor **by_name; /* (n) sorted by name, for bsearch */
    size_t n;
    cJSON *meta;                   /* detached "__metadata__" object or NULL */
};

static const struct { const char *name; size_t size; } g_dtypes[] = {
    [MTX_DT_F32] = {"F32", 4}, [MTX_DT_F16] = {"F16", 2}, [MTX_DT_BF16] = {"BF16", 2},
    [MTX_DT_I8] = {"I8", 1},   [MTX_DT_U8] = {"U8", 1},   [MTX_DT_I32] = {"I32", 4},
};
#define ST_N_DTYPES (sizeof g_dtypes / sizeof g_dtypes[0])

const char *mtx_st_dtype_name(mtx_dtype dt) {
    return (unsigned)dt < ST_N_DTYPES ? g_dtypes[dt].name : "?";
}

size_t mtx_st_dtype_size(mtx_dtype dt) {
    return (unsigned)dt < ST_N_DTYPES ? g_dtypes[dt].size : 0;
}

/* ---- little-endian bytes and float conversions ---- */

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void put_le(uint8_t *p, uint64_t v, int nbytes) {
    for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static float bits_to_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint32_t f32_to_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Exact: every binary16 value is a float32. */
static uint32_t f16_to_f32_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return sign | 0x7f800000u | mant << 13;
    if (exp != 0) return sign | (exp + 112) << 23 | mant << 13;
    if (mant == 0) return sign;
    uint32_t e = 113; /* subnormal mant * 2^-24: renormalise */
    while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
    }
    return sign | e << 23 | (mant & 0x3ff) << 13;
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

/* ---- reading ---- */

static int cmp_by_name(const void *a, const void *b) {
    return strcmp((*(const mtx_st_tensor *const *)a)->name,
                  (*(const mtx_st_tensor *const *)b)->name);
}

static int cmp_name_key(const void *key, const void *elem) {
    return strcmp((const char *)key, (*(const mtx_st_tensor *const *)elem)->name);
}

static int cmp_by_offset(const void *a, const void *b) {
    const mtx_st_tensor *x = *(const mtx_st_tensor *const *)a;
    const mtx_st_tensor *y = *(const mtx_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* A JSON number that is a non-negative integer no larger than 2^53. */
static int json_uint(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_INT) || (double)(uint64_t)d != d) return 0;
    *v = (uint64_t)d;
    return 1;
}

static void fmt_shape(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

static mtx_status parse_entry(const mtx_st_file *f, const cJSON *e, mtx_st_tensor *t) {
    const char *name = e->string;
    if (strlen(name) >= MTX_ST_MAX_NAME)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor name '%.40s...' is %zu bytes, over %d",
                             f->path, name, strlen(name), MTX_ST_MAX_NAME - 1);
    strcpy(t->name, name);
    if (!cJSON_IsObject(e))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object",
                             f->path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: tensor '%s': needs string \"dtype\", array \"shape\" and "
                             "array \"data_offsets\"", f->path, name);
    size_t d;
    for (d = 0; d < ST_N_DTYPES; d++)
        if (strcmp(dt->valuestring, g_dtypes[d].name) == 0) break;
    if (d == ST_N_DTYPES)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s': unsupported dtype \"%.16s\"",
                             f->path, name, dt->valuestring);
    t->dtype = (mtx_dtype)d;

    uint64_t nbytes = g_dtypes[d].size, v;
    t->ndim = 0;
    for (const cJSON *c = sh->child; c; c = c->next) {
        if (t->ndim == MTX_ST_MAX_DIMS)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s': more than %d dimensions",
                                 f->path, name, MTX_ST_MAX_DIMS);
        if (!json_uint(c, &v))
            return mtx_set_error(MTX_ERR_FORMAT,
                                 "%s: tensor '%s': dimension %d is not an integer in [0, 2^53]",
                                 f->path, name, t->ndim);
        t->shape[t->ndim++] = (int64_t)v;
        if (v != 0 && nbytes > UINT64_MAX / v)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s': shape size overflows",
                                 f->path, name);
        nbytes *= v;
    }
    const cJSON *b = off->child, *en = b ? b->next : NULL;
    if (!b || !en || en->next || !json_uint(b, &t->begin) || !json_uint(en, &t->end))
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets must be two integers in [0, 2^53]",
                             f->path, name);
    if (t->begin > t->end || t->end > f->data_len)
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                             "] outside the %" PRIu64 "-byte data buffer",
                             f->path, name, t->begin, t->end, f->data_len);
    if (t->end - t->begin != nbytes) {
        char s[96];
        fmt_shape(s, sizeof s, t->ndim, t->shape);
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: tensor '%s': %s %s needs %" PRIu64 " bytes, offsets give %" PRIu64,
                             f->path, name, g_dtypes[d].name, s, nbytes, t->end - t->begin);
    }
    return MTX_OK;
}

static mtx_status parse_meta(const mtx_st_file *f, const cJSON *m) {
    if (!cJSON_IsObject(m))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: \"%s\" is not an object", f->path, ST_META);
    for (const cJSON *c = m->child; c; c = c->next)
        if (!cJSON_IsString(c))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: metadata '%.60s' is not a string",
                                 f->path, c->string);
    return MTX_OK;
}

/* Checks names are unique and byte ranges disjoint (empty tensors overlap
 * nothing). Both via sorting, so hostile headers with many entries stay fast. */
static mtx_status check_unique_disjoint(mtx_st_file *f) {
    for (size_t i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_by_offset);
    const mtx_st_tensor *last = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const mtx_st_tensor *t = f->by_name[i];
        if (t->begin == t->end) continue;
        if (last && t->begin < last->end)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", f->path,
                                 last->name, t->name);
        if (!last || t->end > last->end) last = t;
    }
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_by_name);
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: duplicate tensor name '%s'", f->path,
                                 f->by_name[i]->name);
    return MTX_OK;
}

/* format_version: absent (files written before the field) or "1"; format:
 * absent or "modtx". */
static mtx_status check_format(const mtx_st_file *f) {
    const char *v = mtx_st_meta(f, "format_version"), *fmt = mtx_st_meta(f, "format");
    if (f->meta && cJSON_GetObjectItemCaseSensitive(f->meta, "format_version") && !v) v = "(not a string)";
    if (v && strcmp(v, MTX_ST_FORMAT_VERSION))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: metadata format_version \"%.40s\" is not supported (this modtx reads %s)",
                             f->path, v, MTX_ST_FORMAT_VERSION);
    if (fmt && strcmp(fmt, "modtx"))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: metadata format \"%.40s\" is not \"modtx\"", f->path, fmt);
    return MTX_OK;
}

static mtx_status parse_file(mtx_st_file *f) {
    if (f->len < 8)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %zu bytes, too short for the header length",
                             f->path, f->len);
    uint64_t hlen = get_le64(f->buf);
    if (hlen > ST_MAX_HEADER || hlen > f->len - 8)
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: header length %" PRIu64 " exceeds the file (%zu bytes) or 100 MB",
                             f->path, hlen, f->len);
    const char *hdr = (const char *)f->buf + 8, *end = NULL;
    f->data = f->buf + 8 + hlen;
    f->data_len = f->len - 8 - hlen;

    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root) return mtx_set_error(MTX_ERR_FORMAT, "%s: header is not valid JSON", f->path);
    mtx_status s = MTX_OK;
    for (const char *p = end; p < hdr + hlen && s == MTX_OK; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            s = mtx_set_error(MTX_ERR_FORMAT, "%s: header has bytes after the JSON", f->path);
    if (s == MTX_OK && !cJSON_IsObject(root))
        s = mtx_set_error(MTX_ERR_FORMAT, "%s: header is not a JSON object", f->path);
    size_t n = 0;
    if (s == MTX_OK) {
        for (const cJSON *c = root->child; c; c = c->next) n++;
        f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
        f->by_name = calloc(n ? n : 1, sizeof *f->by_name);
        if (!f->tensors || !f->by_name)
            s = mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate %zu tensor entries", f->path, n);
    }
    cJSON *meta = NULL;
    for (cJSON *c = s == MTX_OK ? root->child : NULL; c && s == MTX_OK; c = c->next) {
        if (!c->string) {
            s = mtx_set_error(MTX_ERR_FORMAT, "%s: header entry without a name", f->path);
        } else if (strcmp(c->string, ST_META) == 0) {
            s = meta ? mtx_set_error(MTX_ERR_FORMAT, "%s: duplicate \"%s\"", f->path, ST_META)
                     : parse_meta(f, c);
            meta = c;
        } else {
            s = parse_entry(f, c, &f->tensors[f->n++]);
        }
    }
    if (s == MTX_OK && meta) f->meta = cJSON_DetachItemViaPointer(root, meta);
    cJSON_Delete(root);
    if (s == MTX_OK) s = check_unique_disjoint(f);
    if (s == MTX_OK) s = check_format(f);
    return s;
}

mtx_status mtx_st_open(const char *path, mtx_st_file **out) {
    if (out) *out = NULL;
    if (!path || !out) return mtx_set_error(MTX_ERR_ARG, "mtx_st_open: NULL argument");
    mtx_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate reader", path);
    }
    mtx_status s = mtx_read_file(path, SIZE_MAX - 1, &f->buf, &f->len);
    if (s == MTX_OK) s = parse_file(f);
    if (s != MTX_OK) {
        mtx_st_close(f);
        return s;
    }
    *out = f;
    return MTX_OK;
}

void mtx_st_close(mtx_st_file *f) {
    if (!f) return;
    cJSON_Delete(f->meta);
    free(f->by_name);
    free(f->tensors);
    free(f->buf);
    free(f->path);
    free(f);
}

size_t mtx_st_count(const mtx_st_file *f) { return f ? f->n : 0; }

const mtx_st_tensor *mtx_st_at(const mtx_st_file *f, size_t i) {
    return f && i < f->n ? &f->tensors[i] : NULL;
}

const mtx_st_tensor *mtx_st_find(const mtx_st_file *f, const char *name) {
    if (!f || !name || f->n == 0) return NULL;
    const mtx_st_tensor *const *hit = bsearch(name, f->by_name, f->n, sizeof *f->by_name,
                                              cmp_name_key);
    return hit ? *hit : NULL;
}

const char *mtx_st_meta(const mtx_st_file *f, const char *key) {
    if (!f || !f->meta || !key) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const void *mtx_st_data(const mtx_st_file *f, const mtx_st_tensor *t) {
    if (!f || !t || t->begin > t->end || t->end > f->data_len) return NULL;
    return f->data + t->begin;
}

mtx_status mtx_st_read_f32(const mtx_st_file *f, const char *name, int ndim,
                           const int64_t *shape, float *dst) {
    if (!f || !name || !dst || ndim < 0 || ndim > MTX_ST_MAX_DIMS || (ndim > 0 && !shape))
        return mtx_set_error(MTX_ERR_ARG, "mtx_st_read_f32: invalid argument for '%s'",
                             name ? name : "(null)");
    char want[96], got[96];
    fmt_shape(want, sizeof want, ndim, shape);
    const mtx_st_tensor *t = mtx_st_find(f, name);
    if (!t)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s' not found (expected shape %s)",
                             f->path, name, want);
    if (t->dtype != MTX_DT_F32 && t->dtype != MTX_DT_F16 && t->dtype != MTX_DT_BF16)
        return mtx_set_error(MTX_ERR_FORMAT,
                             "%s: tensor '%s': expected F32, F16 or BF16, found %s", f->path,
                             name, g_dtypes[t->dtype].name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        fmt_shape(got, sizeof got, t->ndim, t->shape);
        return mtx_set_error(MTX_ERR_FORMAT, "%s: tensor '%s': expected shape %s, found %s",
                             f->path, name, want, got);
    }
    const uint8_t *p = f->data + t->begin;
    size_t esize = g_dtypes[t->dtype].size, n = (size_t)((t->end - t->begin) / esize);
    for (size_t i = 0; i < n; i++, p += esize) {
        uint32_t u = t->dtype == MTX_DT_F32    ? get_le32(p)
                     : t->dtype == MTX_DT_F16 ? f16_to_f32_bits(get_le16(p))
                                              : (uint32_t)get_le16(p) << 16;
        dst[i] = bits_to_f32(u);
    }
    return MTX_OK;
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
        (unsigned)dtype >= ST_N_DTYPES)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: invalid argument for '%s'",
                             name ? name : "(null)");
    if (!name[0] || strlen(name) >= MTX_ST_MAX_NAME || strcmp(name, ST_META) == 0)
        return mtx_set_error(MTX_ERR_ARG, "safetensors writer: bad tensor name '%.40s' "
                             "(empty, reserved or over %d bytes)", name, MTX_ST_MAX_NAME - 1);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: duplicate tensor '%s'", name);
    uint64_t nbytes = g_dtypes[dtype].size;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (double)shape[i] > ST_MAX_INT)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s': bad dimension %"
                                 PRId64, name, shape[i]);
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && nbytes > UINT64_MAX / d)
            return mtx_set_error(MTX_ERR_ARG, "safetensors writer: tensor '%s' is too large", name);
        nbytes *= d;
    }
    if (nbytes > SIZE_MAX / 4 || (double)nbytes > ST_MAX_INT)
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
        ok = m && cJSON_AddItemToObject(root, ST_META, m);
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
        ok = ok && cJSON_AddStringToObject(t, "dtype", g_dtypes[e->dtype].name) &&
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
    size_t esize = g_dtypes[e->dtype].size, n = e->nbytes / esize;
    for (size_t i = 0; i < n; i++, out += esize) {
        uint32_t u = f32_to_bits(x[i]);
        int overflow = 0;
        if (e->dtype == MTX_DT_F32) put_le(out, u, 4);
        else if (e->dtype == MTX_DT_F16) put_le(out, f32_bits_to_f16(u, &overflow), 2);
        else put_le(out, f32_bits_to_bf16(u, &overflow), 2);
        if (overflow)
            return mtx_set_error(MTX_ERR_DATA, "tensor '%s': element %zu (%g) overflows %s",
                                 e->name, i, (double)x[i], g_dtypes[e->dtype].name);
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
    if (padded > ST_MAX_HEADER || total < data_len) {
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

mtx_status mtx_st_meta_int(const mtx_st_file *f, const char *path, const char *key, int64_t *v) {
    const char *s = mtx_st_meta(f, key);
    char *end = NULL;
    errno = 0;
    long long x = s ? strtoll(s, &end, 10) : -1;
    if (!s || end == s || *end || errno || x < 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: metadata '%s' missing or invalid", path, key);
    *v = x;
    return MTX_OK;
}
