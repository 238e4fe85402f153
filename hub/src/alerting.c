/* SPDX-License-Identifier: MIT */
/* alerting.c - see alerting.h. The glue: it logs, touches files and sends
 * through notify_send; the modules it drives (alert.c, route.c, msgtext.c,
 * outbox.c, notify.c) do none of that themselves. */
#include "alerting.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "drum.h"
#include "hub_err.h"
#include "lineproto.h"
#include "log.h"
#include "msgtext.h"
#include "notify.h"
#include "notify_send.h"
#include "outbox.h"
#include "route.h"
#include "series.h"
#include "tank.h"

#define NOTE_CACHE     256          /* recent notes kept to render texts     */
#define MAX_RULES      256
#define STATE_NAME     "alerts.state"
#define STATE_MAGIC    "# kompos-hub alert state v1\n"
#define SEC_ENGINE     "[engine]\n"
#define SEC_ROUTER     "[router]\n"
#define SECRET_MAX     512

struct alerting {
    const struct hub_config *cfg;
    struct influx_out *out;
    struct notify_send *sender;
    struct alert_engine *eng;
    struct router *rt;
    struct outbox *ob;
    enum msg_lang lang;
    char state_path[4096];
    char outbox_dir[4096];
    struct alert_note notes[NOTE_CACHE];    /* newest note per id, a ring   */
    size_t nnotes, note_next;
    int dirty;                              /* state to save                */
    hub_mono_ms now;
    int64_t last_alert_ts;
    int64_t last_note_ts;       /* notification points                    */
    hub_real_ns wall;
    struct alerting_counters n;
    struct outbox_counters ob_seen;
    struct ratelog save_log, send_log;
    /* gateway secrets, read once at start */
    char webhook_token[SECRET_MAX], twilio_token[SECRET_MAX];
    char whatsapp_token[SECRET_MAX], fonnte_token[SECRET_MAX];
};

/* ---- set-up ------------------------------------------------------------ */

static int read_secret(const char *file, const char *env, char *out, const char *what,
                       char *err, size_t errlen)
{
    char why[256];

    why[0] = '\0';
    if (config_read_secret(file, env, out, SECRET_MAX, why, sizeof(why)) != HUB_OK) {
        snprintf(err, errlen, "%s: %s", what, why);
        return HUB_EIO;
    }
    return HUB_OK;
}

/* The rule set: the built-in rules unless switched off, each replaced by a
 * configured rule of the same name and field, then the other configured
 * rules. */
/* The hub's own rules (issue 5: a full spool or a disk that refuses
 * writes is loud): fed from the self-metrics with kind "hub". */
static const struct alert_rule hub_rules[] = {
    { "HUB_SPOOL_DROPPED", "hub", "spool_dropping", OP_GE, 1, "", 0.5, 0, 600, 0,
      ALERT_CRIT, NAN, 0, "", "", "" },
    { "HUB_SPOOL_FAILING", "hub", "spool_failing", OP_GE, 1, "", 0.5, 60, 600, 0,
      ALERT_CRIT, NAN, 0, "", "", "" },
};

static size_t build_rules(const struct hub_config *cfg, struct alert_rule *r, size_t max)
{
    size_t n = cfg->alerts.default_rules ? alert_default_rules(r, max) : 0;

    for (size_t i = 0; cfg->alerts.default_rules && i < sizeof(hub_rules) / sizeof(hub_rules[0]) &&
                       n < max; i++)
        r[n++] = hub_rules[i];

    for (size_t i = 0; i < cfg->alerts.nrules; i++) {
        const struct alert_rule *c = &cfg->alerts.rules[i];
        size_t j;

        for (j = 0; j < n; j++)
            if (strcmp(r[j].name, c->name) == 0 && strcmp(r[j].field, c->field) == 0)
                break;
        if (j < n)
            r[j] = *c;
        else if (n < max)
            r[n++] = *c;
    }
    return n;
}

