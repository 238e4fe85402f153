/* SPDX-License-Identifier: MIT */
/* test_sfault.c - series-level sensor faults: one test per fault signature
 * and its negative twin (spike / confirmed step, rate / after a turn, stuck
 * with moving / flat ambient, stuck in THERMOPHILIC, displaced after 6 h /
 * not after 5 h, stale raised / cleared, pH spike, moisture step and stuck
 * high, distance max-range), 30 days of noisy healthy traces with zero
 * flags, and a fuzz run of random values and timestamps. Every expected
 * value is worked out by hand in the comment next to it. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "sfault.h"

#define SEC  1000000000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   1764547200000000000LL  /* 2025-12-01T00:00:00Z */

#define BIT(r) (1u << (r))

/* Final verdicts of a stream: what sfault_feed() returned, except that a
 * SF_PENDING reading counts with the verdict it is released with later. */
struct tally {
    int n[SF_PENDING + 1];
    double last_rejected;   /* value of the newest rejected reading */
    int held;               /* readings that were held back (SF_PENDING) */
    int64_t last_released_ts;
};

static void count(struct tally *t, enum sfault_reason r, double v)
{
    ck_assert_int_ge(r, SF_OK);
    ck_assert_int_le(r, SF_PENDING);
    t->n[r]++;
    if (r != SF_OK && r != SF_PENDING)
        t->last_rejected = v;
}

static void drain(struct sfault *s, struct tally *t)
{
    double v;
    int64_t ts;
    enum sfault_reason r;

    while (sfault_take_released(s, &v, &ts, &r)) {
        ck_assert_int_ne(r, SF_PENDING);
        count(t, r, v);
        t->last_released_ts = ts;
    }
}

/* Feed one reading, drain what it released, return its own verdict. */
static enum sfault_reason feed(struct sfault *s, struct tally *t, double v,
                               int64_t ts, const struct sfault_ctx *c)
{
    enum sfault_reason r = sfault_feed(s, v, ts, c);

    drain(s, t);
    if (r != SF_PENDING)
        count(t, r, v);
    else
        t->held++;
    return r;
}

static struct sfault_ctx ctx(double amb, int thermo, int64_t turn, double others)
{
    struct sfault_ctx c = { amb, thermo, turn, others };

    return c;
}

static int rejected(const struct tally *t)
{
    return t->n[SF_SPIKE] + t->n[SF_RATE] + t->n[SF_STEP] + t->n[SF_STUCK];
}

START_TEST(reason_names)
{
    ck_assert_str_eq(sfault_reason_name(SF_OK), "ok");
    ck_assert_str_eq(sfault_reason_name(SF_SPIKE), "spike");
    ck_assert_str_eq(sfault_reason_name(SF_STUCK), "stuck");
    ck_assert_str_eq(sfault_reason_name(SF_DISPLACED), "displaced");
    ck_assert_str_eq(sfault_reason_name(SF_RATE), "rate");
    ck_assert_str_eq(sfault_reason_name(SF_STALE), "stale");
    ck_assert_str_eq(sfault_reason_name(SF_STEP), "step");
    ck_assert_str_eq(sfault_reason_name(SF_PENDING), "pending");
    ck_assert_str_eq(sfault_reason_name((enum sfault_reason)99), "unknown");
}
END_TEST

START_TEST(new_free_and_defaults)
{
    struct sfault_params p;

    sfault_params_defaults(&p);
    ck_assert_double_eq(p.spike_c, 3.0);
    ck_assert_double_eq(p.spike_window_min, 5.0);
    ck_assert_int_eq(p.spike_median_n, 5);
    ck_assert_double_eq(p.rate_c_per_h, 10.0);
    ck_assert_double_eq(p.stuck_h, 6.0);
    ck_assert_double_eq(p.stuck_thermo_h, 3.0);
    ck_assert_double_eq(p.displaced_h, 6.0);
    ck_assert_double_eq(p.ph_spike, 0.5);
    ck_assert_double_eq(p.moisture_step_pct, 10.0);
    ck_assert_double_eq(p.stale_factor, 3.0);
    ck_assert_ptr_null(sfault_new(NULL, "ph", &p));
    ck_assert_ptr_null(sfault_new("tank", NULL, &p));
    sfault_free(NULL);

    struct sfault *s = sfault_new("tank", "ph", NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_int_eq(sfault_suspect(s), 0);
    ck_assert_int_eq(sfault_pending(s), 0);
    sfault_set_params(s, NULL);
    sfault_set_params(s, &p);
    sfault_free(s);
}
END_TEST

/* Drum core at 50.0 +- 0.1 every minute; one reading at 56.0 (6 above the
 * median 50.0 > 3) is held; the next, 50.05, is 5.95 from it (> 3): not
 * confirmed, so 56.0 is released as a spike and 50.05 accepted. */
START_TEST(single_spike_rejected)
{
    static const double base[] = { 50.0, 50.1, 49.9, 50.0, 50.1 };
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct sfault_ctx c = ctx(28.0, 1, 0, 50.0);
    struct tally t = { 0 };
    double v;
    int64_t ts;
    enum sfault_reason r;

    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(feed(s, &t, base[i], T0 + i * MIN, &c), SF_OK);
    ck_assert_int_eq(sfault_feed(s, 56.0, T0 + 5 * MIN, &c), SF_PENDING);
    ck_assert_int_eq(sfault_pending(s), 1);
    ck_assert_int_eq(sfault_take_released(s, &v, &ts, &r), 0);
    ck_assert_int_eq(sfault_feed(s, 50.05, T0 + 6 * MIN, &c), SF_OK);
    ck_assert_int_eq(sfault_take_released(s, &v, &ts, &r), 1);
    ck_assert_double_eq(v, 56.0);
    ck_assert_int_eq(ts, T0 + 5 * MIN);
    ck_assert_int_eq(r, SF_SPIKE);
    ck_assert_int_eq(sfault_take_released(s, &v, &ts, &r), 0);
    ck_assert_int_eq(sfault_pending(s), 0);
    /* a negative spike too: 44.0 is 6 below */
    ck_assert_int_eq(feed(s, &t, 44.0, T0 + 7 * MIN, &c), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 50.0, T0 + 8 * MIN, &c), SF_OK);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    ck_assert_double_eq(t.last_rejected, 44.0);
    ck_assert_uint_eq(sfault_flags(s), 0);
    sfault_free(s);
}
END_TEST

