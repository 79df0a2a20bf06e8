#!/usr/bin/env python3
"""e2e.observability.dashboard: the alerts and the Grafana dashboard against real metrics.

On the local stack (real control plane, operator, HAProxy, Prometheus scraping every second and
evaluating charts/sluice/files/alerts.yaml): a CanaryRollout under live traffic, a TrafficPolicy
over three regions with a budget, and a TierLimit with an HPA on it (as `make demo` runs them);
a free and a premium customer send at once, so the free one gets 429s.

(a) No SluiceCanaryRolledBack fires for the rollout while it progresses; once its canary starts
    failing and it rolls back, ALERTS{alertname="SluiceCanaryRolledBack",alertstate="firing"}
    appears in Prometheus with the rollout's namespace and name.
(b) Every panel query of charts/sluice/files/dashboards/sluice.json, its template variables
    filled in ($namespace: the stack's, $name: the three objects', $job: the default,
    $__rate_interval: 5s), evaluated through Prometheus's /api/v1/query, answers status success
    with at least one series. A failure lists every failing panel, target and query.
(c) The variables namespace and name (label_values queries) offer the stack's namespace and the
    three objects' names.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(E2E, "canary"))
sys.path.insert(0, os.path.join(E2E, "tierlimit"))
sys.path.insert(0, HERE)

from sluice_e2e import ROOT, Failure, Stack, check, log, main, render, wait_for  # noqa: E402
from tl_e2e import Client, in_parallel, wait_enforced  # noqa: E402
import dashboard_queries  # noqa: E402

ROLLOUT = "payment"
ROLLOUT_HOST = "payment.obs.local"
POLICY = "checkout"  # samples/tierlimit-checkout.yaml targets the TrafficPolicy checkout
POLICY_HOST = "checkout.obs.local"
TIERLIMIT = "checkout"
ALERT = "SluiceCanaryRolledBack"


def query(s, promql):
    """Prometheus's answer to an instant query: (status, result list or error text)."""
    url = s.env["PROM_URL"] + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as e:  # 400/422: Prometheus refused the query
        try:
            body = json.loads(e.read())
        except ValueError:
            return "error", f"HTTP {e.code}"
    except OSError as e:
        return "error", str(e)
    if body.get("status") != "success":
        return body.get("status", "?"), f"{body.get('errorType')}: {body.get('error')}"
    return "success", body["data"]["result"]


def firing(s):
    status, result = query(s, f'ALERTS{{alertname="{ALERT}",alertstate="firing"}}')
    check(status == "success", f"Prometheus refused the ALERTS query: {result}")
    return [r["metric"] for r in result]


def for_rollout(s, alerts):
    return [a for a in alerts
            if a.get("namespace") == s.env["NAMESPACE"] and a.get("name") == ROLLOUT]


def apply_text(s, text):
    s.kubectl("apply", "-f", "-", stdin=text)


def start_policy_and_tierlimit(s):
    """As `make demo`: the three regional checkout Services, the TrafficPolicy checkout (plus a
    budget, so the budget panels have a series), the checkout Deployment and
    samples/tierlimit-checkout.yaml on it."""
    tp = os.path.join(E2E, "trafficpolicy", "manifests")
    apply_text(s, render(os.path.join(tp, "services.yaml.tmpl"), s.env))
    apply_text(s, render(os.path.join(tp, "checkout.yaml.tmpl"), {
        **s.env, "NAME": POLICY, "HOSTNAME": POLICY_HOST, "STRATEGY": "RoundRobin",
        "TIERS": "[]", "CAPACITY": "1000", "LATENCY_THRESHOLD": "500", "WINDOW": "4s"}))
    s.kubectl("patch", "trafficpolicy", POLICY, "--type=merge",
              "-p", '{"spec":{"budget":{"maxCostPerHour":"5","alertAtPercent":80}}}')
    s.kubectl("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": s.env["NAMESPACE"]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "checkout"}},
                 "template": {"metadata": {"labels": {"app": "checkout"}},
                              "spec": {"containers": [{"name": "app", "image": "checkout:1",
                                                       "resources": {"requests":
                                                                     {"cpu": "100m"}}}]}}}}))
    s.kubectl("apply", "-f", os.path.join(ROOT, "samples", "tierlimit-checkout.yaml"))
    s.background_traffic(POLICY_HOST, rate=40, headers=("X-Tier: premium",
                                                        "X-Customer-ID: steady"))


def customers(s, seconds, seen):
    """A free and a premium customer at 30 rps each for `seconds`; the free one is limited to
    10 rps after a burst of 20 (samples/tierlimit-checkout.yaml). `seen` gets the free
    customer's answers by status."""
    free = Client(s, POLICY_HOST, {"X-Tier": "free", "X-Customer-ID": "acme-free"})
    premium = Client(s, POLICY_HOST, {"X-Tier": "premium", "X-Customer-ID": "globex"})
    in_parallel(lambda: free.paced(30, seconds), lambda: premium.paced(30, seconds))
    log(f"free customer: {free.statuses()}, premium customer: {premium.statuses()}")
    seen.update(free.statuses())
    check(free.statuses().get(429, 0) > 0, f"the free customer got no 429: {free.statuses()}")
    check(set(premium.statuses()) == {200},
          f"the premium customer got other answers than 200: {premium.statuses()}")


def tier_counter(s, metric, tier):
    """The tier's counter in Prometheus (one operator replica's series), or None."""
    status, result = query(s, f'sum(max by (trafficpolicy, tier) ({metric}{{namespace='
                              f'"{s.env["NAMESPACE"]}",name="{TIERLIMIT}",tier="{tier}"}}))')
    check(status == "success", f"Prometheus refused the {metric} query: {result}")
    return float(result[0]["value"][1]) if result else None


