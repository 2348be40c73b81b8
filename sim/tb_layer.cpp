// tb_layer - mtx_layer_ctrl runs every encoder descriptor of a real plan
// over a real exported image (modtx export) and the residual stream after
// each layer is compared, element for element, with the golden model's
// trace (mtx_golden_run with a trace callback, linked from libmodtx.a).
// The image sits in mem_model.h (every beat checked inside it) at address
// 0, with memory latency and request stalls varied per word. The embeddings
// (x = res(SRC_EMB[id] + SRC_POS[s])) are written into x by the bench; each
// layer then starts from the RTL's own previous result. Words: the test
// split of CMUdict (base words in file order, index % 20 in {17, 18}).
// Prints cycles and PE utilisation (busy PE-cycles / (256 x cycles)).
//   bench IMAGE PLAN [WORDS] [DICT]
#include "Vmtx_layer_ctrl.h"
#include "mem_model.h"
#include "sim_util.h"

extern "C" {
#include "engine/golden.h"
#include "format/image.h"
#include "format/plan.h"
}

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

struct Trace {
    std::vector<std::vector<int32_t>> enc; // per encoder layer: S x C
};

static void on_layer(void *ctx, int word, int stack, int layer, int step, const int32_t *x, int rows,
                     int C)
{
    (void)word;
    (void)step;
    Trace *t = (Trace *)ctx;
    if (stack != MTX_KIND_ENC)
        return;
    if ((int)t->enc.size() <= layer)
        t->enc.resize(layer + 1);
    t->enc[layer].assign(x, x + (size_t)rows * C);
}

