/* test_formats.c - format versions: every safetensors file modtx writes
 * carries "format_version": "1" and config.json "format_version": 1; each
 * reader refuses another version (and safetensors a "format" other than
 * modtx) with a one-line error naming the file and the field, and reads a
 * file without the field (written before it existed) as version 1.
 *
 * Checked against breaks: with check_format not called in parse_file, the
 * safetensors cases fail; with the format_version check removed from
 * mtx_model_config_load, the config.json cases fail. */
#include "testutil.h"
#include "core/fsutil.h"
#include "io/checkpoint.h"
#include "modular/modular.h"
#include "train/train.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char g_dir[] = "/tmp/mtx_formats_XXXXXX";

static const char *in_dir(const char *sub, const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s%s%s", g_dir, sub, sub[0] ? "/" : "", name);
    return buf[k];
}

/* Replaces the first `from` in a file by `to` (same length: safetensors
 * headers keep their size). Returns 1 if it was found. */
static int patch_file(const char *path, const char *from, const char *to) {
    uint8_t *buf = NULL;
    size_t len = 0, n = strlen(from);
    if (mtx_read_file(path, (size_t)1 << 30, &buf, &len)) return 0;
    int found = 0;
    for (size_t i = 0; !found && i + n <= len; i++)
        if (!memcmp(buf + i, from, n)) {
            memcpy(buf + i, to, n);
            found = 1;
        }
    if (found) found = mtx_write_file_atomic(path, buf, len) == MTX_OK;
    free(buf);
    return found;
}

/* A header-only safetensors file with the given metadata JSON object. */
static void write_st_meta(const char *path, const char *meta) {
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr, "{\"__metadata__\":%s}", meta);
    while (n % 8) hdr[n++] = ' ';
    uint8_t buf[264];
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, hdr, (size_t)n);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(path, buf, (size_t)n + 8), MTX_OK);
}

static int has(const char *text) {
    const char *e = mtx_last_error();
    return e && strstr(e, text) != NULL && strchr(e, '\n') == NULL;
}

static void test_safetensors_version(void) {
    mtx_st_file *f = NULL;
    /* the writer stamps version 1 */
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "format_version", "9"), MTX_ERR_ARG); /* already there */
    CU_ASSERT_EQUAL_FATAL(mtx_st_write(w, in_dir("", "w.safetensors")), MTX_OK);
    mtx_st_writer_free(w);
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(in_dir("", "w.safetensors"), &f), MTX_OK);
    CU_ASSERT_STRING_EQUAL(mtx_st_meta(f, "format_version"), "1");
    mtx_st_close(f);
    /* absent: version 1 */
    write_st_meta(in_dir("", "old.safetensors"), "{\"format\":\"modtx\"}");
    CU_ASSERT_EQUAL(mtx_st_open(in_dir("", "old.safetensors"), &f), MTX_OK);
    mtx_st_close(f);
    /* unknown version, a non-string version, another format */
    write_st_meta(in_dir("", "v2.safetensors"), "{\"format_version\":\"2\"}");
    CU_ASSERT_EQUAL(mtx_st_open(in_dir("", "v2.safetensors"), &f), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT(has("v2.safetensors: metadata format_version \"2\" is not supported (this modtx reads 1)"));
    write_st_meta(in_dir("", "vnum.safetensors"), "{\"format_version\":1}");
    CU_ASSERT_EQUAL(mtx_st_open(in_dir("", "vnum.safetensors"), &f), MTX_ERR_FORMAT);
    write_st_meta(in_dir("", "other.safetensors"), "{\"format\":\"other\",\"format_version\":\"1\"}");
    CU_ASSERT_EQUAL(mtx_st_open(in_dir("", "other.safetensors"), &f), MTX_ERR_FORMAT);
    CU_ASSERT(has("other.safetensors: metadata format \"other\" is not \"modtx\""));
}

static void test_config_version(void) {
    mtx_model_config m = mtx_model_config_default(), r;
    m.src_vocab_size = 30;
    m.tgt_vocab_size = 40;
    const char *path = in_dir("", "config.json");
    CU_ASSERT_EQUAL_FATAL(mtx_model_config_save(path, &m, NULL), MTX_OK);
    uint8_t *raw = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_read_file(path, 1 << 20, &raw, &len), MTX_OK);
    cJSON *root = cJSON_ParseWithLength((const char *)raw, len);
    free(raw);
    CU_ASSERT_FATAL(root != NULL);
    const cJSON *fv = cJSON_GetObjectItemCaseSensitive(root, "format_version");
    CU_ASSERT(cJSON_IsNumber(fv) && fv->valuedouble == 1.0);
    CU_ASSERT_EQUAL(mtx_model_config_load(path, &r), MTX_OK);
    static const char *const bad[][2] = { { "2", "format_version 2 is not supported (this modtx reads 1)" },
                                         { "\"1\"", "format_version \"1\" is not supported" } };
    for (int i = 0; i < 3; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "format_version");
        if (i < 2) cJSON_AddItemToObject(root, "format_version", cJSON_Parse(bad[i][0]));
        char *text = cJSON_Print(root);
        CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(path, text, strlen(text)), MTX_OK);
        cJSON_free(text);
        if (i < 2) {
            CU_ASSERT_EQUAL(mtx_model_config_load(path, &r), MTX_ERR_FORMAT);
            CU_ASSERT(has("config.json: "));
            CU_ASSERT(has(bad[i][1]));
        } else {
            CU_ASSERT_EQUAL(mtx_model_config_load(path, &r), MTX_OK); /* absent: version 1 */
            CU_ASSERT_EQUAL(r.tgt_vocab_size, 40);
        }
    }
    cJSON_Delete(root);
}

