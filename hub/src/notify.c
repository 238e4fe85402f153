/* SPDX-License-Identifier: MIT */
/* notify.c - provider request builders and answer classifiers (pure).
 * The shapes follow anchors-alerting.md Part 2; see notify.h. */
#include "notify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hub_err.h"

static const char *const channel_names[NOTIFY_NCHANNELS] = {
    "webhook", "twilio_sms", "twilio_whatsapp", "whatsapp_cloud", "fonnte",
    "gammu",
};

int notify_channel_from_name(const char *name)
{
    int i;

    if (!name)
        return -1;
    for (i = 0; i < NOTIFY_NCHANNELS; i++)
        if (strcmp(name, channel_names[i]) == 0)
            return i;
    return -1;
}

const char *notify_channel_name(int ch)
{
    if (ch < 0 || ch >= NOTIFY_NCHANNELS)
        return "?";
    return channel_names[ch];
}

int notify_phone_ok(const char *s)
{
    size_t n = 0;

    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    for (s++; *s; s++, n++)
        if (*s < '0' || *s > '9')
            return 0;
    return n >= 8 && n <= 15;
}

static void seterr(char *err, size_t errlen, const char *what, int ch)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", notify_channel_name(ch), what);
}

/* -- small writers into a bounded buffer ---------------------------------- */

struct sbuf {
    char *p;
    size_t cap;                 /* usable bytes, excluding the NUL */
    size_t len;
    int over;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->over || n > b->cap - b->len) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* application/x-www-form-urlencoded: unreserved bytes kept, space as '+',
 * everything else %XX (upper case), UTF-8 byte by byte. */
