/* SPDX-License-Identifier: MIT */
/* validate.c - per-reading validation (see validate.h). Pure: no I/O, no
 * logging, no mutable globals. */
#include "validate.h"

#include <fnmatch.h>
#include <math.h>
#include <string.h>

/* Fault codes of the DS18B20 and its usual drivers (domain-compost.md 5.1). */
#define DS18B20_POWER_ON_C       85.0
#define DS18B20_DISCONNECTED_C (-127.0)
#define DS18B20_TOLERANCE         0.001

/* Defaults by unit suffix (domain-compost.md 6.5). Order matters: the
 * first match wins, so "temp_*_c" must come before "*_c", and "*_ms_cm"
 * before "*_cm". */
static const struct range_rule default_ranges[] = {
    { "temp_*_c",        -5.0,      90.0 },
    { "*_c",            -40.0,     125.0 },
    { "*_pct",            0.0,     100.0 },
    { "ph",               1.0,      13.0 },
    { "*_ms_cm",          0.0,      50.0 },
    { "*_kg",             0.0,   10000.0 },
    { "*_cm",             0.0,    1000.0 },
    { "*_l",              0.0, 1000000.0 },
    { "",                 0.0,       0.0 },
};

void validate_cfg_defaults(struct validate_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->ranges = NULL;
    c->nranges = 0;
    strcpy(c->ds18b20_pattern, "temp_*_c");
    c->ds18b20_hot_c = 80.0;
    c->max_future_ns = 300LL * 1000000000LL;
    c->max_past_ns = 0;
}

const struct range_rule *validate_default_ranges(void)
{
    return default_ranges;
}

/* fnmatch(3) with flags 0, on a pattern buffer that may lack its NUL. */
static int matches(const char pattern[HUB_NAME_MAX], const char *field)
{
    if (memchr(pattern, '\0', HUB_NAME_MAX) == NULL)
        return 0;
    return fnmatch(pattern, field, 0) == 0;
}

int validate_range_for(const struct validate_cfg *c, const char *field,
                       double *min, double *max)
{
    const struct range_rule *r;

    if (!field)
        return 0;
    if (c && c->ranges) {
        for (size_t i = 0; i < c->nranges; i++) {
            if (matches(c->ranges[i].pattern, field)) {
                *min = c->ranges[i].min;
                *max = c->ranges[i].max;
                return 1;
            }
        }
    }
    for (r = default_ranges; r->pattern[0]; r++) {
        if (matches(r->pattern, field)) {
            *min = r->min;
            *max = r->max;
            return 1;
        }
    }
    return 0;
}

const char *validate_value(const struct validate_cfg *c, const char *field,
                           double v, int has_prev, double prev)
{
    double lo, hi;

    if (!isfinite(v))
        return "non_finite";
    if (c && field && c->ds18b20_pattern[0] && matches(c->ds18b20_pattern, field)) {
        if (fabs(v - DS18B20_DISCONNECTED_C) <= DS18B20_TOLERANCE)
            return "ds18b20_disconnected";
        if (fabs(v - DS18B20_POWER_ON_C) <= DS18B20_TOLERANCE &&
            !(has_prev && prev >= c->ds18b20_hot_c))
            return "ds18b20_power_on";
    }
    if (validate_range_for(c, field, &lo, &hi) && (v < lo || v > hi))
        return "out_of_range";
    return NULL;
}

const char *validate_ts(const struct validate_cfg *c, int64_t ts_ns,
                        int64_t now_ns)
{
    if (!c)
        return NULL;
    /* Compare without overflow: now +- limit may not fit in int64_t. */
    if (c->max_future_ns > 0 && now_ns <= INT64_MAX - c->max_future_ns &&
        ts_ns > now_ns + c->max_future_ns)
        return "ts_future";
    if (c->max_past_ns > 0 && now_ns >= INT64_MIN + c->max_past_ns &&
        ts_ns < now_ns - c->max_past_ns)
        return "ts_too_old";
    return NULL;
}
