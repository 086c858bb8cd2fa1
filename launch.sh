#!/usr/bin/env bash
# lolpim front door.
#   ./launch.sh [TOPOLOGY] [lolpim run options]   set up, build (release), run a topology (default: Topologies/default.yaml)
#   ./launch.sh --hosts FILE [TOPOLOGY] [options]  the same with the workers on the hosts FILE lists, over ssh
#   ./launch.sh test [swift test options]          set up, build, run the whole test suite
# Set-up installs what is missing (libzmq3-dev and pkg-config through apt-get when run as root; otherwise it
# prints the exact command and stops). Ctrl-C stops every process this script started; any failure exits non-zero.
set -uo pipefail
cd "$(dirname "$0")" || exit 1

say() { printf 'launch.sh: %s\n' "$*" >&2; }

ensure_system_packages() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if ! pkg-config --exists libzmq 2>/dev/null; then missing+=(libzmq3-dev); fi
    # SQLite for the kernel-timing store (GRDB links the system library).
    if ! pkg-config --exists sqlite3 2>/dev/null; then missing+=(libsqlite3-dev); fi
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${missing[*]} (apt-get)"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; then
            DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
                { say "apt-get could not install ${missing[*]}"; exit 1; }
        fi
    else
        say "lolpim needs ${missing[*]}. Install it with:"
        say "    sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
}

ensure_swift() {
    command -v swift >/dev/null 2>&1 && return 0
    say "swift is not on PATH; install a Swift 6 toolchain (https://www.swift.org/install) and retry"
    exit 1
}

# Runs a command in the background, forwarding Ctrl-C / SIGTERM to it, and returns its exit status.
run_forwarding_signals() {
    "$@" &
    local child=$!
    trap 'kill -TERM "$child" 2>/dev/null' INT TERM
    local status
    while true; do
        wait "$child"
        status=$?
        kill -0 "$child" 2>/dev/null || break
    done
    trap - INT TERM
    return "$status"
}

ensure_swift
ensure_system_packages

if [ "${1:-}" = "test" ]; then
    shift
    say "building (optimised, testable) and running the test suite"
    # Optimised: the suite replays DRAM commands cycle by cycle and runs the paper's studies, six times faster than
    # a debug build; testable for @testable imports; in a scratch directory of its own, so that the main job's
    # release build (without -enable-testing) is not rebuilt each time the two alternate.
    flags=(-c release -Xswiftc -enable-testing --scratch-path .build/testing)
    swift build "${flags[@]}" --build-tests || exit 1
    # Serial: the multi-process tests each start several processes; on 2 cores they must not overlap.
    run_forwarding_signals swift test "${flags[@]}" --skip-build --no-parallel "$@"
    status=$?
    [ $status -eq 0 ] && say "all tests passed" || say "tests failed (exit status $status)"
    exit $status
fi

case "${1:-}" in
    -h|--help)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
esac

hosts=()
if [ "${1:-}" = "--hosts" ]; then
    [ $# -ge 2 ] || { say "--hosts needs a hosts file"; exit 64; }
    hosts=(--hosts "$2"); shift 2
fi
topology=Topologies/default.yaml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then topology=$1; shift; fi
say "building lolpim (release)"
swift build -c release --product lolpim || exit 1
bin=$(swift build -c release --show-bin-path)/lolpim
say "running $topology${hosts[1]:+ on the hosts in ${hosts[1]}}"
run_forwarding_signals "$bin" run "$topology" "${hosts[@]}" "$@"
status=$?
if [ $status -ne 0 ]; then say "run failed (exit status $status)"; fi
exit $status
