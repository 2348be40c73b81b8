/* cli_model.c - `modtx eval`, `modtx predict`, `modtx info` and `modtx average`. */
#include "modular/average.h"
#include "io/checkpoint.h"
#include "cli/cli.h"
#include "data/data.h"
#include "eval/eval.h"
#include "core/fsutil.h"
#include "model/gemm.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char eval_help[] =
    "usage: modtx eval --model DIR [--split dev|test] [--data FILE] [--beam K] [--alpha A]\n"
    "                  [--threads N] [--json]\n"
    "\n"
    "Decodes every word of a split (default test) of the data the model was trained\n"
    "on, or every word of FILE, and prints PER and WER (percent; Bisani & Ney 2008:\n"
    "each word is scored against its closest reference pronunciation).\n"
    "  --beam K    beam width (default 1: greedy)\n"
    "  --alpha A   length normalisation exponent for beam search (default 1.0)\n"
    "  --json      print one JSON object: per, wer, words, ...\n";

int mtx_cmd_eval(int argc, char **argv) {
    const char *model = NULL, *split = "test", *data = NULL, *beam_s = "1", *alpha_s = "1.0", *thr_s = "2";
    int json = 0;
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--split", &split, NULL },
                             { "--data", &data, NULL },   { "--beam", &beam_s, NULL },
                             { "--alpha", &alpha_s, NULL }, { "--threads", &thr_s, NULL },
                             { "--json", NULL, &json } };
    int r = mtx_parse_opts(argc, argv, opts, 7, eval_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "modtx eval: --model is required (see --help)\n");
        return 2;
    }
    long beam = mtx_opt_int("eval", "--beam", beam_s, 1, 64), threads = mtx_opt_int("eval", "--threads", thr_s, 1, 256);
    if (beam < 0 || threads < 0) return 2;
    char *end = NULL;
    double alpha = strtod(alpha_s, &end);
    if (*end || !(alpha >= 0 && alpha <= 5)) {
        fprintf(stderr, "modtx eval: --alpha must be a number in [0, 5]\n");
        return 2;
    }
    int which = !strcmp(split, "dev") ? MTX_SPLIT_DEV : !strcmp(split, "test") ? MTX_SPLIT_TEST : -1;
    if (which < 0) {
        fprintf(stderr, "modtx eval: --split must be dev or test\n");
        return 2;
    }
    mtx_set_threads((int)threads);
    mtx_bundle b;
    if (mtx_bundle_load(model, &b)) return mtx_fail("eval");
    mtx_encoded enc;
    memset(&enc, 0, sizeof enc);
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    const mtx_encoded *e = NULL;
    mtx_status st = MTX_OK;
    if (data) {
        mtx_corpus c;
        st = mtx_corpus_load(data, &c);
        if (!st) {
            st = mtx_encode_corpus(&c, &b.src_vocab, &b.tgt_vocab, b.model.cfg.max_source_positions,
                                   b.model.cfg.max_target_positions - 1, &enc);
            mtx_corpus_free(&c);
        }
        e = &enc;
        split = data;
    } else {
        mtx_train_config t;
        st = mtx_bundle_train_config(&b, model, &t);
        if (!st) st = mtx_dataset_load(&d, &t, &b.model.cfg, model);
        if (!st && which == MTX_SPLIT_TEST && !d.has_test)
            st = mtx_set_error(MTX_ERR_ARG, "the model's training data has no test split");
        e = which == MTX_SPLIT_DEV ? &d.dev : &d.test;
    }
    mtx_eval_result res;
    if (!st) {
        mtx_net net;
        mtx_net_from_model(&net, &b.model, NULL);
        st = mtx_eval_encoded(&net, e, (int)beam, (float)alpha, &res);
    }
    int64_t too_long = e ? e->n_too_long : 0;
    mtx_encoded_free(&enc);
    mtx_dataset_free(&d);
    mtx_bundle_free(&b);
    if (st) return mtx_fail("eval");
    double wps = res.seconds > 0 ? (double)res.words / res.seconds : 0;
    if (json) {
        printf("{\"split\":\"%s\",\"words\":%lld,\"per\":%.4f,\"wer\":%.4f,\"phone_errors\":%lld,"
               "\"ref_phones\":%lld,\"word_errors\":%lld,\"beam\":%ld,\"alpha\":%.3f,"
               "\"words_per_s\":%.1f,\"skipped_too_long\":%lld}\n",
               which == MTX_SPLIT_DEV && !data ? "dev" : (data ? "file" : "test"), (long long)res.words,
               mtx_score_per(&res.score), mtx_score_wer(&res.score), (long long)res.score.errors,
               (long long)res.score.ref_len, (long long)res.score.word_errors, beam, alpha, wps,
               (long long)too_long);
    } else {
        printf("%s: %lld words  PER %.2f%%  WER %.2f%%  (beam %ld, %.0f words/s)\n", split,
               (long long)res.words, mtx_score_per(&res.score), mtx_score_wer(&res.score), beam, wps);
    }
    return 0;
}

