/* cli_common.c - option parsing and error printing shared by the subcommands. */
#include "cli/cli.h"
#include "core/mtx.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int mtx_parse_opts(int argc, char **argv, const mtx_opt *opts, int n_opts, const char *help,
                   char **pos, int max_pos, int *n_pos) {
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 1;
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const mtx_opt *o = NULL;
            for (int k = 0; k < n_opts; k++)
                if (!strcmp(opts[k].name, a)) o = &opts[k];
            if (!o) {
                fprintf(stderr, "modtx %s: unknown option '%s' (see --help)\n", argv[0], a);
                return 2;
            }
            if (o->flag) {
                *o->flag = 1;
            } else {
                if (i + 1 >= argc) {
                    fprintf(stderr, "modtx %s: option %s needs a value\n", argv[0], a);
                    return 2;
                }
                *o->value = argv[++i];
            }
            continue;
        }
        if (np >= max_pos) {
            fprintf(stderr, "modtx %s: unexpected argument '%s' (see --help)\n", argv[0], a);
            return 2;
        }
        pos[np++] = argv[i];
    }
    if (n_pos) *n_pos = np;
    return 0;
}

int mtx_fail(const char *cmd) {
    fprintf(stderr, "modtx %s: %s\n", cmd, mtx_last_error());
    return 1;
}

long mtx_opt_int(const char *cmd, const char *name, const char *s, long lo, long hi) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "modtx %s: %s must be an integer in [%ld, %ld], got '%s'\n", cmd, name, lo, hi, s);
        return -1;
    }
    return v;
}

void mtx_cli_command_line(char *cmd, size_t cap, int argc, char **argv) {
    snprintf(cmd, cap, "modtx");
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(cmd);
        snprintf(cmd + l, cap - l, " %s", argv[i]);
    }
}

mtx_status mtx_cli_encode_word(const mtx_vocab *sv, const char *word, int32_t *ids, int max, int *len) {
    *len = 0;
    mtx_status st = mtx_vocab_encode_chars(sv, word, ids, max, len);
    if (st) {
        /* words are usually typed in any case; the vocabulary may be lower case */
        char low[MTX_CLI_MAX_WORD + 1];
        size_t k = 0;
        for (; word[k] && k < MTX_CLI_MAX_WORD; k++) low[k] = (char)tolower((unsigned char)word[k]);
        low[k] = 0;
        if (!word[k] && strcmp(low, word) && !mtx_vocab_encode_chars(sv, low, ids, max, len)) st = MTX_OK;
        else mtx_vocab_encode_chars(sv, word, ids, max, len);
    }
    if (!st && *len == 0) st = mtx_set_error(MTX_ERR_DATA, "empty word");
    return st;
}
