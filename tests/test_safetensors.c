/* test_safetensors.c - safetensors reader/writer and the fsutil helpers it
 * stands on: bit-exact round trips, F16/BF16 rounding against hand-computed
 * encodings, atomic writes, and hostile files that must fail cleanly.
 * All files live in a mkdtemp directory under /tmp that the suite removes. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "core/fsutil.h"
#include "io/safetensors.h"

static char g_dir[64];

static int suite_init(void) {
    strcpy(g_dir, "/tmp/mtx_st_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int suite_clean(void) {
    mtx_test_rm_tree(g_dir);
    return 0;
}

/* g_dir/name in a static buffer; one live result at a time per slot. */
static const char *tmp_path(const char *name, int slot) {
    static char buf[4][256];
    if (mtx_path_join(buf[slot], sizeof buf[slot], g_dir, name) != MTX_OK) return "/nonexistent";
    return buf[slot];
}

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Writes a safetensors file by hand: length, header text, data_len zeros. */
static int write_st(const char *path, const char *header, size_t data_len) {
    size_t hlen = strlen(header), total = 8 + hlen + data_len;
    uint8_t *buf = calloc(1, total);
    if (!buf) return 0;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    int ok = mtx_write_file_atomic(path, buf, total) == MTX_OK;
    free(buf);
    return ok;
}

/* Opens `header` + data_len zero bytes; returns the status, closes any file. */
static mtx_status open_st(const char *header, size_t data_len) {
    const char *p = tmp_path("hand.st", 0);
    if (!write_st(p, header, data_len)) return MTX_ERR_IO;
    mtx_st_file *f = (mtx_st_file *)1;
    mtx_status s = mtx_st_open(p, &f);
    if (s != MTX_OK) CU_ASSERT_PTR_NULL(f);
    mtx_st_close(s == MTX_OK ? f : NULL);
    return s;
}

static void test_fsutil(void) {
    char out[8];
    CU_ASSERT_EQUAL(mtx_path_join(out, sizeof out, "a", "b"), MTX_OK);
    CU_ASSERT_STRING_EQUAL(out, "a/b");
    CU_ASSERT_EQUAL(mtx_path_join(out, sizeof out, "a/", "b"), MTX_OK);
    CU_ASSERT_STRING_EQUAL(out, "a/b");
    CU_ASSERT_EQUAL(mtx_path_join(out, sizeof out, "", "b"), MTX_OK);
    CU_ASSERT_STRING_EQUAL(out, "b");
    CU_ASSERT_EQUAL(mtx_path_join(out, 4, "a", "b"), MTX_OK);
    CU_ASSERT_EQUAL(mtx_path_join(out, 3, "a", "b"), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_path_join(out, sizeof out, "abcd", "efg"), MTX_ERR_ARG);

    const char *deep = tmp_path("x/y/z", 0);
    CU_ASSERT_FALSE(mtx_file_exists(deep));
    CU_ASSERT_EQUAL(mtx_mkdir_p(deep), MTX_OK);
    CU_ASSERT_TRUE(mtx_file_exists(deep));
    CU_ASSERT_EQUAL(mtx_mkdir_p(deep), MTX_OK);

    const char *file = tmp_path("hello.txt", 1);
    CU_ASSERT_EQUAL(mtx_write_file_atomic(file, "hello", 5), MTX_OK);
    CU_ASSERT_EQUAL(mtx_mkdir_p(file), MTX_ERR_IO);
    uint8_t *data = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(mtx_read_file(file, 5, &data, &len), MTX_OK);
    CU_ASSERT_EQUAL(len, 5);
    if (data) {
        CU_ASSERT_EQUAL(memcmp(data, "hello", 6), 0); /* includes the added NUL */
        free(data);
    }
    CU_ASSERT_EQUAL(mtx_read_file(file, 4, &data, &len), MTX_ERR_IO);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "limit"));
    CU_ASSERT_EQUAL(mtx_read_file(tmp_path("absent", 2), 100, &data, &len), MTX_ERR_IO);
}

