/* sweep.c - the sweep of a module bank (see sweep.h): rows of assemblies,
 * pruned teachers and students, scored, then timed together. */
#include "modular/sweep.h"
#include "modular/modular.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mtx_sweep_opts mtx_sweep_opts_default(void) {
    mtx_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.strategy = MTX_STRATEGY_SEARCH;
    o.dev_words = 1000;
    o.pruned_search = 1;
    o.speed_words = 1000;
    o.speed_passes = 5;
    return o;
}

void mtx_sweep_result_free(mtx_sweep_result *r) {
    free(r->rows);
    free(r->frontier);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const mtx_bank *b;
    const mtx_encoded *dev;
    const mtx_encoded *scoring; /* the split or sample */
    mtx_len_stats lens;
    const mtx_sweep_opts *o;
    mtx_report_row *rows;
    mtx_net *nets; /* (cap) the net of each row, for timing */
    int n, cap;
    double t0;
} sweep;

static void say(const sweep *s, const char *fmt, ...) {
    if (!s->o->progress) return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* a progress line may be cut, never overrun */
    va_end(ap);
    char line[320];
    snprintf(line, sizeof line, "sweep: %s (%.0f s)", msg, mtx_now_s() - s->t0);
    s->o->progress(line, s->o->ctx);
}

/* Scores net on the scoring words and appends it as a row with the costs of a. */
static mtx_status add_row(sweep *s, const mtx_bank *b, const mtx_assembly *a, const mtx_net *net, const char *kind) {
    if (s->n >= s->cap) return mtx_set_error(MTX_ERR_ARG, "sweep: more than %d rows", s->cap);
    mtx_report_row *row = &s->rows[s->n];
    mtx_status st = mtx_sweep_row_costs(b, a, &s->lens, kind, row);
    mtx_eval_result r;
    if (!st) st = mtx_eval_encoded(net, s->scoring, 1, 1.0f, &r);
    if (st) return st;
    row->per = mtx_score_per(&r.score);
    row->wer = mtx_score_wer(&r.score);
    s->nets[s->n++] = *net;
    return MTX_OK;
}

/* The teacher and one assembly per reachable ratio below it; with the
 * search strategy, every assembly scored on dev into *frontier. */
static mtx_status modular_rows(sweep *s, mtx_sweep_result *res) {
    const mtx_bank *b = s->b;
    const mtx_model_config *c = &b->teacher.cfg;
    double ratios[2 * MTX_MAX_LAYERS];
    const int nr = mtx_reachable_ratios(b, ratios, 2 * MTX_MAX_LAYERS);
    mtx_scored_assembly *scored = NULL;
    int nscored = 0;
    mtx_status st = MTX_OK;
    if (s->o->strategy == MTX_STRATEGY_SEARCH) {
        say(s, "scoring every assembly on the first %d dev words", s->o->dev_words);
        st = mtx_assembly_search_all(b, s->dev, s->o->dev_words, &s->lens, &scored, &nscored);
        res->frontier = st ? NULL : calloc((size_t)(nscored ? nscored : 1), sizeof *res->frontier);
        if (!st && !res->frontier) st = mtx_set_error(MTX_ERR_NOMEM, "sweep: out of memory");
        for (int k = 0; !st && k < nscored; k++) {
            mtx_report_row *f = &res->frontier[k];
            st = mtx_sweep_row_costs(b, &scored[k].a, &s->lens, "", f);
            f->per = scored[k].per;
            f->wer = scored[k].wer;
            f->pareto = scored[k].pareto;
        }
        res->n_frontier = st ? 0 : nscored;
    }
    for (int i = 0; !st && i < nr; i++) {
        mtx_assembly a;
        if (i == 0) {
            mtx_assembly_teacher(b, &a);
        } else if (scored) {
            const int layers = (int)floor((c->num_layers + c->num_decoder_layers) / ratios[i] + 0.5);
            st = mtx_assembly_refine(b, scored, nscored, layers, s->dev, s->o->dev_words, &a);
        } else {
            st = mtx_assembly_choose(b, ratios[i], s->o->strategy, &s->lens, s->dev, s->o->dev_words, &a);
        }
        mtx_net net;
        if (!st) st = mtx_bank_net(b, &a, &net, NULL, NULL);
        if (!st) st = add_row(s, b, &a, &net, i == 0 ? "teacher" : "modular");
        if (!st) say(s, "%.2fx done (%d/%d)", s->rows[s->n - 1].ratio, i + 1, nr);
    }
    free(scored);
    return st;
}

