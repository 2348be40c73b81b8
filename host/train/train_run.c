/* train_run.c - `modtx train`: a whole run with periodic checkpoints, a
 * JSON-lines metrics log and exact resume (see train.h). */
#include "io/checkpoint.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "train/run_loop.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keeps only the metrics lines of steps <= step (a resumed run rewrites the rest). */
mtx_status mtx_metrics_truncate(const char *path, int64_t step) {
    if (!mtx_file_exists(path)) return MTX_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    mtx_status st = mtx_read_file(path, (size_t)1 << 30, &buf, &len);
    if (st) return st;
    size_t keep = 0;
    for (size_t pos = 0; pos < len;) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - (char *)buf) + 1 : len;
        cJSON *j = cJSON_ParseWithLength((const char *)buf + pos, end - pos);
        const cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        int ok = s && cJSON_IsNumber(s) && s->valuedouble <= (double)step;
        cJSON_Delete(j);
        if (!ok) break;
        keep = end;
        pos = end;
    }
    st = mtx_write_file_atomic(path, buf, keep);
    free(buf);
    return st;
}

static char *provenance(const mtx_train_config *t, const char *cmd, const char *init_model,
                        int64_t step, const mtx_dataset *d, double dev_nll, double dev_acc) {
    cJSON *root = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(root, "modtx");
    cJSON_AddStringToObject(p, "kind", "teacher");
    cJSON_AddStringToObject(p, "command", cmd ? cmd : "");
    if (init_model) cJSON_AddStringToObject(p, "init_model", init_model);
    cJSON_AddNumberToObject(p, "step", (double)step);
    char *tj = mtx_train_config_to_json(t);
    if (tj) {
        cJSON_AddItemToObject(p, "training", cJSON_Parse(tj));
        cJSON_free(tj);
    }
    cJSON_AddNumberToObject(p, "train_entries", d->train.n);
    cJSON_AddNumberToObject(p, "dev_entries", d->dev.n);
    cJSON_AddNumberToObject(p, "skipped_lines", (double)d->n_skipped);
    if (dev_nll >= 0) {
        cJSON_AddNumberToObject(p, "dev_nll", dev_nll);
        cJSON_AddNumberToObject(p, "dev_token_acc", dev_acc);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* The saved training config must match on resume (max_steps and threads may
 * change; resume is bit-exact when the thread count is the same). */
static mtx_status check_same_run(const char *dir, const mtx_model_config *m, const mtx_train_config *t) {
    char path[MTX_PATH_MAX];
    mtx_status st = mtx_path_join(path, sizeof path, dir, "train_config.json");
    if (st) return st;
    mtx_model_config m0;
    mtx_train_config t0;
    st = mtx_config_load_training(path, &m0, &t0);
    if (st) {
        char why[400];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        return mtx_set_error(st, "cannot resume: %s", why);
    }
    t0.max_steps = t->max_steps;
    t0.threads = t->threads;
    char *a = mtx_train_config_to_json(&t0), *b = mtx_train_config_to_json(t);
    int same = a && b && strcmp(a, b) == 0;
    cJSON_free(a);
    cJSON_free(b);
    m0.src_vocab_size = m->src_vocab_size;
    m0.tgt_vocab_size = m->tgt_vocab_size;
    same &= memcmp(&m0, m, sizeof m0) == 0;
    if (!same) return mtx_set_error(MTX_ERR_ARG, "cannot resume: %s differs from the configuration of the run in %s", "the config", dir);
    return MTX_OK;
}

/* Loads the --init model directory into b and checks that the architecture
 * of the training config m matches it (vocabulary sizes left 0 in the config
 * are taken from the model). Errors are one line naming the directory. */
static mtx_status load_init(const char *dir, const char *config_path, mtx_model_config *m,
                            mtx_bundle *b) {
    memset(b, 0, sizeof *b);
    if (!mtx_file_exists(dir)) return mtx_set_error(MTX_ERR_IO, "--init %s: no such model directory", dir);
    mtx_status st = mtx_bundle_load(dir, b);
    if (st) {
        char why[400];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        return mtx_set_error(st, "--init: %s", why);
    }
    if (m->src_vocab_size == 0) m->src_vocab_size = b->model.cfg.src_vocab_size;
    if (m->tgt_vocab_size == 0) m->tgt_vocab_size = b->model.cfg.tgt_vocab_size;
    char why[160];
    if (!mtx_model_config_same_arch(m, &b->model.cfg, why, sizeof why)) {
        mtx_bundle_free(b);
        return mtx_set_error(MTX_ERR_ARG, "%s: architecture differs from the --init model %s: %s (config vs model)",
                             config_path, dir, why);
    }
    return MTX_OK;
}

/* The run's hooks for the run loop (run_loop.h). */
typedef struct {
    mtx_trainer *tr;
    const mtx_train_config *t;
    const mtx_dataset *d;
    const char *out_dir, *command_line, *init_model;
    mtx_step_stats last;           /* the last step */
    double win_loss, win_flops;    /* the log window */
    int64_t win_tgt, win_tok;
    double dev_nll, dev_acc;       /* the last evaluation (dev_nll < 0: none yet) */
} train_hooks;

static int64_t hook_steps(void *ctx) { return mtx_trainer_step_count(((train_hooks *)ctx)->tr); }

static mtx_status hook_step(void *ctx) {
    train_hooks *h = ctx;
    mtx_status st = mtx_trainer_step(h->tr, &h->last);
    if (st) return st;
    h->win_loss += h->last.loss_sum;
    h->win_tgt += h->last.tgt_tokens;
    h->win_tok += h->last.tgt_tokens + h->last.src_tokens;
    h->win_flops += h->last.flops;
    return MTX_OK;
}

static mtx_status hook_window(void *ctx, int64_t step, double dt, char *line, size_t cap, mtx_train_progress *p) {
    train_hooks *h = ctx;
    p->loss = h->win_loss / (double)(h->win_tgt ? h->win_tgt : 1);
    p->lr = h->last.lr;
    p->grad_norm = h->last.grad_norm;
    p->tokens_per_s = dt > 0 ? (double)h->win_tok / dt : 0;
    p->gflops = dt > 0 ? h->win_flops / dt * 1e-9 : 0;
    snprintf(line, cap,
             "{\"step\":%lld,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.4f,\"tokens_per_s\":%.1f,\"gflops\":%.3f,\"elapsed_s\":%.1f}",
             (long long)step, p->loss, p->lr, p->grad_norm, p->tokens_per_s, p->gflops, p->elapsed_s);
    h->win_loss = h->win_flops = 0;
    h->win_tgt = h->win_tok = 0;
    return MTX_OK;
}

static mtx_status hook_eval(void *ctx, int64_t step, char *line, size_t cap, mtx_train_progress *p) {
    train_hooks *h = ctx;
    mtx_status st = mtx_trainer_eval(h->tr, &h->d->dev, &h->dev_nll, &h->dev_acc);
    if (st) return st;
    snprintf(line, cap, "{\"step\":%lld,\"dev_nll\":%.6f,\"dev_token_acc\":%.6f}", (long long)step, h->dev_nll,
             h->dev_acc);
    p->dev_nll = h->dev_nll;
    p->dev_acc = h->dev_acc;
    return MTX_OK;
}

static mtx_status hook_checkpoint(void *ctx, int64_t step) {
    train_hooks *h = ctx;
    char *prov = provenance(h->t, h->command_line, h->init_model, step, h->d, h->dev_nll, h->dev_acc);
    mtx_status st = prov ? mtx_trainer_checkpoint(h->tr, h->out_dir, prov)
                         : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    cJSON_free(prov);
    return st;
}

/* A new run keeps the exact config beside it (for resume checks) and starts
 * an empty metrics log. */
static mtx_status start_run_dir(const char *out_dir, const char *config_path, const char *metrics) {
    char path[MTX_PATH_MAX];
    uint8_t *raw = NULL;
    size_t len = 0;
    mtx_status st = mtx_mkdir_p(out_dir);
    if (!st) st = mtx_read_file(config_path, 1 << 20, &raw, &len);
    if (!st) st = mtx_path_join(path, sizeof path, out_dir, "train_config.json");
    if (!st) st = mtx_write_file_atomic(path, raw, len);
    free(raw);
    if (!st) st = mtx_write_file_atomic(metrics, "", 0);
    return st;
}

/* The data of the run: the vocabularies of the run being resumed or of the
 * --init model, else built from the training split. */
static mtx_status load_run_data(mtx_dataset *d, const mtx_train_config *t, const mtx_model_config *m,
                                const char *out_dir, int resume, const char *init_dir) {
    mtx_status st = mtx_dataset_load(d, t, m, resume ? out_dir : init_dir);
    if (st == MTX_ERR_DATA && init_dir) {
        char why[400];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        st = mtx_set_error(st, "%s (with the vocabularies of --init %s)", why, init_dir);
    }
    return st;
}

/* The state files of out_dir against the mode: resume needs a run there, a
 * new run needs none. */
static mtx_status check_out_dir(const char *out_dir, int resume) {
    char path[MTX_PATH_MAX];
    mtx_status st = mtx_path_join(path, sizeof path, out_dir, "train_state.safetensors");
    if (st) return st;
    int have_state = mtx_file_exists(path);
    if (resume && !have_state) return mtx_set_error(MTX_ERR_STATE, "--resume: no checkpoint in %s", out_dir);
    if (!resume && have_state)
        return mtx_set_error(MTX_ERR_STATE, "%s already holds a training run; pass --resume to continue it or choose another --out", out_dir);
    return MTX_OK;
}

mtx_status mtx_train_run(const char *config_path, const char *out_dir, int resume, const char *init_dir, int threads,
                         const char *command_line, mtx_progress_fn fn, void *ctx) {
    if (init_dir && resume)
        return mtx_set_error(MTX_ERR_ARG, "--init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)");
    mtx_model_config mcfg;
    mtx_train_config tcfg;
    char metrics[MTX_PATH_MAX];
    mtx_status st = mtx_config_load_training(config_path, &mcfg, &tcfg);
    if (st) return st;
    if (threads > 0) tcfg.threads = threads;
    mtx_set_threads(tcfg.threads);
    st = mtx_path_join(metrics, sizeof metrics, out_dir, "metrics.jsonl");
    if (!st) st = check_out_dir(out_dir, resume);
    if (!st && resume) st = check_same_run(out_dir, &mcfg, &tcfg);
    if (st) return st;
    /* --init: that model's weights and vocabularies, a fresh optimiser and schedule */
    mtx_bundle init;
    memset(&init, 0, sizeof init);
    char *init_model = NULL; /* provenance */
    if (init_dir) {
        st = load_init(init_dir, config_path, &mcfg, &init);
        if (st) return st;
        /* recorded as an absolute path: the record must not depend on the cwd */
        st = mtx_path_absolute(init_dir, &init_model);
        if (st) {
            mtx_bundle_free(&init);
            return st;
        }
    } else if (resume) {
        init_model = mtx_recorded_provenance(out_dir, "init_model");
    }
    mtx_dataset d;
    st = load_run_data(&d, &tcfg, &mcfg, out_dir, resume, init_dir);
    if (st) {
        mtx_bundle_free(&init);
        free(init_model);
        return st;
    }
    mcfg.src_vocab_size = d.sv.n;
    mcfg.tgt_vocab_size = d.tv.n;
    mtx_trainer *tr = NULL;
    st = mtx_trainer_new(&tr, &mcfg, &tcfg, &d, init_dir ? &init.model : NULL);
    mtx_bundle_free(&init); /* the trainer holds its own copy of the weights */
    if (!st && resume) st = mtx_trainer_restore(tr, out_dir);
    if (!st && resume) st = mtx_metrics_truncate(metrics, mtx_trainer_step_count(tr));
    if (!st && !resume) st = start_run_dir(out_dir, config_path, metrics);
    train_hooks th;
    memset(&th, 0, sizeof th);
    th.tr = tr;
    th.t = &tcfg;
    th.d = &d;
    th.out_dir = out_dir;
    th.command_line = command_line;
    th.init_model = init_model;
    th.dev_nll = -1;
    const mtx_run_hooks hooks = { &th, hook_steps, hook_step, hook_window, hook_eval, hook_checkpoint };
    if (!st) st = mtx_run_loop(&hooks, &tcfg, metrics, fn, ctx);
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
    free(init_model);
    return st;
}
