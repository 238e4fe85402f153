/* SPDX-License-Identifier: MIT */
/* main.c - kompos-sim: simulated compost drums and tanks over MQTT.
 * Parses the command line, installs the signal handlers and runs one of
 * the two modes (run.h). Exit status: 0 ok, 1 broker/timeout failure,
 * 2 bad command line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "opts.h"
#include "pub.h"
#include "run.h"
#include "scenario.h"

static volatile sig_atomic_t stop_signals;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_signals < 2)
        stop_signals++;
}

static int install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;    /* no SA_RESTART: poll() returns EINTR at once */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* Print s with bytes outside printable ASCII (and '"', '\\') escaped;
 * at most max bytes, then the total length. */
static void print_escaped(FILE *out, const char *s, size_t len, size_t max)
{
    fputc('"', out);
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
    if (len > max)
        fprintf(out, "... (%zu bytes)", len);
}

static int list_hostile(const struct sim_opts *o)
{
    struct hostile_msg *m = malloc(sizeof(*m));

    if (!m)
        return 1;
    printf("%d hostile kinds; hostile message j is kind j %% %d, sent to drum (j %% K) + 1\n",
           HOSTILE_NKINDS, HOSTILE_NKINDS);
    printf("%-3s %-18s %-21s %s\n", "#", "kind", "hub reason", "topic  payload");
    for (int k = 0; k < HOSTILE_NKINDS; k++) {
        if (hostile_make((uint64_t)k, o->topic_prefix, o->site, 1, m) != 0) {
            free(m);
            return 1;
        }
        printf("%-3d %-18s %-21s ", k, hostile_name(k), hostile_reason(k));
        print_escaped(stdout, m->topic, strlen(m->topic), 200);
        fputc(' ', stdout);
        print_escaped(stdout, m->payload, m->len, 48);
        fputc('\n', stdout);
    }
    free(m);
    return 0;
}

int main(int argc, char **argv)
{
    struct sim_opts o;
    struct pub_cfg pc;
    struct pub *p;
    char err[256];
    int rc;

    opts_defaults(&o);
    rc = opts_parse(&o, argc, argv, stdout, stderr);
    if (rc == OPTS_DONE)
        return 0;
    if (rc != OPTS_RUN)
        return 2;
    if (o.list_hostile)
        return list_hostile(&o);
    if (o.list_scenarios) {
        scn_list(stdout);
        return 0;
    }
    if (install_signals() != 0) {
        perror("kompos-sim: sigaction");
        return 1;
    }
    memset(&pc, 0, sizeof(pc));
    pc.host = o.host;
    pc.port = o.port;
    pc.client_id = o.client_id;
    pc.username = o.username;
    pc.password = o.password;
    pc.qos = o.qos;
    pc.inflight = o.inflight;
    pc.keepalive_s = 60;
    pc.reconnect = !o.count_mode;
    p = pub_new(&pc, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "kompos-sim: error: %s\n", err);
        return 1;
    }
    rc = o.count_mode ? run_count(&o, p, &stop_signals)
         : o.scenario ? run_scenario(&o, p, &stop_signals) : run_stream(&o, p, &stop_signals);
    pub_free(p);
    return rc;
}
