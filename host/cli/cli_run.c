/* cli_run.c - `modtx run`: words through an integer engine (device backend)
 * with one image loaded once and any of its plans per batch. */
#include "cli/cli.h"
#include "core/fsutil.h"
#include "device/device.h"
#include "engine/export.h"
#include "eval/eval.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/sweep.h"

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_help[] =
    "usage: modtx run --backend NAME --image FILE (--plan FILE | --ratio R | --plans F1,F2,...)\n"
    "                 [--batch N] [--verbose] [--xclbin FILE [--device N]] [WORD...]\n"
    "       modtx run --backend NAME --image FILE (--plan FILE | --ratio R | --plans ...) --split dev|test\n"
    "                 [--limit N | --sample N] [--json] [--compare] [--against BACKEND]\n"
    "\n"
    "Runs an exported model (modtx export) on an integer engine: the image is\n"
    "loaded once, each batch of up to N words (default 64) runs with a plan.\n"
    "--ratio picks the plan of that ratio from the export's manifest.json; --plans\n"
    "rotates the plans batch by batch (plans named without a folder are looked up\n"
    "beside the image; `all` names every plan of the manifest). Words come from the arguments or stdin (one per line) and\n"
    "print as `modtx predict` prints them: word<TAB>PH PH ...; a word that cannot\n"
    "be transcribed gets a one-line error and the exit status is 1.\n"
    "--split scores a split of the data the model was trained on (the\n"
    "manifest's provenance): all of it, its first N words (--limit N) or N words\n"
    "spread evenly over it (--sample N, the sweep's fixed sample), and prints PER, WER and\n"
    "words/s (one JSON object with --json; with several plans, one table row or\n"
    "JSON object per plan, each on the same words); --compare adds the fp32 model of the\n"
    "same assembly on the same words; --against runs the same words through a\n"
    "second backend and fails (exit 1) when any word's output differs. --xclbin\n"
    "(backend xrt) is the kernel's xclbin and --device the card's index (default\n"
    "0; docs/deploy.md).\n"
    "Backends: ref (the golden model), csim (the HLS kernel compiled natively),\n"
    "rtl (hw/rtl under Verilator, a subprocess; --verbose prints each batch's\n"
    "simulated cycles on stderr, --json adds them as batch_cycles beside the\n"
    "total), xrt (the HLS kernel on an Alveo card through XRT)";

enum { RUN_MAX_PLANS = 16 };

typedef struct {
    char dir[MTX_PATH_MAX];      /* the export directory (the image's folder) */
    uint8_t *img;
    uint64_t img_bytes;
    mtx_image im;
    int n_plans;
    char plan_name[RUN_MAX_PLANS][MTX_PATH_MAX];
    mtx_plan plan[RUN_MAX_PLANS];
    uint8_t *plan_bytes[RUN_MAX_PLANS];
    uint64_t plan_len[RUN_MAX_PLANS];
    mtx_vocab sv, tv;
    mtx_device *dev;
    int batch, verbose;
    uint64_t cycles, busy_pe;    /* simulated (rtl): summed over every batch run */
    uint64_t *batch_cycles;      /* simulated (rtl): each batch's cycles, n_batches of them */
    int n_batches, cap_batches;
} runner;

static void runner_free(runner *r) {
    mtx_device_close(r->dev);
    for (int i = 0; i < r->n_plans; i++) free(r->plan_bytes[i]);
    free(r->img);
    free(r->batch_cycles);
    mtx_vocab_free(&r->sv);
    mtx_vocab_free(&r->tv);
}

static mtx_status add_plan_file(runner *r, const char *name) {
    if (r->n_plans == RUN_MAX_PLANS) return mtx_set_error(MTX_ERR_ARG, "at most %d plans", RUN_MAX_PLANS);
    char *path = r->plan_name[r->n_plans];
    if (!strchr(name, '/') && !mtx_file_exists(name)) {
        mtx_status st = mtx_path_join(path, MTX_PATH_MAX, r->dir, name);
        if (st) return st;
    } else if (snprintf(path, MTX_PATH_MAX, "%s", name) >= MTX_PATH_MAX) {
        return mtx_set_error(MTX_ERR_ARG, "plan path longer than %d bytes: '%.40s...'", MTX_PATH_MAX - 1, name);
    }
    int i = r->n_plans;
    mtx_status st = mtx_plan_load(path, &r->im, &r->plan[i], &r->plan_bytes[i], &r->plan_len[i]);
    if (!st) r->n_plans++;
    return st;
}