/* Negative twins of the spike: a jump of 2.9 (not > 3) is accepted at once;
 * a jump of 6 after a 10-minute gap has no reference within 5 min and is
 * accepted at once too. */
START_TEST(small_jump_and_jump_after_gap_accepted)
{
    struct sfault *s = sfault_new("tank", "temp_liquid_c", NULL);
    struct tally t = { 0 };

    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(feed(s, &t, 30.0, T0 + i * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 32.9, T0 + 5 * MIN, NULL), SF_OK);
    /* last reading at 5 min; 15 min is 10 min later */
    ck_assert_int_eq(feed(s, &t, 38.9, T0 + 15 * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_OK], 7);
    ck_assert_int_eq(rejected(&t), 0);
    sfault_free(s);
}
END_TEST

/* A real step: the drum is turned at 5 min and the core drops from 60 to
 * 48 (12 > 3: held); 48.1 confirms it (0.1 from 48, 11.9 from 60), so both
 * are accepted, the held one released first. The rate rule is off within
 * 1 h of the turn. A tank's liquid temperature step without any turn is
 * accepted the same way (no rate rule there). */
START_TEST(confirmed_step_accepted)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct sfault_ctx c = ctx(28.0, 1, 0, 55.0);
    struct tally t = { 0 };
    double v;
    int64_t ts;
    enum sfault_reason r;

    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(feed(s, &t, 60.0, T0 + i * MIN, &c), SF_OK);
    c.last_turn_ns = T0 + 5 * MIN - 10 * SEC;
    ck_assert_int_eq(sfault_feed(s, 48.0, T0 + 5 * MIN, &c), SF_PENDING);
    ck_assert_int_eq(sfault_feed(s, 48.1, T0 + 6 * MIN, &c), SF_OK);
    ck_assert_int_eq(sfault_take_released(s, &v, &ts, &r), 1);
    ck_assert_double_eq(v, 48.0);
    ck_assert_int_eq(ts, T0 + 5 * MIN);
    ck_assert_int_eq(r, SF_OK);
    ck_assert_int_eq(sfault_take_released(s, &v, &ts, &r), 0);
    /* the new level is the reference now: 48.3 is no jump */
    ck_assert_int_eq(feed(s, &t, 48.3, T0 + 7 * MIN, &c), SF_OK);
    sfault_free(s);

    s = sfault_new("tank", "temp_liquid_c", NULL);
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(feed(s, &t, 30.0, T0 + i * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 35.0, T0 + 5 * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 35.2, T0 + 6 * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_OK], 7);
    ck_assert_int_eq(rejected(&t), 0);
    ck_assert_int_eq(t.last_released_ts, T0 + 5 * MIN);
    sfault_free(s);
}
END_TEST

/* Two spikes in a row in opposite directions: +6 is held, -6 does not
 * confirm it (12 apart) and is itself a jump from the median: held; 50.0
 * then rejects it too. */
