#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_status_http: the hub's status HTTP server, fetched over loopback with curl.
#
#  - listens on 127.0.0.1:http.port only (checked in /proc/net/tcp and tcp6)
#  - after 100 readings from kompos-sim (10 series): /metrics says
#    kompos_hub_messages_received_total{site="status-hub"} 100, /api/v1/state lists the 10
#    series with 100 readings accepted in all, / is the HTML page, /healthz is 200 "ok"
#  - every answer has Cache-Control: no-store and X-Content-Type-Options: nosniff; nothing
#    from the config but the site name shows (no InfluxDB URL)
#  - unknown path 404; HEAD and POST 405 with Allow: GET
#  - InfluxDB stops: /healthz turns 503 "influx: writes failing for N s" within 30 s; InfluxDB
#    back: 200 again within 30 s; the hub exits 0 with nothing dropped
# Real mosquitto + influxd + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir
command -v curl >/dev/null || die "curl not found (Debian package curl)"

N=100
SITE=status-hub
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
HTTP_PORT=$(free_port) || die "no free port"
# Self-metrics every second: with InfluxDB away there is always something failing to be written.
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$SITE" http_port="$HTTP_PORT" self_interval_s=1 \
    retry_max_ms=1000
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"
wait_tcp "$HTTP_PORT" 10 "$HUB_PID" || die "the status server does not listen on 127.0.0.1:$HTTP_PORT"
BASE="http://127.0.0.1:$HTTP_PORT"

