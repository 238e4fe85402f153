/* SPDX-License-Identifier: MIT */
#include "influx_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hub_err.h"
#include "spool.h"

#define BATCH_MAX_BYTES   (64u * 1024u * 1024u)  /* cap of one batch buffer */
#define RETRY_AFTER_MAX_S 3600L

struct batch {
    struct batch *next;
    struct buf lines;           /* complete lines, each ending in '\n' */
    uint32_t npoints;
    int attempts;               /* failed attempts so far               */
    hub_mono_ms created;
    hub_mono_ms next_try;
    uint64_t spool_start;       /* spool position of the first line       */
    uint64_t spool_end;         /* after the last synced line; 0 = none   */
    size_t synced;              /* bytes of lines already in the spool    */
    uint32_t synced_points;
    int unspooled;              /* 1 if a sync failed: memory only        */
    int from_disk;              /* read back from the spool               */
    uint64_t cap_end;           /* its spool data is gone once the spool's
                                   head reaches this (kept by a 413 split) */
    int cap_dropped;            /* the spool's cap dropped (and counted) its
                                   points while memory still holds them    */
};

struct influx_out {
    struct influx_out_cfg cfg;
    struct influx_transport t;
    influx_event_cb on_event;
    void *ev_ctx;
    struct batch *head;         /* sealed batches, oldest first          */
    struct batch *tail;
    struct batch *open;         /* the batch being filled, not in list   */
    struct batch *inflight;     /* == head while a request is out        */
    struct buf gz;              /* compressed body of the request        */
    z_stream z;
    int z_ready;
    uint64_t rng;
    int failing;                /* 1 after a failure, until a success    */
    int draining;               /* shutdown: no backoff waits            */
    struct spool *sp;           /* borrowed; NULL = memory only          */
    uint64_t disk_pos;          /* replay: next spool position to read   */
    uint64_t disk_end;          /* replay: where memory batches begin    */
    int sync_failed;            /* the last sync failed                  */
    int unspooled;              /* batches in memory only (disk errors)  */
    uint64_t disk_points;       /* points of read-back batches in memory:
                                   at most one batch, outside the caps   */
    hub_mono_ms disk_next_try;  /* backoff of a retried batch that went  */
    int disk_attempts;          /* to disk: its read-back copy keeps it  */
    struct influx_out_stats st;
};

static void emit(struct influx_out *w, enum influx_event ev, uint32_t n,
                 long status, const char *detail)
{
    if (w->on_event)
        w->on_event(w->ev_ctx, ev, n, status, detail);
}

static uint64_t next_rand(struct influx_out *w)
{
    /* xorshift64*: jitter only, not security */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 2685821657736338717ULL;
}

static struct batch *batch_new(hub_mono_ms now)
{
    struct batch *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    buf_init(&b->lines, BATCH_MAX_BYTES);
    b->created = now;
    b->next_try = now;
    return b;
}

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    buf_free(&b->lines);
    free(b);
}

