#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_tls: the hub reads from Mosquitto over TLS. A CA, a server certificate for IP 127.0.0.1 and
# DNS localhost, one for DNS "otherhost" only, a client certificate and a second, unrelated CA are
# made with openssl in the temp folder. One mosquitto has a plain listener (kompos-sim has no TLS:
# it publishes there) and three TLS listeners: server cert; server cert + require_certificate;
# otherhost cert. Real influxd.
#
#  1. --check: a missing CA file is "FILE:LINE: mqtt.tls_ca_file: PATH: No such file or directory".
#  2. right CA, host name checked: 1000 readings published on the plain listener all arrive.
#  3. a listener that requires a client certificate: without one the hub gets nothing and says
#     why; with client.crt (and host "localhost", a DNS SAN) 200 readings arrive.
#  4. wrong CA: the hub writes nothing, logs "TLS verification of broker 127.0.0.1:PORT failed",
#     keeps retrying with backoff (the broker sees the attempts) and keeps running; the 300
#     readings the broker queued meanwhile for its persistent session all arrive once the hub
#     has the right CA.
#  5. host name mismatch (certificate for "otherhost", hub connects to 127.0.0.1): refused with
#     verification on; with tls_verify_hostname = false it connects, logs the loud warning, and
#     200 readings arrive.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
# shellcheck source=../../scripts/lib/tls.sh
. "$KOMPOS_ROOT/scripts/lib/tls.sh"
install_cleanup_trap
make_tmpdir

PKI="$KOMPOS_TMP/pki"
make_test_pki "$PKI"

PLAIN=$(free_port) TLS=$(free_port) TLS_CC=$(free_port) TLS_OTHER=$(free_port)
start_mosquitto_conf "$KOMPOS_TMP/mqtt" "allow_anonymous true
listener $PLAIN 127.0.0.1
$(tls_listener "$TLS" server "$PKI")
$(tls_listener "$TLS_CC" server "$PKI" true)
$(tls_listener "$TLS_OTHER" otherhost "$PKI")" "$PLAIN" "$TLS" "$TLS_CC" "$TLS_OTHER"
MQLOG="$KOMPOS_TMP/mqtt/mosquitto.log"
start_influxd "$KOMPOS_TMP/influx" "$(free_port)"
influx_create_db kompos

# tls_hub NAME PORT CA [KEY=VALUE...]: a hub config NAME/hub.cfg (own spool, client id hub-NAME)
# for the broker's PORT with mqtt.tls_ca_file = CA; KEY=VALUE sets more mqtt.KEY (values as
# written in the file). Prints the file's path.
tls_hub() {
    local name=$1 port=$2 ca=$3 kv dir="$KOMPOS_TMP/$1"
    shift 3
    mkdir -p "$dir"
    write_hub_config "$dir/hub.cfg" site=tls client_id="hub-$name" mqtt_port="$port" \
        flush_interval_ms=200 self_interval_s=60
    hub_config_set "$dir/hub.cfg" mqtt tls_ca_file "\"$ca\""
    for kv in "$@"; do hub_config_set "$dir/hub.cfg" mqtt "${kv%%=*}" "${kv#*=}"; done
    chmod 600 "$dir/hub.cfg"
    echo "$dir/hub.cfg"
}

# sim SITE N: N readings of temp_core_c for site SITE on the plain listener.
sim() {
    SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --site "$1" --qos 1 --format number --count "$2" \
        --rate 0 --series 10 --timeout 60 --quiet
    check_eq "kompos-sim $1 ($2 readings) exit status" 0 "$?"
}

