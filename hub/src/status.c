/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compost.h"
#include "drum.h"
#include "hub.h"
#include "hub_err.h"
#include "tank.h"
#include "influx_out.h"
#include "series.h"
#include "spool.h"

#define CT_TEXT    "text/plain; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON    "application/json"
#define CT_HTML    "text/html; charset=utf-8"

/* ---- health --------------------------------------------------------- */

void status_health_init(struct status_health *hl)
{
    memset(hl, 0, sizeof(*hl));
}

static int write_failed(long st)
{
    return st == 0 || (st >= 300 && st < 400) || st == 401 || st == 403 || st == 404 ||
           st == 429 || st >= 500;
}

void status_note_write(struct status_health *hl, long http_status,
                       hub_mono_ms now)
{
    hl->have_write = 1;
    hl->last_write_status = http_status;
    if (http_status >= 200 && http_status < 300) {
        hl->write_failing = 0;
    } else if (write_failed(http_status) && !hl->write_failing) {
        hl->write_failing = 1;
        hl->failing_since = now;
    }
}

void status_note_spool(struct status_health *hl, const struct spool_stats *st)
{
    int more_err = st->append_errors != hl->spool_errors_seen;
    int more_ok = st->records_appended != hl->spool_records_seen;

    if (more_err && !more_ok)
        hl->spool_failing = 1;
    else if (more_ok && !more_err)
        hl->spool_failing = 0;
    /* both: an error and a success since the last look; which came last
     * is unknown, so the state stays until the next append tells */
    hl->spool_errors_seen = st->append_errors;
    hl->spool_records_seen = st->records_appended;
}

static long long failing_s(const struct status_src *src)
{
    const struct status_health *hl = src->health;

    if (!hl || !hl->write_failing || src->now < hl->failing_since)
        return 0;
    return (long long)((src->now - hl->failing_since) / 1000);
}

