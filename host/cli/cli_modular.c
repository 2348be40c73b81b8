/* cli_modular.c - `modtx modularize`, `modtx assemble` and `modtx sweep`. */
#include "modular/assemble.h"
#include "cli/cli.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "modular/modular.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MTX_MAX_BASELINES 8


static const char modularize_help[] =
    "usage: modtx modularize --teacher DIR --out DIR [--config FILE] [--resume | --init BANK]\n"
    "                        [--threads N]\n"
    "\n"
    "Trains a bank of modularized layers m(g, j) (each replacing g consecutive\n"
    "teacher layers) in one phase: multi-grained module replacing with a\n"
    "curriculum replacement rate, cross-entropy + KL distillation + hidden-state\n"
    "MSE + an optional local term (every module on the teacher's states); the\n"
    "teacher stays frozen. With assemblies_per_step K the batch is split into K\n"
    "parts, each with its own assembly. FILE (built-in defaults without it; the\n"
    "make-run settings are models/recipes/g2p-modular.json, the shipped bank's base run\n"
    "models/recipes/g2p-modular-long.json, see `make bank`; keys in docs/modular.md) sets\n"
    "granularities, init, loss weights, rates and the \"training\" object. The\n"
    "bank trains on the teacher's training split and is scored on its dev and\n"
    "test splits; \"train_data\": FILE trains it on another corpus instead (the\n"
    "teacher's vocabularies). Progress, checkpoints and --resume behave as in `modtx\n"
    "train`; --threads N overrides training.threads. --init BANK fine-tunes: the\n"
    "modules start from those of BANK (same teacher and granularities), with a\n"
    "fresh optimiser and schedule; a run started so resumes with --resume alone.\n";

