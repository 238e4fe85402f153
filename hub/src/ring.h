/* SPDX-License-Identifier: MIT */
/* ring.h - fixed-capacity ring buffer of (timestamp, value) samples.
 *
 * One ring per series. When full, the oldest sample is overwritten.
 * Not thread-safe: owned and used by the loop thread only. */
#ifndef HUB_RING_H
#define HUB_RING_H

#include <stddef.h>
#include <stdint.h>

struct sample {
    int64_t ts_ns;      /* reading time, ns since the epoch */
    double v;
};

struct ring;            /* opaque */

/* Create a ring holding up to 'capacity' samples (capacity >= 1).
 * Returns NULL on allocation failure or capacity == 0. Free with ring_free. */
struct ring *ring_new(size_t capacity);

/* Free the ring. Accepts NULL. Cannot fail. */
void ring_free(struct ring *r);

/* Append a copy of the sample. Returns 1 if the oldest sample was dropped
 * to make room, else 0. Cannot fail. */
int ring_push(struct ring *r, int64_t ts_ns, double v);

/* Borrow the i-th newest sample (0 = newest). NULL if i >= count.
 * The pointer is valid until the next ring_push() on this ring. */
const struct sample *ring_peek(const struct ring *r, size_t i);

size_t ring_count(const struct ring *r);
size_t ring_capacity(const struct ring *r);

#endif /* HUB_RING_H */
