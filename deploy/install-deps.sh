#!/usr/bin/env bash
# Installs the Debian 12 packages movierec needs that are not installed yet.
#   deploy/install-deps.sh           build and run (quickstart)
#   deploy/install-deps.sh --test    also what the test suite needs
# Runs apt-get as root, or through sudo. Installs nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache git curl unzip
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libeigen3-dev libfaiss-dev prometheus-cpp-dev
  libspdlog-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libbenchmark-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing missing Debian packages: ${missing[*]}" >&2
as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "error: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
