/* test_xrt.c - the kernel argument table, the metadata-only xclbin and the
 * xrt backend's whole call sequence against XRT's no-op shim.
 *
 * The no-op shim (XCL_EMULATION_MODE=noop) runs no kernel: buffer objects
 * are host memory and the outputs keep what the host left in them (zeros).
 * These tests check the plumbing (which buffers are written and synced how
 * often, which arguments the run gets, how the status word is read and
 * reported), not arithmetic; the engines' arithmetic is checked against the
 * golden model by the ref/csim/rtl suites.
 *
 * To see XRT's side of the sequence this file interposes xrtBOSync,
 * xrtBOWrite, xrtBORead and xrtRunSetArg (the test binary's definitions win
 * over libxrt_coreutil's; each records what it got and calls XRT's own via
 * dlsym(RTLD_NEXT)). Without libxrt (no MTX_HAVE_XRT) the XRT tests print
 * "skipped: no libxrt" and pass. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "device/backend_xrt.h"
#include "device/xclbin.h"
#include "testutil.h"

/* Control-register offsets by the Vitis HLS rule (0x10 first, each argument
 * its data words plus one reserved word), computed by hand for
 * image, plan, in, out, status (64-bit pointers: 12 bytes each),
 * image_bytes (u64: 12), plan_bytes, batch (u32: 8 each). */
static const uint32_t want_offset[] = { 0x10, 0x1c, 0x28, 0x34, 0x40, 0x4c, 0x58, 0x60 };
static const int want_bank[] = { 0, 1, 2, 3, 3, -1, -1, -1 }; /* gmem0..gmem3, out+status share gmem3 */

static void test_arg_table(void) {
    CU_ASSERT_EQUAL_FATAL(mtx_kernel_arg_count(), 8);
    for (int i = 0; i < 8; i++) {
        const mtx_kernel_arg *a = mtx_kernel_arg_get(i);
        CU_ASSERT_EQUAL(a->offset, want_offset[i]);
        CU_ASSERT_EQUAL(a->bank, want_bank[i]);
        CU_ASSERT_EQUAL(a->is_pointer, i < 5);
        CU_ASSERT_EQUAL(mtx_kernel_arg_index(a->name), i);
    }
    CU_ASSERT_STRING_EQUAL(mtx_kernel_arg_get(7)->name, "batch");
    CU_ASSERT_EQUAL(mtx_kernel_arg_get(5)->bytes, 8);
    CU_ASSERT_EQUAL(mtx_kernel_regs_end(), 0x68);
    CU_ASSERT_EQUAL(mtx_kernel_bank_count(), 4);
    CU_ASSERT_PTR_NULL(mtx_kernel_arg_get(8));
    CU_ASSERT_EQUAL(mtx_kernel_arg_index("nope"), -1);
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The container read back by hand (offsets from XRT's xclbin.h: header at
 * 304, length at +0, section count at +144, section headers from 456). */
static void test_xclbin_container(void) {
    uint8_t *a, *b;
    uint64_t na, nb;
    CU_ASSERT_EQUAL_FATAL(mtx_xclbin_build(&a, &na), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_xclbin_build(&b, &nb), MTX_OK);
    CU_ASSERT(na == nb && memcmp(a, b, na) == 0); /* deterministic */
    CU_ASSERT(memcmp(a, "xclbin2", 8) == 0);
    CU_ASSERT_EQUAL(le64(a + 304), na);
    CU_ASSERT_EQUAL(le32(a + 304 + 144), 4);
    uint32_t kinds[4];
    const char *xml = NULL;
    for (int i = 0; i < 4; i++) {
        const uint8_t *h = a + 456 + 40 * i;
        kinds[i] = le32(h);
        uint64_t off = le64(h + 24), len = le64(h + 32);
        CU_ASSERT(off % 8 == 0 && off >= 456 + 4 * 40 && off + len <= na);
        if (kinds[i] == 2) xml = (const char *)a + off;
        if (kinds[i] == 7) { /* CONNECTIVITY: 5 pointer arguments, each in its bank */
            CU_ASSERT_EQUAL(le32(a + off), 5);
            for (int k = 0; k < 5; k++) {
                CU_ASSERT_EQUAL(le32(a + off + 4 + 12 * k), (uint32_t)k);
                CU_ASSERT_EQUAL(le32(a + off + 4 + 12 * k + 8), (uint32_t)want_bank[k]);
            }
        }
    }
    CU_ASSERT(kinds[0] == 6 && kinds[1] == 8 && kinds[2] == 7 && kinds[3] == 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<arg name=\"status\" addressQualifier=\"1\" id=\"4\" port=\"M_AXI_gmem3\" "
                                       "size=\"0x8\" offset=\"0x40\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<arg name=\"batch\" addressQualifier=\"0\" id=\"7\" port=\"S_AXI_CONTROL\" "
                                       "size=\"0x4\" offset=\"0x60\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<kernel name=\"mtx_engine\""));
    free(a);
    free(b);
}

