/* SPDX-License-Identifier: MIT */
/* notify_send.c - outbox -> provider request -> http_curl / gammu file ->
 * classification -> outbox_result. See notify_send.h. */
#include "notify_send.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_err.h"

#define TICK_MAX 8                  /* attempts recorded per tick at most */

struct notify_send {
    struct outbox *ob;
    struct http_curl *http;
    struct notify_send_cfg cfg;
    notify_send_event_cb ev;
    void *ev_ctx;

    int inflight;                   /* an HTTP request runs               */
    int call_id;
    int answered;                   /* verdict below waits to be recorded */
    int ch;                         /* channel of the request in flight   */
    struct notify_verdict verdict;
    long http_status;

    struct outbox_entry e;          /* the entry being sent               */
    struct notify_request req;      /* scratch; wiped after each start    */
    unsigned char gbuf[NOTIFY_GAMMU_FILE_MAX];
};

struct notify_send *notify_send_new(struct outbox *ob, struct http_curl *h,
                                    const struct notify_send_cfg *cfg,
                                    notify_send_event_cb ev, void *ev_ctx)
{
    struct notify_send *s;

    if (!ob || !cfg)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ob = ob;
    s->http = h;
    s->cfg = *cfg;
    if (!s->cfg.gammu_priority)
        s->cfg.gammu_priority = 'A';
    if (s->cfg.timeout_ms <= 0)
        s->cfg.timeout_ms = 15000;
    s->ev = ev;
    s->ev_ctx = ev_ctx;
    s->call_id = -1;
    return s;
}

void notify_send_free(struct notify_send *s)
{
    if (!s)
        return;
    if (s->inflight && s->http)
        http_curl_cancel(s->http, s->call_id);
    if (s->inflight || s->answered)
        outbox_release(s->ob, s->e.key);
    memset(&s->req, 0, sizeof(s->req));
    free(s);
}

static void record(struct notify_send *s, const struct notify_verdict *v,
                   long status, int64_t now)
{
    struct outbox_outcome o = { v->cls, status, v->retry_after_s, v->provider_id,
                                v->reason };
    struct notify_send_event ev;
    struct outbox_entry after;

    outbox_result(s->ob, s->e.key, &o, now);    /* HUB_EIO: counted there */
    if (!s->ev)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.key = s->e.key;
    ev.member = s->e.member;
    ev.channel = s->e.channels[s->e.rung];
    ev.cls = v->cls;
    ev.http_status = status;
    ev.attempts = s->e.attempts + 1;
    ev.state = outbox_get(s->ob, s->e.key, &after) ? after.state : OUTBOX_DEAD;
    ev.provider_id = v->provider_id;
    ev.reason = v->reason;
    ev.rule = s->e.rule;
    ev.alert_id = s->e.alert_id;
    ev.site = s->e.site;
    s->ev(s->ev_ctx, &ev);
}

static void on_answer(void *ctx, const struct http_response *r)
{
    struct notify_send *s = ctx;
    struct notify_answer a = { r->status, r->retry_after_s, r->body, r->body_len,
                               r->neterr != NULL };

    notify_classify(s->ch, &a, &s->verdict);
    s->http_status = r->status;
    s->inflight = 0;
    s->call_id = -1;
    s->answered = 1;
}

static void fail(struct notify_send *s, int cls, const char *why, int64_t now)
{
    struct notify_verdict v;

    memset(&v, 0, sizeof(v));
    v.cls = cls;
    v.retry_after_s = -1;
    snprintf(v.reason, sizeof(v.reason), "%s: %s", s->e.channels[s->e.rung], why);
    record(s, &v, 0, now);
}

/* Write the gammu-smsd outbox file: tmp (ignored by gammu: no "OUT"
 * prefix) + fsync + rename, so gammu never reads half a file. */
