/* SPDX-License-Identifier: MIT */
/* msgtext.c - alert texts in Bahasa Indonesia / English and SMS arithmetic
 * (pure; see msgtext.h). The built-in templates are plain ASCII: no degree
 * sign, no curly quotes, so they fit GSM-7 as they are. */
#include "msgtext.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hub_err.h"

#define TMPL_MAX 512

/* ---- templates ------------------------------------------------------------ */

struct tmpl {
    const char *key;
    const char *what_id, *what_en;      /* short phrase for grouped texts */
    const char *fire_id, *fire_en;      /* NULL: generic */
    const char *res_id, *res_en;        /* NULL: generic */
};

#define OKID " (OK {id_alert})"
#define NOID " ({id_alert})"

static const struct tmpl generic = {
    "", "", "",
    "{sev}{kind_label} {id}: {rule} {value_unit} sejak {duration}. "
    "Periksa di lokasi." OKID,
    "{sev}{kind_label} {id}: {rule} {value_unit} for {duration}. "
    "Please check on site." OKID,
    "{kind_label} {id} sudah normal lagi: {value_unit}." NOID,
    "{kind_label} {id} is back to normal: {value_unit}." NOID,
};

static const char nodata_id[] =
    "{kind_label} {id}: tidak ada data {field_label} sejak {nodata_min} menit. "
    "Periksa sensor, kabel dan listrik." OKID;
static const char nodata_en[] =
    "{kind_label} {id}: no {field_label} data for {nodata_min} min. "
    "Check the sensor, cable and power." OKID;
static const char nodata_end_id[] =
    "{kind_label} {id}: data {field_label} masuk lagi." NOID;
static const char nodata_end_en[] =
    "{kind_label} {id}: {field_label} data is arriving again." NOID;

