/* SPDX-License-Identifier: MIT */
/* tank.h - one liquid-fertiliser tank: volume from level, fill/draw step
 * detection, the fermentation state machine and per-batch yield (pure; no
 * I/O, no logging, no wall clock). Domain reference: domain-compost.md
 * sections 4, 5.3, 5.4, 6.3, 6.4, 6.5 and 7.3.
 *
 * Everything runs on event time: the int64 ns timestamps the readings carry.
 * An accelerated simulation or a replayed spool gives the same events,
 * phases and batches as a live stream.
 *
 * Level pipeline (one tank):
 *   distance_cm / level_cm reading
 *     -> ultrasonic rules that need series context (6.5): blind zone, beyond
 *        the sensor height + margin, a volume jump faster than the maximum
 *        fill rate unless it persists for N samples; rejected samples are
 *        counted in `rejected_samples`
 *     -> 1-minute median (the `level_cm` metric)
 *     -> 5-minute median of the minute points (step detection) and a
 *        15-minute median (`volume_l_smoothed`)
 *     -> step detection (6.3): a change |dV| >= max(step_min_l,
 *        step_min_pct of capacity) against the level of up to
 *        step_window_min earlier starts a step; the step ends when the level
 *        has not moved by more than half the threshold for step_persist_min;
 *        the step's size is the median of that persisted plateau minus the
 *        median of the 2 x step_persist_min before it. A settled step of at least
 *        the threshold is a fill (+) or draw (-) event. Ripple and single
 *        outliers die in the medians. Across a data gap, a change of at least
 *        the threshold also counts as a step.
 *     -> between steps, the volume's slope (pooled over the segments between
 *        events, 2-hour bins, drift_window_h) is `net_drift_l_per_day`.
 *
 * Batches (decided here, see 6.3):
 *   - "batch_start" starts a new batch in FILLING from any phase. In FILLING
 *     (or ACIDIFYING less than 6 h old) it only names the current batch. In
 *     the other phases the current batch is finished first.
 *   - A rising level in EMPTY starts a batch named "<id>-YYYYMMDD" (UTC date
 *     of the rise) in FILLING as soon as the step is detected; if the level
 *     falls back (no fill event), the tank returns to EMPTY without a batch.
 *     Without level data an operator "fill" does the same. A fill of at
 *     least new_batch_fill_pct of the
 *     capacity in ACIDIFYING..SPOILED finishes the batch and starts a new one;
 *     smaller fills are top-ups.
 *   - The tank is EMPTY (and the batch finished) when the settled volume drops
 *     below empty_pct of the capacity in any phase after FILLING.
 *   - A tank in EMPTY found holding at least new_batch_fill_pct of its
 *     capacity without a detected fill (the hub started on a full tank
 *     without saved state, as with the simulator) is adopted as an automatic
 *     batch after fill_quiet_min of data: FILLING, then at once ACIDIFYING.
 *     Its start (batch age, cycle_days) is the adoption time.
 *
 * Memory is bounded: fixed arrays only, about 17 KiB per tank. */
#ifndef HUB_TANK_H
#define HUB_TANK_H

#include <stddef.h>
#include <stdint.h>

/* ---- geometry ---------------------------------------------------------- */

enum tank_shape { TANK_VCYL, TANK_HCYL, TANK_BOX, TANK_TABLE };

/* "vertical_cylinder", "horizontal_cylinder", "box", "table" -> *out.
 * Returns HUB_OK, or HUB_EINVAL for another name (or NULL). */
int tank_shape_parse(const char *name, enum tank_shape *out);
/* The config name of a shape ("vertical_cylinder", ...). Never NULL. */
const char *tank_shape_name(enum tank_shape s);

