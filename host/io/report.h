/* report.h - the sweep's reports: sweep.csv, frontier.csv, sweep.svg, the
 * text table (sweep.txt) and the JSON rows.
 *
 * The writers take plain rows (no bank, no model): whatever computed them,
 * the files come out the same. Every file is built in memory, every format
 * step checked, and written with mtx_write_file_atomic (a reader sees the old
 * file or the whole new one). Row 0 is the reference for "wer_drop" (the
 * sweep puts the teacher there). Limits: MTX_REPORT_MAX_ROWS rows. */
#ifndef MTX_REPORT_H
#define MTX_REPORT_H

#include <stddef.h>

#include "core/mtx.h"

#define MTX_REPORT_MAX_ROWS 100000

typedef struct {
    char kind[12];          /* teacher, modular, pruned, pruned*, student ("" in frontier.csv) */
    double ratio;           /* teacher layers / layers */
    int enc_layers, dec_layers;
    size_t params;
    double latency;         /* estimated layer evaluations per word */
    double words_per_s;     /* measured CPU decode speed (0: not measured) */
    double per, wer;        /* percent */
    int pareto;             /* 1: on the Pareto frontier of its table */
    char enc[256], dec[256]; /* tilings, "t0 m2.1 ..." */
} mtx_report_row;

/* sweep.csv: kind,ratio,enc_layers,dec_layers,params,est_latency,words_per_s,
 * per,wer,wer_drop,encoder_tiling,decoder_tiling (ratio %.4f, latency %.2f,
 * words/s %.1f, rates %.3f). */
mtx_status mtx_report_csv(const char *path, const mtx_report_row *rows, int n);

/* frontier.csv: ratio,enc_layers,dec_layers,params,est_latency,dev_per,dev_wer,
 * pareto,encoder_tiling,decoder_tiling (every scored assembly, dev scores). */
mtx_status mtx_report_frontier_csv(const char *path, const mtx_report_row *rows, int n);

/* The human-readable table the sweep prints (and keeps as sweep.txt), as a
 * malloc'd string in *out. */
mtx_status mtx_report_text(const mtx_report_row *rows, int n, char **out);
/* The rows as a JSON array (same fields as sweep.csv), malloc'd in *out. */
mtx_status mtx_report_json(const mtx_report_row *rows, int n, char **out);

/* sweep.svg: WER against measured speed-up over row 0. The WER axis is fitted
 * to the teacher, modular and student rows; rows above it (untrained pruned
 * baselines) are drawn as markers on the top edge with their WER written
 * out. Rows with pareto set are joined by the frontier line; point labels
 * are placed so that no two overlap; the legend sits outside the axes.
 * title: plain text ('<' and '&' are escaped). */
mtx_status mtx_report_svg(const char *path, const char *title, const mtx_report_row *rows, int n);

/* Writes text (a NUL-terminated string) to path atomically. */
mtx_status mtx_report_write_text(const char *path, const char *text);

#endif
