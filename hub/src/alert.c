/* SPDX-License-Identifier: MIT */
/* alert.c - the alert rule engine (pure; see alert.h for the semantics).
 *
 * Instances live in one array allocated at creation (bounded), indexed by
 * a uthash table keyed "<rule>\x1f<site>\x1f<kind>\x1f<id>". Notes wait
 * in a fixed ring until alert_next_note() drains them. */
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "hub_err.h"

#define KEY_MAX 176
#define NOTE_SLACK 32
#define LINE_MAX_LEN 1024

struct inst {
    char key[KEY_MAX];
    UT_hash_handle hh;
    int used;
    size_t rule;
    char site[64], kind[16], obj[64];
    enum alert_state st;        /* NORMAL, PENDING, FIRING, RECOVERING */
    enum alert_sev sev;
    char id[16];                /* firing episode */
    char nd_id[16];             /* nodata episode */
    int nodata;
    int had_value;              /* a value of the rule's field was fed */
    int mono_known;             /* last_mono is on this run's clock */
    int64_t last_mono;
    int64_t last_ts;            /* newest event time seen (valid if had_value) */
    int64_t run_start;          /* PENDING / RECOVERING run start */
    int64_t since_ts;           /* firing since */
    int have_good;              /* a reading with the fire condition false */
    int64_t last_good;
    int have_nc;                /* a reading with the clear condition false */
    int64_t last_nc;
    int guard;                  /* -1 unknown, 0 no, 1 yes */
    double value;
    char text[32];
};

struct alert_engine {
    struct alert_rule *rules;
    size_t nrules;
    struct inst *inst;
    size_t max_inst, ninst;
    struct inst *table;         /* uthash head */
    size_t free_hint;           /* where the search for a free slot starts */
    size_t idle_cursor;         /* where the search for an idle one resumes */
    struct alert_note *q;
    size_t qcap, qhead, qlen;
    uint32_t next_id;
    struct alert_stats stats;
};

/* ---- small helpers ---------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int str_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

int alert_op_parse(const char *s, enum alert_op *out)
{
    static const struct { const char *a, *b; enum alert_op op; } ops[] = {
        { "gt", ">", OP_GT }, { "ge", ">=", OP_GE }, { "lt", "<", OP_LT },
        { "le", "<=", OP_LE }, { "eq", "==", OP_EQ }, { "ne", "!=", OP_NE },
        { "none", "none", OP_NONE },
    };
    size_t i;

    if (!s)
        return HUB_EINVAL;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(s, ops[i].a) == 0 || strcmp(s, ops[i].b) == 0) {
            *out = ops[i].op;
            return HUB_OK;
        }
    return HUB_EINVAL;
}

int alert_sev_parse(const char *s, enum alert_sev *out)
{
    if (!s)
        return HUB_EINVAL;
    if (strcmp(s, "info") == 0)
        *out = ALERT_INFO;
    else if (strcmp(s, "warn") == 0)
        *out = ALERT_WARN;
    else if (strcmp(s, "crit") == 0)
        *out = ALERT_CRIT;
    else
        return HUB_EINVAL;
    return HUB_OK;
}

const char *alert_sev_name(enum alert_sev s)
{
    switch (s) {
    case ALERT_INFO: return "info";
    case ALERT_WARN: return "warn";
    case ALERT_CRIT: return "crit";
    }
    return "?";
}

const char *alert_what_name(enum alert_note_what w)
{
    switch (w) {
    case NOTE_FIRING: return "firing";
    case NOTE_RESOLVED: return "resolved";
    case NOTE_NODATA: return "nodata";
    case NOTE_NODATA_END: return "nodata_end";
    }
    return "?";
}

const char *alert_state_name(enum alert_state s)
{
    switch (s) {
    case AS_NORMAL: return "normal";
    case AS_PENDING: return "pending";
    case AS_FIRING: return "firing";
    case AS_RECOVERING: return "recovering";
    case AS_NODATA: return "nodata";
    }
    return "?";
}

static int rule_is_text(const struct alert_rule *r)
{
    return r->text[0] != '\0';
}

int alert_rule_check(const struct alert_rule *r, char *err, size_t errlen)
{
    const char *why = NULL;

    if (!str_terminated(r->name, sizeof(r->name)) || !r->name[0])
        why = "name missing or too long";
    else if (!str_terminated(r->kind, sizeof(r->kind)) || !r->kind[0])
        why = "kind missing or too long";
    else if (!str_terminated(r->field, sizeof(r->field)) || !r->field[0])
        why = "field missing or too long";
    else if (!str_terminated(r->text, sizeof(r->text)) ||
             !str_terminated(r->when_field, sizeof(r->when_field)) ||
             !str_terminated(r->when_text, sizeof(r->when_text)) ||
             !str_terminated(r->msg_key, sizeof(r->msg_key)))
        why = "a text member is too long";
    else if ((int)r->op < OP_GT || (int)r->op > OP_NONE)
        why = "unknown operator";
    else if (rule_is_text(r) && r->op != OP_EQ && r->op != OP_NE)
        why = "a text rule takes EQ or NE only";
    else if (!rule_is_text(r) && r->op != OP_NONE && !isfinite(r->threshold))
        why = "threshold must be a finite number";
    else if (isinf(r->clear_threshold) || isinf(r->crit_threshold))
        why = "clear/crit threshold must be finite or unset";
    else if (r->for_s < 0 || r->clear_for_s < 0 || r->nodata_s < 0 ||
             r->for_s > ALERT_MAX_DURATION_S ||
             r->clear_for_s > ALERT_MAX_DURATION_S ||
             r->nodata_s > ALERT_MAX_DURATION_S)
        why = "for, clear_for and nodata must be between 0 and 366 days";
    else if (r->op == OP_NONE && r->nodata_s == 0)
        why = "a rule without a condition needs nodata";
    else if (r->event_rule && r->op == OP_NONE)
        why = "an event rule needs a condition";
    else if ((int)r->severity < ALERT_INFO || (int)r->severity > ALERT_CRIT)
        why = "unknown severity";
    else if (r->when_field[0] && !r->when_text[0])
        why = "a guard field needs guard values";
    if (!why)
        return HUB_OK;
    if (err && errlen)
        snprintf(err, errlen, "rule %.48s: %s",
                 str_terminated(r->name, sizeof(r->name)) ? r->name : "?", why);
    return HUB_EINVAL;
}

/* ---- engine ------------------------------------------------------------ */

