/* SPDX-License-Identifier: MIT */
/* config.h - the hub's configuration (libconfig syntax), as a plain struct.
 *
 * config.c is the only file that includes <libconfig.h>. The struct owns
 * all its strings and arrays (copied out of libconfig before
 * config_destroy()), so every other module depends on this struct only.
 *
 * Every key has a type, bounds, a default and one line of help in one table
 * (config.c). Unknown keys, wrong types and out-of-range values are errors
 * of the form "FILE:LINE: message". A cross-field check runs after parsing.
 * The reference file config/kompos-hub.cfg documents every key. */
#ifndef HUB_CONFIG_H
#define HUB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "alert.h"
#include "route.h"
#include "validate.h"

#define CFG_TANK_TABLE_MAX 32
#define CFG_NAME_MAX       64

/* One entry of tanks.each: a tank whose geometry or recipe differs from
 * the tanks.* defaults. Unset numbers are NaN, unset strings "". */
struct cfg_tank {
    char id[CFG_NAME_MAX];
    char shape[24];
    double diameter_cm, length_cm, width_cm, height_cm, sensor_height_cm;
    char recipe[32];
    size_t ntable;                  /* level -> litres calibration (shape "table") */
    double table_level_cm[CFG_TANK_TABLE_MAX];
    double table_litres[CFG_TANK_TABLE_MAX];
};

/* One entry of alerts.templates: the texts of one rule in one language.
 * "" = the built-in text. */
struct cfg_template {
    char rule[48];
    char lang[4];                   /* "id" or "en"                       */
    char firing[512];
    char resolved[512];
};

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum influx_api { INFLUX_API_V1 = 1, INFLUX_API_V2 = 2 };

struct hub_config {
    char *site;                     /* "mekarsari"; tag of the hub measurement */

    struct {
        char *host;                 /* "127.0.0.1"                              */
        int port;                   /* 1883, 1..65535                           */
        char *client_id;            /* "kompos-hub"; non-empty                  */
        int qos;                    /* 1, 0..2                                  */
        int clean_session;          /* false: a persistent session              */
        char *username;             /* "" = no authentication                   */
        char *password_file;        /* "" = none; env KOMPOS_MQTT_PASSWORD wins */
        int keepalive_s;            /* 30, 5..3600                              */
        int reconnect_max_s;        /* 30, 1..3600: backoff cap                 */
        char **subscriptions;       /* ("kube/+/+/+/+", "kube/+/+/+")           */
        size_t nsubscriptions;      /* >= 1                                     */
        char *tls_ca_file;          /* "" = plain TCP; else TLS, broker checked */
        char *tls_cert_file;        /* "" = no client certificate               */
        char *tls_key_file;         /* with tls_cert_file: both or neither      */
        int tls_verify_hostname;    /* true: the certificate must name host     */
    } mqtt;

    struct {
        char *url;                  /* "http://127.0.0.1:8086"                  */
        enum influx_api api;        /* "v1" | "v2"                              */
        char *database;             /* v1: "kompos"                             */
        char *retention_policy;     /* v1: "" = the database default            */
        char *username;             /* v1: "" = no authentication               */
        char *password_file;        /* v1: env KOMPOS_INFLUX_PASSWORD wins      */
        char *org;                  /* v2                                       */
        char *bucket;               /* v2                                       */
        char *token_file;           /* v2: env KOMPOS_INFLUX_TOKEN wins         */
        int batch_size;             /* 5000 points, 1..100000                   */
        int flush_interval_ms;      /* 1000, 10..600000                         */
        int gzip;                   /* true                                     */
        int timeout_ms;             /* 5000, 100..600000                        */
        int max_queue_points;       /* 100000, 1000..10000000: memory bound     */
        int retry_max_ms;           /* 30000, 100..3600000: backoff cap         */
        int shutdown_grace_ms;      /* 10000, 0..600000                         */
    } influx;