// Test-split words of the dictionary whose characters are all in the
// source vocabulary (id = line of source_vocab.txt), as id lists.
static std::vector<std::vector<int32_t>> test_words(const char *dict, const std::string &vocab_path,
                                                    int want, int maxlen)
{
    std::vector<std::string> vocab;
    std::ifstream vf(vocab_path);
    for (std::string l; std::getline(vf, l);)
        vocab.push_back(l);
    std::vector<std::vector<int32_t>> out;
    std::ifstream df(dict);
    std::string prev;
    long group = -1;
    for (std::string line; std::getline(df, line) && (int)out.size() < want;) {
        std::string w = line.substr(0, line.find(' '));
        size_t par = w.find('(');
        if (par != std::string::npos)
            w = w.substr(0, par);
        if (w == prev)
            continue;
        prev = w;
        group++;
        if (group % 20 != 17 && group % 20 != 18)
            continue;
        std::vector<int32_t> ids;
        for (char ch : w) {
            int id = -1;
            for (size_t i = 0; i < vocab.size(); i++)
                if (vocab[i].size() == 1 && vocab[i][0] == ch)
                    id = (int)i;
            if (id < 0) {
                ids.clear();
                break;
            }
            ids.push_back(id);
        }
        if (!ids.empty() && (int)ids.size() <= maxlen)
            out.push_back(ids);
    }
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s IMAGE PLAN [WORDS] [DICT]\n", argv[0]);
        return 2;
    }
    int nwords = argc > 3 ? std::atoi(argv[3]) : 4;
    const char *dict = argc > 4 ? argv[4] : "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict";
    uint8_t *img_data = nullptr, *plan_data = nullptr;
    uint64_t img_bytes = 0, plan_bytes = 0;
    mtx_image im;
    mtx_plan plan;
    if (mtx_image_load(argv[1], &img_data, &img_bytes, &im) ||
        mtx_plan_load(argv[2], &im, &plan, &plan_data, &plan_bytes)) {
        std::fprintf(stderr, "tb_layer: %s\n", mtx_last_error());
        return 2;
    }
    const mtx_image_dims &d = im.dims;
    const int C = (int)d.C;
    uint64_t off = 0, len = 0, emb = 0, pos = 0, exp2 = 0;
    mtx_image_find(&im, MTX_SEC_SRC_EMB, 0, &emb, &len);
    mtx_image_find(&im, MTX_SEC_SRC_POS, 0, &pos, &len);
    mtx_image_find(&im, MTX_SEC_EXP2, 0, &exp2, &len);
    (void)off;
    std::string dir(argv[1]);
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    auto words = test_words(dict, dir + "source_vocab.txt", nwords, (int)d.Ps);
    if ((int)words.size() < nwords) {
        std::fprintf(stderr, "tb_layer: only %zu test words in %s\n", words.size(), dict);
        return 2;
    }

    mtxsim::Harness<Vmtx_layer_ctrl> h(argc, argv, "tb_layer", 400000000ull);
    mtxsim::Rng rng(0x5eed0010);
    h.reset();
    std::vector<uint8_t> bytes(img_data, img_data + img_bytes);
    uint64_t cycles = 0, busy = 0, layers = 0;
    bool tbl = true;
    for (size_t wi = 0; wi < words.size() && !h.fails; wi++) {
        const auto &w = words[wi];
        const int S = (int)w.size();
        std::vector<int32_t> in(MTX_IO_STRIDE, 0), out(MTX_IO_STRIDE, 0);
        in[0] = S;
        for (int s = 0; s < S; s++)
            in[1 + s] = w[s];
        Trace tr;
        mtx_golden_opts opts = {on_layer, &tr};
        if (mtx_golden_run(&im, &plan, in.data(), 1, out.data(), &opts)) {
            std::fprintf(stderr, "tb_layer: golden: %s\n", mtx_last_error());
            return 2;
        }
        // x = res(SRC_EMB[id] + SRC_POS[s]) (docs/engine.md, "A word")
        for (int s = 0; s < S; s++)
            for (int c = 0; c < C; c++) {
                int64_t v = (int64_t)(int32_t)mtx_le32(img_data + emb + 4 * ((uint64_t)w[s] * C + c)) +
                            (int32_t)mtx_le32(img_data + pos + 4 * ((uint64_t)s * C + c));
                v = v > MTX_RES_MAX ? MTX_RES_MAX : v < -MTX_RES_MAX ? -MTX_RES_MAX : v;
                h.m->x_we_i = 1;
                h.m->x_addr_i = s * C + c;
                h.m->x_wdata_i = (uint32_t)(int32_t)v;
                h.tick();
            }
        h.m->x_we_i = 0;
        int lat = 1 + (int)(wi % 6), stall = (int)(wi % 3) * 15;
        mtxsim::MemModel mem(rng.next(), lat, stall);
        mem.add("image", 0, bytes);
        for (int l = 0; l < plan.n_enc && !h.fails; l++) {
            const mtx_plan_desc &ds = plan.enc[l];
            h.m->start_i = 1;
            h.m->tbl_load_i = tbl;
            h.m->c_i = C;
            h.m->heads_i = d.H;
            h.m->f_i = d.F;
            h.m->n_i = S;
            h.m->eps_i = d.eps_q;
            h.m->w_off_i = ds.w_off;
            h.m->k_off_i = ds.k_off;
            h.m->exp2_off_i = exp2;
            uint64_t c0 = h.cycle, b = 0;
            bool done = false;
            while (!done) {
                mem.present(h.m);
                h.m->eval();
                mem.commit(h.m);
                b += h.m->pe_busy_o;
                h.tick();
                h.m->start_i = 0;
                done = h.m->done_o;
            }
            tbl = false;
            if (h.m->err_o)
                h.fail("word %zu layer %d: err_o", wi, l);
            if (!mem.idle())
                h.fail("word %zu layer %d: responses outstanding after done", wi, l);
            cycles += h.cycle - c0;
            busy += b;
            layers++;
            const std::vector<int32_t> &want = tr.enc[l];
            for (int s = 0; s < S && !h.fails; s++)
                for (int c = 0; c < C; c++) {
                    h.m->x_addr_i = s * C + c;
                    h.tick();
                    h.m->eval();
                    int32_t got = (int32_t)h.m->x_rdata_o;
                    if (got != want[(size_t)s * C + c]) {
                        h.fail("word %zu (S %d) encoder layer %d position %d element %d: rtl %d golden %d",
                               wi, S, l, s, c, got, want[(size_t)s * C + c]);
                        break;
                    }
                }
        }
    }
    free(img_data);
    free(plan_data);
    std::printf("tb_layer: %llu encoder layers, %llu cycles (%.0f per layer), PE use %.1f%%\n",
                (unsigned long long)layers, (unsigned long long)cycles, (double)cycles / (double)layers,
                100.0 * (double)busy / (256.0 * (double)cycles));
    char what[160];
    std::snprintf(what, sizeof what, "%zu words x %d encoder layers bit-exact with the golden trace",
                  words.size(), plan.n_enc);
    return h.finish(what);
}
