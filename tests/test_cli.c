/* test_cli.c - the modtx binary end to end: help and usage errors, training a
 * tiny model on the fixtures in tests/fixtures, resume rules, eval, predict
 * and info, and malformed data. Runs the real binary ($MTX_BIN, default
 * build/modtx; a missing binary fails every test) with fork/exec, stdin from
 * a file or /dev/null, stdout and stderr captured in files of a mkdtemp
 * directory under /tmp that the suite removes. Each child gets
 * OPENBLAS_NUM_THREADS=1 and a 120 s alarm so a hang fails instead of
 * blocking. The suite takes a few seconds, most of them in the test of
 * the shipped teacher and bank on the real CMUdict test split. */
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

#include "testutil.h"
#include "checkpoint.h"
#include "config.h"
#include "data.h"
#include "fsutil.h"
#include "model.h"
#include "vocab.h"

static char g_dir[64];
static const char *g_bin;
static char g_train[PATH_MAX], g_dev[PATH_MAX], g_test[PATH_MAX], g_bad[PATH_MAX];
static char g_model[MTX_PATH_MAX]; /* trained by test_train, used by eval/predict/info */
static int g_trained;

/* g_dir/name in one of four static buffers. */
static const char *tmp_path(const char *name, int slot) {
    static char buf[4][MTX_PATH_MAX];
    if (mtx_path_join(buf[slot], sizeof buf[slot], g_dir, name) != MTX_OK) return "/nonexistent";
    return buf[slot];
}

/* The absolute path of tests/fixtures/name (the tests run from the
 * repository root), or "" if it is not there. */
static void fixture(char out[PATH_MAX], const char *name) {
    char cwd[PATH_MAX], rel[PATH_MAX];
    out[0] = 0;
    if (!getcwd(cwd, sizeof cwd)) return;
    if (mtx_path_join(rel, sizeof rel, "tests/fixtures", name) != MTX_OK) return;
    if (mtx_path_join(out, PATH_MAX, cwd, rel) != MTX_OK || access(out, R_OK) != 0) out[0] = 0;
}

