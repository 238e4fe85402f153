/* SPDX-License-Identifier: MIT */
/* scenario.h - the simulator's scenarios (--scenario): a whole compost
 * batch of drums and tanks in simulated time, after domain-compost.md 7,
 * with the operator events a member would send and the ground truth the
 * hub's answers are checked against. Pure: no I/O, no clock reads; the
 * same seed gives the same messages.
 *
 * Model (per drum): the core rises above the lagged ambient along the
 * doc's gamma-shaped curve (7.2, "cheap empirical alternative") plus a
 * slow tail, dT(t) = dTmax * (t/tp)^a * exp(a (1 - t/tp)) + tail * exp(-t/tau);
 * mid reads 0.9 and top 0.55 of that rise (plus sun on the lid); a turn
 * drops the rise by 30 % for a few hours. Moisture dries with the heat and
 * is watered back when it falls below 47 % in the first 20 days; O2/CO2
 * follow the activity; the mass shrinks by up to half. Ambient (7.1): 27 C
 * + 3.5 C daily cosine peaking 14:00 WITA + AR(1) noise, with rain showers.
 * Probes read the true value + noise (sigma 0.1 C), in DS18B20 steps.
 *
 * Tanks (7.3): a 58 cm vertical cylinder, 85 cm usable, the ultrasonic
 * sensor 115 cm above the bottom; filled on day 0.2 at 15 L/min, pH falls
 * to a plateau, EC rises, draws of 5-25 L (Poisson, 1 a day in working
 * hours 07-17 WITA) from day 16, evaporation 0.2 L/day.
 *
 * Ground truth of maturity uses the hub's CURING -> MATURE criterion on the
 * true, noise-free values: the first hour at which the batch is at least
 * 35 days old, the 24 h mean of (core - ambient) has been <= 2 C at every
 * hour of the past 7 days, and the moisture is <= 50 %. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum scn_kind {
    SCN_NORMAL, SCN_STALL, SCN_OVERHEAT, SCN_TOO_DRY, SCN_TOO_WET, SCN_SENSOR_FAULTS,
    SCN_TANK_OVERFLOW, SCN_FERMENT_SPOILED, SCN_COUNT
};

/* The scenario named s (see scn_list), or -1. */
int scn_parse(const char *s);
/* Print every scenario with one line of help. */
void scn_list(FILE *out);

struct scn;     /* opaque */

/* A scenario of ndrums (0..64) and ntanks (0..16) from start_ms for days
 * simulated days, one sample of every device every interval_s. NULL on
 * bad arguments or no memory. */
struct scn *scn_new(int kind, uint64_t seed, int ndrums, int ntanks, int64_t start_ms,
                    double days, double interval_s);
void scn_free(struct scn *s);

/* The next message in time order: fills the topic after "<prefix>/<site>/"
 * (e.g. "drum/3" or "drum/3/event") and the JSON payload, and its
 * simulated time. Returns 1, or 0 when the scenario is over (or -1 when a
 * buffer is too small). */
int scn_next(struct scn *s, char *topic, size_t tlen, char *payload, size_t plen,
             int64_t *ts_ms);

/* Simulated days done, for the progress bar. */
double scn_day(const struct scn *s);

/* Write the ground truth as JSON (see sensors-sim/README.md). messages:
 * how many were published. Returns 0, or -1 on a write error. */
int scn_write_truth(const struct scn *s, FILE *f, const char *site, uint64_t messages);

#endif /* SIM_SCENARIO_H */
