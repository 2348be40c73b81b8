/* test_cli_modular.c - `modtx modularize`, `assemble`, `sweep` and `average`
 * of banks end to end with the real binary (see cli_util.h): a tiny 2 + 2
 * teacher trained on the fixtures, a bank of it, resume and --init rules,
 * train_data, and the shipped teacher and bank scored on the real CMUdict
 * test split (most of this suite's time). */
#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "model/config.h"
#include "core/fsutil.h"
#include "modular/modular.h"

static void test_modular_pipeline(void) {
    CU_ASSERT_FATAL(bin_ok() && fixtures_ok());
    char teacher[MTX_PATH_MAX], bank[MTX_PATH_MAX], asm2[MTX_PATH_MAX], mcfg[MTX_PATH_MAX], tcfg[MTX_PATH_MAX];
    char sweep_dir[MTX_PATH_MAX], csv[MTX_PATH_MAX + 16], svg[MTX_PATH_MAX + 16];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0));
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    snprintf(asm2, sizeof asm2, "%s", tmp_path("masm2", 0));
    snprintf(sweep_dir, sizeof sweep_dir, "%s", tmp_path("msweep", 0));
    snprintf(tcfg, sizeof tcfg, "%s", tmp_path("mteacher.json", 0));
    snprintf(mcfg, sizeof mcfg, "%s", tmp_path("mbank.json", 0));
    char text[4 * PATH_MAX + 1024];
    int n = snprintf(text, sizeof text,
                     "{\"d_model\": 16, \"num_heads\": 2, \"d_ff\": 32, \"num_layers\": 2, \"num_decoder_layers\": 2,\n"
                     " \"training\": {\"train\": \"%s\", \"dev\": \"%s\", \"test\": \"%s\", \"max_steps\": 30,\n"
                     " \"warmup_steps\": 5, \"lr\": 0.003, \"batch_tokens\": 256, \"checkpoint_every\": 30,\n"
                     " \"log_every\": 10, \"eval_every\": 30, \"threads\": 1}}\n", g_train, g_dev, g_test);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tcfg, text, (size_t)n), MTX_OK);
    n = snprintf(text, sizeof text,
                 "{\"granularities\": [2], \"training\": {\"max_steps\": 20, \"warmup_steps\": 2,\n"
                 " \"batch_tokens\": 256, \"checkpoint_every\": 10, \"log_every\": 5, \"eval_every\": 10, \"threads\": 1}}\n");
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(mcfg, text, (size_t)n), MTX_OK);
    run_result r = RUN("train", "--config", tcfg, "--out", teacher);
    if (r.status != 0) show("train 2+2 teacher", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg);
    if (r.status != 0) show("modularize", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    /* a second run into the same bank needs --resume; with it, nothing is left to do */
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(has(r.err, "--resume"));
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    /* the bank names its teacher and holds modules only */
    mtx_bank_dir bd;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(bank, &bd), MTX_OK);
    char *tabs = NULL;
    CU_ASSERT_EQUAL(mtx_path_absolute(teacher, &tabs), MTX_OK);
    CU_ASSERT_TRUE(bd.teacher_dir && tabs && !strcmp(bd.teacher_dir, tabs));
    free(tabs);
    mtx_bank_dir_free(&bd);
    r = RUN("eval", "--model", bank);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "is a module bank"));
    run_free(&r);
    /* 2 + 2 layers with g = 2 reach 4/4, 4/3 and 4/2 */
    r = RUN("assemble", "--model", bank, "--ratio", "1.5", "--strategy", "size", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "reachable ratios: 1.00, 1.33, 2.00"));
    run_free(&r);
    r = RUN("assemble", "--model", bank, "--ratio", "2", "--strategy", "bogus", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 2);
    run_free(&r);
    r = RUN("assemble", "--model", bank, "--ratio", "2", "--strategy", "speed", "--out", asm2);
    if (r.status != 0) show("assemble", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("eval", "--model", asm2, "--split", "test", "--json");
    cJSON *j = parse_one_object(r.out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(j);
    if (j) CU_ASSERT_EQUAL((int)num(j, "words"), distinct_words(g_test));
    cJSON_Delete(j);
    run_free(&r);
    r = RUN("info", "--model", asm2);
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "1 encoder + 1 decoder") && has(r.out, "m2.0"));
    run_free(&r);
    /* --tiling names the assembly; it must cover each stack with the bank's granularities */
    r = RUN("assemble", "--model", bank, "--tiling", "t0 t1 | m2.0", "--out", asm2);
    if (r.status != 0) show("assemble --tiling", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    r = RUN("info", "--model", asm2);
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "2 encoder + 1 decoder") && has(r.out, "t0 t1") && has(r.out, "m2.0"));
    run_free(&r);
    static const char *const bad_tilings[] = { "t0 t1", "t0 | t1 | m2.0", "m2.0 | t1", "m3.0 | m2.0", "t0 t1 | m2.0 t0",
                                               "t0 x | m2.0", "" };
    for (int i = 0; i < 7; i++) {
        r = RUN("assemble", "--model", bank, "--tiling", bad_tilings[i], "--out", asm2);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--tiling"));
        if (r.status != 1 || !one_line(r.err)) show(bad_tilings[i], &r);
        run_free(&r);
    }
    r = RUN("assemble", "--model", bank, "--tiling", "t0 t1 | t0 t1", "--ratio", "1", "--out", asm2);
    CU_ASSERT_EQUAL(r.status, 2);
    run_free(&r);
    r = RUN("sweep", "--model", bank, "--dev-words", "5", "--out", sweep_dir, "--json");
    if (r.status != 0) show("sweep", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    cJSON *rows = cJSON_Parse(r.out);
    CU_ASSERT_TRUE(cJSON_IsArray(rows) && cJSON_GetArraySize(rows) >= 3);
    int seen_ratio2 = 0, seen_best_pruned = 0;
    for (int i = 0; rows && i < cJSON_GetArraySize(rows); i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        CU_ASSERT_TRUE(isfinite(num(row, "ratio")) && isfinite(num(row, "per")) && isfinite(num(row, "wer")) &&
                       num(row, "enc_layers") >= 1 && num(row, "dec_layers") >= 1 && num(row, "params") > 0);
        seen_ratio2 |= fabs(num(row, "ratio") - 2.0) < 1e-9;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(row, "kind");
        /* the best pruned subset of the 2 + 2 teacher at 2x: one layer per stack */
        if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "pruned*")) {
            seen_best_pruned++;
            CU_ASSERT_TRUE(num(row, "enc_layers") == 1 && num(row, "dec_layers") == 1);
        }
    }
    CU_ASSERT_TRUE(seen_ratio2);
    CU_ASSERT_EQUAL(seen_best_pruned, 1);
    cJSON_Delete(rows);
    run_free(&r);
    snprintf(csv, sizeof csv, "%s/sweep.csv", sweep_dir);
    snprintf(svg, sizeof svg, "%s/sweep.svg", sweep_dir);
    char *c = slurp(csv), *v = slurp(svg);
    CU_ASSERT_TRUE(c && has(c, "kind,ratio,enc_layers") && lines_of(c) >= 4);
    CU_ASSERT_TRUE(v && has(v, "<svg") && has(v, "</svg>"));
    free(c);
    free(v);
    /* make run's sweep: a fixed sample, no pruned* search (the plain pruned rows stay) */
    r = RUN("sweep", "--model", bank, "--dev-words", "5", "--sample", "3", "--no-pruned", "--speed-passes", "1",
            "--out", sweep_dir, "--json");
    if (r.status != 0) show("sweep --sample --no-pruned", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_TRUE(has(r.out, "\"kind\":\"pruned\"") && !has(r.out, "pruned*"));
    run_free(&r);
    snprintf(csv, sizeof csv, "%s/sweep.txt", sweep_dir);
    c = slurp(csv);
    CU_ASSERT_TRUE(c && has(c, "kind ") && has(c, "teacher "));
    free(c);
    r = RUN("sweep", "--model", bank, "--sample", "0");
    CU_ASSERT_TRUE(r.status == 2 && one_line(r.err) && has(r.err, "--sample"));
    run_free(&r);
}

