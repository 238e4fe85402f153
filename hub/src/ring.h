/* SPDX-License-Identifier: MIT */
/* ring.h - fixed-capacity ring buffer of (timestamp, value) samples.
 *
 * One ring per series, holding its recent history. When full, the oldest
 * sample is overwritten. To keep 1000 series of an hour's history in a
 * few MiB, samples are stored compactly (8 bytes): the value as a float
 * (about 7 significant digits; out-of-range values become +-Inf) and the
 * time in milliseconds as a 32-bit offset from a per-ring origin (the
 * origin moves when needed; samples more than 24 days away from the
 * newest are clamped). Memory grows in steps up to the capacity, so a
 * series that reports rarely uses little.
 * Not thread-safe: owned and used by the loop thread only. */
#ifndef HUB_RING_H
#define HUB_RING_H

#include <stddef.h>
#include <stdint.h>

struct sample {
    int64_t ts_ns;      /* reading time, ns since the epoch (ms resolution) */
    double v;
};

struct ring;            /* opaque */

/* Create a ring holding up to 'capacity' samples (capacity >= 1).
 * Returns NULL on allocation failure or a capacity of 0 or too large.
 * Free with ring_free(). */
struct ring *ring_new(size_t capacity);

/* Free the ring. Accepts NULL. Cannot fail. */
void ring_free(struct ring *r);

/* Append a sample. Returns 1 if the oldest sample was dropped to make
 * room, 0 if not, and -1 if memory to grow could not be had (then the
 * oldest sample is dropped instead, as if the ring were full). */
int ring_push(struct ring *r, int64_t ts_ns, double v);

/* Copy the i-th newest sample (0 = newest) into *out. Returns 1, or 0 if
 * i >= count (and *out is untouched). */
int ring_get(const struct ring *r, size_t i, struct sample *out);

size_t ring_count(const struct ring *r);
size_t ring_capacity(const struct ring *r);

#endif /* HUB_RING_H */