static void add_reason(char *reason, size_t len, size_t *used, int *healthy,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_reason(char *reason, size_t len, size_t *used, int *healthy,
                       const char *fmt, ...)
{
    va_list ap;
    int n;

    *healthy = 0;
    if (*used && *used < len) {
        n = snprintf(reason + *used, len - *used, "; ");
        *used += n > 0 ? (size_t)n : 0;
    }
    if (*used < len) {
        va_start(ap, fmt);
        n = vsnprintf(reason + *used, len - *used, fmt, ap);
        va_end(ap);
        *used += n > 0 ? (size_t)n : 0;
    }
}

int status_healthy(const struct status_src *src, char *reason, size_t len)
{
    const struct status_health *hl = src->health;
    size_t used = 0;
    int healthy = 1;

    if (len)
        reason[0] = '\0';
    if (src->stopping)
        add_reason(reason, len, &used, &healthy, "hub: stopping");
    if (!src->mqtt_connected)
        add_reason(reason, len, &used, &healthy, "mqtt: not connected");
    if (hl && hl->write_failing)
        add_reason(reason, len, &used, &healthy, "influx: writes failing for %lld s",
                   failing_s(src));
    if (hl && hl->spool_failing)
        add_reason(reason, len, &used, &healthy, "spool: write errors");
    return healthy;
}

/* ---- /metrics ------------------------------------------------------- */

struct prom {
    struct buf *b;
    const char *label;          /* site="..." (escaped)                      */
    int err;
};

static void prom_head(struct prom *p, const char *name, const char *type,
                      const char *help)
{
    if (buf_printf(p->b, "# HELP kompos_hub_%s %s\n# TYPE kompos_hub_%s %s\n",
                   name, help, name, type) != HUB_OK)
        p->err = 1;
}

static void prom_u64(struct prom *p, const char *name, const char *type,
                     const char *help, uint64_t v)
{
    prom_head(p, name, type, help);
    if (buf_printf(p->b, "kompos_hub_%s{%s} %llu\n", name, p->label,
                   (unsigned long long)v) != HUB_OK)
        p->err = 1;
}

static void prom_dbl(struct prom *p, const char *name, const char *type,
                     const char *help, double v)
{
    prom_head(p, name, type, help);
    if (buf_printf(p->b, "kompos_hub_%s{%s} %.3f\n", name, p->label, v) != HUB_OK)
        p->err = 1;
}

#define COUNTER(p, name, help, v) prom_u64(p, name, "counter", help, v)
#define GAUGE(p, name, help, v)   prom_u64(p, name, "gauge", help, v)

/* A Prometheus label value: backslash, double quote and newline escaped. */
static int prom_label_value(struct buf *b, const char *s)
{
    int rc = HUB_OK;

    for (; *s && rc == HUB_OK; s++) {
        if (*s == '\\')
            rc = buf_puts(b, "\\\\");
        else if (*s == '"')
            rc = buf_puts(b, "\\\"");
        else if (*s == '\n')
            rc = buf_puts(b, "\\n");
        else
            rc = buf_append(b, s, 1);
    }
    return rc;
}

static int render_metrics(const struct status_src *src, struct buf *out)
{
    struct hub_counters c;
    struct influx_out_stats w;
    struct prom p;
    struct buf label;
    int rc;

    hub_get_counters(src->hub, &c);
    influx_out_get_stats(hub_writer(src->hub), &w);
    buf_init(&label, 4096);
    rc = buf_puts(&label, "site=\"");
    if (rc == HUB_OK)
        rc = prom_label_value(&label, src->site ? src->site : "");
    if (rc == HUB_OK)
        rc = buf_puts(&label, "\"");
    if (rc != HUB_OK) {
        buf_free(&label);
        return rc;
    }
    p.b = out;
    p.label = label.data;
    p.err = 0;

    COUNTER(&p, "messages_received_total", "MQTT messages taken in.",
            c.messages_received);
    COUNTER(&p, "messages_decoded_total", "MQTT messages decoded without error.",
            c.messages_decoded);
    COUNTER(&p, "messages_rejected_total",
            "MQTT messages rejected: undecodable, or no reading accepted.",
            c.messages_rejected);
    COUNTER(&p, "readings_accepted_total",
            "Readings accepted and written to drum, tank or site.",
            c.readings_accepted);
    COUNTER(&p, "readings_rejected_total",
            "Readings that failed validation (written to sensor_fault).",
            c.readings_rejected);
    COUNTER(&p, "series_overflow_total",
            "Readings not stored because limits.max_series was reached.",
            c.series_overflow);
    COUNTER(&p, "fields_ignored_total", "JSON members the decoder skipped.",
            c.fields_ignored);
    COUNTER(&p, "events_total", "Operator events written.", c.events);
    COUNTER(&p, "encode_errors_total", "Lines the line protocol encoder refused.",
            c.encode_errors);
    prom_dbl(&p, "first_message_timestamp_seconds", "gauge",
             "Wall time of the first MQTT message, Unix seconds; 0 = none yet.",
             (double)c.first_rx_ns / 1e9);
    prom_dbl(&p, "last_message_timestamp_seconds", "gauge",
             "Wall time of the newest MQTT message, Unix seconds; 0 = none yet.",
             (double)c.last_rx_ns / 1e9);

    COUNTER(&p, "points_committed_total", "Points the InfluxDB writer took in.",
            w.points_committed);
    COUNTER(&p, "points_written_total", "Points InfluxDB accepted.",
            w.points_written);
    COUNTER(&p, "points_dropped_total", "Points the writer gave up on.",
            w.points_dropped);
    COUNTER(&p, "batches_written_total", "Batches InfluxDB accepted.",
            w.batches_written);
    COUNTER(&p, "write_errors_total",
            "InfluxDB answers that were not 2xx, and network errors.",
            w.write_errors);
    COUNTER(&p, "write_retries_total", "Batches scheduled for another try.",
            w.retries);
    COUNTER(&p, "batch_splits_total", "Batches split in two after a 413 answer.",
            w.splits);
    COUNTER(&p, "points_evicted_total",
            "Points that left memory for the spool (not lost).", w.points_evicted);
    COUNTER(&p, "points_replayed_total", "Points read back from the spool and sent.",
            w.points_replayed);
    COUNTER(&p, "writer_spool_errors_total",
            "Spool appends that failed, as the writer saw them.", w.spool_errors);
    GAUGE(&p, "queue_points", "Points waiting for InfluxDB or in flight.",
          w.queued_points);
    GAUGE(&p, "queue_bytes", "Bytes of line protocol waiting or in flight.",
          w.queued_bytes);
    GAUGE(&p, "replaying", "1 while older points are read back from the spool.",
          w.replaying ? 1 : 0);
    GAUGE(&p, "influx_write_failing",
          "1 while InfluxDB writes fail (since the last successful write).",
          src->health && src->health->write_failing ? 1 : 0);
    GAUGE(&p, "influx_failing_seconds",
          "Seconds since InfluxDB writes began failing; 0 when they work.",
          (uint64_t)failing_s(src));

    if (src->sp) {
        struct spool_stats s;

        spool_get_stats(src->sp, &s);
        GAUGE(&p, "spool_bytes", "Size of the spool's segment files.", s.bytes);
        GAUGE(&p, "spool_points_pending",
              "Points in the spool that InfluxDB has not acknowledged.",
              s.points_pending);
        COUNTER(&p, "spool_records_appended_total", "Records appended to the spool.",
                s.records_appended);
        COUNTER(&p, "spool_points_appended_total", "Points appended to the spool.",
                s.points_appended);
        COUNTER(&p, "spool_points_dropped_total",
                "Points lost to the spool's size cap.", s.points_dropped);
        COUNTER(&p, "spool_segments_dropped_total",
                "Segment files deleted by the spool's size cap.", s.segments_dropped);
        COUNTER(&p, "spool_torn_records_total",
                "Corrupt or cut spool records skipped.", s.torn_records);
        COUNTER(&p, "spool_append_errors_total",
                "Spool appends that failed (disk full, permissions).",
                s.append_errors);
        COUNTER(&p, "spool_fsyncs_total", "fsync calls on the spool.", s.fsyncs);
        GAUGE(&p, "spool_write_failing", "1 while spool appends fail.",
              src->health && src->health->spool_failing ? 1 : 0);
    }

    GAUGE(&p, "series", "Series (site, kind, id, field) tracked.",
          (uint64_t)hub_series_count(src->hub));
    GAUGE(&p, "resident_memory_bytes", "Resident set size of the hub process.",
          (uint64_t)(src->rss_kb > 0 ? src->rss_kb : 0) * 1024u);
    GAUGE(&p, "mqtt_connected", "1 while connected and subscribed to the broker.",
          src->mqtt_connected ? 1 : 0);
    GAUGE(&p, "healthy", "1 when /healthz answers 200.",
          (uint64_t)status_healthy(src, NULL, 0));
    prom_dbl(&p, "uptime_seconds", "gauge", "Seconds since the hub started.",
             src->now > src->started ? (double)(src->now - src->started) / 1000.0 : 0.0);
    prom_head(&p, "build_info", "gauge", "The hub's version, as a label; always 1.");
    if (buf_printf(out, "kompos_hub_build_info{%s,version=\"", p.label) != HUB_OK ||
        prom_label_value(out, src->version ? src->version : "") != HUB_OK ||
        buf_puts(out, "\"} 1\n") != HUB_OK)
        p.err = 1;
    buf_free(&label);
    return p.err ? HUB_ENOMEM : HUB_OK;
}

/* ---- /api/v1/state -------------------------------------------------- */

static void add_u64(cJSON *o, const char *name, uint64_t v)
{
    cJSON_AddNumberToObject(o, name, (double)v);
}

struct series_json {
    struct buf *out;
    int first;
    int err;
};

/* One series as a JSON object, printed and appended at once: the list of
 * up to limits.max_series objects never exists as one cJSON tree. */
static void series_one(const struct series *s, void *ctx)
{
    struct series_json *sj = ctx;
    cJSON *o;
    char *txt;

    if (sj->err)
        return;
    o = cJSON_CreateObject();
    if (!o) {
        sj->err = 1;
        return;
    }
    cJSON_AddStringToObject(o, "site", s->site);
    cJSON_AddStringToObject(o, "kind", s->kind);
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "field", s->field);
    if (s->has_valid)
        cJSON_AddNumberToObject(o, "last_value", s->last_valid);
    else
        cJSON_AddNullToObject(o, "last_value");
    if (s->last_ts_ns > 0)
        cJSON_AddNumberToObject(o, "last_ts_ms", (double)(s->last_ts_ns / 1000000));
    else
        cJSON_AddNullToObject(o, "last_ts_ms");
    add_u64(o, "accepted", s->accepted);
    add_u64(o, "rejected", s->rejected);
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt || (!sj->first && buf_puts(sj->out, ",") != HUB_OK) ||
        buf_puts(sj->out, txt) != HUB_OK)
        sj->err = 1;
    sj->first = 0;
    cJSON_free(txt);
}

