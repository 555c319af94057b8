#!/usr/bin/env bash
# End-to-end HTTP load on the extender's filter and prioritize verbs: starts
# `mpshare-extender serve --standalone` on 127.0.0.1 with N generated nodes x 8
# GPUs, places about 2.7 pods per node through filter and bind (the ledger
# binpack would have built), then times POST /scheduler/filter and
# /scheduler/prioritize for one GPU pod with wrk (bench/wrk/run.sh) in both
# node forms:
#   NodeNames  names only (nodeCacheCapable: true), the form mpshare is set up for;
#   Nodes      the full NodeList in every call (nodeCacheCapable: false).
# Calls go one at a time (wrk -t1 -c1), as kube-scheduler makes them, so the
# latencies are per call, not queueing behind other calls.
#   bench/extender_wrk.sh BUILD_DIR [NODES...] (default: 100 1000 5000)
# Environment: DURATION (wrk duration, default 10s), RUNS (default 3; the
# median run by req/s is printed last), PORT (default 18888), FORMS (default
# "NodeNames Nodes"). Each run's line starts with the 1-minute load average.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/server.sh"
usage="usage: $0 BUILD_DIR [NODES...]   (default NODES: 100 1000 5000)"
usage_head "$@"
build=$1
shift
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000 5000)
for n in "${sizes[@]}" "${RUNS:-3}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || bad_usage "NODES and RUNS are whole numbers above 0, got \"$n\""
done
binary="$build/extender/mpshare-extender"
[ -x "$binary" ] || { echo "$0: $binary not built" >&2; exit 2; }
require_tools curl
setup_work_dir
port=${PORT:-18888}
runs=${RUNS:-3}
duration=${DURATION:-10s}
read -r -a forms <<<"${FORMS:-NodeNames Nodes}"
export WRK_THREADS=1 WRK_CONNECTIONS=1

for n in "${sizes[@]}"; do
  python3 - "$n" "$work" <<'PY'
import json, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
def node(i):
    name = f"gpu-{i}"
    return {"metadata": {"name": name, "labels": {
                "mpshare.io/mps": "enabled", "nvidia.com/gpu.count": "8",
                "nvidia.com/gpu.memory": "81559", "nvidia.com/gpu.replicas": "48",
                "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "kubernetes.io/hostname": name}},
            "status": {"capacity": {"cpu": "192", "memory": "2064000Mi", "nvidia.com/gpu": "384"}}}
nodes = [node(i) for i in range(n)]
node_list = {"apiVersion": "v1", "kind": "NodeList", "items": nodes}
json.dump(node_list, open(f"{work}/nodes.json", "w"))
# Pods already placed: about a third of the GPUs, each with one pod, bound
# through the extender before the load so the policy has real choices to make.
rng = random.Random(7)
with open(f"{work}/placed.txt", "w") as placed:
    for i in range(n):
        for g in range(8):
            if rng.randrange(3) == 0:
                placed.write(f"gpu-{i} p-{i}-{g} {10 + rng.randrange(60)} {1024 + rng.randrange(40000)}Mi\n")
def pod(name, threads, memory):
    return {"metadata": {"name": name, "namespace": "ml", "uid": "uid-" + name,
                         "annotations": {"mpshare.io/thread-percentage": str(threads),
                                         "mpshare.io/memory-limit": memory}},
            "spec": {"schedulerName": "mpshare-scheduler",
                     "containers": [{"name": "server", "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}
json.dump({"Pod": pod("infer-0", 30, "8Gi"), "Nodes": None, "NodeNames": [f"gpu-{i}" for i in range(n)]},
          open(f"{work}/args-NodeNames.json", "w"), separators=(",", ":"))
json.dump({"Pod": pod("infer-0", 30, "8Gi"), "Nodes": node_list, "NodeNames": None},
          open(f"{work}/args-Nodes.json", "w"), separators=(",", ":"))
with open(f"{work}/placed.txt") as placed, open(f"{work}/binds.jsonl", "w") as binds:
    for line in placed:
        node_name, name, threads, memory = line.split()
        binds.write(json.dumps({"filter": {"Pod": pod(name, threads, memory), "Nodes": None,
                                           "NodeNames": [node_name]},
                                "bind": {"PodName": name, "PodNamespace": "ml", "PodUID": "uid-" + name,
                                         "Node": node_name}}) + "\n")
PY
  start_server "$binary" serve --listen "127.0.0.1:$port" --standalone --nodes "$work/nodes.json"
  wait_for_port extender
  # Place the existing pods: filter (so the extender learns the pod) then bind.
  python3 - "$work/binds.jsonl" "$port" <<'PY'
import http.client, json, sys
path, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(verb, body):
    conn.request("POST", "/scheduler/" + verb, json.dumps(body), {"Content-Type": "application/json"})
    reply = json.loads(conn.getresponse().read())
    if reply.get("Error"):
        sys.exit(f"{verb} {body}: {reply['Error']}")
bound = 0
for line in open(path):
    entry = json.loads(line)
    post("filter", entry["filter"])
    post("bind", entry["bind"])
    bound += 1
print(f"placed {bound} pods")
PY
  for form in "${forms[@]}"; do
    body="$work/args-$form.json"
    for verb in filter prioritize; do
      echo "== $n nodes x 8 GPUs, POST /scheduler/$verb ($form form, $(wc -c <"$body") bytes)"
      : >"$work/results"
      for round in $(seq "$runs"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        line=$("$here/wrk/run.sh" "http://127.0.0.1:$port/scheduler/$verb" "$body" "$duration" | grep '^summary:')
        echo "load1=$load ${line#summary: }" | tee -a "$work/results"
      done
      echo -n "median: "
      sed 's/.*req\/s=\([0-9]*\).*/\1 &/' "$work/results" | sort -n |
        awk -v n="$runs" 'NR == int((n + 1) / 2) { $1 = ""; print substr($0, 2) }'
    done
  done
  stop_server
done
