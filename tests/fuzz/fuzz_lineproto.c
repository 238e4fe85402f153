/* SPDX-License-Identifier: MIT */
/* fuzz_lineproto.c - the line protocol encoder (hub/src/lineproto.h).
 *
 * The input is a program: a buffer cap, an optional line already in the
 * buffer, then up to 8 lines, each a measurement, a sequence of tag and
 * field calls (every field type; names and values from the input, some
 * NULL, a few up to 128 KiB long to reach the 65535-byte key limit) and a
 * timestamp. A model of the rules in lineproto.h says whether each line
 * is valid. Then:
 *   - lp_end() == HUB_OK: the line was valid, the bytes before it are
 *     untouched, and lp_parse_line() reads it back to exactly the same
 *     names and values (floats bit for bit, strings with control bytes
 *     turned into spaces), and the same bytes as an uncapped encoding;
 *   - HUB_EINVAL: the model found a reason;
 *   - HUB_ENOMEM: the buffer has a cap and the line does not fit in it;
 *   - on any error the buffer is byte for byte what it was before;
 *   - lp_format_double() gives what %.15g / %.16g / %.17g give (the first
 *     that reads back exactly).
 * Tag and field keys are made unique per line (InfluxDB refuses
 * duplicate tags; that is the caller's job, not the encoder's). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_input.h"
#include "hub_err.h"
#include "lineproto.h"
#include "lp_parse.h"

#define MAX_LINES   8
#define MAX_OPS     24
#define MAX_KEY     65535u      /* InfluxDB 1.x MaxKeyLength */
#define KEY_SEP     4u

enum op_type { OP_TAG, OP_FLOAT, OP_INT, OP_STR, OP_BOOL, OP_DECIMAL, OP_NTYPES };

struct op {
    enum op_type t;
    char *key;
    char *sval;                 /* tag value or string field value */
    double f;
    int64_t i;
    int b;
};

struct line {
    char *meas;
    size_t nops;
    struct op ops[MAX_OPS];
    int64_t ts;
};

static void line_free(struct line *l)
{
    free(l->meas);
    for (size_t k = 0; k < l->nops; k++) {
        free(l->ops[k].key);
        free(l->ops[k].sval);
    }
    memset(l, 0, sizeof(*l));
}

/* A name or string from the input: 0xff = NULL; 0xfe = long: u16 h, u8 k
 * and a pattern of 1 + k % 15 bytes repeated to 2 x (h + 1) bytes (up to
 * 128 KiB, past the 65535-byte key limit); else that many raw bytes. An
 * embedded NUL ends the C string, as it would for a caller. */
static char *take_name(struct fin *in)
{
    uint8_t l = take_u8(in);
    const uint8_t *p;
    size_t n, total, k;
    char *s;

    if (l == 0xff)
        return NULL;
    if (l == 0xfe) {
        total = 2 * ((size_t)take_u16(in) + 1);
        n = take_bytes(in, 1 + take_u8(in) % 15u, &p);
        s = malloc(total + 1);
        if (!s)
            return NULL;
        for (k = 0; k < total; k++)
            s[k] = n ? (char)p[k % n] : 'x';
        s[total] = '\0';
        return s;
    }
    n = take_bytes(in, l, &p);
    s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int64_t take_ts(struct fin *in)
{
    static const int64_t special[] = {
        INT64_MIN, INT64_MIN + 1, INT64_MIN + 2, INT64_MAX - 1, INT64_MAX,
        0, -1, 1, INT64_C(1764295200123000000),
    };
    uint8_t sel = take_u8(in);

    if (sel < sizeof(special) / sizeof(special[0]))
        return special[sel];
    return (int64_t)take_u64(in);
}

/* Short decimals (56.25, -0.001, 1e14): the encoder's hand-written path. */
static double take_decimal(struct fin *in)
{
    static const double p10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                  1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18 };
    uint64_t m = take_u64(in);
    uint8_t k = take_u8(in);
    double v = (double)(m >> 8) / p10[k % 19];

    return (k & 0x80) ? -v : v;
}

