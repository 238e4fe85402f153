/* SPDX-License-Identifier: MIT */
/* config.c - libconfig text -> struct hub_config (see config.h).
 *
 * The only file that includes <libconfig.h>. One static table, keys[],
 * names every key with its type, bounds, default and help (Redis
 * static_configs[], Fluent Bit config maps); it drives config_defaults(),
 * parsing, config_free() and config_print_defaults(). After parsing, a
 * cross-field pass (check(), after Mosquitto's config__check) looks at
 * what no single key can judge alone.
 *
 * No logging, no globals: errors go to the caller's buffer as
 * "FILE:LINE: message". Known libconfig 1.5 limit: an integer literal
 * without the L suffix that does not fit 32 bits wraps silently inside
 * libconfig, before this file sees it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "hub_err.h"
#include "influx_out.h"
#include "msgtext.h"
#include "notify.h"

#define CFG_FILE_MAX  (1024 * 1024)  /* a config file larger than this is a mistake */
#define CFG_PATH_MAX  128            /* longest dotted key path we build */

enum cfg_type {
    CFG_STR,        /* char *, owned                                  */
    CFG_STRBUF,     /* char[N] inside the struct; N = .size           */
    CFG_INT,        /* int, imin..imax                                */
    CFG_BOOL,       /* int, 0 or 1; only true/false in the file       */
    CFG_FLOAT,      /* double, fmin..fmax; int literals accepted      */
    CFG_ENUM,       /* an enum stored as int; a string in the file    */
    CFG_STRLIST,    /* char ** + size_t count at .size                */
    CFG_RANGES,     /* struct range_rule * + size_t count at .size    */
    CFG_TANKS,      /* struct cfg_tank * + size_t count at .size      */
    CFG_RULES,      /* struct alert_rule * + count                    */
    CFG_MEMBERS,    /* struct member * + count                        */
    CFG_TEMPLATES   /* struct cfg_template * + count                  */
};

struct cfg_enum {
    const char *name;
    int value;
};

struct cfg_key {
    const char *path;               /* "mqtt.port"; at most one dot        */
    enum cfg_type type;
    size_t off;                     /* offsetof the value                  */
    size_t size;                    /* STRBUF: buffer size; lists: offsetof the count */
    long long imin, imax;           /* CFG_INT                             */
    double fmin, fmax;              /* CFG_FLOAT                           */
    const char *def_s;              /* STR, STRBUF, ENUM (by name)         */
    long long def_i;                /* INT, BOOL                           */
    double def_f;                   /* FLOAT                               */
    const char *const *def_list;    /* STRLIST, NULL-terminated            */
    const struct cfg_enum *enums;   /* ENUM, terminated by a NULL name     */
    const char *help;               /* one line                            */
};

_Static_assert(sizeof(enum log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum influx_api) == sizeof(int), "enums are stored as int");

#define OFF(f) offsetof(struct hub_config, f)
#define FSIZE(f) sizeof(((struct hub_config *)0)->f)

#define K_STR(p, f, d, h) \
    { .path = p, .type = CFG_STR, .off = OFF(f), .def_s = d, .help = h }
#define K_STRBUF(p, f, d, h) \
    { .path = p, .type = CFG_STRBUF, .off = OFF(f), .size = FSIZE(f), .def_s = d, .help = h }
#define K_INT(p, f, lo, hi, d, h) \
    { .path = p, .type = CFG_INT, .off = OFF(f), .imin = lo, .imax = hi, .def_i = d, .help = h }
#define K_BOOL(p, f, d, h) \
    { .path = p, .type = CFG_BOOL, .off = OFF(f), .def_i = d, .help = h }
#define K_FLOAT(p, f, lo, hi, d, h) \
    { .path = p, .type = CFG_FLOAT, .off = OFF(f), .fmin = lo, .fmax = hi, .def_f = d, .help = h }
#define K_ENUM(p, f, e, d, h) \
    { .path = p, .type = CFG_ENUM, .off = OFF(f), .enums = e, .def_s = d, .help = h }
#define K_LIST(p, f, n, d, h) \
    { .path = p, .type = CFG_STRLIST, .off = OFF(f), .size = OFF(n), .def_list = d, .help = h }
#define K_RANGES(p, f, n, h) \
    { .path = p, .type = CFG_RANGES, .off = OFF(f), .size = OFF(n), .help = h }
#define K_TANKS(p, f, n, h) \
    { .path = p, .type = CFG_TANKS, .off = OFF(f), .size = OFF(n), .help = h }
#define K_GLIST(t, p, f, n, h) \
    { .path = p, .type = t, .off = OFF(f), .size = OFF(n), .help = h }

