/* SPDX-License-Identifier: MIT */
/* run_stream.c - continuous mode.
 *
 * Tick k is simulated time start + k * interval and is due on the wall
 * clock at t0 + k * interval / speed, t0 being the first CONNACK. At the
 * first connection each drum publishes a batch_start event; then every
 * tick publishes every reading of every device:
 *   number: <prefix>/<site>/<kind>/<id>/<field>   "56.25"
 *   json:   <prefix>/<site>/<kind>/<id>           {"ts": <sim ms>, "<field>": v, ...}
 * in the order drums 1..N, tanks 1..M, site 1. Plain numbers carry no
 * time (the hub stamps receipt), so only --format json carries the
 * simulated clock; for the same reason the events carry "ts" only in
 * json format.
 *
 * Falling behind (window full, or a high --speed) delays ticks; ticks
 * that come due while the broker is unreachable are skipped, as a sensor
 * without a buffer would lose them, and counted. */
#include "run.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "simclock.h"

#define BURST        4096
#define PROGRESS_NS  1000000000LL
#define NS_PER_S     1e9
#define TOPIC_MAX    512
#define PAYLOAD_MAX  512

static const char *const drum_fields[] = {
    "temp_core_c", "temp_mid_c", "temp_top_c", "moisture_pct", "o2_pct"
};
static const char *const tank_fields[] = { "level_cm", "ph", "temp_liquid_c", "ec_ms_cm" };
#define NDRUM_FIELDS 5
#define NTANK_FIELDS 4

struct stream {
    const struct sim_opts *o;
    struct model *model;
    int64_t start_ms;           /* simulated start                     */
    uint64_t ticks;             /* ticks to run; 0 = forever           */
    uint64_t per_tick;          /* messages per tick                   */
    uint64_t k;                 /* current tick                        */
    uint64_t j;                 /* next message within tick k          */
    int64_t k_ms;               /* simulated time of tick k            */
    uint64_t stepped;           /* k + 1 once the model stepped to k   */
    int events_left;            /* batch_start events still to send    */
    char batch_month[32];       /* "2026-11"                           */
    char topic[TOPIC_MAX];
    char payload[PAYLOAD_MAX];
};

static int64_t tick_ms(const struct stream *s, uint64_t k)
{
    return s->start_ms + (int64_t)llround((double)k * s->o->interval_s * 1000.0);
}

static int64_t tick_due_ns(const struct stream *s, int64_t t0, uint64_t k)
{
    return t0 + (int64_t)((double)k * s->o->interval_s / s->o->speed * NS_PER_S);
}

/* Local (WITA) calendar text of simulated time t: "2026-11" (month) or
 * "2026-11-28 10:00". */
