/* io/ (layer 1) - files on disk: the safetensors reader and writer
 * (safetensors) and model directories of config, weights and vocabularies
 * (checkpoint). */
/* checkpoint.h - model directories: config.json + model.safetensors + vocabularies.
 *
 * A model directory holds config.json (Hugging Face-style keys plus a "modtx"
 * provenance object), model.safetensors (Hugging Face T5-style tensor names),
 * source_vocab.txt and target_vocab.txt. Loading validates everything and
 * fails with a one-line error; nothing is trusted. */
#ifndef MTX_CHECKPOINT_H
#define MTX_CHECKPOINT_H

#include "model/model.h"
#include "io/safetensors.h"
#include "data/vocab.h"

typedef struct {
    mtx_model model;
    mtx_vocab src_vocab, tgt_vocab;
    char *config_json; /* the raw config.json text (provenance lives here) */
} mtx_bundle;

/* Writes a model directory (created if missing). extra_json: members appended
 * to config.json (provenance); store_as: MTX_DT_F32, F16 or BF16; meta: NULL or
 * key, value, ..., NULL pairs for the safetensors metadata. Each file is
 * written atomically. */
mtx_status mtx_bundle_save(const char *dir, const mtx_model *m, const mtx_vocab *sv,
                           const mtx_vocab *tv, const char *extra_json, mtx_dtype store_as,
                           const char *const *meta);

/* Writes the text files of a model directory (vocabularies, config.json);
 * mtx_bundle_save and bank saving both end with it. */
mtx_status mtx_bundle_save_text(const char *dir, const mtx_model_config *cfg, const mtx_vocab *sv,
                                const mtx_vocab *tv, const char *extra_json);

/* Loads a model directory. Tensors named "modules.*" (a module bank of the
 * older format, teacher inside) are allowed and ignored here; any other
 * unknown tensor is an error. A bank that names its teacher (config.json
 * "modtx"."teacher_model") is refused with a one-line error: it holds no
 * model by itself (mtx_bank_load in modular/ loads it). */
mtx_status mtx_bundle_load(const char *dir, mtx_bundle *b);
void mtx_bundle_free(mtx_bundle *b);

/* The data paths of the run that trained a model (config.json provenance
 * "modtx"."training"), on top of the default training config. */
mtx_status mtx_bundle_train_config(const mtx_bundle *b, const char *dir, mtx_train_config *t);

/* The string "modtx".key of dir/config.json (a malloc'd copy), or NULL when
 * the file, the key or memory is missing; never sets an error. A resumed run
 * uses it to keep recording what the run was started from. */
char *mtx_recorded_provenance(const char *dir, const char *key);

/* Loads the model tensors of an open safetensors file into m (shapes from m->cfg). */
mtx_status mtx_model_read_tensors(mtx_model *m, const mtx_st_file *f, const char *path);

/* Adds all model tensors of w (views over a layout of cfg) to a writer, with an
 * optional name prefix (e.g. "optimizer.m."). */
mtx_status mtx_weights_add_to_writer(mtx_st_writer *wr, const mtx_weights *w,
                                     const mtx_model_config *cfg, const char *prefix,
                                     mtx_dtype store_as);
#endif
