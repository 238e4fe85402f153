/* SPDX-License-Identifier: MIT */
/* decode.c - MQTT topic + payload -> struct message (see decode.h).
 *
 * The only file that talks to cJSON. Pure: no I/O, no logging, no mutable
 * globals. The plain-number path does no allocation; the JSON paths
 * allocate only inside cJSON and always free what it built. */
#include "decode.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub_err.h"

#define DEC_MAX_LEVELS   16     /* levels in a template (and so in a topic) */
#define DEC_MAX_TMPL_LEN 1024   /* bytes of one template                    */
#define DEC_MAX_KINDS    64
#define DEC_NUM_MAX      64     /* bytes of a plain-number payload + NUL    */

/* Largest "ts" in ms whose ns value still fits in int64_t (2262-04-11). */
#define DEC_MAX_TS_MS    9223372036854.0

enum lvl_type { LVL_LIT, LVL_ANY, LVL_SITE, LVL_KIND, LVL_ID, LVL_FIELD };

struct tlevel {
    enum lvl_type type;
    const char *lit;            /* into tmpl.text, when LVL_LIT */
    size_t len;
};

struct tmpl {
    char *text;                 /* owned copy, '/' replaced by NUL */
    size_t nlevels;
    struct tlevel lv[DEC_MAX_LEVELS];
    int has_field;
};

struct decoder {
    size_t ntmpl;
    struct tmpl *t;
    size_t nkinds;
    char (*kinds)[HUB_NAME_MAX];
};

static const char *const default_templates[] = {
    "kube/{site}/{kind}/{id}/{field}",
    "kube/{site}/{kind}/{id}",
};
static const char *const default_kinds[] = { "drum", "tank", "site" };

/* Names that must never become a field or text key. */
static const char *const reserved_names[] = { "time", "site", "kind", "id" };

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- names ------------------------------------------------------------ */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return 0;
        }
        i += need + 1;
    }
    return 1;
}

/* The rules of lp_name_ok() (non-empty, no byte < 0x20 or 0x7f, no
 * backslash) plus valid UTF-8 and shorter than HUB_NAME_MAX. Works on a
 * length-delimited slice so topic levels need no copy to be checked. */
static int name_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    if (n == 0 || n >= HUB_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f || u[i] == '\\')
            return 0;
    }
    return utf8_ok(u, n);
}

static int is_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++) {
        if (strcmp(s, reserved_names[i]) == 0)
            return 1;
    }
    return 0;
}

/* Copy a checked name (n < HUB_NAME_MAX) into a name buffer. */
static void copy_name(char dst[HUB_NAME_MAX], const char *s, size_t n)
{
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* ---- templates -------------------------------------------------------- */

static int compile_template(struct tmpl *t, const char *src, size_t idx,
                            char *err, size_t errlen)
{
    size_t n, start = 0;
    int seen[LVL_FIELD + 1] = { 0 };

    if (!src || !*src) {
        set_err(err, errlen, "topic template %zu is empty", idx + 1);
        return HUB_EINVAL;
    }
    n = strlen(src);
    if (n >= DEC_MAX_TMPL_LEN) {
        set_err(err, errlen, "topic template %zu is longer than %d bytes", idx + 1,
                DEC_MAX_TMPL_LEN - 1);
        return HUB_EINVAL;
    }
    t->text = malloc(n + 1);
    if (!t->text) {
        set_err(err, errlen, "out of memory");
        return HUB_ENOMEM;
    }
    memcpy(t->text, src, n + 1);
    t->nlevels = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *lv;
        size_t len;
        struct tlevel *L;

        if (t->text[i] != '/' && t->text[i] != '\0')
            continue;
        if (t->nlevels == DEC_MAX_LEVELS) {
            set_err(err, errlen, "topic template \"%s\" has more than %d levels", src,
                    DEC_MAX_LEVELS);
            return HUB_EINVAL;
        }
        t->text[i] = '\0';
        lv = t->text + start;
        len = i - start;
        start = i + 1;
        L = &t->lv[t->nlevels++];
        L->lit = NULL;
        L->len = 0;
        if (strcmp(lv, "+") == 0) {
            L->type = LVL_ANY;
            continue;
        }
        if (strcmp(lv, "{site}") == 0) {
            L->type = LVL_SITE;
        } else if (strcmp(lv, "{kind}") == 0) {
            L->type = LVL_KIND;
        } else if (strcmp(lv, "{id}") == 0) {
            L->type = LVL_ID;
        } else if (strcmp(lv, "{field}") == 0) {
            L->type = LVL_FIELD;
        } else if (strpbrk(lv, "+#{}")) {
            set_err(err, errlen, "topic template \"%s\": level \"%s\" is not a literal, "
                    "'+', {site}, {kind}, {id} or {field}", src, lv);
            return HUB_EINVAL;
        } else {
            L->type = LVL_LIT;
            L->lit = lv;
            L->len = len;
            continue;
        }
        if (seen[L->type]++) {
            set_err(err, errlen, "topic template \"%s\" repeats \"%s\"", src, lv);
            return HUB_EINVAL;
        }
    }
    if (!seen[LVL_SITE] || !seen[LVL_KIND] || !seen[LVL_ID]) {
        set_err(err, errlen, "topic template \"%s\" must contain {site}, {kind} and {id}",
                src);
        return HUB_EINVAL;
    }
    t->has_field = seen[LVL_FIELD];
    return HUB_OK;
}