struct alert_engine *alert_engine_new(const struct alert_rule *rules, size_t n,
                                      size_t max_instances)
{
    struct alert_engine *e;
    size_t i;

    if (!rules || n == 0 || max_instances == 0 || max_instances > (1u << 24))
        return NULL;
    for (i = 0; i < n; i++) {
        size_t j;

        if (alert_rule_check(&rules[i], NULL, 0) != HUB_OK)
            return NULL;
        for (j = 0; j < i; j++)
            if (strcmp(rules[i].name, rules[j].name) == 0 &&
                strcmp(rules[i].field, rules[j].field) == 0)
                return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->rules = calloc(n, sizeof(*e->rules));
    e->inst = calloc(max_instances, sizeof(*e->inst));
    e->qcap = max_instances + NOTE_SLACK;
    e->q = calloc(e->qcap, sizeof(*e->q));
    if (!e->rules || !e->inst || !e->q) {
        alert_engine_free(e);
        return NULL;
    }
    memcpy(e->rules, rules, n * sizeof(*rules));
    e->nrules = n;
    e->max_inst = max_instances;
    e->next_id = 1;
    return e;
}

void alert_engine_free(struct alert_engine *e)
{
    if (!e)
        return;
    HASH_CLEAR(hh, e->table);
    free(e->rules);
    free(e->inst);
    free(e->q);
    free(e);
}

void alert_engine_stats(const struct alert_engine *e, struct alert_stats *out)
{
    *out = e->stats;
    out->instances = e->ninst;
}

static void new_id(struct alert_engine *e, char *out, size_t size)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char tmp[16];
    size_t n = 0, i;
    uint32_t v = e->next_id++;

    if (e->next_id == 0)
        e->next_id = 1;
    do {
        tmp[n++] = digits[v % 36];
        v /= 36;
    } while (v && n < sizeof(tmp));
    if (size < n + 2) {
        out[0] = '\0';
        return;
    }
    out[0] = 'a';
    for (i = 0; i < n; i++)
        out[1 + i] = tmp[n - 1 - i];
    out[1 + n] = '\0';
}

/* "<rule>\x1f<site>\x1f<kind>\x1f<obj>", each name cut as the old
 * "%zu\x1f%.63s\x1f%.15s\x1f%.63s" did; built by hand: it runs for every
 * value fed. */
static void make_key(char *key, size_t rule, const char *site,
                     const char *kind, const char *obj)
{
    char num[24];
    size_t n = 0, k = 0, len;

    do {
        num[k++] = (char)('0' + rule % 10);
        rule /= 10;
    } while (rule && k < sizeof(num));
    while (k && n < KEY_MAX - 1)
        key[n++] = num[--k];
#define PUT(str, max) do {                                        \
        len = strnlen(str, max);                                  \
        if (n + 1 + len < KEY_MAX) {                              \
            key[n++] = '\x1f';                                    \
            memcpy(key + n, str, len);                            \
            n += len;                                             \
        }                                                         \
    } while (0)
    PUT(site, 63);
    PUT(kind, 15);
    PUT(obj, 63);
#undef PUT
    key[n] = '\0';
}

static int inst_idle(const struct alert_engine *e, const struct inst *in)
{
    return in->st == AS_NORMAL && !in->nodata &&
           e->rules[in->rule].nodata_s == 0;
}

