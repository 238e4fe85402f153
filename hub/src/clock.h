/* SPDX-License-Identifier: MIT */
/* clock.h - the two clocks (DESIGN.md section 1).
 *
 * hub_mono_ms: monotonic milliseconds; drives I/O only (flushes, retries,
 * reconnects, nodata). hub_real_ns: wall-clock nanoseconds since the Unix
 * epoch; stamps readings. The names keep the two from being mixed up.
 * Pure modules take these as arguments; only the loop reads the clocks. */
#ifndef HUB_CLOCK_H
#define HUB_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef int64_t hub_mono_ms;
typedef int64_t hub_real_ns;

static inline hub_mono_ms clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (hub_mono_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline hub_real_ns clock_real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (hub_real_ns)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* HUB_CLOCK_H */
