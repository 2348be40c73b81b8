/* test_train.c - GEMM wrapper, batching, schedule, optimisation, exact resume,
 * NaN refusal, decoding against a full-forward reference, and a tiny model
 * that overfits 20 real CMUdict words to zero errors. */
#include "testutil.h"
#include "data/batch.h"
#include "model/decode.h"
#include "eval/eval.h"
#include "model/gemm.h"
#include "model/ops.h"
#include "train/train.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void test_gemm_vs_reference(void) {
    mtx_rng r;
    mtx_rng_seed(&r, 5);
    const int M = 37, N = 29, K = 41;
    float A[41 * 41], B[41 * 41], C1[37 * 41], C2[37 * 41];
    for (int i = 0; i < 41 * 41; i++) {
        A[i] = mtx_rng_normal(&r);
        B[i] = mtx_rng_normal(&r);
    }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int acc = 0; acc < 2; acc++) {
                for (int i = 0; i < 37 * 41; i++) C1[i] = C2[i] = (float)(i % 3) - 1.0f;
                int lda = ta ? M : K, ldb = tb ? K : N;
                mtx_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C1, N);
                mtx_gemm_ref(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, acc ? 1.0f : 0.0f, C2, N);
                double maxerr = 0;
                for (int i = 0; i < M * N; i++) maxerr = fmax(maxerr, fabs(C1[i] - C2[i]));
                CU_ASSERT(maxerr < 1e-4);
            }
}

static mtx_train_config tiny_train(void) {
    mtx_train_config t = mtx_test_words20_config(64);
    t.warmup_steps = 10;
    t.max_steps = 400;
    t.lr = 3e-3f;
    t.label_smoothing = 0.0f;
    t.weight_decay = 0.0f;
    return t;
}

static mtx_model_config tiny_model(void) {
    mtx_model_config m = mtx_model_config_default();
    m.d_model = 32;
    m.num_heads = 4;
    m.d_ff = 64;
    m.num_layers = 2;
    m.num_decoder_layers = 2;
    m.dropout_rate = 0.0f;
    return m;
}

static void test_batching(void) {
    mtx_train_config t = tiny_train();
    mtx_model_config m = tiny_model();
    mtx_dataset d;
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m, NULL), MTX_OK);
    CU_ASSERT_EQUAL(d.train.n, 20);
    mtx_batcher bt;
    CU_ASSERT_EQUAL_FATAL(mtx_batcher_init(&bt, &d.train, 64), MTX_OK);
    int first[20], seen[20];
    for (int epoch = 0; epoch < 3; epoch++) {
        mtx_batcher_epoch(&bt, 9, epoch, 1);
        memset(seen, 0, sizeof seen);
        for (int i = 0; i < bt.n_batches; i++) {
            int j = bt.perm[i], B = bt.batch_size[j], maxlen = 0;
            for (int b = 0; b < B; b++) {
                int k = bt.order[bt.batch_start[j] + b];
                seen[k]++;
                int l = mtx_example_len(&d.train, k);
                if (l > maxlen) maxlen = l;
            }
            CU_ASSERT(B * maxlen <= 64);
        }
        for (int k = 0; k < 20; k++) CU_ASSERT_EQUAL(seen[k], 1);
        if (epoch == 0) memcpy(first, bt.order, sizeof first);
    }
    /* same seed and epoch: same order; another epoch: another order */
    mtx_batcher_epoch(&bt, 9, 0, 1);
    CU_ASSERT_EQUAL(memcmp(first, bt.order, sizeof first), 0);
    mtx_batcher_epoch(&bt, 9, 1, 1);
    CU_ASSERT_NOT_EQUAL(memcmp(first, bt.order, sizeof first), 0);
    mtx_batcher_free(&bt);
    mtx_dataset_free(&d);
}

