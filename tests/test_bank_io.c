/* test_bank_io.c - bank directories that name their teacher: save and load
 * round trip, the recorded path relative to the bank (checked against paths
 * worked out by hand) and its resolution from other working directories, a
 * missing teacher, a teacher changed by one byte, a teacher with other
 * weights at save time, and banks of the older format (teacher inside). */
#include "testutil.h"
#include "core/fsutil.h"
#include "core/sha256.h"
#include "data/data.h"
#include "modular/modular.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char g_root[64]; /* a fresh directory per test */
static mtx_vocab g_sv, g_tv;
static mtx_model g_teacher;
static mtx_bank g_bank;

/* A small random teacher (4 + 4 layers) saved to g_root/models/teacher and
 * a bank of m2 modules around it with modules unlike their init. */
static int setup(void) {
    snprintf(g_root, sizeof g_root, "/tmp/mtx_bankio_XXXXXX");
    if (!mkdtemp(g_root)) return -1;
    mtx_corpus c;
    if (mtx_corpus_load(MTX_TEST_WORDS20, &c)) return -1;
    mtx_status st = mtx_vocab_build_source(&c, &g_sv);
    if (!st) st = mtx_vocab_build_target(&c, &g_tv);
    mtx_corpus_free(&c);
    mtx_model_config cfg = mtx_model_config_default();
    cfg.d_model = 16;
    cfg.num_heads = 2;
    cfg.d_ff = 32;
    cfg.num_layers = cfg.num_decoder_layers = 4;
    cfg.src_vocab_size = g_sv.n;
    cfg.tgt_vocab_size = g_tv.n;
    if (!st) st = mtx_model_init(&g_teacher, &cfg);
    if (st) return -1;
    mtx_model_init_weights(&g_teacher, 7);
    static const int g2[] = { 2 };
    if (mtx_bank_init(&g_bank, &g_teacher, g2, 1, NULL)) return -1;
    for (size_t k = 0; k < g_bank.n_mod; k++) g_bank.mod[k] += 1e-3f * (float)(k % 17) - 0.008f;
    char dir[MTX_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/models/teacher", g_root);
    return mtx_bundle_save(dir, &g_teacher, &g_sv, &g_tv, NULL, MTX_DT_F32, NULL) ? -1 : 0;
}

static int teardown(void) {
    mtx_test_rm_tree(g_root);
    mtx_bank_free(&g_bank);
    mtx_model_free(&g_teacher);
    mtx_vocab_free(&g_sv);
    mtx_vocab_free(&g_tv);
    return 0;
}

static const char *at(const char *rel) {
    static char buf[4][MTX_PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_root, rel);
    return buf[k];
}

/* "modtx"."teacher_model"."path" of dir/config.json (caller frees). */
static char *recorded_path(const char *dir, char sha[MTX_SHA256_HEX]) {
    char path[MTX_PATH_MAX], *out = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (mtx_read_file(path, 1 << 20, &text, &len)) return NULL;
    cJSON *root = cJSON_Parse((const char *)text);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "modtx"), "teacher_model");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "path"), *h = cJSON_GetObjectItemCaseSensitive(t, "sha256");
    if (cJSON_IsString(p)) out = strdup(p->valuestring);
    if (sha) snprintf(sha, MTX_SHA256_HEX, "%s", cJSON_IsString(h) ? h->valuestring : "");
    cJSON_Delete(root);
    free(text);
    return out;
}

/* 1 if the loaded bank is g_bank: same teacher bit for bit, same modules. */
static int is_g_bank(const mtx_bank_dir *bd) {
    return mtx_bank_same_base(&bd->bank, &g_bank) && !memcmp(bd->bank.mod, g_bank.mod, g_bank.n_mod * sizeof(float));
}

/* Saved and loaded back: modules and teacher equal, the weights file holds
 * module tensors only, the path and hash are recorded, and the bank is no
 * plain model. */
