/* SPDX-License-Identifier: MIT */
/* test_http_status.c - the status server: status.c's pages rendered from a
 * real hub (config defaults, recording fake transport, a few messages fed
 * through hub_on_message) without sockets, then http_status.c over a real
 * loopback socket (headers, 404/405, a POST body never read, bind errors). */
#define _GNU_SOURCE             /* mkdtemp, nftw */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "buf.h"
#include "check_main.h"
#include "clock.h"
#include "config.h"
#include "fake_transport.h"
#include "http_status.h"
#include "hub.h"
#include "hub_err.h"
#include "influx_out.h"
#include "spool.h"
#include "status.h"

#define SEC   1000000000LL
#define W0    1764295200000000000LL   /* 2025-11-28T02:00:00Z */
#define T0    100000                  /* monotonic ms at "start" */
#define SECRET "s3cret-Token-XYZ"

static struct fake_transport ft;
static struct influx_transport tr;
static struct hub_config cfg;
static struct hub *h;
static struct status_health health;
static struct status_src src;
static struct buf out;
static const char *ct;
static char err[256];
static char spool_dir[64];
static struct spool *sp;

static void setup(void)
{
    fake_transport_init(&ft);
    tr = fake_transport_iface(&ft);
    ck_assert_int_eq(config_defaults(&cfg), HUB_OK);
    free(cfg.site);
    cfg.site = strdup("s1");
    free(cfg.influx.username);
    cfg.influx.username = strdup("influx-admin-name");
    ck_assert_ptr_nonnull(cfg.site);
    cfg.influx.batch_size = 1000;
    cfg.influx.flush_interval_ms = 100;
    cfg.compost.enabled = 0;            /* exact counts: no drum_state points */
    cfg.alerts.enabled = 0;
    h = hub_new(&cfg, SECRET, &tr, err, sizeof(err));
    ck_assert_msg(h != NULL, "hub_new: %s", err);
    status_health_init(&health);
    memset(&src, 0, sizeof(src));
    src.hub = h;
    src.site = cfg.site;
    src.version = "1.2.3";
    src.mqtt_connected = 1;
    src.health = &health;
    src.started = T0;
    src.now = T0 + 65500;
    src.wall = W0 + 2 * SEC;
    src.rss_kb = 1000;
    buf_init(&out, HTTP_STATUS_BODY_MAX);
    ct = NULL;
    sp = NULL;
    spool_dir[0] = '\0';
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static void teardown(void)
{
    hub_free(h);
    h = NULL;
    spool_close(sp);
    sp = NULL;
    if (spool_dir[0])
        nftw(spool_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    config_free(&cfg);
    fake_transport_reset(&ft);
    buf_free(&out);
}

static void msg(const char *topic, const char *payload, hub_mono_ms now,
                hub_real_ns wall)
{
    hub_on_message(h, topic, payload, strlen(payload), now, wall);
}

/* 4 messages: 3 readings accepted in 3 series (one more series holds only
 * a rejected reading), 1 reading rejected, 1 message undecodable. */
static void feed(void)
{
    msg("kube/s1/drum/1/temp_core_c", "56.25", T0 + 10, W0);
    msg("kube/s1/drum/1", "{\"temp_core_c\": 57.5, \"moisture_pct\": 52}", T0 + 20, W0 + SEC);
    msg("kube/s1/drum/2/temp_core_c", "-127", T0 + 30, W0 + SEC);   /* DS18B20 fault */
    msg("kube/s1/drum/1/temp_core_c", "abc", T0 + 40, W0 + SEC);    /* undecodable   */
}

/* Answer every POST with 204 so that points_written moves. */
static void drain(hub_mono_ms now)
{
    int guard;

    hub_tick(h, now, W0 + 2 * SEC);
    for (guard = 0; guard < 100 && fake_transport_pending(&ft); guard++) {
        ck_assert_int_eq(fake_transport_answer(&ft, hub_writer(h), 204, -1, NULL, now), 0);
        hub_tick(h, now, W0 + 2 * SEC);
    }
}

static int render(const char *method, const char *path)
{
    buf_reset(&out);
    ct = NULL;
    return status_render(&src, method, path, &out, &ct);
}

static const char *body(void)
{
    return out.data ? out.data : "";
}

/* One metric with its HELP and TYPE lines, exactly. */
static void assert_metric(const char *name, const char *type, const char *sample)
{
    char want[512], type_line[256];

    snprintf(type_line, sizeof(type_line), "\n# TYPE kompos_hub_%s %s\n", name, type);
    snprintf(want, sizeof(want), "%skompos_hub_%s{site=\"s1\"} %s\n", type_line, name, sample);
    ck_assert_msg(strstr(body(), want) != NULL, "no '%s' in\n%s", want, body());
}

/* ---- /metrics --------------------------------------------------------- */

START_TEST(metrics_counters_exact)
{
    static const char first[] =
        "# HELP kompos_hub_messages_received_total MQTT messages taken in.\n"
        "# TYPE kompos_hub_messages_received_total counter\n"
        "kompos_hub_messages_received_total{site=\"s1\"} 4\n";

    feed();
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    ck_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_msg(strncmp(body(), first, strlen(first)) == 0, "starts with:\n%.300s", body());
    assert_metric("messages_received_total", "counter", "4");
    assert_metric("messages_decoded_total", "counter", "3");
    assert_metric("messages_rejected_total", "counter", "2");
    assert_metric("readings_accepted_total", "counter", "3");
    assert_metric("readings_rejected_total", "counter", "1");
    assert_metric("series_overflow_total", "counter", "0");
    assert_metric("events_total", "counter", "0");
    assert_metric("last_message_timestamp_seconds", "gauge", "1764295201.000");
    assert_metric("first_message_timestamp_seconds", "gauge", "1764295200.000");
    assert_metric("series", "gauge", "3");
    assert_metric("resident_memory_bytes", "gauge", "1024000");
    assert_metric("mqtt_connected", "gauge", "1");
    assert_metric("healthy", "gauge", "1");
    assert_metric("uptime_seconds", "gauge", "65.500");
    assert_metric("points_written_total", "counter", "0");
    assert_metric("queue_points", "gauge", "3");    /* 2 drum lines + 1 sensor_fault */
    assert_metric("influx_write_failing", "gauge", "0");
    ck_assert_ptr_nonnull(strstr(body(),
                                 "kompos_hub_build_info{site=\"s1\",version=\"1.2.3\"} 1\n"));
    ck_assert_ptr_null(strstr(body(), "kompos_hub_spool_"));   /* no spool: no spool metrics */
    ck_assert_int_eq(body()[out.len - 1], '\n');
}
END_TEST

START_TEST(metrics_after_write)
{
    feed();
    drain(T0 + 200);
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    assert_metric("points_committed_total", "counter", "3");
    assert_metric("points_written_total", "counter", "3");
    assert_metric("batches_written_total", "counter", "1");
    assert_metric("write_errors_total", "counter", "0");
    assert_metric("queue_points", "gauge", "0");
}
END_TEST

/* Every line is a HELP, a TYPE or a sample of the metric just typed, and
 * each metric is typed once. */
START_TEST(metrics_well_formed)
{
    char *copy, *line, *save = NULL, typed[128] = "", seen[8192] = " ";
    int nsamples = 0;

    feed();
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    copy = strdup(body());
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128], type[32], key[140];

        if (strncmp(line, "# HELP kompos_hub_", 18) == 0)
            continue;
        if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
            ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0, "%s", line);
            ck_assert_msg(strcmp(type, "counter") != 0 ||
                          strcmp(name + strlen(name) - 6, "_total") == 0,
                          "counter without _total: %s", line);
            snprintf(key, sizeof(key), " %s ", name);
            ck_assert_msg(strstr(seen, key) == NULL, "typed twice: %s", name);
            strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
            snprintf(typed, sizeof(typed), "%s{site=\"s1\"", name);
            continue;
        }
        ck_assert_msg(typed[0] && strncmp(line, typed, strlen(typed)) == 0,
                      "sample '%s' after TYPE %s", line, typed);
        ck_assert_msg(strchr(line, '}') && strchr(line, '}')[1] == ' ', "%s", line);
        nsamples++;
    }
    free(copy);
    ck_assert_int_ge(nsamples, 30);
}
END_TEST

