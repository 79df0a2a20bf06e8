#!/usr/bin/env python3
"""e2e.chaos.prometheus: the operator reads the real Prometheus through a fault proxy
(e2e/chaos/prom_faults.py) while a CanaryRollout runs (past its step interval, so any pass would
promote) and a TrafficPolicy over three healthy regions holds its weights. One fault after
another, each held for several analysis intervals: Prometheus down (connection refused), the
connection reset, answers slower than the operator's 2 s query timeout, garbage (HTML, truncated
JSON), NaN, +Inf/-Inf, the wrong result type (matrix, string, a vector labelled scalar), no
series, and errors (422, 503, status "error").

A fault of the measurement is never a verdict. Through every fault:
  - the rollout neither promotes nor rolls back: its step and weight stay, in status and in
    HAProxy (the runtime API's weight maps are compared with a snapshot taken before);
  - the TrafficPolicy shifts nothing: every backend keeps its weight and state, in status and
    in HAProxy;
  - status says what is wrong: the rollout's analysis names the metric and the cause
    (Unreachable, Timeout, BadResponse, NotANumber, NotScalar, NoData, HttpStatus...), the
    policy's MetricsAvailable=False names the query and the cause;
  - the operator does not hot-loop: its CPU time (/proc), the Events and the status writes
    (audit log) during the faults are counted and bounded.
When the faults clear, the rollout finishes (Succeeded at 100 %) and the policy stays put."""
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "trafficpolicy"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))
import tp_e2e  # noqa: E402
from sluice_e2e import Stack, check, cpu_seconds, haproxy_runtime, log, main  # noqa: E402

CANARY_HOST = "payment.chaosprom.local"
POLICY_HOST = "checkout.chaosprom.local"
ROLLOUT = "promchaos"
POLICY = "checkout"
HOLD = 6.0  # seconds per fault: six analysis intervals, two step intervals
# mode -> (seconds held, words of which the status must name one)
FAULTS = (
    ("down", HOLD, ("Unreachable",)),
    ("reset", HOLD, ("Unreachable",)),
    # One analysis per query timeout (2 s) + 1 s: four in 14 s (one timeout per query: two).
    ("slow", 14.0, ("Timeout",)),
    ("garbage", HOLD, ("BadResponse",)),
    ("nan", HOLD, ("NotANumber",)),
    ("inf", HOLD, ("NotANumber",)),
    ("wrongtype", HOLD, ("NotScalar", "BadResponse")),
    ("empty", HOLD, ("NoData",)),
    ("error", HOLD, ("HttpStatus", "PrometheusError")),
)


