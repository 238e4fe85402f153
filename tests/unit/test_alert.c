/* SPDX-License-Identifier: MIT */
/* test_alert.c - the alert rule engine: for/clear_for on event time (in
 * order, out of order, accelerated), hysteresis, flapping, silent pending,
 * nodata on the wall clock, crit escalation, event rules, guards, bounds,
 * persistence across a restart and malformed state text. Every expected
 * count, id and time below is worked out by hand from the rule. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "check_main.h"
#include "hub_err.h"

#define SEC 1000000000LL
#define MIN (60 * SEC)
#define T0 (1764295200LL * SEC)   /* 2025-11-28 02:00 UTC */

static struct alert_rule num_rule(const char *name, const char *field,
                                  enum alert_op op, double thr, double clear,
                                  int64_t for_s, int64_t clear_for_s)
{
    struct alert_rule r;

    memset(&r, 0, sizeof(r));
    strcpy(r.name, name);
    strcpy(r.kind, "drum");
    strcpy(r.field, field);
    r.op = op;
    r.threshold = thr;
    r.clear_threshold = clear;
    r.for_s = for_s;
    r.clear_for_s = clear_for_s;
    r.severity = ALERT_WARN;
    r.crit_threshold = NAN;
    return r;
}

static struct alert_rule text_rule(const char *name, const char *field,
                                   const char *text)
{
    struct alert_rule r = num_rule(name, field, OP_EQ, 0, NAN, 0, 0);

    strcpy(r.text, text);
    r.event_rule = 1;
    r.severity = ALERT_INFO;
    return r;
}

/* The OVERHEAT shape: >= 65 for 30 min, clear below 63 for 10 min. */
static struct alert_rule overheat(void)
{
    return num_rule("DRUM_OVERHEAT", "temp_core_c", OP_GE, 65, 63, 30 * 60,
                    10 * 60);
}

static struct alert_engine *eng1(struct alert_rule r)
{
    struct alert_engine *e = alert_engine_new(&r, 1, 16);

    ck_assert_ptr_nonnull(e);
    return e;
}

/* Feed drum 3 of mekarsari at event minute m; the wall clock stands still
 * (an accelerated replay). */
static void feed_at(struct alert_engine *e, double v, int64_t m)
{
    alert_feed_num(e, "mekarsari", "drum", "3", "temp_core_c", v,
                   T0 + m * MIN, 0);
}

struct counts {
    int firing, resolved, nodata, nodata_end;
    struct alert_note last;
};

static void drain(struct alert_engine *e, struct counts *c)
{
    struct alert_note n;

    while (alert_next_note(e, &n)) {
        switch (n.what) {
        case NOTE_FIRING: c->firing++; break;
        case NOTE_RESOLVED: c->resolved++; break;
        case NOTE_NODATA: c->nodata++; break;
        case NOTE_NODATA_END: c->nodata_end++; break;
        }
        c->last = n;
    }
}

static int no_note(struct alert_engine *e)
{
    struct alert_note n;

    return !alert_next_note(e, &n);
}

START_TEST(fires_after_for_on_event_time)
{
    struct alert_engine *e = eng1(overheat());
    struct alert_note n;
    int64_t m;

    for (m = 0; m < 30; m++) {
        feed_at(e, 66.0, m);
        ck_assert(no_note(e));
    }
    feed_at(e, 71.0, 30);   /* 30 min after the first bad reading */
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_FIRING);
    ck_assert_str_eq(n.id, "a1");
    ck_assert_str_eq(n.rule, "DRUM_OVERHEAT");
    ck_assert_str_eq(n.msg_key, "DRUM_OVERHEAT");
    ck_assert_str_eq(n.site, "mekarsari");
    ck_assert_str_eq(n.kind, "drum");
    ck_assert_str_eq(n.obj_id, "3");
    ck_assert_str_eq(n.field, "temp_core_c");
    ck_assert_int_eq(n.severity, ALERT_WARN);
    ck_assert_int_eq(n.state, AS_FIRING);
    ck_assert_double_eq(n.value, 71.0);
    ck_assert_double_eq(n.threshold, 65.0);
    ck_assert_int_eq(n.since_ts_ns, T0);
    ck_assert_int_eq(n.ts_ns, T0 + 30 * MIN);
    ck_assert_int_eq(n.event_rule, 0);
    ck_assert(no_note(e));
    alert_engine_free(e);
}
END_TEST

