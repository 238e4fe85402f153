/* SPDX-License-Identifier: MIT */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include "alerting.h"
#include "compost.h"
#include "drum.h"
#include "tank.h"
#include "decode.h"
#include "hub_err.h"
#include "lineproto.h"
#include "log.h"
#include "reading.h"
#include "series.h"
#include "spool.h"
#include "validate.h"

#define EXPIRE_EVERY_MS 1000

struct hub {
    const struct hub_config *cfg;
    struct decoder *dec;
    struct validate_cfg vcfg;
    struct series_reg *reg;
    struct influx_out *out;
    struct hub_counters c;
    int64_t window_ns;
    hub_mono_ms next_self;
    hub_mono_ms next_expire;
    int64_t last_event_ts;
    int64_t last_self_ts;
    uint64_t fed_dropped;       /* spool drops / errors the alert rules  */
    uint64_t fed_errors;        /* already saw                           */
    struct ratelog rej_log;     /* undecodable messages                  */
    struct ratelog fault_log;   /* readings that failed validation       */
    struct ratelog cap_log;     /* series cap                            */
    struct ratelog drop_log;    /* writer dropped points                 */
    struct ratelog retry_log;   /* writer retries                        */
    hub_mono_ms now;            /* for the writer's event callback       */
    struct spool *sp;           /* borrowed, may be NULL                 */
    struct spool_stats sp_seen; /* what was already logged               */
    struct compost *comp;       /* drum/tank state machines, or NULL     */
    struct alerting *alerts;    /* alert rules and messages, or NULL     */
    struct http_curl *http;     /* for the gateways; borrowed            */
    struct ratelog comp_log;
    struct ratelog spool_log;
};

long hub_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void on_writer_event(void *ctx, enum influx_event ev, uint32_t points,
                            long status, const char *detail)
{
    struct hub *h = ctx;
    uint64_t held = 0;

    (void)status;
    switch (ev) {
    case INFLUX_EV_WRITTEN:
        LOG_DEBUG("influx", "wrote %u points", points);
        break;
    case INFLUX_EV_RETRY:
        if (ratelog_due(&h->retry_log, h->now, &held))
            LOG_WARN("influx", "write of %u points failed: %s%s", points,
                     detail ? detail : "", held ? " (further failures not logged for a while)" : "");
        break;
    case INFLUX_EV_SPLIT:
        LOG_WARN("influx", "server answered 413 (too large): batch of %u points split in two",
                 points);
        break;
    case INFLUX_EV_DROPPED:
        if (ratelog_due(&h->drop_log, h->now, &held))
            LOG_ERROR("influx", "dropped %u points: %s%s", points,
                      detail ? detail : "", held ? " (more drops since the last line)" : "");
        break;
    case INFLUX_EV_RECOVERED:
        LOG_INFO("influx", "writes succeed again");
        h->retry_log.next_ms = 0;
        break;
    }
}

static void on_drum_advance(void *ctx, const char *site, const char *id,
                            const struct drum_metrics *m, int64_t ts_ns)
{
    struct hub *h = ctx;

    if (h->alerts)
        alerting_on_drum(h->alerts, site, id, m, ts_ns);
}

static void on_tank_advance(void *ctx, const char *site, const char *id,
                            const struct tank_metrics *m, int64_t ts_ns)
{
    struct hub *h = ctx;

    if (h->alerts)
        alerting_on_tank(h->alerts, site, id, m, ts_ns);
}

/* A stuck or displaced probe counts as three faults: the sensor-fault
 * rule fires at once. */
static void on_series_flag(void *ctx, struct series *s, const char *reason, int64_t ts_ns)
{
    struct hub *h = ctx;

    (void)reason;
    if (h->alerts)
        alerting_series_fault(h->alerts, s, ts_ns, 3, h->now);
}

/* The alert rules see every drum and tank advance. */
static void listen_compost(struct hub *h)
{
    struct compost_listener l;

    if (!h->comp)
        return;
    memset(&l, 0, sizeof(l));
    if (h->alerts) {
        l.drum = on_drum_advance;
        l.tank = on_tank_advance;
        l.flag = on_series_flag;
        l.ctx = h;
    }
    compost_set_listener(h->comp, &l);
}

