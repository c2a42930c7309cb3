#!/bin/bash
# A seconds-long run of movierec-loadgen against movierec-server: both loops,
# known and unknown users, the JSON output. Fails on any error call.
# Usage: loadgen_smoke.sh LOADGEN SERVER SERVING_BENCH WORK_DIR
set -euo pipefail
loadgen=$1 server=$2 bench=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$bench" --write_synthetic_model "$work/models" 2>/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" --model_base "$work/models" --port "$port" --metrics_port -1 \
  --worker_threads 2 --grace_period 100ms >"$work/server.log" 2>&1 &
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
grep -q '"mode": "closed"' "$work/closed.json"
grep -q '"mode": "open"' "$work/open.json"
# Both runs answered every call: "N sent, N ok, 0 errors" with N > 0.
test "$(grep -cE '^calls: +([1-9][0-9]*) sent, \1 ok, 0 errors' "$work/out.txt")" = 2
echo "loadgen smoke: OK"