/* Every plan the export's manifest lists, in its order (--plans all). */
static mtx_status add_manifest_plans(runner *r) {
    mtx_manifest m;
    mtx_status st = mtx_manifest_load(r->dir, &m);
    for (int i = 0; !st && i < m.n_plans; i++) st = add_plan_file(r, m.plans[i].file);
    return st;
}

/* The plan of ratio R from the manifest (first match within 1%). */
static mtx_status plan_of_ratio(runner *r, const char *ratio_s) {
    char *end = NULL;
    double want = strtod(ratio_s, &end);
    if (end == ratio_s || *end || !(want > 0)) return mtx_set_error(MTX_ERR_ARG, "--ratio must be a number, got '%s'", ratio_s);
    mtx_manifest m;
    mtx_status st = mtx_manifest_load(r->dir, &m);
    if (st) return st;
    char have[1024] = "";
    for (int i = 0; i < m.n_plans; i++) {
        if (fabs(m.plans[i].ratio - want) <= 0.01 * want) return add_plan_file(r, m.plans[i].file);
        size_t l = strlen(have);
        snprintf(have + l, sizeof have - l, "%s%.2f", i ? ", " : "", m.plans[i].ratio);
    }
    return mtx_set_error(MTX_ERR_ARG, "no plan of ratio %s in %s/manifest.json (it has %s)", ratio_s, r->dir, have);
}

static mtx_status runner_open(runner *r, const char *backend, const char *image, const char *plan,
                              const char *ratio, const char *plans, const mtx_device_opts *o) {
    char tmp[MTX_PATH_MAX], path[MTX_PATH_MAX], list[4096];
    if (snprintf(tmp, sizeof tmp, "%s", image) >= (int)sizeof tmp)
        return mtx_set_error(MTX_ERR_ARG, "image path longer than %zu bytes: '%.40s...'", sizeof tmp - 1, image);
    if (plans && snprintf(list, sizeof list, "%s", plans) >= (int)sizeof list)
        return mtx_set_error(MTX_ERR_ARG, "--plans longer than %zu bytes", sizeof list - 1);
    snprintf(r->dir, sizeof r->dir, "%s", dirname(tmp));
    mtx_status st = mtx_image_load(image, &r->img, &r->img_bytes, &r->im);
    if (!st) st = mtx_path_join(path, sizeof path, r->dir, "source_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &r->sv);
    if (!st) st = mtx_path_join(path, sizeof path, r->dir, "target_vocab.txt");
    if (!st) st = mtx_vocab_load(path, &r->tv);
    if (!st && (r->sv.n != (int)r->im.dims.Vs || r->tv.n != (int)r->im.dims.Vt))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: vocabularies (%d, %d) do not match the image (%u, %u)", r->dir,
                           r->sv.n, r->tv.n, r->im.dims.Vs, r->im.dims.Vt);
    if (!st && plan) st = add_plan_file(r, plan);
    if (!st && ratio) st = plan_of_ratio(r, ratio);
    if (!st && plans) {
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); !st && tok; tok = strtok_r(NULL, ",", &save))
            st = strcmp(tok, "all") ? add_plan_file(r, tok) : add_manifest_plans(r);
    }
    if (!st) st = mtx_device_open(&r->dev, backend, o);
    if (!st) st = mtx_device_load_image(r->dev, &r->im);
    return st;
}

/* Percent of the PE array's cycles that were busy. */
static double pe_use(uint64_t busy, uint64_t cycles) {
    return 100.0 * (double)busy / ((double)cycles * MTX_PE_ROWS * MTX_PE_COLS);
}