static struct inst *inst_get(struct alert_engine *e, size_t rule,
                             const char *site, const char *kind,
                             const char *obj, int create)
{
    char key[KEY_MAX];
    struct inst *in = NULL;
    size_t i;

    make_key(key, rule, site, kind, obj);
    HASH_FIND_STR(e->table, key, in);
    if (in || !create)
        return in;
    if (e->ninst < e->max_inst) {
        /* from the hint on: slots fill in order, so this is O(1) amortised */
        for (size_t n = 0; n < e->max_inst; n++) {
            i = (e->free_hint + n) % e->max_inst;
            if (!e->inst[i].used) {
                in = &e->inst[i];
                e->free_hint = (i + 1) % e->max_inst;
                break;
            }
        }
    }
    if (!in) {
        /* full: look for an idle instance to reuse, but at most 16 per
         * call from a rotating cursor, so a site with more objects than
         * alerts.max_instances costs bounded time per value, not a scan of
         * the whole table */
        for (size_t n = 0; n < 16 && n < e->max_inst; n++) {
            i = (e->idle_cursor + n) % e->max_inst;
            if (e->inst[i].used && inst_idle(e, &e->inst[i])) {
                in = &e->inst[i];
                HASH_DEL(e->table, in);
                e->ninst--;
                e->idle_cursor = (i + 1) % e->max_inst;
                break;
            }
        }
        if (!in)
            e->idle_cursor = (e->idle_cursor + 16) % e->max_inst;
    }
    if (!in) {
        e->stats.instances_full++;
        return NULL;
    }
    memset(in, 0, sizeof(*in));
    in->used = 1;
    in->rule = rule;
    copy_str(in->site, sizeof(in->site), site);
    copy_str(in->kind, sizeof(in->kind), kind);
    copy_str(in->obj, sizeof(in->obj), obj);
    copy_str(in->key, sizeof(in->key), key);
    in->st = AS_NORMAL;
    in->sev = e->rules[rule].severity;
    in->guard = -1;
    in->value = NAN;
    HASH_ADD_STR(e->table, key, in);
    e->ninst++;
    return in;
}

static void fill_note(const struct alert_engine *e, const struct inst *in,
                      enum alert_note_what what, struct alert_note *n)
{
    const struct alert_rule *r = &e->rules[in->rule];

    memset(n, 0, sizeof(*n));
    copy_str(n->id, sizeof(n->id),
             (what == NOTE_NODATA || what == NOTE_NODATA_END) ? in->nd_id
                                                             : in->id);
    copy_str(n->rule, sizeof(n->rule), r->name);
    copy_str(n->msg_key, sizeof(n->msg_key), r->msg_key[0] ? r->msg_key : r->name);
    copy_str(n->site, sizeof(n->site), in->site);
    copy_str(n->kind, sizeof(n->kind), in->kind);
    copy_str(n->obj_id, sizeof(n->obj_id), in->obj);
    copy_str(n->field, sizeof(n->field), r->field);
    copy_str(n->text, sizeof(n->text), in->text);
    n->severity = in->sev;
    n->what = what;
    n->state = in->st;
    n->event_rule = r->event_rule;
    n->value = in->value;
    n->threshold = (in->sev == ALERT_CRIT && !isnan(r->crit_threshold) &&
                    r->severity != ALERT_CRIT) ? r->crit_threshold : r->threshold;
    n->since_ts_ns = (what == NOTE_NODATA || what == NOTE_NODATA_END)
                         ? in->last_ts : in->since_ts;
    n->ts_ns = in->last_ts;
}

static void push_note(struct alert_engine *e, const struct inst *in,
                      enum alert_note_what what, int escalated, int64_t nodata_ms)
{
    struct alert_note *n;

    if (e->qlen == e->qcap) {
        e->stats.notes_dropped++;
        return;
    }
    n = &e->q[(e->qhead + e->qlen) % e->qcap];
    fill_note(e, in, what, n);
    n->escalated = escalated;
    n->nodata_ms = nodata_ms;
    e->qlen++;
}

int alert_next_note(struct alert_engine *e, struct alert_note *out)
{
    if (!e->qlen)
        return 0;
    *out = e->q[e->qhead];
    e->qhead = (e->qhead + 1) % e->qcap;
    e->qlen--;
    return 1;
}

/* ---- conditions -------------------------------------------------------- */

static int cmp_num(enum alert_op op, double v, double t)
{
    switch (op) {
    case OP_GT: return v > t;
    case OP_GE: return v >= t;
    case OP_LT: return v < t;
    case OP_LE: return v <= t;
    case OP_EQ: return v == t;
    case OP_NE: return v != t;
    case OP_NONE: return 0;
    }
    return 0;
}

/* Is s one of the comma-separated values of list? */
static int in_list(const char *list, const char *s)
{
    size_t n = strlen(s);
    const char *p = list;

    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);

        if (len == n && memcmp(p, s, n) == 0)
            return 1;
        if (!c)
            return 0;
        p = c + 1;
    }
}

