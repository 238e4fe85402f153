/* SPDX-License-Identifier: MIT */
/* test_sanit.c - sanitisation arithmetic: standard names, consecutive runs
 * with the gap rule (a 20-min gap bridges, a 90-min gap breaks, a cold
 * sample breaks), turns counted in a run, and the status per standard:
 * consecutive vs cumulative on the same numbers, UNKNOWN, NOT_DEMONSTRATED
 * and FAIL. Every expected value is computed by hand in the comments. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "hub_err.h"
#include "sanit.h"

#define MIN (60LL * 1000000000LL)
#define HOUR (60 * MIN)
#define GAP (60 * MIN)          /* the §2.2 default max_gap */
#define T0 (1764288000LL * 1000000000LL)

static const struct {
    const char *name;
    enum sanit_standard s;
} names[] = {
    { "none", SANIT_NONE },
    { "us_pfrp_invessel", SANIT_US_PFRP_INVESSEL },
    { "us_pfrp_windrow", SANIT_US_PFRP_WINDROW },
    { "fr_72h_cumulative", SANIT_FR_72H_CUMULATIVE },
    { "uk_pas100", SANIT_UK_PAS100 },
};

START_TEST(standard_names_round_trip)
{
    enum sanit_standard s = SANIT_NONE;

    ck_assert_int_eq(sanit_standard_parse(names[_i].name, &s), HUB_OK);
    ck_assert_int_eq(s, names[_i].s);
    ck_assert_str_eq(sanit_standard_name(names[_i].s), names[_i].name);
}
END_TEST

START_TEST(bad_standard_names_rejected)
{
    enum sanit_standard s = SANIT_UK_PAS100;

    ck_assert_int_eq(sanit_standard_parse("US_PFRP_INVESSEL", &s), HUB_EINVAL);
    ck_assert_int_eq(sanit_standard_parse("", &s), HUB_EINVAL);
    ck_assert_int_eq(sanit_standard_parse(NULL, &s), HUB_EINVAL);
    ck_assert_int_eq(s, SANIT_UK_PAS100);
    ck_assert_int_eq(sanit_standard_parse("pas100", &s), HUB_OK);
    ck_assert_int_eq(s, SANIT_UK_PAS100);
    ck_assert_int_eq(sanit_standard_parse("us_pfrp_vessel", &s), HUB_OK);
    ck_assert_int_eq(s, SANIT_US_PFRP_INVESSEL);
    ck_assert_str_eq(sanit_standard_name((enum sanit_standard)42), "?");
    ck_assert_str_eq(sanit_status_name(SANIT_NOT_DEMONSTRATED), "NOT_DEMONSTRATED");
    ck_assert_str_eq(sanit_status_name(SANIT_PASS), "PASS");
    ck_assert_str_eq(sanit_status_name(SANIT_FAIL), "FAIL");
    ck_assert_str_eq(sanit_status_name(SANIT_UNKNOWN), "UNKNOWN");
}
END_TEST

/* feed samples every 5 min in [from, to] (minutes), all with 'above' */
static void feed(struct sanit_run *r, int from, int to, int above)
{
    int m;

    for (m = from; m <= to; m += 5)
        sanit_run_sample(r, T0 + m * MIN, above, GAP);
}

/* 0, 5, ..., 180 min all above: run = 180 - 0 = 3 h */
START_TEST(run_of_five_minute_samples)
{
    struct sanit_run r;

    sanit_run_init(&r, 0);
    feed(&r, 0, 180, 1);
    ck_assert_int_eq(r.longest_ns, 3 * HOUR);
    ck_assert_int_eq(sanit_run_current_ns(&r), 3 * HOUR);
}
END_TEST

/* 0..60 min, nothing until 80 (a 20-min gap < 60), then 80..120: one run of
 * 120 min. */
