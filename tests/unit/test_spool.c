/* SPDX-License-Identifier: MIT */
/* test_spool.c - the disk spool (spool.h is the contract): append and read
 * back in order with exact bytes, points and positions; max_points and
 * read_until; segment rotation and file names; release (head, pending
 * points, deleted segments, the ack file and its once-a-second rate);
 * reopen and replay (also after a simulated kill -9); torn tails and
 * corrupt records (at open and while reading); the size cap; a capped
 * output buffer; append errors (RLIMIT_FSIZE, a missing folder, a
 * read-only folder); open errors; fsync batching; big and invalid
 * records. Every test works in its own mkdtemp() folder. */
#define _XOPEN_SOURCE 700          /* nftw() */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "check_main.h"
#include "hub_err.h"
#include "spool.h"

#define HDR 16                          /* record header, see spool.h     */
#define POS(seq, off) (((uint64_t)(seq) << 32) | (uint64_t)(off))
#define MAXREC 64
#define NOBODY 65534

static char rundir[64];                 /* one per run, removed at its end  */
static char tmpdir[96];                 /* one per test, inside rundir      */
static char spdir[128];                 /* the spool inside it             */
static int euid_dropped;                /* restore euid 0 in teardown      */
static struct rlimit fsize_saved;

/* ---- fixture -------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Unchecked (runs in the parent): a failed test exits its forked child
 * before its teardown, so what it leaves goes with the run's folder. */
static void run_setup(void)
{
    strcpy(rundir, "/tmp/test_spool.XXXXXX");
    if (!mkdtemp(rundir))
        abort();
}

