/* SPDX-License-Identifier: MIT */
/* sfault.h - series-level sensor fault detection (pure; no I/O, no logging,
 * no wall clock of its own).
 *
 * validate.c judges one reading alone (non-finite, DS18B20 fault codes,
 * ranges, timestamps). This module judges a reading against the history of
 * its series (domain-compost.md 5 and 6.5; the simulator's faults of 7.4):
 *
 *   field (kind)               rules
 *   temp_*_c in a drum         spike, rate, stuck, displaced (displaced and
 *                              rate not for temp_ambient_c)
 *   temp_*_c elsewhere         spike, stuck
 *   ph                         spike (0.5 between consecutive readings), stuck
 *   moisture_pct (moisture*_pct) unconfirmed step (10 % in one sample, not
 *                              confirmed over 3 samples), stuck high (>= 98 %
 *                              for 24 h)
 *   *_cm (not *_ms_cm)         exact sensor max-range value: rejected and the
 *                              series flagged STUCK while it lasts; the rest is
 *                              left to the tank module
 *   anything else              stuck only (identical for stuck_other_h)
 *
 * Time is event time: int64 ns since the Unix epoch, the readings' own
 * timestamps. Only staleness (no data arriving) uses the caller's monotonic
 * clock, passed in to sfault_check_stale().
 *
 * Spikes and steps: a reading that jumps is HELD BACK, not judged at once
 * (domain-compost.md 6.5: "not confirmed by the next reading"). sfault_feed()
 * returns SF_PENDING for it; the next reading(s) decide. If the next reading
 * confirms the new level (it lies within the threshold of the held reading
 * and nearer to it than to the old reference), the jump was a real step and
 * the held reading is released with SF_OK (or SF_RATE if the rate rule
 * rejects it); otherwise it is released as SF_SPIKE (SF_STEP for moisture).
 * Moisture needs 3 samples at the new level (the step and the next two), so
 * up to two readings are held. Released readings are handed out, oldest
 * first, by sfault_take_released(); the integrator drains it after every
 * sfault_feed(), sfault_check_stale() and sfault_flush() call and writes each
 * released reading (to the clean series, or to sensor_fault with the reason
 * name) before the reading sfault_feed() just judged. So a confirmed step
 * reaches the clean series whole, one reading late, and a single spike
 * never reaches it. When no next reading comes, sfault_check_stale() (on
 * raising STALE) and sfault_flush() release what is held as unconfirmed.
 *
 * Series states (STUCK, DISPLACED, STALE) are flags, not verdicts: the
 * reading is accepted but the series is suspect (sfault_suspect()). The one
 * exception is the exact max-range value of a distance sensor, which is
 * both rejected (verdict SF_STUCK) and flagged.
 *
 * Memory: a fixed-size struct of a few hundred bytes per series; no
 * allocation after sfault_new(). Not thread-safe (the loop thread owns it). */
#ifndef HUB_SFAULT_H
#define HUB_SFAULT_H

#include <stddef.h>
#include <stdint.h>

enum sfault_reason {
    SF_OK = 0,
    SF_SPIKE,       /* reading rejected: a jump the next reading did not confirm */
    SF_STUCK,       /* series flag (and verdict for a distance max-range value)  */
    SF_DISPLACED,   /* series flag: in-pile probe reads ambient                  */
    SF_RATE,        /* reading rejected: |dT/dt| above the limit                 */
    SF_STALE,       /* series flag: no data for stale_factor x the interval      */
    SF_STEP,        /* reading rejected: moisture step not confirmed (3 samples) */
    SF_PENDING      /* verdict deferred: the reading is held back (see above)    */
};

/* Static lower-case name: "ok", "spike", "stuck", "displaced", "rate",
 * "stale", "step", "pending"; "unknown" for anything else. Never NULL. */
const char *sfault_reason_name(enum sfault_reason r);

#define SFAULT_MAX_RANGES 4

/* Thresholds. Durations are in the unit their name ends with (_min, _h);
 * a duration or threshold <= 0 (or NaN) disables its rule. */
struct sfault_params {
    /* temperatures (temp_*_c, DS18B20) */
    double spike_c;             /* 3.0: |x - median(last n)| above this is a jump */
    double spike_window_min;    /* 5: only readings this recent form the median   */
    int spike_median_n;         /* 5 (1..5)                                       */
    double rate_c_per_h;        /* 10: drum in-pile probes only                   */
    double rate_span_min;       /* 15: slope measured over at least this long     */
    double rate_max_span_min;   /* 60: and at most this (longer gaps: no check)   */
    double rate_turn_grace_h;   /* 1: no rate check this long after a turn        */
    double stuck_tol;           /* 0: |x - run value| <= this counts as identical */
    double stuck_h;             /* 6: identical this long ...                     */
    double stuck_amb_move_c;    /* 2: ... while ambient moved more than this      */
    double stuck_thermo_h;      /* 3: identical this long in a THERMOPHILIC drum  */
    double displaced_band_c;    /* 1: within +-this of ambient ...                */
    double displaced_others_c;  /* 10: ... while the others are >= this above it  */
    double displaced_h;         /* 6: ... for this long                           */
    /* pH */
    double ph_spike;            /* 0.5 against the previous reading               */
    double ph_spike_window_min; /* 10: previous reading at most this old          */
    double ph_stuck_h;          /* 12: identical this long                        */
    /* moisture_pct */
    double moisture_step_pct;   /* 10 against the previous reading                */
    double moisture_window_min; /* 60: previous reading at most this old          */
    double moisture_high_pct;   /* 98: at or above this ...                       */
    double moisture_high_h;     /* 24: ... for longer than this: STUCK            */
    /* distance/level (*_cm) */
    double max_range_cm[SFAULT_MAX_RANGES]; /* 450, 600: exact sensor max-range */
    size_t n_max_range;         /* 2                                              */
    /* everything else, and temperatures whatever the ambient does */
    double stuck_other_h;       /* 24: identical this long                        */
    /* staleness */
    double stale_factor;        /* 3: STALE after this many expected intervals    */
};

