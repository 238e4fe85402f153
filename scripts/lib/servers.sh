# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# servers.sh - private Mosquitto, InfluxDB 1.x and kompos-hub instances for tests and the demo.
# Needs common.sh. Every server binds to 127.0.0.1 only, lives under a directory the caller owns,
# and is registered with register_pid so that kompos_cleanup stops it.
#
# After start_mosquitto: MQTT_PID MQTT_PORT.   After start_influxd: INFLUX_PID INFLUX_PORT INFLUX_URL.
# After start_hub: HUB_PID HUB_LOG.

hub_bin() { echo "$KOMPOS_BUILD_DIR/hub/kompos-hub"; }
sim_bin() { echo "$KOMPOS_BUILD_DIR/sensors-sim/kompos-sim"; }

# start_mosquitto DIR PORT: run mosquitto in the background with its config, data and log
# (DIR/mosquitto.log) in DIR. MOSQUITTO_EXTRA_CONF: more lines for its config.
start_mosquitto() {
    local dir=$1 port=$2 bin
    bin=$(command -v mosquitto) || die "mosquitto not found (Debian package mosquitto)"
    mkdir -p "$dir" || die "mkdir $dir"
    {
        echo "# written by scripts/lib/servers.sh"
        echo "listener $port 127.0.0.1"
        echo "allow_anonymous true"
        echo "persistence true"
        echo "persistence_location $dir/"
        echo "autosave_interval 60"
        # The hub's QoS 1 persistent session must not lose messages while it lags: no queue cap.
        echo "max_queued_messages 0"
        echo "max_inflight_messages 100"
        echo "log_dest file $dir/mosquitto.log"
        echo "log_type error"
        echo "log_type warning"
        echo "log_type notice"
        echo "log_type information"
        echo "connection_messages true"
        echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
        # As root, mosquitto would switch to the 'mosquitto' user, which cannot write in DIR.
        if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
        # Extra lines from the caller, e.g. "log_type debug" to see every PUBACK.
        if [ -n "${MOSQUITTO_EXTRA_CONF:-}" ]; then printf '%s\n' "$MOSQUITTO_EXTRA_CONF"; fi
    } >"$dir/mosquitto.conf"
    "$bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.stderr.log" 2>&1 &
    MQTT_PID=$!
    MQTT_PORT=$port
    register_pid "$MQTT_PID"
    if ! wait_tcp "$port" 15 "$MQTT_PID"; then
        tail -n 20 "$dir/mosquitto.log" "$dir/mosquitto.stderr.log" >&2 2>/dev/null
        die "mosquitto did not listen on 127.0.0.1:$port within 15 s"
    fi
    log "mosquitto pid $MQTT_PID on 127.0.0.1:$port ($dir)"
}

# start_influxd DIR PORT [AUTH]: run InfluxDB 1.x with its data in DIR, HTTP API on
# 127.0.0.1:PORT, and wait (at most 30 s) for GET /ping to answer 204. AUTH=true turns on
# [http] auth-enabled (scripts/lib/tls.sh start_influxd_auth then creates the first user).
start_influxd() {
    local dir=$1 port=$2 auth=${3:-false} rpc bin deadline code
    bin=$(command -v influxd) || die "influxd not found (Debian package influxdb)"
    rpc=$(free_port) || die "no free port"
    mkdir -p "$dir/meta" "$dir/data" "$dir/wal" || die "mkdir $dir"
    cat >"$dir/influxdb.conf" <<EOF
# written by scripts/lib/servers.sh for InfluxDB 1.x
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"

[meta]
  dir = "$dir/meta"
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  auth-enabled = $auth
  log-enabled = false
  write-tracing = false
  pprof-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[retention]
  enabled = false
EOF
    "$bin" run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
    INFLUX_PID=$!
    INFLUX_PORT=$port
    INFLUX_URL="http://127.0.0.1:$port"
    register_pid "$INFLUX_PID"
    deadline=$(( $(now_ms) + 30000 ))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$INFLUX_URL/ping" 2>/dev/null)
        [ "$code" = 204 ] && break
        if ! pid_running "$INFLUX_PID"; then
            tail -n 20 "$dir/influxd.log" >&2
            die "influxd exited during start-up"
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            tail -n 20 "$dir/influxd.log" >&2
            die "influxd did not answer /ping on 127.0.0.1:$port within 30 s"
        fi
        sleep 0.2
    done
    log "influxd pid $INFLUX_PID on 127.0.0.1:$port ($dir)"
}