static void sb_form(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    char e[3];

    for (; *u; u++) {
        if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
            (*u >= '0' && *u <= '9') || *u == '-' || *u == '.' ||
            *u == '_' || *u == '~') {
            sb_put(b, (const char *)u, 1);
        } else if (*u == ' ') {
            sb_put(b, "+", 1);
        } else {
            e[0] = '%';
            e[1] = hex[*u >> 4];
            e[2] = hex[*u & 15];
            sb_put(b, e, 3);
        }
    }
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    unsigned v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];
        out[o++] = t[v & 63];
    }
    if (n - i == 1) {
        v = (unsigned)in[i] << 16;
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* A path segment we put in a URL: letters, digits, '.', '-', '_' only. */
static int segment_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* A header value: printable, no CR/LF. */
static int header_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int add_header(struct notify_request *r, const char *name,
                      const char *pre, const char *val)
{
    int n;

    if (r->nheaders >= NOTIFY_HDR_MAX)
        return -1;
    n = snprintf(r->headers[r->nheaders], NOTIFY_HDR_LEN, "%s: %s%s", name,
                 pre, val);
    if (n < 0 || (size_t)n >= NOTIFY_HDR_LEN)
        return -1;
    r->nheaders++;
    return 0;
}

static int set_url(struct notify_request *r, const char *base,
                   const char *path)
{
    size_t bl;
    int n;

    if (!base || strncmp(base, "http", 4) != 0)
        return -1;
    bl = strlen(base);
    if (bl && base[bl - 1] == '/')
        bl--;
    n = snprintf(r->url, sizeof(r->url), "%.*s%s", (int)bl, base, path);
    return n < 0 || (size_t)n >= sizeof(r->url) ? -1 : 0;
}

static int json_body(struct notify_request *r, cJSON *root)
{
    char *s;
    size_t n;

    if (!root)
        return -1;
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    n = strlen(s);
    if (n > NOTIFY_BODY_MAX) {
        cJSON_free(s);
        return -1;
    }
    memcpy(r->body, s, n + 1);
    r->body_len = n;
    cJSON_free(s);
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int build_webhook(const struct notify_msg *m,
                         const struct notify_creds *c,
                         struct notify_request *r)
{
    char key[17];
    cJSON *o = cJSON_CreateObject();

    snprintf(key, sizeof(key), "%016llx", (unsigned long long)m->key);
    if (set_url(r, c->base_url, "") != 0)
        goto fail;
    if (add_header(r, "Content-Type", "", "application/json") != 0 ||
        add_header(r, "Idempotency-Key", "", key) != 0)
        goto fail;
    if (c->token && *c->token && add_header(r, "Authorization", "Bearer ", c->token) != 0)
        goto fail;
    if (!o || !cJSON_AddStringToObject(o, "key", key) ||
        !cJSON_AddStringToObject(o, "member", nz(m->member)) ||
        !cJSON_AddStringToObject(o, "phone", m->phone) ||
        !cJSON_AddStringToObject(o, "text", m->text) ||
        !cJSON_AddStringToObject(o, "rule", nz(m->rule)) ||
        !cJSON_AddStringToObject(o, "alert_id", nz(m->alert_id)) ||
        !cJSON_AddStringToObject(o, "site", nz(m->site)))
        goto fail;
    return json_body(r, o);
fail:
    cJSON_Delete(o);
    return -1;
}

/* Template parameters may not hold newlines, tabs or runs of spaces
 * (Meta error 132018): each run of white space becomes one space. */
static void flatten(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    int sp = 0;

    for (; *in && o + 1 < cap; in++) {
        if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t') {
            sp = 1;
            continue;
        }
        if (sp && o > 0 && o + 2 < cap)
            out[o++] = ' ';
        sp = 0;
        out[o++] = *in;
    }
    out[o] = '\0';
}

static int build_twilio(int wa, const struct notify_msg *m,
                        const struct notify_creds *c, struct notify_request *r)
{
    char path[160], cred[256], auth[344];
    const char *pre = wa ? "whatsapp:" : "";
    struct sbuf b = { r->body, NOTIFY_BODY_MAX, 0, 0 };
    int n;

    if (!segment_ok(c->account_sid) || !header_ok(c->auth_token) ||
        !notify_phone_ok(c->from))
        return -1;
    snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Messages.json",
             c->account_sid);
    if (set_url(r, c->base_url, path) != 0)
        return -1;
    n = snprintf(cred, sizeof(cred), "%s:%s", c->account_sid, c->auth_token);
    if (n < 0 || (size_t)n >= sizeof(cred))
        return -1;
    b64((const unsigned char *)cred, (size_t)n, auth);
    memset(cred, 0, sizeof(cred));
    if (add_header(r, "Content-Type", "", "application/x-www-form-urlencoded") != 0 ||
        add_header(r, "Authorization", "Basic ", auth) != 0) {
        memset(auth, 0, sizeof(auth));
        return -1;
    }
    memset(auth, 0, sizeof(auth));
    sb_str(&b, "To=");
    sb_form(&b, pre);
    sb_form(&b, m->phone);
    sb_str(&b, "&From=");
    sb_form(&b, pre);
    sb_form(&b, c->from);
    if (wa && c->template_name) {
        /* outside the 24 h window WhatsApp needs an approved template:
         * ContentSid + ContentVariables {"1": text}, and no Body (63016) */
        char flat[NOTIFY_TEXT_MAX + 1], *vars;
        cJSON *o;

        if (!segment_ok(c->template_name))
            return -1;
        flatten(m->text, flat, sizeof(flat));
        o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "1", flat)) {
            cJSON_Delete(o);
            return -1;
        }
        vars = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!vars)
            return -1;
        sb_str(&b, "&ContentSid=");
        sb_form(&b, c->template_name);
        sb_str(&b, "&ContentVariables=");
        sb_form(&b, vars);
        cJSON_free(vars);
    } else {
        sb_str(&b, "&Body=");
        sb_form(&b, m->text);
    }
    r->body_len = b.len;
    return b.over ? -1 : 0;
}

static int build_wa_cloud(const struct notify_msg *m,
                          const struct notify_creds *c,
                          struct notify_request *r)
{
    char path[160], flat[NOTIFY_TEXT_MAX + 1];
    const char *ver = c->api_version ? c->api_version : "v21.0";
    cJSON *o, *t, *a, *comp, *par, *p;