START_TEST(metrics_site_label_escaped)
{
    src.site = "a\"b\\c\nd";
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    ck_assert_ptr_nonnull(strstr(body(),
                                 "kompos_hub_messages_received_total{site=\"a\\\"b\\\\c\\nd\"} 0\n"));
}
END_TEST

START_TEST(metrics_with_spool)
{
    struct spool_cfg sc;

    snprintf(spool_dir, sizeof(spool_dir), "/tmp/kompos-test-status.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(spool_dir));
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.dir, sizeof(sc.dir), "%s/spool", spool_dir);
    sc.max_bytes = 1 << 20;
    sc.segment_bytes = 1 << 16;
    sc.fsync_interval_ms = 1000;
    sp = spool_open(&sc, err, sizeof(err));
    ck_assert_msg(sp != NULL, "spool_open: %s", err);
    hub_set_spool(h, sp);
    src.sp = sp;
    feed();
    ck_assert_int_eq(influx_out_sync(hub_writer(h), T0 + 50), HUB_OK);
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    assert_metric("spool_records_appended_total", "counter", "1");
    assert_metric("spool_points_appended_total", "counter", "3");
    assert_metric("spool_points_pending", "gauge", "3");
    assert_metric("spool_append_errors_total", "counter", "0");
    assert_metric("spool_write_failing", "gauge", "0");

    ck_assert_int_eq(render("GET", "/api/v1/state"), 200);
    {
        cJSON *j = cJSON_Parse(body());
        cJSON *s = cJSON_GetObjectItem(j, "spool");

        ck_assert_ptr_nonnull(j);
        ck_assert(cJSON_IsObject(s));
        ck_assert_double_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "points_pending")), 3);
        ck_assert_double_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "records_appended")), 1);
        ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(s, "failing")));
        cJSON_Delete(j);
    }
}
END_TEST

