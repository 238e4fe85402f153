/* SPDX-License-Identifier: MIT */
/* route.c - routing alerts to people: eligibility by severity and role,
 * tiers and on-duty schedules, quiet hours (WITA), grouping per site,
 * reminders, escalation, acks, and a text save/load of the state.
 * Pure: no I/O, no logging, time passed in. See route.h for the rules. */
#include "route.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub_err.h"

#define NS_PER_S 1000000000LL
#define WITA_OFFSET_S (8 * 3600LL)
#define DAY_S 86400LL

/* ---------------------------------------------------------------- utils */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n;

    if (!src)
        src = "";
    n = strlen(src);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Local (WITA) seconds since the epoch. */
static int64_t local_s(int64_t wall_ns)
{
    return floordiv(wall_ns, NS_PER_S) + WITA_OFFSET_S;
}

static int64_t sec_of_day(int64_t ls)
{
    return ls - floordiv(ls, DAY_S) * DAY_S;
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t ls)
{
    int64_t d = floordiv(ls, DAY_S);

    return (int)(((d + 4) % 7 + 7) % 7);
}

/* ---------------------------------------------------------------- phone */

int route_normalise_phone(const char *in, char *out, size_t outlen,
                          char *err, size_t errlen)
{
    char d[40];
    size_t nd = 0, i, ndig;
    int plus = 0;
    const char *digits;
    char res[24];

    if (!in || !out || !outlen) {
        set_err(err, errlen, "no phone number");
        return HUB_EINVAL;
    }
    for (i = 0; in[i]; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' ||
            c == '\t')
            continue;
        if (c == '+' && nd == 0 && !plus) {
            plus = 1;
            continue;
        }
        if (!isdigit(c)) {
            set_err(err, errlen, "phone '%s': only digits, spaces, dashes, "
                    "dots and a leading + are allowed", in);
            return HUB_EINVAL;
        }
        if (nd + 1 >= sizeof(d)) {
            set_err(err, errlen, "phone '%s': too long", in);
            return HUB_EINVAL;
        }
        d[nd++] = (char)c;
    }
    d[nd] = '\0';
    if (plus) {
        digits = d;
    } else if (d[0] == '0' && d[1] == '0') {
        digits = d + 2;
    } else if (d[0] == '0') {
        if (nd < 2 || d[1] == '0') {
            set_err(err, errlen, "phone '%s': bad local number", in);
            return HUB_EINVAL;
        }
        if (nd - 1 + 2 >= sizeof(res)) {
            set_err(err, errlen, "phone '%s': too long", in);
            return HUB_EINVAL;
        }
        res[0] = '6';
        res[1] = '2';
        memcpy(res + 2, d + 1, nd);     /* nd - 1 digits and the NUL */
        digits = res;
    } else if (d[0] == '6' && d[1] == '2') {
        digits = d;
    } else {
        set_err(err, errlen, "phone '%s': must start with 0, 62 or +", in);
        return HUB_EINVAL;
    }
    ndig = strlen(digits);
    if (ndig && digits[0] == '0') {
        set_err(err, errlen, "phone '%s': country code cannot start with 0",
                in);
        return HUB_EINVAL;
    }
    if (digits[0] == '6' && digits[1] == '2' && digits[2] == '0') {
        set_err(err, errlen, "phone '%s': no 0 after country code 62", in);
        return HUB_EINVAL;
    }
    if (ndig < 10) {
        set_err(err, errlen, "phone '%s': too short", in);
        return HUB_EINVAL;
    }
    if (ndig > 15) {
        set_err(err, errlen, "phone '%s': too long (E.164 has at most 15 "
                "digits)", in);
        return HUB_EINVAL;
    }
    if (ndig + 2 > outlen) {
        set_err(err, errlen, "phone '%s': output buffer too small", in);
        return HUB_EINVAL;
    }
    out[0] = '+';
    memcpy(out + 1, digits, ndig + 1);
    return HUB_OK;
}

/* ------------------------------------------------------------- schedule */

static const char *const day_names[7] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

