#!/usr/bin/env bash
# mpshare's one entry point for a fresh Debian 12 machine:
#   ./build.sh demo    install what is missing, build, run the end-to-end demo on 127.0.0.1
#   ./build.sh test    install what is missing, build, run the whole test suite
#   ./build.sh build   install and build only
# Environment: BUILD_DIR (default build), MPSHARE_WERROR=ON to fail on warnings.
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
PACKAGES=(
  build-essential cmake ninja-build pkg-config openssl ca-certificates
  libcpprest-dev libboost-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus wrk gnuplot-nox python3 curl
  golang-go golang-github-masterminds-sprig-dev
)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "Installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
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
    build
    cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" "${@:2}"
    ;;
  build)
    install_missing
    build
    ;;
  *)
    echo "usage: $0 demo|test|build" >&2
    exit 2
    ;;
esac