#define TANK_TABLE_MAX 32
struct tank_geom {
    enum tank_shape shape;
    double diameter_cm;         /* VCYL, HCYL */
    double length_cm;           /* HCYL (axis horizontal), BOX */
    double width_cm;            /* BOX */
    double height_cm;           /* usable liquid height (VCYL, BOX); HCYL:
                                   0 or the diameter; TABLE: 0 or the last
                                   table level */
    double sensor_height_cm;    /* ultrasonic sensor face above the bottom */
    size_t ntable;              /* TABLE: 2..TANK_TABLE_MAX points, levels */
    double table_level_cm[TANK_TABLE_MAX], /* strictly increasing, litres  */
           table_litres[TANK_TABLE_MAX];   /* non-decreasing; linear interp */
};

/* Defaults = the simulator's tank (domain doc 7.3): vertical cylinder
 * D 58 cm, usable height 85 cm (224.6 L), sensor 30 cm above the full line
 * (sensor_height_cm 115). Cannot fail. */
void tank_geom_defaults(struct tank_geom *g);

/* Check a geometry: finite positive sizes for the shape, sensor above the
 * full line, a valid table. Returns HUB_OK, or HUB_EINVAL with a message in
 * err (may be NULL). */
int tank_geom_check(const struct tank_geom *g, char *err, size_t errlen);

/* Height of the full line: height_cm (VCYL, BOX), the diameter (HCYL), the
 * last table level (TABLE). */
double tank_max_level_cm(const struct tank_geom *g);

/* Liquid height (cm above the bottom) -> litres. The level is clamped to
 * [0, max level]; a TABLE is clamped to its first and last points. NaN in,
 * NaN out. */
double tank_litres(const struct tank_geom *g, double level_cm);
double tank_capacity_l(const struct tank_geom *g);

/* Ultrasonic distance (sensor face to surface) -> liquid height:
 * sensor_height_cm - distance_cm (not clamped). */
double tank_level_from_distance(const struct tank_geom *g, double distance_cm);

/* ---- recipes ----------------------------------------------------------- */

#define TANK_RECIPE_NAME 32
struct tank_recipe {
    char name[TANK_RECIPE_NAME];
    double ph_target;     /* ACIDIFYING -> STABILISING when pH <= this    */
    double min_days;      /* STABILISING -> READY not before this age     */
    double spec_ph_min, spec_ph_max; /* product spec (ph_in_spec)         */
    double dilution;      /* spray_equivalent_l = dispensed x dilution    */
    int em_type;          /* 1: EM-type, the "ph >= 3.9 after min_days"
                             spoil rule applies                           */
};

/* The recipe used when none is known: name "", target 4.0, 21 days,
 * spec 4-9, dilution 10, not EM-type. */
void tank_recipe_default(struct tank_recipe *r);

/* The three built-in recipes POC_EM4, ECO_ENZYME, PESTISIDA_NABATI (values
 * and their sources in tank.c). Fills up to max entries of out (out may be
 * NULL when max is 0) and returns the total count (3). */
size_t tank_recipes_builtin(struct tank_recipe *out, size_t max);

/* Look a built-in recipe up by name (case-sensitive). Returns HUB_OK and
 * fills *out, or HUB_EINVAL. */
int tank_recipe_find(const char *name, struct tank_recipe *out);

/* ---- parameters (every one a config key: tank_param_table) ------------- */

