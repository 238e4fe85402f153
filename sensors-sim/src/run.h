/* SPDX-License-Identifier: MIT */
/* run.h - the two ways kompos-sim runs. Each connects, publishes, waits
 * for the broker's acknowledgements, disconnects and returns the exit
 * status (0 or 1). `stop` counts SIGINT/SIGTERM: the first one stops
 * publishing and lets the acks still due arrive (up to --timeout); a
 * second one gives up at once. */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <signal.h>

#include "opts.h"
#include "pub.h"

/* Continuous mode: drums, tanks and the site probe on a simulated clock. */
int run_stream(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop);

/* Count mode: exactly o->count good readings plus o->hostile hostile
 * messages; ends with "published good=N hostile=H acked=A" on stderr. */
int run_count(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop);

/* Scenario mode (--scenario): run_scenario.c. */
int run_scenario(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop);

/* Wait until every published message is acknowledged, the deadline (mono
 * ns) passes, or a second signal arrives. Returns 1 if all were acked. */
int run_drain(struct pub *p, int64_t deadline_ns, volatile sig_atomic_t *stop,
              int stop_limit);

#endif /* SIM_RUN_H */
