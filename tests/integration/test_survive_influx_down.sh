#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_survive_influx_down: InfluxDB is stopped for 60 s in the middle of a 100,000-reading QoS 1
# stream (5,000/s), then started again on the same port and data folder. Memory holds at most
# 20,000 points (influx.max_queue_points), so the rest of the outage waits in the spool on disk
# and is read back (replayed) once InfluxDB is back. Every reading arrives exactly once:
# count(temp_core_c) equals the number published (a lost reading lowers it, a duplicate, which
# would carry a new receipt time, raises it).
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

N=100000
RATE=5000
OUTAGE_S=60
DOWN_AFTER_S=6          # the stream has run this long when InfluxDB stops
SITE=surv-influx-down
HUB_SITE=surv-influx-down-hub
T_START=$(now_ms)

IX_PORT=$(free_port)
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$HUB_SITE" client_id=kompos-hub-surv-influx-down \
    qos=1 clean_session=false max_queue_points=20000 flush_interval_ms=500 retry_max_ms=2000 \
    timeout_ms=2000 self_interval_s=5
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

sim_start "$KOMPOS_TMP/sim.log" --site "$SITE" --qos 1 --format number --count "$N" \
    --rate "$RATE" --series 100 --timeout 120 --quiet
t_stream=$(now_ms)
sleep "$DOWN_AFTER_S"
before=$(site_count "$SITE")
check_ge "readings in InfluxDB before the outage" 1 "$before"
stop_pid "$INFLUX_PID" 30
t_down=$(now_ms)
log "influxd stopped $(seconds_since "$t_stream") s into the stream, with $before readings written; down for ${OUTAGE_S} s"
if pid_running "$SIM_PID"; then ok "the stream is still running when InfluxDB stops"; else fail "the stream ended before InfluxDB stopped"; fi

sim_wait
check_eq "kompos-sim exit status (all $N readings acknowledged by the broker)" 0 "$?"
log "stream of $N readings done $(seconds_since "$t_stream") s after it started"
# The hub keeps taking readings in; memory holds 20,000 points, the rest goes to the spool.
while [ $(( $(now_ms) - t_down )) -lt $(( (OUTAGE_S - 2) * 1000 )) ] && pid_running "$HUB_PID"; do
    sleep 1
done
hub_alive "after $(seconds_since "$t_down") s without InfluxDB"
sp_bytes=$(spool_disk_bytes "$KOMPOS_TMP/spool")
check_ge "spool bytes on disk during the outage" 1000000 "$sp_bytes"
while [ $(( $(now_ms) - t_down )) -lt $(( OUTAGE_S * 1000 )) ]; do sleep 0.2; done
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
log "influxd back after $(seconds_since "$t_down") s, same port $IX_PORT and data folder"
t_up=$(now_ms)

n=$(wait_site "$SITE" "$N" 150 30)
check_eq "readings in InfluxDB after the outage (exactly those published)" "$N" "$n"
log "all readings written $(seconds_since "$t_up") s after InfluxDB came back"
sleep 2
check_eq "readings in InfluxDB 2 s later (no late duplicate)" "$N" "$(site_count "$SITE")"

stop_hub 60
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
S="$KOMPOS_TMP/hub.log"
log_summary "$S"
check_eq "hub summary accepted" "$N" "$(summary_get "$S" accepted)"
check_eq "hub summary dropped" 0 "$(summary_get "$S" dropped)"
check_eq "hub summary spool_dropped" 0 "$(summary_get "$S" spool_dropped)"
check_eq "hub summary spool_errors" 0 "$(summary_get "$S" spool_errors)"
check_eq "hub summary spool_pending (everything acknowledged)" 0 "$(summary_get "$S" spool_pending)"
check_ge "hub summary write_errors (the outage was seen)" 1 "$(summary_get "$S" write_errors)"
check_ge "hub summary replayed (points read back from the spool)" 1 "$(summary_get "$S" replayed)"
check_ge "hub.points_replayed in InfluxDB" 1 "$(hub_last "$HUB_SITE" points_replayed)"
check_eq "readings in InfluxDB after the hub stopped" "$N" "$(site_count "$SITE")"
log "test took $(seconds_since "$T_START") s"
finish
