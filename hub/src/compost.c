/* SPDX-License-Identifier: MIT */
/* compost.c - see compost.h. The glue: it may log and touch files; the
 * modules it drives (drum.c, tank.c, sfault.c) do neither. */
#include "compost.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "drum.h"
#include "hub_err.h"
#include "lineproto.h"
#include "log.h"
#include "sfault.h"
#include "tank.h"

#define MAX_OBJECTS   4096          /* drums + tanks tracked                */
#define MAX_SITES     256           /* sites whose ambient is remembered    */
#define STATE_LINE_MAX 16384        /* longest line of the state file       */
#define AMB_FRESH_NS  (INT64_C(3) * 3600 * 1000000000)  /* ambient older is ignored */
#define PROBE_FRESH_NS (INT64_C(3600) * 1000000000)

enum { P_CORE, P_MID, P_TOP, P_BOTTOM, NPROBES };
static const char *const probe_fields[NPROBES] = {
    "temp_core_c", "temp_mid_c", "temp_top_c", "temp_bottom_c"
};

struct obj {
    UT_hash_handle hh;
    char key[2 * HUB_NAME_MAX + 4];
    char site[HUB_NAME_MAX];
    char id[HUB_NAME_MAX];
    int is_tank;
    struct drum *d;
    struct tank *t;
    int64_t newest_ts;          /* newest reading or event time           */
    int64_t last_state_ts;      /* time of the last state point           */
    int dirty;                  /* touched since compost_after_message()  */
    int phase;                  /* cached after each advance              */
    int64_t last_turn_ns;
    double probe[NPROBES];      /* latest value per in-pile probe          */
    int64_t probe_ts[NPROBES];
    double own_amb;             /* the drum's temp_ambient_c               */
    int64_t own_amb_ts;
};

/* What compost keeps in a series (struct series.ext): its fault tracker,
 * and the drum or tank it belongs to, cached. The cache is trusted only
 * while gen matches the compost that filled it (a SIGHUP may free the
 * compost and make another). */
struct cseries {
    struct sfault *sf;
    struct obj *o;
    uint64_t gen;
};

struct site_amb {
    UT_hash_handle hh;
    char site[HUB_NAME_MAX];
    double t;
    int64_t ts;
};

struct compost {
    const struct hub_config *cfg;
    struct influx_out *out;
    struct drum_params dp;
    struct tank_params tp;
    struct sfault_params sp;
    struct tank_recipe recipes[8];
    size_t nrecipes;
    struct obj *objs;           /* uthash by key                          */
    size_t nobjs;
    struct obj *touched;        /* object of the current message          */
    struct site_amb *ambs;
    size_t nambs;
    int64_t state_interval_ns;
    hub_mono_ms next_save;
    uint64_t gen;               /* see struct cseries                     */
    struct compost_listener lis;
    struct compost_counters n;
    struct ratelog save_log;
    struct ratelog fault_log;
};

/* ---- configuration ---------------------------------------------------- */

static const struct tank_recipe *find_recipe(const struct compost *c, const char *name)
{
    for (size_t i = 0; i < c->nrecipes; i++)
        if (strcmp(c->recipes[i].name, name) == 0)
            return &c->recipes[i];
    return NULL;
}

static int drum_params_from(const struct hub_config *cfg, struct drum_params *p,
                            char *err, size_t errlen)
{
    enum sanit_standard std;

    drum_params_defaults(p);
    if (sanit_standard_parse(cfg->drums.sanitation_standard, &std) != HUB_OK) {
        snprintf(err, errlen, "drums.sanitation_standard: unknown standard '%s'",
                 cfg->drums.sanitation_standard);
        return HUB_EINVAL;
    }
    p->sanitation_standard = std;
    p->groundwater_temp_c = cfg->drums.groundwater_temp_c;
    p->thermo_on_c = cfg->drums.thermo_on_c;
    p->overheat_c = cfg->drums.overheat_c;
    p->too_dry_pct = cfg->drums.too_dry_pct;
    p->too_wet_pct = cfg->drums.too_wet_pct;
    p->maturity_delta_c = cfg->drums.maturity_delta_c;
    p->min_age_d = cfg->drums.min_age_d;
    return HUB_OK;
}

