/* cli_export.c - `modtx export`: a bank or model into an engine directory. */
#include "cli/cli.h"
#include "engine/export.h"
#include "model/gemm.h"

#include <stdio.h>
#include <string.h>

static const char export_help[] =
    "usage: modtx export --model DIR --out DIR [--calib-words N] [--plans all|none|R1,R2,...]\n"
    "                    [--tiling \"ENCODER | DECODER\"]... [--dev-words N]\n"
    "\n"
    "Quantizes a module bank (or a plain model) to int8 for the integer engines\n"
    "and writes a self-contained directory: image.bin (every teacher layer and\n"
    "module once), one plan per assembly named by its ratio (1.00x.plan,\n"
    "2.00x.plan, ...), the vocabularies and manifest.json. A bank gives one plan\n"
    "per reachable ratio (--plans all, the default) with the tiling its sweep chose\n"
    "(DIR/sweep/sweep.csv, or the sweep's search on the first N dev words when it\n"
    "is absent), or only the ratios listed; each --tiling adds a plan for that\n"
    "assembly (as `modtx assemble --tiling` takes it). A plain model gives\n"
    "1.00x.plan. Calibration runs N training words (default 256) through every\n"
    "exported assembly in fp32; one thread, so the image is reproducible.\n";

int mtx_cmd_export(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *cw_s = NULL, *plans = NULL, *dw_s = "1000";
    mtx_export_opts o;
    memset(&o, 0, sizeof o);
    char *pos[1];
    int npos = 0;
    /* --tiling may repeat: collect its values before the common parser sees the rest */
    char *rest[256];
    int nrest = 0;
    for (int i = 0; i < argc && nrest < 256; i++) {
        if (i > 0 && !strcmp(argv[i], "--tiling")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "modtx export: --tiling needs a value\n");
                return 2;
            }
            if (o.n_tilings == MTX_EXPORT_MAX_PLANS) {
                fprintf(stderr, "modtx export: at most %d --tiling options\n", MTX_EXPORT_MAX_PLANS);
                return 2;
            }
            o.tilings[o.n_tilings++] = argv[++i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--out", &out, NULL },
                             { "--calib-words", &cw_s, NULL }, { "--plans", &plans, NULL },
                             { "--dev-words", &dw_s, NULL } };
    int r = mtx_parse_opts(nrest, rest, opts, 5, export_help, pos, 0, &npos);
    if (r) return r == 1 ? 0 : 2;
    if (!model || !out) {
        fprintf(stderr, "modtx export: --model and --out are required (see --help)\n");
        return 2;
    }
    long cw = cw_s ? mtx_opt_int("export", "--calib-words", cw_s, 1, 1000000) : 0;
    long dw = mtx_opt_int("export", "--dev-words", dw_s, 1, 1000000);
    if (cw < 0 || dw < 0) return 2;
    o.model_dir = model;
    o.out_dir = out;
    o.calib_words = (int)cw;
    o.plans = plans;
    o.dev_words = (int)dw;
    mtx_set_threads(1);
    mtx_export_report rep;
    if (mtx_export(&o, &rep)) return mtx_fail("export");
    printf("exported %s to %s in %.1f s: image.bin %llu bytes (R = %u, %d calibration words over %d assemblies)\n",
           model, out, rep.seconds, (unsigned long long)rep.image_bytes, rep.res_frac, rep.calib_words,
           rep.calib_assemblies);
    for (int i = 0; i < rep.m.n_plans; i++) {
        const mtx_export_plan *p = &rep.m.plans[i];
        printf("  %-12s %5.2fx  %9.2f MMAC/word  %9.2f MB/word  %s\n", p->file, p->ratio, p->macs / 1e6,
               p->weight_bytes / 1e6, p->tiling);
    }
    return 0;
}
