/* SPDX-License-Identifier: MIT */
/* test_stats.c - windowed statistics in event time: alignment (also of
 * negative timestamps), closing by a later reading, late readings,
 * expiry with grace, and statistics over a ring with a 'since' filter.
 * Every expected value is computed by hand below. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "ring.h"
#include "stats.h"

#define MS 1000000LL     /* the ring keeps ms: sample times are whole ms */

#define SEC 1000000000LL
#define WIN (60 * SEC)

START_TEST(init_zeroes_the_window)
{
    struct stats_window w;

    memset(&w, 0x5a, sizeof(w));
    stats_window_init(&w);
    ck_assert_uint_eq(w.count, 0);
    ck_assert_int_eq(w.start_ns, 0);
    ck_assert_double_eq(w.sum, 0.0);
}
END_TEST

/* Readings at 0, 10, ..., 50 s and at the window's last nanosecond stay
 * in window [0, 60 s); the reading at exactly 60 s closes it. */
START_TEST(sixty_second_window_closes_at_sixty)
{
    static const struct { int64_t ts; double v; } in[] = {
        { 0 * SEC, 52.0 }, { 10 * SEC, 55.5 }, { 20 * SEC, 61.25 },
        { 30 * SEC, 49.75 }, { 40 * SEC, 58.0 }, { 50 * SEC, 60.5 },
        { 60 * SEC - 1, 57.0 },
    };
    struct stats_window w;
    struct stats_result r;
    size_t i;

    stats_window_init(&w);
    memset(&r, 0, sizeof(r));
    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        ck_assert_int_eq(stats_window_add(&w, WIN, in[i].ts, in[i].v, &r), 0);
    ck_assert_uint_eq(w.count, 7);
    ck_assert_int_eq(w.start_ns, 0);
    ck_assert_double_eq(w.sum, 394.0);

    ck_assert_int_eq(stats_window_add(&w, WIN, 60 * SEC, 40.0, &r), 1);
    ck_assert_int_eq(r.start_ns, 0);
    ck_assert_uint_eq(r.count, 7);
    ck_assert_double_eq(r.mean, 394.0 / 7.0);
    ck_assert_double_eq(r.min, 49.75);
    ck_assert_double_eq(r.max, 61.25);
    ck_assert_double_eq(r.last, 57.0);

    /* the new window holds only the 60 s reading */
    ck_assert_uint_eq(w.count, 1);
    ck_assert_int_eq(w.start_ns, 60 * SEC);
    ck_assert_double_eq(w.sum, 40.0);
    ck_assert_double_eq(w.min, 40.0);
    ck_assert_double_eq(w.max, 40.0);
    ck_assert_double_eq(w.last, 40.0);
}
END_TEST

/* Window starts for timestamps around zero and far from it. */
static const struct {
    int64_t ts, window, start;
} align_cases[] = {
    { 0,               WIN,  0 },
    { 1,               WIN,  0 },
    { WIN - 1,         WIN,  0 },
    { WIN,             WIN,  WIN },
    { -1,              WIN, -WIN },
    { -WIN,            WIN, -WIN },
    { -WIN + 1,        WIN, -WIN },
    { -WIN - 1,        WIN, -2 * WIN },
    { -90 * SEC,       WIN, -2 * WIN },
    { 1764295200123000000LL, WIN, 1764295200000000000LL - 1764295200000000000LL % WIN },
    { 1764295200123000000LL, SEC, 1764295200000000000LL },
    { 7,               5,    5 },
    { -7,              5,   -10 },
    { 12345,           1,    12345 },
};

START_TEST(alignment_table)
{
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    ck_assert_int_eq(stats_window_add(&w, align_cases[_i].window,
                                      align_cases[_i].ts, 1.0, &r), 0);
    ck_assert_msg(w.start_ns == align_cases[_i].start,
                  "case %d: ts %lld window %lld: start %lld, want %lld", _i,
                  (long long)align_cases[_i].ts, (long long)align_cases[_i].window,
                  (long long)w.start_ns, (long long)align_cases[_i].start);
    ck_assert_uint_eq(w.count, 1);
}
END_TEST

