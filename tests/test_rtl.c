/* test_rtl.c - the rtl backend's plumbing (host/device/backend_rtl.c): the
 * simulator looked up and reported when missing, a simulator that fails
 * reported with its exit status, and, when the simulator has been built
 * beside the test binary (make rtl-sim), a word the RTL refuses reported
 * with the engine's status. Bit-exact agreement of the RTL with the golden
 * model on real words is checked by the tb_word bench and by the
 * `modtx run --backend rtl` comparison in make rtl-test (sim/rtl.mk). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "format_fixture.h"
#include "testutil.h"

/* The fixture image, its plan of teacher layers and one word. */
typedef struct {
    uint8_t *img, *plan_bytes;
    uint64_t img_bytes, plan_len;
    mtx_image im;
    mtx_plan plan;
    int32_t in[MTX_IO_STRIDE], out[MTX_IO_STRIDE];
} rtl_fixture;

static int fixture_open(rtl_fixture *f) {
    memset(f, 0, sizeof *f);
    const uint32_t enc[2] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) }, dec[2] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) };
    if (fixture_image(&f->img, &f->img_bytes) || mtx_image_parse(&f->im, f->img, f->img_bytes, "fixture") ||
        mtx_plan_from_origins(&f->plan, &f->im, enc, 2, dec, 2, 100) ||
        mtx_plan_encode(&f->plan, &f->plan_bytes, &f->plan_len))
        return -1;
    f->in[0] = 2;
    f->in[1] = 3;
    f->in[2] = 4;
    return 0;
}

static void fixture_close(rtl_fixture *f) {
    free(f->img);
    free(f->plan_bytes);
}

/* Checked by pointing the lookup at the wrong variable once: the open succeeded. */
static void test_missing_sim(void) {
    setenv("MTX_RTL_SIM", "/nonexistent/rtl_run/sim", 1);
    mtx_device *d = NULL;
    CU_ASSERT_EQUAL(mtx_device_open(&d, "rtl", NULL), MTX_ERR_IO);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "rtl: simulator /nonexistent/rtl_run/sim not found"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "make rtl-sim"));
    unsetenv("MTX_RTL_SIM");
}

/* /bin/false stands for a simulator that crashes: exit status 1, no output. */
static void test_failing_sim(void) {
    rtl_fixture f;
    CU_ASSERT_EQUAL_FATAL(fixture_open(&f), 0);
    setenv("MTX_RTL_SIM", "/bin/false", 1);
    mtx_device *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_device_open(&d, "rtl", NULL), MTX_OK);
    CU_ASSERT_EQUAL(mtx_device_load_image(d, &f.im), MTX_OK);
    CU_ASSERT_EQUAL(mtx_device_run(d, &f.plan, f.plan_bytes, f.plan_len, f.in, 1, f.out), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "rtl: simulator exited with status 1"));
    CU_ASSERT_EQUAL(mtx_device_stats_get(d)->batches, 0);
    mtx_device_close(d);
    unsetenv("MTX_RTL_SIM");
    fixture_close(&f);
}

/* The fixture has C = 8, which the RTL refuses (C a multiple of 16, the
 * array's k step): the plan sequencer ends the batch with
 * MTX_ENG_IMAGE_DIMS (4) before any word runs. */
static void test_refused_word(void) {
    mtx_device *d = NULL;
    if (mtx_device_open(&d, "rtl", NULL)) {
        printf("skipped: no simulator beside the test binary (make rtl-sim) ");
        return;
    }
    rtl_fixture f;
    CU_ASSERT_EQUAL_FATAL(fixture_open(&f), 0);
    CU_ASSERT_EQUAL(mtx_device_load_image(d, &f.im), MTX_OK);
    CU_ASSERT_EQUAL(mtx_device_run(d, &f.plan, f.plan_bytes, f.plan_len, f.in, 1, f.out), MTX_ERR_DATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "the engine refused the batch: status 4 (image dims)"));
    CU_ASSERT(mtx_device_stats_get(d)->cycles > 0);
    mtx_device_close(d);
    fixture_close(&f);
}

void mtx_suite_rtl(void) {
    CU_pSuite s = CU_add_suite("rtl", NULL, NULL);
    CU_add_test(s, "missing simulator named with the way to build it", test_missing_sim);
    CU_add_test(s, "failing simulator reported with its exit status", test_failing_sim);
    CU_add_test(s, "refused batch reported with the engine status", test_refused_word);
}
