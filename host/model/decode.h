/* decode.h - batched greedy and beam-search decoding with a KV cache.
 *
 * The encoder runs once per batch of words; each decoder layer keeps a
 * self-attention K/V cache and cross-attention K/V computed once per input,
 * so a step costs one token per hypothesis. Beam search scores hypotheses by
 * summed log-probability and picks the final one by length-normalised score
 * (score / length^alpha, length counting </s>). Beam width 1 is greedy. */
#ifndef MTX_DECODE_H
#define MTX_DECODE_H

#include "model/forward.h"

typedef struct mtx_decoder mtx_decoder;

/* max_words: words per call; beam: width (1 = greedy). */
mtx_status mtx_decoder_new(mtx_decoder **out, const mtx_net *net, int max_words, int beam,
                           float len_alpha);
void mtx_decoder_free(mtx_decoder *d);

/* Decodes B <= max_words words given as padded source ids (B,S) and lengths.
 * Writes each hypothesis (without </s>) to out + b*out_stride, its length to
 * out_len[b]; out_stride must be >= max_target_positions. */
mtx_status mtx_decode(mtx_decoder *d, const int32_t *src, const int *src_len, int B, int S,
                      int32_t *out, int *out_len, int out_stride);

/* Teacher-forced incremental decoding of one word, the KV-cached path of
 * mtx_decode step by step: feeds tgt_in[0..T) one position at a time and
 * writes every decoder layer's output, layer_out (L, T, C), and the logits
 * (T, V). An oracle check against the training forward (mtx_forward). */
mtx_status mtx_decoder_trace(mtx_decoder *d, const int32_t *src, int slen, const int32_t *tgt_in, int T,
                             float *layer_out, float *logits);

#endif
