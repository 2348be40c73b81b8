/* test_sweep.c - the sweep library (modular/sweep.h) and its reports
 * (io/report.h) against hand-computed values: row costs, the pruned-subset
 * search, the Pareto frontier, fixed samples, the CSV bytes, write errors,
 * and decode timing of two identical rows. */
#include <CUnit/CUnit.h>

#include "core/fsutil.h"
#include "io/checkpoint.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/sweep.h"
#include "testutil.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A 6 + 6 layer model small enough to count by hand: C = d_model 4, F =
 * d_ff 8, source vocabulary 5, target vocabulary 6, 7 source and 9 target
 * positions (weights all zero: only shapes matter here). */
static mtx_model_config hand_config(void) {
    mtx_model_config c = mtx_model_config_default();
    c.d_model = 4;
    c.num_heads = 2;
    c.d_ff = 8;
    c.src_vocab_size = 5;
    c.tgt_vocab_size = 6;
    c.max_source_positions = 7;
    c.max_target_positions = 9;
    return c;
}

/* Checked against counts by hand (model.c's layer layout: RMSNorm weights,
 * bias-free projections):
 *   encoder layer = 2C + 4C^2 + 2CF = 8 + 64 + 64         = 136
 *   decoder layer = 3C + 8C^2 + 2CF = 12 + 128 + 64       = 204
 *   rest = embeddings C(5 + 7 + 6 + 9) = 108, two final norms 2C = 8,
 *          lm_head 6C = 24                                 = 140
 *   teacher 6 + 6:  140 + 6*136 + 6*204 = 140 + 816 + 1224 = 2180
 *   3 + 2 layers:   140 + 3*136 + 2*204 = 140 + 408 + 408  = 956
 * Lengths: entries with targets of 2 and 4 tokens give a mean decoder length
 * of ((2 + 1) + (4 + 1)) / 2 = 4 steps (</s> included); so the latency
 * (encoder layers once + decoder layers once per output step) is
 *   teacher 6 + 6 * 4 = 30, 3 + 2 layers 3 + 2 * 4 = 11, and ratio 12 / 5 = 2.4.
 * Breaking checked once: without "* tgt_len" in mtx_assembly_latency the
 * latencies are 12 and 5 and this test fails. */
