/* SPDX-License-Identifier: MIT */
/* status.h - what the status HTTP server shows, rendered from the hub's
 * state. Pure: no sockets, no clock, no log. The loop fills a struct
 * status_src with the current values (now, wall time, MQTT state, rss) for
 * each request; http_status.c carries the bytes.
 *
 * Paths (GET only; any other method on a known path is 405, an unknown
 * path is 404; query strings never reach here):
 *   /              a self-contained HTML page that loads /api/v1/state
 *                  every 5 s (text/html)
 *   /healthz       200 "ok\n", or 503 with the reasons on one line, joined
 *                  by "; ": "hub: stopping", "mqtt: not connected",
 *                  "influx: writes failing for N s", "spool: write errors"
 *   /metrics       Prometheus text format 0.0.4, every name kompos_hub_*,
 *                  every sample labelled {site="<hub site>"}
 *   /api/v1/state  JSON: the same numbers, MQTT state, uptime, version and
 *                  the list of series
 * Nothing from the config file is shown but the site name: no URLs, user
 * names, passwords or tokens. */
#ifndef HUB_STATUS_H
#define HUB_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"

struct hub;
struct spool;
struct spool_stats;

/* What /healthz needs to remember between requests. Zero-initialise (or
 * status_health_init), then feed it from the loop. */
struct status_health {
    int write_failing;          /* 1 after a failed write, until one works */
    hub_mono_ms failing_since;  /* when the current run of failures began  */
    long last_write_status;     /* HTTP status of the last answer; 0 = net */
    int have_write;             /* 1 once any answer was seen              */
    int spool_failing;          /* 1 after a failed append, until one works */
    uint64_t spool_errors_seen; /* spool_stats.append_errors last time     */
    uint64_t spool_records_seen; /* spool_stats.records_appended last time */
};

void status_health_init(struct status_health *hl);

/* The writer got an answer: http_status is the HTTP status, 0 for a
 * network error. 2xx ends a run of failures. A network error, 401, 403,
 * 404, 429 and 5xx are failures (InfluxDB away, refusing us, or the
 * database/bucket missing); other answers (400 partial write, 413) mean
 * the server works and refused some points, which /metrics counts. */
void status_note_write(struct status_health *hl, long http_status,
                       hub_mono_ms now);

/* Look at the spool's counters (call after each influx_out_sync()): new
 * append errors without a new record mean it is failing, a new record
 * without new errors that it works again. */
void status_note_spool(struct status_health *hl, const struct spool_stats *st);

/* Everything a request may show. Pointers are borrowed for the call. */
struct status_src {
    struct hub *hub;            /* (POST .../ack acknowledges through it)   */
    struct spool *sp;           /* NULL = no spool                          */
    const char *site;           /* the hub's site (config 'site')           */
    const char *version;        /* KOMPOS_VERSION                           */
    int mqtt_connected;
    int stopping;               /* 1 while the hub drains at shutdown       */
    const struct status_health *health; /* NULL = nothing known          */
    hub_mono_ms now;
    hub_mono_ms started;        /* when the hub started (uptime)            */
    hub_real_ns wall;           /* wall clock now                           */
    long rss_kb;                /* resident set size; 0 = unknown           */
};

/* 1 when healthy. Otherwise 0, with the reasons in reason (one line, no
 * newline, joined by "; "; truncated to len). */
int status_healthy(const struct status_src *src, char *reason, size_t len);

/* Render 'path' for 'method' into out (appending). Returns the HTTP
 * status (200, 503 from /healthz, 404, 405, or 500 when out's cap was
 * reached: then out holds a short message instead) and sets
 * *content_type to a static string. */
int status_render(const struct status_src *src, const char *method,
                  const char *path, struct buf *out, const char **content_type);

#endif /* HUB_STATUS_H */
