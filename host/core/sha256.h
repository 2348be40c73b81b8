/* sha256.h - SHA-256 (FIPS 180-4; the same function as FIPS 180-2) of byte
 * strings and files, for naming a file by its content: a module bank records
 * the hash of its teacher's weights and checks it on load.
 *
 * Incremental use: mtx_sha256_init, any number of mtx_sha256_update, then
 * mtx_sha256_final. Messages up to 2^61 - 1 bytes (the length is counted in
 * bits in 64 bits). Not constant-time; nothing here is secret. */
#ifndef MTX_SHA256_H
#define MTX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/mtx.h"

#define MTX_SHA256_BYTES 32
#define MTX_SHA256_HEX (2 * MTX_SHA256_BYTES + 1) /* lower-case hex digits and a NUL */

typedef struct {
    uint32_t h[8];      /* chaining state */
    uint64_t len;       /* bytes hashed so far */
    uint8_t buf[64];    /* the current partial block */
    size_t n;           /* bytes in buf */
} mtx_sha256_ctx;

void mtx_sha256_init(mtx_sha256_ctx *c);
void mtx_sha256_update(mtx_sha256_ctx *c, const void *data, size_t len);
void mtx_sha256_final(mtx_sha256_ctx *c, uint8_t out[MTX_SHA256_BYTES]);

/* One-shot digest of data[0, len). */
void mtx_sha256(const void *data, size_t len, uint8_t out[MTX_SHA256_BYTES]);
/* The digest as 64 lower-case hex digits and a NUL. */
void mtx_sha256_hex(const uint8_t digest[MTX_SHA256_BYTES], char out[MTX_SHA256_HEX]);

/* Hex digest of the whole file at path, read in blocks (MTX_ERR_IO with the
 * path and the reason if it cannot be opened or read). */
mtx_status mtx_sha256_file(const char *path, char out[MTX_SHA256_HEX]);

#endif
