/* cli_plan.c - `modtx plan show`: what a reconfiguration plan runs (ratio,
 * tiling, the image it is for) and the work of each of its layers per word
 * at nominal lengths; with --card, the HLS kernel's cycles (format/card.h).
 * Reads the image to validate the plan against it. */
#include "cli/cli.h"
#include "core/mtx.h"
#include "engine/export.h"
#include "format/card.h"
#include "format/plan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Nominal word: source characters and decoding steps (CMUdict words average
 * about 7.5 letters and as many phonemes plus </s>). */
enum { NOMINAL_S = 8, NOMINAL_T = 8 };

static const char plan_help[] =
    "usage: modtx plan show FILE [--image IMAGE] [--card]\n"
    "\n"
    "Validates the plan FILE against its weight image (default: image.bin in\n"
    "FILE's folder) and prints its compression ratio, its tiling (\"ENCODER |\n"
    "DECODER\": tJ teacher layer J, mG.J module J of granularity G), the image's\n"
    "identity, and per layer its origin, span, weight and constant bytes in the\n"
    "image, reads per word and int8 MACs per word, then the totals per word at\n"
    "the nominal lengths of 8 source characters and 8 decoding steps (decoder\n"
    "layers and the lm_head are read once per step). Formats: docs/formats.md.\n"
    "\n"
    "--card adds the cycles of the HLS kernel (hls/, docs/hls.md \"Cost model\")\n"
    "at its default 16 x 16 tile: load and compute cycles of an encoder layer, a\n"
    "decoder layer step and a cross K/V projection, per word the loads, the\n"
    "compute, both in sequence and overlapped as the kernel's prefetch runs\n"
    "them, and the projected words/s at 300 MHz; at the lengths of manifest.json\n"
    "in FILE's folder (the dev split's means) when there is one, else nominal\n"
    "(at most the image's maximum lengths).\n";

static void origin_name(uint32_t origin, char *buf, size_t cap) {
    uint32_t g = MTX_ORIGIN_G(origin), j = MTX_ORIGIN_J(origin);
    if (g == 1) snprintf(buf, cap, "t%u", j);
    else snprintf(buf, cap, "m%u.%u", g, j);
}

static void print_plan(const char *plan_path, const char *image_path, const mtx_plan *p, const mtx_image *im) {
    char tiling[512];
    mtx_plan_tiling(p, tiling, sizeof tiling);
    printf("plan:    %s\n", plan_path);
    printf("image:   %s (crc32 0x%08x, %llu bytes)\n", image_path, im->crc, (unsigned long long)im->bytes);
    printf("ratio:   %u.%02ux\n", p->ratio_x100 / 100, p->ratio_x100 % 100);
    printf("tiling:  %s\n", tiling);
    printf("layers:  %d encoder + %d decoder, for a teacher of %u + %u\n", p->n_enc, p->n_dec, im->dims.n_enc,
           im->dims.n_dec);
    printf("work per word at nominal lengths S=%d source characters, T=%d decoding steps:\n", NOMINAL_S, NOMINAL_T);
    printf("%5s  %-5s  %-7s  %4s  %10s  %9s  %5s  %12s\n", "layer", "stack", "origin", "span", "weight B", "const B",
           "reads", "MACs/word");
    uint64_t layer_macs = 0;
    for (int i = 0; i < p->n_enc + p->n_dec; i++) {
        const mtx_plan_desc *d = i < p->n_enc ? &p->enc[i] : &p->dec[i - p->n_enc];
        uint64_t m, b;
        char o[16];
        mtx_plan_layer_cost(d, NOMINAL_S, NOMINAL_T, &m, &b);
        origin_name(d->origin, o, sizeof o);
        printf("%5d  %-5s  %-7s  %4u  %10llu  %9llu  %5d  %12llu\n", i, d->kind == MTX_KIND_ENC ? "enc" : "dec", o,
               d->span, (unsigned long long)d->w_bytes, (unsigned long long)d->k_bytes,
               d->kind == MTX_KIND_ENC ? 1 : NOMINAL_T, (unsigned long long)m);
        layer_macs += m;
    }
    uint64_t macs, bytes;
    mtx_plan_cost(p, im, NOMINAL_S, NOMINAL_T, &macs, &bytes);
    uint64_t head_w = (uint64_t)im->dims.Vt * im->dims.C, head_k = 4ull * MTX_REQ_WORDS((uint64_t)im->dims.Vt);
    printf("%5s  %-5s  %-7s  %4s  %10llu  %9llu  %5d  %12llu\n", "-", "dec", "lm_head", "-", (unsigned long long)head_w,
           (unsigned long long)head_k, NOMINAL_T, (unsigned long long)(macs - layer_macs));
    printf("total per word: %llu MACs, %llu bytes of weights and constants read\n", (unsigned long long)macs,
           (unsigned long long)bytes);
}

