/* cli_util.c - see cli_util.h. */
#include "cli_util.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/config.h"
#include "data/data.h"
#include "testutil.h"

char g_dir[64];
const char *g_bin;
char g_train[PATH_MAX], g_dev[PATH_MAX], g_test[PATH_MAX], g_bad[PATH_MAX];

/* g_dir/name in one of four static buffers; run_in uses slots 2 and 3. */
const char *tmp_path(const char *name, int slot) {
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

int cli_suite_init(void) {
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
    return 0;
}

int cli_suite_clean(void) {
    mtx_test_rm_tree(g_dir);
    return 0;
}

int bin_ok(void) {
    int ok = access(g_bin, X_OK) == 0;
    if (!ok) fprintf(stderr, "\n    modtx binary '%s' not found (set MTX_BIN)\n", g_bin);
    return ok;
}

int fixtures_ok(void) {
    int ok = g_train[0] && g_dev[0] && g_test[0] && g_bad[0];
    if (!ok) fprintf(stderr, "\n    tests/fixtures/*.dict not found (run from the repository root)\n");
    return ok;
}

char *slurp(const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    if (mtx_read_file(path, 1 << 24, &data, &len) != MTX_OK) return NULL;
    return (char *)data;
}


void run_free(run_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Runs g_bin with args (NULL-terminated, not counting argv[0]); stdin from
 * in_path or /dev/null. */
run_result run_in(const char *in_path, const char *const *args) {
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
        alarm(300); /* the shipped models on 12,480 words take ~25 s alone, several times that under ASan on a busy machine */
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


int lines_of(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* Exactly one non-empty line ending in a newline. */
int one_line(const char *s) {
    return s && s[0] && s[0] != '\n' && lines_of(s) == 1 && s[strlen(s) - 1] == '\n';
}

int has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

/* Prints what the child said when an expectation fails, to make failures readable. */
void show(const char *what, const run_result *r) {
    fprintf(stderr, "\n    %s: exit %d\n    stdout: %.600s\n    stderr: %.600s\n", what, r->status,
            r->out ? r->out : "", r->err ? r->err : "");
}

cJSON *parse_one_object(const char *s) {
    if (!one_line(s)) return NULL;
    cJSON *j = cJSON_Parse(s);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

double num(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int distinct_words(const char *path) {
    mtx_corpus c;
    if (mtx_corpus_load(path, &c) != MTX_OK) return -1;
    int n = c.n_groups;
    mtx_corpus_free(&c);
    return n;
}

/* 1 if dir_a/name and dir_b/name exist and hold the same bytes. */
int same_file(const char *dir_a, const char *dir_b, const char *name) {
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

/* Provenance string "modtx".key of dir/config.json, or "" (static buffer). */
const char *provenance_str(const char *dir, const char *key) {
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

size_t count_not_mean2(const float *a, const float *b, const float *m, size_t n, size_t *differ) {
    size_t wrong = 0, d = 0;
    for (size_t k = 0; k < n; k++) {
        float want = (float)(((double)a[k] + (double)b[k]) / 2);
        wrong += memcmp(&want, &m[k], sizeof want) != 0;
        d += a[k] != b[k];
    }
    if (differ) *differ = d;
    return wrong;
}
