/* SPDX-License-Identifier: MIT */
/* test_ring.c - the fixed-capacity sample ring: capacity 1 and N,
 * wrap-around order (peek 0 = newest), the drop return value, count, and
 * the constructor's refusals. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "ring.h"

START_TEST(capacity_zero_is_refused)
{
    ck_assert_ptr_null(ring_new(0));
}
END_TEST

START_TEST(absurd_capacity_is_refused)
{
    /* capacity * sizeof(struct sample) would overflow size_t */
    ck_assert_ptr_null(ring_new(SIZE_MAX));
    ck_assert_ptr_null(ring_new(SIZE_MAX / sizeof(struct sample) + 1));
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

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(ring_count(r), 0);
    ck_assert_uint_eq(ring_capacity(r), 5);
    ck_assert_ptr_null(ring_peek(r, 0));
    ck_assert_ptr_null(ring_peek(r, 4));
    ring_free(r);
}
END_TEST

START_TEST(capacity_one)
{
    struct ring *r = ring_new(1);
    const struct sample *s;

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(ring_capacity(r), 1);
    ck_assert_int_eq(ring_push(r, 100, 1.5), 0);
    ck_assert_uint_eq(ring_count(r), 1);
    s = ring_peek(r, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->ts_ns, 100);
    ck_assert_double_eq(s->v, 1.5);
    ck_assert_ptr_null(ring_peek(r, 1));

    ck_assert_int_eq(ring_push(r, 200, -2.25), 1);      /* 1.5 dropped */
    ck_assert_uint_eq(ring_count(r), 1);
    s = ring_peek(r, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->ts_ns, 200);
    ck_assert_double_eq(s->v, -2.25);
    ck_assert_ptr_null(ring_peek(r, 1));

    ck_assert_int_eq(ring_push(r, 300, 7.0), 1);
    ck_assert_int_eq(ring_peek(r, 0)->ts_ns, 300);
    ck_assert_uint_eq(ring_count(r), 1);
    ring_free(r);
}
END_TEST

START_TEST(fills_then_drops_oldest)
{
    struct ring *r = ring_new(4);
    int i;

    ck_assert_ptr_nonnull(r);
    for (i = 1; i <= 4; i++) {
        ck_assert_int_eq(ring_push(r, i * 10, (double)i), 0);
        ck_assert_uint_eq(ring_count(r), (size_t)i);
    }
    /* full: 1 2 3 4, newest first */
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(ring_peek(r, (size_t)i)->ts_ns, (4 - i) * 10);
        ck_assert_double_eq(ring_peek(r, (size_t)i)->v, (double)(4 - i));
    }
    ck_assert_ptr_null(ring_peek(r, 4));

    ck_assert_int_eq(ring_push(r, 50, 5.0), 1);
    ck_assert_uint_eq(ring_count(r), 4);
    ck_assert_uint_eq(ring_capacity(r), 4);
    /* 2 3 4 5 */
    ck_assert_double_eq(ring_peek(r, 0)->v, 5.0);
    ck_assert_double_eq(ring_peek(r, 1)->v, 4.0);
    ck_assert_double_eq(ring_peek(r, 2)->v, 3.0);
    ck_assert_double_eq(ring_peek(r, 3)->v, 2.0);
    ck_assert_int_eq(ring_peek(r, 3)->ts_ns, 20);
    ck_assert_ptr_null(ring_peek(r, 4));
    ring_free(r);
}
END_TEST

/* Push 1..n into rings of several capacities and check, after every push,
 * the drop flag, the count and the whole newest-first order. */
static const size_t wrap_caps[] = { 1, 2, 3, 4, 7, 8, 16 };

START_TEST(wrap_around_order)
{
    size_t cap = wrap_caps[_i];
    struct ring *r = ring_new(cap);
    size_t n, i, want_count;

    ck_assert_ptr_nonnull(r);
    for (n = 1; n <= 3 * cap + 2; n++) {
        ck_assert_int_eq(ring_push(r, (int64_t)n * 1000, (double)n * 0.5),
                         n > cap ? 1 : 0);
        want_count = n < cap ? n : cap;
        ck_assert_uint_eq(ring_count(r), want_count);
        for (i = 0; i < want_count; i++) {
            const struct sample *s = ring_peek(r, i);

            ck_assert_ptr_nonnull(s);
            ck_assert_msg(s->ts_ns == (int64_t)(n - i) * 1000,
                          "cap %zu after %zu pushes: peek(%zu).ts_ns = %lld",
                          cap, n, i, (long long)s->ts_ns);
            ck_assert_double_eq(s->v, (double)(n - i) * 0.5);
        }
        ck_assert_ptr_null(ring_peek(r, want_count));
    }
    ring_free(r);
}
END_TEST

START_TEST(peek_far_out_of_range)
{
    struct ring *r = ring_new(3);

    ck_assert_ptr_nonnull(r);
    ring_push(r, 1, 1.0);
    ck_assert_ptr_null(ring_peek(r, 1));
    ck_assert_ptr_null(ring_peek(r, SIZE_MAX));
    ring_free(r);
}
END_TEST

START_TEST(keeps_nan_and_negative_timestamps)
{
    struct ring *r = ring_new(2);

    ck_assert_ptr_nonnull(r);
    ring_push(r, -5, -0.0);
    ring_push(r, INT64_MIN, 1e308);
    ck_assert_int_eq(ring_peek(r, 0)->ts_ns, INT64_MIN);
    ck_assert_double_eq(ring_peek(r, 0)->v, 1e308);
    ck_assert_int_eq(ring_peek(r, 1)->ts_ns, -5);
    ring_free(r);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, capacity_zero_is_refused);
    tcase_add_test(tc, absurd_capacity_is_refused);
    tcase_add_test(tc, free_null_is_fine);
    tcase_add_test(tc, empty_ring);
    tcase_add_test(tc, capacity_one);
    tcase_add_test(tc, fills_then_drops_oldest);
    tcase_add_loop_test(tc, wrap_around_order, 0,
                        (int)(sizeof(wrap_caps) / sizeof(wrap_caps[0])));
    tcase_add_test(tc, peek_far_out_of_range);
    tcase_add_test(tc, keeps_nan_and_negative_timestamps);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(ring_suite)
