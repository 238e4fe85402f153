/* SPDX-License-Identifier: MIT */
/* run_count.c - count mode: exactly N good readings (plus H hostile
 * messages spread evenly among them), as fast as asked, then wait for
 * every acknowledgement.
 *
 * Good message i goes to drum (i % K) + 1, field temp_core_c:
 *   number: <prefix>/<site>/drum/<id>/temp_core_c   "56.25"
 *   json:   <prefix>/<site>/drum/<id>               {"temp_core_c": 56.25}
 * (no "ts": the hub stamps the time of receipt). Hostile message j goes
 * to drum (j % K) + 1 and is kind j % HOSTILE_NKINDS (hostile.h).
 *
 * Pacing: at most --rate messages per second on the monotonic clock
 * (message t is not sent before t / rate seconds after the connection);
 * never more than pub_window() messages unacknowledged. */
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hostile.h"
#include "model.h"
#include "simclock.h"

#define BURST        4096       /* publishes between two socket services */
#define PROGRESS_NS  1000000000LL
#define NS_PER_S     1e9

struct counter {
    const struct sim_opts *o;
    uint64_t good, hostile, total;
    uint64_t t;                 /* messages published so far           */
    uint64_t ng, nh;            /* good / hostile published so far     */
    struct hostile_msg hm;
    char topic[HOSTILE_TOPIC_MAX];
    char payload[64];
};

/* Is message t of the total one of the hostile ones? Bresenham spread:
 * the H hostile messages land evenly among the N + H. Exact for
 * N, H <= 1e9 (the products stay below 2^63). */
static int is_hostile(const struct counter *c, uint64_t t)
{
    if (c->hostile == 0)
        return 0;
    return (t + 1) * c->hostile / c->total != t * c->hostile / c->total;
}

/* Build message c->t. Sets *topic, *payload, *len. Returns 1 if hostile,
 * or -1 if the topic does not fit (cannot happen with checked options). */
static int build(struct counter *c, const char **topic, const char **payload,
                 size_t *len)
{
    const struct sim_opts *o = c->o;
    unsigned k = (unsigned)o->series;

    if (is_hostile(c, c->t)) {
        if (hostile_make(c->nh, o->topic_prefix, o->site, (unsigned)(c->nh % k) + 1,
                         &c->hm) != 0)
            return -1;
        *topic = c->hm.topic;
        *payload = c->hm.payload;
        *len = c->hm.len;
        return 1;
    } else {
        unsigned id = (unsigned)(c->ng % k) + 1;
        double v = model_count_value(id, c->ng / k);
        int n;

        if (o->format == SIM_FMT_JSON) {
            n = snprintf(c->topic, sizeof(c->topic), "%s/%s/drum/%u", o->topic_prefix,
                         o->site, id);
            *len = (size_t)snprintf(c->payload, sizeof(c->payload),
                                    "{\"temp_core_c\": %.2f}", v);
        } else {
            n = snprintf(c->topic, sizeof(c->topic), "%s/%s/drum/%u/temp_core_c",
                         o->topic_prefix, o->site, id);
            *len = (size_t)snprintf(c->payload, sizeof(c->payload), "%.2f", v);
        }
        if (n < 0 || (size_t)n >= sizeof(c->topic))
            return -1;
        *topic = c->topic;
        *payload = c->payload;
        return 0;
    }
}

/* May message t go out at `now` under --rate? */
static int rate_allows(const struct sim_opts *o, uint64_t t, int64_t since_ns)
{
    if (o->rate <= 0)
        return 1;
    return (double)t < o->rate * ((double)since_ns / NS_PER_S) + 1.0;
}

/* ms until message t is due under --rate (>= 1). */
static int rate_wait_ms(const struct sim_opts *o, uint64_t t, int64_t since_ns)
{
    double due_s = (double)t / o->rate;
    double wait = due_s * 1000.0 - (double)since_ns / 1e6;

    if (wait < 1.0)
        return 1;
    return wait > 100.0 ? 100 : (int)wait + 1;
}

