/* SPDX-License-Identifier: MIT */
/* fuzz_input.h - take typed values off the front of a fuzzer's input
 * (a C cousin of LLVM's FuzzedDataProvider), and the check that aborts.
 *
 * Every take_*() returns 0 (or an empty string) once the input is used
 * up, so a target never reads past it and short inputs still run. */
#ifndef KOMPOS_FUZZ_INPUT_H
#define KOMPOS_FUZZ_INPUT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fin {
    const uint8_t *p;
    size_t n;
};

/* FUZZ_CHECK(cond, fmt, ...): print what broke and abort(), so libFuzzer
 * stores the input as a crash. */
#define FUZZ_CHECK(cond, ...) do {                                          \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                 \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* FUZZ_EXPECT(tag, cond, fmt, ...): as FUZZ_CHECK, for a promise a known,
 * reported bug in hub/src still breaks. Evaluates to 1 when cond holds.
 * When it does not, it aborts unless the environment variable
 * KOMPOS_FUZZ_ALLOW lists tag (comma-separated, or "all"): then it
 * evaluates to 0 and the target skips what depends on the promise, so a
 * long run can look for other bugs meanwhile. Tags are listed in
 * README.md; unset, every check is strict (CI). */
#define FUZZ_EXPECT(tag, cond, ...) \
    ((cond) ? 1 : fuzz_known_failure((tag), __FILE__, __LINE__, #cond, __VA_ARGS__))

static inline int fuzz_allowed(const char *tag)
{
    const char *allow = getenv("KOMPOS_FUZZ_ALLOW");
    size_t n = strlen(tag);
    const char *p;

    if (!allow)
        return 0;
    if (strcmp(allow, "all") == 0)
        return 1;
    for (p = allow; (p = strstr(p, tag)) != NULL; p += n) {
        if ((p == allow || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    }
    return 0;
}

__attribute__((format(printf, 5, 6)))
static inline int fuzz_known_failure(const char *tag, const char *file, int line,
                                     const char *cond, const char *fmt, ...)
{
    va_list ap;

    if (fuzz_allowed(tag))
        return 0;
    fprintf(stderr, "%s:%d: check failed [%s]: %s: ", file, line, tag, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(a known bug: KOMPOS_FUZZ_ALLOW=%s skips it; see tests/fuzz/README.md)\n",
            tag);
    abort();
}

static inline int fin_empty(const struct fin *in)
{
    return in->n == 0;
}

static inline uint8_t take_u8(struct fin *in)
{
    uint8_t v;

    if (in->n == 0)
        return 0;
    v = in->p[0];
    in->p++;
    in->n--;
    return v;
}

static inline uint16_t take_u16(struct fin *in)
{
    uint16_t lo = take_u8(in);

    return (uint16_t)(lo | (uint16_t)take_u8(in) << 8);
}

static inline uint32_t take_u32(struct fin *in)
{
    uint32_t lo = take_u16(in);

    return lo | (uint32_t)take_u16(in) << 16;
}

static inline uint64_t take_u64(struct fin *in)
{
    uint64_t lo = take_u32(in);

    return lo | (uint64_t)take_u32(in) << 32;
}

/* Up to max bytes (fewer if the input ends); returns how many, *out
 * points into the input. */
static inline size_t take_bytes(struct fin *in, size_t max, const uint8_t **out)
{
    size_t n = max < in->n ? max : in->n;

    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

/* Bytes up to the next NUL (which is consumed) or the end, copied to a
 * NUL-terminated malloc'ed string. Returns NULL on no memory. */
static inline char *take_cstr(struct fin *in)
{
    const uint8_t *z = memchr(in->p, 0, in->n);
    size_t n = z ? (size_t)(z - in->p) : in->n;
    char *s = malloc(n + 1);

    if (!s)
        return NULL;
    memcpy(s, in->p, n);
    s[n] = '\0';
    in->p += n + (z ? 1 : 0);
    in->n -= n + (z ? 1 : 0);
    return s;
}

#endif /* KOMPOS_FUZZ_INPUT_H */