static void run_teardown(void)
{
    nftw(rundir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", rundir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof(spdir), "%s/spool", tmpdir);
    euid_dropped = 0;
    getrlimit(RLIMIT_FSIZE, &fsize_saved);
}

static void teardown(void)
{
    if (euid_dropped && seteuid(0) == 0)
        euid_dropped = 0;
    setrlimit(RLIMIT_FSIZE, &fsize_saved);
    signal(SIGXFSZ, SIG_DFL);
    chmod(spdir, 0750);
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers -------------------------------------------------------- */

static struct spool_cfg mkcfg(uint64_t max_bytes, uint64_t segment_bytes,
                              hub_mono_ms fsync_ms)
{
    struct spool_cfg c;

    memset(&c, 0, sizeof(c));
    snprintf(c.dir, sizeof(c.dir), "%s", spdir);
    c.max_bytes = max_bytes;
    c.segment_bytes = segment_bytes;
    c.fsync_interval_ms = fsync_ms;
    return c;
}

static struct spool *open_ok(const struct spool_cfg *c)
{
    char err[256] = "";
    struct spool *s = spool_open(c, err, sizeof(err));

    ck_assert_msg(s != NULL, "spool_open(%s): %s", c->dir, err);
    return s;
}

/* Record i (1-based) has len bytes: "r<i>" then letters, '\n' last. */
static void gen(unsigned i, size_t len, char *out)
{
    char tag[16];
    size_t k, n = (size_t)snprintf(tag, sizeof(tag), "r%u ", i);

    for (k = 0; k < len; k++)
        out[k] = k < n ? tag[k] : (char)('a' + (i * 7 + k) % 26);
    out[len - 1] = '\n';
}

static uint32_t pts(unsigned i)
{
    return i % 4 + 1;
}

static uint64_t pts_sum(unsigned from, unsigned to)
{
    uint64_t n = 0;

    for (; from <= to; from++)
        n += pts(from);
    return n;
}

static void append_one(struct spool *s, unsigned i, size_t len, hub_mono_ms now)
{
    char *p = malloc(len);
    int rc;

    ck_assert_ptr_nonnull(p);
    gen(i, len, p);
    rc = spool_append(s, p, len, pts(i), now);
    free(p);
    ck_assert_msg(rc == HUB_OK, "append of record %u (%zu bytes): %d", i, len, rc);
}

static void append_range(struct spool *s, unsigned from, unsigned to, size_t len)
{
    for (; from <= to; from++)
        append_one(s, from, len, 0);
}

/* out must hold exactly the records ids[0..n-1], each len bytes. */
static void expect_records(const struct buf *out, const unsigned *ids, size_t n,
                           size_t len)
{
    struct buf want;
    char *p = malloc(len);
    size_t k;

    ck_assert_ptr_nonnull(p);
    buf_init(&want, 0);
    for (k = 0; k < n; k++) {
        gen(ids[k], len, p);
        ck_assert_int_eq(buf_append(&want, p, len), HUB_OK);
    }
    free(p);
    ck_assert_uint_eq(out->len, want.len);
    if (want.len) {
        ck_assert_msg(memcmp(out->data, want.data, want.len) == 0,
                      "records differ: got \"%.80s\"...", out->data);
        ck_assert_int_eq(out->data[out->len], '\0');
    }
    buf_free(&want);
}

static void expect_range(const struct buf *out, unsigned from, unsigned to, size_t len)
{
    unsigned ids[MAXREC];
    size_t n = 0;

    for (; from <= to; from++)
        ids[n++] = from;
    expect_records(out, ids, n, len);
}

/* Read from *pos until HUB_EAGAIN; returns the number of HUB_OK calls. */
static int read_all(struct spool *s, uint64_t *pos, struct buf *out, uint32_t *np)
{
    int rc, calls = 0;

    for (;;) {
        rc = spool_read(s, pos, out, UINT32_MAX, np);
        if (rc == HUB_EAGAIN)
            return calls;
        ck_assert_int_eq(rc, HUB_OK);
        ck_assert_int_lt(++calls, 10000);
    }
}

static struct spool_stats stats(const struct spool *s)
{
    struct spool_stats st;

    memset(&st, 0xa5, sizeof(st));
    spool_get_stats(s, &st);
    return st;
}

static void seg_name(uint64_t seq, char *out, size_t n)
{
    snprintf(out, n, "%s/%016llx.seg", spdir, (unsigned long long)seq);
}

static long file_size(uint64_t seq)
{
    char path[256];
    struct stat sb;

    seg_name(seq, path, sizeof(path));
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int seg_exists(uint64_t seq)
{
    return file_size(seq) >= 0;
}

/* Number of "*.seg" files in the spool folder. */
static int count_segs(void)
{
    char path[256];
    int n = 0;
    uint64_t seq;

    for (seq = 0; seq < 64; seq++) {
        seg_name(seq, path, sizeof(path));
        n += access(path, F_OK) == 0;
    }
    return n;
}

static int read_ack_file(unsigned long long *seq, unsigned long long *off)
{
    char path[256];
    FILE *f;
    int n;

    snprintf(path, sizeof(path), "%s/ack", spdir);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fscanf(f, "%llu %llu", seq, off);
    fclose(f);
    return n == 2;
}

static void expect_ack(uint64_t pos)
{
    unsigned long long seq = 0, off = 0;

    ck_assert_msg(read_ack_file(&seq, &off), "no readable ack file");
    ck_assert_uint_eq(seq, pos >> 32);
    ck_assert_uint_eq(off, pos & 0xffffffffu);
}

/* Append raw bytes to segment seq (a power cut in the middle of a write). */
static void raw_append(uint64_t seq, const void *p, size_t n)
{
    char path[256];
    int fd;

    seg_name(seq, path, sizeof(path));
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void flip_byte(uint64_t seq, long off)
{
    char path[256];
    unsigned char c;
    int fd;

    seg_name(seq, path, sizeof(path));
    fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void copy_seg(uint64_t seq, const char *to)
{
    char path[256], data[4096];
    FILE *in, *out;
    size_t n;

    seg_name(seq, path, sizeof(path));
    in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    out = fopen(to, "wb");
    ck_assert_ptr_nonnull(out);
    n = fread(data, 1, sizeof(data), in);
    ck_assert_uint_eq(fwrite(data, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* A whole encoded record (header + payload), as spool.h describes it. */
static size_t encode(unsigned char *out, const char *payload, uint32_t len,
                     uint32_t points, uint32_t crc)
{
    memcpy(out, "KSP1", 4);
    put32(out + 4, len);
    put32(out + 8, points);
    put32(out + 12, crc);
    memcpy(out + HDR, payload, len);
    return HDR + len;
}

/* ---- append and read ------------------------------------------------ */

START_TEST(empty_spool)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    struct spool *s = open_ok(&c);
    struct spool_stats st = stats(s);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    struct stat sb;

    ck_assert_int_eq(stat(spdir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_uint_eq(spool_head(s), spool_tail(s));
    ck_assert_uint_eq(st.bytes, 0);
    ck_assert_uint_eq(st.points_pending, 0);
    ck_assert_uint_eq(st.records_appended, 0);
    ck_assert_uint_eq(st.torn_records, 0);
    ck_assert_int_eq(st.last_errno, 0);
    buf_init(&out, 0);
    ck_assert_int_eq(spool_read(s, &pos, &out, 100, &np), HUB_EAGAIN);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_uint_eq(np, 0);
    ck_assert_uint_eq(pos, spool_head(s));
    ck_assert_int_eq(count_segs(), 0);
    spool_close(s);
    spool_close(NULL);
    buf_free(&out);
}
END_TEST

/* Records of varying lengths, read one at a time (max_points 1) and then
 * all at once: exact bytes, points, and positions after each record. */
static const unsigned nrec_cases[] = { 1, 2, 10, 50 };

static size_t var_len(unsigned i)
{
    return 10 + (i * 37) % 200;
}

START_TEST(append_then_read_in_order)
{
    unsigned n = nrec_cases[_i], i;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s = open_ok(&c);
    struct buf out, one, want;
    uint64_t pos = 0, off = 0, total_pts = 0;
    uint32_t np = 0;
    struct spool_stats st;
    char p[256];

    buf_init(&out, 0);
    buf_init(&one, 0);
    buf_init(&want, 0);
    for (i = 1; i <= n; i++) {
        gen(i, var_len(i), p);
        ck_assert_int_eq(spool_append(s, p, var_len(i), pts(i), 0), HUB_OK);
        ck_assert_int_eq(buf_append(&want, p, var_len(i)), HUB_OK);
        off += HDR + var_len(i);
        total_pts += pts(i);
        ck_assert_uint_eq(spool_tail(s), POS(1, off));
    }
    ck_assert_uint_eq(spool_head(s), POS(1, 0));
    ck_assert_int_eq(file_size(1), (long)off);
    st = stats(s);
    ck_assert_uint_eq(st.bytes, off);
    ck_assert_uint_eq(st.records_appended, n);
    ck_assert_uint_eq(st.points_appended, total_pts);
    ck_assert_uint_eq(st.points_pending, total_pts);

    /* one record per call */
    off = 0;
    for (i = 1; i <= n; i++) {
        uint32_t before = np;

        buf_reset(&one);
        ck_assert_int_eq(spool_read(s, &pos, &one, 1, &np), HUB_OK);
        gen(i, var_len(i), p);
        ck_assert_uint_eq(one.len, var_len(i));
        ck_assert_int_eq(memcmp(one.data, p, var_len(i)), 0);
        ck_assert_uint_eq(np - before, pts(i));
        off += HDR + var_len(i);
        ck_assert_uint_eq(pos, POS(1, off));
    }
    ck_assert_uint_eq(np, total_pts);
    ck_assert_uint_eq(pos, spool_tail(s));
    ck_assert_int_eq(spool_read(s, &pos, &one, 1, &np), HUB_EAGAIN);
    ck_assert_uint_eq(pos, spool_tail(s));
    ck_assert_uint_eq(np, total_pts);

    /* everything in one call, appended after what out already holds */
    ck_assert_int_eq(buf_puts(&out, "X"), HUB_OK);
    pos = 0;                        /* clamped up to the head */
    np = 7;
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_OK);
    ck_assert_uint_eq(np, 7 + total_pts);
    ck_assert_uint_eq(out.len, 1 + want.len);
    ck_assert_int_eq(out.data[0], 'X');
    ck_assert_int_eq(memcmp(out.data + 1, want.data, want.len), 0);
    ck_assert_uint_eq(pos, spool_tail(s));
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_EAGAIN);
    ck_assert_uint_eq(out.len, 1 + want.len);

    /* reading does not release */
    ck_assert_uint_eq(stats(s).points_pending, total_pts);
    ck_assert_uint_eq(spool_head(s), POS(1, 0));
    spool_close(s);
    buf_free(&out);
    buf_free(&one);
    buf_free(&want);
}
END_TEST

/* Ten records of 3 points: a read stops once max_points is reached, with
 * whole records, and the next one continues from *pos. */
static const struct {
    uint32_t max;
    unsigned per_call[6];       /* records per call, 0 = HUB_EAGAIN */
} maxp_cases[] = {
    { 0, { 1, 1, 1, 1, 1, 1 } },          /* at least one record     */
    { 1, { 1, 1, 1, 1, 1, 1 } },
    { 3, { 1, 1, 1, 1, 1, 1 } },
    { 4, { 2, 2, 2, 2, 2, 0 } },
    { 5, { 2, 2, 2, 2, 2, 0 } },
    { 6, { 2, 2, 2, 2, 2, 0 } },
    { 7, { 3, 3, 3, 1, 0, 0 } },
    { 29, { 10, 0, 0, 0, 0, 0 } },
    { 30, { 10, 0, 0, 0, 0, 0 } },
};

START_TEST(max_points_stops_at_whole_records)
{
    const size_t len = 30;
    struct spool_cfg c = mkcfg(1 << 24, 4 * (HDR + len), 0);  /* 4 per segment */
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np;
    unsigned i, k, next = 1, nrec;
    char p[64];

    for (i = 1; i <= 10; i++) {
        gen(i, len, p);
        ck_assert_int_eq(spool_append(s, p, len, 3, 0), HUB_OK);
    }
    buf_init(&out, 0);
    for (k = 0; k < 6; k++) {
        nrec = maxp_cases[_i].per_call[k];
        buf_reset(&out);
        np = 0;
        if (nrec == 0) {
            ck_assert_int_eq(spool_read(s, &pos, &out, maxp_cases[_i].max, &np),
                             HUB_EAGAIN);
            ck_assert_uint_eq(np, 0);
            ck_assert_uint_eq(out.len, 0);
            ck_assert_uint_eq(pos, spool_tail(s));
            continue;
        }
        ck_assert_int_eq(spool_read(s, &pos, &out, maxp_cases[_i].max, &np), HUB_OK);
        ck_assert_uint_eq(np, 3 * nrec);
        ck_assert_uint_eq(out.len, nrec * len);
        for (i = 0; i < nrec; i++) {
            gen(next + i, len, p);
            ck_assert_int_eq(memcmp(out.data + i * len, p, len), 0);
        }
        next += nrec;
        /* record next-1 ends at offset ((next-2) % 4 + 1) in its segment */
        ck_assert_uint_eq(pos, POS((next - 2) / 4 + 1, ((next - 2) % 4 + 1) * (HDR + len)));
    }
    spool_close(s);
    buf_free(&out);
}
END_TEST

START_TEST(read_until_stops_before_end)
{
    const size_t len = 20;
    struct spool_cfg c = mkcfg(1 << 24, 3 * (HDR + len), 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0, end;
    uint32_t np = 0;

    append_range(s, 1, 7, len);
    buf_init(&out, 0);
    end = POS(2, HDR + len);                /* the start of record 5 */
    ck_assert_int_eq(spool_read_until(s, &pos, end, &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 1, 4, len);
    ck_assert_uint_eq(np, pts_sum(1, 4));
    ck_assert_uint_eq(pos, end);
    ck_assert_int_eq(spool_read_until(s, &pos, end, &out, UINT32_MAX, &np), HUB_EAGAIN);
    ck_assert_uint_eq(pos, end);
    ck_assert_uint_eq(np, pts_sum(1, 4));
    /* an end inside a record: that record starts before it, so it is read */
    ck_assert_int_eq(spool_read_until(s, &pos, end + 1, &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 1, 5, len);
    /* an end that is a segment boundary given as (seq, 0) */
    buf_reset(&out);
    pos = 0;
    np = 0;
    ck_assert_int_eq(spool_read_until(s, &pos, POS(2, 0), &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 1, 3, len);
    ck_assert_uint_eq(np, pts_sum(1, 3));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- segments ------------------------------------------------------- */

/* segment_bytes exactly 3 records, a little more, a little less. */
static const struct {
    uint64_t extra;             /* added to 3 records' size (or taken) */
    int minus;
    unsigned per_seg;
} rot_cases[] = {
    { 0, 0, 3 }, { 5, 0, 3 }, { HDR + 19, 0, 3 }, { 1, 1, 2 },
};

START_TEST(segments_rotate_and_reads_cross_them)
{
    const size_t len = 20, rs = HDR + len;
    uint64_t sb = rot_cases[_i].minus ? 3 * rs - rot_cases[_i].extra
                                      : 3 * rs + rot_cases[_i].extra;
    unsigned per = rot_cases[_i].per_seg, i, nseg = (10 + per - 1) / per;
    struct spool_cfg c = mkcfg(1 << 24, sb, 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 10, len);
    for (i = 1; i <= nseg; i++) {
        unsigned in_seg = i < nseg ? per : 10 - per * (nseg - 1);

        ck_assert_msg(seg_exists(i), "segment %u missing", i);
        ck_assert_int_eq(file_size(i), (long)(in_seg * rs));
        ck_assert_int_le(file_size(i), (long)sb);
    }
    ck_assert(!seg_exists(0));
    ck_assert(!seg_exists(nseg + 1));
    ck_assert_int_eq(count_segs(), (int)nseg);
    ck_assert_uint_eq(spool_tail(s), POS(nseg, (10 - per * (nseg - 1)) * rs));
    ck_assert_uint_eq(stats(s).bytes, 10 * rs);
    buf_init(&out, 0);
    ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
    expect_range(&out, 1, 10, len);
    ck_assert_uint_eq(np, pts_sum(1, 10));
    ck_assert_uint_eq(pos, spool_tail(s));
    /* record by record: the position after the last record of a segment
     * is (seq, end); the next read moves into the next segment */
    pos = 0;
    for (i = 1; i <= 10; i++) {
        buf_reset(&out);
        ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_OK);
        expect_range(&out, i, i, len);
        ck_assert_uint_eq(pos, POS((i - 1) / per + 1, ((i - 1) % per + 1) * rs));
    }
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- release -------------------------------------------------------- */

START_TEST(release_moves_head_and_deletes_segments)
{
    const size_t len = 24, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 3 * rs, 0);   /* 3 per segment */
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0, p5;
    uint32_t np = 0;
    int k;

    append_range(s, 1, 10, len);                /* segments 1..4 */
    buf_init(&out, 0);
    for (k = 0; k < 5; k++)
        ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_OK);
    p5 = pos;
    ck_assert_uint_eq(p5, POS(2, 2 * rs));
    ck_assert_int_eq(spool_release(s, p5, 5000), HUB_OK);
    ck_assert_uint_eq(spool_head(s), p5);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(6, 10));
    ck_assert(!seg_exists(1));
    ck_assert(seg_exists(2) && seg_exists(3) && seg_exists(4));
    ck_assert_uint_eq(stats(s).bytes, 7 * rs);
    expect_ack(p5);

    /* at or before the head: nothing changes */
    ck_assert_int_eq(spool_release(s, p5, 7000), HUB_OK);
    ck_assert_int_eq(spool_release(s, POS(2, rs), 7000), HUB_OK);
    ck_assert_int_eq(spool_release(s, POS(1, 3 * rs), 7000), HUB_OK);
    ck_assert_int_eq(spool_release(s, 0, 8000), HUB_OK);
    ck_assert_uint_eq(spool_head(s), p5);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(6, 10));
    expect_ack(p5);

    /* a reader behind the head starts at the head */
    buf_reset(&out);
    pos = 0;
    np = 0;
    ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
    expect_range(&out, 6, 10, len);
    ck_assert_uint_eq(np, pts_sum(6, 10));

    /* release exactly a segment's end: that segment goes */
    ck_assert_int_eq(spool_release(s, POS(2, 3 * rs), 10000), HUB_OK);
    ck_assert(!seg_exists(2));
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(7, 10));

    /* release everything: all but the append segment go */
    ck_assert_int_eq(spool_release(s, spool_tail(s), 20000), HUB_OK);
    ck_assert_uint_eq(spool_head(s), spool_tail(s));
    ck_assert_uint_eq(spool_head(s), POS(4, rs));
    ck_assert_uint_eq(stats(s).points_pending, 0);
    ck_assert(!seg_exists(3));
    ck_assert(seg_exists(4));
    ck_assert_int_eq(count_segs(), 1);
    ck_assert_uint_eq(stats(s).bytes, rs);
    expect_ack(POS(4, rs));
    pos = 0;
    ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_EAGAIN);

    /* and appending continues in it */
    append_range(s, 11, 12, len);
    ck_assert_uint_eq(spool_tail(s), POS(4, 3 * rs));
    buf_reset(&out);
    np = 0;
    ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
    expect_range(&out, 11, 12, len);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(11, 12));
    spool_close(s);
    buf_free(&out);
}
END_TEST

START_TEST(ack_file_at_most_once_a_second)
{
    const size_t len = 10, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 1000);
    struct spool *s = open_ok(&c);
    unsigned long long seq, off;

    append_range(s, 1, 5, len);
    ck_assert(!read_ack_file(&seq, &off));
    ck_assert_int_eq(spool_release(s, POS(1, rs), 10000), HUB_OK);
    expect_ack(POS(1, rs));
    ck_assert_int_eq(spool_release(s, POS(1, 2 * rs), 10500), HUB_OK);
    ck_assert_uint_eq(spool_head(s), POS(1, 2 * rs));
    expect_ack(POS(1, rs));                     /* not yet */
    spool_tick(s, 10999);
    expect_ack(POS(1, rs));
    spool_tick(s, 11000);
    expect_ack(POS(1, 2 * rs));
    ck_assert_int_eq(spool_release(s, POS(1, 3 * rs), 11100), HUB_OK);
    expect_ack(POS(1, 2 * rs));
    spool_close(s);                             /* writes the last one */
    expect_ack(POS(1, 3 * rs));
}
END_TEST

/* ---- reopen --------------------------------------------------------- */

static const struct {
    unsigned released;          /* records released before closing */
} reopen_cases[] = { { 0 }, { 2 }, { 3 }, { 4 }, { 9 }, { 10 } };

START_TEST(reopen_replays_from_the_ack)
{
    const size_t len = 18, rs = HDR + len;
    unsigned r = reopen_cases[_i].released, k;
    struct spool_cfg c = mkcfg(1 << 24, 3 * rs, 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0, rel = 0, tail;
    uint32_t np = 0;
    struct spool_stats st;

    append_range(s, 1, 10, len);
    buf_init(&out, 0);
    for (k = 0; k < r; k++)
        ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_OK);
    rel = pos;
    if (r)
        ck_assert_int_eq(spool_release(s, rel, 0), HUB_OK);
    /* a later release within the second: only close() records it */
    tail = spool_tail(s);
    spool_close(s);

    s = open_ok(&c);
    st = stats(s);
    if (r == 0)
        ck_assert_uint_eq(spool_head(s), POS(1, 0));
    else if (r % 3 == 0 && r < 10)      /* its segment was deleted */
        ck_assert_uint_eq(spool_head(s), POS(r / 3 + 1, 0));
    else
        ck_assert_uint_eq(spool_head(s), rel);
    ck_assert_uint_eq(spool_tail(s), tail);
    ck_assert_uint_eq(st.points_pending, r < 10 ? pts_sum(r + 1, 10) : 0);
    ck_assert_uint_eq(st.torn_records, 0);
    ck_assert_uint_eq(st.records_appended, 0);
    ck_assert_uint_eq(st.bytes, (uint64_t)(file_size(1) > 0 ? file_size(1) : 0) +
                      (uint64_t)(file_size(2) > 0 ? file_size(2) : 0) +
                      (uint64_t)(file_size(3) > 0 ? file_size(3) : 0) +
                      (uint64_t)(file_size(4) > 0 ? file_size(4) : 0));
    buf_reset(&out);
    pos = 0;
    np = 0;
    if (r < 10) {
        ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
        expect_range(&out, r + 1, 10, len);
        ck_assert_uint_eq(np, pts_sum(r + 1, 10));
    } else {
        ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_EAGAIN);
    }
    ck_assert_uint_eq(pos, tail);

    /* appends go to a new segment (5), though segment 4 has room */
    append_one(s, 11, len, 0);
    ck_assert(seg_exists(5));
    ck_assert_int_eq(file_size(4), (long)rs);
    ck_assert_int_eq(file_size(5), (long)rs);
    ck_assert_uint_eq(spool_tail(s), POS(5, rs));
    buf_reset(&out);
    np = 0;
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 11, 11, len);
    ck_assert_uint_eq(np, pts(11));
    ck_assert_uint_eq(stats(s).points_pending, (r < 10 ? pts_sum(r + 1, 10) : 0) + pts(11));
    spool_close(s);

    /* and a third open sees both */
    s = open_ok(&c);
    buf_reset(&out);
    pos = 0;
    np = 0;
    read_all(s, &pos, &out, &np);
    expect_range(&out, r + 1, 11, len);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* kill -9: the child appends and releases twice within one second and
 * exits without spool_close(): the second release is not in the ack file,
 * so its records are replayed (at least once); nothing unreleased is lost. */
START_TEST(reopen_after_kill_replays_unrecorded_release)
{
    const size_t len = 18, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 3 * rs, 1000);
    struct spool *s;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    int status;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        s = spool_open(&c, NULL, 0);
        if (!s)
            _exit(2);
        append_range(s, 1, 8, len);
        spool_tick(s, 1000);                        /* fsync */
        if (spool_release(s, POS(1, 2 * rs), 2000) != HUB_OK ||   /* 1,2: recorded */
            spool_release(s, POS(2, rs), 2500) != HUB_OK)         /* 3,4: not yet  */
            _exit(3);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    expect_ack(POS(1, 2 * rs));
    ck_assert(!seg_exists(1));          /* deleted by the second release */

    s = open_ok(&c);
    /* segment 1 is gone, so replay starts at segment 2: record 4 again */
    ck_assert_uint_eq(spool_head(s), POS(2, 0));
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(4, 8));
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 4, 8, len);
    ck_assert_uint_eq(np, pts_sum(4, 8));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* Power lost after the ack file was written but before the last records
 * reached the disk: the ack points past the segment's end. Nothing is
 * replayed or counted twice, and new records read back. */
START_TEST(ack_past_a_lost_tail)
{
    const size_t len = 18, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    char path[256];

    append_range(s, 1, 3, len);
    ck_assert_int_eq(spool_release(s, POS(1, 3 * rs), 5000), HUB_OK);
    spool_close(s);
    expect_ack(POS(1, 3 * rs));
    seg_name(1, path, sizeof(path));
    ck_assert_int_eq(truncate(path, (off_t)rs), 0);

    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    ck_assert_uint_eq(stats(s).torn_records, 0);
    buf_init(&out, 0);
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_EAGAIN);
    append_range(s, 4, 5, len);
    ck_assert_uint_le(spool_head(s), spool_tail(s));
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(4, 5));
    read_all(s, &pos, &out, &np);
    expect_range(&out, 4, 5, len);
    ck_assert_uint_eq(np, pts_sum(4, 5));
    ck_assert_int_eq(spool_release(s, pos, 10000), HUB_OK);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    ck_assert(!seg_exists(1));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- torn and corrupt records --------------------------------------- */

