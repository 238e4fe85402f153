/* SPDX-License-Identifier: MIT */
/* test_series.c - the series registry: find-or-create, distinct keys for
 * each of the four names (also when only a boundary moves), the hard cap
 * with its overflow count, creation-order iteration, and free(NULL). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "series.h"

static struct series_reg *reg;

static void setup(void)
{
    reg = series_reg_new(100, 8);
    ck_assert_ptr_nonnull(reg);
}

static void teardown(void)
{
    series_reg_free(reg);
    reg = NULL;
}

START_TEST(bad_arguments_are_refused)
{
    ck_assert_ptr_null(series_reg_new(0, 8));
    ck_assert_ptr_null(series_reg_new(8, 0));
}
END_TEST

START_TEST(free_null_is_fine)
{
    series_reg_free(NULL);
}
END_TEST

START_TEST(create_then_find_same_pointer)
{
    struct series *a, *b;
    int created = -1;

    ck_assert_uint_eq(series_reg_count(reg), 0);
    a = series_get(reg, "mekarsari", "drum", "3", "temp_core_c", &created);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(created, 1);
    ck_assert_uint_eq(series_reg_count(reg), 1);

    /* a fresh series: names copied, ring of ring_points, nothing yet */
    ck_assert_str_eq(a->site, "mekarsari");
    ck_assert_str_eq(a->kind, "drum");
    ck_assert_str_eq(a->id, "3");
    ck_assert_str_eq(a->field, "temp_core_c");
    ck_assert_ptr_nonnull(a->ring);
    ck_assert_uint_eq(ring_capacity(a->ring), 8);
    ck_assert_uint_eq(ring_count(a->ring), 0);
    ck_assert_uint_eq(a->win.count, 0);
    ck_assert_int_eq(a->last_ts_ns, 0);
    ck_assert_int_eq(a->has_valid, 0);
    ck_assert_uint_eq(a->accepted, 0);
    ck_assert_uint_eq(a->rejected, 0);

    created = -1;
    b = series_get(reg, "mekarsari", "drum", "3", "temp_core_c", &created);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(created, 0);
    ck_assert_uint_eq(series_reg_count(reg), 1);
    ck_assert_uint_eq(series_reg_overflow(reg), 0);
}
END_TEST

START_TEST(names_are_copied_not_borrowed)
{
    char site[16], field[16];
    struct series *a;

    strcpy(site, "s1");
    strcpy(field, "ph");
    a = series_get(reg, site, "tank", "1", field, NULL);
    ck_assert_ptr_nonnull(a);
    strcpy(site, "XX");
    strcpy(field, "YY");
    ck_assert_str_eq(a->site, "s1");
    ck_assert_str_eq(a->field, "ph");
    ck_assert_ptr_eq(series_get(reg, "s1", "tank", "1", "ph", NULL), a);
}
END_TEST

START_TEST(created_may_be_null)
{
    ck_assert_ptr_nonnull(series_get(reg, "s", "drum", "1", "f", NULL));
    ck_assert_ptr_nonnull(series_get(reg, "s", "drum", "1", "f", NULL));
    ck_assert_uint_eq(series_reg_count(reg), 1);
}
END_TEST

/* Changing any one of the four names makes another series. */
START_TEST(each_name_part_distinguishes)
{
    static const char *const names[5][4] = {
        { "s1", "drum", "3", "temp_core_c" },
        { "s2", "drum", "3", "temp_core_c" },
        { "s1", "tank", "3", "temp_core_c" },
        { "s1", "drum", "4", "temp_core_c" },
        { "s1", "drum", "3", "temp_mid_c" },
    };
    struct series *p[5];
    int i, j, created;

    for (i = 0; i < 5; i++) {
        p[i] = series_get(reg, names[i][0], names[i][1], names[i][2], names[i][3], &created);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_msg(created == 1, "names %d did not create a series", i);
    }
    ck_assert_uint_eq(series_reg_count(reg), 5);
    for (i = 0; i < 5; i++) {
        for (j = i + 1; j < 5; j++)
            ck_assert_ptr_ne(p[i], p[j]);
        ck_assert_ptr_eq(series_get(reg, names[i][0], names[i][1], names[i][2],
                                    names[i][3], &created), p[i]);
        ck_assert_int_eq(created, 0);
        ck_assert_str_eq(p[i]->site, names[i][0]);
        ck_assert_str_eq(p[i]->kind, names[i][1]);
        ck_assert_str_eq(p[i]->id, names[i][2]);
        ck_assert_str_eq(p[i]->field, names[i][3]);
    }
}
END_TEST

