/* test_checkpoint.c - model directories (host/io/checkpoint.h): bit-exact F32
 * round trips, F16 within rounding, byte-identical re-saves, and hostile
 * directories that must fail with the right status and a one-line message
 * naming the file or tensor. The model is tiny (C 16, 1 + 1 layers) and its
 * vocabularies come from a small in-memory corpus. All files live in a
 * mkdtemp directory under /tmp that the suite removes. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "io/checkpoint.h"
#include "core/fsutil.h"

static char g_dir[64];
static mtx_model g_model;          /* the reference model, saved to g_good */
static mtx_vocab g_sv, g_tv;
static char g_good[MTX_PATH_MAX];  /* a valid model directory (F32) */
static int g_ready;                /* suite_init built everything above */

/* g_dir/name in one of four static buffers. */
static const char *tmp_path(const char *name, int slot) {
    static char buf[4][MTX_PATH_MAX];
    if (mtx_path_join(buf[slot], sizeof buf[slot], g_dir, name) != MTX_OK) return "/nonexistent";
    return buf[slot];
}

/* dir/name in one of four static buffers. */
static const char *in_dir(const char *dir, const char *name, int slot) {
    static char buf[4][MTX_PATH_MAX];
    if (mtx_path_join(buf[slot], sizeof buf[slot], dir, name) != MTX_OK) return "/nonexistent";
    return buf[slot];
}

static const char *const k_files[4] = { "config.json", "model.safetensors", "source_vocab.txt",
                                        "target_vocab.txt" };

static int copy_file(const char *from, const char *to) {
    uint8_t *data = NULL;
    size_t len = 0;
    if (mtx_read_file(from, 1 << 26, &data, &len) != MTX_OK) return 0;
    int ok = mtx_write_file_atomic(to, data, len) == MTX_OK;
    free(data);
    return ok;
}

