#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compost_table.py - the table a member reads at the end of scripts/demo.

Reads the hub's drum_state, tank_state and batch measurements from InfluxDB (v1 /query) and
prints, per drum, the phase, peak temperature, hours at >= 55 C, sanitisation status, maturity
score and days to maturity; per tank the litres, phase and pH; then the finished batches.
Headers are in Bahasa Indonesia with the English word under them.

Usage: compost_table.py INFLUX_URL DATABASE SITE
Exit status 0, or 1 when InfluxDB cannot be queried (the message says why).
"""
import json
import sys
import urllib.parse
import urllib.request

PHASE_ID = {
    "EMPTY": "kosong", "FILLING": "diisi", "MESOPHILIC": "mesofilik", "THERMOPHILIC": "panas",
    "COOLING": "mendingin", "CURING": "pematangan", "MATURE": "MATANG", "HARVESTED": "dipanen",
    "STALLED": "MACET", "ACIDIFYING": "pengasaman", "STABILISING": "stabil", "READY": "SIAP",
    "DISPENSING": "dipakai", "SPOILED": "RUSAK",
}
SANIT_ID = {"PASS": "lulus", "FAIL": "gagal", "NOT_DEMONSTRATED": "belum terbukti", "UNKNOWN": "?"}


def query(url, db, q):
    u = url.rstrip("/") + "/query?" + urllib.parse.urlencode({"db": db, "q": q})
    with urllib.request.urlopen(u, timeout=20) as r:
        doc = json.load(r)
    rows = []
    for res in doc.get("results", []):
        if "error" in res:
            raise RuntimeError(res["error"])
        for s in res.get("series", []):
            tags = s.get("tags", {})
            for v in s.get("values", []):
                d = dict(zip(s["columns"], v))
                d.update(tags)
                rows.append(d)
    return rows


def num(v, fmt="{:.1f}"):
    if v is None:
        return "-"
    try:
        return fmt.format(float(v))
    except (TypeError, ValueError):
        return str(v)


def idkey(r):
    i = r.get("id", "")
    return (0, int(i)) if i.isdigit() else (1, i)


def table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = "  " + "  ".join("{:<%d}" % n for n in w)
    print(fmt.format(*head))
    print("  " + "  ".join("-" * n for n in w))
    for r in rows:
        print(fmt.format(*[str(x) for x in r]))
    if not rows:
        print("  (belum ada data / no data yet)")


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    url, db, site = sys.argv[1:]
    site_q = site.replace("\\", "\\\\").replace("'", "\\'")
    try:
        drums = query(url, db,
                      "SELECT last(phase) AS phase, max(peak_t_core_c) AS peak, last(hours_ge_55) AS h55, "
                      "last(pfrp_status) AS sanit, last(maturity_score) AS score, "
                      "last(est_days_to_mature) AS est, last(est_method) AS how, last(batch_age_d) AS age "
                      "FROM drum_state WHERE site='%s' GROUP BY id" % site_q)
        tanks = query(url, db,
                      "SELECT last(volume_l) AS litres, last(phase) AS phase, last(ph) AS ph, "
                      "last(recipe) AS recipe, last(litres_drawn_total) AS drawn "
                      "FROM tank_state WHERE site='%s' GROUP BY id" % site_q)
        batches = query(url, db,
                        "SELECT * FROM batch WHERE site='%s'" % site_q)
    except Exception as e:  # noqa: BLE001 - any failure is reported the same way
        print("cannot query InfluxDB at %s: %s" % (url, e), file=sys.stderr)
        return 1

    print("\nDrum kompos / compost drums (site %s)" % site)
    rows = []
    for r in sorted(drums, key=idkey):
        ph = r.get("phase") or "?"
        est = r.get("est")
        if ph in ("MATURE", "HARVESTED"):
            est_s = "sudah / done"
        elif est is None:
            est_s = "? (%s)" % (r.get("how") or "unknown")
        else:
            est_s = "%s (%s)" % (num(est, "{:.0f}"), r.get("how") or "?")
        rows.append([r.get("id", "?"), "%s / %s" % (PHASE_ID.get(ph, ph), ph), num(r.get("age"), "{:.0f}"),
                     num(r.get("peak")), num(r.get("h55"), "{:.0f}"),
                     "%s / %s" % (SANIT_ID.get(r.get("sanit"), r.get("sanit") or "?"), r.get("sanit") or "?"),
                     num(r.get("score"), "{:.2f}"), est_s])
    table(["drum", "fase / phase", "umur hari / age d", "puncak C / peak C", "jam>=55C / h>=55C",
           "sanitasi / sanitisation", "skor matang / maturity", "hari lagi / days to mature"], rows)

    print("\nTangki / tanks")
    rows = []
    for r in sorted(tanks, key=idkey):
        ph = r.get("phase") or "?"
        rows.append([r.get("id", "?"), r.get("recipe") or "-", num(r.get("litres"), "{:.0f}"),
                     "%s / %s" % (PHASE_ID.get(ph, ph), ph), num(r.get("ph"), "{:.2f}"),
                     num(r.get("drawn"), "{:.0f}")])
    table(["tangki / tank", "resep / recipe", "liter / litres", "fase / phase", "pH",
           "diambil L / drawn L"], rows)

    print("\nHasil panen / finished batches")
    rows = []
    for r in sorted(batches, key=lambda b: (b.get("kind", ""), idkey(b), b.get("time", 0))):
        if r.get("kind") == "drum":
            rows.append(["drum " + r.get("id", "?"), r.get("batch", "-"),
                         num(r.get("input_mass_kg")) + " kg", num(r.get("output_mass_kg")) + " kg",
                         num(r.get("yield_pct"), "{:.0f}") + " %", num(r.get("cycle_days"), "{:.0f}"),
                         num(r.get("peak_t_core_c")), r.get("pfrp_status") or "-"])
        else:
            rows.append(["tank " + r.get("id", "?"), r.get("batch", "-"),
                         num(r.get("batch_volume_l"), "{:.0f}") + " L",
                         num(r.get("litres_dispensed"), "{:.0f}") + " L", "-",
                         num(r.get("cycle_days"), "{:.0f}"), "-",
                         "spoiled" if r.get("spoiled") else (r.get("recipe") or "-")])
    table(["", "batch", "masuk / in", "keluar / out", "rendemen / yield", "hari / days",
           "puncak C / peak C", "catatan / note"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
