/* SPDX-License-Identifier: MIT */
/* fuzz_influx_answer.c - the InfluxDB writer's answer handling
 * (influx_out_complete in hub/src/influx_out.c) and the hub's data path
 * end to end, each behind a fake transport.
 *
 * The first input byte picks the mode:
 *
 * even: the writer alone. A small configuration from the input (batch
 *   size 1..16, a queue cap, gzip or not, retry cap), then a program of
 *   steps: commit points (each line carries a unique sequence number),
 *   let time pass and tick, answer the request in flight with a fuzzed
 *   status (any long), Retry-After (any long) and body bytes, flush, make
 *   the transport refuse to start requests, or answer when nothing is in
 *   flight. After every step:
 *     points_written + points_dropped + queued_points == points_committed,
 *     points_written == what the answers acknowledged (2xx: the batch;
 *       other final 4xx with "partial write ... dropped=N": the batch
 *       less N; the classification of influx_out.h is mirrored here),
 *     at most one request in flight, none answered twice, no point in a
 *       request after a 2xx or a final 4xx answer covered it,
 *     every request body (gunzipped) parses as line protocol,
 *     the queue stays near its cap (1.25 x max_queue_points).
 *   At the end everything is flushed and answered 204: the writer must be
 *   idle and every point accounted for.
 *
 * odd: the hub. hub_new() with config_defaults() (small batches, windows
 *   and series cap from the input) and the same fake, then a program of
 *   MQTT messages (topic up to a NUL, payload of a fuzzed length), ticks,
 *   answers, flushes and reconfigurations (SIGHUP: a good config is
 *   applied, one with a template the decoder refuses is not). Every request body must parse with lp_parse.h,
 *   each line with the tags and field types DESIGN.md section 4 gives its
 *   measurement and a sane timestamp, the writer's counts
 *   must add up, and the encoder must never refuse a line the hub built
 *   from a decoded message (encode_errors == 0).
 *
 * Logging is off (set KOMPOS_FUZZ_LOG=1 to see the hub's log lines;
 * KOMPOS_FUZZ_TRACE=1 prints the writer program's steps and requests). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "config.h"
#include "fuzz_input.h"
#include "hub.h"
#include "hub_err.h"
#include "influx_out.h"
#include "log.h"
#include "lp_parse.h"

#define WALL0       INT64_C(1764295200000000000)   /* 2025-11-28T02:00:00Z */
#define MAX_STEPS   400
#define MAX_POINTS  4096
#define BODY_MAX    1024

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int trace;               /* KOMPOS_FUZZ_TRACE set: print each step */

/* ---- the fake transport ------------------------------------------------ */

struct fake {
    int pending;                /* a request is out and not answered     */
    int refuse;                 /* post() fails to start                 */
    char *text;                 /* the last body, as line protocol       */
    size_t len;
    unsigned long posts;
};