static const struct cfg_enum log_levels[] = {
    { "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
    { "warn", LOG_LVL_WARN },   { "error", LOG_LVL_ERROR }, { NULL, 0 }
};
static const struct cfg_enum influx_apis[] = {
    { "v1", INFLUX_API_V1 }, { "v2", INFLUX_API_V2 }, { NULL, 0 }
};
static const char *const def_subscriptions[] = { "kube/+/+/+/+", "kube/+/+/+", NULL };
static const char *const def_templates[] = {
    "kube/{site}/{kind}/{id}/{field}", "kube/{site}/{kind}/{id}", NULL
};
static const char *const def_kinds[] = { "drum", "tank", "site", NULL };

/* Keys of one group must be contiguous: config_print_defaults() opens a
 * group when the prefix changes. */
static const struct cfg_key keys[] = {
    K_STR("site", site, "mekarsari",
          "name of this site: the site tag of the hub measurement; no '/', '\\' or control characters"),

    K_STR("mqtt.host", mqtt.host, "127.0.0.1", "MQTT broker host name or address"),
    K_INT("mqtt.port", mqtt.port, 1, 65535, 1883, "MQTT broker TCP port"),
    K_STR("mqtt.client_id", mqtt.client_id, "kompos-hub",
          "MQTT client id; must be non-empty and stable when clean_session is false"),
    K_INT("mqtt.qos", mqtt.qos, 0, 2, 1, "QoS of the subscriptions (1: the broker keeps messages while the hub is away)"),
    K_BOOL("mqtt.clean_session", mqtt.clean_session, 0,
           "false: a persistent session, the broker queues QoS 1 messages across hub restarts"),
    K_STR("mqtt.username", mqtt.username, "", "MQTT user name; \"\" = no authentication"),
    K_STR("mqtt.password_file", mqtt.password_file, "",
          "file whose first line is the MQTT password; \"\" = none; env KOMPOS_MQTT_PASSWORD wins"),
    K_INT("mqtt.keepalive_s", mqtt.keepalive_s, 5, 3600, 30, "MQTT keepalive, seconds"),
    K_INT("mqtt.reconnect_max_s", mqtt.reconnect_max_s, 1, 3600, 30, "cap of the reconnect backoff, seconds"),
    K_LIST("mqtt.subscriptions", mqtt.subscriptions, mqtt.nsubscriptions, def_subscriptions,
           "topic filters to subscribe to; at least one, none empty"),
    K_STR("mqtt.tls_ca_file", mqtt.tls_ca_file, "",
          "PEM file of the CA certificate(s) that signed the broker's certificate; "
          "\"\" = plain TCP, no TLS"),
    K_STR("mqtt.tls_cert_file", mqtt.tls_cert_file, "",
          "TLS client certificate (PEM) for brokers that require one; \"\" = none; needs tls_key_file"),
    K_STR("mqtt.tls_key_file", mqtt.tls_key_file, "",
          "private key (PEM, not encrypted) of tls_cert_file; keep it mode 0600"),
    K_BOOL("mqtt.tls_verify_hostname", mqtt.tls_verify_hostname, 1,
           "the broker's certificate must name mqtt.host (DNS or IP SAN); false is for tests only"),

    K_STR("influx.url", influx.url, "http://127.0.0.1:8086", "InfluxDB base URL, http:// or https://"),
    K_ENUM("influx.api", influx.api, influx_apis, "v1",
           "write API: v1 (/write, database) or v2 (/api/v2/write, org + bucket + token)"),
    K_STR("influx.database", influx.database, "kompos", "v1: database; required with api v1"),
    K_STR("influx.retention_policy", influx.retention_policy, "", "v1: retention policy; \"\" = the database default"),
    K_STR("influx.username", influx.username, "", "v1: user name; \"\" = no authentication"),
    K_STR("influx.password_file", influx.password_file, "",
          "v1: file whose first line is the password; env KOMPOS_INFLUX_PASSWORD wins"),
    K_STR("influx.org", influx.org, "", "v2: organisation; required with api v2"),
    K_STR("influx.bucket", influx.bucket, "", "v2: bucket; required with api v2"),
    K_STR("influx.token_file", influx.token_file, "",
          "v2: file whose first line is the API token; env KOMPOS_INFLUX_TOKEN wins"),
    K_INT("influx.batch_size", influx.batch_size, 1, 100000, 5000, "points per write request"),
    K_INT("influx.flush_interval_ms", influx.flush_interval_ms, 10, 600000, 1000,
          "write a partial batch after this many milliseconds"),
    K_BOOL("influx.gzip", influx.gzip, 1, "gzip the request bodies"),
    K_INT("influx.timeout_ms", influx.timeout_ms, 100, 600000, 5000, "timeout of one write request, milliseconds"),
    K_INT("influx.max_queue_points", influx.max_queue_points, 1000, 10000000, 100000,
          "points held in memory before MQTT input pauses; at least batch_size"),
    K_INT("influx.retry_max_ms", influx.retry_max_ms, 100, 3600000, 30000, "cap of the write retry backoff, milliseconds"),
    K_INT("influx.shutdown_grace_ms", influx.shutdown_grace_ms, 0, 600000, 10000,
          "on shutdown, time allowed to flush queued points, milliseconds"),

    K_STR("spool.dir", spool.dir, "/var/lib/kompos-hub/spool",
          "write-ahead spool folder (created if missing): every accepted reading is on disk until "
          "InfluxDB acknowledged it; \"\" = no spool (readings wait in memory only)"),
    K_INT("spool.max_mb", spool.max_mb, 1, 1000000, 256,
          "cap of the spool files, MiB; past it the oldest segment is dropped and counted"),
    K_INT("spool.segment_mb", spool.segment_mb, 1, 1024, 8, "size of one spool segment file, MiB"),
    K_INT("spool.fsync_interval_ms", spool.fsync_interval_ms, 0, 60000, 1000,
          "fsync the spool at most this often, milliseconds; 0 = after every append"),

    K_INT("limits.max_series", limits.max_series, 1, 1000000, 10000,
          "distinct series (site, kind, id, field) tracked; more are counted and not stored"),
    K_INT("limits.max_payload_bytes", limits.max_payload_bytes, 16, 1048576, 4096,
          "larger MQTT payloads are rejected"),

    K_INT("stats.window_s", stats.window_s, 1, 86400, 60, "statistics window (mean/min/max per field), seconds"),
    K_INT("stats.history_s", stats.history_s, 60, 604800, 3600, "history kept per series, seconds; at least window_s"),
    K_INT("stats.ring_points", stats.ring_points, 8, 100000, 360, "readings kept per series"),
    K_INT("stats.self_interval_s", stats.self_interval_s, 1, 3600, 10, "period of the hub self-metrics point, seconds"),

    K_ENUM("log.level", log.level, log_levels, "info", "least severe level logged"),

    K_STR("http.bind", http.bind, "127.0.0.1",
          "address of the status HTTP server (/healthz, /metrics, /api/v1/state); "
          "keep 127.0.0.1 unless a firewall protects the port"),
    K_INT("http.port", http.port, 0, 65535, 8471, "TCP port of the status HTTP server; 0 = none"),

    K_LIST("decode.templates", decode.templates, decode.ntemplates, def_templates,
           "topic templates tried in order; each needs {site}, {kind} and {id}; {field} optional"),
    K_LIST("decode.kinds", decode.kinds, decode.nkinds, def_kinds, "accepted values of the {kind} topic level"),

    K_RANGES("validate.ranges", validate.ranges, validate.nranges,
             "range rules { field = \"fnmatch pattern\"; min = ...; max = ...; }, tried before the built-in ones"),
    K_STRBUF("validate.ds18b20_fields", validate.ds18b20_fields, "temp_*_c",
             "fnmatch pattern of fields read by DS18B20 probes (85.0 / -127 fault codes); \"\" disables"),
    K_FLOAT("validate.ds18b20_hot_c", validate.ds18b20_hot_c, -55.0, 125.0, 80.0,
            "a DS18B20 85.0 is believed only when the previous reading was at least this hot"),
    K_INT("validate.max_future_s", validate.max_future_s, 0, 86400, 300,
          "readings stamped further ahead of receipt are rejected, seconds; 0 = no check"),

    K_BOOL("compost.enabled", compost.enabled, 1,
           "run the drum and tank state machines (phase, sanitisation, maturity, litres) and write "
           "drum_state, tank_state and batch points"),
    K_STR("compost.state_file", compost.state_file, "/var/lib/kompos-hub/compost.state",
          "file that keeps batches, phases and accumulated hours across restarts (written atomically); "
          "\"\" = none (a restart starts every drum afresh)"),
    K_INT("compost.save_interval_s", compost.save_interval_s, 1, 86400, 60,
          "write the state file this often, seconds (and at shutdown)"),
    K_INT("compost.state_interval_s", compost.state_interval_s, 0, 86400, 0,
          "a drum_state / tank_state point per drum or tank this often in reading time, seconds, and at "
          "every phase change; 0 = stats.window_s"),
    K_INT("compost.expected_interval_s", compost.expected_interval_s, 1, 86400, 300,
          "how often sensors publish, seconds: a series silent for 3 times this is flagged stale"),

    K_STRBUF("drums.sanitation_standard", drums.sanitation_standard, "us_pfrp_invessel",
             "pathogen-reduction standard checked per batch: none, us_pfrp_invessel (3 days at >= 55 C), "
             "us_pfrp_windrow (15 days at >= 55 C with 5 turns), fr_72h_cumulative, uk_pas100"),
    K_FLOAT("drums.groundwater_temp_c", drums.groundwater_temp_c, 0.0, 45.0, 27.0,
            "ambient of last resort (no site or drum ambient probe), C; SNI compares a mature pile "
            "with ground water"),
    K_FLOAT("drums.thermo_on_c", drums.thermo_on_c, 30.0, 70.0, 40.0,
            "core temperature (1 h mean) that starts the thermophilic phase when held 6 h, C"),
    K_FLOAT("drums.overheat_c", drums.overheat_c, 50.0, 90.0, 65.0, "core temperature that sets the OVERHEAT flag, C"),
    K_FLOAT("drums.too_dry_pct", drums.too_dry_pct, 0.0, 100.0, 40.0, "moisture below this sets TOO_DRY, %"),
    K_FLOAT("drums.too_wet_pct", drums.too_wet_pct, 0.0, 100.0, 65.0, "moisture above this sets TOO_WET, %"),
    K_FLOAT("drums.maturity_delta_c", drums.maturity_delta_c, 0.5, 10.0, 2.0,
            "a curing drum is mature when core minus ambient (24 h mean) stays within this for 7 days, C"),
    K_FLOAT("drums.min_age_d", drums.min_age_d, 1.0, 365.0, 35.0, "youngest batch called mature, days"),

    K_STRBUF("tanks.shape", tanks.shape, "vertical_cylinder",
             "tank geometry: vertical_cylinder, horizontal_cylinder, box (table needs tanks.each)"),
    K_FLOAT("tanks.diameter_cm", tanks.diameter_cm, 1.0, 10000.0, 58.0, "cylinder diameter, cm"),
    K_FLOAT("tanks.length_cm", tanks.length_cm, 1.0, 10000.0, 100.0,
            "horizontal cylinder length, or box length, cm"),
    K_FLOAT("tanks.width_cm", tanks.width_cm, 1.0, 10000.0, 60.0, "box width, cm"),
    K_FLOAT("tanks.height_cm", tanks.height_cm, 1.0, 10000.0, 85.0,
            "usable liquid height (vertical cylinder, box), cm"),
    K_FLOAT("tanks.sensor_height_cm", tanks.sensor_height_cm, 1.0, 10000.0, 115.0,
            "height of the ultrasonic sensor's face above the tank bottom, cm (distance_cm readings)"),
    K_STRBUF("tanks.recipe", tanks.recipe, "POC_EM4",
             "recipe of a tank batch when its batch_start event names none: POC_EM4, ECO_ENZYME, "
             "PESTISIDA_NABATI"),
    K_TANKS("tanks.each", tanks.each, tanks.neach,
            "tanks that differ from the defaults above: ( { id = \"2\"; shape = \"box\"; length_cm = 100.0; "
            "... recipe = \"ECO_ENZYME\"; table = ( [0.0, 0.0], [50.0, 120.0] ); } )"),

    K_BOOL("alerts.enabled", alerts.enabled, 1,
           "run the alert rules: alert points in InfluxDB, and messages to the members below"),
    K_STR("alerts.state_dir", alerts.state_dir, "/var/lib/kompos-hub/alerts",
          "folder of the notification outbox (outbox/, dead/) and the alert state file: what fired, "
          "who was told, what is still to send, across restarts"),
    K_BOOL("alerts.default_rules", alerts.default_rules, 1,
           "use the built-in rules of domain-compost.md 6.6 (DRUM_OVERHEAT, DRUM_MATURE, TANK_READY, ...)"),
    K_GLIST(CFG_RULES, "alerts.rules", alerts.rules, alerts.nrules,
            "more rules, or changes: a rule with the name and field of a built-in one replaces it"),
    K_STRBUF("alerts.lang", alerts.lang, "id", "language of the messages: id (Bahasa Indonesia) or en"),
    K_STRBUF("alerts.quiet_start", alerts.quiet_start, "21:00",
             "quiet hours begin, HH:MM WITA: info and warn messages wait until they end; crit goes at once"),
    K_STRBUF("alerts.quiet_end", alerts.quiet_end, "06:00", "quiet hours end, HH:MM WITA; equal to quiet_start = none"),
    K_INT("alerts.group_wait_s", alerts.group_wait_s, 0, 3600, 30,
          "alerts of one site within this many seconds go to a person as one message"),
    K_INT("alerts.group_interval_s", alerts.group_interval_s, 0, 86400, 300,
          "at least this long between two grouped messages to one person, seconds"),
    K_INT("alerts.reminder_warn_s", alerts.reminder_warn_s, 0, 604800, 14400,
          "remind about an unacknowledged warn alert this often, seconds; 0 = never"),
    K_INT("alerts.reminder_crit_s", alerts.reminder_crit_s, 0, 604800, 3600,
          "remind about an unacknowledged crit alert this often, seconds; 0 = never"),
    K_INT("alerts.escalate_after_s", alerts.escalate_after_s, 0, 604800, 1800,
          "tell the next tier when nobody acknowledged a warn or crit alert in this many seconds; 0 = never"),
    K_STRBUF("alerts.roles_info", alerts.roles_info, "operator",
             "roles told about info alerts, comma-separated; \"*\" = every role"),
    K_STRBUF("alerts.roles_warn", alerts.roles_warn, "operator,ketua", "roles told about warn alerts"),
    K_STRBUF("alerts.roles_crit", alerts.roles_crit, "*", "roles told about crit alerts"),
    K_INT("alerts.max_instances", alerts.max_instances, 16, 1000000, 1024,
          "alert instances (rule x drum/tank/sensor) tracked; more are counted and ignored"),
    K_GLIST(CFG_TEMPLATES, "alerts.templates", alerts.templates, alerts.ntemplates,
            "message texts that replace the built-in ones: ( { rule = \"DRUM_OVERHEAT\"; lang = \"id\"; "
            "firing = \"...\"; resolved = \"...\"; } )"),

    K_GLIST(CFG_MEMBERS, "members", members, nmembers,
            "who gets messages: ( { name = \"Sari\"; phone = \"0812...\"; channels = [ \"fonnte\", \"gammu\" ]; "
            "role = \"ketua\"; tier = 1; lang = \"id\"; on_duty = \"mon-sat 07:00-17:00\"; min_severity = \"warn\"; } )"),

    K_STR("notify.webhook_url", notify.webhook_url, "", "channel webhook: POST JSON to this URL; \"\" = off"),
    K_STR("notify.webhook_token_file", notify.webhook_token_file, "",
          "channel webhook: file with a bearer token; \"\" = none; env KOMPOS_WEBHOOK_TOKEN wins"),
    K_STR("notify.twilio_base_url", notify.twilio_base_url, "https://api.twilio.com", "channels twilio_sms, twilio_whatsapp: API base URL"),
    K_STR("notify.twilio_account_sid", notify.twilio_account_sid, "", "Twilio account SID (AC...)"),
    K_STR("notify.twilio_token_file", notify.twilio_token_file, "",
          "file with the Twilio auth token; env KOMPOS_TWILIO_TOKEN wins"),
    K_STR("notify.twilio_from", notify.twilio_from, "", "Twilio SMS sender number, E.164"),
    K_STR("notify.twilio_whatsapp_from", notify.twilio_whatsapp_from, "", "Twilio WhatsApp sender number, E.164"),
    K_STR("notify.whatsapp_base_url", notify.whatsapp_base_url, "https://graph.facebook.com",
          "channel whatsapp_cloud (Meta WhatsApp Cloud API): base URL"),
    K_STR("notify.whatsapp_api_version", notify.whatsapp_api_version, "v21.0", "Graph API version"),
    K_STR("notify.whatsapp_phone_number_id", notify.whatsapp_phone_number_id, "", "the sender's phone number id"),
    K_STR("notify.whatsapp_token_file", notify.whatsapp_token_file, "",
          "file with the access token; env KOMPOS_WHATSAPP_TOKEN wins"),
    K_STR("notify.whatsapp_template", notify.whatsapp_template, "kompos_alert",
          "approved template with one body parameter (the text); \"\" = plain text messages"),
    K_STR("notify.whatsapp_template_lang", notify.whatsapp_template_lang, "id", "language code of the template"),
    K_STR("notify.fonnte_base_url", notify.fonnte_base_url, "https://api.fonnte.com", "channel fonnte: base URL"),
    K_STR("notify.fonnte_token_file", notify.fonnte_token_file, "",
          "file with the Fonnte device token; env KOMPOS_FONNTE_TOKEN wins"),
    K_STR("notify.fonnte_country_code", notify.fonnte_country_code, "62", "Fonnte countryCode"),
    K_STR("notify.gammu_outbox_dir", notify.gammu_outbox_dir, "",
          "channel gammu: gammu-smsd's OutboxPath (files backend); \"\" = off"),
    K_INT("notify.timeout_ms", notify.timeout_ms, 1000, 120000, 10000, "timeout of one gateway request, milliseconds"),
    K_INT("notify.max_pending", notify.max_pending, 1, 100000, 128,
          "messages waiting in the outbox; more are refused and counted"),
    K_INT("notify.pace_s", notify.pace_s, 0, 3600, 10, "at least this long between two messages to one phone, seconds"),
    K_INT("notify.retry_max_s", notify.retry_max_s, 1, 86400, 3600, "cap of the retry backoff, seconds"),
    K_INT("notify.max_age_h", notify.max_age_h, 1, 720, 24, "a message not delivered after this many hours is dead-lettered"),
    K_INT("notify.rung_max_fails", notify.rung_max_fails, 1, 100, 3,
          "retryable failures on one channel before the next channel of the member is tried"),
};;

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* ---- small helpers ---------------------------------------------------- */

static void *field_ptr(struct hub_config *c, size_t off)
{
    return (char *)c + off;
}

static const void *field_cptr(const struct hub_config *c, size_t off)
{
    return (const char *)c + off;
}

static void free_list(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Deep-copy a NULL-terminated list. Returns NULL on ENOMEM. */
static char **dup_list(const char *const *src, size_t *n)
{
    size_t count = 0;
    char **v;

    while (src[count])
        count++;
    v = calloc(count + 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        v[i] = strdup(src[i]);
        if (!v[i]) {
            free_list(v, i);
            return NULL;
        }
    }
    *n = count;
    return v;
}

static const struct cfg_key *find_key(const char *path)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

/* 1 if some key lives inside group 'path' ("mqtt" for "mqtt.port"). */
static int is_group(const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].path, path, n) == 0 && keys[i].path[n] == '.')
            return 1;
    return 0;
}

