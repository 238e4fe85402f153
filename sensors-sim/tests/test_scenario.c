/* SPDX-License-Identifier: MIT */
/* test_scenario.c - the simulator's scenarios (sensors-sim/src/scenario.h)
 * against the contract of the compost integration test: names, argument
 * checks, the message count of a day (counted by hand), repeatability per
 * seed, DS18B20 steps, the injected faults (spacing, values, the truth
 * file), the scenario physics (stall, overheat, too dry, too wet) and the
 * truth's maturity re-checked independently from the published readings.
 * Expected values are derived below from the contract, not copied from a
 * run. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "scenario.h"

#define DAY_MS  86400000LL
#define HOUR_MS 3600000LL
/* 2026-09-22 00:00 WITA (UTC+8): local midnight, so a member's 10:00
 * turn and every hour fall on the 5-minute tick grid */
#define START_MS 1790006400000LL  /* 2026-09-21 16:00 UTC */
#define SEED     20261128ULL
#define NDRUM    6
#define NTANK    2
#define MAXHOURS (61 * 24)

static const char *const all_names[] = {
    "normal", "stall", "overheat", "too_dry", "too_wet", "sensor_faults", "tank_overflow",
    "ferment_spoiled",
};

/* What a whole run published, per drum and per hour (UTC-aligned hours
 * from START_MS, which is a whole hour). */
struct run {
    uint64_t msgs, events, readings;
    int64_t last_ts, first_ts;
    int ts_backwards;               /* a reading older than the previous tick */
    int not_q16;                    /* temperatures off the 0.0625 C grid       */
    double core_sum[NDRUM][MAXHOURS], amb_sum[MAXHOURS];
    int core_n[NDRUM][MAXHOURS], amb_n[MAXHOURS];
    double moist_hmax[NDRUM][MAXHOURS];                  /* per hour    */
    double moist_min_hot[NDRUM], moist_max_hot[NDRUM];   /* days 2..15 */
    double moist_last[NDRUM];
    int turns[NDRUM], waters[NDRUM], harvests[NDRUM];
    cJSON *truth;
};

static int on_grid(double v)
{
    return fabs(v * 16.0 - round(v * 16.0)) < 1e-9;
}

/* Per-message checks count failures here (a Check assertion writes to
 * its pipe even when it passes: millions of them would cost seconds);
 * the test asserts the count once, with the first failure's text. */
static long bad;
static char first_bad[256];

static void expect(int ok, const char *what, const char *topic)
{
    if (ok)
        return;
    if (bad++ == 0)
        snprintf(first_bad, sizeof(first_bad), "%s (%s)", what, topic);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!cJSON_IsNumber(v)) {
        expect(0, k, "no such number");
        return NAN;
    }
    return v->valuedouble;
}

/* A number of the truth file (asserted). */
static double tnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    ck_assert_msg(cJSON_IsNumber(v), "no number \"%s\" in the truth", k);
    return v->valuedouble;
}

/* Message callback for the fault checks: the readings of one drum probe. */
struct probe_log {
    int drum;                       /* 1-based */
    const char *field;
    int64_t *ts;
    double *v;
    size_t n, cap;
};

static void probe_add(struct probe_log *pl, int64_t ts, double v)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 1024;
        pl->ts = realloc(pl->ts, pl->cap * sizeof(*pl->ts));
        pl->v = realloc(pl->v, pl->cap * sizeof(*pl->v));
        if (!pl->ts || !pl->v)
            abort();
    }
    pl->ts[pl->n] = ts;
    pl->v[pl->n] = v;
    pl->n++;
}

static void probe_free(struct probe_log *pl)
{
    free(pl->ts);
    free(pl->v);
}

/* Run scenario name for days; fill r (calloc'ed by the caller) and, if
 * given, the probe logs; parse the truth file into r->truth. */
static void run_scenario(const char *name, uint64_t seed, double days, struct run *r,
                         struct probe_log *logs, int nlogs)
{
    struct scn *s = scn_new(scn_parse(name), seed, NDRUM, NTANK, START_MS, days, 300);
    char topic[128], payload[600];
    int64_t ts, tick = START_MS;
    int rc;
    FILE *f;
    long len;
    char *text;

