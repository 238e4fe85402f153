#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_alerts: alerts reach members exactly once, through real parts: mosquitto, influxd,
# kompos-hub, and fake_gateway.py (a real HTTP server that checks each provider's exact request
# shape and answers from a script). Readings carry their own timestamps, so 40 minutes of a hot
# drum are published in a second.
#   A. overheat: two members on duty (Fonnte); the gateway answers 500, 500, then 200: each member
#      gets exactly one "terlalu panas" message and, after the drum cools, one "normal lagi";
#      the alert and notification measurements say so.
#   B. kill -9 while a message is pending (the gateway answers 503): after a restart against a
#      working gateway it is delivered exactly once, and the alert does not fire again.
#   C. Fonnte answers HTTP 200 with "status": false: never counted as sent.
#   D. gammu-smsd: the outbox file appears with gammu's name pattern and the text.
#   F. a DS18B20 probe that reads 85.0 three times within an hour: one SENSOR_FAULT_DS18B20
#      message.
#   E. acknowledgement: with reminders every 2 s, an SMS reply "OK <id>" handed to
#      scripts/gammu-on-receive (as gammu-smsd's RunOnReceive would) stops them; the HTTP
#      endpoint answers 404 for an unknown id and 405 for GET.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

TOKEN="fonnte-device-token-$$"
export KOMPOS_FONNTE_TOKEN="$TOKEN"
GW_PY="$KOMPOS_ROOT/tests/integration/fake_gateway.py"

start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos

