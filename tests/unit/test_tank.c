/* SPDX-License-Identifier: MIT */
/* test_tank.c - the tank module: litres for each geometry, distance ->
 * level, the fermentation machine one transition at a time, fill/draw step
 * detection on noisy traces with ripple and outliers, evaporation drift,
 * batches, operator events, save/load and tank_load on garbage.
 *
 * Hand-computed constants (domain-compost.md 7.3 default tank, vertical
 * cylinder D 58 cm, 85 cm usable):
 *   K   = pi * 29^2 / 1000        = 2.6420794 L per cm of level
 *   cap = K * 85                  = 224.5768 L
 *   70 cm                         = 184.9456 L
 *   2 cm                          =   5.2842 L
 * Horizontal cylinder D 60 cm, L 100 cm (r = 30):
 *   h = 15: (900 acos(0.5) - 15 sqrt(675)) * 0.1 = 55.2766 L
 *   h = 30: pi * 900 / 2 * 0.1                    = 141.3717 L
 *   h = 60: pi * 900 * 0.1                        = 282.7433 L */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "hub_err.h"
#include "tank.h"

#define SEC  1000000000LL
#define MINU (60 * SEC)
#define HOUR (60 * MINU)
#define DAY  (24 * HOUR)
#define T0   ((int64_t)1764288000 * SEC)  /* 2025-11-28 00:00:00 UTC */
#define K    2.6420794                    /* litres per cm, default tank */
#define CAP  224.5768

/* ---- a deterministic noise source and feeding helpers ------------------ */

static uint32_t rng_state;

static double noise(double amp)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return ((double)(rng_state >> 8) / 16777216.0 * 2.0 - 1.0) * amp;
}

static double g_noise;  /* level noise amplitude, cm */

/* Feed a constant level (NaN = none) every minute, pH and EC every 5 min
 * (NaN = none), advancing the tank each minute, over [from, to). */
static int64_t run(struct tank *t, int64_t from, int64_t to, double lvl,
                   double ph, double ec)
{
    int64_t ts;

    for (ts = from; ts < to; ts += MINU) {
        if (!isnan(lvl))
            tank_on_reading(t, "level_cm", lvl + noise(g_noise), ts, 0);
        if ((ts - from) % (5 * MINU) == 0) {
            if (!isnan(ph))
                tank_on_reading(t, "ph", ph, ts + 1, 0);
            if (!isnan(ec)) {
                tank_on_reading(t, "temp_liquid_c", 25.0, ts + 2, 0);
                tank_on_reading(t, "ec_ms_cm", ec, ts + 3, 0);
            }
        }
        tank_advance(t, ts + 4);
    }
    return to;
}

/* Move the level linearly by dl cm at rate cm/min starting at from (one
 * sample a minute), then return the time after the ramp. */
static int64_t ramp(struct tank *t, int64_t from, double l0, double dl,
                    double cm_per_min, double ph)
{
    int n = (int)ceil(fabs(dl) / cm_per_min);
    int64_t ts = from;

    for (int i = 1; i <= n; i++, ts += MINU) {
        double f = (double)i / n;

        tank_on_reading(t, "level_cm", l0 + dl * f + noise(g_noise), ts, 0);
        if (!isnan(ph))
            tank_on_reading(t, "ph", ph, ts + 1, 0);
        tank_advance(t, ts + 4);
    }
    return ts;
}

static struct tank *new_tank(const struct tank_recipe *r)
{
    struct tank_geom g;
    struct tank_params p;

    tank_geom_defaults(&g);
    tank_params_defaults(&p);
    rng_state = 12345u;
    g_noise = 0.0;
    return tank_new("t1", &g, &p, r);
}

static enum tank_phase phase_of(const struct tank *t)
{
    struct tank_metrics m;

    tank_get(t, &m);
    return m.phase;
}

/* batch_start on a tank at 70 cm; FILLING ends after 30 quiet minutes. */
static int64_t to_acidifying(struct tank *t, int64_t ts)
{
    ck_assert_int_eq(tank_on_event(t, "batch_start", "B1", 0.0, ts), 1);
    ck_assert_int_eq(phase_of(t), TANK_FILLING);
    ts = run(t, ts, ts + 40 * MINU, 70.0, NAN, NAN);
    ck_assert_int_eq(phase_of(t), TANK_ACIDIFYING);
    return ts;
}

static const struct tank_recipe quick = {
    "QUICK", 4.0, 1.0, 4.0, 9.0, 10.0, 0
};

/* ---- geometry ---------------------------------------------------------- */

START_TEST(vcyl_litres)
{
    struct tank_geom g;

    tank_geom_defaults(&g);
    ck_assert_int_eq(tank_geom_check(&g, NULL, 0), HUB_OK);
    ck_assert_double_eq_tol(tank_litres(&g, 0.0), 0.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, 42.5), 112.2884, 1e-3);
    ck_assert_double_eq_tol(tank_litres(&g, 70.0), 184.9456, 1e-3);
    ck_assert_double_eq_tol(tank_capacity_l(&g), CAP, 1e-3);
    /* clamped */
    ck_assert_double_eq_tol(tank_litres(&g, -5.0), 0.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, 100.0), CAP, 1e-3);
}
END_TEST

