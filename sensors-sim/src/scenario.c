/* SPDX-License-Identifier: MIT */
/* scenario.c - see scenario.h. */
#include "scenario.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXD        64
#define MAXT        16
#define MAXF        64
#define MAXQ        (MAXD + MAXT + 4 * MAXD + 8)
#define MSG_TOPIC   64
#define MSG_PAYLOAD 512
#define DAY_MS      86400000LL
#define HOUR_MS     3600000LL
#define MIN_MS      60000LL
#define WITA_MS     (8 * HOUR_MS)
#define L_PER_CM    2.642079421         /* pi * 29 cm ^ 2, in litres per cm */
#define TANK_MAX_CM 85.0
#define SENSOR_CM   115.0

static const char *const names[SCN_COUNT] = {
    "normal", "stall", "overheat", "too_dry", "too_wet", "sensor_faults", "tank_overflow",
    "ferment_spoiled",
};
static const char *const helps[SCN_COUNT] = {
    "6 drums heat (some past 55 C for days), cool and mature between day 35 and 50, "
    "turned and watered by members, harvested; tanks filled, fermented and drawn from",
    "the drums never heat (peak 3-5 C over ambient) and nobody acts: the hub says STALLED",
    "the drums run hot: 67-71 C at the peak (OVERHEAT)",
    "moisture falls below 35 % in the hot phase and nobody waters (TOO_DRY)",
    "moisture stays above 68 % (TOO_WET)",
    "normal drums with faulty probes: 85.0 power-on readings, -127 disconnects, a stuck "
    "probe, spikes, a probe pulled out of the pile",
    "normal, and tank 1 is filled again on day 5 to 97 % of its height",
    "normal, and the ferment of tank 1 spoils: its pH rises 0.15 a day from day 10",
};

enum probe { P_CORE, P_MID, P_TOP, NPROBE };
static const char *const probe_field[NPROBE] = { "temp_core_c", "temp_mid_c", "temp_top_c" };

enum fmode { F_SINGLE_85, F_DISCONNECT, F_STUCK, F_SPIKE, F_DISPLACED };
static const char *const fault_reason[] = {
    "ds18b20_power_on", "ds18b20_disconnected", "stuck", "spike", "displaced",
};

struct fault {
    int drum;               /* index */
    int probe;
    int mode;
    int64_t start_ms, end_ms;
    double value;           /* F_STUCK: the frozen value (set at start); F_SPIKE: the jump */
    int started;
};

struct drum {
    double dtmax, tp, a, tail, tau;
    double w, dry_k;        /* true moisture, drying per day */
    int water;              /* members water it                                  */
    double input_kg;
    int64_t turns_ms[8];
    int nturns, next_turn;
    int64_t last_turn_ms;
    char batch[32];
    /* truth */
    double peak, h55;
    int64_t hot_since_ms;   /* core >= 65 since (0 = not)                        */
    int overheat;
    double hsum_core, hsum_amb;
    int hn;
    int64_t hour_ms;        /* the hour being summed                             */
    double ring_core[24], ring_amb[24];
    int rn, ri;
    int64_t ok_since_ms;    /* 24 h mean delta <= 2 since (0 = not)              */
    int64_t mature_ms;
    int64_t harvest_ms;
    double output_kg;
    int harvested;
};

struct tank {
    double litres, target, rate_l_min;
    int filling;
    int64_t fill_ms[2];
    double fill_to[2];
    int nfills, next_fill;
    double ph0, plateau, tau_d, ec0, dec;
    int64_t filled_ms;      /* end of the first fill (fermentation starts)       */
    int64_t next_draw_ms;
    double draw_left;
    double filled_total, drawn_total, max_pct;
    int draws, spoil, spoiled;
    char recipe[24], batch[32];
    int started;
};

struct qmsg {
    char topic[MSG_TOPIC];
    char payload[MSG_PAYLOAD];
    int64_t ts;
};

