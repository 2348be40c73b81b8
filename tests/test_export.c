/* test_export.c - modtx export as a library call on the shipped teacher (a
 * plain model): one 1.00x.plan, every section of the written image.bin equal
 * to what the quantizer produced (round trip through the file, its parser
 * and its TOC), the export byte-reproducible, the manifest read back, and the
 * quantizer's constants against values recomputed here from the fp32
 * weights (checked by breaking make_record's shift choice once). */
#include <CUnit/CUnit.h>

#include "core/fsutil.h"
#include "engine/export.h"
#include "io/checkpoint.h"
#include "model/gemm.h"
#include "testutil.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEACHER "models/g2p-teacher"
enum { CALIB = 32 };

static char g_out[64], g_out2[64];

static int suite_init(void) {
    snprintf(g_out, sizeof g_out, "/tmp/mtx_export_%d_a", (int)getpid());
    snprintf(g_out2, sizeof g_out2, "/tmp/mtx_export_%d_b", (int)getpid());
    mtx_set_threads(1);
    return 0;
}

static int suite_clean(void) {
    mtx_test_rm_tree(g_out);
    mtx_test_rm_tree(g_out2);
    return 0;
}

static mtx_status export_to(const char *out, mtx_export_report *r) {
    mtx_export_opts o;
    memset(&o, 0, sizeof o);
    o.model_dir = TEACHER;
    o.out_dir = out;
    o.calib_words = CALIB;
    return mtx_export(&o, r);
}

