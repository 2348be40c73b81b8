/* metrics.c - edit distance and PER/WER accumulation (see metrics.h). */
#include "eval/metrics.h"

int mtx_edit_distance(const int32_t *a, int na, const int32_t *b, int nb) {
    if (na < 0 || nb < 0 || na > MTX_EDIT_MAX || nb > MTX_EDIT_MAX || (na && !a) || (nb && !b)) {
        mtx_set_error(MTX_ERR_ARG, "edit distance: lengths %d and %d must be in [0, %d]", na, nb, MTX_EDIT_MAX);
        return -1;
    }
    /* One row of the DP table: row[j] = distance(a[0..i), b[0..j)). */
    int row[MTX_EDIT_MAX + 1];
    for (int j = 0; j <= nb; j++) row[j] = j;
    for (int i = 1; i <= na; i++) {
        int diag = row[0]; /* distance(a[0..i-1), b[0..j-1)) */
        row[0] = i;
        for (int j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;                 /* delete a[i-1] */
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1; /* insert b[j-1] */
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

mtx_status mtx_score_add(mtx_score *s, const int32_t *hyp, int nh, const int32_t *const *refs,
                         const int *ref_lens, int n_refs) {
    if (n_refs < 1) return mtx_set_error(MTX_ERR_ARG, "score: a word needs at least one reference");
    int best = -1, best_len = 0;
    for (int r = 0; r < n_refs; r++) {
        int d = mtx_edit_distance(hyp, nh, refs[r], ref_lens[r]);
        if (d < 0) return MTX_ERR_ARG;
        if (best < 0 || d < best) { /* strict: a tie keeps the earlier reference */
            best = d;
            best_len = ref_lens[r];
        }
    }
    s->errors += best;
    s->ref_len += best_len;
    s->words++;
    s->word_errors += best != 0; /* distance 0 <=> identical to that reference */
    return MTX_OK;
}

double mtx_score_per(const mtx_score *s) {
    return s->ref_len ? 100.0 * (double)s->errors / (double)s->ref_len : 0.0;
}

double mtx_score_wer(const mtx_score *s) {
    return s->words ? 100.0 * (double)s->word_errors / (double)s->words : 0.0;
}