START_TEST(hcyl_litres)
{
    struct tank_geom g;

    memset(&g, 0, sizeof(g));
    g.shape = TANK_HCYL;
    g.diameter_cm = 60.0;
    g.length_cm = 100.0;
    g.sensor_height_cm = 95.0;
    ck_assert_int_eq(tank_geom_check(&g, NULL, 0), HUB_OK);
    ck_assert_double_eq_tol(tank_litres(&g, 0.0), 0.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, 15.0), 55.2766, 1e-3);
    ck_assert_double_eq_tol(tank_litres(&g, 30.0), 141.3717, 1e-3);
    ck_assert_double_eq_tol(tank_litres(&g, 60.0), 282.7433, 1e-3);
    ck_assert_double_eq_tol(tank_litres(&g, 45.0), 282.7433 - 55.2766, 1e-3);
    ck_assert_double_eq_tol(tank_capacity_l(&g), 282.7433, 1e-3);
    ck_assert_double_eq_tol(tank_litres(&g, 70.0), 282.7433, 1e-3);
}
END_TEST

START_TEST(box_litres)
{
    struct tank_geom g;

    memset(&g, 0, sizeof(g));
    g.shape = TANK_BOX;
    g.length_cm = 100.0;
    g.width_cm = 50.0;
    g.height_cm = 80.0;
    g.sensor_height_cm = 110.0;
    ck_assert_int_eq(tank_geom_check(&g, NULL, 0), HUB_OK);
    ck_assert_double_eq_tol(tank_litres(&g, 40.0), 200.0, 1e-9);
    ck_assert_double_eq_tol(tank_capacity_l(&g), 400.0, 1e-9);
}
END_TEST

START_TEST(table_litres)
{
    struct tank_geom g;

    memset(&g, 0, sizeof(g));
    g.shape = TANK_TABLE;
    g.ntable = 3;
    g.table_level_cm[0] = 0.0;  g.table_litres[0] = 0.0;
    g.table_level_cm[1] = 10.0; g.table_litres[1] = 20.0;
    g.table_level_cm[2] = 50.0; g.table_litres[2] = 100.0;
    g.sensor_height_cm = 80.0;
    ck_assert_int_eq(tank_geom_check(&g, NULL, 0), HUB_OK);
    ck_assert_double_eq_tol(tank_litres(&g, 5.0), 10.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, 30.0), 60.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, -5.0), 0.0, 1e-9);
    ck_assert_double_eq_tol(tank_litres(&g, 60.0), 100.0, 1e-9);
    ck_assert_double_eq_tol(tank_capacity_l(&g), 100.0, 1e-9);
    /* not increasing */
    g.table_level_cm[2] = 10.0;
    ck_assert_int_eq(tank_geom_check(&g, NULL, 0), HUB_EINVAL);
}
END_TEST

START_TEST(geom_check_rejects)
{
    struct tank_geom g;
    char err[128];

    tank_geom_defaults(&g);
    g.sensor_height_cm = 80.0;      /* below the full line (85) */
    err[0] = '\0';
    ck_assert_int_eq(tank_geom_check(&g, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "sensor_height_cm"));
    tank_geom_defaults(&g);
    g.diameter_cm = NAN;
    ck_assert_int_eq(tank_geom_check(&g, err, sizeof(err)), HUB_EINVAL);
    tank_geom_defaults(&g);
    g.shape = TANK_TABLE;
    g.ntable = 1;
    ck_assert_int_eq(tank_geom_check(&g, err, sizeof(err)), HUB_EINVAL);
}
END_TEST

START_TEST(shape_parse_names)
{
    enum tank_shape s;

    ck_assert_int_eq(tank_shape_parse("vertical_cylinder", &s), HUB_OK);
    ck_assert_int_eq(s, TANK_VCYL);
    ck_assert_int_eq(tank_shape_parse("horizontal_cylinder", &s), HUB_OK);
    ck_assert_int_eq(s, TANK_HCYL);
    ck_assert_int_eq(tank_shape_parse("box", &s), HUB_OK);
    ck_assert_int_eq(s, TANK_BOX);
    ck_assert_int_eq(tank_shape_parse("table", &s), HUB_OK);
    ck_assert_int_eq(s, TANK_TABLE);
    ck_assert_int_eq(tank_shape_parse("sphere", &s), HUB_EINVAL);
    ck_assert_int_eq(tank_shape_parse(NULL, &s), HUB_EINVAL);
}
END_TEST

START_TEST(recipes_and_params)
{
    struct tank_recipe r[4];
    struct tank_params p;

    ck_assert_uint_eq(tank_recipes_builtin(r, 4), 3);
    ck_assert_str_eq(r[0].name, "POC_EM4");
    ck_assert_double_eq(r[0].ph_target, 4.0);
    ck_assert_double_eq(r[0].min_days, 14.0);
    ck_assert_int_eq(r[0].em_type, 1);
    ck_assert_str_eq(r[1].name, "ECO_ENZYME");
    ck_assert_double_eq(r[1].min_days, 90.0);
    ck_assert_str_eq(r[2].name, "PESTISIDA_NABATI");
    ck_assert_int_eq(tank_recipe_find("ECO_ENZYME", &r[3]), HUB_OK);
    ck_assert_double_eq(r[3].min_days, 90.0);
    ck_assert_int_eq(tank_recipe_find("nope", &r[3]), HUB_EINVAL);

    tank_params_defaults(&p);
    ck_assert_int_eq(tank_params_check(&p, NULL, 0), HUB_OK);
    ck_assert_double_eq(p.step_min_l, 3.0);
    ck_assert_double_eq(p.max_fill_rate_l_min, 20.0);
    ck_assert_double_eq(p.blind_zone_cm, 25.0);
    p.drift_window_h = 500.0;
    ck_assert_int_eq(tank_params_check(&p, NULL, 0), HUB_EINVAL);
    tank_params_defaults(&p);
    p.rate_persist_samples = 0;
    ck_assert_int_eq(tank_params_check(&p, NULL, 0), HUB_EINVAL);
    {
        size_t n, i;
        const struct tank_param_info *pi = tank_param_table(&n);

        ck_assert_uint_eq(n, 24);
        for (i = 0; i < n; i++)
            if (strcmp(pi[i].key, "max_fill_rate_l_min") == 0)
                break;
        ck_assert_uint_lt(i, n);
        ck_assert_uint_eq(pi[i].offset, offsetof(struct tank_params, max_fill_rate_l_min));
        ck_assert_int_eq(pi[i].is_int, 0);
    }
}
END_TEST

