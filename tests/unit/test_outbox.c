/* SPDX-License-Identifier: MIT */
/* test_outbox.c - the durable outbox in a temp folder: add / next / result
 * cycles, idempotent add, backoff growth and cap, Retry-After, pacing per
 * phone, ladder fallback, dead letters (permanent and max age), a simulated
 * crash (close without a result, reopen), torn and garbage files, the
 * pending cap, and I/O errors. Times are a fake clock in ns; every expected
 * delay is computed by hand from the parameters below. */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "hub_err.h"
#include "outbox.h"

#define SEC 1000000000LL
#define T0 (1764345600LL * SEC)

static char dir[256];

static void mk_tmp(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_outbox.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_tree(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *const LADDER2[] = { "whatsapp_cloud", "twilio_sms" };
static const char *const LADDER1[] = { "fonnte" };

static struct outbox_new mk(uint64_t key, const char *phone,
                            const char *const *ch, size_t n)
{
    struct outbox_new m = {
        .key = key, .member = "Sari", .phone = phone, .channels = ch,
        .nchannels = n, .text = "Drum 3 panas: 71.2 C", .rule = "drum_hot",
        .alert_id = "D3-temp", .site = "guntung",
    };
    return m;
}

static struct outbox_outcome outc(int cls, long status, long ra)
{
    struct outbox_outcome o = { cls, status, ra, NULL, "x: HTTP" };
    return o;
}

static struct outbox_params params(void)
{
    struct outbox_params p;

    outbox_params_default(&p);
    return p;
}

static int exists(const char *rel)
{
    char path[400];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

START_TEST(defaults)
{
    struct outbox_params p = params();

    ck_assert_uint_eq(p.max_pending, 128);
    ck_assert_int_eq(p.backoff_base_ns, 30 * SEC);
    ck_assert_int_eq(p.backoff_cap_ns, 3600 * SEC);
    ck_assert_int_eq(p.pace_ns, 10 * SEC);
    ck_assert_uint_eq(p.rung_max_fails, 3);
    ck_assert_int_eq(p.max_age_ns, 24 * 3600 * SEC);
}
END_TEST

START_TEST(add_next_accept_cycle)
{
    struct outbox *ob;
    struct outbox_new n = mk(0xabcULL, "+6281234567890", LADDER2, 2);
    struct outbox_entry e;
    struct outbox_outcome o = outc(NOTIFY_ACCEPTED, 200, -1);
    struct outbox_counters c;

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    ck_assert_int_eq(outbox_next_due_ns(ob, T0), INT64_MAX);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    ck_assert(exists("0000000000000abc.ob"));
    ck_assert_int_eq(outbox_next_due_ns(ob, T0), T0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_uint_eq(e.key, 0xabc);
    ck_assert_str_eq(e.channels[e.rung], "whatsapp_cloud");
    ck_assert_str_eq(e.phone, "+6281234567890");
    ck_assert_str_eq(e.text, "Drum 3 panas: 71.2 C");
    ck_assert_str_eq(e.alert_id, "D3-temp");
    /* in flight: not handed out twice, not counted for the wait */
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 0);
    ck_assert_int_eq(outbox_next_due_ns(ob, T0), INT64_MAX);
    o.provider_id = "wamid.1";
    ck_assert_int_eq(outbox_result(ob, 0xabc, &o, T0 + SEC), 0);
    ck_assert_int_eq(outbox_result(ob, 0xabc, &o, T0 + SEC), HUB_EINVAL);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 3600 * SEC, &e), 0);
    ck_assert_int_eq(outbox_get(ob, 0xabc, &e), 1);
    ck_assert_int_eq(e.state, OUTBOX_DONE);
    ck_assert_str_eq(e.provider_id, "wamid.1");
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.pending, 0);
    ck_assert_uint_eq(c.sent, 1);
    ck_assert_uint_eq(c.retried, 0);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(idempotent_add)
{
    struct outbox *ob;
    struct outbox_new n = mk(5, "+6281234567890", LADDER2, 2);
    struct outbox_entry e;
    struct outbox_outcome o = outc(NOTIFY_ACCEPTED, 201, -1);
    struct outbox_counters c;

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    n.text = "another text, same key";
    ck_assert_int_eq(outbox_add(ob, &n, T0 + 1), 0);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.pending, 1);
    ck_assert_uint_eq(c.duplicates, 1);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 1, &e), 1);
    ck_assert_str_eq(e.text, "Drum 3 panas: 71.2 C");
    ck_assert_int_eq(outbox_result(ob, 5, &o, T0 + 2), 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0 + 3), 0);      /* after it was sent */
    ck_assert_int_eq(outbox_next_due(ob, T0 + 100 * SEC, &e), 0);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.duplicates, 2);
    ck_assert_uint_eq(c.pending, 0);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(bad_adds)
{
    struct outbox *ob;
    struct outbox_new n = mk(6, "081234567890", LADDER2, 2);
    static const char *const unknown[] = { "pigeon" };
    char big[NOTIFY_TEXT_MAX + 2];

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EINVAL);
    n = mk(6, "+6281234567890", unknown, 1);
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EINVAL);
    n = mk(6, "+6281234567890", LADDER2, 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EINVAL);
    n = mk(6, "+6281234567890", LADDER2, 2);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n.text = big;
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EINVAL);
    ck_assert(!exists("0000000000000006.ob"));
    outbox_close(ob);
    rm_tree();
}
END_TEST

