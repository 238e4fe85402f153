/* SPDX-License-Identifier: MIT */
/* drum.h - compost maturity and sanitisation of one drum (pure; no I/O,
 * no logging, no wall clock). domain-compost.md §1-3, §6.1, §6.2.
 *
 * Everything runs on event time: the timestamps (int64 ns since the Unix
 * epoch) of the readings. One struct drum per drum id; memory is fixed at
 * drum_new (under 4 KiB: the last 72 hours are kept as hourly means).
 *
 * How readings become metrics:
 *   - Each tracked field keeps its last value, time and suspect flag.
 *     Readings older than the last one of the same field are ignored.
 *   - Readings are grouped into "samples" by timestamp: a sample at time t
 *     is taken (finalised) when a reading with a later timestamp arrives,
 *     or when drum_advance(now >= t) is called. A sample holds
 *       core = temp_core_c if valid, else max of valid mid/bottom probes;
 *       tmin/tmax = min/max over valid in-pile probes (core, mid, top,
 *       bottom); a probe is valid when it is not suspect and its value is
 *       at most max_gap_s old; ambient = site probe (<= amb_stale_s old),
 *       else the drum's temp_ambient_c, else groundwater_temp_c.
 *   - Time integrals (hours >= 40/55/65 on the core and >= 55 on the
 *     compliance probe) credit the interval between two consecutive samples
 *     when both ends are at or above the threshold and the samples are at
 *     most max_gap_s apart. Degree-days integrate by trapezoid over the
 *     same intervals. Runs follow sanit.h (gap rule of §2.2).
 *   - The state machine of §6.2 is evaluated once per closed event-time
 *     hour on hourly means: delta_t = core 1 h mean - ambient 24 h mean;
 *     "24 h mean delta_t" = core 24 h mean - ambient 24 h mean. A condition
 *     "X for N hours" holds from the start of the first hour in which X
 *     held, up to the end of the current hour. Hours without data neither
 *     break nor extend a condition; more than 6 h without data resets all.
 *
 * Batches: "batch_start" starts a batch (phase MESOPHILIC) from any phase
 * (an unfinished batch is dropped without a record); "fill" only acts on an
 * EMPTY or HARVESTED drum (a top-up during a batch changes nothing).
 * A drum that was never started and gets an in-pile temperature reading
 * starts a batch named "" in MESOPHILIC at that reading's time, so a hub
 * started mid-batch works; after a harvest it waits for "fill" or
 * "batch_start" instead.
 * Not thread-safe. */
#ifndef HUB_DRUM_H
#define HUB_DRUM_H

#include <stddef.h>
#include <stdint.h>

#include "sanit.h"

#define DRUM_STATE_MAX 4096   /* drum_save never writes more than this */
#define DRUM_ID_MAX 64
#define DRUM_BATCH_MAX 64

enum drum_phase { DRUM_EMPTY, DRUM_FILLING, DRUM_MESOPHILIC, DRUM_THERMOPHILIC, DRUM_COOLING,
                  DRUM_CURING, DRUM_MATURE, DRUM_HARVESTED, DRUM_STALLED };
#define DRUM_PHASE_COUNT 9

/* "EMPTY", "FILLING", ...; "?" out of range. */
const char *drum_phase_name(enum drum_phase p);

/* Orthogonal flags (drum_metrics.flags). The flag is the instantaneous
 * condition; alert rules add their own "for" durations.
 *   TOO_DRY   latest moisture < too_dry_pct in MESOPHILIC, THERMOPHILIC,
 *             COOLING or STALLED;
 *   TOO_WET   latest moisture > too_wet_pct;
 *   ANAEROBIC latest o2_pct < anaerobic_o2_pct;
 *   OVERHEAT  core >= overheat_c;
 *   SENSOR_DEGRADED during a batch, fewer than degraded_min_probes valid
 *             in-pile probes for more than degraded_hold_h. */
enum { DRUM_F_TOO_DRY = 1, DRUM_F_TOO_WET = 2, DRUM_F_ANAEROBIC = 4, DRUM_F_OVERHEAT = 8,
       DRUM_F_SENSOR_DEGRADED = 16 };

/* Every threshold of §6.1/§6.2 with the doc's default (drum_params_defaults).
 * Hours in _h, days in _d, seconds in _s. */
