/* bank.c - module banks, tilings and assemblies (see bank.h). */
#include "modular/bank.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mtx_stack_grans(int L, const int *gran, int n_gran, int *out) {
    int n = 0;
    for (int i = 0; i < n_gran; i++)
        if (gran[i] > 1 && gran[i] <= L && L % gran[i] == 0) out[n++] = gran[i];
    return n;
}

static void enumerate(int L, const int *g, int ng, int pos, mtx_tiling *cur, mtx_tiling *out,
                      int max, int *count) {
    if (*count > MTX_MAX_TILINGS) return;
    if (pos == L) {
        if (*count < max) out[*count] = *cur;
        (*count)++;
        return;
    }
    cur->g[cur->n] = 1;
    cur->j[cur->n] = (uint8_t)pos;
    cur->n++;
    enumerate(L, g, ng, pos + 1, cur, out, max, count);
    cur->n--;
    for (int i = 0; i < ng; i++) {
        if (pos % g[i] || pos + g[i] > L) continue;
        cur->g[cur->n] = (uint8_t)g[i];
        cur->j[cur->n] = (uint8_t)(pos / g[i]);
        cur->n++;
        enumerate(L, g, ng, pos + g[i], cur, out, max, count);
        cur->n--;
    }
}

int mtx_tiling_enumerate(int L, const int *gran, int n_gran, mtx_tiling *out, int max) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, gran, n_gran, g);
    /* ascending granularities give a canonical order */
    for (int a = 0; a < ng; a++)
        for (int b = a + 1; b < ng; b++)
            if (g[b] < g[a]) { int t = g[a]; g[a] = g[b]; g[b] = t; }
    mtx_tiling cur;
    memset(&cur, 0, sizeof cur);
    int count = 0;
    if (L >= 1 && L <= MTX_MAX_LAYERS) enumerate(L, g, ng, 0, &cur, out, max, &count);
    return count > MTX_MAX_TILINGS ? -1 : count;
}

mtx_status mtx_tiling_validate(const mtx_tiling *t, int L, const int *gran, int n_gran) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, gran, n_gran, g), pos = 0;
    if (t->n < 1 || t->n > L) return mtx_set_error(MTX_ERR_ARG, "tiling has %d blocks for %d layers", t->n, L);
    for (int b = 0; b < t->n; b++) {
        int gb = t->g[b], start = gb * t->j[b], ok = gb == 1;
        for (int i = 0; i < ng; i++) ok |= gb == g[i];
        if (!ok) return mtx_set_error(MTX_ERR_ARG, "tiling block %d: granularity %d not available for %d layers", b, gb, L);
        if (start != pos || start + gb > L)
            return mtx_set_error(MTX_ERR_ARG, "tiling block %d covers layers [%d, %d) but layer %d is next", b, start, start + gb, pos);
        pos += gb;
    }
    if (pos != L) return mtx_set_error(MTX_ERR_ARG, "tiling covers %d of %d layers", pos, L);
    return MTX_OK;
}

void mtx_tiling_format(const mtx_tiling *t, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int b = 0; b < t->n && len < cap; b++) {
        int w = t->g[b] == 1 ? snprintf(buf + len, cap - len, "%st%d", b ? " " : "", t->j[b])
                             : snprintf(buf + len, cap - len, "%sm%d.%d", b ? " " : "", t->g[b], t->j[b]);
        if (w < 0) break;
        len += (size_t)w;
    }
}

mtx_status mtx_tiling_parse(const char *s, mtx_tiling *t) {
    memset(t, 0, sizeof *t);
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        int g = 1, j = -1, used = 0;
        if (p[0] == 't' && sscanf(p + 1, "%d%n", &j, &used) == 1) used += 1;
        else if (p[0] == 'm' && sscanf(p + 1, "%d.%d%n", &g, &j, &used) == 2) used += 1;
        else return mtx_set_error(MTX_ERR_FORMAT, "bad tiling '%s'", s);
        if (j < 0 || j > 255 || g < 1 || g > MTX_MAX_LAYERS || t->n >= MTX_MAX_LAYERS ||
            (p[used] != ' ' && p[used] != 0))
            return mtx_set_error(MTX_ERR_FORMAT, "bad tiling '%s'", s);
        t->g[t->n] = (uint8_t)g;
        t->j[t->n++] = (uint8_t)j;
        p += used;
    }
    if (t->n == 0) return mtx_set_error(MTX_ERR_FORMAT, "empty tiling");
    return MTX_OK;
}

