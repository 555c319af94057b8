#!/usr/bin/env bash
# build.sh refuses what it cannot do before it installs or builds anything:
# an unknown BUILD_TYPE and an unknown command exit 2 naming what was wrong.
set -u
src=${1:?usage: build_script_test.sh SOURCE_DIR}
fail=0
# Were a refusal lost, the build would go here, not into the developer's build/.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

expect_refusal() {  # name, expected stderr text, env/command...
  local name=$1 want=$2
  shift 2
  local err rc
  err=$(env "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL $name: exit $rc, want 2 ($err)"
    fail=1
  elif [[ $err != *"$want"* ]]; then
    echo "FAIL $name: stderr \"$err\" lacks \"$want\""
    fail=1
  else
    echo "ok   $name"
  fi
}

expect_refusal "unknown BUILD_TYPE" \
  'BUILD_TYPE is Release, RelWithDebInfo, Debug or MinSizeRel, got "Fast"' \
  BUILD_DIR="$scratch" BUILD_TYPE=Fast "$src/build.sh" build
expect_refusal "unknown command" "usage: " "$src/build.sh" deploy
expect_refusal "no command" "usage: " "$src/build.sh"
exit $fail