    ck_assert_ptr_nonnull(s);
    bad = 0;
    r->first_ts = INT64_MAX;
    for (int i = 0; i < NDRUM; i++) {
        r->moist_min_hot[i] = 1e9;
        r->moist_max_hot[i] = -1e9;
    }
    while ((rc = scn_next(s, topic, sizeof(topic), payload, sizeof(payload), &ts)) == 1) {
        cJSON *o = cJSON_Parse(payload);
        const cJSON *ev;
        int id = 0;
        double day = (double)(ts - START_MS) / DAY_MS;
        int64_t h = (ts - START_MS) / HOUR_MS;

        r->msgs++;
        if (!o) {
            expect(0, "not JSON", topic);
            continue;
        }
        expect(num(o, "ts") == (double)ts, "ts differs from scn_next's", topic);
        if (ts < r->first_ts)
            r->first_ts = ts;
        ev = cJSON_GetObjectItemCaseSensitive(o, "event");
        if (strncmp(topic, "drum/", 5) == 0 || strncmp(topic, "tank/", 5) == 0)
            id = atoi(topic + 5);
        if (ev) {
            expect(cJSON_IsString(ev) && strstr(topic, "/event") != NULL, "event", topic);
            r->events++;
            if (strncmp(topic, "drum/", 5) == 0 && cJSON_IsString(ev)) {
                expect(id >= 1 && id <= NDRUM, "drum id", topic);
                if (id < 1 || id > NDRUM) {
                    cJSON_Delete(o);
                    continue;
                }
                r->turns[id - 1] += strcmp(ev->valuestring, "turn") == 0;
                r->waters[id - 1] += strcmp(ev->valuestring, "water") == 0;
                r->harvests[id - 1] += strcmp(ev->valuestring, "harvest") == 0;
            }
            cJSON_Delete(o);
            continue;
        }
        r->readings++;
        /* readings come tick by tick: never older than the tick before */
        if (ts < tick)
            r->ts_backwards++;
        tick = ts;
        r->last_ts = ts;
        if (h < 0 || h >= MAXHOURS) {
            expect(0, "ts out of range", topic);
            cJSON_Delete(o);
            continue;
        }
        if (strcmp(topic, "site/weather") == 0) {
            double a = num(o, "temp_ambient_c");

            r->not_q16 += !on_grid(a);
            r->amb_sum[h] += a;
            r->amb_n[h]++;
        } else if (strncmp(topic, "drum/", 5) == 0) {
            static const char *const tf[] = { "temp_core_c", "temp_mid_c", "temp_top_c" };
            double m = num(o, "moisture_pct");

            expect(id >= 1 && id <= NDRUM, "drum id", topic);
            if (id < 1 || id > NDRUM) {
                cJSON_Delete(o);
                continue;
            }
            for (int k = 0; k < 3; k++)
                r->not_q16 += !on_grid(num(o, tf[k]));
            (void)num(o, "o2_pct");
            (void)num(o, "co2_pct");
            (void)num(o, "mass_kg");
            r->core_sum[id - 1][h] += num(o, "temp_core_c");
            r->core_n[id - 1][h]++;
            if (day >= 2 && day <= 15) {
                r->moist_min_hot[id - 1] = fmin(r->moist_min_hot[id - 1], m);
                r->moist_max_hot[id - 1] = fmax(r->moist_max_hot[id - 1], m);
            }
            r->moist_last[id - 1] = m;
            if (r->core_n[id - 1][h] == 1 || m > r->moist_hmax[id - 1][h])
                r->moist_hmax[id - 1][h] = m;
            for (int k = 0; k < nlogs; k++)
                if (logs[k].drum == id)
                    probe_add(&logs[k], ts, num(o, logs[k].field));
        } else {
            expect(strncmp(topic, "tank/", 5) == 0 && id >= 1 && id <= NTANK,
                   "unexpected topic", topic);
            (void)num(o, "distance_cm");
            if (cJSON_GetObjectItemCaseSensitive(o, "temp_liquid_c"))
                r->not_q16 += !on_grid(num(o, "temp_liquid_c"));
        }
        cJSON_Delete(o);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(bad == 0, "%ld bad messages, the first: %s", bad, first_bad);
    f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(scn_write_truth(s, f, "t_site", r->msgs), 0);
    len = ftell(f);
    ck_assert_int_gt(len, 0);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    r->truth = cJSON_Parse(text);
    ck_assert_msg(r->truth != NULL, "truth is not JSON");
    free(text);
    scn_free(s);
}

static struct run *new_run(void)
{
    struct run *r = calloc(1, sizeof(*r));