static void route_params_from(const struct hub_config *cfg, struct route_params *p)
{
    route_params_defaults(p);
    snprintf(p->quiet_start, sizeof(p->quiet_start), "%s", cfg->alerts.quiet_start);
    snprintf(p->quiet_end, sizeof(p->quiet_end), "%s", cfg->alerts.quiet_end);
    p->group_wait_s = cfg->alerts.group_wait_s;
    p->group_interval_s = cfg->alerts.group_interval_s;
    p->reminder_s[ROUTE_WARN] = cfg->alerts.reminder_warn_s;
    p->reminder_s[ROUTE_CRIT] = cfg->alerts.reminder_crit_s;
    p->escalate_after_s = cfg->alerts.escalate_after_s;
    snprintf(p->roles[ROUTE_INFO], sizeof(p->roles[ROUTE_INFO]), "%s", cfg->alerts.roles_info);
    snprintf(p->roles[ROUTE_WARN], sizeof(p->roles[ROUTE_WARN]), "%s", cfg->alerts.roles_warn);
    snprintf(p->roles[ROUTE_CRIT], sizeof(p->roles[ROUTE_CRIT]), "%s", cfg->alerts.roles_crit);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* ---- the state file --------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int save_state(struct alerting *a, char *err, size_t errlen)
{
    size_t cap = alert_save_bound(a->eng) + 64, rcap = 262144;
    char *eb = NULL, *rb = NULL, tmp[4200];
    int el, rl = HUB_EFULL, fd, ok;

    eb = malloc(cap);
    if (!eb)
        goto nomem;
    el = alert_save(a->eng, eb, cap);
    if (el < 0)
        goto nomem;
    while (rcap <= (size_t)16 << 20) {
        rb = malloc(rcap);
        if (!rb)
            goto nomem;
        rl = router_save(a->rt, rb, rcap);
        if (rl >= 0)
            break;
        free(rb);
        rb = NULL;
        rcap *= 4;
    }
    if (!rb || rl < 0)
        goto nomem;
    snprintf(tmp, sizeof(tmp), "%s.tmp", a->state_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%.300s: %s", tmp, strerror(errno));
        goto fail;
    }
    ok = write_all(fd, STATE_MAGIC, strlen(STATE_MAGIC)) == 0 &&
         write_all(fd, SEC_ENGINE, strlen(SEC_ENGINE)) == 0 &&
         write_all(fd, eb, (size_t)el) == 0 &&
         (el == 0 || eb[el - 1] == '\n' || write_all(fd, "\n", 1) == 0) &&
         write_all(fd, SEC_ROUTER, strlen(SEC_ROUTER)) == 0 &&
         write_all(fd, rb, (size_t)rl) == 0 && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, a->state_path) != 0) {
        snprintf(err, errlen, "%.300s: %s", a->state_path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    free(eb);
    free(rb);
    return HUB_OK;
nomem:
    snprintf(err, errlen, "out of memory while saving the alert state");
fail:
    free(eb);
    free(rb);
    return HUB_EIO;
}

static void save_now(struct alerting *a)
{
    char err[512];
    uint64_t held = 0;

    if (save_state(a, err, sizeof(err)) == HUB_OK) {
        a->dirty = 0;
        return;
    }
    a->n.state_save_errors++;
    if (ratelog_due(&a->save_log, a->now, &held))
        LOG_ERROR("alerts", "cannot save the alert state: %s; a restart now could repeat or "
                  "forget a message", err);
}

static void load_state(struct alerting *a)
{
    FILE *f = fopen(a->state_path, "r");
    char *text, *eng, *rtr;
    long len;

    if (!f) {
        if (errno != ENOENT)
            LOG_ERROR("alerts", "cannot read %s: %s; alert state starts afresh", a->state_path,
                      strerror(errno));
        return;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > (64L << 20) ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        LOG_ERROR("alerts", "%s: unreadable or too large; alert state starts afresh", a->state_path);
        return;
    }
    text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        free(text);
        fclose(f);
        LOG_ERROR("alerts", "%s: read error; alert state starts afresh", a->state_path);
        return;
    }
    fclose(f);
    text[len] = '\0';
    eng = strstr(text, SEC_ENGINE);
    rtr = strstr(text, "\n" SEC_ROUTER);
    if (strncmp(text, STATE_MAGIC, strlen(STATE_MAGIC)) != 0 || !eng || !rtr || rtr < eng) {
        LOG_ERROR("alerts", "%s: not an alert state file (damaged?); alert state starts afresh",
                  a->state_path);
        free(text);
        return;
    }
    rtr[1] = '\0';
    eng += strlen(SEC_ENGINE);
    rtr += 1 + strlen(SEC_ROUTER);
    if (alert_load(a->eng, eng) != HUB_OK)
        LOG_ERROR("alerts", "%s: the rule engine state is damaged; firing alerts start afresh",
                  a->state_path);
    if (router_load(a->rt, rtr) != HUB_OK)
        LOG_ERROR("alerts", "%s: the routing state is damaged; reminders and escalations start "
                  "afresh", a->state_path);
    free(text);
}