/* ---- /api/v1/state ---------------------------------------------------- */

static double num(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsNumber(x), "%s is not a number", name);
    return x->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);

    ck_assert_msg(cJSON_IsString(x), "%s is not a string", name);
    return x->valuestring;
}

static void assert_series(const cJSON *s, const char *kind, const char *id,
                          const char *field, double last, double last_ts_ms,
                          double accepted, double rejected)
{
    ck_assert_str_eq(str(s, "site"), "s1");
    ck_assert_str_eq(str(s, "kind"), kind);
    ck_assert_str_eq(str(s, "id"), id);
    ck_assert_str_eq(str(s, "field"), field);
    if (last_ts_ms > 0) {
        ck_assert_double_eq(num(s, "last_value"), last);
        ck_assert_double_eq(num(s, "last_ts_ms"), last_ts_ms);
    } else {
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(s, "last_value")));
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(s, "last_ts_ms")));
    }
    ck_assert_double_eq(num(s, "accepted"), accepted);
    ck_assert_double_eq(num(s, "rejected"), rejected);
}

START_TEST(state_json_exact)
{
    cJSON *j, *c, *w, *list;

    feed();
    ck_assert_int_eq(render("GET", "/api/v1/state"), 200);
    ck_assert_str_eq(ct, "application/json");
    j = cJSON_Parse(body());
    ck_assert_msg(j != NULL, "not JSON:\n%s", body());
    ck_assert_str_eq(str(j, "version"), "1.2.3");
    ck_assert_str_eq(str(j, "site"), "s1");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "healthy")));
    ck_assert_str_eq(str(j, "health"), "ok");
    ck_assert_double_eq(num(j, "uptime_s"), 65);
    ck_assert_double_eq(num(j, "time_ms"), 1764295202000.0);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "mqtt"), "connected")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "spool")));
    ck_assert_double_eq(num(j, "series_count"), 3);
    ck_assert_double_eq(num(j, "rss_kb"), 1000);

    c = cJSON_GetObjectItem(j, "counters");
    ck_assert_double_eq(num(c, "messages_received"), 4);
    ck_assert_double_eq(num(c, "messages_decoded"), 3);
    ck_assert_double_eq(num(c, "messages_rejected"), 2);
    ck_assert_double_eq(num(c, "readings_accepted"), 3);
    ck_assert_double_eq(num(c, "readings_rejected"), 1);
    ck_assert_double_eq(num(c, "series_overflow"), 0);
    ck_assert_double_eq(num(c, "first_rx_ms"), 1764295200000.0);
    ck_assert_double_eq(num(c, "last_rx_ms"), 1764295201000.0);

    w = cJSON_GetObjectItem(j, "writer");
    ck_assert_double_eq(num(w, "points_committed"), 3);
    ck_assert_double_eq(num(w, "queued_points"), 3);
    ck_assert_double_eq(num(w, "points_written"), 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(w, "failing")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(w, "last_status")));

    list = cJSON_GetObjectItem(j, "series");
    ck_assert(cJSON_IsArray(list));
    ck_assert_int_eq(cJSON_GetArraySize(list), 3);
    /* creation order; drum 1 temp_core_c: 56.25 at W0, then 57.5 at W0+1s */
    assert_series(cJSON_GetArrayItem(list, 0), "drum", "1", "temp_core_c", 57.5,
                  1764295201000.0, 2, 0);
    assert_series(cJSON_GetArrayItem(list, 1), "drum", "1", "moisture_pct", 52,
                  1764295201000.0, 1, 0);
    assert_series(cJSON_GetArrayItem(list, 2), "drum", "2", "temp_core_c", 0, 0, 0, 1);
    cJSON_Delete(j);
}
END_TEST

