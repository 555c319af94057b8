#!/usr/bin/env bash
# Packing quality on the Alibaba GPU-sharing trace (data/alibaba-gpu-v2023/):
# every policy x pod list x seed through `mpshare-extender simulate --inflate`,
# then the medians (docs/img/packing-summary.csv), the series behind the plots
# and the plots themselves (gnuplot, SVG) in docs/img/. See docs/packing.md.
#
# usage: bench/packing.sh [BUILD_DIR]        (default: build)
# env:   SEEDS   seeds to run (default: 42..51, the paper's ten)
#        LISTS   pod lists (default: the 14 in data/alibaba-gpu-v2023/)
#        JOBS    simulations run at once (default: number of CPUs)
#        TIMING  1 (default) also times one full-trace run per policy on one core
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n 's/^# \{0,1\}//; 2,11p' "$0"; exit 0 ;;
  -*) echo "packing.sh: unknown flag $1 (usage: bench/packing.sh [BUILD_DIR])" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "packing.sh: one argument at most (usage: bench/packing.sh [BUILD_DIR])" >&2; exit 2; }
BUILD_DIR=${1:-build}
BIN="$BUILD_DIR/extender/mpshare-extender"
DATA=data/alibaba-gpu-v2023
NODES="$DATA/openb_node_list_gpu_node.csv"
SEEDS=${SEEDS:-"42 43 44 45 46 47 48 49 50 51"}
LISTS=${LISTS:-"default gpushare20 gpushare40 gpushare80 gpushare100 gpuspec10 gpuspec25 gpuspec33 multigpu20 multigpu40 multigpu50 cpu050 cpu100 cpu200"}
POLICIES=("fgd" "fgd-plus" "fgd-plus-batch" "binpack" "spread" "equal-slices 2" "equal-slices 4" "equal-slices 8")
JOBS=${JOBS:-$(nproc)}
OUT=docs/img
RUNS="$BUILD_DIR/packing-runs"

[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "packing.sh: JOBS is a whole number above 0, got \"$JOBS\"" >&2; exit 2; }
[ -x "$BIN" ] || { echo "packing.sh: $BIN not built (cmake --build $BUILD_DIR --target mpshare-extender)" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "packing.sh: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 2; }
rm -rf "$RUNS" && mkdir -p "$RUNS" "$OUT"

# One line per run: list, policy, seed.
jobs_file="$RUNS/jobs.txt"
for list in $LISTS; do
  for policy in "${POLICIES[@]}"; do
    for seed in $SEEDS; do
      printf '%s\t%s\t%s\n' "$list" "$policy" "$seed"
    done
  done
done >"$jobs_file"
echo "packing.sh: $(wc -l <"$jobs_file") simulations, $JOBS at a time" >&2

# File names replace the space of "equal-slices N" so they stay plain.
export BIN NODES DATA RUNS
# shellcheck disable=SC2016
tr '\n' '\0' <"$jobs_file" | xargs -0 -P "$JOBS" -I{} bash -c '
  IFS=$'"'"'\t'"'"' read -r list policy seed <<<"$1"
  "$BIN" simulate --nodes "$NODES" --pods "$DATA/openb_pod_list_$list.csv" --policy "$policy" \
    --seed "$seed" --inflate --format json --output "$RUNS/$list.${policy// /-}.$seed.json"
' _ {}

python3 bench/packing_summary.py "$RUNS" "$OUT" bench/packing_paper.csv
gnuplot -e "dir='$OUT'" bench/packing.gp
echo "packing.sh: wrote $OUT/packing-summary.csv, $OUT/packing-{allocation,gpushare,lists}.svg" >&2

# Speed: one whole policy run over the full trace (default list, inflated to 130 %)
# on one core, best of 3: the whole process, reading the CSVs included. Other work
# on the machine slows it, so the load average is printed with it.
if [ "${TIMING:-1}" = 1 ]; then
  pin=()
  command -v taskset >/dev/null && pin=(taskset -c 0)
  echo "timing (one core, best of 3), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  for policy in "${POLICIES[@]}"; do
    best=""
    for _ in 1 2 3; do
      s=$( { TIMEFORMAT=%R; time "${pin[@]}" "$BIN" simulate --nodes "$NODES" \
        --pods "$DATA/openb_pod_list_default.csv" --policy "$policy" --seed 42 --inflate \
        --format json >/dev/null; } 2>&1)
      best=$(python3 -c "print(min($s, ${best:-$s}))")
    done
    printf '  %-16s %.2f s\n' "$policy" "$best"
  done
fi