static void test_roundtrip(void) {
    const uint32_t f32_bits[12] = {
        0x00000000, 0x80000000, 0x3f800000, 0xbfc00000, 0x00800000 /* FLT_MIN */,
        0x00000001 /* smallest denormal */, 0x80400000 /* negative denormal */,
        0x7f7fffff /* FLT_MAX */, 0xff7fffff, 0x7149f2ca /* 1e30 */, 0x7f800000,
        0x7fc12345 /* NaN with payload */};
    float w[12];
    for (int i = 0; i < 12; i++) w[i] = from_bits(f32_bits[i]);
    const float half[2] = {1.0f, -0.5f};
    const int32_t ival = -2;
    const uint8_t u8[5] = {1, 2, 3, 4, 255};
    const int64_t s34[2] = {3, 4}, s2[1] = {2}, s5[1] = {5}, s03[2] = {0, 3};

    mtx_st_writer *wr = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&wr), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(wr, "encoder.block.0.layer.0.SelfAttention.q.weight", 2, s34,
                                   w, MTX_DT_F32), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_raw(wr, "bytes", MTX_DT_U8, 1, s5, u8), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(wr, "half", 1, s2, half, MTX_DT_BF16), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_raw(wr, "scalar", MTX_DT_I32, 0, NULL, &ival), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_raw(wr, "empty", MTX_DT_I8, 2, s03, NULL), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(wr, tmp_path("rt.st", 0)), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(wr, tmp_path("rt2.st", 1)), MTX_OK);
    mtx_st_writer_free(wr);

    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    CU_ASSERT_EQUAL(mtx_read_file(tmp_path("rt.st", 0), 1 << 20, &a, &la), MTX_OK);
    CU_ASSERT_EQUAL(mtx_read_file(tmp_path("rt2.st", 1), 1 << 20, &b, &lb), MTX_OK);
    CU_ASSERT_TRUE(a && b && la == lb && memcmp(a, b, la) == 0); /* deterministic bytes */
    size_t hlen = 0;
    for (int i = 7; a && la >= 8 && i >= 0; i--) hlen = hlen << 8 | a[i];
    CU_ASSERT_TRUE(hlen % 8 == 0 && hlen > 0 && 8 + hlen <= la); /* header padded to 8 */
    if (hlen % 8 == 0 && hlen > 0 && 8 + hlen <= la) {
        size_t k = 8 + hlen;
        while (a[k - 1] == ' ') k--;
        CU_ASSERT_EQUAL(a[k - 1], '}');
        CU_ASSERT_TRUE(8 + hlen - k < 8);
    }
    free(a);
    free(b);

    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(tmp_path("rt.st", 0), &f), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_count(f), 5);
    const char *order[5] = {"encoder.block.0.layer.0.SelfAttention.q.weight", "bytes", "half",
                            "scalar", "empty"};
    for (size_t i = 0; i < 5; i++) {
        const mtx_st_tensor *t = mtx_st_at(f, i);
        CU_ASSERT_TRUE(t && strcmp(t->name, order[i]) == 0 && mtx_st_find(f, order[i]) == t);
    }
    CU_ASSERT_PTR_NULL(mtx_st_at(f, 5));
    CU_ASSERT_PTR_NULL(mtx_st_find(f, "missing"));

    float got[12];
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, order[0], 2, s34, got), MTX_OK);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(bits(got[i]), f32_bits[i]);

    const mtx_st_tensor *t = mtx_st_find(f, "half");
    CU_ASSERT_TRUE(t && t->dtype == MTX_DT_BF16 && t->ndim == 1 && t->shape[0] == 2 &&
                   t->end - t->begin == 4);
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "half", 1, s2, got), MTX_OK);
    CU_ASSERT_TRUE(got[0] == 1.0f && got[1] == -0.5f);

    t = mtx_st_find(f, "scalar");
    CU_ASSERT_TRUE(t && t->dtype == MTX_DT_I32 && t->ndim == 0 && t->end - t->begin == 4);
    const uint8_t *p = t ? mtx_st_data(f, t) : NULL;
    CU_ASSERT_TRUE(p && p[0] == 0xfe && p[1] == 0xff && p[2] == 0xff && p[3] == 0xff);
    t = mtx_st_find(f, "bytes");
    p = t ? mtx_st_data(f, t) : NULL;
    CU_ASSERT_TRUE(p && t->dtype == MTX_DT_U8 && memcmp(p, u8, 5) == 0);
    t = mtx_st_find(f, "empty");
    CU_ASSERT_TRUE(t && t->dtype == MTX_DT_I8 && t->ndim == 2 && t->shape[0] == 0 &&
                   t->shape[1] == 3 && t->begin == t->end);
    CU_ASSERT_PTR_NULL(mtx_st_meta(f, "anything"));
    mtx_st_close(f);
}

