/* modular_run.c - `modtx modularize`: the whole run with checkpoints, a
 * JSON-lines metrics log and exact resume (see modular.h). */
#include "core/fsutil.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/modular_state.h"
#include "train/run_loop.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --init BANK: the modules start from that bank's; the optimiser and the
 * schedule start fresh. */
static mtx_status init_modules(mtx_modular *m, const char *dir) {
    if (!mtx_file_exists(dir)) return mtx_set_error(MTX_ERR_IO, "--init %s: no such bank directory", dir);
    mtx_bank_dir bd;
    mtx_status st = mtx_bank_load(dir, &bd);
    if (st) return mtx_set_error(st, "--init: %s", mtx_last_error());
    mtx_bank *b = mtx_modular_bank_mut(m);
    if (!mtx_bank_same_base(&bd.bank, b))
        st = mtx_set_error(MTX_ERR_FORMAT, "--init: %s: bank does not match this teacher and configuration (same teacher and granularities needed)", dir);
    else memcpy(b->mod, bd.bank.mod, b->n_mod * sizeof(float));
    mtx_bank_dir_free(&bd);
    return st;
}

/* The saved config pj with the top-level keys it lacks added, valued as in
 * the default config (a key that came after the run was written: the run
 * used its default), and its keys in cur_json's order so the two texts
 * compare. Keys cur_json does not know stay, at the end. pj is consumed. */
static cJSON *fill_missing_keys(cJSON *pj, const char *cur_json) {
    mtx_modular_config def = mtx_modular_config_default();
    char *dj = mtx_modular_config_to_json(&def);
    cJSON *d = dj ? cJSON_Parse(dj) : NULL, *cur = cJSON_Parse(cur_json), *out = cJSON_CreateObject();
    cJSON_free(dj);
    if (!d || !cur || !out) {
        cJSON_Delete(d);
        cJSON_Delete(cur);
        cJSON_Delete(out);
        return pj;
    }
    for (const cJSON *it = cur->child; it; it = it->next) {
        cJSON *have = cJSON_DetachItemFromObjectCaseSensitive(pj, it->string);
        if (!have) {
            const cJSON *dv = cJSON_GetObjectItemCaseSensitive(d, it->string);
            have = dv ? cJSON_Duplicate(dv, 1) : NULL;
        }
        if (have) cJSON_AddItemToObject(out, it->string, have);
    }
    while (pj->child) {
        cJSON *rest = cJSON_DetachItemViaPointer(pj, pj->child);
        cJSON_AddItemToObject(out, rest->string, rest);
    }
    cJSON_Delete(pj);
    cJSON_Delete(d);
    cJSON_Delete(cur);
    return out;
}

/* Provenance of a bank: the teacher's data provenance (so eval finds the
 * splits), the modularize config, the command and the step. */