START_TEST(state_json_hostile_names)
{
    cJSON *j, *s;

    msg("kube/s1/drum/1\"x<&>/temp_core_c", "40", T0, W0);
    ck_assert_int_eq(render("GET", "/api/v1/state"), 200);
    j = cJSON_Parse(body());
    ck_assert_msg(j != NULL, "not JSON:\n%s", body());
    s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "series"), 0);
    ck_assert_str_eq(str(s, "id"), "1\"x<&>");
    cJSON_Delete(j);
}
END_TEST

START_TEST(state_json_empty_hub)
{
    cJSON *j;

    src.mqtt_connected = 0;
    ck_assert_int_eq(render("GET", "/api/v1/state"), 200);
    j = cJSON_Parse(body());
    ck_assert_msg(j != NULL, "not JSON:\n%s", body());
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "series")), 0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "healthy")));
    ck_assert_str_eq(str(j, "health"), "mqtt: not connected");
    ck_assert_double_eq(num(cJSON_GetObjectItem(j, "counters"), "first_rx_ms"), 0);
    cJSON_Delete(j);
}
END_TEST

/* Nothing of the config but the site: no secret, user name or URL. */
START_TEST(no_secrets_anywhere)
{
    static const char *const paths[] = { "/", "/healthz", "/metrics", "/api/v1/state", "/x" };
    size_t i;

    feed();
    drain(T0 + 200);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        render("GET", paths[i]);
        ck_assert_msg(strstr(body(), SECRET) == NULL, "%s shows the secret", paths[i]);
        ck_assert_msg(strstr(body(), "influx-admin-name") == NULL, "%s shows the user", paths[i]);
        ck_assert_msg(strstr(body(), "8086") == NULL, "%s shows the InfluxDB URL", paths[i]);
    }
}
END_TEST

/* ---- /healthz --------------------------------------------------------- */

struct health_case {
    const char *name;
    int mqtt;
    int stopping;
    long writes[3];             /* answers, -1 = none; at T0, T0+1s, T0+2s */
    int spool_err;              /* 1: an append failed; 2: failed, then worked */
    hub_mono_ms now;
    int status;
    const char *body;
};

static const struct health_case health_cases[] = {
    { "fresh", 1, 0, { -1, -1, -1 }, 0, T0, 200, "ok\n" },
    { "mqtt down", 0, 0, { -1, -1, -1 }, 0, T0, 503, "mqtt: not connected\n" },
    { "written", 1, 0, { 204, -1, -1 }, 0, T0 + 5000, 200, "ok\n" },
    { "network error 42 s", 1, 0, { 0, -1, -1 }, 0, T0 + 42000, 503,
      "influx: writes failing for 42 s\n" },
    { "failing since the first", 1, 0, { 503, 0, 429 }, 0, T0 + 10999, 503,
      "influx: writes failing for 10 s\n" },
    { "recovered", 1, 0, { 0, 503, 204 }, 0, T0 + 9000, 200, "ok\n" },
    { "401", 1, 0, { 204, 401, -1 }, 0, T0 + 3000, 503,
      "influx: writes failing for 2 s\n" },
    { "404 database not found", 1, 0, { 404, -1, -1 }, 0, T0, 503,
      "influx: writes failing for 0 s\n" },
    { "400 partial write is not failing", 1, 0, { 400, -1, -1 }, 0, T0, 200, "ok\n" },
    { "413 is not failing", 1, 0, { 204, 413, -1 }, 0, T0, 200, "ok\n" },
    { "spool failing", 1, 0, { -1, -1, -1 }, 1, T0, 503, "spool: write errors\n" },
    { "spool recovered", 1, 0, { -1, -1, -1 }, 2, T0, 200, "ok\n" },
    { "all at once", 0, 1, { 0, -1, -1 }, 1, T0 + 7000, 503,
      "hub: stopping; mqtt: not connected; influx: writes failing for 7 s; "
      "spool: write errors\n" },
};