static void test_row_costs(void) {
    mtx_model_config c = hand_config();
    mtx_model teacher;
    CU_ASSERT_EQUAL_FATAL(mtx_model_init(&teacher, &c), MTX_OK);
    CU_ASSERT_EQUAL(teacher.n_params, 2180);
    mtx_bank b;
    static const int g[] = { 2, 3, 6 };
    CU_ASSERT_EQUAL_FATAL(mtx_bank_init(&b, &teacher, g, 3, NULL), MTX_OK);
    int32_t src[8] = { 3, 3, 3, 4, 4, 4, 4, 4 }, tgt[6] = { 3, 4, 3, 4, 5, 3 };
    int src_off[2] = { 0, 3 }, src_len[2] = { 3, 5 }, tgt_off[2] = { 0, 2 }, tgt_len[2] = { 2, 4 }, gs[3] = { 0, 1, 2 };
    mtx_encoded e = { 2, src, tgt, src_off, src_len, tgt_off, tgt_len, 2, gs, 0 };
    mtx_len_stats lens = mtx_len_stats_of(&e);
    CU_ASSERT_DOUBLE_EQUAL(lens.tgt_len, 4.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(lens.src_len, 4.0, 1e-12);

    mtx_assembly a;
    mtx_report_row row;
    mtx_assembly_teacher(&b, &a);
    CU_ASSERT_EQUAL(mtx_sweep_row_costs(&b, &a, &lens, "teacher", &row), MTX_OK);
    CU_ASSERT_EQUAL(row.params, 2180);
    CU_ASSERT_DOUBLE_EQUAL(row.latency, 30.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(row.ratio, 1.0, 1e-12);
    CU_ASSERT_STRING_EQUAL(row.enc, "t0 t1 t2 t3 t4 t5");

    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("m2.0 m2.1 m2.2", &a.enc), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("m3.0 m3.1", &a.dec), MTX_OK);
    CU_ASSERT_EQUAL(mtx_sweep_row_costs(&b, &a, &lens, "modular", &row), MTX_OK);
    CU_ASSERT_STRING_EQUAL(row.kind, "modular");
    CU_ASSERT(row.enc_layers == 3 && row.dec_layers == 2);
    CU_ASSERT_EQUAL(row.params, 956);
    CU_ASSERT_DOUBLE_EQUAL(row.latency, 11.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(row.ratio, 2.4, 1e-12);
    CU_ASSERT_STRING_EQUAL(row.enc, "m2.0 m2.1 m2.2");
    CU_ASSERT_STRING_EQUAL(row.dec, "m3.0 m3.1");

    /* a pruned teacher of the same size costs the same: layers t0 t2 t4 | t1 t5 */
    mtx_pruned_assembly(0x15, 0x22, 6, 6, &a);
    CU_ASSERT_EQUAL(mtx_sweep_row_costs(&b, &a, &lens, "pruned*", &row), MTX_OK);
    CU_ASSERT_EQUAL(row.params, 956);
    CU_ASSERT_DOUBLE_EQUAL(row.latency, 11.0, 1e-12);
    CU_ASSERT_STRING_EQUAL(row.enc, "t0 t2 t4");
    CU_ASSERT_STRING_EQUAL(row.dec, "t1 t5");
    mtx_net net;
    mtx_pruned_net(&b, &a, &net);
    CU_ASSERT(net.n_enc == 3 && net.n_dec == 2 && net.enc[1] == &b.teacher.w.enc[2] &&
              net.dec[1] == &b.teacher.w.dec[5]);
    CU_ASSERT_EQUAL(mtx_sweep_row_costs(&b, &a, &lens, "a kind too long", &row), MTX_ERR_ARG);
    mtx_bank_free(&b);
    mtx_model_free(&teacher);
}

/* The pruned search on a hand table of 3 x 3 subsets (one of 3 layers per
 * stack; enumeration order e1d1 e1d2 e1d4 e2d1 ... e4d4). nll ranks e4d4
 * last, so it is no finalist although its WER (0) is the lowest of all; of
 * the 8 finalists, e2d1 and e4d1 share the lowest WER 20 and e4d1 has the
 * lower PER: the answer is e4d1. Breaking checked once: keeping the finalist
 * of highest WER instead returns e4d2 (WER 60) and this test fails. */
typedef struct { int nll_calls, score_calls, fail_nll; } table_ctx;
static int pos_of(uint64_t m) { return m == 1 ? 0 : m == 2 ? 1 : 2; }
static mtx_status table_nll(void *p, uint64_t e, uint64_t d, double *nll) {
    static const double t[9] = { 0.5, 0.3, 0.7, 0.2, 0.6, 0.1, 0.4, 0.8, 0.9 };
    table_ctx *c = p;
    c->nll_calls++;
    if (c->fail_nll && c->nll_calls == 3) return mtx_set_error(MTX_ERR_IO, "table: nll failed");
    *nll = t[pos_of(e) * 3 + pos_of(d)];
    return MTX_OK;
}
static mtx_status table_score(void *p, uint64_t e, uint64_t d, double *wer, double *per) {
    static const double w[9] = { 50, 40, 30, 20, 35, 45, 20, 60, 0 }, r[9] = { 9, 8, 7, 5, 6, 8, 3, 9, 0 };
    table_ctx *c = p;
    c->score_calls++;
    *wer = w[pos_of(e) * 3 + pos_of(d)];
    *per = r[pos_of(e) * 3 + pos_of(d)];
    return MTX_OK;
}

static void test_prune_search(void) {
    table_ctx c = { 0, 0, 0 };
    uint64_t e = 0, d = 0;
    CU_ASSERT_EQUAL(mtx_prune_search(3, 3, 1, 1, table_nll, table_score, &c, &e, &d), MTX_OK);
    CU_ASSERT_EQUAL(c.nll_calls, 9);
    CU_ASSERT_EQUAL(c.score_calls, MTX_PRUNE_FINALISTS);
    CU_ASSERT(e == 4 && d == 1);
    /* a failing stage is the search's failure */
    table_ctx f = { 0, 0, 1 };
    CU_ASSERT_EQUAL(mtx_prune_search(3, 3, 1, 1, table_nll, table_score, &f, &e, &d), MTX_ERR_IO);
    CU_ASSERT_EQUAL(f.score_calls, 0);
    CU_ASSERT_EQUAL(mtx_prune_search(3, 3, 4, 1, table_nll, table_score, &c, &e, &d), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_prune_search(17, 3, 1, 1, table_nll, table_score, &c, &e, &d), MTX_ERR_ARG);
}

/* Frontier on a hand table (lower cost and lower error are better):
 * (1,5) kept; (2,4) kept; (2,6) beaten by (1,5); (3,4) beaten by (2,4)
 * (same error, more cost); (4,1) twice: both kept (neither is better). */
static void test_pareto(void) {
    const double cost[] = { 1, 2, 2, 3, 4, 4 }, err[] = { 5, 4, 6, 4, 1, 1 };
    int on[6];
    mtx_pareto_mark(cost, err, 6, on);
    const int want[] = { 1, 1, 0, 0, 1, 1 };
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(on[i], want[i]);
    /* rows: faster (more words/s) is better; (1000, 28) (900, 29) (2000, 30)
     * (2000, 31) (5000, 99) (3000, 99) -> kept: 1st, 3rd, 5th */
    mtx_report_row rows[6];
    const double wps[] = { 1000, 900, 2000, 2000, 5000, 3000 }, wer[] = { 28, 29, 30, 31, 99, 99 };
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 6; i++) rows[i].words_per_s = wps[i], rows[i].wer = wer[i];
    CU_ASSERT_EQUAL(mtx_sweep_mark_frontier(rows, 6), MTX_OK);
    const int want_rows[] = { 1, 0, 1, 0, 1, 0 };
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(rows[i].pareto, want_rows[i]);
}

/* Five groups, the third empty: a sample of 2 takes non-empty groups 0 and
 * 2 of the 4 (floor(0 * 4 / 2), floor(1 * 4 / 2)), i.e. groups 0 and 3 of
 * the data, with all their entries. */
static void test_samples(void) {
    int32_t src[6] = { 1, 2, 3, 4, 5, 6 }, tgt[6] = { 11, 12, 13, 14, 15, 16 };
    int off[6] = { 0, 1, 2, 3, 4, 5 }, len[6] = { 1, 1, 1, 1, 1, 1 }, gs[6] = { 0, 1, 3, 3, 4, 6 };
    mtx_encoded e = { 6, src, tgt, off, len, off, len, 5, gs, 0 };
    mtx_encoded s;
    CU_ASSERT_EQUAL_FATAL(mtx_encoded_spread(&e, 2, &s), MTX_OK);
    CU_ASSERT(s.n_groups == 2 && s.n == 2 && s.group_start[1] == 1 && s.group_start[2] == 2);
    CU_ASSERT(s.src[0] == 1 && s.tgt[0] == 11 && s.src[1] == 4 && s.tgt[1] == 14 && s.src_off[1] == 1);
    mtx_encoded_free(&s);
    CU_ASSERT_EQUAL_FATAL(mtx_encoded_spread(&e, 100, &s), MTX_OK); /* all 4 words, 6 entries */
    CU_ASSERT(s.n_groups == 4 && s.n == 6 && s.group_start[2] == 3 && s.src[5] == 6 && s.tgt_len[5] == 1);
    mtx_encoded_free(&s);
    mtx_encoded v = mtx_encoded_prefix(&e, 2);
    CU_ASSERT(v.n_groups == 2 && v.n == 3);
    v = mtx_encoded_prefix(&e, 0);
    CU_ASSERT(v.n_groups == 5 && v.n == 6);
}

static void hand_rows(mtx_report_row r[2]) {
    memset(r, 0, 2 * sizeof *r);
    r[0] = (mtx_report_row){ "teacher", 1.0, 6, 6, 2180, 30.0, 2281.64, 6.7514, 27.9012, 1, "t0 t1", "t0 t1" };
    r[1] = (mtx_report_row){ "modular", 2.4, 3, 2, 956, 11.0, 5000.05, 7.0, 30.0, 0, "m2.0 m2.1 m2.2", "m3.0 m3.1" };
}

static char *slurp(const char *path) {
    uint8_t *d = NULL;
    size_t n = 0;
    return mtx_read_file(path, 1 << 20, &d, &n) ? NULL : (char *)d;
}

/* sweep.csv and frontier.csv byte for byte (values rounded by hand:
 * 2281.64 -> 2281.6, 5000.05 -> 5000.1 (the double just above it), 6.7514 ->
 * 6.751, WER drop 30.0 - 27.9012 = 2.0988 -> 2.099); a path in a missing
 * folder is an I/O error naming it and leaves nothing behind; a field with a
 * comma is refused. */
static void test_report_csv(void) {
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/mtx_test_sweep_%ld", (long)getpid());
    mtx_test_rm_tree(dir);
    CU_ASSERT_EQUAL_FATAL(mtx_mkdir_p(dir), MTX_OK);
    mtx_report_row r[2];
    hand_rows(r);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    CU_ASSERT_EQUAL(mtx_report_csv(path, r, 2), MTX_OK);
    char *got = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got,
        "kind,ratio,enc_layers,dec_layers,params,est_latency,words_per_s,per,wer,wer_drop,encoder_tiling,decoder_tiling\n"
        "teacher,1.0000,6,6,2180,30.00,2281.6,6.751,27.901,0.000,t0 t1,t0 t1\n"
        "modular,2.4000,3,2,956,11.00,5000.1,7.000,30.000,2.099,m2.0 m2.1 m2.2,m3.0 m3.1\n");
    free(got);
    snprintf(path, sizeof path, "%s/frontier.csv", dir);
    CU_ASSERT_EQUAL(mtx_report_frontier_csv(path, r, 2), MTX_OK);
    got = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got,
        "ratio,enc_layers,dec_layers,params,est_latency,dev_per,dev_wer,pareto,encoder_tiling,decoder_tiling\n"
        "1.0000,6,6,2180,30.00,6.751,27.901,1,t0 t1,t0 t1\n"
        "2.4000,3,2,956,11.00,7.000,30.000,0,m2.0 m2.1 m2.2,m3.0 m3.1\n");
    free(got);
    snprintf(path, sizeof path, "%s/missing/sweep.csv", dir);
    CU_ASSERT_EQUAL(mtx_report_csv(path, r, 2), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), path));
    CU_ASSERT_EQUAL(mtx_report_svg(path, "t", r, 2), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "missing/sweep.csv"));
    CU_ASSERT_FALSE(mtx_file_exists(path));
    snprintf(r[1].dec, sizeof r[1].dec, "m3.0,m3.1");
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    CU_ASSERT_EQUAL(mtx_report_csv(path, r, 2), MTX_ERR_ARG);
    CU_ASSERT_FALSE(mtx_file_exists(path));
    CU_ASSERT_EQUAL(mtx_report_csv(path, r, 0), MTX_ERR_ARG);
    mtx_test_rm_tree(dir);
}

