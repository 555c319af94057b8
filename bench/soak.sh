#!/usr/bin/env bash
# Sustained load on one server, with its resident memory and latency over time:
# starts the server, then runs wrk (bench/wrk/run.sh: 2 threads, 16 keep-alive
# connections) in back-to-back windows and prints, per window, the requests
# per second, p50 and p99 latency, answers other than 2xx and socket errors,
# and the server's RSS (VmRSS) and its peak (VmHWM) at the window's end.
#   bench/soak.sh BUILD_DIR webhook|extender [TOTAL_SECONDS] [WINDOW_SECONDS]
# (defaults: 600 s in 30 s windows)
#   webhook   mpshare-webhook serve over TLS; POST /mutate with the
#             create-annotated AdmissionReview (answered with a JSON Patch)
#   extender  mpshare-extender serve --standalone over plain HTTP with 100
#             nodes x 8 GPUs; POST /scheduler/filter for one GPU pod
#             (NodeNames form), and a last check that the ledger (/state nodes)
#             is unchanged
# Every wrk run is bounded by its window and the whole script by
# TOTAL_SECONDS + 120 s (timeout). Environment: PIN_CPUS=0,1 runs the server
# and wrk on those CPUs only (taskset).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/server.sh"
usage="usage: $0 BUILD_DIR webhook|extender [TOTAL_SECONDS] [WINDOW_SECONDS]"
usage_head "$@"
build=$1
kind=${2:-}
total=${3:-600}
window=${4:-30}
if [[ $# -gt 4 || ! $kind =~ ^(webhook|extender)$ || ! $total =~ ^[1-9][0-9]*$ || ! $window =~ ^[1-9][0-9]*$ ]]; then
  bad_usage "the server is webhook or extender, TOTAL_SECONDS and WINDOW_SECONDS whole numbers above 0; got $*"
fi
if [ -z "${SOAK_BOUNDED:-}" ]; then
  SOAK_BOUNDED=1 exec timeout --kill-after=10 $((total + 120)) "$0" "$@"
fi
source_dir=$(dirname "$here")
require_tools curl
pin=()
[ -n "${PIN_CPUS:-}" ] && pin=(taskset -c "$PIN_CPUS")
setup_work_dir

if [ "$kind" = webhook ]; then
  binary="$build/webhook/mpshare-webhook"
  [ -x "$binary" ] || { echo "$0: $binary not built (target mpshare-webhook)" >&2; exit 2; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")), end="")' \
    "$source_dir/tests/fixtures/admission/create-annotated/request.json" >"$work/body.json"
  start_server "${pin[@]}" "$binary" serve --listen 127.0.0.1:0 --tls-cert "$work/tls.crt" --tls-key "$work/tls.key"
  wait_for_port "$kind"
  url="https://127.0.0.1:$port/mutate"
  answer=$(curl -sk --fail-with-body -H 'Content-Type: application/json' --data-binary @"$work/body.json" "$url")
  grep -q '"patch"' <<<"$answer" || { echo "$0: /mutate answered without a patch: $answer" >&2; exit 1; }
else
  binary="$build/extender/mpshare-extender"
  [ -x "$binary" ] || { echo "$0: $binary not built (target mpshare-extender)" >&2; exit 2; }
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def node(i):
    return {"metadata": {"name": f"gpu-{i}", "labels": {
                "mpshare.io/mps": "enabled", "nvidia.com/gpu.count": "8",
                "nvidia.com/gpu.memory": "81559", "nvidia.com/gpu.replicas": "48",
                "kubernetes.io/hostname": f"gpu-{i}"}},
            "status": {"capacity": {"cpu": "192", "memory": "2064000Mi", "nvidia.com/gpu": "384"}}}
json.dump({"apiVersion": "v1", "kind": "NodeList", "items": [node(i) for i in range(100)]},
          open(f"{work}/nodes.json", "w"))
pod = {"metadata": {"name": "infer-0", "namespace": "ml", "uid": "uid-infer-0",
                    "annotations": {"mpshare.io/thread-percentage": "30", "mpshare.io/memory-limit": "8Gi"}},
       "spec": {"containers": [{"name": "server", "image": "triton",
                                "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}
json.dump({"Pod": pod, "Nodes": None, "NodeNames": [f"gpu-{i}" for i in range(100)]},
          open(f"{work}/body.json", "w"), separators=(",", ":"))
PY
  start_server "${pin[@]}" "$binary" serve --listen 127.0.0.1:0 --standalone --nodes "$work/nodes.json"
  wait_for_port "$kind"
  url="http://127.0.0.1:$port/scheduler/filter"
  curl -s "http://127.0.0.1:$port/state" >"$work/state-before.json"
fi

rss() { awk -v f="$1" '$1 == f":" { printf "%.1f", $2 / 1024 }' "/proc/$server/status"; }
echo "# $kind soak: ${total}s in ${window}s windows, wrk -t2 -c16, $(nproc) CPUs, load1 at start $(cut -d' ' -f1 /proc/loadavg)"
echo "# start: RSS $(rss VmRSS) MiB"
echo "| t (s) | req/s | p50 (ms) | p99 (ms) | non-2xx | socket errors | RSS (MiB) | peak RSS (MiB) | load1 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
elapsed=0
while [ "$elapsed" -lt "$total" ]; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$("${pin[@]}" "$here/wrk/run.sh" "$url" "$work/body.json" "${window}s" | grep '^summary:')
  elapsed=$((elapsed + window))
  kill -0 "$server" 2>/dev/null || { echo "$0: $kind exited during the soak:" >&2; tail "$work/server.log" >&2; exit 1; }
  reqs=$(sed 's/.*req\/s=\([0-9.]*\).*/\1/' <<<"$line")
  p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
  non2xx=$(sed 's/.*non_2xx=\([0-9]*\).*/\1/' <<<"$line")
  socket=$(sed 's/.*socket_errors=\([0-9]*\).*/\1/' <<<"$line")
  echo "| $elapsed | $reqs | $p50 | $p99 | $non2xx | $socket | $(rss VmRSS) | $(rss VmHWM) | $load |"
done
if [ "$kind" = extender ]; then
  # Filter reserves nothing: after the soak the ledger is what it was.
  # (podDistribution, the filter's view of recent pods, moves; the ledger must not.)
  curl -s "http://127.0.0.1:$port/state" >"$work/state-after.json"
  python3 - "$work/state-before.json" "$work/state-after.json" <<'PY' || { echo "$0: the ledger changed under filter load" >&2; exit 1; }
import json, sys
before, after = (json.load(open(path))["nodes"] for path in sys.argv[1:])
sys.exit(0 if before == after else 1)
PY
fi
errors=$(grep -c '"level":"error"' "$work/server.log" || true)
echo "# end: server errors logged: $errors"