    ck_assert_ptr_nonnull(r);
    return r;
}

static void free_run(struct run *r)
{
    cJSON_Delete(r->truth);
    free(r);
}

static const cJSON *truth_drum(const struct run *r, int i)
{
    const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->truth, "drums"), i);

    ck_assert_ptr_nonnull(d);
    return d;
}

static int is_true(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    ck_assert_msg(cJSON_IsBool(v), "no bool \"%s\"", k);
    return cJSON_IsTrue(v);
}

START_TEST(names_round_trip_and_list)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int lines = 0;

    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(scn_parse(all_names[i]), i);
    ck_assert_int_eq(SCN_COUNT, 8);
    ck_assert_int_eq(scn_parse("nromal"), -1);
    ck_assert_int_eq(scn_parse(""), -1);
    ck_assert_int_eq(scn_parse(NULL), -1);
    ck_assert_ptr_nonnull(f);
    scn_list(f);
    fclose(f);
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    ck_assert_int_eq(lines, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(strstr(buf, all_names[i]) != NULL, "%s not listed", all_names[i]);
    free(buf);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    ck_assert_ptr_null(scn_new(-1, 1, 6, 2, START_MS, 60, 300));
    ck_assert_ptr_null(scn_new(SCN_COUNT, 1, 6, 2, START_MS, 60, 300));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, 65, 2, START_MS, 60, 300));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, 6, 17, START_MS, 60, 300));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, -1, 2, START_MS, 60, 300));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, 6, 2, START_MS, 0, 300));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, 6, 2, START_MS, 60, 0.5));
    ck_assert_ptr_null(scn_new(SCN_NORMAL, 1, 6, 2, 0, 60, 300));
}
END_TEST

/* One day at 300 s: 288 ticks of 1 weather + 6 drum + 2 tank readings =
 * 2592, plus the batch_start of every drum (6) and tank (2, filled on day
 * 0.2); the first turn is on day 3 and nothing is watered on day 1. */
START_TEST(one_day_message_count)
{
    struct run *r = new_run();

    run_scenario("normal", SEED, 1.0, r, NULL, 0);
    ck_assert_uint_eq(r->readings, 288u * 9u);
    ck_assert_uint_eq(r->events, 8);
    ck_assert_uint_eq(r->msgs, 2600);
    ck_assert_int_eq(r->first_ts, START_MS);
    ck_assert_int_eq(r->last_ts, START_MS + 287 * 300000LL);
    ck_assert_int_eq(r->ts_backwards, 0);
    ck_assert_int_eq(r->not_q16, 0);
    ck_assert_int_eq((int64_t)tnum(r->truth, "messages"), 2600);
    ck_assert_double_eq(tnum(r->truth, "seed"), (double)SEED);
    ck_assert_int_eq((int64_t)tnum(r->truth, "start_ts_ms"), START_MS);
    ck_assert_double_eq(tnum(r->truth, "interval_s"), 300.0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->truth, "drums")), 6);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->truth, "tanks")), 2);
    free_run(r);
}
END_TEST

