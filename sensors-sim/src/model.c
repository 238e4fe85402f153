/* SPDX-License-Identifier: MIT */
/* model.c - plausible sensor values (see model.h). Pure. */
#include "model.h"

#include <math.h>
#include <stdlib.h>

#define DAY_MS       86400000.0
#define TWO_PI       6.283185307179586

/* Ambient (domain-compost.md 7.1). */
#define AMB_MEAN_C   27.0
#define AMB_AMP_C     3.5
#define AMB_PEAK_H   14.0
#define AMB_AR_PHI    0.98      /* per 5-minute step          */
#define AMB_AR_SIGMA  0.15      /* C per 5-minute step        */
#define AMB_AR_STEP_S 300.0

/* Lags of the ambient seen through a drum wall and a tank of liquid. */
#define DRUM_LAG_H    6.0
#define TANK_LAG_H    8.0

struct rng {
    uint64_t s;
};

struct drum_par {
    double rise_c;      /* peak core temperature above lagged ambient */
    double t_peak_d;
    double shape;       /* gamma exponent of the rise                 */
    double decay_d;     /* time constant of the cooling tail          */
    double w0, w_loss;  /* moisture start and long-run loss (points)  */
};

struct tank_par {
    double ph0, ph_end, ph_tau_d;
    double ec0, ec_rise;
    double level0_cm, ripple_phase;
};

struct model {
    struct rng noise;
    uint64_t seed;
    int ndrums, ntanks;
    int64_t start_ms;
    int64_t t_ms;
    int stepped;
    double amb_ar;      /* AR(1) state of the ambient noise */
    double amb;         /* last ambient value               */
    struct drum_par *dp;
    struct tank_par *tp;
    struct drum_values *dv;
    struct tank_values *tv;
};