/* Sensor face 115 cm above the bottom: 45 cm to the surface = 70 cm of
 * liquid = 184.9456 L. 20 cm (blind zone) and 130 cm (> 115 + 10) are
 * rejected and counted. */
START_TEST(distance_to_level)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    struct tank_geom g;

    tank_geom_defaults(&g);
    ck_assert_double_eq_tol(tank_level_from_distance(&g, 45.0), 70.0, 1e-9);
    tank_on_reading(t, "distance_cm", 20.0, T0, 0);
    tank_on_reading(t, "distance_cm", 130.0, T0 + 10 * SEC, 0);
    tank_on_reading(t, "distance_cm", 45.0, T0 + 20 * SEC, 0);
    tank_on_reading(t, "distance_cm", 45.0, T0 + 10 * SEC, 0); /* older */
    tank_advance(t, T0 + MINU);
    tank_get(t, &m);
    ck_assert_uint_eq(m.rejected_samples, 2);
    ck_assert_double_eq_tol(m.level_cm, 70.0, 1e-4);
    ck_assert_double_eq_tol(m.volume_l, 184.9456, 1e-2);
    ck_assert_double_eq_tol(m.fill_pct, 184.9456 / CAP * 100.0, 1e-2);
    tank_free(t);
}
END_TEST

/* ---- transitions ------------------------------------------------------- */

/* EMPTY (2 cm) -> FILLING while the level rises -> one fill event of
 * 175 L (ramp 15 L/min, then 10 minutes of +-1 cm ripple) -> ACIDIFYING
 * 30 min after the level stopped moving. */
START_TEST(fill_then_acidifying)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    double top = 2.0 + 175.0 / K;       /* 68.2357 cm */
    int64_t ts = run(t, T0, T0 + HOUR, 2.0, NAN, NAN), f = ts;

    ck_assert_int_eq(phase_of(t), TANK_EMPTY);
    ts = ramp(t, ts, 2.0, top - 2.0, 15.0 / K, NAN);
    ck_assert_int_eq(phase_of(t), TANK_FILLING);
    for (int i = 0; i < 10; i++, ts += MINU) {          /* ripple */
        tank_on_reading(t, "level_cm", top + (i % 2 ? -1.0 : 1.0), ts, 0);
        tank_advance(t, ts + 4);
    }
    ts = run(t, ts, f + 45 * MINU, top, NAN, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_FILLING);
    ck_assert_int_eq(m.in_step, 0);
    ck_assert_uint_eq(m.fill_events, 1);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_double_eq_tol(m.litres_filled_total, 175.0, 1.75);
    ck_assert_str_eq(m.batch, "t1-20251128");
    ts = run(t, ts, f + 70 * MINU, top, NAN, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_ACIDIFYING);
    ck_assert_double_eq_tol(m.batch_volume_l, 180.2842, 0.5);
    ck_assert_uint_eq(m.fill_events, 1);
    ck_assert_uint_eq(m.draw_events, 0);
    tank_free(t);
}
END_TEST

/* pH 5.0 keeps ACIDIFYING; suspect readings at 3.5 alone do not move it;
 * clean readings at 3.95 (<= target 4.0) do. */
START_TEST(acidifying_to_stabilising_by_target)
{
    struct tank *t = new_tank(NULL);
    int64_t ts = to_acidifying(t, T0);

    ts = run(t, ts, ts + 6 * HOUR, 70.0, 5.0, NAN);
    ck_assert_int_eq(phase_of(t), TANK_ACIDIFYING);
    for (int i = 0; i < 24; i++, ts += 5 * MINU) {
        tank_on_reading(t, "ph", 3.5, ts, 1);
        tank_advance(t, ts);
    }
    ck_assert_int_eq(phase_of(t), TANK_ACIDIFYING);
    ts = run(t, ts, ts + 2 * HOUR, 70.0, 3.95, NAN);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    tank_free(t);
}
END_TEST

/* pH flat at 4.5 (above the target): the slope needs 24 h of history,
 * then 72 h flat -> STABILISING at about 96.5 h. */
START_TEST(acidifying_to_stabilising_by_flat_slope)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t a = to_acidifying(t, T0), ts;

    ts = run(t, a, a + 94 * HOUR, 70.0, 4.5, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_ACIDIFYING);
    ck_assert_double_eq_tol(m.ph_slope_per_day, 0.0, 1e-9);
    ts = run(t, ts, a + 99 * HOUR, 70.0, 4.5, NAN);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    tank_free(t);
}
END_TEST

/* A steady decline of 0.2 pH/day above the target is not flat. */
START_TEST(declining_ph_is_not_flat)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t a = to_acidifying(t, T0), ts = a;

    for (int h = 0; h < 100; h++)
        ts = run(t, ts, ts + HOUR, 70.0, 6.0 - 0.2 * h / 24.0, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_ACIDIFYING);
    ck_assert_double_eq_tol(m.ph_slope_per_day, -0.2, 0.01);
    tank_free(t);
}
END_TEST