count_site() { influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'"; }

# attempts PORT: TLS connections the broker saw on PORT so far.
attempts() { grep -ac "New connection from .* on port $1\." "$MQLOG"; }

# --- 1. --check names a missing CA file with its line ------------------------------------------
cfg=$(tls_hub check "$TLS" "$KOMPOS_TMP/no-such-ca.crt")
line=$(grep -n 'tls_ca_file' "$cfg" | cut -d: -f1)
err=$("$(hub_bin)" -c "$cfg" --check 2>&1 >/dev/null); rc=$?
check_eq "--check with a missing CA file: exit status" 1 "$rc"
check_eq "--check with a missing CA file: message" \
    "$cfg:$line: mqtt.tls_ca_file: $KOMPOS_TMP/no-such-ca.crt: No such file or directory" \
    "$(printf '%s\n' "$err" | head -n 1)"

# --- 2. right CA, host name verified: 1000 readings ---------------------------------------------
cfg=$(tls_hub ok "$TLS" "$PKI/ca.crt")
start_hub "$cfg" "$KOMPOS_TMP/ok/hub.log"
if grep -aq "connected to 127.0.0.1:$TLS over TLS" "$HUB_LOG"; then
    ok "hub connected to 127.0.0.1:$TLS over TLS, host name checked"
else
    fail "no 'connected to 127.0.0.1:$TLS over TLS' in the hub's log"
fi
sim tls-ok 1000
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='tls-ok'" 1000 60)
check_eq "readings that reached InfluxDB over the TLS subscription" 1000 "$n"
stop_hub 30
check_eq "hub (TLS) exit status after SIGTERM" 0 "$HUB_RC"
check_eq "hub (TLS) summary received" 1000 "$(summary_get "$HUB_LOG" received)"
check_eq "hub (TLS) summary dropped" 0 "$(summary_get "$HUB_LOG" dropped)"

# --- 3. client certificate required -------------------------------------------------------------
cfg=$(tls_hub nocc "$TLS_CC" "$PKI/ca.crt")
a0=$(attempts "$TLS_CC")
start_hub_nowait "$cfg" "$KOMPOS_TMP/nocc/hub.log"
if wait_log "$HUB_LOG" "error mqtt: TLS handshake with broker 127.0.0.1:$TLS_CC failed .*client certificate" 15; then
    ok "without a client certificate: $(grep -a 'TLS handshake' "$HUB_LOG" | head -n 1 | sed 's/^.*error //')"
else
    fail "without a client certificate: no TLS handshake error naming 127.0.0.1:$TLS_CC"
fi
sim tls-nocc 100
sleep 2
check_eq "readings written by the hub without a client certificate" 0 "$(count_site tls-nocc)"
if grep -aq 'subscribed to' "$HUB_LOG"; then fail "the hub without a client certificate subscribed"
else ok "the hub without a client certificate never subscribed"; fi
# the hub retries with backoff (1 s, 2 s, ...): wait for its second attempt (at most 15 s)
deadline=$(( $(now_ms) + 15000 ))
while [ $(( $(attempts "$TLS_CC") - a0 )) -lt 2 ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.3; done
check_ge "TLS attempts the broker saw from it" 2 $(( $(attempts "$TLS_CC") - a0 ))
stop_hub 30
check_eq "hub (no client certificate) exit status after SIGTERM" 0 "$HUB_RC"

cfg=$(tls_hub cc "$TLS_CC" "$PKI/ca.crt" tls_cert_file="\"$PKI/client.crt\"" \
      tls_key_file="\"$PKI/client.key\"" host='"localhost"')
start_hub "$cfg" "$KOMPOS_TMP/cc/hub.log"
if grep -aq "connected to localhost:$TLS_CC over TLS" "$HUB_LOG"; then
    ok "with client.crt: connected to localhost:$TLS_CC over TLS (DNS SAN localhost checked)"
else
    fail "with client.crt: no 'connected to localhost:$TLS_CC over TLS'"
fi
sim tls-cc 200
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='tls-cc'" 200 60)
check_eq "readings through the listener that requires a client certificate" 200 "$n"
stop_hub 30
check_eq "hub (client certificate) exit status after SIGTERM" 0 "$HUB_RC"

# --- 4. wrong CA ------------------------------------------------------------------------------
# The session of client id hub-wrongca exists (one good connection first), so the broker queues
# what is published while the hub cannot get in.
cfg=$(tls_hub wrongca "$TLS" "$PKI/ca.crt")
start_hub "$cfg" "$KOMPOS_TMP/wrongca/good-first.log"
stop_hub 30
cfg=$(tls_hub wrongca "$TLS" "$PKI/other-ca.crt")
a0=$(attempts "$TLS")
start_hub_nowait "$cfg" "$KOMPOS_TMP/wrongca/hub.log"
want="error mqtt: TLS verification of broker 127.0.0.1:$TLS failed (certificate verify failed)"
if wait_log "$HUB_LOG" "$(printf '%s' "$want" | sed 's/[.()]/\\&/g')" 15; then
    ok "wrong CA: $(grep -a 'TLS verification' "$HUB_LOG" | head -n 1 | sed 's/^.*error //')"
else
    fail "wrong CA: no line '$want' in the hub's log"
fi
sim tls-wrongca 300
# Backoff 1, 2, 4, 5 s (reconnect_max_s = 5): at least 3 attempts within 12 s.
deadline=$(( $(now_ms) + 12000 ))
while [ $(( $(attempts "$TLS") - a0 )) -lt 3 ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.5; done
check_ge "TLS attempts the broker saw from the hub with the wrong CA (it keeps retrying)" 3 \
    $(( $(attempts "$TLS") - a0 ))
check_eq "readings written with the wrong CA" 0 "$(count_site tls-wrongca)"
if grep -aq 'subscribed to' "$HUB_LOG"; then fail "the hub with the wrong CA subscribed"
else ok "the hub with the wrong CA never subscribed"; fi
if pid_running "$HUB_PID"; then ok "the hub with the wrong CA keeps running"; else fail "the hub with the wrong CA died"; fi
nerr=$(grep -ac 'TLS verification of broker' "$HUB_LOG")
check_eq "TLS verification errors logged in the first minute (repeats rate-limited)" 1 "$nerr"
stop_hub 30
check_eq "hub (wrong CA) exit status after SIGTERM" 0 "$HUB_RC"
# The same client id with the right CA gets what the broker kept.
cfg=$(tls_hub wrongca "$TLS" "$PKI/ca.crt")
start_hub "$cfg" "$KOMPOS_TMP/wrongca/fixed.log"
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='tls-wrongca'" 300 60)
check_eq "readings queued while the CA was wrong, written once it is right" 300 "$n"
stop_hub 30

# --- 5. host name mismatch --------------------------------------------------------------------
cfg=$(tls_hub otherhost "$TLS_OTHER" "$PKI/ca.crt")
start_hub_nowait "$cfg" "$KOMPOS_TMP/otherhost/hub.log"
want="error mqtt: TLS verification of broker 127.0.0.1:$TLS_OTHER failed: its certificate does not name 127.0.0.1"
if wait_log "$HUB_LOG" "$(printf '%s' "$want" | sed 's/[.()]/\\&/g')" 15; then
    ok "host name mismatch: $(grep -a 'TLS verification' "$HUB_LOG" | head -n 1 | sed 's/^.*error //')"
else
    fail "host name mismatch: no line '$want' in the hub's log"
fi
sim tls-otherhost 100
sleep 2
check_eq "readings written despite the host name mismatch" 0 "$(count_site tls-otherhost)"
stop_hub 30

cfg=$(tls_hub insecure "$TLS_OTHER" "$PKI/ca.crt" tls_verify_hostname=false)
start_hub "$cfg" "$KOMPOS_TMP/insecure/hub.log"
if grep -aq 'warn  mqtt: TLS HOST NAME VERIFICATION IS OFF (mqtt.tls_verify_hostname = false)' "$HUB_LOG"; then
    ok "tls_verify_hostname = false: the start-up warning is there"
else
    fail "tls_verify_hostname = false: no 'TLS HOST NAME VERIFICATION IS OFF' warning"
fi
sim tls-insecure 200
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='tls-insecure'" 200 60)
check_eq "readings with tls_verify_hostname = false (certificate for otherhost)" 200 "$n"
stop_hub 30
check_eq "hub (verify_hostname false) exit status after SIGTERM" 0 "$HUB_RC"

finish
