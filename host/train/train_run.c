/* train_run.c - `modtx train`: a whole run with periodic checkpoints, a
 * JSON-lines metrics log and exact resume (see train.h). */
#include "io/checkpoint.h"
#include "core/fsutil.h"
#include "model/gemm.h"
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

mtx_status mtx_train_run(const char *config_path, const char *out_dir, int resume, const char *init_dir, int threads,
                         const char *command_line, mtx_progress_fn fn, void *ctx) {
    if (init_dir && resume)
        return mtx_set_error(MTX_ERR_ARG, "--init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)");
    mtx_model_config mcfg;
    mtx_train_config tcfg;
    char path[MTX_PATH_MAX], metrics[MTX_PATH_MAX];
    mtx_status st = mtx_config_load_training(config_path, &mcfg, &tcfg);
    if (st) return st;
    if (threads > 0) tcfg.threads = threads;
    mtx_set_threads(tcfg.threads);
    if (!st) st = mtx_path_join(metrics, sizeof metrics, out_dir, "metrics.jsonl");
    if (!st) st = mtx_path_join(path, sizeof path, out_dir, "train_state.safetensors");
    if (st) return st;
    int have_state = mtx_file_exists(path);
    if (resume && !have_state)
        return mtx_set_error(MTX_ERR_STATE, "--resume: no checkpoint in %s", out_dir);
    if (!resume && have_state)
        return mtx_set_error(MTX_ERR_STATE, "%s already holds a training run; pass --resume to continue it or choose another --out", out_dir);
    if (resume) {
        st = check_same_run(out_dir, &mcfg, &tcfg);
        if (st) return st;
    }
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
    st = mtx_dataset_load(&d, &tcfg, &mcfg, resume ? out_dir : init_dir);
    if (st == MTX_ERR_DATA && init_dir) {
        char why[400];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        st = mtx_set_error(st, "%s (with the vocabularies of --init %s)", why, init_dir);
    }
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
    if (!st && !resume) {
        /* keep the exact config of the run beside it, for resume checks */
        uint8_t *raw = NULL;
        size_t len = 0;
        st = mtx_mkdir_p(out_dir);
        if (!st) st = mtx_read_file(config_path, 1 << 20, &raw, &len);
        if (!st) st = mtx_path_join(path, sizeof path, out_dir, "train_config.json");
        if (!st) st = mtx_write_file_atomic(path, raw, len);
        free(raw);
        if (!st) st = mtx_write_file_atomic(metrics, "", 0);
    }
    double t0 = mtx_now_s(), win_t0 = t0, win_loss = 0, win_flops = 0;
    int64_t win_tgt = 0, win_tok = 0, start_step = tr ? mtx_trainer_step_count(tr) : 0;
    double dev_nll = -1, dev_acc = 0;
    while (!st && mtx_trainer_step_count(tr) < tcfg.max_steps) {
        mtx_step_stats s;
        st = mtx_trainer_step(tr, &s);
        if (st) break;
        int64_t step = mtx_trainer_step_count(tr);
        win_loss += s.loss_sum;
        win_tgt += s.tgt_tokens;
        win_tok += s.tgt_tokens + s.src_tokens;
        win_flops += s.flops;
        if (step % tcfg.log_every == 0 || step == tcfg.max_steps) {
            double now = mtx_now_s(), dt = now - win_t0;
            mtx_train_progress p = { 0 };
            p.step = step;
            p.max_steps = tcfg.max_steps;
            p.loss = win_loss / (double)(win_tgt ? win_tgt : 1);
            p.lr = s.lr;
            p.grad_norm = s.grad_norm;
            p.tokens_per_s = dt > 0 ? (double)win_tok / dt : 0;
            p.gflops = dt > 0 ? win_flops / dt * 1e-9 : 0;
            p.elapsed_s = now - t0;
            p.eta_s = (double)(tcfg.max_steps - step) * (now - t0) / (double)(step - start_step);
            char line[512];
            snprintf(line, sizeof line,
                     "{\"step\":%lld,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.4f,\"tokens_per_s\":%.1f,\"gflops\":%.3f,\"elapsed_s\":%.1f}",
                     (long long)step, p.loss, p.lr, p.grad_norm, p.tokens_per_s, p.gflops, p.elapsed_s);
            st = mtx_append_line(metrics, line);
            if (fn) fn(&p, ctx);
            win_t0 = now;
            win_loss = win_flops = 0;
            win_tgt = win_tok = 0;
        }
        if (!st && ((tcfg.eval_every && step % tcfg.eval_every == 0) || step == tcfg.max_steps)) {
            st = mtx_trainer_eval(tr, &d.dev, &dev_nll, &dev_acc);
            if (!st) {
                char line[256];
                snprintf(line, sizeof line, "{\"step\":%lld,\"dev_nll\":%.6f,\"dev_token_acc\":%.6f}",
                         (long long)step, dev_nll, dev_acc);
                st = mtx_append_line(metrics, line);
                mtx_train_progress p = { 0 };
                p.step = step;
                p.max_steps = tcfg.max_steps;
                p.kind = 1;
                p.dev_nll = dev_nll;
                p.dev_acc = dev_acc;
                p.elapsed_s = mtx_now_s() - t0;
                if (fn) fn(&p, ctx);
            }
        }
        if (!st && (step % tcfg.checkpoint_every == 0 || step == tcfg.max_steps)) {
            char *prov = provenance(&tcfg, command_line, init_model, step, &d, dev_nll, dev_acc);
            st = prov ? mtx_trainer_checkpoint(tr, out_dir, prov)
                      : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
            cJSON_free(prov);
            if (!st && fn) {
                mtx_train_progress p = { 0 };
                p.step = step;
                p.max_steps = tcfg.max_steps;
                p.kind = 2;
                fn(&p, ctx);
            }
        }
    }
    mtx_trainer_free(tr);
    mtx_dataset_free(&d);
    free(init_model);
    return st;
}
