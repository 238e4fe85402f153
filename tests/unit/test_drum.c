/* SPDX-License-Identifier: MIT */
/* test_drum.c - the drum state machine (§6.2) driven by synthetic traces:
 * one test per transition and per flag, sanitisation inside a drum (the
 * coldest probe decides, the gap rule), the batch record, a restart in the
 * middle of a batch, drum_load on broken text, and a full "normal" batch
 * (the gamma-shaped delta-T of §7.2) reaching MATURE on the day computed by
 * hand from the criteria.
 *
 * Traces feed every field every 5 minutes and call drum_advance after each
 * step. Ambient is a constant 27 °C, so delta_t is core - 27 and every
 * expected hour below follows from the hourly rules in drum.h. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "drum.h"
#include "hub_err.h"

#define MIN (60LL * 1000000000LL)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 (1764288000LL * 1000000000LL)   /* an hour boundary */

/* One step of a stepwise profile: from hour 'from_h' on, these values
 * (NaN = field not sent). others = temp_mid_c/temp_top_c/temp_bottom_c
 * unless top is given separately. */
struct step {
    double from_h, core, others, top, amb, moist, o2, mass;
    int sus_others;        /* mid, top, bottom flagged suspect */
    int sus_core;
};

struct prof {
    int n;
    struct step s[8];
};

struct rec {
    int64_t first[DRUM_PHASE_COUNT];   /* first entry into each phase */
    int changes;
};

static struct step st(double from_h, double core, double others)
{
    struct step s;

    s.from_h = from_h;
    s.core = core;
    s.others = others;
    s.top = NAN;
    s.amb = 27.0;
    s.moist = NAN;
    s.o2 = NAN;
    s.mass = NAN;
    s.sus_others = 0;
    s.sus_core = 0;
    return s;
}

static const struct step *at(const struct prof *p, double h)
{
    int i, k = 0;

    for (i = 0; i < p->n; i++)
        if (p->s[i].from_h <= h)
            k = i;
    return &p->s[k];
}

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
}

static void note(struct drum *d, int64_t t, struct rec *r)
{
    struct drum_metrics m;

    if (drum_advance(d, t)) {
        drum_get(d, &m);
        r->changes++;
        if (!r->first[m.phase])
            r->first[m.phase] = t;
    }
}

static void send(struct drum *d, const char *f, double v, int64_t t, int sus)
{
    if (!isnan(v))
        drum_on_reading(d, f, v, t, sus);
}

/* Feed the profile at every 5 minutes in [from_min, to_min]. */
static void run(struct drum *d, const struct prof *p, int64_t from_min, int64_t to_min,
                struct rec *r)
{
    int64_t m;

    for (m = from_min; m <= to_min; m += 5) {
        int64_t t = T0 + m * MIN;
        const struct step *s = at(p, (double)m / 60.0);
        double top = isnan(s->top) ? s->others : s->top;

        send(d, "temp_core_c", s->core, t, s->sus_core);
        send(d, "temp_mid_c", s->others, t, s->sus_others);
        send(d, "temp_top_c", top, t, s->sus_others);
        send(d, "temp_bottom_c", s->others, t, s->sus_others);
        send(d, "moisture_pct", s->moist, t, 0);
        send(d, "o2_pct", s->o2, t, 0);
        send(d, "mass_kg", s->mass, t, 0);
        if (!isnan(s->amb))
            drum_on_site_ambient(d, s->amb, t);
        note(d, t, r);
    }
}

static struct drum *started(const struct drum_params *p, double mass)
{
    struct drum *d = drum_new("D1", p);

    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(drum_on_event(d, "batch_start", "D1-2026-11", mass, T0), 1);
    ck_assert_int_eq(drum_advance(d, T0), 1);
    return d;
}

static enum drum_phase phase_of(const struct drum *d)
{
    struct drum_metrics m;

    drum_get(d, &m);
    return m.phase;
}

/* ---- names and basics ------------------------------------------------- */

START_TEST(phase_names)
{
    ck_assert_str_eq(drum_phase_name(DRUM_EMPTY), "EMPTY");
    ck_assert_str_eq(drum_phase_name(DRUM_THERMOPHILIC), "THERMOPHILIC");
    ck_assert_str_eq(drum_phase_name(DRUM_STALLED), "STALLED");
    ck_assert_str_eq(drum_phase_name((enum drum_phase)99), "?");
}
END_TEST

START_TEST(defaults_match_the_doc)
{
    struct drum_params p;

    drum_params_defaults(&p);
    ck_assert_double_eq(p.thermo_on_c, 40);
    ck_assert_double_eq(p.thermo_hold_h, 6);
    ck_assert_double_eq(p.maturity_delta_c, 2);
    ck_assert_double_eq(p.min_age_d, 35);
    ck_assert_double_eq(p.overheat_c, 65);
    ck_assert_double_eq(p.too_dry_pct, 40);
    ck_assert_double_eq(p.too_wet_pct, 65);
    ck_assert_double_eq(p.anaerobic_o2_pct, 5);
    ck_assert_double_eq(p.groundwater_temp_c, 27);
    ck_assert_int_eq(p.sanitation_standard, SANIT_US_PFRP_INVESSEL);
    ck_assert_double_eq(p.max_gap_s, 3600);
    drum_free(NULL);
}
END_TEST