static void remember_active(const struct alert_note *n, void *ctx);

struct alerting *alerting_new(const struct hub_config *cfg, struct influx_out *out,
                              char *err, size_t errlen)
{
    struct alerting *a = calloc(1, sizeof(*a));
    struct alert_rule *rules = NULL;
    struct route_params rp;
    struct outbox_params op;
    size_t nrules;

    if (!a || !(rules = calloc(MAX_RULES, sizeof(*rules)))) {
        snprintf(err, errlen, "out of memory");
        free(a);
        return NULL;
    }
    a->cfg = cfg;
    a->out = out;
    a->save_log.interval_ms = 600000;
    a->send_log.interval_ms = 60000;
    if (msgtext_lang_parse(cfg->alerts.lang, &a->lang) != HUB_OK)
        a->lang = MSG_LANG_ID;
    if (read_secret(cfg->notify.webhook_token_file, "KOMPOS_WEBHOOK_TOKEN", a->webhook_token,
                    "notify.webhook_token_file", err, errlen) != HUB_OK ||
        read_secret(cfg->notify.twilio_token_file, "KOMPOS_TWILIO_TOKEN", a->twilio_token,
                    "notify.twilio_token_file", err, errlen) != HUB_OK ||
        read_secret(cfg->notify.whatsapp_token_file, "KOMPOS_WHATSAPP_TOKEN", a->whatsapp_token,
                    "notify.whatsapp_token_file", err, errlen) != HUB_OK ||
        read_secret(cfg->notify.fonnte_token_file, "KOMPOS_FONNTE_TOKEN", a->fonnte_token,
                    "notify.fonnte_token_file", err, errlen) != HUB_OK)
        goto fail;
    nrules = build_rules(cfg, rules, MAX_RULES);
    if (nrules == 0) {      /* the engine wants one rule: a harmless one */
        snprintf(rules[0].name, sizeof(rules[0].name), "NONE");
        snprintf(rules[0].kind, sizeof(rules[0].kind), "none");
        snprintf(rules[0].field, sizeof(rules[0].field), "none");
        rules[0].op = OP_GT;
        rules[0].threshold = 0;
        rules[0].clear_threshold = NAN;
        rules[0].crit_threshold = NAN;
        nrules = 1;
    }
    a->eng = alert_engine_new(rules, nrules, (size_t)cfg->alerts.max_instances);
    if (!a->eng) {
        snprintf(err, errlen, "alerts: cannot create the rule engine (a bad rule, or no memory)");
        goto fail;
    }
    route_params_from(cfg, &rp);
    a->rt = router_new(cfg->members, cfg->nmembers, &rp, err, errlen);
    if (!a->rt)
        goto fail;
    if (snprintf(a->state_path, sizeof(a->state_path), "%s/%s", cfg->alerts.state_dir,
                 STATE_NAME) >= (int)sizeof(a->state_path) ||
        snprintf(a->outbox_dir, sizeof(a->outbox_dir), "%s/outbox", cfg->alerts.state_dir)
        >= (int)sizeof(a->outbox_dir)) {
        snprintf(err, errlen, "alerts.state_dir: path too long");
        goto fail;
    }
    if (mkdir_p(cfg->alerts.state_dir) != 0) {
        snprintf(err, errlen, "alerts.state_dir %s: %s", cfg->alerts.state_dir, strerror(errno));
        goto fail;
    }
    outbox_params_default(&op);
    op.max_pending = (size_t)cfg->notify.max_pending;
    op.pace_ns = (int64_t)cfg->notify.pace_s * 1000000000LL;
    op.backoff_cap_ns = (int64_t)cfg->notify.retry_max_s * 1000000000LL;
    if (op.backoff_base_ns > op.backoff_cap_ns)
        op.backoff_base_ns = op.backoff_cap_ns;
    op.max_age_ns = (int64_t)cfg->notify.max_age_h * 3600LL * 1000000000LL;
    op.rung_max_fails = (unsigned)cfg->notify.rung_max_fails;
    a->ob = outbox_open(a->outbox_dir, &op, err, errlen);
    if (!a->ob)
        goto fail;
    load_state(a);
    alert_foreach_active(a->eng, remember_active, a);
    outbox_counters(a->ob, &a->ob_seen);
    if (a->ob_seen.pending)
        LOG_INFO("alerts", "%llu message(s) waiting in the outbox %s",
                 (unsigned long long)a->ob_seen.pending, a->outbox_dir);
    free(rules);
    return a;
fail:
    free(rules);
    alert_engine_free(a->eng);
    router_free(a->rt);
    outbox_close(a->ob);
    free(a);
    return NULL;
}

