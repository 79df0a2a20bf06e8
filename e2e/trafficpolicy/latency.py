#!/usr/bin/env python3
"""e2e.trafficpolicy.latency: WeightedResponseTime across three regions. eastus becomes slow
(250 ms a request, still below the incident threshold, so no drain): the strategy moves traffic
off it, measured from real responses; when it is fast again, its share returns. Backends within
50 ms of the fastest count as equally fast, so ordinary jitter moves nothing."""
from tp_e2e import (backend, check, condition, log, main, send, set_backend, shares,
                    start_policy, wait_answering, wait_policy, Stack)

HOST = "checkout.latency.local"


def scenario(build_dir):
    with Stack(build_dir, "tp-latency") as s:
        s.background_traffic(HOST, rate=120)
        start_policy(s, "checkout", HOST, strategy="WeightedResponseTime",
                     latency_threshold=5000, window="10s")
        wait_policy(s, "checkout", lambda st: st.get("activeBackends") == 3 and
                    condition(st, "Ready").get("status") == "True", 60, "3 active backends")
        wait_answering(s, HOST)
        # Equal latencies (all within 50 ms): the baseline weights 40/30/30.
        st = wait_policy(s, "checkout", lambda st: all(
            b.get("latencyP99Milliseconds") is not None for b in st.get("backends", [])), 30,
            "latencies in status")
        check(backend(st, "eastus").get("weight") == 400000,
              f"eastus weight {backend(st, 'eastus')} with equal latencies (want 400000)")
        before = shares(send(s, HOST, 400))
        log(f"equal latencies: shares {before}")

        set_backend(s, "eastus", latencyMs=250)
        st = wait_policy(s, "checkout", lambda st: backend(st, "eastus").get("weight", 1e9) <
                         100000, 60, "eastus's weight below 10 %")
        log(f"eastus slow: {backend(st, 'eastus')}")
        check(backend(st, "eastus").get("state") == "Healthy",
              f"a slow backend under the incident threshold was drained: {backend(st, 'eastus')}")
        after = shares(send(s, HOST, 400, concurrency=8))
        log(f"eastus slow: shares {after}")
        check(after["other"] == 0, f"requests failed: {after}")
        check(after["eastus"] < 12 and after["eastus"] < before["eastus"] / 3,
              f"eastus kept {after['eastus']:.1f} % of the traffic while 250 ms slower "
              f"(was {before['eastus']:.1f} %)")

        set_backend(s, "eastus", latencyMs=0)
        wait_policy(s, "checkout", lambda st: backend(st, "eastus").get("weight") == 400000,
                    60, "eastus's weight back to 40 %")
        back = shares(send(s, HOST, 400))
        log(f"eastus fast again: shares {back}")
        check(back["eastus"] > 25, f"eastus share after it is fast again: {back}")


if __name__ == "__main__":
    main(scenario)
