/* modular_io.c - bank directories, modularize checkpoints and the
 * `modtx modularize` run (see modular.h). */
#include "core/fsutil.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/modular_state.h"
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static char *bank_extra_json(const mtx_bank *b, const char *extra_json) {
    cJSON *root = extra_json ? cJSON_Parse(extra_json) : cJSON_CreateObject();
    if (!root) return NULL;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "modtx");
    if (!p) p = cJSON_AddObjectToObject(root, "modtx");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "kind");
    cJSON_AddStringToObject(p, "kind", "bank");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "granularities");
    cJSON *g = cJSON_AddArrayToObject(p, "granularities");
    for (int i = 0; i < b->n_gran; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(b->gran[i]));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

mtx_status mtx_bank_save(const char *dir, const mtx_bank *b, const mtx_vocab *sv, const mtx_vocab *tv,
                         const char *extra_json, int64_t step) {
    char path[MTX_PATH_MAX], num[32];
    mtx_status st = mtx_mkdir_p(dir);
    if (st) return st;
    snprintf(num, sizeof num, "%lld", (long long)step);
    mtx_st_writer *wr = NULL;
    st = mtx_st_writer_new(&wr);
    if (!st) st = mtx_weights_add_to_writer(wr, &b->teacher.w, &b->teacher.cfg, "", MTX_DT_F32);
    if (!st) st = mtx_bank_add_modules(b, wr, "", b->mod);
    if (!st) st = mtx_st_add_meta(wr, "format", "modtx");
    if (!st) st = mtx_st_add_meta(wr, "step", num);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    char *extra = st ? NULL : bank_extra_json(b, extra_json);
    if (!st && !extra) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) st = mtx_bundle_save_text(dir, &b->teacher.cfg, sv, tv, extra);
    cJSON_free(extra);
    return st;
}

mtx_status mtx_bank_load(const char *dir, mtx_bank_dir *out) {
    memset(out, 0, sizeof *out);
    mtx_status st = mtx_bundle_load(dir, &out->teacher);
    if (st) return st;
    cJSON *root = cJSON_Parse(out->teacher.config_json);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *kind = p ? cJSON_GetObjectItemCaseSensitive(p, "kind") : NULL;
    const cJSON *g = p ? cJSON_GetObjectItemCaseSensitive(p, "granularities") : NULL;
    int gran[MTX_MAX_GRAN], ng = cJSON_IsArray(g) ? cJSON_GetArraySize(g) : 0;
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "bank") || ng < 1 || ng > MTX_MAX_GRAN)
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: not a module bank (config.json has no \"modtx\": {\"kind\": \"bank\", \"granularities\": [...]})", dir);
    for (int i = 0; !st && i < ng; i++) {
        const cJSON *x = cJSON_GetArrayItem(g, i);
        if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int)x->valuedouble || x->valuedouble < 2 ||
            x->valuedouble > MTX_MAX_LAYERS)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: bad granularity in config.json", dir);
        else gran[i] = (int)x->valuedouble;
    }
    cJSON_Delete(root);
    if (!st) st = mtx_bank_init(&out->bank, &out->teacher.model, gran, ng, NULL);
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    if (!st) st = mtx_path_join(path, sizeof path, dir, "model.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_bank_read_modules(&out->bank, f, path, "", out->bank.mod);
    mtx_st_close(f);
    for (size_t i = 0; !st && i < out->bank.n_mod; i++)
        if (!(out->bank.mod[i] == out->bank.mod[i]) || out->bank.mod[i] > 3.4e38f || out->bank.mod[i] < -3.4e38f)
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite module parameter", path);
    if (st) mtx_bank_dir_free(out);
    return st;
}

void mtx_bank_dir_free(mtx_bank_dir *b) {
    mtx_bank_free(&b->bank);
    mtx_bundle_free(&b->teacher);
}

