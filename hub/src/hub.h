/* SPDX-License-Identifier: MIT */
/* hub.h - the data path: decode -> validate -> series/ring/stats ->
 * line protocol -> InfluxDB writer, plus the hub's self-metrics.
 *
 * struct hub owns the decoder, the series registry and the writer, and
 * holds borrowed pointers to the configuration. It does no socket I/O of
 * its own: messages come in through hub_on_message(), time through
 * hub_tick(), and points leave through the writer's transport. Everything
 * is single-threaded; 'now' arguments come from the loop. */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "influx_out.h"

struct hub;                     /* opaque */

struct hub_counters {
    uint64_t messages_received; /* MQTT messages taken in                    */
    uint64_t messages_decoded;  /* decoded without error                     */
    uint64_t messages_rejected; /* undecodable, or no reading accepted       */
    uint64_t readings_accepted; /* readings written to drum/tank/site        */
    uint64_t readings_rejected; /* readings that failed validation (faults)  */
    uint64_t series_overflow;   /* readings not stored: limits.max_series    */
    uint64_t fields_ignored;    /* JSON members skipped by the decoder       */
    uint64_t events;            /* operator events written                   */
    uint64_t encode_errors;     /* lines the encoder refused                 */
    int64_t first_rx_ns;        /* wall time of the first message, 0 = none  */
    int64_t last_rx_ns;         /* wall time of the last message             */
};

/* Create the hub for cfg (borrowed; must outlive the hub or be replaced
 * with hub_reconfigure) writing through transport t. Returns NULL with a
 * message in err. */
struct hub *hub_new(const struct hub_config *cfg, const char *influx_secret,
                    const struct influx_transport *t, char *err, size_t errlen);

/* Free the hub and everything it owns. Accepts NULL. */
void hub_free(struct hub *h);

/* Take in one MQTT message. The payload is only read during the call. */
void hub_on_message(struct hub *h, const char *topic, const void *payload,
                    size_t len, hub_mono_ms now, hub_real_ns wall);

/* Timers: close quiet stats windows, write self-metrics, drive the writer.
 * Returns ms until the next tick is needed. */
hub_mono_ms hub_tick(struct hub *h, hub_mono_ms now, hub_real_ns wall);

/* Apply a new configuration (already validated) without losing queued
 * points. Returns HUB_OK, or an error with a message (the old one stays). */
int hub_reconfigure(struct hub *h, const struct hub_config *cfg,
                    const char *influx_secret, char *err, size_t errlen);

/* Write a hub self-metrics point now. */
void hub_write_self_metrics(struct hub *h, hub_mono_ms now, hub_real_ns wall);

/* Put the write-ahead spool (borrowed, may be NULL) under the writer; its
 * state then shows in the self-metrics, and its drops and errors are
 * logged from hub_tick(). */
struct spool;
void hub_set_spool(struct hub *h, struct spool *sp);

/* The writer, for the loop (completions, flush at shutdown). */
struct influx_out *hub_writer(struct hub *h);

void hub_get_counters(const struct hub *h, struct hub_counters *c);
size_t hub_series_count(const struct hub *h);

/* Alerts. The gateways send through http (the loop's libcurl adapter,
 * borrowed). An acknowledgement by alert id (HTTP or an SMS "OK <id>"):
 * HUB_OK, or HUB_ENOENT for an unknown or resolved id (or alerts off). */
struct http_curl;
struct alerting_counters;
void hub_attach_http(struct hub *h, struct http_curl *http);
int hub_alert_ack(struct hub *h, const char *id, const char *member, hub_real_ns wall);
int hub_sms_in(struct hub *h, const char *phone, const char *text, hub_real_ns wall);
void hub_get_alert_counters(const struct hub *h, struct alerting_counters *c);

/* The compost state machines, or NULL when compost.enabled is false. */
struct compost;
const struct compost *hub_compost(const struct hub *h);

/* Resident set size of this process in KiB (from /proc), 0 if unknown. */
long hub_rss_kb(void);

/* Call fn for every series the hub tracks, in creation order (the status
 * server lists them). s is borrowed for the call only; fn must not call
 * back into the hub. */
struct series;
void hub_foreach_series(const struct hub *h,
                        void (*fn)(const struct series *s, void *ctx),
                        void *ctx);

#endif /* HUB_HUB_H */
