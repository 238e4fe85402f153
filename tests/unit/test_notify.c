/* SPDX-License-Identifier: MIT */
/* test_notify.c - the exact request of every provider (URL, headers, body
 * bytes incl. form-escaping of Indonesian text with spaces, '&' and UTF-8),
 * the classification tables of every provider's answers (Fonnte 200 +
 * status:false, Twilio 21211, 429 + Retry-After, 5xx, garbage bodies),
 * gammu outbox file names and contents, and inbox file parsing. Every
 * expected string is written out by hand below. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "http_curl.h"
#include "hub_err.h"
#include "notify.h"
#include "notify_send.h"
#include "outbox.h"

static const struct notify_msg MSG = {
    .key = 0x1234abcdULL, .member = "Sari", .phone = "+6281234567890",
    .text = "Suhu drum 3 tinggi: 71.2 C & naik", .rule = "drum_hot",
    .alert_id = "D3-temp", .site = "guntung",
};

static struct notify_request req;

START_TEST(channel_names_round_trip)
{
    ck_assert_int_eq(notify_channel_from_name("webhook"), NOTIFY_WEBHOOK);
    ck_assert_int_eq(notify_channel_from_name("twilio_sms"), NOTIFY_TWILIO_SMS);
    ck_assert_int_eq(notify_channel_from_name("twilio_whatsapp"), NOTIFY_TWILIO_WHATSAPP);
    ck_assert_int_eq(notify_channel_from_name("whatsapp_cloud"), NOTIFY_WHATSAPP_CLOUD);
    ck_assert_int_eq(notify_channel_from_name("fonnte"), NOTIFY_FONNTE);
    ck_assert_int_eq(notify_channel_from_name("gammu"), NOTIFY_GAMMU);
    ck_assert_int_eq(notify_channel_from_name("sms"), -1);
    ck_assert_int_eq(notify_channel_from_name(NULL), -1);
    ck_assert_str_eq(notify_channel_name(NOTIFY_FONNTE), "fonnte");
    ck_assert_str_eq(notify_channel_name(99), "?");
}
END_TEST

START_TEST(phone_numbers)
{
    ck_assert_int_eq(notify_phone_ok("+6281234567890"), 1);
    ck_assert_int_eq(notify_phone_ok("+12345678"), 1);           /* 8 digits */
    ck_assert_int_eq(notify_phone_ok("+1234567"), 0);            /* 7 */
    ck_assert_int_eq(notify_phone_ok("+1234567890123456"), 0);   /* 16 */
    ck_assert_int_eq(notify_phone_ok("081234567890"), 0);
    ck_assert_int_eq(notify_phone_ok("+0812345678"), 0);
    ck_assert_int_eq(notify_phone_ok("+62 812 3456"), 0);
    ck_assert_int_eq(notify_phone_ok(""), 0);
    ck_assert_int_eq(notify_phone_ok(NULL), 0);
}
END_TEST

START_TEST(webhook_request)
{
    struct notify_creds c = { .base_url = "http://127.0.0.1:8080/hook", .token = "tok123" };

    ck_assert_int_eq(notify_build(NOTIFY_WEBHOOK, &MSG, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "http://127.0.0.1:8080/hook");
    ck_assert_uint_eq(req.nheaders, 3);
    ck_assert_str_eq(req.headers[0], "Content-Type: application/json");
    ck_assert_str_eq(req.headers[1], "Idempotency-Key: 000000001234abcd");
    ck_assert_str_eq(req.headers[2], "Authorization: Bearer tok123");
    ck_assert_str_eq(req.body,
        "{\"key\":\"000000001234abcd\",\"member\":\"Sari\",\"phone\":\"+6281234567890\","
        "\"text\":\"Suhu drum 3 tinggi: 71.2 C & naik\",\"rule\":\"drum_hot\","
        "\"alert_id\":\"D3-temp\",\"site\":\"guntung\"}");
    ck_assert_uint_eq(req.body_len, strlen(req.body));

    /* no token: no Authorization header; quotes and newline escaped */
    {
        struct notify_msg m = MSG;
        struct notify_creds c2 = { .base_url = "http://h/x/" };

        m.text = "a\"b\nc";
        m.rule = NULL;
        ck_assert_int_eq(notify_build(NOTIFY_WEBHOOK, &m, &c2, &req, NULL, 0), 0);
        ck_assert_str_eq(req.url, "http://h/x");
        ck_assert_uint_eq(req.nheaders, 2);
        ck_assert_str_eq(req.body,
            "{\"key\":\"000000001234abcd\",\"member\":\"Sari\",\"phone\":\"+6281234567890\","
            "\"text\":\"a\\\"b\\nc\",\"rule\":\"\",\"alert_id\":\"D3-temp\",\"site\":\"guntung\"}");
    }
}
END_TEST

START_TEST(twilio_sms_request)
{
    /* RFC 7617's example: Aladdin:open sesame */
    struct notify_creds c = { .base_url = "https://api.twilio.com/", .account_sid = "Aladdin",
                              .auth_token = "open sesame", .from = "+15005550006" };

    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &MSG, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "https://api.twilio.com/2010-04-01/Accounts/Aladdin/Messages.json");
    ck_assert_uint_eq(req.nheaders, 2);
    ck_assert_str_eq(req.headers[0], "Content-Type: application/x-www-form-urlencoded");
    ck_assert_str_eq(req.headers[1], "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    ck_assert_str_eq(req.body,
        "To=%2B6281234567890&From=%2B15005550006"
        "&Body=Suhu+drum+3+tinggi%3A+71.2+C+%26+naik");
}
END_TEST

