/* bank_io.c - bank directories: saving and loading a module bank (see
 * modular.h). A bank directory holds the module tensors and names its
 * teacher by a path relative to itself and the SHA-256 of the teacher's
 * model.safetensors; banks written before that carry the teacher's tensors
 * themselves and still load. */
#include "core/fsutil.h"
#include "core/sha256.h"
#include "modular/modular.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* config.json's "modtx" of a bank: dj's members, kind, granularities and
 * (with a teacher directory) the teacher reference. */
static char *bank_extra_json(const mtx_bank *b, const char *extra_json, const char *teacher_rel,
                             const char *teacher_sha) {
    cJSON *root = extra_json ? cJSON_Parse(extra_json) : cJSON_CreateObject();
    if (!root) return NULL;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "modtx");
    if (!p) p = cJSON_AddObjectToObject(root, "modtx");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "kind");
    cJSON_AddStringToObject(p, "kind", "bank");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "granularities");
    cJSON *g = cJSON_AddArrayToObject(p, "granularities");
    for (int i = 0; i < b->n_gran; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(b->gran[i]));
    cJSON_DeleteItemFromObjectCaseSensitive(p, "teacher_model");
    if (teacher_rel) {
        cJSON *t = cJSON_AddObjectToObject(p, "teacher_model");
        cJSON_AddStringToObject(t, "path", teacher_rel);
        cJSON_AddStringToObject(t, "sha256", teacher_sha);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* The path of `to` as seen from directory `from` (both canonical absolute
 * paths): ".." for each component of `from` below the common prefix, then
 * the rest of `to`; "." when they are the same. */
static mtx_status relative_path(const char *from, const char *to, char *out, size_t cap) {
    size_t common = 0, i = 0;
    for (;; i++) {
        int fe = from[i] == 0 || from[i] == '/', te = to[i] == 0 || to[i] == '/';
        if (fe && te) common = i;
        if (from[i] != to[i] || !from[i]) break;
    }
    if (!from[i] && !to[i]) common = i;
    size_t n = 0;
    out[0] = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/' && p[1]) n += (size_t)snprintf(out + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s..", n ? "/" : "");
    const char *rest = to + common + (to[common] == '/');
    if (*rest) n += (size_t)snprintf(out + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s%s", n ? "/" : "", rest);
    if (!n) n = (size_t)snprintf(out, cap, ".");
    if (n >= cap) return mtx_set_error(MTX_ERR_ARG, "path of %s from %s too long", to, from);
    return MTX_OK;
}

/* The teacher reference of a bank in dir: teacher_dir must hold b's teacher
 * bit for bit (so the bank loads back as it is). */
static mtx_status teacher_reference(const char *dir, const mtx_bank *b, const char *teacher_dir, char *rel,
                                    size_t cap, char sha[MTX_SHA256_HEX]) {
    char *tabs = NULL, *dabs = NULL, path[MTX_PATH_MAX];
    mtx_bundle t;
    memset(&t, 0, sizeof t);
    mtx_status st = mtx_bundle_load(teacher_dir, &t);
    if (!st && (t.model.n_params != b->teacher.n_params ||
                memcmp(t.model.params, b->teacher.params, b->teacher.n_params * sizeof(float))))
        st = mtx_set_error(MTX_ERR_ARG, "%s: not the bank's teacher (its weights differ from the ones the bank for %s was built on)",
                           teacher_dir, dir);
    mtx_bundle_free(&t);
    if (!st) st = mtx_path_absolute(teacher_dir, &tabs);
    if (!st) st = mtx_path_absolute(dir, &dabs);
    if (!st) st = relative_path(dabs, tabs, rel, cap);
    if (!st) st = mtx_path_join(path, sizeof path, tabs, "model.safetensors");
    if (!st) st = mtx_sha256_file(path, sha);
    free(tabs);
    free(dabs);
    return st;
}

mtx_status mtx_bank_save(const char *dir, const mtx_bank *b, const char *teacher_dir, const mtx_vocab *sv,
                         const mtx_vocab *tv, const char *extra_json, int64_t step) {
    char path[MTX_PATH_MAX], num[32], rel[MTX_PATH_MAX], sha[MTX_SHA256_HEX];
    mtx_status st = mtx_mkdir_p(dir);
    if (!st && teacher_dir) st = teacher_reference(dir, b, teacher_dir, rel, sizeof rel, sha);
    if (st) return st;
    snprintf(num, sizeof num, "%lld", (long long)step);
    mtx_st_writer *wr = NULL;
    st = mtx_st_writer_new(&wr);
    if (!st && !teacher_dir) st = mtx_weights_add_to_writer(wr, &b->teacher.w, &b->teacher.cfg, "", MTX_DT_F32);
    if (!st) st = mtx_bank_add_modules(b, wr, "", b->mod);
    if (!st) st = mtx_st_add_meta(wr, "format", "modtx");
    if (!st) st = mtx_st_add_meta(wr, "step", num);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    char *extra = st ? NULL : bank_extra_json(b, extra_json, teacher_dir ? rel : NULL, sha);
    if (!st && !extra) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) st = mtx_bundle_save_text(dir, &b->teacher.cfg, sv, tv, extra);
    cJSON_free(extra);
    return st;
}

static int vocab_equal(const mtx_vocab *a, const mtx_vocab *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i])) return 0;
    return 1;
}

/* The teacher a bank names: path resolved from the bank directory, the
 * sha256 of its model.safetensors checked, then loaded into out->teacher
 * with the bank's config.json text; the bank's architecture and
 * vocabularies must be the teacher's. */