/* Geometry of tank 'id' from tanks.* and tanks.each. */
static int tank_geom_for(const struct hub_config *cfg, const char *id,
                         struct tank_geom *g, const char **recipe,
                         char *err, size_t errlen)
{
    const struct cfg_tank *e = NULL;
    char why[160];

    tank_geom_defaults(g);
    if (tank_shape_parse(cfg->tanks.shape, &g->shape) != HUB_OK) {
        snprintf(err, errlen, "tanks.shape: unknown shape '%s'", cfg->tanks.shape);
        return HUB_EINVAL;
    }
    g->diameter_cm = cfg->tanks.diameter_cm;
    g->length_cm = cfg->tanks.length_cm;
    g->width_cm = cfg->tanks.width_cm;
    g->height_cm = cfg->tanks.height_cm;
    g->sensor_height_cm = cfg->tanks.sensor_height_cm;
    g->ntable = 0;
    *recipe = cfg->tanks.recipe;
    for (size_t i = 0; id && i < cfg->tanks.neach; i++)
        if (strcmp(cfg->tanks.each[i].id, id) == 0)
            e = &cfg->tanks.each[i];
    if (e) {
        if (e->shape[0] && tank_shape_parse(e->shape, &g->shape) != HUB_OK) {
            snprintf(err, errlen, "tanks.each: tank '%s': unknown shape '%s'", e->id, e->shape);
            return HUB_EINVAL;
        }
#define OVR(f) if (!isnan(e->f)) g->f = e->f
        OVR(diameter_cm);
        OVR(length_cm);
        OVR(width_cm);
        OVR(height_cm);
        OVR(sensor_height_cm);
#undef OVR
        g->ntable = e->ntable < TANK_TABLE_MAX ? e->ntable : TANK_TABLE_MAX;
        for (size_t i = 0; i < g->ntable; i++) {
            g->table_level_cm[i] = e->table_level_cm[i];
            g->table_litres[i] = e->table_litres[i];
        }
        if (e->recipe[0])
            *recipe = e->recipe;
    }
    why[0] = '\0';
    if (tank_geom_check(g, why, sizeof(why)) != HUB_OK) {
        snprintf(err, errlen, "tank '%s': %s", id ? id : "(default)", why);
        return HUB_EINVAL;
    }
    return HUB_OK;
}

static int apply_cfg(struct compost *c, const struct hub_config *cfg, char *err, size_t errlen)
{
    struct drum_params dp;
    struct tank_geom g;
    const char *recipe;

    if (drum_params_from(cfg, &dp, err, errlen) != HUB_OK)
        return HUB_EINVAL;
    /* every configured geometry must be usable before anything changes */
    if (tank_geom_for(cfg, NULL, &g, &recipe, err, errlen) != HUB_OK)
        return HUB_EINVAL;
    for (size_t i = 0; i < cfg->tanks.neach; i++)
        if (tank_geom_for(cfg, cfg->tanks.each[i].id, &g, &recipe, err, errlen) != HUB_OK)
            return HUB_EINVAL;
    c->dp = dp;
    tank_params_defaults(&c->tp);
    sfault_params_defaults(&c->sp);
    /* the spike median needs the last few readings: widen its window to
     * cover two of the configured publishing intervals */
    if (c->sp.spike_window_min < 2.0 * cfg->compost.expected_interval_s / 60.0)
        c->sp.spike_window_min = 2.0 * cfg->compost.expected_interval_s / 60.0;
    c->cfg = cfg;
    c->state_interval_ns = (int64_t)(cfg->compost.state_interval_s
                                     ? cfg->compost.state_interval_s
                                     : cfg->stats.window_s) * INT64_C(1000000000);
    return HUB_OK;
}

/* ---- objects ---------------------------------------------------------- */

/* "d<site>/<id>" or "t<site>/<id>", cut to len (names are at most
 * HUB_NAME_MAX - 1 bytes, so it never is). On the hot path: no printf. */
static void make_key(char *key, size_t len, int is_tank, const char *site, const char *id)
{
    size_t ls = strnlen(site, HUB_NAME_MAX), li = strnlen(id, HUB_NAME_MAX);

    if (len < 3 || ls + li + 3 > len) {
        snprintf(key, len, "%c%s/%s", is_tank ? 't' : 'd', site, id);
        return;
    }
    key[0] = is_tank ? 't' : 'd';
    memcpy(key + 1, site, ls);
    key[1 + ls] = '/';
    memcpy(key + 2 + ls, id, li);
    key[2 + ls + li] = '\0';
}

static struct site_amb *site_ambient(struct compost *c, const char *site)
{
    struct site_amb *a = NULL;

    HASH_FIND_STR(c->ambs, site, a);
    return a;
}

static void free_obj(struct obj *o)
{
    drum_free(o->d);
    tank_free(o->t);
    free(o);
}

static struct obj *new_obj(struct compost *c, int is_tank, const char *site, const char *id)
{
    struct obj *o;