START_TEST(twilio_whatsapp_request_utf8)
{
    struct notify_creds c = { .base_url = "http://127.0.0.1:9", .account_sid = "AC01",
                              .auth_token = "x", .from = "+15005550006" };
    struct notify_msg m = MSG;

    m.text = "Suhu 71\xc2\xb0" "C, cek drum=3?";
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_WHATSAPP, &m, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.url, "http://127.0.0.1:9/2010-04-01/Accounts/AC01/Messages.json");
    /* base64("AC01:x") = QUMwMTp4 */
    ck_assert_str_eq(req.headers[1], "Authorization: Basic QUMwMTp4");
    ck_assert_str_eq(req.body,
        "To=whatsapp%3A%2B6281234567890&From=whatsapp%3A%2B15005550006"
        "&Body=Suhu+71%C2%B0C%2C+cek+drum%3D3%3F");
}
END_TEST

START_TEST(twilio_whatsapp_template_request)
{
    struct notify_creds c = { .base_url = "https://api.twilio.com", .account_sid = "AC01",
                              .auth_token = "x", .from = "+15005550006",
                              .template_name = "HXb5b62575e6e4ff6129ad7c8efe1f983e" };
    struct notify_msg m = MSG;

    m.text = "Drum 3:\n71 C & naik";
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_WHATSAPP, &m, &c, &req, NULL, 0), 0);
    /* ContentVariables = {"1":"Drum 3: 71 C & naik"}, form-encoded; no Body */
    ck_assert_str_eq(req.body,
        "To=whatsapp%3A%2B6281234567890&From=whatsapp%3A%2B15005550006"
        "&ContentSid=HXb5b62575e6e4ff6129ad7c8efe1f983e"
        "&ContentVariables=%7B%221%22%3A%22Drum+3%3A+71+C+%26+naik%22%7D");
    /* the SMS channel ignores the template */
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &m, &c, &req, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(req.body, "&Body=Drum+3%3A%0A71+C+%26+naik"));
}
END_TEST

START_TEST(whatsapp_cloud_template_request)
{
    struct notify_creds c = { .base_url = "https://graph.facebook.com", .token = "EAAG",
                              .phone_number_id = "1055", .api_version = "21.0",
                              .template_name = "kompos_alert", .template_lang = "id" };
    struct notify_msg m = MSG;

    m.text = "Drum 3:\n  71.2 C\t naik";
    ck_assert_int_eq(notify_build(NOTIFY_WHATSAPP_CLOUD, &m, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.url, "https://graph.facebook.com/v21.0/1055/messages");
    ck_assert_uint_eq(req.nheaders, 2);
    ck_assert_str_eq(req.headers[0], "Authorization: Bearer EAAG");
    ck_assert_str_eq(req.headers[1], "Content-Type: application/json");
    ck_assert_str_eq(req.body,
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"6281234567890\",\"type\":\"template\",\"template\":{\"name\":\"kompos_alert\","
        "\"language\":{\"code\":\"id\"},\"components\":[{\"type\":\"body\",\"parameters\":"
        "[{\"type\":\"text\",\"text\":\"Drum 3: 71.2 C naik\"}]}]}}");
}
END_TEST

START_TEST(whatsapp_cloud_text_request)
{
    struct notify_creds c = { .base_url = "http://127.0.0.1:5000", .token = "EAAG",
                              .phone_number_id = "1055", .api_version = "v26.0" };

    ck_assert_int_eq(notify_build(NOTIFY_WHATSAPP_CLOUD, &MSG, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.url, "http://127.0.0.1:5000/v26.0/1055/messages");
    ck_assert_str_eq(req.body,
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"6281234567890\",\"type\":\"text\",\"text\":{\"preview_url\":false,"
        "\"body\":\"Suhu drum 3 tinggi: 71.2 C & naik\"}}");
}
END_TEST

START_TEST(fonnte_request)
{
    struct notify_creds c = { .base_url = "https://api.fonnte.com", .token = "fT0k3n" };
    struct notify_msg m = MSG;

    m.text = "Pupuk cair & pestisida: pH 9.1 (tinggi)";
    ck_assert_int_eq(notify_build(NOTIFY_FONNTE, &m, &c, &req, NULL, 0), 0);
    ck_assert_str_eq(req.url, "https://api.fonnte.com/send");
    ck_assert_uint_eq(req.nheaders, 2);
    ck_assert_str_eq(req.headers[0], "Authorization: fT0k3n");
    ck_assert_str_eq(req.headers[1], "Content-Type: application/x-www-form-urlencoded");
    ck_assert_str_eq(req.body,
        "target=6281234567890&message=Pupuk+cair+%26+pestisida%3A+pH+9.1+%28tinggi%29"
        "&countryCode=62");
}
END_TEST

START_TEST(build_refusals_name_no_secret)
{
    struct notify_creds c = { .base_url = "https://api.twilio.com", .account_sid = "AC1",
                              .auth_token = "SECRET-TOKEN", .from = "+15005550006" };
    struct notify_msg m = MSG;
    char err[128], big[NOTIFY_TEXT_MAX + 2];

    m.phone = "081234567890";
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &m, &c, &req, err, sizeof(err)), HUB_EREJECT);
    ck_assert_str_eq(err, "twilio_sms: malformed phone number");
    m.phone = MSG.phone;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    m.text = big;
    ck_assert_int_eq(notify_build(NOTIFY_FONNTE, &m, &c, &req, err, sizeof(err)), HUB_EREJECT);
    m.text = MSG.text;
    c.account_sid = "AC/../x";             /* would change the path */
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &m, &c, &req, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_null(strstr(err, "SECRET"));
    ck_assert_str_eq(req.headers[0], "");   /* nothing half built is left */
    c.account_sid = "AC1";
    c.auth_token = "bad\r\nX-Injected: 1";
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &m, &c, &req, err, sizeof(err)), HUB_EINVAL);
    c.auth_token = "ok";
    c.base_url = "ftp://x";
    ck_assert_int_eq(notify_build(NOTIFY_TWILIO_SMS, &m, &c, &req, err, sizeof(err)), HUB_EINVAL);
    ck_assert_int_eq(notify_build(NOTIFY_GAMMU, &m, &c, &req, err, sizeof(err)), HUB_EINVAL);
    {
        struct notify_creds w = { .base_url = "https://graph.facebook.com",
                                  .phone_number_id = "1" };    /* no token */
        ck_assert_int_eq(notify_build(NOTIFY_WHATSAPP_CLOUD, &m, &w, &req, err, sizeof(err)),
                         HUB_EINVAL);
    }
}
END_TEST

