// rtl_run - the simulator behind the rtl device backend
// (host/device/backend_rtl.c): runs a batch of words through the whole RTL
// engine (mtx_top: its registers, plan sequencer, batch mover and batched
// word controller) under Verilator and writes the engine's output buffer.
//   sim IMAGE PLAN IN B OUT STATS
// IMAGE, PLAN and IN (B words of MTX_IO_STRIDE little-endian int32, the
// layout.h batch input) go into memory as they are; the engine validates
// image, TOC, plan, descriptors, batch and words itself (the host has
// validated image and plan too). OUT receives the output buffer the engine
// wrote (B records in the same layout; zeros where it wrote nothing).
// STATS receives "cycles N", "busy_pe_cycles N" (the CYCLES and BUSYPE
// registers) and "status S word W" (ERROR, and ERRWORD when S is
// MTX_ENG_INPUT, else -1). The memory answers every beat after one cycle
// with no stalls (mem_model.h, which ends the run with exit 3 on any access
// outside the four buffers). Exit 0 when the batch ran (STATS says whether
// the engine refused it), 2 on a usage or file error.
#include "format/layout.h"
#include "top_host.h"

#include <cstdio>
#include <vector>

static bool read_file(const char *path, std::vector<uint8_t> &out)
{
    FILE *f = std::fopen(path, "rb");
    if (!f)
        return false;
    uint8_t buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.insert(out.end(), buf, buf + n);
    bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s IMAGE PLAN IN B OUT STATS\n", argv[0]);
        return 2;
    }
    std::vector<uint8_t> img, plan, in;
    int B = std::atoi(argv[4]);
    if (!read_file(argv[1], img) || !read_file(argv[2], plan) || !read_file(argv[3], in)) {
        std::fprintf(stderr, "rtl_run: cannot read the image, plan or input\n");
        return 2;
    }
    if (B < 1 || B > MTX_MAX_BATCH || in.size() != (size_t)B * MTX_IO_STRIDE * 4) {
        std::fprintf(stderr, "rtl_run: input holds %zu bytes, not %d words\n", in.size(), B);
        return 2;
    }
    mtxsim::Harness<Vmtx_top> h(argc, argv, "rtl_run", ~0ull);
    h.reset();
    mtxsim::TopHost host(h);
    std::vector<uint8_t> out((size_t)B * MTX_IO_STRIDE * 4, 0);
    uint64_t cycles = 0, busy = 0, written = 0;
    uint32_t status = host.run(img, plan, in, out, (uint32_t)B, 1, &busy, &written, &cycles, 1);
    int word = status == MTX_ENG_INPUT ? (int)host.err_word : -1;
    FILE *f = std::fopen(argv[5], "wb");
    if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f)) {
        std::fprintf(stderr, "rtl_run: cannot write %s\n", argv[5]);
        return 2;
    }
    f = std::fopen(argv[6], "w");
    if (!f || std::fprintf(f, "cycles %llu\nbusy_pe_cycles %llu\nstatus %u word %d\n", (unsigned long long)cycles,
                           (unsigned long long)busy, status, word) < 0 || std::fclose(f)) {
        std::fprintf(stderr, "rtl_run: cannot write %s\n", argv[6]);
        return 2;
    }
    return 0;
}