static char *gunzip(const void *p, size_t n, size_t *outlen)
{
    z_stream z;
    size_t cap = n * 8 + 256, used = 0;
    char *out = malloc(cap), *bigger;
    int rc;

    if (!out)
        return NULL;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    for (;;) {
        if (cap - used < 2) {
            bigger = realloc(out, cap * 2);
            if (!bigger)
                break;
            out = bigger;
            cap *= 2;
        }
        z.next_out = (Bytef *)out + used;
        z.avail_out = (uInt)(cap - used - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        used = cap - 1 - z.avail_out;
        if (rc == Z_STREAM_END && z.avail_in == 0) {
            inflateEnd(&z);
            out[used] = '\0';
            *outlen = used;
            return out;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            break;
    }
    inflateEnd(&z);
    free(out);
    return NULL;
}

static int fake_post(void *ctx, const char *url, const char *const *headers,
                     const void *body, size_t len, long timeout_ms)
{
    struct fake *f = ctx;
    int gz = 0;

    (void)timeout_ms;
    FUZZ_CHECK(!f->pending, "a second request started while one is in flight");
    FUZZ_CHECK(url && url[0], "no URL");
    for (size_t i = 0; headers && headers[i]; i++) {
        if (strcmp(headers[i], "Content-Encoding: gzip") == 0)
            gz = 1;
    }
    if (f->refuse)
        return -1;
    free(f->text);
    f->text = NULL;
    if (gz) {
        f->text = gunzip(body, len, &f->len);
        FUZZ_CHECK(f->text != NULL, "the gzip body does not inflate");
    } else {
        f->text = malloc(len + 1);
        FUZZ_CHECK(f->text != NULL, "out of memory");
        memcpy(f->text, body, len);
        f->text[len] = '\0';
        f->len = len;
    }
    FUZZ_CHECK(f->len > 0, "an empty request body");
    f->pending = 1;
    f->posts++;
    return 0;
}

/* ---- answers from the input -------------------------------------------- */

struct answer {
    long status;
    long retry_after;
    char body[BODY_MAX + 1];
    int has_body;
};

static long take_status(struct fin *in)
{
    static const long common[] = {
        200, 204, 0, 400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 100, 199,
        201, 299, 300, 301, 399, 412, 422, 499, 599, 600, 999, -1, -200, 1,
        LONG_MAX, LONG_MIN, 2147483647L, -2147483648L,
    };
    uint8_t sel = take_u8(in);

    if (sel < 200)
        return common[sel % (sizeof(common) / sizeof(common[0]))];
    return (long)(int32_t)take_u32(in);
}

static long take_retry_after(struct fin *in)
{
    static const long common[] = { -1, 0, 1, 5, 60, 3599, 3600, 3601, 86400,
                                   LONG_MAX, LONG_MIN, -2 };
    uint8_t sel = take_u8(in);

    if (sel < 128)
        return common[sel % (sizeof(common) / sizeof(common[0]))];
    return (long)(int32_t)take_u32(in);
}

static void take_answer(struct fin *in, struct answer *a)
{
    const uint8_t *p;
    uint16_t want = take_u16(in);
    size_t n;

    a->status = take_status(in);
    a->retry_after = take_retry_after(in);
    a->has_body = (want & 0x8000) == 0;
    n = take_bytes(in, want % (BODY_MAX + 1), &p);
    memcpy(a->body, p, n);
    a->body[n] = '\0';           /* the transport hands over a C string */
}

/* ---- the writer alone -------------------------------------------------- */

enum pstate { P_NONE = 0, P_QUEUED, P_DONE };

struct wctx {
    struct influx_out *w;
    struct fake f;
    struct influx_out_cfg cfg;
    hub_mono_ms now;
    uint64_t seq;               /* points committed so far               */
    uint8_t state[MAX_POINTS];
    uint64_t written;           /* what the answers acknowledged         */
    uint32_t inflight_points;
    uint64_t inflight_seq[MAX_POINTS];
};

struct collect {
    struct wctx *c;
    size_t n;
};

static void collect_line(const struct lp_parsed *p, void *ctx)
{
    struct collect *col = ctx;
    struct wctx *c = col->c;
    int64_t seq;

    FUZZ_CHECK(strcmp(p->meas, "m") == 0 && p->nfields == 1 && p->f[0].t == LP_P_INT,
               "a line the test did not write");
    seq = p->f[0].i;
    FUZZ_CHECK(seq >= 0 && (uint64_t)seq < c->seq && p->ts == seq, "sequence %lld",
               (long long)seq);
    FUZZ_CHECK(c->state[seq] == P_QUEUED, "point %lld sent after it was settled",
               (long long)seq);
    FUZZ_CHECK(col->n < MAX_POINTS, "too many lines");
    c->inflight_seq[col->n++] = (uint64_t)seq;
}

/* Called once per started request: note which points it carries. */
static void note_request(struct wctx *c)
{
    struct collect col = { c, 0 };
    long n;

    if (trace)
        fprintf(stderr, "trace: request %lu at %lld:\n%s", c->f.posts, (long long)c->now,
                c->f.text);
    n = lp_parse_batch(c->f.text, c->f.len, collect_line, &col, NULL);
    FUZZ_CHECK(n > 0 && (size_t)n == col.n, "the request body does not parse");
    c->inflight_points = (uint32_t)col.n;
}

static void check_writer(struct wctx *c)
{
    struct influx_out_stats st;
    uint64_t hard = c->cfg.max_queue_points + c->cfg.max_queue_points / 4;

    influx_out_get_stats(c->w, &st);
    if (trace)
        fprintf(stderr, "trace:   committed %llu written %llu dropped %llu queued %llu "
                "errors %llu retries %llu splits %llu idle %d\n",
                (unsigned long long)st.points_committed, (unsigned long long)st.points_written,
                (unsigned long long)st.points_dropped, (unsigned long long)st.queued_points,
                (unsigned long long)st.write_errors, (unsigned long long)st.retries,
                (unsigned long long)st.splits, influx_out_idle(c->w));
    FUZZ_CHECK(st.points_committed == c->seq, "committed %llu, test committed %llu",
               (unsigned long long)st.points_committed, (unsigned long long)c->seq);
    FUZZ_CHECK(st.queued_points <= st.points_committed, "queued_points underflow");
    FUZZ_CHECK(st.points_written + st.points_dropped + st.queued_points == st.points_committed,
               "written %llu + dropped %llu + queued %llu != committed %llu",
               (unsigned long long)st.points_written, (unsigned long long)st.points_dropped,
               (unsigned long long)st.queued_points, (unsigned long long)st.points_committed);
    FUZZ_CHECK(st.points_written == c->written, "written %llu, acknowledged %llu",
               (unsigned long long)st.points_written, (unsigned long long)c->written);
    FUZZ_CHECK(st.queued_points <= hard + 2 * (uint64_t)c->cfg.batch_size + 16,
               "queue %llu over its cap %llu", (unsigned long long)st.queued_points,
               (unsigned long long)hard);
    FUZZ_CHECK(st.retries <= st.write_errors, "retries > write_errors");
    FUZZ_CHECK(influx_out_full(c->w) == (st.queued_points >= c->cfg.max_queue_points),
               "influx_out_full");
    if (influx_out_idle(c->w))
        FUZZ_CHECK(st.queued_points == 0 && !c->f.pending, "idle with points queued");
}

/* Count from "partial write: ... dropped=N", as InfluxDB 1.x sends it. */
static long partial_count(const char *body)
{
    const char *p;

    if (!strstr(body, "partial write"))
        return -1;
    p = strstr(body, "dropped=");
    return p ? strtol(p + 8, NULL, 10) : -1;
}

/* influx_out.h: kept and retried (network, 429, 5xx; and 3xx, 401, 403, 404,
 * which a person fixes). Keep in step with that header. */
static int retried(long status)
{
    return status == 0 || status == 429 || status >= 500 || status == 401 || status == 403 ||
           status == 404 || (status >= 300 && status < 400);
}

static void settle(struct wctx *c, int st)
{
    for (uint32_t i = 0; i < c->inflight_points; i++)
        c->state[c->inflight_seq[i]] = (uint8_t)st;
}

static void answer_writer(struct wctx *c, const struct answer *a)
{
    struct influx_result res;
    unsigned long posts = c->f.posts;
    long nd;

    memset(&res, 0, sizeof(res));
    res.status = a->status;
    res.retry_after_s = a->retry_after;
    res.body = a->has_body ? a->body : NULL;
    res.neterr = a->status == 0 ? "fuzzed network error" : NULL;
    if (trace)
        fprintf(stderr, "trace: answer status %ld retry_after %ld body %s%s\n", a->status,
                a->retry_after, a->has_body ? a->body : "(none)",
                c->f.pending ? "" : " (nothing in flight)");
    if (!c->f.pending) {
        /* nothing in flight: the writer must ignore the answer */
        struct influx_out_stats before, after;

        influx_out_get_stats(c->w, &before);
        influx_out_complete(c->w, &res, c->now);
        influx_out_get_stats(c->w, &after);
        FUZZ_CHECK(memcmp(&before, &after, sizeof(before)) == 0 && c->f.posts == posts,
                   "an answer with nothing in flight changed the writer");
        return;
    }
    if (a->status >= 200 && a->status < 300) {
        c->written += c->inflight_points;
        settle(c, P_DONE);
    } else if (a->status == 413) {
        if (c->inflight_points <= 1)
            settle(c, P_DONE);
    } else if (retried(a->status)) {
        /* the batch stays at the head */
    } else {
        nd = partial_count(res.body ? res.body : "");
        if (nd >= 0 && (uint64_t)nd <= c->inflight_points)
            c->written += c->inflight_points - (uint64_t)nd;
        settle(c, P_DONE);
    }
    c->f.pending = 0;            /* first: complete() may start the next one */
    influx_out_complete(c->w, &res, c->now);
    if (c->f.posts != posts)
        note_request(c);
}

/* Run fn (which may start a request) and note a new request. */
#define WITH_POST(c, call) do {                                              \
        unsigned long posts_ = (c)->f.posts;                                 \
        call;                                                                \
        if ((c)->f.posts != posts_)                                          \
            note_request(c);                                                 \
    } while (0)

static void commit_points(struct wctx *c, unsigned k)
{
    struct buf *b;
    unsigned i;

    if (c->seq + k > MAX_POINTS)
        return;
    b = influx_out_open(c->w, c->now);
    FUZZ_CHECK(b != NULL, "influx_out_open");
    for (i = 0; i < k; i++) {
        FUZZ_CHECK(buf_printf(b, "m n=%llui %llu\n", (unsigned long long)(c->seq + i),
                              (unsigned long long)(c->seq + i)) == HUB_OK, "buf_printf");
        c->state[c->seq + i] = P_QUEUED;
    }
    c->seq += k;
    if (trace)
        fprintf(stderr, "trace: commit %u points, %llu in all\n", k,
                (unsigned long long)c->seq);
    WITH_POST(c, influx_out_commit(c->w, k, c->now));
}

static void run_writer(struct fin *in)
{
    struct wctx *c = calloc(1, sizeof(*c));
    struct influx_transport t;
    struct answer a;
    uint8_t flags = take_u8(in);
    int step;

    FUZZ_CHECK(c != NULL, "out of memory");
    snprintf(c->cfg.url, sizeof(c->cfg.url), "http://127.0.0.1:8086/write?db=k&precision=ns");
    c->cfg.gzip = flags & 1;
    c->cfg.batch_size = 1 + take_u8(in) % 16;
    c->cfg.flush_interval_ms = 10 + take_u8(in) * 10;
    c->cfg.timeout_ms = 5000;
    c->cfg.max_queue_points = c->cfg.batch_size + take_u8(in) % 64;
    c->cfg.retry_base_ms = 500;
    c->cfg.retry_max_ms = 100 + (hub_mono_ms)take_u16(in) * 50;
    c->now = 1000;
    t.ctx = &c->f;
    t.post = fake_post;
    c->w = influx_out_new(&c->cfg, &t, NULL, NULL, 42);
    FUZZ_CHECK(c->w != NULL, "influx_out_new");

    for (step = 0; step < MAX_STEPS && !fin_empty(in); step++) {
        switch (take_u8(in) % 8) {
        case 0:
        case 1:
            commit_points(c, 1 + take_u8(in) % 8u);
            break;
        case 2:
            c->now += take_u16(in);
            if (trace)
                fprintf(stderr, "trace: tick at %lld\n", (long long)c->now);
            WITH_POST(c, influx_out_tick(c->w, c->now));
            break;
        case 3:
        case 4:
            take_answer(in, &a);
            answer_writer(c, &a);
            break;
        case 5:
            if (trace)
                fprintf(stderr, "trace: flush at %lld\n", (long long)c->now);
            WITH_POST(c, influx_out_flush_now(c->w, c->now));
            break;
        case 6:
            c->f.refuse = !c->f.refuse;
            if (trace)
                fprintf(stderr, "trace: refuse %d\n", c->f.refuse);
            break;
        default:
            c->now += (hub_mono_ms)take_u32(in);
            if (trace)
                fprintf(stderr, "trace: tick at %lld\n", (long long)c->now);
            WITH_POST(c, influx_out_tick(c->w, c->now));
            break;
        }
        check_writer(c);
    }

    /* Drain: every point must end written or dropped. */
    if (trace)
        fprintf(stderr, "trace: drain\n");
    c->f.refuse = 0;
    memset(&a, 0, sizeof(a));
    a.status = 204;
    a.retry_after = -1;
    WITH_POST(c, influx_out_flush_now(c->w, c->now));
    for (step = 0; step < 100000 && !influx_out_idle(c->w); step++) {
        if (c->f.pending)
            answer_writer(c, &a);
        c->now += 1000;
        WITH_POST(c, influx_out_tick(c->w, c->now));
        check_writer(c);
    }
    FUZZ_CHECK(influx_out_idle(c->w), "the writer does not drain");
    check_writer(c);
    influx_out_free(c->w);
    free(c->f.text);
    free(c);
}

/* ---- the hub ------------------------------------------------------------ */

struct hctx {
    struct hub *h;
    struct fake f;
    hub_mono_ms now;
    hub_real_ns wall;
    hub_real_ns wall_max;
    uint64_t messages;
};

/* The tag keys of p are exactly the NULL-terminated list (in that order:
 * the hub writes them sorted). */
static int tags_are(const struct lp_parsed *p, const char *const *keys)
{
    size_t i;

    for (i = 0; keys[i]; i++) {
        if (i >= p->ntags || strcmp(p->tk[i], keys[i]) != 0)
            return 0;
    }
    return i == p->ntags;
}

static const struct lp_pfield *field_of(const struct lp_parsed *p, const char *key)
{
    for (size_t i = 0; i < p->nfields; i++) {
        if (strcmp(p->f[i].key, key) == 0)
            return &p->f[i];
    }
    return NULL;
}

/* Every line has the shape DESIGN.md section 4 gives its measurement. */
static void check_hub_line(const struct lp_parsed *p, void *ctx)
{
    static const char *const reading_tags[] = { "id", "site", NULL };
    static const char *const fault_tags[] = { "field", "id", "kind", "reason", "site", NULL };
    static const char *const stats_tags[] = { "field", "id", "site", NULL };
    static const char *const event_tags[] = { "event", "id", "kind", "site", NULL };
    static const char *const event_m_tags[] = { "event", "id", "kind", "member", "site", NULL };
    static const char *const hub_tags[] = { "site", NULL };
    static const char *const reasons[] = {
        "non_finite", "out_of_range", "ds18b20_power_on", "ds18b20_disconnected",
        "ts_future", "ts_too_old",
        /* series checks (sfault.c, through compost.c) */
        "spike", "rate", "step", "stuck", "displaced", "stale",
    };
    static const char *const state_tags[] = { "batch", "id", "site", NULL };
    static const char *const batch_tags[] = { "batch", "id", "kind", "site", NULL };
    static const char *const stats_fields[] = { "count", "last", "max", "mean", "min" };
    const struct lp_pfield *f;
    struct hctx *c = ctx;
    size_t i;
    int ok = 0;

    FUZZ_CHECK(p->ts >= 0 && p->ts <= c->wall_max + INT64_C(400000000000),
               "timestamp %lld (wall %lld)", (long long)p->ts, (long long)c->wall_max);
    for (i = 0; i < p->nfields; i++) {
        if (p->f[i].t == LP_P_FLOAT)
            FUZZ_CHECK(isfinite(p->f[i].f), "non-finite float");
    }
    if (strcmp(p->meas, "drum") == 0 || strcmp(p->meas, "tank") == 0 ||
        strcmp(p->meas, "site") == 0) {
        FUZZ_CHECK(tags_are(p, reading_tags), "%s: tags", p->meas);
        for (i = 0; i < p->nfields; i++)
            FUZZ_CHECK(p->f[i].t == LP_P_FLOAT, "%s: a field that is not a float", p->meas);
    } else if (strcmp(p->meas, "sensor_fault") == 0) {
        FUZZ_CHECK(tags_are(p, fault_tags), "sensor_fault: tags");
        for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
            ok |= strcmp(p->tv[3], reasons[i]) == 0;
        FUZZ_CHECK(ok, "sensor_fault: reason %s", p->tv[3]);
        f = p->nfields == 1 ? &p->f[0] : NULL;
        FUZZ_CHECK(f && ((strcmp(f->key, "value") == 0 && f->t == LP_P_FLOAT) ||
                         (strcmp(f->key, "seen") == 0 && f->t == LP_P_BOOL &&
                          strcmp(p->tv[3], "stale") == 0) ||
                         (strcmp(f->key, "raw") == 0 && f->t == LP_P_STR &&
                          (strcmp(f->s, "nan") == 0 || strcmp(f->s, "inf") == 0 ||
                           strcmp(f->s, "-inf") == 0))),
                   "sensor_fault: fields");
    } else if (strlen(p->meas) > 6 && strcmp(p->meas + strlen(p->meas) - 6, "_stats") == 0) {
        FUZZ_CHECK(strcmp(p->meas, "drum_stats") == 0 || strcmp(p->meas, "tank_stats") == 0 ||
                   strcmp(p->meas, "site_stats") == 0, "measurement %s", p->meas);
        FUZZ_CHECK(tags_are(p, stats_tags) && p->nfields == 5, "%s: shape", p->meas);
        for (i = 0; i < 5; i++) {
            f = field_of(p, stats_fields[i]);
            FUZZ_CHECK(f && f->t == (i == 0 ? LP_P_INT : LP_P_FLOAT), "%s: %s", p->meas,
                       stats_fields[i]);
        }
        FUZZ_CHECK(field_of(p, "count")->i >= 1, "%s: count", p->meas);
        FUZZ_CHECK(field_of(p, "min")->f <= field_of(p, "max")->f, "%s: min > max", p->meas);
    } else if (strcmp(p->meas, "drum_state") == 0 || strcmp(p->meas, "tank_state") == 0) {
        FUZZ_CHECK(tags_are(p, state_tags), "%s: tags", p->meas);
        f = field_of(p, "phase");
        FUZZ_CHECK(f && f->t == LP_P_STR && f->s[0], "%s: phase", p->meas);
        f = field_of(p, "phase_code");
        FUZZ_CHECK(f && f->t == LP_P_INT && f->i >= 0 && f->i < 16, "%s: phase_code", p->meas);
    } else if (strcmp(p->meas, "batch") == 0) {
        FUZZ_CHECK(tags_are(p, batch_tags), "batch: tags");
        FUZZ_CHECK(strcmp(p->tv[2], "drum") == 0 || strcmp(p->tv[2], "tank") == 0, "batch: kind");
    } else if (strcmp(p->meas, "event") == 0) {
        FUZZ_CHECK(tags_are(p, event_tags) || tags_are(p, event_m_tags), "event: tags");
        FUZZ_CHECK(p->nfields >= 1, "event: no field");
    } else if (strcmp(p->meas, "hub") == 0) {
        FUZZ_CHECK(tags_are(p, hub_tags) && strcmp(p->tv[0], "mekarsari") == 0, "hub: tags");
        for (i = 0; i < p->nfields; i++)
            FUZZ_CHECK(p->f[i].t == LP_P_INT && p->f[i].i >= 0, "hub: field %s", p->f[i].key);
    } else {
        FUZZ_CHECK(0, "unknown measurement %s", p->meas);
    }
}

static void note_hub_request(struct hctx *c)
{
    long n = lp_parse_batch(c->f.text, c->f.len, check_hub_line, c, NULL);

    FUZZ_CHECK(n > 0, "a request body from the hub does not parse:\n%s", c->f.text);
}

#define HUB_POST(c, call) do {                                               \
        unsigned long posts_ = (c)->f.posts;                                 \
        call;                                                                \
        if ((c)->f.posts != posts_)                                          \
            note_hub_request(c);                                             \
    } while (0)

