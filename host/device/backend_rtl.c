/* backend_rtl.c - the rtl backend: the SystemVerilog engine (hw/rtl,
 * mtx_top, the whole engine) under Verilator, run as a subprocess over files. The
 * simulator is sim/rtl_run.cpp built by `make rtl-sim` (or rtl-test) into
 * BUILD/rtl/rtl_run/sim beside this modtx; MTX_RTL_SIM names another.
 * open makes a private temporary directory; loading an image writes it
 * there once; each run writes the plan and the batch input, runs the
 * simulator (its output goes to sim.log) and reads the output buffer and
 * the simulated cycles and busy PE-cycles back. A batch the engine refuses
 * (its status in the stats file, with the word for MTX_ENG_INPUT) fails
 * the run with that status. */
#include "core/fsutil.h"
#include "device/backend_xrt.h"
#include "device/backends.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { RTL_PATH_MAX = 1024 };

typedef struct {
    char sim[RTL_PATH_MAX];
    char dir[RTL_PATH_MAX];
    int have_image;
} rtl_state;

static const char *const rtl_files[] = { "image.bin", "plan.bin", "in.bin", "out.bin", "stats.txt", "sim.log" };

static mtx_status rtl_path(char *out, const rtl_state *s, const char *name) {
    return mtx_path_join(out, RTL_PATH_MAX, s->dir, name);
}

/* The simulator beside this executable: DIR(modtx)/rtl/rtl_run/sim. */
static mtx_status find_sim(char *out) {
    const char *env = getenv("MTX_RTL_SIM");
    if (env && *env) {
        if (strlen(env) >= RTL_PATH_MAX) return mtx_set_error(MTX_ERR_ARG, "MTX_RTL_SIM is too long");
        strcpy(out, env);
    } else {
        char exe[RTL_PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return mtx_set_error(MTX_ERR_IO, "cannot find this executable (/proc/self/exe)");
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        mtx_status st = mtx_path_join(out, RTL_PATH_MAX, exe, "rtl/rtl_run/sim");
        if (st) return st;
    }
    if (access(out, X_OK))
        return mtx_set_error(MTX_ERR_IO, "simulator %s not found (make rtl-sim, or set MTX_RTL_SIM)", out);
    return MTX_OK;
}

static mtx_status rtl_open(void **state, const mtx_device_opts *o) {
    (void)o;
    rtl_state *s = calloc(1, sizeof *s);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    mtx_status st = find_sim(s->sim);
    if (st) {
        free(s);
        return st;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/modtx-rtl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        free(s);
        return mtx_set_error(MTX_ERR_IO, "cannot create a temporary directory");
    }
    *state = s;
    return MTX_OK;
}

static mtx_status rtl_load_image(void *state, const mtx_image *im) {
    rtl_state *s = state;
    char path[RTL_PATH_MAX];
    mtx_status st = rtl_path(path, s, "image.bin");
    if (!st) st = mtx_write_file_atomic(path, im->data, (size_t)im->bytes);
    s->have_image = !st;
    return st;
}

/* Runs the simulator; its stdout and stderr go to sim.log. */
static mtx_status spawn_sim(const rtl_state *s, int B) {
    char img[RTL_PATH_MAX], plan[RTL_PATH_MAX], in[RTL_PATH_MAX], out[RTL_PATH_MAX], stats[RTL_PATH_MAX],
        log[RTL_PATH_MAX], nb[16];
    if (rtl_path(img, s, "image.bin") || rtl_path(plan, s, "plan.bin") || rtl_path(in, s, "in.bin") ||
        rtl_path(out, s, "out.bin") || rtl_path(stats, s, "stats.txt") || rtl_path(log, s, "sim.log"))
        return MTX_ERR_ARG;
    snprintf(nb, sizeof nb, "%d", B);
    char *argv[] = { (char *)s->sim, img, plan, in, nb, out, stats, NULL };
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) return mtx_set_error(MTX_ERR_NOMEM, "spawning the simulator");
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, s->sim, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return mtx_set_error(MTX_ERR_IO, "cannot run %s", s->sim);
    int ws = 0;
    if (waitpid(pid, &ws, 0) != pid) return mtx_set_error(MTX_ERR_IO, "lost the simulator %s", s->sim);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws)) {
        uint8_t *text = NULL;
        size_t len = 0;
        const char *last = "";
        if (!mtx_read_file(log, 1 << 20, &text, &len) && len) {
            while (len && (text[len - 1] == '\n')) text[--len] = 0;
            char *nl = strrchr((char *)text, '\n');
            last = nl ? nl + 1 : (const char *)text;
        }
        mtx_status st = mtx_set_error(MTX_ERR_IO, "simulator exited with status %d: %s",
                                      WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, last);
        free(text);
        return st;
    }
    return MTX_OK;
}

