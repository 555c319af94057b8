#!/usr/bin/env bash
# The trace through the live extender's own code (bench/live_replay.cc) beside
# `mpshare-extender simulate --inflate` on the same arrivals: every pod list x
# policy x seed, then the medians per list and policy as a markdown table.
# The simulator runs twice: on the trace's nodes, and on the same nodes without
# host CPU and memory, which is all the live inventory knows of a node.
#
# usage: bench/live_replay.sh [BUILD_DIR]        (default: build)
# env:   SEEDS   seeds to run (default: 42..51)
#        LISTS   pod lists (default: default gpushare100 gpuspec33 multigpu50 cpu200)
#        JOBS    runs at once (default: number of CPUs)
#        OUTPUT  where the table goes (default: docs/img/live-replay.md; - prints it)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n 's/^# \{0,1\}//; 2,13p' "$0"; exit 0 ;;
  -*) echo "live_replay.sh: unknown flag $1 (usage: bench/live_replay.sh [BUILD_DIR])" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "live_replay.sh: one argument at most (usage: bench/live_replay.sh [BUILD_DIR])" >&2; exit 2; }
BUILD_DIR=${1:-build}
REPLAY="$BUILD_DIR/bench/live_replay"
SIMULATE="$BUILD_DIR/extender/mpshare-extender"
DATA=data/alibaba-gpu-v2023
NODES="$DATA/openb_node_list_gpu_node.csv"
SEEDS=${SEEDS:-"42 43 44 45 46 47 48 49 50 51"}
LISTS=${LISTS:-"default gpushare100 gpuspec33 multigpu50 cpu200"}
POLICIES="fgd-plus fgd-plus-batch"
JOBS=${JOBS:-$(nproc)}
OUTPUT=${OUTPUT:-docs/img/live-replay.md}
RUNS="$BUILD_DIR/live-replay-runs"

[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "live_replay.sh: JOBS is a whole number above 0, got \"$JOBS\"" >&2; exit 2; }
for bin in "$REPLAY" "$SIMULATE"; do
  [ -x "$bin" ] || { echo "live_replay.sh: $bin not built (cmake --build $BUILD_DIR --target live_replay mpshare-extender)" >&2; exit 2; }
done
for list in $LISTS; do
  [ -f "$DATA/openb_pod_list_$list.csv" ] || { echo "live_replay.sh: no pod list $DATA/openb_pod_list_$list.csv" >&2; exit 2; }
done
rm -rf "$RUNS" && mkdir -p "$RUNS"
# The trace's nodes with host CPU and memory 0 (= not tracked, as live).
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { $2 = 0; $3 = 0; print }' "$NODES" >"$RUNS/nodes-gpu-only.csv"

for list in $LISTS; do
  for policy in $POLICIES; do
    for seed in $SEEDS; do
      printf '%s\t%s\t%s\n' "$list" "$policy" "$seed"
    done
  done
done >"$RUNS/jobs.txt"
echo "live_replay.sh: $(wc -l <"$RUNS/jobs.txt") replays, $JOBS at a time" >&2

export REPLAY SIMULATE NODES DATA RUNS
# shellcheck disable=SC2016
tr '\n' '\0' <"$RUNS/jobs.txt" | xargs -0 -P "$JOBS" -I{} bash -c '
  IFS=$'"'"'\t'"'"' read -r list policy seed <<<"$1"
  pods="$DATA/openb_pod_list_$list.csv"
  run="$RUNS/$list.$policy.$seed"
  "$REPLAY" --nodes "$NODES" --pods "$pods" --policy "$policy" --seed "$seed" --format json >"$run.replay.json"
  "$SIMULATE" simulate --nodes "$NODES" --pods "$pods" --policy "$policy" --seed "$seed" \
    --inflate --format json --output "$run.simulate.json" 2>/dev/null
  "$SIMULATE" simulate --nodes "$RUNS/nodes-gpu-only.csv" --pods "$pods" --policy "$policy" \
    --seed "$seed" --inflate --format json --output "$run.simulate-gpu-only.json" 2>/dev/null
' _ {}

if [ "$OUTPUT" = - ]; then
  python3 bench/live_replay_summary.py "$RUNS"
else
  mkdir -p "$(dirname "$OUTPUT")"
  python3 bench/live_replay_summary.py "$RUNS" >"$OUTPUT"
  echo "live_replay.sh: wrote $OUTPUT" >&2
fi
