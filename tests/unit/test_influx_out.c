/* SPDX-License-Identifier: MIT */
/* test_influx_out.c - the writer's batching and answer handling, driven
 * through a recording fake transport and a fake clock. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "config.h"
#include "hub_err.h"
#include "influx_out.h"
#include "spool.h"

#define MAXREQ 256

struct req {
    char url[1024];
    char headers[8][1100];
    int nheaders;
    char *body;             /* uncompressed copy, NUL-terminated */
    size_t len;
    int gz;
};

static struct req reqs[MAXREQ];
static int nreq;
static int refuse_start;    /* make post() fail to start */
static int nevents[5];
static char last_retry_detail[512];     /* of the last INFLUX_EV_RETRY */
static uint32_t last_drop_points;

static char *gunzip(const void *p, size_t n, size_t *outlen)
{
    z_stream z;
    size_t cap = n * 20 + 1024;
    char *out = malloc(cap);
    int rc;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(cap - 1);
    rc = inflate(&z, Z_FINISH);
    ck_assert_int_eq(rc, Z_STREAM_END);
    *outlen = cap - 1 - z.avail_out;
    out[*outlen] = '\0';
    inflateEnd(&z);
    return out;
}

static int fake_post(void *ctx, const char *url, const char *const *headers,
                     const void *body, size_t len, long timeout_ms)
{
    struct req *r;
    int i;

    (void)ctx;
    (void)timeout_ms;
    if (refuse_start)
        return -1;
    ck_assert_int_lt(nreq, MAXREQ);
    r = &reqs[nreq++];
    memset(r, 0, sizeof(*r));
    snprintf(r->url, sizeof(r->url), "%s", url);
    for (i = 0; headers[i] && i < 8; i++) {
        snprintf(r->headers[i], sizeof(r->headers[i]), "%s", headers[i]);
        if (strcmp(headers[i], "Content-Encoding: gzip") == 0)
            r->gz = 1;
    }
    r->nheaders = i;
    if (r->gz) {
        r->body = gunzip(body, len, &r->len);
    } else {
        r->body = malloc(len + 1);
        memcpy(r->body, body, len);
        r->body[len] = '\0';
        r->len = len;
    }
    return 0;
}

static void on_event(void *ctx, enum influx_event ev, uint32_t points,
                     long status, const char *detail)
{
    (void)ctx;
    (void)status;
    nevents[ev]++;
    if (ev == INFLUX_EV_RETRY)
        snprintf(last_retry_detail, sizeof(last_retry_detail), "%s", detail ? detail : "");
    if (ev == INFLUX_EV_DROPPED)
        last_drop_points = points;
}

static struct influx_out *w;
static struct influx_out_cfg cfg;
static const struct influx_transport fake = { NULL, fake_post };

static void base_cfg(void)
{
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.url, sizeof(cfg.url), "http://127.0.0.1:1/write?db=k&precision=ns");
    cfg.gzip = 0;
    cfg.batch_size = 3;
    cfg.flush_interval_ms = 1000;
    cfg.timeout_ms = 5000;
    cfg.max_queue_points = 1000;
    cfg.retry_base_ms = 500;
    cfg.retry_max_ms = 30000;
}

static void setup(void)
{
    int i;

    for (i = 0; i < MAXREQ; i++) {
        free(reqs[i].body);
        reqs[i].body = NULL;
    }
    nreq = 0;
    refuse_start = 0;
    memset(nevents, 0, sizeof(nevents));
    last_drop_points = 0;
    base_cfg();
    w = NULL;
}

static void teardown(void)
{
    int i;

    influx_out_free(w);
    w = NULL;
    for (i = 0; i < MAXREQ; i++) {
        free(reqs[i].body);
        reqs[i].body = NULL;
    }
}

static void make(void)
{
    w = influx_out_new(&cfg, &fake, on_event, NULL, 42);
    ck_assert_ptr_nonnull(w);
}

