/* cli_modular.c - `modtx modularize`, `modtx assemble` and `modtx sweep`. */
#include "modular/assemble.h"
#include "cli/cli.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "modular/modular.h"
#include "modular/sweep.h"

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

static const char sweep_help[] =
    "usage: modtx sweep --model BANK [--split dev|test] [--strategy search|speed|size]\n"
    "                   [--dev-words N] [--sample N] [--no-pruned] [--out DIR] [--threads N]\n"
    "                   [--speed-words N] [--speed-passes N] [--baseline B1,B2] [--json]\n"
    "\n"
    "Evaluates one assembly per reachable compression ratio (chosen by the\n"
    "strategy; search: best greedy WER on the first N dev words, default 1000)\n"
    "plus the teacher with layers dropped (no training) at 2x, 3x and 6x: every\n"
    "other layer (\"pruned\") and the best subset (\"pruned*\": the 8 subsets of\n"
    "lowest teacher-forced dev NLL decoded, the lowest dev WER kept), and prints\n"
    "ratio, layers, parameters, estimated latency (layer steps per word),\n"
    "measured CPU decode words/s, PER, WER and the WER drop vs the teacher.\n"
    "Writes sweep.csv, sweep.txt and sweep.svg (WER against speed-up, Pareto\n"
    "frontier drawn) into DIR (default BANK/sweep). --json prints the rows as a\n"
    "JSON array instead of the table. With --strategy search, every assembly is\n"
    "scored on dev once and frontier.csv lists them all with the Pareto frontier\n"
    "of estimated latency against dev WER marked.\n"
    "  --sample N        score the rows on N words spread evenly over the split\n"
    "                    (a fixed sample; default: the whole split)\n"
    "  --no-pruned       skip the pruned* search (the \"pruned\" rows stay)\n"
    "  --speed-words N   words/s measured on N words spread over the scored ones\n"
    "                    (default 1000), in --speed-passes P interleaved passes\n"
    "                    over all rows (default 5); each row's median is reported\n"
    "  --threads N       GEMM threads (default 2; 1 when other jobs share the cores)\n"
    "  --baseline B1,B2  banks distilled separately from the same teacher (e.g. a\n"
    "                    fixed 3+3 or 2+2 student): their smallest assembly is\n"
    "                    added as a \"student\" row\n";

