# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# survive.sh - helpers shared by the survival tests (tests/integration/test_survive_*.sh):
# a publisher in the background, bounded waits on log lines and on the hub's /metrics, the
# InfluxDB count of one site's readings, the size of a spool on disk. Needs common.sh and
# servers.sh; like them it never kills a process by name.
#
# After sim_start: SIM_PID.

if [ -n "${KOMPOS_SURVIVE_SH:-}" ]; then return 0; fi
KOMPOS_SURVIVE_SH=1

# sim_start LOG ARGS...: kompos-sim against MQTT_PORT in the background, its stderr appended to
# LOG, bounded by SIM_TIMEOUT seconds (default 300); sets SIM_PID. sim_wait collects it.
sim_start() {
    local logf=$1 bin
    shift
    bin=$(sim_bin)
    [ -x "$bin" ] || die "$bin not built"
    log "+ kompos-sim --host 127.0.0.1 --port $MQTT_PORT $* &"
    timeout -k 5 "${SIM_TIMEOUT:-300}" "$bin" --host 127.0.0.1 --port "$MQTT_PORT" "$@" \
        2>>"$logf" &
    SIM_PID=$!
    register_pid "$SIM_PID"
}

# sim_wait: wait for the kompos-sim started by sim_start; returns its exit status.
sim_wait() {
    local rc
    wait "$SIM_PID"
    rc=$?
    unregister_pid "$SIM_PID"
    return "$rc"
}

# sim_publish SITE COUNT RATE LOG: count mode, QoS 1, number format, 100 series, in the
# foreground; checks its exit status.
sim_publish() {
    SIM_LOG=$4 run_sim --site "$1" --qos 1 --format number --count "$2" --rate "$3" \
        --series 100 --timeout 120 --quiet
    check_eq "kompos-sim --site $1 --count $2 exit status" 0 "$?"
}

# site_count SITE: readings of SITE in InfluxDB (database kompos).
site_count() {
    influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'"
}

# wait_site SITE TARGET TIMEOUT_S [STABLE_S]: wait_count for SITE's readings; prints the count.
wait_site() {
    wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'" "$2" "$3" "${4:-20}"
}

# wait_log FILE PATTERN MIN TIMEOUT_S: until the extended regex PATTERN matches at least MIN
# lines of FILE. Returns 1 after TIMEOUT_S.
wait_log() {
    local deadline=$(( $(now_ms) + $4 * 1000 ))
    while [ "$(grep -acE "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# hub_metric PORT NAME: the value of kompos_hub_NAME from the hub's /metrics on 127.0.0.1:PORT
# (empty when the hub does not answer).
hub_metric() {
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk -v m="kompos_hub_$2" '$1 == m || index($1, m "{") == 1 { print $2; exit }'
}

# wait_metric PORT NAME TARGET TIMEOUT_S: until hub_metric PORT NAME >= TARGET; prints the
# last value. Returns 1 after TIMEOUT_S.
wait_metric() {
    local deadline=$(( $(now_ms) + $4 * 1000 )) v
    while :; do
        v=$(hub_metric "$1" "$2")
        if [ -n "$v" ] && [ "${v%.*}" -ge "$3" ] 2>/dev/null; then echo "$v"; return 0; fi
        if [ "$(now_ms)" -ge "$deadline" ]; then echo "${v:-none}"; return 1; fi
        sleep 0.5
    done
}

# spool_disk_bytes DIR: bytes of the spool's segment files in DIR.
spool_disk_bytes() {
    find "$1" -maxdepth 1 -name '*.seg' -type f -printf '%s\n' 2>/dev/null |
        awk '{ s += $1 } END { print s + 0 }'
}

# hub_last SITE FIELD: the newest value of FIELD in the hub's self-metrics (measurement hub).
hub_last() {
    influx_count kompos "SELECT last($2) FROM hub WHERE site='$1'"
}

# log_summary FILE: print the hub's last summary line (without the prefix).
log_summary() {
    log "summary ($(basename "$1")): $(grep -a 'hub: summary' "$1" | tail -n 1 | sed 's/.*hub: summary //')"
}

# seconds_since T0_MS: elapsed seconds, one decimal.
seconds_since() {
    awk -v ms=$(( $(now_ms) - $1 )) 'BEGIN { printf "%.1f", ms / 1000 }'
}

# sleep_ms MS
sleep_ms() {
    sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"
}

# hub_alive WHAT: record whether the hub (HUB_PID) is still running.
hub_alive() {
    if pid_running "$HUB_PID"; then ok "hub still running $1"; else fail "hub died $1"; fi
}

# With MOSQUITTO_EXTRA_CONF="log_type debug", mosquitto logs every packet. mqtt_resent MQTT_DIR
# CLIENT_ID: how many PUBLISH packets the broker sent CLIENT_ID again, with the DUP flag (QoS 1
# redeliveries of messages whose PUBACK it had not processed).
mqtt_resent() {
    grep -ac "Sending PUBLISH to $2 (d1" "$1/mosquitto.log" 2>/dev/null
}

# wait_hub_idle PORT TIMEOUT_S: until the hub on /metrics PORT has nothing queued in memory,
# nothing pending in its spool and is not replaying, twice in a row half a second apart.
# Returns 1 after TIMEOUT_S.
wait_hub_idle() {
    local deadline=$(( $(now_ms) + $2 * 1000 )) m seen=0
    while :; do
        m=$(curl -s --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null |
            awk '$1 ~ /^kompos_hub_(queue_points|spool_points_pending|replaying)[{]/ { s += $2; n++ }
                 END { print (n == 3 ? s : -1) }')
        if [ "$m" = 0 ]; then
            seen=$(( seen + 1 ))
            [ "$seen" -ge 2 ] && return 0
        else
            seen=0
        fi
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.5
    done
}