/* The same seed gives the same messages; another seed does not. */
START_TEST(same_seed_same_messages)
{
    struct scn *a = scn_new(SCN_SENSOR_FAULTS, 7, 6, 2, START_MS, 5, 300);
    struct scn *b = scn_new(SCN_SENSOR_FAULTS, 7, 6, 2, START_MS, 5, 300);
    struct scn *c = scn_new(SCN_SENSOR_FAULTS, 8, 6, 2, START_MS, 5, 300);
    char ta[128], pa[600], tb[128], pb[600], tc[128], pc[600];
    int64_t sa, sb, sc;
    int ra, rb, rcc;
    uint64_t n = 0, differ = 0;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    for (;;) {
        ra = scn_next(a, ta, sizeof(ta), pa, sizeof(pa), &sa);
        rb = scn_next(b, tb, sizeof(tb), pb, sizeof(pb), &sb);
        rcc = scn_next(c, tc, sizeof(tc), pc, sizeof(pc), &sc);
        ck_assert_int_eq(ra, rb);
        if (ra != 1)
            break;
        ck_assert_str_eq(ta, tb);
        ck_assert_str_eq(pa, pb);
        ck_assert_int_eq(sa, sb);
        if (rcc == 1 && strcmp(pa, pc) != 0)
            differ++;
        n++;
    }
    ck_assert_uint_gt(n, 5 * 288 * 9);
    ck_assert_uint_gt(differ, n / 2);
    scn_free(a);
    scn_free(b);
    scn_free(c);
}
END_TEST

/* A buffer too small for the next message is reported, not overrun. */
START_TEST(small_buffers_are_refused)
{
    struct scn *s = scn_new(SCN_NORMAL, 1, 1, 0, START_MS, 1, 300);
    char topic[128], payload[16];
    int64_t ts;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(scn_next(s, topic, sizeof(topic), payload, sizeof(payload), &ts), -1);
    scn_free(s);
}
END_TEST

/* 24 h mean of (core - ambient) over the hours [h - 24, h), from the
 * published readings; NAN when an hour is missing. */
static double delta24(const struct run *r, int d, int64_t h)
{
    double sum = 0;

    if (h < 24)
        return NAN;
    for (int64_t k = h - 24; k < h; k++) {
        if (r->core_n[d][k] == 0 || r->amb_n[k] == 0)
            return NAN;
        sum += r->core_sum[d][k] / r->core_n[d][k] - r->amb_sum[k] / r->amb_n[k];
    }
    return sum / 24.0;
}

/* The truth's maturity, re-checked from the published (noisy) readings:
 * at the mature hour the batch is >= 35 days old, the moisture <= 50 %
 * (+ 1.5 for the probe's noise) and the 24 h mean delta was <= 2 C (+ 0.1
 * for the noise) at every hour of the past 7 days; the hour before that
 * streak it was above 2 C (- 0.1), unless the age or the moisture (above
 * 48.5 % in the day before) limited it; the harvest follows. */
static void check_maturity(const struct run *r, double min_day, double max_day)
{
    for (int d = 0; d < NDRUM; d++) {
        const cJSON *td = truth_drum(r, d);
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(td, "mature_ts_ms");
        int64_t m, h;

        ck_assert_msg(cJSON_IsNumber(mt), "drum %d never matured", d + 1);
        m = (int64_t)mt->valuedouble;
        ck_assert_int_eq((m - START_MS) % HOUR_MS, 0);
        h = (m - START_MS) / HOUR_MS;
        ck_assert_msg(m - START_MS >= 35 * DAY_MS, "drum %d mature before day 35", d + 1);
        ck_assert_msg((double)(m - START_MS) / DAY_MS >= min_day &&
                      (double)(m - START_MS) / DAY_MS <= max_day,
                      "drum %d mature on day %.2f", d + 1, (double)(m - START_MS) / DAY_MS);
        ck_assert_double_eq_tol(tnum(td, "mature_day"), (double)(m - START_MS) / DAY_MS, 0.001);
        for (int64_t k = h - 7 * 24; k <= h; k++) {
            double v = delta24(r, d, k);

            ck_assert_msg(v <= 2.1, "drum %d: 24 h mean delta %.2f at hour %lld of the "
                          "7 days before maturity", d + 1, v, (long long)k);
        }
        ck_assert_double_le(r->moist_hmax[d][h - 1], 51.5);
        if (m - START_MS > 35 * DAY_MS && r->moist_hmax[d][h - 24] <= 48.5) {
            double before = delta24(r, d, h - 7 * 24 - 1);

            ck_assert_msg(before > 1.9, "drum %d: the <= 2 C streak started before the "
                          "truth says (%.2f)", d + 1, before);
        }
        ck_assert_int_eq(r->harvests[d], 1);
    }
}

