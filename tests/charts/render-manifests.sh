#!/usr/bin/env bash
# Regenerates the plain manifests under manifests/ (install/, webhook/, scheduler/)
# with `helm template` of charts/mpshare and manifests/install-values.yaml. Uses the
# helm that ./build.sh installs into .tools/ (or MPSHARE_HELM).
#   tests/charts/render-manifests.sh           write them
#   tests/charts/render-manifests.sh --check   exit 1 naming each file that is stale
set -euo pipefail
exec node "$(cd "${0%/*}" && pwd)/render_manifests.mjs" "$@"
