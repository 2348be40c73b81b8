/* test_cli.c - the modtx binary end to end: help and usage errors, training a
 * tiny model on the fixtures in tests/fixtures, resume rules, eval, predict
 * and info, and malformed data. Runs the real binary ($MTX_BIN, default
 * build/modtx; a missing binary fails every test) with fork/exec, stdin from
 * a file or /dev/null, stdout and stderr captured in files of a mkdtemp
 * directory under /tmp that the suite removes. Each child gets
 * OPENBLAS_NUM_THREADS=1 and a 300 s alarm so a hang fails instead of
 * blocking (helpers in cli_util.[ch]; the modular commands are tested in
 * test_cli_modular.c). The suite takes a few seconds. */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "testutil.h"
#include "io/checkpoint.h"
#include "model/config.h"
#include "data/data.h"
#include "core/fsutil.h"
#include "model/model.h"
#include "data/vocab.h"

static char g_model[MTX_PATH_MAX]; /* trained by test_train, used by eval/predict/info */
static int g_trained;

static int suite_init(void) {
    int r = cli_suite_init();
    snprintf(g_model, sizeof g_model, "%s", tmp_path("model", 0));
    return r;
}

/* Writes a training config for the fixtures into g_dir/name; returns its path. */
static const char *write_config(const char *name, int d_model, int max_steps, const char *train,
                                const char *extra_training) {
    const char *path = tmp_path(name, 1);
    char text[4 * PATH_MAX + 1024];
    snprintf(text, sizeof text,
             "{\n  \"d_model\": %d, \"num_heads\": 2, \"d_ff\": 32, \"num_layers\": 1,\n"
             "  \"num_decoder_layers\": 1, \"max_source_positions\": 32, \"max_target_positions\": 32,\n"
             "  \"training\": {\n    \"train\": \"%s\", \"dev\": \"%s\", \"test\": \"%s\",\n"
             "    \"max_steps\": %d, \"warmup_steps\": 5, \"lr\": 0.003, \"batch_tokens\": 256,\n"
             "    \"checkpoint_every\": 20, \"log_every\": 10, \"eval_every\": 20, \"threads\": 1%s\n  }\n}\n",
             d_model, train, g_dev, g_test, max_steps, extra_training ? extra_training : "");
    if (mtx_write_file_atomic(path, text, strlen(text)) != MTX_OK) return "/nonexistent";
    return path;
}

/* ------------------------------------------------------------------ usage */

static void test_help(void) {
    CU_ASSERT_FATAL(bin_ok());
    run_result r = RUN("--help");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.out, "usage: modtx"));
    CU_ASSERT_STRING_EQUAL(r.err, "");
    static const char *const cmds[] = { "train", "eval", "predict", "info", "bench" };
    for (int i = 0; i < 5; i++) CU_ASSERT_TRUE(has(r.out, cmds[i]));
    run_free(&r);

    for (int i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: modtx %s", cmds[i]);
        r = RUN(cmds[i], "--help");
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_TRUE(r.out && strncmp(r.out, want, strlen(want)) == 0);
        CU_ASSERT_TRUE(lines_of(r.out) >= 2);
        CU_ASSERT_STRING_EQUAL(r.err, "");
        if (r.status != 0 || !has(r.out, want)) show(cmds[i], &r);
        run_free(&r);
    }

    /* no command at all: usage on stderr, exit 2 */
    r = run_in(NULL, (const char *const[]){ NULL });
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_TRUE(has(r.err, "usage: modtx"));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    run_free(&r);
}