static const char predict_help[] =
    "usage: modtx predict --model DIR [--beam K] [WORD...]\n"
    "\n"
    "Prints one line per word: word<TAB>PH PH ... Words come from the arguments or,\n"
    "if there are none, from stdin (one per line). A word that cannot be\n"
    "transcribed (unknown character, too long) gets a one-line error on stderr;\n"
    "the other words are still printed and the exit status is 1.\n";

enum { PRED_CHUNK = 128, PRED_MAX_WORD = 256 };

typedef struct {
    const mtx_bundle *b;
    mtx_decoder *dec;
    char words[PRED_CHUNK][PRED_MAX_WORD + 1];
    int n;
    int errors;
} predictor;

static void predict_flush(predictor *p) {
    const mtx_model_config *c = &p->b->model.cfg;
    const int Ps = c->max_source_positions, Pt = c->max_target_positions;
    int32_t src[PRED_CHUNK * MTX_MAX_POSITIONS], hyp[PRED_CHUNK * MTX_MAX_POSITIONS];
    int slen[PRED_CHUNK], hlen[PRED_CHUNK], ok[PRED_CHUNK], idx[PRED_CHUNK], B = 0, S = 1;
    for (int i = 0; i < p->n; i++) {
        int32_t ids[MTX_MAX_POSITIONS];
        int len = 0;
        mtx_status st = mtx_cli_encode_word(&p->b->src_vocab, p->words[i], ids, Ps, &len);
        ok[i] = !st;
        if (st) {
            fprintf(stderr, "modtx predict: %s\n", mtx_last_error());
            p->errors++;
            continue;
        }
        memcpy(src + B * Ps, ids, sizeof(int32_t) * (size_t)len);
        slen[B] = len;
        if (len > S) S = len;
        idx[i] = B++;
    }
    if (B) {
        /* re-pack rows to stride S */
        for (int b = 0; b < B; b++)
            for (int x = 0; x < S; x++) src[b * S + x] = x < slen[b] ? src[b * Ps + x] : MTX_PAD;
        if (mtx_decode(p->dec, src, slen, B, S, hyp, hlen, Pt)) {
            fprintf(stderr, "modtx predict: %s\n", mtx_last_error());
            p->errors += B;
            B = 0;
        }
    }
    for (int i = 0; i < p->n; i++) {
        if (!ok[i] || !B) continue;
        int b = idx[i];
        printf("%s\t", p->words[i]);
        for (int k = 0; k < hlen[b]; k++)
            printf("%s%s", k ? " " : "", p->b->tgt_vocab.tok[hyp[b * Pt + k]]);
        putchar('\n');
    }
    fflush(stdout);
    p->n = 0;
}

static void predict_add(predictor *p, const char *w) {
    if (strlen(w) > PRED_MAX_WORD) {
        fprintf(stderr, "modtx predict: word longer than %d bytes: '%.20s...'\n", PRED_MAX_WORD, w);
        p->errors++;
        return;
    }
    strcpy(p->words[p->n++], w);
    if (p->n == PRED_CHUNK) predict_flush(p);
}

