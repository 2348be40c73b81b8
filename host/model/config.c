/* config.c - JSON (cJSON) reading and writing of model and training configs.
 * Table-driven: each key names its type and field offset, so reading, writing
 * and unknown-key detection share one list. */
#include "model/config.h"
#include "core/fsutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_FLOAT, K_U64, K_PATH } key_type;
typedef struct {
    const char *name;
    key_type type;
    size_t off;
} key_def;

#define MK(f, t) { #f, t, offsetof(mtx_model_config, f) }
static const key_def model_keys[] = {
    MK(d_model, K_INT), MK(num_heads, K_INT), MK(d_ff, K_INT), MK(num_layers, K_INT),
    MK(num_decoder_layers, K_INT), MK(src_vocab_size, K_INT), MK(tgt_vocab_size, K_INT),
    MK(max_source_positions, K_INT), MK(max_target_positions, K_INT),
    MK(layer_norm_epsilon, K_FLOAT), MK(dropout_rate, K_FLOAT),
};
#undef MK
#define TK(f, t) { #f, t, offsetof(mtx_train_config, f) }
static const key_def train_keys[] = {
    TK(seed, K_U64), TK(max_steps, K_INT), TK(warmup_steps, K_INT), TK(lr, K_FLOAT),
    TK(min_lr_ratio, K_FLOAT), TK(weight_decay, K_FLOAT), TK(beta1, K_FLOAT),
    TK(beta2, K_FLOAT), TK(adam_eps, K_FLOAT), TK(grad_clip, K_FLOAT),
    TK(label_smoothing, K_FLOAT), TK(batch_tokens, K_INT), TK(checkpoint_every, K_INT),
    TK(log_every, K_INT), TK(eval_every, K_INT), TK(threads, K_INT), TK(data, K_PATH),
    TK(train, K_PATH), TK(dev, K_PATH), TK(test, K_PATH),
};
#undef TK
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

mtx_model_config mtx_model_config_default(void) {
    mtx_model_config m = {
        .d_model = 128, .num_heads = 4, .d_ff = 512, .num_layers = 6,
        .num_decoder_layers = 6, .src_vocab_size = 0, .tgt_vocab_size = 0,
        .max_source_positions = 32, .max_target_positions = 32,
        .layer_norm_epsilon = 1e-6f, .dropout_rate = 0.1f,
    };
    return m;
}

mtx_train_config mtx_train_config_default(void) {
    mtx_train_config t;
    memset(&t, 0, sizeof t);
    t.seed = 1234;
    t.max_steps = 20000;
    t.warmup_steps = 1000;
    t.lr = 1e-3f;
    t.min_lr_ratio = 0.05f;
    t.weight_decay = 0.01f;
    t.beta1 = 0.9f;
    t.beta2 = 0.98f;
    t.adam_eps = 1e-8f;
    t.grad_clip = 1.0f;
    t.label_smoothing = 0.1f;
    t.batch_tokens = 4096;
    t.checkpoint_every = 500;
    t.log_every = 50;
    t.eval_every = 1000;
    t.threads = 2;
    snprintf(t.data, sizeof t.data, "%s", MTX_DEFAULT_DATA);
    return t;
}