static void test_usage_errors(void) {
    CU_ASSERT_FATAL(bin_ok());
    /* unknown command: the first stderr line says so (the command list follows) */
    run_result r = RUN("frobnicate");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    const char *nl = r.err ? strchr(r.err, '\n') : NULL;
    CU_ASSERT_TRUE(nl && has(r.err, "unknown command 'frobnicate'") &&
                   strstr(r.err, "frobnicate") < nl);
    run_free(&r);

    static const char *const cmds[] = { "train", "eval", "predict", "info", "bench" };
    for (int i = 0; i < 5; i++) {
        r = RUN(cmds[i], "--frobnicate");
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--frobnicate"));
        CU_ASSERT_STRING_EQUAL(r.out, "");
        if (r.status != 2 || !one_line(r.err)) show(cmds[i], &r);
        run_free(&r);
    }
    /* required options missing, option without its value */
    const char *const *cases[] = {
        (const char *const[]){ "train", NULL },
        (const char *const[]){ "train", "--config", "x.json", NULL },
        (const char *const[]){ "eval", NULL },
        (const char *const[]){ "predict", "word", NULL },
        (const char *const[]){ "info", NULL },
        (const char *const[]){ "info", "--model", NULL },
        (const char *const[]){ "info", "--model", "a", "extra", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = run_in(NULL, cases[i]);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_TRUE(one_line(r.err));
        if (r.status != 2 || !one_line(r.err)) show(cases[i][0], &r);
        run_free(&r);
    }
}

/* --------------------------------------------------------------- training */

typedef struct {
    int n_loss, n_dev, bad;
    int loss_step[32];
    double loss[32];
    int monotonic; /* steps never decrease from line to line */
} metrics;

/* Parses metrics.jsonl of dir: every line a JSON object with a numeric "step". */
static metrics read_metrics(const char *dir) {
    metrics m;
    memset(&m, 0, sizeof m);
    m.monotonic = 1;
    char path[MTX_PATH_MAX];
    char *text = NULL;
    if (mtx_path_join(path, sizeof path, dir, "metrics.jsonl") == MTX_OK) text = slurp(path);
    if (!text || !*text) {
        m.bad = 1;
        free(text);
        return m;
    }
    double last = -1;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (!next) {
            m.bad++; /* every line ends in a newline */
            break;
        }
        *next++ = 0;
        cJSON *j = cJSON_Parse(line);
        const cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        const cJSON *l = j ? cJSON_GetObjectItemCaseSensitive(j, "loss") : NULL;
        const cJSON *d = j ? cJSON_GetObjectItemCaseSensitive(j, "dev_nll") : NULL;
        if (!cJSON_IsObject(j) || !cJSON_IsNumber(s)) {
            m.bad++;
        } else {
            if (s->valuedouble < last) m.monotonic = 0;
            last = s->valuedouble;
            if (cJSON_IsNumber(l) && isfinite(l->valuedouble) && l->valuedouble > 0 && m.n_loss < 32) {
                m.loss_step[m.n_loss] = (int)s->valuedouble;
                m.loss[m.n_loss++] = l->valuedouble;
            } else if (cJSON_IsNumber(d) && isfinite(d->valuedouble)) {
                m.n_dev++;
            } else {
                m.bad++;
            }
        }
        cJSON_Delete(j);
    }
    free(text);
    return m;
}

/* The "modtx"."step" provenance of dir/config.json, or -1. */
static int provenance_step(const char *dir) {
    char path[MTX_PATH_MAX];
    if (mtx_path_join(path, sizeof path, dir, "config.json") != MTX_OK) return -1;
    char *text = slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "modtx");
    const cJSON *s = p ? cJSON_GetObjectItemCaseSensitive(p, "step") : NULL;
    int step = cJSON_IsNumber(s) ? (int)s->valuedouble : -1;
    cJSON_Delete(j);
    return step;
}

static void test_train(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(fixtures_ok());
    const char *cfg = write_config("train.json", 16, 40, g_train, NULL);
    run_result r = RUN("train", "--config", cfg, "--out", g_model);
    int status = r.status;
    CU_ASSERT_EQUAL(status, 0);
    if (status != 0) show("train", &r);
    CU_ASSERT_STRING_EQUAL(r.out, ""); /* progress goes to stderr */
    CU_ASSERT_TRUE(has(r.err, "step 40/40"));
    run_free(&r);

    static const char *const files[] = { "config.json", "model.safetensors", "source_vocab.txt",
                                         "target_vocab.txt", "train_state.safetensors",
                                         "metrics.jsonl" };
    for (int i = 0; i < 6; i++) {
        char p[MTX_PATH_MAX];
        CU_ASSERT_EQUAL(mtx_path_join(p, sizeof p, g_model, files[i]), MTX_OK);
        CU_ASSERT_TRUE(mtx_file_exists(p));
    }
    metrics m = read_metrics(g_model);
    CU_ASSERT_EQUAL(m.bad, 0);
    CU_ASSERT_TRUE(m.monotonic);
    CU_ASSERT_EQUAL(m.n_loss, 4); /* log_every 10 over 40 steps */
    CU_ASSERT_EQUAL(m.n_dev, 2);  /* eval_every 20 */
    for (int i = 0; i < m.n_loss && i < 4; i++) CU_ASSERT_EQUAL(m.loss_step[i], 10 * (i + 1));
    if (m.n_loss == 4) CU_ASSERT_TRUE(m.loss[3] < m.loss[0]); /* it learns something */
    CU_ASSERT_EQUAL(provenance_step(g_model), 40);
    g_trained = status == 0 && provenance_step(g_model) == 40;
}

