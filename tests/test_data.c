/* test_data.c - corpus loading, the split rule, vocabularies and encoding.
 * The real-CMUdict test fails (never skips) when the file is missing. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/data.h"
#include "data/vocab.h"

static char g_path[64];

/* Writes n bytes to a fresh temporary file whose name is left in g_path. */
static int write_tmp(const char *text, size_t n) {
    strcpy(g_path, "/tmp/mtx_test_data_XXXXXX");
    int fd = mkstemp(g_path);
    if (fd < 0) return 0;
    int ok = write(fd, text, n) == (ssize_t)n;
    return close(fd) == 0 && ok;
}

static mtx_status load_text(const char *text, mtx_corpus *c) {
    CU_ASSERT_FATAL(write_tmp(text, strlen(text)));
    mtx_status st = mtx_corpus_load(g_path, c);
    unlink(g_path);
    return st;
}

/* "w1 w2 ..." joined target of entry i, for compact comparisons. */
static const char *joined(const mtx_corpus *c, int i) {
    static char buf[256];
    buf[0] = '\0';
    for (int k = 0; k < c->entries[i].tgt_len; k++) {
        if (k) strcat(buf, " ");
        strcat(buf, c->entries[i].tgt[k]);
    }
    return buf;
}

static void test_load_cmudict(void) {
    mtx_corpus c;
    const char *text = "# header comment\n"
                       "moose(2) M UW Z\n"
                       "'bout B AW T\n"
                       "read R IY D\n"
                       "a. EY\n"
                       "able-bodied EY B AH L B AA D IY D\n"
                       "zebra  Z IY B R AH  # a comment\n"
                       "\n"
                       "   \n"
                       "addis-ababa(2) AA D IH S\n"
                       "moose M UW S\r\n"
                       "read(2) R EH D\n"
                       "zebra(3) Z EH B R AH";
    CU_ASSERT_EQUAL_FATAL(load_text(text, &c), MTX_OK);
    CU_ASSERT_EQUAL(c.n_skipped, 3);
    CU_ASSERT_EQUAL_FATAL(c.n_groups, 4);
    CU_ASSERT_EQUAL_FATAL(c.n_entries, 7);
    const int starts[] = {0, 2, 3, 5, 7};
    const char *words[] = {"moose", "'bout", "read", "zebra"};
    const char *tgts[] = {"M UW Z", "M UW S", "B AW T", "R IY D", "R EH D", "Z IY B R AH", "Z EH B R AH"};
    for (int g = 0; g <= 4; g++) CU_ASSERT_EQUAL(c.group_start[g], starts[g]);
    for (int g = 0; g < 4; g++)
        for (int i = starts[g]; i < starts[g + 1]; i++) {
            CU_ASSERT_STRING_EQUAL(c.entries[i].src, words[g]);
            CU_ASSERT_EQUAL(c.entries[i].group, g);
        }
    for (int i = 0; i < 7; i++) CU_ASSERT_STRING_EQUAL(joined(&c, i), tgts[i]);
    mtx_corpus_free(&c);
    CU_ASSERT_EQUAL(c.n_entries, 0);
}

static void test_load_tsv(void) {
    mtx_corpus c;
    const char *text = "read R IY D\n"
                       "new york\tN UW  Y AO R K\n"
                       "caf\xc3\xa9\tk a f e\n"
                       "A.B. #x\tEY B IY\n"
                       "new york\tN Y\n"
                       "read\tR EH D\n";
    CU_ASSERT_EQUAL_FATAL(load_text(text, &c), MTX_OK);
    CU_ASSERT_EQUAL(c.n_skipped, 0);
    CU_ASSERT_EQUAL_FATAL(c.n_groups, 4);
    CU_ASSERT_EQUAL_FATAL(c.n_entries, 6);
    const char *src[] = {"read", "read", "new york", "new york", "caf\xc3\xa9", "A.B. #x"};
    const char *tgt[] = {"R IY D", "R EH D", "N UW Y AO R K", "N Y", "k a f e", "EY B IY"};
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_STRING_EQUAL(c.entries[i].src, src[i]);
        CU_ASSERT_STRING_EQUAL(joined(&c, i), tgt[i]);
    }
    CU_ASSERT_EQUAL(c.group_start[1], 2);
    CU_ASSERT_EQUAL(c.group_start[2], 4);
    mtx_corpus_free(&c);
}