int mtx_cmd_predict(int argc, char **argv) {
    const char *model = NULL, *beam_s = "1";
    char *pos[4096];
    int npos = 0;
    const mtx_opt opts[] = { { "--model", &model, NULL }, { "--beam", &beam_s, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 2, predict_help, pos, 4096, &npos);
    if (r) return r == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "modtx predict: --model is required (see --help)\n");
        return 2;
    }
    long beam = mtx_opt_int("predict", "--beam", beam_s, 1, 64);
    if (beam < 0) return 2;
    mtx_set_threads(1);
    mtx_bundle b;
    if (mtx_bundle_load(model, &b)) return mtx_fail("predict");
    predictor *p = calloc(1, sizeof *p);
    mtx_net net;
    mtx_net_from_model(&net, &b.model, NULL);
    if (!p || mtx_decoder_new(&p->dec, &net, PRED_CHUNK, (int)beam, 1.0f)) {
        free(p);
        mtx_bundle_free(&b);
        return mtx_fail("predict");
    }
    p->b = &b;
    if (npos) {
        for (int i = 0; i < npos; i++) predict_add(p, pos[i]);
    } else {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            size_t n = strlen(line);
            if (n && line[n - 1] != '\n' && !feof(stdin)) {
                /* longer than the buffer: one error for the whole line */
                int ch;
                while ((ch = getchar()) != EOF && ch != '\n') {}
                fprintf(stderr, "modtx predict: word longer than %d bytes: '%.20s...'\n", PRED_MAX_WORD, line);
                p->errors++;
                continue;
            }
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
            char *w = line;
            while (*w == ' ' || *w == '\t') w++;
            if (*w) predict_add(p, w);
        }
    }
    predict_flush(p);
    int errors = p->errors;
    mtx_decoder_free(p->dec);
    free(p);
    mtx_bundle_free(&b);
    return errors ? 1 : 0;
}

static const char info_help[] =
    "usage: modtx info --model DIR\n"
    "\n"
    "Prints the model's configuration, parameter counts and training provenance.\n";

int mtx_cmd_info(int argc, char **argv) {
    const char *model = NULL;
    const mtx_opt opts[] = { { "--model", &model, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 1, info_help, NULL, 0, NULL);
    if (r) return r == 1 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "modtx info: --model is required (see --help)\n");
        return 2;
    }
    mtx_bundle b;
    if (mtx_bundle_load(model, &b)) return mtx_fail("info");
    const mtx_model_config *c = &b.model.cfg;
    printf("model:        %s\n", model);
    printf("architecture: encoder-decoder transformer, pre-norm RMSNorm, ReLU FFN, learned absolute positions\n");
    printf("layers:       %d encoder + %d decoder, d_model %d, %d heads, d_ff %d\n", c->num_layers,
           c->num_decoder_layers, c->d_model, c->num_heads, c->d_ff);
    printf("vocabulary:   %d source symbols, %d target symbols\n", c->src_vocab_size, c->tgt_vocab_size);
    printf("positions:    %d source, %d target\n", c->max_source_positions, c->max_target_positions);
    printf("parameters:   %zu total (encoder layer %zu, decoder layer %zu)\n", b.model.n_params,
           mtx_enc_layer_size(c), mtx_dec_layer_size(c));
    cJSON *root = cJSON_Parse(b.config_json);
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    if (p) {
        char *s = cJSON_Print(p);
        printf("provenance:   %s\n", s ? s : "?");
        cJSON_free(s);
    } else {
        printf("provenance:   none recorded\n");
    }
    cJSON_Delete(root);
    mtx_bundle_free(&b);
    return 0;
}

static const char average_help[] =
    "usage: modtx average --out DIR MODEL MODEL [MODEL...]\n"
    "\n"
    "Writes to DIR the model whose every weight is the mean of that weight in the\n"
    "given model directories (2 to 64). They must share the architecture and the\n"
    "vocabularies, and should share a starting point: fine-tuning restarts of one\n"
    "model with different seeds (train --init), or checkpoints of one run. The\n"
    "result keeps the first model's data provenance (eval finds its splits) and\n"
    "lists its inputs (modtx info). Module banks (modularize restarts with\n"
    "--init) average into a bank: their modules are averaged, their teacher must\n"
    "be the same.\n";

int mtx_cmd_average(int argc, char **argv) {
    const char *out = NULL;
    char *pos[MTX_AVERAGE_MAX + 1];
    int npos = 0;
    const mtx_opt opts[] = { { "--out", &out, NULL } };
    int r = mtx_parse_opts(argc, argv, opts, 1, average_help, pos, MTX_AVERAGE_MAX, &npos);
    if (r) return r == 1 ? 0 : 2;
    if (!out || npos < 2) {
        fprintf(stderr, "modtx average: --out and at least two model directories are required (see --help)\n");
        return 2;
    }
    char cmd[4096];
    mtx_cli_command_line(cmd, sizeof cmd, argc, argv);
    if (mtx_average_models((const char *const *)pos, npos, out, cmd)) return mtx_fail("average");
    fprintf(stderr, "modtx average: mean of %d models written to %s\n", npos, out);
    return 0;
}
