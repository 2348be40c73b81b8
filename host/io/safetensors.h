/* safetensors.h - reading and writing checkpoints in the safetensors format.
 *
 * Layout (docs/formats-safetensors.md): an 8-byte little-endian u64 N, then N
 * bytes of JSON header mapping tensor name -> {dtype, shape, data_offsets}
 * plus an optional "__metadata__" object of string -> string, then the data
 * buffer. data_offsets are [begin, end) byte offsets into the data buffer;
 * tensor data is little-endian and row-major.
 *
 * The reader loads the whole file into memory and validates every entry
 * against the file size before any data is touched, so a hostile or
 * truncated file yields MTX_ERR_FORMAT, never a crash. Limits: at most
 * MTX_ST_MAX_DIMS dimensions, names of at most 159 bytes, headers of at most
 * 100 MB, dimensions and offsets of at most 2^53 (exact in a JSON double). */
#ifndef MTX_SAFETENSORS_H
#define MTX_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/mtx.h"

/* The version of modtx's use of the format (docs/formats-safetensors.md):
 * every file the writer makes carries "__metadata__": {"format_version":
 * "1"}; the reader refuses a file whose format_version is present and
 * another, or whose "format" is present and not "modtx". A file without
 * format_version (written before the field existed) is version 1. */
#define MTX_ST_FORMAT_VERSION "1"

typedef enum { MTX_DT_F32, MTX_DT_F16, MTX_DT_BF16, MTX_DT_I8, MTX_DT_U8, MTX_DT_I32 } mtx_dtype;

#define MTX_ST_MAX_DIMS 4
#define MTX_ST_MAX_NAME 160 /* bytes including the NUL */
#define MTX_ST_MAX_HEADER 100000000u      /* header bytes; the reference implementation's limit */
#define MTX_ST_MAX_INT 9007199254740992.0 /* 2^53: dimensions and offsets, exact as JSON numbers */
#define MTX_ST_META "__metadata__"        /* the header key of the metadata object */

typedef struct {
    char name[MTX_ST_MAX_NAME];
    mtx_dtype dtype;
    int ndim;                        /* 0 (a scalar) to MTX_ST_MAX_DIMS */
    int64_t shape[MTX_ST_MAX_DIMS];  /* first ndim entries are used */
    uint64_t begin, end;             /* byte range within the data buffer */
} mtx_st_tensor;

/* The safetensors spelling of a dtype ("F32", ...) and its element size. */
const char *mtx_st_dtype_name(mtx_dtype dt);
size_t mtx_st_dtype_size(mtx_dtype dt);

/* ---- reading ---- */

typedef struct mtx_st_file mtx_st_file; /* opaque; holds the whole file in memory */

/* Reads and validates `path` (format_version and format included). On
 * failure *out is NULL and the status is MTX_ERR_IO (cannot read),
 * MTX_ERR_FORMAT (invalid file) or MTX_ERR_NOMEM. */
mtx_status mtx_st_open(const char *path, mtx_st_file **out);
void mtx_st_close(mtx_st_file *f);

/* Tensors in the order they appear in the header. */
size_t mtx_st_count(const mtx_st_file *f);
const mtx_st_tensor *mtx_st_at(const mtx_st_file *f, size_t i);    /* NULL if i >= count */
const mtx_st_tensor *mtx_st_find(const mtx_st_file *f, const char *name); /* NULL if absent */
const char *mtx_st_meta(const mtx_st_file *f, const char *key);          /* NULL if absent */
/* A non-negative decimal integer from the metadata; error naming path and key otherwise. */
mtx_status mtx_st_meta_int(const mtx_st_file *f, const char *path, const char *key, int64_t *v);

/* Copies tensor `name` into dst (ndim, shape) as float32, converting F16 and
 * BF16 exactly. MTX_ERR_FORMAT, naming the tensor and expected vs found, if
 * the tensor is absent, not F32/F16/BF16, or of a different shape. */
mtx_status mtx_st_read_f32(const mtx_st_file *f, const char *name, int ndim,
                           const int64_t *shape, float *dst);

/* The tensor's bytes as stored: little-endian, (end - begin) of them. Only
 * byte-aligned in general; copy with memcpy rather than casting. */
const void *mtx_st_data(const mtx_st_file *f, const mtx_st_tensor *t);

/* ---- writing ---- */

typedef struct mtx_st_writer mtx_st_writer;

/* A writer whose metadata starts with "format_version": MTX_ST_FORMAT_VERSION. */
mtx_status mtx_st_writer_new(mtx_st_writer **out);

/* Adds a float32 tensor to be stored as F32, F16 or BF16 (round to nearest,
 * ties to even). `data` (row-major, product(shape) floats) is borrowed until
 * mtx_st_write. Names must be unique, non-empty, at most 159 bytes and not
 * "__metadata__". A finite value that does not fit the storage type is an
 * MTX_ERR_DATA error from mtx_st_write naming the tensor. */
mtx_status mtx_st_add_f32(mtx_st_writer *w, const char *name, int ndim, const int64_t *shape,
                          const float *data, mtx_dtype store_as);

/* Adds a tensor whose bytes are copied verbatim: product(shape) elements of
 * the dtype, little-endian (the native layout on a little-endian host).
 * `data` is borrowed until mtx_st_write. */
mtx_status mtx_st_add_raw(mtx_st_writer *w, const char *name, mtx_dtype dtype, int ndim,
                          const int64_t *shape, const void *data);

/* Adds a "__metadata__" entry; keys must be unique. Both strings are copied. */
mtx_status mtx_st_add_meta(mtx_st_writer *w, const char *key, const char *value);

/* Writes the file atomically (mtx_write_file_atomic): header padded with
 * spaces to a multiple of 8 bytes, tensors in the order added, contiguous.
 * The same inputs always give the same bytes. The writer stays usable. */
mtx_status mtx_st_write(mtx_st_writer *w, const char *path);

void mtx_st_writer_free(mtx_st_writer *w);

#endif