static int parse_day(const char *s, size_t n)
{
    int i;

    if (n != 3)
        return -1;
    for (i = 0; i < 7; i++)
        if (strncasecmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* "mon-fri,sun" (exactly n chars) -> bit mask, or -1. */
static int parse_days(const char *s, size_t n)
{
    int mask = 0;
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        int a, b;

        while (j < n && s[j] != ',')
            j++;
        if (j - i == 3) {
            a = parse_day(s + i, 3);
            b = a;
        } else if (j - i == 7 && s[i + 3] == '-') {
            a = parse_day(s + i, 3);
            b = parse_day(s + i + 4, 3);
        } else {
            return -1;
        }
        if (a < 0 || b < 0)
            return -1;
        for (;;) {
            mask |= 1 << a;
            if (a == b)
                break;
            a = (a + 1) % 7;
        }
        i = j + 1;
        if (j + 1 == n && s[j] == ',')
            return -1;      /* trailing comma */
    }
    return mask ? mask : -1;
}

/* "H:MM" or "HH:MM" (exactly n chars) -> minutes, or -1. */
static int parse_hhmm(const char *s, size_t n, int allow24)
{
    int h, m;

    if (n == 4 && isdigit((unsigned char)s[0]) && s[1] == ':') {
        h = s[0] - '0';
        s += 2;
    } else if (n == 5 && isdigit((unsigned char)s[0]) &&
               isdigit((unsigned char)s[1]) && s[2] == ':') {
        h = (s[0] - '0') * 10 + (s[1] - '0');
        s += 3;
    } else {
        return -1;
    }
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    m = (s[0] - '0') * 10 + (s[1] - '0');
    if (m > 59)
        return -1;
    if (h == 24 && m == 0 && allow24)
        return 1440;
    if (h > 23)
        return -1;
    return h * 60 + m;
}

static int parse_item(const char *s, size_t n, struct route_sched_item *it)
{
    size_t sp, dash, tn;
    const char *t;
    int days = 0x7f, a, b;

    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    if (!n)
        return -1;
    if (!memchr(s, ':', n)) {          /* days only: whole days */
        days = parse_days(s, n);
        if (days < 0)
            return -1;
        it->days = (uint8_t)days;
        it->start_min = 0;
        it->end_min = 1440;
        return 0;
    }
    for (sp = 0; sp < n && !isspace((unsigned char)s[sp]); sp++)
        ;
    if (sp < n) {
        days = parse_days(s, sp);
        if (days < 0)
            return -1;
        t = s + sp;
        tn = n - sp;
        while (tn && isspace((unsigned char)*t)) {
            t++;
            tn--;
        }
    } else {
        t = s;
        tn = n;
    }
    for (dash = 0; dash < tn && t[dash] != '-'; dash++)
        ;
    if (dash == tn)
        return -1;
    a = parse_hhmm(t, dash, 0);
    b = parse_hhmm(t + dash + 1, tn - dash - 1, 1);
    if (a < 0 || b < 0 || a == b)
        return -1;
    if (b == 0)
        b = 1440;           /* "18:00-00:00" ends at midnight */
    it->days = (uint8_t)days;
    it->start_min = (uint16_t)a;
    it->end_min = (uint16_t)b;
    return 0;
}

int route_parse_schedule(const char *spec, struct route_schedule *out,
                         char *err, size_t errlen)
{
    const char *p = spec ? spec : "";
    struct route_schedule s;

    memset(&s, 0, sizeof(s));
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p || strcasecmp(p, "always") == 0) {
        s.always = 1;
        *out = s;
        return HUB_OK;
    }
    for (;;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if (s.n == ROUTE_SCHED_MAX) {
            set_err(err, errlen, "schedule '%s': at most 4 items", spec);
            return HUB_EINVAL;
        }
        if (parse_item(p, n, &s.item[s.n]) != 0) {
            set_err(err, errlen, "schedule '%s': expected items like "
                    "'mon-sat 07:00-17:00' separated by ';'", spec);
            return HUB_EINVAL;
        }
        s.n++;
        if (!e)
            break;
        p = e + 1;
    }
    *out = s;
    return HUB_OK;
}

int route_schedule_on(const struct route_schedule *s, int64_t wall_ns)
{
    int64_t ls = local_s(wall_ns);
    int64_t sod = sec_of_day(ls);
    int dow = weekday(ls), prev = (dow + 6) % 7;
    size_t i;

    if (s->always)
        return 1;
    for (i = 0; i < s->n; i++) {
        const struct route_sched_item *it = &s->item[i];
        int64_t a = it->start_min * 60LL, b = it->end_min * 60LL;

        if (a < b) {
            if ((it->days & (1 << dow)) && sod >= a && sod < b)
                return 1;
        } else {
            if ((it->days & (1 << dow)) && sod >= a)
                return 1;
            if ((it->days & (1 << prev)) && sod < b)
                return 1;
        }
    }
    return 0;
}

int route_on_duty(const struct member *m, int64_t wall_ns)
{
    struct route_schedule s;

    if (route_parse_schedule(m->on_duty, &s, NULL, 0) != HUB_OK)
        return 1;
    return route_schedule_on(&s, wall_ns);
}

int route_check_member(const struct member *m, char *err, size_t errlen)
{
    char phone[20], why[160];
    struct route_schedule s;
    size_t i;

    if (!m->name[0]) {
        set_err(err, errlen, "member without a name");
        return HUB_EINVAL;
    }
    if (route_normalise_phone(m->phone, phone, sizeof(phone), why,
                              sizeof(why)) != HUB_OK) {
        if (err && errlen)
            snprintf(err, errlen, "member '%s': %s", m->name, why);
        return HUB_EINVAL;
    }
    if (route_parse_schedule(m->on_duty, &s, why, sizeof(why)) != HUB_OK) {
        if (err && errlen)
            snprintf(err, errlen, "member '%s': %s", m->name, why);
        return HUB_EINVAL;
    }
    if (m->nchannels == 0 || m->nchannels > ROUTE_MAX_CHANNELS) {
        set_err(err, errlen, "member '%s': needs 1 to 4 channels", m->name);
        return HUB_EINVAL;
    }
    for (i = 0; i < m->nchannels; i++)
        if (!m->channels[i][0]) {
            set_err(err, errlen, "member '%s': empty channel name", m->name);
            return HUB_EINVAL;
        }
    if (m->lang[0] && strcmp(m->lang, "id") != 0 && strcmp(m->lang, "en") != 0) {
        set_err(err, errlen, "member '%s': lang must be \"id\" or \"en\"",
                m->name);
        return HUB_EINVAL;
    }
    if ((int)m->min_severity < ROUTE_INFO || (int)m->min_severity > ROUTE_CRIT) {
        set_err(err, errlen, "member '%s': bad min_severity", m->name);
        return HUB_EINVAL;
    }
    return HUB_OK;
}

/* -------------------------------------------------------------- SMS ack */

int route_parse_sms_ack(const char *text, char *id, size_t idlen)
{
    const char *p = text, *w;
    size_t n, i;

    if (!text || !id || !idlen)
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "ok", 2) == 0 && isspace((unsigned char)p[2]))
        p += 2;
    else if (strncasecmp(p, "ack", 3) == 0 && isspace((unsigned char)p[3]))
        p += 3;
    else
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    w = p;
    while (isalnum((unsigned char)*p) || *p == '-' || *p == '_')
        p++;
    n = (size_t)(p - w);
    while (isspace((unsigned char)*p))
        p++;
    if (*p || n == 0 || n >= idlen || n >= ROUTE_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        id[i] = (char)tolower((unsigned char)w[i]);
    id[n] = '\0';
    return 1;
}

/* --------------------------------------------------------------- router */

struct rmember {
    struct member m;
    struct route_schedule sched;
    int tier;
};

