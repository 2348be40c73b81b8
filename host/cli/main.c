/* main.c - the modtx command-line interface. Only this file prints and exits. */
#include "io/checkpoint.h"
#include "cli/cli.h"
#include "core/mtx.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "train", mtx_cmd_train, "train an encoder-decoder transformer" },
    { "eval", mtx_cmd_eval, "score a model on the dev or test split (PER, WER)" },
    { "predict", mtx_cmd_predict, "transcribe words given as arguments or on stdin" },
    { "info", mtx_cmd_info, "show a model's config, parameter count and provenance" },
    { "modularize", mtx_cmd_modularize, "train a bank of modularized layers from a teacher" },
    { "assemble", mtx_cmd_assemble, "write the assembly of a bank for a compression ratio" },
    { "sweep", mtx_cmd_sweep, "evaluate every reachable compression ratio of a bank" },
    { "average", mtx_cmd_average, "average the weights of models that share a starting point" },
    { "bench", mtx_cmd_bench, "measure training throughput against OpenBLAS peak" },
    { "export", mtx_cmd_export, "quantize a bank or model to int8: image.bin + one plan per ratio" },
    { "run", mtx_cmd_run, "transcribe or score words on an integer engine (--backend ref, ...)" },
};

static void usage(FILE *f) {
    fprintf(f, "usage: modtx COMMAND [OPTIONS]   (modtx COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "modtx: unknown command '%s' (modtx --help lists the commands)\n", argv[1]);
    return 2;
}
