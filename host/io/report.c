/* report.c - the sweep's CSV, text, JSON and SVG reports (see report.h).
 * Each report is formatted into a growing buffer whose every vsnprintf is
 * checked (nothing is silently cut), then written atomically. */
#include "io/report.h"
#include "core/fsutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *s;
    size_t len, cap;
    mtx_status st; /* first failure; later appends are skipped */
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) {
    while (!b->st) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->s ? b->cap - b->len : 0;
        int w = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->st = mtx_set_error(MTX_ERR_IO, "report: formatting '%.40s' failed", fmt);
            return;
        }
        if ((size_t)w < room) {
            b->len += (size_t)w;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + (size_t)w + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->st = mtx_set_error(MTX_ERR_NOMEM, "report: out of memory for %zu bytes", cap);
            return;
        }
        b->s = p;
        b->cap = cap;
    }
}

/* Writes the buffer to path (or hands it to *out) and releases it. */
static mtx_status sb_finish(sbuf *b, const char *path, char **out) {
    mtx_status st = b->st;
    if (!st && !b->s) sb_add(b, "%s", ""), st = b->st;
    if (!st && path) st = mtx_write_file_atomic(path, b->s, b->len);
    if (!st && out) {
        *out = b->s;
        b->s = NULL;
    }
    free(b->s);
    memset(b, 0, sizeof *b);
    return st;
}

/* Rows must be few enough to count and their text fields plain: a comma,
 * quote, backslash or control character would break a CSV or JSON field. */
