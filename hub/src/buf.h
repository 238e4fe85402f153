/* SPDX-License-Identifier: MIT */
/* buf.h - growable byte buffer with a hard size cap.
 *
 * Modelled on curl's dynbuf: buf_init() cannot fail and sets the cap;
 * appends fail with HUB_ENOMEM when the cap would be passed, and then the
 * buffer is left exactly as it was before the call. The contents are
 * always NUL-terminated (the NUL is not counted in len).
 * Not thread-safe. */
#ifndef HUB_BUF_H
#define HUB_BUF_H

#include <stddef.h>

struct buf {
    char *data;     /* NULL until the first append          */
    size_t len;     /* bytes used, without the trailing NUL  */
    size_t cap;     /* bytes allocated                       */
    size_t max;     /* the cap on len; 0 means no cap        */
};

/* Initialise an empty buffer that will hold at most 'max' bytes. Cannot fail. */
void buf_init(struct buf *b, size_t max);

/* Release the memory; the buffer is empty and usable again. Accepts NULL. */
void buf_free(struct buf *b);

/* Append n bytes. Returns HUB_OK or HUB_ENOMEM (cap or malloc); on error
 * the buffer is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. Same errors as buf_append(). */
int buf_puts(struct buf *b, const char *s);

/* printf-style append. Returns HUB_OK, HUB_ENOMEM or HUB_EINVAL. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Make sure at least n more bytes fit without another allocation. */
int buf_reserve(struct buf *b, size_t n);

/* Cut the contents back to 'len' bytes (no-op if len >= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Empty the buffer but keep its memory. */
void buf_reset(struct buf *b);

/* Hand the memory to the caller (free() it); the buffer becomes empty.
 * Returns NULL if nothing was ever appended. */
char *buf_take(struct buf *b, size_t *len);

#endif /* HUB_BUF_H */
