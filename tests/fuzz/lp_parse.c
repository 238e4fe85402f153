/* SPDX-License-Identifier: MIT */
/* lp_parse.c - reference line protocol parser for the fuzz targets; the
 * rules are in lp_parse.h. Written from InfluxDB 1.x models/points.go
 * (scanMeasurement, scanTags, scanFields, scanTime, unescape tables), not
 * from lineproto.c, so that it can disagree with the encoder. */
#include "lp_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LP_MIN_TS (INT64_MIN + 2)
#define LP_MAX_TS (INT64_MAX - 1)

struct cursor {
    const char *s;
    size_t i;                   /* next byte                        */
    size_t n;                   /* end of the line, without '\n'    */
    char *arena;
    size_t used;
    size_t cap;
};

static int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* Read a name up to an unescaped byte of 'stops' (or the end of the line)
 * into the arena. A backslash must be followed by a byte of 'esc'.
 * Returns the NUL-terminated copy, or NULL if it is empty or malformed. */
static char *read_name(struct cursor *c, const char *esc, const char *stops)
{
    char *out = c->arena + c->used;
    size_t o = 0;

    while (c->i < c->n) {
        char ch = c->s[c->i];

        if (ch == '\\') {
            if (c->i + 1 >= c->n || !in_set(c->s[c->i + 1], esc))
                return NULL;
            ch = c->s[c->i + 1];
            c->i += 2;
        } else if (in_set(ch, stops)) {
            break;
        } else {
            c->i++;
        }
        if (c->used + o + 1 >= c->cap)
            return NULL;
        out[o++] = ch;
    }
    if (o == 0)
        return NULL;
    out[o] = '\0';
    c->used += o + 1;
    return out;
}

/* InfluxDB 1.x scanNumber() for floats: [-] digits with at most one '.',
 * an exponent only after a digit, a sign only right after 'e'/'E'. */
