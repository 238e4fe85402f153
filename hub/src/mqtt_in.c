/* SPDX-License-Identifier: MIT */
#include "mqtt_in.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spool.h"

#define CONNECT_TIMEOUT_MS 10000
#define READS_PER_WAKEUP   20000   /* bound the work of one wakeup */
/* The broker resends only what was in flight when the hub died: ids at
 * most this far before the last one taken in (a wakeup reads at most
 * READS_PER_WAKEUP messages before the PUBACKs go out). */
#define RESEND_WINDOW      (READS_PER_WAKEUP + 1000)
/* With TLS, OpenSSL may hold decrypted bytes the socket no longer shows
 * as readable: keep reading a few times after a read without a message
 * (each costs one recv() that says EAGAIN), and once per tick. */
#define TLS_IDLE_READS     4

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
    /* QoS 1 redeliveries: after a reconnect the broker first resends what
     * it has no PUBACK for (after its own restart that can be thousands of
     * messages). Those the hub already took in are recognised by their
     * message id, topic and payload (the hash of the last message taken in
     * under each id) and skipped; checking stops at the first message that
     * is new, since redeliveries come first. */
    struct spool_rxlog *rx;         /* hashes and stamps, by message id    */
    int checking;                   /* still in the redelivery phase       */
    unsigned long long duplicates;  /* redeliveries skipped               */
    unsigned long long restamped;   /* ... taken in again after a restart */
    unsigned long long restamped_logged;
    hub_real_ns last_stamp;
    uint64_t rng;
    struct ratelog down_log;
    hub_mono_ms now;            /* the loop's now, for callbacks          */
    int tls;                    /* 1: TLS to the broker                   */
    int tls_insecure;           /* 1: host name not checked               */
    char *tls_ca_file;          /* for messages                           */
    char tls_err[256];          /* what libmosquitto said of a TLS error
                                 * during this attempt, or ""             */
    int tls_host_bad;           /* libmosquitto said: host name mismatch  */
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

/* The TLS error text libmosquitto logged ("OpenSSL Error[0]: error:0A000086:
 * SSL routines::certificate verify failed"), without its prefixes. */
static const char *tls_reason(const struct mqtt_in *m)
{
    const char *r = m->tls_err, *p;

    p = strstr(r, "]: ");
    if (p && strncmp(r, "OpenSSL Error", 13) == 0)
        r = p + 3;
    p = strstr(r, "::");                /* "error:0A000086:SSL routines::" */
    if (p && strncmp(r, "error:", 6) == 0)
        r = p + 2;
    return r;
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
        if (m->tls_host_bad)
            LOG_ERROR("mqtt", "TLS verification of broker %s:%d failed: its certificate does "
                      "not name %s (mqtt.host must be one of its subjectAltName entries); "
                      "attempt %lu, next in %.1f s%s", m->host, m->port, m->host, m->attempts,
                      (double)(m->next_attempt - now) / 1000.0,
                      held ? " (repeats were not logged)" : "");
        else if (m->tls_err[0] && strstr(m->tls_err, "verify failed"))
            LOG_ERROR("mqtt", "TLS verification of broker %s:%d failed (%s): its certificate "
                      "is not signed by a CA in mqtt.tls_ca_file %s, or has expired; attempt "
                      "%lu, next in %.1f s%s", m->host, m->port, tls_reason(m),
                      m->tls_ca_file ? m->tls_ca_file : "", m->attempts,
                      (double)(m->next_attempt - now) / 1000.0,
                      held ? " (repeats were not logged)" : "");
        else if (m->tls_err[0])
            LOG_ERROR("mqtt", "TLS handshake with broker %s:%d failed (%s)%s; attempt %lu, "
                      "next in %.1f s%s", m->host, m->port, tls_reason(m),
                      strstr(m->tls_err, "certificate required")
                          ? ": the broker wants a client certificate (mqtt.tls_cert_file, "
                            "mqtt.tls_key_file)" : "",
                      m->attempts,
                      (double)(m->next_attempt - now) / 1000.0,
                      held ? " (repeats were not logged)" : "");
        else
            LOG_WARN("mqtt", "broker %s:%d unavailable (%s); attempt %lu, "
                     "next in %.1f s%s", m->host, m->port, why, m->attempts,
                     (double)(m->next_attempt - now) / 1000.0,
                     held ? " (repeats were not logged)" : "");
    }
    m->tls_err[0] = '\0';
    m->tls_host_bad = 0;
    m->backoff_ms *= 2;
    if (m->backoff_ms > m->backoff_max_ms)
        m->backoff_ms = m->backoff_max_ms;
    m->state = M_IDLE;
}

