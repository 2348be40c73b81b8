/* testutil.c - helpers shared by the test suites. */
#include "testutil.h"
#include "core/fsutil.h"
#include "model/config.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mtx_test_rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char sub[MTX_PATH_MAX];
            if (mtx_path_join(sub, sizeof sub, path, de->d_name) == MTX_OK) mtx_test_rm_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

mtx_train_config mtx_test_words20_config(int batch_tokens) {
    mtx_train_config t = mtx_train_config_default();
    snprintf(t.train, sizeof t.train, "%s", MTX_TEST_WORDS20);
    snprintf(t.dev, sizeof t.dev, "%s", MTX_TEST_WORDS20);
    snprintf(t.test, sizeof t.test, "%s", MTX_TEST_WORDS20);
    t.batch_tokens = batch_tokens;
    t.threads = 1;
    return t;
}
