#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_secrets_not_logged: no secret the hub is given ever appears in its log (stdout + stderr),
# at log.level = "debug", through failures and successes:
#
#  1. broker over TLS with a client certificate, wrong MQTT password (from a file): refused,
#     logged, retried;
#  2. right MQTT password (from KOMPOS_MQTT_PASSWORD), wrong InfluxDB v1 password (file): 401s
#     logged; the file is corrected, SIGHUP: readings written;
#  3. InfluxDB v2 API (fake_influx_v2.py): a wrong token (file), refused; the right token
#     (KOMPOS_INFLUX_TOKEN): readings written.
#
# Then every log and the spool are searched for each password and token (right and wrong), the
# Basic-auth encodings of the InfluxDB user:password pairs, and the client key's PEM lines.
# Real mosquitto (password file, TLS listener requiring a client certificate, plain listener for
# kompos-sim), influxd with auth-enabled, kompos-hub, kompos-sim.
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

MQTT_PW=$(random_secret mqpw)
MQTT_PW_WRONG=$(random_secret mqbad)
SIM_PW=$(random_secret simpw)
INFLUX_ADMIN_PW=$(random_secret admin)
INFLUX_PW=$(random_secret ixpw)
INFLUX_PW_WRONG=$(random_secret ixbad)
TOKEN=$(random_secret v2tok)
TOKEN_WRONG=$(random_secret v2bad)
export KOMPOS_SIM_PASSWORD=$SIM_PW

PKI="$KOMPOS_TMP/pki"
make_test_pki "$PKI"
PLAIN=$(free_port) TLS=$(free_port)
mkdir -p "$KOMPOS_TMP/mqtt"
( umask 077; : >"$KOMPOS_TMP/mqtt/passwd" )
mosquitto_passwd -b "$KOMPOS_TMP/mqtt/passwd" hub "$MQTT_PW" >/dev/null 2>&1 || die "mosquitto_passwd hub"
mosquitto_passwd -b "$KOMPOS_TMP/mqtt/passwd" sim "$SIM_PW" >/dev/null 2>&1 || die "mosquitto_passwd sim"
start_mosquitto_conf "$KOMPOS_TMP/mqtt" "allow_anonymous false
password_file $KOMPOS_TMP/mqtt/passwd
listener $PLAIN 127.0.0.1
$(tls_listener "$TLS" server "$PKI" true)" "$PLAIN" "$TLS"
start_influxd_auth "$KOMPOS_TMP/influx" "$(free_port)" admin "$INFLUX_ADMIN_PW"
influx_create_db kompos
influx_create_writer hubwriter "$INFLUX_PW" kompos

# hub_cfg NAME [write_hub_config KEY=VALUE ...]: NAME/hub.cfg at debug level, TLS with the client
# certificate to the TLS listener, mqtt.username hub, influx.username hubwriter, mode 0600.
hub_cfg() {
    local name=$1 dir="$KOMPOS_TMP/$1"
    shift
    mkdir -p "$dir"
    write_hub_config "$dir/hub.cfg" site=sec client_id="hub-$name" mqtt_port="$TLS" \
        url="$INFLUX_PLAIN_URL" level=debug flush_interval_ms=200 self_interval_s=2 \
        retry_max_ms=1000 "$@"
    hub_config_set "$dir/hub.cfg" mqtt tls_ca_file "\"$PKI/ca.crt\""
    hub_config_set "$dir/hub.cfg" mqtt tls_cert_file "\"$PKI/client.crt\""
    hub_config_set "$dir/hub.cfg" mqtt tls_key_file "\"$PKI/client.key\""
    hub_config_set "$dir/hub.cfg" mqtt username '"hub"'
    hub_config_set "$dir/hub.cfg" influx username '"hubwriter"'
    chmod 600 "$dir/hub.cfg"
    echo "$dir/hub.cfg"
}

# sim SITE N: N readings on the plain listener (MQTT_PORT), as user sim.
sim() {
    SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --username sim --site "$1" --qos 1 \
        --format number --count "$2" --rate 0 --series 10 --timeout 60 --quiet
    check_eq "kompos-sim $1 ($2 readings) exit status" 0 "$?"
}

# --- 1. wrong MQTT password over TLS -----------------------------------------------------------
secret_file "$KOMPOS_TMP/mqtt-wrong.pw" "$MQTT_PW_WRONG"
secret_file "$KOMPOS_TMP/influx.pw" "$INFLUX_PW"
cfg=$(hub_cfg refused)
hub_config_set "$cfg" mqtt password_file "\"$KOMPOS_TMP/mqtt-wrong.pw\""
hub_config_set "$cfg" influx password_file "\"$KOMPOS_TMP/influx.pw\""
start_hub_nowait "$cfg" "$KOMPOS_TMP/refused/hub.log"
deadline=$(( $(now_ms) + 15000 ))
while [ "$(grep -ac 'refused the connection' "$HUB_LOG")" -lt 2 ] && [ "$(now_ms)" -lt "$deadline" ]; do
    sleep 0.3
done
check_ge "1. refusals of the wrong MQTT password logged (over TLS)" 2 "$(grep -ac 'refused the connection' "$HUB_LOG")"
stop_hub 30
check_eq "1. hub exit status" 0 "$HUB_RC"

