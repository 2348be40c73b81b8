/* backend_xrt.c - the xrt backend (see backend_xrt.h).
 *
 * Buffer objects: image (allocated at load_image, its exact size), plan
 * (the largest plan), in and out (MTX_MAX_BATCH words each), status (one
 * int32). out and status are cleared once at open; each batch syncs only
 * the bytes it uses. XRT facts this relies on (XRT 2.13, checked on Debian
 * 12's libxrt): xrtDeviceOpen aborts the process (uncaught C++ exception)
 * when XILINX_XRT is unset or $XILINX_XRT/lib lacks the shim library the
 * emulation mode selects; with a shim but no card it returns NULL. */
#include "device/backend_xrt.h"
#include "device/xclbin.h"
#include "hls/mtx_kernel_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mtx_engine_status_name(int32_t code) {
    static const char *const names[] = {
        "ok", "image magic", "image version", "image size", "image dims", "image toc",
        "plan magic", "plan version", "plan image", "plan count", "descriptor kind",
        "descriptor dims", "descriptor range", "descriptor length", "descriptor align",
        "batch size", "input word", "reserved field",
    };
    return code >= 0 && code < (int32_t)(sizeof names / sizeof names[0]) ? names[code] : "unknown";
}

#ifndef MTX_HAVE_XRT

int mtx_xrt_built(void) { return 0; }

static mtx_status xrt_open(void **state, const mtx_device_opts *o) {
    (void)o;
    *state = NULL;
    return mtx_set_error(MTX_ERR_STATE, "built without XRT (install libxrt-dev and rebuild)");
}
static mtx_status xrt_load_image(void *state, const mtx_image *im) {
    (void)state;
    (void)im;
    return mtx_set_error(MTX_ERR_STATE, "built without XRT");
}
static mtx_status xrt_run(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                          uint64_t plan_len, const int32_t *in, int B, int32_t *out, mtx_device_stats *st) {
    (void)state, (void)im, (void)p, (void)plan_bytes, (void)plan_len, (void)in, (void)B, (void)out, (void)st;
    return mtx_set_error(MTX_ERR_STATE, "built without XRT");
}
static void xrt_close(void *state) { (void)state; }

#else

#include <unistd.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

int mtx_xrt_built(void) { return 1; }

#define MTX_XA(name, ptr, type, bundle, bytes) ARG_##name,
enum { MTX_KERNEL_ARGS(MTX_XA) N_ARGS };
#undef MTX_XA

/* Buffer objects are whole 4 KiB pages: XRT 2.13 backs a buffer with
 * aligned_alloc(4096, size), which C11 allows only for a size that is a
 * multiple of the alignment (AddressSanitizer aborts on the plan's 1600). */
#define BO_PAGE 4096u
static size_t bo_round(uint64_t n) { return (size_t)((n + BO_PAGE - 1) / BO_PAGE * BO_PAGE); }

#define PLAN_MAX_BYTES (MTX_PLAN_HEADER_BYTES + 2u * MTX_MAX_STACK_LAYERS * MTX_DESC_BYTES)
#define IO_MAX_BYTES ((size_t)MTX_MAX_BATCH * MTX_IO_STRIDE * sizeof(int32_t))

typedef struct {
    xrtDeviceHandle dev;
    xrtKernelHandle kernel;
    xrtRunHandle run;
    xrtBufferHandle bo[N_ARGS]; /* NULL for scalars (and image before load) */
    int group[N_ARGS];          /* memory bank of each pointer argument */
    uint64_t image_bytes;       /* bytes of the loaded image, 0 = none */
    uint64_t image_syncs;       /* image transfers since open */
    int verbose;
} xrt_state;

/* XRT aborts the process instead of failing when its runtime is missing, so
 * the environment is checked first: XILINX_XRT, and the shim library XRT
 * will load from it ($XILINX_XRT/lib/libxrt_core.so.2 for cards, _noop,
 * _swemu or _hwemu for XCL_EMULATION_MODE noop, sw_emu, hw_emu). */