START_TEST(normal_matures_as_the_truth_says)
{
    struct run *r = new_run();
    int hot = 0;

    run_scenario("normal", SEED, 60, r, NULL, 0);
    ck_assert_int_eq(r->not_q16, 0);
    ck_assert_int_eq(r->ts_backwards, 0);
    ck_assert_int_eq((int64_t)tnum(r->truth, "messages"), (int64_t)r->msgs);
    check_maturity(r, 35.0, 50.0);
    for (int d = 0; d < NDRUM; d++) {
        const cJSON *td = truth_drum(r, d);
        double in = tnum(td, "input_mass_kg"), out = tnum(td, "output_mass_kg");

        hot += tnum(td, "hours_ge_55") >= 72.0;
        ck_assert(!is_true(td, "stalled"));
        /* a healthy batch never raises OVERHEAT (core >= 65 C for 30 min) */
        ck_assert(!is_true(td, "overheat"));
        ck_assert_double_lt(tnum(td, "peak_core_c"), 65.0);
        ck_assert_double_ge(tnum(td, "dT_max"), 16.0 * 0.95);
        ck_assert_double_le(tnum(td, "dT_max"), 31.5 * 1.05);
        /* turned every 3-7 days in the hot phase */
        ck_assert_int_ge(r->turns[d], 2);
        /* moisture at the end 40-48 % (+- the probe's noise) */
        ck_assert_double_ge(r->moist_last[d], 38.5);
        ck_assert_double_le(r->moist_last[d], 49.5);
        ck_assert_double_ge(out, 0.4 * in);
        ck_assert_double_le(out, 0.5 * in);
    }
    /* some drums pass the PFRP: >= 55 C for 3 days */
    ck_assert_int_ge(hot, 1);
    free_run(r);
}
END_TEST

START_TEST(stall_never_heats_and_never_matures)
{
    struct run *r = new_run();

    run_scenario("stall", SEED, 60, r, NULL, 0);
    for (int d = 0; d < NDRUM; d++) {
        const cJSON *td = truth_drum(r, d);

        ck_assert(is_true(td, "stalled"));
        ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(td, "mature_ts_ms")));
        ck_assert_double_le(tnum(td, "dT_max"), 6.0);
        ck_assert_int_eq(r->turns[d] + r->waters[d] + r->harvests[d], 0);
        /* the hub's STALLED rule: peak delta-T < 8 C; the 24 h mean from day 1 on */
        for (int64_t h = 24; h < 60 * 24; h++)
            ck_assert_double_lt(delta24(r, d, h), 8.0);
    }
    free_run(r);
}
END_TEST

START_TEST(overheat_runs_hot)
{
    struct run *r = new_run();

    run_scenario("overheat", SEED, 60, r, NULL, 0);
    for (int d = 0; d < NDRUM; d++) {
        const cJSON *td = truth_drum(r, d);
        int hot_hours = 0;

        ck_assert(is_true(td, "overheat"));
        ck_assert_double_ge(tnum(td, "peak_core_c"), 67.0);
        ck_assert_double_le(tnum(td, "peak_core_c"), 73.0);
        /* hourly means of the published core >= 65 C for many hours */
        for (int64_t h = 0; h < 60 * 24; h++)
            if (r->core_n[d][h] && r->core_sum[d][h] / r->core_n[d][h] >= 65.0)
                hot_hours++;
        ck_assert_int_ge(hot_hours, 6);
    }
    free_run(r);
}
END_TEST

START_TEST(too_dry_and_too_wet)
{
    struct run *r = new_run();

    run_scenario("too_dry", SEED, 60, r, NULL, 0);
    for (int d = 0; d < NDRUM; d++) {
        ck_assert_msg(r->moist_min_hot[d] < 35.0, "drum %d min %.1f", d + 1,
                      r->moist_min_hot[d]);
        ck_assert_int_eq(r->waters[d], 0);
        ck_assert_double_lt(r->moist_last[d], 35.0);
        /* dry leaves bottom out around 25 %, not at 0 */
        ck_assert_double_ge(r->moist_last[d], 23.0);
    }
    free_run(r);
    r = new_run();
    run_scenario("too_wet", SEED, 60, r, NULL, 0);
    for (int d = 0; d < NDRUM; d++) {
        ck_assert_msg(r->moist_min_hot[d] > 68.0, "drum %d min %.1f", d + 1,
                      r->moist_min_hot[d]);
        /* too wet to be mature: moisture > 50 % */
        ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(truth_drum(r, d),
                                                                 "mature_ts_ms")));
    }
    free_run(r);
}
END_TEST

