#!/usr/bin/env python3
"""e2e.tierlimit.rate-limits: a TierLimit's per-customer limits in the real HAProxy.

1. Two free customers sending 50 rps for 10 s each get their burst (20) plus ~10 rps through
   (within 10 %), independently of each other, and 429s for the rest, every one with
   Retry-After and X-RateLimit-Limit/Remaining/Reset; a premium customer sending at the same
   time is never limited. A request without a tier header is free, one without a customer id
   is counted by client address.
3. Daily quota: a trial customer exhausting its quota gets 429 with Retry-After until midnight
   in spec.quotaTimeZone; the count survives an operator restart and a change to the TierLimit
   (HAProxy reloads and hands its tables to the new worker); on the next day it starts over.
   The next day is injected by moving spec.quotaTimeZone from UTC-12 to UTC+14: the gateway's
   quota day (keyed by date) moves forward, exactly as it does at midnight.
6. Bad input: an unknown spec.quotaTimeZone is InvalidSpec naming the field, and the policy
   keeps routing (without those limits); a second TierLimit on the same policy is Conflicted.
"""
import datetime
import time

from tl_e2e import (Client, Stack, apply, check, concurrent, condition, get, in_parallel, log,
                    main,
                    services, tier_limit, traffic_policy, wait_enforced, wait_for)

HOST = "limits.tl.local"
TIERS = [
    {"name": "premium", "requestsPerSecond": 1000, "burst": 2000, "concurrent": 100,
     "dailyQuota": 10000000, "priority": 1},
    {"name": "standard", "requestsPerSecond": 100, "burst": 200, "concurrent": 20,
     "dailyQuota": 1000000, "priority": 2},
    {"name": "free", "requestsPerSecond": 10, "burst": 20, "concurrent": 5, "dailyQuota": 10000,
     "priority": 3},
    {"name": "trial", "requestsPerSecond": 100, "burst": 100, "dailyQuota": 30, "priority": 4},
]


def seconds_to_midnight(offset_hours):
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=offset_hours)
    return 86400 - (now.hour * 3600 + now.minute * 60 + now.second)


def rate_limited(s):
    free_a = Client(s, HOST, {"X-Tier": "free", "X-Customer-ID": "free-a"})
    free_b = Client(s, HOST, {"X-Customer-ID": "free-b"})  # no tier header: the default tier
    premium = Client(s, HOST, {"X-Tier": "premium", "X-Customer-ID": "premium-a"})
    in_parallel(lambda: free_a.paced(50, 10), lambda: free_b.paced(50, 10),
                lambda: premium.paced(50, 10))
    for name, c in (("free-a", free_a), ("free-b (no X-Tier)", free_b)):
        ok = [a for a in c.answers if a["status"] == 200]
        refused = [a for a in c.answers if a["status"] == 429]
        span = c.answers[-1]["t"] - c.answers[0]["t"]
        rate = (len(ok) - 20) / span
        log(f"{name}: {c.statuses()} over {span:.1f}s: {rate:.2f} rps past the burst of 20")
        check(len(ok) + len(refused) == len(c.answers), f"{name}: other statuses {c.statuses()}")
        check(9.0 <= rate <= 11.0, f"{name}: {rate:.2f} rps got through, want 10 +-10 %")
        check(all(a.get("Retry-After") == "1" and a.get("X-RateLimit-Limit") == "20" and
                  a.get("X-RateLimit-Remaining") == "0" and a.get("X-RateLimit-Reset") == "2"
                  for a in refused), f"{name}: a 429 without its headers: {refused[:3]}")
        check(all(a.get("X-RateLimit-Limit") == "20" and "X-RateLimit-Remaining" in a
                  for a in ok), f"{name}: an accepted answer without X-RateLimit-*: {ok[:3]}")
        check(ok[0]["X-RateLimit-Remaining"] == "19", f"{name}: first answer {ok[0]}")
    check(premium.statuses() == {200: 500}, f"premium was limited: {premium.statuses()}")
    log("premium-a at the same 50 rps: 500/500 answered 200")
    # Without a customer id: counted by client address, still limited (40 at once: 5 may be
    # in flight, 20 in the bucket).
    anon = concurrent(s, HOST, [{"X-Tier": "free"}] * 40)
    refused = [a for a in anon if a["status"] == 429]
    log(f"no customer id, 40 at once: {len(anon) - len(refused)} answered, "
        f"{len(refused)} refused")
    check(len(refused) >= 15 and all("Retry-After" in a for a in refused),
          f"no customer id was not limited: {anon}")