START_TEST(params_check)
{
    struct drum_params p;
    char err[128] = "";

    drum_params_defaults(&p);
    ck_assert_int_eq(drum_params_check(&p, err, sizeof(err)), HUB_OK);
    p.too_dry_pct = 70;
    ck_assert_int_eq(drum_params_check(&p, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too_dry_pct"));
    drum_params_defaults(&p);
    p.thermo_hold_h = -1;
    ck_assert_int_eq(drum_params_check(&p, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "drum: bad thermo_hold_h");
    drum_params_defaults(&p);
    p.req.cum_h = NAN;
    ck_assert_int_eq(drum_params_check(&p, NULL, 0), HUB_EINVAL);
    drum_params_defaults(&p);
    p.max_gap_s = 0;
    ck_assert_int_eq(drum_params_check(&p, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "drum: bad max_gap_s");
}
END_TEST

/* core 60 with the other probes suspect from 1 h to 3 h: the compliance
 * value is unknown for 2 h while the core is >= 55: UNKNOWN, not a verdict */
START_TEST(sanit_unknown_when_probes_missing)
{
    struct prof p = { 3, { st(0, 60, 56), st(1, 60, 56), st(3, 60, 56) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    p.s[1].sus_others = 1;
    rec_init(&r);
    run(d, &p, 0, 50, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    run(d, &p, 55, 4 * 60, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.sanit, SANIT_UNKNOWN);
    /* the hole broke the run: 3 h -> 4 h is the current run */
    ck_assert_double_eq_tol(m.run_ge_55_current_h, 1, 1e-9);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 1, 1e-9);
    drum_free(d);
}
END_TEST

/* ---- EMPTY / FILLING / auto start ------------------------------------- */

START_TEST(auto_start_on_first_reading)
{
    struct drum *d = drum_new("D9", NULL);
    struct drum_metrics m;

    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_EMPTY);
    ck_assert(isnan(m.batch_age_d));
    drum_on_site_ambient(d, 27, T0);            /* ambient alone starts nothing */
    ck_assert_int_eq(drum_advance(d, T0), 0);
    drum_on_reading(d, "temp_core_c", 30, T0 + 7 * MIN, 0);
    ck_assert_int_eq(drum_advance(d, T0 + 7 * MIN), 1);
    ck_assert_int_eq(drum_advance(d, T0 + 7 * MIN), 0);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MESOPHILIC);
    ck_assert_str_eq(m.batch, "");
    ck_assert_int_eq(m.batch_start_ns, T0 + 7 * MIN);
    ck_assert_double_eq(m.t_core_c, 30);
    drum_free(d);
}
END_TEST

START_TEST(fill_event_then_batch_start)
{
    struct drum *d = drum_new("D2", NULL);
    struct drum_metrics m;

    ck_assert_int_eq(drum_on_event(d, "fill", "", NAN, T0), 1);
    ck_assert_int_eq(drum_advance(d, T0), 1);
    ck_assert_int_eq(phase_of(d), DRUM_FILLING);
    ck_assert_int_eq(drum_on_event(d, "batch_start", "D2-A", 120, T0 + 2 * HOUR), 1);
    ck_assert_int_eq(drum_advance(d, T0 + 2 * HOUR), 1);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MESOPHILIC);
    ck_assert_str_eq(m.batch, "D2-A");
    ck_assert_int_eq(m.batch_start_ns, T0 + 2 * HOUR);
    ck_assert_int_eq(drum_on_event(d, "dance", "", NAN, T0 + 3 * HOUR), 0);
    drum_free(d);
}
END_TEST

/* mass 10 (empty), 11 (+1: no), 15 (+5 > 2 kg: FILLING), 40, 60, then steady:
 * MESOPHILIC 12 h after the last change (at 2 h), batch start = 2 h. */
START_TEST(mass_fill_and_settle)
{
    struct drum *d = drum_new("D3", NULL);
    struct drum_metrics m;
    int64_t t;

    drum_on_reading(d, "mass_kg", 10, T0, 0);
    drum_on_reading(d, "mass_kg", 11, T0 + 5 * MIN, 0);
    ck_assert_int_eq(drum_advance(d, T0 + 5 * MIN), 0);
    drum_on_reading(d, "mass_kg", 15, T0 + 10 * MIN, 0);
    ck_assert_int_eq(drum_advance(d, T0 + 10 * MIN), 1);
    ck_assert_int_eq(phase_of(d), DRUM_FILLING);
    drum_on_reading(d, "mass_kg", 40, T0 + HOUR, 0);
    drum_on_reading(d, "mass_kg", 60, T0 + 2 * HOUR, 0);
    for (t = T0 + 2 * HOUR + 5 * MIN; t < T0 + 14 * HOUR; t += 5 * MIN) {
        drum_on_reading(d, "mass_kg", 60.5, t, 0);
        ck_assert_int_eq(drum_advance(d, t), 0);
    }
    drum_on_reading(d, "mass_kg", 60.5, T0 + 14 * HOUR, 0);
    ck_assert_int_eq(drum_advance(d, T0 + 14 * HOUR), 1);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MESOPHILIC);
    ck_assert_int_eq(m.batch_start_ns, T0 + 2 * HOUR);
    drum_free(d);
}
END_TEST

/* ---- MESOPHILIC ------------------------------------------------------- */

/* core 30 then 45 from 24 h: the 1 h mean is >= 40 from hour 24, held 6 h
 * at 30 h. */
START_TEST(meso_to_thermo)
{
    struct prof p = { 2, { st(0, 30, 30), st(24, 45, 45) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 40 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_THERMOPHILIC], T0 + 30 * HOUR);
    ck_assert_int_eq(r.changes, 1);
    drum_free(d);
}
END_TEST

/* core 37 (delta 10: peak >= 8, never 40) until 312 h, then 31 (delta 4 <= 5):
 * held 72 h at 384 h = 16 d >= 14 d. */
START_TEST(meso_to_curing_never_hot)
{
    struct prof p = { 2, { st(0, 37, 37), st(312, 31, 31) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 400 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_CURING], T0 + 384 * HOUR);
    ck_assert_int_eq(r.first[DRUM_THERMOPHILIC], 0);
    ck_assert_int_eq(r.first[DRUM_STALLED], 0);
    ck_assert_int_eq(r.changes, 1);
    drum_free(d);
}
END_TEST

/* core 32: delta 5 (not < 3), peak 5 < 8: stalled at age 5 d = 120 h */
START_TEST(meso_to_stalled_low_peak)
{
    struct prof p = { 1, { st(0, 32, 32) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 130 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_STALLED], T0 + 120 * HOUR);
    drum_free(d);
}
END_TEST

/* core 28: delta 1 < 3 from hour 0, held 48 h at 48 h (within 10 d) */
START_TEST(meso_to_stalled_cold_start)
{
    struct prof p = { 1, { st(0, 28, 28) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 60 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_STALLED], T0 + 48 * HOUR);
    drum_free(d);
}
END_TEST

/* STALLED at 48 h; water at 50 h -> MESOPHILIC at 50 h; still cold, the
 * stall clock restarts: delta < 3 from hour 50, held 48 h -> STALLED at 98 h */
START_TEST(stalled_back_on_water)
{
    struct prof p = { 1, { st(0, 28, 28) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 50 * 60 - 5, &r);
    ck_assert_int_eq(phase_of(d), DRUM_STALLED);
    ck_assert_int_eq(drum_on_event(d, "water", "", NAN, T0 + 50 * HOUR), 1);
    ck_assert_int_eq(drum_advance(d, T0 + 50 * HOUR), 1);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MESOPHILIC);
    ck_assert_double_eq_tol(m.phase_age_d, 0, 1e-9);
    rec_init(&r);
    run(d, &p, 50 * 60, 110 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_STALLED], T0 + 98 * HOUR);
    drum_free(d);
}
END_TEST

/* STALLED at 48 h; from 72 h the core rises 5 °C/day. The 24 h mean
 * delta-T against the one a day before: at 96 h it is 2.5 °C higher (the
 * ramp's mean over 72..96 h), so not yet; the 3 °C/day mark comes about
 * 3 h later (mean of the last 24 h of a 5 °C/day ramp = 5 * (h - 84) / 24,
 * against ~0 a day before: > 3 when h > 98.4). */
START_TEST(stalled_back_on_rising_delta)
{
    struct drum *d = started(NULL, NAN);
    struct rec r;
    int64_t m;

    rec_init(&r);
    for (m = 0; m <= 110 * 60; m += 5) {
        double h = (double)m / 60.0;
        double c = h < 72 ? 28 : 28 + 5.0 * (h - 72) / 24.0;
        int64_t t = T0 + m * MIN;

        drum_on_reading(d, "temp_core_c", c, t, 0);
        drum_on_reading(d, "temp_mid_c", c, t, 0);
        drum_on_site_ambient(d, 27, t);
        note(d, t, &r);
    }
    ck_assert_int_eq(r.first[DRUM_STALLED], T0 + 48 * HOUR);
    ck_assert_int_gt(r.first[DRUM_MESOPHILIC], T0 + 96 * HOUR);
    ck_assert_int_le(r.first[DRUM_MESOPHILIC], T0 + 101 * HOUR);
    ck_assert_int_eq(phase_of(d), DRUM_MESOPHILIC);
    drum_free(d);
}
END_TEST

/* ---- THERMOPHILIC / COOLING ------------------------------------------- */

/* 45 until 72 h, then 35. THERMO at 6 h. 6 h mean < 40 first at hour 75
 * ((2*45 + 4*35)/6 = 38.3; hour 74 gives exactly 40), held 12 h -> 87 h;
 * the 24 h slope is negative. */
START_TEST(thermo_to_cooling)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 35, 35) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 100 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_THERMOPHILIC], T0 + 6 * HOUR);
    ck_assert_int_eq(r.first[DRUM_COOLING], T0 + 87 * HOUR);
    drum_free(d);
}
END_TEST