/* ------------------------------------------------------------- the bank */

static size_t count_modules(int L, const int *gran, int n_gran, int *first) {
    size_t total = 0;
    for (int i = 0; i < n_gran; i++) {
        first[i] = (int)total;
        if (gran[i] > 1 && gran[i] <= L && L % gran[i] == 0) total += (size_t)(L / gran[i]);
    }
    first[n_gran] = (int)total;
    return total;
}

mtx_status mtx_bank_bind_like(const mtx_bank *b, float *base, mtx_enc_layer **enc, mtx_dec_layer **dec) {
    const mtx_model_config *c = &b->teacher.cfg;
    int ne = b->enc_first[b->n_gran], nd = b->dec_first[b->n_gran];
    *enc = calloc((size_t)(ne ? ne : 1), sizeof **enc);
    *dec = calloc((size_t)(nd ? nd : 1), sizeof **dec);
    if (!*enc || !*dec) {
        free(*enc);
        free(*dec);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for module views");
    }
    float *p = base;
    for (int i = 0; i < ne; i++, p += mtx_enc_layer_size(c)) mtx_enc_layer_bind(&(*enc)[i], c, p);
    for (int i = 0; i < nd; i++, p += mtx_dec_layer_size(c)) mtx_dec_layer_bind(&(*dec)[i], c, p);
    return MTX_OK;
}

static int gran_index(const mtx_bank *b, int g) {
    for (int i = 0; i < b->n_gran; i++)
        if (b->gran[i] == g) return i;
    return -1;
}

mtx_enc_layer *mtx_bank_enc_module(const mtx_bank *b, int g, int j) {
    int gi = gran_index(b, g);
    if (gi < 0 || j < 0 || b->enc_first[gi] + j >= b->enc_first[gi + 1]) return NULL;
    return &b->enc_mod[b->enc_first[gi] + j];
}

mtx_dec_layer *mtx_bank_dec_module(const mtx_bank *b, int g, int j) {
    int gi = gran_index(b, g);
    if (gi < 0 || j < 0 || b->dec_first[gi] + j >= b->dec_first[gi + 1]) return NULL;
    return &b->dec_mod[b->dec_first[gi] + j];
}

