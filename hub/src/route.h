/* SPDX-License-Identifier: MIT */
/* route.h - who is told about an alert, when, and how often (pure; no I/O,
 * no logging).
 *
 * The rule engine (alert.c) reports transitions of alerts: firing, a
 * severity change, resolved. The router turns them into deliveries, each
 * for ONE member and listing up to ROUTE_GROUP_MAX alert ids of one site;
 * the integrator renders the text (msgtext) and puts it in the outbox.
 * Time is wall-clock Unix ns, passed in. Local time is WITA (Asia/Makassar,
 * UTC+8, no DST), computed as UTC + 8 h without the TZ database.
 *
 * Routing (decided when the alert fires or its severity rises):
 *  - a member is eligible for an alert when sev >= member.min_severity and
 *    the member's role is in params.roles[sev] ("*" or "" = any role;
 *    defaults: info -> "operator", warn -> "operator,ketua", crit -> "*");
 *  - the first message goes to the lowest tier that has an eligible member
 *    (normally tier 1; a tier <= 0 counts as 1);
 *  - within that tier, members off duty (member.on_duty) are skipped, unless
 *    no eligible member of the tier is on duty: then all of them get it, so
 *    nobody is left uninformed;
 *  - if no member at all is eligible, a crit goes to every member of the
 *    lowest tier (roles and min_severity ignored); info/warn is counted in
 *    route_stats.unrouted and sent to nobody.
 * Timing:
 *  - grouping: a delivery opens a group per (member, site, kind of
 *    delivery); alerts of the same site arriving before it is due join it.
 *    A group is due group_wait_s after it opened. A firing group of info/warn
 *    for a (member, site) that got a firing message less than
 *    group_interval_s ago waits until group_interval_s after that message.
 *    Crit bypasses group_interval_s (only group_wait_s applies).
 *  - quiet hours [quiet_start, quiet_end) WITA, may cross midnight: a group
 *    whose highest severity is below crit and that falls due inside them
 *    is postponed to quiet_end (so the night's alerts arrive grouped in the
 *    morning). Crit bypasses quiet hours. This applies to every kind of
 *    delivery, resolved included (a resolved warn waits for the morning, a
 *    resolved crit is sent at once: whoever was woken wants to know).
 *  - resolved goes to every member who received a firing, reminder or
 *    escalation delivery for the alert, whether now on duty or not. An
 *    alert resolved before any delivery went out is dropped silently (as
 *    Alertmanager's group_wait) and counted in resolved_unsent; so is a
 *    warn that fires and clears inside quiet hours (nothing in the morning).
 *  - reminder: every reminder_s[sev] (0 = never) after the first delivery,
 *    while firing and unacknowledged, to everyone who received it. A reminder
 *    that is still pending is not queued twice.
 *  - escalation: escalate_after_s after the first delivery of an alert with
 *    sev >= escalate_min_severity and no ack, the next higher tier with a
 *    member whose min_severity allows it gets an RD_ESCALATION (duty rule as
 *    above); then the next tier after another escalate_after_s, and so on.
 *  - a rise in severity sends a new firing delivery (at the new severity) to
 *    everyone who was told, plus the newly eligible members, and clears an
 *    ack (reminders and escalation restart from that delivery); a fall sends
 *    nothing. A repeated firing at the same severity is ignored (so a rule
 *    engine that re-announces after a restart causes no storm).
 *  - an ack stops reminders and escalation of that alert and removes it from
 *    pending reminder/escalation deliveries; first messages still pending go
 *    out, and resolved still follows.
 * Memory is bounded: ROUTE_MAX_MEMBERS, ROUTE_MAX_ALERTS, ROUTE_MAX_PENDING
 * and ROUTE_MAX_SITES (group_interval memory); what passes a cap is counted
 * in struct route_stats. */
#ifndef HUB_ROUTE_H
#define HUB_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* "unknown or inactive alert id". Not in hub_err.h yet (HUB_ENOENT = -7
 * is proposed there); same value. */
#define ROUTE_ENOENT (-7)

enum route_sev { ROUTE_INFO, ROUTE_WARN, ROUTE_CRIT };  /* as alert.h */
#define ROUTE_NSEV 3