/* as above; a turn at 120 h and core 45 again: >= 40 from hour 120, 6 h
 * after the turn -> THERMOPHILIC again at 126 h. */
START_TEST(cooling_to_thermo_after_turn)
{
    struct prof p = { 3, { st(0, 45, 45), st(72, 35, 35), st(120, 45, 45) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 120 * 60 - 5, &r);
    ck_assert_int_eq(drum_on_event(d, "turn", "", NAN, T0 + 120 * HOUR), 1);
    rec_init(&r);
    run(d, &p, 120 * 60, 140 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_THERMOPHILIC], T0 + 126 * HOUR);
    drum_get(d, &m);
    ck_assert_int_eq(m.turns, 1);
    ck_assert_int_eq(m.last_turn_ns, T0 + 120 * HOUR);
    drum_free(d);
}
END_TEST

/* the same heat without a turn does not leave COOLING */
START_TEST(cooling_reheat_without_turn_stays)
{
    struct prof p = { 3, { st(0, 45, 45), st(72, 35, 35), st(120, 45, 45) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 140 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_COOLING], T0 + 87 * HOUR);
    ck_assert_int_eq(phase_of(d), DRUM_COOLING);
    drum_free(d);
}
END_TEST

/* 45 until 72 h then 30 (delta 3). COOLING: 6 h mean < 40 from hour 74
 * ((3*45 + 3*30)/6 = 37.5), +12 h = 86 h. CURING: 24 h mean delta <= 5 needs
 * (1080 - 15k)/24 <= 32, k >= 21 cold hours -> hour 92, +48 h = 140 h. */
START_TEST(cooling_to_curing)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 30, 30) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 150 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_COOLING], T0 + 86 * HOUR);
    ck_assert_int_eq(r.first[DRUM_CURING], T0 + 140 * HOUR);
    drum_free(d);
}
END_TEST

/* CURING at 140 h as above; core 37 (delta 10 > 8) from 168 h, held 12 h ->
 * COOLING at 180 h. */
START_TEST(curing_to_cooling_reactivation)
{
    struct prof p = { 3, { st(0, 45, 45), st(72, 30, 30), st(168, 37, 37) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;

    rec_init(&r);
    run(d, &p, 0, 170 * 60, &r);
    ck_assert_int_eq(phase_of(d), DRUM_CURING);
    rec_init(&r);
    run(d, &p, 170 * 60 + 5, 200 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_COOLING], T0 + 180 * HOUR);
    drum_free(d);
}
END_TEST

/* ---- CURING -> MATURE -> HARVESTED ------------------------------------ */

/* 45 until 72 h then 28 (delta 1). 24 h mean delta <= 2 needs
 * (1080 - 17k)/24 <= 29, k >= 23 -> from hour 94; 7 d later is 262 h, but
 * the batch is only 35 d old at 840 h: MATURE at 840 h. */
START_TEST(curing_to_mature_at_min_age)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 28, 28) } };
    struct drum *d = started(NULL, 120);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 800 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_CURING], T0 + 138 * HOUR);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_CURING);
    ck_assert_str_eq(m.est_method, "min_age");
    ck_assert_double_eq_tol(m.est_days_to_mature, 35.0 - 800.0 / 24.0, 1e-9);
    ck_assert_double_eq_tol(m.days_at_ambient, (800.0 - 94.0) / 24.0, 1e-9);
    ck_assert_double_eq_tol(m.score_parts[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(m.score_parts[2], (800.0 / 24.0) / 35.0, 1e-9);
    ck_assert(isnan(m.score_parts[1]));           /* no turn */
    ck_assert(isnan(m.score_parts[3]));           /* no moisture */
    run(d, &p, 800 * 60 + 5, 845 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_MATURE], T0 + 840 * HOUR);
    drum_get(d, &m);
    ck_assert_int_eq(m.mature_at_ns, T0 + 840 * HOUR);
    ck_assert_str_eq(m.est_method, "mature");
    ck_assert_double_eq(m.est_days_to_mature, 0);
    drum_free(d);
}
END_TEST

/* the same, with product moisture 55 % until 900 h and 45 % after: the
 * hour closed at 900 h sees 45 % -> MATURE at 900 h, not 840 h. */
START_TEST(moisture_blocks_maturity)
{
    struct prof p = { 3, { st(0, 45, 45), st(72, 28, 28), st(900, 28, 28) } };
    struct drum *d;
    struct rec r;

    p.s[0].moist = 55;
    p.s[1].moist = 55;
    p.s[2].moist = 45;
    d = started(NULL, NAN);
    rec_init(&r);
    run(d, &p, 0, 910 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_MATURE], T0 + 900 * HOUR);
    drum_free(d);
}
END_TEST

