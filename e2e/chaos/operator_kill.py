#!/usr/bin/env python3
"""e2e.chaos.operator-kill: the operator is SIGKILLed at random moments, 50 times
(SLUICE_CHAOS_KILLS), while a CanaryRollout progresses, a TrafficPolicy drains a failing
backend on its shift schedule and a TierLimit's schedule window opens. Some kills land before
the new process leads, the others at a random moment after it has led and reconciled.

The final state is an undisturbed run's: the rollout Succeeded at 100 %, the failing backend
Drained with the other two sharing its traffic, the HPA at the schedule's floor and the
Deployment scaled to it by kube-controller-manager. The history a user sees shows nothing done
twice or by mistake: the rollout's steps only ever move up one at a time and never roll back;
the drain's weight only goes down and its step only up; and the Events say each step, each drain
step and the window's opening once (a process killed between its status write and its Event
must not make the next one say it again). Reported: kills survived, recovery time (kill to the
new leader's first reconcile) median and worst."""
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "trafficpolicy"))

from sluice_e2e import StatusHistory, Stack, check, log, main, wait_for  # noqa: E402
from tp_e2e import backend, send, set_backend, shares, start_policy  # noqa: E402

KILLS = int(os.environ.get("SLUICE_CHAOS_KILLS", "50"))
LEASE_SECONDS = 3
ROLLOUT, ROLLOUT_HOST = "kill-canary", "payment.kill.local"
POLICY, POLICY_HOST = "kill-policy", "checkout.kill.local"
TIERLIMIT, DEPLOYMENT = "kill-limits", "checkout-app"
FLOOR = 4


class Recorder:
    """Polls one object every 0.2 s and keeps each resourceVersion's summary (ordered by
    resourceVersion, as the API server stored them)."""

    def __init__(self, s, kind, name, summarize):
        self.s, self.kind, self.name, self.summarize = s, kind, name, summarize
        self.seen = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.is_set():
            p = self.s.kubectl("get", self.kind, self.name, "-o", "json", check_rc=False)
            if p.returncode == 0:
                obj = json.loads(p.stdout)
                self.seen[int(obj["metadata"]["resourceVersion"])] = self.summarize(obj)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def history(self):
        return [self.seen[rv] for rv in sorted(self.seen)]


def eastus(obj):
    b = backend(obj.get("status", {}), "eastus")
    return b.get("state"), b.get("step"), b.get("weight")


def events(s, name):
    """(reason, note, count) of every Event about `name`, events.k8s.io/v1."""
    p = s.kubectl("get", "events.events.k8s.io", "-o", "json")
    out = []
    for e in json.loads(p.stdout)["items"]:
        if e.get("regarding", {}).get("name") == name:
            count = (e.get("series") or {}).get("count", 1)
            out.append((e.get("reason"), e.get("note"), count))
    return out


def check_said_once(evs, reasons, what):
    seen = {}
    for reason, note, count in evs:
        if reason in reasons:
            seen[(reason, note)] = seen.get((reason, note), 0) + count
    twice = {k: n for k, n in seen.items() if n > 1}
    check(not twice, f"{what}: Events said more than once: {twice}")
    return seen


def reconciles(s):
    url = s.env["OPERATOR_METRICS"]
    total = s.metric_sum(url, "controller_reconcile_total")
    return total


def schedule_opening(seconds_from_now):
    """A cron line for the first whole minute at least `seconds_from_now` away (UTC)."""
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now + 59)
    at = at.replace(second=0, microsecond=0)
    return f"{at.minute} {at.hour} * * *", at


def apply(s, obj):
    s.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def start_tierlimit(s, cron):
    ns = s.env["NAMESPACE"]
    apply(s, {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": DEPLOYMENT, "namespace": ns},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": DEPLOYMENT}},
                       "template": {"metadata": {"labels": {"app": DEPLOYMENT}},
                                    "spec": {"containers": [{
                                        "name": "app", "image": "checkout:1",
                                        "resources": {"requests": {"cpu": "100m"}}}]}}}})
    apply(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
              "metadata": {"name": TIERLIMIT, "namespace": ns},
              "spec": {"targetRefs": [{"kind": "TrafficPolicy", "name": POLICY}],
                       "tiers": [{"name": "free", "requestsPerSecond": 5000}],
                       "autoscaling": {"targetRef": {"apiVersion": "apps/v1",
                                                     "kind": "Deployment", "name": DEPLOYMENT},
                                       "minReplicas": 2, "maxReplicas": 20,
                                       "cpuUtilization": 70,
                                       "schedules": [{"name": "launch", "cron": cron,
                                                      "duration": "1h",
                                                      "minReplicas": FLOOR}]}}})


def hpa_min(s):
    p = s.kubectl("get", "hpa", "-o", "json")
    for h in json.loads(p.stdout)["items"]:
        if h["spec"]["scaleTargetRef"]["name"] == DEPLOYMENT:
            return h["spec"].get("minReplicas")
    return None


def kill_campaign(s, rng):
    """KILLS SIGKILLs. Returns the recovery times of the kills after which the scenario waited
    for the new process to lead and reconcile."""
    metrics = s.env["OPERATOR_METRICS"]
    recoveries = []
    early = 0
    for i in range(KILLS):
        s.stack("operator-kill")
        killed = time.monotonic()
        s.stack("operator-start")
        if rng.random() < 0.5:
            # Killed again before it can lead (the dead process's Lease has not run out).
            time.sleep(rng.uniform(0.1, 1.5))
            early += 1
            continue
        wait_for(lambda: s.metric(metrics, "leader_election_is_leader") == 1 and
                 (reconciles(s) or 0) >= 1, 60, f"kill {i + 1}: the new process to lead and "
                 "reconcile")
        recoveries.append(time.monotonic() - killed)
        time.sleep(rng.uniform(0, 3))
    log(f"{KILLS} kills: {early} before the new process led, {len(recoveries)} after it led "
        f"and reconciled")
    return recoveries