static void test_round_trip(void) {
    const char *bank = at("models/bank"), *teacher = at("models/teacher");
    CU_ASSERT_EQUAL_FATAL(mtx_bank_save(bank, &g_bank, teacher, &g_sv, &g_tv, NULL, 5), MTX_OK);
    char sha[MTX_SHA256_HEX], want[MTX_SHA256_HEX], tfile[MTX_PATH_MAX];
    char *rel = recorded_path(bank, sha);
    CU_ASSERT_TRUE(rel && !strcmp(rel, "../teacher"));
    free(rel);
    snprintf(tfile, sizeof tfile, "%s/model.safetensors", teacher);
    CU_ASSERT_EQUAL(mtx_sha256_file(tfile, want), MTX_OK);
    CU_ASSERT_STRING_EQUAL(sha, want);
    mtx_bank_dir bd;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(bank, &bd), MTX_OK);
    CU_ASSERT_TRUE(is_g_bank(&bd));
    char *tabs = NULL;
    CU_ASSERT_EQUAL(mtx_path_absolute(teacher, &tabs), MTX_OK);
    CU_ASSERT_TRUE(bd.teacher_dir && tabs && !strcmp(bd.teacher_dir, tabs));
    free(tabs);
    CU_ASSERT_PTR_NOT_NULL(strstr(bd.teacher.config_json, "teacher_model")); /* the bank's config, not the teacher's */
    mtx_bank_dir_free(&bd);
    /* only modules in the bank's weights: 4 layers of m2 = 1 + 1 module per
     * stack, each with its layer's tensors */
    char path[MTX_PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors", bank);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(path, &f), MTX_OK);
    size_t n_mod = 0;
    for (size_t i = 0; i < mtx_st_count(f); i++) n_mod += !strncmp(mtx_st_at(f, i)->name, "modules.", 8);
    CU_ASSERT_TRUE(n_mod > 0 && n_mod == mtx_st_count(f));
    CU_ASSERT_TRUE(mtx_st_meta(f, "step") && !strcmp(mtx_st_meta(f, "step"), "5"));
    mtx_st_close(f);
    mtx_bundle b;
    CU_ASSERT_EQUAL(mtx_bundle_load(bank, &b), MTX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "is a module bank"));
}

/* The recorded path is relative to the bank directory whatever the working
 * directory at save time, and resolves from any working directory and after
 * the two directories move together. */
static void test_relative_paths(void) {
    char cwd[MTX_PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    const char *deep = at("runs/a/b/bank");
    CU_ASSERT_EQUAL_FATAL(mtx_bank_save(deep, &g_bank, at("models/teacher"), &g_sv, &g_tv, NULL, 0), MTX_OK);
    char *rel = recorded_path(deep, NULL);
    CU_ASSERT_TRUE(rel && !strcmp(rel, "../../../../models/teacher"));
    free(rel);
    /* saved from inside models/ with relative arguments */
    CU_ASSERT_EQUAL_FATAL(chdir(at("models")), 0);
    mtx_status st = mtx_bank_save("bank2", &g_bank, "./teacher/", &g_sv, &g_tv, NULL, 0);
    rel = recorded_path("bank2", NULL);
    int ok = chdir("/") == 0;
    mtx_bank_dir bd;
    mtx_status st2 = ok ? mtx_bank_load(at("models/bank2"), &bd) : MTX_ERR_IO;
    ok = chdir(cwd) == 0 && ok;
    CU_ASSERT_FATAL(ok);
    CU_ASSERT_EQUAL(st, MTX_OK);
    CU_ASSERT_TRUE(rel && !strcmp(rel, "../teacher"));
    free(rel);
    CU_ASSERT_EQUAL_FATAL(st2, MTX_OK);
    CU_ASSERT_TRUE(is_g_bank(&bd));
    mtx_bank_dir_free(&bd);
    /* both moved together: still found */
    CU_ASSERT_EQUAL_FATAL(rename(at("models"), at("moved")), 0);
    CU_ASSERT_EQUAL(mtx_bank_load(at("moved/bank2"), &bd), MTX_OK);
    CU_ASSERT_TRUE(is_g_bank(&bd));
    mtx_bank_dir_free(&bd);
    CU_ASSERT_EQUAL_FATAL(rename(at("moved"), at("models")), 0);
}

/* The bank alone, without its teacher: one line naming the bank and the
 * teacher path it looked for. */
static void test_missing_teacher(void) {
    const char *bank = at("models/bank3");
    CU_ASSERT_EQUAL_FATAL(mtx_bank_save(bank, &g_bank, at("models/teacher"), &g_sv, &g_tv, NULL, 0), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(rename(bank, at("alone")), 0);
    mtx_bank_dir bd;
    CU_ASSERT_EQUAL(mtx_bank_load(at("alone"), &bd), MTX_ERR_IO);
    const char *e = mtx_last_error();
    CU_ASSERT_PTR_NOT_NULL(strstr(e, at("alone")));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "../teacher/model.safetensors"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "missing"));
    CU_ASSERT_PTR_NULL(strchr(e, '\n'));
}

