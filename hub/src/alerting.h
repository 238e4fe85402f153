/* SPDX-License-Identifier: MIT */
/* alerting.h - glue between the data path and the alert modules: the rule
 * engine (alert.c), routing to people (route.c), the message texts
 * (msgtext.c), the durable outbox (outbox.c) and the gateways (notify.c,
 * sent through the loop's libcurl multi handle by notify_send.c).
 *
 * What it does per loop turn (alerting_tick):
 *   1. notes from the engine (an alert fired, resolved, went nodata) ->
 *      one `alert` point each, and the router;
 *   2. deliveries the router says are due -> a text per member (grouped,
 *      in the member's language) -> outbox_add (on disk before any send);
 *   3. outbox entries that are due -> a gateway request; its answer goes
 *      back to the outbox and one `notification` point is written.
 * The engine and router state is saved to alerts.state in
 * alerts.state_dir after every change that matters (atomically), so a
 * restart neither re-sends nor forgets; the outbox is its own folder.
 *
 * Time: rules run on reading time (ts_ns); nodata, routing, quiet hours
 * and retries on the wall clock. Single-threaded. */
#ifndef HUB_ALERTING_H
#define HUB_ALERTING_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "influx_out.h"

struct alerting;                /* opaque */
struct drum_metrics;
struct tank_metrics;
struct http_curl;

struct alerting_counters {
    uint64_t fired, resolved, nodata;       /* notes from the engine        */
    uint64_t deliveries;                    /* texts put in the outbox      */
    uint64_t sent, retried, failed, dead;   /* from the outbox              */
    uint64_t outbox_pending, outbox_dropped;
    uint64_t acks;                          /* accepted acknowledgements    */
    uint64_t state_save_errors;
};

/* Create for cfg (borrowed). Opens the outbox in alerts.state_dir/outbox,
 * loads alerts.state, reads the gateway secrets (files or environment).
 * Nothing is sent until alerting_attach_http(): entries wait in the
 * outbox. Returns NULL with a message in err. */
struct alerting *alerting_new(const struct hub_config *cfg, struct influx_out *out,
                              char *err, size_t errlen);

/* Save the state and free. Accepts NULL. */
void alerting_free(struct alerting *a);

/* Send through h (the loop's libcurl adapter, borrowed; gammu files need
 * no HTTP but are written by the same sender). HUB_OK or HUB_ENOMEM. */
int alerting_attach_http(struct alerting *a, struct http_curl *h);

/* Values for the rules. */
void alerting_feed_num(struct alerting *a, const char *site, const char *kind,
                       const char *id, const char *field, double v, int64_t ts_ns,
                       hub_mono_ms now);

/* The compost listener (see compost_set_listener); ctx = the alerting. */
void alerting_on_drum(void *ctx, const char *site, const char *id,
                      const struct drum_metrics *m, int64_t ts_ns);
void alerting_on_tank(void *ctx, const char *site, const char *id,
                      const struct tank_metrics *m, int64_t ts_ns);

/* A sensor fault of series s at reading time ts_ns (weight 1 for a
 * rejected reading, 3 for a stuck or displaced probe), and an accepted
 * reading of a series that had faults: both feed the rule field
 * sensor_faults_1h (faults of that series in the hour before ts_ns). */
struct series;
void alerting_series_fault(struct alerting *a, struct series *s, int64_t ts_ns, int weight,
                           hub_mono_ms now);
void alerting_series_ok(struct alerting *a, struct series *s, int64_t ts_ns, hub_mono_ms now);

/* Timers and the pipeline above. Returns ms until it needs a tick again. */
hub_mono_ms alerting_tick(struct alerting *a, hub_mono_ms now, hub_real_ns wall);

/* Acknowledge alert 'id' (HTTP POST /api/v1/alerts/<id>/ack, or an SMS
 * "OK <id>"); member may be "". HUB_OK or HUB_ENOENT. */
int alerting_ack(struct alerting *a, const char *id, const char *member, hub_real_ns wall);

/* An SMS that came in (gammu RunOnReceive): "OK <id>" from a member's
 * phone acknowledges. HUB_OK, HUB_EINVAL (not an ack) or HUB_ENOENT. */
int alerting_sms_in(struct alerting *a, const char *phone, const char *text, hub_real_ns wall);

void alerting_get_counters(const struct alerting *a, struct alerting_counters *out);

#endif /* HUB_ALERTING_H */
