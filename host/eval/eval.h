/* eval/ (layer 2) - scoring: edit distance and PER/WER accumulation
 * (metrics) and decoding a whole split against its references (eval). */
/* eval.h - G2P evaluation: decode every word of a split and score it against
 * all of its reference pronunciations (PER and WER as in Bisani & Ney 2008). */
#ifndef MTX_EVAL_H
#define MTX_EVAL_H

#include "model/decode.h"
#include "eval/metrics.h"
#include "data/vocab.h"

typedef struct {
    mtx_score score;
    int64_t words;
    double seconds; /* decoding wall time (encoder + decoder), words/s = words / seconds */
} mtx_eval_result;

/* Decodes each group (base word) of e once, with beam width `beam`. */
mtx_status mtx_eval_encoded(const mtx_net *net, const mtx_encoded *e, int beam, float len_alpha,
                            mtx_eval_result *r);

#endif
