/* SPDX-License-Identifier: MIT */
/* drum.c - per-drum compost state machine, time integrals and maturity
 * (pure; see drum.h for the rules). */
#include "drum.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_err.h"

#define NS_S 1000000000LL
#define NS_H (3600LL * NS_S)
#define NS_D (24LL * NS_H)
#define TS_LIMIT 4000000000000000000LL   /* |ts| bound: differences fit int64 */
#define NB 72                            /* hourly buckets kept (3 days)      */
#define NB_SAVE 48                       /* hourly buckets saved              */
#define RESET_GAP_H 6                    /* hours without data that reset conditions */

enum { F_CORE, F_MID, F_TOP, F_BOTTOM, F_AMB, F_MOIST, F_O2, F_CO2, F_MASS, F_SITE, F_N };

static const char *const field_names[F_SITE] = {
    "temp_core_c", "temp_mid_c", "temp_top_c", "temp_bottom_c", "temp_ambient_c",
    "moisture_pct", "o2_pct", "co2_pct", "mass_kg",
};

/* condition timers of the hourly state machine */
enum { TM_HOT, TM_COOL, TM_CUR, TM_SKIP, TM_MAT, TM_LOW, TM_REACT, TM_N };

struct probe {
    double v;
    int64_t ts;
    int suspect;
    int has;
};

/* One finalised sample (drum.h "samples"). */
struct dsample {
    int has;
    int64_t ts;
    double core, tmin, tmax, comp, amb, moist;
    int valid;        /* valid in-pile probes                      */
    int comp_known;   /* enough probes for the compliance value    */
};

struct hbucket {
    int64_t hour;
    float core_sum, core_max, amb_sum, amb_max;
    uint16_t core_n, amb_n;
};

/* Everything that drum_save keeps, apart from probes, buckets and name. */
struct dstate {
    int phase, ever, active, turns, turn_in_curing, reheat_pending;
    int reached55, reached65, have_moist, sanit_final_set, sanit_final;
    int64_t phase_start, batch_start, last_turn, reheat_turn, mature_at, peak_ts;
    int64_t stall_ref, degraded_since, fill_ts, mass_ref_ts, last_data_hour;
    int64_t h40, h55, h65, c55;             /* ns at/above, core and compliance */
    int64_t known, unknown_hot;             /* ns of known / unknown-while-hot */
    int64_t tm[TM_N];
    double in_mass, out_mass, first_mass, empty_mass, fill_ref, mass_ref;
    double peak_core, stall_peak, pre_turn_delta, reheat_max, last_delta1;
    double dd, dd20, leth;
    struct sanit_run r55, r65w;
    struct dsample last;
};

struct drum {
    char id[DRUM_ID_MAX];
    char batch[DRUM_BATCH_MAX];
    struct drum_params p;
    struct probe f[F_N];
    int has_pend;
    int64_t pend_ts;
    int64_t now;                  /* newest event time seen          */
    int has_hour;
    int64_t cur_hour;             /* hour of the newest sample       */
    struct hbucket hb[NB];
    struct dstate s;
    int reported_phase;
    int has_done;
    struct drum_batch done;
};

static const char *const phase_names[DRUM_PHASE_COUNT] = {
    "EMPTY", "FILLING", "MESOPHILIC", "THERMOPHILIC", "COOLING",
    "CURING", "MATURE", "HARVESTED", "STALLED",
};

const char *drum_phase_name(enum drum_phase p)
{
    if ((unsigned)p >= DRUM_PHASE_COUNT)
        return "?";
    return phase_names[p];
}

void drum_params_defaults(struct drum_params *p)
{
    memset(p, 0, sizeof(*p));
    p->thermo_on_c = 40;
    p->thermo_hold_h = 6;
    p->cool_below_c = 40;
    p->cool_hold_h = 12;
    p->reheat_hold_h = 6;
    p->curing_delta_c = 5;
    p->curing_hold_h = 48;
    p->skip_min_age_d = 14;
    p->skip_delta_c = 5;
    p->skip_hold_h = 72;
    p->stall_age_d = 5;
    p->stall_peak_delta_c = 8;
    p->stall_low_delta_c = 3;
    p->stall_low_hold_h = 48;
    p->stall_window_d = 10;
    p->unstall_rise_c_per_day = 3;
    p->reactivate_delta_c = 8;
    p->reactivate_hold_h = 12;
    p->maturity_delta_c = 2;
    p->maturity_hold_d = 7;
    p->reheat_max_c = 2;
    p->reheat_from_h = 6;
    p->reheat_to_h = 72;
    p->min_age_d = 35;
    p->product_moisture_max_pct = 50;
    p->require_mass_loss = 0;
    p->mass_loss_min_pct = 60;
    p->overheat_c = 65;
    p->too_dry_pct = 40;
    p->too_wet_pct = 65;
    p->anaerobic_o2_pct = 5;
    p->degraded_min_probes = 2;
    p->degraded_hold_h = 1;
    p->groundwater_temp_c = 27;
    p->amb_stale_s = 10800;
    p->fill_mass_step_kg = 2;
    p->fill_settle_h = 12;
    p->harvest_drop_pct = 50;
    p->harvested_hold_h = 24;
    p->sanitation_standard = SANIT_US_PFRP_INVESSEL;
    p->sanit_threshold_c = 55;
    p->pas100_threshold_c = 65;
    p->pas100_moisture_pct = 51;
    p->windrow_turns = 5;
    sanit_req_defaults(&p->req);
    p->sanit_core_basis = 0;
    p->sanit_min_probes = 2;
    p->max_gap_s = 3600;
}

int drum_params_check(const struct drum_params *p, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t off;
        int dur;          /* 1: a duration (0 .. 1e5 hours or days) */
    } nums[] = {
#define PN(f, dur) { #f, offsetof(struct drum_params, f), dur }
        PN(thermo_on_c, 0), PN(thermo_hold_h, 1), PN(cool_below_c, 0), PN(cool_hold_h, 1),
        PN(reheat_hold_h, 1), PN(curing_delta_c, 0), PN(curing_hold_h, 1),
        PN(skip_min_age_d, 1), PN(skip_delta_c, 0), PN(skip_hold_h, 1), PN(stall_age_d, 1),
        PN(stall_peak_delta_c, 0), PN(stall_low_delta_c, 0), PN(stall_low_hold_h, 1),
        PN(stall_window_d, 1), PN(unstall_rise_c_per_day, 0), PN(reactivate_delta_c, 0),
        PN(reactivate_hold_h, 1), PN(maturity_delta_c, 0), PN(maturity_hold_d, 1),
        PN(reheat_max_c, 0), PN(reheat_from_h, 1), PN(reheat_to_h, 1), PN(min_age_d, 1),
        PN(product_moisture_max_pct, 0), PN(mass_loss_min_pct, 0), PN(overheat_c, 0),
        PN(too_dry_pct, 0), PN(too_wet_pct, 0), PN(anaerobic_o2_pct, 0),
        PN(degraded_hold_h, 1), PN(groundwater_temp_c, 0), PN(fill_mass_step_kg, 1),
        PN(fill_settle_h, 1), PN(harvest_drop_pct, 0), PN(harvested_hold_h, 1),
        PN(sanit_threshold_c, 0), PN(pas100_threshold_c, 0), PN(pas100_moisture_pct, 0),
        PN(req.invessel_h, 1), PN(req.windrow_h, 1), PN(req.cum_h, 1), PN(req.pas100_h, 1),
#undef PN
    };
    const char *bad = NULL;
    size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]) && !bad; i++) {
        double v = *(const double *)(const void *)((const char *)p + nums[i].off);

        if (!isfinite(v) || fabs(v) > 1e5 || (nums[i].dur && v < 0))
            bad = nums[i].name;
    }
    if (!bad && !(p->max_gap_s > 0 && p->max_gap_s <= 1e7))
        bad = "max_gap_s";
    if (!bad && !(p->amb_stale_s > 0 && p->amb_stale_s <= 1e7))
        bad = "amb_stale_s";
    if (!bad && !(p->too_dry_pct < p->too_wet_pct))
        bad = "too_dry_pct (must be below too_wet_pct)";
    if (!bad && !(p->maturity_delta_c <= p->curing_delta_c))
        bad = "maturity_delta_c (must not exceed curing_delta_c)";
    if (!bad && !(p->reheat_from_h <= p->reheat_to_h))
        bad = "reheat_from_h (must not exceed reheat_to_h)";
    if (!bad && (p->degraded_min_probes < 1 || p->degraded_min_probes > 4))
        bad = "degraded_min_probes";
    if (!bad && (p->sanit_min_probes < 1 || p->sanit_min_probes > 4))
        bad = "sanit_min_probes";
    if (!bad && (p->windrow_turns < 0 || p->windrow_turns > 1000))
        bad = "windrow_turns";
    if (!bad && (unsigned)p->sanitation_standard > SANIT_UK_PAS100)
        bad = "sanitation_standard";
    if (!bad)
        return HUB_OK;
    if (err && errlen)
        snprintf(err, errlen, "drum: bad %s", bad);
    return HUB_EINVAL;
}