static void test_resume(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(fixtures_ok());
    const char *dir = tmp_path("run", 0);
    char cfg40[MTX_PATH_MAX], cfg60[MTX_PATH_MAX], cfg32[MTX_PATH_MAX];
    snprintf(cfg40, sizeof cfg40, "%s", write_config("r40.json", 16, 40, g_train, NULL));
    snprintf(cfg60, sizeof cfg60, "%s", write_config("r60.json", 16, 60, g_train, NULL));
    snprintf(cfg32, sizeof cfg32, "%s", write_config("r32.json", 32, 60, g_train, NULL));

    /* --resume needs a run to resume */
    run_result r = RUN("train", "--config", cfg40, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err));
    run_free(&r);

    r = RUN("train", "--config", cfg40, "--out", dir);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    char mpath[MTX_PATH_MAX];
    CU_ASSERT_EQUAL(mtx_path_join(mpath, sizeof mpath, dir, "metrics.jsonl"), MTX_OK);
    char *before = slurp(mpath);

    /* same config, same seed: the same weights as the run of test_train */
    if (g_trained) {
        char pa[MTX_PATH_MAX], pb[MTX_PATH_MAX];
        uint8_t *wa = NULL, *wb = NULL;
        size_t la = 0, lb = 0;
        CU_ASSERT_EQUAL(mtx_path_join(pa, sizeof pa, g_model, "model.safetensors"), MTX_OK);
        CU_ASSERT_EQUAL(mtx_path_join(pb, sizeof pb, dir, "model.safetensors"), MTX_OK);
        CU_ASSERT_EQUAL(mtx_read_file(pa, 1 << 24, &wa, &la), MTX_OK);
        CU_ASSERT_EQUAL(mtx_read_file(pb, 1 << 24, &wb, &lb), MTX_OK);
        CU_ASSERT_TRUE(wa && wb && la == lb && memcmp(wa, wb, la) == 0);
        free(wa);
        free(wb);
    }

    /* the same --out again without --resume: refused, nothing touched */
    r = RUN("train", "--config", cfg40, "--out", dir);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--resume"));
    if (r.status != 1) show("train twice", &r);
    run_free(&r);
    char *after = slurp(mpath);
    CU_ASSERT_TRUE(before && after && strcmp(before, after) == 0);
    free(after);

    /* a different model cannot resume this run, and leaves it alone */
    r = RUN("train", "--config", cfg32, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "resume"));
    if (r.status != 1) show("resume, other d_model", &r);
    run_free(&r);
    after = slurp(mpath);
    CU_ASSERT_TRUE(before && after && strcmp(before, after) == 0);
    free(after);
    free(before);
    CU_ASSERT_EQUAL(provenance_step(dir), 40);

    /* the same config: the run is complete, resuming changes nothing */
    r = RUN("train", "--config", cfg40, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status != 0) show("resume, same config", &r);
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(dir), 40);

    /* the same config with more steps continues from step 40 */
    r = RUN("train", "--config", cfg60, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.err, "step 60/60") && !has(r.err, "step 10/"));
    if (r.status != 0) show("resume to 60", &r);
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(dir), 60);
    metrics m = read_metrics(dir);
    CU_ASSERT_EQUAL(m.bad, 0);
    CU_ASSERT_TRUE(m.monotonic);
    CU_ASSERT_EQUAL(m.n_loss, 6); /* steps 10..60, each once */
    for (int i = 0; i < m.n_loss && i < 6; i++) CU_ASSERT_EQUAL(m.loss_step[i], 10 * (i + 1));
    CU_ASSERT_EQUAL(m.n_dev, 3);

    /* the thread count may change on resume; a training hyper-parameter may not */
    char cfg80t[MTX_PATH_MAX], cfg80lr[MTX_PATH_MAX];
    snprintf(cfg80t, sizeof cfg80t, "%s", write_config("r80t.json", 16, 80, g_train, NULL));
    snprintf(cfg80lr, sizeof cfg80lr, "%s", write_config("r80lr.json", 16, 80, g_train, ", \"warmup_steps\": 6"));
    r = RUN("train", "--config", cfg80lr, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "cannot resume"));
    if (r.status != 1) show("resume, other warm-up", &r);
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(dir), 60);
    r = RUN("train", "--config", cfg80t, "--out", dir, "--resume", "--threads", "0");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--threads"));
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(dir), 60);
    r = RUN("train", "--config", cfg80t, "--out", dir, "--resume", "--threads", "2");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.err, "step 80/80"));
    if (r.status != 0) show("resume, other thread count", &r);
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(dir), 80);

    /* a damaged record of the run's config: refused, naming that file */
    char saved[MTX_PATH_MAX];
    CU_ASSERT_EQUAL(mtx_path_join(saved, sizeof saved, dir, "train_config.json"), MTX_OK);
    const char *damaged = "{\"d_model\": 16, \"bogus\": 1}\n";
    CU_ASSERT_EQUAL(mtx_write_file_atomic(saved, damaged, strlen(damaged)), MTX_OK);
    r = RUN("train", "--config", cfg80t, "--out", dir, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, saved) && has(r.err, "bogus"));
    if (!has(r.err, saved)) show("resume, damaged train_config.json", &r);
    run_free(&r);
}

