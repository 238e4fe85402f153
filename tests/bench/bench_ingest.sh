#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_ingest.sh - how fast does kompos-hub take messages in, compared with mosquitto_sub, on the
# same machine and the same broker? Not a test: scripts/test does not run it. See README.md here.
#
# Per run, on one private Mosquitto (and one private InfluxDB for the hub):
#  (a) mosquitto_sub -t 'kube/#' -q 0 -C N > /dev/null, started before the publisher;
#      rate = N / (time mosquitto_sub exits - publisher start)
#  (b) kompos-hub (mqtt.qos = 0) writing to InfluxDB;
#      rate = received / (last_rx_ns - publisher start), from its summary line after SIGTERM,
#      with its cpu_s and maxrss_kb, and the readings counted in InfluxDB (must equal received)
# with the same load each time: kompos-sim --count N --rate 0 --qos 0 --series K.
# The median over the runs is reported; ratio = hub rate / mosquitto_sub rate.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
KOMPOS_NAME="bench"
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/packages.sh
. "$KOMPOS_ROOT/scripts/lib/packages.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"

N=200000 SERIES=1000 RUNS=3 SKIP_BUILD=0 OUT_DIR="" WAIT_S=120

usage() {
    cat <<EOF
Usage: tests/bench/bench_ingest.sh [OPTIONS]

Measures messages per second taken in by kompos-hub (writing to a real InfluxDB) against
mosquitto_sub > /dev/null, on one private Mosquitto on a free loopback port, with the same load
of QoS 0 messages from kompos-sim. Prints every command, the figures of each run and the median;
saves the report in OUT_DIR.

Options:
  --count N      messages per run (default $N)
  --series K     drum series the messages are spread over (default $SERIES)
  --runs R       runs of each side (default $RUNS); the median is reported
  --out DIR      where the report goes (default \$KOMPOS_BUILD_DIR/bench, i.e. build/bench)
  --skip-build   use the binaries in build/ as they are (default: install + build first)
  -h, --help     this text
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --count) N=$2; shift ;;
        --series) SERIES=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --out) OUT_DIR=$2; shift ;;
        --skip-build) SKIP_BUILD=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done
for v in "$N" "$SERIES" "$RUNS"; do
    case "$v" in ''|*[!0-9]*|0) die "--count, --series and --runs take positive whole numbers" ;; esac
done

if [ "$SKIP_BUILD" -eq 0 ]; then
    ensure_packages
    build_all -DKOMPOS_SANITIZE=OFF
fi
if [ ! -x "$(hub_bin)" ] || [ ! -x "$(sim_bin)" ]; then die "not built (run without --skip-build)"; fi
: "${OUT_DIR:=$KOMPOS_BUILD_DIR/bench}"
mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
REPORT="$OUT_DIR/bench_ingest-$(date +%Y%m%d-%H%M%S).txt"

install_cleanup_trap
make_tmpdir
D=$KOMPOS_TMP

# Everything printed to stdout also goes to the report.
exec > >(tee "$REPORT")
TEE_PID=$!
KOMPOS_CLEANUP_HOOKS+=("exec >&2; wait $TEE_PID 2>/dev/null")

say() { printf '%s\n' "$*"; }
fmt_rate() { awk -v n="$1" -v ns="$2" 'BEGIN { if (ns > 0) printf "%.0f", n / (ns / 1e9); else print 0 }'; }

say "# kompos-hub ingest benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "# machine: $(uname -srm), $(nproc) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
say "# $(mosquitto -h 2>&1 | head -n 1); $(influxd version 2>&1 | head -n 1); $("$(hub_bin)" --version)"
say "# load: $N QoS 0 messages, $SERIES series, $RUNS run(s) of each side"

MOSQUITTO_EXTRA_CONF="sys_interval 1" start_mosquitto "$D/mqtt" "$(free_port)"
start_influxd "$D/influx" "$(free_port)"
influx_create_db kompos >/dev/null
write_hub_config "$D/hub.cfg" compost="${BENCH_COMPOST:-true}" site=bench-hub client_id=bench-hub qos=0 clean_session=true \
    batch_size=5000 flush_interval_ms=1000 max_queue_points=100000 max_series=10000 \
    self_interval_s=10 level=info

SIM=$(sim_bin)
SIM_ARGS_FMT="--host 127.0.0.1 --port $MQTT_PORT --site SITE --qos 0 --format number --count $N --rate 0 --series $SERIES --timeout 120 --quiet"
say ""
say "# commands (SITE differs per run so that InfluxDB counts are separate):"
say "#   broker:      mosquitto -c $D/mqtt/mosquitto.conf   (127.0.0.1:$MQTT_PORT)"
say "#   publisher:   $SIM ${SIM_ARGS_FMT}"
say "#   (a) baseline: mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -i bench-sub-R -t 'kube/#' -q 0 -C $N > /dev/null"
say "#   (b) hub:      $(hub_bin) -c $D/hub.cfg   (mqtt.qos = 0, InfluxDB $INFLUX_URL)"