static void check_hub(struct hctx *c)
{
    struct influx_out_stats st;
    struct hub_counters hc;

    influx_out_get_stats(hub_writer(c->h), &st);
    hub_get_counters(c->h, &hc);
    FUZZ_CHECK(st.points_written + st.points_dropped + st.queued_points == st.points_committed,
               "hub writer: written + dropped + queued != committed");
    FUZZ_CHECK(hc.messages_received == c->messages, "messages_received");
    FUZZ_CHECK(hc.messages_decoded <= hc.messages_received, "decoded > received");
    FUZZ_CHECK(hc.encode_errors == 0, "the encoder refused %llu line(s) the hub built",
               (unsigned long long)hc.encode_errors);
}

static void answer_hub(struct hctx *c, const struct answer *a)
{
    struct influx_result res;

    memset(&res, 0, sizeof(res));
    res.status = a->status;
    res.retry_after_s = a->retry_after;
    res.body = a->has_body ? a->body : NULL;
    res.neterr = a->status == 0 ? "fuzzed network error" : NULL;
    c->f.pending = 0;
    HUB_POST(c, influx_out_complete(hub_writer(c->h), &res, c->now));
}

static void advance(struct hctx *c, hub_mono_ms ms)
{
    c->now += ms;
    c->wall += ms * 1000000;
    if (c->wall > c->wall_max)
        c->wall_max = c->wall;
}

