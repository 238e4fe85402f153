#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_alerts_overheat: the simulator's overheat scenario, through the real parts (mosquitto,
# influxd, kompos-hub, kompos-sim, fake_gateway.py as Fonnte), gives each member on duty exactly
# one "too hot" message and then exactly one "normal again" message; a member off duty gets
# nothing. One drum, 14 simulated days at a simulated day per second (the drum overheats
# around day 3 and cools a few days later), only the DRUM_OVERHEAT rule, no quiet hours.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

TOKEN="fonnte-token-$$"
export KOMPOS_FONNTE_TOKEN="$TOKEN"
SITE=overheat
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos

GW_LOG="$KOMPOS_TMP/gw.jsonl"
"$PY" "$KOMPOS_ROOT/tests/integration/fake_gateway.py" --port 0 --log "$GW_LOG" --max-seconds 200 \
    --token "$TOKEN" >"$KOMPOS_TMP/gw.port" 2>"$KOMPOS_TMP/gw.err" &
GW_PID=$!
register_pid "$GW_PID"
deadline=$(( $(now_ms) + 10000 ))
while [ ! -s "$KOMPOS_TMP/gw.port" ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
GW_PORT=$(head -n 1 "$KOMPOS_TMP/gw.port")
[ -n "$GW_PORT" ] || die "fake_gateway.py did not start"

# Sari and Budi are on duty all the time; Dewi is on duty one minute a week (Sunday 03:00 WITA).
MEMBERS='{ name = "Sari"; phone = "0812 3456 7001"; channels = [ "fonnte" ]; },
         { name = "Budi"; phone = "0812 3456 7002"; channels = [ "fonnte" ]; },
         { name = "Dewi"; phone = "0812 3456 7003"; channels = [ "fonnte" ]; on_duty = "sun 03:00-03:01"; }'
RULE='{ name = "DRUM_OVERHEAT"; kind = "drum"; field = "temp_core_c"; op = ">="; threshold = 65.0;
        clear = 63.0; for_s = 1800; clear_for_s = 1800; severity = "warn"; }'
write_hub_config "$KOMPOS_TMP/hub.cfg" site=overheat-hub client_id=kompos-hub-overheat \
    window_s=3600 history_s=3600 self_interval_s=1 \
    alerts_extra="default_rules = false; rules = ( $RULE ); quiet_start = \"00:00\"; quiet_end = \"00:00\"; group_wait_s = 1; group_interval_s = 0; reminder_warn_s = 0; escalate_after_s = 0;" \
    extra="members = ( $MEMBERS ); notify = { fonnte_base_url = \"http://127.0.0.1:$GW_PORT\"; pace_s = 0; retry_max_s = 2; };"
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

SIM_LOG="$KOMPOS_TMP/sim.log" SIM_TIMEOUT=120 run_sim --site "$SITE" --scenario overheat --days 14 \
    --speed 86400 --seed 5 --drums 1 --tanks 0 --truth "$KOMPOS_TMP/truth.json" --quiet
check_eq "kompos-sim --scenario overheat exit status" 0 "$?"
hot=$("$PY" -c 'import json,sys; print(1 if json.load(open(sys.argv[1]))["drums"][0]["overheat"] else 0)' \
      "$KOMPOS_TMP/truth.json")
check_eq "the model's drum overheated" 1 "$hot"
sleep 5     # the last group_wait and retries

# per_member REGEX: "number:count" of accepted messages whose text matches, per target number
per_member() {
    "$PY" - "$GW_LOG" "$1" <<'PYEOF'
import collections, json, re, sys, urllib.parse
n = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("shape_error") or not (200 <= int(r.get("answer") or 0) < 300):
        continue
    f = urllib.parse.parse_qs(r.get("body") or "")
    if re.search(sys.argv[2], f.get("message", [""])[0]):
        n[f.get("target", ["?"])[0]] += 1
print(" ".join("%s:%d" % kv for kv in sorted(n.items())))
PYEOF
}
hot_msgs=$(per_member 'terlalu panas')
cool_msgs=$(per_member 'normal lagi')
check_eq "'terlalu panas' messages per member on duty (Sari, Budi)" "6281234567001:1 6281234567002:1" "$hot_msgs"
check_eq "'normal lagi' messages per member on duty (Sari, Budi)" "6281234567001:1 6281234567002:1" "$cool_msgs"
total=$(wc -l <"$GW_LOG")
check_eq "requests to the gateway in all (Dewi, off duty, got none)" 4 "$total"
log "Sari's messages: $(per_member '.' )"
fired=$(influx_count kompos "SELECT count(alert_id) FROM alert WHERE site='$SITE' AND rule='DRUM_OVERHEAT' AND state='firing'")
check_eq "alert points firing" 1 "$fired"
stop_hub 20
check_eq "hub exit status" 0 "$HUB_RC"
finish