static const char *enum_name(const struct cfg_enum *e, int value)
{
    for (; e->name; e++)
        if (e->value == value)
            return e->name;
    return "?";
}

static int enum_value(const struct cfg_enum *e, const char *name, int *value)
{
    for (; e->name; e++) {
        if (strcmp(e->name, name) == 0) {
            *value = e->value;
            return 1;
        }
    }
    return 0;
}

/* ---- defaults and free ------------------------------------------------ */

void config_free(struct hub_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &keys[i];
        void *p = field_ptr(c, k->off);

        if (k->type == CFG_STR)
            free(*(char **)p);
        else if (k->type == CFG_STRLIST)
            free_list(*(char ***)p, *(size_t *)field_ptr(c, k->size));
        else if (k->type == CFG_RANGES)
            free(*(struct range_rule **)p);
        else if (k->type == CFG_TANKS || k->type == CFG_RULES || k->type == CFG_MEMBERS ||
                 k->type == CFG_TEMPLATES)
            free(*(void **)p);
    }
    memset(c, 0, sizeof(*c));
}

int config_defaults(struct hub_config *c)
{
    if (!c)
        return HUB_EINVAL;
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &keys[i];
        void *p = field_ptr(c, k->off);

        switch (k->type) {
        case CFG_STR:
            *(char **)p = strdup(k->def_s);
            if (!*(char **)p)
                goto nomem;
            break;
        case CFG_STRBUF:
            snprintf(p, k->size, "%s", k->def_s);
            break;
        case CFG_INT:
        case CFG_BOOL:
            *(int *)p = (int)k->def_i;
            break;
        case CFG_FLOAT:
            *(double *)p = k->def_f;
            break;
        case CFG_ENUM:
            if (!enum_value(k->enums, k->def_s, (int *)p))
                abort(); /* a typo in keys[]: caught by the first test run */
            break;
        case CFG_STRLIST:
            *(char ***)p = dup_list(k->def_list, (size_t *)field_ptr(c, k->size));
            if (!*(char ***)p)
                goto nomem;
            break;
        case CFG_RANGES:
            /* built-in defaults live in validate.c */
            break;
        case CFG_TANKS:
            /* none: every tank uses the tanks.* defaults */
            break;
        case CFG_RULES:
        case CFG_MEMBERS:
        case CFG_TEMPLATES:
            /* none configured; the built-in rules live in alert.c */
            break;
        }
    }
    return HUB_OK;
nomem:
    config_free(c);
    return HUB_ENOMEM;
}

/* ---- parsing ---------------------------------------------------------- */

struct parse_ctx {
    const char *name;       /* file name for messages */
    struct hub_config *c;
    char *err;
    size_t errlen;
};

static const char *setting_file(const struct parse_ctx *x, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;

    return f ? f : x->name;
}

/* "FILE:LINE: message" for setting s (or "FILE: message" without a line);
 * returns rc so callers can 'return fail(...)'. */
__attribute__((format(printf, 4, 5)))
static int fail(const struct parse_ctx *x, int rc, const config_setting_t *s,
                const char *fmt, ...)
{
    unsigned line = s ? config_setting_source_line(s) : 0;
    size_t n = 0;
    int w;
    va_list ap;

    if (!x->err || x->errlen == 0)
        return rc;
    if (line > 0)
        w = snprintf(x->err, x->errlen, "%s:%u: ", setting_file(x, s), line);
    else
        w = snprintf(x->err, x->errlen, "%s: ", setting_file(x, s));
    if (w > 0)
        n = (size_t)w < x->errlen ? (size_t)w : x->errlen - 1;
    va_start(ap, fmt);
    vsnprintf(x->err + n, x->errlen - n, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(const struct parse_ctx *x)
{
    return fail(x, HUB_ENOMEM, NULL, "out of memory");
}

static int is_int(const config_setting_t *s)
{
    int t = config_setting_type(s);

    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int is_number(const config_setting_t *s)
{
    return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
}

static double number_of(const config_setting_t *s)
{
    if (is_int(s))
        return (double)config_setting_get_int64(s);
    return config_setting_get_float(s);
}

static int set_strlist(const struct parse_ctx *x, const struct cfg_key *k,
                       const config_setting_t *s)
{
    struct hub_config *c = x->c;
    char **v;
    size_t n;
    int t = config_setting_type(s);

    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail(x, HUB_EINVAL, s, "%s: expected a list of strings", k->path);
    n = (size_t)config_setting_length(s);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return fail(x, HUB_EINVAL, e, "%s[%zu]: expected a string", k->path, i);
    }
    v = calloc(n + 1, sizeof(*v));
    if (!v)
        return nomem(x);
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(config_setting_get_string_elem(s, (int)i));
        if (!v[i]) {
            free_list(v, i);
            return nomem(x);
        }
    }
    free_list(*(char ***)field_ptr(c, k->off), *(size_t *)field_ptr(c, k->size));
    *(char ***)field_ptr(c, k->off) = v;
    *(size_t *)field_ptr(c, k->size) = n;
    return HUB_OK;
}

/* One { field = "..."; min = ...; max = ...; } entry of validate.ranges. */
static int parse_range(const struct parse_ctx *x, const struct cfg_key *k,
                       const config_setting_t *e, size_t idx, struct range_rule *r)
{
    const config_setting_t *f = NULL, *lo = NULL, *hi = NULL;
    int n;

    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        return fail(x, HUB_EINVAL, e,
                    "%s[%zu]: expected a group { field = \"...\"; min = ...; max = ...; }",
                    k->path, idx);
    n = config_setting_length(e);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(e, (unsigned)i);
        const char *mn = config_setting_name(m);

        if (strcmp(mn, "field") == 0)
            f = m;
        else if (strcmp(mn, "min") == 0)
            lo = m;
        else if (strcmp(mn, "max") == 0)
            hi = m;
        else
            return fail(x, HUB_EINVAL, m, "unknown key '%s[%zu].%s'", k->path, idx, mn);
    }
    if (!f || !lo || !hi)
        return fail(x, HUB_EINVAL, e, "%s[%zu]: missing '%s'", k->path, idx,
                    !f ? "field" : !lo ? "min" : "max");
    if (config_setting_type(f) != CONFIG_TYPE_STRING)
        return fail(x, HUB_EINVAL, f, "%s[%zu].field: expected a string", k->path, idx);
    if (config_setting_get_string(f)[0] == '\0' ||
        strlen(config_setting_get_string(f)) >= sizeof(r->pattern))
        return fail(x, HUB_EINVAL, f, "%s[%zu].field: must be 1 to %zu bytes long",
                    k->path, idx, sizeof(r->pattern) - 1);
    if (!is_number(lo))
        return fail(x, HUB_EINVAL, lo, "%s[%zu].min: expected a number", k->path, idx);
    if (!is_number(hi))
        return fail(x, HUB_EINVAL, hi, "%s[%zu].max: expected a number", k->path, idx);
    snprintf(r->pattern, sizeof(r->pattern), "%s", config_setting_get_string(f));
    r->min = number_of(lo);
    r->max = number_of(hi);
    if (!(r->min < r->max))
        return fail(x, HUB_EINVAL, lo, "%s[%zu]: min (%g) must be less than max (%g)",
                    k->path, idx, r->min, r->max);
    return HUB_OK;
}

