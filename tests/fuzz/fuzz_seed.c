/* fuzz_seed.c - writes the seed corpora of make fuzz: the tiny fixture image
 * (tests/format_fixture.h) into DIR/corpus_image and three valid plans over
 * it ("t0 t1 | t0 t1", "t0 t1 | m2.0", "m2.0 | m2.0") into DIR/corpus_plan.
 * Usage: fuzz_seed DIR (both folders must exist). */
#include <stdio.h>
#include <stdlib.h>

#include "core/fsutil.h"
#include "format_fixture.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seed DIR\n");
        return 2;
    }
    uint8_t *img, *b;
    uint64_t n, pn;
    mtx_image im;
    char path[4096];
    if (fixture_image(&img, &n) || mtx_image_parse(&im, img, n, "fixture")) goto fail;
    snprintf(path, sizeof path, "%s/corpus_image/fixture.bin", argv[1]);
    if (mtx_write_file_atomic(path, img, n)) goto fail;
    const uint32_t t[] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) }, m[] = { MTX_ORIGIN(2, 0) };
    const struct { const uint32_t *e; int ne; const uint32_t *d; int nd; uint32_t r; const char *name; } plans[] = {
        { t, 2, t, 2, 100, "1.00x" }, { t, 2, m, 1, 133, "1.33x" }, { m, 1, m, 1, 200, "2.00x" } };
    for (int i = 0; i < 3; i++) {
        mtx_plan p;
        if (mtx_plan_from_origins(&p, &im, plans[i].e, plans[i].ne, plans[i].d, plans[i].nd, plans[i].r) ||
            mtx_plan_encode(&p, &b, &pn))
            goto fail;
        snprintf(path, sizeof path, "%s/corpus_plan/%s.plan", argv[1], plans[i].name);
        mtx_status s = mtx_write_file_atomic(path, b, pn);
        free(b);
        if (s) goto fail;
    }
    free(img);
    return 0;
fail:
    fprintf(stderr, "fuzz_seed: %s\n", mtx_last_error());
    return 1;
}