static const struct tmpl builtins[] = {
    { "DRUM_OVERHEAT", "terlalu panas", "too hot",
      "{sev}{kind_label} {id} terlalu panas: {value_unit} sejak {duration}. "
      "Balik dan siram drum." OKID,
      "{sev}{kind_label} {id} is too hot: {value_unit} for {duration}. "
      "Turn and water the drum." OKID, NULL, NULL },
    { "DRUM_NOT_HEATING", "tidak panas", "not heating",
      "{kind_label} {id} tidak panas (kompos macet). Tambah bahan hijau atau "
      "pupuk kandang, siram bila kering, lalu balik." OKID,
      "{kind_label} {id} is not heating up (stalled). Add green material or "
      "manure, water if dry, then turn." OKID,
      "{kind_label} {id} sudah mulai panas lagi." NOID,
      "{kind_label} {id} is heating up again." NOID },
    { "DRUM_TOO_DRY", "terlalu kering", "too dry",
      "{sev}{kind_label} {id} terlalu kering: kelembapan {value_unit} sejak "
      "{duration}. Siram sambil dibalik sampai lembap (40-60%)." OKID,
      "{sev}{kind_label} {id} is too dry: moisture {value_unit} for "
      "{duration}. Water while turning until damp (40-60%)." OKID,
      "{kind_label} {id} sudah cukup lembap lagi: {value_unit}." NOID,
      "{kind_label} {id} is moist enough again: {value_unit}." NOID },
    { "DRUM_TOO_WET", "terlalu basah", "too wet",
      "{sev}{kind_label} {id} terlalu basah: kelembapan {value_unit} sejak "
      "{duration}. Tambah daun kering, balik, dan lindungi dari hujan." OKID,
      "{sev}{kind_label} {id} is too wet: moisture {value_unit} for "
      "{duration}. Add dry leaves, turn, and keep the rain off." OKID,
      NULL, NULL },
    { "DRUM_LOW_O2", "kurang udara", "short of air",
      "{sev}{kind_label} {id} kurang udara: oksigen {value_unit}. "
      "Balik drum sekarang." OKID,
      "{sev}{kind_label} {id} is short of air: oxygen {value_unit}. "
      "Turn the drum now." OKID, NULL, NULL },
    { "DRUM_HIGH_CO2", "CO2 tinggi", "high CO2",
      "{sev}{kind_label} {id} kurang udara: CO2 {value_unit} sejak "
      "{duration}. Balik drum." OKID,
      "{sev}{kind_label} {id} is short of air: CO2 {value_unit} for "
      "{duration}. Turn the drum." OKID, NULL, NULL },
    { "DRUM_TURN_DUE", "perlu dibalik", "needs turning",
      "{kind_label} {id} perlu dibalik: suhu {value_unit}. "
      "Balik drum hari ini." OKID,
      "{kind_label} {id} needs turning: {value_unit}. Turn the drum today."
      OKID, NULL, NULL },
    { "DRUM_SANITISATION_ACHIEVED", "bebas kuman", "sanitised",
      "{kind_label} {id}: kompos sudah cukup lama panas, kuman sudah mati. "
      "Tidak perlu tindakan." NOID,
      "{kind_label} {id}: the compost stayed hot long enough to kill "
      "pathogens. No action needed." NOID, NULL, NULL },
    { "DRUM_SANITISATION_NOT_DEMONSTRATED", "panas kurang lama",
      "not hot long enough",
      "{sev}{kind_label} {id}: kompos belum cukup lama panas untuk membunuh "
      "kuman. Balik dan biarkan panas lagi sebelum dipanen." OKID,
      "{sev}{kind_label} {id}: the compost was not hot long enough to kill "
      "pathogens. Turn it and let it heat again before harvest." OKID,
      NULL, NULL },
    { "DRUM_STRATIFIED", "panas tidak merata", "uneven heat",
      "{kind_label} {id}: beda suhu dalam drum {value_unit} sejak {duration}. "
      "Balik drum supaya panas merata." OKID,
      "{kind_label} {id}: temperature spread in the drum {value_unit} for "
      "{duration}. Turn the drum to even out the heat." OKID, NULL, NULL },
    { "DRUM_MATURE", "kompos matang", "compost mature",
      "{kind_label} {id}: kompos sudah matang. Siap diayak dan dipanen." NOID,
      "{kind_label} {id}: the compost is mature. Ready to sieve and harvest."
      NOID, NULL, NULL },
    { "DRUM_PRODUCT_MOISTURE_HIGH", "kompos matang masih basah",
      "mature compost still wet",
      "{kind_label} {id}: kompos matang masih basah ({value_unit}). "
      "Angin-anginkan sampai di bawah 50% sebelum dikemas." NOID,
      "{kind_label} {id}: the mature compost is still wet ({value_unit}). "
      "Air-dry it below 50% before bagging." NOID, NULL, NULL },
    { "TANK_OVERFLOW_RISK", "hampir penuh", "almost full",
      "{sev}{kind_label} {id} hampir penuh: {value_unit}. Hentikan pengisian "
      "dan sisakan ruang udara." OKID,
      "{sev}{kind_label} {id} is almost full: {value_unit}. Stop filling and "
      "leave head space." OKID, NULL, NULL },
    { "TANK_LOW", "hampir habis", "nearly empty",
      "{kind_label} {id} hampir habis: {value_unit}. Siapkan batch baru." NOID,
      "{kind_label} {id} is nearly empty: {value_unit}. Prepare a new batch."
      NOID, NULL, NULL },
    { "TANK_LEAK_OR_EVAP", "isi berkurang sendiri", "losing liquid",
      "{sev}{kind_label} {id} berkurang sendiri: {value_unit} sejak "
      "{duration}. Periksa keran dan tutup, mungkin bocor." OKID,
      "{sev}{kind_label} {id} is losing liquid: {value_unit} for {duration}. "
      "Check the tap and lid for leaks." OKID, NULL, NULL },
    { "TANK_FERMENT_SPOILED", "fermentasi rusak", "ferment spoiled",
      "{sev}{kind_label} {id}: fermentasi rusak (pH naik). Cium baunya, "
      "jangan dipakai sebelum diperiksa." OKID,
      "{sev}{kind_label} {id}: the ferment has spoiled (pH rising). Smell it "
      "and do not use it until it is checked." OKID, NULL, NULL },
    { "TANK_READY", "siap dipakai", "ready to use",
      "{kind_label} {id}: pupuk cair siap dipakai." NOID,
      "{kind_label} {id}: the liquid fertiliser is ready to use." NOID,
      NULL, NULL },
    { "TANK_TEMP_HIGH", "terlalu panas", "too hot",
      "{sev}{kind_label} {id} terlalu panas: {value_unit} sejak {duration}. "
      "Pindahkan ke tempat teduh." OKID,
      "{sev}{kind_label} {id} is too hot: {value_unit} for {duration}. "
      "Move it into the shade." OKID, NULL, NULL },
    { "TANK_PH_OUT_OF_PRODUCT_SPEC", "pH di luar spesifikasi",
      "pH out of spec",
      "{kind_label} {id}: pH di luar spesifikasi produk (4-9). "
      "Periksa sebelum dijual." NOID,
      "{kind_label} {id}: pH is outside the product spec (4-9). "
      "Check before selling." NOID, NULL, NULL },
    { "SENSOR_FAULT_DS18B20", "sensor suhu error", "temperature sensor faults",
      "{kind_label} {id}: sensor suhu sering error ({value} kali per jam). "
      "Periksa kabel dan probe." OKID,
      "{kind_label} {id}: the temperature sensor keeps failing ({value} times "
      "per hour). Check the cable and probe." OKID,
      "{kind_label} {id}: sensor suhu sudah normal lagi." NOID,
      "{kind_label} {id}: the temperature sensor is fine again." NOID },
    { "SENSOR_STALE", "tanpa data", "no data", NULL, NULL, NULL, NULL },
    { "SENSOR_CAL_DUE", "perlu kalibrasi", "calibration due",
      "{kind_label} {id}: kalibrasi pH sudah {value} hari. Kalibrasi ulang "
      "dengan larutan pH 4 dan pH 7." NOID,
      "{kind_label} {id}: the pH calibration is {value} days old. "
      "Recalibrate with pH 4 and pH 7 buffers." NOID,
      "{kind_label} {id}: kalibrasi pH sudah dilakukan." NOID,
      "{kind_label} {id}: the pH probe was calibrated." NOID },
};

