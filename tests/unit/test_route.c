/* SPDX-License-Identifier: MIT */
/* test_route.c - routing alerts to people: E.164 normalisation, on-duty
 * schedules in WITA, quiet hours across midnight, grouping per site,
 * reminders, escalation, acks, resolved to the same people, SMS ack
 * parsing, caps, and save/load (same next deliveries, same keys).
 * Times are written as WITA wall-clock times (W(day, h, m, s)) from
 * Monday 2026-11-30 00:00 WITA = 2026-11-29 16:00 UTC = 1795968000 s;
 * every expected time is worked out by hand in the comments. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "hub_err.h"
#include "route.h"

#define SEC 1000000000LL
#define MON0_S 1795968000LL   /* Monday 2026-11-30 00:00 WITA, in UTC s */
/* day 0 = Monday ... 6 = Sunday */
#define W(d, h, m, s) \
    ((MON0_S + (d) * 86400LL + (h) * 3600LL + (m) * 60LL + (s)) * SEC)

static struct member mk(const char *name, const char *phone, const char *role,
                        int tier, const char *duty, enum route_sev min)
{
    struct member m;

    memset(&m, 0, sizeof(m));
    snprintf(m.name, sizeof(m.name), "%s", name);
    snprintf(m.phone, sizeof(m.phone), "%s", phone);
    snprintf(m.role, sizeof(m.role), "%s", role);
    snprintf(m.channels[0], sizeof(m.channels[0]), "whatsapp");
    snprintf(m.channels[1], sizeof(m.channels[1]), "sms");
    m.nchannels = 2;
    m.tier = tier;
    snprintf(m.on_duty, sizeof(m.on_duty), "%s", duty);
    m.min_severity = min;
    return m;
}

/* Parameters with only what a test switches on. */
static struct route_params plain(void)
{
    struct route_params p;

    route_params_defaults(&p);
    p.quiet_start[0] = '\0';
    p.quiet_end[0] = '\0';
    p.group_interval_s = 0;
    p.reminder_s[0] = p.reminder_s[1] = p.reminder_s[2] = 0;
    p.escalate_after_s = 0;
    return p;
}

static struct router *mkr(const struct member *m, size_t n,
                          const struct route_params *p)
{
    char err[160] = "";
    struct router *r = router_new(m, n, p, err, sizeof(err));

    ck_assert_msg(r != NULL, "router_new: %s", err);
    return r;
}

static void fire(struct router *r, const char *id, const char *site,
                 enum route_sev sev, int64_t t)
{
    router_on_alert(r, id, "rule", site, "drum", "d1", sev, 1, t);
}

static void resolve(struct router *r, const char *id, int64_t t)
{
    router_on_alert(r, id, "rule", "guntung", "drum", "d1", ROUTE_INFO, 0, t);
}

/* ------------------------------------------------------------- phones */

static const struct { const char *in, *out; } phone_ok[] = {
    { "08123456789",        "+628123456789" },
    { "0812-3456-789",      "+628123456789" },
    { "0812 3456 789",      "+628123456789" },
    { "0812.3456.789",      "+628123456789" },
    { " 0812 - 3456 . 789 ", "+628123456789" },
    { "628123456789",       "+628123456789" },
    { "+628123456789",      "+628123456789" },
    { "+62 812-3456-789",   "+628123456789" },
    { "00628123456789",     "+628123456789" },
    { "081122334455",       "+6281122334455" },
    { "(0548) 41234",       "+6254841234" },
};

START_TEST(phone_normalised)
{
    char out[20], err[128];

    memset(out, 'x', sizeof(out));
    ck_assert_int_eq(route_normalise_phone(phone_ok[_i].in, out, sizeof(out),
                                           err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, phone_ok[_i].out);
}
END_TEST

static const struct { const char *in, *why; } phone_bad[] = {
    { "0812abc4567",         "only digits" },
    { "0812",                "too short" },
    { "6281234",             "too short" },
    { "08123456789012345",   "too long" },
    { "8123456789",          "must start with" },
    { "",                    "must start with" },
    { "+",                   "too short" },
    { "+62 0812 3456 789",   "no 0 after" },
    { "0812+3456789",        "only digits" },
    { "+0812345678901",      "cannot start with 0" },
    { "00812345678",         "too short" },      /* "00" = international */
    { "0012",                "too short" },
};

START_TEST(phone_rejected)
{
    char out[20] = "", err[128] = "";

    ck_assert_int_eq(route_normalise_phone(phone_bad[_i].in, out, sizeof(out),
                                           err, sizeof(err)), HUB_EINVAL);
    ck_assert_msg(strstr(err, phone_bad[_i].why) != NULL,
                  "'%s': reason '%s' lacks '%s'", phone_bad[_i].in, err,
                  phone_bad[_i].why);
}
END_TEST

START_TEST(phone_small_buffer)
{
    char out[13], err[128] = "";

    /* "+628123456789" needs 14 bytes with the NUL */
    ck_assert_int_eq(route_normalise_phone("08123456789", out, sizeof(out),
                                           err, sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "buffer"));
    ck_assert_int_eq(route_normalise_phone("08123456789", out, sizeof(out),
                                           NULL, 0), HUB_EINVAL);
}
END_TEST

/* ----------------------------------------------------------- schedule */

static const struct { const char *spec; int64_t t; int on; } duty_cases[] = {
    { "mon-sat 07:00-17:00", W(0, 7, 0, 0), 1 },   /* Monday 07:00 */
    { "mon-sat 07:00-17:00", W(0, 6, 59, 59), 0 },
    { "mon-sat 07:00-17:00", W(0, 17, 0, 0), 0 },  /* end exclusive */
    { "mon-sat 07:00-17:00", W(0, 16, 59, 59), 1 },
    { "mon-sat 07:00-17:00", W(5, 12, 0, 0), 1 },  /* Saturday */
    { "mon-sat 07:00-17:00", W(6, 12, 0, 0), 0 },  /* Sunday */
    { "fri 22:00-06:00", W(4, 23, 0, 0), 1 },      /* Friday night */
    { "fri 22:00-06:00", W(5, 5, 59, 59), 1 },     /* Saturday morning */
    { "fri 22:00-06:00", W(5, 6, 0, 0), 0 },
    { "fri 22:00-06:00", W(3, 23, 0, 0), 0 },      /* Thursday night */
    { "fri 22:00-06:00", W(4, 5, 0, 0), 0 },       /* Thursday's night */
    { "sat-mon", W(6, 12, 0, 0), 1 },              /* wraps over Sunday */
    { "sat-mon", W(0, 23, 59, 59), 1 },
    { "sat-mon", W(1, 0, 0, 0), 0 },               /* Tuesday */
    { "", W(2, 3, 0, 0), 1 },
    { "always", W(2, 3, 0, 0), 1 },
    { "mon-fri 08:00-12:00; mon-fri 13:00-17:00", W(0, 12, 30, 0), 0 },
    { "mon-fri 08:00-12:00; mon-fri 13:00-17:00", W(0, 13, 0, 0), 1 },
    { "18:00-24:00", W(6, 23, 59, 59), 1 },
    { "18:00-24:00", W(6, 17, 59, 59), 0 },
    { "Mon,WED 8:00-9:00", W(2, 8, 30, 0), 1 },
    { "Mon,WED 8:00-9:00", W(1, 8, 30, 0), 0 },
    { "sun 20:00-00:00", W(6, 23, 0, 0), 1 },
    { "sun 20:00-00:00", W(0, 0, 0, 0), 0 },
};

START_TEST(schedule_on_duty)
{
    struct member m = mk("a", "08123456789", "operator", 1,
                         duty_cases[_i].spec, ROUTE_INFO);

    ck_assert_msg(route_on_duty(&m, duty_cases[_i].t) == duty_cases[_i].on,
                  "case %d '%s'", _i, duty_cases[_i].spec);
}
END_TEST

/* Monday 07:00 WITA is Sunday 23:00 UTC: local time is UTC + 8 h. */
START_TEST(schedule_uses_wita)
{
    struct route_schedule s;

    ck_assert_int_eq(route_parse_schedule("mon 07:00-08:00", &s, NULL, 0),
                     HUB_OK);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.item[0].days, 1 << 1);
    ck_assert_int_eq(s.item[0].start_min, 420);
    ck_assert_int_eq(s.item[0].end_min, 480);
    /* Monday 00:00 WITA is 1795968000, so Monday 07:00 WITA is
       1795968000 + 25200 = 1795993200 = Sunday 2026-11-29 23:00 UTC. */
    ck_assert_int_eq(route_schedule_on(&s, 1795993200LL * SEC), 1);
    ck_assert_int_eq(route_schedule_on(&s, 1795993199LL * SEC), 0);
}
END_TEST

