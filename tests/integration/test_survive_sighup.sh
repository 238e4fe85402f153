#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_survive_sighup: SIGHUP reloads the config file.
#  a. While 10,000 QoS 1 readings stream in (2,000/s), the config file is broken three ways
#     (an unknown key, a syntax error, a value out of range; each file also asks for log.level
#     "debug") and the hub gets a SIGHUP after each: it logs "config: reload failed, keeping the
#     running config: FILE:LINE: message" with the right line, keeps running with the old config
#     (no debug line appears), and every reading arrives exactly once.
#  b. InfluxDB is stopped and 20,000 readings are queued (memory and spool); then a good config
#     that changes influx.batch_size (5,000 -> 1,000), influx.max_queue_points (20,000 -> 5,000)
#     and log.level (info -> debug) is loaded with SIGHUP: "config: reloaded FILE". 5,000 more
#     readings come in while InfluxDB is still away: memory stays within the new cap, the
#     older batches wait in the spool. InfluxDB comes back: every reading arrives exactly once
#     (some read back from the spool). 5,000 readings published last, with InfluxDB up, go out
#     in batches of at most 1,000: the debug lines "wrote N points" show the new batch size and
#     log level applied.
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

NA=10000
NB=20000
NC=5000
ND=5000
SITE_A=surv-sighup-a
SITE_B=surv-sighup-b
SITE_C=surv-sighup-c
SITE_D=surv-sighup-d
HUB_SITE=surv-sighup-hub
T_START=$(now_ms)

IX_PORT=$(free_port)
HTTP_PORT=$(free_port)
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
influx_create_db kompos
CFG="$KOMPOS_TMP/hub.cfg"
HUBCFG=(site="$HUB_SITE" client_id=kompos-hub-surv-sighup qos=1 clean_session=false
        flush_interval_ms=500 retry_max_ms=2000 timeout_ms=2000 self_interval_s=5
        http_port="$HTTP_PORT" max_queue_points=20000)
write_hub_config "$CFG" "${HUBCFG[@]}" batch_size=5000 level=info
cp "$CFG" "$KOMPOS_TMP/good.cfg"
start_hub "$CFG" "$KOMPOS_TMP/hub.log"
H="$KOMPOS_TMP/hub.log"

# line_of PATTERN FILE: the number of the first line of FILE that contains PATTERN.
line_of() { grep -n -F "$1" "$2" | head -n 1 | cut -d: -f1; }

# broken_reload WHAT LINE MESSAGE: SIGHUP with the broken file now in CFG; the log must name
# CFG:LINE: MESSAGE, and the hub must keep running.
broken_reload() {
    local before
    before=$(grep -ac 'config: reload failed' "$H")
    kill -HUP "$HUB_PID"
    if wait_log "$H" 'config: reload failed' $(( before + 1 )) 10; then
        local line
        line=$(grep -a 'config: reload failed' "$H" | tail -n 1)
        case "$line" in
            *"config: reload failed, keeping the running config: $CFG:$2: $3"*)
                ok "$1: $(printf '%s' "$line" | cut -d' ' -f2-)" ;;
            *) fail "$1: expected '$CFG:$2: $3' in: $line" ;;
        esac
    else
        fail "$1: no 'config: reload failed' line within 10 s of SIGHUP"
    fi
    sleep 0.3
    hub_alive "after SIGHUP with $1"
}

# ---- a. broken configs while readings stream in -------------------------------------------
sim_start "$KOMPOS_TMP/sim-a.log" --site "$SITE_A" --qos 1 --format number --count "$NA" \
    --rate 2000 --series 100 --timeout 120 --quiet
sleep 1
# an unknown key, appended as the last line
sed 's/level = "info"/level = "debug"/' "$KOMPOS_TMP/good.cfg" >"$CFG"
echo 'bogus_key = 1;' >>"$CFG"
broken_reload "an unknown key" "$(wc -l <"$CFG")" "unknown key 'bogus_key'"
# a syntax error in the influx group
sed 's/level = "info"/level = "debug"/; s/batch_size = 5000;/batch_size = 5000 flush_interval_ms = ;/' \
    "$KOMPOS_TMP/good.cfg" >"$CFG"
broken_reload "a syntax error" "$(line_of 'flush_interval_ms = ;' "$CFG")" "syntax error"
# a value out of range
sed 's/level = "info"/level = "debug"/; s/batch_size = 5000;/batch_size = 0;/' \
    "$KOMPOS_TMP/good.cfg" >"$CFG"
broken_reload "a value out of range" "$(line_of 'batch_size = 0;' "$CFG")" \
    "influx.batch_size: 0 is out of range"
if pid_running "$SIM_PID"; then ok "the three SIGHUPs came while the stream was running"; else fail "the stream ended before the third SIGHUP"; fi
sim_wait
check_eq "kompos-sim --site $SITE_A exit status" 0 "$?"
check_eq "readings in InfluxDB after three failed reloads (exactly those published)" "$NA" \
    "$(wait_site "$SITE_A" "$NA" 60)"
check_eq "config reloaded (none of the broken files was applied)" 0 "$(grep -ac 'config: reloaded' "$H")"
check_eq "debug lines in the log (log.level stays info)" 0 "$(grep -acE '^[^ ]+ debug ' "$H")"