# wait_connected CLIENT_ID TIMEOUT_S: until the broker logged the client's connection.
wait_connected() {
    local deadline=$(( $(now_ms) + $2 * 1000 ))
    until grep -q "as $1 " "$D/mqtt/mosquitto.log"; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

# broker_sent: $SYS count of PUBLISH packets the broker sent (updated every second).
broker_sent() {
    # shellcheck disable=SC2016 # a literal $SYS topic
    timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t '$SYS/broker/publish/messages/sent' 2>/dev/null
}

SUB_RATES=() HUB_RATES=() RATIOS=() CPUS=() RSSS=() OKS=()
for r in $(seq 1 "$RUNS"); do
    say ""
    say "## run $r"
    # (a) mosquitto_sub
    sent0=$(broker_sent)
    timeout "$WAIT_S" mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i "bench-sub-$r" -t 'kube/#' -q 0 \
        -C "$N" >/dev/null 2>"$D/sub-$r.log" &
    SUB_PID=$!
    register_pid "$SUB_PID"
    wait_connected "bench-sub-$r" 10 || die "mosquitto_sub did not connect"
    sleep 0.5
    t0=$(now_ns)
    # shellcheck disable=SC2086 # the argument list is meant to be split
    "$SIM" ${SIM_ARGS_FMT/SITE/bench-sub-$r} 2>"$D/sim-sub-$r.log" &
    SIM_PID=$!
    register_pid "$SIM_PID"
    wait "$SUB_PID"; sub_rc=$?
    t1=$(now_ns)
    unregister_pid "$SUB_PID"
    wait "$SIM_PID"; sim_rc=$?
    unregister_pid "$SIM_PID"
    [ "$sim_rc" -eq 0 ] || log "kompos-sim exit $sim_rc: $(tail -n 2 "$D/sim-sub-$r.log")"
    if [ "$sub_rc" -eq 0 ]; then
        sub_rate=$(fmt_rate "$N" $(( t1 - t0 )))
        say "(a) mosquitto_sub: $N messages in $(awk -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.3f", ns / 1e9 }') s = $sub_rate msg/s"
    else
        sleep 1.5
        got=$(( $(broker_sent) - sent0 ))
        sub_rate=0
        say "(a) mosquitto_sub: timed out after ${WAIT_S} s (exit $sub_rc); the broker sent about $got messages"
    fi

    # (b) kompos-hub
    site="bench-hub-$r"
    start_hub "$D/hub.cfg" "$D/hub-$r.log"
    t0=$(now_ns)
    # shellcheck disable=SC2086
    "$SIM" ${SIM_ARGS_FMT/SITE/$site} 2>"$D/sim-hub-$r.log" &
    SIM_PID=$!
    register_pid "$SIM_PID"
    wait "$SIM_PID"; sim_rc=$?
    unregister_pid "$SIM_PID"
    [ "$sim_rc" -eq 0 ] || log "kompos-sim exit $sim_rc: $(tail -n 2 "$D/sim-hub-$r.log")"
    n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$site'" "$N" "$WAIT_S" 10)
    stop_hub 60
    S="$D/hub-$r.log"
    rx=$(summary_get "$S" received) last=$(summary_get "$S" last_rx_ns)
    cpu=$(summary_get "$S" cpu_s) rss=$(summary_get "$S" maxrss_kb)
    n=$(influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$site'")
    if [ -z "$rx" ] || [ -z "$last" ]; then
        say "(b) kompos-hub: no summary line (exit $HUB_RC)"
        hub_rate=0
    else
        hub_rate=$(fmt_rate "$rx" $(( last - t0 )))
        say "(b) kompos-hub: received $rx in $(awk -v ns=$(( last - t0 )) 'BEGIN { printf "%.3f", ns / 1e9 }') s = $hub_rate msg/s; cpu_s=$cpu maxrss_kb=$rss; in InfluxDB: $n (exit $HUB_RC)"
    fi
    same=no; [ "$n" = "$rx" ] && same=yes
    all=no; [ "$n" = "$N" ] && all=yes
    say "    InfluxDB count = hub received: $same; every published message in InfluxDB: $all"
    ratio=$(awk -v h="$hub_rate" -v s="$sub_rate" 'BEGIN { if (s > 0) printf "%.3f", h / s; else print 0 }')
    say "    ratio (hub / mosquitto_sub) = $ratio"
    SUB_RATES+=("$sub_rate") HUB_RATES+=("$hub_rate") RATIOS+=("$ratio") CPUS+=("${cpu:-0}")
    RSSS+=("${rss:-0}") OKS+=("$all")
done

say ""
say "## median of $RUNS run(s)"
ms=$(median "${SUB_RATES[@]}") mh=$(median "${HUB_RATES[@]}") mr=$(median "${RATIOS[@]}")
say "mosquitto_sub: $ms msg/s"
say "kompos-hub:    $mh msg/s"
say "ratio:         $mr (median of the per-run ratios; target >= 0.8)"
say "hub cpu_s:     $(median "${CPUS[@]}") s for $N messages"
say "hub maxrss:    $(median "${RSSS[@]}") KiB with $SERIES series (target <= 16384 KiB)"
say "all $N readings in InfluxDB in every run: $(case " ${OKS[*]} " in *" no "*) echo no ;; *) echo yes ;; esac)"
say ""
say "report: $REPORT"