/* -- classification tables ---------------------------------------------- */

struct ccase {
    int ch;
    long status;
    long retry_after;
    const char *body;
    int neterr;
    int cls;
    const char *id;
    long code;
    long want_ra;
};

static const struct ccase CASES[] = {
    /* webhook */
    { NOTIFY_WEBHOOK, 200, -1, "", 0, NOTIFY_ACCEPTED, "", 0, -1 },
    { NOTIFY_WEBHOOK, 204, -1, NULL, 0, NOTIFY_ACCEPTED, "", 0, -1 },
    { NOTIFY_WEBHOOK, 400, -1, "bad", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_WEBHOOK, 401, -1, "", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_WEBHOOK, 404, -1, "", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_WEBHOOK, 408, -1, "", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_WEBHOOK, 429, 30, "", 0, NOTIFY_RETRYABLE, "", 0, 30 },
    { NOTIFY_WEBHOOK, 500, -1, "", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_WEBHOOK, 503, 7, "", 0, NOTIFY_RETRYABLE, "", 0, 7 },
    { NOTIFY_WEBHOOK, 301, -1, "", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_WEBHOOK, 0, -1, NULL, 1, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_WEBHOOK, 200, -1, NULL, 1, NOTIFY_RETRYABLE, "", 0, -1 },   /* timeout mid-body */
    /* twilio */
    { NOTIFY_TWILIO_SMS, 201, -1,
      "{\"sid\":\"SM0123456789abcdef0123456789abcdef\",\"status\":\"queued\"}", 0,
      NOTIFY_ACCEPTED, "SM0123456789abcdef0123456789abcdef", 0, -1 },
    { NOTIFY_TWILIO_WHATSAPP, 201, -1, "{\"sid\":\"SMwa1\",\"status\":\"accepted\"}", 0,
      NOTIFY_ACCEPTED, "SMwa1", 0, -1 },
    { NOTIFY_TWILIO_SMS, 201, -1, "{\"sid\":", 0, NOTIFY_ACCEPTED, "", 0, -1 },  /* truncated */
    { NOTIFY_TWILIO_SMS, 201, -1, "<xml/>", 0, NOTIFY_ACCEPTED, "", 0, -1 },
    { NOTIFY_TWILIO_SMS, 400, -1,
      "{\"code\":21211,\"message\":\"The 'To' number is not a valid phone number.\","
      "\"more_info\":\"https://www.twilio.com/docs/errors/21211\",\"status\":400}", 0,
      NOTIFY_PERMANENT, "", 21211, -1 },
    { NOTIFY_TWILIO_WHATSAPP, 400, -1, "{\"code\":63016,\"status\":400}", 0,
      NOTIFY_PERMANENT, "", 63016, -1 },
    { NOTIFY_TWILIO_SMS, 401, -1, "{\"code\":20003,\"status\":401}", 0,
      NOTIFY_PERMANENT, "", 20003, -1 },
    { NOTIFY_TWILIO_SMS, 429, 12, "{\"code\":20429,\"status\":429}", 0,
      NOTIFY_RETRYABLE, "", 20429, 12 },
    { NOTIFY_TWILIO_SMS, 400, -1, "{\"code\":63018}", 0, NOTIFY_RETRYABLE, "", 63018, -1 },
    { NOTIFY_TWILIO_SMS, 500, -1, "", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_TWILIO_SMS, 502, -1, "<html>Bad Gateway</html>", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_TWILIO_SMS, 400, -1, "{\"code\":\"21211\"}", 0, NOTIFY_PERMANENT, "", 0, -1 },
    /* whatsapp cloud */
    { NOTIFY_WHATSAPP_CLOUD, 200, -1,
      "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"6281234567890\","
      "\"wa_id\":\"6281234567890\"}],\"messages\":[{\"id\":\"wamid.HBgM123\"}]}", 0,
      NOTIFY_ACCEPTED, "wamid.HBgM123", 0, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 200, -1, "{\"messages\":[]}", 0, NOTIFY_ACCEPTED, "", 0, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 200, -1, "{\"messages\":{\"id\":1}}", 0, NOTIFY_ACCEPTED, "", 0, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 400, -1,
      "{\"error\":{\"message\":\"Re-engagement message\",\"code\":131047}}", 0,
      NOTIFY_PERMANENT, "", 131047, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 401, -1, "{\"error\":{\"code\":190}}", 0,
      NOTIFY_PERMANENT, "", 190, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 400, -1, "{\"error\":{\"code\":130429}}", 0,
      NOTIFY_RETRYABLE, "", 130429, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 400, -1, "{\"error\":{\"code\":131056}}", 0,
      NOTIFY_RETRYABLE, "", 131056, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 400, -1, "{\"error\":[1,2]}", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_WHATSAPP_CLOUD, 503, -1, "{\"error\":{\"code\":2}}", 0,
      NOTIFY_RETRYABLE, "", 2, -1 },
    /* fonnte: the body decides */
    { NOTIFY_FONNTE, 200, -1,
      "{\"detail\":\"success! message in queue\",\"id\":[\"80367170\"],\"process\":\"pending\","
      "\"requestid\":2937124,\"status\":true,\"target\":[\"6282227097005\"]}", 0,
      NOTIFY_ACCEPTED, "80367170", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"Status\":true,\"id\":[80367171]}", 0,
      NOTIFY_ACCEPTED, "80367171", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":\"true\",\"id\":\"9\"}", 0, NOTIFY_ACCEPTED, "9", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":false,\"reason\":\"token invalid\"}", 0,
      NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":false,\"reason\":\"insufficient quota\"}", 0,
      NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":false,\"reason\":\"target invalid\"}", 0,
      NOTIFY_PERMANENT, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":false,\"reason\":\"device disconnected\"}", 0,
      NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":false}", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"detail\":\"ok\"}", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "{\"status\":tr", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 200, -1, "[true]", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 500, -1, "{\"status\":true}", 0, NOTIFY_RETRYABLE, "", 0, -1 },
    { NOTIFY_FONNTE, 403, -1, "{\"status\":false,\"reason\":\"x\"}", 0, NOTIFY_PERMANENT, "", 0, -1 },
    /* not an HTTP channel */
    { NOTIFY_GAMMU, 200, -1, "", 0, NOTIFY_PERMANENT, "", 0, -1 },
    { 42, 200, -1, "", 0, NOTIFY_PERMANENT, "", 0, -1 },
};

