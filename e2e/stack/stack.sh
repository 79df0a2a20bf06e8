#!/usr/bin/env bash
# The local stack: a real Kubernetes control plane (e2e/k8s/cluster.sh: etcd, kube-apiserver,
# kube-controller-manager; shared through SLUICE_CLUSTER_DIR, or the cluster in
# SLUICE_E2E_KUBECONFIG), sample backends, real Prometheus scraping every second, the operator
# (installed with helm into the stack's own namespace and run with the chart's ServiceAccount
# token), and real HAProxy configured by it.
#
#   e2e/stack/stack.sh up DIR [BUILD_DIR]   start everything; writes DIR/env (source it)
#   e2e/stack/stack.sh down DIR             stop everything started under DIR, by PID
#   e2e/stack/stack.sh operator-restart DIR restart only the operator (state kept in status)
#
# Every process listens on 127.0.0.1 on a free port. DIR/env exports the addresses:
# KUBECONFIG (admin, the stack's namespace by default), NAMESPACE, K8S_BIN, PROM_URL, GATEWAY_PORT, HAPROXY_STATS_URL, HAPROXY_RUNTIME, STABLE_ADMIN,
# CANARY_ADMIN, OPERATOR_METRICS, ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SLUICE_SHARED_DIR:-$(cd "$root/.." && pwd)/shared}

free_port() {  # below the ephemeral range, never twice for one DIR (see free_port.py)
  python3 "$here/free_port.py" "$dir/.ports"
}

wait_http() {  # wait_http URL SECONDS NAME
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "stack: $3 did not answer at $1 within $2 s" >&2
      return 1
    fi
    sleep 0.1
  done
}

start_bg() {  # start_bg NAME LOGFILE CMD...  (records DIR/pids/NAME.pid)
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  echo $! >"$dir/pids/$name.pid"
}

stop_pid_file() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# The operator's kubeconfig: the chart ServiceAccount's token (TokenRequest API), so every
# request it makes is judged by the chart's RBAC rules.
write_operator_kubeconfig() {  # SERVER CA-DATA TOKEN NAMESPACE
  cat >"$dir/operator.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sluice
  cluster: {server: "$1", certificate-authority-data: "$2"}
users:
- name: sluice-operator
  user: {token: "$3"}
contexts:
- name: sluice
  context: {cluster: sluice, user: sluice-operator, namespace: "$4"}
current-context: sluice
KC
}

start_operator() {  # start_operator [REPLICA]: REPLICA names a second (third...) replica
  # shellcheck disable=SC1091
  . "$dir/env"
  local name=operator metrics_port=$OPERATOR_METRICS_PORT probe_port=$OPERATOR_PROBE_PORT
  if [ -n "${1:-}" ]; then
    name=operator-$1
    metrics_port=$(free_port); probe_port=$(free_port)
    echo "$metrics_port $probe_port" >"$dir/pids/$name.ports"
  fi
  start_bg "$name" "$dir/logs/$name.log" "$OPERATOR_BIN" \
    --kubeconfig "$OPERATOR_KUBECONFIG" --namespace "$NAMESPACE" \
    --metrics-bind-address "127.0.0.1:$metrics_port" \
    --health-probe-bind-address "127.0.0.1:$probe_port" \
    --leader-elect --leader-election-namespace "$NAMESPACE" --leader-election-id sluice-operator \
    --lease-duration-seconds "${SLUICE_LEASE_SECONDS:-15}" \
    --haproxy-config "$dir/haproxy/haproxy.cfg" \
    --haproxy-map-dir "$dir/haproxy" \
    --haproxy-frontend-bind "127.0.0.1:$GATEWAY_PORT" \
    --haproxy-stats-bind "127.0.0.1:$HAPROXY_STATS_PORT" \
    --haproxy-runtime-address "$HAPROXY_RUNTIME" \
    --haproxy-master-socket "$dir/haproxy/master.sock" \
    --haproxy-check-binary "$(command -v haproxy)" \
    --haproxy-peers-bind "127.0.0.1:$HAPROXY_PEERS_PORT" \
    --log-level "${SLUICE_LOG_LEVEL:-info}"
  # A standby replica is live (healthz) but not ready until it leads.
  wait_http "http://127.0.0.1:$probe_port/healthz" 20 "sluice-operator ($name)"
}

