/* modular/ (layer 2) - module banks (bank) and bank directories (bank_io:
 * modules plus a reference to the teacher); the bank training phase: its
 * config (modular_config), sampled and fixed assemblies (modular_sample), the
 * objective (modular_objective), the trainer (modular_train, state in
 * modular_state.h), modularize checkpoints (modular_io) and the whole run
 * (modular_run); assembly strategies (assemble) and weight averaging of
 * models and banks (average). */
/* modular.h - one training phase for a whole module bank: multi-grained
 * module replacing with a curriculum replacement rate (BERT-of-Theseus style,
 * p = min(1, slope * step + base)) and knowledge distillation from the frozen
 * teacher:
 *   loss = CE(gold) + alpha * tau^2 KL(teacher || hybrid)
 *        + beta  * sum over the assembly's modules of MSE(module output in the
 *                  hybrid, teacher hidden state at the same depth)
 *        + beta_att * sum over the assembly's modules of the mean over query
 *                  rows and heads of KL(teacher attention || module attention),
 *                  each attention (self; cross too in the decoder) against the
 *                  same one of the last teacher layer of the module's span
 *        + gamma * sum over every module of the bank of MSE(module applied to
 *                  the teacher state at its span start, teacher state at its
 *                  span end)   (the local term: every module learns every step;
 *                  with local_rate < 1, a seeded draw of modules per step)
 * With hidden_norm "relative" each MSE is divided by the mean square of the
 * teacher state it is compared with (the residual stream grows with depth).
 * Only module parameters are updated. */
#ifndef MTX_MODULAR_H
#define MTX_MODULAR_H

#include "modular/bank.h"
#include "train/train.h"

#define MTX_MAX_PARTS 8

typedef struct {
    int n_gran;
    int gran[MTX_MAX_GRAN];
    int init[MTX_MAX_GRAN]; /* per granularity, module init from its span: 0 first, 1 middle, 2 last teacher layer */
    float alpha_kd;        /* weight of the KL term */
    float beta_hidden;     /* weight of the hidden-state MSE term (modules inside the hybrid) */
    float beta_attention;  /* weight of the attention-distribution term (modules inside the hybrid) */
    float gamma_local;     /* weight of the local term (every module on teacher states) */
    float local_rate;      /* share of the modules drawn into the local term each step, (0, 1] (1: all) */
    float match_rate;      /* probability that a step's decoder tiling copies the encoder's (equal depths) */
    int parts;             /* assemblies_per_step: the batch is split into this many parts, each with its
                            * own assembly; part k of a step prefers the k-th granularity (rotated) */
    int hidden_relative;   /* hidden_norm: 0 "absolute" (plain MSE), 1 "relative" */
    float temperature;     /* KD temperature tau */
    float rate_slope;      /* replacement rate p = min(1, rate_slope * step + rate_base) */
    float rate_base;
    int slope_given;       /* rate_slope came from the file (else derived: p reaches 1 at 60% of max_steps) */
    float dropout;         /* dropout in the hybrid during training */
    char train_data[MTX_PATH_MAX]; /* "" (the teacher's training split) or a corpus file that replaces it;
                                    * dev and test stay the teacher's */
    mtx_train_config opt;  /* optimiser, schedule, batching, logging, seed, threads */
} mtx_modular_config;

mtx_modular_config mtx_modular_config_default(void);
/* Reads a modularize config file: the keys above plus a "training" object.
 * The data keys of "training" (data, train, dev, test) must keep their
 * defaults: a bank is scored on its teacher's dev and test splits, and
 * "train_data" is the one way to train it on other words. */
mtx_status mtx_modular_config_load(const char *path, mtx_modular_config *c);
char *mtx_modular_config_to_json(const mtx_modular_config *c);

typedef struct mtx_modular mtx_modular;

typedef struct {
    double ce, kd, hidden, local; /* summed per component over the step's target tokens / modules */
    double attention;             /* the attention term (sum over modules of mean KL), like hidden */
    int64_t tgt_tokens;
    double grad_norm, lr, rate;
    int enc_blocks, dec_blocks; /* sampled assembly size (of part 0) */
} mtx_modular_stats;

mtx_status mtx_modular_new(mtx_modular **out, const mtx_modular_config *c, const mtx_model *teacher,
                           const mtx_dataset *d);
void mtx_modular_free(mtx_modular *m);
mtx_status mtx_modular_step(mtx_modular *m, mtx_modular_stats *s);
/* Objective and module gradients (into the trainer's gradient buffer) of one
 * assembly on one batch, without an update: CE/n + alpha*KD/n + beta*hidden
 * + beta_attention*attention + gamma*local (n: target tokens). */
