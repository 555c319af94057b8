#!/bin/sh
# cmake/check_core_includes.sh passes on core/ as it is, and fails on a copy of
# core/ given one forbidden include of each kind, naming file and line of each.
#   core_includes_test.sh SOURCE_DIR
set -eu
source_dir=$1
check=$source_dir/cmake/check_core_includes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sh "$check" "$source_dir" || { echo "FAIL: core/ itself does not pass the check" >&2; exit 1; }

cp -R "$source_dir/core" "$work/core"
cat >"$work/core/impure.h" <<'HEADER'
#pragma once
#include <vector>
#include <nlohmann/json.hpp>
#include "core/result.h"
#  include <boost/asio.hpp>
#include <sys/socket.h>
#include "platform/kube_json.h"
#include "core/../platform/logging.h"
HEADER
if sh "$check" "$work" 2>"$work/errors"; then
  echo "FAIL: the check accepted core/impure.h" >&2
  exit 1
fi
for expected in 'core/impure.h:3: #include <nlohmann/json.hpp>' 'core/impure.h:5: #include <boost/asio.hpp>' \
                'core/impure.h:6: #include <sys/socket.h>' 'core/impure.h:7: #include "platform/kube_json.h"' \
                'core/impure.h:8: #include "core/../platform/logging.h"'; do
  grep -qF "$expected" "$work/errors" || { echo "FAIL: no error for $expected in:" >&2; cat "$work/errors" >&2; exit 1; }
done
[ "$(wc -l <"$work/errors")" -eq 5 ] || { echo "FAIL: allowed includes reported too:" >&2; cat "$work/errors" >&2; exit 1; }
echo "ok: core/ passes; each forbidden include is named by file and line"
