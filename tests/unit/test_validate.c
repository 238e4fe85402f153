/* SPDX-License-Identifier: MIT */
/* test_validate.c - ranges, DS18B20 fault codes, non-finite values and
 * timestamp sanity, table-driven. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "validate.h"

#define SEC INT64_C(1000000000)

enum cfg_kind {
    CFG_DEFAULT,        /* validate_cfg_defaults()                      */
    CFG_NO_DS18B20,     /* defaults with ds18b20_pattern ""             */
    CFG_CONFIGURED,     /* defaults plus the configured[] ranges below  */
    CFG_OTHER_PROBE     /* DS18B20 rules on "probe_*", hot_c 70         */
};

static const struct range_rule configured[] = {
    { "temp_core_c",  0.0, 100.0 },   /* overrides temp_*_c [-5, 90]         */
    { "temp_*",      10.0,  20.0 },   /* a later, broader rule               */
    { "*_pct",       10.0,  90.0 },   /* overrides *_pct [0, 100]            */
    { "ph",           3.0,   9.0 },
    { "[ab]_?x",      0.0,   1.0 },   /* full fnmatch syntax                 */
    { "custom",      -1.0,   1.0 },
};

static void make_cfg(struct validate_cfg *c, enum cfg_kind k)
{
    validate_cfg_defaults(c);
    switch (k) {
    case CFG_DEFAULT:
        break;
    case CFG_NO_DS18B20:
        c->ds18b20_pattern[0] = '\0';
        break;
    case CFG_CONFIGURED:
        c->ranges = configured;
        c->nranges = sizeof(configured) / sizeof(configured[0]);
        break;
    case CFG_OTHER_PROBE:
        strcpy(c->ds18b20_pattern, "probe_*");
        c->ds18b20_hot_c = 70.0;
        break;
    }
}

struct vcase {
    enum cfg_kind cfg;
    const char *field;
    double v;
    int has_prev;
    double prev;
    const char *want;   /* NULL = accepted */
};

