/* metrics.h - grapheme-to-phoneme evaluation metrics after Bisani & Ney,
 * "Joint-sequence models for grapheme-to-phoneme conversion" (2008), sec. 5.
 *
 * Phoneme error rate (PER): for each word, the Levenshtein distance from the
 * hypothesis to the closest of the word's reference pronunciations, summed
 * over words and divided by the summed lengths of those closest references.
 * Word error rate (WER): the share of words whose hypothesis equals none of
 * its references. Both in percent. Definitions in docs/data.md. */
#ifndef MTX_METRICS_H
#define MTX_METRICS_H

#include "core/mtx.h"

#define MTX_EDIT_MAX 1024 /* longest sequence mtx_edit_distance accepts (= MTX_MAX_POSITIONS) */

/* Levenshtein distance with unit costs for substitution, insertion and
 * deletion. Uses no heap memory; a length outside [0, MTX_EDIT_MAX] or a NULL
 * pointer with a non-zero length -> -1 (and MTX_ERR_ARG is recorded). */
int mtx_edit_distance(const int32_t *a, int na, const int32_t *b, int nb);

typedef struct {
    int64_t errors;      /* summed edit distances to the closest references */
    int64_t ref_len;     /* summed lengths of those references */
    int64_t words;       /* words scored */
    int64_t word_errors; /* words whose hypothesis matches no reference */
} mtx_score;

/* Scores hyp against refs[0..n_refs): the closest reference (ties -> the
 * lowest index) contributes its distance to errors and its length to
 * ref_len; the word is an error unless hyp equals some reference exactly.
 * Returns MTX_ERR_ARG, leaving *s unchanged, if n_refs < 1 or a length is
 * outside [0, MTX_EDIT_MAX]. */
mtx_status mtx_score_add(mtx_score *s, const int32_t *hyp, int nh, const int32_t *const *refs,
                         const int *ref_lens, int n_refs);

/* 100 * errors / ref_len, or 0 if ref_len == 0. */
double mtx_score_per(const mtx_score *s);

/* 100 * word_errors / words, or 0 if words == 0. */
double mtx_score_wer(const mtx_score *s);

#endif
