/* export.c - `modtx export` (see export.h). */
#include "engine/export.h"
#include "core/fsutil.h"
#include "format/plan.h"
#include "io/checkpoint.h"
#include "modular/assemble.h"
#include "modular/modular.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_RULE "CMUdict groups (base words) in file order: index % 20 == 19 dev, 17 or 18 test, else train"

/* The source: a bank, or a plain model as a bank without modules. */
typedef struct {
    int is_bank;
    mtx_bank_dir bd;
    mtx_bundle plain;
    mtx_bank pb;
    const mtx_bank *b;
    const mtx_bundle *bundle;
} source;

static mtx_status source_load(source *s, const char *dir) {
    memset(s, 0, sizeof *s);
    char *kind = mtx_recorded_provenance(dir, "kind");
    s->is_bank = kind && !strcmp(kind, "bank");
    free(kind);
    mtx_status st;
    if (s->is_bank) {
        st = mtx_bank_load(dir, &s->bd);
        s->b = &s->bd.bank;
        s->bundle = &s->bd.teacher;
    } else {
        st = mtx_bundle_load(dir, &s->plain);
        s->pb.teacher = s->plain.model;
        s->b = &s->pb;
        s->bundle = &s->plain;
    }
    return st;
}

static void source_free(source *s) {
    if (s->is_bank) mtx_bank_dir_free(&s->bd);
    else mtx_bundle_free(&s->plain);
}

static void teacher_assembly(const mtx_model_config *c, mtx_assembly *a) {
    memset(a, 0, sizeof *a);
    for (int l = 0; l < c->num_layers; l++) a->enc.g[a->enc.n] = 1, a->enc.j[a->enc.n++] = (uint8_t)l;
    for (int l = 0; l < c->num_decoder_layers; l++) a->dec.g[a->dec.n] = 1, a->dec.j[a->dec.n++] = (uint8_t)l;
}

/* "ENC | DEC" into an assembly valid for the bank (the syntax of `modtx assemble --tiling`). */
static mtx_status parse_tiling(const mtx_bank *b, const char *s, mtx_assembly *a) {
    const char *bar = strchr(s, '|');
    if (!bar || strchr(bar + 1, '|'))
        return mtx_set_error(MTX_ERR_ARG, "--tiling must be \"ENCODER | DECODER\" (one '|'), got '%s'", s);
    char enc[512];
    size_t n = (size_t)(bar - s);
    if (n >= sizeof enc) return mtx_set_error(MTX_ERR_ARG, "--tiling: encoder tiling too long");
    memcpy(enc, s, n);
    enc[n] = 0;
    const mtx_model_config *c = &b->teacher.cfg;
    memset(a, 0, sizeof *a);
    mtx_status st = mtx_tiling_parse(enc, &a->enc);
    if (!st) st = mtx_tiling_validate(&a->enc, c->num_layers, b->gran, b->n_gran);
    if (st) return mtx_set_error(st, "--tiling: encoder: %s", mtx_last_error());
    st = mtx_tiling_parse(bar + 1, &a->dec);
    if (!st) st = mtx_tiling_validate(&a->dec, c->num_decoder_layers, b->gran, b->n_gran);
    if (st) return mtx_set_error(st, "--tiling: decoder: %s", mtx_last_error());
    return MTX_OK;
}

/* The sweep's tiling for a ratio from BANK/sweep/sweep.csv (teacher and
 * modular rows); 1 if found. */