static void test_lr_schedule(void) {
    mtx_train_config t = mtx_train_config_default();
    t.lr = 1e-3f;
    t.warmup_steps = 100;
    t.max_steps = 1100;
    t.min_lr_ratio = 0.1f;
    CU_ASSERT_DOUBLE_EQUAL(mtx_lr_at(&t, 0), 1e-5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mtx_lr_at(&t, 99), 1e-3, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mtx_lr_at(&t, 100), 1e-3, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mtx_lr_at(&t, 600), 0.55e-3, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(mtx_lr_at(&t, 1100), 1e-4, 1e-9);
    for (int s = 101; s < 1100; s++) CU_ASSERT(mtx_lr_at(&t, s) <= mtx_lr_at(&t, s - 1) + 1e-12);
}

static void run_steps(mtx_trainer *tr, int n, double *losses) {
    for (int i = 0; i < n; i++) {
        mtx_step_stats s;
        CU_ASSERT_EQUAL_FATAL(mtx_trainer_step(tr, &s), MTX_OK);
        if (losses) losses[i] = s.loss_sum;
    }
}

static void test_resume_exact(void) {
    mtx_train_config t = tiny_train();
    t.max_steps = 30;
    mtx_model_config m = tiny_model();
    m.dropout_rate = 0.1f; /* masks depend on the step: resume must restore it */
    mtx_dataset d;
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m, NULL), MTX_OK);
    char dir[] = "/tmp/mtx_resume_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    mtx_trainer *a, *b, *c;
    double la[14], lc[14];
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&a, &m, &t, &d, NULL), MTX_OK);
    run_steps(a, 14, la); /* 20 words in 64-token batches: crosses epoch boundaries */
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&b, &m, &t, &d, NULL), MTX_OK);
    run_steps(b, 5, NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_checkpoint(b, dir, NULL), MTX_OK);
    mtx_trainer_free(b);
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&c, &m, &t, &d, NULL), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_restore(c, dir), MTX_OK);
    CU_ASSERT_EQUAL(mtx_trainer_step_count(c), 5);
    run_steps(c, 9, lc);
    for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(la[5 + i], lc[i]);
    const mtx_model *ma = mtx_trainer_model(a), *mc = mtx_trainer_model(c);
    CU_ASSERT_EQUAL(memcmp(ma->params, mc->params, ma->n_params * sizeof(float)), 0);
    mtx_trainer_free(a);
    mtx_trainer_free(c);
    mtx_test_rm_tree(dir);
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
    mtx_dataset_free(&d);
}

static void test_nan_refused(void) {
    mtx_train_config t = tiny_train();
    mtx_model_config m = tiny_model();
    mtx_dataset d;
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m, NULL), MTX_OK);
    mtx_trainer *tr;
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&tr, &m, &t, &d, NULL), MTX_OK);
    run_steps(tr, 2, NULL);
    mtx_model *mm = (mtx_model *)mtx_trainer_model(tr);
    mm->w.lm_head[3] = NAN;
    mtx_step_stats s;
    CU_ASSERT_EQUAL(mtx_trainer_step(tr, &s), MTX_ERR_NUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "step 3"));
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
}

/* Greedy decoding by re-running the full (training-time) forward on the
 * growing prefix: an oracle for the KV-cached decoder. */
static void full_forward_greedy(const mtx_model *m, const int32_t *src, int slen, int32_t *out, int *olen) {
    const int Pt = m->cfg.max_target_positions;
    mtx_net n;
    mtx_net_from_model(&n, m, NULL);
    mtx_acts a;
    CU_ASSERT_EQUAL_FATAL(mtx_acts_init(&a, &m->cfg, m->cfg.num_layers, m->cfg.num_decoder_layers, 64, 32), MTX_OK);
    int32_t tin[32], tout[32];
    int len = 0;
    tin[0] = MTX_BOS;
    for (int t = 0; t < Pt; t++) {
        for (int x = 0; x <= t; x++) tout[x] = -1;
        mtx_batch b = { 1, slen, t + 1, src, &slen, tin, tout, 0 };
        mtx_fwd_opts o = { 0.0f, 0, 0 };
        CU_ASSERT_EQUAL_FATAL(mtx_forward(&a, &n, &b, &o), MTX_OK);
        const float *l = a.logits + (int64_t)t * m->cfg.tgt_vocab_size;
        int best = MTX_EOS;
        for (int j = MTX_EOS + 1; j < m->cfg.tgt_vocab_size; j++)
            if (l[j] > l[best]) best = j;
        if (best == MTX_EOS) break;
        out[len++] = best;
        if (t + 1 < Pt) tin[t + 1] = best;
    }
    *olen = len;
    mtx_acts_free(&a);
}