static const struct tmpl *find_tmpl(const char *key)
{
    size_t i;

    if (key)
        for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
            if (strcmp(builtins[i].key, key) == 0)
                return &builtins[i];
    return NULL;
}

int msgtext_has_builtin(const char *key)
{
    return find_tmpl(key) != NULL;
}

const char *msgtext_builtin(enum msg_lang lang, const char *key,
                            enum alert_note_what what)
{
    const struct tmpl *t = find_tmpl(key);
    int en = lang == MSG_LANG_EN;
    const char *s = NULL;

    switch (what) {
    case NOTE_NODATA:
        return en ? nodata_en : nodata_id;
    case NOTE_NODATA_END:
        return en ? nodata_end_en : nodata_end_id;
    case NOTE_FIRING:
        if (t)
            s = en ? t->fire_en : t->fire_id;
        return s ? s : (en ? generic.fire_en : generic.fire_id);
    case NOTE_RESOLVED:
        if (t)
            s = en ? t->res_en : t->res_id;
        return s ? s : (en ? generic.res_en : generic.res_id);
    }
    return en ? generic.fire_en : generic.fire_id;
}

int msgtext_lang_parse(const char *s, enum msg_lang *out)
{
    if (!s)
        return HUB_EINVAL;
    if (strcmp(s, "id") == 0 || strcmp(s, "in") == 0 ||
        strncmp(s, "id_", 3) == 0) {
        *out = MSG_LANG_ID;
        return HUB_OK;
    }
    if (strcmp(s, "en") == 0 || strncmp(s, "en_", 3) == 0) {
        *out = MSG_LANG_EN;
        return HUB_OK;
    }
    return HUB_EINVAL;
}

/* ---- output buffer ------------------------------------------------------- */

struct sb {
    char *p;
    size_t len, cap;        /* cap includes the NUL */
    int full;
};

static void sb_init(struct sb *b, char *out, size_t cap)
{
    b->p = out;
    b->len = 0;
    b->cap = cap;
    b->full = 0;
    if (cap)
        out[0] = '\0';
}

