/* SPDX-License-Identifier: MIT */
/* run.c - what both modes share (see run.h). */
#include "run.h"

#include "simclock.h"

int run_drain(struct pub *p, int64_t deadline_ns, volatile sig_atomic_t *stop,
              int stop_limit)
{
    while (pub_outstanding(p) > 0 && !pub_failed(p)) {
        int64_t left_ms = (deadline_ns - sim_mono_ns()) / 1000000;

        if (left_ms <= 0 || *stop >= stop_limit)
            break;
        /* Without a connection nothing more can arrive in count mode;
         * in reconnect mode QoS 1/2 messages are sent again once back. */
        (void)pub_service(p, left_ms > 100 ? 100 : (int)left_ms);
    }
    return pub_outstanding(p) == 0;
}
