#!/usr/bin/env bash
# Builds movierec and runs its whole ctest suite.
#
#   tests/run.sh            install missing Debian packages, build into
#                           build/, run every test
#   tests/run.sh --asan     clang build with AddressSanitizer,
#                           UndefinedBehaviorSanitizer, LeakSanitizer (and
#                           libFuzzer's coverage) into build-asan/: the whole
#                           ctest suite (soak, kill, benchmark-smoke and
#                           deploy tests included) except the real-data
#                           training tests (label real_data, see below), then
#                           every fuzz target for FUZZ_SECONDS (default 30)
#                           each, JOBS targets side by side
#   tests/run.sh --tsan     clang build with ThreadSanitizer into build-tsan/:
#                           the server tests (the concurrent ones)
#   tests/run.sh --fuzz     only the fuzz targets, from build-asan/
#
# Tests that need the real MovieLens 100K (label real_data) run when
# MOVIELENS_DIR is set, in the plain mode only: they are full trainings
# (about 90 s each in the Release build), and a sanitized, -O1 training of
# MovieLens 100K runs at about 150 examples/s (measured on 2 cores), i.e.
# hours for one seed; the same training, evaluation and serving code runs
# under the sanitizers in the unit tests on small data. (Locally,
# MOVIEREC_QUALITY_SEEDS=42 makes the quality test train one seed.)
# Environment: BUILD_DIR (default by mode), JOBS (default: cores),
# FUZZ_SECONDS, MOVIEREC_SOAK_SECONDS (the soak test's load, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd)

mode=${1:-}
case "$mode" in
  "" | --asan | --tsan | --fuzz) ;;
  *)
    echo "usage: tests/run.sh [--asan | --tsan | --fuzz]" >&2
    exit 2
    ;;
esac

deploy/install-deps.sh --test
jobs=${JOBS:-$(nproc)}

# Runs every fuzz target of build dir $1 for FUZZ_SECONDS on a copy of its
# seed corpus (tests/fuzz/corpus/<target>), $jobs targets side by side, and
# prints libFuzzer's final statistics. A crash, a sanitizer report or a
# failed property exits non-zero and keeps the input that did it.
fuzz_one() {
  local build=$1 work=$2 target=$3 seconds=$4
  mkdir -p "$work/$target"
  cp "$source_dir/tests/fuzz/corpus/$target"/* "$work/$target/"
  echo "fuzzing $target for ${seconds}s" >&2
  "$build/fuzz/${target}_fuzz" -max_total_time="$seconds" \
    -print_final_stats=1 -max_len=65536 -rss_limit_mb=4096 \
    -artifact_prefix="$work/$target-" "$work/$target" >"$work/$target.log" 2>&1
}

run_fuzzers() {
  local build=$1 seconds=${FUZZ_SECONDS:-30}
  local work target failed=0
  local targets=(movielens_ratings movielens_item movielens_user
    movielens_genre movielens_1m movielens_10m movielens_csv generic_format
    bundle recommend http)
  local -A pids=()
  work=$(mktemp -d)
  for target in "${targets[@]}"; do
    # At most $jobs at once.
    while (($(jobs -rp | wc -l) >= jobs)); do sleep 1; done
    fuzz_one "$build" "$work" "$target" "$seconds" &
    pids[$target]=$!
  done
  for target in "${targets[@]}"; do
    if ! wait "${pids[$target]}"; then
      tail -n 60 "$work/$target.log" >&2
      echo "error: fuzz target $target failed; its input is in $work" >&2
      failed=1
      continue
    fi
    # The last status line (execs, cov, ft, corpus) and the final statistics.
    { grep -E '^#[0-9]+' "$work/$target.log" || true; } | tail -n 1 |
      sed "s/^/$target: /"
    { grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
      "$work/$target.log" || true; } | sed "s/^/$target: /"
  done
  ((failed == 0)) || return 1
  rm -rf "$work"
}

# A clang build tree without -march=native (sanitizer builds are for checking,
# and the CI machine need not match) at -O1: readable reports, every access
# checked, cheaper to build than -O2.
configure_clang() {
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DMOVIEREC_NATIVE=OFF "${@:2}"
}

case "$mode" in
  "")
    build_dir=${BUILD_DIR:-build}
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
    ;;
  --asan | --fuzz)
    # One tree serves the sanitized suite and the fuzz targets: MOVIEREC_FUZZ
    # instruments all code with ASan, UBSan and libFuzzer's coverage.
    build_dir=${BUILD_DIR:-build-asan}
    configure_clang "$build_dir" -DMOVIEREC_FUZZ=ON
    if [[ "$mode" == --asan ]]; then
      cmake --build "$build_dir" -j "$jobs"
      # Debian's gRPC, protobuf and FAISS are not instrumented: their own
      # accesses go unchecked, ours into and out of them are checked. The
      # options reach the servers the tests start as child processes too.
      # LeakSanitizer runs at every exit; tests/lsan.supp names the few
      # leaks inside Debian's libraries, each with its reason.
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      export LSAN_OPTIONS="suppressions=$source_dir/tests/lsan.supp:print_suppressions=0"
      (cd "$build_dir" &&
        ctest --output-on-failure -j "$jobs" --timeout 1200 -LE real_data)
    else
      cmake --build "$build_dir" -j "$jobs" --target fuzzers
    fi
    run_fuzzers "$build_dir"
    ;;
  --tsan)
    build_dir=${BUILD_DIR:-build-tsan}
    configure_clang "$build_dir" -DMOVIEREC_SANITIZE=thread
    # The tests of server/ that run threads: the worker pool, the model
    # manager's poller and swaps, the result cache's concurrent keeps, the
    # gRPC server's calls, deadlines, cancellations and shutdown.
    tsan_tests=(worker_pool_test model_manager_test model_rollout_test
      result_cache_test grpc_server_test lifecycle_test tls_test fault_test)
    cmake --build "$build_dir" -j "$jobs" --target "${tsan_tests[@]}"
    # ignore_noninstrumented_modules: OpenMP's runtime (libomp, which FAISS and
    # Eigen use) is not instrumented; TSan itself asks for this.
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$source_dir/tests/tsan.supp"
    # Each binary whole (ctest knows the cases, not the binaries).
    for t in "${tsan_tests[@]}"; do
      echo "ThreadSanitizer: $t" >&2
      "$build_dir/tests/bin/$t" --gtest_brief=1
    done
    ;;
esac
