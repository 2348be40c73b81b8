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

/* Parses a copy of the fixture edited by edit(); with recrc the CRC is
 * rewritten first, so the check under test (not the CRC) must refuse it. */
static int refused_with(void (*edit)(uint8_t *img, uint64_t *n), int recrc, const char *needle) {
    uint8_t *img;
    uint64_t n;
    if (fixture_image(&img, &n)) return 0;
    edit(img, &n);
    if (recrc && n >= 32 && n <= 9272) fixture_recrc(img, n);
    mtx_image im;
    mtx_status s = mtx_image_parse(&im, img, n, "bad.bin");
    int ok = s == MTX_ERR_FORMAT && strstr(mtx_last_error(), needle) && strstr(mtx_last_error(), "bad.bin: ") &&
             !strchr(mtx_last_error(), '\n');
    if (!ok) fprintf(stderr, "\nexpected '%s', got status %d: %s\n", needle, s, s ? mtx_last_error() : "ok");
    free(img);
    return ok;
}

/* TOC entry 1 is src_pos (offset 320, 128 bytes); entry 9 enc_weights t0. */
static void magic(uint8_t *b, uint64_t *n) { (void)n; b[0] = 'X'; }
static void future(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 8, 2); }
static void version0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 8, 0); }
static void hdr_bytes(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + 12, 64); }
static void truncated(uint8_t *b, uint64_t *n) { (void)b; *n -= 1; }
static void stub(uint8_t *b, uint64_t *n) { (void)b; *n = 100; }
static void trailing(uint8_t *b, uint64_t *n) { mtx_put_le64(b + 16, *n - 1); }
static void huge(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(b + 16, 0x40000001ull); }
static void flip(uint8_t *b, uint64_t *n) { (void)n; b[5000] ^= 0x10; }
static void reserved(uint8_t *b, uint64_t *n) { (void)n; b[100] = 1; }
static void dmodel(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_D_MODEL, 1024); }
static void dff0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_D_FF, 0); }
static void heads3(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_HEADS, 3); }
static void headdim(uint8_t *b, uint64_t *n) {
    (void)n;
    mtx_put_le32(b + MTX_IH_D_MODEL, 512);
    mtx_put_le32(b + MTX_IH_HEADS, 2);
}
static void vocab(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_TGT_VOCAB, 257); }
static void layers0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_ENC_LAYERS, 0); }
static void layers_absurd(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_DEC_LAYERS, 0xffffffffu); }
static void eos(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_EOS, 6); }
static void resfrac(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_RES_FRAC, 25); }
static void toc0(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_TOC_COUNT, 0); }
static void toc_many(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(b + MTX_IH_TOC_COUNT, 22); }
static void toc_mis(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(b + MTX_IH_TOC_OFFSET, 8768 + 8); }
static void toc_wrap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(b + MTX_IH_TOC_OFFSET, 0xffffffffffffffc0ull); }
static uint8_t *entry(uint8_t *b, uint32_t i) { return b + fixture_toc(b, i); }
static void past_end(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 8768); }
static void past_end2(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 1ull << 40); }
static void off_wrap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 0xffffffffffffffc0ull); }
static void len_wrap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 16, 0xffffffffffffffc0ull); }
static void into_header(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 64); }
static void misaligned(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 324); }
static void overlap(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 8, 256); }
static void zero_len(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 16, 0); }
static void bad_len(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le64(entry(b, 1) + 16, 64); }
static void bad_type(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 1), 12); }
static void global_index(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 1) + 4, 1); }
static void bad_origin(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 9) + 4, MTX_ORIGIN(1, 2)); }
static void bad_module(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 9) + 4, MTX_ORIGIN(4, 0)); }
static void duplicate(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 9) + 4, MTX_ORIGIN(1, 1)); }
static void dup_global(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 3), MTX_SEC_SRC_POS); }
/* Encoder weights of t0 (entry 9) relabelled as decoder weights: the
 * length of a layer section is checked against its own stack's formula. */
static void wrong_stack(uint8_t *b, uint64_t *n) { (void)n; mtx_put_le32(entry(b, 9), MTX_SEC_DEC_WEIGHTS); }