# start_gateway NAME SCRIPT: fake_gateway.py in the background; sets GW_PORT, GW_PID, GW_LOG.
start_gateway() {
    local name=$1 script=$2 deadline
    GW_LOG="$KOMPOS_TMP/gw_$name.jsonl"
    : >"$GW_LOG"
    "$PY" "$GW_PY" --port 0 --log "$GW_LOG" --script "$script" --max-seconds 240 \
        --token "$TOKEN" >"$KOMPOS_TMP/gw_$name.port" 2>"$KOMPOS_TMP/gw_$name.err" &
    GW_PID=$!
    register_pid "$GW_PID"
    deadline=$(( $(now_ms) + 10000 ))
    while [ ! -s "$KOMPOS_TMP/gw_$name.port" ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
    GW_PORT=$(head -n 1 "$KOMPOS_TMP/gw_$name.port")
    [ -n "$GW_PORT" ] || die "fake_gateway.py did not start (see $KOMPOS_TMP/gw_$name.err)"
    log "fake gateway $name on 127.0.0.1:$GW_PORT, script '$script'"
}

# hub_config FILE SITE MEMBERS NOTIFY: a hub whose alerts go to MEMBERS with NOTIFY settings;
# no quiet hours, group_wait 1 s, retries after 1 s (cap 2 s), no pacing.
hub_config() {
    write_hub_config "$1" site="$2-hub" client_id="kompos-hub-$2" alerts_dir="$KOMPOS_TMP/alerts_$2" \
        alerts_extra='quiet_start = "00:00"; quiet_end = "00:00"; group_wait_s = 1; group_interval_s = 0; reminder_warn_s = 0; reminder_crit_s = 0; escalate_after_s = 0;' \
        extra="members = ( $3 ); notify = { $4 pace_s = 0; retry_max_s = 2; timeout_ms = 3000; };" \
        self_interval_s=1
}

# publish_core SITE DRUM VALUE FROM_MIN COUNT: COUNT readings of temp_core_c = VALUE, one per
# minute of reading time, the first FROM_MIN minutes after T0 (QoS 1, one mosquitto_pub).
T0=$(( $(now_ms) - 4 * 3600 * 1000 ))
publish_core() {
    local site=$1 drum=$2 v=$3 from=$4 n=$5 i
    for (( i = 0; i < n; i++ )); do
        printf '{"ts": %d, "temp_core_c": %s, "temp_mid_c": %s}\n' \
            $(( T0 + (from + i) * 60000 )) "$v" "$v"
    done | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "kube/$site/drum/$drum" -l
}

# accepted LOG [REGEX]: requests the gateway accepted (2xx, not a Fonnte status:false, right
# shape) whose text (form "message", or JSON "text") matches REGEX; "target=" + digits is
# prepended for Fonnte so a member can be picked by number.
accepted() {
    "$PY" - "$1" "${2:-.}" <<'PYEOF'
import json, re, sys, urllib.parse
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    st = r.get("answer") or 0
    if r.get("shape_error") or not (200 <= int(st) < 300) or str(r.get("script", "")).startswith("false"):
        continue
    body = r.get("body") or ""
    try:
        f = urllib.parse.parse_qs(body, keep_blank_values=True)
        text = "target=%s %s" % (f.get("target", [""])[0], f.get("message", [""])[0])
    except Exception:
        text = body
    if text == "target= ":
        try:
            text = json.loads(body).get("text", "")
        except Exception:
            text = body
    if re.search(sys.argv[2], text):
        n += 1
print(n)
PYEOF
}

# accepted_text LOG NUMBER: the first accepted text sent to NUMBER.
accepted_text() {
    "$PY" -c 'import json,sys,urllib.parse
for l in open(sys.argv[1]):
    r = json.loads(l)
    f = urllib.parse.parse_qs(r.get("body") or "")
    if r.get("answer") == 200 and f.get("target", [""])[0] == sys.argv[2]:
        print(f.get("message", [""])[0]); break' "$1" "$2"
}

# wait_accepted LOG WANT REGEX [SECONDS=30]
wait_accepted() {
    local deadline=$(( $(now_ms) + ${4:-30} * 1000 )) got=0
    while [ "$(now_ms)" -lt "$deadline" ]; do
        got=$(accepted "$1" "$3")
        [ "$got" -ge "$2" ] && break
        sleep 0.3
    done
    echo "$got"
}

SARI='{ name = "Sari"; phone = "0812 3456 7001"; channels = [ "fonnte" ]; }'
BUDI='{ name = "Budi"; phone = "+62 812-3456-7002"; channels = [ "fonnte" ]; }'

# ---- A: overheat, 500 twice, one message each, one resolved each ---------------------------------
start_gateway a "500,500"
hub_config "$KOMPOS_TMP/a.cfg" a "$SARI, $BUDI" "fonnte_base_url = \"http://127.0.0.1:$GW_PORT\";"
start_hub "$KOMPOS_TMP/a.cfg" "$KOMPOS_TMP/hub_a.log"
publish_core a 3 68.5 0 40          # 68.5 C for 40 min: DRUM_OVERHEAT (warn) fires at 30 min
got=$(wait_accepted "$GW_LOG" 2 'terlalu panas' 40)
check_eq "A: firing messages accepted by the gateway (one per member)" 2 "$got"
sleep 3                             # room for a duplicate to show up
check_eq "A: still exactly 2 firing messages" 2 "$(accepted "$GW_LOG" 'terlalu panas')"
check_eq "A: one for Sari (6281234567001)" 1 "$(accepted "$GW_LOG" '^target=6281234567001 .*terlalu panas')"
check_eq "A: one for Budi (6281234567002)" 1 "$(accepted "$GW_LOG" '^target=6281234567002 .*terlalu panas')"
log "A: Sari's message: $(accepted_text "$GW_LOG" 6281234567001)"
fails=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("answer")==500))' "$GW_LOG")
check_eq "A: the gateway's two 500 answers were retried" 2 "$fails"
publish_core a 3 50.0 40 40         # cools: resolved after clear_for (30 min)
got=$(wait_accepted "$GW_LOG" 2 'normal lagi' 40)
check_eq "A: resolved messages (one per member)" 2 "$got"
sleep 3
check_eq "A: still exactly 2 resolved messages" 2 "$(accepted "$GW_LOG" 'normal lagi')"
shape=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("shape_error")))' "$GW_LOG")
check_eq "A: requests of the wrong shape" 0 "$shape"
stop_hub 20
check_eq "A: hub exit status" 0 "$HUB_RC"
fired=$(influx_count kompos "SELECT count(alert_id) FROM alert WHERE site='a' AND rule='DRUM_OVERHEAT' AND state='firing'")
resolved=$(influx_count kompos "SELECT count(alert_id) FROM alert WHERE site='a' AND rule='DRUM_OVERHEAT' AND state='resolved'")
check_eq "A: alert points firing" 1 "$fired"
check_eq "A: alert points resolved" 1 "$resolved"
sent=$(influx_count kompos "SELECT count(attempts) FROM notification WHERE status='sent' AND rule='DRUM_OVERHEAT'")
check_eq "A: notification points with status sent" 4 "$sent"
grep -aq "$TOKEN" "$KOMPOS_TMP/hub_a.log" && fail "A: the Fonnte token appears in the hub log" \
    || ok "A: the Fonnte token is not in the hub log"
