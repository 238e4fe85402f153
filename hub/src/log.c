/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum log_level log_level_min = LOG_LVL_INFO;

void log_set_level(enum log_level lvl)
{
    log_level_min = lvl;
}

const char *log_level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_DEBUG: return "debug";
    case LOG_LVL_INFO:  return "info";
    case LOG_LVL_WARN:  return "warn";
    case LOG_LVL_ERROR: return "error";
    }
    return "?";
}

void log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
{
    char msg[1024], stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000L,
            log_level_name(lvl), mod, msg);
}

int ratelog_due(struct ratelog *r, hub_mono_ms now, uint64_t *held_out)
{
    if (now < r->next_ms) {
        r->held++;
        return 0;
    }
    if (held_out)
        *held_out = r->held;
    r->held = 0;
    r->next_ms = now + r->interval_ms;
    return 1;
}