/* Append n bytes; on overflow keep what fits, cut on a UTF-8 boundary. */
static void sb_put(struct sb *b, const char *s, size_t n)
{
    size_t room;

    if (b->full || !b->cap)
        return;
    room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        b->full = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static int sb_result(const struct sb *b)
{
    if (b->full || !b->cap)
        return HUB_ENOMEM;
    return (int)b->len;
}

/* ---- placeholders -------------------------------------------------------- */

static const char *const placeholders[] = {
    "kind_label", "id", "site", "value", "unit", "value_unit", "threshold",
    "since_min", "duration", "nodata_min", "id_alert", "sev", "severity",
    "field", "field_label", "rule", "text", "what",
};

static int known_placeholder(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
        if (strlen(placeholders[i]) == n && memcmp(placeholders[i], name, n) == 0)
            return 1;
    return 0;
}

int msgtext_check(const char *tmpl, char *err, size_t errlen)
{
    const char *p;
    const char *why = NULL;

    if (!tmpl) {
        why = "no template";
    } else if (strlen(tmpl) >= TMPL_MAX) {
        why = "template too long (max 511 bytes)";
    } else {
        for (p = tmpl; *p && !why; p++) {
            if (p[0] == '{' && p[1] == '{') {
                p++;
            } else if (p[0] == '}' && p[1] == '}') {
                p++;
            } else if (*p == '}') {
                why = "unmatched '}'";
            } else if (*p == '{') {
                const char *end = strchr(p + 1, '}');

                if (!end) {
                    why = "unmatched '{'";
                } else if (!known_placeholder(p + 1, (size_t)(end - p - 1))) {
                    if (err && errlen)
                        snprintf(err, errlen, "unknown placeholder {%.*s}",
                                 (int)(end - p - 1 > 40 ? 40 : end - p - 1),
                                 p + 1);
                    return HUB_EINVAL;
                } else {
                    p = end;
                }
            }
        }
    }
    if (!why)
        return HUB_OK;
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return HUB_EINVAL;
}

static const char *kind_label(enum msg_lang lang, const char *kind, char *buf,
                              size_t len)
{
    int en = lang == MSG_LANG_EN;

    if (strcmp(kind, "drum") == 0)
        return "Drum";
    if (strcmp(kind, "tank") == 0)
        return en ? "Tank" : "Tangki";
    if (strcmp(kind, "site") == 0)
        return en ? "Site" : "Lokasi";
    snprintf(buf, len, "%s", kind);
    if (buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 'a' + 'A');
    return buf;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);

    return n >= m && strcmp(s + n - m, suf) == 0;
}

static const char *unit_of(enum msg_lang lang, const char *field)
{
    int en = lang == MSG_LANG_EN;

    if (strcmp(field, "ph") == 0)
        return "pH";
    if (ends_with(field, "_l_per_day"))
        return en ? "L/day" : "L/hari";
    if (ends_with(field, "_ms_cm"))
        return "mS/cm";
    if (ends_with(field, "_pct"))
        return "%";
    if (ends_with(field, "_cm"))
        return "cm";
    if (ends_with(field, "_kg"))
        return "kg";
    if (ends_with(field, "_c"))
        return "C";
    if (ends_with(field, "_l"))
        return "L";
    if (ends_with(field, "_d"))
        return en ? "days" : "hari";
    if (ends_with(field, "_h"))
        return en ? "h" : "jam";
    return "";
}

/* What a field measures, for people; the field name if unknown. */
static const char *field_label(enum msg_lang lang, const char *field)
{
    static const struct { const char *field, *id, *en; } labels[] = {
        { "temp_core_c", "suhu inti", "core temperature" },
        { "temp_mid_c", "suhu tengah", "middle temperature" },
        { "temp_top_c", "suhu atas", "top temperature" },
        { "temp_liquid_c", "suhu cairan", "liquid temperature" },
        { "temp_ambient_c", "suhu udara", "air temperature" },
        { "moisture_pct", "kelembapan", "moisture" },
        { "o2_pct", "oksigen", "oxygen" },
        { "co2_pct", "CO2", "CO2" },
        { "mass_kg", "berat", "weight" },
        { "level_cm", "tinggi cairan", "liquid level" },
        { "ph", "pH", "pH" },
        { "ec_ms_cm", "EC", "EC" },
    };
    size_t i;

    for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strcmp(labels[i].field, field) == 0)
            return lang == MSG_LANG_EN ? labels[i].en : labels[i].id;
    return field;
}

