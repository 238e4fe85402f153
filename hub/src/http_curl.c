/* SPDX-License-Identifier: MIT */
#include "http_curl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_KEEP 1024          /* bytes of an answer body kept for logs */

/* One request of another user (notifications). */
struct call {
    CURL *easy;                 /* created on first use, then reused      */
    struct curl_slist *hdrs;
    int busy;
    http_response_cb done;
    void *ctx;
    char body[HTTP_RESP_BODY_MAX + 1];
    size_t body_len;
    long retry_after_s;
    char errbuf[CURL_ERROR_SIZE];
};

struct http_curl {
    CURLM *multi;
    CURL *easy;                 /* reused: keeps the connection alive     */
    struct curl_slist *hdrs;
    int busy;
    http_done_cb done;
    void *ctx;
    char body[BODY_KEEP + 1];
    size_t body_len;
    long retry_after_s;
    char errbuf[CURL_ERROR_SIZE];
    struct call calls[HTTP_CALL_SLOTS];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct http_curl *h = ud;
    size_t len = size * n, room = BODY_KEEP - h->body_len;

    if (room > len)
        room = len;
    memcpy(h->body + h->body_len, p, room);
    h->body_len += room;
    h->body[h->body_len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct http_curl *h = ud;
    size_t len = size * n;
    char tmp[64];

    if (len > 12 && len < sizeof(tmp) && strncasecmp(p, "Retry-After:", 12) == 0) {
        memcpy(tmp, p + 12, len - 12);
        tmp[len - 12] = '\0';
        h->retry_after_s = strtol(tmp, NULL, 10);   /* HTTP-date form: 0 */
    }
    return len;
}

static long parse_retry_after(const char *p, size_t len)
{
    char tmp[64];

    if (len > 12 && len < sizeof(tmp) && strncasecmp(p, "Retry-After:", 12) == 0) {
        memcpy(tmp, p + 12, len - 12);
        tmp[len - 12] = '\0';
        return strtol(tmp, NULL, 10);   /* HTTP-date form: 0 */
    }
    return -2;
}

static size_t on_call_body(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n, room = HTTP_RESP_BODY_MAX - c->body_len;

    if (room > len)
        room = len;
    memcpy(c->body + c->body_len, p, room);
    c->body_len += room;
    c->body[c->body_len] = '\0';
    return len;
}

static size_t on_call_header(char *p, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    long ra = parse_retry_after(p, len);

    if (ra != -2)
        c->retry_after_s = ra < 0 ? 0 : ra;
    return len;
}

struct http_curl *http_curl_new(http_done_cb done, void *ctx)
{
    static int global_done;
    struct http_curl *h;

    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_done = 1;
    }
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (!h->multi || !h->easy) {
        http_curl_free(h);
        return NULL;
    }
    h->done = done;
    h->ctx = ctx;
    return h;
}

void http_curl_free(struct http_curl *h)
{
    unsigned i;

    if (!h)
        return;
    for (i = 0; i < HTTP_CALL_SLOTS; i++) {
        http_curl_cancel(h, (int)i);
        if (h->calls[i].easy)
            curl_easy_cleanup(h->calls[i].easy);
        curl_slist_free_all(h->calls[i].hdrs);
    }
    if (h->busy)
        curl_multi_remove_handle(h->multi, h->easy);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->hdrs);
    free(h);
}

int http_curl_post(void *ctx, const char *url, const char *const *headers,
                   const void *body, size_t len, long timeout_ms)
{
    struct http_curl *h = ctx;
    struct curl_slist *l = NULL, *t;
    CURL *e = h->easy;
    size_t i;

    if (h->busy)
        return -1;
    for (i = 0; headers && headers[i]; i++) {
        t = curl_slist_append(l, headers[i]);
        if (!t) {
            curl_slist_free_all(l);
            return -1;
        }
        l = t;
    }
    /* "Expect: 100-continue" costs a round trip per batch; turn it off. */
    t = curl_slist_append(l, "Expect:");
    if (!t) {
        curl_slist_free_all(l);
        return -1;
    }
    l = t;
    curl_slist_free_all(h->hdrs);
    h->hdrs = l;
    h->body_len = 0;
    h->body[0] = '\0';
    h->errbuf[0] = '\0';
    h->retry_after_s = -1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "kompos-hub/" KOMPOS_VERSION);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        return -1;
    h->busy = 1;
    return 0;
}

