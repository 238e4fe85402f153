/* SPDX-License-Identifier: MIT */
/* lineproto.c - InfluxDB line protocol encoder; the rules are in lineproto.h.
 *
 * Every piece of a line (the measurement, one tag, one field, the
 * timestamp) is first checked and measured in one pass over its bytes,
 * then exactly that many bytes are reserved with one buf_reserve() and
 * written in place, copying runs of plain bytes with memcpy(). A piece
 * either lands whole or not at all, the buffer cap is honoured to the byte
 * (no worst-case over-reservation), and lp_end() cuts an unfinished line
 * back to l->start.
 *
 * Numbers: integers and timestamps are converted by hand. A float that is
 * a short decimal (most sensor readings: 56.25, 52, 0.1) is converted by
 * hand too, to exactly the text %.15g would give; any other float goes
 * through snprintf("%.15g" / "%.16g" / "%.17g") and strtod(). Those two
 * follow LC_NUMERIC: this file assumes the "C" locale, which holds because
 * the hub never calls setlocale(). With a ',' decimal point the output
 * would still read back through strtod() but would corrupt the line.
 */
#include "lineproto.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_err.h"

/* InfluxDB 1.x models.MaxKeyLength, and the 4 bytes of tsm1's field key
 * separator that seriesKeySize() adds. */
#define LP_MAX_KEY      65535u
#define LP_KEY_SEP_LEN  4u

/* InfluxDB 1.x models.MinNanoTime / MaxNanoTime. */
#define LP_MIN_TS       (INT64_MIN + 2)
#define LP_MAX_TS       (INT64_MAX - 1)

/* Byte classes. Names: C_BAD is refused anywhere, C_ESC_M is escaped in a
 * measurement, C_ESC_K in a tag key, tag value or field key. String field
 * values: C_STR_ESC is escaped, C_STR_CTL becomes a space. */
enum {
    C_BAD     = 1,
    C_ESC_M   = 2,
    C_ESC_K   = 4,
    C_STR_ESC = 8,
    C_STR_CTL = 16
};

#define CTL (C_BAD | C_STR_CTL)
static const unsigned char cls[256] = {
    /* 0x00-0x1f: control bytes */
    CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL,
    CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL,
    [' ']  = C_ESC_M | C_ESC_K,
    [',']  = C_ESC_M | C_ESC_K,
    ['=']  = C_ESC_K,
    ['"']  = C_STR_ESC,
    ['\\'] = C_BAD | C_STR_ESC,
    [0x7f] = CTL,
};
#undef CTL

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const double pow10_tab[19] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18
};

/* ---- small helpers --------------------------------------------------- */

/* Write the decimal digits of u so that they end at 'end'; return the
 * first. */
static char *u64_digits(char *end, uint64_t u)
{
    char *p = end;

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);

        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    return p;
}

/* Decimal text of v in out (at least 20 bytes, not NUL-terminated);
 * returns the length. INT64_MIN is fine: the magnitude is taken unsigned. */
static size_t i64_text(char *out, int64_t v)
{
    char tmp[20];
    char *end = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(end, u);
    size_t n = (size_t)(end - p), k = 0;

    if (v < 0)
        out[k++] = '-';
    memcpy(out + k, p, n);
    return k + n;
}

/* Check and measure a name. Returns its length and sets *nesc to the
 * number of bytes that take a backslash (those in class esc), or returns
 * SIZE_MAX if the name is empty or holds a C_BAD byte. */
static size_t name_scan(const char *s, unsigned esc, size_t *nesc)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i, e = 0;

    *nesc = 0;
    for (i = 0; u[i]; i++) {
        unsigned c = cls[u[i]];

        if (c & C_BAD)
            return SIZE_MAX;
        if (c & esc)
            e++;
    }
    *nesc = e;
    return i ? i : SIZE_MAX;
}

/* Copy the n bytes of s to out, putting a backslash before each byte of
 * class esc; nesc is how many there are. Returns the end of the output. */
static char *put_escaped(char *out, const char *s, size_t n, unsigned esc,
                         size_t nesc)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0, i;

    if (nesc == 0) {
        memcpy(out, s, n);
        return out + n;
    }
    for (i = 0; i < n; i++) {
        if (!(cls[u[i]] & esc))
            continue;
        memcpy(out, s + run, i - run);
        out += i - run;
        *out++ = '\\';
        *out++ = s[i];
        run = i + 1;
    }
    memcpy(out, s + run, n - run);
    return out + (n - run);
}

/* Reserve n more bytes; on failure record the error. Returns where to
 * write, or NULL. */
static char *reserve(struct lp_line *l, size_t n)
{
    int rc = buf_reserve(l->b, n);

    if (rc != HUB_OK) {
        l->err = rc;
        return NULL;
    }
    return l->b->data + l->b->len;
}

