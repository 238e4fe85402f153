#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_reconnect: the MQTT side survives what a site sees.
#  1. The broker restarts and has lost its state (no persistence file): the hub reconnects with
#     backoff and subscribes again, and readings published afterwards arrive.
#  2. The hub restarts while readings keep coming: its QoS 1 persistent session
#     (clean_session = false) makes the broker keep them, and the new hub process gets them all.
# Real mosquitto + influxd + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

N=2000
MQ_PORT=$(free_port)
start_mosquitto "$KOMPOS_TMP/mqtt" "$MQ_PORT"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site=reconnect-hub client_id=kompos-hub-reconnect \
    qos=1 clean_session=false
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub-1.log"

publish() { # publish SITE: N QoS 1 readings, then wait for them in InfluxDB
    SIM_LOG="$KOMPOS_TMP/sim-$1.log" run_sim --site "$1" --qos 1 --count "$N" --rate 0 --series 10 \
        --timeout 60 --quiet
    check_eq "kompos-sim --site $1 exit status" 0 "$?"
}
count() { influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'"; }
# wait_log FILE PATTERN MIN TIMEOUT_S: until PATTERN occurs at least MIN times in FILE.
wait_log() {
    local deadline=$(( $(now_ms) + $4 * 1000 ))
    while [ "$(grep -ac "$2" "$1")" -lt "$3" ]; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

publish before
check_eq "readings before any restart" "$N" "$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='before'" "$N" 60)"

# 1. The broker goes away and comes back empty.
stop_pid "$MQTT_PID" 15
log "broker stopped"
if wait_log "$KOMPOS_TMP/hub-1.log" 'connection to .* lost' 1 15; then
    ok "hub logged the lost connection: $(grep -a 'connection to .* lost' "$KOMPOS_TMP/hub-1.log" | tail -n 1 | cut -d' ' -f2-)"
else
    fail "hub did not log the lost connection"
fi
sleep 3
if pid_running "$HUB_PID"; then ok "hub still running while the broker is away"; else fail "hub died without its broker"; fi
rm -f "$KOMPOS_TMP/mqtt/mosquitto.db"
start_mosquitto "$KOMPOS_TMP/mqtt" "$MQ_PORT"
t0=$(now_ms)
if wait_log "$KOMPOS_TMP/hub-1.log" 'subscribed to' 2 30; then
    ok "hub reconnected and subscribed again $(( ($(now_ms) - t0) / 1000 )) s after the broker came back"
else
    fail "hub did not reconnect within 30 s"
fi
sleep 0.5
publish after-broker-restart
check_eq "readings after the broker restart" "$N" \
    "$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='after-broker-restart'" "$N" 60)"

# 2. The hub goes away; the broker keeps its session's messages.
stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
publish while-hub-down
sleep 1
check_eq "readings in InfluxDB while the hub is down" 0 "$(count while-hub-down)"
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub-2.log"
check_eq "readings queued by the broker for the hub's persistent session" "$N" \
    "$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='while-hub-down'" "$N" 60)"
stop_hub 30
check_eq "second hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "second hub summary received" "$N" "$(summary_get "$KOMPOS_TMP/hub-2.log" received)"
check_eq "readings before (unchanged)" "$N" "$(count before)"
finish
