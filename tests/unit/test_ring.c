/* SPDX-License-Identifier: MIT */
/* test_ring.c - the compact sample ring: capacity 1 and N, growth in
 * steps, wrap-around order (0 = newest), the drop return value, ms time
 * resolution, float values, moving the time origin, and the constructor's
 * refusals. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "ring.h"

#define MS 1000000LL     /* ns per ms */

static struct sample get(const struct ring *r, size_t i)
{
    struct sample s = { -1, -1.0 };

    ck_assert_msg(ring_get(r, i, &s) == 1, "sample %zu missing", i);
    return s;
}

START_TEST(capacity_zero_or_absurd_is_refused)
{
    ck_assert_ptr_null(ring_new(0));
    ck_assert_ptr_null(ring_new(SIZE_MAX));
    ck_assert_ptr_null(ring_new((1u << 24) + 1));
}
END_TEST

START_TEST(free_null_is_fine)
{
    ring_free(NULL);
}
END_TEST

START_TEST(empty_ring)
{
    struct ring *r = ring_new(5);
    struct sample s = { 7, 7.0 };

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(ring_count(r), 0);
    ck_assert_uint_eq(ring_capacity(r), 5);
    ck_assert_int_eq(ring_get(r, 0, &s), 0);
    ck_assert_int_eq(s.ts_ns, 7);           /* untouched */
    ring_free(r);
}
END_TEST

START_TEST(capacity_one)
{
    struct ring *r = ring_new(1);
    struct sample s;

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(ring_push(r, 100 * MS, 1.5), 0);
    s = get(r, 0);
    ck_assert_int_eq(s.ts_ns, 100 * MS);
    ck_assert_double_eq(s.v, 1.5);
    ck_assert_int_eq(ring_get(r, 1, &s), 0);
    ck_assert_int_eq(ring_push(r, 200 * MS, -2.25), 1);      /* 1.5 dropped */
    ck_assert_uint_eq(ring_count(r), 1);
    s = get(r, 0);
    ck_assert_int_eq(s.ts_ns, 200 * MS);
    ck_assert_double_eq(s.v, -2.25);
    ring_free(r);
}
END_TEST

/* Push 1..n into rings of several capacities (some beyond the first
 * allocation, so the ring grows while wrapped) and check, after every
 * push, the drop flag, the count and the whole newest-first order. */
static const size_t wrap_caps[] = { 1, 2, 3, 4, 7, 16, 17, 33, 100, 360 };

START_TEST(wrap_around_order)
{
    size_t cap = wrap_caps[_i];
    struct ring *r = ring_new(cap);
    size_t n, i, want_count;
    struct sample s;

    ck_assert_ptr_nonnull(r);
    for (n = 1; n <= 3 * cap + 2; n++) {
        ck_assert_int_eq(ring_push(r, 1764295200000LL * MS + (int64_t)n * 1000 * MS,
                                   (double)n * 0.5),
                         n > cap ? 1 : 0);
        want_count = n < cap ? n : cap;
        ck_assert_uint_eq(ring_count(r), want_count);
        /* under valgrind the whole order is checked after every 17th push only */
        if (hub_test_iters(20) < 20 && n % 17 != 0 && n < 3 * cap)
            continue;
        for (i = 0; i < want_count; i++) {
            s = get(r, i);
            ck_assert_msg(s.ts_ns == 1764295200000LL * MS + (int64_t)(n - i) * 1000 * MS,
                          "cap %zu after %zu pushes: get(%zu).ts_ns = %lld",
                          cap, n, i, (long long)s.ts_ns);
            ck_assert_double_eq(s.v, (double)(n - i) * 0.5);
        }
        ck_assert_int_eq(ring_get(r, want_count, &s), 0);
    }
    ring_free(r);
}
END_TEST

START_TEST(time_has_ms_resolution_and_floors)
{
    struct ring *r = ring_new(4);

    ring_push(r, 1764295200123456789LL, 1.0);
    ring_push(r, 1764295199999999999LL, 2.0);
    ck_assert_int_eq(get(r, 1).ts_ns, 1764295200123000000LL);
    ck_assert_int_eq(get(r, 0).ts_ns, 1764295199999000000LL);
    ring_free(r);
    r = ring_new(2);
    ring_push(r, -1, 3.0);                  /* 1 ns before the epoch */
    ck_assert_int_eq(get(r, 0).ts_ns, -1 * MS);
    ring_free(r);
}
END_TEST

START_TEST(values_are_floats)
{
    struct ring *r = ring_new(4);

    ring_push(r, 0, 56.25);                 /* exact in a float */
    ring_push(r, 0, 0.1);
    ring_push(r, 0, 1e300);                 /* beyond float: +Inf */
    ck_assert_double_eq(get(r, 2).v, 56.25);
    ck_assert_double_eq_tol(get(r, 1).v, 0.1, 1e-7);
    ck_assert(isinf(get(r, 0).v) && get(r, 0).v > 0);
    ring_free(r);
}
END_TEST

/* Samples 30 days apart: the origin moves, the newest stays exact and an
 * old one that no longer fits is clamped to 24.8 days before it. */
START_TEST(origin_moves)
{
    struct ring *r = ring_new(8);
    const int64_t day = 86400000LL * MS;

    ring_push(r, 10 * day, 1.0);
    ring_push(r, 10 * day + 5 * MS, 2.0);
    ring_push(r, 40 * day, 3.0);
    ck_assert_int_eq(get(r, 0).ts_ns, 40 * day);
    ck_assert_int_eq(get(r, 1).ts_ns, 40 * day + (int64_t)INT32_MIN * MS);
    ck_assert_double_eq(get(r, 1).v, 2.0);
    ring_push(r, 40 * day + 7 * MS, 4.0);
    ck_assert_int_eq(get(r, 0).ts_ns, 40 * day + 7 * MS);
    ring_free(r);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, capacity_zero_or_absurd_is_refused);
    tcase_add_test(tc, free_null_is_fine);
    tcase_add_test(tc, empty_ring);
    tcase_add_test(tc, capacity_one);
    tcase_add_loop_test(tc, wrap_around_order, 0,
                        (int)(sizeof(wrap_caps) / sizeof(wrap_caps[0])));
    tcase_add_test(tc, time_has_ms_resolution_and_floors);
    tcase_add_test(tc, values_are_floats);
    tcase_add_test(tc, origin_moves);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(ring_suite)
