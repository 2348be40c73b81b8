/* testutil.c - helpers shared by the test suites. */
#include "testutil.h"
#include "core/fsutil.h"
#include "model/config.h"

#include <dirent.h>
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
