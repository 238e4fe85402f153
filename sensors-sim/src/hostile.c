/* SPDX-License-Identifier: MIT */
/* hostile.c - the hostile message list (see hostile.h). Pure. */
#include "hostile.h"

#include <stdio.h>
#include <string.h>

enum htopic {
    HT_NUMBER,      /* <prefix>/<site>/drum/<id>/temp_core_c  */
    HT_JSON,        /* <prefix>/<site>/drum/<id>              */
    HT_EMPTY_ID,    /* <prefix>/<site>/drum//temp_core_c      */
    HT_BACKSLASH,   /* <prefix>/<site>/drum/<id>\x/temp_core_c */
    HT_BAD_KIND     /* <prefix>/<site>/boiler/<id>/temp_core_c */
};

enum hpay {
    HP_TEXT,        /* the payload text as it stands           */
    HP_OVERSIZED    /* a valid reading padded to 5000 bytes    */
};

struct hkind {
    const char *name;
    const char *reason;         /* the hub's tag */
    enum htopic topic;
    enum hpay pay;
    const char *text;
};

/* Fixed order: message j is kind j % HOSTILE_NKINDS. */
static const struct hkind kinds[HOSTILE_NKINDS] = {
    { "number_abc",        "bad_number",           HT_NUMBER,    HP_TEXT, "abc" },
    { "number_12abc",      "bad_number",           HT_NUMBER,    HP_TEXT, "12abc" },
    { "number_hex",        "bad_number",           HT_NUMBER,    HP_TEXT, "0x1F" },
    { "number_empty",      "empty_payload",        HT_NUMBER,    HP_TEXT, "" },
    { "number_nan",        "non_finite",           HT_NUMBER,    HP_TEXT, "nan" },
    { "number_inf",        "non_finite",           HT_NUMBER,    HP_TEXT, "inf" },
    { "ds18b20_minus127",  "ds18b20_disconnected", HT_NUMBER,    HP_TEXT, "-127" },
    { "ds18b20_85",        "ds18b20_power_on",     HT_NUMBER,    HP_TEXT, "85.0" },
    { "number_1e9",        "out_of_range",         HT_NUMBER,    HP_TEXT, "1e9" },
    { "json_not_json",     "bad_json",             HT_JSON,      HP_TEXT, "not json" },
    { "json_array",        "bad_json",             HT_JSON,      HP_TEXT, "[1,2]" },
    { "json_empty_object", "no_fields",            HT_JSON,      HP_TEXT, "{}" },
    { "json_string_value", "no_fields",            HT_JSON,      HP_TEXT,
      "{\"temp_core_c\":\"hot\"}" },
    { "json_bad_ts",       "bad_ts",               HT_JSON,      HP_TEXT,
      "{\"ts\":\"yesterday\",\"temp_core_c\":50}" },
    { "json_truncated",    "bad_json",             HT_JSON,      HP_TEXT,
      "{\"temp_core_c\": 5" },
    { "json_ctrl_key",     "no_fields",            HT_JSON,      HP_TEXT,
      "{\"temp\\u0001core_c\": 50}" },
    { "oversized_5000",    "oversized",            HT_JSON,      HP_OVERSIZED, NULL },
    { "topic_empty_id",    "bad_topic",            HT_EMPTY_ID,  HP_TEXT, "50.00" },
    { "topic_backslash",   "bad_topic",            HT_BACKSLASH, HP_TEXT, "50.00" },
    { "topic_bad_kind",    "bad_kind",             HT_BAD_KIND,  HP_TEXT, "50.00" },
};

const char *hostile_name(int kind)
{
    return kind >= 0 && kind < HOSTILE_NKINDS ? kinds[kind].name : NULL;
}

const char *hostile_reason(int kind)
{
    return kind >= 0 && kind < HOSTILE_NKINDS ? kinds[kind].reason : NULL;
}

/* {"temp_core_c": 50.00, "pad": "xxx...x"} of exactly HOSTILE_PAYLOAD_MAX
 * bytes: well-formed, so only the size cap can reject it. */
static size_t make_oversized(char *buf)
{
    static const char head[] = "{\"temp_core_c\": 50.00, \"pad\": \"";
    static const char tail[] = "\"}";
    size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    size_t pad = HOSTILE_PAYLOAD_MAX - hl - tl;

    memcpy(buf, head, hl);
    memset(buf + hl, 'x', pad);
    memcpy(buf + hl + pad, tail, tl);
    buf[HOSTILE_PAYLOAD_MAX] = '\0';
    return HOSTILE_PAYLOAD_MAX;
}

int hostile_make(uint64_t j, const char *prefix, const char *site, unsigned id,
                 struct hostile_msg *out)
{
    const struct hkind *k = &kinds[j % HOSTILE_NKINDS];
    int n;

    out->kind = (int)(j % HOSTILE_NKINDS);
    switch (k->topic) {
    case HT_NUMBER:
        n = snprintf(out->topic, sizeof(out->topic), "%s/%s/drum/%u/temp_core_c",
                     prefix, site, id);
        break;
    case HT_JSON:
        n = snprintf(out->topic, sizeof(out->topic), "%s/%s/drum/%u", prefix, site, id);
        break;
    case HT_EMPTY_ID:
        n = snprintf(out->topic, sizeof(out->topic), "%s/%s/drum//temp_core_c",
                     prefix, site);
        break;
    case HT_BACKSLASH:
        n = snprintf(out->topic, sizeof(out->topic), "%s/%s/drum/%u\\x/temp_core_c",
                     prefix, site, id);
        break;
    case HT_BAD_KIND:
    default:
        n = snprintf(out->topic, sizeof(out->topic), "%s/%s/boiler/%u/temp_core_c",
                     prefix, site, id);
        break;
    }
    if (n < 0 || (size_t)n >= sizeof(out->topic))
        return -1;
    if (k->pay == HP_OVERSIZED) {
        out->len = make_oversized(out->payload);
    } else {
        out->len = strlen(k->text);
        memcpy(out->payload, k->text, out->len + 1);
    }
    return 0;
}