typedef struct { uint32_t in; uint16_t enc; uint32_t back; } conv_case;

/* Stores each case's input as `dt`, checks the stored encoding and the
 * float32 read back. */
static void check_conversions(const conv_case *c, int n, mtx_dtype dt) {
    float in[32], got[32];
    for (int i = 0; i < n; i++) in[i] = from_bits(c[i].in);
    const int64_t shape[1] = {n};
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "x", 1, shape, in, dt), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, tmp_path("conv.st", 0)), MTX_OK);
    mtx_st_writer_free(w);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(tmp_path("conv.st", 0), &f), MTX_OK);
    const mtx_st_tensor *t = mtx_st_find(f, "x");
    CU_ASSERT_FATAL(t != NULL && t->dtype == dt && t->end - t->begin == 2 * (uint64_t)n);
    const uint8_t *p = mtx_st_data(f, t);
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "x", 1, shape, got), MTX_OK);
    for (int i = 0; i < n; i++) {
        uint16_t enc = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        if (enc != c[i].enc || bits(got[i]) != c[i].back)
            fprintf(stderr, "\n  %s case %d: in %08x -> %04x (want %04x) -> %08x (want %08x)",
                    mtx_st_dtype_name(dt), i, c[i].in, enc, c[i].enc, bits(got[i]), c[i].back);
        CU_ASSERT_EQUAL(enc, c[i].enc);
        CU_ASSERT_EQUAL(bits(got[i]), c[i].back);
    }
    mtx_st_close(f);
}

/* A write of `value` as `dt` must fail with MTX_ERR_DATA naming the tensor
 * and must not create the file. */
static void check_overflow(float value, mtx_dtype dt) {
    const char *path = tmp_path("overflow.st", 3);
    const int64_t shape[1] = {2};
    const float x[2] = {1.0f, value};
    unlink(path);
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "big.weight", 1, shape, x, dt), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, path), MTX_ERR_DATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "'big.weight'"));
    CU_ASSERT_FALSE(mtx_file_exists(path));
    mtx_st_writer_free(w);
}

static void test_f16(void) {
    static const conv_case c[] = {
        {0x3f800000, 0x3c00, 0x3f800000}, /* 1 */
        {0xc0000000, 0xc000, 0xc0000000}, /* -2 */
        {0x477fe000, 0x7bff, 0x477fe000}, /* 65504, the largest finite */
        {0xc77fe000, 0xfbff, 0xc77fe000}, /* -65504 */
        {0x80000000, 0x8000, 0x80000000}, /* -0 */
        {0x33800000, 0x0001, 0x33800000}, /* 2^-24, smallest subnormal */
        {0x38800000, 0x0400, 0x38800000}, /* 2^-14, smallest normal */
        {0x3f801000, 0x3c00, 0x3f800000}, /* 1 + 2^-11: tie, down to even */
        {0x3f803000, 0x3c02, 0x3f804000}, /* 1 + 3*2^-11: tie, up to even */
        {0x3f801001, 0x3c01, 0x3f802000}, /* just above the tie */
        {0x3dcccccd, 0x2e66, 0x3dccc000}, /* 0.1 -> 0.0999755859375 */
        {0x477fef00, 0x7bff, 0x477fe000}, /* 65519 rounds down to 65504 */
        {0x33000000, 0x0000, 0x00000000}, /* 2^-25: tie between 0 and 2^-24 -> 0 */
        {0x33c00000, 0x0002, 0x34000000}, /* 3*2^-25: tie -> 2*2^-24 */
        {0x33000001, 0x0001, 0x33800000}, /* just above 2^-25 */
        {0x387fe000, 0x0400, 0x38800000}, /* 1023.5*2^-24: tie into the normals */
        {0x387fc000, 0x03ff, 0x387fc000}, /* 1023*2^-24, largest subnormal */
        {0x2edbe6ff, 0x0000, 0x00000000}, /* 1e-10 underflows to 0 */
        {0x7f800000, 0x7c00, 0x7f800000}, /* +inf */
        {0xff800000, 0xfc00, 0xff800000}, /* -inf */
    };
    check_conversions(c, (int)(sizeof c / sizeof c[0]), MTX_DT_F16);
    check_overflow(65520.0f, MTX_DT_F16); /* tie between 65504 and 2^16: rounds up */
    check_overflow(-1e10f, MTX_DT_F16);
}