def daily_quota(s, ns):
    trial = Client(s, HOST, {"X-Tier": "trial", "X-Customer-ID": "trial-a"})
    for _ in range(40):
        trial.send()
    check(trial.statuses() == {200: 30, 429: 10}, f"trial quota 30: {trial.statuses()}")
    last = trial.answers[-1]
    want = seconds_to_midnight(-12)
    log(f"quota exhausted: 429 Retry-After {last.get('Retry-After')} "
        f"(midnight at UTC-12 is in {want} s), X-RateLimit-Limit {last.get('X-RateLimit-Limit')}")
    check(abs(int(last["Retry-After"]) - want) <= 3, f"Retry-After {last} vs {want}")
    check(last["X-RateLimit-Limit"] == "30" and last["X-RateLimit-Remaining"] == "0" and
          last["X-RateLimit-Reset"] == last["Retry-After"], f"headers: {last}")

    s.stack("operator-restart")
    check(trial.send()["status"] == 429, "the quota reset with an operator restart")
    log("after an operator restart: still 429")

    # A change to the TierLimit: a new config, HAProxy reloads, its tables go to the new worker.
    reloads_before = haproxy_reloads(s)
    tiers = [dict(t) for t in TIERS]
    tiers[0]["requestsPerSecond"] = 900
    tier_limit(s, "checkout", "checkout", tiers, quotaTimeZone="Etc/GMT+12")
    wait_enforced(s, "checkout")
    wait_for(lambda: haproxy_reloads(s) > reloads_before, 30, "HAProxy to reload")
    time.sleep(1)
    answer = trial.send()
    check(answer["status"] == 429, f"the quota reset with a TierLimit change: {answer}")
    log(f"after a TierLimit change and an HAProxy reload: still 429 "
        f"(reloads {reloads_before} -> {haproxy_reloads(s)})")

    # The next day: UTC+14's date is a day or two past UTC-12's at every instant.
    tier_limit(s, "checkout", "checkout", tiers, quotaTimeZone="Etc/GMT-14")
    wait_enforced(s, "checkout")
    time.sleep(1)
    answer = trial.send()
    check(answer["status"] == 200, f"the next quota day still refuses: {answer}")
    check(answer["X-RateLimit-Limit"] == "30" and answer["X-RateLimit-Remaining"] == "29",
          f"the new day's first answer: {answer}")
    log(f"next quota day: 200, X-RateLimit-Remaining {answer['X-RateLimit-Remaining']}")


def haproxy_reloads(s):
    return len([line for line in open(f"{s.env['STACK_DIR']}/logs/haproxy.log")
                if "Loading success" in line])


def bad_input(s, ns):
    tier_limit(s, "late", "checkout", TIERS[:1], defaultTier="premium")
    wait_for(lambda: condition(s, "late", "RateLimitsEnforced").get("reason") == "Conflicted",
             30, "Conflicted for a second TierLimit on the policy")
    log(f"second TierLimit: {condition(s, 'late', 'RateLimitsEnforced')['message']}")
    s.kubectl("delete", "tierlimit", "late")
    tier_limit(s, "checkout", "checkout", TIERS, quotaTimeZone="Mars/Olympus_Mons")
    wait_for(lambda: condition(s, "checkout", "Ready").get("reason") == "InvalidSpec", 30,
             "InvalidSpec for an unknown quota time zone")
    msg = condition(s, "checkout", "Ready")["message"]
    check("spec.quotaTimeZone" in msg, msg)
    log(f"unknown quota time zone: {msg}")
    # The policy routes on, without the limits it can no longer take.
    probe = Client(s, HOST, {"X-Tier": "trial", "X-Customer-ID": "trial-a"})
    wait_for(lambda: probe.send()["status"] == 200 and
             "X-RateLimit-Limit" not in probe.answers[-1], 30,
             "the policy routing without limits")
    log("the policy answers 200 without limits while its TierLimit is invalid")


def scenario(build_dir):
    with Stack(build_dir, "tl-rate-limits") as s:
        ns = s.env["NAMESPACE"]
        services(s)
        traffic_policy(s, "checkout", HOST)
        tier_limit(s, "checkout", "checkout", TIERS, quotaTimeZone="Etc/GMT+12")
        wait_enforced(s, "checkout")
        probe = Client(s, HOST, {"X-Tier": "premium", "X-Customer-ID": "probe"})
        wait_for(lambda: probe.send()["status"] == 200 and
                 probe.answers[-1].get("X-RateLimit-Limit") == "2000", 30,
                 "the route to answer with limits")
        rate_limited(s)
        daily_quota(s, ns)
        bad_input(s, ns)
        st = get(s, "tierlimit", "checkout")["status"]
        log(f"status.conditions: {[(c['type'], c['status'], c['reason']) for c in st['conditions']]}")


if __name__ == "__main__":
    main(scenario)