struct decoder *decoder_new(const char *const *templates, size_t ntemplates,
                            const char *const *kinds, size_t nkinds,
                            char *err, size_t errlen)
{
    struct decoder *d;

    if (!templates || ntemplates == 0) {
        templates = default_templates;
        ntemplates = sizeof(default_templates) / sizeof(default_templates[0]);
    }
    if (!kinds || nkinds == 0) {
        kinds = default_kinds;
        nkinds = sizeof(default_kinds) / sizeof(default_kinds[0]);
    }
    if (nkinds > DEC_MAX_KINDS) {
        set_err(err, errlen, "too many kinds (%zu, at most %d)", nkinds, DEC_MAX_KINDS);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    d->t = calloc(ntemplates, sizeof(*d->t));
    d->kinds = calloc(nkinds, sizeof(*d->kinds));
    if (!d->t || !d->kinds) {
        set_err(err, errlen, "out of memory");
        decoder_free(d);
        return NULL;
    }
    for (size_t i = 0; i < ntemplates; i++) {
        d->ntmpl = i + 1;   /* so decoder_free() releases this one too */
        if (compile_template(&d->t[i], templates[i], i, err, errlen) != HUB_OK) {
            decoder_free(d);
            return NULL;
        }
    }
    for (size_t i = 0; i < nkinds; i++) {
        size_t n = kinds[i] ? strlen(kinds[i]) : 0;

        if (!name_ok(kinds[i] ? kinds[i] : "", n)) {
            set_err(err, errlen, "kind %zu is not a valid name", i + 1);
            decoder_free(d);
            return NULL;
        }
        copy_name(d->kinds[i], kinds[i], n);
    }
    d->nkinds = nkinds;
    return d;
}

void decoder_free(struct decoder *d)
{
    if (!d)
        return;
    if (d->t) {
        for (size_t i = 0; i < d->ntmpl; i++)
            free(d->t[i].text);
    }
    free(d->t);
    free(d->kinds);
    free(d);
}

/* ---- RFC 3339 --------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). m is 1..12, d is 1..31. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly n decimal digits. Returns -1 if one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A leap second (ss == 60) is accepted and counted arithmetically, i.e.
 * 23:59:60Z is the same instant as 00:00:00Z of the next day. The result
 * must lie in [0, INT64_MAX] ns (1970 to 2262). */
int decode_rfc3339(const char *s, int64_t *ns)
{
    int y, mo, dd, hh, mi, ss, oh = 0, om = 0, sign = 0;
    int64_t frac = 0, secs;
    int nfrac = 0;
    const char *p;

    if (!s || !ns)
        return HUB_EINVAL;
    y = digits(s, 4);
    if (y < 0 || s[4] != '-')
        return HUB_EINVAL;
    mo = digits(s + 5, 2);
    if (mo < 0 || s[7] != '-')
        return HUB_EINVAL;
    dd = digits(s + 8, 2);
    if (dd < 0 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return HUB_EINVAL;
    hh = digits(s + 11, 2);
    if (hh < 0 || s[13] != ':')
        return HUB_EINVAL;
    mi = digits(s + 14, 2);
    if (mi < 0 || s[16] != ':')
        return HUB_EINVAL;
    ss = digits(s + 17, 2);
    if (ss < 0)
        return HUB_EINVAL;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return HUB_EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (nfrac < 9) {
                frac = frac * 10 + (*p - '0');
                nfrac++;
            }
        }
        for (; nfrac < 9; nfrac++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        oh = digits(p + 1, 2);
        if (oh < 0 || p[3] != ':')
            return HUB_EINVAL;
        om = digits(p + 4, 2);
        if (om < 0)
            return HUB_EINVAL;
        p += 6;
    } else {
        return HUB_EINVAL;
    }
    if (*p != '\0')
        return HUB_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > days_in_month(y, mo) ||
        hh > 23 || mi > 59 || ss > 60 || oh > 23 || om > 59)
        return HUB_EINVAL;
    secs = days_from_civil(y, (unsigned)mo, (unsigned)dd) * 86400 +
           hh * 3600 + mi * 60 + ss - sign * (oh * 3600 + om * 60);
    if (secs < 0 || secs > (INT64_MAX - frac) / 1000000000)
        return HUB_EINVAL;
    *ns = secs * 1000000000 + frac;
    return HUB_OK;
}