static void test_train_bad_input(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(fixtures_ok());
    /* bad_train.dict line 3 is a CMUdict word with no phones */
    const char *cfg = write_config("bad.json", 16, 40, g_bad, NULL);
    const char *out = tmp_path("bad_out", 0);
    run_result r = RUN("train", "--config", cfg, "--out", out);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof want, "%s:3", g_bad);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, want));
    if (r.status != 1 || !has(r.err, want)) show("bad data", &r);
    run_free(&r);
    CU_ASSERT_FALSE(mtx_file_exists(tmp_path("bad_out/train_state.safetensors", 1)));

    /* a typo in the config is an error naming the key, not a default */
    cfg = write_config("typo.json", 16, 40, g_train, ", \"max_step\": 5");
    r = RUN("train", "--config", cfg, "--out", out);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "max_step") && has(r.err, "typo.json"));
    run_free(&r);

    /* a config file that does not exist */
    r = RUN("train", "--config", tmp_path("absent.json", 1), "--out", out);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "absent.json"));
    run_free(&r);
}

/* ------------------------------------------------------------------- eval */




static void check_eval_json(const char *split, int beam, int want_words) {
    char b[8];
    snprintf(b, sizeof b, "%d", beam);
    run_result r = RUN("eval", "--model", g_model, "--split", split, "--beam", b, "--json", "--threads", "1");
    CU_ASSERT_EQUAL(r.status, 0);
    cJSON *j = parse_one_object(r.out);
    CU_ASSERT_PTR_NOT_NULL(j);
    if (r.status != 0 || !j) show("eval --json", &r);
    if (j) {
        double per = num(j, "per"), wer = num(j, "wer"), words = num(j, "words");
        CU_ASSERT_TRUE(per >= 0 && per <= 1000);
        CU_ASSERT_TRUE(wer >= 0 && wer <= 100);
        CU_ASSERT_EQUAL(words, want_words);
        /* the rates agree with the counts they come from */
        double pe = num(j, "phone_errors"), rp = num(j, "ref_phones"), we = num(j, "word_errors");
        CU_ASSERT_TRUE(rp > 0 && fabs(per - 100.0 * pe / rp) < 1e-3);
        CU_ASSERT_TRUE(words > 0 && fabs(wer - 100.0 * we / words) < 1e-3);
        CU_ASSERT_EQUAL(num(j, "beam"), beam);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "split");
        CU_ASSERT_TRUE(cJSON_IsString(s) && strcmp(s->valuestring, split) == 0);
    }
    cJSON_Delete(j);
    run_free(&r);
}

static void test_eval(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    int n_test = distinct_words(g_test), n_dev = distinct_words(g_dev);
    CU_ASSERT_EQUAL(n_test, 6); /* 9 lines: bog, fog and top have two pronunciations */
    CU_ASSERT_EQUAL(n_dev, 5);
    check_eval_json("test", 1, n_test);
    check_eval_json("dev", 1, n_dev);
    check_eval_json("test", 3, n_test);

    run_result r = RUN("eval", "--model", g_model);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(one_line(r.out) && has(r.out, "PER") && has(r.out, "WER") && has(r.out, "6 words"));
    run_free(&r);

    const char *const bad[][2] = { { "--split", "bogus" }, { "--beam", "0" }, { "--beam", "x" },
                                   { "--alpha", "-1" } };
    for (int i = 0; i < 4; i++) {
        r = RUN("eval", "--model", g_model, bad[i][0], bad[i][1]);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, bad[i][0]));
        CU_ASSERT_STRING_EQUAL(r.out, "");
        if (r.status != 2) show(bad[i][0], &r);
        run_free(&r);
    }
    /* an explicit data file instead of the model's own split */
    r = RUN("eval", "--model", g_model, "--data", g_test, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    cJSON *j = parse_one_object(r.out);
    CU_ASSERT_TRUE(j && num(j, "words") == n_test);
    cJSON_Delete(j);
    run_free(&r);

    /* not a model directory */
    r = RUN("eval", "--model", g_dir, "--json");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, g_dir));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    run_free(&r);
}

/* ---------------------------------------------------------------- predict */

/* Checks that out is one "word<TAB>tokens" line per word, in order, with
 * every token a non-special entry of the model's target vocabulary. */