static int suite_init(void) {
    g_bin = getenv("MTX_BIN");
    if (!g_bin || !*g_bin) g_bin = "build/modtx";
    strcpy(g_dir, "/tmp/mtx_cli_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    /* absolute fixture paths: they are recorded in the model's provenance and
     * read back by `modtx eval`; empty if missing (the tests then fail) */
    fixture(g_train, "tiny_train.dict");
    fixture(g_dev, "tiny_dev.dict");
    fixture(g_test, "tiny_test.dict");
    fixture(g_bad, "bad_train.dict");
    snprintf(g_model, sizeof g_model, "%s", tmp_path("model", 0));
    return 0;
}

static int suite_clean(void) {
    mtx_test_rm_tree(g_dir);
    return 0;
}

static int bin_ok(void) {
    int ok = access(g_bin, X_OK) == 0;
    if (!ok) fprintf(stderr, "\n    modtx binary '%s' not found (set MTX_BIN)\n", g_bin);
    return ok;
}

static int fixtures_ok(void) {
    int ok = g_train[0] && g_dev[0] && g_test[0] && g_bad[0];
    if (!ok) fprintf(stderr, "\n    tests/fixtures/*.dict not found (run from the repository root)\n");
    return ok;
}

static char *slurp(const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    if (mtx_read_file(path, 1 << 24, &data, &len) != MTX_OK) return NULL;
    return (char *)data;
}

typedef struct {
    int status; /* exit status, or -signal if killed, or -1000 if it could not run */
    char *out, *err;
} run_result;

static void run_free(run_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Runs g_bin with args (NULL-terminated, not counting argv[0]); stdin from
 * in_path or /dev/null. */
static run_result run_in(const char *in_path, const char *const *args) {
    run_result r = { -1000, NULL, NULL };
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)g_bin;
    for (; args[n - 1] && n < 63; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    const char *out = tmp_path("stdout.txt", 2), *err = tmp_path("stderr.txt", 3);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return r;
    if (pid == 0) {
        int fi = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        alarm(120);
        execv(g_bin, argv);
        _exit(127);
    }
    int ws = 0;
    if (waitpid(pid, &ws, 0) != pid) return r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? -WTERMSIG(ws) : -1000;
    r.out = slurp(out);
    r.err = slurp(err);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    return r;
}

#define RUN(...) run_in(NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_STDIN(in, ...) run_in(in, (const char *const[]){ __VA_ARGS__, NULL })

static int lines_of(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* Exactly one non-empty line ending in a newline. */
static int one_line(const char *s) {
    return s && s[0] && s[0] != '\n' && lines_of(s) == 1 && s[strlen(s) - 1] == '\n';
}

static int has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

/* Prints what the child said when an expectation fails, to make failures readable. */
static void show(const char *what, const run_result *r) {
    fprintf(stderr, "\n    %s: exit %d\n    stdout: %.600s\n    stderr: %.600s\n", what, r->status,
            r->out ? r->out : "", r->err ? r->err : "");
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

static cJSON *parse_one_object(const char *s) {
    if (!one_line(s)) return NULL;
    cJSON *j = cJSON_Parse(s);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static double num(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int distinct_words(const char *path) {
    mtx_corpus c;
    if (mtx_corpus_load(path, &c) != MTX_OK) return -1;
    int n = c.n_groups;
    mtx_corpus_free(&c);
    return n;
}

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

/* 1 if dir_a/name and dir_b/name exist and hold the same bytes. */
static int same_file(const char *dir_a, const char *dir_b, const char *name) {
    char pa[MTX_PATH_MAX], pb[MTX_PATH_MAX];
    if (mtx_path_join(pa, sizeof pa, dir_a, name) || mtx_path_join(pb, sizeof pb, dir_b, name)) return 0;
    uint8_t *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ok = mtx_read_file(pa, 1 << 24, &a, &la) == MTX_OK && mtx_read_file(pb, 1 << 24, &b, &lb) == MTX_OK &&
             la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return ok;
}

/* The "modtx"."init_model" provenance of dir/config.json, or "" (static buffer). */
static const char *provenance_init(const char *dir) {
    static char out[MTX_PATH_MAX];
    char path[MTX_PATH_MAX];
    out[0] = 0;
    if (mtx_path_join(path, sizeof path, dir, "config.json") != MTX_OK) return out;
    char *text = slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "modtx");
    const cJSON *im = p ? cJSON_GetObjectItemCaseSensitive(p, "init_model") : NULL;
    if (cJSON_IsString(im)) snprintf(out, sizeof out, "%s", im->valuestring);
    cJSON_Delete(j);
    return out;
}

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
    CU_ASSERT_STRING_EQUAL(provenance_init(out), g_model);
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

/* Provenance string "modtx".key of dir/config.json, or "" (static buffer). */
static const char *provenance_str(const char *dir, const char *key) {
    static char buf[MTX_PATH_MAX];
    buf[0] = 0;
    char path[MTX_PATH_MAX];
    if (mtx_path_join(path, sizeof path, dir, "config.json") != MTX_OK) return buf;
    char *text = slurp(path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    const cJSON *p = root ? cJSON_GetObjectItemCaseSensitive(root, "modtx") : NULL;
    const cJSON *v = p ? cJSON_GetObjectItemCaseSensitive(p, key) : NULL;
    if (cJSON_IsString(v)) snprintf(buf, sizeof buf, "%s", v->valuestring);
    cJSON_Delete(root);
    free(text);
    return buf;
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
    size_t wrong = 0, moved = 0;
    for (size_t k = 0; k < a.model.n_params; k++) {
        float want = (float)(((double)a.model.params[k] + (double)b.model.params[k]) / 2);
        if (memcmp(&want, &m.model.params[k], sizeof want)) wrong++;
        if (a.model.params[k] != b.model.params[k]) moved++;
    }
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
    CU_ASSERT_STRING_EQUAL(provenance_init(b), g_model);
    CU_ASSERT_TRUE(same_file(b, g_model, "source_vocab.txt") && same_file(b, g_model, "target_vocab.txt"));
}

/* ------------------------------------------------------------ modular */

static void test_modular_pipeline(void) {
    CU_ASSERT_FATAL(bin_ok() && fixtures_ok());
    char teacher[MTX_PATH_MAX], bank[MTX_PATH_MAX], asm2[MTX_PATH_MAX], mcfg[MTX_PATH_MAX], tcfg[MTX_PATH_MAX];
    char sweep_dir[MTX_PATH_MAX], csv[MTX_PATH_MAX + 16], svg[MTX_PATH_MAX + 16];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0));
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    snprintf(asm2, sizeof asm2, "%s", tmp_path("masm2", 0));
    snprintf(sweep_dir, sizeof sweep_dir, "%s", tmp_path("msweep", 0));
    snprintf(tcfg, sizeof tcfg, "%s", tmp_path("mteacher.json", 0));
    snprintf(mcfg, sizeof mcfg, "%s", tmp_path("mbank.json", 0));
    char text[4 * PATH_MAX + 1024];
    int n = snprintf(text, sizeof text,
                     "{\"d_model\": 16, \"num_heads\": 2, \"d_ff\": 32, \"num_layers\": 2, \"num_decoder_layers\": 2,\n"
                     " \"training\": {\"train\": \"%s\", \"dev\": \"%s\", \"test\": \"%s\", \"max_steps\": 30,\n"
                     " \"warmup_steps\": 5, \"lr\": 0.003, \"batch_tokens\": 256, \"checkpoint_every\": 30,\n"
                     " \"log_every\": 10, \"eval_every\": 30, \"threads\": 1}}\n", g_train, g_dev, g_test);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tcfg, text, (size_t)n), MTX_OK);
    n = snprintf(text, sizeof text,
                 "{\"granularities\": [2], \"training\": {\"max_steps\": 20, \"warmup_steps\": 2,\n"
                 " \"batch_tokens\": 256, \"checkpoint_every\": 10, \"log_every\": 5, \"eval_every\": 10, \"threads\": 1}}\n");
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(mcfg, text, (size_t)n), MTX_OK);
    run_result r = RUN("train", "--config", tcfg, "--out", teacher);
    if (r.status != 0) show("train 2+2 teacher", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg);
    if (r.status != 0) show("modularize", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    /* a second run into the same bank needs --resume; with it, nothing is left to do */
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(has(r.err, "--resume"));
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    /* 2 + 2 layers with g = 2 reach 4/4, 4/3 and 4/2 */
    r = RUN("assemble", "--model", bank, "--ratio", "1.5", "--strategy", "size", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "reachable ratios: 1.00, 1.33, 2.00"));
    run_free(&r);
    r = RUN("assemble", "--model", bank, "--ratio", "2", "--strategy", "bogus", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 2);
    run_free(&r);
    r = RUN("assemble", "--model", bank, "--ratio", "2", "--strategy", "speed", "--out", asm2);
    if (r.status != 0) show("assemble", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("eval", "--model", asm2, "--split", "test", "--json");
    cJSON *j = parse_one_object(r.out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(j);
    if (j) CU_ASSERT_EQUAL((int)num(j, "words"), distinct_words(g_test));
    cJSON_Delete(j);
    run_free(&r);
    r = RUN("info", "--model", asm2);
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "1 encoder + 1 decoder") && has(r.out, "m2.0"));
    run_free(&r);
    /* --tiling names the assembly; it must cover each stack with the bank's granularities */
    r = RUN("assemble", "--model", bank, "--tiling", "t0 t1 | m2.0", "--out", asm2);
    if (r.status != 0) show("assemble --tiling", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    r = RUN("info", "--model", asm2);
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "2 encoder + 1 decoder") && has(r.out, "t0 t1") && has(r.out, "m2.0"));
    run_free(&r);
    static const char *const bad_tilings[] = { "t0 t1", "t0 | t1 | m2.0", "m2.0 | t1", "m3.0 | m2.0", "t0 t1 | m2.0 t0",
                                               "t0 x | m2.0", "" };
    for (int i = 0; i < 7; i++) {
        r = RUN("assemble", "--model", bank, "--tiling", bad_tilings[i], "--out", asm2);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--tiling"));
        if (r.status != 1 || !one_line(r.err)) show(bad_tilings[i], &r);
        run_free(&r);
    }
    r = RUN("assemble", "--model", bank, "--tiling", "t0 t1 | t0 t1", "--ratio", "1", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 2);
    run_free(&r);
    r = RUN("sweep", "--model", bank, "--dev-words", "5", "--out", sweep_dir, "--json");
    if (r.status != 0) show("sweep", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    cJSON *rows = cJSON_Parse(r.out);
    CU_ASSERT_TRUE(cJSON_IsArray(rows) && cJSON_GetArraySize(rows) >= 3);
    int seen_ratio2 = 0, seen_best_pruned = 0;
    for (int i = 0; rows && i < cJSON_GetArraySize(rows); i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        CU_ASSERT_TRUE(isfinite(num(row, "ratio")) && isfinite(num(row, "per")) && isfinite(num(row, "wer")) &&
                       num(row, "enc_layers") >= 1 && num(row, "dec_layers") >= 1 && num(row, "params") > 0);
        seen_ratio2 |= fabs(num(row, "ratio") - 2.0) < 1e-9;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(row, "kind");
        /* the best pruned subset of the 2 + 2 teacher at 2x: one layer per stack */
        if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "pruned*")) {
            seen_best_pruned++;
            CU_ASSERT_TRUE(num(row, "enc_layers") == 1 && num(row, "dec_layers") == 1);
        }
    }
    CU_ASSERT_TRUE(seen_ratio2);
    CU_ASSERT_EQUAL(seen_best_pruned, 1);
    cJSON_Delete(rows);
    run_free(&r);
    snprintf(csv, sizeof csv, "%s/sweep.csv", sweep_dir);
    snprintf(svg, sizeof svg, "%s/sweep.svg", sweep_dir);
    char *c = slurp(csv), *v = slurp(svg);
    CU_ASSERT_TRUE(c && has(c, "kind,ratio,enc_layers") && lines_of(c) >= 4);
    CU_ASSERT_TRUE(v && has(v, "<svg") && has(v, "</svg>"));
    free(c);
    free(v);
}

