#!/usr/bin/env bash
# Regenerates tests/bench/BENCHMARKS.md: builds the benchmark binaries, runs
# them, fills the blocks between its "GENERATED" markers and redraws the
# plots in tests/bench/plots/. Raw results go to tests/bench/results/.
#
#   tests/bench/run_benchmarks.sh              every section
#   tests/bench/run_benchmarks.sh startup      only some (machine always runs)
#   BASELINE_SERVER=/work/wt-baseline/build/bin/movierec-server \
#     tests/bench/run_benchmarks.sh overload   the overload curve (not in
#                                              "every section": it needs a
#                                              baseline server binary)
#   tests/bench/run_benchmarks.sh transport    gRPC against HTTP/JSON
#
# Sections: machine, index, train, startup, serving, overload, transport. To add one,
# write a section_<name> function below that runs its benchmark into
# "$results" and fills its block of BENCHMARKS.md (report.py <name>, or its
# own generator), add <name> to all_sections and its binaries to
# section_targets.
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
#   BASELINE_SERVER       overload: the movierec-server binary this tree's
#                         is compared with (see docs/benchmarks.md, "The
#                         overload curve", for how to build it)
#   OVERLOAD_SECONDS      overload: seconds of each open-loop level
#                         (default 30)
#   OVERLOAD_CLOSED_SECONDS  overload: seconds of each closed-loop run
#                         (default 10)
#   OVERLOAD_WARMUP_SECONDS  overload: warm-up before each run (default 1)
#   OVERLOAD_MAX_SEND_LAG_MS  overload: calls movierec-loadgen cannot send
#                         within this of their schedule are skipped, not
#                         sent late (default 1)
#   OVERLOAD_CONCURRENCIES  overload: the closed loops' calls in flight
#                         (default 1,2,4,8,16,32,64,128: a server that
#                         refuses what it cannot start within its budget
#                         peaks at few in flight)
#   OVERLOAD_RUNS         overload: which models, of "overload_large
#                         overload" (default both)
#   OVERLOAD_SERVER_CPU, OVERLOAD_LOADGEN_CPU  overload: the cores the
#                         server and movierec-loadgen are pinned to
#                         (default 0 and 1)
#   TRANSPORT_SECONDS     transport: seconds of each closed-loop level
#                         (default 10)
#   TRANSPORT_WARMUP_SECONDS  transport: warm-up before each level (1)
#   TRANSPORT_CONCURRENCIES   transport: the sweep, until QPS stops rising
#                         (default 1,2,4,8,16,32,64,128)
#   TRANSPORT_SERVER_CPU, TRANSPORT_LOADGEN_CPU  transport: the cores the
#                         server and movierec-loadgen are pinned to
#                         (default 0 and 1)
#   TRANSPORT_MODEL_BASE  transport: the model base to serve (default: the
#                         real model, trained once from MOVIELENS_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."

all_sections=(index train startup serving transport)
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

# The overload section compares this tree's server with another binary.
if [[ " ${sections[*]} " == *" overload "* ]] &&
  [[ -z ${BASELINE_SERVER:-} || ! -x ${BASELINE_SERVER:-} ]]; then
  echo "overload: set BASELINE_SERVER to the baseline movierec-server" \
    "binary (docs/benchmarks.md, \"The overload curve\")" >&2
  exit 2
fi

# The binaries of the sections asked for, and no others.
declare -A section_targets=(
  [machine]=""
  [index]="index_bench"
  [train]="train_bench movierec-train"
  [startup]="load_bench synthetic_model movierec-train"
  [serving]="serving_bench movierec-train"
  [overload]="movierec-server movierec-loadgen movierec-train synthetic_model"
  [transport]="movierec-server movierec-loadgen movierec-train"
)
targets=()
for section in "${sections[@]}"; do
  # shellcheck disable=SC2206  # a list of target names
  targets+=(${section_targets[$section]:-})
