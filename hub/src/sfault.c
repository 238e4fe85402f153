/* SPDX-License-Identifier: MIT */
/* sfault.c - series-level sensor fault detection (see sfault.h). Pure: no
 * I/O, no logging, no clock, no mutable globals. */
#include "sfault.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MIN 60000000000.0
#define NS_PER_H   3600000000000.0

#define HIST_MAX   5    /* recent readings forming the spike reference  */
#define NBUCKET    6    /* rate buckets: each a third of rate_span       */
#define HOLD_MAX   2    /* readings held while a jump awaits confirmation */

enum sf_class { C_TEMP, C_PH, C_MOIST, C_DIST, C_OTHER };

struct obs {
    int64_t ts;
    double v;
};

/* Mean value and mean time of the readings in one slice of time. */
struct bucket {
    int64_t t0;          /* first reading's time                  */
    double v_mean;
    double dt_mean;      /* mean offset of the readings from t0, ns */
    uint32_t n;
};

/* The thresholds that apply to this series, in ns; 0 = rule off. */
struct rules {
    double jump;                 /* spike/step threshold                 */
    int64_t jump_window;
    int median_n;
    int confirm_n;               /* readings at the new level, jump included */
    enum sfault_reason jump_reason;
    double rate_per_h;
    int64_t rate_span, rate_max_span, turn_grace, bucket_w;
    double stuck_tol;
    int64_t stuck_amb;           /* identical this long with ambient moving */
    double amb_move;
    int64_t stuck_thermo;
    int64_t stuck_plain;         /* identical this long, whatever else      */
    int displaced;
    double disp_band, disp_others;
    int64_t disp_dur;
    double high_pct;
    int64_t high_dur;
    double maxr[SFAULT_MAX_RANGES];
    size_t nmaxr;
    double stale_factor;
};

struct released {
    struct obs o;
    enum sfault_reason verdict;
};

struct sfault {
    enum sf_class cls;
    int inpile;                  /* in-pile drum temperature probe */
    int ambient;                 /* temp_ambient_c                 */
    struct rules r;

    int have_last;
    int64_t last_ts;

    struct obs hist[HIST_MAX];   /* ring of recent plausible readings */
    int nhist, hist_head;
    struct bucket b[NBUCKET];    /* oldest first                     */
    int nb;

    struct obs held[HOLD_MAX];
    int nheld;
    double held_ref;             /* the reference the jump left      */

    struct released rel[SFAULT_RELEASE_MAX];
    int rel_head, nrel;
    uint64_t dropped;

    int have_run;                /* stuck: run of identical values   */
    double run_v;
    int64_t run_start;
    double amb_min, amb_max;

    int disp_on;                 /* displaced: condition holding since */
    int64_t disp_start;

    int high_on;                 /* moisture at/above high_pct since */
    int64_t high_start;

    unsigned flags, raised, cleared;
};

const char *sfault_reason_name(enum sfault_reason r)
{
    switch (r) {
    case SF_OK:        return "ok";
    case SF_SPIKE:     return "spike";
    case SF_STUCK:     return "stuck";
    case SF_DISPLACED: return "displaced";
    case SF_RATE:      return "rate";
    case SF_STALE:     return "stale";
    case SF_STEP:      return "step";
    case SF_PENDING:   return "pending";
    }
    return "unknown";
}

void sfault_params_defaults(struct sfault_params *p)
{
    memset(p, 0, sizeof(*p));
    p->spike_c = 3.0;
    p->spike_window_min = 5.0;
    p->spike_median_n = 5;
    p->rate_c_per_h = 10.0;
    p->rate_span_min = 15.0;
    p->rate_max_span_min = 60.0;
    p->rate_turn_grace_h = 1.0;
    p->stuck_tol = 0.0;
    p->stuck_h = 6.0;
    p->stuck_amb_move_c = 2.0;
    p->stuck_thermo_h = 3.0;
    p->displaced_band_c = 1.0;
    p->displaced_others_c = 10.0;
    p->displaced_h = 6.0;
    p->ph_spike = 0.5;
    p->ph_spike_window_min = 10.0;
    p->ph_stuck_h = 12.0;
    p->moisture_step_pct = 10.0;
    p->moisture_window_min = 60.0;
    p->moisture_high_pct = 98.0;
    p->moisture_high_h = 24.0;
    p->max_range_cm[0] = 450.0;
    p->max_range_cm[1] = 600.0;
    p->n_max_range = 2;
    p->stuck_other_h = 24.0;
    p->stale_factor = 3.0;
}