/* ---- small helpers ---------------------------------------------------- */

/* Durations from parameters, clamped to +-1e6 hours so that sums with
 * timestamps (|ts| < TS_LIMIT) cannot overflow whatever the config says. */
static int64_t hours_ns(double h)
{
    if (!(h > -1e6))
        h = -1e6;
    if (h > 1e6)
        h = 1e6;
    return (int64_t)(h * (double)NS_H);
}

static int64_t gap_ns(const struct drum *d)
{
    return hours_ns(d->p.max_gap_s / 3600.0);
}

/* add a (bounded) duration to an accumulated duration, saturating */
static void acc(int64_t *a, int64_t dt)
{
    if (*a < TS_LIMIT)
        *a += dt;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b) != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static double clip01(double x)
{
    if (x < 0.0)
        return 0.0;
    if (x > 1.0)
        return 1.0;
    return x;
}

static void state_reset_batch(struct dstate *s, int windrow_turns)
{
    int i;

    s->turns = 0;
    s->turn_in_curing = 0;
    s->reheat_pending = 0;
    s->reached55 = s->reached65 = s->have_moist = 0;
    s->sanit_final_set = 0;
    s->sanit_final = SANIT_UNKNOWN;
    s->last_turn = s->reheat_turn = s->mature_at = s->peak_ts = 0;
    s->h40 = s->h55 = s->h65 = s->c55 = s->known = s->unknown_hot = 0;
    for (i = 0; i < TM_N; i++)
        s->tm[i] = 0;
    s->in_mass = s->out_mass = s->first_mass = NAN;
    s->peak_core = NAN;
    s->stall_peak = NAN;
    s->pre_turn_delta = s->reheat_max = NAN;
    s->dd = s->dd20 = s->leth = 0.0;
    sanit_run_init(&s->r55, windrow_turns);
    sanit_run_init(&s->r65w, 0);
}

struct drum *drum_new(const char *id, const struct drum_params *p)
{
    struct drum *d = calloc(1, sizeof(*d));
    int i;

    if (!d)
        return NULL;
    if (id)
        snprintf(d->id, sizeof(d->id), "%s", id);
    if (p)
        d->p = *p;
    else
        drum_params_defaults(&d->p);
    d->s.phase = DRUM_EMPTY;
    d->reported_phase = DRUM_EMPTY;
    d->s.empty_mass = d->s.fill_ref = d->s.mass_ref = NAN;
    d->s.last_delta1 = NAN;
    state_reset_batch(&d->s, d->p.windrow_turns);
    for (i = 0; i < NB; i++)
        d->hb[i].hour = INT64_MIN;
    return d;
}

void drum_free(struct drum *d)
{
    free(d);
}

void drum_set_params(struct drum *d, const struct drum_params *p)
{
    d->p = *p;
    d->s.r55.req_turns = p->windrow_turns;
}

const char *drum_id(const struct drum *d)
{
    return d->id;
}

/* ---- hourly buckets --------------------------------------------------- */

static struct hbucket *bucket(struct drum *d, int64_t h)
{
    int64_t i = h % NB;

    if (i < 0)
        i += NB;
    return &d->hb[i];
}

static const struct hbucket *bucket_c(const struct drum *d, int64_t h)
{
    int64_t i = h % NB;

    if (i < 0)
        i += NB;
    return d->hb[i].hour == h ? &d->hb[i] : NULL;
}

struct winstat {
    double core_mean, amb_mean, core_max, amb_max;
    int core_hours;
};

/* Means of hourly means (and maxima) over hours [h_end - n + 1, h_end]. */
static void window(const struct drum *d, int64_t h_end, int n, struct winstat *w)
{
    double cs = 0, as = 0;
    int cn = 0, an = 0, i;

    w->core_max = w->amb_max = NAN;
    for (i = 0; i < n && i < NB; i++) {
        const struct hbucket *b = bucket_c(d, h_end - i);

        if (!b)
            continue;
        if (b->core_n) {
            cs += b->core_sum / b->core_n;
            cn++;
            if (!(b->core_max <= w->core_max))
                w->core_max = b->core_max;
        }
        if (b->amb_n) {
            as += b->amb_sum / b->amb_n;
            an++;
            if (!(b->amb_max <= w->amb_max))
                w->amb_max = b->amb_max;
        }
    }
    w->core_mean = cn ? cs / cn : NAN;
    w->amb_mean = an ? as / an : NAN;
    w->core_hours = cn;
}

/* Least-squares slope of hourly core means over the 24 hours ending at
 * h_end, in °C per day; NaN with fewer than 6 hours. */
static double core_slope(const struct drum *d, int64_t h_end)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0, den;
    int i;

    for (i = 0; i < 24; i++) {
        const struct hbucket *b = bucket_c(d, h_end - i);
        double x = -(double)i / 24.0, y;

        if (!b || !b->core_n)
            continue;
        y = b->core_sum / b->core_n;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        n++;
    }
    if (n < 6)
        return NAN;
    den = n * sxx - sx * sx;
    if (den <= 0)
        return NAN;
    return (n * sxy - sx * sy) / den;
}

static double amb_or_ground(const struct drum *d, double amb)
{
    return isnan(amb) ? d->p.groundwater_temp_c : amb;
}

/* ---- phases ----------------------------------------------------------- */

static void set_phase(struct drum *d, int ph, int64_t t)
{
    if (d->s.phase == ph)
        return;
    d->s.phase = ph;
    d->s.phase_start = t;
}

static int batch_finished_phase(int ph)
{
    return ph == DRUM_CURING || ph == DRUM_MATURE || ph == DRUM_HARVESTED;
}

static void start_batch(struct drum *d, const char *name, double mass, int64_t t)
{
    struct dstate *s = &d->s;

    snprintf(d->batch, sizeof(d->batch), "%s", name ? name : "");
    state_reset_batch(s, d->p.windrow_turns);
    s->ever = 1;
    s->active = 1;
    s->batch_start = t;
    s->stall_ref = t;
    s->in_mass = mass > 0 && mass <= 1e6 ? mass : NAN;
    s->phase = -1;
    set_phase(d, DRUM_MESOPHILIC, t);
}

static void unstall(struct drum *d, int64_t t)
{
    d->s.stall_ref = t;
    d->s.stall_peak = NAN;
    d->s.tm[TM_LOW] = 0;
    set_phase(d, DRUM_MESOPHILIC, t);
}