    if (!segment_ok(ver) || !segment_ok(c->phone_number_id) || !header_ok(c->token))
        return -1;
    snprintf(path, sizeof(path), "/%s%s/%s/messages", ver[0] == 'v' ? "" : "v",
             ver, c->phone_number_id);
    if (set_url(r, c->base_url, path) != 0 ||
        add_header(r, "Authorization", "Bearer ", c->token) != 0 ||
        add_header(r, "Content-Type", "", "application/json") != 0)
        return -1;
    o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "messaging_product", "whatsapp") ||
        !cJSON_AddStringToObject(o, "recipient_type", "individual") ||
        !cJSON_AddStringToObject(o, "to", m->phone + 1))
        goto fail;
    if (!c->template_name) {
        if (!cJSON_AddStringToObject(o, "type", "text"))
            goto fail;
        t = cJSON_AddObjectToObject(o, "text");
        if (!t || !cJSON_AddFalseToObject(t, "preview_url") ||
            !cJSON_AddStringToObject(t, "body", m->text))
            goto fail;
        return json_body(r, o);
    }
    flatten(m->text, flat, sizeof(flat));
    if (!cJSON_AddStringToObject(o, "type", "template"))
        goto fail;
    t = cJSON_AddObjectToObject(o, "template");
    if (!t || !cJSON_AddStringToObject(t, "name", c->template_name))
        goto fail;
    a = cJSON_AddObjectToObject(t, "language");
    if (!a || !cJSON_AddStringToObject(a, "code",
                                       c->template_lang ? c->template_lang : "id"))
        goto fail;
    a = cJSON_AddArrayToObject(t, "components");
    comp = cJSON_CreateObject();
    if (!a || !comp) {
        cJSON_Delete(comp);
        goto fail;
    }
    cJSON_AddItemToArray(a, comp);
    if (!cJSON_AddStringToObject(comp, "type", "body"))
        goto fail;
    par = cJSON_AddArrayToObject(comp, "parameters");
    p = cJSON_CreateObject();
    if (!par || !p) {
        cJSON_Delete(p);
        goto fail;
    }
    cJSON_AddItemToArray(par, p);
    if (!cJSON_AddStringToObject(p, "type", "text") ||
        !cJSON_AddStringToObject(p, "text", flat))
        goto fail;
    return json_body(r, o);
fail:
    cJSON_Delete(o);
    return -1;
}

static int build_fonnte(const struct notify_msg *m,
                        const struct notify_creds *c, struct notify_request *r)
{
    struct sbuf b = { r->body, NOTIFY_BODY_MAX, 0, 0 };
    const char *cc = c->country_code ? c->country_code : "62";

    if (!header_ok(c->token) || !segment_ok(cc))
        return -1;
    if (set_url(r, c->base_url, "/send") != 0 ||
        add_header(r, "Authorization", "", c->token) != 0 ||
        add_header(r, "Content-Type", "", "application/x-www-form-urlencoded") != 0)
        return -1;
    sb_str(&b, "target=");
    sb_form(&b, m->phone + 1);
    sb_str(&b, "&message=");
    sb_form(&b, m->text);
    sb_str(&b, "&countryCode=");
    sb_form(&b, cc);
    r->body_len = b.len;
    return b.over ? -1 : 0;
}

int notify_build(int ch, const struct notify_msg *m,
                 const struct notify_creds *c, struct notify_request *out,
                 char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (!m || !c || !m->text || !m->phone) {
        seterr(err, errlen, "missing message", ch);
        return HUB_EINVAL;
    }
    if (!notify_phone_ok(m->phone)) {
        seterr(err, errlen, "malformed phone number", ch);
        return HUB_EREJECT;
    }
    if (strlen(m->text) > NOTIFY_TEXT_MAX) {
        seterr(err, errlen, "text too long", ch);
        return HUB_EREJECT;
    }
    strcpy(out->method, "POST");
    switch (ch) {
    case NOTIFY_WEBHOOK:
        rc = build_webhook(m, c, out);
        break;
    case NOTIFY_TWILIO_SMS:
    case NOTIFY_TWILIO_WHATSAPP:
        rc = build_twilio(ch == NOTIFY_TWILIO_WHATSAPP, m, c, out);
        break;
    case NOTIFY_WHATSAPP_CLOUD:
        rc = build_wa_cloud(m, c, out);
        break;
    case NOTIFY_FONNTE:
        rc = build_fonnte(m, c, out);
        break;
    default:
        seterr(err, errlen, "not an HTTP channel", ch);
        memset(out, 0, sizeof(*out));
        return HUB_EINVAL;
    }
    if (rc != 0) {
        seterr(err, errlen, "bad settings or request too large", ch);
        memset(out, 0, sizeof(*out));   /* no half request with a secret */
        return HUB_EINVAL;
    }
    return 0;
}

