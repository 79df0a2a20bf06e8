#!/usr/bin/env python3
"""e2e.control-plane.rbac: the chart's RBAC is least-privilege and sufficient, judged by the real
kube-apiserver. The operator runs with a token of the chart's ServiceAccount under the Roles the
chart installed (helm install with watchNamespace). It is driven through every path it has
today: a haproxy rollout with a mirrored HPA through a dead gateway (provider errors, repeated
Warning Events) and a promote annotation to Succeeded, a gatewayAPI rollout (HTTPRoute), leader
election, deletion (the garbage collector removes what it owned). Then the API
server's audit log is read: no request of the operator was refused (403), and every rule the
chart grants was used by some request. Events are read back with `kubectl events`."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canary"))
from sluice_e2e import Stack, check, log, main, wait_for  # noqa: E402

HOST = "payment.rbac.local"


def apply_json(s, obj):
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def exists(s, kind, name):
    return s.kubectl("get", kind, name, "-o", "name", check_rc=False).returncode == 0


def audit_requests(path, user):
    """(verb, group, resource[/subresource], code, URI) of every request `user` made. A watch
    still open has only its ResponseStarted event; every other request its ResponseComplete."""
    out = []
    seen = set()
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("user", {}).get("username") != user or ev["auditID"] in seen:
                continue
            seen.add(ev["auditID"])
            ref = ev.get("objectRef", {})
            res = ref.get("resource", "")
            if ref.get("subresource"):
                res += "/" + ref["subresource"]
            out.append((ev["verb"], ref.get("apiGroup", ""), res,
                        ev.get("responseStatus", {}).get("code", 0), ev.get("requestURI", "")))
    return out


def granted(s, role):
    rules = json.loads(s.kubectl("get", "role", role, "-o", "json").stdout)["rules"]
    return {(verb, group, res) for r in rules for group in r.get("apiGroups", [])
            for res in r.get("resources", []) for verb in r.get("verbs", [])}


def scenario(build_dir):
    with Stack(build_dir, "rbac") as s:
        ns = s.env["NAMESPACE"]
        s.apply_template("services.yaml.tmpl")
        s.background_traffic(HOST, rate=80)
        apply_json(s, {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "payment-api-stable", "namespace": ns},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "payment-api-stable"},
                     "minReplicas": 2, "maxReplicas": 6,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}})
        s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME="haproxy", HOSTNAME=HOST,
                         STEP_INTERVAL="2s", MIN_REQUESTS="5")
        s.kubectl("patch", "canaryrollout", "haproxy", "--type=merge",
                  "-p", '{"spec":{"autoscaling":{"mirrorStableHPA":true}}}')
        gw = json.loads(s.kubectl("get", "canaryrollout", "haproxy", "-o", "json").stdout)
        spec = gw["spec"]
        spec["route"] = {"provider": "gatewayAPI", "hostnames": ["gw.rbac.local"],
                         "parentRefs": [{"name": "edge", "namespace": ns}]}
        spec.pop("autoscaling", None)
        apply_json(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
                       "metadata": {"name": "gateway", "namespace": ns}, "spec": spec})

        # A rollout moved from gatewayAPI to haproxy: the operator deletes the HTTPRoute it
        # no longer needs (the rollout still exists, so this is not the garbage collector).
        switch = json.loads(json.dumps(spec))
        switch["route"]["hostnames"] = ["switch.rbac.local"]
        apply_json(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
                       "metadata": {"name": "switch", "namespace": ns}, "spec": switch})
        wait_for(lambda: exists(s, "httproute", "switch"), 30, "the HTTPRoute of rollout switch")
        s.kubectl("patch", "canaryrollout", "switch", "--type=merge", "-p",
                  '{"spec":{"route":{"provider":"haproxy"}}}')
        wait_for(lambda: not exists(s, "httproute", "switch"), 30,
                 "the operator to delete the HTTPRoute of a rollout moved to haproxy")
        check(exists(s, "canaryrollout", "switch"), "rollout switch is gone")
        log("HTTPRoute deleted when its rollout moved from gatewayAPI to haproxy")

        # A TrafficPolicy on gatewayAPI: an HTTPRoute and an Envoy Gateway
        # BackendTrafficPolicy; moved to haproxy, the operator deletes both.
        apply_json(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
                       "metadata": {"name": "global", "namespace": ns},
                       "spec": {"provider": "gatewayAPI", "hostnames": ["tp.rbac.local"],
                                "parentRefs": [{"name": "edge", "namespace": ns}],
                                "backends": [{"name": "stable", "serviceRef": {
                                    "name": "payment-api-stable",
                                    "port": int(s.env["STABLE_PORT"])}}]}})
        wait_for(lambda: exists(s, "httproute", "global") and
                 exists(s, "backendtrafficpolicy", "global"), 30,
                 "the HTTPRoute and BackendTrafficPolicy of TrafficPolicy global")
        s.kubectl("patch", "trafficpolicy", "global", "--type=merge", "-p",
                  '{"spec":{"provider":"haproxy"}}')
        wait_for(lambda: not exists(s, "httproute", "global") and
                 not exists(s, "backendtrafficpolicy", "global"), 30,
                 "the operator to delete the gatewayAPI objects of a policy moved to haproxy")
        log("TrafficPolicy moved from gatewayAPI to haproxy: HTTPRoute and BTP deleted")

        # A TierLimit with autoscaling: its HPA, its status.
        apply_json(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
                       "metadata": {"name": "limits", "namespace": ns},
                       "spec": {"targetRefs": [{"kind": "TrafficPolicy", "name": "global"}],
                                "tiers": [{"name": "free", "requestsPerSecond": 10}],
                                "autoscaling": {"targetRef": {"name": "checkout"},
                                                "minReplicas": 2, "maxReplicas": 4,
                                                "cpuUtilization": 70}}})
        wait_for(lambda: exists(s, "hpa", "limits"), 30, "the HPA of TierLimit limits")
        s.kubectl("patch", "tierlimit", "limits", "--type=json", "-p",
                  '[{"op": "remove", "path": "/spec/autoscaling"}]')
        wait_for(lambda: not exists(s, "hpa", "limits"), 30,
                 "the operator to delete the HPA of a TierLimit without autoscaling")

        # A dead gateway: the provider error path (one status write, a Warning Event).
        s.wait_status("haproxy", lambda st: st.get("currentStep", -1) >= 1, 60, "step 1")
        s.stack("haproxy-stop")
        s.wait_status("haproxy", lambda st: "TrafficProviderError" in json.dumps(st), 30,
                      "status to report the dead HAProxy")
        time.sleep(4)
        s.stack("haproxy-start")
        # The same transition twice at the same step: the second Event becomes a series.
        for _ in range(2):
            s.set_paused("haproxy", True)
            s.wait_status("haproxy", lambda st: st.get("phase") == "Paused", 30, "Paused")
            s.set_paused("haproxy", False)
            s.wait_status("haproxy", lambda st: st.get("phase") != "Paused", 30, "resumed")
        # Day-2: promote by annotation (the operator removes the annotation it consumed).
        s.kubectl("annotate", "canaryrollout", "haproxy", "sluice.dev/promote=true")
        s.wait_status("haproxy", lambda st: st.get("phase") == "Succeeded", 120, "Succeeded")
        anns = json.loads(s.kubectl("get", "canaryrollout", "haproxy", "-o", "json").stdout)[
            "metadata"].get("annotations", {})
        check("sluice.dev/promote" not in anns, f"the promote annotation was left: {anns}")
        wait_for(lambda: exists(s, "httproute", "gateway"), 30, "the HTTPRoute of the gatewayAPI rollout")
        wait_for(lambda: exists(s, "hpa", "haproxy-canary"), 30, "the mirrored canary HPA")
        route = json.loads(s.kubectl("get", "httproute", "gateway", "-o", "json").stdout)
        owners = [o["kind"] for o in route["metadata"].get("ownerReferences", [])]
        check(owners == ["CanaryRollout"], f"HTTPRoute owners {owners}")

        # Events, the way a user reads them.
        ev = s.kubectl("events", "--for", "canaryrollout/haproxy").stdout
        log("kubectl events --for canaryrollout/haproxy:\n" + ev.strip())
        check("Succeeded" in ev or "Promoted" in ev or "RolloutSucceeded" in ev,
              "kubectl events shows no success Event for the rollout")
        check(ev.count("\n") >= 3, "kubectl events shows fewer than 3 Events for the rollout")
        check("(x2 over" in ev, "a repeated Event is not shown as a series (x2)")

        # Deletion: the garbage collector (kube-controller-manager) removes what was owned.
        s.kubectl("delete", "canaryrollout", "haproxy", "gateway", "switch")
        wait_for(lambda: not exists(s, "httproute", "gateway"), 60,
                 "the garbage collector to delete the HTTPRoute")
        wait_for(lambda: not exists(s, "hpa", "haproxy-canary"), 60,
                 "the garbage collector to delete the mirrored HPA")
        log("owned HTTPRoute and HPA garbage-collected after the rollouts were deleted")
        time.sleep(2)  # the audit log is written asynchronously (batch backend)

        audit = os.path.join(s.env.get("CLUSTER_DIR", ""), "logs", "audit.log")
        if not s.env.get("CLUSTER_DIR") or not os.path.exists(audit):
            log("SKIP the audit-log checks: no local control plane (SLUICE_E2E_KUBECONFIG)")
            return
        user = f"system:serviceaccount:{ns}:sluice"
        reqs = audit_requests(audit, user)
        check(reqs, f"no request of {user} in the audit log")
        refused = sorted({(v, g, r, u) for v, g, r, c, u in reqs if c == 403})
        check(not refused, f"the chart's RBAC refused the operator: {refused}")
        used = {(v, g, r) for v, g, r, _, _ in reqs}
        # A server-side apply that creates its object is a patch answered 201, authorized as
        # a create as well.
        used |= {("create", g, r) for v, g, r, c, _ in reqs if v == "patch" and c == 201}
        rules = granted(s, "sluice") | granted(s, "sluice-leader-election")
        unused = sorted(rules - used)
        log(f"{len(reqs)} operator requests, {len(used)} distinct (verb, group, resource); "
            f"{len(rules)} granted; used: {sorted(used)}")
        check(not unused, f"granted but never used by the operator: {unused}")


if __name__ == "__main__":
    main(scenario)
