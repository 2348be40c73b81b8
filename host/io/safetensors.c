/* safetensors.c - the dtype table and the safetensors reader (see
 * safetensors.h): the whole file in memory, the header parsed and every
 * entry validated against the file before any tensor is handed out; then
 * lookup by name and float32 conversion. The writer is safetensors_write.c.
 * Format and rules: docs/formats-safetensors.md. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

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

static float bits_to_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
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
    if (!(d >= 0 && d <= MTX_ST_MAX_INT) || (double)(uint64_t)d != d) return 0;
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
        return mtx_set_error(MTX_ERR_FORMAT, "%s: \"%s\" is not an object", f->path, MTX_ST_META);
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
    if (hlen > MTX_ST_MAX_HEADER || hlen > f->len - 8)
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
        } else if (strcmp(c->string, MTX_ST_META) == 0) {
            s = meta ? mtx_set_error(MTX_ERR_FORMAT, "%s: duplicate \"%s\"", f->path, MTX_ST_META)
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