START_TEST(tanks_overflow_and_spoil)
{
    struct run *r = new_run();
    const cJSON *tanks, *t1, *t2;

    run_scenario("tank_overflow", SEED, 60, r, NULL, 0);
    tanks = cJSON_GetObjectItemCaseSensitive(r->truth, "tanks");
    t1 = cJSON_GetArrayItem(tanks, 0);
    t2 = cJSON_GetArrayItem(tanks, 1);
    ck_assert(is_true(t1, "overflow"));
    ck_assert_double_ge(tnum(t1, "max_fill_pct"), 95.0);
    ck_assert(!is_true(t2, "overflow"));
    ck_assert_double_lt(tnum(t2, "max_fill_pct"), 95.0);
    /* the first fill is 150-200 L; the POC tank is drawn from, 5-25 L at a time */
    ck_assert_double_ge(tnum(t2, "litres_filled"), 150.0);
    ck_assert_double_le(tnum(t2, "litres_filled"), 200.0);
    ck_assert_double_ge(tnum(t1, "litres_drawn"), 5.0 * tnum(t1, "draws") - 1e-6);
    ck_assert_double_le(tnum(t1, "litres_drawn"), 25.0 * tnum(t1, "draws") + 1e-6);
    ck_assert_int_ge((int)tnum(t1, "draws"), 1);
    free_run(r);
    r = new_run();
    run_scenario("ferment_spoiled", SEED, 60, r, NULL, 0);
    tanks = cJSON_GetObjectItemCaseSensitive(r->truth, "tanks");
    ck_assert(is_true(cJSON_GetArrayItem(tanks, 0), "spoiled"));
    ck_assert(!is_true(cJSON_GetArrayItem(tanks, 1), "spoiled"));
    free_run(r);
}
END_TEST

/* Index of the first reading at or after ts in a probe log, or -1. */
static long at(const struct probe_log *pl, int64_t ts)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->ts[i] >= ts)
            return (long)i;
    return -1;
}

/* Every injected fault: after day 2, >= 12 h apart per probe, in the
 * published values as the truth says, and the drums still mature. */
