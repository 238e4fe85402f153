/* SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "http_curl.h"
#include "http_status.h"
#include "hub.h"
#include "hub_err.h"
#include "influx_out.h"
#include "log.h"
#include "mqtt_in.h"
#include "spool.h"
#include "status.h"

#define SECRET_MAX 1024

static volatile sig_atomic_t flag_stop;
static volatile sig_atomic_t flag_reload;
static int wake_pipe[2] = { -1, -1 };

static void wake(void)
{
    int saved = errno;
    char c = 1;

    if (wake_pipe[1] >= 0 && write(wake_pipe[1], &c, 1) < 0) {
        /* the pipe is full: the loop is already awake */
    }
    errno = saved;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    flag_stop = 1;
    wake();
}

static void on_hup_signal(int sig)
{
    (void)sig;
    flag_reload = 1;
    wake();
}

static int setup_signals(void)
{
    struct sigaction sa;
    int i;

    if (pipe(wake_pipe) != 0)
        return -1;
    for (i = 0; i < 2; i++) {
        fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup_signal;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

static void drain_pipe(void)
{
    char b[64];

    while (read(wake_pipe[0], b, sizeof(b)) > 0) {
    }
}

struct loop {
    struct hub_config *cfg;
    struct hub *hub;
    struct http_curl *http;
    struct mqtt_in *mqtt;
    struct spool *sp;
    struct http_status *hs;     /* NULL: http.port = 0, or it failed */
    struct status_health health;
    hub_mono_ms started;
    int paused;
    int stopping;
};

static void on_http_done(void *ctx, const struct influx_result *res)
{
    struct loop *l = ctx;
    hub_mono_ms now = clock_mono_ms();

    status_note_write(&l->health, res->status, now);
    influx_out_complete(hub_writer(l->hub), res, now);
}

static void on_mqtt_message(void *ctx, const char *topic, const void *payload,
                            size_t len, hub_real_ns stamp)
{
    struct loop *l = ctx;

    /* stamp: the receipt time, or the first one of a resent message */
    hub_on_message(l->hub, topic, payload, len, clock_mono_ms(), stamp);
    /* back-pressure: stop reading once the writer's queue is full */
    if (!l->paused && influx_out_full(hub_writer(l->hub))) {
        l->paused = 1;
        mqtt_in_pause(l->mqtt, 1);
        LOG_WARN("hub", "InfluxDB queue full (%d points): pausing MQTT input; "
                 "the broker keeps QoS 1 messages meanwhile",
                 l->cfg->influx.max_queue_points);
    }
}

/* Before PUBACKs leave: what was taken in goes to the spool first. */
static void on_mqtt_before_write(void *ctx)
{
    struct loop *l = ctx;

    influx_out_sync(hub_writer(l->hub), clock_mono_ms());
}

static void open_spool(struct loop *l)
{
    struct spool_cfg sc;
    struct spool_stats st;
    char err[600];

    if (!l->cfg->spool.dir[0]) {
        LOG_WARN("spool", "spool.dir is empty: readings wait in memory only and "
                 "are lost if the hub dies while InfluxDB is away");
        return;
    }
    memset(&sc, 0, sizeof(sc));
    snprintf(sc.dir, sizeof(sc.dir), "%s", l->cfg->spool.dir);
    sc.max_bytes = (uint64_t)l->cfg->spool.max_mb * 1024 * 1024;
    sc.segment_bytes = (uint64_t)l->cfg->spool.segment_mb * 1024 * 1024;
    sc.fsync_interval_ms = l->cfg->spool.fsync_interval_ms;
    l->sp = spool_open(&sc, err, sizeof(err));
    if (!l->sp) {
        LOG_ERROR("spool", "cannot open the spool: %s; running without one "
                  "(readings wait in memory only)", err);
        return;
    }
    spool_get_stats(l->sp, &st);
    if (st.points_pending)
        LOG_INFO("spool", "%s: %llu points from an earlier run will be sent first",
                 sc.dir, (unsigned long long)st.points_pending);
    else
        LOG_INFO("spool", "%s: ready (cap %d MiB)", sc.dir, l->cfg->spool.max_mb);
    if (st.torn_records)
        LOG_WARN("spool", "%llu damaged record(s) skipped (cut by a power loss?)",
                 (unsigned long long)st.torn_records);
    hub_set_spool(l->hub, l->sp);
}

/* The status server's render callback: runs inside http_status_run(). */
static int render_status(void *ctx, const char *method, const char *path,
                         struct buf *out, const char **content_type)
{
    struct loop *l = ctx;
    struct status_src src;

    memset(&src, 0, sizeof(src));
    src.hub = l->hub;
    src.sp = l->sp;
    src.site = l->cfg->site;
    src.version = KOMPOS_VERSION;
    src.mqtt_connected = mqtt_in_connected(l->mqtt);
    src.stopping = l->stopping;
    src.health = &l->health;
    src.now = clock_mono_ms();
    src.started = l->started;
    src.wall = clock_real_ns();
    src.rss_kb = hub_rss_kb();
    return status_render(&src, method, path, out, content_type);
}

static void open_status_server(struct loop *l)
{
    struct http_status_cfg hc;
    char err[512];

    if (l->cfg->http.port == 0) {
        LOG_INFO("http", "http.port is 0: no status server");
        return;
    }
    memset(&hc, 0, sizeof(hc));
    hc.bind = l->cfg->http.bind;
    hc.port = l->cfg->http.port;
    hc.render = render_status;
    hc.ctx = l;
    l->hs = http_status_new(&hc, err, sizeof(err));
    if (!l->hs) {
        LOG_ERROR("http", "status server: %s; running without it", err);
        return;
    }
    LOG_INFO("http", "status server on %s%s%s:%d (/healthz /metrics /api/v1/state /)",
             strchr(hc.bind, ':') ? "[" : "", hc.bind, strchr(hc.bind, ':') ? "]" : "",
             http_status_port(l->hs));
}

static int read_secrets(const struct hub_config *cfg, char *mqtt_pw,
                        char *influx_secret, char *err, size_t errlen)
{
    if (config_read_secret(cfg->mqtt.password_file, "KOMPOS_MQTT_PASSWORD",
                           mqtt_pw, SECRET_MAX, err, errlen) != HUB_OK)
        return HUB_EIO;
    if (cfg->influx.api == INFLUX_API_V2)
        return config_read_secret(cfg->influx.token_file, "KOMPOS_INFLUX_TOKEN",
                                  influx_secret, SECRET_MAX, err, errlen);
    return config_read_secret(cfg->influx.password_file, "KOMPOS_INFLUX_PASSWORD",
                              influx_secret, SECRET_MAX, err, errlen);
}

static struct mqtt_in *make_mqtt(struct loop *l, const char *password,
                                 char *err, size_t errlen)
{
    struct mqtt_in_cfg mc;
    char rxlog[600];

    memset(&mc, 0, sizeof(mc));
    /* the redelivery log lives next to the spool it goes with */
    rxlog[0] = '\0';
    if (l->sp)
        snprintf(rxlog, sizeof(rxlog), "%s/rxlog", l->cfg->spool.dir);
    mc.rxlog_path = rxlog;
    mc.host = l->cfg->mqtt.host;
    mc.port = l->cfg->mqtt.port;
    mc.client_id = l->cfg->mqtt.client_id;
    mc.qos = l->cfg->mqtt.qos;
    mc.clean_session = l->cfg->mqtt.clean_session;
    mc.username = l->cfg->mqtt.username;
    mc.password = password;
    mc.keepalive_s = l->cfg->mqtt.keepalive_s;
    mc.reconnect_max_s = l->cfg->mqtt.reconnect_max_s;
    mc.tls_ca_file = l->cfg->mqtt.tls_ca_file;
    mc.tls_cert_file = l->cfg->mqtt.tls_cert_file;
    mc.tls_key_file = l->cfg->mqtt.tls_key_file;
    mc.tls_insecure = !l->cfg->mqtt.tls_verify_hostname;
    mc.subscriptions = l->cfg->mqtt.subscriptions;
    mc.nsubscriptions = l->cfg->mqtt.nsubscriptions;
    return mqtt_in_new(&mc, on_mqtt_message, on_mqtt_before_write, l, err, errlen);
}

static void reload(struct loop *l, const char *path)
{
    struct hub_config *ncfg = calloc(1, sizeof(*ncfg));
    char err[512], mqtt_pw[SECRET_MAX], secret[SECRET_MAX];

    if (!ncfg) {
        LOG_ERROR("config", "reload: out of memory; keeping the running config");
        return;
    }
    if (config_load_file(path, ncfg, err, sizeof(err)) != HUB_OK) {
        LOG_ERROR("config", "reload failed, keeping the running config: %s", err);
        free(ncfg);
        return;
    }
    if (read_secrets(ncfg, mqtt_pw, secret, err, sizeof(err)) != HUB_OK ||
        hub_reconfigure(l->hub, ncfg, secret, err, sizeof(err)) != HUB_OK) {
        LOG_ERROR("config", "reload failed, keeping the running config: %s", err);
        config_free(ncfg);
        free(ncfg);
        return;
    }
    memset(secret, 0, sizeof(secret));
    memset(mqtt_pw, 0, sizeof(mqtt_pw));
    if (strcmp(ncfg->mqtt.host, l->cfg->mqtt.host) != 0 ||
        ncfg->mqtt.port != l->cfg->mqtt.port ||
        strcmp(ncfg->mqtt.username, l->cfg->mqtt.username) != 0 ||
        strcmp(ncfg->mqtt.password_file, l->cfg->mqtt.password_file) != 0 ||
        strcmp(ncfg->mqtt.tls_ca_file, l->cfg->mqtt.tls_ca_file) != 0 ||
        strcmp(ncfg->mqtt.tls_cert_file, l->cfg->mqtt.tls_cert_file) != 0 ||
        strcmp(ncfg->mqtt.tls_key_file, l->cfg->mqtt.tls_key_file) != 0 ||
        strcmp(ncfg->spool.dir, l->cfg->spool.dir) != 0 ||
        strcmp(ncfg->http.bind, l->cfg->http.bind) != 0 ||
        ncfg->http.port != l->cfg->http.port)
        LOG_WARN("config", "changes to mqtt.*, spool.* and http.* take effect at the next "
                 "restart only");
    log_set_level(ncfg->log.level);
    config_free(l->cfg);
    free(l->cfg);
    l->cfg = ncfg;
    LOG_INFO("config", "reloaded %s", path);
}

static void print_summary(struct loop *l)
{
    struct hub_counters c;
    struct influx_out_stats st;
    struct rusage ru;
    double cpu = 0.0;

    hub_get_counters(l->hub, &c);
    influx_out_get_stats(hub_writer(l->hub), &st);
    memset(&ru, 0, sizeof(ru));
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    struct spool_stats sst;

    memset(&sst, 0, sizeof(sst));
    if (l->sp)
        spool_get_stats(l->sp, &sst);
    LOG_INFO("hub", "summary received=%llu decoded=%llu rejected=%llu accepted=%llu "
             "faults=%llu written=%llu dropped=%llu write_errors=%llu series=%zu "
             "series_overflow=%llu unsent=%llu spool_pending=%llu spool_dropped=%llu "
             "spool_errors=%llu replayed=%llu redeliveries_skipped=%llu "
             "redeliveries_restamped=%llu "
             "first_rx_ns=%lld last_rx_ns=%lld "
             "cpu_s=%.3f maxrss_kb=%ld",
             (unsigned long long)c.messages_received,
             (unsigned long long)c.messages_decoded,
             (unsigned long long)c.messages_rejected,
             (unsigned long long)c.readings_accepted,
             (unsigned long long)c.readings_rejected,
             (unsigned long long)st.points_written,
             (unsigned long long)st.points_dropped,
             (unsigned long long)st.write_errors,
             hub_series_count(l->hub),
             (unsigned long long)c.series_overflow,
             (unsigned long long)st.queued_points,
             (unsigned long long)sst.points_pending,
             (unsigned long long)(sst.points_dropped -
                                  (st.points_rescued < sst.points_dropped
                                   ? st.points_rescued : sst.points_dropped)),
             (unsigned long long)sst.append_errors,
             (unsigned long long)st.points_replayed,
             mqtt_in_duplicates(l->mqtt), mqtt_in_restamped(l->mqtt),
             (long long)c.first_rx_ns, (long long)c.last_rx_ns, cpu, ru.ru_maxrss);
}

static void wait_once(struct loop *l, int timeout_ms, int with_mqtt)
{
    struct hub_pollfd fds[3];
    unsigned n = 0;
    int mfd = with_mqtt ? mqtt_in_fd(l->mqtt) : -1;
    int mi = -1, hi = -1;
    long ht = -1;
    hub_mono_ms t0 = 0;

    fds[n].fd = wake_pipe[0];
    fds[n].events = HUB_POLLIN;
    n++;
    if (mfd >= 0) {
        fds[n].fd = mfd;
        fds[n].events = (short)((l->paused ? 0 : HUB_POLLIN) |
                                (mqtt_in_want_write(l->mqtt) ? HUB_POLLOUT : 0));
        mi = (int)n++;
    }
    if (l->hs) {
        /* MHD's epoll fd; MHD_run is also due when its timeout passes */
        fds[n].fd = http_status_fd(l->hs);
        fds[n].events = HUB_POLLIN;
        hi = (int)n++;
        ht = http_status_timeout(l->hs);
        if (ht >= 0 && ht < timeout_ms)
            timeout_ms = (int)ht;
        t0 = clock_mono_ms();
    }
    if (http_curl_wait(l->http, fds, n, timeout_ms) != 0)
        LOG_ERROR("loop", "curl_multi_poll failed");
    if (fds[0].revents)
        drain_pipe();
    if (mi >= 0 && fds[mi].revents)
        mqtt_in_handle(l->mqtt, (fds[mi].revents & HUB_POLLIN) != 0,
                       (fds[mi].revents & HUB_POLLOUT) != 0, clock_mono_ms());
    if (hi >= 0 && (fds[hi].revents || (ht >= 0 && clock_mono_ms() - t0 >= ht)))
        http_status_run(l->hs);
    http_curl_perform(l->http);
}

static int drain(struct loop *l)
{
    struct influx_out *w = hub_writer(l->hub);
    struct influx_out_stats st;
    hub_mono_ms now = clock_mono_ms();
    hub_mono_ms deadline = now + l->cfg->influx.shutdown_grace_ms;
    hub_mono_ms next;

    l->stopping = 1;
    mqtt_in_stop(l->mqtt);
    hub_write_self_metrics(l->hub, now, clock_real_ns());
    influx_out_get_stats(w, &st);
    LOG_INFO("hub", "stopping: flushing %llu queued points (at most %.1f s)",
             (unsigned long long)st.queued_points,
             (double)l->cfg->influx.shutdown_grace_ms / 1000.0);
    influx_out_flush_now(w, now);
    while (!influx_out_idle(w) && now < deadline) {
        next = influx_out_tick(w, now);
        if (next > deadline - now)
            next = deadline - now;
        if (next > 200)
            next = 200;
        wait_once(l, (int)next, 0);
        now = clock_mono_ms();
    }
    influx_out_sync(w, clock_mono_ms());
    influx_out_get_stats(w, &st);
    if ((st.queued_points || st.replaying) && l->sp)
        LOG_WARN("hub", "shutdown grace ran out: what InfluxDB has not acknowledged "
                 "stays in the spool and is sent after the next start");
    else if (st.queued_points)
        LOG_ERROR("hub", "shutdown grace ran out: %llu points were not written",
                  (unsigned long long)st.queued_points);
    print_summary(l);
    return 0;
}

int loop_run(const char *cfg_path, struct hub_config *cfg)
{
    struct loop l;
    struct influx_transport t;
    char err[512], mqtt_pw[SECRET_MAX], secret[SECRET_MAX];
    hub_mono_ms now, next, d;
    int rc;

    memset(&l, 0, sizeof(l));
    l.cfg = cfg;
    l.started = clock_mono_ms();
    status_health_init(&l.health);
    log_set_level(cfg->log.level);
    if (setup_signals() != 0) {
        LOG_ERROR("loop", "cannot set up signals: %s", strerror(errno));
        return 1;
    }
    if (read_secrets(cfg, mqtt_pw, secret, err, sizeof(err)) != HUB_OK) {
        LOG_ERROR("config", "%s", err);
        return 1;
    }
    l.http = http_curl_new(on_http_done, &l);
    if (!l.http) {
        LOG_ERROR("loop", "cannot initialise libcurl");
        return 1;
    }
    t.ctx = l.http;
    t.post = http_curl_post;
    l.hub = hub_new(cfg, secret, &t, err, sizeof(err));
    memset(secret, 0, sizeof(secret));
    if (!l.hub) {
        LOG_ERROR("hub", "%s", err);
        rc = 1;
        goto out;
    }
    hub_attach_http(l.hub, l.http);     /* the alert gateways share libcurl */
    open_spool(&l);     /* first: the MQTT client's redelivery log is in it */
    l.mqtt = make_mqtt(&l, mqtt_pw, err, sizeof(err));
    memset(mqtt_pw, 0, sizeof(mqtt_pw));
    if (!l.mqtt) {
        LOG_ERROR("mqtt", "%s", err);
        rc = 1;
        goto out;
    }
    open_status_server(&l);
    LOG_INFO("hub", "kompos-hub %s started: site '%s', broker %s:%d, InfluxDB %s (api %s)",
             KOMPOS_VERSION, cfg->site, cfg->mqtt.host, cfg->mqtt.port,
             cfg->influx.url, cfg->influx.api == INFLUX_API_V2 ? "v2" : "v1");
    while (!flag_stop) {
        now = clock_mono_ms();
        next = mqtt_in_tick(l.mqtt, now);
        d = hub_tick(l.hub, now, clock_real_ns());
        influx_out_sync(hub_writer(l.hub), now);
        if (l.sp) {
            struct spool_stats sst;

            spool_tick(l.sp, now);
            spool_get_stats(l.sp, &sst);
            status_note_spool(&l.health, &sst);
        }
        if (d < next)
            next = d;
        if (l.paused && !influx_out_full(hub_writer(l.hub))) {
            l.paused = 0;
            mqtt_in_pause(l.mqtt, 0);
            LOG_INFO("hub", "InfluxDB queue has room again: MQTT input resumed");
        }
        if (next > 1000)
            next = 1000;
        wait_once(&l, (int)next, 1);
        if (flag_reload) {
            flag_reload = 0;
            reload(&l, cfg_path);
        }
    }
    LOG_INFO("hub", "stop signal received");
    rc = drain(&l);
out:
    http_status_free(l.hs);
    mqtt_in_free(l.mqtt);
    hub_free(l.hub);
    spool_close(l.sp);
    http_curl_free(l.http);
    config_free(l.cfg);
    free(l.cfg);
    return rc;
}
