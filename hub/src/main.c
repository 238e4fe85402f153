/* SPDX-License-Identifier: MIT */
/* main.c - command line of kompos-hub. Everything else is in hubcore. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hub_err.h"
#include "log.h"
#include "loop.h"

#define DEFAULT_CONFIG "/etc/kompos-hub/kompos-hub.cfg"

/* config_check_permissions() callback: one WARN line per file. */
static void warn_permissions(void *ctx, const char *msg)
{
    (void)ctx;
    LOG_WARN("config", "%s", msg);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: kompos-hub [-c FILE] [--check] [--print-defaults]\n"
            "\n"
            "Telemetry hub for compost sites: reads sensor readings from an MQTT\n"
            "broker, validates them, keeps recent history and statistics, and writes\n"
            "everything to InfluxDB. Runs in the foreground; stop it with SIGTERM.\n"
            "\n"
            "  -c, --config FILE    configuration file (default " DEFAULT_CONFIG ")\n"
            "      --check          validate the configuration and exit (0 = valid,\n"
            "                       1 = invalid, with FILE:LINE: message on stderr)\n"
            "      --print-defaults print every setting with its default and exit\n"
            "  -V, --version        print the version and exit\n"
            "  -h, --help           print this help and exit\n"
            "\n"
            "Signals: SIGTERM/SIGINT flush and stop; SIGHUP reloads the config file.\n"
            "Secrets: KOMPOS_MQTT_PASSWORD, KOMPOS_INFLUX_TOKEN, KOMPOS_INFLUX_PASSWORD\n"
            "override the *_file settings.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 'k' },
        { "print-defaults", no_argument, NULL, 'p' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *path = DEFAULT_CONFIG;
    struct hub_config *cfg;
    char err[512];
    int c, check = 0;

    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'p':
            config_print_defaults(stdout);
            return 0;
        case 'V':
            printf("kompos-hub %s\n", KOMPOS_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kompos-hub: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        fprintf(stderr, "kompos-hub: out of memory\n");
        return 1;
    }
    if (config_load_file(path, cfg, err, sizeof(err)) != HUB_OK) {
        fprintf(stderr, "%s\n", err);
        free(cfg);
        return 1;
    }
    /* Secrets readable by others: say so at every start (and on --check). */
    log_set_level(cfg->log.level);
    config_check_permissions(cfg, path, warn_permissions, NULL);
    if (check) {
        printf("%s: configuration is valid\n", path);
        config_free(cfg);
        free(cfg);
        return 0;
    }
    return loop_run(path, cfg);
}