enum torn_kind { T_SHORT, T_HALF_HDR, T_HALF_REC, T_BAD_CRC, T_FF, T_LEN0,
                 T_HUGE_LEN, T_BAD_MAGIC, T_NTORN };

static const char *const torn_names[] = {
    "3 bytes", "half a header", "half a record", "bad CRC", "20 bytes 0xff",
    "length 0", "length past the file", "bad magic",
};

static size_t make_torn(enum torn_kind k, unsigned char *out)
{
    char p[40];
    size_t n;

    gen(99, sizeof(p), p);
    n = encode(out, p, sizeof(p), 5, (uint32_t)crc32(0, (const Bytef *)p, sizeof(p)));
    switch (k) {
    case T_SHORT:
        memcpy(out, "KSP", 3);
        return 3;
    case T_HALF_HDR:
        return 10;
    case T_HALF_REC:
        return HDR + sizeof(p) / 2;
    case T_BAD_CRC:
        out[12] ^= 1;
        return n;
    case T_FF:
        memset(out, 0xff, 20);
        return 20;
    case T_LEN0:
        put32(out + 4, 0);
        return n;
    case T_HUGE_LEN:
        put32(out + 4, sizeof(p) + 1);
        return n;
    case T_BAD_MAGIC:
        out[0] = 'X';
        return n;
    default:
        return 0;
    }
}