mtx_status mtx_modular_loss_grad(mtx_modular *m, const mtx_assembly *a, const mtx_batch *b,
                                 uint64_t step, double *loss, mtx_modular_stats *s);
/* The module gradient buffer (mirrors the bank's module parameters). */
const float *mtx_modular_grad(const mtx_modular *m);
/* Teacher-forced per-token NLL and accuracy of an assembly on data (dropout off). */
mtx_status mtx_modular_eval(mtx_modular *m, const mtx_assembly *a, const mtx_encoded *data,
                            double *nll, double *acc);
const mtx_bank *mtx_modular_bank(const mtx_modular *m);
int64_t mtx_modular_steps(const mtx_modular *m);
/* The assembly sampled for a step (a pure function of seed and step);
 * with assemblies_per_step > 1, the one of its part 0. */
void mtx_modular_sample(const mtx_modular_config *c, int Le, int Ld, int64_t step, mtx_assembly *a);
/* The assembly of part `part` (< assemblies_per_step) of a step. With more
 * than one part, where a module is drawn, part k takes granularity
 * gran[(k + r) mod n] of the stack when it starts at this position (r drawn
 * per step and stack), so once the replacement rate is 1 each step trains
 * every uniform tiling of both stacks, each on its share of the batch. */
void mtx_modular_sample_part(const mtx_modular_config *c, int Le, int Ld, int64_t step, int part, mtx_assembly *a);
/* Every layer replaced by the coarsest modules: the smallest assembly. */
void mtx_assembly_smallest(const mtx_bank *b, mtx_assembly *a);
void mtx_assembly_teacher(const mtx_bank *b, mtx_assembly *a);
/* Every stack that g divides made of modules m(g, .); the others of teacher layers. */
void mtx_assembly_uniform(const mtx_bank *b, int g, mtx_assembly *a);

/* Writes the run's state (bank_state.safetensors) and the bank to dir. The
 * bank names its teacher by provenance_json's "modtx"."teacher" (the
 * teacher directory the run was given); without one (NULL provenance) the
 * teacher's tensors go into the bank, as in banks of the older format. */
mtx_status mtx_modular_checkpoint(mtx_modular *m, const char *dir, const mtx_vocab *sv,
                                  const mtx_vocab *tv, const char *provenance_json);
mtx_status mtx_modular_restore(mtx_modular *m, const char *dir);

/* Bank directories (docs/formats.md): config.json (the teacher's model keys
 * and "modtx": {"kind": "bank", "granularities": [...], "teacher_model":
 * {"path": the teacher directory relative to the bank directory, "sha256":
 * hex SHA-256 of the teacher's model.safetensors}}), the vocabularies, and
 * model.safetensors with the module tensors only. teacher_dir (a path from
 * the working directory) must hold b's teacher bit for bit; NULL writes the
 * older format, the teacher's tensors beside the modules and no reference. */
mtx_status mtx_bank_save(const char *dir, const mtx_bank *b, const char *teacher_dir, const mtx_vocab *sv,
                         const mtx_vocab *tv, const char *extra_json, int64_t step);
typedef struct {
    mtx_bank bank;
    mtx_bundle teacher; /* the teacher's weights and vocabularies; the bank's config.json text */
    char *teacher_dir;  /* canonical path of the teacher the bank names; NULL: its tensors are in the bank */
} mtx_bank_dir;
/* Loads a bank: the teacher path is resolved from dir, the SHA-256 of its
 * model.safetensors must match, and the bank's architecture and
 * vocabularies must be the teacher's; a missing teacher or another hash is
 * a one-line error naming the bank and the teacher path. A bank of the older
 * format (no "teacher_model", the teacher's tensors inside) loads as well. */
mtx_status mtx_bank_load(const char *dir, mtx_bank_dir *out);
void mtx_bank_dir_free(mtx_bank_dir *b);

/* `modtx modularize`: the whole run with checkpoints and exact resume. */
/* threads > 0 overrides the config's training.threads. init_bank (not with
 * resume): a bank of the same teacher and granularities whose modules the
 * run starts from (fine-tuning: fresh optimiser and schedule). */
mtx_status mtx_modularize_run(const char *teacher_dir, const char *out_dir, const char *config_path,
                              int resume, const char *init_bank, int threads, const char *command_line,
                              mtx_progress_fn fn, void *ctx);

#endif
