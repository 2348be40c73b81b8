/* backend_csim.c - backend "csim": the HLS kernel (hls/mtx_engine.c)
 * compiled natively with the host compiler, behind the device interface.
 *
 * The kernel receives the raw image and plan bytes, exactly what a card gets,
 * and validates them itself; a non-zero kernel status becomes MTX_ERR_FORMAT
 * with the status code's name. The kernel keeps its buffers in static
 * storage, so one csim device runs one batch at a time (the device interface
 * is not shared between threads). */
#include <limits.h>
#include <stdlib.h>

#include "device/backends.h"
#include "hls/mtx_engine.h"

/* Names of the MTX_ENG_* codes of format/layout.h, by value. */
static const char *const eng_status_names[] = {
    "ok", "image magic", "image version", "image size", "image dims", "image toc", "plan magic", "plan version",
    "plan image", "plan count", "descriptor kind", "descriptor dims", "descriptor range", "descriptor length",
    "descriptor align", "batch", "input word", "reserved field"};

typedef struct {
    int loaded;
} csim_state;

static mtx_status csim_open(void **state, const mtx_device_opts *o) {
    (void)o;
    csim_state *s = calloc(1, sizeof *s);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "csim: out of memory");
    *state = s;
    return MTX_OK;
}

/* The kernel reads the image in place (a card would copy it once). */
static mtx_status csim_load_image(void *state, const mtx_image *im) {
    (void)im;
    ((csim_state *)state)->loaded = 1;
    return MTX_OK;
}

static mtx_status csim_run(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                           uint64_t plan_len, const int32_t *in, int B, int32_t *out, mtx_device_stats *st) {
    (void)p;
    (void)st;
    if (!((csim_state *)state)->loaded) return mtx_set_error(MTX_ERR_STATE, "csim: run before load_image");
    if (plan_len > UINT_MAX) return mtx_set_error(MTX_ERR_ARG, "csim: plan of %llu bytes", (unsigned long long)plan_len);
    if (B < 0) return mtx_set_error(MTX_ERR_ARG, "csim: batch %d", B);
    int status = -1;
    mtx_engine(im->data, plan_bytes, in, out, &status, im->bytes, (unsigned)plan_len, (unsigned)B);
    if (status != MTX_ENG_OK) {
        const char *name = status > 0 && status < (int)(sizeof eng_status_names / sizeof *eng_status_names)
                               ? eng_status_names[status]
                               : "unknown";
        return mtx_set_error(MTX_ERR_FORMAT, "csim: kernel refused the call: status %d (%s)", status, name);
    }
    return MTX_OK;
}

static void csim_close(void *state) { free(state); }

const mtx_backend mtx_backend_csim = {"csim", csim_open, csim_load_image, csim_run, csim_close};