/* The shipped teacher and bank on the real CMUdict test split (greedy, one
 * thread): each uniform assembly, named with `assemble --tiling`, stays
 * within 0.5 WER points of what docs/RESULTS.md reports (teacher 27.90, 2x
 * 28.64, 3x 30.06, 6x 37.04; a word is 0.008 points), and quality falls
 * with the ratio. A bank that no longer loads, a decoder change or a
 * retrained bank that regressed fails here; a new shipped bank updates the
 * bounds with its RESULTS rows. About 15 seconds. */
static void test_shipped_quality(void) {
    CU_ASSERT_FATAL(bin_ok());
    if (access(MTX_DEFAULT_DATA, R_OK) != 0) fprintf(stderr, "\n    %s missing (make deps)\n", MTX_DEFAULT_DATA);
    CU_ASSERT_FATAL(access(MTX_DEFAULT_DATA, R_OK) == 0);
    static const struct {
        const char *tiling; /* NULL: the teacher itself */
        double max_wer;
    } rows[] = { { NULL, 28.40 },
                 { "m2.0 m2.1 m2.2 | m2.0 m2.1 m2.2", 29.14 },
                 { "m3.0 m3.1 | m3.0 m3.1", 30.56 },
                 { "m6.0 | m6.0", 37.54 } };
    double prev = 0;
    for (int i = 0; i < 4; i++) {
        const char *model = "models/g2p-teacher";
        char dir[MTX_PATH_MAX];
        if (rows[i].tiling) {
            snprintf(dir, sizeof dir, "%s/shipped%d", g_dir, i);
            run_result a = RUN("assemble", "--model", "models/g2p-modular", "--tiling", rows[i].tiling, "--out", dir);
            if (a.status != 0) show("assemble shipped bank", &a);
            CU_ASSERT_EQUAL_FATAL(a.status, 0);
            run_free(&a);
            model = dir;
        }
        run_result r = RUN("eval", "--model", model, "--split", "test", "--threads", "1", "--json");
        cJSON *j = parse_one_object(r.out);
        double wer = j ? num(j, "wer") : NAN;
        if (r.status != 0 || !(wer <= rows[i].max_wer) || !(wer > prev)) {
            show(rows[i].tiling ? rows[i].tiling : "teacher", &r);
            fprintf(stderr, "    test WER %.2f, bound %.2f, previous row %.2f\n", wer, rows[i].max_wer, prev);
        }
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_TRUE(wer <= rows[i].max_wer);
        CU_ASSERT_TRUE(wer > prev); /* fewer layers, more errors */
        CU_ASSERT_TRUE(j && num(j, "words") > 10000);
        prev = wer;
        cJSON_Delete(j);
        run_free(&r);
    }
}