# Turn an InfluxDB /query JSON answer (stdin) into plain text: one line per row, tab-separated,
# the time column left out when there are other columns, a series' GROUP BY tags first as
# key=value. Exit 1 with the error on stderr if InfluxDB reported one. KOMPOS_FLOAT_DIGITS=N rounds
# floats to N decimals; KOMPOS_QUERY_TABLE=1 prints an aligned table with a header line
# (tag values without key=).
KOMPOS_QUERY_PARSER='
import json, os, sys
digits = os.environ.get("KOMPOS_FLOAT_DIGITS")
digits = int(digits) if digits else None
table = os.environ.get("KOMPOS_QUERY_TABLE") == "1"
d = json.load(sys.stdin)
if "error" in d:
    sys.stderr.write("influx: %s\n" % d["error"]); sys.exit(1)
out = []
for r in d.get("results", []):
    if "error" in r:
        sys.stderr.write("influx: %s\n" % r["error"]); sys.exit(1)
    for s in r.get("series", []):
        cols = s.get("columns", [])
        drop = 0 if len(cols) < 2 or cols[0] != "time" else 1
        tagd = sorted((s.get("tags") or {}).items())
        if table and not out:
            out.append([k for k, _ in tagd] + cols[drop:])
        tags = [v if table else "%s=%s" % (k, v) for k, v in tagd]
        for row in s.get("values", []):
            vals = []
            for v in row[drop:]:
                if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
                    v = int(v)
                elif isinstance(v, float) and digits is not None:
                    v = round(v, digits)
                vals.append("" if v is None else str(v))
            out.append(tags + vals)
if table and out:
    w = [max(len(r[i]) for r in out if i < len(r)) for i in range(max(map(len, out)))]
    for r in out:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
else:
    for r in out:
        print("\t".join(r))
'

# influx_query_json DB QUERY: the raw JSON answer (InfluxDB at INFLUX_URL).
influx_query_json() {
    curl -sS --max-time 30 -G "$INFLUX_URL/query" \
        --data-urlencode "db=$1" --data-urlencode "q=$2"
}

# influx_query DB QUERY: plain text (see KOMPOS_QUERY_PARSER). Nothing when there are no rows.
influx_query() {
    local json
    json=$(influx_query_json "$1" "$2") || { log "query failed: $2"; return 1; }
    printf '%s' "$json" | "$PY" -c "$KOMPOS_QUERY_PARSER"
}

# influx_post QUERY: a statement that changes something (CREATE DATABASE ...).
influx_post() {
    local json
    json=$(curl -sS --max-time 30 -XPOST "$INFLUX_URL/query" --data-urlencode "q=$1") ||
        { log "query failed: $1"; return 1; }
    printf '%s' "$json" | "$PY" -c "$KOMPOS_QUERY_PARSER"
}

# influx_create_db NAME
influx_create_db() {
    influx_post "CREATE DATABASE \"$1\"" || die "CREATE DATABASE $1 failed"
}

# influx_count DB QUERY: the single number a count query returns; 0 when there are no rows.
influx_count() {
    local v
    v=$(influx_query "$1" "$2" | head -n 1 | cut -f1)
    echo "${v:-0}"
}

# wait_count DB QUERY TARGET TIMEOUT_S [STABLE_S=10]: poll until the count equals TARGET, or has
# not changed for STABLE_S seconds (then it will not reach TARGET), or TIMEOUT_S passed. Prints the
# last count. Returns 0 iff it equals TARGET.
wait_count() {
    local db=$1 q=$2 target=$3 timeout=$4 stable=${5:-10}
    local start deadline last=-1 n changed
    start=$(now_ms); deadline=$(( start + timeout * 1000 )); changed=$start
    while :; do
        n=$(influx_count "$db" "$q")
        if [ "$n" = "$target" ]; then echo "$n"; return 0; fi
        if [ "$n" != "$last" ]; then last=$n; changed=$(now_ms); fi
        if [ $(( $(now_ms) - changed )) -ge $(( stable * 1000 )) ] && [ "$n" -gt 0 ]; then
            log "count stuck at $n for ${stable}s (target $target)"
            echo "$n"; return 1
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            log "count $n after ${timeout}s (target $target)"
            echo "$n"; return 1
        fi
        sleep 1
    done
}