/* The shipped teacher and bank on the real CMUdict test split (greedy, one
 * thread): each uniform assembly, named with `assemble --tiling`, stays
 * within 0.5 WER points of what docs/RESULTS.md reports (teacher 27.90, 2x
 * 29.47, 3x 31.64, 6x 39.30; a word is 0.008 points), and quality falls
 * with the ratio. A bank that no longer loads, a decoder change or a
 * retrained bank that regressed fails here; a new shipped bank updates the
 * bounds with its RESULTS rows. About 15 seconds. */
static void test_shipped_quality(void) {
    CU_ASSERT_FATAL(bin_ok());
    if (access(MTX_DEFAULT_DATA, R_OK) != 0) fprintf(stderr, "\n    %s missing (make deps)\n", MTX_DEFAULT_DATA);
    CU_ASSERT_FATAL(access(MTX_DEFAULT_DATA, R_OK) == 0);
    static const struct {
        const char *tiling; /* NULL: the teacher itself */
        double max_wer;
    } rows[] = { { NULL, 28.40 },
                 { "m2.0 m2.1 m2.2 | m2.0 m2.1 m2.2", 29.97 },
                 { "m3.0 m3.1 | m3.0 m3.1", 32.14 },
                 { "m6.0 | m6.0", 39.80 } };
    double prev = 0;
    for (int i = 0; i < 4; i++) {
        const char *model = "models/g2p-teacher";
        char dir[MTX_PATH_MAX];
        if (rows[i].tiling) {
            snprintf(dir, sizeof dir, "%s/shipped%d", g_dir, i);
            run_result a = RUN("assemble", "--model", "models/g2p-modular", "--tiling", rows[i].tiling, "--out", dir);
            if (a.status != 0) show("assemble shipped bank", &a);
            CU_ASSERT_EQUAL_FATAL(a.status, 0);
            run_free(&a);
            model = dir;
        }
        run_result r = RUN("eval", "--model", model, "--split", "test", "--threads", "1", "--json");
        cJSON *j = parse_one_object(r.out);
        double wer = j ? num(j, "wer") : NAN;
        if (r.status != 0 || !(wer <= rows[i].max_wer) || !(wer > prev)) {
            show(rows[i].tiling ? rows[i].tiling : "teacher", &r);
            fprintf(stderr, "    test WER %.2f, bound %.2f, previous row %.2f\n", wer, rows[i].max_wer, prev);
        }
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_TRUE(wer <= rows[i].max_wer);
        CU_ASSERT_TRUE(wer > prev); /* fewer layers, more errors */
        CU_ASSERT_TRUE(j && num(j, "words") > 10000);
        prev = wer;
        cJSON_Delete(j);
        run_free(&r);
    }
}

