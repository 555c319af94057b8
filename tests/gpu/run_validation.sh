#!/usr/bin/env bash
# Runs mpshare's GPU validation on a machine with an NVIDIA GPU, nvcc and
# nvidia-cuda-mps-control: builds the probe, starts a private MPS control daemon
# (pipe and log directories under /tmp, no default limits), runs validate.py
# against it, and always quits the daemon again, also on failure.
#
#   tests/gpu/run_validation.sh [--out DIR] [--env FILE] [--quick] [validate.py flags...]
#
# --out DIR   where results.json, validation.log and the MPS logs go (default /tmp/mpshare-gpu-out)
# --env FILE  pod env from prepare_env.py (default tests/gpu/pod_env.json)
# --quick     one repetition and less work: a smoke test of the whole pipeline
# The GPU's own settings (compute mode, clocks) are left as they are.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out=/tmp/mpshare-gpu-out
env_file="$here/pod_env.json"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --env) env_file="$2"; shift 2 ;;
    --quick) extra+=(--reps 1 --gemms-per-unit 100); shift ;;
    *) extra+=("$1"); shift ;;
  esac
done
mkdir -p "$out"

work="$(mktemp -d /tmp/mpshare-gpu.XXXXXX)"
export CUDA_MPS_PIPE_DIRECTORY="$work/pipe"
export CUDA_MPS_LOG_DIRECTORY="$work/log"
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
daemon_started=0

stop_daemon() {
  local rc=$?
  if [ "$daemon_started" = 1 ]; then
    echo quit | nvidia-cuda-mps-control || true
    # The control daemon removes its pipe when it has shut down.
    for _ in $(seq 50); do [ -e "$CUDA_MPS_PIPE_DIRECTORY/control" ] || break; sleep 0.1; done
  fi
  cp "$CUDA_MPS_LOG_DIRECTORY/control.log" "$out/mps-control.log" 2>/dev/null || true
  cp "$CUDA_MPS_LOG_DIRECTORY/server.log" "$out/mps-server.log" 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap stop_daemon EXIT

exec > >(tee -a "$out/validation.log") 2>&1
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_mode --format=csv
nvcc --version | tail -1
echo "== build probe"
# The GPU's own architecture (NVCC_ARCH overrides, e.g. sm_80): MPS thread limits
# need Volta or newer, which every nvcc that knows -arch=native supports.
nvcc -O2 -std=c++17 -arch="${NVCC_ARCH:-native}" -o "$work/mpshare-gpu-probe" "$here/probe.cu" -lcublas
echo "== start private MPS daemon (pipe $CUDA_MPS_PIPE_DIRECTORY)"
daemon_started=1
nvidia-cuda-mps-control -d
echo get_default_active_thread_percentage | nvidia-cuda-mps-control

PYTHONUNBUFFERED=1 python3 "$here/validate.py" --probe "$work/mpshare-gpu-probe" \
  --env "$env_file" --out "$out/results.json" "${extra[@]}"
