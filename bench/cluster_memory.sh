#!/usr/bin/env bash
# Resident memory of the real `mpshare-extender serve` in cluster mode, against
# mpshare-test-apiserver: an empty cluster versus NODES nodes and PODS pods.
# The difference is what the caches and ledger cost at that size.
#
#   bench/cluster_memory.sh BUILD_DIR [NODES] [PODS]    (defaults 1000 10000)
# Environment: READY_TIMEOUT (seconds, default 300) bounds each wait for a server,
# so a server that fails to start ends the run with its log instead of a hang.
set -euo pipefail
source "$(dirname "$0")/lib/server.sh"
usage="usage: bench/cluster_memory.sh BUILD_DIR [NODES] [PODS]    (defaults 1000 10000)"
usage_head "$@"
build=$1
nodes=${2:-1000}
pods=${3:-10000}
ready_timeout=${READY_TIMEOUT:-300}
if [[ $# -gt 3 || ! $nodes =~ ^[0-9]+$ || ! $pods =~ ^[0-9]+$ || ! $ready_timeout =~ ^[1-9][0-9]*$ ]]; then
  bad_usage "NODES, PODS and READY_TIMEOUT are whole numbers; got $*"
fi
for binary in bench/mpshare-test-apiserver extender/mpshare-extender; do
  [ -x "$build/$binary" ] || { echo "$0: $build/$binary not built (cmake --build $build --target ${binary##*/})" >&2; exit 2; }
done
require_tools curl bc
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for PID LOG WHAT CHECK...: runs CHECK until it succeeds; gives up, printing
# LOG, when PID exits or READY_TIMEOUT seconds pass.
wait_for() {
  local pid=$1 log=$2 what=$3
  shift 3
  local deadline=$((SECONDS + ready_timeout))
  until "$@"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "$0: $what did not come up (log $log):" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.05
  done
}

# measure NAME NODES PODS PORT: prints the extender's RSS once /readyz answers 200.
measure() {
  local name=$1 n=$2 p=$3 port=$4
  "$build/bench/mpshare-test-apiserver" --dir "$work/$name" --nodes "$n" --pods "$p" >"$work/$name.api.log" 2>&1 &
  local api=$!
  pids+=($api)
  wait_for "$api" "$work/$name.api.log" mpshare-test-apiserver test -s "$work/$name/kubeconfig"
  local start=$(date +%s.%N)
  "$build/extender/mpshare-extender" serve --listen "127.0.0.1:$port" --kubeconfig "$work/$name/kubeconfig" \
    >"$work/$name.ext.log" 2>&1 &
  local ext=$!
  pids+=($ext)
  wait_for "$ext" "$work/$name.ext.log" mpshare-extender curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"
  local ready=$(date +%s.%N)
  sleep 1  # let the watches settle
  local rss hwm
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$ext/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ext/status")
  printf '| %s | %d nodes, %d pods | %.2f s | %d MiB | %d MiB |\n' "$name" "$n" "$p" \
    "$(echo "$ready - $start" | bc)" $((rss / 1024)) $((hwm / 1024))
}

echo "cores $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| cluster | size | start -> ready | RSS | peak RSS |"
echo "|---|---|---|---|---|"
measure empty 0 0 18931
measure full "$nodes" "$pods" 18932
echo "load average after $(cut -d' ' -f1-3 /proc/loadavg)"
