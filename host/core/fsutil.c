/* fsutil.c - whole-file reads, atomic replace-by-rename writes, mkdir -p and
 * path joining. See fsutil.h for the contracts. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

mtx_status mtx_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len) {
    if (data) *data = NULL;
    if (len) *len = 0;
    if (!path || !data || !len) return mtx_set_error(MTX_ERR_ARG, "mtx_read_file: NULL argument");

    FILE *f = fopen(path, "rb");
    if (!f) return mtx_set_error(MTX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return mtx_set_error(MTX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return mtx_set_error(MTX_ERR_IO, "%s: not a regular file", path);
    }
    /* st_size is an off_t; compare in uintmax_t so neither side is truncated. */
    if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)max_len ||
        (uintmax_t)st.st_size >= (uintmax_t)SIZE_MAX) {
        fclose(f);
        return mtx_set_error(MTX_ERR_IO, "%s: file is %jd bytes, more than the limit of %zu",
                             path, (intmax_t)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    size_t got = fread(buf, 1, n, f);
    int grew = got == n && fgetc(f) != EOF;
    int failed = ferror(f);
    fclose(f);
    if (got != n || grew || failed) {
        free(buf);
        return mtx_set_error(MTX_ERR_IO, "%s: read %zu of %zu bytes%s", path, got, n,
                             grew ? " (file grew while being read)" : "");
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return MTX_OK;
}

/* Makes the rename itself durable. Best effort: some file systems refuse
 * fsync on a directory, and by now the new contents are already safely in
 * place, so a failure here is not worth reporting as a failed write. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

mtx_status mtx_write_file_atomic(const char *path, const void *data, size_t len) {
    if (!path || (!data && len > 0))
        return mtx_set_error(MTX_ERR_ARG, "mtx_write_file_atomic: NULL argument");
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate temp name", path);
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());

    FILE *f = fopen(tmp, "wb");
    if (!f) {
        /* Nothing was created, so there is nothing to remove: in particular an
         * existing non-file at the temp name is not ours to delete. */
        mtx_status s = mtx_set_error(MTX_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    const char *what = NULL;
    if (len > 0 && fwrite(data, 1, len, f) != len) what = "write";
    else if (fflush(f) != 0) what = "flush";
    else if (fsync(fileno(f)) != 0) what = "fsync";
    int e = errno;
    if (fclose(f) != 0 && !what) {
        what = "close";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "rename";
        e = errno;
    }
    if (what) {
        remove(tmp);
        mtx_status s = mtx_set_error(MTX_ERR_IO, "%s: %s of %s failed: %s", path, what, tmp,
                                     strerror(e));
        free(tmp);
        return s;
    }
    free(tmp);
    sync_parent_dir(path);
    return MTX_OK;
}

mtx_status mtx_mkdir_p(const char *dir) {
    if (!dir || !dir[0]) return mtx_set_error(MTX_ERR_ARG, "mtx_mkdir_p: empty path");
    size_t n = strlen(dir);
    char *buf = malloc(n + 1);
    if (!buf) return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate path copy", dir);
    memcpy(buf, dir, n + 1);
    /* Create each prefix ending before a '/', then the whole path; EEXIST is
     * fine at every step and the final stat decides whether it is a dir. */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            mtx_status s = mtx_set_error(MTX_ERR_IO, "%s: cannot create %s: %s", dir, buf,
                                         strerror(errno));
            free(buf);
            return s;
        }
        *p = '/';
    }
    free(buf);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return mtx_set_error(MTX_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mtx_set_error(MTX_ERR_IO, "%s: exists and is not a directory", dir);
    return MTX_OK;
}

int mtx_file_exists(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0;
}

mtx_status mtx_path_absolute(const char *path, char **out) {
    *out = realpath(path, NULL);
    if (!*out) return mtx_set_error(MTX_ERR_IO, "%s: cannot resolve the path: %s", path, strerror(errno));
    return MTX_OK;
}

mtx_status mtx_path_join(char *out, size_t cap, const char *dir, const char *name) {
    if (!out || cap == 0 || !dir || !name)
        return mtx_set_error(MTX_ERR_ARG, "mtx_path_join: NULL or zero-size argument");
    size_t nd = strlen(dir), nn = strlen(name);
    size_t sep = nd > 0 && dir[nd - 1] != '/';
    if (nd + sep + nn >= cap) {
        out[0] = '\0';
        return mtx_set_error(MTX_ERR_ARG, "path %s/%s is longer than %zu bytes", dir, name,
                             cap - 1);
    }
    memcpy(out, dir, nd);
    if (sep) out[nd] = '/';
    memcpy(out + nd + sep, name, nn + 1);
    return MTX_OK;
}

mtx_status mtx_append_line(const char *path, const char *line) {
    FILE *f = fopen(path, "a");
    if (!f) return mtx_set_error(MTX_ERR_IO, "%s: cannot open for append", path);
    int bad = fputs(line, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    return bad ? mtx_set_error(MTX_ERR_IO, "%s: write failed", path) : MTX_OK;
}