/* A fresh copy of the good model directory at g_dir/name; returns its path. */
static const char *clone_good(const char *name) {
    static char dir[MTX_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", tmp_path(name, 0));
    mtx_test_rm_tree(dir);
    if (mtx_mkdir_p(dir) != MTX_OK) return "/nonexistent";
    for (int i = 0; i < 4; i++)
        if (!copy_file(in_dir(g_good, k_files[i], 0), in_dir(dir, k_files[i], 1))) return "/nonexistent";
    return dir;
}

/* A one-line message: non-empty, no newline. */
static int one_line(const char *s) { return s && s[0] && strchr(s, '\n') == NULL; }

/* Occurrences of needle in s. */
static int count_of(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Loads dir expecting failure `want`; checks the message names `needle`
 * (a path or tensor name) and is one line. Returns the status. */
static mtx_status load_fails(const char *dir, mtx_status want, const char *needle) {
    mtx_bundle b;
    mtx_clear_error();
    mtx_status st = mtx_bundle_load(dir, &b);
    CU_ASSERT_EQUAL(st, want);
    if (st == MTX_OK) {
        mtx_bundle_free(&b);
        return st;
    }
    const char *msg = mtx_last_error();
    CU_ASSERT_TRUE(one_line(msg));
    /* named exactly once: a doubled "PATH: PATH: ..." prefix is a wrapping bug */
    CU_ASSERT_EQUAL(count_of(msg, needle), 1);
    if (count_of(msg, needle) != 1 || !one_line(msg))
        fprintf(stderr, "\n    message '%s' does not name '%s' once on one line\n", msg, needle);
    /* a failed load leaves nothing allocated behind */
    CU_ASSERT_PTR_NULL(b.model.params);
    CU_ASSERT_PTR_NULL(b.config_json);
    return st;
}

/* Builds a corpus of (word, phones) pairs, each word its own group. */
static mtx_status make_corpus(mtx_corpus *c, const char *const *words, const char *const *pron, int n) {
    memset(c, 0, sizeof *c);
    c->entries = calloc((size_t)n, sizeof *c->entries);
    c->group_start = calloc((size_t)n + 1, sizeof *c->group_start);
    if (!c->entries || !c->group_start) return MTX_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        char buf[128], *tok[16];
        int nt = 0;
        snprintf(buf, sizeof buf, "%s", pron[i]);
        for (char *t = strtok(buf, " "); t && nt < 16; t = strtok(NULL, " ")) tok[nt++] = t;
        mtx_status st = mtx_entry_init(&c->entries[i], words[i], tok, nt);
        if (st) return st;
        c->entries[i].group = i;
        c->n_entries = i + 1;
        c->group_start[i + 1] = i + 1;
    }
    c->n_groups = n;
    return MTX_OK;
}

static mtx_model_config tiny_config(int sv, int tv) {
    mtx_model_config c = mtx_model_config_default();
    c.d_model = 16;
    c.num_heads = 2;
    c.d_ff = 32;
    c.num_layers = 1;
    c.num_decoder_layers = 1;
    c.src_vocab_size = sv;
    c.tgt_vocab_size = tv;
    c.max_source_positions = 12;
    c.max_target_positions = 14;
    return c;
}

static int suite_init(void) {
    strcpy(g_dir, "/tmp/mtx_ckpt_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    static const char *const words[] = { "cat", "dog", "caf\xc3\xa9", "na\xc3\xafve", "it's", "zebra" };
    static const char *const pron[] = { "K AE T", "D AO G", "K AE F EY", "N AA IY V", "IH T S",
                                        "Z IY B R AH" };
    mtx_corpus c;
    mtx_status st = make_corpus(&c, words, pron, 6);
    if (!st) st = mtx_vocab_build_source(&c, &g_sv);
    if (!st) st = mtx_vocab_build_target(&c, &g_tv);
    mtx_corpus_free(&c);
    if (st) return -1;
    mtx_model_config cfg = tiny_config(g_sv.n, g_tv.n);
    if (mtx_model_init(&g_model, &cfg) != MTX_OK) return -1;
    mtx_model_init_weights(&g_model, 42);
    snprintf(g_good, sizeof g_good, "%s", tmp_path("good", 0));
    static const char *const meta[] = { "purpose", "unit test", NULL };
    if (mtx_bundle_save(g_good, &g_model, &g_sv, &g_tv, "{\"modtx\":{\"kind\":\"test\"}}",
                        MTX_DT_F32, meta) != MTX_OK)
        return -1;
    g_ready = 1;
    return 0;
}

static int suite_clean(void) {
    mtx_model_free(&g_model);
    mtx_vocab_free(&g_sv);
    mtx_vocab_free(&g_tv);
    mtx_test_rm_tree(g_dir);
    return 0;
}

static int same_vocab(const mtx_vocab *a, const mtx_vocab *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0) return 0;
    return 1;
}

static int same_config(const mtx_model_config *a, const mtx_model_config *b) {
    return a->d_model == b->d_model && a->num_heads == b->num_heads && a->d_ff == b->d_ff &&
           a->num_layers == b->num_layers && a->num_decoder_layers == b->num_decoder_layers &&
           a->src_vocab_size == b->src_vocab_size && a->tgt_vocab_size == b->tgt_vocab_size &&
           a->max_source_positions == b->max_source_positions &&
           a->max_target_positions == b->max_target_positions &&
           a->layer_norm_epsilon == b->layer_norm_epsilon && a->dropout_rate == b->dropout_rate;
}

static void test_same_arch(void) {
    mtx_model_config a = tiny_config(20, 30), b = a;
    char why[128] = "x";
    CU_ASSERT_TRUE(mtx_model_config_same_arch(&a, &b, why, sizeof why));
    CU_ASSERT_STRING_EQUAL(why, "");
    b.dropout_rate = a.dropout_rate + 0.2f; /* a training-time setting */
    CU_ASSERT_TRUE(mtx_model_config_same_arch(&a, &b, NULL, 0));
    b.num_decoder_layers = a.num_decoder_layers + 1;
    b.tgt_vocab_size = 31;
    CU_ASSERT_FALSE(mtx_model_config_same_arch(&a, &b, why, sizeof why));
    char want[64];
    snprintf(want, sizeof want, "num_decoder_layers %d vs %d", a.num_decoder_layers, b.num_decoder_layers);
    CU_ASSERT_STRING_EQUAL(why, want); /* the first differing key, in config order */
    b = a;
    b.max_target_positions = 64;
    CU_ASSERT_FALSE(mtx_model_config_same_arch(&a, &b, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "max_target_positions"));
    b = a;
    b.layer_norm_epsilon = 1e-5f;
    CU_ASSERT_FALSE(mtx_model_config_same_arch(&a, &b, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "layer_norm_epsilon"));
    b = a;
    b.d_model = a.d_model * 2;
    CU_ASSERT_FALSE(mtx_model_config_same_arch(&a, &b, why, 8)); /* truncated, still terminated */
    CU_ASSERT_EQUAL(strlen(why), 7);
}

static void test_f32_roundtrip(void) {
    CU_ASSERT_FATAL(g_ready);
    /* the vocabularies really contain multi-byte characters */
    CU_ASSERT_TRUE(mtx_vocab_id(&g_sv, "\xc3\xa9") > 0 && mtx_vocab_id(&g_sv, "'") > 0);
    mtx_bundle b;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(g_good, &b), MTX_OK);
    CU_ASSERT_TRUE(same_config(&b.model.cfg, &g_model.cfg));
    CU_ASSERT_EQUAL(b.model.n_params, g_model.n_params);
    CU_ASSERT_EQUAL(b.model.n_params, mtx_param_count(&g_model.cfg));
    if (b.model.n_params == g_model.n_params)
        CU_ASSERT_EQUAL(memcmp(b.model.params, g_model.params, g_model.n_params * sizeof(float)), 0);
    /* the views point into the loaded buffer, not at the original */
    CU_ASSERT_PTR_EQUAL(b.model.w.src_emb, b.model.params);
    CU_ASSERT_TRUE(b.model.w.lm_head + (size_t)b.model.cfg.tgt_vocab_size * 16 ==
                   b.model.params + b.model.n_params);
    CU_ASSERT_TRUE(same_vocab(&b.src_vocab, &g_sv));
    CU_ASSERT_TRUE(same_vocab(&b.tgt_vocab, &g_tv));
    CU_ASSERT_PTR_NOT_NULL(b.config_json);
    if (b.config_json) CU_ASSERT_PTR_NOT_NULL(strstr(b.config_json, "\"kind\""));
    mtx_bundle_free(&b);
    CU_ASSERT_PTR_NULL(b.model.params);

    /* tensor names and metadata as documented */
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(in_dir(g_good, "model.safetensors", 0), &f), MTX_OK);
    CU_ASSERT_PTR_NOT_NULL(mtx_st_find(f, "encoder.block.0.layer.0.SelfAttention.q.weight"));
    CU_ASSERT_PTR_NOT_NULL(mtx_st_find(f, "decoder.block.0.layer.1.EncDecAttention.k.weight"));
    CU_ASSERT_PTR_NOT_NULL(mtx_st_find(f, "lm_head.weight"));
    const char *fmt = mtx_st_meta(f, "format"), *purpose = mtx_st_meta(f, "purpose");
    CU_ASSERT_TRUE(fmt && strcmp(fmt, "modtx") == 0);
    CU_ASSERT_TRUE(purpose && strcmp(purpose, "unit test") == 0);
    const mtx_st_tensor *t = mtx_st_at(f, 0);
    CU_ASSERT_TRUE(t && t->dtype == MTX_DT_F32);
    mtx_st_close(f);
}

