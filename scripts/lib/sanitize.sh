# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# sanitize.sh - the Check unit suites under AddressSanitizer + UBSan, and under valgrind
# memcheck. Needs common.sh. Source it from bash:
#
#     . "$KOMPOS_ROOT/scripts/lib/sanitize.sh"
#     run_asan_unit_suites || fail "ASan/UBSan found an error"
#     run_valgrind_unit_suites || fail "valgrind found an error"
#
# run_asan_unit_suites builds into KOMPOS_ASAN_BUILD_DIR (default: KOMPOS_BUILD_DIR with -asan
# appended, the folder scripts/test uses for its sanitizer pass) with -DKOMPOS_SANITIZE=ON,
# with the default C compiler or KOMPOS_ASAN_CC (gcc and clang both work), and runs
# ctest -L unit there. run_valgrind_unit_suites brings the plain build in KOMPOS_BUILD_DIR up
# to date (valgrind cannot run an ASan build) and runs every tests/test_* binary under
# valgrind with CK_FORK=no, so that each suite is one process and every leak is seen.
# Third-party leaks are suppressed with reasons: tests/fuzz/lsan.supp (LeakSanitizer) and
# tests/fuzz/valgrind.supp (valgrind). Both functions return non-zero on any error.
#
# run_valgrind_integration_test NAME runs tests/integration/NAME.sh with the hub under valgrind
# memcheck (KOMPOS_HUB_WRAPPER, honoured by start_hub in servers.sh) and the message counts
# divided by KOMPOS_VALGRIND_SCALE (KOMPOS_SCALE, default 20: valgrind runs the hub 20 to 50
# times slower), then reads every valgrind log the test's hubs left: a memory error or a
# definite leak in any of them (also in a hub killed with SIGKILL, whose log has no summary)
# fails it, as does the test itself. KOMPOS_VALGRIND_IT_TESTS is the subset scripts/test runs.
#
# Environment: KOMPOS_ASAN_BUILD_DIR, KOMPOS_ASAN_CC, KOMPOS_JOBS (build jobs, default 2),
# KOMPOS_VALGRIND_TIMEOUT (seconds per test binary, default 1800), KOMPOS_VALGRIND_SCALE,
# KOMPOS_VALGRIND_IT_TESTS.

if [ -n "${KOMPOS_SANITIZE_SH:-}" ]; then return 0; fi
KOMPOS_SANITIZE_SH=1

