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
#   tests/bench/run_benchmarks.sh compare      movierec-server against a
#                                              plain gRPC server's empty call
#   tests/bench/run_benchmarks.sh catalogue    Recommend through gRPC on
#                                              default models of synthetic
#                                              catalogues up to 1M movies,
#                                              against the empty call (not
#                                              in "every section": about
#                                              an hour cold, models cached)
#   tests/bench/run_benchmarks.sh scale        movierec-train end to end on
#                                              synthetic 100K, 1M and 25M
#                                              sets (not in "every section":
#                                              about 35 minutes)
#   tests/bench/run_benchmarks.sh --allow-dirty ...  run from a tree with
#                                              uncommitted changes (refused
#                                              otherwise); every generated
#                                              block then says so in bold
#
# Every generated block opens with the code it ran and the load average
# (1, 5, 15 min) before and after its section's benchmarks.
#
# Sections: machine, index, train, startup, serving, overload, transport,
# compare, catalogue, scale. To add one,
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
#   OVERLOAD_SERVER_CPU_QUOTA  overload: run each server under a CPU quota
#                         of this fraction of its core (cgroup; default 0,
#                         none)
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
#   COMPARE_SERVER_FLAGS  compare: more flags of movierec-server (default
#                         "--max_queue_wait 1s": the sweep measures what a
#                         call costs at the most calls in flight, which a
#                         batch of 100 would otherwise meet as refusals)
#   COMPARE_SECONDS       compare: seconds of each closed-loop level (5)
#   COMPARE_WARMUP_SECONDS  compare: warm-up before each level (1)
#   COMPARE_REPETITIONS   compare: repetitions of the whole sweep (3)
#   COMPARE_CONCURRENCIES compare: the sweep, until QPS stops rising
#                         (default 1,2,4,...,256)
#   COMPARE_METHODS       compare: Recommend,SimilarMovies,RecommendBatch
#   COMPARE_BATCH_SIZE    compare: requests per RecommendBatch (100)
#   COMPARE_PAYLOAD       compare: 1 adds the plain server answering a fixed
#                         ten-movie response
#   COMPARE_SERVER_CPU, COMPARE_LOADGEN_CPU  compare: the cores the servers
#                         and movierec-loadgen are pinned to (0 and 1)
#   COMPARE_MODEL_BASE    compare: the model base movierec-server serves
#                         (default: the real model)
#   COMPARE_BASELINE_SERVER  compare: another movierec-server binary (e.g.
#                         main's) run beside this tree's, named "main"
#   CATALOGUE_SIZES       catalogue: the catalogue sizes (default
#                         1682,10000,100000,1000000)
#   CATALOGUE_RETRAIN     catalogue: 1 trains every model again (default:
#                         kept while the trainer's commit is the same)
#   SCALE_SHAPES          scale: the synthetic sets, smallest first (default
#                         ml-100k,ml-1m,ml-25m; the last is served)
set -euo pipefail
cd "$(dirname "$0")/../.."

all_sections=(index train startup serving transport compare)
allow_dirty=0
sections=()
for arg in "$@"; do
  case $arg in
    --allow-dirty) allow_dirty=1 ;;
    -*) echo "unknown option $arg (known: --allow-dirty)" >&2; exit 2 ;;
    *) sections+=("$arg") ;;
  esac