/* At most one decimal; "-0" never appears. */
static void fmt_num(double v, char *buf, size_t len)
{
    double r = round(v * 10.0) / 10.0;

    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return;
    }
    if (r == 0.0)
        r = 0.0;
    if (fabs(r - round(r)) < 1e-9)
        snprintf(buf, len, "%.0f", round(r) == 0.0 ? 0.0 : round(r));
    else
        snprintf(buf, len, "%.1f", r);
}

static void fmt_value(const struct alert_note *n, char *buf, size_t len)
{
    if (isnan(n->value) && n->text[0])
        snprintf(buf, len, "%s", n->text);
    else
        fmt_num(n->value, buf, len);
}

static void fmt_value_unit(enum msg_lang lang, const struct alert_note *n,
                           char *buf, size_t len)
{
    char v[48];
    const char *u = unit_of(lang, n->field);

    fmt_value(n, v, sizeof(v));
    if (isnan(n->value) || !u[0])
        snprintf(buf, len, "%s", v);
    else if (strcmp(u, "pH") == 0)
        snprintf(buf, len, "pH %s", v);
    else if (strcmp(u, "%") == 0)
        snprintf(buf, len, "%s%%", v);
    else
        snprintf(buf, len, "%s %s", v, u);
}

static int64_t since_min(const struct alert_note *n)
{
    int64_t d = n->ts_ns - n->since_ts_ns;

    if (n->what == NOTE_NODATA || n->what == NOTE_NODATA_END || d < 0)
        return 0;
    return d / (60LL * 1000000000LL);
}

static void fmt_duration(enum msg_lang lang, int64_t min, char *buf, size_t len)
{
    int en = lang == MSG_LANG_EN;

    if (min < 120)
        snprintf(buf, len, "%lld %s", (long long)min, en ? "min" : "menit");
    else if (min < 72 * 60)
        snprintf(buf, len, "%lld %s", (long long)(min / 60), en ? "h" : "jam");
    else
        snprintf(buf, len, "%lld %s", (long long)(min / (24 * 60)),
                 en ? "days" : "hari");
}

static const char *what_phrase(enum msg_lang lang, const struct alert_note *n)
{
    const struct tmpl *t = find_tmpl(n->msg_key);

    if (!t)
        t = find_tmpl(n->rule);
    if (!t)
        return n->rule;
    return lang == MSG_LANG_EN ? t->what_en : t->what_id;
}

static void put_placeholder(struct sb *b, enum msg_lang lang,
                            const struct alert_note *n, const char *name,
                            size_t len)
{
    char buf[128];
    int en = lang == MSG_LANG_EN;

#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    if (IS("kind_label")) {
        sb_puts(b, kind_label(lang, n->kind, buf, sizeof(buf)));
    } else if (IS("id")) {
        sb_puts(b, n->obj_id);
    } else if (IS("site")) {
        sb_puts(b, n->site);
    } else if (IS("value")) {
        fmt_value(n, buf, sizeof(buf));
        sb_puts(b, buf);
    } else if (IS("unit")) {
        sb_puts(b, unit_of(lang, n->field));
    } else if (IS("value_unit")) {
        fmt_value_unit(lang, n, buf, sizeof(buf));
        sb_puts(b, buf);
    } else if (IS("threshold")) {
        fmt_num(n->threshold, buf, sizeof(buf));
        sb_puts(b, buf);
    } else if (IS("since_min")) {
        snprintf(buf, sizeof(buf), "%lld", (long long)since_min(n));
        sb_puts(b, buf);
    } else if (IS("duration")) {
        fmt_duration(lang, since_min(n), buf, sizeof(buf));
        sb_puts(b, buf);
    } else if (IS("nodata_min")) {
        snprintf(buf, sizeof(buf), "%lld", (long long)(n->nodata_ms / 60000));
        sb_puts(b, buf);
    } else if (IS("id_alert")) {
        sb_puts(b, n->id);
    } else if (IS("sev")) {
        if (n->severity == ALERT_CRIT)
            sb_puts(b, en ? "CRITICAL: " : "KRITIS: ");
    } else if (IS("severity")) {
        sb_puts(b, n->severity == ALERT_CRIT ? (en ? "critical" : "kritis")
                   : n->severity == ALERT_WARN ? (en ? "warning" : "peringatan")
                   : "info");
    } else if (IS("field")) {
        sb_puts(b, n->field);
    } else if (IS("field_label")) {
        sb_puts(b, field_label(lang, n->field));
    } else if (IS("rule")) {
        sb_puts(b, n->rule);
    } else if (IS("text")) {
        sb_puts(b, n->text);
    } else if (IS("what")) {
        sb_puts(b, what_phrase(lang, n));
    }
