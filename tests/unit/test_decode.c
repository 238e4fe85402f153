/* SPDX-License-Identifier: MIT */
/* test_decode.c - topic templates, plain numbers, JSON readings, events,
 * RFC 3339, hostile input. Every payload is decoded from a heap buffer of
 * exactly its length, so a read past the end shows under valgrind/ASan. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "decode.h"
#include "hub_err.h"

#define MAXP 4096

#define T_NUM  "kube/mekarsari/drum/D1/temp_core_c"
#define T_JSON "kube/mekarsari/drum/D1"
#define T_EV   "kube/mekarsari/drum/D1/event"

/* 2025-11-28T02:00:00Z = 10:00 in Bontang (UTC+8) */
#define TS_S   INT64_C(1764295200)
#define TS_NS  (TS_S * INT64_C(1000000000))

static struct decoder *dec;

static void setup(void)
{
    char err[256];

    dec = decoder_new(NULL, 0, NULL, 0, err, sizeof(err));
    ck_assert_msg(dec != NULL, "decoder_new: %s", err);
}

static void teardown(void)
{
    decoder_free(dec);
    dec = NULL;
}

/* Decode from an exact-length heap copy of payload[0..len). */
static int run(const struct decoder *d, const char *topic, const char *payload,
               size_t len, size_t maxp, struct message *m, const char **reason,
               char *err, size_t errlen)
{
    char *p = malloc(len ? len : 1);
    int rc;

    ck_assert_ptr_nonnull(p);
    memcpy(p, payload, len);
    rc = decode_message(d, topic, p, len, maxp, m, reason, err, errlen);
    free(p);
    return rc;
}

static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b;   /* also tells +inf from -inf */
}

/* ---- the big table ---------------------------------------------------- */

struct fexp { const char *name; double v; };
struct texp { const char *name; const char *v; };

struct dcase {
    const char *topic;
    const char *payload;
    const char *reason;         /* NULL: expect HUB_OK */
    const char *site, *kind, *id;   /* NULL: mekarsari / drum / D1 */
    enum msg_type type;
    int has_ts;
    int64_t ts_ns;
    size_t nfields;
    struct fexp f[4];
    size_t nignored;
    const char *event, *member;     /* NULL: "" */
    size_t ntexts;
    struct texp t[3];
};