struct ralert {
    int used;
    char id[ROUTE_ID_MAX];
    char site[ROUTE_SITE_MAX];
    enum route_sev sev;
    int64_t since_ns;       /* start of this firing episode */
    int acked;
    char ack_by[48];
    int64_t ack_ns;
    uint64_t notified;      /* members who received a delivery for it */
    int tier;               /* highest tier targeted so far */
    int64_t first_ns;       /* due time of the first delivery; 0 = none */
    int64_t rem_due;        /* 0 = no reminder armed */
    uint32_t rem_n;
    int64_t esc_due;        /* 0 = no escalation armed */
};

struct rentry {
    char id[ROUTE_ID_MAX];
    int64_t since_ns;
    uint32_t seq;           /* firing: severity; reminder: number; escalation: tier */
};

struct rgroup {
    int used;
    uint64_t order;
    int member;
    enum route_what what;
    char site[ROUTE_SITE_MAX];
    enum route_sev sev;
    int64_t base_ns;        /* opened + group_wait, or the timer's due */
    int64_t floor_ns;       /* group_interval floor for info/warn; 0 = none */
    int64_t due_ns;         /* after floor and quiet hours */
    size_t n;
    struct rentry e[ROUTE_GROUP_MAX];
};

struct rsite {
    int used;
    int member;
    char site[ROUTE_SITE_MAX];
    int64_t last_ns;
};

struct router {
    struct rmember mem[ROUTE_MAX_MEMBERS];
    size_t nmem;
    struct route_params p;
    int quiet;
    int64_t qstart_s, qend_s;   /* seconds of the local day */
    struct ralert al[ROUTE_MAX_ALERTS];
    struct rgroup g[ROUTE_MAX_PENDING];
    struct rsite s[ROUTE_MAX_SITES];
    uint64_t order;
    struct route_stats st;
};

void route_params_defaults(struct route_params *p)
{
    memset(p, 0, sizeof(*p));
    copy_str(p->quiet_start, sizeof(p->quiet_start), "21:00");
    copy_str(p->quiet_end, sizeof(p->quiet_end), "06:00");
    p->group_wait_s = 30;
    p->group_interval_s = 300;
    p->reminder_s[ROUTE_INFO] = 0;
    p->reminder_s[ROUTE_WARN] = 4 * 3600;
    p->reminder_s[ROUTE_CRIT] = 3600;
    p->escalate_after_s = 1800;
    p->escalate_min_severity = ROUTE_WARN;
    copy_str(p->roles[ROUTE_INFO], sizeof(p->roles[0]), "operator");
    copy_str(p->roles[ROUTE_WARN], sizeof(p->roles[0]), "operator,ketua");
    copy_str(p->roles[ROUTE_CRIT], sizeof(p->roles[0]), "*");
}

struct router *router_new(const struct member *members, size_t n,
                          const struct route_params *p,
                          char *err, size_t errlen)
{
    struct router *r;
    size_t i;
    int qs = -1, qe = -1;
    struct route_params def;

    if (!p) {
        route_params_defaults(&def);
        p = &def;
    }
    if (p->quiet_start[0] || p->quiet_end[0]) {
        qs = parse_hhmm(p->quiet_start, strnlen(p->quiet_start, 6), 0);
        qe = parse_hhmm(p->quiet_end, strnlen(p->quiet_end, 6), 0);
        if (qs < 0 || qe < 0) {
            set_err(err, errlen, "quiet hours must be HH:MM");
            return NULL;
        }
    }
    if (p->group_wait_s < 0 || p->group_interval_s < 0 ||
        p->escalate_after_s < 0 || p->reminder_s[0] < 0 ||
        p->reminder_s[1] < 0 || p->reminder_s[2] < 0 ||
        p->group_wait_s > 86400 || p->group_interval_s > 86400 ||
        p->escalate_after_s > 7 * 86400 || p->reminder_s[0] > 7 * 86400 ||
        p->reminder_s[1] > 7 * 86400 || p->reminder_s[2] > 7 * 86400) {
        set_err(err, errlen, "route timers must be 0..86400 s "
                "(reminder/escalation up to 7 days)");
        return NULL;
    }
    if ((int)p->escalate_min_severity < ROUTE_INFO ||
        (int)p->escalate_min_severity > ROUTE_CRIT) {
        set_err(err, errlen, "bad escalate_min_severity");
        return NULL;
    }
    for (i = 0; i < n && i < ROUTE_MAX_MEMBERS; i++) {
        size_t j;

        if (route_check_member(&members[i], err, errlen) != HUB_OK)
            return NULL;
        for (j = 0; j < i; j++)
            if (strcmp(members[j].name, members[i].name) == 0) {
                set_err(err, errlen, "member '%s' is listed twice",
                        members[i].name);
                return NULL;
            }
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    r->p = *p;
    if (qs >= 0 && qs != qe) {
        r->quiet = 1;
        r->qstart_s = qs * 60LL;
        r->qend_s = qe * 60LL;
    }
    for (i = 0; i < n; i++) {
        struct rmember *rm;

        if (i >= ROUTE_MAX_MEMBERS) {
            r->st.members_dropped++;
            continue;
        }
        rm = &r->mem[r->nmem++];
        rm->m = members[i];
        route_normalise_phone(members[i].phone, rm->m.phone,
                              sizeof(rm->m.phone), NULL, 0);
        route_parse_schedule(members[i].on_duty, &rm->sched, NULL, 0);
        if (!rm->m.lang[0])
            copy_str(rm->m.lang, sizeof(rm->m.lang), "id");
        rm->tier = members[i].tier > 0 ? members[i].tier : 1;
    }
    return r;
}

void router_free(struct router *r)
{
    free(r);
}

/* ------------------------------------------------------- quiet and time */

static int in_quiet(const struct router *r, int64_t t_ns)
{
    int64_t sod = sec_of_day(local_s(t_ns));

    if (!r->quiet)
        return 0;
    if (r->qstart_s < r->qend_s)
        return sod >= r->qstart_s && sod < r->qend_s;
    return sod >= r->qstart_s || sod < r->qend_s;
}

static int64_t quiet_end_after(const struct router *r, int64_t t_ns)
{
    int64_t ls = local_s(t_ns);
    int64_t cand = floordiv(ls, DAY_S) * DAY_S + r->qend_s;

    if (cand <= ls)
        cand += DAY_S;
    return (cand - WITA_OFFSET_S) * NS_PER_S;
}

static void group_recompute(const struct router *r, struct rgroup *g)
{
    int64_t b = g->base_ns;

    if (g->sev < ROUTE_CRIT && g->floor_ns > b)
        b = g->floor_ns;
    if (g->sev < ROUTE_CRIT && in_quiet(r, b))
        b = quiet_end_after(r, b);
    g->due_ns = b;
}

/* --------------------------------------------------------------- lookup */

static struct ralert *find_alert(struct router *r, const char *id)
{
    size_t i;

    for (i = 0; i < ROUTE_MAX_ALERTS; i++)
        if (r->al[i].used && strcasecmp(r->al[i].id, id) == 0)
            return &r->al[i];
    return NULL;
}

static int find_member(const struct router *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nmem; i++)
        if (strcmp(r->mem[i].m.name, name) == 0)
            return (int)i;
    return -1;
}