static void test_overfit_and_decode(void) {
    mtx_train_config t = tiny_train();
    mtx_model_config m = tiny_model();
    mtx_set_threads(1);
    mtx_dataset d;
    CU_ASSERT_EQUAL_FATAL(mtx_dataset_load(&d, &t, &m, NULL), MTX_OK);
    mtx_trainer *tr;
    CU_ASSERT_EQUAL_FATAL(mtx_trainer_new(&tr, &m, &t, &d, NULL), MTX_OK);
    double first = 0, last = 0;
    for (int i = 0; i < t.max_steps; i++) {
        mtx_step_stats s;
        CU_ASSERT_EQUAL_FATAL(mtx_trainer_step(tr, &s), MTX_OK);
        if (i == 0) first = s.loss_sum / (double)s.tgt_tokens;
        last = s.loss_sum / (double)s.tgt_tokens;
    }
    CU_ASSERT(last < 0.1 * first);
    const mtx_model *model = mtx_trainer_model(tr);
    mtx_net net;
    mtx_net_from_model(&net, model, NULL);
    mtx_eval_result r;
    CU_ASSERT_EQUAL_FATAL(mtx_eval_encoded(&net, &d.train, 1, 1.0f, &r), MTX_OK);
    CU_ASSERT_EQUAL(r.words, 20);
    CU_ASSERT_EQUAL(r.score.word_errors, 0);
    CU_ASSERT_EQUAL(r.score.errors, 0);
    /* beam search finds the same (memorised) answers */
    CU_ASSERT_EQUAL_FATAL(mtx_eval_encoded(&net, &d.train, 4, 1.0f, &r), MTX_OK);
    CU_ASSERT_EQUAL(r.score.word_errors, 0);

    /* KV-cached greedy (beam width 1) equals the full-forward oracle, token for
     * token, on every training word and on unseen words */
    mtx_decoder *dec;
    CU_ASSERT_EQUAL_FATAL(mtx_decoder_new(&dec, &net, 8, 1, 1.0f), MTX_OK);
    static const char *words[] = { "bout", "asahi", "spitball", "zebra", "quixotic", "mississippi", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x" };
    for (int w = 0; w < 8; w++) {
        int32_t src[32], hyp[32], ref[32];
        int slen = 0, hlen = 0, rlen = 0;
        CU_ASSERT_EQUAL_FATAL(mtx_vocab_encode_chars(&d.sv, words[w], src, 32, &slen) == MTX_OK ||
                              strchr(words[w], 'z') || strchr(words[w], 'q') || strchr(words[w], 'x'), 1);
        if (mtx_vocab_encode_chars(&d.sv, words[w], src, 32, &slen)) continue; /* character unseen in 20 words */
        CU_ASSERT_EQUAL_FATAL(mtx_decode(dec, src, &slen, 1, slen, hyp, &hlen, 32), MTX_OK);
        full_forward_greedy(model, src, slen, ref, &rlen);
        CU_ASSERT_EQUAL(hlen, rlen);
        if (hlen == rlen) CU_ASSERT_EQUAL(memcmp(hyp, ref, sizeof(int32_t) * (size_t)hlen), 0);
    }
    mtx_decoder_free(dec);
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
}

/* Batched decoding of several words at once equals decoding them one by one,
 * for greedy and beam search (padding and per-row state are independent). */
static void test_batched_decode_consistent(void) {
    mtx_model_config m = tiny_model();
    m.src_vocab_size = 10;
    m.tgt_vocab_size = 12;
    mtx_model model;
    CU_ASSERT_EQUAL_FATAL(mtx_model_init(&model, &m), MTX_OK);
    mtx_model_init_weights(&model, 3);
    mtx_net net;
    mtx_net_from_model(&net, &model, NULL);
    static const int32_t src[3 * 5] = { 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 9, 8, 7, 6, 0 };
    static const int slen[3] = { 5, 2, 4 };
    for (int beam = 1; beam <= 3; beam += 2) {
        mtx_decoder *d;
        CU_ASSERT_EQUAL_FATAL(mtx_decoder_new(&d, &net, 3, beam, 1.0f), MTX_OK);
        int32_t all[3 * 32], one[32];
        int alen[3], olen;
        CU_ASSERT_EQUAL_FATAL(mtx_decode(d, src, slen, 3, 5, all, alen, 32), MTX_OK);
        for (int b = 0; b < 3; b++) {
            CU_ASSERT_EQUAL_FATAL(mtx_decode(d, src + b * 5, &slen[b], 1, slen[b], one, &olen, 32), MTX_OK);
            CU_ASSERT_EQUAL(olen, alen[b]);
            if (olen == alen[b]) CU_ASSERT_EQUAL(memcmp(one, all + b * 32, sizeof(int32_t) * (size_t)olen), 0);
        }
        mtx_decoder_free(d);
    }
    mtx_model_free(&model);
}

void mtx_suite_train(void) {
    CU_pSuite s = CU_add_suite("training and decoding", NULL, NULL);
    CU_add_test(s, "GEMM wrapper equals the naive reference", test_gemm_vs_reference);
    CU_add_test(s, "token-count batches cover every example once", test_batching);
    CU_add_test(s, "warm-up then cosine learning-rate schedule", test_lr_schedule);
    CU_add_test(s, "resume equals uninterrupted training bit for bit", test_resume_exact);
    CU_add_test(s, "a NaN stops training with the step number", test_nan_refused);
    CU_add_test(s, "tiny model overfits 20 words; greedy equals full forward", test_overfit_and_decode);
    CU_add_test(s, "batched decoding equals word-by-word decoding", test_batched_decode_consistent);
}
