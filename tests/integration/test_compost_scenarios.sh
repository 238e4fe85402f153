#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_compost_scenarios: the compost intelligence against the simulator's ground truth, with the
# real parts (mosquitto, influxd, kompos-hub, kompos-sim). Each scenario runs 6 drums and 2 tanks
# for 60 simulated days (readings every 5 simulated minutes, unpaced) on its own site name, then:
#   normal         every drum reaches MATURE within 3 simulated days of the model's maturity;
#                  tank litres drawn match the simulator's within 2 %
#   stall          every drum ends STALLED
#   overheat       every drum the model overheated raises the OVERHEAT flag
#   sensor_faults  each injected fault is in sensor_fault with the right reason (within its
#                  window), and no drum changes phase because of a faulty probe: the drums still
#                  mature within 3 days of the truth, and none goes STALLED or back to MESOPHILIC
# KOMPOS_SCENARIOS="normal stall" picks scenarios; KOMPOS_SCENARIO_DAYS changes the length.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

# The AddressSanitizer pass (scripts/test sets KOMPOS_PASS) looks for memory errors, not for
# model differences: one scenario, the one that reaches the most code, is enough there.
if [ "${KOMPOS_PASS:-}" = asan ]; then
    SCENARIOS=${KOMPOS_SCENARIOS:-sensor_faults}
else
    SCENARIOS=${KOMPOS_SCENARIOS:-normal stall overheat sensor_faults}
fi
DAYS=${KOMPOS_SCENARIO_DAYS:-60}
SEED=20261128
# A fixed start (2026-09-01 00:00 UTC) makes every run publish the same messages, so a result is
# reproducible; the hub accepts readings from the past.
START_MS=${KOMPOS_SCENARIO_START_MS:-1788220800000}

start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
# Hourly statistics windows and state points keep the point count sane for 60 days x 8 devices.
write_hub_config "$KOMPOS_TMP/hub.cfg" site=compost-hub client_id=kompos-hub-compost \
    window_s=3600 history_s=3600 self_interval_s=2 max_series=2000
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

# hub_received: the hub's messages_received, from its newest self-metrics point.
hub_received() {
    influx_query kompos "SELECT last(messages_received) FROM hub WHERE site='compost-hub'"
}

# wait_received N: until the hub took in at least N messages (at most 120 s).
wait_received() {
    local want=$1 got deadline
    deadline=$(( $(now_ms) + 120000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        got=$(hub_received)
        [ "${got:-0}" -ge "$want" ] && return 0
        sleep 1
    done
    fail "the hub received ${got:-0} of $want messages within 120 s"
    return 1
}

# check_truth SCENARIO SITE TRUTH_JSON: compare InfluxDB with the simulator's ground truth.
check_truth() {
    python3 "$KOMPOS_ROOT/tests/integration/compost_truth.py" "$INFLUX_URL" kompos "$1" "$2" "$3"
}

total=0
for sc in $SCENARIOS; do
    site="sc_$sc"
    truth="$KOMPOS_TMP/truth_$sc.json"
    log "scenario $sc: $DAYS days, site $site"
    t0=$(now_ms)
    SIM_LOG="$KOMPOS_TMP/sim_$sc.log" SIM_TIMEOUT=600 run_sim --site "$site" --scenario "$sc" \
        --days "$DAYS" --speed max --seed "$SEED" --start-ms "$START_MS" --drums 6 --tanks 2 \
        --truth "$truth" --quiet
    rc=$?
    check_eq "kompos-sim --scenario $sc exit status" 0 "$rc"
    [ -s "$truth" ] || { fail "no truth file for $sc"; continue; }
    sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$truth")
    total=$(( total + sent ))
    log "scenario $sc: $sent messages published in $(( ($(now_ms) - t0) / 1000 )) s"
    wait_received "$total" || continue
    # the hub flushes every second; give the last batch and its stats a moment
    sleep 3
    if check_truth "$sc" "$site" "$truth"; then
        ok "scenario $sc matches the ground truth"
    else
        fail "scenario $sc differs from the ground truth (see above)"
    fi
done

stop_hub 30
check_eq "hub exit status" 0 "$HUB_RC"
if grep -aq 'ERROR' "$KOMPOS_TMP/hub.log"; then
    grep -a 'ERROR' "$KOMPOS_TMP/hub.log" | head -n 5 >&2
    fail "the hub logged errors"
fi
[ -s "$KOMPOS_TMP/compost.state" ] && ok "state file written at shutdown" || fail "no state file"
finish