struct val {
    int is_text;
    double v;
    const char *s;
};

/* bad: the fire condition holds. clear: the clear condition holds. */
static void eval(const struct alert_rule *r, const struct inst *in,
                 const struct val *v, int *bad, int *clear, int *crit)
{
    int guard_ok = !r->when_field[0] || in->guard == 1;
    int b, nc;

    if (r->op == OP_NONE) {
        *bad = 0;
        *clear = 1;
        *crit = 0;
        return;
    }
    if (rule_is_text(r)) {
        int eq = strcmp(v->s, r->text) == 0;

        b = r->op == OP_EQ ? eq : !eq;
        nc = b;
        *crit = 0;
    } else {
        double ct = isnan(r->clear_threshold) ? r->threshold : r->clear_threshold;

        b = cmp_num(r->op, v->v, r->threshold);
        nc = cmp_num(r->op, v->v, ct);
        *crit = !isnan(r->crit_threshold) && cmp_num(r->op, v->v, r->crit_threshold);
    }
    *bad = b && guard_ok;
    *clear = !(nc && guard_ok);
    *crit = *crit && guard_ok;
}

static void set_value(struct inst *in, const struct val *v)
{
    if (v->is_text) {
        copy_str(in->text, sizeof(in->text), v->s);
        in->value = NAN;
    } else {
        in->value = v->v;
        in->text[0] = '\0';
    }
}

static void fire(struct alert_engine *e, struct inst *in, int64_t since,
                 const struct val *v, int crit)
{
    const struct alert_rule *r = &e->rules[in->rule];

    in->st = AS_FIRING;
    in->since_ts = since;
    in->sev = crit ? ALERT_CRIT : r->severity;
    set_value(in, v);
    new_id(e, in->id, sizeof(in->id));
    push_note(e, in, NOTE_FIRING, 0, 0);
}

static void resolve(struct alert_engine *e, struct inst *in, const struct val *v)
{
    const struct alert_rule *r = &e->rules[in->rule];

    in->st = AS_NORMAL;
    set_value(in, v);
    push_note(e, in, NOTE_RESOLVED, 0, 0);
    in->sev = r->severity;
}

static int64_t sec_ns(int64_t s)
{
    if (s > INT64_MAX / 1000000000LL)
        return INT64_MAX;
    return s * 1000000000LL;
}

static int elapsed(int64_t from, int64_t to, int64_t need_s)
{
    /* to >= from here; the subtraction cannot overflow for sane stamps,
     * and a saturated need never passes. */
    if (to < from)
        return 0;
    if ((uint64_t)to - (uint64_t)from > (uint64_t)INT64_MAX)
        return 1;
    return to - from >= sec_ns(need_s);
}

static void step(struct alert_engine *e, struct inst *in, const struct val *v,
                 int64_t ts)
{
    const struct alert_rule *r = &e->rules[in->rule];
    int bad, clear, crit;
    int late = in->had_value && ts < in->last_ts;

    eval(r, in, v, &bad, &clear, &crit);
    if (!in->had_value || ts > in->last_ts)
        in->last_ts = ts;
    in->had_value = 1;
    if (late)
        e->stats.late_readings++;
    if (!bad && (!in->have_good || ts > in->last_good)) {
        in->have_good = 1;
        in->last_good = ts;
    }
    if (!clear && (!in->have_nc || ts > in->last_nc)) {
        in->have_nc = 1;
        in->last_nc = ts;
    }

    if (r->event_rule) {
        if (late)
            return;
        if (in->st == AS_NORMAL && bad) {
            in->st = AS_FIRING;
            in->since_ts = ts;
            in->sev = r->severity;
            set_value(in, v);
            new_id(e, in->id, sizeof(in->id));
            push_note(e, in, NOTE_FIRING, 0, 0);
        } else if (in->st != AS_NORMAL && !bad) {
            in->st = AS_NORMAL;
            set_value(in, v);
        }
        return;
    }

    switch (in->st) {
    case AS_NORMAL:
    case AS_NODATA:
        if (late || !bad) {
            if (!late)
                set_value(in, v);
            return;
        }
        if (r->for_s == 0) {
            fire(e, in, ts, v, crit);
            return;
        }
        in->st = AS_PENDING;
        in->run_start = ts;
        set_value(in, v);
        return;
    case AS_PENDING:
        if (late) {
            if (bad && ts < in->run_start &&
                (!in->have_good || ts > in->last_good))
                in->run_start = ts;
            else if (!bad && ts > in->run_start)
                in->run_start = in->last_ts;
        } else if (!bad) {
            in->st = AS_NORMAL;
            set_value(in, v);
            return;
        } else {
            set_value(in, v);
        }
        if (elapsed(in->run_start, in->last_ts, r->for_s))
            fire(e, in, in->run_start, v, crit && !late);
        return;
    case AS_FIRING:
    case AS_RECOVERING:
        if (late) {
            if (in->st == AS_RECOVERING) {
                if (clear && ts < in->run_start &&
                    (!in->have_nc || ts > in->last_nc))
                    in->run_start = ts;
                else if (!clear && ts > in->run_start)
                    in->run_start = in->last_ts;
                if (elapsed(in->run_start, in->last_ts, r->clear_for_s))
                    resolve(e, in, v);
            }
            return;
        }
        set_value(in, v);
        if (!clear) {
            in->st = AS_FIRING;
            if (crit && in->sev != ALERT_CRIT) {
                in->sev = ALERT_CRIT;
                push_note(e, in, NOTE_FIRING, 1, 0);
            }
            return;
        }
        if (in->st == AS_FIRING) {
            in->st = AS_RECOVERING;
            in->run_start = ts;
        }
        if (elapsed(in->run_start, in->last_ts, r->clear_for_s))
            resolve(e, in, v);
        return;
    }
}

