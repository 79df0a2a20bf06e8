#!/usr/bin/env python3
"""e2e.trafficpolicy.failover: three regional backends behind HAProxy. eastus starts failing
(half its requests 500, health checks still passing): within the shift schedule (4 steps of
2 s) its share of real traffic drops to 0 step by step and the other regions absorb it,
measured from the responses and from HAProxy's per-backend counters. Healed, it regains its
share gradually once it has been healthy for `healthyFor`."""
import time

from tp_e2e import (backend, check, condition, firing_alerts, haproxy_served, log, main, send,
                    set_backend, shares, start_policy, status, wait_answering, wait_policy,
                    Stack)

HOST = "checkout.failover.local"
STEPS, INTERVAL, HEALTHY_FOR = 4, 2.0, 6.0


def scenario(build_dir):
    with Stack(build_dir, "tp-failover") as s:
        s.background_traffic(HOST, rate=80)
        start_policy(s, "checkout", HOST)
        st = wait_policy(s, "checkout", lambda st: st.get("activeBackends") == 3 and
                         condition(st, "Ready").get("status") == "True", 60, "3 active backends")
        wait_answering(s, HOST)
        before = shares(send(s, HOST, 600))
        log(f"baseline shares: {before}")
        check(before["other"] == 0, f"requests failed before any fault: {before}")
        check(30 <= before["eastus"] <= 50, f"eastus share {before['eastus']:.1f} % (weight 40)")

        set_backend(s, "eastus", errorRate=0.5)
        failed_at = time.monotonic()
        weights = []
        alerts = set()

        def drained(st):
            alerts.update(firing_alerts(s))
            w = backend(st, "eastus").get("weight")
            if not weights or weights[-1] != w:
                weights.append(w)
            return backend(st, "eastus").get("state") == "Drained"
        st = wait_policy(s, "checkout", drained, 60, "eastus Drained")
        took = time.monotonic() - failed_at
        log(f"eastus drained {took:.1f}s after it started failing; weights on the way: {weights}; "
            f"alerts fired: {sorted(alerts)}")
        check("SluiceTrafficShiftInProgress" in alerts,
              f"Prometheus never fired SluiceTrafficShiftInProgress during the shift: {alerts}")
        # Detection (a 4 s rate window at 1 s scrapes) plus the schedule: steps-1 intervals
        # after the first step.
        check(took <= 4 + 1 + (STEPS - 1) * INTERVAL + 3, f"draining took {took:.1f}s")
        downward = [w for w in weights if w is not None]
        check(len(downward) >= 3, f"eastus was not drained step by step: {downward}")
        check(all(a >= b for a, b in zip(downward, downward[1:])),
              f"eastus's weight went up while draining: {downward}")
        check(st.get("shift") is None or st["shift"].get("from") == "eastus",
              f"shift status: {st.get('shift')}")

        counters = haproxy_served(s, "checkout")
        after = shares(send(s, HOST, 600))
        served = {r: haproxy_served(s, "checkout")[r] - counters[r] for r in counters}
        log(f"drained shares: {after}; HAProxy responses per backend meanwhile: {served}")
        check(after["eastus"] == 0 and served["eastus"] == 0,
              f"eastus still served traffic: {after}, HAProxy {served}")
        check(after["other"] == 0, f"requests failed after the drain: {after}")
        check(after["westeurope"] > before["westeurope"] and
              after["southeastasia"] > before["southeastasia"],
              f"the others did not absorb eastus's share: {before} -> {after}")
        ev = s.kubectl("events", "--for", "trafficpolicy/checkout").stdout
        check("DrainStarted" in ev, f"no DrainStarted Event:\n{ev}")

        set_backend(s, "eastus", errorRate=0)
        healed_at = time.monotonic()
        rising = []

        def recovered(st):
            b = backend(st, "eastus")
            if not rising or rising[-1] != b.get("weight"):
                rising.append(b.get("weight"))
            return b.get("state") == "Healthy" and b.get("weight", 0) > 0
        wait_policy(s, "checkout", recovered, 90, "eastus Healthy again")
        took = time.monotonic() - healed_at
        log(f"eastus back {took:.1f}s after it healed; weights on the way back: {rising}")
        check(took >= HEALTHY_FOR, f"eastus came back after {took:.1f}s, before healthyFor")
        upward = [w for w in rising if w]
        check(len(upward) >= 3, f"eastus did not come back gradually: {rising}")
        check(all(a <= b for a, b in zip(upward, upward[1:])),
              f"eastus's weight fell while recovering: {upward}")
        back = shares(send(s, HOST, 600))
        log(f"recovered shares: {back}")
        check(back["other"] == 0 and back["eastus"] >= 25, f"after recovery: {back}")
        st = status(s, "checkout")
        check(condition(st, "Progressing").get("status") == "False",
              f"Progressing after recovery: {condition(st, 'Progressing')}")


if __name__ == "__main__":
    main(scenario)