static int setup(struct hub *h, const struct hub_config *cfg, char *err,
                 size_t errlen)
{
    h->dec = decoder_new((const char *const *)cfg->decode.templates,
                         cfg->decode.ntemplates,
                         (const char *const *)cfg->decode.kinds,
                         cfg->decode.nkinds, err, errlen);
    if (!h->dec)
        return HUB_EINVAL;
    config_validate_cfg(cfg, &h->vcfg);
    h->cfg = cfg;
    h->window_ns = (int64_t)cfg->stats.window_s * 1000000000LL;
    return HUB_OK;
}

struct hub *hub_new(const struct hub_config *cfg, const char *influx_secret,
                    const struct influx_transport *t, char *err, size_t errlen)
{
    struct influx_out_cfg ocfg;
    struct hub *h = calloc(1, sizeof(*h));

    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (setup(h, cfg, err, errlen) != HUB_OK)
        goto fail;
    h->reg = series_reg_new((size_t)cfg->limits.max_series,
                            (size_t)cfg->stats.ring_points);
    if (!h->reg) {
        snprintf(err, errlen, "cannot allocate the series registry");
        goto fail;
    }
    if (influx_out_cfg_from(cfg, influx_secret, &ocfg, err, errlen) != HUB_OK)
        goto fail;
    h->out = influx_out_new(&ocfg, t, on_writer_event, h, (uint64_t)clock_real_ns());
    if (!h->out) {
        snprintf(err, errlen, "cannot create the InfluxDB writer");
        goto fail;
    }
    h->rej_log.interval_ms = 10000;
    h->fault_log.interval_ms = 10000;
    h->cap_log.interval_ms = 60000;
    h->drop_log.interval_ms = 10000;
    h->retry_log.interval_ms = 30000;
    h->spool_log.interval_ms = 60000;
    h->comp_log.interval_ms = 600000;
    if (cfg->compost.enabled) {
        h->comp = compost_new(cfg, h->out, err, errlen);
        if (!h->comp)
            goto fail;
    }
    if (cfg->alerts.enabled) {
        h->alerts = alerting_new(cfg, h->out, err, errlen);
        if (!h->alerts)
            goto fail;
    }
    listen_compost(h);
    return h;
fail:
    hub_free(h);
    return NULL;
}

void hub_free(struct hub *h)
{
    if (!h)
        return;
    alerting_free(h->alerts);
    if (h->comp) {
        char err[512];

        if (compost_save_due(h->comp, 0, 1, err, sizeof(err)) != HUB_OK)
            LOG_ERROR("compost", "cannot save the state file: %s", err);
        compost_free(h->comp);
    }
    decoder_free(h->dec);
    series_reg_free(h->reg);
    influx_out_free(h->out);
    free(h);
}

struct close_ctx {
    struct hub *h;
    int64_t window_ns;
};

static void write_stats(struct hub *h, const struct series *s,
                        const struct stats_result *r, hub_mono_ms now);

static void close_one(struct series *s, void *ctx)
{
    struct close_ctx *cc = ctx;
    struct stats_result r;

    if (stats_window_close(&s->win, cc->window_ns, &r))
        write_stats(cc->h, s, &r, cc->h->now);
}