    struct {
        char *dir;                  /* "/var/lib/kompos-hub/spool"; "" = none   */
        int max_mb;                 /* 256, 1..1000000: cap of the spool files  */
        int segment_mb;             /* 8, 1..1024: size of one segment file     */
        int fsync_interval_ms;      /* 1000, 0..60000; 0 = fsync every append   */
    } spool;

    struct {
        int max_series;             /* 10000, 1..1000000                        */
        int max_payload_bytes;      /* 4096, 16..1048576                        */
    } limits;

    struct {
        int window_s;               /* 60, 1..86400                             */
        int history_s;              /* 3600, 60..604800                         */
        int ring_points;            /* 360, 8..100000: readings kept per series */
        int self_interval_s;        /* 10, 1..3600: the hub measurement         */
    } stats;

    struct {
        enum log_level level;       /* "debug" | "info" | "warn" | "error"      */
    } log;

    struct {
        char *bind;                 /* "127.0.0.1": the status server's address */
        int port;                   /* 8471, 0..65535; 0 = no status server     */
    } http;

    struct {
        char **templates;           /* topic templates, see decode.h            */
        size_t ntemplates;
        char **kinds;               /* ("drum", "tank", "site")                 */
        size_t nkinds;
    } decode;

    struct {
        struct range_rule *ranges;  /* tried before the built-in defaults       */
        size_t nranges;
        char ds18b20_fields[64];    /* "temp_*_c"; "" disables                  */
        double ds18b20_hot_c;       /* 80.0                                     */
        int max_future_s;           /* 300, 0..86400; 0 = no check              */
    } validate;

    struct {
        int enabled;                /* true: drum/tank state machines run       */
        char *state_file;           /* batches and phases across restarts       */
        int save_interval_s;        /* 60: state file written this often (wall) */
        int state_interval_s;       /* 0 = stats.window_s: drum_state/tank_state
                                       points, event time                       */
        int expected_interval_s;    /* 300: a series is STALE after 3 of these  */
    } compost;

    struct {
        char sanitation_standard[24];   /* "us_pfrp_invessel", ...              */
        double groundwater_temp_c;      /* 27: ambient of last resort           */
        double thermo_on_c;             /* 40                                   */
        double overheat_c;              /* 65                                   */
        double too_dry_pct;             /* 40                                   */
        double too_wet_pct;             /* 65                                   */
        double maturity_delta_c;        /* 2                                    */
        double min_age_d;               /* 35                                   */
    } drums;

    struct {
        char shape[24];             /* "vertical_cylinder", ...                 */
        double diameter_cm;         /* 58                                       */
        double length_cm;           /* 100 (horizontal_cylinder, box)           */
        double width_cm;            /* 60 (box)                                 */
        double height_cm;           /* 85: usable liquid height                 */
        double sensor_height_cm;    /* 115: ultrasonic face above the bottom    */
        char recipe[32];            /* "POC_EM4"                                */
        struct cfg_tank *each;      /* per-tank overrides                       */
        size_t neach;
    } tanks;

    struct {
        int enabled;                /* true: rules run, alerts are written      */
        char *state_dir;            /* outbox/ and alerts.state live here       */
        int default_rules;          /* true: domain-compost.md 6.6 rules        */
        struct alert_rule *rules;   /* configured rules (replace a default of
                                       the same name and field)              */
        size_t nrules;
        char lang[8];               /* "id" | "en": members without their own */
        char quiet_start[6];        /* "21:00" WITA                             */
        char quiet_end[6];          /* "06:00"                                  */
        int group_wait_s;           /* 30                                       */
        int group_interval_s;       /* 300                                      */
        int reminder_warn_s;        /* 14400; 0 = none                          */
        int reminder_crit_s;        /* 3600                                     */
        int escalate_after_s;       /* 1800; 0 = none                           */
        char roles_info[64];        /* "operator"                               */
        char roles_warn[64];        /* "operator,ketua"                         */
        char roles_crit[64];        /* "*"                                      */
        int max_instances;          /* 1024                                     */
        struct cfg_template *templates;
        size_t ntemplates;
    } alerts;