START_TEST(sensor_faults_as_recorded)
{
    static const char *const fields[] = { "temp_core_c", "temp_mid_c", "temp_top_c" };
    struct probe_log logs[NDRUM * 3];
    struct run *r = new_run();
    const cJSON *faults, *f;
    int seen[5] = { 0 };
    int nf;

    memset(logs, 0, sizeof(logs));
    for (int d = 0; d < NDRUM; d++)
        for (int k = 0; k < 3; k++) {
            logs[d * 3 + k].drum = d + 1;
            logs[d * 3 + k].field = fields[k];
        }
    run_scenario("sensor_faults", SEED, 60, r, logs, NDRUM * 3);
    faults = cJSON_GetObjectItemCaseSensitive(r->truth, "faults");
    nf = cJSON_GetArraySize(faults);
    ck_assert_int_ge(nf, 5);
    cJSON_ArrayForEach(f, faults) {
        const char *reason = cJSON_GetObjectItemCaseSensitive(f, "reason")->valuestring;
        const char *field = cJSON_GetObjectItemCaseSensitive(f, "field")->valuestring;
        int id = atoi(cJSON_GetObjectItemCaseSensitive(f, "id")->valuestring);
        int64_t s = (int64_t)tnum(f, "start_ts_ms"), e = (int64_t)tnum(f, "end_ts_ms");
        const struct probe_log *pl = NULL;
        const cJSON *g;
        long i, j;

        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(f, "kind")->valuestring, "drum");
        for (int k = 0; k < NDRUM * 3; k++)
            if (logs[k].drum == id && strcmp(logs[k].field, field) == 0)
                pl = &logs[k];
        ck_assert_ptr_nonnull(pl);
        ck_assert_msg(s >= START_MS + 2 * DAY_MS, "%s before day 2", reason);
        ck_assert_int_ge(e, s);
        /* >= 12 h from every other fault of the same probe */
        cJSON_ArrayForEach(g, faults) {
            int64_t s2 = (int64_t)tnum(g, "start_ts_ms"), e2 = (int64_t)tnum(g, "end_ts_ms");

            if (g == f || atoi(cJSON_GetObjectItemCaseSensitive(g, "id")->valuestring) != id ||
                strcmp(cJSON_GetObjectItemCaseSensitive(g, "field")->valuestring, field) != 0)
                continue;
            ck_assert_msg(s2 >= e + 12 * HOUR_MS || s >= e2 + 12 * HOUR_MS,
                          "drum %d %s: faults closer than 12 h", id, field);
        }
        i = at(pl, s);
        ck_assert_msg(i > 0 && pl->ts[i] - s < 300000, "no reading at the start of %s",
                      reason);
        if (strcmp(reason, "ds18b20_power_on") == 0) {
            seen[0]++;
            ck_assert_double_eq(pl->v[i], 85.0);
            ck_assert_double_ne(pl->v[i + 1], 85.0);
        } else if (strcmp(reason, "ds18b20_disconnected") == 0) {
            seen[1]++;
            ck_assert_int_ge(e - s, 1 * HOUR_MS);
            ck_assert_int_le(e - s, 6 * HOUR_MS);
            for (j = i; j < (long)pl->n && pl->ts[j] <= e; j++)
                ck_assert_double_eq(pl->v[j], -127.0);
            ck_assert_double_ne(pl->v[j], -127.0);
        } else if (strcmp(reason, "stuck") == 0) {
            seen[2]++;
            ck_assert_int_ge(e - s, 8 * HOUR_MS);
            ck_assert_int_le(e - s, 12 * HOUR_MS);
            for (j = i; j < (long)pl->n && pl->ts[j] <= e; j++)
                ck_assert_double_eq(pl->v[j], pl->v[i]);
            /* in the hot phase: well above the air */
            ck_assert_double_gt(pl->v[i], 40.0);
        } else if (strcmp(reason, "spike") == 0) {
            double jump = pl->v[i] - (pl->v[i - 1] + pl->v[i + 1]) / 2.0;

            seen[3]++;
            ck_assert_msg(fabs(jump) >= 5.5 && fabs(jump) <= 15.5, "spike of %.2f", jump);
        } else if (strcmp(reason, "displaced") == 0) {
            long n = 0;
            double sum = 0;

            seen[4]++;
            ck_assert_str_eq(field, "temp_top_c");
            ck_assert_int_ge(e, START_MS + 59 * DAY_MS);
            /* it reads the air: within a few degrees of the site probe at day 7-8 */
            for (j = i; j < (long)pl->n && pl->ts[j] < s + DAY_MS; j++) {
                int64_t h = (pl->ts[j] - START_MS) / HOUR_MS;

                sum += pl->v[j] - r->amb_sum[h] / r->amb_n[h];
                n++;
            }
            ck_assert_int_gt(n, 200);
            ck_assert_double_lt(fabs(sum / (double)n), 1.0);
        } else {
            ck_abort_msg("unknown reason %s", reason);
        }
    }
    for (int k = 0; k < 5; k++)
        ck_assert_msg(seen[k] > 0, "fault kind %d never injected", k);
    check_maturity(r, 35.0, 50.0);
    for (int k = 0; k < NDRUM * 3; k++)
        probe_free(&logs[k]);
    free_run(r);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names_round_trip_and_list);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, one_day_message_count);
    tcase_add_test(tc, same_seed_same_messages);
    tcase_add_test(tc, small_buffers_are_refused);
    tcase_add_test(tc, normal_matures_as_the_truth_says);
    tcase_add_test(tc, stall_never_heats_and_never_matures);
    tcase_add_test(tc, overheat_runs_hot);
    tcase_add_test(tc, too_dry_and_too_wet);
    tcase_add_test(tc, tanks_overflow_and_spoil);
    tcase_add_test(tc, sensor_faults_as_recorded);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(scenario_suite)
