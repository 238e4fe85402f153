#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_survive_spool_full: InfluxDB is down while 60,000 QoS 1 readings come in, and the spool
# cannot hold them all.
#  1. A size cap in config: spool.max_mb = 1, spool.segment_mb = 1, influx.max_queue_points =
#     5,000 (about 16,000 points fit in 1 MiB). The spool drops its oldest segments: the hub
#     stays up, logs "over its cap", keeps the spool within the cap, and once InfluxDB is back
#     the readings in InfluxDB plus the points the spool counted as dropped (summary
#     spool_dropped, hub.spool_points_dropped) are exactly the 60,000 published.
#  2. A small filesystem: the spool on a 3 MiB ext4 image, loop-mounted (needs root and a loop
#     device; without them this part prints "SKIP: no loop device" and passes). The disk fills:
#     the hub stays up, logs "cannot write to DIR: No space left on device", counts the failed
#     appends, and once InfluxDB is back the readings in InfluxDB plus every point it counted as
#     dropped are exactly the 60,000 published.
# The statistics window (1 day) and the self-metrics interval (1 h) are long, so that the spool
# holds only the readings while it overflows and the dropped count is theirs alone.
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

N=60000
SITE1=surv-spool-cap
SITE2=surv-spool-disk
HUB1=surv-spool-cap-hub
HUB2=surv-spool-disk-hub
T_START=$(now_ms)
COMMON=(client_id=kompos-hub-surv-spool qos=1 clean_session=false max_queue_points=5000
        batch_size=1000 flush_interval_ms=500 retry_max_ms=2000 timeout_ms=2000
        window_s=86400 history_s=86400 self_interval_s=3600
        compost=false alerts=false)
# (compost and alerts off: their own points - drum_state, alert - would land in the dropped
# segments too, and the test counts readings: "InfluxDB + spool_dropped == published")

IX_PORT=$(free_port)
start_mosquitto "$KOMPOS_TMP/mqtt" "$(free_port)"
start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
influx_create_db kompos
stop_pid "$INFLUX_PID" 30
log "influxd stopped: the hub starts without it"

# ---- 1. the size cap in config -------------------------------------------------------------
HTTP1=$(free_port)
write_hub_config "$KOMPOS_TMP/hub-cap.cfg" site="$HUB1" "${COMMON[@]}" http_port="$HTTP1" \
    spool_dir="$KOMPOS_TMP/spool-cap" spool_max_mb=1 spool_segment_mb=1
start_hub "$KOMPOS_TMP/hub-cap.cfg" "$KOMPOS_TMP/hub-cap.log"
H="$KOMPOS_TMP/hub-cap.log"
sim_publish "$SITE1" "$N" 0 "$KOMPOS_TMP/sim-cap.log"
check_eq "readings the hub took in without InfluxDB" "$N" \
    "$(wait_metric "$HTTP1" messages_received_total "$N" 60)"
if wait_log "$H" 'spool: over its cap of 1 MiB: dropped the oldest segment' 1 10; then
    ok "the log says why: $(grep -a 'over its cap' "$H" | tail -n 1 | cut -d' ' -f2-)"
else
    fail "no 'spool: over its cap of 1 MiB' line in the hub's log"
fi
hub_alive "with its spool over the cap"
sp_bytes=$(spool_disk_bytes "$KOMPOS_TMP/spool-cap")
log "spool on disk: $sp_bytes bytes, $(find "$KOMPOS_TMP/spool-cap" -name '*.seg' | wc -l) segment(s)"
# spool.h: the cap never drops what the hub still holds in memory to deliver, so the files may
# pass the cap by that (max_queue_points = 5000 points, ~350 KiB here) plus one segment (1 MiB).
if [ "$sp_bytes" -le $(( 2 * 1024 * 1024 + 512 * 1024 )) ]; then
    ok "spool within its cap: $sp_bytes bytes (1 MiB + one segment + what memory holds)"
else
    fail "spool holds $sp_bytes bytes, over its 1 MiB cap + one segment + memory"
fi
drop_metric=$(hub_metric "$HTTP1" spool_points_dropped_total)
log "points dropped so far (/metrics): $drop_metric"

start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
if wait_hub_idle "$HTTP1" 90; then ok "hub idle (nothing queued, spool empty) after InfluxDB came back"; else fail "hub not idle 90 s after InfluxDB came back"; fi
n1=$(site_count "$SITE1")
stop_hub 60
check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
log_summary "$H"
d1=$(summary_get "$H" spool_dropped)
check_ge "hub summary spool_dropped" 1 "$d1"
check_eq "hub summary dropped (memory)" 0 "$(summary_get "$H" dropped)"
check_eq "hub summary accepted" "$N" "$(summary_get "$H" accepted)"
check_eq "hub.spool_points_dropped in InfluxDB = summary spool_dropped" "$d1" "$(hub_last "$HUB1" spool_points_dropped)"
# points read back into memory before their segment was dropped are still written ("rescued"),
# so the net loss can only fall after the last log line
check_ge "last 'over its cap' line: points lost in all >= summary spool_dropped" "$d1" \
    "$(grep -a 'over its cap' "$H" | tail -n 1 | sed -n 's/.*(\([0-9]*\) in all).*/\1/p')"
