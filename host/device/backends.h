/* backends.h - the compiled-in backends of the device interface (device.c
 * lists them in one table). A backend adds its mtx_backend here and one line
 * to that table. */
#ifndef MTX_BACKENDS_H
#define MTX_BACKENDS_H

#include "device/device.h"

extern const mtx_backend mtx_backend_ref; /* backend_ref.c: the golden model */
extern const mtx_backend mtx_backend_rtl; /* backend_rtl.c: the RTL under Verilator (a subprocess) */
extern const mtx_backend mtx_backend_xrt; /* backend_xrt.c: the HLS kernel on an Alveo card (XRT) */
extern const mtx_backend mtx_backend_csim; /* backend_csim.c: the HLS kernel compiled natively */

#endif