mtx_status mtx_model_config_validate(const mtx_model_config *m, int allow_no_vocab) {
    if (m->d_model < 1 || m->d_model > 8192) return mtx_set_error(MTX_ERR_ARG, "config: d_model %d out of range [1, 8192]", m->d_model);
    if (m->num_heads < 1 || m->d_model % m->num_heads != 0)
        return mtx_set_error(MTX_ERR_ARG, "config: num_heads %d must be >= 1 and divide d_model %d", m->num_heads, m->d_model);
    if (m->d_ff < 1 || m->d_ff > 65536) return mtx_set_error(MTX_ERR_ARG, "config: d_ff %d out of range [1, 65536]", m->d_ff);
    if (m->num_layers < 1 || m->num_layers > 64) return mtx_set_error(MTX_ERR_ARG, "config: num_layers %d out of range [1, 64]", m->num_layers);
    if (m->num_decoder_layers < 1 || m->num_decoder_layers > 64)
        return mtx_set_error(MTX_ERR_ARG, "config: num_decoder_layers %d out of range [1, 64]", m->num_decoder_layers);
    int lo = allow_no_vocab ? 0 : 2;
    if (m->src_vocab_size < lo || m->src_vocab_size > 100000)
        return mtx_set_error(MTX_ERR_ARG, "config: src_vocab_size %d out of range", m->src_vocab_size);
    if (m->tgt_vocab_size < (allow_no_vocab ? 0 : 4) || m->tgt_vocab_size > 100000)
        return mtx_set_error(MTX_ERR_ARG, "config: tgt_vocab_size %d out of range", m->tgt_vocab_size);
    if (m->max_source_positions < 1 || m->max_source_positions > MTX_MAX_POSITIONS)
        return mtx_set_error(MTX_ERR_ARG, "config: max_source_positions %d out of range [1, %d]", m->max_source_positions, MTX_MAX_POSITIONS);
    if (m->max_target_positions < 2 || m->max_target_positions > MTX_MAX_POSITIONS)
        return mtx_set_error(MTX_ERR_ARG, "config: max_target_positions %d out of range [2, %d]", m->max_target_positions, MTX_MAX_POSITIONS);
    if (!(m->layer_norm_epsilon > 0.0f && m->layer_norm_epsilon < 1.0f))
        return mtx_set_error(MTX_ERR_ARG, "config: layer_norm_epsilon must be in (0, 1)");
    if (!(m->dropout_rate >= 0.0f && m->dropout_rate < 1.0f))
        return mtx_set_error(MTX_ERR_ARG, "config: dropout_rate must be in [0, 1)");
    return MTX_OK;
}