START_TEST(torn_tail_is_skipped_and_counted)
{
    const size_t len = 22, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s = open_ok(&c);
    unsigned char junk[128];
    size_t jn = make_torn((enum torn_kind)_i, junk);
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 3, len);
    spool_close(s);
    raw_append(1, junk, jn);

    s = open_ok(&c);
    st = stats(s);
    ck_assert_msg(st.torn_records == 1, "%s: torn_records %llu", torn_names[_i],
                  (unsigned long long)st.torn_records);
    ck_assert_uint_eq(st.bytes, 3 * rs + jn);
    ck_assert_uint_eq(st.points_pending, pts_sum(1, 3));
    ck_assert_uint_eq(spool_tail(s), POS(1, 3 * rs));
    buf_init(&out, 0);
    ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
    expect_range(&out, 1, 3, len);
    ck_assert_uint_eq(np, pts_sum(1, 3));

    /* appends after the torn tail go to a new segment and read back */
    append_range(s, 4, 5, len);
    ck_assert(seg_exists(2));
    ck_assert_int_eq(file_size(1), (long)(3 * rs + jn));
    buf_reset(&out);
    np = 0;
    ck_assert_int_eq(read_all(s, &pos, &out, &np), 1);
    expect_range(&out, 4, 5, len);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(1, 5));
    spool_close(s);

    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).torn_records, 1);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(1, 5));
    buf_reset(&out);
    pos = 0;
    np = 0;
    read_all(s, &pos, &out, &np);
    expect_range(&out, 1, 5, len);
    ck_assert_uint_eq(np, pts_sum(1, 5));
    /* releasing past the torn segment deletes it */
    ck_assert_int_eq(spool_release(s, pos, 0), HUB_OK);
    ck_assert(!seg_exists(1));
    ck_assert_uint_eq(stats(s).points_pending, 0);
    ck_assert_uint_eq(stats(s).bytes, 2 * rs);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* A byte flipped in record 2 of 4 in a closed segment: record 1 stays,
 * records 2-4 are skipped (one count), segment 2 reads on. */
static const struct {
    const char *what;
    long off;                   /* within record 2 */
} flip_cases[] = {
    { "magic", 1 },
    { "length", 4 },
    { "crc", 13 },
    { "payload", HDR + 3 },
    { "last payload byte", HDR + 29 },
};

START_TEST(corrupt_record_in_the_middle)
{
    const size_t len = 30, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 4 * rs, 0);
    struct spool *s = open_ok(&c);
    static const unsigned want[] = { 1, 5, 6, 7, 8 };
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 8, len);
    spool_close(s);
    flip_byte(1, (long)rs + flip_cases[_i].off);

    s = open_ok(&c);
    st = stats(s);
    ck_assert_msg(st.torn_records == 1, "%s", flip_cases[_i].what);
    ck_assert_uint_eq(st.points_pending, pts(1) + pts_sum(5, 8));
    buf_init(&out, 0);
    ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_OK);
    expect_records(&out, want, 1, len);
    ck_assert_uint_eq(pos, POS(1, rs));
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 5, len);
    ck_assert_uint_eq(np, pts(1) + pts_sum(5, 8));
    ck_assert_uint_eq(stats(s).torn_records, 1);    /* not counted again */
    ck_assert_int_eq(spool_release(s, pos, 0), HUB_OK);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    ck_assert(!seg_exists(1));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* Corruption that appears after the open scan, in a closed segment:
 * spool_read skips the rest of that segment, counts it once, and the
 * points of the skipped records no longer count as pending. */
START_TEST(corrupt_found_while_reading_closed_segment)
{
    const size_t len = 30, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 4 * rs, 0);
    struct spool *s = open_ok(&c);
    static const unsigned want[] = { 1, 5, 6, 7, 8, 9 };
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 8, len);
    flip_byte(1, (long)rs + HDR + 3);
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 5, len);
    ck_assert_uint_eq(np, pts(1) + pts_sum(5, 8));
    ck_assert_uint_eq(stats(s).torn_records, 1);
    ck_assert_uint_eq(stats(s).points_pending, pts(1) + pts_sum(5, 8));
    /* a second reader does not count it again */
    buf_reset(&out);
    pos = 0;
    np = 0;
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 5, len);
    ck_assert_uint_eq(stats(s).torn_records, 1);
    append_one(s, 9, len, 0);
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 6, len);
    ck_assert_int_eq(spool_release(s, pos, 0), HUB_OK);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* The same in the segment being appended to: what is appended after the
 * corrupt record must still be readable, and pending must come to 0. */