    struct member *members;         /* who is told; root key "members"        */
    size_t nmembers;

    struct {
        char *webhook_url;          /* "" = channel off                         */
        char *webhook_token_file;   /* env KOMPOS_WEBHOOK_TOKEN wins            */
        char *twilio_base_url;
        char *twilio_account_sid;
        char *twilio_token_file;    /* env KOMPOS_TWILIO_TOKEN wins             */
        char *twilio_from;          /* SMS sender, E.164                        */
        char *twilio_whatsapp_from; /* WhatsApp sender, E.164                   */
        char *whatsapp_base_url;
        char *whatsapp_api_version;
        char *whatsapp_phone_number_id;
        char *whatsapp_token_file;  /* env KOMPOS_WHATSAPP_TOKEN wins           */
        char *whatsapp_template;    /* "" = plain text (24 h window only)       */
        char *whatsapp_template_lang;
        char *fonnte_base_url;
        char *fonnte_token_file;    /* env KOMPOS_FONNTE_TOKEN wins             */
        char *fonnte_country_code;
        char *gammu_outbox_dir;     /* "" = channel off                         */
        int timeout_ms;             /* 10000                                    */
        int max_pending;            /* 128                                      */
        int pace_s;                 /* 10: per phone                            */
        int retry_max_s;            /* 3600: backoff cap                        */
        int max_age_h;              /* 24: then dead-lettered                   */
        int rung_max_fails;         /* 3: then the next channel                 */
    } notify;
};

/* Fill c with every default (allocating the default strings and lists).
 * Returns HUB_OK or HUB_ENOMEM. Free with config_free(). */
int config_defaults(struct hub_config *c);

/* Parse libconfig text. 'name' is the file name used in messages. On
 * success fills *out (which the caller later frees with config_free()) and
 * returns HUB_OK. On error returns HUB_EINVAL (or HUB_ENOMEM), leaves *out
 * zeroed, and writes "name:LINE: message" into err. */
int config_load_string(const char *text, const char *name,
                       struct hub_config *out, char *err, size_t errlen);

/* Same, from a file. A missing or unreadable file is "FILE: reason". */
int config_load_file(const char *path, struct hub_config *out,
                     char *err, size_t errlen);

/* Free everything the struct owns and zero it. Accepts NULL. */
void config_free(struct hub_config *c);

/* Fill a validate_cfg that borrows from c (valid while c lives). */
void config_validate_cfg(const struct hub_config *c, struct validate_cfg *v);

/* Read a secret: the environment variable 'env' if set and non-empty,
 * else the first line of 'path' (trailing newline removed) if path is
 * non-empty. Returns HUB_OK (out may be "" when neither is set) or
 * HUB_EIO with a message in err. Never logs the secret. */
int config_read_secret(const char *path, const char *env, char *out,
                       size_t outlen, char *err, size_t errlen);

/* Called once per permission warning by config_check_permissions(); msg
 * lives until the call returns. */
typedef void (*config_warn_fn)(void *ctx, const char *msg);

/* Look at the modes of the config file 'path' (may be NULL) and of the
 * secret files cfg names (mqtt.password_file, mqtt.tls_key_file,
 * influx.password_file, influx.token_file). For each regular file that
 * group or others may read or write (mode & 077), call warn (if not NULL)
 * with one line that names the file, its role and its mode, and says what
 * to do. Files that do not exist or cannot be stat'ed are skipped: loading
 * the config or the secret reports those. Returns the number of warnings.
 * Never reads the files. */
int config_check_permissions(const struct hub_config *cfg, const char *path,
                             config_warn_fn warn, void *ctx);

/* Write every key with its default and help text, in libconfig syntax. */
void config_print_defaults(FILE *f);

#endif /* HUB_CONFIG_H */
