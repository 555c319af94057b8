#!/bin/sh
# clang-tidy-14 with the repo's .clang-tidy over core/, the pure part every
# component builds on, every warning an error. The compile commands come from
# this build (g++-only warning flags are ignored by clang).
# Only core/: a file of platform/, webhook/, extender/, node/ or testing/ pulls
# in Beast, gRPC, nlohmann::json and simdjson, and parsing those is most of its
# cost whatever the checks (extender/wire.cc: 134 s with every check, 86 s
# without clang-analyzer-*; node/serve_command.cc: 145 s and 131 s, on the
# shared 2-core machine under load). Their 73 files would take the suite well
# past the few minutes the style tests may cost on 2 cores.
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
