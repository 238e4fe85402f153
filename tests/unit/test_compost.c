/* SPDX-License-Identifier: MIT */
/* test_compost.c - the compost glue inside the data path: MQTT messages in
 * (a drum batch over simulated weeks, a tank draw, a spike), drum_state /
 * tank_state / batch / sensor_fault line protocol out through the
 * recording fake transport, and the state file across a restart. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "compost.h"
#include "config.h"
#include "fake_transport.h"
#include "hub.h"
#include "hub_err.h"
#include "influx_out.h"

#define SEC   1000000000LL
#define MIN   (60 * SEC)
#define HOUR  (3600 * SEC)
#define DAY   (24 * HOUR)
#define W0    1764295200000000000LL   /* 2025-11-28T02:00:00Z */

static struct fake_transport ft;
static struct influx_transport tr;
static struct hub_config cfg;
static struct hub *h;
static char err[256];
static char dir[64];
static char state_path[128];
static hub_mono_ms mono;

static void setup(void)
{
    fake_transport_init(&ft);
    tr = fake_transport_iface(&ft);
    ck_assert_int_eq(config_defaults(&cfg), HUB_OK);
    free(cfg.site);
    cfg.site = strdup("s1");
    cfg.influx.batch_size = 100000;
    cfg.influx.max_queue_points = 1000000;
    cfg.influx.flush_interval_ms = 100;
    cfg.stats.window_s = 3600;
    cfg.stats.history_s = 3600;
    cfg.validate.max_future_s = 0;       /* traces run in the past */
    snprintf(dir, sizeof(dir), "/tmp/test_compost.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(state_path, sizeof(state_path), "%s/compost.state", dir);
    free(cfg.compost.state_file);
    cfg.compost.state_file = strdup(state_path);
    free(cfg.spool.dir);
    cfg.spool.dir = strdup("");
    cfg.alerts.enabled = 0;
    h = NULL;
    mono = 1000;
}

static void teardown(void)
{
    char tmp[160];

    hub_free(h);
    h = NULL;
    config_free(&cfg);
    fake_transport_reset(&ft);
    unlink(state_path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", state_path);
    unlink(tmp);
    rmdir(dir);
}

static void make(void)
{
    h = hub_new(&cfg, "", &tr, err, sizeof(err));
    ck_assert_msg(h != NULL, "hub_new: %s", err);
}

/* Answer every POST so the queue never fills. */
static void pump(void)
{
    int guard;

    mono += 200;
    hub_tick(h, mono, W0);
    for (guard = 0; guard < 1000 && fake_transport_pending(&ft); guard++) {
        ck_assert_int_eq(fake_transport_answer(&ft, hub_writer(h), 204, -1, NULL, mono), 0);
        hub_tick(h, mono, W0);
    }
}

static void msg(const char *topic, const char *payload)
{
    hub_on_message(h, topic, payload, strlen(payload), mono, W0 + 100 * DAY);
}

static void event(const char *kind, const char *id, int64_t ts, const char *body)
{
    char topic[128], p[512];

    snprintf(topic, sizeof(topic), "kube/s1/%s/%s/event", kind, id);
    snprintf(p, sizeof(p), "{\"ts\": %lld, %s}", (long long)(ts / 1000000), body);
    msg(topic, p);
}

/* The core's rise above ambient, a gamma-shaped curve peaking at day 4
 * (domain-compost.md 7.2, the cheap empirical model). */
static double rise(double day, double peak)
{
    const double tp = 4.0, a = 2.0;

    if (day <= 0)
        return 0;
    return peak * pow(day / tp, a) * exp(a * (1.0 - day / tp));
}

/* Sensor noise: uniform in +-0.15, from a fixed LCG (repeatable). */
static double noise(void)
{
    static uint32_t x = 12345;

    x = x * 1664525u + 1013904223u;
    return ((double)(x >> 8) / 16777216.0 - 0.5) * 0.3;
}

/* Feed drum 'id' and the site ambient every 5 min from day d0 to d1, each
 * reading with a little noise (a perfectly constant probe is stuck). */
static void feed_drum(const char *id, double d0, double d1, double peak)
{
    char topic[64], p[256];
    int n = 0;

    snprintf(topic, sizeof(topic), "kube/s1/drum/%s", id);
    for (double d = d0; d < d1 - 1e-9; d += 5.0 / 1440.0) {
        int64_t ts = W0 + (int64_t)llround(d * 288.0) * 5 * MIN;
        double core = 27.0 + rise(d, peak);

        snprintf(p, sizeof(p), "{\"ts\": %lld, \"temp_ambient_c\": %.2f}",
                 (long long)(ts / 1000000), 27.0 + noise());
        msg("kube/s1/site/weather", p);
        snprintf(p, sizeof(p), "{\"ts\": %lld, \"temp_core_c\": %.2f, \"temp_mid_c\": %.2f, "
                 "\"temp_top_c\": %.2f, \"moisture_pct\": %.1f}",
                 (long long)(ts / 1000000), core + noise(), 27.0 + 0.95 * rise(d, peak) + noise(),
                 27.0 + 0.9 * rise(d, peak) + noise(), 48.0 + 3 * noise());
        msg(topic, p);
        if (++n % 200 == 0)
            pump();
    }
    pump();
}

/* The value of 'key=' in the last line of text starting with 'prefix'. */
static double last_field(const char *text, const char *prefix, const char *key)
{
    const char *line = NULL, *p = text, *f;
    char k[64];

    while ((p = strstr(p, prefix)) != NULL) {
        if (p == text || p[-1] == '\n')
            line = p;
        p++;
    }
    if (!line)
        return NAN;
    snprintf(k, sizeof(k), "%s=", key);
    f = line;
    for (;;) {
        f = strstr(f, k);
        if (!f || f > strchr(line, '\n'))
            return NAN;
        if (f[-1] == ',' || f[-1] == ' ')
            break;
        f++;
    }
    f += strlen(k);
    if (*f == '"')
        f++;
    return strtod(f, NULL);
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    const char *p = text;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p++;
    }
    return n;
}

START_TEST(a_batch_goes_hot_then_mature_then_harvested)
{
    const char *text;

    make();
    event("drum", "3", W0, "\"event\": \"batch_start\", \"batch\": \"D3-A\", \"mass_kg\": 60");
    feed_drum("3", 0.0, 60.0, 33.0);    /* peak 60 C at day 4 */
    event("drum", "3", W0 + 60 * DAY, "\"event\": \"harvest\", \"mass_kg\": 24");
    feed_drum("3", 60.0, 60.2, 1.0);
    pump();
    text = fake_transport_all_text(&ft);
    ck_assert_msg(strstr(text, "drum_state,batch=D3-A,id=3,site=s1 ") != NULL, "no drum_state");
    ck_assert_msg(strstr(text, "phase=\"THERMOPHILIC\"") != NULL, "never thermophilic");
    ck_assert_msg(strstr(text, "phase=\"CURING\"") != NULL, "never curing");
    ck_assert_msg(strstr(text, "phase=\"MATURE\"") != NULL, "never mature");
    ck_assert_msg(strstr(text, "phase=\"HARVESTED\"") != NULL, "never harvested");
    /* core >= 55 C: 27 + 33 * g(d) >= 55 for about 2.9 days around day 4 */
    ck_assert_double_ge(last_field(text, "drum_state,", "hours_ge_55"), 48.0);
    ck_assert_double_le(last_field(text, "drum_state,", "hours_ge_55"), 80.0);
    ck_assert_msg(strstr(text, "batch,batch=D3-A,id=3,kind=drum,site=s1 ") != NULL, "no batch point");
    ck_assert_double_eq_tol(last_field(text, "batch,", "input_mass_kg"), 60.0, 1e-9);
    ck_assert_double_eq_tol(last_field(text, "batch,", "output_mass_kg"), 24.0, 1e-9);
    ck_assert_double_eq_tol(last_field(text, "batch,", "yield_pct"), 40.0, 1e-6);
}
END_TEST

START_TEST(a_restart_keeps_the_hours_and_the_phase)
{
    double before, after;
    const char *text;

    make();
    event("drum", "1", W0, "\"event\": \"batch_start\", \"batch\": \"D1\"");
    feed_drum("1", 0.0, 8.0, 33.0);
    text = fake_transport_all_text(&ft);
    before = last_field(text, "drum_state,", "hours_ge_55");
    ck_assert_double_ge(before, 48.0);
    hub_free(h);                        /* saves the state file */
    h = NULL;
    ck_assert_int_eq(access(state_path, R_OK), 0);
    fake_transport_reset(&ft);
    make();                             /* loads it */
    feed_drum("1", 8.0, 9.0, 33.0);
    text = fake_transport_all_text(&ft);
    after = last_field(text, "drum_state,", "hours_ge_55");
    ck_assert_msg(after >= before - 1e-9, "hours at >= 55 C reset by the restart: %g -> %g",
                  before, after);
    ck_assert_msg(strstr(text, "drum_state,batch=D1,") != NULL, "batch name lost");
    ck_assert_msg(strstr(text, "phase=\"MESOPHILIC\"") == NULL, "phase restarted");
    ck_assert_double_ge(last_field(text, "drum_state,", "batch_age_d"), 8.0);
}
END_TEST

START_TEST(a_damaged_state_file_is_skipped_not_fatal)
{
    FILE *f = fopen(state_path, "w");
    struct compost_counters n;

    ck_assert_ptr_nonnull(f);
    fputs("# header\ndrum s1 1 garbage\nnonsense\ntank s1 %ZZ x\n\n", f);
    fclose(f);
    make();
    feed_drum("1", 0.0, 0.5, 20.0);
    ck_assert_msg(strstr(fake_transport_all_text(&ft), "drum_state,") != NULL, "drum not tracked");
    hub_free(h);
    h = NULL;
    /* the file was rewritten with good lines only */
    f = fopen(state_path, "r");
    ck_assert_ptr_nonnull(f);
    {
        char line[8192];
        int drums = 0;

        while (fgets(line, sizeof(line), f)) {
            ck_assert_msg(strstr(line, "garbage") == NULL && strstr(line, "nonsense") == NULL,
                          "bad line kept: %s", line);
            drums += strncmp(line, "drum s1 1 ", 10) == 0;
        }
        fclose(f);
        ck_assert_int_eq(drums, 1);
    }
    (void)n;
}
END_TEST

START_TEST(a_spike_lands_in_sensor_fault_and_stays_raw)
{
    const char *text;
    char p[256];
    int64_t ts = W0 + 2 * HOUR;

    make();
    feed_drum("2", 0.0, 2.0 / 24.0, 5.0);
    /* one reading 12 C above the rest, then back */
    snprintf(p, sizeof(p), "{\"ts\": %lld, \"temp_core_c\": 40.0}", (long long)(ts / 1000000));
    msg("kube/s1/drum/2", p);
    snprintf(p, sizeof(p), "{\"ts\": %lld, \"temp_core_c\": 28.0}",
             (long long)((ts + 5 * MIN) / 1000000));
    msg("kube/s1/drum/2", p);
    pump();
    text = fake_transport_all_text(&ft);
    ck_assert_msg(strstr(text, "sensor_fault,field=temp_core_c,id=2,kind=drum,reason=spike,site=s1 value=40 ")
                  != NULL, "no spike fault in:\n%.2000s", text);
    ck_assert_msg(strstr(text, "drum,id=2,site=s1 temp_core_c=40 ") != NULL, "raw reading lost");
    ck_assert_int_eq(count_lines(text, "reason=spike"), 1);
}
END_TEST

START_TEST(a_tank_draw_is_counted_in_litres)
{
    const char *text;
    char p[256];
    double drawn;
    int64_t ts;
    int i;

    make();
    /* 58 cm vertical cylinder, sensor at 115 cm: level 80 cm = 211.4 L, then 70 cm = 184.9 L */
    for (i = 0; i < 12 * 24; i++) {
        double level = i < 6 * 24 ? 80.0 : 70.0;

        ts = W0 + (int64_t)i * 5 * MIN;
        snprintf(p, sizeof(p), "{\"ts\": %lld, \"distance_cm\": %.1f, \"ph\": 4.0}",
                 (long long)(ts / 1000000), 115.0 - level);
        msg("kube/s1/tank/1", p);
    }
    pump();
    text = fake_transport_all_text(&ft);
    ck_assert_msg(strstr(text, "tank_state,") != NULL, "no tank_state");
    drawn = last_field(text, "tank_state,", "litres_drawn_total");
    /* pi * 29^2 * 10 cm = 26.42 L */
    ck_assert_double_eq_tol(drawn, 26.42, 0.5);
    ck_assert_double_eq_tol(last_field(text, "tank_state,", "volume_l"), 184.97, 0.5);
}
END_TEST

START_TEST(compost_off_writes_no_state)
{
    cfg.compost.enabled = 0;
    make();
    feed_drum("1", 0.0, 1.0, 20.0);
    ck_assert_ptr_null(strstr(fake_transport_all_text(&ft), "drum_state"));
    hub_free(h);
    h = NULL;
    ck_assert_int_ne(access(state_path, F_OK), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("compost");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_batch_goes_hot_then_mature_then_harvested);
    tcase_add_test(tc, a_restart_keeps_the_hours_and_the_phase);
    tcase_add_test(tc, a_damaged_state_file_is_skipped_not_fatal);
    tcase_add_test(tc, a_spike_lands_in_sensor_fault_and_stays_raw);
    tcase_add_test(tc, a_tank_draw_is_counted_in_litres);
    tcase_add_test(tc, compost_off_writes_no_state);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(suite)