static const char *const sched_bad[] = {
    "monday 07:00-17:00", "mon-sat 7-17", "mon 25:00-26:00",
    "mon 07:00-07:00", "mon 07:60-08:00", "mon,", "xyz", "mon-sat 07:00",
    "mon 07:00-08:00;", "a;b;c;d;e",
    "mon 1:00-2:00; tue 1:00-2:00; wed 1:00-2:00; thu 1:00-2:00; fri 1:00-2:00",
};

START_TEST(schedule_rejected)
{
    struct route_schedule s;
    char err[160] = "";

    ck_assert_int_eq(route_parse_schedule(sched_bad[_i], &s, err, sizeof(err)),
                     HUB_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "schedule"));
}
END_TEST

/* -------------------------------------------------------------- quiet */

/* A warn at 23:30 WITA (15:30 UTC) waits until 06:00 WITA (22:00 UTC). */
START_TEST(quiet_warn_waits_for_morning)
{
    struct member m = mk("ani", "08123456789", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;

    snprintf(p.quiet_start, sizeof(p.quiet_start), "21:00");
    snprintf(p.quiet_end, sizeof(p.quiet_end), "06:00");
    r = mkr(&m, 1, &p);
    fire(r, "a1", "guntung", ROUTE_WARN, 1796052600LL * SEC);
    ck_assert_int_eq(router_next(r, 1796052630LL * SEC, &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), 1796076000LL * SEC);
    ck_assert_int_eq(router_next(r, 1796075999LL * SEC, &d), 0);
    ck_assert_int_eq(router_next(r, 1796076000LL * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_FIRING);
    ck_assert_int_eq(d.nalerts, 1);
    ck_assert_str_eq(d.alert_ids[0], "a1");
    ck_assert_str_eq(d.phone, "+628123456789");
    ck_assert_str_eq(d.lang, "id");          /* "" defaults to "id" */
    ck_assert_int_eq(d.nchannels, 2);
    ck_assert_str_eq(d.channels[0], "whatsapp");
    ck_assert_str_eq(d.channels[1], "sms");
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(d.sev, ROUTE_WARN);
    ck_assert_int_eq(d.due_ns, 1796076000LL * SEC);
    ck_assert_int_eq(router_next(r, 1796076000LL * SEC, &d), 0);
    router_free(r);
}
END_TEST

START_TEST(quiet_crit_goes_at_once)
{
    struct member m = mk("ani", "08123456789", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;

    snprintf(p.quiet_start, sizeof(p.quiet_start), "21:00");
    snprintf(p.quiet_end, sizeof(p.quiet_end), "06:00");
    r = mkr(&m, 1, &p);
    fire(r, "c1", "guntung", ROUTE_CRIT, W(0, 23, 30, 0));
    ck_assert_int_eq(router_next_due_ns(r), W(0, 23, 30, 30));
    ck_assert_int_eq(router_next(r, W(0, 23, 30, 29), &d), 0);
    ck_assert_int_eq(router_next(r, W(0, 23, 30, 30), &d), 1);
    ck_assert_int_eq(d.sev, ROUTE_CRIT);
    router_free(r);
}
END_TEST

/* Boundaries: 20:59 + 30 s is before 21:00; 02:00 and 05:59:40 wait until
 * 06:00 the same morning; the night's warns arrive as one group. */
START_TEST(quiet_boundaries_and_night_group)
{
    struct member m = mk("ani", "08123456789", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;

    snprintf(p.quiet_start, sizeof(p.quiet_start), "21:00");
    snprintf(p.quiet_end, sizeof(p.quiet_end), "06:00");
    r = mkr(&m, 1, &p);
    fire(r, "e1", "guntung", ROUTE_WARN, W(0, 20, 59, 0));
    ck_assert_int_eq(router_next(r, W(0, 20, 59, 30), &d), 1);
    ck_assert_str_eq(d.alert_ids[0], "e1");
    fire(r, "n1", "guntung", ROUTE_WARN, W(0, 22, 0, 0));
    fire(r, "n2", "guntung", ROUTE_INFO, W(0, 23, 59, 59));
    fire(r, "n3", "guntung", ROUTE_WARN, W(1, 2, 0, 0));
    fire(r, "n4", "guntung", ROUTE_WARN, W(1, 5, 59, 40));
    ck_assert_int_eq(router_next_due_ns(r), W(1, 6, 0, 0));
    ck_assert_int_eq(router_next(r, W(1, 5, 59, 59), &d), 0);
    ck_assert_int_eq(router_next(r, W(1, 6, 0, 0), &d), 1);
    ck_assert_int_eq(d.nalerts, 4);
    ck_assert_str_eq(d.alert_ids[0], "n1");
    ck_assert_str_eq(d.alert_ids[3], "n4");
    ck_assert_int_eq(router_next(r, W(1, 6, 0, 0), &d), 0);
    /* 05:59:50 + 30 s = 06:00:20: after the quiet hours */
    fire(r, "m1", "guntung", ROUTE_WARN, W(1, 5, 59, 50));
    ck_assert_int_eq(router_next_due_ns(r), W(1, 6, 0, 20));
    router_free(r);
}
END_TEST

/* ------------------------------------------------------------ grouping */

START_TEST(group_storm_one_delivery_per_member)
{
    struct member m[3] = {
        mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO),
        mk("budi", "08122222222", "ketua", 1, "", ROUTE_INFO),
        mk("citra", "08133333333", "anggota", 1, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r = mkr(m, 3, &p);
    struct route_delivery d;
    const char *ids[5] = { "a1", "a2", "a3", "a4", "a5" };
    int i, k, got[3] = { 0, 0, 0 };
    int64_t t0 = W(0, 10, 0, 0);

    for (i = 0; i < 5; i++)
        fire(r, ids[i], "guntung", ROUTE_CRIT, t0 + i * 5 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 29 * SEC, &d), 0);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
        ck_assert_int_eq(d.what, RD_FIRING);
        ck_assert_int_eq(d.nalerts, 5);
        for (k = 0; k < 5; k++)
            ck_assert_str_eq(d.alert_ids[k], ids[k]);
        ck_assert_str_eq(d.site, "guntung");
        for (k = 0; k < 3; k++)
            if (strcmp(d.member, m[k].name) == 0)
                got[k]++;
    }
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 0);
    ck_assert_int_eq(got[0] + got[1] + got[2], 3);
    ck_assert_int_eq(got[0] * got[1] * got[2], 1);
    /* after the group went out, a new alert opens a new group */
    fire(r, "a6", "guntung", ROUTE_CRIT, t0 + 31 * SEC);
    ck_assert_int_eq(router_next_due_ns(r), t0 + 61 * SEC);
    router_free(r);
}
END_TEST

START_TEST(group_split_by_site_and_size)
{
    struct member m = mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r = mkr(&m, 1, &p);
    struct route_delivery d;
    char id[8];
    int i;
    int64_t t0 = W(0, 10, 0, 0);

    for (i = 0; i < 9; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        fire(r, id, "guntung", ROUTE_WARN, t0);
    }
    fire(r, "o1", "loktuan", ROUTE_WARN, t0 + SEC);
    ck_assert_int_eq(router_next(r, t0 + 31 * SEC, &d), 1);
    ck_assert_int_eq(d.nalerts, 8);
    ck_assert_str_eq(d.alert_ids[7], "s7");
    ck_assert_int_eq(router_next(r, t0 + 31 * SEC, &d), 1);
    ck_assert_int_eq(d.nalerts, 1);
    ck_assert_str_eq(d.alert_ids[0], "s8");
    ck_assert_int_eq(router_next(r, t0 + 31 * SEC, &d), 1);
    ck_assert_str_eq(d.site, "loktuan");
    ck_assert_int_eq(router_next(r, t0 + 31 * SEC, &d), 0);
    router_free(r);
}
END_TEST

/* group_interval 300 s: a second warn batch for the same site waits until
 * 300 s after the first message; a crit does not. */
START_TEST(group_interval_limits_non_crit)
{
    struct member m = mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;
    int64_t t0 = W(0, 10, 0, 0);

    p.group_interval_s = 300;
    r = mkr(&m, 1, &p);
    fire(r, "w1", "guntung", ROUTE_WARN, t0);
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
    fire(r, "w2", "guntung", ROUTE_WARN, t0 + 60 * SEC);
    ck_assert_int_eq(router_next_due_ns(r), t0 + 330 * SEC);
    fire(r, "c1", "loktuan", ROUTE_CRIT, t0 + 60 * SEC);  /* other site */
    ck_assert_int_eq(router_next_due_ns(r), t0 + 90 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 90 * SEC, &d), 1);
    ck_assert_str_eq(d.alert_ids[0], "c1");
    /* a crit joining the waiting warn group takes it out at once */
    fire(r, "c2", "guntung", ROUTE_CRIT, t0 + 100 * SEC);
    ck_assert_int_eq(router_next_due_ns(r), t0 + 90 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 100 * SEC, &d), 1);
    ck_assert_int_eq(d.nalerts, 2);
    ck_assert_str_eq(d.alert_ids[0], "w2");
    ck_assert_str_eq(d.alert_ids[1], "c2");
    router_free(r);
}
END_TEST