static int set_ranges(const struct parse_ctx *x, const struct cfg_key *k,
                      const config_setting_t *s)
{
    struct hub_config *c = x->c;
    struct range_rule *v;
    size_t n;
    int t = config_setting_type(s), rc;

    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
        return fail(x, HUB_EINVAL, s, "%s: expected a list of groups ( { ... }, ... )", k->path);
    n = (size_t)config_setting_length(s);
    v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return nomem(x);
    for (size_t i = 0; i < n; i++) {
        rc = parse_range(x, k, config_setting_get_elem(s, (unsigned)i), i, &v[i]);
        if (rc != HUB_OK) {
            free(v);
            return rc;
        }
    }
    free(*(struct range_rule **)field_ptr(c, k->off));
    *(struct range_rule **)field_ptr(c, k->off) = n ? v : NULL;
    if (!n)
        free(v);
    *(size_t *)field_ptr(c, k->size) = n;
    return HUB_OK;
}

/* ---- tanks.each -------------------------------------------------------- */

static const char *const tank_shapes[] = {
    "vertical_cylinder", "horizontal_cylinder", "box", "table", NULL
};
static const char *const tank_recipes[] = { "POC_EM4", "ECO_ENZYME", "PESTISIDA_NABATI", NULL };
static const char *const sanit_standards[] = {
    "none", "us_pfrp_invessel", "us_pfrp_windrow", "fr_72h_cumulative", "uk_pas100", NULL
};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static void list_names(const char *const *list, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (; *list; list++) {
        int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", *list);

        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

/* A string member of a tanks.each entry into buf[len], checked against
 * list (may be NULL). */
static int tank_str(const struct parse_ctx *x, const struct cfg_key *k, size_t idx,
                    const config_setting_t *m, const char *const *list, char *buf, size_t len)
{
    const char *v;
    char names[160];

    if (config_setting_type(m) != CONFIG_TYPE_STRING)
        return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected a string", k->path, idx,
                    config_setting_name(m));
    v = config_setting_get_string(m);
    if (v[0] == '\0' || strlen(v) >= len)
        return fail(x, HUB_EINVAL, m, "%s[%zu].%s: must be 1 to %zu bytes long", k->path, idx,
                    config_setting_name(m), len - 1);
    if (list && !in_list(list, v)) {
        list_names(list, names, sizeof(names));
        return fail(x, HUB_EINVAL, m, "%s[%zu].%s: '%s' is not one of %s", k->path, idx,
                    config_setting_name(m), v, names);
    }
    snprintf(buf, len, "%s", v);
    return HUB_OK;
}

static int tank_table(const struct parse_ctx *x, const struct cfg_key *k, size_t idx,
                      const config_setting_t *m, struct cfg_tank *t)
{
    int n = config_setting_length(m), tp = config_setting_type(m);

    if (tp != CONFIG_TYPE_LIST || n < 2 || n > CFG_TANK_TABLE_MAX)
        return fail(x, HUB_EINVAL, m, "%s[%zu].table: expected a list of 2 to %d "
                    "[level_cm, litres] pairs", k->path, idx, CFG_TANK_TABLE_MAX);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
        const config_setting_t *lv, *li;

        if ((config_setting_type(e) != CONFIG_TYPE_ARRAY &&
             config_setting_type(e) != CONFIG_TYPE_LIST) || config_setting_length(e) != 2)
            return fail(x, HUB_EINVAL, e, "%s[%zu].table[%d]: expected [level_cm, litres]",
                        k->path, idx, i);
        lv = config_setting_get_elem(e, 0);
        li = config_setting_get_elem(e, 1);
        if (!is_number(lv) || !is_number(li))
            return fail(x, HUB_EINVAL, e, "%s[%zu].table[%d]: expected two numbers",
                        k->path, idx, i);
        t->table_level_cm[i] = number_of(lv);
        t->table_litres[i] = number_of(li);
        if (!(t->table_level_cm[i] >= 0.0 && t->table_litres[i] >= 0.0 &&
              t->table_level_cm[i] < 1e5 && t->table_litres[i] < 1e7))
            return fail(x, HUB_EINVAL, e, "%s[%zu].table[%d]: level and litres must be "
                        "0 or more (and sane)", k->path, idx, i);
        if (i > 0 && !(t->table_level_cm[i] > t->table_level_cm[i - 1] &&
                       t->table_litres[i] >= t->table_litres[i - 1]))
            return fail(x, HUB_EINVAL, e, "%s[%zu].table[%d]: levels must increase and "
                        "litres must not decrease", k->path, idx, i);
    }
    t->ntable = (size_t)n;
    return HUB_OK;
}

static int parse_tank(const struct parse_ctx *x, const struct cfg_key *k,
                      const config_setting_t *e, size_t idx, struct cfg_tank *t)
{
    static const struct { const char *name; size_t off; } nums[] = {
        { "diameter_cm", offsetof(struct cfg_tank, diameter_cm) },
        { "length_cm", offsetof(struct cfg_tank, length_cm) },
        { "width_cm", offsetof(struct cfg_tank, width_cm) },
        { "height_cm", offsetof(struct cfg_tank, height_cm) },
        { "sensor_height_cm", offsetof(struct cfg_tank, sensor_height_cm) },
    };
    int n, rc;

    memset(t, 0, sizeof(*t));
    for (size_t j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
        *(double *)((char *)t + nums[j].off) = NAN;
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        return fail(x, HUB_EINVAL, e, "%s[%zu]: expected a group { id = \"...\"; ... }",
                    k->path, idx);
    n = config_setting_length(e);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(e, (unsigned)i);
        const char *mn = config_setting_name(m);
        size_t j;

        rc = HUB_OK;
        if (strcmp(mn, "id") == 0) {
            rc = tank_str(x, k, idx, m, NULL, t->id, sizeof(t->id));
        } else if (strcmp(mn, "shape") == 0) {
            rc = tank_str(x, k, idx, m, tank_shapes, t->shape, sizeof(t->shape));
        } else if (strcmp(mn, "recipe") == 0) {
            rc = tank_str(x, k, idx, m, tank_recipes, t->recipe, sizeof(t->recipe));
        } else if (strcmp(mn, "table") == 0) {
            rc = tank_table(x, k, idx, m, t);
        } else {
            for (j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
                if (strcmp(mn, nums[j].name) == 0)
                    break;
            if (j == sizeof(nums) / sizeof(nums[0]))
                return fail(x, HUB_EINVAL, m, "unknown key '%s[%zu].%s'", k->path, idx, mn);
            if (!is_number(m) || !(number_of(m) > 0.0 && number_of(m) <= 10000.0))
                return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected a number of cm, "
                            "more than 0 and at most 10000", k->path, idx, mn);
            *(double *)((char *)t + nums[j].off) = number_of(m);
        }
        if (rc != HUB_OK)
            return rc;
    }
    if (!t->id[0])
        return fail(x, HUB_EINVAL, e, "%s[%zu]: missing 'id'", k->path, idx);
    if (strcmp(t->shape, "table") == 0 && t->ntable == 0)
        return fail(x, HUB_EINVAL, e, "%s[%zu]: shape \"table\" needs a table", k->path, idx);
    if (t->ntable && t->shape[0] && strcmp(t->shape, "table") != 0)
        return fail(x, HUB_EINVAL, e, "%s[%zu]: a table is only used with shape \"table\"",
                    k->path, idx);
    if (t->ntable && !t->shape[0])
        snprintf(t->shape, sizeof(t->shape), "table");
    return HUB_OK;
}

static int set_tanks(const struct parse_ctx *x, const struct cfg_key *k,
                     const config_setting_t *s)
{
    struct hub_config *c = x->c;
    struct cfg_tank *v;
    size_t n;
    int t = config_setting_type(s), rc;

    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
        return fail(x, HUB_EINVAL, s, "%s: expected a list of groups ( { ... }, ... )", k->path);
    n = (size_t)config_setting_length(s);
    if (n > 256)
        return fail(x, HUB_EINVAL, s, "%s: at most 256 tanks", k->path);
    v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return nomem(x);
    for (size_t i = 0; i < n; i++) {
        rc = parse_tank(x, k, config_setting_get_elem(s, (unsigned)i), i, &v[i]);
        for (size_t j = 0; rc == HUB_OK && j < i; j++)
            if (strcmp(v[j].id, v[i].id) == 0)
                rc = fail(x, HUB_EINVAL, config_setting_get_elem(s, (unsigned)i),
                          "%s[%zu]: tank id '%s' appears twice", k->path, i, v[i].id);
        if (rc != HUB_OK) {
            free(v);
            return rc;
        }
    }
    free(*(struct cfg_tank **)field_ptr(c, k->off));
    *(struct cfg_tank **)field_ptr(c, k->off) = n ? v : NULL;
    if (!n)
        free(v);
    *(size_t *)field_ptr(c, k->size) = n;
    return HUB_OK;
}

/* ---- lists of groups: alerts.rules, members, alerts.templates ----------- */

enum gs_type { GS_STR, GS_NUM, GS_SECS, GS_INT, GS_BOOL, GS_OP, GS_SEV, GS_CHANNELS };

struct gspec {
    const char *name;
    enum gs_type type;
    size_t off;
    size_t size;        /* GS_STR: buffer size */
    int required;
};

