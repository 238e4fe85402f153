/* SPDX-License-Identifier: MIT */
#include "ring.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_ALLOC 16
#define MAX_CAPACITY (1u << 24)

struct slot {
    int32_t dt_ms;      /* ms from base_ms          */
    float v;
};

struct ring {
    size_t cap;         /* capacity in samples                       */
    size_t alloc;       /* slots allocated, <= cap                   */
    size_t head;        /* index of the next write                   */
    size_t count;       /* samples held, <= alloc                    */
    int64_t base_ms;    /* time origin of the offsets                */
    struct slot *s;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

struct ring *ring_new(size_t capacity)
{
    struct ring *r;

    if (capacity == 0 || capacity > MAX_CAPACITY)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cap = capacity;
    r->alloc = capacity < FIRST_ALLOC ? capacity : FIRST_ALLOC;
    r->s = malloc(r->alloc * sizeof(*r->s));
    if (!r->s) {
        free(r);
        return NULL;
    }
    return r;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    free(r->s);
    free(r);
}

/* Grow a full ring, oldest sample first in the new array. */
static int grow(struct ring *r)
{
    size_t n = r->alloc * 2 > r->cap ? r->cap : r->alloc * 2;
    struct slot *ns = malloc(n * sizeof(*ns));
    size_t tail = r->alloc - r->head;

    if (!ns)
        return -1;
    memcpy(ns, r->s + r->head, tail * sizeof(*ns));
    memcpy(ns + tail, r->s, r->head * sizeof(*ns));
    free(r->s);
    r->s = ns;
    r->head = r->count;
    r->alloc = n;
    return 0;
}

static int32_t clamp32(int64_t d)
{
    if (d > INT32_MAX)
        return INT32_MAX;
    if (d < INT32_MIN)
        return INT32_MIN;
    return (int32_t)d;
}

/* Move the origin to new_base, re-expressing every stored offset. */
static void rebase(struct ring *r, int64_t new_base)
{
    size_t i, idx;

    for (i = 0; i < r->count; i++) {
        idx = (r->head + r->alloc - 1 - i) % r->alloc;
        r->s[idx].dt_ms = clamp32(r->base_ms + r->s[idx].dt_ms - new_base);
    }
    r->base_ms = new_base;
}

int ring_push(struct ring *r, int64_t ts_ns, double v)
{
    int64_t ms = floor_div(ts_ns, 1000000), d;
    int rc = 0;

    if (r->count == 0)
        r->base_ms = ms;
    d = ms - r->base_ms;
    if (d > INT32_MAX || d < INT32_MIN) {
        rebase(r, ms);
        d = 0;
    }
    if (r->count == r->alloc && r->alloc < r->cap && grow(r) != 0)
        rc = -1;
    if (r->count == r->alloc) {
        if (rc == 0)
            rc = 1;
    } else {
        r->count++;
    }
    r->s[r->head].dt_ms = (int32_t)d;
    r->s[r->head].v = (float)v;
    r->head = r->head + 1 == r->alloc ? 0 : r->head + 1;
    return rc;
}

int ring_get(const struct ring *r, size_t i, struct sample *out)
{
    size_t idx;

    if (i >= r->count)
        return 0;
    idx = (r->head + r->alloc - 1 - i) % r->alloc;
    out->ts_ns = (r->base_ms + r->s[idx].dt_ms) * 1000000;
    out->v = (double)r->s[idx].v;
    return 1;
}

size_t ring_count(const struct ring *r)
{
    return r->count;
}

size_t ring_capacity(const struct ring *r)
{
    return r->cap;
}