mtx_status mtx_train_config_validate(const mtx_train_config *t) {
    if (t->max_steps < 1) return mtx_set_error(MTX_ERR_ARG, "config: training.max_steps must be >= 1");
    if (t->warmup_steps < 0) return mtx_set_error(MTX_ERR_ARG, "config: training.warmup_steps must be >= 0");
    if (!(t->lr > 0.0f && t->lr < 1.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.lr must be in (0, 1)");
    if (!(t->min_lr_ratio >= 0.0f && t->min_lr_ratio <= 1.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.min_lr_ratio must be in [0, 1]");
    if (!(t->weight_decay >= 0.0f && t->weight_decay < 1.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.weight_decay must be in [0, 1)");
    if (!(t->beta1 >= 0.0f && t->beta1 < 1.0f) || !(t->beta2 >= 0.0f && t->beta2 < 1.0f))
        return mtx_set_error(MTX_ERR_ARG, "config: training.beta1/beta2 must be in [0, 1)");
    if (!(t->adam_eps > 0.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.adam_eps must be > 0");
    if (!(t->grad_clip >= 0.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.grad_clip must be >= 0");
    if (!(t->label_smoothing >= 0.0f && t->label_smoothing < 1.0f)) return mtx_set_error(MTX_ERR_ARG, "config: training.label_smoothing must be in [0, 1)");
    if (t->batch_tokens < 64 || t->batch_tokens > (1 << 20)) return mtx_set_error(MTX_ERR_ARG, "config: training.batch_tokens %d out of range [64, 1048576]", t->batch_tokens);
    if (t->checkpoint_every < 1 || t->log_every < 1 || t->eval_every < 0)
        return mtx_set_error(MTX_ERR_ARG, "config: checkpoint_every and log_every must be >= 1, eval_every >= 0");
    if (t->threads < 1 || t->threads > 256) return mtx_set_error(MTX_ERR_ARG, "config: training.threads %d out of range [1, 256]", t->threads);
    if (t->checkpoint_every % t->log_every != 0)
        return mtx_set_error(MTX_ERR_ARG, "config: training.checkpoint_every must be a multiple of log_every (so a resumed log matches)");
    int nsplit = (t->train[0] != 0) + (t->dev[0] != 0) + (t->test[0] != 0);
    if (nsplit != 0 && (t->train[0] == 0 || t->dev[0] == 0))
        return mtx_set_error(MTX_ERR_ARG, "config: explicit data needs at least training.train and training.dev");
    return MTX_OK;
}

/* The shortest %g form of f that reads back as f. */
static void fmt_float(char *buf, size_t cap, float f) {
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) return;
    }
}

int mtx_model_config_same_arch(const mtx_model_config *a, const mtx_model_config *b, char *why,
                               size_t cap) {
    for (size_t i = 0; i < NKEYS(model_keys); i++) {
        const key_def *k = &model_keys[i];
        if (strcmp(k->name, "dropout_rate") == 0) continue; /* training-time only */
        const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
        char va[32], vb[32];
        int same;
        if (k->type == K_INT) {
            same = *(const int *)fa == *(const int *)fb;
            snprintf(va, sizeof va, "%d", *(const int *)fa);
            snprintf(vb, sizeof vb, "%d", *(const int *)fb);
        } else { /* model keys are K_INT or K_FLOAT */
            same = *(const float *)fa == *(const float *)fb;
            fmt_float(va, sizeof va, *(const float *)fa);
            fmt_float(vb, sizeof vb, *(const float *)fb);
        }
        if (!same) {
            if (why && cap) snprintf(why, cap, "%s %s vs %s", k->name, va, vb);
            return 0;
        }
    }
    if (why && cap) why[0] = '\0';
    return 1;
}

static mtx_status read_keys(const char *path, const cJSON *obj, const key_def *keys, size_t nkeys,
                            void *dst, const char *prefix, const char *skip) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (skip && strcmp(it->string, skip) == 0) continue;
        const key_def *k = NULL;
        for (size_t i = 0; i < nkeys; i++)
            if (strcmp(keys[i].name, it->string) == 0) k = &keys[i];
        if (!k) continue; /* the caller decides whether unknown keys are errors */
        char *field = (char *)dst + k->off;
        if (k->type == K_PATH) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= MTX_PATH_MAX)
                return mtx_set_error(MTX_ERR_FORMAT, "%s: %s%s must be a path string", path, prefix, k->name);
            memcpy(field, it->valuestring, strlen(it->valuestring) + 1);
            continue;
        }
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: %s%s must be a number", path, prefix, k->name);
        double v = it->valuedouble;
        if (k->type == K_FLOAT) {
            *(float *)field = (float)v;
        } else {
            if (v != floor(v) || v < (k->type == K_U64 ? 0.0 : -2147483648.0) ||
                v > (k->type == K_U64 ? 9007199254740992.0 : 2147483647.0))
                return mtx_set_error(MTX_ERR_FORMAT, "%s: %s%s must be an integer in range", path, prefix, k->name);
            if (k->type == K_INT) *(int *)field = (int)v;
            else *(uint64_t *)field = (uint64_t)v;
        }
    }
    return MTX_OK;
}

static mtx_status check_unknown(const char *path, const cJSON *obj, const key_def *keys,
                                size_t nkeys, const char *const *allowed, const char *prefix) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        int known = 0;
        for (size_t i = 0; i < nkeys; i++) known |= strcmp(keys[i].name, it->string) == 0;
        for (const char *const *a = allowed; a && *a; a++) known |= strcmp(*a, it->string) == 0;
        if (!known) return mtx_set_error(MTX_ERR_FORMAT, "%s: unknown key '%s%s'", path, prefix, it->string);
    }
    return MTX_OK;
}

static mtx_status parse_json_file(const char *path, cJSON **out) {
    uint8_t *buf = NULL;
    size_t len = 0;
    mtx_status st = mtx_read_file(path, 1 << 20, &buf, &len);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mtx_set_error(MTX_ERR_FORMAT, "%s: not a JSON object", path);
    }
    *out = root;
    return MTX_OK;
}

mtx_status mtx_config_load_training(const char *path, mtx_model_config *m, mtx_train_config *t) {
    cJSON *root = NULL;
    mtx_status st = parse_json_file(path, &root);
    if (st) return st;
    *m = mtx_model_config_default();
    *t = mtx_train_config_default();
    static const char *const allowed[] = { "training", "model_type", "architectures", NULL };
    st = check_unknown(path, root, model_keys, NKEYS(model_keys), allowed, "");
    if (!st) st = read_keys(path, root, model_keys, NKEYS(model_keys), m, "", "training");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "training");
    if (!st && tr) {
        if (!cJSON_IsObject(tr)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: 'training' must be an object", path);
        if (!st) st = check_unknown(path, tr, train_keys, NKEYS(train_keys), NULL, "training.");
        if (!st) st = read_keys(path, tr, train_keys, NKEYS(train_keys), t, "training.", NULL);
    }
    cJSON_Delete(root);
    if (!st && (mtx_model_config_validate(m, 1) || mtx_train_config_validate(t))) {
        char why[256];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        st = mtx_set_error(MTX_ERR_ARG, "%s: %s", path, why);
    }
    return st;
}

mtx_status mtx_model_config_load(const char *path, mtx_model_config *m) {
    cJSON *root = NULL;
    mtx_status st = parse_json_file(path, &root);
    if (st) return st;
    *m = mtx_model_config_default();
    const cJSON *fv = cJSON_GetObjectItemCaseSensitive(root, "format_version");
    if (fv && !(cJSON_IsNumber(fv) && fv->valuedouble == MTX_CONFIG_FORMAT_VERSION)) {
        char *text = cJSON_PrintUnformatted(fv);
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: format_version %.40s is not supported (this modtx reads %d)", path,
                           text ? text : "?", MTX_CONFIG_FORMAT_VERSION);
        cJSON_free(text);
        cJSON_Delete(root);
        return st;
    }
    for (size_t i = 0; i < NKEYS(model_keys); i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, model_keys[i].name)) {
            cJSON_Delete(root);
            return mtx_set_error(MTX_ERR_FORMAT, "%s: missing key '%s'", path, model_keys[i].name);
        }
    st = read_keys(path, root, model_keys, NKEYS(model_keys), m, "", NULL);
    cJSON_Delete(root);
    if (!st && mtx_model_config_validate(m, 0)) {
        char why[256];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: %s", path, why);
    }
    return st;
}