# ---- b. a good config while readings are queued --------------------------------------------
stop_pid "$INFLUX_PID" 30
log "influxd stopped"
sim_publish "$SITE_B" "$NB" 0 "$KOMPOS_TMP/sim-b.log"
check_eq "readings the hub took in without InfluxDB" $(( NA + NB )) \
    "$(wait_metric "$HTTP_PORT" messages_received_total $(( NA + NB )) 60)"
pending=$(hub_metric "$HTTP_PORT" spool_points_pending)
queued=$(hub_metric "$HTTP_PORT" queue_points)
log "queued before the reload: $queued points in memory, $pending points pending in the spool"
check_ge "points pending in the spool before the reload" "$NB" "$pending"
write_hub_config "$CFG" "${HUBCFG[@]}" batch_size=1000 max_queue_points=5000 level=debug
kill -HUP "$HUB_PID"
if wait_log "$H" "config: reloaded $CFG" 1 10; then
    ok "good config applied: $(grep -a 'config: reloaded' "$H" | tail -n 1 | cut -d' ' -f2-)"
else
    fail "no 'config: reloaded $CFG' line within 10 s of SIGHUP"
fi
hub_alive "after SIGHUP with a good config"
check_eq "points still pending in the spool right after the reload" "$pending" \
    "$(hub_metric "$HTTP_PORT" spool_points_pending)"
# More readings while InfluxDB is still away: the new memory cap (5,000) sends the older
# batches to the spool, to be read back later.
sim_publish "$SITE_C" "$NC" 0 "$KOMPOS_TMP/sim-c.log"
check_eq "readings the hub took in after the reload" $(( NA + NB + NC )) \
    "$(wait_metric "$HTTP_PORT" messages_received_total $(( NA + NB + NC )) 60)"
sleep 1
queued=$(hub_metric "$HTTP_PORT" queue_points)
log "after the reload: $queued points in memory, $(hub_metric "$HTTP_PORT" spool_points_pending) pending in the spool, $(hub_metric "$HTTP_PORT" points_evicted_total) evicted from memory to the spool"
# influx_out.h: the cap counts the sealed batches; the one batch being filled (1,000 after the
# reload) and the one batch read back from the spool come on top of it. The read-back batch can
# be one written before the reload, with the old batch_size (5,000).
if [ -n "$queued" ] && [ "$queued" -le $(( 5000 + 1000 + 5000 + 16 )) ]; then
    ok "memory queue within the new influx.max_queue_points (5000) + open + read-back batch: $queued"
else
    fail "memory queue holds '$queued' points, over the new influx.max_queue_points (5000) + an open batch + a read-back batch"
fi
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
check_eq "readings queued across the reload, in InfluxDB (exactly those published)" "$NB" \
    "$(wait_site "$SITE_B" "$NB" 90)"
check_eq "readings published after the reload, in InfluxDB (exactly those published)" "$NC" \
    "$(wait_site "$SITE_C" "$NC" 60)"
wait_hub_idle "$HTTP_PORT" 60 || fail "hub not idle 60 s after InfluxDB came back"
# Readings published now, with InfluxDB up and nothing queued, go out in batches of the new
# influx.batch_size: at most 1,000 points each, so at least 5 debug lines for 5,000 readings.
w_before=$(grep -ac 'influx: wrote [0-9]* points' "$H")
sim_publish "$SITE_D" "$ND" 0 "$KOMPOS_TMP/sim-d.log"
check_eq "readings published after the reload with InfluxDB up" "$ND" "$(wait_site "$SITE_D" "$ND" 60)"
wait_hub_idle "$HTTP_PORT" 30 || fail "hub not idle 30 s after the last readings"
sizes=$(grep -a 'influx: wrote [0-9]* points' "$H" | tail -n +$(( w_before + 1 )) |
        sed 's/.*wrote \([0-9]*\) points.*/\1/' | tr '\n' ' ')
log "batches written for those readings (debug lines after the reload): $sizes"
check_ge "debug lines 'influx: wrote N points' for $ND readings (log.level debug applied)" \
    $(( ND / 1000 )) "$(tr -s " " "\n" <<<"$sizes" | grep -c .)"
check_eq "batches over the new influx.batch_size (1000)" 0 \
    "$(tr -s " " "\n" <<<"$sizes" | awk '$1 > 1000' | wc -l)"
over=$(sed -n '/config: reloaded/,$p' "$H" | grep -a 'influx: wrote [0-9]* points' |
       sed 's/.*wrote \([0-9]*\) points.*/\1/' | awk '$1 > 1000' | wc -l)
log "batches written after the reload larger than 1000 points (sealed before it): $over"

sleep 1
check_eq "readings of site a at the end" "$NA" "$(site_count "$SITE_A")"
check_eq "readings of site b at the end" "$NB" "$(site_count "$SITE_B")"
stop_hub 60
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
log_summary "$H"
check_eq "hub summary accepted" $(( NA + NB + NC + ND )) "$(summary_get "$H" accepted)"
check_eq "hub summary dropped" 0 "$(summary_get "$H" dropped)"
check_eq "hub summary spool_dropped" 0 "$(summary_get "$H" spool_dropped)"
check_eq "hub summary spool_pending" 0 "$(summary_get "$H" spool_pending)"
check_ge "hub summary replayed (read back from the spool after the reload)" 1 "$(summary_get "$H" replayed)"
log "test took $(seconds_since "$T_START") s"
finish
