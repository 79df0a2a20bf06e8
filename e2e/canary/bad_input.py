#!/usr/bin/env python3
"""e2e.canary.bad-input: an invalid PromQL query, an unreachable Prometheus address and a
missing Service each show what is wrong in status; nothing crashes; a good rollout running
beside them still reaches Succeeded."""
import json
import urllib.request

from sluice_e2e import Stack, check, main

GOOD = "payment.good.local"


def condition_text(st):
    return json.dumps(st.get("conditions", [])) + " " + st.get("message", "") + " " + \
        json.dumps(st.get("analysis", {}))


# Each bad rollout: a test that its status says what is wrong, and what that is.
EXPLAINED = {
    "bad-query": (lambda st: "query" in condition_text(st).lower() and
                  ("parse" in condition_text(st).lower() or
                   "bad_data" in condition_text(st).lower()), "the invalid query"),
    "bad-prom": (lambda st: "127.0.0.1:1" in condition_text(st), "the unreachable Prometheus"),
    "bad-svc": (lambda st: "payment-api-missing" in condition_text(st), "the missing Service"),
}


def scenario(build_dir):
    with Stack(build_dir, "badinput") as s:
        s.start_canary("good", GOOD, "2s")
        text = s.rollout("good")
        # 1. invalid PromQL
        spec = json.loads(json.dumps(text["spec"]))
        spec["analysis"]["metrics"][0]["query"] = "sum(rate(http_requests_total{[1m]"
        spec["route"]["hostnames"] = ["bad-query.local"]
        apply(s, "bad-query", spec)
        # 2. Prometheus address that nothing listens on
        spec = json.loads(json.dumps(text["spec"]))
        spec["analysis"]["prometheus"]["address"] = "http://127.0.0.1:1"
        spec["route"]["hostnames"] = ["bad-prom.local"]
        apply(s, "bad-prom", spec)
        # 3. canary Service that does not exist
        spec = json.loads(json.dumps(text["spec"]))
        spec["canary"]["serviceRef"]["name"] = "payment-api-missing"
        spec["route"]["hostnames"] = ["bad-svc.local"]
        apply(s, "bad-svc", spec)

        for name, (says, what) in EXPLAINED.items():
            s.wait_status(name, says, 30, f"status naming {what}")
        check_held(s, "when first reported")
        st = s.wait_status("good", lambda st: st.get("phase") == "Succeeded", 90,
                           "the good rollout to succeed beside the bad ones")
        # The good rollout took all its steps meanwhile (5 step intervals and more), time in
        # which a bad one that treats its errors as passing analysis would have advanced too.
        check_held(s, "after the good rollout succeeded")
        probe = s.env["OPERATOR_PROBE_PORT"]
        with urllib.request.urlopen(f"http://127.0.0.1:{probe}/healthz", timeout=5) as r:
            check(r.status == 200, "operator unhealthy after bad input")


def check_held(s, when):
    """Each bad rollout still holds its first step, unpromoted, and still says what is wrong."""
    for name, (says, what) in EXPLAINED.items():
        st = s.status(name)
        check(st.get("phase") != "Succeeded", f"{name} promoted on bad input ({when}): {st}")
        check(st.get("currentStep", 0) == 0 and (st.get("canaryWeight") or 0) <= 5,
              f"{name} advanced past the first step on bad input ({when}): {st}")
        check(says(st), f"{name}: status no longer names {what} ({when}): {st}")


def apply(s, name, spec):
    obj = {"apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
           "metadata": {"name": name, "namespace": s.env["NAMESPACE"]}, "spec": spec}
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


if __name__ == "__main__":
    main(scenario)