def label_values(s, label, selector):
    url = (s.env["PROM_URL"] + f"/api/v1/label/{label}/values?" +
           urllib.parse.urlencode({"match[]": selector}))
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.loads(r.read())
    check(body.get("status") == "success", f"Prometheus refused label values {label} of "
          f"{selector}: {body}")
    return set(body["data"])


def failing_panels(s, qs):
    out = []
    for title, ref, q in qs:
        status, result = query(s, q)
        if status != "success":
            out.append((title, ref, q, f"status {status}: {result}"))
        elif not result:
            out.append((title, ref, q, "empty result"))
    return out


def scenario(build_dir):
    started = time.monotonic()
    with Stack(build_dir, "obs-dashboard") as s:
        ns = s.env["NAMESPACE"]
        log(f"stack up in {time.monotonic() - started:.1f}s (namespace {ns})")
        s.start_canary(ROLLOUT, ROLLOUT_HOST, "2s", rate=80)
        start_policy_and_tierlimit(s)

        # (a) While the canary progresses, the alert stays silent for it.
        s.wait_status(ROLLOUT, lambda st: st.get("canaryWeight", 0) >= 10, 60, "weight 10")
        wait_enforced(s, TIERLIMIT)
        customers_result, free_seen = [], {}
        traffic = threading.Thread(target=lambda: customers_result.append(
            _capture(lambda: customers(s, 6, free_seen))))
        traffic.start()
        check(not for_rollout(s, firing(s)),
              f"{ALERT} fires for {ns}/{ROLLOUT} before any rollback: {firing(s)}")
        s.set_canary_errors(1.0)
        spike = time.monotonic()
        s.wait_status(ROLLOUT, lambda st: st.get("phase") == "RolledBack", 30, "RolledBack")
        rolled_back = time.monotonic() - spike
        alerts = wait_for(lambda: for_rollout(s, firing(s)), 20,
                          f'ALERTS{{alertname="{ALERT}",alertstate="firing",namespace="{ns}",'
                          f'name="{ROLLOUT}"}} in Prometheus')
        log(f"rolled back {rolled_back:.1f}s after the errors started; {ALERT} firing "
            f"{time.monotonic() - spike:.1f}s after: {alerts}")
        traffic.join()
        if customers_result and customers_result[0] is not None:
            raise customers_result[0]
        # The 429 panels show what the customer saw: Prometheus's count of the free tier's
        # refusals (scraped within a second or two) reaches the 429s answered to it.
        answered = free_seen.get(200, 0) + free_seen.get(429, 0)
        refused = free_seen.get(429, 0)
        deadline = time.monotonic() + 10
        while True:
            counted = tier_counter(s, "sluice_tierlimit_rejected_total", "free")
            requests = tier_counter(s, "sluice_tierlimit_requests_total", "free")
            if (counted is not None and counted >= refused) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        log(f"free tier in Prometheus: {counted} refused of {requests} requests; the customer "
            f"got {refused} 429s of {sum(free_seen.values())} requests")
        check(counted == refused and requests is not None and
              answered <= requests <= sum(free_seen.values()),
              f"Prometheus counts {counted} 429s of {requests} requests for the free tier; its "
              f"only customer got {refused} 429s of {sum(free_seen.values())} requests "
              f"({free_seen})")

        # (b) Every panel query returns data. The gauges of the HPA come from its status,
        # which kube-controller-manager writes within its sync period: wait up to 30 s for all
        # of them, then name every panel still without data.
        d = dashboard_queries.load()
        qs = dashboard_queries.queries(d, {"datasource": "prometheus", "namespace": ns,
                                           "name": "|".join(sorted({ROLLOUT, POLICY, TIERLIMIT})),
                                           "job": ".*sluice.*"})
        check(qs, "the dashboard has no panel queries")
        deadline = time.monotonic() + 30
        while True:
            bad = failing_panels(s, qs)
            if not bad or time.monotonic() > deadline:
                break
            time.sleep(1)
        problems = []
        if bad:
            lines = "\n".join(f"  - {title} [{ref}]: {why}\n      {q}" for title, ref, q, why in bad)
            problems.append(f"{len(bad)} of {len(qs)} dashboard panel queries failed against "
                            f"the stack's Prometheus:\n{lines}")
        else:
            log(f"all {len(qs)} queries of {len(dashboard_queries.panels(d))} dashboard panels "
                f"returned data")

        # (c) The variables offer what the panels were filtered by: the stack's namespace, and
        # (in it) the three objects' names.
        want = {"namespace": {ns}, "name": {ROLLOUT, POLICY, TIERLIMIT}}
        variables = dashboard_queries.label_values_variables(d, {"namespace": ns})
        check({v for v, _, _ in variables} == set(want),
              f"dashboard query variables {[v for v, _, _ in variables]}, want {sorted(want)}")
        for var, label, selector in variables:
            got = label_values(s, label, selector)
            if want[var] <= got:
                log(f"variable ${var} offers {sorted(got)}")
            else:
                problems.append(f"variable ${var} (label_values({selector}, {label})) offers "
                                f"{sorted(got)}, which lacks {sorted(want[var] - got)}")
        if problems:
            raise Failure("\n".join(problems))


def _capture(fn):
    try:
        fn()
        return None
    except Failure as e:
        return e


if __name__ == "__main__":
    main(scenario)