/* A duration in some unit as ns; <= 0 or NaN gives 0 (rule off). Capped
 * far below INT64_MAX so sums of two never overflow. */
static int64_t dur_ns(double x, double unit_ns)
{
    double d;

    if (!(x > 0.0))
        return 0;
    d = x * unit_ns;
    if (!(d < 1e18))
        return 1000000000000000000LL;
    if (d < 1.0)
        return 1;
    return (int64_t)d;
}

/* A threshold; <= 0 or NaN gives 0 (rule off). */
static double pos(double x)
{
    return x > 0.0 ? x : 0.0;
}

/* later - earlier, saturated to the int64 range. */
static int64_t span_ns(int64_t later, int64_t earlier)
{
    if (earlier < 0 && later > INT64_MAX + earlier)
        return INT64_MAX;
    if (earlier > 0 && later < INT64_MIN + earlier)
        return INT64_MIN;
    return later - earlier;
}

static void derive_rules(struct sfault *s, const struct sfault_params *p)
{
    struct rules *r = &s->r;

    memset(r, 0, sizeof(*r));
    r->stuck_tol = p->stuck_tol >= 0.0 ? p->stuck_tol : 0.0;
    r->stale_factor = pos(p->stale_factor);
    switch (s->cls) {
    case C_TEMP:
        r->jump = pos(p->spike_c);
        r->jump_window = dur_ns(p->spike_window_min, NS_PER_MIN);
        r->median_n = p->spike_median_n < 1 ? 1 :
                      p->spike_median_n > HIST_MAX ? HIST_MAX : p->spike_median_n;
        r->confirm_n = 2;
        r->jump_reason = SF_SPIKE;
        r->stuck_amb = dur_ns(p->stuck_h, NS_PER_H);
        r->amb_move = pos(p->stuck_amb_move_c);
        r->stuck_plain = dur_ns(p->stuck_other_h, NS_PER_H);
        if (s->inpile) {
            r->rate_per_h = pos(p->rate_c_per_h);
            r->rate_span = dur_ns(p->rate_span_min, NS_PER_MIN);
            r->rate_max_span = dur_ns(p->rate_max_span_min, NS_PER_MIN);
            r->turn_grace = dur_ns(p->rate_turn_grace_h, NS_PER_H);
            if (r->rate_span == 0 || r->rate_max_span < r->rate_span)
                r->rate_per_h = 0.0;
            r->bucket_w = r->rate_span / 3 > 0 ? r->rate_span / 3 : 1;
            r->stuck_thermo = dur_ns(p->stuck_thermo_h, NS_PER_H);
            r->disp_band = pos(p->displaced_band_c);
            r->disp_others = pos(p->displaced_others_c);
            r->disp_dur = dur_ns(p->displaced_h, NS_PER_H);
            r->displaced = r->disp_dur > 0 && r->disp_others > 0.0;
        }
        break;
    case C_PH:
        r->jump = pos(p->ph_spike);
        r->jump_window = dur_ns(p->ph_spike_window_min, NS_PER_MIN);
        r->median_n = 1;
        r->confirm_n = 2;
        r->jump_reason = SF_SPIKE;
        r->stuck_plain = dur_ns(p->ph_stuck_h, NS_PER_H);
        break;
    case C_MOIST:
        r->jump = pos(p->moisture_step_pct);
        r->jump_window = dur_ns(p->moisture_window_min, NS_PER_MIN);
        r->median_n = 1;
        r->confirm_n = 3;
        r->jump_reason = SF_STEP;
        r->high_pct = pos(p->moisture_high_pct);
        r->high_dur = dur_ns(p->moisture_high_h, NS_PER_H);
        break;
    case C_DIST:
        r->nmaxr = p->n_max_range > SFAULT_MAX_RANGES ? SFAULT_MAX_RANGES : p->n_max_range;
        memcpy(r->maxr, p->max_range_cm, sizeof(r->maxr));
        break;
    case C_OTHER:
        r->stuck_plain = dur_ns(p->stuck_other_h, NS_PER_H);
        break;
    }
    if (r->jump_window == 0)
        r->jump = 0.0;
}

