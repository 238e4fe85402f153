# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# common.sh - helpers shared by scripts/test, scripts/demo and the tests in tests/integration/.
#
# Source it from bash:   . "$(dirname "$0")/../scripts/lib/common.sh"
# It sets KOMPOS_ROOT (the repo), KOMPOS_BUILD_DIR (default $KOMPOS_ROOT/build), PY (python3) and
# provides logging, a temp dir, a registry of the PIDs this script started and an EXIT/INT/TERM trap
# that stops exactly those PIDs and removes the temp dir. Nothing here kills a process by name.

if [ -n "${KOMPOS_COMMON_SH:-}" ]; then return 0; fi
KOMPOS_COMMON_SH=1

KOMPOS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${KOMPOS_BUILD_DIR:=$KOMPOS_ROOT/build}"
case "$KOMPOS_BUILD_DIR" in /*) ;; *) KOMPOS_BUILD_DIR="$PWD/$KOMPOS_BUILD_DIR" ;; esac
export KOMPOS_ROOT KOMPOS_BUILD_DIR

# The system python3 (stdlib only); a pyenv shim or similar earlier in PATH is not needed.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
# Daemons live in /usr/sbin on Debian, which is not in a normal user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export PATH

KOMPOS_NAME=${KOMPOS_NAME:-$(basename "$0")}
KOMPOS_PIDS=()          # PIDs started by this script, stopped by kompos_cleanup
KOMPOS_TMP=""           # temp dir made by make_tmpdir, removed by kompos_cleanup
KOMPOS_FAILED=0         # set by fail(); decides the exit status of finish()
KOMPOS_CLEANUP_HOOKS=() # extra commands run by kompos_cleanup before the PIDs are stopped

log()  { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "$KOMPOS_NAME" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }
ok()   { log "ok: $*"; }
fail() { log "FAIL: $*"; KOMPOS_FAILED=1; }

# check DESCRIPTION EXPECTED ACTUAL: record a pass or a failure, printing both numbers.
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1: $3 (expected $2)"; else fail "$1: got '$3', expected '$2'"; fi
}
# check_ge DESCRIPTION MIN ACTUAL (integers)
check_ge() {
    if [ -n "$3" ] && [ "$3" -ge "$2" ] 2>/dev/null; then ok "$1: $3 (>= $2)"; else fail "$1: got '$3', expected >= $2"; fi
}

now_ns() { date +%s%N; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# make_tmpdir: create the script's private temp dir in KOMPOS_TMP (removed on exit).
make_tmpdir() {
    KOMPOS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kompos-${KOMPOS_NAME%%.*}.XXXXXX") || die "mktemp failed"
    chmod 755 "$KOMPOS_TMP"
}

# register_pid PID: stop PID in kompos_cleanup.
register_pid() { KOMPOS_PIDS+=("$1"); }
unregister_pid() {
    local p keep=()
    for p in "${KOMPOS_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    KOMPOS_PIDS=("${keep[@]}")
}

# pid_running PID: true while PID exists and is not a zombie (a child that exited but is not reaped).
pid_running() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != "Z" ] && [ "$st" != "X" ]
}

# wait_exit PID TIMEOUT_S: wait up to TIMEOUT_S for PID to exit. Returns 0 if it did.
wait_exit() {
    local pid=$1 deadline=$(( $(now_ms) + ${2:-10} * 1000 ))
    while pid_running "$pid"; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
    return 0
}

# stop_pid PID [TIMEOUT_S=15] [SIGNAL=TERM]: send SIGNAL, wait up to TIMEOUT_S, then SIGKILL.
# Returns the process's exit status when it is our child (wait), 0 otherwise.
# Sets STOP_KILLED=1 if SIGKILL was needed.
STOP_KILLED=0
stop_pid() {
    local pid=$1 timeout=${2:-15} sig=${3:-TERM} rc=0
    STOP_KILLED=0
    [ -n "$pid" ] || return 0
    if pid_running "$pid"; then
        kill "-$sig" "$pid" 2>/dev/null
        if ! wait_exit "$pid" "$timeout"; then
            log "pid $pid still running ${timeout}s after SIG$sig: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            STOP_KILLED=1
            wait_exit "$pid" 5
        fi
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    unregister_pid "$pid"
    return "$rc"
}

# On failure, show the end of every log in the temp dir: CI keeps only the console.
dump_logs() {
    local f
    [ -n "$KOMPOS_TMP" ] && [ -d "$KOMPOS_TMP" ] || return 0
    while IFS= read -r f; do
        printf '\n----- %s (last 40 lines) -----\n' "${f#"$KOMPOS_TMP"/}" >&2
        tail -n 40 "$f" >&2
    done < <(find "$KOMPOS_TMP" -maxdepth 2 -name '*.log' -type f 2>/dev/null | sort)
}

kompos_cleanup() {
    local rc=$? i h pids
    trap - EXIT INT TERM
    for h in "${KOMPOS_CLEANUP_HOOKS[@]}"; do eval "$h" || true; done
    # Newest first: the hub before the servers it talks to. Short waits: after a Ctrl-C the
    # servers may be gone already and the hub cannot flush anyway.
    pids=("${KOMPOS_PIDS[@]}")
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
        stop_pid "${pids[$i]}" 5 >/dev/null 2>&1 || true
    done
    # The logs of a failed run; not after Ctrl-C / SIGTERM (130, 143).
    if [ "$KOMPOS_FAILED" -ne 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ]; }; then
        dump_logs
    fi
    if [ -n "$KOMPOS_TMP" ] && [ -d "$KOMPOS_TMP" ]; then
        if [ -n "${KOMPOS_KEEP_TMP:-}" ]; then
            log "kept $KOMPOS_TMP (KOMPOS_KEEP_TMP is set)"
        else
            rm -rf "$KOMPOS_TMP"
        fi
    fi
    exit "$rc"
}

# install_cleanup_trap: stop what we started and remove the temp dir on any exit.
install_cleanup_trap() {
    trap kompos_cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}

# finish: exit 0 if no check failed, 1 otherwise (the EXIT trap cleans up).
finish() {
    if [ "$KOMPOS_FAILED" -eq 0 ]; then log "PASS"; exit 0; fi
    log "FAIL"
    exit 1
}

# free_port: print a TCP port that is free on 127.0.0.1 now, never one handed out before by
# this script.
KOMPOS_PORTS_GIVEN=" "
free_port() {
    local p i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        p=$("$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return 1
        case "$KOMPOS_PORTS_GIVEN" in *" $p "*) continue ;; esac
        KOMPOS_PORTS_GIVEN="$KOMPOS_PORTS_GIVEN$p "
        echo "$p"
        return 0
    done
    return 1
}

# wait_tcp PORT TIMEOUT_S [PID]: wait until 127.0.0.1:PORT accepts connections (and PID lives).
wait_tcp() {
    local port=$1 deadline=$(( $(now_ms) + ${2:-10} * 1000 )) pid=${3:-}
    while :; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if [ -n "$pid" ] && ! pid_running "$pid"; then return 1; fi
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# summary_get LOGFILE KEY: the value of KEY in the hub's last "hub: summary k=v ..." line.
summary_get() {
    local line
    line=$(grep -a 'hub: summary ' "$1" 2>/dev/null | tail -n 1)
    [ -n "$line" ] || return 1
    printf '%s\n' "${line#*hub: summary }" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# median N1 N2 ...: the median of numbers (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$0} END {if (NR) print a[int((NR+1)/2)]}'
}
