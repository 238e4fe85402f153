/* SPDX-License-Identifier: MIT */
/* test_msgtext.c - alert texts in Bahasa Indonesia and English (strings
 * written out by hand), template overrides and checks, grouped texts,
 * GSM-7 folding and septet counts, SMS part counts and split points
 * (worked out by hand from 160/153 septets and 70/67 UCS-2 units). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alert.h"
#include "check_main.h"
#include "hub_err.h"
#include "msgtext.h"

#define MIN (60LL * 1000000000LL)
#define T0 (1764295200LL * 1000000000LL)

static struct alert_note mk(const char *rule, const char *kind, const char *obj,
                            const char *field, double v, int64_t minutes,
                            const char *id, enum alert_sev sev,
                            enum alert_note_what what)
{
    struct alert_note n;

    memset(&n, 0, sizeof(n));
    strcpy(n.rule, rule);
    strcpy(n.msg_key, rule);
    strcpy(n.site, "mekarsari");
    strcpy(n.kind, kind);
    strcpy(n.obj_id, obj);
    strcpy(n.field, field);
    strcpy(n.id, id);
    n.severity = sev;
    n.what = what;
    n.value = v;
    n.since_ts_ns = T0;
    n.ts_ns = T0 + minutes * MIN;
    return n;
}

static const char *render(enum msg_lang lang, const struct alert_note *n)
{
    static char out[512];

    ck_assert_int_gt(msgtext_render(NULL, lang, n, out, sizeof(out)), 0);
    return out;
}

START_TEST(overheat_id_and_en)
{
    struct alert_note n = mk("DRUM_OVERHEAT", "drum", "3", "temp_core_c", 71.0,
                             30, "a7", ALERT_WARN, NOTE_FIRING);

    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "Drum 3 terlalu panas: 71 C sejak 30 menit. Balik dan siram drum. (OK a7)");
    ck_assert_str_eq(render(MSG_LANG_EN, &n),
        "Drum 3 is too hot: 71 C for 30 min. Turn and water the drum. (OK a7)");
    n.what = NOTE_RESOLVED;
    n.value = 58.0;
    ck_assert_str_eq(render(MSG_LANG_ID, &n), "Drum 3 sudah normal lagi: 58 C. (a7)");
    ck_assert_str_eq(render(MSG_LANG_EN, &n), "Drum 3 is back to normal: 58 C. (a7)");
}
END_TEST

START_TEST(overheat_crit_rounds_value)
{
    struct alert_note n = mk("DRUM_OVERHEAT", "drum", "3", "temp_core_c", 72.25,
                             45, "a7", ALERT_CRIT, NOTE_FIRING);

    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "KRITIS: Drum 3 terlalu panas: 72.3 C sejak 45 menit. Balik dan siram drum. (OK a7)");
    ck_assert_str_eq(render(MSG_LANG_EN, &n),
        "CRITICAL: Drum 3 is too hot: 72.3 C for 45 min. Turn and water the drum. (OK a7)");
}
END_TEST

START_TEST(too_dry_in_hours)
{
    struct alert_note n = mk("DRUM_TOO_DRY", "drum", "5", "moisture_pct", 35.0,
                             12 * 60 + 7, "a9", ALERT_WARN, NOTE_FIRING);

    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "Drum 5 terlalu kering: kelembapan 35% sejak 12 jam. "
        "Siram sambil dibalik sampai lembap (40-60%). (OK a9)");
    n.what = NOTE_RESOLVED;
    n.value = 44.4;
    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "Drum 5 sudah cukup lembap lagi: 44.4%. (a9)");
}
END_TEST

START_TEST(tank_overflow_and_spoiled)
{
    struct alert_note n = mk("TANK_OVERFLOW_RISK", "tank", "1", "level_pct",
                             92.0, 5, "a12", ALERT_WARN, NOTE_FIRING);
    struct alert_note s = mk("TANK_FERMENT_SPOILED", "tank", "2", "phase", NAN,
                             0, "a6", ALERT_CRIT, NOTE_FIRING);

    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "Tangki 1 hampir penuh: 92%. Hentikan pengisian dan sisakan ruang udara. (OK a12)");
    ck_assert_str_eq(render(MSG_LANG_EN, &n),
        "Tank 1 is almost full: 92%. Stop filling and leave head space. (OK a12)");
    strcpy(s.text, "SPOILED");
    s.event_rule = 1;
    ck_assert_str_eq(render(MSG_LANG_ID, &s),
        "KRITIS: Tangki 2: fermentasi rusak (pH naik). Cium baunya, "
        "jangan dipakai sebelum diperiksa. (OK a6)");
}
END_TEST

START_TEST(mature_and_nodata)
{
    struct alert_note m = mk("DRUM_MATURE", "drum", "2", "phase", NAN, 0, "a3",
                             ALERT_INFO, NOTE_FIRING);
    struct alert_note nd = mk("SENSOR_STALE", "drum", "4", "temp_core_c", 50.0,
                              0, "a5", ALERT_WARN, NOTE_NODATA);

    strcpy(m.text, "MATURE");
    ck_assert_str_eq(render(MSG_LANG_ID, &m),
        "Drum 2: kompos sudah matang. Siap diayak dan dipanen. (a3)");
    nd.nodata_ms = 20 * 60000 + 59999;
    ck_assert_str_eq(render(MSG_LANG_ID, &nd),
        "Drum 4: tidak ada data suhu inti sejak 20 menit. "
        "Periksa sensor, kabel dan listrik. (OK a5)");
    ck_assert_str_eq(render(MSG_LANG_EN, &nd),
        "Drum 4: no core temperature data for 20 min. "
        "Check the sensor, cable and power. (OK a5)");
    nd.what = NOTE_NODATA_END;
    ck_assert_str_eq(render(MSG_LANG_ID, &nd),
        "Drum 4: data suhu inti masuk lagi. (a5)");
}
END_TEST

START_TEST(unknown_key_uses_generic)
{
    struct alert_note n = mk("CUSTOM_EC", "site", "kebun", "ec_ms_cm", 12.5, 3 * 24 * 60,
                             "a1", ALERT_WARN, NOTE_FIRING);

    ck_assert_int_eq(msgtext_has_builtin("CUSTOM_EC"), 0);
    ck_assert_int_eq(msgtext_has_builtin("DRUM_OVERHEAT"), 1);
    ck_assert_str_eq(render(MSG_LANG_ID, &n),
        "Lokasi kebun: CUSTOM_EC 12.5 mS/cm sejak 3 hari. Periksa di lokasi. (OK a1)");
}
END_TEST

START_TEST(every_default_rule_has_texts)
{
    struct alert_rule rules[64];
    size_t n = alert_default_rules(rules, 64), i;
    char out[512], err[128];

    for (i = 0; i < n; i++) {
        struct alert_note a = mk(rules[i].name, rules[i].kind[0] == '*'
                                 ? "drum" : rules[i].kind, "1", rules[i].field,
                                 50, 60, "a1", rules[i].severity, NOTE_FIRING);
        int w;

        ck_assert_msg(msgtext_has_builtin(rules[i].name), "%s", rules[i].name);
        for (w = NOTE_FIRING; w <= NOTE_NODATA_END; w++) {
            const char *t = msgtext_builtin(MSG_LANG_ID, rules[i].name, w);

            ck_assert_int_eq(msgtext_check(t, err, sizeof(err)), HUB_OK);
            ck_assert_int_eq(msgtext_check(msgtext_builtin(MSG_LANG_EN,
                             rules[i].name, w), err, sizeof(err)), HUB_OK);
            a.what = (enum alert_note_what)w;
            ck_assert_int_gt(msgtext_render(NULL, MSG_LANG_ID, &a, out,
                                            sizeof(out)), 0);
            /* built-ins are GSM-7 and fit one or two SMS */
            {
                int all = 0;

                ck_assert_uint_le(msgtext_gsm7_septets(out, &all), 2 * 153);
                ck_assert_int_eq(all, 1);
            }
        }
    }
}
END_TEST

