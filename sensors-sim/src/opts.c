/* SPDX-License-Identifier: MIT */
/* opts.c - the command line table (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KOMPOS_VERSION
#define KOMPOS_VERSION "0.0.0"
#endif

#define PASSWORD_ENV "KOMPOS_SIM_PASSWORD"
#define SIM_QOS2_INFLIGHT 20    /* Mosquitto's default max_inflight_messages */

enum otype { T_STR, T_INT, T_I64, T_DBL, T_CHOICE, T_FLAG, T_HELP, T_VERSION };
enum omode { M_ANY, M_STREAM, M_COUNT };

struct optdef {
    const char *name;
    enum otype type;
    size_t off;                 /* into struct sim_opts (unused for T_HELP/T_VERSION) */
    double min, max;            /* bounds for numbers; max length for T_STR */
    const char *choices;        /* T_CHOICE: "a|b", stored as the index     */
    enum omode mode;
    const char *metavar;
    const char *help;
    const char *defstr;         /* default shown by --help; NULL: from the defaults */
};

#define OFF(f) offsetof(struct sim_opts, f)

static const struct optdef optdefs[] = {
    /* broker */
    { "host", T_STR, OFF(host), 1, 255, NULL, M_ANY, "H",
      "MQTT broker host", NULL },
    { "port", T_INT, OFF(port), 1, 65535, NULL, M_ANY, "P",
      "MQTT broker port", NULL },
    { "client-id", T_STR, OFF(client_id), 1, 63, NULL, M_ANY, "ID",
      "MQTT client id", "kompos-sim-<pid>" },
    { "username", T_STR, OFF(username), 1, 255, NULL, M_ANY, "U",
      "MQTT user name; the password is read from $" PASSWORD_ENV, "none" },
    { "qos", T_INT, OFF(qos), 0, 2, NULL, M_ANY, "0|1|2",
      "QoS of every publish", NULL },
    { "inflight", T_INT, OFF(inflight), 1, 65535, NULL, M_ANY, "N",
      "QoS 1/2 messages in flight before waiting for acks; with --qos 2 the "
      "default is 20, as Mosquitto drops a client that has more unreleased "
      "QoS 2 messages than its max_inflight_messages (20)", NULL },
    { "timeout", T_DBL, OFF(timeout_s), 0.1, 86400, NULL, M_ANY, "SECONDS",
      "wall seconds to wait for the connection (count mode) and for "
      "acknowledgements (both modes) before giving up with exit status 1; "
      "continuous mode reconnects forever and uses it only for the last acks",
      NULL },
    /* topics */
    { "site", T_STR, OFF(site), 1, SIM_SITE_MAX - 1, NULL, M_ANY, "S",
      "site name (second topic level)", NULL },
    { "topic-prefix", T_STR, OFF(topic_prefix), 1, SIM_PREFIX_MAX - 1, NULL, M_ANY, "P",
      "first topic level(s)", NULL },
    { "format", T_CHOICE, OFF(format), 0, 0, "number|json", M_ANY, "number|json",
      "number: one plain-text value per <prefix>/<site>/<kind>/<id>/<field>; "
      "json: one object per <prefix>/<site>/<kind>/<id>", NULL },
    /* continuous mode */
    { "drums", T_INT, OFF(drums), 0, 10000, NULL, M_STREAM, "N",
      "compost drums (ids 1..N)", NULL },
    { "tanks", T_INT, OFF(tanks), 0, 10000, NULL, M_STREAM, "M",
      "liquid fertiliser tanks (ids 1..M)", NULL },
    { "interval", T_DBL, OFF(interval_s), 0.001, 86400, NULL, M_STREAM, "SECONDS",
      "simulated seconds between two readings of a device", NULL },
    { "speed", T_DBL, OFF(speed), 1e-3, 1e9, NULL, M_STREAM, "X",
      "simulated time runs X times faster than wall time "
      "(publish every interval/X wall seconds)", NULL },
    { "duration", T_DBL, OFF(duration_s), 0, 1e10, NULL, M_STREAM, "SECONDS",
      "simulated seconds to run, then wait for acks and exit; 0 = until "
      "SIGINT/SIGTERM", NULL },
    { "start-ms", T_I64, OFF(start_ms), 1, 9223372036853.0, NULL, M_STREAM, "MS",
      "simulated start time, Unix milliseconds", "now" },
    { "seed", T_I64, OFF(seed), 0, 9.0e18, NULL, M_STREAM, "N",
      "random seed of the value model (the same seed gives the same messages)", NULL },
    { "scenario", T_STR, OFF(scenario), 1, 31, NULL, M_STREAM, "NAME",
      "a whole compost batch in simulated time with the physical model, operator events "
      "and ground truth: normal, stall, overheat, too_dry, too_wet, sensor_faults, "
      "tank_overflow, ferment_spoiled (see --list-scenarios). JSON payloads with \"ts\"; "
      "defaults then: --interval 300, --speed 86400 (a day per second; max = unpaced), "
      "--start-ms = now - --days, QoS 1", "none" },
    { "days", T_DBL, OFF(days), 0.01, 3650, NULL, M_STREAM, "D",
      "scenario length in simulated days", NULL },
    { "truth", T_STR, OFF(truth), 1, 4095, NULL, M_STREAM, "FILE",
      "write the scenario's ground truth (maturity day per drum, peak, litres drawn, the "
      "injected faults) as JSON", "none" },
    { "progress", T_FLAG, OFF(progress), 0, 0, NULL, M_STREAM, NULL,
      "show the scenario's progress bar also when stderr is not a terminal", NULL },
    { "list-scenarios", T_FLAG, OFF(list_scenarios), 0, 0, NULL, M_ANY, NULL,
      "print the scenarios with one line each, then exit", NULL },
    /* count mode */
    { "count", T_I64, OFF(count), 0, 1e9, NULL, M_COUNT, "N",
      "count mode: publish exactly N good readings, wait for every ack, exit",
      "off" },
    { "rate", T_DBL, OFF(rate), 0, 1e8, NULL, M_COUNT, "R",
      "messages per second; 0 = as fast as the broker acknowledges", NULL },
    { "series", T_INT, OFF(series), 1, 1000000, NULL, M_COUNT, "K",
      "message i goes to drum id (i % K) + 1, field temp_core_c", NULL },
    { "hostile", T_I64, OFF(hostile), 0, 1e9, NULL, M_COUNT, "N",
      "also publish N malformed or hostile messages the hub must reject, "
      "spread evenly among the good ones (see --list-hostile)", NULL },
    { "list-hostile", T_FLAG, OFF(list_hostile), 0, 0, NULL, M_ANY, NULL,
      "print the hostile message kinds and the hub's expected reason, then exit",
      NULL },
    /* other */
    { "quiet", T_FLAG, OFF(quiet), 0, 0, NULL, M_ANY, NULL,
      "no progress lines (errors and the final summary still go to stderr)", NULL },
    { "help", T_HELP, 0, 0, 0, NULL, M_ANY, NULL, "print this help and exit", NULL },
    { "version", T_VERSION, 0, 0, 0, NULL, M_ANY, NULL, "print the version and exit", NULL },
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

void opts_defaults(struct sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 1883;
    snprintf(o->client_id_buf, sizeof(o->client_id_buf), "kompos-sim-%ld", (long)getpid());
    o->client_id = o->client_id_buf;
    o->username = NULL;
    o->password = getenv(PASSWORD_ENV);
    o->qos = 1;
    o->inflight = 500;
    o->site = "mekarsari";
    o->topic_prefix = "kube";
    o->format = SIM_FMT_NUMBER;
    o->drums = 6;
    o->tanks = 2;
    o->interval_s = 10.0;
    o->speed = 1.0;
    o->duration_s = 0.0;
    o->start_ms = 0;
    o->seed = 1;
    o->count_mode = 0;
    o->count = 0;
    o->rate = 0.0;
    o->series = 100;
    o->hostile = 0;
    o->timeout_s = 120.0;
    o->quiet = 0;
    o->list_hostile = 0;
    o->scenario = NULL;
    o->days = 60.0;
    o->truth = NULL;
}

/* Choice i of "a|b|c" into buf. Returns 0, or -1 if there is no such one. */
static int choice_name(const char *choices, int i, char *buf, size_t len)
{
    const char *p = choices;

    for (int k = 0; k < i; k++) {
        p = strchr(p, '|');
        if (!p)
            return -1;
        p++;
    }
    snprintf(buf, len, "%.*s", (int)strcspn(p, "|"), p);
    return 0;
}

static int choice_index(const char *choices, const char *arg)
{
    char name[32];

    for (int i = 0; choice_name(choices, i, name, sizeof(name)) == 0; i++) {
        if (strcmp(name, arg) == 0)
            return i;
    }
    return -1;
}

static void default_text(const struct optdef *d, const struct sim_opts *def,
                         char *buf, size_t len)
{
    const char *base = (const char *)def;

    if (d->defstr) {
        snprintf(buf, len, "%s", d->defstr);
        return;
    }
    switch (d->type) {
    case T_STR: {
        const char *s = *(const char *const *)(const void *)(base + d->off);

        snprintf(buf, len, "%s", s ? s : "none");
        break;
    }
    case T_INT:
        snprintf(buf, len, "%d", *(const int *)(const void *)(base + d->off));
        break;
    case T_I64:
        snprintf(buf, len, "%lld",
                 (long long)*(const int64_t *)(const void *)(base + d->off));
        break;
    case T_DBL:
        snprintf(buf, len, "%g", *(const double *)(const void *)(base + d->off));
        break;
    case T_CHOICE:
        if (choice_name(d->choices, *(const int *)(const void *)(base + d->off),
                        buf, len) != 0)
            snprintf(buf, len, "?");
        break;
    default:
        buf[0] = '\0';
        break;
    }
}

/* Print text from column indent, wrapped at spaces before column width. */
static void print_wrapped(FILE *out, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;

    while (*p) {
        int w = (int)strcspn(p, " ");

        if (col > indent && col + 1 + w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", w, p);
        col += w;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

void opts_help(FILE *out)
{
    static const char *const heads[] = {
        [M_ANY] = "Options",
        [M_STREAM] = "Continuous mode (the default)",
        [M_COUNT] = "Count mode",
    };
    static const enum omode order[] = { M_ANY, M_STREAM, M_COUNT };
    struct sim_opts def;

    opts_defaults(&def);
    fprintf(out,
            "Usage: kompos-sim [OPTIONS]\n"
            "Publish simulated compost-drum and tank readings to an MQTT broker.\n"
            "\n"
            "Continuous mode: every --interval of simulated time each drum publishes\n"
            "temp_core_c, temp_mid_c, temp_top_c, moisture_pct, o2_pct, each tank\n"
            "level_cm, ph, temp_liquid_c, ec_ms_cm, and the site temp_ambient_c; each\n"
            "drum first publishes a batch_start event. Count mode (--count): exactly N\n"
            "readings of temp_core_c, then wait until the broker acknowledged them all.\n");
    for (size_t m = 0; m < sizeof(order) / sizeof(order[0]); m++) {
        fprintf(out, "\n%s:\n", heads[order[m]]);
        for (size_t i = 0; i < NOPTS; i++) {
            const struct optdef *d = &optdefs[i];
            char left[64], dflt[64], text[512];

            if (d->mode != order[m])
                continue;
            snprintf(left, sizeof(left), "--%s%s%s", d->name, d->metavar ? " " : "",
                     d->metavar ? d->metavar : "");
            default_text(d, &def, dflt, sizeof(dflt));
            snprintf(text, sizeof(text), "%s%s%s%s", d->help, dflt[0] ? " (default " : "",
                     dflt, dflt[0] ? ")" : "");
            fprintf(out, "  %-24s ", left);
            print_wrapped(out, text, 27, 79);
        }
    }
    fprintf(out,
            "\nExit status: 0 when every message was acknowledged, 1 on a broker or\n"
            "timeout failure (count mode says how many were acknowledged), 2 on a bad\n"
            "command line. SIGINT/SIGTERM stop publishing; the acks still due are\n"
            "awaited (up to --timeout), then the client disconnects.\n");
}

static int parse_i64(const char *s, int64_t *v)
{
    char *end;
    long long x;

    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *v = (int64_t)x;
    return 0;
}

/* A topic level or prefix may not hold wildcards, control bytes, or (for
 * a single level) a slash; the prefix may not start or end with '/'. */
static int topic_text_ok(const char *s, int single_level)
{
    size_t n = strlen(s);

    if (n == 0 || s[0] == '/' || s[n - 1] == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '+' || *p == '#' || *p == '\\')
            return 0;
        if (single_level && *p == '/')
            return 0;
    }
    return strstr(s, "//") == NULL;
}

static int set_value(struct sim_opts *o, const struct optdef *d, const char *arg,
                     FILE *err)
{
    char *base = (char *)o;
    void *field = base + d->off;

    switch (d->type) {
    case T_STR:
        if (strlen(arg) < (size_t)d->min || strlen(arg) > (size_t)d->max) {
            fprintf(err, "kompos-sim: --%s: length must be %g..%g bytes\n", d->name,
                    d->min, d->max);
            return -1;
        }
        *(const char **)field = arg;
        return 0;
    case T_INT:
    case T_I64: {
        int64_t v;

        if (parse_i64(arg, &v) != 0 || (double)v < d->min || (double)v > d->max) {
            fprintf(err, "kompos-sim: --%s: \"%s\" is not an integer in %.0f..%.0f\n",
                    d->name, arg, d->min, d->max);
            return -1;
        }
        if (d->type == T_INT)
            *(int *)field = (int)v;
        else
            *(int64_t *)field = v;
        return 0;
    }
    case T_DBL: {
        char *end;
        double v;

        if (d->off == OFF(speed) && strcmp(arg, "max") == 0) {
            o->speed_max = 1;
            o->speed = 1e9;
            return 0;
        }
        errno = 0;
        v = strtod(arg, &end);
        if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) || v < d->min ||
            v > d->max) {
            fprintf(err, "kompos-sim: --%s: \"%s\" is not a number in %g..%g\n", d->name,
                    arg, d->min, d->max);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case T_CHOICE: {
        int i = choice_index(d->choices, arg);

        if (i < 0) {
            fprintf(err, "kompos-sim: --%s: \"%s\" is not one of %s\n", d->name, arg,
                    d->choices);
            return -1;
        }
        *(int *)field = i;
        return 0;
    }
    case T_FLAG:
        *(int *)field = 1;
        return 0;
    default:
        return 0;
    }
}

/* Cross-option checks after parsing (mode mix-ups, topic texts). */
static int check(struct sim_opts *o, const int *given, FILE *err)
{
    int rc = 0;

    for (size_t i = 0; i < NOPTS; i++) {
        const struct optdef *d = &optdefs[i];

        if (!given[i])
            continue;
        if (d->mode == M_STREAM && o->count_mode) {
            fprintf(err, "kompos-sim: --%s is for continuous mode; it cannot be "
                    "used with --count\n", d->name);
            rc = -1;
        } else if (d->mode == M_COUNT && !o->count_mode && d->off != OFF(count)) {
            fprintf(err, "kompos-sim: --%s needs --count\n", d->name);
            rc = -1;
        }
    }
    for (size_t i = 0; i < NOPTS; i++) {
        if (optdefs[i].off == OFF(inflight) && optdefs[i].type == T_INT && !given[i] &&
            o->qos == 2)
            o->inflight = SIM_QOS2_INFLIGHT;
    }
    if (!topic_text_ok(o->site, 1)) {
        fprintf(err, "kompos-sim: --site \"%s\" must be one topic level without "
                "'/', '+', '#', '\\' or control bytes\n", o->site);
        rc = -1;
    }
    if (!topic_text_ok(o->topic_prefix, 0)) {
        fprintf(err, "kompos-sim: --topic-prefix \"%s\": no empty levels, no "
                "leading or trailing '/', no '+', '#', '\\' or control bytes\n",
                o->topic_prefix);
        rc = -1;
    }
    if (o->password && !o->username) {
        fprintf(err, "kompos-sim: $%s is set but --username is not: connecting "
                "anonymously\n", PASSWORD_ENV);
        o->password = NULL;
    }
    if (o->scenario) {
        /* scenario defaults, unless given */
        for (size_t i = 0; i < NOPTS; i++) {
            if (given[i])
                continue;
            if (optdefs[i].off == OFF(interval_s))
                o->interval_s = 300.0;
            else if (optdefs[i].off == OFF(speed))
                o->speed = 86400.0;
        }
        if (o->format != SIM_FMT_JSON) {
            int fmt_given = 0;

            for (size_t i = 0; i < NOPTS; i++)
                if (given[i] && optdefs[i].off == OFF(format))
                    fmt_given = 1;
            if (fmt_given) {
                fprintf(err, "kompos-sim: --scenario publishes JSON (with \"ts\"); "
                        "--format number does not go with it\n");
                rc = -1;
            }
            o->format = SIM_FMT_JSON;
        }
    } else {
        for (size_t i = 0; i < NOPTS; i++) {
            if (given[i] && (optdefs[i].off == OFF(days) || optdefs[i].off == OFF(truth) ||
                             optdefs[i].off == OFF(progress))) {
                fprintf(err, "kompos-sim: --%s needs --scenario\n", optdefs[i].name);
                rc = -1;
            }
        }
        if (o->speed_max) {
            fprintf(err, "kompos-sim: --speed max needs --scenario\n");
            rc = -1;
        }
    }
    if (!o->count_mode && o->drums == 0 && o->tanks == 0 && !o->list_hostile)
        fprintf(err, "kompos-sim: no drums and no tanks: only the site ambient "
                "probe publishes\n");
    return rc;
}

int opts_parse(struct sim_opts *o, int argc, char **argv, FILE *out, FILE *err)
{
    struct option lopts[NOPTS + 1];
    int given[NOPTS];
    int c, idx;

    memset(lopts, 0, sizeof(lopts));
    memset(given, 0, sizeof(given));
    for (size_t i = 0; i < NOPTS; i++) {
        lopts[i].name = optdefs[i].name;
        lopts[i].has_arg = (optdefs[i].type == T_FLAG || optdefs[i].type == T_HELP ||
                            optdefs[i].type == T_VERSION) ? no_argument : required_argument;
        lopts[i].flag = NULL;
        lopts[i].val = 256 + (int)i;
    }
    opterr = 0;
    optind = 1;
    for (;;) {
        const struct optdef *d;

        idx = -1;
        c = getopt_long(argc, argv, ":hVq", lopts, &idx);
        if (c == -1)
            break;
        if (c == 'h') {
            opts_help(out);
            return OPTS_DONE;
        }
        if (c == 'V') {
            fprintf(out, "kompos-sim %s\n", KOMPOS_VERSION);
            return OPTS_DONE;
        }
        if (c == 'q') {
            o->quiet = 1;
            continue;
        }
        if (c == ':') {
            fprintf(err, "kompos-sim: %s needs a value (see --help)\n", argv[optind - 1]);
            return OPTS_USAGE;
        }
        if (c < 256 || c >= 256 + (int)NOPTS) {
            fprintf(err, "kompos-sim: unknown option %s (see --help)\n", argv[optind - 1]);
            return OPTS_USAGE;
        }
        d = &optdefs[c - 256];
        if (d->type == T_HELP) {
            opts_help(out);
            return OPTS_DONE;
        }
        if (d->type == T_VERSION) {
            fprintf(out, "kompos-sim %s\n", KOMPOS_VERSION);
            return OPTS_DONE;
        }
        if (set_value(o, d, optarg, err) != 0)
            return OPTS_USAGE;
        given[c - 256] = 1;
        if (d->off == OFF(count) && d->type == T_I64)
            o->count_mode = 1;
    }
    if (optind < argc) {
        fprintf(err, "kompos-sim: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return OPTS_USAGE;
    }
    if (check(o, given, err) != 0)
        return OPTS_USAGE;
    return OPTS_RUN;
}
