/* config.h - model and training configuration, read from and written to JSON.
 *
 * Model keys follow Hugging Face T5 naming (d_model, num_heads, d_ff,
 * num_layers, num_decoder_layers, ...). A training config file holds the model
 * keys at top level plus a "training" object; a model directory's config.json
 * holds the model keys (with vocabulary sizes filled in from the data). */
#ifndef MTX_CONFIG_H
#define MTX_CONFIG_H

#include "core/mtx.h"

/* config.json's "format_version" (docs/formats.md): written by
 * mtx_model_config_save, checked by mtx_model_config_load (absent: a file
 * written before the field, version 1). */
#define MTX_CONFIG_FORMAT_VERSION 1

#define MTX_MAX_POSITIONS 1024
#define MTX_PATH_MAX 1024
/* training.data when a config names no data (Debian package pocketsphinx-en-us) */
#define MTX_DEFAULT_DATA "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

typedef struct {
    int d_model;              /* C */
    int num_heads;            /* H; d_model % num_heads == 0 */
    int d_ff;                 /* F */
    int num_layers;           /* encoder layers */
    int num_decoder_layers;   /* decoder layers */
    int src_vocab_size;       /* Vs (0 in a training config: taken from the data) */
    int tgt_vocab_size;       /* Vt */
    int max_source_positions; /* learned absolute positions, source side */
    int max_target_positions; /* target side, counting <s> / </s> */
    float layer_norm_epsilon; /* RMSNorm epsilon */
    float dropout_rate;
} mtx_model_config;

typedef struct {
    uint64_t seed;
    int max_steps;
    int warmup_steps;
    float lr;             /* peak learning rate */
    float min_lr_ratio;   /* cosine decay floor, as a fraction of lr */
    float weight_decay;   /* AdamW decoupled decay on matrices (not norms) */
    float beta1, beta2, adam_eps;
    float grad_clip;      /* global gradient-norm clip; 0 disables */
    float label_smoothing;
    int batch_tokens;     /* padded tokens per batch (max over source/target side) */
    int checkpoint_every; /* steps between checkpoints */
    int log_every;        /* steps between progress/metrics lines */
    int eval_every;       /* steps between dev-loss evaluations; 0 disables */
    int threads;          /* OpenBLAS threads */
    char data[MTX_PATH_MAX];  /* CMUdict-format file split by the index rule */
    char train[MTX_PATH_MAX]; /* explicit split files; when set they replace data */
    char dev[MTX_PATH_MAX];
    char test[MTX_PATH_MAX];
} mtx_train_config;

mtx_model_config mtx_model_config_default(void);
mtx_train_config mtx_train_config_default(void);

/* Checks ranges and consistency; vocab sizes may be 0 when allow_no_vocab. */
mtx_status mtx_model_config_validate(const mtx_model_config *m, int allow_no_vocab);
mtx_status mtx_train_config_validate(const mtx_train_config *t);

/* 1 if a and b describe the same network: every model key except
 * dropout_rate (a training-time setting) is equal. Otherwise 0, and why (if
 * non-NULL) receives the first differing key in config order with both
 * values, e.g. "d_model 32 vs 16" (a's value first). */
int mtx_model_config_same_arch(const mtx_model_config *a, const mtx_model_config *b, char *why,
                               size_t cap);

/* Reads a training config file (model keys + "training" object); keys not given keep defaults,
 * unknown keys are an error (a typo must not silently train the wrong model). */
mtx_status mtx_config_load_training(const char *path, mtx_model_config *m, mtx_train_config *t);

/* Reads/writes a model directory's config.json. extra_json, if non-NULL, is a
 * JSON object whose members are appended (provenance, tiling, ...). */
mtx_status mtx_model_config_load(const char *path, mtx_model_config *m);
mtx_status mtx_model_config_save(const char *path, const mtx_model_config *m,
                                 const char *extra_json);

/* Overrides fields of t from a parsed cJSON object (the "training" object of
 * another config file); unknown keys are an error naming path. */
mtx_status mtx_train_config_from_object(const char *path, const void *obj, mtx_train_config *t);

/* Serialises the training config as a JSON object (caller frees). */
char *mtx_train_config_to_json(const mtx_train_config *t);

#endif
