# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# tls.sh - what the security tests need beyond servers.sh: a throw-away PKI made with openssl at
# test time, a Mosquitto with any listeners (TLS, password file), an InfluxDB 1.x with
# authentication, and a hub config with credentials and TLS keys.
# Needs common.sh and servers.sh. Like servers.sh, every server binds 127.0.0.1 only, lives under a
# directory the caller owns, and is registered with register_pid so that kompos_cleanup stops it.
#
# After make_test_pki DIR:   DIR/ca.crt DIR/ca.key            the test CA
#                            DIR/server.crt DIR/server.key    signed by it, for IP 127.0.0.1 and
#                                                             DNS localhost (CN 127.0.0.1)
#                            DIR/otherhost.crt/.key           signed by it, for DNS otherhost only
#                            DIR/client.crt DIR/client.key    a client certificate signed by it
#                            DIR/other-ca.crt DIR/other-ca.key an unrelated second CA
# After start_mosquitto_conf: MQTT_PID MQTT_PORT (the first port).
# After start_influxd_auth:   INFLUX_PID INFLUX_PORT INFLUX_URL (with the admin's user:password in
#                             it, so that influx_query & co. of servers.sh authenticate),
#                             INFLUX_PLAIN_URL (without: what the hub gets).

if [ -n "${KOMPOS_TLS_SH:-}" ]; then return 0; fi
KOMPOS_TLS_SH=1

# _pki_cert NAME CN EXTENSIONS DIR: an EC P-256 key NAME.key and a certificate NAME.crt for CN,
# signed by DIR/ca.crt, valid for 2 days, with the given v3 extensions (openssl -extfile syntax).
_pki_cert() {
    local name=$1 cn=$2 ext=$3 dir=$4
    printf '%s\n' "$ext" >"$dir/$name.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=kompos-hub test/CN=$cn" \
        >>"$dir/openssl.log" 2>&1 || return 1
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" \
        >>"$dir/openssl.log" 2>&1 || return 1
    chmod 600 "$dir/$name.key"
}

# _pki_ca NAME CN DIR: a self-signed CA NAME.crt / NAME.key.
_pki_ca() {
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$3/$1.key" -out "$3/$1.crt" -days 2 -sha256 -subj "/O=kompos-hub test/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >>"$3/openssl.log" 2>&1 || return 1
    chmod 600 "$3/$1.key"
}

# make_test_pki DIR: the CA, certificates and keys listed at the top, made fresh in DIR.
make_test_pki() {
    local dir=$1
    command -v openssl >/dev/null 2>&1 || die "openssl not found (Debian package openssl)"
    mkdir -p "$dir" || die "mkdir $dir"
    _pki_ca ca "kompos test CA" "$dir" || { cat "$dir/openssl.log" >&2; die "openssl: test CA"; }
    _pki_ca other-ca "unrelated test CA" "$dir" || { cat "$dir/openssl.log" >&2; die "openssl: second CA"; }
    _pki_cert server 127.0.0.1 "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost" "$dir" || { cat "$dir/openssl.log" >&2; die "openssl: server certificate"; }
    _pki_cert otherhost otherhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:otherhost" "$dir" || { cat "$dir/openssl.log" >&2; die "openssl: otherhost certificate"; }
    _pki_cert client kompos-hub "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=clientAuth" "$dir" || { cat "$dir/openssl.log" >&2; die "openssl: client certificate"; }
    openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" "$dir/otherhost.crt" "$dir/client.crt" \
        >>"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; die "openssl verify of the test certificates"; }
    log "test PKI in $dir: CA, server (IP 127.0.0.1, DNS localhost), otherhost, client, second CA"
}

# start_mosquitto_conf DIR LISTENERS PORT...: mosquitto with the settings of servers.sh's
# start_mosquitto (persistence and log in DIR, no queue cap, `user root` as root) plus LISTENERS
# (text: listener blocks and their options, password_file, per_listener_settings ...). Waits
# (at most 15 s each) for every PORT; MQTT_PORT is the first.
start_mosquitto_conf() {
    local dir=$1 listeners=$2 bin p
    shift 2
    bin=$(command -v mosquitto) || die "mosquitto not found (Debian package mosquitto)"
    mkdir -p "$dir" || die "mkdir $dir"
    {
        echo "# written by scripts/lib/tls.sh"
        printf '%s\n' "$listeners"
        echo "persistence true"
        echo "persistence_location $dir/"
        echo "autosave_interval 60"
        echo "max_queued_messages 0"
        echo "max_inflight_messages 100"
        echo "log_dest file $dir/mosquitto.log"
        echo "log_type error"
        echo "log_type warning"
        echo "log_type notice"
        echo "log_type information"
        echo "connection_messages true"
        echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
        if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
    } >"$dir/mosquitto.conf"
    "$bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.stderr.log" 2>&1 &
    MQTT_PID=$!
    MQTT_PORT=$1
    register_pid "$MQTT_PID"
    for p in "$@"; do
        if ! wait_tcp "$p" 15 "$MQTT_PID"; then
            tail -n 20 "$dir/mosquitto.log" "$dir/mosquitto.stderr.log" >&2 2>/dev/null
            die "mosquitto did not listen on 127.0.0.1:$p within 15 s"
        fi
    done
    log "mosquitto pid $MQTT_PID on 127.0.0.1 ports $* ($dir)"
}

# tls_listener PORT CERT_BASENAME PKI_DIR [REQUIRE_CERT=false]: the lines of a TLS listener that
# presents PKI_DIR/CERT_BASENAME.crt and trusts PKI_DIR/ca.crt for client certificates.
tls_listener() {
    printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\n' \
        "$1" "$3/ca.crt" "$3/$2.crt" "$3/$2.key" "${4:-false}"
}