static void sanit_inputs_fill(const struct drum *d, struct sanit_inputs *in)
{
    const struct dstate *s = &d->s;
    double h = (double)NS_H;

    memset(in, 0, sizeof(*in));
    in->run55_longest_h = (double)s->r55.longest_ns / h;
    in->run55_turns_best_h = (double)s->r55.best_with_turns_ns / h;
    in->cum55_h = (double)s->c55 / h;
    in->run65wet_longest_h = (double)s->r65w.longest_ns / h;
    if (d->p.sanitation_standard == SANIT_UK_PAS100)
        in->reached_threshold = s->reached65;
    else
        in->reached_threshold = s->reached55;
    in->have_moisture = s->have_moist;
    in->known_h = (double)s->known / h;
    in->unknown_hot_h = (double)s->unknown_hot / h;
    in->finished = !s->active || batch_finished_phase(s->phase);
}

static enum sanit_status sanit_now(const struct drum *d)
{
    struct sanit_inputs in;

    if (d->s.sanit_final_set)
        return (enum sanit_status)d->s.sanit_final;
    if (!d->s.ever)
        return SANIT_UNKNOWN;
    sanit_inputs_fill(d, &in);
    return sanit_eval(d->p.sanitation_standard, &d->p.req, &in);
}

static void finish_batch(struct drum *d, double out_mass, int64_t t)
{
    struct dstate *s = &d->s;
    struct drum_batch *b = &d->done;

    s->out_mass = out_mass >= 0 && out_mass <= 1e6 ? out_mass : NAN;
    s->active = 0;
    set_phase(d, DRUM_HARVESTED, t);
    s->sanit_final = sanit_now(d);
    s->sanit_final_set = 1;
    memset(b, 0, sizeof(*b));
    snprintf(b->batch, sizeof(b->batch), "%s", d->batch);
    b->start_ns = s->batch_start;
    b->end_ns = t;
    b->input_mass_kg = isnan(s->in_mass) ? s->first_mass : s->in_mass;
    b->output_mass_kg = s->out_mass;
    b->yield_pct = b->input_mass_kg > 0 ? 100.0 * b->output_mass_kg / b->input_mass_kg : NAN;
    b->cycle_days = (double)(t - s->batch_start) / (double)NS_D;
    b->peak_t_core_c = s->peak_core;
    b->sanit = (enum sanit_status)s->sanit_final;
    d->has_done = 1;
}

static double mass_loss(const struct drum *d)
{
    const struct dstate *s = &d->s;
    double m0 = isnan(s->in_mass) ? s->first_mass : s->in_mass;

    if (!d->f[F_MASS].has || !(m0 > 0) || !s->active)
        return NAN;
    return 100.0 * (m0 - d->f[F_MASS].v) / m0;
}

static double reheat_value(const struct dstate *s)
{
    if (isnan(s->reheat_max) || isnan(s->pre_turn_delta))
        return NAN;
    return s->reheat_max - s->pre_turn_delta;
}

static void tm_set(struct drum *d, int i, double cond_lhs_ok, int64_t hs)
{
    /* cond_lhs_ok: 1 true, 0 false, NaN unknown (no change) */
    if (isnan(cond_lhs_ok))
        return;
    if (cond_lhs_ok != 0.0) {
        if (!d->s.tm[i])
            d->s.tm[i] = hs;
    } else {
        d->s.tm[i] = 0;
    }
}

static double cond(double a, int ok)
{
    return isnan(a) ? NAN : (double)ok;
}

static int64_t held(const struct drum *d, int i, int64_t te)
{
    return d->s.tm[i] ? te - d->s.tm[i] : -1;
}

static int mature_ok(const struct drum *d, int64_t te)
{
    const struct dstate *s = &d->s;
    const struct probe *m = &d->f[F_MOIST];
    double rh;

    if (held(d, TM_MAT, te) < hours_ns(d->p.maturity_hold_d * 24.0))
        return 0;
    if (te - s->batch_start < hours_ns(d->p.min_age_d * 24.0))
        return 0;
    if (s->turn_in_curing) {
        rh = reheat_value(s);
        if (s->reheat_pending || !(rh < d->p.reheat_max_c))
            return 0;
    }
    if (m->has && !m->suspect && m->v > d->p.product_moisture_max_pct)
        return 0;
    if (d->p.require_mass_loss && !(mass_loss(d) >= d->p.mass_loss_min_pct))
        return 0;
    return 1;
}

/* Evaluate hour h (just closed) of the state machine. */
static void close_hour(struct drum *d, int64_t h)
{
    struct dstate *s = &d->s;
    const struct drum_params *p = &d->p;
    const struct hbucket *b = bucket_c(d, h);
    int64_t hs = h * NS_H, te = hs + NS_H;
    struct winstat w24, w6;
    double c1, amb24, d24, delta1, slope;
    int i;

    if (!b || !b->core_n) {
        if (s->last_data_hour && h - s->last_data_hour > RESET_GAP_H)
            for (i = 0; i < TM_N; i++)
                s->tm[i] = 0;
        return;
    }
    s->last_data_hour = h;
    c1 = b->core_sum / b->core_n;
    window(d, h, 24, &w24);
    window(d, h, 6, &w6);
    amb24 = amb_or_ground(d, w24.amb_mean);
    d24 = w24.core_mean - amb24;
    delta1 = c1 - amb24;
    slope = core_slope(d, h);
    s->last_delta1 = delta1;

    tm_set(d, TM_HOT, cond(c1, c1 >= p->thermo_on_c), hs);
    tm_set(d, TM_COOL, cond(w6.core_mean, w6.core_mean < p->cool_below_c), hs);
    tm_set(d, TM_CUR, cond(d24, d24 <= p->curing_delta_c), hs);
    tm_set(d, TM_SKIP, cond(delta1, delta1 <= p->skip_delta_c), hs);
    tm_set(d, TM_MAT, cond(d24, d24 <= p->maturity_delta_c), hs);
    tm_set(d, TM_LOW, cond(delta1, delta1 < p->stall_low_delta_c), hs);
    tm_set(d, TM_REACT, cond(delta1, delta1 > p->reactivate_delta_c), hs);

    if (!s->active)
        return;
    if (hs >= s->stall_ref && !(delta1 <= s->stall_peak))
        s->stall_peak = delta1;
    if (s->reheat_pending) {
        if (hs >= s->reheat_turn + hours_ns(p->reheat_from_h) &&
            te <= s->reheat_turn + hours_ns(p->reheat_to_h) && !(delta1 <= s->reheat_max))
            s->reheat_max = delta1;
        if (te >= s->reheat_turn + hours_ns(p->reheat_to_h))
            s->reheat_pending = 0;
    }

    switch (s->phase) {
    case DRUM_MESOPHILIC:
        if (held(d, TM_HOT, te) >= hours_ns(p->thermo_hold_h)) {
            set_phase(d, DRUM_THERMOPHILIC, te);
        } else if (te - s->batch_start >= hours_ns(p->skip_min_age_d * 24.0) &&
                   held(d, TM_SKIP, te) >= hours_ns(p->skip_hold_h)) {
            set_phase(d, DRUM_CURING, te);
        } else if ((te - s->stall_ref >= hours_ns(p->stall_age_d * 24.0) &&
                    s->stall_peak < p->stall_peak_delta_c) ||
                   (s->tm[TM_LOW] &&
                    te - (s->tm[TM_LOW] > s->stall_ref ? s->tm[TM_LOW] : s->stall_ref) >=
                        hours_ns(p->stall_low_hold_h) &&
                    te - s->stall_ref <= hours_ns(p->stall_window_d * 24.0))) {
            set_phase(d, DRUM_STALLED, te);
        }
        break;
    case DRUM_THERMOPHILIC:
        if (held(d, TM_COOL, te) >= hours_ns(p->cool_hold_h) && slope < 0)
            set_phase(d, DRUM_COOLING, te);
        break;
    case DRUM_COOLING:
        if (s->last_turn && s->last_turn >= s->phase_start && s->tm[TM_HOT] &&
            te - (s->tm[TM_HOT] > s->last_turn ? s->tm[TM_HOT] : s->last_turn) >=
                hours_ns(p->reheat_hold_h))
            set_phase(d, DRUM_THERMOPHILIC, te);
        else if (held(d, TM_CUR, te) >= hours_ns(p->curing_hold_h))
            set_phase(d, DRUM_CURING, te);
        break;
    case DRUM_CURING:
        if (held(d, TM_REACT, te) >= hours_ns(p->reactivate_hold_h)) {
            set_phase(d, DRUM_COOLING, te);
        } else if (mature_ok(d, te)) {
            set_phase(d, DRUM_MATURE, te);
            s->mature_at = te;
        }
        break;
    case DRUM_STALLED: {
        /* "delta_t rising > 3 C/day": today's 24 h mean delta-T against
         * yesterday's. Day against day, so the daily cycle of the drum's
         * lagged response to the air (a slope of several C/day within a
         * day) cannot wake a stalled drum. */
        struct winstat wprev;
        double dprev;

        window(d, h - 24, 24, &wprev);
        dprev = wprev.core_mean - amb_or_ground(d, wprev.amb_mean);
        if (wprev.core_hours >= 12 && w24.core_hours >= 12 &&
            d24 - dprev > p->unstall_rise_c_per_day)
            unstall(d, te);
        break;
    }
    default:
        break;
    }
}

