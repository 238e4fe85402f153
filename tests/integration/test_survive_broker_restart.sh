#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_survive_broker_restart: Mosquitto (persistence true) is restarted while it still holds
# QoS 1 readings it has not delivered to the hub's persistent session. It is stopped with
# SIGTERM, so it saves its persistence file, and started again on the same port and folder.
# The publisher (kompos-sim count mode gives up on a lost connection) runs in chunks between
# the restarts; the hub is frozen with SIGSTOP while a chunk is published, so that the broker
# certainly holds undelivered messages for it when it goes down:
#  1. hub frozen, 30,000 readings published, broker restarted, hub thawed: the hub notices the
#     lost connection only now and reconnects with backoff;
#  2. hub frozen, 50,000 readings published, hub thawed and draining, broker stopped once the hub
#     has taken in the first 2,000 of them, and kept down for 8 s (the hub's backoff reaches its cap, mqtt.reconnect_max_s = 5), then
#     started again.
# Each time the hub must log "connected to ... (recovered)" within the cap + 10 s of the
# broker's restart, and in the end every reading is in InfluxDB exactly once: count(temp_core_c)
# per chunk equals the number published (a redelivered reading taken in twice would carry a
# second receipt time and raise it).
# Real mosquitto + influxd + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
# shellcheck source=../../scripts/lib/survive.sh
. "$KOMPOS_ROOT/scripts/lib/survive.sh"
install_cleanup_trap
make_tmpdir

N1=30000
N2=50000
CAP_S=5                 # mqtt.reconnect_max_s in write_hub_config
DOWN2_S=8
SITE1=surv-broker-1
SITE2=surv-broker-2
HUB_SITE=surv-broker-hub
T_START=$(now_ms)
# Thaw a frozen hub whatever happens, so that the cleanup can stop it with SIGTERM.
# shellcheck disable=SC2317 # called by kompos_cleanup
thaw_hub() { [ -n "${HUB_PID:-}" ] && kill -CONT "$HUB_PID" 2>/dev/null; return 0; }
KOMPOS_CLEANUP_HOOKS+=(thaw_hub)

MQ_PORT=$(free_port)
HTTP_PORT=$(free_port)
# every packet in mosquitto.log: the redeliveries (DUP) to the hub are counted
export MOSQUITTO_EXTRA_CONF="log_type debug"
start_mosquitto "$KOMPOS_TMP/mqtt" "$MQ_PORT"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$HUB_SITE" client_id=kompos-hub-surv-broker \
    qos=1 clean_session=false flush_interval_ms=500 self_interval_s=5 http_port="$HTTP_PORT"
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"
H="$KOMPOS_TMP/hub.log"
RECOVERED='connected to 127\.0\.0\.1:[0-9]+.*\(recovered\)'

# restart_broker DOWN_S: SIGTERM mosquitto (it saves mosquitto.db), wait DOWN_S, start it again
# on the same port and folder; sets T_RESTART (when it listens again).
restart_broker() {
    stop_pid "$MQTT_PID" 30
    check_eq "mosquitto exit status after SIGTERM" 0 "$?"
    check_ge "bytes in mosquitto's persistence file" 1 \
        "$(stat -c %s "$KOMPOS_TMP/mqtt/mosquitto.db" 2>/dev/null || echo 0)"
    sleep "$1"
    start_mosquitto "$KOMPOS_TMP/mqtt" "$MQ_PORT"
    T_RESTART=$(now_ms)
}

# check_recovered K: the K-th "(recovered)" line shows up within CAP_S + 10 s of T_RESTART.
check_recovered() {
    if wait_log "$H" "$RECOVERED" "$1" $(( CAP_S + 10 )); then
        ok "restart $1: hub reconnected $(seconds_since "$T_RESTART") s after the broker came back (cap ${CAP_S} s + 10 s): $(grep -aE "$RECOVERED" "$H" | sed -n "${1}p" | cut -d' ' -f2-)"
    else
        fail "restart $1: no '(recovered)' connection line within $(( CAP_S + 10 )) s of the broker's restart"
    fi
}