static void add_num(cJSON *o, const char *name, double v)
{
    if (v == v && v - v == 0.0)     /* finite */
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void drum_one(const char *site, const char *id, const struct drum_metrics *m, void *ctx)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return;
    cJSON_AddStringToObject(o, "site", site);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "batch", m->batch);
    cJSON_AddStringToObject(o, "phase", drum_phase_name(m->phase));
    add_u64(o, "flags", m->flags);
    add_num(o, "t_core_c", m->t_core_c);
    add_num(o, "t_amb_c", m->t_amb_c);
    add_num(o, "delta_t_c", m->delta_t_c);
    add_num(o, "peak_t_core_c", m->peak_t_core_c);
    add_num(o, "hours_ge_55", m->hours_ge_55);
    cJSON_AddStringToObject(o, "pfrp_status", sanit_status_name(m->sanit));
    add_num(o, "batch_age_d", m->batch_age_d);
    add_num(o, "maturity_score", m->maturity_score);
    add_num(o, "est_days_to_mature", m->est_days_to_mature);
    cJSON_AddStringToObject(o, "est_method", m->est_method);
    cJSON_AddItemToArray(ctx, o);
}

static void tank_one(const char *site, const char *id, const struct tank_metrics *m, void *ctx)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return;
    cJSON_AddStringToObject(o, "site", site);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "batch", m->batch);
    cJSON_AddStringToObject(o, "recipe", m->recipe);
    cJSON_AddStringToObject(o, "phase", tank_phase_name(m->phase));
    add_num(o, "volume_l", m->volume_l);
    add_num(o, "fill_pct", m->fill_pct);
    add_num(o, "ph", m->ph);
    add_num(o, "litres_drawn_total", m->litres_drawn_total);
    add_num(o, "batch_age_d", m->batch_age_d);
    cJSON_AddItemToArray(ctx, o);
}

