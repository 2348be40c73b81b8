/* modular_io.c - bank directories and modularize checkpoints (see
 * modular.h). */
#include "core/fsutil.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/modular_state.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static char *bank_extra_json(const mtx_bank *b, const char *extra_json) {
    cJSON *root = extra_json ? cJSON_Parse(extra_json) : cJSON_CreateObject();
    if (!root) return NULL;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "modtx");
    if (!p) p = cJSON_AddObjectToObject(root, "modtx");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "kind");
    cJSON_AddStringToObject(p, "kind", "bank");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "granularities");
    cJSON *g = cJSON_AddArrayToObject(p, "granularities");
    for (int i = 0; i < b->n_gran; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(b->gran[i]));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

mtx_status mtx_bank_save(const char *dir, const mtx_bank *b, const mtx_vocab *sv, const mtx_vocab *tv,
                         const char *extra_json, int64_t step) {
    char path[MTX_PATH_MAX], num[32];
    mtx_status st = mtx_mkdir_p(dir);
    if (st) return st;
    snprintf(num, sizeof num, "%lld", (long long)step);
    mtx_st_writer *wr = NULL;
    st = mtx_st_writer_new(&wr);
    if (!st) st = mtx_weights_add_to_writer(wr, &b->teacher.w, &b->teacher.cfg, "", MTX_DT_F32);
    if (!st) st = mtx_bank_add_modules(b, wr, "", b->mod);
    if (!st) st = mtx_st_add_meta(wr, "format", "modtx");
    if (!st) st = mtx_st_add_meta(wr, "step", num);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    char *extra = st ? NULL : bank_extra_json(b, extra_json);
    if (!st && !extra) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) st = mtx_bundle_save_text(dir, &b->teacher.cfg, sv, tv, extra);
    cJSON_free(extra);
    return st;
}

mtx_status mtx_bank_load(const char *dir, mtx_bank_dir *out) {
    memset(out, 0, sizeof *out);
    mtx_status st = mtx_bundle_load(dir, &out->teacher);
    if (st) return st;
    cJSON *root = cJSON_Parse(out->teacher.config_json);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *kind = p ? cJSON_GetObjectItemCaseSensitive(p, "kind") : NULL;
    const cJSON *g = p ? cJSON_GetObjectItemCaseSensitive(p, "granularities") : NULL;
    int gran[MTX_MAX_GRAN], ng = cJSON_IsArray(g) ? cJSON_GetArraySize(g) : 0;
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "bank") || ng < 1 || ng > MTX_MAX_GRAN)
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: not a module bank (config.json has no \"modtx\": {\"kind\": \"bank\", \"granularities\": [...]})", dir);
    for (int i = 0; !st && i < ng; i++) {
        const cJSON *x = cJSON_GetArrayItem(g, i);
        if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int)x->valuedouble || x->valuedouble < 2 ||
            x->valuedouble > MTX_MAX_LAYERS)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: bad granularity in config.json", dir);
        else gran[i] = (int)x->valuedouble;
    }
    cJSON_Delete(root);
    if (!st) st = mtx_bank_init(&out->bank, &out->teacher.model, gran, ng, NULL);
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_bank_read_modules(&out->bank, f, path, "", out->bank.mod);
    mtx_st_close(f);
    for (size_t i = 0; !st && i < out->bank.n_mod; i++)
        if (!(out->bank.mod[i] == out->bank.mod[i]) || out->bank.mod[i] > 3.4e38f || out->bank.mod[i] < -3.4e38f)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite module parameter", path);
    if (st) mtx_bank_dir_free(out);
    return st;
}

void mtx_bank_dir_free(mtx_bank_dir *b) {
    mtx_bank_free(&b->bank);
    mtx_bundle_free(&b->teacher);
}

mtx_status mtx_modular_checkpoint(mtx_modular *m, const char *dir, const mtx_vocab *sv,
                                  const mtx_vocab *tv, const char *provenance_json) {
    float *am, *av;
    int64_t step, epoch;
    int batch;
    mtx_modular_state_views(m, &am, &av, &step, &epoch, &batch);
    const mtx_bank *b = mtx_modular_bank(m);
    char path[MTX_PATH_MAX], s1[32], s2[32], s3[32];
    mtx_status st = mtx_mkdir_p(dir);
    snprintf(s1, sizeof s1, "%lld", (long long)step);
    snprintf(s2, sizeof s2, "%lld", (long long)epoch);
    snprintf(s3, sizeof s3, "%d", batch);
    mtx_st_writer *wr = NULL;
    if (!st) st = mtx_st_writer_new(&wr);
    /* self-contained state: resume reads the modules from here, not from the
     * exported bank written after it */
    if (!st) st = mtx_bank_add_modules(b, wr, "model.", b->mod);
    if (!st) st = mtx_bank_add_modules(b, wr, "adam.m.", am);
    if (!st) st = mtx_bank_add_modules(b, wr, "adam.v.", av);
    if (!st) st = mtx_st_add_meta(wr, "step", s1);
    if (!st) st = mtx_st_add_meta(wr, "epoch", s2);
    if (!st) st = mtx_st_add_meta(wr, "batch", s3);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "bank_state.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    if (!st) st = mtx_bank_save(dir, b, sv, tv, provenance_json, step);
    return st;
}


mtx_status mtx_modular_restore(mtx_modular *m, const char *dir) {
    /* the bank directory must hold the same teacher and granularities */
    mtx_bank_dir bd;
    mtx_status st = mtx_bank_load(dir, &bd);
    if (st) return st;
    mtx_bank *b = mtx_modular_bank_mut(m);
    if (!mtx_bank_same_base(&bd.bank, b))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: bank does not match this teacher and configuration", dir);
    mtx_bank_dir_free(&bd);
    if (st) return st;
    float *am, *av;
    int64_t step = 0, epoch = 0, batch = 0, s0, e0;
    int b0;
    mtx_modular_state_views(m, &am, &av, &s0, &e0, &b0);
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    st = mtx_path_join(path, sizeof path, dir, "bank_state.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_st_meta_int(f, path, "step", &step);
    if (!st) st = mtx_st_meta_int(f, path, "epoch", &epoch);
    if (!st) st = mtx_st_meta_int(f, path, "batch", &batch);
    if (!st) st = mtx_bank_read_modules(b, f, path, "model.", b->mod);
    if (!st) st = mtx_bank_read_modules(b, f, path, "adam.m.", am);
    if (!st) st = mtx_bank_read_modules(b, f, path, "adam.v.", av);
    mtx_st_close(f);
    for (size_t i = 0; !st && i < b->n_mod; i++)
        if (!isfinite(b->mod[i])) st = mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite module parameter", path);
    if (!st && batch > 2147483647) st = mtx_set_error(MTX_ERR_FORMAT, "%s: bad batch index", path);
    if (!st) st = mtx_modular_set_position(m, step, epoch, (int)batch);
    return st;
}