# 1. The broker restarts while the frozen hub has 30,000 readings waiting at the broker.
kill -STOP "$HUB_PID"
log "hub frozen (SIGSTOP)"
sim_publish "$SITE1" "$N1" 0 "$KOMPOS_TMP/sim-1.log"
check_eq "chunk 1 readings in InfluxDB while the hub is frozen" 0 "$(site_count "$SITE1")"
restart_broker 0
kill -CONT "$HUB_PID"
log "hub thawed (SIGCONT) $(seconds_since "$T_RESTART") s after the broker's restart"
check_recovered 1
n=$(wait_site "$SITE1" "$N1" 90 20)
resent1=$(mqtt_resent "$KOMPOS_TMP/mqtt" kompos-hub-surv-broker)
log "restart 1: the broker sent the hub $resent1 message(s) again (DUP: their PUBACK had not reached it before it stopped); readings in InfluxDB beyond those published: $(( n - N1 ))"
check_eq "chunk 1 readings in InfluxDB (exactly those published)" "$N1" "$n"

# 2. The broker goes away for 8 s while the hub is draining 50,000 readings: it is stopped as
#    soon as the thawed hub has taken in the first 2,000 of them.
rx_base=$(hub_metric "$HTTP_PORT" messages_received_total)
kill -STOP "$HUB_PID"
log "hub frozen (SIGSTOP), $rx_base messages received so far"
sim_publish "$SITE2" "$N2" 0 "$KOMPOS_TMP/sim-2.log"
kill -CONT "$HUB_PID"
deadline=$(( $(now_ms) + 20000 ))
while :; do
    rx_at_stop=$(hub_metric "$HTTP_PORT" messages_received_total)
    [ -n "$rx_at_stop" ] && [ "$rx_at_stop" -ge $(( rx_base + 2000 )) ] && break
    [ "$(now_ms)" -ge "$deadline" ] && break
done
stop_pid "$MQTT_PID" 30
check_eq "mosquitto exit status after SIGTERM (while the hub drains)" 0 "$?"
rx_after=$(hub_metric "$HTTP_PORT" messages_received_total)
log "broker stopped while the hub drains: the hub had received $(( ${rx_at_stop:-0} - rx_base )) (then $(( ${rx_after:-0} - rx_base ))) of the $N2 messages of chunk 2"
if [ -n "$rx_at_stop" ] && [ "$rx_at_stop" -lt $(( rx_base + N2 )) ]; then
    ok "the broker was stopped with $(( rx_base + N2 - rx_at_stop )) readings of chunk 2 not yet delivered to the hub"
else
    fail "the hub had received '${rx_at_stop}' messages (base $rx_base + $N2) when the broker was stopped (expected fewer)"
fi
check_ge "bytes in mosquitto's persistence file" 1 \
    "$(stat -c %s "$KOMPOS_TMP/mqtt/mosquitto.db" 2>/dev/null || echo 0)"
sleep "$DOWN2_S"
hub_alive "while the broker is away for ${DOWN2_S} s"
log "hub's reconnect attempts meanwhile: $(grep -ac 'unavailable' "$H") line(s); last: $(grep -a 'unavailable' "$H" | tail -n 1 | cut -d' ' -f2-)"
start_mosquitto "$KOMPOS_TMP/mqtt" "$MQ_PORT"
T_RESTART=$(now_ms)
check_recovered 2
n=$(wait_site "$SITE2" "$N2" 90 20)
log "restart 2: the broker sent the hub $(( $(mqtt_resent "$KOMPOS_TMP/mqtt" kompos-hub-surv-broker) - resent1 )) message(s) again (DUP); readings in InfluxDB beyond those published: $(( n - N2 ))"
check_eq "chunk 2 readings in InfluxDB (exactly those published)" "$N2" "$n"

sleep 2
check_eq "chunk 1 readings in InfluxDB at the end" "$N1" "$(site_count "$SITE1")"
check_eq "chunk 2 readings in InfluxDB at the end" "$N2" "$(site_count "$SITE2")"
stop_hub 60
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
log_summary "$H"
check_eq "hub summary received (each reading taken in once)" $(( N1 + N2 )) "$(summary_get "$H" received)"
check_eq "hub summary dropped" 0 "$(summary_get "$H" dropped)"
check_eq "hub summary spool_dropped" 0 "$(summary_get "$H" spool_dropped)"
check_eq "hub summary spool_pending" 0 "$(summary_get "$H" spool_pending)"
# every DUP redelivery of a message the hub had already taken in was recognised and skipped
check_ge "hub summary redeliveries_skipped (at least restart 1's 100 in-flight messages)" 100 \
    "$(summary_get "$H" redeliveries_skipped)"
log "test took $(seconds_since "$T_START") s"
finish