/* Close every hour before h (the hour of a new sample or of now). */
static void close_hours_before(struct drum *d, int64_t h)
{
    int64_t k;

    if (!d->has_hour) {
        d->has_hour = 1;
        d->cur_hour = h;
        return;
    }
    if (h <= d->cur_hour)
        return;
    if (h - d->cur_hour > NB) {
        close_hour(d, d->cur_hour);
        /* the rest has no data: one evaluation of an empty hour resets */
        close_hour(d, h - 1);
    } else {
        for (k = d->cur_hour; k < h; k++)
            close_hour(d, k);
    }
    d->cur_hour = h;
}

/* ---- samples ---------------------------------------------------------- */

static int probe_ok(const struct drum *d, const struct probe *pr, int64_t t)
{
    return pr->has && !pr->suspect && t - pr->ts <= gap_ns(d) && pr->ts <= t;
}

static void make_sample(const struct drum *d, int64_t t, struct dsample *o)
{
    static const int inpile[] = { F_CORE, F_MID, F_TOP, F_BOTTOM };
    const struct probe *site = &d->f[F_SITE], *amb = &d->f[F_AMB], *m = &d->f[F_MOIST];
    int64_t amb_stale = hours_ns(d->p.amb_stale_s / 3600.0);
    size_t i;

    memset(o, 0, sizeof(*o));
    o->has = 1;
    o->ts = t;
    o->core = o->tmin = o->tmax = o->comp = o->moist = NAN;
    for (i = 0; i < sizeof(inpile) / sizeof(inpile[0]); i++) {
        const struct probe *pr = &d->f[inpile[i]];

        if (!probe_ok(d, pr, t))
            continue;
        o->valid++;
        if (!(pr->v >= o->tmin))
            o->tmin = pr->v;
        if (!(pr->v <= o->tmax))
            o->tmax = pr->v;
        if ((inpile[i] == F_MID || inpile[i] == F_BOTTOM) && !(pr->v <= o->core))
            o->core = pr->v;          /* fallback: max of valid non-top probes */
    }
    if (probe_ok(d, &d->f[F_CORE], t))
        o->core = d->f[F_CORE].v;
    if (o->valid >= d->p.sanit_min_probes && probe_ok(d, &d->f[F_CORE], t)) {
        o->comp_known = 1;
        o->comp = d->p.sanit_core_basis ? o->core : o->tmin;
    }
    if (site->has && t - site->ts <= amb_stale && site->ts <= t + amb_stale)
        o->amb = site->v;
    else if (amb->has && !amb->suspect && t - amb->ts <= amb_stale && amb->ts <= t + amb_stale)
        o->amb = amb->v;
    else if (fabs(d->p.groundwater_temp_c) <= 200.0)
        o->amb = d->p.groundwater_temp_c;
    else
        o->amb = d->p.groundwater_temp_c > 0 ? 200.0 : -200.0;
    if (m->has && !m->suspect && t - m->ts <= amb_stale)
        o->moist = m->v;
}

static int both_ge(const struct dsample *a, const struct dsample *b, double thr, int comp)
{
    double x = comp ? a->comp : a->core, y = comp ? b->comp : b->core;

    return x >= thr && y >= thr;
}

static double excess(double core, double base)
{
    return core > base ? core - base : 0.0;
}

/* Integrate [last, cur] into the batch totals and feed the runs. */
static void integrate(struct drum *d, const struct dsample *c)
{
    struct dstate *s = &d->s;
    const struct drum_params *p = &d->p;
    const struct dsample *l = &s->last;
    int64_t dt = l->has ? c->ts - l->ts : -1;
    int ok = l->has && dt > 0 && dt <= gap_ns(d) && l->ts >= s->batch_start;
    double thr = p->sanit_threshold_c;

    if (ok) {
        double days = (double)dt / (double)NS_D;

        if (both_ge(l, c, 40.0, 0))
            acc(&s->h40, dt);
        if (both_ge(l, c, 55.0, 0))
            acc(&s->h55, dt);
        if (both_ge(l, c, 65.0, 0))
            acc(&s->h65, dt);
        if (l->comp_known && c->comp_known) {
            acc(&s->known, dt);
            if (both_ge(l, c, thr, 1))
                acc(&s->c55, dt);
        } else if (!l->comp_known && l->core >= thr) {
            acc(&s->unknown_hot, dt);
        }
        if (!isnan(l->core) && !isnan(c->core)) {
            s->dd += days * (excess(l->core, l->amb) + excess(c->core, c->amb)) / 2.0;
            s->dd20 += days * (excess(l->core, 20.0) + excess(c->core, 20.0)) / 2.0;
            if (l->core >= 50.0)
                s->leth += days / (131.7e6 / pow(10.0, 0.14 * l->core));
            if (s->leth > 1e9)      /* informational; keep it printable */
                s->leth = 1e9;
        }
    }
    if (c->comp_known) {
        sanit_run_sample(&s->r55, c->ts, c->comp >= thr, gap_ns(d));
        if (c->comp >= thr)
            s->reached55 = 1;
        if (c->comp >= p->pas100_threshold_c)
            s->reached65 = 1;
        if (!isnan(c->moist)) {
            s->have_moist = 1;
            sanit_run_sample(&s->r65w, c->ts,
                             c->comp >= p->pas100_threshold_c && c->moist >= p->pas100_moisture_pct,
                             gap_ns(d));
        }
    }
    if (c->core > s->peak_core || (isnan(s->peak_core) && !isnan(c->core))) {
        s->peak_core = c->core;
        s->peak_ts = c->ts;
    }
}

