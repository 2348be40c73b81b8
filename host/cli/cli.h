/* cli/ (layer 3) - the modtx command line: main.c dispatches to the
 * subcommands in cli_*.c. Not part of libmodtx. */
/* cli.h - subcommands of the modtx CLI and their small option parser.
 * Each command returns the process exit status: 0 success, 1 failure, 2 usage. */
#ifndef MTX_CLI_H
#define MTX_CLI_H

#include "train/train.h"

#include <stdio.h>

int mtx_cmd_train(int argc, char **argv);
int mtx_cmd_eval(int argc, char **argv);
int mtx_cmd_predict(int argc, char **argv);
int mtx_cmd_info(int argc, char **argv);
int mtx_cmd_bench(int argc, char **argv);
int mtx_cmd_modularize(int argc, char **argv);
int mtx_cmd_assemble(int argc, char **argv);
int mtx_cmd_sweep(int argc, char **argv);
int mtx_cmd_average(int argc, char **argv);
int mtx_cmd_export(int argc, char **argv);
int mtx_cmd_run(int argc, char **argv);

/* Prints training progress to stderr; ctx points to an int: stderr is a TTY. */
void mtx_cli_progress(const mtx_train_progress *p, void *ctx);

/* Option table: value options take the next argument; flags set *flag = 1. */
typedef struct {
    const char *name;  /* "--out" */
    const char **value; /* for options with a value, else NULL */
    int *flag;          /* for flags, else NULL */
} mtx_opt;

/* Parses argv[1..]; positional arguments are collected into pos (up to max_pos).
 * Returns 0 on success, 1 on --help (help printed to stdout), 2 on a usage
 * error (message printed to stderr). */
int mtx_parse_opts(int argc, char **argv, const mtx_opt *opts, int n_opts, const char *help,
                   char **pos, int max_pos, int *n_pos);

/* "modtx " followed by argv[0..argc) joined by spaces (truncated to cap):
 * the command line recorded in a model's provenance. */
void mtx_cli_command_line(char *cmd, size_t cap, int argc, char **argv);

/* Prints "modtx CMD: <last error>" to stderr and returns 1. */
int mtx_fail(const char *cmd);

/* Parses a positive integer option; prints a usage error and returns -1 if invalid. */
long mtx_opt_int(const char *cmd, const char *name, const char *s, long lo, long hi);

/* A word typed by a user into source ids (predict, run): as given, else
 * lower-cased; the unknown-character or too-long error is the as-given one. */
#define MTX_CLI_MAX_WORD 256
mtx_status mtx_cli_encode_word(const mtx_vocab *sv, const char *word, int32_t *ids, int max, int *len);

#endif
