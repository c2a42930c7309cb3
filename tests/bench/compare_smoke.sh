#!/bin/bash
# A seconds-long run of serving_compare.py (movierec-server, with and
# without its result cache, against empty_server, movierec-loadgen driving
# them) on a MovieLens-sized synthetic model, then its report.py block:
# proves the harness runs end to end and yields numbers (which mean nothing
# at this length).
# Usage: compare_smoke.sh EMPTY_SERVER SERVER LOADGEN SERVING_BENCH WORK_DIR
set -euo pipefail
empty=$1 server=$2 loadgen=$3 bench=$4 work=$5
here=$(dirname "$0")
rm -rf "$work" && mkdir -p "$work"
"$bench" --write_synthetic_model "$work/models" 2>/dev/null
cpus=$(nproc)
python3 "$here/serving_compare.py" --empty_server "$empty" --server "$server" \
  --server "uncached=$server --result_cache 0" --loadgen "$loadgen" \
  --model_base "$work/models" \
  --json "$work/compare.json" --work "$work/runs" --payload \
  --level_seconds 0.2 --warmup_seconds 0.05 --concurrencies 1,2 \
  --repetitions 1 --batch_size 10 \
  --server_cpus 0 --loadgen_cpus "$((cpus > 1 ? 1 : 0))"
cp "$here/BENCHMARKS.md" "$work/BENCHMARKS.md"
python3 "$here/report.py" compare --doc "$work/BENCHMARKS.md" \
  --json "$work/compare.json" --code smoke --load_before "0 0 0"
block=$(sed -n '/BEGIN GENERATED compare/,/END GENERATED compare/p' \
  "$work/BENCHMARKS.md")
# A row per method and server, each with a CPU figure and the ratios.
for method in "Recommend" "SimilarMovies" "RecommendBatch of 10"; do
  for server in "empty call" "payload" "movierec-server" \
    "movierec-server, no result cache"; do
    grep -qE "^\| $method \| $server[^|]*\| [0-9,]+ \| [12]/?[12]? \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.,]+ .*\| [0-9.]+x \| [0-9.]+x \| - \|$" \
      <<<"$block" || { echo "no numbers for $method on $server:"; \
        echo "$block"; exit 1; }
  done
done
grep -q "Recommend's server CPU per call is \*\*" <<<"$block"
grep -q "no result cache: Recommend's server CPU per call is" <<<"$block"
grep -q "run with \`--result_cache 0\`" <<<"$block"
grep -q "costs \*\*[0-9.]*x\*\* a single Recommend's server CPU" <<<"$block"
grep -qE "^Code smoke on .+, [0-9]+ cores; load average" <<<"$block"
echo "compare smoke: OK"
