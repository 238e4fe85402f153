/* SPDX-License-Identifier: MIT */
/* test_config.c - defaults, the reference file, --print-defaults, a table
 * of bad configs with their exact "FILE:LINE:" prefix, secrets. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "config.h"
#include "hub_err.h"

/* ---- helpers ---------------------------------------------------------- */

/* Path of a file in the source tree: $KOMPOS_SOURCE_DIR, else derived from
 * this file's own (absolute, as CMake compiles it) path. */
static void src_path(char *buf, size_t len, const char *rel)
{
    const char *env = getenv("KOMPOS_SOURCE_DIR");
    const char *me = __FILE__;
    const char *tail = "tests/unit/test_config.c";
    size_t n = strlen(me), t = strlen(tail);

    if (env && env[0]) {
        snprintf(buf, len, "%s/%s", env, rel);
        return;
    }
    ck_assert_msg(n >= t && strcmp(me + n - t, tail) == 0,
                  "cannot find the source tree from __FILE__ %s; set KOMPOS_SOURCE_DIR", me);
    snprintf(buf, len, "%.*s%s", (int)(n - t), me, rel);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    text = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int list_eq(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* Name of the first field that differs, or NULL when a equals b. */
static const char *cfg_diff(const struct hub_config *a, const struct hub_config *b)
{
#define S(f) if (strcmp(a->f, b->f) != 0) return #f
#define I(f) if (a->f != b->f) return #f
    S(site);
    S(mqtt.host); I(mqtt.port); S(mqtt.client_id); I(mqtt.qos); I(mqtt.clean_session);
    S(mqtt.username); S(mqtt.password_file); I(mqtt.keepalive_s); I(mqtt.reconnect_max_s);
    S(mqtt.tls_ca_file); S(mqtt.tls_cert_file); S(mqtt.tls_key_file); I(mqtt.tls_verify_hostname);
    if (!list_eq(a->mqtt.subscriptions, a->mqtt.nsubscriptions,
                 b->mqtt.subscriptions, b->mqtt.nsubscriptions))
        return "mqtt.subscriptions";
    S(influx.url); I(influx.api); S(influx.database); S(influx.retention_policy);
    S(influx.username); S(influx.password_file); S(influx.org); S(influx.bucket);
    S(influx.token_file); I(influx.batch_size); I(influx.flush_interval_ms); I(influx.gzip);
    I(influx.timeout_ms); I(influx.max_queue_points); I(influx.retry_max_ms);
    I(influx.shutdown_grace_ms);
    I(limits.max_series); I(limits.max_payload_bytes);
    I(stats.window_s); I(stats.history_s); I(stats.ring_points); I(stats.self_interval_s);
    I(log.level);
    if (!list_eq(a->decode.templates, a->decode.ntemplates,
                 b->decode.templates, b->decode.ntemplates))
        return "decode.templates";
    if (!list_eq(a->decode.kinds, a->decode.nkinds, b->decode.kinds, b->decode.nkinds))
        return "decode.kinds";
    I(validate.nranges);
    for (size_t i = 0; i < a->validate.nranges; i++) {
        S(validate.ranges[i].pattern);
        I(validate.ranges[i].min);
        I(validate.ranges[i].max);
    }
    S(validate.ds18b20_fields); I(validate.ds18b20_hot_c); I(validate.max_future_s);
    I(compost.enabled); S(compost.state_file); I(compost.save_interval_s);
    I(compost.state_interval_s); I(compost.expected_interval_s);
    S(drums.sanitation_standard); I(drums.groundwater_temp_c); I(drums.thermo_on_c);
    I(drums.overheat_c); I(drums.too_dry_pct); I(drums.too_wet_pct); I(drums.maturity_delta_c);
    I(drums.min_age_d);
    S(tanks.shape); I(tanks.diameter_cm); I(tanks.length_cm); I(tanks.width_cm);
    I(tanks.height_cm); I(tanks.sensor_height_cm); S(tanks.recipe); I(tanks.neach);
    I(alerts.enabled); S(alerts.state_dir); I(alerts.default_rules); I(alerts.nrules);
    S(alerts.lang); S(alerts.quiet_start); S(alerts.quiet_end); I(alerts.group_wait_s);
    I(alerts.group_interval_s); I(alerts.reminder_warn_s); I(alerts.reminder_crit_s);
    I(alerts.escalate_after_s); S(alerts.roles_info); S(alerts.roles_warn); S(alerts.roles_crit);
    I(alerts.max_instances); I(alerts.ntemplates); I(nmembers);
    S(notify.webhook_url); S(notify.twilio_base_url); S(notify.whatsapp_base_url);
    S(notify.whatsapp_template); S(notify.fonnte_base_url); S(notify.gammu_outbox_dir);
    I(notify.timeout_ms); I(notify.max_pending); I(notify.pace_s); I(notify.retry_max_s);
    I(notify.max_age_h); I(notify.rung_max_fails);
    return NULL;
#undef S
#undef I
}

/* Every key other tools depend on, "group.leaf" (or a root "leaf"). */
static const char *const all_keys[] = {
    "site",
    "mqtt.host", "mqtt.port", "mqtt.client_id", "mqtt.qos", "mqtt.clean_session",
    "mqtt.username", "mqtt.password_file", "mqtt.keepalive_s", "mqtt.reconnect_max_s",
    "mqtt.subscriptions",
    "mqtt.tls_ca_file", "mqtt.tls_cert_file", "mqtt.tls_key_file", "mqtt.tls_verify_hostname",
    "influx.url", "influx.api", "influx.database", "influx.retention_policy",
    "influx.username", "influx.password_file", "influx.org", "influx.bucket",
    "influx.token_file", "influx.batch_size", "influx.flush_interval_ms", "influx.gzip",
    "influx.timeout_ms", "influx.max_queue_points", "influx.retry_max_ms",
    "influx.shutdown_grace_ms",
    "limits.max_series", "limits.max_payload_bytes",
    "stats.window_s", "stats.history_s", "stats.ring_points", "stats.self_interval_s",
    "log.level",
    "decode.templates", "decode.kinds",
    "validate.ranges", "validate.ds18b20_fields", "validate.ds18b20_hot_c",
    "validate.max_future_s",
    "compost.enabled", "compost.state_file", "compost.save_interval_s",
    "compost.state_interval_s", "compost.expected_interval_s",
    "drums.sanitation_standard", "drums.groundwater_temp_c", "drums.thermo_on_c",
    "drums.overheat_c", "drums.too_dry_pct", "drums.too_wet_pct", "drums.maturity_delta_c",
    "drums.min_age_d",
    "tanks.shape", "tanks.diameter_cm", "tanks.length_cm", "tanks.width_cm", "tanks.height_cm",
    "tanks.sensor_height_cm", "tanks.recipe", "tanks.each",
    "alerts.enabled", "alerts.state_dir", "alerts.default_rules", "alerts.rules", "alerts.lang",
    "alerts.quiet_start", "alerts.quiet_end", "alerts.group_wait_s", "alerts.group_interval_s",
    "alerts.reminder_warn_s", "alerts.reminder_crit_s", "alerts.escalate_after_s",
    "alerts.roles_info", "alerts.roles_warn", "alerts.roles_crit", "alerts.max_instances",
    "alerts.templates", "members",
    "notify.webhook_url", "notify.webhook_token_file", "notify.twilio_base_url",
    "notify.twilio_account_sid", "notify.twilio_token_file", "notify.twilio_from",
    "notify.twilio_whatsapp_from", "notify.whatsapp_base_url", "notify.whatsapp_api_version",
    "notify.whatsapp_phone_number_id", "notify.whatsapp_token_file", "notify.whatsapp_template",
    "notify.whatsapp_template_lang", "notify.fonnte_base_url", "notify.fonnte_token_file",
    "notify.fonnte_country_code", "notify.gammu_outbox_dir", "notify.timeout_ms",
    "notify.max_pending", "notify.pace_s", "notify.retry_max_s", "notify.max_age_h",
    "notify.rung_max_fails",
};
#define NALL_KEYS (sizeof(all_keys) / sizeof(all_keys[0]))

/* 1 if text sets key (not in a comment): "\nleaf =" at the root, or
 * "\n    leaf =" between "\ngroup = {" and the next "\n};". */
static int sets_key(const char *text, const char *key)
{
    char group[64], needle[96];
    const char *dot = strchr(key, '.'), *start, *end;

    if (!dot) {
        snprintf(needle, sizeof(needle), "\n%s = ", key);
        return strstr(text, needle) != NULL;
    }
    snprintf(group, sizeof(group), "\n%.*s = {\n", (int)(dot - key), key);
    start = strstr(text, group);
    if (!start)
        return 0;
    end = strstr(start, "\n};");
    snprintf(needle, sizeof(needle), "\n    %s = ", dot + 1);
    start = strstr(start, needle);
    return start && end && start < end;
}

static int load(const char *text, struct hub_config *c, char *err, size_t errlen)
{
    return config_load_string(text, "t.cfg", c, err, errlen);
}

/* ---- defaults --------------------------------------------------------- */

START_TEST(defaults_are_the_documented_values)
{
    struct hub_config c;

    ck_assert_int_eq(config_defaults(&c), HUB_OK);
    ck_assert_str_eq(c.site, "mekarsari");

    ck_assert_str_eq(c.mqtt.host, "127.0.0.1");
    ck_assert_int_eq(c.mqtt.port, 1883);
    ck_assert_str_eq(c.mqtt.client_id, "kompos-hub");
    ck_assert_int_eq(c.mqtt.qos, 1);
    ck_assert_int_eq(c.mqtt.clean_session, 0);
    ck_assert_str_eq(c.mqtt.username, "");
    ck_assert_str_eq(c.mqtt.password_file, "");
    ck_assert_int_eq(c.mqtt.keepalive_s, 30);
    ck_assert_int_eq(c.mqtt.reconnect_max_s, 30);
    ck_assert_uint_eq(c.mqtt.nsubscriptions, 2);
    ck_assert_str_eq(c.mqtt.subscriptions[0], "kube/+/+/+/+");
    ck_assert_str_eq(c.mqtt.subscriptions[1], "kube/+/+/+");
    ck_assert_str_eq(c.mqtt.tls_ca_file, "");
    ck_assert_str_eq(c.mqtt.tls_cert_file, "");
    ck_assert_str_eq(c.mqtt.tls_key_file, "");
    ck_assert_int_eq(c.mqtt.tls_verify_hostname, 1);

    ck_assert_str_eq(c.influx.url, "http://127.0.0.1:8086");
    ck_assert_int_eq(c.influx.api, INFLUX_API_V1);
    ck_assert_str_eq(c.influx.database, "kompos");
    ck_assert_str_eq(c.influx.retention_policy, "");
    ck_assert_str_eq(c.influx.username, "");
    ck_assert_str_eq(c.influx.password_file, "");
    ck_assert_str_eq(c.influx.org, "");
    ck_assert_str_eq(c.influx.bucket, "");
    ck_assert_str_eq(c.influx.token_file, "");
    ck_assert_int_eq(c.influx.batch_size, 5000);
    ck_assert_int_eq(c.influx.flush_interval_ms, 1000);
    ck_assert_int_eq(c.influx.gzip, 1);
    ck_assert_int_eq(c.influx.timeout_ms, 5000);
    ck_assert_int_eq(c.influx.max_queue_points, 100000);
    ck_assert_int_eq(c.influx.retry_max_ms, 30000);
    ck_assert_int_eq(c.influx.shutdown_grace_ms, 10000);

    ck_assert_int_eq(c.limits.max_series, 10000);
    ck_assert_int_eq(c.limits.max_payload_bytes, 4096);

    ck_assert_int_eq(c.stats.window_s, 60);
    ck_assert_int_eq(c.stats.history_s, 3600);
    ck_assert_int_eq(c.stats.ring_points, 360);
    ck_assert_int_eq(c.stats.self_interval_s, 10);

    ck_assert_int_eq(c.log.level, LOG_LVL_INFO);

    ck_assert_uint_eq(c.decode.ntemplates, 2);
    ck_assert_str_eq(c.decode.templates[0], "kube/{site}/{kind}/{id}/{field}");
    ck_assert_str_eq(c.decode.templates[1], "kube/{site}/{kind}/{id}");
    ck_assert_uint_eq(c.decode.nkinds, 3);
    ck_assert_str_eq(c.decode.kinds[0], "drum");
    ck_assert_str_eq(c.decode.kinds[1], "tank");
    ck_assert_str_eq(c.decode.kinds[2], "site");

    ck_assert_ptr_null(c.validate.ranges);
    ck_assert_uint_eq(c.validate.nranges, 0);
    ck_assert_str_eq(c.validate.ds18b20_fields, "temp_*_c");
    ck_assert_double_eq(c.validate.ds18b20_hot_c, 80.0);
    ck_assert_int_eq(c.validate.max_future_s, 300);
    config_free(&c);
}
END_TEST

START_TEST(empty_text_gives_the_defaults)
{
    struct hub_config c, d;
    char err[256] = "";
    const char *diff;

    ck_assert_int_eq(load("# nothing but a comment\n", &c, err, sizeof(err)), HUB_OK);
    ck_assert_int_eq(config_defaults(&d), HUB_OK);
    diff = cfg_diff(&c, &d);
    ck_assert_msg(diff == NULL, "differs from the defaults in %s", diff);
    config_free(&c);
    config_free(&d);
}
END_TEST

START_TEST(free_zeroes_and_accepts_null)
{
    static const struct hub_config zero;
    struct hub_config c;

    config_free(NULL);
    ck_assert_int_eq(config_defaults(&c), HUB_OK);
    config_free(&c);
    ck_assert_int_eq(memcmp(&c, &zero, sizeof(c)), 0);
    config_free(&c);    /* twice is harmless once zeroed */
}
END_TEST

/* ---- the reference file and --print-defaults -------------------------- */

START_TEST(reference_file_loads_and_equals_defaults)
{
    struct hub_config c, d;
    char path[4096], err[512] = "";
    const char *diff;

    src_path(path, sizeof(path), "config/kompos-hub.cfg");
    ck_assert_msg(config_load_file(path, &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_int_eq(config_defaults(&d), HUB_OK);
    diff = cfg_diff(&c, &d);
    ck_assert_msg(diff == NULL, "reference file differs from the defaults in %s", diff);
    config_free(&c);
    config_free(&d);
}
END_TEST

START_TEST(reference_file_sets_every_key)
{
    char path[4096];
    char *text;

    src_path(path, sizeof(path), "config/kompos-hub.cfg");
    text = slurp(path);
    for (size_t i = 0; i < NALL_KEYS; i++)
        ck_assert_msg(sets_key(text, all_keys[i]), "reference file lacks %s", all_keys[i]);
    free(text);
}
END_TEST

static char *print_defaults(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    config_print_defaults(f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_nonnull(buf);
    return buf;
}

START_TEST(print_defaults_round_trips)
{
    struct hub_config c, d;
    char err[512] = "";
    char *text = print_defaults();
    const char *diff;

    ck_assert_msg(load(text, &c, err, sizeof(err)) == HUB_OK, "%s\n%s", err, text);
    ck_assert_int_eq(config_defaults(&d), HUB_OK);
    diff = cfg_diff(&c, &d);
    ck_assert_msg(diff == NULL, "printed defaults differ in %s", diff);
    for (size_t i = 0; i < NALL_KEYS; i++)
        ck_assert_msg(sets_key(text, all_keys[i]), "printed defaults lack %s", all_keys[i]);
    /* help text and bounds come along */
    ck_assert_ptr_nonnull(strstr(text, "# MQTT broker TCP port.\n    # Default 1883, range 1..65535.\n"
                                       "    port = 1883;\n"));
    ck_assert_ptr_nonnull(strstr(text, "# One of debug, info, warn, error.\n"));
    ck_assert_ptr_nonnull(strstr(text, "{ field = \"*_l\"; min = 0; max = 1000000; }"));
    free(text);
    config_free(&c);
    config_free(&d);
}
END_TEST

/* ---- values that load ------------------------------------------------- */

START_TEST(every_kind_of_value_parses)
{
    static const char text[] =
        "site = \"guntung\";\n"
        "mqtt = { port = 1884; qos = 2; clean_session = true; client_id = \"\";\n"
        "         subscriptions = [ \"a/#\", \"b/+\" ]; keepalive_s = 5; };\n"
        "influx = { api = \"v2\"; org = \"o\"; bucket = \"b\"; database = \"\";\n"
        "           url = \"https://db:8086\"; gzip = false;\n"
        "           max_queue_points = 10000000L; batch_size = 100000; };\n"
        "log = { level = \"warn\"; };\n"
        "decode = { templates = ( \"x/{kind}/{site}/{id}\" ); kinds = ( \"bin\" ); };\n"
        "validate = { ranges = ( { field = \"ph\"; min = 4; max = 9.5; },\n"
        "                        { max = 1e3; min = -2.5; field = \"*_kg\"; } );\n"
        "             ds18b20_fields = \"\"; max_future_s = 0; };\n";
    struct hub_config c;
    char err[512] = "";

    ck_assert_msg(load(text, &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_str_eq(c.site, "guntung");
    ck_assert_int_eq(c.mqtt.port, 1884);
    ck_assert_str_eq(c.mqtt.host, "127.0.0.1");     /* untouched keys keep defaults */
    ck_assert_int_eq(c.mqtt.qos, 2);
    ck_assert_int_eq(c.mqtt.clean_session, 1);
    ck_assert_str_eq(c.mqtt.client_id, "");          /* allowed with clean_session */
    ck_assert_uint_eq(c.mqtt.nsubscriptions, 2);
    ck_assert_str_eq(c.mqtt.subscriptions[0], "a/#");
    ck_assert_str_eq(c.mqtt.subscriptions[1], "b/+");
    ck_assert_int_eq(c.mqtt.keepalive_s, 5);
    ck_assert_int_eq(c.influx.api, INFLUX_API_V2);
    ck_assert_str_eq(c.influx.org, "o");
    ck_assert_str_eq(c.influx.bucket, "b");
    ck_assert_str_eq(c.influx.database, "");         /* not needed with v2 */
    ck_assert_str_eq(c.influx.url, "https://db:8086");
    ck_assert_int_eq(c.influx.gzip, 0);
    ck_assert_int_eq(c.influx.max_queue_points, 10000000);
    ck_assert_int_eq(c.influx.batch_size, 100000);
    ck_assert_int_eq(c.log.level, LOG_LVL_WARN);
    ck_assert_uint_eq(c.decode.ntemplates, 1);
    ck_assert_str_eq(c.decode.templates[0], "x/{kind}/{site}/{id}");
    ck_assert_uint_eq(c.decode.nkinds, 1);
    ck_assert_str_eq(c.decode.kinds[0], "bin");
    ck_assert_uint_eq(c.validate.nranges, 2);
    ck_assert_str_eq(c.validate.ranges[0].pattern, "ph");
    ck_assert_double_eq(c.validate.ranges[0].min, 4.0);
    ck_assert_double_eq(c.validate.ranges[0].max, 9.5);
    ck_assert_str_eq(c.validate.ranges[1].pattern, "*_kg");
    ck_assert_double_eq(c.validate.ranges[1].min, -2.5);
    ck_assert_double_eq(c.validate.ranges[1].max, 1000.0);
    ck_assert_str_eq(c.validate.ds18b20_fields, "");
    ck_assert_int_eq(c.validate.max_future_s, 0);
    config_free(&c);
}
END_TEST

START_TEST(int_literal_accepted_for_a_float_key)
{
    struct hub_config c;
    char err[256] = "";

    ck_assert_msg(load("validate = { ds18b20_hot_c = 75; };", &c, err, sizeof(err)) == HUB_OK,
                  "%s", err);
    ck_assert_double_eq(c.validate.ds18b20_hot_c, 75.0);
    config_free(&c);
    ck_assert_msg(load("validate = { ds18b20_hot_c = -55L; };", &c, err, sizeof(err)) == HUB_OK,
                  "%s", err);
    ck_assert_double_eq(c.validate.ds18b20_hot_c, -55.0);
    config_free(&c);
}
END_TEST

START_TEST(bounds_are_inclusive)
{
    struct hub_config c;
    char err[256] = "";

    ck_assert_msg(load("mqtt = { port = 65535; qos = 0; };\nstats = { history_s = 604800; };",
                       &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_int_eq(c.mqtt.port, 65535);
    ck_assert_int_eq(c.mqtt.qos, 0);
    ck_assert_int_eq(c.stats.history_s, 604800);
    config_free(&c);
    ck_assert_msg(load("validate = { ds18b20_hot_c = 125.0; };\n"
                       "influx = { shutdown_grace_ms = 0; batch_size = 1; max_queue_points = 1000; };",
                       &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_double_eq(c.validate.ds18b20_hot_c, 125.0);
    ck_assert_int_eq(c.influx.shutdown_grace_ms, 0);
    ck_assert_int_eq(c.influx.max_queue_points, 1000);
    config_free(&c);
}
END_TEST

/* ---- bad configs: exact "name:LINE: " prefix + a piece of the message -- */

struct bad_case {
    const char *text;
    const char *prefix;     /* exact start of err */
    const char *msg;        /* must occur in err after the prefix */
};

static const struct bad_case bad[] = {
    /* unknown keys */
    { "site = \"x\";\nfoo = 1;\n",                       "t.cfg:2: ", "unknown key 'foo'" },
    { "mqtt = {\n  port = 1883;\n  hots = \"x\";\n};\n",  "t.cfg:3: ", "unknown key 'mqtt.hots'" },
    { "metrics = { a = 1; };",                           "t.cfg:1: ", "unknown key 'metrics'" },
    { "mqtt = {\n  tls = { ca = \"x\"; };\n};",          "t.cfg:2: ", "unknown key 'mqtt.tls'" },
    { "\n\nport = 1883;",                                "t.cfg:3: ", "unknown key 'port'" },
    /* wrong types */
    { "mqtt = { port = \"1883\"; };",                    "t.cfg:1: ", "mqtt.port: expected an integer" },
    { "\nmqtt = { port = 1883.0; };",                    "t.cfg:2: ", "mqtt.port: expected an integer" },
    { "mqtt = { clean_session = 0; };",                  "t.cfg:1: ", "mqtt.clean_session: expected true or false" },
    { "influx = { gzip = \"yes\"; };",                   "t.cfg:1: ", "influx.gzip: expected true or false" },
    { "site = 5;",                                       "t.cfg:1: ", "site: expected a string" },
    { "site = { a = 1; };",                              "t.cfg:1: ", "site: expected a string" },
    { "validate = { ds18b20_hot_c = \"80\"; };",         "t.cfg:1: ", "validate.ds18b20_hot_c: expected a number" },
    { "log = { level = 1; };",                           "t.cfg:1: ", "log.level: expected a string" },
    { "mqtt = { subscriptions = \"kube/#\"; };",         "t.cfg:1: ", "mqtt.subscriptions: expected a list of strings" },
    { "mqtt = {\n subscriptions = ( \"a\",\n 5 );\n};",  "t.cfg:3: ", "mqtt.subscriptions[1]: expected a string" },
    /* out of range */
    { "mqtt = { port = 70000; };",                       "t.cfg:1: ", "mqtt.port: 70000 is out of range 1..65535" },
    { "mqtt = { port = 0; };",                           "t.cfg:1: ", "mqtt.port: 0 is out of range 1..65535" },
    { "mqtt = { qos = 3; };",                            "t.cfg:1: ", "mqtt.qos: 3 is out of range 0..2" },
    { "influx = { batch_size = 5000000000L; };",         "t.cfg:1: ", "influx.batch_size: 5000000000 is out of range 1..100000" },
    { "stats = { history_s = 59; };",                    "t.cfg:1: ", "stats.history_s: 59 is out of range 60..604800" },
    { "validate = { ds18b20_hot_c = 125.5; };",          "t.cfg:1: ", "validate.ds18b20_hot_c: 125.5 is out of range -55..125" },
    { "validate = { ds18b20_fields = \"0123456789012345678901234567890123456789012345678901234567890123\"; };",
                                                         "t.cfg:1: ", "validate.ds18b20_fields: longer than 63 bytes" },
    /* enums */
    { "log = { level = \"loud\"; };",                    "t.cfg:1: ", "log.level: 'loud' is not one of debug, info, warn, error" },
    { "influx = { api = \"v3\"; };",                     "t.cfg:1: ", "influx.api: 'v3' is not one of v1, v2" },
    /* syntax errors, reported by libconfig */
    { "site = \"x\";\nmqtt = {\n  port = ;\n};",         "t.cfg:3: ", "syntax error" },
    { "site = \"a\";\nsite = \"b\";",                    "t.cfg:2: ", "duplicate setting name" },
    /* group shape */
    { "site = \"x\";\nmqtt = 5;",                        "t.cfg:2: ", "mqtt: expected a group" },
    { "stats = ( 1, 2 );",                               "t.cfg:1: ", "stats: expected a group" },
    /* cross-field checks */
    { "http = {\n bind = \"localhost\";\n};", "t.cfg:2: ", "http.bind: 'localhost' is not an IPv4 or IPv6 address" },
    { "influx = {\n api = \"v2\";\n org = \"kube\";\n};", "t.cfg:1: ", "influx.bucket: must not be empty with api v2" },
    { "influx = {\n api = \"v2\";\n org = \"\";\n bucket = \"b\";\n};",
                                                         "t.cfg:3: ", "influx.org: must not be empty with api v2" },
    { "influx = {\n\n database = \"\";\n};",             "t.cfg:3: ", "influx.database: must not be empty with api v1" },
    { "influx = {\n url = \"ftp://x\";\n};",             "t.cfg:2: ", "influx.url: 'ftp://x' must start with http:// or https://" },
    { "influx = { url = \"http://\"; };",                "t.cfg:1: ", "must start with http:// or https://" },
    { "influx = { batch_size = 5000;\n max_queue_points = 4000; };",
                                                         "t.cfg:2: ", "influx.max_queue_points: 4000 is less than influx.batch_size (5000)" },
    { "mqtt = {\n subscriptions = ( );\n};",             "t.cfg:2: ", "mqtt.subscriptions: at least one topic filter is needed" },
    { "mqtt = {\n subscriptions = ( \"a\",\n \"\" );\n};", "t.cfg:3: ", "mqtt.subscriptions[1]: must not be empty" },
    { "mqtt = {\n client_id = \"\";\n};",                "t.cfg:2: ", "mqtt.client_id: must not be empty when clean_session is false" },
    { "mqtt = { host = \"\"; };",                        "t.cfg:1: ", "mqtt.host: must not be empty" },
    { "decode = {\n templates = ( \"kube/{site}/{kind}/{field}\" );\n};",
                                                         "t.cfg:2: ", "decode.templates[0]: 'kube/{site}/{kind}/{field}' lacks {id}" },
    { "decode = {\n templates = ( \"kube/{site}/{kind}/{id}\",\n \"{kind}/{id}\" );\n};",
                                                         "t.cfg:3: ", "decode.templates[1]: '{kind}/{id}' lacks {site}" },
    { "decode = { templates = [ ]; };",                  "t.cfg:1: ", "decode.templates: at least one template is needed" },
    { "decode = { kinds = ( \"drum\", \"a/b\" ); };",    "t.cfg:1: ", "decode.kinds[1]: must not contain '/'" },
    { "decode = { kinds = ( \"drum+\" ); };",            "t.cfg:1: ", "decode.kinds[0]: must not contain '+' or '#'" },
    { "stats = { window_s = 600;\n history_s = 300; };", "t.cfg:2: ", "stats.history_s: 300 is less than stats.window_s (600)" },
    { "site = \"\";",                                    "t.cfg:1: ", "site: must not be empty" },
    { "\nsite = \"a/b\";",                               "t.cfg:2: ", "site: must not contain '/'" },
    { "site = \"a\\\\b\";",                              "t.cfg:1: ", "site: must not contain '\\'" },
    { "site = \"a\\tb\";",                               "t.cfg:1: ", "site: must not contain control characters" },
    { "site = \"0123456789012345678901234567890123456789012345678901234567890123\";",
                                                         "t.cfg:1: ", "site: must be shorter than 64 bytes" },
    /* validate.ranges entries */
    { "validate = {\n ranges = (\n  { field = \"ph\"; min = 13; max = 1; }\n );\n};",
                                                         "t.cfg:3: ", "validate.ranges[0]: min (13) must be less than max (1)" },
    { "validate = { ranges = ( { field = \"ph\"; min = 1; max = 13; },\n { field = \"x\"; min = 2.5; max = 2.5; } ); };",
                                                         "t.cfg:2: ", "validate.ranges[1]: min (2.5) must be less than max (2.5)" },
    { "validate = {\n ranges = (\n  { field = \"ph\";\n    min = 1; max = 13; step = 1; }\n );\n};",
                                                         "t.cfg:4: ", "unknown key 'validate.ranges[0].step'" },
    { "validate = {\n ranges = (\n  { field = \"ph\"; min = 1; }\n );\n};",
                                                         "t.cfg:3: ", "validate.ranges[0]: missing 'max'" },
    { "validate = { ranges = ( { field = 5; min = 1; max = 2; } ); };",
                                                         "t.cfg:1: ", "validate.ranges[0].field: expected a string" },
    { "validate = { ranges = ( { field = \"\"; min = 1; max = 2; } ); };",
                                                         "t.cfg:1: ", "validate.ranges[0].field: must be 1 to 63 bytes long" },
    { "validate = { ranges = ( { field = \"ph\"; min = \"1\"; max = 2; } ); };",
                                                         "t.cfg:1: ", "validate.ranges[0].min: expected a number" },
    { "validate = { ranges = ( { field = \"ph\"; min = 1; max = true; } ); };",
                                                         "t.cfg:1: ", "validate.ranges[0].max: expected a number" },
    { "validate = { ranges = ( \"ph\" ); };",            "t.cfg:1: ", "validate.ranges[0]: expected a group" },
    { "validate = { ranges = { field = \"ph\"; }; };",   "t.cfg:1: ", "validate.ranges: expected a list of groups" },
    /* TLS to the broker: types, both-or-neither, a CA for a client cert, files */
    { "mqtt = { tls_ca_file = 5; };",                    "t.cfg:1: ", "mqtt.tls_ca_file: expected a string" },
    { "mqtt = {\n tls_verify_hostname = \"no\";\n};",    "t.cfg:2: ", "mqtt.tls_verify_hostname: expected true or false" },
    { "mqtt = {\n tls_ca_file = \"/nonexistent/ca.pem\";\n};",
                                                         "t.cfg:2: ", "mqtt.tls_ca_file: /nonexistent/ca.pem: No such file or directory" },
    { "mqtt = {\n tls_ca_file = \"/\";\n};",             "t.cfg:2: ", "mqtt.tls_ca_file: /: Is a directory" },
    { "mqtt = {\n tls_ca_file = \"/nonexistent/ca.pem\";\n tls_cert_file = \"/nonexistent/c.pem\";\n};",
                                                         "t.cfg:3: ", "mqtt.tls_cert_file: set without mqtt.tls_key_file; a client certificate needs both" },
    { "mqtt = {\n\n tls_key_file = \"/nonexistent/k.pem\";\n};",
                                                         "t.cfg:3: ", "mqtt.tls_key_file: set without mqtt.tls_cert_file; a client certificate needs both" },
    { "mqtt = {\n tls_key_file = \"/nonexistent/k.pem\";\n tls_cert_file = \"/nonexistent/c.pem\";\n};",
                                                         "t.cfg:3: ", "mqtt.tls_cert_file: needs mqtt.tls_ca_file (TLS is on only with a CA file)" },
    /* credentials in the (logged) InfluxDB URL */
    { "influx = {\n url = \"http://hub:s3cret@db:8086\";\n};",
                                                         "t.cfg:2: ", "influx.url: must not hold a user name or password (the URL is logged)" },
    { "influx = { url = \"https://tok@db\"; };",         "t.cfg:1: ", "influx.url: must not hold a user name or password" },
    /* compost: drums and tanks */
    { "drums = {\n sanitation_standard = \"eu\";\n};",  "t.cfg:2: ",
      "drums.sanitation_standard: 'eu' is not one of none, us_pfrp_invessel, us_pfrp_windrow, fr_72h_cumulative, uk_pas100" },
    { "drums = { too_dry_pct = 70.0; };",                "t.cfg:1: ", "drums.too_dry_pct (70) must be less than drums.too_wet_pct (65)" },
    { "tanks = { shape = \"sphere\"; };",                "t.cfg:1: ", "tanks.shape: 'sphere' is not one of" },
    { "tanks = { shape = \"table\"; };",                 "t.cfg:1: ", "a calibration table belongs to one tank in tanks.each" },
    { "tanks = { recipe = \"BEER\"; };",                 "t.cfg:1: ", "tanks.recipe: 'BEER' is not one of POC_EM4, ECO_ENZYME, PESTISIDA_NABATI" },
    { "tanks = {\n each = (\n { id = \"2\"; shape = \"table\"; } );\n};", "t.cfg:3: ", "tanks.each[0]: shape \"table\" needs a table" },
    { "tanks = { each = ( { id = \"2\";\n table = ( [10.0, 0.0], [5.0, 95.0] ); } ); };", "t.cfg:2: ",
      "tanks.each[0].table[1]: levels must increase and litres must not decrease" },
    { "tanks = { each = ( { id = \"2\"; table = ( [10.0, 0.0] ); } ); };", "t.cfg:1: ", "tanks.each[0].table: expected a list of 2 to 32" },
    { "tanks = { each = ( { id = \"2\"; table = ( ( 10.0, \"x\" ), [20.0, 5.0] ); } ); };", "t.cfg:1: ", "tanks.each[0].table[0]: expected two numbers" },
    { "tanks = { each = ( { id = \"2\"; shape = \"box\"; table = ( [0.0, 0.0], [20.0, 5.0] ); } ); };", "t.cfg:1: ", "a table is only used with shape \"table\"" },
    { "tanks = { each = ( { id = \"2\"; recipe = \"BEER\"; } ); };", "t.cfg:1: ", "tanks.each[0].recipe: 'BEER' is not one of" },
    { "tanks = { each = ( { id = \"2\"; }, { id = \"2\"; } ); };", "t.cfg:1: ", "tanks.each[1]: tank id '2' appears twice" },
    { "tanks = { each = ( { shape = \"box\"; } ); };",     "t.cfg:1: ", "tanks.each[0]: missing 'id'" },
    { "tanks = { each = ( { id = \"2\"; colour = 1; } ); };", "t.cfg:1: ", "unknown key 'tanks.each[0].colour'" },
    { "tanks = { each = ( { id = \"2\"; height_cm = -1.0; } ); };", "t.cfg:1: ", "tanks.each[0].height_cm: expected a number of cm" },
    { "tanks = { each = ( 5 ); };",                      "t.cfg:1: ", "tanks.each[0]: expected a group" },
    { "tanks = { each = 5; };",                          "t.cfg:1: ", "tanks.each: expected a list of groups" },
    /* alerts, members, notify */
    { "alerts = { lang = \"fr\"; };",                    "t.cfg:1: ", "alerts.lang: 'fr' is not id or en" },
    { "alerts = {\n quiet_end = \"6:00\"; };",            "t.cfg:2: ", "alerts.quiet_end: '6:00' is not HH:MM" },
    { "alerts = { rules = (\n { name = \"X\"; kind = \"drum\"; field = \"t\"; op = \"=>\"; } ); };", "t.cfg:2: ",
      "alerts.rules[0].op: expected one of \">\", \">=\", \"<\", \"<=\", \"==\", \"!=\", \"none\"" },
    { "alerts = { rules = ( { name = \"X\"; kind = \"drum\"; op = \">\"; } ); };", "t.cfg:1: ", "alerts.rules[0]: missing 'field'" },
    { "alerts = { rules = ( { name = \"X\"; kind = \"drum\"; field = \"t\"; op = \">\"; for_s = -5; } ); };", "t.cfg:1: ",
      "alerts.rules[0].for_s: expected whole seconds" },
    { "alerts = { rules = ( { name = \"X\"; kind = \"drum\"; field = \"t\"; op = \">\"; severity = \"loud\"; } ); };", "t.cfg:1: ",
      "alerts.rules[0].severity: expected one of \"info\", \"warn\", \"crit\"" },
    { "alerts = { rules = ( { name = \"X\"; kind = \"drum\"; field = \"t\"; op = \">\"; },\n { name = \"X\"; kind = \"tank\"; field = \"t\"; op = \"<\"; } ); };",
      "t.cfg:2: ", "alerts.rules[1]: rule X on t appears twice" },
    { "alerts = { templates = ( { rule = \"DRUM_OVERHEAT\"; firing = \"Drum {id} {nope}\"; } ); };", "t.cfg:1: ",
      "alerts.templates[0] (DRUM_OVERHEAT): unknown placeholder {nope}" },
    { "members = ( { name = \"Sari\"; phone = \"0812 3456 7890\"; channels = [ \"gammu\" ]; } );", "t.cfg:1: ",
      "members[0] (Sari): channel gammu needs notify.gammu_outbox_dir to be set" },
    { "members = ( { name = \"Sari\"; phone = \"abc\"; channels = [ \"fonnte\" ]; } );", "t.cfg:1: ",
      "members[0] (Sari): member 'Sari': phone 'abc'" },
    { "members = ( { name = \"Sari\"; phone = \"0812345678\"; channels = [ \"pigeon\" ]; } );", "t.cfg:1: ",
      "members[0].channels[0]: 'pigeon' is not one of webhook" },
    { "members = ( { name = \"Sari\"; phone = \"0812345678\"; channels = [ ]; } );", "t.cfg:1: ",
      "members[0].channels: expected 1 to 4 channel names" },
    { "members = ( { name = \"Sari\"; phone = \"08123456789\"; channels = [ \"fonnte\" ]; },\n { name = \"Sari\"; phone = \"08123456780\"; channels = [ \"fonnte\" ]; } );",
      "t.cfg:2: ", "members[1]: the name 'Sari' appears twice" },
    { "members = ( { name = \"Sari\"; phone = \"08123456789\"; channels = [ \"fonnte\" ]; tier = 0; } );", "t.cfg:1: ",
      "members[0].tier: expected an integer 1..9" },
    { "members = ( { name = \"Sari\"; channels = [ \"fonnte\" ]; } );", "t.cfg:1: ", "members[0]: missing 'phone'" },
};
#define NBAD (int)(sizeof(bad) / sizeof(bad[0]))

START_TEST(bad_config_is_rejected_with_file_and_line)
{
    static const struct hub_config zero;
    const struct bad_case *b = &bad[_i];
    struct hub_config c;
    char err[512];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = load(b->text, &c, err, sizeof(err));
    ck_assert_msg(rc == HUB_EINVAL, "case %d: rc=%d for <<%s>>", _i, rc, b->text);
    ck_assert_msg(strncmp(err, b->prefix, strlen(b->prefix)) == 0,
                  "case %d: err '%s' does not start with '%s'", _i, err, b->prefix);
    ck_assert_msg(strstr(err + strlen(b->prefix), b->msg) != NULL,
                  "case %d: err '%s' lacks '%s'", _i, err, b->msg);
    ck_assert_msg(memcmp(&c, &zero, sizeof(c)) == 0, "case %d: out not zeroed", _i);
}
END_TEST

START_TEST(tanks_each_parses)
{
    struct hub_config c;
    char err[512] = "";

    ck_assert_msg(load("tanks = { each = (\n"
                       " { id = \"2\"; shape = \"table\"; sensor_height_cm = 120.0; recipe = \"ECO_ENZYME\";\n"
                       "   table = ( [0.0, 0.0], [40.0, 95.5], [80, 200] ); },\n"
                       " { id = \"3\"; shape = \"box\"; length_cm = 100; width_cm = 50.0; height_cm = 60.0; } ); };",
                       &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_uint_eq(c.tanks.neach, 2);
    ck_assert_str_eq(c.tanks.each[0].id, "2");
    ck_assert_str_eq(c.tanks.each[0].shape, "table");
    ck_assert_str_eq(c.tanks.each[0].recipe, "ECO_ENZYME");
    ck_assert_uint_eq(c.tanks.each[0].ntable, 3);
    ck_assert_double_eq(c.tanks.each[0].table_level_cm[2], 80.0);
    ck_assert_double_eq(c.tanks.each[0].table_litres[1], 95.5);
    ck_assert_double_eq(c.tanks.each[0].sensor_height_cm, 120.0);
    ck_assert(isnan(c.tanks.each[0].diameter_cm));
    ck_assert_str_eq(c.tanks.each[1].shape, "box");
    ck_assert_str_eq(c.tanks.each[1].recipe, "");
    ck_assert_double_eq(c.tanks.each[1].width_cm, 50.0);
    ck_assert(isnan(c.tanks.each[1].sensor_height_cm));
    config_free(&c);
}
END_TEST

START_TEST(members_and_rules_parse)
{
    struct hub_config c;
    char err[512] = "";

    ck_assert_msg(load("members = ( { name = \"Sari\"; phone = \"0812-3456-7890\"; channels = [ \"fonnte\", \"twilio_sms\" ];\n"
                       "  role = \"ketua\"; tier = 2; lang = \"en\"; on_duty = \"mon-sat 07:00-17:00\"; min_severity = \"warn\"; },\n"
                       "  { name = \"Budi\"; phone = \"+6281234567891\"; channels = [ \"fonnte\" ]; } );\n"
                       "notify = { twilio_account_sid = \"AC1\"; twilio_from = \"+15005550006\"; };\n"
                       "alerts = { rules = ( { name = \"HOT\"; kind = \"drum\"; field = \"temp_core_c\"; op = \">=\";\n"
                       "  threshold = 68; clear = 64.5; for_s = 600; clear_for_s = 300; severity = \"crit\"; } ); };",
                       &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_uint_eq(c.nmembers, 2);
    ck_assert_str_eq(c.members[0].name, "Sari");
    ck_assert_str_eq(c.members[0].phone, "0812-3456-7890");     /* normalised by the router */
    ck_assert_uint_eq(c.members[0].nchannels, 2);
    ck_assert_str_eq(c.members[0].channels[1], "twilio_sms");
    ck_assert_str_eq(c.members[0].role, "ketua");
    ck_assert_int_eq(c.members[0].tier, 2);
    ck_assert_int_eq(c.members[0].min_severity, ROUTE_WARN);
    ck_assert_str_eq(c.members[1].role, "operator");           /* the default role */
    ck_assert_int_eq(c.members[1].tier, 1);
    ck_assert_uint_eq(c.alerts.nrules, 1);
    ck_assert_int_eq(c.alerts.rules[0].op, OP_GE);
    ck_assert_double_eq(c.alerts.rules[0].threshold, 68.0);
    ck_assert_double_eq(c.alerts.rules[0].clear_threshold, 64.5);
    ck_assert_int_eq(c.alerts.rules[0].for_s, 600);
    ck_assert_int_eq(c.alerts.rules[0].severity, ALERT_CRIT);
    ck_assert(isnan(c.alerts.rules[0].crit_threshold));
    config_free(&c);
}
END_TEST

START_TEST(error_messages_are_exact)
{
    char err[256];
    struct hub_config c;

    ck_assert_int_eq(load("mqtt = {\n hots = \"x\";\n};", &c, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "t.cfg:2: unknown key 'mqtt.hots'");
    ck_assert_int_eq(load("mqtt = { port = 70000; };", &c, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "t.cfg:1: mqtt.port: 70000 is out of range 1..65535");
    ck_assert_int_eq(load("log = { level = \"loud\"; };", &c, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "t.cfg:1: log.level: 'loud' is not one of debug, info, warn, error");
    ck_assert_int_eq(load("\nmqtt = { port = 1.5; };", &c, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "t.cfg:2: mqtt.port: expected an integer");
}
END_TEST

START_TEST(small_or_missing_error_buffer_is_safe)
{
    struct hub_config c;
    char err[12];

    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(load("mqtt = { port = 70000; };", &c, err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "t.cfg:1: mq");   /* truncated, terminated */
    ck_assert_int_eq(load("mqtt = { port = 70000; };", &c, NULL, 0), HUB_EINVAL);
    ck_assert_int_eq(load("mqtt = { port = ; };", &c, NULL, 0), HUB_EINVAL);
    ck_assert_int_eq(config_load_string(NULL, "t.cfg", &c, err, sizeof(err)), HUB_EINVAL);
}
END_TEST

/* ---- files ------------------------------------------------------------ */

START_TEST(missing_file_is_reported_without_a_line)
{
    struct hub_config c;
    char err[256];

    ck_assert_int_eq(config_load_file("/nonexistent/kompos-hub.cfg", &c, err, sizeof(err)),
                     HUB_EIO);
    ck_assert_str_eq(err, "/nonexistent/kompos-hub.cfg: No such file or directory");
}
END_TEST

START_TEST(file_fixture_v2_loads)
{
    struct hub_config c;
    char path[4096], err[512] = "";

    src_path(path, sizeof(path), "tests/data/configs/v2.cfg");
    ck_assert_msg(config_load_file(path, &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_str_eq(c.site, "guntung");
    ck_assert_int_eq(c.mqtt.port, 8883);
    ck_assert_uint_eq(c.mqtt.nsubscriptions, 1);
    ck_assert_str_eq(c.mqtt.subscriptions[0], "kube/guntung/#");
    ck_assert_int_eq(c.influx.api, INFLUX_API_V2);
    ck_assert_str_eq(c.influx.bucket, "compost");
    ck_assert_int_eq(c.influx.batch_size, 1000);
    ck_assert_uint_eq(c.validate.nranges, 2);
    ck_assert_double_eq(c.validate.ranges[0].max, 25.5);
    ck_assert_double_eq(c.validate.ranges[1].min, -10.0);
    ck_assert_double_eq(c.validate.ds18b20_hot_c, 75.0);
    ck_assert_int_eq(c.log.level, LOG_LVL_DEBUG);
    config_free(&c);
}
END_TEST

START_TEST(file_errors_name_the_file_and_line)
{
    struct hub_config c;
    char path[4096], want[4200], err[4400];

    src_path(path, sizeof(path), "tests/data/configs/bad-range.cfg");
    ck_assert_int_eq(config_load_file(path, &c, err, sizeof(err)), HUB_EINVAL);
    snprintf(want, sizeof(want), "%s:6: validate.ranges[0]: min (13) must be less than max (1)",
             path);
    ck_assert_str_eq(err, want);
}
END_TEST

/* ---- validate_cfg ----------------------------------------------------- */

START_TEST(validate_cfg_borrows_the_ranges)
{
    struct hub_config c;
    struct validate_cfg v;
    char err[256] = "";

    ck_assert_msg(load("validate = { ranges = ( { field = \"ph\"; min = 4; max = 9; } );\n"
                       "  ds18b20_fields = \"probe_*\"; ds18b20_hot_c = 70.5; max_future_s = 86400; };",
                       &c, err, sizeof(err)) == HUB_OK, "%s", err);
    memset(&v, 0x5a, sizeof(v));
    config_validate_cfg(&c, &v);
    ck_assert_ptr_eq(v.ranges, c.validate.ranges);
    ck_assert_uint_eq(v.nranges, 1);
    ck_assert_str_eq(v.ranges[0].pattern, "ph");
    ck_assert_str_eq(v.ds18b20_pattern, "probe_*");
    ck_assert_double_eq(v.ds18b20_hot_c, 70.5);
    ck_assert(v.max_future_ns == INT64_C(86400) * INT64_C(1000000000));
    ck_assert(v.max_past_ns == 0);
    config_free(&c);

    ck_assert_int_eq(config_defaults(&c), HUB_OK);
    config_validate_cfg(&c, &v);
    ck_assert_ptr_null(v.ranges);
    ck_assert_uint_eq(v.nranges, 0);
    ck_assert_str_eq(v.ds18b20_pattern, "temp_*_c");
    ck_assert_double_eq(v.ds18b20_hot_c, 80.0);
    ck_assert(v.max_future_ns == INT64_C(300) * INT64_C(1000000000));
    config_free(&c);
}
END_TEST

/* ---- secrets ---------------------------------------------------------- */

#define SECRET_ENV "KOMPOS_TEST_CONFIG_SECRET"

static void write_tmp(char *path, const char *content)
{
    int fd;
    ssize_t n;

    strcpy(path, "/tmp/test_config_secret_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    n = write(fd, content, strlen(content));
    ck_assert_int_eq(n, (ssize_t)strlen(content));
    close(fd);
}

START_TEST(secret_from_env_wins_over_file)
{
    char path[64], out[64], err[256] = "";

    write_tmp(path, "from-file\n");
    setenv(SECRET_ENV, "from-env", 1);
    ck_assert_int_eq(config_read_secret(path, SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, "from-env");
    setenv(SECRET_ENV, "", 1);          /* empty: the file is used */
    ck_assert_int_eq(config_read_secret(path, SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, "from-file");
    unsetenv(SECRET_ENV);
    unlink(path);
}
END_TEST

START_TEST(secret_from_file_first_line_only)
{
    static const struct { const char *content, *want; } cases[] = {
        { "s3cret\n",          "s3cret" },
        { "s3cret\r\nline2\n", "s3cret" },
        { "s3cret",            "s3cret" },
        { "a\rb\n",            "a\rb" },    /* a lone CR inside is kept */
        { "\nsecond",          "" },
        { "",                  "" },
    };
    char path[64], out[64], err[256] = "";

    unsetenv(SECRET_ENV);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_tmp(path, cases[i].content);
        ck_assert_msg(config_read_secret(path, SECRET_ENV, out, sizeof(out), err, sizeof(err)) == HUB_OK,
                      "case %zu: %s", i, err);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: got '%s'", i, out);
        unlink(path);
    }
}
END_TEST

START_TEST(secret_neither_set_is_empty)
{
    char out[16], err[64] = "";

    unsetenv(SECRET_ENV);
    memset(out, 'x', sizeof(out));
    ck_assert_int_eq(config_read_secret("", SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, "");
    memset(out, 'x', sizeof(out));
    ck_assert_int_eq(config_read_secret(NULL, NULL, out, sizeof(out), err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(secret_missing_file_is_eio)
{
    char out[16], err[256] = "";

    unsetenv(SECRET_ENV);
    ck_assert_int_eq(config_read_secret("/nonexistent/secret", SECRET_ENV, out, sizeof(out),
                                        err, sizeof(err)), HUB_EIO);
    ck_assert_str_eq(err, "/nonexistent/secret: No such file or directory");
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(secret_too_long_is_an_error_that_does_not_show_it)
{
    char path[64], out[8], err[256] = "";

    unsetenv(SECRET_ENV);
    write_tmp(path, "12345678\n");      /* 8 bytes do not fit out[8] */
    ck_assert_int_eq(config_read_secret(path, SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_EIO);
    ck_assert_ptr_nonnull(strstr(err, "longer than 7 bytes"));
    ck_assert_ptr_null(strstr(err, "1234"));
    ck_assert_str_eq(out, "");
    unlink(path);

    write_tmp(path, "1234567\r\n");     /* 7 bytes + CRLF fit */
    ck_assert_int_eq(config_read_secret(path, SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_OK);
    ck_assert_str_eq(out, "1234567");
    unlink(path);

    setenv(SECRET_ENV, "abcdefghij", 1);
    ck_assert_int_eq(config_read_secret("", SECRET_ENV, out, sizeof(out), err, sizeof(err)), HUB_EIO);
    ck_assert_ptr_null(strstr(err, "abcd"));
    unsetenv(SECRET_ENV);
}
END_TEST

/* ---- TLS files -------------------------------------------------------- */

/* A temp folder with three readable files ca.pem, c.pem, k.pem (their
 * content does not matter to the config loader; mqtt_in reads them). */
static void tls_dir(char *dir, size_t len)
{
    static const char *const names[] = { "ca.pem", "c.pem", "k.pem" };
    char path[256];
    FILE *f;

    snprintf(dir, len, "/tmp/test_config_tls_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs("-----BEGIN CERTIFICATE-----\n", f);
        fclose(f);
    }
}

static void tls_dir_remove(const char *dir)
{
    static const char *const names[] = { "ca.pem", "c.pem", "k.pem" };
    char path[256];

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

START_TEST(tls_keys_load_when_the_files_exist)
{
    struct hub_config c;
    char dir[64], text[1024], want[256], err[512] = "";

    tls_dir(dir, sizeof(dir));
    snprintf(text, sizeof(text),
             "mqtt = { port = 8883;\n tls_ca_file = \"%s/ca.pem\";\n tls_cert_file = \"%s/c.pem\";\n"
             " tls_key_file = \"%s/k.pem\";\n tls_verify_hostname = false; };", dir, dir, dir);
    ck_assert_msg(load(text, &c, err, sizeof(err)) == HUB_OK, "%s", err);
    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    ck_assert_str_eq(c.mqtt.tls_ca_file, want);
    snprintf(want, sizeof(want), "%s/c.pem", dir);
    ck_assert_str_eq(c.mqtt.tls_cert_file, want);
    snprintf(want, sizeof(want), "%s/k.pem", dir);
    ck_assert_str_eq(c.mqtt.tls_key_file, want);
    ck_assert_int_eq(c.mqtt.tls_verify_hostname, 0);
    config_free(&c);

    /* a CA alone: TLS without a client certificate */
    snprintf(text, sizeof(text), "mqtt = { tls_ca_file = \"%s/ca.pem\"; };", dir);
    ck_assert_msg(load(text, &c, err, sizeof(err)) == HUB_OK, "%s", err);
    ck_assert_str_eq(c.mqtt.tls_cert_file, "");
    ck_assert_int_eq(c.mqtt.tls_verify_hostname, 1);
    config_free(&c);
    tls_dir_remove(dir);
}
END_TEST

/* One of the three files missing: the error names that key, its line and
 * the path. */
static const struct {
    const char *missing;    /* file name replaced by a missing one */
    const char *key;
    int line;
} tls_missing[] = {
    { "ca.pem", "mqtt.tls_ca_file",   2 },
    { "c.pem",  "mqtt.tls_cert_file", 3 },
    { "k.pem",  "mqtt.tls_key_file",  4 },
};

START_TEST(tls_missing_file_names_key_line_and_path)
{
    static const struct hub_config zero;
    static const char *const files[] = { "ca.pem", "c.pem", "k.pem" };
    const char *name[3];
    struct hub_config c;
    char dir[64], text[1024], want[512], err[512] = "";

    tls_dir(dir, sizeof(dir));
    for (size_t i = 0; i < 3; i++)
        name[i] = strcmp(files[i], tls_missing[_i].missing) == 0 ? "gone.pem" : files[i];
    snprintf(text, sizeof(text),
             "mqtt = {\n tls_ca_file = \"%s/%s\";\n tls_cert_file = \"%s/%s\";\n"
             " tls_key_file = \"%s/%s\";\n};", dir, name[0], dir, name[1], dir, name[2]);
    ck_assert_int_eq(load(text, &c, err, sizeof(err)), HUB_EINVAL);
    snprintf(want, sizeof(want), "t.cfg:%d: %s: %s/gone.pem: No such file or directory",
             tls_missing[_i].line, tls_missing[_i].key, dir);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(memcmp(&c, &zero, sizeof(c)), 0);
    tls_dir_remove(dir);
}
END_TEST

START_TEST(url_credentials_are_refused_without_echoing_them)
{
    struct hub_config c;
    char err[512] = "";

    ck_assert_int_eq(load("influx = { url = \"http://hub:s3cret@db:8086\"; };", &c, err,
                          sizeof(err)), HUB_EINVAL);
    ck_assert_ptr_null(strstr(err, "s3cret"));
    ck_assert_ptr_null(strstr(err, "hub:"));
    /* an '@' after the host part is not a credential */
    ck_assert_msg(load("influx = { url = \"http://db:8086/base?x=a@b\"; };", &c, err,
                       sizeof(err)) == HUB_OK, "%s", err);
    config_free(&c);
}
END_TEST

/* ---- file permissions ------------------------------------------------- */

struct warn_rec {
    int n;
    char msg[8][1024];
};

static void record_warning(void *ctx, const char *msg)
{
    struct warn_rec *r = ctx;

    ck_assert_int_lt(r->n, 8);
    snprintf(r->msg[r->n++], sizeof(r->msg[0]), "%s", msg);
}

/* A temp file with the given mode; path must hold 64 bytes. */
static void mode_file(char *path, unsigned mode)
{
    write_tmp(path, "x\n");
    ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
}

static const struct {
    unsigned mode;
    const char *says;       /* NULL: no warning */
} perm_cases[] = {
    { 0600, NULL },
    { 0400, NULL },
    { 0700, NULL },
    { 0200, NULL },
    { 0640, "has mode 0640: readable by group; " },
    { 0604, "has mode 0604: readable by others; " },
    { 0644, "has mode 0644: readable by group and others; " },
    { 0620, "has mode 0620: writable by group; " },
    { 0602, "has mode 0602: writable by others; " },
    { 0660, "has mode 0660: readable and writable by group; " },
    { 0666, "has mode 0666: readable and writable by group and others; " },
    { 0610, "has mode 0610: accessible by group; " },
    { 0601, "has mode 0601: accessible by others; " },
    { 04640, "has mode 4640: readable by group; " },
};

START_TEST(permissions_of_the_config_file)
{
    struct warn_rec r;
    char path[64], want[256];
    int n;

    memset(&r, 0, sizeof(r));
    mode_file(path, perm_cases[_i].mode);
    n = config_check_permissions(NULL, path, record_warning, &r);
    if (!perm_cases[_i].says) {
        ck_assert_msg(n == 0 && r.n == 0, "mode %04o: %d warning(s): %s", perm_cases[_i].mode,
                      n, r.msg[0]);
    } else {
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(r.n, 1);
        snprintf(want, sizeof(want), "%s (config file) %s", path, perm_cases[_i].says);
        ck_assert_msg(strncmp(r.msg[0], want, strlen(want)) == 0, "got '%s', want '%s...'",
                      r.msg[0], want);
        ck_assert_ptr_nonnull(strstr(r.msg[0], "chmod 600"));
    }
    /* without a callback it only counts */
    ck_assert_int_eq(config_check_permissions(NULL, path, NULL, NULL), perm_cases[_i].says ? 1 : 0);
    unlink(path);
}
END_TEST

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    ck_assert_ptr_nonnull(*field);
}

START_TEST(permissions_of_every_secret_file)
{
    struct hub_config c;
    struct warn_rec r;
    char cfgf[64], mqtt_pw[64], key[64], influx_pw[64], token[64];

    ck_assert_int_eq(config_defaults(&c), HUB_OK);
    mode_file(cfgf, 0600);
    mode_file(mqtt_pw, 0644);
    mode_file(key, 0600);
    mode_file(influx_pw, 0640);
    mode_file(token, 0604);
    set_str(&c.mqtt.password_file, mqtt_pw);
    set_str(&c.mqtt.tls_key_file, key);
    set_str(&c.influx.password_file, influx_pw);
    set_str(&c.influx.token_file, token);

    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(config_check_permissions(&c, cfgf, record_warning, &r), 3);
    ck_assert_int_eq(r.n, 3);
    ck_assert_ptr_nonnull(strstr(r.msg[0], mqtt_pw));
    ck_assert_ptr_nonnull(strstr(r.msg[0], "(mqtt.password_file) has mode 0644"));
    ck_assert_ptr_nonnull(strstr(r.msg[1], influx_pw));
    ck_assert_ptr_nonnull(strstr(r.msg[1], "(influx.password_file) has mode 0640"));
    ck_assert_ptr_nonnull(strstr(r.msg[2], token));
    ck_assert_ptr_nonnull(strstr(r.msg[2], "(influx.token_file) has mode 0604"));

    /* the key too, and the config file */
    ck_assert_int_eq(chmod(key, 0644), 0);
    ck_assert_int_eq(chmod(cfgf, 0644), 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(config_check_permissions(&c, cfgf, record_warning, &r), 5);
    ck_assert_ptr_nonnull(strstr(r.msg[0], "(config file) has mode 0644"));
    ck_assert_ptr_nonnull(strstr(r.msg[2], "(mqtt.tls_key_file) has mode 0644"));

    /* the gateway tokens of the alerts */
    {
        char fonnte[64], wa[64];

        mode_file(fonnte, 0644);
        mode_file(wa, 0600);
        set_str(&c.notify.fonnte_token_file, fonnte);
        set_str(&c.notify.whatsapp_token_file, wa);
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(config_check_permissions(&c, cfgf, record_warning, &r), 6);
        ck_assert_ptr_nonnull(strstr(r.msg[5], "(notify.fonnte_token_file) has mode 0644"));
        set_str(&c.notify.fonnte_token_file, "");
        set_str(&c.notify.whatsapp_token_file, "");
        unlink(fonnte);
        unlink(wa);
    }

    /* missing files, folders and "" are skipped: loading reports those */
    set_str(&c.mqtt.password_file, "/nonexistent/pw");
    set_str(&c.mqtt.tls_key_file, "/tmp");
    set_str(&c.influx.password_file, "");
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(config_check_permissions(&c, "/nonexistent/kompos-hub.cfg",
                                              record_warning, &r), 1);
    ck_assert_ptr_nonnull(strstr(r.msg[0], "(influx.token_file)"));

    /* the messages never hold what the files hold */
    ck_assert_ptr_null(strstr(r.msg[0], "x\n"));
    unlink(cfgf);
    unlink(mqtt_pw);
    unlink(key);
    unlink(influx_pw);
    unlink(token);
    config_free(&c);
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("defaults");
    tcase_add_test(tc, defaults_are_the_documented_values);
    tcase_add_test(tc, empty_text_gives_the_defaults);
    tcase_add_test(tc, tanks_each_parses);
    tcase_add_test(tc, members_and_rules_parse);
    tcase_add_test(tc, free_zeroes_and_accepts_null);
    tcase_add_test(tc, reference_file_loads_and_equals_defaults);
    tcase_add_test(tc, reference_file_sets_every_key);
    tcase_add_test(tc, print_defaults_round_trips);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, every_kind_of_value_parses);
    tcase_add_test(tc, int_literal_accepted_for_a_float_key);
    tcase_add_test(tc, bounds_are_inclusive);
    tcase_add_test(tc, validate_cfg_borrows_the_ranges);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_loop_test(tc, bad_config_is_rejected_with_file_and_line, 0, NBAD);
    tcase_add_test(tc, error_messages_are_exact);
    tcase_add_test(tc, small_or_missing_error_buffer_is_safe);
    tcase_add_test(tc, missing_file_is_reported_without_a_line);
    tcase_add_test(tc, file_fixture_v2_loads);
    tcase_add_test(tc, file_errors_name_the_file_and_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_add_test(tc, secret_from_env_wins_over_file);
    tcase_add_test(tc, secret_from_file_first_line_only);
    tcase_add_test(tc, secret_neither_set_is_empty);
    tcase_add_test(tc, secret_missing_file_is_eio);
    tcase_add_test(tc, secret_too_long_is_an_error_that_does_not_show_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("tls");
    tcase_add_test(tc, tls_keys_load_when_the_files_exist);
    tcase_add_loop_test(tc, tls_missing_file_names_key_line_and_path, 0,
                        (int)(sizeof(tls_missing) / sizeof(tls_missing[0])));
    tcase_add_test(tc, url_credentials_are_refused_without_echoing_them);
    suite_add_tcase(s, tc);

    tc = tcase_create("permissions");
    tcase_add_loop_test(tc, permissions_of_the_config_file, 0,
                        (int)(sizeof(perm_cases) / sizeof(perm_cases[0])));
    tcase_add_test(tc, permissions_of_every_secret_file);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(config_suite)