#undef IS
}

static void render_into(struct sb *b, const char *tmpl, enum msg_lang lang,
                        const struct alert_note *n)
{
    const char *p = tmpl;

    while (*p) {
        const char *brace = strpbrk(p, "{}");
        const char *end;

        if (!brace) {
            sb_puts(b, p);
            return;
        }
        sb_put(b, p, (size_t)(brace - p));
        if (brace[0] == brace[1]) {         /* "{{" or "}}" */
            sb_put(b, brace, 1);
            p = brace + 2;
            continue;
        }
        end = strchr(brace, '}');           /* checked: exists */
        put_placeholder(b, lang, n, brace + 1, (size_t)(end - brace - 1));
        p = end + 1;
    }
}

int msgtext_render(const char *tmpl, enum msg_lang lang,
                   const struct alert_note *n, char *out, size_t len)
{
    struct sb b;

    sb_init(&b, out, len);
    if (!n)
        return HUB_EINVAL;
    if (!tmpl)
        tmpl = msgtext_builtin(lang, n->msg_key, n->what);
    if (msgtext_check(tmpl, NULL, 0) != HUB_OK)
        return HUB_EINVAL;
    render_into(&b, tmpl, lang, n);
    return sb_result(&b);
}

int msgtext_group(enum msg_lang lang, const struct alert_note *notes, size_t n,
                  char *out, size_t len)
{
    struct sb b;
    char buf[160];
    size_t i;
    int en = lang == MSG_LANG_EN, one_site = 1;

    sb_init(&b, out, len);
    if (!notes || n == 0)
        return HUB_EINVAL;
    if (n == 1)
        return msgtext_render(NULL, lang, &notes[0], out, len);
    for (i = 1; i < n; i++)
        if (strcmp(notes[i].site, notes[0].site) != 0)
            one_site = 0;
    if (one_site)
        snprintf(buf, sizeof(buf), en ? "%zu alerts at %s: " : "%zu peringatan di %s: ",
                 n, notes[0].site);
    else
        snprintf(buf, sizeof(buf), en ? "%zu alerts: " : "%zu peringatan: ", n);
    sb_puts(&b, buf);
    for (i = 0; i < n; i++) {
        const struct alert_note *a = &notes[i];
        const char *tmpl;

        if (i)
            sb_puts(&b, "; ");
        switch (a->what) {
        case NOTE_RESOLVED:
            tmpl = en ? "{kind_label} {id} normal again {value_unit} ({id_alert})"
                      : "{kind_label} {id} normal lagi {value_unit} ({id_alert})";
            break;
        case NOTE_NODATA:
            tmpl = en ? "{kind_label} {id} no data {nodata_min} min (OK {id_alert})"
                      : "{kind_label} {id} tanpa data {nodata_min} menit (OK {id_alert})";
            break;
        case NOTE_NODATA_END:
            tmpl = en ? "{kind_label} {id} data back ({id_alert})"
                      : "{kind_label} {id} data masuk lagi ({id_alert})";
            break;
        case NOTE_FIRING:
        default:
            if (a->event_rule || (isnan(a->value) && a->text[0]))
                tmpl = "{sev}{kind_label} {id} {what} (OK {id_alert})";
            else
                tmpl = "{sev}{kind_label} {id} {what} {value_unit} (OK {id_alert})";
            break;
        }
        render_into(&b, tmpl, lang, a);
    }
    sb_puts(&b, en ? ". Reply OK <code> when handled."
                   : ". Balas OK <kode> bila sudah ditangani.");
    return sb_result(&b);
}

