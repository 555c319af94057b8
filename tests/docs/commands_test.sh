#!/usr/bin/env bash
# Runs the shell blocks of README.md and docs/*.md that are marked runnable
# without a cluster, so the commands the docs show keep working:
#
#   ```sh offline
#   build/webhook/mpshare-webhook review --pod manifests/examples/first-pod.yaml
#   ```
#
#   tests/docs/commands_test.sh SOURCE_DIR BUILD_DIR
#
# Each block runs as one bash script (set -e -o pipefail) from a directory that
# looks like the source tree with `build` pointing at BUILD_DIR, so the
# documented paths work as written. A block fails on a non-zero exit or after
# BLOCK_TIMEOUT seconds (default 20); processes it leaves in the background are
# stopped when it ends. Runs one at a time on a machine (the blocks use fixed
# ports such as 127.0.0.1:8888).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2
  exit 2
fi
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
timeout_s=${BLOCK_TIMEOUT:-20}
for binary in webhook/mpshare-webhook extender/mpshare-extender; do
  [ -x "$build_dir/$binary" ] || { echo "$0: $build_dir/$binary is not built" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The source tree, with `build` being the build tree under test.
mkdir "$work/root"
for entry in "$source_dir"/* "$source_dir"/.[!.]*; do
  [ -e "$entry" ] || continue
  name=${entry##*/}
  [ "$name" = build ] && continue
  ln -s "$entry" "$work/root/$name"
done
ln -s "$build_dir" "$work/root/build"

# Extract the blocks: one file per block, and a line saying where it came from.
count=0
for doc in "$source_dir/README.md" "$source_dir"/docs/*.md; do
  [ -f "$doc" ] || continue
  rel=${doc#"$source_dir"/}
  count=$(awk -v dir="$work" -v rel="$rel" -v n="$count" '
    /^[ \t]*```sh offline[ \t]*$/ { n++; file = sprintf("%s/block-%03d.sh", dir, n); in_block = 1
                                    print rel ":" NR > (file ".where"); next }
    in_block && /^[ \t]*```[ \t]*$/ { in_block = 0; close(file); next }
    in_block { print > file }
    END { print n }
  ' "$doc")
done
if [ "$count" -eq 0 ]; then
  echo "$0: no \`\`\`sh offline blocks found in README.md or docs/" >&2
  exit 1
fi

# One run of these blocks at a time per machine: they share ports and /tmp paths.
exec 9>"${TMPDIR:-/tmp}/mpshare-docs-commands.lock"
flock 9

failed=0
for block in "$work"/block-*.sh; do
  [ -e "$block" ] || continue
  where=$(cat "$block.where")
  {
    echo 'set -e -o pipefail'
    echo 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT'
    cat "$block"
  } >"$block.run"
  start=$SECONDS
  if (cd "$work/root" && timeout --kill-after=5 "$timeout_s" bash "$block.run") >"$block.out" 2>&1; then
    echo "ok    $where ($((SECONDS - start)) s)"
  else
    status=$?
    failed=$((failed + 1))
    reason="exit $status"
    [ "$status" -eq 124 ] && reason="timed out after $timeout_s s"
    echo "FAIL  $where: $reason"
    sed 's/^/      | /' "$block"
    echo "      output:"
    tail -n 20 "$block.out" | sed 's/^/      > /'
  fi
done
echo "$count blocks, $failed failed"
[ "$failed" -eq 0 ]
