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
#include <unistd.h>

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

/* The plan "t0 t1 | m2.0" encoded; edit() changes it; parsed against the fixture. */
static int refused_with(void (*edit)(uint8_t *b, uint64_t *n), const char *needle) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 };
    mtx_plan p, q;
    uint8_t *b, *big;
    uint64_t n;
    if (mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) || mtx_plan_encode(&p, &b, &n)) return 0;
    big = calloc(1, 1024); /* room for edits that grow the plan */
    memcpy(big, b, n);
    free(b);
    edit(big, &n);
    mtx_status s = mtx_plan_parse(&q, big, n, &g_im, "bad.plan");
    int ok = s == MTX_ERR_FORMAT && strstr(mtx_last_error(), needle) && strstr(mtx_last_error(), "bad.plan: ") &&
             !strchr(mtx_last_error(), '\n');
    if (!ok) fprintf(stderr, "\nexpected '%s', got status %d: %s\n", needle, s, s ? mtx_last_error() : "ok");
    free(big);
    return ok;
}

/* Descriptor i (0, 1 encoder; 2 decoder) of the edited plan. */
static uint8_t *desc(uint8_t *b, int i) { return b + 64 + 64 * i; }
static void magic(uint8_t *b, uint64_t *n) { (void)n; b[7] = 'X'; }
static void future(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 8, 7); }
static void version0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 8, 0); }
static void hdr_bytes(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 12, 128); }
static void desc_bytes(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 20, 32); }
static void stub(uint8_t *b, uint64_t *n) { (void)b; *n = 63; }
static void truncated(uint8_t *b, uint64_t *n) { (void)b; *n -= 1; }
static void trailing(uint8_t *b, uint64_t *n) { (void)b; *n += 64; }
static void reserved(uint8_t *b, uint64_t *n) { (void)n; b[50] = 1; }
static void desc_reserved(uint8_t *b, uint64_t *n) { (void)n; desc(b, 2)[60] = 1; }
static void other_crc(uint8_t *b, uint64_t *n) { (void)n; b[16] ^= 1; }
static void other_size(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(b + 24, 9272 + 64); }
static void n_enc0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 36, 0); }
static void n_dec_absurd(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 40, 0x7fffffffu); }
static void n_dec13(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 40, 13); }
static void n_dec2(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 40, 2); }
static void kind(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(desc(b, 2), MTX_KIND_ENC); }
static void kind3(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(desc(b, 0), 3); }
static void dims(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(desc(b, 1) + 16, 32); }
static void span(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(desc(b, 2) + 20, 1); }
static void origin(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(desc(b, 0) + 4, MTX_ORIGIN(5, 0)); }
static void w_past_end(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 0) + 24, 9280); }
static void w_wrap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 0) + 24, 0xffffffffffffffc0ull); }
static void k_len_wrap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 2) + 48, 0xffffffffffffffc0ull); }
static void w_misaligned(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 1) + 24, 2944 + 32); }
static void w_zero(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 1) + 32, 0); }
static void k_len(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 2) + 48, 512); }
/* encoder t0 pointed at t1's weights: aligned, inside, right length, wrong section */
static void w_other(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(desc(b, 0) + 24, 2944); }

static void test_refusals(void) {
    CU_ASSERT(refused_with(magic, "magic: not a modtx plan"));
    CU_ASSERT(refused_with(future, "version: 7 is newer than this build reads"));
    CU_ASSERT(refused_with(version0, "version: 0 is not a known version"));
    CU_ASSERT(refused_with(hdr_bytes, "header_bytes: 128, expected 64"));
    CU_ASSERT(refused_with(desc_bytes, "desc_bytes: 32, expected 64"));
    CU_ASSERT(refused_with(stub, "header: truncated file: 63 bytes"));
    CU_ASSERT(refused_with(truncated, "descriptors: truncated file: 255 bytes, 2 + 1 descriptors need 256"));
    CU_ASSERT(refused_with(trailing, "need 256 (trailing bytes)"));
    CU_ASSERT(refused_with(reserved, "reserved: header byte 50 is not zero"));
    CU_ASSERT(refused_with(desc_reserved, "decoder[0].reserved: byte 60 is not zero"));
    CU_ASSERT(refused_with(other_crc, "image: plan is for another image"));
    CU_ASSERT(refused_with(other_size, "plan is for another image (crc"));
    CU_ASSERT(refused_with(n_enc0, "n_enc: 0 layers is outside [1, 12]"));
    CU_ASSERT(refused_with(n_dec_absurd, "n_dec: 2147483647 layers is outside [1, 12]"));
    CU_ASSERT(refused_with(n_dec13, "n_dec: 13 layers is outside [1, 12]"));
    CU_ASSERT(refused_with(n_dec2, "truncated file: 256 bytes, 2 + 2 descriptors need 320"));
    CU_ASSERT(refused_with(kind, "decoder[0].kind: 1, an decoder layer must be 2"));
    CU_ASSERT(refused_with(kind3, "encoder[0].kind: 3"));
    CU_ASSERT(refused_with(dims, "encoder[1].dims: C 8 H 2 F 32, the image has C 8 H 2 F 16"));
    CU_ASSERT(refused_with(span, "decoder[0].span: 1, origin 0x200 replaces 2 layers"));
    CU_ASSERT(refused_with(origin, "encoder[0].origin: 0x500 is no teacher layer or module"));
    CU_ASSERT(refused_with(w_past_end, "encoder[0].weights: offset 9280 + 512 bytes is outside the 9272-byte image"));
    CU_ASSERT(refused_with(w_wrap, "encoder[0].weights: offset 18446744073709551552 + 512 bytes is outside"));
    CU_ASSERT(refused_with(k_len_wrap, "decoder[0].consts: offset 8192 + 18446744073709551552 bytes is outside"));
    CU_ASSERT(refused_with(w_misaligned, "encoder[1].weights: offset 2976 is not 64-byte aligned"));
    CU_ASSERT(refused_with(w_zero, "encoder[1].weights: zero length"));
    CU_ASSERT(refused_with(k_len, "decoder[0].consts: length 512, the dimensions imply 520"));
    CU_ASSERT(refused_with(w_other, "encoder[0].weights: offset 2944 is not the image's section for origin 0x100"));
}