#define ROUTE_MAX_CHANNELS 4
#define ROUTE_MAX_MEMBERS 64      /* also the width of the notified mask */
#define ROUTE_MAX_ALERTS 128      /* active (firing) alerts tracked */
#define ROUTE_MAX_PENDING 256     /* deliveries queued, not yet returned */
#define ROUTE_MAX_SITES 128       /* (member, site) last-firing memory */
#define ROUTE_GROUP_MAX 8         /* alert ids per delivery */
#define ROUTE_ID_MAX 16           /* alert id incl. NUL */
#define ROUTE_SITE_MAX 64
#define ROUTE_SCHED_MAX 4         /* items in one on_duty schedule */

struct member {
    char name[48];
    char phone[20];        /* E.164; router_new normalises it */
    char channels[ROUTE_MAX_CHANNELS][16];  /* preference order */
    size_t nchannels;
    char role[24];         /* "ketua", "operator", "anggota", ... */
    int tier;              /* escalation tier: 1 first, 2 next; <= 0 = 1 */
    char lang[4];          /* "id" (default when "") or "en" */
    char on_duty[64];      /* schedule, see route_parse_schedule; "" = always */
    enum route_sev min_severity;
};

/* On-duty schedule, WITA.
 *   spec  := "" | "always" | item (";" item)*
 *   item  := days | [days " "] HH:MM "-" HH:MM
 *   days  := range ("," range)* ; range := day | day "-" day (wraps: sat-mon)
 *   day   := mon tue wed thu fri sat sun (case-insensitive)
 * The time range is start inclusive, end exclusive; 24:00 is allowed as an
 * end; an end at or before the start crosses midnight and belongs to the
 * day it starts on ("fri 22:00-06:00" is Friday 22:00 to Saturday 06:00).
 * Without days, every day. Example: "mon-sat 07:00-17:00; sun 08:00-12:00". */
struct route_sched_item {
    uint8_t days;          /* bit d = weekday d, 0 = Sunday */
    uint16_t start_min;    /* minutes after local midnight */
    uint16_t end_min;      /* 1..1440 */
};
struct route_schedule {
    int always;
    size_t n;
    struct route_sched_item item[ROUTE_SCHED_MAX];
};

struct route_params {
    char quiet_start[6];   /* "21:00" WITA; "" or equal to end = none */
    char quiet_end[6];     /* "06:00" */
    int64_t group_wait_s;          /* 30 */
    int64_t group_interval_s;      /* 300 */
    int64_t reminder_s[ROUTE_NSEV];/* info 0 (never), warn 14400, crit 3600 */
    int64_t escalate_after_s;      /* 1800; 0 = no escalation */
    enum route_sev escalate_min_severity;   /* ROUTE_WARN */
    char roles[ROUTE_NSEV][64];    /* comma list per severity; "*" = any */
};

enum route_what { RD_FIRING, RD_RESOLVED, RD_REMINDER, RD_ESCALATION };

struct route_delivery {
    char member[48];
    char phone[20];
    char channels[ROUTE_MAX_CHANNELS][16];
    size_t nchannels;
    char lang[4];
    enum route_what what;
    enum route_sev sev;            /* highest severity of the alerts */
    size_t nalerts;
    char alert_ids[ROUTE_GROUP_MAX][ROUTE_ID_MAX];
    char site[ROUTE_SITE_MAX];
    int64_t due_ns;                /* when it fell due (not the call time) */
    uint64_t key;  /* idempotency key: FNV-1a of member, what, site and each
                      alert's (id, firing start, sequence); the same after a
                      save/load, different for the next reminder, tier or
                      firing episode */
};

struct route_stats {
    uint64_t members_dropped;   /* members past ROUTE_MAX_MEMBERS */
    uint64_t alerts_dropped;    /* firing alerts past ROUTE_MAX_ALERTS */
    uint64_t pending_dropped;   /* deliveries past ROUTE_MAX_PENDING */
    uint64_t unrouted;          /* info/warn alerts nobody is eligible for */
    uint64_t resolved_unsent;   /* resolved before any delivery went out */
    uint64_t unknown_resolved;  /* resolved for an id not firing */
    uint64_t load_skipped;      /* saved entries naming unknown members */
};

/* Fill p with the defaults above. Cannot fail. */
void route_params_defaults(struct route_params *p);

/* Normalise a phone number to E.164. Spaces, dashes, dots and parentheses
 * are removed; "08.." -> "+628..", "628.." -> "+628..", "00xx.." -> "+xx..",
 * "+xx.." kept. The result must have 10 to 15 digits. Returns HUB_OK, or
 * HUB_EINVAL with a reason in err (letters, too short/long, bad prefix,
 * out too small). err may be NULL. */