static void test_status_names(void) {
    CU_ASSERT_STRING_EQUAL(mtx_engine_status_name(0), "ok");
    CU_ASSERT_STRING_EQUAL(mtx_engine_status_name(8), "plan image");
    CU_ASSERT_STRING_EQUAL(mtx_engine_status_name(17), "reserved field");
    CU_ASSERT_STRING_EQUAL(mtx_engine_status_name(18), "unknown");
    CU_ASSERT_STRING_EQUAL(mtx_engine_status_name(-1), "unknown");
}

#ifndef MTX_HAVE_XRT

static void test_xrt_skipped(void) {
    printf("skipped: no libxrt ");
    CU_PASS("skipped: no libxrt");
    CU_ASSERT_EQUAL(mtx_xrt_built(), 0);
    mtx_device_opts o = { "x.xclbin", 0, 0 };
    void *s = (void *)1;
    CU_ASSERT_EQUAL(mtx_backend_xrt.open(&s, &o), MTX_ERR_STATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "built without XRT"));
}

void mtx_suite_xrt(void) {
    CU_pSuite s = CU_add_suite("xrt", NULL, NULL);
    CU_add_test(s, "kernel argument table (Vitis HLS register offsets)", test_arg_table);
    CU_add_test(s, "xclbin container read back by hand", test_xclbin_container);
    CU_add_test(s, "engine status names", test_status_names);
    CU_add_test(s, "xrt backend (skipped: no libxrt)", test_xrt_skipped);
}

#else

#include <dlfcn.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "device/device.h"
#include "cli_util.h"
#include "format_fixture.h"
#include "hls/mtx_kernel_args.h"

/* ---- what XRT received (interposed calls) ----
 * Buffers are told apart by handle: the run's arguments name them. */
typedef struct {
    xrtBufferHandle bo;
    int dir;       /* XCL_BO_SYNC_BO_TO_DEVICE / _FROM_DEVICE */
    size_t bytes;  /* bytes synced */
} sync_rec;
static sync_rec g_syncs[256];
static int g_n_syncs;
static xrtBufferHandle g_bo[8];  /* buffer of each pointer argument (last run) */
static uint64_t g_arg[8];        /* last value per argument (pointers: the buffer's size) */
static int g_args_set[8];        /* how many times each index was set */
static struct {
    xrtBufferHandle bo;
    uLong crc;
} g_writes[16];                  /* crc32 of the last write to each buffer */
static int32_t g_inject_status;  /* returned by reads of the status word when non-zero */

static void *real(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "test_xrt: dlsym(%s) failed\n", name);
        abort();
    }
    return f;
}

static uLong last_write_crc(xrtBufferHandle bo) {
    for (int i = 0; i < 16; i++)
        if (g_writes[i].bo == bo) return g_writes[i].crc;
    return 0;
}

int xrtBOSync(xrtBufferHandle bo, enum xclBOSyncDirection dir, size_t size, size_t offset) {
    int (*f)(xrtBufferHandle, enum xclBOSyncDirection, size_t, size_t) =
        (int (*)(xrtBufferHandle, enum xclBOSyncDirection, size_t, size_t))real("xrtBOSync");
    if (g_n_syncs < 256) g_syncs[g_n_syncs++] = (sync_rec){ bo, (int)dir, size };
    return f(bo, dir, size, offset);
}

