/* mtx.c - status strings and the per-thread last-error detail. */
#include "core/mtx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Thread_local char g_err[512];
static _Thread_local mtx_status g_err_status;

const char *mtx_strerror(mtx_status s) {
    switch (s) {
    case MTX_OK: return "success";
    case MTX_ERR_NOMEM: return "out of memory";
    case MTX_ERR_IO: return "input/output error";
    case MTX_ERR_FORMAT: return "corrupt or invalid file";
    case MTX_ERR_ARG: return "invalid argument";
    case MTX_ERR_DATA: return "invalid input data";
    case MTX_ERR_NUMERIC: return "non-finite value";
    case MTX_ERR_STATE: return "invalid state";
    }
    return "unknown error";
}

mtx_status mtx_set_error(mtx_status s, const char *fmt, ...) {
    /* formatted apart first, so an argument may be mtx_last_error() itself
     * (a caller adding context to the detail it got) */
    char buf[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(g_err, buf, sizeof g_err);
    g_err_status = s;
    return s;
}

const char *mtx_last_error(void) {
    if (g_err[0] == '\0') return mtx_strerror(g_err_status);
    return g_err;
}

void mtx_clear_error(void) {
    g_err[0] = '\0';
    g_err_status = MTX_OK;
}

double mtx_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