static void test_malformed_lines(void) {
    static char long_line[6100], max_line[4100], over_line[4100];
    strcpy(long_line, "a");
    for (int i = 0; i < 2000; i++) strcat(long_line, " AH"); /* 6001 bytes */
    strcpy(max_line, "a");
    for (int i = 0; i < 1365; i++) strcat(max_line, " AH"); /* 4096 bytes: allowed */
    strcat(strcpy(over_line, max_line), "X"); /* 4097 bytes */
    const char *bad[] = {"word", "word   # comment", "word(2)", "\tAH", "src\t", "src\t   ", "src\tA\tB",
                         "caf\xe9 K", "\xc0\xaf K", "\xed\xa0\x80 K", "word( W", "word(2 W", "word() W",
                         "word(a) W", "word(2)x W", "(2) W", long_line, over_line, "wo\0rd W"};
    const size_t n_bad = sizeof bad / sizeof bad[0];
    char text[12000], want[128];
    for (size_t k = 0; k < n_bad; k++) {
        /* the NUL case has a known length; the rest are C strings */
        size_t blen = k + 1 == n_bad ? 7 : strlen(bad[k]);
        size_t n = (size_t)snprintf(text, sizeof text, "%s\naa AA\nbb B IY\n", max_line);
        memcpy(text + n, bad[k], blen);
        n += blen;
        memcpy(text + n, "\ncc S IY\n", 9);
        n += 9;
        CU_ASSERT_FATAL(write_tmp(text, n));
        mtx_corpus c;
        mtx_status st = mtx_corpus_load(g_path, &c);
        snprintf(want, sizeof want, "%s:4: ", g_path);
        CU_ASSERT_EQUAL(st, MTX_ERR_DATA);
        CU_ASSERT_EQUAL(strncmp(mtx_last_error(), want, strlen(want)), 0);
        if (st != MTX_ERR_DATA || strncmp(mtx_last_error(), want, strlen(want)) != 0)
            fprintf(stderr, "\n  case %zu: status %d, '%s'\n", k, st, mtx_last_error());
        CU_ASSERT_EQUAL(c.n_entries, 0);
        CU_ASSERT_PTR_NULL(c.entries);
        unlink(g_path);
    }
}

static void test_utf8(void) {
    CU_ASSERT_EQUAL(mtx_utf8_char_len("a", 1), 1);
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xc3\xa9", 2), 2);
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xe2\x82\xac", 3), 3);     /* U+20AC */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xe0\x80\xaf", 3), 0);     /* overlong */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xed\xbf\xbf", 3), 0);     /* surrogate */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\xc3\xa9", 1), 0);         /* truncated */
    CU_ASSERT_EQUAL(mtx_utf8_char_len("\x80", 1), 0);
    CU_ASSERT_EQUAL(mtx_utf8_valid("a\0b", 3), 0);
    CU_ASSERT_EQUAL(mtx_utf8_valid("na\xc3\xafve", 6), 1);
}

static void test_missing_file(void) {
    mtx_corpus c;
    CU_ASSERT_EQUAL(mtx_corpus_load("/nonexistent/dir/dict.txt", &c), MTX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "/nonexistent/dir/dict.txt"));
}

/* 60 groups "waa".."wch"; group i has i % 3 + 1 entries, variants listed
 * after all base words so that they are far from their groups. */
