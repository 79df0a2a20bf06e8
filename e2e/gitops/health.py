#!/usr/bin/env python3
"""e2e.gitops.health: what Flux (kstatus) and Argo CD (the Lua health checks in
charts/sluice/files/argocd) show for real Sluice objects, written by the real operator on the
real control plane. One rollout is driven Progressing → Paused → RolledBack (abort) →
Progressing (retry) → Succeeded (promote); beside it a rollout missing its canary Service
(Pending), one naming a backend its TrafficPolicy does not have (InvalidSpec), a regional
rollout with one region aborted while the other continues (Degraded), a TrafficPolicy Ready,
refused (its hostname is taken) and in panic (every backend failing), TierLimits Ready,
InvalidSpec (an unknown time zone) and Conflicted; then, with the operator stopped, a spec
change it has not observed and a rollout with no status yet. Each state is saved with
`kubectl get -o json` beside what each tool must show (expect.json), and the Go checker
(e2e/gitops/cmd/check: kstatus itself and the scripts in gopher-lua, set up as Argo CD does)
judges the directory; any disagreement fails the scenario.

SLUICE_GITOPS_SAVE=DIR also writes the objects, with managedFields, uid and resourceVersion
dropped and the namespace renamed `shop`, and expect.json into DIR (how
e2e/gitops/testdata was made)."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "trafficpolicy"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tierlimit"))

from sluice_e2e import Failure, Stack, check, log, main, wait_for  # noqa: E402
import tl_e2e as tl  # noqa: E402
import tp_e2e  # noqa: E402

HOST = "payment.gitops.local"
REGION_HOST = "payment-regions.gitops.local"
POLICY_HOST = "checkout.gitops.local"
TIERS = [{"name": "premium", "requestsPerSecond": 100, "burst": 200, "priority": 1},
         {"name": "free", "requestsPerSecond": 10, "burst": 20, "priority": 3}]
SAVED_NAMESPACE = "shop"


class Capture:
    """Saves objects with what kstatus and Argo CD must show for each (expect.json)."""

    def __init__(self, s, out):
        self.s, self.out, self.expect = s, out, {}

    def save(self, kind, name, file, kstatus, argocd, why, message=()):
        """Saves `kubectl get KIND NAME` as FILE; kstatus and Argo CD must show `kstatus` and
        `argocd`, and Argo CD's message must contain each of `message`."""
        obj = json.loads(self.s.kubectl("get", kind, name, "-o", "json").stdout)
        for field in ("managedFields", "uid", "resourceVersion"):
            obj["metadata"].pop(field, None)
        with open(os.path.join(self.out, file), "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
        self.expect[file] = {"kstatus": kstatus, "argocd": argocd, "why": why}
        if message:
            # "{generation}" stands for the object's metadata.generation.
            gen = obj["metadata"].get("generation")
            self.expect[file]["argocdMessage"] = [m.format(generation=gen) for m in message]
        st = obj.get("status", {})
        log(f"saved {file}: phase {st.get('phase', '-')}, conditions "
            + ", ".join(f"{c['type']}={c['status']}({c.get('reason', '')})"
                        for c in st.get("conditions", [])))

    def write_expect(self):
        with open(os.path.join(self.out, "expect.json"), "w") as f:
            json.dump(self.expect, f, indent=2, sort_keys=True)
            f.write("\n")


def conditions(st):
    return {c["type"]: c for c in st.get("conditions", [])}


def cond(obj_status, kind, field="status"):
    return conditions(obj_status).get(kind, {}).get(field)


def get(s, kind, name):
    p = s.kubectl("get", kind, name, "-o", "json", check_rc=False)
    return json.loads(p.stdout) if p.returncode == 0 else {}


def wait_object(s, kind, name, pred, timeout, what):
    """Polls `kubectl get` until pred(object) holds for the generation it shows."""
    last = {}

    def ok():
        nonlocal last
        last = get(s, kind, name)
        st = last.get("status", {})
        return (st.get("observedGeneration") == last.get("metadata", {}).get("generation")
                and pred(st))
    try:
        wait_for(ok, timeout, what)
    except Failure as e:
        raise Failure(f"{e}; last status: {json.dumps(last.get('status', {}))}") from None


def apply_rollout(s, name, spec):
    obj = {"apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
           "metadata": {"name": name, "namespace": s.env["NAMESPACE"]}, "spec": spec}
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def region(st, name):
    return next((g for g in st.get("regions", []) if g.get("name") == name), {})


def build_checker(out):
    """Starts `go build` of the checker (e2e/gitops/cmd/check) in the background."""
    binary = os.path.join(out, "check")
    proc = subprocess.Popen(["go", "build", "-o", binary, "./cmd/check"], cwd=HERE,
                            env=dict(os.environ, CGO_ENABLED="0"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return proc, binary


def scenario(build_dir):
    started = time.monotonic()
    with Stack(build_dir, "gitops") as s:
        out = os.path.join(s.dir, "gitops-health")
        os.makedirs(out)
        checker, checker_bin = build_checker(s.dir)
        cap = Capture(s, out)
        ns = s.env["NAMESPACE"]
        s.apply_template("services.yaml.tmpl")
        tp_e2e.apply(s, "services.yaml.tmpl")
        s.background_traffic(POLICY_HOST, rate=60)

        # One rollout through its phases; 10 minutes a step, so it holds each step.
        s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME="gitops", HOSTNAME=HOST,
                         STEP_INTERVAL="10m", MIN_REQUESTS="5")
        wait_object(s, "canaryrollout", "gitops", lambda st: st.get("phase") == "Progressing" and
                    st.get("canaryWeight") == 5, 30, "Progressing at 5 %")
        cap.save("canaryrollout", "gitops", "cr-progressing.json", "InProgress", "Progressing",
                 "at its first step (5 %), 10 minutes a step", ["step 1/6", "canary 5%"])
        s.set_paused("gitops", True)
        wait_object(s, "canaryrollout", "gitops", lambda st: st.get("phase") == "Paused", 20,
                    "Paused")
        cap.save("canaryrollout", "gitops", "cr-paused.json", "Current", "Suspended",
                 "spec.paused: true at step 1", ["Paused"])
        s.set_paused("gitops", False)
        s.wait_status("gitops", lambda st: st.get("phase") == "Progressing", 20, "resumed")
        s.kubectl("annotate", "canaryrollout", "gitops", "sluice.dev/abort=true")
        s.wait_status("gitops", lambda st: st.get("phase") == "RolledBack", 20, "RolledBack")
        cap.save("canaryrollout", "gitops", "cr-rolledback.json", "Failed", "Degraded",
                 "aborted with the sluice.dev/abort annotation", ["Aborted"])
        s.kubectl("annotate", "canaryrollout", "gitops", "sluice.dev/retry=true")
        s.wait_status("gitops", lambda st: st.get("phase") == "Progressing", 20, "retried")
        s.kubectl("annotate", "canaryrollout", "gitops", "sluice.dev/promote=true")
        wait_object(s, "canaryrollout", "gitops", lambda st: st.get("phase") == "Succeeded" and
                    cond(st, "Ready") == "True", 20, "Succeeded")
        cap.save("canaryrollout", "gitops", "cr-succeeded.json", "Current", "Healthy",
                 "promoted with the sluice.dev/promote annotation", ["Succeeded"])

        # A canary Service that does not exist: Pending, the operator waits for it.
        base = get(s, "canaryrollout", "gitops")["spec"]
        spec = json.loads(json.dumps(base))
        spec["canary"]["serviceRef"]["name"] = "payment-api-missing"
        spec["route"]["hostnames"] = ["missing.gitops.local"]
        apply_rollout(s, "gitops-no-service", spec)
        wait_object(s, "canaryrollout", "gitops-no-service",
                    lambda st: cond(st, "Ready", "reason") == "ServiceNotFound", 20,
                    "Ready=False ServiceNotFound")
        cap.save("canaryrollout", "gitops-no-service", "cr-pending-service-not-found.json",
                 "InProgress", "Progressing", "its canary Service does not exist (yet)",
                 ["payment-api-missing"])

        # A TrafficPolicy, Ready.
        tp_e2e.start_policy(s, "gitops-tp", POLICY_HOST)
        wait_object(s, "trafficpolicy", "gitops-tp", lambda st: cond(st, "Ready") == "True", 30,
                    "TrafficPolicy Ready")
        cap.save("trafficpolicy", "gitops-tp", "tp-ready.json", "Current", "Healthy",
                 "weights applied on HAProxy")

        # A rollout inside that policy naming a backend it does not have: admission cannot
        # know the policy's backends, the operator rejects it (InvalidSpec).
        spec = json.loads(json.dumps(base))
        del spec["route"]
        spec["trafficPolicyRef"] = {"name": "gitops-tp", "backend": "mars"}
        apply_rollout(s, "gitops-invalid", spec)
        wait_object(s, "canaryrollout", "gitops-invalid",
                    lambda st: cond(st, "Ready", "reason") == "InvalidSpec", 20, "InvalidSpec")
        cap.save("canaryrollout", "gitops-invalid", "cr-invalidspec.json", "Failed", "Degraded",
                 "spec.trafficPolicyRef.backend names no backend of the policy",
                 ["InvalidSpec", "spec.trafficPolicyRef.backend"])

        # A regional rollout: us-east aborted, eu-west still at its first step.
        s.apply_template("rollout-regions.yaml.tmpl", ROLLOUT_NAME="gitops-regions",
                         HOSTNAME=REGION_HOST, STEP_INTERVAL="10m", PAUSED="false")
        s.wait_status("gitops-regions", lambda st: st.get("phase") == "Progressing" and
                      region(st, "eu-west").get("canaryWeight") == 50, 30,
                      "eu-west at its first step")
        s.kubectl("annotate", "canaryrollout", "gitops-regions", "sluice.dev/abort=us-east")
        wait_object(s, "canaryrollout", "gitops-regions",
                    lambda st: region(st, "us-east").get("phase") == "RolledBack" and
                    st.get("phase") == "Progressing" and cond(st, "Degraded") == "True", 20,
                    "us-east RolledBack while eu-west goes on")
        cap.save("canaryrollout", "gitops-regions", "cr-progressing-region-rolledback.json",
                 "InProgress", "Degraded", "us-east rolled back, eu-west still progressing",
                 ["us-east"])

        # A second policy for the same hostname: HAProxy refuses it, the operator retries.
        tp_e2e.apply(s, "checkout.yaml.tmpl", NAME="gitops-tp-taken", HOSTNAME=POLICY_HOST,
                     STRATEGY="RoundRobin", TIERS=tp_e2e.NO_TIERS, CAPACITY=1000,
                     LATENCY_THRESHOLD=500, WINDOW="4s")
        wait_object(s, "trafficpolicy", "gitops-tp-taken", lambda st: cond(st, "Ready") == "False",
                    30, "Ready=False for the taken hostname")
        cap.save("trafficpolicy", "gitops-tp-taken", "tp-hostname-taken.json", "InProgress",
                 "Progressing", "its hostname is routed by gitops-tp", ["gitops-tp"])
        s.kubectl("delete", "trafficpolicy", "gitops-tp-taken", "--wait=true")

        # TierLimits on the policy: one enforced, one with an unknown time zone, one late.
        tl.tier_limit(s, "gitops-tl", "gitops-tp", TIERS)
        wait_object(s, "tierlimit", "gitops-tl", lambda st: cond(st, "Ready") == "True" and
                    cond(st, "RateLimitsEnforced") == "True", 30, "TierLimit enforced")
        cap.save("tierlimit", "gitops-tl", "tl-ready.json", "Current", "Healthy",
                 "limits enforced on HAProxy")
        tl.tier_limit(s, "gitops-tl-mars", "gitops-tp", TIERS, quotaTimeZone="Mars/Olympus_Mons")
        wait_object(s, "tierlimit", "gitops-tl-mars",
                    lambda st: cond(st, "Ready", "reason") == "InvalidSpec", 20, "InvalidSpec")
        cap.save("tierlimit", "gitops-tl-mars", "tl-invalidspec.json", "Failed", "Degraded",
                 "spec.quotaTimeZone names no time zone", ["quotaTimeZone"])
        s.kubectl("delete", "tierlimit", "gitops-tl-mars", "--wait=true")
        tl.tier_limit(s, "gitops-tl-late", "gitops-tp", TIERS)
        wait_object(s, "tierlimit", "gitops-tl-late",
                    lambda st: cond(st, "RateLimitsEnforced", "reason") == "Conflicted", 20,
                    "Conflicted")
        cap.save("tierlimit", "gitops-tl-late", "tl-conflicted.json", "Failed", "Degraded",
                 "the policy is already limited by gitops-tl", ["Conflicted", "gitops-tl"])

        # Every backend of the policy failing: panic (Degraded=True).
        for r in tp_e2e.REGIONS:
            tp_e2e.set_backend(s, r, errorRate=1.0)
        wait_object(s, "trafficpolicy", "gitops-tp", lambda st: cond(st, "Degraded") == "True",
                    30, "panic")
        cap.save("trafficpolicy", "gitops-tp", "tp-panic.json", "Failed", "Degraded",
                 "every backend fails: traffic spread over all of them", ["Panic"])

        # The operator stopped: a spec change it has not seen, a rollout it has never seen.
        s.stack("operator-stop")
        s.kubectl("patch", "canaryrollout", "gitops", "--type=merge",
                  "-p", '{"spec":{"stepInterval":"11m"}}')
        cap.save("canaryrollout", "gitops", "cr-generation-not-observed.json", "InProgress",
                 "Progressing", "spec changed while the operator was stopped",
                 ["observe generation {generation}"])
        spec = json.loads(json.dumps(base))
        spec["route"]["hostnames"] = ["new.gitops.local"]
        apply_rollout(s, "gitops-new", spec)
        # kstatus cannot tell a status that is not written yet from a kind without status: a
        # fresh object reads Current until the operator's first status write.
        cap.save("canaryrollout", "gitops-new", "cr-no-status.json", "Current", "Progressing",
                 "created while the operator was stopped",
                 ["observe generation {generation}"])
        cap.write_expect()
        log(f"{len(cap.expect)} objects saved in {time.monotonic() - started:.1f}s")

        build_log, _ = checker.communicate(timeout=600)
        check(checker.returncode == 0, f"building e2e/gitops/cmd/check failed:\n{build_log}")
        p = subprocess.run([checker_bin, "-complete", out], capture_output=True, text=True)
        print(p.stdout, end="", flush=True)
        save_to = os.environ.get("SLUICE_GITOPS_SAVE")
        if save_to:
            save(out, save_to, ns)
        check(p.returncode == 0, "kstatus or the Argo CD health checks disagree with what is "
              f"expected (MISMATCH lines above){': ' + p.stderr.strip() if p.stderr else ''}")


def save(src, dst, namespace):
    """Copies the objects and expect.json into dst with the stack's namespace renamed."""
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(src, name)) as f:
            text = f.read().replace(namespace, SAVED_NAMESPACE)
        with open(os.path.join(dst, name), "w") as f:
            f.write(text)
    log(f"fixtures written to {dst}")


if __name__ == "__main__":
    main(scenario)
