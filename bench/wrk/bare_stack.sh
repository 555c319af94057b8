#!/usr/bin/env bash
# Measures the bare serving stack: starts mpshare-bare-server on 127.0.0.1,
# runs run.sh against GET /healthz and POST /echo (a 2 KiB JSON body), stops it.
#   bench/wrk/bare_stack.sh [BUILD_DIR] [DURATION]     (defaults: build, 10s)
# Environment: PIN_CPUS=0,1 runs server and wrk on those CPUs only (taskset),
# to reproduce a small machine on a large one; HTTP_THREADS=N sets the
# server's threads (default: the library's kDefaultHttpThreads);
# BODY=FILE posts that file to /echo instead of the 2 KiB pad (e.g. the
# AdmissionReview bench/webhook_wrk.sh sends, to split the webhook's cost
# into stack, request body and review).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build} duration=${2:-10s}
server_bin="$build/bench/wrk/mpshare-bare-server"
[ -x "$server_bin" ] || { echo "$0: build $server_bin first" >&2; exit 2; }

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

pin=()
[ -n "${PIN_CPUS:-}" ] && pin=(taskset -c "$PIN_CPUS")
"${pin[@]}" "$server_bin" --seconds 600 ${HTTP_THREADS:+--threads "$HTTP_THREADS"} >"$tmp/url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$tmp/url" ] && break; sleep 0.1; done
base=$(head -1 "$tmp/url")
[ -n "$base" ] || { echo "$0: server did not start" >&2; exit 1; }

if [ -n "${BODY:-}" ]; then
  cp "$BODY" "$tmp/body.json"
else
  python3 -c 'import json; print(json.dumps({"pad": "x" * 2000}))' >"$tmp/body.json"
fi
echo "== GET $base/healthz"
"${pin[@]}" "$here/run.sh" "$base/healthz" - "$duration"
echo "== POST $base/echo ($(wc -c <"$tmp/body.json") bytes)"
"${pin[@]}" "$here/run.sh" "$base/echo" "$tmp/body.json" "$duration"
