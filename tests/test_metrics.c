/* test_metrics.c - edit distance and PER/WER on hand-computed cases. */
#include <CUnit/CUnit.h>

#include "eval/metrics.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_edit_distance(void) {
    const int32_t abc[] = {1, 2, 3}, a_c[] = {1, 5, 3}, ac[] = {1, 3}, ab[] = {1, 2}, ba[] = {2, 1};
    const int32_t kitten[] = {'k', 'i', 't', 't', 'e', 'n'}, sitting[] = {'s', 'i', 't', 't', 'i', 'n', 'g'};
    CU_ASSERT_EQUAL(mtx_edit_distance(NULL, 0, NULL, 0), 0);
    CU_ASSERT_EQUAL(mtx_edit_distance(NULL, 0, abc, 3), 3);
    CU_ASSERT_EQUAL(mtx_edit_distance(abc, 3, NULL, 0), 3);
    CU_ASSERT_EQUAL(mtx_edit_distance(abc, 3, abc, 3), 0);
    CU_ASSERT_EQUAL(mtx_edit_distance(abc, 3, a_c, 3), 1); /* substitution */
    CU_ASSERT_EQUAL(mtx_edit_distance(ac, 2, abc, 3), 1);  /* insertion */
    CU_ASSERT_EQUAL(mtx_edit_distance(abc, 3, ac, 2), 1);  /* deletion */
    CU_ASSERT_EQUAL(mtx_edit_distance(ab, 2, ba, 2), 2);   /* transposition is two edits */
    CU_ASSERT_EQUAL(mtx_edit_distance(kitten, N(kitten), sitting, N(sitting)), 3);
    CU_ASSERT_EQUAL(mtx_edit_distance(sitting, N(sitting), kitten, N(kitten)), 3);
    enum { M = MTX_EDIT_MAX };
    static int32_t x[M + 1], y[M + 1];
    for (int i = 0; i < M + 1; i++) x[i] = 1, y[i] = 2;
    CU_ASSERT_EQUAL(mtx_edit_distance(x, M, y, M), M);
    CU_ASSERT_EQUAL(mtx_edit_distance(x, M, y, 1), M);
    CU_ASSERT_EQUAL(mtx_edit_distance(x, M, x, 1), M - 1);
    CU_ASSERT_EQUAL(mtx_edit_distance(x, M + 1, y, 1), -1);
    CU_ASSERT_EQUAL(mtx_edit_distance(x, 1, y, M + 1), -1);
    CU_ASSERT_EQUAL(mtx_edit_distance(x, -1, y, 1), -1);
}

static void test_single_reference(void) {
    mtx_score s = {0};
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_per(&s), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_wer(&s), 0.0, 1e-12);
    const int32_t h1[] = {1, 2, 3}, r1[] = {1, 2, 4}, h2[] = {5, 6}, r2[] = {5, 6};
    const int32_t *refs1[] = {r1}, *refs2[] = {r2};
    const int len1[] = {3}, len2[] = {2};
    CU_ASSERT_EQUAL(mtx_score_add(&s, h1, 3, refs1, len1, 1), MTX_OK);
    CU_ASSERT_EQUAL(mtx_score_add(&s, h2, 2, refs2, len2, 1), MTX_OK);
    CU_ASSERT(s.errors == 1 && s.ref_len == 5 && s.words == 2 && s.word_errors == 1);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_per(&s), 20.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_wer(&s), 50.0, 1e-12);
    /* an empty hypothesis: every reference phone is deleted */
    CU_ASSERT_EQUAL(mtx_score_add(&s, NULL, 0, refs1, len1, 1), MTX_OK);
    CU_ASSERT(s.errors == 4 && s.ref_len == 8 && s.words == 3 && s.word_errors == 2);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_per(&s), 50.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_wer(&s), 200.0 / 3.0, 1e-9);
}