static void take_line(struct fin *in, struct line *l)
{
    size_t nops;

    memset(l, 0, sizeof(*l));
    l->meas = take_name(in);
    nops = take_u8(in) % (MAX_OPS + 1);
    for (l->nops = 0; l->nops < nops && !fin_empty(in); l->nops++) {
        struct op *o = &l->ops[l->nops];
        uint64_t bits;

        o->t = (enum op_type)(take_u8(in) % OP_NTYPES);
        o->key = take_name(in);
        switch (o->t) {
        case OP_TAG:
        case OP_STR:
            o->sval = take_name(in);
            break;
        case OP_FLOAT:
            bits = take_u64(in);
            memcpy(&o->f, &bits, sizeof(o->f));
            break;
        case OP_DECIMAL:
            o->f = take_decimal(in);
            break;
        case OP_INT:
            o->i = (int64_t)take_u64(in);
            break;
        case OP_BOOL:
            o->b = take_u8(in);     /* any non-zero is true */
            break;
        default:
            break;
        }
    }
    l->ts = take_ts(in);
}

/* ---- the model of lineproto.h's rules ---------------------------------- */

static int name_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    if (!s || !*s)
        return 0;
    for (; *u; u++) {
        if (*u < 0x20 || *u == 0x7f || *u == '\\')
            return 0;
    }
    return 1;
}

static size_t escaped_len(const char *s, const char *set)
{
    size_t n = 0;

    for (; *s; s++)
        n += strchr(set, *s) ? 2 : 1;
    return n;
}

static int is_time(const char *s)
{
    return s && strcmp(s, "time") == 0;
}

/* Drop the ops that repeat a tag key or field key (keeps the first); the
 * rest of the program is unchanged. */
static void dedupe(struct line *l)
{
    size_t k, j, out = 0;

    for (k = 0; k < l->nops; k++) {
        struct op *o = &l->ops[k];
        int dup = 0;

        for (j = 0; j < out && o->key; j++) {
            const struct op *p = &l->ops[j];

            if (p->key && (p->t == OP_TAG) == (o->t == OP_TAG) &&
                strcmp(p->key, o->key) == 0)
                dup = 1;
        }
        if (dup) {
            free(o->key);
            free(o->sval);
            continue;
        }
        l->ops[out++] = *o;
    }
    l->nops = out;
}

/* 1 if lineproto.h promises HUB_EINVAL for this line. */
static int model_invalid(const struct line *l)
{
    size_t k, serieskey, nfields = 0;

    if (!name_ok(l->meas) || l->meas[0] == '#')
        return 1;
    serieskey = escaped_len(l->meas, ", ");
    for (k = 0; k < l->nops; k++) {
        const struct op *o = &l->ops[k];

        if (o->t == OP_TAG) {
            if (nfields > 0 || !name_ok(o->key) || !name_ok(o->sval) || is_time(o->key))
                return 1;
            serieskey += 1 + escaped_len(o->key, ",= ") + 1 + escaped_len(o->sval, ",= ");
            continue;
        }
        if (!name_ok(o->key) || is_time(o->key))
            return 1;
        if ((o->t == OP_FLOAT || o->t == OP_DECIMAL) && !isfinite(o->f))
            return 1;
        if (o->t == OP_STR && !o->sval)
            return 1;
        if (serieskey + KEY_SEP + escaped_len(o->key, ",= ") > MAX_KEY)
            return 1;
        nfields++;
    }
    return nfields == 0 || l->ts < INT64_MIN + 2 || l->ts > INT64_MAX - 1;
}

