#!/usr/bin/env python3
"""e2e.tierlimit.autoscaling: a TierLimit's HPA on the real control plane. The operator writes
the autoscaling/v2 HPA for spec.autoscaling (owned by the TierLimit, stored exactly as sent); a
schedule window that is open raises minReplicas to its floor and kube-controller-manager's real
HPA controller scales the Deployment up to it; closing the window (removing the schedule)
restores the floor. Bad input, each explained in status with the field named and nothing else
disturbed: a target TrafficPolicy that does not exist, an unknown time zone, a workload that
already has a user's HPA (left untouched)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))

from sluice_e2e import Failure, Stack, check, log, main, wait_for  # noqa: E402


def apply(s, obj):
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def get(s, kind, name):
    p = s.kubectl("get", kind, name, "-o", "json", check_rc=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def ready(s, name):
    st = (get(s, "tierlimit", name) or {}).get("status", {})
    for c in st.get("conditions", []):
        if c["type"] == "Ready":
            return c
    return {}


def deployment(ns, name, replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "checkout:1",
                                                           "resources": {"requests": {"cpu": "100m"}}}]}}}}


def tier_limit(ns, name, target, schedules, policy="checkout"):
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"targetRefs": [{"kind": "TrafficPolicy", "name": policy}],
                     "tiers": [{"name": "free", "requestsPerSecond": 10}],
                     "autoscaling": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                   "name": target},
                                     "minReplicas": 2, "maxReplicas": 20, "cpuUtilization": 70,
                                     "schedules": schedules}}}


def scenario(build_dir):
    with Stack(build_dir, "tl-autoscaling") as s:
        ns = s.env["NAMESPACE"]
        apply(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
                  "metadata": {"name": "checkout", "namespace": ns},
                  "spec": {"provider": "haproxy", "hostnames": ["checkout.tl.local"],
                           "backends": [{"name": "eastus", "serviceRef": {
                               "name": "checkout-eastus", "port": int(s.env["EASTUS_PORT"])}}]}})
        apply(s, deployment(ns, "checkout", 1))
        # Always open: every minute, for an hour.
        open_window = [{"name": "launch-week", "cron": "* * * * *", "duration": "1h",
                        "minReplicas": 4, "timeZone": "Europe/Stockholm"}]
        apply(s, tier_limit(ns, "checkout", "checkout", open_window))
        wait_for(lambda: (get(s, "hpa", "checkout") or {}).get("spec", {}).get("minReplicas") == 4,
                 30, "the HPA with the schedule's floor 4")
        st = get(s, "tierlimit", "checkout")["status"]
        log(f"status.hpa: {st.get('hpa')}")
        check(st["hpa"]["activeSchedule"] == "launch-week", f"status.hpa: {st.get('hpa')}")
        wait_for(lambda: get(s, "deployment", "checkout")["spec"]["replicas"] == 4, 60,
                 "the real HPA controller to scale the Deployment to the floor")
        log("kube-controller-manager's HPA controller scaled the Deployment 1 -> 4")
        # Its limits ride on the policy's route (e2e.tierlimit.rate-limits tests them).
        wait_for(lambda: any(c["type"] == "RateLimitsEnforced" and c["status"] == "True"
                             for c in get(s, "tierlimit", "checkout")["status"]["conditions"]),
                 30, "RateLimitsEnforced=True")

        s.kubectl("patch", "tierlimit", "checkout", "--type=json", "-p",
                  '[{"op": "remove", "path": "/spec/autoscaling/schedules"}]')
        wait_for(lambda: (get(s, "hpa", "checkout") or {}).get("spec", {}).get("minReplicas") == 2,
                 30, "the floor back to spec.autoscaling.minReplicas")

        s.kubectl("patch", "tierlimit", "checkout", "--type=json", "-p",
                  '[{"op": "remove", "path": "/spec/autoscaling"}]')
        wait_for(lambda: get(s, "hpa", "checkout") is None, 30,
                 "the HPA to go with spec.autoscaling")
        apply(s, tier_limit(ns, "checkout", "checkout", []))
        wait_for(lambda: get(s, "hpa", "checkout") is not None, 30, "the HPA back")

        # Bad input.
        apply(s, tier_limit(ns, "orphan", "orphan-app", [], policy="nonexistent"))
        wait_for(lambda: ready(s, "orphan").get("reason") == "TargetNotFound", 30,
                 "TargetNotFound for a missing TrafficPolicy")
        check("spec.targetRefs[0].name" in ready(s, "orphan")["message"], ready(s, "orphan"))
        bad_zone = [{"name": "x", "cron": "0 8 * * *", "duration": "1h", "minReplicas": 3,
                     "timeZone": "Mars/Olympus_Mons"}]
        p = s.kubectl("apply", "-f", "-", check_rc=False,
                      stdin=json.dumps(tier_limit(ns, "mars", "mars-app", bad_zone)))
        if p.returncode == 0:
            wait_for(lambda: ready(s, "mars").get("reason") == "InvalidSpec", 30,
                     "InvalidSpec for an unknown time zone")
            msg = ready(s, "mars")["message"]
            check("spec.autoscaling.schedules[0].timeZone" in msg, msg)
            check(get(s, "hpa", "mars") is None, "an HPA was written for an invalid spec")
            log(f"unknown time zone: {msg}")
        else:
            log(f"unknown time zone refused at admission: {p.stderr.strip()}")
        apply(s, deployment(ns, "legacy", 1))
        users = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                 "metadata": {"name": "legacy-by-hand", "namespace": ns},
                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "legacy"},
                          "minReplicas": 1, "maxReplicas": 3}}
        apply(s, users)
        before = get(s, "hpa", "legacy-by-hand")["metadata"]["resourceVersion"]
        apply(s, tier_limit(ns, "legacy", "legacy", []))
        wait_for(lambda: ready(s, "legacy").get("reason") == "HPAConflict", 30,
                 "HPAConflict for a workload a user's HPA scales")
        log(f"user's HPA: {ready(s, 'legacy')['message']}")
        check(get(s, "hpa", "legacy") is None, "an HPA was generated next to the user's")
        check(get(s, "hpa", "legacy-by-hand")["metadata"]["resourceVersion"] == before,
              "the user's HPA was modified")
        if get(s, "hpa", "checkout") is None:
            raise Failure("the first TierLimit's HPA was disturbed")


if __name__ == "__main__":
    main(scenario)