void alerting_free(struct alerting *a)
{
    if (!a)
        return;
    save_now(a);
    notify_send_free(a->sender);
    alert_engine_free(a->eng);
    router_free(a->rt);
    outbox_close(a->ob);
    free(a);
}

/* ---- notes ------------------------------------------------------------ */

static void cache_note(struct alerting *a, const struct alert_note *n)
{
    size_t i;

    for (i = 0; i < a->nnotes; i++)
        if (strcmp(a->notes[i].id, n->id) == 0) {
            a->notes[i] = *n;
            return;
        }
    a->notes[a->note_next] = *n;
    a->note_next = (a->note_next + 1) % NOTE_CACHE;
    if (a->nnotes < NOTE_CACHE)
        a->nnotes++;
}

static void remember_active(const struct alert_note *n, void *ctx)
{
    cache_note(ctx, n);
}

static const struct alert_note *find_note(const struct alerting *a, const char *id)
{
    for (size_t i = 0; i < a->nnotes; i++)
        if (strcasecmp(a->notes[i].id, id) == 0)
            return &a->notes[i];
    return NULL;
}

static void write_alert_point(struct alerting *a, const struct alert_note *n, hub_real_ns wall)
{
    struct lp_line l;
    struct buf *b = influx_out_open(a->out, a->now);
    int64_t ts = n->ts_ns > 0 ? n->ts_ns : wall;

    if (!b)
        return;
    if (ts <= a->last_alert_ts)
        ts = a->last_alert_ts + 1;
    a->last_alert_ts = ts;
    lp_begin(&l, b, "alert");
    lp_tag(&l, "id", n->obj_id[0] ? n->obj_id : "-");
    lp_tag(&l, "kind", n->kind[0] ? n->kind : "-");
    lp_tag(&l, "rule", n->rule);
    lp_tag(&l, "severity", alert_sev_name(n->severity));
    lp_tag(&l, "site", n->site[0] ? n->site : "-");
    lp_field_str(&l, "state", n->what == NOTE_FIRING ? "firing"
                              : n->what == NOTE_RESOLVED ? "resolved"
                              : n->what == NOTE_NODATA ? "nodata" : "nodata_end");
    lp_field_str(&l, "alert_id", n->id);
    lp_field_str(&l, "field", n->field);
    if (isfinite(n->value))
        lp_field_float(&l, "value", n->value);
    if (n->text[0])
        lp_field_str(&l, "text", n->text);
    if (isfinite(n->threshold))
        lp_field_float(&l, "threshold", n->threshold);
    if (lp_end(&l, ts) == HUB_OK)
        influx_out_commit(a->out, 1, a->now);
}

static void take_notes(struct alerting *a, hub_real_ns wall)
{
    struct alert_note n;

    while (alert_next_note(a->eng, &n)) {
        int firing = n.what == NOTE_FIRING || n.what == NOTE_NODATA;

        cache_note(a, &n);
        write_alert_point(a, &n, wall);
        if (n.what == NOTE_FIRING)
            a->n.fired++;
        else if (n.what == NOTE_RESOLVED)
            a->n.resolved++;
        else if (n.what == NOTE_NODATA)
            a->n.nodata++;
        LOG_INFO("alerts", "%s %s %s/%s/%s %s: %s%s", n.id, n.rule, n.site, n.kind, n.obj_id,
                 alert_sev_name(n.severity), alert_what_name(n.what),
                 n.escalated ? " (now crit)" : "");
        router_on_alert(a->rt, n.id, n.rule, n.site, n.kind, n.obj_id,
                        (enum route_sev)n.severity, firing, wall);
        a->dirty = 1;
    }
}

/* ---- deliveries -> outbox ---------------------------------------------- */

static const char *template_for(const struct alerting *a, const char *rule, enum msg_lang lang,
                                enum alert_note_what what)
{
    for (size_t i = 0; i < a->cfg->alerts.ntemplates; i++) {
        const struct cfg_template *t = &a->cfg->alerts.templates[i];
        enum msg_lang tl;

        if (strcmp(t->rule, rule) != 0 || msgtext_lang_parse(t->lang, &tl) != HUB_OK || tl != lang)
            continue;
        if (what == NOTE_RESOLVED || what == NOTE_NODATA_END)
            return t->resolved[0] ? t->resolved : NULL;
        return t->firing[0] ? t->firing : NULL;
    }
    return NULL;
}