START_TEST(healthz_states)
{
    const struct health_case *hc = &health_cases[_i];
    struct spool_stats ss;
    int k;

    status_health_init(&health);
    src.mqtt_connected = hc->mqtt;
    src.stopping = hc->stopping;
    for (k = 0; k < 3; k++) {
        if (hc->writes[k] >= 0)
            status_note_write(&health, hc->writes[k], T0 + k * 1000);
    }
    memset(&ss, 0, sizeof(ss));
    if (hc->spool_err) {
        ss.records_appended = 5;
        status_note_spool(&health, &ss);
        ss.append_errors = 1;
        status_note_spool(&health, &ss);
        if (hc->spool_err == 2) {
            ss.records_appended = 6;
            status_note_spool(&health, &ss);
        }
    }
    src.now = hc->now;
    ck_assert_msg(render("GET", "/healthz") == hc->status, "%s: status", hc->name);
    ck_assert_str_eq(ct, "text/plain; charset=utf-8");
    ck_assert_msg(strcmp(body(), hc->body) == 0, "%s: got '%s', expected '%s'", hc->name,
                  body(), hc->body);
}
END_TEST

START_TEST(healthz_in_metrics_and_state)
{
    cJSON *j;

    status_note_write(&health, 0, T0);
    src.now = T0 + 42000;
    ck_assert_int_eq(render("GET", "/metrics"), 200);
    assert_metric("healthy", "gauge", "0");
    assert_metric("influx_write_failing", "gauge", "1");
    assert_metric("influx_failing_seconds", "gauge", "42");
    ck_assert_int_eq(render("GET", "/api/v1/state"), 200);
    j = cJSON_Parse(body());
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str(j, "health"), "influx: writes failing for 42 s");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "writer"), "failing")));
    ck_assert_double_eq(num(cJSON_GetObjectItem(j, "writer"), "failing_s"), 42);
    ck_assert_double_eq(num(cJSON_GetObjectItem(j, "writer"), "last_status"), 0);
    cJSON_Delete(j);
}
END_TEST

/* ---- 404, 405, the page ------------------------------------------------- */

START_TEST(not_found_and_not_allowed)
{
    ck_assert_int_eq(render("GET", "/nope"), 404);
    ck_assert_str_eq(body(), "not found\n");
    ck_assert_str_eq(ct, "text/plain; charset=utf-8");
    ck_assert_int_eq(render("GET", "/metrics/"), 404);
    ck_assert_int_eq(render("GET", "/api/v1/state/x"), 404);
    ck_assert_int_eq(render("GET", "/index.html"), 404);
    ck_assert_int_eq(render("GET", ""), 404);
    ck_assert_int_eq(render("POST", "/nope"), 404);
    ck_assert_int_eq(render("POST", "/metrics"), 405);
    ck_assert_str_eq(body(), "method not allowed\n");
    ck_assert_int_eq(render("HEAD", "/healthz"), 405);
    ck_assert_int_eq(render("PUT", "/api/v1/state"), 405);
    ck_assert_int_eq(render("DELETE", "/"), 405);
    ck_assert_int_eq(render("get", "/"), 405);
}
END_TEST

