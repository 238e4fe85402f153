/* SPDX-License-Identifier: MIT */
#include "http_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "hub_err.h"
#include "log.h"

#define DEF_CONN_LIMIT   16
#define DEF_CONN_TIMEOUT 10
#define DEF_CONN_MEMORY  (16 * 1024)

#define CSP_DEFAULT "default-src 'none'; frame-ancestors 'none'"
#define CSP_HTML "default-src 'none'; script-src 'unsafe-inline'; " \
                 "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; " \
                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct http_status {
    struct MHD_Daemon *d;
    http_status_render_fn render;
    void *ctx;
    int epoll_fd;
    int port;
    hub_mono_ms last_run;       /* see http_status_timeout()           */
};

/* MHD's messages go to our log with the module prefix. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    LOG_WARN("http", "%s", line);
}

static int add_headers(struct MHD_Response *r, int status, const char *ct)
{
    int html = ct && strncmp(ct, "text/html", 9) == 0;

    return MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                   ct ? ct : "text/plain; charset=utf-8") == MHD_YES &&
           MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
           MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES &&
           MHD_add_response_header(r, "Referrer-Policy", "no-referrer") == MHD_YES &&
           MHD_add_response_header(r, "Content-Security-Policy",
                                   html ? CSP_HTML : CSP_DEFAULT) == MHD_YES &&
           (status != MHD_HTTP_METHOD_NOT_ALLOWED ||
            MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET") == MHD_YES);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    static int seen;            /* marks a GET whose headers were seen */
    struct http_status *hs = cls;
    struct MHD_Response *r;
    struct buf out;
    const char *ct = NULL;
    char *data;
    size_t len = 0;
    int status;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) {
        /* answer once the whole request is in; a body is read and ignored */
        if (!*req_cls) {
            *req_cls = &seen;
            return MHD_YES;
        }
        if (*upload_data_size) {
            *upload_data_size = 0;
            return MHD_YES;
        }
    }
    /* any other method is answered before its body is read: MHD then
     * discards the rest of the request and closes the connection */
    buf_init(&out, HTTP_STATUS_BODY_MAX);
    status = hs->render(hs->ctx, method, url, &out, &ct);
    data = buf_take(&out, &len);
    if (data)
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    else
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (!add_headers(r, status, ct)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    LOG_DEBUG("http", "%s %s -> %d (%zu bytes)", method, url, status, len);
    ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

struct http_status *http_status_new(const struct http_status_cfg *cfg,
                                    char *err, size_t errlen)
{
    struct http_status *hs;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

    if (!cfg->render || cfg->port < 0 || cfg->port > 65535) {
        snprintf(err, errlen, "http: bad arguments");
        return NULL;
    }
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, cfg->bind, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, cfg->bind, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "http.bind: '%s' is not an IPv4 or IPv6 address",
                 cfg->bind);
        return NULL;
    }
    hs = calloc(1, sizeof(*hs));
    if (!hs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hs->render = cfg->render;
    hs->ctx = cfg->ctx;
    errno = 0;
    hs->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, hs,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, hs,     /* first: see MHD docs */
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit ? cfg->conn_limit : DEF_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->conn_timeout_s ? cfg->conn_timeout_s : DEF_CONN_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->conn_memory ? cfg->conn_memory : (size_t)DEF_CONN_MEMORY,
        MHD_OPTION_END);
    if (!hs->d) {
        snprintf(err, errlen, "cannot listen on %s:%d%s%s", cfg->bind, cfg->port,
                 errno ? ": " : "", errno ? strerror(errno) : "");
        free(hs);
        return NULL;
    }
    info = MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_EPOLL_FD);
    hs->epoll_fd = info ? info->epoll_fd : -1;
    info = MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_BIND_PORT);
    hs->port = info ? (int)info->port : cfg->port;
    if (hs->epoll_fd < 0) {
        snprintf(err, errlen, "libmicrohttpd has no epoll descriptor");
        http_status_free(hs);
        return NULL;
    }
    hs->last_run = clock_mono_ms();
    return hs;
}

void http_status_free(struct http_status *hs)
{
    if (!hs)
        return;
    if (hs->d)
        MHD_stop_daemon(hs->d);
    free(hs);
}

int http_status_fd(const struct http_status *hs)
{
    return hs->epoll_fd;
}

int http_status_port(const struct http_status *hs)
{
    return hs->port;
}

/* MHD asks to be run again only for its own timers, but one case slips
 * through: while conn_limit connections are open it takes the listening
 * socket out of its epoll set, and puts it back only at the start of the
 * next MHD_run(); if the last one closes by time-out, nothing would make
 * the descriptor readable again. So a run in which connections went away
 * is followed by one more, and as a backstop the server is run at least
 * every BACKSTOP_MS while the loop is awake anyway (one epoll_wait). */
#define BACKSTOP_MS 1000

static unsigned open_connections(struct http_status *hs)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

    return info ? info->num_connections : 0;
}

long http_status_timeout(struct http_status *hs)
{
    MHD_UNSIGNED_LONG_LONG t;
    hub_mono_ms since = clock_mono_ms() - hs->last_run;
    long backstop = since >= BACKSTOP_MS ? 0 : (long)(BACKSTOP_MS - since);

    if (MHD_get_timeout(hs->d, &t) != MHD_YES || t > (MHD_UNSIGNED_LONG_LONG)backstop)
        return backstop;
    return (long)t;
}

void http_status_run(struct http_status *hs)
{
    unsigned before = open_connections(hs), after;
    int i;

    for (i = 0; i < 4; i++) {
        if (MHD_run(hs->d) != MHD_YES) {
            LOG_ERROR("http", "MHD_run failed");
            break;
        }
        after = open_connections(hs);
        if (after >= before)
            break;
        before = after;
    }
    hs->last_run = clock_mono_ms();
}
