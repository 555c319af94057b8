#!/usr/bin/env bash
# Resident memory of the real `mpshare-extender serve` in cluster mode, against
# mpshare-test-apiserver: an empty cluster versus NODES nodes and PODS pods.
# The difference is what the caches and ledger cost at that size.
#
#   bench/cluster_memory.sh BUILD_DIR [NODES] [PODS]    (defaults 1000 10000)
set -euo pipefail
build=${1:?usage: bench/cluster_memory.sh BUILD_DIR [NODES] [PODS]}
nodes=${2:-1000}
pods=${3:-10000}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# measure NAME NODES PODS PORT: prints the extender's RSS once /readyz answers 200.
measure() {
  local name=$1 n=$2 p=$3 port=$4
  "$build/bench/mpshare-test-apiserver" --dir "$work/$name" --nodes "$n" --pods "$p" >"$work/$name.api.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [[ -s $work/$name/kubeconfig ]] && break; sleep 0.1; done
  local start=$(date +%s.%N)
  "$build/extender/mpshare-extender" serve --listen "127.0.0.1:$port" --kubeconfig "$work/$name/kubeconfig" \
    >"$work/$name.ext.log" 2>&1 &
  local ext=$!
  pids+=($ext)
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
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
