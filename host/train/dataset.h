/* dataset.h - the data of a training run: the corpus a training config
 * names, split (CMUdict index rule or explicit files), vocabularies built on
 * the training split (or taken from a model directory) and the encoded
 * splits. */
#ifndef MTX_DATASET_H
#define MTX_DATASET_H

#include "data/data.h"
#include "data/vocab.h"
#include "model/config.h"

/* The data of one run: vocabularies built on the training split, encoded splits. */
typedef struct {
    mtx_vocab sv, tv;
    mtx_encoded train, dev, test;
    int64_t n_skipped;    /* CMUdict lines skipped for characters */
    int has_test;
} mtx_dataset;

/* Loads the data a training config names (CMUdict split by the index rule, or
 * explicit files). With vocab_dir (a model directory: resume, evaluation) its
 * vocabularies are used instead of being built; unknown symbols in the data
 * are then an error. */
mtx_status mtx_dataset_load(mtx_dataset *d, const mtx_train_config *t, const mtx_model_config *m,
                            const char *vocab_dir);
void mtx_dataset_free(mtx_dataset *d);

#endif
