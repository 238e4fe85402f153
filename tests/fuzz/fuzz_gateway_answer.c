/* SPDX-License-Identifier: MIT */
/* fuzz_gateway_answer.c - the notification side's hostile inputs (notify.h).
 *
 * Input: one mode byte, then per mode:
 *   0 (and any byte not below): every classifier on a fuzzed answer: channel
 *     (one byte, out-of-range values too), status (any long), Retry-After
 *     (any long), network-error flag, body = the rest (exact-size copy, not
 *     NUL-terminated, so ASan sees any over-read).
 *   1: notify_gammu_parse_in on a fuzzed file name (up to the first NUL) and
 *     the rest as the file's bytes.
 *   2: build every provider's request for a fuzzed text (and phone) and
 *     read the text back out of the request; gammu files round-trip
 *     through the inbox parser.
 * Oracles: the verdict is one of the three classes and follows the rules
 * in notify.h that do not depend on the body (no answer / 408 / 429 / 5xx
 * retryable; 2xx accepted for webhook, Twilio and Meta; no acceptance
 * outside 2xx; Fonnte accepted only when the body says true); strings are
 * NUL-terminated inside their arrays and reasons printable; a built
 * request carries the text exactly. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_input.h"
#include "hub_err.h"
#include "notify.h"

static void check_str(const char *s, size_t cap, const char *what)
{
    FUZZ_CHECK(memchr(s, '\0', cap) != NULL, "%s not terminated", what);
}

static void classify_one(struct fin *in)
{
    int ch = (int)take_u8(in) % (NOTIFY_NCHANNELS + 2) - 1;   /* -1 .. 6 */
    long status = (long)(int64_t)take_u64(in);
    long ra = (long)(int32_t)take_u32(in);
    int neterr = take_u8(in) & 1;
    const uint8_t *b;
    size_t n = take_bytes(in, in->n, &b);
    char *body = malloc(n ? n : 1);
    struct notify_answer a;
    struct notify_verdict v;
    const char *p;
    int two;

    FUZZ_CHECK(body != NULL, "malloc");
    if (n)
        memcpy(body, b, n);
    if ((status & 0xff) == 0x7f)            /* steer towards real codes */
        status = 100 + (long)((unsigned long)status >> 8) % 500;
    two = status >= 200 && status < 300;
    a.status = status;
    a.retry_after_s = ra;
    a.body = n ? body : NULL;
    a.body_len = n;
    a.neterr = neterr;
    notify_classify(ch, &a, &v);

    FUZZ_CHECK(v.cls == NOTIFY_ACCEPTED || v.cls == NOTIFY_RETRYABLE ||
               v.cls == NOTIFY_PERMANENT, "class %d", v.cls);
    check_str(v.provider_id, sizeof(v.provider_id), "provider_id");
    check_str(v.reason, sizeof(v.reason), "reason");
    FUZZ_CHECK(v.reason[0] != '\0', "empty reason");
    for (p = v.reason; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "reason byte 0x%02x", (unsigned char)*p);
    FUZZ_CHECK(strncmp(v.reason, notify_channel_name(ch),
                       strlen(notify_channel_name(ch))) == 0,
               "reason '%s' does not name the channel", v.reason);
    if (v.cls != NOTIFY_RETRYABLE)
        FUZZ_CHECK(v.retry_after_s == -1, "retry_after %ld on class %d", v.retry_after_s, v.cls);
    if (v.cls != NOTIFY_ACCEPTED)
        FUZZ_CHECK(v.provider_id[0] == '\0', "provider id without acceptance");

    if (ch < 0 || ch >= NOTIFY_NCHANNELS || ch == NOTIFY_GAMMU) {
        FUZZ_CHECK(v.cls == NOTIFY_PERMANENT, "channel %d class %d", ch, v.cls);
    } else if (neterr || status <= 0) {
        FUZZ_CHECK(v.cls == NOTIFY_RETRYABLE, "no answer: class %d", v.cls);
    } else if (status == 408 || status == 429 || status >= 500) {
        FUZZ_CHECK(v.cls == NOTIFY_RETRYABLE, "status %ld: class %d", status, v.cls);
        FUZZ_CHECK(v.retry_after_s == (ra >= 0 ? ra : -1), "retry_after %ld, sent %ld",
                   v.retry_after_s, ra);
    } else if (!two) {
        FUZZ_CHECK(v.cls != NOTIFY_ACCEPTED, "status %ld accepted", status);
        if (ch == NOTIFY_WEBHOOK || ch == NOTIFY_FONNTE)
            FUZZ_CHECK(v.cls == NOTIFY_PERMANENT, "status %ld: class %d", status, v.cls);
    } else if (ch != NOTIFY_FONNTE) {
        FUZZ_CHECK(v.cls == NOTIFY_ACCEPTED, "2xx not accepted: class %d", v.cls);
    } else if (v.cls == NOTIFY_ACCEPTED) {
        /* the body must say so; an independent, crude look */
        int says_true = 0;
        size_t i;

        for (i = 0; i + 4 <= n; i++)
            if (strncasecmp(body + i, "true", 4) == 0)
                says_true = 1;
        FUZZ_CHECK(says_true, "fonnte accepted a body without true");
    }
    free(body);
}