/* A plan path's file name. */
static const char *plan_base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The simulated cycles of one batch: summed into r, kept for --json and
 * printed with --verbose. */
static mtx_status note_batch(runner *r, int k, int words, const char *plan, const mtx_device_stats *ds) {
    if (!ds->cycles) return MTX_OK;
    r->cycles += ds->cycles;
    r->busy_pe += ds->busy_pe_cycles;
    if (r->n_batches == r->cap_batches) {
        const int cap = r->cap_batches ? 2 * r->cap_batches : 64;
        uint64_t *p = realloc(r->batch_cycles, sizeof *p * (size_t)cap);
        if (!p) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
        r->batch_cycles = p;
        r->cap_batches = cap;
    }
    r->batch_cycles[r->n_batches++] = ds->cycles;
    if (r->verbose) {
        fprintf(stderr, "batch %d (%d words, %s): %llu cycles (%.0f a word), PE use %.1f%%\n", k + 1, words,
                plan_base(plan), (unsigned long long)ds->cycles, (double)ds->cycles / words,
                pe_use(ds->busy_pe_cycles, ds->cycles));
    }
    return MTX_OK;
}

/* Runs n encoded words (MTX_IO_STRIDE layout) in batches; batch k uses plan
 * k % n_plans. count: the batches' simulated cycles are r's (not for a
 * second backend's run of the same words). */
static mtx_status run_words(runner *r, const int32_t *in, int n, int32_t *out, double *seconds, int count) {
    const double t0 = mtx_now_s();
    mtx_status st = MTX_OK;
    for (int i = 0, k = 0; !st && i < n; i += r->batch, k++) {
        const int B = n - i < r->batch ? n - i : r->batch, pi = k % r->n_plans;
        st = mtx_device_run(r->dev, &r->plan[pi], r->plan_bytes[pi], r->plan_len[pi],
                            in + (int64_t)i * MTX_IO_STRIDE, B, out + (int64_t)i * MTX_IO_STRIDE);
        if (!st && count) st = note_batch(r, k, B, r->plan_name[pi], mtx_device_stats_get(r->dev));
    }
    if (seconds) *seconds = mtx_now_s() - t0;
    return st;
}

/* ------------------------------------------------------------ words */

typedef struct {
    char **word;
    int n, cap;
} word_list;

static int push_word(void *ctx, const char *s) {
    word_list *w = ctx;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 256;
        char **p = realloc(w->word, sizeof(char *) * (size_t)cap);
        if (!p) return -1;
        w->word = p;
        w->cap = cap;
    }
    return (w->word[w->n] = strdup(s)) ? (w->n++, 0) : -1;
}

static int transcribe(runner *r, word_list *w) {
    int errors = 0, n = 0;
    int32_t *in = calloc((size_t)w->n + 1, sizeof(int32_t) * MTX_IO_STRIDE);
    int32_t *out = calloc((size_t)w->n + 1, sizeof(int32_t) * MTX_IO_STRIDE);
    int *slot = malloc(sizeof(int) * ((size_t)w->n + 1));
    if (!in || !out || !slot) {
        free(in); free(out); free(slot);
        fprintf(stderr, "modtx run: out of memory\n");
        return 1;
    }
    for (int i = 0; i < w->n; i++) {
        int32_t *row = in + (int64_t)n * MTX_IO_STRIDE;
        int len = 0;
        slot[i] = -1;
        if (strlen(w->word[i]) > MTX_CLI_MAX_WORD) {
            fprintf(stderr, "modtx run: word longer than %d bytes: '%.20s...'\n", MTX_CLI_MAX_WORD, w->word[i]);
            errors++;
        } else if (mtx_cli_encode_word(&r->sv, w->word[i], row + 1, (int)r->im.dims.Ps, &len)) {
            fprintf(stderr, "modtx run: %s\n", mtx_last_error());
            errors++;
        } else {
            row[0] = len;
            slot[i] = n++;
        }
    }
    if (n && run_words(r, in, n, out, NULL, 1)) {
        fprintf(stderr, "modtx run: %s\n", mtx_last_error());
        errors++;
        n = 0;
    }
    for (int i = 0; n && i < w->n; i++) {
        if (slot[i] < 0) continue;
        const int32_t *o = out + (int64_t)slot[i] * MTX_IO_STRIDE;
        printf("%s\t", w->word[i]);
        for (int t = 0; t < o[0] && t < MTX_MAX_POS; t++)
            printf("%s%s", t ? " " : "", o[1 + t] >= 0 && o[1 + t] < r->tv.n ? r->tv.tok[o[1 + t]] : "?");
        putchar('\n');
    }
    fflush(stdout);
    free(in); free(out); free(slot);
    return errors ? 1 : 0;
}