static mtx_status runtime_check(void) {
    const char *root = getenv("XILINX_XRT");
    if (!root || !*root)
        return mtx_set_error(MTX_ERR_STATE, "no Alveo card / XRT runtime: XILINX_XRT is not set "
                                            "(source /opt/xilinx/xrt/setup.sh)");
    const char *mode = getenv("XCL_EMULATION_MODE"), *lib = "core";
    if (mode && *mode) {
        if (!strcmp(mode, "noop")) lib = "noop";
        else if (!strcmp(mode, "sw_emu")) lib = "swemu";
        else if (!strcmp(mode, "hw_emu")) lib = "hwemu";
        else
            return mtx_set_error(MTX_ERR_STATE, "XCL_EMULATION_MODE='%s' is not noop, sw_emu or hw_emu", mode);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/lib/libxrt_%s.so.2", root, lib);
    if (access(path, R_OK) != 0)
        return mtx_set_error(MTX_ERR_STATE, "no Alveo card / XRT runtime: %s not found (XILINX_XRT=%s)",
                             path, root);
    return MTX_OK;
}

/* The file must exist and start with XRT's magic, so a wrong path gets our
 * message rather than XRT's. */
static mtx_status xclbin_check(const char *path) {
    if (!path || !*path) return mtx_set_error(MTX_ERR_ARG, "no xclbin given (--xclbin FILE)");
    FILE *f = fopen(path, "rb");
    if (!f) return mtx_set_error(MTX_ERR_IO, "cannot open xclbin %s", path);
    char magic[8] = { 0 };
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (n != sizeof magic || memcmp(magic, "xclbin2", 8) != 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: not an xclbin (magic is not \"xclbin2\")", path);
    return MTX_OK;
}

static void xrt_close(void *state) {
    xrt_state *s = state;
    if (!s) return;
    if (s->run) xrtRunClose(s->run);
    for (int i = 0; i < N_ARGS; i++)
        if (s->bo[i]) xrtBOFree(s->bo[i]);
    if (s->kernel) xrtKernelClose(s->kernel);
    if (s->dev) xrtDeviceClose(s->dev);
    free(s);
}

/* Bytes of the buffer object of pointer argument i (image: at load_image). */
static size_t bo_bytes(int i) {
    switch (i) {
    case ARG_plan: return PLAN_MAX_BYTES;
    case ARG_in: case ARG_out: return IO_MAX_BYTES;
    case ARG_status: return sizeof(int32_t);
    default: return 0;
    }
}

/* Allocates every buffer but the image's, each in its argument's bank, and
 * clears out and status on the card. */
static mtx_status alloc_buffers(xrt_state *s) {
    for (int i = 0; i < N_ARGS; i++) {
        const mtx_kernel_arg *a = mtx_kernel_arg_get(i);
        if (!a->is_pointer) continue;
        s->group[i] = xrtKernelArgGroupId(s->kernel, i);
        if (s->group[i] < 0)
            return mtx_set_error(MTX_ERR_STATE, "kernel argument %d (%s) has no memory bank in the xclbin",
                                 i, a->name);
        if (i == ARG_image) continue;
        size_t n = bo_round(bo_bytes(i));
        if (!n) return mtx_set_error(MTX_ERR_STATE, "no buffer size for kernel argument %s", a->name);
        s->bo[i] = xrtBOAlloc(s->dev, n, XRT_BO_FLAGS_NONE, (xrtMemoryGroup)s->group[i]);
        if (!s->bo[i])
            return mtx_set_error(MTX_ERR_NOMEM, "cannot allocate %zu bytes for %s in bank %d", n, a->name,
                                 s->group[i]);
    }
    static const int32_t zeros[MTX_MAX_BATCH * MTX_IO_STRIDE];
    const int clear[2] = { ARG_out, ARG_status };
    for (int k = 0; k < 2; k++) {
        int i = clear[k];
        if (xrtBOWrite(s->bo[i], zeros, bo_bytes(i), 0) || xrtBOSync(s->bo[i], XCL_BO_SYNC_BO_TO_DEVICE, bo_bytes(i), 0))
            return mtx_set_error(MTX_ERR_IO, "cannot clear the %s buffer", mtx_kernel_arg_get(i)->name);
    }
    return MTX_OK;
}

static mtx_status xrt_open(void **state, const mtx_device_opts *o) {
    *state = NULL;
    mtx_status st = runtime_check();
    if (st != MTX_OK) return st;
    if ((st = xclbin_check(o->xclbin)) != MTX_OK) return st;
    if (o->device_index < 0) return mtx_set_error(MTX_ERR_ARG, "device index %d < 0", o->device_index);
    xrt_state *s = calloc(1, sizeof *s);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    s->verbose = o->verbose;
    s->dev = xrtDeviceOpen((unsigned)o->device_index);
    if (!s->dev) {
        xrt_close(s);
        return mtx_set_error(MTX_ERR_STATE, "no Alveo card / XRT runtime: no card at index %d "
                                            "(xrtDeviceOpen failed; xbutil examine lists the cards)", o->device_index);
    }
    xuid_t uuid;
    if (xrtDeviceLoadXclbinFile(s->dev, o->xclbin) != 0) {
        st = mtx_set_error(MTX_ERR_STATE, "card %d refused xclbin %s", o->device_index, o->xclbin);
    } else if (xrtDeviceGetXclbinUUID(s->dev, uuid) != 0) {
        st = mtx_set_error(MTX_ERR_STATE, "cannot read the uuid of xclbin %s", o->xclbin);
    } else if (!(s->kernel = xrtPLKernelOpen(s->dev, uuid, MTX_KERNEL_NAME))) {
        st = mtx_set_error(MTX_ERR_STATE, "xclbin %s has no kernel %s", o->xclbin, MTX_KERNEL_NAME);
    } else if ((st = alloc_buffers(s)) == MTX_OK && !(s->run = xrtRunOpen(s->kernel))) {
        st = mtx_set_error(MTX_ERR_STATE, "cannot create a run of kernel %s", MTX_KERNEL_NAME);
    }
    if (st != MTX_OK) {
        xrt_close(s);
        return st;
    }
    *state = s;
    return MTX_OK;
}

static mtx_status xrt_load_image(void *state, const mtx_image *im) {
    xrt_state *s = state;
    if (!im || !im->data || !im->bytes) return mtx_set_error(MTX_ERR_ARG, "empty image");
    if (im->bytes > MTX_MAX_IMAGE_BYTES)
        return mtx_set_error(MTX_ERR_ARG, "image of %llu bytes exceeds %u", (unsigned long long)im->bytes,
                             MTX_MAX_IMAGE_BYTES);
    if (s->bo[ARG_image] && xrtBOSize(s->bo[ARG_image]) != bo_round(im->bytes)) {
        xrtBOFree(s->bo[ARG_image]);
        s->bo[ARG_image] = NULL;
    }
    s->image_bytes = 0;
    if (!s->bo[ARG_image]) {
        s->bo[ARG_image] = xrtBOAlloc(s->dev, bo_round(im->bytes), XRT_BO_FLAGS_NONE, (xrtMemoryGroup)s->group[ARG_image]);
        if (!s->bo[ARG_image])
            return mtx_set_error(MTX_ERR_NOMEM, "cannot allocate %llu bytes for the image in bank %d",
                                 (unsigned long long)im->bytes, s->group[ARG_image]);
    }
    if (xrtBOWrite(s->bo[ARG_image], im->data, (size_t)im->bytes, 0) ||
        xrtBOSync(s->bo[ARG_image], XCL_BO_SYNC_BO_TO_DEVICE, (size_t)im->bytes, 0))
        return mtx_set_error(MTX_ERR_IO, "cannot transfer the image (%llu bytes) to the card",
                             (unsigned long long)im->bytes);
    s->image_bytes = im->bytes;
    s->image_syncs++;
    return MTX_OK;
}

/* Host buffer -> buffer object i -> card (bytes at offset 0). */
static mtx_status to_card(xrt_state *s, int i, const void *src, size_t bytes) {
    if (xrtBOWrite(s->bo[i], src, bytes, 0) || xrtBOSync(s->bo[i], XCL_BO_SYNC_BO_TO_DEVICE, bytes, 0))
        return mtx_set_error(MTX_ERR_IO, "cannot transfer %s (%zu bytes) to the card",
                             mtx_kernel_arg_get(i)->name, bytes);
    return MTX_OK;
}

static mtx_status from_card(xrt_state *s, int i, void *dst, size_t bytes) {
    if (xrtBOSync(s->bo[i], XCL_BO_SYNC_BO_FROM_DEVICE, bytes, 0) || xrtBORead(s->bo[i], dst, bytes, 0))
        return mtx_set_error(MTX_ERR_IO, "cannot read %s (%zu bytes) from the card",
                             mtx_kernel_arg_get(i)->name, bytes);
    return MTX_OK;
}

/* Sets every argument of the run, in MTX_KERNEL_ARGS order; XRT reads a
 * scalar with va_arg by its size in the xclbin (4: uint32_t, 8: uint64_t). */
static mtx_status set_args(xrt_state *s, uint64_t plan_len, int B) {
    uint64_t scalar[N_ARGS] = { 0 };
    scalar[ARG_image_bytes] = s->image_bytes;
    scalar[ARG_plan_bytes] = plan_len;
    scalar[ARG_batch] = (uint64_t)B;
    for (int i = 0; i < N_ARGS; i++) {
        const mtx_kernel_arg *a = mtx_kernel_arg_get(i);
        int rc;
        if (a->is_pointer) rc = xrtRunSetArg(s->run, i, s->bo[i]);
        else if (a->bytes == 8) rc = xrtRunSetArg(s->run, i, (uint64_t)scalar[i]);
        else rc = xrtRunSetArg(s->run, i, (uint32_t)scalar[i]);
        if (rc) return mtx_set_error(MTX_ERR_STATE, "cannot set kernel argument %d (%s)", i, a->name);
    }
    return MTX_OK;
}

static mtx_status xrt_run(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                          uint64_t plan_len, const int32_t *in, int B, int32_t *out, mtx_device_stats *st) {
    xrt_state *s = state;
    (void)p;
    if (!s->image_bytes || !im || im->bytes != s->image_bytes)
        return mtx_set_error(MTX_ERR_STATE, "no image loaded (or another image than the one loaded)");
    if (B < 1 || B > MTX_MAX_BATCH) return mtx_set_error(MTX_ERR_ARG, "batch %d outside [1, %d]", B, MTX_MAX_BATCH);
    if (!plan_bytes || plan_len < MTX_PLAN_HEADER_BYTES || plan_len > PLAN_MAX_BYTES)
        return mtx_set_error(MTX_ERR_ARG, "plan of %llu bytes outside [%u, %u]", (unsigned long long)plan_len,
                             MTX_PLAN_HEADER_BYTES, (unsigned)PLAN_MAX_BYTES);
    size_t io = (size_t)B * MTX_IO_STRIDE * sizeof(int32_t);
    mtx_status rc;
    if ((rc = to_card(s, ARG_plan, plan_bytes, (size_t)plan_len)) != MTX_OK) return rc;
    if ((rc = to_card(s, ARG_in, in, io)) != MTX_OK) return rc;
    if ((rc = set_args(s, plan_len, B)) != MTX_OK) return rc;
    if (xrtRunStart(s->run)) return mtx_set_error(MTX_ERR_STATE, "cannot start kernel %s", MTX_KERNEL_NAME);
    enum ert_cmd_state done = xrtRunWait(s->run);
    if (done != ERT_CMD_STATE_COMPLETED)
        return mtx_set_error(MTX_ERR_STATE, "kernel %s ended in command state %d, not completed",
                             MTX_KERNEL_NAME, (int)done);
    int32_t status;
    if ((rc = from_card(s, ARG_status, &status, sizeof status)) != MTX_OK) return rc;
    if (status != MTX_ENG_OK)
        return mtx_set_error(MTX_ERR_FORMAT, "kernel status %d (%s)", (int)status,
                             mtx_engine_status_name(status));
    if ((rc = from_card(s, ARG_out, out, io)) != MTX_OK) return rc;
    if (st) st->image_loads = s->image_syncs;
    return MTX_OK;
}

#endif

const mtx_backend mtx_backend_xrt = { "xrt", xrt_open, xrt_load_image, xrt_run, xrt_close };