mtx_status mtx_modular_checkpoint(mtx_modular *m, const char *dir, const mtx_vocab *sv,
                                  const mtx_vocab *tv, const char *provenance_json) {
    float *am, *av;
    int64_t step, epoch;
    int batch;
    mtx_modular_state_views(m, &am, &av, &step, &epoch, &batch);
    const mtx_bank *b = mtx_modular_bank(m);
    char path[MTX_PATH_MAX], s1[32], s2[32], s3[32];
    mtx_status st = mtx_mkdir_p(dir);
    snprintf(s1, sizeof s1, "%lld", (long long)step);
    snprintf(s2, sizeof s2, "%lld", (long long)epoch);
    snprintf(s3, sizeof s3, "%d", batch);
    mtx_st_writer *wr = NULL;
    if (!st) st = mtx_st_writer_new(&wr);
    /* self-contained state: resume reads the modules from here, not from the
     * exported bank written after it */
    if (!st) st = mtx_bank_add_modules(b, wr, "model.", b->mod);
    if (!st) st = mtx_bank_add_modules(b, wr, "adam.m.", am);
    if (!st) st = mtx_bank_add_modules(b, wr, "adam.v.", av);
    if (!st) st = mtx_st_add_meta(wr, "step", s1);
    if (!st) st = mtx_st_add_meta(wr, "epoch", s2);
    if (!st) st = mtx_st_add_meta(wr, "batch", s3);
    if (!st) st = mtx_path_join(path, sizeof path, dir, "bank_state.safetensors");
    if (!st) st = mtx_st_write(wr, path);
    mtx_st_writer_free(wr);
    if (!st) st = mtx_bank_save(dir, b, sv, tv, provenance_json, step);
    return st;
}


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

mtx_status mtx_modular_restore(mtx_modular *m, const char *dir) {
    /* the bank directory must hold the same teacher and granularities */
    mtx_bank_dir bd;
    mtx_status st = mtx_bank_load(dir, &bd);
    if (st) return st;
    mtx_bank *b = mtx_modular_bank_mut(m);
    if (!mtx_bank_same_base(&bd.bank, b))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: bank does not match this teacher and configuration", dir);
    mtx_bank_dir_free(&bd);
    if (st) return st;
    float *am, *av;
    int64_t step = 0, epoch = 0, batch = 0, s0, e0;
    int b0;
    mtx_modular_state_views(m, &am, &av, &s0, &e0, &b0);
    char path[MTX_PATH_MAX];
    mtx_st_file *f = NULL;
    st = mtx_path_join(path, sizeof path, dir, "bank_state.safetensors");
    if (!st) st = mtx_st_open(path, &f);
    if (!st) st = mtx_st_meta_int(f, path, "step", &step);
    if (!st) st = mtx_st_meta_int(f, path, "epoch", &epoch);
    if (!st) st = mtx_st_meta_int(f, path, "batch", &batch);
    if (!st) st = mtx_bank_read_modules(b, f, path, "model.", b->mod);
    if (!st) st = mtx_bank_read_modules(b, f, path, "adam.m.", am);
    if (!st) st = mtx_bank_read_modules(b, f, path, "adam.v.", av);
    mtx_st_close(f);
    for (size_t i = 0; !st && i < b->n_mod; i++)
        if (!isfinite(b->mod[i])) st = mtx_set_error(MTX_ERR_FORMAT, "%s: non-finite module parameter", path);
    if (!st && batch > 2147483647) st = mtx_set_error(MTX_ERR_FORMAT, "%s: bad batch index", path);
    if (!st) st = mtx_modular_set_position(m, step, epoch, (int)batch);
    return st;
}

/* ------------------------------------------------------- the whole run */

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