/* The text of delivery d. Returns 0 and fills out, or -1 when there is
 * nothing to say (a "resolved" of event alerts only). */
static int render(struct alerting *a, const struct route_delivery *d, char *out, size_t len)
{
    struct alert_note notes[ROUTE_GROUP_MAX];
    enum msg_lang lang = a->lang;
    char body[NOTIFY_TEXT_MAX + 1];
    const char *prefix = "";
    size_t n = 0;
    int rc;

    if (d->lang[0])
        (void)msgtext_lang_parse(d->lang, &lang);
    for (size_t i = 0; i < d->nalerts && i < ROUTE_GROUP_MAX; i++) {
        const struct alert_note *x = find_note(a, d->alert_ids[i]);

        if (!x)
            continue;
        if (d->what == RD_RESOLVED && x->event_rule)
            continue;       /* "drum 3 is mature" has no end to announce */
        notes[n] = *x;
        if (d->what == RD_RESOLVED && notes[n].what == NOTE_FIRING)
            notes[n].what = NOTE_RESOLVED;
        n++;
    }
    if (n == 0) {
        if (d->what == RD_RESOLVED)
            return -1;
        snprintf(out, len, lang == MSG_LANG_EN ? "kompos-hub: alert %s at %s (details on the dashboard)."
                                               : "kompos-hub: peringatan %s di %s (lihat dasbor).",
                 d->nalerts ? d->alert_ids[0] : "?", d->site);
        return 0;
    }
    if (d->what == RD_REMINDER)
        prefix = lang == MSG_LANG_EN ? "Reminder: " : "Pengingat: ";
    else if (d->what == RD_ESCALATION)
        prefix = lang == MSG_LANG_EN ? "Not yet handled: " : "Belum ditangani: ";
    if (n == 1)
        rc = msgtext_render(template_for(a, notes[0].rule, lang, notes[0].what), lang, &notes[0],
                            body, sizeof(body));
    else
        rc = msgtext_group(lang, notes, n, body, sizeof(body));
    if (rc == HUB_EINVAL)       /* a configured template the checks let by */
        rc = msgtext_render(NULL, lang, &notes[0], body, sizeof(body));
    if (rc < 0 && rc != HUB_ENOMEM)
        return -1;
    {
        size_t pl = strlen(prefix), bl = strlen(body);

        if (len == 0)
            return -1;
        if (pl >= len)
            pl = len - 1;
        if (bl > len - 1 - pl)
            bl = len - 1 - pl;
        memcpy(out, prefix, pl);
        memcpy(out + pl, body, bl);
        out[pl + bl] = '\0';
    }
    return 0;
}

static void take_deliveries(struct alerting *a, hub_real_ns wall)
{
    struct route_delivery d;
    char text[NOTIFY_TEXT_MAX + 1], folded[NOTIFY_TEXT_MAX + 1];

    while (router_next(a->rt, wall, &d)) {
        const char *chans[ROUTE_MAX_CHANNELS];
        const struct alert_note *first = d.nalerts ? find_note(a, d.alert_ids[0]) : NULL;
        struct outbox_new on;
        size_t septets;
        int rc;

        a->dirty = 1;
        if (render(a, &d, text, sizeof(text)) != 0)
            continue;
        if (msgtext_gsm7_fold(text, folded, sizeof(folded), &septets) < 0)
            snprintf(folded, sizeof(folded), "%s", text);
        for (size_t i = 0; i < d.nchannels; i++)
            chans[i] = d.channels[i];
        memset(&on, 0, sizeof(on));
        on.key = d.key;
        on.member = d.member;
        on.phone = d.phone;
        on.channels = chans;
        on.nchannels = d.nchannels;
        on.text = folded;
        on.rule = first ? first->rule : NULL;
        on.alert_id = d.nalerts ? d.alert_ids[0] : NULL;
        on.site = d.site;
        rc = outbox_add(a->ob, &on, wall);
        if (rc == HUB_OK) {
            a->n.deliveries++;
            LOG_INFO("alerts", "message for %s (%s, %zu alert(s)) queued: %s", d.member,
                     d.what == RD_RESOLVED ? "resolved" : d.what == RD_REMINDER ? "reminder"
                     : d.what == RD_ESCALATION ? "escalation" : "firing", d.nalerts, folded);
        } else {
            LOG_ERROR("alerts", "cannot queue the message for %s: %s", d.member, hub_strerror(rc));
        }
    }
}