/* A hub configuration: config_defaults() with small batches, windows and
 * caps from the input. flags bit 0: gzip; bit 1: a v1 user (Basic auth);
 * bit 2: a decode template the decoder refuses (for hub_reconfigure). */
/* The compost state machines run (they are fuzzed too) but never touch
 * the real state file. */
static void no_state_file(struct hub_config *cfg)
{
    free(cfg->compost.state_file);
    cfg->compost.state_file = strdup("");
    FUZZ_CHECK(cfg->compost.state_file != NULL, "out of memory");
    cfg->alerts.enabled = 0;    /* it writes its state files: fuzzed on its own */
}

static void take_hub_config(struct fin *in, struct hub_config *cfg)
{
    uint8_t flags = take_u8(in);

    FUZZ_CHECK(config_defaults(cfg) == HUB_OK, "config_defaults");
    cfg->influx.gzip = flags & 1;
    if (flags & 2) {
        free(cfg->influx.username);
        cfg->influx.username = strdup("writer");
        FUZZ_CHECK(cfg->influx.username != NULL, "out of memory");
    }
    if ((flags & 4) && cfg->decode.ntemplates > 0) {
        free(cfg->decode.templates[0]);
        cfg->decode.templates[0] = strdup("kube/{site}/{kind}/{id}/a+b");
        FUZZ_CHECK(cfg->decode.templates[0] != NULL, "out of memory");
    }
    cfg->influx.batch_size = 1 + take_u8(in) % 64;
    cfg->influx.max_queue_points = 1000;
    cfg->stats.window_s = 1 + take_u8(in) % 8;
    cfg->stats.ring_points = 8 + take_u8(in) % 32;
    cfg->stats.self_interval_s = 1 + take_u8(in) % 16;
    cfg->limits.max_series = 1 + take_u8(in) % 48;
    no_state_file(cfg);
}

