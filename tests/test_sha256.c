/* test_sha256.c - SHA-256 against the FIPS 180-2 appendix B vectors and,
 * at the padding boundaries, against Python's hashlib (values pasted here);
 * incremental hashing at every split point against the one-shot digest. */
#include <CUnit/CUnit.h>

#include "core/fsutil.h"
#include "core/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex_of(const void *p, size_t n, char out[MTX_SHA256_HEX]) {
    uint8_t d[MTX_SHA256_BYTES];
    mtx_sha256(p, n, d);
    mtx_sha256_hex(d, out);
}

/* FIPS 180-2, appendix B.1, B.2 and B.3, and the empty message. */
static void test_fips_vectors(void) {
    char h[MTX_SHA256_HEX];
    hex_of("abc", 3, h);
    CU_ASSERT_STRING_EQUAL(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    CU_ASSERT_STRING_EQUAL(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    enum { MILLION = 1000000 };
    char *a = malloc(MILLION);
    CU_ASSERT_FATAL(a != NULL);
    memset(a, 'a', MILLION);
    hex_of(a, MILLION, h);
    CU_ASSERT_STRING_EQUAL(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
    hex_of("", 0, h);
    CU_ASSERT_STRING_EQUAL(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Lengths around the 56-byte padding limit and the 64-byte block
 * (hashlib.sha256(b'a' * n)): the length field goes in the same block or
 * in an extra one. */
static void test_padding_boundaries(void) {
    static const struct {
        size_t n;
        const char *hex;
    } v[] = { { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
              { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
              { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
              { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
              { 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
              { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
              { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" } };
    char a[128], h[MTX_SHA256_HEX];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hex_of(a, v[i].n, h);
        CU_ASSERT_STRING_EQUAL(h, v[i].hex);
    }
}

/* Two and three updates at every split of a 200-byte message give the
 * one-shot digest (the partial-block buffer in every state). */
static void test_incremental(void) {
    uint8_t msg[200], one[MTX_SHA256_BYTES], inc[MTX_SHA256_BYTES];
    for (int i = 0; i < 200; i++) msg[i] = (uint8_t)(i * 37 + 11);
    mtx_sha256(msg, sizeof msg, one);
    int bad = 0;
    for (size_t i = 0; i <= sizeof msg; i++) {
        for (size_t j = i; j <= sizeof msg; j += 7) {
            mtx_sha256_ctx c;
            mtx_sha256_init(&c);
            mtx_sha256_update(&c, msg, i);
            mtx_sha256_update(&c, msg + i, j - i);
            mtx_sha256_update(&c, msg + j, sizeof msg - j);
            mtx_sha256_final(&c, inc);
            bad += memcmp(one, inc, sizeof one) != 0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* A file larger than the 64 KiB read block (bytes 0..255 repeated 300
 * times; hashlib gives the value) and a missing file. */
static void test_file(void) {
    char dir[] = "/tmp/mtx_sha256_XXXXXX", path[256], h[MTX_SHA256_HEX];
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/f.bin", dir);
    size_t n = 256 * 300;
    uint8_t *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)i;
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(path, buf, n), MTX_OK);
    free(buf);
    CU_ASSERT_EQUAL(mtx_sha256_file(path, h), MTX_OK);
    CU_ASSERT_STRING_EQUAL(h, "f8b0585eb91f58c007a5634362c9f90d8543822c113f702523bc7b73408a9392");
    unlink(path);
    CU_ASSERT_EQUAL(mtx_sha256_file(path, h), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), path));
    rmdir(dir);
}

void mtx_suite_sha256(void) {
    CU_pSuite s = CU_add_suite("sha256", NULL, NULL);
    CU_add_test(s, "FIPS 180-2 vectors", test_fips_vectors);
    CU_add_test(s, "padding boundaries", test_padding_boundaries);
    CU_add_test(s, "incremental updates at every split", test_incremental);
    CU_add_test(s, "file digest and missing file", test_file);
}