/* One rung, many allowed failures: delay k (k = 1, 2, ...) is
 * 30 s * 2^(k-1) plus 0..25 % jitter, and never more than 1 h. */
START_TEST(backoff_grows_and_caps)
{
    static const int64_t base_s[] = { 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600 };
    struct outbox_params p = params();
    struct outbox *ob;
    struct outbox_new n = mk(9, "+6281234567890", LADDER1, 1);
    struct outbox_entry e;
    struct outbox_outcome o = outc(NOTIFY_RETRYABLE, 503, -1);
    struct outbox_counters c;
    int64_t now = T0, d;
    size_t k;

    p.rung_max_fails = 100;
    p.pace_ns = 0;
    mk_tmp();
    ob = outbox_open(dir, &p, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    for (k = 0; k < sizeof(base_s) / sizeof(base_s[0]); k++) {
        ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
        ck_assert_int_eq(outbox_result(ob, 9, &o, now), 0);
        d = outbox_next_due_ns(ob, now) - now;
        ck_assert_msg(d >= base_s[k] * SEC && d <= base_s[k] * SEC + base_s[k] * SEC / 4 &&
                      d <= 3600 * SEC, "retry %zu: delay %" PRId64 " ns", k + 1, d);
        ck_assert_int_eq(outbox_next_due(ob, now + d - 1, &e), 0);
        now += d;
    }
    ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
    ck_assert_uint_eq(e.attempts, 10);
    ck_assert_uint_eq(e.rung_fails, 10);
    ck_assert_int_eq(e.last_status, 503);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.retried, 10);
    ck_assert_uint_eq(c.fallbacks, 0);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(retry_after_wins_when_longer)
{
    struct outbox_params p = params();
    struct outbox *ob;
    struct outbox_new n = mk(10, "+6281234567890", LADDER1, 1);
    struct outbox_entry e;
    struct outbox_outcome o = outc(NOTIFY_RETRYABLE, 429, 600);

    p.pace_ns = 0;
    mk_tmp();
    ob = outbox_open(dir, &p, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_result(ob, 10, &o, T0), 0);
    ck_assert_int_eq(outbox_next_due_ns(ob, T0), T0 + 600 * SEC);
    /* a short Retry-After does not shorten the backoff (>= 30 s) */
    ck_assert_int_eq(outbox_next_due(ob, T0 + 600 * SEC, &e), 1);
    o.retry_after_s = 1;
    ck_assert_int_eq(outbox_result(ob, 10, &o, T0 + 600 * SEC), 0);
    ck_assert_int_ge(outbox_next_due_ns(ob, T0) - (T0 + 600 * SEC), 60 * SEC);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(pacing_per_phone)
{
    struct outbox *ob;
    struct outbox_new a = mk(1, "+6281111111111", LADDER1, 1);
    struct outbox_new b = mk(2, "+6281111111111", LADDER1, 1);
    struct outbox_new c = mk(3, "+6282222222222", LADDER1, 1);
    struct outbox_entry e;
    struct outbox_outcome ok = outc(NOTIFY_ACCEPTED, 200, -1);

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &a, T0), 0);
    ck_assert_int_eq(outbox_add(ob, &b, T0), 0);
    ck_assert_int_eq(outbox_add(ob, &c, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_uint_eq(e.key, 1);
    ck_assert_int_eq(outbox_result(ob, 1, &ok, T0 + SEC), 0);
    /* same phone: 10 s after the attempt; the other phone: at once */
    ck_assert_int_eq(outbox_next_due(ob, T0 + SEC, &e), 1);
    ck_assert_uint_eq(e.key, 3);
    ck_assert_int_eq(outbox_result(ob, 3, &ok, T0 + SEC), 0);
    ck_assert_int_eq(outbox_next_due_ns(ob, T0 + SEC), T0 + 10 * SEC);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 10 * SEC - 1, &e), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 10 * SEC, &e), 1);
    ck_assert_uint_eq(e.key, 2);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(ladder_fallback_and_dead_letter)
{
    struct outbox_params p = params();
    struct outbox *ob;
    struct outbox_new n = mk(0x77, "+6281234567890", LADDER2, 2);
    struct outbox_new m = mk(0x78, "+6289999999999", LADDER2, 2);
    struct outbox_entry e;
    struct outbox_outcome r = outc(NOTIFY_RETRYABLE, 500, -1);
    struct outbox_outcome perm = outc(NOTIFY_PERMANENT, 400, -1);
    struct outbox_counters c;
    int64_t now = T0;
    int i;

    p.pace_ns = 0;
    mk_tmp();
    ob = outbox_open(dir, &p, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    /* three retryable failures on whatsapp_cloud, then twilio_sms at once */
    for (i = 0; i < 3; i++) {
        now = outbox_next_due_ns(ob, now);
        ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
        ck_assert_str_eq(e.channels[e.rung], "whatsapp_cloud");
        ck_assert_int_eq(outbox_result(ob, 0x77, &r, now), 0);
    }
    ck_assert_int_eq(outbox_next_due_ns(ob, now), now);
    ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
    ck_assert_uint_eq(e.rung, 1);
    ck_assert_uint_eq(e.rung_fails, 0);
    ck_assert_str_eq(e.channels[e.rung], "twilio_sms");
    /* permanent on the last rung: dead letter in dead/ */
    ck_assert_int_eq(outbox_result(ob, 0x77, &perm, now), 0);
    ck_assert(!exists("0000000000000077.ob"));
    ck_assert(exists("dead/0000000000000077.ob"));
    ck_assert_int_eq(outbox_next_due(ob, now + 7200 * SEC, &e), 0);

    /* permanent on the first rung: straight to the second */
    ck_assert_int_eq(outbox_add(ob, &m, now), 0);
    ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
    ck_assert_int_eq(outbox_result(ob, 0x78, &perm, now), 0);
    ck_assert_int_eq(outbox_next_due(ob, now, &e), 1);
    ck_assert_str_eq(e.channels[e.rung], "twilio_sms");
    ck_assert_int_eq(outbox_release(ob, 0x78), 0);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.retried, 3);
    ck_assert_uint_eq(c.failed, 2);
    ck_assert_uint_eq(c.fallbacks, 2);
    ck_assert_uint_eq(c.dead, 1);
    ck_assert_uint_eq(c.pending, 1);
    outbox_close(ob);

    /* the dead key stays known after a restart: a re-add is a no-op */
    ob = outbox_open(dir, &p, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, now), 0);
    ck_assert(!exists("0000000000000077.ob"));
    ck_assert_int_eq(outbox_get(ob, 0x77, &e), 1);
    ck_assert_int_eq(e.state, OUTBOX_DEAD);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(max_age_dead_letters)
{
    struct outbox *ob;
    struct outbox_new n = mk(0x99, "+6281234567890", LADDER1, 1);
    struct outbox_entry e;
    struct outbox_outcome r = outc(NOTIFY_RETRYABLE, 500, -1);
    struct outbox_counters c;

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_result(ob, 0x99, &r, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 24 * 3600 * SEC - 1, &e), 1);
    ck_assert_int_eq(outbox_result(ob, 0x99, &r, T0 + 24 * 3600 * SEC - 1), 0);
    /* the wait never passes the deadline */
    ck_assert_int_eq(outbox_next_due_ns(ob, T0 + 24 * 3600 * SEC - 1), T0 + 24 * 3600 * SEC);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 24 * 3600 * SEC, &e), 0);
    ck_assert(exists("dead/0000000000000099.ob"));
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.dead, 1);
    ck_assert_uint_eq(c.pending, 0);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(crash_and_reopen)
{
    struct outbox *ob;
    struct outbox_new a = mk(0xa, "+6281111111111", LADDER2, 2);
    struct outbox_new b = mk(0xb, "+6282222222222", LADDER2, 2);
    struct outbox_entry e;
    struct outbox_outcome ok = outc(NOTIFY_ACCEPTED, 200, -1);
    struct outbox_outcome r = outc(NOTIFY_RETRYABLE, 500, -1);
    struct outbox_counters c;

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    b.text = "line 1\nline 2 \\ back\\nslash\r";
    ck_assert_int_eq(outbox_add(ob, &a, T0), 0);
    ck_assert_int_eq(outbox_add(ob, &b, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_result(ob, e.key, &ok, T0), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_result(ob, e.key, &r, T0), 0);      /* b: 1 failure */
    ck_assert_int_eq(outbox_next_due(ob, T0 + 3600 * SEC, &e), 1);
    ck_assert_uint_eq(e.key, 0xb);
    outbox_close(ob);                                /* crash: no result */

    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.pending, 1);
    ck_assert_uint_eq(c.bad_files, 0);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 3600 * SEC, &e), 1);
    ck_assert_uint_eq(e.key, 0xb);
    ck_assert_uint_eq(e.attempts, 1);
    ck_assert_uint_eq(e.rung_fails, 1);
    ck_assert_int_eq(e.created_ns, T0);
    ck_assert_str_eq(e.text, "line 1\nline 2 \\ back\\nslash\r");
    ck_assert_str_eq(e.member, "Sari");
    ck_assert_str_eq(e.channels[1], "twilio_sms");
    ck_assert_int_eq(outbox_next_due(ob, T0 + 7200 * SEC, &e), 0);   /* a: accepted */
    ck_assert_int_eq(outbox_add(ob, &a, T0 + 7200 * SEC), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 7200 * SEC, &e), 0);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.duplicates, 1);
    outbox_close(ob);
    rm_tree();
}
END_TEST