START_TEST(two_opposite_spikes_both_rejected)
{
    struct sfault *s = sfault_new("drum", "temp_mid_c", NULL);
    struct tally t = { 0 };

    for (int i = 0; i < 5; i++)
        feed(s, &t, 50.0, T0 + i * MIN, NULL);
    ck_assert_int_eq(feed(s, &t, 56.0, T0 + 5 * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 44.0, T0 + 6 * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    ck_assert_int_eq(feed(s, &t, 50.0, T0 + 7 * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_SPIKE], 2);
    ck_assert_double_eq(t.last_rejected, 44.0);
    sfault_free(s);
}
END_TEST

/* Core flat at 50 from 0 to 39 min, then rising 0.25 °C/min (15 °C/h):
 * v(t) = 50 + 0.25 (t - 40). Buckets are 5 min wide (0-4, 5-9, ... min),
 * their mean time 2 min after their start; the rate is measured against
 * the newest bucket at least 15 min old.
 *   t = 40..49: ref bucket 20..30 (all 50): at t = 49, ref 30 (mean time
 *               32, age 17 min): 2.25 / (17/60) = 7.9 <= 10: accepted;
 *   t = 55:     ref 35 (age 18): 3.75 / 0.3 = 12.5: rate;
 *   t >= 60:    ref inside the ramp or partly: >= 12.5: rate.
 * With a turn at 40 min the same ramp is accepted up to 100 min (1 h
 * grace), and from then on the ramp after the turn is still 15 °C/h: at
 * 105 min ref 85 (age 18) holds 50 + 0.25*47 = 61.75, v = 66.25: 4.5/0.3
 * = 15: rate. */
START_TEST(rate_flagged_unless_after_turn)
{
    for (int turned = 0; turned <= 1; turned++) {
        struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
        struct sfault_ctx c = ctx(28.0, 1, turned ? T0 + 40 * MIN : 0, 50.0);
        struct tally t = { 0 };

        for (int m = 0; m <= 110; m++) {
            double v = m < 40 ? 50.0 : 50.0 + 0.25 * (m - 40);
            enum sfault_reason r = feed(s, &t, v, T0 + m * MIN, &c);

            if (m < 50)
                ck_assert_msg(r == SF_OK, "turned %d min %d: %s", turned, m,
                              sfault_reason_name(r));
            else if (m >= 55 && (!turned || m >= 101))
                ck_assert_msg(r == SF_RATE, "turned %d min %d: %s", turned, m,
                              sfault_reason_name(r));
            else if (turned && m <= 100)
                ck_assert_msg(r == SF_OK, "turned %d min %d: %s", turned, m,
                              sfault_reason_name(r));
        }
        ck_assert_int_eq(t.n[SF_SPIKE], 0);
        if (turned)   /* rejected from 101 to 110 */
            ck_assert_int_eq(t.n[SF_RATE], 10);
        sfault_free(s);
    }
}
END_TEST

/* The slope is never measured across a turn: with the grace cut to 6 min,
 * a turn at 40 min dropping the core 60 -> 48 (held, confirmed) and flat
 * after it is accepted throughout; measured against the pre-turn buckets
 * it would be 12 °C over >= 15 min = 48 °C/h. Until a post-turn bucket is
 * 15 min old (mean time 42 min, so from 57 min) there is no check. */
START_TEST(rate_never_measured_across_a_turn)
{
    struct sfault_params p;
    struct sfault *s;
    struct tally t = { 0 };

    sfault_params_defaults(&p);
    p.rate_turn_grace_h = 0.1;
    s = sfault_new("drum", "temp_core_c", &p);
    for (int m = 0; m <= 90; m++) {
        struct sfault_ctx c = ctx(28.0, 1, m >= 40 ? T0 + 40 * MIN : 0, 55.0);

        feed(s, &t, m < 40 ? 60.0 : 48.0 + 0.01 * (m % 2), T0 + m * MIN, &c);
    }
    ck_assert_int_eq(t.held, 1);
    ck_assert_int_eq(rejected(&t), 0);
    ck_assert_int_eq(t.n[SF_OK], 91);
    sfault_free(s);
}
END_TEST

/* Negative twin: 8 °C/h never exceeds 10 °C/h, however measured; a fast
 * change of the ambient probe is no fault either (no rate rule there). */
START_TEST(rate_below_limit_accepted)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct sfault *a = sfault_new("site", "temp_ambient_c", NULL);
    struct tally t = { 0 }, ta = { 0 };

    for (int m = 0; m <= 240; m++) {
        double v = m < 40 ? 50.0 : 50.0 + (8.0 / 60.0) * (m - 40);

        ck_assert_int_eq(feed(s, &t, v, T0 + m * MIN, NULL), SF_OK);
        ck_assert_int_eq(feed(a, &ta, 30.0 - 0.3 * m / 10.0, T0 + m * MIN, NULL), SF_OK);
    }
    ck_assert_int_eq(rejected(&t), 0);
    ck_assert_int_eq(rejected(&ta), 0);
    sfault_free(s);
    sfault_free(a);
}
END_TEST

/* A drum core stuck at exactly 55.0 every minute while ambient rises from
 * 26 to 30 over 8 h (0.5 °C/h; 3 °C moved by 6 h > 2): STUCK at 6 h, not
 * at 5 h 59 min; raised once; cleared by a moving value. */
START_TEST(stuck_with_moving_ambient_flagged)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct tally t = { 0 };

    for (int m = 0; m <= 8 * 60; m++) {
        struct sfault_ctx c = ctx(26.0 + 0.5 * m / 60.0, 0, 0, NAN);

        ck_assert_int_eq(feed(s, &t, 55.0, T0 + m * MIN, &c), SF_OK);
        if (m == 6 * 60 - 1) {
            ck_assert_uint_eq(sfault_flags(s), 0);
            ck_assert_uint_eq(sfault_take_raised(s), 0);
        }
        if (m == 6 * 60) {
            ck_assert_uint_eq(sfault_flags(s), BIT(SF_STUCK));
            ck_assert_int_eq(sfault_suspect(s), 1);
            ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_STUCK));
        }
    }
    ck_assert_uint_eq(sfault_take_raised(s), 0);   /* raised only once */
    ck_assert_uint_eq(sfault_take_cleared(s), 0);
    struct sfault_ctx c = ctx(30.0, 0, 0, NAN);
    ck_assert_int_eq(feed(s, &t, 55.0625, T0 + 481 * MIN, &c), SF_OK);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_STUCK));
    ck_assert_int_eq(sfault_suspect(s), 0);
    sfault_free(s);
}
END_TEST

