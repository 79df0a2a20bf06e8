#!/usr/bin/env bash
# Runs every benchmark binary under BUILD_DIR/bench. SLUICE_BENCH_SMOKE=1 runs each benchmark
# for a few iterations only (CI's smoke mode: proves they run, numbers are not meaningful).
# Each binary prints its targets ("met"/"missed") and ratios against baselines after its table
# (bench/common/targets.h). A missed target never fails the run; a broken benchmark (one that
# reported an error, e.g. a decode that failed) does: its binary exits non-zero, and so does
# this script, after running the rest.
set -euo pipefail
build=${1:-build}
args=()
if [ "${SLUICE_BENCH_SMOKE:-0}" = 1 ]; then
  args+=(--benchmark_min_time=0.01)
fi
found=0
failed=()
while IFS= read -r bin; do
  found=1
  echo "== $(basename "$bin")"
  "$bin" "${args[@]}" || failed+=("$(basename "$bin")")
done < <(find "$build/bench" -type f -executable -name '*bench*' | sort)
if [ "$found" = 0 ]; then
  echo "bench/run.sh: no benchmark binaries under $build/bench" >&2
  exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench/run.sh: broken benchmarks in: ${failed[*]} (see '== broken benchmarks' above)" >&2
  exit 1
fi
