#!/usr/bin/env bash
# End-to-end HTTP load on the extender's filter verb (NodeNames form, as with
# nodeCacheCapable: true): starts `mpshare-extender serve --standalone` on
# 127.0.0.1 with N generated nodes x 8 GPUs, then runs wrk (bench/wrk/run.sh)
# against /scheduler/filter and /scheduler/prioritize.
#   bench/extender_wrk.sh BUILD_DIR [NODES...] (default: 100 1000 5000)
# Environment: DURATION (wrk duration, default 10s), PORT (default 18888).
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [NODES...]}
shift
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000 5000)
here=$(cd "$(dirname "$0")" && pwd)
binary="$build/extender/mpshare-extender"
[ -x "$binary" ] || { echo "$0: $binary not built" >&2; exit 2; }
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=${PORT:-18888}

for n in "${sizes[@]}"; do
  python3 - "$n" "$work" <<'PY'
import json, sys
n, work = int(sys.argv[1]), sys.argv[2]
labels = lambda i: {"mpshare.io/mps": "enabled", "nvidia.com/gpu.count": "8",
                    "nvidia.com/gpu.memory": "81559", "nvidia.com/gpu.replicas": "48"}
nodes = {"apiVersion": "v1", "kind": "NodeList",
         "items": [{"metadata": {"name": f"gpu-{i}", "labels": labels(i)}} for i in range(n)]}
json.dump(nodes, open(f"{work}/nodes.json", "w"))
pod = {"metadata": {"name": "infer-0", "namespace": "ml", "uid": "uid-infer-0",
                    "annotations": {"mpshare.io/thread-percentage": "30", "mpshare.io/memory-limit": "8Gi"}},
       "spec": {"containers": [{"name": "server", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}
json.dump({"Pod": pod, "Nodes": None, "NodeNames": [f"gpu-{i}" for i in range(n)]},
          open(f"{work}/args.json", "w"))
PY
  "$binary" serve --listen "127.0.0.1:$port" --standalone --nodes "$work/nodes.json" 2>"$work/server.log" &
  server=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  for verb in filter prioritize; do
    echo "== $n nodes x 8 GPUs, POST /scheduler/$verb (NodeNames form)"
    "$here/wrk/run.sh" "http://127.0.0.1:$port/scheduler/$verb" "$work/args.json" "${DURATION:-10s}" |
      grep -E "summary:|Latency|Requests/sec"
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
done