/* Negative twins: identical 55.0 for 8 h with ambient flat at 28.0, or
 * moving only 1.5 °C (26 -> 27.5): no flag (stuck_other_h is 24 h). */
START_TEST(stuck_with_flat_ambient_not_flagged)
{
    for (int k = 0; k < 2; k++) {
        struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
        struct tally t = { 0 };

        for (int m = 0; m <= 8 * 60; m++) {
            double amb = k == 0 ? 28.0 : 26.0 + 1.5 * m / 480.0;
            struct sfault_ctx c = ctx(amb, 0, 0, NAN);

            feed(s, &t, 55.0, T0 + m * MIN, &c);
        }
        ck_assert_uint_eq(sfault_flags(s), 0);
        ck_assert_uint_eq(sfault_take_raised(s), 0);
        ck_assert_int_eq(t.n[SF_OK], 481);
        sfault_free(s);
    }
}
END_TEST

/* THERMOPHILIC drum, ambient flat: identical 62.5 flagged at 3 h (not at
 * 2 h 59 min); the same outside THERMOPHILIC is not flagged in 5 h. */
START_TEST(stuck_thermophilic_after_3h)
{
    for (int thermo = 0; thermo <= 1; thermo++) {
        struct sfault *s = sfault_new("drum", "temp_mid_c", NULL);
        struct sfault_ctx c = ctx(28.0, thermo, 0, 60.0);
        struct tally t = { 0 };

        for (int m = 0; m <= 5 * 60; m++) {
            feed(s, &t, 62.5, T0 + m * MIN, &c);
            if (m == 3 * 60 - 1)
                ck_assert_uint_eq(sfault_flags(s), 0);
            if (m == 3 * 60)
                ck_assert_uint_eq(sfault_flags(s), thermo ? BIT(SF_STUCK) : 0);
        }
        ck_assert_uint_eq(sfault_flags(s), thermo ? BIT(SF_STUCK) : 0);
        sfault_free(s);
    }
}
END_TEST

/* The core probe pulled out: it follows ambient (28 + 0.5 sin, probe 0.3
 * above) while the other probes average 55. DISPLACED at 6 h, not at 5 h;
 * cleared once the probe reads hot again. */
START_TEST(displaced_after_6h_not_5h)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct tally t = { 0 };
    int m;

    for (m = 0; m <= 6 * 60; m++) {
        double amb = 28.0 + 0.5 * sin(m / 60.0);
        struct sfault_ctx c = ctx(amb, 1, 0, 55.0);

        ck_assert_int_eq(feed(s, &t, amb + 0.3, T0 + m * MIN, &c), SF_OK);
        if (m == 5 * 60)
            ck_assert_uint_eq(sfault_flags(s), 0);
        if (m == 6 * 60 - 1)
            ck_assert_uint_eq(sfault_flags(s), 0);
    }
    ck_assert_uint_eq(sfault_flags(s), BIT(SF_DISPLACED));
    ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_DISPLACED));
    /* unknown context changes nothing */
    ck_assert_int_eq(feed(s, &t, 28.3, T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_uint_eq(sfault_flags(s), BIT(SF_DISPLACED));
    /* back in the pile: 2 °C above ambient is outside +-1 */
    struct sfault_ctx c = ctx(28.0, 1, 0, 55.0);
    feed(s, &t, 30.0, T0 + (m++) * MIN, &c);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_DISPLACED));
    sfault_free(s);
}
END_TEST

/* Negative twins: 5 h of ambient-following is not enough; others only 8 °C
 * above ambient is no evidence; the ambient probe is never displaced. */