int run_count(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop)
{
    struct counter *c;
    const int64_t timeout_ns = (int64_t)(o->timeout_s * NS_PER_S);
    int64_t start, now, up_at = 0, last_pub = 0, last_ack_at = 0, last_progress;
    uint64_t last_acked = 0, progress_sent = 0;
    char err[256];
    const char *why = NULL;
    int ok = 0;

    c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "kompos-sim: out of memory\n");
        return 1;
    }
    c->o = o;
    c->good = (uint64_t)o->count;
    c->hostile = (uint64_t)o->hostile;
    c->total = c->good + c->hostile;

    start = sim_mono_ns();
    last_progress = start;
    if (pub_start(p, err, sizeof(err)) == PUB_EFATAL)
        why = "cannot connect to the broker";
    while (!why) {
        int timeout_ms = 100;

        now = sim_mono_ns();
        if (*stop) {
            why = "interrupted";
            break;
        }
        if (pub_failed(p)) {
            why = up_at ? "lost the broker connection" : "cannot connect to the broker";
            break;
        }
        if (!up_at) {
            if (pub_connected(p)) {
                up_at = now;
                last_ack_at = now;
                last_pub = now;
            } else if (now - start > timeout_ns) {
                why = "no connection to the broker within --timeout";
                break;
            }
        }
        if (up_at && pub_connected(p)) {
            for (int b = 0; b < BURST && c->t < c->total; b++) {
                const char *topic, *payload;
                size_t len;
                int h, rc;

                if (!rate_allows(o, c->t, now - up_at)) {
                    timeout_ms = rate_wait_ms(o, c->t, now - up_at);
                    break;
                }
                if (pub_outstanding(p) >= pub_window(p))
                    break;
                h = build(c, &topic, &payload, &len);
                if (h < 0) {
                    why = "a topic is too long";
                    break;
                }
                rc = pub_publish(p, topic, payload, len);
                if (rc == PUB_EAGAIN)
                    break;
                if (rc != PUB_OK) {
                    why = pub_error(p);
                    break;
                }
                c->t++;
                if (h)
                    c->nh++;
                else
                    c->ng++;
                last_pub = now;
                if ((b & 255) == 255)
                    now = sim_mono_ns();
            }
            if (why)
                break;
            if (c->t < c->total && pub_outstanding(p) < pub_window(p) &&
                rate_allows(o, c->t, sim_mono_ns() - up_at))
                timeout_ms = 0;
        }
        if (c->t == c->total && up_at && pub_outstanding(p) == 0) {
            ok = 1;
            break;
        }
        if (pub_acked(p) != last_acked) {
            last_acked = pub_acked(p);
            last_ack_at = now;
        }
        if (up_at && pub_outstanding(p) > 0 && now - last_ack_at > timeout_ns) {
            why = "the broker stopped acknowledging (--timeout)";
            break;
        }
        if (up_at && c->t == c->total && now - last_pub > timeout_ns) {
            why = "not every message was acknowledged within --timeout";
            break;
        }
        if (!o->quiet && now - last_progress >= PROGRESS_NS) {
            double dt = (double)(now - last_progress) / NS_PER_S;

            fprintf(stderr, "kompos-sim: sent %" PRIu64 "/%" PRIu64 " acked %" PRIu64
                    " rate %.0f msg/s\n", c->t, c->total, pub_acked(p),
                    (double)(c->t - progress_sent) / dt);
            progress_sent = c->t;
            last_progress = now;
        }
        (void)pub_service(p, timeout_ms);   /* failures: pub_failed() above */
    }

    /* Interrupted: the acks still due may arrive (a second signal ends
     * the wait). */
    if (!ok && why && *stop == 1 && up_at && !pub_failed(p))
        (void)run_drain(p, sim_mono_ns() + timeout_ns, stop, 2);
    now = sim_mono_ns();
    if (ok) {
        double secs = (double)(now - (up_at ? up_at : start)) / NS_PER_S;

        fprintf(stderr, "kompos-sim: %" PRIu64 " messages acknowledged in %.3f s: "
                    "%.0f msg/s (qos %d, %s)\n", c->total, secs,
                    secs > 0 ? (double)c->total / secs : 0.0, o->qos,
                    o->format == SIM_FMT_JSON ? "json" : "number");
    } else {
        const char *detail = pub_error(p);

        fprintf(stderr, "kompos-sim: error: %s%s%s: %" PRIu64 " of %" PRIu64
                " messages published, %" PRIu64 " acknowledged\n", why ? why : "failed",
                detail[0] && why != detail ? ": " : "", why != detail ? detail : "",
                c->t, c->total, pub_acked(p));
    }
    if (!pub_failed(p))
        pub_disconnect(p, 2000);
    fprintf(stderr, "published good=%" PRIu64 " hostile=%" PRIu64 " acked=%" PRIu64 "\n",
            c->ng, c->nh, pub_acked(p));
    free(c);
    return ok ? 0 : 1;
}