# --- 2. right MQTT password from the environment; InfluxDB v1 password wrong, then fixed ----------
secret_file "$KOMPOS_TMP/influx-v1.pw" "$INFLUX_PW_WRONG"
cfg=$(hub_cfg v1)
hub_config_set "$cfg" influx password_file "\"$KOMPOS_TMP/influx-v1.pw\""
export KOMPOS_MQTT_PASSWORD=$MQTT_PW
start_hub "$cfg" "$KOMPOS_TMP/v1/hub.log"
unset KOMPOS_MQTT_PASSWORD
sim sec-v1-wrong 100
if wait_log "$HUB_LOG" "HTTP 401" 20; then ok "2. InfluxDB's 401 for the wrong password is logged"
else fail "2. no HTTP 401 in the hub's log"; fi
secret_file "$KOMPOS_TMP/influx-v1.pw" "$INFLUX_PW"
kill -HUP "$HUB_PID"
wait_log "$HUB_LOG" "info  config: reloaded " 10 || fail "2. SIGHUP: no 'reloaded' line"
sim sec-v1-right 100
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='sec-v1-right'" 100 60)
check_eq "2. readings written with the corrected InfluxDB password" 100 "$n"
stop_hub 30
check_eq "2. hub exit status" 0 "$HUB_RC"

# --- 3. InfluxDB v2 token: wrong (file), then right (environment) --------------------------------
"$PY" "$KOMPOS_ROOT/tests/integration/fake_influx_v2.py" --port 0 --port-file "$KOMPOS_TMP/v2.port" \
    --org kube --bucket sec --token "$TOKEN" --report "$KOMPOS_TMP/v2-report.json" --timeout 300 \
    >"$KOMPOS_TMP/fake_v2.out" 2>&1 &
FAKE_PID=$!
register_pid "$FAKE_PID"
for _ in $(seq 1 100); do [ -s "$KOMPOS_TMP/v2.port" ] && break; sleep 0.1; done
[ -s "$KOMPOS_TMP/v2.port" ] || die "fake_influx_v2.py did not start"
V2_URL="http://127.0.0.1:$(cat "$KOMPOS_TMP/v2.port")"
secret_file "$KOMPOS_TMP/token-wrong" "$TOKEN_WRONG"
export KOMPOS_MQTT_PASSWORD=$MQTT_PW
cfg=$(hub_cfg v2wrong api=v2 url="$V2_URL" org=kube bucket=sec database="" \
      token_file="$KOMPOS_TMP/token-wrong")
start_hub "$cfg" "$KOMPOS_TMP/v2wrong/hub.log"
sim sec-v2-wrong 50
if wait_log "$HUB_LOG" "influx: .*HTTP 400" 20; then ok "3. the v2 server's refusal of the wrong token is logged"
else fail "3. no HTTP 400 in the hub's log"; fi
stop_hub 30
cfg=$(hub_cfg v2 api=v2 url="$V2_URL" org=kube bucket=sec database="" \
      token_file="$KOMPOS_TMP/token-wrong")
export KOMPOS_INFLUX_TOKEN=$TOKEN
start_hub "$cfg" "$KOMPOS_TMP/v2/hub.log"
unset KOMPOS_INFLUX_TOKEN KOMPOS_MQTT_PASSWORD
sim sec-v2-right 100
if wait_log "$HUB_LOG" "debug influx: wrote " 20; then ok "3. v2 writes succeed with the token from KOMPOS_INFLUX_TOKEN"
else fail "3. no 'wrote N points' with the right token"; fi
stop_hub 30
check_eq "3. hub exit status" 0 "$HUB_RC"
stop_pid "$FAKE_PID" 10

# --- the search ---------------------------------------------------------------------------------
LOGS=()
while IFS= read -r f; do LOGS+=("$f"); done < <(find "$KOMPOS_TMP"/refused "$KOMPOS_TMP"/v1 \
    "$KOMPOS_TMP"/v2wrong "$KOMPOS_TMP"/v2 -type f \( -name '*.log' -o -path '*/spool/*' \) | sort)
lines=$(cat "${LOGS[@]}" | wc -l)
dbg=$(cat "${LOGS[@]}" | grep -ac ' debug ')
check_ge "hub log lines searched (${#LOGS[@]} files, $dbg at debug level)" 50 "$lines"

declare -A SECRETS=(
    [MQTT password]=$MQTT_PW
    [wrong MQTT password]=$MQTT_PW_WRONG
    [InfluxDB password]=$INFLUX_PW
    [wrong InfluxDB password]=$INFLUX_PW_WRONG
    [InfluxDB Basic auth]=$(printf '%s' "hubwriter:$INFLUX_PW" | base64 -w0)
    [wrong InfluxDB Basic auth]=$(printf '%s' "hubwriter:$INFLUX_PW_WRONG" | base64 -w0)
    [v2 token]=$TOKEN
    [wrong v2 token]=$TOKEN_WRONG
    [sim password]=$SIM_PW
    [InfluxDB admin password]=$INFLUX_ADMIN_PW
)
# The client key: every full PEM body line (64 base64 characters).
i=0
while IFS= read -r l; do
    i=$((i + 1)); SECRETS["client key line $i"]=$l
done < <(grep -v -- '-----' "$PKI/client.key" | grep -E '^.{40,}$')
# The search works on these files: the broker's address is in them.
check_ge "files that name the broker 127.0.0.1:$TLS (the search itself works)" 4 \
    "$(grep -alF -- "127.0.0.1:$TLS" "${LOGS[@]}" | wc -l)"
while IFS= read -r name; do
    v=${SECRETS[$name]}
    [ ${#v} -ge 12 ] || { fail "secret '$name' is too short to search for: '$v'"; continue; }
    hits=$(grep -alF -- "$v" "${LOGS[@]}" | tr '\n' ' ')
    if [ -n "$hits" ]; then fail "$name appears in: $hits"
    else ok "$name: not in the hub's logs or spool"; fi
done < <(printf '%s\n' "${!SECRETS[@]}" | sort)
finish
