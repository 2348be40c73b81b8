/* backend_ref.c - the ref backend: the golden model (engine/golden.h) behind
 * the device interface. Loading an image keeps a pointer to it (the host's
 * validated copy is the device memory); a run hands the parsed plan to the
 * golden model. */
#include "device/backends.h"
#include "engine/golden.h"

#include <stdlib.h>

typedef struct {
    const mtx_image *im;
} ref_state;

static mtx_status ref_open(void **state, const mtx_device_opts *o) {
    (void)o;
    ref_state *s = calloc(1, sizeof *s);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "ref: out of memory");
    *state = s;
    return MTX_OK;
}

static mtx_status ref_load_image(void *state, const mtx_image *im) {
    ((ref_state *)state)->im = im;
    return MTX_OK;
}

static mtx_status ref_run(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                          uint64_t plan_len, const int32_t *in, int B, int32_t *out, mtx_device_stats *st) {
    (void)plan_bytes;
    (void)plan_len;
    (void)state;
    st->cycles = 0;
    st->busy_pe_cycles = 0;
    return mtx_golden_run(im, p, in, B, out, NULL);
}

static void ref_close(void *state) {
    free(state);
}

const mtx_backend mtx_backend_ref = { "ref", ref_open, ref_load_image, ref_run, ref_close };
