#!/usr/bin/env bash
# Starts the hermetic test API server in the background and returns once it answers.
# Usage: e2e/apiserver/run.sh DIR [extra server options, e.g. --state-file F --history N]
# Writes DIR/kubeconfig, DIR/pid, DIR/ca.crt, DIR/token, DIR/port, DIR/admin-url, DIR/server.log.
# Stop with: kill "$(cat DIR/pid)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: run.sh DIR [server options]}
shift
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -d "$here/node_modules/@bufbuild/cel" ] || [ ! -d "$here/node_modules/js-yaml" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
rm -f "$dir/port" "$dir/admin-url" "$dir/pid"

# A fresh CA and a serving certificate for 127.0.0.1/localhost.
if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/server.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=sluice-test-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext"
fi
[ -f "$dir/token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token"
token=$(cat "$dir/token")

nohup node "$here/server.js" --cert "$dir/server.crt" --key "$dir/server.key" --token "$token" \
  --dir "$dir" "$@" >"$dir/server.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/pid"

for _ in $(seq 1 100); do
  if [ -s "$dir/port" ]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "run.sh: server exited:" >&2; cat "$dir/server.log" >&2; exit 1; fi
  sleep 0.05
done
[ -s "$dir/port" ] || { echo "run.sh: server did not start" >&2; kill "$pid" || true; exit 1; }
port=$(cat "$dir/port")
ca=$(base64 -w0 <"$dir/ca.crt")
cat >"$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sluice-test
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: ${ca}
users:
- name: sluice-test-admin
  user:
    token: ${token}
contexts:
- name: sluice-test
  context:
    cluster: sluice-test
    user: sluice-test-admin
    namespace: default
current-context: sluice-test
KC
for _ in $(seq 1 100); do
  if curl -sf --cacert "$dir/ca.crt" -H "Authorization: Bearer $token" "https://127.0.0.1:${port}/api" >/dev/null; then
    exit 0
  fi
  sleep 0.05
done
echo "run.sh: server does not answer on port $port" >&2
exit 1