static void test_refusals(void) {
    CU_ASSERT(refused_with(magic, 0, "magic: not a modtx weight image"));
    CU_ASSERT(refused_with(future, 0, "version: 2 is newer than this build reads"));
    CU_ASSERT(refused_with(version0, 0, "version: 0 is not a known version"));
    CU_ASSERT(refused_with(hdr_bytes, 0, "header_bytes: 64, expected 128"));
    CU_ASSERT(refused_with(truncated, 0, "file_bytes: truncated file"));
    CU_ASSERT(refused_with(stub, 0, "header: truncated file: 100 bytes"));
    CU_ASSERT(refused_with(trailing, 0, "(trailing bytes)"));
    CU_ASSERT(refused_with(huge, 0, "file_bytes: 1073741825 is over the maximum"));
    CU_ASSERT(refused_with(flip, 0, "crc32: stored"));
    CU_ASSERT(refused_with(reserved, 1, "reserved: header byte 100 is not zero"));
    CU_ASSERT(refused_with(dmodel, 1, "d_model: 1024 is over the maximum 512"));
    CU_ASSERT(refused_with(dff0, 1, "d_ff: zero"));
    CU_ASSERT(refused_with(heads3, 1, "heads: d_model 8 is not a multiple of 3 heads"));
    CU_ASSERT(refused_with(headdim, 1, "heads: head size 256 is over the maximum 128"));
    CU_ASSERT(refused_with(vocab, 1, "tgt_vocab: 257 is over the maximum 256"));
    CU_ASSERT(refused_with(layers0, 1, "enc_layers: zero"));
    CU_ASSERT(refused_with(layers_absurd, 1, "dec_layers: 4294967295 is over the maximum 12"));
    CU_ASSERT(refused_with(eos, 1, "eos: id 6 is not below tgt_vocab 6"));
    CU_ASSERT(refused_with(resfrac, 1, "res_frac: 25 is over 24"));
    CU_ASSERT(refused_with(toc0, 1, "toc_count: 0 is outside [1, 512]"));
    CU_ASSERT(refused_with(toc_many, 1, "toc_offset: 22 entries at 8768 do not end"));
    CU_ASSERT(refused_with(toc_mis, 1, "toc_offset: 8776 is not 64-byte aligned"));
    CU_ASSERT(refused_with(toc_wrap, 1, "do not end the 9272-byte file"));
    CU_ASSERT(refused_with(past_end, 1, "toc[1]: section src_pos at 8768 + 128 bytes is outside the section area"));
    CU_ASSERT(refused_with(past_end2, 1, "toc[1]: section src_pos at 1099511627776 + 128 bytes is outside"));
    CU_ASSERT(refused_with(off_wrap, 1, "at 18446744073709551552 + 128 bytes is outside"));
    CU_ASSERT(refused_with(len_wrap, 1, "at 320 + 18446744073709551552 bytes is outside"));
    CU_ASSERT(refused_with(into_header, 1, "at 64 + 128 bytes is outside the section area [128, 8768)"));
    CU_ASSERT(refused_with(misaligned, 1, "toc[1].offset: 324 is not 64-byte aligned"));
    CU_ASSERT(refused_with(overlap, 1, "sections src_emb (at 128) and src_pos (at 256) overlap"));
    CU_ASSERT(refused_with(zero_len, 1, "toc[1].length: zero length"));
    CU_ASSERT(refused_with(bad_len, 1, "toc[1].length: src_pos is 64 bytes, its dimensions imply 128"));
    CU_ASSERT(refused_with(bad_type, 1, "toc[1].type: unknown section type 12"));
    CU_ASSERT(refused_with(global_index, 1, "toc[1].index: 1 for global section src_pos"));
    CU_ASSERT(refused_with(bad_origin, 1, "toc[9].index: origin 0x102 of enc_weights is no layer"));
    CU_ASSERT(refused_with(bad_module, 1, "toc[9].index: origin 0x400"));
    CU_ASSERT(refused_with(duplicate, 1, "duplicate section enc_weights index 0x101"));
    CU_ASSERT(refused_with(dup_global, 1, "toc[3]: duplicate section src_pos"));
    CU_ASSERT(refused_with(wrong_stack, 1, "dec_weights is 512 bytes, its dimensions imply 768"));
}

/* What only the builder can make: a missing global section, a layer without
 * its constants, a duplicate add, dimensions over the maxima. */
static void test_builder_refusals(void) {
    uint8_t *img = NULL;
    uint64_t n;
    CU_ASSERT(fixture_image_without(&img, &n, MTX_SEC_EXP2) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "toc: global section exp2 is missing") != NULL);
    CU_ASSERT(img == NULL);
    CU_ASSERT(fixture_image_without(&img, &n, MTX_SEC_DEC_CONSTS) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "dec_weights of origin 0x100 has no dec_consts") != NULL);
    mtx_image_dims d = fixture_dims();
    mtx_image_builder *b;
    CU_ASSERT_FATAL(mtx_image_builder_new(&b, &d) == MTX_OK);
    CU_ASSERT(fixture_add(b, MTX_SEC_EXP2, 0) == MTX_OK);
    CU_ASSERT(fixture_add(b, MTX_SEC_EXP2, 0) == MTX_ERR_ARG);
    CU_ASSERT(strstr(mtx_last_error(), "exp2 index 0x0 added twice") != NULL);
    CU_ASSERT(mtx_image_builder_add(b, MTX_SEC_LM_HEAD, 0, "x", 0) == MTX_ERR_ARG);
    mtx_image_builder_free(b);
    d.Ps = 65;
    CU_ASSERT(mtx_image_builder_new(&b, &d) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "image builder: src_pos: 65 is over the maximum 64") != NULL);
    CU_ASSERT(b == NULL);
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 4000 mutations of 1 to 4 random bytes anywhere in the image: never a
 * crash (run under make asan too), and any change at or after byte 32 (the
 * CRC-covered area) is refused. A further 4000 confined to the header and
 * the TOC with the CRC rewritten reach the field checks: whatever passes must
 * still have every section inside the file, aligned and of its exact length. */