# write_hub_config FILE [key=value ...]: a hub config for MQTT_PORT and INFLUX_URL. Keys that can
# be overridden: site client_id qos clean_session api url database org bucket token_file
# batch_size flush_interval_ms gzip timeout_ms max_queue_points retry_max_ms shutdown_grace_ms
# max_series max_payload_bytes window_s history_s ring_points self_interval_s level spool_dir
# spool_max_mb spool_segment_mb fsync_interval_ms http_port (the spool defaults to FILE's
# folder/spool; http_port 0 = no status server).
write_hub_config() {
    local file=$1 kv
    shift
    local -A c=(
        [site]=test [client_id]="kompos-hub-test" [qos]=1 [clean_session]=false
        [mqtt_host]=127.0.0.1 [mqtt_port]="${MQTT_PORT:-1883}"
        [api]=v1 [url]="${INFLUX_URL:-http://127.0.0.1:8086}" [database]=kompos [org]="" [bucket]=""
        [token_file]="" [batch_size]=5000 [flush_interval_ms]=1000 [gzip]=true [timeout_ms]=5000
        [max_queue_points]=200000 [retry_max_ms]=5000 [shutdown_grace_ms]=20000
        [max_series]=10000 [max_payload_bytes]=4096
        [window_s]=60 [history_s]=3600 [ring_points]=360 [self_interval_s]=10 [level]=info
        [spool_dir]="$(cd "$(dirname "$file")" && pwd)/spool" [spool_max_mb]=256 [spool_segment_mb]=8
        [fsync_interval_ms]=1000 [http_port]=0
        [compost]="${KOMPOS_TEST_COMPOST:-true}" [state_file]="$(cd "$(dirname "$file")" && pwd)/compost.state"
        [state_interval_s]=0 [save_interval_s]=60
        [alerts]=true [alerts_dir]="$(cd "$(dirname "$file")" && pwd)/alerts" [alerts_extra]=""
        [extra]=""
    )
    for kv in "$@"; do
        case "$kv" in *=*) ;; *) die "write_hub_config: '$kv' is not key=value" ;; esac
        [ -n "${c[${kv%%=*}]+set}" ] || die "write_hub_config: unknown key '${kv%%=*}'"
        c[${kv%%=*}]=${kv#*=}
    done
    cat >"$file" <<EOF
# kompos-hub test config, written by scripts/lib/servers.sh
site = "${c[site]}";
mqtt = {
  host = "${c[mqtt_host]}"; port = ${c[mqtt_port]}; client_id = "${c[client_id]}";
  qos = ${c[qos]}; clean_session = ${c[clean_session]};
  username = ""; password_file = ""; keepalive_s = 30; reconnect_max_s = 5;
  subscriptions = ( "kube/+/+/+/+", "kube/+/+/+" );
};
influx = {
  url = "${c[url]}"; api = "${c[api]}"; database = "${c[database]}"; retention_policy = "";
  org = "${c[org]}"; bucket = "${c[bucket]}"; token_file = "${c[token_file]}";
  batch_size = ${c[batch_size]}; flush_interval_ms = ${c[flush_interval_ms]}; gzip = ${c[gzip]};
  timeout_ms = ${c[timeout_ms]}; max_queue_points = ${c[max_queue_points]};
  retry_max_ms = ${c[retry_max_ms]}; shutdown_grace_ms = ${c[shutdown_grace_ms]};
};
spool = { dir = "${c[spool_dir]}"; max_mb = ${c[spool_max_mb]}; segment_mb = ${c[spool_segment_mb]};
          fsync_interval_ms = ${c[fsync_interval_ms]}; };
limits = { max_series = ${c[max_series]}; max_payload_bytes = ${c[max_payload_bytes]}; };
stats = { window_s = ${c[window_s]}; history_s = ${c[history_s]}; ring_points = ${c[ring_points]};
          self_interval_s = ${c[self_interval_s]}; };
log = { level = "${c[level]}"; };
http = { bind = "127.0.0.1"; port = ${c[http_port]}; };
compost = { enabled = ${c[compost]}; state_file = "${c[state_file]}";
            state_interval_s = ${c[state_interval_s]}; save_interval_s = ${c[save_interval_s]}; };
alerts = { enabled = ${c[alerts]}; state_dir = "${c[alerts_dir]}"; ${c[alerts_extra]} };
${c[extra]}
EOF
}

