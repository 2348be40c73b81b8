/* cli_xclbin.c - modtx xclbin: write the metadata-only xclbin of the
 * kernel (device/xclbin.h), the one XRT's no-op shim loads in the tests. */
#include "cli/cli.h"
#include "core/mtx.h"
#include "device/xclbin.h"

static const char XCLBIN_HELP[] =
    "usage: modtx xclbin --out FILE\n"
    "\n"
    "Writes an xclbin that describes the engine kernel's arguments, memory banks and\n"
    "control registers (generated from hls/mtx_kernel_args.h) without a bitstream.\n"
    "XRT's no-op shim (XCL_EMULATION_MODE=noop) runs the whole xrt backend call\n"
    "sequence with it; a card needs the xclbin v++ builds (make xclbin, docs/deploy.md).\n";

int mtx_cmd_xclbin(int argc, char **argv) {
    const char *out = NULL;
    const mtx_opt opts[] = { { "--out", &out, NULL } };
    int n_pos = 0;
    int rc = mtx_parse_opts(argc, argv, opts, 1, XCLBIN_HELP, NULL, 0, &n_pos);
    if (rc) return rc == 1 ? 0 : 2;
    if (!out) {
        fprintf(stderr, "modtx xclbin: --out FILE is required\n");
        return 2;
    }
    if (mtx_xclbin_write(out) != MTX_OK) return mtx_fail("xclbin");
    return 0;
}