log "readings in InfluxDB: $n1, dropped by the spool: $d1, published: $N"
check_eq "readings in InfluxDB + spool_dropped (nothing missing without a count, nothing counted twice)" \
    "$N" $(( n1 + d1 ))

# ---- 2. a small filesystem -----------------------------------------------------------------
MNT="$KOMPOS_TMP/small-fs"
MOUNTED=0
surv_umount() {
    [ "$MOUNTED" -eq 1 ] || return 0
    # the hub holds files in it open
    if [ -n "${HUB_PID:-}" ] && pid_running "$HUB_PID"; then stop_pid "$HUB_PID" 10 >/dev/null 2>&1; fi
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
    MOUNTED=0
}
KOMPOS_CLEANUP_HOOKS+=(surv_umount)
why=""
if [ "$(id -u)" -ne 0 ]; then
    why="not root"
elif ! command -v mkfs.ext4 >/dev/null 2>&1; then
    why="no mkfs.ext4"
else
    mkdir -p "$MNT"
    if ! dd if=/dev/zero of="$KOMPOS_TMP/small-fs.img" bs=1M count=3 status=none ||
       ! mkfs.ext4 -q -F -m 0 "$KOMPOS_TMP/small-fs.img" >/dev/null 2>&1; then
        why="cannot make the image"
    elif ! mount -o loop "$KOMPOS_TMP/small-fs.img" "$MNT" 2>"$KOMPOS_TMP/mount.err"; then
        why="mount -o loop failed: $(head -n 1 "$KOMPOS_TMP/mount.err")"
    else
        MOUNTED=1
    fi
fi
if [ "$MOUNTED" -eq 0 ]; then
    log "SKIP: no loop device ($why): the small-filesystem part is skipped"
else
    log "spool filesystem: $(df -k "$MNT" | awk 'NR == 2 { print $2 " KiB, " $4 " KiB free" }') (3 MiB ext4 image, loop-mounted)"
    stop_pid "$INFLUX_PID" 30
    log "influxd stopped again"
    HTTP2=$(free_port)
    write_hub_config "$KOMPOS_TMP/hub-disk.cfg" site="$HUB2" "${COMMON[@]}" http_port="$HTTP2" \
        spool_dir="$MNT/spool" spool_max_mb=256 spool_segment_mb=1
    start_hub "$KOMPOS_TMP/hub-disk.cfg" "$KOMPOS_TMP/hub-disk.log"
    H="$KOMPOS_TMP/hub-disk.log"
    sim_publish "$SITE2" "$N" 0 "$KOMPOS_TMP/sim-disk.log"
    if wait_log "$H" "spool: cannot write to $MNT/spool: No space left on device" 1 60; then
        ok "the log says why: $(grep -a 'spool: cannot write' "$H" | head -n 1 | cut -d' ' -f2-)"
    else
        fail "no 'spool: cannot write to $MNT/spool: No space left on device' line in the hub's log"
    fi
    sleep 3
    hub_alive "with its spool's filesystem full"
    log "while the disk is full: received $(hub_metric "$HTTP2" messages_received_total), queued in memory $(hub_metric "$HTTP2" queue_points), spool append errors $(hub_metric "$HTTP2" spool_append_errors_total), spool pending $(hub_metric "$HTTP2" spool_points_pending), $(df -k "$MNT" | awk 'NR == 2 { print $4 }') KiB free"
    start_influxd "$KOMPOS_TMP/influx" "$IX_PORT"
    check_eq "readings the hub took in after InfluxDB came back" "$N" \
        "$(wait_metric "$HTTP2" messages_received_total "$N" 90)"
    if wait_hub_idle "$HTTP2" 90; then ok "hub idle (nothing queued, spool empty) after InfluxDB came back"; else fail "hub not idle 90 s after InfluxDB came back"; fi
    n2=$(site_count "$SITE2")
    stop_hub 60
    check_eq "hub exit status after SIGTERM" 0 "$HUB_RC"
    log_summary "$H"
    dm=$(summary_get "$H" dropped)
    ds=$(summary_get "$H" spool_dropped)
    check_ge "hub summary spool_errors (failed appends, counted)" 1 "$(summary_get "$H" spool_errors)"
    check_eq "hub.spool_errors in InfluxDB = summary spool_errors" "$(summary_get "$H" spool_errors)" \
        "$(hub_last "$HUB2" spool_errors)"
    log "readings in InfluxDB: $n2, dropped in memory: $dm, dropped by the spool: $ds, published: $N"
    check_eq "readings in InfluxDB + dropped + spool_dropped (nothing missing without a count)" \
        "$N" $(( n2 + dm + ds ))
    # Nothing had to be lost: with the spool failing, a full memory queue pauses MQTT input and
    # the broker keeps the QoS 1 readings (loop.c, influx_out_full()).
    check_eq "hub summary dropped (memory full: MQTT input pauses instead)" 0 "$dm"
    check_eq "readings in InfluxDB (all of them: the broker held what the hub could not)" "$N" "$n2"
    surv_umount
fi
log "test took $(seconds_since "$T_START") s"
finish