/* STABILISING -> READY at batch age >= min_days (5 here) with EC constant
 * (stable); harvestable_l is the volume then. */
START_TEST(stabilising_to_ready)
{
    struct tank_recipe r = quick;
    struct tank *t;
    struct tank_metrics m;
    int64_t ts;

    r.min_days = 5.0;
    t = new_tank(&r);
    ts = to_acidifying(t, T0);
    ts = run(t, ts, ts + HOUR, 70.0, 3.8, 4.0);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    ts = run(t, ts, T0 + 5 * DAY - HOUR, 70.0, 3.8, 4.0);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    ts = run(t, ts, T0 + 5 * DAY + HOUR, 70.0, 3.8, 4.0);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_READY);
    ck_assert_int_eq(m.fermentation_done, 1);
    ck_assert_int_eq(m.ph_in_spec, 0);     /* 3.8 < spec 4-9 */
    ck_assert_double_eq_tol(m.harvestable_l, 184.9456, 0.01);
    ck_assert_double_eq_tol(m.ec25_ms_cm, 4.0, 1e-9);
    ck_assert_double_eq_tol(m.ec_slope_pct_per_day, 0.0, 1e-6);
    tank_free(t);
}
END_TEST

/* EC still rising 0.5 mS/cm/day (about 13 %/day) keeps STABILISING. */
START_TEST(rising_ec_blocks_ready)
{
    struct tank_recipe r = quick;
    struct tank *t;
    int64_t ts;

    r.min_days = 5.0;
    t = new_tank(&r);
    ts = to_acidifying(t, T0);
    for (int h = 0; h < 6 * 24; h++)
        ts = run(t, ts, ts + HOUR, 70.0, 3.8, 2.0 + 0.5 * h / 24.0);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    tank_free(t);
}
END_TEST

static int64_t to_ready(struct tank *t)
{
    int64_t ts = to_acidifying(t, T0);

    ts = run(t, ts, ts + HOUR, 70.0, 3.8, NAN);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    ts = run(t, ts, T0 + DAY + HOUR, 70.0, 3.8, NAN);
    ck_assert_int_eq(phase_of(t), TANK_READY);
    return ts;
}

/* READY -> DISPENSING on the first draw (10 L at 8 L/min); then the tank
 * is drained to 2 cm -> EMPTY and one finished batch. */
START_TEST(ready_dispensing_empty)
{
    struct tank *t = new_tank(&quick);
    struct tank_metrics m;
    struct tank_batch b;
    double l1 = 70.0 - 10.0 / K;        /* 66.2151 cm */
    int64_t ts = to_ready(t), end;

    ck_assert_int_eq(tank_take_batch(t, &b), 0);
    ts = ramp(t, ts, 70.0, l1 - 70.0, 8.0 / K, 3.8);
    ts = run(t, ts, ts + 40 * MINU, l1, 3.8, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_DISPENSING);
    ck_assert_uint_eq(m.draw_events, 1);
    ck_assert_double_eq_tol(m.litres_dispensed, 10.0, 0.1);
    ck_assert_double_eq_tol(m.draw_l_per_day, 10.0, 0.1);

    ts = ramp(t, ts, l1, 2.0 - l1, 10.0 / K, 3.8);
    end = run(t, ts, ts + 40 * MINU, 2.0, 3.8, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_EMPTY);
    ck_assert_str_eq(m.batch, "");
    ck_assert_uint_eq(m.draw_events, 2);
    ck_assert_int_eq(tank_take_batch(t, &b), 1);
    ck_assert_str_eq(b.batch, "B1");
    ck_assert_str_eq(b.recipe, "QUICK");
    ck_assert_int_eq(b.start_ns, T0);
    ck_assert_int_eq(b.spoiled, 0);
    ck_assert_double_eq_tol(b.batch_volume_l, 184.9456, 0.01);
    ck_assert_double_eq_tol(b.harvestable_l, 184.9456, 0.01);
    ck_assert_double_eq_tol(b.process_loss_l, 0.0, 0.01);
    ck_assert_double_eq_tol(b.residue_l, 5.2842, 0.01);
    /* 184.9456 - 5.2842 = 179.6614 L dispensed, sprayed at 1:10 */
    ck_assert_double_eq_tol(b.litres_dispensed, 179.6614, 0.5);
    ck_assert_double_eq_tol(b.spray_equivalent_l, 1796.614, 5.0);
    ck_assert(b.end_ns > T0 + DAY && b.end_ns <= end);
    ck_assert_double_eq_tol(b.cycle_days, (double)(b.end_ns - T0) / DAY, 1e-9);
    ck_assert_int_eq(tank_take_batch(t, &b), 0);
    tank_free(t);
}
END_TEST

/* After STABILISING, pH 0.6 above the batch minimum (3.6 -> 4.2) for
 * 24 h -> SPOILED; 23 h is not enough. */
START_TEST(spoiled_by_rise)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = to_acidifying(t, T0), r;

    ts = run(t, ts, ts + 3 * HOUR, 70.0, 3.6, NAN);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    r = ts;
    ts = run(t, ts, r + 23 * HOUR, 70.0, 4.2, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_STABILISING);
    ck_assert_double_eq_tol(m.ph_min_batch, 3.6, 1e-9);
    ts = run(t, ts, r + 26 * HOUR, 70.0, 4.2, NAN);
    ck_assert_int_eq(phase_of(t), TANK_SPOILED);
    ck_assert_int_eq(tank_advance(t, ts), 0);
    tank_free(t);
}
END_TEST

