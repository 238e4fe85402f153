/* SPDX-License-Identifier: MIT */
/* run_scenario.c - scenario mode (--scenario): publish scenario.c's
 * messages, paced by --speed (simulated seconds per wall second; "max" =
 * as fast as the broker acknowledges), show a progress bar of simulated
 * days, wait for every acknowledgement, write the ground truth. */
#include "run.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "simclock.h"

#define TOPIC_MAX    512
#define PAYLOAD_MAX  600
#define BAR_NS       250000000LL

static void bar(const struct sim_opts *o, double day, uint64_t sent, int final)
{
    char b[41];
    int n = (int)(40.0 * day / o->days + 0.5);

    if (n > 40)
        n = 40;
    if (n < 0)
        n = 0;
    memset(b, '#', (size_t)n);
    memset(b + n, '.', (size_t)(40 - n));
    b[40] = '\0';
    fprintf(stderr, "\rkompos-sim: %s day %5.1f/%g [%s] %" PRIu64 " msgs%s", o->scenario,
            day, o->days, b, sent, final ? "\n" : "");
    fflush(stderr);
}

int run_scenario(const struct sim_opts *o, struct pub *p, volatile sig_atomic_t *stop)
{
    const int64_t timeout_ns = (int64_t)(o->timeout_s * 1e9);
    int kind = scn_parse(o->scenario);
    struct scn *s;
    char prefix_topic[TOPIC_MAX], tail[128], payload[PAYLOAD_MAX], err[256];
    int64_t start_ms, t0 = 0, ts = 0, last_bar = 0;
    int have = 0, done = 0, ok, show;
    uint64_t published = 0;
    const char *why = NULL;

    if (kind < 0) {
        fprintf(stderr, "kompos-sim: unknown scenario \"%s\"; --list-scenarios lists them\n",
                o->scenario);
        return 2;
    }
    start_ms = o->start_ms > 0 ? o->start_ms
               : sim_real_ms() - (int64_t)(o->days * 86400000.0);
    s = scn_new(kind, (uint64_t)o->seed, o->drums, o->tanks, start_ms, o->days, o->interval_s);
    if (!s) {
        fprintf(stderr, "kompos-sim: cannot set up the scenario (at most 64 drums and 16 tanks)\n");
        return 1;
    }
    show = !o->quiet && (o->progress || isatty(2));
    if (pub_start(p, err, sizeof(err)) == PUB_EFATAL) {
        fprintf(stderr, "kompos-sim: error: %s\n", err);
        scn_free(s);
        return 1;
    }
    while (!why && !*stop && !done) {
        int timeout_ms = 100;
        int64_t now = sim_mono_ns();

        if (pub_failed(p)) {
            why = pub_error(p);
            break;
        }
        if (!t0 && pub_connected(p))
            t0 = now;
        for (int b = 0; t0 && pub_connected(p) && b < 4096; b++) {
            int rc;

            if (pub_outstanding(p) >= pub_window(p))
                break;
            if (!have) {
                rc = scn_next(s, tail, sizeof(tail), payload, sizeof(payload), &ts);
                if (rc == 0) {
                    done = 1;
                    break;
                }
                if (rc < 0) {
                    why = "a message is too long";
                    break;
                }
                have = 1;
            }
            if (!o->speed_max) {
                int64_t due = t0 + (int64_t)((double)(ts - start_ms) / o->speed * 1e6);

                now = sim_mono_ns();
                if (due > now) {
                    int64_t ms = (due - now) / 1000000 + 1;

                    timeout_ms = ms < 100 ? (int)ms : 100;
                    break;
                }
            }
            if (snprintf(prefix_topic, sizeof(prefix_topic), "%s/%s/%s", o->topic_prefix,
                         o->site, tail) >= (int)sizeof(prefix_topic)) {
                why = "a topic is too long";
                break;
            }
            rc = pub_publish(p, prefix_topic, payload, strlen(payload));
            if (rc == PUB_EAGAIN)
                break;
            if (rc != PUB_OK) {
                why = pub_error(p);
                break;
            }
            have = 0;
            published++;
            timeout_ms = 0;
        }
        if (show && now - last_bar >= BAR_NS) {
            bar(o, scn_day(s), published, 0);
            last_bar = now;
        }
        (void)pub_service(p, timeout_ms);
    }
    if (why)
        fprintf(stderr, "\nkompos-sim: error: %s\n", why);
    ok = !why && !*stop && run_drain(p, sim_mono_ns() + timeout_ns, stop, 2);
    if (show)
        bar(o, scn_day(s), published, 1);
    if (!why && !ok)
        fprintf(stderr, "kompos-sim: error: %" PRIu64 " messages not acknowledged within "
                "--timeout\n", pub_outstanding(p));
    if (!pub_failed(p))
        pub_disconnect(p, 2000);
    if (o->truth) {
        FILE *f = fopen(o->truth, "w");

        if (!f || scn_write_truth(s, f, o->site, published) != 0) {
            fprintf(stderr, "kompos-sim: cannot write %s\n", o->truth);
            ok = 0;
        }
        if (f && fclose(f) != 0)
            ok = 0;
    }
    fprintf(stderr, "kompos-sim: scenario %s: published=%" PRIu64 " acked=%" PRIu64
            " days=%g drums=%d tanks=%d\n", o->scenario, published, pub_acked(p), o->days,
            o->drums, o->tanks);
    scn_free(s);
    return ok ? 0 : 1;
}
