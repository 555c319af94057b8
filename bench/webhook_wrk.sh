#!/usr/bin/env bash
# HTTPS load on the webhook itself: starts `mpshare-webhook serve` on 127.0.0.1
# with a freshly generated self-signed EC P-256 certificate, then runs wrk
# (bench/wrk/run.sh: 2 threads, 16 keep-alive connections, TLS) against
#   POST /mutate   an AdmissionReview as the API server sends it (compact JSON),
#                  annotated so the answer carries a JSON Patch;
#   GET /healthz   the same server, same stack, no webhook logic;
# alternating the two, RUNS rounds, and prints the median round per endpoint.
#   bench/webhook_wrk.sh BUILD_DIR [DURATION]          (default duration: 10s)
# Environment:
#   RUNS=3            rounds (each round: one /healthz run, one /mutate run)
#   FIXTURE=create-annotated   case under tests/fixtures/admission/ to POST
#   PIN_CPUS=0,1      run server and wrk on those CPUs only (taskset)
#   ECHO=1            also start mpshare-bare-server (target mpshare-bare-server)
#                     and POST the same body to its /echo in each round: the
#                     stack with the request and a reply of that size, no review
# Each run's line starts with the 1-minute load average when it started, so a
# run disturbed by other work on the machine shows.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/server.sh"
usage="usage: $0 BUILD_DIR [DURATION]   (DURATION as wrk takes it: 10s, 1m; default 10s)"
usage_head "$@"
build=$1
duration=${2:-10s}
runs=${RUNS:-3}
if [[ $# -gt 2 || ! $duration =~ ^[0-9]+[smh]?$ || ! $runs =~ ^[1-9][0-9]*$ ]]; then
  bad_usage "DURATION is a wrk duration (10s, 1m) and RUNS a whole number above 0; got $* (RUNS=$runs)"
fi
fixture=${FIXTURE:-create-annotated}
source_dir=$(dirname "$here")
binary="$build/webhook/mpshare-webhook"
request="$source_dir/tests/fixtures/admission/$fixture/request.json"
[ -x "$binary" ] || { echo "$0: $binary not built (target mpshare-webhook)" >&2; exit 2; }
[ -r "$request" ] || { echo "$0: no fixture $request (FIXTURE names a directory under tests/fixtures/admission/)" >&2; exit 2; }
require_tools openssl

bare_binary="$build/bench/wrk/mpshare-bare-server"
endpoints=(healthz mutate)
if [ -n "${ECHO:-}" ]; then
  [ -x "$bare_binary" ] || { echo "$0: $bare_binary not built (target mpshare-bare-server)" >&2; exit 2; }
  endpoints+=(echo)
fi

setup_work_dir

pin=()
[ -n "${PIN_CPUS:-}" ] && pin=(taskset -c "$PIN_CPUS")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
# The API server sends compact JSON; the fixture is pretty-printed for review.
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")), end="")' \
  "$request" >"$work/review.json"

start_server "${pin[@]}" "$binary" serve --listen 127.0.0.1:0 --tls-cert "$work/tls.crt" \
  --tls-key "$work/tls.key" ${THREADS:+--threads "$THREADS"}
wait_for_port webhook
base="https://127.0.0.1:$port"

# One request first: the load must be measuring a patch, not an error.
answer=$(curl -sk --fail-with-body -H 'Content-Type: application/json' --data-binary @"$work/review.json" "$base/mutate")
grep -q '"patch"' <<<"$answer" || { echo "$0: /mutate answered without a patch: $answer" >&2; exit 1; }
if [ -n "${ECHO:-}" ]; then
  "${pin[@]}" "$bare_binary" --seconds 3600 >"$work/bare.url" &
  also_stop+=($!)
  for _ in $(seq 50); do [ -s "$work/bare.url" ] && break; sleep 0.1; done
  bare_base=$(head -1 "$work/bare.url")
  [ -n "$bare_base" ] || { echo "$0: mpshare-bare-server did not start" >&2; exit 1; }
fi
echo "body: $fixture, $(wc -c <"$work/review.json") bytes; answer: $(printf %s "$answer" | wc -c) bytes with a JSON Patch"

for round in $(seq "$runs"); do
  for endpoint in "${endpoints[@]}"; do
    body=-
    url="$base/$endpoint"
    [ "$endpoint" != healthz ] && body="$work/review.json"
    [ "$endpoint" = echo ] && url="$bare_base/echo"
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$("${pin[@]}" "$here/wrk/run.sh" "$url" "$body" "$duration" | grep '^summary:')
    echo "$endpoint round=$round load1=$load ${line#summary: }" | tee -a "$work/results"
  done
done

# Median round by req/s, per endpoint (with that round's latencies).
echo "== median of $runs rounds (wrk -t2 -c16 -d$duration, TLS, keep-alive)"
for endpoint in "${endpoints[@]}"; do
  grep "^$endpoint " "$work/results" |
    sed 's/.*req\/s=\([0-9]*\).*/\1 &/' | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { $1 = ""; print substr($0, 2) }'
done
