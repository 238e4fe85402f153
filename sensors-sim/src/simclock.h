/* SPDX-License-Identifier: MIT */
/* simclock.h - the simulator's clocks.
 *
 * sim_mono_ns: monotonic nanoseconds; paces publishing and drives timeouts.
 * sim_real_ms: wall-clock Unix milliseconds; only the default start of
 * simulated time. Simulated time itself is plain arithmetic on int64_t
 * Unix milliseconds (start + tick * interval) and never reads a clock. */
#ifndef SIM_SIMCLOCK_H
#define SIM_SIMCLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t sim_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t sim_real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#endif /* SIM_SIMCLOCK_H */
