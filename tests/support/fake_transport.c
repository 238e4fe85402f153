/* SPDX-License-Identifier: MIT */
/* fake_transport.c - a recording fake of struct influx_transport; see
 * fake_transport.h. */
#include "fake_transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static char *fake_transport_dup(const void *p, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void fake_transport_req_free(struct fake_transport_req *r)
{
    size_t i;

    free(r->url);
    for (i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->raw);
    free(r->text);
    memset(r, 0, sizeof(*r));
}

char *fake_transport_gunzip(const void *p, size_t n, size_t *outlen)
{
    z_stream z;
    size_t cap = n * 4 + 256, used = 0;
    char *out = malloc(cap), *bigger;
    int rc;

    if (!out)
        return NULL;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    for (;;) {
        if (cap - used < 2) {
            bigger = realloc(out, cap * 2);
            if (!bigger)
                break;
            out = bigger;
            cap *= 2;
        }
        z.next_out = (Bytef *)out + used;
        z.avail_out = (uInt)(cap - used - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        used = cap - 1 - z.avail_out;
        if (rc == Z_STREAM_END) {
            if (z.avail_in != 0)      /* trailing garbage */
                break;
            inflateEnd(&z);
            out[used] = '\0';
            if (outlen)
                *outlen = used;
            return out;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            break;                    /* truncated stream */
    }
    inflateEnd(&z);
    free(out);
    return NULL;
}

static int fake_transport_post(void *ctx, const char *url,
                               const char *const *headers, const void *body,
                               size_t len, long timeout_ms)
{
    struct fake_transport *ft = ctx;
    struct fake_transport_req *r, *grown;
    size_t i, newcap;

    if (ft->refuse) {
        ft->refused++;
        return -1;
    }
    if (ft->nreqs == ft->cap) {
        newcap = ft->cap ? ft->cap * 2 : 16;
        grown = realloc(ft->reqs, newcap * sizeof(*grown));
        if (!grown)
            return -1;
        ft->reqs = grown;
        ft->cap = newcap;
    }
    r = &ft->reqs[ft->nreqs++];
    memset(r, 0, sizeof(*r));
    r->url = fake_transport_dup(url, strlen(url));
    for (i = 0; headers && headers[i] && i < FAKE_TRANSPORT_MAX_HEADERS; i++) {
        r->headers[i] = fake_transport_dup(headers[i], strlen(headers[i]));
        if (strcasecmp(headers[i], "Content-Encoding: gzip") == 0)
            r->gzip = 1;
    }
    r->nheaders = i;
    r->headers[i] = NULL;
    r->raw = (unsigned char *)fake_transport_dup(body, len);
    r->raw_len = len;
    r->timeout_ms = timeout_ms;
    if (r->gzip) {
        r->text = fake_transport_gunzip(body, len, &r->len);
        r->gunzip_ok = r->text != NULL;
    }
    if (!r->text) {
        /* plain, or a gzip body that did not inflate: show it as sent */
        r->text = fake_transport_dup(body, len);
        r->len = len;
    }
    return 0;
}

void fake_transport_init(struct fake_transport *ft)
{
    memset(ft, 0, sizeof(*ft));
}

void fake_transport_reset(struct fake_transport *ft)
{
    size_t i;

    for (i = 0; i < ft->nreqs; i++)
        fake_transport_req_free(&ft->reqs[i]);
    free(ft->reqs);
    free(ft->all);
    memset(ft, 0, sizeof(*ft));
}

struct influx_transport fake_transport_iface(struct fake_transport *ft)
{
    struct influx_transport t;

    t.ctx = ft;
    t.post = fake_transport_post;
    return t;
}

size_t fake_transport_count(const struct fake_transport *ft)
{
    return ft->nreqs;
}

const struct fake_transport_req *fake_transport_req(const struct fake_transport *ft,
                                                    size_t i)
{
    return i < ft->nreqs ? &ft->reqs[i] : NULL;
}

const struct fake_transport_req *fake_transport_last(const struct fake_transport *ft)
{
    return ft->nreqs ? &ft->reqs[ft->nreqs - 1] : NULL;
}

const char *fake_transport_header(const struct fake_transport_req *r,
                                  const char *name)
{
    size_t i, n = strlen(name);
    const char *v;

    for (i = 0; i < r->nheaders; i++) {
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
            v = r->headers[i] + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

int fake_transport_pending(const struct fake_transport *ft)
{
    size_t i;

    for (i = 0; i < ft->nreqs; i++) {
        if (!ft->reqs[i].answered)
            return 1;
    }
    return 0;
}

int fake_transport_answer(struct fake_transport *ft, struct influx_out *w,
                          long status, long retry_after_s, const char *body,
                          hub_mono_ms now)
{
    struct influx_result res;
    size_t i;

    for (i = 0; i < ft->nreqs && ft->reqs[i].answered; i++)
        ;
    if (i == ft->nreqs)
        return -1;
    /* mark first: influx_out_complete() may record the next POST, which
     * can move ft->reqs */
    ft->reqs[i].answered = 1;
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.retry_after_s = retry_after_s;
    res.body = body;
    res.neterr = status == 0 ? "fake network error" : NULL;
    influx_out_complete(w, &res, now);
    return 0;
}

const char *fake_transport_all_text(struct fake_transport *ft)
{
    size_t i, total = 0, n = 0;

    free(ft->all);
    ft->all = NULL;
    for (i = 0; i < ft->nreqs; i++)
        total += ft->reqs[i].len;
    ft->all = malloc(total + 1);
    if (!ft->all)
        return "";
    for (i = 0; i < ft->nreqs; i++) {
        memcpy(ft->all + n, ft->reqs[i].text, ft->reqs[i].len);
        n += ft->reqs[i].len;
    }
    ft->all[n] = '\0';
    return ft->all;
}