/* ---- UTF-8 and GSM-7 ---------------------------------------------------- */

/* Decode one UTF-8 character at s (non-empty). Returns its length in bytes
 * and the code point in *cp, or -1 (1 byte consumed) if invalid. */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
    uint32_t c = s[0];
    int n, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
    } else {
        return -1;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return n;
}

/* Non-ASCII characters of the GSM-7 basic table. */
static const uint16_t gsm_basic_hi[] = {
    0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6,
    0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4,
    0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8,
    0x00F9, 0x00FC, 0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3,
    0x03A6, 0x03A8, 0x03A9,
};

/* Septets of cp in GSM-7: 1 (basic), 2 (extension), 0 (not in GSM-7). */
static int gsm_cost(uint32_t cp)
{
    size_t i;

    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == '\f' || cp == 0x20AC)
        return 2;
    if (cp >= 0x20 && cp < 0x7F) {
        if (strchr("^{}\\[~]|", (int)cp))
            return 2;
        return cp == '`' ? 0 : 1;
    }
    for (i = 0; i < sizeof(gsm_basic_hi) / sizeof(gsm_basic_hi[0]); i++)
        if (gsm_basic_hi[i] == cp)
            return 1;
    return 0;
}

/* Base letters of U+0100..U+017F (Latin Extended-A). */
static const char latin_ext_a[] =
    "AaAaAa" "CcCcCcCc" "DdDd" "EeEeEeEeEe" "GgGgGgGg" "HhHh" "IiIiIiIiIi"
    "Ii" "Jj" "Kkk" "LlLlLlLlLl" "NnNnNnn" "Nn" "OoOoOo" "Oo" "RrRrRr"
    "SsSsSsSs" "TtTtTt" "UuUuUuUuUuUu" "Ww" "Yyy" "ZzZzZz" "s";
_Static_assert(sizeof(latin_ext_a) == 129, "U+0100..U+017F");

/* Replacement (ASCII) for U+00A0..U+00BF; NULL for those in GSM-7. */
static const char *const latin1_a0[32] = {
    " ", NULL, "c", NULL, NULL, NULL, "|", NULL,    /* A0-A7 */
    "\"", "(c)", "a", "\"", "-", "", "(R)", "-",    /* A8-AF */
    "", "+/-", "2", "3", "'", "u", "P", ".",        /* B0-B7 */
    ",", "1", "o", "\"", "1/4", "1/2", "3/4", NULL, /* B8-BF */
};

/* Fold one non-GSM code point into out (ASCII, NUL-terminated, <= 8). */
static void fold_cp(uint32_t cp, char *out)
{
    static const char upper[] = "AAAAAAECEEEEIIIIDNOOOOOxOUUUUYTs";
    static const char lower[] = "aaaaaaeceeeeiiiidnooooo/ouuuuyty";

    out[0] = '\0';
    if (cp == '\t' || cp == 0x2007 || cp == 0x2009 || cp == 0x200A ||
        cp == 0x202F || cp == 0x2002 || cp == 0x2003 || cp == 0x3000) {
        strcpy(out, " ");
    } else if (cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0xFEFF ||
               cp == 0x00AD || cp == 0x00B0 || cp == 0x00BA || cp == 0x2103) {
        /* zero-width, soft hyphen, degree, masculine ordinal, degree C sign:
         * dropped ("71 °C" -> "71 C") */
        if (cp == 0x2103)
            strcpy(out, "C");
    } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x201A || cp == 0x201B ||
               cp == 0x2032 || cp == '`' || cp == 0x00B4) {
        strcpy(out, "'");
    } else if (cp == 0x201C || cp == 0x201D || cp == 0x201E || cp == 0x201F ||
               cp == 0x2033 || cp == 0x00AB || cp == 0x00BB) {
        strcpy(out, "\"");
    } else if (cp == 0x2010 || cp == 0x2011 || cp == 0x2012 || cp == 0x2013 ||
               cp == 0x2014 || cp == 0x2015 || cp == 0x2212) {
        strcpy(out, "-");
    } else if (cp == 0x2026) {
        strcpy(out, "...");
    } else if (cp == 0x2022 || cp == 0x00B7) {
        strcpy(out, ".");
    } else if (cp >= 0xA0 && cp < 0xC0 && latin1_a0[cp - 0xA0]) {
        strcpy(out, latin1_a0[cp - 0xA0]);
    } else if (cp >= 0xC0 && cp < 0xE0) {
        out[0] = upper[cp - 0xC0];
        out[1] = '\0';
        if (cp == 0xDE)
            strcpy(out, "Th");
    } else if (cp >= 0xE0 && cp <= 0xFF) {
        out[0] = lower[cp - 0xE0];
        out[1] = '\0';
        if (cp == 0xFE)
            strcpy(out, "th");
    } else if (cp >= 0x100 && cp <= 0x17F) {
        out[0] = latin_ext_a[cp - 0x100];
        out[1] = '\0';
    } else {
        strcpy(out, "?");
    }
}

