#!/usr/bin/env bash
# CTest fixture: one local control plane shared by the e2e tests of a run (each test works in a
# namespace of its own). `fixture.sh up DIR` replaces any control plane left in DIR by an
# interrupted run; `fixture.sh down DIR` stops it. With SLUICE_E2E_KUBECONFIG set, the tests use
# that cluster and both are no-ops.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: fixture.sh up|down DIR}
dir=${2:?usage: fixture.sh $cmd DIR}
if [ -n "${SLUICE_E2E_KUBECONFIG:-}" ]; then
  echo "fixture: using the cluster in SLUICE_E2E_KUBECONFIG ($SLUICE_E2E_KUBECONFIG)"
  exit 0
fi
case $cmd in
  up)
    "$here/cluster.sh" down "$dir"
    rm -rf "$dir"
    "$here/cluster.sh" up "$dir"
    "$here/cluster.sh" stats "$dir"
    ;;
  down)
    "$here/cluster.sh" stats "$dir" || true
    "$here/cluster.sh" down "$dir"
    ;;
  *) echo "fixture: unknown command $cmd" >&2; exit 2 ;;
esac
