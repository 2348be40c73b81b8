/* test_modular.c - module banks: tiling enumeration, assemblies equal to the
 * teacher bit for bit, assembled checkpoints, frozen teacher, gradient check
 * of the whole modularize objective, exact resume, a tiny end-to-end run,
 * and unreachable ratios. */
#include "testutil.h"
#include "modular/assemble.h"
#include "model/gemm.h"
#include "modular/modular.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Independent count of tilings: dynamic programming over positions. */
static int count_tilings(int L, const int *g, int ng) {
    int ways[MTX_MAX_LAYERS + 1] = { 0 };
    ways[L] = 1;
    for (int i = L - 1; i >= 0; i--) {
        ways[i] = ways[i + 1];
        for (int k = 0; k < ng; k++)
            if (g[k] > 1 && L % g[k] == 0 && i % g[k] == 0 && i + g[k] <= L) ways[i] += ways[i + g[k]];
    }
    return ways[0];
}

static void test_tiling_enumeration(void) {
    static const int g236[] = { 2, 3, 6 }, g2[] = { 2 }, g24[] = { 4, 2 };
    struct { int L; const int *g; int ng; int expect; } cases[] = {
        { 6, g236, 3, 14 }, { 4, g2, 1, 4 }, { 8, g24, 2, -1 }, { 5, g236, 3, 1 }, { 12, g236, 3, -1 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mtx_tiling t[4096];
        int n = mtx_tiling_enumerate(cases[c].L, cases[c].g, cases[c].ng, t, 4096);
        CU_ASSERT_EQUAL(n, count_tilings(cases[c].L, cases[c].g, cases[c].ng));
        if (cases[c].expect >= 0) CU_ASSERT_EQUAL(n, cases[c].expect);
        for (int i = 0; i < n && i < 4096; i++) {
            CU_ASSERT_EQUAL(mtx_tiling_validate(&t[i], cases[c].L, cases[c].g, cases[c].ng), MTX_OK);
            for (int k = 0; k < i; k++) CU_ASSERT(memcmp(&t[i], &t[k], sizeof t[i]) != 0);
            /* text round trip */
            char buf[512];
            mtx_tiling back;
            mtx_tiling_format(&t[i], buf, sizeof buf);
            CU_ASSERT_EQUAL(mtx_tiling_parse(buf, &back), MTX_OK);
            CU_ASSERT_EQUAL(back.n, t[i].n);
            CU_ASSERT_EQUAL(memcmp(back.g, t[i].g, (size_t)t[i].n), 0);
            CU_ASSERT_EQUAL(memcmp(back.j, t[i].j, (size_t)t[i].n), 0);
        }
    }
    /* invalid tilings are refused */
    mtx_tiling bad;
    CU_ASSERT_EQUAL(mtx_tiling_parse("t0 m2.1 m3.1", &bad), MTX_OK);
    CU_ASSERT_EQUAL(mtx_tiling_validate(&bad, 6, g236, 3), MTX_ERR_ARG); /* m2.1 starts at 2, not 1 */
    CU_ASSERT_EQUAL(mtx_tiling_parse("m3.0 m2.1", &bad), MTX_OK);
    CU_ASSERT_EQUAL(mtx_tiling_validate(&bad, 6, g236, 3), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_tiling_parse("m4.0 t4 t5", &bad), MTX_OK);
    CU_ASSERT_EQUAL(mtx_tiling_validate(&bad, 6, g236, 3), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_tiling_parse("t0 x1", &bad), MTX_ERR_FORMAT);
}

/* A small trained teacher shared by the tests below (6 + 6 layers). */
static mtx_dataset g_data;
static mtx_model g_teacher;
static int g_ready;

static mtx_train_config tiny_train(void) {
    mtx_train_config t = mtx_test_words20_config(128);
    t.warmup_steps = 10;
    t.max_steps = 150;
    t.lr = 3e-3f;
    return t;
}

static int suite_init(void) {
    mtx_set_threads(1);
    mtx_train_config t = tiny_train();
    mtx_model_config m = mtx_model_config_default();
    m.d_model = 16;
    m.num_heads = 2;
    m.d_ff = 32;
    m.dropout_rate = 0.0f;
    if (mtx_dataset_load(&g_data, &t, &m, NULL)) return 1;
    mtx_trainer *tr;
    if (mtx_trainer_new(&tr, &m, &t, &g_data, NULL)) return 1;
    for (int i = 0; i < t.max_steps; i++)
        if (mtx_trainer_step(tr, NULL)) return 1;
    const mtx_model *tm = mtx_trainer_model(tr);
    if (mtx_model_init(&g_teacher, &tm->cfg)) return 1;
    memcpy(g_teacher.params, tm->params, tm->n_params * sizeof(float));
    mtx_trainer_free(tr);
    g_ready = 1;
    return 0;
}

static int suite_clean(void) {
    if (g_ready) {
        mtx_model_free(&g_teacher);
        mtx_dataset_free(&g_data);
    }
    return 0;
}

static mtx_modular_config tiny_modular(void) {
    mtx_modular_config c = mtx_modular_config_default();
    c.opt = tiny_train();
    c.opt.max_steps = 80;
    c.opt.lr = 2e-3f;
    c.opt.warmup_steps = 5;
    c.rate_base = 0.5f;
    c.rate_slope = 0.5f / 40.0f;
    c.dropout = 0.0f;
    return c;
}

static void forward_logits(const mtx_net *n, mtx_acts *a, mtx_batch_buf *bb, mtx_batcher *bt) {
    mtx_batch_fill(bb, bt, 0);
    mtx_fwd_opts o = { 0.0f, 0, 0 };
    CU_ASSERT_EQUAL_FATAL(mtx_forward(a, n, &bb->b, &o), MTX_OK);
}

static void test_teacher_assembly_bit_exact(void) {
    mtx_bank b;
    static const int g[] = { 2, 3, 6 };
    CU_ASSERT_EQUAL_FATAL(mtx_bank_init(&b, &g_teacher, g, 3, NULL), MTX_OK);
    mtx_assembly a;
    mtx_assembly_teacher(&b, &a);
    mtx_net nb, nt;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_net(&b, &a, &nb, NULL, NULL), MTX_OK);
    mtx_net_from_model(&nt, &g_teacher, NULL);
    mtx_acts a1, a2;
    mtx_batch_buf bb;
    mtx_batcher bt;
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&a1, &g_teacher.cfg, 6, 6, 128, 32), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&a2, &g_teacher.cfg, 6, 6, 128, 32), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batch_buf_init(&bb, 128), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batcher_init(&bt, &g_data.test, 128), MTX_OK);
    mtx_batcher_epoch(&bt, 0, 0, 0);
    forward_logits(&nb, &a1, &bb, &bt);
    forward_logits(&nt, &a2, &bb, &bt);
    size_t n = (size_t)bb.b.B * bb.b.T * g_teacher.cfg.tgt_vocab_size;
    CU_ASSERT_EQUAL(memcmp(a1.logits, a2.logits, n * sizeof(float)), 0);
    /* and the whole evaluation agrees */
    mtx_eval_result r1, r2;
    CU_ASSERT_EQUAL_FATAL(mtx_eval_encoded(&nb, &g_data.test, 1, 1.0f, &r1), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_eval_encoded(&nt, &g_data.test, 1, 1.0f, &r2), MTX_OK);
    CU_ASSERT_EQUAL(r1.score.errors, r2.score.errors);
    CU_ASSERT_EQUAL(r1.score.word_errors, r2.score.word_errors);
    mtx_batcher_free(&bt);
    mtx_batch_buf_free(&bb);
    mtx_acts_free(&a1);
    mtx_acts_free(&a2);
    mtx_bank_free(&b);
}

