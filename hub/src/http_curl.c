/* SPDX-License-Identifier: MIT */
#include "http_curl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_KEEP 1024          /* bytes of an answer body kept for logs */

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
    if (!h)
        return;
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
