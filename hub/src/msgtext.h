/* SPDX-License-Identifier: MIT */
/* msgtext.h - the texts people get for alert notes, in Bahasa Indonesia
 * (default) or English, and the SMS arithmetic: GSM-7 folding, septet and
 * part counts, splitting on part boundaries (pure; no I/O, never logs).
 *
 * A message is rendered from a template keyed by the note's msg_key and
 * kind (firing / resolved / nodata / nodata_end). Built-in templates exist
 * for every default rule of alert_default_rules() plus a generic fallback;
 * the integrator may override them from config (check them with
 * msgtext_check at config load) and pass the override to msgtext_render.
 *
 * Placeholders ("{{" and "}}" give literal braces):
 *   {kind_label}  "Drum" / "Tangki" / "Lokasi" (en: "Drum" / "Tank" / "Site")
 *   {id}          the object id ("3")          {site}   the site
 *   {value}       the value, 1 decimal at most ("71", "4.3"), or the text
 *   {unit}        from the field's suffix: _c "C", _pct "%", _cm "cm",
 *                 _kg "kg", _l "L", _ms_cm "mS/cm", _l_per_day "L/hari",
 *                 _d "hari", _h "jam"; "ph" "pH"; else ""
 *   {value_unit}  "71 C", "35%", "pH 4.3", "92 cm" (no degree sign: GSM-7)
 *   {threshold}   the rule's threshold (the crit one when escalated)
 *   {since_min}   whole minutes from the condition's start to the note
 *   {duration}    the same, for people: "30 menit", "12 jam", "3 hari"
 *   {nodata_min}  whole minutes without data (nodata notes)
 *   {id_alert}    the alert id for "OK <id>" ("a7")
 *   {sev}         "KRITIS: " for crit notes (en "CRITICAL: "), else ""
 *   {severity}    "info" / "peringatan" / "kritis" (en "info"/"warning"/"critical")
 *   {field_label} what the field measures ("suhu inti"; else the field name)
 *   {field} {rule} {text}  as in the note
 *   {what}        the rule's short phrase ("terlalu panas"), as in grouped texts
 * Rendered texts are UTF-8 as given; the built-ins are plain ASCII, so an
 * SMS of them is GSM-7. */
#ifndef HUB_MSGTEXT_H
#define HUB_MSGTEXT_H

#include <stddef.h>

#include "alert.h"

enum msg_lang { MSG_LANG_ID, MSG_LANG_EN };

/* "id" (also "id_ID", "in") or "en" (also "en_*"): HUB_OK, else HUB_EINVAL. */
int msgtext_lang_parse(const char *s, enum msg_lang *out);

/* The built-in template for (lang, key, what), or the generic one for an
 * unknown key. Static; never NULL. */
const char *msgtext_builtin(enum msg_lang lang, const char *key,
                            enum alert_note_what what);

/* 1 if key has built-in templates of its own, else 0. */
int msgtext_has_builtin(const char *key);

/* Check a template: placeholders known, braces balanced, length < 512.
 * HUB_OK, or HUB_EINVAL with a reason in err. */
int msgtext_check(const char *tmpl, char *err, size_t errlen);

/* Render tmpl (NULL = the built-in for the note) for note n into out.
 * out is always NUL-terminated when len > 0. Returns the length written;
 * HUB_EINVAL for a bad template (out = ""); HUB_ENOMEM when the text did
 * not fit (out holds what fit, cut on a UTF-8 character boundary). */
int msgtext_render(const char *tmpl, enum msg_lang lang,
                   const struct alert_note *n, char *out, size_t len);

/* Several notes for one person in one text, built-ins only:
 *   "3 peringatan di mekarsari: Drum 3 terlalu panas 71 C (OK a7);
 *    Drum 5 terlalu kering 35% (OK a9); Tangki 1 normal lagi 80 cm (a4).
 *    Balas OK <kode> bila sudah ditangani."
 * One note gives the full single text. Returns as msgtext_render;
 * HUB_EINVAL when n == 0. */
int msgtext_group(enum msg_lang lang, const struct alert_note *notes, size_t n,
                  char *out, size_t len);

/* ---- SMS ----------------------------------------------------------------- */

#define SMS_GSM7_SINGLE 160
#define SMS_GSM7_PART   153
#define SMS_UCS2_SINGLE 70
#define SMS_UCS2_PART   67

/* Fold UTF-8 text into characters that GSM-7 has (basic table and
 * extension table): the degree sign and soft hyphen vanish, curly quotes
 * become straight, dashes '-', the ellipsis "...", non-breaking and odd
 * spaces and tabs a space, accented Latin letters without a GSM-7 form
 * their base letter (a-acute -> a; e-acute and the other GSM-7 letters
 * stay), anything else (and invalid UTF-8) '?'. out is UTF-8, always
 * NUL-terminated when len > 0. *septets (may be NULL) gets the septet
 * count of the folded text (extension characters count 2). Returns the
 * length written, or HUB_ENOMEM if out was too small (cut on a character
 * boundary; *septets counts what was written). */
int msgtext_gsm7_fold(const char *in, char *out, size_t len, size_t *septets);

/* Septets of UTF-8 text in GSM-7 (extension characters 2). *all_gsm (may
 * be NULL) gets 1 if every character is in GSM-7, else 0 (then the text
 * needs UCS-2 and the count is meaningless). */
size_t msgtext_gsm7_septets(const char *s, int *all_gsm);

/* UTF-16 code units of UTF-8 text (characters beyond U+FFFF count 2). */
size_t msgtext_ucs2_units(const char *s);

/* Split text into SMS parts: GSM-7 when every character is in GSM-7
 * (160 septets in one part, else 153 per part), else UCS-2 (70 / 67
 * units). A part never ends between the two septets of an extension
 * character, inside a UTF-8 sequence or inside a surrogate pair. Writes
 * the byte offset where each part starts into starts[0..max) (starts may
 * be NULL when max is 0) and returns the number of parts (1 for ""). */
size_t msgtext_sms_split(const char *s, size_t *starts, size_t max);

/* Number of SMS parts: msgtext_sms_split(s, NULL, 0). */
size_t msgtext_sms_parts(const char *s);

#endif /* HUB_MSGTEXT_H */