struct scn {
    int kind, nd, nt;
    uint64_t seed, rng;
    int64_t start_ms, interval_ms;
    uint64_t nticks, k;
    double days;
    /* ambient */
    double amb_noise, amb_lag, amb_true;
    int64_t rain_start_ms, next_rain_ms;
    double rain_amp;
    struct drum d[MAXD];
    struct tank t[MAXT];
    struct fault f[MAXF];
    int nf;
    struct qmsg *q;
    int qn, qi;
    int64_t now_ms;
};

/* ---- random numbers ------------------------------------------------------ */

static double urand(struct scn *s)
{
    uint64_t x = s->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double uni(struct scn *s, double lo, double hi)
{
    return lo + (hi - lo) * urand(s);
}

static double gauss(struct scn *s)
{
    double u1 = urand(s), u2 = urand(s);

    if (u1 < 1e-12)
        u1 = 1e-12;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- names --------------------------------------------------------------- */

int scn_parse(const char *s)
{
    for (int i = 0; s && i < SCN_COUNT; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void scn_list(FILE *out)
{
    for (int i = 0; i < SCN_COUNT; i++)
        fprintf(out, "%-16s %s\n", names[i], helps[i]);
}

/* ---- set-up --------------------------------------------------------------- */

static void ymd(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)((ms + WITA_MS) / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "00000000");
        return;
    }
    snprintf(buf, len, "%04d%02d%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100);
}

/* ms of day 'day' at local (WITA) time 'hour' */
static int64_t at_local(const struct scn *s, double day, double hour)
{
    int64_t local0 = s->start_ms + WITA_MS;
    int64_t midnight = local0 - ((local0 % DAY_MS) + DAY_MS) % DAY_MS;

    return midnight - WITA_MS + (int64_t)(day * DAY_MS) + (int64_t)(hour * HOUR_MS);
}

static void add_fault(struct scn *s, int drum, int probe, int mode, double day, double hours,
                      double value)
{
    struct fault *f;

    if (s->nf >= MAXF || drum >= s->nd)
        return;
    f = &s->f[s->nf++];
    f->drum = drum;
    f->probe = probe;
    f->mode = mode;
    f->start_ms = s->start_ms + (int64_t)(day * DAY_MS);
    f->end_ms = hours > 0 ? f->start_ms + (int64_t)(hours * HOUR_MS)
                          : f->start_ms + s->interval_ms - 1;
    f->value = value;
}

static void setup_drum(struct scn *s, int i)
{
    static const double dt_normal[6] = { 28.5, 18, 26, 22, 29, 20 };
    static const double tau_normal[6] = { 14, 24, 18, 28, 16, 30 };
    struct drum *d = &s->d[i];
    char day[16];

    d->tp = uni(s, 3.0, 5.0);
    d->a = uni(s, 1.6, 2.2);
    d->dtmax = dt_normal[i % 6] * uni(s, 0.95, 1.05);
    d->tail = 0.3 * d->dtmax;
    d->tau = tau_normal[i % 6] * uni(s, 0.9, 1.1);
    d->w = uni(s, 58, 62);
    d->dry_k = 0.22;
    d->water = 1;
    d->input_kg = round(uni(s, 55, 65));
    switch (s->kind) {
    case SCN_STALL:
        d->dtmax = uni(s, 3, 5);
        d->tail = 0;
        d->water = 0;
        break;
    case SCN_OVERHEAT:
        d->dtmax = uni(s, 37, 40);
        break;
    case SCN_TOO_DRY:
        d->w = uni(s, 46, 48);
        d->dry_k = 1.4;
        d->water = 0;
        break;
    case SCN_TOO_WET:
        d->w = uni(s, 72, 75);
        d->dry_k = 0.02;
        d->water = 0;
        break;
    default:
        break;
    }
    /* members turn the drum in the hot phase, at 10:00 WITA */
    if (s->kind != SCN_STALL) {
        static const double normal_turns[] = { 3, 7, 11, 15 };
        static const double hot_turns[] = { 10, 14 };
        const double *tt = s->kind == SCN_OVERHEAT ? hot_turns : normal_turns;
        int n = s->kind == SCN_OVERHEAT ? 2 : 4;

        for (int j = 0; j < n; j++)
            d->turns_ms[d->nturns++] = at_local(s, tt[j], 10.0 + 0.25 * i);
    }
    ymd(s->start_ms, day, sizeof(day));
    snprintf(d->batch, sizeof(d->batch), "D%d-%s", i + 1, day);
    d->hour_ms = s->start_ms - s->start_ms % HOUR_MS;
}

static void setup_tank(struct scn *s, int i)
{
    struct tank *t = &s->t[i];
    char day[16];

    t->fill_ms[0] = s->start_ms + (int64_t)(0.2 * DAY_MS) + i * 2 * HOUR_MS;
    t->fill_to[0] = round(uni(s, 160, 190));
    t->nfills = 1;
    if (s->kind == SCN_TANK_OVERFLOW && i == 0) {
        t->fill_ms[1] = s->start_ms + 5 * DAY_MS;
        t->fill_to[1] = 0.97 * TANK_MAX_CM * L_PER_CM;
        t->nfills = 2;
    }
    t->rate_l_min = 15;
    snprintf(t->recipe, sizeof(t->recipe), "%s", i % 2 == 0 ? "POC_EM4" : "ECO_ENZYME");
    t->ph0 = uni(s, 6.2, 6.8);
    t->plateau = uni(s, 3.7, 4.0);
    t->tau_d = uni(s, 2.0, 3.5);
    t->ec0 = uni(s, 1.5, 2.5);
    t->dec = uni(s, 3, 5);
    t->spoil = s->kind == SCN_FERMENT_SPOILED && i == 0;
    /* POC is drawn from day 16 on; eco-enzyme needs three months, so nobody
     * draws from it within a normal run */
    t->next_draw_ms = i % 2 == 0 ? at_local(s, 16 + i * 0.5, 8.0 + uni(s, 0, 8)) : INT64_MAX;
    ymd(t->fill_ms[0], day, sizeof(day));
    snprintf(t->batch, sizeof(t->batch), "T%d-%s", i + 1, day);
}

struct scn *scn_new(int kind, uint64_t seed, int ndrums, int ntanks, int64_t start_ms,
                    double days, double interval_s)
{
    struct scn *s;

    if (kind < 0 || kind >= SCN_COUNT || ndrums < 0 || ndrums > MAXD || ntanks < 0 ||
        ntanks > MAXT || !(days > 0) || days > 3650 || !(interval_s >= 1) || start_ms <= 0)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->q = calloc(MAXQ, sizeof(*s->q));
    if (!s->q) {
        free(s);
        return NULL;
    }
    s->kind = kind;
    s->nd = ndrums;
    s->nt = ntanks;
    s->seed = seed;
    s->rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (!s->rng)
        s->rng = 1;
    for (int i = 0; i < 4; i++)
        (void)urand(s);
    s->start_ms = start_ms;
    s->interval_ms = (int64_t)llround(interval_s * 1000);
    s->days = days;
    s->nticks = (uint64_t)floor(days * DAY_MS / (double)s->interval_ms);
    s->amb_lag = 27.0;
    s->next_rain_ms = start_ms + (int64_t)(uni(s, 0.3, 2.0) * DAY_MS);
    for (int i = 0; i < ndrums; i++)
        setup_drum(s, i);
    for (int i = 0; i < ntanks; i++)
        setup_tank(s, i);
    if (kind == SCN_SENSOR_FAULTS) {
        /* >= 12 h apart per probe; none on the core of the drum whose top is displaced */
        add_fault(s, 0, P_CORE, F_SINGLE_85, 3.1, 0, 85.0);
        add_fault(s, 0, P_CORE, F_SINGLE_85, 5.3, 0, 85.0);
        add_fault(s, 0, P_CORE, F_SINGLE_85, 9.2, 0, 85.0);
        add_fault(s, 1 % ndrums, P_MID, F_DISCONNECT, 4.2, 3.0, -127.0);
        add_fault(s, 2 % ndrums, P_MID, F_STUCK, 3.5, 10.0, 0.0);
        add_fault(s, 3 % ndrums, P_CORE, F_SPIKE, 2.5, 0, 10.0);
        add_fault(s, 3 % ndrums, P_CORE, F_SPIKE, 6.5, 0, -9.0);
        add_fault(s, 3 % ndrums, P_CORE, F_SPIKE, 11.5, 0, 12.0);
        add_fault(s, 4 % ndrums, P_TOP, F_DISPLACED, 6.0, (days - 6.0) * 24.0, 0.0);
        add_fault(s, 5 % ndrums, P_CORE, F_DISCONNECT, 8.0, 2.0, -127.0);
    }
    return s;
}

void scn_free(struct scn *s)
{
    if (!s)
        return;
    free(s->q);
    free(s);
}

double scn_day(const struct scn *s)
{
    return (double)(s->now_ms - s->start_ms) / DAY_MS;
}

/* ---- the model -------------------------------------------------------------- */

static double rise(const struct drum *d, double day)
{
    double g;

    if (day <= 0)
        return 0;
    g = d->dtmax * pow(day / d->tp, d->a) * exp(d->a * (1.0 - day / d->tp));
    return g + d->tail * (1.0 - exp(-day / 1.5)) * exp(-day / d->tau);
}

static double drum_delta(const struct drum *d, double day, int64_t now)
{
    double r = rise(d, day);

    if (d->last_turn_ms && now >= d->last_turn_ms)
        r *= 1.0 - 0.3 * exp(-(double)(now - d->last_turn_ms) / (4.0 * HOUR_MS));
    return r;
}

static double q16(double v)
{
    return round(v * 16.0) / 16.0;
}

static void step_ambient(struct scn *s, int64_t now)
{
    double hour_local = fmod((double)((now + WITA_MS) % DAY_MS) / HOUR_MS, 24.0);
    double dt_h = (double)s->interval_ms / HOUR_MS;
    double r = 0;

    s->amb_noise = 0.98 * s->amb_noise + 0.15 * gauss(s);
    if (now >= s->next_rain_ms && s->rain_start_ms < s->next_rain_ms) {
        s->rain_start_ms = s->next_rain_ms;
        s->rain_amp = uni(s, 2, 4);
        s->next_rain_ms = now + (int64_t)(-log(1e-9 + urand(s)) / 0.6 * DAY_MS);
    }
    if (s->rain_start_ms && now >= s->rain_start_ms) {
        double m = (double)(now - s->rain_start_ms) / MIN_MS;

        r = m < 20 ? -s->rain_amp * m / 20 : m < 80 ? -s->rain_amp
            : -s->rain_amp * exp(-(m - 80) / 120);
    }
    s->amb_true = 27.0 + 3.5 * cos(2 * M_PI * (hour_local - 14.0) / 24.0) + s->amb_noise + r;
    s->amb_lag += (s->amb_true - s->amb_lag) * (dt_h / 6.0 > 1 ? 1 : dt_h / 6.0);
}

/* ---- the message queue --------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static void qadd(struct scn *s, int64_t ts, const char *topic, const char *fmt, ...)
{
    struct qmsg *m;
    va_list ap;

    if (s->qn >= MAXQ)
        return;
    m = &s->q[s->qn++];
    snprintf(m->topic, sizeof(m->topic), "%s", topic);
    m->ts = ts;
    va_start(ap, fmt);
    vsnprintf(m->payload, sizeof(m->payload), fmt, ap);
    va_end(ap);
}

/* The value a probe reports, faults applied. Returns 0 to publish v. */
static double probe_value(struct scn *s, int di, int p, double truth, int64_t now)
{
    double v = q16(truth + 0.1 * gauss(s));

    for (int i = 0; i < s->nf; i++) {
        struct fault *f = &s->f[i];

        if (f->drum != di || f->probe != p || now < f->start_ms || now > f->end_ms)
            continue;
        switch (f->mode) {
        case F_SINGLE_85:
            return 85.0;
        case F_DISCONNECT:
            return -127.0;
        case F_STUCK:
            if (!f->started) {
                f->started = 1;
                f->value = v;
            }
            return f->value;
        case F_SPIKE:
            return q16(v + f->value);
        case F_DISPLACED:       /* out of the pile: it reads the air around the drum */
            return q16(s->amb_true + 0.3 * gauss(s));
        }
    }
    return v;
}

static void truth_hour(struct drum *d, int64_t now, double core, double amb, double age_d)
{
    while (now >= d->hour_ms + HOUR_MS) {
        if (d->hn > 0) {
            d->ring_core[d->ri] = d->hsum_core / d->hn;
            d->ring_amb[d->ri] = d->hsum_amb / d->hn;
            d->ri = (d->ri + 1) % 24;
            if (d->rn < 24)
                d->rn++;
        }
        d->hsum_core = d->hsum_amb = 0;
        d->hn = 0;
        d->hour_ms += HOUR_MS;
        if (d->rn == 24) {
            double sc = 0, sa = 0;

            for (int i = 0; i < 24; i++) {
                sc += d->ring_core[i];
                sa += d->ring_amb[i];
            }
            if ((sc - sa) / 24.0 <= 2.0) {
                if (!d->ok_since_ms)
                    d->ok_since_ms = d->hour_ms;
            } else {
                d->ok_since_ms = 0;
            }
            /* a batch that never heated is stalled, not mature (the member must act) */
            if (!d->mature_ms && d->ok_since_ms && age_d >= 35.0 && d->dtmax >= 8.0 &&
                d->hour_ms - d->ok_since_ms >= 7 * DAY_MS && d->w <= 50.0)
                d->mature_ms = d->hour_ms;
        }
    }
    d->hsum_core += core;
    d->hsum_amb += amb;
    d->hn++;
}

static void tick_drum(struct scn *s, int i, int64_t now)
{
    struct drum *d = &s->d[i];
    double day = (double)(now - s->start_ms) / DAY_MS;
    double dt_d = (double)s->interval_ms / DAY_MS;
    double delta, core, mid, top, sun, o2, mass;
    char topic[MSG_TOPIC];
    double hour_local = fmod((double)((now + WITA_MS) % DAY_MS) / HOUR_MS, 24.0);

    snprintf(topic, sizeof(topic), "drum/%d/event", i + 1);
    if (s->k == 0)
        qadd(s, s->start_ms, topic, "{\"ts\": %lld, \"event\": \"batch_start\", \"batch\": \"%s\", "
             "\"mass_kg\": %.1f, \"member\": \"sari\"}", (long long)s->start_ms, d->batch,
             d->input_kg);
    if (d->harvested)
        return;
    while (d->next_turn < d->nturns && d->turns_ms[d->next_turn] <= now) {
        d->last_turn_ms = d->turns_ms[d->next_turn++];
        qadd(s, d->last_turn_ms, topic, "{\"ts\": %lld, \"event\": \"turn\", \"member\": \"budi\"}",
             (long long)d->last_turn_ms);
    }
    delta = drum_delta(d, day, now);
    /* moisture: dries with the heat; watered back in the first 20 days */
    d->w -= d->dry_k * (1.0 + delta / 10.0) * dt_d;
    if (d->w < 25.0)
        d->w = 25.0;
    if (d->water && d->w < 47.0 && day < 20.0) {
        d->w += 8.0;
        qadd(s, now, topic, "{\"ts\": %lld, \"event\": \"water\", \"litres\": 5.0, "
             "\"member\": \"sari\"}", (long long)now);
    }
    mass = d->input_kg * (1.0 - 0.55 * (1.0 - exp(-day / 12.0)));
    if (d->mature_ms && !d->harvest_ms && now >= d->mature_ms + 4 * DAY_MS) {
        d->harvest_ms = now;
        d->output_kg = round(mass * 10) / 10;
        d->harvested = 1;
        qadd(s, now, topic, "{\"ts\": %lld, \"event\": \"harvest\", \"mass_kg\": %.1f, "
             "\"member\": \"sari\"}", (long long)now, d->output_kg);
        return;
    }
    core = s->amb_lag + delta;
    mid = s->amb_lag + 0.9 * delta;
    sun = 3.0 * pow(fmax(0.0, cos(2 * M_PI * (hour_local - 12.5) / 24.0)), 2.0);
    top = s->amb_lag + 0.55 * delta + sun;
    /* truth */
    if (core > d->peak)
        d->peak = core;
    if (core >= 55.0)
        d->h55 += dt_d * 24.0;
    if (core >= 65.0) {
        if (!d->hot_since_ms)
            d->hot_since_ms = now;
        if (now - d->hot_since_ms >= 30 * MIN_MS)
            d->overheat = 1;
    } else {
        d->hot_since_ms = 0;
    }
    truth_hour(d, now, core, s->amb_true, day);
    o2 = 20.9 - 14.0 * (d->dtmax > 1 ? delta / fmax(d->dtmax, 8.0) : 0);
    if (o2 < 2)
        o2 = 2;
    snprintf(topic, sizeof(topic), "drum/%d", i + 1);
    qadd(s, now, topic, "{\"ts\": %lld, \"temp_core_c\": %.4f, \"temp_mid_c\": %.4f, "
         "\"temp_top_c\": %.4f, \"moisture_pct\": %.1f, \"o2_pct\": %.1f, \"co2_pct\": %.1f, "
         "\"mass_kg\": %.1f}", (long long)now,
         probe_value(s, i, P_CORE, core, now), probe_value(s, i, P_MID, mid, now),
         probe_value(s, i, P_TOP, top, now), fmin(100, fmax(0, d->w + 0.5 * gauss(s))),
         o2 + 0.2 * gauss(s), fmax(0, 20.4 - o2 + 0.2 * gauss(s)), mass + 0.2 * gauss(s));
}

static void tick_tank(struct scn *s, int i, int64_t now)
{
    struct tank *t = &s->t[i];
    double dt_min = (double)s->interval_ms / MIN_MS;
    double level, pct, hour_local;
    char topic[MSG_TOPIC];

    snprintf(topic, sizeof(topic), "tank/%d/event", i + 1);
    /* fills */
    if (!t->filling && t->next_fill < t->nfills && now >= t->fill_ms[t->next_fill]) {
        t->filling = 1;
        t->target = t->fill_to[t->next_fill];
        if (t->next_fill == 0)
            qadd(s, now, topic, "{\"ts\": %lld, \"event\": \"batch_start\", \"batch\": \"%s\", "
                 "\"recipe\": \"%s\", \"member\": \"dewi\"}", (long long)now, t->batch, t->recipe);
        t->next_fill++;
    }
    if (t->filling) {
        double add = fmin(t->rate_l_min * dt_min, t->target - t->litres);

        if (add > 0) {
            t->litres += add;
            t->filled_total += add;
        }
        if (t->litres >= t->target - 1e-9) {
            t->filling = 0;
            if (!t->filled_ms)
                t->filled_ms = now;
        }
    }
    /* draws in working hours, from day 16 */
    hour_local = fmod((double)((now + WITA_MS) % DAY_MS) / HOUR_MS, 24.0);
    if (t->filled_ms && !t->filling && t->draw_left <= 0 && now >= t->next_draw_ms &&
        t->litres > 30) {
        t->draw_left = round(uni(s, 5, 25));
        t->draws++;
        t->next_draw_ms = now + (int64_t)(-log(1e-9 + urand(s)) * DAY_MS);
        hour_local = fmod((double)((t->next_draw_ms + WITA_MS) % DAY_MS) / HOUR_MS, 24.0);
        if (hour_local < 7.0 || hour_local >= 17.0)
            t->next_draw_ms += (int64_t)((hour_local < 7.0 ? 7.0 - hour_local
                                          : 31.0 - hour_local) * HOUR_MS + uni(s, 0, 9) * HOUR_MS);
    }
    if (t->draw_left > 0) {
        double take = fmin(t->draw_left, 8.0 * dt_min);

        t->litres -= take;
        t->draw_left -= take;
        t->drawn_total += take;
    }
    if (t->filled_ms)
        t->litres -= 0.2 * dt_min / 1440.0;
    if (t->litres < 0)
        t->litres = 0;
    level = t->litres / L_PER_CM;
    pct = 100.0 * level / TANK_MAX_CM;
    if (pct > t->max_pct)
        t->max_pct = pct;
    snprintf(topic, sizeof(topic), "tank/%d", i + 1);
    if (t->filled_ms) {
        double d = (double)(now - t->filled_ms) / DAY_MS;
        double ph = t->plateau + (t->ph0 - t->plateau) * exp(-d / t->tau_d);
        double day = (double)(now - s->start_ms) / DAY_MS;

        if (t->spoil && day > 10) {
            ph += 0.15 * (day - 10);
            t->spoiled = 1;
        }
        qadd(s, now, topic, "{\"ts\": %lld, \"distance_cm\": %.1f, \"ph\": %.2f, "
             "\"ec_ms_cm\": %.2f, \"temp_liquid_c\": %.4f}", (long long)now,
             SENSOR_CM - level + 0.12 * gauss(s), ph + 0.02 * gauss(s),
             t->ec0 + t->dec * (1 - exp(-d / 3.0)) + 0.05 * gauss(s),
             q16(s->amb_lag + 1.0 + 0.1 * gauss(s)));
    } else {
        qadd(s, now, topic, "{\"ts\": %lld, \"distance_cm\": %.1f}", (long long)now,
             SENSOR_CM - level + 0.12 * gauss(s));
    }
}

static void fill_queue(struct scn *s)
{
    int64_t now = s->start_ms + (int64_t)s->k * s->interval_ms;

    s->qn = s->qi = 0;
    s->now_ms = now;
    step_ambient(s, now);
    qadd(s, now, "site/weather", "{\"ts\": %lld, \"temp_ambient_c\": %.4f, \"rh_pct\": %.1f}",
         (long long)now, q16(s->amb_true + 0.1 * gauss(s)),
         fmin(100, fmax(60, 90 - 1.6 * (s->amb_true - 24) + 2 * gauss(s))));
    for (int i = 0; i < s->nd; i++)
        tick_drum(s, i, now);
    for (int i = 0; i < s->nt; i++)
        tick_tank(s, i, now);
}

int scn_next(struct scn *s, char *topic, size_t tlen, char *payload, size_t plen,
             int64_t *ts_ms)
{
    struct qmsg *m;

    while (s->qi >= s->qn) {
        if (s->k >= s->nticks)
            return 0;
        fill_queue(s);
        s->k++;
    }
    m = &s->q[s->qi++];
    if (strlen(m->topic) >= tlen || strlen(m->payload) >= plen)
        return -1;
    memcpy(topic, m->topic, strlen(m->topic) + 1);
    memcpy(payload, m->payload, strlen(m->payload) + 1);
    *ts_ms = m->ts;
    return 1;
}

/* ---- the truth file ---------------------------------------------------------- */

static void jnum_or_null(FILE *f, int64_t v)
{
    if (v)
        fprintf(f, "%lld", (long long)v);
    else
        fputs("null", f);
}

int scn_write_truth(const struct scn *s, FILE *f, const char *site, uint64_t messages)
{
    fprintf(f, "{\"seed\": %llu, \"scenario\": \"%s\", \"site\": \"", (unsigned long long)s->seed,
            names[s->kind]);
    for (const char *c = site; *c; c++) {       /* --site may hold '"' */
        if (*c == '"' || *c == '\\')
            fputc('\\', f);
        fputc(*c, f);
    }
    fprintf(f, "\", "
            "\"start_ts_ms\": %lld, \"days\": %.6g, \"interval_s\": %.6g, \"messages\": %llu,\n"
            " \"drums\": [", (long long)s->start_ms, s->days,
            (double)s->interval_ms / 1000.0, (unsigned long long)messages);
    for (int i = 0; i < s->nd; i++) {
        const struct drum *d = &s->d[i];

        fprintf(f, "%s\n  {\"id\": \"%d\", \"batch\": \"%s\", \"batch_start_ts_ms\": %lld, "
                "\"dT_max\": %.2f, \"tail_tau_d\": %.2f, \"peak_core_c\": %.2f, \"hours_ge_55\": %.1f, "
                "\"mature_ts_ms\": ", i ? "," : "", i + 1, d->batch, (long long)s->start_ms,
                d->dtmax, d->tau, d->peak, d->h55);
        jnum_or_null(f, d->mature_ms);
        fputs(", \"mature_day\": ", f);
        if (d->mature_ms)
            fprintf(f, "%.3f", (double)(d->mature_ms - s->start_ms) / DAY_MS);
        else
            fputs("null", f);
        fputs(", \"harvest_ts_ms\": ", f);
        jnum_or_null(f, d->harvest_ms);
        fprintf(f, ", \"input_mass_kg\": %.1f, \"output_mass_kg\": ", d->input_kg);
        if (d->harvest_ms)
            fprintf(f, "%.1f", d->output_kg);
        else
            fputs("null", f);
        fprintf(f, ", \"turns\": %d, \"stalled\": %s, \"overheat\": %s}", d->next_turn,
                d->dtmax < 8 ? "true" : "false", d->overheat ? "true" : "false");
    }
    fputs("],\n \"tanks\": [", f);
    for (int i = 0; i < s->nt; i++) {
        const struct tank *t = &s->t[i];

        fprintf(f, "%s\n  {\"id\": \"%d\", \"batch\": \"%s\", \"recipe\": \"%s\", "
                "\"litres_filled\": %.2f, \"litres_drawn\": %.2f, \"draws\": %d, "
                "\"spoiled\": %s, \"overflow\": %s, \"max_fill_pct\": %.1f}", i ? "," : "", i + 1,
                t->batch, t->recipe, t->filled_total, t->drawn_total, t->draws,
                t->spoiled ? "true" : "false", t->max_pct >= 95.0 ? "true" : "false", t->max_pct);
    }
    fputs("],\n \"faults\": [", f);
    for (int i = 0; i < s->nf; i++) {
        const struct fault *x = &s->f[i];

        fprintf(f, "%s\n  {\"kind\": \"drum\", \"id\": \"%d\", \"field\": \"%s\", \"reason\": \"%s\", "
                "\"start_ts_ms\": %lld, \"end_ts_ms\": %lld}", i ? "," : "", x->drum + 1,
                probe_field[x->probe], fault_reason[x->mode], (long long)x->start_ms,
                (long long)(x->end_ms < s->start_ms + (int64_t)(s->days * DAY_MS)
                            ? x->end_ms : s->start_ms + (int64_t)(s->days * DAY_MS)));
    }
    fputs("]}\n", f);
    return ferror(f) ? -1 : 0;
}
