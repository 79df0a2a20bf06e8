#!/usr/bin/env bash
# e2e.control-plane.client-smoke: the operator's own Kubernetes client (operator/kube) against
# the real kube-apiserver: list, informer sync and events, create/AlreadyExists, merge patch and
# a stale update's 409, server-side apply, 404, leader election on a Lease, Event series.
# Usage: client_smoke.sh BUILD_DIR   (SLUICE_CLUSTER_DIR or SLUICE_E2E_KUBECONFIG names the cluster)
set -euo pipefail
build=${1:?usage: client_smoke.sh BUILD_DIR}
if [ -n "${SLUICE_E2E_KUBECONFIG:-}" ]; then
  kubeconfig=$SLUICE_E2E_KUBECONFIG
  kubectl=$("$(dirname "$0")/../k8s/build.sh")/kubectl
else
  kubeconfig=${SLUICE_CLUSTER_DIR:?SLUICE_CLUSTER_DIR is not set}/kubeconfig
  kubectl=$(. "$SLUICE_CLUSTER_DIR/env" && echo "$K8S_BIN/kubectl")
fi
ns=client-smoke-$$
"$kubectl" --kubeconfig "$kubeconfig" create namespace "$ns" >/dev/null
trap '"$kubectl" --kubeconfig "$kubeconfig" delete namespace "$ns" --wait=false >/dev/null' EXIT
"$build/bench/kube/kube_apiserver_smoke" --kubeconfig "$kubeconfig" --namespace "$ns"
