#!/usr/bin/env python3
"""e2e.chaos.haproxy: HAProxy fails under a CanaryRollout in progress and a TrafficPolicy holding
weights, both on the haproxy provider, in two ways e2e.canary.dead-gateway (HAProxy stopped
cleanly for 30 s) does not cover:

  (a) master crash: HAProxy's master is SIGKILLed (its worker follows it) and started again as
      stack.sh does, from the files on disk, once at once and once after staying down across a
      step. HAProxy must come up on the weights status records (the map file is current, never
      an older one) or the operator must re-apply them: measured from HAProxy answering to the
      runtime weights (`show map` on the runtime socket) equal to status.
  (b) runtime socket unreachable: master and worker frozen (SIGSTOP) for SLUICE_CHAOS_OUTAGE
      seconds (60 by default). The socket still accepts connections into its backlog but never
      answers, so every runtime command of the operator runs into its timeout, then, once the
      backlog is full, into a connect timeout. Then HAProxy thaws (SIGCONT) and runs whatever it
      ran before the freeze: the operator must bring it to status.

Measured during (b), from outside the operator: its status writes and every write it makes to
the API server (kube-apiserver's audit log), its CPU time (/proc), the intervals between its
retries (its own log). Required: status says so once per CR (Ready=False/TrafficProviderError,
naming HAProxy), not once per retry; retries back off; after each recovery the runtime weights
equal status (nothing runs on stale weights silently); the rollout never skips, repeats or rolls
back a step because of the outage (StatusHistory) and finishes Succeeded; the policy's weights
never move."""
import datetime
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "trafficpolicy"))
from sluice_e2e import (StatusHistory, Stack, check, cpu_seconds, haproxy_runtime,  # noqa: E402
                        log, main,
                        wait_for)
import tp_e2e  # noqa: E402

HOST = "payment.chaos-haproxy.local"
TP_HOST = "checkout.chaos-haproxy.local"
ROLLOUT = "chaoshap"
POLICY = "checkout"
OUTAGE = float(os.environ.get("SLUICE_CHAOS_OUTAGE", "60"))
SCALE = 1_000_000  # engine::kWeightScale: status weights and map thresholds


# --- HAProxy from outside ------------------------------------------------------------------
def runtime(s, line, timeout=2.0):
    """One command on HAProxy's runtime API (the stats socket the operator uses)."""
    return haproxy_runtime(s, line, timeout)


def map_path(s):
    return os.path.join(s.dir, "haproxy", "weights.map")


def live_map(s):
    """key -> threshold HAProxy runs (`show map`), or None when the socket does not answer."""
    try:
        text = runtime(s, f"show map {map_path(s)}", timeout=1.0)
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("0x"):
            out[parts[1]] = int(parts[2])
    return out


def file_map(s):
    out = {}
    with open(map_path(s)) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = int(parts[1])
    return out


