/* modular_sample.c - the assemblies of modularize: the seeded per-step
 * sampling (curriculum replacement rate, parts of a step) and the fixed
 * assemblies (teacher, uniform, smallest) (see modular.h). */
#include "modular/modular_state.h"
#include "model/ops.h"

#include <string.h>

/* ------------------------------------------------------------ sampling */

/* pref: the granularity a drawn module takes where it may start here (0: a
 * uniform choice among those that may) */
static void sample_stack(const mtx_modular_config *c, int L, mtx_rng *r, double p, int pref, mtx_tiling *t) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, c->gran, c->n_gran, g);
    t->n = 0;
    for (int i = 0; i < L;) {
        int ok[MTX_MAX_GRAN], nok = 0, has_pref = 0;
        for (int k = 0; k < ng; k++)
            if (i % g[k] == 0 && i + g[k] <= L) {
                ok[nok++] = g[k];
                has_pref |= g[k] == pref;
            }
        float u = mtx_rng_uniform(r);
        if (nok && u < p) {
            int gg = ok[mtx_rng_u64(r) % (uint64_t)nok];
            if (has_pref) gg = pref;
            t->g[t->n] = (uint8_t)gg;
            t->j[t->n++] = (uint8_t)(i / gg);
            i += gg;
        } else {
            t->g[t->n] = 1;
            t->j[t->n++] = (uint8_t)i;
            i++;
        }
    }
}

double mtx_modular_replace_rate(const mtx_modular_config *c, int64_t step) {
    double p = (double)c->rate_slope * (double)step + (double)c->rate_base;
    return p > 1.0 ? 1.0 : p;
}

void mtx_modular_sample(const mtx_modular_config *c, int Le, int Ld, int64_t step, mtx_assembly *a) {
    mtx_modular_sample_part(c, Le, Ld, step, 0, a);
}

/* The k-th (rotated by r) granularity of a stack, 0 when none applies. */
static int rotated_gran(const mtx_modular_config *c, int L, int k, uint64_t r) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, c->gran, c->n_gran, g);
    return ng ? g[((uint64_t)k + r) % (uint64_t)ng] : 0;
}

void mtx_modular_sample_part(const mtx_modular_config *c, int Le, int Ld, int64_t step, int part, mtx_assembly *a) {
    mtx_rng r;
    mtx_rng_seed(&r, c->opt.seed ^ mtx_hash64((uint64_t)step + 0x51u));
    double p = mtx_modular_replace_rate(c, step);
    if (c->parts <= 1) {
        sample_stack(c, Le, &r, p, 0, &a->enc);
        /* match_rate: the decoder takes the encoder's tiling (stacks of equal
         * depth); no extra draw at 0, so such runs sample as before */
        if (c->match_rate > 0 && Le == Ld && mtx_rng_uniform(&r) < c->match_rate) a->dec = a->enc;
        else sample_stack(c, Ld, &r, p, 0, &a->dec);
        return;
    }
    /* per step: the rotations of both stacks and the match coin, shared by
     * the parts; per part: its own stream for the walks */
    const uint64_t re = mtx_rng_u64(&r), rd = mtx_rng_u64(&r);
    const int match = c->match_rate > 0 && Le == Ld && mtx_rng_uniform(&r) < c->match_rate;
    mtx_rng_seed(&r, c->opt.seed ^ mtx_hash64(((uint64_t)step << 8 | (uint64_t)part) + 0x7061727473ull));
    sample_stack(c, Le, &r, p, rotated_gran(c, Le, part, re), &a->enc);
    if (match) a->dec = a->enc;
    else sample_stack(c, Ld, &r, p, rotated_gran(c, Ld, part, rd), &a->dec);
}

static void uniform_stack(const mtx_bank *b, int L, int g, mtx_tiling *t) {
    int gs[MTX_MAX_GRAN], ng = mtx_stack_grans(L, b->gran, b->n_gran, gs), ok = 0;
    for (int k = 0; k < ng; k++) ok |= gs[k] == g;
    if (!ok) g = 1;
    t->n = 0;
    for (int i = 0; i < L; i += g) {
        t->g[t->n] = (uint8_t)g;
        t->j[t->n++] = (uint8_t)(i / g);
    }
}

static void smallest_stack(const mtx_bank *b, int L, mtx_tiling *t) {
    int g[MTX_MAX_GRAN], ng = mtx_stack_grans(L, b->gran, b->n_gran, g), best = 1;
    for (int k = 0; k < ng; k++)
        if (g[k] > best) best = g[k];
    uniform_stack(b, L, best, t);
}

void mtx_assembly_smallest(const mtx_bank *b, mtx_assembly *a) {
    smallest_stack(b, b->teacher.cfg.num_layers, &a->enc);
    smallest_stack(b, b->teacher.cfg.num_decoder_layers, &a->dec);
}

void mtx_assembly_teacher(const mtx_bank *b, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    a->enc.n = b->teacher.cfg.num_layers;
    a->dec.n = b->teacher.cfg.num_decoder_layers;
    for (int i = 0; i < a->enc.n; i++) { a->enc.g[i] = 1; a->enc.j[i] = (uint8_t)i; }
    for (int i = 0; i < a->dec.n; i++) { a->dec.g[i] = 1; a->dec.j[i] = (uint8_t)i; }
}

void mtx_assembly_uniform(const mtx_bank *b, int g, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    uniform_stack(b, b->teacher.cfg.num_layers, g, &a->enc);
    uniform_stack(b, b->teacher.cfg.num_decoder_layers, g, &a->dec);
}