START_TEST(pending_that_clears_sends_nothing)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m <= 20; m++)
        feed_at(e, 66.0, m);
    feed_at(e, 64.0, 21);           /* below 65: pending dropped */
    drain(e, &c);
    ck_assert_int_eq(c.firing + c.resolved, 0);
    /* a new run from minute 22 fires at 52, since 22 */
    for (m = 22; m < 52; m++)
        feed_at(e, 66.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    feed_at(e, 66.0, 52);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.last.since_ts_ns, T0 + 22 * MIN);
    ck_assert_int_eq(c.resolved, 0);
    alert_engine_free(e);
}
END_TEST

/* Crossing the fire threshold every minute for 5 h with for = 30 min:
 * the condition never holds 30 min, so nothing at all. */
START_TEST(flapping_with_for_sends_nothing)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m < 300; m++)
        feed_at(e, (m % 2) ? 60.0 : 66.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    ck_assert_int_eq(c.resolved, 0);
    alert_engine_free(e);
}
END_TEST

/* for = 0: 70 / 60 alternating for 5 h. 70 fires; 60 starts a clear run
 * that the next 70 breaks, so it stays one alert. 31 min of 60 resolve. */
START_TEST(flapping_gives_one_firing_one_resolved)
{
    struct alert_rule r = num_rule("DRUM_OVERHEAT", "temp_core_c", OP_GE, 65,
                                   63, 0, 30 * 60);
    struct alert_engine *e = eng1(r);
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m < 300; m++)
        feed_at(e, (m % 2) ? 60.0 : 70.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.resolved, 0);
    /* minute 299 was 60: the clear run starts there; 329 is 30 min on */
    for (m = 300; m < 329; m++)
        feed_at(e, 60.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 0);
    feed_at(e, 60.0, 329);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_str_eq(c.last.id, "a1");
    ck_assert_int_eq(c.last.since_ts_ns, T0);
    ck_assert_int_eq(c.last.ts_ns, T0 + 329 * MIN);
    ck_assert_int_eq(c.last.state, AS_NORMAL);
    alert_engine_free(e);
}
END_TEST

/* 64 / 66 around a 65 threshold with a 63 clear level: never clears. */
START_TEST(hovering_inside_hysteresis_band_stays_firing)
{
    struct alert_rule r = num_rule("X", "temp_core_c", OP_GE, 65, 63, 0, 0);
    struct alert_engine *e = eng1(r);
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m < 600; m++)
        feed_at(e, (m % 2) ? 64.0 : 66.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.resolved, 0);
    feed_at(e, 62.9, 600);      /* clear_for 0: first clear value resolves */
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_double_eq(c.last.value, 62.9);
    alert_engine_free(e);
}
END_TEST

START_TEST(hysteresis_needs_clear_level_for_clear_for)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m <= 30; m++)
        feed_at(e, 66.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    /* 2 h at 64: under the fire level, above the clear level */
    for (m = 31; m < 151; m++)
        feed_at(e, 64.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 0);
    /* 62 from 151; a 63.5 at 158 breaks the run; 62 again from 159 */
    for (m = 151; m < 158; m++)
        feed_at(e, 62.0, m);
    feed_at(e, 63.5, 158);
    for (m = 159; m < 169; m++)
        feed_at(e, 62.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 0);     /* 168 - 159 = 9 min < 10 */
    feed_at(e, 62.0, 169);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_int_eq(c.last.ts_ns, T0 + 169 * MIN);
    ck_assert_int_eq(c.firing, 1);
    alert_engine_free(e);
}
END_TEST

/* Bad readings at 10 and 20 min, then a late one at 0: the run starts at
 * 0, so the reading at 30 fires (since 0). */
START_TEST(late_bad_reading_moves_run_start_earlier)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    struct alert_stats st;

    feed_at(e, 66.0, 10);
    feed_at(e, 66.0, 20);
    feed_at(e, 66.0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    feed_at(e, 66.0, 30);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.last.since_ts_ns, T0);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.late_readings, 1);
    alert_engine_free(e);
}
END_TEST

/* Bad at 0, 10, 20; a late good reading at 5 breaks the run: it restarts
 * at the newest reading (20). 30 does not fire; 50 does, since 20. */