/* Append point k as one line "m v=<k> <k>\n". */
static void add_point(int k, hub_mono_ms now)
{
    struct buf *b = influx_out_open(w, now);

    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(buf_printf(b, "m v=%d %d\n", k, k), HUB_OK);
    influx_out_commit(w, 1, now);
}

static void answer(long status, long retry_after, const char *body, hub_mono_ms now)
{
    struct influx_result r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.retry_after_s = retry_after;
    r.body = body;
    r.neterr = status == 0 ? "Connection refused" : NULL;
    influx_out_complete(w, &r, now);
}

static struct influx_out_stats stats(void)
{
    struct influx_out_stats st;

    influx_out_get_stats(w, &st);
    return st;
}

START_TEST(batches_by_size_in_order)
{
    int i;

    make();
    for (i = 1; i <= 7; i++)
        add_point(i, 0);
    ck_assert_int_eq(nreq, 0);          /* nothing leaves before a tick */
    influx_out_tick(w, 0);
    ck_assert_int_eq(nreq, 1);
    ck_assert_str_eq(reqs[0].body, "m v=1 1\nm v=2 2\nm v=3 3\n");
    ck_assert_str_eq(reqs[0].url, "http://127.0.0.1:1/write?db=k&precision=ns");
    ck_assert_str_eq(reqs[0].headers[0], "Content-Type: text/plain; charset=utf-8");
    ck_assert_int_eq(reqs[0].nheaders, 1);
    influx_out_tick(w, 1);
    ck_assert_int_eq(nreq, 1);          /* one request at a time */
    answer(204, -1, "", 2);
    ck_assert_int_eq(nreq, 2);          /* the next starts at once */
    ck_assert_str_eq(reqs[1].body, "m v=4 4\nm v=5 5\nm v=6 6\n");
    answer(204, -1, "", 3);
    ck_assert_int_eq(nreq, 2);          /* point 7 waits for its age */
    ck_assert_uint_eq(stats().points_written, 6);
    ck_assert_uint_eq(stats().queued_points, 1);
    ck_assert_int_eq(influx_out_idle(w), 0);
}
END_TEST

START_TEST(batches_by_age)
{
    make();
    add_point(1, 100);
    influx_out_tick(w, 1099);
    ck_assert_int_eq(nreq, 0);
    ck_assert_int_eq(influx_out_tick(w, 1099) <= 1, 1);
    influx_out_tick(w, 1100);
    ck_assert_int_eq(nreq, 1);
    ck_assert_str_eq(reqs[0].body, "m v=1 1\n");
    answer(200, -1, "", 1101);
    ck_assert_int_eq(influx_out_idle(w), 1);
    ck_assert_uint_eq(stats().batches_written, 1);
}
END_TEST

START_TEST(retry_5xx_with_backoff_then_success)
{
    hub_mono_ms t = 0;
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, t);
    influx_out_tick(w, t);
    ck_assert_int_eq(nreq, 1);
    answer(500, -1, "{\"error\":\"boom\"}", t);
    ck_assert_int_eq(nreq, 1);
    /* first retry: 500 ms base with equal jitter -> between 250 and 500 ms */
    influx_out_tick(w, t + 249);
    ck_assert_int_eq(nreq, 1);
    influx_out_tick(w, t + 500);
    ck_assert_int_eq(nreq, 2);
    ck_assert_str_eq(reqs[1].body, reqs[0].body);
    answer(503, -1, "", t + 500);
    /* second retry: 1000 ms -> between 500 and 1000 ms after */
    influx_out_tick(w, t + 500 + 499);
    ck_assert_int_eq(nreq, 2);
    influx_out_tick(w, t + 1500);
    ck_assert_int_eq(nreq, 3);
    answer(204, -1, "", t + 1500);
    ck_assert_uint_eq(stats().points_written, 3);
    ck_assert_uint_eq(stats().write_errors, 2);
    ck_assert_uint_eq(stats().retries, 2);
    ck_assert_uint_eq(stats().points_dropped, 0);
    ck_assert_int_eq(nevents[INFLUX_EV_RECOVERED], 1);
}
END_TEST

