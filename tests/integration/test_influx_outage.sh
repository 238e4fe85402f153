#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_influx_outage: InfluxDB goes away for a while. The hub keeps taking readings in (up to
# influx.max_queue_points), retries with backoff, logs the failure without flooding the log, and
# writes everything once InfluxDB is back: no reading lost, none twice.
# Real mosquitto + influxd + kompos-hub + kompos-sim.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

N=5000
OUTAGE_S=8
IX_PORT=$(free_port)
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site=outage-hub flush_interval_ms=500 retry_max_ms=2000 \
    timeout_ms=2000 max_queue_points=100000 self_interval_s=2
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

publish() {
    SIM_LOG="$KOMPOS_TMP/sim-$1.log" run_sim --site "$1" --qos 1 --count "$N" --rate 0 --series 50 \
        --timeout 60 --quiet
    check_eq "kompos-sim --site $1 exit status" 0 "$?"
}
count() { influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'"; }

publish before
check_eq "readings before the outage" "$N" "$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='before'" "$N" 60)"

stop_pid "$INFLUX_PID" 30
log "influxd stopped for ${OUTAGE_S} s"
publish during
sleep "$OUTAGE_S"
if pid_running "$HUB_PID"; then ok "hub still running during the outage"; else fail "hub died during the outage"; fi
errs=$(grep -aci 'influx' "$KOMPOS_TMP/hub.log")
log "hub log lines about InfluxDB during the outage: $errs"
if [ "$errs" -le 20 ]; then ok "hub log not flooded: $errs lines mention InfluxDB"; else fail "hub logged $errs lines about InfluxDB in ${OUTAGE_S} s"; fi

start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='during'" "$N" 60)
check_eq "readings taken in during the outage, written after it" "$N" "$n"
check_eq "readings before the outage (unchanged)" "$N" "$(count before)"
publish after
check_eq "readings after the outage" "$N" "$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='after'" "$N" 60)"

stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
S="$KOMPOS_TMP/hub.log"
log "summary: $(grep -a 'hub: summary' "$S" | tail -n 1 | sed 's/.*hub: summary //')"
check_ge "hub summary write_errors (the outage was seen)" 1 "$(summary_get "$S" write_errors)"
check_eq "hub summary dropped" 0 "$(summary_get "$S" dropped)"
check_eq "hub summary accepted" $(( 3 * N )) "$(summary_get "$S" accepted)"
finish
