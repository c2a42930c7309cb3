# movierec: multi-stage image on Debian 12 (bookworm).
#   build stage:   the -dev packages of deploy/install-deps.sh; compiles the
#                  three binaries and lists the Debian packages that own the
#                  shared libraries they load;
#   runtime stage: only those packages, the three binaries, a non-root user,
#                  the licence and the software bill of materials:
#                  /usr/share/doc/movierec/sbom-packages.txt lists every
#                  Debian package of the image and its version
#                  (`dpkg-query -W`: package, version, architecture, tab
#                  separated), /usr/share/doc/movierec/LICENSE (Apache-2.0).
# OCI labels (org.opencontainers.image.*): title, description, version,
# revision, source, licenses, created; deploy/build-image.sh fills version,
# revision, source and created through the build arguments below.
# deploy/build-image.sh builds it with podman and smoke-tests the result;
# tests/deploy/dockerfile_test.py keeps its ports, paths and flags in step
# with movierec-server and deploy/k8s.
#
#   gRPC            50051   (movierec-server --port)
#   HTTP/JSON       8080    (movierec-server --http_port)
#   metrics         9464    (movierec-server --metrics_port, /metrics)
#   model versions  /models (movierec-server --model_base; a volume)
#
# The entrypoint is movierec-server listening on all interfaces; arguments
# given to the container are appended to it (absl flags: the last one wins).
# The trainer and the client are /usr/local/bin/movierec-train and
# /usr/local/bin/movierec-client.
FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the binaries are built from (every add_subdirectory of
# CMakeLists.txt but tests/), so that editing tests or docs rebuilds nothing.
COPY CMakeLists.txt ./
COPY util util
COPY proto proto
COPY data data
COPY index index
COPY model model
COPY train train
COPY server server
COPY client client
# No .git in the build context: the version recorded in model bundles comes in
# as a build argument (deploy/build-image.sh passes `git describe`).
ARG MOVIEREC_VERSION=unknown
ARG MOVIEREC_REVISION=unknown
ARG JOBS=2
# ccache (installed by install-deps.sh) keeps its cache between builds.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMOVIEREC_NATIVE=OFF \
      -DMOVIEREC_BUILD_TESTS=OFF -DMOVIEREC_GIT_VERSION="${MOVIEREC_VERSION}" \
      -DMOVIEREC_GIT_REVISION="${MOVIEREC_REVISION}" \
 && cmake --build /build -j "${JOBS}" \
      --target movierec-train movierec-server movierec-client
# The Debian packages owning every shared library the binaries load (through
# symlinks such as the BLAS alternative), for the runtime stage to install.
# A library that no package owns, or a -dev package, stops the build; so
# does a libblas.so.3 that is not OpenBLAS's (libopenblas0-pthread, which
# install-deps.sh installs: in the runtime stage its alternative is the only
# libblas.so.3).
RUN set -e; \
    ldd /build/bin/movierec-train /build/bin/movierec-server \
        /build/bin/movierec-client > /tmp/ldd.txt; \
    if grep 'not found' /tmp/ldd.txt; then exit 1; fi; \
    : > /tmp/owners.txt; \
    for lib in $(awk '$2 == "=>" && $3 ~ /^\// {print $3}' /tmp/ldd.txt | sort -u); do \
      owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null) \
        || { echo "no Debian package owns $lib" >&2; exit 1; }; \
      echo "$owner" | grep -v '^diversion' | sed 's/: .*//; s/, /\n/g' \
        | cut -d: -f1 >> /tmp/owners.txt; \
    done; \
    sort -u /tmp/owners.txt > /build/runtime-packages.txt; \
    cat /build/runtime-packages.txt; \
    if ! grep -qx libopenblas0-pthread /build/runtime-packages.txt; then \
      echo "libblas.so.3 does not resolve to OpenBLAS (install-deps.sh)" >&2; \
      exit 1; \
    fi; \
    if grep -- '-dev$' /build/runtime-packages.txt; then \
      echo "a -dev package would go into the runtime stage" >&2; exit 1; \
    fi

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /build/runtime-packages.txt /tmp/runtime-packages.txt
# The software bill of materials is written after the last package change,
# so it lists exactly what the image holds.
RUN apt-get update -q \
 && xargs -a /tmp/runtime-packages.txt \
      apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && mkdir -p /usr/share/doc/movierec \
 && dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' \
      | sort > /usr/share/doc/movierec/sbom-packages.txt \
 && groupadd --system --gid 10001 movierec \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --shell /usr/sbin/nologin movierec \
 && mkdir -p /models && chown movierec:movierec /models
COPY --from=build /build/bin/movierec-train /build/bin/movierec-server \
     /build/bin/movierec-client /usr/local/bin/
COPY LICENSE /usr/share/doc/movierec/LICENSE
# Last, so that a new commit or build time changes only the image's metadata.
ARG MOVIEREC_VERSION=unknown
ARG MOVIEREC_REVISION=unknown
ARG MOVIEREC_SOURCE=unknown
ARG MOVIEREC_CREATED=unknown
LABEL org.opencontainers.image.title="movierec" \
      org.opencontainers.image.description="Movie recommendations over gRPC (MovieLens 100K, TFRS two-stage recommender)" \
      org.opencontainers.image.version="${MOVIEREC_VERSION}" \
      org.opencontainers.image.revision="${MOVIEREC_REVISION}" \
      org.opencontainers.image.source="${MOVIEREC_SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.created="${MOVIEREC_CREATED}"
USER 10001:10001
VOLUME ["/models"]
EXPOSE 50051 9464 8080
ENTRYPOINT ["/usr/local/bin/movierec-server", "--model_base=/models", \
            "--listen_address=0.0.0.0", "--metrics_address=0.0.0.0"]