START_TEST(backoff_is_capped)
{
    hub_mono_ms t = 0;
    int i;

    cfg.retry_max_ms = 2000;
    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    for (i = 0; i < 12; i++) {
        answer(0, -1, NULL, t);         /* network error */
        if (i >= 2) {                   /* 500, 1000, then the 2000 cap */
            influx_out_tick(w, t + 999);
            ck_assert_int_eq(nreq, i + 1);  /* never before half the cap */
        }
        t += 2000;
        influx_out_tick(w, t);          /* always by the cap */
        ck_assert_int_eq(nreq, i + 2);
    }
    ck_assert_uint_eq(stats().retries, 12);
}
END_TEST

START_TEST(auth_and_missing_db_are_retried)
{
    static const long codes[] = { 401, 403, 404 };
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(codes[_i], -1, "{\"error\":\"authorization failed\"}", 0);
    ck_assert_uint_eq(stats().points_dropped, 0);
    ck_assert_uint_eq(stats().retries, 1);
    influx_out_tick(w, 500);
    ck_assert_int_eq(nreq, 2);
    answer(204, -1, "", 500);
    ck_assert_uint_eq(stats().points_written, 3);
}
END_TEST

/* A redirect (InfluxDB behind a proxy that sends http:// to https://) is a
 * set-up problem like 401: the points wait, and the retry says why. */
START_TEST(redirects_are_retried)
{
    static const long codes[] = { 301, 302, 307, 308, 300 };
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(codes[_i], -1, "<html>Moved</html>", 0);
    ck_assert_uint_eq(stats().points_dropped, 0);
    ck_assert_uint_eq(stats().retries, 1);
    ck_assert_uint_eq(stats().write_errors, 1);
    ck_assert_int_eq(nevents[INFLUX_EV_RETRY], 1);
    ck_assert_int_eq(nevents[INFLUX_EV_DROPPED], 0);
    ck_assert_ptr_nonnull(strstr(last_retry_detail, "redirect"));
    ck_assert_ptr_nonnull(strstr(last_retry_detail, "influx.url"));
    influx_out_tick(w, 499);            /* first retry: 250..500 ms */
    influx_out_tick(w, 500);
    ck_assert_int_eq(nreq, 2);
    ck_assert_str_eq(reqs[1].body, reqs[0].body);
    answer(204, -1, "", 500);
    ck_assert_uint_eq(stats().points_written, 3);
    ck_assert_uint_eq(stats().points_dropped, 0);
}
END_TEST

/* InfluxDB away, the first batch retried (in flight whenever readings come
 * in, so the memory cap never evicts it), a small spool: the cap must still
 * drop the oldest segments (the retried batch does not protect everything
 * after it), and the accounting stays exact: written + (dropped by the
 * spool - rescued from memory) == committed. */