static void test_assembled_checkpoint_roundtrip(void) {
    mtx_modular_config c = tiny_modular();
    mtx_modular *m;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, NULL), MTX_OK);
    const mtx_bank *b = mtx_modular_bank(m);
    mtx_assembly a;
    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("m2.0 t2 m3.1", &a.enc), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("m3.0 t3 t4 t5", &a.dec), MTX_OK);
    mtx_model asm_model;
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_to_model(b, &a, &asm_model), MTX_OK);
    CU_ASSERT_EQUAL(asm_model.n_params, mtx_assembly_params(b, &a));
    char dir[] = "/tmp/mtx_asm_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_save(dir, &asm_model, &g_data.sv, &g_data.tv, NULL, MTX_DT_F32, NULL), MTX_OK);
    mtx_bundle loaded;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(dir, &loaded), MTX_OK);
    CU_ASSERT_EQUAL(loaded.model.cfg.num_layers, 3);
    CU_ASSERT_EQUAL(loaded.model.cfg.num_decoder_layers, 4);
    mtx_net n1, n2;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_net(b, &a, &n1, NULL, NULL), MTX_OK);
    mtx_net_from_model(&n2, &loaded.model, NULL);
    mtx_acts a1, a2;
    mtx_batch_buf bb;
    mtx_batcher bt;
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&a1, &g_teacher.cfg, 6, 6, 128, 32), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&a2, &loaded.model.cfg, 3, 4, 128, 32), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batch_buf_init(&bb, 128), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batcher_init(&bt, &g_data.dev, 128), MTX_OK);
    mtx_batcher_epoch(&bt, 0, 0, 0);
    forward_logits(&n1, &a1, &bb, &bt);
    forward_logits(&n2, &a2, &bb, &bt);
    size_t n = (size_t)bb.b.B * bb.b.T * g_teacher.cfg.tgt_vocab_size;
    CU_ASSERT_EQUAL(memcmp(a1.logits, a2.logits, n * sizeof(float)), 0);
    mtx_batcher_free(&bt);
    mtx_batch_buf_free(&bb);
    mtx_acts_free(&a1);
    mtx_acts_free(&a2);
    mtx_bundle_free(&loaded);
    mtx_model_free(&asm_model);
    mtx_modular_free(m);
    mtx_test_rm_tree(dir);
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
}

static void test_teacher_frozen_and_dev_loss_drops(void) {
    mtx_modular_config c = tiny_modular();
    mtx_modular *m;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    const mtx_bank *b = mtx_modular_bank(m);
    float *before = malloc(g_teacher.n_params * sizeof(float)), *mod0 = malloc(b->n_mod * sizeof(float));
    CU_ASSERT_FATAL(before && mod0);
    memcpy(before, b->teacher.params, g_teacher.n_params * sizeof(float));
    memcpy(mod0, b->mod, b->n_mod * sizeof(float));
    mtx_assembly small;
    mtx_assembly_smallest(b, &small);
    CU_ASSERT_EQUAL(small.enc.n + small.dec.n, 2);
    double nll0, nll1, acc;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_eval(m, &small, &g_data.dev, &nll0, &acc), MTX_OK);
    for (int i = 0; i < c.opt.max_steps; i++) CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, NULL), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_eval(m, &small, &g_data.dev, &nll1, &acc), MTX_OK);
    CU_ASSERT(nll1 < 0.8 * nll0);
    /* the teacher (inside the bank and the original) is untouched; modules moved */
    CU_ASSERT_EQUAL(memcmp(before, b->teacher.params, g_teacher.n_params * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(mod0, b->mod, b->n_mod * sizeof(float)), 0);
    free(before);
    free(mod0);
    mtx_modular_free(m);
}

