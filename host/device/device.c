/* device.c - the device interface over the backend table (see device.h):
 * backend lookup by name, the image loaded once, runs with any plan over it,
 * statistics, and one-line errors naming the backend. */
#include "device/backends.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every compiled-in backend, one line each (csim, rtl and xrt join here). */
static const mtx_backend *const backends[] = {
    &mtx_backend_ref,
    &mtx_backend_rtl,
    &mtx_backend_xrt,
    &mtx_backend_csim,
};
enum { N_BACKENDS = sizeof backends / sizeof backends[0] };

struct mtx_device {
    const mtx_backend *be;
    void *state;
    const mtx_image *im;
    mtx_device_stats st;
};

const char *mtx_device_backends(void) {
    static char names[256];
    size_t len = 0;
    names[0] = 0;
    for (int i = 0; i < N_BACKENDS && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? "," : "", backends[i]->name);
    return names;
}

mtx_status mtx_device_open(mtx_device **d, const char *backend, const mtx_device_opts *o) {
    *d = NULL;
    const mtx_backend *be = NULL;
    for (int i = 0; i < N_BACKENDS; i++)
        if (!strcmp(backends[i]->name, backend)) be = backends[i];
    if (!be) return mtx_set_error(MTX_ERR_ARG, "unknown backend '%s' (this modtx has %s)", backend, mtx_device_backends());
    mtx_device *dev = calloc(1, sizeof *dev);
    if (!dev) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    static const mtx_device_opts none = { NULL, 0, 0 };
    mtx_status st = be->open(&dev->state, o ? o : &none);
    if (st) {
        free(dev);
        return mtx_set_error(st, "%s: %s", be->name, mtx_last_error());
    }
    dev->be = be;
    *d = dev;
    return MTX_OK;
}

mtx_status mtx_device_load_image(mtx_device *d, const mtx_image *im) {
    mtx_status st = d->be->load_image(d->state, im);
    if (st) return mtx_set_error(st, "%s: loading the image: %s", d->be->name, mtx_last_error());
    d->im = im;
    d->st.image_loads++;
    return MTX_OK;
}

mtx_status mtx_device_run(mtx_device *d, const mtx_plan *p, const uint8_t *plan_bytes, uint64_t plan_len,
                          const int32_t *in, int B, int32_t *out) {
    if (!d->im) return mtx_set_error(MTX_ERR_STATE, "%s: no image loaded", d->be->name);
    if (p->image_crc != d->im->crc || p->image_bytes != d->im->bytes)
        return mtx_set_error(MTX_ERR_ARG, "%s: the plan is for another image", d->be->name);
    if (B < 1 || B > MTX_MAX_BATCH)
        return mtx_set_error(MTX_ERR_ARG, "%s: batch of %d words (1 to %d)", d->be->name, B, MTX_MAX_BATCH);
    mtx_status st = d->be->run(d->state, d->im, p, plan_bytes, plan_len, in, B, out, &d->st);
    if (st) return mtx_set_error(st, "%s: %s", d->be->name, mtx_last_error());
    d->st.batches++;
    return MTX_OK;
}

const mtx_device_stats *mtx_device_stats_get(const mtx_device *d) {
    return &d->st;
}

void mtx_device_close(mtx_device *d) {
    if (!d) return;
    if (d->be) d->be->close(d->state);
    free(d);
}