static void test_bf16(void) {
    static const conv_case c[] = {
        {0x3f800000, 0x3f80, 0x3f800000}, /* 1 */
        {0x3f808000, 0x3f80, 0x3f800000}, /* 1 + 2^-8: tie, down to even */
        {0x3f818000, 0x3f82, 0x3f820000}, /* 1 + 3*2^-8: tie, up to even */
        {0x3f808001, 0x3f81, 0x3f810000}, /* just above the tie */
        {0x40490fdb, 0x4049, 0x40490000}, /* pi -> 3.140625 */
        {0x40498000, 0x404a, 0x404a0000}, /* tie, up to even */
        {0x40488000, 0x4048, 0x40480000}, /* tie, down to even */
        {0x80000000, 0x8000, 0x80000000}, /* -0 */
        {0x00018000, 0x0002, 0x00020000}, /* denormal tie, up to even */
        {0x7f7f7fff, 0x7f7f, 0x7f7f0000}, /* just below the top tie */
        {0xff800000, 0xff80, 0xff800000}, /* -inf */
        {0x7f800001, 0x7fc0, 0x7fc00000}, /* signalling NaN stays a NaN */
    };
    check_conversions(c, (int)(sizeof c / sizeof c[0]), MTX_DT_BF16);
    check_overflow(FLT_MAX, MTX_DT_BF16);
}

static void test_metadata(void) {
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "format", "modtx"), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "note", "caf\xc3\xa9 \"quoted\"\n"), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "empty", ""), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "format", "again"), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_write(w, tmp_path("meta.st", 0)), MTX_OK);
    mtx_st_writer_free(w);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(tmp_path("meta.st", 0), &f), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_count(f), 0);
    const char *v = mtx_st_meta(f, "format");
    CU_ASSERT_TRUE(v && strcmp(v, "modtx") == 0);
    v = mtx_st_meta(f, "note");
    CU_ASSERT_TRUE(v && strcmp(v, "caf\xc3\xa9 \"quoted\"\n") == 0);
    v = mtx_st_meta(f, "empty");
    CU_ASSERT_TRUE(v && v[0] == '\0');
    CU_ASSERT_PTR_NULL(mtx_st_meta(f, "absent"));
    mtx_st_close(f);
}

static int files_equal(const char *path, const uint8_t *want, size_t want_len) {
    uint8_t *d = NULL;
    size_t n = 0;
    if (mtx_read_file(path, 1 << 20, &d, &n) != MTX_OK) return 0;
    int same = n == want_len && memcmp(d, want, n) == 0;
    free(d);
    return same;
}

static void test_atomic_write(void) {
    const char *path = tmp_path("keep.st", 0);
    const int64_t shape[1] = {3};
    const float x[3] = {1, 2, 3}, big[3] = {1, 1e6f, 3};
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "x", 1, shape, x, MTX_DT_F32), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, path), MTX_OK);
    mtx_st_writer_free(w);
    uint8_t *orig = NULL;
    size_t orig_len = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_read_file(path, 1 << 20, &orig, &orig_len), MTX_OK);

    /* A conversion failure must leave the old file alone. */
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "x", 1, shape, big, MTX_DT_F16), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, path), MTX_ERR_DATA);
    CU_ASSERT_TRUE(files_equal(path, orig, orig_len));

    /* So must a failure to create the temp file (a directory is in the way). */
    char blocker[300];
    snprintf(blocker, sizeof blocker, "%s.tmp.%ld", path, (long)getpid());
    CU_ASSERT_EQUAL_FATAL(mtx_mkdir_p(blocker), MTX_OK);
    mtx_st_writer_free(w);
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "y", 1, shape, x, MTX_DT_BF16), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, path), MTX_ERR_IO);
    CU_ASSERT_TRUE(files_equal(path, orig, orig_len));
    CU_ASSERT_TRUE(mtx_file_exists(blocker)); /* not ours to delete */
    rmdir(blocker);

    /* A missing target directory fails cleanly and creates nothing. */
    const char *nodir = tmp_path("no/such/dir/x.st", 1);
    CU_ASSERT_EQUAL(mtx_st_write(w, nodir), MTX_ERR_IO);
    CU_ASSERT_FALSE(mtx_file_exists(nodir));
    CU_ASSERT_FALSE(mtx_file_exists(tmp_path("no", 2)));

    /* A successful overwrite replaces the file and leaves no temp behind. */
    CU_ASSERT_EQUAL(mtx_st_write(w, path), MTX_OK);
    CU_ASSERT_FALSE(files_equal(path, orig, orig_len));
    mtx_st_writer_free(w);
    int temps = 0;
    DIR *d = opendir(g_dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) temps += strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT_EQUAL(temps, 0);
    free(orig);
}

