#!/usr/bin/env bash
# Copies the CRDs from the repository's crds/ (the single source) into the chart's crds/.
# Run after every CRD change; e2e.chart.crds-in-sync fails when the two differ.
# Usage: charts/sluice/sync-crds.sh [--check]   (--check: report differences, change nothing)
set -euo pipefail
chart=$(cd "$(dirname "$0")" && pwd)
src="$chart/../../crds"
dst="$chart/crds"
mode=${1:-sync}
status=0
for f in "$src"/*.yaml; do
  name=$(basename "$f")
  if [ "$mode" = --check ]; then
    if ! cmp -s "$f" "$dst/$name"; then
      echo "sync-crds: charts/sluice/crds/$name differs from crds/$name" >&2
      status=1
    fi
  else
    mkdir -p "$dst"
    cp "$f" "$dst/$name"
  fi
done
for f in "$dst"/*.yaml; do
  [ -e "$f" ] || continue
  if [ ! -e "$src/$(basename "$f")" ]; then
    if [ "$mode" = --check ]; then
      echo "sync-crds: charts/sluice/crds/$(basename "$f") has no source in crds/" >&2
      status=1
    else
      rm "$f"
    fi
  fi
done
exit $status
