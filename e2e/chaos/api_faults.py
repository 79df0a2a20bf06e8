#!/usr/bin/env python3
"""e2e.chaos.api-faults: the API server misbehaves, one fault after another, while a rollout
progresses. The operator reaches its own control plane through the fault proxy (e2e/k8s/faults):

  30 s of 429 with Retry-After on every request; 30 s of 500; 2 s of latency on every request;
  watches cut every 3 s; kube-apiserver SIGKILLed and started again; etcd compacted under cut
  watches (410 Gone on resume); then SIGTERM while every request fails (it exits in under 3 s).

A process that cannot renew its Lease exits, as client-go's do; the scenario restarts it as a
kubelet would (restartPolicy Always) and counts the restarts. Throughout, a monitor reads the
canary weight HAProxy is running (the runtime API's `show map`, every 0.2 s): it only ever moves
up, and only to a step's weight; the status history shows no step skipped, repeated or rolled
back. For each fault: requests per second to the API server, operator CPU (every process's, a process that exited included) and the Events written
are measured and bounded (no hot loop, no flood). The rollout finishes Succeeded."""
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))

from sluice_e2e import (StatusHistory, Stack, check, cpu_seconds, haproxy_runtime,  # noqa: E402
                        log, main,
                        wait_for)

NAME, HOST = "chaos-api", "payment.chaos-api.local"
STEPS = (0, 5, 10, 25, 50, 75, 100)
LEASE_SECONDS = 6
HOLD = int(os.environ.get("SLUICE_CHAOS_FAULT_SECONDS", "30"))
MEASURE = 15  # CPU and request rates are taken over at least this many seconds a fault