    if (c->nobjs >= MAX_OBJECTS) {
        c->n.objects_overflow++;
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    make_key(o->key, sizeof(o->key), is_tank, site, id);
    snprintf(o->site, sizeof(o->site), "%s", site);
    snprintf(o->id, sizeof(o->id), "%s", id);
    o->is_tank = is_tank;
    for (int i = 0; i < NPROBES; i++)
        o->probe[i] = NAN;
    o->own_amb = NAN;
    if (is_tank) {
        struct tank_geom g;
        const char *recipe;
        const struct tank_recipe *r;
        char err[200];

        if (tank_geom_for(c->cfg, id, &g, &recipe, err, sizeof(err)) != HUB_OK) {
            LOG_ERROR("compost", "%s", err);  /* checked at load: cannot happen */
            free(o);
            return NULL;
        }
        r = find_recipe(c, recipe);
        o->t = tank_new(id, &g, &c->tp, r ? r : &c->recipes[0]);
        if (!o->t) {
            free(o);
            return NULL;
        }
        c->n.tanks++;
    } else {
        struct site_amb *a;

        o->d = drum_new(id, &c->dp);
        if (!o->d) {
            free(o);
            return NULL;
        }
        a = site_ambient(c, site);
        if (a)
            drum_on_site_ambient(o->d, a->t, a->ts);
        c->n.drums++;
    }
    HASH_ADD_STR(c->objs, key, o);
    c->nobjs++;
    return o;
}

static struct obj *get_obj(struct compost *c, int is_tank, const char *site,
                           const char *id, int create)
{
    char key[2 * HUB_NAME_MAX + 4];
    struct obj *o = NULL;

    if (c->touched && c->touched->is_tank == is_tank &&
        strcmp(c->touched->site, site) == 0 && strcmp(c->touched->id, id) == 0)
        return c->touched;
    make_key(key, sizeof(key), is_tank, site, id);
    HASH_FIND_STR(c->objs, key, o);
    if (!o && create)
        o = new_obj(c, is_tank, site, id);
    return o;
}

static int probe_index(const char *field)
{
    for (int i = 0; i < NPROBES; i++)
        if (strcmp(field, probe_fields[i]) == 0)
            return i;
    return -1;
}

/* ---- points ----------------------------------------------------------- */

static void field_num(struct lp_line *l, const char *name, double v)
{
    if (isfinite(v))
        lp_field_float(l, name, v);
}

static int commit(struct compost *c, struct lp_line *l, int64_t ts, hub_mono_ms now)
{
    if (lp_end(l, ts) != HUB_OK)
        return 0;
    influx_out_commit(c->out, 1, now);
    return 1;
}

static void flag_names(unsigned flags, char *out, size_t len)
{
    static const struct { unsigned bit; const char *name; } f[] = {
        { DRUM_F_TOO_DRY, "TOO_DRY" }, { DRUM_F_TOO_WET, "TOO_WET" },
        { DRUM_F_ANAEROBIC, "ANAEROBIC" }, { DRUM_F_OVERHEAT, "OVERHEAT" },
        { DRUM_F_SENSOR_DEGRADED, "SENSOR_DEGRADED" },
    };
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!(flags & f[i].bit))
            continue;
        int w = snprintf(out + used, len - used, "%s%s", used ? "," : "", f[i].name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

static void write_drum_state(struct compost *c, struct obj *o, int64_t ts, hub_mono_ms now)
{
    struct drum_metrics m;
    struct lp_line l;
    struct buf *b;
    char flags[96];

    drum_get(o->d, &m);
    b = influx_out_open(c->out, now);
    if (!b)
        return;
    lp_begin(&l, b, "drum_state");
    lp_tag(&l, "batch", m.batch[0] ? m.batch : "-");
    lp_tag(&l, "id", o->id);
    lp_tag(&l, "site", o->site);
    lp_field_str(&l, "phase", drum_phase_name(m.phase));
    lp_field_int(&l, "phase_code", (int64_t)m.phase);
    field_num(&l, "phase_age_d", m.phase_age_d);
    lp_field_int(&l, "flags", (int64_t)m.flags);
    flag_names(m.flags, flags, sizeof(flags));
    lp_field_str(&l, "flag_names", flags);
    lp_field_bool(&l, "overheat", (m.flags & DRUM_F_OVERHEAT) != 0);
    lp_field_bool(&l, "too_dry", (m.flags & DRUM_F_TOO_DRY) != 0);
    lp_field_bool(&l, "too_wet", (m.flags & DRUM_F_TOO_WET) != 0);
    lp_field_bool(&l, "anaerobic", (m.flags & DRUM_F_ANAEROBIC) != 0);
    lp_field_bool(&l, "sensor_degraded", (m.flags & DRUM_F_SENSOR_DEGRADED) != 0);
    field_num(&l, "t_core_c", m.t_core_c);
    field_num(&l, "t_min_probe_c", m.t_min_probe_c);
    field_num(&l, "t_max_probe_c", m.t_max_probe_c);
    field_num(&l, "t_strat_c", m.t_strat_c);
    field_num(&l, "t_amb_c", m.t_amb_c);
    field_num(&l, "delta_t_c", m.delta_t_c);
    field_num(&l, "hours_ge_40", m.hours_ge_40);
    field_num(&l, "hours_ge_55", m.hours_ge_55);
    field_num(&l, "hours_ge_65", m.hours_ge_65);
    field_num(&l, "run_ge_55_longest_h", m.run_ge_55_longest_h);
    field_num(&l, "run_ge_55_current_h", m.run_ge_55_current_h);
    lp_field_str(&l, "pfrp_status", sanit_status_name(m.sanit));
    field_num(&l, "degree_days", m.degree_days);
    field_num(&l, "days_at_ambient", m.days_at_ambient);
    field_num(&l, "batch_age_d", m.batch_age_d);
    lp_field_int(&l, "turns", (int64_t)m.turns);
    field_num(&l, "peak_t_core_c", m.peak_t_core_c);
    field_num(&l, "moisture_pct", m.moisture_pct);
    field_num(&l, "mass_loss_pct", m.mass_loss_pct);
    field_num(&l, "maturity_score", m.maturity_score);
    field_num(&l, "score_days_at_ambient", m.score_parts[0]);
    field_num(&l, "score_reheat", m.score_parts[1]);
    field_num(&l, "score_age", m.score_parts[2]);
    field_num(&l, "score_moisture", m.score_parts[3]);
    field_num(&l, "score_mass_loss", m.score_parts[4]);
    field_num(&l, "score_core_vs_ambient", m.score_parts[5]);
    field_num(&l, "est_days_to_mature", m.est_days_to_mature);
    lp_field_str(&l, "est_method", m.est_method);
    lp_field_int(&l, "valid_probes", (int64_t)m.valid_probes);
    if (m.mature_at_ns > 0)
        lp_field_int(&l, "mature_at_ms", m.mature_at_ns / 1000000);
    if (commit(c, &l, ts, now))
        c->n.state_points++;
}

static void write_tank_state(struct compost *c, struct obj *o, int64_t ts, hub_mono_ms now)
{
    struct tank_metrics m;
    struct lp_line l;
    struct buf *b;

    tank_get(o->t, &m);
    b = influx_out_open(c->out, now);
    if (!b)
        return;
    lp_begin(&l, b, "tank_state");
    lp_tag(&l, "batch", m.batch[0] ? m.batch : "-");
    lp_tag(&l, "id", o->id);
    lp_tag(&l, "site", o->site);
    lp_field_str(&l, "phase", tank_phase_name(m.phase));
    lp_field_int(&l, "phase_code", (int64_t)m.phase);
    lp_field_str(&l, "recipe", m.recipe);
    field_num(&l, "level_cm", m.level_cm);
    field_num(&l, "volume_l", m.volume_l);
    field_num(&l, "volume_l_smoothed", m.volume_l_smoothed);
    field_num(&l, "capacity_l", m.capacity_l);
    field_num(&l, "fill_pct", m.fill_pct);
    field_num(&l, "litres_filled_total", m.litres_filled_total);
    field_num(&l, "litres_drawn_total", m.litres_drawn_total);
    field_num(&l, "draw_l_per_day", m.draw_l_per_day);
    field_num(&l, "net_drift_l_per_day", m.net_drift_l_per_day);
    lp_field_int(&l, "fill_events", (int64_t)m.fill_events);
    lp_field_int(&l, "draw_events", (int64_t)m.draw_events);
    field_num(&l, "ph", m.ph);
    field_num(&l, "ph_min_batch", m.ph_min_batch);
    field_num(&l, "ph_slope_per_day", m.ph_slope_per_day);
    field_num(&l, "ec25_ms_cm", m.ec25_ms_cm);
    field_num(&l, "t_liquid_c", m.t_liquid_c);
    field_num(&l, "batch_age_d", m.batch_age_d);
    lp_field_bool(&l, "ph_in_spec", m.ph_in_spec != 0);
    lp_field_bool(&l, "fermentation_done", m.fermentation_done != 0);
    if (commit(c, &l, ts, now))
        c->n.state_points++;
}

static void write_drum_batch(struct compost *c, struct obj *o, const struct drum_batch *bt,
                             hub_mono_ms now)
{
    struct lp_line l;
    struct buf *b = influx_out_open(c->out, now);

    if (!b)
        return;
    lp_begin(&l, b, "batch");
    lp_tag(&l, "batch", bt->batch[0] ? bt->batch : "-");
    lp_tag(&l, "id", o->id);
    lp_tag(&l, "kind", "drum");
    lp_tag(&l, "site", o->site);
    field_num(&l, "input_mass_kg", bt->input_mass_kg);
    field_num(&l, "output_mass_kg", bt->output_mass_kg);
    field_num(&l, "yield_pct", bt->yield_pct);
    field_num(&l, "cycle_days", bt->cycle_days);
    field_num(&l, "peak_t_core_c", bt->peak_t_core_c);
    lp_field_str(&l, "pfrp_status", sanit_status_name(bt->sanit));
    lp_field_int(&l, "start_ms", bt->start_ns / 1000000);
    if (commit(c, &l, bt->end_ns > 0 ? bt->end_ns : o->newest_ts, now))
        c->n.batches++;
    LOG_INFO("compost", "drum %s/%s: batch %s harvested after %.1f days, %.1f kg in, %.1f kg out",
             o->site, o->id, bt->batch[0] ? bt->batch : "-", bt->cycle_days,
             bt->input_mass_kg, bt->output_mass_kg);
}

static void write_tank_batch(struct compost *c, struct obj *o, const struct tank_batch *bt,
                             hub_mono_ms now)
{
    struct lp_line l;
    struct buf *b = influx_out_open(c->out, now);

    if (!b)
        return;
    lp_begin(&l, b, "batch");
    lp_tag(&l, "batch", bt->batch[0] ? bt->batch : "-");
    lp_tag(&l, "id", o->id);
    lp_tag(&l, "kind", "tank");
    lp_tag(&l, "site", o->site);
    lp_field_str(&l, "recipe", bt->recipe);
    field_num(&l, "batch_volume_l", bt->batch_volume_l);
    field_num(&l, "harvestable_l", bt->harvestable_l);
    field_num(&l, "litres_dispensed", bt->litres_dispensed);
    field_num(&l, "cycle_days", bt->cycle_days);
    field_num(&l, "process_loss_l", bt->process_loss_l);
    field_num(&l, "spray_equivalent_l", bt->spray_equivalent_l);
    lp_field_bool(&l, "spoiled", bt->spoiled != 0);
    lp_field_int(&l, "start_ms", bt->start_ns / 1000000);
    if (commit(c, &l, bt->end_ns > 0 ? bt->end_ns : o->newest_ts, now))
        c->n.batches++;
}

static void write_series_fault(struct compost *c, const struct series *s, double v,
                               int64_t ts, const char *reason, hub_mono_ms now)
{
    struct lp_line l;
    struct buf *b = influx_out_open(c->out, now);

    if (!b)
        return;
    lp_begin(&l, b, "sensor_fault");
    lp_tag(&l, "field", s->field);
    lp_tag(&l, "id", s->id);
    lp_tag(&l, "kind", s->kind);
    lp_tag(&l, "reason", reason);
    lp_tag(&l, "site", s->site);
    if (isfinite(v))
        lp_field_float(&l, "value", v);
    else
        lp_field_bool(&l, "seen", 1);
    if (commit(c, &l, ts, now))
        c->n.series_faults++;
}

/* ---- the state file --------------------------------------------------- */

/* Names in the state file: bytes <= ' ', '%' and 0x7f become %XX. */
static void enc_name(const char *in, char *out, size_t len)
{
    size_t o = 0;

    for (; *in && o + 4 < len; in++) {
        unsigned char ch = (unsigned char)*in;

        if (ch <= ' ' || ch == '%' || ch == 0x7f)
            o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static int dec_name(const char *in, size_t n, char *out, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)in[i];

        if (ch == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return -1;
            hi = hexval((unsigned char)in[i + 1]);
            lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || o + 1 >= len)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

static void load_line(struct compost *c, char *line)
{
    char site[HUB_NAME_MAX], id[HUB_NAME_MAX];
    char *p1, *p2, *p3;
    struct obj *o;
    int is_tank, rc;

    p1 = strchr(line, ' ');
    if (!p1)
        goto bad;
    *p1++ = '\0';
    if (strcmp(line, "drum") == 0)
        is_tank = 0;
    else if (strcmp(line, "tank") == 0)
        is_tank = 1;
    else
        goto bad;
    p2 = strchr(p1, ' ');
    if (!p2)
        goto bad;
    p3 = strchr(p2 + 1, ' ');
    if (!p3)
        goto bad;
    if (dec_name(p1, (size_t)(p2 - p1), site, sizeof(site)) != 0 ||
        dec_name(p2 + 1, (size_t)(p3 - p2 - 1), id, sizeof(id)) != 0)
        goto bad;
    o = get_obj(c, is_tank, site, id, 1);
    if (!o)
        goto bad;
    rc = is_tank ? tank_load(o->t, p3 + 1) : drum_load(o->d, p3 + 1);
    if (rc == HUB_OK && !is_tank) {
        struct drum_metrics m;

        drum_get(o->d, &m);
        o->phase = (int)m.phase;
        o->last_turn_ns = m.last_turn_ns;
    } else if (rc == HUB_OK) {
        struct tank_metrics m;

        tank_get(o->t, &m);
        o->phase = (int)m.phase;
    }
    if (rc != HUB_OK)
        goto bad;
    c->n.state_loaded++;
    return;
bad:
    c->n.state_bad_lines++;
}

static void load_state(struct compost *c)
{
    const char *path = c->cfg->compost.state_file;
    char *line;
    FILE *f;
    unsigned long lineno = 0;

    if (!path || !path[0])
        return;
    f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            LOG_ERROR("compost", "cannot read the state file %s: %s; drums and tanks start afresh",
                      path, strerror(errno));
        return;
    }
    line = malloc(STATE_LINE_MAX);
    if (!line) {
        fclose(f);
        return;
    }
    while (fgets(line, STATE_LINE_MAX, f)) {
        size_t n = strlen(line);

        lineno++;
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        else if (!feof(f)) {    /* too long: skip the rest of it */
            int ch;

            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            c->n.state_bad_lines++;
            continue;
        }
        if (n == 0 || line[0] == '#')
            continue;
        load_line(c, line);
    }
    free(line);
    fclose(f);
    c->touched = NULL;
    LOG_INFO("compost", "state file %s: %llu drums and tanks restored%s", path,
             (unsigned long long)c->n.state_loaded,
             c->n.state_bad_lines ? " (some lines were damaged and skipped)" : "");
    if (c->n.state_bad_lines)
        LOG_WARN("compost", "state file %s: %llu damaged line(s) of %lu skipped", path,
                 (unsigned long long)c->n.state_bad_lines, lineno);
}

static int save_state(struct compost *c, char *err, size_t errlen)
{
    const char *path = c->cfg->compost.state_file;
    char tmp[4096], site[HUB_NAME_MAX * 3], id[HUB_NAME_MAX * 3];
    char *text;
    struct obj *o, *t;
    FILE *f;
    int fd, ok = 1;

    if (!path || !path[0])
        return HUB_OK;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "state file path too long");
        return HUB_EIO;
    }
    text = malloc(STATE_LINE_MAX);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return HUB_EIO;
    }
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(text);
        return HUB_EIO;
    }
    fputs("# kompos-hub compost state v1: kind site id state (do not edit while the hub runs)\n", f);
    HASH_ITER(hh, c->objs, o, t) {
        int rc = o->is_tank ? tank_save(o->t, text, STATE_LINE_MAX)
                            : drum_save(o->d, text, STATE_LINE_MAX);

        if (rc < 0)
            continue;
        enc_name(o->site, site, sizeof(site));
        enc_name(o->id, id, sizeof(id));
        if (fprintf(f, "%s %s %s %s\n", o->is_tank ? "tank" : "drum", site, id, text) < 0)
            ok = 0;
    }
    free(text);
    if (fflush(f) != 0)
        ok = 0;
    fd = fileno(f);
    if (ok && fsync(fd) != 0)
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", ok ? path : tmp, strerror(errno));
        unlink(tmp);
        return HUB_EIO;
    }
    /* make the rename itself durable */
    {
        char dir[4096];
        char *slash;

        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        if (slash) {
            if (slash == dir)
                slash[1] = '\0';
            else
                *slash = '\0';
            fd = open(dir, O_RDONLY | O_DIRECTORY);
            if (fd >= 0) {
                (void)fsync(fd);
                close(fd);
            }
        }
    }
    return HUB_OK;
}