static cJSON *state_object(const struct status_src *src)
{
    struct hub_counters c;
    struct influx_out_stats w;
    const struct status_health *hl = src->health;
    char reason[256];
    int healthy = status_healthy(src, reason, sizeof(reason));
    cJSON *o = cJSON_CreateObject(), *x;

    if (!o)
        return NULL;
    hub_get_counters(src->hub, &c);
    influx_out_get_stats(hub_writer(src->hub), &w);
    cJSON_AddStringToObject(o, "version", src->version ? src->version : "");
    cJSON_AddStringToObject(o, "site", src->site ? src->site : "");
    cJSON_AddBoolToObject(o, "healthy", healthy);
    cJSON_AddStringToObject(o, "health", healthy ? "ok" : reason);
    add_u64(o, "uptime_s", src->now > src->started
                           ? (uint64_t)((src->now - src->started) / 1000) : 0);
    cJSON_AddNumberToObject(o, "time_ms", (double)(src->wall / 1000000));

    x = cJSON_AddObjectToObject(o, "mqtt");
    cJSON_AddBoolToObject(x, "connected", src->mqtt_connected);

    x = cJSON_AddObjectToObject(o, "counters");
    add_u64(x, "messages_received", c.messages_received);
    add_u64(x, "messages_decoded", c.messages_decoded);
    add_u64(x, "messages_rejected", c.messages_rejected);
    add_u64(x, "readings_accepted", c.readings_accepted);
    add_u64(x, "readings_rejected", c.readings_rejected);
    add_u64(x, "series_overflow", c.series_overflow);
    add_u64(x, "fields_ignored", c.fields_ignored);
    add_u64(x, "events", c.events);
    add_u64(x, "encode_errors", c.encode_errors);
    cJSON_AddNumberToObject(x, "first_rx_ms", (double)(c.first_rx_ns / 1000000));
    cJSON_AddNumberToObject(x, "last_rx_ms", (double)(c.last_rx_ns / 1000000));

    x = cJSON_AddObjectToObject(o, "writer");
    add_u64(x, "points_committed", w.points_committed);
    add_u64(x, "points_written", w.points_written);
    add_u64(x, "points_dropped", w.points_dropped);
    add_u64(x, "batches_written", w.batches_written);
    add_u64(x, "write_errors", w.write_errors);
    add_u64(x, "retries", w.retries);
    add_u64(x, "splits", w.splits);
    add_u64(x, "queued_points", w.queued_points);
    add_u64(x, "queued_bytes", w.queued_bytes);
    add_u64(x, "points_evicted", w.points_evicted);
    add_u64(x, "points_replayed", w.points_replayed);
    add_u64(x, "spool_errors", w.spool_errors);
    cJSON_AddBoolToObject(x, "replaying", w.replaying);
    cJSON_AddBoolToObject(x, "failing", hl && hl->write_failing);
    add_u64(x, "failing_s", (uint64_t)failing_s(src));
    if (hl && hl->have_write)
        cJSON_AddNumberToObject(x, "last_status", (double)hl->last_write_status);
    else
        cJSON_AddNullToObject(x, "last_status");

    if (src->sp) {
        struct spool_stats s;

        spool_get_stats(src->sp, &s);
        x = cJSON_AddObjectToObject(o, "spool");
        add_u64(x, "bytes", s.bytes);
        add_u64(x, "points_pending", s.points_pending);
        add_u64(x, "records_appended", s.records_appended);
        add_u64(x, "points_appended", s.points_appended);
        add_u64(x, "points_dropped", s.points_dropped);
        add_u64(x, "segments_dropped", s.segments_dropped);
        add_u64(x, "torn_records", s.torn_records);
        add_u64(x, "append_errors", s.append_errors);
        add_u64(x, "fsyncs", s.fsyncs);
        cJSON_AddBoolToObject(x, "failing", hl && hl->spool_failing);
    } else {
        cJSON_AddNullToObject(o, "spool");
    }
    if (hub_compost(src->hub)) {
        cJSON *d = cJSON_AddArrayToObject(o, "drums"), *t = cJSON_AddArrayToObject(o, "tanks");

        if (d)
            compost_foreach_drum(hub_compost(src->hub), drum_one, d);
        if (t)
            compost_foreach_tank(hub_compost(src->hub), tank_one, t);
    } else {
        cJSON_AddArrayToObject(o, "drums");
        cJSON_AddArrayToObject(o, "tanks");
    }
    add_u64(o, "series_count", (uint64_t)hub_series_count(src->hub));
    add_u64(o, "rss_kb", (uint64_t)(src->rss_kb > 0 ? src->rss_kb : 0));
    return o;
}