/* train_data replaces the bank's training split (the teacher's splits were
 * explicit files: naming the same training file gives the same bank bit for
 * bit, another file another bank); data keys under "training" and symbols
 * outside the teacher's vocabularies are one-line errors. */
static void test_modular_train_data(void) {
    CU_ASSERT_FATAL(bin_ok() && fixtures_ok());
    char teacher[MTX_PATH_MAX], bank[MTX_PATH_MAX], cfg[MTX_PATH_MAX], tsv[MTX_PATH_MAX];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0)); /* written by test_modular_pipeline */
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    static const char body[] =
        "\"granularities\": [2], \"training\": {\"max_steps\": 20, \"warmup_steps\": 2,\n"
        " \"batch_tokens\": 256, \"checkpoint_every\": 10, \"log_every\": 5, \"eval_every\": 10, \"threads\": 1%s}}\n";
    const char *files[] = { g_train, g_dev };
    for (int k = 0; k < 2; k++) {
        char out[MTX_PATH_MAX], text[2 * PATH_MAX + 512];
        snprintf(out, sizeof out, "%s", tmp_path(k ? "mbank_dev" : "mbank_train", 0));
        snprintf(cfg, sizeof cfg, "%s", tmp_path("mtd.json", 0));
        int n = snprintf(text, sizeof text, "{\"train_data\": \"%s\", ", files[k]);
        n += snprintf(text + n, sizeof text - (size_t)n, body, "");
        CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(cfg, text, (size_t)n), MTX_OK);
        run_result r = RUN("modularize", "--teacher", teacher, "--out", out, "--config", cfg);
        if (r.status != 0) show("modularize with train_data", &r);
        CU_ASSERT_EQUAL(r.status, 0);
        run_free(&r);
        CU_ASSERT_EQUAL(same_file(out, bank, "model.safetensors"), k == 0);
        char saved[MTX_PATH_MAX];
        CU_ASSERT_EQUAL_FATAL(mtx_path_join(saved, sizeof saved, out, "config.json"), MTX_OK);
        char *prov = slurp(saved);
        CU_ASSERT_TRUE(prov && has(prov, "\"train_data\"") && has(prov, files[k]));
        free(prov);
        /* resume with the same config: nothing to do, accepted */
        r = RUN("modularize", "--teacher", teacher, "--out", out, "--config", cfg, "--resume");
        CU_ASSERT_EQUAL(r.status, 0);
        run_free(&r);
    }
    /* a phone outside the teacher's target vocabulary, then a data key under "training" */
    snprintf(tsv, sizeof tsv, "%s", tmp_path("mtd.tsv", 0));
    static const char bad[] = "bad\tB AE D\nbat\tB QQ T\n";
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(tsv, bad, sizeof bad - 1), MTX_OK);
    for (int k = 0; k < 2; k++) {
        char text[3 * PATH_MAX + 512], extra[2 * PATH_MAX + 64];
        int n = 0;
        if (k == 0) {
            n = snprintf(text, sizeof text, "{\"train_data\": \"%s\", ", tsv);
            n += snprintf(text + n, sizeof text - (size_t)n, body, "");
        } else {
            snprintf(extra, sizeof extra, ", \"train\": \"%s\", \"dev\": \"%s\"", g_train, g_dev);
            n = snprintf(text, sizeof text, "{");
            n += snprintf(text + n, sizeof text - (size_t)n, body, extra);
        }
        CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(cfg, text, (size_t)n), MTX_OK);
        run_result r = RUN("modularize", "--teacher", teacher, "--out", tmp_path("mbank_bad", 0), "--config", cfg);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_TRUE(one_line(r.err) && has(r.err, k ? "train_data" : "QQ") && (k || has(r.err, tsv)));
        if (r.status != 1) show("modularize with bad train_data", &r);
        run_free(&r);
    }
}