/* libmosquitto's log, listened to only while a TLS connection is being
 * set up (formatting every line costs a malloc per packet): keep the
 * first TLS error so that schedule_retry() can say what went wrong. The
 * lines hold no secrets; only OpenSSL's are kept. */
static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str)
{
    struct mqtt_in *m = ud;

    (void)mosq;
    if (!(level & MOSQ_LOG_ERR) || !str)
        return;
    if (strstr(str, "host name verification failed"))
        m->tls_host_bad = 1;
    else if (!m->tls_err[0] && strncmp(str, "OpenSSL Error", 13) == 0)
        snprintf(m->tls_err, sizeof(m->tls_err), "%s", str);
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
    LOG_INFO("mqtt", "connected to %s:%d%s%s, subscribed to %zu filter(s) at QoS %d",
             m->host, m->port, m->tls ? " over TLS" : "",
             m->attempts ? " (recovered)" : "", m->nsubs, m->qos);
    if (m->tls)
        mosquitto_log_callback_set(mosq, NULL);
    m->tls_err[0] = '\0';
    m->tls_host_bad = 0;
    m->state = M_CONNECTED;
    m->checking = 1;
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

    size_t len = (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0);
    const unsigned char *p;
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a over topic, NUL, payload */
    hub_real_ns stamp;
    uint16_t id;
    size_t i;

    (void)mosq;
    /* strictly increasing, so that equal stamps never need the hub's
     * "one ns after the previous reading" rule (a resend must be able to
     * get exactly its first stamp back) */
    stamp = clock_real_ns();
    if (stamp <= m->last_stamp)
        stamp = m->last_stamp + 1;
    if (msg->qos > 0 && m->rx) {
        for (p = (const unsigned char *)msg->topic; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0) * 1099511628211ULL;
        p = msg->payload;
        for (i = 0; i < len; i++)
            h = (h ^ p[i]) * 1099511628211ULL;
        h = (h ^ (h >> 32)) | 1;        /* 32 bits; 0 marks an unused id */
        id = (uint16_t)msg->mid;
        if (m->checking) {
            hub_real_ns first = 0;

            switch (spool_rxlog_check(m->rx, id, (uint32_t)h, &first)) {
            case SPOOL_RX_SEEN:
                m->duplicates++;
                return;         /* acknowledged again, not taken in twice */
            case SPOOL_RX_RESTAMP:
                m->restamped++; /* the dead process took it in */
                m->msgs++;
                m->cb(m->ctx, msg->topic, msg->payload, len, first);
                return;
            case SPOOL_RX_NEW:
                break;
            }
            m->checking = 0;    /* the first new message ends the phase */
            if (m->restamped > m->restamped_logged)
                LOG_INFO("mqtt", "%llu message(s) the broker sent again had been taken in "
                         "before the restart: given their first timestamps",
                         m->restamped - m->restamped_logged);
            m->restamped_logged = m->restamped;
            spool_rxlog_forget_earlier(m->rx);
        }
        /* in the log before the message is decoded: before any PUBACK */
        spool_rxlog_put(m->rx, id, (uint32_t)h, stamp);
    }
    m->last_stamp = stamp;
    m->msgs++;
    m->cb(m->ctx, msg->topic, msg->payload, len, stamp);
}

unsigned long long mqtt_in_duplicates(const struct mqtt_in *m)
{
    return m->duplicates;
}

unsigned long long mqtt_in_restamped(const struct mqtt_in *m)
{
    return m->restamped;
}

/* OpenSSL asks for the pass phrase of an encrypted key on the terminal
 * unless a callback answers: a daemon has no terminal, so say "none" and
 * let loading the key fail with an error instead. */
static int no_key_password(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return 0;
}

/* "PATH: reason" for the first of the files that cannot be opened. */
static void which_file(char *out, size_t outlen, const char *const *paths, size_t n)
{
    FILE *f;

    snprintf(out, outlen, "a file cannot be used");
    for (size_t i = 0; i < n; i++) {
        if (!paths[i])
            continue;
        f = fopen(paths[i], "rb");
        if (!f) {
            snprintf(out, outlen, "%s: %s", paths[i], strerror(errno));
            return;
        }
        fclose(f);
    }
}