static void test_f16_roundtrip(void) {
    CU_ASSERT_FATAL(g_ready);
    const char *dir = tmp_path("f16", 0);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_save(dir, &g_model, &g_sv, &g_tv, NULL, MTX_DT_F16, NULL), MTX_OK);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL(mtx_st_open(in_dir(dir, "model.safetensors", 0), &f), MTX_OK);
    const mtx_st_tensor *t = f ? mtx_st_find(f, "lm_head.weight") : NULL;
    CU_ASSERT_TRUE(t && t->dtype == MTX_DT_F16);
    mtx_st_close(f);
    mtx_bundle b;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(dir, &b), MTX_OK);
    CU_ASSERT_TRUE(same_config(&b.model.cfg, &g_model.cfg));
    size_t bad = 0, changed = 0;
    for (size_t i = 0; i < g_model.n_params && b.model.n_params == g_model.n_params; i++) {
        float a = g_model.params[i], r = b.model.params[i];
        /* round to nearest: at most half an F16 ulp, 2^-11 relative for
         * normals, 2^-25 absolute in the subnormal range */
        if (!(fabsf(r - a) <= fabsf(a) * 0x1p-11f + 0x1p-25f)) bad++;
        changed += r != a;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(changed > 0); /* it really was stored as F16 */
    mtx_bundle_free(&b);
}

