/* cli_bench.c - `modtx bench`: training throughput (model FLOP/s) against the
 * OpenBLAS sgemm rate measured in the same process with the same threads,
 * and greedy decoding speed of a trained model. */
#include "io/checkpoint.h"
#include "cli/cli.h"
#include "eval/eval.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char bench_help[] =
    "usage: modtx bench --config FILE --out FILE.json [--steps N] [--threads T] [--model DIR]\n"
    "\n"
    "Trains N steps (default 30, after 3 warm-up steps) of the model in FILE on its\n"
    "data and reports tokens/s, model GFLOP/s, the OpenBLAS sgemm GFLOP/s of a\n"
    "2048^3 product in the same process, and their ratio (mfu). With --model,\n"
    "also the greedy decoding speed of that model on its test split.\n";

static double sgemm_peak(void) {
    const int n = 2048;
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = malloc(sizeof(float) * (size_t)n * n);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)n * n; i++) {
            a[i] = (float)(i % 7) * 0.1f;
            b[i] = (float)(i % 5) * 0.1f;
        }
        for (int rep = 0; rep < 6; rep++) {
            double t0 = mtx_now_s();
            mtx_gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double dt = mtx_now_s() - t0;
            double g = 2.0 * n * (double)n * n / dt * 1e-9;
            if (rep > 0 && g > best) best = g;
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int mtx_cmd_bench(int argc, char **argv) {
    const char *config = NULL, *out = NULL, *steps_s = "30", *thr_s = "2", *model = NULL;
    const mtx_opt opts[] = { { "--config", &config, NULL }, { "--out", &out, NULL },
                             { "--steps", &steps_s, NULL }, { "--threads", &thr_s, NULL },
                             { "--model", &model, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 5, bench_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!config || !out) {
        fprintf(stderr, "modtx bench: --config and --out are required (see --help)\n");
        return 2;
    }
    long steps = mtx_opt_int("bench", "--steps", steps_s, 1, 100000), threads = mtx_opt_int("bench", "--threads", thr_s, 1, 256);
    if (steps < 0 || threads < 0) return 2;
    mtx_model_config m;
    mtx_train_config t;
    if (mtx_config_load_training(config, &m, &t)) return mtx_fail("bench");
    t.threads = (int)threads;
    mtx_set_threads((int)threads);
    mtx_dataset d;
    if (mtx_dataset_load(&d, &t, &m, NULL)) return mtx_fail("bench");
    mtx_trainer *tr = NULL;
    mtx_status st = mtx_trainer_new(&tr, &m, &t, &d, NULL);
    double flops = 0, secs = 0;
    int64_t toks = 0;
    for (long i = 0; !st && i < steps + 3; i++) {
        mtx_step_stats s;
        double t0 = mtx_now_s();
        st = mtx_trainer_step(tr, &s);
        double dt = mtx_now_s() - t0;
        if (i >= 3) {
            flops += s.flops;
            secs += dt;
            toks += s.src_tokens + s.tgt_tokens;
        }
    }
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
    if (st) return mtx_fail("bench");
    double peak = sgemm_peak();
    double gflops = flops / secs * 1e-9;
    double words_per_s = -1, wer = -1;
    if (model) {
        mtx_bundle b;
        if (mtx_bundle_load(model, &b)) return mtx_fail("bench");
        mtx_dataset dd;
        memset(&dd, 0, sizeof dd);
        mtx_train_config mt;
        st = mtx_bundle_train_config(&b, model, &mt);
        if (!st) st = mtx_dataset_load(&dd, &mt, &b.model.cfg, model);
        if (!st && (!dd.has_test || dd.test.n == 0)) {
            mtx_dataset_free(&dd);
            st = mtx_set_error(MTX_ERR_ARG, "%s: the model's data has no test split", model);
        }
        mtx_eval_result res;
        if (!st) {
            mtx_net net;
            mtx_net_from_model(&net, &b.model, NULL);
            st = mtx_eval_encoded(&net, &dd.test, 1, 1.0f, &res);
            mtx_dataset_free(&dd);
        }
        mtx_bundle_free(&b);
        if (st) return mtx_fail("bench");
        words_per_s = (double)res.words / res.seconds;
        wer = mtx_score_wer(&res.score);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "config", config);
    cJSON_AddNumberToObject(o, "threads", (double)threads);
    cJSON_AddNumberToObject(o, "steps", (double)steps);
    cJSON_AddNumberToObject(o, "tokens_per_s", (double)toks / secs);
    cJSON_AddNumberToObject(o, "gflops", gflops);
    cJSON_AddNumberToObject(o, "sgemm_gflops", peak);
    cJSON_AddNumberToObject(o, "mfu", gflops / peak);
    if (model) {
        cJSON_AddNumberToObject(o, "decode_words_per_s", words_per_s);
        cJSON_AddNumberToObject(o, "decode_test_wer", wer);
    }
    char *json = cJSON_Print(o);
    cJSON_Delete(o);
    if (!json) return mtx_set_error(MTX_ERR_NOMEM, "out of memory"), mtx_fail("bench");
    size_t len = strlen(json);
    st = mtx_write_file_atomic(out, json, len);
    if (!st) printf("%s\n", json);
    cJSON_free(json);
    if (st) return mtx_fail("bench");
    return 0;
}