static void send_gammu(struct notify_send *s, const struct notify_msg *m, int64_t now)
{
    char name[NOTIFY_GAMMU_NAME_MAX], path[1024], tmp[1024];
    struct notify_verdict v;
    size_t len = 0, off = 0;
    ssize_t w;
    int rc, fd;

    if (!s->cfg.gammu_outbox_dir) {
        fail(s, NOTIFY_PERMANENT, "not configured", now);
        return;
    }
    rc = notify_gammu_file(m, s->cfg.gammu_priority, now, name, s->gbuf, &len);
    if (rc != 0) {
        fail(s, NOTIFY_PERMANENT, rc == HUB_EREJECT ? "malformed phone or text"
                                                    : "bad priority", now);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", s->cfg.gammu_outbox_dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.kompos-%016llx.tmp", s->cfg.gammu_outbox_dir,
             (unsigned long long)m->key);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto io;
    while (off < len) {
        w = write(fd, s->gbuf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            unlink(tmp);
            goto io;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        goto io;
    }
    memset(&v, 0, sizeof(v));
    v.cls = NOTIFY_ACCEPTED;
    v.retry_after_s = -1;
    len = strnlen(name, sizeof(v.provider_id) - 1);   /* names are ~60 bytes */
    memcpy(v.provider_id, name, len);
    v.provider_id[len] = '\0';
    snprintf(v.reason, sizeof(v.reason), "gammu: queued");
    record(s, &v, 0, now);
    return;
io:
    fail(s, NOTIFY_RETRYABLE, "cannot write the outbox file", now);
}

/* Start the entry in s->e. 1 when an HTTP request now runs, 0 when the
 * attempt was recorded at once (gammu, refusals). */
static int start(struct notify_send *s, int64_t now)
{
    struct notify_msg m = { s->e.key, s->e.member, s->e.phone, s->e.text,
                            s->e.rule, s->e.alert_id, s->e.site };
    const char *hdrs[NOTIFY_HDR_MAX + 1];
    struct http_request rq;
    char err[NOTIFY_REASON_MAX];
    size_t i;
    int rc, id;

    s->ch = notify_channel_from_name(s->e.channels[s->e.rung]);
    if (s->ch == NOTIFY_GAMMU) {
        send_gammu(s, &m, now);
        return 0;
    }
    if (s->ch < 0 || !s->cfg.creds[s->ch].base_url || !s->http) {
        fail(s, NOTIFY_PERMANENT, "not configured", now);
        return 0;
    }
    rc = notify_build(s->ch, &m, &s->cfg.creds[s->ch], &s->req, err, sizeof(err));
    if (rc != 0) {
        struct notify_verdict v;

        memset(&v, 0, sizeof(v));
        v.cls = NOTIFY_PERMANENT;
        v.retry_after_s = -1;
        snprintf(v.reason, sizeof(v.reason), "%s", err);
        record(s, &v, 0, now);
        return 0;
    }
    for (i = 0; i < s->req.nheaders; i++)
        hdrs[i] = s->req.headers[i];
    hdrs[i] = NULL;
    memset(&rq, 0, sizeof(rq));
    rq.method = s->req.method;
    rq.url = s->req.url;
    rq.headers = hdrs;
    rq.body = s->req.body;
    rq.len = s->req.body_len;
    rq.timeout_ms = s->cfg.timeout_ms;
    id = http_curl_request(s->http, &rq, on_answer, s);
    memset(&s->req, 0, sizeof(s->req));         /* no secret left behind */
    if (id < 0) {
        outbox_release(s->ob, s->e.key);        /* due again after pacing */
        return -1;
    }
    s->call_id = id;
    s->inflight = 1;
    return 1;
}

int notify_send_tick(struct notify_send *s, int64_t now_ns)
{
    int n = 0, rc;

    if (s->answered) {
        s->answered = 0;
        record(s, &s->verdict, s->http_status, now_ns);
        n++;
    }
    while (!s->inflight && n < TICK_MAX) {
        if (outbox_next_due(s->ob, now_ns, &s->e) != 1)
            break;
        rc = start(s, now_ns);
        if (rc != 0)
            break;              /* running, or curl refused: next tick */
        n++;
    }
    return n;
}

int64_t notify_send_next_ns(const struct notify_send *s, int64_t now_ns)
{
    if (s->answered)
        return now_ns;
    if (s->inflight)
        return INT64_MAX;
    return outbox_next_due_ns(s->ob, now_ns);
}

int notify_send_busy(const struct notify_send *s)
{
    return s->inflight;
}
