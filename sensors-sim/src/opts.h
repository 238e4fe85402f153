/* SPDX-License-Identifier: MIT */
/* opts.h - kompos-sim command line: one table of options (name, type,
 * bounds, default, help) drives getopt_long, the checks and --help.
 *
 * Two modes: continuous (the default: drums, tanks and the site ambient
 * probe publish every --interval of simulated time) and count mode
 * (--count N: publish exactly N readings as fast as asked, wait for the
 * broker's acknowledgements, report). Options that belong to the other
 * mode are usage errors, so a mistyped command fails loudly. */
#ifndef SIM_OPTS_H
#define SIM_OPTS_H

#include <stdint.h>
#include <stdio.h>

enum sim_format { SIM_FMT_NUMBER = 0, SIM_FMT_JSON = 1 };

#define SIM_SITE_MAX    64      /* bytes of --site, NUL included (hub HUB_NAME_MAX) */
#define SIM_PREFIX_MAX 128      /* bytes of --topic-prefix, NUL included            */

struct sim_opts {
    /* broker */
    const char *host;
    int port;
    const char *client_id;      /* points at client_id_buf unless given */
    const char *username;       /* NULL: anonymous                      */
    const char *password;       /* from $KOMPOS_SIM_PASSWORD; borrowed  */
    int qos;
    int inflight;               /* QoS 1/2 messages in flight (window)  */
    /* topics */
    const char *site;
    const char *topic_prefix;
    int format;                 /* enum sim_format                      */
    /* continuous mode */
    int drums;
    int tanks;
    double interval_s;          /* simulated seconds between readings   */
    double speed;               /* simulated seconds per wall second    */
    double duration_s;          /* simulated seconds; 0 = forever       */
    int64_t start_ms;           /* simulated start; 0 = now             */
    int64_t seed;
    /* count mode */
    int count_mode;             /* 1 when --count was given             */
    int64_t count;
    double rate;                /* messages per second; 0 = unpaced     */
    int series;
    int64_t hostile;
    /* both */
    double timeout_s;
    int quiet;
    int list_hostile;           /* --list-hostile: print the list, exit */
    /* scenario mode (continuous mode with --scenario) */
    const char *scenario;       /* NULL: the simple continuous model    */
    double days;                /* simulated days                       */
    const char *truth;          /* ground truth JSON file, or NULL      */
    int progress;               /* --progress: the bar also without a tty */
    int list_scenarios;
    int speed_max;              /* --speed max: unpaced                 */
    char client_id_buf[64];
};

enum {
    OPTS_RUN = 0,               /* options parsed: run                     */
    OPTS_DONE = 1,              /* --help or --version printed: exit 0     */
    OPTS_USAGE = -1             /* bad command line; message written       */
};

/* Fill o with the defaults (client id kompos-sim-<pid>, password from
 * the environment). Cannot fail. */
void opts_defaults(struct sim_opts *o);

/* Parse argv into o (which opts_defaults() filled). Strings in o point
 * into argv or the environment and live as long as they do. Prints --help
 * and --version to out and errors to err. Returns OPTS_RUN,
 * OPTS_DONE or OPTS_USAGE. */
int opts_parse(struct sim_opts *o, int argc, char **argv, FILE *out, FILE *err);

/* Print the --help text (defaults taken from opts_defaults()). */
void opts_help(FILE *out);

#endif /* SIM_OPTS_H */
