// tb_layer - mtx_layer_ctrl runs every descriptor of a real plan over a
// real exported image (modtx export), and the residual stream after each
// layer is compared, element for element, with the golden model's trace
// (mtx_golden_run with a trace callback, linked from libmodtx.a): every
// encoder layer over the word (program ENC), then the memory (MEM with the
// ENC_NORM record), K2 / V2 of every decoder layer (CKV), and every decoder
// layer at every step the golden model ran (DEC, its KV cache on chip),
// and the head (HEAD: final norm, lm_head, argmax) against the golden token.
// The image sits in mem_model.h (every beat checked inside it) at address
// 0, with memory latency and request stalls varied per word. The bench
// writes the embeddings, x = res(EMB[id] + POS[p]) (source rows before the
// encoder, the golden model's token of each step into row 0 before the
// decoder layers); every layer then starts from the RTL's own previous
// result. Words: the test split of CMUdict (base words in file order,
// index % 20 in {17, 18}). Prints cycles and PE utilisation (busy
// PE-cycles / (256 x cycles)) per stack.
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
    std::vector<std::vector<std::vector<int32_t>>> dec; // [step][layer]: C
};

static void on_layer(void *ctx, int word, int stack, int layer, int step, const int32_t *x, int rows,
                     int C)
{
    (void)word;
    Trace *t = (Trace *)ctx;
    if (stack != MTX_KIND_ENC) {
        if ((int)t->dec.size() <= step)
            t->dec.resize(step + 1);
        if ((int)t->dec[step].size() <= layer)
            t->dec[step].resize(layer + 1);
        t->dec[step][layer].assign(x, x + (size_t)rows * C);
        return;
    }
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
    uint64_t len = 0, emb = 0, pos = 0, temb = 0, tpos = 0, exp2 = 0, enorm = 0, dnorm = 0, lmh = 0, lmr = 0;
    mtx_image_find(&im, MTX_SEC_DEC_NORM, 0, &dnorm, &len);
    mtx_image_find(&im, MTX_SEC_LM_HEAD, 0, &lmh, &len);
    mtx_image_find(&im, MTX_SEC_LM_REQ, 0, &lmr, &len);
    mtx_image_find(&im, MTX_SEC_SRC_EMB, 0, &emb, &len);
    mtx_image_find(&im, MTX_SEC_SRC_POS, 0, &pos, &len);
    mtx_image_find(&im, MTX_SEC_TGT_EMB, 0, &temb, &len);
    mtx_image_find(&im, MTX_SEC_TGT_POS, 0, &tpos, &len);
    mtx_image_find(&im, MTX_SEC_EXP2, 0, &exp2, &len);
    mtx_image_find(&im, MTX_SEC_ENC_NORM, 0, &enorm, &len);
    std::string dir(argv[1]);
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    auto words = test_words(dict, dir + "source_vocab.txt", nwords, (int)d.Ps);
    if ((int)words.size() < nwords) {
        std::fprintf(stderr, "tb_layer: only %zu test words in %s\n", words.size(), dict);
        return 2;
    }

    mtxsim::Harness<Vmtx_layer_ctrl> h(argc, argv, "tb_layer", 4000000000ull);
    mtxsim::Rng rng(0x5eed0010);
    h.reset();
    std::vector<uint8_t> bytes(img_data, img_data + img_bytes);
    enum { ENC = 0, DEC = 1, CKV = 2, MEM = 3, HEAD = 4 };
    uint64_t cyc[5] = {0}, busy[5] = {0}, runs[5] = {0};
    bool tbl = true;
    mtxsim::MemModel *mem = nullptr;
    int tok = -1;  // HEAD's token (tok_v_o)
    // One program run; false on err_o or a hang of the port.
    auto run = [&](int prog, int layer, int step, int S, uint64_t w_off, uint64_t k_off) {
        h.m->start_i = 1;
        h.m->prog_i = prog;
        h.m->layer_i = layer;
        h.m->step_i = step;
        h.m->tbl_load_i = tbl;
        h.m->c_i = C;
        h.m->heads_i = d.H;
        h.m->f_i = d.F;
        h.m->n_i = (prog == DEC || prog == HEAD) ? 1 : S;  // one word: one decoder row
        h.m->ndec_i = plan.n_dec;
        h.m->nseg_i = 1;
        h.m->eps_i = d.eps_q;
        h.m->w_off_i = w_off;
        h.m->k_off_i = k_off;
        h.m->exp2_off_i = exp2;
        h.m->k2_off_i = lmr;
        h.m->vt_i = d.Vt;
        uint64_t c0 = h.cycle, b = 0;
        bool done = false;
        while (!done) {
            mem->present(h.m);
            h.m->eval();
            mem->commit(h.m);
            b += h.m->pe_busy_o;
            if (h.m->tok_v_o) {
                if (h.m->tok_row_o != 0)
                    h.fail("head: token for row %d of one", (int)h.m->tok_row_o);
                tok = h.m->tok_o;
            }
            h.tick();
            h.m->start_i = 0;
            done = h.m->done_o;
        }
        tbl = false;
        cyc[prog] += h.cycle - c0;
        busy[prog] += b;
        runs[prog]++;
        if (h.m->err_o)
            h.fail("program %d layer %d step %d: err_o", prog, layer, step);
        if (!mem->idle())
            h.fail("program %d layer %d step %d: responses outstanding after done", prog, layer, step);
    };
    // x[row] = res(EMB[id] + POS[p]) (docs/engine.md, "A word")
    auto embed = [&](uint64_t eoff, uint64_t poff, int id, int p, int row) {
        for (int c = 0; c < C; c++) {
            int64_t v = (int64_t)(int32_t)mtx_le32(img_data + eoff + 4 * ((uint64_t)id * C + c)) +
                        (int32_t)mtx_le32(img_data + poff + 4 * ((uint64_t)p * C + c));
            v = v > MTX_RES_MAX ? MTX_RES_MAX : v < -MTX_RES_MAX ? -MTX_RES_MAX : v;
            h.m->x_we_i = 1;
            h.m->x_addr_i = row * C + c;
            h.m->x_wdata_i = (uint32_t)(int32_t)v;
            h.tick();
        }
        h.m->x_we_i = 0;
    };
    // x rows 0..rows-1 against want; prints the first difference.
    auto compare = [&](const std::vector<int32_t> &want, int rows, const char *what, size_t wi, int S, int l,
                       int t) {
        for (int s = 0; s < rows; s++)
            for (int c = 0; c < C; c++) {
                h.m->x_addr_i = s * C + c;
                h.tick();
                h.m->eval();
                int32_t got = (int32_t)h.m->x_rdata_o;
                if (got != want[(size_t)s * C + c]) {
                    h.fail("word %zu (S %d) %s layer %d step %d position %d element %d: rtl %d golden %d", wi,
                           S, what, l, t, s, c, got, want[(size_t)s * C + c]);
                    return;
                }
            }
    };
    size_t steps = 0;
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
        int lat = 1 + (int)(wi % 6), stall = (int)(wi % 3) * 15;
        mtxsim::MemModel mm(rng.next(), lat, stall);
        mm.add("image", 0, bytes);
        mem = &mm;
        h.m->seg_we_i = 1;  // the word is segment 0: rows 0 .. S-1
        h.m->seg_idx_i = 0;
        h.m->seg_st_i = 0;
        h.m->seg_len_i = S;
        h.tick();
        h.m->seg_we_i = 0;
        for (int s = 0; s < S; s++)
            embed(emb, pos, w[s], s, s);
        for (int l = 0; l < plan.n_enc && !h.fails; l++) {
            run(ENC, 0, 0, S, plan.enc[l].w_off, plan.enc[l].k_off);
            compare(tr.enc[l], S, "encoder", wi, S, l, -1);
        }
        run(MEM, 0, 0, S, 0, enorm);
        for (int l = 0; l < plan.n_dec && !h.fails; l++)
            run(CKV, l, 0, S, plan.dec[l].w_off, plan.dec[l].k_off);
        // the golden model ran T + 1 steps (the last one gave </s>), or Pt
        int T = out[0], nsteps = T < (int)d.Pt ? T + 1 : T;
        for (int t = 0; t < nsteps && !h.fails; t++) {
            embed(temb, tpos, t == 0 ? (int)d.bos : out[t], t, 0);
            for (int l = 0; l < plan.n_dec && !h.fails; l++) {
                run(DEC, l, t, S, plan.dec[l].w_off, plan.dec[l].k_off);
                compare(tr.dec[t][l], 1, "decoder", wi, S, l, t);
            }
            // the head: the golden model's token of this step (</s> after the last)
            tok = -1;
            run(HEAD, 0, 0, S, lmh, dnorm);
            int want = t < T ? out[1 + t] : (int)d.eos;
            if (!h.fails && tok != want)
                h.fail("word %zu step %d: head chose %d, golden %d", wi, t, tok, want);
            steps++;
        }
    }
    free(img_data);
    free(plan_data);
    const char *names[5] = {"encoder layer", "decoder layer step", "cross K/V", "memory norm", "head"};
    for (int p = 0; p < 5; p++)
        if (runs[p])
            std::printf("tb_layer: %-18s x %5llu: %9llu cycles (%.0f each), PE use %.1f%%\n", names[p],
                        (unsigned long long)runs[p], (unsigned long long)cyc[p], (double)cyc[p] / (double)runs[p],
                        100.0 * (double)busy[p] / (256.0 * (double)cyc[p]));
    char what[200];
    std::snprintf(what, sizeof what,
                  "%zu words: %d encoder layers each, %zu decoder steps x %d layers, bit-exact with the golden trace",
                  words.size(), plan.n_enc, steps, plan.n_dec);
    return h.finish(what);
}
