# syntax=docker/dockerfile:1
# Sluice operator image.
#
#   docker build -t sluice/sluice-operator:0.1.0 .
#
# Stage 1 builds with exactly what CI uses: scripts/install-deps.sh for the Debian packages and
# the same cmake configure/build commands (e2e.chart.dockerfile checks they stay in step with the
# Makefile). Stage 2 is debian:bookworm-slim with only the shared libraries the binary links,
# running as the non-root uid 65532.
#
# Expected image size: about 110 MB uncompressed (about 40 MB compressed): debian:bookworm-slim
# 75 MB, cpprestsdk with its Boost, Brotli and zlib runtime libraries about 20 MB, OpenSSL,
# yaml-cpp, spdlog and fmt about 8 MB, CA certificates 0.5 MB, the stripped operator about 5 MB.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
# --build-only: compilers and -dev packages; no haproxy/prometheus/load tools, node or kubectl.
RUN scripts/install-deps.sh --build-only
COPY CMakeLists.txt CMakeLists.txt
COPY cmake cmake
COPY operator operator
RUN cmake -S . -B build -G Ninja -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF \
 && cmake --build build --target sluice-operator \
 && strip --strip-unneeded build/operator/cmd/sluice-operator

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcpprest2.10 libyaml-cpp0.7 libssl3 libspdlog1.10 libfmt9 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/operator/cmd/sluice-operator /usr/local/bin/sluice-operator
USER 65532:65532
# Metrics (--metrics-bind-address :8080) and health probes (--health-probe-bind-address :8081).
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/sluice-operator"]