/* Names whose concatenation is equal ("ab"+"c" and "a"+"bc") at each of
 * the three boundaries, and with an empty-looking shift at the ends. */
static const char *const boundary_cases[][2][4] = {
    { { "ab", "c",  "1",  "f"  }, { "a",  "bc", "1",  "f"  } },
    { { "s",  "ab", "c",  "f"  }, { "s",  "a",  "bc", "f"  } },
    { { "s",  "k",  "ab", "c"  }, { "s",  "k",  "a",  "bc" } },
    { { "abc", "d", "e",  "f"  }, { "a",  "bcd", "e", "f"  } },
    { { "a",  "b",  "c",  "def" }, { "a", "b",  "cde", "f" } },
};

START_TEST(moved_boundary_is_another_series)
{
    const char *const (*x)[4] = boundary_cases[_i];
    struct series *a, *b;
    int created;

    a = series_get(reg, x[0][0], x[0][1], x[0][2], x[0][3], &created);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(created, 1);
    b = series_get(reg, x[1][0], x[1][1], x[1][2], x[1][3], &created);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(created == 1, "case %d: second names found the first series", _i);
    ck_assert_ptr_ne(a, b);
    ck_assert_uint_eq(series_reg_count(reg), 2);
    ck_assert_str_eq(b->site, x[1][0]);
    ck_assert_str_eq(b->kind, x[1][1]);
    ck_assert_str_eq(b->id, x[1][2]);
    ck_assert_str_eq(b->field, x[1][3]);
}
END_TEST

/* The longest name that fits (HUB_NAME_MAX - 1 bytes) is kept whole. */
START_TEST(longest_names_fit)
{
    char n1[HUB_NAME_MAX], n2[HUB_NAME_MAX];
    struct series *a, *b;

    memset(n1, 'x', HUB_NAME_MAX - 1);
    n1[HUB_NAME_MAX - 1] = '\0';
    memcpy(n2, n1, sizeof(n2));
    n2[HUB_NAME_MAX - 2] = 'y';      /* differs in the last byte only */
    a = series_get(reg, n1, n1, n1, n1, NULL);
    b = series_get(reg, n1, n1, n1, n2, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    ck_assert_str_eq(a->field, n1);
    ck_assert_str_eq(b->field, n2);
    ck_assert_uint_eq(strlen(b->site), HUB_NAME_MAX - 1);
}
END_TEST

START_TEST(cap_refuses_more_and_counts)
{
    struct series_reg *r3 = series_reg_new(3, 4);
    struct series *p[3];
    int created = -1, i;
    char id[8];

    ck_assert_ptr_nonnull(r3);
    for (i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "%d", i + 1);
        p[i] = series_get(r3, "s", "drum", id, "temp_core_c", &created);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_int_eq(created, 1);
    }
    ck_assert_uint_eq(series_reg_overflow(r3), 0);

    created = -1;
    ck_assert_ptr_null(series_get(r3, "s", "drum", "4", "temp_core_c", &created));
    ck_assert_int_eq(created, 0);
    ck_assert_uint_eq(series_reg_overflow(r3), 1);
    ck_assert_uint_eq(series_reg_count(r3), 3);

    /* existing series are still found, and finding them is no overflow */
    ck_assert_ptr_eq(series_get(r3, "s", "drum", "1", "temp_core_c", &created), p[0]);
    ck_assert_int_eq(created, 0);
    ck_assert_ptr_eq(series_get(r3, "s", "drum", "3", "temp_core_c", NULL), p[2]);
    ck_assert_uint_eq(series_reg_overflow(r3), 1);

    /* every refused lookup counts, the same names again too */
    ck_assert_ptr_null(series_get(r3, "s", "drum", "4", "temp_core_c", NULL));
    ck_assert_ptr_null(series_get(r3, "s", "drum", "5", "temp_core_c", NULL));
    ck_assert_uint_eq(series_reg_overflow(r3), 3);
    ck_assert_uint_eq(series_reg_count(r3), 3);
    series_reg_free(r3);
}
END_TEST