START_TEST(late_good_reading_restarts_pending_run)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };

    feed_at(e, 66.0, 0);
    feed_at(e, 66.0, 10);
    feed_at(e, 66.0, 20);
    feed_at(e, 50.0, 5);
    feed_at(e, 66.0, 30);
    feed_at(e, 66.0, 40);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    /* a late bad reading before the good one cannot extend the run */
    feed_at(e, 66.0, 2);
    feed_at(e, 66.0, 49);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    feed_at(e, 66.0, 50);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.last.since_ts_ns, T0 + 20 * MIN);
    alert_engine_free(e);
}
END_TEST

/* Firing; clear readings at 40 and 48 min; a late bad one at 45 moves the
 * clear run to the newest (48): resolves at 58, not at 50. A late clear
 * reading while firing does nothing. */
START_TEST(late_readings_while_firing_and_recovering)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    int64_t m;

    for (m = 0; m <= 30; m++)
        feed_at(e, 66.0, m);
    feed_at(e, 60.0, 15);          /* late clear while firing: ignored */
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.resolved, 0);
    feed_at(e, 60.0, 40);
    feed_at(e, 60.0, 48);
    feed_at(e, 66.0, 45);          /* late, breaks the clear run */
    feed_at(e, 60.0, 50);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 0);
    feed_at(e, 60.0, 57);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 0);
    feed_at(e, 60.0, 58);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_int_eq(c.last.ts_ns, T0 + 58 * MIN);
    alert_engine_free(e);
}
END_TEST

/* Wall time does not count for 'for': 30 wall minutes of the same event
 * timestamp fire nothing; 30 event minutes in 30 wall ms fire. */
START_TEST(for_uses_event_time_not_wall_time)
{
    struct alert_engine *e = eng1(overheat());
    struct counts c = { 0 };
    int64_t i;

    for (i = 0; i <= 30; i++)
        alert_feed_num(e, "s", "drum", "1", "temp_core_c", 66.0, T0,
                       i * 60000);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    for (i = 0; i <= 30; i++)
        alert_feed_num(e, "s", "drum", "2", "temp_core_c", 66.0,
                       T0 + i * MIN, i);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_str_eq(c.last.obj_id, "2");
    alert_engine_free(e);
}
END_TEST

START_TEST(nodata_on_wall_clock_and_ended_by_data)
{
    struct alert_rule r = num_rule("SENSOR_STALE", "temp_core_c", OP_NONE, 0,
                                   NAN, 0, 0);
    struct alert_engine *e;
    struct alert_note n;

    r.nodata_s = 900;
    e = eng1(r);
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 50.0, T0, 1000);
    alert_tick(e, 900999);
    ck_assert(no_note(e));
    alert_tick(e, 901000);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_NODATA);
    ck_assert_str_eq(n.id, "a1");
    ck_assert_int_eq(n.nodata_ms, 900000);
    ck_assert_int_eq(n.since_ts_ns, T0);
    ck_assert_int_eq(n.ts_ns, T0);
    ck_assert(no_note(e));
    alert_tick(e, 2000000);        /* raised once */
    ck_assert(no_note(e));
    /* an hour of event time passed, 2,400 s of wall time */
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 51.0, T0 + 60 * MIN,
                   2401000);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_NODATA_END);
    ck_assert_str_eq(n.id, "a1");
    ck_assert_int_eq(n.nodata_ms, 2400000);
    ck_assert(no_note(e));
    alert_tick(e, 2401000 + 899999);
    ck_assert(no_note(e));
    alert_tick(e, 2401000 + 900000);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_NODATA);
    ck_assert_str_eq(n.id, "a2");
    alert_engine_free(e);
}
END_TEST

/* A value rule with nodata: firing stays firing through the gap; the
 * firing and nodata episodes have their own ids. */
START_TEST(nodata_beside_firing)
{
    struct alert_rule r = num_rule("X", "temp_core_c", OP_GE, 65, NAN, 0, 0);
    struct alert_engine *e;
    struct counts c = { 0 };

    r.nodata_s = 60;
    e = eng1(r);
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 66.0, T0, 0);
    alert_tick(e, 60000);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.nodata, 1);
    ck_assert_str_eq(c.last.id, "a2");
    ck_assert_int_eq(c.last.state, AS_FIRING);
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 64.0, T0 + MIN, 70000);
    drain(e, &c);
    ck_assert_int_eq(c.nodata_end, 1);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_str_eq(c.last.id, "a1");      /* the resolve comes last */
    alert_engine_free(e);
}
END_TEST