static void finalize(struct drum *d, int64_t t)
{
    struct dsample c;
    struct hbucket *b;
    int64_t h = floor_div(t, NS_H);

    d->has_pend = 0;
    make_sample(d, t, &c);
    if (d->s.last.has && t <= d->s.last.ts)
        return;
    close_hours_before(d, h);
    if (d->s.active)
        integrate(d, &c);
    if (c.valid < d->p.degraded_min_probes) {
        if (!d->s.degraded_since)
            d->s.degraded_since = t;
    } else {
        d->s.degraded_since = 0;
    }
    b = bucket(d, h);
    if (b->hour != h) {
        memset(b, 0, sizeof(*b));
        b->hour = h;
    }
    if (!isnan(c.core)) {
        if (!b->core_n || c.core > b->core_max)
            b->core_max = (float)c.core;
        b->core_sum += (float)c.core;
        b->core_n++;
    }
    if (!b->amb_n || c.amb > b->amb_max)
        b->amb_max = (float)c.amb;
    b->amb_sum += (float)c.amb;
    b->amb_n++;
    if (b->core_n >= 60000 || b->amb_n >= 60000) {   /* keep the sums' range */
        b->core_sum = b->core_n ? b->core_sum / b->core_n : 0;
        b->amb_sum /= b->amb_n;
        b->core_n = b->core_n ? 1 : 0;
        b->amb_n = 1;
    }
    d->s.last = c;
}

/* the largest |value| kept for a field (temperatures 200, others 1e6) */
static double field_max(size_t fi)
{
    return fi <= F_AMB || fi == F_SITE ? 200.0 : 1e6;
}

static int field_index(const char *field)
{
    int i;

    for (i = 0; i < F_SITE; i++)
        if (strcmp(field, field_names[i]) == 0)
            return i;
    return -1;
}

static void note_time(struct drum *d, int64_t ts)
{
    if (ts > d->now)
        d->now = ts;
}

static void on_mass(struct drum *d, double v, int64_t ts)
{
    struct dstate *s = &d->s;
    const struct drum_params *p = &d->p;

    switch (s->phase) {
    case DRUM_EMPTY:
        if (isnan(s->empty_mass) || v < s->empty_mass)
            s->empty_mass = v;
        if (v > s->empty_mass + p->fill_mass_step_kg) {
            s->ever = 1;
            set_phase(d, DRUM_FILLING, ts);
            s->fill_ref = v;
            s->fill_ts = ts;
        }
        break;
    case DRUM_FILLING:
        if (isnan(s->fill_ref) || fabs(v - s->fill_ref) > p->fill_mass_step_kg) {
            s->fill_ref = v;
            s->fill_ts = ts;
        }
        break;
    default:
        if (!s->active)
            break;
        if (isnan(s->first_mass))
            s->first_mass = v;
        if (s->phase == DRUM_MATURE && s->mass_ref > 0 && ts - s->mass_ref_ts <= NS_H &&
            v < s->mass_ref * (1.0 - p->harvest_drop_pct / 100.0)) {
            finish_batch(d, v, ts);
            break;
        }
        if (isnan(s->mass_ref) || ts - s->mass_ref_ts >= NS_H) {
            s->mass_ref = v;
            s->mass_ref_ts = ts;
        }
        break;
    }
}

static void take_reading(struct drum *d, int fi, double value, int64_t ts, int suspect)
{
    struct probe *pr = &d->f[fi];

    if (!isfinite(value) || ts <= -TS_LIMIT || ts >= TS_LIMIT)
        return;
    if (pr->has && ts < pr->ts)
        return;
    if (d->has_pend && ts > d->pend_ts)
        finalize(d, d->pend_ts);
    pr->v = value;
    pr->ts = ts;
    pr->suspect = suspect ? 1 : 0;
    pr->has = 1;
    note_time(d, ts);
    if (!d->s.last.has || ts > d->s.last.ts) {
        if (!d->has_pend || ts > d->pend_ts)
            d->pend_ts = ts;
        d->has_pend = 1;
    }
}

void drum_on_reading(struct drum *d, const char *field, double value, int64_t ts_ns, int suspect)
{
    int fi;

    if (!d || !field)
        return;
    fi = field_index(field);
    if (fi < 0 || !isfinite(value) || ts_ns <= -TS_LIMIT || ts_ns >= TS_LIMIT)
        return;
    if (fabs(value) > field_max((size_t)fi))   /* beyond any sensor: keep state sane */
        return;
    if (d->f[fi].has && ts_ns < d->f[fi].ts)
        return;
    if (fi <= F_BOTTOM && !suspect && !d->s.ever && d->s.phase == DRUM_EMPTY)
        start_batch(d, "", NAN, ts_ns);
    take_reading(d, fi, value, ts_ns, suspect);
    if (fi == F_MASS && !suspect)
        on_mass(d, value, ts_ns);
}

void drum_on_site_ambient(struct drum *d, double t_amb_c, int64_t ts_ns)
{
    if (!d || !(fabs(t_amb_c) <= 200.0))
        return;
    take_reading(d, F_SITE, t_amb_c, ts_ns, 0);
}

int drum_on_event(struct drum *d, const char *event, const char *batch, double mass_kg,
                  int64_t ts_ns)
{
    struct dstate *s;

    if (!d || !event || ts_ns <= -TS_LIMIT || ts_ns >= TS_LIMIT)
        return 0;
    s = &d->s;
    note_time(d, ts_ns);
    if (strcmp(event, "batch_start") == 0) {
        if (d->has_pend && d->pend_ts < ts_ns)
            finalize(d, d->pend_ts);
        start_batch(d, batch, mass_kg, ts_ns);
        return 1;
    }
    if (strcmp(event, "turn") == 0) {
        if (!s->active)
            return 1;
        s->turns++;
        s->last_turn = ts_ns;
        sanit_run_turn(&s->r55);
        sanit_run_turn(&s->r65w);
        s->pre_turn_delta = s->last_delta1;
        s->reheat_max = NAN;
        s->reheat_pending = 1;
        s->reheat_turn = ts_ns;
        if (s->phase == DRUM_CURING)
            s->turn_in_curing = 1;
        if (s->phase == DRUM_STALLED)
            unstall(d, ts_ns);
        return 1;
    }
    if (strcmp(event, "water") == 0) {
        if (s->active && s->phase == DRUM_STALLED)
            unstall(d, ts_ns);
        return 1;
    }
    if (strcmp(event, "harvest") == 0) {
        if (s->active)
            finish_batch(d, mass_kg, ts_ns);
        return 1;
    }
    if (strcmp(event, "fill") == 0) {
        if (s->phase == DRUM_EMPTY || s->phase == DRUM_HARVESTED) {
            s->ever = 1;
            set_phase(d, DRUM_FILLING, ts_ns);
            s->fill_ts = ts_ns;
            s->fill_ref = d->f[F_MASS].has ? d->f[F_MASS].v : NAN;
        }
        return 1;
    }
    return 0;
}

int drum_advance(struct drum *d, int64_t now_ns)
{
    struct dstate *s = &d->s;
    int changed;

    if (now_ns <= -TS_LIMIT || now_ns >= TS_LIMIT)
        return 0;
    note_time(d, now_ns);
    if (d->has_pend && now_ns >= d->pend_ts)
        finalize(d, d->pend_ts);
    if (d->has_hour)
        close_hours_before(d, floor_div(now_ns, NS_H));
    if (s->phase == DRUM_HARVESTED && now_ns - s->phase_start >= hours_ns(d->p.harvested_hold_h)) {
        set_phase(d, DRUM_EMPTY, now_ns);
        s->empty_mass = NAN;
    }
    if (s->phase == DRUM_FILLING && d->f[F_MASS].has && !isnan(s->fill_ref) &&
        now_ns - s->fill_ts >= hours_ns(d->p.fill_settle_h))
        start_batch(d, "", NAN, s->fill_ts);
    changed = s->phase != d->reported_phase;
    d->reported_phase = s->phase;
    return changed;
}

/* ---- metrics ---------------------------------------------------------- */