/* ---- outbox -> gateways ------------------------------------------------ */

/* Credentials of channel ch (secrets borrowed from a); base_url NULL =
 * the channel is not configured. */
static void creds_for(const struct alerting *a, int ch, struct notify_creds *c)
{
    const struct hub_config *cfg = a->cfg;

    memset(c, 0, sizeof(*c));
    switch (ch) {
    case NOTIFY_WEBHOOK:
        c->base_url = cfg->notify.webhook_url[0] ? cfg->notify.webhook_url : NULL;
        c->token = a->webhook_token[0] ? a->webhook_token : NULL;
        break;
    case NOTIFY_TWILIO_SMS:
    case NOTIFY_TWILIO_WHATSAPP:
        c->base_url = cfg->notify.twilio_account_sid[0] ? cfg->notify.twilio_base_url : NULL;
        c->account_sid = cfg->notify.twilio_account_sid;
        c->auth_token = a->twilio_token;
        c->from = ch == NOTIFY_TWILIO_SMS ? cfg->notify.twilio_from : cfg->notify.twilio_whatsapp_from;
        break;
    case NOTIFY_WHATSAPP_CLOUD:
        c->base_url = cfg->notify.whatsapp_phone_number_id[0] ? cfg->notify.whatsapp_base_url : NULL;
        c->token = a->whatsapp_token;
        c->phone_number_id = cfg->notify.whatsapp_phone_number_id;
        c->api_version = cfg->notify.whatsapp_api_version;
        c->template_name = cfg->notify.whatsapp_template[0] ? cfg->notify.whatsapp_template : NULL;
        c->template_lang = cfg->notify.whatsapp_template_lang;
        break;
    case NOTIFY_FONNTE:
        c->base_url = cfg->notify.fonnte_base_url[0] ? cfg->notify.fonnte_base_url : NULL;
        c->token = a->fonnte_token;
        c->country_code = cfg->notify.fonnte_country_code;
        break;
    default:
        break;
    }
}

/* Log and count what the outbox did since the last look. */
static void watch_outbox(struct alerting *a)
{
    struct outbox_counters c;

    outbox_counters(a->ob, &c);
    if (c.dead > a->ob_seen.dead)
        LOG_ERROR("alerts", "%llu message(s) could not be delivered and were moved to %s/dead",
                  (unsigned long long)(c.dead - a->ob_seen.dead), a->outbox_dir);
    if (c.dropped > a->ob_seen.dropped)
        LOG_ERROR("alerts", "outbox full (notify.max_pending = %d): %llu message(s) refused",
                  a->cfg->notify.max_pending, (unsigned long long)(c.dropped - a->ob_seen.dropped));
    if (c.bad_files > a->ob_seen.bad_files)
        LOG_WARN("alerts", "%llu damaged outbox file(s) skipped",
                 (unsigned long long)(c.bad_files - a->ob_seen.bad_files));
    if (c.io_errors > a->ob_seen.io_errors)
        LOG_ERROR("alerts", "cannot write to the outbox %s (%llu errors): disk full or permissions?",
                  a->outbox_dir, (unsigned long long)c.io_errors);
    a->ob_seen = c;
    a->n.sent = c.sent;
    a->n.retried = c.retried;
    a->n.failed = c.failed;
    a->n.dead = c.dead;
    a->n.outbox_pending = c.pending;
    a->n.outbox_dropped = c.dropped;
}

/* One attempt's outcome (from notify_send): a notification point and a log
 * line. */
