#!/usr/bin/env python3
"""e2e.control-plane.apiserver-restart: kube-apiserver is restarted mid-rollout (its own control
plane, so no other test sees it). The operator's watches resume on the new process: a change
made right after the restart (pause) is seen and honoured, the rollout then finishes with no
step skipped, repeated or rolled back. Then etcd is restarted the same way."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canary"))
from sluice_e2e import StatusHistory, Stack, check, log, main  # noqa: E402

HOST = "payment.apirestart.local"


def scenario(build_dir):
    with Stack(build_dir, "apirestart", own_cluster=True) as s:
        s.start_canary("restart", HOST, "4s")
        with StatusHistory(s, "restart") as history:
            s.wait_status("restart", lambda st: st.get("currentStep", -1) >= 1, 60, "step 1")
            t0 = time.monotonic()
            s.cluster("restart-apiserver")
            log(f"kube-apiserver restarted in {time.monotonic() - t0:.1f} s")
            # A change right after the restart must reach the operator through its new watch.
            s.set_paused("restart", True)
            t1 = time.monotonic()
            st = s.wait_status("restart", lambda st: st.get("phase") == "Paused", 30,
                               "Paused after the restart (the watch resumed)")
            log(f"pause seen {time.monotonic() - t1:.1f} s after the write, at step "
                f"{st.get('currentStep')}")
            paused_step = st.get("currentStep")
            time.sleep(3)
            check(s.status("restart").get("currentStep") == paused_step,
                  "the rollout moved while paused")
            s.set_paused("restart", False)
            s.wait_status("restart", lambda st: st.get("currentStep", -1) > paused_step, 60,
                          "the next step after resuming")
            t0 = time.monotonic()
            s.cluster("restart-etcd")
            log(f"etcd restarted in {time.monotonic() - t0:.1f} s")
            s.wait_status("restart", lambda st: st.get("phase") == "Succeeded", 120,
                          "Succeeded after both restarts")
        history.check_no_skip_or_rollback()


if __name__ == "__main__":
    main(scenario)