static void test_split_synthetic(void) {
    char text[8192];
    size_t n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < 60; i++)
            if (pass <= i % 3)
                n += (size_t)snprintf(text + n, sizeof text - n, "w%c%c%s P%d V%d\n", 'a' + i / 26, 'a' + i % 26,
                                      pass ? (pass == 1 ? "(2)" : "(3)") : "", i, pass);
    mtx_corpus all;
    CU_ASSERT_EQUAL_FATAL(load_text(text, &all), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(all.n_groups, 60);
    const int dev[] = {19, 39, 59}, test[] = {17, 18, 37, 38, 57, 58};
    int train[51], nt = 0;
    for (int i = 0; i < 60; i++)
        if (i != 19 && i != 39 && i != 59 && i % 20 != 17 && i % 20 != 18) train[nt++] = i;
    CU_ASSERT_EQUAL_FATAL(nt, 51);
    const int *want[] = {train, dev, test};
    const int want_n[] = {51, 3, 6};
    for (int s = 0; s < 3; s++) {
        mtx_corpus sp;
        CU_ASSERT_EQUAL_FATAL(mtx_corpus_split(&all, s, &sp), MTX_OK);
        CU_ASSERT_EQUAL(sp.n_skipped, 0);
        CU_ASSERT_EQUAL_FATAL(sp.n_groups, want_n[s]);
        int ne = 0;
        for (int g = 0; g < sp.n_groups; g++) {
            int i = want[s][g];
            char word[8];
            snprintf(word, sizeof word, "w%c%c", 'a' + i / 26, 'a' + i % 26);
            CU_ASSERT_EQUAL(sp.group_start[g], ne);
            CU_ASSERT_EQUAL(sp.group_start[g + 1] - sp.group_start[g], i % 3 + 1);
            for (int e = sp.group_start[g]; e < sp.group_start[g + 1]; e++) {
                char tgt[32];
                snprintf(tgt, sizeof tgt, "P%d V%d", i, e - sp.group_start[g]);
                CU_ASSERT_STRING_EQUAL(sp.entries[e].src, word);
                CU_ASSERT_STRING_EQUAL(joined(&sp, e), tgt);
                CU_ASSERT_EQUAL(sp.entries[e].group, g);
            }
            ne += i % 3 + 1;
        }
        CU_ASSERT_EQUAL(sp.n_entries, ne);
        mtx_corpus_free(&sp);
    }
    mtx_corpus bad;
    CU_ASSERT_EQUAL(mtx_corpus_split(&all, 3, &bad), MTX_ERR_ARG);
    mtx_corpus_free(&all);
}

typedef struct { const char *src; int split; } word_split;

static int cmp_word_split(const void *a, const void *b) {
    return strcmp(((const word_split *)a)->src, ((const word_split *)b)->src);
}

