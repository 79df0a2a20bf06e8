#!/usr/bin/env python3
"""e2e.canary.operator-restart: the operator is killed (SIGKILL) mid-step and restarted; the
rollout resumes at the same step, with no extra rollback and no skipped step."""
import time

from sluice_e2e import StatusHistory, Stack, check, log, main

HOST = "payment.restart.local"


def scenario(build_dir):
    with Stack(build_dir, "restart") as s:
        s.start_canary("restart", HOST, "3s")
        with StatusHistory(s, "restart") as history:
            s.wait_status("restart", lambda st: st.get("currentStep", -1) >= 2, 60, "step 2")
            s.stack("operator-kill")
            step = s.status("restart").get("currentStep")
            log(f"operator killed at step {step}")
            time.sleep(1.5)  # the data plane keeps its weight while no operator runs
            s.stack("operator-start")
            st = s.status("restart")
            check(st.get("currentStep") == step,
                  f"after restart the rollout is at step {st.get('currentStep')}, not {step}")
            s.wait_status("restart", lambda st: st.get("phase") == "Succeeded", 90, "Succeeded")
        history.check_no_skip_or_rollback()


if __name__ == "__main__":
    main(scenario)