/* Finite differences of the whole modularize objective (CE + KD + hidden MSE
 * [+ local MSE]) with respect to module parameters, through a mixed assembly,
 * for plain and relative hidden-state norms. With the local term every
 * module of the bank has a gradient; without it, modules outside the
 * assembly have exactly zero. */
static void check_objective_grad(int relative, float gamma_local, float beta_attention) {
    mtx_modular_config c = tiny_modular();
    c.alpha_kd = 0.7f;
    c.beta_hidden = 0.5f;
    c.beta_attention = beta_attention;
    c.temperature = 1.5f;
    c.opt.label_smoothing = 0.1f;
    c.hidden_relative = relative;
    c.gamma_local = gamma_local;
    c.dropout = gamma_local > 0 ? 0.1f : 0.0f; /* masks are a function of the step: FD still exact */
    mtx_modular *m;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    mtx_bank *b = (mtx_bank *)mtx_modular_bank(m);
    mtx_rng r;
    mtx_rng_seed(&r, 17);
    for (size_t i = 0; i < b->n_mod; i++) b->mod[i] += 0.05f * mtx_rng_normal(&r);
    mtx_assembly a;
    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("m2.0 t2 m3.1", &a.enc), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_tiling_parse("t0 t1 m2.1 m2.2", &a.dec), MTX_OK);
    mtx_batch_buf bb;
    mtx_batcher bt;
    CU_ASSERT_EQUAL_FATAL(mtx_batch_buf_init(&bb, 128), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batcher_init(&bt, &g_data.dev, 64), MTX_OK);
    mtx_batcher_epoch(&bt, 0, 0, 0);
    mtx_batch_fill(&bb, &bt, 0);
    double loss;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_loss_grad(m, &a, &bb.b, 0, &loss, NULL), MTX_OK);
    float *g = malloc(b->n_mod * sizeof(float));
    CU_ASSERT_FATAL(g != NULL);
    memcpy(g, mtx_modular_grad(m), b->n_mod * sizeof(float));
    /* check a deterministic sample of coordinates in every module that is used */
    double diff = 0, norm = 0;
    int checked = 0, nonzero_unused = 0;
    mtx_enc_layer *e3 = mtx_bank_enc_module(b, 3, 1), *e6 = mtx_bank_enc_module(b, 6, 0);
    for (size_t i = 0; i < b->n_mod; i += 37) {
        float keep = b->mod[i];
        const float h = 3e-3f;
        double lp, lm;
        b->mod[i] = keep + h;
        CU_ASSERT_EQUAL_FATAL(mtx_modular_loss_grad(m, &a, &bb.b, 0, &lp, NULL), MTX_OK);
        b->mod[i] = keep - h;
        CU_ASSERT_EQUAL_FATAL(mtx_modular_loss_grad(m, &a, &bb.b, 0, &lm, NULL), MTX_OK);
        b->mod[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        diff += (num - g[i]) * (num - g[i]);
        norm += num * num + (double)g[i] * g[i];
        checked++;
    }
    /* m6.0 (encoder) is outside the assembly: zero gradient unless the local term trains it */
    size_t e6off = (size_t)(e6->ln1 - b->mod), e3off = (size_t)(e3->ln1 - b->mod);
    for (size_t i = 0; i < mtx_enc_layer_size(&g_teacher.cfg); i++) nonzero_unused += g[e6off + i] != 0.0f;
    if (gamma_local > 0) {
        CU_ASSERT(nonzero_unused > 0);
    } else {
        CU_ASSERT_EQUAL(nonzero_unused, 0);
    }
    double used_norm = 0;
    for (size_t i = 0; i < mtx_enc_layer_size(&g_teacher.cfg); i++) used_norm += fabs(g[e3off + i]);
    CU_ASSERT(used_norm > 0);
    double rel = sqrt(diff) / (sqrt(norm) + 1e-30);
    if (rel > 2e-2)
        fprintf(stderr, "\n  modular objective (relative %d, local %g, attention %g): normalised error %.3g over %d coordinates\n",
                relative, gamma_local, beta_attention, rel, checked);
    CU_ASSERT(rel < 2e-2);
    free(g);
    mtx_batcher_free(&bt);
    mtx_batch_buf_free(&bb);
    mtx_modular_free(m);
}

static void test_modular_objective_grad(void) {
    check_objective_grad(0, 0.0f, 0.0f);
    check_objective_grad(1, 0.0f, 0.0f);
    check_objective_grad(1, 0.8f, 0.0f);
    check_objective_grad(1, 0.0f, 2.0f);
    check_objective_grad(1, 0.8f, 1.0f);
}

/* How many modules of a bank of the 6 + 6 test teacher differ from the
 * snapshot mod0 of its module parameters; *total receives the module count. */
static int modules_moved(const mtx_bank *b, const float *mod0, int *total) {
    const mtx_model_config *mc = &b->teacher.cfg;
    int moved = 0;
    *total = 0;
    for (int gi = 0; gi < b->n_gran; gi++)
        for (int j = 0; j < mc->num_layers / b->gran[gi]; j++) {
            const mtx_enc_layer *e = mtx_bank_enc_module(b, b->gran[gi], j);
            const mtx_dec_layer *d = mtx_bank_dec_module(b, b->gran[gi], j);
            moved += !!memcmp(e->ln1, mod0 + (e->ln1 - b->mod), mtx_enc_layer_size(mc) * sizeof(float));
            moved += !!memcmp(d->ln1, mod0 + (d->ln1 - b->mod), mtx_dec_layer_size(mc) * sizeof(float));
            *total += 2;
        }
    return moved;
}