START_TEST(override_template_and_checks)
{
    struct alert_note n = mk("X", "tank", "1", "ph", 3.5, 0, "a2", ALERT_INFO,
                             NOTE_FIRING);
    char out[128], err[128];

    n.threshold = 4;
    ck_assert_int_eq(msgtext_render("{kind_label} {id}: {value_unit} < "
                                    "{threshold} ({severity}) {{x}}",
                                    MSG_LANG_ID, &n, out, sizeof(out)),
                     (int)strlen("Tangki 1: pH 3.5 < 4 (info) {x}"));
    ck_assert_str_eq(out, "Tangki 1: pH 3.5 < 4 (info) {x}");
    ck_assert_int_eq(msgtext_check("{nope}", err, sizeof(err)), HUB_EINVAL);
    ck_assert_str_eq(err, "unknown placeholder {nope}");
    ck_assert_int_eq(msgtext_check("{id", err, sizeof(err)), HUB_EINVAL);
    ck_assert_int_eq(msgtext_check("id}", err, sizeof(err)), HUB_EINVAL);
    ck_assert_int_eq(msgtext_check("{}", err, sizeof(err)), HUB_EINVAL);
    ck_assert_int_eq(msgtext_render("{bad}", MSG_LANG_ID, &n, out, sizeof(out)),
                     HUB_EINVAL);
    ck_assert_str_eq(out, "");
    /* truncation: what fits, cut before a split UTF-8 character */
    ck_assert_int_eq(msgtext_render("{kind_label} {id}", MSG_LANG_EN, &n, out, 5),
                     HUB_ENOMEM);
    ck_assert_str_eq(out, "Tank");
    ck_assert_int_eq(msgtext_render("a\xc3\xa9{id}", MSG_LANG_EN, &n, out, 3),
                     HUB_ENOMEM);
    ck_assert_str_eq(out, "a");
}
END_TEST