static void estimate(const struct drum *d, double age_d, double d24, double d24_prev,
                     double days_amb, struct drum_metrics *m)
{
    const struct drum_params *p = &d->p;
    double rem_age = p->min_age_d - age_d, est;

    if (rem_age < 0)
        rem_age = 0;
    m->est_days_to_mature = NAN;
    snprintf(m->est_method, sizeof(m->est_method), "unknown");
    if (d->s.phase == DRUM_MATURE || (d->s.phase == DRUM_HARVESTED && d->s.mature_at)) {
        m->est_days_to_mature = 0;
        snprintf(m->est_method, sizeof(m->est_method), "mature");
        return;
    }
    if (!d->s.active || isnan(age_d))
        return;
    if (d->s.tm[TM_MAT]) {
        est = p->maturity_hold_d - days_amb;
        if (est < 0)
            est = 0;
        snprintf(m->est_method, sizeof(m->est_method), "ambient_hold");
    } else if (d24 > p->maturity_delta_c && d24_prev > d24 && p->maturity_delta_c > 0) {
        est = log(p->maturity_delta_c / d24) / log(d24 / d24_prev) + p->maturity_hold_d;
        snprintf(m->est_method, sizeof(m->est_method), "delta_t_trend");
    } else {
        return;
    }
    if (rem_age > est) {
        est = rem_age;
        snprintf(m->est_method, sizeof(m->est_method), "min_age");
    }
    m->est_days_to_mature = est;
}

void drum_get(const struct drum *d, struct drum_metrics *m)
{
    const struct dstate *s = &d->s;
    const struct drum_params *p = &d->p;
    struct dsample c;
    struct winstat w24, w24p, w1;
    int64_t tref = d->has_pend ? d->pend_ts : s->last.ts;
    int64_t hnow = d->has_hour ? d->cur_hour : 0, now = d->now;
    double amb24, d24 = NAN, d24p = NAN, sum = 0, h = (double)NS_H;
    int i, n = 0;
    unsigned fl = 0;

    memset(m, 0, sizeof(*m));
    m->phase = (enum drum_phase)s->phase;
    snprintf(m->batch, sizeof(m->batch), "%s", d->batch);
    m->phase_age_d = s->ever ? (double)(now - s->phase_start) / (double)NS_D : NAN;
    make_sample(d, tref, &c);
    if (!d->has_pend && !s->last.has)
        c.core = c.tmin = c.tmax = NAN, c.valid = 0;
    m->t_core_c = c.core;
    m->t_min_probe_c = c.tmin;
    m->t_max_probe_c = c.tmax;
    m->t_strat_c = c.tmax - c.tmin;
    m->t_amb_c = c.amb;
    m->valid_probes = c.valid;
    window(d, hnow, 24, &w24);
    window(d, hnow - 24, 24, &w24p);
    window(d, hnow, 1, &w1);
    if (d->has_hour && !w1.core_hours)
        window(d, hnow - 1, 1, &w1);
    amb24 = d->has_hour ? amb_or_ground(d, w24.amb_mean) : NAN;
    m->t_amb_24h_mean_c = amb24;
    m->delta_t_c = w1.core_mean - amb24;
    d24 = w24.core_mean - amb24;
    d24p = w24p.core_mean - amb_or_ground(d, w24p.amb_mean);
    m->delta_t_24h_c = d24;
    m->t_core_24h_max_c = w24.core_max;
    m->t_amb_24h_max_c = d->has_hour ? (isnan(w24.amb_max) ? p->groundwater_temp_c : w24.amb_max)
                                     : NAN;
    m->hours_ge_40 = (double)s->h40 / h;
    m->hours_ge_55 = (double)s->h55 / h;
    m->hours_ge_65 = (double)s->h65 / h;
    m->hours_ge_55_comp = (double)s->c55 / h;
    m->run_ge_55_longest_h = (double)s->r55.longest_ns / h;
    m->run_ge_55_current_h = (double)sanit_run_current_ns(&s->r55) / h;
    m->run_ge_65_wet_longest_h = (double)s->r65w.longest_ns / h;
    m->sanit = sanit_now(d);
    m->sanit_standard = p->sanitation_standard;
    m->degree_days = s->dd;
    m->degree_days_20 = s->dd20;
    m->lethality_ratio = s->leth;
    m->days_at_ambient = s->tm[TM_MAT] && d->has_hour
                             ? (double)((hnow + 1) * NS_H - s->tm[TM_MAT]) / (double)NS_D : 0.0;
    if (s->tm[TM_MAT] && d->has_hour && s->last_data_hour < hnow)   /* open hour not judged yet */
        m->days_at_ambient = (double)((s->last_data_hour + 1) * NS_H - s->tm[TM_MAT]) /
                             (double)NS_D;
    m->batch_age_d = s->active ? (double)(now - s->batch_start) / (double)NS_D : NAN;
    m->turns = s->turns;
    m->peak_t_core_c = s->peak_core;
    m->time_to_peak_h = isnan(s->peak_core) ? NAN : (double)(s->peak_ts - s->batch_start) / h;
    m->moisture_pct = d->f[F_MOIST].has && !d->f[F_MOIST].suspect ? d->f[F_MOIST].v : NAN;
    m->o2_pct = d->f[F_O2].has && !d->f[F_O2].suspect ? d->f[F_O2].v : NAN;
    m->co2_pct = d->f[F_CO2].has && !d->f[F_CO2].suspect ? d->f[F_CO2].v : NAN;
    m->mass_kg = d->f[F_MASS].has && !d->f[F_MASS].suspect ? d->f[F_MASS].v : NAN;
    m->mass_loss_pct = mass_loss(d);
    m->reheat_after_last_turn_c = reheat_value(s);
    m->dtdt_c_per_day = d->has_hour ? core_slope(d, hnow) : NAN;
    m->mature_at_ns = s->mature_at;
    m->batch_start_ns = s->ever ? s->batch_start : 0;
    m->last_turn_ns = s->last_turn;

    m->score_parts[0] = clip01(m->days_at_ambient / p->maturity_hold_d);
    m->score_parts[1] = isnan(m->reheat_after_last_turn_c)
                            ? NAN : 1.0 - clip01(m->reheat_after_last_turn_c / 5.0);
    m->score_parts[2] = isnan(m->batch_age_d) ? NAN : clip01(m->batch_age_d / p->min_age_d);
    m->score_parts[3] = isnan(m->moisture_pct) ? NAN
                        : m->moisture_pct <= p->product_moisture_max_pct
                            ? 1.0 : clip01((60.0 - m->moisture_pct) / 10.0);
    m->score_parts[4] = isnan(m->mass_loss_pct) ? NAN : clip01(m->mass_loss_pct / 60.0);
    m->score_parts[5] = isnan(m->t_core_24h_max_c) || isnan(m->t_amb_24h_max_c)
                            ? NAN : 1.0 - clip01((m->t_core_24h_max_c - m->t_amb_24h_max_c) / 5.0);
    for (i = 0; i < 6; i++) {
        if (!isnan(m->score_parts[i])) {
            sum += m->score_parts[i];
            n++;
        }
    }
    m->maturity_score = n ? sum / n : NAN;
    estimate(d, m->batch_age_d, d24, d24p, m->days_at_ambient, m);

    if (!isnan(m->moisture_pct)) {
        if (m->moisture_pct < p->too_dry_pct &&
            (s->phase == DRUM_MESOPHILIC || s->phase == DRUM_THERMOPHILIC ||
             s->phase == DRUM_COOLING || s->phase == DRUM_STALLED))
            fl |= DRUM_F_TOO_DRY;
        if (m->moisture_pct > p->too_wet_pct)
            fl |= DRUM_F_TOO_WET;
    }
    if (m->o2_pct < p->anaerobic_o2_pct)
        fl |= DRUM_F_ANAEROBIC;
    if (m->t_core_c >= p->overheat_c)
        fl |= DRUM_F_OVERHEAT;
    if (s->active && s->degraded_since && tref - s->degraded_since > hours_ns(p->degraded_hold_h))
        fl |= DRUM_F_SENSOR_DEGRADED;
    m->flags = fl;
}

