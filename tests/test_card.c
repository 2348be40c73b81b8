/* test_card.c - the HLS kernel's cycle model (format/card.h) against cycle
 * counts computed by hand from the loop structure for tiny plans, and its
 * refusals.
 *
 * Dimensions C = F = Vt = 16, H = 1 (hs 16): every matrix is whole tiles.
 * With L(n) = n + 8 (a pipelined loop and its fill):
 *   loads   encoder layer 48*L(1) + 3*16*L(1) + L(138) = 1010; decoder layer
 *           48*9 + 5*16*9 + L(226) = 1386; cross K/V 32*9 + L(33) = 329
 *   compute rmsnorm of a row 2*L(16) + 28 + 48 = 124; attention of one query
 *           over 1 key 306, over 2 keys 372; encoder layer (S = 1) 776;
 *           decoder layer at t = 0: 1272, at t = 1: 1338; cross K/V 98 (222
 *           for the first, which norms the memory); head (norm, LM gemm,
 *           argmax) 157; an embedding L(16) = 24; the output write L(65) = 73.
 * A word is EMBED_SRC, the first encoder layer's load alone, then one stage
 * per unit costing max(load of the next unit, compute of this one).
 * Checked by making every stage cost load + compute once (the overlapped
 * totals failed) and by dropping the residency check once (the 1- and
 * 2-layer loads failed). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "core/mtx.h"
#include "format/card.h"

static mtx_image_dims tiny(void) {
    mtx_image_dims d;
    memset(&d, 0, sizeof d);
    d.C = 16, d.H = 1, d.F = 16, d.Vs = 16, d.Vt = 16, d.Ps = 8, d.Pt = 8;
    return d;
}

static void test_layers(void) {
    mtx_image_dims d = tiny();
    mtx_card_cost c;
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 1, 1, 1, &c) == MTX_OK);
    CU_ASSERT_EQUAL(c.enc_load, 1010);
    CU_ASSERT_EQUAL(c.enc_compute, 776);
    CU_ASSERT_EQUAL(c.dec_load, 1386);
    CU_ASSERT_EQUAL(c.dec_compute, 1272); /* at t = T / 2 = 0 */
    CU_ASSERT_EQUAL(c.ckv_load, 329);
    CU_ASSERT_EQUAL(c.ckv_compute, 98);
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 2, 1, 2, &c) == MTX_OK);
    CU_ASSERT_EQUAL(c.dec_compute, 1338); /* t = 1 */
}

/* 1 + 1 layers, S = T = 1: the decoder layer stays in its buffer. */
static void test_word_one_decoder_layer(void) {
    mtx_image_dims d = tiny();
    mtx_card_cost c;
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 1, 1, 1, &c) == MTX_OK);
    /* loads: enc 1010 alone, ckv 329, dec 1386; dec at t = 1 is resident */
    CU_ASSERT_EQUAL(c.load, 1010 + 329 + 1386);
    /* embed 24, enc 776, ckv 222, embed 24, dec 1272 + head 157, write 73 */
    CU_ASSERT_EQUAL(c.compute, 24 + 776 + 222 + 24 + 1272 + 157 + 73);
    /* 24 + 1010 + max(329, 776) + max(1386, 222) + 24 + max(0, 1429) + 73 */
    CU_ASSERT_EQUAL(c.cycles, 4722);
}

/* 1 + 2 layers, S = 1, T = 2: both decoder layers stay after step 0. */
static void test_word_two_decoder_layers(void) {
    mtx_image_dims d = tiny();
    mtx_card_cost c;
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 2, 1, 2, &c) == MTX_OK);
    CU_ASSERT_EQUAL(c.load, 1010 + 329 + 329 + 1386 + 1386);
    CU_ASSERT_EQUAL(c.compute, 24 + 776 + 222 + 98 + 24 + 1272 + 1429 + 24 + 1338 + 1495 + 73);
    /* 24 + 1010 + max(329, 776) + max(329, 222) + max(1386, 98) + 24 + max(1386, 1272)
     * + max(0, 1429) + 24 + max(0, 1338) + max(0, 1495) + 73 */
    CU_ASSERT_EQUAL(c.cycles, 9294);
}

/* 1 + 3 layers, S = T = 1: every decoder layer loads, and the last stage
 * prefetches the next step's first layer unless T = Pt. */
static void test_word_three_decoder_layers(void) {
    mtx_image_dims d = tiny();
    mtx_card_cost c;
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 3, 1, 1, &c) == MTX_OK);
    CU_ASSERT_EQUAL(c.load, 1010 + 3 * 329 + 4 * 1386);
    CU_ASSERT_EQUAL(c.compute, 24 + 776 + 222 + 2 * 98 + 24 + 3 * 1272 + 157 + 73);
    /* 24 + 1010 + 776 + 329 + 329 + 1386 + 24 + 1386 + 1386 + max(1386, 1429) + 73 */
    CU_ASSERT_EQUAL(c.cycles, 8152);
    d.Pt = 1;
    CU_ASSERT_FATAL(mtx_card_cycles(&d, 1, 3, 1, 1, &c) == MTX_OK);
    CU_ASSERT_EQUAL(c.load, 1010 + 3 * 329 + 3 * 1386);
    CU_ASSERT_EQUAL(c.cycles, 8152);
}

static void test_refusals(void) {
    mtx_image_dims d = tiny();
    mtx_card_cost c;
    CU_ASSERT(mtx_card_cycles(&d, 0, 1, 1, 1, &c) == MTX_ERR_ARG && strstr(mtx_last_error(), "0 + 1 layers"));
    CU_ASSERT(mtx_card_cycles(&d, 1, 13, 1, 1, &c) == MTX_ERR_ARG && strstr(mtx_last_error(), "1 + 13 layers"));
    CU_ASSERT(mtx_card_cycles(&d, 1, 1, 9, 1, &c) == MTX_ERR_ARG && strstr(mtx_last_error(), "S 9, T 1"));
    CU_ASSERT(mtx_card_cycles(&d, 1, 1, 1, 0, &c) == MTX_ERR_ARG && strstr(mtx_last_error(), "S 1, T 0"));
    d.H = 0;
    CU_ASSERT(mtx_card_cycles(&d, 1, 1, 1, 1, &c) == MTX_ERR_ARG && strstr(mtx_last_error(), "dimensions"));
    d.H = 3; /* C % H != 0 */
    CU_ASSERT(mtx_card_cycles(&d, 1, 1, 1, 1, &c) == MTX_ERR_ARG);
    d = tiny();
    d.F = 4096;
    CU_ASSERT(mtx_card_cycles(&d, 1, 1, 1, 1, &c) == MTX_ERR_ARG);
}

void mtx_suite_card(void) {
    CU_pSuite s = CU_add_suite("card", NULL, NULL);
    CU_add_test(s, "per layer: hand-computed loads and computes", test_layers);
    CU_add_test(s, "word, 1 + 1 layers: resident decoder layer, overlapped stages", test_word_one_decoder_layer);
    CU_add_test(s, "word, 1 + 2 layers: both decoder layers resident after step 0", test_word_two_decoder_layers);
    CU_add_test(s, "word, 1 + 3 layers: every decoder layer loads; no prefetch at Pt", test_word_three_decoder_layers);
    CU_add_test(s, "refusals: layer counts, lengths, dimensions", test_refusals);
}
