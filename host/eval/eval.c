/* eval.c - decode a split word by word and score it (see eval.h). */
#include "eval/eval.h"
#include "core/mtx.h"

#include <stdlib.h>
#include <string.h>

enum { EVAL_WORDS = 128 };

/* Groups are decoded in source-length order (little padding per batch);
 * the key packs (length, group index) so the sort needs no global state. */
static int by_key(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

mtx_status mtx_eval_encoded(const mtx_net *net, const mtx_encoded *e, int beam, float len_alpha,
                            mtx_eval_result *r) {
    memset(r, 0, sizeof *r);
    const int Pt = net->cfg->max_target_positions, Ps = net->cfg->max_source_positions;
    int64_t *groups = malloc(sizeof(int64_t) * (size_t)(e->n_groups + 1));
    int32_t *src = malloc(sizeof(int32_t) * EVAL_WORDS * (size_t)Ps);
    int *slen = malloc(sizeof(int) * EVAL_WORDS);
    int32_t *hyp = malloc(sizeof(int32_t) * EVAL_WORDS * (size_t)Pt);
    int *hlen = malloc(sizeof(int) * EVAL_WORDS);
    const int32_t **refs = malloc(sizeof(int32_t *) * (size_t)(e->n + 1));
    int *rlen = malloc(sizeof(int) * (size_t)(e->n + 1));
    mtx_decoder *d = NULL;
    mtx_status st = (!groups || !src || !slen || !hyp || !hlen || !refs || !rlen)
                        ? mtx_set_error(MTX_ERR_NOMEM, "out of memory for evaluation") : MTX_OK;
    if (!st) st = mtx_decoder_new(&d, net, EVAL_WORDS, beam, len_alpha);
    int ng = 0;
    for (int g = 0; !st && g < e->n_groups; g++)
        if (e->group_start[g + 1] > e->group_start[g])
            groups[ng++] = ((int64_t)e->src_len[e->group_start[g]] << 32) | (int64_t)g;
    if (!st) qsort(groups, (size_t)ng, sizeof(int64_t), by_key);
    for (int i = 0; i < ng; i++) groups[i] &= 0xFFFFFFFF;
    double t0 = mtx_now_s();
    for (int i = 0; !st && i < ng; i += EVAL_WORDS) {
        int B = ng - i < EVAL_WORDS ? ng - i : EVAL_WORDS, S = 1;
        for (int b = 0; b < B; b++) {
            int k = e->group_start[groups[i + b]];
            if (e->src_len[k] > S) S = e->src_len[k];
        }
        for (int b = 0; b < B; b++) {
            int k = e->group_start[groups[i + b]];
            slen[b] = e->src_len[k];
            for (int x = 0; x < S; x++) src[b * S + x] = x < slen[b] ? e->src[e->src_off[k] + x] : MTX_PAD;
        }
        st = mtx_decode(d, src, slen, B, S, hyp, hlen, Pt);
        for (int b = 0; !st && b < B; b++) {
            int g = groups[i + b], nr = 0;
            for (int k = e->group_start[g]; k < e->group_start[g + 1]; k++) {
                refs[nr] = e->tgt + e->tgt_off[k];
                rlen[nr++] = e->tgt_len[k];
            }
            st = mtx_score_add(&r->score, hyp + (int64_t)b * Pt, hlen[b], refs, rlen, nr);
        }
    }
    r->seconds = mtx_now_s() - t0;
    r->words = r->score.words;
    mtx_decoder_free(d);
    free(groups); free(src); free(slen); free(hyp); free(hlen); free(refs); free(rlen);
    return st;
}
