/* data.c - CMUdict/TSV corpus loader and the train/dev/test split.
 *
 * Loading is one pass: each line becomes an entry in file order and is
 * assigned a group through a hash table keyed by base word; a stable counting
 * sort by group then makes each group contiguous. A variant far from its base
 * word therefore still joins its group, in O(1) per line. */
#include "data/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mtx_utf8_char_len(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0 || u[0] == 0) return 0;
    if (u[0] < 0x80) return 1;
    int len;
    uint32_t cp, min;
    if (u[0] >= 0xC2 && u[0] <= 0xDF) { len = 2; cp = u[0] & 0x1F; min = 0x80; }
    else if ((u[0] & 0xF0) == 0xE0) { len = 3; cp = u[0] & 0x0F; min = 0x800; }
    else if (u[0] >= 0xF0 && u[0] <= 0xF4) { len = 4; cp = u[0] & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int mtx_utf8_valid(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int k = mtx_utf8_char_len(s + i, n - i);
        if (k == 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

int mtx_group_split(int group) {
    int r = group % 20;
    if (r == 19) return MTX_SPLIT_DEV;
    if (r == 17 || r == 18) return MTX_SPLIT_TEST;
    return MTX_SPLIT_TRAIN;
}

/* An entry is one allocation: [char *tgt[tgt_len]] [src "\0"] [tgt[0] "\0"] ...
 * Returns the block with e->tgt and e->src pointing into it, strings unfilled. */
static char *entry_alloc(mtx_entry *e, size_t src_len, int ntok, size_t tok_bytes) {
    memset(e, 0, sizeof *e);
    size_t ptrs = (size_t)ntok * sizeof(char *);
    char *block = malloc(ptrs + src_len + 1 + tok_bytes + (size_t)ntok);
    if (!block) return NULL;
    e->tgt = (char **)(void *)block;
    e->tgt_len = ntok;
    e->src = block + ptrs;
    return block + ptrs + src_len + 1;
}

static void entry_free(mtx_entry *e) {
    free(e->tgt);
    memset(e, 0, sizeof *e);
}

mtx_status mtx_entry_init(mtx_entry *e, const char *src, char *const *tgt, int tgt_len) {
    memset(e, 0, sizeof *e);
    if (!src || !tgt || tgt_len < 1) return mtx_set_error(MTX_ERR_ARG, "entry needs a source and >= 1 target token");
    size_t src_len = strlen(src), tok_bytes = 0;
    for (int i = 0; i < tgt_len; i++) tok_bytes += strlen(tgt[i]);
    char *s = entry_alloc(e, src_len, tgt_len, tok_bytes);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "out of memory for entry '%s'", src);
    memcpy(e->src, src, src_len + 1);
    for (int i = 0; i < tgt_len; i++) {
        size_t n = strlen(tgt[i]) + 1;
        e->tgt[i] = memcpy(s, tgt[i], n);
        s += n;
    }
    return MTX_OK;
}

void mtx_corpus_free(mtx_corpus *c) {
    if (!c) return;
    for (int i = 0; i < c->n_entries; i++) entry_free(&c->entries[i]);
    free(c->entries);
    free(c->group_start);
    memset(c, 0, sizeof *c);
}

/* Loader state: entries in file order plus the base word -> group index. */
typedef struct {
    const char *path;
    int64_t lineno;
    mtx_entry *e;      /* (n) in file order */
    int n, cap;
    const char **gkey; /* (ng) each group's base word, borrowed from its first entry */
    int ng, gcap;
    int *slot;         /* (nslot) group index or -1; nslot is a power of two */
    size_t nslot;
    int64_t n_skipped;
} loader;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static mtx_status grow_slots(loader *L) {
    size_t ns = L->nslot ? L->nslot * 2 : 1024;
    int *slot = malloc(ns * sizeof *slot);
    if (!slot) return mtx_set_error(MTX_ERR_NOMEM, "%s: out of memory (group index)", L->path);
    for (size_t i = 0; i < ns; i++) slot[i] = -1;
    for (int g = 0; g < L->ng; g++) {
        size_t h = hash_bytes(L->gkey[g], strlen(L->gkey[g])) & (ns - 1);
        while (slot[h] >= 0) h = (h + 1) & (ns - 1);
        slot[h] = g;
    }
    free(L->slot);
    L->slot = slot;
    L->nslot = ns;
    return MTX_OK;
}

/* Appends the entry (taking ownership of its strings) and assigns its group. */
static mtx_status add_entry(loader *L, mtx_entry *ent) {
    if (L->n == L->cap) {
        if (L->cap == INT_MAX) {
            entry_free(ent);
            return mtx_set_error(MTX_ERR_DATA, "%s:%lld: too many entries", L->path, (long long)L->lineno);
        }
        int cap = L->cap < 1024 ? 1024 : (L->cap > INT_MAX / 2 ? INT_MAX : L->cap * 2);
        mtx_entry *e = realloc(L->e, (size_t)cap * sizeof *e);
        if (e) L->e = e;
        const char **k = e ? realloc(L->gkey, (size_t)cap * sizeof *k) : NULL; /* ng <= n */
        if (k) L->gkey = k;
        if (!e || !k) {
            entry_free(ent);
            return mtx_set_error(MTX_ERR_NOMEM, "%s:%lld: out of memory", L->path, (long long)L->lineno);
        }
        L->cap = cap;
    }
    if ((size_t)L->ng * 2 >= L->nslot) {
        mtx_status st = grow_slots(L);
        if (st != MTX_OK) {
            entry_free(ent);
            return st;
        }
    }
    size_t mask = L->nslot - 1, h = hash_bytes(ent->src, strlen(ent->src)) & mask;
    while (L->slot[h] >= 0 && strcmp(L->gkey[L->slot[h]], ent->src) != 0) h = (h + 1) & mask;
    if (L->slot[h] < 0) {
        L->slot[h] = L->ng;
        L->gkey[L->ng++] = ent->src;
    }
    ent->group = L->slot[h];
    L->e[L->n++] = *ent;
    return MTX_OK;
}

static mtx_status bad_line(const loader *L, const char *why) {
    return mtx_set_error(MTX_ERR_DATA, "%s:%lld: %s", L->path, (long long)L->lineno, why);
}

/* Builds an entry from src[0..src_len) and the space-separated tokens in t. */
static mtx_status make_entry(loader *L, const char *src, size_t src_len, const char *t, size_t t_len) {
    int ntok = 0;
    size_t tok_bytes = 0;
    for (size_t i = 0; i < t_len; i++) {
        if (t[i] == ' ') continue;
        tok_bytes++;
        if (i == 0 || t[i - 1] == ' ') ntok++;
    }
    if (ntok == 0) return bad_line(L, "no target tokens");
    mtx_entry ent;
    char *s = entry_alloc(&ent, src_len, ntok, tok_bytes);
    if (!s) return mtx_set_error(MTX_ERR_NOMEM, "%s:%lld: out of memory", L->path, (long long)L->lineno);
    memcpy(ent.src, src, src_len);
    ent.src[src_len] = '\0';
    int k = 0;
    for (size_t i = 0; i < t_len; i++) {
        if (t[i] == ' ') continue;
        if (i == 0 || t[i - 1] == ' ') {
            if (k > 0) *s++ = '\0';
            ent.tgt[k++] = s;
        }
        *s++ = t[i];
    }
    *s = '\0';
    return add_entry(L, &ent);
}

/* `source<TAB>tokens`: the source is kept byte for byte. */
static mtx_status parse_tsv(loader *L, const char *line, size_t len, const char *tab) {
    size_t src_len = (size_t)(tab - line);
    const char *t = tab + 1;
    size_t t_len = len - src_len - 1;
    if (src_len == 0) return bad_line(L, "empty source before TAB");
    if (memchr(t, '\t', t_len)) return bad_line(L, "more than one TAB");
    return make_entry(L, line, src_len, t, t_len);
}

/* `word[(N)] PH PH ... [# comment]` */
static mtx_status parse_cmudict(loader *L, const char *line, size_t len) {
    const char *hash = memchr(line, '#', len);
    if (hash) len = (size_t)(hash - line);
    size_t i = 0;
    while (i < len && line[i] == ' ') i++;
    if (i == len) return MTX_OK; /* blank or comment-only line */
    size_t w0 = i;
    while (i < len && line[i] != ' ') i++;
    size_t w1 = i, base_end = w1;
    const char *paren = memchr(line + w0, '(', w1 - w0);
    if (paren) {
        size_t p = (size_t)(paren - line), k = p + 1;
        while (k < w1 && line[k] >= '0' && line[k] <= '9') k++;
        if (p == w0) return bad_line(L, "empty word before '('");
        if (k == p + 1 || k + 1 != w1 || line[k] != ')')
            return bad_line(L, "malformed variant suffix (expected word(N))");
        base_end = p;
    }
    const char *t = line + w1;
    size_t t_len = len - w1;
    size_t k = 0;
    while (k < t_len && t[k] == ' ') k++;
    if (k == t_len) return bad_line(L, "word with no phones");
    for (size_t c = w0; c < base_end; c++) {
        char ch = line[c];
        if (!((ch >= 'a' && ch <= 'z') || ch == '\'')) {
            L->n_skipped++;
            return MTX_OK;
        }
    }
    return make_entry(L, line + w0, base_end - w0, t, t_len);
}

static mtx_status parse_line(loader *L, char *line, size_t len) {
    if (len > 0 && line[len - 1] == '\n') len--;
    if (len > 0 && line[len - 1] == '\r') len--;
    if (memchr(line, '\0', len)) return bad_line(L, "NUL byte");
    if (len > MTX_MAX_LINE) return bad_line(L, "line longer than 4096 bytes");
    if (!mtx_utf8_valid(line, len)) return bad_line(L, "invalid UTF-8");
    const char *tab = memchr(line, '\t', len);
    if (tab) return parse_tsv(L, line, len, tab);
    return parse_cmudict(L, line, len);
}

/* Moves the entries into `out`, made contiguous per group (stable). */
static mtx_status finish(loader *L, mtx_corpus *out) {
    int *cur = malloc(((size_t)L->ng + 1) * sizeof *cur); /* next free position per group */
    out->entries = malloc((size_t)(L->n ? L->n : 1) * sizeof *out->entries);
    out->group_start = calloc((size_t)L->ng + 1, sizeof *out->group_start);
    if (!cur || !out->entries || !out->group_start) {
        free(cur);
        free(out->entries);
        free(out->group_start);
        memset(out, 0, sizeof *out);
        return mtx_set_error(MTX_ERR_NOMEM, "%s: out of memory", L->path);
    }
    int *gs = out->group_start;
    for (int i = 0; i < L->n; i++) gs[L->e[i].group + 1]++;
    for (int g = 0; g < L->ng; g++) gs[g + 1] += gs[g];
    memcpy(cur, gs, ((size_t)L->ng + 1) * sizeof *cur);
    for (int i = 0; i < L->n; i++) out->entries[cur[L->e[i].group]++] = L->e[i];
    free(cur);
    out->n_entries = L->n;
    out->n_groups = L->ng;
    out->n_skipped = L->n_skipped;
    L->n = 0; /* ownership moved */
    return MTX_OK;
}

mtx_status mtx_corpus_load(const char *path, mtx_corpus *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return mtx_set_error(MTX_ERR_IO, "%s: %s", path, strerror(errno));
    loader L = {.path = path};
    mtx_status st = MTX_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        L.lineno++;
        if ((st = parse_line(&L, line, (size_t)got)) != MTX_OK) break;
    }
    if (st == MTX_OK && ferror(f)) /* getline() sets it on read errors and ENOMEM */
        st = mtx_set_error(MTX_ERR_IO, "%s: read error after line %lld", path, (long long)L.lineno);
    free(line);
    fclose(f);
    if (st == MTX_OK) st = finish(&L, out);
    for (int i = 0; i < L.n; i++) entry_free(&L.e[i]);
    free(L.e);
    free(L.gkey);
    free(L.slot);
    return st;
}

mtx_status mtx_corpus_split(const mtx_corpus *all, int split, mtx_corpus *out) {
    memset(out, 0, sizeof *out);
    if (split < MTX_SPLIT_TRAIN || split > MTX_SPLIT_TEST)
        return mtx_set_error(MTX_ERR_ARG, "split %d is not train (0), dev (1) or test (2)", split);
    int ng = 0, ne = 0;
    for (int g = 0; g < all->n_groups; g++) {
        if (mtx_group_split(g) != split) continue;
        ng++;
        ne += all->group_start[g + 1] - all->group_start[g];
    }
    out->entries = calloc((size_t)(ne ? ne : 1), sizeof *out->entries);
    out->group_start = calloc((size_t)ng + 1, sizeof *out->group_start);
    if (!out->entries || !out->group_start) goto nomem;
    int og = 0;
    for (int g = 0; g < all->n_groups; g++) {
        if (mtx_group_split(g) != split) continue;
        for (int i = all->group_start[g]; i < all->group_start[g + 1]; i++) {
            const mtx_entry *e = &all->entries[i];
            if (mtx_entry_init(&out->entries[out->n_entries], e->src, e->tgt, e->tgt_len) != MTX_OK) goto nomem;
            out->entries[out->n_entries++].group = og;
        }
        out->group_start[++og] = out->n_entries;
    }
    out->n_groups = ng;
    return MTX_OK;
nomem:
    mtx_corpus_free(out);
    return mtx_set_error(MTX_ERR_NOMEM, "out of memory copying split %d", split);
}