START_TEST(displaced_negative_twins)
{
    struct sfault *s5 = sfault_new("drum", "temp_core_c", NULL);
    struct sfault *warm = sfault_new("drum", "temp_core_c", NULL);
    struct sfault *amb = sfault_new("drum", "temp_ambient_c", NULL);
    struct tally t = { 0 };

    for (int m = 0; m <= 8 * 60; m++) {
        double a = 28.0 + 0.5 * sin(m / 60.0);
        struct sfault_ctx hot = ctx(a, 1, 0, 55.0);
        struct sfault_ctx mild = ctx(a, 0, 0, a + 8.0);

        if (m <= 5 * 60)
            feed(s5, &t, a + 0.3, T0 + m * MIN, &hot);
        feed(warm, &t, a + 0.3, T0 + m * MIN, &mild);
        feed(amb, &t, a, T0 + m * MIN, &hot);
    }
    ck_assert_uint_eq(sfault_flags(s5), 0);
    ck_assert_uint_eq(sfault_flags(warm), 0);
    ck_assert_uint_eq(sfault_flags(amb), 0);
    ck_assert_int_eq(rejected(&t), 0);
    sfault_free(s5);
    sfault_free(warm);
    sfault_free(amb);
}
END_TEST

/* Expected every 60 s: not stale at 180 s (3 intervals, not more), stale at
 * 180.001 s (raised once), cleared by a new reading; check_stale also clears
 * it when last_rx is fresh again. Raising STALE releases a held reading as
 * unconfirmed. */