/* ----------------------------------------------------------- reminders */

START_TEST(reminder_exactly_at_interval_and_stops_on_ack)
{
    struct member m = mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;
    int64_t t0 = W(0, 10, 0, 0);
    uint64_t k1;

    p.reminder_s[ROUTE_WARN] = 3600;
    r = mkr(&m, 1, &p);
    fire(r, "w1", "guntung", ROUTE_WARN, t0);
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_FIRING);
    /* first delivery at t0+30 s: reminders at t0+3630 s, t0+7230 s */
    ck_assert_int_eq(router_next_due_ns(r), t0 + 3630 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC - 1, &d), 0);
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_REMINDER);
    ck_assert_str_eq(d.alert_ids[0], "w1");
    k1 = d.key;
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC, &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), t0 + 7230 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 7230 * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_REMINDER);
    ck_assert(d.key != k1);
    ck_assert_int_eq(router_ack(r, "W1", "ani", t0 + 8000 * SEC), HUB_OK);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    ck_assert_int_eq(router_next(r, t0 + 20000 * SEC, &d), 0);
    router_free(r);
}
END_TEST

/* info has no reminder by default; crit every hour, warn every 4 h. */
START_TEST(reminder_defaults_per_severity)
{
    struct route_params p;

    route_params_defaults(&p);
    ck_assert_int_eq(p.reminder_s[ROUTE_INFO], 0);
    ck_assert_int_eq(p.reminder_s[ROUTE_WARN], 14400);
    ck_assert_int_eq(p.reminder_s[ROUTE_CRIT], 3600);
    ck_assert_int_eq(p.group_wait_s, 30);
    ck_assert_int_eq(p.group_interval_s, 300);
    ck_assert_int_eq(p.escalate_after_s, 1800);
    ck_assert_str_eq(p.quiet_start, "21:00");
    ck_assert_str_eq(p.quiet_end, "06:00");
}
END_TEST