/* Account for bytes written in place by the caller of reserve(). */
static void commit(struct lp_line *l, char *end)
{
    l->b->len = (size_t)(end - l->b->data);
    l->b->data[l->b->len] = '\0';
}

static int is_time(const char *s)
{
    return s[0] == 't' && s[1] == 'i' && s[2] == 'm' && s[3] == 'e' && s[4] == '\0';
}

/* Length of the series key (escaped measurement and tags) of a line that
 * already has at least one field: everything up to the first unescaped
 * space. The encoder writes a backslash only as an escape prefix. */
static size_t series_key_len(const struct lp_line *l)
{
    const char *p = l->b->data + l->start;
    size_t n = l->b->len - l->start, i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == ' ')
            return i;
    }
    return n;
}

/* ---- floats ---------------------------------------------------------- */

/* If a (> 0) is m / 10^k for an integer m < 10^15 and 1e-4 <= a < 1e15,
 * write it as %.15g would (fixed notation, no trailing zeros) and return
 * the length; else return 0. m / 10^k is a correctly rounded division of
 * two exact doubles, so it equals what strtod() makes of the decimal text:
 * the text reads back to a exactly. */
static size_t short_decimal(char *out, double a)
{
    char tmp[20];
    char *end = tmp + sizeof(tmp), *p, *o = out;
    uint64_t m = 0;
    size_t nd;
    int k, found = 0;

    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (k = 0; k < 19; k++) {
        double s = a * pow10_tab[k];

        if (s >= 1e15)
            return 0;
        m = (uint64_t)(s + 0.5);
        if ((double)m / pow10_tab[k] == a) {
            found = 1;
            break;
        }
    }
    if (!found)
        return 0;
    while (k > 0 && m % 10 == 0) {
        m /= 10;
        k--;
    }
    p = u64_digits(end, m);
    nd = (size_t)(end - p);
    if (k == 0) {
        memcpy(o, p, nd);
        return nd;
    }
    if (nd > (size_t)k) {
        memcpy(o, p, nd - (size_t)k);
        o += nd - (size_t)k;
        *o++ = '.';
        memcpy(o, p + nd - (size_t)k, (size_t)k);
        o += k;
    } else {
        *o++ = '0';
        *o++ = '.';
        memset(o, '0', (size_t)k - nd);
        o += (size_t)k - nd;
        memcpy(o, p, nd);
        o += nd;
    }
    return (size_t)(o - out);
}

static int same_bits(double x, double y)
{
    uint64_t a, b;

    memcpy(&a, &x, sizeof(a));
    memcpy(&b, &y, sizeof(b));
    return a == b;
}

/* Text of a finite v in out (at least 32 bytes), NUL-terminated; returns
 * the length. */
static size_t double_text(char *out, double v)
{
    size_t n;
    int prec, len = 0;

    if (v == 0.0) {
        if (signbit(v)) {
            memcpy(out, "-0", 3);
            return 2;
        }
        memcpy(out, "0", 2);
        return 1;
    }
    if (v < 0) {
        n = short_decimal(out + 1, -v);
        if (n) {
            out[0] = '-';
            out[n + 1] = '\0';
            return n + 1;
        }
    } else {
        n = short_decimal(out, v);
        if (n) {
            out[n] = '\0';
            return n;
        }
    }
    for (prec = 15; prec <= 17; prec++) {
        len = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || same_bits(strtod(out, NULL), v))
            break;
    }
    return (size_t)len;
}

int lp_format_double(char *out, size_t outlen, double v)
{
    char tmp[32];
    size_t n;

    if (!isfinite(v))
        return -1;
    n = double_text(tmp, v);
    if (n >= outlen)
        return -1;
    memcpy(out, tmp, n + 1);
    return (int)n;
}

/* ---- the line -------------------------------------------------------- */

int lp_name_ok(const char *s)
{
    size_t e;

    return s && name_scan(s, 0, &e) != SIZE_MAX;
}

void lp_begin(struct lp_line *l, struct buf *b, const char *measurement)
{
    size_t n, e;
    char *w;

    l->b = b;
    l->start = b->len;
    l->nfields = 0;
    l->err = HUB_OK;
    if (!measurement || measurement[0] == '#') {
        l->err = HUB_EINVAL;
        return;
    }
    n = name_scan(measurement, C_ESC_M, &e);
    if (n == SIZE_MAX) {
        l->err = HUB_EINVAL;
        return;
    }
    w = reserve(l, n + e);
    if (w)
        commit(l, put_escaped(w, measurement, n, C_ESC_M, e));
}