class WeightMonitor:
    """The canary's weight as HAProxy runs it: the value of the rollout's `:canary` key in the
    weights map, read through the runtime API every 0.2 s (changes only)."""

    def __init__(self, s):
        self.s = s
        self.path = os.path.join(s.dir, "haproxy", "weights.map")
        self.values = []
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def read(self):
        for line in haproxy_runtime(self.s, f"show map {self.path}").splitlines():
            parts = line.split()
            if len(parts) == 3 and f":{NAME}:" in parts[1] and parts[1].endswith(":canary"):
                return int(parts[2])
        return None

    def _poll(self):
        while not self._stop.is_set():
            try:
                v = self.read()
                self.reads += 1
                if v is not None and (not self.values or self.values[-1] != v):
                    self.values.append(v)
            except OSError:
                pass
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Supervisor:
    """Starts the operator again when it exits (a lost Lease), after 1 s, as a kubelet would."""

    def __init__(self, s):
        self.s = s
        self.restarts = 0
        self.cpu_by_pid = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def pid(self):
        try:
            with open(os.path.join(self.s.dir, "pids", "operator.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def alive(self):
        pid = self.pid()
        return pid is not None and process_alive(pid)

    def cpu(self):
        """CPU seconds used by every operator process so far (each process's last reading:
        a process that exited keeps what it had used)."""
        return sum(self.cpu_by_pid.values())

    def _watch(self):
        while not self._stop.wait(0.5):
            pid = self.pid()
            if pid is not None and self.alive():
                self.cpu_by_pid[pid] = cpu_seconds(pid)
            if not self.alive():
                time.sleep(1)
                self.s.stack("operator-start")
                self.restarts += 1
                log(f"the operator exited (Lease lost); started again ({self.restarts})")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def events_about(s, name):
    p = s.kubectl("get", "events.events.k8s.io", "-o", "json")
    total = 0
    for e in json.loads(p.stdout)["items"]:
        if e.get("regarding", {}).get("name") == name:
            total += (e.get("series") or {}).get("count", 1)
    return total


def scenario(build_dir):
    with Stack(build_dir, "chaos-api", own_cluster=True, faults=True,
               env={"SLUICE_LEASE_SECONDS": str(LEASE_SECONDS)}) as s:
        s.start_canary(NAME, HOST, "25s")
        sup = Supervisor(s)
        with StatusHistory(s, NAME) as history, WeightMonitor(s) as weights, sup:
            s.wait_status(NAME, lambda st: st.get("currentStep", -1) >= 1, 90, "step 1")
            figures = []
            phases = (
                (f"{HOLD} s of 429, Retry-After 1", lambda: s.faults(status=429, count=10**7,
                                                                     retryAfter=1), HOLD),
                (f"{HOLD} s of 500", lambda: s.faults(status=500, count=10**7), HOLD),
                ("2 s latency on every request", lambda: s.faults(latency="2s"), 12),
                ("watches cut every 3 s", lambda: s.faults(dropWatchesEvery="3s"), 12),
                ("kube-apiserver SIGKILLed and restarted",
                 lambda: s.cluster("restart-apiserver"), 0),
                ("etcd compacted, watches cut (410 on resume)",
                 lambda: (s.cluster("compact"), s.faults(dropWatches="now")), 0),
            )
            for what, inject, hold in phases:
                time.sleep(0.6)  # a fresh CPU reading
                cpu0, t0 = sup.cpu(), time.monotonic()
                req0 = sum(s.faults_stats()["requests"].values())
                ev0 = events_about(s, NAME)
                restarts0 = sup.restarts
                inject()
                time.sleep(hold)
                s.faults_clear()
                # Converged: a leader that has reconciled since the fault ended and status that
                # moves on (the step's clock is status, so it advances within a step interval).
                step0 = s.status(NAME).get("currentStep")
                wait_for(lambda: s.metric(s.env["OPERATOR_METRICS"],
                                          "leader_election_is_leader") == 1, 60,
                         f"after '{what}': a leader")
                s.wait_status(NAME, lambda st: st.get("currentStep") != step0 or
                              st.get("phase") == "Succeeded", 90,
                              f"after '{what}': the rollout to move on")
                converged = time.monotonic() - t0
                # CPU as a share of at least MEASURE seconds: a relist after a 410 is a
                # legitimate burst, a hot loop is not over with it.
                time.sleep(max(0.6, MEASURE - (time.monotonic() - t0)))
                elapsed = time.monotonic() - t0
                cpu = sup.cpu() - cpu0
                reqs = sum(s.faults_stats()["requests"].values()) - req0
                evs = events_about(s, NAME) - ev0
                row = (what, converged, reqs / elapsed, cpu / elapsed, evs,
                       sup.restarts - restarts0)
                figures.append(row)
                log(f"{what}: converged after {converged:.0f} s; {reqs / elapsed:.1f} API "
                    f"requests/s, operator CPU {100 * cpu / elapsed:.0f} %, {evs} Events, "
                    f"{row[5]} restarts")
                check(reqs / elapsed < 30, f"{what}: {reqs / elapsed:.0f} requests/s: a hot loop")
                check(cpu / elapsed < 0.25,
                      f"{what}: operator CPU {100 * cpu / elapsed:.0f} %")
                check(evs <= 8, f"{what}: {evs} Events about the rollout: a flood")
            # SIGTERM while every request fails: the retry waits end and the operator exits
            # well inside its 10 s shutdown bound (it used to sit them out: 3 to 15 s).
            s.faults(status=500, count=10**7)
            time.sleep(3)  # workers, informers and the elector in their retry backoff
            pid = sup.pid()
            t0 = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not process_alive(pid), 30, "the operator to exit on SIGTERM")
            took = time.monotonic() - t0
            s.faults_clear()
            log(f"SIGTERM while every API request fails: the operator exited after {took:.2f} s")
            check(took < 3, f"SIGTERM during an API outage: exited after {took:.1f} s")
            s.wait_status(NAME, lambda st: st.get("phase") == "Succeeded", 240, "Succeeded")
            time.sleep(0.5)
        history.check_no_skip_or_rollback()
        seen = weights.values
        log(f"HAProxy's canary weight through the faults ({weights.reads} reads): {seen}")
        if not seen:
            log(haproxy_runtime(s, f"show map {weights.path}"))
        check(seen and seen[-1] > 0, f"no canary weight read from HAProxy: {seen}")
        scale = seen[-1] / 100
        pct = [v / scale for v in seen]
        check(all(a < b for a, b in zip(pct, pct[1:])), f"the weight went down: {pct}")
        check(all(any(abs(p - w) < 1e-6 for w in STEPS) for p in pct),
              f"HAProxy ran a weight that is no step's: {pct}")
        stats = s.faults_stats()
        log(f"fault proxy: {stats['injected']} errors injected, {stats['watchesDropped']} "
            f"watches cut; operator restarts after a lost Lease: {sup.restarts}")


if __name__ == "__main__":
    main(scenario)