START_TEST(lang_parse)
{
    enum msg_lang l = MSG_LANG_EN;

    ck_assert_int_eq(msgtext_lang_parse("id", &l), HUB_OK);
    ck_assert_int_eq(l, MSG_LANG_ID);
    ck_assert_int_eq(msgtext_lang_parse("en_GB", &l), HUB_OK);
    ck_assert_int_eq(l, MSG_LANG_EN);
    ck_assert_int_eq(msgtext_lang_parse("fr", &l), HUB_EINVAL);
}
END_TEST

START_TEST(grouped_text)
{
    struct alert_note g[3];
    char out[512];

    g[0] = mk("DRUM_OVERHEAT", "drum", "3", "temp_core_c", 71.0, 30, "a7",
              ALERT_WARN, NOTE_FIRING);
    g[1] = mk("DRUM_TOO_DRY", "drum", "5", "moisture_pct", 35.0, 720, "a9",
              ALERT_WARN, NOTE_FIRING);
    g[2] = mk("TANK_OVERFLOW_RISK", "tank", "1", "level_pct", 85.0, 0, "a12",
              ALERT_WARN, NOTE_RESOLVED);
    ck_assert_int_gt(msgtext_group(MSG_LANG_ID, g, 3, out, sizeof(out)), 0);
    ck_assert_str_eq(out,
        "3 peringatan di mekarsari: Drum 3 terlalu panas 71 C (OK a7); "
        "Drum 5 terlalu kering 35% (OK a9); Tangki 1 normal lagi 85% (a12). "
        "Balas OK <kode> bila sudah ditangani.");
    ck_assert_int_gt(msgtext_group(MSG_LANG_EN, g, 3, out, sizeof(out)), 0);
    ck_assert_str_eq(out,
        "3 alerts at mekarsari: Drum 3 too hot 71 C (OK a7); "
        "Drum 5 too dry 35% (OK a9); Tank 1 normal again 85% (a12). "
        "Reply OK <code> when handled.");
    /* one note: the full text */
    ck_assert_int_gt(msgtext_group(MSG_LANG_ID, g, 1, out, sizeof(out)), 0);
    ck_assert_str_eq(out,
        "Drum 3 terlalu panas: 71 C sejak 30 menit. Balik dan siram drum. (OK a7)");
    ck_assert_int_eq(msgtext_group(MSG_LANG_ID, g, 0, out, sizeof(out)), HUB_EINVAL);
    ck_assert_int_eq(msgtext_group(MSG_LANG_ID, g, 3, out, 40), HUB_ENOMEM);
    ck_assert_uint_eq(strlen(out), 39);
}
END_TEST