/* ------------------------------------------------------------ scoring */

/* The same n words through backend `against` (its own device, the same
 * image and plan): *differ = words whose output differs from out. */
static mtx_status run_against(runner *r, const char *against, const int32_t *in, int n, const int32_t *out,
                              int *differ, double *secs) {
    int32_t *o2 = calloc((size_t)n + 1, sizeof(int32_t) * MTX_IO_STRIDE);
    mtx_device *mine = r->dev, *dev = NULL;
    mtx_device_opts o = { NULL, 0, 0 };
    mtx_status st = o2 ? mtx_device_open(&dev, against, &o) : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) st = mtx_device_load_image(dev, &r->im);
    if (!st) {
        r->dev = dev;
        st = run_words(r, in, n, o2, secs, 0);
        r->dev = mine;
    }
    *differ = 0;
    for (int i = 0; !st && i < n; i++)
        *differ += memcmp(out + (int64_t)i * MTX_IO_STRIDE, o2 + (int64_t)i * MTX_IO_STRIDE,
                          sizeof(int32_t) * MTX_IO_STRIDE) != 0;
    mtx_device_close(dev);
    free(o2);
    return st;
}

/* The fp32 model of the plan's assembly (from the manifest's source) on the same words. */
static mtx_status fp32_score(const runner *r, const mtx_manifest *m, const mtx_encoded *view, mtx_score *out) {
    char tiling[512];
    mtx_plan_tiling(&r->plan[0], tiling, sizeof tiling);
    char *kind = mtx_recorded_provenance(m->source, "kind");
    const int is_bank = kind && !strcmp(kind, "bank");
    free(kind);
    mtx_bank_dir bd;
    mtx_bundle plain;
    memset(&bd, 0, sizeof bd);
    memset(&plain, 0, sizeof plain);
    mtx_status st = is_bank ? mtx_bank_load(m->source, &bd) : mtx_bundle_load(m->source, &plain);
    mtx_net net;
    if (!st && is_bank) {
        mtx_assembly a;
        st = mtx_assembly_parse(&bd.bank, tiling, &a);
        if (st) st = mtx_set_error(st, "plan %s in the bank %s: %s", tiling, m->source, mtx_last_error());
        if (!st) st = mtx_bank_net(&bd.bank, &a, &net, NULL, NULL);
    } else if (!st) {
        mtx_net_from_model(&net, &plain.model, NULL);
        if (net.n_enc != r->plan[0].n_enc || net.n_dec != r->plan[0].n_dec)
            st = mtx_set_error(MTX_ERR_ARG, "plan has another depth than the model %s", m->source);
    }
    mtx_eval_result res;
    if (!st) st = mtx_eval_encoded(&net, view, 1, 1.0f, &res);
    if (!st) *out = res.score;
    if (is_bank) mtx_bank_dir_free(&bd);
    else mtx_bundle_free(&plain);
    return st;
}

/* Scores one plan (r->plan[0]) on a split. table: print one row of the
 * per-plan table (run_split_plans prints the header) instead of the
 * sentences. */