void lp_tag(struct lp_line *l, const char *key, const char *value)
{
    size_t kn, ke, vn, ve;
    char *w;

    if (l->err != HUB_OK)
        return;
    if (l->nfields > 0 || !key || !value || is_time(key)) {
        l->err = HUB_EINVAL;
        return;
    }
    kn = name_scan(key, C_ESC_K, &ke);
    vn = name_scan(value, C_ESC_K, &ve);
    if (kn == SIZE_MAX || vn == SIZE_MAX) {
        l->err = HUB_EINVAL;
        return;
    }
    w = reserve(l, 1 + kn + ke + 1 + vn + ve);
    if (!w)
        return;
    *w++ = ',';
    w = put_escaped(w, key, kn, C_ESC_K, ke);
    *w++ = '=';
    commit(l, put_escaped(w, value, vn, C_ESC_K, ve));
}

/* Check the field key and reserve room for ' ' or ',', the escaped key,
 * '=' and vlen more bytes; write all but the value. Returns where the
 * value goes, or NULL with l->err set. */
static char *field_head(struct lp_line *l, const char *key, size_t vlen)
{
    size_t kn, ke, sofar;
    char *w;

    if (l->err != HUB_OK)
        return NULL;
    if (!key || is_time(key)) {
        l->err = HUB_EINVAL;
        return NULL;
    }
    kn = name_scan(key, C_ESC_K, &ke);
    if (kn == SIZE_MAX) {
        l->err = HUB_EINVAL;
        return NULL;
    }
    /* InfluxDB refuses a line when series key + 4 + field key > 65535.
     * The line so far bounds the series key, so only a long line pays for
     * finding where the key ends. */
    sofar = l->b->len - l->start;
    if (sofar + LP_KEY_SEP_LEN + kn + ke > LP_MAX_KEY &&
        (l->nfields == 0 ? sofar : series_key_len(l)) + LP_KEY_SEP_LEN + kn + ke >
            LP_MAX_KEY) {
        l->err = HUB_EINVAL;
        return NULL;
    }
    w = reserve(l, 1 + kn + ke + 1 + vlen);
    if (!w)
        return NULL;
    *w++ = l->nfields == 0 ? ' ' : ',';
    w = put_escaped(w, key, kn, C_ESC_K, ke);
    *w++ = '=';
    return w;
}

static void field_raw(struct lp_line *l, const char *key, const char *v, size_t n)
{
    char *w = field_head(l, key, n);

    if (!w)
        return;
    memcpy(w, v, n);
    commit(l, w + n);
    l->nfields++;
}

void lp_field_float(struct lp_line *l, const char *key, double v)
{
    char tmp[32];

    if (l->err != HUB_OK)
        return;
    if (!isfinite(v)) {
        l->err = HUB_EINVAL;
        return;
    }
    field_raw(l, key, tmp, double_text(tmp, v));
}

void lp_field_int(struct lp_line *l, const char *key, int64_t v)
{
    char tmp[24];
    size_t n;

    if (l->err != HUB_OK)
        return;
    n = i64_text(tmp, v);
    tmp[n++] = 'i';
    field_raw(l, key, tmp, n);
}

void lp_field_bool(struct lp_line *l, const char *key, int v)
{
    if (v)
        field_raw(l, key, "true", 4);
    else
        field_raw(l, key, "false", 5);
}

void lp_field_str(struct lp_line *l, const char *key, const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t n, e = 0, run = 0, i;
    char *w;

    if (l->err != HUB_OK)
        return;
    if (!v) {
        l->err = HUB_EINVAL;
        return;
    }
    for (n = 0; u[n]; n++)
        if (cls[u[n]] & C_STR_ESC)
            e++;
    w = field_head(l, key, 1 + n + e + 1);
    if (!w)
        return;
    *w++ = '"';
    for (i = 0; i < n; i++) {
        unsigned c = cls[u[i]];

        if (!(c & (C_STR_ESC | C_STR_CTL)))
            continue;
        memcpy(w, v + run, i - run);
        w += i - run;
        if (c & C_STR_ESC) {
            *w++ = '\\';
            *w++ = v[i];
        } else {
            *w++ = ' ';
        }
        run = i + 1;
    }
    memcpy(w, v + run, n - run);
    w += n - run;
    *w++ = '"';
    commit(l, w);
    l->nfields++;
}

int lp_end(struct lp_line *l, int64_t ts_ns)
{
    char tmp[24];
    size_t n;
    char *w;

    if (l->err == HUB_OK && (l->nfields == 0 || ts_ns < LP_MIN_TS || ts_ns > LP_MAX_TS))
        l->err = HUB_EINVAL;
    if (l->err == HUB_OK) {
        tmp[0] = ' ';
        n = 1 + i64_text(tmp + 1, ts_ns);
        tmp[n++] = '\n';
        w = reserve(l, n);
        if (w) {
            memcpy(w, tmp, n);
            commit(l, w + n);
        }
    }
    if (l->err != HUB_OK)
        buf_truncate(l->b, l->start);
    return l->err;
}
