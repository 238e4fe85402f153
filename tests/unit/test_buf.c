/* SPDX-License-Identifier: MIT */
/* test_buf.c - the growable buffer: the cap leaves the buffer unchanged,
 * contents stay NUL-terminated, truncate / reset / take / printf. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_main.h"
#include "hub_err.h"

/* The buffer holds exactly want (and its NUL). */
static void check_is(const struct buf *b, const char *want)
{
    size_t n = strlen(want);

    ck_assert_uint_eq(b->len, n);
    ck_assert_ptr_nonnull(b->data);
    ck_assert_int_eq(memcmp(b->data, want, n), 0);
    ck_assert_int_eq(b->data[n], '\0');
    ck_assert(b->cap > b->len);
    if (b->max)
        ck_assert(b->len <= b->max);
}

/* ---- the cap: a table of appends against a max ------------------------ */

struct step {
    const char *s;      /* NULL ends the steps */
    int rc;             /* expected result */
    const char *after;  /* expected contents after the step */
};

#define S40 "0123456789012345678901234567890123456789"

struct capcase {
    size_t max;
    struct step steps[6];
};

static const struct capcase capcases[] = {
    { 10, { { "12345678", HUB_OK, "12345678" },
            { "abc", HUB_ENOMEM, "12345678" },        /* 11 > 10 */
            { "ab", HUB_OK, "12345678ab" },           /* exactly at the cap */
            { "x", HUB_ENOMEM, "12345678ab" },
            { "", HUB_OK, "12345678ab" },             /* nothing still fits */
            { NULL, 0, NULL } } },
    { 1, { { "ab", HUB_ENOMEM, NULL },                /* never appended */
           { "a", HUB_OK, "a" },
           { "b", HUB_ENOMEM, "a" },
           { NULL, 0, NULL } } },
    /* a cap above the first 256-byte allocation: 240 + 100 > 300 */
    { 300, { { S40 S40 S40 S40 S40 S40, HUB_OK, S40 S40 S40 S40 S40 S40 },
             { S40 S40 "0123456789012345678", HUB_ENOMEM, S40 S40 S40 S40 S40 S40 },
             { "0123456789", HUB_OK, S40 S40 S40 S40 S40 S40 "0123456789" },
             { S40 "0123456789", HUB_OK, S40 S40 S40 S40 S40 S40 "0123456789" S40 "0123456789" },
             { "!", HUB_ENOMEM, S40 S40 S40 S40 S40 S40 "0123456789" S40 "0123456789" },
             { NULL, 0, NULL } } },
    { 0, { { "no cap", HUB_OK, "no cap" },
           { " at all", HUB_OK, "no cap at all" },
           { NULL, 0, NULL } } },
};

START_TEST(test_cap_table)
{
    const struct capcase *c = &capcases[_i];
    struct buf b;
    char *snap = NULL;

    buf_init(&b, c->max);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    for (const struct step *s = c->steps; s->s; s++) {
        size_t before = b.len, n = strlen(s->s);
        int rc;

        free(snap);
        snap = b.data ? strdup(b.data) : NULL;
        rc = buf_append(&b, s->s, n);
        ck_assert_int_eq(rc, s->rc);
        if (rc != HUB_OK) {
            ck_assert_uint_eq(b.len, before);
            if (snap)
                ck_assert_str_eq(b.data, snap);
        } else {
            ck_assert_uint_eq(b.len, before + n);
        }
        if (s->after)
            check_is(&b, s->after);
    }
    free(snap);
    buf_free(&b);
}
END_TEST

/* The same cap rule through every way of appending. */
START_TEST(test_cap_all_paths)
{
    struct buf b;
    char *p;

    buf_init(&b, 5);
    ck_assert_int_eq(buf_puts(&b, "abc"), HUB_OK);
    p = b.data;
    ck_assert_int_eq(buf_puts(&b, "def"), HUB_ENOMEM);
    check_is(&b, "abc");
    ck_assert_int_eq(buf_printf(&b, "%d", 123), HUB_ENOMEM);
    check_is(&b, "abc");
    ck_assert_int_eq(buf_reserve(&b, 3), HUB_ENOMEM);
    check_is(&b, "abc");
    ck_assert_int_eq(buf_reserve(&b, 2), HUB_OK);
    ck_assert_int_eq(buf_printf(&b, "%d", 12), HUB_OK);
    check_is(&b, "abc12");
    ck_assert_ptr_eq(b.data, p);        /* 256 bytes were there from the start */
    ck_assert_int_eq(buf_append(&b, "", 0), HUB_OK);
    ck_assert_int_eq(buf_append(&b, "x", 1), HUB_ENOMEM);
    check_is(&b, "abc12");
    buf_free(&b);
}
END_TEST

/* A size that would overflow is refused, not wrapped. */
START_TEST(test_huge)
{
    struct buf b;

    buf_init(&b, 0);
    ck_assert_int_eq(buf_puts(&b, "ab"), HUB_OK);
    ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), HUB_ENOMEM);
    ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 2), HUB_ENOMEM);
    ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), HUB_ENOMEM);
    check_is(&b, "ab");
    buf_free(&b);
}
END_TEST

/* ---- growth and NUL termination --------------------------------------- */

START_TEST(test_grow)
{
    struct buf b;
    char *want = malloc(100001);

    ck_assert_ptr_nonnull(want);
    long n = hub_test_iters(100000);

    buf_init(&b, 0);
    for (long i = 0; i < n; i++) {
        char c = (char)('a' + i % 26);

        want[i] = c;
        ck_assert_int_eq(buf_append(&b, &c, 1), HUB_OK);
        ck_assert_int_eq(b.data[b.len], '\0');
    }
    want[n] = '\0';
    check_is(&b, want);
    free(want);
    buf_free(&b);
}
END_TEST