START_TEST(negative_window_closes_at_zero)
{
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    ck_assert_int_eq(stats_window_add(&w, WIN, -59 * SEC, 3.0, &r), 0);
    ck_assert_int_eq(stats_window_add(&w, WIN, -1, 5.0, &r), 0);
    ck_assert_int_eq(stats_window_add(&w, WIN, 0, 9.0, &r), 1);
    ck_assert_int_eq(r.start_ns, -WIN);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_double_eq(r.mean, 4.0);
    ck_assert_double_eq(r.min, 3.0);
    ck_assert_double_eq(r.max, 5.0);
    ck_assert_double_eq(r.last, 5.0);
    ck_assert_int_eq(w.start_ns, 0);
}
END_TEST

/* A reading older than the open window is counted in the open window. */
START_TEST(late_reading_counts_in_open_window)
{
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    ck_assert_int_eq(stats_window_add(&w, WIN, 125 * SEC, 10.0, &r), 0);
    ck_assert_int_eq(w.start_ns, 120 * SEC);
    ck_assert_int_eq(stats_window_add(&w, WIN, 30 * SEC, 2.0, &r), 0);   /* late */
    ck_assert_int_eq(stats_window_add(&w, WIN, -500 * SEC, 20.0, &r), 0); /* very late */
    ck_assert_uint_eq(w.count, 3);
    ck_assert_int_eq(w.start_ns, 120 * SEC);
    ck_assert_double_eq(w.min, 2.0);
    ck_assert_double_eq(w.max, 20.0);
    ck_assert_double_eq(w.last, 20.0);

    ck_assert_int_eq(stats_window_add(&w, WIN, 180 * SEC, 1.0, &r), 1);
    ck_assert_int_eq(r.start_ns, 120 * SEC);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_double_eq(r.mean, 32.0 / 3.0);
    ck_assert_double_eq(r.min, 2.0);
    ck_assert_double_eq(r.max, 20.0);
    ck_assert_double_eq(r.last, 20.0);
}
END_TEST

/* A reading that skips several windows closes the open one only; the
 * empty windows in between produce nothing. */
START_TEST(gap_closes_once)
{
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    stats_window_add(&w, WIN, 5 * SEC, 1.0, &r);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(stats_window_add(&w, WIN, 10 * WIN + 5, 2.0, &r), 1);
    ck_assert_int_eq(r.start_ns, 0);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq(r.mean, 1.0);
    ck_assert_int_eq(w.start_ns, 10 * WIN);
    ck_assert_uint_eq(w.count, 1);
}
END_TEST

START_TEST(expire_with_grace)
{
    const int64_t grace = 5 * SEC;
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    ck_assert_int_eq(stats_window_expire(&w, WIN, 1000 * SEC, grace, &r), 0); /* nothing open */
    stats_window_add(&w, WIN, 61 * SEC, 4.0, &r);
    stats_window_add(&w, WIN, 62 * SEC, 8.0, &r);
    stats_window_add(&w, WIN, 119 * SEC, 3.0, &r);
    /* window [60 s, 120 s): not before 125 s */
    ck_assert_int_eq(stats_window_expire(&w, WIN, 120 * SEC, grace, &r), 0);
    ck_assert_int_eq(stats_window_expire(&w, WIN, 125 * SEC - 1, grace, &r), 0);
    ck_assert_uint_eq(w.count, 3);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(stats_window_expire(&w, WIN, 125 * SEC, grace, &r), 1);  /* exactly at */
    ck_assert_int_eq(r.start_ns, 60 * SEC);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_double_eq(r.mean, 5.0);
    ck_assert_double_eq(r.min, 3.0);
    ck_assert_double_eq(r.max, 8.0);
    ck_assert_double_eq(r.last, 3.0);
    ck_assert_uint_eq(w.count, 0);
    /* closed once only */
    ck_assert_int_eq(stats_window_expire(&w, WIN, 500 * SEC, grace, &r), 0);

    /* the next reading opens a fresh window, with no trace of the old one */
    ck_assert_int_eq(stats_window_add(&w, WIN, 130 * SEC, 6.0, &r), 0);
    ck_assert_int_eq(w.start_ns, 120 * SEC);
    ck_assert_uint_eq(w.count, 1);
    ck_assert_double_eq(w.sum, 6.0);
    ck_assert_double_eq(w.min, 6.0);
    ck_assert_double_eq(w.max, 6.0);
}
END_TEST