struct tank_params {
    double step_min_l;            /* 3: minimum step, litres              */
    double step_min_pct;          /* 1: minimum step, % of capacity       */
    double step_window_min;       /* 30: a step's change happens within   */
    double step_persist_min;      /* 15: the new level must persist       */
    double step_smooth_min;       /* 5: median window for step detection  */
    double max_fill_rate_l_min;   /* 20: faster volume changes rejected.. */
    int rate_persist_samples;     /* 3:  ..unless they persist this many  */
    double blind_zone_cm;         /* 25: distances below are rejected     */
    double range_margin_cm;       /* 10: distances above sensor height +
                                     this are rejected                    */
    double fill_quiet_min;        /* 30: FILLING ends after this quiet    */
    double empty_pct;             /* 5: below this % of capacity = empty  */
    double new_batch_fill_pct;    /* 50: a fill this big starts a batch   */
    double ph_flat_slope_per_day; /* 0.05: |slope| below = flat           */
    double ph_flat_hold_h;        /* 72: flat for this long -> STABILISING*/
    double ph_slope_window_h;     /* 48: regression window of ph_slope    */
    double ec_stable_pct_per_day; /* 2: |EC slope| below = stable         */
    double ec_window_h;           /* 72: regression window of the EC slope*/
    int ec_required;              /* 0: without EC data READY needs only
                                     the age; 1: EC stability is required */
    double ec_alpha;              /* 0.019 /degC: EC25 compensation       */
    double spoil_margin_ph;       /* 0.5: pH above the batch minimum..    */
    double spoil_hold_h;          /* 24:  ..sustained this long = SPOILED */
    double spoil_em_ph;           /* 3.9: EM recipes at/above after min_days */
    double spoil_em_hold_h;       /* 6: ..sustained this long = SPOILED   */
    double drift_window_h;        /* 72: window of net_drift_l_per_day    */
};

/* Fill p with the defaults above. Cannot fail. */
void tank_params_defaults(struct tank_params *p);

/* The parameters as a table for the config loader: key (the struct member
 * name; suggested config path tank.<key>), offset into struct tank_params,
 * is_int (int member, else double), inclusive bounds, one line of help.
 * The defaults are those of tank_params_defaults(). Static storage. */
struct tank_param_info {
    const char *key;
    size_t offset;
    int is_int;
    double lo, hi;
    const char *help;
};
const struct tank_param_info *tank_param_table(size_t *n);

/* Check the bounds of tank_param_table (the windows fit the fixed arrays:
 * ph_slope_window_h and ec_window_h <= 120, drift_window_h <= 96,
 * step_window_min <= 60, step_persist_min <= 30, ...). HUB_OK or
 * HUB_EINVAL + message "tank.<key> must be within [lo, hi]". */
int tank_params_check(const struct tank_params *p, char *err, size_t errlen);

/* ---- the tank ---------------------------------------------------------- */

struct tank;

/* Create a tank. id is copied (truncated to 63 bytes); g and p are copied
 * and must have passed their checks; recipe is copied, NULL = the default
 * recipe. Returns NULL on allocation failure or a NULL g/p. */
struct tank *tank_new(const char *id, const struct tank_geom *g,
                      const struct tank_params *p,
                      const struct tank_recipe *recipe);
/* Free a tank. NULL is fine. */
void tank_free(struct tank *t);

/* Replace geometry and parameters (SIGHUP). Levels are kept (volumes are
 * recomputed from them); the drift history restarts on a geometry change.
 * NULL g or p keeps that part. */
void tank_set_config(struct tank *t, const struct tank_geom *g,
                     const struct tank_params *p);

/* One validated reading. Fields used: distance_cm (ultrasonic, sensor to
 * surface: level = sensor_height - distance), level_cm (liquid height),
 * ph, ec_ms_cm, temp_liquid_c; other fields are ignored. suspect = 1 when
 * series-level validation flagged the series: the reading is recorded (it
 * shows in the metrics) but cannot drive a transition on its own. Readings
 * older than (or as old as) the last one of the same field, non-finite
 * values and timestamps beyond +-4e18 ns are ignored. */
void tank_on_reading(struct tank *t, const char *field, double value,
                     int64_t ts_ns, int suspect);

/* Operator events: "batch_start" (batch = its name; NULL or "" = automatic
 * name), "recipe" (the integrator then calls tank_set_recipe), "fill" /
 * "draw" (litres: recorded as operator notes, `operator_fill_l` /
 * `operator_draw_l`; while the tank has never had level data they are the
 * fill/draw events themselves), "calibrate" (pH/EC probes calibrated).
 * Returns 1 if the event is understood, else 0. */
int tank_on_event(struct tank *t, const char *event, const char *batch,
                  double litres, int64_t ts_ns);

