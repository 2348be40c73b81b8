/* vocab.c - vocabularies (build, hash lookup, text save/load) and corpus
 * encoding. Building adds tokens to an unsorted set, then sorts everything
 * after the specials and rebuilds the index, so ids depend only on the set. */
#include "data/vocab.h"
#include "core/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_specials[] = {"<pad>", "<s>", "</s>"};

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Id of the token s[0..n), or -1. */
static int find(const mtx_vocab *v, const char *s, size_t n) {
    if (v->n_slot == 0) return -1;
    size_t mask = v->n_slot - 1, h = hash_bytes(s, n) & mask;
    for (; v->slot[h] >= 0; h = (h + 1) & mask) {
        const char *t = v->tok[v->slot[h]];
        if (strncmp(t, s, n) == 0 && t[n] == '\0') return v->slot[h];
    }
    return -1;
}

static mtx_status reindex(mtx_vocab *v, size_t n_slot) {
    int *slot = malloc(n_slot * sizeof *slot);
    if (!slot) return mtx_set_error(MTX_ERR_NOMEM, "out of memory (vocabulary index)");
    for (size_t i = 0; i < n_slot; i++) slot[i] = -1;
    for (int id = 0; id < v->n; id++) {
        size_t h = hash_bytes(v->tok[id], strlen(v->tok[id])) & (n_slot - 1);
        while (slot[h] >= 0) h = (h + 1) & (n_slot - 1);
        slot[h] = id;
    }
    free(v->slot);
    v->slot = slot;
    v->n_slot = n_slot;
    return MTX_OK;
}

/* Appends s[0..n) as a new token (the caller has checked it is absent). */
static mtx_status push(mtx_vocab *v, const char *s, size_t n) {
    if ((v->n & (v->n - 1)) == 0) { /* capacity is the next power of two */
        char **tok = realloc(v->tok, (size_t)(v->n ? 2 * v->n : 1) * sizeof *tok);
        if (!tok) return mtx_set_error(MTX_ERR_NOMEM, "out of memory (vocabulary)");
        v->tok = tok;
    }
    if (!(v->tok[v->n] = strndup(s, n))) return mtx_set_error(MTX_ERR_NOMEM, "out of memory (vocabulary)");
    v->n++;
    if ((size_t)v->n * 2 >= v->n_slot) return reindex(v, v->n_slot ? v->n_slot * 2 : 64);
    size_t h = hash_bytes(s, n) & (v->n_slot - 1);
    while (v->slot[h] >= 0) h = (h + 1) & (v->n_slot - 1);
    v->slot[h] = v->n - 1;
    return MTX_OK;
}

void mtx_vocab_free(mtx_vocab *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->slot);
    memset(v, 0, sizeof *v);
}

int mtx_vocab_id(const mtx_vocab *v, const char *tok) { return find(v, tok, strlen(tok)); }

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b); /* compares as unsigned char */
}

static mtx_status start(mtx_vocab *v, int n_specials) {
    memset(v, 0, sizeof *v);
    for (int i = 0; i < n_specials; i++) {
        mtx_status st = push(v, k_specials[i], strlen(k_specials[i]));
        if (st != MTX_OK) return st;
    }
    return MTX_OK;
}

static mtx_status finish_sorted(mtx_vocab *v, int n_specials, mtx_status st) {
    if (st == MTX_OK && v->n > MTX_VOCAB_MAX)
        st = mtx_set_error(MTX_ERR_DATA, "vocabulary has %d tokens, more than %d", v->n, MTX_VOCAB_MAX);
    if (st == MTX_OK) {
        qsort(v->tok + n_specials, (size_t)(v->n - n_specials), sizeof *v->tok, cmp_str);
        st = reindex(v, v->n_slot);
    }
    if (st != MTX_OK) mtx_vocab_free(v);
    return st;
}

mtx_status mtx_vocab_build_source(const mtx_corpus *c, mtx_vocab *out) {
    mtx_status st = start(out, 1);
    for (int i = 0; st == MTX_OK && i < c->n_entries; i++) {
        const char *w = c->entries[i].src;
        size_t n = strlen(w);
        for (size_t k = 0; st == MTX_OK && k < n;) {
            int len = mtx_utf8_char_len(w + k, n - k);
            if (len == 0 || w[k] == '\n' || w[k] == '\r') {
                st = mtx_set_error(MTX_ERR_DATA, "source '%s' has malformed UTF-8, a newline or a carriage return", w);
                break;
            }
            if (find(out, w + k, (size_t)len) < 0) st = push(out, w + k, (size_t)len);
            k += (size_t)len;
        }
    }
    return finish_sorted(out, 1, st);
}