static void sweep_progress(const char *msg, void *ctx) {
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

/* Writes sweep.csv, sweep.txt, sweep.svg and frontier.csv into dir; *text
 * gets the table. */
static mtx_status write_reports(const char *dir, const char *split, const mtx_sweep_result *res, char **text,
                                char *csv, char *svg) {
    char txt[MTX_PATH_MAX], front[MTX_PATH_MAX], title[160];
    mtx_status st = mtx_mkdir_p(dir);
    if (!st) st = mtx_path_join(csv, MTX_PATH_MAX, dir, "sweep.csv");
    if (!st) st = mtx_path_join(svg, MTX_PATH_MAX, dir, "sweep.svg");
    if (!st) st = mtx_path_join(txt, sizeof txt, dir, "sweep.txt");
    if (!st) st = mtx_path_join(front, sizeof front, dir, "frontier.csv");
    snprintf(title, sizeof title, "modtx sweep: %s WER (%d words) against measured CPU decode speed-up", split,
             res->scored_words);
    if (!st) st = mtx_report_csv(csv, res->rows, res->n);
    if (!st) st = mtx_report_text(res->rows, res->n, text);
    if (!st) st = mtx_report_write_text(txt, *text);
    if (!st) st = mtx_report_svg(svg, title, res->rows, res->n);
    if (!st && res->n_frontier) st = mtx_report_frontier_csv(front, res->frontier, res->n_frontier);
    return st;
}

int mtx_cmd_sweep(int argc, char **argv) {
    const char *model = NULL, *split = "test", *strat_s = "search", *dw_s = "1000", *out = NULL, *baselines = NULL,
               *thr_s = "2", *sample_s = NULL, *sw_s = "1000", *sp_s = "5";
    int json = 0, no_pruned = 0;
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--split", &split, NULL },
                             { "--strategy", &strat_s, NULL }, { "--dev-words", &dw_s, NULL },
                             { "--out", &out, NULL }, { "--json", NULL, &json },
                             { "--baseline", &baselines, NULL }, { "--threads", &thr_s, NULL },
                             { "--sample", &sample_s, NULL }, { "--no-pruned", NULL, &no_pruned },
                             { "--speed-words", &sw_s, NULL }, { "--speed-passes", &sp_s, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 12, sweep_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "modtx sweep: --model is required (see --help)\n");
        return 2;
    }
    mtx_sweep_opts o = mtx_sweep_opts_default();
    long dev_words = mtx_opt_int("sweep", "--dev-words", dw_s, 1, 1000000);
    long threads = mtx_opt_int("sweep", "--threads", thr_s, 1, 256);
    long sample = sample_s ? mtx_opt_int("sweep", "--sample", sample_s, 1, 10000000) : 0;
    long speed_words = mtx_opt_int("sweep", "--speed-words", sw_s, 1, 10000000);
    long passes = mtx_opt_int("sweep", "--speed-passes", sp_s, 1, 100);
    if (parse_strategy("sweep", strat_s, &o.strategy) || dev_words < 0 || threads < 0 || sample < 0 ||
        speed_words < 0 || passes < 0)
        return 2;
    if (strcmp(split, "dev") && strcmp(split, "test")) {
        fprintf(stderr, "modtx sweep: --split must be dev or test\n");
        return 2;
    }
    o.dev_words = (int)dev_words;
    o.sample_words = (int)sample;
    o.speed_words = (int)speed_words;
    o.speed_passes = (int)passes;
    o.pruned_search = !no_pruned;
    o.progress = json ? NULL : sweep_progress;
    mtx_set_threads((int)threads);
    mtx_bank_dir bd, sd[MTX_MAX_BASELINES];
    const mtx_bank *students[MTX_MAX_BASELINES];
    int ns = 0;
    if (mtx_bank_load(model, &bd)) return mtx_fail("sweep");
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    mtx_train_config t;
    mtx_status st = mtx_bundle_train_config(&bd.teacher, model, &t);
    if (!st) st = mtx_dataset_load(&d, &t, &bd.bank.teacher.cfg, model);
    if (!st && !strcmp(split, "test") && !d.has_test)
        st = mtx_set_error(MTX_ERR_ARG, "the bank's training data has no test split; use --split dev");
    char blist[4096];
    snprintf(blist, sizeof blist, "%s", baselines ? baselines : "");
    for (char *tok = strtok(blist, ","); !st && tok; tok = strtok(NULL, ",")) {
        if (ns == MTX_MAX_BASELINES) st = mtx_set_error(MTX_ERR_ARG, "at most %d baselines", MTX_MAX_BASELINES);
        else if (!(st = mtx_bank_load(tok, &sd[ns])) && !mtx_bank_same_teacher(&bd.bank, &sd[ns].bank)) {
            mtx_bank_dir_free(&sd[ns]);
            st = mtx_set_error(MTX_ERR_ARG, "%s: baseline was distilled from another teacher", tok);
        } else if (!st) {
            students[ns] = &sd[ns].bank;
            ns++;
        }
    }
    mtx_sweep_result res;
    memset(&res, 0, sizeof res);
    if (!st) st = mtx_sweep_run(&bd.bank, &d.dev, !strcmp(split, "dev") ? &d.dev : &d.test, students, ns, &o, &res);
    char dir[MTX_PATH_MAX], csv[MTX_PATH_MAX], svg[MTX_PATH_MAX], *text = NULL, *js = NULL;
    if (!st) st = out ? mtx_path_join(dir, sizeof dir, out, "") : mtx_path_join(dir, sizeof dir, model, "sweep");
    if (!st) st = write_reports(dir, split, &res, &text, csv, svg);
    if (!st && json) st = mtx_report_json(res.rows, res.n, &js);
    if (!st && json) fputs(js, stdout);
    else if (!st) printf("%stable: %s\nplot:  %s\n", text, csv, svg);
    free(text);
    free(js);
    mtx_sweep_result_free(&res);
    for (int i = 0; i < ns; i++) mtx_bank_dir_free(&sd[i]);
    mtx_dataset_free(&d);
    mtx_bank_dir_free(&bd);
    return st ? mtx_fail("sweep") : 0;
}
