#!/usr/bin/env bash
# Builds movierec and runs its whole ctest suite.
#
#   tests/run.sh            install missing Debian packages, build into
#                           build/, run every test
#
# Tests that need the real MovieLens 100K run when MOVIELENS_DIR is set.
# Environment: BUILD_DIR (default build), JOBS (default: cores).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh --test

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs"

if [[ -n "${MOVIELENS_DIR:-}" ]]; then
  export MOVIELENS_DIR=$(cd "$MOVIELENS_DIR" && pwd)
  echo "MOVIELENS_DIR=$MOVIELENS_DIR: the real-data tests run" >&2
else
  echo "MOVIELENS_DIR is not set: the real-data tests are skipped" >&2
fi
cd "$build_dir"
ctest --output-on-failure -j "$jobs" --timeout 1200
