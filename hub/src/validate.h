/* SPDX-License-Identifier: MIT */
/* validate.h - per-reading validation (pure; no I/O, no logging).
 *
 * Each check returns NULL when the value is acceptable, or a static reason
 * tag that becomes the `reason` tag of the `sensor_fault` point:
 *   "non_finite"            NaN or +-Inf
 *   "out_of_range"          outside the range for this field
 *   "ds18b20_power_on"      exactly 85.0 (+-0.001) on a DS18B20 field when
 *                           the previous valid reading was below hot_c
 *   "ds18b20_disconnected"  -127 (+-0.001) on a DS18B20 field
 *   "ts_future"             timestamp too far ahead of the receipt time
 *   "ts_too_old"            timestamp too far behind the receipt time
 *
 * Range rules are matched with fnmatch(3) patterns on the field name; the
 * configured rules are tried first, then the built-in defaults by suffix
 * (validate_default_ranges()). A field no rule matches accepts any finite
 * value. */
#ifndef HUB_VALIDATE_H
#define HUB_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

struct range_rule {
    char pattern[HUB_NAME_MAX];  /* fnmatch pattern such as temp_*_c   */
    double min;
    double max;
};

struct validate_cfg {
    const struct range_rule *ranges;  /* borrowed; may be NULL              */
    size_t nranges;
    char ds18b20_pattern[HUB_NAME_MAX]; /* fields read by DS18B20 probes;
                                           "" disables the fault-code rules */
    double ds18b20_hot_c;             /* 85.0 is believed at/after this     */
    int64_t max_future_ns;            /* 0 = no check                       */
    int64_t max_past_ns;              /* 0 = no check                       */
};

/* Fill c with the defaults (no configured ranges, DS18B20 on "temp_*_c",
 * hot_c 80, 300 s into the future, no past limit). Cannot fail. */
void validate_cfg_defaults(struct validate_cfg *c);

/* The built-in range table, terminated by an entry with pattern "". */
const struct range_rule *validate_default_ranges(void);

/* Find the range for a field. Returns 1 and sets min and max if a rule
 * matches, else 0. */
int validate_range_for(const struct validate_cfg *c, const char *field,
                       double *min, double *max);

/* Check one value. has_prev/prev: the previous valid value of the same
 * series (for the DS18B20 85.0 rule). Returns NULL or a reason tag. */
const char *validate_value(const struct validate_cfg *c, const char *field,
                           double v, int has_prev, double prev);

/* Check a payload timestamp against the receipt time. NULL or a reason. */
const char *validate_ts(const struct validate_cfg *c, int64_t ts_ns,
                        int64_t now_ns);

#endif /* HUB_VALIDATE_H */