/* The local term's defining property: with the replacement rate held at 0
 * the hybrid is the teacher and contains no module, yet training on the
 * local term alone lowers the local loss and moves every module. */
static void test_local_term_trains_every_module(void) {
    mtx_modular_config c = tiny_modular();
    c.alpha_kd = 0.0f;
    c.beta_hidden = 0.0f;
    c.gamma_local = 1.0f;
    c.hidden_relative = 1;
    c.rate_base = 0.0f;  /* replacement rate 0: the hybrid is the teacher, no module is in it */
    c.rate_slope = 0.0f;
    c.opt.max_steps = 30;
    c.opt.warmup_steps = 1;
    mtx_modular *m;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    mtx_modular_stats s0, s;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, &s0), MTX_OK);
    CU_ASSERT_EQUAL(s0.enc_blocks, 6); /* all-teacher assembly */
    CU_ASSERT(s0.local > 0);
    const mtx_bank *b = mtx_modular_bank(m);
    float *mod0 = malloc(b->n_mod * sizeof(float));
    CU_ASSERT_FATAL(mod0 != NULL);
    memcpy(mod0, b->mod, b->n_mod * sizeof(float));
    double first = 0, last = 0;
    for (int i = 0; i < 29; i++) {
        CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, &s), MTX_OK);
        if (i < 5) first += s.local;
        if (i >= 24) last += s.local;
    }
    CU_ASSERT(last < 0.8 * first);
    /* every module moved, though none was ever in the hybrid */
    int total;
    CU_ASSERT_EQUAL(modules_moved(b, mod0, &total), total);
    free(mod0);
    mtx_modular_free(m);
}

/* local_rate < 1: each step trains a seeded draw of the modules through the
 * local term (some, not all, move in one step with the hybrid free of
 * modules), every module is drawn within a few steps, and the drawn set is a
 * function of the step (two trainers agree bit for bit). */
static void test_local_rate_draws_modules(void) {
    mtx_modular_config c = tiny_modular();
    c.alpha_kd = 0.0f;
    c.beta_hidden = 0.0f;
    c.gamma_local = 1.0f;
    c.local_rate = 0.5f;
    c.hidden_relative = 1;
    c.rate_base = 0.0f;
    c.rate_slope = 0.0f;
    c.opt.max_steps = 30;
    c.opt.warmup_steps = 1;
    mtx_modular *m, *m2;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m2, &c, &g_teacher, &g_data), MTX_OK);
    const mtx_bank *b = mtx_modular_bank(m);
    float *mod0 = malloc(b->n_mod * sizeof(float));
    CU_ASSERT_FATAL(mod0 != NULL);
    memcpy(mod0, b->mod, b->n_mod * sizeof(float));
    int total = 0;
    for (int step = 0; step < 30; step++) {
        mtx_modular_stats s;
        CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, &s), MTX_OK);
        CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m2, NULL), MTX_OK);
        const int moved = modules_moved(b, mod0, &total);
        if (step == 0) {
            CU_ASSERT(moved > 0 && moved < total);
            if (!(moved > 0 && moved < total)) fprintf(stderr, "\n    first step moved %d of %d modules\n", moved, total);
        }
        if (step == 29) CU_ASSERT_EQUAL(moved, total);
    }
    CU_ASSERT_EQUAL(memcmp(b->mod, mtx_modular_bank(m2)->mod, b->n_mod * sizeof(float)), 0);
    free(mod0);
    mtx_modular_free(m);
    mtx_modular_free(m2);
}

/* match_rate: at 1 the decoder tiling of every sampled assembly is the
 * encoder's; at 0 the stacks are drawn apart (at replacement rate 1, some
 * of 60 steps differ); the encoder's draw does not depend on it. */
static void test_match_rate_sampling(void) {
    mtx_modular_config c = mtx_modular_config_default();
    c.rate_base = 1.0f;
    c.rate_slope = 0.0f;
    int differ0 = 0, differ1 = 0, modules1 = 0;
    for (int64_t step = 0; step < 60; step++) {
        mtx_assembly a0, a1;
        c.match_rate = 0.0f;
        mtx_modular_sample(&c, 6, 6, step, &a0);
        c.match_rate = 1.0f;
        mtx_modular_sample(&c, 6, 6, step, &a1);
        differ0 += a0.dec.n != a0.enc.n || memcmp(a0.dec.g, a0.enc.g, (size_t)a0.enc.n);
        differ1 += a1.dec.n != a1.enc.n || memcmp(a1.dec.g, a1.enc.g, (size_t)a1.enc.n) ||
                   memcmp(a1.dec.j, a1.enc.j, (size_t)a1.enc.n);
        /* the encoder draw does not depend on match_rate */
        CU_ASSERT_TRUE(a0.enc.n == a1.enc.n && !memcmp(a0.enc.g, a1.enc.g, (size_t)a0.enc.n));
        for (int i = 0; i < a1.enc.n; i++) modules1 += a1.enc.g[i] > 1;
    }
    CU_ASSERT_EQUAL(differ1, 0);
    CU_ASSERT_TRUE(differ0 > 10);
    CU_ASSERT_TRUE(modules1 > 60); /* replacement rate 1: modules everywhere */
    /* stacks of different depths: match_rate has nothing to copy */
    c.match_rate = 1.0f;
    mtx_assembly a;
    mtx_modular_sample(&c, 6, 4, 3, &a);
    int layers = 0;
    for (int i = 0; i < a.dec.n; i++) layers += a.dec.g[i];
    CU_ASSERT_EQUAL(layers, 4);
}

/* assemblies_per_step 3 at replacement rate 1: the three parts of every step
 * hold the three uniform tilings of each stack, each once (so every module
 * is in some part's hybrid every step); match_rate 1 pairs them; parts 1
 * samples as mtx_modular_sample always did (part ignored). */