const char *router_member_by_phone(const struct router *r, const char *phone)
{
    char e164[24];
    size_t i;

    if (!r || !phone ||
        route_normalise_phone(phone, e164, sizeof(e164), NULL, 0) != HUB_OK)
        return NULL;
    for (i = 0; i < r->nmem; i++)
        if (strcmp(r->mem[i].m.phone, e164) == 0)
            return r->mem[i].m.name;
    return NULL;
}

static struct rsite *find_site(struct router *r, int member, const char *site)
{
    size_t i;

    for (i = 0; i < ROUTE_MAX_SITES; i++)
        if (r->s[i].used && r->s[i].member == member &&
            strcmp(r->s[i].site, site) == 0)
            return &r->s[i];
    return NULL;
}

static void note_site(struct router *r, int member, const char *site,
                      int64_t t)
{
    struct rsite *s = find_site(r, member, site);
    size_t i;

    if (!s) {
        /* a free slot, else the oldest (losing it only loosens the
           group_interval limit for that member and site) */
        s = &r->s[0];
        for (i = 0; i < ROUTE_MAX_SITES; i++) {
            if (!r->s[i].used) {
                s = &r->s[i];
                break;
            }
            if (r->s[i].last_ns < s->last_ns)
                s = &r->s[i];
        }
        s->used = 1;
        s->member = member;
        copy_str(s->site, sizeof(s->site), site);
    }
    if (t > s->last_ns)
        s->last_ns = t;
}

/* ------------------------------------------------------------- eligible */