int mtx_cmd_modularize(int argc, char **argv) {
    const char *teacher = NULL, *out = NULL, *config = NULL, *thr_s = NULL, *init = NULL;
    int resume = 0;
    const mtx_opt opts[] = { { "--teacher", &teacher, NULL }, { "--out", &out, NULL },
                             { "--config", &config, NULL }, { "--resume", NULL, &resume },
                             { "--threads", &thr_s, NULL }, { "--init", &init, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 6, modularize_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    long threads = thr_s ? mtx_opt_int("modularize", "--threads", thr_s, 1, 256) : 0;
    if (threads < 0) return 2;
    if (!teacher || !out) {
        fprintf(stderr, "modtx modularize: --teacher and --out are required (see --help)\n");
        return 2;
    }
    if (init && resume) {
        fprintf(stderr, "modtx modularize: --init starts a new run and cannot be combined with --resume (a run started with --init resumes with --resume alone)\n");
        return 2;
    }
    char cmd[2048];
    mtx_cli_command_line(cmd, sizeof cmd, argc, argv);
    int tty = isatty(2);
    mtx_status st = mtx_modularize_run(teacher, out, config, resume, init, (int)threads, cmd, mtx_cli_progress, &tty);
    if (tty) fputc('\n', stderr);
    if (st) return mtx_fail("modularize");
    fprintf(stderr, "modtx modularize: bank written to %s\n", out);
    return 0;
}

static int parse_strategy(const char *cmd, const char *s, mtx_strategy *out) {
    if (!strcmp(s, "size")) *out = MTX_STRATEGY_SIZE;
    else if (!strcmp(s, "speed")) *out = MTX_STRATEGY_SPEED;
    else if (!strcmp(s, "search")) *out = MTX_STRATEGY_SEARCH;
    else {
        fprintf(stderr, "modtx %s: --strategy must be size, speed or search\n", cmd);
        return -1;
    }
    return 0;
}

/* Provenance of an assembled model: the bank's data provenance plus the tiling. */
static char *assembly_provenance(const mtx_bank_dir *bd, const char *bank_dir, const mtx_assembly *a,
                                 const char *strategy, const char *cmd) {
    cJSON *root = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(root, "modtx");
    cJSON *bj = cJSON_Parse(bd->teacher.config_json);
    const cJSON *bp = bj ? cJSON_GetObjectItemCaseSensitive(bj, "modtx") : NULL;
    const cJSON *tr = bp ? cJSON_GetObjectItemCaseSensitive(bp, "training") : NULL;
    cJSON_AddStringToObject(p, "kind", "assembly");
    if (tr) cJSON_AddItemToObject(p, "training", cJSON_Duplicate(tr, 1));
    cJSON_Delete(bj);
    cJSON_AddStringToObject(p, "bank", bank_dir);
    char te[512], td[512];
    mtx_tiling_format(&a->enc, te, sizeof te);
    mtx_tiling_format(&a->dec, td, sizeof td);
    cJSON *t = cJSON_AddObjectToObject(p, "tiling");
    cJSON_AddStringToObject(t, "encoder", te);
    cJSON_AddStringToObject(t, "decoder", td);
    cJSON_AddNumberToObject(p, "ratio", mtx_assembly_ratio(&bd->bank, a));
    cJSON_AddStringToObject(p, "strategy", strategy);
    cJSON_AddStringToObject(p, "command", cmd);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static const char assemble_help[] =
    "usage: modtx assemble --model BANK --ratio R --strategy size|speed|search --out DIR\n"
    "                      [--dev-words N]\n"
    "       modtx assemble --model BANK --tiling \"ENCODER | DECODER\" --out DIR\n"
    "\n"
    "Writes a standalone model directory holding the assembly of teacher layers\n"
    "and modules chosen for compression ratio R (teacher layers / assembled\n"
    "layers). size: fewest parameters; speed: lowest estimated decode latency;\n"
    "search: best greedy WER on the first N dev words (default 1000). Or the\n"
    "assembly named by --tiling, as sweep prints it: teacher layers tJ and\n"
    "modules mG.J, e.g. \"m2.0 t2 t3 m2.2 | m3.0 m3.1\". The tiling is recorded\n"
    "in config.json; eval, predict and info accept the result.\n";

/* "ENC | DEC" into an assembly, each side checked against the bank's stacks. */
static mtx_status parse_assembly(const mtx_bank *b, const char *s, mtx_assembly *a) {
    const char *bar = strchr(s, '|');
    if (!bar || strchr(bar + 1, '|'))
        return mtx_set_error(MTX_ERR_ARG, "--tiling must be \"ENCODER | DECODER\" (one '|'), got '%s'", s);
    char enc[512];
    size_t n = (size_t)(bar - s);
    if (n >= sizeof enc) return mtx_set_error(MTX_ERR_ARG, "--tiling: encoder tiling too long");
    memcpy(enc, s, n);
    enc[n] = 0;
    memset(a, 0, sizeof *a);
    const mtx_model_config *c = &b->teacher.cfg;
    const char *side = "encoder";
    mtx_status st = mtx_tiling_parse(enc, &a->enc);
    if (!st) st = mtx_tiling_validate(&a->enc, c->num_layers, b->gran, b->n_gran);
    if (!st) {
        side = "decoder";
        st = mtx_tiling_parse(bar + 1, &a->dec);
    }
    if (!st) st = mtx_tiling_validate(&a->dec, c->num_decoder_layers, b->gran, b->n_gran);
    if (st) return mtx_set_error(st, "--tiling: %s: %s", side, mtx_last_error());
    return MTX_OK;
}

int mtx_cmd_assemble(int argc, char **argv) {
    const char *model = NULL, *ratio_s = NULL, *strat_s = NULL, *out = NULL, *dw_s = "1000", *tiling = NULL;
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--ratio", &ratio_s, NULL },
                             { "--strategy", &strat_s, NULL }, { "--out", &out, NULL },
                             { "--dev-words", &dw_s, NULL }, { "--tiling", &tiling, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 6, assemble_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!model || !out || (tiling ? ratio_s || strat_s : !ratio_s || !strat_s)) {
        fprintf(stderr, "modtx assemble: --model, --out and either --ratio with --strategy or --tiling are "
                        "required (see --help)\n");
        return 2;
    }
    mtx_strategy strat = MTX_STRATEGY_SIZE;
    double ratio = 0;
    long dev_words = mtx_opt_int("assemble", "--dev-words", dw_s, 1, 1000000);
    if (!tiling) {
        char *end = NULL;
        ratio = strtod(ratio_s, &end);
        if (*end || !isfinite(ratio)) {
            fprintf(stderr, "modtx assemble: --ratio must be a number, got '%s'\n", ratio_s);
            return 2;
        }
        if (parse_strategy("assemble", strat_s, &strat)) return 2;
    }
    if (dev_words < 0) return 2;
    mtx_set_threads(2);
    mtx_bank_dir bd;
    if (mtx_bank_load(model, &bd)) return mtx_fail("assemble");
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    mtx_assembly a;
    mtx_status st;
    if (tiling) {
        st = parse_assembly(&bd.bank, tiling, &a);
    } else {
        mtx_train_config t;
        st = mtx_bundle_train_config(&bd.teacher, model, &t);
        if (!st) st = mtx_dataset_load(&d, &t, &bd.bank.teacher.cfg, model);
        mtx_len_stats lens = st ? (mtx_len_stats){ 8, 8 } : mtx_len_stats_of(&d.dev);
        if (!st) st = mtx_assembly_choose(&bd.bank, ratio, strat, &lens, &d.dev, (int)dev_words, &a);
    }
    mtx_model m;
    memset(&m, 0, sizeof m);
    if (!st) st = mtx_assembly_to_model(&bd.bank, &a, &m);
    char cmd[2048];
    mtx_cli_command_line(cmd, sizeof cmd, argc, argv);
    char *prov = st ? NULL : assembly_provenance(&bd, model, &a, tiling ? "tiling" : strat_s, cmd);
    if (!st) st = mtx_bundle_save(out, &m, &bd.teacher.src_vocab, &bd.teacher.tgt_vocab, prov, MTX_DT_F32, NULL);
    if (!st) {
        char te[512], td[512];
        mtx_tiling_format(&a.enc, te, sizeof te);
        mtx_tiling_format(&a.dec, td, sizeof td);
        printf("ratio %.2fx (%d + %d layers), %zu parameters\n  encoder: %s\n  decoder: %s\nwritten to %s\n",
               mtx_assembly_ratio(&bd.bank, &a), a.enc.n, a.dec.n, m.n_params, te, td, out);
    }
    cJSON_free(prov);
    mtx_model_free(&m);
    mtx_dataset_free(&d);
    mtx_bank_dir_free(&bd);
    return st ? mtx_fail("assemble") : 0;
}

/* ------------------------------------------------------------- sweep */

typedef struct {
    char kind[12]; /* teacher, modular, pruned */
    double ratio, latency, wps, per, wer;
    int ne, nd;
    size_t params;
    char enc[256], dec[256];
} sweep_row;

static mtx_status eval_row(const mtx_net *net, const mtx_encoded *e, sweep_row *r) {
    mtx_eval_result res;
    mtx_status st = mtx_eval_encoded(net, e, 1, 1.0f, &res);
    if (st) return st;
    r->per = mtx_score_per(&res.score);
    r->wer = mtx_score_wer(&res.score);
    r->wps = res.seconds > 0 ? (double)res.words / res.seconds : 0;
    return MTX_OK;
}

/* The teacher's net keeping only the layers in the masks. */
static void pruned_net(const mtx_bank *b, uint64_t enc_mask, uint64_t dec_mask, mtx_net *net) {
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_net_from_model(net, &b->teacher, NULL);
    net->n_enc = net->n_dec = 0;
    for (int l = 0; l < c->num_layers; l++)
        if (enc_mask >> l & 1) net->enc[net->n_enc++] = &b->teacher.w.enc[l];
    for (int l = 0; l < c->num_decoder_layers; l++)
        if (dec_mask >> l & 1) net->dec[net->n_dec++] = &b->teacher.w.dec[l];
}

/* Teacher-forced NLL per target token of a net on data (no decoding), with
 * the caller's activations and batch buffer of NLL_ROWS rows. */
enum { NLL_ROWS = 4096 };
static mtx_status net_nll(const mtx_net *net, mtx_acts *acts, mtx_batch_buf *bb, const mtx_encoded *data,
                          double *nll) {
    mtx_batcher bt;
    mtx_status st = mtx_batcher_init(&bt, data, NLL_ROWS);
    if (st) return st;
    st = mtx_teacher_forced_eval(net, acts, bb, &bt, nll, NULL);
    mtx_batcher_free(&bt);
    if (!st && !isfinite(*nll)) *nll = HUGE_VAL;
    return st;
}

/* The teacher keeping only the layers in the masks, no training. */
static mtx_status pruned_row(const mtx_bank *b, uint64_t enc_mask, uint64_t dec_mask, const mtx_encoded *e,
                             const char *kind, const mtx_len_stats *lens, sweep_row *row) {
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_net net;
    pruned_net(b, enc_mask, dec_mask, &net);
    memset(row, 0, sizeof *row);
    for (int l = 0, k = 0; l < c->num_layers; l++)
        if (enc_mask >> l & 1) {
            size_t len = strlen(row->enc);
            snprintf(row->enc + len, sizeof row->enc - len, "%st%d", k++ ? " " : "", l);
        }
    for (int l = 0, k = 0; l < c->num_decoder_layers; l++)
        if (dec_mask >> l & 1) {
            size_t len = strlen(row->dec);
            snprintf(row->dec + len, sizeof row->dec - len, "%st%d", k++ ? " " : "", l);
        }
    mtx_status st = eval_row(&net, e, row);
    if (st) return st;
    snprintf(row->kind, sizeof row->kind, "%s", kind);
    row->ratio = (double)(c->num_layers + c->num_decoder_layers) / (net.n_enc + net.n_dec);
    row->ne = net.n_enc;
    row->nd = net.n_dec;
    row->params = mtx_param_count(c) - (size_t)(c->num_layers - net.n_enc) * mtx_enc_layer_size(c) -
                  (size_t)(c->num_decoder_layers - net.n_dec) * mtx_dec_layer_size(c);
    row->latency = net.n_enc + net.n_dec * lens->tgt_len;
    return MTX_OK;
}

static mtx_status write_csv(const char *path, const sweep_row *rows, int n, double teacher_wer) {
    size_t cap = 256 + (size_t)n * 700, len = 0;
    char *buf = malloc(cap);
    if (!buf) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    len += (size_t)snprintf(buf + len, cap - len, "kind,ratio,enc_layers,dec_layers,params,est_latency,words_per_s,per,wer,wer_drop,encoder_tiling,decoder_tiling\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s,%.4f,%d,%d,%zu,%.2f,%.1f,%.3f,%.3f,%.3f,%s,%s\n", rows[i].kind,
                                rows[i].ratio, rows[i].ne, rows[i].nd, rows[i].params, rows[i].latency, rows[i].wps,
                                rows[i].per, rows[i].wer, rows[i].wer - teacher_wer, rows[i].enc, rows[i].dec);
    mtx_status st = mtx_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}

/* WER against measured speed-up over the teacher, as an SVG scatter/line plot;
 * the legend sits in the lower right, where low WER at high speed-up is rare. */
static mtx_status write_svg(const char *path, const sweep_row *rows, int n) {
    double base = rows[0].wps > 0 ? rows[0].wps : 1, xmax = 1, ymax = 1;
    for (int i = 0; i < n; i++) {
        xmax = fmax(xmax, rows[i].wps / base);
        ymax = fmax(ymax, rows[i].wer);
    }
    xmax = ceil(xmax * 1.1);
    ymax = ceil(ymax * 1.1 / 10) * 10;
    const double W = 640, H = 420, L = 60, B = 50, R = 20, T = 30;
#define PX(x) (L + ((x) - 0) / xmax * (W - L - R))
#define PY(y) (H - B - (y) / ymax * (H - B - T))
    size_t cap = 8192 + (size_t)n * 400, len = 0;
    char *s = malloc(cap);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    len += (size_t)snprintf(s + len, cap - len,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
        "<text x=\"%.0f\" y=\"18\" font-size=\"14\">modtx sweep: test WER against measured CPU decode speed-up</text>\n"
        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
        "<text x=\"%.0f\" y=\"%.0f\">speed-up over the teacher (words/s ratio)</text>\n"
        "<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\">WER (%%)</text>\n",
        W, H, L, L, H - B, W - R, H - B, L, H - B, L, T, (W - L) / 2, H - 12, H / 2, H / 2);
    for (int k = 0; k <= 5; k++) {
        double x = xmax * k / 5, y = ymax * k / 5;
        len += (size_t)snprintf(s + len, cap - len,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
            PX(x), H - B + 16, x, L - 6, PY(y) + 4, y);
    }
    len += (size_t)snprintf(s + len, cap - len, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].kind, "modular") || !strcmp(rows[i].kind, "teacher"))
            len += (size_t)snprintf(s + len, cap - len, "%.1f,%.1f ", PX(rows[i].wps / base), PY(rows[i].wer));
    len += (size_t)snprintf(s + len, cap - len, "\"/>\n");
    for (int i = 0; i < n; i++) {
        const char *col = !strncmp(rows[i].kind, "pruned", 6) ? "#d62728" : !strcmp(rows[i].kind, "student") ? "#2ca02c" : "#1f77b4";
        len += (size_t)snprintf(s + len, cap - len,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%.2fx</text>\n",
            PX(rows[i].wps / base), PY(rows[i].wer), col, PX(rows[i].wps / base) + 6,
            PY(rows[i].wer) - 6, rows[i].ratio);
    }
    len += (size_t)snprintf(s + len, cap - len,
        "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"#1f77b4\"/><text x=\"%.0f\" y=\"%.0f\">modular assemblies (label: layer ratio)</text>\n"
        "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"#d62728\"/><text x=\"%.0f\" y=\"%.0f\">teacher with layers dropped, no training</text>\n"
        "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"4\" fill=\"#2ca02c\"/><text x=\"%.0f\" y=\"%.0f\">separately distilled students</text>\n</svg>\n",
        W - 330, H - B - 56, W - 320, H - B - 52, W - 330, H - B - 38, W - 320, H - B - 34, W - 330, H - B - 20,
        W - 320, H - B - 16);
#undef PX
#undef PY
    mtx_status st = mtx_write_file_atomic(path, s, len);
    free(s);
    return st;
}

static const char sweep_help[] =
    "usage: modtx sweep --model BANK [--split dev|test] [--strategy search|speed|size]\n"
    "                   [--dev-words N] [--out DIR] [--threads N] [--json]\n"
    "\n"
    "Evaluates one assembly per reachable compression ratio (chosen by the\n"
    "strategy; search: best greedy WER on the first N dev words, default 1000)\n"
    "plus the teacher with layers dropped (no training) at 2x, 3x and 6x: every\n"
    "other layer (\"pruned\") and the best subset (\"pruned*\": the 8 subsets of lowest\n"
    "teacher-forced dev NLL decoded, the lowest dev WER kept), and prints ratio, layers, parameters, estimated latency (layer steps per\n"
    "word), measured CPU decode words/s, PER, WER and the WER drop vs the teacher.\n"
    "Writes sweep.csv and sweep.svg (WER against speed-up) into DIR (default\n"
    "BANK/sweep). --json prints the rows as a JSON array instead of the table.\n"
    "With --strategy search, every assembly is scored on dev once and\n"
    "frontier.csv lists them all with the Pareto frontier of estimated latency\n"
    "against dev WER marked.\n"
    "  --threads N       GEMM threads (default 2; 1 when other jobs share the cores)\n"
    "  --baseline B1,B2  banks distilled separately from the same teacher (e.g. a\n"
    "                    fixed 3+3 or 2+2 student): their smallest assembly is\n"
    "                    added as a \"student\" row\n";

int mtx_cmd_sweep(int argc, char **argv) {
    const char *model = NULL, *split = "test", *strat_s = "search", *dw_s = "1000", *out = NULL, *baselines = NULL,
               *thr_s = "2";
    int json = 0;
    const double t_start = mtx_now_s();
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--split", &split, NULL },
                             { "--strategy", &strat_s, NULL }, { "--dev-words", &dw_s, NULL },
                             { "--out", &out, NULL }, { "--json", NULL, &json },
                             { "--baseline", &baselines, NULL }, { "--threads", &thr_s, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 8, sweep_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "modtx sweep: --model is required (see --help)\n");
        return 2;
    }
    mtx_strategy strat;
    long dev_words = mtx_opt_int("sweep", "--dev-words", dw_s, 1, 1000000);
    long threads = mtx_opt_int("sweep", "--threads", thr_s, 1, 256);
    if (parse_strategy("sweep", strat_s, &strat) || dev_words < 0 || threads < 0) return 2;
    if (strcmp(split, "dev") && strcmp(split, "test")) {
        fprintf(stderr, "modtx sweep: --split must be dev or test\n");
        return 2;
    }
    mtx_set_threads((int)threads);
    mtx_bank_dir bd;
    if (mtx_bank_load(model, &bd)) return mtx_fail("sweep");
    const mtx_bank *b = &bd.bank;
    const mtx_model_config *c = &b->teacher.cfg;
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    mtx_train_config t;
    mtx_status st = mtx_bundle_train_config(&bd.teacher, model, &t);
    if (!st) st = mtx_dataset_load(&d, &t, c, model);
    if (!st && !strcmp(split, "test") && !d.has_test)
        st = mtx_set_error(MTX_ERR_ARG, "the bank's training data has no test split; use --split dev");
    const mtx_encoded *e = !strcmp(split, "dev") ? &d.dev : &d.test;
    mtx_len_stats lens = st ? (mtx_len_stats){ 8, 8 } : mtx_len_stats_of(&d.dev);
    double ratios[2 * MTX_MAX_LAYERS];
    int nr = mtx_reachable_ratios(b, ratios, 2 * MTX_MAX_LAYERS);
    sweep_row *rows = calloc((size_t)nr + 8 + MTX_MAX_BASELINES, sizeof *rows); /* + 6 pruned rows */
    int n = 0;
    if (!rows) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) {
        /* warm-up: thread pools and first-touch pages must not bill the first row */
        mtx_net net;
        mtx_net_from_model(&net, &b->teacher, NULL);
        mtx_encoded view = *e;
        if (view.n_groups > 256) {
            view.n_groups = 256;
            view.n = view.group_start[256];
        }
        mtx_eval_result warm;
        st = mtx_eval_encoded(&net, &view, 1, 1.0f, &warm);
    }
    /* search: score every assembly once on dev, keep the frontier */
    mtx_scored_assembly *scored = NULL;
    int nscored = 0;
    if (!st && strat == MTX_STRATEGY_SEARCH) {
        if (!json) fprintf(stderr, "sweep: scoring every assembly on the first %ld dev words (%.0f s)\n", dev_words, mtx_now_s() - t_start);
        st = mtx_assembly_search_all(b, &d.dev, (int)dev_words, &lens, &scored, &nscored);
    }
    for (int i = 0; !st && i < nr; i++) {
        mtx_assembly a;
        if (i == 0) {
            mtx_assembly_teacher(b, &a);
        } else if (scored) {
            const int layers = (int)floor((c->num_layers + c->num_decoder_layers) / ratios[i] + 0.5);
            st = mtx_assembly_refine(b, scored, nscored, layers, &d.dev, (int)dev_words, &a);
        } else {
            st = mtx_assembly_choose(b, ratios[i], strat, &lens, &d.dev, (int)dev_words, &a);
        }
        mtx_net net;
        if (!st) st = mtx_bank_net(b, &a, &net, NULL, NULL);
        sweep_row *row = &rows[n];
        if (!st) st = eval_row(&net, e, row);
        if (st) break;
        snprintf(row->kind, sizeof row->kind, "%s", i == 0 ? "teacher" : "modular");
        row->ratio = mtx_assembly_ratio(b, &a);
        row->ne = a.enc.n;
        row->nd = a.dec.n;
        row->params = mtx_assembly_params(b, &a);
        row->latency = mtx_assembly_latency(b, &a, lens.src_len, lens.tgt_len);
        mtx_tiling_format(&a.enc, row->enc, sizeof row->enc);
        mtx_tiling_format(&a.dec, row->dec, sizeof row->dec);
        n++;
        if (!json) fprintf(stderr, "sweep: %.2fx done (%d/%d, %.0f s)\n", row->ratio, i + 1, nr, mtx_now_s() - t_start);
    }
    /* baselines: the teacher with layers dropped, no training; every other
     * layer (LayerDrop-style), and the best subset of the same size per stack
     * (ranked by teacher-forced dev NLL, the best few decoded, lowest dev WER) */
    static const int keep_div[] = { 2, 3, 6 };
    mtx_acts nacts;
    mtx_batch_buf nbb;
    memset(&nacts, 0, sizeof nacts);
    memset(&nbb, 0, sizeof nbb);
    if (!st) {
        const int maxlen = c->max_source_positions > c->max_target_positions ? c->max_source_positions
                                                                              : c->max_target_positions;
        st = mtx_acts_init(&nacts, c, c->num_layers, c->num_decoder_layers, NLL_ROWS, maxlen);
        if (!st) st = mtx_batch_buf_init(&nbb, NLL_ROWS);
    }
    for (int k = 0; !st && k < 3; k++) {
        int ke = c->num_layers / keep_div[k], kd = c->num_decoder_layers / keep_div[k];
        if (ke < 1 || kd < 1 || c->num_layers % keep_div[k] || c->num_decoder_layers % keep_div[k]) continue;
        uint64_t me = 0, md = 0;
        for (int i = 0; i < ke; i++) me |= 1ull << (i * keep_div[k]);
        for (int i = 0; i < kd; i++) md |= 1ull << (i * keep_div[k]);
        st = pruned_row(b, me, md, e, "pruned", &lens, &rows[n]);
        if (!st) n++;
        if (st || c->num_layers > 8 || c->num_decoder_layers > 8) continue; /* subsets: 2^L x 2^L */
        /* two stages: every subset ranked by teacher-forced dev NLL (one
         * forward, cheap), then the PRUNE_FINALISTS best decoded greedily; the
         * lowest dev WER wins (decoding every subset cost minutes: untrained
         * pruned models often run to the length limit) */
        enum { PRUNE_FINALISTS = 8 };
        uint64_t fe[PRUNE_FINALISTS], fd[PRUNE_FINALISTS];
        double fnll[PRUNE_FINALISTS];
        int nf = 0;
        mtx_encoded view = d.dev;
        int pw = dev_words / 5 < 100 ? 100 : (int)(dev_words / 5);
        if (view.n_groups > pw) {
            view.n_groups = pw;
            view.n = view.group_start[pw];
        }
        for (uint64_t xe = 0; !st && xe < (1ull << c->num_layers); xe++) {
            if (__builtin_popcountll(xe) != ke) continue;
            for (uint64_t xd = 0; !st && xd < (1ull << c->num_decoder_layers); xd++) {
                if (__builtin_popcountll(xd) != kd) continue;
                mtx_net pn;
                pruned_net(b, xe, xd, &pn);
                double nll;
                st = net_nll(&pn, &nacts, &nbb, &view, &nll);
                if (st) break;
                /* insert into the sorted finalists (ties keep enumeration order) */
                int at = nf;
                while (at > 0 && nll < fnll[at - 1]) at--;
                if (at >= PRUNE_FINALISTS) continue;
                if (nf < PRUNE_FINALISTS) nf++;
                for (int q = nf - 1; q > at; q--) {
                    fe[q] = fe[q - 1];
                    fd[q] = fd[q - 1];
                    fnll[q] = fnll[q - 1];
                }
                fe[at] = xe;
                fd[at] = xd;
                fnll[at] = nll;
            }
        }
        double best_wer = 1e9, best_per = 1e9;
        uint64_t be = me, bdm = md;
        for (int q = 0; !st && q < nf; q++) {
            sweep_row tmp;
            st = pruned_row(b, fe[q], fd[q], &view, "pruned", &lens, &tmp);
            if (!st && (tmp.wer < best_wer || (tmp.wer == best_wer && tmp.per < best_per))) {
                best_wer = tmp.wer;
                best_per = tmp.per;
                be = fe[q];
                bdm = fd[q];
            }
        }
        if (!st) st = pruned_row(b, be, bdm, e, "pruned*", &lens, &rows[n]);
        if (!st) n++;
        if (!st && !json) fprintf(stderr, "sweep: pruned %.2fx done (%.0f s)\n", (double)(c->num_layers + c->num_decoder_layers) / (ke + kd), mtx_now_s() - t_start);
    }
    mtx_acts_free(&nacts);
    mtx_batch_buf_free(&nbb);
    /* separately distilled students: the smallest assembly of each baseline bank */
    char blist[4096];
    snprintf(blist, sizeof blist, "%s", baselines ? baselines : "");
    for (char *tok = strtok(blist, ","); !st && tok && n < nr + 6 + MTX_MAX_BASELINES; tok = strtok(NULL, ",")) {
        mtx_bank_dir sd;
        st = mtx_bank_load(tok, &sd);
        if (st) break;
        mtx_assembly a;
        mtx_assembly_smallest(&sd.bank, &a);
        mtx_net net;
        sweep_row *row = &rows[n];
        st = sd.bank.teacher.n_params != b->teacher.n_params ||
             memcmp(sd.bank.teacher.params, b->teacher.params, b->teacher.n_params * sizeof(float))
                 ? mtx_set_error(MTX_ERR_ARG, "%s: baseline was distilled from another teacher", tok)
                 : mtx_bank_net(&sd.bank, &a, &net, NULL, NULL);
        if (!st) st = eval_row(&net, e, row);
        if (!st) {
            snprintf(row->kind, sizeof row->kind, "student");
            row->ratio = mtx_assembly_ratio(&sd.bank, &a);
            row->ne = a.enc.n;
            row->nd = a.dec.n;
            row->params = mtx_assembly_params(&sd.bank, &a);
            row->latency = mtx_assembly_latency(&sd.bank, &a, lens.src_len, lens.tgt_len);
            mtx_tiling_format(&a.enc, row->enc, sizeof row->enc);
            mtx_tiling_format(&a.dec, row->dec, sizeof row->dec);
            n++;
        }
        mtx_bank_dir_free(&sd);
    }
    char dir[MTX_PATH_MAX], csv[MTX_PATH_MAX], svg[MTX_PATH_MAX];
    if (!st) {
        if (out) snprintf(dir, sizeof dir, "%s", out);
        else st = mtx_path_join(dir, sizeof dir, model, "sweep");
    }
    if (!st) st = mtx_mkdir_p(dir);
    if (!st) st = mtx_path_join(csv, sizeof csv, dir, "sweep.csv");
    if (!st) st = mtx_path_join(svg, sizeof svg, dir, "sweep.svg");
    if (!st) st = write_csv(csv, rows, n, rows[0].wer);
    if (!st) st = write_svg(svg, rows, n);
    if (!st && scored) {
        char fpath[MTX_PATH_MAX];
        size_t cap = 256 + (size_t)nscored * 600, len = 0;
        char *buf = malloc(cap);
        st = buf ? mtx_path_join(fpath, sizeof fpath, dir, "frontier.csv") : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
        if (!st) {
            len += (size_t)snprintf(buf + len, cap - len, "ratio,enc_layers,dec_layers,params,est_latency,dev_per,dev_wer,pareto,encoder_tiling,decoder_tiling\n");
            for (int k = 0; k < nscored; k++) {
                char te[256], td[256];
                mtx_tiling_format(&scored[k].a.enc, te, sizeof te);
                mtx_tiling_format(&scored[k].a.dec, td, sizeof td);
                len += (size_t)snprintf(buf + len, cap - len, "%.4f,%d,%d,%zu,%.2f,%.3f,%.3f,%d,%s,%s\n",
                                        mtx_assembly_ratio(b, &scored[k].a), scored[k].a.enc.n, scored[k].a.dec.n,
                                        scored[k].params, scored[k].latency, scored[k].per, scored[k].wer,
                                        scored[k].pareto, te, td);
            }
            st = mtx_write_file_atomic(fpath, buf, len);
        }
        free(buf);
    }
    free(scored);
    if (!st && json) {
        printf("[");
        for (int i = 0; i < n; i++)
            printf("%s\n {\"kind\":\"%s\",\"ratio\":%.4f,\"enc_layers\":%d,\"dec_layers\":%d,\"params\":%zu,"
                   "\"est_latency\":%.2f,\"words_per_s\":%.1f,\"per\":%.4f,\"wer\":%.4f,\"wer_drop\":%.4f,"
                   "\"encoder_tiling\":\"%s\",\"decoder_tiling\":\"%s\"}",
                   i ? "," : "", rows[i].kind, rows[i].ratio, rows[i].ne, rows[i].nd, rows[i].params,
                   rows[i].latency, rows[i].wps, rows[i].per, rows[i].wer, rows[i].wer - rows[0].wer,
                   rows[i].enc, rows[i].dec);
        printf("\n]\n");
    } else if (!st) {
        printf("%-8s %6s %4s %4s %9s %8s %9s %7s %7s %7s  %s | %s\n", "kind", "ratio", "enc", "dec", "params",
               "latency", "words/s", "PER%", "WER%", "dWER", "encoder tiling", "decoder tiling");
        for (int i = 0; i < n; i++)
            printf("%-8s %5.2fx %4d %4d %9zu %8.1f %9.0f %7.2f %7.2f %+7.2f  %s | %s\n", rows[i].kind, rows[i].ratio,
                   rows[i].ne, rows[i].nd, rows[i].params, rows[i].latency, rows[i].wps, rows[i].per, rows[i].wer,
                   rows[i].wer - rows[0].wer, rows[i].enc, rows[i].dec);
        printf("table: %s\nplot:  %s\n", csv, svg);
    }
    free(rows);
    mtx_dataset_free(&d);
    mtx_bank_dir_free(&bd);
    return st ? mtx_fail("sweep") : 0;
}