static void test_mutations(void) {
    uint8_t *img, *m;
    uint64_t n;
    CU_ASSERT_FATAL(fixture_image(&img, &n) == MTX_OK);
    m = malloc(n);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int covered_passed = 0, refused = 0, passed_fields = 0, bad_pass = 0;
    for (int it = 0; it < 8000; it++) {
        memcpy(m, img, n);
        int k = 1 + (int)(rng_next(&seed) % 4), in_crc = 0, hdr_toc = it >= 4000;
        for (int i = 0; i < k; i++) {
            uint64_t r = rng_next(&seed), pos;
            if (!hdr_toc) pos = r % n;
            else pos = (r & 1) ? (r >> 1) % 128 : 8768 + (r >> 1) % (n - 8768);
            uint8_t v = (uint8_t)(rng_next(&seed) | 1);
            m[pos] ^= v;
            in_crc |= pos >= 32;
        }
        if (hdr_toc) fixture_recrc(m, n);
        mtx_image im;
        mtx_status s = mtx_image_parse(&im, m, n, "mutant");
        refused += s != MTX_OK;
        if (!hdr_toc && in_crc && s == MTX_OK) covered_passed++;
        if (hdr_toc && s == MTX_OK) {
            passed_fields++;
            for (uint32_t i = 0; i < im.toc_count; i++) {
                const uint8_t *e = m + im.toc_offset + 24ull * i;
                uint64_t off = mtx_le64(e + 8), len = mtx_le64(e + 16);
                if (off % 64 || off < 128 || off + len > im.toc_offset || len != fixture_len(mtx_le32(e)))
                    bad_pass++;
            }
        }
    }
    CU_ASSERT_EQUAL(covered_passed, 0);
    CU_ASSERT_EQUAL(bad_pass, 0);
    CU_ASSERT(refused > 7000);
    (void)passed_fields;
    free(m);
    free(img);
}

static void test_load(void) {
    uint8_t *img, *data;
    uint64_t n, got;
    CU_ASSERT_FATAL(fixture_image(&img, &n) == MTX_OK);
    char dir[] = "/tmp/mtx_image_XXXXXX", path[64], big[64];
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/image.bin", dir);
    snprintf(big, sizeof big, "%s/big.bin", dir);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f && fwrite(img, 1, n, f) == n);
    fclose(f);
    mtx_image im;
    CU_ASSERT_FATAL(mtx_image_load(path, &data, &got, &im) == MTX_OK);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT(memcmp(data, img, n) == 0);
    CU_ASSERT(im.data == data);
    free(data);
    /* a sparse file one byte over the maximum is refused before it is read */
    f = fopen(big, "wb");
    CU_ASSERT_FATAL(f && ftruncate(fileno(f), (off_t)MTX_MAX_IMAGE_BYTES + 1) == 0);
    fclose(f);
    CU_ASSERT(mtx_image_load(big, &data, &got, &im) != MTX_OK);
    CU_ASSERT(strstr(mtx_last_error(), "more than the limit") != NULL);
    CU_ASSERT(data == NULL);
    /* a corrupt file names its path */
    img[4000] ^= 1;
    f = fopen(path, "wb");
    CU_ASSERT_FATAL(f && fwrite(img, 1, n, f) == n);
    fclose(f);
    CU_ASSERT(mtx_image_load(path, &data, &got, &im) == MTX_ERR_FORMAT);
    CU_ASSERT(strstr(mtx_last_error(), "image.bin: crc32") != NULL);
    CU_ASSERT(data == NULL);
    remove(path);
    remove(big);
    rmdir(dir);
    free(img);
}

void mtx_suite_image(void) {
    CU_pSuite s = CU_add_suite("image", NULL, NULL);
    CU_add_test(s, "builder places sections and TOC as hand-computed", test_builder_layout);
    CU_add_test(s, "build -> parse: dims and every section byte-equal", test_round_trip);
    CU_add_test(s, "each hostile kind refused with its own message", test_refusals);
    CU_add_test(s, "builder refuses missing, unpaired, duplicate sections and bad dims", test_builder_refusals);
    CU_add_test(s, "8000 seeded mutations: no crash, CRC area always refused", test_mutations);
    CU_add_test(s, "load from a file, over-limit and corrupt files", test_load);
}
