/* data/ (layer 1) - pronunciation corpora and their split (data),
 * vocabularies and integer encoding (vocab), token-count batches (batch). */
/* data.h - raw pronunciation corpora: loading CMUdict and TSV files, and the
 * fixed train/dev/test split by base word.
 *
 * A corpus is a list of (source word, target tokens) entries grouped by base
 * word, so that all pronunciations of a word land in the same split and can be
 * scored together as multiple references. Formats are in docs/data.md.
 *
 * Ownership: an entry is a single allocation owned by entry.tgt, holding the
 * pointer array, src and the target strings (one malloc per entry keeps
 * loading all of CMUdict well under 0.5 s). Build entries by hand with
 * mtx_entry_init() so that mtx_corpus_free() can release them. Limits: lines up to MTX_MAX_LINE bytes, at most
 * INT_MAX entries. */
#ifndef MTX_DATA_H
#define MTX_DATA_H

#include "core/mtx.h"

#define MTX_CMUDICT_PATH "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
#define MTX_MAX_LINE 4096 /* bytes per line, not counting "\n" or "\r\n" */

enum { MTX_SPLIT_TRAIN = 0, MTX_SPLIT_DEV = 1, MTX_SPLIT_TEST = 2 };

typedef struct {
    char *src;   /* the base word (CMUdict variant suffix "(N)" removed), UTF-8 */
    char **tgt;  /* (tgt_len) target tokens, e.g. phones "AH" "B" */
    int tgt_len; /* >= 1 */
    int group;   /* index of the entry's group in its corpus */
} mtx_entry;

typedef struct {
    int n_entries;
    mtx_entry *entries; /* (n_entries) grouped: group g is [group_start[g], group_start[g+1]) */
    int n_groups;       /* groups = base words, in order of first appearance */
    int *group_start;   /* (n_groups + 1) */
    int64_t n_skipped;  /* CMUdict lines skipped: word has characters outside a-z and ' */
} mtx_corpus;

/* Fills *e with copies of src and tgt[0..tgt_len) in one allocation owned by
 * e->tgt (src points into it); e->group = 0. tgt_len < 1 -> MTX_ERR_ARG. */
mtx_status mtx_entry_init(mtx_entry *e, const char *src, char *const *tgt, int tgt_len);

/* Loads a CMUdict or TSV file (decided per line). Malformed line ->
 * MTX_ERR_DATA "PATH:LINE: reason"; unreadable file -> MTX_ERR_IO.
 * On failure *out is left empty (safe to free). */
mtx_status mtx_corpus_load(const char *path, mtx_corpus *out);

/* The split a group index belongs to: i % 20 == 19 -> dev,
 * i % 20 in {17, 18} -> test, otherwise train. */
int mtx_group_split(int group);

/* Deep copy of the groups of `all` that fall in `split`, in the same order.
 * Groups are renumbered from 0 (entry.group follows); n_skipped is 0 because
 * skipped lines belong to no group. Bad split -> MTX_ERR_ARG. */
mtx_status mtx_corpus_split(const mtx_corpus *all, int split, mtx_corpus *out);

/* Frees everything the corpus owns and zeroes it; NULL and zeroed are fine. */
void mtx_corpus_free(mtx_corpus *c);

/* Length in bytes (1-4) of the well-formed UTF-8 character at s, looking at
 * no more than n bytes; 0 for NUL, truncated, overlong, surrogate or
 * > U+10FFFF sequences. */
int mtx_utf8_char_len(const char *s, size_t n);

/* 1 if the n bytes at s are well-formed UTF-8 without NUL, else 0. */
int mtx_utf8_valid(const char *s, size_t n);

#endif