/* EM-type recipe with min_days 3: pH 3.95 (below target 4.0 but >= 3.9)
 * after day 3 for 6 h -> SPOILED. The same at pH 3.7 does not spoil. */
START_TEST(spoiled_by_em_rule)
{
    struct tank_recipe r = quick;
    struct tank *t, *u;
    int64_t ts;

    r.min_days = 3.0;
    r.em_type = 1;
    t = new_tank(&r);
    ts = to_acidifying(t, T0);
    ts = run(t, ts, T0 + 3 * DAY + 5 * HOUR, 70.0, 3.95, NAN);
    ck_assert_int_eq(phase_of(t), TANK_READY);
    run(t, ts, T0 + 3 * DAY + 7 * HOUR, 70.0, 3.95, NAN);
    ck_assert_int_eq(phase_of(t), TANK_SPOILED);
    tank_free(t);

    u = new_tank(&r);
    ts = to_acidifying(u, T0);
    run(u, ts, T0 + 3 * DAY + 7 * HOUR, 70.0, 3.7, NAN);
    ck_assert_int_eq(phase_of(u), TANK_READY);
    tank_free(u);

    r.em_type = 0;                      /* not EM-type: the rule is off */
    u = new_tank(&r);
    ts = to_acidifying(u, T0);
    run(u, ts, T0 + 3 * DAY + 7 * HOUR, 70.0, 3.95, NAN);
    ck_assert_int_eq(phase_of(u), TANK_READY);
    tank_free(u);
}
END_TEST

/* Draining a tank in ACIDIFYING (a dumped batch) also ends at EMPTY. */
START_TEST(acidifying_drained_to_empty)
{
    struct tank *t = new_tank(NULL);
    struct tank_batch b;
    int64_t ts = to_acidifying(t, T0);

    ts = ramp(t, ts, 70.0, -68.0, 8.0, NAN);
    run(t, ts, ts + 30 * MINU, 2.0, NAN, NAN);
    ck_assert_int_eq(phase_of(t), TANK_EMPTY);
    ck_assert_int_eq(tank_take_batch(t, &b), 1);
    ck_assert_double_eq_tol(b.litres_dispensed, 0.0, 1e-9);
    ck_assert(isnan(b.harvestable_l));
    tank_free(t);
}
END_TEST

/* ---- step detection ---------------------------------------------------- */

/* Ten draws of known litres (141 L in all) at 8 L/min, 3 h apart, level
 * noise +-0.5 cm, and a -25 cm outlier ping (66 L in 30 s, faster than
 * 20 L/min, rejected): 10 draw events, no fill,
 * litres_drawn_total within 1 %. */
START_TEST(ten_draws_within_one_percent)
{
    static const double draws[10] = { 5, 8, 12, 15, 20, 25, 6, 10, 18, 22 };
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    double lvl = 80.0;
    int64_t ts;

    g_noise = 0.5;
    ts = run(t, T0, T0 + 2 * HOUR, lvl, NAN, NAN);
    tank_on_reading(t, "level_cm", lvl - 25.0, ts - 30 * SEC, 0); /* 66 L in 30 s */
    for (int i = 0; i < 10; i++) {
        double dl = -draws[i] / K;

        ts = ramp(t, ts, lvl, dl, 8.0 / K, NAN);
        lvl += dl;
        ts = run(t, ts, ts + 3 * HOUR, lvl, NAN, NAN);
    }
    tank_get(t, &m);
    ck_assert_uint_eq(m.draw_events, 10);
    ck_assert_uint_eq(m.fill_events, 0);
    ck_assert_double_eq_tol(m.litres_drawn_total, 141.0, 1.41);
    ck_assert_uint_eq(m.rejected_samples, 1);
    tank_free(t);
}
END_TEST

/* Evaporation of 2 L/day over 3 days with +-0.3 cm noise: no events, and
 * a drift of -2 L/day. */
START_TEST(evaporation_is_drift_not_events)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts;

    g_noise = 0.3;
    for (ts = T0; ts < T0 + 3 * DAY; ts += MINU) {
        double lvl = 70.0 - 2.0 / K * (double)(ts - T0) / DAY;

        tank_on_reading(t, "level_cm", lvl + noise(g_noise), ts, 0);
        tank_advance(t, ts + 1);
    }
    tank_get(t, &m);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_uint_eq(m.fill_events, 0);
    ck_assert_double_eq_tol(m.net_drift_l_per_day, -2.0, 0.2);
    tank_free(t);
}
END_TEST

/* A single 5-minute dip of 20 L that comes back is not a draw. */
START_TEST(transient_dip_is_not_an_event)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = run(t, T0, T0 + HOUR, 70.0, NAN, NAN);

    ts = run(t, ts, ts + 3 * MINU, 70.0 - 20.0 / K, NAN, NAN);
    run(t, ts, ts + HOUR, 70.0, NAN, NAN);
    tank_get(t, &m);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_uint_eq(m.fill_events, 0);
    tank_free(t);
}
END_TEST

/* In an empty tank a 20 L rise opens FILLING; when it falls back within
 * minutes (a wave, a splash) the tank returns to EMPTY without a batch. */
