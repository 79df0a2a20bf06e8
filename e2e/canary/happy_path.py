#!/usr/bin/env python3
"""e2e.canary.happy-path: the rollout walks 5→10→25→50→75→100 and ends Succeeded; at every step
the share of requests HAProxy actually sent to the canary (measured from the responses of real
traffic) is within ±2 points of the step weight."""
from sluice_e2e import Stack, canary_share, check, log, main

HOST = "payment.happy.local"
STEPS = [5, 10, 25, 50, 75, 100]


def scenario(build_dir):
    with Stack(build_dir, "happy") as s:
        s.start_canary("happy", HOST, "3s")
        for index, weight in enumerate(STEPS[:-1]):
            s.pause_at_step("happy", index, weight)
            result = s.traffic(HOST, tenants=4000, prefix=f"step{index}-")
            share = canary_share(result)
            log(f"step {index}: weight {weight}%, canary share {share:.2f}% "
                f"of {result['requests']} requests")
            check(abs(share - weight) <= 2.0,
                  f"step {index}: canary share {share:.2f}% is not within 2 points of {weight}%")
            s.set_paused("happy", False)
        st = s.wait_status("happy", lambda st: st.get("phase") == "Succeeded", 60, "Succeeded")
        check(st.get("canaryWeight") == 100, f"Succeeded with weight {st.get('canaryWeight')}")
        share = canary_share(s.traffic(HOST, tenants=500, prefix="done-"))
        check(share == 100.0, f"after Succeeded only {share:.2f}% of requests reach the canary")
        conditions = {c["type"]: c for c in st.get("conditions", [])}
        check(conditions.get("Ready", {}).get("status") == "True",
              f"Ready condition not True after success: {conditions}")


if __name__ == "__main__":
    main(scenario)