static void parse_in_one(struct fin *in)
{
    char *name = take_cstr(in);
    const uint8_t *b;
    size_t n = take_bytes(in, in->n, &b);
    unsigned char *data = malloc(n ? n : 1);
    char phone[24], text[64];
    size_t i;

    FUZZ_CHECK(name && data, "malloc");
    if (n)
        memcpy(data, b, n);
    if (notify_gammu_parse_in(name, data, n, phone, sizeof(phone), text,
                              sizeof(text)) == 0) {
        check_str(phone, sizeof(phone), "phone");
        check_str(text, sizeof(text), "text");
        FUZZ_CHECK(strncmp(name, "IN", 2) == 0, "accepted %s", name);
        FUZZ_CHECK(strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".txt") == 0,
                   "accepted %s", name);
        FUZZ_CHECK(phone[0] != '\0', "empty phone");
        for (i = 0; phone[i]; i++)
            FUZZ_CHECK((phone[i] >= '0' && phone[i] <= '9') || (i == 0 && phone[i] == '+'),
                       "phone %s", phone);
        FUZZ_CHECK(strstr(name, phone) != NULL, "phone %s not in %s", phone, name);
    }
    free(name);
    free(data);
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value of form field key in body, decoded into out. 0 or -1. */
static int form_field(const char *body, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key), o = 0;
    const char *p = body;

    while (p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            break;
        p = strchr(p, '&');
        if (p)
            p++;
    }
    if (!p)
        return -1;
    for (p += kl + 1; *p && *p != '&'; p++) {
        char c = *p;

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            FUZZ_CHECK(hexv(p[1]) >= 0 && hexv(p[2]) >= 0, "bad escape in %s", body);
            c = (char)(hexv(p[1]) << 4 | hexv(p[2]));
            p += 2;
        } else {
            FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                       c == '~', "raw byte 0x%02x in a form body", (unsigned char)c);
        }
        FUZZ_CHECK(o + 1 < cap, "field too long");
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static void build_one(struct fin *in)
{
    static struct notify_request req;
    static char back[NOTIFY_BODY_MAX + 1];
    const char *phones[] = { "+6281234567890", "+15005550006", NULL };
    unsigned pick = take_u8(in);
    char *text = take_cstr(in);
    char *fphone = take_cstr(in);
    struct notify_msg m = { 0x1122334455667788ULL, "m", NULL, NULL, "r", "a", "s" };
    struct notify_creds c = {
        .base_url = "http://127.0.0.1:1", .token = "T", .account_sid = "AC1",
        .auth_token = "x", .from = "+15005550006", .phone_number_id = "1",
        .template_name = (pick & 8) ? "tpl" : NULL,
    };
    char name[NOTIFY_GAMMU_NAME_MAX], in_name[128], phone[24];
    static unsigned char data[NOTIFY_GAMMU_FILE_MAX];
    static char text2[NOTIFY_TEXT_MAX * 4 + 8];
    size_t len = 0;
    int ch, rc;

    FUZZ_CHECK(text && fphone, "malloc");
    m.text = text;
    m.phone = phones[pick % 3] ? phones[pick % 3] : fphone;
    for (ch = 0; ch < NOTIFY_NCHANNELS; ch++) {
        if (ch == NOTIFY_GAMMU)
            continue;
        rc = notify_build(ch, &m, &c, &req, NULL, 0);
        if (!notify_phone_ok(m.phone) || strlen(text) > NOTIFY_TEXT_MAX) {
            FUZZ_CHECK(rc == HUB_EREJECT, "bad message built: rc %d", rc);
            continue;
        }
        if (rc != 0) {
            /* only a body that does not fit may fail; never with a short text */
            FUZZ_CHECK(rc == HUB_EINVAL && strlen(text) > NOTIFY_BODY_MAX / 8,
                       "ch %d refused rc %d", ch, rc);
            continue;
        }
        FUZZ_CHECK(req.body_len == strlen(req.body), "body length");
        if (ch == NOTIFY_TWILIO_WHATSAPP && c.template_name) {
            cJSON *j;

            FUZZ_CHECK(form_field(req.body, "Body", back, sizeof(back)) != 0,
                       "template with a Body");
            FUZZ_CHECK(form_field(req.body, "ContentVariables", back, sizeof(back)) == 0,
                       "no ContentVariables");
            j = cJSON_Parse(back);
            FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "1")),
                       "ContentVariables %s", back);
            cJSON_Delete(j);
        } else if (ch == NOTIFY_TWILIO_SMS || ch == NOTIFY_TWILIO_WHATSAPP) {
            FUZZ_CHECK(form_field(req.body, "Body", back, sizeof(back)) == 0, "no Body");
            FUZZ_CHECK(strcmp(back, text) == 0, "Body does not round-trip");
        } else if (ch == NOTIFY_FONNTE) {
            FUZZ_CHECK(form_field(req.body, "message", back, sizeof(back)) == 0, "no message");
            FUZZ_CHECK(strcmp(back, text) == 0, "message does not round-trip");
        } else {
            cJSON *j = cJSON_Parse(req.body);
            const cJSON *t;

            FUZZ_CHECK(j != NULL, "request JSON does not parse: %s", req.body);
            if (ch == NOTIFY_WEBHOOK)
                t = cJSON_GetObjectItemCaseSensitive(j, "text");
            else if (!c.template_name)
                t = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(j, "text"), "body");
            else
                t = NULL;
            if (t)
                FUZZ_CHECK(cJSON_IsString(t) && strcmp(t->valuestring, text) == 0,
                           "JSON text does not round-trip");
            cJSON_Delete(j);
        }
    }
    /* gammu: out file -> in parser gives the text back (UTF-16 path) */
    rc = notify_gammu_file(&m, 'A', (int64_t)(pick * 1000003LL) * 1000000000LL, name, data, &len);
    if (rc == 0 && len >= 2 && data[0] == 0xff && data[1] == 0xfe) {
        snprintf(in_name, sizeof(in_name), "IN20250101_000000_00_%s_00.txt", m.phone);
        FUZZ_CHECK(notify_gammu_parse_in(in_name, data, len, phone, sizeof(phone),
                                         text2, sizeof(text2)) == 0, "parse back");
        FUZZ_CHECK(strcmp(text2, text) == 0, "gammu text does not round-trip");
        FUZZ_CHECK(strcmp(phone, m.phone) == 0, "gammu phone");
    } else if (rc == 0) {
        FUZZ_CHECK(len == strlen(text) && memcmp(data, text, len) == 0, "ascii file");
    }
    if (rc == 0)
        FUZZ_CHECK(strncmp(name, "OUTA", 4) == 0 && strstr(name, m.phone) != NULL,
                   "gammu name %s", name);
    free(text);
    free(fphone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin in = { data, size };
    uint8_t mode = take_u8(&in);

    if (mode == 1)
        parse_in_one(&in);
    else if (mode == 2)
        build_one(&in);
    else
        classify_one(&in);
    return 0;
}