START_TEST(false_rise_returns_to_empty)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    struct tank_batch b;
    int64_t ts = run(t, T0, T0 + HOUR, 2.0, NAN, NAN);

    ts = run(t, ts, ts + 6 * MINU, 2.0 + 20.0 / K, NAN, NAN);
    ck_assert_int_eq(phase_of(t), TANK_FILLING);
    run(t, ts, ts + HOUR, 2.0, NAN, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_EMPTY);
    ck_assert_str_eq(m.batch, "");
    ck_assert_uint_eq(m.fill_events, 0);
    ck_assert_int_eq(tank_take_batch(t, &b), 0);
    tank_free(t);
}
END_TEST

/* A 2 L draw is below the 3 L threshold: no event. */
START_TEST(small_change_is_not_an_event)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = run(t, T0, T0 + HOUR, 70.0, NAN, NAN);

    run(t, ts, ts + 2 * HOUR, 70.0 - 2.0 / K, NAN, NAN);
    tank_get(t, &m);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_double_eq_tol(m.volume_l, 184.9456 - 2.0, 0.01);
    tank_free(t);
}
END_TEST

/* A level jump faster than 20 L/min is rejected unless it persists for 3
 * samples: 150 L in one minute, then held. */
START_TEST(fast_jump_accepted_after_three_samples)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = run(t, T0, T0 + HOUR, 10.0, NAN, NAN);

    tank_on_reading(t, "level_cm", 10.0 + 150.0 / K, ts, 0);
    tank_advance(t, ts + MINU);         /* the minute closes: held back */
    tank_get(t, &m);
    ck_assert_double_eq_tol(m.level_cm, 10.0, 1e-4);
    ck_assert_int_eq(m.in_step, 0);
    run(t, ts + MINU, ts + HOUR, 10.0 + 150.0 / K, NAN, NAN);
    tank_get(t, &m);
    ck_assert_uint_eq(m.fill_events, 1);
    ck_assert_uint_eq(m.rejected_samples, 0);
    ck_assert_double_eq_tol(m.litres_filled_total, 150.0, 0.5);
    tank_free(t);
}
END_TEST

/* ---- events ------------------------------------------------------------ */

/* Without level data, operator fill/draw litres are the events. */
START_TEST(operator_events_without_level)
{
    struct tank *t = new_tank(&quick);
    struct tank_metrics m;

    ck_assert_int_eq(tank_on_event(t, "fill", "", 150.0, T0), 1);
    tank_advance(t, T0 + 10 * MINU);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_FILLING);
    ck_assert_double_eq_tol(m.volume_l, 150.0, 1e-9);
    tank_advance(t, T0 + 31 * MINU);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_ACIDIFYING);
    ck_assert_double_eq_tol(m.batch_volume_l, 150.0, 1e-9);
    ck_assert_int_eq(tank_on_event(t, "draw", "", 20.0, T0 + HOUR), 1);
    tank_get(t, &m);
    ck_assert_double_eq_tol(m.litres_drawn_total, 20.0, 1e-9);
    ck_assert_double_eq_tol(m.volume_l, 130.0, 1e-9);
    ck_assert_int_eq(tank_on_event(t, "recipe", NULL, 0.0, T0 + HOUR), 1);
    ck_assert_int_eq(tank_on_event(t, "calibrate", NULL, 0.0, T0 + HOUR), 1);
    ck_assert_int_eq(tank_on_event(t, "turn", NULL, 0.0, T0 + HOUR), 0);
    tank_free(t);
}
END_TEST

/* With level data, operator litres are notes only (no double counting). */
START_TEST(operator_events_with_level_are_notes)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = run(t, T0, T0 + HOUR, 70.0, NAN, NAN);

    ck_assert_int_eq(tank_on_event(t, "fill", "", 50.0, ts), 1);
    ck_assert_int_eq(tank_on_event(t, "draw", "", 7.0, ts), 1);
    run(t, ts, ts + HOUR, 70.0, NAN, NAN);
    tank_get(t, &m);
    ck_assert_uint_eq(m.fill_events, 0);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_double_eq(m.operator_fill_l, 50.0);
    ck_assert_double_eq(m.operator_draw_l, 7.0);
    ck_assert_double_eq(m.litres_filled_total, 0.0);
    tank_free(t);
}
END_TEST

/* batch_start in FILLING names the batch; in STABILISING it finishes the
 * batch and starts another. */
START_TEST(batch_start_rename_and_replace)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    struct tank_batch b;
    int64_t ts;

    ck_assert_int_eq(tank_on_event(t, "batch_start", "", 0.0, T0), 1);
    tank_get(t, &m);
    ck_assert_str_eq(m.batch, "t1-20251128");
    ck_assert_int_eq(tank_on_event(t, "batch_start", "POC-11", 0.0, T0 + MINU), 1);
    tank_get(t, &m);
    ck_assert_str_eq(m.batch, "POC-11");
    ts = run(t, T0 + MINU, T0 + HOUR, 70.0, 3.8, NAN);
    ck_assert_int_eq(phase_of(t), TANK_STABILISING);
    ck_assert_int_eq(tank_take_batch(t, &b), 0);
    ck_assert_int_eq(tank_on_event(t, "batch_start", "POC-12", 0.0, ts), 1);
    ck_assert_int_eq(phase_of(t), TANK_FILLING);
    ck_assert_int_eq(tank_take_batch(t, &b), 1);
    ck_assert_str_eq(b.batch, "POC-11");
    tank_get(t, &m);
    ck_assert_str_eq(m.batch, "POC-12");
    tank_free(t);
}
END_TEST

/* ---- save / load ------------------------------------------------------- */