START_TEST(stale_raised_after_3_intervals_and_cleared)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct tally t = { 0 };

    for (int i = 0; i < 5; i++)
        feed(s, &t, 50.0, T0 + i * MIN, NULL);
    ck_assert_int_eq(sfault_check_stale(s, 1000 + 180000, 1000, 60000), 0);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_int_eq(sfault_check_stale(s, 1000 + 180001, 1000, 60000), 1);
    ck_assert_uint_eq(sfault_flags(s), BIT(SF_STALE));
    ck_assert_int_eq(sfault_check_stale(s, 1000 + 240000, 1000, 60000), 0); /* not new */
    ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_STALE));
    ck_assert_int_eq(sfault_suspect(s), 1);
    ck_assert_int_eq(feed(s, &t, 50.0, T0 + 5 * MIN, NULL), SF_OK);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_STALE));

    /* again, cleared by check_stale with a fresh last_rx */
    ck_assert_int_eq(sfault_check_stale(s, 500000, 100000, 60000), 1);
    ck_assert_int_eq(sfault_check_stale(s, 500000, 499000, 60000), 0);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_STALE));
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_STALE));
    /* no expected interval: no check */
    ck_assert_int_eq(sfault_check_stale(s, INT64_MAX, INT64_MIN, 0), 0);

    /* a held jump, then silence: released as a spike when STALE rises */
    ck_assert_int_eq(feed(s, &t, 58.0, T0 + 6 * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(sfault_check_stale(s, 800000, 600000, 60000), 1);
    ck_assert_int_eq(sfault_pending(s), 0);
    drain(s, &t);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    ck_assert_double_eq(t.last_rejected, 58.0);
    sfault_free(s);
}
END_TEST

/* pH every minute around 4.50: 5.30 (0.8 > 0.5 from the previous 4.51)
 * is held, 4.52 does not confirm it: spike. A real drop 4.50 -> 3.80
 * confirmed by 3.82 is accepted; a change of 0.4 is no jump at all. */
START_TEST(ph_spike_rejected_step_accepted)
{
    static const double trace[] = { 4.50, 4.52, 4.49, 4.51 };
    struct sfault *s = sfault_new("tank", "ph", NULL);
    struct tally t = { 0 };
    int m = 0;

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(feed(s, &t, trace[i], T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 5.30, T0 + (m++) * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 4.52, T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    ck_assert_double_eq(t.last_rejected, 5.30);

    ck_assert_int_eq(feed(s, &t, 4.50, T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 3.80, T0 + (m++) * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 3.82, T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 4.22, T0 + (m++) * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    ck_assert_int_eq(t.n[SF_OK], 4 + 1 + 4);
    sfault_free(s);
}
END_TEST

/* Moisture every 10 min at 50 %: a +12 step is held; with the next two at
 * the new level (62.3, 61.8: three samples) it is a real step; a step back
 * to 50 after one reading at the new level leaves both unconfirmed: both
 * rejected as "step". A 9.5 change is no step. */
START_TEST(moisture_step_needs_three_samples)
{
    struct sfault *s = sfault_new("drum", "moisture_pct", NULL);
    struct tally t = { 0 };
    int k = 0;

#define TS (T0 + (k++) * 10 * MIN)
    ck_assert_int_eq(feed(s, &t, 50.0, TS, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 50.5, TS, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 62.0, TS, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 62.3, TS, NULL), SF_PENDING);
    ck_assert_int_eq(sfault_pending(s), 2);
    ck_assert_int_eq(feed(s, &t, 50.2, TS, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_STEP], 2);
    ck_assert_double_eq(t.last_rejected, 62.3);
    ck_assert_int_eq(t.n[SF_OK], 3);

    ck_assert_int_eq(feed(s, &t, 62.0, TS, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 62.3, TS, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 61.8, TS, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_OK], 6);
    ck_assert_int_eq(feed(s, &t, 52.3, TS, NULL), SF_OK);   /* 9.5 down */
    ck_assert_int_eq(t.n[SF_STEP], 2);
    ck_assert_int_eq(t.n[SF_OK], 7);
    ck_assert_uint_eq(sfault_flags(s), 0);
#undef TS
    sfault_free(s);
}
END_TEST

/* Water ingress: >= 98 % for more than 24 h is STUCK; exactly 24 h is not;
 * 97.9 clears it. 97.9 for 48 h never raises it. */
START_TEST(moisture_stuck_high)
{
    struct sfault *s = sfault_new("drum", "moisture_pct", NULL);
    struct sfault *n = sfault_new("drum", "moisture_pct", NULL);
    struct tally t = { 0 };
    int k;

    for (k = 0; k <= 24 * 6; k++) {   /* every 10 min, 0 .. 24 h */
        feed(s, &t, k % 2 ? 99.0 : 100.0, T0 + k * 10 * MIN, NULL);
        feed(n, &t, 97.9, T0 + k * 10 * MIN, NULL);
    }
    ck_assert_uint_eq(sfault_flags(s), 0);
    feed(s, &t, 100.0, T0 + 24 * HOUR + 1 * MIN, NULL);
    ck_assert_uint_eq(sfault_flags(s), BIT(SF_STUCK));
    ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_STUCK));
    for (; k <= 48 * 6; k++)
        feed(n, &t, 97.9, T0 + k * 10 * MIN, NULL);
    ck_assert_uint_eq(sfault_flags(n), 0);
    feed(s, &t, 97.9, T0 + 25 * HOUR, NULL);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_STUCK));
    ck_assert_int_eq(rejected(&t), 0);
    sfault_free(s);
    sfault_free(n);
}
END_TEST

/* An ultrasonic distance at the exact max range (450) is rejected as
 * "stuck" and flags the series until another value comes; 449.9 is fine. */
START_TEST(distance_max_range_stuck)
{
    struct sfault *s = sfault_new("tank", "distance_cm", NULL);
    struct tally t = { 0 };

    ck_assert_int_eq(feed(s, &t, 120.0, T0, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 450.0, T0 + MIN, NULL), SF_STUCK);
    ck_assert_uint_eq(sfault_flags(s), BIT(SF_STUCK));
    ck_assert_int_eq(feed(s, &t, 600.0, T0 + 2 * MIN, NULL), SF_STUCK);
    ck_assert_uint_eq(sfault_take_raised(s), BIT(SF_STUCK));
    ck_assert_int_eq(feed(s, &t, 449.9, T0 + 3 * MIN, NULL), SF_OK);
    ck_assert_uint_eq(sfault_flags(s), 0);
    ck_assert_uint_eq(sfault_take_cleared(s), BIT(SF_STUCK));
    /* EC is not a distance although it ends in _cm */
    struct sfault *ec = sfault_new("tank", "ec_ms_cm", NULL);
    ck_assert_int_eq(feed(ec, &t, 450.0, T0, NULL), SF_OK);
    ck_assert_uint_eq(sfault_flags(ec), 0);
    sfault_free(ec);
    sfault_free(s);
}
END_TEST

/* Other fields: identical for 24 h is STUCK (flagged at 24 h, not at
 * 23 h 50 min); pH identical for 12 h likewise. */
START_TEST(other_fields_stuck)
{
    struct sfault *ec = sfault_new("tank", "ec_ms_cm", NULL);
    struct sfault *ph = sfault_new("tank", "ph", NULL);
    struct tally t = { 0 };

    for (int k = 0; k <= 24 * 6; k++) {
        feed(ec, &t, 12.5, T0 + k * 10 * MIN, NULL);
        if (k <= 12 * 6)
            feed(ph, &t, 4.20, T0 + k * 10 * MIN, NULL);
        if (k == 12 * 6 - 1)
            ck_assert_uint_eq(sfault_flags(ph), 0);
        if (k == 24 * 6 - 1)
            ck_assert_uint_eq(sfault_flags(ec), 0);
    }
    ck_assert_uint_eq(sfault_flags(ph), BIT(SF_STUCK));
    ck_assert_uint_eq(sfault_flags(ec), BIT(SF_STUCK));
    sfault_free(ec);
    sfault_free(ph);
}
END_TEST

/* An out-of-order reading is accepted unjudged and does not enter the
 * history: a late 80.0 neither counts as a spike nor moves the reference
 * (the next 50.1 is accepted). An equal timestamp is judged normally. */
START_TEST(out_of_order_and_equal_timestamps)
{
    struct sfault *s = sfault_new("drum", "temp_core_c", NULL);
    struct tally t = { 0 };

    for (int i = 0; i < 5; i++)
        feed(s, &t, 50.0, T0 + i * MIN, NULL);
    ck_assert_int_eq(feed(s, &t, 80.0, T0 + 2 * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 50.1, T0 + 5 * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 50.2, T0 + 5 * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 57.0, T0 + 5 * MIN, NULL), SF_PENDING);
    ck_assert_int_eq(feed(s, &t, 50.0, T0 + 5 * MIN, NULL), SF_OK);
    ck_assert_int_eq(t.n[SF_SPIKE], 1);
    /* a non-finite value is ignored */
    ck_assert_int_eq(feed(s, &t, NAN, T0 + 6 * MIN, NULL), SF_OK);
    ck_assert_int_eq(feed(s, &t, 50.0, T0 + 6 * MIN, NULL), SF_OK);
    sfault_free(s);
}
END_TEST

/* ---- 30 days of healthy, noisy traces: zero rejections, zero flags --- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double uniform(void)
{
    return ((double)(rng() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());
}

/* a + b with two's complement wrap-around (no signed overflow). */
static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static double quantize(double v, double step)
{
    return step * floor(v / step + 0.5);
}

/* Core: rises from ambient to 65 °C over 2 days, then cools by
 * exp(-(d - 4) / 12) toward ambient + 3; turned every 3 days (a drop of
 * 8 °C recovering with a 2 h time constant); mid and top probes lag and
 * run cooler. Noise sigma 0.3 °C on every probe (DS18B20 steps of 0.0625),
 * ambient 27 + 4 sin(day) with sigma 0.2, pH 4.5 drifting +0.02/day with
 * sigma 0.05, moisture 55 drifting -0.3/day with sigma 1 every 10 min. */
START_TEST(healthy_noisy_30_days_zero_flags)
{
    static const char *probes[3] = { "temp_core_c", "temp_mid_c", "temp_top_c" };
    static const double share[3] = { 1.0, 0.85, 0.6 };
    struct sfault *tp[3], *amb_s, *ph_s, *moist_s;
    struct tally t = { 0 };
    unsigned raised = 0;
    int64_t last_turn = 0;

    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 3; i++)
        tp[i] = sfault_new("drum", probes[i], NULL);
    amb_s = sfault_new("site", "temp_ambient_c", NULL);
    ph_s = sfault_new("tank", "ph", NULL);
    moist_s = sfault_new("drum", "moisture_pct", NULL);

    for (int m = 0; m < 30 * 24 * 60; m++) {
        int64_t ts = T0 + m * MIN;
        double d = m / 1440.0;
        double amb = 27.0 + 4.0 * sin(2.0 * M_PI * d);
        double excess, drop = 0.0, v[3];

        if (m > 0 && m % (3 * 1440) == 0)
            last_turn = ts;
        if (last_turn)
            drop = 8.0 * exp(-(double)(ts - last_turn) / (double)(2 * HOUR));
        excess = d < 2.0 ? (65.0 - 27.0) * d / 2.0
               : d < 4.0 ? 38.0 : 3.0 + 35.0 * exp(-(d - 4.0) / 12.0);
        for (int i = 0; i < 3; i++)
            v[i] = quantize(amb + share[i] * excess - drop + 0.3 * gauss(), 0.0625);
        for (int i = 0; i < 3; i++) {
            struct sfault_ctx c = ctx(amb, excess >= 20.0, last_turn,
                                      (v[(i + 1) % 3] + v[(i + 2) % 3]) / 2.0);

            feed(tp[i], &t, v[i], ts, &c);
        }
        struct sfault_ctx ca = ctx(NAN, 0, 0, NAN);
        feed(amb_s, &t, quantize(amb + 0.2 * gauss(), 0.0625), ts, &ca);
        feed(ph_s, &t, quantize(4.5 + 0.02 * d + 0.05 * gauss(), 0.01), ts, NULL);
        if (m % 10 == 0)
            feed(moist_s, &t, quantize(55.0 - 0.3 * d + 1.0 * gauss(), 0.1), ts, NULL);
        for (int i = 0; i < 3; i++)
            raised |= sfault_take_raised(tp[i]);
        raised |= sfault_take_raised(amb_s) | sfault_take_raised(ph_s) |
                  sfault_take_raised(moist_s);
    }
    ck_assert_msg(rejected(&t) == 0, "spike %d rate %d step %d stuck %d",
                  t.n[SF_SPIKE], t.n[SF_RATE], t.n[SF_STEP], t.n[SF_STUCK]);
    ck_assert_uint_eq(raised, 0);
    /* each turn's 8 °C drop is held on each of the 3 probes: turns at days
     * 3, 6, ..., 27 (9 of them) */
    ck_assert_int_eq(t.held, 27);
    /* 30 days * 1440 min * 5 series + 4320 moisture readings, all OK
     * (a turn's drop is held once, then released OK) */
    ck_assert_int_eq(t.n[SF_OK], 30 * 1440 * 5 + 30 * 144);
    for (int i = 0; i < 3; i++)
        sfault_free(tp[i]);
    sfault_free(amb_s);
    sfault_free(ph_s);
    sfault_free(moist_s);
}
END_TEST