/* A bank whose saved modularize config predates a key (written before
 * local_rate and match_rate existed) resumes: the run used their defaults;
 * a saved value that differs from the config is still refused. */
static void test_modular_resume_older_config(void) {
    CU_ASSERT_FATAL(bin_ok());
    char bank[MTX_PATH_MAX], mcfg[MTX_PATH_MAX], teacher[MTX_PATH_MAX], saved[MTX_PATH_MAX];
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0)); /* written by test_modular_pipeline */
    snprintf(mcfg, sizeof mcfg, "%s", tmp_path("mbank.json", 0));
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0));
    CU_ASSERT_EQUAL_FATAL(mtx_path_join(saved, sizeof saved, bank, "modularize_config.json"), MTX_OK);
    char *text = slurp(saved);
    CU_ASSERT_FATAL(text != NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(j, "match_rate") && cJSON_GetObjectItemCaseSensitive(j, "local_rate"));
    cJSON_DeleteItemFromObjectCaseSensitive(j, "match_rate");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "local_rate");
    char *old = cJSON_PrintUnformatted(j);
    CU_ASSERT_FATAL(old != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(saved, old, strlen(old)), MTX_OK);
    cJSON_free(old);
    run_result r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status != 0) show("resume with an older saved config", &r);
    run_free(&r);
    /* the saved run used match_rate 0.5: not the config's 0 */
    cJSON_AddNumberToObject(j, "match_rate", 0.5);
    old = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    CU_ASSERT_FATAL(old != NULL);
    CU_ASSERT_EQUAL_FATAL(mtx_write_file_atomic(saved, old, strlen(old)), MTX_OK);
    cJSON_free(old);
    r = RUN("modularize", "--teacher", teacher, "--out", bank, "--config", mcfg, "--resume");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "differs"));
    run_free(&r);
}

/* Writes a bank config (g = 2, tiny batches) with the given training keys
 * into g_dir/name; returns its path (static buffer slot 1). */
static const char *write_bank_config(const char *name, const char *training) {
    const char *path = tmp_path(name, 1);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "{\"granularities\": [2], \"replace_rate_base\": 1.0, \"replace_rate_slope\": 0.0,\n"
                     " \"training\": {\"warmup_steps\": 2, \"batch_tokens\": 256, \"checkpoint_every\": 5,\n"
                     " \"log_every\": 5, \"eval_every\": 10, \"threads\": 1, %s}}\n", training);
    if (mtx_write_file_atomic(path, text, (size_t)n) != MTX_OK) return "/nonexistent";
    return path;
}

/* Largest |a - b| over the module parameters of two banks, or -1 if either
 * does not load or their shapes differ. */