START_TEST(expire_zero_grace)
{
    struct stats_window w;
    struct stats_result r;

    stats_window_init(&w);
    stats_window_add(&w, WIN, -30 * SEC, -1.5, &r);
    ck_assert_int_eq(stats_window_expire(&w, WIN, -1, 0, &r), 0);
    ck_assert_int_eq(stats_window_expire(&w, WIN, 0, 0, &r), 1);
    ck_assert_int_eq(r.start_ns, -WIN);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_double_eq(r.mean, -1.5);
}
END_TEST

/* ring of 4: pushes (10,1) (20,5) (30,3) (40,-2) (50,4) keep the last four */
static struct ring *filled_ring(void)
{
    struct ring *rg = ring_new(4);

    ck_assert_ptr_nonnull(rg);
    ring_push(rg, 10 * MS, 1.0);
    ring_push(rg, 20 * MS, 5.0);
    ring_push(rg, 30 * MS, 3.0);
    ring_push(rg, 40 * MS, -2.0);
    ring_push(rg, 50 * MS, 4.0);
    return rg;
}

static const struct {
    int64_t since;
    uint64_t count;
    int64_t start;
    double mean, min, max, last;
} ring_cases[] = {
    /* since   n  start mean        min   max  last */
    { INT64_MIN, 4, 20 * MS, 10.0 / 4.0, -2.0, 5.0, 4.0 },   /* 10 was overwritten */
    { 0 * MS,         4, 20 * MS, 10.0 / 4.0, -2.0, 5.0, 4.0 },
    { 20 * MS,        4, 20 * MS, 10.0 / 4.0, -2.0, 5.0, 4.0 },
    { 21 * MS,        3, 30 * MS, 5.0 / 3.0,  -2.0, 4.0, 4.0 },
    { 30 * MS,        3, 30 * MS, 5.0 / 3.0,  -2.0, 4.0, 4.0 },
    { 40 * MS,        2, 40 * MS, 1.0,        -2.0, 4.0, 4.0 },
    { 50 * MS,        1, 50 * MS, 4.0,         4.0, 4.0, 4.0 },
};

START_TEST(from_ring_since_table)
{
    struct ring *rg = filled_ring();
    struct stats_result r;

    ck_assert_uint_eq(stats_from_ring(rg, ring_cases[_i].since, &r), ring_cases[_i].count);
    ck_assert_uint_eq(r.count, ring_cases[_i].count);
    ck_assert_int_eq(r.start_ns, ring_cases[_i].start);
    ck_assert_double_eq(r.mean, ring_cases[_i].mean);
    ck_assert_double_eq(r.min, ring_cases[_i].min);
    ck_assert_double_eq(r.max, ring_cases[_i].max);
    ck_assert_double_eq(r.last, ring_cases[_i].last);
    ring_free(rg);
}
END_TEST

START_TEST(from_ring_nothing_recent_zeroes_out)
{
    struct ring *rg = filled_ring();
    struct stats_result r;

    memset(&r, 0x7f, sizeof(r));
    ck_assert_uint_eq(stats_from_ring(rg, 51 * MS, &r), 0);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_int_eq(r.start_ns, 0);
    ck_assert_double_eq(r.mean, 0.0);
    ck_assert_double_eq(r.min, 0.0);
    ck_assert_double_eq(r.max, 0.0);
    ck_assert_double_eq(r.last, 0.0);
    ring_free(rg);
}
END_TEST

START_TEST(from_empty_ring)
{
    struct ring *rg = ring_new(3);
    struct stats_result r;

    ck_assert_ptr_nonnull(rg);
    memset(&r, 0x7f, sizeof(r));
    ck_assert_uint_eq(stats_from_ring(rg, INT64_MIN, &r), 0);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_double_eq(r.mean, 0.0);
    ring_free(rg);
}
END_TEST

/* Samples pushed out of timestamp order: 'last' is the newest pushed,
 * start is the earliest timestamp used. */