int xrtBOWrite(xrtBufferHandle bo, const void *src, size_t size, size_t seek) {
    int (*f)(xrtBufferHandle, const void *, size_t, size_t) =
        (int (*)(xrtBufferHandle, const void *, size_t, size_t))real("xrtBOWrite");
    int i = 0;
    while (i < 15 && g_writes[i].bo && g_writes[i].bo != bo) i++;
    g_writes[i].bo = bo;
    g_writes[i].crc = crc32(0L, src, (uInt)size);
    return f(bo, src, size, seek);
}

int xrtBORead(xrtBufferHandle bo, void *dst, size_t size, size_t skip) {
    int (*f)(xrtBufferHandle, void *, size_t, size_t) =
        (int (*)(xrtBufferHandle, void *, size_t, size_t))real("xrtBORead");
    int rc = f(bo, dst, size, skip);
    if (g_inject_status && bo == g_bo[4] && size == 4) memcpy(dst, &g_inject_status, 4);
    return rc;
}

int xrtRunSetArg(xrtRunHandle run, int index, ...) {
    va_list ap;
    va_start(ap, index);
    int rc;
    const mtx_kernel_arg *a = mtx_kernel_arg_get(index);
    if (!a) {
        va_end(ap);
        return -1;
    }
    if (a->is_pointer) {
        xrtBufferHandle bo = va_arg(ap, xrtBufferHandle);
        g_bo[index] = bo;
        g_arg[index] = bo ? xrtBOSize(bo) : 0;
        rc = ((int (*)(xrtRunHandle, int, ...))real("xrtRunSetArg"))(run, index, bo);
    } else if (a->bytes == 8) {
        uint64_t v = va_arg(ap, uint64_t);
        g_arg[index] = v;
        rc = ((int (*)(xrtRunHandle, int, ...))real("xrtRunSetArg"))(run, index, v);
    } else {
        uint32_t v = va_arg(ap, uint32_t);
        g_arg[index] = v;
        rc = ((int (*)(xrtRunHandle, int, ...))real("xrtRunSetArg"))(run, index, v);
    }
    va_end(ap);
    g_args_set[index]++;
    return rc;
}

/* Syncs of argument arg's buffer in direction dir (of that many bytes, or any when 0). */
static int count_syncs(int arg, int dir, size_t bytes) {
    int n = 0;
    for (int i = 0; i < g_n_syncs; i++)
        n += g_syncs[i].bo == g_bo[arg] && g_syncs[i].dir == dir && (!bytes || g_syncs[i].bytes == bytes);
    return n;
}

/* ---- the no-op runtime: $XILINX_XRT/lib with the system's shims ---- */
static char g_xrt_root[64], g_xclbin[128];

static int suite_init(void) {
    if (cli_suite_init() != 0) return -1;
    strcpy(g_xrt_root, "/tmp/modtx-xrt-XXXXXX");
    if (!mkdtemp(g_xrt_root)) return -1;
    Dl_info info;
    if (!dladdr((void *)xrtDeviceOpen, &info) || !info.dli_fname) return -1;
    char libdir[4096], lib[4200], link[4200];
    snprintf(libdir, sizeof libdir, "%s", info.dli_fname);
    dirname(libdir); /* where Debian put libxrt_coreutil.so.2 and the shims */
    snprintf(link, sizeof link, "%s/lib", g_xrt_root);
    if (mkdir(link, 0755) != 0) return -1;
    const char *shims[] = { "libxrt_core.so.2", "libxrt_noop.so.2" };
    for (int i = 0; i < 2; i++) {
        snprintf(lib, sizeof lib, "%s/%s", libdir, shims[i]);
        snprintf(link, sizeof link, "%s/lib/%s", g_xrt_root, shims[i]);
        if (symlink(lib, link) != 0) return -1;
    }
    snprintf(g_xclbin, sizeof g_xclbin, "%s/engine.xclbin", g_xrt_root);
    return mtx_xclbin_write(g_xclbin) == MTX_OK ? 0 : -1;
}