START_TEST(crit_escalation_is_one_new_note)
{
    struct alert_rule r = num_rule("DRUM_OVERHEAT", "temp_core_c", OP_GE, 65,
                                   63, 0, 0);
    struct alert_engine *e;
    struct alert_note n;

    r.crit_threshold = 70;
    e = eng1(r);
    feed_at(e, 66.0, 0);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.severity, ALERT_WARN);
    ck_assert_int_eq(n.escalated, 0);
    feed_at(e, 68.0, 1);
    ck_assert(no_note(e));
    feed_at(e, 70.0, 2);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_FIRING);
    ck_assert_int_eq(n.severity, ALERT_CRIT);
    ck_assert_int_eq(n.escalated, 1);
    ck_assert_str_eq(n.id, "a1");
    ck_assert_double_eq(n.threshold, 70.0);
    ck_assert_int_eq(n.since_ts_ns, T0);
    feed_at(e, 72.0, 3);
    feed_at(e, 66.0, 4);           /* no way back to warn while firing */
    feed_at(e, 71.0, 5);
    ck_assert(no_note(e));
    feed_at(e, 60.0, 6);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_RESOLVED);
    ck_assert_int_eq(n.severity, ALERT_CRIT);
    /* next episode starts straight at crit: one note */
    feed_at(e, 75.0, 7);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.severity, ALERT_CRIT);
    ck_assert_int_eq(n.escalated, 0);
    ck_assert_str_eq(n.id, "a2");
    ck_assert(no_note(e));
    alert_engine_free(e);
}
END_TEST

/* Low-side rule (moisture < 40, crit < 30). */
START_TEST(crit_on_low_side_rule)
{
    struct alert_rule r = num_rule("DRUM_TOO_DRY", "moisture_pct", OP_LT, 40,
                                   42, 0, 0);
    struct alert_engine *e;
    struct alert_note n;

    r.crit_threshold = 30;
    e = eng1(r);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 29.5, T0, 0);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.severity, ALERT_CRIT);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 41.0, T0 + MIN, 0);
    ck_assert(no_note(e));          /* 41 < 42: not clear yet */
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 42.0, T0 + 2 * MIN, 0);
    ck_assert_int_eq(alert_next_note(e, &n), 1);
    ck_assert_int_eq(n.what, NOTE_RESOLVED);
    alert_engine_free(e);
}
END_TEST

static void count_active(const struct alert_note *n, void *ctx)
{
    (void)n;
    (*(int *)ctx)++;
}

START_TEST(event_rule_fires_once_per_transition)
{
    struct alert_engine *e = eng1(text_rule("DRUM_MATURE", "phase", "MATURE"));
    struct counts c = { 0 };
    int active = 0, i;

    alert_feed_text(e, "s", "drum", "3", "phase", "CURING", T0, 0);
    alert_feed_text(e, "s", "drum", "3", "phase", "MATURE", T0 + MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_str_eq(c.last.text, "MATURE");
    ck_assert_int_eq(c.last.event_rule, 1);
    ck_assert_int_eq(c.last.severity, ALERT_INFO);
    for (i = 2; i < 50; i++)
        alert_feed_text(e, "s", "drum", "3", "phase", "MATURE", T0 + i * MIN, 0);
    alert_foreach_active(e, count_active, &active);
    ck_assert_int_eq(active, 0);
    alert_feed_text(e, "s", "drum", "3", "phase", "HARVESTED", T0 + 50 * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_int_eq(c.resolved, 0);
    alert_feed_text(e, "s", "drum", "3", "phase", "MATURE", T0 + 51 * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 2);
    ck_assert_str_eq(c.last.id, "a2");
    /* numbers do not reach a text rule */
    alert_feed_num(e, "s", "drum", "4", "phase", 3.0, T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 2);
    alert_engine_free(e);
}
END_TEST

START_TEST(guard_limits_rule_to_phases)
{
    struct alert_rule r = num_rule("DRUM_TOO_DRY", "moisture_pct", OP_LT, 40,
                                   NAN, 0, 0);
    struct alert_engine *e;
    struct counts c = { 0 };

    strcpy(r.when_field, "phase");
    strcpy(r.when_text, "MESOPHILIC,THERMOPHILIC,COOLING");
    e = eng1(r);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 35, T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);         /* phase unknown */
    alert_feed_text(e, "s", "drum", "1", "phase", "CURING", T0 + MIN, 0);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 35, T0 + 2 * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 0);
    alert_feed_text(e, "s", "drum", "1", "phase", "THERMOPHILIC", T0 + 3 * MIN, 0);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 35, T0 + 4 * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    /* "COOL" is not "COOLING": the list is matched by whole items */
    alert_feed_text(e, "s", "drum", "1", "phase", "COOL", T0 + 5 * MIN, 0);
    alert_feed_num(e, "s", "drum", "1", "moisture_pct", 35, T0 + 6 * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.resolved, 1);
    alert_engine_free(e);
}
END_TEST