int drum_take_batch(struct drum *d, struct drum_batch *b)
{
    if (!d->has_done)
        return 0;
    *b = d->done;
    d->has_done = 0;
    return 1;
}

/* ---- persistence ------------------------------------------------------ */
/* One line: "kd1" then key=value tokens in a fixed order (drum_load wants
 * exactly that order): the scalar state of the table below, the batch name
 * (%XX-encoded), the probes ("x" = none), the finished batch not yet taken, and the
 * last NB_SAVE hourly buckets. */

enum { V_INT, V_I64, V_DBL };

struct svar {
    const char *key;
    int type;
    size_t off;
    long lo, hi;          /* bounds of a V_INT */
};

#define SI(k, f, l, h) { k, V_INT, offsetof(struct dstate, f), l, h }
#define SL(k, f) { k, V_I64, offsetof(struct dstate, f), 0, 0 }
#define SD(k, f) { k, V_DBL, offsetof(struct dstate, f), 0, 0 }

static const struct svar svars[] = {
    SI("ph", phase, 0, DRUM_PHASE_COUNT - 1), SI("ev", ever, 0, 1), SI("ac", active, 0, 1),
    SI("tu", turns, 0, 1000000), SI("tc", turn_in_curing, 0, 1), SI("rp", reheat_pending, 0, 1),
    SI("r5", reached55, 0, 1), SI("r6", reached65, 0, 1), SI("hm", have_moist, 0, 1),
    SI("sf", sanit_final_set, 0, 1), SI("ss", sanit_final, 0, 3),
    SL("ps", phase_start), SL("bs", batch_start), SL("lt", last_turn), SL("rt", reheat_turn),
    SL("ma", mature_at), SL("pt", peak_ts), SL("sr", stall_ref), SL("ds", degraded_since),
    SL("ft", fill_ts), SL("mt", mass_ref_ts), SL("ld", last_data_hour),
    SL("h4", h40), SL("h5", h55), SL("h6", h65), SL("c5", c55), SL("kn", known),
    SL("uh", unknown_hot),
    SL("t0", tm[0]), SL("t1", tm[1]), SL("t2", tm[2]), SL("t3", tm[3]), SL("t4", tm[4]),
    SL("t5", tm[5]), SL("t6", tm[6]),
    SD("im", in_mass), SD("om", out_mass), SD("fm", first_mass), SD("em", empty_mass),
    SD("fr", fill_ref), SD("mr", mass_ref), SD("pc", peak_core), SD("sp", stall_peak),
    SD("pd", pre_turn_delta), SD("rm", reheat_max), SD("l1", last_delta1),
    SD("dd", dd), SD("d2", dd20), SD("le", leth),
    SL("as", r55.start_ns), SL("al", r55.last_ns), SI("aa", r55.active, 0, 1),
    SI("at", r55.turns, 0, 1000000), SL("ap", r55.prev_known_ns), SL("ag", r55.longest_ns),
    SI("ao", r55.longest_turns, 0, 1000000), SL("ab", r55.best_with_turns_ns),
    SL("ws", r65w.start_ns), SL("wl", r65w.last_ns), SI("wa", r65w.active, 0, 1),
    SI("wt", r65w.turns, 0, 1000000), SL("wp", r65w.prev_known_ns), SL("wg", r65w.longest_ns),
    SI("wo", r65w.longest_turns, 0, 1000000), SL("wb", r65w.best_with_turns_ns),
    SI("xh", last.has, 0, 1), SL("xt", last.ts), SD("xc", last.core), SD("xn", last.tmin),
    SD("xx", last.tmax), SD("xp", last.comp), SD("xa", last.amb), SD("xm", last.moist),
    SI("xv", last.valid, 0, 4), SI("xk", last.comp_known, 0, 1),
};

struct wbuf {
    char *p;
    size_t len, used;
    int over;
};

static void wput(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wput(struct wbuf *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->over)
        return;
    va_start(ap, fmt);
    n = vsnprintf(w->p + w->used, w->len - w->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->len - w->used) {
        w->over = 1;
        return;
    }
    w->used += (size_t)n;
}

static void wdbl(struct wbuf *w, double v)
{
    if (isnan(v))
        wput(w, "nan");
    else
        wput(w, "%.9g", v);
}

int drum_save(const struct drum *d, char *buf, size_t len)
{
    struct wbuf w = { buf, len > DRUM_STATE_MAX ? DRUM_STATE_MAX : len, 0, 0 };
    const char *base = (const char *)&d->s;
    const unsigned char *c;
    size_t i;
    int64_t h;

    if (!buf || len == 0)
        return HUB_ENOMEM;
    buf[0] = '\0';
    wput(&w, "kd1");
    for (i = 0; i < sizeof(svars) / sizeof(svars[0]); i++) {
        const struct svar *v = &svars[i];

        wput(&w, " %s=", v->key);
        if (v->type == V_INT)
            wput(&w, "%d", *(const int *)(const void *)(base + v->off));
        else if (v->type == V_I64)
            wput(&w, "%" PRId64, *(const int64_t *)(const void *)(base + v->off));
        else
            wdbl(&w, *(const double *)(const void *)(base + v->off));
    }
    wput(&w, " bn=");
    for (c = (const unsigned char *)d->batch; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.')
            wput(&w, "%c", *c);
        else
            wput(&w, "%%%02X", *c);
    }
    wput(&w, " np=%d:%" PRId64 " no=%" PRId64 " nr=%d", d->has_pend, d->pend_ts, d->now,
         d->reported_phase);
    for (i = 0; i < F_N; i++) {
        const struct probe *pr = &d->f[i];

        if (!pr->has) {
            wput(&w, " p=x");
            continue;
        }
        wput(&w, " p=");
        wdbl(&w, pr->v);
        wput(&w, ":%" PRId64 ":%d", pr->ts, pr->suspect);
    }
    if (d->has_done) {
        const struct drum_batch *b = &d->done;

        wput(&w, " dn=%" PRId64 ":%" PRId64 ":", b->start_ns, b->end_ns);
        wdbl(&w, b->input_mass_kg);
        wput(&w, ":");
        wdbl(&w, b->output_mass_kg);
        wput(&w, ":");
        wdbl(&w, b->peak_t_core_c);
        wput(&w, ":%d", (int)b->sanit);
    } else {
        wput(&w, " dn=x");
    }
    wput(&w, " hb=%d:%" PRId64 ":", d->has_hour, d->cur_hour);
    for (h = d->cur_hour - NB_SAVE + 1; h <= d->cur_hour; h++) {
        const struct hbucket *b = d->has_hour ? bucket_c(d, h) : NULL;

        if (h > d->cur_hour - NB_SAVE + 1)
            wput(&w, ",");
        if (!b || (!b->core_n && !b->amb_n)) {
            wput(&w, "x");
            continue;
        }
        if (b->core_n)
            wput(&w, "%.2f/%.2f", (double)(b->core_sum / b->core_n), (double)b->core_max);
        else
            wput(&w, "n/n");
        if (b->amb_n)
            wput(&w, "/%.2f/%.2f", (double)(b->amb_sum / b->amb_n), (double)b->amb_max);
        else
            wput(&w, "/n/n");
    }
    wput(&w, " end");
    if (w.over) {
        buf[0] = '\0';
        return HUB_ENOMEM;
    }
    return (int)w.used;
}

/* ---- parsing helpers: each consumes from *pp and returns 0 or -1 ---- */

