/* SPDX-License-Identifier: MIT */
/* lineproto.h - InfluxDB line protocol encoder (pure; no I/O, no logging).
 *
 * One line is built with lp_begin(), any number of lp_tag() calls, at
 * least one lp_field_*() call, then lp_end(). Errors are sticky: after the
 * first failed call the later ones do nothing, and lp_end() removes every
 * byte of the unfinished line from the buffer and returns the first error.
 * A hostile name can therefore never leave half a line in a batch.
 *
 * Escaping follows the InfluxDB 1.x line protocol reference:
 *   measurement            ','  ' '            are backslash-escaped
 *   tag key / tag value    ','  '='  ' '       are backslash-escaped
 *   field key              ','  '='  ' '       are backslash-escaped
 *   string field value     '"'  '\\'           are backslash-escaped
 * Rejected with HUB_EINVAL (the protocol cannot carry them safely):
 *   - an empty measurement, tag key, tag value or field key;
 *   - any byte < 0x20 or 0x7f, or a backslash, in a measurement, tag key,
 *     tag value or field key (InfluxDB 1.x has no escape for a backslash
 *     in names: a trailing one escapes the separator after it, and one
 *     before ',', '=', ' ' or '"' is read back as an escape);
 *   - a measurement that starts with '#' (a comment line);
 *   - the field key or tag key "time" (InfluxDB 1.x drops such a point,
 *     or silently drops the field, and fails the request "partial write");
 *   - a non-finite float (NaN, +-Inf);
 *   - a timestamp outside [INT64_MIN + 2, INT64_MAX - 1] (InfluxDB 1.x
 *     cannot store it and fails to parse the line);
 *   - a series key (escaped measurement and tags) + 4 + a field key
 *     longer than 65535 bytes (InfluxDB 1.x MaxKeyLength: parse error).
 * In string field values, control bytes (< 0x20, 0x7f) are replaced by a
 * space, because a newline ends a line.
 * Floats are written with the fewest digits that read back to the same
 * double (%.15g, %.16g or %.17g), never with an 'i' suffix. Integers get
 * the 'i' suffix. Timestamps are nanoseconds since the Unix epoch.
 * Tags must be added in the order the caller wants them written; for the
 * best InfluxDB performance callers pass them sorted by key. */
#ifndef HUB_LINEPROTO_H
#define HUB_LINEPROTO_H

#include <stdint.h>
#include <stddef.h>

#include "buf.h"

struct lp_line {
    struct buf *b;      /* borrowed; lives at least until lp_end()  */
    size_t start;       /* b->len when the line was begun           */
    int nfields;        /* fields written so far                    */
    int err;            /* first error, HUB_OK if none              */
};

/* Start a line in b with the given measurement. */
void lp_begin(struct lp_line *l, struct buf *b, const char *measurement);

/* Append ",key=value". Must come before the first field. */
void lp_tag(struct lp_line *l, const char *key, const char *value);

/* Append a float field "key=1.5". */
void lp_field_float(struct lp_line *l, const char *key, double v);

/* Append an integer field "key=42i". */
void lp_field_int(struct lp_line *l, const char *key, int64_t v);

/* Append a string field key="text" (escaped as above). */
void lp_field_str(struct lp_line *l, const char *key, const char *v);

/* Append a boolean field key=true|false. */
void lp_field_bool(struct lp_line *l, const char *key, int v);

/* Finish the line with " <ts_ns>\n". Returns HUB_OK; or the first error
 * (HUB_EINVAL for bad input, HUB_ENOMEM for the buffer cap, HUB_EINVAL when
 * no field was added), in which case the buffer is back to its length at
 * lp_begin(). */
int lp_end(struct lp_line *l, int64_t ts_ns);

/* Is s usable as a measurement / tag / field name: non-empty, no byte
 * < 0x20 or 0x7f, no backslash? Returns 1 or 0 (0 for NULL). The '#' and
 * "time" rules depend on where the name goes and are not checked here. */
int lp_name_ok(const char *s);

/* Write the shortest decimal text of v that strtod() reads back exactly,
 * NUL-terminated. Returns the length, or -1 if v is not finite or out is
 * too small (32 bytes is always enough). Assumes the "C" LC_NUMERIC (the
 * hub never calls setlocale()). */
int lp_format_double(char *out, size_t outlen, double v);

#endif /* HUB_LINEPROTO_H */
