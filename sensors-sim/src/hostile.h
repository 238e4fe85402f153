/* SPDX-License-Identifier: MIT */
/* hostile.h - malformed and hostile MQTT messages that kompos-hub must
 * reject (pure: builds topic and payload, no I/O).
 *
 * Every kind goes to a topic that the hub's default subscriptions
 * ("<prefix>/+/+/+/+" and "<prefix>/+/+/+") match, and every one must be
 * counted as rejected with no drum/tank point written. The expected
 * reason is the hub's decode or validate tag (hub/src/decode.h,
 * hub/src/validate.h) with the default config: max_payload_bytes 4096
 * (the oversized kind relies on it: its 5000-byte payload is otherwise a
 * valid reading) and DS18B20 rules on temp_*_c.
 *
 * Not in the list, because the broker never delivers them:
 *  - a topic with a control byte (MQTT 3.1.1 / 5 forbid U+0000..U+001F and
 *    U+007F..U+009F; libmosquitto refuses to send it and Mosquitto drops
 *    the connection). The "json_ctrl_key" kind carries a control byte in a
 *    JSON member name instead.
 *  - a topic with one level too many (no default subscription matches).
 * The good readings of count mode are <= 70 C, so the "85.0" kind is
 * always a power-on reset, never a believable hot reading. */
#ifndef SIM_HOSTILE_H
#define SIM_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

#define HOSTILE_NKINDS       20
#define HOSTILE_TOPIC_MAX   512
#define HOSTILE_PAYLOAD_MAX 5000    /* the largest payload of the list */

struct hostile_msg {
    char topic[HOSTILE_TOPIC_MAX];
    char payload[HOSTILE_PAYLOAD_MAX + 1];
    size_t len;                     /* payload bytes (no NUL counted)  */
    int kind;                       /* 0..HOSTILE_NKINDS-1             */
};

/* Build hostile message number j: kind j % HOSTILE_NKINDS, aimed at drum
 * `id` (kinds with a broken id level break it in their own way).
 * Returns 0, or -1 if the topic would not fit (prefix and site are
 * bounded by opts.h, so this does not happen from the command line). */
int hostile_make(uint64_t j, const char *prefix, const char *site, unsigned id,
                 struct hostile_msg *out);

/* Short name of a kind ("number_abc", ...) and the reason tag the hub is
 * expected to report for it. NULL when kind is out of range. */
const char *hostile_name(int kind);
const char *hostile_reason(int kind);

#endif /* SIM_HOSTILE_H */
