/* card.h - cycles of the mtx_engine kernel (hls/) on a card, counted from its
 * loop structure (docs/hls.md "Cost model").
 *
 * Model: every pipelined loop runs at II = 1 and costs its trip count plus
 * MTX_CARD_FILL cycles (pipeline depth, an assumption) per entry; unrolled
 * loops cost nothing extra; the restoring square root and divider cost 28
 * and 48 cycles; weights load one tile row (MTX_PE_COLS bytes) per cycle,
 * constants one word per cycle. A word follows the kernel's schedule: the
 * first encoder layer loads alone, then each unit (encoder layer, cross K/V
 * of a decoder layer, decoder layer at a step) is one stage that costs
 * max(load of the next unit, compute of this one): the load and compute
 * processes of a DATAFLOW stage overlap completely, with no stage overhead
 * (an assumption); a unit that one of the two buffers holds is not loaded;
 * embeddings and the output write run between stages. Trip counts at the
 * default tile MTX_PE_ROWS x MTX_PE_COLS, S source characters, T decoding
 * steps (the last one emits EOS), global loads amortised over the batch. */
#ifndef MTX_CARD_H
#define MTX_CARD_H

#include <stdint.h>

#include "core/mtx.h"
#include "format/image.h"

#define MTX_CARD_FILL 8    /* cycles of pipeline fill per pipelined loop entry */
#define MTX_CARD_MHZ 300   /* kernel clock of the projection */

typedef struct {
    uint64_t enc_load, enc_compute; /* one encoder layer (S rows) */
    uint64_t dec_load, dec_compute; /* one decoder layer at step T / 2 */
    uint64_t ckv_load, ckv_compute; /* cross K/V of one decoder layer (not the first: no memory norm) */
    uint64_t load;                  /* per word: every weight and constant load issued */
    uint64_t compute;               /* per word: every compute cycle (embeddings, layers, head, output) */
    uint64_t cycles;                /* per word, loads overlapped with compute as the kernel runs them */
} mtx_card_cost;

/* Cycles of one word of S characters and T decoding steps through a plan of
 * n_enc encoder and n_dec decoder layers over an image of dimensions d.
 * MTX_ERR_ARG for dimensions or counts outside format/maxima.h, S outside
 * [1, Ps] or T outside [1, Pt]. */
mtx_status mtx_card_cycles(const mtx_image_dims *d, int n_enc, int n_dec, int S, int T, mtx_card_cost *out);

#endif
