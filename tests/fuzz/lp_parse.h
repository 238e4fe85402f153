/* SPDX-License-Identifier: MIT */
/* lp_parse.h - a reference parser for the line protocol the hub emits,
 * used as the oracle of the fuzz targets.
 *
 * It reads one line the way InfluxDB 1.x models/points.go does, for the
 * subset the encoder (hub/src/lineproto.h) writes, and is stricter than
 * InfluxDB where the encoder promises more:
 *   - a backslash escapes the byte after it; the measurement unescapes
 *     "\," and "\ ", tag keys, tag values and field keys "\," "\=" "\ ",
 *     string field values "\\" and "\"";
 *   - a raw backslash that escapes nothing, a control byte (< 0x20, 0x7f)
 *     anywhere, a line starting with '#', ' ' or ',', an empty name, an
 *     unescaped '=' in a tag value, a duplicate tag key or field key, a
 *     key "time", a float that is not finite or not in InfluxDB's number
 *     syntax, an integer that does not fit int64_t, a missing timestamp
 *     or one outside [INT64_MIN + 2, INT64_MAX - 1]: all refused.
 * Strings are unescaped into a caller-supplied arena, NUL-terminated. */
#ifndef KOMPOS_FUZZ_LP_PARSE_H
#define KOMPOS_FUZZ_LP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LP_PARSE_MAX 64         /* tags, and fields, per line */

enum lp_ptype { LP_P_FLOAT = 1, LP_P_INT, LP_P_STR, LP_P_BOOL };

struct lp_pfield {
    char *key;
    enum lp_ptype t;
    double f;
    int64_t i;
    int b;
    char *s;
};

struct lp_parsed {
    char *meas;
    size_t ntags;
    char *tk[LP_PARSE_MAX];
    char *tv[LP_PARSE_MAX];
    size_t nfields;
    struct lp_pfield f[LP_PARSE_MAX];
    int64_t ts;
};

/* Parse exactly one line: line[0, len) ends with its only '\n'. arena
 * receives the unescaped strings (p points into it) and must hold at
 * least len + 1 bytes. Returns 0, or -1 if InfluxDB would refuse the line
 * (or the rules above do). */
int lp_parse_line(const char *line, size_t len, struct lp_parsed *p,
                  char *arena, size_t arenalen);

/* Parse a batch: every '\n'-terminated line of body[0, len) with
 * lp_parse_line(); calls fn (if not NULL) for each parsed line. Returns
 * the number of lines, or -1 at the first line that does not parse (or
 * if the body does not end with '\n'). *bad (if not NULL) is set to the
 * offset of that line. */
long lp_parse_batch(const char *body, size_t len,
                    void (*fn)(const struct lp_parsed *p, void *ctx), void *ctx,
                    size_t *bad);

#endif /* KOMPOS_FUZZ_LP_PARSE_H */