START_TEST(twenty_minute_gap_keeps_the_run)
{
    struct sanit_run r;

    sanit_run_init(&r, 0);
    feed(&r, 0, 60, 1);
    feed(&r, 80, 120, 1);
    ck_assert_int_eq(r.longest_ns, 120 * MIN);
    ck_assert_int_eq(sanit_run_current_ns(&r), 120 * MIN);
}
END_TEST

/* 0..60, gap of 90 min, 150..240: two runs of 60 and 90 min. */
START_TEST(long_gap_breaks_the_run)
{
    struct sanit_run r;

    sanit_run_init(&r, 0);
    feed(&r, 0, 60, 1);
    feed(&r, 150, 240, 1);
    ck_assert_int_eq(r.longest_ns, 90 * MIN);
    ck_assert_int_eq(sanit_run_current_ns(&r), 90 * MIN);
    ck_assert_int_eq(r.start_ns, T0 + 150 * MIN);
}
END_TEST

/* exactly max_gap apart still bridges (<= max_gap) */
START_TEST(gap_of_exactly_max_gap_bridges)
{
    struct sanit_run r;

    sanit_run_init(&r, 0);
    feed(&r, 0, 30, 1);
    feed(&r, 90, 100, 1);
    ck_assert_int_eq(r.longest_ns, 100 * MIN);
    sanit_run_sample(&r, T0 + 161 * MIN, 1, GAP);     /* 61 min: breaks */
    ck_assert_int_eq(sanit_run_current_ns(&r), 0);
    ck_assert_int_eq(r.longest_ns, 100 * MIN);
}
END_TEST

/* a cold sample at 60 ends the run at 55; the next starts at 65 */
START_TEST(cold_sample_breaks_the_run)
{
    struct sanit_run r;

    sanit_run_init(&r, 0);
    feed(&r, 0, 55, 1);
    sanit_run_sample(&r, T0 + 60 * MIN, 0, GAP);
    ck_assert_int_eq(sanit_run_current_ns(&r), 0);
    feed(&r, 65, 100, 1);
    ck_assert_int_eq(r.longest_ns, 55 * MIN);
    ck_assert_int_eq(sanit_run_current_ns(&r), 35 * MIN);
    /* older sample is ignored */
    sanit_run_sample(&r, T0 + 10 * MIN, 0, GAP);
    ck_assert_int_eq(sanit_run_current_ns(&r), 35 * MIN);
}
END_TEST

/* windrow: turns count only inside a run; a run with 2 turns (req 2) */
START_TEST(turns_counted_within_run)
{
    struct sanit_run r;

    sanit_run_init(&r, 2);
    sanit_run_turn(&r);                    /* no run yet: not counted */
    feed(&r, 0, 60, 1);
    sanit_run_turn(&r);
    feed(&r, 65, 120, 1);
    ck_assert_int_eq(r.best_with_turns_ns, 0);     /* 1 turn only */
    sanit_run_turn(&r);
    ck_assert_int_eq(r.best_with_turns_ns, 120 * MIN);
    feed(&r, 125, 180, 1);
    ck_assert_int_eq(r.best_with_turns_ns, 180 * MIN);
    ck_assert_int_eq(r.longest_turns, 2);
    sanit_run_sample(&r, T0 + 185 * MIN, 0, GAP);  /* run over, turns reset */
    feed(&r, 190, 400, 1);
    ck_assert_int_eq(r.longest_ns, 210 * MIN);
    ck_assert_int_eq(r.best_with_turns_ns, 180 * MIN);
}
END_TEST

static struct sanit_inputs base_in(void)
{
    struct sanit_inputs in;

    memset(&in, 0, sizeof(in));
    in.known_h = 500;
    in.have_moisture = 1;
    return in;
}

/* Two 40 h stretches at >= 55 with a dip between: longest run 40 h,
 * cumulative 80 h. US in-vessel wants 72 consecutive: not yet / FAIL;
 * FR wants 72 cumulative: PASS. */
