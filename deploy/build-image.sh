#!/usr/bin/env bash
# Builds the movierec container image from Dockerfile with podman (no Docker
# engine needed), then smoke-tests the built image without starting a
# container: it mounts the image's filesystem and, under chroot as the image's
# user, runs `movierec-server --help`, trains a model with movierec-train,
# serves it through the image's own entrypoint, asks movierec-client for
# recommendations and reads /metrics, then stops the server with SIGTERM.
#
#   deploy/build-image.sh                   build IMAGE:<git describe> and
#                                           IMAGE:latest, then smoke-test
#   deploy/build-image.sh --no-smoke        build only
#   deploy/build-image.sh --movielens DIR   smoke-test on MovieLens 100K
#                                           (minutes) instead of a small
#                                           synthetic data set (seconds)
#
# The base image debian:bookworm-slim is made locally when podman has none:
# `debootstrap --variant=minbase bookworm`, imported with `podman import`.
# Needs root (chroot, mounts); installs podman and debootstrap when missing.
#
# Environment: IMAGE (default movierec), JOBS (compile jobs, default 2),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), STORAGE_DRIVER (e.g.
# vfs, where overlay mounts are not allowed).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=true
movielens=
while (($# > 0)); do
  case "$1" in
    --no-smoke) smoke=false ;;
    --movielens)
      movielens=${2:?--movielens needs the ml-100k directory}
      shift
      ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*" >&2; }
fail() { echo "error: $*" >&2; exit 1; }

if [[ $(id -u) -ne 0 ]]; then
  fail "run as root: podman build, chroot and mounts need it"
fi

image=${IMAGE:-movierec}
jobs=${JOBS:-2}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=docker.io/library/debian:bookworm-slim
podman_opts=()
if [[ -n "${STORAGE_DRIVER:-}" ]]; then
  podman_opts+=(--storage-driver "$STORAGE_DRIVER")
fi
pm() { podman "${podman_opts[@]}" "$@"; }

step "Debian packages for the image build"
missing=()
for p in podman debootstrap python3 curl; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
podman --version

workdir=$(mktemp -d /var/tmp/movierec-image.XXXXXX)
server_pid=
container=
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [[ -n "$container" ]]; then
    pm umount "$container" >/dev/null 2>&1 || true
    pm rm -f "$container" >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

step "Base image $base"
if pm image exists "$base"; then
  echo "using the local $base"
else
  echo "none local: debootstrap --variant=minbase bookworm from $mirror" >&2
  rootfs=$workdir/rootfs
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1 ||
    { tail -20 "$workdir/debootstrap.log" >&2; fail "debootstrap failed"; }
  # Like the official slim image: the same apt sources as a Debian 12
  # machine, no package caches, no docs.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" --numeric-owner -cf - . |
    pm import --message "debootstrap --variant=minbase bookworm" - "$base" >/dev/null
  rm -rf "$rootfs"
  echo "imported $base"
fi