static double module_gap(const char *bank_a, const char *bank_b) {
    mtx_bank_dir a, b;
    if (mtx_bank_load(bank_a, &a) != MTX_OK) return -1;
    if (mtx_bank_load(bank_b, &b) != MTX_OK) {
        mtx_bank_dir_free(&a);
        return -1;
    }
    double gap = a.bank.n_mod == b.bank.n_mod ? 0 : -1;
    for (size_t k = 0; gap >= 0 && k < a.bank.n_mod; k++) {
        double d = fabs((double)a.bank.mod[k] - (double)b.bank.mod[k]);
        if (d > gap) gap = d;
    }
    mtx_bank_dir_free(&a);
    mtx_bank_dir_free(&b);
    return gap;
}

/* modularize --init BANK: the modules start from BANK's (a few steps at a
 * tiny rate stay next to them; the same run without --init starts from
 * teacher layers, far away); the run records BANK and, started with --init,
 * resumes exactly with --resume alone; --init with --resume, a missing
 * directory or a plain model are one-line errors. */
static void test_modular_init(void) {
    CU_ASSERT_FATAL(bin_ok());
    char teacher[MTX_PATH_MAX], bank[MTX_PATH_MAX], ft[MTX_PATH_MAX], scratch[MTX_PATH_MAX], cfg[MTX_PATH_MAX];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0)); /* written by test_modular_pipeline */
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    snprintf(ft, sizeof ft, "%s", tmp_path("mft", 0));
    snprintf(scratch, sizeof scratch, "%s", tmp_path("mft_scratch", 0));
    snprintf(cfg, sizeof cfg, "%s", write_bank_config("mft.json", "\"max_steps\": 4, \"lr\": 1e-6, \"seed\": 7"));
    run_result r = RUN("modularize", "--teacher", teacher, "--out", ft, "--config", cfg, "--init", bank);
    if (r.status != 0) show("modularize --init", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", scratch, "--config", cfg);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    double near = module_gap(ft, bank), far = module_gap(scratch, bank);
    if (!(near >= 0 && near < 1e-5 && far > 100 * near)) fprintf(stderr, "\n    module gaps: --init %g, scratch %g\n", near, far);
    CU_ASSERT_TRUE(near >= 0 && near < 1e-5); /* 4 Adam steps of 1e-6 */
    CU_ASSERT_TRUE(far > 100 * near);         /* the 20 steps of the bank */
    CU_ASSERT_STRING_EQUAL(provenance_str(ft, "init_bank"), bank);
    CU_ASSERT_STRING_EQUAL(provenance_str(scratch, "init_bank"), "");
    /* a constant rate after warm-up: 5 steps, then a resume to 10, equal 10 steps */
    char c5[MTX_PATH_MAX], c10[MTX_PATH_MAX], whole[MTX_PATH_MAX], parts[MTX_PATH_MAX];
    snprintf(c5, sizeof c5, "%s", write_bank_config("mft5.json", "\"max_steps\": 5, \"lr\": 1e-3, \"min_lr_ratio\": 1.0"));
    snprintf(c10, sizeof c10, "%s", write_bank_config("mft10.json", "\"max_steps\": 10, \"lr\": 1e-3, \"min_lr_ratio\": 1.0"));
    snprintf(whole, sizeof whole, "%s", tmp_path("mft_whole", 0));
    snprintf(parts, sizeof parts, "%s", tmp_path("mft_parts", 0));
    r = RUN("modularize", "--teacher", teacher, "--out", whole, "--config", c10, "--init", bank);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", parts, "--config", c5, "--init", bank);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", parts, "--config", c10, "--resume");
    if (r.status != 0) show("modularize --resume of an --init run", &r);
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    CU_ASSERT_TRUE(same_file(whole, parts, "model.safetensors"));
    CU_ASSERT_STRING_EQUAL(provenance_str(parts, "init_bank"), bank);
    CU_ASSERT_TRUE(module_gap(whole, bank) > 1e-4); /* it did train */
    /* errors */
    char bad[MTX_PATH_MAX], nowhere[MTX_PATH_MAX];
    snprintf(bad, sizeof bad, "%s", tmp_path("mft_bad", 0));
    snprintf(nowhere, sizeof nowhere, "%s", tmp_path("nowhere", 0));
    r = RUN("modularize", "--teacher", teacher, "--out", parts, "--config", c10, "--resume", "--init", bank);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "--init"));
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bad, "--config", c10, "--init", nowhere);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "no such bank"));
    if (r.status != 1 || !has(r.err, "no such bank")) show("modularize --init MISSING", &r);
    run_free(&r);
    r = RUN("modularize", "--teacher", teacher, "--out", bad, "--config", c10, "--init", teacher);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "not a module bank"));
    if (r.status != 1 || !one_line(r.err)) show("modularize --init PLAIN_MODEL", &r);
    run_free(&r);
    CU_ASSERT_FALSE(mtx_file_exists(bad));
}

