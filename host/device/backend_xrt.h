/* backend_xrt.h - the xrt backend: the HLS kernel (hls/) on an Alveo card
 * through XRT's native C API (libxrt_coreutil).
 *
 * open: checks the XRT runtime first (XILINX_XRT and its shim library,
 * because XRT aborts the process when they are missing), opens card
 * opts->device_index, loads opts->xclbin, opens kernel MTX_KERNEL_NAME and
 * allocates one buffer object per pointer argument in that argument's memory
 * bank. load_image writes and syncs the image once. run writes and syncs
 * the plan and the inputs, starts the kernel with every argument of
 * MTX_KERNEL_ARGS, waits, and reads back the status word and the outputs;
 * a non-zero status is a one-line error naming the engine status code.
 * Built without XRT headers (no MTX_HAVE_XRT), open fails with "built
 * without XRT". Error details do not name the backend: the device
 * interface (device.c) prefixes "xrt: ". */
#ifndef MTX_BACKEND_XRT_H
#define MTX_BACKEND_XRT_H

#include "device/device.h"

extern const mtx_backend mtx_backend_xrt;

/* 1 when this build links XRT (MTX_HAVE_XRT), else 0. */
int mtx_xrt_built(void);

/* Name of an engine status code (format/layout.h), "unknown" if none. */
const char *mtx_engine_status_name(int32_t code);

#endif