static void test_save_deterministic(void) {
    CU_ASSERT_FATAL(g_ready);
    const char *dir = tmp_path("again", 1);
    static const char *const meta[] = { "purpose", "unit test", NULL };
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_save(dir, &g_model, &g_sv, &g_tv, "{\"modtx\":{\"kind\":\"test\"}}",
                                          MTX_DT_F32, meta), MTX_OK);
    for (int i = 0; i < 4; i++) {
        uint8_t *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        CU_ASSERT_EQUAL(mtx_read_file(in_dir(g_good, k_files[i], 0), 1 << 26, &a, &la), MTX_OK);
        CU_ASSERT_EQUAL(mtx_read_file(in_dir(dir, k_files[i], 1), 1 << 26, &b, &lb), MTX_OK);
        CU_ASSERT_TRUE(a && b && la > 0 && la == lb && memcmp(a, b, la) == 0);
        free(a);
        free(b);
    }
    /* saving over an existing directory replaces it and leaves no temporaries */
    CU_ASSERT_EQUAL(mtx_bundle_save(dir, &g_model, &g_sv, &g_tv, NULL, MTX_DT_F32, NULL), MTX_OK);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) n += de->d_name[0] != '.';
    if (d) closedir(d);
    CU_ASSERT_EQUAL(n, 4);
    /* a vocabulary that does not match the model is refused before writing */
    mtx_vocab small = g_sv;
    small.n--;
    CU_ASSERT_NOT_EQUAL(mtx_bundle_save(tmp_path("refused", 2), &g_model, &small, &g_tv, NULL,
                                        MTX_DT_F32, NULL), MTX_OK);
}

/* ------------------------------------------------------------ config.json */

/* Rewrites dir/config.json after applying edit (NULL: write `raw` verbatim). */
static int rewrite_config(const char *dir, void (*edit)(cJSON *), const char *raw) {
    const char *path = in_dir(dir, "config.json", 3);
    if (raw) return mtx_write_file_atomic(path, raw, strlen(raw)) == MTX_OK;
    uint8_t *text = NULL;
    size_t len = 0;
    if (mtx_read_file(path, 1 << 20, &text, &len) != MTX_OK) return 0;
    cJSON *root = cJSON_Parse((const char *)text);
    free(text);
    if (!root) return 0;
    edit(root);
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    int ok = out && mtx_write_file_atomic(path, out, strlen(out)) == MTX_OK;
    cJSON_free(out);
    return ok;
}

static void drop_d_ff(cJSON *r) { cJSON_DeleteItemFromObjectCaseSensitive(r, "d_ff"); }
static void heads_3(cJSON *r) { cJSON_ReplaceItemInObjectCaseSensitive(r, "num_heads", cJSON_CreateNumber(3)); }
static void src_vocab_plus_1(cJSON *r) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "src_vocab_size");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "src_vocab_size", cJSON_CreateNumber(v->valuedouble + 1));
}
static void d_model_string(cJSON *r) {
    cJSON_ReplaceItemInObjectCaseSensitive(r, "d_model", cJSON_CreateString("16"));
}
static void d_model_32(cJSON *r) { cJSON_ReplaceItemInObjectCaseSensitive(r, "d_model", cJSON_CreateNumber(32)); }