/* ---- random numbers (splitmix64; deterministic, portable) -------------- */

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_uniform(struct rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Standard normal (Box-Muller; one value per call keeps it simple). */
static double rng_gauss(struct rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);

    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

/* An independent stream per (seed, device class, id). */
static struct rng rng_for(uint64_t seed, uint64_t cls, uint64_t id)
{
    struct rng r = { seed ^ (cls * 0xd1b54a32d192ed03ULL) ^ (id * 0x8cb92ba72f3d8dd7ULL) };

    (void)rng_next(&r);
    return r;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- the shapes --------------------------------------------------------- */

/* Local hour of day (0..24) at Unix ms t. */
static double local_hour(int64_t t_ms)
{
    int64_t ms = (t_ms + MODEL_LOCAL_OFFSET_MS) % 86400000LL;

    if (ms < 0)
        ms += 86400000LL;
    return (double)ms / 3600000.0;
}

/* The daily cycle of ambient as seen through a first-order lag of tau
 * hours: amplitude scaled by 1/sqrt(1 + (w tau)^2), phase delayed by
 * atan(w tau). tau 0 is the bare air. */
static double ambient_mean(int64_t t_ms, double tau_h)
{
    double w = TWO_PI / 24.0;
    double gain = 1.0 / sqrt(1.0 + (w * tau_h) * (w * tau_h));
    double lag = atan(w * tau_h);

    return AMB_MEAN_C + AMB_AMP_C * gain * cos(w * (local_hour(t_ms) - AMB_PEAK_H) - lag);
}

/* Relative biological activity of a drum, 0..1: a gamma-shaped rise to 1
 * at t_peak, then a tail (1 + x) e^-x that leaves the peak with zero
 * slope and is down to ~7 % a month later. */
static double drum_activity(const struct drum_par *p, double t_d)
{
    double x;

    if (t_d <= 0)
        return 0.0;
    if (t_d <= p->t_peak_d) {
        x = t_d / p->t_peak_d;
        return pow(x, p->shape) * exp(p->shape * (1.0 - x));
    }
    x = (t_d - p->t_peak_d) / p->decay_d;
    return (1.0 + x) * exp(-x);
}

/* ---- the model ---------------------------------------------------------- */

struct model *model_new(uint64_t seed, int ndrums, int ntanks, int64_t start_ms)
{
    struct model *m;

    if (ndrums < 0 || ntanks < 0)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->seed = seed;
    m->ndrums = ndrums;
    m->ntanks = ntanks;
    m->start_ms = start_ms;
    m->noise = rng_for(seed, 0, 0);
    m->dp = calloc((size_t)ndrums + 1, sizeof(*m->dp));
    m->dv = calloc((size_t)ndrums + 1, sizeof(*m->dv));
    m->tp = calloc((size_t)ntanks + 1, sizeof(*m->tp));
    m->tv = calloc((size_t)ntanks + 1, sizeof(*m->tv));
    if (!m->dp || !m->dv || !m->tp || !m->tv) {
        model_free(m);
        return NULL;
    }
    for (int i = 0; i < ndrums; i++) {
        struct rng r = rng_for(seed, 1, (uint64_t)i + 1);
        struct drum_par *p = &m->dp[i];

        p->rise_c = rng_uniform(&r, 30.0, 35.0);
        p->t_peak_d = rng_uniform(&r, 2.5, 4.5);
        p->shape = rng_uniform(&r, 1.5, 2.5);
        p->decay_d = rng_uniform(&r, 5.0, 7.0);
        p->w0 = rng_uniform(&r, 55.0, 59.0);
        p->w_loss = rng_uniform(&r, 7.0, 10.0);
    }
    for (int i = 0; i < ntanks; i++) {
        struct rng r = rng_for(seed, 2, (uint64_t)i + 1);
        struct tank_par *p = &m->tp[i];

        p->ph0 = rng_uniform(&r, 6.6, 7.0);
        p->ph_end = rng_uniform(&r, 3.7, 4.2);
        p->ph_tau_d = rng_uniform(&r, 1.5, 3.0);
        p->ec0 = rng_uniform(&r, 1.5, 2.5);
        p->ec_rise = rng_uniform(&r, 3.0, 5.0);
        p->level0_cm = rng_uniform(&r, 70.0, 80.0);
        p->ripple_phase = rng_uniform(&r, 0.0, TWO_PI);
    }
    return m;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    free(m->dp);
    free(m->dv);
    free(m->tp);
    free(m->tv);
    free(m);
}

void model_step(struct model *m, int64_t t_ms)
{
    double dt_s, phi, sigma, t_d;
    double amb_drum, amb_tank;

    /* AR(1) ambient noise, discretised exactly for any step length so the
     * statistics do not depend on --interval. */
    dt_s = m->stepped ? (double)(t_ms - m->t_ms) / 1000.0 : 0.0;
    if (dt_s < 0)
        dt_s = 0;
    phi = pow(AMB_AR_PHI, dt_s / AMB_AR_STEP_S);
    sigma = AMB_AR_SIGMA / sqrt(1.0 - AMB_AR_PHI * AMB_AR_PHI);   /* stationary */
    if (!m->stepped)
        m->amb_ar = sigma * rng_gauss(&m->noise);
    else
        m->amb_ar = phi * m->amb_ar + sigma * sqrt(1.0 - phi * phi) * rng_gauss(&m->noise);
    m->t_ms = t_ms;
    m->stepped = 1;

    t_d = (double)(t_ms - m->start_ms) / DAY_MS;
    if (t_d < 0)
        t_d = 0;
    m->amb = clampd(ambient_mean(t_ms, 0.0) + m->amb_ar + 0.05 * rng_gauss(&m->noise),
                    15.0, 45.0);
    amb_drum = ambient_mean(t_ms, DRUM_LAG_H) + 0.3 * m->amb_ar;
    amb_tank = ambient_mean(t_ms, TANK_LAG_H) + 0.2 * m->amb_ar;

    for (int i = 0; i < m->ndrums; i++) {
        const struct drum_par *p = &m->dp[i];
        struct drum_values *v = &m->dv[i];
        double a = drum_activity(p, t_d);
        double rise = p->rise_c * a;

        v->temp_core_c = clampd(amb_drum + rise + 0.08 * rng_gauss(&m->noise), 15.0, 75.0);
        v->temp_mid_c = clampd(amb_drum + 0.88 * rise + 0.08 * rng_gauss(&m->noise),
                               15.0, 75.0);
        v->temp_top_c = clampd(amb_drum + 0.75 * rise + 0.10 * rng_gauss(&m->noise),
                               15.0, 75.0);
        v->moisture_pct = clampd(p->w0 - p->w_loss * (1.0 - exp(-t_d / 20.0)) +
                                 0.4 * rng_gauss(&m->noise), 45.0, 60.0);
        v->o2_pct = clampd(20.9 - 15.0 * pow(a, 1.2) + 0.2 * rng_gauss(&m->noise),
                           1.0, 20.9);
    }
    for (int i = 0; i < m->ntanks; i++) {
        const struct tank_par *p = &m->tp[i];
        struct tank_values *v = &m->tv[i];

        v->ph = clampd(p->ph_end + (p->ph0 - p->ph_end) * exp(-t_d / p->ph_tau_d) +
                       0.02 * rng_gauss(&m->noise), 2.0, 9.0);
        v->ec_ms_cm = clampd(p->ec0 + p->ec_rise * (1.0 - exp(-t_d / 3.0)) +
                             0.03 * rng_gauss(&m->noise), 0.1, 20.0);
        v->temp_liquid_c = clampd(amb_tank + 1.5 * exp(-t_d / 3.0) +
                                  0.05 * rng_gauss(&m->noise), 15.0, 45.0);
        v->level_cm = clampd(p->level0_cm - 0.2 * t_d +
                             0.3 * sin(TWO_PI * t_d + p->ripple_phase) +
                             0.2 * rng_gauss(&m->noise), 5.0, 100.0);
    }
}

double model_ambient(const struct model *m)
{
    return m->amb;
}

const struct drum_values *model_drum(const struct model *m, int i)
{
    return &m->dv[i];
}

const struct tank_values *model_tank(const struct model *m, int i)
{
    return &m->tv[i];
}

double model_count_value(uint64_t s, uint64_t n)
{
    /* A golden-ratio phase per series; 0.002 rad per reading: a full wave
     * takes ~3100 readings of the series and one step is < 0.05 C. */
    double phase = TWO_PI * (double)(s % 1000003ULL) * 0.6180339887498949;

    return 45.0 + 20.0 * sin(phase + 0.002 * (double)(n % 3141593ULL));
}