/* ---- payloads --------------------------------------------------------- */

static int fail(const char **reason, const char *tag, char *err, size_t errlen,
                const char *msg)
{
    *reason = tag;
    set_err(err, errlen, "%s", msg);
    return HUB_EINVAL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;

        if (ca != *b)
            return 0;
    }
    return *a == *b;
}

/* Plain number: whitespace, decimal strtod syntax (no hex), or nan/inf. */
static int parse_number(const char *p, size_t len, double *v)
{
    char buf[DEC_NUM_MAX];
    const char *s;
    char *end;

    while (len > 0 && is_space(*p)) {
        p++;
        len--;
    }
    while (len > 0 && is_space(p[len - 1]))
        len--;
    if (memchr(p, '\0', len))
        return HUB_EINVAL;      /* "nan\0garbage" is not a number */
    if (len == 0 || len >= sizeof(buf))
        return HUB_EINVAL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    s = buf + (buf[0] == '+' || buf[0] == '-');
    if ((*s >= '0' && *s <= '9') || *s == '.') {
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            return HUB_EINVAL;
        *v = strtod(buf, &end);
        return end == buf + len ? HUB_OK : HUB_EINVAL;   /* also stops at a NUL */
    }
    if (ieq(s, "nan")) {
        *v = NAN;
        return HUB_OK;
    }
    if (ieq(s, "inf") || ieq(s, "infinity")) {
        *v = buf[0] == '-' ? -INFINITY : INFINITY;
        return HUB_OK;
    }
    return HUB_EINVAL;
}

/* "ts": Unix ms (number, 0 < ms <= DEC_MAX_TS_MS) or RFC 3339 text. */
static int parse_ts(const cJSON *it, int64_t *ns)
{
    if (cJSON_IsNumber(it)) {
        double ms = it->valuedouble, ip;

        if (!isfinite(ms) || ms <= 0 || ms > DEC_MAX_TS_MS)
            return HUB_EINVAL;
        ip = floor(ms);
        *ns = (int64_t)ip * 1000000 + (int64_t)llround((ms - ip) * 1e6);
        return HUB_OK;
    }
    if (cJSON_IsString(it) && it->valuestring) {
        if (decode_rfc3339(it->valuestring, ns) != HUB_OK || *ns <= 0)
            return HUB_EINVAL;
        return HUB_OK;
    }
    return HUB_EINVAL;
}

static int parse_object(const void *payload, size_t len, cJSON **root)
{
    const char *p = payload, *end = NULL;
    cJSON *j;

    j = cJSON_ParseWithLengthOpts(p, len, &end, 0);
    if (!j)
        return HUB_EINVAL;
    /* Only whitespace may follow the object. */
    if (end) {
        while (end < p + len && is_space(*end))
            end++;
    }
    if (!cJSON_IsObject(j) || end != p + len) {
        cJSON_Delete(j);
        return HUB_EINVAL;
    }
    *root = j;
    return HUB_OK;
}