def scenario(build_dir):
    seed = int(os.environ.get("SLUICE_CHAOS_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    log(f"seed {seed} (SLUICE_CHAOS_SEED to repeat)")
    with Stack(build_dir, "chaos-kill", env={"SLUICE_LEASE_SECONDS": str(LEASE_SECONDS)}) as s:
        s.background_traffic(POLICY_HOST, rate=60)
        start_policy(s, POLICY, POLICY_HOST)
        # A slower drain than the TrafficPolicy scenarios', so kills land all through it.
        s.kubectl("patch", "trafficpolicy", POLICY, "--type=merge", "-p", json.dumps(
            {"spec": {"failover": {"shift": {"steps": 5, "interval": "15s"},
                                   "recovery": {"healthyFor": "1h"}}}}))
        cron, opens = schedule_opening(60)
        start_tierlimit(s, cron)
        s.start_canary(ROLLOUT, ROLLOUT_HOST, "20s")
        wait_for(lambda: (s.status(ROLLOUT).get("currentStep") or 0) >= 0 and
                 s.status(ROLLOUT).get("phase") == "Progressing", 60, "the rollout to progress")
        with StatusHistory(s, ROLLOUT) as rollout_history, \
                Recorder(s, "trafficpolicy", POLICY, eastus) as drain:
            set_backend(s, "eastus", errorRate=0.5)
            log(f"eastus fails; the schedule window opens at {opens:%H:%M} UTC ({cron})")
            t0 = time.monotonic()
            recoveries = kill_campaign(s, rng)
            campaign = time.monotonic() - t0
            wait_for(lambda: s.metric(s.env["OPERATOR_METRICS"],
                                      "leader_election_is_leader") == 1, 60, "a leader")
            s.wait_status(ROLLOUT, lambda st: st.get("phase") == "Succeeded", 240,
                          "the rollout to succeed")
            wait_for(lambda: eastus(json.loads(s.kubectl("get", "trafficpolicy", POLICY, "-o",
                                                         "json").stdout))[0] == "Drained",
                     120, "eastus Drained")
        wait_for(lambda: hpa_min(s) == FLOOR, max(30, (opens - datetime.now(timezone.utc))
                                                  .total_seconds() + 30),
                 f"the HPA's floor at {FLOOR}")
        wait_for(lambda: json.loads(s.kubectl("get", "deployment", DEPLOYMENT, "-o", "json")
                                    .stdout)["spec"]["replicas"] == FLOOR, 60,
                 f"kube-controller-manager to scale {DEPLOYMENT} to {FLOOR}")

        log(f"kills survived: {KILLS} in {campaign:.0f} s; recovery (kill to the new leader's "
            f"first reconcile) median {statistics.median(recoveries):.2f} s, worst "
            f"{max(recoveries):.2f} s over {len(recoveries)} (lease {LEASE_SECONDS} s)")
        check(max(recoveries) < 3 * LEASE_SECONDS + 5,
              f"worst recovery {max(recoveries):.1f} s for a {LEASE_SECONDS} s lease")

        # The final state.
        st = s.status(ROLLOUT)
        check(st.get("canaryWeight") == 100, f"the rollout ended at {st.get('canaryWeight')}%")
        rollout_history.check_no_skip_or_rollback()
        out = shares(send(s, POLICY_HOST, 300))
        log(f"policy traffic after the drain: {out}")
        check(out["eastus"] == 0 and out["other"] == 0, f"after the drain: {out}")

        # The drain's history: weight only down, step only up.
        hist = [h for h in drain.history() if h[2] is not None]
        weights = [w for _, _, w in hist]
        steps = [st_ for _, st_, _ in hist if st_ is not None]
        check(all(a >= b for a, b in zip(weights, weights[1:])),
              f"eastus's weight went back up: {weights}")
        check(all(a <= b for a, b in zip(steps, steps[1:])), f"the drain step went back: {steps}")
        log(f"eastus through the kills: weights {sorted(set(weights), reverse=True)}, "
            f"steps {sorted(set(steps))}")

        # The Events: each said once, none by mistake.
        rollout_events = events(s, ROLLOUT)
        said = check_said_once(rollout_events, ("StepAdvanced", "RolloutSucceeded"),
                               "the rollout")
        check(len([k for k in said if k[0] == "StepAdvanced"]) == 5,
              f"expected 5 StepAdvanced Events: {sorted(said)}")
        wrong = [e for e in rollout_events if e[0] in ("RolledBack", "AnalysisFailed")]
        check(not wrong, f"the rollout's Events show a mistake: {wrong}")
        policy_events = events(s, POLICY)
        check_said_once(policy_events, ("DrainStarted", "Drained"), "the policy")
        check(not [e for e in policy_events if e[0] in ("Recovered", "RecoveryStarted")],
              f"the policy's Events show a recovery that never was: {policy_events}")
        floor_events = check_said_once(events(s, TIERLIMIT), ("ReplicaFloor",), "the TierLimit")
        log(f"Events said once each: {len(said)} about the rollout, "
            f"{len(policy_events)} about the policy, {len(floor_events)} floor changes")


if __name__ == "__main__":
    main(scenario)