# start_influxd_auth DIR PORT ADMIN PASSWORD: InfluxDB 1.x like servers.sh's start_influxd, but with
# [http] auth-enabled = true. Creates the first user ADMIN (allowed while no user exists) with all
# privileges, and points INFLUX_URL at http://ADMIN:PASSWORD@127.0.0.1:PORT so that the query
# helpers of servers.sh authenticate. ADMIN and PASSWORD: letters and digits only.
start_influxd_auth() {
    local dir=$1 port=$2 admin=$3 pw=$4 code
    start_influxd "$dir" "$port" true
    INFLUX_PLAIN_URL=$INFLUX_URL
    # The first user, created without credentials: InfluxDB allows exactly this one.
    code=$(curl -s -o "$dir/create-admin.json" -w '%{http_code}' --max-time 10 -XPOST \
        "$INFLUX_PLAIN_URL/query" \
        --data-urlencode "q=CREATE USER \"$admin\" WITH PASSWORD '$pw' WITH ALL PRIVILEGES")
    [ "$code" = 200 ] || { cat "$dir/create-admin.json" >&2; die "influxd: CREATE USER $admin: HTTP $code"; }
    INFLUX_URL="http://$admin:$pw@127.0.0.1:$port"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -G "$INFLUX_PLAIN_URL/query" \
        --data-urlencode "q=SHOW DATABASES")
    [ "$code" = 401 ] || die "influxd answered HTTP $code without credentials; expected 401 (auth-enabled)"
    log "influxd pid $INFLUX_PID on 127.0.0.1:$port ($dir), authentication on, admin '$admin'"
}

# hub_config_set FILE GROUP KEY VALUE: set GROUP.KEY in a config written by write_hub_config: an
# existing "KEY = ...;" in the group is replaced, else the key is added as the group's first
# line. VALUE is written as is (quote strings yourself: '"x"'). For the keys write_hub_config
# does not know (mqtt.username, mqtt.tls_*, influx.username, influx.password_file ...).
hub_config_set() {
    local file=$1 group=$2 key=$3 value=$4
    "$PY" - "$file" "$group" "$key" "$value" <<'EOF' || die "hub_config_set $2.$3 failed"
import re, sys
path, group, key, value = sys.argv[1:5]
text = open(path).read()
m = re.search(r'(?m)^%s = \{\n' % re.escape(group), text)
if not m:
    sys.exit("no group %s in %s" % (group, path))
end = text.index("\n};", m.end())
body = text[m.end():end]
pat = re.compile(r'(?<![A-Za-z0-9_])%s = [^;]*;' % re.escape(key))
if pat.search(body):
    body = pat.sub(lambda _: "%s = %s;" % (key, value), body, count=1)
else:
    body = "  %s = %s;\n" % (key, value) + body
open(path, "w").write(text[:m.end()] + body + text[end:])
EOF
}

# secret_file FILE VALUE: write VALUE (and a newline) to FILE, mode 0600 from the start.
secret_file() {
    ( umask 077; printf '%s\n' "$2" >"$1" ) || die "cannot write $1"
    chmod 600 "$1"
}

# random_secret PREFIX: PREFIX and 24 random hex digits (letters and digits only).
random_secret() {
    printf '%s%s\n' "$1" "$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
}

# wait_log FILE PATTERN TIMEOUT_S: wait until FILE has a line matching the grep -E PATTERN.
wait_log() {
    local deadline=$(( $(now_ms) + ${3:-15} * 1000 ))
    while ! grep -aqE -- "$2" "$1" 2>/dev/null; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
    return 0
}

# start_hub_nowait CFG LOG: run kompos-hub in the background like start_hub, but without waiting
# for it to subscribe (for hubs that must fail to connect). Sets HUB_PID and HUB_LOG.
start_hub_nowait() {
    local bin
    bin=$(hub_bin)
    [ -x "$bin" ] || die "$bin not built"
    "$bin" -c "$1" >"$2" 2>&1 &
    HUB_PID=$!
    HUB_LOG=$2
    register_pid "$HUB_PID"
    log "kompos-hub pid $HUB_PID ($1, log $2), not waiting for it to connect"
}

# start_mosquitto_auth DIR PORT USER PASSWORD [USER PASSWORD ...]: mosquitto on 127.0.0.1:PORT
# with allow_anonymous false and a password file (mosquitto_passwd -c -b) holding these users.
start_mosquitto_auth() {
    local dir=$1 port=$2 first=1
    shift 2
    command -v mosquitto_passwd >/dev/null 2>&1 || die "mosquitto_passwd not found (Debian package mosquitto)"
    mkdir -p "$dir" || die "mkdir $dir"
    ( umask 077; : >"$dir/passwd" )
    while [ $# -ge 2 ]; do
        if [ "$first" -eq 1 ]; then
            mosquitto_passwd -c -b "$dir/passwd" "$1" "$2" >/dev/null 2>&1 || die "mosquitto_passwd -c $1"
            first=0
        else
            mosquitto_passwd -b "$dir/passwd" "$1" "$2" >/dev/null 2>&1 || die "mosquitto_passwd $1"
        fi
        shift 2
    done
    start_mosquitto_conf "$dir" "listener $port 127.0.0.1
allow_anonymous false
password_file $dir/passwd" "$port"
}

# influx_create_writer USER PASSWORD DB: a non-admin InfluxDB user that may only write to DB (the
# hub needs nothing else). Needs INFLUX_URL with admin credentials (start_influxd_auth).
influx_create_writer() {
    influx_post "CREATE USER \"$1\" WITH PASSWORD '$2'" >/dev/null || die "CREATE USER $1 failed"
    influx_post "GRANT WRITE ON \"$3\" TO \"$1\"" >/dev/null || die "GRANT WRITE ON $3 TO $1 failed"
}
