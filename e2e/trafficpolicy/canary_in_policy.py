#!/usr/bin/env python3
"""e2e.trafficpolicy.canary-in-policy: a CanaryRollout with spec.trafficPolicyRef splits one
backend of a TrafficPolicy (eastus, 40 % of checkout's traffic) between its stable Service and
a canary. The policy's route is the only one written: the canary's share of all traffic follows
40 % × the rollout's weight, measured from real responses; an error spike on the canary rolls
it back and eastus's whole share returns to its stable Service."""
import time

from tp_e2e import (Failure, apply, check, log, main, send, start_answering_policy, Stack)

HOST = "checkout.canary.local"


def canary_share(result):
    total = sum(n for codes in result["byInstanceStatus"].values() for n in codes.values())
    canary = sum(n for code, n in result["byInstanceStatus"].get("canary", {}).items()
                 if code == "200")
    failed = sum(n for served, codes in result["byInstanceStatus"].items()
                 for code, n in codes.items() if code != "200")
    return 100.0 * canary / total, failed


def rollout_status(s):
    import json
    return json.loads(s.kubectl("get", "canaryrollout", "eastus-v2", "-o", "json").stdout).get(
        "status", {})


def wait_rollout(s, pred, timeout, what):
    deadline = time.monotonic() + timeout
    st = {}
    while time.monotonic() < deadline:
        st = rollout_status(s)
        if pred(st):
            return st
        time.sleep(0.2)
    raise Failure(f"timed out waiting for {what}: {st}")


def scenario(build_dir):
    with Stack(build_dir, "tp-canary") as s:
        start_answering_policy(s, "checkout", HOST)
        apply(s, "canary.yaml.tmpl")
        st = wait_rollout(s, lambda st: st.get("canaryWeight") == 50, 60, "canary weight 50")
        share, failed = canary_share(send(s, HOST, 600))
        log(f"rollout at {st.get('canaryWeight')} %: canary answered {share:.1f} % of checkout "
            f"(expected about 40 % x 50 % = 20 %)")
        check(failed == 0, f"{failed} requests failed")
        check(12 <= share <= 28, f"canary share {share:.1f} %, expected about 20 %")
        routes = s.kubectl("get", "httproute", "-o", "name", check_rc=False).stdout.strip()
        check(routes == "", f"the rollout wrote a route of its own: {routes}")

        s.set_canary_errors(1.0)
        st = wait_rollout(s, lambda st: st.get("phase") == "RolledBack", 30, "RolledBack")
        log(f"rolled back: {st.get('message')}")
        time.sleep(1)
        share, failed = canary_share(send(s, HOST, 600))
        log(f"after the rollback: canary {share:.1f} %, failed {failed}")
        check(share == 0 and failed == 0, f"after the rollback canary {share} %, failed {failed}")


if __name__ == "__main__":
    main(scenario)