mtx_status mtx_vocab_build_target(const mtx_corpus *c, mtx_vocab *out) {
    mtx_status st = start(out, 3);
    for (int i = 0; st == MTX_OK && i < c->n_entries; i++) {
        const mtx_entry *e = &c->entries[i];
        for (int k = 0; st == MTX_OK && k < e->tgt_len; k++) {
            const char *t = e->tgt[k];
            size_t n = strlen(t);
            if (n == 0 || strchr(t, '\n') || strchr(t, '\r') || !mtx_utf8_valid(t, n))
                st = mtx_set_error(MTX_ERR_DATA, "target token %d of '%s' is empty, has a newline, a carriage return or malformed UTF-8",
                                   k, e->src);
            else if (!strcmp(t, "<pad>") || !strcmp(t, "<s>") || !strcmp(t, "</s>"))
                st = mtx_set_error(MTX_ERR_DATA, "target of '%s' uses the reserved token '%s'", e->src, t);
            else if (find(out, t, n) < 0)
                st = push(out, t, n);
        }
    }
    return finish_sorted(out, 3, st);
}

mtx_status mtx_vocab_save(const mtx_vocab *v, const char *path) {
    size_t len = 0;
    for (int i = 0; i < v->n; i++) {
        if (v->tok[i][0] == '\0' || strchr(v->tok[i], '\n') || strchr(v->tok[i], '\r'))
            return mtx_set_error(MTX_ERR_ARG, "vocabulary token %d is empty or has a newline", i);
        len += strlen(v->tok[i]) + 1;
    }
    char *text = malloc(len + 1), *p = text;
    if (!text) return mtx_set_error(MTX_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, len + 1);
    for (int i = 0; i < v->n; i++) {
        size_t n = strlen(v->tok[i]);
        memcpy(p, v->tok[i], n);
        p[n] = '\n';
        p += n + 1;
    }
    mtx_status st = mtx_write_file_atomic(path, text, len);
    free(text);
    return st;
}

static mtx_status bad(const char *path, long long line, const char *why, const char *tok) {
    return mtx_set_error(MTX_ERR_FORMAT, "%s:%lld: %s%s%s%s", path, line, why, tok ? " '" : "", tok ? tok : "",
                         tok ? "'" : "");
}

/* Checks line `lineno` (1-based) holding tok[0..n) before it is added. */
static mtx_status check_line(const mtx_vocab *v, const char *path, long long lineno, const char *s, size_t n) {
    if (n > 0 && s[n - 1] == '\r') return bad(path, lineno, "carriage return at end of line (CRLF file?)", NULL);
    if (n == 0) return bad(path, lineno, "empty token", NULL);
    if (memchr(s, '\0', n)) return bad(path, lineno, "NUL byte", NULL);
    if (n > MTX_MAX_LINE) return bad(path, lineno, "token longer than 4096 bytes", NULL);
    if (!mtx_utf8_valid(s, n)) return bad(path, lineno, "invalid UTF-8", NULL);
    if (lineno > MTX_VOCAB_MAX) return bad(path, lineno, "more than 100000 tokens", NULL);
    if (lineno == 1 && strcmp(s, "<pad>") != 0) return bad(path, lineno, "first token must be <pad>, not", s);
    if (!strcmp(s, "<s>") && lineno != 2) return bad(path, lineno, "<s> must be line 2", NULL);
    if (!strcmp(s, "</s>") && (lineno != 3 || strcmp(v->tok[1], "<s>") != 0))
        return bad(path, lineno, "</s> must be line 3, after <s>", NULL);
    if (lineno == 3 && !strcmp(v->tok[1], "<s>") && strcmp(s, "</s>") != 0)
        return bad(path, lineno, "<s> on line 2 must be followed by </s>, not", s);
    int id = find(v, s, n);
    if (id >= 0)
        return mtx_set_error(MTX_ERR_FORMAT, "%s:%lld: duplicate token '%s' (first on line %d)", path, lineno, s,
                             id + 1);
    return MTX_OK;
}

mtx_status mtx_vocab_load(const char *path, mtx_vocab *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return mtx_set_error(MTX_ERR_IO, "%s: %s", path, strerror(errno));
    mtx_status st = MTX_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long long lineno = 0;
    while (st == MTX_OK && (got = getline(&line, &cap, f)) >= 0) {
        size_t n = (size_t)got;
        if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
        st = check_line(out, path, ++lineno, line, n);
        if (st == MTX_OK) st = push(out, line, n);
    }
    if (st == MTX_OK && ferror(f)) st = mtx_set_error(MTX_ERR_IO, "%s: read error after line %lld", path, lineno);
    if (st == MTX_OK && out->n == 0) st = bad(path, 1, "empty file, expected <pad>", NULL);
    if (st == MTX_OK && out->n == 2 && !strcmp(out->tok[1], "<s>"))
        st = bad(path, 3, "<s> on line 2 must be followed by </s>", NULL);
    free(line);
    fclose(f);
    if (st != MTX_OK) mtx_vocab_free(out);
    return st;
}

/* Number of UTF-8 characters in w, or -1 if malformed. */
static int count_chars(const char *w) {
    size_t n = strlen(w);
    int count = 0;
    for (size_t k = 0; k < n; count++) {
        int len = mtx_utf8_char_len(w + k, n - k);
        if (len == 0) return -1;
        k += (size_t)len;
    }
    return count;
}

