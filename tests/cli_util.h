/* cli_util.h - running the modtx binary from the CLI suites (test_cli.c,
 * test_cli_modular.c): a temporary directory per suite, fixture paths,
 * fork/exec with captured output, and small checks on what came back. */
#ifndef MTX_CLI_UTIL_H
#define MTX_CLI_UTIL_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>

#include "core/fsutil.h"

extern char g_dir[64];     /* the suite's mkdtemp directory under /tmp */
extern const char *g_bin;  /* $MTX_BIN, default build/modtx */
/* absolute paths of tests/fixtures/{tiny_train,tiny_dev,tiny_test,bad_train}.dict, "" if missing */
extern char g_train[PATH_MAX], g_dev[PATH_MAX], g_test[PATH_MAX], g_bad[PATH_MAX];

/* Suite set-up and tear-down: a fresh g_dir and the fixture paths / removal of g_dir. */
int cli_suite_init(void);
int cli_suite_clean(void);

/* g_dir/name in one of four static buffers; run_in uses slots 2 and 3. */
const char *tmp_path(const char *name, int slot);
/* 1 if the binary / the fixtures are there; otherwise says so on stderr. */
int bin_ok(void);
int fixtures_ok(void);
/* The whole file as a NUL-terminated string (caller frees), or NULL. */
char *slurp(const char *path);

typedef struct {
    int status; /* exit status, or -signal if killed, or -1000 if it could not run */
    char *out, *err;
} run_result;

void run_free(run_result *r);
/* Runs g_bin with args (NULL-terminated, not counting argv[0]); stdin from
 * in_path or /dev/null. The child gets OPENBLAS_NUM_THREADS=1 and a 300 s
 * alarm, so a hang fails instead of blocking. */
run_result run_in(const char *in_path, const char *const *args);
#define RUN(...) run_in(NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_STDIN(in, ...) run_in(in, (const char *const[]){ __VA_ARGS__, NULL })

int lines_of(const char *s);
/* Exactly one non-empty line ending in a newline. */
int one_line(const char *s);
int has(const char *s, const char *needle);
/* Prints what the child said when an expectation fails, to make failures readable. */
void show(const char *what, const run_result *r);
/* s parsed as one JSON object on one line, or NULL. */
cJSON *parse_one_object(const char *s);
/* The number j.key, or NAN. */
double num(const cJSON *j, const char *key);
/* Distinct source words of a corpus file, or -1. */
int distinct_words(const char *path);
/* 1 if dir_a/name and dir_b/name exist and hold the same bytes. */
int same_file(const char *dir_a, const char *dir_b, const char *name);
/* How many m[k] differ (bitwise) from the mean of a[k] and b[k] rounded once
 * from double; *differ (if not NULL) gets how many a[k] != b[k]. */
size_t count_not_mean2(const float *a, const float *b, const float *m, size_t n, size_t *differ);
/* Provenance string "modtx".key of dir/config.json, or "" (static buffer). */
const char *provenance_str(const char *dir, const char *key);

#endif