/* train_data replaces the bank's training split (the teacher's splits were
 * explicit files: naming the same training file gives the same bank bit for
 * bit, another file another bank); data keys under "training" and symbols
 * outside the teacher's vocabularies are one-line errors. */
static void test_modular_train_data(void) {
    CU_ASSERT_FATAL(bin_ok() && fixtures_ok());
    char teacher[MTX_PATH_MAX], bank[MTX_PATH_MAX], cfg[MTX_PATH_MAX], tsv[MTX_PATH_MAX];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0)); /* written by test_modular_pipeline */
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    static const char body[] =
        "\"granularities\": [2], \"training\": {\"max_steps\": 20, \"warmup_steps\": 2,\n"
        " \"batch_tokens\": 256, \"checkpoint_every\": 10, \"log_every\": 5, \"eval_every\": 10, \"threads\": 1%s}}\n";
    const char *files[] = { g_train, g_dev };
    for (int k = 0; k < 2; k++) {
        char out[MTX_PATH_MAX], text[2 * PATH_MAX + 512];
        snprintf(out, sizeof out, "%s", tmp_path(k ? "mbank_dev" : "mbank_train", 0));
        snprintf(cfg, sizeof cfg, "%s", tmp_path("mtd.json", 0));
        int n = snprintf(text, sizeof text, "{\"train_data\": \"%s\", ", files[k]);
        n += snprintf(text + n, sizeof text - (size_t)n, body, "");
        CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(cfg, text, (size_t)n), MTX_OK);
        run_result r = RUN("modularize", "--teacher", teacher, "--out", out, "--config", cfg);
        if (r.status != 0) show("modularize with train_data", &r);
        CU_ASSERT_EQUAL(r.status, 0);
        run_free(&r);
        CU_ASSERT_EQUAL(same_file(out, bank, "model.safetensors"), k == 0);
        char saved[MTX_PATH_MAX];
        CU_ASSERT_EQUAL_FATAL(mtx_path_join(saved, sizeof saved, out, "config.json"), MTX_OK);
        char *prov = slurp(saved);
        CU_ASSERT_TRUE(prov && has(prov, "\"train_data\"") && has(prov, files[k]));
        free(prov);
        /* resume with the same config: nothing to do, accepted */
        r = RUN("modularize", "--teacher", teacher, "--out", out, "--config", cfg, "--resume");
        CU_ASSERT_EQUAL(r.status, 0);
        run_free(&r);
    }
    /* a phone outside the teacher's target vocabulary, then a data key under "training" */
    snprintf(tsv, sizeof tsv, "%s", tmp_path("mtd.tsv", 0));
    static const char bad[] = "bad\tB AE D\nbat\tB QQ T\n";
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tsv, bad, sizeof bad - 1), MTX_OK);
    for (int k = 0; k < 2; k++) {
        char text[3 * PATH_MAX + 512], extra[2 * PATH_MAX + 64];
        int n = 0;
        if (k == 0) {
            n = snprintf(text, sizeof text, "{\"train_data\": \"%s\", ", tsv);
            n += snprintf(text + n, sizeof text - (size_t)n, body, "");
        } else {
            snprintf(extra, sizeof extra, ", \"train\": \"%s\", \"dev\": \"%s\"", g_train, g_dev);
            n = snprintf(text, sizeof text, "{");
            n += snprintf(text + n, sizeof text - (size_t)n, body, extra);
        }
        CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(cfg, text, (size_t)n), MTX_OK);
        run_result r = RUN("modularize", "--teacher", teacher, "--out", tmp_path("mbank_bad", 0), "--config", cfg);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, k ? "train_data" : "QQ") && (k || has(r.err, tsv)));
        if (r.status != 1) show("modularize with bad train_data", &r);
        run_free(&r);
    }
}