static int predictions_ok(const char *out, const char *const *words, int n) {
    char path[MTX_PATH_MAX];
    mtx_vocab tv;
    if (mtx_path_join(path, sizeof path, g_model, "target_vocab.txt") != MTX_OK) return 0;
    if (mtx_vocab_load(path, &tv) != MTX_OK) return 0;
    int ok = lines_of(out) == n;
    const char *p = out;
    for (int i = 0; ok && i < n; i++) {
        size_t wl = strlen(words[i]);
        const char *eol = strchr(p, '\n');
        ok = eol && strncmp(p, words[i], wl) == 0 && p[wl] == '\t';
        char toks[512];
        size_t tl = ok ? (size_t)(eol - (p + wl + 1)) : 0;
        ok = ok && tl < sizeof toks;
        if (ok) {
            memcpy(toks, p + wl + 1, tl);
            toks[tl] = 0;
            for (char *t = strtok(toks, " "); ok && t; t = strtok(NULL, " "))
                ok = mtx_vocab_id(&tv, t) > MTX_EOS;
            p = eol + 1;
        }
    }
    mtx_vocab_free(&tv);
    return ok;
}

static void test_predict(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    static const char *const two[] = { "bog", "fog" };
    run_result a = RUN("predict", "--model", g_model, "bog", "fog");
    CU_ASSERT_EQUAL(a.status, 0);
    CU_ASSERT_STRING_EQUAL(a.err, "");
    CU_ASSERT_TRUE(predictions_ok(a.out, two, 2));
    if (a.status != 0 || !predictions_ok(a.out, two, 2)) show("predict", &a);

    /* the same words on stdin, with blank lines, CRLF and spaces around */
    const char *in = tmp_path("words.txt", 0);
    const char *text = "bog\r\n\n  fog \n";
    CU_ASSERT_EQUAL(mtx_write_file_atomic(in, text, strlen(text)), MTX_OK);
    run_result b = RUN_STDIN(in, "predict", "--model", g_model);
    CU_ASSERT_EQUAL(b.status, 0);
    CU_ASSERT_STRING_EQUAL(b.err, "");
    CU_ASSERT_STRING_EQUAL(b.out, a.out);
    run_free(&b);

    /* beam search prints the same format */
    b = RUN("predict", "--model", g_model, "--beam", "4", "bog", "fog");
    CU_ASSERT_EQUAL(b.status, 0);
    CU_ASSERT_TRUE(predictions_ok(b.out, two, 2));
    run_free(&b);

    /* upper case falls back to the lower-case vocabulary */
    b = RUN("predict", "--model", g_model, "BOG");
    CU_ASSERT_EQUAL(b.status, 0);
    const char *tab = strchr(a.out, '\t');
    const char *eol = tab ? strchr(tab, '\n') : NULL;
    CU_ASSERT_TRUE(tab && eol && strncmp(b.out, "BOG", 3) == 0 &&
                   strncmp(b.out + 3, tab, (size_t)(eol - tab + 1)) == 0);
    run_free(&b);

    /* an unknown character: one error line naming it, the others still printed */
    b = RUN("predict", "--model", g_model, "bog", "a1b", "fog");
    CU_ASSERT_EQUAL(b.status, 1);
    CU_ASSERT_TRUE(one_line(b.err) && has(b.err, "'1'") && has(b.err, "a1b"));
    CU_ASSERT_STRING_EQUAL(b.out, a.out);
    if (b.status != 1) show("predict a1b", &b);
    run_free(&b);

    b = RUN("predict", "--model", g_model, "caf\xc3\xa9");
    CU_ASSERT_EQUAL(b.status, 1);
    CU_ASSERT_TRUE(one_line(b.err) && has(b.err, "'\xc3\xa9'"));
    CU_ASSERT_STRING_EQUAL(b.out, "");
    run_free(&b);

    /* the same through stdin */
    text = "bog\na1b\nfog\n";
    CU_ASSERT_EQUAL(mtx_write_file_atomic(in, text, strlen(text)), MTX_OK);
    b = RUN_STDIN(in, "predict", "--model", g_model);
    CU_ASSERT_EQUAL(b.status, 1);
    CU_ASSERT_TRUE(one_line(b.err) && has(b.err, "'1'"));
    CU_ASSERT_STRING_EQUAL(b.out, a.out);
    run_free(&b);

    /* a stdin line longer than the reader's buffer is one over-long word,
     * not a word plus a transcribed tail */
    FILE *f = fopen(in, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 4100; i++) fputc('b', f);
    fputs("\nfog\n", f);
    for (int i = 0; i < 9000; i++) fputc('b', f);
    fputc('\n', f);
    fclose(f);
    b = RUN_STDIN(in, "predict", "--model", g_model);
    CU_ASSERT_EQUAL(b.status, 1);
    CU_ASSERT_EQUAL(lines_of(b.err), 2);
    CU_ASSERT_TRUE(b.out && strncmp(b.out, "fog\t", 4) == 0 && lines_of(b.out) == 1);
    if (lines_of(b.err) != 2 || lines_of(b.out) != 1) show("predict, 4100- and 9000-byte stdin lines", &b);
    run_free(&b);

    /* a word longer than the model's source positions (32) */
    b = RUN("predict", "--model", g_model, "bogbogbogbogbogbogbogbogbogbogbogbog", "fog");
    CU_ASSERT_EQUAL(b.status, 1);
    CU_ASSERT_TRUE(one_line(b.err));
    CU_ASSERT_TRUE(b.out && strncmp(b.out, "fog\t", 4) == 0 && lines_of(b.out) == 1);
    run_free(&b);
    run_free(&a);
}

