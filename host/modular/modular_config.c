/* modular_config.c - the modularize config file: defaults, parsing and
 * its JSON form (see modular.h). */
#include "modular/modular.h"
#include "core/fsutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

mtx_modular_config mtx_modular_config_default(void) {
    mtx_modular_config c;
    memset(&c, 0, sizeof c);
    c.n_gran = 3;
    c.gran[0] = 2;
    c.gran[1] = 3;
    c.gran[2] = 6;
    c.alpha_kd = 1.0f;
    c.beta_hidden = 0.1f;
    c.gamma_local = 0.0f;
    c.local_rate = 1.0f;
    c.match_rate = 0.0f;
    c.parts = 1;
    c.hidden_relative = 0;
    c.temperature = 2.0f;
    c.rate_slope = 0.0f; /* set from max_steps when not given: reach 1 at 60% */
    c.rate_base = 0.3f;
    c.dropout = 0.1f;
    c.opt = mtx_train_config_default();
    c.opt.max_steps = 600;
    c.opt.warmup_steps = 50;
    c.opt.lr = 5e-4f;
    c.opt.checkpoint_every = 100;
    c.opt.log_every = 10;
    c.opt.eval_every = 200;
    c.opt.label_smoothing = 0.1f;
    return c;
}

static int init_code(const cJSON *v) {
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    return !strcmp(s, "first") ? 0 : !strcmp(s, "middle") ? 1 : !strcmp(s, "last") ? 2 : -1;
}

static mtx_status parse_init(const char *path, const cJSON *it, mtx_modular_config *c) {
    if (cJSON_IsArray(it)) {
        if (cJSON_GetArraySize(it) != c->n_gran)
            return mtx_set_error(MTX_ERR_FORMAT, "%s: init has %d entries for %d granularities", path,
                                 cJSON_GetArraySize(it), c->n_gran);
        for (int i = 0; i < c->n_gran; i++)
            if ((c->init[i] = init_code(cJSON_GetArrayItem(it, i))) < 0)
                return mtx_set_error(MTX_ERR_FORMAT, "%s: init entries must be \"first\", \"middle\" or \"last\"", path);
        return MTX_OK;
    }
    int v = init_code(it);
    if (v < 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: init must be \"first\", \"middle\", \"last\" or an array of those, one per granularity", path);
    for (int i = 0; i < MTX_MAX_GRAN; i++) c->init[i] = v;
    return MTX_OK;
}