static void test_real_cmudict(void) {
    if (access(MTX_CMUDICT_PATH, R_OK) != 0) {
        fprintf(stderr, "\n  %s is missing: install pocketsphinx-en-us (make deps)\n", MTX_CMUDICT_PATH);
        CU_FAIL_FATAL("CMUdict is missing, see stderr");
    }
    mtx_corpus all, sp[3];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL_FATAL(mtx_corpus_load(MTX_CMUDICT_PATH, &all), MTX_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* load time is reported, not asserted: timings belong in benchmarks */
    CU_ASSERT(all.n_skipped > 0);
    CU_ASSERT(all.n_groups > 100000 && all.n_entries > all.n_groups);
    int want_groups[3] = {0, 0, 0};
    for (int i = 0; i < all.n_groups; i++) want_groups[i % 20 == 19 ? 1 : (i % 20 >= 17 ? 2 : 0)]++;
    word_split *ws = malloc((size_t)all.n_entries * sizeof *ws);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    int nw = 0;
    for (int s = 0; s < 3; s++) {
        CU_ASSERT_EQUAL_FATAL(mtx_corpus_split(&all, s, &sp[s]), MTX_OK);
        CU_ASSERT_EQUAL(sp[s].n_groups, want_groups[s]);
        for (int g = 0; g < sp[s].n_groups; g++)
            for (int e = sp[s].group_start[g]; e < sp[s].group_start[g + 1]; e++) {
                CU_ASSERT_STRING_EQUAL(sp[s].entries[e].src, sp[s].entries[sp[s].group_start[g]].src);
                ws[nw++] = (word_split){sp[s].entries[e].src, s};
            }
    }
    CU_ASSERT_EQUAL(nw, all.n_entries);
    qsort(ws, (size_t)nw, sizeof *ws, cmp_word_split);
    int crossings = 0;
    for (int i = 1; i < nw; i++) crossings += !strcmp(ws[i].src, ws[i - 1].src) && ws[i].split != ws[i - 1].split;
    CU_ASSERT_EQUAL(crossings, 0);
    mtx_vocab tv, sv;
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_target(&all, &tv), MTX_OK);
    CU_ASSERT_EQUAL(tv.n, 3 + 39);
    for (int i = 3; i < tv.n; i++) CU_ASSERT(strspn(tv.tok[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(tv.tok[i]));
    CU_ASSERT_EQUAL(mtx_vocab_id(&tv, "AA"), 3);
    CU_ASSERT_EQUAL(mtx_vocab_id(&tv, "ZH"), 41);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_source(&all, &sv), MTX_OK);
    CU_ASSERT_EQUAL(sv.n, 1 + 26 + 1); /* <pad>, a-z and ' */
    fprintf(stderr, "\n  cmudict: %.3f s, %d groups, %d entries, %lld skipped; train/dev/test groups %d/%d/%d, "
                    "entries %d/%d/%d\n", secs, all.n_groups, all.n_entries, (long long)all.n_skipped,
            sp[0].n_groups, sp[1].n_groups, sp[2].n_groups, sp[0].n_entries, sp[1].n_entries, sp[2].n_entries);
    mtx_vocab_free(&tv);
    mtx_vocab_free(&sv);
    free(ws);
    for (int s = 0; s < 3; s++) mtx_corpus_free(&sp[s]);
    mtx_corpus_free(&all);
}

static const char *k_small = "read R IY D\nnew york\tN UW Y AO R K\ncaf\xc3\xa9\tk a f e\nread(2) R EH D\n";

static void test_vocab_build_roundtrip(void) {
    mtx_corpus c;
    mtx_vocab sv, tv, back;
    CU_ASSERT_EQUAL_FATAL(load_text(k_small, &c), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_source(&c, &sv), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_target(&c, &tv), MTX_OK);
    const char *want_s[] = {"<pad>", " ", "a", "c", "d", "e", "f", "k", "n", "o", "r", "w", "y", "\xc3\xa9"};
    const char *want_t[] = {"<pad>", "<s>", "</s>", "AO", "D", "EH", "IY", "K", "N", "R", "UW", "Y", "a", "e",
                            "f", "k"};
    CU_ASSERT_EQUAL_FATAL(sv.n, 14);
    CU_ASSERT_EQUAL_FATAL(tv.n, 16);
    for (int i = 0; i < sv.n; i++) CU_ASSERT_STRING_EQUAL(sv.tok[i], want_s[i]);
    for (int i = 0; i < tv.n; i++) {
        CU_ASSERT_STRING_EQUAL(tv.tok[i], want_t[i]);
        CU_ASSERT_EQUAL(mtx_vocab_id(&tv, want_t[i]), i);
    }
    CU_ASSERT_EQUAL(mtx_vocab_id(&tv, "ZH"), -1);
    CU_ASSERT_EQUAL(mtx_vocab_id(&sv, "</s>"), -1);
    const mtx_vocab *vs[] = {&sv, &tv};
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/mtx_test_vocab_%ld_%d", (long)getpid(), k);
        CU_ASSERT_EQUAL_FATAL(mtx_vocab_save(vs[k], path), MTX_OK);
        char tmp[96];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0); /* renamed away */
        CU_ASSERT_EQUAL_FATAL(mtx_vocab_load(path, &back), MTX_OK);
        CU_ASSERT_EQUAL(back.n, vs[k]->n);
        for (int i = 0; i < back.n && i < vs[k]->n; i++) {
            CU_ASSERT_STRING_EQUAL(back.tok[i], vs[k]->tok[i]);
            CU_ASSERT_EQUAL(mtx_vocab_id(&back, vs[k]->tok[i]), i);
        }
        mtx_vocab_free(&back);
        unlink(path);
    }
    CU_ASSERT_EQUAL(mtx_vocab_save(&sv, "/nonexistent/dir/v.txt"), MTX_ERR_IO);
    mtx_vocab_free(&sv);
    mtx_vocab_free(&tv);
    mtx_corpus_free(&c);
}