/* ------------------------------------------------------------------- info */

static void test_info(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    run_result r = RUN("info", "--model", g_model);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    char path[MTX_PATH_MAX];
    mtx_model_config c;
    CU_ASSERT_EQUAL(mtx_path_join(path, sizeof path, g_model, "config.json"), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_model_config_load(path, &c), MTX_OK);
    char want[64];
    snprintf(want, sizeof want, "%zu total", mtx_param_count(&c));
    CU_ASSERT_TRUE(has(r.out, "parameters:") && has(r.out, want));
    CU_ASSERT_TRUE(has(r.out, "d_model 16") && has(r.out, "1 encoder + 1 decoder"));
    if (r.status != 0 || !has(r.out, want)) show("info", &r);
    run_free(&r);

    /* a directory that is not a model, and one that does not exist */
    const char *dirs[2] = { g_dir, tmp_path("nowhere", 0) };
    for (int i = 0; i < 2; i++) {
        r = RUN("info", "--model", dirs[i]);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, dirs[i]));
        CU_ASSERT_STRING_EQUAL(r.out, "");
        run_free(&r);
    }
}


/* ----------------------------------------------------------- fine-tuning */



/* --init from the model of test_train with its own config: the weights carry
 * over, so the first logged loss is far below that of the scratch run. */
static void test_init_finetune(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    const char *cfg = write_config("ft.json", 16, 40, g_train, NULL); /* the config of test_train */
    char out[MTX_PATH_MAX];
    snprintf(out, sizeof out, "%s", tmp_path("ft", 0));
    run_result r = RUN("train", "--config", cfg, "--out", out, "--init", g_model);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.err, "step 40/40"));
    if (r.status != 0) show("train --init", &r);
    run_free(&r);
    metrics scratch = read_metrics(g_model), ft = read_metrics(out);
    CU_ASSERT_EQUAL(ft.bad, 0);
    CU_ASSERT_EQUAL_FATAL(ft.n_loss, 4);
    CU_ASSERT_EQUAL_FATAL(scratch.n_loss, 4);
    /* a fresh schedule: the first window is steps 1..10 again */
    CU_ASSERT_EQUAL(ft.loss_step[0], 10);
    CU_ASSERT_TRUE(ft.loss[0] < scratch.loss[0] - 0.5);
    /* it starts about where the init model ended, not from scratch */
    CU_ASSERT_TRUE(ft.loss[0] < scratch.loss[3] + 0.25);
    if (!(ft.loss[0] < scratch.loss[0] - 0.5))
        fprintf(stderr, "\n    first loss: fine-tune %.4f, scratch %.4f\n", ft.loss[0], scratch.loss[0]);
    CU_ASSERT_EQUAL(provenance_step(out), 40);
    CU_ASSERT_STRING_EQUAL(provenance_str(out, "init_model"), g_model);
    r = RUN("info", "--model", out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.out, "init_model") && has(r.out, g_model));
    run_free(&r);
}

/* Fine-tuning on other data keeps the init model's vocabulary files (token
 * ids stay the same) instead of building new ones from that data. */