static int role_in(const char *list, const char *role)
{
    const char *p = list;

    if (!list[0] || strcmp(list, "*") == 0)
        return 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if ((n == 1 && *p == '*') ||
            (n == strlen(role) && strncasecmp(p, role, n) == 0))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int eligible(const struct router *r, const struct rmember *m,
                    enum route_sev sev, int use_roles)
{
    if (sev < m->m.min_severity)
        return 0;
    return !use_roles || role_in(r->p.roles[sev], m->m.role);
}

/* Members of the lowest tier above 'after' with an eligible member; on
 * duty ones, or all eligible ones of that tier if none is on duty. */
static uint64_t pick(const struct router *r, enum route_sev sev, int after,
                     int use_roles, int64_t now, int *tier_out)
{
    int tier = 0;
    size_t i;
    uint64_t all = 0, duty = 0;

    for (i = 0; i < r->nmem; i++)
        if (r->mem[i].tier > after && eligible(r, &r->mem[i], sev, use_roles) &&
            (tier == 0 || r->mem[i].tier < tier))
            tier = r->mem[i].tier;
    if (!tier)
        return 0;
    for (i = 0; i < r->nmem; i++) {
        if (r->mem[i].tier != tier || !eligible(r, &r->mem[i], sev, use_roles))
            continue;
        all |= 1ULL << i;
        if (route_schedule_on(&r->mem[i].sched, now))
            duty |= 1ULL << i;
    }
    *tier_out = tier;
    return duty ? duty : all;
}

/* First-line recipients, with the crit fallback. */
static uint64_t first_line(struct router *r, enum route_sev sev, int64_t now,
                           int *tier)
{
    uint64_t m = pick(r, sev, 0, 1, now, tier);
    size_t i;
    int low = 0;

    if (m)
        return m;
    if (sev != ROUTE_CRIT) {
        r->st.unrouted++;
        return 0;
    }
    for (i = 0; i < r->nmem; i++)
        if (low == 0 || r->mem[i].tier < low)
            low = r->mem[i].tier;
    for (i = 0; i < r->nmem; i++)
        if (r->mem[i].tier == low)
            m |= 1ULL << i;
    *tier = low;
    return m;
}

/* --------------------------------------------------------------- groups */

static void enqueue(struct router *r, int member, enum route_what what,
                    const struct ralert *a, uint32_t seq, int64_t base_ns)
{
    struct rgroup *g, *fit = NULL, *slot = NULL;
    size_t i, k;

    for (i = 0; i < ROUTE_MAX_PENDING; i++) {
        g = &r->g[i];
        if (!g->used) {
            if (!slot)
                slot = g;
            continue;
        }
        if (g->member != member || g->what != what ||
            strcmp(g->site, a->site) != 0)
            continue;
        for (k = 0; k < g->n; k++)
            if (strcasecmp(g->e[k].id, a->id) == 0 &&
                g->e[k].since_ns == a->since_ns) {
                if (seq > g->e[k].seq)
                    g->e[k].seq = seq;
                if (a->sev > g->sev) {
                    g->sev = a->sev;
                    group_recompute(r, g);
                }
                return;
            }
        if (g->n < ROUTE_GROUP_MAX && !fit)
            fit = g;
    }
    g = fit;
    if (!g) {
        if (!slot) {
            r->st.pending_dropped++;
            return;
        }
        g = slot;
        memset(g, 0, sizeof(*g));
        g->used = 1;
        g->order = r->order++;
        g->member = member;
        g->what = what;
        copy_str(g->site, sizeof(g->site), a->site);
        g->sev = a->sev;
        g->base_ns = base_ns;
        if (what == RD_FIRING && r->p.group_interval_s > 0) {
            struct rsite *s = find_site(r, member, a->site);

            if (s)
                g->floor_ns = s->last_ns + r->p.group_interval_s * NS_PER_S;
        }
    }
    copy_str(g->e[g->n].id, sizeof(g->e[0].id), a->id);
    g->e[g->n].since_ns = a->since_ns;
    g->e[g->n].seq = seq;
    g->n++;
    if (a->sev > g->sev)
        g->sev = a->sev;
    group_recompute(r, g);
}

/* Remove an alert episode from pending groups; mask of kinds to touch. */
static void unqueue(struct router *r, const struct ralert *a, unsigned kinds)
{
    size_t i, k;

    for (i = 0; i < ROUTE_MAX_PENDING; i++) {
        struct rgroup *g = &r->g[i];

        if (!g->used || !(kinds & (1u << g->what)))
            continue;
        for (k = 0; k < g->n;) {
            if (strcasecmp(g->e[k].id, a->id) == 0 &&
                g->e[k].since_ns == a->since_ns) {
                memmove(&g->e[k], &g->e[k + 1],
                        (g->n - k - 1) * sizeof(g->e[0]));
                g->n--;
            } else {
                k++;
            }
        }
        if (g->n == 0)
            g->used = 0;
    }
}

static void raise_in_groups(struct router *r, const struct ralert *a)
{
    size_t i, k;

    for (i = 0; i < ROUTE_MAX_PENDING; i++) {
        struct rgroup *g = &r->g[i];

        if (!g->used || g->sev >= a->sev)
            continue;
        for (k = 0; k < g->n; k++)
            if (strcasecmp(g->e[k].id, a->id) == 0 &&
                g->e[k].since_ns == a->since_ns) {
                g->sev = a->sev;
                group_recompute(r, g);
                break;
            }
    }
}

/* --------------------------------------------------------------- alerts */

static void send_to(struct router *r, uint64_t mask, enum route_what what,
                    const struct ralert *a, uint32_t seq, int64_t base)
{
    size_t i;

    for (i = 0; i < r->nmem; i++)
        if (mask & (1ULL << i))
            enqueue(r, (int)i, what, a, seq, base);
}

static int can_escalate(const struct router *r, const struct ralert *a)
{
    return !a->acked && r->p.escalate_after_s > 0 &&
           a->sev >= r->p.escalate_min_severity;
}

void router_on_alert(struct router *r, const char *alert_id, const char *rule,
                     const char *site, const char *kind, const char *obj_id,
                     enum route_sev sev, int firing, int64_t wall_ns)
{
    struct ralert *a;
    char id[ROUTE_ID_MAX];
    int64_t base;
    uint64_t mask;
    int tier = 0;
    size_t i;

    (void)rule;             /* routing is by severity, role and site */
    (void)kind;
    (void)obj_id;
    if (!r || !alert_id || !alert_id[0])
        return;
    if ((int)sev < ROUTE_INFO)
        sev = ROUTE_INFO;
    if ((int)sev > ROUTE_CRIT)
        sev = ROUTE_CRIT;
    copy_str(id, sizeof(id), alert_id);
    a = find_alert(r, id);
    base = wall_ns + r->p.group_wait_s * NS_PER_S;
    if (!firing) {
        if (!a) {
            r->st.unknown_resolved++;
            return;
        }
        unqueue(r, a, (1u << RD_FIRING) | (1u << RD_REMINDER) |
                      (1u << RD_ESCALATION));
        if (!a->notified)
            r->st.resolved_unsent++;
        else
            send_to(r, a->notified, RD_RESOLVED, a, 0, base);
        memset(a, 0, sizeof(*a));
        return;
    }
    if (!a) {
        for (i = 0; i < ROUTE_MAX_ALERTS && r->al[i].used; i++)
            ;
        if (i == ROUTE_MAX_ALERTS) {
            r->st.alerts_dropped++;
            return;
        }
        a = &r->al[i];
        memset(a, 0, sizeof(*a));
        a->used = 1;
        copy_str(a->id, sizeof(a->id), id);
        copy_str(a->site, sizeof(a->site), site);
        a->sev = sev;
        a->since_ns = wall_ns;
        mask = first_line(r, sev, wall_ns, &tier);
        a->tier = tier;
        send_to(r, mask, RD_FIRING, a, (uint32_t)sev, base);
        return;
    }
    if (sev <= a->sev) {
        a->sev = sev;      /* a fall (or a repeat) sends nothing */
        return;
    }
    a->sev = sev;
    if (a->acked) {
        /* a new situation: the ack of the milder one no longer holds; the
           rise's delivery re-arms reminders and escalation */
        a->acked = 0;
        a->ack_by[0] = '\0';
        a->ack_ns = 0;
        a->first_ns = 0;
    }
    mask = first_line(r, sev, wall_ns, &tier) | a->notified;
    if (tier > a->tier)
        a->tier = tier;
    raise_in_groups(r, a);
    send_to(r, mask, RD_FIRING, a, (uint32_t)sev, base);
    if (a->first_ns && !a->acked) {
        if (!a->rem_due && r->p.reminder_s[sev] > 0)
            a->rem_due = wall_ns + r->p.reminder_s[sev] * NS_PER_S;
        if (!a->esc_due && can_escalate(r, a))
            a->esc_due = wall_ns + r->p.escalate_after_s * NS_PER_S;
    }
}

int router_ack(struct router *r, const char *alert_id, const char *member,
               int64_t wall_ns)
{
    struct ralert *a;

    if (!r || !alert_id)
        return ROUTE_ENOENT;
    a = find_alert(r, alert_id);
    if (!a)
        return ROUTE_ENOENT;
    if (a->acked)
        return HUB_OK;
    a->acked = 1;
    a->ack_ns = wall_ns;
    copy_str(a->ack_by, sizeof(a->ack_by), member);
    a->rem_due = 0;
    a->esc_due = 0;
    unqueue(r, a, (1u << RD_REMINDER) | (1u << RD_ESCALATION));
    return HUB_OK;
}

/* ---------------------------------------------------------------- timers */

static void run_timers(struct router *r, int64_t now)
{
    size_t i;

    for (i = 0; i < ROUTE_MAX_ALERTS; i++) {
        struct ralert *a = &r->al[i];
        int64_t step;

        if (!a->used || a->acked)
            continue;
        if (a->rem_due && a->rem_due <= now) {
            int64_t due = a->rem_due;

            a->rem_n++;
            send_to(r, a->notified, RD_REMINDER, a, a->rem_n, due);
            step = r->p.reminder_s[a->sev] * NS_PER_S;
            if (step <= 0) {
                a->rem_due = 0;
            } else {
                a->rem_due += ((now - a->rem_due) / step + 1) * step;
            }
        }
        if (a->esc_due && a->esc_due <= now) {
            int tier = 0;
            uint64_t mask = pick(r, a->sev, a->tier, 0, a->esc_due, &tier);

            mask &= ~a->notified;
            if (tier) {
                a->tier = tier;
                send_to(r, mask, RD_ESCALATION, a, (uint32_t)tier, a->esc_due);
                a->esc_due += r->p.escalate_after_s * NS_PER_S;
                if (a->esc_due <= now)
                    a->esc_due = now + 1;
            } else {
                a->esc_due = 0;
            }
        }
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return fnv(h, b, 8);
}

static uint64_t group_key(const struct router *r, const struct rgroup *g)
{
    uint64_t h = 14695981039346656037ULL;
    const char *name = r->mem[g->member].m.name;
    size_t k;
    char lid[ROUTE_ID_MAX];

    h = fnv(h, name, strlen(name) + 1);
    h = fnv_u64(h, (uint64_t)g->what);
    h = fnv(h, g->site, strlen(g->site) + 1);
    for (k = 0; k < g->n; k++) {
        size_t j;

        for (j = 0; g->e[k].id[j]; j++)
            lid[j] = (char)tolower((unsigned char)g->e[k].id[j]);
        lid[j] = '\0';
        h = fnv(h, lid, j + 1);
        h = fnv_u64(h, (uint64_t)g->e[k].since_ns);
        h = fnv_u64(h, g->e[k].seq);
    }
    return h;
}

static void emit(struct router *r, struct rgroup *g, struct route_delivery *o)
{
    const struct member *m = &r->mem[g->member].m;
    size_t k;

    memset(o, 0, sizeof(*o));
    copy_str(o->member, sizeof(o->member), m->name);
    copy_str(o->phone, sizeof(o->phone), m->phone);
    memcpy(o->channels, m->channels, sizeof(o->channels));
    o->nchannels = m->nchannels;
    copy_str(o->lang, sizeof(o->lang), m->lang);
    o->what = g->what;
    o->sev = g->sev;
    o->nalerts = g->n;
    for (k = 0; k < g->n; k++)
        copy_str(o->alert_ids[k], sizeof(o->alert_ids[0]), g->e[k].id);
    copy_str(o->site, sizeof(o->site), g->site);
    o->due_ns = g->due_ns;
    o->key = group_key(r, g);

    if (g->what == RD_RESOLVED)
        return;
    if (g->what == RD_FIRING)
        note_site(r, g->member, g->site, g->due_ns);
    for (k = 0; k < g->n; k++) {
        struct ralert *a = find_alert(r, g->e[k].id);

        if (!a || a->since_ns != g->e[k].since_ns)
            continue;
        a->notified |= 1ULL << g->member;
        if (a->first_ns)
            continue;
        a->first_ns = g->due_ns;
        if (a->acked)
            continue;
        if (r->p.reminder_s[a->sev] > 0)
            a->rem_due = a->first_ns + r->p.reminder_s[a->sev] * NS_PER_S;
        if (can_escalate(r, a))
            a->esc_due = a->first_ns + r->p.escalate_after_s * NS_PER_S;
    }
}

int router_next(struct router *r, int64_t wall_ns, struct route_delivery *out)
{
    struct rgroup *best = NULL;
    size_t i;

    if (!r || !out)
        return 0;
    run_timers(r, wall_ns);
    for (i = 0; i < ROUTE_MAX_PENDING; i++) {
        struct rgroup *g = &r->g[i];

        if (!g->used || g->due_ns > wall_ns)
            continue;
        if (!best || g->due_ns < best->due_ns ||
            (g->due_ns == best->due_ns && g->order < best->order))
            best = g;
    }
    if (!best)
        return 0;
    emit(r, best, out);
    best->used = 0;
    return 1;
}

int64_t router_next_due_ns(const struct router *r)
{
    int64_t t = INT64_MAX;
    size_t i;

    if (!r)
        return t;
    for (i = 0; i < ROUTE_MAX_PENDING; i++)
        if (r->g[i].used && r->g[i].due_ns < t)
            t = r->g[i].due_ns;
    for (i = 0; i < ROUTE_MAX_ALERTS; i++) {
        const struct ralert *a = &r->al[i];

        if (!a->used || a->acked)
            continue;
        if (a->rem_due && a->rem_due < t)
            t = a->rem_due;
        if (a->esc_due && a->esc_due < t)
            t = a->esc_due;
    }
    return t;
}

void router_get_stats(const struct router *r, struct route_stats *out)
{
    *out = r->st;
}

size_t router_active_alerts(const struct router *r)
{
    size_t i, n = 0;

    for (i = 0; i < ROUTE_MAX_ALERTS; i++)
        n += r->al[i].used ? 1 : 0;
    return n;
}

size_t router_pending(const struct router *r)
{
    size_t i, n = 0;

    for (i = 0; i < ROUTE_MAX_PENDING; i++)
        n += r->g[i].used ? 1 : 0;
    return n;
}

/* ------------------------------------------------------------ save/load */

/* Text, one record a line, fields separated by one space. Strings are
 * written as '=' plus the bytes, with '%', space, control and non-ASCII
 * bytes as %XX, so an empty string is "=".
 *   kompos-route 1
 *   a =ID =SITE SEV SINCE ACKED =ACK_BY ACK_NS TIER FIRST REM_DUE REM_N ESC_DUE
 *   n =MEMBER                 (notified; belongs to the 'a' line above)
 *   g ORDER =MEMBER WHAT =SITE SEV BASE FLOOR DUE N
 *   e =ID SINCE SEQ           (N of them follow their 'g' line)
 *   s =MEMBER =SITE LAST
 *   o NEXT_ORDER
 *   end */

struct wbuf {
    char *b;
    size_t len, pos;
    int full;
};


static void wc(struct wbuf *w, char c)
{
    if (w->full)
        return;
    if (w->pos + 1 >= w->len) {
        w->full = 1;
        return;
    }
    w->b[w->pos++] = c;
    w->b[w->pos] = '\0';
}

static void ws(struct wbuf *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    wc(w, ' ');
    wc(w, '=');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f || c == '%') {
            wc(w, '%');
            wc(w, hex[c >> 4]);
            wc(w, hex[c & 15]);
        } else {
            wc(w, (char)c);
        }
    }
}

