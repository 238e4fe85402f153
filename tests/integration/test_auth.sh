#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_auth: credentials for the broker and for InfluxDB. Mosquitto with allow_anonymous false and
# a password file (users hub and sim); influxd with [http] auth-enabled = true, an admin and a
# user "hubwriter" that may only write to the database. Real kompos-hub and kompos-sim.
#
#  A. passwords from files (mode 0600): 1000 readings arrive; no permission warning.
#  B. passwords from KOMPOS_MQTT_PASSWORD / KOMPOS_INFLUX_PASSWORD (no *_file set): 500 arrive.
#  C. wrong MQTT password: the broker refuses, the hub logs the refusal, never subscribes, keeps
#     running and retrying; nothing is written. Its config and password file are mode 0644: two
#     WARN lines at start name them and their mode.
#  D. wrong InfluxDB password: the hub reads from the broker, InfluxDB answers 401, the hub logs
#     it and keeps running; nothing is written. The password file is corrected and the hub gets
#     SIGHUP: 100 new readings arrive.
# test_secrets_not_logged.sh checks that none of these passwords reaches a log.
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

MQTT_HUB_PW=$(random_secret mqhub)
MQTT_SIM_PW=$(random_secret mqsim)
INFLUX_ADMIN_PW=$(random_secret admin)
INFLUX_HUB_PW=$(random_secret ixhub)
export KOMPOS_SIM_PASSWORD=$MQTT_SIM_PW     # kompos-sim --username sim reads it

start_mosquitto_auth "$KOMPOS_TMP/mqtt" "$(free_port)" hub "$MQTT_HUB_PW" sim "$MQTT_SIM_PW"
MQLOG="$KOMPOS_TMP/mqtt/mosquitto.log"
start_influxd_auth "$KOMPOS_TMP/influx" "$(free_port)" admin "$INFLUX_ADMIN_PW"
influx_create_db kompos
influx_create_writer hubwriter "$INFLUX_HUB_PW" kompos

# The servers really refuse strangers.
if timeout 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t kube/x/drum/1/temp_core_c -m 1 \
        >/dev/null 2>&1; then
    fail "mosquitto accepted an anonymous publish"
else
    ok "mosquitto refuses anonymous clients"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -XPOST \
    "$INFLUX_PLAIN_URL/write?db=kompos" --data-binary 'drum,site=x,id=1 temp_core_c=1')
check_eq "InfluxDB answer to a write without credentials" 401 "$code"

# auth_hub NAME MQTT_PW_FILE INFLUX_PW_FILE: NAME/hub.cfg (own spool, client id hub-NAME, mode
# 0600) with user names hub / hubwriter and these password files ("" = none). Prints its path.
auth_hub() {
    local dir="$KOMPOS_TMP/$1"
    mkdir -p "$dir"
    write_hub_config "$dir/hub.cfg" site=auth client_id="hub-$1" url="$INFLUX_PLAIN_URL" \
        flush_interval_ms=200 self_interval_s=60 retry_max_ms=1000
    hub_config_set "$dir/hub.cfg" mqtt username '"hub"'
    hub_config_set "$dir/hub.cfg" mqtt password_file "\"$2\""
    hub_config_set "$dir/hub.cfg" influx username '"hubwriter"'
    hub_config_set "$dir/hub.cfg" influx password_file "\"$3\""
    chmod 600 "$dir/hub.cfg"
    echo "$dir/hub.cfg"
}

# sim SITE N: N readings of temp_core_c for SITE, published as user sim.
sim() {
    SIM_LOG="$KOMPOS_TMP/sim.log" run_sim --username sim --site "$1" --qos 1 --format number \
        --count "$2" --rate 0 --series 10 --timeout 60 --quiet
    check_eq "kompos-sim $1 ($2 readings, user sim) exit status" 0 "$?"
}