START_TEST(from_ring_out_of_order)
{
    struct ring *rg = ring_new(8);
    struct stats_result r;

    ck_assert_ptr_nonnull(rg);
    ring_push(rg, 300 * MS, 7.0);
    ring_push(rg, 100 * MS, 1.0);   /* older, below since */
    ring_push(rg, 250 * MS, 2.0);
    ring_push(rg, 200 * MS, 9.0);
    ck_assert_uint_eq(stats_from_ring(rg, 200 * MS, &r), 3);
    ck_assert_int_eq(r.start_ns, 200 * MS);
    ck_assert_double_eq(r.mean, 6.0);
    ck_assert_double_eq(r.min, 2.0);
    ck_assert_double_eq(r.max, 9.0);
    ck_assert_double_eq(r.last, 9.0);
    ring_free(rg);
}
END_TEST

/* Readings near DBL_MAX: the window's sum never reaches Inf (on armhf long
 * double is double, so a plain sum did). P = 2^1023, exactly representable;
 * the true means, by hand. (The ring keeps floats, so its statistics never
 * see such values.) */
#define P 0x1p1023
static const struct {
    double v[4];
    int n;
    double mean;
} huge_cases[] = {
    { { P, P }, 2, P },                         /* 2P / 2                 */
    { { P, P, P, -P }, 4, 0x1p1022 },           /* 2P / 4 = P / 2         */
    { { -P, -P, -P }, 3, -P },                  /* -3P / 3                */
    { { DBL_MAX, -DBL_MAX }, 2, 0.0 },          /* 0 / 2                  */
    { { DBL_MAX, DBL_MAX }, 2, DBL_MAX },       /* 2 DBL_MAX / 2          */
    { { 1.5, 2.5, 3.5 }, 3, 2.5 },              /* 7.5 / 3, no scaling    */
};

START_TEST(huge_readings_do_not_overflow)
{
    struct stats_window w;
    struct stats_result r;
    int i;

    stats_window_init(&w);
    for (i = 0; i < huge_cases[_i].n; i++)
        ck_assert_int_eq(stats_window_add(&w, WIN, i * SEC, huge_cases[_i].v[i], &r), 0);
    ck_assert_int_eq(stats_window_close(&w, WIN, &r), 1);
    ck_assert_uint_eq(r.count, (uint64_t)huge_cases[_i].n);
    ck_assert(isfinite(r.mean));
    ck_assert_double_eq(r.mean, huge_cases[_i].mean);
}
END_TEST

/* Many readings of DBL_MAX: the mean stays finite and within rounding of
 * DBL_MAX (the sum is halved again and again). */
START_TEST(many_max_readings_keep_a_finite_mean)
{
    struct stats_window w;
    struct stats_result r;
    int i;

    stats_window_init(&w);
    for (i = 0; i < 1000; i++)
        stats_window_add(&w, WIN, i * MS, DBL_MAX, &r);
    ck_assert_int_eq(stats_window_close(&w, WIN, &r), 1);
    ck_assert_uint_eq(r.count, 1000);
    ck_assert(isfinite(r.mean));
    ck_assert(r.mean <= DBL_MAX && r.mean >= DBL_MAX * (1.0 - 1e-12));
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *win = tcase_create("window");
    TCase *ring = tcase_create("from_ring");

    tcase_add_test(win, init_zeroes_the_window);
    tcase_add_test(win, sixty_second_window_closes_at_sixty);
    tcase_add_loop_test(win, alignment_table, 0,
                        (int)(sizeof(align_cases) / sizeof(align_cases[0])));
    tcase_add_test(win, negative_window_closes_at_zero);
    tcase_add_test(win, late_reading_counts_in_open_window);
    tcase_add_test(win, gap_closes_once);
    tcase_add_test(win, expire_with_grace);
    tcase_add_test(win, expire_zero_grace);
    tcase_add_loop_test(win, huge_readings_do_not_overflow, 0,
                        (int)(sizeof(huge_cases) / sizeof(huge_cases[0])));
    tcase_add_test(win, many_max_readings_keep_a_finite_mean);
    suite_add_tcase(s, win);

    tcase_add_loop_test(ring, from_ring_since_table, 0,
                        (int)(sizeof(ring_cases) / sizeof(ring_cases[0])));
    tcase_add_test(ring, from_ring_nothing_recent_zeroes_out);
    tcase_add_test(ring, from_empty_ring);
    tcase_add_test(ring, from_ring_out_of_order);
    suite_add_tcase(s, ring);
    return s;
}

HUB_CHECK_MAIN(stats_suite)