version=$(git describe --always --dirty --tags 2>/dev/null || echo unknown)
# The OCI labels' values (Dockerfile): the commit, where the source lives
# (the origin remote, any user:password@ removed) and the build time (UTC,
# RFC 3339; SOURCE_DATE_EPOCH when set, for reproducible builds).
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null | sed -E 's#//[^/@]*@#//#' || true)
source_url=${source_url:-unknown}
created=$(date -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"} +%Y-%m-%dT%H:%M:%SZ)
step "podman build $image:$version (isolation chroot, -j$jobs)"
start=$SECONDS
pm build --isolation=chroot --pull=never \
  --build-arg MOVIEREC_VERSION="$version" --build-arg MOVIEREC_REVISION="$revision" \
  --build-arg MOVIEREC_SOURCE="$source_url" --build-arg MOVIEREC_CREATED="$created" \
  --build-arg JOBS="$jobs" \
  -t "$image:$version" -t "$image:latest" -f Dockerfile .
echo "built $image:$version in $((SECONDS - start)) s"
pm image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$image"

if ! $smoke; then
  exit 0
fi

step "Smoke test inside $image:$version's filesystem"
pm image inspect --format \
  'user={{.Config.User}} ports={{json .Config.ExposedPorts}} volumes={{json .Config.Volumes}} entrypoint={{json .Config.Entrypoint}}' \
  "$image:$version"
user=$(pm image inspect --format '{{.Config.User}}' "$image:$version")
[[ -n "$user" && "$user" != root && "$user" != 0 && "${user%%:*}" != 0 ]] ||
  fail "the image runs as root (User '$user')"
mapfile -t entrypoint < <(pm image inspect --format \
  '{{range .Config.Entrypoint}}{{println .}}{{end}}' "$image:$version" | sed '/^$/d')
((${#entrypoint[@]} > 0)) || fail "the image has no entrypoint"

# A container that never starts gives a writable copy of the image's files.
container=$(pm create "$image:$version")
mnt=$(pm mount "$container")
echo "image filesystem mounted at $mnt"
in_image() { chroot --userspec="$user" "$mnt" "$@"; }

for binary in movierec-server movierec-train movierec-client; do
  [[ -x "$mnt/usr/local/bin/$binary" ]] || fail "/usr/local/bin/$binary is missing"
done
# shellcheck disable=SC2016  # ${Package} is dpkg-query's, not the shell's
dev_packages=$(chroot "$mnt" dpkg-query -W -f='${Package}\n' | grep -E -- '-dev$' || true)
[[ -z "$dev_packages" ]] || fail "the runtime image holds -dev packages: $dev_packages"
[[ ! -e "$mnt/usr/bin/g++" && ! -e "$mnt/usr/bin/cmake" ]] ||
  fail "the runtime image holds a compiler or cmake"
echo "runtime: three binaries, no -dev package, no compiler; $(chroot "$mnt" dpkg-query -W | wc -l) Debian packages"

echo "--- OCI labels ---"
# shellcheck disable=SC2016  # a Go template, not the shell's
pm image inspect --format '{{range $k, $v := .Labels}}{{$k}}={{$v}}{{println}}{{end}}' \
  "$image:$version" | grep '^org.opencontainers.image.'
for label in title version revision source licenses created; do
  value=$(pm image inspect --format "{{index .Labels \"org.opencontainers.image.$label\"}}" "$image:$version")
  [[ -n "$value" && "$value" != "<no value>" ]] || fail "the image has no org.opencontainers.image.$label label"
done
sbom=/usr/share/doc/movierec/sbom-packages.txt
[[ -s "$mnt$sbom" ]] || fail "the image has no software bill of materials at $sbom"
# The list must be the image's packages as dpkg knows them now.
# shellcheck disable=SC2016  # ${Package} is dpkg-query's, not the shell's
diff <(chroot "$mnt" dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' | sort) "$mnt$sbom" ||
  fail "$sbom does not match the image's installed packages"
echo "SBOM: $sbom lists $(wc -l <"$mnt$sbom") packages; the licence is at /usr/share/doc/movierec/LICENSE"
[[ -f "$mnt/usr/share/doc/movierec/LICENSE" ]] || fail "the image has no LICENSE"

echo "--- movierec-server --help (first lines) ---"
set +e
in_image /usr/local/bin/movierec-server --help >"$workdir/help.txt" 2>&1
help_rc=$?
set -e
head -n 12 "$workdir/help.txt"
grep -q -- '--model_base (' "$workdir/help.txt" ||
  fail "movierec-server --help (exit $help_rc) does not list its flags"

data=/tmp/smoke-data
mkdir -p "$mnt$data"
if [[ -n "$movielens" ]]; then
  cp "$movielens"/u.data "$movielens"/u.item "$movielens"/u.user \
    "$movielens"/u.genre "$mnt$data/"
  echo "training data: MovieLens 100K from $movielens"
else
  python3 tests/live_server.py make-data "$mnt$data"
  echo "training data: a small synthetic MovieLens (--movielens DIR for the real one)"
fi
chmod -R a+rX "$mnt$data"

model_base=$(printf '%s\n' "${entrypoint[@]}" | sed -n 's/^--model_base=//p' | tail -1)
[[ -n "$model_base" ]] || fail "the entrypoint sets no --model_base"
echo "--- movierec-train into $model_base ---"
start=$SECONDS
in_image /usr/local/bin/movierec-train --data_dir="$data" --model_base="$model_base" \
  --threads="$jobs" 2>&1 | grep -vE '^\s*$' | tail -n 8
[[ -f "$mnt$model_base/1/model.bin" ]] || fail "no $model_base/1/model.bin after training"
echo "trained version 1 in $((SECONDS - start)) s"

echo "--- the entrypoint: ${entrypoint[*]} --port=0 --metrics_port=0 --http_port=0 ---"
log=$workdir/server.log
# chroot execs the server, so $! is the server's pid (a shell function would
# put a subshell in between, and SIGTERM would not reach the server).
chroot --userspec="$user" "$mnt" "${entrypoint[@]}" --port=0 --metrics_port=0 --http_port=0 \
  >"$log" 2>&1 &
server_pid=$!
port=
metrics_port=
for _ in $(seq 1 100); do
  if line=$(grep -m1 'listening for gRPC on' "$log"); then
    port=$(sed -E 's/.*gRPC on [^ ]*:([0-9]+),.*/\1/' <<<"$line")
    metrics_port=$(sed -E 's/.*metrics on [^ ]*:([0-9]+).*/\1/' <<<"$line")
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; fail "movierec-server exited"; }
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$log" >&2; fail "movierec-server did not say where it listens"; }
grep -E 'listening|serving model' "$log"

answer=
for _ in $(seq 1 50); do
  if answer=$(in_image /usr/local/bin/movierec-client --target "127.0.0.1:$port" \
    --user 1 --count 5 --timeout 2s 2>&1); then
    break
  fi
  answer=
  sleep 0.2
done
[[ -n "$answer" ]] || { cat "$log" >&2; fail "movierec-client got no recommendations"; }
echo "--- movierec-client --user 1 --count 5 ---"
echo "$answer"

metrics=$(curl -sf "http://127.0.0.1:$metrics_port/metrics") ||
  fail "no /metrics on port $metrics_port"
echo "--- /metrics (movierec_model_version, movierec_requests_total{code=\"OK\"}) ---"
grep -E '^movierec_model_version |^movierec_requests_total\{.*code="OK"' <<<"$metrics"
grep -qE '^movierec_model_version 1(\.0+)?$' <<<"$metrics" ||
  fail "movierec_model_version is not 1"

kill -TERM "$server_pid"
set +e
wait "$server_pid"
server_rc=$?
set -e
server_pid=
tail -n 2 "$log"
((server_rc == 0)) || fail "movierec-server exited $server_rc on SIGTERM"
echo "server stopped on SIGTERM with exit 0"

step "OK: $image:$version builds, runs as $user, trains, serves and stops cleanly"