/* MATURE at 840 h; harvest 48 kg of 120 kg at 850 h: yield 40 %, cycle
 * 850/24 d, peak 45, never >= 55: NOT_DEMONSTRATED. EMPTY 24 h later, and
 * readings then do not start a batch by themselves. */
START_TEST(mature_to_harvested)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 28, 28) } };
    struct drum *d = started(NULL, 120);
    struct rec r;
    struct drum_batch b;

    rec_init(&r);
    run(d, &p, 0, 850 * 60 - 5, &r);
    ck_assert_int_eq(phase_of(d), DRUM_MATURE);
    ck_assert_int_eq(drum_take_batch(d, &b), 0);
    ck_assert_int_eq(drum_on_event(d, "harvest", "", 48, T0 + 850 * HOUR), 1);
    ck_assert_int_eq(drum_advance(d, T0 + 850 * HOUR), 1);
    ck_assert_int_eq(phase_of(d), DRUM_HARVESTED);
    ck_assert_int_eq(drum_take_batch(d, &b), 1);
    ck_assert_str_eq(b.batch, "D1-2026-11");
    ck_assert_int_eq(b.start_ns, T0);
    ck_assert_int_eq(b.end_ns, T0 + 850 * HOUR);
    ck_assert_double_eq(b.input_mass_kg, 120);
    ck_assert_double_eq(b.output_mass_kg, 48);
    ck_assert_double_eq_tol(b.yield_pct, 40.0, 1e-9);
    ck_assert_double_eq_tol(b.cycle_days, 850.0 / 24.0, 1e-9);
    ck_assert_double_eq(b.peak_t_core_c, 45);
    ck_assert_int_eq(b.sanit, SANIT_NOT_DEMONSTRATED);
    ck_assert_int_eq(drum_take_batch(d, &b), 0);
    rec_init(&r);
    run(d, &p, 850 * 60 + 5, 900 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_EMPTY], T0 + 874 * HOUR);
    ck_assert_int_eq(r.changes, 1);
    ck_assert_int_eq(phase_of(d), DRUM_EMPTY);
    drum_free(d);
}
END_TEST

/* a turn in CURING at 830 h with no re-heat: maturity waits for the end
 * of the re-heat window (turn + 72 h = 902 h) instead of 840 h */
START_TEST(turn_in_curing_waits_for_reheat_window)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 28, 28) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 830 * 60 - 5, &r);
    ck_assert_int_eq(drum_on_event(d, "turn", "", NAN, T0 + 830 * HOUR), 1);
    run(d, &p, 830 * 60, 910 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_MATURE], T0 + 902 * HOUR);
    drum_get(d, &m);
    ck_assert_double_eq_tol(m.reheat_after_last_turn_c, 0, 1e-9);   /* 1 before, 1 after */
    ck_assert_double_eq_tol(m.score_parts[1], 1, 1e-9);
    drum_free(d);
}
END_TEST

/* the same turn with core 31 from 836 h to 860 h: delta 4 in the window,
 * 1 before the turn: re-heat 3 >= 2, no MATURE */
START_TEST(reheat_after_turn_blocks_maturity)
{
    struct prof p = { 4, { st(0, 45, 45), st(72, 28, 28), st(836, 31, 31), st(860, 28, 28) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 830 * 60 - 5, &r);
    ck_assert_int_eq(drum_on_event(d, "turn", "", NAN, T0 + 830 * HOUR), 1);
    run(d, &p, 830 * 60, 1100 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_MATURE], 0);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_CURING);
    ck_assert_double_eq_tol(m.reheat_after_last_turn_c, 3, 1e-6);
    ck_assert_double_eq_tol(m.score_parts[1], 1 - 3.0 / 5.0, 1e-6);
    drum_free(d);
}
END_TEST

/* MATURE at 840 h; the load cell drops from 100 kg to 40 kg (> 50 %)
 * within the hour: HARVESTED with output 40 kg */
START_TEST(mass_drop_harvests)
{
    struct prof p = { 3, { st(0, 45, 45), st(72, 28, 28), st(845, 28, 28) } };
    struct drum *d = started(NULL, 100);
    struct rec r;
    struct drum_batch b;

    p.s[0].mass = 100;
    p.s[1].mass = 100;
    p.s[2].mass = 40;
    rec_init(&r);
    run(d, &p, 0, 850 * 60, &r);
    ck_assert_int_eq(r.first[DRUM_MATURE], T0 + 840 * HOUR);
    ck_assert_int_eq(r.first[DRUM_HARVESTED], T0 + 845 * HOUR);
    ck_assert_int_eq(drum_take_batch(d, &b), 1);
    ck_assert_double_eq(b.output_mass_kg, 40);
    ck_assert_double_eq_tol(b.yield_pct, 40, 1e-9);
    drum_free(d);
}
END_TEST

/* a mass drop before MATURE is not a harvest; mass loss is reported */
START_TEST(mass_loss_before_mature)
{
    struct prof p = { 2, { st(0, 45, 45), st(10, 45, 45) } };
    struct drum *d = started(NULL, 120);
    struct rec r;
    struct drum_metrics m;

    p.s[0].mass = 120;
    p.s[1].mass = 30;
    rec_init(&r);
    run(d, &p, 0, 12 * 60, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_THERMOPHILIC);
    ck_assert_double_eq_tol(m.mass_loss_pct, 75, 1e-9);
    ck_assert_double_eq_tol(m.score_parts[4], 1, 1e-9);
    drum_free(d);
}
END_TEST

