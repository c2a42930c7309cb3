#!/usr/bin/env bash
# Regenerates tests/bench/BENCHMARKS.md: builds the benchmark binaries, runs
# them, fills the blocks between its "GENERATED" markers and redraws the
# plots in tests/bench/plots/. Raw results go to tests/bench/results/.
#
#   tests/bench/run_benchmarks.sh              every section
#   tests/bench/run_benchmarks.sh startup      only some (machine always runs)
#
# Sections: machine, index, train, startup, serving. To add one, write a section_<name>
# function below that runs its benchmark into "$results" and fills its block
# of BENCHMARKS.md (report.py <name>, or its own generator), and add <name>
# to all_sections.
#
# The first full run builds IVF indexes over a million vectors, HNSW graphs
# over 100,000, and trains the real model: at most 45 minutes on the 2-core
# benchmark machine. Later runs reuse them from the cache (about 15 minutes).
#
# Environment:
#   BUILD_DIR             build directory (default build, Release)
#   JOBS                  build jobs (default 2)
#   MOVIEREC_BENCH_CACHE  built indexes, exact results, models (default
#                         ~/.cache/movierec-bench; never the repository)
#   MOVIELENS_DIR         MovieLens 100K, for the real model (default
#                         ../shared/data/ml-100k beside the checkout)
#   REPETITIONS           repetitions per benchmark (default 3); tables
#                         show medians
#   MIN_TIME              seconds per repetition (default 0.2)
#   TRAIN_REPETITIONS     repetitions of the training benchmarks (default 3)
#   INDEX_BENCH_ARGS      extra index_bench flags, e.g. "--sizes=10000"
#   STARTUP_INDEX_KIND    index saved with the synthetic 1M model (default
#                         ivf)
set -euo pipefail
cd "$(dirname "$0")/../.."

all_sections=(index train startup serving)
sections=("$@")
((${#sections[@]})) || sections=("${all_sections[@]}")

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-2}
cache=${MOVIEREC_BENCH_CACHE:-$HOME/.cache/movierec-bench}
repetitions=${REPETITIONS:-3}
min_time=${MIN_TIME:-0.2}
bench=tests/bench
doc=$bench/BENCHMARKS.md
results=$bench/results
bin=$build_dir/bin
mkdir -p "$cache" "$results" "$bench/plots"

log() { echo "run_benchmarks: $*" >&2; }

# gnuplot draws the plots; install it (Debian gnuplot-nox) when missing.
if ! command -v gnuplot >/dev/null; then
  log "installing gnuplot-nox"
  as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  "${as_root[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q \
    --no-install-recommends gnuplot-nox
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$jobs" --target index_bench synthetic_model \
  load_bench train_bench serving_bench movierec-train

section_machine() {
  {
    echo "CPU:       $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "           AVX2: $(grep -qw avx2 /proc/cpuinfo && echo yes || echo no)," \
      "AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
    echo "Memory:    $(free -g | awk '/^Mem:/ {print $2}') GB"
    echo "OS:        $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release), kernel $(uname -r)"
    echo "Compiler:  $(c++ --version | head -1), -O3 -march=native (Release)"
    echo "FAISS:     libfaiss-dev $(dpkg-query -W -f='${Version}' libfaiss-dev)" \
      "(static, generic x86-64 build), BLAS: $(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo ?)"
    echo "Benchmark: libbenchmark-dev $(dpkg-query -W -f='${Version}' libbenchmark-dev)"
    echo "Code:      $(git describe --always --dirty --tags)"
    echo "Load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) when the run began"
  } >"$results/machine.txt"
  python3 $bench/report.py machine --doc "$doc" --info "$results/machine.txt"
}

section_index() {
  log "index_bench (built indexes cached in $cache)"
  # shellcheck disable=SC2086  # INDEX_BENCH_ARGS is a list of flags
  "$bin/index_bench" --cache_dir="$cache" \
    --benchmark_repetitions="$repetitions" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$min_time" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/index_bench.json" \
    --benchmark_out_format=json ${INDEX_BENCH_ARGS:-}
  python3 $bench/report.py index --doc "$doc" \
    --json "$results/index_bench.json" --plots "$bench/plots" \
    --work "$cache/plot-data" --repetitions "$repetitions"
}

# The default preset trained on MovieLens 100K, once (cached): the start-up
# section loads it, the training section reads its metrics.json.
real_model() {
  local movielens=${MOVIELENS_DIR:-../shared/data/ml-100k}
  local real=$cache/models-real
  if [[ ! -d $real/1 ]]; then
    log "training the real model (default preset) on $movielens"
    "$bin/movierec-train" --data_dir="$movielens" --model_base="$real" >/dev/null
  fi
  echo "$real"
}

section_train() {
  local real
  real=$(real_model)
  log "train_bench: Eigen GEMM peak beside the tfrs preset's epochs"
  "$bin/train_bench" \
    --benchmark_filter='BM_EigenGemmPeak|BM_SoftmaxInBatch|BM_TfrsRetrievalEpochs' \
    --benchmark_repetitions="${TRAIN_REPETITIONS:-3}" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/train_bench.json" --benchmark_out_format=json
  log "train_bench: scale test (10M interactions)"
  "$bin/train_bench" --benchmark_filter=BM_ScaleSampledSoftmaxEpoch \
    --benchmark_out="$results/train_scale.json" --benchmark_out_format=json
  cp "$real/1/metrics.json" "$results/default_preset_metrics.json"
  python3 $bench/report.py train --doc "$doc" \
    --json "$results/train_bench.json" --scale_json "$results/train_scale.json" \
    --metrics "$results/default_preset_metrics.json"
}

# load_bench on `model_base` $repetitions times, each a fresh process; one
# JSON line per run, named `name`.
load_runs() {
  local name=$1 model_base=$2
  for ((i = 0; i < repetitions; i++)); do
    "$bin/load_bench" --model_base="$model_base" |
      sed "s/^{/{\"name\": \"$name\", /"
  done
}

section_startup() {
  local real synthetic
  local kind=${STARTUP_INDEX_KIND:-ivf}
  real=$(real_model)
  synthetic=$cache/models-synthetic-1M-$kind
  if [[ ! -d $synthetic/1 ]]; then
    log "writing a synthetic 1M-movie model with a saved $kind index"
    "$bin/synthetic_model" --model_base="$synthetic" --movies=1000000 \
      --users=100000 --index_kind="$kind" >/dev/null
  fi
  {
    load_runs "MovieLens 100K (default preset)" "$real"
    load_runs "synthetic, 1M movies" "$synthetic"
  } >"$results/startup.jsonl"
  python3 $bench/report.py startup --doc "$doc" --runs "$results/startup.jsonl"
}

# Recommend against an empty RPC in one server (serving_bench), on the real
# model: max QPS (closed loop), then latency at fractions of it (open loop).
section_serving() {
  local real
  real=$(real_model)
  log "serving_bench on $real"
  "$build_dir/tests/bench/serving_bench" --model_base="$real" --duration=2s \
    --repetitions="$repetitions" --json="$results/serving.json"
  python3 $bench/report.py serving --doc "$doc" --json "$results/serving.json" \
    --plots "$bench/plots" --work "$cache/plot-data" --date "$(date -u +%F)"
}

section_machine
for section in "${sections[@]}"; do
  if ! declare -F "section_$section" >/dev/null; then
    echo "unknown section \"$section\"; known: ${all_sections[*]}" >&2
    exit 2
  fi
  "section_$section"
done
log "updated $doc"