mtx_status mtx_modularize_run(const char *teacher_dir, const char *out_dir, const char *config_path,
                              int resume, const char *init_bank, int threads, const char *command_line,
                              mtx_progress_fn fn, void *ctx) {
    if (init_bank && resume)
        return mtx_set_error(MTX_ERR_ARG, "--init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)");
    mtx_modular_config cfg = mtx_modular_config_default();
    mtx_status st = MTX_OK;
    if (config_path) st = mtx_modular_config_load(config_path, &cfg);
    else cfg.rate_slope = (1.0f - cfg.rate_base) / (0.6f * (float)cfg.opt.max_steps);
    if (st) return st;
    if (threads > 0) cfg.opt.threads = threads;
    mtx_set_threads(cfg.opt.threads);
    char path[MTX_PATH_MAX], metrics[MTX_PATH_MAX], saved[MTX_PATH_MAX];
    st = mtx_path_join(metrics, sizeof metrics, out_dir, "metrics.jsonl");
    if (!st) st = mtx_path_join(path, sizeof path, out_dir, "bank_state.safetensors");
    if (!st) st = mtx_path_join(saved, sizeof saved, out_dir, "modularize_config.json");
    if (st) return st;
    int have = mtx_file_exists(path);
    if (resume && !have) return mtx_set_error(MTX_ERR_STATE, "--resume: no bank checkpoint in %s", out_dir);
    if (!resume && have)
        return mtx_set_error(MTX_ERR_STATE, "%s already holds a modularize run; pass --resume to continue it or choose another --out", out_dir);
    char *cfg_json = mtx_modular_config_to_json(&cfg);
    if (!cfg_json) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (resume) {
        uint8_t *prev = NULL;
        size_t len = 0;
        st = mtx_read_file(saved, 1 << 20, &prev, &len);
        if (!st) {
            /* max_steps may grow and threads change; everything else must
             * match. A derived curriculum slope keeps the value of the
             * original run. */
            cJSON *pj = cJSON_ParseWithLength((const char *)prev, len);
            cJSON *tr = pj ? cJSON_GetObjectItemCaseSensitive(pj, "training") : NULL;
            cJSON *ms = tr ? cJSON_GetObjectItemCaseSensitive(tr, "max_steps") : NULL;
            cJSON *th = tr ? cJSON_GetObjectItemCaseSensitive(tr, "threads") : NULL;
            const cJSON *sl = pj ? cJSON_GetObjectItemCaseSensitive(pj, "replace_rate_slope") : NULL;
            if (!cfg.slope_given && cJSON_IsNumber(sl)) {
                cfg.rate_slope = (float)sl->valuedouble;
                cJSON_free(cfg_json);
                cfg_json = mtx_modular_config_to_json(&cfg);
                if (!cfg_json) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
            }
            if (ms) cJSON_SetNumberValue(ms, cfg.opt.max_steps);
            if (th) cJSON_SetNumberValue(th, cfg.opt.threads);
            /* a key the run's file lacks came after it: the run used that
             * key's default (the objective it trained is the default's) */
            if (pj) pj = fill_missing_keys(pj, cfg_json);
            char *p1 = pj ? cJSON_PrintUnformatted(pj) : NULL;
            if (!st && (!p1 || strcmp(p1, cfg_json)))
                st = mtx_set_error(MTX_ERR_ARG, "cannot resume: the modularize config differs from the run in %s", out_dir);
            cJSON_free(p1);
            cJSON_Delete(pj);
        }
        free(prev);
    }
    mtx_bundle teacher;
    memset(&teacher, 0, sizeof teacher);
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    mtx_train_config data_cfg;
    if (!st) st = mtx_bundle_load(teacher_dir, &teacher);
    if (!st) st = mtx_bundle_train_config(&teacher, teacher_dir, &data_cfg);
    if (!st) st = mtx_dataset_load(&d, &data_cfg, &teacher.model.cfg, teacher_dir);
    if (!st && cfg.train_data[0]) st = replace_train_split(&d, cfg.train_data, &teacher.model.cfg);
    mtx_modular *m = NULL;
    if (!st) st = mtx_modular_new(&m, &cfg, &teacher.model, &d);
    if (!st && resume) st = mtx_modular_restore(m, out_dir);
    /* provenance: --init is recorded as an absolute path, and a resumed run
     * keeps the record of the run it continues */
    char *init_rec = NULL;
    if (!st && init_bank) st = init_modules(m, init_bank);
    if (!st && init_bank) st = mtx_path_absolute(init_bank, &init_rec);
    if (!st && resume) init_rec = mtx_recorded_provenance(out_dir, "init_bank");
    if (!st && !resume) {
        st = mtx_mkdir_p(out_dir);
        if (!st) st = mtx_write_file_atomic(saved, cfg_json, strlen(cfg_json));
        if (!st) st = mtx_write_file_atomic(metrics, "", 0);
    }
    if (!st && resume) st = mtx_metrics_truncate(metrics, mtx_modular_steps(m));
    mtx_assembly small;
    if (m) mtx_assembly_smallest(mtx_modular_bank(m), &small);
    double t0 = mtx_now_s(), wt0 = t0, w_ce = 0, w_kd = 0, w_hid = 0, w_att = 0, w_loc = 0, dev_small = -1, dev_acc = 0;
    int64_t w_tok = 0, w_n = 0, start = m ? mtx_modular_steps(m) : 0;
    while (!st && mtx_modular_steps(m) < cfg.opt.max_steps) {
        mtx_modular_stats s;
        st = mtx_modular_step(m, &s);
        if (st) break;
        int64_t step = mtx_modular_steps(m);
        w_ce += s.ce;
        w_kd += s.kd;
        w_hid += s.hidden;
        w_att += s.attention;
        w_loc += s.local;
        w_n++;
        w_tok += s.tgt_tokens;
        if (step % cfg.opt.log_every == 0 || step == cfg.opt.max_steps) {
            double now = mtx_now_s();
            char line[512], att[64] = "";
            if (cfg.beta_attention > 0) snprintf(att, sizeof att, ",\"attention\":%.6f", w_att / (double)w_n);
            snprintf(line, sizeof line,
                     "{\"step\":%lld,\"ce\":%.6f,\"kd\":%.6f,\"hidden\":%.6f%s,\"local\":%.6f,\"lr\":%.6g,\"replace_rate\":%.4f,\"grad_norm\":%.4f,\"tokens_per_s\":%.1f,\"elapsed_s\":%.1f}",
                     (long long)step, w_ce / (double)w_tok, w_kd / (double)w_tok, w_hid / (double)w_n, att, w_loc / (double)w_n, s.lr, s.rate,
                     s.grad_norm, (double)w_tok / (now - wt0), now - t0);
            st = mtx_append_line(metrics, line);
            mtx_train_progress p = { 0 };
            p.step = step;
            p.max_steps = cfg.opt.max_steps;
            p.loss = (w_ce + w_kd) / (double)w_tok;
            p.lr = s.lr;
            p.grad_norm = s.grad_norm;
            p.tokens_per_s = (double)w_tok / (now - wt0);
            p.elapsed_s = now - t0;
            p.eta_s = (double)(cfg.opt.max_steps - step) * (now - t0) / (double)(step - start);
            if (fn) fn(&p, ctx);
            wt0 = now;
            w_ce = w_kd = w_hid = w_att = w_loc = 0;
            w_tok = w_n = 0;
        }
        if (!st && ((cfg.opt.eval_every && step % cfg.opt.eval_every == 0) || step == cfg.opt.max_steps)) {
            st = mtx_modular_eval(m, &small, &d.dev, &dev_small, &dev_acc);
            if (!st) {
                char line[1024];
                int len = snprintf(line, sizeof line, "{\"step\":%lld,\"dev_nll_smallest\":%.6f,\"dev_token_acc_smallest\":%.6f",
                                   (long long)step, dev_small, dev_acc);
                /* uniform assemblies: every stack that g divides made of m(g, .) */
                for (int gi = 0; !st && gi < cfg.n_gran; gi++) {
                    mtx_assembly u;
                    double nll_g, acc_g;
                    mtx_assembly_uniform(mtx_modular_bank(m), cfg.gran[gi], &u);
                    st = mtx_modular_eval(m, &u, &d.dev, &nll_g, &acc_g);
                    if (!st && len > 0 && (size_t)len < sizeof line)
                        len += snprintf(line + len, sizeof line - (size_t)len, ",\"dev_nll_g%d\":%.6f", cfg.gran[gi], nll_g);
                }
                if (!st && len > 0 && (size_t)len + 2 < sizeof line) {
                    line[len++] = '}';
                    line[len] = 0;
                }
                if (!st) st = mtx_append_line(metrics, line);
                mtx_train_progress p = { 0 };
                p.kind = 1;
                p.step = step;
                p.max_steps = cfg.opt.max_steps;
                p.dev_nll = dev_small;
                p.dev_acc = dev_acc;
                if (fn) fn(&p, ctx);
            }
        }
        if (!st && (step % cfg.opt.checkpoint_every == 0 || step == cfg.opt.max_steps)) {
            char *prov = bank_provenance(&teacher, teacher_dir, &cfg, init_rec, command_line, step, dev_small);
            st = prov ? mtx_modular_checkpoint(m, out_dir, &d.sv, &d.tv, prov) : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
            cJSON_free(prov);
            if (!st && fn) {
                mtx_train_progress p = { 0 };
                p.kind = 2;
                p.step = step;
                p.max_steps = cfg.opt.max_steps;
                fn(&p, ctx);
            }
        }
    }
    free(init_rec);
    mtx_modular_free(m);
    mtx_dataset_free(&d);
    mtx_bundle_free(&teacher);
    cJSON_free(cfg_json);
    return st;
}
