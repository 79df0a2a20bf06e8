#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and
# kube-controller-manager built by e2e/k8s/build.sh. No kubelet: Pods a test needs are objects.
#
#   e2e/k8s/cluster.sh up DIR         start; writes DIR/kubeconfig (admin) and DIR/env
#   e2e/k8s/cluster.sh down DIR       stop every process started under DIR, by PID
#   e2e/k8s/cluster.sh restart-apiserver DIR   SIGKILL kube-apiserver and start it again (a crash:
#                                             its graceful shutdown drains for about a minute)
#   e2e/k8s/cluster.sh restart-etcd DIR        stop etcd (SIGTERM) and start it again
#   e2e/k8s/cluster.sh compact DIR    compact etcd at its current revision (old watches get 410)
#   e2e/k8s/cluster.sh faults-up DIR  start the API fault proxy (kube-faults) in front of it
#   e2e/k8s/cluster.sh stats DIR      start time and RSS of each part
#   e2e/k8s/cluster.sh metrics-adapter DIR PROMETHEUS_URL
#                                     start sluice-metrics-adapter (the External metrics API from
#                                     that Prometheus) and register it as the APIService
#                                     v1beta1.external.metrics.k8s.io; waits until it answers
#                                     through kube-apiserver. Again with the same URL: no-op; with
#                                     another: restarted. Adds METRICS_ADAPTER_PORT,
#                                     METRICS_ADAPTER_URL, METRICS_ADAPTER_PROMETHEUS_URL to DIR/env.
#                                     Extra adapter flags: SLUICE_METRICS_ADAPTER_FLAGS (e.g.
#                                     "--metric other_metric").
#   e2e/k8s/cluster.sh metrics-adapter-down DIR   unregister (delete the APIService, so discovery
#                                     stays whole) and stop it; `down` stops it too
#
# TLS from a CA made for this cluster, RBAC authorization, service-account issuer and keys
# (TokenRequest works), PodSecurity admission, an audit log of service-account requests
# (DIR/logs/audit.log) so tests can check RBAC rules against what the operator really asks.
# The API aggregation layer is on (a front-proxy CA and client certificate; aggregator routing to
# a Service's endpoints, as there is no kube-proxy), so an APIService such as the metrics adapter
# is served through kube-apiserver. kube-controller-manager's HPA controller syncs every 5 s.
# Extra kube-apiserver flags: SLUICE_APISERVER_FLAGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

free_port() {  # below the ephemeral range, never twice for one DIR (see free_port.py)
  python3 "$here/../stack/free_port.py" "$dir/.ports"
}