struct drum_params {
    /* MESOPHILIC -> THERMOPHILIC: core 1 h mean >= thermo_on_c for thermo_hold_h */
    double thermo_on_c, thermo_hold_h;                       /* 40, 6  */
    /* THERMOPHILIC -> COOLING: core 6 h mean < cool_below_c for cool_hold_h and
     * the 24 h core slope < 0 */
    double cool_below_c, cool_hold_h;                        /* 40, 12 */
    /* COOLING -> THERMOPHILIC after a turn: core 1 h mean >= thermo_on_c for
     * reheat_hold_h after the turn */
    double reheat_hold_h;                                    /* 6 */
    /* COOLING -> CURING: 24 h mean delta_t <= curing_delta_c for curing_hold_h */
    double curing_delta_c, curing_hold_h;                    /* 5, 48 */
    /* MESOPHILIC -> CURING: age >= skip_min_age_d and delta_t <= skip_delta_c
     * for skip_hold_h */
    double skip_min_age_d, skip_delta_c, skip_hold_h;        /* 14, 5, 72 */
    /* MESOPHILIC -> STALLED: (age >= stall_age_d and peak delta_t < stall_peak_delta_c)
     * or (delta_t < stall_low_delta_c for stall_low_hold_h within stall_window_d) */
    double stall_age_d, stall_peak_delta_c;                  /* 5, 8 */
    double stall_low_delta_c, stall_low_hold_h, stall_window_d; /* 3, 48, 10 */
    /* STALLED -> MESOPHILIC: water/turn event, or core slope > unstall_rise_c_per_day */
    double unstall_rise_c_per_day;                           /* 3 */
    /* CURING -> COOLING: delta_t > reactivate_delta_c for reactivate_hold_h */
    double reactivate_delta_c, reactivate_hold_h;            /* 8, 12 */
    /* CURING -> MATURE */
    double maturity_delta_c, maturity_hold_d;                /* 2, 7 */
    double reheat_max_c;                                     /* 2: reheat after a turn in curing */
    double reheat_from_h, reheat_to_h;                       /* 6, 72: window after a turn */
    double min_age_d;                                        /* 35 */
    double product_moisture_max_pct;                         /* 50 (unknown moisture does not block) */
    int require_mass_loss;                                   /* 0: mass loss is optional */
    double mass_loss_min_pct;                                /* 60 */
    /* flags */
    double overheat_c, too_dry_pct, too_wet_pct, anaerobic_o2_pct; /* 65, 40, 65, 5 */
    int degraded_min_probes;                                 /* 2 */
    double degraded_hold_h;                                  /* 1 */
    /* ambient */
    double groundwater_temp_c;                               /* 27 */
    double amb_stale_s;                                      /* 10800: older ambient is ignored */
    /* EMPTY/FILLING/HARVESTED */
    double fill_mass_step_kg;                                /* 2: EMPTY -> FILLING */
    double fill_settle_h;                                    /* 12: FILLING -> MESOPHILIC */
    double harvest_drop_pct;                                 /* 50: mass drop within 1 h = harvest */
    double harvested_hold_h;                                 /* 24: HARVESTED -> EMPTY */
    /* sanitisation */
    enum sanit_standard sanitation_standard;                 /* SANIT_US_PFRP_INVESSEL */
    double sanit_threshold_c;                                /* 55 */
    double pas100_threshold_c, pas100_moisture_pct;          /* 65, 51 */
    int windrow_turns;                                       /* 5 */
    struct sanit_req req;                                    /* 72 h, 15 d, 72 h, 7 d */
    int sanit_core_basis;                                    /* 0: coldest probe; 1: core */
    int sanit_min_probes;                                    /* 2 */
    double max_gap_s;                                        /* 3600: gap rule (§2.2) */
};

/* Fill p with the defaults above. Cannot fail. */
void drum_params_defaults(struct drum_params *p);

/* Cross-field check for the config loader: every number finite, hours and
 * days >= 0 (at most 1e5 h), too_dry_pct < too_wet_pct, maturity_delta_c
 * <= curing_delta_c, degraded/sanit probe counts 1..4, a known standard.
 * Returns HUB_OK, or HUB_EINVAL with a message naming the field in err
 * (may be NULL). */
int drum_params_check(const struct drum_params *p, char *err, size_t errlen);

struct drum;   /* opaque */

/* New drum in phase EMPTY. id is copied (truncated to DRUM_ID_MAX-1); p is
 * copied (NULL = defaults). Returns NULL on ENOMEM. Free with drum_free. */
struct drum *drum_new(const char *id, const struct drum_params *p);
/* Accepts NULL. */
void drum_free(struct drum *d);
/* Replace the parameters (SIGHUP); accumulated state is kept. */
void drum_set_params(struct drum *d, const struct drum_params *p);
/* The id given to drum_new; lives as long as d. */
const char *drum_id(const struct drum *d);

