#!/bin/sh
# `mpshare-extender simulate` as README.md runs it (the trace's nodes and its
# gpushare40 pods, fgd, seed 1, --inflate): it must print the report README.md
# shows, line for line but for the run time.
#   simulate_smoke_test.sh EXTENDER_BINARY SOURCE_DIR
set -eu
extender=$1
source_dir=$2
data=$source_dir/data/alibaba-gpu-v2023
readme=$source_dir/README.md
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if ! "$extender" simulate --nodes "$data/openb_node_list_gpu_node.csv" \
    --pods "$data/openb_pod_list_gpushare40.csv" --policy fgd --seed 1 --inflate >"$out" 2>&1; then
  echo "FAIL: mpshare-extender simulate failed; its output:" >&2
  cat "$out" >&2
  exit 1
fi
# The header without its wall time, then the two sample lines.
for pattern in '^policy fgd, seed 1, ' '^at 100 % arrivals: ' '^at the end: '; do
  expected=$(grep -E "$pattern" "$readme" | head -n 1 | sed -E 's/, [0-9.]+ s$//')
  if [ -z "$expected" ]; then
    echo "FAIL: README.md has no line matching /$pattern/" >&2
    exit 1
  fi
  if ! grep -qF -- "$expected" "$out"; then
    echo "FAIL: simulate did not print README.md's line" >&2
    echo "  $expected" >&2
    echo "its output:" >&2
    cat "$out" >&2
    exit 1
  fi
done
echo "ok: simulate prints README.md's report"
