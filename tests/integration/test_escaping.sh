#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_escaping: hostile names in topics and JSON keys must come out of the line protocol encoder
# as exactly the same tag values / field keys in InfluxDB, and must not break the batch they are
# in. Real mosquitto + influxd + kompos-hub; messages from mosquitto_pub.
#
#  - kube/a b,c=d/drum/1"x/temp_core_c  42.5   -> drum point with site="a b,c=d", id="1\"x"
#  - kube/esc/drum/7  {"temp core,x=1": 3}     -> field key "temp core,x=1" (or a rejection), never
#                                                 an injected tag/field "x"
#  - 100 normal readings in the same second    -> all 100 in InfluxDB (the batch was not refused)
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
# One long flush interval so that everything below lands in the same batch.
write_hub_config "$KOMPOS_TMP/hub.cfg" site=esc-hub flush_interval_ms=3000 self_interval_s=2
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub.log"

pub() { # pub TOPIC PAYLOAD
    log "+ mosquitto_pub -q 1 -t '$1' -m '$2'"
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$1" -m "$2" ||
        fail "mosquitto_pub to '$1' failed"
}

# 100 normal readings (10 drums x 10) and the hostile ones, all within about a second.
PUB_PIDS=()
for id in 1 2 3 4 5 6 7 8 9 10; do
    seq 1 10 | awk -v id="$id" '{ printf "%.2f\n", 50 + id + $1 / 100 }' |
        timeout 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -l \
            -t "kube/esc-normal/drum/$id/temp_core_c" &
    PUB_PIDS+=($!)
    register_pid $!
done
pub 'kube/a b,c=d/drum/1"x/temp_core_c' '42.5'
pub 'kube/esc/drum/7' '{"temp core,x=1": 3}'
pub 'kube/esc/drum/eq=1,tag=2 sp/temp_core_c' '43.25'
pub 'kube/esc/drum/8' '{"temp_core_c": 44.5, "moisture_pct": 55}'
for pid in "${PUB_PIDS[@]}"; do
    wait "$pid" || fail "mosquitto_pub -l (pid $pid) failed"
    unregister_pid "$pid"
done

n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='esc-normal'" 100 60)
check_eq "normal readings published in the same second as the hostile ones" 100 "$n"

# The exact tag values, found by an exact match.
v=$(influx_query kompos "SELECT temp_core_c FROM drum WHERE site='a b,c=d' AND id='1\"x'")
check_eq "drum point with site='a b,c=d' and id='1\"x'" 42.5 "$v"
v=$(influx_query kompos "SELECT temp_core_c FROM drum WHERE site='esc' AND id='eq=1,tag=2 sp'")
check_eq "drum point with id='eq=1,tag=2 sp'" 43.25 "$v"
v=$(influx_query kompos "SELECT temp_core_c, moisture_pct FROM drum WHERE site='esc' AND id='8'")
check_eq "JSON drum point id=8 (temp_core_c, moisture_pct)" "$(printf '44.5\t55')" "$v"

sites=$(influx_query kompos 'SHOW TAG VALUES FROM drum WITH KEY = "site"' | cut -f2 | sort | tr '\n' '|')
check_eq "site tag values in drum" "a b,c=d|esc|esc-normal|" "$sites"
ids=$(influx_query kompos "SHOW TAG VALUES FROM drum WITH KEY = \"id\" WHERE site='a b,c=d'" | cut -f2 | tr '\n' '|')
check_eq "id tag values of site 'a b,c=d'" '1"x|' "$ids"
tagkeys=$(influx_query kompos 'SHOW TAG KEYS FROM drum' | sort | tr '\n' ' ')
check_eq "tag keys of drum" "id site " "$tagkeys"

# The JSON key with a comma, a space and an equals sign: stored as exactly that field key, or
# refused as a bad name. Either way no other field or tag appears.
fields=$(influx_query kompos 'SHOW FIELD KEYS FROM drum' | cut -f1 | sort | tr '\n' '|')
case "$fields" in
    "moisture_pct|temp core,x=1|temp_core_c|")
        v=$(influx_query kompos "SELECT \"temp core,x=1\" FROM drum WHERE site='esc' AND id='7'")
        check_eq "field 'temp core,x=1' of drum 7 (stored verbatim)" 3 "$v" ;;
    "moisture_pct|temp_core_c|")
        ok "field 'temp core,x=1' was refused by the hub (not stored), field keys: $fields" ;;
    *) fail "unexpected field keys in drum: $fields" ;;
esac
meas=$(influx_query kompos 'SHOW MEASUREMENTS' | tr '\n' ' ')
bad=$(influx_query kompos 'SHOW MEASUREMENTS' |
      grep -Evx 'drum|tank|site|sensor_fault|drum_stats|tank_stats|site_stats|hub|event|drum_state|tank_state|batch|alert|notification' | tr '\n' '|')
if [ -z "$bad" ]; then ok "measurements: $meas"; else fail "unexpected measurements: $bad (all: $meas)"; fi

if pid_running "$HUB_PID"; then ok "hub still running"; else fail "hub died"; fi
stop_hub 30
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "hub summary write_errors" 0 "$(summary_get "$KOMPOS_TMP/hub.log" write_errors)"
check_eq "hub summary dropped" 0 "$(summary_get "$KOMPOS_TMP/hub.log" dropped)"
check_eq "hub summary received" 104 "$(summary_get "$KOMPOS_TMP/hub.log" received)"
finish