static void test_bad_directory(void) {
    CU_ASSERT_FATAL(g_ready);
    const char *missing = tmp_path("no_such_dir", 1);
    load_fails(missing, MTX_ERR_IO, missing);
    const char *empty = tmp_path("empty_dir", 1);
    CU_ASSERT_EQUAL(mtx_mkdir_p(empty), MTX_OK);
    load_fails(empty, MTX_ERR_IO, empty);
    /* a directory with everything but config.json */
    const char *dir = clone_good("no_config");
    CU_ASSERT_EQUAL(unlink(in_dir(dir, "config.json", 0)), 0);
    load_fails(dir, MTX_ERR_IO, dir);
    /* a missing vocabulary file */
    dir = clone_good("no_vocab");
    CU_ASSERT_EQUAL(unlink(in_dir(dir, "target_vocab.txt", 0)), 0);
    load_fails(dir, MTX_ERR_IO, "target_vocab.txt");
    /* a missing weights file */
    dir = clone_good("no_weights");
    CU_ASSERT_EQUAL(unlink(in_dir(dir, "model.safetensors", 0)), 0);
    load_fails(dir, MTX_ERR_IO, "model.safetensors");
}

static void test_bad_config(void) {
    CU_ASSERT_FATAL(g_ready);
    const char *dir = clone_good("cfg_json");
    CU_ASSERT_TRUE(rewrite_config(dir, NULL, "{\"d_model\": 16, \"num_heads\": "));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));
    CU_ASSERT_TRUE(rewrite_config(dir, NULL, "[16, 2, 32]"));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));
    CU_ASSERT_TRUE(rewrite_config(dir, NULL, ""));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));

    dir = clone_good("cfg_key");
    CU_ASSERT_TRUE(rewrite_config(dir, drop_d_ff, NULL));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));
    load_fails(dir, MTX_ERR_FORMAT, "d_ff");

    dir = clone_good("cfg_type");
    CU_ASSERT_TRUE(rewrite_config(dir, d_model_string, NULL));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));

    dir = clone_good("cfg_heads");
    CU_ASSERT_TRUE(rewrite_config(dir, heads_3, NULL));
    load_fails(dir, MTX_ERR_FORMAT, "num_heads");
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "config.json", 0));

    dir = clone_good("cfg_vocab");
    CU_ASSERT_TRUE(rewrite_config(dir, src_vocab_plus_1, NULL));
    load_fails(dir, MTX_ERR_FORMAT, dir);

    /* a consistent config whose shapes disagree with the weights file */
    dir = clone_good("cfg_shape");
    CU_ASSERT_TRUE(rewrite_config(dir, d_model_32, NULL));
    load_fails(dir, MTX_ERR_FORMAT, "model.safetensors");
}

/* --------------------------------------------------------- model.safetensors */

typedef struct {
    mtx_st_writer *wr;
    const char *skip;    /* tensor to leave out */
    const char *reshape; /* tensor whose first dimension grows by one */
    float *spare;        /* data for the reshaped tensor */
} hostile_ctx;

static mtx_status add_hostile(void *p, const char *name, int ndim, const int64_t *shape, float *data) {
    hostile_ctx *c = p;
    if (c->skip && strcmp(name, c->skip) == 0) return MTX_OK;
    if (c->reshape && strcmp(name, c->reshape) == 0) {
        int64_t s[MTX_ST_MAX_DIMS];
        memcpy(s, shape, sizeof(int64_t) * (size_t)ndim);
        s[0]++;
        return mtx_st_add_f32(c->wr, name, ndim, s, c->spare, MTX_DT_F32);
    }
    return mtx_st_add_f32(c->wr, name, ndim, shape, data, MTX_DT_F32);
}

/* Writes dir/model.safetensors from g_model with one alteration and an optional extra tensor. */
static int write_hostile(const char *dir, const char *skip, const char *reshape, const char *extra) {
    static float spare[4096];
    static const int64_t s4[1] = { 4 };
    hostile_ctx c = { NULL, skip, reshape, spare };
    int ok = mtx_st_writer_new(&c.wr) == MTX_OK;
    ok = ok && mtx_weights_foreach(&g_model.w, &g_model.cfg, add_hostile, &c) == MTX_OK;
    ok = ok && (!extra || mtx_st_add_f32(c.wr, extra, 1, s4, spare, MTX_DT_F32) == MTX_OK);
    ok = ok && mtx_st_write(c.wr, in_dir(dir, "model.safetensors", 3)) == MTX_OK;
    mtx_st_writer_free(c.wr);
    return ok;
}