static int kind_matches(const char *rk, const char *kind)
{
    return strcmp(rk, "*") == 0 || strcmp(rk, kind) == 0;
}

static void feed(struct alert_engine *e, const char *site, const char *kind,
                 const char *id, const char *field, const struct val *v,
                 int64_t ts, int64_t mono)
{
    size_t i;
    char gtext[40];

    if (!e || !site || !kind || !id || !field)
        return;
    if (v->is_text ? !v->s : !isfinite(v->v))
        return;
    gtext[0] = '\0';           /* the guard's text, made when a guard needs it */

    for (i = 0; i < e->nrules; i++) {
        const struct alert_rule *r = &e->rules[i];
        struct inst *in;
        int is_guard, is_value;

        if (!kind_matches(r->kind, kind))
            continue;
        is_guard = r->when_field[0] && strcmp(r->when_field, field) == 0;
        is_value = strcmp(r->field, field) == 0 &&
                   (r->op == OP_NONE || rule_is_text(r) == v->is_text);
        if (!is_guard && !is_value)
            continue;
        in = inst_get(e, i, site, kind, id, 1);
        if (!in)
            continue;
        if (is_guard) {
            if (!gtext[0]) {
                if (v->is_text)
                    copy_str(gtext, sizeof(gtext), v->s);
                else
                    snprintf(gtext, sizeof(gtext), "%g", v->v);
            }
            in->guard = in_list(r->when_text, gtext);
        }
        if (!is_value)
            continue;
        if (in->nodata) {
            int64_t gone = in->mono_known ? mono - in->last_mono : 0;

            in->nodata = 0;
            push_note(e, in, NOTE_NODATA_END, 0, gone > 0 ? gone : 0);
        }
        in->last_mono = mono;
        in->mono_known = 1;
        if (r->op == OP_NONE) {
            if (!in->had_value || ts > in->last_ts)
                in->last_ts = ts;
            in->had_value = 1;
            set_value(in, v);
            continue;
        }
        step(e, in, v, ts);
    }
}

void alert_feed_num(struct alert_engine *e, const char *site, const char *kind,
                    const char *id, const char *field, double v,
                    int64_t ts_ns, int64_t mono_ms)
{
    struct val val = { 0, v, NULL };

    feed(e, site, kind, id, field, &val, ts_ns, mono_ms);
}

void alert_feed_text(struct alert_engine *e, const char *site, const char *kind,
                     const char *id, const char *field, const char *v,
                     int64_t ts_ns, int64_t mono_ms)
{
    struct val val = { 1, NAN, v };

    feed(e, site, kind, id, field, &val, ts_ns, mono_ms);
}

void alert_tick(struct alert_engine *e, int64_t mono_ms)
{
    size_t i;

    for (i = 0; i < e->max_inst; i++) {
        struct inst *in = &e->inst[i];
        const struct alert_rule *r;

        if (!in->used || !in->had_value || in->nodata)
            continue;
        r = &e->rules[in->rule];
        if (r->nodata_s == 0)
            continue;
        if (!in->mono_known) {
            in->last_mono = mono_ms;
            in->mono_known = 1;
            continue;
        }
        if (mono_ms - in->last_mono >= r->nodata_s * 1000) {
            in->nodata = 1;
            new_id(e, in->nd_id, sizeof(in->nd_id));
            push_note(e, in, NOTE_NODATA, 0, mono_ms - in->last_mono);
        }
    }
}

void alert_foreach_active(const struct alert_engine *e,
                          void (*fn)(const struct alert_note *, void *),
                          void *ctx)
{
    size_t i;
    struct alert_note n;

    for (i = 0; i < e->max_inst; i++) {
        const struct inst *in = &e->inst[i];
        const struct alert_rule *r;

        if (!in->used)
            continue;
        r = &e->rules[in->rule];
        if (r->event_rule)
            continue;
        if (in->st == AS_FIRING || in->st == AS_RECOVERING) {
            fill_note(e, in, NOTE_FIRING, &n);
            n.nodata = in->nodata;
        } else if (in->nodata) {
            fill_note(e, in, NOTE_NODATA, &n);
            n.nodata = 1;
        } else {
            continue;
        }
        fn(&n, ctx);
    }
}