static int render_state(const struct status_src *src, struct buf *out)
{
    struct series_json sj;
    cJSON *o = state_object(src);
    char *txt;
    size_t n;
    int rc;

    if (!o)
        return HUB_ENOMEM;
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt)
        return HUB_ENOMEM;
    /* the object without its closing brace, then "series":[...]} */
    n = strlen(txt);
    rc = n >= 2 ? buf_append(out, txt, n - 1) : HUB_EINVAL;
    cJSON_free(txt);
    if (rc == HUB_OK)
        rc = buf_puts(out, ",\"series\":[");
    if (rc != HUB_OK)
        return rc;
    sj.out = out;
    sj.first = 1;
    sj.err = 0;
    hub_foreach_series(src->hub, series_one, &sj);
    if (sj.err)
        return HUB_ENOMEM;
    return buf_puts(out, "]}\n");
}

/* ---- / -------------------------------------------------------------- */

/* The page fills itself from api/v1/state (relative, so it also works
 * behind a proxy that adds a prefix); all values go in with textContent. */
static const char page_html[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\">\n"
"<head>\n"
"<meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<link rel=\"icon\" href=\"data:,\">\n"
"<title>kompos-hub</title>\n"
"<style>\n"
"body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafaf7; }\n"
"h1 { font-size: 1.4em; margin: 0 0 .3em; }\n"
"h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }\n"
"#health { display: inline-block; padding: .25em .7em; border-radius: .3em; font-weight: bold; }\n"
".ok { background: #d8f0d8; color: #145214; }\n"
".bad { background: #f6d5d5; color: #7a1010; }\n"
".grid { display: flex; flex-wrap: wrap; gap: 1.5em; }\n"
"table { border-collapse: collapse; font-size: .92em; }\n"
"th, td { padding: .15em .6em; text-align: left; border-bottom: 1px solid #e2e2dc; }\n"
"td.n { text-align: right; font-variant-numeric: tabular-nums; }\n"
"#updated { color: #666; font-size: .85em; }\n"
"</style>\n"
"</head>\n"
"<body>\n"
"<h1>kompos-hub <span id=\"site\"></span></h1>\n"
"<p><span id=\"health\">loading</span> <span id=\"updated\"></span></p>\n"
"<div class=\"grid\">\n"
"<section><h2>Hub</h2><table><tbody id=\"hub\"></tbody></table></section>\n"
"<section><h2>Messages</h2><table><tbody id=\"counters\"></tbody></table></section>\n"
"<section><h2>InfluxDB writer</h2><table><tbody id=\"writer\"></tbody></table></section>\n"
"<section><h2>Spool</h2><table><tbody id=\"spool\"></tbody></table></section>\n"
"</div>\n"
"<h2>Drums</h2>\n"
"<table>\n"
"<thead><tr><th>site</th><th>drum</th><th>batch</th><th>phase</th><th>core C</th><th>peak C</th>"
"<th>hours &ge; 55 C</th><th>sanitisation</th><th>age d</th><th>maturity</th>"
"<th>days to mature</th></tr></thead>\n"
"<tbody id=\"drums\"></tbody>\n"
"</table>\n"
"<h2>Tanks</h2>\n"
"<table>\n"
"<thead><tr><th>site</th><th>tank</th><th>batch</th><th>recipe</th><th>phase</th><th>litres</th>"
"<th>pH</th><th>drawn L</th></tr></thead>\n"
"<tbody id=\"tanks\"></tbody>\n"
"</table>\n"
"<h2>Series <span id=\"nseries\"></span></h2>\n"
"<table>\n"
"<thead><tr><th>site</th><th>kind</th><th>id</th><th>field</th><th>last value</th>"
"<th>last reading</th><th>accepted</th><th>rejected</th></tr></thead>\n"
"<tbody id=\"series\"></tbody>\n"
"</table>\n"
"<script>\n"
"\"use strict\";\n"
"const MAX_ROWS = 500;\n"
"function el(tag, text, cls) {\n"
"  const e = document.createElement(tag);\n"
"  if (text !== undefined) e.textContent = text;\n"
"  if (cls) e.className = cls;\n"
"  return e;\n"
"}\n"
"function show(v) {\n"
"  if (v === null || v === undefined) return \"-\";\n"
"  if (typeof v === \"boolean\") return v ? \"yes\" : \"no\";\n"
"  return String(v);\n"
"}\n"
"function when(ms) {\n"
"  return ms ? new Date(ms).toISOString().replace(\"T\", \" \").replace(/\\.\\d+Z$/, \" UTC\") : \"-\";\n"
"}\n"
"function pairs(id, obj) {\n"
"  const tb = document.getElementById(id);\n"
"  tb.replaceChildren();\n"
"  if (!obj) { tb.append(el(\"tr\")); tb.firstChild.append(el(\"td\", \"none\")); return; }\n"
"  for (const [k, v] of Object.entries(obj)) {\n"
"    const tr = el(\"tr\");\n"
"    tr.append(el(\"th\", k.replace(/_/g, \" \")), el(\"td\", show(v), typeof v === \"number\" ? \"n\" : \"\"));\n"
"    tb.append(tr);\n"
"  }\n"
"}\n"
"function render(s) {\n"
"  document.title = \"kompos-hub \" + s.site;\n"
"  document.getElementById(\"site\").textContent = s.site;\n"
"  const h = document.getElementById(\"health\");\n"
"  h.textContent = s.healthy ? \"healthy\" : s.health;\n"
"  h.className = s.healthy ? \"ok\" : \"bad\";\n"
"  pairs(\"hub\", { version: s.version, uptime_s: s.uptime_s, mqtt_connected: s.mqtt.connected,\n"
"                 series: s.series_count, rss_kb: s.rss_kb });\n"
"  const c = Object.assign({}, s.counters);\n"
"  c.first_rx = when(c.first_rx_ms); c.last_rx = when(c.last_rx_ms);\n"
"  delete c.first_rx_ms; delete c.last_rx_ms;\n"
"  pairs(\"counters\", c);\n"
"  pairs(\"writer\", s.writer);\n"
"  pairs(\"spool\", s.spool);\n"
"  const fx = (v, d) => (typeof v === \"number\" ? v.toFixed(d) : \"-\");\n"
"  const dt = document.getElementById(\"drums\");\n"
"  dt.replaceChildren();\n"
"  for (const x of (s.drums || []).slice(0, MAX_ROWS)) {\n"
"    const tr = el(\"tr\");\n"
"    tr.append(el(\"td\", x.site), el(\"td\", x.id), el(\"td\", x.batch || \"-\"), el(\"td\", x.phase),\n"
"              el(\"td\", fx(x.t_core_c, 1), \"n\"), el(\"td\", fx(x.peak_t_core_c, 1), \"n\"),\n"
"              el(\"td\", fx(x.hours_ge_55, 0), \"n\"), el(\"td\", x.pfrp_status),\n"
"              el(\"td\", fx(x.batch_age_d, 1), \"n\"), el(\"td\", fx(x.maturity_score, 2), \"n\"),\n"
"              el(\"td\", fx(x.est_days_to_mature, 0) + \" (\" + x.est_method + \")\"));\n"
"    dt.append(tr);\n"
"  }\n"
"  const tt = document.getElementById(\"tanks\");\n"
"  tt.replaceChildren();\n"
"  for (const x of (s.tanks || []).slice(0, MAX_ROWS)) {\n"
"    const tr = el(\"tr\");\n"
"    tr.append(el(\"td\", x.site), el(\"td\", x.id), el(\"td\", x.batch || \"-\"), el(\"td\", x.recipe),\n"
"              el(\"td\", x.phase), el(\"td\", fx(x.volume_l, 0), \"n\"), el(\"td\", fx(x.ph, 2), \"n\"),\n"
"              el(\"td\", fx(x.litres_drawn_total, 0), \"n\"));\n"
"    tt.append(tr);\n"
"  }\n"
"  const tb = document.getElementById(\"series\");\n"
"  tb.replaceChildren();\n"
"  for (const x of s.series.slice(0, MAX_ROWS)) {\n"
"    const tr = el(\"tr\");\n"
"    tr.append(el(\"td\", x.site), el(\"td\", x.kind), el(\"td\", x.id), el(\"td\", x.field),\n"
"              el(\"td\", show(x.last_value), \"n\"), el(\"td\", when(x.last_ts_ms)),\n"
"              el(\"td\", show(x.accepted), \"n\"), el(\"td\", show(x.rejected), \"n\"));\n"
"    tb.append(tr);\n"
"  }\n"
"  document.getElementById(\"nseries\").textContent = \"(\" + s.series_count +\n"
"    (s.series.length > MAX_ROWS ? \", first \" + MAX_ROWS + \" shown)\" : \")\");\n"
"}\n"
"async function load() {\n"
"  const u = document.getElementById(\"updated\");\n"
"  try {\n"
"    const r = await fetch(\"api/v1/state\", { cache: \"no-store\" });\n"
"    if (!r.ok) throw new Error(\"HTTP \" + r.status);\n"
"    render(await r.json());\n"
"    u.textContent = \"updated \" + new Date().toLocaleTimeString();\n"
"  } catch (e) {\n"
"    u.textContent = \"cannot load the state: \" + e.message;\n"
"    const h = document.getElementById(\"health\");\n"
"    h.textContent = \"unknown\";\n"
"    h.className = \"bad\";\n"
"  }\n"
"}\n"
"load();\n"
"setInterval(load, 5000);\n"
"</script>\n"
"</body>\n"
"</html>\n";

/* ---- dispatch ------------------------------------------------------- */

static int text_reply(struct buf *out, const char **ct, int status,
                      const char *text)
{
    *ct = CT_TEXT;
    if (buf_puts(out, text) != HUB_OK)
        return 500;
    return status;
}

/* POST /api/v1/alerts/<id>/ack: rest is "<id>/ack". */
static int ack_reply(const struct status_src *src, const char *method, const char *rest,
                     struct buf *out, const char **ct)
{
    char id[16];
    size_t n = 0;
    int rc;

    while (n < sizeof(id) - 1 && ((rest[n] >= 'a' && rest[n] <= 'z') ||
                                  (rest[n] >= 'A' && rest[n] <= 'Z') ||
                                  (rest[n] >= '0' && rest[n] <= '9')))
        n++;
    if (n == 0 || strcmp(rest + n, "/ack") != 0)
        return text_reply(out, ct, 404, "not found\n");
    if (strcmp(method, "POST") != 0)
        return text_reply(out, ct, 405, "method not allowed: use POST\n");
    memcpy(id, rest, n);
    id[n] = '\0';
    rc = hub_alert_ack(src->hub, id, "", src->wall);
    *ct = CT_JSON;
    if (rc == HUB_OK) {
        if (buf_printf(out, "{\"ok\":true,\"id\":\"%s\"}\n", id) != HUB_OK)
            return 500;
        return 200;
    }
    if (buf_printf(out, "{\"ok\":false,\"id\":\"%s\",\"error\":\"no firing alert with this id\"}\n",
                   id) != HUB_OK)
        return 500;
    return 404;
}

int status_render(const struct status_src *src, const char *method,
                  const char *path, struct buf *out, const char **content_type)
{
    size_t start = out->len;
    char reason[256];
    int rc, is_get = strcmp(method, "GET") == 0;

    if (strncmp(path, "/api/v1/alerts/", 15) == 0)
        return ack_reply(src, method, path + 15, out, content_type);
    if (strcmp(path, "/") != 0 && strcmp(path, "/healthz") != 0 &&
        strcmp(path, "/metrics") != 0 && strcmp(path, "/api/v1/state") != 0)
        return text_reply(out, content_type, 404, "not found\n");
    if (!is_get)
        return text_reply(out, content_type, 405, "method not allowed\n");

    if (strcmp(path, "/healthz") == 0) {
        if (status_healthy(src, reason, sizeof(reason)))
            return text_reply(out, content_type, 200, "ok\n");
        *content_type = CT_TEXT;
        if (buf_printf(out, "%s\n", reason) != HUB_OK)
            return 500;
        return 503;
    }
    if (strcmp(path, "/") == 0) {
        *content_type = CT_HTML;
        rc = buf_append(out, page_html, sizeof(page_html) - 1);
    } else if (strcmp(path, "/metrics") == 0) {
        *content_type = CT_METRICS;
        rc = render_metrics(src, out);
    } else {
        *content_type = CT_JSON;
        rc = render_state(src, out);
    }
    if (rc != HUB_OK) {
        buf_truncate(out, start);
        return text_reply(out, content_type, 500, "response too large\n");
    }
    return 200;
}
