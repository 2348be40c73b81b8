// tb_word - mtx_word_ctrl transcribes batches of words with a real plan
// over a real exported image (modtx export): embeddings, encoder over a
// group's rows, memory, cross K/V, the step-synchronous decoder loop with
// the head's argmax, stop at </s> or Pt. The output ids and length must
// equal the golden model's (mtx_golden_run, linked from libmodtx.a) for
// every word. Batches of 64, 5, 1, 23, 64, 37 words in turn; the image sits
// in mem_model.h at address 0 (every beat checked inside it), memory latency
// 1-6 and request stalls 0-30 % varied per batch. Also: batches with a word
// longer than Ps, an id >= Vs, a negative id or S, an empty word end with
// MTX_ENG_INPUT naming the word, 0 or 65 words with MTX_ENG_BATCH, all with
// no memory access. Words: the test split of CMUdict (base words in file
// order, index % 20 in {17, 18}). Prints cycles per word and, per program
// (ENC, DEC, CKV, MEM, HEAD), calls, rows, cycles and PE utilisation.
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

#include <algorithm>
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

    // Per-program cycles and busy PE-cycles, attributed by the perf port.
    struct Acc {
        uint64_t cycles = 0, busy = 0, calls = 0, rows = 0, gemm = 0;
    } prog[5], enc_by_words[65]; // ENC calls by the words of their group
    // Runs one batch (words as given, lengths S); returns the cycles it took.
    auto run_batch = [&](const std::vector<std::vector<int32_t>> &ws, const std::vector<int> &S, int nw,
                         mtxsim::MemModel &mem, uint64_t *busy) {
        for (size_t b = 0; b < ws.size(); b++) {
            m->len_we_i = 1;
            m->len_word_i = (int)b;
            m->len_data_i = (uint32_t)S[b];
            h.tick();
            m->len_we_i = 0;
            for (size_t i = 0; i < ws[b].size() && i < 64; i++) {
                m->id_we_i = 1;
                m->id_word_i = (int)b;
                m->id_idx_i = (int)i;
                m->id_data_i = (uint32_t)ws[b][i];
                h.tick();
            }
            m->id_we_i = 0;
        }
        m->n_words_i = nw;
        m->start_i = 1;
        uint64_t c0 = h.cycle;
        bool done = false, was_run = false;
        while (!done) {
            mem.present(m);
            m->eval();
            mem.commit(m);
            *busy += m->pe_busy_o;
            if (m->perf_run_o && m->perf_prog_o < 5) {
                Acc &a = prog[m->perf_prog_o];
                a.cycles++;
                a.busy += m->pe_busy_o;
                a.gemm += m->perf_gemm_o;
                if (!was_run) {
                    a.calls++;
                    a.rows += m->perf_rows_o;
                }
                if (m->perf_prog_o == 0 && m->perf_words_o <= 64) {
                    Acc &e = enc_by_words[m->perf_words_o];
                    e.cycles++;
                    e.busy += m->pe_busy_o;
                    e.gemm += m->perf_gemm_o;
                    if (!was_run) {
                        e.calls++;
                        e.rows += m->perf_rows_o;
                    }
                }
            }
            was_run = m->perf_run_o;
            h.tick();
            m->start_i = 0;
            done = m->done_o;
        }
        return h.cycle - c0;
    };
    auto read_out = [&](int b, int t) {
        m->out_word_i = b;
        m->out_idx_i = t;
        h.tick();
        return (int)m->out_id_o;
    };

    // Batches of varied sizes, so groups form differently (the engine fills a
    // group up to 64 rows and the words its KV caches hold).
    static const int sizes[] = {64, 5, 1, 23, 64, 37};
    uint64_t cycles = 0, busy = 0, steps = 0;
    size_t wi = 0, nb = 0;
    while (wi < words.size()) {
        size_t B = std::min(words.size() - wi, (size_t)sizes[nb % 6]);
        std::vector<std::vector<int32_t>> ws(words.begin() + (long)wi, words.begin() + (long)(wi + B));
        std::vector<int> S;
        std::vector<int32_t> in(B * MTX_IO_STRIDE, 0), out(B * MTX_IO_STRIDE, 0);
        for (size_t b = 0; b < B; b++) {
            S.push_back((int)ws[b].size());
            in[b * MTX_IO_STRIDE] = S[b];
            for (int s = 0; s < S[b]; s++)
                in[b * MTX_IO_STRIDE + 1 + s] = ws[b][s];
        }
        if (mtx_golden_run(&im, &plan, in.data(), (uint32_t)B, out.data(), nullptr)) {
            std::fprintf(stderr, "tb_word: golden: %s\n", mtx_last_error());
            return -1;
        }
        mtxsim::MemModel mem(rng.next(), 1 + (int)(nb % 6), (int)(nb % 3) * 15);
        mem.add("image", 0, bytes);
        cycles += run_batch(ws, S, (int)B, mem, &busy);
        if (m->err_o)
            h.fail("batch %zu: error %d", nb, (int)m->err_o);
        if (!mem.idle())
            h.fail("batch %zu: responses outstanding after done", nb);
        for (size_t b = 0; b < B; b++) {
            const int32_t *o = &out[b * MTX_IO_STRIDE];
            int T = o[0];
            steps += T < (int)d.Pt ? T + 1 : T;
            m->out_word_i = (int)b;
            m->eval();
            int len = (int)m->out_len_o;
            bool same = len == T;
            for (int t = 0; same && t < T; t++)
                same = read_out((int)b, t) == o[1 + t];
            if (!same) {
                std::string g, r;
                for (int t = 0; t < T; t++)
                    g += " " + std::to_string(o[1 + t]);
                for (int t = 0; t < len; t++)
                    r += " " + std::to_string(read_out((int)b, t));
                h.fail("word %zu (S %d, batch %zu of %zu words): rtl [%s ] golden [%s ]", wi + b, S[b], nb, B,
                       r.c_str(), g.c_str());
            }
        }
        wi += B;
        nb++;
    }
    // Hostile batches: refused before any memory access (no buffers: any beat
    // fails the bench), with the status and, for a bad word, its index.
    {
        std::vector<int32_t> ok = {3, 4, 5}, bad_id = {3, 4, (int32_t)d.Vs}, neg_id = {3, -1};
        struct Bad {
            std::vector<std::vector<int32_t>> ws;
            std::vector<int> S;
            int nw, status, word;
        } bad[] = {
            {{ok, ok, bad_id, ok}, {3, 3, 3, 3}, 4, MTX_ENG_INPUT, 2},
            {{ok, neg_id}, {3, 2}, 2, MTX_ENG_INPUT, 1},
            {{ok, {3}}, {3, 0}, 2, MTX_ENG_INPUT, 1},
            {{{3}}, {(int)d.Ps + 1}, 1, MTX_ENG_INPUT, 0},
            {{{3}}, {-1}, 1, MTX_ENG_INPUT, 0},
            {{{3}}, {1}, 0, MTX_ENG_BATCH, -1},
            {{{3}}, {1}, MTX_MAX_BATCH + 1, MTX_ENG_BATCH, -1},
        };
        for (auto &b : bad) {
            mtxsim::MemModel none(1, 1, 0);
            uint64_t unused = 0;
            run_batch(b.ws, b.S, b.nw, none, &unused);
            if (m->err_o != b.status || (b.word >= 0 && (int)m->err_word_o != b.word))
                h.fail("hostile batch of %d words: error %d word %d, want %d word %d", b.nw, (int)m->err_o,
                       (int)m->err_word_o, b.status, b.word);
        }
    }
    free(img_data);
    free(plan_data);
    uint64_t gemm = 0;
    for (auto &a : prog)
        gemm += a.gemm;
    std::printf("tb_word: %s: %zu words in %zu batches, %llu decoding steps, %llu cycles (%.0f per word, GEMM ops "
                "%.1f%% of them), PE use %.1f%%\n",
                plan_path, words.size(), nb, (unsigned long long)steps, (unsigned long long)cycles,
                (double)cycles / (double)words.size(), 100.0 * (double)gemm / (double)cycles,
                100.0 * (double)busy / (256.0 * (double)cycles));
    for (int w = 1; w <= 64; w++)
        if (enc_by_words[w].calls)
            std::printf("tb_word:   ENC of %2d-word groups: %4llu calls, %5.1f rows each, PE use %5.1f%%\n", w,
                        (unsigned long long)enc_by_words[w].calls,
                        (double)enc_by_words[w].rows / (double)enc_by_words[w].calls,
                        100.0 * (double)enc_by_words[w].busy / (256.0 * (double)enc_by_words[w].cycles));
    static const char *names[5] = {"ENC", "DEC", "CKV", "MEM", "HEAD"};
    for (int p = 0; p < 5; p++)
        if (prog[p].calls)
            std::printf("tb_word:   %-4s %6llu calls, %5.1f rows each, %9.0f cycles each (GEMM ops %9.0f), PE use "
                        "%5.1f%%\n",
                        names[p], (unsigned long long)prog[p].calls, (double)prog[p].rows / (double)prog[p].calls,
                        (double)prog[p].cycles / (double)prog[p].calls, (double)prog[p].gemm / (double)prog[p].calls,
                        100.0 * (double)prog[p].busy / (256.0 * (double)prog[p].cycles));
    return (int)words.size();
}