/* Fill p with the defaults above. Cannot fail. */
void sfault_params_defaults(struct sfault_params *p);

/* One tracker per (kind, id, field) series. */
struct sfault;

/* Create a tracker for a series of 'kind' ("drum", "tank", "site", ...) and
 * 'field' (e.g. "temp_core_c"); the rules follow from the two (table above).
 * p is copied (NULL: defaults); kind and field are not kept. Returns NULL on
 * allocation failure or a NULL kind or field. Free with sfault_free(). */
struct sfault *sfault_new(const char *kind, const char *field,
                          const struct sfault_params *p);

/* Free. Accepts NULL. A held reading is lost: sfault_flush() first. */
void sfault_free(struct sfault *s);

/* Replace the thresholds (config reload); history and flags are kept.
 * p NULL: defaults. */
void sfault_set_params(struct sfault *s, const struct sfault_params *p);

/* Context a check needs that the series does not have itself; the
 * integrator fills it from the drum/tank: current ambient (NaN unknown),
 * whether the drum is THERMOPHILIC, the time of the last turn (0 none), the
 * mean of the OTHER in-pile probes of the same drum (NaN unknown). A NULL
 * ctx means all unknown. */
struct sfault_ctx {
    double t_amb_c;
    int thermophilic;
    int64_t last_turn_ns;
    double others_mean_c;
};

/* Feed one reading that passed per-reading validation. Returns the verdict
 * for THIS reading:
 *   SF_OK                accept (into the clean series);
 *   SF_SPIKE, SF_RATE, SF_STEP, SF_STUCK
 *                        reject: it lands in sensor_fault with
 *                        sfault_reason_name() as the reason;
 *   SF_PENDING           held back: write nothing now; its verdict comes
 *                        later through sfault_take_released().
 * Feeding may also release earlier held readings: drain
 * sfault_take_released() after every call, and write those first.
 * A reading older than the newest one fed (out of order) is not judged
 * against a history it predates: it returns SF_OK and leaves the history
 * alone; an equal timestamp is judged normally. A non-finite v returns
 * SF_OK and is ignored (validate.c rejects those). Any reading clears
 * STALE. s must not be NULL. */
enum sfault_reason sfault_feed(struct sfault *s, double v, int64_t ts_ns,
                               const struct sfault_ctx *c);

/* Pop the oldest released reading: returns 1 and fills *v, *ts_ns and
 * *verdict (SF_OK, SF_RATE, SF_SPIKE or SF_STEP), or 0 when none is left.
 * At most SFAULT_RELEASE_MAX wait; if the integrator does not drain, the
 * oldest is overwritten and counted in sfault_dropped(). */
#define SFAULT_RELEASE_MAX 4
int sfault_take_released(struct sfault *s, double *v, int64_t *ts_ns,
                         enum sfault_reason *verdict);

/* Release any held reading as unconfirmed (SF_SPIKE / SF_STEP), e.g. at
 * shutdown. Returns the number released (then drain sfault_take_released). */
int sfault_flush(struct sfault *s);

/* Number of readings held back now (0..2). */
int sfault_pending(const struct sfault *s);

/* Released readings overwritten because nobody drained them. */
uint64_t sfault_dropped(const struct sfault *s);

/* Current series flags: bit (1u << SF_STUCK), (1u << SF_DISPLACED),
 * (1u << SF_STALE). */
unsigned sfault_flags(const struct sfault *s);

/* Flags that became set since the last call (the integrator writes one
 * sensor_fault point per new flag, with the reason name), and ones that
 * cleared. A flag raised and cleared between two calls shows in both. */
unsigned sfault_take_raised(struct sfault *s);
unsigned sfault_take_cleared(struct sfault *s);

/* Staleness is a wall-clock matter (no data arriving): the integrator calls
 * this with monotonic ms now and of the last receipt, and the expected
 * interval (<= 0: no check). STALE is raised when now - last_rx exceeds
 * stale_factor x expected_interval_ms, and cleared when it no longer does
 * (or by the next sfault_feed()). Raising it releases any held reading as
 * unconfirmed. Returns 1 when STALE was newly raised, else 0. */
int sfault_check_stale(struct sfault *s, int64_t now_mono_ms,
                       int64_t last_rx_mono_ms, int64_t expected_interval_ms);

/* 1 if any flag is set: the series cannot drive phases alone. */
int sfault_suspect(const struct sfault *s);

#endif /* HUB_SFAULT_H */