mtx_status mtx_bank_init(mtx_bank *b, const mtx_model *teacher, const int *gran, int n_gran, const int *init) {
    memset(b, 0, sizeof *b);
    if (n_gran < 1 || n_gran > MTX_MAX_GRAN) return mtx_set_error(MTX_ERR_ARG, "1 to %d granularities expected", MTX_MAX_GRAN);
    for (int i = 0; i < n_gran; i++) {
        if (gran[i] < 2 || gran[i] > MTX_MAX_LAYERS) return mtx_set_error(MTX_ERR_ARG, "granularity %d out of range [2, %d]", gran[i], MTX_MAX_LAYERS);
        for (int k = 0; k < i; k++)
            if (gran[k] == gran[i]) return mtx_set_error(MTX_ERR_ARG, "granularity %d given twice", gran[i]);
    }
    for (int i = 0; init && i < n_gran; i++)
        if (init[i] < 0 || init[i] > 2) return mtx_set_error(MTX_ERR_ARG, "module init must be first, middle or last");
    const mtx_model_config *c = &teacher->cfg;
    mtx_status st = mtx_model_init(&b->teacher, c);
    if (st) return st;
    memcpy(b->teacher.params, teacher->params, teacher->n_params * sizeof(float));
    b->n_gran = n_gran;
    memcpy(b->gran, gran, sizeof(int) * (size_t)n_gran);
    size_t ne = count_modules(c->num_layers, gran, n_gran, b->enc_first);
    size_t nd = count_modules(c->num_decoder_layers, gran, n_gran, b->dec_first);
    if (ne + nd == 0) {
        mtx_bank_free(b);
        return mtx_set_error(MTX_ERR_ARG, "no granularity divides the %d encoder or %d decoder layers",
                             c->num_layers, c->num_decoder_layers);
    }
    b->n_mod = ne * mtx_enc_layer_size(c) + nd * mtx_dec_layer_size(c);
    b->mod = calloc(b->n_mod, sizeof(float));
    if (!b->mod) {
        mtx_bank_free(b);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for %zu module parameters", b->n_mod);
    }
    st = mtx_bank_bind_like(b, b->mod, &b->enc_mod, &b->dec_mod);
    if (st) {
        mtx_bank_free(b);
        return st;
    }
    for (int gi = 0; gi < n_gran; gi++) {
        const int g = gran[gi], in = init ? init[gi] : 0;
        for (int j = 0; j < b->enc_first[gi + 1] - b->enc_first[gi]; j++) {
            int src = g * j + (in == 0 ? 0 : in == 1 ? (g - 1) / 2 : g - 1);
            memcpy(b->enc_mod[b->enc_first[gi] + j].ln1, b->teacher.w.enc[src].ln1, mtx_enc_layer_size(c) * sizeof(float));
        }
        for (int j = 0; j < b->dec_first[gi + 1] - b->dec_first[gi]; j++) {
            int src = g * j + (in == 0 ? 0 : in == 1 ? (g - 1) / 2 : g - 1);
            memcpy(b->dec_mod[b->dec_first[gi] + j].ln1, b->teacher.w.dec[src].ln1, mtx_dec_layer_size(c) * sizeof(float));
        }
    }
    return MTX_OK;
}

void mtx_bank_free(mtx_bank *b) {
    mtx_model_free(&b->teacher);
    free(b->mod);
    free(b->enc_mod);
    free(b->dec_mod);
    memset(b, 0, sizeof *b);
}

mtx_status mtx_bank_net(const mtx_bank *b, const mtx_assembly *a, mtx_net *n,
                        mtx_enc_layer *genc, mtx_dec_layer *gdec) {
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_status st = mtx_tiling_validate(&a->enc, c->num_layers, b->gran, b->n_gran);
    if (!st) st = mtx_tiling_validate(&a->dec, c->num_decoder_layers, b->gran, b->n_gran);
    if (st) return st;
    mtx_net_from_model(n, &b->teacher, NULL);
    n->n_enc = a->enc.n;
    n->n_dec = a->dec.n;
    for (int i = 0; i < a->enc.n; i++) {
        int g = a->enc.g[i], j = a->enc.j[i];
        n->enc[i] = g == 1 ? &b->teacher.w.enc[j] : mtx_bank_enc_module(b, g, j);
        n->genc[i] = g == 1 || !genc ? NULL : &genc[mtx_bank_enc_module(b, g, j) - b->enc_mod];
    }
    for (int i = 0; i < a->dec.n; i++) {
        int g = a->dec.g[i], j = a->dec.j[i];
        n->dec[i] = g == 1 ? &b->teacher.w.dec[j] : mtx_bank_dec_module(b, g, j);
        n->gdec[i] = g == 1 || !gdec ? NULL : &gdec[mtx_bank_dec_module(b, g, j) - b->dec_mod];
    }
    return MTX_OK;
}

/* ------------------------------------------------------------ tensors */

typedef struct {
    mtx_st_writer *wr;
    const mtx_st_file *f;
    const char *path;
} mod_io;

static mtx_status mod_write(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    mod_io *io = p;
    return mtx_st_add_f32(io->wr, name, ndim, shape, data, MTX_DT_F32);
}

static mtx_status mod_read(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    mod_io *io = p;
    (void)io->path; /* mtx_st_read_f32 names the file itself */
    return mtx_st_read_f32(io->f, name, ndim, shape, data);
}

