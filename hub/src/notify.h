/* SPDX-License-Identifier: MIT */
/* notify.h - the SMS / WhatsApp / webhook providers, pure: build the exact
 * HTTP request (or gammu-smsd file) for one message, and classify a
 * gateway's answer into accepted / retryable / permanent.
 *
 * No I/O, no clock, no logging. Secrets (tokens, auth) come in through
 * struct notify_creds, are written only into the request's headers, and
 * never into a reason text, an outbox file or a log line.
 *
 * Phone numbers come in as E.164 ("+6281234567890": '+', 8 to 15 digits,
 * no leading 0). Each provider gets the form its doc asks for (anchors-
 * alerting.md Part 2): Twilio and gammu "+62...", WhatsApp Cloud and Fonnte
 * digits only "62...". A malformed number is a permanent failure
 * (HUB_EREJECT from the builders).
 *
 * Classification (notify_classify), common to every HTTP channel:
 *   - no answer (network error, timeout, status 0)     -> RETRYABLE
 *   - 408, 429 (Retry-After kept), any 5xx              -> RETRYABLE
 *   - other 1xx/3xx/4xx                                 -> PERMANENT
 *   - 2xx: per provider:
 *       webhook         accepted (provider id: none)
 *       twilio_*        accepted; id = "sid" if the body has one. The HTTP
 *                       code is authoritative: a garbled 201 body is still
 *                       accepted (a resend would duplicate the SMS).
 *       whatsapp_cloud  accepted; id = messages[0].id ("wamid...") if any
 *       fonnte          the BODY is authoritative: "status": true (key read
 *                       case-insensitively; true or "true") = accepted, id =
 *                       id[0]; "status": false is NOT accepted: PERMANENT
 *                       when the reason names bad input, token or quota
 *                       ("invalid", "token", "quota", "not supported",
 *                       "expired", "ban"), RETRYABLE otherwise (device
 *                       disconnected, unknown reasons). A 200 whose body has
 *                       no status at all is RETRYABLE (we cannot tell).
 *   - provider error codes inside 4xx bodies:
 *       twilio   20429, 63017, 63018 (rate limits) -> RETRYABLE; 21211
 *                (invalid To), 21614, 63016 (outside WhatsApp window) and
 *                the rest -> PERMANENT
 *       whatsapp_cloud  error.code 4, 80007, 130429, 131056 (rate) ->
 *                RETRYABLE; 131047 (re-engagement), 190 (token) and the
 *                rest -> PERMANENT
 * PERMANENT on a rung makes the outbox move to the next channel. */
#ifndef HUB_NOTIFY_H
#define HUB_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

enum notify_channel {
    NOTIFY_WEBHOOK = 0,
    NOTIFY_TWILIO_SMS,
    NOTIFY_TWILIO_WHATSAPP,
    NOTIFY_WHATSAPP_CLOUD,
    NOTIFY_FONNTE,
    NOTIFY_GAMMU,
    NOTIFY_NCHANNELS
};

/* "webhook", "twilio_sms", "twilio_whatsapp", "whatsapp_cloud", "fonnte",
 * "gammu" -> the enum, or -1 for an unknown name (NULL is unknown). */
int notify_channel_from_name(const char *name);
/* The name of a channel; "?" when out of range. Never NULL. */
const char *notify_channel_name(int ch);

/* One message to one member. Every string is borrowed for the call. */
struct notify_msg {
    uint64_t key;               /* idempotency key                        */
    const char *member;
    const char *phone;          /* E.164 "+62..."                         */
    const char *text;           /* UTF-8                                  */
    const char *rule;           /* may be NULL: sent as ""                */
    const char *alert_id;       /* may be NULL: sent as ""                */
    const char *site;           /* may be NULL: sent as ""                */
};

/* Provider settings and secrets for one channel; borrowed for the call.
 * Unused members may be NULL. base_url has no trailing '/' (one is
 * trimmed). Defaults when NULL: api_version "v21.0", template_lang "id",
 * country_code "62". */
struct notify_creds {
    const char *base_url;       /* webhook: the full URL; others: scheme+host */
    const char *token;          /* webhook bearer (optional), Meta access
                                   token, Fonnte device token              */
    const char *account_sid;    /* twilio                                  */
    const char *auth_token;     /* twilio                                  */
    const char *from;           /* twilio sender, E.164                    */
    const char *phone_number_id;/* whatsapp_cloud                          */
    const char *api_version;    /* whatsapp_cloud, e.g. "v21.0"            */
    const char *template_name;  /* whatsapp_cloud: template name; twilio_
                                   whatsapp: ContentSid "HX..." (sent with
                                   ContentVariables {"1": text}, no Body);
                                   NULL = free-form text (works only in the
                                   24 h customer-service window)          */
    const char *template_lang;  /* whatsapp_cloud                          */
    const char *country_code;   /* fonnte countryCode                      */
};