static size_t suffix_is(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct sfault *sfault_new(const char *kind, const char *field,
                          const struct sfault_params *p)
{
    struct sfault_params defaults;
    struct sfault *s;

    if (!kind || !field)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (fnmatch("temp_*_c", field, 0) == 0) {
        s->cls = C_TEMP;
        s->ambient = strcmp(field, "temp_ambient_c") == 0;
        s->inpile = strcmp(kind, "drum") == 0 && !s->ambient;
    } else if (strcmp(field, "ph") == 0) {
        s->cls = C_PH;
    } else if (fnmatch("moisture*_pct", field, 0) == 0) {
        s->cls = C_MOIST;
    } else if (suffix_is(field, "_cm") && !suffix_is(field, "_ms_cm")) {
        s->cls = C_DIST;
    } else {
        s->cls = C_OTHER;
    }
    if (!p) {
        sfault_params_defaults(&defaults);
        p = &defaults;
    }
    derive_rules(s, p);
    s->amb_min = s->amb_max = NAN;
    return s;
}

void sfault_free(struct sfault *s)
{
    free(s);
}

void sfault_set_params(struct sfault *s, const struct sfault_params *p)
{
    struct sfault_params defaults;

    if (!p) {
        sfault_params_defaults(&defaults);
        p = &defaults;
    }
    derive_rules(s, p);
}

/* ---- flags ---------------------------------------------------------- */

static void set_flag(struct sfault *s, enum sfault_reason r, int on)
{
    unsigned bit = 1u << r;

    if (on && !(s->flags & bit)) {
        s->flags |= bit;
        s->raised |= bit;
    } else if (!on && (s->flags & bit)) {
        s->flags &= ~bit;
        s->cleared |= bit;
    }
}

unsigned sfault_flags(const struct sfault *s)
{
    return s->flags;
}

unsigned sfault_take_raised(struct sfault *s)
{
    unsigned r = s->raised;

    s->raised = 0;
    return r;
}

unsigned sfault_take_cleared(struct sfault *s)
{
    unsigned r = s->cleared;

    s->cleared = 0;
    return r;
}

int sfault_suspect(const struct sfault *s)
{
    return s->flags != 0;
}

/* ---- released readings ---------------------------------------------- */

static void release(struct sfault *s, struct obs o, enum sfault_reason verdict)
{
    int i;

    if (s->nrel == SFAULT_RELEASE_MAX) {
        s->rel_head = (s->rel_head + 1) % SFAULT_RELEASE_MAX;
        s->nrel--;
        s->dropped++;
    }
    i = (s->rel_head + s->nrel) % SFAULT_RELEASE_MAX;
    s->rel[i].o = o;
    s->rel[i].verdict = verdict;
    s->nrel++;
}

int sfault_take_released(struct sfault *s, double *v, int64_t *ts_ns,
                         enum sfault_reason *verdict)
{
    const struct released *x;

    if (s->nrel == 0)
        return 0;
    x = &s->rel[s->rel_head];
    *v = x->o.v;
    *ts_ns = x->o.ts;
    *verdict = x->verdict;
    s->rel_head = (s->rel_head + 1) % SFAULT_RELEASE_MAX;
    s->nrel--;
    return 1;
}

uint64_t sfault_dropped(const struct sfault *s)
{
    return s->dropped;
}

int sfault_pending(const struct sfault *s)
{
    return s->nheld;
}

/* Release everything held as unconfirmed. */
static int reject_held(struct sfault *s)
{
    int n = s->nheld;

    for (int i = 0; i < n; i++)
        release(s, s->held[i], s->r.jump_reason ? s->r.jump_reason : SF_SPIKE);
    s->nheld = 0;
    return n;
}

int sfault_flush(struct sfault *s)
{
    return reject_held(s);
}

/* ---- history: spike reference and rate buckets ------------------------ */

static void hist_add(struct sfault *s, int64_t ts, double v)
{
    s->hist[s->hist_head].ts = ts;
    s->hist[s->hist_head].v = v;
    s->hist_head = (s->hist_head + 1) % HIST_MAX;
    if (s->nhist < HIST_MAX)
        s->nhist++;
}

static void bucket_add(struct sfault *s, int64_t ts, double v)
{
    struct bucket *b;

    if (s->r.bucket_w <= 0)
        return;
    if (s->nb == 0 || span_ns(ts, s->b[s->nb - 1].t0) >= s->r.bucket_w) {
        if (s->nb == NBUCKET) {
            memmove(&s->b[0], &s->b[1], sizeof(s->b[0]) * (NBUCKET - 1));
            s->nb--;
        }
        b = &s->b[s->nb++];
        b->t0 = ts;
        b->v_mean = v;
        b->dt_mean = 0.0;
        b->n = 1;
        return;
    }
    b = &s->b[s->nb - 1];
    b->n++;
    b->v_mean += (v - b->v_mean) / b->n;
    b->dt_mean += ((double)span_ns(ts, b->t0) - b->dt_mean) / b->n;
}

/* Median of the newest median_n readings no older than the jump window.
 * Returns 0 when there is none. */
static int reference(const struct sfault *s, int64_t ts, double *ref)
{
    double x[HIST_MAX];
    int n = 0;

    for (int i = 0; i < s->nhist && n < s->r.median_n; i++) {
        const struct obs *o = &s->hist[(s->hist_head - 1 - i + HIST_MAX) % HIST_MAX];

        if (span_ns(ts, o->ts) > s->r.jump_window)
            break;
        x[n++] = o->v;
    }
    if (n == 0)
        return 0;
    for (int i = 1; i < n; i++) {            /* insertion sort of <= 5 */
        double t = x[i];
        int j = i - 1;

        while (j >= 0 && x[j] > t) {
            x[j + 1] = x[j];
            j--;
        }
        x[j + 1] = t;
    }
    *ref = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2.0;
    return 1;
}

/* The rate rule: 1 if |dv/dt| against the newest bucket at least rate_span
 * old (and at most rate_max_span, and after the last turn) is too high. */
static int rate_exceeded(const struct sfault *s, double v, int64_t ts,
                         const struct sfault_ctx *c)
{
    const struct rules *r = &s->r;
    int64_t turn = c->last_turn_ns;
    int turn_known = turn != 0 && turn <= ts;

    if (!(r->rate_per_h > 0.0))
        return 0;
    if (turn_known && r->turn_grace > 0 && span_ns(ts, turn) <= r->turn_grace)
        return 0;
    for (int i = s->nb - 1; i >= 0; i--) {
        const struct bucket *b = &s->b[i];
        int64_t bt = b->t0 + (int64_t)b->dt_mean;
        int64_t age = span_ns(ts, bt);

        if (age > r->rate_max_span)
            return 0;
        if (turn_known && b->t0 < turn)
            return 0;
        if (age >= r->rate_span)
            return fabs(v - b->v_mean) / ((double)age / NS_PER_H) > r->rate_per_h;
    }
    return 0;
}

/* A plausible reading (not a spike): judge the rate, then add it to the
 * history whatever the verdict, so that a genuinely fast change is
 * rejected only while it is fast. */
static enum sfault_reason finish(struct sfault *s, struct obs o,
                                 const struct sfault_ctx *c)
{
    enum sfault_reason verdict = rate_exceeded(s, o.v, o.ts, c) ? SF_RATE : SF_OK;

    hist_add(s, o.ts, o.v);
    bucket_add(s, o.ts, o.v);
    return verdict;
}

/* ---- series states ---------------------------------------------------- */

static void update_stuck(struct sfault *s, double v, int64_t ts,
                         const struct sfault_ctx *c)
{
    const struct rules *r = &s->r;
    int64_t dur;
    int stuck;

    if (!r->stuck_plain && !r->stuck_amb && !r->stuck_thermo)
        return;
    if (!s->have_run || !(fabs(v - s->run_v) <= r->stuck_tol)) {
        s->have_run = 1;
        s->run_v = v;
        s->run_start = ts;
        s->amb_min = s->amb_max = isfinite(c->t_amb_c) ? c->t_amb_c : NAN;
        set_flag(s, SF_STUCK, 0);
        return;
    }
    if (isfinite(c->t_amb_c)) {
        if (isnan(s->amb_min) || c->t_amb_c < s->amb_min)
            s->amb_min = c->t_amb_c;
        if (isnan(s->amb_max) || c->t_amb_c > s->amb_max)
            s->amb_max = c->t_amb_c;
    }
    dur = span_ns(ts, s->run_start);
    stuck = (r->stuck_plain && dur >= r->stuck_plain) ||
            (r->stuck_amb && dur >= r->stuck_amb &&
             s->amb_max - s->amb_min > r->amb_move) ||
            (r->stuck_thermo && c->thermophilic && dur >= r->stuck_thermo);
    if (stuck)   /* once raised, it lasts until the value moves */
        set_flag(s, SF_STUCK, 1);
}

static void update_displaced(struct sfault *s, double v, int64_t ts,
                             const struct sfault_ctx *c)
{
    const struct rules *r = &s->r;

    if (!r->displaced || !isfinite(c->t_amb_c) || !isfinite(c->others_mean_c))
        return;   /* unknown context: no evidence either way */
    if (fabs(v - c->t_amb_c) <= r->disp_band &&
        c->others_mean_c - c->t_amb_c >= r->disp_others) {
        if (!s->disp_on) {
            s->disp_on = 1;
            s->disp_start = ts;
        }
        if (span_ns(ts, s->disp_start) >= r->disp_dur)
            set_flag(s, SF_DISPLACED, 1);
    } else {
        s->disp_on = 0;
        set_flag(s, SF_DISPLACED, 0);
    }
}

static void update_high(struct sfault *s, double v, int64_t ts)
{
    const struct rules *r = &s->r;

    if (!(r->high_pct > 0.0) || !r->high_dur)
        return;
    if (v >= r->high_pct) {
        if (!s->high_on) {
            s->high_on = 1;
            s->high_start = ts;
        }
        if (span_ns(ts, s->high_start) > r->high_dur)
            set_flag(s, SF_STUCK, 1);
    } else {
        s->high_on = 0;
        set_flag(s, SF_STUCK, 0);
    }
}

static int at_max_range(const struct sfault *s, double v)
{
    for (size_t i = 0; i < s->r.nmaxr; i++)
        if (s->r.maxr[i] > 0.0 && fabs(v - s->r.maxr[i]) <= 0.001)
            return 1;
    return 0;
}

/* ---- the feed ----------------------------------------------------------- */

/* Does v confirm the held jump: within the threshold of the held reading,
 * and nearer to it than to the reference the jump left? */
static int confirms(const struct sfault *s, double v)
{
    double d_new = fabs(v - s->held[0].v);

    return d_new <= s->r.jump && d_new < fabs(v - s->held_ref);
}

enum sfault_reason sfault_feed(struct sfault *s, double v, int64_t ts_ns,
                               const struct sfault_ctx *c)
{
    static const struct sfault_ctx unknown = { NAN, 0, 0, NAN };
    struct obs o = { ts_ns, v };
    double ref;

    if (!c)
        c = &unknown;
    if (!isfinite(v))
        return SF_OK;
    set_flag(s, SF_STALE, 0);
    if (s->have_last && ts_ns < s->last_ts)
        return SF_OK;
    s->have_last = 1;
    s->last_ts = ts_ns;

    update_stuck(s, v, ts_ns, c);
    update_displaced(s, v, ts_ns, c);
    update_high(s, v, ts_ns);
    if (s->cls == C_DIST) {
        int at_max = at_max_range(s, v);

        set_flag(s, SF_STUCK, at_max);
        return at_max ? SF_STUCK : SF_OK;
    }

    if (!(s->r.jump > 0.0))
        return finish(s, o, c);
    if (s->nheld > 0) {
        if (confirms(s, v)) {
            if (s->nheld + 1 < s->r.confirm_n && s->nheld < HOLD_MAX) {
                s->held[s->nheld++] = o;
                return SF_PENDING;
            }
            /* a real step: the old level is no reference any more */
            s->nhist = 0;
            s->hist_head = 0;
            for (int i = 0; i < s->nheld; i++)
                release(s, s->held[i], finish(s, s->held[i], c));
            s->nheld = 0;
            return finish(s, o, c);
        }
        reject_held(s);   /* not confirmed: v is judged afresh */
    }
    if (reference(s, ts_ns, &ref) && fabs(v - ref) > s->r.jump) {
        s->held[0] = o;
        s->held_ref = ref;
        s->nheld = 1;
        return SF_PENDING;
    }
    return finish(s, o, c);
}

int sfault_check_stale(struct sfault *s, int64_t now_mono_ms,
                       int64_t last_rx_mono_ms, int64_t expected_interval_ms)
{
    double elapsed;

    if (expected_interval_ms <= 0 || !(s->r.stale_factor > 0.0))
        return 0;
    elapsed = (double)now_mono_ms - (double)last_rx_mono_ms;
    if (elapsed > s->r.stale_factor * (double)expected_interval_ms) {
        if (s->flags & (1u << SF_STALE))
            return 0;
        set_flag(s, SF_STALE, 1);
        reject_held(s);
        return 1;
    }
    set_flag(s, SF_STALE, 0);
    return 0;
}
