/* SPDX-License-Identifier: MIT */
/* http_curl.h - the only file that talks to libcurl (multi interface).
 *
 * Runs one HTTP POST at a time without ever blocking the loop, and owns
 * the loop's single wait: http_curl_wait() is curl_multi_poll() with the
 * hub's other descriptors (MQTT socket, signal pipe) passed as extra fds,
 * so curl's own sockets and timers are served in the same wait. */
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

#endif /* HUB_HTTP_CURL_H */