static char *bank_provenance(const mtx_bundle *teacher, const char *teacher_dir, const mtx_modular_config *c,
                             const char *init_bank, const char *cmd, int64_t step, double dev_small) {
    cJSON *root = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(root, "modtx");
    cJSON *tj = cJSON_Parse(teacher->config_json);
    const cJSON *tp = tj ? cJSON_GetObjectItemCaseSensitive(tj, "modtx") : NULL;
    const cJSON *ttr = tp ? cJSON_GetObjectItemCaseSensitive(tp, "training") : NULL;
    if (ttr) cJSON_AddItemToObject(p, "training", cJSON_Duplicate(ttr, 1));
    cJSON_Delete(tj);
    cJSON_AddStringToObject(p, "teacher", teacher_dir);
    if (init_bank) cJSON_AddStringToObject(p, "init_bank", init_bank);
    char *mc = mtx_modular_config_to_json(c);
    cJSON_AddItemToObject(p, "modularize", cJSON_Parse(mc ? mc : "{}"));
    cJSON_free(mc);
    cJSON_AddStringToObject(p, "command", cmd ? cmd : "");
    cJSON_AddNumberToObject(p, "step", (double)step);
    if (dev_small >= 0) cJSON_AddNumberToObject(p, "dev_nll_smallest", dev_small);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* train_data: the whole corpus file becomes the training split (no index
 * rule), encoded with the teacher's vocabularies; dev and test stay. */
static mtx_status replace_train_split(mtx_dataset *d, const char *path, const mtx_model_config *mc) {
    mtx_corpus c;
    mtx_encoded e;
    memset(&e, 0, sizeof e);
    mtx_status st = mtx_corpus_load(path, &c);
    if (st) return st;
    st = mtx_encode_corpus(&c, &d->sv, &d->tv, mc->max_source_positions, mc->max_target_positions - 1, &e);
    mtx_corpus_free(&c);
    if (st) {
        char why[600];
        snprintf(why, sizeof why, "%s", mtx_last_error());
        return mtx_set_error(st, "train_data %s: %s (the teacher's vocabularies)", path, why);
    }
    if (e.n == 0) {
        mtx_encoded_free(&e);
        return mtx_set_error(MTX_ERR_DATA, "train_data %s: no entry fits max_source_positions %d / max_target_positions %d",
                             path, mc->max_source_positions, mc->max_target_positions);
    }
    mtx_encoded_free(&d->train);
    d->train = e;
    return MTX_OK;
}

/* What a run holds open. */
typedef struct {
    mtx_modular_config cfg;
    mtx_bundle teacher;
    mtx_dataset d;
    mtx_modular *m;
    char *init_rec; /* --init bank as recorded in the provenance, or NULL */
} mtx_bank_run;

/* The saved config of the run in out_dir against this one: max_steps may
 * grow and threads change; everything else must match. A derived curriculum
 * slope keeps the value of the original run (cfg and *cfg_json updated). */
static mtx_status check_same_config(const char *saved, const char *out_dir, mtx_modular_config *cfg,
                                    char **cfg_json) {
    uint8_t *prev = NULL;
    size_t len = 0;
    mtx_status st = mtx_read_file(saved, 1 << 20, &prev, &len);
    if (st) return st;
    cJSON *pj = cJSON_ParseWithLength((const char *)prev, len);
    free(prev);
    cJSON *tr = pj ? cJSON_GetObjectItemCaseSensitive(pj, "training") : NULL;
    cJSON *ms = tr ? cJSON_GetObjectItemCaseSensitive(tr, "max_steps") : NULL;
    cJSON *th = tr ? cJSON_GetObjectItemCaseSensitive(tr, "threads") : NULL;
    const cJSON *sl = pj ? cJSON_GetObjectItemCaseSensitive(pj, "replace_rate_slope") : NULL;
    if (!cfg->slope_given && cJSON_IsNumber(sl)) {
        cfg->rate_slope = (float)sl->valuedouble;
        cJSON_free(*cfg_json);
        *cfg_json = mtx_modular_config_to_json(cfg);
        if (!*cfg_json) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    }
    if (ms) cJSON_SetNumberValue(ms, cfg->opt.max_steps);
    if (th) cJSON_SetNumberValue(th, cfg->opt.threads);
    /* a key the run's file lacks came after it: the run used that key's
     * default (the objective it trained is the default's) */
    if (pj && *cfg_json) pj = fill_missing_keys(pj, *cfg_json);
    char *p1 = pj ? cJSON_PrintUnformatted(pj) : NULL;
    if (!st && (!p1 || strcmp(p1, *cfg_json)))
        st = mtx_set_error(MTX_ERR_ARG, "cannot resume: the modularize config differs from the run in %s", out_dir);
    cJSON_free(p1);
    cJSON_Delete(pj);
    return st;
}

/* The run's hooks for the run loop (train/run_loop.h). */
typedef struct {
    mtx_modular *m;
    const mtx_modular_config *cfg;
    const mtx_dataset *d;
    const mtx_bundle *teacher;
    const char *teacher_dir, *out_dir, *init_rec, *command_line;
    mtx_assembly small;          /* evaluated every eval_every steps (and its uniform siblings) */
    mtx_modular_stats last;      /* the last step */
    double w_ce, w_kd, w_hid, w_att, w_loc; /* the log window */
    int64_t w_tok, w_n;
    double dev_small, dev_acc;   /* the last evaluation (dev_small < 0: none yet) */
} bank_hooks;

static int64_t hook_steps(void *ctx) { return mtx_modular_steps(((bank_hooks *)ctx)->m); }

static mtx_status hook_step(void *ctx) {
    bank_hooks *h = ctx;
    mtx_status st = mtx_modular_step(h->m, &h->last);
    if (st) return st;
    h->w_ce += h->last.ce;
    h->w_kd += h->last.kd;
    h->w_hid += h->last.hidden;
    h->w_att += h->last.attention;
    h->w_loc += h->last.local;
    h->w_n++;
    h->w_tok += h->last.tgt_tokens;
    return MTX_OK;
}

static mtx_status hook_window(void *ctx, int64_t step, double dt, char *line, size_t cap, mtx_train_progress *p) {
    bank_hooks *h = ctx;
    const mtx_modular_stats *s = &h->last;
    char att[64] = "";
    if (h->cfg->beta_attention > 0) snprintf(att, sizeof att, ",\"attention\":%.6f", h->w_att / (double)h->w_n);
    p->loss = (h->w_ce + h->w_kd) / (double)h->w_tok;
    p->lr = s->lr;
    p->grad_norm = s->grad_norm;
    p->tokens_per_s = (double)h->w_tok / dt;
    snprintf(line, cap,
             "{\"step\":%lld,\"ce\":%.6f,\"kd\":%.6f,\"hidden\":%.6f%s,\"local\":%.6f,\"lr\":%.6g,\"replace_rate\":%.4f,\"grad_norm\":%.4f,\"tokens_per_s\":%.1f,\"elapsed_s\":%.1f}",
             (long long)step, h->w_ce / (double)h->w_tok, h->w_kd / (double)h->w_tok, h->w_hid / (double)h->w_n, att,
             h->w_loc / (double)h->w_n, s->lr, s->rate, s->grad_norm, p->tokens_per_s, p->elapsed_s);
    h->w_ce = h->w_kd = h->w_hid = h->w_att = h->w_loc = 0;
    h->w_tok = h->w_n = 0;
    return MTX_OK;
}

/* Dev NLL of the smallest assembly and of every uniform one (each stack
 * that g divides made of m(g, .)). */
static mtx_status hook_eval(void *ctx, int64_t step, char *line, size_t cap, mtx_train_progress *p) {
    bank_hooks *h = ctx;
    mtx_status st = mtx_modular_eval(h->m, &h->small, &h->d->dev, &h->dev_small, &h->dev_acc);
    if (st) return st;
    int len = snprintf(line, cap, "{\"step\":%lld,\"dev_nll_smallest\":%.6f,\"dev_token_acc_smallest\":%.6f",
                       (long long)step, h->dev_small, h->dev_acc);
    for (int gi = 0; !st && gi < h->cfg->n_gran; gi++) {
        mtx_assembly u;
        double nll_g, acc_g;
        mtx_assembly_uniform(mtx_modular_bank(h->m), h->cfg->gran[gi], &u);
        st = mtx_modular_eval(h->m, &u, &h->d->dev, &nll_g, &acc_g);
        if (!st && len > 0 && (size_t)len < cap)
            len += snprintf(line + len, cap - (size_t)len, ",\"dev_nll_g%d\":%.6f", h->cfg->gran[gi], nll_g);
    }
    if (!st && len > 0 && (size_t)len + 2 < cap) {
        line[len++] = '}';
        line[len] = 0;
    }
    p->dev_nll = h->dev_small;
    p->dev_acc = h->dev_acc;
    return st;
}

static mtx_status hook_checkpoint(void *ctx, int64_t step) {
    bank_hooks *h = ctx;
    char *prov = bank_provenance(h->teacher, h->teacher_dir, h->cfg, h->init_rec, h->command_line, step, h->dev_small);
    mtx_status st = prov ? mtx_modular_checkpoint(h->m, h->out_dir, &h->d->sv, &h->d->tv, prov)
                         : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    cJSON_free(prov);
    return st;
}

/* The modularize config of a run: the file's, or the defaults with the
 * curriculum slope derived from max_steps; threads > 0 overrides. */
static mtx_status load_run_config(const char *config_path, int threads, mtx_modular_config *cfg) {
    *cfg = mtx_modular_config_default();
    mtx_status st = MTX_OK;
    if (config_path) st = mtx_modular_config_load(config_path, cfg);
    else cfg->rate_slope = (1.0f - cfg->rate_base) / (0.6f * (float)cfg->opt.max_steps);
    if (!st && threads > 0) cfg->opt.threads = threads;
    return st;
}

/* The teacher, the data of its run (train_data replacing the training
 * split) and the trainer, resumed from out_dir or started from init_bank. */
static mtx_status open_run(mtx_bank_run *r, const char *teacher_dir, const char *out_dir, int resume,
                           const char *init_bank) {
    mtx_train_config data_cfg;
    mtx_status st = mtx_bundle_load(teacher_dir, &r->teacher);
    if (!st) st = mtx_bundle_train_config(&r->teacher, teacher_dir, &data_cfg);
    if (!st) st = mtx_dataset_load(&r->d, &data_cfg, &r->teacher.model.cfg, teacher_dir);
    if (!st && r->cfg.train_data[0]) st = replace_train_split(&r->d, r->cfg.train_data, &r->teacher.model.cfg);
    if (!st) st = mtx_modular_new(&r->m, &r->cfg, &r->teacher.model, &r->d);
    if (!st && resume) st = mtx_modular_restore(r->m, out_dir);
    /* provenance: --init is recorded as an absolute path, and a resumed run
     * keeps the record of the run it continues */
    if (!st && init_bank) st = init_modules(r->m, init_bank);
    if (!st && init_bank) st = mtx_path_absolute(init_bank, &r->init_rec);
    if (!st && resume) r->init_rec = mtx_recorded_provenance(out_dir, "init_bank");
    return st;
}

mtx_status mtx_modularize_run(const char *teacher_dir, const char *out_dir, const char *config_path,
                              int resume, const char *init_bank, int threads, const char *command_line,
                              mtx_progress_fn fn, void *ctx) {
    if (init_bank && resume)
        return mtx_set_error(MTX_ERR_ARG, "--init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)");
    mtx_bank_run r;
    memset(&r, 0, sizeof r);
    mtx_status st = load_run_config(config_path, threads, &r.cfg);
    if (st) return st;
    mtx_set_threads(r.cfg.opt.threads);
    char path[MTX_PATH_MAX], metrics[MTX_PATH_MAX], saved[MTX_PATH_MAX];
    st = mtx_path_join(metrics, sizeof metrics, out_dir, "metrics.jsonl");
    if (!st) st = mtx_path_join(path, sizeof path, out_dir, "bank_state.safetensors");
    if (!st) st = mtx_path_join(saved, sizeof saved, out_dir, "modularize_config.json");
    if (st) return st;
    int have = mtx_file_exists(path);
    if (resume && !have) return mtx_set_error(MTX_ERR_STATE, "--resume: no bank checkpoint in %s", out_dir);
    if (!resume && have)
        return mtx_set_error(MTX_ERR_STATE, "%s already holds a modularize run; pass --resume to continue it or choose another --out", out_dir);
    char *cfg_json = mtx_modular_config_to_json(&r.cfg);
    if (!cfg_json) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (resume) st = check_same_config(saved, out_dir, &r.cfg, &cfg_json);
    if (!st) st = open_run(&r, teacher_dir, out_dir, resume, init_bank);
    if (!st && !resume) {
        st = mtx_mkdir_p(out_dir);
        if (!st) st = mtx_write_file_atomic(saved, cfg_json, strlen(cfg_json));
        if (!st) st = mtx_write_file_atomic(metrics, "", 0);
    }
    if (!st && resume) st = mtx_metrics_truncate(metrics, mtx_modular_steps(r.m));
    bank_hooks h;
    memset(&h, 0, sizeof h);
    h.m = r.m;
    h.cfg = &r.cfg;
    h.d = &r.d;
    h.teacher = &r.teacher;
    h.teacher_dir = teacher_dir;
    h.out_dir = out_dir;
    h.init_rec = r.init_rec;
    h.command_line = command_line;
    h.dev_small = -1;
    if (r.m) mtx_assembly_smallest(mtx_modular_bank(r.m), &h.small);
    const mtx_run_hooks hooks = { &h, hook_steps, hook_step, hook_window, hook_eval, hook_checkpoint };
    if (!st) st = mtx_run_loop(&hooks, &r.cfg.opt, metrics, fn, ctx);
    free(r.init_rec);
    mtx_modular_free(r.m);
    mtx_dataset_free(&r.d);
    mtx_bundle_free(&r.teacher);
    cJSON_free(cfg_json);
    return st;
}
