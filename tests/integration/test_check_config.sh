#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_check_config: `kompos-hub -c FILE --check` accepts the reference config and the configs the
# other tests write, and rejects broken ones with exit 1 and stderr starting "FILE:LINE:" where
# LINE is the line of the mistake. No servers needed.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/servers.sh
. "$KOMPOS_ROOT/scripts/lib/servers.sh"
install_cleanup_trap
make_tmpdir

HUB=$(hub_bin)
[ -x "$HUB" ] || die "$HUB not built"

# expect_ok FILE: --check exits 0.
expect_ok() {
    local out rc
    out=$("$HUB" -c "$1" --check 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "--check $(basename "$1"): exit 0"
    else fail "--check $(basename "$1"): exit $rc, expected 0: $out"; fi
}

# expect_bad NAME LINE TEXT: write TEXT to NAME.cfg; --check must exit 1 with stderr starting
# "NAME.cfg:LINE:" (LINE "-" = any line number).
expect_bad() {
    local name=$1 line=$2 file="$KOMPOS_TMP/$1.cfg" err rc first
    printf '%s\n' "$3" >"$file"
    err=$("$HUB" -c "$file" --check 2>&1 >/dev/null)
    rc=$?
    first=$(printf '%s\n' "$err" | head -n 1)
    if [ "$rc" -ne 1 ]; then
        fail "$name: exit $rc, expected 1 (stderr: $first)"
        return
    fi
    if [ "$line" = "-" ]; then
        if printf '%s' "$first" | grep -Eq "^$(printf '%s' "$file" | sed 's/[.[\*^$]/\\&/g'):[0-9]+: ."; then
            ok "$name: exit 1, $first"
        else
            fail "$name: stderr does not start with '$file:LINE: ': $first"
        fi
    else
        case "$first" in
            "$file:$line: "?*) ok "$name: exit 1, ${first#"$KOMPOS_TMP"/}" ;;
            *) fail "$name: stderr does not start with '$file:$line: ': $first" ;;
        esac
    fi
}

# --- what must be accepted ---
REF="$KOMPOS_ROOT/config/kompos-hub.cfg"
if [ -f "$REF" ]; then expect_ok "$REF"; else fail "no reference config $REF"; fi

MQTT_PORT=1883 INFLUX_URL=http://127.0.0.1:8086 write_hub_config "$KOMPOS_TMP/test-v1.cfg"
expect_ok "$KOMPOS_TMP/test-v1.cfg"
echo "secret" >"$KOMPOS_TMP/token"
MQTT_PORT=1883 write_hub_config "$KOMPOS_TMP/test-v2.cfg" api=v2 org=kube bucket=telemetry \
    token_file="$KOMPOS_TMP/token" qos=0 flush_interval_ms=600000 batch_size=100000
expect_ok "$KOMPOS_TMP/test-v2.cfg"
printf 'site = "x";\n' >"$KOMPOS_TMP/minimal.cfg"
expect_ok "$KOMPOS_TMP/minimal.cfg"

# --- what must be refused, with the line of the mistake ---
expect_bad unknown_top 3 'site = "x";
log = { level = "info"; };
colour = "red";'
expect_bad unknown_nested 4 'site = "x";
mqtt = {
  host = "127.0.0.1";
  hots = "127.0.0.1";
};'
expect_bad unknown_group_key 2 'site = "x";
limits = { max_series = 10; max_serie = 10; };'
expect_bad type_string_for_int 3 'site = "x";
influx = {
  batch_size = "many";
};'
expect_bad type_int_for_string 1 'site = 5;'
expect_bad type_string_for_bool 3 '# a comment line
influx = {
  gzip = "yes";
};'
expect_bad type_float_for_int 2 'mqtt = {
  port = 1883.5;
};'
expect_bad range_port 4 'site = "x";

mqtt = {
  port = 70000;
};'
expect_bad range_qos 2 'mqtt = {
  qos = 3; };'
expect_bad range_batch_zero 3 'site = "x";
influx = {
  batch_size = 0;
};'
expect_bad range_negative 2 'stats = {
  window_s = -5;
};'
expect_bad bad_enum_api 2 'influx = {
  api = "v3";
};'
expect_bad bad_enum_level 4 'site = "x";
log = {

  level = "loud";
};'
expect_bad syntax_error 3 'site = "x";
mqtt = {
  port = ;
};'
expect_bad v2_without_bucket - 'influx = {
  api = "v2";
  org = "kube";
};'

# --- a missing file, and the other flags ---
err=$("$HUB" -c "$KOMPOS_TMP/does-not-exist.cfg" --check 2>&1 >/dev/null); rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$err" | grep -q 'does-not-exist.cfg'; then
    ok "missing file: exit 1, $(printf '%s' "$err" | head -n 1)"
else
    fail "missing file: exit $rc, stderr '$err'"
fi
out=$("$HUB" --version 2>&1); rc=$?
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q '^kompos-hub '; then ok "--version: $out"
else fail "--version: exit $rc, '$out'"; fi
out=$("$HUB" --help 2>&1); rc=$?
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q -- '--check'; then ok "--help: exit 0, mentions --check"
else fail "--help: exit $rc"; fi

finish