up() {
  local build=${1:-$root/build}
  mkdir -p "$dir"/{pids,logs,haproxy,prometheus}
  : >"$dir/env"
  local op_bin="$build/operator/cmd/sluice-operator"
  [ -x "$op_bin" ] || { echo "stack: $op_bin not built (run make build)" >&2; exit 1; }

  # Kubernetes: the cluster in SLUICE_E2E_KUBECONFIG when given, else the shared local control
  # plane in SLUICE_CLUSTER_DIR (one per test run), else a control plane of this stack's own.
  local admin_kubeconfig k8s_bin
  if [ -n "${SLUICE_E2E_KUBECONFIG:-}" ]; then
    admin_kubeconfig=$SLUICE_E2E_KUBECONFIG
    k8s_bin=$("$root/e2e/k8s/build.sh")
  else
    local cluster=${SLUICE_CLUSTER_DIR:-}
    if [ -z "$cluster" ]; then
      cluster=$dir/cluster
      echo "$cluster" >"$dir/own-cluster"
      "$root/e2e/k8s/cluster.sh" up "$cluster" >"$dir/logs/cluster-up.log" 2>&1 || {
        cat "$dir/logs/cluster-up.log" >&2; exit 1; }
    fi
    admin_kubeconfig=$cluster/kubeconfig
    k8s_bin=$(. "$cluster/env" && echo "$K8S_BIN")
  fi
  export PATH=$k8s_bin:$PATH
  # Each stack has a namespace of its own; its operator watches only that namespace and runs
  # as the chart's ServiceAccount under the chart's Role (installed with helm for real).
  local ns=${SLUICE_STACK_NAMESPACE:-$(basename "$dir" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' '-' | tail -c 60 | sed 's/^-*//; s/-*$//')}
  KUBECONFIG=$admin_kubeconfig kubectl apply --server-side --force-conflicts \
    -f "$shared/crds/gateway-api-v1.2.1" -f "$shared/crds/envoy-gateway-v1.2.8" \
    -f "$root/crds" >"$dir/logs/crds.log"
  KUBECONFIG=$admin_kubeconfig kubectl wait --for condition=Established --timeout 60s \
    crd/canaryrollouts.sluice.dev crd/trafficpolicies.sluice.dev crd/tierlimits.sluice.dev \
    >>"$dir/logs/crds.log"
  KUBECONFIG=$admin_kubeconfig kubectl create namespace "$ns" >>"$dir/logs/crds.log" 2>&1 || true
  # The tests' kubeconfig: the admin identity, this stack's namespace by default.
  KUBECONFIG=$admin_kubeconfig kubectl config view --raw --minify >"$dir/kubeconfig"
  KUBECONFIG=$dir/kubeconfig kubectl config set-context --current --namespace "$ns" >/dev/null
  KUBECONFIG=$dir/kubeconfig helm install sluice "$root/charts/sluice" --namespace "$ns" \
    --set watchNamespace="$ns" --set leaderElection.id=sluice-operator --wait=false \
    >"$dir/logs/helm-install.log" 2>&1 || { cat "$dir/logs/helm-install.log" >&2; exit 1; }
  local token
  token=$(KUBECONFIG=$dir/kubeconfig kubectl create token sluice --duration 24h)
  local server ca
  server=$(KUBECONFIG=$dir/kubeconfig kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(KUBECONFIG=$dir/kubeconfig kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  if [ -n "${SLUICE_STACK_FAULTS:-}" ]; then
    # The operator talks to kube-apiserver through the fault proxy (e2e/k8s/faults).
    [ -n "${cluster:-}" ] || { echo "stack: SLUICE_STACK_FAULTS needs the local control plane" >&2; exit 1; }
    start_bg kube-faults "$dir/logs/kube-faults.log" "$k8s_bin/kube-faults" \
      --upstream "$server" --ca "$cluster/pki/ca.crt" --cert "$cluster/pki/apiserver.crt" \
      --key "$cluster/pki/apiserver.key" --ports-file "$dir/faults.ports"
    local deadline=$((SECONDS + 10))
    until [ -s "$dir/faults.ports" ]; do
      ((SECONDS < deadline)) || { echo "stack: kube-faults did not start" >&2; exit 1; }
      sleep 0.1
    done
    local proxy_port admin_port
    read -r proxy_port admin_port <"$dir/faults.ports"
    server=https://127.0.0.1:$proxy_port
    echo "export FAULTS_ADMIN=http://127.0.0.1:$admin_port" >>"$dir/env"
  fi
  write_operator_kubeconfig "$server" "$ca" "$token" "$ns"
  echo "export CLUSTER_DIR=${cluster:-}" >>"$dir/env"
  kubeconfig=$dir/kubeconfig

  # HAProxy's runtime API is a unix socket it creates with mode 600 (the operator's
  # haproxy.cfg says so; HAPROXY_RUNTIME), not a TCP port every local process could reach.
  local stable_port canary_port prom_port gw stats peers om op region
  stable_port=$(free_port); canary_port=$(free_port); prom_port=$(free_port)
  gw=$(free_port); stats=$(free_port); peers=$(free_port)
  om=$(free_port); op=$(free_port)
  cat >>"$dir/env" <<ENV
export KUBECONFIG=$kubeconfig
export PATH=$k8s_bin:\$PATH
export K8S_BIN=$k8s_bin
export NAMESPACE=$ns
export OPERATOR_KUBECONFIG=$dir/operator.kubeconfig
export OPERATOR_BIN=$op_bin
export STABLE_PORT=$stable_port
export CANARY_PORT=$canary_port
export STABLE_ADMIN=http://127.0.0.1:$stable_port
export CANARY_ADMIN=http://127.0.0.1:$canary_port
export PROM_PORT=$prom_port
export PROM_URL=http://127.0.0.1:$prom_port
export GATEWAY_PORT=$gw
export HAPROXY_STATS_PORT=$stats
export HAPROXY_PEERS_PORT=$peers
export HAPROXY_STATS_URL=http://127.0.0.1:$stats
export HAPROXY_RUNTIME=$dir/haproxy/admin.sock
export OPERATOR_METRICS_PORT=$om
export OPERATOR_PROBE_PORT=$op
export OPERATOR_METRICS=http://127.0.0.1:$om
export STACK_DIR=$dir
ENV
  # Three regional backends for TrafficPolicy (checkout-<region> Services).
  for region in $REGIONS; do
    local port; port=$(free_port)
    echo "export $(region_var "$region")_PORT=$port" >>"$dir/env"
    echo "export $(region_var "$region")_ADMIN=http://127.0.0.1:$port" >>"$dir/env"
  done
  # shellcheck disable=SC1091
  . "$dir/env"

  start_bg backend-stable "$dir/logs/backend-stable.log" python3 "$here/backend.py" \
    --port "$STABLE_PORT" --service payment-api-stable --instance stable
  start_bg backend-canary "$dir/logs/backend-canary.log" python3 "$here/backend.py" \
    --port "$CANARY_PORT" --service payment-api-canary --instance canary

  local region_targets=""
  for region in $REGIONS; do
    start_region "$region"
    region_targets+=", '127.0.0.1:$(region_port "$region")'"
  done

  cat >"$dir/prometheus/prometheus.yml" <<PROM
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['$root/charts/sluice/files/alerts.yaml']
scrape_configs:
- job_name: backends
  static_configs:
  - targets: ['127.0.0.1:$STABLE_PORT', '127.0.0.1:$CANARY_PORT'$region_targets]
- job_name: haproxy
  static_configs:
  - targets: ['127.0.0.1:$HAPROXY_STATS_PORT']
- job_name: sluice-operator
  static_configs:
  - targets: ['127.0.0.1:$OPERATOR_METRICS_PORT']
PROM
  start_prometheus

  start_operator
  wait_http "http://127.0.0.1:$OPERATOR_PROBE_PORT/readyz" 30 "sluice-operator (leader)"
  # The operator writes haproxy.cfg at start; HAProxy runs in master-worker mode so the
  # operator can reload it through the master socket when routes change.
  local deadline=$((SECONDS + 10))
  until [ -s "$dir/haproxy/haproxy.cfg" ]; do
    ((SECONDS < deadline)) || { echo "stack: operator wrote no haproxy.cfg" >&2; exit 1; }
    sleep 0.1
  done
  start_haproxy
  wait_http "$STABLE_ADMIN/healthz" 10 "stable backend"
  wait_http "$CANARY_ADMIN/healthz" 10 "canary backend"
  for region in $REGIONS; do
    wait_http "http://127.0.0.1:$(region_port "$region")/healthz" 10 "$region backend"
  done
  echo "stack: up in $dir (source $dir/env)"
}

REGIONS="eastus westeurope southeastasia"

region_var() { echo "$1" | tr 'a-z' 'A-Z'; }
region_port() {
  # shellcheck disable=SC1091
  (. "$dir/env" && eval "echo \$$(region_var "$1")_PORT")
}

start_region() {
  start_bg "backend-$1" "$dir/logs/backend-$1.log" python3 "$here/backend.py" \
    --port "$(region_port "$1")" --service "checkout-$1" --instance "$1"
}

start_prometheus() {
  # shellcheck disable=SC1091
  . "$dir/env"
  start_bg prometheus "$dir/logs/prometheus.log" prometheus \
    --config.file "$dir/prometheus/prometheus.yml" \
    --storage.tsdb.path "$dir/prometheus/data" \
    --web.listen-address "127.0.0.1:$PROM_PORT" \
    --storage.tsdb.retention.time 1h
  wait_http "$PROM_URL/-/ready" 30 "prometheus"
}

start_haproxy() {
  # shellcheck disable=SC1091
  . "$dir/env"
  # The master CLI is admin-level too: mode 600 whatever the umask (the operator refuses to
  # reload through a master socket every local user may write to).
  start_bg haproxy "$dir/logs/haproxy.log" haproxy -W -db -S "$dir/haproxy/master.sock,mode,600" \
    -f "$dir/haproxy/haproxy.cfg"
  wait_http "$HAPROXY_STATS_URL/metrics" 10 "haproxy exporter"
}

down() {
  [ -d "$dir/pids" ] || return 0
  # SIGTERM to everything at once, then SIGKILL whatever is left after 10 s.
  local pids=() f pid
  for f in "$dir"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$f"
  done
  for _ in $(seq 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [ -f "$dir/own-cluster" ]; then
    "$root/e2e/k8s/cluster.sh" down "$(cat "$dir/own-cluster")"
  elif [ -f "$dir/env" ] && [ -z "${SLUICE_KEEP_NAMESPACE:-}" ]; then
    # A shared control plane: the stack's namespace goes, with everything in it.
    # shellcheck disable=SC1091
    (. "$dir/env" && [ -n "${NAMESPACE:-}" ] && kubectl delete namespace "$NAMESPACE" --wait=false >/dev/null 2>&1) || true
  fi
  return 0
}

cmd=${1:?usage: stack.sh up|down|operator-restart|prometheus-stop|prometheus-start DIR [BUILD_DIR]}
dir=${2:?usage: stack.sh $cmd DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
  up) up "${3:-}" ;;
  down) down ;;
  operator-stop) stop_pid_file "$dir/pids/operator.pid" ;;
  operator-start) start_operator ;;
  operator-restart) stop_pid_file "$dir/pids/operator.pid"; start_operator ;;
  operator-add) start_operator "${3:?usage: stack.sh operator-add DIR NAME}" ;;
  operator-kill)  # SIGKILL: no graceful shutdown, no lease release. [NAME] for a replica.
    f="$dir/pids/operator${3:+-$3}.pid"
    kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f" ;;
  prometheus-stop) stop_pid_file "$dir/pids/prometheus.pid" ;;
  haproxy-stop) stop_pid_file "$dir/pids/haproxy.pid" ;;
  haproxy-start) start_haproxy ;;
  prometheus-start) start_prometheus ;;
  backend-stop) stop_pid_file "$dir/pids/backend-${3:?usage: stack.sh backend-stop DIR REGION}.pid" ;;
  backend-start)
    start_region "${3:?usage: stack.sh backend-start DIR REGION}"
    wait_http "http://127.0.0.1:$(region_port "$3")/healthz" 10 "$3 backend" ;;
  *) echo "stack: unknown command $cmd" >&2; exit 2 ;;
esac
