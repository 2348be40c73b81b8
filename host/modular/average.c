/* average.c - weight averaging of model directories. */
#include "modular/average.h"

#include "io/checkpoint.h"
#include "modular/modular.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static int vocab_equal(const mtx_vocab *a, const mtx_vocab *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i])) return 0;
    return 1;
}

/* A module bank carries "modtx"."kind" = "bank" in config.json (its
 * weights may be only modules: the kind is read before any weights). */
static int is_bank(const char *dir) {
    char *k = mtx_recorded_provenance(dir, "kind");
    int bank = k && !strcmp(k, "bank");
    free(k);
    return bank;
}

/* dirs[0]'s "modtx" object with kind, inputs and command replaced; the
 * figures of one run (step, dev scores) do not describe the average. */
static char *average_provenance(const mtx_bundle *first, const char *const *dirs, int n,
                                const char *command_line) {
    cJSON *root = cJSON_Parse(first->config_json);
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "modtx");
    cJSON *out = cJSON_CreateObject();
    cJSON *q = p ? cJSON_Duplicate(p, 1) : cJSON_CreateObject();
    char *s = NULL;
    if (out && q) {
        static const char *const drop[] = { "kind", "command", "step", "dev_nll", "dev_token_acc", "init_model",
                                            "averaged_from", "dev_nll_smallest", "init_bank" };
        for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(q, drop[i]);
        cJSON_AddStringToObject(q, "kind", "average");
        cJSON_AddStringToObject(q, "command", command_line ? command_line : "");
        cJSON *arr = cJSON_AddArrayToObject(q, "averaged_from");
        for (int i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(dirs[i]));
        cJSON_AddItemToObject(out, "modtx", q);
        q = NULL;
        s = cJSON_PrintUnformatted(out);
    }
    cJSON_Delete(q);
    cJSON_Delete(out);
    cJSON_Delete(root);
    return s;
}

/* Banks: the module parameters are averaged; the teacher, which every
 * input must hold bit for bit, and the granularities stay. */
static mtx_status average_banks(const char *const *dirs, int n, const char *out, const char *command_line) {
    mtx_bank_dir first, other;
    memset(&other, 0, sizeof other);
    mtx_status st = mtx_bank_load(dirs[0], &first);
    if (st) return st;
    const mtx_bank *b = &first.bank;
    double *acc = malloc(b->n_mod * sizeof *acc);
    if (!acc) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory averaging %zu parameters", b->n_mod);
    for (size_t k = 0; !st && k < b->n_mod; k++) acc[k] = b->mod[k];
    for (int i = 1; !st && i < n; i++) {
        st = mtx_bank_load(dirs[i], &other);
        if (st) break;
        const mtx_bank *o = &other.bank;
        if (!mtx_bank_same_base(o, b))
            st = mtx_set_error(MTX_ERR_ARG, "%s and %s are banks of different teachers or granularities", dirs[0], dirs[i]);
        else if (!vocab_equal(&first.teacher.src_vocab, &other.teacher.src_vocab) ||
                 !vocab_equal(&first.teacher.tgt_vocab, &other.teacher.tgt_vocab))
            st = mtx_set_error(MTX_ERR_ARG, "%s and %s have different vocabularies", dirs[0], dirs[i]);
        for (size_t k = 0; !st && k < b->n_mod; k++) acc[k] += o->mod[k];
        mtx_bank_dir_free(&other);
    }
    if (!st) {
        for (size_t k = 0; k < b->n_mod; k++) b->mod[k] = (float)(acc[k] / n);
        char *prov = average_provenance(&first.teacher, dirs, n, command_line);
        if (!prov) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory writing %s", out);
        if (!st) st = mtx_bank_save(out, b, first.teacher_dir, &first.teacher.src_vocab, &first.teacher.tgt_vocab, prov, 0);
        cJSON_free(prov);
    }
    free(acc);
    mtx_bank_dir_free(&first);
    return st;
}

mtx_status mtx_average_models(const char *const *dirs, int n, const char *out, const char *command_line) {
    if (n < 2 || n > MTX_AVERAGE_MAX)
        return mtx_set_error(MTX_ERR_ARG, "averaging needs 2 to %d model directories, got %d", MTX_AVERAGE_MAX, n);
    for (int i = 0; i < n; i++)
        if (!strcmp(dirs[i], out))
            return mtx_set_error(MTX_ERR_ARG, "the output directory %s is also an input", out);
    mtx_bundle first, other;
    memset(&first, 0, sizeof first);
    memset(&other, 0, sizeof other);
    if (is_bank(dirs[0])) return average_banks(dirs, n, out, command_line);
    mtx_status st = mtx_bundle_load(dirs[0], &first);
    double *acc = NULL;
    if (!st) {
        acc = malloc(first.model.n_params * sizeof *acc);
        if (!acc) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory averaging %zu parameters", first.model.n_params);
    }
    const size_t np = st ? 0 : first.model.n_params;
    for (size_t k = 0; k < np; k++) acc[k] = first.model.params[k];
    for (int i = 1; !st && i < n; i++) {
        st = is_bank(dirs[i]) ? mtx_set_error(MTX_ERR_ARG, "%s is a module bank and %s is not", dirs[i], dirs[0])
                              : mtx_bundle_load(dirs[i], &other);
        char why[256];
        if (!st && !mtx_model_config_same_arch(&first.model.cfg, &other.model.cfg, why, sizeof why))
            st = mtx_set_error(MTX_ERR_ARG, "%s and %s differ in architecture: %s", dirs[0], dirs[i], why);
        if (!st && (!vocab_equal(&first.src_vocab, &other.src_vocab) || !vocab_equal(&first.tgt_vocab, &other.tgt_vocab)))
            st = mtx_set_error(MTX_ERR_ARG, "%s and %s have different vocabularies", dirs[0], dirs[i]);
        for (size_t k = 0; !st && k < np; k++) acc[k] += other.model.params[k];
        mtx_bundle_free(&other);
        memset(&other, 0, sizeof other);
    }
    if (!st) {
        for (size_t k = 0; k < np; k++) first.model.params[k] = (float)(acc[k] / n);
        char *prov = average_provenance(&first, dirs, n, command_line);
        if (!prov) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory writing %s", out);
        if (!st) st = mtx_bundle_save(out, &first.model, &first.src_vocab, &first.tgt_vocab, prov, MTX_DT_F32, NULL);
        cJSON_free(prov);
    }
    free(acc);
    mtx_bundle_free(&first);
    return st;
}