static void write_file(const char *rel, const char *data, size_t n)
{
    char path[400];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static size_t read_rel(const char *rel, char *buf, size_t cap)
{
    char path[400];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(torn_and_garbage_files_skipped)
{
    struct outbox *ob;
    struct outbox_new a = mk(0x1, "+6281111111111", LADDER1, 1);
    struct outbox_new b = mk(0x2, "+6282222222222", LADDER1, 1);
    struct outbox_entry e;
    struct outbox_counters c;
    char buf[8192];
    size_t n;

    mk_tmp();
    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_int_eq(outbox_add(ob, &a, T0), 0);
    ck_assert_int_eq(outbox_add(ob, &b, T0), 0);
    outbox_close(ob);
    n = read_rel("0000000000000002.ob", buf, sizeof(buf));
    ck_assert_uint_gt(n, 40);
    write_file("0000000000000003.ob", buf, n / 2);               /* torn */
    write_file("0000000000000004.ob", "\x01\x02garbage\n", 10);  /* garbage */
    buf[n - 20] ^= 0x20;                                         /* bit flip */
    write_file("0000000000000005.ob", buf, n);
    write_file(".0000000000000006.tmp", "half", 4);              /* unfinished */
    write_file("notes.txt", "operator notes", 14);               /* not ours */

    ob = outbox_open(dir, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.bad_files, 3);
    ck_assert_uint_eq(c.pending, 2);
    ck_assert(exists("dead/0000000000000003.ob.bad"));
    ck_assert(!exists(".0000000000000006.tmp"));
    ck_assert(exists("notes.txt"));
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 1);
    ck_assert_int_eq(outbox_next_due(ob, T0, &e), 0);
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(pending_cap_counts_drops)
{
    struct outbox_params p = params();
    struct outbox *ob;
    struct outbox_new n;
    struct outbox_counters c;

    p.max_pending = 2;
    mk_tmp();
    ob = outbox_open(dir, &p, NULL, 0);
    n = mk(1, "+6281111111111", LADDER1, 1);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    n = mk(2, "+6281111111111", LADDER1, 1);
    ck_assert_int_eq(outbox_add(ob, &n, T0), 0);
    n = mk(3, "+6281111111111", LADDER1, 1);
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EFULL);
    ck_assert(!exists("0000000000000003.ob"));
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.dropped, 1);
    ck_assert_uint_eq(c.pending, 2);
    outbox_close(ob);
    rm_tree();
}
END_TEST