static int uniform_gran(const mtx_tiling *t) {
    for (int i = 1; i < t->n; i++)
        if (t->g[i] != t->g[0]) return 0;
    return t->g[0];
}

static void test_parts_sampling(void) {
    mtx_modular_config c = mtx_modular_config_default();
    c.rate_base = 1.0f;
    c.rate_slope = 0.0f;
    c.parts = 3;
    int mixed_pairs = 0;
    for (int64_t step = 0; step < 40; step++) {
        int seen_e = 0, seen_d = 0;
        for (int k = 0; k < 3; k++) {
            mtx_assembly a;
            mtx_modular_sample_part(&c, 6, 6, step, k, &a);
            const int ge = uniform_gran(&a.enc), gd = uniform_gran(&a.dec);
            CU_ASSERT(ge == 2 || ge == 3 || ge == 6);
            CU_ASSERT(gd == 2 || gd == 3 || gd == 6);
            seen_e |= 1 << ge;
            seen_d |= 1 << gd;
            mixed_pairs += ge != gd;
        }
        CU_ASSERT_EQUAL(seen_e, (1 << 2) | (1 << 3) | (1 << 6));
        CU_ASSERT_EQUAL(seen_d, (1 << 2) | (1 << 3) | (1 << 6));
    }
    CU_ASSERT(mixed_pairs > 20); /* the stacks rotate apart */
    c.match_rate = 1.0f;
    for (int64_t step = 0; step < 10; step++)
        for (int k = 0; k < 3; k++) {
            mtx_assembly a;
            mtx_modular_sample_part(&c, 6, 6, step, k, &a);
            CU_ASSERT_TRUE(a.enc.n == a.dec.n && !memcmp(a.enc.g, a.dec.g, (size_t)a.enc.n));
        }
    /* below rate 1 the parts still mix teacher layers in */
    c.match_rate = 0.0f;
    c.rate_base = 0.4f;
    int teacher_layers = 0;
    for (int64_t step = 0; step < 10; step++) {
        mtx_assembly a;
        mtx_modular_sample_part(&c, 6, 6, step, 1, &a);
        for (int i = 0; i < a.enc.n; i++) teacher_layers += a.enc.g[i] == 1;
    }
    CU_ASSERT(teacher_layers > 0);
    c.parts = 1;
    for (int64_t step = 0; step < 10; step++) {
        mtx_assembly a, b;
        memset(&a, 0, sizeof a); /* entries past n are not written */
        memset(&b, 0, sizeof b);
        mtx_modular_sample(&c, 6, 6, step, &a);
        mtx_modular_sample_part(&c, 6, 6, step, 2, &b);
        CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);
    }
}

/* assemblies_per_step 2: the step's gradient is the target-token-weighted
 * mean of the gradients of its two parts (rows split in halves, each with
 * its own assembly), recomputed here through the public one-assembly call;
 * and at rate 1 with parts 3 one step moves every module of the bank. */
static void test_parts_step_gradient(void) {
    mtx_modular_config c = tiny_modular();
    c.parts = 2;
    c.gamma_local = 0.5f;
    c.hidden_relative = 1;
    c.opt.grad_clip = 0.0f;
    mtx_modular *m, *m2;
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m2, &c, &g_teacher, &g_data), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, NULL), MTX_OK);
    const size_t n = mtx_modular_bank(m)->n_mod;
    mtx_batch_buf bb;
    mtx_batcher bt;
    CU_ASSERT_EQUAL_FATAL(mtx_batch_buf_init(&bb, c.opt.batch_tokens), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_batcher_init(&bt, &g_data.train, c.opt.batch_tokens), MTX_OK);
    mtx_batcher_epoch(&bt, c.opt.seed, 0, 1);
    mtx_batch_fill(&bb, &bt, 0); /* the trainer's first batch */
    const mtx_batch *b = &bb.b;
    CU_ASSERT_FATAL(b->B >= 2);
    double *want = calloc(n, sizeof(double));
    CU_ASSERT_FATAL(want != NULL);
    const int cut = b->B / 2;
    for (int k = 0; k < 2; k++) {
        const int r0 = k ? cut : 0, r1 = k ? b->B : cut;
        mtx_batch p = *b;
        p.B = r1 - r0;
        p.src += (size_t)r0 * b->S;
        p.src_len += r0;
        p.tgt_in += (size_t)r0 * b->T;
        p.tgt_out += (size_t)r0 * b->T;
        p.n_tgt = 0;
        for (int i = 0; i < p.B * p.T; i++) p.n_tgt += p.tgt_out[i] >= 0;
        mtx_assembly a;
        mtx_modular_sample_part(&c, 6, 6, 0, k, &a);
        CU_ASSERT_EQUAL_FATAL(mtx_modular_loss_grad(m2, &a, &p, 0, NULL, NULL), MTX_OK);
        const float *g = mtx_modular_grad(m2);
        for (size_t i = 0; i < n; i++) want[i] += (double)p.n_tgt / b->n_tgt * g[i];
    }
    const float *got = mtx_modular_grad(m);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        diff += (got[i] - want[i]) * (got[i] - want[i]);
        norm += want[i] * want[i];
    }
    CU_ASSERT(norm > 0);
    CU_ASSERT(sqrt(diff) <= 1e-6 * sqrt(norm));
    free(want);
    mtx_batcher_free(&bt);
    mtx_batch_buf_free(&bb);
    mtx_modular_free(m);
    mtx_modular_free(m2);

    c = tiny_modular();
    c.parts = 3;
    c.rate_base = 1.0f;
    c.rate_slope = 0.0f; /* gamma_local 0: only the hybrids train modules */
    for (int parts = 1; parts <= 3; parts += 2) {
        c.parts = parts;
        CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&m, &c, &g_teacher, &g_data), MTX_OK);
        const mtx_bank *bk = mtx_modular_bank(m);
        float *mod0 = malloc(bk->n_mod * sizeof(float));
        CU_ASSERT_FATAL(mod0 != NULL);
        memcpy(mod0, bk->mod, bk->n_mod * sizeof(float));
        CU_ASSERT_EQUAL_FATAL(mtx_modular_step(m, NULL), MTX_OK);
        int total;
        const int moved = modules_moved(bk, mod0, &total);
        if (parts == 3) CU_ASSERT_EQUAL(moved, total);
        if (parts == 1) CU_ASSERT(moved < total);
        free(mod0);
        mtx_modular_free(m);
    }
}

