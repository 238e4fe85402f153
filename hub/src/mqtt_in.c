/* SPDX-License-Identifier: MIT */
#include "mqtt_in.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CONNECT_TIMEOUT_MS 10000
#define READS_PER_WAKEUP   20000   /* bound the work of one wakeup */

enum mstate { M_IDLE, M_CONNECTING, M_CONNECTED, M_STOPPED };

struct mqtt_in {
    struct mosquitto *mosq;
    char *host;
    int port;
    int qos;
    int keepalive_s;
    hub_mono_ms backoff_max_ms;
    char **subs;
    size_t nsubs;
    mqtt_msg_cb cb;
    mqtt_before_write_cb before_write;
    void *ctx;
    enum mstate state;
    hub_mono_ms next_attempt;   /* when to try to connect again           */
    hub_mono_ms backoff_ms;     /* the next delay before jitter           */
    hub_mono_ms attempt_started;
    hub_mono_ms next_misc;
    int paused;
    unsigned long attempts;     /* failed attempts since the last connect */
    unsigned long long msgs;    /* messages delivered to cb               */
    uint64_t rng;
    struct ratelog down_log;
    hub_mono_ms now;            /* the loop's now, for callbacks          */
};

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

static uint64_t rnd(struct mqtt_in *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static void schedule_retry(struct mqtt_in *m, hub_mono_ms now, const char *why)
{
    hub_mono_ms d = m->backoff_ms, jitter;
    uint64_t held = 0;

    jitter = d / 4 > 0 ? (hub_mono_ms)(rnd(m) % (uint64_t)(d / 4 + 1)) : 0;
    m->next_attempt = now + d - d / 8 + jitter;
    m->attempts++;
    if (m->attempts == 1 || ratelog_due(&m->down_log, now, &held)) {
        if (m->attempts == 1)
            m->down_log.next_ms = now + m->down_log.interval_ms;
        LOG_WARN("mqtt", "broker %s:%d unavailable (%s); attempt %lu, "
                 "next in %.1f s%s", m->host, m->port, why, m->attempts,
                 (double)(m->next_attempt - now) / 1000.0,
                 held ? " (repeats were not logged)" : "");
    }
    m->backoff_ms *= 2;
    if (m->backoff_ms > m->backoff_max_ms)
        m->backoff_ms = m->backoff_max_ms;
    m->state = M_IDLE;
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc)
{
    struct mqtt_in *m = ud;
    size_t i;
    int src;

    if (rc != 0) {
        LOG_ERROR("mqtt", "broker %s:%d refused the connection: %s",
                  m->host, m->port, mosquitto_connack_string(rc));
        return;     /* the broker closes; on_disconnect schedules a retry */
    }
    for (i = 0; i < m->nsubs; i++) {
        src = mosquitto_subscribe(mosq, NULL, m->subs[i], m->qos);
        if (src != MOSQ_ERR_SUCCESS)
            LOG_ERROR("mqtt", "subscribe '%s' failed: %s", m->subs[i],
                      mosquitto_strerror(src));
    }
    LOG_INFO("mqtt", "connected to %s:%d%s, subscribed to %zu filter(s) at QoS %d",
             m->host, m->port,
             m->attempts ? " (recovered)" : "", m->nsubs, m->qos);
    m->state = M_CONNECTED;
    m->attempts = 0;
    m->backoff_ms = 1000;
    m->down_log.held = 0;
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc)
{
    struct mqtt_in *m = ud;

    (void)mosq;
    if (m->state == M_STOPPED)
        return;
    if (m->state == M_CONNECTED)
        LOG_WARN("mqtt", "connection to %s:%d lost (%s)", m->host, m->port,
                 rc == 0 ? "disconnected" : mosquitto_strerror(rc));
    schedule_retry(m, m->now, rc == 0 ? "disconnected" : mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *mosq, void *ud,
                       const struct mosquitto_message *msg)
{
    struct mqtt_in *m = ud;

    (void)mosq;
    m->msgs++;
    m->cb(m->ctx, msg->topic, msg->payload, (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0));
}

struct mqtt_in *mqtt_in_new(const struct mqtt_in_cfg *cfg, mqtt_msg_cb cb,
                            mqtt_before_write_cb before_write,
                            void *ctx, char *err, size_t errlen)
{
    static int lib_done;
    struct mqtt_in *m;
    size_t i;
    int rc;

    if (!lib_done) {
        mosquitto_lib_init();
        lib_done = 1;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        goto nomem;
    m->host = dupstr(cfg->host);
    m->port = cfg->port;
    m->qos = cfg->qos;
    m->keepalive_s = cfg->keepalive_s;
    m->backoff_max_ms = (hub_mono_ms)cfg->reconnect_max_s * 1000;
    m->backoff_ms = 1000;
    m->cb = cb;
    m->before_write = before_write;
    m->ctx = ctx;
    m->rng = (uint64_t)clock_real_ns() | 1;
    m->down_log.interval_ms = 60000;
    m->subs = calloc(cfg->nsubscriptions ? cfg->nsubscriptions : 1, sizeof(char *));
    if (!m->host || !m->subs)
        goto nomem;
    for (i = 0; i < cfg->nsubscriptions; i++) {
        m->subs[i] = dupstr(cfg->subscriptions[i]);
        if (!m->subs[i])
            goto nomem;
        m->nsubs++;
    }
    m->mosq = mosquitto_new(cfg->client_id && cfg->client_id[0] ? cfg->client_id : NULL,
                            cfg->clean_session ? true : false, m);
    if (!m->mosq) {
        snprintf(err, errlen, "mqtt: cannot create client: %s", strerror(errno));
        mqtt_in_free(m);
        return NULL;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_message_callback_set(m->mosq, on_message);
    /* queued packets (PUBACKs) are written only by mosquitto_loop_write() */
    mosquitto_threaded_set(m->mosq, true);
    /* QoS 1 from the broker: allow many messages in flight towards us. */
    mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
    if (cfg->username && cfg->username[0]) {
        rc = mosquitto_username_pw_set(m->mosq, cfg->username,
                                       cfg->password && cfg->password[0] ? cfg->password : NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "mqtt: username/password: %s", mosquitto_strerror(rc));
            mqtt_in_free(m);
            return NULL;
        }
    }
    return m;
nomem:
    snprintf(err, errlen, "mqtt: out of memory");
    mqtt_in_free(m);
    return NULL;
}

void mqtt_in_free(struct mqtt_in *m)
{
    size_t i;

    if (!m)
        return;
    if (m->mosq) {
        m->state = M_STOPPED;
        mosquitto_destroy(m->mosq);
    }
    for (i = 0; i < m->nsubs; i++)
        free(m->subs[i]);
    free(m->subs);
    free(m->host);
    free(m);
}

int mqtt_in_fd(const struct mqtt_in *m)
{
    if (m->state != M_CONNECTING && m->state != M_CONNECTED)
        return -1;
    return mosquitto_socket(m->mosq);
}

int mqtt_in_want_write(const struct mqtt_in *m)
{
    return mqtt_in_fd(m) >= 0 && mosquitto_want_write(m->mosq);
}

static void handle_rc(struct mqtt_in *m, int rc, hub_mono_ms now)
{
    if (rc == MOSQ_ERR_SUCCESS || m->state == M_IDLE || m->state == M_STOPPED)
        return;
    /* libmosquitto calls on_disconnect for lost connections; make sure we
     * leave the connected state even when it did not. */
    if (m->state == M_CONNECTED)
        LOG_WARN("mqtt", "connection to %s:%d lost (%s)", m->host, m->port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    mosquitto_disconnect(m->mosq);
    if (m->state != M_IDLE)
        schedule_retry(m, now, rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                                    : mosquitto_strerror(rc));
}

void mqtt_in_handle(struct mqtt_in *m, int readable, int writable,
                    hub_mono_ms now)
{
    unsigned long long before;
    int rc, i;

    m->now = now;
    if (m->state != M_CONNECTING && m->state != M_CONNECTED)
        return;
    if (readable && !m->paused) {
        /* loop_read takes one packet per call; keep reading while messages
         * keep coming, so one wakeup drains what the socket holds. */
        for (i = 0; i < READS_PER_WAKEUP; i++) {
            before = m->msgs;
            rc = mosquitto_loop_read(m->mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                handle_rc(m, rc, now);
                return;
            }
            if (m->msgs == before || m->paused)
                break;
        }
    }
    if (m->state != M_CONNECTING && m->state != M_CONNECTED)
        return;
    if (writable || mosquitto_want_write(m->mosq)) {
        if (m->before_write)
            m->before_write(m->ctx);
        rc = mosquitto_loop_write(m->mosq, 1);
        handle_rc(m, rc, now);
    }
}

hub_mono_ms mqtt_in_tick(struct mqtt_in *m, hub_mono_ms now)
{
    int rc;

    m->now = now;
    switch (m->state) {
    case M_STOPPED:
        return 1000;
    case M_IDLE:
        if (now < m->next_attempt)
            return m->next_attempt - now;
        m->attempt_started = now;
        m->state = M_CONNECTING;
        rc = mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive_s);
        if (rc != MOSQ_ERR_SUCCESS) {
            schedule_retry(m, now, rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                                        : mosquitto_strerror(rc));
            return m->next_attempt - now;
        }
        m->next_misc = now + 1000;
        return 100;
    case M_CONNECTING:
        if (now - m->attempt_started > CONNECT_TIMEOUT_MS) {
            mosquitto_disconnect(m->mosq);
            schedule_retry(m, now, "no answer to CONNECT");
            return m->next_attempt - now;
        }
        /* fall through */
    case M_CONNECTED:
        if (now >= m->next_misc) {
            rc = mosquitto_loop_misc(m->mosq);
            handle_rc(m, rc, now);
            m->next_misc = now + 1000;
        }
        if ((m->state == M_CONNECTING || m->state == M_CONNECTED) &&
            mosquitto_want_write(m->mosq)) {
            if (m->before_write)
                m->before_write(m->ctx);
            rc = mosquitto_loop_write(m->mosq, 1);
            handle_rc(m, rc, now);
        }
        return 1000;
    }
    return 1000;
}

void mqtt_in_pause(struct mqtt_in *m, int paused)
{
    m->paused = paused;
}

int mqtt_in_connected(const struct mqtt_in *m)
{
    return m->state == M_CONNECTED;
}

void mqtt_in_stop(struct mqtt_in *m)
{
    if (m->state == M_CONNECTED || m->state == M_CONNECTING) {
        if (m->before_write)
            m->before_write(m->ctx);
        mosquitto_loop_write(m->mosq, 1);       /* the last PUBACKs */
        m->state = M_STOPPED;
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_write(m->mosq, 1);
    }
    m->state = M_STOPPED;
}