static void test_init_vocab(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    /* the dev words as training data: built from them, the vocabularies
     * would be smaller than the init model's */
    mtx_corpus c;
    mtx_vocab sv;
    CU_ASSERT_EQUAL_FATAL(mtx_corpus_load(g_dev, &c), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_source(&c, &sv), MTX_OK);
    char path[MTX_PATH_MAX];
    char *init_sv = NULL;
    CU_ASSERT_EQUAL(mtx_path_join(path, sizeof path, g_model, "source_vocab.txt"), MTX_OK);
    init_sv = slurp(path);
    CU_ASSERT_TRUE(init_sv && sv.n < lines_of(init_sv));
    free(init_sv);
    mtx_vocab_free(&sv);
    mtx_corpus_free(&c);

    const char *cfg = write_config("ft_dev.json", 16, 20, g_dev, NULL);
    char out[MTX_PATH_MAX];
    snprintf(out, sizeof out, "%s", tmp_path("ft_dev", 0));
    run_result r = RUN("train", "--config", cfg, "--out", out, "--init", g_model);
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status != 0) show("train --init on dev words", &r);
    run_free(&r);
    CU_ASSERT_TRUE(same_file(out, g_model, "source_vocab.txt"));
    CU_ASSERT_TRUE(same_file(out, g_model, "target_vocab.txt"));
}

/* An architecture that differs from the init model's: one line naming the
 * key, nothing written. */
static void test_init_mismatch(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    const char *cfg = write_config("ft32.json", 32, 40, g_train, NULL);
    char out[MTX_PATH_MAX];
    snprintf(out, sizeof out, "%s", tmp_path("ft32", 0));
    run_result r = RUN("train", "--config", cfg, "--out", out, "--init", g_model);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "d_model"));
    if (r.status == 0 || !one_line(r.err) || !has(r.err, "d_model")) show("train --init, d_model 32 vs 16", &r);
    run_free(&r);
    CU_ASSERT_FALSE(mtx_file_exists(out));
}

/* --init with --resume; an init directory that does not exist or is not a model. */
static void test_init_errors(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(fixtures_ok());
    char cfg[MTX_PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s", write_config("ft_err.json", 16, 40, g_train, NULL));
    char out[MTX_PATH_MAX];
    snprintf(out, sizeof out, "%s", tmp_path("ft_err", 0));
    run_result r = RUN("train", "--config", cfg, "--out", out, "--init", g_model, "--resume");
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--init") && has(r.err, "--resume"));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    if (!one_line(r.err)) show("train --init --resume", &r);
    run_free(&r);

    char nowhere[MTX_PATH_MAX];
    snprintf(nowhere, sizeof nowhere, "%s", tmp_path("nowhere", 0));
    const char *dirs[2] = { nowhere, g_dir };
    for (int i = 0; i < 2; i++) {
        r = RUN("train", "--config", cfg, "--out", out, "--init", dirs[i]);
        CU_ASSERT_NOT_EQUAL(r.status, 0);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, dirs[i]) && has(r.err, "--init"));
        if (!one_line(r.err) || !has(r.err, dirs[i])) show("train --init, not a model", &r);
        run_free(&r);
    }
    CU_ASSERT_FALSE(mtx_file_exists(out));
}


/* average: every weight is the mean of the inputs' (rounded once from the
 * double sum); a model averaged with itself is itself bit for bit; the result
 * evaluates and records its inputs; bad inputs give one line and no output. */
static void test_average(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    char ft[MTX_PATH_MAX], avg[MTX_PATH_MAX], self[MTX_PATH_MAX];
    snprintf(ft, sizeof ft, "%s", tmp_path("ft", 0)); /* written by test_init_finetune */
    snprintf(avg, sizeof avg, "%s", tmp_path("avg", 0));
    snprintf(self, sizeof self, "%s", tmp_path("avg_self", 0));
    run_result r = RUN("average", "--out", avg, g_model, ft);
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status != 0) show("average", &r);
    run_free(&r);
    mtx_bundle a, b, m;
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(g_model, &a), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(ft, &b), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(avg, &m), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(m.model.n_params, a.model.n_params);
    size_t moved = 0, wrong = count_not_mean2(a.model.params, b.model.params, m.model.params, a.model.n_params, &moved);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_TRUE(moved > a.model.n_params / 2); /* the inputs really differ */
    mtx_bundle_free(&m);
    r = RUN("average", "--out", self, g_model, g_model, g_model);
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    CU_ASSERT_EQUAL_FATAL(mtx_bundle_load(self, &m), MTX_OK);
    CU_ASSERT_EQUAL(memcmp(m.model.params, a.model.params, a.model.n_params * sizeof(float)), 0);
    mtx_bundle_free(&m);
    mtx_bundle_free(&a);
    mtx_bundle_free(&b);
    CU_ASSERT_STRING_EQUAL(provenance_str(avg, "kind"), "average");
    CU_ASSERT_TRUE(same_file(avg, g_model, "source_vocab.txt") && same_file(avg, g_model, "target_vocab.txt"));
    r = RUN("eval", "--model", avg, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.out, "\"wer\""));
    run_free(&r);
    r = RUN("info", "--model", avg);
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "averaged_from") && has(r.out, ft));
    run_free(&r);

    /* one model; the output among the inputs; a missing input */
    char bad[MTX_PATH_MAX], nowhere[MTX_PATH_MAX];
    snprintf(bad, sizeof bad, "%s", tmp_path("avg_bad", 0));
    snprintf(nowhere, sizeof nowhere, "%s", tmp_path("nowhere", 0));
    r = RUN("average", "--out", bad, g_model);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_TRUE(one_line(r.err));
    run_free(&r);
    r = RUN("average", "--out", g_model, g_model, ft);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "also an input"));
    run_free(&r);
    r = RUN("average", "--out", bad, g_model, nowhere);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, nowhere));
    if (!one_line(r.err)) show("average, missing input", &r);
    run_free(&r);
    CU_ASSERT_FALSE(mtx_file_exists(bad));
}