static int score_split(runner *r, const char *split, long limit, long sample, int json, int compare,
                       const char *backend, const char *against, int table) {
    mtx_manifest m;
    mtx_dataset d;
    mtx_encoded spread;
    memset(&d, 0, sizeof d);
    memset(&spread, 0, sizeof spread);
    mtx_status st = mtx_manifest_load(r->dir, &m);
    mtx_model_config cfg = mtx_model_config_default();
    cfg.max_source_positions = (int)r->im.dims.Ps;
    cfg.max_target_positions = (int)r->im.dims.Pt;
    if (!st) st = mtx_dataset_load(&d, &m.data, &cfg, r->dir);
    const int which = !strcmp(split, "dev") ? MTX_SPLIT_DEV : MTX_SPLIT_TEST;
    if (!st && which == MTX_SPLIT_TEST && !d.has_test) st = mtx_set_error(MTX_ERR_ARG, "the model's data has no test split");
    mtx_encoded view = which == MTX_SPLIT_DEV ? d.dev : d.test;
    if (!st && limit > 0 && view.n_groups > limit) {
        view.n_groups = (int)limit;
        view.n = view.group_start[limit];
    }
    if (!st && sample > 0) {
        st = mtx_encoded_spread(&view, (int)sample, &spread);
        if (!st) view = spread;
    }
    int32_t *in = st ? NULL : calloc((size_t)view.n_groups + 1, sizeof(int32_t) * MTX_IO_STRIDE);
    int32_t *out = st ? NULL : calloc((size_t)view.n_groups + 1, sizeof(int32_t) * MTX_IO_STRIDE);
    int *grp = st ? NULL : malloc(sizeof(int) * ((size_t)view.n_groups + 1));
    if (!st && (!in || !out || !grp)) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int g = 0; !st && g < view.n_groups; g++) {
        if (view.group_start[g + 1] == view.group_start[g]) continue;
        const int k = view.group_start[g];
        int32_t *row = in + (int64_t)n * MTX_IO_STRIDE;
        row[0] = view.src_len[k];
        memcpy(row + 1, view.src + view.src_off[k], sizeof(int32_t) * (size_t)row[0]);
        grp[n++] = g;
    }
    double secs = 0;
    if (!st && n) st = run_words(r, in, n, out, &secs, 1);
    int differ = 0;
    double against_secs = 0;
    if (!st && n && against) st = run_against(r, against, in, n, out, &differ, &against_secs);
    mtx_score sc;
    memset(&sc, 0, sizeof sc);
    for (int i = 0; !st && i < n; i++) {
        const int g = grp[i];
        const int32_t *refs[256];
        int rlen[256], nr = 0;
        for (int k = view.group_start[g]; k < view.group_start[g + 1] && nr < 256; k++) {
            refs[nr] = view.tgt + view.tgt_off[k];
            rlen[nr++] = view.tgt_len[k];
        }
        const int32_t *o = out + (int64_t)i * MTX_IO_STRIDE;
        st = mtx_score_add(&sc, o + 1, o[0], refs, rlen, nr);
    }
    mtx_score ref;
    memset(&ref, 0, sizeof ref);
    if (!st && compare) st = fp32_score(r, &m, &view, &ref);
    free(in);
    free(out);
    free(grp);
    mtx_encoded_free(&spread);
    mtx_dataset_free(&d);
    if (st) return mtx_fail("run");
    const double wps = secs > 0 ? n / secs : 0;
    const char *plan = plan_base(r->plan_name[0]);
    if (json) {
        printf("{\"split\":\"%s\",\"words\":%d,\"per\":%.4f,\"wer\":%.4f,\"words_per_s\":%.1f,\"plan\":\"%s\","
               "\"backend\":\"%s\"", split, n, mtx_score_per(&sc), mtx_score_wer(&sc), wps, plan, backend);
        if (r->cycles) {
            printf(",\"cycles\":%llu,\"busy_pe_cycles\":%llu,\"batch_cycles\":[", (unsigned long long)r->cycles,
                   (unsigned long long)r->busy_pe);
            for (int b = 0; b < r->n_batches; b++) printf("%s%llu", b ? "," : "", (unsigned long long)r->batch_cycles[b]);
            printf("]");
        }
        if (compare) printf(",\"fp32_per\":%.4f,\"fp32_wer\":%.4f", mtx_score_per(&ref), mtx_score_wer(&ref));
        if (against)
            printf(",\"against\":\"%s\",\"differ\":%d,\"against_words_per_s\":%.1f", against, differ,
                   against_secs > 0 ? n / against_secs : 0);
        printf("}\n");
    } else if (table) {
        printf("%-12s %6d %9.2f %9.2f", plan, n, mtx_score_per(&sc), mtx_score_wer(&sc));
        if (compare)
            printf(" %9.2f %9.2f %+6.2f", mtx_score_per(&ref), mtx_score_wer(&ref),
                   mtx_score_wer(&sc) - mtx_score_wer(&ref));
        printf(" %9.0f", wps);
        if (r->cycles && n)
            printf("  %.0f cycles/word, PE use %.1f%%", (double)r->cycles / n,
                   pe_use(r->busy_pe, r->cycles));
        if (against) printf("   %d of %d differ (%s %.0f words/s)", differ, n, against, against_secs > 0 ? n / against_secs : 0);
        printf("\n");
    } else {
        printf("%s: %d words  PER %.2f%%  WER %.2f%%  (%s on %s, %.0f words/s)\n", split, n, mtx_score_per(&sc),
               mtx_score_wer(&sc), plan, backend, wps);
        if (compare) printf("fp32 of the same assembly: PER %.2f%%  WER %.2f%%\n", mtx_score_per(&ref), mtx_score_wer(&ref));
        if (r->cycles && n)
            printf("simulated: %llu cycles (%.0f a word), %llu busy PE-cycles (PE use %.1f%% of %d x %d)\n",
                   (unsigned long long)r->cycles, (double)r->cycles / n, (unsigned long long)r->busy_pe,
                   pe_use(r->busy_pe, r->cycles), MTX_PE_ROWS,
                   MTX_PE_COLS);
        if (against)
            printf("against %s: %d of %d words differ (%s %.0f words/s)\n", against, differ, n, against,
                   against_secs > 0 ? n / against_secs : 0);
    }
    if (differ) fprintf(stderr, "modtx run: %s and %s differ on %d of %d words\n", backend, against, differ, n);
    return differ ? 1 : 0;
}

