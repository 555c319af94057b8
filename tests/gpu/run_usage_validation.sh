#!/usr/bin/env bash
# Per-pod GPU usage on a machine with an NVIDIA GPU and no Kubernetes: the
# agent's figures for real MPS clients against nvidia-smi. Needs root,
# nvidia-cuda-mps-control, PyTorch with CUDA; leaves the GPU's settings alone.
#
#   tests/gpu/run_usage_validation.sh --bin DIR --out DIR
#     DIR/mpshare-node from a build of this tree
#
# What runs: a private MPS control daemon for GPU 0 (its own pipe directory),
# then three "pods" of MPS clients started with the env the webhook injects:
#   pod-a  one process,  30% threads, 0=2048M, holds 1024 MiB
#   pod-b  one process,  50% threads, 0=4096M, holds 3072 MiB, keeps the GPU busy
#   pod-c  one process group with two clients, 30% threads, 0=2048M, each holds
#          1536 MiB: 3072 MiB in all under a 2048 MiB cap, the double cap
# There are no containers here, so no process is in a kubepods cgroup: the
# script writes a /proc-shaped tree ($work/proc/<pid>/{cgroup,comm}) giving
# each client the cgroup its pod's container would have (cgroup v2, systemd
# driver, containerd) and every other GPU process its real files, plus the
# pods as `kubectl get pods -o json` would list them, and runs
#   mpshare-node usage --pods-file pods.json --proc-root $work/proc
# NVML, the MPS daemon and the clients are real; only the cgroup paths and
# the pod list are made up, and each is built from the real PIDs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
parse_bin_out "$@"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/mpn-usage-XXXXXX)"
pids=()
uuid="$(nvidia-smi --query-gpu=uuid --format=csv,noheader -i 0 | tr -d ' ')"
export CUDA_MPS_PIPE_DIRECTORY="$work/pipe" CUDA_MPS_LOG_DIRECTORY="$work/log"
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"

cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  sleep 1
  echo quit | nvidia-cuda-mps-control >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== MPS daemon for GPU 0 ($uuid)"
CUDA_VISIBLE_DEVICES="$uuid" nvidia-cuda-mps-control -d
sleep 1

# start NAME THREADS LIMIT MIB [--busy] [--children N]: one pod's process (group),
# in a session of its own so cleanup ends its children too.
start() {
  local name="$1" threads="$2" limit="$3" mib="$4"; shift 4
  CUDA_VISIBLE_DEVICES="$uuid" CUDA_MPS_ACTIVE_THREAD_PERCENTAGE="$threads" \
    CUDA_MPS_PINNED_DEVICE_MEM_LIMIT="$limit" \
    setsid python3 "$here/usage_client.py" --mib "$mib" --ready "$work/$name.ready" "$@" \
    > "$work/$name.log" 2>&1 &
  pids+=("$!")
}
start pod-a 30 0=2048M 1024
start pod-b 50 0=4096M 3072 --busy
start pod-c 30 0=2048M 1536 --children 2