mtx_status mtx_vocab_encode_chars(const mtx_vocab *v, const char *word, int32_t *ids, int max, int *len) {
    int count = count_chars(word);
    if (count < 0) return mtx_set_error(MTX_ERR_DATA, "word '%s' is not valid UTF-8", word);
    if (count > max) return mtx_set_error(MTX_ERR_DATA, "word '%s' has %d characters, more than %d", word, count, max);
    size_t n = strlen(word);
    int k = 0;
    for (size_t i = 0; i < n; k++) {
        int clen = mtx_utf8_char_len(word + i, n - i);
        int id = find(v, word + i, (size_t)clen);
        if (id < 0)
            return mtx_set_error(MTX_ERR_DATA, "unknown character '%.*s' in word '%s'", clen, word + i, word);
        ids[k] = id;
        i += (size_t)clen;
    }
    *len = k;
    return MTX_OK;
}

mtx_status mtx_vocab_encode_tokens(const mtx_vocab *v, char *const *toks, int n, int32_t *ids, int max) {
    if (n > max) return mtx_set_error(MTX_ERR_DATA, "%d tokens, more than %d", n, max);
    for (int i = 0; i < n; i++) {
        int id = mtx_vocab_id(v, toks[i]);
        if (id < 0) return mtx_set_error(MTX_ERR_DATA, "unknown token '%s'", toks[i]);
        ids[i] = id;
    }
    return MTX_OK;
}

void mtx_encoded_free(mtx_encoded *e) {
    if (!e) return;
    free(e->src);
    free(e->tgt);
    free(e->src_off);
    free(e->src_len);
    free(e->tgt_off);
    free(e->tgt_len);
    free(e->group_start);
    memset(e, 0, sizeof *e);
}

mtx_status mtx_encode_corpus(const mtx_corpus *c, const mtx_vocab *sv, const mtx_vocab *tv, int max_src,
                             int max_tgt, mtx_encoded *out) {
    memset(out, 0, sizeof *out);
    if (max_src < 1 || max_tgt < 1)
        return mtx_set_error(MTX_ERR_ARG, "max_src (%d) and max_tgt (%d) must be >= 1", max_src, max_tgt);
    /* Pass 1: which entries fit, and the total sizes. */
    int64_t n_src = 0, n_tgt = 0;
    int n = 0;
    for (int i = 0; i < c->n_entries; i++) {
        int ns = count_chars(c->entries[i].src);
        if (ns < 0) return mtx_set_error(MTX_ERR_DATA, "source '%s' is not valid UTF-8", c->entries[i].src);
        if (ns > max_src || c->entries[i].tgt_len > max_tgt) {
            out->n_too_long++;
            continue;
        }
        n++;
        n_src += ns;
        n_tgt += c->entries[i].tgt_len;
    }
    if (n_src > INT32_MAX || n_tgt > INT32_MAX)
        return mtx_set_error(MTX_ERR_DATA, "encoded corpus too large for int offsets");
    size_t ne = (size_t)(n ? n : 1);
    out->src = malloc((size_t)(n_src ? n_src : 1) * sizeof *out->src);
    out->tgt = malloc((size_t)(n_tgt ? n_tgt : 1) * sizeof *out->tgt);
    out->src_off = malloc(ne * sizeof(int));
    out->src_len = malloc(ne * sizeof(int));
    out->tgt_off = malloc(ne * sizeof(int));
    out->tgt_len = malloc(ne * sizeof(int));
    out->group_start = calloc((size_t)c->n_groups + 1, sizeof(int));
    if (!out->src || !out->tgt || !out->src_off || !out->src_len || !out->tgt_off || !out->tgt_len ||
        !out->group_start) {
        mtx_encoded_free(out);
        return mtx_set_error(MTX_ERR_NOMEM, "out of memory encoding %d entries", n);
    }
    /* Pass 2: encode, keeping group boundaries (an emptied group stays). */
    int so = 0, to = 0, k = 0;
    int64_t too_long = out->n_too_long;
    mtx_status st = MTX_OK;
    for (int g = 0; st == MTX_OK && g < c->n_groups; g++) {
        for (int i = c->group_start[g]; st == MTX_OK && i < c->group_start[g + 1]; i++) {
            const mtx_entry *e = &c->entries[i];
            if (count_chars(e->src) > max_src || e->tgt_len > max_tgt) continue;
            out->src_off[k] = so;
            out->tgt_off[k] = to;
            st = mtx_vocab_encode_chars(sv, e->src, out->src + so, max_src, &out->src_len[k]);
            if (st == MTX_OK && (st = mtx_vocab_encode_tokens(tv, e->tgt, e->tgt_len, out->tgt + to, max_tgt))) {
                char why[256]; /* the detail is rewritten from a copy, never from itself */
                snprintf(why, sizeof why, "%s", mtx_last_error());
                mtx_set_error(st, "%s in the target of '%s'", why, e->src);
            }
            if (st != MTX_OK) break;
            out->tgt_len[k] = e->tgt_len;
            so += out->src_len[k];
            to += e->tgt_len;
            k++;
        }
        out->group_start[g + 1] = k;
    }
    if (st != MTX_OK) {
        mtx_encoded_free(out);
        return st;
    }
    out->n = k;
    out->n_groups = c->n_groups;
    out->n_too_long = too_long;
    return MTX_OK;
}
