#!/usr/bin/env python3
"""e2e.trafficpolicy.faults: faults and bad input, one after another on one stack. Each time
the status explains what happened, traffic keeps flowing on the last good (or baseline)
weights, and the operator neither crashes nor loops.
  1. Prometheus gone: MetricsAvailable=False, weights held, every request still answered.
  2. A backend's Service deleted: that backend gets no traffic at once (Down), status names
     the Service; back when the Service is.
  3. Every backend unhealthy: panic, Degraded=True with a Warning Event, traffic spread over
     all backends rather than sent to one or to none.
  4. A query template with an unknown placeholder: MetricsAvailable=False naming the field;
     no queries at all: the haproxy provider's built-in queries (HAProxy's metrics) answer.
  5. More backends than a Gateway API rule allows (17 on gatewayAPI): Ready=False saying so,
     nothing silently dropped; admission refuses an invalid spec naming the field."""
import json
import time

from tp_e2e import (REGIONS, backend, check, condition, log, main, send, set_backend, shares,
                    start_policy, status, wait_answering, wait_policy, Stack)

HOST = "checkout.faults.local"


def scenario(build_dir):
    with Stack(build_dir, "tp-faults") as s:
        s.background_traffic(HOST, rate=80)
        start_policy(s, "checkout", HOST)
        wait_policy(s, "checkout", lambda st: st.get("activeBackends") == 3 and
                    condition(st, "MetricsAvailable").get("status") == "True", 60,
                    "3 active backends, metrics available")
        wait_answering(s, HOST)
        ops = s.metric_sum(s.env["OPERATOR_METRICS"], "controller_reconcile_total",
                           controller="trafficpolicy")

        # 1. Prometheus gone.
        weights = {b["name"]: b["weight"] for b in status(s, "checkout")["backends"]}
        s.stack("prometheus-stop")
        st = wait_policy(s, "checkout", lambda st: condition(st, "MetricsAvailable").get(
            "status") == "False", 30, "MetricsAvailable=False")
        log(f"Prometheus gone: {condition(st, 'MetricsAvailable')['message']}")
        time.sleep(3)
        st = status(s, "checkout")
        held = {b["name"]: b["weight"] for b in st["backends"]}
        check(held == weights, f"weights moved without metrics: {weights} -> {held}")
        out = shares(send(s, HOST, 300))
        check(out["other"] == 0, f"requests failed while Prometheus was gone: {out}")
        s.stack("prometheus-start")
        wait_policy(s, "checkout", lambda st: condition(st, "MetricsAvailable").get(
            "status") == "True", 60, "MetricsAvailable=True again")

        # 2. A backend's Service deleted.
        s.kubectl("delete", "service", "checkout-westeurope")
        st = wait_policy(s, "checkout", lambda st: backend(st, "westeurope").get("weight") == 0,
                         30, "westeurope at weight 0")
        log(f"Service deleted: {backend(st, 'westeurope')}")
        check("not found" in backend(st, "westeurope").get("reason", ""),
              f"status does not say the Service is missing: {backend(st, 'westeurope')}")
        out = shares(send(s, HOST, 300))
        check(out["westeurope"] == 0 and out["other"] == 0,
              f"with westeurope's Service gone: {out}")
        from tp_e2e import apply
        apply(s, "services.yaml.tmpl")

        # 3. Every backend unhealthy: panic.
        for r in REGIONS:
            set_backend(s, r, errorRate=0.5)
        st = wait_policy(s, "checkout", lambda st: condition(st, "Degraded").get("status") ==
                         "True", 60, "Degraded=True (panic)")
        log(f"all unhealthy: {condition(st, 'Degraded')['message']}")
        time.sleep(2)
        st = status(s, "checkout")
        check(all(backend(st, r).get("weight", 0) > 0 for r in REGIONS),
              f"panic did not spread traffic over every backend: {st['backends']}")
        result = send(s, HOST, 300)
        served = {k for k, codes in result["byInstanceStatus"].items() if k in REGIONS}
        check(served == set(REGIONS), f"in panic not every region served: {result}")
        ev = s.kubectl("events", "--for", "trafficpolicy/checkout").stdout
        check("Panic" in ev, f"no Panic Event:\n{ev}")
        for r in REGIONS:
            set_backend(s, r, errorRate=0)
        wait_policy(s, "checkout", lambda st: condition(st, "Degraded").get("status") ==
                    "False", 60, "Degraded=False once healthy")

        # 4. A query template with an unknown placeholder.
        s.kubectl("patch", "trafficpolicy", "checkout", "--type=merge", "-p", json.dumps(
            {"spec": {"metrics": {"queries": {"errorRate": "rate(x{svc=\"{{svc}}\"}[1m])"}}}}))
        st = wait_policy(s, "checkout", lambda st: condition(st, "MetricsAvailable").get(
            "status") == "False", 30, "MetricsAvailable=False for a bad template")
        msg = condition(st, "MetricsAvailable")["message"]
        log(f"bad template: {msg}")
        check("spec.metrics.queries.errorRate" in msg and "svc" in msg,
              f"the message does not name the field and placeholder: {msg}")
        out = shares(send(s, HOST, 200))
        check(out["other"] == 0, f"requests failed with a bad template: {out}")
        # No queries at all: the haproxy provider's built-in ones (HAProxy's own metrics).
        s.kubectl("patch", "trafficpolicy", "checkout", "--type=json", "-p",
                  '[{"op": "remove", "path": "/spec/metrics/queries"}]')
        st = wait_policy(s, "checkout", lambda st: condition(st, "MetricsAvailable").get(
            "status") == "True" and all(b.get("errorRate") is not None and
                                        b.get("latencyP99Milliseconds") is not None
                                        for b in st.get("backends", [])), 30,
            "metrics from the built-in HAProxy queries")
        log(f"built-in queries: {[(b['name'], b['errorRate'], b['latencyP99Milliseconds']) for b in st['backends']]}")
        check(st.get("activeBackends") == 3, f"built-in queries: {st}")

        # 5. 17 backends on gatewayAPI; and admission.
        many = {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
                "metadata": {"name": "many", "namespace": s.env["NAMESPACE"]},
                "spec": {"provider": "gatewayAPI", "hostnames": ["many.example.com"],
                         "parentRefs": [{"name": "edge"}],
                         "backends": [{"name": f"b{i}", "serviceRef": {
                             "name": "checkout-eastus", "port": int(s.env["EASTUS_PORT"])}}
                             for i in range(17)]}}
        s.kubectl("apply", "-f", "-", stdin=json.dumps(many))
        st = wait_policy(s, "many", lambda st: condition(st, "Ready").get("status") == "False",
                         30, "Ready=False for 17 backends on gatewayAPI")
        log(f"17 backends: {st.get('message')}")
        check("16" in st.get("message", ""), f"status does not explain the limit: {st}")
        bad = json.loads(json.dumps(many))
        bad["metadata"]["name"] = "bad"
        bad["spec"]["failover"] = {"shift": {"steps": 0}}
        p = s.kubectl("apply", "-f", "-", stdin=json.dumps(bad), check_rc=False)
        check(p.returncode != 0 and "steps" in p.stderr, f"admission took steps 0: {p.stderr}")

        after = s.metric_sum(s.env["OPERATOR_METRICS"], "controller_reconcile_total",
                             controller="trafficpolicy")
        log(f"trafficpolicy reconciles during the faults: {after - ops:.0f}")
        check(after is not None and after > ops, "the operator stopped answering or reconciling")


if __name__ == "__main__":
    main(scenario)