int msgtext_gsm7_fold(const char *in, char *out, size_t len, size_t *septets)
{
    const unsigned char *s = (const unsigned char *)in;
    struct sb b;
    size_t sep = 0;

    sb_init(&b, out, len);
    while (*s && !b.full) {
        uint32_t cp = 0;
        int n = utf8_next(s, &cp);
        int cost;

        if (n < 0) {
            sb_puts(&b, "?");
            if (!b.full)
                sep++;
            s++;
            continue;
        }
        cost = gsm_cost(cp);
        if (cost) {
            sb_put(&b, (const char *)s, (size_t)n);
            if (!b.full)
                sep += (size_t)cost;
        } else {
            char rep[8];
            const unsigned char *r;

            fold_cp(cp, rep);
            /* the replacement is ASCII and in GSM-7 except '|' (ext) */
            for (r = (const unsigned char *)rep; *r && !b.full; r++) {
                sb_put(&b, (const char *)r, 1);
                if (!b.full)
                    sep += (size_t)gsm_cost(*r);
            }
        }
        s += n;
    }
    if (septets)
        *septets = sep;
    return sb_result(&b);
}

size_t msgtext_gsm7_septets(const char *s, int *all_gsm)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t sep = 0;
    int all = 1;

    while (*p) {
        uint32_t cp = 0;
        int n = utf8_next(p, &cp);
        int cost = n < 0 ? 0 : gsm_cost(cp);

        if (!cost) {
            all = 0;
            cost = 1;
        }
        sep += (size_t)cost;
        p += n < 0 ? 1 : n;
    }
    if (all_gsm)
        *all_gsm = all;
    return sep;
}

size_t msgtext_ucs2_units(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t u = 0;

    while (*p) {
        uint32_t cp = 0;
        int n = utf8_next(p, &cp);

        u += (n > 0 && cp > 0xFFFF) ? 2 : 1;
        p += n < 0 ? 1 : n;
    }
    return u;
}

size_t msgtext_sms_split(const char *s, size_t *starts, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    int gsm;
    size_t total, single, per, used = 0, parts = 1;

    total = msgtext_gsm7_septets(s, &gsm);
    if (!gsm)
        total = msgtext_ucs2_units(s);
    single = gsm ? SMS_GSM7_SINGLE : SMS_UCS2_SINGLE;
    per = gsm ? SMS_GSM7_PART : SMS_UCS2_PART;
    if (max)
        starts[0] = 0;
    if (total <= single)
        return 1;
    while (*p) {
        uint32_t cp = 0;
        int n = utf8_next(p, &cp);
        size_t cost;

        if (gsm)
            cost = (size_t)gsm_cost(cp);
        else
            cost = (n > 0 && cp > 0xFFFF) ? 2 : 1;
        if (n < 0)
            n = 1;
        if (used + cost > per) {
            if (parts < max)
                starts[parts] = (size_t)(p - (const unsigned char *)s);
            parts++;
            used = 0;
        }
        used += cost;
        p += n;
    }
    return parts;
}

size_t msgtext_sms_parts(const char *s)
{
    return msgtext_sms_split(s, NULL, 0);
}
