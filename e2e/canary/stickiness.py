#!/usr/bin/env python3
"""e2e.canary.stickiness: 1,000 tenants; every tenant served by the canary at step k is still
served by the canary at step k+1, and the canary's share of tenants tracks the step weight
within ±3 points."""
from sluice_e2e import Stack, check, check_all_answered, log, main

HOST = "payment.sticky.local"
STEPS = [5, 10, 25, 50, 75, 100]
TENANTS = 1000


def canary_tenants(result):
    check_all_answered(result)
    tenants = result["tenants"]
    check(len(tenants) == TENANTS, f"only {len(tenants)} of {TENANTS} tenants got answers")
    split = [t for t, served in tenants.items() if len(served) != 1]
    check(not split, f"tenants served by both versions within one step: {split[:5]}")
    return {t for t, served in tenants.items() if served == ["canary"]}


def scenario(build_dir):
    with Stack(build_dir, "sticky") as s:
        s.start_canary("sticky", HOST, "3s")
        previous = set()
        for index, weight in enumerate(STEPS):
            if weight < 100:
                s.pause_at_step("sticky", index, weight)
            else:
                s.wait_status("sticky", lambda st: st.get("phase") == "Succeeded", 60,
                              "Succeeded")
            # Two requests per tenant: a tenant must land on one side within a step too.
            result = s.traffic(HOST, tenants=TENANTS, rounds=2, record=True)
            on_canary = canary_tenants(result)
            share = 100.0 * len(on_canary) / TENANTS
            moved_back = previous - on_canary
            log(f"weight {weight}%: {len(on_canary)} tenants on the canary ({share:.1f}%), "
                f"{len(moved_back)} moved back")
            check(not moved_back, f"tenants left the canary when the weight grew to {weight}%: "
                  f"{sorted(moved_back)[:5]}")
            check(abs(share - weight) <= 3.0,
                  f"canary share of tenants {share:.1f}% not within 3 points of {weight}%")
            previous = on_canary
            if weight < 100:
                s.set_paused("sticky", False)


if __name__ == "__main__":
    main(scenario)