/* ---- persistence ------------------------------------------------------- */

/* Format: a header "kompos-alert 1 <next id number>", then per instance
 *   I <rule> <field> <site> <kind> <obj> <state 0-3> <sev 0-2> <id>
 *     <nodata 0/1> <nodata id> <had_value 0/1> <last_ts> <run_start>
 *     <since_ts> <have_good 0/1> <last_good> <have_nc 0/1> <last_nc>
 *     <guard -1/0/1> <value %.17g> <text>
 * Strings are percent-encoded (see enc), "-" is the empty string, times
 * are event-time ns. Wall-clock times are not saved: a new run has a new
 * monotonic clock, so nodata timers restart at the first tick. */
#define SAVE_MAGIC "kompos-alert 1"

/* Encode s so it is one token: "-" for "", %XX for space, controls, '%',
 * '-' and bytes >= 0x7f. */
static size_t enc(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    if (!*s) {
        out[n++] = '-';
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f || c == '%' || c == '-') {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode a token into out[size]; HUB_EINVAL if malformed or too long. */
static int dec(const char *tok, char *out, size_t size)
{
    size_t n = 0;

    if (strcmp(tok, "-") == 0) {
        out[0] = '\0';
        return HUB_OK;
    }
    while (*tok) {
        int c = (unsigned char)*tok;

        if (c == '%') {
            int hi = hexval(tok[1]), lo = hi < 0 ? -1 : hexval(tok[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return HUB_EINVAL;
            c = hi * 16 + lo;
            tok += 3;
        } else {
            tok++;
        }
        if (n + 1 >= size)
            return HUB_EINVAL;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return HUB_OK;
}

size_t alert_save_bound(const struct alert_engine *e)
{
    return 64 + e->max_inst * LINE_MAX_LEN;
}

int alert_save(const struct alert_engine *e, char *buf, size_t len)
{
    size_t off = 0, i;
    int n;

    n = snprintf(buf, len, "%s %" PRIu32 "\n", SAVE_MAGIC, e->next_id);
    if (n < 0 || (size_t)n >= len)
        return HUB_ENOMEM;
    off = (size_t)n;
    for (i = 0; i < e->max_inst; i++) {
        const struct inst *in = &e->inst[i];
        const struct alert_rule *r = &e->rules[in->rule];
        char name[3 * 48], field[3 * 64], site[3 * 64], kind[3 * 16],
            obj[3 * 64], text[3 * 32], id[3 * 16], ndid[3 * 16];

        if (!in->used)
            continue;
        enc(name, r->name);
        enc(field, r->field);
        enc(site, in->site);
        enc(kind, in->kind);
        enc(obj, in->obj);
        enc(text, in->text);
        enc(id, in->id);
        enc(ndid, in->nd_id);
        n = snprintf(buf + off, len - off,
                     "I %s %s %s %s %s %d %d %s %d %s %d %" PRId64 " %" PRId64
                     " %" PRId64 " %d %" PRId64 " %d %" PRId64 " %d %.17g %s\n",
                     name, field, site, kind, obj, (int)in->st, (int)in->sev,
                     id, in->nodata, ndid, in->had_value, in->last_ts,
                     in->run_start, in->since_ts, in->have_good, in->last_good,
                     in->have_nc, in->last_nc, in->guard, in->value, text);
        if (n < 0 || (size_t)n >= len - off)
            return HUB_ENOMEM;
        off += (size_t)n;
    }
    return (int)off;
}

struct parsed {
    char name[48], field[64], site[64], kind[16], obj[64], text[32], id[16],
        ndid[16];
    int st, sev, nodata, had_value, have_good, have_nc, guard;
    int64_t last_ts, run_start, since_ts, last_good, last_nc;
    double value;
};

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return HUB_EINVAL;
    *out = (int64_t)v;
    return HUB_OK;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;

    if (parse_i64(s, &v) || v < lo || v > hi)
        return HUB_EINVAL;
    *out = (int)v;
    return HUB_OK;
}

#define NTOK 22

static int parse_line(char *line, struct parsed *p)
{
    char *tok[NTOK + 1];
    char *save = NULL, *t, *end;
    int n = 0;

    for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n > NTOK)
            return HUB_EINVAL;
        tok[n++] = t;
    }
    if (n != NTOK || strcmp(tok[0], "I") != 0)
        return HUB_EINVAL;
    memset(p, 0, sizeof(*p));
    if (dec(tok[1], p->name, sizeof(p->name)) || !p->name[0] ||
        dec(tok[2], p->field, sizeof(p->field)) || !p->field[0] ||
        dec(tok[3], p->site, sizeof(p->site)) ||
        dec(tok[4], p->kind, sizeof(p->kind)) ||
        dec(tok[5], p->obj, sizeof(p->obj)) ||
        parse_int(tok[6], AS_NORMAL, AS_RECOVERING, &p->st) ||
        parse_int(tok[7], ALERT_INFO, ALERT_CRIT, &p->sev) ||
        dec(tok[8], p->id, sizeof(p->id)) ||
        parse_int(tok[9], 0, 1, &p->nodata) ||
        dec(tok[10], p->ndid, sizeof(p->ndid)) ||
        parse_int(tok[11], 0, 1, &p->had_value) ||
        parse_i64(tok[12], &p->last_ts) ||
        parse_i64(tok[13], &p->run_start) ||
        parse_i64(tok[14], &p->since_ts) ||
        parse_int(tok[15], 0, 1, &p->have_good) ||
        parse_i64(tok[16], &p->last_good) ||
        parse_int(tok[17], 0, 1, &p->have_nc) ||
        parse_i64(tok[18], &p->last_nc) ||
        parse_int(tok[19], -1, 1, &p->guard) ||
        dec(tok[21], p->text, sizeof(p->text)))
        return HUB_EINVAL;
    errno = 0;
    p->value = strtod(tok[20], &end);
    if (errno == ERANGE || end == tok[20] || *end || isinf(p->value))
        return HUB_EINVAL;
    return HUB_OK;
}

static int find_rule(const struct alert_engine *e, const char *name,
                     const char *field, size_t *out)
{
    size_t i;

    for (i = 0; i < e->nrules; i++)
        if (strcmp(e->rules[i].name, name) == 0 &&
            strcmp(e->rules[i].field, field) == 0) {
            *out = i;
            return 1;
        }
    return 0;
}

/* Walk the lines of text; apply = 0 only checks. */
static int load_pass(struct alert_engine *e, const char *text, int apply,
                     size_t *matched, uint32_t *next_id)
{
    const char *p = text, *nl;
    char line[LINE_MAX_LEN];
    int first = 1;

    *matched = 0;
    for (; *p; p = nl ? nl + 1 : p + strlen(p)) {
        size_t len;
        struct parsed pr;
        size_t rule;
        struct inst *in;

        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof(line))
            return HUB_EINVAL;
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (first) {
            int64_t v;
            size_t ml = strlen(SAVE_MAGIC);

            if (strncmp(line, SAVE_MAGIC " ", ml + 1) != 0 ||
                parse_i64(line + ml + 1, &v) || v < 1 || v > UINT32_MAX)
                return HUB_EINVAL;
            *next_id = (uint32_t)v;
            first = 0;
            continue;
        }
        if (!len)
            continue;
        if (parse_line(line, &pr) != HUB_OK)
            return HUB_EINVAL;
        if (!find_rule(e, pr.name, pr.field, &rule))
            continue;
        (*matched)++;
        if (!apply)
            continue;
        in = inst_get(e, rule, pr.site, pr.kind, pr.obj, 1);
        if (!in)
            return HUB_ENOMEM;
        in->st = e->rules[rule].event_rule && pr.st != AS_NORMAL
                     ? AS_FIRING : (enum alert_state)pr.st;
        in->sev = (enum alert_sev)pr.sev;
        copy_str(in->id, sizeof(in->id), pr.id);
        copy_str(in->nd_id, sizeof(in->nd_id), pr.ndid);
        in->nodata = pr.nodata;
        in->had_value = pr.had_value;
        in->mono_known = 0;
        in->last_ts = pr.last_ts;
        in->run_start = pr.run_start;
        in->since_ts = pr.since_ts;
        in->have_good = pr.have_good;
        in->last_good = pr.last_good;
        in->have_nc = pr.have_nc;
        in->last_nc = pr.last_nc;
        in->guard = pr.guard;
        in->value = pr.value;
        copy_str(in->text, sizeof(in->text), pr.text);
    }
    return first ? HUB_EINVAL : HUB_OK;
}

int alert_load(struct alert_engine *e, const char *text)
{
    size_t matched;
    uint32_t next_id = 1;
    int rc;

    if (!e || !text)
        return HUB_EINVAL;
    rc = load_pass(e, text, 0, &matched, &next_id);
    if (rc != HUB_OK)
        return rc;
    if (matched > e->max_inst - e->ninst)
        return HUB_ENOMEM;
    rc = load_pass(e, text, 1, &matched, &next_id);
    if (rc == HUB_OK && next_id > e->next_id)
        e->next_id = next_id;
    return rc;
}

/* ---- default rules ----------------------------------------------------- */

#define H 3600
#define PHASES_ACTIVE "MESOPHILIC,THERMOPHILIC,COOLING"

static const struct alert_rule default_rules[] = {
    /* name, kind, field, op, thr, text, clear_thr, for, clear_for, nodata,
     * sev, crit, event, when_field, when_text, msg_key */
    { "DRUM_OVERHEAT", "drum", "temp_core_c", OP_GE, 65, "", 63, 30 * 60,
      30 * 60, 0, ALERT_WARN, 70, 0, "", "", "" },
    { "DRUM_NOT_HEATING", "drum", "phase", OP_EQ, 0, "STALLED", NAN, 0, 0, 0,
      ALERT_WARN, NAN, 1, "", "", "" },
    { "DRUM_TOO_DRY", "drum", "moisture_pct", OP_LT, 40, "", 42, 12 * H, H, 0,
      ALERT_WARN, 30, 0, "phase", PHASES_ACTIVE, "" },
    { "DRUM_TOO_WET", "drum", "moisture_pct", OP_GT, 65, "", 62, 12 * H, H, 0,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "DRUM_LOW_O2", "drum", "o2_pct", OP_LT, 10, "", 10, 0, H, 0,
      ALERT_WARN, 5, 0, "", "", "" },
    { "DRUM_HIGH_CO2", "drum", "co2_pct", OP_GE, 12, "", 11, H, 30 * 60, 0,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "DRUM_TURN_DUE", "drum", "temp_core_c", OP_GE, 60, "", 58, 30 * 60, H, 0,
      ALERT_INFO, NAN, 0, "phase", "THERMOPHILIC", "" },
    { "DRUM_SANITISATION_ACHIEVED", "drum", "pfrp_status", OP_EQ, 0, "PASS",
      NAN, 0, 0, 0, ALERT_INFO, NAN, 1, "", "", "" },
    { "DRUM_SANITISATION_NOT_DEMONSTRATED", "drum", "pfrp_status", OP_EQ, 0,
      "NOT_DEMONSTRATED", NAN, 0, 0, 0, ALERT_WARN, NAN, 1, "", "", "" },
    { "DRUM_STRATIFIED", "drum", "t_strat_c", OP_GT, 15, "", 13, 12 * H, H, 0,
      ALERT_INFO, NAN, 0, "phase", "THERMOPHILIC", "" },
    { "DRUM_MATURE", "drum", "phase", OP_EQ, 0, "MATURE", NAN, 0, 0, 0,
      ALERT_INFO, NAN, 1, "", "", "" },
    { "DRUM_PRODUCT_MOISTURE_HIGH", "drum", "moisture_pct", OP_GT, 50, "", 48,
      H, H, 0, ALERT_INFO, NAN, 0, "phase", "MATURE", "" },
    { "TANK_OVERFLOW_RISK", "tank", "level_pct", OP_GE, 90, "", 88, 5 * 60,
      15 * 60, 0, ALERT_WARN, 95, 0, "", "", "" },
    { "TANK_LOW", "tank", "volume_pct", OP_LE, 10, "", 12, 15 * 60, 15 * 60, 0,
      ALERT_INFO, NAN, 0, "phase", "DISPENSING", "" },
    { "TANK_LEAK_OR_EVAP", "tank", "net_drift_l_per_day", OP_LT, -2, "", -1,
      72 * H, 12 * H, 0, ALERT_WARN, NAN, 0, "", "", "" },
    { "TANK_FERMENT_SPOILED", "tank", "phase", OP_EQ, 0, "SPOILED", NAN, 0, 0,
      0, ALERT_CRIT, NAN, 1, "", "", "" },
    { "TANK_READY", "tank", "phase", OP_EQ, 0, "READY", NAN, 0, 0, 0,
      ALERT_INFO, NAN, 1, "", "", "" },
    { "TANK_TEMP_HIGH", "tank", "temp_liquid_c", OP_GT, 40, "", 38, 2 * H, H, 0,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "TANK_PH_OUT_OF_PRODUCT_SPEC", "tank", "ph_in_spec", OP_EQ, 0, "", NAN,
      H, H, 0, ALERT_INFO, NAN, 0, "phase", "READY,DISPENSING", "" },
    { "SENSOR_FAULT_DS18B20", "*", "sensor_faults_1h", OP_GE, 3, "", 1, 0, H, 0,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "SENSOR_STALE", "drum", "temp_core_c", OP_NONE, 0, "", NAN, 0, 0, 15 * 60,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "SENSOR_STALE", "tank", "level_cm", OP_NONE, 0, "", NAN, 0, 0, 15 * 60,
      ALERT_WARN, NAN, 0, "", "", "" },
    { "SENSOR_CAL_DUE", "tank", "days_since_calibration_ph", OP_GT, 14, "", 14,
      0, 0, 0, ALERT_INFO, NAN, 0, "", "", "" },
};

size_t alert_default_rules(struct alert_rule *out, size_t max)
{
    size_t n = sizeof(default_rules) / sizeof(default_rules[0]);

    if (out && max)
        memcpy(out, default_rules, (max < n ? max : n) * sizeof(*out));
    return n;
}
