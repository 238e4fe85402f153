#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_status_page_browser: the status page (/) opened in a real headless Chromium, which runs the
# page's script: it fetches api/v1/state and fills the page. After 3 drums and a tank publish
# (with their own timestamps, so the drums are 3 days into a batch), the rendered DOM must show
# the health badge "healthy", the site name, one drums row per drum with its phase, the tank row,
# and the series table; nothing may be left at "loading".
# Real mosquitto + influxd + kompos-hub + chromium (Debian package chromium).
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir
CHROMIUM=$(command -v chromium || command -v chromium-browser) || die "chromium not found (Debian package chromium)"

SITE=page-hub
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
HTTP_PORT=$(free_port) || die "no free port"
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$SITE" http_port="$HTTP_PORT" self_interval_s=1
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"
wait_tcp "$HTTP_PORT" 10 "$HUB_PID" || die "the status server does not listen"

# 3 days of hourly readings: drums 1..3 warm up, the site ambient stays near 27 C, a tank sits
# at 70 cm.
T0=$(( $(now_ms) - 3 * 86400 * 1000 ))
for d in 1 2 3; do
    for (( h = 0; h < 72; h++ )); do
        printf '{"ts": %d, "temp_core_c": %s, "temp_mid_c": %s, "moisture_pct": 52}\n' \
            $(( T0 + h * 3600000 )) "$(( 28 + h / 3 + d )).$(( h % 10 ))" "$(( 27 + h / 3 + d )).$(( h % 7 ))"
    done | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "kube/$SITE/drum/$d" -l
done
for (( h = 0; h < 72; h++ )); do
    printf '{"ts": %d, "temp_ambient_c": 27.%d}\n' $(( T0 + h * 3600000 )) $(( h % 9 ))
done | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "kube/$SITE/site/weather" -l
for (( h = 0; h < 72; h++ )); do
    printf '{"ts": %d, "distance_cm": 45.%d, "ph": 4.%d}\n' $(( T0 + h * 3600000 )) $(( h % 3 )) $(( h % 5 ))
done | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "kube/$SITE/tank/1" -l
deadline=$(( $(now_ms) + 20000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
    n=$(curl -s "http://127.0.0.1:$HTTP_PORT/api/v1/state" | "$PY" -c 'import json,sys; s=json.load(sys.stdin); print(len(s["drums"]) + len(s["tanks"]))' 2>/dev/null)
    [ "${n:-0}" -ge 4 ] && break
    sleep 0.5
done
check_eq "drums and tanks in /api/v1/state" 4 "${n:-0}"

# Chromium runs the page's script; --virtual-time-budget lets the fetch and render finish.
timeout -k 5 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --disable-background-networking \
    --user-data-dir="$KOMPOS_TMP/chromium" --virtual-time-budget=8000 \
    --dump-dom "http://127.0.0.1:$HTTP_PORT/" >"$KOMPOS_TMP/dom.html" 2>"$KOMPOS_TMP/chromium.log" &
cpid=$!
register_pid "$cpid"
wait "$cpid"
rc=$?
unregister_pid "$cpid"
check_eq "chromium exit status" 0 "$rc"
DOM="$KOMPOS_TMP/dom.html"
log "rendered DOM: $(wc -c <"$DOM") bytes"

"$PY" - "$DOM" "$SITE" <<'PYEOF'
import re, sys
from html.parser import HTMLParser

dom = open(sys.argv[1], encoding="utf-8").read()
site = sys.argv[2]

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.rows, self.cur_tbody, self.row, self.cell = [], {}, {}, None, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a.get("id")))
        if a.get("id"):
            self.ids[a["id"]] = ""
        if tag == "tbody":
            self.cur_tbody = a.get("id")
            self.rows.setdefault(self.cur_tbody, [])
        elif tag == "tr" and self.cur_tbody:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.cur_tbody:
            self.rows[self.cur_tbody].append(self.row)
            self.row = None
        elif tag == "tbody":
            self.cur_tbody = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        for tag, i in self.stack:
            if i:
                self.ids[i] += data

p = P()
p.feed(dom)
fails = 0
def check(cond, msg):
    global fails
    print(("ok: " if cond else "FAIL: ") + msg)
    fails += 0 if cond else 1

check(p.ids.get("health", "").strip() == "healthy", "health badge says healthy (got %r)" % p.ids.get("health"))
check('class="ok"' in dom.split('id="health"')[1][:40] or 'id="health" class="ok"' in dom or 'class="ok" id="health"' in dom,
      "health badge has class ok")
check(p.ids.get("site", "").strip() == site, "site name shown (got %r)" % p.ids.get("site"))
drums = p.rows.get("drums", [])
check(len(drums) == 3, "3 rows in the drums table (got %d)" % len(drums))
phases = {"EMPTY", "FILLING", "MESOPHILIC", "THERMOPHILIC", "COOLING", "CURING", "MATURE", "HARVESTED", "STALLED"}
for r in drums:
    check(len(r) >= 4 and r[0] == site and r[3] in phases, "drum row %s: phase %s" % (r[1] if len(r) > 1 else "?", r[3] if len(r) > 3 else "?"))
check(sorted(r[1] for r in drums) == ["1", "2", "3"], "drum ids 1, 2, 3")
tanks = p.rows.get("tanks", [])
check(len(tanks) == 1 and tanks[0][1] == "1", "1 row in the tanks table")
if tanks:
    litres = tanks[0][5]
    # level = 115 - 45.x cm, about 69.7 cm in a 58 cm cylinder: about 184 L
    check(re.fullmatch(r"\d+", litres) is not None and 175 <= int(litres) <= 195, "tank litres %s (about 184)" % litres)
series = p.rows.get("series", [])
check(len(series) >= 10, "series table filled (%d rows)" % len(series))
check("loading" not in p.ids.get("health", ""), "nothing left at loading")
upd = p.ids.get("updated", "").strip()
check(upd.startswith("updated "), "the page says when it was updated, no load error (got %r)" % upd)
sys.exit(1 if fails else 0)
PYEOF
rc=$?
if [ "$rc" -eq 0 ]; then ok "the page rendered in Chromium shows the hub's state"; else fail "the rendered page is wrong (see above)"; fi
stop_hub 20
check_eq "hub exit status" 0 "$HUB_RC"
finish
