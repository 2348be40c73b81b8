/* checkpoint.c - saving and loading model directories (see checkpoint.h). */
#include "io/checkpoint.h"
#include "core/fsutil.h"

#include <math.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mtx_st_writer *wr;
    const char *prefix;
    mtx_dtype store_as;
} add_ctx;

static mtx_status add_one(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    add_ctx *c = p;
    char full[160];
    if ((size_t)snprintf(full, sizeof full, "%s%s", c->prefix, name) >= sizeof full)
        return mtx_set_error(MTX_ERR_ARG, "tensor name too long: %s%s", c->prefix, name);
    return mtx_st_add_f32(c->wr, full, ndim, shape, data, c->store_as);
}

mtx_status mtx_weights_add_to_writer(mtx_st_writer *wr, const mtx_weights *w,
                                     const mtx_model_config *cfg, const char *prefix,
                                     mtx_dtype store_as) {
    add_ctx c = { wr, prefix ? prefix : "", store_as };
    return mtx_weights_foreach(w, cfg, add_one, &c);
}

mtx_status mtx_bundle_save(const char *dir, const mtx_model *m, const mtx_vocab *sv,
                           const mtx_vocab *tv, const char *extra_json, mtx_dtype store_as,
                           const char *const *meta) {
    char path[MTX_PATH_MAX];
    mtx_status st = mtx_mkdir_p(dir);
    if (st) return st;
    if (sv->n != m->cfg.src_vocab_size || tv->n != m->cfg.tgt_vocab_size)
        return mtx_set_error(MTX_ERR_STATE, "internal: vocabulary sizes do not match the model");
    mtx_st_writer *wr = NULL;
    st = mtx_st_writer_new(&wr);
    if (!st) st = mtx_weights_add_to_writer(wr, &m->w, &m->cfg, "", store_as);
    if (!st) st = mtx_st_add_meta(wr, "format", "modtx");
    for (const char *const *kv = meta; !st && kv && kv[0] && kv[1]; kv += 2)
        st = mtx_st_add_meta(wr, kv[0], kv[1]);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    if (!st) st = mtx_bundle_save_text(dir, &m->cfg, sv, tv, extra_json);
    return st;
}

mtx_status mtx_bundle_save_text(const char *dir, const mtx_model_config *cfg, const mtx_vocab *sv,
                                const mtx_vocab *tv, const char *extra_json) {
    char path[MTX_PATH_MAX];
    mtx_status st = mtx_path_join(path, sizeof path, dir, "source_vocab.txt");
    if (!st) st = mtx_vocab_save(sv, path);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "target_vocab.txt");
    if (!st) st = mtx_vocab_save(tv, path);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "config.json");
    if (!st) st = mtx_model_config_save(path, cfg, extra_json);
    return st;
}

typedef struct {
    const mtx_st_file *f;
    const char *path;
} read_ctx;

static mtx_status read_one(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    read_ctx *c = p;
    /* the reader's message names the file already (and re-wrapping
     * mtx_last_error() in mtx_set_error() would overlap source and target) */
    return mtx_st_read_f32(c->f, name, ndim, shape, data);
}

static mtx_status count_one(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    (void)name; (void)ndim; (void)shape; (void)data;
    (*(size_t *)p)++;
    return MTX_OK;
}

mtx_status mtx_model_read_tensors(mtx_model *m, const mtx_st_file *f, const char *path) {
    read_ctx c = { f, path };
    mtx_status st = mtx_weights_foreach(&m->w, &m->cfg, read_one, &c);
    if (st) return st;
    /* every tensor in the file must be one we know (or a module of a bank) */
    size_t expected = 0, extra = 0;
    mtx_weights_foreach(&m->w, &m->cfg, count_one, &expected);
    for (size_t i = 0; i < mtx_st_count(f); i++) {
        const mtx_st_tensor *t = mtx_st_at(f, i);
        if (strncmp(t->name, "modules.", 8) == 0) extra++;
    }
    if (mtx_st_count(f) != expected + extra)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: %zu tensors, expected %zu (unknown tensor names present)",
                             path, mtx_st_count(f) - extra, expected);
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(m->params[i]))
            return mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite parameter value", path);
    return MTX_OK;
}

/* A module bank that names its teacher ("modtx"."teacher_model") holds
 * modules only: it is no model by itself (modular/ loads it). */
