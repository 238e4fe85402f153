/* SPDX-License-Identifier: MIT */
#include "ring.h"

#include <stdint.h>
#include <stdlib.h>

struct ring {
    size_t cap;         /* slots                              */
    size_t head;        /* index of the next write            */
    size_t count;       /* samples held, <= cap               */
    struct sample s[];  /* cap slots                          */
};

struct ring *ring_new(size_t capacity)
{
    struct ring *r;

    if (capacity == 0 || capacity > (SIZE_MAX - sizeof(*r)) / sizeof(struct sample))
        return NULL;
    r = malloc(sizeof(*r) + capacity * sizeof(struct sample));
    if (!r)
        return NULL;
    r->cap = capacity;
    r->head = 0;
    r->count = 0;
    return r;
}

void ring_free(struct ring *r)
{
    free(r);
}

int ring_push(struct ring *r, int64_t ts_ns, double v)
{
    int dropped = r->count == r->cap;

    r->s[r->head].ts_ns = ts_ns;
    r->s[r->head].v = v;
    r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
    if (!dropped)
        r->count++;
    return dropped;
}

const struct sample *ring_peek(const struct ring *r, size_t i)
{
    size_t idx;

    if (i >= r->count)
        return NULL;
    idx = (r->head + r->cap - 1 - i) % r->cap;
    return &r->s[idx];
}

size_t ring_count(const struct ring *r)
{
    return r->count;
}

size_t ring_capacity(const struct ring *r)
{
    return r->cap;
}