#define NOTIFY_TEXT_MAX   1600  /* bytes of message text (10 SMS parts)   */
#define NOTIFY_URL_MAX    512
#define NOTIFY_HDR_MAX    4     /* headers per request                    */
#define NOTIFY_HDR_LEN    384
#define NOTIFY_BODY_MAX   12288

/* A built HTTP request. Headers hold secrets: keep it in memory only. */
struct notify_request {
    char method[8];
    char url[NOTIFY_URL_MAX];
    char headers[NOTIFY_HDR_MAX][NOTIFY_HDR_LEN];   /* "Name: value" */
    size_t nheaders;
    char body[NOTIFY_BODY_MAX + 1];                 /* NUL-terminated */
    size_t body_len;
};

/* Build the request for an HTTP channel. Returns 0; HUB_EREJECT for a
 * malformed phone number or text over NOTIFY_TEXT_MAX (never sendable);
 * HUB_EINVAL for missing settings, gammu, or a URL/header/body that does
 * not fit. err (may be NULL) gets a reason naming no secret. */
int notify_build(int ch, const struct notify_msg *m,
                 const struct notify_creds *c, struct notify_request *out,
                 char *err, size_t errlen);

enum notify_class {
    NOTIFY_ACCEPTED = 0,
    NOTIFY_RETRYABLE = 1,
    NOTIFY_PERMANENT = 2
};

/* What came back. body need not be NUL-terminated; NULL with 0 is fine. */
struct notify_answer {
    long status;                /* HTTP status; 0 when there was no answer */
    long retry_after_s;         /* Retry-After in seconds, -1 when absent  */
    const char *body;
    size_t body_len;
    int neterr;                 /* nonzero: network error or timeout       */
};

#define NOTIFY_ID_MAX     80
#define NOTIFY_REASON_MAX 128

struct notify_verdict {
    int cls;                            /* enum notify_class              */
    long retry_after_s;                 /* -1 when none                   */
    long provider_code;                 /* Twilio/Meta error code, or 0   */
    char provider_id[NOTIFY_ID_MAX];    /* "" when none                   */
    char reason[NOTIFY_REASON_MAX];     /* channel, status, code: no secret */
};

/* Classify an answer (rules in the file comment). Never fails for any
 * status or body; unknown ch gives PERMANENT. */
void notify_classify(int ch, const struct notify_answer *a,
                     struct notify_verdict *v);

/* -- gammu-smsd FILES backend ------------------------------------------ */

#define NOTIFY_GAMMU_NAME_MAX 96
#define NOTIFY_GAMMU_FILE_MAX (2 + 2 * NOTIFY_TEXT_MAX)

/* The outbox file for one message:
 *   name  "OUT<prio><YYYYMMDD>_<HHMMSS>_00_<+phone>_<key hex16>.txt"
 *         (time = now_ns in UTC; prio 'A'..'Z', A first)
 *   data  the text as-is when it is 7-bit ASCII, else UTF-16LE with a
 *         BOM (FF FE): gammu reads BOM files as Unicode; 8-bit text would
 *         be decoded by the daemon's locale, which an init script may not
 *         set (files.rst).
 * data gets len bytes (not NUL-terminated). Returns 0, HUB_EREJECT for a
 * bad phone or invalid UTF-8 / too long text, HUB_EINVAL for bad prio. */
int notify_gammu_file(const struct notify_msg *m, char prio, int64_t now_ns,
                      char name[NOTIFY_GAMMU_NAME_MAX],
                      unsigned char *data, size_t *len);

/* Parse a received SMS file from gammu's inbox:
 *   name "IN<YYYYMMDD>_<HHMMSS>_<serial>_<phone>_<part>.txt" (no folder)
 *   data the file's bytes: UTF-16LE/BE with a BOM, else taken as UTF-8.
 * Fills phone (as written by gammu, e.g. "+62...") and text (UTF-8, NUL-
 * terminated, cut at textlen - 1). Returns 0, or HUB_EINVAL for a name
 * that does not match or a phone that does not fit. */
int notify_gammu_parse_in(const char *name, const unsigned char *data,
                          size_t len, char *phone, size_t phonelen,
                          char *text, size_t textlen);

/* Is s an E.164 number ('+', 8..15 digits, first not 0)? 1 or 0. */
int notify_phone_ok(const char *s);

#endif /* HUB_NOTIFY_H */
