#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_survive_sigkill: during a 100,000-reading QoS 1 stream (5,000/s) the hub is killed with
# SIGKILL three times, each at a random moment, and started again with the same config (QoS 1
# persistent session: clean_session = false, the same client_id; the same spool). What the dead
# hub had acknowledged to the broker is in its spool and is sent by the next one; what it had
# not acknowledged the broker delivers again. A message the dead hub had taken in but not yet
# acknowledged comes again with its message id; the hub finds it in its redelivery log (the
# spool folder's rxlog, spool.h) and gives it the timestamp it got the first time, so that it
# is the same InfluxDB point again (whether it had reached the spool or not). Every reading
# arrives exactly once: count(temp_core_c) equals the number published, in all and for each of
# the 100 series (a lost reading lowers it; a reading taken in twice with a second receipt time
# would raise it).
# KOMPOS_SEED=N repeats the kill moments of an earlier run (the seed is printed).
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

# KOMPOS_SCALE=S (scripts/test's valgrind pass) publishes N/S readings; under KOMPOS_HUB_WRAPPER
# (valgrind: slower start-ups) the stream lasts 40 s instead of 20, so the kills still fall in it.
N=$(hub_scale 100000 1000)
STREAM_S=20
[ -n "${KOMPOS_HUB_WRAPPER:-}" ] && STREAM_S=40
RATE=$(( N / STREAM_S ))
KILLS=3
SITE=surv-sigkill
HUB_SITE=surv-sigkill-hub
SEED=${KOMPOS_SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
log "random seed $SEED (KOMPOS_SEED=$SEED repeats these kill moments)"
T_START=$(now_ms)

# every packet in mosquitto.log: the redeliveries (DUP) to the hub are counted at the end
MOSQUITTO_EXTRA_CONF="log_type debug" start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos
# fsync_interval_ms = 0: every spool append is fsynced before the PUBACKs leave, which widens the
# window between the spool write and the PUBACK where a kill makes the broker resend readings
# the hub has already spooled (the case that used to become a second point)
write_hub_config "$KOMPOS_TMP/hub.cfg" site="$HUB_SITE" client_id=kompos-hub-surv-sigkill \
    qos=1 clean_session=false flush_interval_ms=500 self_interval_s=5 fsync_interval_ms=0
start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub-1.log"

sim_start "$KOMPOS_TMP/sim.log" --site "$SITE" --qos 1 --format number --count "$N" \
    --rate "$RATE" --series 100 --timeout 120 --quiet
t_stream=$(now_ms)
during=0
for k in $(seq 1 "$KILLS"); do
    # 1 to 5 s after the (re)start (1 to 9 s of 40 under a wrapper): three kills fit in the stream
    delay=$(( 1000 + RANDOM % (STREAM_S * 200) ))
    sleep_ms "$delay"
    n_before=$(site_count "$SITE")
    if pid_running "$SIM_PID"; then during=$(( during + 1 )); fi
    stop_pid "$HUB_PID" 5 KILL 2>/dev/null # (no "Killed" notice from bash)
    log "kill $k: SIGKILL $(seconds_since "$t_stream") s into the stream (${delay} ms after the start of hub $k), $n_before readings in InfluxDB"
    if grep -aq 'hub: summary' "$KOMPOS_TMP/hub-$k.log"; then
        fail "hub $k wrote a summary: it was not killed by SIGKILL"
    fi
    # down for 0 to 1 s: the broker keeps the session's messages meanwhile
    sleep_ms $(( RANDOM % 1000 ))
    start_hub "$KOMPOS_TMP/hub.cfg" "$KOMPOS_TMP/hub-$(( k + 1 )).log"
done
check_eq "kills that happened while the stream was running" "$KILLS" "$during"

sim_wait
check_eq "kompos-sim exit status (all $N readings acknowledged by the broker)" 0 "$?"
log "stream of $N readings done $(seconds_since "$t_stream") s after it started"

n=$(wait_site "$SITE" "$N" 120 20)
log "messages the broker sent the hub again (DUP, their PUBACK had not reached it): $(mqtt_resent "$KOMPOS_TMP/mqtt" kompos-hub-surv-sigkill); readings in InfluxDB beyond those published: $(( n - N ))"
check_eq "readings in InfluxDB after $KILLS SIGKILLs (exactly those published)" "$N" "$n"
sleep 2
check_eq "readings in InfluxDB 2 s later (no late duplicate)" "$N" "$(site_count "$SITE")"
per_series=$(influx_query kompos "SELECT count(temp_core_c) FROM drum WHERE site='$SITE' GROUP BY id" |
    cut -f2 | sort | uniq -c | sed 's/^ *//')
check_eq "series with their reading count (uniq -c: how many series, readings each)" "100 $(( N / 100 ))" "$per_series"

LAST="$KOMPOS_TMP/hub-$(( KILLS + 1 )).log"
stop_hub 60
check_eq "last hub exit status after SIGTERM" 0 "$HUB_RC"
log_summary "$LAST"
check_eq "last hub summary dropped" 0 "$(summary_get "$LAST" dropped)"
check_eq "last hub summary spool_dropped" 0 "$(summary_get "$LAST" spool_dropped)"
check_eq "last hub summary spool_errors" 0 "$(summary_get "$LAST" spool_errors)"
check_eq "last hub summary spool_pending (everything acknowledged)" 0 "$(summary_get "$LAST" spool_pending)"
restamped=$(cat "$KOMPOS_TMP"/hub-*.log | sed -n 's/.* \([0-9]*\) message(s) the broker sent again had been taken in before the restart.*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }')
log "resent messages the hubs had taken in before a kill, given their first timestamps again: $restamped (0 means no kill fell between a spool write and its PUBACK in this run)"
for k in $(seq 2 $(( KILLS + 1 ))); do
    line=$(grep -a 'from an earlier run will be sent first' "$KOMPOS_TMP/hub-$k.log" | head -n 1 | sed 's/.*spool: //')
    log "hub $k at start: ${line:-spool empty (everything was acknowledged)}; received $(summary_get "$KOMPOS_TMP/hub-$k.log" received 2>/dev/null || echo '(killed)')"
    if grep -aq 'redelivery log:' "$KOMPOS_TMP/hub-$k.log"; then
        fail "hub $k: $(grep -a 'redelivery log:' "$KOMPOS_TMP/hub-$k.log" | head -n 1)"
    fi
    if grep -aqi 'torn\|damaged' "$KOMPOS_TMP/hub-$k.log"; then
        log "hub $k: $(grep -ai 'torn\|damaged' "$KOMPOS_TMP/hub-$k.log" | head -n 1)"
    fi
done
check_eq "readings in InfluxDB after the last hub stopped" "$N" "$(site_count "$SITE")"
log "test took $(seconds_since "$T_START") s"
finish