/* A run started with --init resumes with --resume alone, exactly: with a
 * constant rate after warm-up (so the schedule does not depend on
 * max_steps), 20 steps then a resume to 40 equal 40 uninterrupted steps. */
static void test_init_resume(void) {
    CU_ASSERT_FATAL(bin_ok());
    CU_ASSERT_FATAL(g_trained);
    char cfg20[MTX_PATH_MAX], cfg40[MTX_PATH_MAX], a[MTX_PATH_MAX], b[MTX_PATH_MAX];
    snprintf(cfg20, sizeof cfg20, "%s", write_config("ftc20.json", 16, 20, g_train, ", \"min_lr_ratio\": 1.0"));
    snprintf(cfg40, sizeof cfg40, "%s", write_config("ftc40.json", 16, 40, g_train, ", \"min_lr_ratio\": 1.0"));
    snprintf(a, sizeof a, "%s", tmp_path("ftc_whole", 0));
    snprintf(b, sizeof b, "%s", tmp_path("ftc_resumed", 0));
    run_result r = RUN("train", "--config", cfg40, "--out", a, "--init", g_model);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("train", "--config", cfg20, "--out", b, "--init", g_model);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("train", "--config", cfg40, "--out", b, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.err, "step 40/40") && !has(r.err, "step 10/"));
    if (r.status != 0) show("train --resume of a --init run", &r);
    run_free(&r);
    CU_ASSERT_EQUAL(provenance_step(b), 40);
    CU_ASSERT_TRUE(same_file(a, b, "model.safetensors"));
    metrics ma = read_metrics(a), mb = read_metrics(b);
    CU_ASSERT_TRUE(ma.bad == 0 && mb.bad == 0 && mb.monotonic);
    CU_ASSERT_EQUAL(ma.n_loss, 4);
    CU_ASSERT_EQUAL(mb.n_loss, 4);
    for (int i = 0; i < ma.n_loss && i < mb.n_loss; i++) {
        CU_ASSERT_EQUAL(ma.loss_step[i], mb.loss_step[i]);
        CU_ASSERT_EQUAL(ma.loss[i], mb.loss[i]);
    }
    /* the resumed run still records where it started from */
    CU_ASSERT_STRING_EQUAL(provenance_str(b, "init_model"), g_model);
    CU_ASSERT_TRUE(same_file(b, g_model, "source_vocab.txt") && same_file(b, g_model, "target_vocab.txt"));
}

/* ------------------------------------------------------------ modular */





void mtx_suite_cli(void) {
    CU_pSuite s = CU_add_suite("cli", suite_init, cli_suite_clean);
    CU_add_test(s, "--help for modtx and every command", test_help);
    CU_add_test(s, "unknown command, unknown option, missing option: exit 2", test_usage_errors);
    CU_add_test(s, "train a tiny model end to end", test_train);
    CU_add_test(s, "train again needs --resume; resume rules", test_resume);
    CU_add_test(s, "malformed data and config: exit 1 naming FILE:LINE", test_train_bad_input);
    CU_add_test(s, "eval --json on test and dev, bad options", test_eval);
    CU_add_test(s, "predict from arguments and stdin, unknown characters", test_predict);
    CU_add_test(s, "info prints the parameter count; non-model dir fails", test_info);
    CU_add_test(s, "train --init: first loss far below a scratch run's", test_init_finetune);
    CU_add_test(s, "train --init keeps the init model's vocabulary files", test_init_vocab);
    CU_add_test(s, "train --init, other architecture: one line naming the key", test_init_mismatch);
    CU_add_test(s, "train --init with --resume, missing init dir: one line", test_init_errors);
    CU_add_test(s, "a run started with --init resumes exactly", test_init_resume);
    CU_add_test(s, "average: element-wise mean, self-average exact, errors", test_average);
}
