# Sourced by the GPU validation scripts that run binaries of a build and
# write their results to a directory.

# parse_bin_out "$@": sets `bin` and `out` from --bin DIR --out DIR and creates
# `out`; anything else, or either missing, prints the usage and exits 2.
parse_bin_out() {
  local usage="usage: $0 --bin DIR --out DIR"
  bin="" out=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --bin) bin="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
  done
  [ -n "$bin" ] && [ -n "$out" ] || { echo "$usage" >&2; exit 2; }
  mkdir -p "$out"
}