static mtx_status rtl_run(void *state, const mtx_image *im, const mtx_plan *p, const uint8_t *plan_bytes,
                          uint64_t plan_len, const int32_t *in, int B, int32_t *out, mtx_device_stats *st) {
    (void)im;
    (void)p;
    rtl_state *s = state;
    if (!s->have_image) return mtx_set_error(MTX_ERR_STATE, "no image loaded");
    const size_t n = (size_t)B * MTX_IO_STRIDE;
    uint8_t *buf = malloc(4 * n);
    if (!buf) return mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) mtx_put_le32(buf + 4 * i, (uint32_t)in[i]);
    char path[RTL_PATH_MAX];
    mtx_status rs = rtl_path(path, s, "plan.bin");
    if (!rs) rs = mtx_write_file_atomic(path, plan_bytes, (size_t)plan_len);
    if (!rs) rs = rtl_path(path, s, "in.bin");
    if (!rs) rs = mtx_write_file_atomic(path, buf, 4 * n);
    free(buf);
    if (!rs) rs = spawn_sim(s, B);
    if (rs) return rs;
    uint8_t *text = NULL, *ob = NULL;
    size_t len = 0, olen = 0;
    unsigned long long cycles = 0, busy = 0;
    int status = 0, word = -1;
    rs = rtl_path(path, s, "stats.txt");
    if (!rs) rs = mtx_read_file(path, 4096, &text, &len);
    if (!rs && sscanf((const char *)text, "cycles %llu busy_pe_cycles %llu status %d word %d", &cycles, &busy,
                      &status, &word) != 4)
        rs = mtx_set_error(MTX_ERR_FORMAT, "%s: not the simulator's statistics", path);
    free(text);
    if (!rs) rs = rtl_path(path, s, "out.bin");
    if (!rs) rs = mtx_read_file(path, 4 * n, &ob, &olen);
    if (!rs && olen != 4 * n) rs = mtx_set_error(MTX_ERR_FORMAT, "%s holds %zu bytes, not %zu", path, olen, 4 * n);
    if (!rs)
        for (size_t i = 0; i < n; i++) out[i] = (int32_t)mtx_le32(ob + 4 * i);
    free(ob);
    if (rs) return rs;
    st->cycles = cycles;
    st->busy_pe_cycles = busy;
    if (status && word >= 0)
        return mtx_set_error(MTX_ERR_DATA, "the engine refused word %d: status %d (%s)", word, status,
                             mtx_engine_status_name(status));
    if (status)
        return mtx_set_error(MTX_ERR_DATA, "the engine refused the batch: status %d (%s)", status,
                             mtx_engine_status_name(status));
    return MTX_OK;
}

static void rtl_close(void *state) {
    rtl_state *s = state;
    char path[RTL_PATH_MAX];
    for (size_t i = 0; i < sizeof rtl_files / sizeof rtl_files[0]; i++)
        if (!rtl_path(path, s, rtl_files[i])) unlink(path);
    rmdir(s->dir);
    free(s);
}

const mtx_backend mtx_backend_rtl = { "rtl", rtl_open, rtl_load_image, rtl_run, rtl_close };
