/* SPDX-License-Identifier: MIT */
/* influx_out.h - batching InfluxDB writer (no I/O of its own).
 *
 * Points are encoded straight into the open batch (influx_out_open() and
 * influx_out_commit()). A batch is sealed when it holds batch_size points
 * or is flush_interval old. Sealed batches are sent oldest first, one
 * request at a time, through a transport (http_curl.c in the daemon, a
 * recording fake in the tests); the transport reports each answer with
 * influx_out_complete(). Answers are classified (Telegraf v2's split):
 *   2xx                 done: the batch is released
 *   429, 5xx, network   kept at the head; retried with exponential backoff
 *                       and jitter, never sooner than Retry-After
 *   401, 403, 404, 3xx  the same: wrong credentials, a missing database or
 *                       a redirect (http:// sent to https://; a POST is not
 *                       followed) are fixed by a person; the points wait
 *                       (spooled), and the retry's detail says what to fix
 *   413                 the batch is split in two halves, both retried
 *                       (a single point that is still too large is dropped)
 *   other 4xx           dropped, counted, reported with the answer's body
 *                       (InfluxDB's "partial write ... dropped=N" counts N)
 * Memory is bounded: queued_points() >= max_queue_points means "stop
 * taking input" (the hub pauses MQTT; QoS 1 keeps the rest at the broker);
 * past 1.25 x max_queue_points the oldest waiting batch is dropped and
 * counted, so internal points (stats, self-metrics) cannot grow it forever.
 *
 * The disk spool (a later issue) slots in at two places: on_sealed() hands
 * every sealed batch to it, and a released batch is acknowledged there.
 *
 * Everything is driven by explicit hub_mono_ms 'now' arguments; the module
 * never reads a clock, never logs (it reports through on_event), and is
 * single-threaded. */
#ifndef HUB_INFLUX_OUT_H
#define HUB_INFLUX_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "config.h"

struct influx_out;              /* opaque */
struct spool;

/* The result of one request, as the transport saw it. */
struct influx_result {
    long status;                /* HTTP status; 0 = network error          */
    long retry_after_s;         /* Retry-After in seconds; -1 = absent     */
    const char *body;           /* answer body (may be NULL), borrowed     */
    const char *neterr;         /* text of a network error, borrowed       */
};

struct influx_transport {
    void *ctx;
    /* Start one POST. headers: NULL-terminated "Name: value" strings.
     * body stays valid until influx_out_complete() is called for this
     * request. Returns 0 when started, negative when it could not start
     * (the writer then treats it as a network error). */
    int (*post)(void *ctx, const char *url, const char *const *headers,
                const void *body, size_t len, long timeout_ms);
};

enum influx_event {
    INFLUX_EV_WRITTEN,          /* a batch was accepted (points = size)    */
    INFLUX_EV_RETRY,            /* a batch will be retried (detail: why)   */
    INFLUX_EV_SPLIT,            /* 413: a batch was split                  */
    INFLUX_EV_DROPPED,          /* points dropped (detail: why)            */
    INFLUX_EV_RECOVERED         /* first success after failures            */
};

typedef void (*influx_event_cb)(void *ctx, enum influx_event ev,
                                uint32_t points, long status,
                                const char *detail);

struct influx_out_stats {
    uint64_t points_committed;  /* points taken in                        */
    uint64_t points_written;    /* points InfluxDB accepted               */
    uint64_t points_dropped;    /* points given up on                     */
    uint64_t batches_written;
    uint64_t write_errors;      /* answers that were not 2xx              */
    uint64_t retries;
    uint64_t splits;
    uint64_t queued_points;     /* points waiting or in flight now        */
    uint64_t queued_bytes;
    uint64_t points_evicted;    /* left memory for the spool (not lost)   */
    uint64_t points_replayed;   /* read back from the spool and sent      */
    uint64_t spool_errors;      /* appends to the spool that failed       */
    uint64_t points_rescued;    /* dropped by the spool's cap while read
                                   back into memory, then written anyway  */
    int replaying;              /* 1 while older points come from disk    */
};

struct influx_out_cfg {
    char url[1024];             /* full write URL with query string       */
    char auth_header[1024];     /* "Authorization: ..." or ""             */
    int gzip;
    uint32_t batch_size;
    hub_mono_ms flush_interval_ms;
    long timeout_ms;
    uint64_t max_queue_points;
    hub_mono_ms retry_base_ms;  /* first retry delay (500)                */
    hub_mono_ms retry_max_ms;   /* backoff cap                            */
};

/* Build the writer configuration from the hub config: the v1 or v2 write
 * URL (names URL-encoded), and the authorization header from the given
 * secret (v1: Basic user:password; v2: Token <secret>). Returns HUB_OK or
 * HUB_EINVAL with a message in err (URL too long). */
int influx_out_cfg_from(const struct hub_config *c, const char *secret,
                        struct influx_out_cfg *out, char *err, size_t errlen);

/* Create a writer. The transport and callback are copied. seed feeds the
 * jitter. Returns NULL on no memory. */
struct influx_out *influx_out_new(const struct influx_out_cfg *cfg,
                                  const struct influx_transport *t,
                                  influx_event_cb on_event, void *ev_ctx,
                                  uint64_t seed);

/* Put a write-ahead spool under the writer (borrowed; NULL = none). From
 * then on every committed line is appended to the spool by
 * influx_out_sync() before it counts as taken in, a batch is released in
 * the spool when InfluxDB acknowledged it (or refused it for good), and
 * when memory is full the oldest batches leave memory and are later read
 * back from the spool instead of being dropped. What the spool holds from
 * an earlier run is sent first, oldest first. */
void influx_out_set_spool(struct influx_out *w, struct spool *sp);

/* Append what was committed since the last call to the spool (one record).
 * Call it before the input is acknowledged (the MQTT PUBACKs go out).
 * Returns HUB_OK (also without a spool) or HUB_EIO when the spool refused
 * the bytes: they stay in memory only, and are counted. */
int influx_out_sync(struct influx_out *w, hub_mono_ms now);

/* Free the writer and all queued points. Accepts NULL. */
void influx_out_free(struct influx_out *w);

/* Replace the configuration (batch size, URL, ...) keeping the queue. */
void influx_out_reconfigure(struct influx_out *w,
                            const struct influx_out_cfg *cfg);

/* Borrow the open batch's buffer to append complete lines to. Returns NULL
 * on no memory. Valid until the next call of any other influx_out_*. */
struct buf *influx_out_open(struct influx_out *w, hub_mono_ms now);

/* Record that npoints complete lines were appended to the open batch;
 * seals it when full. */
void influx_out_commit(struct influx_out *w, uint32_t npoints,
                       hub_mono_ms now);

/* Timers: seal an old open batch, start the next request when due.
 * Returns the ms until the writer next needs a tick (<= 1000). */
hub_mono_ms influx_out_tick(struct influx_out *w, hub_mono_ms now);

/* The transport's answer to the request in flight. */
void influx_out_complete(struct influx_out *w, const struct influx_result *res,
                         hub_mono_ms now);

/* Seal the open batch now and retry without waiting for backoff (used at
 * shutdown, so the grace period is spent sending). */
void influx_out_flush_now(struct influx_out *w, hub_mono_ms now);

/* 1 when nothing is queued or in flight. */
int influx_out_idle(const struct influx_out *w);

/* 1 when input should pause (queued_points >= max_queue_points). */
int influx_out_full(const struct influx_out *w);

void influx_out_get_stats(const struct influx_out *w,
                          struct influx_out_stats *st);

#endif /* HUB_INFLUX_OUT_H */