/* The text table and the JSON rows of the hand table. */
static void test_report_text_json(void) {
    mtx_report_row r[2];
    hand_rows(r);
    char *t = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_report_text(r, 2, &t), MTX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\nmodular   2.40x    3    2       956     11.0      5000    7.00   30.00   +2.10  "
                                     "m2.0 m2.1 m2.2 | m3.0 m3.1\n"));
    free(t);
    CU_ASSERT_EQUAL_FATAL(mtx_report_json(r, 2, &t), MTX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "{\"kind\":\"modular\",\"ratio\":2.4000,\"enc_layers\":3,\"dec_layers\":2,"
                                     "\"params\":956,\"est_latency\":11.00,\"words_per_s\":5000.1,\"per\":7.0000,"
                                     "\"wer\":30.0000,\"wer_drop\":2.0988,\"pareto\":0,"));
    free(t);
}

/* (Breaking checked once: fitting the axis to every row fails this test.)
 * The plot of a hand table: teacher (1000 words/s, WER 28), modular (2000,
 * 30) and a pruned row (1500, 66). The WER axis is fitted to 28..30: padded
 * by 0.5 to 27.5..30.5, ticks every 0.5 (a round step near 3 / 6); the pruned
 * row lies above it, so it is drawn in the band with its WER written out;
 * teacher and modular form the frontier (the pruned row is slower and worse
 * than the modular one), one polyline of two points. */