static mtx_status check_rows(const mtx_report_row *rows, int n) {
    if (n < 1 || n > MTX_REPORT_MAX_ROWS || !rows)
        return mtx_set_error(MTX_ERR_ARG, "report: %d rows (1 to %d expected)", n, MTX_REPORT_MAX_ROWS);
    for (int i = 0; i < n; i++) {
        const char *f[3] = { rows[i].kind, rows[i].enc, rows[i].dec };
        for (int k = 0; k < 3; k++) {
            const size_t cap = k ? sizeof rows[i].enc : sizeof rows[i].kind;
            if (!memchr(f[k], 0, cap)) return mtx_set_error(MTX_ERR_ARG, "report: row %d: field %d is not terminated", i, k);
            for (const char *p = f[k]; *p; p++)
                if (*p == ',' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                    return mtx_set_error(MTX_ERR_ARG, "report: row %d: '%s' holds a character CSV and JSON cannot keep", i, f[k]);
        }
    }
    return MTX_OK;
}

mtx_status mtx_report_csv(const char *path, const mtx_report_row *rows, int n) {
    mtx_status st = check_rows(rows, n);
    if (st) return st;
    sbuf b = { 0 };
    sb_add(&b, "kind,ratio,enc_layers,dec_layers,params,est_latency,words_per_s,per,wer,wer_drop,"
               "encoder_tiling,decoder_tiling\n");
    for (int i = 0; i < n; i++) {
        const mtx_report_row *r = &rows[i];
        sb_add(&b, "%s,%.4f,%d,%d,%zu,%.2f,%.1f,%.3f,%.3f,%.3f,%s,%s\n", r->kind, r->ratio, r->enc_layers,
               r->dec_layers, r->params, r->latency, r->words_per_s, r->per, r->wer, r->wer - rows[0].wer, r->enc,
               r->dec);
    }
    return sb_finish(&b, path, NULL);
}

mtx_status mtx_report_frontier_csv(const char *path, const mtx_report_row *rows, int n) {
    mtx_status st = check_rows(rows, n);
    if (st) return st;
    sbuf b = { 0 };
    sb_add(&b, "ratio,enc_layers,dec_layers,params,est_latency,dev_per,dev_wer,pareto,encoder_tiling,decoder_tiling\n");
    for (int i = 0; i < n; i++) {
        const mtx_report_row *r = &rows[i];
        sb_add(&b, "%.4f,%d,%d,%zu,%.2f,%.3f,%.3f,%d,%s,%s\n", r->ratio, r->enc_layers, r->dec_layers, r->params,
               r->latency, r->per, r->wer, r->pareto, r->enc, r->dec);
    }
    return sb_finish(&b, path, NULL);
}

mtx_status mtx_report_text(const mtx_report_row *rows, int n, char **out) {
    mtx_status st = check_rows(rows, n);
    if (st) return st;
    sbuf b = { 0 };
    sb_add(&b, "%-8s %6s %4s %4s %9s %8s %9s %7s %7s %7s  %s | %s\n", "kind", "ratio", "enc", "dec", "params",
           "latency", "words/s", "PER%", "WER%", "dWER", "encoder tiling", "decoder tiling");
    for (int i = 0; i < n; i++) {
        const mtx_report_row *r = &rows[i];
        sb_add(&b, "%-8s %5.2fx %4d %4d %9zu %8.1f %9.0f %7.2f %7.2f %+7.2f  %s | %s\n", r->kind, r->ratio,
               r->enc_layers, r->dec_layers, r->params, r->latency, r->words_per_s, r->per, r->wer,
               r->wer - rows[0].wer, r->enc, r->dec);
    }
    return sb_finish(&b, NULL, out);
}

mtx_status mtx_report_json(const mtx_report_row *rows, int n, char **out) {
    mtx_status st = check_rows(rows, n);
    if (st) return st;
    sbuf b = { 0 };
    sb_add(&b, "[");
    for (int i = 0; i < n; i++) {
        const mtx_report_row *r = &rows[i];
        sb_add(&b, "%s\n {\"kind\":\"%s\",\"ratio\":%.4f,\"enc_layers\":%d,\"dec_layers\":%d,\"params\":%zu,"
                   "\"est_latency\":%.2f,\"words_per_s\":%.1f,\"per\":%.4f,\"wer\":%.4f,\"wer_drop\":%.4f,"
                   "\"pareto\":%d,\"encoder_tiling\":\"%s\",\"decoder_tiling\":\"%s\"}",
               i ? "," : "", r->kind, r->ratio, r->enc_layers, r->dec_layers, r->params, r->latency, r->words_per_s,
               r->per, r->wer, r->wer - rows[0].wer, r->pareto, r->enc, r->dec);
    }
    sb_add(&b, "\n]\n");
    return sb_finish(&b, NULL, out);
}

mtx_status mtx_report_write_text(const char *path, const char *text) {
    if (!text) return mtx_set_error(MTX_ERR_ARG, "%s: no text to write", path ? path : "(null)");
    return mtx_write_file_atomic(path, text, strlen(text));
}

/* ------------------------------------------------------------- the plot */

/* A round tick step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double nice_step(double range, int n) {
    double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

typedef struct { double x0, y0, x1, y1; } box;

static int overlaps(const box *a, const box *b) {
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Plot geometry: axes [L, R] x [T, B] in pixels; data window [xlo, xhi] x [ylo, yhi]. */
typedef struct {
    double L, R, T, B, xlo, xhi, ylo, yhi;
} frame;

static double px(const frame *f, double x) { return f->L + (x - f->xlo) / (f->xhi - f->xlo) * (f->R - f->L); }
static double py(const frame *f, double y) {
    y = fmin(fmax(y, f->ylo), f->yhi); /* off-scale rows sit on the edge */
    return f->B - (y - f->ylo) / (f->yhi - f->ylo) * (f->B - f->T);
}

static int in_scale(const mtx_report_row *r) {
    return !strcmp(r->kind, "teacher") || !strcmp(r->kind, "modular") || !strcmp(r->kind, "student");
}

static const char *row_colour(const mtx_report_row *r) {
    if (!strcmp(r->kind, "teacher")) return "#000000";
    if (!strncmp(r->kind, "pruned", 6)) return "#d62728";
    if (!strcmp(r->kind, "student")) return "#2ca02c";
    return "#1f77b4";
}

/* Fits the axes: WER to the in-scale rows, speed-up from 0 to the fastest row. */
static frame fit_frame(const mtx_report_row *rows, int n, double base) {
    frame f = { 70, 600, 130, 450, 0, 1, 0, 1 };
    double lo = INFINITY, hi = -INFINITY, xmax = 1;
    for (int i = 0; i < n; i++) {
        xmax = fmax(xmax, rows[i].words_per_s / base);
        if (in_scale(&rows[i])) lo = fmin(lo, rows[i].wer), hi = fmax(hi, rows[i].wer);
    }
    if (!isfinite(lo)) lo = rows[0].wer, hi = rows[0].wer;
    double pad = fmax(0.5, 0.06 * (hi - lo)), ys = nice_step(hi - lo + 2 * pad, 6);
    f.ylo = fmax(0, floor((lo - pad) / ys) * ys);
    f.yhi = ceil((hi + pad) / ys) * ys;
    double xs = nice_step(xmax * 1.08, 6);
    f.xhi = ceil(xmax * 1.08 / xs) * xs;
    return f;
}

static void svg_axes(sbuf *s, const frame *f, const char *title, double base) {
    sb_add(s, "<text x=\"%.0f\" y=\"22\" font-size=\"14\">", f->L);
    for (const char *p = title; *p; p++)
        sb_add(s, "%s", *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : (char[2]){ *p, 0 });
    sb_add(s, "</text>\n");
    sb_add(s, "<text x=\"%.0f\" y=\"40\" font-size=\"11\" fill=\"#555\">speed-up: decode words/s over the "
              "teacher's (%.0f words/s), median of interleaved passes</text>\n", f->L, base);
    sb_add(s, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", f->L,
           f->T, f->R - f->L, f->B - f->T);
    double xs = nice_step(f->xhi - f->xlo, 6), ys = nice_step(f->yhi - f->ylo, 6);
    for (double x = f->xlo; x <= f->xhi + 1e-9; x += xs)
        sb_add(s, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                  "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
               px(f, x), f->T, px(f, x), f->B, px(f, x), f->B + 16, x);
    for (double y = f->ylo; y <= f->yhi + 1e-9; y += ys)
        sb_add(s, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                  "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
               f->L, py(f, y), f->R, py(f, y), f->L - 6, py(f, y) + 4, y);
    sb_add(s, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">speed-up over the teacher (words/s ratio)</text>\n"
              "<text x=\"18\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.0f)\">WER (%%)</text>\n",
           (f->L + f->R) / 2, f->B + 36, (f->T + f->B) / 2, (f->T + f->B) / 2);
}

/* The frontier: rows marked pareto, joined in order of speed-up (x, y:
 * their plotted positions). */
static void svg_frontier(sbuf *s, const mtx_report_row *rows, int n, const double *x, const double *y) {
    int *idx = malloc(sizeof(int) * (size_t)n), m = 0;
    if (!idx) {
        s->st = mtx_set_error(MTX_ERR_NOMEM, "report: out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        if (rows[i].pareto) {
            int at = m++;
            while (at > 0 && rows[idx[at - 1]].words_per_s > rows[i].words_per_s) idx[at] = idx[at - 1], at--;
            idx[at] = i;
        }
    if (m > 1) {
        sb_add(s, "<polyline fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\" points=\"");
        for (int k = 0; k < m; k++) sb_add(s, "%.1f,%.1f ", x[idx[k]], y[idx[k]]);
        sb_add(s, "\"/>\n");
    }
    free(idx);
}

/* Label placement. Every point's box is taken before any label is placed;
 * a label goes to the first of rings of candidate positions around its
 * point that lies inside its region (the axes, or the band above them),
 * overlaps no point or label placed so far, and has its own point nearer
 * than any other. When none has, the first free position is taken and a
 * leader line joins label and point. */
typedef struct {
    box *taken;
    int nt;
    const double *pxs, *pys; /* (n) point positions */
    int n;
} placer;

/* Distance from point i to box b (0 inside). */
static double box_dist(const placer *p, int i, const box *b) {
    const double x = p->pxs[i], y = p->pys[i];
    return hypot(fmax(b->x0 - x, fmax(0, x - b->x1)), fmax(b->y0 - y, fmax(0, y - b->y1)));
}

static int nearest_is(const placer *p, int own, const box *b) {
    const double d = box_dist(p, own, b);
    for (int i = 0; i < p->n; i++)
        if (i != own && box_dist(p, i, b) < d) return 0;
    return 1;
}

static int find_spot(const placer *p, const box *region, int own, double w, int need_nearest, box *out, int *ring_out) {
    static const double dir[8][2] = { { 1, -1 }, { 1, 1 }, { -1, -1 }, { -1, 1 }, { 0, -1 }, { 0, 1 }, { 1, 0 }, { -1, 0 } };
    const double h = 11, x = p->pxs[own], y = p->pys[own];
    for (int ring = 1; ring <= 10; ring++)
        for (int d = 0; d < 8; d++) {
            double r = 6 + 9 * (ring - 1), cx = x + dir[d][0] * r, cy = y + dir[d][1] * r;
            box b;
            b.x0 = dir[d][0] > 0 ? cx : dir[d][0] < 0 ? cx - w : cx - w / 2;
            b.y0 = dir[d][1] < 0 ? cy - h : dir[d][1] > 0 ? cy : cy - h / 2;
            b.x1 = b.x0 + w;
            b.y1 = b.y0 + h;
            if (b.x0 < region->x0 || b.x1 > region->x1 || b.y0 < region->y0 || b.y1 > region->y1) continue;
            int clear = 1;
            for (int k = 0; k < p->nt && clear; k++) clear = !overlaps(&b, &p->taken[k]);
            if (clear && (!need_nearest || nearest_is(p, own, &b))) {
                *out = b;
                *ring_out = ring;
                return 1;
            }
        }
    return 0;
}

static void svg_label(sbuf *s, placer *p, const box *region, int own, const char *text) {
    const double w = 6.0 * (double)strlen(text) + 2, x = p->pxs[own], y = p->pys[own];
    box b = { x + 6, y - 17, x + 6 + w, y - 6 };
    int ring = 1;
    const int nearest = find_spot(p, region, own, w, 1, &b, &ring);
    if (!nearest && !find_spot(p, region, own, w, 0, &b, &ring)) ring = 1; /* crowded: overlap rather than lose it */
    if (!nearest || ring > 2)
        sb_add(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-width=\"0.7\"/>\n", x, y,
               fmin(fmax(x, b.x0), b.x1), fmin(fmax(y, b.y0), b.y1));
    sb_add(s, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s</text>\n", b.x0 + 1, b.y1 - 2, text);
    p->taken[p->nt++] = b;
}

static void svg_legend(sbuf *s, const frame *f) {
    static const char *const items[][2] = {
        { "#000000", "teacher" },
        { "#1f77b4", "modular assemblies" },
        { "#2ca02c", "separately distilled students" },
        { "#d62728", "teacher with layers dropped" },
    };
    double x = f->R + 20, y = f->T + 10;
    for (int i = 0; i < 4; i++, y += 20)
        sb_add(s, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x,
               y, items[i][0], x + 10, y + 4, items[i][1]);
    sb_add(s, "<path d=\"M %.0f %.0f l -5 8 l 10 0 z\" fill=\"#d62728\"/><text x=\"%.0f\" y=\"%.0f\">WER above the axis</text>\n"
              "<text x=\"%.0f\" y=\"%.0f\">(grey band; WER written out)</text>\n",
           x, y - 5, x + 10, y + 4, x + 10, y + 18);
    y += 40;
    sb_add(s, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#555\" stroke-width=\"1.5\" "
              "stroke-dasharray=\"6,4\"/><text x=\"%.0f\" y=\"%.0f\">Pareto frontier (speed, WER)</text>\n"
              "<text x=\"%.0f\" y=\"%.0f\">labels: layer ratio</text>\n",
           x - 6, y, x + 6, y, x + 10, y + 4, x - 6, y + 26);
}

static int off_scale(const frame *f, const mtx_report_row *r) { return r->wer > f->yhi || r->wer < f->ylo; }

/* Labels of the off-scale rows, in order of x, stacked in up to BAND_ROWS
 * rows of the band, each in the lowest row where it clears the one before
 * it; a leader line joins each to its marker. */
enum { BAND_ROWS = 4 };
static void svg_band_labels(sbuf *s, const box *band, const double *x, const double *y, char (*text)[64],
                            const int *off, int n) {
    double row_end[BAND_ROWS];
    for (int k = 0; k < BAND_ROWS; k++) row_end[k] = -INFINITY;
    int *order = malloc(sizeof(int) * (size_t)n), m = 0;
    if (!order) {
        s->st = mtx_set_error(MTX_ERR_NOMEM, "report: out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        if (off[i]) {
            int at = m++;
            while (at > 0 && x[order[at - 1]] > x[i]) order[at] = order[at - 1], at--;
            order[at] = i;
        }
    for (int q = 0; q < m; q++) {
        const int i = order[q];
        const double w = 6.0 * (double)strlen(text[i]) + 2;
        const double x0 = fmin(fmax(x[i] - w / 2, band->x0), band->x1 - w);
        int k = 0;
        while (k < BAND_ROWS - 1 && x0 < row_end[k] + 6) k++;
        const double bx = fmax(x0, fmin(row_end[k] + 6, band->x1 - w)), by1 = band->y1 - 16 - 13.0 * k;
        row_end[k] = bx + w;
        sb_add(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-width=\"0.7\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s</text>\n",
               x[i], y[i] - 5, fmin(fmax(x[i], bx + 2), bx + w - 2), by1, bx + 1, by1 - 2, text[i]);
    }
    free(order);
}

mtx_status mtx_report_svg(const char *path, const char *title, const mtx_report_row *rows, int n) {
    mtx_status st = check_rows(rows, n);
    if (st) return st;
    const double base = rows[0].words_per_s > 0 ? rows[0].words_per_s : 1, W = 820, H = 510;
    const frame f = fit_frame(rows, n, base);
    const box axes = { f.L + 1, f.T + 1, f.R - 1, f.B - 1 }, band = { f.L + 1, f.T - 70, f.R - 1, f.T - 4 };
    placer p = { malloc(sizeof(box) * 2 * (size_t)n), 0, NULL, NULL, n };
    double *pxy = malloc(sizeof(double) * 2 * (size_t)n);
    char (*text)[64] = malloc(sizeof *text * (size_t)n);
    int *off = malloc(sizeof(int) * (size_t)n), any_off = 0;
    sbuf s = { 0 };
    if (!p.taken || !pxy || !text || !off) s.st = mtx_set_error(MTX_ERR_NOMEM, "report: out of memory");
    for (int i = 0; !s.st && i < n; i++) { /* off-scale rows sit in the band above the axes */
        const mtx_report_row *r = &rows[i];
        any_off |= off[i] = off_scale(&f, r);
        pxy[i] = px(&f, r->words_per_s / base);
        pxy[n + i] = off[i] ? band.y1 - 8 : py(&f, r->wer);
        p.taken[p.nt++] = (box){ pxy[i] - 5, pxy[n + i] - 5, pxy[i] + 5, pxy[n + i] + 5 };
        int w = off[i] ? snprintf(text[i], sizeof text[i], "%.2fx %s %.1f", r->ratio, r->kind, r->wer)
                       : snprintf(text[i], sizeof text[i], "%.2fx", r->ratio);
        if (w < 0 || (size_t)w >= sizeof text[i]) s.st = mtx_set_error(MTX_ERR_ARG, "report: row %d: label does not fit", i);
    }
    p.pxs = pxy;
    p.pys = pxy + n;
    sb_add(&s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    if (!s.st) svg_axes(&s, &f, title, base);
    if (any_off)
        sb_add(&s, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f4f4f4\"/>\n"
                   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">&gt; %g</text>\n",
                   band.x0, band.y0, band.x1 - band.x0, band.y1 - band.y0, f.L - 6, (band.y0 + band.y1) / 2 + 4, f.yhi);
    if (!s.st) svg_frontier(&s, rows, n, pxy, pxy + n);
    for (int i = 0; i < n && !s.st; i++) {
        if (off[i]) sb_add(&s, "<path d=\"M %.1f %.1f l -5 9 l 10 0 z\" fill=\"%s\"/>\n", pxy[i], pxy[n + i] - 5, row_colour(&rows[i]));
        else sb_add(&s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", pxy[i], pxy[n + i], row_colour(&rows[i]));
    }
    for (int i = 0; i < n && !s.st; i++)
        if (!off[i]) svg_label(&s, &p, &axes, i, text[i]);
    if (!s.st) svg_band_labels(&s, &band, pxy, pxy + n, text, off, n);
    if (!s.st) svg_legend(&s, &f);
    sb_add(&s, "</svg>\n");
    free(p.taken);
    free(pxy);
    free(text);
    free(off);
    return sb_finish(&s, path, NULL);
}