/* ---------------------------------------------------------- escalation */

static struct router *esc_router(void)
{
    struct member m[3] = {
        mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO),
        mk("budi", "08122222222", "ketua", 2, "", ROUTE_INFO),
        mk("citra", "08133333333", "ketua", 3, "", ROUTE_CRIT),
    };
    struct route_params p = plain();

    p.escalate_after_s = 1800;
    return mkr(m, 3, &p);
}

START_TEST(escalation_to_next_tier)
{
    struct router *r = esc_router();
    struct route_delivery d;
    int64_t t0 = W(0, 10, 0, 0);

    fire(r, "w1", "guntung", ROUTE_WARN, t0);
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 0);
    /* 30 + 1800 = 1830 s */
    ck_assert_int_eq(router_next_due_ns(r), t0 + 1830 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 1830 * SEC - 1, &d), 0);
    ck_assert_int_eq(router_next(r, t0 + 1830 * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_ESCALATION);
    ck_assert_str_eq(d.member, "budi");
    ck_assert_int_eq(router_next(r, t0 + 1830 * SEC, &d), 0);
    /* tier 3 (citra) takes only crit: the warn stops at tier 2 */
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC, &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    /* resolved goes to both who were told */
    resolve(r, "w1", t0 + 4000 * SEC);
    ck_assert_int_eq(router_next(r, t0 + 4030 * SEC, &d), 1);
    ck_assert_int_eq(d.what, RD_RESOLVED);
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(router_next(r, t0 + 4030 * SEC, &d), 1);
    ck_assert_str_eq(d.member, "budi");
    ck_assert_int_eq(router_next(r, t0 + 4030 * SEC, &d), 0);
    router_free(r);
}
END_TEST

START_TEST(escalation_crit_reaches_tier3)
{
    struct router *r = esc_router();
    struct route_delivery d;
    int64_t t0 = W(0, 10, 0, 0);

    fire(r, "c1", "guntung", ROUTE_CRIT, t0);
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
    ck_assert_int_eq(router_next(r, t0 + 1830 * SEC, &d), 1);
    ck_assert_str_eq(d.member, "budi");
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC - 1, &d), 0);
    ck_assert_int_eq(router_next(r, t0 + 3630 * SEC, &d), 1);
    ck_assert_str_eq(d.member, "citra");
    ck_assert_int_eq(d.what, RD_ESCALATION);
    router_free(r);
}
END_TEST

START_TEST(escalation_not_after_ack)
{
    struct router *r = esc_router();
    struct route_delivery d;
    int64_t t0 = W(0, 10, 0, 0);

    fire(r, "w1", "guntung", ROUTE_WARN, t0);
    ck_assert_int_eq(router_next(r, t0 + 30 * SEC, &d), 1);
    ck_assert_int_eq(router_ack(r, "w1", "", t0 + 1000 * SEC), HUB_OK);
    ck_assert_int_eq(router_ack(r, "w1", "ani", t0 + 1001 * SEC), HUB_OK);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    ck_assert_int_eq(router_next(r, t0 + 1830 * SEC, &d), 0);
    ck_assert_int_eq(router_next(r, t0 + 9999 * SEC, &d), 0);
    router_free(r);
}
END_TEST

/* ------------------------------------------------------------ resolved */

/* ani works weekdays 08-17, budi weekends, citra always; warn goes to
 * operator+ketua: ani and citra (budi off duty, dedi is anggota). At 18:00
 * ani is off duty but still gets the resolved. */