#define GSR(f, t, req) { #f, t, offsetof(struct alert_rule, f), sizeof(((struct alert_rule *)0)->f), req }
static const struct gspec rule_specs[] = {
    GSR(name, GS_STR, 1), GSR(kind, GS_STR, 1), GSR(field, GS_STR, 1), GSR(op, GS_OP, 1),
    GSR(threshold, GS_NUM, 0), GSR(text, GS_STR, 0),
    { "clear", GS_NUM, offsetof(struct alert_rule, clear_threshold), 0, 0 },
    GSR(for_s, GS_SECS, 0), GSR(clear_for_s, GS_SECS, 0), GSR(nodata_s, GS_SECS, 0),
    GSR(severity, GS_SEV, 0),
    { "crit", GS_NUM, offsetof(struct alert_rule, crit_threshold), 0, 0 },
    { "event", GS_BOOL, offsetof(struct alert_rule, event_rule), 0, 0 },
    GSR(when_field, GS_STR, 0), GSR(when_text, GS_STR, 0),
    { "message", GS_STR, offsetof(struct alert_rule, msg_key), sizeof(((struct alert_rule *)0)->msg_key), 0 },
    { NULL, GS_STR, 0, 0, 0 }
};
#define GSM(f, t, req) { #f, t, offsetof(struct member, f), sizeof(((struct member *)0)->f), req }
static const struct gspec member_specs[] = {
    GSM(name, GS_STR, 1), GSM(phone, GS_STR, 1), GSM(channels, GS_CHANNELS, 1), GSM(role, GS_STR, 0),
    GSM(tier, GS_INT, 0), GSM(lang, GS_STR, 0), GSM(on_duty, GS_STR, 0),
    GSM(min_severity, GS_SEV, 0),
    { NULL, GS_STR, 0, 0, 0 }
};
#define GST(f, t, req) { #f, t, offsetof(struct cfg_template, f), sizeof(((struct cfg_template *)0)->f), req }
static const struct gspec template_specs[] = {
    GST(rule, GS_STR, 1), GST(lang, GS_STR, 0), GST(firing, GS_STR, 0), GST(resolved, GS_STR, 0),
    { NULL, GS_STR, 0, 0, 0 }
};

static const struct cfg_enum alert_ops[] = {
    { ">", OP_GT }, { ">=", OP_GE }, { "<", OP_LT }, { "<=", OP_LE }, { "==", OP_EQ },
    { "!=", OP_NE }, { "none", OP_NONE }, { NULL, 0 }
};
static const struct cfg_enum severities[] = {
    { "info", ALERT_INFO }, { "warn", ALERT_WARN }, { "crit", ALERT_CRIT }, { NULL, 0 }
};
_Static_assert((int)ALERT_INFO == (int)ROUTE_INFO && (int)ALERT_WARN == (int)ROUTE_WARN &&
               (int)ALERT_CRIT == (int)ROUTE_CRIT, "alert and route severities agree");

static void glist_defaults(enum cfg_type t, void *elem)
{
    if (t == CFG_RULES) {
        struct alert_rule *r = elem;

        r->op = OP_NONE;
        r->clear_threshold = NAN;
        r->crit_threshold = NAN;
        r->severity = ALERT_WARN;
    } else if (t == CFG_MEMBERS) {
        struct member *m = elem;

        m->tier = 1;
        m->min_severity = ROUTE_INFO;
        snprintf(m->role, sizeof(m->role), "operator");
    } else if (t == CFG_TEMPLATES) {
        snprintf(((struct cfg_template *)elem)->lang, sizeof(((struct cfg_template *)elem)->lang), "id");
    }
}

static int gs_enum(const struct parse_ctx *x, const char *path, size_t idx, const config_setting_t *m,
                   const struct cfg_enum *e, int *out)
{
    char names[96];
    size_t used = 0;

    if (config_setting_type(m) == CONFIG_TYPE_STRING &&
        enum_value(e, config_setting_get_string(m), out))
        return HUB_OK;
    names[0] = '\0';
    for (; e->name; e++) {
        int w = snprintf(names + used, sizeof(names) - used, "%s\"%s\"", used ? ", " : "", e->name);

        if (w < 0 || (size_t)w >= sizeof(names) - used)
            break;
        used += (size_t)w;
    }
    return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected one of %s", path, idx,
                config_setting_name(m), names);
}

static int gs_member(const struct parse_ctx *x, const char *path, size_t idx,
                     const config_setting_t *m, const struct gspec *g, void *elem)
{
    char *p = (char *)elem + g->off;
    const char *mn = config_setting_name(m);

    switch (g->type) {
    case GS_STR:
        if (config_setting_type(m) != CONFIG_TYPE_STRING)
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected a string", path, idx, mn);
        if (strlen(config_setting_get_string(m)) >= g->size)
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: longer than %zu bytes", path, idx, mn,
                        g->size - 1);
        snprintf(p, g->size, "%s", config_setting_get_string(m));
        return HUB_OK;
    case GS_NUM:
        if (!is_number(m) || !isfinite(number_of(m)))
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected a number", path, idx, mn);
        *(double *)p = number_of(m);
        return HUB_OK;
    case GS_SECS:
        if (!is_int(m) || config_setting_get_int64(m) < 0 ||
            config_setting_get_int64(m) > 366LL * 86400)
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected whole seconds, 0 to a year",
                        path, idx, mn);
        *(int64_t *)p = config_setting_get_int64(m);
        return HUB_OK;
    case GS_INT:
        if (!is_int(m) || config_setting_get_int64(m) < 1 || config_setting_get_int64(m) > 9)
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected an integer 1..9", path, idx, mn);
        *(int *)p = (int)config_setting_get_int64(m);
        return HUB_OK;
    case GS_BOOL:
        if (config_setting_type(m) != CONFIG_TYPE_BOOL)
            return fail(x, HUB_EINVAL, m, "%s[%zu].%s: expected true or false", path, idx, mn);
        *(int *)p = config_setting_get_bool(m) ? 1 : 0;
        return HUB_OK;
    case GS_OP:
        return gs_enum(x, path, idx, m, alert_ops, (int *)p);
    case GS_SEV:
        return gs_enum(x, path, idx, m, severities, (int *)p);
    case GS_CHANNELS: {
        struct member *mb = elem;
        int n = config_setting_length(m), t = config_setting_type(m);

        if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || n < 1 || n > ROUTE_MAX_CHANNELS)
            return fail(x, HUB_EINVAL, m, "%s[%zu].channels: expected 1 to %d channel names, "
                        "best first", path, idx, ROUTE_MAX_CHANNELS);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
            const char *v;

            if (config_setting_type(e) != CONFIG_TYPE_STRING)
                return fail(x, HUB_EINVAL, e, "%s[%zu].channels[%d]: expected a string", path, idx, i);
            v = config_setting_get_string(e);
            if (notify_channel_from_name(v) < 0)
                return fail(x, HUB_EINVAL, e, "%s[%zu].channels[%d]: '%s' is not one of webhook, "
                            "twilio_sms, twilio_whatsapp, whatsapp_cloud, fonnte, gammu", path, idx, i, v);
            snprintf(mb->channels[i], sizeof(mb->channels[i]), "%s", v);
        }
        mb->nchannels = (size_t)n;
        return HUB_OK;
    }
    }
    return HUB_EINVAL;
}

static int set_glist(const struct parse_ctx *x, const struct cfg_key *k, const config_setting_t *s)
{
    const struct gspec *specs;
    size_t esize, max, n;
    char *v;
    int t = config_setting_type(s);

    switch (k->type) {
    case CFG_RULES: specs = rule_specs; esize = sizeof(struct alert_rule); max = 1024; break;
    case CFG_MEMBERS: specs = member_specs; esize = sizeof(struct member); max = ROUTE_MAX_MEMBERS; break;
    default: specs = template_specs; esize = sizeof(struct cfg_template); max = 256; break;
    }
    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
        return fail(x, HUB_EINVAL, s, "%s: expected a list of groups ( { ... }, ... )", k->path);
    n = (size_t)config_setting_length(s);
    if (n > max)
        return fail(x, HUB_EINVAL, s, "%s: at most %zu entries", k->path, max);
    v = calloc(n ? n : 1, esize);
    if (!v)
        return nomem(x);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        void *elem = v + i * esize;
        unsigned seen = 0;
        int rc = HUB_OK;

        glist_defaults(k->type, elem);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            free(v);
            return fail(x, HUB_EINVAL, e, "%s[%zu]: expected a group { ... }", k->path, i);
        }
        for (int j = 0; rc == HUB_OK && j < config_setting_length(e); j++) {
            const config_setting_t *m = config_setting_get_elem(e, (unsigned)j);
            const char *mn = config_setting_name(m);
            size_t g;

            for (g = 0; specs[g].name; g++)
                if (strcmp(specs[g].name, mn) == 0)
                    break;
            if (!specs[g].name)
                rc = fail(x, HUB_EINVAL, m, "unknown key '%s[%zu].%s'", k->path, i, mn);
            else {
                rc = gs_member(x, k->path, i, m, &specs[g], elem);
                seen |= 1u << g;
            }
        }
        for (size_t g = 0; rc == HUB_OK && specs[g].name; g++)
            if (specs[g].required && !(seen & (1u << g)))
                rc = fail(x, HUB_EINVAL, e, "%s[%zu]: missing '%s'", k->path, i, specs[g].name);
        if (rc != HUB_OK) {
            free(v);
            return rc;
        }
    }
    free(*(void **)field_ptr(x->c, k->off));
    *(void **)field_ptr(x->c, k->off) = n ? v : NULL;
    if (!n)
        free(v);
    *(size_t *)field_ptr(x->c, k->size) = n;
    return HUB_OK;
}

static int set_enum(const struct parse_ctx *x, const struct cfg_key *k,
                    const config_setting_t *s)
{
    char names[128];
    size_t used = 0;
    const char *str;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(x, HUB_EINVAL, s, "%s: expected a string", k->path);
    str = config_setting_get_string(s);
    if (enum_value(k->enums, str, (int *)field_ptr(x->c, k->off)))
        return HUB_OK;
    names[0] = '\0';
    for (const struct cfg_enum *e = k->enums; e->name; e++) {
        int w = snprintf(names + used, sizeof(names) - used, "%s%s",
                         used ? ", " : "", e->name);
        if (w < 0 || (size_t)w >= sizeof(names) - used)
            break;
        used += (size_t)w;
    }
    return fail(x, HUB_EINVAL, s, "%s: '%s' is not one of %s", k->path, str, names);
}