START_TEST(page_html)
{
    ck_assert_int_eq(render("GET", "/"), 200);
    ck_assert_str_eq(ct, "text/html; charset=utf-8");
    ck_assert(strncmp(body(), "<!DOCTYPE html>\n<html lang=\"en\">\n", 33) == 0);
    ck_assert_ptr_nonnull(strstr(body(), "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(body(), "fetch(\"api/v1/state\""));
    ck_assert_ptr_nonnull(strstr(body(), "setInterval(load, 5000)"));
    ck_assert_ptr_nonnull(strstr(body(), "</html>\n"));
    /* no external assets, no inline handlers, no eval */
    ck_assert_ptr_null(strstr(body(), "http://"));
    ck_assert_ptr_null(strstr(body(), "https://"));
    ck_assert_ptr_null(strstr(body(), "src="));
    ck_assert_ptr_null(strstr(body(), " onclick"));
    ck_assert_ptr_null(strstr(body(), " onload"));
    ck_assert_ptr_null(strstr(body(), "eval("));
    ck_assert_ptr_null(strstr(body(), "innerHTML"));
}
END_TEST

/* status_render appends; a cap that is too small gives a 500. */
START_TEST(body_cap_gives_500)
{
    struct buf small;
    int st;

    feed();
    buf_init(&small, 100);
    st = status_render(&src, "GET", "/metrics", &small, &ct);
    ck_assert_int_eq(st, 500);
    ck_assert_str_eq(small.data, "response too large\n");
    buf_free(&small);
}
END_TEST

/* ---- http_status.c over a loopback socket ----------------------------- */

static struct http_status *hs;
static int renders;

static int render_cb(void *ctx, const char *method, const char *path,
                     struct buf *o, const char **ctype)
{
    renders++;
    return status_render(ctx, method, path, o, ctype);
}

static void start_server(void)
{
    struct http_status_cfg hc;

    memset(&hc, 0, sizeof(hc));
    hc.bind = "127.0.0.1";
    hc.port = 0;
    hc.render = render_cb;
    hc.ctx = &src;
    hs = http_status_new(&hc, err, sizeof(err));
    ck_assert_msg(hs != NULL, "http_status_new: %s", err);
    ck_assert_int_gt(http_status_port(hs), 0);
    ck_assert_int_ge(http_status_fd(hs), 0);
    renders = 0;
}

/* One turn of the loop as loop.c does it: poll the server's descriptor
 * (with the given other descriptors), honour its timeout, and run it only
 * when the descriptor is readable or the timeout has passed. */
static void serve(struct pollfd *other, int nother, int max_ms)
{
    struct pollfd pf[4];
    long t = http_status_timeout(hs);
    hub_mono_ms t0 = clock_mono_ms();
    int i;

    for (i = 0; i < nother; i++)
        pf[i] = other[i];
    pf[nother].fd = http_status_fd(hs);
    pf[nother].events = POLLIN;
    pf[nother].revents = 0;
    poll(pf, (nfds_t)nother + 1, t >= 0 && t < max_ms ? (int)t : max_ms);
    if (pf[nother].revents || (t >= 0 && clock_mono_ms() - t0 >= t))
        http_status_run(hs);
    for (i = 0; i < nother; i++)
        other[i].revents = pf[i].revents;
}

/* Send raw, then serve the server from this thread until the server closes
 * the connection (or 5 s pass). Returns the whole answer (malloc'ed). */
static char *exchange_ex(const char *raw, int may_be_empty)
{
    struct sockaddr_in a;
    struct buf resp;
    struct pollfd pf[1];
    char tmp[4096];
    int fd, i;
    ssize_t n;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)http_status_port(hs));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(send(fd, raw, strlen(raw), 0), (ssize_t)strlen(raw));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    buf_init(&resp, 1 << 20);
    for (i = 0; i < 500; i++) {
        pf[0].fd = fd;
        pf[0].events = POLLIN;
        serve(&pf[0], 1, 10);
        n = recv(fd, tmp, sizeof(tmp), 0);
        if (n > 0) {
            ck_assert_int_eq(buf_append(&resp, tmp, (size_t)n), HUB_OK);
        } else if (n == 0) {
            break;
        } else {
            ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
        }
    }
    close(fd);
    ck_assert_msg(may_be_empty || resp.len > 0, "no answer to: %s", raw);
    ck_assert_msg(i < 500, "the server did not close the connection within 5 s");
    if (!resp.len)
        return strdup("");
    return buf_take(&resp, NULL);
}

static char *exchange(const char *raw)
{
    return exchange_ex(raw, 0);
}

static int has_header(const char *resp, const char *line)
{
    const char *end = strstr(resp, "\r\n\r\n");
    char want[256];
    const char *p;

    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    p = strcasestr(resp, want);
    return p && end && p < end;
}