/* Teacher-forced NLL of pruned teachers on the first dev words, and their
 * greedy scores there: the two stages of the pruned* search. */
enum { NLL_ROWS = 4096 };
typedef struct {
    const mtx_bank *b;
    mtx_encoded view;
    mtx_acts acts;
    mtx_batch_buf bb;
} prune_ctx;

static mtx_status subset_nll(void *p, uint64_t me, uint64_t md, double *nll) {
    prune_ctx *pc = p;
    const mtx_model_config *c = &pc->b->teacher.cfg;
    mtx_assembly a;
    mtx_net net;
    mtx_pruned_assembly(me, md, c->num_layers, c->num_decoder_layers, &a);
    mtx_pruned_net(pc->b, &a, &net);
    mtx_batcher bt;
    mtx_status st = mtx_batcher_init(&bt, &pc->view, NLL_ROWS);
    if (st) return st;
    st = mtx_teacher_forced_eval(&net, &pc->acts, &pc->bb, &bt, nll, NULL);
    mtx_batcher_free(&bt);
    return st;
}

static mtx_status subset_score(void *p, uint64_t me, uint64_t md, double *wer, double *per) {
    prune_ctx *pc = p;
    const mtx_model_config *c = &pc->b->teacher.cfg;
    mtx_assembly a;
    mtx_net net;
    mtx_pruned_assembly(me, md, c->num_layers, c->num_decoder_layers, &a);
    mtx_pruned_net(pc->b, &a, &net);
    mtx_eval_result r;
    mtx_status st = mtx_eval_encoded(&net, &pc->view, 1, 1.0f, &r);
    *wer = mtx_score_wer(&r.score);
    *per = mtx_score_per(&r.score);
    return st;
}

/* The teacher with layers dropped, no training, at 2x, 3x and 6x: every
 * other layer ("pruned", LayerDrop-style) and, with pruned_search, the best
 * subset of the same size ("pruned*", mtx_prune_search on the first
 * dev_words / 5 (at least 100) dev words). */
static mtx_status pruned_rows(sweep *s) {
    static const int keep_div[] = { 2, 3, 6 };
    const mtx_bank *b = s->b;
    const mtx_model_config *c = &b->teacher.cfg;
    const int search = s->o->pruned_search && c->num_layers <= 8 && c->num_decoder_layers <= 8;
    prune_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.b = b;
    pc.view = mtx_encoded_prefix(s->dev, s->o->dev_words / 5 < 100 ? 100 : s->o->dev_words / 5);
    mtx_status st = MTX_OK;
    if (search) {
        const int maxlen = c->max_source_positions > c->max_target_positions ? c->max_source_positions
                                                                              : c->max_target_positions;
        st = mtx_acts_init(&pc.acts, c, c->num_layers, c->num_decoder_layers, NLL_ROWS, maxlen);
        if (!st) st = mtx_batch_buf_init(&pc.bb, NLL_ROWS);
    }
    for (int k = 0; !st && k < 3; k++) {
        const int d = keep_div[k], ke = c->num_layers / d, kd = c->num_decoder_layers / d;
        if (ke < 1 || kd < 1 || c->num_layers % d || c->num_decoder_layers % d) continue;
        uint64_t me = 0, md = 0;
        for (int i = 0; i < ke; i++) me |= 1ull << (i * d);
        for (int i = 0; i < kd; i++) md |= 1ull << (i * d);
        mtx_assembly a;
        mtx_net net;
        mtx_pruned_assembly(me, md, c->num_layers, c->num_decoder_layers, &a);
        mtx_pruned_net(b, &a, &net);
        st = add_row(s, b, &a, &net, "pruned");
        if (st || !search) continue;
        st = mtx_prune_search(c->num_layers, c->num_decoder_layers, ke, kd, subset_nll, subset_score, &pc, &me, &md);
        if (st) break;
        mtx_pruned_assembly(me, md, c->num_layers, c->num_decoder_layers, &a);
        mtx_pruned_net(b, &a, &net);
        st = add_row(s, b, &a, &net, "pruned*");
        if (!st) say(s, "pruned %.2fx done", s->rows[s->n - 1].ratio);
    }
    mtx_acts_free(&pc.acts);
    mtx_batch_buf_free(&pc.bb);
    return st;
}

