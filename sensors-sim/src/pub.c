/* SPDX-License-Identifier: MIT */
/* pub.c - libmosquitto adapter for publishing (see pub.h).
 *
 * One thread, no mosquitto_loop_start(): in this mode mosquitto_publish()
 * writes to the socket at once when it can, and pub_service() does the
 * rest (acks, queued packets, keepalive). on_publish may therefore run
 * inside mosquitto_publish(); the callbacks only touch counters and
 * flags. */
#include "pub.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "simclock.h"

#define PUB_QOS0_WINDOW   16384   /* QoS 0 packets queued in the library    */
#define PUB_MISC_MS         250   /* how often keepalive work runs         */
#define PUB_BACKOFF_MIN_MS 1000
#define PUB_BACKOFF_MAX_MS 30000

struct pub {
    struct mosquitto *mosq;
    char host[256];
    int port;
    int qos;
    int keepalive_s;
    int reconnect;
    uint64_t window;

    int connected;          /* CONNACK accepted, not lost since       */
    int closing;            /* pub_disconnect() sent DISCONNECT        */
    int failed;             /* final failure (no reconnect mode)      */
    int ever_connected;
    int down_reported;      /* this attempt's failure was handled     */
    unsigned reconnects;
    int64_t next_try_ms;    /* reconnect mode: next attempt (mono ms) */
    int backoff_ms;
    int64_t last_misc_ms;

    uint64_t sent, acked, lost;
    char err[256];
};

static int lib_users;

static int64_t mono_ms(void)
{
    return sim_mono_ns() / 1000000;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_error(struct pub *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
}

static const char *rc_text(int rc, int saved_errno)
{
    if (rc == MOSQ_ERR_ERRNO)
        return strerror(saved_errno);
    return mosquitto_strerror(rc);
}

/* A connection attempt failed or a connection was lost: either give up
 * (no reconnect mode) or schedule the next attempt. */
static void connection_down(struct pub *p, const char *why)
{
    int64_t now = mono_ms();

    p->connected = 0;
    if (p->closing || p->down_reported)
        return;
    p->down_reported = 1;
    if (!p->reconnect) {
        if (!p->failed)
            set_error(p, "%s:%d: %s", p->host, p->port, why);
        p->failed = 1;
        return;
    }
    set_error(p, "%s:%d: %s", p->host, p->port, why);
    fprintf(stderr, "kompos-sim: broker %s; retrying in %d s\n", p->err,
            p->backoff_ms / 1000);
    p->next_try_ms = now + p->backoff_ms;
    p->backoff_ms *= 2;
    if (p->backoff_ms > PUB_BACKOFF_MAX_MS)
        p->backoff_ms = PUB_BACKOFF_MAX_MS;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct pub *p = obj;

    (void)mosq;
    if (rc != 0) {
        char why[160];
        size_t n;

        snprintf(why, sizeof(why), "refused the connection: %s",
                 mosquitto_connack_string(rc));
        n = strlen(why);
        if (n > 0 && why[n - 1] == '.')
            why[n - 1] = '\0';
        connection_down(p, why);
        return;
    }
    if (p->ever_connected)
        p->reconnects++;
    if (p->ever_connected)
        fprintf(stderr, "kompos-sim: reconnected to %s:%d\n", p->host, p->port);
    p->ever_connected = 1;
    p->connected = 1;
    p->down_reported = 0;
    p->backoff_ms = PUB_BACKOFF_MIN_MS;
    p->err[0] = '\0';
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct pub *p = obj;
    int was_up = p->connected;

    (void)mosq;
    /* QoS 0 packets still in the library's queue die with the socket
     * (it is emptied on reconnect). QoS 1/2 messages are kept and sent
     * again after the next CONNACK. */
    if (p->qos == 0)
        p->lost = p->sent - p->acked;
    if (p->closing)
        return;
    connection_down(p, was_up ? (rc == MOSQ_ERR_KEEPALIVE ? "stopped answering (keepalive)"
                                                          : "closed the connection")
                              : "could not be reached");
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct pub *p = obj;

    (void)mosq;
    (void)mid;
    p->acked++;
}

struct pub *pub_new(const struct pub_cfg *cfg, char *err, size_t errlen)
{
    struct pub *p;
    int rc;

    p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (lib_users == 0)
        mosquitto_lib_init();
    lib_users++;
    snprintf(p->host, sizeof(p->host), "%s", cfg->host);
    p->port = cfg->port;
    p->qos = cfg->qos;
    p->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 60;
    p->reconnect = cfg->reconnect;
    p->backoff_ms = PUB_BACKOFF_MIN_MS;
    p->window = cfg->qos == 0 ? PUB_QOS0_WINDOW : (uint64_t)cfg->inflight;
    p->mosq = mosquitto_new(cfg->client_id, true, p);
    if (!p->mosq) {
        snprintf(err, errlen, "mosquitto_new: %s", strerror(errno));
        pub_free(p);
        return NULL;
    }
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    mosquitto_publish_callback_set(p->mosq, on_publish);
    /* Up to `inflight` QoS 1/2 messages on the wire; pub_publish() never
     * lets more be outstanding, so the library's queue stays this long. */
    rc = mosquitto_int_option(p->mosq, MOSQ_OPT_SEND_MAXIMUM,
                              cfg->inflight > 0 ? cfg->inflight : 1000);
    if (rc == MOSQ_ERR_SUCCESS && cfg->username)
        rc = mosquitto_username_pw_set(p->mosq, cfg->username, cfg->password);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "mqtt options: %s", mosquitto_strerror(rc));
        pub_free(p);
        return NULL;
    }
    return p;
}