struct influx_out *influx_out_new(const struct influx_out_cfg *cfg,
                                  const struct influx_transport *t,
                                  influx_event_cb on_event, void *ev_ctx,
                                  uint64_t seed)
{
    struct influx_out *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->cfg = *cfg;
    w->t = *t;
    w->on_event = on_event;
    w->ev_ctx = ev_ctx;
    w->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
    buf_init(&w->gz, 0);
    if (deflateInit2(&w->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(w);
        return NULL;
    }
    w->z_ready = 1;
    return w;
}

void influx_out_free(struct influx_out *w)
{
    struct batch *b, *next;

    if (!w)
        return;
    for (b = w->head; b; b = next) {
        next = b->next;
        batch_free(b);
    }
    batch_free(w->open);
    buf_free(&w->gz);
    if (w->z_ready)
        deflateEnd(&w->z);
    free(w);
}

void influx_out_reconfigure(struct influx_out *w,
                            const struct influx_out_cfg *cfg)
{
    w->cfg = *cfg;
}

static void sync_open(struct influx_out *w, hub_mono_ms now);

static void seal(struct influx_out *w, hub_mono_ms now)
{
    struct batch *b = w->open;

    if (!b || b->npoints == 0)
        return;
    sync_open(w, now);
    w->open = NULL;
    b->next_try = now;
    b->next = NULL;
    if (w->tail)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
}

/* Unlink and free a sealed batch (never the one in flight). */
static void remove_batch(struct influx_out *w, struct batch *b)
{
    struct batch *prev = NULL, *p;

    for (p = w->head; p && p != b; p = p->next)
        prev = p;
    if (!p)
        return;
    if (prev)
        prev->next = b->next;
    else
        w->head = b->next;
    if (w->tail == b)
        w->tail = prev;
    w->st.queued_points -= b->npoints;
    w->st.queued_bytes -= b->lines.len;
    if (b->unspooled)
        w->unspooled--;
    if (b->from_disk)
        w->disk_points -= b->npoints;
    batch_free(b);
}

static void release(struct influx_out *w, const struct batch *b, hub_mono_ms now)
{
    if (w->sp && b->spool_end)
        spool_release(w->sp, b->spool_end, now);
}

static void drop_batch(struct influx_out *w, struct batch *b, uint32_t dropped,
                       long status, const char *why)
{
    w->st.points_dropped += dropped;
    /* the writer counts this batch (dropped or written) from here on; if
     * the spool's cap had counted it too, take that count back */
    if (b->cap_dropped)
        w->st.points_rescued += b->npoints;
    if (dropped < b->npoints)
        w->st.points_written += b->npoints - dropped;
    emit(w, INFLUX_EV_DROPPED, dropped, status, why);
    remove_batch(w, b);
}

/* Keep memory bounded: past 1.25 x the cap, drop the oldest waiting batch. */
static void enforce_cap(struct influx_out *w)
{
    uint64_t hard = w->cfg.max_queue_points + w->cfg.max_queue_points / 4;
    struct batch *victim, *b;
    int ahead;

    int evict = w->sp && !w->sync_failed && !w->unspooled;

    while (w->st.queued_points - w->disk_points >
           (evict ? w->cfg.max_queue_points : hard)) {
        /* the oldest batch that is neither in flight nor ahead of
         * another batch that is ahead of the range still to be read back
         * from disk (evicting that one would leave a hole between it and
         * the range). The batch right before the range may go: the range
         * then starts at it. That is the batch that was in flight (being
         * retried) when the range began: kept in memory, it would protect
         * the whole range from the spool's cap for as long as InfluxDB is
         * away (and commits may stop before it is not in flight again, so
         * influx_out_complete() evicts too). */
        ahead = 0;
        for (b = w->head; b && w->disk_pos < w->disk_end; b = b->next)
            if (!b->from_disk && b->spool_start < w->disk_pos)
                ahead++;        /* (two: the halves of a 413 split) */
        for (victim = w->head; victim; victim = victim->next) {
            if (victim == w->inflight || (w->sp && victim->from_disk))
                continue;       /* at most one batch read back is held */
            if (ahead > 1 && victim->spool_start < w->disk_pos)
                continue;
            break;
        }
        if (!victim)
            return;
        if (evict && !victim->unspooled && victim->spool_end &&
            victim->synced == victim->lines.len) {
            /* it is on disk: let it go from memory, read it back later */
            if (w->disk_pos >= w->disk_end || victim->spool_start < w->disk_pos) {
                w->disk_pos = victim->spool_start;
                /* a batch waiting for its next attempt: its read-back
                 * copy waits as long (no attempt without backoff) */
                w->disk_next_try = victim->next_try;
                w->disk_attempts = victim->attempts;
            }
            if (victim->spool_end > w->disk_end)
                w->disk_end = victim->spool_end;
            w->st.points_evicted += victim->npoints;
            remove_batch(w, victim);
            continue;
        }
        drop_batch(w, victim, victim->npoints, 0,
                   "queue over its memory cap, oldest batch dropped");
    }
}

struct buf *influx_out_open(struct influx_out *w, hub_mono_ms now)
{
    if (!w->open) {
        w->open = batch_new(now);
        if (!w->open)
            return NULL;
        if (w->sp)
            w->open->spool_start = spool_tail(w->sp);
    }
    return &w->open->lines;
}

/* Where the data held in memory for delivery begins: the first batch that
 * was not read back from disk (read-back batches never straddle a segment,
 * so if the cap drops theirs, all their points were counted as dropped by
 * the spool and are counted back as rescued when the writer accounts for
 * them: see mark_cap_dropped()). */
static uint64_t protect_from(const struct influx_out *w)
{
    const struct batch *b;

    for (b = w->head; b; b = b->next) {
        /* The batch being retried while InfluxDB is away stays in memory
         * (it is in flight at every attempt, so the memory cap never
         * evicts it). Protecting it would protect everything after it and
         * let the spool grow past its cap for as long as InfluxDB is
         * away; so it is not protected when it lies within one segment
         * (all or none of its points are dropped then, so the count is
         * exact): if the cap drops that segment, memory still delivers
         * the batch and its points are counted as rescued. A batch over
         * two segments stays protected (between attempts enforce_cap()
         * moves it to disk like any other batch). */
        if (b == w->inflight && !b->from_disk && !b->unspooled && w->sp &&
            b->spool_end &&
            b->spool_end <= spool_segment_end(w->sp, b->spool_start))
            continue;
        if (!b->from_disk)
            return b->spool_start;
    }
    if (w->open)
        return w->open->spool_start;
    return spool_tail(w->sp);
}

/* After an append (the only time the spool's cap drops segments): note
 * the batches whose spool data the cap has just dropped and counted in
 * its points_dropped. Only unprotected ones can be: read-back batches
 * (one segment each) and the single-segment batch in flight, so a batch
 * is either wholly dropped (the head passed its end) or not at all. When
 * such a batch leaves memory counted by the writer (written, or dropped
 * with a count), its points are added to points_rescued, so that the
 * spool's points_dropped - points_rescued stays the exact net loss; when
 * it leaves memory for the spool (evicted), the points are lost as
 * counted. */
static void mark_cap_dropped(struct influx_out *w)
{
    struct batch *b;
    uint64_t head = spool_head(w->sp);

    for (b = w->head; b; b = b->next)
        if (!b->cap_dropped && b->cap_end && !b->unspooled && head >= b->cap_end)
            b->cap_dropped = 1;
}

static void sync_open(struct influx_out *w, hub_mono_ms now)
{
    struct batch *b = w->open;
    uint32_t n;

    if (!w->sp || !b || b->synced >= b->lines.len)
        return;
    n = b->npoints - b->synced_points;
    spool_set_protect(w->sp, protect_from(w));
    if (spool_append(w->sp, b->lines.data + b->synced, b->lines.len - b->synced,
                     n, now) != HUB_OK) {
        if (!b->unspooled)
            w->unspooled++;
        b->unspooled = 1;
        w->sync_failed = 1;
        w->st.spool_errors++;
    } else {
        b->spool_end = spool_tail(w->sp);
        b->cap_end = b->spool_end;
        w->sync_failed = 0;
        mark_cap_dropped(w);
    }
    b->synced = b->lines.len;
    b->synced_points = b->npoints;
}

int influx_out_sync(struct influx_out *w, hub_mono_ms now)
{
    if (!w->sp)
        return HUB_OK;
    sync_open(w, now);
    return w->sync_failed ? HUB_EIO : HUB_OK;
}

void influx_out_set_spool(struct influx_out *w, struct spool *sp)
{
    w->sp = sp;
    if (sp && spool_head(sp) < spool_tail(sp)) {
        w->disk_pos = spool_head(sp);
        w->disk_end = spool_tail(sp);
    }
}

/* Read the next replay batch from the spool and put it first in line. */
static void load_replay(struct influx_out *w, hub_mono_ms now)
{
    struct batch *b;
    uint32_t n = 0;
    uint64_t start = w->disk_pos;
    int rc;

    if (!w->sp || w->disk_pos >= w->disk_end)
        return;
    if (w->head && (w->head->from_disk || w->head->spool_start < w->disk_pos))
        return;                 /* one is held, or the head comes before
                                   the range (or both halves of a split) */
    b = batch_new(now);
    if (!b)
        return;
    rc = spool_read_until(w->sp, &w->disk_pos,
                          spool_segment_end(w->sp, w->disk_pos) < w->disk_end
                          ? spool_segment_end(w->sp, w->disk_pos) : w->disk_end,
                          &b->lines, w->cfg.batch_size, &n);
    if (rc != HUB_OK || n == 0) {
        batch_free(b);
        if (rc == HUB_EAGAIN || rc == HUB_OK)
            w->disk_pos = w->disk_end;  /* nothing left to read back */
        return;                         /* ENOMEM, EIO: try again later */
    }
    if (start < spool_head(w->sp))
        start = spool_head(w->sp);
    b->npoints = n;
    b->from_disk = 1;
    if (w->disk_next_try > now)
        b->next_try = w->disk_next_try;
    b->attempts = w->disk_attempts;
    w->disk_next_try = 0;
    w->disk_attempts = 0;
    b->spool_start = start;
    b->spool_end = w->disk_pos;
    b->cap_end = b->spool_end;
    b->synced = b->lines.len;
    b->synced_points = n;
    b->next = w->head;
    w->head = b;
    if (!w->tail)
        w->tail = b;
    w->st.queued_points += n;
    w->st.queued_bytes += b->lines.len;
    w->st.points_replayed += n;
    w->disk_points += n;
}

void influx_out_commit(struct influx_out *w, uint32_t npoints, hub_mono_ms now)
{
    struct batch *b = w->open;

    if (!b || npoints == 0)
        return;
    b->npoints += npoints;
    w->st.points_committed += npoints;
    w->st.queued_points += npoints;
    if (b->npoints >= w->cfg.batch_size) {
        w->st.queued_bytes += b->lines.len;
        seal(w, now);
    }
    enforce_cap(w);
}

static int compress_body(struct influx_out *w, const struct batch *b)
{
    uLong bound = deflateBound(&w->z, (uLong)b->lines.len);
    int rc;

    buf_reset(&w->gz);
    if (buf_reserve(&w->gz, (size_t)bound) != HUB_OK)
        return HUB_ENOMEM;
    if (deflateReset(&w->z) != Z_OK)
        return HUB_EIO;
    w->z.next_in = (Bytef *)b->lines.data;
    w->z.avail_in = (uInt)b->lines.len;
    w->z.next_out = (Bytef *)w->gz.data;
    w->z.avail_out = (uInt)bound;
    rc = deflate(&w->z, Z_FINISH);
    if (rc != Z_STREAM_END)
        return HUB_EIO;
    w->gz.len = (size_t)(bound - w->z.avail_out);
    return HUB_OK;
}

static void try_send(struct influx_out *w, hub_mono_ms now)
{
    const char *headers[4];
    struct influx_result res;
    struct batch *b = w->head;
    const void *body;
    size_t len, n = 0;

    if (w->inflight)
        return;
    load_replay(w, now);        /* older points from disk go first */
    b = w->head;
    if (!b)
        return;
    if (now < b->next_try)
        return;
    headers[n++] = "Content-Type: text/plain; charset=utf-8";
    if (w->cfg.gzip && compress_body(w, b) == HUB_OK) {
        headers[n++] = "Content-Encoding: gzip";
        body = w->gz.data;
        len = w->gz.len;
    } else {
        body = b->lines.data;
        len = b->lines.len;
    }
    if (w->cfg.auth_header[0])
        headers[n++] = w->cfg.auth_header;
    headers[n] = NULL;
    w->inflight = b;
    if (w->t.post(w->t.ctx, w->cfg.url, headers, body, len,
                  w->cfg.timeout_ms) != 0) {
        memset(&res, 0, sizeof(res));
        res.retry_after_s = -1;
        res.neterr = "could not start the request";
        influx_out_complete(w, &res, now);
    }
}

static hub_mono_ms backoff_ms(struct influx_out *w, int attempts,
                              long retry_after_s)
{
    hub_mono_ms d = w->cfg.retry_base_ms > 0 ? w->cfg.retry_base_ms : 500;
    int i;

    for (i = 1; i < attempts && d < w->cfg.retry_max_ms; i++)
        d *= 2;
    if (d > w->cfg.retry_max_ms)
        d = w->cfg.retry_max_ms;
    /* equal jitter: half fixed, half random */
    d = d / 2 + (hub_mono_ms)(next_rand(w) % (uint64_t)(d / 2 + 1));
    if (retry_after_s > 0) {
        if (retry_after_s > RETRY_AFTER_MAX_S)
            retry_after_s = RETRY_AFTER_MAX_S;
        if (d < retry_after_s * 1000)
            d = retry_after_s * 1000;
    }
    if (w->draining && d > 500)
        d = 500;
    return d;
}

/* Split b in two halves at a line boundary; the second half follows b. */
static int split_batch(struct influx_out *w, struct batch *b, hub_mono_ms now)
{
    const char *p = b->lines.data, *end = p + b->lines.len, *nl;
    uint32_t half = b->npoints / 2, seen = 0;
    struct batch *nb;

    for (nl = p; nl < end && seen < half; nl++) {
        if (*nl == '\n')
            seen++;
    }
    if (seen < half || nl >= end)
        return HUB_EINVAL;
    nb = batch_new(now);
    if (!nb)
        return HUB_ENOMEM;
    if (buf_append(&nb->lines, nl, (size_t)(end - nl)) != HUB_OK) {
        batch_free(nb);
        return HUB_ENOMEM;
    }
    nb->npoints = b->npoints - half;
    nb->spool_start = b->spool_start;
    nb->spool_end = b->spool_end;
    nb->synced = nb->lines.len;
    nb->from_disk = b->from_disk;
    nb->unspooled = b->unspooled;
    nb->cap_end = b->cap_end;   /* both halves go with the same segment */
    nb->cap_dropped = b->cap_dropped;
    if (nb->unspooled)
        w->unspooled++;
    b->spool_end = 0;           /* released with the second half */
    b->npoints = half;
    buf_truncate(&b->lines, (size_t)(nl - p));
    b->synced = b->lines.len;
    nb->next = b->next;
    b->next = nb;
    if (w->tail == b)
        w->tail = nb;
    b->next_try = now;
    nb->next_try = now;
    return HUB_OK;
}

/* Count from InfluxDB's "partial write: ... dropped=N" answer, or -1. */
static long partial_dropped(const char *body)
{
    const char *p;

    if (!body || !strstr(body, "partial write"))
        return -1;
    p = strstr(body, "dropped=");
    if (!p)
        return -1;
    return strtol(p + 8, NULL, 10);
}

void influx_out_complete(struct influx_out *w, const struct influx_result *res,
                         hub_mono_ms now)
{
    struct batch *b = w->inflight;
    char detail[512];
    const char *body = res->body ? res->body : "";
    long status = res->status, nd;

    if (!b)
        return;
    w->inflight = NULL;
    if (status >= 200 && status < 300) {
        w->st.points_written += b->npoints;
        w->st.batches_written++;
        emit(w, INFLUX_EV_WRITTEN, b->npoints, status, NULL);
        if (w->failing) {
            w->failing = 0;
            emit(w, INFLUX_EV_RECOVERED, b->npoints, status, NULL);
        }
        if (b->cap_dropped)
            w->st.points_rescued += b->npoints;     /* see mark_cap_dropped() */
        release(w, b, now);
        remove_batch(w, b);
    } else if (status == 413) {
        w->st.write_errors++;
        if (b->npoints <= 1 || split_batch(w, b, now) != HUB_OK) {
            release(w, b, now);
            drop_batch(w, b, b->npoints, status,
                       "a single point is larger than the server accepts");
        } else {
            w->st.splits++;
            emit(w, INFLUX_EV_SPLIT, b->npoints, status, NULL);
        }
    } else if (status == 0 || status == 429 || status >= 500 || status == 401 ||
               status == 403 || status == 404 || (status >= 300 && status < 400)) {
        /* 401/403 (credentials), 404 (database missing) and 3xx (a
         * redirect, e.g. http:// to https://; a POST is not followed) are
         * set-up problems a person fixes: keep the points and retry */
        w->st.write_errors++;
        w->st.retries++;
        w->failing = 1;
        b->attempts++;
        b->next_try = now + backoff_ms(w, b->attempts, res->retry_after_s);
        if (status == 0)
            snprintf(detail, sizeof(detail), "%s; retry in %lld ms",
                     res->neterr ? res->neterr : "network error",
                     (long long)(b->next_try - now));
        else if (status >= 300 && status < 400)
            snprintf(detail, sizeof(detail), "HTTP %ld %.160s: a redirect, not followed: "
                     "influx.url must be the address InfluxDB answers at itself "
                     "(https:// instead of http://?); the points wait; retry in %lld ms",
                     status, body, (long long)(b->next_try - now));
        else
            snprintf(detail, sizeof(detail), "HTTP %ld %.200s; retry in %lld ms",
                     status, body, (long long)(b->next_try - now));
        emit(w, INFLUX_EV_RETRY, b->npoints, status, detail);
    } else {
        w->st.write_errors++;
        nd = partial_dropped(body);
        snprintf(detail, sizeof(detail), "HTTP %ld %.300s", status, body);
        release(w, b, now);
        if (nd >= 0 && (uint64_t)nd <= b->npoints)
            drop_batch(w, b, (uint32_t)nd, status, detail);
        else
            drop_batch(w, b, b->npoints, status, detail);
    }
    /* the batch just answered is not in flight now: if memory is over its
     * cap (readings came in while it was), it may go to disk like the
     * others instead of protecting everything after it from the spool's
     * cap until the next commit (there may be none for a long time) */
    enforce_cap(w);
    try_send(w, now);
}

hub_mono_ms influx_out_tick(struct influx_out *w, hub_mono_ms now)
{
    hub_mono_ms next = 1000, d;

    if (w->open && w->open->npoints > 0) {
        if (now - w->open->created >= w->cfg.flush_interval_ms) {
            w->st.queued_bytes += w->open->lines.len;
            seal(w, now);
            enforce_cap(w);
        } else {
            d = w->open->created + w->cfg.flush_interval_ms - now;
            if (d < next)
                next = d;
        }
    }
    try_send(w, now);
    if (!w->inflight && w->head) {
        d = w->head->next_try - now;
        if (d < next)
            next = d;
    }
    return next < 0 ? 0 : next;
}

void influx_out_flush_now(struct influx_out *w, hub_mono_ms now)
{
    struct batch *b;

    w->draining = 1;
    w->disk_next_try = 0;       /* a read-back batch goes at once too */
    if (w->open && w->open->npoints > 0) {
        w->st.queued_bytes += w->open->lines.len;
        seal(w, now);
    }
    for (b = w->head; b; b = b->next)
        b->next_try = now;
    try_send(w, now);
}

int influx_out_idle(const struct influx_out *w)
{
    return !w->inflight && !w->head && (!w->open || w->open->npoints == 0) &&
           w->disk_pos >= w->disk_end;
}

int influx_out_full(const struct influx_out *w)
{
    /* with a working spool, memory never fills: batches go to disk */
    if (w->sp && !w->sync_failed && !w->unspooled)
        return 0;
    return w->st.queued_points - w->disk_points >= w->cfg.max_queue_points;
}

void influx_out_get_stats(const struct influx_out *w,
                          struct influx_out_stats *st)
{
    *st = w->st;
    if (w->open)
        st->queued_bytes += w->open->lines.len;
    st->replaying = w->disk_pos < w->disk_end;
}

/* ---- configuration ---------------------------------------------------- */

static int url_encode(char *out, size_t outlen, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    unsigned char c;

    for (; *s; s++) {
        c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            if (n + 1 >= outlen)
                return HUB_EINVAL;
            out[n++] = (char)c;
        } else {
            if (n + 3 >= outlen)
                return HUB_EINVAL;
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return HUB_OK;
}

static void base64(char *out, size_t outlen, const unsigned char *in, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    uint32_t v;

    for (i = 0; i < n && o + 4 < outlen; i += 3) {
        v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

int influx_out_cfg_from(const struct hub_config *c, const char *secret,
                        struct influx_out_cfg *out, char *err, size_t errlen)
{
    char base[512], a[256], b[256], up[512], enc[720];
    size_t l;
    int n;

    memset(out, 0, sizeof(*out));
    l = strlen(c->influx.url);
    if (l >= sizeof(base)) {
        snprintf(err, errlen, "influx.url is too long");
        return HUB_EINVAL;
    }
    memcpy(base, c->influx.url, l + 1);
    while (l > 0 && base[l - 1] == '/')
        base[--l] = '\0';
    if (c->influx.api == INFLUX_API_V2) {
        if (url_encode(a, sizeof(a), c->influx.org) != HUB_OK ||
            url_encode(b, sizeof(b), c->influx.bucket) != HUB_OK)
            goto toolong;
        n = snprintf(out->url, sizeof(out->url),
                     "%s/api/v2/write?org=%s&bucket=%s&precision=ns", base, a, b);
        if (secret && secret[0])
            snprintf(out->auth_header, sizeof(out->auth_header),
                     "Authorization: Token %s", secret);
    } else {
        if (url_encode(a, sizeof(a), c->influx.database) != HUB_OK ||
            url_encode(b, sizeof(b), c->influx.retention_policy) != HUB_OK)
            goto toolong;
        if (b[0])
            n = snprintf(out->url, sizeof(out->url),
                         "%s/write?db=%s&rp=%s&precision=ns", base, a, b);
        else
            n = snprintf(out->url, sizeof(out->url),
                         "%s/write?db=%s&precision=ns", base, a);
        if (c->influx.username && c->influx.username[0]) {
            snprintf(up, sizeof(up), "%s:%s", c->influx.username,
                     secret ? secret : "");
            base64(enc, sizeof(enc), (const unsigned char *)up, strlen(up));
            snprintf(out->auth_header, sizeof(out->auth_header),
                     "Authorization: Basic %s", enc);
            memset(up, 0, sizeof(up));
        }
    }
    if (n < 0 || (size_t)n >= sizeof(out->url))
        goto toolong;
    out->gzip = c->influx.gzip;
    out->batch_size = (uint32_t)c->influx.batch_size;
    out->flush_interval_ms = c->influx.flush_interval_ms;
    out->timeout_ms = c->influx.timeout_ms;
    out->max_queue_points = (uint64_t)c->influx.max_queue_points;
    out->retry_base_ms = 500;
    out->retry_max_ms = c->influx.retry_max_ms;
    return HUB_OK;
toolong:
    snprintf(err, errlen, "influx write URL is too long");
    return HUB_EINVAL;
}