/* Module init per granularity: m(g, j) starts as teacher layer g*j + 0,
 * (g-1)/2 or g-1 for first, middle, last. */
static void test_init_per_granularity(void) {
    mtx_bank b;
    static const int g[] = { 2, 3, 6 };
    static const int init[] = { 2, 1, 2 }; /* last, middle, last */
    CU_ASSERT_EQUAL_FATAL(mtx_bank_init(&b, &g_teacher, g, 3, init), MTX_OK);
    const mtx_model_config *mc = &g_teacher.cfg;
    const size_t es = mtx_enc_layer_size(mc) * sizeof(float), ds = mtx_dec_layer_size(mc) * sizeof(float);
    CU_ASSERT_EQUAL(memcmp(mtx_bank_enc_module(&b, 2, 1)->ln1, g_teacher.w.enc[3].ln1, es), 0);
    CU_ASSERT_EQUAL(memcmp(mtx_bank_enc_module(&b, 3, 1)->ln1, g_teacher.w.enc[4].ln1, es), 0);
    CU_ASSERT_EQUAL(memcmp(mtx_bank_enc_module(&b, 6, 0)->ln1, g_teacher.w.enc[5].ln1, es), 0);
    CU_ASSERT_EQUAL(memcmp(mtx_bank_dec_module(&b, 2, 2)->ln1, g_teacher.w.dec[5].ln1, ds), 0);
    CU_ASSERT_EQUAL(memcmp(mtx_bank_dec_module(&b, 3, 0)->ln1, g_teacher.w.dec[1].ln1, ds), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(mtx_bank_dec_module(&b, 3, 0)->ln1, g_teacher.w.dec[0].ln1, ds), 0);
    mtx_bank_free(&b);
    static const int bad[] = { 0, 3, 0 };
    CU_ASSERT_EQUAL(mtx_bank_init(&b, &g_teacher, g, 3, bad), MTX_ERR_ARG);
}

/* Config keys of this phase: init (word or per-granularity array), hidden_norm,
 * gamma_local; bad values name the file and the key. */
static void test_modular_config_keys(void) {
    char dir[] = "/tmp/mtx_modcfg_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/c.json", dir);
    struct { const char *json; int ok; const char *msg; } cases[] = {
        { "{\"init\":[\"last\",\"middle\",\"last\"],\"granularities\":[2,3,6],\"hidden_norm\":\"relative\",\"gamma_local\":0.5}", 1, NULL },
        { "{\"init\":\"middle\"}", 1, NULL },
        { "{\"granularities\":[2,3],\"init\":[\"last\"]}", 0, "init has 1 entries for 2 granularities" },
        { "{\"init\":[\"last\",\"first\",\"top\"]}", 0, "init entries must be" },
        { "{\"init\":3}", 0, "init must be" },
        { "{\"hidden_norm\":\"cosine\"}", 0, "hidden_norm must be" },
        { "{\"gamma_local\":-1}", 0, "gamma_local must be a number" },
        { "{\"local_rate\":0}", 0, "local_rate must be in (0, 1]" },
        { "{\"local_rate\":1.5}", 0, "local_rate must be in (0, 1]" },
        { "{\"local_rate\":0.25}", 1, NULL },
        { "{\"match_rate\":1.5}", 0, "match_rate must be in [0, 1]" },
        { "{\"match_rate\":0.5}", 1, NULL },
        { "{\"assemblies_per_step\":0}", 0, "assemblies_per_step must be an integer in [1, 8]" },
        { "{\"assemblies_per_step\":2.5}", 0, "assemblies_per_step must be an integer in [1, 8]" },
        { "{\"assemblies_per_step\":\"3\"}", 0, "assemblies_per_step must be an integer in [1, 8]" },
        { "{\"assemblies_per_step\":9}", 0, "assemblies_per_step must be an integer in [1, 8]" },
        { "{\"assemblies_per_step\":3}", 1, NULL },
        { "{\"beta_attention\":-0.5}", 0, "beta_attention must be a number in [0, 100]" },
        { "{\"beta_attention\":0.5}", 1, NULL },
        { "{\"training\":{\"test\":\"x.dict\"}}", 0, "set \"train_data\"" },
        { "{\"training\":{\"data\":\"other.dict\"}}", 0, "set \"train_data\"" },
        { "{\"training\":{\"data\":\"" MTX_DEFAULT_DATA "\"}}", 1, NULL },
        { "{\"train_data\":3}", 0, "train_data must be a non-empty path" },
        { "{\"train_data\":\"\"}", 0, "train_data must be a non-empty path" },
        { "{\"train_data\":\"words.tsv\"}", 1, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(cases[i].json, f);
        fclose(f);
        mtx_modular_config c;
        mtx_status st = mtx_modular_config_load(path, &c);
        CU_ASSERT_EQUAL(st == MTX_OK, cases[i].ok);
        if (cases[i].msg) {
            CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), cases[i].msg));
            CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), path));
        }
        if (i == 0 && st == MTX_OK) {
            CU_ASSERT_EQUAL(c.init[0], 2);
            CU_ASSERT_EQUAL(c.init[1], 1);
            CU_ASSERT_EQUAL(c.init[2], 2);
            CU_ASSERT_EQUAL(c.hidden_relative, 1);
            CU_ASSERT_DOUBLE_EQUAL(c.gamma_local, 0.5, 1e-7);
            /* the saved form reads back to the same settings */
            char *js = mtx_modular_config_to_json(&c);
            CU_ASSERT_PTR_NOT_NULL_FATAL(js);
            f = fopen(path, "w");
            fputs(js, f);
            fclose(f);
            cJSON_free(js);
            mtx_modular_config c2;
            CU_ASSERT_EQUAL(mtx_modular_config_load(path, &c2), MTX_OK);
            CU_ASSERT_EQUAL(memcmp(c2.init, c.init, sizeof c.init), 0);
            CU_ASSERT_EQUAL(c2.hidden_relative, 1);
            CU_ASSERT_DOUBLE_EQUAL(c2.gamma_local, 0.5, 1e-7);
        }
        if (i == 1 && st == MTX_OK) {
            CU_ASSERT(c.init[0] == 1 && c.init[2] == 1);
        }
        if (strstr(cases[i].json, "words.tsv") && st == MTX_OK) {
            CU_ASSERT_STRING_EQUAL(c.train_data, "words.tsv");
            char *js = mtx_modular_config_to_json(&c);
            CU_ASSERT_TRUE(js && strstr(js, "\"train_data\":\"words.tsv\""));
            cJSON_free(js);
        }
    }
    remove(path);
    rmdir(dir);
}