/* Replace the recipe (copied; NULL = default recipe). */
void tank_set_recipe(struct tank *t, const struct tank_recipe *r);

/* Evaluate the fermentation machine up to event time now_ns (and close the
 * open 1-minute level bucket once now_ns is past it). Returns 1 when the
 * phase changed since the last call, else 0. */
int tank_advance(struct tank *t, int64_t now_ns);

enum tank_phase { TANK_EMPTY, TANK_FILLING, TANK_ACIDIFYING,
                  TANK_STABILISING, TANK_READY, TANK_DISPENSING,
                  TANK_SPOILED };
#define TANK_NPHASES 7
/* "EMPTY", "FILLING", ...; "?" for an unknown value. Never NULL. */
const char *tank_phase_name(enum tank_phase p);
/* "EMPTY" ... -> *out. HUB_OK or HUB_EINVAL. */
int tank_phase_parse(const char *name, enum tank_phase *out);

/* A snapshot. NaN = unknown; ph_in_spec is -1 when unknown. */
struct tank_metrics {
    enum tank_phase phase;
    char batch[64];                 /* "" = no batch                        */
    char recipe[TANK_RECIPE_NAME];
    double level_cm, volume_l, volume_l_smoothed, capacity_l, fill_pct;
    double litres_filled_total, litres_drawn_total; /* since the tank was
                                       created (persisted; counters)        */
    double draw_l_per_day;          /* drawn in the trailing 24 h           */
    double draw_l_per_day_7d;       /* drawn in the trailing 7 d, / 7       */
    double net_drift_l_per_day;     /* slope between events (< 0: loss)     */
    unsigned fill_events, draw_events;
    unsigned rejected_samples;      /* level samples rejected (6.5 rules)   */
    double operator_fill_l, operator_draw_l; /* litres of operator events   */
    double ph, ph_min_batch, ph_slope_per_day;
    double ec25_ms_cm, ec_slope_pct_per_day, t_liquid_c;
    double batch_age_d, phase_age_d, days_since_calibration;
    double batch_volume_l, harvestable_l, litres_dispensed; /* this batch   */
    int ph_in_spec;                 /* 1, 0, or -1 unknown                  */
    int fermentation_done;          /* 1 in READY and DISPENSING            */
    int in_step;                    /* 1 while a level change is settling   */
};

/* Fill *m. t is not changed. */
void tank_get(const struct tank *t, struct tank_metrics *m);

/* A finished batch (the tank emptied, or a new batch_start / large fill
 * replaced it). Returns 1 once per finished batch and fills *b, else 0.
 * Only the latest finished batch is kept until taken. NaN = unknown. */
struct tank_batch {
    char batch[64];
    char recipe[TANK_RECIPE_NAME];
    int64_t start_ns, end_ns;
    double batch_volume_l;     /* volume at the end of FILLING             */
    double harvestable_l;      /* volume on reaching READY                 */
    double litres_dispensed;   /* draws from READY on                      */
    double cycle_days;         /* start -> end                             */
    double process_loss_l;     /* batch_volume - harvestable (evaporation,
                                  outgassing, solids removed while it
                                  fermented)                               */
    double residue_l;          /* settled volume left when it finished
                                  (sludge, or what the next batch replaced) */
    double spray_equivalent_l; /* litres_dispensed x recipe.dilution       */
    int spoiled;
};
int tank_take_batch(struct tank *t, struct tank_batch *b);

/* Survive a restart: one line of printable ASCII without a newline,
 * shorter than TANK_STATE_MAX, holding the phase, batch, totals and machine
 * timers (not the short-term sample history, which rebuilds in minutes).
 * tank_save returns HUB_OK, or HUB_ENOMEM when len is too small.
 * tank_load returns HUB_OK, or HUB_EINVAL for malformed text, leaving t
 * unchanged. */
#define TANK_STATE_MAX 2048
int tank_save(const struct tank *t, char *buf, size_t len);
int tank_load(struct tank *t, const char *text);

#endif /* HUB_TANK_H */