static void test_plain_model_round_trip(void) {
    mtx_export_report rep;
    CU_ASSERT_EQUAL_FATAL(export_to(g_out, &rep), MTX_OK);
    CU_ASSERT_EQUAL(rep.m.n_plans, 1);
    CU_ASSERT_STRING_EQUAL(rep.m.plans[0].file, "1.00x.plan");
    CU_ASSERT_STRING_EQUAL(rep.m.plans[0].tiling, "t0 t1 t2 t3 t4 t5 | t0 t1 t2 t3 t4 t5");
    CU_ASSERT_EQUAL(rep.calib_words, CALIB);
    /* the quantizer run alone, with the same options, on the same data */
    mtx_bundle b;
    mtx_dataset d;
    mtx_train_config t;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(TEACHER, &b), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_train_config(&b, TEACHER, &t), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &b.model.cfg, TEACHER), MTX_OK);
    mtx_bank bank;
    memset(&bank, 0, sizeof bank);
    bank.teacher = b.model;
    mtx_assembly a;
    memset(&a, 0, sizeof a);
    for (int l = 0; l < 6; l++) {
        a.enc.g[l] = a.dec.g[l] = 1;
        a.enc.j[l] = a.dec.j[l] = (uint8_t)l;
    }
    a.enc.n = a.dec.n = 6;
    mtx_quant q;
    mtx_quant_opts qo = mtx_quant_default_opts();
    qo.calib_words = CALIB;
    CU_ASSERT_EQUAL_FATAL(mtx_quantize(&q, &bank, &a, 1, &d.train, &qo), MTX_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/image.bin", g_out);
    uint8_t *img = NULL;
    uint64_t bytes = 0;
    mtx_image im;
    CU_ASSERT_EQUAL_FATAL(mtx_image_load(path, &img, &bytes, &im), MTX_OK);
    CU_ASSERT_EQUAL(bytes, rep.image_bytes);
    CU_ASSERT_EQUAL(im.toc_count, (uint32_t)q.n_sec);
    CU_ASSERT_EQUAL(q.n_sec, 9 + 2 * 6 + 2 * 6); /* globals + weights and constants per layer */
    int differ = 0;
    for (int i = 0; i < q.n_sec; i++) {
        uint64_t off = 0, len = 0;
        CU_ASSERT_EQUAL_FATAL(mtx_image_find(&im, q.sec[i].type, q.sec[i].index, &off, &len), MTX_OK);
        differ += len != q.sec[i].len || memcmp(img + off, q.sec[i].bytes, (size_t)len) != 0;
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT_EQUAL(memcmp(&im.dims, &q.dims, sizeof im.dims), 0);
    /* constants recomputed independently: the EXP2 table, the teacher's
     * embedding row 5 in residual units, and the first LM record */
    const mtx_quant_section *e2 = mtx_quant_find(&q, MTX_SEC_EXP2, 0);
    CU_ASSERT_FATAL(e2 != NULL && e2->len == 1024);
    CU_ASSERT_EQUAL(mtx_le32(e2->bytes), 32768u);
    CU_ASSERT_EQUAL(mtx_le32(e2->bytes + 4 * 128), 23170u);
    const mtx_quant_section *emb = mtx_quant_find(&q, MTX_SEC_SRC_EMB, 0);
    const double R2 = ldexp(1.0, (int)q.dims.res_frac);
    int bad = 0;
    for (int c = 0; c < 128; c++)
        bad += (int32_t)mtx_le32(emb->bytes + 4 * (5 * 128 + c)) != (int32_t)llround(b.model.w.src_emb[5 * 128 + c] * R2);
    CU_ASSERT_EQUAL(bad, 0);
    /* R: the residual maximum times 2^R fits 2^21, times 2^(R+1) does not */
    CU_ASSERT(ldexp(q.res_max, (int)q.dims.res_frac) <= 2097152.0);
    CU_ASSERT(ldexp(q.res_max, (int)q.dims.res_frac + 1) > 2097152.0);
    CU_ASSERT_EQUAL(q.dims.eps_q, (uint32_t)llround((double)b.model.cfg.layer_norm_epsilon * 128 * R2 * R2));
    /* every record's multipliers below 2^31 with the largest such shift */
    const mtx_quant_section *lm = mtx_quant_find(&q, MTX_SEC_LM_REQ, 0);
    uint32_t s = mtx_le32(lm->bytes);
    int32_t mx = 0;
    for (uint32_t v = 0; v < q.dims.Vt; v++) {
        int32_t m = (int32_t)mtx_le32(lm->bytes + 4 * (1 + v));
        if (abs(m) > mx) mx = abs(m);
    }
    CU_ASSERT(s <= 62 && mx < 2147483647 && (s == 62 || mx >= (1 << 30) - 1));
    free(img);
    mtx_quant_free(&q);
    mtx_dataset_free(&d);
    mtx_bundle_free(&b);
}

static void test_reproducible(void) {
    mtx_export_report r1, r2;
    CU_ASSERT_EQUAL_FATAL(export_to(g_out2, &r2), MTX_OK);
    if (!mtx_file_exists(g_out)) CU_ASSERT_EQUAL_FATAL(export_to(g_out, &r1), MTX_OK);
    const char *files[] = { "image.bin", "1.00x.plan", "source_vocab.txt", "target_vocab.txt", "manifest.json" };
    for (int i = 0; i < 5; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/%s", g_out, files[i]);
        snprintf(b, sizeof b, "%s/%s", g_out2, files[i]);
        uint8_t *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        CU_ASSERT_EQUAL_FATAL(mtx_read_file(a, 1 << 26, &x, &nx), MTX_OK);
        CU_ASSERT_EQUAL_FATAL(mtx_read_file(b, 1 << 26, &y, &ny), MTX_OK);
        CU_ASSERT(nx == ny && memcmp(x, y, nx) == 0);
        free(x);
        free(y);
    }
}

static void test_manifest(void) {
    mtx_manifest m;
    CU_ASSERT_EQUAL_FATAL(mtx_manifest_load(g_out, &m), MTX_OK);
    CU_ASSERT_EQUAL(m.format_version, MTX_MANIFEST_VERSION);
    CU_ASSERT_EQUAL(m.n_plans, 1);
    CU_ASSERT_STRING_EQUAL(m.plans[0].file, "1.00x.plan");
    CU_ASSERT_DOUBLE_EQUAL(m.plans[0].ratio, 1.0, 1e-9);
    CU_ASSERT(m.plans[0].macs > 0 && m.plans[0].weight_bytes > 0);
    CU_ASSERT_STRING_EQUAL(m.data.data, "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict");
    CU_ASSERT(strstr(m.source, "models/g2p-teacher") != NULL);
    /* a hostile manifest: a plan file outside the directory */
    char path[256];
    snprintf(path, sizeof path, "%s/manifest.json", g_out2);
    const char *bad = "{\"format_version\":1,\"source_model\":\"/x\",\"data\":{\"data\":\"\",\"train\":\"\",\"dev\":\"\","
                      "\"test\":\"\"},\"cost_src_len\":7,\"cost_tgt_steps\":8,\"plans\":[{\"file\":\"../x.plan\","
                      "\"ratio\":1,\"tiling\":\"t0 | t0\",\"macs_per_word\":1,\"weight_bytes_per_word\":1}]}\n";
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(path, bad, strlen(bad)), MTX_OK);
    CU_ASSERT_EQUAL(mtx_manifest_load(g_out2, &m), MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "not a plain name") != NULL);
    const char *v2 = "{\"format_version\":2}";
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(path, v2, strlen(v2)), MTX_OK);
    CU_ASSERT_EQUAL(mtx_manifest_load(g_out2, &m), MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "format_version 2") != NULL);
}

void mtx_suite_export(void) {
    CU_pSuite s = CU_add_suite("export", suite_init, suite_clean);
    CU_add_test(s, "plain model: 1.00x.plan, image sections equal the quantizer's", test_plain_model_round_trip);
    CU_add_test(s, "export is byte-reproducible", test_reproducible);
    CU_add_test(s, "manifest read back; hostile manifests refused", test_manifest);
}
