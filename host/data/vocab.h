/* vocab.h - source (character) and target (token) vocabularies, their text
 * file format, and the integer-encoded form of a corpus used for training.
 *
 * Source ids: 0 = "<pad>", then every UTF-8 character seen, in byte order.
 * Target ids: 0 = "<pad>", 1 = "<s>", 2 = "</s>", then every token, in byte
 * order. Sorting makes the ids a function of the token set alone, so the
 * same corpus always gives the same vocabulary. File format: docs/data.md. */
#ifndef MTX_VOCAB_H
#define MTX_VOCAB_H

#include "data/data.h"

#define MTX_VOCAB_MAX 100000 /* tokens per vocabulary file */

/* MTX_PAD, MTX_BOS, MTX_EOS (ids 0, 1, 2): core/mtx.h. */

typedef struct {
    int n;         /* tokens; ids are 0..n-1 */
    char **tok;    /* (n) NUL-terminated UTF-8, each its own allocation */
    int *slot;     /* (n_slot) open-addressing hash index: token id or -1 */
    size_t n_slot; /* a power of two, more than 2n */
} mtx_vocab;

/* "<pad>" then every UTF-8 character of every source. Malformed UTF-8 or a
 * "\n" character (unstorable in the file) -> MTX_ERR_DATA. */
mtx_status mtx_vocab_build_source(const mtx_corpus *c, mtx_vocab *out);

/* "<pad>", "<s>", "</s>" then every target token. A token that is empty,
 * contains "\n", is malformed UTF-8 or spells a special -> MTX_ERR_DATA. */
mtx_status mtx_vocab_build_target(const mtx_corpus *c, mtx_vocab *out);

/* Id of tok, or -1 if absent. */
int mtx_vocab_id(const mtx_vocab *v, const char *tok);

/* One token per line. Atomic: writes PATH.tmp.<pid>, fsyncs, renames. */
mtx_status mtx_vocab_save(const mtx_vocab *v, const char *path);

/* Reads and validates a saved vocabulary: "<pad>" first, "<s>" "</s>" only as
 * lines 2 and 3 and only together, no empty or duplicate tokens, well-formed
 * UTF-8, at most MTX_VOCAB_MAX tokens. Problems -> MTX_ERR_FORMAT
 * "PATH:LINE: reason"; unreadable -> MTX_ERR_IO. */
mtx_status mtx_vocab_load(const char *path, mtx_vocab *out);

/* Frees and zeroes; NULL and zeroed are fine. */
void mtx_vocab_free(mtx_vocab *v);

/* Splits word into UTF-8 characters and writes their ids to ids[0..*len).
 * Unknown character -> MTX_ERR_DATA "unknown character 'x' in word 'foo'";
 * more than max characters or malformed UTF-8 -> MTX_ERR_DATA. */
mtx_status mtx_vocab_encode_chars(const mtx_vocab *v, const char *word, int32_t *ids, int max, int *len);

/* Maps toks[0..n) to ids. n > max or an unknown token -> MTX_ERR_DATA. */
mtx_status mtx_vocab_encode_tokens(const mtx_vocab *v, char *const *toks, int n, int32_t *ids, int max);

/* A corpus as id sequences, entries concatenated; no BOS/EOS is added. */
typedef struct {
    int n;                 /* entries kept */
    int32_t *src;          /* (sum of src_len) source character ids */
    int32_t *tgt;          /* (sum of tgt_len) target token ids */
    int *src_off, *src_len; /* (n) entry i's source is src[src_off[i] .. + src_len[i]) */
    int *tgt_off, *tgt_len; /* (n) likewise for the target */
    int n_groups;          /* same groups as the corpus, empty ones included */
    int *group_start;      /* (n_groups + 1) entries of group g: [group_start[g], group_start[g+1]) */
    int64_t n_too_long;    /* entries dropped: src_len > max_src or tgt_len > max_tgt */
} mtx_encoded;

/* Encodes every entry whose lengths fit max_src / max_tgt (both >= 1, else
 * MTX_ERR_ARG); the others are dropped and counted. An unknown character or
 * token in a kept entry -> MTX_ERR_DATA. */
mtx_status mtx_encode_corpus(const mtx_corpus *c, const mtx_vocab *sv, const mtx_vocab *tv, int max_src,
                             int max_tgt, mtx_encoded *out);

/* Frees and zeroes; NULL and zeroed are fine. */
void mtx_encoded_free(mtx_encoded *e);

#endif
