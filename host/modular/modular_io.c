/* modular_io.c - modularize checkpoints (see modular.h); bank directories
 * are in bank_io.c, the run in modular_run.c. */
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
    /* the bank names the teacher the run was given (bank_provenance) */
    cJSON *pj = provenance_json ? cJSON_Parse(provenance_json) : NULL;
    const cJSON *tj = pj ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pj, "modtx"), "teacher") : NULL;
    const char *teacher_dir = cJSON_IsString(tj) ? tj->valuestring : NULL;
    if (!st) st = mtx_bank_save(dir, b, teacher_dir, sv, tv, provenance_json, step);
    cJSON_Delete(pj);
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
