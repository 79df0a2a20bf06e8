#!/usr/bin/env python3
"""e2e.control-plane.api-faults: the operator reaches kube-apiserver through the fault proxy
(e2e/k8s/faults) while a rollout runs: bursts of 429 (with Retry-After) and 500, a second of
latency on every request, and watches cut every 2 s. The rollout still finishes with no step
skipped, repeated or rolled back; the operator does not hot-loop (requests per second and CPU
time during the faults are reported and bounded)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canary"))
from sluice_e2e import StatusHistory, Stack, check, log, main  # noqa: E402

HOST = "payment.faults.local"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_requests(s):
    return sum(s.faults_stats()["requests"].values())


def scenario(build_dir):
    with Stack(build_dir, "apifaults", faults=True) as s:
        s.start_canary("faults", HOST, "3s")
        with open(os.path.join(s.dir, "pids", "operator.pid")) as f:
            pid = int(f.read())
        with StatusHistory(s, "faults") as history:
            s.wait_status("faults", lambda st: st.get("currentStep", -1) >= 1, 60, "step 1")
            cpu0, req0, t0 = cpu_seconds(pid), total_requests(s), time.monotonic()
            for name, params, hold in (
                    ("30 x 429, Retry-After 1", dict(status=429, count=30, retryAfter=1), 4),
                    ("30 x 500", dict(status=500, count=30), 4),
                    ("1 s latency on every request", dict(latency="1s"), 5),
                    ("watches cut every 2 s", dict(dropWatchesEvery="2s"), 8)):
                s.faults(**params)
                log(f"fault: {name} for {hold} s")
                time.sleep(hold)
                s.faults_clear()
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(pid) - cpu0
            reqs = total_requests(s) - req0
            stats = s.faults_stats()
            log(f"during {elapsed:.0f} s of faults: {reqs} requests ({reqs / elapsed:.1f}/s), "
                f"{stats['injected']} answered with injected errors, "
                f"{stats['watchesDropped']} watches cut, operator CPU {cpu:.2f} s "
                f"({100 * cpu / elapsed:.0f} %)")
            check(reqs / elapsed < 50, f"{reqs / elapsed:.0f} requests/s to the API server: a hot loop")
            check(cpu / elapsed < 0.5, f"operator used {100 * cpu / elapsed:.0f} % CPU under faults")
            s.wait_status("faults", lambda st: st.get("phase") == "Succeeded", 120,
                          "Succeeded after the faults")
        history.check_no_skip_or_rollback()


if __name__ == "__main__":
    main(scenario)
