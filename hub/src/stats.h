/* SPDX-License-Identifier: MIT */
/* stats.h - windowed statistics of one series (pure; no I/O).
 *
 * Windows are aligned to multiples of window_ns in event time (the
 * readings' timestamps), so an accelerated or replayed stream gives the
 * same windows as a live one. A window closes when a reading of a later
 * window arrives, or when stats_window_expire() finds its end more than
 * 'grace' in the past of the wall clock (the series went quiet). */
#ifndef HUB_STATS_H
#define HUB_STATS_H

#include <stdint.h>

#include "ring.h"

struct stats_result {
    int64_t start_ns;   /* window start (aligned)     */
    uint64_t count;
    double mean, min, max, last;
};

struct stats_window {
    int64_t start_ns;   /* start of the open window   */
    uint64_t count;     /* 0 = no open window         */
    double sum;         /* the readings' sum is sum * 2^sum_exp: when
                           adding one would pass DBL_MAX, sum is halved
                           and sum_exp grows (a plain double sum would
                           reach Inf; long double is only double on armhf).
                           sum_exp stays 0 for any real sensor, and then
                           the mean is exactly sum / count, as InfluxDB's
                           mean() of the same points.                   */
    int sum_exp;
    double min, max, last;
    int closed_any;     /* 1 once a window was emitted                 */
    int64_t closed_end; /* end of the last emitted window; a later reading
                           older than this counts in the next window, so no
                           window start is ever emitted twice */
};

/* Zero the window. Cannot fail. */
void stats_window_init(struct stats_window *w);

/* Add a reading. If it belongs to a later window than the open one, the
 * open window is closed first: *closed is filled and 1 is returned; else 0.
 * A reading older than the open window is counted in the open window.
 * window_ns must be > 0. */
int stats_window_add(struct stats_window *w, int64_t window_ns,
                     int64_t ts_ns, double v, struct stats_result *closed);

/* Close the open window if now_ns >= its end + grace_ns. Returns 1 and
 * fills *closed, else 0. */
int stats_window_expire(struct stats_window *w, int64_t window_ns,
                        int64_t now_ns, int64_t grace_ns,
                        struct stats_result *closed);

/* Close the open window, whatever its age. Returns 1 and fills *closed,
 * or 0 when no window is open. */
int stats_window_close(struct stats_window *w, int64_t window_ns,
                       struct stats_result *closed);

/* Statistics over the samples of a ring with ts >= since_ns. Returns the
 * number of samples used (0 leaves *out zeroed). */
uint64_t stats_from_ring(const struct ring *r, int64_t since_ns,
                         struct stats_result *out);

#endif /* HUB_STATS_H */