static void on_send_event(void *ctx, const struct notify_send_event *ev)
{
    struct alerting *a = ctx;
    const char *status;
    uint64_t held = 0;
    struct lp_line l;
    struct buf *b;
    int64_t ts = a->wall > a->last_note_ts ? a->wall : a->last_note_ts + 1;

    status = ev->cls == NOTIFY_ACCEPTED ? "sent"
             : ev->state == OUTBOX_DEAD ? "failed" : "retrying";
    b = influx_out_open(a->out, a->now);
    if (b) {
        lp_begin(&l, b, "notification");
        lp_tag(&l, "channel", ev->channel);
        lp_tag(&l, "member", ev->member);
        lp_tag(&l, "rule", ev->rule && ev->rule[0] ? ev->rule : "-");
        lp_field_str(&l, "status", status);
        lp_field_int(&l, "attempts", (int64_t)ev->attempts);
        lp_field_str(&l, "alert_id", ev->alert_id ? ev->alert_id : "");
        lp_field_int(&l, "http_status", ev->http_status);
        if (ev->reason && ev->reason[0])
            lp_field_str(&l, "reason", ev->reason);
        if (ev->provider_id && ev->provider_id[0])
            lp_field_str(&l, "provider_id", ev->provider_id);
        if (lp_end(&l, ts) == HUB_OK) {
            influx_out_commit(a->out, 1, a->now);
            a->last_note_ts = ts;
        }
    }
    if (ev->cls == NOTIFY_ACCEPTED)
        LOG_INFO("alerts", "message for %s sent by %s (attempt %u)%s%s", ev->member, ev->channel,
                 ev->attempts, ev->provider_id && ev->provider_id[0] ? ", id " : "",
                 ev->provider_id ? ev->provider_id : "");
    else if (ev->state == OUTBOX_DEAD)
        LOG_ERROR("alerts", "message for %s could not be delivered by any channel: %s",
                  ev->member, ev->reason ? ev->reason : "");
    else if (ratelog_due(&a->send_log, a->now, &held))
        LOG_WARN("alerts", "message for %s by %s not accepted: %s; it will be retried%s",
                 ev->member, ev->channel, ev->reason ? ev->reason : "",
                 held ? " (similar lines held back)" : "");
}

int alerting_attach_http(struct alerting *a, struct http_curl *h)
{
    struct notify_send_cfg sc;

    memset(&sc, 0, sizeof(sc));
    for (int ch = 0; ch < NOTIFY_NCHANNELS; ch++)
        creds_for(a, ch, &sc.creds[ch]);
    sc.gammu_outbox_dir = a->cfg->notify.gammu_outbox_dir[0] ? a->cfg->notify.gammu_outbox_dir : NULL;
    sc.gammu_priority = 'A';
    sc.timeout_ms = a->cfg->notify.timeout_ms;
    notify_send_free(a->sender);
    a->sender = notify_send_new(a->ob, h, &sc, on_send_event, a);
    return a->sender ? HUB_OK : HUB_ENOMEM;
}

/* ---- public ------------------------------------------------------------ */

void alerting_feed_num(struct alerting *a, const char *site, const char *kind,
                       const char *id, const char *field, double v, int64_t ts_ns,
                       hub_mono_ms now)
{
    alert_feed_num(a->eng, site, kind, id, field, v, ts_ns, now);
}

#define FAULT_WINDOW_NS (INT64_C(3600) * 1000000000)

static int faults_in_hour(const struct series *s, int64_t ts_ns)
{
    int n = 0;

    for (size_t i = 0; i < sizeof(s->faults_ts) / sizeof(s->faults_ts[0]); i++)
        if (s->faults_ts[i] && s->faults_ts[i] <= ts_ns && ts_ns - s->faults_ts[i] < FAULT_WINDOW_NS)
            n++;
    return n;
}

void alerting_series_fault(struct alerting *a, struct series *s, int64_t ts_ns, int weight,
                           hub_mono_ms now)
{
    const size_t cap = sizeof(s->faults_ts) / sizeof(s->faults_ts[0]);

    for (int i = 0; i < weight; i++) {
        s->faults_ts[s->faults_next % cap] = ts_ns;
        s->faults_next = (s->faults_next + 1) % cap;
    }
    alert_feed_num(a->eng, s->site, s->kind, s->id, "sensor_faults_1h",
                   (double)faults_in_hour(s, ts_ns), ts_ns, now);
}

void alerting_series_ok(struct alerting *a, struct series *s, int64_t ts_ns, hub_mono_ms now)
{
    const size_t cap = sizeof(s->faults_ts) / sizeof(s->faults_ts[0]);
    int64_t newest = 0;

    for (size_t i = 0; i < cap; i++)
        if (s->faults_ts[i] > newest)
            newest = s->faults_ts[i];
    /* only series with a fault in the last two hours: the rule needs values to clear */
    if (newest == 0 || ts_ns - newest > 2 * FAULT_WINDOW_NS)
        return;
    alert_feed_num(a->eng, s->site, s->kind, s->id, "sensor_faults_1h",
                   (double)faults_in_hour(s, ts_ns), ts_ns, now);
}

