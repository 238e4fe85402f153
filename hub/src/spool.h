/* SPDX-License-Identifier: MIT */
/* spool.h - the write-ahead spool on disk: the queue of line protocol that
 * InfluxDB has not acknowledged yet.
 *
 * Layout: one folder of segment files "<16 hex digits>.seg", appended only,
 * each at most segment_bytes long, plus a small "ack" file (replaced
 * atomically by rename) that records the position up to which InfluxDB has
 * acknowledged everything. A record is
 *     "KSP1" | u32 payload length | u32 points | u32 CRC-32 of the payload
 * followed by the payload (complete lines, each ending in '\n'); integers
 * are little-endian. A torn or corrupt record (power loss in the middle of
 * a write) is detected by its length or CRC: the rest of that segment is
 * skipped and counted.
 *
 * A position is (segment number << 32) | byte offset in the segment.
 * Positions only grow. Everything before spool_head() is acknowledged (or
 * dropped); everything from there to spool_tail() is kept until released.
 *
 * Bounded: when the spool's files pass max_bytes, the oldest segment is
 * deleted even if not acknowledged, and its points are counted as dropped.
 * Disk full and permission errors make spool_append() fail with HUB_EIO
 * (counted, with the reason in the stats); the caller keeps running.
 *
 * SD-card friendly: appends only, fsync at most every fsync_interval_ms,
 * bounded segment files, nothing rewritten in place.
 *
 * The module does file I/O but never logs; not thread-safe. */
#ifndef HUB_SPOOL_H
#define HUB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"

struct spool;               /* opaque */

struct spool_cfg {
    char dir[512];              /* created with its parents if missing (0750) */
    uint64_t max_bytes;         /* cap of all segment files together        */
    uint64_t segment_bytes;     /* a new segment starts past this size      */
    hub_mono_ms fsync_interval_ms; /* 0 = fsync after every append          */
};

struct spool_stats {
    uint64_t bytes;             /* size of the segment files now            */
    uint64_t points_pending;    /* points not yet acknowledged              */
    uint64_t records_appended;
    uint64_t points_appended;
    uint64_t points_dropped;    /* lost to the size cap                     */
    uint64_t segments_dropped;  /* deleted by the size cap                  */
    uint64_t torn_records;      /* corrupt or cut records skipped           */
    uint64_t append_errors;     /* appends that failed (disk full, EACCES)  */
    uint64_t fsyncs;
    int last_errno;             /* errno of the last failure, 0 if none     */
};

/* Open (or create) the spool in cfg->dir and scan what is there. Returns
 * NULL with a message in err when the folder cannot be created or read. */
struct spool *spool_open(const struct spool_cfg *cfg, char *err, size_t errlen);

/* fsync and close. Accepts NULL. */
void spool_close(struct spool *s);

/* Append one record of npoints complete lines. Returns HUB_OK, HUB_EINVAL
 * (empty or too large), or HUB_EIO when the bytes could not be written
 * (nothing of the record is kept; stats.last_errno says why). */
int spool_append(struct spool *s, const void *lines, size_t len,
                 uint32_t npoints, hub_mono_ms now);

/* fsync when data is waiting and the interval has passed. */
void spool_tick(struct spool *s, hub_mono_ms now);

/* The size cap drops only whole segments that end at or before pos: data
 * the caller still holds in memory (and will deliver) is not counted as
 * lost. UINT64_MAX (the default) = no protection. The cap may then be
 * passed by what is protected plus one segment. */
void spool_set_protect(struct spool *s, uint64_t pos);

/* End position of the segment that holds the next record at or after pos
 * (pos itself at the tail). */
uint64_t spool_segment_end(const struct spool *s, uint64_t pos);

/* Position of the oldest byte not yet released, and after the newest. */
uint64_t spool_head(const struct spool *s);
uint64_t spool_tail(const struct spool *s);

/* Read whole records from *pos (clamped up to spool_head()) into out,
 * appending, until at least max_points points were read or the tail is
 * reached; at least one record is read if there is one. Advances *pos past
 * what was read and adds the points to *npoints. Returns HUB_OK when
 * something was read, HUB_EAGAIN when *pos is at the tail, HUB_EIO on a
 * read error, HUB_ENOMEM when not even the first record fits in out (then
 * *pos stays on it). When out fills up after some records, the read stops
 * there and returns HUB_OK. Corrupt records are skipped (counted). */
