/* SPDX-License-Identifier: MIT */
/* outbox.c - the durable notification outbox: one fsync'd file per entry,
 * replaced by tmp + fsync + rename; see outbox.h for the life of an entry.
 *
 * File format (text, one "name value" per line, values escaped with
 * \\ \n \r), last line "crc <crc32 of everything before it, 8 hex>":
 *   kompos-outbox 1 / key / state / created / next / rung / rung_fails /
 *   attempts / status / channels a,b / member / phone / rule / alert_id /
 *   site / error / pid / text / crc */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "hub_err.h"

#define SEC 1000000000LL
#define PACE_SLOTS 32
#define FILE_MAX (4 * NOTIFY_TEXT_MAX + 2048)
#define PATH_LEN 4096

struct slot {
    struct outbox_entry e;
    int used;
    int inflight;
};

struct tomb {
    uint64_t key;
    int64_t when_ns;
    int state;                      /* DONE or DEAD */
    char provider_id[OUTBOX_PID_LEN];
};

struct pace {
    char phone[OUTBOX_PHONE_LEN];
    int64_t last_ns;
};

struct outbox {
    char dir[PATH_LEN];
    int dirfd, deadfd;
    struct outbox_params p;
    struct slot *slots;             /* max_pending */
    struct tomb *tombs;             /* done_max    */
    size_t ntombs;
    struct pace pace[PACE_SLOTS];
    struct outbox_counters c;
    char buf[FILE_MAX];             /* serialise / parse scratch */
};

void outbox_params_default(struct outbox_params *p)
{
    p->max_pending = 128;
    p->done_max = 512;
    p->done_keep_ns = 48 * 3600 * SEC;
    p->backoff_base_ns = 30 * SEC;
    p->backoff_cap_ns = 3600 * SEC;
    p->pace_ns = 10 * SEC;
    p->rung_max_fails = 3;
    p->max_age_ns = 24 * 3600 * SEC;
}

/* -- serialisation ---------------------------------------------------- */

struct wbuf {
    char *p;
    size_t cap, len;
    int over;
};

