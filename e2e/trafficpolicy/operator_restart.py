#!/usr/bin/env python3
"""e2e.trafficpolicy.operator-restart: the operator is killed (SIGKILL) in the middle of a
shift. After it restarts, the shift resumes from status at the step it had reached: eastus's
weight never goes back up, no step is repeated from the start, and the drain completes."""
import time

from tp_e2e import (backend, check, condition, log, main, send, set_backend, shares,
                    start_policy, wait_answering, wait_policy, Stack)

HOST = "checkout.restart.local"


def scenario(build_dir):
    with Stack(build_dir, "tp-restart", env={"SLUICE_LEASE_SECONDS": "8"}) as s:
        s.background_traffic(HOST, rate=80)
        start_policy(s, "checkout", HOST)
        wait_policy(s, "checkout", lambda st: st.get("activeBackends") == 3 and
                    condition(st, "Ready").get("status") == "True", 60, "3 active backends")
        wait_answering(s, HOST)
        set_backend(s, "eastus", errorRate=0.5)
        st = wait_policy(s, "checkout", lambda st: backend(st, "eastus").get("state") ==
                         "Draining" and backend(st, "eastus").get("step", 0) >= 2, 60,
                         "eastus Draining at step 2")
        at_kill = backend(st, "eastus")
        s.stack("operator-kill")
        killed = time.monotonic()
        log(f"operator killed mid-shift: eastus {at_kill}")
        time.sleep(3)
        s.stack("operator-start")
        weights = [at_kill["weight"]]
        steps = [at_kill["step"]]

        def drained(st):
            b = backend(st, "eastus")
            if b.get("weight") != weights[-1]:
                weights.append(b.get("weight"))
            if b.get("step") is not None and b.get("step") != steps[-1]:
                steps.append(b.get("step"))
            return b.get("state") == "Drained"
        wait_policy(s, "checkout", drained, 90, "eastus Drained after the restart")
        log(f"after the restart ({time.monotonic() - killed:.1f}s): weights {weights}, "
            f"steps {steps}")
        check(all(a >= b for a, b in zip(weights, weights[1:])),
              f"eastus's weight went back up across the restart: {weights}")
        check(all(b >= steps[0] for b in steps[1:]),
              f"the shift restarted below step {steps[0]}: {steps}")
        out = shares(send(s, HOST, 300))
        check(out["eastus"] == 0 and out["other"] == 0, f"after the drain: {out}")


if __name__ == "__main__":
    main(scenario)