START_TEST(save_load_round_trip)
{
    struct tank *t = new_tank(&quick), *u;
    struct tank_metrics a, b;
    char s1[TANK_STATE_MAX], s2[TANK_STATE_MAX];
    int64_t ts;

    ck_assert_int_eq(tank_on_event(t, "batch_start", "POC Nov/2026 #1=x%", 0.0, T0), 1);
    ts = run(t, T0, T0 + 40 * MINU, 70.0, NAN, NAN);
    ts = run(t, ts, ts + 3 * HOUR, 70.0, 5.2, NAN);
    tank_on_event(t, "calibrate", NULL, 0.0, ts);
    ck_assert_int_eq(phase_of(t), TANK_ACIDIFYING);
    ck_assert_int_eq(tank_save(t, s1, sizeof(s1)), HUB_OK);
    ck_assert_uint_lt(strlen(s1), TANK_STATE_MAX);
    ck_assert_ptr_null(strchr(s1, '\n'));
    ck_assert_int_eq(tank_save(t, s2, 10), HUB_ENOMEM);

    u = new_tank(NULL);
    ck_assert_int_eq(tank_load(u, s1), HUB_OK);
    tank_get(t, &a);
    tank_get(u, &b);
    ck_assert_int_eq(b.phase, TANK_ACIDIFYING);
    ck_assert_str_eq(b.batch, "POC Nov/2026 #1=x%");
    ck_assert_str_eq(b.recipe, "QUICK");
    ck_assert_double_eq(b.batch_volume_l, a.batch_volume_l);
    ck_assert_double_eq(b.ph_min_batch, a.ph_min_batch);
    ck_assert_double_eq(b.batch_age_d, a.batch_age_d);
    ck_assert_double_eq(b.days_since_calibration, 0.0);
    ck_assert_int_eq(tank_save(u, s2, sizeof(s2)), HUB_OK);
    ck_assert_str_eq(s1, s2);

    /* the loaded tank carries on: level unchanged, pH reaches the target */
    run(u, ts + MINU, ts + 2 * HOUR, 70.0, 3.9, NAN);
    tank_get(u, &b);
    ck_assert_int_eq(b.phase, TANK_STABILISING);
    ck_assert_uint_eq(b.fill_events + b.draw_events, 0);
    tank_free(t);
    tank_free(u);
}
END_TEST

static const char *const garbage[] = {
    "", "garbage", "v=1", "v=2 ph=EMPTY", "=", "v=1 v=1", " v=1", "v=1 ",
    "v=1  ph=EMPTY", "\xff\xfe", "v=1 ph=", "ph=EMPTY b=",
};

START_TEST(load_rejects_garbage)
{
    struct tank *t = new_tank(NULL);
    char s[TANK_STATE_MAX], bad[TANK_STATE_MAX + 16];
    size_t n;
    int64_t ts = to_acidifying(t, T0);

    (void)ts;
    ck_assert_int_eq(tank_save(t, s, sizeof(s)), HUB_OK);
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        ck_assert_int_eq(tank_load(t, garbage[i]), HUB_EINVAL);
    /* every truncation of a good line is rejected */
    n = strlen(s);
    for (size_t k = 0; k < n; k++) {
        memcpy(bad, s, k);
        bad[k] = '\0';
        ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    }
    /* a bad value, a duplicate key, an unknown key, bad escapes */
    snprintf(bad, sizeof(bad), "%s", s);
    memcpy(strstr(bad, " ph=") + 4, "XYZ", 3);
    ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    snprintf(bad, sizeof(bad), "%s nf=3", s);
    ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    snprintf(bad, sizeof(bad), "%s zz=3", s);
    ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    snprintf(bad, sizeof(bad), "%s", s);
    memcpy(strstr(bad, " b=") + 3, "%zz", 3);
    ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    snprintf(bad, sizeof(bad), "%s", s);
    memcpy(strstr(bad, " ft=") + 4, "-1", 2);
    ck_assert_int_eq(tank_load(t, bad), HUB_EINVAL);
    /* the tank is unchanged and the good line still loads */
    ck_assert_int_eq(phase_of(t), TANK_ACIDIFYING);
    ck_assert_int_eq(tank_load(t, s), HUB_OK);
    tank_free(t);
}
END_TEST

/* A tank found full without a detected fill (the hub started on it, as
 * with the simulator) is adopted after 30 quiet minutes. */
START_TEST(full_tank_is_adopted)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts = run(t, T0, T0 + 20 * MINU, 75.0, NAN, NAN);

    ck_assert_int_eq(phase_of(t), TANK_EMPTY);
    run(t, ts, T0 + 40 * MINU, 75.0, NAN, NAN);
    tank_get(t, &m);
    ck_assert_int_eq(m.phase, TANK_ACIDIFYING);
    ck_assert_str_eq(m.batch, "t1-20251128");
    ck_assert_double_eq_tol(m.batch_volume_l, 75.0 * K, 0.01);
    ck_assert_uint_eq(m.fill_events, 0);
    tank_free(t);
}
END_TEST

/* A simulator-like trace (domain doc 7.3): level 75 cm falling 0.2 cm/day
 * with a daily 0.3 cm swing and +-0.4 cm noise; pH 6.5 -> plateau 3.7 with
 * tau 2 d and +-0.05 noise. pH reaches 4.0 at 2 ln(2.8/0.3) = 4.47 days:
 * STABILISING between day 4.2 and 4.8, no fill or draw events. */
