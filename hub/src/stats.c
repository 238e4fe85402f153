/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <string.h>

void stats_window_init(struct stats_window *w)
{
    memset(w, 0, sizeof(*w));
}

static int64_t align_down(int64_t ts, int64_t window_ns)
{
    int64_t r = ts % window_ns;

    if (r < 0)
        r += window_ns;
    return ts - r;
}

/* *sum * 2^*e += v, never reaching Inf: when the sum would pass DBL_MAX it
 * is halved (and *e grows). Only finite readings are added. */
static void sum_add(double *sum, int *e, double v)
{
    double s = *e ? *sum + ldexp(v, -*e) : *sum + v;

    while (isinf(s) && *e < 2 * DBL_MAX_EXP) {
        *sum /= 2.0;
        (*e)++;
        s = *sum + ldexp(v, -*e);
    }
    *sum = s;
}

/* The mean of n readings whose sum is sum * 2^e: between their min and
 * max, so finite (rounding at DBL_MAX is kept to DBL_MAX). */
static double sum_mean(double sum, int e, uint64_t n)
{
    double m = sum / (double)n;

    if (e)
        m = ldexp(m, e);
    if (isinf(m))
        m = m > 0 ? DBL_MAX : -DBL_MAX;
    return m;
}

static void close_window(struct stats_window *w, int64_t window_ns,
                         struct stats_result *out)
{
    w->closed_any = 1;
    w->closed_end = w->start_ns + window_ns;
    out->start_ns = w->start_ns;
    out->count = w->count;
    out->mean = sum_mean(w->sum, w->sum_exp, w->count);
    out->min = w->min;
    out->max = w->max;
    out->last = w->last;
    w->count = 0;
}

int stats_window_add(struct stats_window *w, int64_t window_ns,
                     int64_t ts_ns, double v, struct stats_result *closed)
{
    int64_t start = align_down(ts_ns, window_ns);
    int rc = 0;

    if (w->closed_any && start < w->closed_end)
        start = w->closed_end;
    if (w->count && start > w->start_ns) {
        close_window(w, window_ns, closed);
        rc = 1;
    }
    if (!w->count) {
        w->start_ns = start;
        w->sum = 0.0;
        w->sum_exp = 0;
        w->min = v;
        w->max = v;
    }
    w->count++;
    sum_add(&w->sum, &w->sum_exp, v);
    if (v < w->min)
        w->min = v;
    if (v > w->max)
        w->max = v;
    w->last = v;
    return rc;
}

int stats_window_expire(struct stats_window *w, int64_t window_ns,
                        int64_t now_ns, int64_t grace_ns,
                        struct stats_result *closed)
{
    if (!w->count || now_ns < w->start_ns + window_ns + grace_ns)
        return 0;
    close_window(w, window_ns, closed);
    return 1;
}

int stats_window_close(struct stats_window *w, int64_t window_ns,
                       struct stats_result *closed)
{
    if (!w->count)
        return 0;
    close_window(w, window_ns, closed);
    return 1;
}

uint64_t stats_from_ring(const struct ring *r, int64_t since_ns,
                         struct stats_result *out)
{
    struct sample smp;
    const struct sample *s = &smp;
    double sum = 0.0;
    int e = 0;
    uint64_t n = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; ring_get(r, i, &smp); i++) {
        if (s->ts_ns < since_ns)
            continue;
        if (n == 0) {
            out->min = s->v;
            out->max = s->v;
            out->last = s->v;     /* i == first hit is the newest */
        }
        if (s->v < out->min)
            out->min = s->v;
        if (s->v > out->max)
            out->max = s->v;
        if (n == 0 || s->ts_ns < out->start_ns)
            out->start_ns = s->ts_ns;
        sum_add(&sum, &e, s->v);
        n++;
    }
    out->count = n;
    if (n)
        out->mean = sum_mean(sum, e, n);
    return n;
}