/* One byte of the teacher's file changed (a float of the last tensor):
 * refused with both paths and both hashes; restored, the bank loads again. */
static void test_mismatched_hash(void) {
    const char *bank = at("models/bank4");
    CU_ASSERT_EQUAL_FATAL(mtx_bank_save(bank, &g_bank, at("models/teacher"), &g_sv, &g_tv, NULL, 0), MTX_OK);
    const char *tfile = at("models/teacher/model.safetensors");
    uint8_t *data = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_read_file(tfile, 1 << 26, &data, &len), MTX_OK);
    data[len - 2] ^= 1;
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tfile, data, len), MTX_OK);
    mtx_bank_dir bd;
    CU_ASSERT_EQUAL(mtx_bank_load(bank, &bd), MTX_ERR_FORMAT);
    const char *e = mtx_last_error();
    CU_ASSERT_PTR_NOT_NULL(strstr(e, bank));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "../teacher/model.safetensors"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "sha256"));
    data[len - 2] ^= 1;
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tfile, data, len), MTX_OK);
    free(data);
    CU_ASSERT_EQUAL(mtx_bank_load(bank, &bd), MTX_OK);
    mtx_bank_dir_free(&bd);
}

/* A teacher directory with other weights cannot be named at save time. */
static void test_wrong_teacher_at_save(void) {
    mtx_model other;
    CU_ASSERT_EQUAL_FATAL(mtx_model_init(&other, &g_teacher.cfg), MTX_OK);
    mtx_model_init_weights(&other, 8);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_save(at("models/other"), &other, &g_sv, &g_tv, NULL, MTX_DT_F32, NULL), MTX_OK);
    mtx_model_free(&other);
    CU_ASSERT_EQUAL(mtx_bank_save(at("models/bank5"), &g_bank, at("models/other"), &g_sv, &g_tv, NULL, 0), MTX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "not the bank's teacher"));
}

/* The older format (no teacher directory: its tensors inside) loads, and
 * re-saved naming the teacher keeps every module bit for bit. */
static void test_older_format(void) {
    const char *old = at("models/old");
    CU_ASSERT_EQUAL_FATAL(mtx_bank_save(old, &g_bank, NULL, &g_sv, &g_tv, NULL, 0), MTX_OK);
    CU_ASSERT_PTR_NULL(recorded_path(old, NULL));
    mtx_bank_dir bd, back;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(old, &bd), MTX_OK);
    CU_ASSERT_PTR_NULL(bd.teacher_dir);
    CU_ASSERT_TRUE(is_g_bank(&bd));
    /* the teacher inside is a model too (plain loaders read it) */
    mtx_bundle b;
    CU_ASSERT_EQUAL(mtx_bundle_load(old, &b), MTX_OK);
    mtx_bundle_free(&b);
    CU_ASSERT_EQUAL(mtx_bank_save(at("models/new"), &bd.bank, at("models/teacher"), &bd.teacher.src_vocab,
                                  &bd.teacher.tgt_vocab, NULL, 0), MTX_OK);
    mtx_bank_dir_free(&bd);
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(at("models/new"), &back), MTX_OK);
    CU_ASSERT_TRUE(is_g_bank(&back));
    CU_ASSERT_PTR_NOT_NULL(back.teacher_dir);
    mtx_bank_dir_free(&back);
}

void mtx_suite_bank_io(void) {
    CU_pSuite s = CU_add_suite("bank_io", setup, teardown);
    CU_add_test(s, "bank naming its teacher: save/load round trip", test_round_trip);
    CU_add_test(s, "teacher path relative to the bank, any working directory", test_relative_paths);
    CU_add_test(s, "missing teacher: one-line error with both paths", test_missing_teacher);
    CU_add_test(s, "teacher changed by one byte: sha256 mismatch", test_mismatched_hash);
    CU_add_test(s, "teacher with other weights refused at save", test_wrong_teacher_at_save);
    CU_add_test(s, "older format (teacher inside) loads and converts", test_older_format);
}