static void test_modular_resume_exact(void) {
    mtx_modular_config c = tiny_modular();
    c.dropout = 0.1f;
    c.opt.max_steps = 20;
    mtx_modular *a, *b, *d;
    char dir[] = "/tmp/mtx_mresume_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&a, &c, &g_teacher, &g_data), MTX_OK);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL_FATAL(mtx_modular_step(a, NULL), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&b, &c, &g_teacher, &g_data), MTX_OK);
    for (int i = 0; i < 5; i++) CU_ASSERT_EQUAL_FATAL(mtx_modular_step(b, NULL), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_checkpoint(b, dir, &g_data.sv, &g_data.tv, NULL), MTX_OK);
    mtx_modular_free(b);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_new(&d, &c, &g_teacher, &g_data), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_modular_restore(d, dir), MTX_OK);
    for (int i = 0; i < 7; i++) CU_ASSERT_EQUAL_FATAL(mtx_modular_step(d, NULL), MTX_OK);
    const mtx_bank *ba = mtx_modular_bank(a), *bd = mtx_modular_bank(d);
    CU_ASSERT_EQUAL(memcmp(ba->mod, bd->mod, ba->n_mod * sizeof(float)), 0);
    /* the saved bank loads back as a bank */
    mtx_bank_dir loaded;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(dir, &loaded), MTX_OK);
    CU_ASSERT_EQUAL(loaded.bank.n_gran, 3);
    mtx_bank_dir_free(&loaded);
    mtx_modular_free(a);
    mtx_modular_free(d);
    mtx_test_rm_tree(dir);
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
}

/* The search's second stage: of the three best assemblies of a layer count
 * by first-stage score, the best on the whole dev split wins; an assembly
 * outside those three is never chosen, and with no more dev words than the
 * first stage used, the first stage's best is kept. First-stage scores are
 * set by hand around whole-dev scores measured here (a bank with perturbed
 * modules, so assemblies differ). */
static void test_search_refine(void) {
    mtx_bank b;
    static const int g[] = { 2, 3, 6 };
    CU_ASSERT_EQUAL_FATAL(mtx_bank_init(&b, &g_teacher, g, 3, NULL), MTX_OK);
    mtx_rng r;
    mtx_rng_seed(&r, 99);
    for (size_t i = 0; i < b.n_mod; i++) b.mod[i] += 0.3f * mtx_rng_normal(&r);
    mtx_assembly *all = NULL;
    int n = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_assemblies_all(&b, &all, &n), MTX_OK);
    const mtx_encoded *dev = &g_data.dev;
    CU_ASSERT_FATAL(dev->n_groups > 1);
    /* four 6-layer assemblies with distinct whole-dev (WER, PER), c[0] the best */
    mtx_scored_assembly c[4];
    int nc = 0;
    for (int i = 0; i < n && nc < 4; i++) {
        if (all[i].enc.n + all[i].dec.n != 6) continue;
        mtx_assembly_score s;
        CU_ASSERT_EQUAL_FATAL(mtx_assembly_score_on(&b, &all[i], dev, 0, &s), MTX_OK);
        int dup = 0;
        for (int k = 0; k < nc; k++) dup |= c[k].wer == s.wer && c[k].per == s.per;
        if (dup) continue;
        c[nc].a = all[i];
        c[nc].wer = s.wer;
        c[nc++].per = s.per;
    }
    if (nc < 4) fprintf(stderr, "\n    only %d distinct 6-layer scores on %d dev words\n", nc, dev->n_groups);
    CU_ASSERT_EQUAL_FATAL(nc, 4);
    for (int i = 0; i < 4; i++) /* sort by whole-dev (WER, PER) */
        for (int k = i + 1; k < 4; k++)
            if (c[k].wer < c[i].wer || (c[k].wer == c[i].wer && c[k].per < c[i].per)) {
                mtx_scored_assembly t = c[i];
                c[i] = c[k];
                c[k] = t;
            }
    /* first stage: c3 best, then c2, c0, c1 (fourth: not a finalist) */
    mtx_scored_assembly sc[4] = { c[3], c[2], c[0], c[1] };
    sc[0].wer = 10; sc[1].wer = 11; sc[2].wer = 12; sc[3].wer = 13;
    mtx_assembly out;
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_refine(&b, sc, 4, 6, dev, 1, &out), MTX_OK);
    CU_ASSERT_EQUAL(memcmp(&out, &c[0].a, sizeof out), 0);
    /* c0 fourth: the best finalist on the whole split is c1 */
    sc[2] = c[1];
    sc[3] = c[0];
    sc[2].wer = 12; sc[3].wer = 13;
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_refine(&b, sc, 4, 6, dev, 1, &out), MTX_OK);
    CU_ASSERT_EQUAL(memcmp(&out, &c[1].a, sizeof out), 0);
    /* the first stage already saw the whole split: its best stands */
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_refine(&b, sc, 4, 6, dev, dev->n_groups, &out), MTX_OK);
    CU_ASSERT_EQUAL(memcmp(&out, &c[3].a, sizeof out), 0);
    /* no assembly of that many layers */
    CU_ASSERT_EQUAL(mtx_assembly_refine(&b, sc, 4, 5, dev, 1, &out), MTX_ERR_ARG);
    free(all);
    mtx_bank_free(&b);
}

