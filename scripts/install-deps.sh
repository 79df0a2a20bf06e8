#!/usr/bin/env bash
# Installs everything Sluice needs to build, test and run the demo on Debian bookworm.
# Idempotent: packages already present are skipped, so a second run costs a few seconds.
set -euo pipefail

# --build-only: just what compiling sluice-operator needs (the Dockerfile's build stage).
build_only=false
[ "${1:-}" = "--build-only" ] && build_only=true

packages=(
  build-essential cmake ninja-build pkg-config
  libcpprest-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev
)
$build_only || packages+=(
  ccache clang-format clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev
  haproxy prometheus hey wrk curl openssl unzip python3-yaml tmux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if $build_only; then
  echo "install-deps: ok (build only)"
  exit 0
fi

# Debian's prometheus and haproxy packages start system services; the stack runs its own
# processes on free ports, so stop the packaged ones if they came up.
for svc in prometheus haproxy prometheus-node-exporter; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# Node.js 20 with npm runs the chart and conformance tests. The CI machine ships
# nodesource's nodejs (npm bundled); Debian's own npm package conflicts with it, so only
# install Debian's nodejs+npm when no node is present at all.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Go builds the local control plane, kubectl and helm from their modules (e2e/k8s/build.sh).
# Go >= 1.21 can fetch the pinned toolchain itself through the Go module proxy (GOTOOLCHAIN).
if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is required (Go >= 1.21; the CI machine has Go 1.26)" >&2
  exit 1
fi
echo "install-deps: ok"