/* average of banks: each module parameter is the mean of the inputs' (one
 * rounding of the double sum), the teacher stays bit for bit, the result is
 * a bank that assembles; a bank with a plain model is a one-line error. */
static void test_modular_average(void) {
    CU_ASSERT_FATAL(bin_ok());
    char bank[MTX_PATH_MAX], ft[MTX_PATH_MAX], avg[MTX_PATH_MAX], teacher[MTX_PATH_MAX];
    snprintf(teacher, sizeof teacher, "%s", tmp_path("mteacher", 0));
    snprintf(bank, sizeof bank, "%s", tmp_path("mbank", 0));
    snprintf(ft, sizeof ft, "%s", tmp_path("mft_whole", 0)); /* written by test_modular_init */
    snprintf(avg, sizeof avg, "%s", tmp_path("mavg", 0));
    run_result r = RUN("average", "--out", avg, bank, ft);
    if (r.status != 0) show("average of banks", &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    run_free(&r);
    mtx_bank_dir a, b, m;
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(bank, &a), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(ft, &b), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_bank_load(avg, &m), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(m.bank.n_mod, a.bank.n_mod);
    size_t differ = 0, off = count_not_mean2(a.bank.mod, b.bank.mod, m.bank.mod, a.bank.n_mod, &differ);
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT_TRUE(differ > a.bank.n_mod / 2); /* the inputs really differ */
    CU_ASSERT_TRUE(m.bank.teacher.n_params == a.bank.teacher.n_params &&
                   !memcmp(m.bank.teacher.params, a.bank.teacher.params, a.bank.teacher.n_params * sizeof(float)));
    /* the mean names the inputs' teacher (modules only, like its inputs) */
    CU_ASSERT_TRUE(m.teacher_dir && a.teacher_dir && !strcmp(m.teacher_dir, a.teacher_dir));
    mtx_bank_dir_free(&a);
    mtx_bank_dir_free(&b);
    mtx_bank_dir_free(&m);
    r = RUN("assemble", "--model", avg, "--tiling", "m2.0 | m2.0", "--out", tmp_path("mavg_asm", 0));
    CU_ASSERT_EQUAL(r.status, 0);
    run_free(&r);
    r = RUN("info", "--model", tmp_path("mavg_asm", 0));
    CU_ASSERT_TRUE(r.status == 0 && has(r.out, "1 encoder + 1 decoder"));
    run_free(&r);
    r = RUN("average", "--out", tmp_path("mavg_bad", 0), bank, teacher);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "not a module bank"));
    if (r.status != 1 || !one_line(r.err)) show("average of a bank and a model", &r);
    run_free(&r);
    r = RUN("average", "--out", tmp_path("mavg_bad", 0), teacher, bank);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_TRUE(one_line(r.err) && has(r.err, "module bank"));
    run_free(&r);
    CU_ASSERT_FALSE(mtx_file_exists(tmp_path("mavg_bad", 0)));
}

void mtx_suite_cli_modular(void) {
    CU_pSuite s = CU_add_suite("cli_modular", cli_suite_init, cli_suite_clean);
    CU_add_test(s, "modularize, assemble, eval and sweep end to end", test_modular_pipeline);
    CU_add_test(s, "modularize resumes a run saved before newer config keys", test_modular_resume_older_config);
    CU_add_test(s, "modularize train_data: same file same bank, errors", test_modular_train_data);
    CU_add_test(s, "modularize --init BANK: starts there, resumes exactly, errors", test_modular_init);
    CU_add_test(s, "average of banks: module mean, teacher kept, errors", test_modular_average);
    CU_add_test(s, "shipped teacher and bank: test WER of 1x/2x/3x/6x within bounds", test_shipped_quality);
}