done
((${#sections[@]})) || sections=("${all_sections[@]}")

# A run from a tree with uncommitted changes measures code no commit holds:
# refused unless --allow-dirty, and then marked in every block. What the
# benchmarks themselves write does not count.
code=$(git describe --always --tags)
dirty=()
if [[ -n $(git status --porcelain -- . ':!tests/bench/results' \
  ':!tests/bench/plots' ':!tests/bench/BENCHMARKS.md') ]]; then
  if ((!allow_dirty)); then
    echo "the tree has uncommitted changes (git status): commit them, or" \
      "pass --allow-dirty to run anyway (every block is then marked)" >&2
    exit 2
  fi
  code+="-dirty"
  dirty=(--dirty)
fi
# OpenBLAS picks its kernels for the CPU unless this forces others (the
# machine block names the ones used).
if [[ -n ${OPENBLAS_CORETYPE:-} ]]; then
  echo "run_benchmarks: warning: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE forces" \
    "OpenBLAS's kernels; unset it to let OpenBLAS detect this CPU" >&2
fi
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(loadavg)
# report.py SUBCOMMAND ...: fills a block, stamped with the code and the
# load average before the section ($load_before) and now.
report() {
  local command=$1
  shift
  python3 tests/bench/report.py "$command" --code "$code" "${dirty[@]}" \
    --load_before "$load_before" --load_after "$(loadavg)" "$@"
}

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
  [machine]="index_bench"
  [index]="index_bench"
  [train]="train_bench movierec-train"
  [startup]="load_bench synthetic_model movierec-train"
  [serving]="serving_bench movierec-train"
  [overload]="movierec-server movierec-loadgen movierec-train synthetic_model"
  [transport]="movierec-server movierec-loadgen movierec-train"
  [compare]="movierec-server movierec-loadgen empty_server movierec-train"
  [catalogue]="movierec-server movierec-loadgen empty_server movierec-train synthetic_dataset"
  [scale]="movierec-train movierec-server movierec-client synthetic_dataset"
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

# What the run is on: CPU and its theoretical peak, compiler and the
# build's real flags, the BLAS the benchmark binaries load (report.py).
section_machine() {
  report machine --doc "$doc" --build_dir "$build_dir" \
    --blas_binary "$bin/index_bench"
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
  report index --doc "$doc" \
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
  log "train_bench: Eigen's and the BLAS's GEMM peaks beside the tfrs preset's epochs"
  "$bin/train_bench" \
    --benchmark_filter='BM_EigenGemmPeak|BM_BlasGemmPeak|BM_SoftmaxInBatch|BM_TfrsRetrievalEpochs' \
    --benchmark_repetitions="${TRAIN_REPETITIONS:-3}" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/train_bench.json" --benchmark_out_format=json
  log "train_bench: scale test (10M interactions)"
  "$bin/train_bench" --benchmark_filter=BM_ScaleSampledSoftmaxEpoch \
    --benchmark_out="$results/train_scale.json" --benchmark_out_format=json
  cp "$real/1/metrics.json" "$results/default_preset_metrics.json"
  local max_mhz
  max_mhz=$(lscpu | sed -n 's/^CPU max MHz: *//p')
  report train --doc "$doc" \
    --json "$results/train_bench.json" --scale_json "$results/train_scale.json" \
    --metrics "$results/default_preset_metrics.json" --cpuinfo /proc/cpuinfo \
    ${max_mhz:+--max_mhz "$max_mhz"}
}

# Training at scale: movierec-train's default preset on synthetic sets of
# the shapes of MovieLens 100K, 1M and 25M, each stage timed and metered,
# then the largest version served and asked for a user's top 10
# (tests/bench/scale_bench.py). The data sets are written once into the
# cache (about 700 MB for 25M).
section_scale() {
  python3 "$bench/scale_bench.py" --bin "$bin" \
    --shapes "${SCALE_SHAPES:-ml-100k,ml-1m,ml-25m}" \
    --data_cache "$cache/scale-data" --work "$cache/scale-work" \
    --json "$results/scale.json"
  report scale --doc "$doc" --json "$results/scale.json" \
    --plots "$bench/plots" --work "$cache/plot-data"
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
  report startup --doc "$doc" --runs "$results/startup.jsonl"
}

# Recommend against an empty RPC in one server (serving_bench), on the real
# model: max QPS (closed loop), then latency at fractions of it (open loop).
section_serving() {
  local real
  real=$(real_model)
  log "serving_bench on $real"
  "$build_dir/tests/bench/serving_bench" --model_base="$real" --duration=2s \
    --repetitions="$repetitions" --json="$results/serving.json"
  report serving --doc "$doc" --json "$results/serving.json" \
    --plots "$bench/plots" --work "$cache/plot-data" --date "$(date -u +%F)"
}

# The overload curve: a baseline server ($BASELINE_SERVER) and this tree's,
# one after the other, each pinned to one core with movierec-loadgen on
# another: the closed-loop maximum, then open-loop load at 0.5x to 3x of it
# (tests/bench/overload_bench.py). Twice: on a catalogue of 300,000 movies
# searched exactly, where a call's own work (milliseconds) outweighs what
# gRPC spends on it and the generator's one core can offer 3x the server's
# maximum; and on the real model, where a call costs about as much as the
# generator spends sending it, so it cannot offer much past 1x. Without the
# result cache: every call computed, as the baseline's are.
run_overload() {
  local section=$1 model=$2 budget=$3
  log "overload ($section): $BASELINE_SERVER against $bin/movierec-server on $model"
  python3 $bench/overload_bench.py \
    --server baseline="$BASELINE_SERVER" --server new="$bin/movierec-server" \
    --server_flags "new=--max_queue_wait $budget --result_cache 0" \
    --levels_from baseline \
    --loadgen "$bin/movierec-loadgen" --model_base "$model" \
    --server_cpus "${OVERLOAD_SERVER_CPU:-0}" \
    --loadgen_cpus "${OVERLOAD_LOADGEN_CPU:-1}" \
    --level_seconds "${OVERLOAD_SECONDS:-30}" \
    --closed_seconds "${OVERLOAD_CLOSED_SECONDS:-10}" \
    --warmup_seconds "${OVERLOAD_WARMUP_SECONDS:-1}" \
    --max_send_lag_ms "${OVERLOAD_MAX_SEND_LAG_MS:-1}" \
    --server_cpu_quota "${OVERLOAD_SERVER_CPU_QUOTA:-0}" \
    --concurrencies "${OVERLOAD_CONCURRENCIES:-1,2,4,8,16,32,64,128}" \
    --json "$results/$section.json" --work "$cache/$section-work"
  report overload --doc "$doc" --section "$section" \
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
  report transport --doc "$doc" \
    --json "$results/transport.json"
}

# movierec-server against the floor of a unary gRPC call, each in its own
# process on one core, movierec-loadgen on another: per method, the
# concurrency doubling until QPS stops rising, the servers taking turns at
# each level; QPS, p50/p99 and the server's CPU per call side by side
# (tests/bench/serving_compare.py).
section_compare() {
  local model_base=${COMPARE_MODEL_BASE:-}
  [[ -n $model_base ]] || model_base=$(real_model)
  local payload=() baseline=()
  [[ ${COMPARE_PAYLOAD:-0} == 1 ]] && payload=(--payload)
  [[ -n ${COMPARE_BASELINE_SERVER:-} ]] &&
    baseline=(--server "main=$COMPARE_BASELINE_SERVER")
  log "compare: movierec-server against empty_server on $model_base"
  python3 $bench/serving_compare.py \
    --empty_server "$bin/empty_server" "${baseline[@]}" \
    --server "$bin/movierec-server" \
    --server "uncached=$bin/movierec-server --result_cache 0" \
    --loadgen "$bin/movierec-loadgen" --model_base "$model_base" \
    --server_cpus "${COMPARE_SERVER_CPU:-0}" \
    --loadgen_cpus "${COMPARE_LOADGEN_CPU:-1}" \
    --level_seconds "${COMPARE_SECONDS:-5}" \
    --warmup_seconds "${COMPARE_WARMUP_SECONDS:-1}" \
    --repetitions "${COMPARE_REPETITIONS:-3}" \
    --concurrencies "${COMPARE_CONCURRENCIES:-1,2,4,8,16,32,64,128,256}" \
    --methods "${COMPARE_METHODS:-Recommend,SimilarMovies,RecommendBatch}" \
    --batch_size "${COMPARE_BATCH_SIZE:-100}" "${payload[@]}" \
    --server_flags "${COMPARE_SERVER_FLAGS:---max_queue_wait 1s}" \
    --json "$results/compare.json" --work "$cache/compare-work"
  report compare --doc "$doc" --json "$results/compare.json"
}

# Recommend through gRPC as the catalogue grows (issue 19, item 3):
# catalogue_bench.py trains (or reuses) a default model per size and
# measures it against the empty call, then at half load.
section_catalogue() {
  local retrain=()
  [[ ${CATALOGUE_RETRAIN:-0} == 1 ]] && retrain=(--retrain)
  python3 $bench/catalogue_bench.py --bin "$bin" "${retrain[@]}" \
    --code "$code" \
    --sizes "${CATALOGUE_SIZES:-1682,10000,100000,1000000}" \
    --data_cache "$cache/catalogue" --work "$cache/catalogue-work" \
    --repetitions "$repetitions" --json "$results/catalogue.json"
  report catalogue --doc "$doc" --json "$results/catalogue.json" \
    --plots "$bench/plots" --work "$cache/plot-data"
}

for section in "${sections[@]}"; do
  if ! declare -F "section_$section" >/dev/null; then
    echo "unknown section \"$section\"; known: ${all_sections[*]} overload catalogue scale" >&2
    exit 2
  fi
done
section_machine
for section in "${sections[@]}"; do
  load_before=$(loadavg)
  "section_$section"
done
log "updated $doc"
