#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_ingest_100k: 100,000 QoS 1 readings from kompos-sim in each payload format reach InfluxDB
# exactly (no loss, no duplicates), and 1,000 malformed or hostile messages mixed into the first
# run are all rejected, counted, and leave nothing in drum/tank; the hub keeps running.
# Real mosquitto + influxd + kompos-hub + kompos-sim, one hub for both runs.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

N=${INGEST_N:-100000}
HOSTILE=${INGEST_HOSTILE:-1000}
SERIES=100
HUB_SITE=ingest-hub

start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$HUB_SITE" qos=1 batch_size=5000 \
    flush_interval_ms=1000 max_queue_points=200000 self_interval_s=2
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

# run_format SITE FORMAT HOSTILE: publish, then wait for exactly N readings of SITE in InfluxDB.
run_format() {
    local site=$1 fmt=$2 hostile=$3 t0 rc line n secs
    t0=$(now_ms)
    SIM_LOG="$KOMPOS_TMP/sim-$fmt.log" run_sim --site "$site" --qos 1 --format "$fmt" \
        --count "$N" --rate 0 --series "$SERIES" --hostile "$hostile" --timeout 240 --quiet
    rc=$?
    line=$(grep 'published ' "$KOMPOS_TMP/sim-$fmt.log" | tail -n 1)
    check_eq "kompos-sim --format $fmt exit status" 0 "$rc"
    check_eq "kompos-sim --format $fmt summary" "published good=$N hostile=$hostile acked=$(( N + hostile ))" "$line"
    log "sim --format $fmt published in $(( ($(now_ms) - t0) / 1000 )) s"
    n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$site'" "$N" 180 15)
    secs=$(( ($(now_ms) - t0) / 1000 ))
    check_eq "readings of site '$site' ($fmt) in InfluxDB after ${secs} s" "$N" "$n"
    n=$(influx_query kompos "SHOW SERIES FROM drum WHERE site='$site'" | wc -l)
    check_eq "drum series of site '$site'" "$SERIES" "$n"
    if pid_running "$HUB_PID"; then ok "hub still running after the $fmt run"; else fail "hub died during the $fmt run"; fi
}

run_format ingest-num number "$HOSTILE"
run_format ingest-json json 0

# Nothing extra anywhere in drum/tank: the hostile messages used site ingest-num (and odd kinds or
# ids), so the totals over every site must be exactly the good readings.
total=$(influx_count kompos "SELECT count(temp_core_c) FROM drum")
check_eq "readings in drum over all sites" $(( 2 * N )) "$total"
fields=$(influx_query kompos 'SHOW FIELD KEYS FROM drum' | tr '\t\n' ': ')
check_eq "field keys (and types) of drum" "temp_core_c:float " "$fields"
sites=$(influx_query kompos 'SHOW TAG VALUES FROM drum WITH KEY = "site"' | cut -f2 | tr '\n' ' ')
check_eq "site tags of drum" "ingest-json ingest-num " "$sites"
tank=$(influx_query kompos 'SELECT * FROM tank LIMIT 1' | wc -l)
check_eq "points in tank" 0 "$tank"
meas=$(influx_query kompos 'SHOW MEASUREMENTS' | tr '\n' ' ')
log "measurements: $meas"

# What the hub counted while running, from its own self-metrics (written every 2 s).
sleep 3
live_rej=$(influx_query kompos "SELECT last(messages_rejected) FROM hub WHERE site='$HUB_SITE'")
check_eq "hub measurement messages_rejected while running" "$HOSTILE" "$live_rej"
# The self-metrics that dashboards and tools rely on, each an integer field of measurement hub.
hub_fields=$(influx_query kompos 'SHOW FIELD KEYS FROM hub' | tr '\t' ':')
missing=0
for f in messages_received messages_decoded messages_rejected readings_accepted readings_rejected \
         points_queued points_written points_dropped write_errors series series_overflow rss_kb; do
    if printf '%s\n' "$hub_fields" | grep -qx "$f:integer"; then :; else
        fail "measurement hub has no integer field $f (fields: $(printf '%s' "$hub_fields" | tr '\n' ' '))"
        missing=1
    fi
done
[ "$missing" -eq 1 ] || ok "measurement hub has the 12 integer self-metric fields"
if pid_running "$HUB_PID"; then ok "hub still running before SIGTERM"; else fail "hub died"; fi

stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
S="$KOMPOS_TMP/hub.log"
log "summary: $(grep -a 'hub: summary' "$S" | tail -n 1 | sed 's/.*hub: summary //')"
check_eq "hub summary received" $(( 2 * N + HOSTILE )) "$(summary_get "$S" received)"
check_eq "hub summary rejected" "$HOSTILE" "$(summary_get "$S" rejected)"
check_eq "hub summary accepted" $(( 2 * N )) "$(summary_get "$S" accepted)"
check_eq "hub summary dropped" 0 "$(summary_get "$S" dropped)"
check_eq "hub summary series_overflow" 0 "$(summary_get "$S" series_overflow)"
faults=$(summary_get "$S" faults)
# A non-finite reading is kept as the string field "raw" (line protocol has no NaN), others as
# the float field "value": count(*) gives one column per field.
sf=$(influx_query kompos "SELECT count(*) FROM sensor_fault" | awk -F'\t' '{ for (i = 1; i <= NF; i++) n += $i } END { print n + 0 }')
check_eq "sensor_fault points = hub summary faults" "$faults" "$sf"
log "sensor_fault by reason (count of value, count of raw):"
influx_query kompos "SELECT count(value), count(raw) FROM sensor_fault GROUP BY reason" |
    tee "$KOMPOS_TMP/faults.txt" | sed 's/^/    /' >&2
# Each reason in sensor_fault must match the simulator's list of hostile kinds: with H messages
# over K kinds, a reason shared by k kinds appears k * H / K times.
"$(sim_bin)" --list-hostile >"$KOMPOS_TMP/hostile.txt" 2>&1
kinds=$(awk 'NR == 1 { print $1 }' "$KOMPOS_TMP/hostile.txt")
while IFS=$'\t' read -r reason nv nr; do
    reason=${reason#reason=}
    k=$(awk -v r="$reason" '$1 ~ /^[0-9]+$/ && $3 == r { n++ } END { print n + 0 }' "$KOMPOS_TMP/hostile.txt")
    if [ "$kinds" -gt 0 ] && [ $(( HOSTILE % kinds )) -eq 0 ]; then
        check_eq "sensor_fault reason '$reason' (from $k of the sim's $kinds hostile kinds)" \
            $(( k * HOSTILE / kinds )) $(( ${nv:-0} + ${nr:-0} ))
    fi
done <"$KOMPOS_TMP/faults.txt"
last_rej=$(influx_query kompos "SELECT last(messages_rejected) FROM hub WHERE site='$HUB_SITE'")
check_eq "last hub point messages_rejected" "$HOSTILE" "$last_rej"
finish
