"""Shared helpers for the TierLimit rate-limit scenarios: the local stack (real control plane,
operator, HAProxy, backends), a TrafficPolicy over the eastus backend and a TierLimit attached to
it, and customers sending real requests at a set pace or all at once. Every figure is measured
from the responses (status codes and the X-RateLimit-*/Retry-After headers)."""
import http.client
import json
import os
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))

from sluice_e2e import Failure, Stack, check, log, main, wait_for  # noqa: E402,F401

HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
           "X-Served-By")


def apply(s, obj):
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def get(s, kind, name):
    p = s.kubectl("get", kind, name, "-o", "json", check_rc=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def condition(s, name, kind):
    st = (get(s, "tierlimit", name) or {}).get("status", {})
    for c in st.get("conditions", []):
        if c["type"] == kind:
            return c
    return {}


def services(s):
    apply(s, {"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "checkout-eastus", "namespace": s.env["NAMESPACE"]},
              "spec": {"type": "ExternalName", "externalName": "localhost",
                       "ports": [{"name": "http", "port": int(s.env["EASTUS_PORT"])}]}})


def traffic_policy(s, name, host, capacity=None, latency_target_ms=None):
    """One backend (eastus). With capacity and a latency target, HAProxy's server maxconn comes
    from Little's law (capacity x latency target) and requests past it queue."""
    backend = {"name": "eastus", "serviceRef": {"name": "checkout-eastus",
                                               "port": int(s.env["EASTUS_PORT"])}}
    spec = {"provider": "haproxy", "hostnames": [host], "backends": [backend]}
    if capacity is not None:
        backend["capacity"] = {"maxRequestsPerSecond": capacity}
        spec["tiers"] = [{"name": "gold", "latencyTargetMilliseconds": latency_target_ms,
                          "match": {"headers": [{"name": "X-Route-Tier", "value": "gold"}]}}]
    apply(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
              "metadata": {"name": name, "namespace": s.env["NAMESPACE"]}, "spec": spec})


def tier_limit(s, name, policy, tiers, **spec):
    body = {"targetRefs": [{"kind": "TrafficPolicy", "name": policy}], "tierHeader": "X-Tier",
            "identity": {"header": "X-Customer-ID"}, "defaultTier": "free", "tiers": tiers}
    body.update(spec)
    apply(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
              "metadata": {"name": name, "namespace": s.env["NAMESPACE"]}, "spec": body})


def wait_enforced(s, name, timeout=60):
    """RateLimitsEnforced=True for the TierLimit's current generation: HAProxy runs exactly
    these limits (the operator read them back)."""
    def enforced():
        tl = get(s, "tierlimit", name) or {}
        c = condition(s, name, "RateLimitsEnforced")
        return (c.get("status") == "True" and
                c.get("observedGeneration") == tl.get("metadata", {}).get("generation"))
    wait_for(enforced, timeout, f"TierLimit {name} RateLimitsEnforced=True")
    log(f"{name}: {condition(s, name, 'RateLimitsEnforced').get('message')}")


class Client:
    """One customer's requests through the gateway, one connection (reopened when HAProxy
    closes it), each answer recorded with its time, status and rate-limit headers."""

    def __init__(self, s, host, headers):
        self.port = int(s.env["GATEWAY_PORT"])
        self.headers = {"Host": host, **headers}
        self.conn = None
        self.answers = []

    def send(self, path="/"):
        started = time.monotonic()
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                self.conn.request("GET", path, headers=self.headers)
                resp = self.conn.getresponse()
                resp.read()
                answer = {"t": started, "status": resp.status,
                          "ms": (time.monotonic() - started) * 1000.0}
                for h in HEADERS:
                    if resp.getheader(h) is not None:
                        answer[h] = resp.getheader(h)
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                self.answers.append(answer)
                return answer
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
        answer = {"t": started, "status": 0, "ms": (time.monotonic() - started) * 1000.0}
        self.answers.append(answer)
        return answer

    def paced(self, rate, seconds):
        """`rate` requests a second for `seconds`, each at its scheduled time."""
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.send()
        return self

    def statuses(self):
        out = {}
        for a in self.answers:
            out[a["status"]] = out.get(a["status"], 0) + 1
        return out


def in_parallel(*jobs):
    """Runs the callables at once; returns when all are done."""
    threads = [threading.Thread(target=j) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def concurrent(s, host, headers_list, path="/"):
    """One request per headers dict, all in flight together; the answers in order."""
    clients = [Client(s, host, h) for h in headers_list]
    in_parallel(*[lambda c=c: c.send(path) for c in clients])
    return [c.answers[0] for c in clients]


def set_latency(s, ms):
    req = urllib.request.Request(f"{s.env['EASTUS_ADMIN']}/admin/config?latencyMs={ms}",
                                 method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def hammer(s, host, headers_for, workers, seconds, path="/"):
    """`workers` customers (headers_for(i)) each sending back to back for `seconds`; every
    answer, all workers together."""
    deadline = time.monotonic() + seconds
    clients = [Client(s, host, headers_for(i)) for i in range(workers)]

    def run(c):
        while time.monotonic() < deadline:
            c.send(path)
    in_parallel(*[lambda c=c: run(c) for c in clients])
    return [a for c in clients for a in c.answers]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def p50(values):
    return percentile(values, 0.50)


def p90(values):
    return percentile(values, 0.90)


def p99(values):
    return percentile(values, 0.99)