static int suite_clean(void) {
    mtx_test_rm_tree(g_xrt_root);
    return cli_suite_clean();
}

static mtx_status open_err(const char *root, const char *mode, const char *xclbin) {
    if (root) setenv("XILINX_XRT", root, 1);
    else unsetenv("XILINX_XRT");
    if (mode) setenv("XCL_EMULATION_MODE", mode, 1);
    else unsetenv("XCL_EMULATION_MODE");
    mtx_device_opts o = { xclbin, 0, 0 };
    void *s = (void *)1;
    mtx_status st = mtx_backend_xrt.open(&s, &o);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NULL(strchr(mtx_last_error(), '\n'));
    return st;
}

/* Each check runs before XRT is touched: without them XRT aborts the
 * process (checked: exit 134 "XILINX_XRT not set" / "No such library"). */
static void test_no_runtime(void) {
    CU_ASSERT_EQUAL(open_err(NULL, NULL, g_xclbin), MTX_ERR_STATE);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "no Alveo card / XRT runtime: XILINX_XRT is not set "
                                             "(source /opt/xilinx/xrt/setup.sh)");
    CU_ASSERT_EQUAL(open_err("/nonexistent", NULL, g_xclbin), MTX_ERR_STATE);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "no Alveo card / XRT runtime: /nonexistent/lib/libxrt_core.so.2 "
                                             "not found (XILINX_XRT=/nonexistent)");
    CU_ASSERT_EQUAL(open_err("/nonexistent", "noop", g_xclbin), MTX_ERR_STATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "/nonexistent/lib/libxrt_noop.so.2 not found"));
    CU_ASSERT_EQUAL(open_err(g_xrt_root, "sw_emu", g_xclbin), MTX_ERR_STATE); /* no swemu shim linked */
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "/lib/libxrt_swemu.so.2 not found"));
    CU_ASSERT_EQUAL(open_err(g_xrt_root, "bogus", g_xclbin), MTX_ERR_STATE);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "XCL_EMULATION_MODE='bogus' is not noop, sw_emu or hw_emu");
}

static void test_bad_xclbin(void) {
    char path[160];
    CU_ASSERT_EQUAL(open_err(g_xrt_root, "noop", NULL), MTX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "no xclbin given (--xclbin FILE)");
    snprintf(path, sizeof path, "%s/missing.xclbin", g_xrt_root);
    CU_ASSERT_EQUAL(open_err(g_xrt_root, "noop", path), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "cannot open xclbin"));
    snprintf(path, sizeof path, "%s/lib/libxrt_noop.so.2", g_xrt_root);
    CU_ASSERT_EQUAL(open_err(g_xrt_root, "noop", path), MTX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "not an xclbin (magic is not \"xclbin2\")"));
}

/* XRT itself reads the xclbin: the register offset and memory bank it
 * reports for every argument are the hand-computed ones. */