/* ---- public ------------------------------------------------------------ */

struct compost *compost_new(const struct hub_config *cfg, struct influx_out *out,
                            char *err, size_t errlen)
{
    struct compost *c = calloc(1, sizeof(*c));

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static uint64_t generations;

    c->gen = ++generations;
    c->out = out;
    c->nrecipes = tank_recipes_builtin(c->recipes, sizeof(c->recipes) / sizeof(c->recipes[0]));
    if (c->nrecipes == 0 || apply_cfg(c, cfg, err, errlen) != HUB_OK) {
        if (c->nrecipes == 0)
            snprintf(err, errlen, "no tank recipes");
        free(c);
        return NULL;
    }
    c->save_log.interval_ms = 600000;
    c->fault_log.interval_ms = 10000;
    load_state(c);
    return c;
}

void compost_free(struct compost *c)
{
    struct obj *o, *t;
    struct site_amb *a, *ta;

    if (!c)
        return;
    HASH_ITER(hh, c->objs, o, t) {
        HASH_DEL(c->objs, o);
        free_obj(o);
    }
    HASH_ITER(hh, c->ambs, a, ta) {
        HASH_DEL(c->ambs, a);
        free(a);
    }
    free(c);
}

int compost_reconfigure(struct compost *c, const struct hub_config *cfg,
                        char *err, size_t errlen)
{
    struct obj *o, *t;

    if (apply_cfg(c, cfg, err, errlen) != HUB_OK)
        return HUB_EINVAL;
    HASH_ITER(hh, c->objs, o, t) {
        if (o->is_tank) {
            struct tank_geom g;
            const char *recipe;

            if (tank_geom_for(cfg, o->id, &g, &recipe, err, errlen) == HUB_OK)
                tank_set_config(o->t, &g, &c->tp);
        } else {
            drum_set_params(o->d, &c->dp);
        }
    }
    return HUB_OK;
}

