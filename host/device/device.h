/* device/ (layer 2) - the device interface and its backends: ref (the golden
 * model), csim (the HLS kernel compiled natively), rtl (the Verilator model),
 * xrt (the HLS kernel on an Alveo card through XRT).
 *
 * device.h - one small interface every engine implements: open, load the
 * image once, run batches with any plan over it, close, last error. The host
 * validates image and plan before they reach a backend; each backend's
 * engine validates them again. */
#ifndef MTX_DEVICE_H
#define MTX_DEVICE_H

#include "format/plan.h"

typedef struct {
    const char *xclbin;  /* xrt: the xclbin path */
    int device_index;    /* xrt: card index */
    int verbose;
} mtx_device_opts;

typedef struct {
    uint64_t image_loads;  /* images loaded (synced) since open */
    uint64_t batches;      /* batches run */
    uint64_t cycles;       /* rtl: simulated cycles of the last batch; 0 elsewhere */
    uint64_t busy_pe_cycles; /* rtl: busy PE-cycles of the last batch */
} mtx_device_stats;

typedef struct mtx_device mtx_device;

/* One backend's operations (host-side table; the kernels themselves hold no
 * function pointers). state is the backend's own context. */
typedef struct {
    const char *name;
    mtx_status (*open)(void **state, const mtx_device_opts *o);
    mtx_status (*load_image)(void *state, const mtx_image *im);
    mtx_status (*run)(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                      uint64_t plan_len, const int32_t *in, int B, int32_t *out,
                      mtx_device_stats *st);
    void (*close)(void *state);
} mtx_backend;

/* Names of the compiled-in backends, comma separated ("ref,csim,..."). */
const char *mtx_device_backends(void);

mtx_status mtx_device_open(mtx_device **d, const char *backend, const mtx_device_opts *o);
/* Loads (and for cards, transfers) the image once; im must stay valid. */
mtx_status mtx_device_load_image(mtx_device *d, const mtx_image *im);
/* Runs B words (MTX_IO_STRIDE layout) through plan p (parsed against the
 * loaded image; plan_bytes its serialised form, what the card receives). */
mtx_status mtx_device_run(mtx_device *d, const mtx_plan *p, const uint8_t *plan_bytes,
                          uint64_t plan_len, const int32_t *in, int B, int32_t *out);
const mtx_device_stats *mtx_device_stats_get(const mtx_device *d);
void mtx_device_close(mtx_device *d);

#endif
