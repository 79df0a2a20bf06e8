#!/usr/bin/env bash
# `make demo`: the local stack (a real control plane: etcd, kube-apiserver,
# kube-controller-manager; the operator installed with helm and running as the chart's
# ServiceAccount; Prometheus, HAProxy and sample backends), a canary that walks 5→10→25→50→75→100 under live traffic, then a second canary
# whose backend starts failing at 25 % and is rolled back, then a TrafficPolicy over three
# regions: one fails, its traffic leaves it step by step and comes back once it heals. Ends by
# itself and cleans up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
stack=$root/e2e/stack/stack.sh
dir=$(mktemp -d /tmp/sluice-demo.XXXXXX)
step_interval=${SLUICE_DEMO_STEP_INTERVAL:-4s}

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null || true
  [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null || true
  "$stack" down "$dir" || true
  echo "demo: stopped everything; logs kept in $dir/logs"
}
trap cleanup EXIT

render() {  # render TEMPLATE KEY=VALUE...: fills ${KEY} placeholders from the env and args
  python3 - "$@" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
values = dict(os.environ)
values.update(a.split("=", 1) for a in sys.argv[2:])
for k, v in values.items():
    text = text.replace("${" + k + "}", v)
if "${" in text:
    sys.exit(f"demo: unfilled placeholder in {sys.argv[1]}")
print(text)
PY
}

# Prints each rollout's line when its phase, step or weight changes (like `kubectl get -w`,
# without the repeats: status is rewritten after every analysis).
watch_rollouts() {
  (
    declare -A last
    # (Not `kubectl get | head -1`: with pipefail, kubectl's SIGPIPE would end this subshell.)
    printf '%-16s %-12s %-5s %-7s %s\n' NAME PHASE STEP WEIGHT AGE
    while true; do
      while read -r name phase step weight age; do
        key="$phase $step $weight"
        if [ "${last[$name]:-}" != "$key" ]; then
          printf '%-16s %-12s %-5s %-7s %s\n' "$name" "$phase" "$step" "$weight" "$age"
          last[$name]=$key
        fi
      done < <(kubectl get canaryrollouts --no-headers 2>/dev/null)
      sleep 0.3
    done
  ) &
  watch_pid=$!
}

phase_of() { kubectl get canaryrollout "$1" -o jsonpath='{.status.phase}' 2>/dev/null || true; }
weight_of() { kubectl get canaryrollout "$1" -o jsonpath='{.status.canaryWeight}' 2>/dev/null || true; }

