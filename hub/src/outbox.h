/* SPDX-License-Identifier: MIT */
/* outbox.h - the durable notification outbox (on disk, SD-card friendly).
 *
 * One small file per notification in the outbox folder:
 *   <dir>/<key as 16 hex digits>.ob   pending or done (state line)
 *   <dir>/dead/<key>.ob               dead letters (kept for the operator)
 * Every change is written to "<dir>/.<key>.tmp", fsync'd, renamed over the
 * entry's file and the folder fsync'd, so a crash leaves either the old or
 * the new version, never half of one. A file ends with a CRC-32 line; a
 * torn or garbage file is skipped and counted (bad_files), never trusted.
 *
 * Life of an entry: outbox_add writes it (fsync'd) before any send;
 * outbox_next_due hands a due entry to the sender and marks it in flight;
 * outbox_result records the answer:
 *   ACCEPTED   state "done" is written; the entry is never due again. Done
 *              files are kept as tombstones (so a re-add of the same key
 *              stays a no-op after a restart) for done_keep_ns, at most
 *              done_max of them (oldest removed first).
 *   RETRYABLE  attempts+1; next try after backoff: base doubling per
 *              failure up to cap, plus 0..25 % jitter (deterministic from
 *              key and attempt), never earlier than Retry-After. After
 *              rung_max_fails retryable failures on a rung the entry moves
 *              to the next channel of its ladder (due at once); on the last
 *              rung it keeps retrying until max_age.
 *   PERMANENT  next rung (due at once); on the last rung: dead letter.
 *   Older than max_age_ns (from its creation): dead letter.
 * A crash between a send and its result leaves the entry pending: it is
 * due again after a restart (at-least-once; a gateway that accepted just
 * before the crash may see it twice). In-flight marks are memory only.
 * Pacing: an entry is not handed out while its phone had an attempt less
 * than pace_ns ago (memory only; a restart forgets it).
 *
 * Bounded: at most max_pending entries in memory and on disk; outbox_add
 * past the cap returns HUB_EFULL and counts `dropped`. Secrets never reach
 * the outbox: an entry holds member, phone, channel names, text and the
 * gateways' answers (status, reason, provider message id) only.
 *
 * Time: every function takes the wall clock in ns; none reads a clock.
 * Not thread-safe (the hub has one thread). */
#ifndef HUB_OUTBOX_H
#define HUB_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

#define OUTBOX_LADDER_MAX  4
#define OUTBOX_CHANNEL_LEN 16
#define OUTBOX_MEMBER_LEN  48
#define OUTBOX_PHONE_LEN   20
#define OUTBOX_ID_LEN      64   /* rule, alert id, site                  */
#define OUTBOX_ERR_LEN     NOTIFY_REASON_MAX
#define OUTBOX_PID_LEN     NOTIFY_ID_MAX

struct outbox_params {
    size_t max_pending;         /* default 128, min 1                    */
    size_t done_max;            /* tombstones kept; default 512, min 1   */
    int64_t done_keep_ns;       /* default 48 h                          */
    int64_t backoff_base_ns;    /* default 30 s                          */
    int64_t backoff_cap_ns;     /* default 1 h                           */
    int64_t pace_ns;            /* per phone; default 10 s               */
    unsigned rung_max_fails;    /* retryable failures per rung; default 3 */
    int64_t max_age_ns;         /* default 24 h                          */
};

/* Fill p with the defaults above. */
void outbox_params_default(struct outbox_params *p);

/* What the integrator hands in (all strings borrowed for the call). */
struct outbox_new {
    uint64_t key;                   /* idempotency key                   */
    const char *member;
    const char *phone;              /* E.164                             */
    const char *const *channels;    /* ladder, best first                */
    size_t nchannels;               /* 1..OUTBOX_LADDER_MAX              */
    const char *text;               /* UTF-8, <= NOTIFY_TEXT_MAX bytes   */
    const char *rule;               /* may be NULL                       */
    const char *alert_id;           /* may be NULL                       */
    const char *site;               /* may be NULL                       */
};

enum outbox_state { OUTBOX_PENDING = 0, OUTBOX_DONE = 1, OUTBOX_DEAD = 2 };