static void free_cseries(void *p)
{
    struct cseries *cs = p;

    sfault_free(cs->sf);
    free(cs);
}

/* The drum or tank of series s, from its cache or a lookup. */
static struct obj *series_obj(struct compost *c, const struct series *s, int is_tank)
{
    struct cseries *cs = s->ext;
    struct obj *o;

    if (cs && cs->gen == c->gen && cs->o)
        return cs->o;
    o = get_obj(c, is_tank, s->site, s->id, 1);
    if (cs && o) {
        cs->o = o;
        cs->gen = c->gen;
    }
    return o;
}

/* Context for the series checks of s (a drum probe needs ambient, phase,
 * last turn and the other probes). Returns the drum object, if any. */
static struct obj *check_ctx(struct compost *c, const struct series *s, int64_t ts_ns,
                             struct sfault_ctx *ctx)
{
    struct obj *o;
    struct site_amb *a;
    int pi;
    double sum = 0.0;
    int n = 0;

    ctx->t_amb_c = NAN;
    ctx->thermophilic = 0;
    ctx->last_turn_ns = 0;
    ctx->others_mean_c = NAN;
    if (strcmp(s->kind, "drum") != 0)
        return NULL;
    o = series_obj(c, s, 0);
    if (!o)
        return NULL;
    a = site_ambient(c, s->site);
    if (a && ts_ns - a->ts < AMB_FRESH_NS)
        ctx->t_amb_c = a->t;
    else if (!isnan(o->own_amb) && ts_ns - o->own_amb_ts < AMB_FRESH_NS)
        ctx->t_amb_c = o->own_amb;
    ctx->thermophilic = o->phase == DRUM_THERMOPHILIC;
    ctx->last_turn_ns = o->last_turn_ns;
    pi = probe_index(s->field);
    for (int i = 0; i < NPROBES; i++) {
        if (i == pi || isnan(o->probe[i]) || ts_ns - o->probe_ts[i] > PROBE_FRESH_NS)
            continue;
        sum += o->probe[i];
        n++;
    }
    if (n)
        ctx->others_mean_c = sum / n;
    return o;
}