static void test_xrt_reads_xclbin(void) {
    setenv("XILINX_XRT", g_xrt_root, 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    xrtDeviceHandle d = xrtDeviceOpen(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL_FATAL(xrtDeviceLoadXclbinFile(d, g_xclbin), 0);
    xuid_t uuid;
    CU_ASSERT_EQUAL_FATAL(xrtDeviceGetXclbinUUID(d, uuid), 0);
    xrtKernelHandle k = xrtPLKernelOpen(d, uuid, MTX_KERNEL_NAME);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(xrtKernelArgOffset(k, i), want_offset[i]);
        if (want_bank[i] >= 0) CU_ASSERT_EQUAL(xrtKernelArgGroupId(k, i), want_bank[i]);
    }
    xrtKernelClose(k);
    xrtDeviceClose(d);
}

/* B words of input: word w is [1, w % 5 + 3] (any bytes do: no kernel runs). */
static int32_t *make_input(int B) {
    int32_t *in = calloc((size_t)B * MTX_IO_STRIDE, sizeof *in);
    for (int w = 0; w < B; w++) {
        in[w * MTX_IO_STRIDE] = 1;
        in[w * MTX_IO_STRIDE + 1] = w % 5 + 3;
    }
    return in;
}

/* Three plans over the format fixture's image (format_fixture.h): teacher
 * 1x, m2.0 in the encoder, m2.0 in both stacks; batches of 1, 3 and 64. */
static void test_noop_sequence(void) {
    setenv("XILINX_XRT", g_xrt_root, 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    uint8_t *img;
    uint64_t img_bytes;
    mtx_image im;
    CU_ASSERT_EQUAL_FATAL(fixture_image(&img, &img_bytes), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_image_parse(&im, img, img_bytes, "fixture"), MTX_OK);
    const size_t plan_max = 64 + 2 * 12 * 64, io_max = 64 * 65 * 4;
    const uint32_t t[2] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) }, m2[1] = { MTX_ORIGIN(2, 0) };
    mtx_plan plan[3];
    uint8_t *pb[3] = { NULL, NULL, NULL };
    uint64_t plan_len[3];
    CU_ASSERT_EQUAL_FATAL(mtx_plan_from_origins(&plan[0], &im, t, 2, t, 2, 100), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_plan_from_origins(&plan[1], &im, m2, 1, t, 2, 133), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_plan_from_origins(&plan[2], &im, m2, 1, m2, 1, 200), MTX_OK);
    for (int r = 0; r < 3; r++) CU_ASSERT_EQUAL_FATAL(mtx_plan_encode(&plan[r], &pb[r], &plan_len[r]), MTX_OK);
    CU_ASSERT(plan_len[0] == 320 && plan_len[1] == 256 && plan_len[2] == 192);

    mtx_device_opts o = { g_xclbin, 0, 0 };
    mtx_device *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_device_open(&d, "xrt", &o), MTX_OK);
    g_n_syncs = 0;
    memset(g_args_set, 0, sizeof g_args_set);
    CU_ASSERT_EQUAL_FATAL(mtx_device_load_image(d, &im), MTX_OK);
    const int batches[3] = { 1, 3, 64 };
    static int32_t out[64 * MTX_IO_STRIDE];
    for (int r = 0; r < 3; r++) {
        int32_t *in = make_input(batches[r]);
        memset(out, 0x5a, sizeof out);
        CU_ASSERT_EQUAL(mtx_device_run(d, &plan[r], pb[r], plan_len[r], in, batches[r], out), MTX_OK);
        CU_ASSERT_EQUAL(last_write_crc(g_bo[1]), crc32(0L, pb[r], (uInt)plan_len[r]));
        CU_ASSERT_EQUAL(last_write_crc(g_bo[2]), crc32(0L, (const Bytef *)in, (uInt)(batches[r] * MTX_IO_STRIDE * 4)));
        /* Every argument set once per run, scalars with this batch's values. */
        for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(g_args_set[i], r + 1);
        /* Five distinct buffers, each large enough (whole 4 KiB pages). */
        CU_ASSERT(g_arg[0] >= img_bytes && g_arg[1] >= plan_max && g_arg[2] >= io_max && g_arg[3] >= io_max &&
                  g_arg[4] >= 4);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < i; j++) CU_ASSERT(g_bo[i] && g_bo[i] != g_bo[j]);
        CU_ASSERT_EQUAL(g_arg[5], img_bytes);
        CU_ASSERT_EQUAL(g_arg[6], plan_len[r]);
        CU_ASSERT_EQUAL(g_arg[7], (uint64_t)batches[r]);
        /* The outputs are what the host left on the card: cleared at open. */
        int zero = 1;
        for (int i = 0; i < batches[r] * MTX_IO_STRIDE; i++) zero &= out[i] == 0;
        CU_ASSERT(zero);
        if (batches[r] < 64) CU_ASSERT_EQUAL(out[batches[r] * MTX_IO_STRIDE], 0x5a5a5a5a); /* past B words: untouched */
        free(in);
    }
    /* The image went to the card once; plans and inputs once per batch, with
     * exactly the bytes each batch uses; status and outputs came back once per batch. */
    CU_ASSERT_EQUAL(mtx_device_stats_get(d)->image_loads, 1);
    CU_ASSERT_EQUAL(mtx_device_stats_get(d)->batches, 3);
    CU_ASSERT_EQUAL(last_write_crc(g_bo[0]), crc32(0L, img, (uInt)img_bytes));
    CU_ASSERT_EQUAL(count_syncs(0, XCL_BO_SYNC_BO_TO_DEVICE, img_bytes), 1);
    CU_ASSERT_EQUAL(count_syncs(0, XCL_BO_SYNC_BO_TO_DEVICE, 0), 1);
    for (int r = 0; r < 3; r++) {
        size_t io = (size_t)batches[r] * MTX_IO_STRIDE * 4;
        CU_ASSERT_EQUAL(count_syncs(1, XCL_BO_SYNC_BO_TO_DEVICE, plan_len[r]), 1);
        CU_ASSERT_EQUAL(count_syncs(2, XCL_BO_SYNC_BO_TO_DEVICE, io), 1);
        CU_ASSERT_EQUAL(count_syncs(3, XCL_BO_SYNC_BO_FROM_DEVICE, io), 1);
    }
    CU_ASSERT_EQUAL(count_syncs(1, XCL_BO_SYNC_BO_TO_DEVICE, 0), 3);
    CU_ASSERT_EQUAL(count_syncs(2, XCL_BO_SYNC_BO_TO_DEVICE, 0), 3);
    CU_ASSERT_EQUAL(count_syncs(3, XCL_BO_SYNC_BO_FROM_DEVICE, 0), 3);
    CU_ASSERT_EQUAL(count_syncs(4, XCL_BO_SYNC_BO_FROM_DEVICE, 4), 3);
    CU_ASSERT_EQUAL(g_n_syncs, 1 + 3 * 4);

    /* A non-zero status word: a one-line error naming the code, outputs untouched. */
    g_inject_status = MTX_ENG_INPUT;
    int32_t *in = make_input(2);
    memset(out, 0x5a, sizeof out);
    CU_ASSERT_EQUAL(mtx_device_run(d, &plan[0], pb[0], plan_len[0], in, 2, out), MTX_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "xrt: kernel status 16 (input word)");
    CU_ASSERT_EQUAL(out[0], 0x5a5a5a5a);
    g_inject_status = 0;
    mtx_device_close(d);

    /* The backend's own bounds, refused before anything moves. */
    void *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mtx_backend_xrt.open(&s, &o), MTX_OK);
    CU_ASSERT_EQUAL(mtx_backend_xrt.run(s, &im, &plan[0], pb[0], plan_len[0], in, 1, out, NULL), MTX_ERR_STATE);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "no image loaded (or another image than the one loaded)");
    CU_ASSERT_EQUAL_FATAL(mtx_backend_xrt.load_image(s, &im), MTX_OK);
    int before = g_n_syncs;
    CU_ASSERT_EQUAL(mtx_backend_xrt.run(s, &im, &plan[0], pb[0], 64, in, 0, out, NULL), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_backend_xrt.run(s, &im, &plan[0], pb[0], 64, in, 65, out, NULL), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_backend_xrt.run(s, &im, &plan[0], pb[0], 63, in, 1, out, NULL), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(mtx_backend_xrt.run(s, &im, &plan[0], pb[0], plan_max + 1, in, 1, out, NULL), MTX_ERR_ARG);
    CU_ASSERT_EQUAL(g_n_syncs, before);
    mtx_backend_xrt.close(s);
    free(in);
    for (int r = 0; r < 3; r++) free(pb[r]);
    free(img);
}