static mtx_status for_modules(const mtx_bank *b, const char *prefix, float *base, mtx_tensor_fn fn, void *ctx) {
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_enc_layer *enc = NULL;
    mtx_dec_layer *dec = NULL;
    mtx_status st = mtx_bank_bind_like(b, base, &enc, &dec);
    for (int gi = 0; !st && gi < b->n_gran; gi++) {
        for (int j = 0; !st && j < b->enc_first[gi + 1] - b->enc_first[gi]; j++) {
            char pre[96];
            snprintf(pre, sizeof pre, "%smodules.encoder.g%d.%d.", prefix, b->gran[gi], j);
            st = mtx_enc_layer_foreach(&enc[b->enc_first[gi] + j], c, pre, fn, ctx);
        }
        for (int j = 0; !st && j < b->dec_first[gi + 1] - b->dec_first[gi]; j++) {
            char pre[96];
            snprintf(pre, sizeof pre, "%smodules.decoder.g%d.%d.", prefix, b->gran[gi], j);
            st = mtx_dec_layer_foreach(&dec[b->dec_first[gi] + j], c, pre, fn, ctx);
        }
    }
    free(enc);
    free(dec);
    return st;
}

mtx_status mtx_bank_add_modules(const mtx_bank *b, void *writer, const char *prefix, const float *base) {
    mod_io io = { writer, NULL, NULL };
    return for_modules(b, prefix, (float *)base, mod_write, &io);
}

mtx_status mtx_bank_read_modules(mtx_bank *b, const void *stfile, const char *path, const char *prefix, float *base) {
    mod_io io = { NULL, stfile, path };
    return for_modules(b, prefix, base, mod_read, &io);
}

/* ------------------------------------------------------------- costs */

double mtx_assembly_ratio(const mtx_bank *b, const mtx_assembly *a) {
    const mtx_model_config *c = &b->teacher.cfg;
    return (double)(c->num_layers + c->num_decoder_layers) / (double)(a->enc.n + a->dec.n);
}

size_t mtx_assembly_params(const mtx_bank *b, const mtx_assembly *a) {
    const mtx_model_config *c = &b->teacher.cfg;
    return mtx_param_count(c) - (size_t)(c->num_layers - a->enc.n) * mtx_enc_layer_size(c) -
           (size_t)(c->num_decoder_layers - a->dec.n) * mtx_dec_layer_size(c);
}

double mtx_assembly_latency(const mtx_bank *b, const mtx_assembly *a, double src_len, double tgt_len) {
    (void)b;
    (void)src_len;
    /* sequential layer evaluations per word: the encoder stack once, the
     * decoder stack once per output token (incl. </s>) */
    return (double)a->enc.n + (double)a->dec.n * tgt_len;
}

int mtx_bank_same_base(const mtx_bank *a, const mtx_bank *b) {
    return a->n_mod == b->n_mod && a->n_gran == b->n_gran &&
           !memcmp(a->gran, b->gran, sizeof(int) * (size_t)a->n_gran) &&
           a->teacher.n_params == b->teacher.n_params &&
           !memcmp(a->teacher.params, b->teacher.params, a->teacher.n_params * sizeof(float));
}

mtx_status mtx_assembly_parse(const mtx_bank *b, const char *s, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    const char *bar = strchr(s, '|');
    if (!bar || strchr(bar + 1, '|'))
        return mtx_set_error(MTX_ERR_ARG, "\"ENCODER | DECODER\" needs one '|', got '%s'", s);
    char enc[512];
    const size_t n = (size_t)(bar - s);
    if (n >= sizeof enc) return mtx_set_error(MTX_ERR_ARG, "encoder tiling longer than %zu bytes", sizeof enc - 1);
    memcpy(enc, s, n);
    enc[n] = 0;
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_status st = mtx_tiling_parse(enc, &a->enc);
    if (!st) st = mtx_tiling_validate(&a->enc, c->num_layers, b->gran, b->n_gran);
    if (st) return mtx_set_error(st, "encoder: %s", mtx_last_error());
    st = mtx_tiling_parse(bar + 1, &a->dec);
    if (!st) st = mtx_tiling_validate(&a->dec, c->num_decoder_layers, b->gran, b->n_gran);
    if (st) return mtx_set_error(st, "decoder: %s", mtx_last_error());
    return MTX_OK;
}