int hub_reconfigure(struct hub *h, const struct hub_config *cfg,
                    const char *influx_secret, char *err, size_t errlen)
{
    struct influx_out_cfg ocfg;
    struct decoder *old = h->dec;
    int64_t old_window_ns = h->window_ns;

    if (influx_out_cfg_from(cfg, influx_secret, &ocfg, err, errlen) != HUB_OK)
        return HUB_EINVAL;
    if (cfg->compost.enabled && h->comp &&
        compost_reconfigure(h->comp, cfg, err, errlen) != HUB_OK)
        return HUB_EINVAL;
    if (cfg->compost.enabled && !h->comp) {
        h->comp = compost_new(cfg, h->out, err, errlen);
        if (!h->comp)
            return HUB_EINVAL;
    } else if (!cfg->compost.enabled && h->comp) {
        char why[512];

        if (compost_save_due(h->comp, 0, 1, why, sizeof(why)) != HUB_OK)
            LOG_ERROR("compost", "cannot save the state file: %s", why);
        compost_free(h->comp);
        h->comp = NULL;
    }
    /* alerts: save and start afresh from the same files with the new
     * rules, members and gateways (a bad one keeps the old) */
    if (cfg->alerts.enabled) {
        struct alerting *na;

        alerting_free(h->alerts);   /* saves: the new one loads that state */
        h->alerts = NULL;
        na = alerting_new(cfg, h->out, err, errlen);
        if (!na) {
            LOG_ERROR("alerts", "new alert configuration refused (%s); alerts are off until "
                      "the next good reload", err);
        } else {
            h->alerts = na;
            if (h->http)
                (void)alerting_attach_http(na, h->http);
        }
    } else if (h->alerts) {
        alerting_free(h->alerts);
        h->alerts = NULL;
    }
    listen_compost(h);
    if (setup(h, cfg, err, errlen) != HUB_OK) {
        h->dec = old;
        return HUB_EINVAL;
    }
    decoder_free(old);
    influx_out_reconfigure(h->out, &ocfg);
    series_reg_set_limits(h->reg, (size_t)cfg->limits.max_series,
                          (size_t)cfg->stats.ring_points);
    if (h->window_ns != old_window_ns) {
        /* windows opened with the old size are written as they stand */
        struct close_ctx cc = { h, old_window_ns };

        series_reg_foreach(h->reg, close_one, &cc);
    }
    return HUB_OK;
}

void hub_set_spool(struct hub *h, struct spool *sp)
{
    h->sp = sp;
    if (sp)
        spool_get_stats(sp, &h->sp_seen);
    influx_out_set_spool(h->out, sp);
}

/* Log what changed in the spool since the last look: drops at the cap,
 * write errors (disk full, permissions), torn records found. */
static void watch_spool(struct hub *h, hub_mono_ms now)
{
    struct spool_stats st;
    uint64_t held = 0;

    if (!h->sp)
        return;
    spool_get_stats(h->sp, &st);
    if (st.points_dropped > h->sp_seen.points_dropped) {
        struct influx_out_stats ws;
        uint64_t net;

        influx_out_get_stats(h->out, &ws);
        net = st.points_dropped - (ws.points_rescued < st.points_dropped
                                   ? ws.points_rescued : st.points_dropped);
        LOG_ERROR("spool", "over its cap of %d MiB: dropped the oldest segment(s), "
                  "%llu points lost (%llu in all)", h->cfg->spool.max_mb,
                  (unsigned long long)(st.points_dropped - h->sp_seen.points_dropped),
                  (unsigned long long)net);
    }
    if (st.append_errors > h->sp_seen.append_errors &&
        ratelog_due(&h->spool_log, now, &held))
        LOG_ERROR("spool", "cannot write to %s: %s; %llu appends failed so far, "
                  "readings are kept in memory only until it works again",
                  h->cfg->spool.dir, strerror(st.last_errno),
                  (unsigned long long)st.append_errors);
    if (st.torn_records > h->sp_seen.torn_records)
        LOG_WARN("spool", "%llu damaged record(s) skipped (cut by a power loss?)",
                 (unsigned long long)(st.torn_records - h->sp_seen.torn_records));
    h->sp_seen = st;
}

struct influx_out *hub_writer(struct hub *h)
{
    return h->out;
}

const struct compost *hub_compost(const struct hub *h)
{
    return h->comp;
}

void hub_attach_http(struct hub *h, struct http_curl *http)
{
    h->http = http;
    if (h->alerts && alerting_attach_http(h->alerts, http) != HUB_OK)
        LOG_ERROR("alerts", "cannot create the notification sender: messages wait in the outbox");
}

int hub_alert_ack(struct hub *h, const char *id, const char *member, hub_real_ns wall)
{
    if (!h->alerts)
        return HUB_ENOENT;
    return alerting_ack(h->alerts, id, member, wall);
}

int hub_sms_in(struct hub *h, const char *phone, const char *text, hub_real_ns wall)
{
    if (!h->alerts)
        return HUB_ENOENT;
    return alerting_sms_in(h->alerts, phone, text, wall);
}

void hub_get_alert_counters(const struct hub *h, struct alerting_counters *c)
{
    if (h->alerts)
        alerting_get_counters(h->alerts, c);
    else
        memset(c, 0, sizeof(*c));
}

void hub_get_counters(const struct hub *h, struct hub_counters *c)
{
    *c = h->c;
    c->series_overflow = series_reg_overflow(h->reg);
}

