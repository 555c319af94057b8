#!/usr/bin/env bash
# mpshare-node on a machine with an NVIDIA GPU: the inventory against
# nvidia-smi, then tests/node/gpu_check.cc (the real agent, the real MPS control
# daemon, MPS clients with a slot's CDI env). Needs nvcc, cuBLAS and
# nvidia-cuda-mps-control; leaves the GPU's settings alone.
#
#   tests/gpu/run_node_validation.sh --bin DIR --out DIR
#     DIR/mpshare-node and DIR/mpshare-node-gpu-check from a build of this tree
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
parse_bin_out "$@"
work="$(mktemp -d /tmp/mpn-gpu-XXXXXX)"

echo "== nvidia-smi"
nvidia-smi --query-gpu=index,uuid,name,memory.total,mig.mode.current --format=csv,noheader | tee "$out/nvidia-smi.csv"
nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1
echo "== mpshare-node inventory"
"$bin/mpshare-node" inventory
"$bin/mpshare-node" inventory --format json > "$out/inventory.json"
python3 - "$out/nvidia-smi.csv" "$out/inventory.json" <<'PY'
import csv, json, sys
smi = [[c.strip() for c in row] for row in csv.reader(open(sys.argv[1]))]
agent = json.load(open(sys.argv[2]))["gpus"]
assert len(smi) == len(agent), f"{len(smi)} GPUs in nvidia-smi, {len(agent)} in the inventory"
for row, gpu in zip(smi, agent):
    index, uuid, name, memory, mig = row
    assert int(index) == gpu["index"], (index, gpu)
    assert uuid == gpu["uuid"], (uuid, gpu)
    assert name.replace(" ", "-") == gpu["product"], (name, gpu)
    assert int(memory.split()[0]) == gpu["memoryMiB"], (memory, gpu)
    assert (mig == "Enabled") == gpu["migEnabled"], (mig, gpu)
print(f"inventory agrees with nvidia-smi on {len(agent)} GPU(s)")
PY
echo "== probe"
nvcc -O2 -std=c++17 -arch="${NVCC_ARCH:-native}" -o "$work/mpshare-gpu-probe" "$here/probe.cu" -lcublas
echo "== agent"
"$bin/mpshare-node-gpu-check" --agent "$bin/mpshare-node" --probe "$work/mpshare-gpu-probe" \
  --dir "$work/node" 2> "$out/agent.log" | tee "$out/node-validation.jsonl"