START_TEST(rules_match_kind_and_field)
{
    struct alert_rule r[2];
    struct alert_engine *e;
    struct counts c = { 0 };

    r[0] = num_rule("A", "temp_core_c", OP_GT, 10, NAN, 0, 0);
    r[1] = num_rule("B", "temp_core_c", OP_GT, 10, NAN, 0, 0);
    strcpy(r[1].kind, "*");
    e = alert_engine_new(r, 2, 8);
    ck_assert_ptr_nonnull(e);
    alert_feed_num(e, "s", "tank", "1", "temp_core_c", 20, T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_str_eq(c.last.rule, "B");
    alert_feed_num(e, "s", "drum", "1", "temp_mid_c", 20, T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    alert_feed_num(e, "s", "drum", "1", "temp_core_c", NAN, T0, 0);
    alert_feed_num(e, "s", "drum", "1", "temp_core_c", 20, T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 3);
    alert_engine_free(e);
}
END_TEST

static void collect_active(const struct alert_note *n, void *ctx)
{
    struct alert_note *out = ctx;

    *out = *n;
}

START_TEST(restart_neither_refires_nor_forgets)
{
    struct alert_engine *e = eng1(overheat()), *e2;
    struct counts c = { 0 };
    struct alert_note act;
    char *buf;
    size_t cap;
    int64_t m;
    int len, active = 0;

    for (m = 0; m <= 30; m++)
        feed_at(e, 66.0, m);
    /* drum 4 is pending since minute 20 */
    for (m = 20; m <= 30; m++)
        alert_feed_num(e, "mekarsari", "drum", "4", "temp_core_c", 67.0,
                       T0 + m * MIN, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    cap = alert_save_bound(e);
    buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    len = alert_save(e, buf, cap);
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(alert_save(e, buf, 10), HUB_ENOMEM);
    len = alert_save(e, buf, cap);
    ck_assert_int_eq((int)strlen(buf), len);
    alert_engine_free(e);

    e2 = eng1(overheat());
    ck_assert_int_eq(alert_load(e2, buf), HUB_OK);
    alert_foreach_active(e2, count_active, &active);
    ck_assert_int_eq(active, 1);
    alert_foreach_active(e2, collect_active, &act);
    ck_assert_str_eq(act.id, "a1");
    ck_assert_str_eq(act.obj_id, "3");
    ck_assert_int_eq(act.since_ts_ns, T0);
    ck_assert(no_note(e2));
    for (m = 31; m < 90; m++)
        feed_at(e2, 67.0, m);
    drain(e2, &c);
    ck_assert_int_eq(c.firing, 1);        /* still the one before the save */
    /* drum 4's pending run survived: fires at minute 50 (20 + 30) */
    for (m = 31; m < 50; m++)
        alert_feed_num(e2, "mekarsari", "drum", "4", "temp_core_c", 67.0,
                       T0 + m * MIN, 0);
    drain(e2, &c);
    ck_assert_int_eq(c.firing, 1);
    alert_feed_num(e2, "mekarsari", "drum", "4", "temp_core_c", 67.0,
                   T0 + 50 * MIN, 0);
    drain(e2, &c);
    ck_assert_int_eq(c.firing, 2);
    ck_assert_str_eq(c.last.id, "a2");     /* the id counter was saved */
    ck_assert_int_eq(c.last.since_ts_ns, T0 + 20 * MIN);
    /* one clear run of 10 min on drum 3: one RESOLVED with the old id */
    for (m = 90; m <= 100; m++)
        feed_at(e2, 55.0, m);
    drain(e2, &c);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_str_eq(c.last.id, "a1");
    ck_assert_str_eq(c.last.obj_id, "3");
    free(buf);
    alert_engine_free(e2);
}
END_TEST

/* Saved nodata stays raised (no second NODATA after a restart) and a
 * site/id with spaces and '%' round-trips. Lines of rules no longer
 * configured are skipped. */
START_TEST(restart_keeps_nodata_and_odd_names)
{
    struct alert_rule r = num_rule("SENSOR_STALE", "temp_core_c", OP_NONE, 0,
                                   NAN, 0, 0);
    struct alert_rule other = num_rule("OTHER", "x", OP_GT, 1, NAN, 0, 0);
    struct alert_engine *e, *e2;
    struct counts c = { 0 };
    char buf[4096];
    struct alert_note act;

    r.nodata_s = 60;
    e = eng1(r);
    alert_feed_num(e, "kebun 50% -", "drum", "d-1", "temp_core_c", 40, T0, 0);
    alert_tick(e, 60000);
    drain(e, &c);
    ck_assert_int_eq(c.nodata, 1);
    ck_assert_int_gt(alert_save(e, buf, sizeof(buf)), 0);
    alert_engine_free(e);

    e2 = eng1(r);
    ck_assert_int_eq(alert_load(e2, buf), HUB_OK);
    alert_tick(e2, 5);
    alert_tick(e2, 500000);
    ck_assert(no_note(e2));
    alert_foreach_active(e2, collect_active, &act);
    ck_assert_int_eq(act.nodata, 1);
    ck_assert_str_eq(act.site, "kebun 50% -");
    ck_assert_str_eq(act.obj_id, "d-1");
    ck_assert_int_eq(act.what, NOTE_NODATA);
    alert_feed_num(e2, "kebun 50% -", "drum", "d-1", "temp_core_c", 41,
                   T0 + MIN, 600000);
    drain(e2, &c);
    ck_assert_int_eq(c.nodata_end, 1);
    ck_assert_str_eq(c.last.id, "a1");
    alert_engine_free(e2);

    e2 = eng1(other);
    ck_assert_int_eq(alert_load(e2, buf), HUB_OK);
    ck_assert(no_note(e2));
    alert_engine_free(e2);
}
END_TEST

static const char *const garbage[] = {
    "",
    "hello",
    "kompos-alert 2 5\n",
    "kompos-alert 1 0\n",
    "kompos-alert 1 x\n",
    "kompos-alert 1 5\nI\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 9 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 7 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s%G1 drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s%00 drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 inf -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 99999999999999999999 0 0 0 0 0 0 -1 66 -\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 - extra\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 %\n",
    "kompos-alert 1 5\nI DRUM_OVERHEAT temp_core_c s drum 3 2 1 aaaaaaaaaaaaaaaaaaaaaaaa 0 - 1 0 0 0 0 0 0 0 -1 66 -\n",
};

START_TEST(load_rejects_garbage)
{
    struct alert_engine *e = eng1(overheat());
    struct alert_stats st;

    ck_assert_int_eq(alert_load(e, garbage[_i]), HUB_EINVAL);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 0);
    alert_engine_free(e);
}
END_TEST

/* A good line followed by a bad one: nothing is loaded. Random bytes and
 * an over-long line do not crash. */
START_TEST(load_is_all_or_nothing)
{
    struct alert_engine *e = eng1(overheat());
    struct alert_stats st;
    char *big;
    unsigned seed = 7;
    int i, j;
    const char *good_then_bad =
        "kompos-alert 1 5\n"
        "I DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n"
        "I DRUM_OVERHEAT\n";
    const char *good =
        "kompos-alert 1 5\n"
        "I DRUM_OVERHEAT temp_core_c s drum 3 2 1 a1 0 - 1 0 0 0 0 0 0 0 -1 66 -\n";

    ck_assert_int_eq(alert_load(e, good_then_bad), HUB_EINVAL);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 0);
    ck_assert_int_eq(alert_load(e, good), HUB_OK);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 1);
    ck_assert_int_eq(alert_load(e, NULL), HUB_EINVAL);

    big = malloc(5000);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "kompos-alert 1 5\nI ");
    memset(big + strlen(big), 'x', 3000);
    big[3019] = '\0';
    ck_assert_int_eq(alert_load(e, big), HUB_EINVAL);
    for (i = 0; i < 200; i++) {
        size_t n = 17 + (size_t)(rand_r(&seed) % 200);

        strcpy(big, "kompos-alert 1 5\n");
        for (j = 17; j < (int)n; j++)
            big[j] = (char)(1 + rand_r(&seed) % 255);
        big[n] = '\0';
        (void)alert_load(e, big);
    }
    free(big);
    alert_engine_free(e);
}
END_TEST