size_t hub_series_count(const struct hub *h)
{
    return series_reg_count(h->reg);
}

/* ---- encoding helpers ------------------------------------------------ */

static void commit_line(struct hub *h, struct lp_line *l, int64_t ts,
                        hub_mono_ms now)
{
    if (lp_end(l, ts) == HUB_OK)
        influx_out_commit(h->out, 1, now);
    else
        h->c.encode_errors++;
}

static void write_stats(struct hub *h, const struct series *s,
                        const struct stats_result *r, hub_mono_ms now)
{
    char meas[HUB_NAME_MAX + 8];
    struct lp_line l;
    struct buf *b = influx_out_open(h->out, now);

    if (!b)
        return;
    snprintf(meas, sizeof(meas), "%s_stats", s->kind);
    lp_begin(&l, b, meas);
    lp_tag(&l, "field", s->field);
    lp_tag(&l, "id", s->id);
    lp_tag(&l, "site", s->site);
    lp_field_int(&l, "count", (int64_t)r->count);
    lp_field_float(&l, "last", r->last);
    lp_field_float(&l, "max", r->max);
    lp_field_float(&l, "mean", r->mean);
    lp_field_float(&l, "min", r->min);
    commit_line(h, &l, r->start_ns, now);
}

static void write_fault(struct hub *h, const struct message *m,
                        struct series *s, const char *field, double v,
                        const char *reason, hub_mono_ms now, hub_real_ns wall)
{
    struct lp_line l;
    struct buf *b;
    int64_t ts;
    uint64_t held = 0;

    h->c.readings_rejected++;
    s->rejected++;
    if (m->has_ts && strncmp(reason, "ts_", 3) != 0) {
        ts = m->ts_ns;
    } else {     /* no payload time, or a payload time that is not believed */
        ts = wall > s->last_fault_ts_ns ? wall : s->last_fault_ts_ns + 1;
        s->last_fault_ts_ns = ts;
    }
    if (h->alerts)
        alerting_series_fault(h->alerts, s, m->has_ts && strncmp(reason, "ts_", 3) != 0
                                            ? m->ts_ns : ts, 1, now);
    if (ratelog_due(&h->fault_log, now, &held))
        LOG_WARN("validate", "%s %s/%s/%s: %g rejected (%s)%s", m->site, m->kind,
                 m->id, field, v, reason,
                 held ? "; similar lines were held back" : "");
    b = influx_out_open(h->out, now);
    if (!b)
        return;
    lp_begin(&l, b, "sensor_fault");
    lp_tag(&l, "field", field);
    lp_tag(&l, "id", m->id);
    lp_tag(&l, "kind", m->kind);
    lp_tag(&l, "reason", reason);
    lp_tag(&l, "site", m->site);
    if (isfinite(v))
        lp_field_float(&l, "value", v);
    else
        lp_field_str(&l, "raw", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    commit_line(h, &l, ts, now);
}

static void reject_message(struct hub *h, const char *topic, const char *reason,
                           const char *detail, hub_mono_ms now)
{
    uint64_t held = 0;
    char safe[128];
    size_t i;

    h->c.messages_rejected++;
    if (!ratelog_due(&h->rej_log, now, &held))
        return;
    /* topics may hold control bytes: print them safely */
    for (i = 0; topic[i] && i < sizeof(safe) - 1; i++)
        safe[i] = (topic[i] < 0x20 || topic[i] == 0x7f) ? '?' : topic[i];
    safe[i] = '\0';
    LOG_WARN("decode", "message on '%s' rejected: %s (%s)%s", safe, reason,
             detail, held ? "; similar lines were held back" : "");
}

/* ---- the data path -------------------------------------------------- */

static void handle_event(struct hub *h, const struct message *m,
                         hub_mono_ms now, hub_real_ns wall)
{
    struct lp_line l;
    struct buf *b;
    const char *reason;
    int64_t ts;
    size_t i;

    if (m->has_ts) {
        reason = validate_ts(&h->vcfg, m->ts_ns, wall);
        if (reason) {
            reject_message(h, m->event, reason, "event timestamp", now);
            return;
        }
        ts = m->ts_ns;
    } else {
        ts = wall > h->last_event_ts ? wall : h->last_event_ts + 1;
        h->last_event_ts = ts;
    }
    b = influx_out_open(h->out, now);
    if (!b)
        return;
    lp_begin(&l, b, "event");
    lp_tag(&l, "event", m->event);
    lp_tag(&l, "id", m->id);
    lp_tag(&l, "kind", m->kind);
    if (m->member[0])
        lp_tag(&l, "member", m->member);
    lp_tag(&l, "site", m->site);
    for (i = 0; i < m->nfields; i++) {
        if (isfinite(m->fields[i].value))
            lp_field_float(&l, m->fields[i].name, m->fields[i].value);
    }
    for (i = 0; i < m->ntexts; i++)
        lp_field_str(&l, m->texts[i].name, m->texts[i].value);
    if (l.nfields == 0)
        lp_field_bool(&l, "seen", 1);
    if (lp_end(&l, ts) == HUB_OK) {
        influx_out_commit(h->out, 1, now);
        h->c.events++;
        if (h->comp) {
            compost_on_event(h->comp, m, ts);
            compost_after_message(h->comp, now);
        }
    } else {
        h->c.encode_errors++;
        reject_message(h, m->event, "bad_event", "the event could not be encoded", now);
    }
}

static void handle_readings(struct hub *h, const struct message *m,
                            hub_mono_ms now, hub_real_ns wall)
{
    struct series *ser[HUB_MAX_FIELDS];
    int ok[HUB_MAX_FIELDS];
    struct stats_result closed;
    struct lp_line l;
    struct buf *b;
    const char *reason, *ts_reason = NULL;
    int64_t ts;
    size_t i, nvalid = 0;
    uint64_t held = 0;

    ts = m->has_ts ? m->ts_ns : wall;
    if (m->has_ts)
        ts_reason = validate_ts(&h->vcfg, m->ts_ns, wall);
    for (i = 0; i < m->nfields; i++) {
        ok[i] = 0;
        ser[i] = series_get(h->reg, m->site, m->kind, m->id, m->fields[i].name, NULL);
        if (!ser[i]) {
            if (ratelog_due(&h->cap_log, now, &held))
                LOG_WARN("series", "limits.max_series (%d) reached: reading %s/%s/%s/%s "
                         "not stored%s", h->cfg->limits.max_series, m->site, m->kind,
                         m->id, m->fields[i].name,
                         held ? "; more since the last line" : "");
            continue;
        }
        reason = ts_reason ? ts_reason
                 : validate_value(&h->vcfg, m->fields[i].name, m->fields[i].value,
                                  ser[i]->has_valid, ser[i]->last_valid);
        if (reason) {
            write_fault(h, m, ser[i], m->fields[i].name, m->fields[i].value,
                        reason, now, wall);
            continue;
        }
        ok[i] = 1;
        nvalid++;
        if (!m->has_ts && ser[i]->last_ts_ns >= ts)
            ts = ser[i]->last_ts_ns + 1;
    }
    if (nvalid == 0) {
        h->c.messages_rejected++;
        return;
    }
    b = influx_out_open(h->out, now);
    if (!b)
        return;
    lp_begin(&l, b, m->kind);
    lp_tag(&l, "id", m->id);
    lp_tag(&l, "site", m->site);
    for (i = 0; i < m->nfields; i++) {
        if (ok[i])
            lp_field_float(&l, m->fields[i].name, m->fields[i].value);
    }
    if (lp_end(&l, ts) != HUB_OK) {
        h->c.encode_errors++;
        h->c.messages_rejected++;
        return;
    }
    influx_out_commit(h->out, 1, now);
    h->c.readings_accepted += nvalid;
    for (i = 0; i < m->nfields; i++) {
        struct series *s = ser[i];

        if (!ok[i])
            continue;
        if (ts > s->last_ts_ns)
            s->last_ts_ns = ts;
        s->has_valid = 1;
        s->last_valid = m->fields[i].value;
        s->accepted++;
        s->last_rx_wall_ns = wall;
        ring_push(s->ring, ts, m->fields[i].value);
        if (stats_window_add(&s->win, h->window_ns, ts, m->fields[i].value, &closed))
            write_stats(h, s, &closed, now);
        if (h->comp)
            compost_feed(h->comp, s, m->fields[i].value, ts, now);
        if (h->alerts) {
            alerting_feed_num(h->alerts, m->site, m->kind, m->id, m->fields[i].name,
                              m->fields[i].value, ts, now);
            alerting_series_ok(h->alerts, s, ts, now);
        }
    }
    if (h->comp)
        compost_after_message(h->comp, now);
}

void hub_on_message(struct hub *h, const char *topic, const void *payload,
                    size_t len, hub_mono_ms now, hub_real_ns wall)
{
    struct message m;
    const char *reason = "unknown";
    char err[160];

    h->now = now;
    h->c.messages_received++;
    if (!h->c.first_rx_ns)
        h->c.first_rx_ns = wall;
    h->c.last_rx_ns = wall;
    err[0] = '\0';
    if (decode_message(h->dec, topic, payload, len,
                       (size_t)h->cfg->limits.max_payload_bytes, &m, &reason,
                       err, sizeof(err)) != HUB_OK) {
        reject_message(h, topic, reason, err, now);
        return;
    }
    h->c.messages_decoded++;
    h->c.fields_ignored += m.nignored;
    if (m.type == MSG_EVENT)
        handle_event(h, &m, now, wall);
    else
        handle_readings(h, &m, now, wall);
}

/* ---- timers ---------------------------------------------------------- */

struct expire_ctx {
    struct hub *h;
    hub_mono_ms now;
    hub_real_ns wall;
};

static void expire_one(struct series *s, void *ctx)
{
    struct expire_ctx *e = ctx;
    struct stats_result r;

    /* A quiet window closes once the wall clock is a window past its end
     * AND the series has been silent for a whole window of wall time:
     * event time alone would cut windows of readings that are replayed
     * or stamped in the past. */
    if (s->win.count && e->wall - s->last_rx_wall_ns >= e->h->window_ns &&
        stats_window_expire(&s->win, e->h->window_ns, e->wall, e->h->window_ns, &r))
        write_stats(e->h, s, &r, e->now);
    if (e->h->comp)
        compost_check_stale(e->h->comp, s, e->wall, e->now);
}

void hub_write_self_metrics(struct hub *h, hub_mono_ms now, hub_real_ns wall)
{
    struct influx_out_stats st;
    struct lp_line l;
    struct buf *b;
    int64_t ts = wall > h->last_self_ts ? wall : h->last_self_ts + 1;

    h->last_self_ts = ts;
    influx_out_get_stats(h->out, &st);
    b = influx_out_open(h->out, now);
    if (!b)
        return;
    lp_begin(&l, b, "hub");
    lp_tag(&l, "site", h->cfg->site);
    lp_field_int(&l, "messages_received", (int64_t)h->c.messages_received);
    lp_field_int(&l, "messages_decoded", (int64_t)h->c.messages_decoded);
    lp_field_int(&l, "messages_rejected", (int64_t)h->c.messages_rejected);
    lp_field_int(&l, "readings_accepted", (int64_t)h->c.readings_accepted);
    lp_field_int(&l, "readings_rejected", (int64_t)h->c.readings_rejected);
    lp_field_int(&l, "events", (int64_t)h->c.events);
    lp_field_int(&l, "fields_ignored", (int64_t)h->c.fields_ignored);
    lp_field_int(&l, "points_queued", (int64_t)st.queued_points);
    lp_field_int(&l, "points_written", (int64_t)st.points_written);
    lp_field_int(&l, "points_dropped", (int64_t)st.points_dropped);
    lp_field_int(&l, "write_errors", (int64_t)st.write_errors);
    lp_field_int(&l, "series", (int64_t)series_reg_count(h->reg));
    lp_field_int(&l, "series_overflow", (int64_t)series_reg_overflow(h->reg));
    lp_field_int(&l, "rss_kb", (int64_t)hub_rss_kb());
    if (h->comp) {
        struct compost_counters cc;

        compost_get_counters(h->comp, &cc);
        lp_field_int(&l, "drums", (int64_t)cc.drums);
        lp_field_int(&l, "tanks", (int64_t)cc.tanks);
        lp_field_int(&l, "compost_phase_changes", (int64_t)cc.phase_changes);
        lp_field_int(&l, "compost_batches", (int64_t)cc.batches);
        lp_field_int(&l, "compost_series_faults", (int64_t)cc.series_faults);
        lp_field_int(&l, "compost_state_save_errors", (int64_t)cc.state_save_errors);
    }
    if (h->alerts) {
        struct alerting_counters ac;

        alerting_get_counters(h->alerts, &ac);
        lp_field_int(&l, "alerts_fired", (int64_t)ac.fired);
        lp_field_int(&l, "alerts_resolved", (int64_t)ac.resolved);
        lp_field_int(&l, "notifications_queued", (int64_t)ac.deliveries);
        lp_field_int(&l, "notifications_sent", (int64_t)ac.sent);
        lp_field_int(&l, "notifications_retried", (int64_t)ac.retried);
        lp_field_int(&l, "notifications_failed", (int64_t)ac.failed);
        lp_field_int(&l, "notifications_dead", (int64_t)ac.dead);
        lp_field_int(&l, "outbox_pending", (int64_t)ac.outbox_pending);
        lp_field_int(&l, "alert_acks", (int64_t)ac.acks);
    }
    if (h->sp) {
        struct spool_stats sst;

        spool_get_stats(h->sp, &sst);
        lp_field_int(&l, "spool_bytes", (int64_t)sst.bytes);
        lp_field_int(&l, "spool_points_pending", (int64_t)sst.points_pending);
        lp_field_int(&l, "spool_points_dropped",
                     (int64_t)(sst.points_dropped - (st.points_rescued < sst.points_dropped
                                                     ? st.points_rescued : sst.points_dropped)));
        lp_field_int(&l, "spool_errors", (int64_t)sst.append_errors);
        lp_field_int(&l, "spool_torn_records", (int64_t)sst.torn_records);
        lp_field_int(&l, "points_replayed", (int64_t)st.points_replayed);
        if (h->alerts) {
            alerting_feed_num(h->alerts, h->cfg->site, "hub", h->cfg->site, "spool_dropping",
                              sst.points_dropped > h->fed_dropped ? 1.0 : 0.0, ts, now);
            alerting_feed_num(h->alerts, h->cfg->site, "hub", h->cfg->site, "spool_failing",
                              sst.append_errors > h->fed_errors ? 1.0 : 0.0, ts, now);
        }
        h->fed_dropped = sst.points_dropped;
        h->fed_errors = sst.append_errors;
    }
    commit_line(h, &l, ts, now);
}

hub_mono_ms hub_tick(struct hub *h, hub_mono_ms now, hub_real_ns wall)
{
    struct expire_ctx e = { h, now, wall };
    hub_mono_ms next, an;

    h->now = now;
    if (now >= h->next_expire) {
        series_reg_foreach(h->reg, expire_one, &e);
        h->next_expire = now + EXPIRE_EVERY_MS;
    }
    if (h->next_self == 0) {
        h->next_self = now + (hub_mono_ms)h->cfg->stats.self_interval_s * 1000;
    } else if (now >= h->next_self) {
        hub_write_self_metrics(h, now, wall);
        h->next_self = now + (hub_mono_ms)h->cfg->stats.self_interval_s * 1000;
    }
    watch_spool(h, now);
    if (h->comp) {
        char err[512];
        uint64_t held = 0;

        if (compost_save_due(h->comp, now, 0, err, sizeof(err)) != HUB_OK &&
            ratelog_due(&h->comp_log, now, &held))
            LOG_ERROR("compost", "cannot save the state file: %s; batches and hours live in "
                      "memory only until it works again", err);
    }
    an = h->alerts ? alerting_tick(h->alerts, now, wall) : INT64_MAX;
    next = influx_out_tick(h->out, now);
    if (an < next)
        next = an;
    if (h->next_expire - now < next)
        next = h->next_expire - now;
    if (h->next_self - now < next)
        next = h->next_self - now;
    return next < 0 ? 0 : next;
}

/* ---- listing series -------------------------------------------------- */

struct foreach_ctx {
    void (*fn)(const struct series *s, void *ctx);
    void *ctx;
};

static void foreach_one(struct series *s, void *ctx)
{
    struct foreach_ctx *fc = ctx;

    fc->fn(s, fc->ctx);
}

void hub_foreach_series(const struct hub *h,
                        void (*fn)(const struct series *s, void *ctx),
                        void *ctx)
{
    struct foreach_ctx fc = { fn, ctx };

    series_reg_foreach(h->reg, foreach_one, &fc);
}