/* Tombstones of sent entries are bounded: by count (done_max) and by age
 * (done_keep_ns); a forgotten tombstone's file is deleted. */
START_TEST(tombstones_bounded)
{
    struct outbox_params p = params();
    struct outbox *ob;
    struct outbox_new n;
    struct outbox_entry e;
    struct outbox_outcome ok = outc(NOTIFY_ACCEPTED, 200, -1);
    uint64_t k;

    p.done_max = 2;
    p.pace_ns = 0;
    mk_tmp();
    ob = outbox_open(dir, &p, NULL, 0);
    for (k = 1; k <= 3; k++) {
        n = mk(k, "+6281111111111", LADDER1, 1);
        ck_assert_int_eq(outbox_add(ob, &n, T0 + (int64_t)k), 0);
        ck_assert_int_eq(outbox_next_due(ob, T0 + (int64_t)k, &e), 1);
        ck_assert_int_eq(outbox_result(ob, k, &ok, T0 + (int64_t)k), 0);
    }
    ck_assert(!exists("0000000000000001.ob"));      /* the oldest went */
    ck_assert(exists("0000000000000002.ob"));
    ck_assert(exists("0000000000000003.ob"));
    ck_assert_int_eq(outbox_get(ob, 1, &e), 0);
    /* 48 h later, the next acceptance prunes the old ones */
    n = mk(4, "+6281111111111", LADDER1, 1);
    ck_assert_int_eq(outbox_add(ob, &n, T0 + 49 * 3600 * SEC), 0);
    ck_assert_int_eq(outbox_next_due(ob, T0 + 49 * 3600 * SEC, &e), 1);
    ck_assert_int_eq(outbox_result(ob, 4, &ok, T0 + 49 * 3600 * SEC), 0);
    ck_assert(!exists("0000000000000002.ob"));
    ck_assert(!exists("0000000000000003.ob"));
    ck_assert(exists("0000000000000004.ob"));
    outbox_close(ob);
    rm_tree();
}
END_TEST