wait_phase() {  # wait_phase NAME PHASE SECONDS
  local deadline=$((SECONDS + $3))
  until [ "$(phase_of "$1")" = "$2" ]; do
    if ((SECONDS >= deadline)); then
      echo "demo: $1 did not reach $2 within $3 s (phase: $(phase_of "$1"))" >&2
      kubectl get canaryrollout "$1" -o yaml >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

bold "Starting the local stack in $dir"
"$stack" up "$dir" "$build"
# shellcheck disable=SC1091
. "$dir/env"
export KUBECONFIG
echo "API server: $(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')" \
  "($(kubectl version -o json | python3 -c 'import json,sys; print("kube-apiserver", json.load(sys.stdin)["serverVersion"]["gitVersion"])'))"
echo "Namespace: $NAMESPACE (helm release: $(helm list -q))   control plane start:" \
  "$(awk '/^total/ {print $2/1000 " s"}' "$dir/cluster/start-ms" 2>/dev/null)"
echo "Prometheus: $PROM_URL   HAProxy: http://127.0.0.1:$GATEWAY_PORT   operator metrics: $OPERATOR_METRICS"
kubectl get crd | grep sluice.dev

bold "Sample Services (stable and canary backends)"
render "$root/e2e/canary/manifests/services.yaml.tmpl" | kubectl apply -f -

bold "Live traffic: hey sends ~100 req/s through HAProxy"
hey -z 600s -q 25 -c 4 -host payment.demo.local "http://127.0.0.1:$GATEWAY_PORT/" >/dev/null 2>&1 &
load_pid=$!

bold "Canary 1: payment-api v2, healthy. Steps 5→10→25→50→75→100, ${step_interval} each"
render "$root/e2e/canary/manifests/rollout.yaml.tmpl" ROLLOUT_NAME=payment-api \
  HOSTNAME=payment.demo.local STEP_INTERVAL="$step_interval" MIN_REQUESTS=5 | kubectl apply -f -
watch_rollouts
wait_phase payment-api Succeeded 180
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=
echo
echo "Traffic split measured from real responses after success:"
python3 "$root/e2e/stack/loadgen.py" --port "$GATEWAY_PORT" --host payment.demo.local \
  --tenants 400 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  ", r["byInstance"])'
echo "Every response names the version that served it (spec.versionHeader):"
curl -fsS -o /dev/null -D - -H "Host: payment.demo.local" -H "X-Tenant-ID: demo" \
  "http://127.0.0.1:$GATEWAY_PORT/" | grep -iE '^(x-served-by|x-sluice-canary)' | sed 's/^/   /'

bold "Canary 2: payment-api v3, which starts failing once it gets 25 % of traffic"
kubectl delete canaryrollout payment-api --wait=false >/dev/null
kill "$load_pid" 2>/dev/null || true
hey -z 600s -q 25 -c 4 -host payment-v3.demo.local "http://127.0.0.1:$GATEWAY_PORT/" \
  >/dev/null 2>&1 &
load_pid=$!
render "$root/e2e/canary/manifests/rollout.yaml.tmpl" ROLLOUT_NAME=payment-api-v3 \
  HOSTNAME=payment-v3.demo.local STEP_INTERVAL="$step_interval" MIN_REQUESTS=5 | kubectl apply -f -
watch_rollouts
deadline=$((SECONDS + 120))
until [ "$(weight_of payment-api-v3)" = "25" ]; do
  ((SECONDS < deadline)) || { echo "demo: canary 2 never reached 25 %" >&2; exit 1; }
  sleep 0.2
done
echo ">>> canary backend now fails every request"
curl -fsS -X POST "$CANARY_ADMIN/admin/config?errorRate=1.0" >/dev/null
start=$(date +%s.%N)
wait_phase payment-api-v3 RolledBack 60
end=$(date +%s.%N)
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=
echo
python3 -c "print(f\"Rolled back {$end - $start:.1f} s after the errors started.\")"
kubectl get canaryrollout payment-api-v3 -o jsonpath='  reason: {.status.message}{"\n"}'
echo "Events (kubectl events):"
kubectl events --for canaryrollout/payment-api-v3 2>/dev/null | tail -n 12
echo
echo "Traffic split after the rollback (measured):"
python3 "$root/e2e/stack/loadgen.py" --port "$GATEWAY_PORT" --host payment-v3.demo.local \
  --tenants 400 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  ", r["byInstance"])'
curl -fsS "$PROM_URL/api/v1/query" --data-urlencode \
  'query=ALERTS{alertname="SluiceCanaryRolledBack",alertstate="firing",name="payment-api-v3"}' |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print("Alert SluiceCanaryRolledBack:", "firing" if r else "not firing yet", "(see '"$PROM_URL"'/alerts; runbook: docs/runbooks.md#sluicecanaryrolledback)")'
kill "$load_pid" 2>/dev/null || true

bold "TrafficPolicy: checkout across eastus, westeurope, southeastasia (40/30/30)"
render "$root/e2e/trafficpolicy/manifests/services.yaml.tmpl" | kubectl apply -f -
render "$root/e2e/trafficpolicy/manifests/checkout.yaml.tmpl" NAME=checkout \
  HOSTNAME=checkout.demo.local STRATEGY=RoundRobin TIERS='[]' CAPACITY=1000 \
  LATENCY_THRESHOLD=500 WINDOW=4s | kubectl apply -f -
hey -z 600s -q 25 -c 4 -host checkout.demo.local "http://127.0.0.1:$GATEWAY_PORT/" >/dev/null 2>&1 &
load_pid=$!
backends_of() {
  kubectl get trafficpolicy checkout -o \
    jsonpath='{range .status.backends[*]}{.name}={.state}/{.weight}{"  "}{end}' 2>/dev/null || true
}
measured() {  # who answered 200 requests, from the responses themselves
  python3 "$root/e2e/stack/loadgen.py" --port "$GATEWAY_PORT" --host checkout.demo.local \
    --tenants 200 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["byInstance"])'
}
# Prints the backends' states and weights (parts per million) whenever they change, with the
# split measured right then, until `until` matches or the deadline passes.
watch_policy() {  # watch_policy UNTIL_REGEX SECONDS
  local last="" now deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    now=$(backends_of)
    if [ -n "$now" ] && [ "$now" != "$last" ]; then
      printf '%s  %s\n   measured: %s\n' "$(date +%T)" "$now" "$(measured)"
      last=$now
    fi
    [[ $now =~ $1 ]] && return 0
    sleep 0.3
  done
  echo "demo: timed out waiting for $1" >&2
  return 1
}
watch_policy 'eastus=Healthy/400000' 60
kubectl get trafficpolicy checkout
echo ">>> eastus starts failing half its requests (health checks still pass)"
curl -fsS -X POST "$EASTUS_ADMIN/admin/config?errorRate=0.5" >/dev/null
watch_policy 'eastus=Drained/0' 60
kubectl get trafficpolicy checkout -o jsonpath='  shift: {.status.backends[0].reason}{"\n"}'
echo ">>> eastus is healthy again: it comes back after 6 s of health, step by step"
curl -fsS -X POST "$EASTUS_ADMIN/admin/config?errorRate=0" >/dev/null
watch_policy 'eastus=Healthy/400000' 90
echo "Events (kubectl events):"
kubectl events --for trafficpolicy/checkout 2>/dev/null | tail -n 8
kill "$load_pid" 2>/dev/null || true

