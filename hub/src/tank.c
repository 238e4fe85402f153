/* SPDX-License-Identifier: MIT */
/* tank.c - one liquid-fertiliser tank: level -> volume, fill/draw step
 * detection, the fermentation state machine of domain-compost.md 6.3 and the
 * per-batch yield of 6.4 (pure; no I/O, no logging, no wall clock). The
 * pipeline and the batch rules are described in tank.h. */
#include "tank.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_err.h"

#define SEC_NS  1000000000LL
#define MIN_NS  (60LL * SEC_NS)
#define HOUR_NS (3600LL * SEC_NS)
#define DAY_NS  (86400LL * SEC_NS)
#define TS_NONE INT64_MIN
/* Timestamps beyond +-4e18 ns (years 1843..2096) are ignored, so no
 * difference of two accepted timestamps can overflow. */
#define TS_LIMIT 4000000000000000000LL

#define MPT_CAP   160   /* 1-minute level points (>= 2 h at 1/min)        */
#define RAW_CAP   32    /* level samples kept for one minute's median     */
#define PEND_CAP  8     /* rate_persist_samples upper bound               */
#define SMP_CAP   48    /* recent pH / EC samples for the 1-h median      */
#define TL_CAP    16    /* recent liquid temperatures (15-min mean)       */
#define PHB_CAP   64    /* 2-hourly pH bins (slope window <= 120 h)       */
#define ECB_CAP   64    /* 2-hourly EC bins (window <= 120 h)             */
#define DRB_CAP   96    /* 2-hourly drift bins, split at events (<= 96 h) */
#define DWB_CAP   170   /* hourly draw sums (7 days)                      */
#define STEP_MAX_NS (120 * MIN_NS) /* a step that never settles is closed */
#define RENAME_NS (6 * HOUR_NS)    /* batch_start this soon after FILLING
                                      names the batch instead of a new one */

/* ---- geometry ---------------------------------------------------------- */

static const char *const shape_names[] = {
    "vertical_cylinder", "horizontal_cylinder", "box", "table"
};

int tank_shape_parse(const char *name, enum tank_shape *out)
{
    if (!name)
        return HUB_EINVAL;
    for (size_t i = 0; i < sizeof(shape_names) / sizeof(shape_names[0]); i++)
        if (strcmp(name, shape_names[i]) == 0) {
            *out = (enum tank_shape)i;
            return HUB_OK;
        }
    return HUB_EINVAL;
}

const char *tank_shape_name(enum tank_shape s)
{
    if ((unsigned)s < sizeof(shape_names) / sizeof(shape_names[0]))
        return shape_names[s];
    return "?";
}

void tank_geom_defaults(struct tank_geom *g)
{
    memset(g, 0, sizeof(*g));
    g->shape = TANK_VCYL;
    g->diameter_cm = 58.0;
    g->height_cm = 85.0;
    g->sensor_height_cm = 115.0;
}

static int geom_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return HUB_EINVAL;
}

static int pos_finite(double v)
{
    return isfinite(v) && v > 0.0 && v <= 100000.0;
}

double tank_max_level_cm(const struct tank_geom *g)
{
    switch (g->shape) {
    case TANK_VCYL:
    case TANK_BOX:
        return g->height_cm;
    case TANK_HCYL:
        return g->diameter_cm;
    case TANK_TABLE:
        return g->ntable ? g->table_level_cm[g->ntable - 1] : 0.0;
    }
    return 0.0;
}

int tank_geom_check(const struct tank_geom *g, char *err, size_t errlen)
{
    if (!g)
        return geom_err(err, errlen, "no geometry");
    switch (g->shape) {
    case TANK_VCYL:
        if (!pos_finite(g->diameter_cm) || !pos_finite(g->height_cm))
            return geom_err(err, errlen, "vertical_cylinder needs diameter_cm and height_cm > 0");
        break;
    case TANK_HCYL:
        if (!pos_finite(g->diameter_cm) || !pos_finite(g->length_cm))
            return geom_err(err, errlen, "horizontal_cylinder needs diameter_cm and length_cm > 0");
        if (g->height_cm != 0.0 && g->height_cm != g->diameter_cm)
            return geom_err(err, errlen, "horizontal_cylinder: height_cm must be 0 or the diameter");
        break;
    case TANK_BOX:
        if (!pos_finite(g->length_cm) || !pos_finite(g->width_cm) ||
            !pos_finite(g->height_cm))
            return geom_err(err, errlen, "box needs length_cm, width_cm and height_cm > 0");
        break;
    case TANK_TABLE:
        if (g->ntable < 2 || g->ntable > TANK_TABLE_MAX)
            return geom_err(err, errlen, "table needs 2 to 32 points");
        for (size_t i = 0; i < g->ntable; i++) {
            if (!isfinite(g->table_level_cm[i]) || !isfinite(g->table_litres[i]) ||
                g->table_level_cm[i] < 0.0 || g->table_litres[i] < 0.0 ||
                g->table_level_cm[i] > 100000.0 || g->table_litres[i] > 1e9)
                return geom_err(err, errlen, "table: levels and litres must be finite and >= 0");
            if (i > 0 && !(g->table_level_cm[i] > g->table_level_cm[i - 1]))
                return geom_err(err, errlen, "table: levels must be strictly increasing");
            if (i > 0 && g->table_litres[i] < g->table_litres[i - 1])
                return geom_err(err, errlen, "table: litres must not decrease");
        }
        if (!(g->table_litres[g->ntable - 1] > 0.0))
            return geom_err(err, errlen, "table: the last point must hold litres > 0");
        if (g->height_cm != 0.0 && g->height_cm != g->table_level_cm[g->ntable - 1])
            return geom_err(err, errlen, "table: height_cm must be 0 or the last level");
        break;
    default:
        return geom_err(err, errlen, "unknown shape");
    }
    if (!pos_finite(g->sensor_height_cm) ||
        g->sensor_height_cm <= tank_max_level_cm(g))
        return geom_err(err, errlen, "sensor_height_cm must be above the full line");
    return HUB_OK;
}

double tank_litres(const struct tank_geom *g, double level_cm)
{
    double h = level_cm, hmax = tank_max_level_cm(g);

    if (isnan(h))
        return NAN;
    if (h < 0.0)
        h = 0.0;
    if (h > hmax)
        h = hmax;
    switch (g->shape) {
    case TANK_VCYL: {
        double r = g->diameter_cm / 2.0;
        return M_PI * r * r * h / 1000.0;
    }
    case TANK_HCYL: {
        double r = g->diameter_cm / 2.0, c = (r - h) / r, a;

        if (c > 1.0)
            c = 1.0;
        if (c < -1.0)
            c = -1.0;
        a = r * r * acos(c) - (r - h) * sqrt(fmax(0.0, 2.0 * r * h - h * h));
        return a * g->length_cm / 1000.0;
    }
    case TANK_BOX:
        return g->length_cm * g->width_cm * h / 1000.0;
    case TANK_TABLE: {
        size_t n = g->ntable;

        if (n == 0)
            return NAN;
        if (h <= g->table_level_cm[0])
            return g->table_litres[0];
        for (size_t i = 1; i < n; i++)
            if (h <= g->table_level_cm[i]) {
                double h0 = g->table_level_cm[i - 1], h1 = g->table_level_cm[i];
                double v0 = g->table_litres[i - 1], v1 = g->table_litres[i];
                return v0 + (v1 - v0) * (h - h0) / (h1 - h0);
            }
        return g->table_litres[n - 1];
    }
    }
    return NAN;
}

double tank_capacity_l(const struct tank_geom *g)
{
    return tank_litres(g, tank_max_level_cm(g));
}

double tank_level_from_distance(const struct tank_geom *g, double distance_cm)
{
    return g->sensor_height_cm - distance_cm;
}

/* ---- recipes ----------------------------------------------------------- */

void tank_recipe_default(struct tank_recipe *r)
{
    memset(r, 0, sizeof(*r));
    r->ph_target = 4.0;
    r->min_days = 21.0;      /* 6.3 "default 21" */
    r->spec_ph_min = 4.0;    /* Kepmentan 261, [UNVERIFIED] */
    r->spec_ph_max = 9.0;
    r->dilution = 10.0;      /* POC at 1:10 [S20e] */
    r->em_type = 0;
}

