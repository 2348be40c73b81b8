/* batch.h - token-count batches built from length buckets.
 *
 * Examples are shuffled with a seeded RNG, stably sorted by padded length,
 * cut greedily into batches of at most batch_tokens padded tokens (B * max
 * length over source and target sides), and the batch order is shuffled:
 * similar lengths share a batch (little padding) while the order stays random.
 * Everything is a pure function of (seed, epoch). */
#ifndef MTX_BATCH_H
#define MTX_BATCH_H

#include "model/forward.h"
#include "data/vocab.h"

typedef struct {
    const mtx_encoded *data;
    int batch_tokens;
    int *order;       /* (n) example indices, bucketed */
    int *tmp;         /* (n) scratch */
    int n_batches;
    int *batch_start; /* (n) offsets into order */
    int *batch_size;  /* (n) */
    int *perm;        /* (n) batch i of the epoch is chunk perm[i] */
} mtx_batcher;

mtx_status mtx_batcher_init(mtx_batcher *bt, const mtx_encoded *data, int batch_tokens);
void mtx_batcher_free(mtx_batcher *bt);
/* Lays out the batches of one epoch; shuffle 0 keeps a fixed length order (evaluation). */
void mtx_batcher_epoch(mtx_batcher *bt, uint64_t seed, int64_t epoch, int shuffle);

/* Padded host buffers for one batch, allocated for a capacity once. */
typedef struct {
    int cap_rows;
    int32_t *src, *tgt_in, *tgt_out;
    int *src_len;
    mtx_batch b;
} mtx_batch_buf;

mtx_status mtx_batch_buf_init(mtx_batch_buf *bb, int cap_rows);
void mtx_batch_buf_free(mtx_batch_buf *bb);
/* Fills bb->b with batch i of the current epoch. */
void mtx_batch_fill(mtx_batch_buf *bb, const mtx_batcher *bt, int i);
/* The teacher-forced batch of examples idx[0..B) of e, padded to S = the
 * longest source and T = the longest target + 1, over the caller's buffers
 * src and tgt_in, tgt_out (at least B * S and B * T) and src_len (B):
 * tgt_in is <s> then the target, tgt_out the target then </s>, padding is
 * MTX_PAD in the inputs and -1 in tgt_out (what mtx_batch_fill builds). */
void mtx_batch_pack(mtx_batch *b, const mtx_encoded *e, const int *idx, int B, int32_t *src, int *src_len,
                    int32_t *tgt_in, int32_t *tgt_out);
/* Padded length of example k: max(source length, target length + 1). */
int mtx_example_len(const mtx_encoded *e, int k);

#endif
