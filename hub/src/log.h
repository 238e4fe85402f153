/* SPDX-License-Identifier: MIT */
/* log.h - log lines on stderr for the adapters and the loop.
 *
 * Pure modules never log. Lines look like
 *   2026-11-28T12:00:00.123Z info  mqtt: connected to 127.0.0.1:1883
 * The level is checked before any formatting. struct ratelog limits a
 * repeated message to one line per interval, and says how many it held
 * back (collectd's c_complain, simplified). */
#ifndef HUB_LOG_H
#define HUB_LOG_H

#include <stdint.h>

#include "clock.h"
#include "config.h"

extern enum log_level log_level_min;

void log_set_level(enum log_level lvl);

void log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, mod, ...) do {                          \
        if ((lvl) >= log_level_min)                         \
            log_write((lvl), (mod), __VA_ARGS__);           \
    } while (0)
#define LOG_DEBUG(mod, ...) LOG_AT(LOG_LVL_DEBUG, mod, __VA_ARGS__)
#define LOG_INFO(mod, ...)  LOG_AT(LOG_LVL_INFO, mod, __VA_ARGS__)
#define LOG_WARN(mod, ...)  LOG_AT(LOG_LVL_WARN, mod, __VA_ARGS__)
#define LOG_ERROR(mod, ...) LOG_AT(LOG_LVL_ERROR, mod, __VA_ARGS__)

/* A rate limiter for one kind of message. Zero-initialise, set interval. */
struct ratelog {
    hub_mono_ms interval_ms;   /* at most one line per interval          */
    hub_mono_ms next_ms;       /* earliest time of the next line         */
    uint64_t held;             /* messages held back since the last line */
};

/* Returns 1 if the caller should log now (and then *held_out says how many
 * were held back since the last line), else 0 and counts one more held. */
int ratelog_due(struct ratelog *r, hub_mono_ms now, uint64_t *held_out);

/* Lowercase name of a level: "debug", "info", "warn", "error". */
const char *log_level_name(enum log_level lvl);

#endif /* HUB_LOG_H */
