#!/usr/bin/env bash
# Installs the npm packages of every Node project in the tree from its committed lockfile.
# Idempotent: a project whose node_modules is newer than its lockfile is skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  stamp="$dir/node_modules/.sluice-installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then
    continue
  fi
  echo "install-node-deps: npm ci in ${dir#"$root"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
done < <(find "$root" -name package-lock.json -not -path '*/node_modules/*' | sort)