static int sweep_tiling(const char *dir, const mtx_bank *b, double ratio, mtx_assembly *a) {
    char path[MTX_PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    if (mtx_path_join(path, sizeof path, dir, "sweep/sweep.csv") || !mtx_file_exists(path) ||
        mtx_read_file(path, 1 << 24, &text, &len)) {
        mtx_clear_error();
        return 0;
    }
    int found = 0;
    for (char *save = NULL, *line = strtok_r((char *)text, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[12];
        int nf = 0;
        for (char *p = line; nf < 12; nf++) {
            f[nf] = p;
            char *comma = strchr(p, ',');
            if (!comma) { nf++; break; }
            *comma = 0;
            p = comma + 1;
        }
        if (nf != 12 || (strcmp(f[0], "teacher") && strcmp(f[0], "modular"))) continue;
        if (fabs(atof(f[1]) - ratio) > 0.005) continue;
        char t[1100];
        snprintf(t, sizeof t, "%s | %s", f[10], f[11]);
        found = !parse_tiling(b, t, a) && fabs(mtx_assembly_ratio(b, a) - ratio) < 0.005;
    }
    mtx_clear_error();
    free(text);
    return found;
}

typedef struct {
    int n;
    mtx_assembly a[MTX_EXPORT_MAX_PLANS];
    char name[MTX_EXPORT_MAX_PLANS][64];
} plan_set;

static int same_assembly(const mtx_assembly *x, const mtx_assembly *y) {
    char a[1100], b[1100];
    mtx_tiling_format(&x->enc, a, 512);
    mtx_tiling_format(&y->enc, b, 512);
    if (strcmp(a, b)) return 0;
    mtx_tiling_format(&x->dec, a, 512);
    mtx_tiling_format(&y->dec, b, 512);
    return !strcmp(a, b);
}

/* Adds a under the name "%.2fx" (a suffix -2, -3... when that ratio is taken by another tiling). */
static mtx_status add_plan(plan_set *ps, const mtx_bank *b, const mtx_assembly *a) {
    const double ratio = b->n_gran ? mtx_assembly_ratio(b, a) : 1.0;
    int same_ratio = 0;
    for (int i = 0; i < ps->n; i++) {
        if (same_assembly(&ps->a[i], a)) return MTX_OK;
        char r[32];
        snprintf(r, sizeof r, "%.2fx", ratio);
        same_ratio += !strncmp(ps->name[i], r, strlen(r));
    }
    if (ps->n == MTX_EXPORT_MAX_PLANS) return mtx_set_error(MTX_ERR_ARG, "more than %d plans", MTX_EXPORT_MAX_PLANS);
    ps->a[ps->n] = *a;
    if (same_ratio) snprintf(ps->name[ps->n], 64, "%.2fx-%d.plan", ratio, same_ratio + 1);
    else snprintf(ps->name[ps->n], 64, "%.2fx.plan", ratio);
    ps->n++;
    return MTX_OK;
}

/* The assembly the sweep picks for a ratio: sweep.csv, else its search. */
static mtx_status ratio_assembly(const mtx_export_opts *o, const mtx_bank *b, const mtx_dataset *d, double ratio,
                                 mtx_scored_assembly **scored, int *nscored, mtx_assembly *a) {
    const mtx_model_config *c = &b->teacher.cfg;
    if (fabs(ratio - 1.0) < 0.005) {
        teacher_assembly(c, a);
        return MTX_OK;
    }
    if (sweep_tiling(o->model_dir, b, ratio, a)) return MTX_OK;
    mtx_len_stats lens = mtx_len_stats_of(&d->dev);
    const int dev_words = o->dev_words > 0 ? o->dev_words : 1000;
    mtx_status st = MTX_OK;
    if (!*scored) st = mtx_assembly_search_all(b, &d->dev, dev_words, &lens, scored, nscored);
    const int layers = (int)floor((c->num_layers + c->num_decoder_layers) / ratio + 0.5);
    if (!st) st = mtx_assembly_refine(b, *scored, *nscored, layers, &d->dev, dev_words, a);
    return st;
}

static mtx_status choose_plans(const mtx_export_opts *o, const source *s, const mtx_dataset *d, plan_set *ps) {
    const mtx_bank *b = s->b;
    ps->n = 0;
    mtx_assembly a;
    mtx_status st = MTX_OK;
    if (!s->is_bank) {
        if (o->plans && strcmp(o->plans, "all") && strcmp(o->plans, "1") && strcmp(o->plans, "1.00"))
            return mtx_set_error(MTX_ERR_ARG, "--plans: a plain model has only the 1.00x plan");
        teacher_assembly(&b->teacher.cfg, &a);
        st = add_plan(ps, b, &a);
    } else if (!o->plans || strcmp(o->plans, "none")) {
        double ratios[2 * MTX_MAX_LAYERS], want[MTX_EXPORT_MAX_PLANS];
        int nr = mtx_reachable_ratios(b, ratios, 2 * MTX_MAX_LAYERS), nw = 0;
        if (!o->plans || !strcmp(o->plans, "all")) {
            for (int i = 0; i < nr && nw < MTX_EXPORT_MAX_PLANS; i++) want[nw++] = ratios[i];
        } else {
            char list[1024];
            snprintf(list, sizeof list, "%s", o->plans);
            for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
                char *end = NULL, txt[512];
                double r = strtod(tok, &end);
                int k = 0;
                while (k < nr && !(end != tok && !*end && fabs(ratios[k] - r) <= 0.01 * r)) k++;
                mtx_reachable_ratios_text(b, txt, sizeof txt);
                if (k == nr) st = mtx_set_error(MTX_ERR_ARG, "--plans: '%s' is not a reachable ratio (%s)", tok, txt);
                else if (nw < MTX_EXPORT_MAX_PLANS) want[nw++] = ratios[k];
            }
        }
        mtx_scored_assembly *scored = NULL;
        int nscored = 0;
        for (int i = 0; !st && i < nw; i++) {
            st = ratio_assembly(o, b, d, want[i], &scored, &nscored, &a);
            if (!st) st = add_plan(ps, b, &a);
        }
        free(scored);
    }
    for (int i = 0; !st && i < o->n_tilings; i++) {
        st = s->is_bank ? parse_tiling(b, o->tilings[i], &a)
                        : mtx_set_error(MTX_ERR_ARG, "--tiling needs a module bank");
        if (!st) st = add_plan(ps, b, &a);
    }
    if (!st && ps->n == 0) st = mtx_set_error(MTX_ERR_ARG, "no plan to export (--plans none and no --tiling)");
    return st;
}

/* ------------------------------------------------------------ files */

static mtx_status write_in(const char *dir, const char *name, const void *data, size_t len) {
    char path[MTX_PATH_MAX];
    mtx_status st = mtx_path_join(path, sizeof path, dir, name);
    return st ? st : mtx_write_file_atomic(path, data, len);
}

static mtx_status write_manifest(const char *dir, const mtx_manifest *m) {
    cJSON *root = cJSON_CreateObject(), *data = cJSON_CreateObject(), *plans = cJSON_CreateArray();
    cJSON_AddNumberToObject(root, "format_version", m->format_version);
    cJSON_AddStringToObject(root, "source_model", m->source);
    cJSON_AddStringToObject(data, "data", m->data.data);
    cJSON_AddStringToObject(data, "train", m->data.train);
    cJSON_AddStringToObject(data, "dev", m->data.dev);
    cJSON_AddStringToObject(data, "test", m->data.test);
    cJSON_AddStringToObject(data, "split_rule", m->data.train[0] ? "explicit files" : SPLIT_RULE);
    cJSON_AddItemToObject(root, "data", data);
    cJSON_AddNumberToObject(root, "cost_src_len", m->cost_src_len);
    cJSON_AddNumberToObject(root, "cost_tgt_steps", m->cost_tgt_steps);
    for (int i = 0; i < m->n_plans; i++) {
        const mtx_export_plan *p = &m->plans[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", p->file);
        cJSON_AddNumberToObject(o, "ratio", round(p->ratio * 10000) / 10000);
        cJSON_AddStringToObject(o, "tiling", p->tiling);
        cJSON_AddNumberToObject(o, "macs_per_word", (double)p->macs);
        cJSON_AddNumberToObject(o, "weight_bytes_per_word", (double)p->weight_bytes);
        cJSON_AddItemToArray(plans, o);
    }
    cJSON_AddItemToObject(root, "plans", plans);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for manifest.json");
    size_t n = strlen(text);
    char *withnl = malloc(n + 2);
    mtx_status st = withnl ? MTX_OK : mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) {
        memcpy(withnl, text, n);
        withnl[n] = '\n';
        st = write_in(dir, "manifest.json", withnl, n + 1);
    }
    free(withnl);
    cJSON_free(text);
    return st;
}

/* Serialises every plan over the image and fills the manifest entries. */
static mtx_status write_plans(const char *dir, const source *s, const plan_set *ps, const mtx_image *im,
                              mtx_manifest *m) {
    mtx_status st = MTX_OK;
    for (int i = 0; !st && i < ps->n; i++) {
        const mtx_assembly *a = &ps->a[i];
        uint32_t enc[MTX_MAX_STACK_LAYERS], dec[MTX_MAX_STACK_LAYERS];
        if (a->enc.n > MTX_MAX_STACK_LAYERS || a->dec.n > MTX_MAX_STACK_LAYERS)
            return mtx_set_error(MTX_ERR_ARG, "assembly deeper than %d layers per stack", MTX_MAX_STACK_LAYERS);
        for (int l = 0; l < a->enc.n; l++) enc[l] = MTX_ORIGIN(a->enc.g[l], a->enc.j[l]);
        for (int l = 0; l < a->dec.n; l++) dec[l] = MTX_ORIGIN(a->dec.g[l], a->dec.j[l]);
        const double ratio = s->is_bank ? mtx_assembly_ratio(s->b, a) : 1.0;
        mtx_plan p;
        uint8_t *bytes = NULL;
        uint64_t len = 0;
        st = mtx_plan_from_origins(&p, im, enc, a->enc.n, dec, a->dec.n, (uint32_t)lround(ratio * 100));
        if (!st) st = mtx_plan_encode(&p, &bytes, &len);
        if (!st) st = write_in(dir, ps->name[i], bytes, (size_t)len);
        free(bytes);
        if (st) break;
        mtx_export_plan *e = &m->plans[m->n_plans++];
        snprintf(e->file, sizeof e->file, "%s", ps->name[i]);
        e->ratio = ratio;
        mtx_plan_tiling(&p, e->tiling, sizeof e->tiling);
        mtx_plan_cost(&p, im, m->cost_src_len, m->cost_tgt_steps, &e->macs, &e->weight_bytes);
    }
    return st;
}

mtx_status mtx_export(const mtx_export_opts *o, mtx_export_report *r) {
    memset(r, 0, sizeof *r);
    const double t0 = mtx_now_s();
    source s;
    mtx_dataset d;
    memset(&d, 0, sizeof d);
    mtx_status st = source_load(&s, o->model_dir);
    mtx_manifest *m = &r->m;
    m->format_version = MTX_MANIFEST_VERSION;
    char *abs = NULL;
    if (!st) st = mtx_path_absolute(o->model_dir, &abs);
    if (!st) snprintf(m->source, sizeof m->source, "%s", abs);
    free(abs);
    if (!st) st = mtx_bundle_train_config(s.bundle, o->model_dir, &m->data);
    if (!st) st = mtx_dataset_load(&d, &m->data, &s.b->teacher.cfg, o->model_dir);
    plan_set *ps = calloc(1, sizeof *ps);
    if (!st && !ps) st = mtx_set_error(MTX_ERR_NOMEM, "out of memory");
    if (!st) st = choose_plans(o, &s, &d, ps);
    mtx_quant q;
    memset(&q, 0, sizeof q);
    mtx_quant_opts qo = mtx_quant_default_opts();
    if (o->calib_words > 0) qo.calib_words = o->calib_words;
    if (!st) st = mtx_quantize(&q, s.b, ps->a, ps->n, &d.train, &qo);
    uint8_t *img = NULL;
    uint64_t img_bytes = 0;
    mtx_image im;
    if (!st) st = mtx_quant_image(&q, &img, &img_bytes);
    if (!st) st = mtx_image_parse(&im, img, img_bytes, "image.bin");
    if (!st) {
        mtx_len_stats lens = mtx_len_stats_of(&d.dev);
        m->cost_src_len = (int)lround(lens.src_len);
        m->cost_tgt_steps = (int)lround(lens.tgt_len) + 1; /* the step that emits </s> */
    }
    if (!st) st = mtx_mkdir_p(o->out_dir);
    if (!st) st = write_in(o->out_dir, "image.bin", img, (size_t)img_bytes);
    if (!st) st = write_plans(o->out_dir, &s, ps, &im, m);
    char path[MTX_PATH_MAX];
    if (!st) st = mtx_path_join(path, sizeof path, o->out_dir, "source_vocab.txt");
    if (!st) st = mtx_vocab_save(&s.bundle->src_vocab, path);
    if (!st) st = mtx_path_join(path, sizeof path, o->out_dir, "target_vocab.txt");
    if (!st) st = mtx_vocab_save(&s.bundle->tgt_vocab, path);
    if (!st) st = write_manifest(o->out_dir, m);
    r->image_bytes = img_bytes;
    r->res_frac = q.dims.res_frac;
    r->calib_words = q.calib_words;
    r->calib_assemblies = q.calib_assemblies;
    r->seconds = mtx_now_s() - t0;
    free(img);
    mtx_quant_free(&q);
    free(ps);
    mtx_dataset_free(&d);
    source_free(&s);
    return st;
}

/* ------------------------------------------------------------ manifest */

static mtx_status get_str(const cJSON *o, const char *key, char *dst, size_t cap, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return mtx_set_error(MTX_ERR_FORMAT, "%s: \"%s\" missing or not a string", path, key);
    snprintf(dst, cap, "%s", v->valuestring);
    return MTX_OK;
}

static mtx_status get_num(const cJSON *o, const char *key, double lo, double hi, double *dst, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return mtx_set_error(MTX_ERR_FORMAT, "%s: \"%s\" missing or out of range", path, key);
    *dst = v->valuedouble;
    return MTX_OK;
}

mtx_status mtx_manifest_load(const char *dir, mtx_manifest *m) {
    memset(m, 0, sizeof *m);
    char path[MTX_PATH_MAX];
    uint8_t *text = NULL;
    size_t len = 0;
    mtx_status st = mtx_path_join(path, sizeof path, dir, "manifest.json");
    if (!st) st = mtx_read_file(path, 1 << 20, &text, &len);
    if (st) return st;
    cJSON *root = cJSON_Parse((const char *)text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mtx_set_error(MTX_ERR_FORMAT, "%s: not a JSON object", path);
    }
    double v = 0;
    m->data = mtx_train_config_default();
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *plans = cJSON_GetObjectItemCaseSensitive(root, "plans");
    st = get_num(root, "format_version", 1, 1e9, &v, path);
    if (!st && (int)v != MTX_MANIFEST_VERSION)
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: format_version %d (this modtx reads %d)", path, (int)v, MTX_MANIFEST_VERSION);
    m->format_version = (int)v;
    if (!st) st = get_str(root, "source_model", m->source, sizeof m->source, path);
    if (!st && !cJSON_IsObject(data)) st = mtx_set_error(MTX_ERR_FORMAT, "%s: \"data\" missing", path);
    if (!st) st = get_str(data, "data", m->data.data, sizeof m->data.data, path);
    if (!st) st = get_str(data, "train", m->data.train, sizeof m->data.train, path);
    if (!st) st = get_str(data, "dev", m->data.dev, sizeof m->data.dev, path);
    if (!st) st = get_str(data, "test", m->data.test, sizeof m->data.test, path);
    if (!st) st = get_num(root, "cost_src_len", 0, MTX_MAX_POS, &v, path);
    m->cost_src_len = (int)v;
    if (!st) st = get_num(root, "cost_tgt_steps", 0, MTX_MAX_POS, &v, path);
    m->cost_tgt_steps = (int)v;
    if (!st && (!cJSON_IsArray(plans) || cJSON_GetArraySize(plans) > MTX_EXPORT_MAX_PLANS))
        st = mtx_set_error(MTX_ERR_FORMAT, "%s: \"plans\" missing or longer than %d", path, MTX_EXPORT_MAX_PLANS);
    for (int i = 0; !st && i < cJSON_GetArraySize(plans); i++) {
        const cJSON *p = cJSON_GetArrayItem(plans, i);
        mtx_export_plan *e = &m->plans[m->n_plans++];
        st = get_str(p, "file", e->file, sizeof e->file, path);
        if (!st && (strchr(e->file, '/') || e->file[0] == '.'))
            st = mtx_set_error(MTX_ERR_FORMAT, "%s: plan file '%s' is not a plain name", path, e->file);
        if (!st) st = get_num(p, "ratio", 0.01, 1000, &e->ratio, path);
        if (!st) st = get_str(p, "tiling", e->tiling, sizeof e->tiling, path);
        if (!st) st = get_num(p, "macs_per_word", 0, 1e18, &v, path);
        e->macs = (uint64_t)v;
        if (!st) st = get_num(p, "weight_bytes_per_word", 0, 1e18, &v, path);
        e->weight_bytes = (uint64_t)v;
    }
    cJSON_Delete(root);
    return st;
}