/* -- classification ------------------------------------------------------- */

static void copy_id(char *dst, const cJSON *it)
{
    if (cJSON_IsString(it) && it->valuestring) {
        snprintf(dst, NOTIFY_ID_MAX, "%s", it->valuestring);
    } else if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
               it->valuedouble < 1e15) {
        snprintf(dst, NOTIFY_ID_MAX, "%.0f", it->valuedouble);
    }
}

static long code_of(const cJSON *it)
{
    if (cJSON_IsNumber(it) && it->valuedouble > -1e9 && it->valuedouble < 1e9)
        return (long)it->valuedouble;
    return 0;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* Fonnte: the reasons that a resend cannot fix. */
static int fonnte_permanent(const char *reason)
{
    static const char *const perm[] = {
        "invalid", "token", "quota", "not supported", "expired", "ban",
    };
    size_t i;

    for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
        if (contains_ci(reason, perm[i]))
            return 1;
    return 0;
}

/* Keep printable ASCII of a provider's reason, to at most 48 bytes. */
static void clean(char *dst, size_t cap, const char *s)
{
    size_t o = 0;

    for (; *s && o + 1 < cap && o < 48; s++)
        dst[o++] = (*s >= 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
    dst[o] = '\0';
}

static void fonnte_2xx(const cJSON *root, struct notify_verdict *v)
{
    const cJSON *st = cJSON_GetObjectItem(root, "status");
    const cJSON *rs = cJSON_GetObjectItem(root, "reason");
    const cJSON *id = cJSON_GetObjectItem(root, "id");
    char why[64] = "";
    int ok;

    if (!st) {
        v->cls = NOTIFY_RETRYABLE;
        snprintf(v->reason, sizeof(v->reason), "fonnte: answer without status");
        return;
    }
    ok = cJSON_IsTrue(st) ||
         (cJSON_IsString(st) && st->valuestring && strcasecmp(st->valuestring, "true") == 0);
    if (ok) {
        v->cls = NOTIFY_ACCEPTED;
        if (cJSON_IsArray(id))
            copy_id(v->provider_id, cJSON_GetArrayItem(id, 0));
        else
            copy_id(v->provider_id, id);
        return;
    }
    if (cJSON_IsString(rs) && rs->valuestring)
        clean(why, sizeof(why), rs->valuestring);
    v->cls = fonnte_permanent(why) ? NOTIFY_PERMANENT : NOTIFY_RETRYABLE;
    snprintf(v->reason, sizeof(v->reason), "fonnte: status false: %s",
             why[0] ? why : "(no reason)");
}

void notify_classify(int ch, const struct notify_answer *a,
                     struct notify_verdict *v)
{
    cJSON *root = NULL, *it;
    long st = a->status;

    memset(v, 0, sizeof(*v));
    v->retry_after_s = -1;
    if (ch < 0 || ch >= NOTIFY_NCHANNELS || ch == NOTIFY_GAMMU) {
        v->cls = NOTIFY_PERMANENT;
        snprintf(v->reason, sizeof(v->reason), "%s: not an HTTP channel",
                 notify_channel_name(ch));
        return;
    }
    if (a->neterr || st <= 0) {
        v->cls = NOTIFY_RETRYABLE;
        snprintf(v->reason, sizeof(v->reason), "%s: no answer (network)",
                 notify_channel_name(ch));
        return;
    }
    if (a->body && a->body_len)
        root = cJSON_ParseWithLength(a->body, a->body_len);
    snprintf(v->reason, sizeof(v->reason), "%s: HTTP %ld",
             notify_channel_name(ch), st);
    if (st >= 200 && st < 300) {
        v->cls = NOTIFY_ACCEPTED;
        if (ch == NOTIFY_TWILIO_SMS || ch == NOTIFY_TWILIO_WHATSAPP) {
            copy_id(v->provider_id, cJSON_GetObjectItem(root, "sid"));
        } else if (ch == NOTIFY_WHATSAPP_CLOUD) {
            it = cJSON_GetObjectItem(root, "messages");
            copy_id(v->provider_id,
                    cJSON_GetObjectItem(cJSON_GetArrayItem(it, 0), "id"));
        } else if (ch == NOTIFY_FONNTE) {
            fonnte_2xx(root, v);
        }
        cJSON_Delete(root);
        return;
    }
    if (ch == NOTIFY_TWILIO_SMS || ch == NOTIFY_TWILIO_WHATSAPP)
        v->provider_code = code_of(cJSON_GetObjectItem(root, "code"));
    else if (ch == NOTIFY_WHATSAPP_CLOUD)
        v->provider_code = code_of(cJSON_GetObjectItem(
                                       cJSON_GetObjectItem(root, "error"), "code"));
    cJSON_Delete(root);
    if (v->provider_code)
        snprintf(v->reason, sizeof(v->reason), "%s: HTTP %ld code %ld",
                 notify_channel_name(ch), st, v->provider_code);
    if (st == 408 || st == 429 || st >= 500) {
        v->cls = NOTIFY_RETRYABLE;
        v->retry_after_s = a->retry_after_s >= 0 ? a->retry_after_s : -1;
        return;
    }
    v->cls = NOTIFY_PERMANENT;
    switch (v->provider_code) {
    case 20429: case 63017: case 63018:                     /* Twilio */
    case 4: case 80007: case 130429: case 131056:           /* Meta   */
        if (ch != NOTIFY_WEBHOOK && ch != NOTIFY_FONNTE) {
            v->cls = NOTIFY_RETRYABLE;
            v->retry_after_s = a->retry_after_s >= 0 ? a->retry_after_s : -1;
        }
        break;
    default:
        break;
    }
}

/* -- gammu ---------------------------------------------------------------- */

/* Next code point of UTF-8 text; -1 on a bad sequence. */
static long utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    long cp;
    int n, i;

    if (p[0] < 0x80) {
        *pp = p + 1;
        return p[0];
    }
    if ((p[0] & 0xe0) == 0xc0) {
        cp = p[0] & 0x1f;
        n = 1;
    } else if ((p[0] & 0xf0) == 0xe0) {
        cp = p[0] & 0x0f;
        n = 2;
    } else if ((p[0] & 0xf8) == 0xf0) {
        cp = p[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *pp = p + n + 1;
    return cp;
}

int notify_gammu_file(const struct notify_msg *m, char prio, int64_t now_ns,
                      char name[NOTIFY_GAMMU_NAME_MAX],
                      unsigned char *data, size_t *len)
{
    const unsigned char *p;
    time_t t;
    struct tm tm;
    size_t o = 0, tl;
    int ascii = 1;
    long cp;

    if (prio < 'A' || prio > 'Z' || !m || !m->text)
        return HUB_EINVAL;
    if (!notify_phone_ok(m->phone))
        return HUB_EREJECT;
    tl = strlen(m->text);
    if (tl > NOTIFY_TEXT_MAX)
        return HUB_EREJECT;
    for (p = (const unsigned char *)m->text; *p; p++)
        if (*p >= 0x80)
            ascii = 0;
    t = (time_t)(now_ns / 1000000000LL - (now_ns % 1000000000LL < 0 ? 1 : 0));
    if (!gmtime_r(&t, &tm))
        return HUB_EINVAL;
    snprintf(name, NOTIFY_GAMMU_NAME_MAX,
             "OUT%c%04d%02d%02d_%02d%02d%02d_00_%s_%016llx.txt", prio,
             (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, m->phone,
             (unsigned long long)m->key);
    if (ascii) {
        memcpy(data, m->text, tl);
        *len = tl;
        return 0;
    }
    data[o++] = 0xff;
    data[o++] = 0xfe;
    p = (const unsigned char *)m->text;
    while (*p) {
        cp = utf8_next(&p);
        if (cp < 0)
            return HUB_EREJECT;
        if (cp >= 0x10000) {            /* surrogate pair */
            long s = cp - 0x10000, hi = 0xd800 | (s >> 10), lo = 0xdc00 | (s & 0x3ff);
            if (o + 4 > NOTIFY_GAMMU_FILE_MAX)
                return HUB_EREJECT;
            data[o++] = (unsigned char)(hi & 0xff);
            data[o++] = (unsigned char)(hi >> 8);
            data[o++] = (unsigned char)(lo & 0xff);
            data[o++] = (unsigned char)(lo >> 8);
        } else {
            if (o + 2 > NOTIFY_GAMMU_FILE_MAX)
                return HUB_EREJECT;
            data[o++] = (unsigned char)(cp & 0xff);
            data[o++] = (unsigned char)(cp >> 8);
        }
    }
    *len = o;
    return 0;
}

static int digits(const char **pp, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((*pp)[i] < '0' || (*pp)[i] > '9')
            return 0;
    *pp += n;
    return 1;
}

static void put_utf8(char *text, size_t textlen, size_t *o, unsigned long cp)
{
    char u[4];
    size_t n, i;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (*o + n >= textlen)
        return;                         /* cut: never half a character */
    for (i = 0; i < n; i++)
        text[(*o)++] = u[i];
    text[*o] = '\0';
}

int notify_gammu_parse_in(const char *name, const unsigned char *data,
                          size_t len, char *phone, size_t phonelen,
                          char *text, size_t textlen)
{
    const char *p = name, *ph, *us;
    size_t pl, o = 0, i;
    int le;
    unsigned long u, lo;

    if (!name || !phone || !text || !phonelen || !textlen || (len && !data))
        return HUB_EINVAL;
    if (strncmp(p, "IN", 2) != 0)
        return HUB_EINVAL;
    p += 2;
    if (!digits(&p, 8) || *p++ != '_' || !digits(&p, 6) || *p++ != '_')
        return HUB_EINVAL;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '_')
        return HUB_EINVAL;
    ph = p;
    us = strrchr(p, '_');
    if (!us || us == ph)
        return HUB_EINVAL;
    pl = (size_t)(us - ph);
    p = us + 1;
    if (!(*p >= '0' && *p <= '9'))
        return HUB_EINVAL;
    while (*p >= '0' && *p <= '9')
        p++;
    if (strcmp(p, ".txt") != 0 || pl >= phonelen)
        return HUB_EINVAL;
    for (i = 0; i < pl; i++)
        if (!((ph[i] >= '0' && ph[i] <= '9') || (i == 0 && ph[i] == '+')))
            return HUB_EINVAL;
    memcpy(phone, ph, pl);
    phone[pl] = '\0';

    text[0] = '\0';
    if (len >= 2 && ((data[0] == 0xff && data[1] == 0xfe) ||
                     (data[0] == 0xfe && data[1] == 0xff))) {
        le = data[0] == 0xff;
        for (i = 2; i + 1 < len; i += 2) {
            u = le ? (unsigned long)data[i] | (unsigned long)data[i + 1] << 8
                   : (unsigned long)data[i] << 8 | data[i + 1];
            if (u >= 0xd800 && u <= 0xdbff && i + 3 < len) {
                lo = le ? (unsigned long)data[i + 2] | (unsigned long)data[i + 3] << 8
                        : (unsigned long)data[i + 2] << 8 | data[i + 3];
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    i += 2;
                } else {
                    u = 0xfffd;
                }
            } else if (u >= 0xd800 && u <= 0xdfff) {
                u = 0xfffd;
            }
            if (u == 0)
                break;
            put_utf8(text, textlen, &o, u);
        }
        return 0;
    }
    for (i = 0; i < len && data[i] && o + 1 < textlen; i++)
        text[o++] = (char)data[i];
    text[o] = '\0';
    return 0;
}