/* Struct-level refusals, through mtx_plan_from_origins: spans that do not
 * add up to the teacher, a tiling out of order, an origin not in the image. */
static void test_from_origins_refusals(void) {
    mtx_plan p;
    const uint32_t t0[] = { T0 }, t1t0[] = { T1, T0 }, m20[] = { M20 }, m20t0[] = { M20, T0 }, m21[] = { MTX_ORIGIN(2, 1) };
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, t0, 1, m20, 1, 100) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "plan: encoder: spans sum to 1, the image's teacher has 2 layers") != NULL);
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, m20, 1, m20t0, 2, 100) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "plan: decoder[1].origin: covers teacher layers from 0, expected 2") != NULL);
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, t1t0, 2, m20, 1, 100) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "encoder[0].origin: covers teacher layers from 1, expected 0") != NULL);
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, m20, 1, m21, 1, 100) == MTX_ERR_ARG);
    CU_ASSERT(strstr(mtx_last_error(), "plan: decoder layer 0: origin 0x201 is not in the image") != NULL);
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, m20, 0, m20, 1, 100) == MTX_ERR_ARG);
    CU_ASSERT(mtx_plan_from_origins(&p, &g_im, m20, 1, m20, 13, 100) == MTX_ERR_ARG);
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 5000 mutations of 1 to 4 random bytes of the plan "t0 t1 | m2.0": every
 * field but ratio_x100 (bytes 32..35, informational) is checked, so a mutant
 * parses exactly when all its changes are inside the ratio field. */
static void test_mutations(void) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 };
    mtx_plan p, q;
    uint8_t *b, m[256];
    uint64_t n;
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) == MTX_OK);
    CU_ASSERT_FATAL(mtx_plan_encode(&p, &b, &n) == MTX_OK && n == 256);
    uint64_t seed = 0x243f6a8885a308d3ull;
    int wrong = 0;
    for (int it = 0; it < 5000; it++) {
        memcpy(m, b, n);
        int k = 1 + (int)(rng_next(&seed) % 4), outside_ratio = 0;
        for (int i = 0; i < k; i++) {
            /* half the mutations inside the header, where the rarer fields are */
            uint64_t r = rng_next(&seed), pos = (r & 1) ? (r >> 1) % 64 : (r >> 1) % n;
            m[pos] ^= (uint8_t)(rng_next(&seed) | 1);
        }
        for (uint64_t i = 0; i < n; i++) outside_ratio |= m[i] != b[i] && (i < 32 || i >= 36);
        uint64_t len = n - (rng_next(&seed) % 16 == 0 ? 1 + rng_next(&seed) % 200 : 0);
        mtx_status s = mtx_plan_parse(&q, m, len, &g_im, "mutant");
        if ((s == MTX_OK) == (outside_ratio || len != n)) wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    free(b);
}

/* Work per word, hand-computed for C 8, F 16, Vt 6 at S = T = 8:
 * encoder layer S(4C^2 + 2CF) + 2S^2 C = 8(256 + 256) + 1024 = 5120 MACs;
 * decoder layer T(6C^2 + 2CF) + CT(T+1) + 2CST + 2C^2 S
 *   = 5120 + 576 + 1024 + 1024 = 7744; lm_head Vt C T = 384.
 * "t0 t1 | m2.0": 2 * 5120 + 7744 + 384 = 18368 MACs.
 * Bytes: encoder layer 512 + 328 = 840 once; decoder layer 768 + 520 = 1288
 * per step; lm_head 48 + record 28 = 76 per step:
 * 2 * 840 + 8 * 1288 + 8 * 76 = 12592. */