START_TEST(corrupt_found_while_reading_append_segment)
{
    const size_t len = 30;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s = open_ok(&c);
    static const unsigned want[] = { 1, 4, 5 };
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 3, len);
    flip_byte(1, (long)(HDR + len) + HDR + 3);      /* record 2's payload */
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 1, len);
    ck_assert_uint_eq(stats(s).torn_records, 1);
    append_range(s, 4, 5, len);
    read_all(s, &pos, &out, &np);
    expect_records(&out, want, 3, len);
    ck_assert_uint_eq(np, pts(1) + pts_sum(4, 5));
    ck_assert_uint_eq(pos, spool_tail(s));
    ck_assert_int_eq(spool_release(s, pos, 0), HUB_OK);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    spool_close(s);

    /* and after a reopen, records 4 and 5 are neither lost nor replayed */
    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).points_pending, 0);
    buf_reset(&out);
    pos = 0;
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_EAGAIN);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* A capped output buffer is not corruption: the read stops before the
 * record that does not fit, and the next read (with room) gets it. */
START_TEST(full_output_buffer_is_not_corruption)
{
    const size_t len = 100;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    int rc;

    append_range(s, 1, 4, len);
    buf_init(&out, 2 * len + 50);           /* room for two records */
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 1, 2, len);
    ck_assert_uint_eq(np, pts_sum(1, 2));
    ck_assert_uint_eq(pos, POS(1, 2 * (HDR + len)));
    ck_assert_uint_eq(stats(s).torn_records, 0);
    /* full: nothing fits, nothing is skipped */
    rc = spool_read(s, &pos, &out, UINT32_MAX, &np);
    ck_assert_int_ne(rc, HUB_OK);
    ck_assert_int_ne(rc, HUB_EAGAIN);
    ck_assert_uint_eq(pos, POS(1, 2 * (HDR + len)));
    ck_assert_uint_eq(np, pts_sum(1, 2));
    expect_range(&out, 1, 2, len);
    ck_assert_uint_eq(stats(s).torn_records, 0);
    buf_reset(&out);
    np = 0;
    ck_assert_int_eq(spool_read(s, &pos, &out, UINT32_MAX, &np), HUB_OK);
    expect_range(&out, 3, 4, len);
    ck_assert_uint_eq(np, pts_sum(3, 4));
    ck_assert_uint_eq(stats(s).torn_records, 0);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- size cap ------------------------------------------------------- */

START_TEST(size_cap_drops_the_oldest_segment)
{
    const size_t len = 26, rs = HDR + len;
    struct spool_cfg c = mkcfg(9 * rs, 3 * rs, 0);   /* 3 segments of 3 */
    struct spool *s = open_ok(&c);
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0, reader;
    uint32_t np = 0;

    append_range(s, 1, 9, len);
    st = stats(s);
    ck_assert_uint_eq(st.bytes, 9 * rs);
    ck_assert_uint_eq(st.segments_dropped, 0);
    ck_assert_uint_eq(st.points_dropped, 0);
    buf_init(&out, 0);
    ck_assert_int_eq(spool_read(s, &pos, &out, 1, &np), HUB_OK);   /* read, not released */
    reader = pos;
    ck_assert_uint_eq(reader, POS(1, rs));

    append_one(s, 10, len, 0);              /* segment 4: over the cap */
    st = stats(s);
    ck_assert_uint_eq(st.segments_dropped, 1);
    ck_assert_uint_eq(st.points_dropped, pts_sum(1, 3));
    ck_assert_uint_eq(st.points_pending, pts_sum(4, 10));
    ck_assert_uint_eq(st.bytes, 7 * rs);
    ck_assert_uint_eq(st.records_appended, 10);
    ck_assert_uint_eq(spool_head(s), POS(2, 0));
    ck_assert(!seg_exists(1));
    ck_assert(seg_exists(2) && seg_exists(4));
    ck_assert_int_eq(count_segs(), 3);

    /* the reader inside the dropped segment continues at the new head */
    buf_reset(&out);
    np = 0;
    ck_assert_int_eq(spool_read(s, &reader, &out, 1, &np), HUB_OK);
    expect_range(&out, 4, 4, len);
    ck_assert_uint_eq(reader, POS(2, rs));

    /* two more segments' worth: segments 2 and 3 go, exactly */
    append_range(s, 11, 16, len);
    st = stats(s);
    ck_assert_uint_eq(st.segments_dropped, 3);
    ck_assert_uint_eq(st.points_dropped, pts_sum(1, 9));
    ck_assert_uint_eq(st.points_pending, pts_sum(10, 16));
    ck_assert_uint_eq(st.bytes, 7 * rs);
    ck_assert_uint_eq(spool_head(s), POS(4, 0));
    ck_assert_int_le(st.bytes, c.max_bytes);
    buf_reset(&out);
    np = 0;
    read_all(s, &reader, &out, &np);
    expect_range(&out, 10, 16, len);
    ck_assert_uint_eq(np, pts_sum(10, 16));
    spool_close(s);

    /* the cap's head survives a reopen (no replay of dropped records) */
    s = open_ok(&c);
    ck_assert_uint_eq(spool_head(s), POS(4, 0));
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(10, 16));
    spool_close(s);
    buf_free(&out);
}
END_TEST

START_TEST(size_cap_counts_only_unreleased_points)
{
    const size_t len = 26, rs = HDR + len;
    struct spool_cfg c = mkcfg(9 * rs, 3 * rs, 0);
    struct spool *s = open_ok(&c);
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 9, len);
    ck_assert_int_eq(spool_release(s, POS(1, 2 * rs), 0), HUB_OK);  /* 1, 2 */
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(3, 9));
    ck_assert(seg_exists(1));
    append_one(s, 10, len, 0);
    st = stats(s);
    ck_assert_uint_eq(st.segments_dropped, 1);
    ck_assert_uint_eq(st.points_dropped, pts(3));
    ck_assert_uint_eq(st.points_pending, pts_sum(4, 10));
    ck_assert_uint_eq(spool_head(s), POS(2, 0));
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 4, 10, len);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* A cap smaller than one segment never drops the segment being written. */
START_TEST(size_cap_keeps_the_append_segment)
{
    const size_t len = 26, rs = HDR + len;
    struct spool_cfg c = mkcfg(rs, 3 * rs, 0);
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;

    append_range(s, 1, 3, len);
    ck_assert_uint_eq(stats(s).segments_dropped, 0);
    ck_assert_uint_eq(stats(s).bytes, 3 * rs);
    append_one(s, 4, len, 0);
    ck_assert_uint_eq(stats(s).segments_dropped, 1);
    ck_assert_uint_eq(stats(s).points_dropped, pts_sum(1, 3));
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 4, 4, len);
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- append errors -------------------------------------------------- */

/* RLIMIT_FSIZE stands in for a full disk: write() fails with EFBIG, at
 * the limit (nothing written) or inside the record (a short write). */
