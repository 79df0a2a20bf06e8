#!/usr/bin/env bash
# Builds the libFuzzer targets (operator/fuzz) with clang into BUILD_DIR and runs each for
# SECONDS, starting from its committed corpus (operator/fuzz/corpus/<target>; new inputs go to a
# scratch copy). Any crash, sanitizer report, timeout or out-of-memory fails, and the input is
# kept in BUILD_DIR/fuzz-findings. Usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
# (default: every target). `make test` runs every target for a few seconds, `make fuzz` longer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(cr_parse watch_decode prometheus_response kubeconfig units)
fi
CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF \
  -DSLUICE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j 2 --target "${targets[@]/#/fuzz_}" | grep -v '^\[' || true
findings="$dir/fuzz-findings"
mkdir -p "$findings"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp "$root/operator/fuzz/corpus/$t/"* "$work/$t/"
  log="$dir/fuzz-$t.log"
  if (cd "$work" && "$dir/operator/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$findings/$t-" "$work/$t" >"$log" 2>&1); then
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz_$t: ${runs:-?} executions in ${seconds}s, no finding"
  else
    echo "fuzz_$t: FAILED (log: $log, inputs: $findings)"
    grep -E 'ERROR|SUMMARY|what\(\)' "$log" | head -5
    failed=1
  fi
done
exit $failed
