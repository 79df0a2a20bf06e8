#!/usr/bin/env bash
# Runs the pinned helm 3, built from its Go module by e2e/k8s/build.sh (cached outside the
# clone; the first call builds it). Usage: e2e/chart/helm.sh <helm args...>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/../k8s/build.sh")
cache="$here/.cache"
# Keep helm's own state out of $HOME so tests are hermetic.
export HELM_CACHE_HOME="$cache/helm-home/cache" HELM_CONFIG_HOME="$cache/helm-home/config" \
  HELM_DATA_HOME="$cache/helm-home/data"
exec "$bin/helm" "$@"