static mtx_status load_named_teacher(const char *dir, const cJSON *ref, mtx_bank_dir *out) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(ref, "path");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(ref, "sha256");
    if (!cJSON_IsString(p) || !p->valuestring[0] || !cJSON_IsString(h) || strlen(h->valuestring) != 64)
        return mtx_set_error(MTX_ERR_FORMAT, "%s/config.json: \"teacher_model\" needs \"path\" and a 64-digit \"sha256\"", dir);
    char tdir[MTX_PATH_MAX], path[MTX_PATH_MAX], sha[MTX_SHA256_HEX];
    mtx_status st = p->valuestring[0] == '/' ? mtx_path_join(tdir, sizeof tdir, "", p->valuestring)
                                             : mtx_path_join(tdir, sizeof tdir, dir, p->valuestring);
    if (!st) st = mtx_path_join(path, sizeof path, tdir, "model.safetensors");
    if (st) return st;
    if (!mtx_file_exists(path))
        return mtx_set_error(MTX_ERR_IO, "bank %s: its teacher %s is missing (config.json names \"%s\", relative to the bank)",
                             dir, path, p->valuestring);
    st = mtx_sha256_file(path, sha);
    if (!st && strcmp(sha, h->valuestring))
        return mtx_set_error(MTX_ERR_FORMAT, "bank %s: teacher %s has sha256 %s, the bank was made with %s (another teacher, or a changed file)",
                             dir, path, sha, h->valuestring);
    if (!st) st = mtx_bundle_load(tdir, &out->teacher);
    if (!st) st = mtx_path_absolute(tdir, &out->teacher_dir);
    mtx_model_config cfg;
    mtx_vocab sv, tv;
    memset(&sv, 0, sizeof sv);
    memset(&tv, 0, sizeof tv);
    char why[256];
    if (!st) st = mtx_path_join(path, sizeof path, dir, "config.json");
    if (!st) st = mtx_model_config_load(path, &cfg);
    if (!st && !mtx_model_config_same_arch(&cfg, &out->teacher.model.cfg, why, sizeof why))
        st = mtx_set_error(MTX_ERR_FORMAT, "bank %s and its teacher %s differ in architecture: %s", dir, tdir, why);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "source_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &sv);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "target_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &tv);
    if (!st && (!vocab_equal(&sv, &out->teacher.src_vocab) || !vocab_equal(&tv, &out->teacher.tgt_vocab)))
        st = mtx_set_error(MTX_ERR_FORMAT, "bank %s and its teacher %s have different vocabularies", dir, tdir);
    mtx_vocab_free(&sv);
    mtx_vocab_free(&tv);
    return st;
}

/* config.json of a bank: granularities and, for a bank that names its
 * teacher, the teacher loaded; an older bank's own tensors are its teacher. */
static mtx_status load_config(const char *dir, mtx_bank_dir *out, int *gran, int *ng) {
    char path[MTX_PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    mtx_status st = mtx_path_join(path, sizeof path, dir, "config.json");
    if (!st && !mtx_file_exists(path)) st = mtx_set_error(MTX_ERR_IO, "%s: not a model directory (no config.json)", dir);
    if (!st) st = mtx_read_file(path, 1 << 20, &text, &len);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *kind = p ? cJSON_GetObjectItemCaseSensitive(p, "kind") : NULL;
    const cJSON *g = p ? cJSON_GetObjectItemCaseSensitive(p, "granularities") : NULL;
    const cJSON *ref = p ? cJSON_GetObjectItemCaseSensitive(p, "teacher_model") : NULL;
    *ng = cJSON_IsArray(g) ? cJSON_GetArraySize(g) : 0;
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "bank") || *ng < 1 || *ng > MTX_MAX_GRAN)
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: not a module bank (config.json has no \"modtx\": {\"kind\": \"bank\", \"granularities\": [...]})", dir);
    for (int i = 0; !st && i < *ng; i++) {
        const cJSON *x = cJSON_GetArrayItem(g, i);
        if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int)x->valuedouble || x->valuedouble < 2 ||
            x->valuedouble > MTX_MAX_LAYERS)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: bad granularity in config.json", dir);
        else gran[i] = (int)x->valuedouble;
    }
    if (!st && ref) st = load_named_teacher(dir, ref, out);
    else if (!st) st = mtx_bundle_load(dir, &out->teacher);
    cJSON_Delete(root);
    if (!st && ref) {
        free(out->teacher.config_json);
        out->teacher.config_json = (char *)text;
        text = NULL;
    }
    free(text);
    return st;
}

mtx_status mtx_bank_load(const char *dir, mtx_bank_dir *out) {
    memset(out, 0, sizeof *out);
    int gran[MTX_MAX_GRAN], ng = 0;
    mtx_status st = load_config(dir, out, gran, &ng);
    if (!st) st = mtx_bank_init(&out->bank, &out->teacher.model, gran, ng, NULL);
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_bank_read_modules(&out->bank, f, path, "", out->bank.mod);
    /* a bank that names its teacher holds module tensors and nothing else */
    size_t n_mod_tensors = 0;
    for (size_t i = 0; !st && out->teacher_dir && i < mtx_st_count(f); i++)
        n_mod_tensors += strncmp(mtx_st_at(f, i)->name, "modules.", 8) == 0;
    if (!st && out->teacher_dir && n_mod_tensors != mtx_st_count(f))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: %zu tensors that are not modules (the teacher's are in %s)", path,
                           mtx_st_count(f) - n_mod_tensors, out->teacher_dir);
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
    free(b->teacher_dir);
    b->teacher_dir = NULL;
}