/* A reading of the clean series: into the drum, tank or site ambient. */
static void deliver(struct compost *c, const struct series *s, double v, int64_t ts_ns,
                    int suspect)
{
    struct obj *o;

    if (strcmp(s->kind, "site") == 0) {
        struct site_amb *a;
        struct obj *t, *x;

        if (strcmp(s->field, "temp_ambient_c") != 0 || suspect)
            return;
        a = site_ambient(c, s->site);
        if (!a) {
            if (c->nambs >= MAX_SITES)
                return;
            a = calloc(1, sizeof(*a));
            if (!a)
                return;
            snprintf(a->site, sizeof(a->site), "%s", s->site);
            HASH_ADD_STR(c->ambs, site, a);
            c->nambs++;
        } else if (ts_ns < a->ts) {
            return;
        }
        a->t = v;
        a->ts = ts_ns;
        HASH_ITER(hh, c->objs, x, t) {
            if (!x->is_tank && strcmp(x->site, s->site) == 0)
                drum_on_site_ambient(x->d, v, ts_ns);
        }
        return;
    }
    if (strcmp(s->kind, "drum") == 0) {
        int pi;

        o = series_obj(c, s, 0);
        if (!o)
            return;
        pi = probe_index(s->field);
        if (pi >= 0 && ts_ns >= o->probe_ts[pi] && !suspect) {
            o->probe[pi] = v;
            o->probe_ts[pi] = ts_ns;
        } else if (strcmp(s->field, "temp_ambient_c") == 0 && ts_ns >= o->own_amb_ts) {
            o->own_amb = v;
            o->own_amb_ts = ts_ns;
        }
        drum_on_reading(o->d, s->field, v, ts_ns, suspect);
    } else if (strcmp(s->kind, "tank") == 0) {
        o = series_obj(c, s, 1);
        if (!o)
            return;
        tank_on_reading(o->t, s->field, v, ts_ns, suspect);
    } else {
        return;
    }
    if (ts_ns > o->newest_ts)
        o->newest_ts = ts_ns;
    o->dirty = 1;
    c->touched = o;
}