count_site() { influx_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='$1'"; }

# --- A. passwords from files ------------------------------------------------------------------
secret_file "$KOMPOS_TMP/mqtt.pw" "$MQTT_HUB_PW"
secret_file "$KOMPOS_TMP/influx.pw" "$INFLUX_HUB_PW"
cfg=$(auth_hub files "$KOMPOS_TMP/mqtt.pw" "$KOMPOS_TMP/influx.pw")
start_hub "$cfg" "$KOMPOS_TMP/files/hub.log"
sim auth-files 1000
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='auth-files'" 1000 60)
check_eq "A. readings written with passwords from 0600 files" 1000 "$n"
stop_hub 30
check_eq "A. hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "A. hub summary write_errors" 0 "$(summary_get "$HUB_LOG" write_errors)"
check_eq "A. hub summary dropped" 0 "$(summary_get "$HUB_LOG" dropped)"
check_eq "A. permission warnings (config and password files are 0600)" 0 "$(grep -ac 'has mode' "$HUB_LOG")"

# --- B. passwords from the environment --------------------------------------------------------
cfg=$(auth_hub env "" "")
export KOMPOS_MQTT_PASSWORD=$MQTT_HUB_PW KOMPOS_INFLUX_PASSWORD=$INFLUX_HUB_PW
start_hub "$cfg" "$KOMPOS_TMP/env/hub.log"
unset KOMPOS_MQTT_PASSWORD KOMPOS_INFLUX_PASSWORD
sim auth-env 500
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='auth-env'" 500 60)
check_eq "B. readings written with passwords from KOMPOS_MQTT_PASSWORD / KOMPOS_INFLUX_PASSWORD" 500 "$n"
stop_hub 30
check_eq "B. hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "B. hub summary dropped" 0 "$(summary_get "$HUB_LOG" dropped)"

# --- C. wrong MQTT password; config and password file readable by others ------------------------
printf '%s\n' "wrong-$MQTT_HUB_PW" >"$KOMPOS_TMP/mqtt-wrong.pw"
chmod 644 "$KOMPOS_TMP/mqtt-wrong.pw"
cfg=$(auth_hub badmqtt "$KOMPOS_TMP/mqtt-wrong.pw" "$KOMPOS_TMP/influx.pw")
chmod 644 "$cfg"
start_hub_nowait "$cfg" "$KOMPOS_TMP/badmqtt/hub.log"
if wait_log "$HUB_LOG" "error mqtt: broker 127\.0\.0\.1:$MQTT_PORT refused the connection: .*not authori[sz]ed" 15; then
    ok "C. refusal logged: $(grep -a 'refused the connection' "$HUB_LOG" | head -n 1 | sed 's/^.*error //')"
else
    fail "C. no 'refused the connection ... not authorised' line in the hub's log"
fi
if grep -aq "warn  config: $cfg (config file) has mode 0644: readable by group and others" "$HUB_LOG"; then
    ok "C. WARN at start: the config file and its mode 0644"
else
    fail "C. no permission warning for the config file (mode 0644)"
fi
if grep -aq "warn  config: $KOMPOS_TMP/mqtt-wrong.pw (mqtt.password_file) has mode 0644" "$HUB_LOG"; then
    ok "C. WARN at start: the password file and its mode 0644"
else
    fail "C. no permission warning for mqtt.password_file (mode 0644)"
fi
sim auth-badmqtt 200
# Backoff 1, 2, 4, 5 s (reconnect_max_s = 5): at least 3 refused attempts within 12 s. The hub
# logs each refusal; the broker logs them as "Client <unknown> disconnected, not authorised."
deadline=$(( $(now_ms) + 12000 ))
while [ "$(grep -ac 'refused the connection' "$HUB_LOG")" -lt 3 ] && [ "$(now_ms)" -lt "$deadline" ]; do
    sleep 0.5
done
check_ge "C. refused attempts logged by the hub (it keeps retrying)" 3 \
    "$(grep -ac 'refused the connection' "$HUB_LOG")"
check_ge "C. refusals logged by the broker" 3 "$(grep -ac 'disconnected, not authorised' "$MQLOG")"
check_eq "C. readings written with the wrong MQTT password" 0 "$(count_site auth-badmqtt)"
if grep -aq 'subscribed to' "$HUB_LOG"; then fail "C. the hub subscribed with a wrong password"
else ok "C. the hub never subscribed"; fi
if pid_running "$HUB_PID"; then ok "C. the hub keeps running"; else fail "C. the hub died"; fi
stop_hub 30
check_eq "C. hub exit status after SIGTERM" 0 "$HUB_RC"

# --- D. wrong InfluxDB password -----------------------------------------------------------------
secret_file "$KOMPOS_TMP/influx-wrong.pw" "wrong-$INFLUX_HUB_PW"
cfg=$(auth_hub badinflux "$KOMPOS_TMP/mqtt.pw" "$KOMPOS_TMP/influx-wrong.pw")
start_hub "$cfg" "$KOMPOS_TMP/badinflux/hub.log"
sim auth-badinflux 200
if wait_log "$HUB_LOG" "influx: .*HTTP 401.*authorization failed" 20; then
    ok "D. 401 logged: $(grep -a 'HTTP 401' "$HUB_LOG" | head -n 1 | sed 's/^.*Z //')"
else
    fail "D. no 'HTTP 401 ... authorization failed' line in the hub's log"
fi
sleep 1
check_eq "D. readings written with the wrong InfluxDB password" 0 "$(count_site auth-badinflux)"
if pid_running "$HUB_PID"; then ok "D. the hub keeps running"; else fail "D. the hub died"; fi
# The password is corrected in its file and the hub reloaded (SIGHUP): new readings arrive.
secret_file "$KOMPOS_TMP/influx-wrong.pw" "$INFLUX_HUB_PW"
kill -HUP "$HUB_PID"
if wait_log "$HUB_LOG" "info  config: reloaded " 10; then ok "D. SIGHUP: config and password reloaded"
else fail "D. SIGHUP: no 'reloaded' line"; fi
sim auth-fixed 100
n=$(wait_count kompos "SELECT count(temp_core_c) FROM drum WHERE site='auth-fixed'" 100 60)
check_eq "D. readings written after the corrected password was reloaded" 100 "$n"
stop_hub 30
check_eq "D. hub exit status after SIGTERM" 0 "$HUB_RC"
check_eq "D. hub summary received" 300 "$(summary_get "$HUB_LOG" received)"
# InfluxDB's 401 is final for influx_out today: the 200 readings of the wrong-password period are
# dropped (counted), not kept in the spool for after the fix. Reported, not checked here.
log "D. the 200 readings sent with the wrong password: $(count_site auth-badinflux) in InfluxDB after the fix; summary dropped=$(summary_get "$HUB_LOG" dropped) spool_pending=$(summary_get "$HUB_LOG" spool_pending)"

finish
