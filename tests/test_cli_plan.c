/* test_cli_plan.c - `modtx plan show` on the tiny fixture image: exact
 * lines for a known plan, the default and explicit --image, one-line errors
 * (exit 1) and usage errors (exit 2). Checked against host/cli/cli_plan.c by
 * printing the per-word totals from the wrong lengths once (S=T=7): the
 * totals line failed. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "format/card.h"
#include "format_fixture.h"

/* Writes the fixture image as dir/image.bin and the plan "t0 t1 | m2.0"
 * (ratio 1.33) as dir/x.plan, in g_dir. */
static int write_fixture(void) {
    uint8_t *img, *b;
    uint64_t n, pn;
    mtx_image im;
    mtx_plan p;
    const uint32_t enc[] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) }, dec[] = { MTX_ORIGIN(2, 0) };
    if (fixture_image(&img, &n) || mtx_image_parse(&im, img, n, "fixture")) return 0;
    int ok = !mtx_plan_from_origins(&p, &im, enc, 2, dec, 1, 133) && !mtx_plan_encode(&p, &b, &pn);
    if (ok) {
        ok = !mtx_write_file_atomic(tmp_path("image.bin", 0), img, n) &&
             !mtx_write_file_atomic(tmp_path("x.plan", 0), b, pn);
        free(b);
    }
    /* the same image with one section byte changed: another identity */
    img[3000] ^= 1;
    fixture_recrc(img, n);
    ok = ok && !mtx_write_file_atomic(tmp_path("other.bin", 0), img, n);
    free(img);
    return ok;
}

/* Totals, hand-computed in tests/test_plan.c (test_cost): 18368 MACs and
 * 12592 bytes per word at S = T = 8; rows: encoder layers 5120 MACs each,
 * the m2.0 decoder layer 7744, the lm_head 6 * 8 * 8 = 384. */
static void test_plan_show(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(write_fixture());
    char plan[PATH_MAX], other[PATH_MAX];
    snprintf(plan, sizeof plan, "%s", tmp_path("x.plan", 0));
    snprintf(other, sizeof other, "%s", tmp_path("other.bin", 0));
    run_result r = RUN("plan", "show", plan);
    if (r.status != 0) show("plan show", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has(r.out, "\nratio:   1.33x\n"));
    CU_ASSERT(has(r.out, "\ntiling:  t0 t1 | m2.0\n"));
    CU_ASSERT(has(r.out, "image.bin (crc32 0x"));
    CU_ASSERT(has(r.out, ", 9272 bytes)\n"));
    CU_ASSERT(has(r.out, "\nlayers:  2 encoder + 1 decoder, for a teacher of 2 + 2\n"));
    CU_ASSERT(has(r.out, "nominal lengths S=8 source characters, T=8 decoding steps"));
    CU_ASSERT(has(r.out, "\n    0  enc    t0          1         512        328      1          5120\n"));
    CU_ASSERT(has(r.out, "\n    1  enc    t1          1         512        328      1          5120\n"));
    CU_ASSERT(has(r.out, "\n    2  dec    m2.0        2         768        520      8          7744\n"));
    CU_ASSERT(has(r.out, "\n    -  dec    lm_head     -          48         28      8           384\n"));
    CU_ASSERT(has(r.out, "\ntotal per word: 18368 MACs, 12592 bytes of weights and constants read\n"));
    CU_ASSERT_EQUAL(lines_of(r.out), 12);
    run_free(&r);

    /* an explicit --image that is another image: one line, exit 1 */
    r = RUN("plan", "show", plan, "--image", other);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(one_line(r.err) && has(r.err, "modtx plan show: ") && has(r.err, "plan is for another image"));
    CU_ASSERT(r.out[0] == 0);
    run_free(&r);
    /* the image given as the plan: not a plan */
    r = RUN("plan", "show", other, "--image", tmp_path("image.bin", 0));
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(one_line(r.err) && has(r.err, "magic: not a modtx plan"));
    run_free(&r);
    /* no image.bin beside the plan */
    r = RUN("plan", "show", "/nonexistent-dir/x.plan");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(one_line(r.err) && has(r.err, "/nonexistent-dir/image.bin"));
    run_free(&r);
    /* usage errors: exit 2 */
    r = RUN("plan");
    CU_ASSERT_EQUAL(r.status, 2);
    run_free(&r);
    r = RUN("plan", "frob");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(one_line(r.err) && has(r.err, "unknown subcommand 'frob'"));
    run_free(&r);
    r = RUN("plan", "show");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(one_line(r.err) && has(r.err, "one plan FILE is required"));
    run_free(&r);
    r = RUN("plan", "show", plan, "--bogus");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(one_line(r.err) && has(r.err, "modtx plan show: unknown option '--bogus'"));
    run_free(&r);
    r = RUN("plan", "show", "--help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has(r.out, "usage: modtx plan show FILE [--image IMAGE]"));
    run_free(&r);
    r = RUN("--help");
    CU_ASSERT(has(r.out, "  plan "));
    run_free(&r);
}

/* --card after the plan lines: the kernel's cycles at the nominal lengths
 * capped at the fixture's Ps = Pt = 4 (no manifest.json beside it), the per-word line equal to
 * mtx_card_cycles' (hand-checked in tests/test_card.c) on the fixture's
 * dimensions; a corrupt manifest.json is a one-line error. */
static void test_plan_show_card(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(write_fixture());
    char plan[PATH_MAX], want[256];
    snprintf(plan, sizeof plan, "%s", tmp_path("x.plan", 0));
    uint8_t *img;
    uint64_t n;
    mtx_image im;
    mtx_card_cost c;
    CU_ASSERT_FATAL(fixture_image(&img, &n) == 0 && mtx_image_parse(&im, img, n, "fixture") == MTX_OK);
    CU_ASSERT_FATAL(mtx_card_cycles(&im.dims, 2, 1, 4, 4, &c) == MTX_OK);
    free(img);
    CU_ASSERT(c.cycles < c.load + c.compute);
    run_result r = RUN("plan", "show", plan, "--card");
    if (r.status != 0) show("plan show --card", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has(r.out, "\ntotal per word: 18368 MACs, 12592 bytes of weights and constants read\n"));
    CU_ASSERT(has(r.out, "\ncard: hls/ kernel, 16x16 tile, II 1, fill 8, 300 MHz; S=4, T=4 (nominal)\n"));
    snprintf(want, sizeof want, "\n  per word: load %llu, compute %llu, in sequence %llu, overlapped %llu cycles\n",
             (unsigned long long)c.load, (unsigned long long)c.compute, (unsigned long long)(c.load + c.compute),
             (unsigned long long)c.cycles);
    CU_ASSERT(has(r.out, want));
    CU_ASSERT(has(r.out, "  words/s at 300 MHz: "));
    CU_ASSERT_EQUAL(lines_of(r.out), 12 + 6);
    run_free(&r);
    CU_ASSERT_FATAL(mtx_write_file_atomic(tmp_path("manifest.json", 0), "{", 1) == MTX_OK);
    r = RUN("plan", "show", plan, "--card");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(one_line(r.err) && has(r.err, "modtx plan show: ") && has(r.err, "manifest.json"));
    run_free(&r);
    remove(tmp_path("manifest.json", 0));
}

void mtx_suite_cli_plan(void) {
    CU_pSuite s = CU_add_suite("cli_plan", cli_suite_init, cli_suite_clean);
    CU_add_test(s, "plan show: exact lines for a known plan, errors, usage", test_plan_show);
    CU_add_test(s, "plan show --card: the kernel's cycles, nominal lengths, bad manifest", test_plan_show_card);
}