static const struct dcase cases[] = {
    /* plain numbers */
    { .topic = T_NUM, .payload = "56.25", .nfields = 1, .f = { { "temp_core_c", 56.25 } } },
    { .topic = T_NUM, .payload = "  56.25\r\n", .nfields = 1, .f = { { "temp_core_c", 56.25 } } },
    { .topic = T_NUM, .payload = "\t-3 ", .nfields = 1, .f = { { "temp_core_c", -3 } } },
    { .topic = T_NUM, .payload = "1e3", .nfields = 1, .f = { { "temp_core_c", 1000 } } },
    { .topic = T_NUM, .payload = "+7", .nfields = 1, .f = { { "temp_core_c", 7 } } },
    { .topic = T_NUM, .payload = ".5", .nfields = 1, .f = { { "temp_core_c", 0.5 } } },
    { .topic = T_NUM, .payload = "-0.0625", .nfields = 1, .f = { { "temp_core_c", -0.0625 } } },
    { .topic = T_NUM, .payload = "nan", .nfields = 1, .f = { { "temp_core_c", NAN } } },
    { .topic = T_NUM, .payload = "NaN", .nfields = 1, .f = { { "temp_core_c", NAN } } },
    { .topic = T_NUM, .payload = "inf", .nfields = 1, .f = { { "temp_core_c", INFINITY } } },
    { .topic = T_NUM, .payload = " -Inf ", .nfields = 1, .f = { { "temp_core_c", -INFINITY } } },
    { .topic = T_NUM, .payload = "INFINITY", .nfields = 1, .f = { { "temp_core_c", INFINITY } } },
    { .topic = T_NUM, .payload = "1e999", .nfields = 1, .f = { { "temp_core_c", INFINITY } } },
    { .topic = T_NUM, .payload = "0x10", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "-0X1p3", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "12abc", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "1 2", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "1,5", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "1e", .reason = "bad_number" },
    { .topic = T_NUM, .payload = ".", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "--1", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "nanx", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "in", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "   ", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "{\"v\": 1}", .reason = "bad_number" },
    { .topic = T_NUM, .payload = "", .reason = "empty_payload" },

    /* JSON readings */
    { .topic = T_JSON,
      .payload = "{\"ts\": 1764295200123, \"temp_core_c\": 56.2, \"moisture_pct\": 52}",
      .has_ts = 1, .ts_ns = TS_NS + 123000000,
      .nfields = 2, .f = { { "temp_core_c", 56.2 }, { "moisture_pct", 52 } } },
    { .topic = T_JSON, .payload = "{\"temp_core_c\": 56.2}",
      .nfields = 1, .f = { { "temp_core_c", 56.2 } } },
    { .topic = T_JSON, .payload = " \n{\"a_c\":-1.5e1}\n\t ",
      .nfields = 1, .f = { { "a_c", -15 } } },
    { .topic = T_JSON, .payload = "{\"ts\": 1764295200123.5, \"a\": 1}", .has_ts = 1,
      .ts_ns = TS_NS + 123500000, .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": 1764295200123.25, \"a\": 1}", .has_ts = 1,
      .ts_ns = TS_NS + 123250000, .nfields = 1, .f = { { "a", 1 } } },
    /* 4 * 2^-12 ms past .123: 976.5625 ns, rounded to nearest */
    { .topic = T_JSON, .payload = "{\"ts\": 1764295200123.0009765625, \"a\": 1}", .has_ts = 1,
      .ts_ns = TS_NS + 123000977, .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": 1.0000007, \"a\": 1}", .has_ts = 1,
      .ts_ns = 1000001, .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": 1, \"a\": 1}", .has_ts = 1, .ts_ns = 1000000,
      .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": 9223372036854, \"a\": 1}", .has_ts = 1,
      .ts_ns = INT64_C(9223372036854000000), .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": \"2025-11-28T02:00:00.123Z\", \"a\": 1}", .has_ts = 1,
      .ts_ns = TS_NS + 123000000, .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"a\": 1, \"ts\": \"2025-11-28T10:00:00.123456789+08:00\"}",
      .has_ts = 1,
      .ts_ns = TS_NS + 123456789, .nfields = 1, .f = { { "a", 1 } } },
    { .topic = T_JSON, .payload = "{\"ts\": true, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": null, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": [1], \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": {}, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": \"yesterday\", \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": \"2025-11-28T10:00:00\", \"a\": 1}",
      .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": \"2026-02-29T00:00:00Z\", \"a\": 1}",
      .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": \"1970-01-01T00:00:00Z\", \"a\": 1}",
      .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": 0, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": -5, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": 1e13, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": 9223372036855, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": 1e400, \"a\": 1}", .reason = "bad_ts" },
    { .topic = T_JSON, .payload = "{\"ts\": 1000, \"ts\": \"junk\", \"a\": 1}", .has_ts = 1,
      .ts_ns = 1000000000, .nfields = 1, .f = { { "a", 1 } }, .nignored = 1 },
    { .topic = T_JSON, .payload = "{\"a_c\": 1, \"n\": {\"b\": 2}, \"arr\": [1, 2]}",
      .nfields = 1, .f = { { "a_c", 1 } }, .nignored = 2 },
    { .topic = T_JSON, .payload = "{\"s\": \"x\", \"a_c\": 1, \"b\": true, \"z\": null}",
      .nfields = 1, .f = { { "a_c", 1 } }, .nignored = 3 },
    { .topic = T_JSON, .payload = "{\"time\": 1, \"site\": 2, \"kind\": 3, \"id\": 4, \"x\": 5}",
      .nfields = 1, .f = { { "x", 5 } }, .nignored = 4 },
    { .topic = T_JSON,
      .payload = "{\"a\\\\b\": 1, \"\": 2, \"c\\u0001\": 3, \"d\\u007f\": 4, \"ok\": 5}",
      .nfields = 1, .f = { { "ok", 5 } }, .nignored = 4 },
    { .topic = T_JSON, .payload = "{\"bad\xff\": 1, \"ok\": 5}",
      .nfields = 1, .f = { { "ok", 5 } }, .nignored = 1 },
    { .topic = T_JSON, .payload = "{\"suhu_\\u00b0c\": 30, \"a b,c=d\\\"\": 1}",
      .nfields = 2, .f = { { "suhu_\xc2\xb0" "c", 30 }, { "a b,c=d\"", 1 } } },
    { .topic = T_JSON, .payload = "{\"a\": 1, \"a\": 2, \"b\": 3}",
      .nfields = 2, .f = { { "a", 1 }, { "b", 3 } }, .nignored = 1 },
    { .topic = T_JSON, .payload = "{\"a\": 1e400, \"b\": -1e400}",
      .nfields = 2, .f = { { "a", INFINITY }, { "b", -INFINITY } } },
    { .topic = T_JSON, .payload = "{\"event\": 1}", .nfields = 1, .f = { { "event", 1 } } },
    { .topic = T_JSON, .payload = "{}", .reason = "no_fields" },
    { .topic = T_JSON, .payload = "{\"s\": \"x\", \"o\": {}}", .reason = "no_fields" },
    { .topic = T_JSON, .payload = "{\"ts\": 1764295200123}", .reason = "no_fields" },
    { .topic = T_JSON, .payload = "[1, 2]", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "42", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "\"str\"", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "null", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "{\"a\": 1", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "{\"a\": 1} x", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "{\"a\": 1}{\"b\": 2}", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "{\"a\": NaN}", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "{'a': 1}", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "hello", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "56.25", .reason = "bad_json" },
    { .topic = T_JSON, .payload = "", .reason = "empty_payload" },

    /* events */
    { .topic = T_EV,
      .payload = "{\"event\": \"batch_start\", \"batch\": \"D3-2026-11\", \"mass_kg\": 120, "
            "\"member\": \"sari\"}",
      .type = MSG_EVENT, .event = "batch_start", .member = "sari",
      .nfields = 1, .f = { { "mass_kg", 120 } },
      .ntexts = 1, .t = { { "batch", "D3-2026-11" } } },
    { .topic = T_EV, .payload = "{\"event\": \"turn\"}", .type = MSG_EVENT, .event = "turn" },
    { .topic = T_EV,
      .payload = "{\"ts\": 1764295200123, \"event\": \"harvest\", \"mass_kg\": 80.5}",
      .type = MSG_EVENT, .event = "harvest", .has_ts = 1, .ts_ns = TS_NS + 123000000,
      .nfields = 1, .f = { { "mass_kg", 80.5 } } },
    { .topic = T_EV,
      .payload = "{\"event\": \"recipe\", \"recipe\": \"leaves\\n+ manure\\t1:3\", \"note\": \"\"}",
      .type = MSG_EVENT, .event = "recipe",
      .ntexts = 2, .t = { { "recipe", "leaves + manure 1:3" }, { "note", "" } } },
    { .topic = T_EV, .payload = "{\"event\": \"fill\", \"member\": 7, \"litres\": 200}",
      .type = MSG_EVENT, .event = "fill", .nfields = 1, .f = { { "litres", 200 } },
      .nignored = 1 },
    { .topic = T_EV, .payload = "{\"event\": \"fill\", \"member\": \"a\\\\b\"}",
      .type = MSG_EVENT, .event = "fill", .nignored = 1 },
    { .topic = T_EV, .payload = "{\"event\": \"water\", \"ok\": true, \"l\": [1], \"time\": \"x\", "
            "\"site\": 1, \"a\": 1, \"a\": \"dup\", \"bad\xc0\xaf\": \"x\", \"t\": \"\xff\"}",
      .type = MSG_EVENT, .event = "water", .nfields = 1, .f = { { "a", 1 } },
      .nignored = 7 },
    { .topic = T_EV, .payload = "{\"event\": \"turn\", \"event\": \"water\", \"member\": \"sari\", "
            "\"member\": \"budi\"}",
      .type = MSG_EVENT, .event = "turn", .member = "sari", .nignored = 2 },
    { .topic = T_EV, .payload = "{\"event\": \"turn\", \"ts\": \"2025-11-28 10:00:00+08:00\"}",
      .type = MSG_EVENT, .event = "turn", .has_ts = 1, .ts_ns = TS_NS },
    { .topic = T_EV, .payload = "{\"event\": \"turn\", \"ts\": false}", .reason = "bad_ts" },
    { .topic = T_EV, .payload = "{\"batch\": \"D3\"}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "{\"event\": 3}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "{\"event\": \"\"}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "{\"event\": \"a\\\\b\"}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "{\"event\": \"a\\nb\"}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "{\"event\": null}", .reason = "bad_event" },
    { .topic = T_EV, .payload = "[\"event\"]", .reason = "bad_json" },
    { .topic = T_EV, .payload = "turn", .reason = "bad_json" },
    { .topic = T_EV, .payload = "12", .reason = "bad_json" },

    /* topics */
    { .topic = "kube/a b,c=d/drum/1\"x/temp_core_c", .payload = "1",
      .site = "a b,c=d", .id = "1\"x",
      .nfields = 1, .f = { { "temp_core_c", 1 } } },
    { .topic = "kube/Guntung\xe2\x80\x93" "Bontang/tank/T\xc3\xa9/ph", .payload = "7",
      .site = "Guntung\xe2\x80\x93" "Bontang", .kind = "tank", .id = "T\xc3\xa9",
      .nfields = 1, .f = { { "ph", 7 } } },
    { .topic = "kube/s/site/ambient", .payload = "{\"temp_ambient_c\": 31}",
      .site = "s", .kind = "site",
      .id = "ambient", .nfields = 1, .f = { { "temp_ambient_c", 31 } } },
    { .topic = "kube/s/drum/D1/{field}", .payload = "1", .site = "s",
      .nfields = 1, .f = { { "{field}", 1 } } },
    { .topic = "kube//drum/D1/temp_core_c", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum//temp_core_c", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1/", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/", .payload = "{\"a\": 1}", .reason = "bad_topic" },
    { .topic = "kube/s\x01/drum/D1/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D\n1/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1/t\x7f", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s\\x/drum/D1/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1\\", .payload = "{\"a\": 1}", .reason = "bad_topic" },
    { .topic = "kube/s\xff/drum/D1/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/\xc0\xaf/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/\xed\xa0\x80/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1/\xe2\x82", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/\xf4\x90\x80\x80/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1/time", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum/D1/site", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/barrel/D1/t", .payload = "1", .reason = "bad_kind" },
    { .topic = "kube/s/Drum/D1/t", .payload = "1", .reason = "bad_kind" },
    { .topic = "kube/s/drum\x01/D1/t", .payload = "1", .reason = "bad_topic" },
    { .topic = "kube/s/drum", .payload = "1", .reason = "unknown_topic" },
    { .topic = "kube/s/drum/D1/t/x", .payload = "1", .reason = "unknown_topic" },
    { .topic = "Kube/s/drum/D1/t", .payload = "1", .reason = "unknown_topic" },
    { .topic = "other/s/drum/D1", .payload = "{\"a\": 1}", .reason = "unknown_topic" },
    { .topic = "", .payload = "1", .reason = "unknown_topic" },
    { .topic = "/", .payload = "1", .reason = "unknown_topic" },
    { .topic = "kube/s/drum/D1/t/", .payload = "1", .reason = "unknown_topic" },
    { .topic = "/kube/s/drum/D1", .payload = "1", .reason = "unknown_topic" },
    { .topic = "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u", .payload = "1",
      .reason = "unknown_topic" },
};

START_TEST(test_table)
{
    const struct dcase *c = &cases[_i];
    struct message m;
    const char *reason = "unset";
    char err[256];
    int rc;

    memset(&m, 0xa5, sizeof(m));
    err[0] = 'X';
    err[1] = '\0';
    rc = run(dec, c->topic, c->payload, strlen(c->payload), MAXP, &m, &reason,
             err, sizeof(err));
    if (c->reason) {
        ck_assert_msg(rc == HUB_EINVAL, "case %d (%s | %s): rc %d, want EINVAL",
                      _i, c->topic, c->payload, rc);
        ck_assert_msg(reason && strcmp(reason, c->reason) == 0,
                      "case %d (%s | %s): reason %s, want %s", _i, c->topic, c->payload,
                      reason ? reason : "(null)", c->reason);
        ck_assert_msg(err[0] != '\0' && strcmp(err, "X") != 0,
                      "case %d: no error message", _i);
        return;
    }
    ck_assert_msg(rc == HUB_OK, "case %d (%s | %s): rc %d reason %s: %s", _i, c->topic,
                  c->payload, rc, reason ? reason : "(null)", err);
    ck_assert_ptr_null(reason);
    ck_assert_int_eq(m.type, c->type);
    ck_assert_str_eq(m.site, c->site ? c->site : "mekarsari");
    ck_assert_str_eq(m.kind, c->kind ? c->kind : "drum");
    ck_assert_str_eq(m.id, c->id ? c->id : "D1");
    ck_assert_int_eq(m.has_ts, c->has_ts);
    if (c->has_ts)
        ck_assert_msg(m.ts_ns == c->ts_ns, "case %d: ts %lld, want %lld", _i,
                      (long long)m.ts_ns, (long long)c->ts_ns);
    else
        ck_assert_int_eq(m.ts_ns, 0);
    ck_assert_msg(m.nfields == c->nfields, "case %d: nfields %zu, want %zu", _i,
                  m.nfields, c->nfields);
    for (size_t k = 0; k < c->nfields; k++) {
        ck_assert_str_eq(m.fields[k].name, c->f[k].name);
        ck_assert_msg(same_double(m.fields[k].value, c->f[k].v),
                      "case %d field %zu: %.17g, want %.17g", _i, k,
                      m.fields[k].value, c->f[k].v);
    }
    ck_assert_msg(m.nignored == c->nignored, "case %d: nignored %zu, want %zu", _i,
                  m.nignored, c->nignored);
    ck_assert_str_eq(m.event, c->event ? c->event : "");
    ck_assert_str_eq(m.member, c->member ? c->member : "");
    ck_assert_msg(m.ntexts == c->ntexts, "case %d: ntexts %zu, want %zu", _i,
                  m.ntexts, c->ntexts);
    for (size_t k = 0; k < c->ntexts; k++) {
        ck_assert_str_eq(m.texts[k].name, c->t[k].name);
        ck_assert_str_eq(m.texts[k].value, c->t[k].v);
    }
    /* memset 0 first: unused slots are clean, not 0xa5 */
    ck_assert_int_eq(m.fields[HUB_MAX_FIELDS - 1].name[0], 0);
    ck_assert_int_eq(m.texts[HUB_MAX_TEXTS - 1].value[0], 0);
}
END_TEST

/* ---- generated payloads and topics ------------------------------------ */

static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *s = malloc(a + n + b + 1);

    ck_assert_ptr_nonnull(s);
    memcpy(s, prefix, a);
    memset(s + a, c, n);
    memcpy(s + a + n, suffix, b + 1);
    return s;
}

static int decode_str(const char *topic, const char *payload, struct message *m,
                      const char **reason)
{
    char err[256];

    return run(dec, topic, payload, strlen(payload), MAXP, m, reason, err, sizeof(err));
}

START_TEST(test_not_nul_terminated)
{
    struct message m;
    const char *reason;
    char err[128];

    /* the byte after the payload is a digit: must not be read */
    ck_assert_int_eq(decode_message(dec, T_NUM, "12", 1, MAXP, &m, &reason, err,
                                    sizeof(err)), HUB_OK);
    ck_assert(m.fields[0].value == 1.0);
    ck_assert_int_eq(decode_message(dec, T_NUM, "-3.59", 4, MAXP, &m, &reason, err,
                                    sizeof(err)), HUB_OK);
    ck_assert(m.fields[0].value == -3.5);
    ck_assert_int_eq(decode_message(dec, T_JSON, "{\"a\":1}99", 7, MAXP, &m, &reason,
                                    err, sizeof(err)), HUB_OK);
    ck_assert(m.fields[0].value == 1.0);
    ck_assert_int_eq(decode_message(dec, T_JSON, "{\"a\":12}", 6, MAXP, &m, &reason,
                                    err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_json");
    /* an embedded NUL is not the end of the payload */
    ck_assert_int_eq(decode_message(dec, T_NUM, "1\0" "5", 3, MAXP, &m, &reason, err,
                                    sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_number");
    ck_assert_int_eq(decode_message(dec, T_JSON, "{\"a\":1}\0", 8, MAXP, &m, &reason,
                                    err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_json");
}
END_TEST

START_TEST(test_oversized)
{
    struct message m;
    const char *reason;
    char err[128];
    char *p = repeat("1", ' ', MAXP - 1, "");   /* MAXP bytes */

    ck_assert_int_eq(run(dec, T_NUM, p, MAXP, MAXP, &m, &reason, err, sizeof(err)),
                     HUB_OK);
    ck_assert(m.fields[0].value == 1.0);
    ck_assert_int_eq(run(dec, T_NUM, p, MAXP, MAXP - 1, &m, &reason, err, sizeof(err)),
                     HUB_EINVAL);
    ck_assert_str_eq(reason, "oversized");
    ck_assert_ptr_nonnull(strstr(err, "4096"));
    /* oversized is checked before the topic */
    ck_assert_int_eq(run(dec, "bad\\topic", p, MAXP, 16, &m, &reason, err, sizeof(err)),
                     HUB_EINVAL);
    ck_assert_str_eq(reason, "oversized");
    /* 0 = no cap */
    ck_assert_int_eq(run(dec, T_NUM, p, MAXP, 0, &m, &reason, err, sizeof(err)), HUB_OK);
    free(p);
}
END_TEST

START_TEST(test_number_length)
{
    struct message m;
    const char *reason;
    char *ok = repeat("1", '0', 62, "");       /* 63 bytes */
    char *bad = repeat("1", '0', 63, "");      /* 64 bytes */
    char *padded = repeat("   ", '0', 60, "1  ");   /* 63 bytes after trimming */

    ck_assert_int_eq(decode_str(T_NUM, ok, &m, &reason), HUB_OK);
    ck_assert(m.fields[0].value == 1e62);
    ck_assert_int_eq(decode_str(T_NUM, padded, &m, &reason), HUB_OK);
    ck_assert(m.fields[0].value == 1.0);
    ck_assert_int_eq(decode_str(T_NUM, bad, &m, &reason), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_number");
    free(ok);
    free(bad);
    free(padded);
}
END_TEST

START_TEST(test_level_length)
{
    struct message m;
    const char *reason;
    char *t63 = repeat("kube/s/drum/", 'x', 63, "/t");
    char *t64 = repeat("kube/s/drum/", 'x', 64, "/t");
    char *s63 = repeat("kube/", 's', 63, "/drum/D1");
    char *s64 = repeat("kube/", 's', 64, "/drum/D1");
    char *f64 = repeat("kube/s/drum/D1/", 'f', 64, "");
    char *k4096 = repeat("kube/s/drum/D1/", 'f', 4096, "");

    ck_assert_int_eq(decode_str(t63, "1", &m, &reason), HUB_OK);
    ck_assert_uint_eq(strlen(m.id), 63);
    ck_assert_int_eq(decode_str(s63, "{\"a\": 1}", &m, &reason), HUB_OK);
    ck_assert_uint_eq(strlen(m.site), 63);
    ck_assert_int_eq(decode_str(t64, "1", &m, &reason), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_topic");
    ck_assert_int_eq(decode_str(s64, "{\"a\": 1}", &m, &reason), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_topic");
    ck_assert_int_eq(decode_str(f64, "1", &m, &reason), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_topic");
    ck_assert_int_eq(decode_str(k4096, "1", &m, &reason), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_topic");
    free(t63);
    free(t64);
    free(s63);
    free(s64);
    free(f64);
    free(k4096);
}
END_TEST

START_TEST(test_json_key_length)
{
    struct message m;
    const char *reason;
    char *k63 = repeat("{\"", 'k', 63, "\": 1, \"a\": 2}");
    char *k64 = repeat("{\"", 'k', 64, "\": 1, \"a\": 2}");

    ck_assert_int_eq(decode_str(T_JSON, k63, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.nfields, 2);
    ck_assert_uint_eq(strlen(m.fields[0].name), 63);
    ck_assert_int_eq(decode_str(T_JSON, k64, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.nfields, 1);
    ck_assert_str_eq(m.fields[0].name, "a");
    ck_assert_uint_eq(m.nignored, 1);
    free(k63);
    free(k64);
}
END_TEST

START_TEST(test_many_fields)
{
    char payload[2048];
    size_t n = 0;
    struct message m;
    const char *reason;

    n += (size_t)snprintf(payload + n, sizeof(payload) - n, "{\"ts\": 1764295200000");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(payload + n, sizeof(payload) - n, ", \"f%02d_c\": %d", i, i);
    n += (size_t)snprintf(payload + n, sizeof(payload) - n, ", \"late\": \"x\"}");
    ck_assert_uint_lt(n, sizeof(payload));
    ck_assert_int_eq(decode_str(T_JSON, payload, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.nfields, HUB_MAX_FIELDS);
    ck_assert_uint_eq(m.nignored, 40 - HUB_MAX_FIELDS + 1);
    for (int i = 0; i < HUB_MAX_FIELDS; i++) {
        char name[16];

        snprintf(name, sizeof(name), "f%02d_c", i);
        ck_assert_str_eq(m.fields[i].name, name);
        ck_assert(m.fields[i].value == i);
    }
    ck_assert_int_eq(m.ts_ns, TS_NS);
}
END_TEST

START_TEST(test_many_texts)
{
    char payload[2048];
    size_t n = 0;
    struct message m;
    const char *reason;

    n += (size_t)snprintf(payload + n, sizeof(payload) - n, "{\"event\": \"note\"");
    for (int i = 0; i < 12; i++)
        n += (size_t)snprintf(payload + n, sizeof(payload) - n, ", \"t%d\": \"v%d\"", i, i);
    n += (size_t)snprintf(payload + n, sizeof(payload) - n, "}");
    ck_assert_uint_lt(n, sizeof(payload));
    ck_assert_int_eq(decode_str(T_EV, payload, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.ntexts, HUB_MAX_TEXTS);
    ck_assert_uint_eq(m.nignored, 12 - HUB_MAX_TEXTS);
    ck_assert_str_eq(m.texts[7].name, "t7");
    ck_assert_str_eq(m.texts[7].value, "v7");
}
END_TEST

START_TEST(test_text_length)
{
    struct message m;
    const char *reason;
    char *ok = repeat("{\"event\": \"note\", \"t\": \"", 'x', HUB_TEXT_MAX - 1, "\"}");
    char *bad = repeat("{\"event\": \"note\", \"t\": \"", 'x', HUB_TEXT_MAX, "\"}");

    ck_assert_int_eq(decode_str(T_EV, ok, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.ntexts, 1);
    ck_assert_uint_eq(strlen(m.texts[0].value), HUB_TEXT_MAX - 1);
    ck_assert_int_eq(decode_str(T_EV, bad, &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.ntexts, 0);
    ck_assert_uint_eq(m.nignored, 1);
    free(ok);
    free(bad);
}
END_TEST

START_TEST(test_deep_nesting)
{
    static const char *const topics[] = { T_JSON, T_EV, T_NUM };
    struct message m;
    const char *reason;
    char *open = repeat("", '[', 10000, "");
    char *objs = malloc(100000 * 5 + 1);
    size_t n = 0;

    ck_assert_ptr_nonnull(objs);
    for (long i = 0; i < hub_test_iters(100000); i++) {
        memcpy(objs + n, "{\"a\":", 5);
        n += 5;
    }
    objs[n] = '\0';
    for (size_t t = 0; t < 3; t++) {
        ck_assert_int_eq(run(dec, topics[t], open, strlen(open), 0, &m, &reason, NULL, 0),
                         HUB_EINVAL);
        ck_assert_int_eq(run(dec, topics[t], objs, n, 0, &m, &reason, NULL, 0),
                         HUB_EINVAL);
    }
    /* within cJSON's nesting limit, the nested member is only skipped */
    ck_assert_int_eq(decode_str(T_JSON, "{\"n\": [[[[[[[[[[{\"x\": 1}]]]]]]]]]], \"a\": 2}",
                                &m, &reason), HUB_OK);
    ck_assert_uint_eq(m.nfields, 1);
    ck_assert_uint_eq(m.nignored, 1);
    free(open);
    free(objs);
}
END_TEST

START_TEST(test_null_args)
{
    struct message m;
    const char *reason;
    char err[8];

    /* no reason pointer, no err buffer, tiny err buffer */
    ck_assert_int_eq(decode_message(dec, T_NUM, "x", 1, MAXP, &m, NULL, NULL, 0),
                     HUB_EINVAL);
    ck_assert_int_eq(decode_message(dec, T_NUM, "x", 1, MAXP, &m, &reason, err,
                                    sizeof(err)), HUB_EINVAL);
    ck_assert_uint_lt(strlen(err), sizeof(err));
    ck_assert_int_eq(decode_message(NULL, T_NUM, "1", 1, MAXP, &m, &reason, NULL, 0),
                     HUB_EINVAL);
    ck_assert_int_eq(decode_message(dec, NULL, "1", 1, MAXP, &m, &reason, NULL, 0),
                     HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_topic");
    ck_assert_int_eq(decode_message(dec, T_NUM, NULL, 0, MAXP, &m, &reason, NULL, 0),
                     HUB_EINVAL);
    ck_assert_str_eq(reason, "empty_payload");
    decoder_free(NULL);
}
END_TEST

/* Random bytes, random JSON-ish text: no crash, and what is accepted is sane. */
START_TEST(test_garbage)
{
    static const char *const topics[] = { T_NUM, T_JSON, T_EV };
    static const char alphabet[] = "{}[]\":,0123456789.eE+-tnfalsrue \\u\x01\xff" "abc";
    uint32_t x = 2463534242u;
    char buf[96];
    struct message m;
    const char *reason;

    for (long i = 0; i < hub_test_iters(30000); i++) {
        size_t n;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n = 1 + x % sizeof(buf);
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[k] = (i & 1) ? (char)(x & 0xff) : alphabet[x % (sizeof(alphabet) - 1)];
        }
        if (i % 3 == 1)
            buf[0] = '{';
        if (run(dec, topics[i % 3], buf, n, MAXP, &m, &reason, NULL, 0) == HUB_OK) {
            ck_assert_uint_le(m.nfields, HUB_MAX_FIELDS);
            ck_assert_uint_le(m.ntexts, HUB_MAX_TEXTS);
            for (size_t k = 0; k < m.nfields; k++)
                ck_assert_uint_lt(strlen(m.fields[k].name), HUB_NAME_MAX);
        } else {
            ck_assert_ptr_nonnull(reason);
        }
    }
}
END_TEST

/* ---- templates -------------------------------------------------------- */

struct tcase {
    const char *tmpl[3];
    size_t ntmpl;
    const char *kinds[3];
    size_t nkinds;
    int ok;
};

static const struct tcase tcases[] = {
    { { "kube/{site}/{kind}/{id}/{field}" }, 1, { NULL }, 0, 1 },
    { { "{id}/{kind}/{site}" }, 1, { NULL }, 0, 1 },
    { { "farm/{site}/+/{kind}/{id}/{field}" }, 1, { "bin" }, 1, 1 },
    { { "kube/{site}/{kind}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{id}/{field}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}/{id}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}/{field}/{field}" }, 1, { NULL }, 0, 0 },
    { { "kube/#/{site}/{kind}/{id}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}/#" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}/{bogus}" }, 1, { NULL }, 0, 0 },
    { { "kube/a+b/{site}/{kind}/{id}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}x/{kind}/{id}" }, 1, { NULL }, 0, 0 },
    { { "" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}", NULL }, 2, { NULL }, 0, 0 },
    { { "a/b/c/d/e/f/g/h/i/j/k/l/m/{site}/{kind}/{id}/{field}" }, 1, { NULL }, 0, 0 },
    { { "kube/{site}/{kind}/{id}" }, 1, { "drum", "" }, 2, 0 },
    { { "kube/{site}/{kind}/{id}" }, 1, { "a\\b" }, 1, 0 },
    { { "kube/{site}/{kind}/{id}" }, 1, { NULL, "x" }, 2, 0 },
};

START_TEST(test_templates)
{
    const struct tcase *c = &tcases[_i];
    char err[256] = "";
    struct decoder *d = decoder_new(c->tmpl, c->ntmpl, c->kinds[0] || c->nkinds ?
                                    c->kinds : NULL, c->nkinds, err, sizeof(err));

    if (c->ok) {
        ck_assert_msg(d != NULL, "template case %d: %s", _i, err);
    } else {
        ck_assert_msg(d == NULL, "template case %d compiled", _i);
        ck_assert_msg(err[0] != '\0', "template case %d: no message", _i);
    }
    decoder_free(d);
}
END_TEST

START_TEST(test_custom_templates)
{
    static const char *const tmpl[] = {
        "farm/{site}/+/{kind}/{id}/{field}",
        "farm/{site}/+/{kind}/{id}/raw",        /* never wins: first match is used */
        "{id}/{kind}/{site}",
    };
    static const char *const kinds[] = { "bin", "tank" };
    char err[256];
    struct decoder *d = decoder_new(tmpl, 3, kinds, 2, err, sizeof(err));
    struct message m;
    const char *reason;

    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_int_eq(run(d, "farm/x/any thing/bin/7/ph", "6.5", 3, MAXP, &m, &reason,
                         err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(m.site, "x");
    ck_assert_str_eq(m.kind, "bin");
    ck_assert_str_eq(m.id, "7");
    ck_assert_str_eq(m.fields[0].name, "ph");
    ck_assert(m.fields[0].value == 6.5);
    ck_assert_int_eq(run(d, "farm/x/+/bin/7/raw", "1", 1, MAXP, &m, &reason, err,
                         sizeof(err)), HUB_OK);
    ck_assert_str_eq(m.fields[0].name, "raw");
    ck_assert_int_eq(run(d, "farm/x//bin/7/raw", "1", 1, MAXP, &m, &reason, err,
                         sizeof(err)), HUB_OK);
    ck_assert_int_eq(run(d, "T2/tank/s1", "{\"ph\": 4}", 9, MAXP, &m, &reason, err,
                         sizeof(err)), HUB_OK);
    ck_assert_str_eq(m.site, "s1");
    ck_assert_str_eq(m.id, "T2");
    ck_assert_int_eq(run(d, "D1/drum/s1", "{\"ph\": 4}", 9, MAXP, &m, &reason, err,
                         sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(reason, "bad_kind");
    ck_assert_int_eq(run(d, "kube/s/tank/T1/ph", "4", 1, MAXP, &m, &reason, err,
                         sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(reason, "unknown_topic");
    decoder_free(d);
}
END_TEST

/* ---- RFC 3339 --------------------------------------------------------- */

struct rcase {
    const char *s;
    int ok;
    int64_t ns;
};

#define S(x) (INT64_C(x) * INT64_C(1000000000))

static const struct rcase rcases[] = {
    { "1970-01-01T00:00:00Z", 1, 0 },
    { "1970-01-01T00:00:00.000000001Z", 1, 1 },
    { "2025-11-28T02:00:00Z", 1, S(1764295200) },
    { "2025-11-28T10:00:00+08:00", 1, S(1764295200) },
    { "2025-11-28t02:00:00z", 1, S(1764295200) },
    { "2025-11-28 02:00:00Z", 1, S(1764295200) },
    { "2025-11-28T02:00:00-00:00", 1, S(1764295200) },
    { "2025-06-30T12:59:59-05:30", 1, S(1751308199) },
    { "2025-11-28T02:00:00.5Z", 1, S(1764295200) + 500000000 },
    { "2025-11-28T02:00:00.123456789Z", 1, S(1764295200) + 123456789 },
    { "2025-11-28T02:00:00.1234567891999Z", 1, S(1764295200) + 123456789 },
    { "2025-11-28T10:00:00.000000001+08:00", 1, S(1764295200) + 1 },
    { "2024-02-29T00:00:00Z", 1, S(1709164800) },
    { "2000-02-29T12:00:00Z", 1, S(951825600) },
    { "2016-12-31T23:59:60Z", 1, S(1483228800) },   /* leap second: next :00 */
    { "2262-04-11T23:47:16.854775807Z", 1, INT64_MAX },
    { "2262-04-11T23:47:16.854775808Z", 0, 0 },
    { "2262-04-12T00:00:00Z", 0, 0 },
    { "9999-12-31T23:59:59Z", 0, 0 },
    { "2026-02-29T00:00:00Z", 0, 0 },
    { "2100-02-29T00:00:00Z", 0, 0 },
    { "2025-04-31T00:00:00Z", 0, 0 },
    { "2025-13-01T00:00:00Z", 0, 0 },
    { "2025-00-10T00:00:00Z", 0, 0 },
    { "2025-01-00T00:00:00Z", 0, 0 },
    { "2025-01-01T24:00:00Z", 0, 0 },
    { "2025-01-01T23:60:00Z", 0, 0 },
    { "2025-01-01T23:59:61Z", 0, 0 },
    { "1969-12-31T23:59:59Z", 0, 0 },
    { "1970-01-01T00:00:00+01:00", 0, 0 },
    { "1969-12-31T23:30:00-01:00", 0, 0 },         /* years before 1970 */
    { "2025-11-28T02:00:00", 0, 0 },
    { "2025-11-28T02:00Z", 0, 0 },
    { "2025-11-28T02:00:00.Z", 0, 0 },
    { "2025-11-28T02:00:00+24:00", 0, 0 },
    { "2025-11-28T02:00:00+08:60", 0, 0 },
    { "2025-11-28T02:00:00+0800", 0, 0 },
    { "2025-11-28T02:00:00+08", 0, 0 },
    { "2025-11-28T02:00:00Zx", 0, 0 },
    { "2025-11-28T02:00:00Z ", 0, 0 },
    { "2025-11-28X02:00:00Z", 0, 0 },
    { "2025-1-28T02:00:00Z", 0, 0 },
    { "+2025-11-28T02:00:00Z", 0, 0 },
    { "2025-11-28T02:00:0aZ", 0, 0 },
    { "2025", 0, 0 },
    { "", 0, 0 },
};

START_TEST(test_rfc3339)
{
    const struct rcase *c = &rcases[_i];
    int64_t ns = -42;
    int rc = decode_rfc3339(c->s, &ns);

    if (c->ok) {
        ck_assert_msg(rc == HUB_OK, "\"%s\" rejected", c->s);
        ck_assert_msg(ns == c->ns, "\"%s\": %lld, want %lld", c->s, (long long)ns,
                      (long long)c->ns);
    } else {
        ck_assert_msg(rc == HUB_EINVAL, "\"%s\" accepted as %lld", c->s, (long long)ns);
    }
}
END_TEST

START_TEST(test_rfc3339_null)
{
    int64_t ns;

    ck_assert_int_eq(decode_rfc3339(NULL, &ns), HUB_EINVAL);
    ck_assert_int_eq(decode_rfc3339("2025-11-28T02:00:00Z", NULL), HUB_EINVAL);
}
END_TEST

/* Every day from 1970 to 2100 at noon: agrees with a simple day counter. */
START_TEST(test_rfc3339_calendar)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t days = 0;

    for (int y = 1970; y <= 2100; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        for (int mo = 1; mo <= 12; mo++) {
            int nd = dim[mo - 1] + (mo == 2 && leap);

            for (int d = 1; d <= nd + 1; d++) {
                char s[40];
                int64_t ns;
                int rc;

                snprintf(s, sizeof(s), "%04d-%02d-%02dT12:00:00Z", y, mo, d);
                rc = decode_rfc3339(s, &ns);
                if (d > nd) {
                    ck_assert_msg(rc == HUB_EINVAL, "%s accepted", s);
                    continue;
                }
                ck_assert_msg(rc == HUB_OK, "%s rejected", s);
                ck_assert_msg(ns == (days * 86400 + 43200) * INT64_C(1000000000),
                              "%s: %lld", s, (long long)ns);
                days++;
            }
        }
    }
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("decode");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_not_nul_terminated);
    tcase_add_test(tc, test_oversized);
    tcase_add_test(tc, test_number_length);
    tcase_add_test(tc, test_level_length);
    tcase_add_test(tc, test_json_key_length);
    tcase_add_test(tc, test_many_fields);
    tcase_add_test(tc, test_many_texts);
    tcase_add_test(tc, test_text_length);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_null_args);
    tcase_add_test(tc, test_garbage);
    tcase_add_loop_test(tc, test_templates, 0, (int)(sizeof(tcases) / sizeof(tcases[0])));
    tcase_add_test(tc, test_custom_templates);
    tcase_add_loop_test(tc, test_rfc3339, 0, (int)(sizeof(rcases) / sizeof(rcases[0])));
    tcase_add_test(tc, test_rfc3339_null);
    tcase_add_test(tc, test_rfc3339_calendar);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(decode_suite)