static int set_key(const struct parse_ctx *x, const struct cfg_key *k,
                   const config_setting_t *s)
{
    void *p = field_ptr(x->c, k->off);

    switch (k->type) {
    case CFG_STR: {
        char *dup;

        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            return fail(x, HUB_EINVAL, s, "%s: expected a string", k->path);
        dup = strdup(config_setting_get_string(s));
        if (!dup)
            return nomem(x);
        free(*(char **)p);
        *(char **)p = dup;
        return HUB_OK;
    }
    case CFG_STRBUF:
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
            return fail(x, HUB_EINVAL, s, "%s: expected a string", k->path);
        if (strlen(config_setting_get_string(s)) >= k->size)
            return fail(x, HUB_EINVAL, s, "%s: longer than %zu bytes", k->path, k->size - 1);
        snprintf(p, k->size, "%s", config_setting_get_string(s));
        return HUB_OK;
    case CFG_INT: {
        long long v;

        if (!is_int(s))
            return fail(x, HUB_EINVAL, s, "%s: expected an integer", k->path);
        v = config_setting_get_int64(s);
        if (v < k->imin || v > k->imax)
            return fail(x, HUB_EINVAL, s, "%s: %lld is out of range %lld..%lld",
                        k->path, v, k->imin, k->imax);
        *(int *)p = (int)v;
        return HUB_OK;
    }
    case CFG_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return fail(x, HUB_EINVAL, s, "%s: expected true or false", k->path);
        *(int *)p = config_setting_get_bool(s) ? 1 : 0;
        return HUB_OK;
    case CFG_FLOAT: {
        double v;

        if (!is_number(s))
            return fail(x, HUB_EINVAL, s, "%s: expected a number", k->path);
        v = number_of(s);
        if (!(v >= k->fmin && v <= k->fmax))
            return fail(x, HUB_EINVAL, s, "%s: %g is out of range %g..%g",
                        k->path, v, k->fmin, k->fmax);
        *(double *)p = v;
        return HUB_OK;
    }
    case CFG_ENUM:
        return set_enum(x, k, s);
    case CFG_STRLIST:
        return set_strlist(x, k, s);
    case CFG_RANGES:
        return set_ranges(x, k, s);
    case CFG_TANKS:
        return set_tanks(x, k, s);
    case CFG_RULES:
    case CFG_MEMBERS:
    case CFG_TEMPLATES:
        return set_glist(x, k, s);
    }
    return HUB_EINVAL;
}

/* Walk the members of group g, whose dotted path is prefix ("" = root). */
static int walk(const struct parse_ctx *x, const config_setting_t *g, const char *prefix)
{
    int n = config_setting_length(g);

    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        const struct cfg_key *k = NULL;
        char path[CFG_PATH_MAX];
        int w, rc;

        if (prefix[0])
            w = snprintf(path, sizeof(path), "%s.%s", prefix, name);
        else
            w = snprintf(path, sizeof(path), "%s", name);
        if (w > 0 && (size_t)w < sizeof(path))
            k = find_key(path);
        if (k) {
            rc = set_key(x, k, m);
        } else if (w > 0 && (size_t)w < sizeof(path) && is_group(path)) {
            if (config_setting_type(m) != CONFIG_TYPE_GROUP)
                return fail(x, HUB_EINVAL, m, "%s: expected a group { ... }", path);
            rc = walk(x, m, path);
        } else {
            return fail(x, HUB_EINVAL, m, "unknown key '%s%s%s'", prefix,
                        prefix[0] ? "." : "", name);
        }
        if (rc != HUB_OK)
            return rc;
    }
    return HUB_OK;
}

/* ---- the cross-field check -------------------------------------------- */

/* The setting at path, else its nearest enclosing group that is present
 * (for line numbers), else NULL. lc may be NULL. */
static const config_setting_t *where(const config_t *lc, const char *path)
{
    char buf[CFG_PATH_MAX];
    const config_setting_t *s;
    char *dot;

    if (!lc)
        return NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (;;) {
        s = config_lookup(lc, buf);
        if (s)
            return s;
        dot = strrchr(buf, '.');
        if (!dot)
            return NULL;
        *dot = '\0';
    }
}

/* Element i of the list at path, else the list itself, else its group. */
static const config_setting_t *where_elem(const config_t *lc, const char *path, size_t i)
{
    const config_setting_t *s = where(lc, path);

    if (s && config_setting_is_aggregate(s) && i < (size_t)config_setting_length(s)) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

        if (e)
            return e;
    }
    return s;
}

/* A topic-level-like name: non-empty, < HUB_NAME_MAX bytes, no '/', no
 * backslash, no control byte. Returns NULL or what is wrong. */
static const char *bad_name(const char *s, int wildcards_too)
{
    size_t n = strlen(s);

    if (n == 0)
        return "must not be empty";
    if (n >= HUB_NAME_MAX)
        return "must be shorter than 64 bytes";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
        if (*p == '/')
            return "must not contain '/'";
        if (*p == '\\')
            return "must not contain '\\'";
        if (wildcards_too && (*p == '+' || *p == '#'))
            return "must not contain '+' or '#'";
    }
    return NULL;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A file the hub opens later (a CA, a certificate, a key) must be a
 * readable file now, so that --check finds the typo: "KEY: PATH: reason".
 * stat() and access() only: nothing is opened (a device node could mind). */
static int check_file(const struct parse_ctx *x, const config_t *lc, const char *key,
                      const char *path)
{
    struct stat st;
    int e = 0;

    if (!path || !path[0])
        return HUB_OK;
    if (stat(path, &st) != 0)
        e = errno;
    else if (S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (access(path, R_OK) != 0)
        e = errno;
    if (e)
        return fail(x, HUB_EINVAL, where(lc, key), "%s: %s: %s", key, path, strerror(e));
    return HUB_OK;
}

/* TLS to the broker: a CA turns it on; a client certificate needs its key
 * (and the other way round) and a CA; every named file must be readable. */
static int check_tls(const struct parse_ctx *x, const config_t *lc)
{
    const struct hub_config *c = x->c;
    int has_ca = c->mqtt.tls_ca_file[0] != '\0';
    int has_cert = c->mqtt.tls_cert_file[0] != '\0';
    int has_key = c->mqtt.tls_key_file[0] != '\0';
    int rc;

    if (has_cert && !has_key)
        return fail(x, HUB_EINVAL, where(lc, "mqtt.tls_cert_file"),
                    "mqtt.tls_cert_file: set without mqtt.tls_key_file; a client certificate "
                    "needs both");
    if (has_key && !has_cert)
        return fail(x, HUB_EINVAL, where(lc, "mqtt.tls_key_file"),
                    "mqtt.tls_key_file: set without mqtt.tls_cert_file; a client certificate "
                    "needs both");
    if (has_cert && !has_ca)
        return fail(x, HUB_EINVAL, where(lc, "mqtt.tls_cert_file"),
                    "mqtt.tls_cert_file: needs mqtt.tls_ca_file (TLS is on only with a CA file)");
    rc = check_file(x, lc, "mqtt.tls_ca_file", c->mqtt.tls_ca_file);
    if (rc == HUB_OK)
        rc = check_file(x, lc, "mqtt.tls_cert_file", c->mqtt.tls_cert_file);
    if (rc == HUB_OK)
        rc = check_file(x, lc, "mqtt.tls_key_file", c->mqtt.tls_key_file);
    return rc;
}

/* Mosquitto config__check: what no single key can judge alone. */
static int hhmm_ok(const char *t)
{
    return strlen(t) == 5 && isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) &&
           t[2] == ':' && isdigit((unsigned char)t[3]) && isdigit((unsigned char)t[4]) &&
           (t[0] - '0') * 10 + (t[1] - '0') < 24 && (t[3] - '0') * 10 + (t[4] - '0') < 60;
}

/* Is channel ch usable with this configuration? NULL, or what is missing. */
static const char *channel_missing(const struct hub_config *c, int ch)
{
    switch (ch) {
    case NOTIFY_WEBHOOK:
        return c->notify.webhook_url[0] ? NULL : "notify.webhook_url";
    case NOTIFY_TWILIO_SMS:
        return !c->notify.twilio_account_sid[0] ? "notify.twilio_account_sid"
               : !c->notify.twilio_from[0] ? "notify.twilio_from" : NULL;
    case NOTIFY_TWILIO_WHATSAPP:
        return !c->notify.twilio_account_sid[0] ? "notify.twilio_account_sid"
               : !c->notify.twilio_whatsapp_from[0] ? "notify.twilio_whatsapp_from" : NULL;
    case NOTIFY_WHATSAPP_CLOUD:
        return c->notify.whatsapp_phone_number_id[0] ? NULL : "notify.whatsapp_phone_number_id";
    case NOTIFY_FONNTE:
        return c->notify.fonnte_base_url[0] ? NULL : "notify.fonnte_base_url";
    case NOTIFY_GAMMU:
        return c->notify.gammu_outbox_dir[0] ? NULL : "notify.gammu_outbox_dir";
    }
    return "a known channel";
}

static int check_alerts(const struct parse_ctx *x, const config_t *lc)
{
    const struct hub_config *c = x->c;
    enum msg_lang lang;
    char why[256];

    if (msgtext_lang_parse(c->alerts.lang, &lang) != HUB_OK)
        return fail(x, HUB_EINVAL, where(lc, "alerts.lang"),
                    "alerts.lang: '%s' is not id or en", c->alerts.lang);
    if (!hhmm_ok(c->alerts.quiet_start))
        return fail(x, HUB_EINVAL, where(lc, "alerts.quiet_start"),
                    "alerts.quiet_start: '%s' is not HH:MM", c->alerts.quiet_start);
    if (!hhmm_ok(c->alerts.quiet_end))
        return fail(x, HUB_EINVAL, where(lc, "alerts.quiet_end"),
                    "alerts.quiet_end: '%s' is not HH:MM", c->alerts.quiet_end);
    for (size_t i = 0; i < c->alerts.nrules; i++) {
        why[0] = '\0';
        if (alert_rule_check(&c->alerts.rules[i], why, sizeof(why)) != HUB_OK)
            return fail(x, HUB_EINVAL, where_elem(lc, "alerts.rules", i),
                        "alerts.rules[%zu]: %s", i, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->alerts.rules[j].name, c->alerts.rules[i].name) == 0 &&
                strcmp(c->alerts.rules[j].field, c->alerts.rules[i].field) == 0)
                return fail(x, HUB_EINVAL, where_elem(lc, "alerts.rules", i),
                            "alerts.rules[%zu]: rule %s on %s appears twice", i,
                            c->alerts.rules[i].name, c->alerts.rules[i].field);
    }
    for (size_t i = 0; i < c->alerts.ntemplates; i++) {
        const struct cfg_template *t = &c->alerts.templates[i];

        if (msgtext_lang_parse(t->lang, &lang) != HUB_OK)
            return fail(x, HUB_EINVAL, where_elem(lc, "alerts.templates", i),
                        "alerts.templates[%zu].lang: '%s' is not id or en", i, t->lang);
        why[0] = '\0';
        if ((t->firing[0] && msgtext_check(t->firing, why, sizeof(why)) != HUB_OK) ||
            (t->resolved[0] && msgtext_check(t->resolved, why, sizeof(why)) != HUB_OK))
            return fail(x, HUB_EINVAL, where_elem(lc, "alerts.templates", i),
                        "alerts.templates[%zu] (%s): %s", i, t->rule, why);
    }
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct member *m = &c->members[i];

        why[0] = '\0';
        if (route_check_member(m, why, sizeof(why)) != HUB_OK)
            return fail(x, HUB_EINVAL, where_elem(lc, "members", i),
                        "members[%zu] (%s): %s", i, m->name, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->members[j].name, m->name) == 0)
                return fail(x, HUB_EINVAL, where_elem(lc, "members", i),
                            "members[%zu]: the name '%s' appears twice", i, m->name);
        for (size_t j = 0; j < m->nchannels; j++) {
            const char *miss = channel_missing(c, notify_channel_from_name(m->channels[j]));

            if (miss)
                return fail(x, HUB_EINVAL, where_elem(lc, "members", i),
                            "members[%zu] (%s): channel %s needs %s to be set", i, m->name,
                            m->channels[j], miss);
        }
    }
    return HUB_OK;
}

