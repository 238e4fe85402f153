/* SPDX-License-Identifier: MIT */
/* model.h - plausible sensor values for the simulator (pure: no I/O, no
 * clock reads, no logging; deterministic for a given seed and schedule).
 *
 * A first, simple model after domain-compost.md section 7 (the full
 * lumped physical model is a later issue):
 *  - ambient (site): 27 C + 3.5 C daily cosine peaking 14:00 WITA (UTC+8)
 *    + AR(1) noise;
 *  - drum core: ambient (lagged) + a gamma-shaped rise of 30..35 C that
 *    peaks after 2.5..4.5 simulated days (core ~57..63 C), then a slow
 *    decay (time constant 5..7 days); mid and top read 0.88 and 0.75 of
 *    the rise above ambient; moisture 45..60 % slowly drying; O2 dips to
 *    ~6 % at peak activity;
 *  - tank: pH from ~7 to a 3.7..4.2 plateau (tau 1.5..3 days); EC rises
 *    by 3..5 mS/cm; liquid temperature follows lagged ambient plus a small
 *    fermentation heat; level 70..80 cm losing ~0.2 cm/day with a ripple.
 * Every temperature stays within 15..75 C, so no value ever reads as a
 * DS18B20 fault code (85.0, -127). Values are rounded by the caller. */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <stdint.h>

struct model;   /* opaque */

struct drum_values {
    double temp_core_c;
    double temp_mid_c;
    double temp_top_c;
    double moisture_pct;
    double o2_pct;
};

struct tank_values {
    double level_cm;
    double ph;
    double temp_liquid_c;
    double ec_ms_cm;
};

/* Local time offset of the site (WITA, UTC+8), in milliseconds. */
#define MODEL_LOCAL_OFFSET_MS (8LL * 3600 * 1000)

/* A model of ndrums drums and ntanks tanks whose batches start at
 * start_ms (Unix ms of simulated time). Device parameters depend only on
 * the seed and the device's id, not on how many devices there are.
 * Returns NULL when out of memory. Free with model_free(). */
struct model *model_new(uint64_t seed, int ndrums, int ntanks, int64_t start_ms);

/* Free a model. Accepts NULL. */
void model_free(struct model *m);

/* Move to simulated time t_ms (not before the previous step) and compute
 * every device's values, drawing this step's noise. */
void model_step(struct model *m, int64_t t_ms);

/* Values of the last step. i is 0-based (device id - 1) and must be in
 * range. The pointers stay valid until the next model_step(). */
double model_ambient(const struct model *m);
const struct drum_values *model_drum(const struct model *m, int i);
const struct tank_values *model_tank(const struct model *m, int i);

/* Count mode: the n-th reading of series s, a smooth wave within
 * 25..65 C (successive readings of a series differ by < 0.05 C, so no
 * spike rule trips). Pure function. */
double model_count_value(uint64_t s, uint64_t n);

#endif /* SIM_MODEL_H */