/* The kernel's cycles for plan p at S characters, T steps (--card). */
static mtx_status print_card(const mtx_plan *p, const mtx_image *im, int S, int T, const char *lengths_from) {
    mtx_card_cost c;
    mtx_status st = mtx_card_cycles(&im->dims, p->n_enc, p->n_dec, S, T, &c);
    if (st) return st;
    const double hz = MTX_CARD_MHZ * 1e6;
    printf("card: hls/ kernel, %dx%d tile, II 1, fill %d, %d MHz; S=%d, T=%d (%s)\n", MTX_PE_ROWS, MTX_PE_COLS,
           MTX_CARD_FILL, MTX_CARD_MHZ, S, T, lengths_from);
    char dec[48];
    snprintf(dec, sizeof dec, "decoder layer, step t=%d:", T / 2);
    printf("  %-26s load %8llu  compute %8llu cycles\n", "encoder layer:", (unsigned long long)c.enc_load,
           (unsigned long long)c.enc_compute);
    printf("  %-26s load %8llu  compute %8llu cycles\n", dec, (unsigned long long)c.dec_load,
           (unsigned long long)c.dec_compute);
    printf("  %-26s load %8llu  compute %8llu cycles\n", "cross K/V, decoder layer:", (unsigned long long)c.ckv_load,
           (unsigned long long)c.ckv_compute);
    printf("  per word: load %llu, compute %llu, in sequence %llu, overlapped %llu cycles\n",
           (unsigned long long)c.load, (unsigned long long)c.compute, (unsigned long long)(c.load + c.compute),
           (unsigned long long)c.cycles);
    printf("  words/s at %d MHz: %.0f overlapped, %.0f in sequence, %.0f compute only\n", MTX_CARD_MHZ,
           hz / (double)c.cycles, hz / (double)(c.load + c.compute), hz / (double)c.compute);
    return MTX_OK;
}

/* S and T of --card: the manifest's in dir, or the nominal lengths (at
 * most the image's Ps and Pt). */
static mtx_status card_lengths(const char *dir, const mtx_image *im, int *S, int *T, const char **from) {
    char path[4096];
    int w = snprintf(path, sizeof path, "%s/manifest.json", dir);
    *S = NOMINAL_S < (int)im->dims.Ps ? NOMINAL_S : (int)im->dims.Ps;
    *T = NOMINAL_T < (int)im->dims.Pt ? NOMINAL_T : (int)im->dims.Pt;
    *from = "nominal";
    if (w < 0 || w >= (int)sizeof path || access(path, F_OK) != 0) return MTX_OK;
    mtx_manifest m;
    mtx_status st = mtx_manifest_load(dir, &m);
    if (st) return st;
    *S = m.cost_src_len, *T = m.cost_tgt_steps, *from = "manifest.json: the dev split's means";
    return MTX_OK;
}

static int plan_show(int argc, char **argv) {
    const char *image = NULL;
    char *pos[1];
    int npos = 0, card = 0;
    const mtx_opt opts[] = { { "--image", &image, NULL }, { "--card", NULL, &card } };
    int r = mtx_parse_opts(argc, argv, opts, 2, plan_help, pos, 1, &npos);
    if (r) return r == 1 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "modtx plan show: one plan FILE is required (see --help)\n");
        return 2;
    }
    const char *plan_path = pos[0];
    char def[4096];
    if (!image) {
        const char *slash = strrchr(plan_path, '/');
        int w = slash ? snprintf(def, sizeof def, "%.*s/image.bin", (int)(slash - plan_path), plan_path)
                      : snprintf(def, sizeof def, "image.bin");
        if (w < 0 || w >= (int)sizeof def) {
            fprintf(stderr, "modtx plan show: path too long: %s\n", plan_path);
            return 2;
        }
        image = def;
    }
    uint8_t *img = NULL, *pd = NULL;
    uint64_t img_bytes, pbytes;
    mtx_image im;
    mtx_plan p;
    if (mtx_image_load(image, &img, &img_bytes, &im)) return mtx_fail("plan show");
    if (mtx_plan_load(plan_path, &im, &p, &pd, &pbytes)) {
        free(img);
        return mtx_fail("plan show");
    }
    print_plan(plan_path, image, &p, &im);
    mtx_status st = MTX_OK;
    if (card) {
        const char *slash = strrchr(plan_path, '/'), *from;
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - plan_path) : 1, slash ? plan_path : ".");
        int S, T;
        st = card_lengths(dir, &im, &S, &T, &from);
        if (!st) st = print_card(&p, &im, S, T, from);
    }
    free(pd);
    free(img);
    return st ? mtx_fail("plan show") : 0;
}

int mtx_cmd_plan(int argc, char **argv) {
    if (argc < 2) {
        fputs(plan_help, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(plan_help, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "show")) {
        argv[1] = "plan show"; /* the name option errors print */
        return plan_show(argc - 1, argv + 1);
    }
    fprintf(stderr, "modtx plan: unknown subcommand '%s' (modtx plan --help)\n", argv[1]);
    return 2;
}