static int check(const struct parse_ctx *x, const config_t *lc)
{
    const struct hub_config *c = x->c;
    const char *why;
    int rc;

    why = bad_name(c->site, 0);
    if (why)
        return fail(x, HUB_EINVAL, where(lc, "site"), "site: %s", why);

    if (c->mqtt.host[0] == '\0')
        return fail(x, HUB_EINVAL, where(lc, "mqtt.host"), "mqtt.host: must not be empty");
    if (!c->mqtt.clean_session && c->mqtt.client_id[0] == '\0')
        return fail(x, HUB_EINVAL, where(lc, "mqtt.client_id"),
                    "mqtt.client_id: must not be empty when clean_session is false");
    if (c->mqtt.nsubscriptions == 0)
        return fail(x, HUB_EINVAL, where(lc, "mqtt.subscriptions"),
                    "mqtt.subscriptions: at least one topic filter is needed");
    for (size_t i = 0; i < c->mqtt.nsubscriptions; i++)
        if (c->mqtt.subscriptions[i][0] == '\0')
            return fail(x, HUB_EINVAL, where_elem(lc, "mqtt.subscriptions", i),
                        "mqtt.subscriptions[%zu]: must not be empty", i);
    rc = check_tls(x, lc);
    if (rc != HUB_OK)
        return rc;
    {
        unsigned char addr[16];

        if (inet_pton(AF_INET, c->http.bind, addr) != 1 &&
            inet_pton(AF_INET6, c->http.bind, addr) != 1)
            return fail(x, HUB_EINVAL, where(lc, "http.bind"),
                        "http.bind: '%s' is not an IPv4 or IPv6 address", c->http.bind);
    }

    if (!((starts_with(c->influx.url, "http://") && c->influx.url[7] != '\0') ||
          (starts_with(c->influx.url, "https://") && c->influx.url[8] != '\0')))
        return fail(x, HUB_EINVAL, where(lc, "influx.url"),
                    "influx.url: '%s' must start with http:// or https://", c->influx.url);
    /* The URL is logged: no user:password@ in it (and the message does not
     * repeat it). */
    if (memchr(strstr(c->influx.url, "://") + 3, '@',
               strcspn(strstr(c->influx.url, "://") + 3, "/?#")))
        return fail(x, HUB_EINVAL, where(lc, "influx.url"),
                    "influx.url: must not hold a user name or password (the URL is logged); "
                    "use influx.username and influx.password_file");
    if (c->influx.api == INFLUX_API_V1 && c->influx.database[0] == '\0')
        return fail(x, HUB_EINVAL, where(lc, "influx.database"),
                    "influx.database: must not be empty with api v1");
    if (c->influx.api == INFLUX_API_V2 && c->influx.org[0] == '\0')
        return fail(x, HUB_EINVAL, where(lc, "influx.org"),
                    "influx.org: must not be empty with api v2");
    if (c->influx.api == INFLUX_API_V2 && c->influx.bucket[0] == '\0')
        return fail(x, HUB_EINVAL, where(lc, "influx.bucket"),
                    "influx.bucket: must not be empty with api v2");
    if (c->influx.max_queue_points < c->influx.batch_size)
        return fail(x, HUB_EINVAL, where(lc, "influx.max_queue_points"),
                    "influx.max_queue_points: %d is less than influx.batch_size (%d)",
                    c->influx.max_queue_points, c->influx.batch_size);

    if (c->stats.history_s < c->stats.window_s)
        return fail(x, HUB_EINVAL, where(lc, "stats.history_s"),
                    "stats.history_s: %d is less than stats.window_s (%d)",
                    c->stats.history_s, c->stats.window_s);

    if (c->decode.ntemplates == 0)
        return fail(x, HUB_EINVAL, where(lc, "decode.templates"),
                    "decode.templates: at least one template is needed");
    for (size_t i = 0; i < c->decode.ntemplates; i++) {
        static const char *const need[] = { "{site}", "{kind}", "{id}" };
        const char *t = c->decode.templates[i];

        for (size_t j = 0; j < sizeof(need) / sizeof(need[0]); j++)
            if (!strstr(t, need[j]))
                return fail(x, HUB_EINVAL, where_elem(lc, "decode.templates", i),
                            "decode.templates[%zu]: '%s' lacks %s", i, t, need[j]);
    }
    if (c->decode.nkinds == 0)
        return fail(x, HUB_EINVAL, where(lc, "decode.kinds"),
                    "decode.kinds: at least one kind is needed");
    for (size_t i = 0; i < c->decode.nkinds; i++) {
        why = bad_name(c->decode.kinds[i], 1);
        if (why)
            return fail(x, HUB_EINVAL, where_elem(lc, "decode.kinds", i),
                        "decode.kinds[%zu]: %s", i, why);
    }
    if (!in_list(sanit_standards, c->drums.sanitation_standard)) {
        char names[160];

        list_names(sanit_standards, names, sizeof(names));
        return fail(x, HUB_EINVAL, where(lc, "drums.sanitation_standard"),
                    "drums.sanitation_standard: '%s' is not one of %s",
                    c->drums.sanitation_standard, names);
    }
    if (!in_list(tank_shapes, c->tanks.shape) || strcmp(c->tanks.shape, "table") == 0)
        return fail(x, HUB_EINVAL, where(lc, "tanks.shape"),
                    "tanks.shape: '%s' is not one of vertical_cylinder, horizontal_cylinder, box "
                    "(a calibration table belongs to one tank in tanks.each)", c->tanks.shape);
    if (!in_list(tank_recipes, c->tanks.recipe)) {
        char names[160];

        list_names(tank_recipes, names, sizeof(names));
        return fail(x, HUB_EINVAL, where(lc, "tanks.recipe"),
                    "tanks.recipe: '%s' is not one of %s", c->tanks.recipe, names);
    }
    if (c->drums.too_dry_pct >= c->drums.too_wet_pct)
        return fail(x, HUB_EINVAL, where(lc, "drums.too_dry_pct"),
                    "drums.too_dry_pct (%g) must be less than drums.too_wet_pct (%g)",
                    c->drums.too_dry_pct, c->drums.too_wet_pct);

    rc = check_alerts(x, lc);
    if (rc != HUB_OK)
        return rc;

    /* what --check calls valid must start: ask the modules that use them */
    {
        struct influx_out_cfg oc;
        struct decoder *d;
        char why2[256];

        why2[0] = '\0';
        d = decoder_new((const char *const *)c->decode.templates, c->decode.ntemplates,
                        (const char *const *)c->decode.kinds, c->decode.nkinds,
                        why2, sizeof(why2));
        if (!d)
            return fail(x, HUB_EINVAL, where(lc, "decode.templates"),
                        "decode: %s", why2);
        decoder_free(d);
        if (influx_out_cfg_from(c, "", &oc, why2, sizeof(why2)) != HUB_OK)
            return fail(x, HUB_EINVAL, where(lc, "influx.url"), "influx: %s", why2);
    }
    return HUB_OK;
}

/* ---- loading ---------------------------------------------------------- */

static int load(const char *text, const char *name, const char *include_dir,
                struct hub_config *out, char *err, size_t errlen)
{
    struct parse_ctx x = { .name = name ? name : "<config>", .c = out,
                           .err = err, .errlen = errlen };
    config_t lc;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return fail(&x, HUB_EINVAL, NULL, "no output struct");
    memset(out, 0, sizeof(*out));
    if (!text)
        return fail(&x, HUB_EINVAL, NULL, "no text");
    if (config_defaults(out) != HUB_OK)
        return nomem(&x);

    config_init(&lc);
    if (include_dir)
        config_set_include_dir(&lc, include_dir);
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        const char *f = config_error_file(&lc);

        if (err && errlen)
            snprintf(err, errlen, "%s:%d: %s", f ? f : x.name, config_error_line(&lc),
                     config_error_text(&lc) ? config_error_text(&lc) : "syntax error");
        rc = HUB_EINVAL;
    } else {
        rc = walk(&x, config_root_setting(&lc), "");
        if (rc == HUB_OK)
            rc = check(&x, &lc);
    }
    config_destroy(&lc);
    if (rc != HUB_OK)
        config_free(out);
    return rc;
}

int config_load_string(const char *text, const char *name,
                       struct hub_config *out, char *err, size_t errlen)
{
    return load(text, name, NULL, out, err, errlen);
}

int config_load_file(const char *path, struct hub_config *out,
                     char *err, size_t errlen)
{
    struct parse_ctx x = { .name = path ? path : "<config>", .c = out,
                           .err = err, .errlen = errlen };
    char *text = NULL, *dir = NULL, *slash;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!path || !out)
        return fail(&x, HUB_EINVAL, NULL, "no path or output struct");
    f = fopen(path, "rb");
    if (!f)
        return fail(&x, HUB_EIO, NULL, "%s", strerror(errno));
    for (;;) {
        size_t got;

        if (cap - len < 4096) {
            char *bigger;

            if (cap >= CFG_FILE_MAX) {
                free(text);
                fclose(f);
                return fail(&x, HUB_EINVAL, NULL, "larger than %d bytes", CFG_FILE_MAX);
            }
            bigger = realloc(text, cap ? cap * 2 : 8192);
            if (!bigger) {
                free(text);
                fclose(f);
                return nomem(&x);
            }
            text = bigger;
            cap = cap ? cap * 2 : 8192;
        }
        got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;

        free(text);
        fclose(f);
        return fail(&x, HUB_EIO, NULL, "%s", strerror(e));
    }
    fclose(f);
    text[len] = '\0';

    /* @include "x.cfg" is relative to the config file's folder */
    slash = strrchr(path, '/');
    if (slash) {
        dir = strndup(path, (size_t)(slash - path) + (slash == path));
        if (!dir) {
            free(text);
            return nomem(&x);
        }
    }
    rc = load(text, path, dir, out, err, errlen);
    free(dir);
    free(text);
    return rc;
}

