# movierec: multi-stage image on Debian 12 (bookworm).
#   build stage:   the -dev packages, compiles the three binaries;
#   runtime stage: only the shared libraries they link, a non-root user.
FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMOVIEREC_NATIVE=OFF \
      -DMOVIEREC_BUILD_TESTS=OFF \
 && cmake --build /build -j "$(nproc)" \
      --target movierec-train movierec-server movierec-client

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libblas3 \
      liblapack3 libgomp1 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libspdlog1.10 libfmt9 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin movierec \
 && mkdir -p /models && chown movierec /models
COPY --from=build /build/bin/movierec-train /build/bin/movierec-server \
     /build/bin/movierec-client /usr/local/bin/
USER movierec
VOLUME ["/models"]
EXPOSE 50051 9464
ENTRYPOINT ["/usr/local/bin/movierec-server", "--model_base=/models", \
            "--listen_address=0.0.0.0", "--metrics_address=0.0.0.0"]