static void wi(struct wbuf *w, long long v)
{
    int n;

    if (w->full)
        return;
    n = snprintf(w->b + w->pos, w->len - w->pos, " %lld", v);
    if (n < 0 || (size_t)n >= w->len - w->pos)
        w->full = 1;
    else
        w->pos += (size_t)n;
}

static void wlit(struct wbuf *w, const char *s)
{
    for (; *s; s++)
        wc(w, *s);
}

int router_save(const struct router *r, char *buf, size_t len)
{
    struct wbuf w = { buf, len, 0, 0 };
    size_t i, k;

    if (!r || !buf || len < 2)
        return HUB_EFULL;
    buf[0] = '\0';
    wlit(&w, "kompos-route 1\n");
    for (i = 0; i < ROUTE_MAX_ALERTS; i++) {
        const struct ralert *a = &r->al[i];

        if (!a->used)
            continue;
        wc(&w, 'a');
        ws(&w, a->id);
        ws(&w, a->site);
        wi(&w, a->sev);
        wi(&w, a->since_ns);
        wi(&w, a->acked);
        ws(&w, a->ack_by);
        wi(&w, a->ack_ns);
        wi(&w, a->tier);
        wi(&w, a->first_ns);
        wi(&w, a->rem_due);
        wi(&w, a->rem_n);
        wi(&w, a->esc_due);
        wc(&w, '\n');
        for (k = 0; k < r->nmem; k++)
            if (a->notified & (1ULL << k)) {
                wc(&w, 'n');
                ws(&w, r->mem[k].m.name);
                wc(&w, '\n');
            }
    }
    for (i = 0; i < ROUTE_MAX_PENDING; i++) {
        const struct rgroup *g = &r->g[i];

        if (!g->used)
            continue;
        wc(&w, 'g');
        wi(&w, (long long)g->order);
        ws(&w, r->mem[g->member].m.name);
        wi(&w, g->what);
        ws(&w, g->site);
        wi(&w, g->sev);
        wi(&w, g->base_ns);
        wi(&w, g->floor_ns);
        wi(&w, g->due_ns);
        wi(&w, (long long)g->n);
        wc(&w, '\n');
        for (k = 0; k < g->n; k++) {
            wc(&w, 'e');
            ws(&w, g->e[k].id);
            wi(&w, g->e[k].since_ns);
            wi(&w, g->e[k].seq);
            wc(&w, '\n');
        }
    }
    for (i = 0; i < ROUTE_MAX_SITES; i++) {
        const struct rsite *s = &r->s[i];

        if (!s->used)
            continue;
        wc(&w, 's');
        ws(&w, r->mem[s->member].m.name);
        ws(&w, s->site);
        wi(&w, s->last_ns);
        wc(&w, '\n');
    }
    wc(&w, 'o');
    wi(&w, (long long)r->order);
    wlit(&w, "\nend\n");
    if (w.full) {
        buf[0] = '\0';
        return HUB_EFULL;
    }
    return (int)w.pos;
}