START_TEST(test_reserve_keeps_pointer)
{
    struct buf b;
    char *p;

    buf_init(&b, 0);
    ck_assert_int_eq(buf_reserve(&b, 5000), HUB_OK);
    p = b.data;
    ck_assert_ptr_nonnull(p);
    ck_assert(b.cap >= 5001);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_append(&b, "abcde", 5), HUB_OK);
    ck_assert_ptr_eq(b.data, p);
    ck_assert_uint_eq(b.len, 5000);
    ck_assert_int_eq(b.data[5000], '\0');
    buf_free(&b);
}
END_TEST

/* ---- printf ------------------------------------------------------------ */

struct pcase {
    size_t max;
    const char *pre;
    const char *fmt;    /* always "%s=%d%s" */
    const char *a;
    int n;
    const char *c;
    int rc;
    const char *want;
};

static const struct pcase pcases[] = {
    { 0, "", "%s=%d%s", "x", 42, "!", HUB_OK, "x=42!" },
    { 0, "pre ", "%s=%d%s", "temp", -5, "", HUB_OK, "pre temp=-5" },
    { 11, "pre ", "%s=%d%s", "temp", -5, "", HUB_OK, "pre temp=-5" },     /* exactly 11 */
    { 10, "pre ", "%s=%d%s", "temp", -5, "", HUB_ENOMEM, "pre " },
    { 0, "", "%s=%d%s", "", 0, "", HUB_OK, "=0" },
};

START_TEST(test_printf)
{
    const struct pcase *c = &pcases[_i];
    struct buf b;

    buf_init(&b, c->max);
    ck_assert_int_eq(buf_puts(&b, c->pre), HUB_OK);
    ck_assert_int_eq(buf_printf(&b, "%s=%d%s", c->a, c->n, c->c), c->rc);
    check_is(&b, c->want);
    buf_free(&b);
}
END_TEST

START_TEST(test_printf_long)
{
    struct buf b;
    char big[1000];

    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&b, 0);
    ck_assert_int_eq(buf_printf(&b, "%s", ""), HUB_OK);
    check_is(&b, "");
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(buf_printf(&b, "[%s]", big), HUB_OK);
    ck_assert_uint_eq(b.len, 5 * 1001);
    ck_assert_int_eq(b.data[0], '[');
    ck_assert_int_eq(b.data[1000], ']');
    ck_assert_int_eq(b.data[b.len], '\0');
    buf_free(&b);
}
END_TEST

/* ---- truncate, reset, take, free --------------------------------------- */

START_TEST(test_truncate)
{
    struct buf b;

    buf_init(&b, 0);
    buf_truncate(&b, 0);                /* on a buffer never appended to */
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(buf_puts(&b, "hello world"), HUB_OK);
    buf_truncate(&b, 5);
    check_is(&b, "hello");
    buf_truncate(&b, 50);               /* longer: nothing happens */
    check_is(&b, "hello");
    buf_truncate(&b, 5);
    check_is(&b, "hello");
    ck_assert_int_eq(buf_puts(&b, "!"), HUB_OK);
    check_is(&b, "hello!");
    buf_truncate(&b, 0);
    check_is(&b, "");
    buf_free(&b);
}
END_TEST

START_TEST(test_reset)
{
    struct buf b;
    char *p;

    buf_init(&b, 100);
    ck_assert_int_eq(buf_puts(&b, "abc"), HUB_OK);
    p = b.data;
    buf_reset(&b);
    check_is(&b, "");
    ck_assert_ptr_eq(b.data, p);        /* memory kept */
    ck_assert_uint_eq(b.max, 100);
    ck_assert_int_eq(buf_puts(&b, "xyz"), HUB_OK);
    check_is(&b, "xyz");
    buf_free(&b);
}
END_TEST

START_TEST(test_take)
{
    struct buf b;
    size_t n = 99;
    char *p;

    buf_init(&b, 50);
    p = buf_take(&b, &n);               /* never appended: NULL, 0 */
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(buf_puts(&b, "taken"), HUB_OK);
    p = buf_take(&b, &n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(p, "taken");       /* NUL-terminated */
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_uint_eq(b.max, 50);       /* the cap stays */

    ck_assert_int_eq(buf_puts(&b, "again"), HUB_OK);   /* usable again */
    check_is(&b, "again");
    ck_assert(b.data != p);
    free(p);
    p = buf_take(&b, NULL);             /* len may be NULL */
    ck_assert_str_eq(p, "again");
    free(p);
    buf_free(&b);
}
END_TEST

START_TEST(test_free)
{
    struct buf b;

    buf_free(NULL);
    buf_init(&b, 0);
    buf_free(&b);                       /* never used */
    ck_assert_int_eq(buf_puts(&b, "one"), HUB_OK);
    buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_int_eq(buf_puts(&b, "two"), HUB_OK);      /* usable again */
    check_is(&b, "two");
    buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_cap_table, 0, (int)(sizeof(capcases) / sizeof(capcases[0])));
    tcase_add_test(tc, test_cap_all_paths);
    tcase_add_test(tc, test_huge);
    tcase_add_test(tc, test_grow);
    tcase_add_test(tc, test_reserve_keeps_pointer);
    tcase_add_loop_test(tc, test_printf, 0, (int)(sizeof(pcases) / sizeof(pcases[0])));
    tcase_add_test(tc, test_printf_long);
    tcase_add_test(tc, test_truncate);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_take);
    tcase_add_test(tc, test_free);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(buf_suite)
