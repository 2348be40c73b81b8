/* sweep.h - the sweep of a module bank: one row per reachable compression
 * ratio (the assembly a strategy picks), the teacher with layers dropped
 * and separately distilled students as baselines, measured decode speed,
 * and the Pareto frontiers. `modtx sweep` is argument parsing around
 * mtx_sweep_run and the io/report.h writers.
 *
 * Costs of a row come from bank.h (mtx_assembly_ratio, _params, _latency)
 * for every kind of row. Accuracy is scored once per row on the scoring
 * words (the split, or a fixed sample spread evenly over it); speed is
 * measured afterwards on a timing sample, interleaved: every chunk of the
 * sample is decoded by every row back to back, and each row's words/s is
 * the median of several such passes; drift in machine load then touches
 * every row alike instead of billing whichever row ran during it. */
#ifndef MTX_SWEEP_H
#define MTX_SWEEP_H

#include "io/report.h"
#include "modular/assemble.h"

/* ---------------------------------------------------------- the run */

typedef struct {
    mtx_strategy strategy; /* per-ratio choice (default search) */
    int dev_words;         /* first-stage search words (default 1000) */
    int sample_words;      /* 0: score rows on the whole split; N: on N words spread evenly over it */
    int pruned_search;     /* 1 (default): add the pruned* rows (best subset per size) */
    int speed_words;       /* timing sample, spread over the scoring words (default 1000) */
    int speed_passes;      /* interleaved timing passes, median per row (default 5) */
    void (*progress)(const char *msg, void *ctx); /* NULL: quiet */
    void *ctx;
} mtx_sweep_opts;

mtx_sweep_opts mtx_sweep_opts_default(void);

typedef struct {
    mtx_report_row *rows;     /* teacher, modular by ratio, pruned / pruned* by size, students */
    int n;
    mtx_report_row *frontier; /* strategy search: every assembly with its dev scores and pareto mark */
    int n_frontier;
    int scored_words, speed_words;
} mtx_sweep_result;

/* The whole sweep of bank b: rows scored on split (or its sample), the
 * search on dev; students (banks of the same teacher, see
 * mtx_bank_same_teacher) add their smallest assembly as a "student" row and
 * must outlive the call. rows[i].pareto marks the frontier of measured
 * words/s against WER. */
mtx_status mtx_sweep_run(const mtx_bank *b, const mtx_encoded *dev, const mtx_encoded *split,
                         const mtx_bank *const *students, int n_students, const mtx_sweep_opts *o,
                         mtx_sweep_result *res);
void mtx_sweep_result_free(mtx_sweep_result *r);

/* 1 if both banks hold the same teacher bit for bit. */
int mtx_bank_same_teacher(const mtx_bank *a, const mtx_bank *b);

/* -------------------------------------------------------- the pieces */

/* A row's kind, costs and tilings for assembly a (bank.h's ratio, params and
 * latency with lens); accuracy and speed are left 0. A tiling that does not
 * fit the row's text field -> MTX_ERR_ARG. */
mtx_status mtx_sweep_row_costs(const mtx_bank *b, const mtx_assembly *a, const mtx_len_stats *lens,
                               const char *kind, mtx_report_row *row);

/* The teacher layers kept by the masks (bit l: layer l) as blocks tJ: not a
 * tiling (it covers no stack) but accepted by the cost functions, by
 * mtx_tiling_format and by mtx_pruned_net. */
void mtx_pruned_assembly(uint64_t enc_mask, uint64_t dec_mask, int n_enc, int n_dec, mtx_assembly *a);
/* The teacher's net keeping only the layers of a (from mtx_pruned_assembly). */
void mtx_pruned_net(const mtx_bank *b, const mtx_assembly *a, mtx_net *net);

/* The best subset of keep_enc of n_enc encoder and keep_dec of n_dec decoder
 * teacher layers (n_enc, n_dec <= 16), in two stages: every subset ranked by
 * nll (ties keep enumeration order: encoder mask, then decoder mask,
 * ascending), the MTX_PRUNE_FINALISTS lowest decoded with score, and the
 * lowest WER (then PER, then rank) wins. */
#define MTX_PRUNE_FINALISTS 8
typedef mtx_status (*mtx_subset_nll_fn)(void *ctx, uint64_t enc_mask, uint64_t dec_mask, double *nll);
typedef mtx_status (*mtx_subset_score_fn)(void *ctx, uint64_t enc_mask, uint64_t dec_mask, double *wer,
                                          double *per);
mtx_status mtx_prune_search(int n_enc, int n_dec, int keep_enc, int keep_dec, mtx_subset_nll_fn nll,
                            mtx_subset_score_fn score, void *ctx, uint64_t *enc_mask, uint64_t *dec_mask);

/* on[i] = 1 unless some other point is no worse in both cost and err and
 * better in one (equal points are all kept). */
void mtx_pareto_mark(const double *cost, const double *err, int n, int *on);
/* rows[i].pareto by measured words/s (higher is better) against WER. */
mtx_status mtx_sweep_mark_frontier(mtx_report_row *rows, int n);

/* Measured decode speed of nets[0..n) on sample: `passes` passes; each pass
 * goes through the sample in chunks of MTX_SWEEP_CHUNK words (one decoding
 * batch) and decodes every chunk with every row back to back, in row order
 * and in reverse by turns, so rows share whatever load the machine has at
 * that moment. wps[i]: the median over passes of row i's words/s. */
#define MTX_SWEEP_CHUNK 128
mtx_status mtx_sweep_time(const mtx_net *nets, int n, const mtx_encoded *sample, int passes, double *wps);

/* The first `words` groups of e as a view (no copy; all of e if words <= 0
 * or beyond its end). */
mtx_encoded mtx_encoded_prefix(const mtx_encoded *e, int words);
/* A fixed sample: `words` of e's non-empty groups spread evenly (the k-th is
 * group number floor(k * m / words) of the m non-empty ones), copied into
 * *out with all their entries; all of them when words >= m. Free with
 * mtx_encoded_free. */
mtx_status mtx_encoded_spread(const mtx_encoded *e, int words, mtx_encoded *out);

#endif