/* Random values, timestamps (equal, backwards, huge jumps, extremes),
 * contexts (NaN, extremes), stale checks and flushes on every class of
 * series: nothing crashes, the invariants hold. Run it under ASan/UBSan. */
START_TEST(fuzz_random_input)
{
    static const char *fields[][2] = {
        { "drum", "temp_core_c" }, { "drum", "temp_ambient_c" },
        { "tank", "temp_liquid_c" }, { "tank", "ph" }, { "drum", "moisture_pct" },
        { "tank", "distance_cm" }, { "tank", "ec_ms_cm" }, { "x", "" },
    };
    static const double specials[] = {
        NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e308, -1e308, 5e-324, 450.0, 85.0,
    };
    static const int64_t ts_specials[] = {
        INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MAX - 1, INT64_MIN + 1,
    };
    enum { NF = sizeof(fields) / sizeof(fields[0]) };
    struct sfault *s[NF];
    struct sfault_params p;

    rng_state = 0x123456789abcdefULL;
    sfault_params_defaults(&p);
    for (int i = 0; i < NF; i++) {
        s[i] = sfault_new(fields[i][0], fields[i][1], i == 7 ? NULL : &p);
        ck_assert_ptr_nonnull(s[i]);
    }
    int64_t ts = T0;
    for (long n = 0; n < hub_test_iters(200000); n++) {
        struct sfault *x = s[rng() % NF];
        uint64_t k = rng();
        double v = k % 7 == 0 ? specials[rng() % 10] : 50.0 + 20.0 * gauss();
        struct sfault_ctx c = {
            k % 3 ? 28.0 + gauss() : NAN, (int)(k & 1),
            k % 5 == 0 ? wrap_add(ts, -(int64_t)(rng() % (2 * HOUR))) : 0,
            k % 11 ? 50.0 + gauss() : specials[rng() % 10],
        };
        double rv;
        int64_t rts;
        enum sfault_reason r;

        switch (rng() % 8) {
        case 0: break;                                          /* equal */
        case 1: ts = wrap_add(ts, -(int64_t)(rng() % HOUR)); break; /* backwards */
        case 2: ts = ts_specials[rng() % 7]; break;             /* extremes */
        case 3: ts = wrap_add(ts, (int64_t)(rng() % (7 * DAY))); break; /* gap */
        default: ts = wrap_add(ts, (int64_t)(rng() % (2 * MIN))); break;
        }
        if (ts < T0 - 100 * DAY || ts > T0 + 1000 * DAY)
            ts = rng() % 4 ? T0 + (int64_t)(rng() % (100 * DAY)) : ts;
        r = sfault_feed(x, v, ts, k % 13 ? &c : NULL);
        ck_assert_int_ge(r, SF_OK);
        ck_assert_int_le(r, SF_PENDING);
        ck_assert_int_le(sfault_pending(x), 2);
        if (k % 17 == 0)
            sfault_check_stale(x, (int64_t)rng(), (int64_t)rng(), (int64_t)(rng() % 100000) - 1000);
        if (k % 97 == 0)
            sfault_flush(x);
        if (k % 389 == 0)
            sfault_set_params(x, k % 2 ? &p : NULL);
        if (k % 4) {
            while (sfault_take_released(x, &rv, &rts, &r)) {
                ck_assert(r == SF_OK || r == SF_RATE || r == SF_SPIKE || r == SF_STEP);
            }
        }
        ck_assert_uint_eq(sfault_flags(x) & ~(BIT(SF_STUCK) | BIT(SF_DISPLACED) | BIT(SF_STALE)), 0);
        sfault_take_raised(x);
        sfault_take_cleared(x);
    }
    for (int i = 0; i < NF; i++)
        sfault_free(s[i]);
}
END_TEST

