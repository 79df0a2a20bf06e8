#!/usr/bin/env bash
# Configure and build one build directory while holding a machine-wide lock, so parallel
# developers (or agents) on this 2-core machine never run two compiles at once.
# Usage: scripts/locked-build.sh BUILD_DIR [cmake --build args...]   e.g. --target kube_test
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: locked-build.sh BUILD_DIR [args...]}
shift
exec 9>/tmp/sluice-build.lock
flock 9
cmake -S "$root" -B "$dir" -G Ninja ${SLUICE_CMAKE_FLAGS:-} >/dev/null
cmake --build "$dir" -j 2 "$@"