START_TEST(classify_table)
{
    const struct ccase *k = &CASES[_i];
    struct notify_answer a = { k->status, k->retry_after, k->body,
                               k->body ? strlen(k->body) : 0, k->neterr };
    struct notify_verdict v;

    notify_classify(k->ch, &a, &v);
    ck_assert_msg(v.cls == k->cls, "case %d: cls %d, want %d", _i, v.cls, k->cls);
    ck_assert_str_eq(v.provider_id, k->id);
    ck_assert_int_eq(v.provider_code, k->code);
    ck_assert_int_eq(v.retry_after_s, k->want_ra);
    ck_assert(v.reason[0] != '\0');
}
END_TEST

START_TEST(classify_reasons)
{
    struct notify_answer a = { 400, -1, "{\"code\":21211}", 14, 0 };
    struct notify_verdict v;

    notify_classify(NOTIFY_TWILIO_SMS, &a, &v);
    ck_assert_str_eq(v.reason, "twilio_sms: HTTP 400 code 21211");
    a.status = 200;
    a.body = "{\"status\":false,\"reason\":\"device \\\"x\\\" disconnected\"}";
    a.body_len = strlen(a.body);
    notify_classify(NOTIFY_FONNTE, &a, &v);
    ck_assert_str_eq(v.reason, "fonnte: status false: device ?x? disconnected");
    a.neterr = 1;
    notify_classify(NOTIFY_WEBHOOK, &a, &v);
    ck_assert_str_eq(v.reason, "webhook: no answer (network)");
}
END_TEST

