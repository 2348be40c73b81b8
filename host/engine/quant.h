/* quant.h - post-training quantization of a module bank into the sections of
 * the weight image (format/layout.h), with the constants docs/engine.md
 * defines.
 *
 * Calibration: a seeded sample of training words runs teacher-forced through
 * the fp32 model of every given assembly (plus, for each layer no assembly
 * uses, the teacher with that one layer swapped in), and the largest |value|
 * of every quantization point is recorded per layer (a layer in several
 * assemblies takes the maximum over them; the image holds it once). Scales
 * are max / 127; weights are int8, symmetric per output row. Single-threaded and seeded: the sections
 * are byte-reproducible on one machine. A plain model is a bank without
 * modules (n_gran = 0). */
#ifndef MTX_QUANT_H
#define MTX_QUANT_H

#include "format/image.h"
#include "modular/bank.h"

typedef struct {
    int calib_words;    /* training words sampled (default MTX_QUANT_CALIB_WORDS) */
    uint64_t seed;      /* sample seed */
} mtx_quant_opts;

#define MTX_QUANT_CALIB_WORDS 256
mtx_quant_opts mtx_quant_default_opts(void);

typedef struct {
    uint32_t type, index; /* MTX_SEC_*, layer origin or 0 */
    uint8_t *bytes;
    uint64_t len;
} mtx_quant_section;

typedef struct {
    mtx_image_dims dims;
    int n_sec;
    mtx_quant_section sec[MTX_MAX_TOC];
    double res_max;     /* calibrated max |residual| (real units) */
    int calib_words;    /* words actually used */
    int calib_assemblies;
} mtx_quant;

/* Quantizes every layer of b (teacher layers and modules). as[0..n_as):
 * the assemblies to calibrate on (those that will be exported); train: the
 * training split to sample from. */
mtx_status mtx_quantize(mtx_quant *q, const mtx_bank *b, const mtx_assembly *as, int n_as,
                        const mtx_encoded *train, const mtx_quant_opts *o);

/* The image of q's sections in order (malloc'd, through the image builder). */
mtx_status mtx_quant_image(const mtx_quant *q, uint8_t **out, uint64_t *bytes);

/* Section (type, index) of q, or NULL. */
const mtx_quant_section *mtx_quant_find(const mtx_quant *q, uint32_t type, uint32_t index);

void mtx_quant_free(mtx_quant *q);

#endif
