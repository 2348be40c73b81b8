/* fuzz_image.c - libFuzzer target for the weight-image parser: any bytes,
 * never a crash, a leak or undefined behaviour (make fuzz). Each input is
 * parsed as it is and once more with its CRC rewritten, so mutations reach
 * the field checks behind the CRC. An input that parses must have every TOC
 * section inside the file and 64-aligned, and mtx_image_find must return
 * what the TOC says. Seeds: the tiny fixture image (tests/fuzz/fuzz_seed.c). */
#include <stdlib.h>
#include <string.h>

#include "format/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <zlib.h>

static void parse_and_check(const uint8_t *buf, size_t size) {
    mtx_image im;
    if (mtx_image_parse(&im, buf, size, "fuzz") == MTX_OK) {
        for (uint32_t i = 0; i < im.toc_count; i++) {
            const uint8_t *e = buf + im.toc_offset + (uint64_t)i * MTX_TOC_ENTRY_BYTES;
            uint64_t off, len;
            if (mtx_image_find(&im, mtx_le32(e), mtx_le32(e + 4), &off, &len) != MTX_OK) abort();
            if (off % MTX_ALIGN || off > im.bytes || len > im.bytes - off || len == 0) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a private copy, so reads past the end are caught by ASan exactly */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    parse_and_check(buf, size);
    if (size >= MTX_IMAGE_HEADER_BYTES) {
        mtx_put_le32(buf + MTX_IH_CRC32, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf + 32, (uInt)(size - 32)));
        parse_and_check(buf, size);
    }
    free(buf);
    return 0;
}
