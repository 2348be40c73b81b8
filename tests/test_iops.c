/* test_iops.c - the integer primitives of docs/engine.md against independent
 * references: isqrt against the defining inequality r^2 <= n < (r+1)^2
 * (exhaustive below 2^24, every perfect square +-1 edge, 10^6 seeded random
 * uint64), rshr against floor division written with C's truncating `/` and
 * `%` and against hand values, requant saturation at both ends, the exp2
 * lookup against exp2() over its whole input range, softmax sums and
 * values against a double softmax, RMSNorm against a double RMSNorm.
 * Each was checked by breaking the primitive once (round half down in rshr,
 * `bit >>= 1` in isqrt, no `- 1` in the negative branch, a missing 2^22 in
 * softmax rounding) and seeing the test fail. */
#include <CUnit/CUnit.h>

#include "engine/iops.h"
#include "format/maxima.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* r = floor(sqrt(n)) iff r^2 <= n and (r + 1)^2 > n (r < 2^32 for any uint64 n). */
static int is_floor_sqrt(uint64_t n, uint64_t r) {
    if (r > 0xFFFFFFFFull) return 0;
    if (r * r > n) return 0;
    if (r == 0xFFFFFFFFull) return 1;
    return (r + 1) * (r + 1) > n;
}

static void test_isqrt(void) {
    int bad = 0;
    for (uint64_t n = 0; n < (1u << 24); n++) bad += !is_floor_sqrt(n, mtx_isqrt(n));
    CU_ASSERT_EQUAL(bad, 0);
    /* every k^2 - 1, k^2, k^2 + 1 for k = 2^i, 2^i - 1, 2^i + 1 up to 2^28 (n up to 2^56) */
    for (int i = 1; i <= 28; i++) {
        uint64_t ks[3] = { (1ull << i) - 1, 1ull << i, (1ull << i) + 1 };
        for (int a = 0; a < 3; a++) {
            uint64_t k = ks[a], sq = k * k;
            CU_ASSERT_EQUAL(mtx_isqrt(sq), k);
            CU_ASSERT_EQUAL(mtx_isqrt(sq - 1), k - 1);
            CU_ASSERT_EQUAL(mtx_isqrt(sq + 1), k);
        }
    }
    CU_ASSERT_EQUAL(mtx_isqrt((1ull << 56) - 1), (1ull << 28) - 1);
    CU_ASSERT_EQUAL(mtx_isqrt(1ull << 56), 1ull << 28);
    CU_ASSERT_EQUAL(mtx_isqrt(UINT64_MAX), 0xFFFFFFFFull);
    CU_ASSERT_EQUAL(mtx_isqrt(0xFFFFFFFEull * 0xFFFFFFFEull), 0xFFFFFFFEull);
    bad = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t n = next_u64() >> (next_u64() % 64); /* every magnitude */
        bad += !is_floor_sqrt(n, mtx_isqrt(n));
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* floor((v + 2^(s-1)) / 2^s) with C's truncating division corrected for negatives. */
static int64_t rshr_ref(int64_t v, int s) {
    if (s == 0) return v;
    int64_t d = (int64_t)1 << s, w = v + d / 2;
    int64_t q = w / d, r = w % d;
    return r < 0 ? q - 1 : q;
}

static void test_rshr(void) {
    /* ties go up (toward +infinity), on both sides of zero */
    CU_ASSERT_EQUAL(mtx_rshr(5, 1), 3);   /* 2.5 -> 3 */
    CU_ASSERT_EQUAL(mtx_rshr(3, 1), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(mtx_rshr(-5, 1), -2); /* -2.5 -> -2 */
    CU_ASSERT_EQUAL(mtx_rshr(-3, 1), -1); /* -1.5 -> -1 */
    CU_ASSERT_EQUAL(mtx_rshr(-1, 1), 0);  /* -0.5 -> 0 */
    CU_ASSERT_EQUAL(mtx_rshr(-6, 2), -1); /* -1.5 -> -1 */
    CU_ASSERT_EQUAL(mtx_rshr(-7, 2), -2); /* -1.75 -> -2 */
    CU_ASSERT_EQUAL(mtx_rshr(-5, 2), -1); /* -1.25 -> -1 */
    CU_ASSERT_EQUAL(mtx_rshr(6, 2), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(mtx_rshr(5, 2), 1);   /* 1.25 -> 1 */
    CU_ASSERT_EQUAL(mtx_rshr(7, 0), 7);
    CU_ASSERT_EQUAL(mtx_rshr(-7, 0), -7);
    CU_ASSERT_EQUAL(mtx_rshr(-(1ll << 40) - 1 + (1ll << 39), 40), -1);  /* -0.5 - 2^-40 -> -1 */
    CU_ASSERT_EQUAL(mtx_rshr(-(1ll << 39), 40), 0);                     /* -0.5 -> 0 */
    CU_ASSERT_EQUAL(mtx_rshr((1ll << 61) - 1, 62), 0);                  /* just under 0.5 -> 0 */
    CU_ASSERT_EQUAL(mtx_rshr(1ll << 61, 62), 1);                        /* 0.5 -> 1 */
    CU_ASSERT_EQUAL(mtx_rshr(-(1ll << 61), 62), 0);                     /* -0.5 -> 0 */
    CU_ASSERT_EQUAL(mtx_rshr(-(1ll << 61) - 1, 62), -1);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        int s = (int)(next_u64() % 63);
        int64_t v = (int64_t)(next_u64() >> 4) * ((next_u64() & 1) ? 1 : -1) >> (next_u64() % 40);
        bad += mtx_rshr(v, s) != rshr_ref(v, s);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_requant_saturation(void) {
    const int32_t rec[3] = { 20, 1 << 20, -(1 << 19) }; /* m[0] = 1.0, m[1] = -0.5 */
    CU_ASSERT_EQUAL(mtx_requant(1000, rec, 0), 1000);
    CU_ASSERT_EQUAL(mtx_requant(3, rec, 1), -1);   /* -1.5 -> -1 */
    CU_ASSERT_EQUAL(mtx_requant(-3, rec, 1), 2);   /* 1.5 -> 2 */
    CU_ASSERT_EQUAL(mtx_q8(mtx_requant(1000, rec, 0)), 127);
    CU_ASSERT_EQUAL(mtx_q8(mtx_requant(-1000, rec, 0)), -127);
    CU_ASSERT_EQUAL(mtx_q8(mtx_requant(127, rec, 0)), 127);
    CU_ASSERT_EQUAL(mtx_q8(mtx_requant(-128, rec, 0)), -127); /* -128 is not an int8 activation */
    CU_ASSERT_EQUAL(mtx_q8(-126), -126);
    CU_ASSERT_EQUAL(mtx_res(1 << 23), MTX_RES_MAX);
    CU_ASSERT_EQUAL(mtx_res(-(1 << 23)), -MTX_RES_MAX);
    CU_ASSERT_EQUAL(mtx_res(MTX_RES_MAX), MTX_RES_MAX);
    CU_ASSERT_EQUAL(mtx_res(-MTX_RES_MAX), -MTX_RES_MAX);
    CU_ASSERT_EQUAL(mtx_res(INT64_MAX / 4), MTX_RES_MAX);
    CU_ASSERT_EQUAL(mtx_udiv(1ull << 40, 3), 366503875925ull);
    CU_ASSERT_EQUAL(mtx_udiv(7, 7), 1);
}

/* The lookup's error against 2^15 * 2^(-u/256): below one unit everywhere
 * (table rounding 0.5 >> k plus truncation < 1), so the relative error is
 * < 1 / value: 3.1e-5 in the first octave, 1/128 at u = 2048, and 1 where
 * the value drops under one unit (u >= 3840 can give 0). */
static void test_exp2_lookup(void) {
    int32_t t[256];
    mtx_exp2_table(t);
    CU_ASSERT_EQUAL(t[0], 32768);
    CU_ASSERT_EQUAL(t[128], 23170); /* 2^15 / sqrt(2) = 23170.48 */
    CU_ASSERT_EQUAL(t[255], 16428); /* 32768 * 2^(-255/256) = 16428.4 */
    double max_abs = 0, max_rel_first_octave = 0, max_rel_half = 0;
    for (int64_t u = 0; u < MTX_EXP2_LIMIT; u++) {
        double exact = 32768.0 * exp2(-(double)u / 256.0), got = mtx_exp2_lookup(t, u);
        double err = fabs(got - exact);
        if (err > max_abs) max_abs = err;
        if (u < 256 && err / exact > max_rel_first_octave) max_rel_first_octave = err / exact;
        if (u <= 2048 && err / exact > max_rel_half) max_rel_half = err / exact;
    }
    CU_ASSERT(max_abs < 1.0);
    CU_ASSERT(max_rel_first_octave <= 0.5 / 16384.0);
    CU_ASSERT(max_rel_half <= 1.0 / 128.0);
    CU_ASSERT_EQUAL(mtx_exp2_lookup(t, MTX_EXP2_LIMIT), 0);
    CU_ASSERT_EQUAL(mtx_exp2_lookup(t, 1ll << 40), 0);
    CU_ASSERT_EQUAL(mtx_exp2_lookup(t, 256), 16384);
}

/* Random score rows with the multiplier of a typical head: the sum of p is
 * within nk/2 + 1 of 256 (rounding of each p by at most 1/2, the truncated
 * reciprocal by at most S/2^31 relative) and each p within 1.0 of
 * 256 * softmax computed in double from the same u's real value. */
static void test_softmax(void) {
    int32_t t[256];
    mtx_exp2_table(t);
    int bad_sum = 0, bad_p = 0, max_dev = 0;
    double max_perr = 0;
    for (int row = 0; row < 20000; row++) {
        int nk = 1 + (int)(next_u64() % MTX_MAX_POS);
        int32_t sc[MTX_MAX_POS];
        int spread = 1 + (int)(next_u64() % 40000);
        for (int j = 0; j < nk; j++) sc[j] = (int32_t)(next_u64() % (uint64_t)(2 * spread)) - spread;
        int32_t sm[2] = { 30, (int32_t)(1 + next_u64() % (1u << 20)) }; /* u = diff * m / 2^30 */
        uint8_t p[MTX_MAX_POS];
        mtx_softmax_row(p, sc, nk, sm, t);
        int sum = 0;
        int32_t mx = sc[0];
        for (int j = 0; j < nk; j++) {
            sum += p[j];
            if (sc[j] > mx) mx = sc[j];
        }
        int dev = abs(sum - 256);
        if (dev > max_dev) max_dev = dev;
        bad_sum += dev > nk / 2 + 1;
        double z = 0, w[MTX_MAX_POS];
        for (int j = 0; j < nk; j++) z += w[j] = exp2(-(double)(mx - sc[j]) * sm[1] / 1073741824.0 / 256.0);
        for (int j = 0; j < nk; j++) {
            double e = fabs(p[j] - fmin(255.0, 256.0 * w[j] / z));
            if (e > max_perr) max_perr = e;
            bad_p += e > 1.0;
        }
    }
    CU_ASSERT_EQUAL(bad_sum, 0);
    CU_ASSERT_EQUAL(bad_p, 0);
    CU_ASSERT(max_dev <= MTX_MAX_POS / 2 + 1);
    /* a single key takes everything (255 = the cap of 256) */
    int32_t one = 5, sm[2] = { 0, 1 };
    uint8_t p1;
    mtx_softmax_row(&p1, &one, 1, sm, t);
    CU_ASSERT_EQUAL(p1, 255);
}

/* RMSNorm against double: with rec = {30, M * 2^6} the output is
 * q8(round(M * x / sqrt(sum x^2 + eps_q))) up to one unit. */
static void test_norm_row(void) {
    int bad = 0;
    for (int row = 0; row < 2000; row++) {
        enum { C = 128 };
        int32_t x[C], rec[1 + C];
        int8_t a[C];
        int mag = 1 + (int)(next_u64() % MTX_RES_MAX);
        for (int c = 0; c < C; c++) x[c] = (int32_t)(next_u64() % (uint64_t)(2 * mag + 1)) - mag;
        rec[0] = 30;
        double M = 40.0 + (double)(next_u64() % 2000);
        for (int c = 0; c < C; c++) rec[1 + c] = (int32_t)(M * 64.0);
        uint32_t eps = (uint32_t)(next_u64() % 1000);
        mtx_norm_row(a, x, C, rec, eps);
        double ss = eps;
        for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
        for (int c = 0; c < C; c++) {
            double want = fmax(-127, fmin(127, M * x[c] / sqrt(ss)));
            bad += fabs(a[c] - want) > 1.0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    int32_t zero[4] = { 0, 0, 0, 0 }, rec[5] = { 0, 1, 1, 1, 1 };
    int8_t a[4] = { 1, 1, 1, 1 };
    mtx_norm_row(a, zero, 4, rec, 0); /* r = 0: inv = 0, output 0 */
    CU_ASSERT(a[0] == 0 && a[3] == 0);
}

void mtx_suite_iops(void) {
    CU_pSuite s = CU_add_suite("iops", NULL, NULL);
    CU_add_test(s, "isqrt exhaustive < 2^24, square edges, random uint64", test_isqrt);
    CU_add_test(s, "rshr ties, negatives, against floor division", test_rshr);
    CU_add_test(s, "requant and saturation at both ends", test_requant_saturation);
    CU_add_test(s, "exp2 lookup error over [0, 4096)", test_exp2_lookup);
    CU_add_test(s, "softmax sum and values against double", test_softmax);
    CU_add_test(s, "RMSNorm row against double", test_norm_row);
}