/* --split with several plans: each plan scored on the same words in turn,
 * one table row each (JSON: one object per line). */
static int run_split_plans(runner *r, const char *split, long limit, long sample, int json, int compare,
                           const char *backend, const char *against) {
    const int np = r->n_plans;
    if (np > 1 && !json) {
        printf("%-12s %6s %9s %9s", "plan", "words", "int8 PER", "int8 WER");
        if (compare) printf(" %9s %9s %6s", "fp32 PER", "fp32 WER", "dWER");
        printf(" %9s%s\n", "words/s", against ? "   against" : "");
    }
    int status = 0;
    for (int i = 0; i < np; i++) {
        runner one = *r; /* plan i as the only plan; shares the device and buffers */
        one.n_plans = 1;
        one.plan[0] = r->plan[i];
        one.plan_bytes[0] = r->plan_bytes[i];
        one.plan_len[0] = r->plan_len[i];
        memcpy(one.plan_name[0], r->plan_name[i], sizeof one.plan_name[0]);
        one.batch_cycles = NULL; /* this plan's batches only */
        one.n_batches = one.cap_batches = 0;
        int st = score_split(&one, split, limit, sample, json, compare, backend, against, np > 1 && !json);
        free(one.batch_cycles);
        if (st > status) status = st;
        if (st && st != 1) break;
    }
    return status;
}