static const struct {
    const char *in, *out;
    size_t septets;
} folds[] = {
    { "Suhu 71 \xc2\xb0" "C", "Suhu 71 C", 9 },
    { "\xe2\x80\x9cHalo\xe2\x80\x9d \xe2\x80\x93 kompos\xe2\x80\xa6",
      "\"Halo\" - kompos...", 18 },
    { "Caf\xc3\xa9 cr\xc3\xa8me \xc3\xa0 la Ni\xc3\xb1o",       /* all GSM */
      "Caf\xc3\xa9 cr\xc3\xa8me \xc3\xa0 la Ni\xc3\xb1o", 20 },
    { "\xc3\x85ngstr\xc3\xb6m \xc3\xa3 \xc3\xa7 \xc3\xa1",
      "\xc3\x85ngstr\xc3\xb6m a c a", 14 },
    { "\xc5\x81\xc3\xb3" "d\xc5\xba", "Lodz", 4 },              /* Lodz */
    { "{x}[\xe2\x82\xac]", "{x}[\xe2\x82\xac]", 11 },           /* ext = 2 */
    { "ok \xf0\x9f\x91\x8d", "ok ?", 4 },                       /* emoji */
    { "a\xff" "b", "a?b", 3 },                                  /* invalid */
    { "it\xe2\x80\x99s\tok\xc2\xa0!", "it's ok !", 9 },
    { "`x`", "'x'", 3 },
    { "", "", 0 },
};

START_TEST(gsm7_fold_table)
{
    char out[128];
    size_t sep = 999;
    int all = 0;

    ck_assert_int_eq(msgtext_gsm7_fold(folds[_i].in, out, sizeof(out), &sep),
                     (int)strlen(folds[_i].out));
    ck_assert_str_eq(out, folds[_i].out);
    ck_assert_uint_eq(sep, folds[_i].septets);
    ck_assert_uint_eq(msgtext_gsm7_septets(out, &all), folds[_i].septets);
    ck_assert_int_eq(all, 1);
}
END_TEST

START_TEST(gsm7_fold_truncates)
{
    char out[8];
    size_t sep = 0;

    ck_assert_int_eq(msgtext_gsm7_fold("abcdef", out, 5, &sep), HUB_ENOMEM);
    ck_assert_str_eq(out, "abcd");
    ck_assert_uint_eq(sep, 4);
    /* "a" then e-acute (2 bytes): only "a" fits in 3 bytes with the NUL */
    ck_assert_int_eq(msgtext_gsm7_fold("a\xc3\xa9z", out, 3, &sep), HUB_ENOMEM);
    ck_assert_str_eq(out, "a");
    ck_assert_uint_eq(sep, 1);
}
END_TEST

START_TEST(septets_and_units)
{
    int all = 1;

    ck_assert_uint_eq(msgtext_gsm7_septets("a\xe2\x82\xac", &all), 3);
    ck_assert_int_eq(all, 1);
    ck_assert_uint_eq(msgtext_gsm7_septets("a^|~\\", &all), 9);
    ck_assert_int_eq(all, 1);
    (void)msgtext_gsm7_septets("a\xe4\xb8\xad", &all);
    ck_assert_int_eq(all, 0);
    ck_assert_uint_eq(msgtext_ucs2_units("a\xe4\xb8\xad\xf0\x9f\x91\x8d"), 4);
}
END_TEST

static void repeat(char *buf, const char *unit, size_t n)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < n; i++)
        strcat(buf, unit);
}

START_TEST(sms_part_counts)
{
    static char buf[2048];

    ck_assert_uint_eq(msgtext_sms_parts(""), 1);
    repeat(buf, "a", 160);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 1);
    repeat(buf, "a", 161);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 2);
    repeat(buf, "a", 306);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 2);
    repeat(buf, "a", 307);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 3);
    repeat(buf, "\xe2\x82\xac", 80);              /* 160 septets */
    ck_assert_uint_eq(msgtext_sms_parts(buf), 1);
    repeat(buf, "\xe4\xb8\xad", 70);              /* UCS-2: 70 units */
    ck_assert_uint_eq(msgtext_sms_parts(buf), 1);
    repeat(buf, "\xe4\xb8\xad", 71);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 2);
    repeat(buf, "\xe4\xb8\xad", 134);             /* 2 x 67 */
    ck_assert_uint_eq(msgtext_sms_parts(buf), 2);
    repeat(buf, "\xe4\xb8\xad", 135);
    ck_assert_uint_eq(msgtext_sms_parts(buf), 3);
}
END_TEST