/* An export folder for `modtx run`: the fixture image, its teacher plan and
 * vocabularies of its sizes (6 and 6). Returns the image path. */
static const char *write_export(char *plan_path, size_t cap) {
    static char img_path[4200];
    uint8_t *img, *pb;
    uint64_t n, pn;
    mtx_image im;
    mtx_plan p;
    const uint32_t t[2] = { MTX_ORIGIN(1, 0), MTX_ORIGIN(1, 1) };
    if (fixture_image(&img, &n) || mtx_image_parse(&im, img, n, "fixture")) return NULL;
    if (mtx_plan_from_origins(&p, &im, t, 2, t, 2, 100) || mtx_plan_encode(&p, &pb, &pn)) return NULL;
    snprintf(img_path, sizeof img_path, "%s/image.bin", g_dir);
    snprintf(plan_path, cap, "%s/1.00x.plan", g_dir);
    const char *sv = "<pad>\na\nb\nc\nd\ne\n", *tv = "<pad>\n<s>\n</s>\nAA\nB\nK\n";
    int bad = mtx_write_file_atomic(img_path, img, n) || mtx_write_file_atomic(plan_path, pb, pn) ||
              mtx_write_file_atomic(tmp_path("source_vocab.txt", 0), sv, strlen(sv)) ||
              mtx_write_file_atomic(tmp_path("target_vocab.txt", 0), tv, strlen(tv));
    free(img);
    free(pb);
    return bad ? NULL : img_path;
}