static Suite *sfault_suite(void)
{
    Suite *s = suite_create("sfault");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reason_names);
    tcase_add_test(tc, new_free_and_defaults);
    tcase_add_test(tc, single_spike_rejected);
    tcase_add_test(tc, small_jump_and_jump_after_gap_accepted);
    tcase_add_test(tc, confirmed_step_accepted);
    tcase_add_test(tc, two_opposite_spikes_both_rejected);
    tcase_add_test(tc, rate_flagged_unless_after_turn);
    tcase_add_test(tc, rate_never_measured_across_a_turn);
    tcase_add_test(tc, rate_below_limit_accepted);
    tcase_add_test(tc, stuck_with_moving_ambient_flagged);
    tcase_add_test(tc, stuck_with_flat_ambient_not_flagged);
    tcase_add_test(tc, stuck_thermophilic_after_3h);
    tcase_add_test(tc, displaced_after_6h_not_5h);
    tcase_add_test(tc, displaced_negative_twins);
    tcase_add_test(tc, stale_raised_after_3_intervals_and_cleared);
    tcase_add_test(tc, ph_spike_rejected_step_accepted);
    tcase_add_test(tc, moisture_step_needs_three_samples);
    tcase_add_test(tc, moisture_stuck_high);
    tcase_add_test(tc, distance_max_range_stuck);
    tcase_add_test(tc, other_fields_stuck);
    tcase_add_test(tc, out_of_order_and_equal_timestamps);
    tcase_add_test(tc, healthy_noisy_30_days_zero_flags);
    tcase_add_test(tc, fuzz_random_input);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(sfault_suite)