int spool_read(struct spool *s, uint64_t *pos, struct buf *out,
               uint32_t max_points, uint32_t *npoints);

/* Same, but never reads a record that starts at or after 'end'. */
int spool_read_until(struct spool *s, uint64_t *pos, uint64_t end,
                     struct buf *out, uint32_t max_points, uint32_t *npoints);

/* Everything before pos (a record boundary) has been acknowledged or given
 * up: delete the segments wholly before it and record the position in the
 * ack file (at most once a second; spool_close() writes the last one).
 * Positions at or before the current head are ignored. Returns HUB_OK or
 * HUB_EIO. */
int spool_release(struct spool *s, uint64_t pos, hub_mono_ms now);

void spool_get_stats(const struct spool *s, struct spool_stats *st);

/* ---- the redelivery log ----------------------------------------------
 *
 * QoS 1 after a kill -9: the broker sends again, with the same message id,
 * what it has no PUBACK for. A message the dead hub had already taken in
 * (and maybe spooled) must then get the timestamp it got the first time,
 * so that writing it again makes the same InfluxDB point (a replay is
 * idempotent) instead of a second one.
 *
 * The rx log is a fixed-size file "rxlog" in the spool folder, mapped with
 * mmap(MAP_SHARED): for each of the 65536 message ids the hash of the last
 * message taken in under it and the time it was stamped with, plus the
 * last id taken in. An entry is written before the message is decoded, so
 * before any PUBACK for it can leave; a store into the mapping is in the
 * page cache at once and survives the process being killed (not a power
 * cut: the kernel writes the pages back within its dirty expiry, ~30 s).
 * The file's blocks are allocated up front (posix_fallocate), so a full
 * disk never makes a store fault. Without a path, or when the file cannot
 * be used, the table is in memory only (redeliveries within one process
 * are still recognised).
 *
 * Layout (little-endian on every platform the hub runs on; the file is
 * local and rebuilt when its header does not match): 64-byte header
 * "KRX1" | u32 version | u64 key | u32 last id | zero padding, then
 * u32 hash[65536], then i64 stamp[65536]. A different key (another broker
 * or client id) empties the table. 768 KiB. */

struct spool_rxlog;         /* opaque */

enum spool_rx {
    SPOOL_RX_NEW,           /* not seen: take it in (and spool_rxlog_put) */
    SPOOL_RX_SEEN,          /* taken in by this process: skip it          */
    SPOOL_RX_RESTAMP        /* taken in by an earlier process: take it in
                               again with its first stamp (*stamp)        */
};

/* Open (create) the rx log at path for the session 'key' (a hash of the
 * broker and client id); path NULL or "": memory only. Entries found in
 * the file are "earlier": spool_rxlog_check() answers SPOOL_RX_RESTAMP for
 * them (once), when the id is at most max_back ids before the last id
 * the earlier process took in (the broker resends only what was in
 * flight). Returns NULL only when out of memory; a file that cannot be
 * used gives a memory-only table and a message in err (err[0] == '\0'
 * otherwise). */
struct spool_rxlog *spool_rxlog_open(const char *path, uint64_t key,
                                     uint32_t max_back, char *err,
                                     size_t errlen);

/* Unmap and close. Accepts NULL. */
void spool_rxlog_close(struct spool_rxlog *t);

/* 1 when the table is backed by the file. */
int spool_rxlog_persistent(const struct spool_rxlog *t);

/* Is the message (id, hash of topic and payload; hash != 0) one that was
 * taken in already? See enum spool_rx. A RESTAMP answer is given once
 * per entry: asked again, it is SEEN. */
enum spool_rx spool_rxlog_check(struct spool_rxlog *t, uint16_t mid,
                                uint32_t hash, int64_t *stamp);

/* Record that the message (id, hash != 0) was taken in with 'stamp'. */
void spool_rxlog_put(struct spool_rxlog *t, uint16_t mid, uint32_t hash,
                     int64_t stamp);

/* Forget which entries are from an earlier process (call when the first
 * new message after the first connect shows the resends are over). */
void spool_rxlog_forget_earlier(struct spool_rxlog *t);

#endif /* HUB_SPOOL_H */