void pub_free(struct pub *p)
{
    if (!p)
        return;
    if (p->mosq)
        mosquitto_destroy(p->mosq);
    free(p);
    lib_users--;
    if (lib_users == 0)
        mosquitto_lib_cleanup();
}

static int try_connect(struct pub *p, int first)
{
    int rc, saved;

    p->down_reported = 0;
    errno = 0;
    rc = first ? mosquitto_connect_async(p->mosq, p->host, p->port, p->keepalive_s)
               : mosquitto_reconnect_async(p->mosq);
    saved = errno;
    if (rc == MOSQ_ERR_SUCCESS)
        return PUB_OK;
    if (rc == MOSQ_ERR_INVAL) {
        set_error(p, "%s:%d: invalid host or port", p->host, p->port);
        p->failed = 1;
        return PUB_EFATAL;
    }
    {
        char why[160];

        snprintf(why, sizeof(why), "could not be reached: %s", rc_text(rc, saved));
        connection_down(p, why);
    }
    return p->failed ? PUB_EFATAL : PUB_EAGAIN;
}

int pub_start(struct pub *p, char *err, size_t errlen)
{
    int rc;

    p->last_misc_ms = mono_ms();
    rc = try_connect(p, 1);
    if (rc == PUB_EFATAL)
        snprintf(err, errlen, "%s", p->err);
    return rc;
}

int pub_publish(struct pub *p, const char *topic, const void *payload, size_t len)
{
    int rc, saved;

    if (!p->connected || p->closing)
        return PUB_EAGAIN;
    if (p->sent - p->acked - p->lost >= p->window)
        return PUB_EAGAIN;
    if (len > 268435455u) {
        set_error(p, "payload of %zu bytes is too large for MQTT", len);
        return PUB_EFATAL;
    }
    errno = 0;
    rc = mosquitto_publish(p->mosq, NULL, topic, (int)len, payload, p->qos, false);
    saved = errno;
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        p->sent++;
        return PUB_OK;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_ERRNO:
        /* The socket failed under us; on_disconnect will follow from
         * pub_service(). A QoS 1/2 message is already in the library's
         * store and goes out again after a reconnect; a QoS 0 packet was
         * queued unless there was no socket at all. */
        if (p->qos > 0 || rc != MOSQ_ERR_NO_CONN) {
            p->sent++;
            return PUB_OK;
        }
        return PUB_EAGAIN;
    default:
        set_error(p, "cannot publish to \"%s\": %s", topic, rc_text(rc, saved));
        return PUB_EFATAL;
    }
}

int pub_service(struct pub *p, int timeout_ms)
{
    struct pollfd pfd;
    int fd, n, rc;
    int64_t now;

    if (p->failed)
        return PUB_EFATAL;
    if (timeout_ms < 0)
        timeout_ms = 0;
    fd = mosquitto_socket(p->mosq);
    if (fd < 0) {
        now = mono_ms();
        if (p->reconnect && !p->closing && now >= p->next_try_ms) {
            if (try_connect(p, 0) == PUB_EFATAL)
                return PUB_EFATAL;
            return PUB_OK;
        }
        if (p->reconnect && p->next_try_ms - now < timeout_ms)
            timeout_ms = (int)(p->next_try_ms - now);
        if (timeout_ms > 0)
            (void)poll(NULL, 0, timeout_ms);
        return p->failed ? PUB_EFATAL : PUB_OK;
    }
    pfd.fd = fd;
    pfd.events = POLLIN;
    if (mosquitto_want_write(p->mosq))
        pfd.events |= POLLOUT;
    pfd.revents = 0;
    n = poll(&pfd, 1, timeout_ms);
    if (n < 0 && errno != EINTR) {
        set_error(p, "poll: %s", strerror(errno));
        p->failed = 1;
        return PUB_EFATAL;
    }
    if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
        rc = mosquitto_loop_read(p->mosq, 1);
        (void)rc;   /* errors arrive through on_disconnect */
    }
    if (mosquitto_socket(p->mosq) >= 0 && mosquitto_want_write(p->mosq))
        (void)mosquitto_loop_write(p->mosq, 1);
    now = mono_ms();
    if (now - p->last_misc_ms >= PUB_MISC_MS) {
        p->last_misc_ms = now;
        if (mosquitto_socket(p->mosq) >= 0)
            (void)mosquitto_loop_misc(p->mosq);
    }
    return p->failed ? PUB_EFATAL : PUB_OK;
}

void pub_disconnect(struct pub *p, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;

    if (mosquitto_socket(p->mosq) < 0) {
        p->closing = 1;
        return;
    }
    p->closing = 1;
    if (mosquitto_disconnect(p->mosq) != MOSQ_ERR_SUCCESS)
        return;
    /* The DISCONNECT packet is written from the queue; the library closes
     * the socket once it is out. */
    while (mosquitto_socket(p->mosq) >= 0) {
        int64_t left = end - mono_ms();

        if (left <= 0)
            break;
        (void)pub_service(p, left > 50 ? 50 : (int)left);
    }
}

int pub_connected(const struct pub *p)
{
    return p->connected;
}

int pub_failed(const struct pub *p)
{
    return p->failed;
}

const char *pub_error(const struct pub *p)
{
    return p->err;
}

uint64_t pub_sent(const struct pub *p)
{
    return p->sent;
}

uint64_t pub_acked(const struct pub *p)
{
    return p->acked;
}

uint64_t pub_lost(const struct pub *p)
{
    return p->lost;
}

uint64_t pub_outstanding(const struct pub *p)
{
    return p->sent - p->acked - p->lost;
}

uint64_t pub_window(const struct pub *p)
{
    return p->window;
}

unsigned pub_reconnects(const struct pub *p)
{
    return p->reconnects;
}