START_TEST(spool_cap_holds_while_the_head_batch_is_retried)
{
    struct spool_cfg sc;
    struct spool_stats ss;
    struct spool *sp;
    struct influx_out_stats st;
    char dir[] = "/tmp/test_influx_out_spool.XXXXXX", err[256], cmd[128];
    hub_mono_ms now = 0;
    int k = 0, guard, answered;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.dir, sizeof(sc.dir), "%s", dir);
    sc.max_bytes = 32 * 1024;
    sc.segment_bytes = 8 * 1024;
    sc.fsync_interval_ms = 100000;
    sp = spool_open(&sc, err, sizeof(err));
    ck_assert_msg(sp != NULL, "%s", err);
    cfg.batch_size = 100;
    cfg.max_queue_points = 300;
    make();
    influx_out_set_spool(w, sp);
    for (k = 1; k <= 100; k++)
        add_point(k, now);
    ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    influx_out_tick(w, now);
    ck_assert_int_eq(nreq, 1);                  /* batch 1 in flight */
    /* 5,000 more points arrive while it is in flight (about 100 KiB) */
    for (; k <= 5100; k++) {
        add_point(k, now);
        if (k % 50 == 0)
            ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    }
    ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    spool_get_stats(sp, &ss);
    ck_assert_msg(ss.points_dropped > 0, "the cap dropped nothing (spool %llu bytes)",
                  (unsigned long long)ss.bytes);
    ck_assert_msg(ss.bytes <= sc.max_bytes + 2 * sc.segment_bytes,
                  "spool %llu bytes, cap %llu", (unsigned long long)ss.bytes,
                  (unsigned long long)sc.max_bytes);
    /* InfluxDB answers 503 once, then everything is accepted */
    answer(503, -1, "", now);
    answered = nreq;
    for (guard = 0; guard < 2000; guard++) {
        now += 1000;
        influx_out_tick(w, now);
        while (answered < nreq) {
            answered++;
            answer(204, -1, "", now);
        }
        if (influx_out_idle(w) && stats().queued_points == 0 && !stats().replaying)
            break;
    }
    ck_assert_int_lt(guard, 2000);
    st = stats();
    spool_get_stats(sp, &ss);
    ck_assert_uint_eq(st.queued_points, 0);
    ck_assert_uint_eq(st.points_dropped, 0);
    ck_assert_msg(st.points_written + (ss.points_dropped - st.points_rescued) == 5100,
                  "written %llu + spool dropped %llu - rescued %llu != 5100",
                  (unsigned long long)st.points_written, (unsigned long long)ss.points_dropped,
                  (unsigned long long)st.points_rescued);
    ck_assert_uint_ge(st.points_rescued, 100);  /* batch 1 at least: its segment went */
    influx_out_free(w);
    w = NULL;
    spool_close(sp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Count the distinct points (values of v) in the bodies of the requests
 * flagged in ok[]; fails on a point written twice. */
static uint64_t distinct_points_in(const unsigned char *ok, int n, int maxk)
{
    unsigned char *seen = calloc((size_t)maxk + 1, 1);
    const char *p;
    uint64_t count = 0;
    int i, k;

    ck_assert_ptr_nonnull(seen);
    for (i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        for (p = reqs[i].body; p && (p = strstr(p, "v=")) != NULL; p += 2) {
            k = atoi(p + 2);
            ck_assert_int_ge(k, 1);
            ck_assert_int_le(k, maxk);
            ck_assert_msg(!seen[k], "point %d written twice", k);
            seen[k] = 1;
            count++;
        }
    }
    free(seen);
    return count;
}

/* The batch being retried while InfluxDB is away must not keep the spool
 * over its cap. It was in flight when memory first went over
 * max_queue_points (so the memory cap skipped it and the range kept on
 * disk began after it), then is answered with a failure and waits for its
 * next attempt (not in flight) while 5,000 more points come in. It used to
 * stay in memory for good (nothing evicted it: the next commits skipped it
 * as "ahead of the disk range") and so protected every segment after it:
 * the spool grew to ~100 KiB with a 32 KiB cap and dropped nothing.
 *   _i = 0: the batch lies in one segment, answered 503 then 204;
 *   _i = 1: the same, but answered 413 once it is back (split in halves);
 *   _i = 2: 1 KiB segments, every batch straddles two of them.
 * Then InfluxDB accepts everything: nothing is counted twice or missing,
 * written + (spool dropped - rescued) == committed (5,500), and the points
 * written are distinct. */
START_TEST(spool_cap_holds_between_retries)
{
    static unsigned char ok[MAXREQ];
    struct spool_cfg sc;
    struct spool_stats ss;
    struct spool *sp;
    struct influx_out_stats st;
    char dir[] = "/tmp/test_influx_out_spool.XXXXXX", err[256], cmd[128];
    hub_mono_ms now = 0;
    uint64_t mem_bytes;
    int k, guard, answered, first;
    const int total = 5500;

    memset(ok, 0, sizeof(ok));
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.dir, sizeof(sc.dir), "%s", dir);
    sc.max_bytes = _i == 2 ? 8 * 1024 : 32 * 1024;
    sc.segment_bytes = _i == 2 ? 1024 : 8 * 1024;
    sc.fsync_interval_ms = 100000;
    sp = spool_open(&sc, err, sizeof(err));
    ck_assert_msg(sp != NULL, "%s", err);
    cfg.batch_size = 100;
    cfg.max_queue_points = 300;
    cfg.retry_base_ms = 60000;      /* the whole burst fits in one backoff */
    cfg.retry_max_ms = 60000;
    make();
    influx_out_set_spool(w, sp);
    /* batch 1 (points 1..100, ~1.4 KiB in ten records) goes out */
    for (k = 1; k <= 100; k++) {
        add_point(k, now);
        if (k % 10 == 0)
            ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    }
    influx_out_tick(w, now);
    ck_assert_int_eq(nreq, 1);
    /* 400 points while it is in flight: memory passes its cap of 300 and
     * batches 2.. go to disk, batch 1 (in flight) stays */
    for (; k <= 500; k++) {
        add_point(k, now);
        if (k % 10 == 0)
            ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    }
    ck_assert_uint_gt(stats().points_evicted, 0);
    answer(503, -1, "", now);       /* retried in 30..60 s */
    ck_assert_int_eq(nreq, 1);      /* waits: not in flight now */
    /* 5,000 points during the backoff (~70 KiB) */
    for (; k <= total; k++) {
        add_point(k, now);
        if (k % 10 == 0)
            ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
        if (k % 1000 == 0)
            influx_out_tick(w, now += 10);
    }
    ck_assert_int_eq(nreq, 1);      /* no attempt in between */
    spool_get_stats(sp, &ss);
    st = stats();
    ck_assert_msg(ss.points_dropped > 0, "the cap dropped nothing (spool %llu bytes)",
                  (unsigned long long)ss.bytes);
    /* spool.h: within the cap + one segment + what memory holds (and
     * protects): at most max_queue_points + one batch */
    mem_bytes = st.queued_bytes;
    ck_assert_msg(ss.bytes <= sc.max_bytes + sc.segment_bytes + mem_bytes + 1024,
                  "spool %llu bytes, cap %llu, memory %llu bytes",
                  (unsigned long long)ss.bytes, (unsigned long long)sc.max_bytes,
                  (unsigned long long)mem_bytes);
    ck_assert_uint_le(st.queued_points - (st.replaying ? 100 : 0), 400);
    /* InfluxDB is back */
    now += 60000;
    influx_out_tick(w, now);
    answered = 1;
    first = 1;
    for (guard = 0; guard < 2000; guard++) {
        while (answered < nreq) {
            if (first && _i == 1) {
                answer(413, -1, "request too large", now);
            } else {
                ok[answered] = 1;
                answer(204, -1, "", now);
            }
            first = 0;
            answered++;
        }
        if (influx_out_idle(w) && stats().queued_points == 0 && !stats().replaying)
            break;
        now += 1000;
        influx_out_tick(w, now);
    }
    ck_assert_int_lt(guard, 2000);
    st = stats();
    spool_get_stats(sp, &ss);
    ck_assert_uint_eq(st.queued_points, 0);
    ck_assert_uint_eq(st.points_dropped, 0);
    ck_assert_uint_eq(st.points_committed, (uint64_t)total);
    ck_assert_uint_le(st.points_rescued, ss.points_dropped);
    ck_assert_msg(st.points_written + (ss.points_dropped - st.points_rescued) ==
                  (uint64_t)total,
                  "written %llu + spool dropped %llu - rescued %llu != %d",
                  (unsigned long long)st.points_written,
                  (unsigned long long)ss.points_dropped,
                  (unsigned long long)st.points_rescued, total);
    ck_assert_uint_eq(distinct_points_in(ok, nreq, total), st.points_written);
    ck_assert_uint_eq(ss.points_pending, 0);
    influx_out_free(w);
    w = NULL;
    spool_close(sp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The batch in flight lies in one segment and is not protected: the cap
 * drops its segment while it is out (counted by the spool), InfluxDB then
 * answers 413 and the halves are written: both halves count as rescued
 * (100 points), and written + net spool drops == committed. */
START_TEST(split_of_a_rescued_batch_counts_both_halves)
{
    struct spool_cfg sc;
    struct spool_stats ss;
    struct spool *sp;
    struct influx_out_stats st;
    char dir[] = "/tmp/test_influx_out_spool.XXXXXX", err[256], cmd[128];
    hub_mono_ms now = 0;
    int k, guard, answered;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.dir, sizeof(sc.dir), "%s", dir);
    sc.max_bytes = 32 * 1024;
    sc.segment_bytes = 8 * 1024;
    sc.fsync_interval_ms = 100000;
    sp = spool_open(&sc, err, sizeof(err));
    ck_assert_msg(sp != NULL, "%s", err);
    cfg.batch_size = 100;
    cfg.max_queue_points = 300;
    make();
    influx_out_set_spool(w, sp);
    for (k = 1; k <= 100; k++)
        add_point(k, now);
    ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    influx_out_tick(w, now);
    ck_assert_int_eq(nreq, 1);
    for (; k <= 5100; k++) {
        add_point(k, now);
        if (k % 50 == 0)
            ck_assert_int_eq(influx_out_sync(w, now), HUB_OK);
    }
    spool_get_stats(sp, &ss);
    ck_assert_uint_gt(ss.points_dropped, 0);
    answer(413, -1, "", now);       /* split: the first half goes out */
    ck_assert_int_eq(nreq, 2);
    ck_assert_uint_eq(stats().splits, 1);
    answered = 1;
    for (guard = 0; guard < 2000; guard++) {
        while (answered < nreq) {
            answered++;
            answer(204, -1, "", now);
        }
        if (influx_out_idle(w) && stats().queued_points == 0 && !stats().replaying)
            break;
        now += 1000;
        influx_out_tick(w, now);
    }
    ck_assert_int_lt(guard, 2000);
    ck_assert_str_eq(reqs[1].body, "m v=1 1\n" "m v=2 2\n" "m v=3 3\n" "m v=4 4\n"
                     "m v=5 5\n" "m v=6 6\n" "m v=7 7\n" "m v=8 8\n" "m v=9 9\n"
                     "m v=10 10\n" "m v=11 11\n" "m v=12 12\n" "m v=13 13\n"
                     "m v=14 14\n" "m v=15 15\n" "m v=16 16\n" "m v=17 17\n"
                     "m v=18 18\n" "m v=19 19\n" "m v=20 20\n" "m v=21 21\n"
                     "m v=22 22\n" "m v=23 23\n" "m v=24 24\n" "m v=25 25\n"
                     "m v=26 26\n" "m v=27 27\n" "m v=28 28\n" "m v=29 29\n"
                     "m v=30 30\n" "m v=31 31\n" "m v=32 32\n" "m v=33 33\n"
                     "m v=34 34\n" "m v=35 35\n" "m v=36 36\n" "m v=37 37\n"
                     "m v=38 38\n" "m v=39 39\n" "m v=40 40\n" "m v=41 41\n"
                     "m v=42 42\n" "m v=43 43\n" "m v=44 44\n" "m v=45 45\n"
                     "m v=46 46\n" "m v=47 47\n" "m v=48 48\n" "m v=49 49\n"
                     "m v=50 50\n");
    st = stats();
    spool_get_stats(sp, &ss);
    ck_assert_uint_eq(st.points_dropped, 0);
    ck_assert_uint_ge(st.points_rescued, 100);  /* both halves of batch 1 */
    ck_assert_msg(st.points_written + (ss.points_dropped - st.points_rescued) == 5100,
                  "written %llu + spool dropped %llu - rescued %llu != 5100",
                  (unsigned long long)st.points_written, (unsigned long long)ss.points_dropped,
                  (unsigned long long)st.points_rescued);
    influx_out_free(w);
    w = NULL;
    spool_close(sp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(429, 5, "too many", 0);
    influx_out_tick(w, 4999);
    ck_assert_int_eq(nreq, 1);
    influx_out_tick(w, 5000);
    ck_assert_int_eq(nreq, 2);
}
END_TEST

START_TEST(split_on_413)
{
    int i;

    cfg.batch_size = 4;
    make();
    for (i = 1; i <= 4; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(413, -1, "request entity too large", 0);
    ck_assert_int_eq(nreq, 2);
    ck_assert_str_eq(reqs[1].body, "m v=1 1\nm v=2 2\n");
    answer(413, -1, "", 0);             /* still too large: split again */
    ck_assert_str_eq(reqs[2].body, "m v=1 1\n");
    answer(204, -1, "", 0);
    ck_assert_str_eq(reqs[3].body, "m v=2 2\n");
    answer(204, -1, "", 0);
    ck_assert_str_eq(reqs[4].body, "m v=3 3\nm v=4 4\n");
    answer(204, -1, "", 0);
    ck_assert_uint_eq(stats().points_written, 4);
    ck_assert_uint_eq(stats().splits, 2);
    ck_assert_int_eq(influx_out_idle(w), 1);
}
END_TEST

START_TEST(single_point_413_is_dropped)
{
    cfg.batch_size = 1;
    make();
    add_point(1, 0);
    influx_out_tick(w, 0);
    answer(413, -1, "", 0);
    ck_assert_uint_eq(stats().points_dropped, 1);
    ck_assert_int_eq(influx_out_idle(w), 1);
    ck_assert_int_eq(nevents[INFLUX_EV_DROPPED], 1);
}
END_TEST

START_TEST(other_4xx_drops_batch)
{
    int i;

    make();
    for (i = 1; i <= 6; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(400, -1, "{\"error\":\"unable to parse\"}", 0);
    ck_assert_uint_eq(stats().points_dropped, 3);
    ck_assert_uint_eq(last_drop_points, 3);
    ck_assert_int_eq(nreq, 2);           /* the next batch goes on */
    ck_assert_str_eq(reqs[1].body, "m v=4 4\nm v=5 5\nm v=6 6\n");
    answer(422, -1, "unprocessable", 0);
    ck_assert_uint_eq(stats().points_dropped, 6);
    ck_assert_uint_eq(stats().write_errors, 2);
}
END_TEST

START_TEST(partial_write_counts_dropped)
{
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    answer(400, -1, "{\"error\":\"partial write: field type conflict: "
                    "input field \\\"v\\\" is type float dropped=1\"}", 0);
    ck_assert_uint_eq(stats().points_dropped, 1);
    ck_assert_uint_eq(stats().points_written, 2);
}
END_TEST

START_TEST(post_that_cannot_start_is_retried)
{
    int i;

    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    refuse_start = 1;
    influx_out_tick(w, 0);
    ck_assert_int_eq(nreq, 0);
    ck_assert_uint_eq(stats().retries, 1);
    refuse_start = 0;
    influx_out_tick(w, 600);
    ck_assert_int_eq(nreq, 1);
}
END_TEST

START_TEST(queue_is_bounded)
{
    int i;

    cfg.batch_size = 5;
    cfg.max_queue_points = 20;
    make();
    for (i = 1; i <= 5; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);              /* batch 1 in flight */
    for (i = 6; i <= 20; i++)
        add_point(i, 0);
    ck_assert_int_eq(influx_out_full(w), 1);
    ck_assert_uint_eq(stats().points_dropped, 0);
    for (i = 21; i <= 30; i++)          /* past 1.25 x 20 = 25 */
        add_point(i, 0);
    ck_assert_uint_le(stats().queued_points, 25);
    ck_assert_uint_eq(stats().points_dropped, 5);
    /* the in-flight batch was kept; the oldest waiting one (6..10) went */
    answer(204, -1, "", 1);
    ck_assert_str_eq(reqs[1].body, "m v=11 11\nm v=12 12\nm v=13 13\nm v=14 14\nm v=15 15\n");
}
END_TEST

START_TEST(gzip_body)
{
    int i, found = 0;

    cfg.gzip = 1;
    snprintf(cfg.auth_header, sizeof(cfg.auth_header), "Authorization: Token abc");
    make();
    for (i = 1; i <= 3; i++)
        add_point(i, 0);
    influx_out_tick(w, 0);
    ck_assert_int_eq(nreq, 1);
    ck_assert_int_eq(reqs[0].gz, 1);
    ck_assert_str_eq(reqs[0].body, "m v=1 1\nm v=2 2\nm v=3 3\n");
    for (i = 0; i < reqs[0].nheaders; i++)
        found += strcmp(reqs[0].headers[i], "Authorization: Token abc") == 0;
    ck_assert_int_eq(found, 1);
}
END_TEST

START_TEST(flush_now_skips_waits)
{
    make();
    add_point(1, 0);
    add_point(2, 0);
    influx_out_flush_now(w, 10);
    ck_assert_int_eq(nreq, 1);
    ck_assert_str_eq(reqs[0].body, "m v=1 1\nm v=2 2\n");
    answer(503, -1, "", 10);
    influx_out_tick(w, 10 + 500);       /* draining: at most 500 ms */
    ck_assert_int_eq(nreq, 2);
    answer(204, -1, "", 600);
    ck_assert_int_eq(influx_out_idle(w), 1);
}
END_TEST

START_TEST(cfg_v1_and_v2)
{
    struct hub_config hc;
    struct influx_out_cfg oc;
    char err[128];

    ck_assert_int_eq(config_defaults(&hc), HUB_OK);
    free(hc.influx.url);
    hc.influx.url = strdup("http://db.local:8086/");
    free(hc.influx.database);
    hc.influx.database = strdup("kom pos&x");
    free(hc.influx.retention_policy);
    hc.influx.retention_policy = strdup("one_year");
    ck_assert_int_eq(influx_out_cfg_from(&hc, "", &oc, err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(oc.url, "http://db.local:8086/write?db=kom%20pos%26x&rp=one_year&precision=ns");
    ck_assert_str_eq(oc.auth_header, "");
    free(hc.influx.username);
    hc.influx.username = strdup("hub");
    ck_assert_int_eq(influx_out_cfg_from(&hc, "s3cret", &oc, err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(oc.auth_header, "Authorization: Basic aHViOnMzY3JldA==");
    hc.influx.api = INFLUX_API_V2;
    free(hc.influx.org);
    hc.influx.org = strdup("kube");
    free(hc.influx.bucket);
    hc.influx.bucket = strdup("kompos/autogen");
    ck_assert_int_eq(influx_out_cfg_from(&hc, "tok", &oc, err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(oc.url, "http://db.local:8086/api/v2/write?org=kube&bucket=kompos%2Fautogen&precision=ns");
    ck_assert_str_eq(oc.auth_header, "Authorization: Token tok");
    ck_assert_uint_eq(oc.batch_size, 5000);
    ck_assert_int_eq(oc.gzip, 1);
    config_free(&hc);
}
END_TEST

Suite *influx_out_suite(void)
{
    Suite *s = suite_create("influx_out");
    TCase *tc = tcase_create("writer");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, batches_by_size_in_order);
    tcase_add_test(tc, batches_by_age);
    tcase_add_test(tc, retry_5xx_with_backoff_then_success);
    tcase_add_test(tc, backoff_is_capped);
    tcase_add_loop_test(tc, auth_and_missing_db_are_retried, 0, 3);
    tcase_add_loop_test(tc, redirects_are_retried, 0, 5);
    tcase_add_test(tc, spool_cap_holds_while_the_head_batch_is_retried);
    tcase_add_loop_test(tc, spool_cap_holds_between_retries, 0, 3);
    tcase_add_test(tc, split_of_a_rescued_batch_counts_both_halves);
    tcase_add_test(tc, retry_after_is_honoured);
    tcase_add_test(tc, split_on_413);
    tcase_add_test(tc, single_point_413_is_dropped);
    tcase_add_test(tc, other_4xx_drops_batch);
    tcase_add_test(tc, partial_write_counts_dropped);
    tcase_add_test(tc, post_that_cannot_start_is_retried);
    tcase_add_test(tc, queue_is_bounded);
    tcase_add_test(tc, gzip_body);
    tcase_add_test(tc, flush_now_skips_waits);
    tcase_add_test(tc, cfg_v1_and_v2);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(influx_out_suite)