for ready in pod-a.ready pod-b.ready pod-c.ready.0 pod-c.ready.1; do
  for _ in $(seq 1 120); do [ -e "$work/$ready" ] && break; sleep 0.5; done
  [ -e "$work/$ready" ] || { echo "FAIL: $ready never came up"; tail -20 "$work"/*.log; exit 1; }
done
sleep 3  # a few utilization samples for pod-b

echo "== nvidia-smi"
nvidia-smi | tee "$out/usage-nvidia-smi.txt"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits \
  | tee "$out/usage-nvidia-smi-apps.csv"

echo "== fake /proc tree and pod list from the real PIDs"
python3 - "$work" "$uuid" "$out/usage-nvidia-smi-apps.csv" <<'PY'
import hashlib, json, os, shutil, sys
work, uuid, apps = sys.argv[1], sys.argv[2], sys.argv[3]
ready = lambda name: int(open(os.path.join(work, name)).read())
pods = {
    "pod-a": {"threads": "30", "limit": "0=2048M", "pids": [ready("pod-a.ready")]},
    "pod-b": {"threads": "50", "limit": "0=4096M", "pids": [ready("pod-b.ready")]},
    "pod-c": {"threads": "30", "limit": "0=2048M",
              "pids": [ready("pod-c.ready.0"), ready("pod-c.ready.1")]},
}
proc = os.path.join(work, "proc")
items = []
for n, (name, pod) in enumerate(sorted(pods.items())):
    uid = f"0000000{n}-aaaa-4bbb-8ccc-{uuid[-12:].lower() if len(uuid) >= 12 else '0' * 12}"
    cid = hashlib.sha256(name.encode()).hexdigest()
    pod.update(uid=uid, cid=cid)
    for pid in pod["pids"]:
        os.makedirs(f"{proc}/{pid}", exist_ok=True)
        slice_ = "kubepods-burstable-pod" + uid.replace("-", "_") + ".slice"
        open(f"{proc}/{pid}/cgroup", "w").write(
            f"0::/kubepods.slice/kubepods-burstable.slice/{slice_}/cri-containerd-{cid}.scope\n")
        shutil.copy(f"/proc/{pid}/comm", f"{proc}/{pid}/comm")
    items.append({
        "metadata": {"name": name, "namespace": "validation", "uid": uid,
                     "annotations": {"mpshare.io/gpu-index": "0"}},
        "spec": {"nodeName": "gpu-node", "containers": [{"name": "main", "env": [
            {"name": "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "value": pod["threads"]},
            {"name": "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "value": pod["limit"]}]}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "main", "containerID": f"containerd://{cid}"}]},
    })
# Every other process on the GPU (the MPS server, anything else) keeps its real files.
for line in open(apps):
    pid = line.split(",")[0].strip()
    if pid.isdigit() and not os.path.exists(f"{proc}/{pid}"):
        os.makedirs(f"{proc}/{pid}")
        for f in ("cgroup", "comm"):
            shutil.copy(f"/proc/{pid}/{f}", f"{proc}/{pid}/{f}")
json.dump({"apiVersion": "v1", "kind": "PodList", "items": items},
          open(os.path.join(work, "pods.json"), "w"), indent=1)
json.dump(pods, open(os.path.join(work, "pods-pids.json"), "w"))
PY
cp "$work/pods.json" "$out/usage-pods.json"

echo "== mpshare-node usage"
"$bin/mpshare-node" usage --pods-file "$work/pods.json" --proc-root "$work/proc" \
  | tee "$out/usage.txt"
"$bin/mpshare-node" usage --pods-file "$work/pods.json" --proc-root "$work/proc" \
  --format json > "$out/usage.json"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits \
  > "$out/usage-nvidia-smi-apps-after.csv"

echo "== checks"
python3 - "$out" "$work/pods-pids.json" <<'PY'
import json, sys
out, pods = sys.argv[1], json.load(open(sys.argv[2]))
usage = json.load(open(f"{out}/usage.json"))
def smi(path):
    rows = {}
    for line in open(path):
        pid, mem = [c.strip() for c in line.split(",")]
        rows[int(pid)] = None if not mem.isdigit() else int(mem)
    return rows
before, after = smi(f"{out}/usage-nvidia-smi-apps.csv"), smi(f"{out}/usage-nvidia-smi-apps-after.csv")
checks, failed = [], 0
def check(name, ok, detail):
    global failed
    checks.append({"check": name, "ok": bool(ok), "detail": detail})
    failed += 0 if ok else 1
    print(("ok   " if ok else "FAIL ") + name + ": " + detail)
containers = {c["pod"]: c for c in usage["containers"]}
for name, pod in sorted(pods.items()):
    c = containers.get(name)
    check(f"{name} attributed", c is not None, f"pids {pod['pids']}")
    if c is None:
        continue
    check(f"{name} pids", sorted(c["pids"]) == sorted(pod["pids"]), f"agent {c['pids']}")
    # nvidia-smi rounds to MiB; both read NVML's usedGpuMemory, sampled moments apart.
    smi_mib = [before.get(p) for p in pod["pids"]]
    smi_after = [after.get(p) for p in pod["pids"]]
    agent_mib = c["memoryUsedBytes"] / 2**20
    same = None not in smi_mib and (abs(agent_mib - sum(smi_mib)) <= len(smi_mib)
                                    or abs(agent_mib - sum(smi_after)) <= len(smi_mib))
    check(f"{name} memory", same, f"agent {agent_mib:.0f} MiB, nvidia-smi {smi_mib} -> {sum(x or 0 for x in smi_mib)} MiB")
    check(f"{name} clients", c["mpsClients"] == len(pod["pids"]),
          f"agent {c['mpsClients']}, started {len(pod['pids'])}")
    limit = int(pod["limit"].split("=")[1][:-1]) * 2**20
    check(f"{name} limit", c["memoryLimitBytes"] == limit and c["threadPercentage"] == int(pod["threads"]),
          f"agent {c['memoryLimitBytes']} B / {c['threadPercentage']}%")
doubled = [d["pod"] for d in usage["doubleCapped"]]
check("double cap caught", doubled == ["pod-c"], f"doubleCapped {doubled}")
if "pod-c" in containers:
    c = containers["pod-c"]
    check("pod-c over its cap", c["memoryUsedBytes"] > c["memoryLimitBytes"],
          f"{c['memoryUsedBytes'] / 2**20:.0f} MiB used, cap {c['memoryLimitBytes'] / 2**20:.0f} MiB per process")
gpu = usage["gpus"][0]
check("GPU clients", gpu["mpsClients"] >= 4, f"agent {gpu['mpsClients']} MPS clients on GPU 0")
check("GPU slices", gpu["slicesReserved"] == 3, f"agent {gpu['slicesReserved']}")
summary = {"checks": checks, "failed": failed,
           "smRatio": {n: containers[n]["smRatio"] for n in containers},
           "gpu": gpu, "doubleCapped": usage["doubleCapped"],
           "nvidiaSmiApps": {str(k): v for k, v in before.items()}}
json.dump(summary, open(f"{out}/usage-summary.json", "w"), indent=1)
print(f"\n{len(checks) - failed}/{len(checks)} checks passed; SM utilization the agent read: {summary['smRatio']}")
sys.exit(1 if failed else 0)
PY