static void test_multiple_references(void) {
    mtx_score s = {0};
    /* closest reference is the second: distances 4 and 1 */
    const int32_t h[] = {1, 2, 3, 4}, far[] = {9, 9}, near[] = {1, 2, 3, 5};
    const int32_t *refs[] = {far, near};
    const int lens[] = {2, 4};
    CU_ASSERT_EQUAL(mtx_score_add(&s, h, 4, refs, lens, 2), MTX_OK);
    CU_ASSERT(s.errors == 1 && s.ref_len == 4 && s.words == 1 && s.word_errors == 1);
    /* tie (distance 1 to both): the first listed reference gives ref_len */
    const int32_t ht[] = {1, 2}, short_r[] = {1}, long_r[] = {1, 2, 3};
    const int32_t *tie_a[] = {short_r, long_r}, *tie_b[] = {long_r, short_r};
    const int lens_a[] = {1, 3}, lens_b[] = {3, 1};
    mtx_score ta = {0}, tb = {0};
    CU_ASSERT_EQUAL(mtx_score_add(&ta, ht, 2, tie_a, lens_a, 2), MTX_OK);
    CU_ASSERT_EQUAL(mtx_score_add(&tb, ht, 2, tie_b, lens_b, 2), MTX_OK);
    CU_ASSERT(ta.errors == 1 && ta.ref_len == 1);
    CU_ASSERT(tb.errors == 1 && tb.ref_len == 3);
    /* exact match of the second reference: no phone error, no word error */
    const int32_t hx[] = {7, 8, 9}, r0[] = {7, 8}, r1[] = {7, 8, 9};
    const int32_t *refs_x[] = {r0, r1};
    const int lens_x[] = {2, 3};
    CU_ASSERT_EQUAL(mtx_score_add(&s, hx, 3, refs_x, lens_x, 2), MTX_OK);
    CU_ASSERT(s.errors == 1 && s.ref_len == 7 && s.words == 2 && s.word_errors == 1);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_per(&s), 100.0 / 7.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_wer(&s), 50.0, 1e-12);
    /* bad arguments leave the score untouched */
    mtx_score before = s;
    CU_ASSERT_EQUAL(mtx_score_add(&s, hx, 3, refs_x, lens_x, 0), MTX_ERR_ARG);
    static int32_t big[MTX_EDIT_MAX + 1];
    CU_ASSERT_EQUAL(mtx_score_add(&s, big, MTX_EDIT_MAX + 1, refs_x, lens_x, 2), MTX_ERR_ARG);
    CU_ASSERT(s.errors == before.errors && s.ref_len == before.ref_len && s.words == before.words &&
              s.word_errors == before.word_errors);
}

/* Four words with CMUdict-style alternative pronunciations, scored by hand:
 *   either  refs IY DH ER | AY DH ER, hyp AY DH AH: distances 2, 1 -> 1 error of 3, word wrong
 *   route   refs R UW T | R AW T,     hyp R AW T:   distances 1, 0 -> 0 of 3, word right
 *   data    refs D EY T AH | D AE T AH | D AA T AH, hyp D EY T: 1, 2, 2 -> 1 of 4, word wrong
 *   cats    refs K AE T | K AE T S,   hyp K AE T S IH: 2, 1 -> 1 of 4 (the longer, closer ref), wrong
 * PER = (1 + 0 + 1 + 1) / (3 + 3 + 4 + 4) = 3 / 14 = 21.43%, WER = 3 / 4 = 75%. */
static void test_multi_reference_corpus(void) {
    enum { IY = 1, DH, ER, AY, AH, R, UW, T, AW, D, EY, AE, AA, K, S, IH };
    const int32_t e1[] = { IY, DH, ER }, e2[] = { AY, DH, ER }, eh[] = { AY, DH, AH };
    const int32_t r1[] = { R, UW, T }, r2[] = { R, AW, T }, rh[] = { R, AW, T };
    const int32_t d1[] = { D, EY, T, AH }, d2[] = { D, AE, T, AH }, d3[] = { D, AA, T, AH }, dh[] = { D, EY, T };
    const int32_t c1[] = { K, AE, T }, c2[] = { K, AE, T, S }, ch[] = { K, AE, T, S, IH };
    const int32_t *er[] = { e1, e2 }, *rr[] = { r1, r2 }, *dr[] = { d1, d2, d3 }, *cr[] = { c1, c2 };
    const int el[] = { 3, 3 }, rl[] = { 3, 3 }, dl[] = { 4, 4, 4 }, cl[] = { 3, 4 };
    mtx_score s = {0};
    CU_ASSERT_EQUAL(mtx_score_add(&s, eh, 3, er, el, 2), MTX_OK);
    CU_ASSERT_EQUAL(mtx_score_add(&s, rh, 3, rr, rl, 2), MTX_OK);
    CU_ASSERT_EQUAL(mtx_score_add(&s, dh, 3, dr, dl, 3), MTX_OK);
    CU_ASSERT_EQUAL(mtx_score_add(&s, ch, 5, cr, cl, 2), MTX_OK);
    CU_ASSERT(s.errors == 3 && s.ref_len == 14 && s.words == 4 && s.word_errors == 3);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_per(&s), 300.0 / 14.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mtx_score_wer(&s), 75.0, 1e-12);
}

void mtx_suite_metrics(void) {
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "edit distance hand cases", test_edit_distance);
    CU_add_test(s, "PER/WER with one reference", test_single_reference);
    CU_add_test(s, "PER/WER with several references, ties, exact second", test_multiple_references);
    CU_add_test(s, "PER/WER of a hand-scored multi-reference corpus", test_multi_reference_corpus);
}