static void test_bad_tensors(void) {
    CU_ASSERT_FATAL(g_ready);
    const char *dir = clone_good("t_missing");
    CU_ASSERT_TRUE(write_hostile(dir, "decoder.block.0.layer.1.EncDecAttention.o.weight", NULL, NULL));
    load_fails(dir, MTX_ERR_FORMAT, "decoder.block.0.layer.1.EncDecAttention.o.weight");
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "model.safetensors", 0));

    dir = clone_good("t_shape");
    CU_ASSERT_TRUE(write_hostile(dir, NULL, "encoder.embed_positions.weight", NULL));
    load_fails(dir, MTX_ERR_FORMAT, "encoder.embed_positions.weight");
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "model.safetensors", 0));

    dir = clone_good("t_extra");
    CU_ASSERT_TRUE(write_hostile(dir, NULL, NULL, "encoder.block.1.layer.0.layer_norm.weight"));
    load_fails(dir, MTX_ERR_FORMAT, in_dir(dir, "model.safetensors", 0));

    /* a module bank tensor rides along and is ignored */
    dir = clone_good("t_module");
    CU_ASSERT_TRUE(write_hostile(dir, NULL, NULL, "modules.x"));
    mtx_bundle b;
    CU_ASSERT_EQUAL(mtx_bundle_load(dir, &b), MTX_OK);
    if (b.model.params) {
        CU_ASSERT_EQUAL(memcmp(b.model.params, g_model.params, g_model.n_params * sizeof(float)), 0);
        mtx_bundle_free(&b);
    }
    /* ...but it does not excuse a missing model tensor */
    CU_ASSERT_TRUE(write_hostile(dir, "lm_head.weight", NULL, "modules.x"));
    load_fails(dir, MTX_ERR_FORMAT, "lm_head.weight");
}

static void test_non_finite(void) {
    CU_ASSERT_FATAL(g_ready);
    const float bad[2] = { NAN, -INFINITY };
    const char *names[2] = { "nan", "inf" };
    for (int k = 0; k < 2; k++) {
        mtx_model m;
        CU_ASSERT_EQUAL_FATAL(mtx_model_init(&m, &g_model.cfg), MTX_OK);
        memcpy(m.params, g_model.params, m.n_params * sizeof(float));
        m.params[m.n_params / 2 + (size_t)k] = bad[k];
        const char *dir = tmp_path(names[k], 1);
        CU_ASSERT_EQUAL(mtx_bundle_save(dir, &m, &g_sv, &g_tv, NULL, MTX_DT_F32, NULL), MTX_OK);
        mtx_bundle b;
        mtx_status st = mtx_bundle_load(dir, &b);
        CU_ASSERT_TRUE(st == MTX_ERR_FORMAT || st == MTX_ERR_NUMERIC);
        CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "model.safetensors"));
        CU_ASSERT_TRUE(one_line(mtx_last_error()));
        if (st == MTX_OK) mtx_bundle_free(&b);
        mtx_model_free(&m);
    }
    /* the largest finite float is a legal parameter */
    mtx_model m;
    CU_ASSERT_EQUAL_FATAL(mtx_model_init(&m, &g_model.cfg), MTX_OK);
    memcpy(m.params, g_model.params, m.n_params * sizeof(float));
    m.params[3] = 3.4028235e38f;
    m.params[4] = -3.4028235e38f;
    const char *dir = tmp_path("fltmax", 1);
    CU_ASSERT_EQUAL(mtx_bundle_save(dir, &m, &g_sv, &g_tv, NULL, MTX_DT_F32, NULL), MTX_OK);
    mtx_bundle b;
    mtx_status st = mtx_bundle_load(dir, &b);
    CU_ASSERT_EQUAL(st, MTX_OK);
    if (st) fprintf(stderr, "\n    FLT_MAX refused: %s\n", mtx_last_error());
    else mtx_bundle_free(&b);
    mtx_model_free(&m);
}

