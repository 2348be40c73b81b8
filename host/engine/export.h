/* export.h - `modtx export`: a bank (or a plain model) into a self-contained
 * directory for the integer engines: image.bin (every layer once), one plan
 * per assembly ("%.2fx.plan"), the vocabularies and manifest.json (format
 * version, source model, data provenance, and per plan its file, ratio,
 * tiling, MACs and weight bytes per word). Every file is written atomically.
 *
 * Plans of a bank: one per reachable ratio with the tiling its sweep chose
 * (BANK/sweep/sweep.csv when present, else the sweep's own search on the
 * first dev words), or only the ratios listed, plus one per given tiling. A
 * plain model gives 1.00x.plan. */
#ifndef MTX_EXPORT_H
#define MTX_EXPORT_H

#include "engine/quant.h"
#include "model/config.h"

#define MTX_MANIFEST_VERSION 1
#define MTX_EXPORT_MAX_PLANS 64

typedef struct {
    const char *model_dir, *out_dir;
    int calib_words;
    const char *plans;            /* NULL or "all": every reachable ratio; "none"; or "1.50,2.00" */
    const char *tilings[MTX_EXPORT_MAX_PLANS]; /* "ENC | DEC", as `modtx assemble --tiling` takes */
    int n_tilings;
    int dev_words;                /* search without a sweep.csv (default 1000) */
} mtx_export_opts;

typedef struct {
    char file[64];
    double ratio;
    char tiling[512];
    uint64_t macs, weight_bytes; /* per word at the dev split's mean lengths */
} mtx_export_plan;

/* What an export directory describes (manifest.json). */
typedef struct {
    int format_version;
    char source[MTX_PATH_MAX];     /* the model or bank exported (absolute) */
    mtx_train_config data;         /* its data provenance: the files and the split rule */
    int cost_src_len, cost_tgt_steps;
    int n_plans;
    mtx_export_plan plans[MTX_EXPORT_MAX_PLANS];
} mtx_manifest;

typedef struct {
    mtx_manifest m;
    uint64_t image_bytes;
    uint32_t res_frac;
    int calib_words, calib_assemblies;
    double seconds;
} mtx_export_report;

mtx_status mtx_export(const mtx_export_opts *o, mtx_export_report *r);

/* Reads DIR/manifest.json (every field checked). */
mtx_status mtx_manifest_load(const char *dir, mtx_manifest *m);

#endif