static const struct vcase vcases[] = {
    /* default ranges, inclusive bounds; first match wins */
    { CFG_DEFAULT, "temp_core_c", 56.25, 0, 0, NULL },
    { CFG_DEFAULT, "temp_core_c", -5.0, 0, 0, NULL },
    { CFG_DEFAULT, "temp_core_c", 90.0, 0, 0, NULL },
    { CFG_DEFAULT, "temp_core_c", 90.01, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "temp_core_c", -5.01, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "temp_ambient_c", 95.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "water_c", 95.0, 0, 0, NULL },
    { CFG_DEFAULT, "water_c", 125.0, 0, 0, NULL },
    { CFG_DEFAULT, "water_c", 125.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "water_c", -40.0, 0, 0, NULL },
    { CFG_DEFAULT, "water_c", -40.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "moisture_pct", 0.0, 0, 0, NULL },
    { CFG_DEFAULT, "moisture_pct", 100.0, 0, 0, NULL },
    { CFG_DEFAULT, "moisture_pct", 100.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "o2_pct", -0.1, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "ph", 7.0, 0, 0, NULL },
    { CFG_DEFAULT, "ph", 1.0, 0, 0, NULL },
    { CFG_DEFAULT, "ph", 13.0, 0, 0, NULL },
    { CFG_DEFAULT, "ph", 0.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "ph", 13.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "ph_raw", 500.0, 0, 0, NULL },
    { CFG_DEFAULT, "ec_ms_cm", 50.0, 0, 0, NULL },
    { CFG_DEFAULT, "ec_ms_cm", 51.0, 0, 0, "out_of_range" },   /* not *_cm */
    { CFG_DEFAULT, "ec_ms_cm", -1.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "mass_kg", 10000.0, 0, 0, NULL },
    { CFG_DEFAULT, "mass_kg", 10000.5, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "mass_kg", -1.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "level_cm", 1000.0, 0, 0, NULL },
    { CFG_DEFAULT, "level_cm", 1001.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "volume_l", 1000000.0, 0, 0, NULL },
    { CFG_DEFAULT, "volume_l", 1000001.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "volume_l", -0.5, 0, 0, "out_of_range" },
    /* no rule: any finite value */
    { CFG_DEFAULT, "foo", 1e300, 0, 0, NULL },
    { CFG_DEFAULT, "foo", -1e300, 0, 0, NULL },
    { CFG_DEFAULT, "litres", -5.0, 0, 0, NULL },
    { CFG_DEFAULT, "", 1.0, 0, 0, NULL },
    /* non-finite comes first, for every field */
    { CFG_DEFAULT, "foo", NAN, 0, 0, "non_finite" },
    { CFG_DEFAULT, "foo", INFINITY, 0, 0, "non_finite" },
    { CFG_DEFAULT, "foo", -INFINITY, 0, 0, "non_finite" },
    { CFG_DEFAULT, "temp_core_c", NAN, 1, 85.0, "non_finite" },
    { CFG_DEFAULT, "ph", INFINITY, 0, 0, "non_finite" },
    /* DS18B20 power-on value */
    { CFG_DEFAULT, "temp_core_c", 85.0, 0, 0, "ds18b20_power_on" },
    { CFG_DEFAULT, "temp_core_c", 85.0005, 0, 0, "ds18b20_power_on" },
    { CFG_DEFAULT, "temp_core_c", 84.9995, 0, 0, "ds18b20_power_on" },
    { CFG_DEFAULT, "temp_core_c", 85.002, 0, 0, NULL },
    { CFG_DEFAULT, "temp_core_c", 84.99, 0, 0, NULL },
    { CFG_DEFAULT, "temp_core_c", 85.0, 1, 79.9, "ds18b20_power_on" },
    { CFG_DEFAULT, "temp_core_c", 85.0, 1, 80.0, NULL },
    { CFG_DEFAULT, "temp_core_c", 85.0, 1, 83.5, NULL },
    { CFG_DEFAULT, "temp_core_c", 85.0, 0, 83.5, "ds18b20_power_on" },
    { CFG_DEFAULT, "temp_liquid_c", 85.0, 1, 30.0, "ds18b20_power_on" },
    /* DS18B20 disconnected */
    { CFG_DEFAULT, "temp_core_c", -127.0, 0, 0, "ds18b20_disconnected" },
    { CFG_DEFAULT, "temp_core_c", -127.0009, 1, 85.0, "ds18b20_disconnected" },
    { CFG_DEFAULT, "temp_core_c", -126.99, 0, 0, "out_of_range" },
    /* fields that are not DS18B20 probes: plain range check */
    { CFG_DEFAULT, "water_c", 85.0, 0, 0, NULL },
    { CFG_DEFAULT, "water_c", -127.0, 0, 0, "out_of_range" },
    { CFG_DEFAULT, "foo", -127.0, 0, 0, NULL },
    /* DS18B20 rules disabled */
    { CFG_NO_DS18B20, "temp_core_c", 85.0, 0, 0, NULL },
    { CFG_NO_DS18B20, "temp_core_c", -127.0, 0, 0, "out_of_range" },
    { CFG_NO_DS18B20, "", 85.0, 0, 0, NULL },
    /* another probe pattern and hot_c */
    { CFG_OTHER_PROBE, "probe_1", 85.0, 1, 69.0, "ds18b20_power_on" },
    { CFG_OTHER_PROBE, "probe_1", 85.0, 1, 70.0, NULL },
    { CFG_OTHER_PROBE, "probe_1", -127.0, 0, 0, "ds18b20_disconnected" },
    { CFG_OTHER_PROBE, "temp_core_c", 85.0, 0, 0, NULL },
    /* configured ranges first, then defaults */
    { CFG_CONFIGURED, "temp_core_c", 95.0, 0, 0, NULL },
    { CFG_CONFIGURED, "temp_core_c", 100.5, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "temp_core_c", 85.0, 0, 0, "ds18b20_power_on" },
    { CFG_CONFIGURED, "temp_mid_c", 50.0, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "temp_mid_c", 15.0, 0, 0, NULL },
    { CFG_CONFIGURED, "moisture_pct", 95.0, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "moisture_pct", 50.0, 0, 0, NULL },
    { CFG_CONFIGURED, "ph", 10.0, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "a_1x", 2.0, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "c_1x", 2.0, 0, 0, NULL },
    { CFG_CONFIGURED, "custom", -1.5, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "level_cm", 1500.0, 0, 0, "out_of_range" },
    { CFG_CONFIGURED, "level_cm", 500.0, 0, 0, NULL },
};

START_TEST(test_value)
{
    const struct vcase *c = &vcases[_i];
    struct validate_cfg cfg;
    const char *got;

    make_cfg(&cfg, c->cfg);
    got = validate_value(&cfg, c->field, c->v, c->has_prev, c->prev);
    if (c->want)
        ck_assert_msg(got && strcmp(got, c->want) == 0, "case %d %s=%g: %s, want %s",
                      _i, c->field, c->v, got ? got : "(accepted)", c->want);
    else
        ck_assert_msg(got == NULL, "case %d %s=%g: %s, want accepted", _i, c->field,
                      c->v, got);
}
END_TEST

struct rcase {
    enum cfg_kind cfg;
    const char *field;
    int found;
    double min, max;
};

