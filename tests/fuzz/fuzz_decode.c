/* SPDX-License-Identifier: MIT */
/* fuzz_decode.c - MQTT topic + payload decoding (hub/src/decode.h).
 *
 * Input: the topic up to the first NUL byte, the payload after it (no NUL
 * at all: the whole input is the topic and the payload is empty). The
 * default decoder (DESIGN.md section 3) with a 4096-byte payload cap.
 * A decoded message must keep the promises of decode.h and reading.h:
 *   - every string NUL-terminated inside its array; site, kind, id, field
 *     and event names non-empty, < HUB_NAME_MAX, accepted by lp_name_ok();
 *     kind one of drum / tank / site; no reserved key; no duplicate key;
 *   - the topic is exactly kube/SITE/KIND/ID[/FIELD] of what was decoded;
 *   - nfields <= HUB_MAX_FIELDS (>= 1 for readings), ntexts <=
 *     HUB_MAX_TEXTS, texts < HUB_TEXT_MAX without control bytes;
 *   - a plain-number payload decodes to what strtod() reads;
 *   - "ts" lies in [0, INT64_MAX] ns;
 *   - the message encodes as line protocol the way the hub writes it, and
 *     reads back (lp_parse.h).
 * A failure must set a reason from the list in decode.h and an error
 * message. Every value also goes through validate_value()/validate_ts(). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "decode.h"
#include "fuzz_input.h"
#include "hub_err.h"
#include "lineproto.h"
#include "lp_parse.h"
#include "reading.h"
#include "validate.h"

#define MAX_PAYLOAD 4096

static struct decoder *dec;
static struct validate_cfg vcfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_decoder(void)
{
    decoder_free(dec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    dec = decoder_new(NULL, 0, NULL, 0, err, sizeof(err));
    if (!dec) {
        fprintf(stderr, "decoder_new: %s\n", err);
        abort();
    }
    atexit(free_decoder);
    validate_cfg_defaults(&vcfg);
    return 0;
}

static void check_name(const char *s, size_t cap, const char *what)
{
    size_t n = strnlen(s, cap);

    FUZZ_CHECK(n < cap, "%s is not NUL-terminated", what);
    FUZZ_CHECK(n > 0, "%s is empty", what);
    FUZZ_CHECK(lp_name_ok(s), "%s fails lp_name_ok", what);
}

static int reserved(const char *s)
{
    return strcmp(s, "time") == 0 || strcmp(s, "site") == 0 || strcmp(s, "kind") == 0 ||
           strcmp(s, "id") == 0;
}

static int known_reason(const char *r)
{
    static const char *const tags[] = {
        "bad_topic", "unknown_topic", "bad_kind", "oversized", "empty_payload",
        "bad_number", "bad_json", "bad_ts", "no_fields", "bad_event",
    };

    for (size_t i = 0; r && i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (strcmp(r, tags[i]) == 0)
            return 1;
    }
    return 0;
}

/* The plain-number payload as decode.h describes it. */
static int plain_number(const uint8_t *p, size_t len, double *v)
{
    char tmp[80], *end;
    const char *s;
    size_t a = 0, b = len;

    while (a < b && strchr(" \t\n\r\f\v", p[a]) && p[a])
        a++;
    while (b > a && strchr(" \t\n\r\f\v", p[b - 1]) && p[b - 1])
        b--;
    if (b == a || b - a >= 64 || memchr(p + a, 0, b - a))
        return -1;
    memcpy(tmp, p + a, b - a);
    tmp[b - a] = '\0';
    s = tmp + (tmp[0] == '+' || tmp[0] == '-');
    if (strncasecmp(s, "0x", 2) == 0)
        return -1;
    *v = strtod(tmp, &end);
    return *end ? -1 : 0;
}

/* Encode m as hub.c does (handle_readings / handle_event, every finite
 * value), and read it back. */
static void check_encodes(const struct message *m)
{
    struct buf b;
    struct lp_line l;
    size_t i, nf = 0;
    int rc;

    buf_init(&b, 0);
    if (m->type == MSG_EVENT) {
        lp_begin(&l, &b, "event");
        lp_tag(&l, "event", m->event);
        lp_tag(&l, "id", m->id);
        lp_tag(&l, "kind", m->kind);
        if (m->member[0])
            lp_tag(&l, "member", m->member);
        lp_tag(&l, "site", m->site);
    } else {
        lp_begin(&l, &b, m->kind);
        lp_tag(&l, "id", m->id);
        lp_tag(&l, "site", m->site);
    }
    for (i = 0; i < m->nfields; i++) {
        if (isfinite(m->fields[i].value)) {
            lp_field_float(&l, m->fields[i].name, m->fields[i].value);
            nf++;
        }
    }
    for (i = 0; i < m->ntexts; i++) {
        lp_field_str(&l, m->texts[i].name, m->texts[i].value);
        nf++;
    }
    if (nf == 0)
        lp_field_bool(&l, "seen", 1);
    rc = lp_end(&l, m->has_ts ? m->ts_ns : INT64_C(1764295200123000000));
    FUZZ_CHECK(rc == HUB_OK, "a decoded message does not encode: %d", rc);
    FUZZ_CHECK(lp_parse_batch(b.data, b.len, NULL, NULL, NULL) == 1,
               "the encoded message does not parse back: %s", b.data);
    buf_free(&b);
}

