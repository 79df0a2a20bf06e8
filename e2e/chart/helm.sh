#!/usr/bin/env bash
# Runs the pinned helm 3, built from its Go module by e2e/k8s/build.sh (cached outside the
# clone; the first call builds it). Usage: e2e/chart/helm.sh <helm args...>
#
# `helm template` and `helm lint` render offline for the Kubernetes release the tests run against
# (K8S_VERSION, default the one pinned in e2e/k8s/go.mod) unless --kube-version is given: a helm
# built with `go build` lacks the release build's ldflags and would default to Kubernetes v1.20.0
# (which the chart's kubeVersion >=1.26 refuses).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/../k8s/build.sh")
cache="$here/.cache"
# Keep helm's own state out of $HOME so tests are hermetic.
export HELM_CACHE_HOME="$cache/helm-home/cache" HELM_CONFIG_HOME="$cache/helm-home/config" \
  HELM_DATA_HOME="$cache/helm-home/data"
case ${1:-} in
  template | lint)
    if [[ " $* " != *" --kube-version"* ]]; then
      kube=${K8S_VERSION:-$(sed -nE 's/^\s*k8s\.io\/kubernetes (v[0-9.]+)( .*)?$/\1/p' "$here/../k8s/go.mod")}
      set -- "$@" --kube-version "$kube"
    fi
    ;;
esac
exec "$bin/helm" "$@"
