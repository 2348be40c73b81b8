/* fsutil.h - small file-system helpers: whole-file reads, atomic writes,
 * mkdir -p and path joining.
 *
 * Every function returns an mtx_status and records a one-line detail with
 * mtx_set_error() on failure (see mtx.h). Paths are plain POSIX paths; no
 * function here follows or resolves anything beyond what the OS does. */
#ifndef MTX_FSUTIL_H
#define MTX_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/mtx.h"

/* Reads the whole of `path` into a fresh buffer of *len + 1 bytes, the last
 * one a NUL so text files can be used as C strings. Refuses (MTX_ERR_IO)
 * anything that is not a regular file or is longer than max_len bytes.
 * On success the caller frees *data; on failure *data is NULL and *len 0. */
mtx_status mtx_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len);

/* Replaces `path` with `len` bytes from `data` so that readers see either the
 * old file or the complete new one: writes "<path>.tmp.<pid>" in the same
 * directory, fsyncs it, then renames it over `path`. On any failure the
 * temporary file is removed and `path` is left untouched. */
mtx_status mtx_write_file_atomic(const char *path, const void *data, size_t len);

/* Creates `dir` and any missing parents (mode 0755 before umask). Succeeds
 * if `dir` already exists as a directory. */
mtx_status mtx_mkdir_p(const char *dir);

/* 1 if `path` names an existing file-system entry (of any kind), else 0. */
int mtx_file_exists(const char *path);

/* Writes "dir/name" into out[cap], adding a '/' only when dir is non-empty
 * and does not already end in one. MTX_ERR_ARG if the result would not fit. */
mtx_status mtx_path_join(char *out, size_t cap, const char *dir, const char *name);

/* *out = the canonical absolute form of an existing path (realpath: no
 * "."/".." or symbolic links; caller frees), for provenance records that
 * must not depend on where the command ran. */
mtx_status mtx_path_absolute(const char *path, char **out);

/* Appends line and a newline to path (a log: not atomic by design). */
mtx_status mtx_append_line(const char *path, const char *line);

#endif