START_TEST(instances_are_bounded)
{
    struct alert_rule r = num_rule("SENSOR_STALE", "temp_core_c", OP_NONE, 0,
                                   NAN, 0, 0);
    struct alert_rule plain = num_rule("X", "temp_core_c", OP_GT, 100, NAN, 0, 0);
    struct alert_engine *e;
    struct alert_stats st;

    r.nodata_s = 60;
    e = alert_engine_new(&r, 1, 2);
    ck_assert_ptr_nonnull(e);
    alert_feed_num(e, "s", "drum", "1", "temp_core_c", 1, T0, 0);
    alert_feed_num(e, "s", "drum", "2", "temp_core_c", 1, T0, 0);
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 1, T0, 0);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 2);
    ck_assert_uint_eq(st.instances_full, 1);
    alert_engine_free(e);

    /* idle instances of a rule without nodata are recycled */
    e = alert_engine_new(&plain, 1, 2);
    ck_assert_ptr_nonnull(e);
    alert_feed_num(e, "s", "drum", "1", "temp_core_c", 1, T0, 0);
    alert_feed_num(e, "s", "drum", "2", "temp_core_c", 101, T0, 0);
    alert_feed_num(e, "s", "drum", "3", "temp_core_c", 1, T0, 0);
    alert_feed_num(e, "s", "drum", "4", "temp_core_c", 1, T0, 0);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 2);
    ck_assert_uint_eq(st.instances_full, 0);  /* 3 took 1's slot, 4 took 3's */
    alert_feed_num(e, "s", "drum", "4", "temp_core_c", 101, T0, 0);
    alert_feed_num(e, "s", "drum", "5", "temp_core_c", 1, T0, 0);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.instances, 2);
    ck_assert_uint_eq(st.instances_full, 1);  /* 2 and 4 firing: no room */
    alert_engine_free(e);
}
END_TEST

