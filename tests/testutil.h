/* testutil.h - helpers shared by the test suites. */
#ifndef MTX_TESTUTIL_H
#define MTX_TESTUTIL_H

#include "train/train.h"

/* Removes a file or a directory tree (like rm -rf, without a shell). */
void mtx_test_rm_tree(const char *path);

/* The training fixture: 20 CMUdict entries. */
#define MTX_TEST_WORDS20 "tests/fixtures/words20.dict"

/* The default training config on MTX_TEST_WORDS20 as its train, dev and
 * test files, one thread, batch_tokens tokens a batch. */
mtx_train_config mtx_test_words20_config(int batch_tokens);

#endif