/* One validated reading (see the file comment). field: temp_core_c,
 * temp_mid_c, temp_top_c, temp_bottom_c, temp_ambient_c, moisture_pct,
 * o2_pct, co2_pct, mass_kg; others and non-finite values are ignored.
 * suspect = 1: series-level validation flagged the series; the value is
 * kept out of core/min/max and counts toward SENSOR_DEGRADED. */
void drum_on_reading(struct drum *d, const char *field, double value, int64_t ts_ns, int suspect);
/* The site-level shaded ambient probe (preferred over temp_ambient_c). */
void drum_on_site_ambient(struct drum *d, double t_amb_c, int64_t ts_ns);
/* Operator events: "batch_start" (batch may be "" or NULL; mass_kg NaN if
 * absent), "turn", "water", "harvest" (mass_kg = output mass), "fill".
 * Returns 1 if understood (even when it changes nothing), else 0. */
int drum_on_event(struct drum *d, const char *event, const char *batch, double mass_kg,
                  int64_t ts_ns);
/* Take pending samples up to now_ns and run the time-based transitions.
 * Returns 1 when the phase changed since the last call, else 0. */
int drum_advance(struct drum *d, int64_t now_ns);

struct drum_metrics {
    enum drum_phase phase; double phase_age_d; unsigned flags; char batch[DRUM_BATCH_MAX];
    double t_core_c, t_min_probe_c, t_max_probe_c, t_strat_c, t_amb_c, t_amb_24h_mean_c, delta_t_c;
    double delta_t_24h_c;                                  /* core 24 h mean - ambient 24 h mean */
    double t_core_24h_max_c, t_amb_24h_max_c;
    double hours_ge_40, hours_ge_55, hours_ge_65;          /* on the core */
    double hours_ge_55_comp;                               /* on the compliance probe (cumulative) */
    double run_ge_55_longest_h, run_ge_55_current_h;       /* compliance probe, gap rule */
    double run_ge_65_wet_longest_h;                        /* PAS 100 run */
    enum sanit_status sanit; enum sanit_standard sanit_standard;
    double degree_days, degree_days_20, lethality_ratio;
    double days_at_ambient; double batch_age_d;
    int turns; double peak_t_core_c; double time_to_peak_h;
    double moisture_pct, o2_pct, co2_pct, mass_kg, mass_loss_pct;   /* NaN if unknown */
    double maturity_score; double score_parts[6];          /* §6.1 order; NaN = n/a */
    double est_days_to_mature; char est_method[32];        /* how: see drum_get */
    int valid_probes; int64_t mature_at_ns;                /* 0 until MATURE */
    int64_t batch_start_ns, last_turn_ns;                  /* 0 = none */
    double reheat_after_last_turn_c;                       /* NaN if no turn yet */
    double dtdt_c_per_day;                                 /* core slope over 24 h */
};

/* Fill m (NaN for unknown numbers). Cannot fail.
 * est_days_to_mature / est_method:
 *   "mature"        0: the batch is MATURE (or was harvested mature);
 *   "ambient_hold"  24 h mean delta_t is already <= maturity_delta_c: the
 *                   rest of the maturity_hold_d days;
 *   "delta_t_trend" 24 h mean delta_t falls: an exponential through its
 *                   value now and 24 h ago reaches maturity_delta_c in x
 *                   days; estimate x + maturity_hold_d;
 *   "min_age"       either of the above, but min_age_d binds (it is larger);
 *   "unknown"       NaN: no batch, or delta_t not falling yet.
 * maturity_score: the mean of the available score_parts (§6.1 order:
 * days at ambient, re-heat after the last turn, age, moisture, mass loss,
 * 24 h max core - 24 h max ambient); NaN when none is available. */
void drum_get(const struct drum *d, struct drum_metrics *m);

struct drum_batch { char batch[DRUM_BATCH_MAX]; int64_t start_ns, end_ns; double input_mass_kg,
                    output_mass_kg, yield_pct, cycle_days, peak_t_core_c; enum sanit_status sanit; };
/* After a harvest: returns 1 once and fills b with the finished batch; else 0. */
int drum_take_batch(struct drum *d, struct drum_batch *b);

/* Serialise the state that survives a restart into buf as one line of
 * printable ASCII (no newline), NUL-terminated. Returns the length, or
 * HUB_ENOMEM when len is too small (buf then holds ""). */
int drum_save(const struct drum *d, char *buf, size_t len);
/* Load a line written by drum_save. Returns HUB_OK, or HUB_EINVAL for
 * malformed text, and then d is unchanged. Parameters and id are not part
 * of the state. */
int drum_load(struct drum *d, const char *text);

#endif /* HUB_DRUM_H */