START_TEST(consecutive_vs_cumulative)
{
    struct sanit_req q;
    struct sanit_inputs in = base_in();

    sanit_req_defaults(&q);
    in.run55_longest_h = 40;
    in.cum55_h = 80;
    in.reached_threshold = 1;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_NOT_DEMONSTRATED);
    ck_assert_int_eq(sanit_eval(SANIT_FR_72H_CUMULATIVE, &q, &in), SANIT_PASS);
    in.finished = 1;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_FAIL);
    ck_assert_int_eq(sanit_eval(SANIT_FR_72H_CUMULATIVE, &q, &in), SANIT_PASS);
    in.run55_longest_h = 72;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_PASS);
    in.run55_longest_h = 71.99;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_FAIL);
}
END_TEST

START_TEST(windrow_needs_turns_and_fifteen_days)
{
    struct sanit_req q;
    struct sanit_inputs in = base_in();

    sanit_req_defaults(&q);
    in.reached_threshold = 1;
    in.finished = 1;
    in.run55_longest_h = 400;        /* 16.7 d but too few turns */
    in.run55_turns_best_h = 300;     /* 12.5 d with 5 turns */
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_WINDROW, &q, &in), SANIT_FAIL);
    in.run55_turns_best_h = 360;     /* 15 d */
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_WINDROW, &q, &in), SANIT_PASS);
}
END_TEST

START_TEST(pas100_run_and_moisture)
{
    struct sanit_req q;
    struct sanit_inputs in = base_in();

    sanit_req_defaults(&q);
    in.run55_longest_h = 500;
    in.run65wet_longest_h = 167;
    in.reached_threshold = 1;
    in.finished = 1;
    ck_assert_int_eq(sanit_eval(SANIT_UK_PAS100, &q, &in), SANIT_FAIL);
    in.have_moisture = 0;            /* hot enough, moisture never measured */
    ck_assert_int_eq(sanit_eval(SANIT_UK_PAS100, &q, &in), SANIT_UNKNOWN);
    in.have_moisture = 1;
    in.run65wet_longest_h = 168;
    ck_assert_int_eq(sanit_eval(SANIT_UK_PAS100, &q, &in), SANIT_PASS);
}
END_TEST

START_TEST(unknown_and_not_demonstrated)
{
    struct sanit_req q;
    struct sanit_inputs in = base_in();

    sanit_req_defaults(&q);
    ck_assert_int_eq(sanit_eval(SANIT_NONE, &q, &in), SANIT_UNKNOWN);
    /* never reached 55, batch over: not demonstrated (not an error) */
    in.finished = 1;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_NOT_DEMONSTRATED);
    /* an hour with too few probes while the core was hot: unknown */
    in.unknown_hot_h = 1.0;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_UNKNOWN);
    in.unknown_hot_h = 0.5;
    ck_assert_int_eq(sanit_eval(SANIT_US_PFRP_INVESSEL, &q, &in), SANIT_NOT_DEMONSTRATED);
    /* no known data at all */
    in.known_h = 0;
    ck_assert_int_eq(sanit_eval(SANIT_FR_72H_CUMULATIVE, &q, &in), SANIT_UNKNOWN);
}
END_TEST

static Suite *sanit_suite(void)
{
    Suite *s = suite_create("sanit");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, standard_names_round_trip, 0, (int)(sizeof(names) / sizeof(names[0])));
    tcase_add_test(tc, bad_standard_names_rejected);
    tcase_add_test(tc, run_of_five_minute_samples);
    tcase_add_test(tc, twenty_minute_gap_keeps_the_run);
    tcase_add_test(tc, long_gap_breaks_the_run);
    tcase_add_test(tc, gap_of_exactly_max_gap_bridges);
    tcase_add_test(tc, cold_sample_breaks_the_run);
    tcase_add_test(tc, turns_counted_within_run);
    tcase_add_test(tc, consecutive_vs_cumulative);
    tcase_add_test(tc, windrow_needs_turns_and_fifteen_days);
    tcase_add_test(tc, pas100_run_and_moisture);
    tcase_add_test(tc, unknown_and_not_demonstrated);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(sanit_suite)
