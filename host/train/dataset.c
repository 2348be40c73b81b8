/* dataset.c - loading the data of a training run (see dataset.h). */
#include "train/dataset.h"
#include "core/fsutil.h"

#include <string.h>

mtx_status mtx_dataset_load(mtx_dataset *d, const mtx_train_config *t, const mtx_model_config *m,
                            const char *vocab_dir) {
    memset(d, 0, sizeof *d);
    mtx_corpus split[3];
    memset(split, 0, sizeof split);
    mtx_status st = MTX_OK;
    if (t->train[0]) {
        st = mtx_corpus_load(t->train, &split[0]);
        if (!st) st = mtx_corpus_load(t->dev, &split[1]);
        if (!st && t->test[0]) st = mtx_corpus_load(t->test, &split[2]);
        d->has_test = t->test[0] != 0;
    } else {
        mtx_corpus all;
        st = mtx_corpus_load(t->data, &all);
        if (!st) {
            d->n_skipped = all.n_skipped;
            for (int s = 0; s < 3 && !st; s++) st = mtx_corpus_split(&all, s, &split[s]);
            mtx_corpus_free(&all);
        }
        d->has_test = 1;
    }
    if (!st && split[0].n_entries == 0) st = mtx_set_error(MTX_ERR_DATA, "training split is empty");
    if (!st) {
        if (vocab_dir) {
            char path[MTX_PATH_MAX];
            st = mtx_path_join(path, sizeof path, vocab_dir, "source_vocab.txt");
            if (!st) st = mtx_vocab_load(path, &d->sv);
            if (!st) st = mtx_path_join(path, sizeof path, vocab_dir, "target_vocab.txt");
            if (!st) st = mtx_vocab_load(path, &d->tv);
        } else {
            st = mtx_vocab_build_source(&split[0], &d->sv);
            if (!st) st = mtx_vocab_build_target(&split[0], &d->tv);
        }
    }
    const int max_src = m->max_source_positions, max_tgt = m->max_target_positions - 1;
    if (!st) st = mtx_encode_corpus(&split[0], &d->sv, &d->tv, max_src, max_tgt, &d->train);
    if (!st) st = mtx_encode_corpus(&split[1], &d->sv, &d->tv, max_src, max_tgt, &d->dev);
    if (!st && d->has_test) st = mtx_encode_corpus(&split[2], &d->sv, &d->tv, max_src, max_tgt, &d->test);
    if (!st && d->train.n == 0)
        st = mtx_set_error(MTX_ERR_DATA, "no training entry fits max_source_positions %d / max_target_positions %d (%lld dropped as too long)",
                           max_src, max_tgt + 1, (long long)d->train.n_too_long);
    if (!st && d->dev.n == 0) st = mtx_set_error(MTX_ERR_DATA, "the dev split is empty (or every entry is too long)");
    if (!st && (d->tv.n < 3 || strcmp(d->tv.tok[MTX_BOS], "<s>") || strcmp(d->tv.tok[MTX_EOS], "</s>")))
        st = mtx_set_error(MTX_ERR_FORMAT, "target vocabulary must start with <pad>, <s>, </s>");
    for (int s = 0; s < 3; s++) mtx_corpus_free(&split[s]);
    if (st) mtx_dataset_free(d);
    return st;
}

void mtx_dataset_free(mtx_dataset *d) {
    mtx_vocab_free(&d->sv);
    mtx_vocab_free(&d->tv);
    mtx_encoded_free(&d->train);
    mtx_encoded_free(&d->dev);
    mtx_encoded_free(&d->test);
    memset(d, 0, sizeof *d);
}
