/* core/ (layer 0) - what every other folder uses: status codes and
 * error details (mtx.[ch]), a monotonic clock and the reserved token ids,
 * and file-system helpers with atomic writes (fsutil.[ch]). Includes nothing
 * from the project. */
/* mtx.h - status codes and error reporting shared by every part of libmodtx.
 *
 * Library functions return an mtx_status and never print or exit. On failure
 * they record a one-line human-readable detail (file, line, what was wrong)
 * with mtx_set_error(); the CLI prints mtx_last_error() and exits non-zero. */
#ifndef MTX_H
#define MTX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MTX_OK = 0,
    MTX_ERR_NOMEM,    /* an allocation failed */
    MTX_ERR_IO,       /* open/read/write/rename failed */
    MTX_ERR_FORMAT,   /* a file is corrupt, truncated or not what it claims */
    MTX_ERR_ARG,      /* an argument or configuration value is invalid */
    MTX_ERR_DATA,     /* input data cannot be represented (unknown character, too long) */
    MTX_ERR_NUMERIC,  /* NaN or Inf appeared */
    MTX_ERR_STATE     /* operation not valid in the current state */
} mtx_status;

/* Short fixed description of a status code. */
const char *mtx_strerror(mtx_status s);

/* Records a printf-style detail for the most recent failure and returns s
 * (an argument may be mtx_last_error(): context added to a detail),
 * so call sites can write `return mtx_set_error(MTX_ERR_IO, "...", ...);`. */
mtx_status mtx_set_error(mtx_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The detail recorded by the last mtx_set_error() on this thread, or the
 * mtx_strerror() text when none was recorded. */
const char *mtx_last_error(void);

/* Clears the recorded detail. */
void mtx_clear_error(void);

/* Monotonic clock in seconds. */
double mtx_now_s(void);

/* Reserved target token ids, shared by vocabularies (data/vocab.h), batches
 * and decoding (model/decode.c): 0 = "<pad>", 1 = "<s>", 2 = "</s>". */
enum { MTX_PAD = 0, MTX_BOS = 1, MTX_EOS = 2 };

#endif
