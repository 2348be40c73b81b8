/* batch.c - length-bucketed token-count batching (see batch.h). */
#include "data/batch.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

int mtx_example_len(const mtx_encoded *e, int k) {
    int s = e->src_len[k], t = e->tgt_len[k] + 1;
    return s > t ? s : t;
}

mtx_status mtx_batcher_init(mtx_batcher *bt, const mtx_encoded *data, int batch_tokens) {
    memset(bt, 0, sizeof *bt);
    bt->data = data;
    bt->batch_tokens = batch_tokens;
    size_t n = (size_t)(data->n > 0 ? data->n : 1);
    bt->order = malloc(n * sizeof(int));
    bt->tmp = malloc(n * sizeof(int));
    bt->batch_start = malloc(n * sizeof(int));
    bt->batch_size = malloc(n * sizeof(int));
    bt->perm = malloc(n * sizeof(int));
    if (!bt->order || !bt->tmp || !bt->batch_start || !bt->batch_size || !bt->perm) {
        mtx_batcher_free(bt);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for batching");
    }
    for (int k = 0; k < data->n; k++)
        if (mtx_example_len(data, k) > batch_tokens) {
            mtx_batcher_free(bt);
            return mtx_set_error(MTX_ERR_ARG, "batch_tokens %d is smaller than one example (%d)",
                                 batch_tokens, mtx_example_len(data, k));
        }
    return MTX_OK;
}

void mtx_batcher_free(mtx_batcher *bt) {
    free(bt->order);
    free(bt->tmp);
    free(bt->batch_start);
    free(bt->batch_size);
    free(bt->perm);
    memset(bt, 0, sizeof *bt);
}

static void shuffle(int *a, int n, mtx_rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(mtx_rng_u64(r) % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void mtx_batcher_epoch(mtx_batcher *bt, uint64_t seed, int64_t epoch, int do_shuffle) {
    const mtx_encoded *e = bt->data;
    const int n = e->n;
    mtx_rng r;
    mtx_rng_seed(&r, seed * 1000003u + (uint64_t)epoch);
    for (int k = 0; k < n; k++) bt->tmp[k] = k;
    if (do_shuffle) shuffle(bt->tmp, n, &r);
    /* stable counting sort by padded length */
    int count[MTX_MAX_POSITIONS + 2] = { 0 };
    for (int k = 0; k < n; k++) count[mtx_example_len(e, bt->tmp[k]) + 1]++;
    for (int l = 1; l <= MTX_MAX_POSITIONS + 1; l++) count[l] += count[l - 1];
    for (int k = 0; k < n; k++) bt->order[count[mtx_example_len(e, bt->tmp[k])]++] = bt->tmp[k];
    /* greedy cut: lengths ascend, so the current example sets the padded length */
    bt->n_batches = 0;
    int start = 0;
    for (int k = 0; k < n; k++) {
        int len = mtx_example_len(e, bt->order[k]);
        if ((int64_t)(k - start + 1) * len > bt->batch_tokens) {
            bt->batch_start[bt->n_batches] = start;
            bt->batch_size[bt->n_batches++] = k - start;
            start = k;
        }
    }
    if (n > start) {
        bt->batch_start[bt->n_batches] = start;
        bt->batch_size[bt->n_batches++] = n - start;
    }
    for (int i = 0; i < bt->n_batches; i++) bt->perm[i] = i;
    if (do_shuffle) shuffle(bt->perm, bt->n_batches, &r);
}

mtx_status mtx_batch_buf_init(mtx_batch_buf *bb, int cap_rows) {
    memset(bb, 0, sizeof *bb);
    bb->cap_rows = cap_rows;
    bb->src = calloc((size_t)cap_rows, sizeof(int32_t));
    bb->tgt_in = calloc((size_t)cap_rows, sizeof(int32_t));
    bb->tgt_out = calloc((size_t)cap_rows, sizeof(int32_t));
    bb->src_len = calloc((size_t)cap_rows, sizeof(int));
    if (!bb->src || !bb->tgt_in || !bb->tgt_out || !bb->src_len) {
        mtx_batch_buf_free(bb);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory for batch buffers");
    }
    return MTX_OK;
}

void mtx_batch_buf_free(mtx_batch_buf *bb) {
    free(bb->src);
    free(bb->tgt_in);
    free(bb->tgt_out);
    free(bb->src_len);
    memset(bb, 0, sizeof *bb);
}

void mtx_batch_fill(mtx_batch_buf *bb, const mtx_batcher *bt, int i) {
    const int j = bt->perm[i];
    mtx_batch_pack(&bb->b, bt->data, bt->order + bt->batch_start[j], bt->batch_size[j], bb->src, bb->src_len,
                   bb->tgt_in, bb->tgt_out);
}

void mtx_batch_pack(mtx_batch *bt, const mtx_encoded *e, const int *idx, int B, int32_t *src, int *src_len,
                    int32_t *tgt_in, int32_t *tgt_out) {
    int S = 1, T = 1;
    for (int b = 0; b < B; b++) {
        if (e->src_len[idx[b]] > S) S = e->src_len[idx[b]];
        if (e->tgt_len[idx[b]] + 1 > T) T = e->tgt_len[idx[b]] + 1;
    }
    int n_tgt = 0;
    for (int b = 0; b < B; b++) {
        const int k = idx[b], sl = e->src_len[k], tl = e->tgt_len[k];
        const int32_t *s = e->src + e->src_off[k], *t = e->tgt + e->tgt_off[k];
        for (int x = 0; x < S; x++) src[b * S + x] = x < sl ? s[x] : MTX_PAD;
        src_len[b] = sl;
        for (int x = 0; x < T; x++) {
            tgt_in[b * T + x] = x == 0 ? MTX_BOS : (x <= tl ? t[x - 1] : MTX_PAD);
            tgt_out[b * T + x] = x < tl ? t[x] : (x == tl ? MTX_EOS : -1);
        }
        n_tgt += tl + 1;
    }
    *bt = (mtx_batch){ B, S, T, src, src_len, tgt_in, tgt_out, n_tgt };
}
