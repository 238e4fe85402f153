#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_sigterm_flush: with a flush interval of 10 minutes and a batch of 100,000 points nothing is
# written while the hub runs; SIGTERM must flush everything it holds, write a last `hub` point,
# and exit 0 within influx.shutdown_grace_ms. Real mosquitto + influxd + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

N=2000
SITE=flush
GRACE_MS=20000
CLIENT_ID=kompos-hub-flush

# Broker debug log: one "Received PUBACK from <client>" line per message the hub took in.
MOSQUITTO_EXTRA_CONF="log_type debug" start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site=flush-hub client_id="$CLIENT_ID" \
    flush_interval_ms=600000 batch_size=100000 max_queue_points=200000 \
    shutdown_grace_ms="$GRACE_MS" self_interval_s=5
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --site "$SITE" --qos 1 --format number --count "$N" \
    --rate 0 --series 20 --timeout 60 --quiet
rc=$?
check_eq "kompos-sim exit status" 0 "$rc"
log "sim: $(tail -n 1 "$KOMPOS_TMP/sim.log")"

# Wait (at most 30 s) until the broker got the hub's PUBACK for every message.
acks=0
deadline=$(( $(now_ms) + 30000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
    acks=$(grep -c "Received PUBACK from $CLIENT_ID " "$KOMPOS_TMP/mqtt/mosquitto.log")
    [ "$acks" -ge "$N" ] && break
    sleep 0.2
done
check_eq "PUBACKs from the hub in the broker log" "$N" "$acks"
sleep 0.5

before=$(influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$SITE'")
check_eq "readings in InfluxDB before SIGTERM (flush interval 600 s)" 0 "$before"
if pid_running "$HUB_PID"; then ok "hub still running before SIGTERM"; else fail "hub died"; fi

stop_hub $(( GRACE_MS / 1000 + 10 ))
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
log "hub stopped ${HUB_STOP_S} s after SIGTERM (grace $(( GRACE_MS / 1000 )) s)"
if awk -v s="$HUB_STOP_S" -v g="$GRACE_MS" 'BEGIN { exit !(s * 1000 <= g + 1000) }'; then
    ok "hub exited within the grace period: ${HUB_STOP_S} s"
else
    fail "hub took ${HUB_STOP_S} s to exit (grace $(( GRACE_MS / 1000 )) s)"
fi
[ "$STOP_KILLED" -eq 0 ] || fail "hub needed SIGKILL"

after=$(influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$SITE'")
check_eq "readings in InfluxDB after SIGTERM" "$N" "$after"
check_eq "hub summary received" "$N" "$(summary_get "$KOMPOS_TMP/hub.log" received)"
check_eq "hub summary accepted" "$N" "$(summary_get "$KOMPOS_TMP/hub.log" accepted)"
check_eq "hub summary dropped" 0 "$(summary_get "$KOMPOS_TMP/hub.log" dropped)"
last=$(influx_query kompos "SELECT last(messages_received) FROM hub WHERE site='flush-hub'")
check_eq "last hub point written at shutdown: messages_received" "$N" "$last"
finish
