/* SPDX-License-Identifier: MIT */
#include "series.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* The key is "site\x1fkind\x1fid\x1ffield": names never hold control
 * bytes (decode rejects them), so the separator cannot be forged. */
#define KEY_MAX (4 * HUB_NAME_MAX)

struct entry {
    struct series s;
    char key[KEY_MAX];
    size_t keylen;
    UT_hash_handle hh;
};

struct series_reg {
    struct entry *table;        /* uthash head; iteration = insertion order */
    size_t max_series;
    size_t ring_points;
    size_t count;
    uint64_t overflow;
};

struct series_reg *series_reg_new(size_t max_series, size_t ring_points)
{
    struct series_reg *r;

    if (max_series == 0 || ring_points == 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->max_series = max_series;
    r->ring_points = ring_points;
    return r;
}

void series_reg_free(struct series_reg *r)
{
    struct entry *e, *tmp;

    if (!r)
        return;
    HASH_ITER(hh, r->table, e, tmp) {
        HASH_DEL(r->table, e);
        ring_free(e->s.ring);
        if (e->s.ext && e->s.ext_free)
            e->s.ext_free(e->s.ext);
        free(e);
    }
    free(r);
}

static size_t make_key(char *key, const char *site, const char *kind,
                       const char *id, const char *field)
{
    const char *parts[4] = { site, kind, id, field };
    size_t n = 0, i, l;

    for (i = 0; i < 4; i++) {
        l = strnlen(parts[i], HUB_NAME_MAX - 1);
        memcpy(key + n, parts[i], l);
        n += l;
        key[n++] = '\x1f';
    }
    return n;
}

static void copy_name(char *dst, const char *src)
{
    size_t l = strnlen(src, HUB_NAME_MAX - 1);

    memcpy(dst, src, l);
    dst[l] = '\0';
}

struct series *series_get(struct series_reg *r, const char *site,
                          const char *kind, const char *id,
                          const char *field, int *created)
{
    char key[KEY_MAX];
    struct entry *e;
    size_t n = make_key(key, site, kind, id, field);

    if (created)
        *created = 0;
    HASH_FIND(hh, r->table, key, n, e);
    if (e)
        return &e->s;
    if (r->count >= r->max_series) {
        r->overflow++;
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->s.ring = ring_new(r->ring_points);
    if (!e->s.ring) {
        free(e);
        return NULL;
    }
    copy_name(e->s.site, site);
    copy_name(e->s.kind, kind);
    copy_name(e->s.id, id);
    copy_name(e->s.field, field);
    stats_window_init(&e->s.win);
    memcpy(e->key, key, n);
    e->keylen = n;
    HASH_ADD(hh, r->table, key, n, e);
    r->count++;
    if (created)
        *created = 1;
    return &e->s;
}

void series_reg_set_limits(struct series_reg *r, size_t max_series,
                           size_t ring_points)
{
    if (max_series)
        r->max_series = max_series;
    if (ring_points)
        r->ring_points = ring_points;
}

size_t series_reg_count(const struct series_reg *r)
{
    return r->count;
}

uint64_t series_reg_overflow(const struct series_reg *r)
{
    return r->overflow;
}

void series_reg_foreach(struct series_reg *r,
                        void (*fn)(struct series *s, void *ctx), void *ctx)
{
    struct entry *e, *tmp;

    HASH_ITER(hh, r->table, e, tmp) {
        fn(&e->s, ctx);
    }
}