static int encode(struct buf *b, const struct line *l)
{
    struct lp_line lp;

    lp_begin(&lp, b, l->meas);
    for (size_t k = 0; k < l->nops; k++) {
        const struct op *o = &l->ops[k];

        switch (o->t) {
        case OP_TAG:     lp_tag(&lp, o->key, o->sval); break;
        case OP_FLOAT:
        case OP_DECIMAL: lp_field_float(&lp, o->key, o->f); break;
        case OP_INT:     lp_field_int(&lp, o->key, o->i); break;
        case OP_STR:     lp_field_str(&lp, o->key, o->sval); break;
        case OP_BOOL:    lp_field_bool(&lp, o->key, o->b); break;
        default:         break;
        }
    }
    return lp_end(&lp, l->ts);
}

static int same_bits(double x, double y)
{
    uint64_t a, b;

    memcpy(&a, &x, sizeof(a));
    memcpy(&b, &y, sizeof(b));
    return a == b;
}

/* The string as it must read back: control bytes become spaces. */
static int same_str_value(const char *want, const char *got)
{
    for (; *want; want++, got++) {
        unsigned char c = (unsigned char)*want;
        char w = (c < 0x20 || c == 0x7f) ? ' ' : *want;

        if (*got != w)
            return 0;
    }
    return *got == '\0';
}

/* The line at text[0, n) reads back to exactly what l asked for. */
static void check_roundtrip(const char *text, size_t n, const struct line *l)
{
    struct lp_parsed *p = malloc(sizeof(*p));
    char *arena = malloc(n + 1);
    size_t k, nt = 0, nf = 0;

    FUZZ_CHECK(p && arena, "out of memory");
    FUZZ_CHECK(lp_parse_line(text, n, p, arena, n + 1) == 0,
               "the reference parser refused an accepted line: %.*s", (int)(n < 300 ? n : 300),
               text);
    FUZZ_CHECK(strcmp(p->meas, l->meas) == 0, "measurement");
    for (k = 0; k < l->nops; k++) {
        const struct op *o = &l->ops[k];

        if (o->t == OP_TAG) {
            FUZZ_CHECK(nt < p->ntags, "tag %zu missing", nt);
            FUZZ_CHECK(strcmp(p->tk[nt], o->key) == 0, "tag key %zu", nt);
            FUZZ_CHECK(strcmp(p->tv[nt], o->sval) == 0, "tag value %zu", nt);
            nt++;
            continue;
        }
        FUZZ_CHECK(nf < p->nfields, "field %zu missing", nf);
        FUZZ_CHECK(strcmp(p->f[nf].key, o->key) == 0, "field key %zu", nf);
        switch (o->t) {
        case OP_FLOAT:
        case OP_DECIMAL:
            FUZZ_CHECK(p->f[nf].t == LP_P_FLOAT && same_bits(p->f[nf].f, o->f),
                       "float %zu: %a read back as %a", nf, o->f, p->f[nf].f);
            break;
        case OP_INT:
            FUZZ_CHECK(p->f[nf].t == LP_P_INT && p->f[nf].i == o->i, "int %zu", nf);
            break;
        case OP_STR:
            FUZZ_CHECK(p->f[nf].t == LP_P_STR && same_str_value(o->sval, p->f[nf].s),
                       "string %zu", nf);
            break;
        case OP_BOOL:
            FUZZ_CHECK(p->f[nf].t == LP_P_BOOL && p->f[nf].b == (o->b != 0), "bool %zu", nf);
            break;
        default:
            break;
        }
        nf++;
    }
    FUZZ_CHECK(nt == p->ntags && nf == p->nfields, "extra tags or fields");
    FUZZ_CHECK(p->ts == l->ts, "timestamp");
    free(arena);
    free(p);
}