START_TEST(file_size_limit_fails_append_cleanly)
{
    const size_t len = 100, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 1 << 20, 0);
    struct spool *s;
    struct spool_stats st, st1, st2;
    struct rlimit rl = fsize_saved;
    struct buf out;
    uint64_t pos = 0, tail, tail1, tail2;
    long size1, size2;
    int lim_rc[3], app_rc[2];
    uint32_t np = 0;
    char p[100];
    const char *fork_env = getenv("CK_FORK");

    if (fork_env && strcmp(fork_env, "no") == 0)
        return;     /* the limit must not leak into the other tests */
    signal(SIGXFSZ, SIG_IGN);
    s = open_ok(&c);
    append_range(s, 1, 3, len);
    tail = spool_tail(s);

    /* No ck_assert while the limit is set: Check's own message file in
     * the forked child would hit it too. */
    gen(4, len, p);
    rl.rlim_cur = 3 * rs;                       /* exactly full */
    lim_rc[0] = setrlimit(RLIMIT_FSIZE, &rl);
    app_rc[0] = spool_append(s, p, len, pts(4), 0);
    st1 = stats(s);
    size1 = file_size(1);
    tail1 = spool_tail(s);
    rl.rlim_cur = 3 * rs + 50;                  /* room for half a record */
    lim_rc[1] = setrlimit(RLIMIT_FSIZE, &rl);
    app_rc[1] = spool_append(s, p, len, pts(4), 0);
    st2 = stats(s);
    size2 = file_size(1);
    tail2 = spool_tail(s);
    lim_rc[2] = setrlimit(RLIMIT_FSIZE, &fsize_saved);
    ck_assert_int_eq(lim_rc[0], 0);
    ck_assert_int_eq(lim_rc[1], 0);
    ck_assert_int_eq(lim_rc[2], 0);

    ck_assert_int_eq(app_rc[0], HUB_EIO);
    ck_assert_uint_eq(st1.append_errors, 1);
    ck_assert_int_eq(st1.last_errno, EFBIG);
    ck_assert_uint_eq(st1.records_appended, 3);
    ck_assert_uint_eq(st1.points_pending, pts_sum(1, 3));
    ck_assert_uint_eq(st1.bytes, 3 * rs);
    ck_assert_uint_eq(tail1, tail);
    ck_assert_int_eq(size1, (long)(3 * rs));

    ck_assert_int_eq(app_rc[1], HUB_EIO);
    ck_assert_uint_eq(st2.append_errors, 2);
    ck_assert_int_eq(st2.last_errno, EFBIG);    /* the real reason */
    ck_assert_uint_eq(st2.records_appended, 3);
    ck_assert_uint_eq(st2.points_pending, pts_sum(1, 3));
    ck_assert_uint_eq(st2.bytes, 3 * rs);
    ck_assert_uint_eq(tail2, tail);
    ck_assert_int_eq(size2, (long)(3 * rs));    /* the half is cut */

    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 1, 3, len);
    ck_assert_uint_eq(np, pts_sum(1, 3));

    append_range(s, 4, 5, len);
    st = stats(s);
    ck_assert_uint_eq(st.append_errors, 2);
    ck_assert_uint_eq(st.records_appended, 5);
    ck_assert_uint_eq(st.points_pending, pts_sum(1, 5));
    buf_reset(&out);
    np = 0;
    read_all(s, &pos, &out, &np);
    expect_range(&out, 4, 5, len);
    spool_close(s);

    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).torn_records, 0);
    buf_reset(&out);
    pos = 0;
    np = 0;
    read_all(s, &pos, &out, &np);
    expect_range(&out, 1, 5, len);
    ck_assert_uint_eq(np, pts_sum(1, 5));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* The folder disappears (renamed away) when a new segment is due. */
START_TEST(missing_folder_fails_rotation)
{
    const size_t len = 20, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 2 * rs, 0);
    struct spool *s = open_ok(&c);
    char moved[160];
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    char p[20];

    snprintf(moved, sizeof(moved), "%s/moved", tmpdir);
    append_range(s, 1, 2, len);                 /* segment 1 is full */
    ck_assert_int_eq(rename(spdir, moved), 0);
    gen(3, len, p);
    ck_assert_int_eq(spool_append(s, p, len, pts(3), 0), HUB_EIO);
    ck_assert_int_eq(spool_append(s, p, len, pts(3), 0), HUB_EIO);
    st = stats(s);
    ck_assert_uint_eq(st.append_errors, 2);
    ck_assert_int_eq(st.last_errno, ENOENT);
    ck_assert_uint_eq(st.records_appended, 2);
    ck_assert_uint_eq(st.points_pending, pts_sum(1, 2));
    ck_assert_uint_eq(spool_tail(s), POS(1, 2 * rs));
    ck_assert_int_eq(rename(moved, spdir), 0);
    append_range(s, 3, 4, len);
    ck_assert_uint_eq(stats(s).append_errors, 2);
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 1, 4, len);
    ck_assert_uint_eq(np, pts_sum(1, 4));
    spool_close(s);
    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).torn_records, 0);
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(1, 4));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* Become an unprivileged user (tests run as root in CI, where mode bits
 * are not enforced). Returns 0 when that is not possible. */
static int drop_to_nobody(void)
{
    if (geteuid() != 0)
        return 1;
    if (chmod(rundir, 0711) != 0 || chown(tmpdir, NOBODY, NOBODY) != 0 ||
        seteuid(NOBODY) != 0)
        return 0;
    euid_dropped = 1;
    return 1;
}

/* A read-only folder: appends to the open segment still work (its fd is
 * open), a new segment fails with EACCES, and releases report that the
 * ack file cannot be written. */
START_TEST(read_only_folder)
{
    const size_t len = 20, rs = HDR + len;
    struct spool_cfg c = mkcfg(1 << 24, 2 * rs, 0);
    struct spool *s;
    struct spool_stats st;
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    char p[20];

    ck_assert_msg(drop_to_nobody(), "cannot become uid %d", NOBODY);
    s = open_ok(&c);
    append_one(s, 1, len, 0);
    ck_assert_int_eq(chmod(spdir, 0500), 0);
    append_one(s, 2, len, 0);                   /* same segment */
    gen(3, len, p);
    ck_assert_int_eq(spool_append(s, p, len, pts(3), 0), HUB_EIO);
    st = stats(s);
    ck_assert_uint_eq(st.append_errors, 1);
    ck_assert_int_eq(st.last_errno, EACCES);
    ck_assert_uint_eq(st.records_appended, 2);
    ck_assert_int_eq(spool_release(s, POS(1, rs), 5000), HUB_EIO);   /* no ack */
    ck_assert_uint_eq(spool_head(s), POS(1, rs));
    ck_assert_uint_eq(stats(s).points_pending, pts(2));
    ck_assert_int_eq(chmod(spdir, 0750), 0);
    append_one(s, 3, len, 0);
    ck_assert(seg_exists(2));
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 2, 3, len);
    ck_assert_uint_eq(np, pts_sum(2, 3));
    spool_close(s);
    expect_ack(POS(1, rs));
    buf_free(&out);
}
END_TEST

/* ---- open ----------------------------------------------------------- */

START_TEST(open_creates_missing_parents)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    struct spool *s;
    struct stat sb;

    snprintf(c.dir, sizeof(c.dir), "%s/a/b/c/spool", tmpdir);
    s = open_ok(&c);
    ck_assert_int_eq(stat(c.dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_int_eq(sb.st_mode & 0777 & ~0750, 0);
    ck_assert_int_eq(spool_append(s, "x\n", 2, 1, 0), HUB_OK);
    spool_close(s);
}
END_TEST

static const struct {
    const char *what;
    const char *sub;            /* under tmpdir; "file" is a regular file */
} bad_dirs[] = {
    { "the folder is a file", "file" },
    { "a parent is a file", "file/spool" },
    { "a deeper parent is a file", "file/a/b" },
};

START_TEST(open_refuses_what_is_not_a_folder)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    char path[160], err[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/file", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a folder\n", f);
    fclose(f);
    snprintf(c.dir, sizeof(c.dir), "%s/%s", tmpdir, bad_dirs[_i].sub);
    strcpy(err, "untouched");
    ck_assert_ptr_null(spool_open(&c, err, sizeof(err)));
    ck_assert_msg(strstr(err, c.dir) != NULL, "%s: message \"%s\" lacks the path",
                  bad_dirs[_i].what, err);
    ck_assert_msg(strlen(err) > strlen(c.dir), "%s: no reason in \"%s\"",
                  bad_dirs[_i].what, err);
}
END_TEST

START_TEST(open_refuses_an_empty_path)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    char err[256] = "";

    c.dir[0] = '\0';
    ck_assert_ptr_null(spool_open(&c, err, sizeof(err)));
    ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(open_ignores_other_files)
{
    const size_t len = 20;
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    static const char *const names[] = {
        "README", "ack.tmp", "0000000000000001.seg.bak", "000000000000001.seg",
        "00000000000000zz.seg", "0000000000000009.sex",
        /* sscanf("%16llx") reads these as segment 1 or 2 */
        "0x00000000000001.seg", " 000000000000001.seg", "+000000000000001.seg",
        "0000000000000002.SEG", "000000000000000A.seg",
    };
    struct spool *s = open_ok(&c);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    char path[256];
    size_t k;

    append_range(s, 1, 2, len);
    spool_close(s);
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", spdir, names[k]);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs("KSP1 junk junk junk junk\n", f);
        fclose(f);
    }
    /* and a valid copy of segment 1 under a name that parses as 1 */
    snprintf(path, sizeof(path), "%s/0x00000000000001.seg", spdir);
    copy_seg(1, path);
    s = open_ok(&c);
    ck_assert_uint_eq(stats(s).torn_records, 0);
    ck_assert_uint_eq(stats(s).bytes, 2 * (HDR + len));
    ck_assert_uint_eq(stats(s).points_pending, pts_sum(1, 2));
    buf_init(&out, 0);
    read_all(s, &pos, &out, &np);
    expect_range(&out, 1, 2, len);
    ck_assert_uint_eq(np, pts_sum(1, 2));
    append_one(s, 3, len, 0);
    ck_assert(seg_exists(2));
    spool_close(s);
    buf_free(&out);
}
END_TEST

