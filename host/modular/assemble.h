/* assemble.h - choosing and materialising assemblies of a module bank.
 *
 * Compression ratio is counted in layers, as the paper reports it: teacher
 * layers (encoder + decoder) over assembled layers, so a 6 + 6 teacher
 * reaches 12/11 = 1.09x ... 12/2 = 6x. Strategies for a target ratio:
 *   size   fewest parameters, then lowest estimated latency;
 *   speed  lowest estimated decode latency (encoder layers once, decoder
 *          layers once per output token), then fewest parameters;
 *   search measured: greedy WER on the first dev words, then PER.
 * Remaining ties go to the tiling whose largest block is smallest (the most
 * even compression), then to the canonical enumeration order. */
#ifndef MTX_ASSEMBLE_H
#define MTX_ASSEMBLE_H

#include "modular/bank.h"
#include "eval/eval.h"

typedef enum { MTX_STRATEGY_SIZE, MTX_STRATEGY_SPEED, MTX_STRATEGY_SEARCH } mtx_strategy;

/* All assemblies of a bank (enc tilings x dec tilings); caller frees *out. */
mtx_status mtx_assemblies_all(const mtx_bank *b, mtx_assembly **out, int *n);

/* Reachable ratios, ascending and distinct; returns their count. */
int mtx_reachable_ratios(const mtx_bank *b, double *ratios, int max);
/* "1.09, 1.20, ..., 6.00" for error messages. */
void mtx_reachable_ratios_text(const mtx_bank *b, char *buf, size_t cap);

/* Average source/target lengths used by the latency estimate. */
typedef struct { double src_len, tgt_len; } mtx_len_stats;

/* Measured score of an assembly on the first max_words words of data. */
typedef struct { double wer, per; } mtx_assembly_score;
mtx_status mtx_assembly_score_on(const mtx_bank *b, const mtx_assembly *a, const mtx_encoded *data,
                                 int max_words, mtx_assembly_score *s);

/* Every assembly of the bank scored on the first dev_words dev words, with
 * its cost; pareto marks the frontier of estimated latency against dev WER
 * (no other assembly is at least as fast and at least as accurate, and
 * strictly better in one). Caller frees *out. */
typedef struct {
    mtx_assembly a;
    double wer, per, latency;
    size_t params;
    int pareto;
} mtx_scored_assembly;
mtx_status mtx_assembly_search_all(const mtx_bank *b, const mtx_encoded *dev, int dev_words,
                                   const mtx_len_stats *lens, mtx_scored_assembly **out, int *n);

/* The search's second stage: of the assemblies in scored[0..n) with `layers`
 * layers, the MTX_SEARCH_FINALISTS best by (dev WER, dev PER) on the first
 * dev words are scored again on the whole dev split (when it is longer than
 * dev_words) and the best of them there is returned (ties: PER, then the
 * first stage's order). A first-stage WER on 1000 words has a standard error
 * of about 1.5 points, more than the gaps between the best tilings of a ratio. */
#define MTX_SEARCH_FINALISTS 3
mtx_status mtx_assembly_refine(const mtx_bank *b, const mtx_scored_assembly *scored, int n, int layers,
                               const mtx_encoded *dev, int dev_words, mtx_assembly *out);

/* Picks the assembly for a target ratio (error listing the reachable ratios
 * when none matches within 1%). dev may be NULL unless strategy is search,
 * which scores every assembly of the ratio on the first dev_words dev words
 * and refines with mtx_assembly_refine. */
mtx_status mtx_assembly_choose(const mtx_bank *b, double ratio, mtx_strategy strategy,
                               const mtx_len_stats *lens, const mtx_encoded *dev, int dev_words,
                               mtx_assembly *out);

/* Materialises an assembly as a standalone model (embeddings, norms and head
 * from the teacher; layers from the teacher or the modules). */
mtx_status mtx_assembly_to_model(const mtx_bank *b, const mtx_assembly *a, mtx_model *out);

mtx_len_stats mtx_len_stats_of(const mtx_encoded *e);

#endif
