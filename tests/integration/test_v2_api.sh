#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_v2_api: the InfluxDB v2 write path (/api/v2/write, org, bucket, token header, gzip) against
# fake_influx_v2.py, which checks the exact request shape (the Debian InfluxDB 1.6 has no v2
# endpoint) and injects faults: 503 first, then 429 with Retry-After, then 413 for large bodies.
# 10,000 readings must arrive exactly once, with no malformed request, and the token must never
# appear in the hub's log. Real mosquitto + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

N=10000
MAX_LINES=1000
ORG="kube group"
BUCKET="telemetry/raw"
TOKEN="kompos-v2-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
REPORT="$KOMPOS_TMP/v2-report.json"

start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"

"$PY" "$KOMPOS_ROOT/tests/integration/fake_influx_v2.py" --port 0 --port-file "$KOMPOS_TMP/v2.port" \
    --org "$ORG" --bucket "$BUCKET" --token "$TOKEN" --gzip --faults --max-lines "$MAX_LINES" \
    --report "$REPORT" --timeout 300 >"$KOMPOS_TMP/fake_v2.log" 2>&1 &
FAKE_PID=$!
register_pid "$FAKE_PID"
for _ in $(seq 1 100); do [ -s "$KOMPOS_TMP/v2.port" ] && break; sleep 0.1; done
[ -s "$KOMPOS_TMP/v2.port" ] || die "fake_influx_v2.py did not start"
V2_PORT=$(cat "$KOMPOS_TMP/v2.port")
log "fake InfluxDB v2 pid $FAKE_PID on 127.0.0.1:$V2_PORT (max $MAX_LINES lines per request)"

printf '%s\n' "$TOKEN" >"$KOMPOS_TMP/token"
chmod 600 "$KOMPOS_TMP/token"
write_hub_config "$KOMPOS_TMP/hub.cfg" site=v2-hub api=v2 url="http://127.0.0.1:$V2_PORT" \
    org="$ORG" bucket="$BUCKET" token_file="$KOMPOS_TMP/token" database="" gzip=true \
    batch_size=5000 flush_interval_ms=500 retry_max_ms=2000 self_interval_s=2
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --site v2 --qos 1 --format number --count "$N" --rate 0 \
    --series 100 --timeout 120 --quiet
check_eq "kompos-sim exit status" 0 "$?"

# report KEY: a value from the fake server's JSON report (by_measurement.drum etc.).
report() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(json.dumps(d) if isinstance(d, (list, dict)) else d)' "$REPORT" "$1" 2>/dev/null
}

# Wait (at most 90 s) for the drum lines to arrive, through the 503, the 429 and the 413s.
deadline=$(( $(now_ms) + 90000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(report by_measurement.drum)" -ge "$N" ] 2>/dev/null && break
    sleep 0.5
done
sleep 1
if pid_running "$HUB_PID"; then ok "hub still running"; else fail "hub died"; fi
stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
stop_pid "$FAKE_PID" 10

log "fake v2 report: requests=$(report requests) statuses=$(report statuses) lines_accepted=$(report lines_accepted) by_measurement=$(report by_measurement) max_lines_in_request=$(report max_lines_in_request) gap_after_429_s=$(report gap_after_429_s)"
check_eq "request shape failures" 0 "$(report failure_count)"
[ "$(report failure_count)" = 0 ] || log "failures: $(report failures)"
check_eq "drum lines accepted" "$N" "$(report by_measurement.drum)"
check_eq "distinct drum points (series, timestamp)" "$N" "$(report drum_unique)"
check_eq "duplicate drum lines" 0 "$(report duplicates)"
check_eq "503 answers (first request)" 1 "$(report seen_503)"
check_eq "429 answers (second request)" 1 "$(report seen_429)"
check_ge "413 answers (bodies over $MAX_LINES lines, batch split)" 1 "$(report seen_413)"
gap=$(report gap_after_429_s)
if awk -v g="$gap" 'BEGIN { exit !(g >= 0.9) }'; then ok "next request ${gap} s after the 429 with Retry-After: 1"
else fail "next request ${gap} s after the 429 with Retry-After: 1 (expected >= 1 s)"; fi
check_eq "hub measurement lines accepted" 1 "$([ "$(report by_measurement.hub)" -ge 1 ] && echo 1 || echo 0)"

S="$KOMPOS_TMP/hub.log"
log "summary: $(grep -a 'hub: summary' "$S" | tail -n 1 | sed 's/.*hub: summary //')"
check_eq "hub summary received" "$N" "$(summary_get "$S" received)"
check_eq "hub summary dropped" 0 "$(summary_get "$S" dropped)"
check_eq "hub summary written = lines the server accepted" "$(report lines_accepted)" "$(summary_get "$S" written)"
if grep -aqF -- "$TOKEN" "$S"; then fail "the token appears in the hub's log"
else ok "the token does not appear in the hub's log ($(wc -l <"$S") lines)"; fi
finish