/* A body that is not NUL-terminated is read only within body_len. */
START_TEST(classify_unterminated_body)
{
    char body[16];
    struct notify_answer a = { 201, -1, body, sizeof(body), 0 };
    struct notify_verdict v;

    memcpy(body, "{\"sid\":\"SM12\"}XX", 16);
    notify_classify(NOTIFY_TWILIO_SMS, &a, &v);
    ck_assert_int_eq(v.cls, NOTIFY_ACCEPTED);
    a.body_len = 14;
    notify_classify(NOTIFY_TWILIO_SMS, &a, &v);
    ck_assert_str_eq(v.provider_id, "SM12");
}
END_TEST

/* -- gammu --------------------------------------------------------------- */

START_TEST(gammu_ascii_file)
{
    char name[NOTIFY_GAMMU_NAME_MAX];
    unsigned char data[NOTIFY_GAMMU_FILE_MAX];
    size_t len = 0;

    /* 1764373530 s = 2025-11-28 23:45:30 UTC */
    ck_assert_int_eq(notify_gammu_file(&MSG, 'A', 1764373530LL * 1000000000LL + 999,
                                       name, data, &len), 0);
    ck_assert_str_eq(name, "OUTA20251128_234530_00_+6281234567890_000000001234abcd.txt");
    ck_assert_uint_eq(len, strlen(MSG.text));
    ck_assert(memcmp(data, MSG.text, len) == 0);
}
END_TEST

START_TEST(gammu_unicode_file)
{
    static const unsigned char want[] = {
        0xff, 0xfe, 'S', 0, 'u', 0, 'h', 0, 'u', 0, ' ', 0, '7', 0, '1', 0,
        0xb0, 0, 'C', 0, ' ', 0, 0x3d, 0xd8, 0x25, 0xdd,    /* U+1F525 fire */
    };
    struct notify_msg m = MSG;
    char name[NOTIFY_GAMMU_NAME_MAX];
    unsigned char data[NOTIFY_GAMMU_FILE_MAX];
    size_t len = 0;

    m.text = "Suhu 71\xc2\xb0" "C \xf0\x9f\x94\xa5";
    m.key = 7;
    ck_assert_int_eq(notify_gammu_file(&m, 'C', 1764345600LL * 1000000000LL, name, data, &len), 0);
    ck_assert_str_eq(name, "OUTC20251128_160000_00_+6281234567890_0000000000000007.txt");
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert(memcmp(data, want, len) == 0);

    m.text = "bad \xc3(";                        /* invalid UTF-8 */
    ck_assert_int_eq(notify_gammu_file(&m, 'A', 0, name, data, &len), HUB_EREJECT);
    m.text = "x";
    m.phone = "62812";
    ck_assert_int_eq(notify_gammu_file(&m, 'A', 0, name, data, &len), HUB_EREJECT);
    m.phone = MSG.phone;
    ck_assert_int_eq(notify_gammu_file(&m, 'a', 0, name, data, &len), HUB_EINVAL);
}
END_TEST