START_TEST(resolved_to_those_told)
{
    struct member m[4] = {
        mk("ani", "08111111111", "operator", 1, "mon-fri 08:00-17:00", ROUTE_INFO),
        mk("budi", "08122222222", "operator", 1, "sat-sun", ROUTE_INFO),
        mk("citra", "08133333333", "ketua", 1, "", ROUTE_INFO),
        mk("dedi", "08144444444", "anggota", 1, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r = mkr(m, 4, &p);
    struct route_delivery d;
    int seen[4] = { 0, 0, 0, 0 }, i, k;

    fire(r, "w1", "guntung", ROUTE_WARN, W(0, 16, 0, 0));
    while (router_next(r, W(0, 16, 0, 30), &d))
        for (k = 0; k < 4; k++)
            if (strcmp(d.member, m[k].name) == 0 && d.what == RD_FIRING)
                seen[k]++;
    ck_assert_int_eq(seen[0], 1);
    ck_assert_int_eq(seen[1], 0);
    ck_assert_int_eq(seen[2], 1);
    ck_assert_int_eq(seen[3], 0);
    memset(seen, 0, sizeof(seen));
    resolve(r, "w1", W(0, 18, 0, 0));
    for (i = 0; router_next(r, W(0, 18, 0, 30), &d); i++) {
        ck_assert_int_eq(d.what, RD_RESOLVED);
        ck_assert_str_eq(d.alert_ids[0], "w1");
        for (k = 0; k < 4; k++)
            if (strcmp(d.member, m[k].name) == 0)
                seen[k]++;
    }
    ck_assert_int_eq(i, 2);
    ck_assert_int_eq(seen[0], 1);
    ck_assert_int_eq(seen[2], 1);
    ck_assert_int_eq(router_ack(r, "w1", "", W(0, 18, 1, 0)), ROUTE_ENOENT);
    router_free(r);
}
END_TEST

START_TEST(resolved_before_group_wait_sends_nothing)
{
    struct member m = mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r = mkr(&m, 1, &p);
    struct route_delivery d;
    struct route_stats st;

    fire(r, "w1", "guntung", ROUTE_WARN, W(0, 10, 0, 0));
    resolve(r, "w1", W(0, 10, 0, 20));
    resolve(r, "zz", W(0, 10, 0, 21));
    ck_assert_int_eq(router_next(r, W(0, 11, 0, 0), &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    router_get_stats(r, &st);
    ck_assert_int_eq(st.resolved_unsent, 1);
    ck_assert_int_eq(st.unknown_resolved, 1);
    ck_assert_int_eq(router_active_alerts(r), 0);
    router_free(r);
}
END_TEST

/* Resolved of a warn at night waits for 06:00; of a crit goes at once. */
START_TEST(resolved_obeys_quiet_by_severity)
{
    struct member m = mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;

    snprintf(p.quiet_start, sizeof(p.quiet_start), "21:00");
    snprintf(p.quiet_end, sizeof(p.quiet_end), "06:00");
    r = mkr(&m, 1, &p);
    fire(r, "w1", "guntung", ROUTE_WARN, W(0, 20, 0, 0));
    fire(r, "c1", "loktuan", ROUTE_CRIT, W(0, 20, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 20, 0, 30), &d), 1);
    ck_assert_int_eq(router_next(r, W(0, 20, 0, 30), &d), 1);
    resolve(r, "w1", W(0, 22, 0, 0));
    resolve(r, "c1", W(0, 22, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 22, 0, 30), &d), 1);
    ck_assert_str_eq(d.alert_ids[0], "c1");
    ck_assert_int_eq(d.what, RD_RESOLVED);
    ck_assert_int_eq(router_next(r, W(0, 22, 0, 30), &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), W(1, 6, 0, 0));
    ck_assert_int_eq(router_next(r, W(1, 6, 0, 0), &d), 1);
    ck_assert_str_eq(d.alert_ids[0], "w1");
    router_free(r);
}
END_TEST

/* ------------------------------------------------------------- routing */

/* info -> operators only; nobody on duty -> the whole tier; no eligible
 * member -> unrouted (info) or everyone of tier 1 (crit). */
START_TEST(routing_roles_and_duty)
{
    struct member m[3] = {
        mk("ani", "08111111111", "operator", 1, "sat-sun", ROUTE_INFO),
        mk("budi", "08122222222", "operator", 1, "sat-sun", ROUTE_INFO),
        mk("citra", "08133333333", "ketua", 1, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r = mkr(m, 3, &p);
    struct route_delivery d;
    int n = 0;

    /* Monday: both operators off duty, so both get the info */
    fire(r, "i1", "guntung", ROUTE_INFO, W(0, 10, 0, 0));
    while (router_next(r, W(0, 10, 0, 30), &d)) {
        ck_assert_str_ne(d.member, "citra");
        n++;
    }
    ck_assert_int_eq(n, 2);
    /* Saturday: still both (on duty now) */
    n = 0;
    fire(r, "i2", "guntung", ROUTE_INFO, W(5, 10, 0, 0));
    while (router_next(r, W(5, 10, 0, 30), &d))
        n++;
    ck_assert_int_eq(n, 2);
    router_free(r);
}
END_TEST

START_TEST(routing_min_severity_and_fallback)
{
    struct member m[2] = {
        mk("ani", "08111111111", "anggota", 1, "", ROUTE_CRIT),
        mk("budi", "08122222222", "anggota", 2, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r = mkr(m, 2, &p);
    struct route_delivery d;
    struct route_stats st;

    /* warn: roles operator,ketua -> nobody -> unrouted */
    fire(r, "w1", "guntung", ROUTE_WARN, W(0, 10, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 11, 0, 0), &d), 0);
    router_get_stats(r, &st);
    ck_assert_int_eq(st.unrouted, 1);
    /* crit: roles "*": ani (tier 1, min crit) is eligible */
    fire(r, "c1", "guntung", ROUTE_CRIT, W(0, 12, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 12, 0, 30), &d), 1);
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(router_next(r, W(0, 12, 0, 30), &d), 0);
    router_free(r);
}
END_TEST

START_TEST(routing_crit_fallback_ignores_roles)
{
    struct member m[2] = {
        mk("ani", "08111111111", "anggota", 1, "", ROUTE_INFO),
        mk("budi", "08122222222", "anggota", 2, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;

    snprintf(p.roles[ROUTE_CRIT], sizeof(p.roles[0]), "ketua");
    r = mkr(m, 2, &p);
    fire(r, "c1", "guntung", ROUTE_CRIT, W(0, 12, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 12, 0, 30), &d), 1);
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(router_next(r, W(0, 12, 0, 30), &d), 0);
    router_free(r);
}
END_TEST

/* A warn that turns crit is sent again (new key); a fall or a repeat
 * sends nothing. */
START_TEST(severity_rise_resends)
{
    struct member m[2] = {
        mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO),
        mk("dedi", "08144444444", "anggota", 1, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    struct router *r = mkr(m, 2, &p);
    struct route_delivery d;
    uint64_t k1;
    int n = 0;

    fire(r, "x1", "guntung", ROUTE_WARN, W(0, 10, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 10, 0, 30), &d), 1);
    ck_assert_str_eq(d.member, "ani");
    k1 = d.key;
    ck_assert_int_eq(router_next(r, W(0, 10, 0, 30), &d), 0);
    fire(r, "x1", "guntung", ROUTE_WARN, W(0, 10, 1, 0));
    ck_assert_int_eq(router_next(r, W(0, 10, 5, 0), &d), 0);
    fire(r, "x1", "guntung", ROUTE_CRIT, W(0, 10, 10, 0));
    while (router_next(r, W(0, 10, 10, 30), &d)) {
        ck_assert_int_eq(d.sev, ROUTE_CRIT);
        ck_assert(d.key != k1);
        n++;
    }
    ck_assert_int_eq(n, 2);   /* ani again, dedi newly eligible */
    fire(r, "x1", "guntung", ROUTE_WARN, W(0, 10, 20, 0));
    ck_assert_int_eq(router_next(r, W(0, 10, 30, 0), &d), 0);
    router_free(r);
}
END_TEST

/* An acked warn that turns crit is news: the ack is cleared and the
 * escalation timer restarts from the crit's delivery (10:10:30 + 1800 s). */
START_TEST(severity_rise_clears_ack)
{
    struct router *r = esc_router();
    struct route_delivery d;

    fire(r, "x1", "guntung", ROUTE_WARN, W(0, 10, 0, 0));
    ck_assert_int_eq(router_next(r, W(0, 10, 0, 30), &d), 1);
    ck_assert_int_eq(router_ack(r, "x1", "ani", W(0, 10, 5, 0)), HUB_OK);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    fire(r, "x1", "guntung", ROUTE_CRIT, W(0, 10, 10, 0));
    ck_assert_int_eq(router_next(r, W(0, 10, 10, 30), &d), 1);
    ck_assert_str_eq(d.member, "ani");
    ck_assert_int_eq(d.sev, ROUTE_CRIT);
    ck_assert_int_eq(router_next_due_ns(r), W(0, 10, 40, 30));
    ck_assert_int_eq(router_next(r, W(0, 10, 40, 30), &d), 1);
    ck_assert_int_eq(d.what, RD_ESCALATION);
    ck_assert_str_eq(d.member, "budi");
    router_free(r);
}
END_TEST

/* A warn that fires at 23:00 and clears at 03:00 sends nothing. */
START_TEST(quiet_fire_and_clear_at_night_sends_nothing)
{
    struct member m = mk("ani", "08123456789", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r;
    struct route_delivery d;
    struct route_stats st;

    snprintf(p.quiet_start, sizeof(p.quiet_start), "21:00");
    snprintf(p.quiet_end, sizeof(p.quiet_end), "06:00");
    r = mkr(&m, 1, &p);
    fire(r, "w1", "guntung", ROUTE_WARN, W(0, 23, 0, 0));
    resolve(r, "w1", W(1, 3, 0, 0));
    ck_assert_int_eq(router_next(r, W(1, 7, 0, 0), &d), 0);
    ck_assert_int_eq(router_next_due_ns(r), INT64_MAX);
    router_get_stats(r, &st);
    ck_assert_int_eq(st.resolved_unsent, 1);
    router_free(r);
}
END_TEST

/* ----------------------------------------------------------------- acks */

static const struct { const char *text; int ok; const char *id; } sms_cases[] = {
    { "OK a7", 1, "a7" },
    { "ok A7", 1, "a7" },
    { " Ok  a7 ", 1, "a7" },
    { "ACK b-12", 1, "b-12" },
    { "ack\tX_9\n", 1, "x_9" },
    { "OK", 0, "" },
    { "OKa7", 0, "" },
    { "OK a7 terima kasih", 0, "" },
    { "siap a7", 0, "" },
    { "OK a7!", 0, "" },
    { "", 0, "" },
    { "OK 0123456789abcdef", 0, "" },   /* 16 chars: too long */
};

START_TEST(sms_ack_parsing)
{
    char id[16] = "";

    ck_assert_int_eq(route_parse_sms_ack(sms_cases[_i].text, id, sizeof(id)),
                     sms_cases[_i].ok);
    if (sms_cases[_i].ok)
        ck_assert_str_eq(id, sms_cases[_i].id);
}
END_TEST

START_TEST(ack_unknown_and_phone_lookup)
{
    struct member m = mk("ani", "0811-1111-111", "operator", 1, "", ROUTE_INFO);
    struct route_params p = plain();
    struct router *r = mkr(&m, 1, &p);

    ck_assert_int_eq(router_ack(r, "nope", "", 0), ROUTE_ENOENT);
    ck_assert_str_eq(router_member_by_phone(r, "+62 811 1111 111"), "ani");
    ck_assert_str_eq(router_member_by_phone(r, "08111111111"), "ani");
    ck_assert_ptr_null(router_member_by_phone(r, "08122222222"));
    ck_assert_ptr_null(router_member_by_phone(r, "garbage"));
    router_free(r);
}
END_TEST

/* ------------------------------------------------------------ new/caps */

START_TEST(new_rejects_bad_member)
{
    struct member m[2] = {
        mk("ani", "08111111111", "operator", 1, "", ROUTE_INFO),
        mk("budi", "0812", "ketua", 1, "", ROUTE_INFO),
    };
    struct route_params p = plain();
    char err[160] = "";

    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "budi"));
    m[1] = mk("budi", "08122222222", "ketua", 1, "tuesday", ROUTE_INFO);
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "schedule"));
    m[1] = mk("ani", "08122222222", "ketua", 1, "", ROUTE_INFO);
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    m[1] = mk("budi", "08122222222", "ketua", 1, "", ROUTE_INFO);
    m[1].nchannels = 0;
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "channels"));
    m[1] = mk("budi", "08122222222", "ketua", 1, "", ROUTE_INFO);
    snprintf(m[1].lang, sizeof(m[1].lang), "jv");
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "lang"));
    m[1] = mk("budi", "08122222222", "ketua", 1, "", ROUTE_INFO);
    p.group_wait_s = -1;
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "timers"));
    p.group_wait_s = 30;
    snprintf(p.quiet_start, sizeof(p.quiet_start), "9pm");
    ck_assert_ptr_null(router_new(m, 2, &p, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "quiet"));
    router_free(NULL);
}
END_TEST

