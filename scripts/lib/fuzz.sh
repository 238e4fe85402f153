# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# fuzz.sh - build the libFuzzer targets of tests/fuzz/ and run each for a bounded time.
# Needs common.sh. Source it from bash:
#
#     . "$KOMPOS_ROOT/scripts/lib/fuzz.sh"
#     run_fuzz_targets 30 || fail "fuzzing found a crash"
#
# The build goes to KOMPOS_FUZZ_BUILD_DIR (default: KOMPOS_BUILD_DIR with -fuzz appended, so
# build-fuzz/), with clang, -DKOMPOS_FUZZ=ON -DKOMPOS_SANITIZE=ON -DKOMPOS_TESTS=OFF: every
# run is watched by ASan, UBSan and LeakSanitizer. Each target first replays its regressions
# (tests/fuzz/regressions/<target>/, the inputs of bugs found before), then fuzzes a COPY of
# its seed corpus (tests/fuzz/corpus/<target>/) in a temp dir: the repository is never
# written. A crash, a leak, a timeout (10 s on one input) or an out-of-memory (1 GiB) is a
# failure; its input and log are kept in $KOMPOS_FUZZ_BUILD_DIR/fuzz-findings/<target>/.
#
# Environment: KOMPOS_FUZZ_CC (default clang), KOMPOS_FUZZ_TARGETS (names such as "decode
# config"; default: every tests/fuzz/fuzz_*.c), KOMPOS_FUZZ_ALLOW (known-bug tags a target
# may skip, see tests/fuzz/README.md; default none), KOMPOS_JOBS (build jobs, default 2).

if [ -n "${KOMPOS_FUZZ_SH:-}" ]; then return 0; fi
KOMPOS_FUZZ_SH=1

