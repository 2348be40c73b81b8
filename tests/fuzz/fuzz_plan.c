/* fuzz_plan.c - libFuzzer target for the plan parser against a fixed valid
 * tiny image built in memory (tests/format_fixture.h): any bytes, never a
 * crash, a leak or undefined behaviour (make fuzz). A plan that parses must
 * encode back to exactly the input bytes, and its tiling and cost must run.
 * Seeds (tests/fuzz/fuzz_seed.c) are valid plans, so the fuzzer starts
 * from inputs that pass every check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *g_img;
static uint64_t g_bytes;
static mtx_image g_im;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_img && (fixture_image(&g_img, &g_bytes) || mtx_image_parse(&g_im, g_img, g_bytes, "fixture"))) abort();
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    mtx_plan p;
    if (mtx_plan_parse(&p, buf, size, &g_im, "fuzz") == MTX_OK) {
        uint8_t *enc;
        uint64_t n, macs, bytes;
        char tiling[256];
        if (mtx_plan_encode(&p, &enc, &n) != MTX_OK || n != size || memcmp(enc, buf, size)) abort();
        free(enc);
        mtx_plan_tiling(&p, tiling, sizeof tiling);
        mtx_plan_cost(&p, &g_im, 8, 8, &macs, &bytes);
        if (macs == 0 || bytes == 0) abort();
    }
    free(buf);
    return 0;
}