int http_curl_wait(struct http_curl *h, struct hub_pollfd *fds, unsigned n,
                   int timeout_ms)
{
    struct curl_waitfd w[8];
    unsigned i;
    int numfds = 0;
    CURLMcode mc;

    if (n > 8)
        n = 8;
    for (i = 0; i < n; i++) {
        w[i].fd = fds[i].fd;
        w[i].events = (short)(((fds[i].events & HUB_POLLIN) ? CURL_WAIT_POLLIN : 0) |
                              ((fds[i].events & HUB_POLLOUT) ? CURL_WAIT_POLLOUT : 0));
        w[i].revents = 0;
    }
    mc = curl_multi_poll(h->multi, w, n, timeout_ms, &numfds);
    for (i = 0; i < n; i++) {
        fds[i].revents = (short)(((w[i].revents & CURL_WAIT_POLLIN) ? HUB_POLLIN : 0) |
                                 ((w[i].revents & CURL_WAIT_POLLOUT) ? HUB_POLLOUT : 0) |
                                 ((w[i].revents & ~(CURL_WAIT_POLLIN | CURL_WAIT_POLLOUT))
                                  ? HUB_POLLIN : 0));
    }
    return mc == CURLM_OK ? 0 : -1;
}

static void call_done(struct http_curl *h, CURL *e, CURLcode result)
{
    struct http_response r;
    struct call *c = NULL;
    long status = 0;
    unsigned i;

    for (i = 0; i < HTTP_CALL_SLOTS; i++)
        if (h->calls[i].busy && h->calls[i].easy == e)
            c = &h->calls[i];
    curl_multi_remove_handle(h->multi, e);
    if (!c)
        return;
    memset(&r, 0, sizeof(r));
    if (result == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    r.status = status;
    r.retry_after_s = c->retry_after_s;
    r.body = c->body;
    r.body_len = c->body_len;
    r.neterr = result == CURLE_OK ? NULL
               : (c->errbuf[0] ? c->errbuf : curl_easy_strerror(result));
    c->busy = 0;
    if (c->done)
        c->done(c->ctx, &r);
}

void http_curl_perform(struct http_curl *h)
{
    struct influx_result res;
    CURLMsg *m;
    int running = 0, left = 0;
    long status = 0;

    curl_multi_perform(h->multi, &running);
    for (;;) {
        m = curl_multi_info_read(h->multi, &left);
        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        if (m->easy_handle != h->easy) {
            call_done(h, m->easy_handle, m->data.result);
            continue;
        }
        memset(&res, 0, sizeof(res));
        status = 0;
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        res.status = status;
        res.retry_after_s = h->retry_after_s;
        res.body = h->body;
        res.neterr = m->data.result == CURLE_OK ? NULL
                     : (h->errbuf[0] ? h->errbuf : curl_easy_strerror(m->data.result));
        curl_multi_remove_handle(h->multi, m->easy_handle);
        h->busy = 0;
        if (h->done)
            h->done(h->ctx, &res);
    }
}

int http_curl_busy(const struct http_curl *h)
{
    return h->busy;
}

int http_curl_request(struct http_curl *h, const struct http_request *rq,
                      http_response_cb done, void *ctx)
{
    struct curl_slist *l = NULL, *t;
    struct call *c = NULL;
    CURL *e;
    size_t i;
    int id = -1;

    if (!rq || !rq->url || rq->len > HTTP_REQ_BODY_MAX || (rq->len && !rq->body))
        return -1;
    for (i = 0; i < HTTP_CALL_SLOTS && !c; i++)
        if (!h->calls[i].busy) {
            c = &h->calls[i];
            id = (int)i;
        }
    if (!c)
        return -1;
    if (!c->easy) {
        c->easy = curl_easy_init();
        if (!c->easy)
            return -1;
    } else {
        curl_easy_reset(c->easy);       /* keeps the connection cache */
    }
    e = c->easy;
    for (i = 0; rq->headers && rq->headers[i]; i++) {
        t = curl_slist_append(l, rq->headers[i]);
        if (!t) {
            curl_slist_free_all(l);
            return -1;
        }
        l = t;
    }
    t = curl_slist_append(l, "Expect:");
    if (!t) {
        curl_slist_free_all(l);
        return -1;
    }
    l = t;
    curl_slist_free_all(c->hdrs);
    c->hdrs = l;
    c->body_len = 0;
    c->body[0] = '\0';
    c->errbuf[0] = '\0';
    c->retry_after_s = -1;
    c->done = done;
    c->ctx = ctx;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->len ? rq->body : "");
    if (rq->method && strcmp(rq->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->userpwd) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERPWD, rq->userpwd);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_call_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_call_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "kompos-hub/" KOMPOS_VERSION);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        return -1;
    c->busy = 1;
    return id;
}

void http_curl_cancel(struct http_curl *h, int id)
{
    struct call *c;

    if (!h || id < 0 || id >= HTTP_CALL_SLOTS)
        return;
    c = &h->calls[id];
    if (!c->busy)
        return;
    curl_multi_remove_handle(h->multi, c->easy);
    c->busy = 0;
}

unsigned http_curl_calls(const struct http_curl *h)
{
    unsigned i, n = 0;

    for (i = 0; i < HTTP_CALL_SLOTS; i++)
        n += h->calls[i].busy ? 1u : 0u;
    return n;
}