/* A bank whose saved modularize config predates a key (written before
 * local_rate and match_rate existed) resumes: the run used their defaults;
 * a saved value that differs from the config is still refused. */
static void test_modular_resume_older_config(void) {
    CU_ASSERT_FATAL(bin_ok());
    char bank[MTX_PATH_MAX], mcfg[MTX_PATH_MAX], teacher[MTX_PATH_MAX], saved[MTX_PATH_MAX];
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0)); /* written by test_modular_pipeline */
    snprintf(mcfg, sizeof mcfg, "%s", tmp_path("mbank.json", 0));
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0));
    CU_ASSERT_EQUAL_FATAL(mtx_path_join(saved, sizeof saved, bank, "modularize_config.json"), MTX_OK);
    char *text = slurp(saved);
    CU_ASSERT_FATAL(text != NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(j, "match_rate") && cJSON_GetObjectItemCaseSensitive(j, "local_rate"));
    cJSON_DeleteItemFromObjectCaseSensitive(j, "match_rate");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "local_rate");
    char *old = cJSON_PrintUnformatted(j);
    CU_ASSERT_FATAL(old != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(saved, old, strlen(old)), MTX_OK);
    cJSON_free(old);
    run_result r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status != 0) show("resume with an older saved config", &r);
    run_free(&r);
    /* the saved run used match_rate 0.5: not the config's 0 */
    cJSON_AddNumberToObject(j, "match_rate", 0.5);
    old = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    CU_ASSERT_FATAL(old != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(saved, old, strlen(old)), MTX_OK);
    cJSON_free(old);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "differs"));
    run_free(&r);
}

void mtx_suite_cli(void) {
    CU_pSuite s = CU_add_suite("cli", suite_init, suite_clean);
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
    CU_add_test(s, "modularize, assemble, eval and sweep end to end", test_modular_pipeline);
    CU_add_test(s, "modularize resumes a run saved before newer config keys", test_modular_resume_older_config);
    CU_add_test(s, "modularize train_data: same file same bank, errors", test_modular_train_data);
    CU_add_test(s, "shipped teacher and bank: test WER of 1x/2x/3x/6x within bounds", test_shipped_quality);
}
