#!/usr/bin/env python3
"""e2e.canary.prometheus-down: Prometheus stops mid-rollout; the rollout holds (analysis
Inconclusive, weight unchanged, never promoted on missing data) and resumes when Prometheus is
back, ending Succeeded."""
import time

from sluice_e2e import Stack, check, log, main

HOST = "payment.promdown.local"


def scenario(build_dir):
    with Stack(build_dir, "promdown") as s:
        s.start_canary("promdown", HOST, "2s")
        st = s.wait_status("promdown", lambda st: st.get("currentStep", -1) >= 1, 60, "step 1")
        s.stack("prometheus-stop")
        held_step = s.status("promdown").get("currentStep")
        log(f"prometheus stopped at step {held_step}")
        # Hold for several step intervals: any advance now would be a promotion on no data.
        deadline = time.monotonic() + 8
        saw_inconclusive = False
        while time.monotonic() < deadline:
            st = s.status("promdown")
            check(st.get("currentStep") == held_step and st.get("phase") != "Succeeded",
                  f"rollout moved without metrics: step {st.get('currentStep')} "
                  f"phase {st.get('phase')}")
            check(st.get("phase") != "RolledBack", "missing metrics caused a rollback")
            results = {m.get("result") for m in st.get("analysis", {}).get("metrics", [])}
            saw_inconclusive = saw_inconclusive or results == {"Inconclusive"}
            time.sleep(0.3)
        check(saw_inconclusive, f"analysis never reported Inconclusive: {st.get('analysis')}")
        check("prometheus" in (st.get("message", "") + str(st.get("analysis"))).lower() or
              any("nreachable" in (m.get("message") or "")
                  for m in st.get("analysis", {}).get("metrics", [])),
              f"status does not say Prometheus is the problem: {st}")
        s.stack("prometheus-start")
        log("prometheus restarted")
        st = s.wait_status("promdown", lambda st: st.get("phase") == "Succeeded", 90,
                           "Succeeded after Prometheus returned")
        check(st.get("canaryWeight") == 100, f"weight {st.get('canaryWeight')}")


if __name__ == "__main__":
    main(scenario)
