#!/bin/bash
# A seconds-long run of movierec-loadgen against movierec-server: both loops,
# known and unknown users, the JSON output, both transports (gRPC and
# HTTP/JSON); then a short run of the transport benchmark
# (transport_bench.py and its report.py table) and of the overload benchmark
# with and without the callers' throttle (overload_bench.py, its tables and
# plots). Fails on any error call in the plain runs.
# Usage: loadgen_smoke.sh LOADGEN SERVER SERVING_BENCH WORK_DIR
set -euo pipefail
loadgen=$1 server=$2 bench=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$bench" --write_synthetic_model "$work/models" 2>/dev/null
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
http_port=$(free_port)
"$server" --model_base "$work/models" --port "$port" --metrics_port -1 \
  --http_port "$http_port" \
  --worker_threads 2 --grace_period 100ms --max_queue_wait 10s \
  >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "serving model version" "$work/server.log" && break
  sleep 0.1
done
grep -q "serving model version" "$work/server.log" || {
  cat "$work/server.log"; echo "the server did not start"; exit 1; }
run() {
  "$loadgen" --target "127.0.0.1:$port" --model_dir "$work/models/1" \
    --duration 1s --warmup 200ms --unknown_user_share 0.3 "$@" | tee -a "$work/out.txt"
}
run --concurrency 4 --json "$work/closed.json"
run --rate 200 --method RecommendBatch --batch_size 4 --json "$work/open.json"
run --concurrency 4 --transport http --target "127.0.0.1:$http_port" \
  --json "$work/http.json"
grep -q '"mode": "closed"' "$work/closed.json"
grep -q '"mode": "open"' "$work/open.json"
grep -q '"mode": "closed"' "$work/http.json"
# Every run answered every call: "N sent, N ok, 0 errors" with N > 0 (the
# queue-wait budget of 10 s keeps a slow build, ASan on a busy machine, from
# refusing: this checks the mechanics, not the capacity).
test "$(grep -cE '^calls: +([1-9][0-9]*) sent, \1 ok, 0 errors' "$work/out.txt")" = 3
kill $server_pid && wait $server_pid 2>/dev/null || true
trap - EXIT

# The transport benchmark, on short levels (its figures mean nothing here).
here=$(dirname "$0")
cpus=$(nproc)
python3 "$here/transport_bench.py" --server "$server" --loadgen "$loadgen" \
  --model_base "$work/models" --json "$work/transport.json" \
  --work "$work/transport" --level_seconds 0.5 --warmup_seconds 0.2 \
  --concurrencies 1,2 --server_cpus 0 --loadgen_cpus "$((cpus > 1 ? 1 : 0))"
cp "$here/BENCHMARKS.md" "$work/BENCHMARKS.md"
python3 "$here/report.py" transport --doc "$work/BENCHMARKS.md" \
  --json "$work/transport.json"
grep -qE '^\| grpc \| 2 \| ' "$work/BENCHMARKS.md"
grep -qE '^\| http \| 2 \| ' "$work/BENCHMARKS.md"

# The overload benchmark, the same server driven by plain and by throttled
# callers (--loadgen_flags), on levels of a fraction of a second.
python3 "$here/overload_bench.py" --server new="$server" \
  --server new+throttle="$server" --loadgen_flags "new+throttle=--throttle_k 2" \
  --levels_from new --loadgen "$loadgen" --model_base "$work/models" \
  --json "$work/overload.json" --work "$work/overload" --level_seconds 0.5 \
  --closed_seconds 0.3 --warmup_seconds 0.2 --concurrencies 1,2 \
  --fractions 0.5,2 --server_cpus 0 --loadgen_cpus "$((cpus > 1 ? 1 : 0))"
python3 "$here/report.py" overload --doc "$work/BENCHMARKS.md" \
  --section overload --json "$work/overload.json" --plots "$work/plots" \
  --work "$work/plot-data"
grep -q '^#### new+throttle: max QPS' "$work/BENCHMARKS.md"
grep -q 'driven by callers run with `--throttle_k 2`' "$work/BENCHMARKS.md"
test -s "$work/plots/overload_goodput.png"
echo "loadgen smoke: OK"
