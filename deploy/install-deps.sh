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
  libspdlog-dev nlohmann-json3-dev zlib1g-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev
  # The trainer's LambdaMART reranker fits its trees with XGBoost.
  libxgboost-dev
  # FAISS calls libblas.so.3; Debian's OpenBLAS takes it over from the
  # reference BLAS through the alternatives system (libblas.so.3 and
  # liblapack.so.3 point to openblas-pthread/): several times faster for
  # the k-means of IVF training and for FAISS's batched searches
  # (docs/benchmarks.md, "The BLAS").
  libopenblas0-pthread
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libbenchmark-dev)
  # tests/client/curl_api_test.py runs docs/api.md's curl commands (curl is
  # in the build packages above too).
  packages+=(curl)
  # tests/deploy and tests/client: promtool, Python with YAML and gRPC (the
  # Python client and the stand-in for grpcurl), gRPC's health and
  # reflection .proto files. tests/e2e/prometheus_test.cc: a real Prometheus
  # scraping a live server.
  packages+=(prometheus python3 python3-yaml python3-grpcio python3-grpc-tools
    python3-protobuf grpc-proto)
  # tests/client/python_client_test.py installs the Python client package
  # (client/python) offline into a venv: pip, venv, and the build backend.
  packages+=(python3-pip python3-venv python3-setuptools python3-wheel)
  # tests/server/tls_test.cc makes its certificates with openssl; the
  # sanitizer and fuzzing modes of tests/run.sh build with clang and its
  # runtime libraries (libFuzzer, ASan, UBSan, TSan).
  packages+=(openssl clang libclang-rt-14-dev libomp-14-dev)
  # tests/client/demo_browser_test.py drives the demo page in headless
  # Chromium through the DevTools Protocol (python3-websocket).
  packages+=(chromium python3-websocket)
  # The bench_smoke tests (tests/bench/loadgen_smoke.sh) draw the
  # BENCHMARKS plots through report.py, which calls gnuplot.
  packages+=(gnuplot-nox)
  if ! command -v kubectl >/dev/null; then
    echo "warning: kubectl is not on PATH (it is no Debian package): the" \
      "Kubernetes manifest tests will fail until it is installed" >&2
  fi
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
