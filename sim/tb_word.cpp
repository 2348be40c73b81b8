// tb_word - mtx_word_ctrl transcribes whole words with a real plan over a
// real exported image (modtx export): embeddings, encoder, memory, cross
// K/V, the decoder loop with the head's argmax, stop at </s> or Pt. The
// output ids and length must equal the golden model's (mtx_golden_run,
// linked from libmodtx.a) for every word. The image sits in mem_model.h at
// address 0 (every beat checked inside it), memory latency 1-6 and request
// stalls 0-30 % varied per word. Also: a word longer than Ps, an id >= Vs
// and an empty word end with MTX_ENG_INPUT and no memory access. Words: the
// test split of CMUdict (base words in file order, index % 20 in {17, 18}).
// Prints cycles per word, per decoding step and PE utilisation.
//   bench IMAGE PLAN WORDS [PLAN WORDS]...   (dictionary: $MTX_CMUDICT or Debian's)
#include "Vmtx_word_ctrl.h"
#include "mem_model.h"
#include "sim_util.h"
#include "word_setup.h"

extern "C" {
#include "engine/golden.h"
#include "format/image.h"
#include "format/plan.h"
}

#include <fstream>
#include <string>
#include <vector>

// Test-split words whose characters are all in the source vocabulary.
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

// One plan's words through the model; counts mismatches in h.
template <class H> static int run_plan(H &h, const char *image, const char *plan_path, int nwords, const char *dict);

int main(int argc, char **argv)
{
    if (argc < 4 || argc % 2) {
        std::fprintf(stderr, "usage: %s IMAGE PLAN WORDS [PLAN WORDS]...\n", argv[0]);
        return 2;
    }
    const char *dict = std::getenv("MTX_CMUDICT");
    if (!dict)
        dict = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict";
    mtxsim::Harness<Vmtx_word_ctrl> h(argc, argv, "tb_word", 40000000000ull);
    h.reset();
    int total = 0;
    for (int a = 2; a + 1 < argc; a += 2) {
        int n = run_plan(h, argv[1], argv[a], std::atoi(argv[a + 1]), dict);
        if (n < 0)
            return 2;
        total += n;
    }
    char what[160];
    std::snprintf(what, sizeof what, "%d words over %d plans with the golden model's ids, hostile words refused",
                  total, (argc - 2) / 2);
    return h.finish(what);
}

template <class H> static int run_plan(H &h, const char *image, const char *plan_path, int nwords, const char *dict)
{
    uint8_t *img_data = nullptr, *plan_data = nullptr;
    uint64_t img_bytes = 0, plan_bytes = 0;
    mtx_image im;
    mtx_plan plan;
    if (mtx_image_load(image, &img_data, &img_bytes, &im) ||
        mtx_plan_load(plan_path, &im, &plan, &plan_data, &plan_bytes)) {
        std::fprintf(stderr, "tb_word: %s\n", mtx_last_error());
        return -1;
    }
    const mtx_image_dims &d = im.dims;
    std::string dir(image);
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    auto words = test_words(dict, dir + "source_vocab.txt", nwords, (int)d.Ps);
    if ((int)words.size() < nwords) {
        std::fprintf(stderr, "tb_word: only %zu test words in %s\n", words.size(), dict);
        return -1;
    }

    mtxsim::Rng rng(0x5eed0011);
    auto *m = h.m;
    mtxsim::word_setup(h, im, plan);
    std::vector<uint8_t> bytes(img_data, img_data + img_bytes);

    // Runs one word (ids as given, length S); returns the cycles it took.
    auto run_word = [&](const std::vector<int32_t> &ids, int S, mtxsim::MemModel &mem, uint64_t *busy) {
        for (size_t i = 0; i < ids.size() && i < 64; i++) {
            m->id_we_i = 1;
            m->id_idx_i = (int)i;
            m->id_data_i = (uint32_t)ids[i];
            h.tick();
        }
        m->id_we_i = 0;
        m->n_i = S;
        m->start_i = 1;
        uint64_t c0 = h.cycle;
        bool done = false;
        while (!done) {
            mem.present(m);
            m->eval();
            mem.commit(m);
            *busy += m->pe_busy_o;
            h.tick();
            m->start_i = 0;
            done = m->done_o;
        }
        return h.cycle - c0;
    };

    uint64_t cycles = 0, busy = 0, steps = 0, longest = 0;
    for (size_t wi = 0; wi < words.size(); wi++) {
        const auto &w = words[wi];
        const int S = (int)w.size();
        std::vector<int32_t> in(MTX_IO_STRIDE, 0), out(MTX_IO_STRIDE, 0);
        in[0] = S;
        for (int s = 0; s < S; s++)
            in[1 + s] = w[s];
        if (mtx_golden_run(&im, &plan, in.data(), 1, out.data(), nullptr)) {
            std::fprintf(stderr, "tb_word: golden: %s\n", mtx_last_error());
            return -1;
        }
        mtxsim::MemModel mem(rng.next(), 1 + (int)(wi % 6), (int)(wi % 3) * 15);
        mem.add("image", 0, bytes);
        uint64_t c = run_word(w, S, mem, &busy);
        cycles += c;
        longest = c > longest ? c : longest;
        int T = out[0];
        steps += T < (int)d.Pt ? T + 1 : T;
        if (m->err_o)
            h.fail("word %zu: error %d", wi, (int)m->err_o);
        if (!mem.idle())
            h.fail("word %zu: responses outstanding after done", wi);
        bool same = (int)m->out_len_o == T;
        for (int t = 0; same && t < T; t++) {
            m->out_idx_i = t;
            m->eval();
            same = (int)m->out_id_o == out[1 + t];
        }
        if (!same) {
            std::string g, r;
            for (int t = 0; t < T; t++)
                g += " " + std::to_string(out[1 + t]);
            for (int t = 0; t < (int)m->out_len_o; t++) {
                m->out_idx_i = t;
                m->eval();
                r += " " + std::to_string((int)m->out_id_o);
            }
            h.fail("word %zu (S %d): rtl [%s ] golden [%s ]", wi, S, r.c_str(), g.c_str());
        }
    }
    // Hostile words: refused before any memory access (no buffers: any beat fails the bench).
    std::vector<int32_t> bad_id = {3, 4, (int32_t)d.Vs}, neg_id = {3, -1};
    struct Bad {
        std::vector<int32_t> ids;
        int S;
    } bad[] = {{bad_id, 3}, {neg_id, 2}, {{3}, 0}, {{3}, (int)d.Ps + 1}};
    for (auto &b : bad) {
        mtxsim::MemModel none(1, 1, 0);
        uint64_t unused = 0;
        run_word(b.ids, b.S, none, &unused);
        if (m->err_o != MTX_ENG_INPUT)
            h.fail("hostile word (S %d): error %d, want MTX_ENG_INPUT", b.S, (int)m->err_o);
    }
    free(img_data);
    free(plan_data);
    std::printf("tb_word: %s: %zu words, %llu decoding steps, %llu cycles (%.0f per word, longest %llu; %.0f per "
                "step), PE use %.1f%%\n",
                plan_path, words.size(), (unsigned long long)steps, (unsigned long long)cycles,
                (double)cycles / (double)words.size(), (unsigned long long)longest,
                (double)cycles / (double)steps, 100.0 * (double)busy / (256.0 * (double)cycles));
    return (int)words.size();
}
