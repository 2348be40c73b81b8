/* average.h - weight averaging of model directories ("model soups").
 *
 * Averaging the weights of runs that share a starting point (fine-tuning
 * restarts of one teacher with different seeds, or checkpoints along one
 * run's tail) gives one model of the same shape and cost that is usually
 * better than each run alone. See docs/RESULTS.md for the measurement. */
#ifndef MTX_AVERAGE_H
#define MTX_AVERAGE_H

#include "core/mtx.h"

/* Averages the parameters of the n model directories dirs[0..n) (2 <= n <=
 * MTX_AVERAGE_MAX) element by element (accumulated in double) and writes a
 * model directory to out. Every input must have the architecture of dirs[0]
 * and the same source and target vocabularies. When dirs[0] is a module bank
 * every input must be a bank of the same teacher (bit for bit) and
 * granularities: the modules are averaged and the result is a bank. The
 * result's config.json keeps dirs[0]'s data provenance, with the input list
 * ("averaged_from") and command_line; a plain model gets kind "average". */
#define MTX_AVERAGE_MAX 64
mtx_status mtx_average_models(const char *const *dirs, int n, const char *out, const char *command_line);

#endif