: "${KOMPOS_ASAN_BUILD_DIR:=${KOMPOS_BUILD_DIR%/}-asan}"
case "$KOMPOS_ASAN_BUILD_DIR" in /*) ;; *) KOMPOS_ASAN_BUILD_DIR="$PWD/$KOMPOS_ASAN_BUILD_DIR" ;; esac
KOMPOS_LSAN_SUPP="$KOMPOS_ROOT/tests/fuzz/lsan.supp"
KOMPOS_VALGRIND_SUPP="$KOMPOS_ROOT/tests/fuzz/valgrind.supp"

# sanitize_build DIR CMAKE_ARGS...: configure and build DIR (unit tests on).
sanitize_build() {
    local dir=$1
    shift
    log "building in $dir"
    cmake -S "$KOMPOS_ROOT" -B "$dir" -DKOMPOS_TESTS=ON "$@" >&2 \
        || { log "cmake configure failed ($dir)"; return 1; }
    cmake --build "$dir" -j "${KOMPOS_JOBS:-2}" >&2 || { log "build failed ($dir)"; return 1; }
}

# run_asan_unit_suites: build with ASan+UBSan and run ctest -L unit; a sanitizer report, a
# leak or a failing test fails it.
run_asan_unit_suites() {
    local dir=$KOMPOS_ASAN_BUILD_DIR rc args=(-DKOMPOS_SANITIZE=ON)
    [ -n "${KOMPOS_ASAN_CC:-}" ] && args+=(-DCMAKE_C_COMPILER="$KOMPOS_ASAN_CC")
    sanitize_build "$dir" "${args[@]}" || return 1
    grep -q '^KOMPOS_SANITIZE:BOOL=ON' "$dir/CMakeCache.txt" \
        || { log "$dir is not a sanitizer build"; return 1; }
    log "unit suites under ASan+UBSan ($dir)"
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    LSAN_OPTIONS="suppressions=$KOMPOS_LSAN_SUPP:print_suppressions=0" \
        KOMPOS_UNDER_VALGRIND=1 ctest --test-dir "$dir" -L unit --output-on-failure --timeout 600 >&2
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "unit suites under ASan+UBSan"; else log "FAIL: unit suites under ASan+UBSan (ctest exit $rc)"; fi
    return "$rc"
}

# run_valgrind_unit_suites: every KOMPOS_BUILD_DIR/tests/test_* under valgrind memcheck; any
# memory error or definite leak fails it. Prints one line per binary.
run_valgrind_unit_suites() {
    local dir=$KOMPOS_BUILD_DIR bin name vlog rc t failed=0 n=0 summary lost
    command -v valgrind >/dev/null 2>&1 \
        || { log "valgrind not found (Debian: apt-get install valgrind)"; return 1; }
    if [ -f "$dir/CMakeCache.txt" ] && grep -q '^KOMPOS_SANITIZE:BOOL=ON' "$dir/CMakeCache.txt"; then
        log "$dir is a sanitizer build: valgrind needs the plain one (KOMPOS_SANITIZE=OFF)"
        return 1
    fi
    # Always (re)build: a stale binary tests old code.
    sanitize_build "$dir" || return 1
    vlog=$(mktemp -d "${TMPDIR:-/tmp}/kompos-valgrind.XXXXXX") || return 1
    KOMPOS_CLEANUP_HOOKS+=("rm -rf '$vlog'")
    for bin in "$dir"/tests/test_*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        name=$(basename "$bin")
        n=$(( n + 1 ))
        t=$(now_ms)
        # from the test's folder, as ctest runs it (some suites write temp files there)
        (cd "$dir/tests" && CK_FORK=no KOMPOS_UNDER_VALGRIND=1 timeout -k 10 "${KOMPOS_VALGRIND_TIMEOUT:-1800}" \
            valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
            --suppressions="$KOMPOS_VALGRIND_SUPP" --log-file="$vlog/$name.log" "./$name" \
            >"$vlog/$name.out" 2>&1)
        rc=$?
        summary=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: //p' "$vlog/$name.log" | tail -n 1)
        lost=$(sed -n 's/^==[0-9]*==    definitely lost: //p' "$vlog/$name.log" | tail -n 1)
        printf 'valgrind %-18s %6.1f s  errors: %s  definitely lost: %s  %s\n' "$name" \
            "$(awk -v ms=$(( $(now_ms) - t )) 'BEGIN { print ms / 1000 }')" \
            "${summary%% errors*}" "${lost:-0 bytes}" \
            "$([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (exit $rc)")"
        if [ "$rc" -ne 0 ]; then
            failed=1
            log "$name: the end of the test output and of the valgrind log:"
            tail -n 20 "$vlog/$name.out" >&2
            grep -v '^==[0-9]*== *$' "$vlog/$name.log" | tail -n 60 >&2
        fi
    done
    rm -rf "$vlog"
    [ "$n" -gt 0 ] || { log "no unit test binaries in $dir/tests"; return 1; }
    if [ "$failed" -eq 0 ]; then ok "$n unit suites under valgrind"; else log "FAIL: unit suites under valgrind"; fi
    return "$failed"
}

# The integration tests whose hubs run under valgrind in scripts/test (about 3 minutes together
# on a 2-core machine at scale 20): the whole QoS 1 data path with the spool and InfluxDB
# (sigterm_flush: flush at shutdown; influx_outage: spool and replay; ingest_100k: decode,
# validate, stats, hostile payloads, self-metrics; survive_sigkill: rxlog, replay after kill -9).
: "${KOMPOS_VALGRIND_IT_TESTS:=test_sigterm_flush test_influx_outage test_ingest_100k test_survive_sigkill}"

# valgrind_log_errors LOG: print the first error of a valgrind log and return 1 if it has a
# memory error or a definite leak; 0 for a clean log. A log cut short by SIGKILL has no ERROR
# SUMMARY: its error reports are looked for line by line.
valgrind_log_errors() {
    local f=$1 n lost
    n=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -n 1)
    lost=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -n 1)
    if [ -n "$n" ] && [ "$n" -eq 0 ] && [ "${lost:-0}" = 0 ]; then return 0; fi
    if [ -z "$n" ] && ! grep -aqE '^==[0-9]+== (Invalid (read|write|free)|Mismatched free|Use of uninitialised|Conditional jump or move depends|Syscall param|Source and destination overlap|Argument .* of function .* has a fishy|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost)' "$f"; then
        return 0
    fi
    log "$(basename "$f"): errors: ${n:-(no summary: killed)}, definitely lost: ${lost:-0} bytes"
    grep -v '^==[0-9]*== *$' "$f" | grep -avE '^==[0-9]+== (Memcheck|Copyright|Using Valgrind|Command|Parent PID|$)' | head -n 40 >&2
    return 1
}

# run_valgrind_integration_test NAME: see the top of this file. Needs the plain build in
# KOMPOS_BUILD_DIR (valgrind cannot run an ASan build).
run_valgrind_integration_test() {
    local name=$1 file vdir rc f nlogs=0 bad=0
    file="$KOMPOS_ROOT/tests/integration/$name.sh"
    [ -f "$file" ] || { log "$file not found"; return 1; }
    command -v valgrind >/dev/null 2>&1 \
        || { log "valgrind not found (Debian: apt-get install valgrind)"; return 1; }
    if grep -q '^KOMPOS_SANITIZE:BOOL=ON' "$KOMPOS_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        log "$KOMPOS_BUILD_DIR is a sanitizer build: valgrind needs the plain one"; return 1
    fi
    vdir=$(mktemp -d "${TMPDIR:-/tmp}/kompos-vg-$name.XXXXXX") || return 1
    # test_ingest_100k takes its count from INGEST_N
    INGEST_N=${INGEST_N:-$(( 100000 / ${KOMPOS_VALGRIND_SCALE:-20} ))} \
    KOMPOS_SCALE=${KOMPOS_VALGRIND_SCALE:-20} \
    KOMPOS_HUB_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=$KOMPOS_VALGRIND_SUPP --log-file=$vdir/hub.%p.log" \
        timeout -k 20 "${KOMPOS_TEST_TIMEOUT:-600}" bash "$file" </dev/null
    rc=$?
    [ "$rc" -eq 124 ] && log "$name: timed out after ${KOMPOS_TEST_TIMEOUT:-600} s"
    for f in "$vdir"/hub.*.log; do
        [ -f "$f" ] || continue
        nlogs=$(( nlogs + 1 ))
        valgrind_log_errors "$f" || bad=1
    done
    rm -rf "$vdir"
    if [ "$nlogs" -eq 0 ]; then log "$name: no valgrind log (was the hub started with start_hub?)"; bad=1; fi
    if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
        ok "$name with the hub under valgrind: $nlogs hub process(es), no errors, no definite leaks"
        return 0
    fi
    log "FAIL: $name under valgrind (test exit $rc, valgrind logs $([ "$bad" -eq 0 ] && echo clean || echo 'with errors'))"
    [ "$rc" -ne 0 ] && return "$rc"
    return 1
}