static void test_vocab_load_rejects(void) {
    struct { const char *text; int line; } cases[] = {
        {"<pad>\na\nb\na\n", 4},   {"<pad>\na\n\nb\n", 3}, {"a\n<pad>\n", 1},       {"<pad>\n\xff\n", 2},
        {"<pad>\na\n<s>\n", 3},    {"<pad>\n<s>\na\n", 3}, {"<pad>\n<s>\n", 3},     {"<pad>\na\r\n", 2},
        {"", 1},                   {"<pad>\n</s>\n", 2},   {"<pad>\nx\0y\n", 2},
    };
    char want[128];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = strlen(cases[k].text);
        if (k == 10) n = 10; /* embedded NUL */
        CU_ASSERT_FATAL(write_tmp(cases[k].text, n));
        mtx_vocab v;
        mtx_status st = mtx_vocab_load(g_path, &v);
        snprintf(want, sizeof want, "%s:%d: ", g_path, cases[k].line);
        CU_ASSERT_EQUAL(st, MTX_ERR_FORMAT);
        CU_ASSERT_EQUAL(strncmp(mtx_last_error(), want, strlen(want)), 0);
        if (st != MTX_ERR_FORMAT || strncmp(mtx_last_error(), want, strlen(want)) != 0)
            fprintf(stderr, "\n  case %zu: status %d, '%s'\n", k, st, mtx_last_error());
        CU_ASSERT_EQUAL(v.n, 0);
        unlink(g_path);
    }
    /* size limit: 100001 tokens */
    size_t cap = 100001 * 8, n = 0;
    char *big = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    n += (size_t)snprintf(big, cap, "<pad>\n");
    for (int i = 1; i < 100001; i++) n += (size_t)snprintf(big + n, cap - n, "t%d\n", i);
    CU_ASSERT_FATAL(write_tmp(big, n));
    free(big);
    mtx_vocab v;
    CU_ASSERT_EQUAL(mtx_vocab_load(g_path, &v), MTX_ERR_FORMAT);
    snprintf(want, sizeof want, "%s:100001: ", g_path);
    CU_ASSERT_EQUAL(strncmp(mtx_last_error(), want, strlen(want)), 0);
    unlink(g_path);
    CU_ASSERT_EQUAL(mtx_vocab_load("/nonexistent/v.txt", &v), MTX_ERR_IO);
    /* a source vocabulary without <s> </s> is fine */
    CU_ASSERT_FATAL(write_tmp("<pad>\na\n", 8));
    CU_ASSERT_EQUAL(mtx_vocab_load(g_path, &v), MTX_OK);
    CU_ASSERT_EQUAL(v.n, 2);
    mtx_vocab_free(&v);
    unlink(g_path);
}