static void verdict(struct compost *c, struct series *s, struct sfault *sf, double v,
                    int64_t ts_ns, enum sfault_reason r, hub_mono_ms now)
{
    uint64_t held = 0;

    if (r == SF_OK) {
        deliver(c, s, v, ts_ns, sfault_suspect(sf));
        return;
    }
    if (r == SF_PENDING)
        return;
    write_series_fault(c, s, v, ts_ns, sfault_reason_name(r), now);
    if (ratelog_due(&c->fault_log, now, &held))
        LOG_WARN("compost", "%s %s/%s/%s: %g is a %s: kept out of the state machines%s",
                 s->site, s->kind, s->id, s->field, v, sfault_reason_name(r),
                 held ? "; similar lines were held back" : "");
}

/* Released readings first (they are older), then the flags. */
static void drain(struct compost *c, struct series *s, struct sfault *sf, double v,
                  int64_t ts_ns, hub_mono_ms now)
{
    double rv;
    int64_t rts;
    enum sfault_reason r;
    unsigned raised;

    while (sfault_take_released(sf, &rv, &rts, &r))
        verdict(c, s, sf, rv, rts, r, now);
    raised = sfault_take_raised(sf);
    for (unsigned bit = 1; raised && bit < 32; bit++) {
        if (!(raised & (1u << bit)))
            continue;
        if (bit == SF_STALE)
            continue;   /* written by compost_check_stale() */
        write_series_fault(c, s, v, ts_ns, sfault_reason_name((enum sfault_reason)bit), now);
        if (c->lis.flag)
            c->lis.flag(c->lis.ctx, s, sfault_reason_name((enum sfault_reason)bit), ts_ns);
        LOG_WARN("compost", "%s %s/%s/%s: flagged %s: it no longer drives a phase change "
                 "on its own", s->site, s->kind, s->id, s->field,
                 sfault_reason_name((enum sfault_reason)bit));
    }
    (void)sfault_take_cleared(sf);
}

void compost_feed(struct compost *c, struct series *s, double v, int64_t ts_ns,
                  hub_mono_ms now)
{
    struct sfault_ctx ctx;
    struct cseries *cs = s->ext;
    struct sfault *sf;
    enum sfault_reason r;

    if (!cs) {
        cs = calloc(1, sizeof(*cs));
        if (cs)
            cs->sf = sfault_new(s->kind, s->field, &c->sp);
        if (!cs || !cs->sf) {   /* no memory: the state machines get it unchecked */
            free(cs);
            deliver(c, s, v, ts_ns, 0);
            return;
        }
        s->ext = cs;
        s->ext_free = free_cseries;
    }
    sf = cs->sf;
    check_ctx(c, s, ts_ns, &ctx);
    r = sfault_feed(sf, v, ts_ns, &ctx);
    drain(c, s, sf, v, ts_ns, now);
    verdict(c, s, sf, v, ts_ns, r, now);
}

static const char *text_of(const struct message *m, const char *name)
{
    for (size_t i = 0; i < m->ntexts; i++)
        if (strcmp(m->texts[i].name, name) == 0)
            return m->texts[i].value;
    return "";
}

static double num_of(const struct message *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return m->fields[i].value;
    return NAN;
}

void compost_on_event(struct compost *c, const struct message *m, int64_t ts_ns)
{
    struct obj *o;
    int is_tank;

    if (strcmp(m->kind, "drum") == 0)
        is_tank = 0;
    else if (strcmp(m->kind, "tank") == 0)
        is_tank = 1;
    else
        return;
    o = get_obj(c, is_tank, m->site, m->id, 1);
    if (!o)
        return;
    if (is_tank) {
        const char *recipe = text_of(m, "recipe");

        if (recipe[0]) {
            const struct tank_recipe *r = find_recipe(c, recipe);

            if (r)
                tank_set_recipe(o->t, r);
            else
                LOG_WARN("compost", "tank %s/%s: unknown recipe '%s' in a %s event; "
                         "the tank keeps its recipe", m->site, m->id, recipe, m->event);
        }
        if (strcmp(m->event, "recipe") != 0)
            tank_on_event(o->t, m->event, text_of(m, "batch"), num_of(m, "litres"), ts_ns);
    } else {
        if (strcmp(m->event, "turn") == 0)
            o->last_turn_ns = ts_ns;
        drum_on_event(o->d, m->event, text_of(m, "batch"), num_of(m, "mass_kg"), ts_ns);
    }
    if (ts_ns > o->newest_ts)
        o->newest_ts = ts_ns;
    o->dirty = 1;
    c->touched = o;
}