/* ---- fsync ---------------------------------------------------------- */

START_TEST(fsync_every_append_with_interval_zero)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    struct spool *s = open_ok(&c);
    unsigned i;

    for (i = 1; i <= 5; i++) {
        append_one(s, i, 10, (hub_mono_ms)i);
        ck_assert_uint_eq(stats(s).fsyncs, i);
    }
    spool_tick(s, 100);                         /* nothing waiting */
    ck_assert_uint_eq(stats(s).fsyncs, 5);
    spool_close(s);
}
END_TEST

/* interval 1000: appends never fsync; spool_tick does, once per interval
 * and only when something was appended since. */
static const struct {
    char op;                    /* 'a' append, 't' tick */
    hub_mono_ms now;
    uint64_t fsyncs;            /* expected after the op */
} fsync_steps[] = {
    { 'a', 0, 0 }, { 'a', 10, 0 }, { 't', 10, 0 }, { 't', 999, 0 },
    { 't', 1000, 1 }, { 't', 1001, 1 }, { 'a', 1100, 1 }, { 't', 1500, 1 },
    { 't', 1999, 1 }, { 't', 2000, 2 }, { 't', 5000, 2 }, { 'a', 5000, 2 },
    { 'a', 5001, 2 }, { 't', 5001, 3 }, { 'a', 5002, 3 }, { 't', 5500, 3 },
    { 't', 6001, 4 }, { 't', 9000, 4 },
};

START_TEST(fsync_batched_by_tick)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 1000);
    struct spool *s = open_ok(&c);
    size_t k;
    unsigned rec = 1;

    for (k = 0; k < sizeof(fsync_steps) / sizeof(fsync_steps[0]); k++) {
        if (fsync_steps[k].op == 'a')
            append_one(s, rec++, 10, fsync_steps[k].now);
        else
            spool_tick(s, fsync_steps[k].now);
        ck_assert_msg(stats(s).fsyncs == fsync_steps[k].fsyncs,
                      "step %zu (%c at %lld): fsyncs %llu, want %llu", k,
                      fsync_steps[k].op, (long long)fsync_steps[k].now,
                      (unsigned long long)stats(s).fsyncs,
                      (unsigned long long)fsync_steps[k].fsyncs);
    }
    spool_close(s);
}
END_TEST

/* ---- record sizes --------------------------------------------------- */

static const uint64_t big_seg_cases[] = { 64 * 1024, 4 * 1024 * 1024 };

START_TEST(big_record_round_trip)
{
    const size_t big = 1024 * 1024;
    uint64_t sb = big_seg_cases[_i];
    struct spool_cfg c = mkcfg(64 << 20, sb, 0);
    struct spool *s = open_ok(&c);
    char *p = malloc(big);
    struct buf out;
    uint64_t pos = 0;
    uint32_t np = 0;
    unsigned i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < big; i++)
        p[i] = (char)('A' + (i * 31 + i / 977) % 26);
    p[big - 1] = '\n';
    append_one(s, 1, 50, 0);
    ck_assert_int_eq(spool_append(s, p, big, 1000, 0), HUB_OK);
    append_one(s, 3, 50, 0);
    if (sb < big) {
        /* the big record has a segment of its own; the next one a new one */
        ck_assert_int_eq(file_size(2), (long)(HDR + big));
        ck_assert_uint_eq(spool_tail(s), POS(3, HDR + 50));
    } else {
        ck_assert_uint_eq(spool_tail(s), POS(1, 3 * HDR + 100 + big));
    }
    buf_init(&out, 0);
    for (i = 0; i < 2; i++) {
        struct spool *r = i ? open_ok(&c) : s;

        buf_reset(&out);
        pos = 0;
        np = 0;
        ck_assert_int_eq(read_all(r, &pos, &out, &np), 1);
        ck_assert_uint_eq(np, pts(1) + 1000 + pts(3));
        ck_assert_uint_eq(out.len, 100 + big);
        {
            char q[50];

            gen(1, 50, q);
            ck_assert_int_eq(memcmp(out.data, q, 50), 0);
            ck_assert_int_eq(memcmp(out.data + 50, p, big), 0);
            gen(3, 50, q);
            ck_assert_int_eq(memcmp(out.data + 50 + big, q, 50), 0);
        }
        ck_assert_uint_eq(stats(r).torn_records, 0);
        if (i)
            spool_close(r);
        else
            spool_close(s);
    }
    free(p);
    buf_free(&out);
}
END_TEST

static const size_t bad_len_cases[] = {
    0, (size_t)UINT32_MAX + 1, SIZE_MAX,
};