int mtx_cmd_run(int argc, char **argv) {
    const char *backend = NULL, *image = NULL, *plan = NULL, *ratio = NULL, *plans = NULL, *batch_s = "64";
    const char *split = NULL, *limit_s = NULL, *sample_s = NULL, *xclbin = NULL, *device_s = "0", *against = NULL;
    int verbose = 0, json = 0, compare = 0;
    char help[2048];
    snprintf(help, sizeof help, "%s (this build: %s).\n", run_help, mtx_device_backends());
    char **pos = malloc(sizeof(char *) * (size_t)(argc + 1));
    int npos = 0;
    const mtx_opt opts[] = { { "--backend", &backend, NULL }, { "--image", &image, NULL }, { "--plan", &plan, NULL },
                             { "--ratio", &ratio, NULL }, { "--plans", &plans, NULL }, { "--batch", &batch_s, NULL },
                             { "--verbose", NULL, &verbose }, { "--split", &split, NULL },
                             { "--limit", &limit_s, NULL }, { "--json", NULL, &json }, { "--compare", NULL, &compare },
                             { "--xclbin", &xclbin, NULL }, { "--device", &device_s, NULL },
                             { "--sample", &sample_s, NULL }, { "--against", &against, NULL } };
    int r = pos ? mtx_parse_opts(argc, argv, opts, 15, help, pos, argc, &npos) : 2;
    if (r) {
        free(pos);
        return r == 1 ? 0 : 2;
    }
    const char *usage = NULL;
    if (!backend || !image) usage = "--backend and --image are required";
    else if ((plan != NULL) + (ratio != NULL) + (plans != NULL) != 1) usage = "give exactly one of --plan, --ratio and --plans";
    else if (split && strcmp(split, "dev") && strcmp(split, "test")) usage = "--split must be dev or test";
    else if (split && npos) usage = "--split takes no words";
    else if (!split && (json || compare || limit_s || sample_s || against))
        usage = "--json, --compare, --limit, --sample and --against go with --split";
    else if (limit_s && sample_s) usage = "give --limit or --sample, not both";
    long batch = mtx_opt_int("run", "--batch", batch_s, 1, MTX_MAX_BATCH);
    long limit = limit_s ? mtx_opt_int("run", "--limit", limit_s, 1, 100000000) : 0;
    long sample = sample_s ? mtx_opt_int("run", "--sample", sample_s, 1, 100000000) : 0;
    long device = mtx_opt_int("run", "--device", device_s, 0, 255);
    if (usage) fprintf(stderr, "modtx run: %s (see --help)\n", usage);
    if (usage || batch < 0 || limit < 0 || sample < 0 || device < 0) {
        free(pos);
        return 2;
    }
    mtx_set_threads(1);
    runner *rn = calloc(1, sizeof *rn);
    const mtx_device_opts dopts = { xclbin, (int)device, verbose };
    if (!rn || runner_open(rn, backend, image, plan, ratio, plans, &dopts)) {
        free(pos);
        if (rn) runner_free(rn);
        free(rn);
        return mtx_fail("run");
    }
    rn->batch = (int)batch;
    rn->verbose = verbose;
    int status;
    if (split) {
        status = run_split_plans(rn, split, limit, sample, json, compare, backend, against);
    } else {
        word_list w = { NULL, 0, 0 };
        int oom = 0, bad = 0;
        for (int i = 0; i < npos && !oom; i++) oom = push_word(&w, pos[i]);
        if (!npos) oom = mtx_cli_read_words(stdin, "run", push_word, &w, &bad);
        status = oom ? (fprintf(stderr, "modtx run: out of memory\n"), 1) : transcribe(rn, &w) | (bad > 0);
        for (int i = 0; i < w.n; i++) free(w.word[i]);
        free(w.word);
    }
    if (verbose) {
        const mtx_device_stats *ds = mtx_device_stats_get(rn->dev);
        fprintf(stderr, "image loaded %llu time(s), %llu batches\n", (unsigned long long)ds->image_loads,
                (unsigned long long)ds->batches);
        if (rn->cycles)
            fprintf(stderr, "simulated: %llu cycles, %llu busy PE-cycles (PE use %.1f%% of %d x %d)\n",
                    (unsigned long long)rn->cycles, (unsigned long long)rn->busy_pe,
                    pe_use(rn->busy_pe, rn->cycles), MTX_PE_ROWS,
                    MTX_PE_COLS);
    }
    runner_free(rn);
    free(rn);
    free(pos);
    return status;
}
