#!/usr/bin/env python3
"""e2e.trafficpolicy.tiers: tier shaping on real HAProxy. Premium requests (X-Tier: premium)
follow the premium strategy (WeightedResponseTime: spread over the fast regions); free requests
(X-Tier: free) go to the cheapest region (CostOptimized: southeastasia); requests of no tier
follow the policy's strategy. Then overload: every backend answers in 100 ms and the capacity
gives each server a small maxconn, so requests queue in HAProxy; premium requests leave the
queue first (set-priority-class), and premium's p99 stays below free's."""
import threading

from tp_e2e import (check, condition, log, main, send, set_backend, shares, start_policy,
                    wait_answering, wait_policy, REGIONS, Stack)

HOST = "checkout.tiers.local"
TIERS = ("[{name: premium, match: {headers: [{name: X-Tier, value: premium}]}, priority: 1, "
         "latencyTargetMilliseconds: 50, strategy: WeightedResponseTime}, "
         "{name: free, match: {headers: [{name: X-Tier, value: free}]}, priority: 3, "
         "latencyTargetMilliseconds: 200, strategy: CostOptimized}]")
PREMIUM = ("X-Tier: premium",)
FREE = ("X-Tier: free",)


def scenario(build_dir):
    with Stack(build_dir, "tp-tiers") as s:
        start_policy(s, "checkout", HOST, strategy="RoundRobin", tiers=TIERS, capacity=1000)
        wait_policy(s, "checkout", lambda st: condition(st, "Ready").get("status") == "True",
                    60, "Ready")
        wait_answering(s, HOST, FREE)
        free = shares(send(s, HOST, 300, FREE))
        premium = shares(send(s, HOST, 300, PREMIUM))
        untiered = shares(send(s, HOST, 300))
        log(f"free {free}\npremium {premium}\nno tier {untiered}")
        check(free["southeastasia"] == 100, f"free requests did not all go to the cheapest "
              f"region (southeastasia, 0.08 per million): {free}")
        check(all(premium[r] > 15 for r in REGIONS),
              f"premium requests are not spread over the (equally fast) regions: {premium}")
        check(all(untiered[r] > 15 for r in REGIONS), f"requests of no tier: {untiered}")

        # Overload: 100 ms a request and 20 requests/s of capacity per region give each server
        # maxconn ceil(20 × 0.2 s × 1.0) = 4; 40 concurrent free requests queue behind them.
        for r in REGIONS:
            set_backend(s, r, latencyMs=100)
        start_policy(s, "checkout", HOST, strategy="RoundRobin", tiers=TIERS, capacity=20)
        wait_answering(s, HOST, PREMIUM)
        results = {}

        def load(name, headers, concurrency, requests):
            results[name] = send(s, HOST, requests, headers, concurrency=concurrency,
                                 max_seconds=60)
        threads = [threading.Thread(target=load, args=("free", FREE, 40, 1200)),
                   threading.Thread(target=load, args=("premium", PREMIUM, 4, 200))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p99 = {k: v["latencyMs"]["p99"] for k, v in results.items()}
        log(f"under overload: p99 {p99} ms; free {shares(results['free'])}; premium "
            f"{shares(results['premium'])}")
        check(p99["premium"] < p99["free"],
              f"premium p99 {p99['premium']} ms is not below free's {p99['free']} ms")
        check(p99["free"] > 300, f"free p99 {p99['free']} ms: the servers were not saturated, "
              "so this measured no queueing")


if __name__ == "__main__":
    main(scenario)