/* A cursor over one line. */
struct rd {
    const char *p, *end;
    int bad;
};

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Next token (after one space), as [*tok, *tok + return). */
static size_t tok(struct rd *d, const char **t)
{
    const char *s;

    if (d->bad || d->p >= d->end || *d->p != ' ') {
        d->bad = 1;
        return 0;
    }
    s = ++d->p;
    while (d->p < d->end && *d->p != ' ')
        d->p++;
    *t = s;
    if (d->p == s)
        d->bad = 1;
    return (size_t)(d->p - s);
}

static void rs(struct rd *d, char *out, size_t outlen)
{
    const char *t = NULL;
    size_t n = tok(d, &t), i, o = 0;

    out[0] = '\0';
    if (d->bad)
        return;
    if (t[0] != '=') {
        d->bad = 1;
        return;
    }
    for (i = 1; i < n; i++) {
        int c = (unsigned char)t[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= n) {
                d->bad = 1;
                return;
            }
            hi = hexv(t[i + 1]);
            lo = hexv(t[i + 2]);
            if (hi < 0 || lo < 0) {
                d->bad = 1;
                return;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen) {
            d->bad = 1;
            return;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

static long long ri(struct rd *d, long long lo, long long hi)
{
    const char *t = NULL;
    size_t n = tok(d, &t);
    char tmp[24], *e;
    long long v;

    if (d->bad)
        return 0;
    if (n >= sizeof(tmp)) {
        d->bad = 1;
        return 0;
    }
    memcpy(tmp, t, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtoll(tmp, &e, 10);
    if (errno || *e || e == tmp || v < lo || v > hi) {
        d->bad = 1;
        return 0;
    }
    return v;
}

static int line_done(const struct rd *d)
{
    return !d->bad && d->p == d->end;
}

int router_load(struct router *r, const char *text)
{
    struct router *t;
    const char *p, *nl;
    struct ralert *cur_a = NULL;
    struct rgroup *cur_g = NULL;
    size_t want_e = 0, na = 0, ng = 0, ns = 0;
    int skip_g = 0, ended = 0, first = 1;
    struct rgroup skipped;
    char name[64];
    /* times are Unix ns: 0 .. 2^62 (year 2116) keeps the timer arithmetic
       far from overflow whatever the text says */
    const long long TMAX = 1LL << 62, TMIN = 0;

    if (!r || !text)
        return HUB_EINVAL;
    t = malloc(sizeof(*t));
    if (!t)
        return HUB_ENOMEM;
    memcpy(t, r, sizeof(*t));
    memset(t->al, 0, sizeof(t->al));
    memset(t->g, 0, sizeof(t->g));
    memset(t->s, 0, sizeof(t->s));
    t->order = 0;
    for (p = text; *p; p = nl + 1) {
        struct rd d;
        char kind;

        nl = strchr(p, '\n');
        if (!nl)
            goto bad;           /* every line ends in '\n' */
        if (ended)
            goto bad;
        d.p = p + 1;
        d.end = nl;
        d.bad = 0;
        kind = *p;
        if (first) {
            if ((size_t)(nl - p) != 14 || strncmp(p, "kompos-route 1", 14))
                goto bad;
            first = 0;
            continue;
        }
        if ((size_t)(nl - p) == 3 && strncmp(p, "end", 3) == 0) {
            ended = 1;
            kind = '.';
        }
        if (want_e && kind != 'e')
            goto bad;
        switch (kind) {
        case '.':
            break;
        case 'a': {
            struct ralert a;

            memset(&a, 0, sizeof(a));
            a.used = 1;
            rs(&d, a.id, sizeof(a.id));
            rs(&d, a.site, sizeof(a.site));
            a.sev = (enum route_sev)ri(&d, 0, 2);
            a.since_ns = ri(&d, TMIN, TMAX);
            a.acked = (int)ri(&d, 0, 1);
            rs(&d, a.ack_by, sizeof(a.ack_by));
            a.ack_ns = ri(&d, TMIN, TMAX);
            a.tier = (int)ri(&d, 0, 1000000);
            a.first_ns = ri(&d, TMIN, TMAX);
            a.rem_due = ri(&d, TMIN, TMAX);
            a.rem_n = (uint32_t)ri(&d, 0, UINT32_MAX);
            a.esc_due = ri(&d, TMIN, TMAX);
            if (!line_done(&d) || !a.id[0] || na == ROUTE_MAX_ALERTS ||
                find_alert(t, a.id))
                goto bad;
            t->al[na] = a;
            cur_a = &t->al[na++];
            break;
        }
        case 'n': {
            int m;

            rs(&d, name, sizeof(name));
            if (!line_done(&d) || !cur_a)
                goto bad;
            m = find_member(t, name);
            if (m < 0)
                t->st.load_skipped++;
            else
                cur_a->notified |= 1ULL << m;
            break;
        }
        case 'g': {
            struct rgroup g;
            int m;

            memset(&g, 0, sizeof(g));
            g.used = 1;
            g.order = (uint64_t)ri(&d, 0, INT64_MAX);
            rs(&d, name, sizeof(name));
            g.what = (enum route_what)ri(&d, 0, 3);
            rs(&d, g.site, sizeof(g.site));
            g.sev = (enum route_sev)ri(&d, 0, 2);
            g.base_ns = ri(&d, TMIN, TMAX);
            g.floor_ns = ri(&d, TMIN, TMAX);
            g.due_ns = ri(&d, TMIN, TMAX);
            want_e = (size_t)ri(&d, 1, ROUTE_GROUP_MAX);
            if (!line_done(&d) || ng == ROUTE_MAX_PENDING)
                goto bad;
            cur_a = NULL;
            m = find_member(t, name);
            if (m < 0) {
                t->st.load_skipped++;
                skipped = g;
                cur_g = &skipped;
                skip_g = 1;
            } else {
                g.member = m;
                t->g[ng] = g;
                cur_g = &t->g[ng++];
                skip_g = 0;
            }
            break;
        }
        case 'e': {
            struct rentry *e;

            if (!want_e || !cur_g)
                goto bad;
            e = &cur_g->e[cur_g->n];
            rs(&d, e->id, sizeof(e->id));
            e->since_ns = ri(&d, TMIN, TMAX);
            e->seq = (uint32_t)ri(&d, 0, UINT32_MAX);
            if (!line_done(&d) || !e->id[0])
                goto bad;
            cur_g->n++;
            want_e--;
            break;
        }
        case 's': {
            struct rsite s;
            int m;

            memset(&s, 0, sizeof(s));
            s.used = 1;
            rs(&d, name, sizeof(name));
            rs(&d, s.site, sizeof(s.site));
            s.last_ns = ri(&d, TMIN, TMAX);
            if (!line_done(&d) || ns == ROUTE_MAX_SITES)
                goto bad;
            cur_a = NULL;
            m = find_member(t, name);
            if (m < 0) {
                t->st.load_skipped++;
            } else {
                s.member = m;
                t->s[ns++] = s;
            }
            break;
        }
        case 'o':
            t->order = (uint64_t)ri(&d, 0, INT64_MAX);
            if (!line_done(&d))
                goto bad;
            break;
        default:
            goto bad;
        }
    }
    (void)skip_g;
    if (!ended || want_e)
        goto bad;
    for (ng = 0; ng < ROUTE_MAX_PENDING; ng++)
        if (t->g[ng].used && t->g[ng].order >= t->order)
            t->order = t->g[ng].order + 1;
    memcpy(r, t, sizeof(*r));
    free(t);
    return HUB_OK;
bad:
    free(t);
    return HUB_EINVAL;
}