/* lp_format_double() against the rule in lineproto.h. */
static void check_format(double v)
{
    char got[32], want[32];
    int n, prec;

    n = lp_format_double(got, sizeof(got), v);
    if (!isfinite(v)) {
        FUZZ_CHECK(n == -1, "non-finite formatted");
        return;
    }
    FUZZ_CHECK(n > 0 && (size_t)n == strlen(got), "lp_format_double length");
    for (prec = 15; prec <= 17; prec++) {
        snprintf(want, sizeof(want), "%.*g", prec, v);
        if (same_bits(strtod(want, NULL), v))
            break;
    }
    FUZZ_CHECK(strcmp(got, want) == 0, "%a: lp_format_double gave %s, %%.Ng gives %s", v,
               got, want);
    FUZZ_CHECK(lp_format_double(got, (size_t)n, v) == -1, "too small a buffer accepted");
}

static void run_line(struct buf *b, struct line *l)
{
    size_t before = b->len;
    char *saved = malloc(before + 1);
    int invalid, rc, rc2;
    struct buf free_b;

    FUZZ_CHECK(saved != NULL, "out of memory");
    if (before)
        memcpy(saved, b->data, before);
    dedupe(l);
    invalid = model_invalid(l);
    rc = encode(b, l);

    buf_init(&free_b, 0);
    rc2 = encode(&free_b, l);
    FUZZ_CHECK(rc2 == (invalid ? HUB_EINVAL : HUB_OK),
               "uncapped: lp_end gave %d, the rules say %s", rc2, invalid ? "EINVAL" : "OK");

    if (rc == HUB_OK) {
        FUZZ_CHECK(!invalid, "an invalid line was accepted");
        FUZZ_CHECK(b->len > before && b->data[b->len - 1] == '\n', "line end");
        FUZZ_CHECK(before == 0 || memcmp(b->data, saved, before) == 0,
                   "bytes before the line changed");
        FUZZ_CHECK(b->len - before == free_b.len &&
                   memcmp(b->data + before, free_b.data, free_b.len) == 0,
                   "capped and uncapped encodings differ");
        FUZZ_CHECK(memchr(b->data + before, '\n', b->len - before - 1) == NULL,
                   "a newline inside the line");
        check_roundtrip(b->data + before, b->len - before, l);
    } else {
        FUZZ_CHECK(rc == HUB_EINVAL || rc == HUB_ENOMEM, "unexpected code %d", rc);
        FUZZ_CHECK(rc != HUB_EINVAL || invalid, "a valid line was refused (EINVAL)");
        if (rc == HUB_ENOMEM) {
            FUZZ_CHECK(b->max != 0, "ENOMEM without a cap");
            FUZZ_CHECK(rc2 != HUB_OK || before + free_b.len > b->max,
                       "ENOMEM but the line (%zu bytes) fits: %zu of %zu used", free_b.len,
                       before, b->max);
        }
        FUZZ_CHECK(b->len == before, "rollback: length %zu, was %zu", b->len, before);
        FUZZ_CHECK(before == 0 || memcmp(b->data, saved, before) == 0, "rollback: bytes");
        FUZZ_CHECK(!b->data || b->data[b->len] == '\0', "rollback: NUL");
    }
    for (size_t k = 0; k < l->nops; k++) {
        if (l->ops[k].t == OP_FLOAT || l->ops[k].t == OP_DECIMAL)
            check_format(l->ops[k].f);
    }
    buf_free(&free_b);
    free(saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin in = { data, size };
    struct buf b;
    struct line l;
    uint8_t flags = take_u8(&in);
    size_t cap = 0;

    switch (flags & 3) {
    case 1: cap = take_u8(&in); break;
    case 2: cap = take_u16(&in); break;
    case 3: cap = (size_t)take_u16(&in) * 4; break;
    default: break;
    }
    buf_init(&b, cap);
    if (flags & 4)
        (void)buf_puts(&b, "keep,site=x v=1i 1\n");
    for (int n = 0; n < MAX_LINES && !fin_empty(&in); n++) {
        take_line(&in, &l);
        run_line(&b, &l);
        line_free(&l);
    }
    FUZZ_CHECK(lp_parse_batch(b.data ? b.data : "", b.len, NULL, NULL, NULL) >= 0,
               "the batch does not parse");
    buf_free(&b);
    return 0;
}