# get PATH [CURL ARGS...]: body in $KOMPOS_TMP/body, headers in $KOMPOS_TMP/headers; prints the
# HTTP status (000 when the request failed).
get() {
    local path=$1
    shift
    curl -sS --max-time 10 -o "$KOMPOS_TMP/body" -D "$KOMPOS_TMP/headers" -w '%{http_code}' \
        "$@" "$BASE$path" 2>>"$KOMPOS_TMP/curl.log" || true
}
# header NAME: the value of a header of the last answer (without the CR).
header() { grep -i "^$1:" "$KOMPOS_TMP/headers" | head -n 1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'; }
# metric NAME: the value of kompos_hub_NAME{site="SITE"} in the last /metrics body.
metric() { sed -n "s/^kompos_hub_$1{site=\"$SITE\"} //p" "$KOMPOS_TMP/body"; }
# state PYTHON-EXPR: evaluate an expression on the last body parsed as JSON (as 's').
state() { "$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
              "$KOMPOS_TMP/body" "$1"; }

# ---- where it listens --------------------------------------------------------------------------
hexport=$(printf '%04X' "$HTTP_PORT")
listen4=$(awk -v p=":$hexport" 'NR > 1 && $4 == "0A" && substr($2, 9) == p { print $2 }' /proc/net/tcp)
listen6=$(awk -v p=":$hexport" 'NR > 1 && $4 == "0A" && substr($2, 33) == p { print $2 }' \
              /proc/net/tcp6 2>/dev/null)
check_eq "listening sockets on port $HTTP_PORT (IPv4, /proc/net/tcp)" "0100007F:$hexport" "$listen4"
check_eq "listening sockets on port $HTTP_PORT (IPv6, /proc/net/tcp6)" "" "$listen6"
if grep -q "http: status server on 127.0.0.1:$HTTP_PORT " "$HUB_LOG"; then
    ok "the hub logged its status server address"
else
    fail "no 'http: status server on 127.0.0.1:$HTTP_PORT' line in the hub log"
fi

# ---- 100 readings ------------------------------------------------------------------------------
SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --site status-sim --qos 1 --count "$N" --rate 0 --series 10 \
    --quiet
check_eq "kompos-sim exit status" 0 "$?"
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='status-sim'" "$N" 60)
check_eq "readings in InfluxDB" "$N" "$n"

deadline=$(( $(now_ms) + 15000 ))
while :; do
    code=$(get /metrics)
    [ "$code" = 200 ] && [ "$(metric messages_received_total)" = "$N" ] && break
    [ "$(now_ms)" -ge "$deadline" ] && break
    sleep 0.2
done
check_eq "GET /metrics status" 200 "$code"
check_eq "GET /metrics Content-Type" "text/plain; version=0.0.4; charset=utf-8" "$(header Content-Type)"
check_eq "kompos_hub_messages_received_total{site=\"$SITE\"}" "$N" "$(metric messages_received_total)"
check_eq "kompos_hub_readings_accepted_total{site=\"$SITE\"}" "$N" "$(metric readings_accepted_total)"
check_eq "kompos_hub_messages_rejected_total{site=\"$SITE\"}" 0 "$(metric messages_rejected_total)"
check_eq "kompos_hub_series{site=\"$SITE\"}" 10 "$(metric series)"
check_eq "kompos_hub_mqtt_connected{site=\"$SITE\"}" 1 "$(metric mqtt_connected)"
check_ge "kompos_hub_points_written_total{site=\"$SITE\"}" "$N" "$(metric points_written_total)"
check_ge "kompos_hub_spool_points_appended_total{site=\"$SITE\"}" "$N" \
    "$(metric spool_points_appended_total)"
check_ge "kompos_hub_resident_memory_bytes{site=\"$SITE\"}" 100000 "$(metric resident_memory_bytes)"
check_eq "HELP/TYPE of kompos_hub_messages_received_total" \
    "# TYPE kompos_hub_messages_received_total counter" \
    "$(grep -x '# TYPE kompos_hub_messages_received_total.*' "$KOMPOS_TMP/body")"
bad=$(grep -Ev '^(# (HELP|TYPE) kompos_hub_[a-z0-9_]+ .+|kompos_hub_[a-z0-9_]+\{site="'"$SITE"'"(,[a-z_]+="[^"]*")*\} [0-9.e+-]+)$' \
          "$KOMPOS_TMP/body" | head -n 3)
check_eq "/metrics lines that are not HELP, TYPE or a kompos_hub_ sample" "" "$bad"

code=$(get /api/v1/state)
check_eq "GET /api/v1/state status" 200 "$code"
check_eq "GET /api/v1/state Content-Type" "application/json" "$(header Content-Type)"
check_eq "state series_count" 10 "$(state 's["series_count"]')"
check_eq "state len(series)" 10 "$(state 'len(s["series"])')"
check_eq "state counters.messages_received" "$N" "$(state 's["counters"]["messages_received"]')"
check_eq "state sum of series accepted" "$N" "$(state 'sum(x["accepted"] for x in s["series"])')"
check_eq "state series sites, kinds, fields" "status-sim drum temp_core_c" \
    "$(state '" ".join(sorted({"%s %s %s" % (x["site"], x["kind"], x["field"]) for x in s["series"]}))')"
check_eq "state mqtt.connected" True "$(state 's["mqtt"]["connected"]')"
check_eq "state site" "$SITE" "$(state 's["site"]')"
check_eq "state version" "$("$(hub_bin)" --version | grep -o '[0-9][0-9.]*' | head -n 1)" \
    "$(state 's["version"]')"
check_eq "state healthy" True "$(state 's["healthy"]')"

code=$(get /healthz)
check_eq "GET /healthz status" 200 "$code"
check_eq "GET /healthz body" ok "$(cat "$KOMPOS_TMP/body")"
check_eq "/healthz Cache-Control" no-store "$(header Cache-Control)"
check_eq "/healthz X-Content-Type-Options" nosniff "$(header X-Content-Type-Options)"

code=$(get /)
check_eq "GET / status" 200 "$code"
check_eq "GET / Content-Type" "text/html; charset=utf-8" "$(header Content-Type)"
check_eq "GET / first line" "<!DOCTYPE html>" "$(head -n 1 "$KOMPOS_TMP/body")"
check_eq "GET / Cache-Control" no-store "$(header Cache-Control)"

# Nothing of the config but the site: the InfluxDB URL is in the config file, never in an answer.
leaks=""
for p in / /healthz /metrics /api/v1/state; do
    get "$p" >/dev/null
    if grep -qF -e "$INFLUX_URL" -e "127.0.0.1:$INFLUX_PORT" -e "$KOMPOS_TMP" "$KOMPOS_TMP/body"; then
        leaks="$leaks $p"
    fi
done
check_eq "answers showing the InfluxDB URL or the config's paths" "" "$leaks"

# ---- 404 and 405 -------------------------------------------------------------------------------
check_eq "GET /nope status" 404 "$(get /nope)"
check_eq "GET /metrics/ status" 404 "$(get /metrics/)"
check_eq "HEAD /healthz status" 405 "$(get /healthz -I)"
check_eq "HEAD /healthz Allow" GET "$(header Allow)"
check_eq "POST /metrics status" 405 "$(get /metrics -X POST --data-binary 'x=1')"
check_eq "POST /metrics Allow" GET "$(header Allow)"
check_eq "DELETE /api/v1/state status" 405 "$(get /api/v1/state -X DELETE)"

# ---- InfluxDB away, then back ------------------------------------------------------------------
log "stopping influxd"
stop_pid "$INFLUX_PID" 30
t0=$(now_ms)
deadline=$(( t0 + 30000 ))
while :; do
    code=$(get /healthz)
    [ "$code" = 503 ] && break
    [ "$(now_ms)" -ge "$deadline" ] && break
    sleep 0.2
done
check_eq "GET /healthz status with InfluxDB stopped (within 30 s)" 503 "$code"
log "503 after $(( $(now_ms) - t0 )) ms"
body=$(cat "$KOMPOS_TMP/body")
if [[ "$body" =~ ^influx:\ writes\ failing\ for\ [0-9]+\ s$ ]]; then
    ok "/healthz reason: $body"
else
    fail "/healthz reason: got '$body', expected 'influx: writes failing for N s'"
fi
get /metrics >/dev/null
check_eq "kompos_hub_influx_write_failing with InfluxDB stopped" 1 "$(metric influx_write_failing)"
check_eq "kompos_hub_healthy with InfluxDB stopped" 0 "$(metric healthy)"
check_ge "kompos_hub_write_errors_total with InfluxDB stopped" 1 "$(metric write_errors_total)"
get /api/v1/state >/dev/null
check_eq "state writer.failing with InfluxDB stopped" True "$(state 's["writer"]["failing"]')"

log "starting influxd again"
start_influxd "$KOMPOS_TMP/influx" "$INFLUX_PORT"
deadline=$(( $(now_ms) + 30000 ))
while :; do
    code=$(get /healthz)
    [ "$code" = 200 ] && break
    [ "$(now_ms)" -ge "$deadline" ] && break
    sleep 0.2
done
check_eq "GET /healthz status with InfluxDB back (within 30 s)" 200 "$code"

if pid_running "$HUB_PID"; then ok "hub still running"; else fail "hub died"; fi
stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "hub summary received" "$N" "$(summary_get "$HUB_LOG" received)"
check_eq "hub summary dropped" 0 "$(summary_get "$HUB_LOG" dropped)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/healthz" 2>/dev/null)
check_eq "status server gone after the hub stopped" 000 "$code"
finish
