/* SPDX-License-Identifier: MIT */
/* http_status.h - the status HTTP server: the only file that talks to
 * libmicrohttpd.
 *
 * MHD runs without threads of its own (MHD_USE_EPOLL, external polling):
 * the loop polls http_status_fd() (one epoll descriptor for the listening
 * socket and every connection) together with its other sockets, and calls
 * http_status_run() when that descriptor is readable or when
 * http_status_timeout() has passed. So requests are answered in the loop's
 * thread, and the render callback may read the hub's state directly.
 *
 * This adapter knows no paths: every request goes to the render callback,
 * which fills the body and returns the status. The adapter adds to every
 * answer "Cache-Control: no-store", "X-Content-Type-Options: nosniff",
 * "Referrer-Policy: no-referrer" and a Content-Security-Policy (an HTML
 * answer may use inline <script> and <style> and fetch() from its own
 * origin; nothing else loads), and "Allow: GET" to a 405. The request
 * body of any method is never read: a non-GET request is answered at once
 * (and its connection closed). Bounded: at most conn_limit connections,
 * each with conn_memory bytes for its headers and closed after
 * conn_timeout_s idle seconds; bodies are capped at HTTP_STATUS_BODY_MAX. */
#ifndef HUB_HTTP_STATUS_H
#define HUB_HTTP_STATUS_H

#include <stddef.h>

#include "buf.h"

#define HTTP_STATUS_BODY_MAX (32u * 1024u * 1024u)

struct http_status;             /* opaque */

/* Fill out (an empty buffer, capped at HTTP_STATUS_BODY_MAX) with the
 * answer to 'method' 'path' (no query string), set *content_type to a
 * string that lives at least until the next call, and return the HTTP
 * status. Called from http_status_run(), in the loop's thread. */
typedef int (*http_status_render_fn)(void *ctx, const char *method,
                                     const char *path, struct buf *out,
                                     const char **content_type);

struct http_status_cfg {
    const char *bind;           /* IPv4 or IPv6 literal: "127.0.0.1", "::1" */
    int port;                   /* 1..65535; 0 = any free port (tests)      */
    unsigned conn_limit;        /* 0 = 16                                   */
    unsigned conn_timeout_s;    /* 0 = 10                                   */
    size_t conn_memory;         /* per connection; 0 = 16 KiB               */
    http_status_render_fn render;
    void *ctx;
};

/* Listen on bind:port. Returns NULL with a message in err when the address
 * is not an IP literal or the socket cannot be bound (port in use, ...). */
struct http_status *http_status_new(const struct http_status_cfg *cfg,
                                    char *err, size_t errlen);

/* Close every connection and the listening socket. Accepts NULL. */
void http_status_free(struct http_status *hs);

/* The descriptor to poll for reading (MHD's epoll fd). */
int http_status_fd(const struct http_status *hs);

/* The port listened on (useful with port 0). */
int http_status_port(const struct http_status *hs);

/* Milliseconds after which http_status_run() must be called even if the
 * descriptor stays quiet (connection timeouts, data MHD already holds, and
 * a backstop: at least once a second). Never more than 1000. */
long http_status_timeout(struct http_status *hs);

/* Accept, read, answer, time out: everything that is ready. Never blocks
 * (the render callback runs inside). */
void http_status_run(struct http_status *hs);

#endif /* HUB_HTTP_STATUS_H */