/* ---- consumers -------------------------------------------------------- */

void config_validate_cfg(const struct hub_config *c, struct validate_cfg *v)
{
    memset(v, 0, sizeof(*v));
    v->ranges = c->validate.ranges;
    v->nranges = c->validate.nranges;
    snprintf(v->ds18b20_pattern, sizeof(v->ds18b20_pattern), "%s", c->validate.ds18b20_fields);
    v->ds18b20_hot_c = c->validate.ds18b20_hot_c;
    v->max_future_ns = (int64_t)c->validate.max_future_s * INT64_C(1000000000);
    v->max_past_ns = 0;
}

int config_read_secret(const char *path, const char *env, char *out,
                       size_t outlen, char *err, size_t errlen)
{
    const char *val = env ? getenv(env) : NULL;
    size_t n = 0;
    int ch, too_long = 0;
    FILE *f;

    if (err && errlen)
        err[0] = '\0';
    if (!out || outlen == 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: no room for the secret", env ? env : "secret");
        return HUB_EIO;
    }
    out[0] = '\0';
    if (val && val[0]) {
        if (strlen(val) >= outlen) {
            if (err && errlen)
                snprintf(err, errlen, "%s: secret longer than %zu bytes", env, outlen - 1);
            return HUB_EIO;
        }
        memcpy(out, val, strlen(val) + 1);
        return HUB_OK;
    }
    if (!path || !path[0])
        return HUB_OK;
    f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return HUB_EIO;
    }
    setvbuf(f, NULL, _IONBF, 0); /* no stdio buffer holding a copy */
    for (;;) {
        ch = getc(f);
        if (ch == EOF || ch == '\n')
            break;
        if (ch == '\r') {
            int next = getc(f);

            if (next == EOF || next == '\n')
                break;
            ungetc(next, f);
        }
        if (n + 1 < outlen)
            out[n++] = (char)ch;
        else
            too_long = 1;
    }
    out[n] = '\0';
    if (ferror(f) || too_long) {
        int e = errno;

        if (err && errlen) {
            if (too_long)
                snprintf(err, errlen, "%s: secret longer than %zu bytes", path, outlen - 1);
            else
                snprintf(err, errlen, "%s: %s", path, strerror(e));
        }
        fclose(f);
        memset(out, 0, outlen);
        return HUB_EIO;
    }
    fclose(f);
    return HUB_OK;
}

/* ---- file permissions ------------------------------------------------- */

/* Warn about one file (see config_check_permissions). Returns 1 if it
 * warned. */
static int check_mode(const char *file, const char *role, config_warn_fn warn, void *ctx)
{
    char msg[1024];
    struct stat st;
    unsigned mode;
    const char *how, *who;

    if (!file || !file[0] || stat(file, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    mode = (unsigned)st.st_mode & 07777u;
    if (!(mode & 077u))
        return 0;
    if ((mode & 044u) && (mode & 022u))
        how = "readable and writable";
    else if (mode & 044u)
        how = "readable";
    else if (mode & 022u)
        how = "writable";
    else
        how = "accessible";
    if ((mode & 070u) && (mode & 007u))
        who = "group and others";
    else if (mode & 070u)
        who = "group";
    else
        who = "others";
    snprintf(msg, sizeof(msg), "%s (%s) has mode %04o: %s by %s; it holds or names secrets: "
             "chmod 600 it (owner: the hub's user)", file, role, mode, how, who);
    if (warn)
        warn(ctx, msg);
    return 1;
}

int config_check_permissions(const struct hub_config *cfg, const char *path,
                             config_warn_fn warn, void *ctx)
{
    int n = 0;

    n += check_mode(path, "config file", warn, ctx);
    if (!cfg)
        return n;
    n += check_mode(cfg->mqtt.password_file, "mqtt.password_file", warn, ctx);
    n += check_mode(cfg->mqtt.tls_key_file, "mqtt.tls_key_file", warn, ctx);
    n += check_mode(cfg->influx.password_file, "influx.password_file", warn, ctx);
    n += check_mode(cfg->influx.token_file, "influx.token_file", warn, ctx);
    n += check_mode(cfg->notify.webhook_token_file, "notify.webhook_token_file", warn, ctx);
    n += check_mode(cfg->notify.twilio_token_file, "notify.twilio_token_file", warn, ctx);
    n += check_mode(cfg->notify.whatsapp_token_file, "notify.whatsapp_token_file", warn, ctx);
    n += check_mode(cfg->notify.fonnte_token_file, "notify.fonnte_token_file", warn, ctx);
    return n;
}

/* ---- --print-defaults ------------------------------------------------- */

static void print_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void print_float(FILE *f, double v)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%.17g", v);
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    fputs(buf, f);
}

static void print_key(FILE *f, const struct hub_config *d, const struct cfg_key *k,
                      const char *name, const char *indent)
{
    const void *p = field_cptr(d, k->off);

    fprintf(f, "%s# %c%s.\n", indent, toupper((unsigned char)k->help[0]), k->help + 1);
    switch (k->type) {
    case CFG_INT:
        fprintf(f, "%s# Default %d, range %lld..%lld.\n", indent, *(const int *)p,
                k->imin, k->imax);
        fprintf(f, "%s%s = %d;\n", indent, name, *(const int *)p);
        break;
    case CFG_BOOL:
        fprintf(f, "%s# Default %s.\n", indent, *(const int *)p ? "true" : "false");
        fprintf(f, "%s%s = %s;\n", indent, name, *(const int *)p ? "true" : "false");
        break;
    case CFG_FLOAT:
        fprintf(f, "%s# Default %g, range %g..%g.\n", indent, *(const double *)p,
                k->fmin, k->fmax);
        fprintf(f, "%s%s = ", indent, name);
        print_float(f, *(const double *)p);
        fputs(";\n", f);
        break;
    case CFG_STR:
    case CFG_STRBUF: {
        const char *s = k->type == CFG_STR ? *(char *const *)p : (const char *)p;

        if (k->type == CFG_STRBUF)
            fprintf(f, "%s# At most %zu bytes.\n", indent, k->size - 1);
        fprintf(f, "%s%s = ", indent, name);
        print_string(f, s);
        fputs(";\n", f);
        break;
    }
    case CFG_ENUM: {
        fprintf(f, "%s# One of", indent);
        for (const struct cfg_enum *e = k->enums; e->name; e++)
            fprintf(f, "%s %s", e == k->enums ? "" : ",", e->name);
        fputs(".\n", f);
        fprintf(f, "%s%s = ", indent, name);
        print_string(f, enum_name(k->enums, *(const int *)p));
        fputs(";\n", f);
        break;
    }
    case CFG_STRLIST: {
        char *const *v = *(char **const *)p;
        size_t n = *(const size_t *)field_cptr(d, k->size);

        fprintf(f, "%s%s = (", indent, name);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", " : " ", f);
            print_string(f, v[i]);
        }
        fputs(" );\n", f);
        break;
    }
    case CFG_RULES:
        fprintf(f, "%s# Empty by default (the built-in rules apply when default_rules is true). Example:\n"
                "%s#   ( { name = \"DRUM_OVERHEAT\"; kind = \"drum\"; field = \"temp_core_c\"; op = \">=\";\n"
                "%s#       threshold = 68.0; clear = 64.0; for_s = 1800; clear_for_s = 1800;\n"
                "%s#       severity = \"warn\"; crit = 72.0; } )\n", indent, indent, indent, indent);
        fprintf(f, "%s%s = ( );\n", indent, name);
        break;
    case CFG_MEMBERS:
        fprintf(f, "%s# Empty by default: alerts are written to InfluxDB but nobody gets a message.\n"
                "%s# Example:\n"
                "%s#   ( { name = \"Sari\"; phone = \"0812 3456 7890\"; channels = [ \"fonnte\", \"gammu\" ];\n"
                "%s#       role = \"ketua\"; tier = 1; lang = \"id\"; on_duty = \"\"; min_severity = \"info\"; } )\n",
                indent, indent, indent, indent);
        fprintf(f, "%s%s = ( );\n", indent, name);
        break;
    case CFG_TEMPLATES:
        fprintf(f, "%s# Empty by default: the built-in texts. Placeholders: see config/README.md.\n", indent);
        fprintf(f, "%s%s = ( );\n", indent, name);
        break;
    case CFG_TANKS:
        fprintf(f, "%s# Empty by default: every tank uses the tanks.* keys above. Example:\n"
                "%s#   ( { id = \"2\"; shape = \"table\"; sensor_height_cm = 120.0; recipe = \"ECO_ENZYME\";\n"
                "%s#       table = ( [0.0, 0.0], [40.0, 95.0], [80.0, 200.0] ); } )\n",
                indent, indent, indent);
        fprintf(f, "%s%s = ( );\n", indent, name);
        break;
    case CFG_RANGES: {
        const struct range_rule *r = validate_default_ranges();

        fprintf(f, "%s# Empty by default; the built-in rules (validate.c) then apply:\n", indent);
        for (; r->pattern[0]; r++)
            fprintf(f, "%s#   { field = \"%s\"; min = %.10g; max = %.10g; }\n", indent,
                    r->pattern, r->min, r->max);
        fprintf(f, "%s%s = ( );\n", indent, name);
        break;
    }
    }
}

void config_print_defaults(FILE *f)
{
    struct hub_config d;
    const char *group = NULL;   /* open group, or NULL at the root */
    size_t glen = 0;

    if (config_defaults(&d) != HUB_OK) {
        fputs("# kompos-hub: out of memory\n", f);
        return;
    }
    fputs("# kompos-hub configuration: every key with its default.\n"
          "# libconfig syntax; unknown keys are errors.\n", f);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &keys[i];
        const char *dot = strchr(k->path, '.');

        if (group && !(dot && (size_t)(dot - k->path) == glen &&
                       strncmp(k->path, group, glen) == 0)) {
            fputs("};\n", f);
            group = NULL;
        }
        if (dot && !group) {
            group = k->path;
            glen = (size_t)(dot - k->path);
            fprintf(f, "\n%.*s = {\n", (int)glen, group);
        } else {
            fputc('\n', f);    /* a blank line between keys */
        }
        print_key(f, &d, k, dot ? dot + 1 : k->path, dot ? "    " : "");
    }
    if (group)
        fputs("};\n", f);
    config_free(&d);
}