done
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ((${#targets[@]})); then
  cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
fi

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

# The overload curve: a baseline server ($BASELINE_SERVER) and this tree's,
# one after the other, each pinned to one core with movierec-loadgen on
# another: the closed-loop maximum, then open-loop load at 0.5x to 3x of it
# (tests/bench/overload_bench.py). Twice: on a catalogue of 300,000 movies
# searched exactly, where a call's own work (milliseconds) outweighs what
# gRPC spends on it and the generator's one core can offer 3x the server's
# maximum; and on the real model, where a call costs about as much as the
# generator spends sending it, so it cannot offer much past 1x.
run_overload() {
  local section=$1 model=$2 budget=$3
  log "overload ($section): $BASELINE_SERVER against $bin/movierec-server on $model"
  python3 $bench/overload_bench.py \
    --server baseline="$BASELINE_SERVER" --server new="$bin/movierec-server" \
    --server_flags "new=--max_queue_wait $budget" --levels_from baseline \
    --loadgen "$bin/movierec-loadgen" --model_base "$model" \
    --server_cpus "${OVERLOAD_SERVER_CPU:-0}" \
    --loadgen_cpus "${OVERLOAD_LOADGEN_CPU:-1}" \
    --level_seconds "${OVERLOAD_SECONDS:-30}" \
    --closed_seconds "${OVERLOAD_CLOSED_SECONDS:-10}" \
    --warmup_seconds "${OVERLOAD_WARMUP_SECONDS:-1}" \
    --max_send_lag_ms "${OVERLOAD_MAX_SEND_LAG_MS:-1}" \
    --concurrencies "${OVERLOAD_CONCURRENCIES:-1,2,4,8,16,32,64,128}" \
    --json "$results/$section.json" --work "$cache/$section-work"
  python3 $bench/report.py overload --doc "$doc" --section "$section" \
    --json "$results/$section.json" --plots "$bench/plots" \
    --work "$cache/plot-data"
}

section_overload() {
  local large=$cache/models-synthetic-300k-flat
  if [[ ! -d $large/1 ]]; then
    log "writing a synthetic 300k-movie model searched exactly (flat)"
    "$bin/synthetic_model" --model_base="$large" --movies=300000 \
      --users=20000 --index_kind=flat >/dev/null
  fi
  # The queue-wait budget: what an operator whose callers can afford about
  # 20 ms of queueing (a few of this model's calls) would set.
  local runs=" ${OVERLOAD_RUNS:-overload_large overload} "
  [[ $runs == *" overload_large "* ]] && run_overload overload_large "$large" 20ms
  [[ $runs == *" overload "* ]] && run_overload overload "$(real_model)" 5ms
  return 0
}

# The same Recommend requests over gRPC and over HTTP/JSON, one server
# pinned to one core with movierec-loadgen on another: the closed-loop
# concurrency sweep until QPS stops rising, the transports taking turns at
# each level (tests/bench/transport_bench.py).
section_transport() {
  local model_base=${TRANSPORT_MODEL_BASE:-}
  [[ -n $model_base ]] || model_base=$(real_model)
  log "transport: gRPC against HTTP/JSON on $model_base"
  python3 $bench/transport_bench.py \
    --server "$bin/movierec-server" --loadgen "$bin/movierec-loadgen" \
    --model_base "$model_base" \
    --server_cpus "${TRANSPORT_SERVER_CPU:-0}" \
    --loadgen_cpus "${TRANSPORT_LOADGEN_CPU:-1}" \
    --level_seconds "${TRANSPORT_SECONDS:-10}" \
    --warmup_seconds "${TRANSPORT_WARMUP_SECONDS:-1}" \
    --concurrencies "${TRANSPORT_CONCURRENCIES:-1,2,4,8,16,32,64,128}" \
    --json "$results/transport.json" --work "$cache/transport-work"
  python3 $bench/report.py transport --doc "$doc" \
    --json "$results/transport.json"
}

section_machine
for section in "${sections[@]}"; do
  if ! declare -F "section_$section" >/dev/null; then
    echo "unknown section \"$section\"; known: ${all_sections[*]} overload" >&2
    exit 2
  fi
  "section_$section"
done
log "updated $doc"