/* windrow: 15 d at 60/56 with 5 turns -> PASS at 360 h; 4 turns -> no */
START_TEST(windrow_turns_in_drum)
{
    struct prof p = { 1, { st(0, 60, 56) } };
    struct drum_params w;
    struct drum *five, *four;
    struct rec r;
    struct drum_metrics m;
    int i;

    drum_params_defaults(&w);
    w.sanitation_standard = SANIT_US_PFRP_WINDROW;
    five = started(&w, NAN);
    four = started(&w, NAN);
    rec_init(&r);
    for (i = 0; i < 5; i++) {
        run(five, &p, i * 60 * 60, (i + 1) * 60 * 60 - 5, &r);
        run(four, &p, i * 60 * 60, (i + 1) * 60 * 60 - 5, &r);
        drum_on_event(five, "turn", "", NAN, T0 + (i + 1) * HOUR - 1);
        if (i < 4)
            drum_on_event(four, "turn", "", NAN, T0 + (i + 1) * HOUR - 1);
    }
    run(five, &p, 5 * 60 * 60, 360 * 60 - 5, &r);
    run(four, &p, 5 * 60 * 60, 400 * 60, &r);
    drum_get(five, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    run(five, &p, 360 * 60, 360 * 60, &r);
    drum_get(five, &m);
    ck_assert_int_eq(m.sanit, SANIT_PASS);
    ck_assert_int_eq(m.turns, 5);
    drum_get(four, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 400, 1e-9);
    drum_free(five);
    drum_free(four);
}
END_TEST

/* ambient: site probe, else the drum's temp_ambient_c, else groundwater
 * (and drum_set_params changes the groundwater value) */
START_TEST(ambient_fallback_order)
{
    struct drum *d = started(NULL, NAN);
    struct drum_params p;
    struct drum_metrics m;

    drum_on_reading(d, "temp_core_c", 35, T0 + MIN, 0);
    drum_advance(d, T0 + MIN);
    drum_get(d, &m);
    ck_assert_double_eq(m.t_amb_c, 27);
    drum_on_reading(d, "temp_ambient_c", 29.5, T0 + 2 * MIN, 0);
    drum_advance(d, T0 + 2 * MIN);
    drum_get(d, &m);
    ck_assert_double_eq(m.t_amb_c, 29.5);
    drum_on_site_ambient(d, 26.25, T0 + 3 * MIN);
    drum_advance(d, T0 + 3 * MIN);
    drum_get(d, &m);
    ck_assert_double_eq(m.t_amb_c, 26.25);
    /* both go stale after amb_stale_s (3 h) */
    drum_on_reading(d, "temp_core_c", 35, T0 + 4 * HOUR, 0);
    drum_params_defaults(&p);
    p.groundwater_temp_c = 28;
    drum_set_params(d, &p);
    drum_advance(d, T0 + 4 * HOUR);
    drum_get(d, &m);
    ck_assert_double_eq(m.t_amb_c, 28);
    /* a reading older than the last of its field is ignored */
    drum_on_reading(d, "temp_core_c", 80, T0 + 3 * HOUR, 0);
    drum_advance(d, T0 + 4 * HOUR);
    drum_get(d, &m);
    ck_assert_double_eq(m.t_core_c, 35);
    drum_free(d);
}
END_TEST

/* negative numbers (a cold top probe, a negative timestamp) survive a
 * save/load round trip */
START_TEST(save_load_negative_values)
{
    struct drum *d = drum_new("D1", NULL), *e = drum_new("D1", NULL);
    struct drum_metrics m;
    char a[DRUM_STATE_MAX], b[DRUM_STATE_MAX];
    int64_t t0 = -5 * HOUR;

    drum_on_event(d, "batch_start", "neg", 50, t0);
    drum_on_reading(d, "temp_core_c", 3.5, t0 + MIN, 0);
    drum_on_reading(d, "temp_top_c", -1.5, t0 + MIN, 0);
    drum_on_site_ambient(d, -2.25, t0 + MIN);
    drum_advance(d, t0 + MIN);
    ck_assert_int_gt(drum_save(d, a, sizeof(a)), 0);
    ck_assert_int_eq(drum_load(e, a), HUB_OK);
    ck_assert_int_gt(drum_save(e, b, sizeof(b)), 0);
    ck_assert_str_eq(a, b);
    drum_get(e, &m);
    ck_assert_double_eq(m.t_min_probe_c, -1.5);
    ck_assert_double_eq(m.t_amb_c, -2.25);
    ck_assert_int_eq(m.batch_start_ns, t0);
    drum_free(d);
    drum_free(e);
}
END_TEST

/* ---- flags ------------------------------------------------------------ */

static unsigned flags_after(struct step s, double hours, enum drum_phase *ph)
{
    struct prof p = { 1, { s } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, (int64_t)(hours * 60), &r);
    drum_get(d, &m);
    if (ph)
        *ph = m.phase;
    drum_free(d);
    return m.flags;
}

START_TEST(flag_too_dry)
{
    struct step s = st(0, 30, 30);
    enum drum_phase ph;

    s.moist = 35;
    ck_assert_uint_eq(flags_after(s, 2, &ph), DRUM_F_TOO_DRY);
    ck_assert_int_eq(ph, DRUM_MESOPHILIC);
    s.moist = 40;
    ck_assert_uint_eq(flags_after(s, 2, NULL), 0);
}
END_TEST

START_TEST(flag_too_dry_not_in_curing)
{
    struct prof p = { 2, { st(0, 45, 45), st(72, 30, 30) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    p.s[1].moist = 35;
    rec_init(&r);
    run(d, &p, 0, 150 * 60, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_CURING);
    ck_assert_uint_eq(m.flags, 0);
    ck_assert_double_eq(m.moisture_pct, 35);
    drum_free(d);
}
END_TEST

START_TEST(flag_too_wet)
{
    struct step s = st(0, 30, 30);

    s.moist = 70;
    ck_assert_uint_eq(flags_after(s, 2, NULL), DRUM_F_TOO_WET);
    s.moist = 65;
    ck_assert_uint_eq(flags_after(s, 2, NULL), 0);
}
END_TEST

START_TEST(flag_anaerobic)
{
    struct step s = st(0, 30, 30);

    s.o2 = 3;
    ck_assert_uint_eq(flags_after(s, 2, NULL), DRUM_F_ANAEROBIC);
    s.o2 = 10;
    ck_assert_uint_eq(flags_after(s, 2, NULL), 0);
}
END_TEST

START_TEST(flag_overheat)
{
    ck_assert_uint_eq(flags_after(st(0, 66, 50), 2, NULL), DRUM_F_OVERHEAT);
    ck_assert_uint_eq(flags_after(st(0, 64.9, 50), 2, NULL), 0);
}
END_TEST

/* mid/top/bottom suspect from 1 h: only the core is valid from 1 h; the
 * flag needs more than 1 h: not at 2:00, set at 2:05; clears when they
 * recover. */
START_TEST(flag_sensor_degraded)
{
    struct prof p = { 3, { st(0, 30, 30), st(1, 30, 30), st(3, 30, 30) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    p.s[1].sus_others = 1;
    rec_init(&r);
    run(d, &p, 0, 120, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.valid_probes, 1);
    ck_assert_uint_eq(m.flags, 0);
    run(d, &p, 125, 125, &r);
    drum_get(d, &m);
    ck_assert_uint_eq(m.flags, DRUM_F_SENSOR_DEGRADED);
    run(d, &p, 130, 185, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.valid_probes, 4);
    ck_assert_uint_eq(m.flags, 0);
    drum_free(d);
}
END_TEST

/* a suspect hot core is left out (core falls back to max(mid, bottom)) and
 * cannot make the drum thermophilic */
START_TEST(suspect_core_cannot_drive)
{
    struct step s = st(0, 50, 30);
    struct prof p = { 1, { s } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    p.s[0].sus_core = 1;
    p.s[0].top = 29;
    rec_init(&r);
    run(d, &p, 0, 24 * 60, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MESOPHILIC);
    ck_assert_double_eq(m.t_core_c, 30);
    ck_assert_double_eq(m.t_max_probe_c, 30);
    ck_assert_double_eq(m.t_min_probe_c, 29);
    ck_assert_double_eq(m.t_strat_c, 1);
    ck_assert_int_eq(m.valid_probes, 3);
    ck_assert_double_eq(m.hours_ge_40, 0);
    ck_assert_int_eq(m.sanit, SANIT_UNKNOWN);   /* no valid core: never known */
    drum_free(d);
}
END_TEST

/* ---- sanitisation inside the drum ------------------------------------ */

/* core 60, others 56, every 5 min from 0: run 71 h 55 min at 71:55, 72 h at
 * 72:00 -> PASS exactly then. */
START_TEST(pfrp_invessel_pass_at_72h)
{
    struct prof p = { 1, { st(0, 60, 56) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 72 * 60 - 5, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 71.0 + 55.0 / 60.0, 1e-9);
    run(d, &p, 72 * 60, 72 * 60, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.sanit, SANIT_PASS);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 72, 1e-9);
    ck_assert_double_eq_tol(m.run_ge_55_current_h, 72, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_55, 72, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_40, 72, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_65, 0, 1e-9);
    /* degree-days: (60 - 27) * 3 d = 99; over 20: 40 * 3 = 120 */
    ck_assert_double_eq_tol(m.degree_days, 99, 1e-6);
    ck_assert_double_eq_tol(m.degree_days_20, 120, 1e-6);
    /* lethality: 3 d / D(60); D(60) = 131.7e6 / 10^8.4 d */
    ck_assert_double_eq_tol(m.lethality_ratio, 3.0 / (131.7e6 / pow(10, 8.4)), 1e-6);
    drum_free(d);
}
END_TEST

/* the top probe at 54 decides: the core has 72 h >= 55, the compliance
 * probe none */
START_TEST(coldest_probe_decides)
{
    struct step s = st(0, 60, 56);
    struct prof p = { 1, { s } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    p.s[0].top = 54;
    rec_init(&r);
    run(d, &p, 0, 80 * 60, &r);
    drum_get(d, &m);
    ck_assert_double_eq_tol(m.hours_ge_55, 80, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_55_comp, 0, 1e-9);
    ck_assert_double_eq(m.run_ge_55_longest_h, 0);
    ck_assert_double_eq(m.t_min_probe_c, 54);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    drum_free(d);
}
END_TEST

/* samples 0..24 h, a 20 min gap (next at 24:20), on to 30 h: one run of
 * 30 h, all credited. Then nothing until 32 h (2 h gap), on to 40 h: run
 * broken (longest 30, current 8); the 2 h are not credited: 38 h. */
START_TEST(gap_rule_in_drum)
{
    struct prof p = { 1, { st(0, 60, 56) } };
    struct drum *d = started(NULL, NAN);
    struct rec r;
    struct drum_metrics m;

    rec_init(&r);
    run(d, &p, 0, 24 * 60, &r);
    run(d, &p, 24 * 60 + 20, 30 * 60, &r);
    drum_get(d, &m);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 30, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_55, 30, 1e-9);
    run(d, &p, 32 * 60, 40 * 60, &r);
    drum_get(d, &m);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 30, 1e-9);
    ck_assert_double_eq_tol(m.run_ge_55_current_h, 8, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_55, 38, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_55_comp, 38, 1e-9);
    drum_free(d);
}
END_TEST

/* 60/56 for 0..40 h, 50 everywhere 40:05..50 h, 60/56 50:05..90:05: the
 * intervals with both ends >= 55 add up to 40 + 40 = 80 h (cumulative, FR
 * PASS); the longest run is 40 h (US in-vessel not demonstrated). */
START_TEST(fr_cumulative_vs_us_consecutive)
{
    struct prof p = { 3, { st(0, 60, 56), st(40.05, 50, 50), st(50.05, 60, 56) } };
    struct drum_params fr;
    struct drum *us, *f;
    struct rec r;
    struct drum_metrics m;

    drum_params_defaults(&fr);
    fr.sanitation_standard = SANIT_FR_72H_CUMULATIVE;
    us = started(NULL, NAN);
    f = started(&fr, NAN);
    rec_init(&r);
    run(us, &p, 0, 90 * 60 + 5, &r);
    run(f, &p, 0, 90 * 60 + 5, &r);
    drum_get(f, &m);
    ck_assert_double_eq_tol(m.hours_ge_55_comp, 80, 1e-9);
    ck_assert_double_eq_tol(m.run_ge_55_longest_h, 40, 1e-9);
    ck_assert_int_eq(m.sanit, SANIT_PASS);
    ck_assert_int_eq(m.sanit_standard, SANIT_FR_72H_CUMULATIVE);
    drum_get(us, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    drum_free(us);
    drum_free(f);
}
END_TEST

/* PAS 100: 66/65.5 at 55 % moisture: 7 d = 168 h continuous -> PASS */
START_TEST(pas100_in_drum)
{
    struct step s = st(0, 66, 65.5);
    struct prof p = { 1, { s } };
    struct drum_params pp;
    struct drum *d;
    struct rec r;
    struct drum_metrics m;

    drum_params_defaults(&pp);
    pp.sanitation_standard = SANIT_UK_PAS100;
    p.s[0].moist = 55;
    d = started(&pp, NAN);
    rec_init(&r);
    run(d, &p, 0, 168 * 60 - 5, &r);
    drum_get(d, &m);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    run(d, &p, 168 * 60, 168 * 60, &r);
    drum_get(d, &m);
    ck_assert_double_eq_tol(m.run_ge_65_wet_longest_h, 168, 1e-9);
    ck_assert_int_eq(m.sanit, SANIT_PASS);
    drum_free(d);
}
END_TEST

/* ---- restart ---------------------------------------------------------- */

/* 60/56 for 0..50 h (50 h >= 55), 45 until 240 h, then 28; a turn at 100 h.
 * Save at day 20 (480 h, CURING), load into a fresh drum, continue to 860 h.
 * The restarted drum ends exactly like one that never stopped: MATURE at
 * 840 h (min age), 50 h >= 55, 239 h 55 min >= 40, one turn. */
START_TEST(restart_mid_batch)
{
    struct prof p = { 3, { st(0, 60, 56), st(50.05, 45, 45), st(240, 28, 28) } };
    struct drum *ref = started(NULL, 120), *a = started(NULL, 120), *b;
    struct rec r1, r2;
    struct drum_metrics m, mr;
    char buf[DRUM_STATE_MAX], buf2[DRUM_STATE_MAX];
    int n;

    rec_init(&r1);
    rec_init(&r2);
    run(ref, &p, 0, 100 * 60 - 5, &r1);
    run(a, &p, 0, 100 * 60 - 5, &r2);
    drum_on_event(ref, "turn", "", NAN, T0 + 100 * HOUR);
    drum_on_event(a, "turn", "", NAN, T0 + 100 * HOUR);
    run(ref, &p, 100 * 60, 480 * 60, &r1);
    run(a, &p, 100 * 60, 480 * 60, &r2);
    drum_get(a, &m);
    ck_assert_double_eq_tol(m.hours_ge_55, 50, 1e-9);
    ck_assert_int_eq(m.phase, DRUM_CURING);
    n = drum_save(a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, DRUM_STATE_MAX);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    ck_assert_ptr_null(strchr(buf, '\n'));
    drum_free(a);

    b = drum_new("D1", NULL);
    ck_assert_int_eq(drum_load(b, buf), HUB_OK);
    ck_assert_int_eq(drum_save(b, buf2, sizeof(buf2)), n);
    ck_assert_str_eq(buf, buf2);
    drum_get(b, &m);
    ck_assert_int_eq(m.phase, DRUM_CURING);
    ck_assert_double_eq_tol(m.hours_ge_55, 50, 1e-9);
    ck_assert_int_eq(m.turns, 1);
    ck_assert_str_eq(m.batch, "D1-2026-11");
    ck_assert_int_eq(drum_advance(b, T0 + 480 * HOUR), 0);   /* no phase change */
    run(ref, &p, 480 * 60 + 5, 860 * 60, &r1);
    run(b, &p, 480 * 60 + 5, 860 * 60, &r2);
    drum_get(ref, &mr);
    drum_get(b, &m);
    ck_assert_int_eq(m.phase, DRUM_MATURE);
    ck_assert_int_eq(m.mature_at_ns, T0 + 840 * HOUR);
    ck_assert_int_eq(mr.mature_at_ns, T0 + 840 * HOUR);
    ck_assert_double_eq_tol(m.hours_ge_55, 50, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_40, 239.0 + 55.0 / 60.0, 1e-9);
    ck_assert_double_eq_tol(m.hours_ge_40, mr.hours_ge_40, 1e-9);
    ck_assert_double_eq_tol(m.degree_days, mr.degree_days, 1e-6);
    ck_assert_double_eq_tol(m.days_at_ambient, mr.days_at_ambient, 1e-9);
    ck_assert_int_eq(m.turns, 1);
    ck_assert_int_eq(m.sanit, mr.sanit);
    ck_assert_double_eq(m.peak_t_core_c, 60);
    drum_free(ref);
    drum_free(b);
}
END_TEST

START_TEST(save_small_buffer_and_odd_batch_name)
{
    struct drum *d = drum_new("D1", NULL), *e = drum_new("D1", NULL);
    struct drum_metrics m;
    char buf[DRUM_STATE_MAX], tiny[16];

    drum_on_event(d, "batch_start", "Pak Budi 50% daun", 80, T0);
    drum_on_reading(d, "temp_core_c", 33, T0 + MIN, 0);
    drum_advance(d, T0 + MIN);
    ck_assert_int_eq(drum_save(d, tiny, sizeof(tiny)), HUB_ENOMEM);
    ck_assert_str_eq(tiny, "");
    ck_assert_int_gt(drum_save(d, buf, sizeof(buf)), 0);
    ck_assert_ptr_null(strchr(buf, '\n'));
    ck_assert_int_eq(drum_load(e, buf), HUB_OK);
    drum_get(e, &m);
    ck_assert_str_eq(m.batch, "Pak Budi 50% daun");
    ck_assert_double_eq(m.t_core_c, 33);
    drum_free(d);
    drum_free(e);
}
END_TEST

/* every prefix of a good line, garbage and mutations: EINVAL (or OK for a
 * mutation that stays well-formed), never a crash; on EINVAL nothing moves */
START_TEST(load_rejects_truncated_and_garbage)
{
    static const char *const junk[] = {
        "", "kd1", "kd2 ph=0", "hello world", "kd1 ph=99", "kd1 ph=-1 ev=0",
        "kd1 ph=0 ev=2", "\x01\x02\xff", "kd1 ph=0 ev=0 ac=0 tu=99999999999999999999",
    };
    struct prof p = { 2, { st(0, 45, 45), st(72, 30, 30) } };
    struct drum *d = started(NULL, 100);
    struct rec r;
    char good[DRUM_STATE_MAX], before[DRUM_STATE_MAX], after[DRUM_STATE_MAX];
    char work[DRUM_STATE_MAX];
    size_t n, i;
    unsigned seed = 12345;

    rec_init(&r);
    run(d, &p, 0, 100 * 60, &r);
    ck_assert_int_gt(drum_save(d, good, sizeof(good)), 0);
    ck_assert_int_eq(drum_on_event(d, "turn", "", NAN, T0 + 101 * HOUR), 1);
    ck_assert_int_gt(drum_save(d, before, sizeof(before)), 0);
    n = strlen(good);
    for (i = 0; i < n; i++) {
        memcpy(work, good, i);
        work[i] = '\0';
        ck_assert_int_eq(drum_load(d, work), HUB_EINVAL);
    }
    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        ck_assert_int_eq(drum_load(d, junk[i]), HUB_EINVAL);
    memcpy(work, good, n + 1);
    strcat(work, " x");
    ck_assert_int_eq(drum_load(d, work), HUB_EINVAL);
    ck_assert_int_eq(drum_save(d, after, sizeof(after)), (int)strlen(before));
    ck_assert_str_eq(before, after);
    for (i = 0; i < 3000; i++) {
        int rc;

        memcpy(work, good, n + 1);
        seed = seed * 1103515245u + 12345u;
        work[(seed >> 8) % n] = (char)(32 + (seed >> 20) % 95);
        rc = drum_load(d, work);
        ck_assert(rc == HUB_OK || rc == HUB_EINVAL);
        if (rc == HUB_EINVAL) {
            ck_assert_int_gt(drum_save(d, after, sizeof(after)), 0);
            ck_assert_str_eq(before, after);
        } else {
            ck_assert_int_eq(drum_load(d, before), HUB_OK);
        }
    }
    ck_assert_int_eq(drum_load(d, good), HUB_OK);
    drum_free(d);
}
END_TEST

/* ---- the full normal batch (§7.2 cheap model) ------------------------- */

/* delta_T(t) = 18 (t/4)^2 exp(2 (1 - t/4)), t in days; core = 27 + delta_T,
 * bottom = 27 + 0.8 delta_T, top = 27 + 0.55 delta_T; min_age_d = 14 so the
 * temperature criteria decide. By hand:
 *   THERMO:  delta_T >= 13 from t = 2.12 d; + 6 h             -> 2.37 d (57 h)
 *   COOLING: delta_T < 13 after 6.7 d; 6 h mean < 40 from ~6.83 d; + 12 h
 *                                                              -> 7.33 d (176 h)
 *   CURING:  24 h mean delta_T <= 5 from ~10.87 d; + 48 h      -> 12.87 d (309 h)
 *   MATURE:  24 h mean delta_T <= 2 from ~13.66 d; + 7 d       -> 20.66 d (496 h)
 * (delta_T = 5 at t = 10.37 d and = 2 at t = 13.16 d; the 24 h mean lags by
 * about half a day.) Each within 3 hours. Peak 45 °C at day 4. */
static double gamma_dt(double t_d)
{
    return 18.0 * (t_d / 4.0) * (t_d / 4.0) * exp(2.0 * (1.0 - t_d / 4.0));
}

START_TEST(normal_batch_reaches_mature)
{
    struct drum_params pp;
    struct drum *d;
    struct rec r;
    struct drum_metrics m;
    int64_t mm;

    drum_params_defaults(&pp);
    pp.min_age_d = 14;
    d = started(&pp, 150);
    rec_init(&r);
    for (mm = 0; mm <= 22 * 24 * 60; mm += 5) {
        int64_t t = T0 + mm * MIN;
        double dt = gamma_dt((double)mm / 1440.0);

        drum_on_reading(d, "temp_core_c", 27 + dt, t, 0);
        drum_on_reading(d, "temp_bottom_c", 27 + 0.8 * dt, t, 0);
        drum_on_reading(d, "temp_top_c", 27 + 0.55 * dt, t, 0);
        drum_on_reading(d, "moisture_pct", 58 - 0.6 * (double)mm / 1440.0, t, 0);
        drum_on_site_ambient(d, 27, t);
        note(d, t, &r);
        if (mm == 11 * 24 * 60) {
            drum_get(d, &m);
            ck_assert_int_eq(m.phase, DRUM_COOLING);
            ck_assert_str_eq(m.est_method, "delta_t_trend");
            ck_assert_double_ge(m.est_days_to_mature, 5);
            ck_assert_double_le(m.est_days_to_mature, 14);
        }
    }
    ck_assert_int_ge(r.first[DRUM_THERMOPHILIC], T0 + 54 * HOUR);
    ck_assert_int_le(r.first[DRUM_THERMOPHILIC], T0 + 60 * HOUR);
    ck_assert_int_ge(r.first[DRUM_COOLING], T0 + 173 * HOUR);
    ck_assert_int_le(r.first[DRUM_COOLING], T0 + 179 * HOUR);
    ck_assert_int_ge(r.first[DRUM_CURING], T0 + 306 * HOUR);
    ck_assert_int_le(r.first[DRUM_CURING], T0 + 312 * HOUR);
    ck_assert_int_ge(r.first[DRUM_MATURE], T0 + 493 * HOUR);
    ck_assert_int_le(r.first[DRUM_MATURE], T0 + 499 * HOUR);
    ck_assert_int_eq(r.first[DRUM_STALLED], 0);
    ck_assert_int_eq(r.changes, 4);
    drum_get(d, &m);
    ck_assert_int_eq(m.phase, DRUM_MATURE);
    ck_assert_double_eq_tol(m.peak_t_core_c, 45, 1e-9);
    ck_assert_double_eq_tol(m.time_to_peak_h, 96, 1e-9);
    ck_assert_int_eq(m.sanit, SANIT_NOT_DEMONSTRATED);
    ck_assert_double_eq(m.hours_ge_55, 0);
    ck_assert_double_le(m.maturity_score, 1.0);
    ck_assert_double_ge(m.maturity_score, 0.8);
    drum_free(d);
}
END_TEST

static Suite *drum_suite(void)
{
    Suite *s = suite_create("drum");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, phase_names);
    tcase_add_test(tc, defaults_match_the_doc);
    tcase_add_test(tc, params_check);
    tcase_add_test(tc, sanit_unknown_when_probes_missing);
    tcase_add_test(tc, auto_start_on_first_reading);
    tcase_add_test(tc, fill_event_then_batch_start);
    tcase_add_test(tc, mass_fill_and_settle);
    tcase_add_test(tc, meso_to_thermo);
    tcase_add_test(tc, meso_to_curing_never_hot);
    tcase_add_test(tc, meso_to_stalled_low_peak);
    tcase_add_test(tc, meso_to_stalled_cold_start);
    tcase_add_test(tc, stalled_back_on_water);
    tcase_add_test(tc, stalled_back_on_rising_delta);
    tcase_add_test(tc, thermo_to_cooling);
    tcase_add_test(tc, cooling_to_thermo_after_turn);
    tcase_add_test(tc, cooling_reheat_without_turn_stays);
    tcase_add_test(tc, cooling_to_curing);
    tcase_add_test(tc, curing_to_cooling_reactivation);
    tcase_add_test(tc, curing_to_mature_at_min_age);
    tcase_add_test(tc, moisture_blocks_maturity);
    tcase_add_test(tc, mature_to_harvested);
    tcase_add_test(tc, turn_in_curing_waits_for_reheat_window);
    tcase_add_test(tc, reheat_after_turn_blocks_maturity);
    tcase_add_test(tc, mass_drop_harvests);
    tcase_add_test(tc, mass_loss_before_mature);
    tcase_add_test(tc, windrow_turns_in_drum);
    tcase_add_test(tc, ambient_fallback_order);
    tcase_add_test(tc, save_load_negative_values);
    tcase_add_test(tc, flag_too_dry);
    tcase_add_test(tc, flag_too_dry_not_in_curing);
    tcase_add_test(tc, flag_too_wet);
    tcase_add_test(tc, flag_anaerobic);
    tcase_add_test(tc, flag_overheat);
    tcase_add_test(tc, flag_sensor_degraded);
    tcase_add_test(tc, suspect_core_cannot_drive);
    tcase_add_test(tc, pfrp_invessel_pass_at_72h);
    tcase_add_test(tc, coldest_probe_decides);
    tcase_add_test(tc, gap_rule_in_drum);
    tcase_add_test(tc, fr_cumulative_vs_us_consecutive);
    tcase_add_test(tc, pas100_in_drum);
    tcase_add_test(tc, restart_mid_batch);
    tcase_add_test(tc, save_small_buffer_and_odd_batch_name);
    tcase_add_test(tc, load_rejects_truncated_and_garbage);
    tcase_add_test(tc, normal_batch_reaches_mature);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(drum_suite)
