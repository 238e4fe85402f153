/* SPDX-License-Identifier: MIT */
/* test_lineproto.c - the line protocol encoder: a table of hostile names
 * and values with the exact line or error each gives, a reference parser
 * (InfluxDB 1.x rules for the subset we emit) that must give back every
 * accepted row, float round-trips (table, 100000 random bit patterns,
 * 100000 random short decimals), integers, timestamps, the 65535-byte key
 * limit, and rollback on every kind of error including the buffer cap. */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_main.h"
#include "hub_err.h"
#include "lineproto.h"

#define TS      INT64_C(1764295200123000000)
#define TS_TXT  "1764295200123000000"
#define PREFIX  "keep,site=x v=1i 1\n"

/* ---- a reference parser ---------------------------------------------- */
/* Parses one line the way InfluxDB 1.x models/points.go does for what the
 * encoder emits: a separator preceded by a backslash is escaped; the
 * measurement unescapes "\," "\ ", tag keys and values "\," "\ " "\=",
 * field keys "\," "\ " "\=" "\"" (pkg/escape), string values "\\" "\"". */

enum ftype { F_END, F_FLOAT, F_INT, F_STR, F_BOOL };

#define P_MAX   8
#define P_LEN   2100

struct pfield {
    char key[P_LEN];
    enum ftype t;
    double f;
    int64_t i;
    int b;
    char s[P_LEN];
};

struct parsed {
    char meas[P_LEN];
    int ntags;
    char tk[P_MAX][P_LEN];
    char tv[P_MAX][P_LEN];
    int nfields;
    struct pfield f[P_MAX];
    int64_t ts;
};

/* First index >= i of a byte in stops not preceded by a backslash, or n. */
static size_t scan_to(const char *s, size_t i, size_t n, const char *stops)
{
    for (; i < n; i++) {
        if (strchr(stops, s[i]) && (i == 0 || s[i - 1] != '\\'))
            return i;
    }
    return n;
}

/* Copy s[a, b) to dst, turning "\x" into x for x in set. */
static int unescape(char *dst, const char *s, size_t a, size_t b, const char *set)
{
    size_t o = 0;

    if (b - a >= P_LEN)
        return -1;
    while (a < b) {
        if (s[a] == '\\' && a + 1 < b && strchr(set, s[a + 1]))
            a++;
        dst[o++] = s[a++];
    }
    dst[o] = '\0';
    return 0;
}

/* InfluxDB 1.x scanNumber() for floats: [-] then digits, one '.', 'e'/'E'
 * not first, '+'/'-' only after e; at least one digit. */