/* One entry, by value. */
struct outbox_entry {
    uint64_t key;
    char member[OUTBOX_MEMBER_LEN];
    char phone[OUTBOX_PHONE_LEN];
    char channels[OUTBOX_LADDER_MAX][OUTBOX_CHANNEL_LEN];
    unsigned nchannels;
    unsigned rung;                  /* index into channels               */
    unsigned rung_fails;            /* retryable failures on this rung   */
    unsigned attempts;              /* all attempts with a result        */
    int state;                      /* enum outbox_state                 */
    int64_t created_ns;
    int64_t next_ns;                /* not due before                    */
    long last_status;               /* HTTP status of the last answer    */
    char last_error[OUTBOX_ERR_LEN];
    char provider_id[OUTBOX_PID_LEN];
    char rule[OUTBOX_ID_LEN];
    char alert_id[OUTBOX_ID_LEN];
    char site[OUTBOX_ID_LEN];
    char text[NOTIFY_TEXT_MAX + 1];
};

struct outbox_counters {
    uint64_t pending;               /* entries waiting (gauge)           */
    uint64_t sent;                  /* accepted by a gateway             */
    uint64_t retried;               /* retryable failures                */
    uint64_t failed;                /* permanent failures (any rung)     */
    uint64_t fallbacks;             /* moves to a next rung              */
    uint64_t dead;                  /* dead letters                      */
    uint64_t dropped;               /* refused by the max_pending cap    */
    uint64_t duplicates;            /* adds of a key already known       */
    uint64_t bad_files;             /* torn/garbage files skipped        */
    uint64_t io_errors;             /* writes that failed                */
};

struct outbox;                      /* opaque */

/* Open (creating dir and dir/dead if needed) and load the entries. p may
 * be NULL for the defaults. Returns NULL with a message in err (may be
 * NULL) when the folder cannot be created or read. */
struct outbox *outbox_open(const char *dir, const struct outbox_params *p,
                           char *err, size_t errlen);

/* Free the memory; pending entries stay on disk. Accepts NULL. */
void outbox_close(struct outbox *ob);

/* Add a notification, written and fsync'd before this returns. Due at
 * once (pacing aside). Returns 0; 0 too for a key already pending, done
 * or dead (counted in duplicates, nothing changes); HUB_EINVAL for a bad
 * argument (empty ladder, unknown channel, too long text/member, phone not
 * E.164); HUB_EFULL past max_pending (counted in dropped); HUB_EIO when the
 * file cannot be written (nothing is kept then). */
int outbox_add(struct outbox *ob, const struct outbox_new *n, int64_t now_ns);

/* If an entry is due at now_ns (next_ns reached, not in flight, its phone
 * not paced), copy it to *out, mark it in flight, note the phone's
 * attempt time for pacing, and return 1. Returns 0 when none is due.
 * Entries past max_age are dead-lettered on the way. */
int outbox_next_due(struct outbox *ob, int64_t now_ns, struct outbox_entry *out);

/* The answer for an in-flight entry (see the file comment).
 * provider_id and error may be NULL. retry_after_s < 0: none.
 * Returns 0; HUB_EINVAL for a key not in flight; HUB_EIO when the new
 * state could not be written (the old state stays on disk; in memory the
 * entry is updated all the same, so the loop does not spin). */
struct outbox_outcome {
    int cls;                        /* enum notify_class                 */
    long http_status;
    long retry_after_s;
    const char *provider_id;
    const char *error;              /* reason text, no secret            */
};
int outbox_result(struct outbox *ob, uint64_t key,
                  const struct outbox_outcome *o, int64_t now_ns);

/* Forget an in-flight mark without a result (e.g. the request could not be
 * started): the entry is due again after pace. Returns 0 or HUB_EINVAL. */
int outbox_release(struct outbox *ob, uint64_t key);

/* The earliest time an entry becomes due (next_ns and pacing), or
 * INT64_MAX when nothing is waiting (in-flight entries do not count). */
int64_t outbox_next_due_ns(const struct outbox *ob, int64_t now_ns);

/* Copy the counters. */
void outbox_counters(const struct outbox *ob, struct outbox_counters *c);

/* Look an entry up by key (pending or done tombstones: done ones have only
 * key, state and provider_id filled). Returns 1 when found, else 0. */
int outbox_get(const struct outbox *ob, uint64_t key, struct outbox_entry *out);

#endif /* HUB_OUTBOX_H */
