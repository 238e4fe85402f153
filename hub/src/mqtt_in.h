/* SPDX-License-Identifier: MIT */
/* mqtt_in.h - the only file that talks to libmosquitto.
 *
 * libmosquitto in its external-loop mode: the hub's loop polls
 * mqtt_in_fd() and calls mqtt_in_handle(); mqtt_in_tick() runs the
 * library's keepalive (mosquitto_loop_misc) and our own reconnect with
 * exponential backoff, jitter and a cap. Every (re)connect subscribes to
 * every configured filter again. Connect and disconnect lines are logged;
 * while the broker stays away the log is rate-limited.
 *
 * Messages are handed to the callback while libmosquitto still owns them:
 * the callback must copy what it keeps (the hub decodes at once).
 *
 * Acknowledgements wait for the spool: libmosquitto queues the PUBACK of a
 * QoS 1 message before it calls the message callback, and would write it
 * at once. The client is put in libmosquitto's "threaded" mode (we still
 * use one thread), where queued packets are only written by
 * mosquitto_loop_write(); mqtt_in_handle() calls the before_write hook
 * (the hub appends what it took in to the spool) before any write. So a
 * message the broker saw acknowledged is on disk.
 *
 * TLS (tls_ca_file set): the broker's certificate must chain to that CA
 * and, unless tls_insecure, name cfg->host (DNS or IP SAN). A failed
 * verification is an ERROR line naming the broker, rate-limited like the
 * "unavailable" line, and the client keeps retrying with backoff. */
#ifndef HUB_MQTT_IN_H
#define HUB_MQTT_IN_H

#include <stddef.h>

#include "clock.h"

struct mqtt_in;                 /* opaque */

struct mqtt_in_cfg {
    const char *host;
    int port;
    const char *client_id;
    int qos;
    int clean_session;
    const char *username;       /* "" or NULL: anonymous                  */
    const char *password;       /* secret; never logged                   */
    int keepalive_s;
    int reconnect_max_s;
    char *const *subscriptions;
    size_t nsubscriptions;
    /* TLS; all zero / "" = plain TCP. Paths are read at each connect. */
    const char *tls_ca_file;    /* "" or NULL: no TLS                     */
    const char *tls_cert_file;  /* client certificate, "" or NULL: none   */
    const char *tls_key_file;   /* its key (PEM, not encrypted)           */
    int tls_insecure;           /* 1: do not check that the certificate
                                 * names host (mqtt.tls_verify_hostname =
                                 * false); a WARN at mqtt_in_new()        */
    /* The redelivery log (spool.h, spool_rxlog): "" or NULL = memory only,
     * so QoS 1 resends after a restart of the hub are not recognised. */
    const char *rxlog_path;
};

/* stamp: the wall time to stamp the message's readings with when its
 * payload has none. Strictly increasing within the process; for a QoS 1
 * message the hub had already taken in before a restart (the broker sends
 * it again), the stamp it got the first time, so that it becomes the same
 * InfluxDB point again and not a second one. */
typedef void (*mqtt_msg_cb)(void *ctx, const char *topic,
                            const void *payload, size_t len,
                            hub_real_ns stamp);

/* Called before packets (acknowledgements) are written to the broker. */
typedef void (*mqtt_before_write_cb)(void *ctx);

/* Create the client (calls mosquitto_lib_init once). Strings in cfg are
 * copied. Does not connect yet: the first mqtt_in_tick() does. Returns
 * NULL with a message in err (also when a TLS file cannot be read). */
struct mqtt_in *mqtt_in_new(const struct mqtt_in_cfg *cfg, mqtt_msg_cb cb,
                            mqtt_before_write_cb before_write,
                            void *ctx, char *err, size_t errlen);

/* Disconnect and free. Accepts NULL. */
void mqtt_in_free(struct mqtt_in *m);

/* The socket to poll, or -1 while disconnected. */
int mqtt_in_fd(const struct mqtt_in *m);

/* 1 if the socket should also be polled for writing. */
int mqtt_in_want_write(const struct mqtt_in *m);

/* Service the socket after a wait: read every complete message available
 * (unless paused), write pending packets. */
void mqtt_in_handle(struct mqtt_in *m, int readable, int writable,
                    hub_mono_ms now);

/* Keepalive and reconnect timers. Returns ms until the next tick is due. */
hub_mono_ms mqtt_in_tick(struct mqtt_in *m, hub_mono_ms now);

/* Stop (1) or resume (0) reading messages: back-pressure while the
 * writer's queue is full. With QoS 1 the broker keeps the rest. */
void mqtt_in_pause(struct mqtt_in *m, int paused);

/* 1 while connected and subscribed. */
int mqtt_in_connected(const struct mqtt_in *m);

/* QoS 1 redeliveries recognised as already taken in and skipped: after a
 * reconnect the broker first resends what it has no PUBACK for; a message
 * whose id, topic and payload equal the last one taken in under that id,
 * before the first new message after the connect, is such a redelivery.
 * The ids and hashes (and the stamps) are kept in the rx log, so this also
 * works across a restart (kill -9 between the spool write and the PUBACK):
 * such a message was taken in by the dead process, maybe spooled, maybe
 * not; it is taken in again with its first stamp (mqtt_in_restamped()
 * counts these), which makes the same point and never a second one. */
unsigned long long mqtt_in_duplicates(const struct mqtt_in *m);

/* Redeliveries after a restart taken in again with their first stamp. */
unsigned long long mqtt_in_restamped(const struct mqtt_in *m);

/* Send DISCONNECT and stop reconnecting (shutdown). */
void mqtt_in_stop(struct mqtt_in *m);

#endif /* HUB_MQTT_IN_H */
