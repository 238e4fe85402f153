/* SPDX-License-Identifier: MIT */
/* http_curl.h - the only file that talks to libcurl (multi interface).
 *
 * Runs the InfluxDB writer's POSTs one at a time (http_curl_post) and, on
 * the same multi handle and concurrently, up to HTTP_CALL_SLOTS requests of
 * other users (http_curl_request: the notification sender), each with its
 * own done callback. Never blocks the loop, and owns the loop's single
 * wait: http_curl_wait() is curl_multi_poll() with the hub's other
 * descriptors (MQTT socket, signal pipe) passed as extra fds, so curl's own
 * sockets and timers are served in the same wait. */
#ifndef HUB_HTTP_CURL_H
#define HUB_HTTP_CURL_H

#include <stddef.h>

#include "influx_out.h"

struct http_curl;               /* opaque */

/* One extra descriptor for the wait (like struct pollfd). */
struct hub_pollfd {
    int fd;
    short events;               /* HUB_POLLIN | HUB_POLLOUT    */
    short revents;              /* filled by http_curl_wait()  */
};
#define HUB_POLLIN  0x1
#define HUB_POLLOUT 0x4

/* Called when a request ends; res and its strings are valid only during
 * the call. */
typedef void (*http_done_cb)(void *ctx, const struct influx_result *res);

/* Create the adapter (calls curl_global_init once). NULL on failure. */
struct http_curl *http_curl_new(http_done_cb done, void *ctx);

/* Abort any transfer and free. Accepts NULL. */
void http_curl_free(struct http_curl *h);

/* The transport entry point (struct influx_transport.post): start a POST.
 * ctx is the struct http_curl. headers and body are borrowed until done()
 * is called. Returns 0, or -1 if a request is already running or curl
 * refused to start it. */
int http_curl_post(void *ctx, const char *url, const char *const *headers,
                   const void *body, size_t len, long timeout_ms);

/* Wait up to timeout_ms for the extra fds or curl's sockets. Fills
 * revents. Returns 0, or -1 on a curl error. */
int http_curl_wait(struct http_curl *h, struct hub_pollfd *fds, unsigned n,
                   int timeout_ms);

/* Let curl make progress and report finished requests through done(). */
void http_curl_perform(struct http_curl *h);

/* 1 while a request is in flight. */
int http_curl_busy(const struct http_curl *h);

/* -- requests of other users (notifications) ------------------------------ */

#define HTTP_CALL_SLOTS     2
#define HTTP_REQ_BODY_MAX   (16 * 1024)     /* request body, copied      */
#define HTTP_RESP_BODY_MAX  (16 * 1024)     /* answer body kept          */

struct http_request {
    const char *method;             /* NULL = "POST"                     */
    const char *url;
    const char *const *headers;     /* "Name: value", NULL-terminated;
                                       may be NULL                       */
    const char *userpwd;            /* "user:password" for HTTP Basic
                                       auth, or NULL                     */
    const void *body;               /* may be NULL with len 0            */
    size_t len;                     /* <= HTTP_REQ_BODY_MAX              */
    long timeout_ms;
};

struct http_response {
    long status;                    /* 0 when no answer came             */
    long retry_after_s;             /* Retry-After seconds, -1 absent    */
    const char *body;               /* NUL-terminated, up to
                                       HTTP_RESP_BODY_MAX bytes kept     */
    size_t body_len;
    const char *neterr;             /* NULL, or curl's error text        */
};

/* Called once when a request ends; r and its strings are valid only
 * during the call. */
typedef void (*http_response_cb)(void *ctx, const struct http_response *r);

/* Start a request. Everything in rq is copied (curl keeps its own copies of
 * URL, headers, credentials and body), so rq may die after the call.
 * Returns the request's id (>= 0, for http_curl_cancel), or -1 when every
 * slot is busy, the body is too large or curl refused to start it. */
int http_curl_request(struct http_curl *h, const struct http_request *rq,
                      http_response_cb done, void *ctx);

/* Abort a request started by http_curl_request; its callback is not
 * called. Unknown or finished ids are ignored. */
void http_curl_cancel(struct http_curl *h, int id);

/* Requests of other users in flight (0..HTTP_CALL_SLOTS). */
unsigned http_curl_calls(const struct http_curl *h);

#endif /* HUB_HTTP_CURL_H */
