#!/usr/bin/env bash
# Runs the offline chart renderer (render/) with Debian's Go packages, no network:
#   tests/charts/render.sh [render flags...]   e.g. charts/mpshare -f my-values.yaml
#   tests/charts/render.sh -write-manifests .  regenerate manifests/ from the chart
#   tests/charts/render.sh --test              the chart tests (CTest runs this)
# Exits 77 (CTest "skipped") when go or the sprig package is missing.
set -euo pipefail
here="$(cd "${0%/*}" && pwd)"
gopath=/usr/share/gocode
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: 'go' not found; install golang-go (build.sh does) to test the Helm chart" >&2
  exit 77
fi
if [ ! -d "$gopath/src/github.com/Masterminds/sprig" ] || [ ! -d "$gopath/src/gopkg.in/yaml.v3" ]; then
  echo "SKIP: $gopath lacks sprig or yaml.v3; install golang-github-masterminds-sprig-dev" >&2
  exit 77
fi
# GOPATH mode resolves imports from Debian's /usr/share/gocode, offline.
export GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOPROXY=off
export GOCACHE="${MPSHARE_GOCACHE:-${TMPDIR:-/tmp}/mpshare-gocache-$(id -u)}"
if [ "${1:-}" = "--test" ]; then
  cd "$here/render"
  exec go test -count=1 .
fi
bin="$GOCACHE/mpshare-chart-render"
mkdir -p "$GOCACHE"
(cd "$here/render" && go build -o "$bin" .)
exec "$bin" "$@"