void compost_after_message(struct compost *c, hub_mono_ms now)
{
    struct obj *o = c->touched;
    int changed;
    int64_t ts;

    if (!o || !o->dirty)
        return;
    o->dirty = 0;
    ts = o->newest_ts;
    if (o->is_tank) {
        struct tank_batch tb;
        struct tank_metrics tm;

        changed = tank_advance(o->t, ts);
        while (tank_take_batch(o->t, &tb))
            write_tank_batch(c, o, &tb, now);
        if (changed || c->lis.tank)
            tank_get(o->t, &tm);
        if (c->lis.tank)
            c->lis.tank(c->lis.ctx, o->site, o->id, &tm, ts);
        if (changed) {
            if ((int)tm.phase != o->phase)
                LOG_INFO("compost", "tank %s/%s: %s -> %s", o->site, o->id,
                         tank_phase_name((enum tank_phase)o->phase), tank_phase_name(tm.phase));
            o->phase = (int)tm.phase;
        }
    } else {
        struct drum_batch db;
        struct drum_metrics dm;

        changed = drum_advance(o->d, ts);
        while (drum_take_batch(o->d, &db))
            write_drum_batch(c, o, &db, now);
        if (changed || c->lis.drum)
            drum_get(o->d, &dm);
        if (c->lis.drum)
            c->lis.drum(c->lis.ctx, o->site, o->id, &dm, ts);
        if (changed) {
            if ((int)dm.phase != o->phase)
                LOG_INFO("compost", "drum %s/%s: %s -> %s", o->site, o->id,
                         drum_phase_name((enum drum_phase)o->phase), drum_phase_name(dm.phase));
            o->phase = (int)dm.phase;
        }
    }
    if (changed)
        c->n.phase_changes++;
    if (!changed && o->last_state_ts && ts - o->last_state_ts < c->state_interval_ns)
        return;
    if (ts <= o->last_state_ts)
        ts = o->last_state_ts + 1;
    o->last_state_ts = ts;
    if (o->is_tank)
        write_tank_state(c, o, ts, now);
    else
        write_drum_state(c, o, ts, now);
}

void compost_check_stale(struct compost *c, struct series *s, hub_real_ns wall,
                         hub_mono_ms now)
{
    struct cseries *cs = s->ext;
    struct sfault *sf = cs ? cs->sf : NULL;
    int64_t expect_ms = (int64_t)c->cfg->compost.expected_interval_s * 1000;

    if (!sf || s->last_rx_wall_ns == 0)
        return;
    if (sfault_check_stale(sf, wall / 1000000, s->last_rx_wall_ns / 1000000, expect_ms)) {
        double rv;
        int64_t rts;
        enum sfault_reason r;

        while (sfault_take_released(sf, &rv, &rts, &r))
            verdict(c, s, sf, rv, rts, r, now);
        int64_t ts = wall > s->last_fault_ts_ns ? wall : s->last_fault_ts_ns + 1;

        s->last_fault_ts_ns = ts;
        write_series_fault(c, s, NAN, ts, "stale", now);
        LOG_WARN("compost", "%s %s/%s/%s: no reading for %d s (stale)", s->site, s->kind,
                 s->id, s->field, 3 * c->cfg->compost.expected_interval_s);
    }
}

int compost_save_due(struct compost *c, hub_mono_ms now, int force, char *err, size_t errlen)
{
    int rc;

    if (!force && c->next_save && now < c->next_save)
        return HUB_OK;
    c->next_save = now + (hub_mono_ms)c->cfg->compost.save_interval_s * 1000;
    if (!c->next_save || (!force && c->nobjs == 0))
        return HUB_OK;
    rc = save_state(c, err, errlen);
    if (rc == HUB_OK)
        c->n.state_saves++;
    else
        c->n.state_save_errors++;
    return rc;
}

void compost_set_listener(struct compost *c, const struct compost_listener *l)
{
    if (l)
        c->lis = *l;
    else
        memset(&c->lis, 0, sizeof(c->lis));
}

void compost_get_counters(const struct compost *c, struct compost_counters *out)
{
    *out = c->n;
}

void compost_foreach_drum(const struct compost *c,
                          void (*fn)(const char *site, const char *id,
                                     const struct drum_metrics *m, void *ctx),
                          void *ctx)
{
    const struct obj *o;

    for (o = c->objs; o; o = o->hh.next) {
        struct drum_metrics m;

        if (o->is_tank)
            continue;
        drum_get(o->d, &m);
        fn(o->site, o->id, &m, ctx);
    }
}

void compost_foreach_tank(const struct compost *c,
                          void (*fn)(const char *site, const char *id,
                                     const struct tank_metrics *m, void *ctx),
                          void *ctx)
{
    const struct obj *o;

    for (o = c->objs; o; o = o->hh.next) {
        struct tank_metrics m;

        if (!o->is_tank)
            continue;
        tank_get(o->t, &m);
        fn(o->site, o->id, &m, ctx);
    }
}
