/* SPDX-License-Identifier: MIT */
/* fake_transport.h - a recording fake of struct influx_transport.
 *
 * Every POST the writer starts is recorded: a copy of the URL, the
 * headers, the body exactly as sent (raw) and the body as line protocol
 * (text: gunzipped when the request carried "Content-Encoding: gzip").
 * Nothing is answered by itself: the test answers the request in flight
 * with fake_transport_answer(), which calls influx_out_complete() (and so
 * may record the next POST at once). With 'refuse' set, post() returns -1
 * as a transport that could not start a request would.
 *
 * Usage:
 *     static struct fake_transport ft;
 *     fake_transport_init(&ft);
 *     struct influx_transport t = fake_transport_iface(&ft);
 *     ... w = influx_out_new(&cfg, &t, ...) or hub_new(cfg, "", &t, ...) ...
 *     influx_out_tick(w, now);
 *     ck_assert_str_eq(fake_transport_last(&ft)->text, "m v=1 1\n");
 *     fake_transport_answer(&ft, w, 204, -1, NULL, now);
 *     fake_transport_reset(&ft);   (frees every copy; ft is usable again)
 *
 * Not thread-safe; one fake per writer. */
#ifndef HUB_FAKE_TRANSPORT_H
#define HUB_FAKE_TRANSPORT_H

#include <stddef.h>

#include "clock.h"
#include "influx_out.h"

#define FAKE_TRANSPORT_MAX_HEADERS 16

struct fake_transport_req {
    char *url;                  /* copy                                      */
    char *headers[FAKE_TRANSPORT_MAX_HEADERS + 1]; /* copies, NULL-ended   */
    size_t nheaders;
    unsigned char *raw;         /* the body as sent (copy)                   */
    size_t raw_len;
    char *text;                 /* the body as line protocol, NUL-terminated */
    size_t len;                 /* bytes of text, without the NUL            */
    int gzip;                   /* 1 when sent with Content-Encoding: gzip   */
    int gunzip_ok;              /* 1 when gzip and the body inflated cleanly */
    long timeout_ms;
    int answered;               /* 1 once fake_transport_answer() ran        */
};

struct fake_transport {
    struct fake_transport_req *reqs;   /* every recorded POST, oldest first */
    size_t nreqs;
    size_t cap;
    int refuse;                 /* set: post() fails to start (returns -1)   */
    size_t refused;             /* posts refused that way                    */
    char *all;                  /* see fake_transport_all_text()             */
};

/* Empty fake. Cannot fail. */
void fake_transport_init(struct fake_transport *ft);

/* Free every recorded copy and empty the fake (refuse is cleared too). */
void fake_transport_reset(struct fake_transport *ft);

/* The transport to hand to influx_out_new() / hub_new(); ctx = ft. */
struct influx_transport fake_transport_iface(struct fake_transport *ft);

/* Number of POSTs recorded. */
size_t fake_transport_count(const struct fake_transport *ft);

/* The i-th recorded POST (0 = first), or NULL. Valid until the next POST
 * is recorded (the array may move) or the fake is reset. */
const struct fake_transport_req *fake_transport_req(const struct fake_transport *ft,
                                                    size_t i);

/* The newest recorded POST, or NULL. Same lifetime as above. */
const struct fake_transport_req *fake_transport_last(const struct fake_transport *ft);

/* Value of header 'name' (case-insensitive, without the ':') in r, or
 * NULL. Points into r. */
const char *fake_transport_header(const struct fake_transport_req *r,
                                  const char *name);

/* 1 when a recorded POST has not been answered yet. */
int fake_transport_pending(const struct fake_transport *ft);

/* Answer the oldest unanswered POST: status (0 = network error),
 * retry_after_s (-1 = absent), body (may be NULL), through
 * influx_out_complete(w, ..., now). Returns 0, or -1 when nothing was
 * pending (then w is not called). */
int fake_transport_answer(struct fake_transport *ft, struct influx_out *w,
                          long status, long retry_after_s, const char *body,
                          hub_mono_ms now);

/* The text of every recorded POST concatenated, oldest first (requests
 * that were retried appear once per attempt). Owned by ft; valid until
 * the next call of any fake_transport_* function on ft. Never NULL ("" on
 * no memory or no requests). */
const char *fake_transport_all_text(struct fake_transport *ft);

/* Inflate a gzip stream (zlib, 16 + MAX_WBITS). Returns a malloc'ed
 * NUL-terminated copy and its length in *outlen, or NULL if the data is
 * not one complete gzip stream. */
char *fake_transport_gunzip(const void *p, size_t n, size_t *outlen);

#endif /* HUB_FAKE_TRANSPORT_H */
