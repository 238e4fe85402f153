/* SPDX-License-Identifier: MIT */
/* notify_send.h - the notification sender: takes due entries from the
 * outbox, builds the provider's request (notify.c), sends it through
 * http_curl (or writes a gammu-smsd outbox file), classifies the answer
 * and records it in the outbox.
 *
 * One send at a time (23 members, paced per phone: a queue of one is
 * enough and keeps the order obvious). The answer arrives in http_curl's
 * callback and is recorded by the next notify_send_tick() with that
 * tick's clock, so this module reads no clock either.
 *
 * Loop integration:
 *   each iteration, after http_curl_perform():  notify_send_tick(s, now)
 *   wait at most until notify_send_next_ns(s, now)
 * Secrets live only in the struct notify_creds the integrator passes (and
 * for the length of one call in curl's copy of the headers); events carry
 * the channel, member, HTTP status and a reason without them. */
#ifndef HUB_NOTIFY_SEND_H
#define HUB_NOTIFY_SEND_H

#include <stdint.h>

#include "http_curl.h"
#include "notify.h"
#include "outbox.h"

struct notify_send_cfg {
    /* Per channel (index enum notify_channel). A channel whose base_url
     * is NULL is not configured: an entry on that rung fails permanently
     * ("not configured") and moves down its ladder. Borrowed: the strings
     * must live as long as the sender (reload: free and make a new one). */
    struct notify_creds creds[NOTIFY_NCHANNELS];
    const char *gammu_outbox_dir;   /* gammu-smsd OutboxPath; NULL = off  */
    char gammu_priority;            /* 'A'..'Z'; 0 = 'A'                  */
    long timeout_ms;                /* per request; 0 = 15000             */
};

/* What happened to one attempt, for the log line and the `notification`
 * measurement. Strings valid during the callback only. */
struct notify_send_event {
    uint64_t key;
    const char *member;
    const char *channel;
    int cls;                        /* enum notify_class                  */
    long http_status;               /* 0 for gammu / no answer            */
    unsigned attempts;              /* after this one                     */
    int state;                      /* enum outbox_state after it         */
    const char *provider_id;        /* "" when none                       */
    const char *reason;             /* no secret                          */
    const char *rule;               /* the entry's rule, alert id, site   */
    const char *alert_id;
    const char *site;
};
typedef void (*notify_send_event_cb)(void *ctx, const struct notify_send_event *ev);

struct notify_send;                 /* opaque */

/* Create a sender over ob and h (both borrowed, must outlive it). cfg is
 * copied (its strings are borrowed). ev may be NULL. NULL on bad
 * arguments or no memory. */
struct notify_send *notify_send_new(struct outbox *ob, struct http_curl *h,
                                    const struct notify_send_cfg *cfg,
                                    notify_send_event_cb ev, void *ev_ctx);

/* Abort a request in flight (its entry stays pending in the outbox) and
 * free. Accepts NULL. */
void notify_send_free(struct notify_send *s);

/* Record a finished answer, then start what is due (a few gammu files or
 * failed builds may be handled in one tick; at most one HTTP request is in
 * flight). Returns the number of attempts recorded in this tick. */
int notify_send_tick(struct notify_send *s, int64_t now_ns);

/* When the loop should call notify_send_tick() next: now_ns when an answer
 * waits to be recorded, else the outbox's next due time (INT64_MAX when
 * nothing waits or a request is in flight: curl wakes the loop). */
int64_t notify_send_next_ns(const struct notify_send *s, int64_t now_ns);

/* 1 while an HTTP request is in flight. */
int notify_send_busy(const struct notify_send *s);

#endif /* HUB_NOTIFY_SEND_H */