static void check_message(const struct message *m, const char *topic,
                          const uint8_t *payload, size_t len)
{
    char want[6 * HUB_NAME_MAX];
    size_t i, j;
    double v;

    FUZZ_CHECK(m->type == MSG_READINGS || m->type == MSG_EVENT, "type %d", (int)m->type);
    check_name(m->site, sizeof(m->site), "site");
    check_name(m->kind, sizeof(m->kind), "kind");
    check_name(m->id, sizeof(m->id), "id");
    FUZZ_CHECK(strcmp(m->kind, "drum") == 0 || strcmp(m->kind, "tank") == 0 ||
               strcmp(m->kind, "site") == 0, "kind %s", m->kind);
    FUZZ_CHECK(m->nfields <= HUB_MAX_FIELDS, "nfields %zu", m->nfields);
    FUZZ_CHECK(m->ntexts <= HUB_MAX_TEXTS, "ntexts %zu", m->ntexts);
    for (i = 0; i < m->nfields; i++) {
        check_name(m->fields[i].name, HUB_NAME_MAX, "field name");
        FUZZ_CHECK(!reserved(m->fields[i].name), "reserved field %s", m->fields[i].name);
        for (j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(m->fields[i].name, m->fields[j].name) != 0, "duplicate field");
    }
    for (i = 0; i < m->ntexts; i++) {
        const struct text_field *t = &m->texts[i];
        size_t n = strnlen(t->value, HUB_TEXT_MAX);

        check_name(t->name, HUB_NAME_MAX, "text name");
        FUZZ_CHECK(!reserved(t->name), "reserved text %s", t->name);
        FUZZ_CHECK(n < HUB_TEXT_MAX, "text value not NUL-terminated");
        for (j = 0; j < n; j++)
            FUZZ_CHECK((unsigned char)t->value[j] >= 0x20 && t->value[j] != 0x7f,
                       "control byte in a text value");
        for (j = 0; j < m->nfields; j++)
            FUZZ_CHECK(strcmp(t->name, m->fields[j].name) != 0, "text and field share a name");
        for (j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(t->name, m->texts[j].name) != 0, "duplicate text");
    }
    if (m->has_ts)
        FUZZ_CHECK(m->ts_ns >= 0, "ts_ns %lld before 1970", (long long)m->ts_ns);

    if (m->type == MSG_EVENT) {
        check_name(m->event, sizeof(m->event), "event");
        FUZZ_CHECK(strnlen(m->member, sizeof(m->member)) < sizeof(m->member), "member");
        FUZZ_CHECK(m->member[0] == '\0' || lp_name_ok(m->member), "member name");
        snprintf(want, sizeof(want), "kube/%s/%s/%s/event", m->site, m->kind, m->id);
        FUZZ_CHECK(strcmp(topic, want) == 0, "topic %s decoded as %s", topic, want);
    } else {
        FUZZ_CHECK(m->nfields >= 1, "readings without a field");
        FUZZ_CHECK(m->ntexts == 0 && m->event[0] == '\0', "readings with event parts");
        snprintf(want, sizeof(want), "kube/%s/%s/%s", m->site, m->kind, m->id);
        if (strcmp(topic, want) != 0) {
            /* the plain-number form: the last level is the one field */
            snprintf(want, sizeof(want), "kube/%s/%s/%s/%s", m->site, m->kind, m->id,
                     m->fields[0].name);
            FUZZ_CHECK(strcmp(topic, want) == 0, "topic %s decoded as %s", topic, want);
            FUZZ_CHECK(m->nfields == 1 && !m->has_ts && m->nignored == 0, "plain number");
            FUZZ_CHECK(plain_number(payload, len, &v) == 0,
                       "payload is not a plain number (%zu bytes)", len);
            FUZZ_CHECK(memcmp(&v, &m->fields[0].value, sizeof(v)) == 0 ||
                       (isnan(v) && isnan(m->fields[0].value)),
                       "plain number %a decoded as %a", v, m->fields[0].value);
        }
    }

    for (i = 0; i < m->nfields; i++) {
        const char *r = validate_value(&vcfg, m->fields[i].name, m->fields[i].value, 0, 0.0);
        const char *r2 = validate_value(&vcfg, m->fields[i].name, m->fields[i].value, 1,
                                        m->fields[i].value);

        FUZZ_CHECK(isfinite(m->fields[i].value) || (r && strcmp(r, "non_finite") == 0),
                   "a non-finite value passed validation");
        (void)r2;
    }
    if (m->has_ts)
        (void)validate_ts(&vcfg, m->ts_ns, INT64_C(1764295200123000000));
    check_encodes(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin in = { data, size };
    struct message *m = malloc(sizeof(*m));
    const char *reason = NULL;
    char err[256];
    char *topic = take_cstr(&in);
    const uint8_t *payload;
    size_t len = take_bytes(&in, in.n, &payload);
    int rc;

    FUZZ_CHECK(m && topic, "out of memory");
    memset(m, 0xa5, sizeof(*m));          /* garbage a lazy decoder would leave */
    rc = decode_message(dec, topic, payload, len, MAX_PAYLOAD, m, &reason, err, sizeof(err));
    if (rc == HUB_OK) {
        check_message(m, topic, payload, len);
    } else {
        FUZZ_CHECK(rc == HUB_EINVAL, "decode_message returned %d", rc);
        FUZZ_CHECK(known_reason(reason), "reason %s", reason ? reason : "(null)");
        FUZZ_CHECK(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err), "no message");
        FUZZ_CHECK(len <= MAX_PAYLOAD || strcmp(reason, "oversized") == 0, "oversized");
    }
    free(topic);
    free(m);
    return 0;
}
