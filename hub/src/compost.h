/* SPDX-License-Identifier: MIT */
/* compost.h - glue between the data path (hub.c) and the pure compost
 * modules: drum.c (phases, sanitisation, maturity), tank.c (litres,
 * fermentation) and sfault.c (series-level sensor faults).
 *
 * It decides which object a reading belongs to, gives the fault checks
 * their context (ambient, phase, last turn, the other probes), writes the
 * drum_state, tank_state, batch and sensor_fault points through the
 * writer, and keeps the state file that lets a batch survive a restart.
 *
 * Time: the objects run on the readings' event time; the state file and
 * the stale check run on the wall clock. Single-threaded. */
#ifndef HUB_COMPOST_H
#define HUB_COMPOST_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "influx_out.h"
#include "reading.h"
#include "series.h"

struct compost;                 /* opaque */
struct drum_metrics;            /* drum.h */
struct tank_metrics;            /* tank.h */

struct compost_counters {
    uint64_t drums, tanks;          /* objects tracked                       */
    uint64_t state_points;          /* drum_state + tank_state written       */
    uint64_t batches;               /* batch points written                  */
    uint64_t phase_changes;
    uint64_t series_faults;         /* sensor_fault points from sfault.c     */
    uint64_t state_saves, state_save_errors;
    uint64_t state_loaded, state_bad_lines;
    uint64_t objects_overflow;      /* drums/tanks over the cap, not tracked */
};

/* Create for cfg (borrowed until compost_reconfigure/free), writing
 * through out (borrowed). Loads cfg->compost.state_file if it exists; bad
 * lines are skipped and counted (see compost_get_counters), never fatal.
 * Returns NULL with a message in err on a bad geometry or no memory. */
struct compost *compost_new(const struct hub_config *cfg, struct influx_out *out,
                            char *err, size_t errlen);
void compost_free(struct compost *c);

/* SIGHUP: new thresholds and geometries; objects, batches and hours stay.
 * On error the old configuration stays. */
int compost_reconfigure(struct compost *c, const struct hub_config *cfg,
                        char *err, size_t errlen);

/* One reading of series s (kind drum, tank or site) that passed the
 * per-reading checks and is already written to its raw measurement. The
 * series checks (sfault.c) decide whether the state machines see it: a
 * spike, an impossible rate or an unconfirmed step goes to sensor_fault
 * with its reason instead, and a stuck or displaced series is marked
 * suspect (new flags are written to sensor_fault once). A jump may be held
 * back until the next reading confirms or refutes it. */
void compost_feed(struct compost *c, struct series *s, double v, int64_t ts_ns,
                  hub_mono_ms now);

/* An operator event (kind drum or tank) stamped ts_ns. */
void compost_on_event(struct compost *c, const struct message *m, int64_t ts_ns);

/* After one message: advance the object it touched and write its state
 * point when due or when its phase changed, and any finished batch. */
void compost_after_message(struct compost *c, hub_mono_ms now);

/* Wall-clock work: the stale check of series s (called for every series
 * about once a second). */
void compost_check_stale(struct compost *c, struct series *s, hub_real_ns wall,
                         hub_mono_ms now);

/* Save the state file when save_interval_s has passed (or force). Returns
 * HUB_OK, or HUB_EIO with a message in err. */
int compost_save_due(struct compost *c, hub_mono_ms now, int force,
                     char *err, size_t errlen);

void compost_get_counters(const struct compost *c, struct compost_counters *out);

/* Told after every advance of a drum or tank (at the reading time ts_ns),
 * e.g. so the alert rules see phase, flags and the derived metrics. The
 * metrics live only during the call. Either function may be NULL. */
struct compost_listener {
    void (*drum)(void *ctx, const char *site, const char *id,
                 const struct drum_metrics *m, int64_t ts_ns);
    void (*tank)(void *ctx, const char *site, const char *id,
                 const struct tank_metrics *m, int64_t ts_ns);
    /* a series flagged stuck or displaced (reason), at reading time ts_ns */
    void (*flag)(void *ctx, struct series *s, const char *reason, int64_t ts_ns);
    void *ctx;
};
void compost_set_listener(struct compost *c, const struct compost_listener *l);

/* For the status page and the demo: one line per drum and tank. */
void compost_foreach_drum(const struct compost *c,
                          void (*fn)(const char *site, const char *id,
                                     const struct drum_metrics *m, void *ctx),
                          void *ctx);
void compost_foreach_tank(const struct compost *c,
                          void (*fn)(const char *site, const char *id,
                                     const struct tank_metrics *m, void *ctx),
                          void *ctx);

#endif /* HUB_COMPOST_H */