static int seen_name(const struct message *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++) {
        if (strcmp(m->fields[i].name, name) == 0)
            return 1;
    }
    for (size_t i = 0; i < m->ntexts; i++) {
        if (strcmp(m->texts[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/* A member name usable as a field or text key of message m. */
static int key_ok(const struct message *m, const char *name, size_t *n)
{
    if (!name)
        return 0;
    *n = strlen(name);
    if (!name_ok(name, *n) || is_reserved(name))
        return 0;
    return !seen_name(m, name);
}

static void add_text(struct message *m, const char *name, size_t nlen,
                     const char *v)
{
    size_t n = strlen(v);
    struct text_field *t;

    if (m->ntexts >= HUB_MAX_TEXTS || n >= HUB_TEXT_MAX ||
        !utf8_ok((const unsigned char *)v, n)) {
        m->nignored++;
        return;
    }
    t = &m->texts[m->ntexts++];
    copy_name(t->name, name, nlen);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        t->value[i] = (c < 0x20 || c == 0x7f) ? ' ' : v[i];
    }
    t->value[n] = '\0';
}

/* Fill fields (and texts, for events) from the members of obj. */
static int decode_members(struct message *m, const cJSON *obj,
                          const char **reason, char *err, size_t errlen)
{
    int seen_ts = 0;
    const cJSON *it;

    cJSON_ArrayForEach(it, obj) {
        const char *name = it->string;
        size_t n;

        if (name && strcmp(name, "ts") == 0) {
            if (seen_ts++) {
                m->nignored++;
                continue;
            }
            if (parse_ts(it, &m->ts_ns) != HUB_OK)
                return fail(reason, "bad_ts", err, errlen,
                            "\"ts\" must be Unix milliseconds (1970..2262) or "
                            "RFC 3339 text with an offset");
            m->has_ts = 1;
            continue;
        }
        if (m->type == MSG_EVENT && name &&
            (strcmp(name, "event") == 0 || strcmp(name, "member") == 0))
            continue;   /* handled by the caller */
        if (!key_ok(m, name, &n)) {
            m->nignored++;
            continue;
        }
        if (cJSON_IsNumber(it)) {
            if (m->nfields >= HUB_MAX_FIELDS) {
                m->nignored++;
                continue;
            }
            copy_name(m->fields[m->nfields].name, name, n);
            m->fields[m->nfields].value = it->valuedouble;
            m->nfields++;
        } else if (m->type == MSG_EVENT && cJSON_IsString(it) && it->valuestring) {
            add_text(m, name, n, it->valuestring);
        } else {
            m->nignored++;
        }
    }
    return HUB_OK;
}

static int decode_readings_json(struct message *m, const void *payload, size_t len,
                                const char **reason, char *err, size_t errlen)
{
    cJSON *root;
    int rc;

    if (parse_object(payload, len, &root) != HUB_OK)
        return fail(reason, "bad_json", err, errlen, "payload is not a JSON object");
    rc = decode_members(m, root, reason, err, errlen);
    cJSON_Delete(root);
    if (rc != HUB_OK)
        return rc;
    if (m->nfields == 0)
        return fail(reason, "no_fields", err, errlen,
                    "the JSON object has no usable numeric member");
    return HUB_OK;
}

static int decode_event_json(struct message *m, const void *payload, size_t len,
                             const char **reason, char *err, size_t errlen)
{
    cJSON *root;
    const cJSON *ev, *mem;
    int rc;

    m->type = MSG_EVENT;
    if (parse_object(payload, len, &root) != HUB_OK)
        return fail(reason, "bad_json", err, errlen, "payload is not a JSON object");
    ev = cJSON_GetObjectItemCaseSensitive(root, "event");
    if (!cJSON_IsString(ev) || !ev->valuestring ||
        !name_ok(ev->valuestring, strlen(ev->valuestring))) {
        cJSON_Delete(root);
        return fail(reason, "bad_event", err, errlen,
                    "an event needs an \"event\" member that is a valid name");
    }
    copy_name(m->event, ev->valuestring, strlen(ev->valuestring));
    mem = cJSON_GetObjectItemCaseSensitive(root, "member");
    if (mem) {
        if (cJSON_IsString(mem) && mem->valuestring &&
            name_ok(mem->valuestring, strlen(mem->valuestring)))
            copy_name(m->member, mem->valuestring, strlen(mem->valuestring));
        else
            m->nignored++;
    }
    rc = decode_members(m, root, reason, err, errlen);
    /* Repeated "event" / "member" members: only the first one counts. */
    for (const cJSON *it = root->child; it; it = it->next) {
        if (it != ev && it != mem && it->string &&
            (strcmp(it->string, "event") == 0 || strcmp(it->string, "member") == 0))
            m->nignored++;
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- topic ------------------------------------------------------------ */

static const struct tmpl *match_topic(const struct decoder *d, const char **lv,
                                      const size_t *lvlen, size_t nlv)
{
    for (size_t i = 0; i < d->ntmpl; i++) {
        const struct tmpl *t = &d->t[i];
        size_t k;

        if (t->nlevels != nlv)
            continue;
        for (k = 0; k < nlv; k++) {
            const struct tlevel *L = &t->lv[k];

            if (L->type == LVL_LIT &&
                (L->len != lvlen[k] || memcmp(L->lit, lv[k], lvlen[k]) != 0))
                break;
        }
        if (k == nlv)
            return t;
    }
    return NULL;
}

int decode_message(const struct decoder *d, const char *topic,
                   const void *payload, size_t len, size_t max_payload,
                   struct message *out, const char **reason,
                   char *err, size_t errlen)
{
    static const char *const lvname[] = { "", "", "site", "kind", "id", "field" };
    const char *lv[DEC_MAX_LEVELS];
    size_t lvlen[DEC_MAX_LEVELS];
    size_t nlv = 0;
    const char *p, *field = NULL;
    size_t fieldlen = 0;
    const struct tmpl *t;
    const char *dummy_reason;
    int kind_ok = 0;

    if (!reason)
        reason = &dummy_reason;
    *reason = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return fail(reason, "bad_topic", err, errlen, "no output message");
    memset(out, 0, sizeof(*out));
    if (max_payload > 0 && len > max_payload) {
        *reason = "oversized";
        set_err(err, errlen, "payload of %zu bytes is over the cap of %zu", len,
                max_payload);
        return HUB_EINVAL;
    }
    if (len == 0 || !payload)
        return fail(reason, "empty_payload", err, errlen, "empty payload");
    if (!d || !topic)
        return fail(reason, "bad_topic", err, errlen, "no decoder or topic");

    /* Split the topic into at most DEC_MAX_LEVELS slices, without copying. */
    p = topic;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);

        if (nlv == DEC_MAX_LEVELS)
            return fail(reason, "unknown_topic", err, errlen,
                        "topic matches no template (too many levels)");
        lv[nlv] = p;
        lvlen[nlv] = n;
        nlv++;
        if (!slash)
            break;
        p = slash + 1;
    }
    t = match_topic(d, lv, lvlen, nlv);
    if (!t)
        return fail(reason, "unknown_topic", err, errlen, "topic matches no template");

    for (size_t k = 0; k < nlv; k++) {
        enum lvl_type ty = t->lv[k].type;
        char *dst;

        if (ty == LVL_LIT || ty == LVL_ANY)
            continue;
        if (!name_ok(lv[k], lvlen[k])) {
            *reason = "bad_topic";
            set_err(err, errlen, "topic level %zu ({%s}) is not a valid name "
                    "(empty, too long, not UTF-8, or a control byte or backslash)",
                    k + 1, lvname[ty]);
            return HUB_EINVAL;
        }
        switch (ty) {
        case LVL_SITE: dst = out->site; break;
        case LVL_KIND: dst = out->kind; break;
        case LVL_ID:   dst = out->id;   break;
        default:
            field = lv[k];
            fieldlen = lvlen[k];
            continue;
        }
        copy_name(dst, lv[k], lvlen[k]);
    }
    for (size_t i = 0; i < d->nkinds; i++) {
        if (strcmp(out->kind, d->kinds[i]) == 0) {
            kind_ok = 1;
            break;
        }
    }
    if (!kind_ok) {
        *reason = "bad_kind";
        set_err(err, errlen, "kind \"%s\" is not one of the configured kinds", out->kind);
        return HUB_EINVAL;
    }

    if (!t->has_field)
        return decode_readings_json(out, payload, len, reason, err, errlen);
    if (fieldlen == 5 && memcmp(field, "event", 5) == 0)
        return decode_event_json(out, payload, len, reason, err, errlen);

    copy_name(out->fields[0].name, field, fieldlen);
    if (is_reserved(out->fields[0].name)) {
        out->fields[0].name[0] = '\0';
        return fail(reason, "bad_topic", err, errlen,
                    "the field level may not be \"time\", \"site\", \"kind\" or \"id\"");
    }
    if (parse_number(payload, len, &out->fields[0].value) != HUB_OK) {
        out->fields[0].name[0] = '\0';
        return fail(reason, "bad_number", err, errlen,
                    "payload is not a decimal number, nan or inf");
    }
    out->nfields = 1;
    return HUB_OK;
}