void alerting_on_drum(void *ctx, const char *site, const char *id,
                      const struct drum_metrics *m, int64_t ts_ns)
{
    struct alerting *a = ctx;
    hub_mono_ms now = a->now;

    alert_feed_text(a->eng, site, "drum", id, "phase", drum_phase_name(m->phase), ts_ns, now);
    /* sanitisation: PASS as soon as it is achieved; anything else only
     * once the batch has left the hot phase (DRUM_SANITISATION_NOT_
     * DEMONSTRATED means "it cooled down without passing"), PENDING before */
    {
        int after_hot = m->phase == DRUM_COOLING || m->phase == DRUM_CURING ||
                        m->phase == DRUM_MATURE || m->phase == DRUM_HARVESTED;

        alert_feed_text(a->eng, site, "drum", id, "pfrp_status",
                        m->sanit == SANIT_PASS || after_hot ? sanit_status_name(m->sanit)
                                                            : "PENDING", ts_ns, now);
    }
    if (isfinite(m->t_strat_c))
        alert_feed_num(a->eng, site, "drum", id, "t_strat_c", m->t_strat_c, ts_ns, now);
    if (isfinite(m->delta_t_c))
        alert_feed_num(a->eng, site, "drum", id, "delta_t_c", m->delta_t_c, ts_ns, now);
    if (isfinite(m->maturity_score))
        alert_feed_num(a->eng, site, "drum", id, "maturity_score", m->maturity_score, ts_ns, now);
    alert_feed_num(a->eng, site, "drum", id, "flags", (double)m->flags, ts_ns, now);
}

void alerting_on_tank(void *ctx, const char *site, const char *id,
                      const struct tank_metrics *m, int64_t ts_ns)
{
    struct alerting *a = ctx;
    hub_mono_ms now = a->now;

    alert_feed_text(a->eng, site, "tank", id, "phase", tank_phase_name(m->phase), ts_ns, now);
    if (isfinite(m->fill_pct)) {
        alert_feed_num(a->eng, site, "tank", id, "level_pct", m->fill_pct, ts_ns, now);
        alert_feed_num(a->eng, site, "tank", id, "volume_pct", m->fill_pct, ts_ns, now);
    }
    if (isfinite(m->net_drift_l_per_day))
        alert_feed_num(a->eng, site, "tank", id, "net_drift_l_per_day", m->net_drift_l_per_day,
                       ts_ns, now);
    if (m->ph_in_spec >= 0)
        alert_feed_num(a->eng, site, "tank", id, "ph_in_spec", (double)m->ph_in_spec, ts_ns, now);
    if (isfinite(m->days_since_calibration))
        alert_feed_num(a->eng, site, "tank", id, "days_since_calibration_ph",
                       m->days_since_calibration, ts_ns, now);
}

hub_mono_ms alerting_tick(struct alerting *a, hub_mono_ms now, hub_real_ns wall)
{
    int64_t due;
    hub_mono_ms next = 1000;

    a->now = now;
    alert_tick(a->eng, now);
    take_notes(a, wall);
    take_deliveries(a, wall);
    if (a->dirty)
        save_now(a);
    a->wall = wall;
    if (a->sender)
        (void)notify_send_tick(a->sender, wall);
    watch_outbox(a);
    due = router_next_due_ns(a->rt);
    if (due != INT64_MAX && due > wall && (due - wall) / 1000000 < next)
        next = (due - wall) / 1000000;
    due = a->sender ? notify_send_next_ns(a->sender, wall) : INT64_MAX;
    if (due != INT64_MAX && due > wall && (due - wall) / 1000000 < next)
        next = (due - wall) / 1000000;
    return next < 0 ? 0 : next;
}

int alerting_ack(struct alerting *a, const char *id, const char *member, hub_real_ns wall)
{
    int rc = router_ack(a->rt, id, member ? member : "", wall);

    if (rc != HUB_OK)
        return HUB_ENOENT;
    a->n.acks++;
    LOG_INFO("alerts", "alert %s acknowledged%s%s: no more reminders", id,
             member && member[0] ? " by " : "", member ? member : "");
    save_now(a);
    return HUB_OK;
}

int alerting_sms_in(struct alerting *a, const char *phone, const char *text, hub_real_ns wall)
{
    char id[ROUTE_ID_MAX];
    const char *who;

    if (!route_parse_sms_ack(text, id, sizeof(id)))
        return HUB_EINVAL;
    who = router_member_by_phone(a->rt, phone);
    return alerting_ack(a, id, who ? who : "", wall);
}

void alerting_get_counters(const struct alerting *a, struct alerting_counters *out)
{
    *out = a->n;
}