class PromFaults:
    """The fault proxy in front of the stack's Prometheus (stopped with the stack)."""

    def __init__(self, s):
        ports = os.path.join(s.dir, "prom-faults.ports")
        log_file = open(os.path.join(s.dir, "logs", "prom-faults.log"), "w")
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "prom_faults.py"), "--upstream",
                              s.env["PROM_URL"], "--ports-file", ports], stdout=log_file,
                             stderr=subprocess.STDOUT)
        s.background.append(p)
        deadline = time.monotonic() + 10
        while not os.path.exists(ports):
            check(time.monotonic() < deadline and p.poll() is None, "prom-faults did not start")
            time.sleep(0.05)
        with open(ports) as f:
            proxy, admin = f.read().split()
        self.url = f"http://127.0.0.1:{proxy}"
        self.admin = f"http://127.0.0.1:{admin}"

    def mode(self, name, **params):
        query = "&".join([f"name={name}"] + [f"{k}={v}" for k, v in params.items()])
        req = urllib.request.Request(f"{self.admin}/mode?{query}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def stats(self):
        with urllib.request.urlopen(f"{self.admin}/stats", timeout=5) as r:
            return json.loads(r.read())


def haproxy_weights(s):
    """Every weight map HAProxy runs now (runtime API `show map`): {file: sorted entries}."""
    def command(text):
        return haproxy_runtime(s, text, timeout=5)

    maps = {}
    for line in command("show map").splitlines():
        # "# id (file) description": "-1 (/dir/haproxy/weights.map) pattern loaded ..."
        if "(" in line and not line.startswith("#"):
            path = line.split("(", 1)[1].split(")", 1)[0]
            entries = [e.split(" ", 1)[1] for e in command(f"show map {path}").splitlines()
                       if " " in e]
            maps[path] = sorted(entries)
    return maps


def events(s):
    items = json.loads(s.kubectl("get", "events", "-o", "json").stdout)["items"]
    return [(e.get("involvedObject", {}).get("kind"), e.get("reason"), e.get("count") or 1,
             e.get("message", "")) for e in items]


def status_writes(s, since, until):
    """update/patch calls of the operator on either CR's status, from the audit log: by kind."""
    audit = os.path.join(s.env.get("CLUSTER_DIR", ""), "logs", "audit.log")
    if not s.env.get("CLUSTER_DIR") or not os.path.exists(audit):
        return None
    user = f"system:serviceaccount:{s.env['NAMESPACE']}:sluice"
    out = {"canaryrollouts": 0, "trafficpolicies": 0}
    seen = set()
    with open(audit) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ref = ev.get("objectRef", {})
            if (ev.get("user", {}).get("username") != user or ev.get("auditID") in seen or
                    ref.get("resource") not in out or ref.get("subresource") != "status" or
                    ref.get("namespace") != s.env["NAMESPACE"] or
                    ev.get("verb") not in ("update", "patch")):
                continue
            seen.add(ev["auditID"])
            ts = ev.get("requestReceivedTimestamp", "").replace("Z", "+00:00")
            if since <= datetime.datetime.fromisoformat(ts).timestamp() <= until:
                out[ref["resource"]] += 1
    return out


def weights_of(st):
    return {b["name"]: (b.get("weight"), b.get("state")) for b in st.get("backends", [])}


def scenario(build_dir):
    with Stack(build_dir, "chaos-prom") as s:
        faults = PromFaults(s)
        log(f"prom-faults at {faults.url} in front of {s.env['PROM_URL']}")
        s.apply_template("services.yaml.tmpl")
        tp_e2e.apply(s, "services.yaml.tmpl")
        s.background_traffic(CANARY_HOST, rate=80)
        s.background_traffic(POLICY_HOST, rate=80)
        tp_e2e.apply(s, "checkout.yaml.tmpl", NAME=POLICY, HOSTNAME=POLICY_HOST,
                     STRATEGY="RoundRobin", TIERS=tp_e2e.NO_TIERS, CAPACITY=1000,
                     LATENCY_THRESHOLD=500, WINDOW="4s", PROM_URL=faults.url)
        tp_e2e.wait_policy(s, POLICY, lambda st: st.get("activeBackends") == 3 and all(
            b.get("state") == "Healthy" and b.get("errorRate") is not None
            for b in st.get("backends", [])) and tp_e2e.condition(st, "MetricsAvailable").get(
            "status") == "True", 60, "three healthy backends measured through the proxy")
        s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME=ROLLOUT, HOSTNAME=CANARY_HOST,
                         STEP_INTERVAL="3s", MIN_REQUESTS="5", PROM_URL=faults.url)
        st = s.wait_status(ROLLOUT, lambda st: st.get("currentStep", -1) >= 1, 60,
                           "step 1 on analyses through the proxy")
        check(st["currentStep"] == 1, f"the rollout ran past step 1 before the faults: {st}")

        # Faults from here on: the step's interval runs out during the first one, so from then
        # on any analysis taken for a pass would promote at once.
        faults.mode(FAULTS[0][0])
        pid = int(open(os.path.join(s.dir, "pids", "operator.pid")).read())
        cpu0, wall0, t0 = cpu_seconds(pid), time.time(), time.monotonic()
        held = s.status(ROLLOUT)
        check(held.get("currentStep") == 1 and held.get("phase") == "Progressing",
              f"the rollout moved before the first fault: {held}")
        policy_held = weights_of(tp_e2e.status(s, POLICY))
        maps = haproxy_weights(s)
        check(maps, "HAProxy runs no weight map")
        events_before = events(s)
        log(f"held: rollout step {held['currentStep']} weight {held['canaryWeight']}, "
            f"policy {policy_held}, HAProxy maps {maps}")
        rows = []
        for mode, hold, words in FAULTS:
            faults.mode(mode, delay=3)
            cpu_mode, start, mode_wall = cpu_seconds(pid), time.monotonic(), time.time()
            queries_before = faults.stats()["queries"].get(mode, 0)
            runs, named, policy_named = set(), "", ""
            while time.monotonic() - start < hold:
                st = s.status(ROLLOUT)
                check(st.get("phase") == "Progressing",
                      f"{mode}: the rollout went {st.get('phase')}: {st.get('message')}")
                check(st.get("currentStep") == held["currentStep"] and
                      st.get("canaryWeight") == held["canaryWeight"],
                      f"{mode}: the rollout moved to step {st.get('currentStep')} weight "
                      f"{st.get('canaryWeight')}: {st.get('message')}")
                analysis = st.get("analysis", {})
                last = analysis.get("lastRunAt", "")
                text = json.dumps(analysis) + st.get("message", "")
                when = datetime.datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() \
                    if last else 0
                if when >= mode_wall + 0.999 and any(w in text for w in words):
                    runs.add(last)
                    named = st.get("message", "")
                pst = tp_e2e.status(s, POLICY)
                check(weights_of(pst) == policy_held,
                      f"{mode}: the policy shifted: {policy_held} -> {weights_of(pst)}")
                check(not pst.get("shift"), f"{mode}: a shift started: {pst.get('shift')}")
                check(tp_e2e.condition(pst, "Degraded").get("status") != "True",
                      f"{mode}: the policy panicked: {tp_e2e.condition(pst, 'Degraded')}")
                ma = tp_e2e.condition(pst, "MetricsAvailable")
                if ma.get("status") == "False" and any(w in ma.get("message", "") for w in words):
                    policy_named = f"{ma.get('reason')}: {ma.get('message')}"
                now_maps = haproxy_weights(s)
                check(now_maps == maps, f"{mode}: HAProxy's weights moved: {maps} -> {now_maps}")
                time.sleep(0.1)  # each analysis is in status for about 1 s: see most of them
            cpu = cpu_seconds(pid) - cpu_mode
            queries = faults.stats()["queries"].get(mode, 0) - queries_before
            log(f"{mode}: {len(runs)} analyses naming {'/'.join(words)}, {queries} queries, "
                f"operator CPU {100 * cpu / hold:.1f} %")
            log(f"  rollout: {named}")
            log(f"  policy:  {policy_named}")
            check(len(runs) >= 2, f"{mode}: {len(runs)} analyses named the cause ({words}) in "
                  f"{hold:.0f} s; last status {st.get('message')} {st.get('analysis')}")
            check(policy_named, f"{mode}: the policy's MetricsAvailable does not name the cause "
                  f"({words}): {tp_e2e.condition(pst, 'MetricsAvailable')}")
            rows.append((mode, hold, len(runs), queries, cpu))
        # Counted before the faults clear: the first real answer promotes at once.
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(pid) - cpu0
        wall1 = time.time()
        new_events = [e for e in events(s) if e not in events_before]
        faults.mode("pass")
        log(f"answers broken, by kind: {faults.stats()['variants']}")
        log(f"{elapsed:.0f} s of faults: operator CPU {cpu:.2f} s ({100 * cpu / elapsed:.1f} %), "
            f"{len(new_events)} new or updated Events: {[(k, r, n) for k, r, n, _ in new_events]}")
        # About 1 % measured: a hot loop on errors would take a core.
        check(cpu / elapsed < 0.10, f"operator used {100 * cpu / elapsed:.0f} % CPU under faults")
        # The policy's one MetricsUnavailable Warning goes out as the first fault starts (before
        # this count); the rollout's inconclusive analyses emit none.
        check(len(new_events) <= 2, f"{len(new_events)} Events during the faults: {new_events}")
        check(not any(r in ("RolledBack", "StepAdvanced", "AnalysisFailed", "DrainStarted",
                            "BackendDown", "Panic") for _, r, _, _ in new_events),
              f"a fault caused a verdict: {new_events}")
        time.sleep(2)  # the audit log is written in batches
        writes = status_writes(s, wall0, wall1)
        if writes is not None:
            log(f"status writes during the faults: {writes} "
                f"({writes['canaryrollouts'] / elapsed:.2f}/s rollout, "
                f"{writes['trafficpolicies'] / elapsed:.2f}/s policy)")
            # One per analysis (each records lastRunAt; the interval is 1 s), not one per query.
            check(writes["canaryrollouts"] <= 1.2 * elapsed,
                  f"{writes['canaryrollouts']} rollout status writes in {elapsed:.0f} s: more "
                  "than one per analysis")
            # Only when what it says changes (each fault; garbage alternates two bodies).
            check(writes["trafficpolicies"] <= 0.5 * elapsed,
                  f"{writes['trafficpolicies']} policy status writes in {elapsed:.0f} s")

        # Back to the real answers: the rollout goes on to 100 %, the policy stays put.
        st = s.wait_status(ROLLOUT, lambda st: st.get("phase") in ("Succeeded", "RolledBack"),
                           60, "Succeeded after the faults")
        check(st.get("phase") == "Succeeded" and st.get("canaryWeight") == 100,
              f"after the faults: {st.get('phase')} at {st.get('canaryWeight')} %: "
              f"{st.get('message')}")
        pst = tp_e2e.wait_policy(s, POLICY, lambda st: tp_e2e.condition(
            st, "MetricsAvailable").get("status") == "True", 30, "MetricsAvailable=True again")
        check(weights_of(pst) == policy_held,
              f"the policy moved after the faults: {policy_held} -> {weights_of(pst)}")
        log("fault | held s | analyses naming it | queries | operator CPU")
        for mode, hold, runs, queries, cpu in rows:
            log(f"{mode} | {hold:.0f} | {runs} | {queries} | {100 * cpu / hold:.1f} %")


if __name__ == "__main__":
    main(scenario)