static const char *resp_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");

    return p ? p + 4 : "";
}

START_TEST(server_get_healthz)
{
    char *r;

    start_server();
    r = exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    ck_assert_msg(has_header(r, "Content-Type: text/plain; charset=utf-8"), "%s", r);
    ck_assert_msg(has_header(r, "Cache-Control: no-store"), "%s", r);
    ck_assert_msg(has_header(r, "X-Content-Type-Options: nosniff"), "%s", r);
    ck_assert_msg(has_header(r, "Content-Security-Policy: default-src 'none'; "
                                "frame-ancestors 'none'"), "%s", r);
    ck_assert_msg(has_header(r, "Content-Length: 3"), "%s", r);
    ck_assert_str_eq(resp_body(r), "ok\n");
    ck_assert_int_eq(renders, 1);
    free(r);

    src.mqtt_connected = 0;
    r = exchange("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.0 503 ", 13) == 0 || strncmp(r, "HTTP/1.1 503 ", 13) == 0,
                  "%s", r);
    ck_assert_str_eq(resp_body(r), "mqtt: not connected\n");
    free(r);
    http_status_free(hs);
}
END_TEST

START_TEST(server_metrics_state_page)
{
    char *r;
    cJSON *j;

    feed();
    start_server();
    r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    ck_assert_msg(has_header(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s", r);
    ck_assert_ptr_nonnull(strstr(resp_body(r), "kompos_hub_messages_received_total{site=\"s1\"} 4\n"));
    free(r);

    r = exchange("GET /api/v1/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(has_header(r, "Content-Type: application/json"), "%s", r);
    j = cJSON_Parse(resp_body(r));
    ck_assert_ptr_nonnull(j);
    ck_assert_double_eq(num(j, "series_count"), 3);
    cJSON_Delete(j);
    free(r);

    r = exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(has_header(r, "Content-Type: text/html; charset=utf-8"), "%s", r);
    ck_assert_msg(has_header(r, "Content-Security-Policy: default-src 'none'; "
                                "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "connect-src 'self'; img-src data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"), "%s", r);
    ck_assert_ptr_nonnull(strstr(resp_body(r), "<!DOCTYPE html>"));
    free(r);
    http_status_free(hs);
}
END_TEST

START_TEST(server_404_405)
{
    char *r;

    start_server();
    r = exchange("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 404 ", 13) == 0, "%s", r);
    ck_assert_msg(has_header(r, "Cache-Control: no-store"), "%s", r);
    free(r);

    /* the body of a POST is never read: the answer comes at once */
    r = exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                 "Content-Type: text/plain\r\n\r\nabc");
    ck_assert_msg(strncmp(r, "HTTP/1.1 405 ", 13) == 0, "%s", r);
    ck_assert_msg(has_header(r, "Allow: GET"), "%s", r);
    ck_assert_str_eq(resp_body(r), "method not allowed\n");
    free(r);

    r = exchange("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 405 ", 13) == 0, "%s", r);
    ck_assert_msg(has_header(r, "Allow: GET"), "%s", r);
    ck_assert_str_eq(resp_body(r), "");
    free(r);

    /* a GET with a body: read and ignored */
    r = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 "Content-Length: 5\r\n\r\nhello");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    ck_assert_str_eq(resp_body(r), "ok\n");
    free(r);

    /* not HTTP: closed (with a 400 or without an answer); the server lives on */
    r = exchange_ex("garbage\r\n\r\n", 1);
    ck_assert_msg(r[0] == '\0' || strncmp(r, "HTTP/1.1 400 ", 13) == 0, "%s", r);
    free(r);
    r = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    free(r);
    http_status_free(hs);
}
END_TEST

/* Keep-alive: two requests on one connection; an idle connection makes
 * the timeout finite. */
START_TEST(server_keep_alive_and_timeout)
{
    char *r;
    const char *second;

    start_server();
    ck_assert_int_le(http_status_timeout(hs), 1000);  /* the backstop */
    r = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    second = strstr(r + 1, "HTTP/1.1 200 OK\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0 && second, "%s", r);
    ck_assert_int_eq(renders, 2);
    free(r);
    http_status_free(hs);
}
END_TEST

static int connect_idle(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)http_status_port(hs));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* More idle clients than conn_limit: the server is full, the idle ones
 * are cut after conn_timeout_s, and then it answers again (MHD takes its
 * listening socket out of the epoll set while full). */
START_TEST(server_connection_limit)
{
    struct http_status_cfg hc;
    hub_mono_ms t0;
    int fds[4], i;
    char *r;

    memset(&hc, 0, sizeof(hc));
    hc.bind = "127.0.0.1";
    hc.render = render_cb;
    hc.ctx = &src;
    hc.conn_limit = 2;
    hc.conn_timeout_s = 1;
    hs = http_status_new(&hc, err, sizeof(err));
    ck_assert_msg(hs != NULL, "http_status_new: %s", err);
    for (i = 0; i < 4; i++)
        fds[i] = connect_idle();
    t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 1500)   /* accept 2, cut them after 1 s idle */
        serve(NULL, 0, 10);
    for (i = 0; i < 4; i++)
        close(fds[i]);
    t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 1500)   /* the other 2: accepted and closed */
        serve(NULL, 0, 10);
    t0 = clock_mono_ms();
    r = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    ck_assert_int_lt(clock_mono_ms() - t0, 200);  /* not by the 1 s backstop */
    free(r);
    http_status_free(hs);
}
END_TEST

