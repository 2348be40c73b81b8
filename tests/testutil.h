/* testutil.h - helpers shared by the test suites. */
#ifndef MTX_TESTUTIL_H
#define MTX_TESTUTIL_H

/* Removes a file or a directory tree (like rm -rf, without a shell). */
void mtx_test_rm_tree(const char *path);

#endif
