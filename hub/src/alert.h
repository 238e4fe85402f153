/* SPDX-License-Identifier: MIT */
/* alert.h - the alert rule engine: decides when an alert fires and resolves
 * (pure; no I/O, never logs).
 *
 * A rule watches one field of objects of one kind ("drum", "tank", "site",
 * or "*" for any). Every (rule, site, kind, object) pair that is fed a value
 * gets an instance with its own state machine:
 *
 *   NORMAL --bad--> PENDING --bad for `for_s`--> FIRING
 *   PENDING --not bad--> NORMAL              (silent: it never fired)
 *   FIRING --clear--> RECOVERING --clear for `clear_for_s`--> NORMAL (RESOLVED)
 *   RECOVERING --not clear--> FIRING          (silent: still the same alert)
 *
 * "bad" is `value op threshold` (and the optional guard holds); "clear" is
 * "not (value op clear_threshold)" or the guard no longer holds, so a rule
 * "GE 65, clear_threshold 63" fires at >= 65 and clears only below 63
 * (hysteresis). for_s = 0 fires on the first bad reading; clear_for_s = 0
 * resolves on the first clear reading.
 *
 * Two clocks (DESIGN.md section 1). for_s and clear_for_s are measured on
 * the readings' event timestamps (ts_ns), so an accelerated or replayed
 * stream behaves like a live one. Late readings (ts older than the newest
 * one seen by the instance) only matter inside a PENDING or RECOVERING
 * run: one that agrees with the run may move its start earlier (never
 * before the newest reading known to disagree); one that disagrees and is
 * newer than the run's start restarts the run at the newest reading
 * (conservative: late data never makes an alert fire or resolve earlier
 * than the in-order stream would). Elsewhere late readings are ignored.
 * Nodata is measured on the monotonic wall clock (mono_ms): an instance of
 * a rule with nodata_s > 0 that gets no value for nodata_s raises NODATA
 * once (alert_tick); the next value ends it (NODATA_END). Nodata is a flag
 * beside the value state: a firing alert stays firing while its data is
 * missing, and resolves only on data.
 *
 * Crit escalation: when crit_threshold is set and a firing (or newly
 * firing) instance sees `value op crit_threshold`, its severity becomes
 * ALERT_CRIT; the first escalation while already firing is a new FIRING
 * note. Severity never drops back while firing (no warn/crit flapping);
 * it returns to the rule's severity when the alert resolves.
 *
 * Event rules (event_rule = 1, e.g. "phase EQ MATURE") ignore for_s and
 * clear_for_s: one FIRING note when the condition becomes true, nothing
 * while it stays true, no RESOLVED note; once false it can fire again.
 * They are not listed by alert_foreach_active().
 *
 * Guard (when_field/when_text): the rule applies only while the object's
 * last value of when_field is one of the comma-separated when_text values
 * (e.g. "MESOPHILIC,THERMOPHILIC,COOLING"). Until a guard value is known
 * the guard does not hold. Numeric guard values are compared as "%g" text.
 *
 * Bounded: at most max_instances instances and a note queue of
 * max_instances + 32 notes. When full, an idle instance (NORMAL, no nodata
 * rule) is recycled; if there is none, the value is ignored and counted.
 * A full note queue drops the newest note and counts it; drain after every
 * feed/tick and it never fills.
 * Not thread-safe: owned and used by the loop thread only. */
#ifndef HUB_ALERT_H
#define HUB_ALERT_H

#include <stddef.h>
#include <stdint.h>

enum alert_sev { ALERT_INFO, ALERT_WARN, ALERT_CRIT };

/* OP_NONE: no value condition (a nodata-only rule such as SENSOR_STALE).
 * Text rules (rule.text non-empty) use OP_EQ / OP_NE only. */
enum alert_op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE, OP_NONE };

enum alert_state { AS_NORMAL, AS_PENDING, AS_FIRING, AS_RECOVERING, AS_NODATA };

struct alert_rule {
    char name[48];            /* "DRUM_OVERHEAT"; [A-Z0-9_], unique with field */
    char kind[16];            /* "drum", "tank", "site", or "*" */
    char field[64];           /* the fed field: "temp_core_c", "phase", ... */
    enum alert_op op;
    double threshold;         /* numeric rules */
    char text[32];            /* text rules: compared with EQ/NE; "" = numeric */
    double clear_threshold;   /* hysteresis; NaN = same as threshold */
    int64_t for_s;            /* event time the condition must hold to fire */
    int64_t clear_for_s;      /* event time the clear must hold to resolve */
    int64_t nodata_s;         /* wall time without values -> NODATA; 0 = off */
    enum alert_sev severity;
    double crit_threshold;    /* NaN = none; value op crit -> ALERT_CRIT */
    int event_rule;           /* 1: fire once per transition, never resolve */
    char when_field[64];      /* optional guard field ("" = none) */
    char when_text[96];       /* accepted guard values, comma-separated */
    char msg_key[48];         /* template key in msgtext; "" = rule name */
};

enum alert_note_what { NOTE_FIRING, NOTE_RESOLVED, NOTE_NODATA, NOTE_NODATA_END };

/* A transition to tell people about (alert_next_note), or the current
 * state of an active instance (alert_foreach_active). */