static void test_truncated_and_corrupt(void) {
    CU_ASSERT_FATAL(g_ready);
    uint8_t *good = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_read_file(in_dir(g_good, "model.safetensors", 0), 1 << 26, &good, &len), MTX_OK);
    CU_ASSERT_FATAL(len > 64);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | good[i];
    CU_ASSERT_FATAL(hlen > 16 && 8 + hlen < len);

    const char *dir = clone_good("trunc");
    const char *path = in_dir(dir, "model.safetensors", 2);
    const size_t cuts[] = { 0, 5, 8, 9, 8 + (size_t)hlen / 2, 8 + (size_t)hlen - 1, 8 + (size_t)hlen,
                            8 + (size_t)hlen + 4, len / 2, len - 4, len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CU_ASSERT_EQUAL(mtx_write_file_atomic(path, good, cuts[i]), MTX_OK);
        load_fails(dir, MTX_ERR_FORMAT, path);
    }

    /* header length that points past the end, is absurd, or cuts the JSON */
    const uint64_t lens[] = { len, len - 7, (uint64_t)1 << 40, UINT64_MAX, 0, 1, hlen - 1 };
    uint8_t *bad = malloc(len);
    CU_ASSERT_FATAL(bad != NULL);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(bad, good, len);
        for (int b = 0; b < 8; b++) bad[b] = (uint8_t)(lens[i] >> (8 * b));
        CU_ASSERT_EQUAL(mtx_write_file_atomic(path, bad, len), MTX_OK);
        load_fails(dir, MTX_ERR_FORMAT, path);
    }
    /* a flipped byte inside the header JSON */
    memcpy(bad, good, len);
    bad[8] = 'x';
    CU_ASSERT_EQUAL(mtx_write_file_atomic(path, bad, len), MTX_OK);
    load_fails(dir, MTX_ERR_FORMAT, path);
    /* the intact file still loads from the same directory */
    CU_ASSERT_EQUAL(mtx_write_file_atomic(path, good, len), MTX_OK);
    mtx_bundle b;
    CU_ASSERT_EQUAL(mtx_bundle_load(dir, &b), MTX_OK);
    if (b.model.params) mtx_bundle_free(&b);
    free(bad);
    free(good);
}

static void test_bad_vocab_file(void) {
    CU_ASSERT_FATAL(g_ready);
    /* one token more than config.json says */
    const char *dir = clone_good("v_extra");
    const char *path = in_dir(dir, "source_vocab.txt", 2);
    FILE *f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("\xe2\x82\xac\n", f);
    fclose(f);
    load_fails(dir, MTX_ERR_FORMAT, dir);
    /* a duplicate token is a format error naming file and line */
    dir = clone_good("v_dup");
    path = in_dir(dir, "target_vocab.txt", 2);
    f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("AE\n", f);
    fclose(f);
    load_fails(dir, MTX_ERR_FORMAT, "target_vocab.txt:");
}

void mtx_suite_checkpoint(void) {
    CU_pSuite s = CU_add_suite("checkpoint", suite_init, suite_clean);
    CU_add_test(s, "same architecture: first differing key, dropout_rate ignored", test_same_arch);
    CU_add_test(s, "F32 save/load is bit-exact, config and vocab preserved", test_f32_roundtrip);
    CU_add_test(s, "F16 save/load within half an F16 ulp", test_f16_roundtrip);
    CU_add_test(s, "saving twice gives identical bytes", test_save_deterministic);
    CU_add_test(s, "missing directory, config.json, vocab or weights", test_bad_directory);
    CU_add_test(s, "bad config.json: JSON, keys, heads, vocab size, shapes", test_bad_config);
    CU_add_test(s, "missing, misshapen, unknown and module tensors", test_bad_tensors);
    CU_add_test(s, "NaN/Inf parameters refused, FLT_MAX accepted", test_non_finite);
    CU_add_test(s, "truncated files and corrupt header lengths", test_truncated_and_corrupt);
    CU_add_test(s, "vocabulary file disagreeing with config or malformed", test_bad_vocab_file);
}