: "${KOMPOS_FUZZ_BUILD_DIR:=${KOMPOS_BUILD_DIR%/}-fuzz}"
case "$KOMPOS_FUZZ_BUILD_DIR" in /*) ;; *) KOMPOS_FUZZ_BUILD_DIR="$PWD/$KOMPOS_FUZZ_BUILD_DIR" ;; esac
KOMPOS_FUZZ_SRC="$KOMPOS_ROOT/tests/fuzz"

# fuzz_target_names: the targets to run, one per line (decode, lineproto, ...).
fuzz_target_names() {
    local f
    if [ -n "${KOMPOS_FUZZ_TARGETS:-}" ]; then
        # shellcheck disable=SC2086 # a space-separated list
        printf '%s\n' $KOMPOS_FUZZ_TARGETS
        return 0
    fi
    for f in "$KOMPOS_FUZZ_SRC"/fuzz_*.c; do
        [ -f "$f" ] || continue
        f=$(basename "$f" .c)
        printf '%s\n' "${f#fuzz_}"
    done
}

# build_fuzz_targets: configure and build the fuzz targets into KOMPOS_FUZZ_BUILD_DIR.
build_fuzz_targets() {
    local cc=${KOMPOS_FUZZ_CC:-clang} t targets=()
    command -v "$cc" >/dev/null 2>&1 || {
        log "fuzz: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)"
        return 1
    }
    while IFS= read -r t; do targets+=("fuzz_$t"); done < <(fuzz_target_names)
    [ ${#targets[@]} -gt 0 ] || { log "fuzz: no targets in $KOMPOS_FUZZ_SRC"; return 1; }
    log "fuzz: building ${targets[*]} in $KOMPOS_FUZZ_BUILD_DIR"
    cmake -S "$KOMPOS_ROOT" -B "$KOMPOS_FUZZ_BUILD_DIR" -DCMAKE_C_COMPILER="$cc" \
        -DKOMPOS_FUZZ=ON -DKOMPOS_SANITIZE=ON -DKOMPOS_TESTS=OFF >&2 \
        || { log "fuzz: cmake configure failed"; return 1; }
    cmake --build "$KOMPOS_FUZZ_BUILD_DIR" -j "${KOMPOS_JOBS:-2}" --target "${targets[@]}" >&2 \
        || { log "fuzz: build failed"; return 1; }
}

# The sanitizers' settings for every fuzz run: third-party leaks are suppressed (the list and
# the reasons are in tests/fuzz/lsan.supp), everything else is fatal.
fuzz_env() {
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1${KOMPOS_FUZZ_ASAN_OPTIONS:+:$KOMPOS_FUZZ_ASAN_OPTIONS}" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    LSAN_OPTIONS="suppressions=$KOMPOS_FUZZ_SRC/lsan.supp:print_suppressions=0" \
        "$@"
}

# fuzz_keep_findings NAME WORK LOG: copy crash inputs and the log to the findings folder.
fuzz_keep_findings() {
    local name=$1 work=$2 logf=$3 dest="$KOMPOS_FUZZ_BUILD_DIR/fuzz-findings/$1" f
    mkdir -p "$dest"
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
             "$work"/slow-unit-*; do
        [ -f "$f" ] && cp "$f" "$dest/"
    done
    cp "$logf" "$dest/$(basename "$logf")"
    log "fuzz_$name: the end of its log (all of it and the inputs: $dest):"
    grep -v -e '^#[0-9]' -e '^INFO:' "$logf" | tail -n 40 >&2
}

# run_fuzz_target NAME SECONDS: replay the regressions of fuzz_NAME, then fuzz a copy of its
# seed corpus for SECONDS (also when a regression failed). Prints a summary line; returns 0
# if every regression passed and fuzzing found nothing.
run_fuzz_target() {
    local name=$1 secs=$2 bin="$KOMPOS_FUZZ_BUILD_DIR/tests/fuzz/fuzz_$1" work rc=0 nseed
    local regs=() f execs cov ft eps ncorp result reg_rc=0
    [ -x "$bin" ] || { log "fuzz_$name: $bin not built"; return 1; }
    rm -rf "$KOMPOS_FUZZ_BUILD_DIR/fuzz-findings/$name"
    work=$(mktemp -d "${TMPDIR:-/tmp}/kompos-fuzz-$name.XXXXXX") || return 1
    KOMPOS_CLEANUP_HOOKS+=("rm -rf '$work'")
    mkdir -p "$work/corpus"
    if [ -d "$KOMPOS_FUZZ_SRC/corpus/$name" ]; then
        cp -R "$KOMPOS_FUZZ_SRC/corpus/$name/." "$work/corpus/"
    fi
    nseed=$(find "$work/corpus" -type f | wc -l)

    # The inputs of earlier bugs: each runs once and must pass.
    if [ -d "$KOMPOS_FUZZ_SRC/regressions/$name" ]; then
        while IFS= read -r f; do regs+=("$f"); done \
            < <(find "$KOMPOS_FUZZ_SRC/regressions/$name" -type f ! -name '*.md' | sort)
    fi
    if [ ${#regs[@]} -gt 0 ]; then
        (cd "$work" && fuzz_env timeout -k 10 600 "$bin" -timeout=10 -rss_limit_mb=1024 \
            "${regs[@]}") >"$work/regressions.log" 2>&1
        reg_rc=$?
        if [ "$reg_rc" -ne 0 ]; then
            # a known bug that is not fixed yet: say which input, then fuzz all the same
            f=$(sed -n 's/^Running: //p' "$work/regressions.log" | tail -n 1)
            printf 'fuzz_%-14s regressions: %d input(s)  FAIL (exit %d) on %s\n' "$name" \
                "${#regs[@]}" "$reg_rc" "${f#"$KOMPOS_ROOT"/}"
            fuzz_keep_findings "$name" "$work" "$work/regressions.log"
        else
            log "fuzz_$name: ${#regs[@]} regression input(s) pass"
        fi
    fi

    log "fuzz_$name: fuzzing for $secs s from $nseed seed(s)"
    (cd "$work" && fuzz_env timeout -k 10 $(( secs + 120 )) "$bin" -max_total_time="$secs" \
        -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/corpus") >"$work/fuzz.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$work/fuzz.log" | tail -n 1 | cut -d' ' -f2)
    ncorp=$(find "$work/corpus" -type f | wc -l)
    if [ -z "$execs" ]; then   # a crash stops libFuzzer before its final stats
        execs=$(grep -o '^#[0-9]*' "$work/fuzz.log" | tail -n 1 | tr -d '#')
    fi
    if [ "$rc" -eq 0 ]; then result=PASS; else result="FAIL (exit $rc)"; fi
    printf 'fuzz_%-14s %4d s  execs %-10s (%s/s)  cov: %-5s ft: %-6s corpus %d -> %d  %s\n' \
        "$name" "$secs" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$nseed" "$ncorp" \
        "$result"
    if [ "$rc" -ne 0 ]; then
        fuzz_keep_findings "$name" "$work" "$work/fuzz.log"
    fi
    rm -rf "$work"
    [ "$rc" -eq 0 ] && [ "$reg_rc" -eq 0 ]
}

# run_fuzz_targets [SECONDS_EACH=30]: build the fuzz targets and run each in turn (replay its
# regressions, then fuzz for SECONDS_EACH). Prints a line per target; returns 1 if the build
# failed or any target found something.
run_fuzz_targets() {
    local secs=${1:-30} name failed=0 n=0
    case "$secs" in ''|*[!0-9]*) log "run_fuzz_targets: '$secs' is not a number of seconds"; return 2 ;; esac
    build_fuzz_targets || return 1
    [ -n "${KOMPOS_FUZZ_ALLOW:-}" ] && \
        log "fuzz: KOMPOS_FUZZ_ALLOW=$KOMPOS_FUZZ_ALLOW: these known bugs do not fail the run"
    while IFS= read -r name; do
        n=$(( n + 1 ))
        run_fuzz_target "$name" "$secs" || failed=1
    done < <(fuzz_target_names)
    if [ "$failed" -eq 0 ]; then
        log "fuzz: $n target(s), ${secs} s each: nothing found"
    else
        log "fuzz: FAIL (inputs and logs in $KOMPOS_FUZZ_BUILD_DIR/fuzz-findings/)"
    fi
    return "$failed"
}