/* max_instances 1: queue of 33 notes; 40 MATURE transitions undrained
 * drop 7. */
START_TEST(note_queue_is_bounded)
{
    struct alert_engine *e;
    struct alert_rule r = text_rule("DRUM_MATURE", "phase", "MATURE");
    struct alert_stats st;
    struct counts c = { 0 };
    int i;

    e = alert_engine_new(&r, 1, 1);
    ck_assert_ptr_nonnull(e);
    for (i = 0; i < 80; i++)
        alert_feed_text(e, "s", "drum", "1", "phase",
                        (i % 2) ? "CURING" : "MATURE", T0 + i * MIN, 0);
    alert_engine_stats(e, &st);
    ck_assert_uint_eq(st.notes_dropped, 7);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 33);
    alert_engine_free(e);
}
END_TEST

START_TEST(rule_check_rejects_bad_rules)
{
    struct alert_rule r;
    char err[128];

    r = overheat();
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_OK);
    r.threshold = NAN;
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "DRUM_OVERHEAT"));
    r = overheat();
    r.for_s = -1;
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    r = overheat();
    strcpy(r.text, "MATURE");        /* text rule with GE */
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    r = overheat();
    r.op = OP_NONE;                  /* no condition, no nodata */
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    r = overheat();
    r.name[0] = '\0';
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    r = overheat();
    memset(r.field, 'f', sizeof(r.field));
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_null(alert_engine_new(&r, 1, 4));
    r = overheat();
    strcpy(r.when_field, "phase");
    ck_assert_int_eq(alert_rule_check(&r, err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_null(alert_engine_new(&r, 0, 4));
    ck_assert_ptr_null(alert_engine_new(&r, 1, 0));
    alert_engine_free(NULL);
}
END_TEST

START_TEST(default_rules_are_valid_and_overheat_works)
{
    struct alert_rule rules[64];
    size_t n = alert_default_rules(rules, 64), i;
    struct alert_engine *e;
    struct counts c = { 0 };
    int64_t m;
    char err[128];

    ck_assert_uint_eq(n, alert_default_rules(NULL, 0));
    ck_assert_uint_eq(n, 23);
    for (i = 0; i < n; i++)
        ck_assert_msg(alert_rule_check(&rules[i], err, sizeof(err)) == HUB_OK,
                      "%s", err);
    e = alert_engine_new(rules, n, 64);
    ck_assert_ptr_nonnull(e);
    /* 65 C for 30 min fires DRUM_OVERHEAT (warn); DRUM_TURN_DUE needs
     * the THERMOPHILIC phase, which was not fed */
    for (m = 0; m <= 30; m++)
        feed_at(e, 65.0, m);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 1);
    ck_assert_str_eq(c.last.rule, "DRUM_OVERHEAT");
    ck_assert_int_eq(c.last.severity, ALERT_WARN);
    feed_at(e, 70.0, 31);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 2);
    ck_assert_int_eq(c.last.severity, ALERT_CRIT);
    alert_feed_text(e, "mekarsari", "drum", "3", "phase", "MATURE", T0, 0);
    drain(e, &c);
    ck_assert_int_eq(c.firing, 3);
    ck_assert_str_eq(c.last.rule, "DRUM_MATURE");
    alert_engine_free(e);
}
END_TEST

