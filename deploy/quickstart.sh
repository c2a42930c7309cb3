#!/usr/bin/env bash
# From a fresh Debian 12 machine to ten movie recommendations:
# installs missing packages, builds into build/, gets MovieLens 100K, trains a
# model, starts movierec-server and prints the recommendations for user 138,
# then keeps serving in the foreground until Ctrl-C.
#
#   deploy/quickstart.sh          serve until Ctrl-C
#   deploy/quickstart.sh --once   stop the server and exit 0 after printing
#
# Environment: MOVIELENS_DIR (an ml-100k directory; otherwise it is downloaded
# into build/movielens/), MODEL_BASE (default build/models), PORT (50051),
# METRICS_PORT (9464), PRESET (default). A PRESET worse than the newest
# version already in MODEL_BASE fails the trainer's quality gate (exit
# status 3): give it a fresh MODEL_BASE.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

once=false
for arg in "$@"; do
  case "$arg" in
    --once) once=true ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

step "Debian packages"
deploy/install-deps.sh

step "Building into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target movierec-train movierec-server movierec-client

step "MovieLens 100K"
ML_MD5=0e33842e24a9c977be4e0107933c0723  # of files.grouplens.org's ml-100k.zip
ML_URL=https://files.grouplens.org/datasets/movielens/ml-100k.zip
have_data() { [[ -f "$1/u.data" && -f "$1/u.item" && -f "$1/u.user" && -f "$1/u.genre" ]]; }
if [[ -n "${MOVIELENS_DIR:-}" ]]; then
  if ! have_data "$MOVIELENS_DIR"; then
    echo "error: MOVIELENS_DIR=$MOVIELENS_DIR does not hold u.data, u.item, u.user and u.genre" >&2
    exit 1
  fi
  data_dir=$MOVIELENS_DIR
elif have_data build/movielens/ml-100k; then
  data_dir=$root/build/movielens/ml-100k
else
  mkdir -p build/movielens
  echo "downloading $ML_URL" >&2
  if ! curl -fL --retry 2 --connect-timeout 15 -o build/movielens/ml-100k.zip.part "$ML_URL"; then
    rm -f build/movielens/ml-100k.zip.part
    cat >&2 <<MSG
error: could not download MovieLens 100K from $ML_URL.
Download ml-100k.zip from https://grouplens.org/datasets/movielens/100k/ on a
machine that can, unzip it, and point MOVIELENS_DIR at the ml-100k folder:
  MOVIELENS_DIR=/path/to/ml-100k deploy/quickstart.sh
MSG
    exit 1
  fi
  got=$(md5sum build/movielens/ml-100k.zip.part | cut -d' ' -f1)
  if [[ "$got" != "$ML_MD5" ]]; then
    rm -f build/movielens/ml-100k.zip.part
    echo "error: ml-100k.zip has MD5 $got, expected $ML_MD5; refusing it" >&2
    exit 1
  fi
  mv build/movielens/ml-100k.zip.part build/movielens/ml-100k.zip
  unzip -q -o build/movielens/ml-100k.zip -d build/movielens
  data_dir=$root/build/movielens/ml-100k
fi
echo "using $data_dir" >&2

model_base=${MODEL_BASE:-$root/build/models}
step "Training (preset ${PRESET:-default}) into $model_base"
build/bin/movierec-train --data_dir "$data_dir" --model_base "$model_base" \
  --preset "${PRESET:-default}"

port=${PORT:-50051}
metrics_port=${METRICS_PORT:-9464}
step "Starting movierec-server on port $port (metrics on $metrics_port)"
build/bin/movierec-server --model_base "$model_base" --port "$port" \
  --metrics_port "$metrics_port" &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" || true
  fi
}
trap 'stop_server; exit 130' INT
trap 'stop_server; exit 143' TERM
trap 'stop_server' EXIT

step "Recommendations for user 138"
for attempt in $(seq 1 60); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "error: movierec-server exited; see its log above" >&2
    exit 1
  fi
  if out=$(build/bin/movierec-client --target "localhost:$port" --user 138 --count 10 --timeout 2s 2>&1); then
    echo "$out"
    break
  fi
  if ((attempt == 60)); then
    echo "error: no answer from movierec-server: $out" >&2
    exit 1
  fi
  sleep 0.5
done

if $once; then
  stop_server
  trap - EXIT
  exit 0
fi
step "Serving on localhost:$port until Ctrl-C"
wait "$server"