/* SIGHUP: a new configuration; a bad one must be refused with the old one
 * kept (the hub borrows whichever is in use). */
static void reconfigure(struct hctx *c, struct fin *in, struct hub_config *cfg,
                        int *cur)
{
    struct hub_config *next = &cfg[!*cur];
    int bad, rc;
    char err[512];

    take_hub_config(in, next);
    bad = strstr(next->decode.templates[0], "a+b") != NULL;
    err[0] = '\0';
    HUB_POST(c, rc = hub_reconfigure(c->h, next, "secret", err, sizeof(err)));
    if (bad) {
        FUZZ_CHECK(rc != HUB_OK && err[0], "a template the decoder refuses was applied");
        config_free(next);
    } else {
        FUZZ_CHECK(rc == HUB_OK, "hub_reconfigure: %s", err);
        config_free(&cfg[*cur]);
        *cur = !*cur;
    }
}

static void run_hub(struct fin *in)
{
    struct hctx *c = calloc(1, sizeof(*c));
    struct hub_config cfg[2];
    struct influx_transport t;
    struct answer a;
    char err[512];
    int step, cur = 0;

    FUZZ_CHECK(c != NULL, "out of memory");
    take_hub_config(in, &cfg[0]);
    if (strstr(cfg[0].decode.templates[0], "a+b")) {
        config_free(&cfg[0]);
        FUZZ_CHECK(config_defaults(&cfg[0]) == HUB_OK, "config_defaults");
        no_state_file(&cfg[0]);
    }
    c->now = 1000;
    c->wall = WALL0;
    c->wall_max = WALL0;
    t.ctx = &c->f;
    t.post = fake_post;
    c->h = hub_new(&cfg[0], "", &t, err, sizeof(err));
    FUZZ_CHECK(c->h != NULL, "hub_new: %s", err);

    for (step = 0; step < MAX_STEPS && !fin_empty(in); step++) {
        uint8_t op = take_u8(in);

        if (op < 160) {
            char *topic = take_cstr(in);
            const uint8_t *payload;
            size_t len = take_bytes(in, take_u16(in) % 4200, &payload);

            FUZZ_CHECK(topic != NULL, "out of memory");
            c->messages++;
            HUB_POST(c, hub_on_message(c->h, topic, payload, len, c->now, c->wall));
            free(topic);
            advance(c, op % 4);
        } else if (op < 200) {
            advance(c, take_u16(in));
            HUB_POST(c, hub_tick(c->h, c->now, c->wall));
        } else if (op < 230) {
            take_answer(in, &a);
            if (c->f.pending)
                answer_hub(c, &a);
        } else if (op < 240) {
            HUB_POST(c, influx_out_flush_now(hub_writer(c->h), c->now));
        } else if (op < 245) {
            c->f.refuse = !c->f.refuse;
        } else if (op < 250) {
            reconfigure(c, in, cfg, &cur);
        } else {
            advance(c, (hub_mono_ms)(take_u32(in) % 86400000u));
            HUB_POST(c, hub_tick(c->h, c->now, c->wall));
        }
        check_hub(c);
    }

    /* Drain everything, with a last self-metrics point. */
    c->f.refuse = 0;
    memset(&a, 0, sizeof(a));
    a.status = 204;
    a.retry_after = -1;
    HUB_POST(c, hub_write_self_metrics(c->h, c->now, c->wall));
    HUB_POST(c, influx_out_flush_now(hub_writer(c->h), c->now));
    for (step = 0; step < 100000 && !influx_out_idle(hub_writer(c->h)); step++) {
        if (c->f.pending)
            answer_hub(c, &a);
        advance(c, 1000);
        HUB_POST(c, influx_out_tick(hub_writer(c->h), c->now));
    }
    FUZZ_CHECK(influx_out_idle(hub_writer(c->h)), "the hub's writer does not drain");
    check_hub(c);
    hub_free(c->h);
    config_free(&cfg[cur]);
    free(c->f.text);
    free(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    trace = getenv("KOMPOS_FUZZ_TRACE") != NULL;
    if (!getenv("KOMPOS_FUZZ_LOG"))
        log_set_level((enum log_level)(LOG_LVL_ERROR + 1));   /* nothing passes */
    else
        log_set_level(LOG_LVL_DEBUG);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin in = { data, size };

    if (take_u8(&in) & 1)
        run_hub(&in);
    else
        run_writer(&in);
    return 0;
}