START_TEST(names)
{
    enum alert_op op = OP_GT;
    enum alert_sev sev = ALERT_INFO;
    struct alert_rule r[2];

    ck_assert_int_eq(alert_op_parse(">=", &op), HUB_OK);
    ck_assert_int_eq(op, OP_GE);
    ck_assert_int_eq(alert_op_parse("ne", &op), HUB_OK);
    ck_assert_int_eq(op, OP_NE);
    ck_assert_int_eq(alert_op_parse("=>", &op), HUB_EINVAL);
    ck_assert_int_eq(op, OP_NE);
    ck_assert_int_eq(alert_sev_parse("crit", &sev), HUB_OK);
    ck_assert_int_eq(sev, ALERT_CRIT);
    ck_assert_int_eq(alert_sev_parse("critical", &sev), HUB_EINVAL);
    /* the same name and field twice cannot be told apart in saved state */
    r[0] = overheat();
    r[1] = overheat();
    ck_assert_ptr_null(alert_engine_new(r, 2, 4));
    strcpy(r[1].field, "temp_mid_c");
    r[1].nodata_s = ALERT_MAX_DURATION_S + 1;
    ck_assert_ptr_null(alert_engine_new(r, 2, 4));
    r[1].nodata_s = ALERT_MAX_DURATION_S;
    {
        struct alert_engine *e = alert_engine_new(r, 2, 4);

        ck_assert_ptr_nonnull(e);
        alert_engine_free(e);
    }
    ck_assert_str_eq(alert_sev_name(ALERT_CRIT), "crit");
    ck_assert_str_eq(alert_what_name(NOTE_NODATA_END), "nodata_end");
    ck_assert_str_eq(alert_state_name(AS_RECOVERING), "recovering");
}
END_TEST

static Suite *alert_suite(void)
{
    Suite *s = suite_create("alert");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, fires_after_for_on_event_time);
    tcase_add_test(tc, pending_that_clears_sends_nothing);
    tcase_add_test(tc, flapping_with_for_sends_nothing);
    tcase_add_test(tc, flapping_gives_one_firing_one_resolved);
    tcase_add_test(tc, hovering_inside_hysteresis_band_stays_firing);
    tcase_add_test(tc, hysteresis_needs_clear_level_for_clear_for);
    tcase_add_test(tc, late_bad_reading_moves_run_start_earlier);
    tcase_add_test(tc, late_good_reading_restarts_pending_run);
    tcase_add_test(tc, late_readings_while_firing_and_recovering);
    tcase_add_test(tc, for_uses_event_time_not_wall_time);
    tcase_add_test(tc, nodata_on_wall_clock_and_ended_by_data);
    tcase_add_test(tc, nodata_beside_firing);
    tcase_add_test(tc, crit_escalation_is_one_new_note);
    tcase_add_test(tc, crit_on_low_side_rule);
    tcase_add_test(tc, event_rule_fires_once_per_transition);
    tcase_add_test(tc, guard_limits_rule_to_phases);
    tcase_add_test(tc, rules_match_kind_and_field);
    tcase_add_test(tc, restart_neither_refires_nor_forgets);
    tcase_add_test(tc, restart_keeps_nodata_and_odd_names);
    tcase_add_loop_test(tc, load_rejects_garbage, 0,
                        (int)(sizeof(garbage) / sizeof(garbage[0])));
    tcase_add_test(tc, load_is_all_or_nothing);
    tcase_add_test(tc, instances_are_bounded);
    tcase_add_test(tc, note_queue_is_bounded);
    tcase_add_test(tc, rule_check_rejects_bad_rules);
    tcase_add_test(tc, default_rules_are_valid_and_overheat_works);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(alert_suite)
