# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # globals are set here for the scripts that source this
# packages.sh - install the Debian packages the project needs, and build it.
# Needs common.sh.

# Everything scripts/demo and scripts/test need on a fresh Debian 12 / Raspberry Pi OS machine.
KOMPOS_PACKAGES="build-essential cmake pkg-config check
libmosquitto-dev libcurl4-openssl-dev libcjson-dev libconfig-dev zlib1g-dev uthash-dev
libmicrohttpd-dev libsystemd-dev
mosquitto mosquitto-clients influxdb influxdb-client curl python3"

# missing_packages: print the packages of KOMPOS_PACKAGES that are not installed.
missing_packages() {
    local p
    for p in $KOMPOS_PACKAGES; do
        case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
            *"install ok installed"*) ;;
            *) printf '%s ' "$p" ;;
        esac
    done
}

# ensure_packages: install what is missing with apt-get when root; otherwise print the exact
# command and exit 1.
ensure_packages() {
    local missing
    command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this needs Debian 12 or Raspberry Pi OS"
    missing=$(missing_packages)
    missing=${missing% }
    if [ -z "$missing" ]; then
        log "packages: all present"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: $missing"
        printf '\nRun this once, then run %s again:\n\n    sudo apt-get update && sudo apt-get install -y %s\n\n' \
            "$0" "$missing" >&2
        exit 1
    fi
    log "installing missing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed"
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    apt-get install -y -q --no-install-recommends $missing >&2 || die "apt-get install failed"
    missing=$(missing_packages)
    [ -z "$missing" ] || die "still missing after apt-get install: $missing"
    log "packages: installed"
}

# build_all [EXTRA CMAKE ARGS...]: configure and build into KOMPOS_BUILD_DIR.
build_all() {
    log "building in $KOMPOS_BUILD_DIR"
    cmake -S "$KOMPOS_ROOT" -B "$KOMPOS_BUILD_DIR" "$@" >&2 || die "cmake configure failed"
    cmake --build "$KOMPOS_BUILD_DIR" -j "${KOMPOS_JOBS:-2}" >&2 || die "build failed"
    [ -x "$KOMPOS_BUILD_DIR/hub/kompos-hub" ] || die "no $KOMPOS_BUILD_DIR/hub/kompos-hub after the build"
    [ -x "$KOMPOS_BUILD_DIR/sensors-sim/kompos-sim" ] || die "no $KOMPOS_BUILD_DIR/sensors-sim/kompos-sim after the build"
}
