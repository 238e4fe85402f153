/* SPDX-License-Identifier: MIT */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "hub_err.h"

#define HDR 16
#define MAGIC "KSP1"
#define MAX_RECORD (256u * 1024u * 1024u)
#define ACK_EVERY_MS 1000

struct seg {
    uint64_t seq;
    uint64_t valid;             /* bytes up to the end of the last good record */
    uint64_t points;            /* points in the good records                  */
};

struct spool {
    struct spool_cfg cfg;
    struct seg *segs;           /* sorted by seq                               */
    size_t nsegs, capsegs;
    int wfd;                    /* the segment appended to (the last), or -1   */
    uint64_t wseq;
    int rfd;                    /* cached read fd                              */
    uint64_t rseq;
    uint64_t head;
    uint64_t protect;           /* the cap never drops data from here on  */
    uint64_t ack_written;
    hub_mono_ms next_ack;
    int dirty;
    hub_mono_ms last_fsync;
    struct spool_stats st;
};

static uint64_t mkpos(uint64_t seq, uint64_t off)
{
    return (seq << 32) | off;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void seg_path(const struct spool *s, uint64_t seq, char *out, size_t n)
{
    snprintf(out, n, "%s/%016llx.seg", s->cfg.dir, (unsigned long long)seq);
}

static int read_full(int fd, void *p, size_t n, off_t off)
{
    size_t got = 0;
    ssize_t r;

    while (got < n) {
        r = pread(fd, (char *)p + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int open_read(struct spool *s, uint64_t seq)
{
    char path[600];

    if (s->rfd >= 0 && s->rseq == seq)
        return s->rfd;
    if (s->rfd >= 0)
        close(s->rfd);
    seg_path(s, seq, path, sizeof(path));
    s->rfd = open(path, O_RDONLY | O_CLOEXEC);
    s->rseq = seq;
    return s->rfd;
}

/* Read and check the record header at off; returns the payload length and
 * fills *points, or -1 when there is no whole, valid header. */
static long read_header(int fd, uint64_t off, uint64_t limit, uint32_t *points,
                        uint32_t *crc)
{
    unsigned char h[HDR];
    uint32_t len;

    if (off + HDR > limit || read_full(fd, h, HDR, (off_t)off) != 0)
        return -1;
    if (memcmp(h, MAGIC, 4) != 0)
        return -1;
    len = get32(h + 4);
    if (len == 0 || len > MAX_RECORD || off + HDR + len > limit)
        return -1;
    *points = get32(h + 8);
    *crc = get32(h + 12);
    return (long)len;
}

/* Scan a segment: find its valid length and points; count a torn tail. */
static void scan_segment(struct spool *s, struct seg *g)
{
    char path[600];
    struct stat sb;
    uint64_t off = 0, size;
    uint32_t pts, crc;
    long len;
    char *buf = NULL;
    int fd;

    g->valid = 0;
    g->points = 0;
    seg_path(s, g->seq, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return;
    }
    size = (uint64_t)sb.st_size;
    s->st.bytes += size;
    while (off < size) {
        len = read_header(fd, off, size, &pts, &crc);
        if (len < 0)
            break;
        buf = realloc(buf, (size_t)len);
        if (!buf || read_full(fd, buf, (size_t)len, (off_t)(off + HDR)) != 0 ||
            crc32(0L, (const Bytef *)buf, (uInt)len) != crc)
            break;
        off += HDR + (uint64_t)len;
        g->points += pts;
    }
    if (off < size)
        s->st.torn_records++;
    g->valid = off;
    free(buf);
    close(fd);
}

/* Points in the records of segment g from offset 'from' on (headers only). */
static uint64_t points_from(struct spool *s, const struct seg *g, uint64_t from)
{
    uint64_t off = from, n = 0;
    uint32_t pts, crc;
    long len;
    int fd = open_read(s, g->seq);

    if (fd < 0)
        return 0;
    while (off < g->valid) {
        len = read_header(fd, off, g->valid, &pts, &crc);
        if (len < 0)
            break;
        n += pts;
        off += HDR + (uint64_t)len;
    }
    return n;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_seg(struct spool *s, uint64_t seq)
{
    struct seg *n;

    if (s->nsegs == s->capsegs) {
        s->capsegs = s->capsegs ? s->capsegs * 2 : 16;
        n = realloc(s->segs, s->capsegs * sizeof(*n));
        if (!n)
            return HUB_ENOMEM;
        s->segs = n;
    }
    memset(&s->segs[s->nsegs], 0, sizeof(s->segs[0]));
    s->segs[s->nsegs].seq = seq;
    s->nsegs++;
    return HUB_OK;
}

/* Returns HUB_OK, or HUB_EIO with stats.last_errno set. */
static int write_ack(struct spool *s)
{
    char path[600], tmp[620], line[64];
    int fd, n, rc = HUB_EIO;

    if (s->ack_written == s->head)
        return HUB_OK;
    snprintf(path, sizeof(path), "%s/ack", s->cfg.dir);
    snprintf(tmp, sizeof(tmp), "%s/ack.tmp", s->cfg.dir);
    n = snprintf(line, sizeof(line), "%llu %llu\n",
                 (unsigned long long)(s->head >> 32),
                 (unsigned long long)(s->head & 0xffffffffULL));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        s->st.last_errno = errno;
        return HUB_EIO;
    }
    if (write(fd, line, (size_t)n) == n && rename(tmp, path) == 0) {
        s->ack_written = s->head;
        rc = HUB_OK;
    } else {
        s->st.last_errno = errno ? errno : EIO;
    }
    close(fd);
    return rc;
}

static void read_ack(struct spool *s)
{
    char path[600];
    unsigned long long seq = 0, off = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ack", s->cfg.dir);
    f = fopen(path, "r");
    if (!f)
        return;
    if (fscanf(f, "%llu %llu", &seq, &off) == 2 && off <= 0xffffffffULL)
        s->head = mkpos(seq, off);
    fclose(f);
}

/* mkdir -p, each new folder with mode 0750. */
static int make_dirs(const char *dir)
{
    char tmp[512];
    size_t i, n = strlen(dir);

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, dir, n + 1);
    for (i = 1; i < n; i++) {
        if (tmp[i] != '/')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        tmp[i] = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

struct spool *spool_open(const struct spool_cfg *cfg, char *err, size_t errlen)
{
    struct spool *s = calloc(1, sizeof(*s));
    struct dirent *de;
    unsigned long long seq;
    char extra;
    size_t i;
    DIR *d;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->protect = UINT64_MAX;
    s->wfd = -1;
    s->rfd = -1;
    if (make_dirs(cfg->dir) != 0) {
        snprintf(err, errlen, "%s: %s", cfg->dir, strerror(errno));
        goto fail;
    }
    d = opendir(cfg->dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", cfg->dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        /* exactly the names seg_path() makes: sscanf alone would also
         * take "0x...", " ...", "+..." and upper case for the same seq */
        if (strlen(de->d_name) == 20 &&
            strspn(de->d_name, "0123456789abcdef") == 16 &&
            sscanf(de->d_name, "%16llx.se%c", &seq, &extra) == 2 && extra == 'g') {
            if (add_seg(s, seq) != HUB_OK) {
                closedir(d);
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    closedir(d);
    if (s->nsegs)
        qsort(s->segs, s->nsegs, sizeof(s->segs[0]), cmp_seg);
    for (i = 0; i < s->nsegs; i++)
        scan_segment(s, &s->segs[i]);
    read_ack(s);
    s->ack_written = s->head;
    if (s->nsegs && s->head < mkpos(s->segs[0].seq, 0))
        s->head = mkpos(s->segs[0].seq, 0);
    if (!s->nsegs)
        s->head = mkpos(1, 0);
    for (i = 0; i < s->nsegs; i++) {
        const struct seg *g = &s->segs[i];

        if (mkpos(g->seq, g->valid) <= s->head)
            continue;
        if ((s->head >> 32) == g->seq)
            s->st.points_pending += points_from(s, g, s->head & 0xffffffffULL);
        else
            s->st.points_pending += g->points;
    }
    /* never append after an old tail that may be torn: new segment */
    s->wseq = s->nsegs ? s->segs[s->nsegs - 1].seq + 1 : 1;
    return s;
fail:
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    if (s->wfd >= 0) {
        if (s->dirty)
            fdatasync(s->wfd);
        close(s->wfd);
    }
    if (s->rfd >= 0)
        close(s->rfd);
    if (s->cfg.dir[0])
        write_ack(s);
    free(s->segs);
    free(s);
}

/* Drop the oldest segment to respect the cap. */
static void drop_oldest(struct spool *s)
{
    struct seg *g = &s->segs[0];
    char path[600];
    struct stat sb;
    uint64_t lost;

    if (mkpos(g->seq, g->valid) <= s->head)
        lost = 0;
    else if ((s->head >> 32) == g->seq)
        lost = points_from(s, g, s->head & 0xffffffffULL);
    else
        lost = g->points;
    seg_path(s, g->seq, path, sizeof(path));
    if (stat(path, &sb) == 0)
        s->st.bytes -= (uint64_t)sb.st_size < s->st.bytes ? (uint64_t)sb.st_size : s->st.bytes;
    unlink(path);
    if (s->rfd >= 0 && s->rseq == g->seq) {
        close(s->rfd);
        s->rfd = -1;
    }
    s->st.points_dropped += lost;
    s->st.points_pending -= lost < s->st.points_pending ? lost : s->st.points_pending;
    s->st.segments_dropped++;
    if (s->head < mkpos(g->seq + 1, 0))
        s->head = s->nsegs > 1 ? mkpos(s->segs[1].seq, 0) : mkpos(g->seq + 1, 0);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(s->segs[0]));
    s->nsegs--;
}

static void sync_dir(const struct spool *s)
{
    int fd = open(s->cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int start_segment(struct spool *s)
{
    char path[600];

    if (s->wfd >= 0) {
        if (s->dirty) {
            fdatasync(s->wfd);
            s->st.fsyncs++;
            s->dirty = 0;
        }
        close(s->wfd);
        s->wfd = -1;
    }
    seg_path(s, s->wseq, path, sizeof(path));
    s->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s->wfd < 0)
        return HUB_EIO;
    if (add_seg(s, s->wseq) != HUB_OK) {
        close(s->wfd);
        s->wfd = -1;
        unlink(path);
        errno = ENOMEM;
        return HUB_EIO;
    }
    sync_dir(s);    /* a power cut must not lose the new file's name */
    return HUB_OK;
}

/* Write both iovecs whole; a short write is continued, so that a failure
 * reports its real errno (ENOSPC, EFBIG, EDQUOT). *done says how many
 * bytes were written. Returns 0 or -1 with errno set. */
static int write_all(int fd, struct iovec *iov, int n, size_t *done)
{
    ssize_t w;

    *done = 0;
    while (n > 0) {
        w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        *done += (size_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int spool_append(struct spool *s, const void *lines, size_t len,
                 uint32_t npoints, hub_mono_ms now)
{
    unsigned char h[HDR];
    struct iovec iov[2];
    struct seg *g;
    size_t done;

    if (len == 0 || len > MAX_RECORD)
        return HUB_EINVAL;
    if (s->wfd < 0 || !s->nsegs || s->segs[s->nsegs - 1].seq != s->wseq ||
        s->segs[s->nsegs - 1].valid + HDR + len > s->cfg.segment_bytes) {
        if (s->wfd >= 0)
            s->wseq++;
        if (start_segment(s) != HUB_OK)
            goto ioerr;
    }
    g = &s->segs[s->nsegs - 1];
    memcpy(h, MAGIC, 4);
    put32(h + 4, (uint32_t)len);
    put32(h + 8, npoints);
    put32(h + 12, (uint32_t)crc32(0L, (const Bytef *)lines, (uInt)len));
    iov[0].iov_base = h;
    iov[0].iov_len = HDR;
    iov[1].iov_base = (void *)lines;
    iov[1].iov_len = len;
    if (write_all(s->wfd, iov, 2, &done) != 0) {
        int e = errno;

        /* cut what was written of this record; if that fails too, the
         * next append starts a new segment after the torn tail */
        if (done > 0 && ftruncate(s->wfd, (off_t)g->valid) != 0) {
            close(s->wfd);
            s->wfd = -1;
            s->wseq++;
        }
        errno = e;
        goto ioerr;
    }
    g->valid += HDR + len;
    g->points += npoints;
    s->st.bytes += HDR + len;
    s->st.records_appended++;
    s->st.points_appended += npoints;
    s->st.points_pending += npoints;
    s->dirty = 1;
    while (s->st.bytes > s->cfg.max_bytes && s->nsegs > 1 &&
           mkpos(s->segs[0].seq, s->segs[0].valid) <= s->protect)
        drop_oldest(s);
    if (s->cfg.fsync_interval_ms == 0)
        spool_tick(s, now);
    return HUB_OK;
ioerr:
    s->st.append_errors++;
    s->st.last_errno = errno;
    return HUB_EIO;
}

void spool_tick(struct spool *s, hub_mono_ms now)
{
    if (s->dirty && s->wfd >= 0 &&
        now - s->last_fsync >= s->cfg.fsync_interval_ms) {
        fdatasync(s->wfd);
        s->st.fsyncs++;
        s->dirty = 0;
        s->last_fsync = now;
    }
    if (s->ack_written != s->head && now >= s->next_ack) {
        write_ack(s);
        s->next_ack = now + ACK_EVERY_MS;
    }
}

uint64_t spool_head(const struct spool *s)
{
    return s->head;
}

void spool_set_protect(struct spool *s, uint64_t pos)
{
    s->protect = pos;
}

uint64_t spool_segment_end(const struct spool *s, uint64_t pos)
{
    size_t i;

    for (i = 0; i < s->nsegs; i++) {
        if (s->segs[i].seq < (pos >> 32))
            continue;
        if (s->segs[i].seq == (pos >> 32) &&
            (pos & 0xffffffffULL) >= s->segs[i].valid)
            continue;           /* read to its end: the next one counts */
        return mkpos(s->segs[i].seq, s->segs[i].valid);
    }
    return pos;
}

uint64_t spool_tail(const struct spool *s)
{
    if (!s->nsegs)
        return s->head;
    return mkpos(s->segs[s->nsegs - 1].seq, s->segs[s->nsegs - 1].valid);
}

static struct seg *find_seg(struct spool *s, uint64_t seq)
{
    size_t i;

    for (i = 0; i < s->nsegs; i++) {
        if (s->segs[i].seq >= seq)
            return &s->segs[i];
    }
    return NULL;
}

/* Move *p to the start of the next record at or after it: into the next
 * existing segment when its segment is gone or read to its end. Returns
 * the record's segment, or NULL when *p is at the tail. */
static struct seg *next_record(struct spool *s, uint64_t *p)
{
    struct seg *g;

    for (;;) {
        g = find_seg(s, *p >> 32);
        if (!g)
            return NULL;
        if (g->seq != (*p >> 32))
            *p = mkpos(g->seq, 0);
        if ((*p & 0xffffffffULL) < g->valid)
            return g;
        if (g == &s->segs[s->nsegs - 1])
            return NULL;
        *p = mkpos(g->seq + 1, 0);
    }
}

/* The record at off in g turned out corrupt (or unreadable) after the
 * scan: forget the rest of the segment and its points, and if it is the
 * segment being appended to, append to a new one from now on. */
static void skip_rest(struct spool *s, struct seg *g, uint64_t off)
{
    uint64_t kept, lost;

    s->st.torn_records++;
    g->valid = off;
    kept = points_from(s, g, 0);
    lost = g->points > kept ? g->points - kept : 0;
    g->points = kept;
    s->st.points_pending -= lost < s->st.points_pending ? lost : s->st.points_pending;
    if (s->wfd >= 0 && g->seq == s->wseq) {
        if (s->dirty) {
            fdatasync(s->wfd);
            s->st.fsyncs++;
            s->dirty = 0;
        }
        close(s->wfd);
        s->wfd = -1;
        s->wseq++;
    }
}

int spool_read(struct spool *s, uint64_t *pos, struct buf *out,
               uint32_t max_points, uint32_t *npoints)
{
    return spool_read_until(s, pos, UINT64_MAX, out, max_points, npoints);
}

int spool_read_until(struct spool *s, uint64_t *pos, uint64_t end,
                     struct buf *out, uint32_t max_points, uint32_t *npoints)
{
    uint64_t p = *pos < s->head ? s->head : *pos, off;
    uint32_t pts, crc, got = 0;
    struct seg *g;
    long len;
    int fd, any = 0;

    while ((got < max_points || !any) && p < end) {
        g = next_record(s, &p);
        if (!g || p >= end)
            break;
        off = p & 0xffffffffULL;
        fd = open_read(s, g->seq);
        if (fd < 0)
            return HUB_EIO;
        len = read_header(fd, off, g->valid, &pts, &crc);
        if (len >= 0 && buf_reserve(out, (size_t)len) != HUB_OK) {
            if (any)
                break;              /* out is full: the rest next time */
            *pos = p;
            return HUB_ENOMEM;
        }
        if (len < 0 ||
            read_full(fd, out->data + out->len, (size_t)len, (off_t)(off + HDR)) != 0 ||
            crc32(0L, (const Bytef *)out->data + out->len, (uInt)len) != crc) {
            /* corrupt after the scan (or unreadable): skip the segment */
            if (len >= 0)
                out->data[out->len] = '\0';
            skip_rest(s, g, off);
            p = mkpos(g->seq + 1, 0);
            continue;
        }
        out->len += (size_t)len;
        out->data[out->len] = '\0';
        got += pts;
        any = 1;
        p = mkpos(g->seq, off + HDR + (uint64_t)len);
    }
    *pos = p;
    *npoints += got;
    return any ? HUB_OK : HUB_EAGAIN;
}

int spool_release(struct spool *s, uint64_t pos, hub_mono_ms now)
{
    uint64_t p, off, n = 0;
    uint32_t pts, crc;
    struct seg *g;
    char path[600];
    long len;
    int fd, rc;

    if (pos <= s->head)
        return HUB_OK;
    /* count the points released, record by record (headers only) */
    p = s->head;
    while (p < pos) {
        g = next_record(s, &p);
        if (!g || p >= pos)
            break;
        off = p & 0xffffffffULL;
        fd = open_read(s, g->seq);
        len = fd < 0 ? -1 : read_header(fd, off, g->valid, &pts, &crc);
        if (len < 0) {
            p = mkpos(g->seq + 1, 0);
            continue;
        }
        n += pts;
        p = mkpos(g->seq, off + HDR + (uint64_t)len);
    }
    s->head = pos;
    s->st.points_pending -= n < s->st.points_pending ? n : s->st.points_pending;
    /* delete segments wholly released, but never the one being appended */
    while (s->nsegs > 1 && mkpos(s->segs[0].seq, s->segs[0].valid) <= s->head) {
        struct stat sb;

        seg_path(s, s->segs[0].seq, path, sizeof(path));
        if (stat(path, &sb) == 0)
            s->st.bytes -= (uint64_t)sb.st_size < s->st.bytes ? (uint64_t)sb.st_size : s->st.bytes;
        if (s->rfd >= 0 && s->rseq == s->segs[0].seq) {
            close(s->rfd);
            s->rfd = -1;
        }
        unlink(path);
        memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(s->segs[0]));
        s->nsegs--;
    }
    rc = HUB_OK;
    if (s->ack_written != s->head && now >= s->next_ack) {
        rc = write_ack(s);
        s->next_ack = now + ACK_EVERY_MS;
    }
    spool_tick(s, now);
    return rc;
}

void spool_get_stats(const struct spool *s, struct spool_stats *st)
{
    *st = s->st;
}

/* ---- the redelivery log ------------------------------------------------ */

#define RX_IDS    65536u
#define RX_HDR    64u
#define RX_MAGIC  "KRX1"
#define RX_VER    1u
#define RX_SIZE   (RX_HDR + RX_IDS * 4u + RX_IDS * 8u)

struct spool_rxlog {
    unsigned char *map;         /* RX_SIZE bytes: mapped file, or malloc  */
    int mapped;
    uint32_t *hash;             /* by message id; 0 = unused               */
    int64_t *stamp;
    unsigned char *last_mid;    /* u32 in the header                       */
    uint32_t earlier_last;      /* the earlier process's last id           */
    uint32_t max_back;
    int has_earlier;            /* entries may be from an earlier process */
    unsigned char mine[RX_IDS / 8];     /* 1: entry written (or restamped)
                                           by this process                 */
};

static void rx_layout(struct spool_rxlog *t)
{
    t->hash = (uint32_t *)(void *)(t->map + RX_HDR);
    t->stamp = (int64_t *)(void *)(t->map + RX_HDR + RX_IDS * 4u);
    t->last_mid = t->map + 12;
}

static void rx_reset(struct spool_rxlog *t, uint64_t key)
{
    memset(t->map, 0, RX_SIZE);
    memcpy(t->map, RX_MAGIC, 4);
    put32(t->map + 4, RX_VER);
    memcpy(t->map + 16, &key, 8);
}

/* Map the file; returns 0, or -1 with a message in err. */
static int rx_map(struct spool_rxlog *t, const char *path, uint64_t key,
                  char *err, size_t errlen)
{
    struct stat sb;
    uint64_t k;
    void *p;
    int fd, rc;

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || ((uint64_t)sb.st_size != RX_SIZE &&
                                ftruncate(fd, 0) != 0)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* blocks allocated now: a store into the mapping never meets ENOSPC */
    rc = posix_fallocate(fd, 0, (off_t)RX_SIZE);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(rc));
        close(fd);
        return -1;
    }
    p = mmap(NULL, RX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    t->map = p;
    t->mapped = 1;
    memcpy(&k, t->map + 16, 8);
    if (memcmp(t->map, RX_MAGIC, 4) != 0 || get32(t->map + 4) != RX_VER || k != key)
        rx_reset(t, key);
    return 0;
}

struct spool_rxlog *spool_rxlog_open(const char *path, uint64_t key,
                                     uint32_t max_back, char *err,
                                     size_t errlen)
{
    struct spool_rxlog *t = calloc(1, sizeof(*t));

    if (errlen)
        err[0] = '\0';
    if (!t)
        return NULL;
    t->max_back = max_back;
    if (!path || !path[0] || rx_map(t, path, key, err, errlen) != 0) {
        t->map = calloc(1, RX_SIZE);
        if (!t->map) {
            free(t);
            return NULL;
        }
        rx_reset(t, key);
    }
    rx_layout(t);
    /* every entry there is is from an earlier process; not scanned (the
     * pages are only read when a message id needs them) */
    t->earlier_last = get32(t->last_mid) & (RX_IDS - 1);
    t->has_earlier = 1;
    return t;
}

void spool_rxlog_close(struct spool_rxlog *t)
{
    if (!t)
        return;
    if (t->mapped)
        munmap(t->map, RX_SIZE);
    else
        free(t->map);
    free(t);
}

int spool_rxlog_persistent(const struct spool_rxlog *t)
{
    return t->mapped;
}

enum spool_rx spool_rxlog_check(struct spool_rxlog *t, uint16_t mid,
                                uint32_t hash, int64_t *stamp)
{
    uint32_t id = mid, bit = 1u << (id & 7);

    if (t->hash[id] != hash)
        return SPOOL_RX_NEW;
    if (!t->has_earlier || (t->mine[id >> 3] & bit))
        return SPOOL_RX_SEEN;
    t->mine[id >> 3] |= (unsigned char)bit;
    /* the broker resends what was in flight: ids shortly before the last
     * one the earlier process took in; an old entry that only looks the
     * same (same topic and value 65536 ids ago) is a new message */
    if (((t->earlier_last - id) & (RX_IDS - 1)) > t->max_back)
        return SPOOL_RX_NEW;
    *stamp = t->stamp[id];
    return SPOOL_RX_RESTAMP;
}

void spool_rxlog_put(struct spool_rxlog *t, uint16_t mid, uint32_t hash,
                     int64_t stamp)
{
    uint32_t id = mid;

    /* the stamp before the hash that makes the entry match: a kill between
     * the two stores must not pair the new hash with the old stamp */
    t->stamp[id] = stamp;
    atomic_signal_fence(memory_order_release);
    t->hash[id] = hash;
    atomic_signal_fence(memory_order_release);
    put32(t->last_mid, id);
    if (t->has_earlier)
        t->mine[id >> 3] |= (unsigned char)(1u << (id & 7));
}

void spool_rxlog_forget_earlier(struct spool_rxlog *t)
{
    t->has_earlier = 0;
}
