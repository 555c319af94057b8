# Sourced by the bench scripts that start a server and load it: their usage
# handling and the server's start, port and end. A script sets `usage` before
# it calls usage_head; messages name the script ($0), not this file.

# usage_head "$@": --help/-h prints the usage (exit 0); no argument at all
# prints it on stderr (exit 2).
usage_head() {
  case "${1:-}" in
    -h|--help) echo "$usage"; exit 0 ;;
    "") echo "$usage" >&2; exit 2 ;;
  esac
}

# bad_usage WHAT: says what was wrong and what is allowed, then the usage; exit 2.
bad_usage() {
  echo "$0: $1" >&2
  echo "$usage" >&2
  exit 2
}

# require_tools TOOL...: exit 2 naming the first one not installed.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not installed" >&2; exit 2; }
  done
}

# setup_work_dir: a scratch directory ($work) and the server under load
# ($server, its pid), both gone when the script exits, however it exits.
# Other processes the script starts go into `also_stop`.
setup_work_dir() {
  work=$(mktemp -d)
  server=""
  also_stop=()
  trap cleanup EXIT
}
cleanup() {
  local pid
  for pid in $server "${also_stop[@]}"; do
    { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true
  done
  rm -rf "$work"
}

# start_server COMMAND...: runs it in the background with its stderr in
# $work/server.log (emptied first, so a log of an earlier server is not read).
start_server() {
  : >"$work/server.log"
  "$@" 2>"$work/server.log" &
  server=$!
}

# wait_for_port NAME: sets `port` to the one the server logged as
# "serving listen=HOST:PORT"; when it exits or 10 s pass without that line,
# prints its log and exits 1.
wait_for_port() {
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*serving listen=[^ ]*:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  echo "$0: $1 did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
}

# stop_server: ends the server now (the next one can take its port).
stop_server() {
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
}
