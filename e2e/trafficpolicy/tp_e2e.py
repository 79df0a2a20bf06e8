"""Shared helpers for the TrafficPolicy end-to-end scenarios: the CanaryRollout scenarios'
local stack (real control plane, operator, Prometheus, HAProxy) with its three regional
checkout backends (eastus, westeurope, southeastasia), driven with the real kubectl and real
traffic. Shares are measured from the responses (X-Served-By) and from HAProxy's own counters.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))

from sluice_e2e import (LOADGEN, Failure, Stack, check, log, main, render,  # noqa: E402,F401
                        wait_for)

REGIONS = ("eastus", "westeurope", "southeastasia")
NO_TIERS = "[]"


def apply(s, template, **values):
    text = render(os.path.join(HERE, "manifests", template), {**s.env, **values})
    return s.kubectl("apply", "-f", "-", stdin=text)


def start_policy(s, name, host, strategy="RoundRobin", tiers=NO_TIERS, capacity=1000,
                 latency_threshold=500, window="4s"):
    apply(s, "services.yaml.tmpl")
    apply(s, "checkout.yaml.tmpl", NAME=name, HOSTNAME=host, STRATEGY=strategy, TIERS=tiers,
          CAPACITY=capacity, LATENCY_THRESHOLD=latency_threshold, WINDOW=window)


def start_answering_policy(s, name, host, rate=100):
    """Background load on `host`, the policy `name` Ready and its route answering."""
    s.background_traffic(host, rate=rate)
    start_policy(s, name, host)
    wait_policy(s, name, lambda st: condition(st, "Ready").get("status") == "True", 60, "Ready")
    wait_answering(s, host)


def wait_answering(s, host, headers=()):
    """The policy's first plan reloads HAProxy: wait until the route answers every request."""
    wait_for(lambda: shares(send(s, host, 30, headers))["other"] == 0, 30,
             f"{host} to answer every request")


def policy(s, name):
    return json.loads(s.kubectl("get", "trafficpolicy", name, "-o", "json").stdout)


def status(s, name):
    return policy(s, name).get("status", {})


def wait_policy(s, name, pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        last = status(s, name)
        if pred(last):
            return last
        time.sleep(0.2)
    raise Failure(f"timed out after {timeout}s waiting for {what}; last status: "
                  f"{json.dumps(last)}")


def backend(st, name):
    for b in st.get("backends", []):
        if b["name"] == name:
            return b
    return {}


def condition(st, kind):
    for c in st.get("conditions", []):
        if c["type"] == kind:
            return c
    return {}


def send(s, host, requests, headers=(), concurrency=8, max_seconds=20):
    """`requests` real requests through HAProxy; returns loadgen's result (byInstanceStatus,
    latencyMs)."""
    args = [sys.executable, LOADGEN, "--port", s.env["GATEWAY_PORT"], "--host", host,
            "--tenants", str(requests), "--concurrency", str(concurrency),
            "--max-seconds", str(max_seconds)]
    for h in headers:
        args += ["--header", h]
    p = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def shares(result):
    """Percent of requests each region answered with 200, plus "other" (any other outcome)."""
    counts = {r: 0 for r in REGIONS}
    other = 0
    total = 0
    for served, codes in result["byInstanceStatus"].items():
        for code, n in codes.items():
            total += n
            if served in counts and code == "200":
                counts[served] += n
            else:
                other += n
    check(total > 0, f"no requests were sent: {result}")
    out = {r: 100.0 * n / total for r, n in counts.items()}
    out["other"] = 100.0 * other / total
    return out


def haproxy_served(s, policy_name, backends=REGIONS):
    """Responses HAProxy's backend for each of `backends` (destination names: the regions, or
    "<region>-canary") has sent so far (its own counters)."""
    out = {}
    for r in backends:
        proxy = f"trafficpolicy:{s.env['NAMESPACE']}:{policy_name}:{policy_name}:{r}"
        out[r] = s.metric_sum(s.env["HAPROXY_STATS_URL"], "haproxy_backend_http_responses_total",
                              proxy=proxy) or 0.0
    return out


def set_backend(s, region, **knobs):
    """errorRate=0.5, latencyMs=300 on one regional backend."""
    import urllib.request
    query = "&".join(f"{k}={v}" for k, v in knobs.items())
    url = f"{s.env[region.upper() + '_ADMIN']}/admin/config?{query}"
    req = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def firing_alerts(s):
    """Names of the alerts the local stack's Prometheus fires for this stack's namespace
    (charts/sluice/files/alerts.yaml)."""
    import urllib.request
    try:
        with urllib.request.urlopen(s.env["PROM_URL"] + "/api/v1/alerts", timeout=5) as r:
            data = json.loads(r.read())
    except OSError:
        return set()
    return {a["labels"]["alertname"] for a in data["data"]["alerts"]
            if a.get("state") == "firing" and a["labels"].get("namespace") == s.env["NAMESPACE"]}