static void add_keys(cJSON *obj, const key_def *keys, size_t nkeys, const void *src) {
    for (size_t i = 0; i < nkeys; i++) {
        const char *field = (const char *)src + keys[i].off;
        switch (keys[i].type) {
        case K_INT: cJSON_AddNumberToObject(obj, keys[i].name, *(const int *)field); break;
        case K_FLOAT: cJSON_AddNumberToObject(obj, keys[i].name, (double)*(const float *)field); break;
        case K_U64: cJSON_AddNumberToObject(obj, keys[i].name, (double)*(const uint64_t *)field); break;
        case K_PATH: cJSON_AddStringToObject(obj, keys[i].name, field); break;
        }
    }
}

mtx_status mtx_model_config_save(const char *path, const mtx_model_config *m,
                                 const char *extra_json) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return mtx_set_error(MTX_ERR_NOMEM, "out of memory writing %s", path);
    cJSON_AddStringToObject(root, "model_type", "modtx-t5");
    cJSON_AddNumberToObject(root, "format_version", MTX_CONFIG_FORMAT_VERSION);
    add_keys(root, model_keys, NKEYS(model_keys), m);
    if (extra_json) {
        cJSON *extra = cJSON_Parse(extra_json);
        if (!extra || !cJSON_IsObject(extra)) {
            cJSON_Delete(extra);
            cJSON_Delete(root);
            return mtx_set_error(MTX_ERR_ARG, "internal: extra config is not a JSON object");
        }
        while (extra->child) {
            cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
            cJSON_AddItemToObject(root, item->string, item);
        }
        cJSON_Delete(extra);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mtx_set_error(MTX_ERR_NOMEM, "out of memory writing %s", path);
    size_t n = strlen(text);
    text[n] = '\0';
    char *withnl = malloc(n + 2);
    mtx_status st = MTX_OK;
    if (!withnl) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory writing %s", path);
    else {
        memcpy(withnl, text, n);
        withnl[n] = '\n';
        st = mtx_write_file_atomic(path, withnl, n + 1);
    }
    free(withnl);
    cJSON_free(text);
    return st;
}

char *mtx_train_config_to_json(const mtx_train_config *t) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_keys(o, train_keys, NKEYS(train_keys), t);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

mtx_status mtx_train_config_from_object(const char *path, const void *obj, mtx_train_config *t) {
    const cJSON *o = obj;
    if (!cJSON_IsObject(o)) return mtx_set_error(MTX_ERR_FORMAT, "%s: 'training' must be an object", path);
    mtx_status st = check_unknown(path, o, train_keys, NKEYS(train_keys), NULL, "training.");
    if (!st) st = read_keys(path, o, train_keys, NKEYS(train_keys), t, "training.", NULL);
    return st;
}