/* Rows scored, then every row timed in interleaved passes. */
static mtx_status time_rows(sweep *s, const mtx_encoded *speed) {
    say(s, "timing %d rows: %d interleaved passes over %d words", s->n, s->o->speed_passes, speed->n_groups);
    mtx_eval_result warm; /* thread pools and first-touch pages must not bill the first pass */
    mtx_status st = mtx_eval_encoded(&s->nets[0], speed, 1, 1.0f, &warm);
    double *wps = st ? NULL : malloc(sizeof(double) * (size_t)s->n);
    if (!st && !wps) st = mtx_set_error(MTX_ERR_NOMEM, "sweep: out of memory");
    if (!st) st = mtx_sweep_time(s->nets, s->n, speed, s->o->speed_passes, wps);
    for (int i = 0; !st && i < s->n; i++) s->rows[i].words_per_s = wps[i];
    free(wps);
    return st;
}

mtx_status mtx_sweep_run(const mtx_bank *b, const mtx_encoded *dev, const mtx_encoded *split,
                         const mtx_bank *const *students, int n_students, const mtx_sweep_opts *o,
                         mtx_sweep_result *res) {
    memset(res, 0, sizeof *res);
    if (n_students < 0 || n_students > 64) return mtx_set_error(MTX_ERR_ARG, "sweep: %d baselines (at most 64)", n_students);
    if (o->dev_words < 1 || o->speed_words < 1 || o->speed_passes < 1 || o->sample_words < 0)
        return mtx_set_error(MTX_ERR_ARG, "sweep: dev, sample and timing sizes must be positive");
    for (int i = 0; i < n_students; i++)
        if (!mtx_bank_same_teacher(b, students[i]))
            return mtx_set_error(MTX_ERR_ARG, "sweep: baseline %d was distilled from another teacher", i + 1);
    sweep s;
    memset(&s, 0, sizeof s);
    s.b = b;
    s.dev = dev;
    s.o = o;
    s.t0 = mtx_now_s();
    s.lens = mtx_len_stats_of(dev);
    s.cap = 2 * MTX_MAX_LAYERS + 6 + n_students;
    s.rows = calloc((size_t)s.cap, sizeof *s.rows);
    s.nets = calloc((size_t)s.cap, sizeof *s.nets);
    mtx_encoded sample, speed;
    memset(&sample, 0, sizeof sample);
    memset(&speed, 0, sizeof speed);
    mtx_status st = s.rows && s.nets ? MTX_OK : mtx_set_error(MTX_ERR_NOMEM, "sweep: out of memory");
    if (!st && o->sample_words) st = mtx_encoded_spread(split, o->sample_words, &sample);
    s.scoring = o->sample_words ? &sample : split;
    if (!st) st = mtx_encoded_spread(s.scoring, o->speed_words, &speed);
    if (!st && speed.n_groups < 1) st = mtx_set_error(MTX_ERR_ARG, "sweep: the split has no words to score");
    if (!st) st = modular_rows(&s, res);
    if (!st) st = pruned_rows(&s);
    for (int i = 0; !st && i < n_students; i++) {
        mtx_assembly a;
        mtx_net net;
        mtx_assembly_smallest(students[i], &a);
        st = mtx_bank_net(students[i], &a, &net, NULL, NULL);
        if (!st) st = add_row(&s, students[i], &a, &net, "student");
    }
    if (!st) st = time_rows(&s, &speed);
    if (!st) st = mtx_sweep_mark_frontier(s.rows, s.n);
    res->scored_words = s.scoring->n_groups;
    res->speed_words = speed.n_groups;
    mtx_encoded_free(&sample);
    mtx_encoded_free(&speed);
    free(s.nets);
    if (st) {
        free(s.rows);
        mtx_sweep_result_free(res);
        return st;
    }
    res->rows = s.rows;
    res->n = s.n;
    return MTX_OK;
}