static void test_truncated(void) {
    const int64_t shape[2] = {2, 2};
    const float x[4] = {1, 2, 3, 4};
    mtx_st_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_meta(w, "k", "v"), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "a", 2, shape, x, MTX_DT_F32), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "b", 1, shape, x, MTX_DT_F16), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_write(w, tmp_path("full.st", 0)), MTX_OK);
    mtx_st_writer_free(w);
    uint8_t *full = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_read_file(tmp_path("full.st", 0), 1 << 20, &full, &len), MTX_OK);
    size_t not_rejected = 0;
    const char *cut = tmp_path("cut.st", 1);
    for (size_t k = 0; k < len; k++) {
        mtx_st_file *f = NULL;
        if (mtx_write_file_atomic(cut, full, k) != MTX_OK) continue;
        mtx_status s = mtx_st_open(cut, &f);
        if (s != MTX_ERR_FORMAT || f != NULL) not_rejected++;
        mtx_st_close(f);
    }
    CU_ASSERT_EQUAL(not_rejected, 0);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL(mtx_st_open(tmp_path("full.st", 0), &f), MTX_OK); /* the control */
    CU_ASSERT_EQUAL(mtx_st_count(f), 2);
    mtx_st_close(f);
    free(full);
}

static void test_header_length(void) {
    const char *p = tmp_path("len.st", 0);
    uint8_t buf[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    CU_ASSERT_EQUAL(mtx_write_file_atomic(p, buf, 10), MTX_OK);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL(mtx_st_open(p, &f), MTX_ERR_FORMAT); /* 2^63 */
    buf[7] = 0;
    buf[0] = 3; /* one more than the file holds */
    CU_ASSERT_EQUAL(mtx_write_file_atomic(p, buf, 10), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_open(p, &f), MTX_ERR_FORMAT);
    buf[0] = 2; /* exactly right: an empty, valid file */
    CU_ASSERT_EQUAL(mtx_write_file_atomic(p, buf, 10), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_open(p, &f), MTX_OK);
    mtx_st_close(f);
    f = NULL;

    /* Over 100 MB of header in a (sparse) file that really is that long. */
    uint64_t huge = 100000001;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(huge >> (8 * i));
    FILE *fp = fopen(p, "wb");
    CU_ASSERT_FATAL(fp != NULL);
    CU_ASSERT_EQUAL(fwrite(buf, 1, 10, fp), 10);
    CU_ASSERT_EQUAL(fflush(fp), 0);
    CU_ASSERT_EQUAL(ftruncate(fileno(fp), (off_t)(8 + huge)), 0);
    CU_ASSERT_EQUAL(fclose(fp), 0);
    CU_ASSERT_EQUAL(mtx_st_open(p, &f), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "100 MB"));
    CU_ASSERT_PTR_NULL(f);
    unlink(p);
}

#define T1(body) "{\"t\":{" body "}}"
#define F32_4 "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"

static void test_bad_headers(void) {
    static const char *bad[] = {
        "", "{not json", "[]", "\"str\"", "{} x", "{\"t\":1}", "{\"t\":{\"dtype\":\"F32\"}",
        T1("\"shape\":[1],\"data_offsets\":[0,4]"),
        T1("\"dtype\":\"F32\",\"data_offsets\":[0,4]"),
        T1("\"dtype\":\"F32\",\"shape\":[1]"),
        T1("\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]"),
        T1("\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]"),
        T1("\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]"),
        T1("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[1e300],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[1e16],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[true],\"data_offsets\":[0,1]"),
        T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]"),
        T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]"),
        T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",\"1\"]"),
        T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]"),
        T1("\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]"),     /* begin > end */
        T1("\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,20]"),   /* past the data */
        T1("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]"), /* size mismatch */
        T1("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
           "\"data_offsets\":[0,16]"),                                  /* product overflows */
        "{\"a\":{" F32_4 "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}",
        "{\"a\":{" F32_4 "},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        "{\"__metadata__\":[],\"t\":{" F32_4 "}}",
        "{\"__metadata__\":{\"k\":1},\"t\":{" F32_4 "}}",
        "{\"__metadata__\":{},\"__metadata__\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mtx_status s = open_st(bad[i], 16);
        if (s != MTX_ERR_FORMAT) fprintf(stderr, "\n  accepted bad header %zu: %s", i, bad[i]);
        CU_ASSERT_EQUAL(s, MTX_ERR_FORMAT);
    }
    CU_ASSERT_EQUAL(open_st("{\"a\":{" F32_4 "},\"b\":{" F32_4 "}}", 16), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "overlap"));
    CU_ASSERT_EQUAL(open_st("{\"a\":{" F32_4 "},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                            "\"data_offsets\":[4,8]}}", 16), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "duplicate tensor name 'a'"));

    /* Accepted: gaps, empty tensors anywhere, trailing padding, a scalar. */
    CU_ASSERT_EQUAL(open_st("{\"a\":{" F32_4 "},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
                            "\"data_offsets\":[8,12]}}   ", 16), MTX_OK);
    CU_ASSERT_EQUAL(open_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                            "\"e\":{\"dtype\":\"I32\",\"shape\":[3,0],\"data_offsets\":[4,4]}}",
                            16), MTX_OK);
    CU_ASSERT_EQUAL(open_st(T1("\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[12,16]"), 16),
                    MTX_OK);
}