START_TEST(invalid_append_is_refused)
{
    struct spool_cfg c = mkcfg(1 << 20, 1 << 16, 0);
    struct spool *s = open_ok(&c);
    struct spool_stats st;
    char p[8] = "x\n";

    ck_assert_int_eq(spool_append(s, p, bad_len_cases[_i], 1, 0), HUB_EINVAL);
    st = stats(s);
    ck_assert_uint_eq(st.records_appended, 0);
    ck_assert_uint_eq(st.append_errors, 0);
    ck_assert_uint_eq(st.points_pending, 0);
    ck_assert_uint_eq(spool_tail(s), spool_head(s));
    ck_assert_int_eq(spool_append(s, p, 2, 1, 0), HUB_OK);
    ck_assert_uint_eq(spool_tail(s), POS(1, HDR + 2));
    spool_close(s);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the redelivery log --------------------------------------------- */

#define RX_FILE_SIZE (64 + 65536 * 4 + 65536 * 8)      /* spool.h layout */

static struct spool_rxlog *rx_open(uint64_t key, uint32_t max_back)
{
    char path[200], err[300];
    struct spool_rxlog *t;

    snprintf(path, sizeof(path), "%s/rxlog", tmpdir);
    t = spool_rxlog_open(path, key, max_back, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(err[0] == '\0', "unexpected message: %s", err);
    ck_assert_int_eq(spool_rxlog_persistent(t), 1);
    return t;
}

static enum spool_rx rx_check(struct spool_rxlog *t, uint16_t mid, uint32_t h,
                              int64_t *stamp)
{
    *stamp = -1;
    return spool_rxlog_check(t, mid, h, stamp);
}

/* In one process: a message seen under its id is SEEN; another payload
 * under the same id, or another id, is NEW; stamps are not handed out. */
START_TEST(rxlog_in_memory)
{
    char err[100];
    struct spool_rxlog *t = spool_rxlog_open(NULL, 1, 1000, err, sizeof(err));
    int64_t st;

    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(spool_rxlog_persistent(t), 0);
    ck_assert_int_eq(rx_check(t, 5, 0x1234, &st), SPOOL_RX_NEW);
    spool_rxlog_put(t, 5, 0x1234, 777);
    ck_assert_int_eq(rx_check(t, 5, 0x1234, &st), SPOOL_RX_SEEN);
    ck_assert_int_eq(st, -1);
    ck_assert_int_eq(rx_check(t, 5, 0x1235, &st), SPOOL_RX_NEW);
    ck_assert_int_eq(rx_check(t, 6, 0x1234, &st), SPOOL_RX_NEW);
    spool_rxlog_put(t, 65535, 0x99, 778);
    ck_assert_int_eq(rx_check(t, 65535, 0x99, &st), SPOOL_RX_SEEN);
    spool_rxlog_close(t);
    spool_rxlog_close(NULL);
}
END_TEST

/* A process killed with SIGKILL (no close, no msync) right after its puts:
 * the next one gets each entry's stamp back once, then SEEN. */
START_TEST(rxlog_survives_sigkill)
{
    struct spool_rxlog *t;
    int64_t st;
    int status;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        t = rx_open(42, 1000);
        spool_rxlog_put(t, 10, 0xabc, 1764295200123456789LL);
        spool_rxlog_put(t, 11, 0xdef, 1764295200123456790LL);
        spool_rxlog_put(t, 12, 0x555, 3);
        spool_rxlog_put(t, 12, 0x556, 4);           /* replaces 0x555 */
        raise(SIGKILL);
        _exit(3);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGKILL);

    t = rx_open(42, 1000);
    ck_assert_int_eq(rx_check(t, 10, 0xabc, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 1764295200123456789LL);
    ck_assert_int_eq(rx_check(t, 10, 0xabc, &st), SPOOL_RX_SEEN);  /* once */
    ck_assert_int_eq(rx_check(t, 11, 0xdee, &st), SPOOL_RX_NEW);   /* other hash */
    ck_assert_int_eq(rx_check(t, 11, 0xdef, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 1764295200123456790LL);
    ck_assert_int_eq(rx_check(t, 12, 0x555, &st), SPOOL_RX_NEW);
    ck_assert_int_eq(rx_check(t, 12, 0x556, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 4);
    ck_assert_int_eq(rx_check(t, 13, 0xabc, &st), SPOOL_RX_NEW);
    spool_rxlog_close(t);
}
END_TEST

/* After forget_earlier, matching entries of the earlier run are SEEN (the
 * in-process rule), and new puts are SEEN too. Closed and reopened, the
 * newest puts are "earlier" again. */
START_TEST(rxlog_forget_earlier)
{
    struct spool_rxlog *t = rx_open(7, 1000);
    int64_t st;

    spool_rxlog_put(t, 100, 0x10, 1000);
    spool_rxlog_close(t);
    t = rx_open(7, 1000);
    spool_rxlog_forget_earlier(t);
    ck_assert_int_eq(rx_check(t, 100, 0x10, &st), SPOOL_RX_SEEN);
    spool_rxlog_put(t, 101, 0x11, 2000);
    ck_assert_int_eq(rx_check(t, 101, 0x11, &st), SPOOL_RX_SEEN);
    spool_rxlog_close(t);
    t = rx_open(7, 1000);
    ck_assert_int_eq(rx_check(t, 101, 0x11, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 2000);
    ck_assert_int_eq(rx_check(t, 100, 0x10, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 1000);
    spool_rxlog_close(t);
}
END_TEST

/* Only ids at most max_back before the earlier process's last id are
 * resends (also across the 65535 -> 0 wrap); an old entry that matches by
 * chance is NEW. */
START_TEST(rxlog_resend_window)
{
    struct spool_rxlog *t = rx_open(9, 1000);
    int64_t st;

    spool_rxlog_put(t, 100, 0xa, 1);
    spool_rxlog_put(t, 29000, 0xb, 2);       /* 1000 before the last: in   */
    spool_rxlog_put(t, 28999, 0xe, 5);       /* 1001 before the last: out  */
    spool_rxlog_put(t, 30000, 0xc, 3);
    spool_rxlog_close(t);
    t = rx_open(9, 1000);
    ck_assert_int_eq(rx_check(t, 100, 0xa, &st), SPOOL_RX_NEW);
    ck_assert_int_eq(rx_check(t, 28999, 0xe, &st), SPOOL_RX_NEW);
    ck_assert_int_eq(rx_check(t, 29000, 0xb, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 2);
    ck_assert_int_eq(rx_check(t, 30000, 0xc, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 3);
    /* a wrap: last id 5, entry at 65530 is 11 before it */
    spool_rxlog_put(t, 65530, 0xd, 4);
    spool_rxlog_put(t, 5, 0xf, 6);
    spool_rxlog_close(t);
    t = rx_open(9, 1000);
    ck_assert_int_eq(rx_check(t, 65530, 0xd, &st), SPOOL_RX_RESTAMP);
    ck_assert_int_eq(st, 4);
    ck_assert_int_eq(rx_check(t, 30000, 0xc, &st), SPOOL_RX_NEW);  /* 29541 ids after */
    spool_rxlog_close(t);
}
END_TEST

/* Another session key, or a file that is not an rx log, starts empty; the
 * file always has its full size (blocks allocated). */
START_TEST(rxlog_other_key_or_garbage_starts_empty)
{
    char path[200];
    struct spool_rxlog *t = rx_open(1, 1000);
    struct stat sb;
    int64_t st;
    FILE *f;

    spool_rxlog_put(t, 1, 0x77, 10);
    spool_rxlog_close(t);
    t = rx_open(2, 1000);
    ck_assert_int_eq(rx_check(t, 1, 0x77, &st), SPOOL_RX_NEW);
    spool_rxlog_close(t);
    snprintf(path, sizeof(path), "%s/rxlog", tmpdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not an rx log", f);
    fclose(f);
    t = rx_open(2, 1000);
    ck_assert_int_eq(rx_check(t, 1, 0x77, &st), SPOOL_RX_NEW);
    spool_rxlog_close(t);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_size, RX_FILE_SIZE);
    ck_assert_int_ge((long long)sb.st_blocks * 512, RX_FILE_SIZE);
}
END_TEST

/* A path that cannot be used: a table in memory and a message. */
START_TEST(rxlog_unusable_path_falls_back_to_memory)
{
    char path[200], err[300];
    struct spool_rxlog *t;
    int64_t st;

    snprintf(path, sizeof(path), "%s/no/such/folder/rxlog", tmpdir);
    t = spool_rxlog_open(path, 1, 1000, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(spool_rxlog_persistent(t), 0);
    ck_assert_ptr_nonnull(strstr(err, "no/such/folder/rxlog: "));
    spool_rxlog_put(t, 3, 0x33, 1);
    ck_assert_int_eq(rx_check(t, 3, 0x33, &st), SPOOL_RX_SEEN);
    spool_rxlog_close(t);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, empty_spool);
    tcase_add_loop_test(tc, append_then_read_in_order, 0, N(nrec_cases));
    tcase_add_loop_test(tc, max_points_stops_at_whole_records, 0, N(maxp_cases));
    tcase_add_test(tc, read_until_stops_before_end);
    tcase_add_loop_test(tc, segments_rotate_and_reads_cross_them, 0, N(rot_cases));
    tcase_add_test(tc, release_moves_head_and_deletes_segments);
    tcase_add_test(tc, ack_file_at_most_once_a_second);
    tcase_add_loop_test(tc, reopen_replays_from_the_ack, 0, N(reopen_cases));
    tcase_add_test(tc, reopen_after_kill_replays_unrecorded_release);
    tcase_add_test(tc, ack_past_a_lost_tail);
    tcase_add_loop_test(tc, torn_tail_is_skipped_and_counted, 0, T_NTORN);
    tcase_add_loop_test(tc, corrupt_record_in_the_middle, 0, N(flip_cases));
    tcase_add_test(tc, corrupt_found_while_reading_closed_segment);
    tcase_add_test(tc, corrupt_found_while_reading_append_segment);
    tcase_add_test(tc, full_output_buffer_is_not_corruption);
    tcase_add_test(tc, size_cap_drops_the_oldest_segment);
    tcase_add_test(tc, size_cap_counts_only_unreleased_points);
    tcase_add_test(tc, size_cap_keeps_the_append_segment);
    tcase_add_test(tc, file_size_limit_fails_append_cleanly);
    tcase_add_test(tc, missing_folder_fails_rotation);
    tcase_add_test(tc, read_only_folder);
    tcase_add_test(tc, open_creates_missing_parents);
    tcase_add_loop_test(tc, open_refuses_what_is_not_a_folder, 0, N(bad_dirs));
    tcase_add_test(tc, open_refuses_an_empty_path);
    tcase_add_test(tc, open_ignores_other_files);
    tcase_add_test(tc, fsync_every_append_with_interval_zero);
    tcase_add_test(tc, fsync_batched_by_tick);
    tcase_add_loop_test(tc, big_record_round_trip, 0, N(big_seg_cases));
    tcase_add_loop_test(tc, invalid_append_is_refused, 0, N(bad_len_cases));
    tcase_add_test(tc, rxlog_in_memory);
    tcase_add_test(tc, rxlog_survives_sigkill);
    tcase_add_test(tc, rxlog_forget_earlier);
    tcase_add_test(tc, rxlog_resend_window);
    tcase_add_test(tc, rxlog_other_key_or_garbage_starts_empty);
    tcase_add_test(tc, rxlog_unusable_path_falls_back_to_memory);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(spool_suite)