START_TEST(io_errors)
{
    struct outbox *ob;
    struct outbox_new n = mk(1, "+6281111111111", LADDER1, 1);
    struct outbox_counters c;
    char path[300], err[256] = "";

    mk_tmp();
    /* a folder under a regular file cannot be created */
    write_file("plain", "x", 1);
    snprintf(path, sizeof(path), "%s/plain/outbox", dir);
    ck_assert_ptr_null(outbox_open(path, NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "outbox: "));

    /* the folder disappears under a running outbox: HUB_EIO, nothing kept */
    snprintf(path, sizeof(path), "%s/ob", dir);
    ob = outbox_open(path, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    snprintf(path, sizeof(path), "rm -rf '%s/ob'", dir);
    ck_assert_int_eq(system(path), 0);
    ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EIO);
    outbox_counters(ob, &c);
    ck_assert_uint_eq(c.io_errors, 1);
    ck_assert_uint_eq(c.pending, 0);
    outbox_close(ob);

    /* without write permission (only meaningful when not root) */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/ro", dir);
        ob = outbox_open(path, NULL, NULL, 0);
        ck_assert_ptr_nonnull(ob);
        ck_assert_int_eq(chmod(path, 0500), 0);
        ck_assert_int_eq(outbox_add(ob, &n, T0), HUB_EIO);
        ck_assert_int_eq(chmod(path, 0700), 0);
        outbox_close(ob);
    }
    rm_tree();
}
END_TEST

/* A full disk, simulated with a tiny tmpfs when we may mount one. */
START_TEST(disk_full)
{
    struct outbox *ob;
    struct outbox_new n = mk(1, "+6281111111111", LADDER1, 1);
    char path[300], cmd[400], big[NOTIFY_TEXT_MAX + 1];
    uint64_t k;
    int rc = 0;

    mk_tmp();
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=16k tmpfs '%s' 2>/dev/null", dir);
    if (geteuid() != 0 || system(cmd) != 0) {
        rm_tree();
        return;                         /* cannot mount here: skip */
    }
    snprintf(path, sizeof(path), "%s/ob", dir);
    ob = outbox_open(path, NULL, NULL, 0);
    ck_assert_ptr_nonnull(ob);
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n.text = big;
    for (k = 1; k < 100 && rc == 0; k++) {
        n.key = k;
        rc = outbox_add(ob, &n, T0);
    }
    ck_assert_int_eq(rc, HUB_EIO);
    outbox_close(ob);
    snprintf(cmd, sizeof(cmd), "umount '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    rm_tree();
}
END_TEST

static Suite *outbox_suite(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, defaults);
    tcase_add_test(tc, add_next_accept_cycle);
    tcase_add_test(tc, idempotent_add);
    tcase_add_test(tc, bad_adds);
    tcase_add_test(tc, backoff_grows_and_caps);
    tcase_add_test(tc, retry_after_wins_when_longer);
    tcase_add_test(tc, pacing_per_phone);
    tcase_add_test(tc, ladder_fallback_and_dead_letter);
    tcase_add_test(tc, max_age_dead_letters);
    tcase_add_test(tc, crash_and_reopen);
    tcase_add_test(tc, torn_and_garbage_files_skipped);
    tcase_add_test(tc, pending_cap_counts_drops);
    tcase_add_test(tc, tombstones_bounded);
    tcase_add_test(tc, io_errors);
    tcase_add_test(tc, disk_full);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(outbox_suite)