START_TEST(gammu_inbox_parse)
{
    static const unsigned char u16[] = {
        0xff, 0xfe, 'O', 0, 'K', 0, ' ', 0, '4', 0, '2', 0, ' ', 0, 0xb0, 0,
    };
    static const unsigned char u16be[] = { 0xfe, 0xff, 0, 'o', 0, 'k' };
    char phone[24], text[64];

    ck_assert_int_eq(notify_gammu_parse_in("IN20251128_023115_00_+6281234567890_00.txt",
                                           (const unsigned char *)"OK D3-temp", 10,
                                           phone, sizeof(phone), text, sizeof(text)), 0);
    ck_assert_str_eq(phone, "+6281234567890");
    ck_assert_str_eq(text, "OK D3-temp");
    ck_assert_int_eq(notify_gammu_parse_in("IN20251128_023115_01_081234567890_02.txt",
                                           u16, sizeof(u16), phone, sizeof(phone),
                                           text, sizeof(text)), 0);
    ck_assert_str_eq(phone, "081234567890");
    ck_assert_str_eq(text, "OK 42 \xc2\xb0");
    ck_assert_int_eq(notify_gammu_parse_in("IN20251128_023115_01_+628_00.txt",
                                           u16be, sizeof(u16be), phone, sizeof(phone),
                                           text, sizeof(text)), 0);
    ck_assert_str_eq(text, "ok");
    /* cut at the buffer, never half a character */
    ck_assert_int_eq(notify_gammu_parse_in("IN20251128_023115_01_+628_00.txt",
                                           u16, sizeof(u16), phone, sizeof(phone),
                                           text, 8), 0);
    ck_assert_str_eq(text, "OK 42 ");
    /* names that are not inbox text files */
    {
        static const char *const bad[] = {
            "OUT20251128_023115_00_+62_00.txt", "IN2025112_023115_00_+62_00.txt",
            "IN20251128_023115_00_+62_00.bin", "IN20251128_023115_00__00.txt",
            "IN20251128_023115_00_+62x_00.txt", "IN20251128_0231150_00_+62_00.txt",
            "IN20251128_023115_00_+62_.txt", "",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            ck_assert_msg(notify_gammu_parse_in(bad[i], (const unsigned char *)"x", 1,
                                                phone, sizeof(phone), text,
                                                sizeof(text)) == HUB_EINVAL, "%s", bad[i]);
    }
    ck_assert_int_eq(notify_gammu_parse_in("IN20251128_023115_00_+6281234567890_00.txt",
                                           (const unsigned char *)"x", 1, phone, 8,
                                           text, sizeof(text)), HUB_EINVAL);
}
END_TEST

/* -- the sender against a real HTTP server (fake_gateway.py) ------------ */

#define SEC 1000000000LL

static char gw_dir[128];
static char gw_log[256];
static pid_t gw_pid;
static int gw_port;

/* Start tests/integration/fake_gateway.py (found next to this file).
 * 0, or -1 when python3 cannot run it (the test is then skipped). */
static int gw_start(const char *script)
{
    char py[512], port[16] = "";
    const char *f = __FILE__, *u = strstr(f, "unit/test_notify.c");
    int fds[2];
    ssize_t n;
    size_t len;

    if (!u)
        return -1;
    snprintf(py, sizeof(py), "%.*sintegration/fake_gateway.py", (int)(u - f), f);
    if (access(py, R_OK) != 0 || system("python3 -c pass 2>/dev/null") != 0)
        return -1;
    snprintf(gw_dir, sizeof(gw_dir), "/tmp/test_notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(gw_dir));
    snprintf(gw_log, sizeof(gw_log), "%s/requests.jsonl", gw_dir);
    ck_assert_int_eq(pipe(fds), 0);
    gw_pid = fork();
    ck_assert_int_ge(gw_pid, 0);
    if (gw_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execlp("python3", "python3", py, "--log", gw_log, "--script", script,
               "--max-seconds", "30", "--token", "SECRET-TOKEN", "--twilio-sid",
               "AC77", "--twilio-token", "SECRET-TOKEN", "--template-params", "1",
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    len = 0;
    while (len < sizeof(port) - 1 && !memchr(port, '\n', len)) {
        n = read(fds[0], port + len, sizeof(port) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    port[len] = '\0';
    ck_assert_ptr_nonnull(strchr(port, '\n'));
    gw_port = atoi(port);
    ck_assert_int_gt(gw_port, 0);
    return 0;
}

static void gw_stop(void)
{
    char cmd[200];

    kill(gw_pid, SIGTERM);
    waitpid(gw_pid, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", gw_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Lines of the request log that contain needle (NULL: all lines). */
static int log_count(const char *needle)
{
    char line[8192];
    FILE *f = fopen(gw_log, "r");
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!needle || strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* Does any file under dir contain needle? */
static int dir_contains(const char *dir, const char *needle)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "grep -rqF '%s' '%s'", needle, dir);
    return system(cmd) == 0;
}

struct evlog {
    int n;
    int cls[16];
    char channel[16][16];
    long status[16];
};

static void on_event(void *ctx, const struct notify_send_event *ev)
{
    struct evlog *l = ctx;

    if (l->n < 16) {
        l->cls[l->n] = ev->cls;
        snprintf(l->channel[l->n], sizeof(l->channel[0]), "%s", ev->channel);
        l->status[l->n] = ev->http_status;
    }
    l->n++;
}

static void run_until_idle(struct outbox *ob, struct http_curl *h,
                           struct notify_send *s, int64_t *now)
{
    struct outbox_counters c;
    int i;

    for (i = 0; i < 400; i++) {
        notify_send_tick(s, *now);
        outbox_counters(ob, &c);
        if (c.pending == 0 && !notify_send_busy(s))
            return;
        ck_assert_int_eq(http_curl_wait(h, NULL, 0, 50), 0);
        http_curl_perform(h);
        *now += 10 * SEC;
    }
    ck_abort_msg("the sender did not finish");
}

START_TEST(send_ladder_against_fake_gateway)
{
    static const char *const ladder[] = { "whatsapp_cloud", "twilio_sms" };
    struct outbox_params p;
    struct outbox *ob;
    struct http_curl *h;
    struct notify_send *s;
    struct notify_send_cfg cfg;
    struct outbox_new n = { .key = 0x51, .member = "Sari", .phone = "+6281234567890",
                            .channels = ladder, .nchannels = 2,
                            .text = "Drum 3:\n71.2 C & naik", .rule = "drum_hot",
                            .alert_id = "D3-temp", .site = "guntung" };
    struct outbox_counters c;
    struct outbox_entry e;
    struct evlog ev;
    char base[64], obdir[200];
    int64_t now = 1764345600LL * SEC;

    if (gw_start("400+code=131047,503,200") != 0)
        return;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_port);
    snprintf(obdir, sizeof(obdir), "%s/outbox", gw_dir);
    outbox_params_default(&p);
    p.pace_ns = 0;
    ob = outbox_open(obdir, &p, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    h = http_curl_new(NULL, NULL);
    ck_assert_ptr_nonnull(h);
    memset(&cfg, 0, sizeof(cfg));
    cfg.creds[NOTIFY_WHATSAPP_CLOUD] = (struct notify_creds){
        .base_url = base, .token = "SECRET-TOKEN", .phone_number_id = "1055",
        .api_version = "v21.0", .template_name = "kompos_alert" };
    cfg.creds[NOTIFY_TWILIO_SMS] = (struct notify_creds){
        .base_url = base, .account_sid = "AC77", .auth_token = "SECRET-TOKEN",
        .from = "+15005550006" };
    cfg.timeout_ms = 5000;
    memset(&ev, 0, sizeof(ev));
    s = notify_send_new(ob, h, &cfg, on_event, &ev);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    run_until_idle(ob, h, s, &now);

    ck_assert_int_eq(ev.n, 3);
    ck_assert_int_eq(ev.cls[0], NOTIFY_PERMANENT);      /* 131047 */
    ck_assert_str_eq(ev.channel[0], "whatsapp_cloud");
    ck_assert_int_eq(ev.cls[1], NOTIFY_RETRYABLE);      /* 503 */
    ck_assert_str_eq(ev.channel[1], "twilio_sms");
    ck_assert_int_eq(ev.cls[2], NOTIFY_ACCEPTED);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.sent, 1);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_uint_eq(c.retried, 1);
    ck_assert_uint_eq(c.fallbacks, 1);
    ck_assert_int_eq(outbox_get(ob, 0x51, &e), 1);
    ck_assert_int_eq(e.state, OUTBOX_DONE);
    ck_assert_str_eq(e.provider_id, "SM00000000000000000000000000000003");
    ck_assert_int_eq(log_count(NULL), 3);
    ck_assert_int_eq(log_count("\"shape_error\": null"), 3);
    ck_assert_int_eq(log_count("\"path\": \"/v21.0/1055/messages\""), 1);
    ck_assert_int_eq(log_count("\"path\": \"/2010-04-01/Accounts/AC77/Messages.json\""), 2);
    ck_assert(!dir_contains(obdir, "SECRET"));

    notify_send_free(s);
    http_curl_free(h);
    outbox_close(ob);
    gw_stop();
}
END_TEST

START_TEST(send_fonnte_false_then_webhook)
{
    static const char *const ladder[] = { "fonnte", "webhook" };
    struct outbox_params p;
    struct outbox *ob;
    struct http_curl *h;
    struct notify_send *s;
    struct notify_send_cfg cfg;
    struct outbox_new n = { .key = 0x52, .member = "Budi", .phone = "+6285712345678",
                            .channels = ladder, .nchannels = 2,
                            .text = "pH tangki 2 = 9.1 (tinggi) & naik", .rule = "tank_ph",
                            .alert_id = "T2-ph", .site = "guntung" };
    struct outbox_counters c;
    struct evlog ev;
    char base[64], hook[80], obdir[200];
    int64_t now = 1764345600LL * SEC;

    if (gw_start("false=device disconnected,false=token invalid,200") != 0)
        return;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_port);
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hook", gw_port);
    snprintf(obdir, sizeof(obdir), "%s/outbox", gw_dir);
    outbox_params_default(&p);
    p.pace_ns = 0;
    ob = outbox_open(obdir, &p, NULL, 0);
    h = http_curl_new(NULL, NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.creds[NOTIFY_FONNTE] = (struct notify_creds){ .base_url = base,
                                                      .token = "SECRET-TOKEN" };
    cfg.creds[NOTIFY_WEBHOOK] = (struct notify_creds){ .base_url = hook,
                                                       .token = "SECRET-TOKEN" };
    memset(&ev, 0, sizeof(ev));
    s = notify_send_new(ob, h, &cfg, on_event, &ev);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    run_until_idle(ob, h, s, &now);

    ck_assert_int_eq(ev.n, 3);
    ck_assert_int_eq(ev.cls[0], NOTIFY_RETRYABLE);      /* device disconnected */
    ck_assert_int_eq(ev.cls[1], NOTIFY_PERMANENT);      /* token invalid */
    ck_assert_int_eq(ev.cls[2], NOTIFY_ACCEPTED);
    ck_assert_str_eq(ev.channel[2], "webhook");
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.sent, 1);
    ck_assert_uint_eq(c.dead, 0);
    ck_assert_int_eq(log_count("\"provider\": \"fonnte\""), 2);
    ck_assert_int_eq(log_count("\"provider\": \"webhook\""), 1);
    ck_assert_int_eq(log_count("\"shape_error\": null"), 3);
    ck_assert_int_eq(log_count("target=6285712345678&message=pH+tangki+2+%3D+9.1+%28tinggi%29+%26+naik"), 2);
    ck_assert(!dir_contains(obdir, "SECRET"));

    notify_send_free(s);
    http_curl_free(h);
    outbox_close(ob);
    gw_stop();
}
END_TEST

/* A gateway that never answers: the timeout is a retryable failure, the
 * next attempt goes through. */
START_TEST(send_timeout_is_retryable)
{
    static const char *const ladder[] = { "webhook" };
    struct outbox_params p;
    struct outbox *ob;
    struct http_curl *h;
    struct notify_send *s;
    struct notify_send_cfg cfg;
    struct outbox_new n = { .key = 0x54, .member = "Sari", .phone = "+6281234567890",
                            .channels = ladder, .nchannels = 1, .text = "tes" };
    struct outbox_counters c;
    struct evlog ev;
    char hook[80], obdir[200];
    int64_t now = 1764345600LL * SEC;

    if (gw_start("hang,200") != 0)
        return;
    snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hook", gw_port);
    snprintf(obdir, sizeof(obdir), "%s/outbox", gw_dir);
    outbox_params_default(&p);
    p.pace_ns = 0;
    ob = outbox_open(obdir, &p, NULL, 0);
    h = http_curl_new(NULL, NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.creds[NOTIFY_WEBHOOK] = (struct notify_creds){ .base_url = hook,
                                                       .token = "SECRET-TOKEN" };
    cfg.timeout_ms = 300;
    memset(&ev, 0, sizeof(ev));
    s = notify_send_new(ob, h, &cfg, on_event, &ev);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    run_until_idle(ob, h, s, &now);
    ck_assert_int_eq(ev.n, 2);
    ck_assert_int_eq(ev.cls[0], NOTIFY_RETRYABLE);
    ck_assert_int_eq(ev.status[0], 0);
    ck_assert_int_eq(ev.cls[1], NOTIFY_ACCEPTED);
    ck_assert_int_eq(ev.status[1], 200);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.sent, 1);
    ck_assert_uint_eq(c.retried, 1);
    notify_send_free(s);
    http_curl_free(h);
    outbox_close(ob);
    gw_stop();
}
END_TEST

/* gammu: the file appears in the outbox folder, whole, under its name. */
START_TEST(send_gammu_file)
{
    static const char *const ladder[] = { "gammu" };
    struct outbox *ob;
    struct notify_send *s;
    struct notify_send_cfg cfg;
    struct outbox_new n = { .key = 0x53, .member = "Sari", .phone = "+6281234567890",
                            .channels = ladder, .nchannels = 1, .text = "OK" };
    struct outbox_counters c;
    struct outbox_entry e;
    char dir[64], obdir[100], gdir[100], path[300], data[8] = "";
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/test_notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(obdir, sizeof(obdir), "%s/outbox", dir);
    snprintf(gdir, sizeof(gdir), "%s", dir);
    ob = outbox_open(obdir, NULL, NULL, 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.gammu_outbox_dir = gdir;
    s = notify_send_new(ob, NULL, &cfg, NULL, NULL);
    ck_assert_int_eq(outbox_add(ob, &n, 1764373530LL * SEC), 0);
    ck_assert_int_eq(notify_send_tick(s, 1764373530LL * SEC), 1);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.sent, 1);
    ck_assert_int_eq(outbox_get(ob, 0x53, &e), 1);
    ck_assert_str_eq(e.provider_id, "OUTA20251128_234530_00_+6281234567890_0000000000000053.txt");
    snprintf(path, sizeof(path), "%s/%s", gdir, e.provider_id);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(data, 1, sizeof(data) - 1, f), 2);
    fclose(f);
    ck_assert_str_eq(data, "OK");
    notify_send_free(s);
    outbox_close(ob);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(path), 0);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, channel_names_round_trip);
    tcase_add_test(tc, phone_numbers);
    tcase_add_test(tc, webhook_request);
    tcase_add_test(tc, twilio_sms_request);
    tcase_add_test(tc, twilio_whatsapp_request_utf8);
    tcase_add_test(tc, twilio_whatsapp_template_request);
    tcase_add_test(tc, whatsapp_cloud_template_request);
    tcase_add_test(tc, whatsapp_cloud_text_request);
    tcase_add_test(tc, fonnte_request);
    tcase_add_test(tc, build_refusals_name_no_secret);
    tcase_add_loop_test(tc, classify_table, 0, (int)(sizeof(CASES) / sizeof(CASES[0])));
    tcase_add_test(tc, classify_reasons);
    tcase_add_test(tc, classify_unterminated_body);
    tcase_add_test(tc, gammu_ascii_file);
    tcase_add_test(tc, gammu_unicode_file);
    tcase_add_test(tc, gammu_inbox_parse);
    suite_add_tcase(s, tc);
    tc = tcase_create("send");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, send_ladder_against_fake_gateway);
    tcase_add_test(tc, send_fonnte_false_then_webhook);
    tcase_add_test(tc, send_timeout_is_retryable);
    tcase_add_test(tc, send_gammu_file);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(notify_suite)