stop_pid "$GW_PID" 5

# ---- B: kill -9 while pending, then delivered exactly once ----------------------------------------
start_gateway b1 "503,503,503,503,503,503,503,503,503,503,503,503,503,503,503,503,503,503,503,503"
hub_config "$KOMPOS_TMP/b.cfg" b "$SARI" "fonnte_base_url = \"http://127.0.0.1:$GW_PORT\";"
start_hub "$KOMPOS_TMP/b.cfg" "$KOMPOS_TMP/hub_b1.log"
publish_core b 1 68.5 0 40
deadline=$(( $(now_ms) + 30000 ))
while [ "$(wc -l <"$GW_LOG")" -lt 2 ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.2; done
check_ge "B: attempts answered 503 before the kill" 2 "$(wc -l <"$GW_LOG")"
kill -KILL "$HUB_PID"
wait "$HUB_PID" 2>/dev/null
unregister_pid "$HUB_PID"
ok "B: hub killed with SIGKILL while the message was pending"
stop_pid "$GW_PID" 5
pending=$(find "$KOMPOS_TMP/alerts_b/outbox" -maxdepth 1 -type f | wc -l)
check_ge "B: the message is still in the outbox on disk" 1 "$pending"
start_gateway b2 ""
hub_config "$KOMPOS_TMP/b.cfg" b "$SARI" "fonnte_base_url = \"http://127.0.0.1:$GW_PORT\";"
start_hub "$KOMPOS_TMP/b.cfg" "$KOMPOS_TMP/hub_b2.log"
got=$(wait_accepted "$GW_LOG" 1 'terlalu panas' 30)
check_eq "B: delivered after the restart" 1 "$got"
sleep 4
check_eq "B: delivered exactly once (requests to the new gateway)" 1 "$(wc -l <"$GW_LOG")"
refired=$(grep -ac 'DRUM_OVERHEAT.*firing' "$KOMPOS_TMP/hub_b2.log")
check_eq "B: the restarted hub did not fire the alert again" 0 "$refired"
stop_hub 20
stop_pid "$GW_PID" 5

# ---- C: Fonnte 200 + status:false is not a success --------------------------------------------------
start_gateway c "false=device disconnected,false=device disconnected,false=device disconnected,false=device disconnected,false=device disconnected,false=device disconnected"
hub_config "$KOMPOS_TMP/c.cfg" c "$SARI" "fonnte_base_url = \"http://127.0.0.1:$GW_PORT\";"
start_hub "$KOMPOS_TMP/c.cfg" "$KOMPOS_TMP/hub_c.log"
publish_core c 2 68.5 0 40
deadline=$(( $(now_ms) + 30000 ))
while [ "$(wc -l <"$GW_LOG")" -lt 2 ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.2; done
check_ge "C: attempts answered status:false" 2 "$(wc -l <"$GW_LOG")"
stop_hub 20
sentc=$(influx_count kompos "SELECT count(attempts) FROM notification WHERE status='sent' AND member='Sari'")
check_eq "C: Sari's notifications counted as sent (A: 2, B: 1, C: none)" 3 "$sentc"
notsent=$(influx_count kompos "SELECT count(attempts) FROM notification WHERE status!='sent' AND reason =~ /status/")
check_ge "C: status:false answers recorded as not sent" 1 "$notsent"
stop_pid "$GW_PID" 5

# ---- D: gammu-smsd outbox file -----------------------------------------------------------------------
mkdir -p "$KOMPOS_TMP/gammu/outbox"
CITRA='{ name = "Citra"; phone = "0812 3456 7003"; channels = [ "gammu" ]; }'
hub_config "$KOMPOS_TMP/d.cfg" d "$CITRA" "gammu_outbox_dir = \"$KOMPOS_TMP/gammu/outbox\";"
start_hub "$KOMPOS_TMP/d.cfg" "$KOMPOS_TMP/hub_d.log"
publish_core d 4 68.5 0 40
deadline=$(( $(now_ms) + 30000 ))
while [ -z "$(ls "$KOMPOS_TMP/gammu/outbox")" ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.2; done
sleep 2
stop_hub 20
files=$(ls "$KOMPOS_TMP/gammu/outbox")
check_eq "D: gammu outbox files" 1 "$(printf '%s\n' "$files" | grep -c .)"
if printf '%s\n' "$files" | grep -Eq '^OUTA[0-9]{8}_[0-9]{6}_00_\+6281234567003_[0-9a-f]{16}\.txt$'; then
    ok "D: file name follows gammu's pattern: $files"
else
    fail "D: unexpected gammu file name: $files"
fi
text=$(cat "$KOMPOS_TMP/gammu/outbox/"* 2>/dev/null)
case "$text" in
    *"Drum 4 terlalu panas"*"(OK a"*) ok "D: file text: $text" ;;
    *) fail "D: unexpected file text: $text" ;;
esac

# ---- E: acknowledged by SMS through gammu's RunOnReceive -------------------------------------------
start_gateway e ""
HTTP_PORT=$(free_port)
write_hub_config "$KOMPOS_TMP/e.cfg" site=e-hub client_id=kompos-hub-e alerts_dir="$KOMPOS_TMP/alerts_e" \
    http_port="$HTTP_PORT" self_interval_s=1 \
    alerts_extra='quiet_start = "00:00"; quiet_end = "00:00"; group_wait_s = 1; group_interval_s = 0; reminder_warn_s = 2; escalate_after_s = 0;' \
    extra="members = ( $SARI ); notify = { fonnte_base_url = \"http://127.0.0.1:$GW_PORT\"; pace_s = 0; retry_max_s = 2; };"
start_hub "$KOMPOS_TMP/e.cfg" "$KOMPOS_TMP/hub_e.log"
publish_core e 5 68.5 0 40
got=$(wait_accepted "$GW_LOG" 2 'terlalu panas' 30)
check_ge "E: the first message and at least one reminder arrived" 2 "$got"
id=$(accepted_text "$GW_LOG" 6281234567001 | sed -n 's/.*(OK \(a[0-9]*\)).*/\1/p')
[ -n "$id" ] && ok "E: alert id in the message: $id" || fail "E: no alert id in the message"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HTTP_PORT/api/v1/alerts/zz99/ack")
check_eq "E: ack of an unknown id" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/api/v1/alerts/$id/ack")
check_eq "E: GET on the ack endpoint" 405 "$code"
SMS_MESSAGES=1 SMS_1_NUMBER="+6281234567001" SMS_1_TEXT="  ok ${id^^} " KOMPOS_HUB_URL="http://127.0.0.1:$HTTP_PORT" \
    "$KOMPOS_ROOT/scripts/gammu-on-receive"
check_eq "E: gammu-on-receive exit status" 0 "$?"
grep -aqi "alert $id acknowledged" "$KOMPOS_TMP/hub_e.log" && ok "E: the hub logged the acknowledgement" \
    || fail "E: no acknowledgement in the hub log"
sleep 1
before=$(accepted "$GW_LOG" 'terlalu panas')
sleep 5
after=$(accepted "$GW_LOG" 'terlalu panas')
check_eq "E: no reminder after the acknowledgement (messages 5 s later)" "$before" "$after"
stop_hub 20

# ---- F: a probe in trouble ---------------------------------------------------------------------------
: >"$GW_LOG"
hub_config "$KOMPOS_TMP/f.cfg" f "$SARI" "fonnte_base_url = \"http://127.0.0.1:$GW_PORT\";"
start_hub "$KOMPOS_TMP/f.cfg" "$KOMPOS_TMP/hub_f.log"
{
    for i in 0 1 2 3 4 5 6 7 8 9; do
        v=30.5
        case $i in 2|5|8) v=85.0 ;; esac    # power-on resets, 85.0 exactly
        printf '{"ts": %d, "temp_core_c": %s, "temp_mid_c": 30.1}\n' $(( T0 + i * 300000 )) "$v"
    done
} | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "kube/f/drum/6" -l
got=$(wait_accepted "$GW_LOG" 1 'sensor suhu' 30)
check_eq "F: a sensor-fault message after three 85.0 readings in an hour" 1 "$got"
log "F: $(accepted_text "$GW_LOG" 6281234567001)"
faults=$(influx_count kompos "SELECT count(alert_id) FROM alert WHERE site='f' AND rule='SENSOR_FAULT_DS18B20' AND state='firing'")
check_eq "F: alert points SENSOR_FAULT_DS18B20 firing" 1 "$faults"
stop_hub 20
finish
