#!/bin/sh
# mpshare-demo (the README's main job) runs to the end and prints the summary
# lines README.md shows for it, so the README's figures are the demo's.
#   demo_smoke_test.sh DEMO_BINARY README_MD
set -eu
demo=$1
readme=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if ! "$demo" >"$out" 2>&1; then
  echo "FAIL: mpshare-demo failed; its output:" >&2
  cat "$out" >&2
  exit 1
fi
# One README line per stage (the webhook's, the extender's and the equal-slices
# comparison, the node agent's); a trailing " (...)" there shortens the line.
for pattern in '^[0-9]+ of [0-9]+ pods admitted\.$' '^mpshare placed [0-9]+ of [0-9]+ pods' \
               "^The device plugin's equal slices" '^[0-9]+ of [0-9]+ containers get the GPU'; do
  expected=$(grep -E "$pattern" "$readme" | head -n 1 | sed 's/ (\.\.\.)$//')
  if [ -z "$expected" ]; then
    echo "FAIL: README.md has no line matching /$pattern/" >&2
    exit 1
  fi
  if ! grep -qF -- "$expected" "$out"; then
    echo "FAIL: mpshare-demo did not print README.md's line" >&2
    echo "  $expected" >&2
    echo "its output:" >&2
    cat "$out" >&2
    exit 1
  fi
done
echo "ok: mpshare-demo prints README.md's summary lines"