struct alert_note {
    char id[16];              /* "a7": episode id, unique per engine and
                                 across save/load; a new one per firing
                                 episode and per nodata episode. Used in
                                 "OK <id>". RESOLVED/NODATA_END carry the id
                                 of the episode they end. */
    char rule[48];
    char msg_key[48];         /* rule.msg_key, or rule.name if that is "" */
    char site[64], kind[16], obj_id[64], field[64];
    enum alert_sev severity;
    enum alert_note_what what;
    enum alert_state state;   /* the instance's state after the transition */
    int event_rule;           /* 1: no RESOLVED will follow */
    int escalated;            /* 1: FIRING because severity rose to crit */
    double value;             /* the value that caused the note (NaN if none) */
    double threshold;         /* the rule's threshold (crit one if crit) */
    char text[32];            /* the text value, for text rules */
    int64_t since_ts_ns;      /* event time the condition started (FIRING),
                                 firing start (RESOLVED), last value (NODATA) */
    int64_t ts_ns;            /* event time of the transition (newest reading) */
    int64_t nodata_ms;        /* NODATA/_END: wall ms without data, else 0 */
    int nodata;               /* alert_foreach_active: 1 if data is missing */
};

struct alert_stats {
    size_t instances;         /* in use */
    uint64_t instances_full;  /* values ignored: no instance could be had */
    uint64_t notes_dropped;   /* notes lost to a full queue */
    uint64_t late_readings;   /* readings older than the instance's newest */
};

struct alert_engine;

/* Create an engine for a copy of rules[0..n). 1 <= max_instances <= 2^24.
 * Returns NULL on allocation failure, n == 0, a bad max_instances, an
 * invalid rule (see alert_rule_check) or two rules with the same name and
 * field (state is saved under that pair). Free with alert_engine_free. */
struct alert_engine *alert_engine_new(const struct alert_rule *rules, size_t n,
                                      size_t max_instances);

/* Free. Accepts NULL. */
void alert_engine_free(struct alert_engine *e);

/* Check one rule: names non-empty and NUL-terminated, op valid for the
 * rule's type, event rules with a value op, finite thresholds, for/clear_for/
 * nodata in [0, ALERT_MAX_DURATION_S]. Returns HUB_OK or HUB_EINVAL with a
 * message in err (err may be NULL). */
#define ALERT_MAX_DURATION_S (366LL * 24 * 3600)
int alert_rule_check(const struct alert_rule *r, char *err, size_t errlen);

/* Feed one value of (site, kind, id, field) at event time ts_ns and wall
 * time mono_ms. Strings are copied (truncated to the note's sizes); NULL
 * strings and a non-finite v are ignored. A text value goes to text rules
 * and guards; a number to numeric rules and guards. Notes are queued. */
void alert_feed_num(struct alert_engine *e, const char *site, const char *kind,
                    const char *id, const char *field, double v,
                    int64_t ts_ns, int64_t mono_ms);
void alert_feed_text(struct alert_engine *e, const char *site, const char *kind,
                     const char *id, const char *field, const char *v,
                     int64_t ts_ns, int64_t mono_ms);

/* Run the nodata timers at wall time mono_ms. Instances loaded by
 * alert_load start their nodata timer at the first tick or feed. */
void alert_tick(struct alert_engine *e, int64_t mono_ms);

/* Pop the oldest queued note into *out. Returns 1, or 0 if none. */
int alert_next_note(struct alert_engine *e, struct alert_note *out);

/* Call fn for every instance that is FIRING, RECOVERING (what = NOTE_FIRING)
 * or in nodata (what = NOTE_NODATA; a firing instance in nodata is listed
 * once, as NOTE_FIRING with nodata = 1), event rules excepted. The note
 * is borrowed for the call only. fn must not call into the engine. */
void alert_foreach_active(const struct alert_engine *e,
                          void (*fn)(const struct alert_note *, void *),
                          void *ctx);

/* Counters. */
void alert_engine_stats(const struct alert_engine *e, struct alert_stats *out);

/* Persistence. alert_save writes the state of every instance in use as
 * text lines ("kompos-alert 1 <next id>" then one line per instance) into
 * buf (NUL-terminated). Returns the length written, or HUB_ENOMEM if len
 * is too small; alert_save_bound() is always enough.
 * alert_load reads such text into an engine (normally a fresh one): lines
 * whose rule (name + field) is no longer configured are skipped; a firing
 * instance stays firing with its episode id and no new note. The whole
 * text is checked first: on HUB_EINVAL (malformed) nothing is changed;
 * HUB_ENOMEM if the instances do not fit. Returns HUB_OK. */
size_t alert_save_bound(const struct alert_engine *e);
int alert_save(const struct alert_engine *e, char *buf, size_t len);
int alert_load(struct alert_engine *e, const char *text);

/* The default rules of domain-compost.md 6.6 that can be expressed on
 * fields. Copies up to max rules to out (out may be NULL when max is 0);
 * returns the total number of default rules. */
size_t alert_default_rules(struct alert_rule *out, size_t max);

/* Config helpers: "gt" ">" "ge" ">=" "lt" "<" "le" "<=" "eq" "==" "ne" "!="
 * "none"; "info" "warn" "crit". HUB_OK, or HUB_EINVAL (out untouched). */
int alert_op_parse(const char *s, enum alert_op *out);
int alert_sev_parse(const char *s, enum alert_sev *out);

/* Static names: "info"/"warn"/"crit", "firing"/"resolved"/"nodata"/
 * "nodata_end", "normal"/"pending"/"firing"/"recovering"/"nodata". */
const char *alert_sev_name(enum alert_sev s);
const char *alert_what_name(enum alert_note_what w);
const char *alert_state_name(enum alert_state s);

#endif /* HUB_ALERT_H */
