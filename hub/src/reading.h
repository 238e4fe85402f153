/* SPDX-License-Identifier: MIT */
/* reading.h - a decoded MQTT message, as a fixed-size value type.
 *
 * Copied by value on the hot path: no malloc per message. Strings are
 * NUL-terminated and always fit (decode rejects what would not). */
#ifndef HUB_READING_H
#define HUB_READING_H

#include <stdint.h>
#include <stddef.h>

#define HUB_NAME_MAX     64   /* bytes of a topic level or field name, NUL included */
#define HUB_TEXT_MAX    128   /* bytes of an event text value, NUL included          */
#define HUB_MAX_FIELDS   32   /* numeric members kept from one message               */
#define HUB_MAX_TEXTS     8   /* text members kept from one event                    */

enum msg_type {
    MSG_READINGS = 0,   /* sensor values: one or more numeric fields     */
    MSG_EVENT    = 1    /* an operator event from .../<id>/event          */
};

struct num_field {
    char name[HUB_NAME_MAX];
    double value;       /* may be NaN/Inf: validate rejects those */
};

struct text_field {
    char name[HUB_NAME_MAX];
    char value[HUB_TEXT_MAX];
};

struct message {
    enum msg_type type;
    char site[HUB_NAME_MAX];
    char kind[HUB_NAME_MAX];      /* "drum", "tank" or "site"                */
    char id[HUB_NAME_MAX];
    int has_ts;                   /* 1 if the payload carried "ts"           */
    int64_t ts_ns;                /* payload time, valid when has_ts         */
    size_t nfields;
    struct num_field fields[HUB_MAX_FIELDS];
    /* events only */
    char event[HUB_NAME_MAX];     /* "batch_start", "turn", ...              */
    char member[HUB_NAME_MAX];    /* "" when the payload named nobody        */
    size_t ntexts;
    struct text_field texts[HUB_MAX_TEXTS];
    size_t nignored;              /* members skipped (non-numeric, too many) */
};

#endif /* HUB_READING_H */