START_TEST(simulator_like_trace)
{
    struct tank *t = new_tank(NULL);
    struct tank_metrics m;
    int64_t ts, stab = 0;

    for (ts = T0; ts < T0 + 6 * DAY; ts += MINU) {
        double d = (double)(ts - T0) / DAY;

        tank_on_reading(t, "level_cm", 75.0 - 0.2 * d + 0.3 * sin(2 * M_PI * d) +
                        noise(0.4), ts, 0);
        if ((ts - T0) % (5 * MINU) == 0)
            tank_on_reading(t, "ph", 3.7 + 2.8 * exp(-d / 2.0) + noise(0.05), ts + 1, 0);
        tank_advance(t, ts + 2);
        if (!stab && phase_of(t) == TANK_STABILISING)
            stab = ts;
    }
    tank_get(t, &m);
    ck_assert_uint_eq(m.fill_events, 0);
    ck_assert_uint_eq(m.draw_events, 0);
    ck_assert_int_eq(m.phase, TANK_STABILISING);
    ck_assert(stab > T0 + 4 * DAY + 5 * HOUR && stab < T0 + 4 * DAY + 19 * HOUR);
    ck_assert_double_eq_tol(m.net_drift_l_per_day, -0.2 * K, 0.3);
    tank_free(t);
}
END_TEST

/* Mutations of a good line (every byte replaced by a few others, bytes
 * dropped): tank_load returns HUB_OK or HUB_EINVAL and never crashes. */
START_TEST(load_survives_mutations)
{
    static const char subst[] = { '0', '9', '-', '=', ' ', '%', 'x', '.', 'e', '\x7f' };
    struct tank *t = new_tank(NULL);
    char s[TANK_STATE_MAX], bad[TANK_STATE_MAX];
    size_t n;

    to_acidifying(t, T0);
    ck_assert_int_eq(tank_save(t, s, sizeof(s)), HUB_OK);
    n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(subst); k++) {
            int rc;

            memcpy(bad, s, n + 1);
            bad[i] = subst[k];
            rc = tank_load(t, bad);
            ck_assert(rc == HUB_OK || rc == HUB_EINVAL);
        }
        memcpy(bad, s, i);
        memcpy(bad + i, s + i + 1, n - i);
        {
            int rc = tank_load(t, bad);

            ck_assert(rc == HUB_OK || rc == HUB_EINVAL);
        }
        tank_advance(t, T0 + DAY);
    }
    ck_assert_int_eq(tank_load(t, s), HUB_OK);
    tank_free(t);
}
END_TEST

START_TEST(free_null_and_phase_names)
{
    enum tank_phase p;

    tank_free(NULL);
    ck_assert_str_eq(tank_phase_name(TANK_STABILISING), "STABILISING");
    ck_assert_str_eq(tank_phase_name((enum tank_phase)99), "?");
    ck_assert_int_eq(tank_phase_parse("SPOILED", &p), HUB_OK);
    ck_assert_int_eq(p, TANK_SPOILED);
}
END_TEST

static Suite *tank_suite(void)
{
    Suite *s = suite_create("tank");
    TCase *geo = tcase_create("geometry");
    TCase *fsm = tcase_create("machine");
    TCase *stp = tcase_create("steps");
    TCase *evt = tcase_create("events");
    TCase *per = tcase_create("persist");

    tcase_add_test(geo, vcyl_litres);
    tcase_add_test(geo, hcyl_litres);
    tcase_add_test(geo, box_litres);
    tcase_add_test(geo, table_litres);
    tcase_add_test(geo, geom_check_rejects);
    tcase_add_test(geo, shape_parse_names);
    tcase_add_test(geo, recipes_and_params);
    tcase_add_test(geo, distance_to_level);
    suite_add_tcase(s, geo);

    tcase_set_timeout(fsm, 60);
    tcase_add_test(fsm, fill_then_acidifying);
    tcase_add_test(fsm, acidifying_to_stabilising_by_target);
    tcase_add_test(fsm, acidifying_to_stabilising_by_flat_slope);
    tcase_add_test(fsm, declining_ph_is_not_flat);
    tcase_add_test(fsm, stabilising_to_ready);
    tcase_add_test(fsm, rising_ec_blocks_ready);
    tcase_add_test(fsm, ready_dispensing_empty);
    tcase_add_test(fsm, spoiled_by_rise);
    tcase_add_test(fsm, spoiled_by_em_rule);
    tcase_add_test(fsm, acidifying_drained_to_empty);
    tcase_add_test(fsm, full_tank_is_adopted);
    tcase_add_test(fsm, simulator_like_trace);
    suite_add_tcase(s, fsm);

    tcase_set_timeout(stp, 60);
    tcase_add_test(stp, ten_draws_within_one_percent);
    tcase_add_test(stp, evaporation_is_drift_not_events);
    tcase_add_test(stp, transient_dip_is_not_an_event);
    tcase_add_test(stp, small_change_is_not_an_event);
    tcase_add_test(stp, false_rise_returns_to_empty);
    tcase_add_test(stp, fast_jump_accepted_after_three_samples);
    suite_add_tcase(s, stp);

    tcase_add_test(evt, operator_events_without_level);
    tcase_add_test(evt, operator_events_with_level_are_notes);
    tcase_add_test(evt, batch_start_rename_and_replace);
    suite_add_tcase(s, evt);

    tcase_add_test(per, save_load_round_trip);
    tcase_add_test(per, load_rejects_garbage);
    tcase_add_test(per, load_survives_mutations);
    tcase_add_test(per, free_null_and_phase_names);
    suite_add_tcase(s, per);
    return s;
}

HUB_CHECK_MAIN(tank_suite)