START_TEST(cap_of_one)
{
    struct series_reg *r1 = series_reg_new(1, 1);

    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(series_get(r1, "a", "b", "c", "d", NULL));
    ck_assert_ptr_null(series_get(r1, "a", "b", "c", "e", NULL));
    ck_assert_uint_eq(series_reg_overflow(r1), 1);
    ck_assert_uint_eq(ring_capacity(series_get(r1, "a", "b", "c", "d", NULL)->ring), 1);
    series_reg_free(r1);
}
END_TEST

struct visit {
    char fields[16][HUB_NAME_MAX];
    struct series *ptr[16];
    int n;
};

static void record(struct series *s, void *ctx)
{
    struct visit *v = ctx;

    ck_assert_int_lt(v->n, 16);
    snprintf(v->fields[v->n], HUB_NAME_MAX, "%s", s->field);
    v->ptr[v->n] = s;
    v->n++;
}

START_TEST(foreach_in_creation_order)
{
    static const char *const order[] = {
        "zeta", "alpha", "mid", "b", "temp_core_c", "a", "yy", "c0",
    };
    struct series *p[8];
    struct visit v;
    int i;

    memset(&v, 0, sizeof(v));
    series_reg_foreach(reg, record, &v);
    ck_assert_int_eq(v.n, 0);                  /* empty registry: no calls */

    for (i = 0; i < 8; i++) {
        p[i] = series_get(reg, "s", "drum", "1", order[i], NULL);
        ck_assert_ptr_nonnull(p[i]);
        /* lookups of older series in between must not reorder */
        ck_assert_ptr_eq(series_get(reg, "s", "drum", "1", order[0], NULL), p[0]);
    }
    series_reg_foreach(reg, record, &v);
    ck_assert_int_eq(v.n, 8);
    for (i = 0; i < 8; i++) {
        ck_assert_str_eq(v.fields[i], order[i]);
        ck_assert_ptr_eq(v.ptr[i], p[i]);
    }
}
END_TEST

START_TEST(foreach_sees_mutations)
{
    struct series *a = series_get(reg, "s", "drum", "1", "f", NULL);

    ck_assert_ptr_nonnull(a);
    a->accepted = 41;
    a->last_ts_ns = 123;
    ring_push(a->ring, 5, 6.5);
    a = series_get(reg, "s", "drum", "1", "f", NULL);
    ck_assert_uint_eq(a->accepted, 41);
    ck_assert_int_eq(a->last_ts_ns, 123);
    ck_assert_uint_eq(ring_count(a->ring), 1);
}
END_TEST

/* Many series: the table grows and every one is still found. */
START_TEST(many_series)
{
    struct series_reg *big = series_reg_new(2000, 2);
    char id[16];
    int i;

    ck_assert_ptr_nonnull(big);
    for (i = 0; i < 2000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ck_assert_ptr_nonnull(series_get(big, "s", "drum", id, "temp_core_c", NULL));
    }
    ck_assert_uint_eq(series_reg_count(big), 2000);
    for (i = 0; i < 2000; i++) {
        struct series *s;
        int created = -1;

        snprintf(id, sizeof(id), "%d", i);
        s = series_get(big, "s", "drum", id, "temp_core_c", &created);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(created, 0);
        ck_assert_str_eq(s->id, id);
    }
    ck_assert_ptr_null(series_get(big, "s", "drum", "2000", "temp_core_c", NULL));
    ck_assert_uint_eq(series_reg_overflow(big), 1);
    series_reg_free(big);
}
END_TEST

static Suite *series_suite(void)
{
    Suite *s = suite_create("series");
    TCase *tc = tcase_create("registry");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, free_null_is_fine);
    tcase_add_test(tc, create_then_find_same_pointer);
    tcase_add_test(tc, names_are_copied_not_borrowed);
    tcase_add_test(tc, created_may_be_null);
    tcase_add_test(tc, each_name_part_distinguishes);
    tcase_add_loop_test(tc, moved_boundary_is_another_series, 0,
                        (int)(sizeof(boundary_cases) / sizeof(boundary_cases[0])));
    tcase_add_test(tc, longest_names_fit);
    tcase_add_test(tc, cap_refuses_more_and_counts);
    tcase_add_test(tc, cap_of_one);
    tcase_add_test(tc, foreach_in_creation_order);
    tcase_add_test(tc, foreach_sees_mutations);
    tcase_add_test(tc, many_series);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(series_suite)