START_TEST(server_bind_errors)
{
    struct http_status_cfg hc;
    struct http_status *second;

    memset(&hc, 0, sizeof(hc));
    hc.render = render_cb;
    hc.ctx = &src;
    hc.bind = "localhost";
    ck_assert_ptr_null(http_status_new(&hc, err, sizeof(err)));
    ck_assert_str_eq(err, "http.bind: 'localhost' is not an IPv4 or IPv6 address");

    start_server();
    hc.bind = "127.0.0.1";
    hc.port = http_status_port(hs);
    second = http_status_new(&hc, err, sizeof(err));
    ck_assert_ptr_null(second);
    ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:") == err, "%s", err);
    http_status_free(hs);
    http_status_free(NULL);
}
END_TEST

START_TEST(server_ipv6_loopback)
{
    struct http_status_cfg hc;
    struct http_status *h6;

    memset(&hc, 0, sizeof(hc));
    hc.render = render_cb;
    hc.ctx = &src;
    hc.bind = "::1";
    h6 = http_status_new(&hc, err, sizeof(err));
    if (!h6) {      /* a machine without IPv6 loopback */
        fprintf(stderr, "server_ipv6_loopback: skipped: %s\n", err);
        return;
    }
    ck_assert_int_gt(http_status_port(h6), 0);
    http_status_free(h6);
}
END_TEST

static Suite *http_status_suite(void)
{
    Suite *s = suite_create("http_status");
    TCase *r = tcase_create("render");
    TCase *n = tcase_create("server");

    tcase_add_checked_fixture(r, setup, teardown);
    tcase_add_test(r, metrics_counters_exact);
    tcase_add_test(r, metrics_after_write);
    tcase_add_test(r, metrics_well_formed);
    tcase_add_test(r, metrics_site_label_escaped);
    tcase_add_test(r, metrics_with_spool);
    tcase_add_test(r, state_json_exact);
    tcase_add_test(r, state_json_hostile_names);
    tcase_add_test(r, state_json_empty_hub);
    tcase_add_test(r, no_secrets_anywhere);
    tcase_add_loop_test(r, healthz_states, 0,
                        (int)(sizeof(health_cases) / sizeof(health_cases[0])));
    tcase_add_test(r, healthz_in_metrics_and_state);
    tcase_add_test(r, not_found_and_not_allowed);
    tcase_add_test(r, page_html);
    tcase_add_test(r, body_cap_gives_500);
    suite_add_tcase(s, r);

    tcase_add_checked_fixture(n, setup, teardown);
    tcase_set_timeout(n, 30);
    tcase_add_test(n, server_get_healthz);
    tcase_add_test(n, server_metrics_state_page);
    tcase_add_test(n, server_404_405);
    tcase_add_test(n, server_keep_alive_and_timeout);
    tcase_add_test(n, server_connection_limit);
    tcase_add_test(n, server_bind_errors);
    tcase_add_test(n, server_ipv6_loopback);
    suite_add_tcase(s, n);
    return s;
}

HUB_CHECK_MAIN(http_status_suite)