/* POC_EM4: target 4.0 [S18], 14 days (6.3), spec 4-9, 1:10 [S20e], EM-type.
 * ECO_ENZYME: target 4.0, 90 days [S19]; not an EM culture, so the
 *   EM spoil rule is off; the doc gives no dilution: 1:100 chosen [EJ].
 * PESTISIDA_NABATI: the doc has no numbers for plant pesticide. Chosen [EJ]:
 *   target 4.5 (between EM ferments and nutrient-rich POC), the 21-day
 *   default, spec 4-9 (no standard exists, the POC range is a placeholder),
 *   spraying at 1:20, not EM-type. */
static const struct tank_recipe builtin[] = {
    { "POC_EM4",          4.0, 14.0, 4.0, 9.0,  10.0, 1 },
    { "ECO_ENZYME",       4.0, 90.0, 4.0, 9.0, 100.0, 0 },
    { "PESTISIDA_NABATI", 4.5, 21.0, 4.0, 9.0,  20.0, 0 },
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

size_t tank_recipes_builtin(struct tank_recipe *out, size_t max)
{
    for (size_t i = 0; i < NBUILTIN && i < max; i++)
        out[i] = builtin[i];
    return NBUILTIN;
}

int tank_recipe_find(const char *name, struct tank_recipe *out)
{
    if (!name)
        return HUB_EINVAL;
    for (size_t i = 0; i < NBUILTIN; i++)
        if (strcmp(name, builtin[i].name) == 0) {
            *out = builtin[i];
            return HUB_OK;
        }
    return HUB_EINVAL;
}

/* ---- parameters -------------------------------------------------------- */

void tank_params_defaults(struct tank_params *p)
{
    p->step_min_l = 3.0;
    p->step_min_pct = 1.0;
    p->step_window_min = 30.0;
    p->step_persist_min = 15.0;
    p->step_smooth_min = 5.0;
    p->max_fill_rate_l_min = 20.0;
    p->rate_persist_samples = 3;
    p->blind_zone_cm = 25.0;
    p->range_margin_cm = 10.0;
    p->fill_quiet_min = 30.0;
    p->empty_pct = 5.0;
    p->new_batch_fill_pct = 50.0;
    p->ph_flat_slope_per_day = 0.05;
    p->ph_flat_hold_h = 72.0;
    p->ph_slope_window_h = 48.0;
    p->ec_stable_pct_per_day = 2.0;
    p->ec_window_h = 72.0;
    p->ec_required = 0;
    p->ec_alpha = 0.019;
    p->spoil_margin_ph = 0.5;
    p->spoil_hold_h = 24.0;
    p->spoil_em_ph = 3.9;
    p->spoil_em_hold_h = 6.0;
    p->drift_window_h = 72.0;
}

static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

#define R(f, lo, hi, help) \
    { #f, offsetof(struct tank_params, f), 0, lo, hi, help }
#define RI(f, lo, hi, help) \
    { #f, offsetof(struct tank_params, f), 1, lo, hi, help }
static const struct tank_param_info param_table[] = {
    R(step_min_l, 0.01, 1e6, "minimum fill/draw step, litres (6.3)"),
    R(step_min_pct, 0.0, 50.0, "minimum fill/draw step, % of capacity (6.3)"),
    R(step_window_min, 1.0, 60.0, "a step's change happens within this many minutes"),
    R(step_persist_min, 1.0, 30.0, "a step's new level persists this many minutes"),
    R(step_smooth_min, 1.0, 15.0, "median window of the level for step detection, minutes"),
    R(max_fill_rate_l_min, 0.01, 1e6, "faster level changes are rejected unless they persist (6.5)"),
    RI(rate_persist_samples, 1, PEND_CAP, "samples a too-fast change must persist to be accepted"),
    R(blind_zone_cm, 0.0, 1000.0, "ultrasonic distances below this are rejected (6.5)"),
    R(range_margin_cm, 0.0, 1000.0, "distances beyond the sensor height + this are rejected"),
    R(fill_quiet_min, 1.0, 1440.0, "FILLING ends after the level is quiet this long"),
    R(empty_pct, 0.0, 50.0, "below this % of capacity the tank is empty"),
    R(new_batch_fill_pct, 1.0, 100.0, "a fill of this % of capacity after FILLING starts a new batch"),
    R(ph_flat_slope_per_day, 0.0, 10.0, "|pH slope| below this is flat"),
    R(ph_flat_hold_h, 0.0, 10000.0, "pH flat this long: ACIDIFYING -> STABILISING"),
    R(ph_slope_window_h, 2.0, 120.0, "regression window of ph_slope_per_day, hours"),
    R(ec_stable_pct_per_day, 0.0, 1000.0, "|EC slope| below this %/day is stable"),
    R(ec_window_h, 4.0, 120.0, "regression window of the EC slope, hours"),
    RI(ec_required, 0, 1, "1: READY needs EC data; 0: without EC data only the age counts"),
    R(ec_alpha, 0.0, 0.1, "EC temperature coefficient per degC (EC25)"),
    R(spoil_margin_ph, 0.0, 14.0, "pH this far above the batch minimum..."),
    R(spoil_hold_h, 0.0, 10000.0, "...for this many hours after STABILISING: SPOILED"),
    R(spoil_em_ph, 0.0, 14.0, "EM recipes at or above this pH after min_days..."),
    R(spoil_em_hold_h, 0.0, 10000.0, "...for this many hours: SPOILED"),
    R(drift_window_h, 2.0, 96.0, "window of net_drift_l_per_day, hours"),
};
#undef R
#undef RI

const struct tank_param_info *tank_param_table(size_t *n)
{
    *n = sizeof(param_table) / sizeof(param_table[0]);
    return param_table;
}

int tank_params_check(const struct tank_params *p, char *err, size_t errlen)
{
    if (!p)
        return geom_err(err, errlen, "no parameters");
    for (size_t i = 0; i < sizeof(param_table) / sizeof(param_table[0]); i++) {
        const struct tank_param_info *r = &param_table[i];
        const void *f = (const char *)p + r->offset;
        double v = r->is_int ? (double)*(const int *)f : *(const double *)f;

        if (!in_range(v, r->lo, r->hi)) {
            if (err && errlen)
                snprintf(err, errlen, "tank.%s must be within [%g, %g]",
                         r->key, r->lo, r->hi);
            return HUB_EINVAL;
        }
    }
    return HUB_OK;
}

/* ---- the tank ---------------------------------------------------------- */

struct mpt {            /* one 1-minute level point                       */
    int64_t ts;         /* minute start                                   */
    float lvl;          /* median of the minute's samples, cm             */
    float sm;           /* median of the points of the last smooth window */
    int suspect;        /* every sample of the minute was suspect         */
};

struct smp {
    int64_t ts;
    double v;
    int suspect;
};

struct bin {            /* a time bin for the regressions                 */
    int64_t key;        /* ts / width                                     */
    int32_t seg;        /* drift: segment between events                  */
    uint32_t n;
    double st, sv;      /* sums of (ts - key*width) in s, and of values    */
};

struct dbin {           /* litres drawn in one hour                       */
    int32_t hour;       /* ts / 1 h (fits: |ts| <= TS_LIMIT)              */
    float litres;
};

struct bins {
    size_t n, cap;
    int64_t width_ns;
};

/* What tank_save keeps. */
struct persist {
    enum tank_phase phase;
    char batch[64];
    int batch_active;
    int64_t batch_start_ns, phase_since_ns, now_ns;
    double batch_volume_l, harvestable_l, dispensed_l;
    double filled_total, drawn_total, op_fill_l, op_draw_l;
    unsigned nfill, ndraw, rejected;
    int have_level;
    double vol_manual;      /* volume from operator events (no level data) */
    double ph_min;
    int64_t flat_since, rise_since, em_since, last_cal_ns;
    int64_t last_move_ns;   /* last level movement (fill quiet)            */
    double last_lvl;        /* last minute level and its time: the step    */
    int64_t last_lvl_ts;    /* reference after a restart                   */
    int64_t last_ts[5];     /* per field, out-of-order filter              */
    struct tank_recipe recipe;
};

enum { F_DIST, F_LEVEL, F_PH, F_EC, F_TL };

struct tank {
    char id[64];
    struct tank_geom g;
    struct tank_params p;
    struct persist P;

    /* level pipeline */
    struct mpt mp[MPT_CAP];
    size_t mp_n, mp_head;               /* ring: oldest at mp_head        */
    float raw[RAW_CAP];
    size_t nraw;
    int64_t open_key;                   /* minute of the open bucket      */
    int open_all_suspect, open_any;
    int has_acc;
    double acc_lvl;
    int64_t acc_ts;
    struct smp pend[PEND_CAP];
    size_t npend;

    /* steps */
    int in_step;
    int step_started_batch;             /* this step opened FILLING       */
    double base_lvl, anchor;
    int64_t step_start, step_move, settle_ts, settle_decided;
    int32_t seg;

    /* pH, EC, temperature */
    struct smp ph[SMP_CAP], ec[SMP_CAP], tl[TL_CAP];
    size_t ph_n, ph_head, ec_n, ec_head, tl_n, tl_head;
    int64_t ph_clock;                   /* ts of the last non-suspect pH  */
    double last_tl;
    int64_t last_tl_ts;

    struct bin phb[PHB_CAP], ecb[ECB_CAP], drb[DRB_CAP];
    struct bins phb_i, ecb_i, drb_i;
    struct dbin dwb[DWB_CAP];           /* oldest first                   */
    size_t dwb_n;

    int64_t adopt_since;                /* EMPTY but holding liquid since */
    unsigned transitions, reported;
    int done_pending;
    struct tank_batch done;
};

/* ---- small helpers ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double step_thr(const struct tank *t)
{
    double pct = t->p.step_min_pct / 100.0 * tank_capacity_l(&t->g);

    return pct > t->p.step_min_l ? pct : t->p.step_min_l;
}

static double lit(const struct tank *t, double lvl)
{
    return tank_litres(&t->g, lvl);
}

static const struct mpt *mp_at(const struct tank *t, size_t i)
{
    return &t->mp[(t->mp_head + i) % MPT_CAP];
}

static struct mpt *mp_at_mut(struct tank *t, size_t i)
{
    return &t->mp[(t->mp_head + i) % MPT_CAP];
}

/* Median of the minute levels with lo <= ts <= hi. */
static double mp_median(const struct tank *t, int64_t lo, int64_t hi)
{
    double v[MPT_CAP];
    size_t n = 0;

    for (size_t i = 0; i < t->mp_n; i++) {
        const struct mpt *m = mp_at(t, i);

        if (m->ts >= lo && m->ts <= hi)
            v[n++] = m->lvl;
    }
    return median_of(v, n);
}

static void smp_push(struct smp *r, size_t cap, size_t *n, size_t *head,
                     int64_t ts, double v, int suspect)
{
    struct smp *s;

    if (*n < cap) {
        s = &r[(*head + *n) % cap];
        (*n)++;
    } else {
        s = &r[*head];
        *head = (*head + 1) % cap;
    }
    s->ts = ts;
    s->v = v;
    s->suspect = suspect;
}

/* Median of the samples with ts > since (only non-suspect if clean). */
static double smp_median(const struct smp *r, size_t cap, size_t n, size_t head,
                         int64_t since, int clean)
{
    double v[SMP_CAP];
    size_t k = 0;

    for (size_t i = 0; i < n && k < SMP_CAP; i++) {
        const struct smp *s = &r[(head + i) % cap];

        if (s->ts > since && !(clean && s->suspect))
            v[k++] = s->v;
    }
    return median_of(v, k);
}

static void bins_reset(struct bins *bi)
{
    bi->n = 0;
}

static void bins_add(struct bin *b, struct bins *bi, int64_t ts, int32_t seg,
                     double v)
{
    int64_t key = ts / bi->width_ns;
    struct bin *x;

    if (ts < 0 && ts % bi->width_ns)
        key--;
    if (bi->n && b[bi->n - 1].key == key && b[bi->n - 1].seg == seg) {
        x = &b[bi->n - 1];
    } else {
        if (bi->n && key < b[bi->n - 1].key)
            key = b[bi->n - 1].key;     /* never out of order */
        if (bi->n == bi->cap) {
            memmove(b, b + 1, (bi->cap - 1) * sizeof(*b));
            bi->n--;
        }
        x = &b[bi->n++];
        memset(x, 0, sizeof(*x));
        x->key = key;
        x->seg = seg;
    }
    x->n++;
    x->st += (double)(ts - key * bi->width_ns) / (double)SEC_NS;
    x->sv += v;
}

static void bins_remove(struct bin *b, struct bins *bi, int64_t ts, int32_t seg,
                        double v)
{
    int64_t key = ts / bi->width_ns;

    if (ts < 0 && ts % bi->width_ns)
        key--;
    for (size_t i = bi->n; i-- > 0;) {
        if (b[i].key == key && b[i].seg == seg && b[i].n > 0) {
            b[i].n--;
            b[i].st -= (double)(ts - key * bi->width_ns) / (double)SEC_NS;
            b[i].sv -= v;
            if (b[i].n == 0)
                b[i].st = b[i].sv = 0.0;
            return;
        }
        if (b[i].key < key)
            return;
    }
}

/* Weighted least-squares slope per day of the bins whose mean time is at or
 * after since_ns, pooled within segments. *span_d: summed time span of the
 * segments in days; *mean: weighted mean value. Returns 1 if a slope exists. */
static int bins_slope(const struct bin *b, const struct bins *bi,
                      int64_t since_ns, int64_t ref_ns, double *slope,
                      double *span_d, double *mean)
{
    double sxx = 0.0, sxy = 0.0, span = 0.0, tot_v = 0.0, tot_n = 0.0;
    size_t i = 0;

    while (i < bi->n) {
        size_t j = i;
        double sw = 0.0, sx = 0.0, sy = 0.0, xmin = INFINITY, xmax = -INFINITY;

        while (j < bi->n && b[j].seg == b[i].seg)
            j++;
        for (size_t k = i; k < j; k++) {
            double x, y, w = b[k].n;

            if (!b[k].n)
                continue;
            x = ((double)(b[k].key * bi->width_ns - ref_ns) / (double)SEC_NS +
                 b[k].st / w) / 86400.0;
            if (x * 86400.0 * (double)SEC_NS < (double)(since_ns - ref_ns))
                continue;
            y = b[k].sv / w;
            sw += w;
            sx += w * x;
            sy += w * y;
            if (x < xmin)
                xmin = x;
            if (x > xmax)
                xmax = x;
        }
        if (sw > 0.0) {
            double mx = sx / sw, my = sy / sw;

            for (size_t k = i; k < j; k++) {
                double x, y, w = b[k].n;

                if (!b[k].n)
                    continue;
                x = ((double)(b[k].key * bi->width_ns - ref_ns) / (double)SEC_NS +
                     b[k].st / w) / 86400.0;
                if (x * 86400.0 * (double)SEC_NS < (double)(since_ns - ref_ns))
                    continue;
                y = b[k].sv / w;
                sxx += w * (x - mx) * (x - mx);
                sxy += w * (x - mx) * (y - my);
            }
            span += xmax - xmin;
            tot_v += sy;
            tot_n += sw;
        }
        i = j;
    }
    *span_d = span;
    *mean = tot_n > 0.0 ? tot_v / tot_n : NAN;
    if (!(sxx > 0.0)) {
        *slope = NAN;
        return 0;
    }
    *slope = sxy / sxx;
    return 1;
}

/* ---- phases and batches ------------------------------------------------ */

static const char *const phase_names[TANK_NPHASES] = {
    "EMPTY", "FILLING", "ACIDIFYING", "STABILISING", "READY", "DISPENSING",
    "SPOILED"
};

const char *tank_phase_name(enum tank_phase p)
{
    if ((unsigned)p < TANK_NPHASES)
        return phase_names[p];
    return "?";
}

int tank_phase_parse(const char *name, enum tank_phase *out)
{
    if (!name)
        return HUB_EINVAL;
    for (int i = 0; i < TANK_NPHASES; i++)
        if (strcmp(name, phase_names[i]) == 0) {
            *out = (enum tank_phase)i;
            return HUB_OK;
        }
    return HUB_EINVAL;
}

static void set_phase(struct tank *t, enum tank_phase ph, int64_t ts)
{
    if (t->P.phase == ph)
        return;
    t->P.phase = ph;
    t->P.phase_since_ns = ts;
    t->transitions++;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static double settled_volume(const struct tank *t);

static void finish_batch(struct tank *t, int64_t ts)
{
    struct tank_batch *b = &t->done;
    struct persist *P = &t->P;

    if (!P->batch_active)
        return;
    memset(b, 0, sizeof(*b));
    copy_str(b->batch, sizeof(b->batch), P->batch);
    copy_str(b->recipe, sizeof(b->recipe), P->recipe.name);
    b->start_ns = P->batch_start_ns;
    b->end_ns = ts;
    b->batch_volume_l = P->batch_volume_l;
    b->harvestable_l = P->harvestable_l;
    b->litres_dispensed = P->dispensed_l;
    b->cycle_days = (double)(ts - P->batch_start_ns) / (double)DAY_NS;
    b->process_loss_l = P->batch_volume_l - P->harvestable_l;
    b->residue_l = settled_volume(t);
    b->spray_equivalent_l = P->dispensed_l * P->recipe.dilution;
    b->spoiled = P->phase == TANK_SPOILED;
    t->done_pending = 1;
    P->batch_active = 0;
}

static void auto_name(const struct tank *t, int64_t ts, char *out, size_t cap)
{
    time_t s = (time_t)(ts / SEC_NS);
    struct tm tm;
    char id[40];

    copy_str(id, sizeof(id), t->id);
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, cap, "%s", id);
        return;
    }
    {
        char name[96];

        snprintf(name, sizeof(name), "%s-%04d%02d%02d", id, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
        copy_str(out, cap, name);
    }
}

static void start_batch(struct tank *t, const char *name, int64_t ts)
{
    struct persist *P = &t->P;

    if (name && *name)
        copy_str(P->batch, sizeof(P->batch), name);
    else
        auto_name(t, ts, P->batch, sizeof(P->batch));
    P->batch_active = 1;
    P->batch_start_ns = ts;
    P->batch_volume_l = NAN;
    P->harvestable_l = NAN;
    P->dispensed_l = 0.0;
    P->ph_min = NAN;
    P->flat_since = P->rise_since = P->em_since = TS_NONE;
    bins_reset(&t->phb_i);
    bins_reset(&t->ecb_i);
    set_phase(t, TANK_FILLING, ts);
}

static void draw_add(struct tank *t, int64_t ts, double litres)
{
    int64_t h = ts / HOUR_NS;

    if (ts < 0 && ts % HOUR_NS)
        h--;
    if (t->dwb_n && t->dwb[t->dwb_n - 1].hour >= h) {
        t->dwb[t->dwb_n - 1].litres += (float)litres;
        return;
    }
    if (t->dwb_n == DWB_CAP) {
        memmove(t->dwb, t->dwb + 1, (DWB_CAP - 1) * sizeof(t->dwb[0]));
        t->dwb_n--;
    }
    t->dwb[t->dwb_n].hour = (int32_t)h;
    t->dwb[t->dwb_n].litres = (float)litres;
    t->dwb_n++;
}

/* A fill (dv > 0) or draw (dv < 0) of |dv| litres that started at ts. */
static void volume_event(struct tank *t, double dv, int64_t ts)
{
    struct persist *P = &t->P;
    double cap = tank_capacity_l(&t->g);

    if (dv > 0.0) {
        P->nfill++;
        P->filled_total += dv;
        if (P->phase == TANK_EMPTY) {
            start_batch(t, NULL, ts);
        } else if (P->phase != TANK_FILLING &&
                   dv >= t->p.new_batch_fill_pct / 100.0 * cap) {
            finish_batch(t, ts);
            start_batch(t, NULL, ts);
        }
    } else if (dv < 0.0) {
        P->ndraw++;
        P->drawn_total += -dv;
        draw_add(t, ts, -dv);
        if (P->phase == TANK_READY) {
            set_phase(t, TANK_DISPENSING, ts);
            P->dispensed_l += -dv;
        } else if (P->phase == TANK_DISPENSING) {
            P->dispensed_l += -dv;
        }
    }
}

/* ---- level pipeline ---------------------------------------------------- */

static void drift_point(struct tank *t, const struct mpt *m, int add)
{
    double v = lit(t, m->lvl);

    if (add)
        bins_add(t->drb, &t->drb_i, m->ts, t->seg, v);
    else
        bins_remove(t->drb, &t->drb_i, m->ts, t->seg, v);
}

static void step_settle(struct tank *t, int64_t now_ts)
{
    double plateau = mp_median(t, t->step_move, now_ts);
    double dv = lit(t, plateau) - lit(t, t->base_lvl);

    t->in_step = 0;
    t->settle_ts = t->step_move;
    t->settle_decided = now_ts;
    t->P.last_move_ns = t->step_move;
    for (size_t i = 0; i < t->mp_n; i++)
        if (mp_at(t, i)->ts >= t->step_move)
            drift_point(t, mp_at(t, i), 1);
    if (fabs(dv) >= step_thr(t)) {
        volume_event(t, dv, t->step_start);
    } else if (t->step_started_batch && t->P.phase == TANK_FILLING) {
        /* the rise that opened FILLING was no fill: back to EMPTY */
        t->P.batch_active = 0;
        t->P.batch[0] = '\0';
        set_phase(t, TANK_EMPTY, now_ts);
    }
    t->step_started_batch = 0;
}

/* The newest point (index mp_n - 1) was just added. */
static void step_detect(struct tank *t)
{
    const struct mpt *p = mp_at(t, t->mp_n - 1), *ref = NULL;
    int64_t persist = (int64_t)(t->p.step_persist_min * (double)MIN_NS);
    int64_t window = (int64_t)(t->p.step_window_min * (double)MIN_NS);
    double thr = step_thr(t);

    if (!t->in_step) {
        int64_t lo = p->ts - window, a, b;

        if (t->settle_ts != TS_NONE && t->settle_ts > lo)
            lo = t->settle_ts;
        for (size_t i = 0; i + 1 < t->mp_n; i++)
            if (mp_at(t, i)->ts >= lo) {
                ref = mp_at(t, i);
                break;
            }
        if (!ref && t->mp_n >= 2)
            ref = mp_at(t, t->mp_n - 2);    /* across a data gap */
        if (!ref || p->suspect || fabs(lit(t, p->sm) - lit(t, ref->sm)) < thr)
            return;
        /* the level before the change: the 2 x persist before ref, or the
         * plateau verified by the previous step's settling */
        a = ref->ts - 2 * persist;
        b = ref->ts;
        if (t->settle_ts != TS_NONE && t->settle_ts > a) {
            a = t->settle_ts;
            if (t->settle_decided > b)
                b = t->settle_decided;
        }
        t->base_lvl = mp_median(t, a, b);
        if (isnan(t->base_lvl))
            t->base_lvl = ref->sm;
        for (size_t i = 0; i + 1 < t->mp_n; i++)
            if (mp_at(t, i)->ts > ref->ts)
                drift_point(t, mp_at(t, i), 0);
        t->seg++;
        t->in_step = 1;
        t->step_start = p->ts;
        t->step_move = p->ts;
        t->anchor = p->sm;
        t->P.last_move_ns = p->ts;
        /* a rising level in an empty tank: FILLING starts now, the fill
         * event is counted when the level settles */
        if (t->P.phase == TANK_EMPTY && p->sm > t->base_lvl) {
            start_batch(t, NULL, p->ts);
            t->step_started_batch = 1;
        }
        return;
    }
    if (fabs(lit(t, p->sm) - lit(t, t->anchor)) > thr / 2.0) {
        t->anchor = p->sm;
        t->step_move = p->ts;
        t->P.last_move_ns = p->ts;
    }
    if (p->ts - t->step_move >= persist || p->ts - t->step_start >= STEP_MAX_NS)
        step_settle(t, p->ts);
}

static void mp_push(struct tank *t, int64_t ts, double lvl, int suspect)
{
    struct mpt *m;
    int64_t smooth = (int64_t)(t->p.step_smooth_min * (double)MIN_NS);
    double v[MPT_CAP];
    size_t n = 0;

    if (t->mp_n < MPT_CAP) {
        m = mp_at_mut(t, t->mp_n);
        t->mp_n++;
    } else {
        m = &t->mp[t->mp_head];
        t->mp_head = (t->mp_head + 1) % MPT_CAP;
    }
    m->ts = ts;
    m->lvl = (float)lvl;
    m->suspect = suspect;
    for (size_t i = 0; i < t->mp_n; i++) {
        const struct mpt *q = mp_at(t, i);

        if (q->ts > ts - smooth && q->ts <= ts)
            v[n++] = q->lvl;
    }
    m->sm = (float)median_of(v, n);
}

static void minute_close(struct tank *t)
{
    double v[RAW_CAP];
    int was;

    if (!t->open_any)
        return;
    for (size_t i = 0; i < t->nraw; i++)
        v[i] = t->raw[i];
    mp_push(t, t->open_key * MIN_NS, median_of(v, t->nraw), t->open_all_suspect);
    t->open_any = 0;
    t->nraw = 0;
    t->P.last_lvl = mp_at(t, t->mp_n - 1)->lvl;
    t->P.last_lvl_ts = mp_at(t, t->mp_n - 1)->ts;
    was = t->in_step;
    step_detect(t);
    if (!was && !t->in_step)
        drift_point(t, mp_at(t, t->mp_n - 1), 1);
}

static int64_t minute_key(int64_t ts)
{
    int64_t k = ts / MIN_NS;

    if (ts < 0 && ts % MIN_NS)
        k--;
    return k;
}

static void level_accept(struct tank *t, double lvl, int64_t ts, int suspect)
{
    int64_t key = minute_key(ts);

    t->has_acc = 1;
    t->acc_lvl = lvl;
    t->acc_ts = ts;
    t->P.have_level = 1;
    if (t->open_any && key > t->open_key)
        minute_close(t);
    if (t->mp_n && key <= minute_key(mp_at(t, t->mp_n - 1)->ts))
        return;                         /* its minute is already closed */
    if (!t->open_any) {
        t->open_any = 1;
        t->open_key = key;
        t->open_all_suspect = 1;
        t->nraw = 0;
    }
    if (t->nraw < RAW_CAP)
        t->raw[t->nraw++] = (float)lvl;
    if (!suspect)
        t->open_all_suspect = 0;
}

static double rate_allow(const struct tank *t, int64_t dt_ns)
{
    return t->p.max_fill_rate_l_min * (double)dt_ns / (double)MIN_NS +
           step_thr(t);
}

static void level_sample(struct tank *t, double lvl, int64_t ts, int suspect)
{
    double v = lit(t, lvl);

    if (lvl > t->g.sensor_height_cm - t->p.blind_zone_cm ||
        lvl < -t->p.range_margin_cm) {
        t->P.rejected++;
        return;
    }
    if (!t->has_acc ||
        fabs(v - lit(t, t->acc_lvl)) <= rate_allow(t, ts - t->acc_ts)) {
        t->P.rejected += (unsigned)t->npend;
        t->npend = 0;
        level_accept(t, lvl, ts, suspect);
        return;
    }
    if (t->npend && fabs(v - lit(t, t->pend[t->npend - 1].v)) <=
                    rate_allow(t, ts - t->pend[t->npend - 1].ts)) {
        t->pend[t->npend].ts = ts;
        t->pend[t->npend].v = lvl;
        t->pend[t->npend].suspect = suspect;
        t->npend++;
    } else {
        t->P.rejected += (unsigned)t->npend;
        t->pend[0].ts = ts;
        t->pend[0].v = lvl;
        t->pend[0].suspect = suspect;
        t->npend = 1;
    }
    if (t->npend >= (size_t)t->p.rate_persist_samples) {
        for (size_t i = 0; i < t->npend; i++)
            level_accept(t, t->pend[i].v, t->pend[i].ts, t->pend[i].suspect);
        t->npend = 0;
    }
}

/* ---- pH, EC ------------------------------------------------------------ */

static double ph_clean(const struct tank *t)
{
    if (t->ph_clock == TS_NONE)
        return NAN;
    return smp_median(t->ph, SMP_CAP, t->ph_n, t->ph_head,
                      t->ph_clock - HOUR_NS, 1);
}

static double age_days(const struct tank *t, int64_t now)
{
    if (!t->P.batch_active)
        return NAN;
    return (double)(now - t->P.batch_start_ns) / (double)DAY_NS;
}

static int ph_slope(const struct tank *t, double *slope)
{
    double span, mean;
    int64_t w = (int64_t)(t->p.ph_slope_window_h * (double)HOUR_NS);

    if (t->ph_clock == TS_NONE ||
        !bins_slope(t->phb, &t->phb_i, t->ph_clock - w, t->ph_clock, slope,
                    &span, &mean)) {
        *slope = NAN;
        return 0;
    }
    if (span * (double)DAY_NS < 0.5 * (double)w) {
        *slope = NAN;       /* not enough history for a slope */
        return 0;
    }
    return 1;
}

/* A non-suspect pH reading arrived: update the batch minimum and the hold
 * timers of the transitions, on the pH clock. */
static void ph_update(struct tank *t)
{
    struct persist *P = &t->P;
    double ph = ph_clean(t), slope, age;
    int64_t now = t->ph_clock;

    if (isnan(ph) || !P->batch_active || P->phase == TANK_EMPTY ||
        P->phase == TANK_FILLING)
        return;
    if (isnan(P->ph_min) || ph < P->ph_min)
        P->ph_min = ph;
    if (ph_slope(t, &slope)) {
        if (fabs(slope) < t->p.ph_flat_slope_per_day) {
            if (P->flat_since == TS_NONE)
                P->flat_since = now;
        } else {
            P->flat_since = TS_NONE;
        }
    }
    if ((P->phase == TANK_STABILISING || P->phase == TANK_READY ||
         P->phase == TANK_DISPENSING) && ph - P->ph_min > t->p.spoil_margin_ph) {
        if (P->rise_since == TS_NONE)
            P->rise_since = now;
    } else {
        P->rise_since = TS_NONE;
    }
    age = age_days(t, now);
    if (P->recipe.em_type && age >= P->recipe.min_days &&
        ph >= t->p.spoil_em_ph) {
        if (P->em_since == TS_NONE)
            P->em_since = now;
    } else {
        P->em_since = TS_NONE;
    }
}

static double ec_current(const struct tank *t)
{
    int64_t last = TS_NONE;

    for (size_t i = 0; i < t->ec_n; i++) {
        const struct smp *s = &t->ec[(t->ec_head + i) % SMP_CAP];

        if (s->ts > last)
            last = s->ts;
    }
    if (last == TS_NONE)
        return NAN;
    return smp_median(t->ec, SMP_CAP, t->ec_n, t->ec_head, last - HOUR_NS, 0);
}

/* EC slope in %/day over ec_window_h; returns 1 when enough history. */
static int ec_slope_pct(const struct tank *t, int64_t now, double *pct)
{
    double slope, span, mean;
    int64_t w = (int64_t)(t->p.ec_window_h * (double)HOUR_NS);

    *pct = NAN;
    if (!bins_slope(t->ecb, &t->ecb_i, now - w, now, &slope, &span, &mean))
        return 0;
    if (!(mean > 0.0) || span * (double)DAY_NS < (2.0 / 3.0) * (double)w)
        return 0;
    *pct = slope / mean * 100.0;
    return 1;
}

static int ec_stable(const struct tank *t, int64_t now)
{
    double pct;
    int64_t w = (int64_t)(t->p.ec_window_h * (double)HOUR_NS);
    int recent = t->ecb_i.n &&
                 (t->ecb[t->ecb_i.n - 1].key + 1) * t->ecb_i.width_ns > now - w;

    if (!recent)
        return !t->p.ec_required;
    return ec_slope_pct(t, now, &pct) && fabs(pct) < t->p.ec_stable_pct_per_day;
}

/* ---- public API -------------------------------------------------------- */

static void runtime_reset(struct tank *t)
{
    t->mp_n = t->mp_head = 0;
    t->nraw = 0;
    t->open_any = 0;
    t->has_acc = 0;
    t->npend = 0;
    t->in_step = 0;
    t->step_started_batch = 0;
    t->settle_ts = t->settle_decided = TS_NONE;
    t->adopt_since = TS_NONE;
    t->ph_n = t->ph_head = t->ec_n = t->ec_head = t->tl_n = t->tl_head = 0;
    t->ph_clock = TS_NONE;
    t->last_tl = NAN;
    t->last_tl_ts = TS_NONE;
    t->phb_i = (struct bins){ 0, PHB_CAP, 2 * HOUR_NS };
    t->ecb_i = (struct bins){ 0, ECB_CAP, 2 * HOUR_NS };
    t->drb_i = (struct bins){ 0, DRB_CAP, 2 * HOUR_NS };
    t->dwb_n = 0;
    t->done_pending = 0;
}

static void persist_init(struct persist *P, const struct tank_recipe *r)
{
    memset(P, 0, sizeof(*P));
    P->phase = TANK_EMPTY;
    P->batch_volume_l = P->harvestable_l = NAN;
    P->vol_manual = 0.0;
    P->ph_min = NAN;
    P->flat_since = P->rise_since = P->em_since = P->last_cal_ns = TS_NONE;
    P->last_move_ns = TS_NONE;
    P->last_lvl = NAN;
    P->last_lvl_ts = TS_NONE;
    P->batch_start_ns = P->phase_since_ns = P->now_ns = 0;
    for (int i = 0; i < 5; i++)
        P->last_ts[i] = TS_NONE;
    if (r) {
        P->recipe = *r;
        P->recipe.name[TANK_RECIPE_NAME - 1] = '\0';
    } else {
        tank_recipe_default(&P->recipe);
    }
}

struct tank *tank_new(const char *id, const struct tank_geom *g,
                      const struct tank_params *p,
                      const struct tank_recipe *recipe)
{
    struct tank *t;

    if (!g || !p)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    copy_str(t->id, sizeof(t->id), id ? id : "");
    t->g = *g;
    t->p = *p;
    persist_init(&t->P, recipe);
    runtime_reset(t);
    return t;
}

void tank_free(struct tank *t)
{
    free(t);
}

void tank_set_config(struct tank *t, const struct tank_geom *g,
                     const struct tank_params *p)
{
    if (g) {
        if (memcmp(&t->g, g, sizeof(*g)) != 0)
            bins_reset(&t->drb_i);
        t->g = *g;
    }
    if (p)
        t->p = *p;
    if (t->npend > (size_t)t->p.rate_persist_samples)
        t->npend = 0;
}

void tank_set_recipe(struct tank *t, const struct tank_recipe *r)
{
    if (r) {
        t->P.recipe = *r;
        t->P.recipe.name[TANK_RECIPE_NAME - 1] = '\0';
    } else {
        tank_recipe_default(&t->P.recipe);
    }
}

static int ts_ok(int64_t ts)
{
    return ts >= -TS_LIMIT && ts <= TS_LIMIT;
}

static int field_index(const char *field)
{
    static const char *const names[] = {
        "distance_cm", "level_cm", "ph", "ec_ms_cm", "temp_liquid_c"
    };

    for (int i = 0; i < 5; i++)
        if (strcmp(field, names[i]) == 0)
            return i;
    return -1;
}

void tank_on_reading(struct tank *t, const char *field, double value,
                     int64_t ts_ns, int suspect)
{
    int f;

    if (!t || !field || !isfinite(value) || !ts_ok(ts_ns))
        return;
    f = field_index(field);
    if (f < 0)
        return;
    if (t->P.last_ts[f] != TS_NONE && ts_ns <= t->P.last_ts[f])
        return;
    t->P.last_ts[f] = ts_ns;
    suspect = suspect != 0;
    switch (f) {
    case F_DIST:
        if (value < t->p.blind_zone_cm ||
            value > t->g.sensor_height_cm + t->p.range_margin_cm) {
            t->P.rejected++;
            return;
        }
        level_sample(t, tank_level_from_distance(&t->g, value), ts_ns, suspect);
        break;
    case F_LEVEL:
        level_sample(t, value, ts_ns, suspect);
        break;
    case F_PH:
        smp_push(t->ph, SMP_CAP, &t->ph_n, &t->ph_head, ts_ns, value, suspect);
        if (!suspect) {
            t->ph_clock = ts_ns;
            bins_add(t->phb, &t->phb_i, ts_ns, 0, value);
            ph_update(t);
        }
        break;
    case F_EC: {
        double ec25 = value;

        if (t->last_tl_ts != TS_NONE && ts_ns - t->last_tl_ts <= HOUR_NS &&
            ts_ns >= t->last_tl_ts - HOUR_NS)
            ec25 = value / (1.0 + t->p.ec_alpha * (t->last_tl - 25.0));
        smp_push(t->ec, SMP_CAP, &t->ec_n, &t->ec_head, ts_ns, ec25, suspect);
        if (!suspect)
            bins_add(t->ecb, &t->ecb_i, ts_ns, 0, ec25);
        break;
    }
    case F_TL:
        smp_push(t->tl, TL_CAP, &t->tl_n, &t->tl_head, ts_ns, value, suspect);
        t->last_tl = value;
        t->last_tl_ts = ts_ns;
        break;
    }
}

int tank_on_event(struct tank *t, const char *event, const char *batch,
                  double litres, int64_t ts_ns)
{
    struct persist *P;

    if (!t || !event || !ts_ok(ts_ns))
        return 0;
    P = &t->P;
    if (ts_ns > P->now_ns)
        P->now_ns = ts_ns;
    if (strcmp(event, "batch_start") == 0) {
        int rename = P->batch_active &&
                     (P->phase == TANK_FILLING ||
                      (P->phase == TANK_ACIDIFYING &&
                       ts_ns - P->batch_start_ns < RENAME_NS));

        t->step_started_batch = 0;      /* the operator confirms it */
        if (rename) {
            if (batch && *batch)
                copy_str(P->batch, sizeof(P->batch), batch);
            return 1;
        }
        finish_batch(t, ts_ns);
        start_batch(t, batch, ts_ns);
        return 1;
    }
    if (strcmp(event, "recipe") == 0)
        return 1;
    if (strcmp(event, "calibrate") == 0) {
        P->last_cal_ns = ts_ns;
        return 1;
    }
    if (strcmp(event, "fill") == 0 || strcmp(event, "draw") == 0) {
        int fill = event[0] == 'f';

        if (!isfinite(litres) || litres < 0.0 || litres > 1e7)
            return 0;
        if (fill)
            P->op_fill_l += litres;
        else
            P->op_draw_l += litres;
        if (!P->have_level && litres > 0.0) {
            double cap = tank_capacity_l(&t->g);

            P->vol_manual += fill ? litres : -litres;
            if (P->vol_manual < 0.0)
                P->vol_manual = 0.0;
            if (P->vol_manual > cap)
                P->vol_manual = cap;
            P->last_move_ns = ts_ns;
            volume_event(t, fill ? litres : -litres, ts_ns);
        }
        return 1;
    }
    return 0;
}

/* The settled volume: 15-minute median of the minute levels, or the
 * operator-event volume without level data. */
static double settled_volume(const struct tank *t)
{
    if (!t->P.have_level)
        return t->P.vol_manual;
    if (!t->mp_n)
        return NAN;
    {
        int64_t last = mp_at(t, t->mp_n - 1)->ts;

        return lit(t, mp_median(t, last - 15 * MIN_NS + 1, last));
    }
}

static int machine_step(struct tank *t, int64_t now)
{
    struct persist *P = &t->P;
    enum tank_phase before = P->phase;
    double vol = settled_volume(t);
    double empty = t->p.empty_pct / 100.0 * tank_capacity_l(&t->g);
    int64_t clock = now, ph_clock = t->ph_clock;

    if (P->have_level && t->mp_n)
        clock = mp_at(t, t->mp_n - 1)->ts;
    if (P->phase == TANK_EMPTY) {
        /* a tank found holding liquid without a detected fill (the hub
         * started on a full tank): adopt it as a batch once it has been
         * quiet for fill_quiet_min */
        if (P->have_level && !t->in_step &&
            vol >= t->p.new_batch_fill_pct / 100.0 * tank_capacity_l(&t->g)) {
            if (t->adopt_since == TS_NONE)
                t->adopt_since = clock;
            else if (clock - t->adopt_since >=
                     (int64_t)(t->p.fill_quiet_min * (double)MIN_NS))
                start_batch(t, NULL, t->adopt_since);
        } else {
            t->adopt_since = TS_NONE;
        }
        return P->phase != before;
    }
    if (P->phase == TANK_FILLING) {
        int64_t since = P->phase_since_ns;

        if (P->last_move_ns != TS_NONE && P->last_move_ns > since)
            since = P->last_move_ns;
        if (!t->in_step && vol >= empty && clock - since >=
            (int64_t)(t->p.fill_quiet_min * (double)MIN_NS)) {
            P->batch_volume_l = vol;
            set_phase(t, TANK_ACIDIFYING, now);
        }
        return P->phase != before;
    }
    if (!t->in_step && vol < empty) {
        finish_batch(t, now);
        set_phase(t, TANK_EMPTY, now);
        return 1;
    }
    if (P->phase == TANK_SPOILED)
        return 0;
    if (ph_clock != TS_NONE &&
        ((P->rise_since != TS_NONE &&
          ph_clock - P->rise_since >= (int64_t)(t->p.spoil_hold_h * (double)HOUR_NS)) ||
         (P->em_since != TS_NONE &&
          ph_clock - P->em_since >= (int64_t)(t->p.spoil_em_hold_h * (double)HOUR_NS)))) {
        set_phase(t, TANK_SPOILED, now);
        return 1;
    }
    if (P->phase == TANK_ACIDIFYING) {
        double ph = ph_clean(t);

        if ((!isnan(ph) && ph <= P->recipe.ph_target) ||
            (ph_clock != TS_NONE && P->flat_since != TS_NONE &&
             ph_clock - P->flat_since >=
             (int64_t)(t->p.ph_flat_hold_h * (double)HOUR_NS)))
            set_phase(t, TANK_STABILISING, now);
    } else if (P->phase == TANK_STABILISING) {
        if (age_days(t, now) >= P->recipe.min_days && ec_stable(t, now)) {
            P->harvestable_l = vol;
            set_phase(t, TANK_READY, now);
        }
    }
    return P->phase != before;
}

int tank_advance(struct tank *t, int64_t now_ns)
{
    int changed;

    if (!t || !ts_ok(now_ns))
        return 0;
    if (now_ns > t->P.now_ns)
        t->P.now_ns = now_ns;
    if (t->open_any && now_ns >= (t->open_key + 1) * MIN_NS)
        minute_close(t);
    for (int i = 0; i < TANK_NPHASES; i++)
        if (!machine_step(t, t->P.now_ns))
            break;
    changed = t->transitions != t->reported;
    t->reported = t->transitions;
    return changed;
}

int tank_take_batch(struct tank *t, struct tank_batch *b)
{
    if (!t || !t->done_pending)
        return 0;
    *b = t->done;
    t->done_pending = 0;
    return 1;
}

static double draws_since(const struct tank *t, int64_t since)
{
    double s = 0.0;

    for (size_t i = 0; i < t->dwb_n; i++)
        if (((int64_t)t->dwb[i].hour + 1) * HOUR_NS > since)
            s += t->dwb[i].litres;
    return s;
}

void tank_get(const struct tank *t, struct tank_metrics *m)
{
    const struct persist *P = &t->P;
    int64_t now = P->now_ns;
    double slope, span, mean;

    memset(m, 0, sizeof(*m));
    m->phase = P->phase;
    copy_str(m->batch, sizeof(m->batch), P->batch_active ? P->batch : "");
    copy_str(m->recipe, sizeof(m->recipe), P->recipe.name);
    m->capacity_l = tank_capacity_l(&t->g);
    if (t->mp_n) {
        m->level_cm = mp_at(t, t->mp_n - 1)->lvl;
        m->volume_l = lit(t, m->level_cm);
    } else {
        m->level_cm = NAN;
        m->volume_l = P->have_level ? NAN : P->vol_manual;
    }
    m->volume_l_smoothed = settled_volume(t);
    m->fill_pct = m->volume_l / m->capacity_l * 100.0;
    m->litres_filled_total = P->filled_total;
    m->litres_drawn_total = P->drawn_total;
    m->draw_l_per_day = draws_since(t, now - DAY_NS);
    m->draw_l_per_day_7d = draws_since(t, now - 7 * DAY_NS) / 7.0;
    m->net_drift_l_per_day = NAN;
    if (t->mp_n) {
        int64_t last = mp_at(t, t->mp_n - 1)->ts;
        int64_t w = (int64_t)(t->p.drift_window_h * (double)HOUR_NS);

        if (bins_slope(t->drb, &t->drb_i, last - w, last, &slope, &span, &mean) &&
            span >= 0.25)
            m->net_drift_l_per_day = slope;
    }
    m->fill_events = P->nfill;
    m->draw_events = P->ndraw;
    m->rejected_samples = P->rejected;
    m->operator_fill_l = P->op_fill_l;
    m->operator_draw_l = P->op_draw_l;
    {
        int64_t last = TS_NONE;

        for (size_t i = 0; i < t->ph_n; i++)
            if (t->ph[(t->ph_head + i) % SMP_CAP].ts > last)
                last = t->ph[(t->ph_head + i) % SMP_CAP].ts;
        m->ph = last == TS_NONE ? NAN :
                smp_median(t->ph, SMP_CAP, t->ph_n, t->ph_head, last - HOUR_NS, 0);
    }
    m->ph_min_batch = P->ph_min;
    ph_slope(t, &m->ph_slope_per_day);
    m->ec25_ms_cm = ec_current(t);
    ec_slope_pct(t, now, &m->ec_slope_pct_per_day);
    m->t_liquid_c = NAN;
    if (t->tl_n) {
        double s = 0.0;
        size_t n = 0;

        for (size_t i = 0; i < t->tl_n; i++) {
            const struct smp *x = &t->tl[(t->tl_head + i) % TL_CAP];

            if (x->ts > t->last_tl_ts - 15 * MIN_NS) {
                s += x->v;
                n++;
            }
        }
        m->t_liquid_c = n ? s / (double)n : NAN;
    }
    m->batch_age_d = age_days(t, now);
    m->phase_age_d = (double)(now - P->phase_since_ns) / (double)DAY_NS;
    m->days_since_calibration = P->last_cal_ns == TS_NONE ? NAN :
        (double)(now - P->last_cal_ns) / (double)DAY_NS;
    m->batch_volume_l = P->batch_volume_l;
    m->harvestable_l = P->harvestable_l;
    m->litres_dispensed = P->dispensed_l;
    if (isnan(m->ph))
        m->ph_in_spec = -1;
    else
        m->ph_in_spec = m->ph >= P->recipe.spec_ph_min &&
                        m->ph <= P->recipe.spec_ph_max;
    m->fermentation_done = P->phase == TANK_READY || P->phase == TANK_DISPENSING;
    m->in_step = t->in_step;
}

/* ---- save / load ------------------------------------------------------- */

enum ftype { T_I64, T_DBL, T_NNDBL, T_UINT, T_BOOL, T_PHASE, T_STR64,
             T_STR32 };

static const struct field {
    const char *key;
    enum ftype type;
    size_t off;
} fields[] = {
#define F(k, t, m) { k, t, offsetof(struct persist, m) }
    F("ph", T_PHASE, phase),
    F("b", T_STR64, batch),
    F("ba", T_BOOL, batch_active),
    F("bs", T_I64, batch_start_ns),
    F("ps", T_I64, phase_since_ns),
    F("now", T_I64, now_ns),
    F("bv", T_DBL, batch_volume_l),
    F("bh", T_DBL, harvestable_l),
    F("bd", T_NNDBL, dispensed_l),
    F("ft", T_NNDBL, filled_total),
    F("dt", T_NNDBL, drawn_total),
    F("of", T_NNDBL, op_fill_l),
    F("od", T_NNDBL, op_draw_l),
    F("nf", T_UINT, nfill),
    F("nd", T_UINT, ndraw),
    F("rj", T_UINT, rejected),
    F("hl", T_BOOL, have_level),
    F("vm", T_NNDBL, vol_manual),
    F("pm", T_DBL, ph_min),
    F("fs", T_I64, flat_since),
    F("rs", T_I64, rise_since),
    F("es", T_I64, em_since),
    F("lc", T_I64, last_cal_ns),
    F("lm", T_I64, last_move_ns),
    F("ll", T_DBL, last_lvl),
    F("lt", T_I64, last_lvl_ts),
    F("t0", T_I64, last_ts[0]),
    F("t1", T_I64, last_ts[1]),
    F("t2", T_I64, last_ts[2]),
    F("t3", T_I64, last_ts[3]),
    F("t4", T_I64, last_ts[4]),
    F("rn", T_STR32, recipe.name),
    F("rt", T_DBL, recipe.ph_target),
    F("rd", T_DBL, recipe.min_days),
    F("rl", T_DBL, recipe.spec_ph_min),
    F("rh", T_DBL, recipe.spec_ph_max),
    F("rx", T_DBL, recipe.dilution),
    F("re", T_BOOL, recipe.em_type),
#undef F
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int enc_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '%' && c != '=';
}

static size_t enc_str(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (enc_char_ok(c)) {
            if (n + 1 < cap)
                out[n] = (char)c;
            n++;
        } else {
            if (n + 3 < cap) {
                out[n] = '%';
                out[n + 1] = hex[c >> 4];
                out[n + 2] = hex[c & 15];
            }
            n += 3;
        }
    }
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int dec_str(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return HUB_EINVAL;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return HUB_EINVAL;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (!enc_char_ok(c)) {
            return HUB_EINVAL;
        }
        if (n + 1 >= cap)
            return HUB_EINVAL;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return HUB_OK;
}

int tank_save(const struct tank *t, char *buf, size_t len)
{
    char tmp[TANK_STATE_MAX];
    size_t n = 0;

    if (!t || !buf)
        return HUB_EINVAL;
    n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "v=1");
    for (size_t i = 0; i < NFIELDS && n < sizeof(tmp); i++) {
        const char *p = (const char *)&t->P + fields[i].off;
        char val[256];

        switch (fields[i].type) {
        case T_I64:
            snprintf(val, sizeof(val), "%lld", (long long)*(const int64_t *)(const void *)p);
            break;
        case T_DBL:
        case T_NNDBL: {
            double d = *(const double *)(const void *)p;

            if (isnan(d))
                snprintf(val, sizeof(val), "nan");
            else
                snprintf(val, sizeof(val), "%.17g", d);
            break;
        }
        case T_UINT:
            snprintf(val, sizeof(val), "%u", *(const unsigned *)(const void *)p);
            break;
        case T_BOOL:
            snprintf(val, sizeof(val), "%d", *(const int *)(const void *)p ? 1 : 0);
            break;
        case T_PHASE:
            snprintf(val, sizeof(val), "%s",
                     tank_phase_name(*(const enum tank_phase *)(const void *)p));
            break;
        case T_STR64:
        case T_STR32:
            enc_str(val, sizeof(val), p);
            break;
        }
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, " %s=%s", fields[i].key, val);
    }
    if (n >= sizeof(tmp) || n + 1 > len)
        return HUB_ENOMEM;
    memcpy(buf, tmp, n + 1);
    return HUB_OK;
}

static int parse_value(const struct field *f, const char *v, size_t vlen,
                       struct persist *P)
{
    char num[64], *end;
    char *p = (char *)P + f->off;

    if (f->type == T_STR64)
        return dec_str(v, vlen, p, 64);
    if (f->type == T_STR32)
        return dec_str(v, vlen, p, TANK_RECIPE_NAME);
    if (vlen == 0 || vlen >= sizeof(num))
        return HUB_EINVAL;
    memcpy(num, v, vlen);
    num[vlen] = '\0';
    switch (f->type) {
    case T_I64: {
        long long x;

        if (!((num[0] >= '0' && num[0] <= '9') || num[0] == '-'))
            return HUB_EINVAL;
        x = strtoll(num, &end, 10);
        if (*end || end == num)
            return HUB_EINVAL;
        if (x != TS_NONE && (x < -TS_LIMIT || x > TS_LIMIT))
            return HUB_EINVAL;
        *(int64_t *)(void *)p = (int64_t)x;
        return HUB_OK;
    }
    case T_DBL:
    case T_NNDBL: {
        double d;

        if (strcmp(num, "nan") == 0) {
            if (f->type == T_NNDBL)
                return HUB_EINVAL;
            *(double *)(void *)p = NAN;
            return HUB_OK;
        }
        if (!((num[0] >= '0' && num[0] <= '9') || num[0] == '-'))
            return HUB_EINVAL;
        d = strtod(num, &end);
        if (*end || end == num || !isfinite(d) || fabs(d) > 1e15)
            return HUB_EINVAL;
        if (f->type == T_NNDBL && d < 0.0)
            return HUB_EINVAL;
        *(double *)(void *)p = d;
        return HUB_OK;
    }
    case T_UINT: {
        unsigned long x;

        if (!(num[0] >= '0' && num[0] <= '9'))
            return HUB_EINVAL;
        x = strtoul(num, &end, 10);
        if (*end || x > 0xffffffffUL)
            return HUB_EINVAL;
        *(unsigned *)(void *)p = (unsigned)x;
        return HUB_OK;
    }
    case T_BOOL:
        if (strcmp(num, "0") && strcmp(num, "1"))
            return HUB_EINVAL;
        *(int *)(void *)p = num[0] == '1';
        return HUB_OK;
    case T_PHASE:
        return tank_phase_parse(num, (enum tank_phase *)(void *)p);
    default:
        return HUB_EINVAL;
    }
}

int tank_load(struct tank *t, const char *text)
{
    struct persist P;
    uint64_t seen = 0;
    const char *s = text;
    int version = 0;

    if (!t || !text || strlen(text) >= TANK_STATE_MAX)
        return HUB_EINVAL;
    persist_init(&P, NULL);
    while (*s) {
        const char *tok = s, *eq, *tend;
        size_t klen;

        while (*s && *s != ' ')
            s++;
        tend = s;
        if (*s == ' ') {
            s++;
            if (!*s || *s == ' ')
                return HUB_EINVAL;      /* one space between tokens */
        }
        eq = memchr(tok, '=', (size_t)(tend - tok));
        if (!eq)
            return HUB_EINVAL;
        klen = (size_t)(eq - tok);
        if (klen == 1 && tok[0] == 'v') {
            if (version || tend - eq != 2 || eq[1] != '1')
                return HUB_EINVAL;
            version = 1;
            continue;
        }
        {
            size_t i;

            for (i = 0; i < NFIELDS; i++)
                if (strlen(fields[i].key) == klen &&
                    memcmp(fields[i].key, tok, klen) == 0)
                    break;
            if (i == NFIELDS || (seen & (1ULL << i)))
                return HUB_EINVAL;
            if (parse_value(&fields[i], eq + 1, (size_t)(tend - eq - 1), &P) != HUB_OK)
                return HUB_EINVAL;
            seen |= 1ULL << i;
        }
    }
    if (!version || seen != (NFIELDS == 64 ? ~0ULL : (1ULL << NFIELDS) - 1))
        return HUB_EINVAL;
    if (P.batch_active && !P.batch[0])
        return HUB_EINVAL;
    if (!isfinite(P.recipe.ph_target) || !isfinite(P.recipe.min_days) ||
        !isfinite(P.recipe.spec_ph_min) || !isfinite(P.recipe.spec_ph_max) ||
        !isfinite(P.recipe.dilution))
        return HUB_EINVAL;
    t->P = P;
    runtime_reset(t);
    if (!isnan(P.last_lvl) && P.last_lvl_ts != TS_NONE && P.have_level) {
        /* the last level before the restart: a step across the restart is
         * measured against it */
        mp_push(t, P.last_lvl_ts, P.last_lvl, 0);
        t->has_acc = 1;
        t->acc_lvl = P.last_lvl;
        t->acc_ts = P.last_lvl_ts;
    }
    t->reported = t->transitions;
    return HUB_OK;
}