now_ms() { date +%s%3N; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid_file() {  # stop_pid_file FILE [GRACE-SECONDS]: SIGTERM, then SIGKILL after the grace
  local f=$1 grace=${2:-10} pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    # Gone for real before anyone binds its ports again.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# curl as the cluster admin (client certificate).
admin_curl() {
  curl -sS --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$@"
}

wait_until() {  # wait_until SECONDS WHAT CMD...
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    if (($(now_ms) >= deadline)); then
      echo "cluster: $what not ready within $secs s" >&2
      return 1
    fi
    sleep 0.1
  done
}

make_ca() {  # make_ca NAME SUBJECT, in the current directory
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -x509 -new -key "$1.key" -subj "$2" -days 30 -out "$1.crt" 2>/dev/null
}

sign() {  # sign [--ca CA] NAME SUBJECT [SAN], in the current directory; CA defaults to ca
  local ca=ca ext
  if [ "$1" = "--ca" ]; then ca=$2; shift 2; fi
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  ext=$(mktemp)
  if [ -n "${3:-}" ]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$1.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 30 \
    -extfile "$ext" -out "$1.crt" 2>/dev/null
  rm -f "$ext" "$1.csr"
}

make_pki() {
  local pki=$dir/pki
  mkdir -p "$pki"
  cd "$pki"
  make_ca ca "/CN=sluice-e2e-ca"
  sign apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign admin "/O=system:masters/CN=sluice-e2e-admin"
  sign controller-manager "/CN=system:kube-controller-manager"
  # The aggregation layer: kube-apiserver proxies to an APIService's server as
  # front-proxy-client, with the user in X-Remote-* headers that server trusts by this CA.
  make_ca front-proxy-ca "/CN=sluice-e2e-front-proxy-ca"
  sign --ca front-proxy-ca front-proxy-client "/CN=front-proxy-client"
  # Service-account token signing keys (kube-apiserver signs, kube-apiserver and KCM verify).
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cd - >/dev/null
}

write_kubeconfig() {  # write_kubeconfig FILE USER-CERT-NAME SERVER
  local pki=$dir/pki
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: sluice-e2e
  cluster:
    server: $3
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 <"$pki/$2.crt")
    client-key-data: $(base64 -w0 <"$pki/$2.key")
contexts:
- name: sluice-e2e
  context: {cluster: sluice-e2e, user: $2}
current-context: sluice-e2e
KC
}

start_etcd() {
  # shellcheck disable=SC1091
  . "$dir/env"
  local t0
  t0=$(now_ms)
  "$K8S_BIN/etcd" --name default --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn \
    >>"$dir/logs/etcd.log" 2>&1 &
  echo $! >"$dir/pids/etcd.pid"
  wait_until 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
  echo "etcd $(($(now_ms) - t0))" >>"$dir/start-ms"
}

# wait_ready NAME PID_FILE LOG SECONDS COMMAND...: until COMMAND succeeds (its output
# discarded); fails at once, with the end of LOG, when the process has died, and after SECONDS.
wait_ready() {
  local name=$1 pid_file=$2 log=$3 seconds=$4
  local deadline=$(($(now_ms) + seconds * 1000))
  shift 4
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pid_file"; then
      echo "cluster: $name exited; the end of its log:" >&2
      tail -n 5 "$log" >&2
      return 1
    fi
    (($(now_ms) < deadline)) || { echo "cluster: $name not ready within $seconds s" >&2; return 1; }
    sleep 0.1
  done
}

start_apiserver() {
  # shellcheck disable=SC1091
  . "$dir/env"
  local pki=$dir/pki t0
  t0=$(now_ms)
  # shellcheck disable=SC2086
  "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --cert-dir "$dir/apiserver" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=false \
    --audit-policy-file "$here/audit-policy.yaml" --audit-log-path "$dir/logs/audit.log" \
    --audit-log-maxsize 200 --audit-log-maxbackup 1 \
    --profiling=false \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --requestheader-group-headers X-Remote-Group --requestheader-username-headers X-Remote-User \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" \
    --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    ${SLUICE_APISERVER_FLAGS:-} \
    >>"$dir/logs/kube-apiserver.log" 2>&1 &
  echo $! >"$dir/pids/kube-apiserver.pid"
  # Ready within 90 s, or fail at once when the process has died.
  wait_ready kube-apiserver "$dir/pids/kube-apiserver.pid" "$dir/logs/kube-apiserver.log" 90 \
    admin_curl -f -o /dev/null "$APISERVER_URL/readyz"
  echo "kube-apiserver $(($(now_ms) - t0))" >>"$dir/start-ms"
}

start_controller_manager() {
  # shellcheck disable=SC1091
  . "$dir/env"
  local pki=$dir/pki t0
  t0=$(now_ms)
  # namespace: deletes a namespace's contents; garbage-collector: ownerReferences;
  # serviceaccount(-token): the default ServiceAccount and legacy tokens; HPA; deployment and
  # replicaset: a chart's Deployment gets Pods (objects only, no kubelet), so PodSecurity
  # admission judges the pod template for real. Each controller runs as its own ServiceAccount
  # (as kubeadm sets it up), so the garbage collector may delete any kind. The HPA controller
  # syncs every 5 s (default 15 s) so autoscaling tests wait less; it reads External metrics
  # through the aggregation layer (cluster.sh metrics-adapter).
  "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$dir/controller-manager" \
    --controllers namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,horizontal-pod-autoscaler-controller,deployment-controller,replicaset-controller \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials=true --leader-elect=false \
    --concurrent-gc-syncs 5 --profiling=false \
    --horizontal-pod-autoscaler-sync-period 5s \
    >>"$dir/logs/kube-controller-manager.log" 2>&1 &
  echo $! >"$dir/pids/kube-controller-manager.pid"
  wait_until 60 "kube-controller-manager /healthz" curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
  echo "kube-controller-manager $(($(now_ms) - t0))" >>"$dir/start-ms"
}

up() {
  local t0 bin
  t0=$(now_ms)
  bin=$("$here/build.sh")
  mkdir -p "$dir"/{pids,logs,etcd,apiserver,controller-manager}
  : >"$dir/start-ms"
  make_pki
  local etcd_port etcd_peer apiserver_port kcm_port
  etcd_port=$(free_port); etcd_peer=$(free_port); apiserver_port=$(free_port); kcm_port=$(free_port)
  cat >"$dir/env" <<ENV
export K8S_BIN=$bin
export PATH=$bin:\$PATH
export KUBECONFIG=$dir/kubeconfig
export CLUSTER_DIR=$dir
export ETCD_PORT=$etcd_port
export ETCD_PEER_PORT=$etcd_peer
export ETCD_URL=http://127.0.0.1:$etcd_port
export APISERVER_PORT=$apiserver_port
export APISERVER_URL=https://127.0.0.1:$apiserver_port
export KCM_PORT=$kcm_port
ENV
  write_kubeconfig "$dir/kubeconfig" admin "https://127.0.0.1:$apiserver_port"
  write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager "https://127.0.0.1:$apiserver_port"
  start_etcd
  start_apiserver
  start_controller_manager
  # Ready for tests: the default namespace's ServiceAccount exists (Pods and tokens need it).
  wait_until 60 "the default ServiceAccount" "$bin/kubectl" --kubeconfig "$dir/kubeconfig" \
    get serviceaccount default -n default
  echo "total $(($(now_ms) - t0))" >>"$dir/start-ms"
  echo "cluster: up in $dir ($(version)); source $dir/env"
}

version() {
  admin_curl "$APISERVER_URL/version" | python3 -c 'import json,sys; print("kube-apiserver " + json.load(sys.stdin)["gitVersion"])'
}

faults_up() {
  # shellcheck disable=SC1091
  . "$dir/env"
  stop_pid_file "$dir/pids/kube-faults.pid"
  rm -f "$dir/faults.ports"
  "$K8S_BIN/kube-faults" --upstream "$APISERVER_URL" --ca "$dir/pki/ca.crt" \
    --cert "$dir/pki/apiserver.crt" --key "$dir/pki/apiserver.key" \
    --ports-file "$dir/faults.ports" >>"$dir/logs/kube-faults.log" 2>&1 &
  echo $! >"$dir/pids/kube-faults.pid"
  wait_until 10 "kube-faults" test -s "$dir/faults.ports"
  read -r proxy admin <"$dir/faults.ports"
  sed -i '/^export FAULTS_/d' "$dir/env"
  cat >>"$dir/env" <<ENV
export FAULTS_URL=https://127.0.0.1:$proxy
export FAULTS_ADMIN=http://127.0.0.1:$admin
ENV
  echo "cluster: kube-faults on https://127.0.0.1:$proxy (admin http://127.0.0.1:$admin)"
}

# The External metrics API from Prometheus (sluice-metrics-adapter), served through the
# aggregation layer: a Service without selector whose EndpointSlice points at the adapter on
# 127.0.0.1 (kube-apiserver dials it directly: --enable-aggregator-routing), and the APIService.
# The adapter's serving certificate is signed by the cluster CA for the Service's DNS name, the
# name kube-apiserver verifies, so the APIService carries a caBundle instead of skipping TLS checks.
metrics_adapter_ns=sluice-metrics
metrics_adapter_svc=sluice-metrics-adapter

metrics_adapter_up() {
  local prom_url=$1
  # shellcheck disable=SC1091
  . "$dir/env"
  [[ $prom_url =~ ^https?://[^/]+ ]] || { echo "cluster: PROMETHEUS_URL must be an http(s) URL (got '$prom_url')" >&2; return 2; }
  [ -x "$K8S_BIN/sluice-metrics-adapter" ] ||
    { echo "cluster: $K8S_BIN/sluice-metrics-adapter is missing; run e2e/k8s/build.sh" >&2; return 1; }
  local pid_file=$dir/pids/metrics-adapter.pid state=$dir/metrics-adapter port t0
  t0=$(now_ms)
  mkdir -p "$state"
  if pid_alive "$pid_file" && [ "$(cat "$state/prometheus-url" 2>/dev/null)" = "$prom_url" ]; then
    port=$(cat "$state/port")
  else
    stop_pid_file "$pid_file"
    # One port per cluster: the EndpointSlice and a restarted adapter keep it.
    [ -s "$state/port" ] || free_port >"$state/port"
    port=$(cat "$state/port")
    if [ ! -f "$state/serving.crt" ]; then
      (cd "$dir/pki" && sign metrics-adapter "/CN=$metrics_adapter_svc" \
        "DNS:$metrics_adapter_svc.$metrics_adapter_ns.svc,IP:127.0.0.1" &&
        mv metrics-adapter.crt "$state/serving.crt" && mv metrics-adapter.key "$state/serving.key")
    fi
    echo "$prom_url" >"$state/prometheus-url"
    # Delegated authentication and authorization (TokenReview, SubjectAccessReview, the
    # front-proxy CA from kube-system/extension-apiserver-authentication) as the admin: a test
    # stack. The --lister-kubeconfig is required by AdapterBase although nothing is listed.
    # shellcheck disable=SC2086
    "$K8S_BIN/sluice-metrics-adapter" --prometheus-url "$prom_url" \
      --bind-address 127.0.0.1 --secure-port "$port" \
      --tls-cert-file "$state/serving.crt" --tls-private-key-file "$state/serving.key" \
      --lister-kubeconfig "$dir/kubeconfig" \
      --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
      ${SLUICE_METRICS_ADAPTER_FLAGS:-} \
      >>"$dir/logs/metrics-adapter.log" 2>&1 &
    echo $! >"$pid_file"
    wait_ready sluice-metrics-adapter "$pid_file" "$dir/logs/metrics-adapter.log" 30 \
      curl -fsS -o /dev/null --cacert "$dir/pki/ca.crt" "https://127.0.0.1:$port/readyz"
  fi
  # Its output (and the warning that FQDN endpoints are deprecated) only when it fails.
  local out
  out=$("$K8S_BIN/kubectl" --kubeconfig "$dir/kubeconfig" apply -f - 2>&1 <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $metrics_adapter_ns}
---
apiVersion: v1
kind: Service
metadata: {name: $metrics_adapter_svc, namespace: $metrics_adapter_ns}
spec:
  ports: [{name: https, port: 443, targetPort: $port, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $metrics_adapter_svc
  namespace: $metrics_adapter_ns
  labels:
    kubernetes.io/service-name: $metrics_adapter_svc
    endpointslice.kubernetes.io/managed-by: cluster.sh.sluice.dev
# FQDN: IPv4 endpoints may not be loopback addresses; kube-apiserver dials the address as given.
addressType: FQDN
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
ports: [{name: https, port: $port, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.external.metrics.k8s.io}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  service: {namespace: $metrics_adapter_ns, name: $metrics_adapter_svc, port: 443}
  caBundle: $(base64 -w0 <"$dir/pki/ca.crt")
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
) || { echo "cluster: registering sluice-metrics-adapter failed: $out" >&2; return 1; }
  wait_until 60 "/apis/external.metrics.k8s.io/v1beta1 through kube-apiserver" \
    "$K8S_BIN/kubectl" --kubeconfig "$dir/kubeconfig" get --raw /apis/external.metrics.k8s.io/v1beta1
  sed -i '/^export METRICS_ADAPTER_/d' "$dir/env"
  cat >>"$dir/env" <<ENV
export METRICS_ADAPTER_PORT=$port
export METRICS_ADAPTER_URL=https://127.0.0.1:$port
export METRICS_ADAPTER_PROMETHEUS_URL=$prom_url
ENV
  echo "cluster: sluice-metrics-adapter on https://127.0.0.1:$port from $prom_url, serving external.metrics.k8s.io/v1beta1 ($(($(now_ms) - t0)) ms)"
}

metrics_adapter_down() {
  # shellcheck disable=SC1091
  . "$dir/env"
  # A registered APIService whose server is gone breaks discovery (kubectl, helm, the garbage
  # collector), so unregister first.
  if admin_curl -f -o /dev/null "$APISERVER_URL/readyz" 2>/dev/null; then
    "$K8S_BIN/kubectl" --kubeconfig "$dir/kubeconfig" delete apiservice v1beta1.external.metrics.k8s.io \
      --ignore-not-found >/dev/null
  fi
  stop_pid_file "$dir/pids/metrics-adapter.pid" 5
  sed -i '/^export METRICS_ADAPTER_/d' "$dir/env"
}

compact() {
  # shellcheck disable=SC1091
  . "$dir/env"
  local rev
  rev=$(curl -fsS -X POST "$ETCD_URL/v3/kv/range" -d '{"key":"AA=="}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
  curl -fsS -X POST "$ETCD_URL/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
  echo "$rev"
}

stats() {
  local name pid rss
  cat "$dir/start-ms" | sed 's/$/ ms to ready/'
  for f in "$dir"/pids/*.pid; do
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    echo "$name rss $((rss / 1024)) MiB"
  done
}

down() {
  [ -d "$dir/pids" ] || return 0
  # kube-apiserver drains for about a minute on SIGTERM; a test cluster need not wait.
  for name in metrics-adapter kube-faults kube-controller-manager kube-apiserver etcd; do
    stop_pid_file "$dir/pids/$name.pid" 2
  done
}

cmd=${1:?usage: cluster.sh up|down|restart-apiserver|restart-etcd|compact|faults-up|metrics-adapter|metrics-adapter-down|stats DIR}
dir=${2:?usage: cluster.sh $cmd DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
  up) up ;;
  down) down ;;
  restart-apiserver) stop_pid_file "$dir/pids/kube-apiserver.pid" 0; start_apiserver ;;
  restart-etcd) stop_pid_file "$dir/pids/etcd.pid"; start_etcd ;;
  compact) compact ;;
  faults-up) faults_up ;;
  metrics-adapter) metrics_adapter_up "${3:?usage: cluster.sh metrics-adapter DIR PROMETHEUS_URL}" ;;
  metrics-adapter-down) metrics_adapter_down ;;
  stats) stats ;;
  version) . "$dir/env"; version ;;
  *) echo "cluster: unknown command $cmd" >&2; exit 2 ;;
esac
