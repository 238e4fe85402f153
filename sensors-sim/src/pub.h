/* SPDX-License-Identifier: MIT */
/* pub.h - the only file that talks to libmosquitto: a publishing MQTT
 * client driven by the caller's loop in one thread (libmosquitto's
 * external-loop mode: mosquitto_socket, mosquitto_loop_read/write/misc).
 *
 * Counting. pub_sent() counts messages the library took; pub_acked()
 * counts on_publish callbacks: PUBACK for QoS 1, PUBCOMP for QoS 2, and
 * for QoS 0 the moment the packet was written to the socket.
 * pub_outstanding() is sent - acked - lost; callers keep it under a window
 * (pub_window()) so the library's queue stays bounded. For QoS 0 the
 * packets still queued when a connection is lost are counted in
 * pub_lost(); QoS 1/2 messages stay with the library, which sends them
 * again after a reconnect.
 *
 * Connection. pub_start() begins connecting. With cfg.reconnect set, a
 * lost or refused connection is retried with exponential backoff (1 s to
 * 30 s) by pub_service(); without it the first failure is final and
 * pub_failed() says why. Losses and reconnects are reported on stderr. */
#ifndef SIM_PUB_H
#define SIM_PUB_H

#include <stddef.h>
#include <stdint.h>

struct pub;     /* opaque */

struct pub_cfg {
    const char *host;
    int port;
    const char *client_id;
    const char *username;       /* NULL: anonymous         */
    const char *password;       /* secret; never printed    */
    int qos;
    int inflight;               /* QoS 1/2 window (1..65535) */
    int keepalive_s;
    int reconnect;              /* 1: retry with backoff     */
};

enum {
    PUB_OK = 0,
    PUB_EAGAIN = -1,    /* not connected or window full: try later */
    PUB_EFATAL = -2     /* the message can never be sent           */
};

/* Create the client (mosquitto_lib_init on first use). Strings in cfg
 * are copied by libmosquitto or used at once. Returns NULL with a
 * message in err. */
struct pub *pub_new(const struct pub_cfg *cfg, char *err, size_t errlen);

/* Free the client (no DISCONNECT: call pub_disconnect() first for a
 * clean end). Accepts NULL. */
void pub_free(struct pub *p);

/* Begin connecting (TCP connect is started; CONNACK arrives through
 * pub_service()). Returns PUB_OK, PUB_EAGAIN (will retry: reconnect mode)
 * or PUB_EFATAL with a message in err. */
int pub_start(struct pub *p, char *err, size_t errlen);

/* Publish one message; payload is copied by the library. Returns PUB_OK,
 * PUB_EAGAIN (not connected, or pub_outstanding() >= pub_window()), or
 * PUB_EFATAL (the library refused the message; see pub_error()). */
int pub_publish(struct pub *p, const char *topic, const void *payload, size_t len);

/* Wait up to timeout_ms for the socket (0: just look), then read acks,
 * write queued packets, run keepalive and reconnect timers. Returns
 * PUB_OK, or PUB_EFATAL once the connection failed for good (no
 * reconnect mode); EINTR returns PUB_OK early. */
int pub_service(struct pub *p, int timeout_ms);

/* Send DISCONNECT and wait up to timeout_ms for it to go out. */
void pub_disconnect(struct pub *p, int timeout_ms);

int pub_connected(const struct pub *p);             /* CONNACK accepted    */
int pub_failed(const struct pub *p);                /* final failure       */
const char *pub_error(const struct pub *p);         /* last error, or ""   */
uint64_t pub_sent(const struct pub *p);
uint64_t pub_acked(const struct pub *p);
uint64_t pub_lost(const struct pub *p);
uint64_t pub_outstanding(const struct pub *p);
uint64_t pub_window(const struct pub *p);
unsigned pub_reconnects(const struct pub *p);

#endif /* SIM_PUB_H */
