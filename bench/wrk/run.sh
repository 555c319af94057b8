#!/usr/bin/env bash
# Load-tests one HTTP(S) endpoint with wrk: 2 threads, 16 keep-alive connections.
#   bench/wrk/run.sh URL BODYFILE DURATION
# WRK_THREADS and WRK_CONNECTIONS override the 2 and 16 (e.g. 1 and 1 to time
# calls one at a time, as kube-scheduler makes them to an extender).
# BODYFILE is POSTed as JSON for every request ("-" = plain GET); DURATION is a
# wrk duration (10s, 1m). Prints wrk's report (with the latency distribution)
# and a last line "summary: req/s=... p50_ms=... p99_ms=...".
# Certificates are not verified: wrk is measuring, not trusting.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 URL BODYFILE|- DURATION   e.g. $0 https://127.0.0.1:8443/mutate review.json 10s" >&2
  exit 2
fi
url=$1 body=$2 duration=$3
if [ "$body" != "-" ] && [ ! -r "$body" ]; then
  echo "$0: cannot read body file $body" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "$0: wrk not installed (Debian package: wrk)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
WRK_BODY_FILE=$([ "$body" = "-" ] && echo "" || realpath "$body") \
  exec wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNECTIONS:-16}" -d "$duration" --latency -s "$here/post.lua" "$url"