START_TEST(caps_are_counted)
{
    static struct member m[ROUTE_MAX_MEMBERS + 3];
    struct route_params p = plain();
    struct router *r;
    struct route_stats st;
    char id[16];
    size_t i;

    for (i = 0; i < ROUTE_MAX_MEMBERS + 3; i++) {
        char name[16], phone[20];

        snprintf(name, sizeof(name), "m%zu", i);
        snprintf(phone, sizeof(phone), "0812000%05zu", i);
        m[i] = mk(name, phone, "operator", 1, "", ROUTE_INFO);
    }
    r = mkr(m, ROUTE_MAX_MEMBERS + 3, &p);
    for (i = 0; i < ROUTE_MAX_ALERTS + 2; i++) {
        snprintf(id, sizeof(id), "a%zu", i);
        /* sites differ so that groups do not merge: 64 members x 130
           alerts would need far more than ROUTE_MAX_PENDING groups */
        router_on_alert(r, id, "rule", id, "drum", "d1", ROUTE_CRIT, 1,
                        W(0, 10, 0, 0));
    }
    router_get_stats(r, &st);
    ck_assert_int_eq(st.members_dropped, 3);
    ck_assert_int_eq(st.alerts_dropped, 2);
    ck_assert_int_eq(router_active_alerts(r), ROUTE_MAX_ALERTS);
    ck_assert_int_eq(router_pending(r), ROUTE_MAX_PENDING);
    ck_assert_int_eq(st.pending_dropped,
                     (uint64_t)ROUTE_MAX_MEMBERS * ROUTE_MAX_ALERTS -
                     ROUTE_MAX_PENDING);
    router_free(r);
}
END_TEST