static void test_unreachable_ratio(void) {
    mtx_bank b;
    static const int g[] = { 2, 3, 6 };
    CU_ASSERT_EQUAL_FATAL(mtx_bank_init(&b, &g_teacher, g, 3, NULL), MTX_OK);
    double r[32];
    int n = mtx_reachable_ratios(&b, r, 32);
    CU_ASSERT_EQUAL(n, 11); /* 12 / 12 ... 12 / 2 */
    CU_ASSERT_DOUBLE_EQUAL(r[n - 1], 6.0, 1e-12);
    mtx_len_stats lens = { 8, 8 };
    mtx_assembly a;
    CU_ASSERT_EQUAL(mtx_assembly_choose(&b, 5.0, MTX_STRATEGY_SIZE, &lens, NULL, 0, &a), MTX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "reachable ratios: 1.00, 1.09"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "4.00, 6.00"));
    CU_ASSERT_EQUAL(mtx_assembly_choose(&b, 0.5, MTX_STRATEGY_SIZE, &lens, NULL, 0, &a), MTX_ERR_ARG);
    /* reachable ratios: size-first minimises parameters, speed-first latency */
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_choose(&b, 2.0, MTX_STRATEGY_SIZE, &lens, NULL, 0, &a), MTX_OK);
    CU_ASSERT_EQUAL(a.enc.n + a.dec.n, 6);
    mtx_assembly all_asm;
    size_t best = (size_t)-1;
    mtx_assembly *all = NULL;
    int na = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_assemblies_all(&b, &all, &na), MTX_OK);
    CU_ASSERT_EQUAL(na, 14 * 14);
    for (int i = 0; i < na; i++)
        if (all[i].enc.n + all[i].dec.n == 6 && mtx_assembly_params(&b, &all[i]) < best) {
            best = mtx_assembly_params(&b, &all[i]);
            all_asm = all[i];
        }
    CU_ASSERT_EQUAL(mtx_assembly_params(&b, &a), best);
    CU_ASSERT_EQUAL(all_asm.dec.n, a.dec.n);
    CU_ASSERT_EQUAL_FATAL(mtx_assembly_choose(&b, 3.0, MTX_STRATEGY_SPEED, &lens, NULL, 0, &a), MTX_OK);
    double lat = mtx_assembly_latency(&b, &a, 8, 8);
    for (int i = 0; i < na; i++)
        if (all[i].enc.n + all[i].dec.n == 4) CU_ASSERT(mtx_assembly_latency(&b, &all[i], 8, 8) >= lat);
    free(all);
    mtx_bank_free(&b);
}

void mtx_suite_modular(void) {
    CU_pSuite s = CU_add_suite("modular transformers", suite_init, suite_clean);
    CU_add_test(s, "tiling enumeration is complete and valid", test_tiling_enumeration);
    CU_add_test(s, "all-teacher assembly equals the teacher bit for bit", test_teacher_assembly_bit_exact);
    CU_add_test(s, "assembled checkpoint reloads to the in-memory hybrid", test_assembled_checkpoint_roundtrip);
    CU_add_test(s, "training leaves the teacher untouched and lowers 6x dev loss", test_teacher_frozen_and_dev_loss_drops);
    CU_add_test(s, "modularize objective vs finite differences", test_modular_objective_grad);
    CU_add_test(s, "local term trains every module, in the hybrid or not", test_local_term_trains_every_module);
    CU_add_test(s, "local_rate: a seeded draw of modules per step, all within 30", test_local_rate_draws_modules);
    CU_add_test(s, "match_rate: the decoder copies the encoder's tiling", test_match_rate_sampling);
    CU_add_test(s, "assemblies_per_step: each part a uniform tiling of its own", test_parts_sampling);
    CU_add_test(s, "assemblies_per_step: the step gradient is the token-weighted mean", test_parts_step_gradient);
    CU_add_test(s, "module init per granularity", test_init_per_granularity);
    CU_add_test(s, "modularize config keys and their errors", test_modular_config_keys);
    CU_add_test(s, "modularize resume equals uninterrupted training", test_modular_resume_exact);
    CU_add_test(s, "unreachable ratios are refused; size and speed strategies", test_unreachable_ratio);
    CU_add_test(s, "search: the finalists are re-scored on the whole dev split", test_search_refine);
}