START_TEST(sms_split_keeps_escape_pairs)
{
    static char buf[2048];
    size_t st[4];

    /* 152 'a' + euro (2 septets) + 10 'a' = 164 septets: two parts; the
     * euro does not fit in part 1's last septet, so part 2 starts at it */
    repeat(buf, "a", 152);
    strcat(buf, "\xe2\x82\xac");
    strcat(buf, "aaaaaaaaaa");
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 2);
    ck_assert_uint_eq(st[0], 0);
    ck_assert_uint_eq(st[1], 152);
    /* 81 euros = 162 septets: 76 per part (152 septets), 5 in part 2 */
    repeat(buf, "\xe2\x82\xac", 81);
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 2);
    ck_assert_uint_eq(st[1], 76 * 3);
    /* 153 'a' + '{': part 2 starts at the brace */
    repeat(buf, "a", 153);
    strcat(buf, "{");
    strcat(buf, "aaaaaaaaa");
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 2);
    ck_assert_uint_eq(st[1], 153);
}
END_TEST

START_TEST(sms_split_ucs2_and_surrogates)
{
    static char buf[2048];
    size_t st[4];

    /* 71 CJK characters (3 bytes each): 67 + 4 */
    repeat(buf, "\xe4\xb8\xad", 71);
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 2);
    ck_assert_uint_eq(st[1], 67 * 3);
    /* 66 'a' + a non-GSM emoji (2 units) + 5 'a' = 73 units: the emoji
     * would end at unit 68 > 67, so part 2 starts at it (byte 66) */
    repeat(buf, "a", 66);
    strcat(buf, "\xf0\x9f\x91\x8d");
    strcat(buf, "aaaaa");
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 2);
    ck_assert_uint_eq(st[1], 66);
    /* starts beyond max are counted, not written */
    repeat(buf, "a", 500);              /* 4 parts of 153 */
    st[1] = 12345;
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 1), 4);
    ck_assert_uint_eq(st[0], 0);
    ck_assert_uint_eq(st[1], 12345);
    ck_assert_uint_eq(msgtext_sms_split(buf, st, 4), 4);
    ck_assert_uint_eq(st[3], 459);
}
END_TEST

/* The whole path: an engine note rendered and folded for SMS. */
START_TEST(engine_note_to_sms)
{
    struct alert_rule rules[64];
    size_t n = alert_default_rules(rules, 64);
    struct alert_engine *e = alert_engine_new(rules, n, 32);
    struct alert_note note;
    char text[512], sms[512];
    size_t sep = 0;
    int64_t m;

    ck_assert_ptr_nonnull(e);
    for (m = 0; m <= 30; m++)
        alert_feed_num(e, "mekarsari", "drum", "3", "temp_core_c", 66.0,
                       T0 + m * MIN, 0);
    ck_assert_int_eq(alert_next_note(e, &note), 1);
    ck_assert_int_gt(msgtext_render(NULL, MSG_LANG_ID, &note, text, sizeof(text)), 0);
    ck_assert_str_eq(text,
        "Drum 3 terlalu panas: 66 C sejak 30 menit. Balik dan siram drum. (OK a1)");
    ck_assert_int_gt(msgtext_gsm7_fold(text, sms, sizeof(sms), &sep), 0);
    ck_assert_str_eq(sms, text);
    ck_assert_uint_eq(sep, strlen(text));
    ck_assert_uint_eq(msgtext_sms_parts(sms), 1);
    alert_engine_free(e);
}
END_TEST

static Suite *msgtext_suite(void)
{
    Suite *s = suite_create("msgtext");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, overheat_id_and_en);
    tcase_add_test(tc, overheat_crit_rounds_value);
    tcase_add_test(tc, too_dry_in_hours);
    tcase_add_test(tc, tank_overflow_and_spoiled);
    tcase_add_test(tc, mature_and_nodata);
    tcase_add_test(tc, unknown_key_uses_generic);
    tcase_add_test(tc, every_default_rule_has_texts);
    tcase_add_test(tc, override_template_and_checks);
    tcase_add_test(tc, lang_parse);
    tcase_add_test(tc, grouped_text);
    tcase_add_loop_test(tc, gsm7_fold_table, 0,
                        (int)(sizeof(folds) / sizeof(folds[0])));
    tcase_add_test(tc, gsm7_fold_truncates);
    tcase_add_test(tc, septets_and_units);
    tcase_add_test(tc, sms_part_counts);
    tcase_add_test(tc, sms_split_keeps_escape_pairs);
    tcase_add_test(tc, sms_split_ucs2_and_surrogates);
    tcase_add_test(tc, engine_note_to_sms);
    suite_add_tcase(s, tc);
    return s;
}

HUB_CHECK_MAIN(msgtext_suite)