bold "TierLimit: per-customer limits by tier on checkout (samples/tierlimit-checkout.yaml)"
kubectl apply -f - <<'YAML' >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout}
spec:
  replicas: 1
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: app, image: checkout:1, resources: {requests: {cpu: 100m}}}]}
YAML
kubectl apply -f "$root/samples/tierlimit-checkout.yaml"
for _ in $(seq 1 100); do
  [ "$(kubectl get tierlimit checkout -o \
    jsonpath='{.status.conditions[?(@.type=="RateLimitsEnforced")].status}')" = True ] && break
  sleep 0.3
done
kubectl get tierlimit checkout -o \
  jsonpath='  RateLimitsEnforced: {.status.conditions[?(@.type=="RateLimitsEnforced")].message}{"\n"}'
sleep 1  # the new HAProxy worker takes over
python3 "$root/e2e/tierlimit/demo_traffic.py" "$GATEWAY_PORT" checkout.demo.local 5
echo "The HPA the TierLimit made (floor from its Stockholm business-hours schedule):"
kubectl get tierlimit checkout -o \
  jsonpath='  HPA {.status.hpa.name}: minReplicas {.status.hpa.minReplicas}, schedule "{.status.hpa.activeSchedule}", next change {.status.hpa.nextChange}{"\n"}'
want=$(kubectl get tierlimit checkout -o jsonpath='{.status.hpa.minReplicas}')
for _ in $(seq 1 60); do
  [ "$(kubectl get deployment checkout -o jsonpath='{.spec.replicas}')" = "$want" ] && break
  sleep 1
done
echo "  kube-controller-manager's HPA controller: Deployment checkout at $(kubectl get deployment \
  checkout -o jsonpath='{.spec.replicas}') replicas (was 1)"

bold "kubectl sluice (the plugin, $build/operator/plugin on PATH)"
export PATH="$build/operator/plugin:$PATH"
echo "$ kubectl sluice get"
kubectl sluice get
echo "$ kubectl sluice status tp/checkout"
kubectl sluice status tp/checkout | sed -n '1,12p'
echo "$ kubectl sluice promote payment-api-v3   (does not apply: it rolled back)"
kubectl sluice promote payment-api-v3 || echo "  (exit code $?)"

echo "Operator: $(ps -o rss=,time= -p "$(cat "$dir/pids/operator.pid")" | awk '{printf "RSS %.1f MiB, CPU time %s", $1/1024, $2}')"
bold "Demo finished"