/* Every file kind through its own reader: a model directory (config.json,
 * model.safetensors), a training state, a bank's model.safetensors and its
 * bank_state.safetensors. */
static void test_each_file_kind(void) {
    mtx_train_config t = mtx_test_words20_config(64);
    mtx_model_config m = mtx_model_config_default();
    m.d_model = 16;
    m.num_heads = 2;
    m.d_ff = 32;
    m.num_layers = 2;
    m.num_decoder_layers = 2;
    mtx_dataset d;
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m, NULL), MTX_OK);
    mtx_trainer *tr;
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&tr, &m, &t, &d, NULL), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_step(tr, NULL), MTX_OK);
    char dir[600], bdir[600];
    snprintf(dir, sizeof dir, "%s", in_dir("run", ""));
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_checkpoint(tr, dir, NULL), MTX_OK);
    mtx_bundle b;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(dir, &b), MTX_OK);
    mtx_bundle_free(&b);
    CU_ASSERT_EQUAL(mtx_trainer_restore(tr, dir), MTX_OK);

    const char *v1 = "\"format_version\":\"1\"", *v7 = "\"format_version\":\"7\"";
    CU_ASSERT_FATAL(patch_file(in_dir("run", "train_state.safetensors"), v1, v7));
    CU_ASSERT_EQUAL(mtx_trainer_restore(tr, dir), MTX_ERR_FORMAT);
    CU_ASSERT(has("train_state.safetensors: metadata format_version \"7\" is not supported"));
    CU_ASSERT_FATAL(patch_file(in_dir("run", "model.safetensors"), v1, v7));
    CU_ASSERT_EQUAL(mtx_bundle_load(dir, &b), MTX_ERR_FORMAT);
    CU_ASSERT(has("model.safetensors: metadata format_version \"7\" is not supported"));
    CU_ASSERT_FATAL(patch_file(in_dir("run", "model.safetensors"), v7, v1));
    CU_ASSERT_FATAL(patch_file(in_dir("run", "config.json"), "\"format_version\":\t1", "\"format_version\":\t3"));
    CU_ASSERT_EQUAL(mtx_bundle_load(dir, &b), MTX_ERR_FORMAT);
    CU_ASSERT(has("config.json: format_version 3 is not supported"));

    /* a bank of m(2, .) over the trained model, and its checkpoint */
    mtx_modular_config c = mtx_modular_config_default();
    c.n_gran = 1;
    c.gran[0] = 2;
    c.opt.batch_tokens = 64;
    mtx_modular *mod;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&mod, &c, mtx_trainer_model(tr), &d), MTX_OK);
    snprintf(bdir, sizeof bdir, "%s", in_dir("bank", ""));
    CU_ASSERT_EQUAL_FATAL(mtx_modular_checkpoint(mod, bdir, &d.sv, &d.tv, NULL), MTX_OK);
    CU_ASSERT_EQUAL(mtx_modular_restore(mod, bdir), MTX_OK);
    CU_ASSERT_FATAL(patch_file(in_dir("bank", "bank_state.safetensors"), v1, v7));
    CU_ASSERT_EQUAL(mtx_modular_restore(mod, bdir), MTX_ERR_FORMAT);
    CU_ASSERT(has("bank_state.safetensors: metadata format_version \"7\" is not supported"));
    CU_ASSERT_FATAL(patch_file(in_dir("bank", "model.safetensors"), v1, v7));
    mtx_bank_dir bd;
    CU_ASSERT_EQUAL(mtx_bank_load(bdir, &bd), MTX_ERR_FORMAT);
    CU_ASSERT(has("model.safetensors: metadata format_version \"7\" is not supported"));
    mtx_modular_free(mod);
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
}

static int setup(void) { return mkdtemp(g_dir) ? 0 : 1; }

static int teardown(void) {
    mtx_test_rm_tree(g_dir);
    return 0;
}

void mtx_suite_formats(void) {
    CU_pSuite s = CU_add_suite("formats", setup, teardown);
    CU_add_test(s, "safetensors: version 1 written, absent read as 1, another refused", test_safetensors_version);
    CU_add_test(s, "config.json: version 1 written, absent read as 1, another refused", test_config_version);
    CU_add_test(s, "each file kind refuses an unknown version with a one-line error", test_each_file_kind);
}