/* ----------------------------------------------------------- save/load */

static struct router *sl_router(void)
{
    struct member m[3] = {
        mk("Bu Sari", "08111111111", "operator", 1, "", ROUTE_INFO),
        mk("budi", "08122222222", "operator", 1, "", ROUTE_INFO),
        mk("citra", "08133333333", "ketua", 2, "", ROUTE_INFO),
    };
    struct route_params p = plain();

    p.escalate_after_s = 1800;
    p.reminder_s[ROUTE_CRIT] = 3600;
    return mkr(m, 3, &p);
}

static int drain(struct router *r, int64_t t, struct route_delivery *d,
                 int max)
{
    int n = 0;

    while (n < max && router_next(r, t, &d[n]))
        n++;
    return n;
}

static void same_deliveries(struct router *a, struct router *b, int64_t t,
                            int expect)
{
    struct route_delivery da[16], db[16];
    int na = drain(a, t, da, 16), nb = drain(b, t, db, 16), i;
    size_t k;

    ck_assert_int_eq(na, expect);
    ck_assert_int_eq(nb, expect);
    for (i = 0; i < na; i++) {
        ck_assert_str_eq(da[i].member, db[i].member);
        ck_assert_int_eq(da[i].what, db[i].what);
        ck_assert_int_eq(da[i].nalerts, db[i].nalerts);
        for (k = 0; k < da[i].nalerts; k++)
            ck_assert_str_eq(da[i].alert_ids[k], db[i].alert_ids[k]);
        ck_assert(da[i].key == db[i].key);
        ck_assert_int_eq(da[i].due_ns, db[i].due_ns);
    }
}