/* modtx xclbin writes what mtx_xclbin_build builds; modtx run --backend xrt
 * without a runtime is a one-line error, with the no-op shim it runs. */
static void test_cli(void) {
    CU_ASSERT_FATAL(bin_ok());
    const char *xb = tmp_path("cli.xclbin", 0);
    run_result r = RUN("xclbin", "--out", xb);
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    uint8_t *want, *got = NULL;
    uint64_t nw;
    size_t ng = 0;
    CU_ASSERT_EQUAL_FATAL(mtx_xclbin_build(&want, &nw), MTX_OK);
    CU_ASSERT_EQUAL(mtx_read_file(xb, 1 << 20, &got, &ng), MTX_OK);
    CU_ASSERT(got && ng == nw && memcmp(got, want, nw) == 0);
    free(want);
    free(got);
    r = RUN("xclbin");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(one_line(r.err) && has(r.err, "--out FILE is required"));
    run_free(&r);

    char plan[4200], xclbin[4200];
    snprintf(xclbin, sizeof xclbin, "%s", xb);
    const char *img = write_export(plan, sizeof plan);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    unsetenv("XILINX_XRT");
    unsetenv("XCL_EMULATION_MODE");
    r = RUN("run", "--backend", "xrt", "--xclbin", xclbin, "--image", img, "--plan", plan, "ab");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(one_line(r.err) && has(r.err, "modtx run: xrt: no Alveo card / XRT runtime: XILINX_XRT is not set"));
    if (r.status != 1) show("run without runtime", &r);
    run_free(&r);
    /* The runtime without a card: XRT prints its own "[XRT] ERROR" line
     * before ours, so only the last line is ours. */
    setenv("XILINX_XRT", g_xrt_root, 1);
    r = RUN("run", "--backend", "xrt", "--xclbin", xclbin, "--image", img, "--plan", plan, "ab");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT(has(r.err, "modtx run: xrt: no Alveo card / XRT runtime: no card at index 0"));
    run_free(&r);
    /* The no-op shim runs no kernel: the output is the empty transcription
     * the cleared output buffer holds (plumbing, not arithmetic). */
    setenv("XCL_EMULATION_MODE", "noop", 1);
    r = RUN("run", "--backend", "xrt", "--xclbin", xclbin, "--image", img, "--plan", plan, "ab", "ca");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(r.out && !strcmp(r.out, "ab\t\nca\t\n"));
    if (r.status != 0) show("run on the no-op shim", &r);
    run_free(&r);
}

void mtx_suite_xrt(void) {
    CU_pSuite s = CU_add_suite("xrt", suite_init, suite_clean);
    CU_add_test(s, "kernel argument table (Vitis HLS register offsets)", test_arg_table);
    CU_add_test(s, "xclbin container read back by hand", test_xclbin_container);
    CU_add_test(s, "engine status names", test_status_names);
    CU_add_test(s, "no XRT runtime: one-line errors before XRT is called", test_no_runtime);
    CU_add_test(s, "missing or foreign xclbin", test_bad_xclbin);
    CU_add_test(s, "XRT reads the xclbin's offsets and banks", test_xrt_reads_xclbin);
    CU_add_test(s, "no-op shim: one image sync, plan and input syncs per batch, status", test_noop_sequence);
    CU_add_test(s, "modtx xclbin; modtx run --backend xrt without runtime, without card, on the no-op shim", test_cli);
}

#endif