static void test_encode(void) {
    mtx_corpus c;
    mtx_vocab sv, tv;
    CU_ASSERT_EQUAL_FATAL(load_text(k_small, &c), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_source(&c, &sv), MTX_OK);
    CU_ASSERT_EQUAL_FATAL(mtx_vocab_build_target(&c, &tv), MTX_OK);
    int32_t ids[8];
    int len = -1;
    CU_ASSERT_EQUAL(mtx_vocab_encode_chars(&sv, "caz", ids, 8, &len), MTX_ERR_DATA);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "unknown character 'z' in word 'caz'");
    CU_ASSERT_EQUAL(mtx_vocab_encode_chars(&sv, "d\xc3\xb6", ids, 8, &len), MTX_ERR_DATA);
    CU_ASSERT_STRING_EQUAL(mtx_last_error(), "unknown character '\xc3\xb6' in word 'd\xc3\xb6'");
    CU_ASSERT_EQUAL(mtx_vocab_encode_chars(&sv, "caf\xc3\xa9", ids, 3, &len), MTX_ERR_DATA);
    CU_ASSERT_EQUAL(mtx_vocab_encode_chars(&sv, "caf\xc3\xa9", ids, 4, &len), MTX_OK);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT(ids[0] == 3 && ids[1] == 2 && ids[2] == 6 && ids[3] == 13);
    char *toks[] = {"R", "EH", "ZZ"};
    CU_ASSERT_EQUAL(mtx_vocab_encode_tokens(&tv, toks, 2, ids, 8), MTX_OK);
    CU_ASSERT(ids[0] == 9 && ids[1] == 5);
    CU_ASSERT_EQUAL(mtx_vocab_encode_tokens(&tv, toks, 3, ids, 8), MTX_ERR_DATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtx_last_error(), "'ZZ'"));
    CU_ASSERT_EQUAL(mtx_vocab_encode_tokens(&tv, toks, 2, ids, 1), MTX_ERR_DATA);
    /* groups: read (2 entries, 4 chars, 3 phones), new york (8 chars: dropped), café (4, 4) */
    mtx_encoded e;
    CU_ASSERT_EQUAL_FATAL(mtx_encode_corpus(&c, &sv, &tv, 4, 4, &e), MTX_OK);
    CU_ASSERT_EQUAL(e.n, 3);
    CU_ASSERT_EQUAL(e.n_too_long, 1);
    CU_ASSERT_EQUAL_FATAL(e.n_groups, 3);
    CU_ASSERT(e.group_start[0] == 0 && e.group_start[1] == 2 && e.group_start[2] == 2 && e.group_start[3] == 3);
    CU_ASSERT(e.src_off[1] == 4 && e.src_len[1] == 4 && e.tgt_off[2] == 6 && e.tgt_len[2] == 4);
    const int32_t want_tgt[] = {9, 6, 4, 9, 5, 4};
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(e.tgt[i], want_tgt[i]);
    CU_ASSERT_EQUAL(e.src[e.src_off[2] + 3], 13);
    mtx_encoded_free(&e);
    CU_ASSERT_EQUAL(mtx_encode_corpus(&c, &sv, &tv, 0, 3, &e), MTX_ERR_ARG);
    mtx_vocab_free(&sv);
    mtx_vocab_free(&tv);
    mtx_corpus_free(&c);
}

void mtx_suite_data(void) {
    CU_pSuite s = CU_add_suite("data", NULL, NULL);
    CU_add_test(s, "load CMUdict format: comments, variants, skips", test_load_cmudict);
    CU_add_test(s, "load TSV format and mixed grouping", test_load_tsv);
    CU_add_test(s, "malformed lines name their line", test_malformed_lines);
    CU_add_test(s, "UTF-8 validation", test_utf8);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "split rule on 60 synthetic groups", test_split_synthetic);
    CU_add_test(s, "real CMUdict: splits, skips, 39 phones", test_real_cmudict);
    CU_add_test(s, "vocab build, save, load round trip", test_vocab_build_roundtrip);
    CU_add_test(s, "vocab load rejects bad files", test_vocab_load_rejects);
    CU_add_test(s, "encode chars, tokens, corpus", test_encode);
}