static void w_raw(struct wbuf *w, const char *s, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void w_str(struct wbuf *w, const char *name, const char *v)
{
    w_raw(w, name, strlen(name));
    w_raw(w, " ", 1);
    for (; *v; v++) {
        if (*v == '\\')
            w_raw(w, "\\\\", 2);
        else if (*v == '\n')
            w_raw(w, "\\n", 2);
        else if (*v == '\r')
            w_raw(w, "\\r", 2);
        else
            w_raw(w, v, 1);
    }
    w_raw(w, "\n", 1);
}

static void w_num(struct wbuf *w, const char *name, long long v)
{
    char t[32];

    snprintf(t, sizeof(t), "%lld", v);
    w_str(w, name, t);
}

static const char *const state_names[] = { "pending", "done", "dead" };

static size_t serialise(const struct outbox_entry *e, char *out, size_t cap)
{
    struct wbuf w = { out, cap, 0, 0 };
    char t[OUTBOX_LADDER_MAX * (OUTBOX_CHANNEL_LEN + 1)] = "";
    unsigned i;
    unsigned long crc;

    w_raw(&w, "kompos-outbox 1\n", 16);
    snprintf(t, sizeof(t), "%016" PRIx64, e->key);
    w_str(&w, "key", t);
    w_str(&w, "state", state_names[e->state]);
    w_num(&w, "created", e->created_ns);
    w_num(&w, "next", e->next_ns);
    w_num(&w, "rung", e->rung);
    w_num(&w, "rung_fails", e->rung_fails);
    w_num(&w, "attempts", e->attempts);
    w_num(&w, "status", e->last_status);
    t[0] = '\0';
    for (i = 0; i < e->nchannels; i++) {
        if (i)
            strcat(t, ",");
        strcat(t, e->channels[i]);
    }
    w_str(&w, "channels", t);
    w_str(&w, "member", e->member);
    w_str(&w, "phone", e->phone);
    w_str(&w, "rule", e->rule);
    w_str(&w, "alert_id", e->alert_id);
    w_str(&w, "site", e->site);
    w_str(&w, "error", e->last_error);
    w_str(&w, "pid", e->provider_id);
    w_str(&w, "text", e->text);
    if (w.over)
        return 0;
    crc = crc32(0L, (const Bytef *)out, (uInt)w.len);
    snprintf(t, sizeof(t), "crc %08lx\n", crc & 0xffffffffUL);
    w_raw(&w, t, strlen(t));
    return w.over ? 0 : w.len;
}

/* Unescape v (length n) into dst (cap bytes). -1 when it does not fit or
 * has a bad escape. */
static int unesc(const char *v, size_t n, char *dst, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char ch = v[i];

        if (ch == '\0')
            return -1;
        if (ch == '\\') {
            if (++i >= n)
                return -1;
            ch = v[i] == 'n' ? '\n' : v[i] == 'r' ? '\r' : v[i] == '\\' ? '\\' : 0;
            if (!ch)
                return -1;
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = ch;
    }
    dst[o] = '\0';
    return 0;
}

static int num(const char *v, size_t n, long long lo, long long hi, long long *out)
{
    char t[32], *end;
    long long x;

    if (n == 0 || n >= sizeof(t))
        return -1;
    memcpy(t, v, n);
    t[n] = '\0';
    errno = 0;
    x = strtoll(t, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* Parse a file image. 0 or -1 (torn, garbage, bad crc, missing lines). */
static int parse(char *buf, size_t len, struct outbox_entry *e)
{
    static const char *const names[] = {
        "key", "state", "created", "next", "rung", "rung_fails", "attempts",
        "status", "channels", "member", "phone", "rule", "alert_id", "site",
        "error", "pid", "text",
    };
    enum { NFIELDS = sizeof(names) / sizeof(names[0]) };
    unsigned seen = 0;
    size_t pos, crcpos;
    char *line, *nl, *sp, tmp[OUTBOX_LADDER_MAX * (OUTBOX_CHANNEL_LEN + 1) + 1];
    unsigned long crc, want;
    long long x;
    int i, f;

    memset(e, 0, sizeof(*e));
    if (len < 20 || memcmp(buf, "kompos-outbox 1\n", 16) != 0 || buf[len - 1] != '\n')
        return -1;
    /* the crc line is the last line */
    crcpos = len - 1;
    while (crcpos > 0 && buf[crcpos - 1] != '\n')
        crcpos--;
    if (len - crcpos != 13 || memcmp(buf + crcpos, "crc ", 4) != 0)
        return -1;
    want = 0;
    for (i = 0; i < 8; i++) {
        char ch = buf[crcpos + 4 + i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        want = want << 4 | (unsigned long)d;
    }
    crc = crc32(0L, (const Bytef *)buf, (uInt)crcpos) & 0xffffffffUL;
    if (crc != want)
        return -1;
    for (pos = 16; pos < crcpos; pos = (size_t)(nl - buf) + 1) {
        size_t nlen, vlen;
        const char *v;

        line = buf + pos;
        nl = memchr(line, '\n', crcpos - pos);
        if (!nl)
            return -1;
        sp = memchr(line, ' ', (size_t)(nl - line));
        if (!sp)
            return -1;
        nlen = (size_t)(sp - line);
        v = sp + 1;
        vlen = (size_t)(nl - v);
        for (f = 0; f < NFIELDS; f++)
            if (strlen(names[f]) == nlen && memcmp(names[f], line, nlen) == 0)
                break;
        if (f == NFIELDS || (seen & (1u << f)))
            return -1;
        seen |= 1u << f;
        switch (f) {
        case 0:
            if (vlen != 16 || unesc(v, vlen, tmp, sizeof(tmp)) != 0)
                return -1;
            e->key = (uint64_t)strtoull(tmp, NULL, 16);
            break;
        case 1:
            for (i = 0; i < 3; i++)
                if (strlen(state_names[i]) == vlen && memcmp(state_names[i], v, vlen) == 0)
                    break;
            if (i == 3)
                return -1;
            e->state = i;
            break;
        case 2: case 3:
            if (num(v, vlen, INT64_MIN, INT64_MAX, &x) != 0)
                return -1;
            if (f == 2)
                e->created_ns = x;
            else
                e->next_ns = x;
            break;
        case 4: case 5: case 6:
            if (num(v, vlen, 0, 1000000, &x) != 0)
                return -1;
            if (f == 4)
                e->rung = (unsigned)x;
            else if (f == 5)
                e->rung_fails = (unsigned)x;
            else
                e->attempts = (unsigned)x;
            break;
        case 7:
            if (num(v, vlen, -1, 999, &x) != 0)
                return -1;
            e->last_status = (long)x;
            break;
        case 8: {
            char *save = NULL, *tok;

            if (unesc(v, vlen, tmp, sizeof(tmp)) != 0)
                return -1;
            for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (e->nchannels >= OUTBOX_LADDER_MAX || notify_channel_from_name(tok) < 0)
                    return -1;
                snprintf(e->channels[e->nchannels++], OUTBOX_CHANNEL_LEN, "%s", tok);
            }
            break;
        }
        case 9:  if (unesc(v, vlen, e->member, sizeof(e->member))) return -1; break;
        case 10: if (unesc(v, vlen, e->phone, sizeof(e->phone))) return -1; break;
        case 11: if (unesc(v, vlen, e->rule, sizeof(e->rule))) return -1; break;
        case 12: if (unesc(v, vlen, e->alert_id, sizeof(e->alert_id))) return -1; break;
        case 13: if (unesc(v, vlen, e->site, sizeof(e->site))) return -1; break;
        case 14: if (unesc(v, vlen, e->last_error, sizeof(e->last_error))) return -1; break;
        case 15: if (unesc(v, vlen, e->provider_id, sizeof(e->provider_id))) return -1; break;
        default: if (unesc(v, vlen, e->text, sizeof(e->text))) return -1; break;
        }
    }
    if (seen != (1u << NFIELDS) - 1 || e->nchannels == 0 || e->rung >= e->nchannels)
        return -1;
    return 0;
}

/* -- files ------------------------------------------------------------- */

static void name_of(uint64_t key, char *out, size_t cap)
{
    snprintf(out, cap, "%016" PRIx64 ".ob", key);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write e durably as <dir>/<key>.ob. HUB_OK or HUB_EIO. */
static int store(struct outbox *ob, const struct outbox_entry *e)
{
    char tmp[40], name[40];
    size_t n = serialise(e, ob->buf, sizeof(ob->buf));
    int fd;

    if (n == 0)
        return HUB_EINVAL;
    snprintf(tmp, sizeof(tmp), ".%016" PRIx64 ".tmp", e->key);
    name_of(e->key, name, sizeof(name));
    fd = openat(ob->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (write_all(fd, ob->buf, n) != 0 || fsync(fd) != 0) {
        close(fd);
        unlinkat(ob->dirfd, tmp, 0);
        goto fail;
    }
    if (close(fd) != 0 || renameat(ob->dirfd, tmp, ob->dirfd, name) != 0) {
        unlinkat(ob->dirfd, tmp, 0);
        goto fail;
    }
    if (fsync(ob->dirfd) != 0)
        goto fail;
    return HUB_OK;
fail:
    ob->c.io_errors++;
    return HUB_EIO;
}

/* Move <dir>/<key>.ob to dead/ (after state dead was stored). */
static int bury(struct outbox *ob, uint64_t key)
{
    char name[40];

    name_of(key, name, sizeof(name));
    if (renameat(ob->dirfd, name, ob->deadfd, name) != 0 ||
        fsync(ob->deadfd) != 0 || fsync(ob->dirfd) != 0) {
        ob->c.io_errors++;
        return HUB_EIO;
    }
    return HUB_OK;
}

/* -- tombstones and pacing ---------------------------------------------- */

static struct tomb *tomb_find(const struct outbox *ob, uint64_t key)
{
    size_t i;

    for (i = 0; i < ob->ntombs; i++)
        if (ob->tombs[i].key == key)
            return &ob->tombs[i];
    return NULL;
}

static void tomb_add(struct outbox *ob, uint64_t key, int state,
                     int64_t when, const char *pid)
{
    struct tomb *t = tomb_find(ob, key);
    size_t i, old = 0;
    char name[40];

    if (!t && ob->ntombs < ob->p.done_max) {
        t = &ob->tombs[ob->ntombs++];
    } else if (!t) {
        if (ob->p.done_max == 0)
            return;
        for (i = 1; i < ob->ntombs; i++)
            if (ob->tombs[i].when_ns < ob->tombs[old].when_ns)
                old = i;
        t = &ob->tombs[old];
        if (t->state == OUTBOX_DONE) {
            name_of(t->key, name, sizeof(name));
            unlinkat(ob->dirfd, name, 0);
        }
    }
    t->key = key;
    t->state = state;
    t->when_ns = when;
    snprintf(t->provider_id, sizeof(t->provider_id), "%s", pid ? pid : "");
}

/* Forget done tombstones older than done_keep_ns (and delete their files). */
static void prune_tombs(struct outbox *ob, int64_t now)
{
    size_t i = 0;
    char name[40];

    while (i < ob->ntombs) {
        struct tomb *t = &ob->tombs[i];

        if (t->state == OUTBOX_DONE && t->when_ns < now - ob->p.done_keep_ns) {
            name_of(t->key, name, sizeof(name));
            unlinkat(ob->dirfd, name, 0);
            *t = ob->tombs[--ob->ntombs];
            continue;
        }
        i++;
    }
}

static int64_t pace_until(const struct outbox *ob, const char *phone)
{
    size_t i;

    for (i = 0; i < PACE_SLOTS; i++)
        if (ob->pace[i].phone[0] && strcmp(ob->pace[i].phone, phone) == 0)
            return ob->pace[i].last_ns + ob->p.pace_ns;
    return INT64_MIN;
}

static void pace_note(struct outbox *ob, const char *phone, int64_t now)
{
    size_t i, old = 0;

    for (i = 0; i < PACE_SLOTS; i++) {
        if (ob->pace[i].phone[0] && strcmp(ob->pace[i].phone, phone) == 0) {
            ob->pace[i].last_ns = now;
            return;
        }
        if (!ob->pace[i].phone[0]) {
            old = i;
            break;
        }
        if (ob->pace[i].last_ns < ob->pace[old].last_ns)
            old = i;
    }
    snprintf(ob->pace[old].phone, sizeof(ob->pace[old].phone), "%s", phone);
    ob->pace[old].last_ns = now;
}

/* -- open / close ------------------------------------------------------- */

static struct slot *free_slot(struct outbox *ob)
{
    size_t i;

    for (i = 0; i < ob->p.max_pending; i++)
        if (!ob->slots[i].used)
            return &ob->slots[i];
    return NULL;
}

static struct slot *find_slot(struct outbox *ob, uint64_t key)
{
    size_t i;

    for (i = 0; i < ob->p.max_pending; i++)
        if (ob->slots[i].used && ob->slots[i].e.key == key)
            return &ob->slots[i];
    return NULL;
}

static int is_entry_name(const char *n, const char *ext, uint64_t *key)
{
    size_t i;

    for (i = 0; i < 16; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return 0;
    if (strcmp(n + 16, ext) != 0)
        return 0;
    *key = (uint64_t)strtoull(n, NULL, 16);
    return 1;
}

static int read_file(struct outbox *ob, int dfd, const char *name, size_t *len)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r;

    if (fd < 0)
        return -1;
    for (;;) {
        r = read(fd, ob->buf + n, sizeof(ob->buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof(ob->buf))
            break;
    }
    close(fd);
    if (r < 0 || n == sizeof(ob->buf))
        return -1;
    *len = n;
    return 0;
}

static void load_one(struct outbox *ob, const char *name, uint64_t key,
                     int64_t keep_since)
{
    struct outbox_entry e;
    struct slot *s;
    char bad[64];
    size_t len = 0;

    if (read_file(ob, ob->dirfd, name, &len) != 0 || parse(ob->buf, len, &e) != 0 ||
        e.key != key) {
        ob->c.bad_files++;
        snprintf(bad, sizeof(bad), "%s.bad", name);
        renameat(ob->dirfd, name, ob->deadfd, bad);
        return;
    }
    if (e.state == OUTBOX_DEAD) {           /* crash between store and bury */
        bury(ob, key);
        tomb_add(ob, key, OUTBOX_DEAD, e.next_ns, e.provider_id);
        return;
    }
    if (e.state == OUTBOX_DONE) {
        if (e.next_ns < keep_since)
            unlinkat(ob->dirfd, name, 0);
        else
            tomb_add(ob, key, OUTBOX_DONE, e.next_ns, e.provider_id);
        return;
    }
    s = free_slot(ob);
    if (!s) {
        ob->c.dropped++;                    /* stays on disk for later */
        return;
    }
    s->e = e;
    s->used = 1;
    s->inflight = 0;
    ob->c.pending++;
}

struct outbox *outbox_open(const char *dir, const struct outbox_params *p,
                           char *err, size_t errlen)
{
    struct outbox *ob;
    struct dirent *de;
    DIR *d;
    uint64_t key;
    int fd;

    if (!dir || strlen(dir) >= PATH_LEN - 8) {
        if (err && errlen)
            snprintf(err, errlen, "outbox: bad folder name");
        return NULL;
    }
    ob = calloc(1, sizeof(*ob));
    if (!ob)
        return NULL;
    ob->dirfd = ob->deadfd = -1;
    if (p)
        ob->p = *p;
    else
        outbox_params_default(&ob->p);
    if (ob->p.max_pending == 0)
        ob->p.max_pending = 1;
    if (ob->p.rung_max_fails == 0)
        ob->p.rung_max_fails = 1;
    if (ob->p.done_max == 0)
        ob->p.done_max = 1;             /* evicting a tombstone deletes its file */
    snprintf(ob->dir, sizeof(ob->dir), "%s", dir);
    ob->slots = calloc(ob->p.max_pending, sizeof(*ob->slots));
    ob->tombs = calloc(ob->p.done_max, sizeof(*ob->tombs));
    if (!ob->slots || !ob->tombs)
        goto fail_msg;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        goto fail_msg;
    ob->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ob->dirfd < 0)
        goto fail_msg;
    if (mkdirat(ob->dirfd, "dead", 0700) != 0 && errno != EEXIST)
        goto fail_msg;
    ob->deadfd = openat(ob->dirfd, "dead", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ob->deadfd < 0)
        goto fail_msg;

    /* dead letters first: their keys stay known */
    fd = dup(ob->deadfd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        goto fail_msg;
    }
    while ((de = readdir(d)) != NULL)
        if (is_entry_name(de->d_name, ".ob", &key))
            tomb_add(ob, key, OUTBOX_DEAD, INT64_MIN, NULL);
    closedir(d);

    fd = dup(ob->dirfd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        goto fail_msg;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp")) {
            unlinkat(ob->dirfd, de->d_name, 0);     /* an unfinished write */
            continue;
        }
        if (!is_entry_name(de->d_name, ".ob", &key))
            continue;
        load_one(ob, de->d_name, key, INT64_MIN);
    }
    closedir(d);
    return ob;

fail_msg:
    if (err && errlen)
        snprintf(err, errlen, "outbox: %s: %s", dir, strerror(errno));
    outbox_close(ob);
    return NULL;
}

void outbox_close(struct outbox *ob)
{
    if (!ob)
        return;
    if (ob->dirfd >= 0)
        close(ob->dirfd);
    if (ob->deadfd >= 0)
        close(ob->deadfd);
    free(ob->slots);
    free(ob->tombs);
    free(ob);
}

/* -- the API ------------------------------------------------------------ */

static int copy_str(char *dst, size_t cap, const char *s)
{
    if (!s)
        s = "";
    if (strlen(s) >= cap)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int outbox_add(struct outbox *ob, const struct outbox_new *n, int64_t now_ns)
{
    struct outbox_entry *e;
    struct slot *s;
    size_t i;
    int rc;

    if (!ob || !n || !n->channels || n->nchannels == 0 ||
        n->nchannels > OUTBOX_LADDER_MAX || !notify_phone_ok(n->phone) || !n->text)
        return HUB_EINVAL;
    for (i = 0; i < n->nchannels; i++)
        if (notify_channel_from_name(n->channels[i]) < 0)
            return HUB_EINVAL;
    if (find_slot(ob, n->key) || tomb_find(ob, n->key)) {
        ob->c.duplicates++;
        return HUB_OK;
    }
    s = free_slot(ob);
    if (!s) {
        ob->c.dropped++;
        return HUB_EFULL;
    }
    e = &s->e;
    memset(e, 0, sizeof(*e));
    e->key = n->key;
    if (copy_str(e->member, sizeof(e->member), n->member) ||
        copy_str(e->phone, sizeof(e->phone), n->phone) ||
        copy_str(e->text, sizeof(e->text), n->text) ||
        copy_str(e->rule, sizeof(e->rule), n->rule) ||
        copy_str(e->alert_id, sizeof(e->alert_id), n->alert_id) ||
        copy_str(e->site, sizeof(e->site), n->site))
        return HUB_EINVAL;
    for (i = 0; i < n->nchannels; i++)
        snprintf(e->channels[i], OUTBOX_CHANNEL_LEN, "%s", n->channels[i]);
    e->nchannels = (unsigned)n->nchannels;
    e->state = OUTBOX_PENDING;
    e->created_ns = now_ns;
    e->next_ns = now_ns;
    rc = store(ob, e);
    if (rc != HUB_OK)
        return rc;
    s->used = 1;
    s->inflight = 0;
    ob->c.pending++;
    return HUB_OK;
}

static void to_dead(struct outbox *ob, struct slot *s, int64_t now)
{
    s->e.state = OUTBOX_DEAD;
    s->e.next_ns = now;
    if (store(ob, &s->e) == HUB_OK)
        bury(ob, s->e.key);
    tomb_add(ob, s->e.key, OUTBOX_DEAD, now, s->e.provider_id);
    s->used = 0;
    s->inflight = 0;
    ob->c.pending--;
    ob->c.dead++;
}

static int64_t due_at(const struct outbox *ob, const struct slot *s)
{
    int64_t p = pace_until(ob, s->e.phone);

    return p > s->e.next_ns ? p : s->e.next_ns;
}

int outbox_next_due(struct outbox *ob, int64_t now_ns, struct outbox_entry *out)
{
    struct slot *best = NULL;
    size_t i;

    for (i = 0; i < ob->p.max_pending; i++) {
        struct slot *s = &ob->slots[i];

        if (!s->used || s->inflight)
            continue;
        if (now_ns - s->e.created_ns >= ob->p.max_age_ns) {
            snprintf(s->e.last_error, sizeof(s->e.last_error), "max age reached");
            to_dead(ob, s, now_ns);
            continue;
        }
        if (due_at(ob, s) > now_ns)
            continue;
        if (!best || s->e.next_ns < best->e.next_ns ||
            (s->e.next_ns == best->e.next_ns && s->e.created_ns < best->e.created_ns))
            best = s;
    }
    if (!best)
        return 0;
    best->inflight = 1;
    pace_note(ob, best->e.phone, now_ns);
    *out = best->e;
    return 1;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int64_t backoff(const struct outbox *ob, const struct outbox_entry *e)
{
    int64_t d = ob->p.backoff_base_ns, j;
    unsigned k;

    for (k = 1; k < e->rung_fails && d < ob->p.backoff_cap_ns; k++)
        d *= 2;
    if (d > ob->p.backoff_cap_ns)
        d = ob->p.backoff_cap_ns;
    j = d / 4 > 0 ? (int64_t)(mix(e->key ^ ((uint64_t)e->attempts << 32)) %
                              (uint64_t)(d / 4 + 1)) : 0;
    d += j;
    return d > ob->p.backoff_cap_ns ? ob->p.backoff_cap_ns : d;
}

int outbox_result(struct outbox *ob, uint64_t key, const struct outbox_outcome *o,
                  int64_t now_ns)
{
    struct slot *s = find_slot(ob, key);
    struct outbox_entry *e;
    int64_t ra;
    int rc;

    if (!s || !s->inflight || !o)
        return HUB_EINVAL;
    e = &s->e;
    s->inflight = 0;
    e->attempts++;
    e->last_status = o->http_status >= -1 && o->http_status <= 999 ? o->http_status : 0;
    snprintf(e->last_error, sizeof(e->last_error), "%s", o->error ? o->error : "");
    if (o->cls == NOTIFY_ACCEPTED) {
        e->state = OUTBOX_DONE;
        e->next_ns = now_ns;
        snprintf(e->provider_id, sizeof(e->provider_id), "%s",
                 o->provider_id ? o->provider_id : "");
        rc = store(ob, e);
        prune_tombs(ob, now_ns);
        tomb_add(ob, key, OUTBOX_DONE, now_ns, e->provider_id);
        s->used = 0;
        ob->c.pending--;
        ob->c.sent++;
        return rc;
    }
    if (o->cls == NOTIFY_RETRYABLE) {
        ob->c.retried++;
        e->rung_fails++;
        if (e->rung_fails >= ob->p.rung_max_fails && e->rung + 1 < e->nchannels) {
            e->rung++;
            e->rung_fails = 0;
            e->next_ns = now_ns;
            ob->c.fallbacks++;
        } else {
            e->next_ns = now_ns + backoff(ob, e);
            if (o->retry_after_s > 0) {
                ra = o->retry_after_s > 86400 ? 86400 : o->retry_after_s;
                if (now_ns + ra * SEC > e->next_ns)
                    e->next_ns = now_ns + ra * SEC;
            }
        }
        return store(ob, e);
    }
    ob->c.failed++;                         /* PERMANENT (or unknown) */
    if (e->rung + 1 < e->nchannels) {
        e->rung++;
        e->rung_fails = 0;
        e->next_ns = now_ns;
        ob->c.fallbacks++;
        return store(ob, e);
    }
    to_dead(ob, s, now_ns);
    return HUB_OK;
}

int outbox_release(struct outbox *ob, uint64_t key)
{
    struct slot *s = find_slot(ob, key);

    if (!s || !s->inflight)
        return HUB_EINVAL;
    s->inflight = 0;
    return HUB_OK;
}

int64_t outbox_next_due_ns(const struct outbox *ob, int64_t now_ns)
{
    int64_t best = INT64_MAX, t;
    size_t i;

    for (i = 0; i < ob->p.max_pending; i++) {
        const struct slot *s = &ob->slots[i];

        if (!s->used || s->inflight)
            continue;
        t = due_at(ob, s);
        if (s->e.created_ns + ob->p.max_age_ns < t)
            t = s->e.created_ns + ob->p.max_age_ns;
        if (t < now_ns)
            t = now_ns;
        if (t < best)
            best = t;
    }
    return best;
}

void outbox_counters(const struct outbox *ob, struct outbox_counters *c)
{
    *c = ob->c;
}

int outbox_get(const struct outbox *ob, uint64_t key, struct outbox_entry *out)
{
    const struct tomb *t;
    size_t i;

    for (i = 0; i < ob->p.max_pending; i++)
        if (ob->slots[i].used && ob->slots[i].e.key == key) {
            *out = ob->slots[i].e;
            return 1;
        }
    t = tomb_find(ob, key);
    if (!t)
        return 0;
    memset(out, 0, sizeof(*out));
    out->key = key;
    out->state = t->state;
    snprintf(out->provider_id, sizeof(out->provider_id), "%s", t->provider_id);
    return 1;
}