START_TEST(save_load_mid_group_and_escalation)
{
    struct router *a = sl_router(), *b = sl_router(), *c = sl_router();
    static char buf[65536], buf2[65536];
    int64_t t0 = W(0, 10, 0, 0);
    int n;

    fire(a, "c1", "guntung", ROUTE_CRIT, t0);
    fire(a, "c2", "guntung", ROUTE_CRIT, t0 + 5 * SEC);
    router_ack(a, "c2", "budi", t0 + 6 * SEC);
    /* mid-group: nothing sent yet */
    n = router_save(a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    ck_assert_int_eq(router_load(b, buf), HUB_OK);
    ck_assert_int_eq(router_save(b, buf2, sizeof(buf2)), n);
    ck_assert_str_eq(buf, buf2);
    /* Bu Sari and budi, both with c1 and c2 */
    same_deliveries(a, b, t0 + 30 * SEC, 2);
    /* mid-escalation */
    ck_assert_int_gt(router_save(a, buf, sizeof(buf)), 0);
    ck_assert_int_eq(router_load(c, buf), HUB_OK);
    ck_assert_int_eq(router_next_due_ns(c), t0 + 1830 * SEC);
    /* c1 escalates to citra (c2 was acked); same key in a, b and c */
    same_deliveries(a, c, t0 + 1830 * SEC, 1);
    ck_assert_int_eq(router_next_due_ns(b), t0 + 1830 * SEC);
    {
        struct route_delivery db;
        struct router *a2 = sl_router();

        ck_assert_int_eq(router_next(b, t0 + 1830 * SEC, &db), 1);
        ck_assert_int_eq(db.what, RD_ESCALATION);
        ck_assert_str_eq(db.member, "citra");
        ck_assert_int_eq(db.nalerts, 1);
        ck_assert_str_eq(db.alert_ids[0], "c1");
        /* reminders at 30 + 3600 s to the three who were told */
        ck_assert_int_gt(router_save(b, buf, sizeof(buf)), 0);
        ck_assert_int_eq(router_load(a2, buf), HUB_OK);
        same_deliveries(b, a2, t0 + 3630 * SEC, 3);
        router_free(a2);
    }
    router_free(a);
    router_free(b);
    router_free(c);
}
END_TEST

START_TEST(save_too_small_is_efull)
{
    struct router *a = sl_router();
    char buf[40];

    fire(a, "c1", "guntung", ROUTE_CRIT, W(0, 10, 0, 0));
    ck_assert_int_eq(router_save(a, buf, sizeof(buf)), HUB_EFULL);
    ck_assert_str_eq(buf, "");
    router_free(a);
}
END_TEST

static const char *const garbage[] = {
    "",
    "hello\n",
    "kompos-route 1\n",                          /* no end */
    "kompos-route 2\nend\n",
    "kompos-route 1\na =x\nend\n",
    "kompos-route 1\na =c1 =guntung 9 0 0 = 0 1 0 0 0 0\nend\n",   /* sev 9 */
    "kompos-route 1\na =c1 =guntung 2 0 0 = 0 1 0 0 0 0 7\nend\n", /* extra */
    "kompos-route 1\na =c1 =gun%Z1 2 0 0 = 0 1 0 0 0 0\nend\n",
    "kompos-route 1\ng 0 =budi 0 =guntung 2 0 0 0 2\ne =c1 0 2\nend\n",
    "kompos-route 1\ne =c1 0 2\nend\n",
    "kompos-route 1\nn =budi\nend\n",
    "kompos-route 1\nend\nend\n",
    "kompos-route 1\nend",
    "kompos-route 1\ns =budi =guntung x\nend\n",
    "kompos-route 1\na =c1 =guntung 2 99999999999999999999 0 = 0 1 0 0 0 0\nend\n",
    "kompos-route 1\na  =c1 =guntung 2 0 0 = 0 1 0 0 0 0\nend\n",
    "\x01\x02\xff\n",
};

START_TEST(load_garbage_is_einval)
{
    struct router *r = sl_router();
    struct route_delivery d;

    fire(r, "c1", "guntung", ROUTE_CRIT, W(0, 10, 0, 0));
    ck_assert_int_eq(router_load(r, garbage[_i]), HUB_EINVAL);
    /* the state is unchanged: the group is still there */
    ck_assert_int_eq(router_active_alerts(r), 1);
    ck_assert_int_eq(router_pending(r), 2);
    ck_assert_int_eq(router_next(r, W(0, 10, 0, 30), &d), 1);
    router_free(r);
}
END_TEST

/* Every one-byte change and every truncation of a valid save loads or is
 * refused with HUB_EINVAL; never a crash (run under ASan/valgrind). */
START_TEST(load_mutations_never_crash)
{
    struct router *a = sl_router(), *b = sl_router();
    static char buf[8192], mut[8192];
    static const char subst[] = { ' ', '=', '%', '\n', '0', '9', '-', 'x',
                                  '\0' };
    struct route_delivery d;
    int n, i, rc, ok = 0, bad = 0;
    size_t k;

    fire(a, "c1", "guntung", ROUTE_CRIT, W(0, 10, 0, 0));
    fire(a, "c2", "guntung", ROUTE_WARN, W(0, 10, 0, 1));
    ck_assert_int_eq(router_next(a, W(0, 10, 0, 30), &d), 1);
    fire(a, "c3", "loktuan", ROUTE_INFO, W(0, 10, 0, 40));
    n = router_save(a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    for (i = 0; i < n; i++) {
        for (k = 0; k < sizeof(subst); k++) {
            memcpy(mut, buf, (size_t)n + 1);
            mut[i] = subst[k];
            rc = router_load(b, mut);
            ck_assert(rc == HUB_OK || rc == HUB_EINVAL);
            if (rc == HUB_OK)
                ok++;
            else
                bad++;
            while (router_next(b, W(0, 12, 0, 0), &d))
                ;
        }
        memcpy(mut, buf, (size_t)i);
        mut[i] = '\0';
        ck_assert_int_eq(router_load(b, mut), HUB_EINVAL);  /* no "end" */
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(bad, 0);
    router_free(a);
    router_free(b);
}
END_TEST

/* A saved group for a member no longer configured is skipped, counted. */
START_TEST(load_skips_unknown_member)
{
    struct router *r = sl_router();
    struct route_stats st;
    const char *text =
        "kompos-route 1\n"
        "a =c1 =guntung 2 100 0 = 0 1 0 0 0 0\n"
        "n =gone\n"
        "n =budi\n"
        "g 4 =gone 0 =guntung 2 30 0 30 1\n"
        "e =c1 100 2\n"
        "g 5 =budi 3 =guntung 2 30 0 30 1\n"
        "e =c1 100 1\n"
        "o 6\n"
        "end\n";
    struct route_delivery d;

    ck_assert_int_eq(router_load(r, text), HUB_OK);
    router_get_stats(r, &st);
    ck_assert_int_eq(st.load_skipped, 2);
    ck_assert_int_eq(router_pending(r), 1);
    ck_assert_int_eq(router_next(r, 30, &d), 1);
    ck_assert_str_eq(d.member, "budi");
    ck_assert_int_eq(d.what, RD_ESCALATION);
    router_free(r);
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *ph = tcase_create("phone");
    TCase *sc = tcase_create("schedule");
    TCase *qu = tcase_create("quiet");
    TCase *gr = tcase_create("group");
    TCase *tm = tcase_create("timers");
    TCase *rs = tcase_create("resolved");
    TCase *ro = tcase_create("routing");
    TCase *ak = tcase_create("ack");
    TCase *sv = tcase_create("saveload");

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
    tcase_add_loop_test(ph, phone_normalised, 0, N(phone_ok));
    tcase_add_loop_test(ph, phone_rejected, 0, N(phone_bad));
    tcase_add_test(ph, phone_small_buffer);
    suite_add_tcase(s, ph);

    tcase_add_loop_test(sc, schedule_on_duty, 0, N(duty_cases));
    tcase_add_test(sc, schedule_uses_wita);
    tcase_add_loop_test(sc, schedule_rejected, 0, N(sched_bad));
    suite_add_tcase(s, sc);

    tcase_add_test(qu, quiet_warn_waits_for_morning);
    tcase_add_test(qu, quiet_crit_goes_at_once);
    tcase_add_test(qu, quiet_boundaries_and_night_group);
    tcase_add_test(qu, quiet_fire_and_clear_at_night_sends_nothing);
    suite_add_tcase(s, qu);

    tcase_add_test(gr, group_storm_one_delivery_per_member);
    tcase_add_test(gr, group_split_by_site_and_size);
    tcase_add_test(gr, group_interval_limits_non_crit);
    suite_add_tcase(s, gr);

    tcase_add_test(tm, reminder_exactly_at_interval_and_stops_on_ack);
    tcase_add_test(tm, reminder_defaults_per_severity);
    tcase_add_test(tm, escalation_to_next_tier);
    tcase_add_test(tm, escalation_crit_reaches_tier3);
    tcase_add_test(tm, escalation_not_after_ack);
    suite_add_tcase(s, tm);

    tcase_add_test(rs, resolved_to_those_told);
    tcase_add_test(rs, resolved_before_group_wait_sends_nothing);
    tcase_add_test(rs, resolved_obeys_quiet_by_severity);
    suite_add_tcase(s, rs);

    tcase_add_test(ro, routing_roles_and_duty);
    tcase_add_test(ro, routing_min_severity_and_fallback);
    tcase_add_test(ro, routing_crit_fallback_ignores_roles);
    tcase_add_test(ro, severity_rise_resends);
    tcase_add_test(ro, severity_rise_clears_ack);
    tcase_add_test(ro, new_rejects_bad_member);
    tcase_add_test(ro, caps_are_counted);
    suite_add_tcase(s, ro);

    tcase_add_loop_test(ak, sms_ack_parsing, 0, N(sms_cases));
    tcase_add_test(ak, ack_unknown_and_phone_lookup);
    suite_add_tcase(s, ak);

    tcase_add_test(sv, save_load_mid_group_and_escalation);
    tcase_add_test(sv, save_too_small_is_efull);
    tcase_add_loop_test(sv, load_garbage_is_einval, 0, N(garbage));
    tcase_add_test(sv, load_skips_unknown_member);
    tcase_add_test(sv, load_mutations_never_crash);
    suite_add_tcase(s, sv);
#undef N
    return s;
}

HUB_CHECK_MAIN(route_suite)