static void test_names(void) {
    char name[200], hdr[400];
    memset(name, 'n', 160);
    name[160] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{" F32_4 "}}", name);
    CU_ASSERT_EQUAL(open_st(hdr, 4), MTX_ERR_FORMAT);
    mtx_st_writer *w = NULL;
    const int64_t shape[1] = {1};
    const float x[1] = {0};
    CU_ASSERT_EQUAL_FATAL(mtx_st_writer_new(&w), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, name, 1, shape, x, MTX_DT_F32), MTX_ERR_ARG);
    name[159] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{" F32_4 "}}", name);
    CU_ASSERT_EQUAL(open_st(hdr, 4), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, name, 1, shape, x, MTX_DT_F32), MTX_OK);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, name, 1, shape, x, MTX_DT_F32), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "", 1, shape, x, MTX_DT_F32), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "__metadata__", 1, shape, x, MTX_DT_F32), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "q", 1, shape, x, MTX_DT_I8), MTX_ERR_ARG);
    const int64_t neg[1] = {-1}, five[5] = {1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "q", 1, neg, x, MTX_DT_F32), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_add_f32(w, "q", 5, five, x, MTX_DT_F32), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_st_add_raw(w, "q", MTX_DT_I32, 1, shape, NULL), MTX_ERR_ARG);
    mtx_st_writer_free(w);
}

static void test_read_f32_errors(void) {
    CU_ASSERT_EQUAL_FATAL(
        write_st(tmp_path("r.st", 0),
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                 "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]}}", 32), 1);
    mtx_st_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_st_open(tmp_path("r.st", 0), &f), MTX_OK);
    float dst[6] = {1, 1, 1, 1, 1, 1};
    const int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6}, s2[1] = {2};
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "w", 2, s23, dst), MTX_OK);
    CU_ASSERT_TRUE(dst[0] == 0.0f && dst[5] == 0.0f);
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "i", 1, s2, dst), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "'i'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "found I32"));
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "w", 2, s32, dst), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "'w': expected shape [3, 2], found [2, 3]"));
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "w", 1, s6, dst), MTX_ERR_FORMAT);
    CU_ASSERT_EQUAL(mtx_st_read_f32(f, "nope", 1, s6, dst), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "'nope' not found"));
    mtx_st_close(f);
}

void mtx_suite_safetensors(void) {
    CU_pSuite s = CU_add_suite("safetensors", suite_init, suite_clean);
    if (!s) return;
    CU_add_test(s, "fsutil helpers", test_fsutil);
    CU_add_test(s, "round trip F32 bit-exact, raw dtypes", test_roundtrip);
    CU_add_test(s, "F16 encoding and rounding", test_f16);
    CU_add_test(s, "BF16 encoding and rounding", test_bf16);
    CU_add_test(s, "metadata round trip", test_metadata);
    CU_add_test(s, "writes are atomic", test_atomic_write);
    CU_add_test(s, "every truncation is rejected", test_truncated);
    CU_add_test(s, "header length limits", test_header_length);
    CU_add_test(s, "malformed headers rejected", test_bad_headers);
    CU_add_test(s, "tensor name rules", test_names);
    CU_add_test(s, "read_f32 dtype and shape checks", test_read_f32_errors);
}