static int float_syntax_ok(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    int dot = 0, exp = 0;

    if (n > 0 && s[0] == '-')
        i++;
    if (i >= n)
        return 0;
    for (; i < n; i++) {
        char ch = s[i];

        if (ch >= '0' && ch <= '9') {
            digits++;
        } else if (ch == '.' && !dot && !exp) {
            dot = 1;
        } else if ((ch == 'e' || ch == 'E') && !exp && digits > 0) {
            exp = 1;
            if (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'))
                i++;
            if (i + 1 >= n)
                return 0;
        } else {
            return 0;
        }
    }
    return digits > 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    char tmp[32];
    char *end;
    size_t i = 0;
    long long v;

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    if (s[0] == '-')
        i++;
    if (i == n)
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtoll(tmp, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int read_string_value(struct cursor *c, struct lp_pfield *f)
{
    char *out = c->arena + c->used;
    size_t o = 0;

    c->i++;                     /* the opening quote */
    for (;;) {
        char ch;

        if (c->i >= c->n)
            return -1;
        ch = c->s[c->i];
        if (ch == '"') {
            c->i++;
            break;
        }
        if (ch == '\\') {
            if (c->i + 1 >= c->n || (c->s[c->i + 1] != '"' && c->s[c->i + 1] != '\\'))
                return -1;
            ch = c->s[c->i + 1];
            c->i += 2;
        } else {
            c->i++;
        }
        if (c->used + o + 1 >= c->cap)
            return -1;
        out[o++] = ch;
    }
    if (c->used + o + 1 > c->cap)
        return -1;
    out[o] = '\0';
    c->used += o + 1;
    f->t = LP_P_STR;
    f->s = out;
    return 0;
}

static int read_value(struct cursor *c, struct lp_pfield *f)
{
    const char *v;
    size_t n;

    if (c->i >= c->n)
        return -1;
    if (c->s[c->i] == '"')
        return read_string_value(c, f);
    v = c->s + c->i;
    for (n = 0; c->i + n < c->n && v[n] != ',' && v[n] != ' '; n++)
        ;
    c->i += n;
    if (n == 0)
        return -1;
    if (n == 4 && memcmp(v, "true", 4) == 0) {
        f->t = LP_P_BOOL;
        f->b = 1;
        return 0;
    }
    if (n == 5 && memcmp(v, "false", 5) == 0) {
        f->t = LP_P_BOOL;
        f->b = 0;
        return 0;
    }
    if (v[n - 1] == 'i') {
        f->t = LP_P_INT;
        return parse_i64(v, n - 1, &f->i);
    }
    if (n >= 64 || !float_syntax_ok(v, n))
        return -1;
    {
        char tmp[64];
        char *end;

        memcpy(tmp, v, n);
        tmp[n] = '\0';
        f->f = strtod(tmp, &end);
        if (*end || !isfinite(f->f))
            return -1;
    }
    f->t = LP_P_FLOAT;
    return 0;
}

static int is_time(const char *s)
{
    return strcmp(s, "time") == 0;
}

int lp_parse_line(const char *line, size_t len, struct lp_parsed *p,
                  char *arena, size_t arenalen)
{
    struct cursor c = { line, 0, 0, arena, 0, arenalen };
    size_t k;

    memset(p, 0, sizeof(*p));
    if (len == 0 || line[len - 1] != '\n' || arenalen < len + 1)
        return -1;
    c.n = len - 1;
    for (k = 0; k < c.n; k++) {
        unsigned char u = (unsigned char)line[k];

        if (u < 0x20 || u == 0x7f)
            return -1;
    }
    if (c.n == 0 || line[0] == '#' || line[0] == ' ' || line[0] == ',')
        return -1;

    p->meas = read_name(&c, ", ", ", ");
    if (!p->meas || c.i >= c.n)
        return -1;
    while (line[c.i] == ',') {
        if (p->ntags == LP_PARSE_MAX)
            return -1;
        c.i++;
        p->tk[p->ntags] = read_name(&c, ",= ", ",= ");
        if (!p->tk[p->ntags] || c.i >= c.n || line[c.i] != '=' ||
            is_time(p->tk[p->ntags]))
            return -1;
        c.i++;
        p->tv[p->ntags] = read_name(&c, ",= ", ",= ");
        if (!p->tv[p->ntags] || c.i >= c.n || line[c.i] == '=')
            return -1;
        for (k = 0; k < p->ntags; k++) {
            if (strcmp(p->tk[k], p->tk[p->ntags]) == 0)
                return -1;      /* InfluxDB: "duplicate tags" */
        }
        p->ntags++;
    }
    if (line[c.i] != ' ')
        return -1;
    c.i++;
    for (;;) {
        struct lp_pfield *f;

        if (p->nfields == LP_PARSE_MAX)
            return -1;
        f = &p->f[p->nfields];
        f->key = read_name(&c, ",= ", ",= ");
        if (!f->key || c.i >= c.n || line[c.i] != '=' || is_time(f->key))
            return -1;
        for (k = 0; k < p->nfields; k++) {
            if (strcmp(p->f[k].key, f->key) == 0)
                return -1;
        }
        c.i++;
        if (read_value(&c, f))
            return -1;
        p->nfields++;
        if (c.i >= c.n)
            return -1;          /* the encoder always writes a timestamp */
        if (line[c.i] == ' ')
            break;
        if (line[c.i] != ',')
            return -1;
        c.i++;
    }
    c.i++;
    if (parse_i64(line + c.i, c.n - c.i, &p->ts))
        return -1;
    return p->ts >= LP_MIN_TS && p->ts <= LP_MAX_TS ? 0 : -1;
}

long lp_parse_batch(const char *body, size_t len,
                    void (*fn)(const struct lp_parsed *p, void *ctx), void *ctx,
                    size_t *bad)
{
    struct lp_parsed *p;
    char *arena;
    size_t pos = 0;
    long lines = 0;

    if (bad)
        *bad = 0;
    if (len == 0)
        return 0;
    if (body[len - 1] != '\n')
        return -1;
    p = malloc(sizeof(*p));
    arena = malloc(len + 1);
    if (!p || !arena) {
        free(p);
        free(arena);
        return -1;
    }
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t n = (size_t)(nl - (body + pos)) + 1;

        if (lp_parse_line(body + pos, n, p, arena, len + 1) != 0) {
            if (bad)
                *bad = pos;
            lines = -1;
            break;
        }
        if (fn)
            fn(p, ctx);
        lines++;
        pos += n;
    }
    free(p);
    free(arena);
    return lines;
}
