#!/usr/bin/env bash
# libFuzzer campaign over every parser of outside input (docs/reliability.md).
#   tests/fuzz/run.sh [--seconds N] [--target NAME]... [--out DIR] [--jobs J] [--check]
# Configures build-fuzz with clang++-14 and MPSHARE_FUZZ=ON (only the
# libraries the fuzzers need are built), writes each target's seed corpus from
# the golden fixtures (seed_corpus.py), runs each target for N seconds
# (default 60) and prints executions, coverage and crashes per target.
# Crash inputs land in DIR/crashes/<target>/ (DIR defaults to build-fuzz/campaign);
# once fixed, copy them to tests/fuzz/regressions/<target>/ so CI replays them.
# --check (CI): exit 1 when a target crashed or ran no input at all.
# Needs clang-14 and libclang-rt-14-dev (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=60
jobs=2
out=""
check=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
build=${FUZZ_BUILD_DIR:-build-fuzz}
out=${out:-$build/campaign}
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(python3 tests/fuzz/seed_corpus.py --list)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DMPSHARE_FUZZ=ON \
    -DMPSHARE_BUILD_TESTS=OFF -DMPSHARE_BUILD_BENCHMARKS=OFF -DMPSHARE_BUILD_DEMO=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    "${launcher[@]}" >&2
fi
nice -n 10 cmake --build "$build" -j "$jobs" --target "${targets[@]/%/_fuzzer}" >&2

mkdir -p "$out/logs"
rows=()
failed=()
for t in "${targets[@]}"; do
  rm -rf "$out/seeds/$t"
  python3 tests/fuzz/seed_corpus.py "$out/seeds" "$t"
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  echo "fuzzing $t for ${seconds}s" >&2
  # The grown corpus comes first: libFuzzer writes new inputs there.
  nice -n 10 "$build/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=16384 -artifact_prefix="$out/crashes/$t/" \
    "$out/corpus/$t" "$out/seeds/$t" >"$out/logs/$t.log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$out/logs/$t.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$out/crashes/$t" -type f | wc -l)
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  rows+=("| $t | ${seconds} | ${execs:-?} | ${cov:-?} | $corpus | $crashes |")
  if [ "$crashes" -gt 0 ] || [ -z "$execs" ] || [ "$execs" = 0 ]; then failed+=("$t"); fi
done

echo "| target | seconds | executions | cov | corpus | crashes |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo "logs: $out/logs, crash inputs: $out/crashes" >&2
if [ "$check" = 1 ] && [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "== $t crashed or ran nothing; the end of its log:" >&2
    tail -n 40 "$out/logs/$t.log" >&2
  done
  exit 1
fi