static const struct rcase rcases[] = {
    { CFG_DEFAULT, "temp_core_c", 1, -5, 90 },
    { CFG_DEFAULT, "temp_c", 1, -40, 125 },      /* "temp_*_c" needs two '_' */
    { CFG_DEFAULT, "co2_pct", 1, 0, 100 },
    { CFG_DEFAULT, "ph", 1, 1, 13 },
    { CFG_DEFAULT, "ec_ms_cm", 1, 0, 50 },
    { CFG_DEFAULT, "mass_kg", 1, 0, 10000 },
    { CFG_DEFAULT, "level_cm", 1, 0, 1000 },
    { CFG_DEFAULT, "volume_l", 1, 0, 1000000 },
    { CFG_DEFAULT, "batch_age_d", 0, 0, 0 },
    { CFG_DEFAULT, "PH", 0, 0, 0 },
    { CFG_CONFIGURED, "temp_core_c", 1, 0, 100 },
    { CFG_CONFIGURED, "temp_top_c", 1, 10, 20 },
    { CFG_CONFIGURED, "o2_pct", 1, 10, 90 },
    { CFG_CONFIGURED, "mass_kg", 1, 0, 10000 },
    { CFG_CONFIGURED, "nothing", 0, 0, 0 },
};

START_TEST(test_range_for)
{
    const struct rcase *c = &rcases[_i];
    struct validate_cfg cfg;
    double lo = -999, hi = -999;
    int found;

    make_cfg(&cfg, c->cfg);
    found = validate_range_for(&cfg, c->field, &lo, &hi);
    ck_assert_msg(found == c->found, "%s: found %d", c->field, found);
    if (found) {
        ck_assert_msg(lo == c->min && hi == c->max, "%s: [%g, %g], want [%g, %g]",
                      c->field, lo, hi, c->min, c->max);
    } else {
        ck_assert(lo == -999 && hi == -999);
    }
}
END_TEST

START_TEST(test_defaults)
{
    struct validate_cfg c;
    const struct range_rule *r = validate_default_ranges();
    size_t n = 0;

    memset(&c, 0x5a, sizeof(c));
    validate_cfg_defaults(&c);
    ck_assert_ptr_null(c.ranges);
    ck_assert_uint_eq(c.nranges, 0);
    ck_assert_str_eq(c.ds18b20_pattern, "temp_*_c");
    ck_assert(c.ds18b20_hot_c == 80.0);
    ck_assert_int_eq(c.max_future_ns, 300 * SEC);
    ck_assert_int_eq(c.max_past_ns, 0);

    ck_assert_ptr_nonnull(r);
    while (r[n].pattern[0])
        n++;
    ck_assert_uint_eq(n, 8);
    ck_assert_str_eq(r[0].pattern, "temp_*_c");
    ck_assert_str_eq(r[1].pattern, "*_c");
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(r[i].min < r[i].max, "%s", r[i].pattern);
}
END_TEST

struct tscase {
    int64_t max_future, max_past;
    int64_t ts, now;
    const char *want;
};

#define NOW (INT64_C(1764295200) * SEC)

static const struct tscase tscases[] = {
    { 300 * SEC, 0, NOW, NOW, NULL },
    { 300 * SEC, 0, NOW + 300 * SEC, NOW, NULL },
    { 300 * SEC, 0, NOW + 300 * SEC + 1, NOW, "ts_future" },
    { 300 * SEC, 0, NOW + 86400 * SEC, NOW, "ts_future" },
    { 300 * SEC, 0, 1, NOW, NULL },                 /* no past limit */
    { 0, 0, INT64_MAX, NOW, NULL },                 /* no future limit */
    { 300 * SEC, 3600 * SEC, NOW - 3600 * SEC, NOW, NULL },
    { 300 * SEC, 3600 * SEC, NOW - 3600 * SEC - 1, NOW, "ts_too_old" },
    { 300 * SEC, 3600 * SEC, 0, NOW, "ts_too_old" },
    { 300 * SEC, 3600 * SEC, NOW + 301 * SEC, NOW, "ts_future" },
    { INT64_MAX, 0, INT64_MAX, NOW, NULL },         /* no overflow */
    { 300 * SEC, 0, INT64_MAX, INT64_MAX - SEC, NULL },
    { 300 * SEC, INT64_MAX, INT64_MIN, -SEC, NULL },  /* now - max overflows */
    { 300 * SEC, 3600 * SEC, INT64_MIN, INT64_MIN + SEC, NULL },
};

START_TEST(test_ts)
{
    const struct tscase *c = &tscases[_i];
    struct validate_cfg cfg;
    const char *got;

    validate_cfg_defaults(&cfg);
    cfg.max_future_ns = c->max_future;
    cfg.max_past_ns = c->max_past;
    got = validate_ts(&cfg, c->ts, c->now);
    if (c->want)
        ck_assert_msg(got && strcmp(got, c->want) == 0, "case %d: %s, want %s", _i,
                      got ? got : "(accepted)", c->want);
    else
        ck_assert_msg(got == NULL, "case %d: %s, want accepted", _i, got);
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("validate");

    tcase_add_loop_test(tc, test_value, 0, (int)(sizeof(vcases) / sizeof(vcases[0])));
    tcase_add_loop_test(tc, test_range_for, 0, (int)(sizeof(rcases) / sizeof(rcases[0])));
    tcase_add_test(tc, test_defaults);
    tcase_add_loop_test(tc, test_ts, 0, (int)(sizeof(tscases) / sizeof(tscases[0])));
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(validate_suite)