static int setup_tls(struct mqtt_in *m, const struct mqtt_in_cfg *cfg, char *err,
                     size_t errlen)
{
    const char *cert = cfg->tls_cert_file && cfg->tls_cert_file[0] ? cfg->tls_cert_file : NULL;
    const char *key = cfg->tls_key_file && cfg->tls_key_file[0] ? cfg->tls_key_file : NULL;
    const char *files[3] = { cfg->tls_ca_file, cert, key };
    char why[300];
    int rc;

    if (!cert != !key) {
        snprintf(err, errlen, "mqtt: a TLS client certificate needs both tls_cert_file "
                 "and tls_key_file");
        return -1;
    }
    rc = mosquitto_tls_set(m->mosq, cfg->tls_ca_file, NULL, cert, key, no_key_password);
    if (rc != MOSQ_ERR_SUCCESS) {
        which_file(why, sizeof(why), files, 3);
        snprintf(err, errlen, "mqtt: TLS: %s (%s)", why, mosquitto_strerror(rc));
        return -1;
    }
    /* 1 = SSL_VERIFY_PEER; NULL: TLS 1.2 or later, OpenSSL's ciphers */
    rc = mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_tls_insecure_set(m->mosq, cfg->tls_insecure ? true : false);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "mqtt: TLS options: %s", mosquitto_strerror(rc));
        return -1;
    }
    m->tls = 1;
    m->tls_insecure = cfg->tls_insecure ? 1 : 0;
    m->tls_ca_file = strdup(cfg->tls_ca_file);
    if (!m->tls_ca_file) {
        snprintf(err, errlen, "mqtt: out of memory");
        return -1;
    }
    LOG_INFO("mqtt", "TLS to %s:%d: broker certificate checked against %s%s, %s%s",
             m->host, m->port, cfg->tls_ca_file,
             m->tls_insecure ? " (host name NOT checked)" : " and host name",
             cert ? "client certificate " : "no client certificate", cert ? cert : "");
    if (m->tls_insecure)
        LOG_WARN("mqtt", "TLS HOST NAME VERIFICATION IS OFF (mqtt.tls_verify_hostname = "
                 "false): any certificate signed by %s is accepted for %s, so whoever holds "
                 "one can stand in for the broker, read the hub's password and feed it "
                 "readings; use this for tests only", cfg->tls_ca_file, m->host);
    return 0;
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
    {
        /* the session the ids belong to: another broker or client id
         * starts an empty log */
        char why[600];
        uint64_t key = 1469598103934665603ULL;
        const char *parts[2] = { m->host, cfg->client_id ? cfg->client_id : "" };

        for (i = 0; i < 2; i++) {
            for (const char *c = parts[i]; *c; c++)
                key = (key ^ (unsigned char)*c) * 1099511628211ULL;
            key = (key ^ 0) * 1099511628211ULL;
        }
        key ^= (uint64_t)(unsigned)cfg->port;
        m->rx = spool_rxlog_open(cfg->rxlog_path, key, RESEND_WINDOW, why, sizeof(why));
        if (!m->rx)
            goto nomem;
        if (why[0])
            LOG_WARN("mqtt", "redelivery log: %s; kept in memory only: after a restart, "
                     "a QoS 1 message the broker resends becomes a second point", why);
    }
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
    if (cfg->tls_ca_file && cfg->tls_ca_file[0] && setup_tls(m, cfg, err, errlen) != 0) {
        mqtt_in_free(m);
        return NULL;
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
    spool_rxlog_close(m->rx);
    free(m->subs);
    free(m->host);
    free(m->tls_ca_file);
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

/* Read what the socket (and, with TLS, OpenSSL) holds. Returns -1 if the
 * connection went away. */
static int read_some(struct mqtt_in *m, hub_mono_ms now)
{
    unsigned long long before;
    int rc, i, idle = 0;

    /* loop_read takes one packet per call; keep reading while messages
     * keep coming, so one wakeup drains what the socket holds. */
    for (i = 0; i < READS_PER_WAKEUP; i++) {
        before = m->msgs;
        rc = mosquitto_loop_read(m->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            handle_rc(m, rc, now);
            return -1;
        }
        if (m->paused)
            break;
        if (m->msgs != before)
            idle = 0;
        else if (++idle > (m->tls ? TLS_IDLE_READS : 0))
            break;
    }
    return 0;
}

void mqtt_in_handle(struct mqtt_in *m, int readable, int writable,
                    hub_mono_ms now)
{
    int rc;

    m->now = now;
    if (m->state != M_CONNECTING && m->state != M_CONNECTED)
        return;
    if (readable && !m->paused && read_some(m, now) != 0)
        return;
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
        m->tls_err[0] = '\0';
        m->tls_host_bad = 0;
        if (m->tls)     /* to say why a handshake failed; off once connected */
            mosquitto_log_callback_set(m->mosq, on_log);
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
            /* bytes OpenSSL decrypted but nobody asked for yet */
            if (m->tls && m->state == M_CONNECTED && !m->paused)
                read_some(m, now);
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
