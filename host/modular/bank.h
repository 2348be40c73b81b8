/* bank.h - module banks and assemblies (Modular Transformers, Zhou et al. 2023).
 *
 * A bank is a frozen teacher plus modularized layers m(g, j): one layer of
 * the teacher's exact shape that does the work of teacher layers
 * [g*j, g*j + g) of one stack. A tiling covers a stack's L teacher layers
 * with teacher layers (g = 1) and modules; an assembly is one tiling per
 * stack. Because a module has a layer's shape, an assembly is just a list of
 * layer views, and any engine runs it like a plain model. */
#ifndef MTX_BANK_H
#define MTX_BANK_H

#include "model/forward.h"
#include "data/vocab.h"

#define MTX_MAX_GRAN 8

/* One tiling of a stack: blocks in order; block b covers teacher layers
 * [start(b), start(b) + g[b]); g[b] == 1 is teacher layer j[b], otherwise
 * module m(g[b], j[b]) with start g[b] * j[b]. */
typedef struct {
    int n;
    uint8_t g[MTX_MAX_LAYERS];
    uint8_t j[MTX_MAX_LAYERS];
} mtx_tiling;

typedef struct {
    mtx_tiling enc, dec;
} mtx_assembly;

/* Granularities that apply to a stack of L layers: those of gran[] with
 * 1 < g <= L and L % g == 0. */
int mtx_stack_grans(int L, const int *gran, int n_gran, int *out);

/* Every tiling of L layers with teacher layers and modules of the given
 * granularities, in a canonical order (lexicographic by block sizes, teacher
 * layers first). Writes at most max tilings; returns the total count, or -1
 * when there are more than MTX_MAX_TILINGS (deep stacks: enumeration is
 * exponential in L). */
#define MTX_MAX_TILINGS 100000
int mtx_tiling_enumerate(int L, const int *gran, int n_gran, mtx_tiling *out, int max);

/* Checks that t covers [0, L) exactly with allowed blocks. */
mtx_status mtx_tiling_validate(const mtx_tiling *t, int L, const int *gran, int n_gran);

/* "t0 t1 m2.1 m3.1" style text (and its parser), used in configs and reports. */
void mtx_tiling_format(const mtx_tiling *t, char *buf, size_t cap);
mtx_status mtx_tiling_parse(const char *s, mtx_tiling *t);

typedef struct {
    mtx_model teacher;       /* frozen */
    int n_gran;
    int gran[MTX_MAX_GRAN];  /* configured granularities */
    int enc_first[MTX_MAX_GRAN + 1], dec_first[MTX_MAX_GRAN + 1]; /* module index of (gi, 0); [n_gran] = total */
    float *mod;              /* flat module parameters: encoder modules, then decoder modules */
    size_t n_mod;
    mtx_enc_layer *enc_mod;  /* [enc_first[n_gran]] */
    mtx_dec_layer *dec_mod;  /* [dec_first[n_gran]] */
} mtx_bank;

/* Builds a bank around a copy of the teacher; modules of granularity gran[i]
 * are initialised from a teacher layer in their span: init[i] 0 = first,
 * 1 = middle ((g - 1) / 2), 2 = last. init NULL: every module from the first. */
mtx_status mtx_bank_init(mtx_bank *b, const mtx_model *teacher, const int *gran, int n_gran, const int *init);
void mtx_bank_free(mtx_bank *b);
/* 1 if a and b have the same granularities and module layout and hold the
 * same teacher bit for bit (so their modules are interchangeable). */
int mtx_bank_same_base(const mtx_bank *a, const mtx_bank *b);

/* "ENCODER | DECODER" tilings (the notation of sweep and `assemble
 * --tiling`) into an assembly, each side checked against b's stacks and
 * granularities. The error names the side ("encoder: ..."). */
mtx_status mtx_assembly_parse(const mtx_bank *b, const char *s, mtx_assembly *a);

/* Module views (NULL if the granularity is not in the bank or j is out of range). */
mtx_enc_layer *mtx_bank_enc_module(const mtx_bank *b, int g, int j);
mtx_dec_layer *mtx_bank_dec_module(const mtx_bank *b, int g, int j);

/* Binds module views of the same layout over another buffer (gradients, moments). */
mtx_status mtx_bank_bind_like(const mtx_bank *b, float *base, mtx_enc_layer **enc, mtx_dec_layer **dec);

/* A network for an assembly. With genc/gdec (views from mtx_bank_bind_like),
 * modules get gradient views and teacher layers stay frozen. */
mtx_status mtx_bank_net(const mtx_bank *b, const mtx_assembly *a, mtx_net *n,
                        mtx_enc_layer *genc, mtx_dec_layer *gdec);

/* Adds the module tensors ("modules.encoder.g{g}.{j}." + layer names) to a writer / reads them. */
mtx_status mtx_bank_add_modules(const mtx_bank *b, void *writer, const char *prefix, const float *base);
mtx_status mtx_bank_read_modules(mtx_bank *b, const void *stfile, const char *path, const char *prefix, float *base);

/* Compression ratio by layer count (teacher layers / assembled layers), as
 * the paper reports it; parameters of the assembled model; and an estimated
 * decode latency in sequential layer evaluations per word: the encoder stack
 * once (all source tokens at once; src_len is not used), the decoder stack
 * once per output token (tgt_len, </s> included). */
double mtx_assembly_ratio(const mtx_bank *b, const mtx_assembly *a);
size_t mtx_assembly_params(const mtx_bank *b, const mtx_assembly *a);
double mtx_assembly_latency(const mtx_bank *b, const mtx_assembly *a, double src_len, double tgt_len);

#endif
