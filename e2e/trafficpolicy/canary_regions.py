#!/usr/bin/env python3
"""e2e.trafficpolicy.canary-regions: a CanaryRollout whose regions are a TrafficPolicy's
backends. Held at their first steps, eastus's share is split 50/50 with the canary and
westeurope's 90/10, southeastasia untouched: measured from HAProxy's own per-backend counters
over real traffic. Every response of a split backend says its side (X-Sluice-Canary), the
untouched backend's say nothing. Aborting westeurope alone returns its share to its stable
Service while eastus stays at 50 %; eastus then completes on its own analysis."""
import http.client
import time

from tp_e2e import (apply, check, haproxy_served, log, main, send, start_answering_policy,
                    Stack)
from sluice_e2e import wait_for

HOST = "checkout.canary-regions.local"
NAME = "checkout-v2"
BACKENDS = ["eastus", "eastus-canary", "westeurope", "westeurope-canary", "southeastasia"]


def counters(s):
    return haproxy_served(s, "checkout", BACKENDS)


def served_headers(s, requests=200):
    """X-Sluice-Canary of `requests` real responses, by who served them."""
    conn = http.client.HTTPConnection("127.0.0.1", int(s.env["GATEWAY_PORT"]), timeout=5)
    headers = {}
    for _ in range(requests):
        conn.request("GET", "/", headers={"Host": HOST})
        resp = conn.getresponse()
        resp.read()
        check(resp.status == 200, f"status {resp.status}")
        served = resp.getheader("X-Served-By", "none")
        headers.setdefault(served, set()).add(resp.getheader("X-Sluice-Canary"))
    conn.close()
    return headers


def region_split(s, requests=1200):
    """The canary's percent of each split region over `requests` real requests (loadgen, 8 at
    a time), from HAProxy's own per-backend counters."""
    before = counters(s)
    result = send(s, HOST, requests)
    failed = sum(n for codes in result["byInstanceStatus"].values()
                 for code, n in codes.items() if code != "200")
    check(failed == 0, f"{failed} of {requests} requests failed")
    after = counters(s)
    d = {b: after[b] - before[b] for b in BACKENDS}
    split = {}
    for region in ("eastus", "westeurope"):
        total = d[region] + d[region + "-canary"]
        check(total > 0, f"no {region} traffic in HAProxy's counters: {d}")
        split[region] = 100.0 * d[region + "-canary"] / total
    return split


def rollout_status(s):
    import json
    return json.loads(s.kubectl("get", "canaryrollout", NAME, "-o", "json").stdout).get(
        "status", {})


def region(st, name):
    return next((g for g in st.get("regions", []) if g.get("name") == name), {})


def wait_rollout(s, pred, timeout, what):
    return wait_for(lambda: (lambda st: st if pred(st) else None)(rollout_status(s)), timeout,
                    what)


def check_split(s, want, tolerance):
    split = region_split(s)
    log("canary share per region: " + ", ".join(f"{r} {v:.1f}% (want {want[r]}%)"
                                                for r, v in split.items()))
    for r, v in split.items():
        check(abs(v - want[r]) <= tolerance, f"{r}: canary {v:.1f}% not within {tolerance} of "
              f"{want[r]}%")


def scenario(build_dir):
    with Stack(build_dir, "tp-canary-regions") as s:
        start_answering_policy(s, "checkout", HOST)
        apply(s, "canary-regions.yaml.tmpl", PAUSED="false")
        wait_rollout(s, lambda st: region(st, "eastus").get("canaryWeight") == 50, 30,
                     "eastus at 50%")
        s.kubectl("patch", "canaryrollout", NAME, "--type=merge", "-p",
                  '{"spec":{"paused":true}}')
        st = wait_rollout(s, lambda st: st.get("phase") == "Paused", 20, "Paused")
        check(region(st, "eastus").get("canaryWeight") == 50 and
              region(st, "westeurope").get("canaryWeight") == 10,
              f"regions not held at 50% and 10%: {st.get('regions')}")
        time.sleep(1)  # the policy controller carries the split from the rollout's status
        check_split(s, {"eastus": 50, "westeurope": 10}, 6)
        headers = served_headers(s)
        log(f"X-Sluice-Canary by who served: { {k: sorted(map(str, v)) for k, v in headers.items()} }")
        check(headers.get("canary") == {"true"}, f"canary responses: {headers.get('canary')}")
        for stable in ("eastus", "westeurope"):
            check(headers.get(stable) == {"false"}, f"{stable} responses: {headers.get(stable)}")
        check(headers.get("southeastasia") == {None},
              f"an unsplit backend's responses carry the header: {headers.get('southeastasia')}")

        s.kubectl("annotate", "canaryrollout", NAME, "sluice.dev/abort=westeurope")
        st = wait_rollout(s, lambda st: region(st, "westeurope").get("phase") == "RolledBack",
                          20, "westeurope RolledBack")
        check(region(st, "eastus").get("canaryWeight") == 50,
              f"aborting westeurope moved eastus: {region(st, 'eastus')}")
        time.sleep(1)
        check_split(s, {"eastus": 50, "westeurope": 0}, 6)

        s.kubectl("patch", "canaryrollout", NAME, "--type=merge", "-p",
                  '{"spec":{"paused":false}}')
        st = wait_rollout(s, lambda st: region(st, "eastus").get("phase") == "Succeeded", 60,
                          "eastus Succeeded")
        check(st.get("phase") == "RolledBack", f"top-level phase {st.get('phase')}")
        time.sleep(1)
        check_split(s, {"eastus": 100, "westeurope": 0}, 0)
        log("westeurope rolled back alone; eastus went to 100% on its own analysis")


if __name__ == "__main__":
    main(scenario)