static void local_time(int64_t t_ms, int month_only, char *buf, size_t len)
{
    time_t secs = (time_t)((t_ms + MODEL_LOCAL_OFFSET_MS) / 1000);
    struct tm tm;

    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    if (month_only)
        snprintf(buf, len, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    else
        snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* snprintf into a fixed buffer; returns the length or -1 if cut. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, len, f, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* The batch_start event of drum id (1-based). */
static int build_event(struct stream *s, int id, size_t *len)
{
    const struct sim_opts *o = s->o;
    char ts[40] = "";
    int n;

    if (fmt(s->topic, sizeof(s->topic), "%s/%s/drum/%d/event", o->topic_prefix, o->site,
            id) < 0)
        return -1;
    if (o->format == SIM_FMT_JSON)
        snprintf(ts, sizeof(ts), "\"ts\": %lld, ", (long long)s->start_ms);
    n = fmt(s->payload, sizeof(s->payload),
            "{%s\"event\": \"batch_start\", \"batch\": \"D%d-%s\", \"mass_kg\": 120, "
            "\"member\": \"sari\"}", ts, id, s->batch_month);
    if (n < 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

/* Message j of the current tick (the model has stepped to it). */
static int build_reading(struct stream *s, uint64_t j, size_t *len)
{
    const struct sim_opts *o = s->o;
    uint64_t nd = (uint64_t)o->drums, nt = (uint64_t)o->tanks;
    const char *kind, *field = NULL;
    double vals[NDRUM_FIELDS];
    const char *const *names;
    int id, nvals, n;

    if (o->format == SIM_FMT_NUMBER) {
        uint64_t drum_msgs = nd * NDRUM_FIELDS, tank_msgs = nt * NTANK_FIELDS;
        int f;

        if (j < drum_msgs) {
            const struct drum_values *d = model_drum(s->model, (int)(j / NDRUM_FIELDS));
            const double dv[NDRUM_FIELDS] = { d->temp_core_c, d->temp_mid_c, d->temp_top_c,
                                              d->moisture_pct, d->o2_pct };

            kind = "drum";
            id = (int)(j / NDRUM_FIELDS) + 1;
            f = (int)(j % NDRUM_FIELDS);
            field = drum_fields[f];
            vals[0] = dv[f];
        } else if (j < drum_msgs + tank_msgs) {
            uint64_t q = j - drum_msgs;
            const struct tank_values *t = model_tank(s->model, (int)(q / NTANK_FIELDS));
            const double tv[NTANK_FIELDS] = { t->level_cm, t->ph, t->temp_liquid_c,
                                              t->ec_ms_cm };

            kind = "tank";
            id = (int)(q / NTANK_FIELDS) + 1;
            f = (int)(q % NTANK_FIELDS);
            field = tank_fields[f];
            vals[0] = tv[f];
        } else {
            kind = "site";
            id = 1;
            field = "temp_ambient_c";
            vals[0] = model_ambient(s->model);
        }
        if (fmt(s->topic, sizeof(s->topic), "%s/%s/%s/%d/%s", o->topic_prefix, o->site,
                kind, id, field) < 0)
            return -1;
        n = fmt(s->payload, sizeof(s->payload), "%.2f", vals[0]);
        if (n < 0)
            return -1;
        *len = (size_t)n;
        return 0;
    }

    /* json: one object per device */
    if (j < nd) {
        const struct drum_values *d = model_drum(s->model, (int)j);

        kind = "drum";
        id = (int)j + 1;
        names = drum_fields;
        nvals = NDRUM_FIELDS;
        vals[0] = d->temp_core_c;
        vals[1] = d->temp_mid_c;
        vals[2] = d->temp_top_c;
        vals[3] = d->moisture_pct;
        vals[4] = d->o2_pct;
    } else if (j < nd + nt) {
        const struct tank_values *t = model_tank(s->model, (int)(j - nd));

        kind = "tank";
        id = (int)(j - nd) + 1;
        names = tank_fields;
        nvals = NTANK_FIELDS;
        vals[0] = t->level_cm;
        vals[1] = t->ph;
        vals[2] = t->temp_liquid_c;
        vals[3] = t->ec_ms_cm;
    } else {
        static const char *const site_fields[] = { "temp_ambient_c" };

        kind = "site";
        id = 1;
        names = site_fields;
        nvals = 1;
        vals[0] = model_ambient(s->model);
    }
    if (fmt(s->topic, sizeof(s->topic), "%s/%s/%s/%d", o->topic_prefix, o->site, kind,
            id) < 0)
        return -1;
    n = fmt(s->payload, sizeof(s->payload), "{\"ts\": %lld", (long long)s->k_ms);
    for (int i = 0; i < nvals && n >= 0; i++) {
        int m = fmt(s->payload + n, sizeof(s->payload) - (size_t)n, ", \"%s\": %.2f",
                    names[i], vals[i]);

        n = m < 0 ? -1 : n + m;
    }
    if (n < 0 || (size_t)n + 2 > sizeof(s->payload))
        return -1;
    s->payload[n++] = '}';
    s->payload[n] = '\0';
    *len = (size_t)n;
    return 0;
}

static void progress(const struct stream *s, struct pub *p, const char *what)
{
    char when[64];
    int64_t t = s->k_ms;

    local_time(t, 0, when, sizeof(when));
    fprintf(stderr, "kompos-sim: %ssim day %.3f (%s WITA) tick %" PRIu64 " sent %" PRIu64
            " acked %" PRIu64 "\n", what, (double)(t - s->start_ms) / 86400000.0, when,
            s->k, pub_sent(p), pub_acked(p));
}

int run_stream(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop)
{
    struct stream st;
    struct stream *s = &st;
    const int64_t timeout_ns = (int64_t)(o->timeout_s * NS_PER_S);
    int64_t t0 = 0, now, last_progress;
    uint64_t skipped = 0;
    char err[256];
    const char *why = NULL;
    int ok;

    memset(s, 0, sizeof(*s));
    s->o = o;
    s->start_ms = o->start_ms > 0 ? o->start_ms : sim_real_ms();
    s->ticks = o->duration_s > 0 ? (uint64_t)ceil(o->duration_s / o->interval_s - 1e-9) : 0;
    s->per_tick = o->format == SIM_FMT_JSON
                  ? (uint64_t)o->drums + (uint64_t)o->tanks + 1
                  : (uint64_t)o->drums * NDRUM_FIELDS + (uint64_t)o->tanks * NTANK_FIELDS + 1;
    s->events_left = o->drums;
    s->k_ms = s->start_ms;
    local_time(s->start_ms, 1, s->batch_month, sizeof(s->batch_month));
    s->model = model_new((uint64_t)o->seed, o->drums, o->tanks, s->start_ms);
    if (!s->model) {
        fprintf(stderr, "kompos-sim: out of memory\n");
        return 1;
    }
    if (pub_start(p, err, sizeof(err)) == PUB_EFATAL) {
        fprintf(stderr, "kompos-sim: error: %s\n", err);
        model_free(s->model);
        return 1;
    }
    last_progress = sim_mono_ns();
    while (!why && !*stop && (s->ticks == 0 || s->k < s->ticks)) {
        int timeout_ms = 100;

        now = sim_mono_ns();
        if (pub_failed(p)) {
            why = pub_error(p);
            break;
        }
        if (!t0 && pub_connected(p))
            t0 = now;
        if (t0 && !pub_connected(p)) {
            /* Skip what comes due while the broker is away. */
            while ((s->ticks == 0 || s->k < s->ticks) && tick_due_ns(s, t0, s->k) <= now) {
                skipped += s->per_tick - s->j;
                s->j = 0;
                s->k++;
            }
            s->k_ms = tick_ms(s, s->k);
        }
        for (int b = 0; t0 && pub_connected(p) && b < BURST; b++) {
            size_t len;
            int rc;

            if (pub_outstanding(p) >= pub_window(p))
                break;
            if (s->events_left > 0) {
                rc = build_event(s, o->drums - s->events_left + 1, &len);
            } else {
                if (s->ticks != 0 && s->k >= s->ticks)
                    break;
                if (s->j == 0 && s->stepped != s->k + 1) {
                    int64_t due = tick_due_ns(s, t0, s->k);

                    if (due > now) {
                        now = sim_mono_ns();
                        if (due > now) {
                            int64_t ms = (due - now) / 1000000 + 1;

                            timeout_ms = ms < 100 ? (int)ms : 100;
                            break;
                        }
                    }
                    s->k_ms = tick_ms(s, s->k);
                    model_step(s->model, s->k_ms);
                    s->stepped = s->k + 1;
                }
                rc = build_reading(s, s->j, &len);
            }
            if (rc != 0) {
                why = "a topic or payload is too long";
                break;
            }
            rc = pub_publish(p, s->topic, s->payload, len);
            if (rc == PUB_EAGAIN)
                break;
            if (rc != PUB_OK) {
                why = pub_error(p);
                break;
            }
            if (s->events_left > 0) {
                s->events_left--;
            } else {
                s->j++;
                if (s->j == s->per_tick) {
                    s->j = 0;
                    s->k++;
                }
            }
            timeout_ms = 0;
        }
        if (why)
            break;
        if (!o->quiet && now - last_progress >= PROGRESS_NS) {
            progress(s, p, "");
            last_progress = now;
        }
        (void)pub_service(p, timeout_ms);
    }

    if (why)
        fprintf(stderr, "kompos-sim: error: %s\n", why);
    ok = !why && run_drain(p, sim_mono_ns() + timeout_ns, stop, 2);
    if (!why && !ok)
        fprintf(stderr, "kompos-sim: error: %" PRIu64 " messages not acknowledged within "
                "--timeout\n", pub_outstanding(p));
    if (!pub_failed(p))
        pub_disconnect(p, 2000);
    if (!o->quiet || !ok)
        progress(s, p, *stop ? "stopped at " : "finished at ");
    if (skipped || pub_lost(p) || pub_reconnects(p))
        fprintf(stderr, "kompos-sim: %u reconnects; %" PRIu64 " readings skipped while "
                "disconnected; %" PRIu64 " QoS 0 messages lost with a connection\n",
                pub_reconnects(p), skipped, pub_lost(p));
    model_free(s->model);
    return ok ? 0 : 1;
}