# KOMPOS_HUB_WRAPPER: a command put before the hub by start_hub (split at spaces), e.g.
# "valgrind --error-exitcode=99 --leak-check=full --log-file=DIR/hub.%p.log" (scripts/test's
# valgrind pass; sanitize.sh). The process is still HUB_PID (valgrind runs the hub in its own
# process), and start_hub waits 8 times longer for it to subscribe.
# KOMPOS_SCALE (default 1): tests that honour it divide their message counts by it (hub_scale).

# hub_scale N [MIN=1]: N divided by KOMPOS_SCALE, at least MIN.
hub_scale() {
    local s=${KOMPOS_SCALE:-1} n
    case "$s" in ''|*[!0-9]*|0) s=1 ;; esac
    n=$(( $1 / s ))
    [ "$n" -ge "${2:-1}" ] || n=${2:-1}
    echo "$n"
}

# start_hub CFG LOG: run kompos-hub in the background (stderr and stdout to LOG); sets HUB_PID.
# Waits (at most 15 s; 120 s with KOMPOS_HUB_WRAPPER) for the hub to log that it subscribed, or
# fails if it exits.
start_hub() {
    local cfg=$1 logf=$2 bin deadline wait_ms=15000
    local -a wrap=()
    bin=$(hub_bin)
    [ -x "$bin" ] || die "$bin not built"
    if [ -n "${KOMPOS_HUB_WRAPPER:-}" ]; then
        read -r -a wrap <<<"$KOMPOS_HUB_WRAPPER"
        wait_ms=120000
    fi
    "${wrap[@]}" "$bin" -c "$cfg" >"$logf" 2>&1 &
    HUB_PID=$!
    HUB_LOG=$logf
    register_pid "$HUB_PID"
    deadline=$(( $(now_ms) + wait_ms ))
    while ! grep -aq 'subscribed to' "$logf" 2>/dev/null; do
        if ! pid_running "$HUB_PID"; then
            cat "$logf" >&2
            die "kompos-hub exited during start-up"
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            tail -n 20 "$logf" >&2
            die "kompos-hub did not subscribe within $(( wait_ms / 1000 )) s"
        fi
        sleep 0.1
    done
    sleep 0.5 # the SUBSCRIBE goes out right after the CONNACK that logged "subscribed to"
    log "kompos-hub pid $HUB_PID ($cfg, log $logf)"
}

# stop_hub [TIMEOUT_S=30]: SIGTERM the hub, wait for it; sets HUB_RC (its exit status) and
# HUB_STOP_S (seconds it took). Returns HUB_RC.
stop_hub() {
    local t0
    t0=$(now_ms)
    stop_pid "$HUB_PID" "${1:-30}"
    HUB_RC=$?
    HUB_STOP_S=$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')
    return "$HUB_RC"
}

# run_sim ARGS...: run kompos-sim against MQTT_PORT and wait for it (at most SIM_TIMEOUT s, default
# 300). Its stderr goes to SIM_LOG (default: our stderr). Returns its exit status. It runs as a
# registered background job so that a signal to this script is handled at once.
run_sim() {
    local bin pid rc
    bin=$(sim_bin)
    [ -x "$bin" ] || die "$bin not built"
    log "+ kompos-sim --host 127.0.0.1 --port $MQTT_PORT $*"
    timeout -k 5 "${SIM_TIMEOUT:-300}" "$bin" --host 127.0.0.1 --port "$MQTT_PORT" "$@" \
        2>>"${SIM_LOG:-/dev/stderr}" &
    pid=$!
    register_pid "$pid"
    wait "$pid"
    rc=$?
    unregister_pid "$pid"
    return "$rc"
}