static void test_cost(void) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 }, dec2[] = { T0, T1 };
    mtx_plan p;
    uint64_t macs, bytes;
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) == MTX_OK);
    mtx_plan_cost(&p, &g_im, 8, 8, &macs, &bytes);
    CU_ASSERT_EQUAL(macs, 18368);
    CU_ASSERT_EQUAL(bytes, 12592);
    mtx_plan_layer_cost(&p.dec[0], 8, 8, &macs, &bytes);
    CU_ASSERT_EQUAL(macs, 7744);
    CU_ASSERT_EQUAL(bytes, 8 * 1288);
    /* the teacher plan at S = 5, T = 3, counted here GEMM by GEMM with loops */
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec2, 2, 100) == MTX_OK);
    const uint64_t C = 8, F = 16, V = 6, S = 5, T = 3;
    uint64_t want = 0;
    for (int l = 0; l < 2; l++) {
        for (uint64_t pos = 0; pos < S; pos++) want += 3 * C * C + C * C + F * C + C * F; /* qkv o wi wo */
        for (uint64_t q = 0; q < S; q++) want += 2 * S * C;                               /* scores, p.v */
    }
    for (int l = 0; l < 2; l++) {
        want += S * 2 * C * C; /* cross K/V once per word */
        for (uint64_t t = 0; t < T; t++)
            want += 3 * C * C + C * C + C * C + C * C + F * C + C * F + 2 * (t + 1) * C + 2 * S * C;
    }
    want += T * V * C;
    mtx_plan_cost(&p, &g_im, 5, 3, &macs, &bytes);
    CU_ASSERT_EQUAL(macs, want);
    CU_ASSERT_EQUAL(bytes, 2 * 840 + 2 * 3 * 1288 + 3 * 76);
}

static void test_tiling(void) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 };
    mtx_plan p;
    char buf[64];
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) == MTX_OK);
    mtx_plan_tiling(&p, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "t0 t1 | m2.0");
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, dec, 1, enc, 2, 133) == MTX_OK);
    mtx_plan_tiling(&p, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "m2.0 | t0 t1");
    memset(buf, 'x', sizeof buf);
    mtx_plan_tiling(&p, buf, 6); /* truncated, NUL-terminated, nothing past cap */
    CU_ASSERT_STRING_EQUAL(buf, "m2.0 ");
    CU_ASSERT_EQUAL(buf[6], 'x');
}

static void test_load(void) {
    const uint32_t enc[] = { T0, T1 }, dec[] = { M20 };
    mtx_plan p, q;
    uint8_t *b, *data;
    uint64_t n, got;
    CU_ASSERT_FATAL(mtx_plan_from_origins(&p, &g_im, enc, 2, dec, 1, 133) == MTX_OK);
    CU_ASSERT_FATAL(mtx_plan_encode(&p, &b, &n) == MTX_OK);
    char path[] = "/tmp/mtx_plan_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CU_ASSERT_FATAL(f && fwrite(b, 1, n, f) == n);
    fclose(f);
    CU_ASSERT_FATAL(mtx_plan_load(path, &g_im, &q, &data, &got) == MTX_OK);
    CU_ASSERT(got == n && memcmp(data, b, n) == 0 && same_plan(&p, &q));
    free(data);
    /* the same plan against another image (one section byte changed: new crc) */
    uint8_t *img2 = malloc(g_img_bytes);
    memcpy(img2, g_img, g_img_bytes);
    img2[3000] ^= 1;
    fixture_recrc(img2, g_img_bytes);
    mtx_image im2;
    CU_ASSERT_FATAL(mtx_image_parse(&im2, img2, g_img_bytes, "other") == MTX_OK);
    CU_ASSERT(mtx_plan_load(path, &im2, &q, &data, &got) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), path) && strstr(mtx_last_error(), "plan is for another image"));
    CU_ASSERT(data == NULL);
    remove(path);
    free(img2);
    free(b);
}

void mtx_suite_plan(void) {
    CU_pSuite s = CU_add_suite("plan", plan_init, plan_clean);
    CU_add_test(s, "from origins -> encode -> parse: equal plan", test_round_trip);
    CU_add_test(s, "each hostile kind refused with its own message", test_refusals);
    CU_add_test(s, "span sums, tiling order and absent origins refused", test_from_origins_refusals);
    CU_add_test(s, "5000 seeded mutations: refused unless only the ratio changed", test_mutations);
    CU_add_test(s, "MACs and bytes per word against hand and loop counts", test_cost);
    CU_add_test(s, "tiling in the sweep's notation, truncation safe", test_tiling);
    CU_add_test(s, "load from a file; against another image", test_load);
}
