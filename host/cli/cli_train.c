/* cli_train.c - `modtx train`. */
#include "cli/cli.h"
#include "train/train.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char train_help[] =
    "usage: modtx train --config FILE --out DIR [--resume | --init MODEL] [--threads N]\n"
    "\n"
    "Trains an encoder-decoder transformer. FILE holds the model keys (d_model,\n"
    "num_heads, d_ff, num_layers, num_decoder_layers, ...) and a \"training\" object.\n"
    "Progress goes to stderr; DIR receives checkpoints (config.json,\n"
    "model.safetensors, vocabularies, train_state.safetensors) every\n"
    "checkpoint_every steps and a JSON-lines log, metrics.jsonl.\n"
    "  --resume       continue the run in DIR from its last checkpoint; the loss\n"
    "                 curve equals that of an uninterrupted run\n"
    "  --init MODEL   fine-tune: start from the weights of the model directory\n"
    "                 MODEL and keep its vocabularies (token ids stay the same);\n"
    "                 the optimiser and the learning-rate schedule start fresh\n"
    "                 from FILE. The architecture in FILE (d_model, num_heads,\n"
    "                 d_ff, layer counts, vocabulary sizes, positions) must match\n"
    "                 MODEL's; dropout_rate and the training keys may differ.\n"
    "                 MODEL is recorded in the provenance (modtx info). Not with\n"
    "                 --resume: a fine-tuning run resumes with --resume alone\n";

static void fmt_time(char *buf, size_t n, double s) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

void mtx_cli_progress(const mtx_train_progress *p, void *vctx) {
    const int tty = *(const int *)vctx;
    char el[32], eta[32];
    fmt_time(el, sizeof el, p->elapsed_s);
    fmt_time(eta, sizeof eta, p->eta_s);
    if (p->kind == 0) {
        char flops[48] = "";
        if (p->gflops > 0) snprintf(flops, sizeof flops, "  %.2f GFLOP/s", p->gflops);
        fprintf(stderr, "%sstep %lld/%lld  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s%s  elapsed %s  eta %s%s",
                tty ? "\r\033[K" : "", (long long)p->step, (long long)p->max_steps, p->loss, p->lr,
                p->grad_norm, p->tokens_per_s, flops, el, eta, tty ? "" : "\n");
    } else if (p->kind == 1) {
        fprintf(stderr, "%sstep %lld/%lld  dev nll %.4f  dev token acc %.2f%%\n", tty ? "\r\033[K" : "",
                (long long)p->step, (long long)p->max_steps, p->dev_nll, 100.0 * p->dev_acc);
    } else if (!tty) {
        fprintf(stderr, "step %lld/%lld  checkpoint written\n", (long long)p->step, (long long)p->max_steps);
    }
    fflush(stderr);
}

int mtx_cmd_train(int argc, char **argv) {
    const char *config = NULL, *out = NULL, *init = NULL, *thr_s = NULL;
    int resume = 0;
    const mtx_opt opts[] = { { "--config", &config, NULL }, { "--out", &out, NULL }, { "--resume", NULL, &resume },
                             { "--init", &init, NULL }, { "--threads", &thr_s, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 5, train_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    long threads = thr_s ? mtx_opt_int("train", "--threads", thr_s, 1, 256) : 0;
    if (threads < 0) return 2;
    if (!config || !out) {
        fprintf(stderr, "modtx train: --config and --out are required (see --help)\n");
        return 2;
    }
    if (init && resume) {
        fprintf(stderr, "modtx train: --init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)\n");
        return 2;
    }
    char cmd[2048];
    mtx_cli_command_line(cmd, sizeof cmd, argc, argv);
    int tty = isatty(2);
    mtx_status st = mtx_train_run(config, out, resume, init, (int)threads, cmd, mtx_cli_progress, &tty);
    if (tty) fputc('\n', stderr);
    if (st) return mtx_fail("train");
    fprintf(stderr, "modtx train: model written to %s\n", out);
    return 0;
}
