#!/bin/sh
# clang-tidy-14 with the repo's .clang-tidy over core/, the pure part every
# component builds on, every warning an error. The compile commands come from
# this build (g++-only warning flags are ignored by clang).
#   tidy_check.sh SOURCE_DIR BUILD_DIR CLANG_TIDY
set -eu
source_dir=$1
build_dir=$2
clang_tidy=$3
jobs=$(nproc 2>/dev/null || echo 2)
cd "$source_dir"
ls core/*.cc | xargs -P "$jobs" -n 1 "$clang_tidy" -p "$build_dir" --quiet \
  --warnings-as-errors='*' --extra-arg=-Wno-unknown-warning-option
echo "clang-tidy: core/ clean"