mtx_status mtx_modular_config_load(const char *path, mtx_modular_config *c) {
    *c = mtx_modular_config_default();
    uint8_t *buf = NULL;
    size_t len = 0;
    mtx_status st = mtx_read_file(path, 1 << 20, &buf, &len);
    if (st) return st;
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mtx_set_error(MTX_ERR_FORMAT, "%s: not a JSON object", path);
    }
    int slope_given = 0;
    const cJSON *init_item = NULL;
    for (const cJSON *it = root->child; it && !st; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "training")) {
            st = mtx_train_config_from_object(path, it, &c->opt);
            const mtx_train_config def = mtx_train_config_default();
            if (!st && (strcmp(c->opt.data, def.data) || c->opt.train[0] || c->opt.dev[0] || c->opt.test[0]))
                st = mtx_set_error(MTX_ERR_FORMAT,
                                   "%s: training.data/train/dev/test are the teacher's (its dev and test score the bank); "
                                   "set \"train_data\" to train on another corpus", path);
        } else if (!strcmp(k, "train_data")) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= MTX_PATH_MAX)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: train_data must be a non-empty path shorter than %d bytes", path,
                                   MTX_PATH_MAX);
            else strcpy(c->train_data, it->valuestring);
        } else if (!strcmp(k, "granularities")) {
            int n = cJSON_GetArraySize(it);
            if (!cJSON_IsArray(it) || n < 1 || n > MTX_MAX_GRAN) {
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: granularities must be an array of 1 to %d integers", path, MTX_MAX_GRAN);
                break;
            }
            c->n_gran = n;
            for (int i = 0; i < n; i++) {
                const cJSON *g = cJSON_GetArrayItem(it, i);
                if (!cJSON_IsNumber(g) || g->valuedouble != floor(g->valuedouble) || g->valuedouble < 2 || g->valuedouble > MTX_MAX_LAYERS) {
                    st = mtx_set_error(MTX_ERR_FORMAT, "%s: granularity must be an integer in [2, %d]", path, MTX_MAX_LAYERS);
                    break;
                }
                c->gran[i] = (int)g->valuedouble;
            }
        } else if (!strcmp(k, "init")) {
            init_item = it;
        } else if (!strcmp(k, "assemblies_per_step")) {
            if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 1 ||
                it->valuedouble > MTX_MAX_PARTS)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: assemblies_per_step must be an integer in [1, %d]", path,
                                   MTX_MAX_PARTS);
            else c->parts = (int)it->valuedouble;
        } else if (!strcmp(k, "hidden_norm")) {
            const char *v = cJSON_IsString(it) ? it->valuestring : "";
            c->hidden_relative = !strcmp(v, "absolute") ? 0 : !strcmp(v, "relative") ? 1 : -1;
            if (c->hidden_relative < 0) st = mtx_set_error(MTX_ERR_FORMAT, "%s: hidden_norm must be \"absolute\" or \"relative\"", path);
        } else {
            float *f = !strcmp(k, "alpha_kd") ? &c->alpha_kd : !strcmp(k, "beta_hidden") ? &c->beta_hidden
                     : !strcmp(k, "beta_attention") ? &c->beta_attention
                     : !strcmp(k, "gamma_local") ? &c->gamma_local : !strcmp(k, "local_rate") ? &c->local_rate
                     : !strcmp(k, "match_rate") ? &c->match_rate
                     : !strcmp(k, "temperature") ? &c->temperature : !strcmp(k, "replace_rate_slope") ? &c->rate_slope
                     : !strcmp(k, "replace_rate_base") ? &c->rate_base : !strcmp(k, "dropout_rate") ? &c->dropout : NULL;
            if (!f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: unknown key '%s'", path, k);
            else if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 || it->valuedouble > 100)
                st = mtx_set_error(MTX_ERR_FORMAT, "%s: %s must be a number in [0, 100]", path, k);
            else *f = (float)it->valuedouble;
            if (f == &c->rate_slope) slope_given = 1;
        }
    }
    /* init after granularities (key order is free): one word for all, or one per granularity */
    if (!st && init_item) st = parse_init(path, init_item, c);
    cJSON_Delete(root);
    if (!st) st = mtx_train_config_validate(&c->opt);
    if (!st && !(c->temperature > 0)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: temperature must be > 0", path);
    if (!st && !(c->dropout < 1)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: dropout_rate must be < 1", path);
    if (!st && !(c->local_rate > 0 && c->local_rate <= 1))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: local_rate must be in (0, 1]", path);
    if (!st && c->match_rate > 1.0f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: match_rate must be in [0, 1]", path);
    if (!st && c->rate_base > 1.0f) st = mtx_set_error(MTX_ERR_FORMAT, "%s: replace_rate_base must be in [0, 1]", path);
    c->slope_given = slope_given;
    if (!st && !slope_given) c->rate_slope = (1.0f - c->rate_base) / (0.6f * (float)c->opt.max_steps);
    return st;
}

char *mtx_modular_config_to_json(const mtx_modular_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON *g = cJSON_AddArrayToObject(o, "granularities");
    for (int i = 0; i < c->n_gran; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(c->gran[i]));
    static const char *inits[] = { "first", "middle", "last" };
    cJSON *in = cJSON_AddArrayToObject(o, "init");
    for (int i = 0; i < c->n_gran; i++) cJSON_AddItemToArray(in, cJSON_CreateString(inits[c->init[i]]));
    cJSON_AddNumberToObject(o, "alpha_kd", c->alpha_kd);
    cJSON_AddNumberToObject(o, "beta_hidden", c->beta_hidden);
    if (c->beta_attention > 0) cJSON_AddNumberToObject(o, "beta_attention", c->beta_attention);
    cJSON_AddNumberToObject(o, "gamma_local", c->gamma_local);
    cJSON_AddNumberToObject(o, "local_rate", c->local_rate);
    cJSON_AddNumberToObject(o, "match_rate", c->match_rate);
    cJSON_AddNumberToObject(o, "assemblies_per_step", c->parts);
    cJSON_AddStringToObject(o, "hidden_norm", c->hidden_relative ? "relative" : "absolute");
    cJSON_AddNumberToObject(o, "temperature", c->temperature);
    cJSON_AddNumberToObject(o, "replace_rate_slope", c->rate_slope);
    cJSON_AddNumberToObject(o, "replace_rate_base", c->rate_base);
    cJSON_AddNumberToObject(o, "dropout_rate", c->dropout);
    if (c->train_data[0]) cJSON_AddStringToObject(o, "train_data", c->train_data);
    char *t = mtx_train_config_to_json(&c->opt);
    cJSON_AddItemToObject(o, "training", cJSON_Parse(t ? t : "{}"));
    cJSON_free(t);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