static void test_report_svg(void) {
    char path[96];
    snprintf(path, sizeof path, "/tmp/mtx_test_sweep_svg_%ld.svg", (long)getpid());
    mtx_report_row r[3];
    memset(r, 0, sizeof r);
    r[0] = (mtx_report_row){ "teacher", 1.0, 6, 6, 2180, 30.0, 1000, 7, 28, 0, "t0", "t0" };
    r[1] = (mtx_report_row){ "modular", 2.0, 3, 3, 956, 11.0, 2000, 8, 30, 0, "m2.0", "m2.0" };
    r[2] = (mtx_report_row){ "pruned", 2.0, 3, 3, 956, 11.0, 1500, 40, 66, 0, "t0", "t0" };
    CU_ASSERT_EQUAL_FATAL(mtx_sweep_mark_frontier(r, 3), MTX_OK);
    CU_ASSERT(r[0].pareto && r[1].pareto && !r[2].pareto);
    CU_ASSERT_EQUAL_FATAL(mtx_report_svg(path, "a <title> & more", r, 3), MTX_OK);
    char *v = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v, ">27.5</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, ">30.5</text>"));
    CU_ASSERT_PTR_NULL(strstr(v, ">31</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, ">&gt; 30.5</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, ">2.00x pruned 66.0</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "a &lt;title&gt; &amp; more"));
    const char *pl = strstr(v, "<polyline");
    CU_ASSERT_TRUE(pl && !strstr(pl + 1, "<polyline"));
    int pts = 0;
    for (const char *q = pl ? strstr(pl, "points=\"") : NULL; q && *q && *q != '/'; q++) pts += *q == ',';
    CU_ASSERT_EQUAL(pts, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "</svg>\n"));
    free(v);
    remove(path);
}

/* Two rows doing the same work (the shipped teacher twice, on 300 test words
 * of CMUdict) must time within 10% of each other. */
static void test_same_work_same_speed(void) {
    mtx_bundle m;
    if (mtx_bundle_load("models/g2p-teacher", &m)) {
        CU_FAIL("models/g2p-teacher does not load (run from the repository root)");
        return;
    }
    mtx_train_config t;
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_train_config(&m, "models/g2p-teacher", &t), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m.model.cfg, "models/g2p-teacher"), MTX_OK);
    mtx_encoded s;
    CU_ASSERT_EQUAL_FATAL(mtx_encoded_spread(&d.test, 256, &s), MTX_OK);
    CU_ASSERT_EQUAL(s.n_groups, 256);
    mtx_set_threads(1); /* one GEMM thread: no spinning pool competing with the rest of the machine */
    mtx_net nets[2];
    mtx_net_from_model(&nets[0], &m.model, NULL);
    nets[1] = nets[0];
    double wps[2] = { 0, 0 };
    CU_ASSERT_EQUAL(mtx_sweep_time(nets, 2, &s, 9, wps), MTX_OK);
    const double gap = fabs(wps[0] - wps[1]) / fmax(wps[0], wps[1]);
    if (!(gap < 0.10) || getenv("MTX_SHOW_TIMING"))
        fprintf(stderr, "\n  same work: %.0f and %.0f words/s\n", wps[0], wps[1]);
    CU_ASSERT(wps[0] > 0 && gap < 0.10);
    mtx_encoded_free(&s);
    mtx_dataset_free(&d);
    mtx_bundle_free(&m);
}

void mtx_suite_sweep(void) {
    CU_pSuite s = CU_add_suite("sweep", NULL, NULL);
    CU_add_test(s, "row parameters and latency against hand counts", test_row_costs);
    CU_add_test(s, "pruned search keeps the best of its finalists", test_prune_search);
    CU_add_test(s, "Pareto frontier on a hand table", test_pareto);
    CU_add_test(s, "fixed samples and prefixes of a split", test_samples);
    CU_add_test(s, "sweep.csv and frontier.csv exact; write errors", test_report_csv);
    CU_add_test(s, "text table and JSON rows", test_report_text_json);
    CU_add_test(s, "sweep.svg: fitted WER axis, band above it, frontier", test_report_svg);
    CU_add_test(s, "two rows of the same work time within 10%", test_same_work_same_speed);
}