static int influx_float_ok(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    int dot = 0;

    if (n > 0 && s[0] == '-')
        i++;
    if (i >= n || !((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
        return 0;
    for (; i < n; i++) {
        char c = s[i];

        if (c >= '0' && c <= '9') {
            digits++;
        } else if (c == '.') {
            if (dot)
                return 0;
            dot = 1;
        } else if (c == 'e' || c == 'E') {
            if (i == 0)
                return 0;
        } else if (c == '+' || c == '-') {
            if (s[i - 1] != 'e' && s[i - 1] != 'E')
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
    *out = v;
    return 0;
}

static int parse_field_value(struct pfield *f, const char *s, size_t v0, size_t n,
                             size_t *vend)
{
    size_t j, ve;

    if (v0 >= n)
        return -1;
    if (s[v0] == '"') {
        size_t o = 0;

        for (j = v0 + 1;; ) {
            if (j >= n || o + 1 >= P_LEN)
                return -1;
            if (s[j] == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\')) {
                f->s[o++] = s[j + 1];
                j += 2;
            } else if (s[j] == '"') {
                break;
            } else {
                f->s[o++] = s[j++];
            }
        }
        f->s[o] = '\0';
        f->t = F_STR;
        *vend = j + 1;
        return 0;
    }
    for (ve = v0; ve < n && s[ve] != ',' && s[ve] != ' '; ve++)
        ;
    *vend = ve;
    if (ve - v0 == 4 && memcmp(s + v0, "true", 4) == 0) {
        f->t = F_BOOL;
        f->b = 1;
        return 0;
    }
    if (ve - v0 == 5 && memcmp(s + v0, "false", 5) == 0) {
        f->t = F_BOOL;
        f->b = 0;
        return 0;
    }
    if (s[ve - 1] == 'i') {
        f->t = F_INT;
        return parse_i64(s + v0, ve - v0 - 1, &f->i);
    }
    if (!influx_float_ok(s + v0, ve - v0) || ve - v0 >= 40)
        return -1;
    {
        char tmp[40];
        char *end;

        memcpy(tmp, s + v0, ve - v0);
        tmp[ve - v0] = '\0';
        f->f = strtod(tmp, &end);
        if (*end || !isfinite(f->f))
            return -1;
    }
    f->t = F_FLOAT;
    return 0;
}

/* Parse exactly one line (which must end with its only '\n'). */
static int ref_parse(const char *line, size_t len, struct parsed *p)
{
    size_t n, e, i, k0, ke, v0, ve;

    memset(p, 0, sizeof(*p));
    if (len == 0 || line[len - 1] != '\n')
        return -1;
    n = len - 1;
    for (i = 0; i < n; i++) {
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            return -1;
    }
    if (n == 0 || line[0] == '#' || line[0] == ' ' || line[0] == ',')
        return -1;

    e = scan_to(line, 0, n, ", ");
    if (e == 0 || e >= n || unescape(p->meas, line, 0, e, ", "))
        return -1;
    while (line[e] == ',') {
        if (p->ntags == P_MAX)
            return -1;
        k0 = e + 1;
        ke = scan_to(line, k0, n, "= ,");
        if (ke >= n || line[ke] != '=' || ke == k0)
            return -1;
        v0 = ke + 1;
        ve = scan_to(line, v0, n, ", =");
        if (ve >= n || ve == v0 || line[ve] == '=')
            return -1;
        if (unescape(p->tk[p->ntags], line, k0, ke, ",= ") ||
            unescape(p->tv[p->ntags], line, v0, ve, ",= "))
            return -1;
        p->ntags++;
        e = ve;
    }
    if (line[e] != ' ')
        return -1;
    i = e + 1;
    for (;;) {
        struct pfield *f;

        if (p->nfields == P_MAX)
            return -1;
        f = &p->f[p->nfields];
        k0 = i;
        ke = scan_to(line, k0, n, "= ,");
        if (ke >= n || line[ke] != '=' || ke == k0)
            return -1;
        if (unescape(f->key, line, k0, ke, ",\" ="))
            return -1;
        if (parse_field_value(f, line, ke + 1, n, &ve))
            return -1;
        p->nfields++;
        if (ve >= n)
            return -1;      /* we always write a timestamp */
        if (line[ve] == ' ')
            break;
        if (line[ve] != ',')
            return -1;
        i = ve + 1;
    }
    return parse_i64(line + ve + 1, n - ve - 1, &p->ts);
}

/* ---- the hostile table ----------------------------------------------- */

struct tagkv {
    const char *k, *v;
};

struct fld {
    enum ftype t;
    const char *key;
    double f;
    int64_t i;
    const char *s;
    int b;
    const char *s_back;     /* string as read back, if not s */
};

struct row {
    const char *meas;
    struct tagkv tags[4];
    struct fld fields[4];
    int64_t ts;
    int err;
    const char *want;       /* the line, when err == HUB_OK */
};

#define FF(k, v)        { F_FLOAT, k, v, 0, NULL, 0, NULL }
#define FI(k, v)        { F_INT, k, 0, v, NULL, 0, NULL }
#define FS(k, v)        { F_STR, k, 0, 0, v, 0, NULL }
#define FS2(k, v, back) { F_STR, k, 0, 0, v, 0, back }
#define FB(k, v)        { F_BOOL, k, 0, 0, NULL, v, NULL }
#define OK(line)        HUB_OK, line
#define BAD             HUB_EINVAL, NULL

static const struct row rows[] = {
    /* 0: the DESIGN example: topic parts "a b,c=d" (site) and "1\"x" (id) */
    { "drum", { { "site", "a b,c=d" }, { "id", "1\"x" } },
      { FF("temp_core_c", 56.25) }, TS,
      OK("drum,site=a\\ b\\,c\\=d,id=1\"x temp_core_c=56.25 " TS_TXT "\n") },
    /* 1: everything plain, every field type */
    { "drum", { { "id", "d1" }, { "site", "kube1" } },
      { FF("temp_core_c", 56.2), FI("count", 3), FB("ok", 1), FS("phase", "thermophilic") }, TS,
      OK("drum,id=d1,site=kube1 temp_core_c=56.2,count=3i,ok=true,phase=\"thermophilic\" "
         TS_TXT "\n") },
    /* 2: no tags */
    { "hub", { { NULL, NULL } }, { FB("up", 0) }, TS, OK("hub up=false " TS_TXT "\n") },
    /* measurement: ',' and ' ' escaped, '=' and '"' not */
    { "my meas,x=y", { { NULL, NULL } }, { FI("v", 1) }, TS,
      OK("my\\ meas\\,x=y v=1i " TS_TXT "\n") },
    { "m\"q", { { NULL, NULL } }, { FI("v", 1) }, TS, OK("m\"q v=1i " TS_TXT "\n") },
    { " lead", { { NULL, NULL } }, { FI("v", 1) }, TS, OK("\\ lead v=1i " TS_TXT "\n") },
    { ",", { { NULL, NULL } }, { FI("v", 1) }, TS, OK("\\, v=1i " TS_TXT "\n") },
    { "a#b", { { NULL, NULL } }, { FI("v", 1) }, TS, OK("a#b v=1i " TS_TXT "\n") },
    { "#drum", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { NULL, { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\\um", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "drum\\", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\num", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\rum", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\tum", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\x7fum", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "dr\x01um", { { NULL, NULL } }, { FI("v", 1) }, TS, BAD },
    { "time", { { NULL, NULL } }, { FI("v", 1) }, TS, OK("time v=1i " TS_TXT "\n") },
    /* tag keys and values: ',' '=' ' ' escaped */
    { "m", { { "k k,=", "v v,=" } }, { FI("v", 1) }, TS,
      OK("m,k\\ k\\,\\==v\\ v\\,\\= v=1i " TS_TXT "\n") },
    { "m", { { "=", " " }, { ",", "=" } }, { FI("v", 1) }, TS,
      OK("m,\\==\\ ,\\,=\\= v=1i " TS_TXT "\n") },
    { "m", { { "k", "a " }, { "k2", "b=" } }, { FI("v", 1) }, TS,
      OK("m,k=a\\ ,k2=b\\= v=1i " TS_TXT "\n") },
    { "m", { { "q\"k", "\"v\"" } }, { FI("v", 1) }, TS,
      OK("m,q\"k=\"v\" v=1i " TS_TXT "\n") },
    { "m", { { "k", "#x" } }, { FI("v", 1) }, TS, OK("m,k=#x v=1i " TS_TXT "\n") },
    { "m", { { "k", "time" } }, { FI("v", 1) }, TS, OK("m,k=time v=1i " TS_TXT "\n") },
    { "m", { { "time", "x" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "", "x" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", NULL } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k\\", "x" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "x\\" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "a\\,b" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "a\nb" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "a\rb" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "a\tb" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k", "a\x7f" } }, { FI("v", 1) }, TS, BAD },
    { "m", { { "k\n", "a" } }, { FI("v", 1) }, TS, BAD },
    /* field keys: ',' '=' ' ' escaped, '"' not */
    { "m", { { NULL, NULL } }, { FF("f k=,\"", 1.5) }, TS,
      OK("m f\\ k\\=\\,\"=1.5 " TS_TXT "\n") },
    { "m", { { NULL, NULL } }, { FI(",", 1), FI("=", 2), FI(" ", 3) }, TS,
      OK("m \\,=1i,\\==2i,\\ =3i " TS_TXT "\n") },
    { "m", { { NULL, NULL } }, { FI("#f", 1), FI("Time", 2), FI("times", 3) }, TS,
      OK("m #f=1i,Time=2i,times=3i " TS_TXT "\n") },
    { "m", { { NULL, NULL } }, { FI("time", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("ok", 1), FI("time", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI(NULL, 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("f\\", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("f\n", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("f\r", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("f\t", 1) }, TS, BAD },
    { "m", { { NULL, NULL } }, { FI("f\x7f", 1) }, TS, BAD },
    /* no field at all */
    { "m", { { "k", "v" } }, { { F_END, NULL, 0, 0, NULL, 0, NULL } }, TS, BAD },
    /* UTF-8 is fine everywhere */
    { "suhu\xc2\xb0", { { "lokasi", "Guntung\xe2\x80\x93" "Bontang" }, { "id", "dr\xc3\xbcm" } },
      { FF("temp\xc3\xa9rature_c", 30.5), FS("catatan", "bau \xe2\x9c\x93") }, TS,
      OK("suhu\xc2\xb0,lokasi=Guntung\xe2\x80\x93" "Bontang,id=dr\xc3\xbcm temp\xc3\xa9rature_c=30.5,"
         "catatan=\"bau \xe2\x9c\x93\" " TS_TXT "\n") },
    /* string values: '"' and '\' escaped, control bytes become spaces */
    { "e", { { NULL, NULL } }, { FS("s", "say \"hi\" \\ ok") }, TS,
      OK("e s=\"say \\\"hi\\\" \\\\ ok\" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS("s", "end\\"), FS("t", "\"") }, TS,
      OK("e s=\"end\\\\\",t=\"\\\"\" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS2("s", "a\nb\rc\td\x7f" "e\x01", "a b c d e ") }, TS,
      OK("e s=\"a b c d e \" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS2("s", "line1\n\"q\"\\\n", "line1 \"q\"\\ ") }, TS,
      OK("e s=\"line1 \\\"q\\\"\\\\ \" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS("s", ""), FS("t", "a, b=c d") }, TS,
      OK("e s=\"\",t=\"a, b=c d\" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS("s", "x=\"1\",y=2 3") }, TS,
      OK("e s=\"x=\\\"1\\\",y=2 3\" " TS_TXT "\n") },
    { "e", { { NULL, NULL } }, { FS("s", NULL) }, TS, BAD },
    /* floats */
    { "f", { { NULL, NULL } }, { FF("a", 0.1), FF("b", -0.0), FF("c", 1e300), FF("d", 100.0) }, TS,
      OK("f a=0.1,b=-0,c=1e+300,d=100 " TS_TXT "\n") },
    { "f", { { NULL, NULL } }, { FF("a", NAN) }, TS, BAD },
    { "f", { { NULL, NULL } }, { FF("a", INFINITY) }, TS, BAD },
    { "f", { { NULL, NULL } }, { FF("a", 1.0), FF("b", -INFINITY) }, TS, BAD },
    /* integers */
    { "i", { { NULL, NULL } }, { FI("min", INT64_MIN), FI("max", INT64_MAX), FI("z", 0), FI("n", -1) }, TS,
      OK("i min=-9223372036854775808i,max=9223372036854775807i,z=0i,n=-1i " TS_TXT "\n") },
    { "i", { { NULL, NULL } }, { FI("a", 9), FI("b", 10), FI("c", 99), FI("d", -100) }, TS,
      OK("i a=9i,b=10i,c=99i,d=-100i " TS_TXT "\n") },
    /* timestamps: InfluxDB 1.x takes [INT64_MIN + 2, INT64_MAX - 1] */
    { "t", { { NULL, NULL } }, { FI("v", 1) }, 0, OK("t v=1i 0\n") },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, -1, OK("t v=1i -1\n") },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, INT64_MIN + 2, OK("t v=1i -9223372036854775806\n") },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, INT64_MAX - 1, OK("t v=1i 9223372036854775806\n") },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, INT64_MIN + 1, BAD },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, INT64_MIN, BAD },
    { "t", { { NULL, NULL } }, { FI("v", 1) }, INT64_MAX, BAD },
};

static void add_fields(struct lp_line *l, const struct fld *f, int n)
{
    for (int i = 0; i < n && f[i].t != F_END; i++) {
        switch (f[i].t) {
        case F_FLOAT: lp_field_float(l, f[i].key, f[i].f); break;
        case F_INT:   lp_field_int(l, f[i].key, f[i].i); break;
        case F_STR:   lp_field_str(l, f[i].key, f[i].s); break;
        case F_BOOL:  lp_field_bool(l, f[i].key, f[i].b); break;
        case F_END:   break;
        }
    }
}

static int encode_row(struct buf *b, const struct row *r)
{
    struct lp_line l;

    lp_begin(&l, b, r->meas);
    for (int i = 0; i < 4 && r->tags[i].k; i++)
        lp_tag(&l, r->tags[i].k, r->tags[i].v);
    add_fields(&l, r->fields, 4);
    return lp_end(&l, r->ts);
}

static int same_double(double x, double y)
{
    return memcmp(&x, &y, sizeof(x)) == 0;
}

/* The oracle: the parsed line gives back exactly what was encoded. */
static void check_roundtrip(const char *line, const struct row *r)
{
    struct parsed *p = calloc(1, sizeof(*p));
    int nt = 0, nf = 0;

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(ref_parse(line, strlen(line), p) == 0, "reference parser refused %s", line);
    ck_assert_str_eq(p->meas, r->meas);
    while (nt < 4 && r->tags[nt].k)
        nt++;
    ck_assert_int_eq(p->ntags, nt);
    for (int i = 0; i < nt; i++) {
        ck_assert_str_eq(p->tk[i], r->tags[i].k);
        ck_assert_str_eq(p->tv[i], r->tags[i].v);
    }
    while (nf < 4 && r->fields[nf].t != F_END)
        nf++;
    ck_assert_int_eq(p->nfields, nf);
    for (int i = 0; i < nf; i++) {
        const struct fld *f = &r->fields[i];

        ck_assert_str_eq(p->f[i].key, f->key);
        ck_assert_int_eq(p->f[i].t, f->t);
        switch (f->t) {
        case F_FLOAT:
            ck_assert_msg(same_double(p->f[i].f, f->f), "field %s: %.17g read back as %.17g",
                          f->key, f->f, p->f[i].f);
            break;
        case F_INT:
            ck_assert_int_eq(p->f[i].i, f->i);
            break;
        case F_STR:
            ck_assert_str_eq(p->f[i].s, f->s_back ? f->s_back : f->s);
            break;
        case F_BOOL:
            ck_assert_int_eq(p->f[i].b, !!f->b);
            break;
        case F_END:
            break;
        }
    }
    ck_assert_int_eq(p->ts, r->ts);
    free(p);
}

START_TEST(test_table)
{
    const struct row *r = &rows[_i];
    struct buf b;
    size_t before;
    int rc;

    buf_init(&b, 0);
    ck_assert_int_eq(buf_puts(&b, PREFIX), HUB_OK);
    before = b.len;
    rc = encode_row(&b, r);
    ck_assert_msg(rc == r->err, "row %d: rc %d, want %d", _i, rc, r->err);
    ck_assert_int_eq(b.data[b.len], '\0');
    ck_assert_int_eq(memcmp(b.data, PREFIX, before), 0);
    if (r->err != HUB_OK) {
        ck_assert_uint_eq(b.len, before);
        ck_assert_str_eq(b.data, PREFIX);
    } else {
        ck_assert_str_eq(b.data + before, r->want);
        ck_assert_uint_eq(b.len, before + strlen(r->want));
        ck_assert_int_eq(lp_name_ok(r->meas), 1);
        check_roundtrip(b.data + before, r);
    }
    buf_free(&b);
}
END_TEST

/* The tiny parser itself must refuse what InfluxDB refuses, or the oracle
 * proves nothing. */
static const char *const parser_rejects[] = {
    "m v=1i\n",                 /* no timestamp (we always write one) */
    "m v=1i 1",                 /* no newline */
    "m v=1i 1\n\n",
    "m,k=a\nb v=1i 1\n",
    "#m v=1i 1\n",
    "m,k= v=1i 1\n",
    "m,=v v=1i 1\n",
    "m,k=a=b v=1i 1\n",
    "m,k=a\\ v=1i 1\n",         /* trailing backslash escapes the space */
    "m v=inf 1\n",
    "m v=nan 1\n",
    "m v=1.2.3 1\n",
    "m v=\"abc 1\n",
    "m v=1i,w 1\n",
    "m  v=1i 1\n",
    "m v=1i x\n",
    "m v=99999999999999999999i 1\n",
};

START_TEST(test_parser_rejects)
{
    struct parsed *p = calloc(1, sizeof(*p));
    const char *s = parser_rejects[_i];

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(ref_parse(s, strlen(s), p) != 0, "parser accepted %s", s);
    free(p);
}
END_TEST

START_TEST(test_parser_accepts)
{
    struct parsed *p = calloc(1, sizeof(*p));
    const char *s = "a\\ b\\,c,k\\=1=v\\,2 f\\ 1=\"x\\\"y\\\\\",g=-1.5e-3,h=7i,j=true -5\n";

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(ref_parse(s, strlen(s), p), 0);
    ck_assert_str_eq(p->meas, "a b,c");
    ck_assert_int_eq(p->ntags, 1);
    ck_assert_str_eq(p->tk[0], "k=1");
    ck_assert_str_eq(p->tv[0], "v,2");
    ck_assert_int_eq(p->nfields, 4);
    ck_assert_str_eq(p->f[0].key, "f 1");
    ck_assert_str_eq(p->f[0].s, "x\"y\\");
    ck_assert(p->f[1].t == F_FLOAT && p->f[1].f == -1.5e-3);
    ck_assert(p->f[2].t == F_INT && p->f[2].i == 7);
    ck_assert(p->f[3].t == F_BOOL && p->f[3].b == 1);
    ck_assert_int_eq(p->ts, -5);
    free(p);
}
END_TEST

/* A 1000-byte tag value (with escapes) is fine and reads back. */
START_TEST(test_long_tag_value)
{
    static const char pat[] = "ab c,d=e";
    char *v = malloc(1001), *want = malloc(4000);
    struct row r = { "drum", { { "id", NULL } }, { FF("temp_core_c", 56.25) }, TS, HUB_OK, NULL };
    struct buf b;
    size_t o = 0;

    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(want);
    for (int i = 0; i < 1000; i++)
        v[i] = pat[i % 8];
    v[1000] = '\0';
    r.tags[0].v = v;
    o += (size_t)sprintf(want, "drum,id=");
    for (int i = 0; i < 1000; i++) {
        if (v[i] == ' ' || v[i] == ',' || v[i] == '=')
            want[o++] = '\\';
        want[o++] = v[i];
    }
    sprintf(want + o, " temp_core_c=56.25 %s\n", TS_TXT);
    buf_init(&b, 0);
    ck_assert_int_eq(encode_row(&b, &r), HUB_OK);
    ck_assert_str_eq(b.data, want);
    check_roundtrip(b.data, &r);
    buf_free(&b);
    free(v);
    free(want);
}
END_TEST

/* ---- floats ---------------------------------------------------------- */

/* The rule in lineproto.h, written the slow, obvious way. */
static int ref_format(char *out, double v)
{
    int n = 0;

    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (same_double(strtod(out, NULL), v))
            break;
    }
    return n;
}

static void check_double(double v)
{
    char out[32], ref[32];
    int n = lp_format_double(out, sizeof(out), v);

    ck_assert_msg(n > 0, "%.17g not formatted", v);
    ck_assert_int_eq((int)strlen(out), n);
    ck_assert_msg(same_double(strtod(out, NULL), v), "%.17g written %s", v, out);
    ck_assert_msg(influx_float_ok(out, (size_t)n), "InfluxDB would refuse %s", out);
    ref_format(ref, v);
    ck_assert_msg(strcmp(out, ref) == 0, "%.17g written %s, want %s", v, out, ref);
}

struct dcase {
    double v;
    const char *want;
};

static const struct dcase dcases[] = {
    { 0.1, "0.1" },
    { 1 / 3.0, "0.3333333333333333" },
    { 2 / 3.0, "0.6666666666666666" },
    { 1e300, "1e+300" },
    { -1e-300, "-1e-300" },
    { 5e-324, "4.94065645841247e-324" },
    { -5e-324, "-4.94065645841247e-324" },
    { DBL_MIN, "2.2250738585072014e-308" },
    { DBL_MAX, "1.7976931348623157e+308" },
    { -DBL_MAX, "-1.7976931348623157e+308" },
    { -0.0, "-0" },
    { 0.0, "0" },
    { 56.25, "56.25" },
    { -56.2, "-56.2" },
    { 9007199254740993.0, "9007199254740992" },     /* 2^53 + 1 rounds to 2^53 */
    { 9007199254740991.0, "9007199254740991" },
    { 0.1 + 0.2, "0.30000000000000004" },
    { 1.0, "1" },
    { 100.0, "100" },
    { 1e-4, "0.0001" },
    { 1.5e-4, "0.00015" },
    { 9.999e-5, "9.999e-05" },
    { 1e-5, "1e-05" },
    { 123456789012345.0, "123456789012345" },
    { 999999999999999.0, "999999999999999" },
    { 1e15, "1e+15" },
    { 1234567890123456.0, "1234567890123456" },
    { 1e22, "1e+22" },
    { 1e23, "1e+23" },
    { 12.3456, "12.3456" },
    { 0.000123, "0.000123" },
    { -1e-4, "-0.0001" },
    { 65535.0, "65535" },
    { 85.0, "85" },
    { -127.0, "-127" },
    { 4.35, "4.35" },
    { 1.005, "1.005" },
    { 2.675, "2.675" },
    { 0.3, "0.3" },
};

START_TEST(test_double_table)
{
    const struct dcase *c = &dcases[_i];
    char out[32];
    int n = lp_format_double(out, sizeof(out), c->v);

    ck_assert_str_eq(out, c->want);
    ck_assert_int_eq(n, (int)strlen(c->want));
    check_double(c->v);
}
END_TEST

START_TEST(test_double_bad)
{
    char out[32];

    ck_assert_int_eq(lp_format_double(out, sizeof(out), NAN), -1);
    ck_assert_int_eq(lp_format_double(out, sizeof(out), -NAN), -1);
    ck_assert_int_eq(lp_format_double(out, sizeof(out), INFINITY), -1);
    ck_assert_int_eq(lp_format_double(out, sizeof(out), -INFINITY), -1);
    /* out too small: the NUL must fit too */
    ck_assert_int_eq(lp_format_double(out, 5, 56.25), -1);
    ck_assert_int_eq(lp_format_double(out, 0, 56.25), -1);
    ck_assert_int_eq(lp_format_double(out, 6, 56.25), 5);
    ck_assert_str_eq(out, "56.25");
    ck_assert_int_eq(lp_format_double(out, 24, -DBL_MAX), -1);
    ck_assert_int_eq(lp_format_double(out, 25, -DBL_MAX), 24);
    ck_assert_int_eq(lp_format_double(out, 25, -2.2250738585072014e-308), 24);
}
END_TEST

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* 100000 doubles from random bit patterns (all exponents). */
START_TEST(test_double_random_bits)
{
    uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
    int done = 0;

    while (done < hub_test_iters(100000)) {
        uint64_t bits = xorshift64(&seed);
        double v;

        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v))
            continue;
        check_double(v);
        done++;
    }
}
END_TEST

/* 100000 short decimals m / 10^k and integers, as sensors send them:
 * the hand-written path must give exactly what the %.15g rule gives. */
START_TEST(test_double_random_decimals)
{
    static const double p10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
    uint64_t seed = 12345;

    for (long i = 0; i < hub_test_iters(100000); i++) {
        uint64_t r = xorshift64(&seed);
        uint64_t m = r % (i % 3 == 0 ? UINT64_C(100000) : UINT64_C(1000000000000000));
        double v = (double)m / p10[(r >> 50) % 10];

        if (r >> 63)
            v = -v;
        check_double(v);
        check_double((double)(int64_t)(r >> 12));
    }
}
END_TEST

/* ---- names ----------------------------------------------------------- */

struct ncase {
    const char *s;
    int ok;
};

static const struct ncase ncases[] = {
    { "temp_core_c", 1 }, { "a b,c=d", 1 }, { "1\"x", 1 }, { "#x", 1 }, { "time", 1 },
    { " ", 1 }, { "dr\xc3\xbcm", 1 }, { "", 0 }, { NULL, 0 }, { "a\\b", 0 }, { "\\", 0 },
    { "a\nb", 0 }, { "a\rb", 0 }, { "a\tb", 0 }, { "\x7f", 0 }, { "\x1f", 0 }, { "\x01x", 0 },
};

START_TEST(test_name_ok)
{
    ck_assert_int_eq(lp_name_ok(ncases[_i].s), ncases[_i].ok);
}
END_TEST

/* ---- rollback -------------------------------------------------------- */

enum fail_at {
    FAIL_TAG2,          /* second tag is bad                      */
    FAIL_TIME_FIELD,    /* "time" field after tags and a field    */
    FAIL_NAN,           /* NaN after tags and a field             */
    FAIL_STR_KEY,       /* bad key of a string field              */
    FAIL_NO_FIELD,      /* lp_end() with tags only                */
    FAIL_TAG_LATE,      /* a tag after a field                    */
    FAIL_TS,            /* a timestamp InfluxDB cannot hold       */
    FAIL_N
};

START_TEST(test_rollback_after_tags)
{
    struct buf b;
    struct lp_line l;
    char *snap;
    size_t before, mid;

    buf_init(&b, 0);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(buf_puts(&b, PREFIX), HUB_OK);
    before = b.len;
    snap = malloc(before + 1);
    ck_assert_ptr_nonnull(snap);
    memcpy(snap, b.data, before + 1);

    lp_begin(&l, &b, "drum");
    lp_tag(&l, "id", "d1");
    if (_i == FAIL_TAG2)
        lp_tag(&l, "site", "a\nb");
    else
        lp_tag(&l, "site", "kube1");
    if (_i != FAIL_NO_FIELD)
        lp_field_float(&l, "temp_core_c", 56.25);
    ck_assert(b.len > before);
    mid = b.len;
    switch (_i) {
    case FAIL_TIME_FIELD: lp_field_int(&l, "time", 1); break;
    case FAIL_NAN:        lp_field_float(&l, "x", NAN); break;
    case FAIL_STR_KEY:    lp_field_str(&l, "k\\", "v"); break;
    case FAIL_TAG_LATE:   lp_tag(&l, "late", "x"); break;
    default:              break;
    }
    if (_i != FAIL_TS && _i != FAIL_NO_FIELD) {
        /* errors are sticky: nothing more is written after the first */
        ck_assert_int_eq(l.err, HUB_EINVAL);
        lp_field_float(&l, "more", 1.0);
        lp_field_str(&l, "s", "x");
        lp_tag(&l, "t", "x");
        ck_assert_uint_eq(b.len, mid);
    }
    ck_assert_int_eq(lp_end(&l, _i == FAIL_TS ? INT64_MAX : TS), HUB_EINVAL);
    ck_assert_uint_eq(b.len, before);
    ck_assert_int_eq(memcmp(b.data, snap, before + 1), 0);

    /* and the buffer takes the next line as if nothing happened */
    lp_begin(&l, &b, "drum");
    lp_field_int(&l, "v", 1);
    ck_assert_int_eq(lp_end(&l, 7), HUB_OK);
    ck_assert_str_eq(b.data + before, "drum v=1i 7\n");
    free(snap);
    buf_free(&b);
}
END_TEST

/* After every call the buffer is within its cap, NUL-terminated, and (while
 * no error happened) holds a prefix of the expected line. */
static void watch(const struct lp_line *l, const struct buf *b, size_t plen, const char *want)
{
    ck_assert(b->len <= b->max);
    ck_assert_int_eq(b->data[b->len], '\0');
    if (l->err == HUB_OK)
        ck_assert_int_eq(strncmp(b->data + plen, want, b->len - plen), 0);
}

static int encode_row_watched(struct buf *b, const struct row *r)
{
    struct lp_line l;
    size_t plen = b->len;

    lp_begin(&l, b, r->meas);
    watch(&l, b, plen, r->want);
    for (int i = 0; i < 4 && r->tags[i].k; i++) {
        lp_tag(&l, r->tags[i].k, r->tags[i].v);
        watch(&l, b, plen, r->want);
    }
    for (int i = 0; i < 4 && r->fields[i].t != F_END; i++) {
        add_fields(&l, &r->fields[i], 1);
        watch(&l, b, plen, r->want);
    }
    return lp_end(&l, r->ts);
}

/* A cap hit anywhere in the line leaves the buffer as it was; the exact
 * fit succeeds. Every accepted row of the table, at every byte. */
START_TEST(test_rollback_cap)
{
    const struct row *r = &rows[_i];
    struct buf b;
    size_t plen = strlen(PREFIX), llen;

    if (r->err != HUB_OK)
        return;
    llen = strlen(r->want);
    for (size_t cap = plen; cap <= plen + llen; cap++) {
        int rc;

        buf_init(&b, cap);
        ck_assert_int_eq(buf_puts(&b, PREFIX), HUB_OK);
        rc = encode_row_watched(&b, r);
        if (cap < plen + llen) {
            ck_assert_msg(rc == HUB_ENOMEM, "row %d, cap %zu: rc %d", _i, cap, rc);
            ck_assert_uint_eq(b.len, plen);
            ck_assert_str_eq(b.data, PREFIX);
        } else {
            ck_assert_int_eq(rc, HUB_OK);
            ck_assert_str_eq(b.data + plen, r->want);
        }
        buf_free(&b);
    }
}
END_TEST

/* The first error wins: a cap hit then a bad name still reports ENOMEM. */
START_TEST(test_first_error_wins)
{
    struct buf b;
    struct lp_line l;

    buf_init(&b, 8);
    lp_begin(&l, &b, "drum");
    lp_tag(&l, "site", "kube1");        /* 11 bytes > 8 */
    lp_tag(&l, "time", "x");
    lp_field_float(&l, "x", NAN);
    ck_assert_int_eq(lp_end(&l, TS), HUB_ENOMEM);
    ck_assert_uint_eq(b.len, 0);

    buf_free(&b);
    buf_init(&b, 0);
    lp_begin(&l, &b, "drum");
    lp_tag(&l, "time", "x");
    ck_assert_int_eq(lp_end(&l, TS), HUB_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST

/* ---- the 65535-byte key limit ----------------------------------------- */

struct kcase {
    size_t vlen;        /* tag value length ("m,k=" + value is the key) */
    const char *f1;     /* first field key  */
    const char *f2;     /* second field key, or NULL */
    int err;
};

/* key + 4 + field key must be <= 65535; the key is 4 + vlen. */
static const struct kcase kcases[] = {
    { 65526, "f", NULL, HUB_OK },
    { 65527, "f", NULL, HUB_EINVAL },
    { 65525, "f,", NULL, HUB_EINVAL },  /* the escaped key counts: "f\," */
    { 65524, "f,", NULL, HUB_OK },
    { 65520, "f", "abcdefg", HUB_OK },   /* 65524 + 4 + 7 = 65535 */
    { 65520, "f", "abcdefgh", HUB_EINVAL },
    { 65520, "f", "abcdef=", HUB_EINVAL },  /* "abcdef\=" is 8 */
    { 1000, "f", "g", HUB_OK },
};

START_TEST(test_key_limit)
{
    const struct kcase *c = &kcases[_i];
    char *v = malloc(c->vlen + 1);
    struct buf b;
    struct lp_line l;
    int rc;

    ck_assert_ptr_nonnull(v);
    memset(v, 'v', c->vlen);
    v[c->vlen] = '\0';
    buf_init(&b, 0);
    buf_puts(&b, PREFIX);
    lp_begin(&l, &b, "m");
    lp_tag(&l, "k", v);
    lp_field_int(&l, c->f1, 1);
    if (c->f2)
        lp_field_int(&l, c->f2, 2);
    rc = lp_end(&l, TS);
    ck_assert_int_eq(rc, c->err);
    if (rc == HUB_OK)
        ck_assert_uint_eq(b.len, strlen(PREFIX) + 4 + c->vlen + 1 + strlen(c->f1) +
                          (strchr(c->f1, ',') ? 1 : 0) + 3 +
                          (c->f2 ? 1 + strlen(c->f2) + 3 : 0) + 1 + strlen(TS_TXT) + 1);
    else
        ck_assert_str_eq(b.data, PREFIX);
    buf_free(&b);
    free(v);
}
END_TEST

/* ---- many lines in one buffer ---------------------------------------- */

START_TEST(test_batch)
{
    struct buf b;
    size_t len = 0;

    buf_init(&b, 0);
    for (int i = 0; i < (int)(sizeof(rows) / sizeof(rows[0])); i++) {
        int rc = encode_row(&b, &rows[i]);

        ck_assert_int_eq(rc, rows[i].err);
        if (rc == HUB_OK) {
            ck_assert_str_eq(b.data + len, rows[i].want);
            len += strlen(rows[i].want);
        }
        ck_assert_uint_eq(b.len, len);
    }
    buf_free(&b);
}
END_TEST

static Suite *lineproto_suite(void)
{
    Suite *s = suite_create("lineproto");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
    tcase_add_loop_test(tc, test_parser_rejects, 0,
                        (int)(sizeof(parser_rejects) / sizeof(parser_rejects[0])));
    tcase_add_test(tc, test_parser_accepts);
    tcase_add_test(tc, test_long_tag_value);
    tcase_add_loop_test(tc, test_double_table, 0, (int)(sizeof(dcases) / sizeof(dcases[0])));
    tcase_add_test(tc, test_double_bad);
    tcase_add_test(tc, test_double_random_bits);
    tcase_add_test(tc, test_double_random_decimals);
    tcase_add_loop_test(tc, test_name_ok, 0, (int)(sizeof(ncases) / sizeof(ncases[0])));
    tcase_add_loop_test(tc, test_rollback_after_tags, 0, FAIL_N);
    tcase_add_loop_test(tc, test_rollback_cap, 0, (int)(sizeof(rows) / sizeof(rows[0])));
    tcase_add_test(tc, test_first_error_wins);
    tcase_add_loop_test(tc, test_key_limit, 0, (int)(sizeof(kcases) / sizeof(kcases[0])));
    tcase_add_test(tc, test_batch);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(lineproto_suite)
