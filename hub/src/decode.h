/* SPDX-License-Identifier: MIT */
/* decode.h - MQTT topic + payload -> struct message (pure; no I/O, no log).
 *
 * Topic templates map topic levels to names. A template is a '/'-separated
 * list of levels; each level is a literal, '+' (any one level, ignored), or
 * one of the placeholders {site} {kind} {id} {field}. {site}, {kind} and
 * {id} are required in every template. Defaults (DESIGN.md section 3):
 *     "kube/{site}/{kind}/{id}/{field}"   plain number payload, one field
 *     "kube/{site}/{kind}/{id}"           JSON object payload, many fields
 * When {field} is the literal "event", the payload is an operator event
 * (JSON object with an "event" member) and the message type is MSG_EVENT.
 * The first template whose level count and literals match is used.
 *
 * Every topic level that becomes a name (site, kind, id, field) must be
 * non-empty, shorter than HUB_NAME_MAX, valid UTF-8, and hold no control
 * byte (< 0x20, 0x7f) and no backslash. kind must be one of the configured
 * kinds ("drum", "tank", "site" by default). The {field} level may not be
 * "time", "site", "kind" or "id" (bad_topic), as for JSON member names.
 *
 * Payloads:
 *  - plain number: optional surrounding whitespace, a decimal number
 *    (strtod syntax without hex), or nan / inf / -inf (kept as NaN/Inf so
 *    that validation can reject them with a reason).
 *  - JSON object (cJSON): "ts" is Unix milliseconds (number) or RFC 3339
 *    text with 'Z' or a +hh:mm offset, after 1970-01-01T00:00:00Z and
 *    before 2262-04-12 (ts_ns must fit int64_t); every other numeric
 *    member is a field. Members that are not numbers, or whose names are
 *    not usable as an InfluxDB field key (lp_name_ok(), and not "time",
 *    "site", "kind", "id"), and members beyond HUB_MAX_FIELDS, are
 *    skipped and counted in nignored. A message with no field left is an
 *    error.
 *  - event: JSON object; "event" (text, a valid name) is required;
 *    "member" (text) is optional; "ts" as above; numbers become fields and
 *    other text members become texts (up to HUB_MAX_TEXTS, each shorter
 *    than HUB_TEXT_MAX; others are skipped and counted).
 */
#ifndef HUB_DECODE_H
#define HUB_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

struct decoder;     /* opaque: compiled templates and allowed kinds */

/* Compile templates (NULL/0 = the two defaults above). kinds: the allowed
 * <kind> values (NULL/0 = the defaults "drum", "tank", "site"). Returns
 * NULL on a bad template or no memory, with a message in err. Free with
 * decoder_free(). */
struct decoder *decoder_new(const char *const *templates, size_t ntemplates,
                            const char *const *kinds, size_t nkinds,
                            char *err, size_t errlen);

/* Free a decoder. Accepts NULL. */
void decoder_free(struct decoder *d);

/* Decode one message. payload need not be NUL-terminated. max_payload is
 * the size cap (bytes; 0 = no cap). The decoder only reads its arguments,
 * so it is safe to call inside the libmosquitto message callback.
 *
 * Returns HUB_OK and fills *out, or HUB_EINVAL with *reason set to a static
 * tag name ("bad_topic", "unknown_topic", "bad_kind", "oversized",
 * "empty_payload", "bad_number", "bad_json", "bad_ts", "no_fields",
 * "bad_event") and a human-readable message in err. */
int decode_message(const struct decoder *d, const char *topic,
                   const void *payload, size_t len, size_t max_payload,
                   struct message *out, const char **reason,
                   char *err, size_t errlen);

/* Parse RFC 3339 text ("2026-11-28T10:00:00Z", "...T18:00:00.123+08:00")
 * into ns since the epoch. Returns HUB_OK or HUB_EINVAL. */
int decode_rfc3339(const char *s, int64_t *ns);

#endif /* HUB_DECODE_H */