def haproxy_pids(s):
    """The master (stack.sh's pid file) and its workers."""
    with open(os.path.join(s.dir, "pids", "haproxy.pid")) as f:
        master = int(f.read().strip())
    workers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == master:
                workers.append(int(entry))
    return master, workers


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --- what HAProxy should run, from status ----------------------------------------------------
def expected_entries(s, rollout_status, policy_status):
    """The weights map entries status implies: the rollout's canary threshold is its weight;
    a policy rule's threshold for a backend is the sum of the weights from it to the last."""
    ns = s.env["NAMESPACE"]
    out = {f"canaryrollout:{ns}:{ROLLOUT}:{ROLLOUT}:default:canary":
           rollout_status["canaryWeight"] * SCALE // 100}
    backends = policy_status["backends"]
    above = 0
    for b in reversed(backends[1:]):
        above += b["weight"]
        out[f"trafficpolicy:{ns}:{POLICY}:{POLICY}:default:{b['name']}"] = above
    return out


def differences(expected, actual):
    if actual is None:
        return "the runtime socket does not answer"
    wrong = {k: (v, actual.get(k)) for k, v in expected.items() if actual.get(k) != v}
    return ", ".join(f"{k}: status {v} runs {a}" for k, (v, a) in wrong.items())


def wait_weights_from_status(s, what, timeout=30):
    """Polls until HAProxy's runtime weights equal what status says (rollout and policy);
    returns (seconds, whether the first answer HAProxy gave was already right)."""
    start = time.monotonic()
    first = None
    last = ""
    while time.monotonic() - start < timeout:
        rollout_status, policy_status = s.status(ROLLOUT), tp_e2e.status(s, POLICY)
        live = live_map(s)
        last = differences(expected_entries(s, rollout_status, policy_status), live)
        if live is not None and first is None:
            first = not last
            if last:
                log(f"{what}: HAProxy's first answer differs from status: {last}")
        if not last:
            return time.monotonic() - start, bool(first)
        time.sleep(0.1)
    check(False, f"{what}: HAProxy still runs weights status does not record after "
          f"{timeout}s: {last}")


# --- the operator from outside -----------------------------------------------------------------
def audit_requests(s, since, until):
    """The operator's requests to kube-apiserver between two times (epoch seconds), from the
    audit log: [(verb, resource, subresource, name)]."""
    path = os.path.join(s.env.get("CLUSTER_DIR", ""), "logs", "audit.log")
    if not s.env.get("CLUSTER_DIR") or not os.path.exists(path):
        return None
    user = f"system:serviceaccount:{s.env['NAMESPACE']}:sluice"
    out, seen = [], set()
    with open(path) as f:
        for line in f:
            if user not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("user", {}).get("username") != user or ev["auditID"] in seen:
                continue
            seen.add(ev["auditID"])
            ts = ev.get("requestReceivedTimestamp", "").replace("Z", "+00:00")
            t = datetime.datetime.fromisoformat(ts).timestamp()
            if since <= t <= until:
                ref = ev.get("objectRef", {})
                out.append((ev.get("verb"), ref.get("resource"), ref.get("subresource"),
                            ref.get("name")))
    return out


LOG_LINE = re.compile(r"^(\S+) warning \[kube\] controller=(\w+) key=(\S+) error \(retry (\d+)\): "
                      r"(.*)$")


def retries(s, controller, key, since, until):
    """(time, message) of the operator's logged reconcile errors of one key."""
    out = []
    with open(os.path.join(s.dir, "logs", "operator.log"), errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.strip())
            if not m or m.group(2) != controller or m.group(3) != key:
                continue
            t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            if since <= t <= until:
                out.append((t, m.group(5)))
    return out


def condition(st, kind):
    for c in st.get("conditions", []):
        if c["type"] == kind:
            return c
    return {}


def provider_error(st):
    return condition(st, "Ready").get("reason") == "TrafficProviderError"


# --- the faults ----------------------------------------------------------------------------------
def kill_master(s):
    """SIGKILL to HAProxy's master, as a crash: its worker leaves with it."""
    master, workers = haproxy_pids(s)
    os.kill(master, signal.SIGKILL)
    wait_for(lambda: not any(alive(p) for p in [master] + workers), 10,
             "HAProxy's master and workers to exit")
    os.remove(os.path.join(s.dir, "pids", "haproxy.pid"))


def master_restart(s, down_for):
    before_r, before_p = s.status(ROLLOUT), tp_e2e.status(s, POLICY)
    on_disk = file_map(s)
    wrong = differences(expected_entries(s, before_r, before_p), on_disk)
    check(not wrong, f"before the crash the map file on disk is not what status says: {wrong}")
    kill_master(s)
    killed = time.monotonic()
    if down_for:
        # Long enough for a step to come due: it lands in status and the file, not in HAProxy.
        wait_for(lambda: s.status(ROLLOUT).get("canaryWeight") != before_r["canaryWeight"] or
                 time.monotonic() - killed >= down_for, down_for + 5, "the outage")
        time.sleep(max(0.0, killed + down_for - time.monotonic()))
    st = s.status(ROLLOUT)
    s.stack("haproxy-start")
    took, first = wait_weights_from_status(s, "after the master restart")
    log(f"master killed, down {time.monotonic() - killed - took:.1f}s (status meanwhile "
        f"{before_r['canaryWeight']} -> {st['canaryWeight']} %), back on status weights "
        f"{took:.2f}s after HAProxy answered ({'from the files' if first else 're-applied'})")
    return took, first


def scenario(build_dir):
    started = time.monotonic()
    with Stack(build_dir, "chaos-haproxy") as s:
        ns = s.env["NAMESPACE"]
        with open(os.path.join(s.dir, "pids", "operator.pid")) as f:
            operator = int(f.read().strip())
        s.background_traffic(TP_HOST, rate=40)
        tp_e2e.start_policy(s, POLICY, TP_HOST)
        s.start_canary(ROLLOUT, HOST, "4s")
        tp_e2e.wait_policy(s, POLICY, lambda st: condition(st, "Ready").get("status") == "True",
                           60, "the policy Ready")
        weights0 = {b["name"]: b["weight"] for b in tp_e2e.status(s, POLICY)["backends"]}
        table = []
        with StatusHistory(s, ROLLOUT) as history:
            s.wait_status(ROLLOUT, lambda st: st.get("canaryWeight", 0) >= 10, 60, "weight 10")

            # (a) master crashes. HAProxy starts from the files the operator keeps: they must
            # carry what status records (a step that came due while HAProxy was down included).
            for down_for in (0, 6):
                t_kill = time.time()
                took, first = master_restart(s, down_for)
                table.append((f"master SIGKILL, down {down_for}s", f"{took:.2f}s to status "
                              f"weights ({'from the map file' if first else 're-applied'})"))
                check(took < 2, f"HAProxy ran weights status does not record for {took:.1f}s "
                      "after a restart from the operator's files")
            # HAProxy gone (connection refused): cheap errors, the queue's backoff shows.
            gone = retries(s, "canaryrollout", f"{ns}/{ROLLOUT}", t_kill, time.time())
            gone_gaps = [round(b[0] - a[0], 2) for a, b in zip(gone, gone[1:])]
            log(f"HAProxy gone {down_for}s: {len(gone)} rollout retries at intervals {gone_gaps}")
            check(len(gone) <= 15, f"{len(gone)} retries in {down_for}s of dead HAProxy")
            check(len(gone_gaps) < 3 or gone_gaps[-1] > 2 * gone_gaps[0],
                  f"retry intervals do not grow while HAProxy is gone: {gone_gaps}")

            # (b) the runtime socket unreachable.
            s.wait_status(ROLLOUT, lambda st: not provider_error(st), 30,
                          "the rollout healthy before the freeze")
            tp_e2e.wait_policy(s, POLICY, lambda st: not provider_error(st), 30,
                               "the policy healthy before the freeze")
            master, workers = haproxy_pids(s)
            frozen_r = s.status(ROLLOUT)
            frozen_weights = live_map(s)
            cpu0 = cpu_seconds(operator)
            t0 = time.time()
            for pid in [master] + workers:
                os.kill(pid, signal.SIGSTOP)
            try:
                st = s.wait_status(ROLLOUT, provider_error, 30,
                                   "status to report the unreachable runtime API")
                message = condition(st, "Ready")["message"]
                log(f"frozen: reported {time.time() - t0:.1f}s later at weight "
                    f"{st['canaryWeight']} %: {message}")
                check("HAProxy runtime API" in message,
                      f"the condition does not name HAProxy's runtime API: {message}")
                tp = tp_e2e.wait_policy(s, POLICY, provider_error, 30,
                                        "the policy to report the unreachable runtime API")
                log(f"policy: {condition(tp, 'Ready')['message']}")
                time.sleep(max(0.0, t0 + OUTAGE - time.time()))
            finally:
                t1 = time.time()
                cpu = cpu_seconds(operator) - cpu0
                for pid in [master] + workers:
                    os.kill(pid, signal.SIGCONT)
            during_r = s.status(ROLLOUT)
            check(during_r.get("currentStep", 0) <= frozen_r.get("currentStep", 0) + 1,
                  f"the rollout moved from step {frozen_r.get('currentStep')} to "
                  f"{during_r.get('currentStep')} while no weight could be applied")
            took, _ = wait_weights_from_status(s, "after the thaw")
            stale = differences(expected_entries(s, during_r, tp_e2e.status(s, POLICY)),
                                frozen_weights)
            log(f"thawed: HAProxy ran {stale or 'status weights'}; on status weights {took:.2f}s "
                "later")
            back = s.wait_status(ROLLOUT, lambda st: not provider_error(st), 30,
                                 "the rollout to clear TrafficProviderError")
            recovered = time.time() - t1
            check(took < 12, f"HAProxy ran stale weights for {took:.1f}s after the thaw")
            table.append((f"thaw after {OUTAGE:.0f}s", f"{took:.2f}s to status weights"))

            # Figures of the outage.
            time.sleep(2)  # the audit log is written in batches
            requests = audit_requests(s, t0, t1)
            log_r = retries(s, "canaryrollout", f"{ns}/{ROLLOUT}", t0, t1)
            log_p = retries(s, "trafficpolicy", f"{ns}/{POLICY}", t0, t1)
            intervals = [round(b[0] - a[0], 2) for a, b in zip(log_r, log_r[1:])]
            p_intervals = [round(b[0] - a[0], 2) for a, b in zip(log_p, log_p[1:])]
            messages = sorted({m for _, m in log_r + log_p})
            log(f"during {OUTAGE:.0f}s frozen: rollout retries {len(log_r)} at intervals "
                f"{intervals}; policy retries {len(log_p)} at {p_intervals}; errors: {messages}")
            log(f"operator CPU {cpu:.2f}s ({100 * cpu / OUTAGE:.2f} %)")
            if requests is not None:
                writes = [r for r in requests if r[0] in ("create", "update", "patch", "delete")]
                status_r = [r for r in writes if r[1] == "canaryrollouts" and r[2] == "status"]
                status_p = [r for r in writes if r[1] == "trafficpolicies" and r[2] == "status"]
                events = [r for r in writes if r[1] == "events"]
                leases = [r for r in writes if r[1] == "leases"]
                other = len(writes) - len(status_r) - len(status_p) - len(events) - len(leases)
                log(f"API server: {len(requests)} requests ({len(requests) / OUTAGE:.2f}/s), "
                    f"{len(writes)} writes ({len(writes) / OUTAGE:.2f}/s): rollout status "
                    f"{len(status_r)}, policy status {len(status_p)}, Events {len(events)}, "
                    f"leases {len(leases)}, other {other}")
                # One write saying so per CR; the rollout may also record one step that came
                # due as the freeze began (its weight goes up after status, so it is the one
                # HAProxy cannot take).
                check(len(status_r) <= 2, f"{len(status_r)} rollout status writes in "
                      f"{OUTAGE:.0f}s of outage: {status_r}")
                check(len(status_p) <= 1, f"{len(status_p)} policy status writes in "
                      f"{OUTAGE:.0f}s of outage")
                check(len(events) <= 2, f"{len(events)} Events in {OUTAGE:.0f}s of outage")
                non_lease = len(writes) - len(leases)
                check(non_lease / OUTAGE < 0.2, f"{non_lease} writes in {OUTAGE:.0f}s")
                table.append((f"runtime socket frozen {OUTAGE:.0f}s",
                              f"{len(status_r)}+{len(status_p)} status writes, "
                              f"{len(writes) / OUTAGE:.2f} writes/s"))
            check(cpu / OUTAGE < 0.05, f"operator CPU {100 * cpu / OUTAGE:.1f} % while frozen")
            # Backoff: the gaps grow (each retry waits for a 2 s timeout on top) and few
            # retries fit in the outage.
            check(len(log_r) <= 20 and len(log_p) <= 20,
                  f"{len(log_r)} rollout and {len(log_p)} policy retries in {OUTAGE:.0f}s")
            # Each attempt waits for the runtime client's 2 s timeout: no tight loop, whatever
            # the queue's backoff (5 ms doubling to 10 s) says.
            for gaps, who in ((intervals, "rollout"), (p_intervals, "policy")):
                check(not gaps or min(gaps) >= 1.5, f"{who} retried at intervals {gaps}")
            check(len(messages) == 1, f"a hung HAProxy gave {len(messages)} different errors, "
                  f"each a status write: {messages}")
            log(f"recovered: TrafficProviderError cleared {recovered:.1f}s after the thaw at "
                f"weight {back['canaryWeight']} %")

            s.wait_status(ROLLOUT, lambda st: st.get("phase") == "Succeeded", 120, "Succeeded")
            took, _ = wait_weights_from_status(s, "at the end")
        history.check_no_skip_or_rollback()
        tp = tp_e2e.status(s, POLICY)
        weights = {b["name"]: b["weight"] for b in tp["backends"]}
        check(weights == weights0, f"the policy's weights moved: {weights0} -> {weights}")
        check(condition(tp, "Ready").get("status") == "True",
              f"the policy is not Ready after the outage: {condition(tp, 'Ready')}")
        for fault, outcome in table:
            log(f"| {fault} | {outcome} |")
    log(f"scenario with stack: {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main(scenario)