static mtx_status not_module_only(const char *dir, const char *config_json) {
    cJSON *root = cJSON_Parse(config_json);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *t = p ? cJSON_GetObjectItemCaseSensitive(p, "teacher_model") : NULL;
    const cJSON *tp = t ? cJSON_GetObjectItemCaseSensitive(t, "path") : NULL;
    mtx_status st = MTX_OK;
    if (t)
        st = mtx_set_error(MTX_ERR_ARG, "%s is a module bank (modules only; its teacher is %s/%s): use the teacher, or modtx assemble for a model of the bank",
                           dir, dir, cJSON_IsString(tp) ? tp->valuestring : "?");
    cJSON_Delete(root);
    return st;
}

mtx_status mtx_bundle_load(const char *dir, mtx_bundle *b) {
    char path[MTX_PATH_MAX];
    memset(b, 0, sizeof *b);
    mtx_model_config cfg;
    mtx_status st = mtx_path_join(path, sizeof path, dir, "config.json");
    if (!st && !mtx_file_exists(path))
        st = mtx_set_error(MTX_ERR_IO, "%s: not a model directory (no config.json)", dir);
    if (!st) st = mtx_model_config_load(path, &cfg);
    if (!st) {
        uint8_t *text = NULL;
        size_t len = 0;
        st = mtx_read_file(path, 1 << 20, &text, &len);
        b->config_json = (char *)text;
    }
    if (!st) st = not_module_only(dir, b->config_json);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "source_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &b->src_vocab);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "target_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &b->tgt_vocab);
    if (!st && (b->tgt_vocab.n < 3 || strcmp(b->tgt_vocab.tok[MTX_BOS], "<s>") || strcmp(b->tgt_vocab.tok[MTX_EOS], "</s>")))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: target vocabulary must start with <pad>, <s>, </s>", path);
    if (!st && (b->src_vocab.n != cfg.src_vocab_size || b->tgt_vocab.n != cfg.tgt_vocab_size))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: vocabulary sizes (%d, %d) do not match config.json (%d, %d)",
                           dir, b->src_vocab.n, b->tgt_vocab.n, cfg.src_vocab_size, cfg.tgt_vocab_size);
    if (!st) st = mtx_model_init(&b->model, &cfg);
    mtx_st_file *f = NULL;
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_model_read_tensors(&b->model, f, path);
    mtx_st_close(f);
    if (st) mtx_bundle_free(b);
    return st;
}

void mtx_bundle_free(mtx_bundle *b) {
    mtx_model_free(&b->model);
    mtx_vocab_free(&b->src_vocab);
    mtx_vocab_free(&b->tgt_vocab);
    free(b->config_json);
    memset(b, 0, sizeof *b);
}

/* Data paths of the run that trained a model, from config.json provenance. */
mtx_status mtx_bundle_train_config(const mtx_bundle *b, const char *dir, mtx_train_config *t) {
    *t = mtx_train_config_default();
    cJSON *root = cJSON_Parse(b->config_json);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *tr = p ? cJSON_GetObjectItemCaseSensitive(p, "training") : NULL;
    static const char *keys[] = { "data", "train", "dev", "test" };
    char *dst[] = { t->data, t->train, t->dev, t->test };
    for (int i = 0; tr && i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tr, keys[i]);
        if (cJSON_IsString(v) && strlen(v->valuestring) < MTX_PATH_MAX) strcpy(dst[i], v->valuestring);
    }
    cJSON_Delete(root);
    if (!tr) return mtx_set_error(MTX_ERR_FORMAT, "%s/config.json: no training provenance; pass --data FILE", dir);
    return MTX_OK;
}


char *mtx_recorded_provenance(const char *dir, const char *key) {
    char path[MTX_PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    if (mtx_path_join(path, sizeof path, dir, "config.json") || !mtx_file_exists(path) ||
        mtx_read_file(path, 1 << 20, &text, &len)) {
        mtx_clear_error();
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *v = p ? cJSON_GetObjectItemCaseSensitive(p, key) : NULL;
    char *out = NULL;
    if (cJSON_IsString(v)) {
        out = malloc(strlen(v->valuestring) + 1);
        if (out) strcpy(out, v->valuestring);
    }
    cJSON_Delete(root);
    return out;
}
