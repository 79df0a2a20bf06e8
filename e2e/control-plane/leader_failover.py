#!/usr/bin/env python3
"""e2e.control-plane.leader-failover: two operator replicas elect a leader on a real Lease
(coordination.k8s.io/v1 in kube-apiserver, under the chart's Role). The leader is SIGKILLed
mid-rollout (no graceful release): the standby takes the Lease within the lease duration and
the rollout goes on from the same step: no step skipped, repeated or rolled back."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canary"))
from sluice_e2e import StatusHistory, Stack, check, log, main  # noqa: E402

HOST = "payment.failover.local"
LEASE_SECONDS = 6


def is_leader(s, url):
    return s.metric(url, "leader_election_is_leader") == 1.0


def scenario(build_dir):
    os.environ["SLUICE_LEASE_SECONDS"] = str(LEASE_SECONDS)
    with Stack(build_dir, "failover") as s:
        s.stack("operator-add", "b")
        with open(os.path.join(s.dir, "pids", "operator-b.ports")) as f:
            b_metrics = f"http://127.0.0.1:{f.read().split()[0]}"
        a_metrics = s.env["OPERATOR_METRICS"]
        check(is_leader(s, a_metrics), "the first replica does not lead")
        check(not is_leader(s, b_metrics), "both replicas claim to lead")
        lease = json.loads(s.kubectl("get", "lease", "sluice-operator", "-o", "json").stdout)
        holder = lease["spec"]["holderIdentity"]
        log(f"lease held by {holder}, duration {lease['spec']['leaseDurationSeconds']} s")

        s.start_canary("failover", HOST, "4s")
        with StatusHistory(s, "failover") as history:
            s.wait_status("failover", lambda st: st.get("currentStep", -1) >= 2, 90, "step 2")
            step = s.status("failover").get("currentStep")
            s.stack("operator-kill")
            killed = time.monotonic()
            log(f"leader SIGKILLed at step {step}")
            deadline = killed + LEASE_SECONDS + 10
            while not is_leader(s, b_metrics):
                check(time.monotonic() < deadline,
                      f"the standby did not take over within {LEASE_SECONDS + 10} s")
                time.sleep(0.1)
            took = time.monotonic() - killed
            lease = json.loads(s.kubectl("get", "lease", "sluice-operator", "-o", "json").stdout)
            check(lease["spec"]["holderIdentity"] != holder,
                  f"the Lease still names the killed leader {holder}")
            check(took <= LEASE_SECONDS + 3,
                  f"takeover took {took:.1f} s, more than the lease duration {LEASE_SECONDS} s")
            log(f"standby {lease['spec']['holderIdentity']} leads {took:.1f} s after the kill "
                f"(lease {LEASE_SECONDS} s); leaseTransitions "
                f"{lease['spec'].get('leaseTransitions')}")
            s.wait_status("failover", lambda st: st.get("phase") == "Succeeded", 120,
                          "Succeeded under the new leader")
        history.check_no_skip_or_rollback()


if __name__ == "__main__":
    main(scenario)