static int p_lit(const char **pp, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(*pp, lit, n) != 0)
        return -1;
    *pp += n;
    return 0;
}

static int p_i64(const char **pp, int64_t *out)
{
    char *end;
    long long v;

    if (!(**pp == '-' || (**pp >= '0' && **pp <= '9')))
        return -1;
    errno = 0;
    v = strtoll(*pp, &end, 10);
    if (errno || end == *pp || v <= -TS_LIMIT || v >= TS_LIMIT)
        return -1;
    *pp = end;
    *out = (int64_t)v;
    return 0;
}

static int p_int(const char **pp, long lo, long hi, int *out)
{
    int64_t v;

    if (p_i64(pp, &v) || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* A finite number within +-1e12, or "nan" (as written by wdbl). */
static int p_dbl(const char **pp, double *out)
{
    char *end;
    double v;

    if (strncmp(*pp, "nan", 3) == 0) {
        *pp += 3;
        *out = NAN;
        return 0;
    }
    if (!(**pp == '-' || (**pp >= '0' && **pp <= '9')))
        return -1;
    errno = 0;
    v = strtod(*pp, &end);
    if (end == *pp || !isfinite(v) || fabs(v) > 1e12)
        return -1;
    *pp = end;
    *out = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int p_name(const char **pp, char *out, size_t cap)
{
    size_t n = 0;
    const char *q = *pp;

    while (*q && *q != ' ') {
        int ch;

        if (*q == '%') {
            int a = hexval(q[1]), b = a < 0 ? -1 : hexval(q[2]);

            if (b < 0)
                return -1;
            ch = a * 16 + b;
            if (ch == 0)
                return -1;
            q += 3;
        } else {
            ch = (unsigned char)*q++;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    *pp = q;
    return 0;
}

static int p_temp(const char **pp, float *out, int *has)
{
    double v;

    if (**pp == 'n' && (*pp)[1] != 'a') {
        (*pp)++;
        *has = 0;
        *out = 0;
        return 0;
    }
    if (p_dbl(pp, &v) || isnan(v) || fabs(v) > 200.0)
        return -1;
    *out = (float)v;
    *has = 1;
    return 0;
}

static int parse_state(struct drum *t, const char *q)
{
    char *base = (char *)&t->s;
    size_t i;
    int64_t h;
    int has, has2;

    if (p_lit(&q, "kd1"))
        return -1;
    for (i = 0; i < sizeof(svars) / sizeof(svars[0]); i++) {
        const struct svar *v = &svars[i];
        void *dst = base + v->off;

        if (p_lit(&q, " ") || p_lit(&q, v->key) || p_lit(&q, "="))
            return -1;
        if (v->type == V_INT) {
            if (p_int(&q, v->lo, v->hi, (int *)dst))
                return -1;
        } else if (v->type == V_I64) {
            if (p_i64(&q, (int64_t *)dst))
                return -1;
        } else if (p_dbl(&q, (double *)dst)) {
            return -1;
        }
    }
    if (p_lit(&q, " bn=") || p_name(&q, t->batch, sizeof(t->batch)))
        return -1;
    if (p_lit(&q, " np=") || p_int(&q, 0, 1, &t->has_pend) || p_lit(&q, ":") ||
        p_i64(&q, &t->pend_ts) || p_lit(&q, " no=") || p_i64(&q, &t->now) ||
        p_lit(&q, " nr=") || p_int(&q, 0, DRUM_PHASE_COUNT - 1, &t->reported_phase))
        return -1;
    for (i = 0; i < F_N; i++) {
        struct probe *pr = &t->f[i];

        if (p_lit(&q, " p="))
            return -1;
        memset(pr, 0, sizeof(*pr));
        if (p_lit(&q, "x") == 0)
            continue;
        if (p_dbl(&q, &pr->v) || isnan(pr->v) || fabs(pr->v) > field_max(i) ||
            p_lit(&q, ":") || p_i64(&q, &pr->ts) ||
            p_lit(&q, ":") || p_int(&q, 0, 1, &pr->suspect))
            return -1;
        pr->has = 1;
    }
    if (p_lit(&q, " dn="))
        return -1;
    if (p_lit(&q, "x") == 0) {
        t->has_done = 0;
    } else {
        struct drum_batch *b = &t->done;
        int st;

        memset(b, 0, sizeof(*b));
        if (p_i64(&q, &b->start_ns) || p_lit(&q, ":") || p_i64(&q, &b->end_ns) ||
            p_lit(&q, ":") || p_dbl(&q, &b->input_mass_kg) || p_lit(&q, ":") ||
            p_dbl(&q, &b->output_mass_kg) || p_lit(&q, ":") || p_dbl(&q, &b->peak_t_core_c) ||
            p_lit(&q, ":") || p_int(&q, 0, 3, &st))
            return -1;
        b->sanit = (enum sanit_status)st;
        snprintf(b->batch, sizeof(b->batch), "%s", t->batch);
        b->yield_pct = b->input_mass_kg > 0 ? 100.0 * b->output_mass_kg / b->input_mass_kg : NAN;
        b->cycle_days = (double)(b->end_ns - b->start_ns) / (double)NS_D;
        t->has_done = 1;
    }
    if (p_lit(&q, " hb=") || p_int(&q, 0, 1, &t->has_hour) || p_lit(&q, ":") ||
        p_i64(&q, &t->cur_hour) || p_lit(&q, ":"))
        return -1;
    if (t->cur_hour < -TS_LIMIT / NS_H || t->cur_hour > TS_LIMIT / NS_H ||
        t->s.last_data_hour < -TS_LIMIT / NS_H || t->s.last_data_hour > TS_LIMIT / NS_H)
        return -1;
    for (i = 0; i < NB; i++)
        t->hb[i].hour = INT64_MIN;
    for (h = t->cur_hour - NB_SAVE + 1; h <= t->cur_hour; h++) {
        struct hbucket b;

        if (h > t->cur_hour - NB_SAVE + 1 && p_lit(&q, ","))
            return -1;
        if (p_lit(&q, "x") == 0)
            continue;
        memset(&b, 0, sizeof(b));
        b.hour = h;
        if (p_temp(&q, &b.core_sum, &has) || p_lit(&q, "/") || p_temp(&q, &b.core_max, &has2) ||
            has != has2 || p_lit(&q, "/"))
            return -1;
        b.core_n = (uint16_t)has;
        if (p_temp(&q, &b.amb_sum, &has) || p_lit(&q, "/") || p_temp(&q, &b.amb_max, &has2) ||
            has != has2)
            return -1;
        b.amb_n = (uint16_t)has;
        if (t->has_hour)
            *bucket(t, h) = b;
    }
    if (p_lit(&q, " end") || *q != '\0')
        return -1;
    /* cross checks */
    if (t->s.active && !t->s.ever)
        return -1;
    if (t->s.last.has && t->s.last.valid > 4)
        return -1;
    if (t->s.h40 < 0 || t->s.h55 < 0 || t->s.h65 < 0 || t->s.c55 < 0 || t->s.known < 0 ||
        t->s.unknown_hot < 0 || t->s.r55.longest_ns < 0 || t->s.r65w.longest_ns < 0)
        return -1;
    return 0;
}

int drum_load(struct drum *d, const char *text)
{
    struct drum *t;

    if (!d || !text || strlen(text) >= DRUM_STATE_MAX)
        return HUB_EINVAL;
    t = malloc(sizeof(*t));
    if (!t)
        return HUB_ENOMEM;
    *t = *d;
    if (parse_state(t, text) != 0) {
        free(t);
        return HUB_EINVAL;
    }
    t->s.r55.req_turns = d->p.windrow_turns;
    t->s.r65w.req_turns = 0;
    *d = *t;
    free(t);
    return HUB_OK;
}