int route_normalise_phone(const char *in, char *out, size_t outlen,
                          char *err, size_t errlen);

/* Parse an on-duty schedule (syntax above). HUB_OK or HUB_EINVAL + reason. */
int route_parse_schedule(const char *spec, struct route_schedule *out,
                         char *err, size_t errlen);

/* 1 if the schedule covers wall_ns, else 0. */
int route_schedule_on(const struct route_schedule *s, int64_t wall_ns);

/* 1 if m is on duty at wall_ns (an unparsable schedule counts as always
 * on duty: router_new refuses such members, so this only matters for
 * direct callers). */
int route_on_duty(const struct member *m, int64_t wall_ns);

/* Check one member as router_new does (phone, schedule, channels, lang).
 * For config validation. HUB_OK or HUB_EINVAL + reason. */
int route_check_member(const struct member *m, char *err, size_t errlen);

/* Parse an SMS reply into an alert id: "OK a7", "ok A7", " Ok  a7 ",
 * "ACK a7" -> "a7" (lower case). Returns 1 if understood, else 0 (also
 * when the id does not fit in idlen). Ids are letters, digits, '-', '_'. */
int route_parse_sms_ack(const char *text, char *id, size_t idlen);

struct router;

/* Create a router over a copy of the members (phones normalised). Members
 * past ROUTE_MAX_MEMBERS are dropped and counted. p NULL = defaults.
 * Returns NULL with a reason in err for an invalid member or parameter
 * (naming the member), or on allocation failure ("out of memory"). */
struct router *router_new(const struct member *members, size_t n,
                          const struct route_params *p,
                          char *err, size_t errlen);
void router_free(struct router *r);     /* NULL is fine */

/* An alert transition from the rule engine: firing (new, or a severity
 * change) or resolved (firing = 0; sev ignored). Strings are copied;
 * alert_id longer than ROUTE_ID_MAX - 1 or site longer than
 * ROUTE_SITE_MAX - 1 is truncated. rule, kind and obj_id are not used for
 * routing (routing is by severity and role) and may be NULL. */
void router_on_alert(struct router *r, const char *alert_id, const char *rule,
                     const char *site, const char *kind, const char *obj_id,
                     enum route_sev sev, int firing, int64_t wall_ns);

/* Acknowledge a firing alert (id compared case-insensitively); member may
 * be "" or NULL. Returns HUB_OK (also when already acked) or ROUTE_ENOENT
 * for an unknown or resolved id. Stops reminders and escalation. */
int router_ack(struct router *r, const char *alert_id, const char *member,
               int64_t wall_ns);

/* The name of the member with this phone (any form route_normalise_phone
 * accepts), for an SMS ack. Returns a pointer into the router valid until
 * router_free, or NULL. */
const char *router_member_by_phone(const struct router *r, const char *phone);

/* Run timers up to wall_ns and return the earliest delivery due at
 * wall_ns in *out: 1 = got one (it is removed from the queue), 0 = none.
 * Call until it returns 0. */
int router_next(struct router *r, int64_t wall_ns, struct route_delivery *out);

/* Earliest time router_next has something to do; INT64_MAX = nothing. */
int64_t router_next_due_ns(const struct router *r);

void router_get_stats(const struct router *r, struct route_stats *out);

/* Number of firing alerts tracked / deliveries pending. */
size_t router_active_alerts(const struct router *r);
size_t router_pending(const struct router *r);

/* Save the state (firing alerts with ack, notified members, reminder and
 * escalation timers; pending deliveries; group_interval memory) as text.
 * Returns the length written (NUL-terminated), or HUB_EFULL if buf is too
 * small (nothing usable is in buf then). Members are saved by name. */
int router_save(const struct router *r, char *buf, size_t len);

/* Replace the state with a saved one. Entries naming members that are no
 * longer configured are skipped and counted. Returns HUB_OK, or HUB_EINVAL
 * on malformed text (also: no final "end" line, a time outside 0..2^62 ns,
 * a duplicate alert id, more entries than a cap), in which case the state
 * is unchanged; HUB_ENOMEM if the scratch copy cannot be allocated.
 * The router's params and members stay those given to router_new. */
int router_load(struct router *r, const char *text);

#endif /* HUB_ROUTE_H */
