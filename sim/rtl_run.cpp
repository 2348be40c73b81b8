// rtl_run - the simulator behind the rtl device backend
// (host/device/backend_rtl.c): runs a batch of words through mtx_word_ctrl
// (one start for the whole batch) under Verilator and writes the engine's
// output buffer.
//   sim IMAGE PLAN IN B OUT STATS
// IMAGE and PLAN are the files the host validated (parsed again here with
// format/image.h and format/plan.h: the RTL plan sequencer is not in this
// loop yet); IN holds B words of MTX_IO_STRIDE little-endian int32 (layout.h
// batch input); OUT receives B output records in the same layout. STATS
// receives "cycles N", "busy_pe_cycles N" and "status S word W" (S the
// engine status, 0 if none; W the first refused word, or -1). The memory answers
// every beat after one cycle with no stalls (mem_model.h, which ends the
// run with exit 3 on any beat outside the image). Exit 0 when the batch ran
// (STATS says whether a word was refused), 2 on a usage or file error.
#include "Vmtx_word_ctrl.h"
#include "mem_model.h"
#include "sim_util.h"
#include "word_setup.h"

extern "C" {
#include "format/image.h"
#include "format/plan.h"
}

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
    std::vector<uint8_t> img, plan_bytes, in_bytes;
    int B = std::atoi(argv[4]);
    if (!read_file(argv[1], img) || !read_file(argv[2], plan_bytes) || !read_file(argv[3], in_bytes)) {
        std::fprintf(stderr, "rtl_run: cannot read the image, plan or input\n");
        return 2;
    }
    if (B < 1 || B > MTX_MAX_BATCH || in_bytes.size() != (size_t)B * MTX_IO_STRIDE * 4) {
        std::fprintf(stderr, "rtl_run: input holds %zu bytes, not %d words\n", in_bytes.size(), B);
        return 2;
    }
    mtx_image im;
    mtx_plan plan;
    if (mtx_image_parse(&im, img.data(), img.size(), argv[1]) ||
        mtx_plan_parse(&plan, plan_bytes.data(), plan_bytes.size(), &im, argv[2])) {
        std::fprintf(stderr, "rtl_run: %s\n", mtx_last_error());
        return 2;
    }

    mtxsim::Harness<Vmtx_word_ctrl> h(argc, argv, "rtl_run", ~0ull);
    auto *m = h.m;
    h.reset();
    mtxsim::word_setup(h, im, plan);

    mtxsim::MemModel mem(1, 1, 0);
    mem.add("image", 0, img);
    std::vector<uint8_t> out((size_t)B * MTX_IO_STRIDE * 4, 0);
    uint64_t cycles = 0, busy = 0;
    int status = 0, bad_word = -1;
    for (int b = 0; b < B; b++) {
        const uint8_t *w = in_bytes.data() + (size_t)b * MTX_IO_STRIDE * 4;
        m->len_we_i = 1;
        m->len_word_i = b;
        m->len_data_i = mtx_le32(w);
        h.tick();
        m->len_we_i = 0;
        for (int i = 0; i < MTX_MAX_POS; i++) {
            m->id_we_i = 1;
            m->id_word_i = b;
            m->id_idx_i = i;
            m->id_data_i = mtx_le32(w + 4 * (1 + i));
            h.tick();
        }
        m->id_we_i = 0;
    }
    m->n_words_i = B;
    m->start_i = 1;
    uint64_t c0 = h.cycle;
    bool done = false;
    while (!done) {
        mem.present(m);
        m->eval();
        mem.commit(m);
        busy += m->pe_busy_o;
        h.tick();
        m->start_i = 0;
        done = m->done_o;
    }
    cycles += h.cycle - c0;
    if (m->err_o) {
        status = m->err_o;
        bad_word = m->err_word_o;
    } else {
        for (int b = 0; b < B; b++) {
            uint8_t *o = out.data() + (size_t)b * MTX_IO_STRIDE * 4;
            m->out_word_i = b;
            m->eval();
            int T = (int)m->out_len_o;
            mtx_put_le32(o, (uint32_t)T);
            for (int t = 0; t < T; t++) {
                m->out_idx_i = t;
                h.tick();
                mtx_put_le32(o + 4 * (1 + t), m->out_id_o);
            }
        }
    }
    FILE *f = std::fopen(argv[5], "wb");
    if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f)) {
        std::fprintf(stderr, "rtl_run: cannot write %s\n", argv[5]);
        return 2;
    }
    f = std::fopen(argv[6], "w");
    if (!f || std::fprintf(f, "cycles %llu\nbusy_pe_cycles %llu\nstatus %d word %d\n", (unsigned long long)cycles,
                           (unsigned long long)busy, status, bad_word) < 0 || std::fclose(f)) {
        std::fprintf(stderr, "rtl_run: cannot write %s\n", argv[6]);
        return 2;
    }
    return 0;
}
