#!/usr/bin/env python3
"""e2e.canary.tenant-overrides: spec.tenants on real traffic. At 10 % the allow-listed tenants
(one with a quote and a space in its id) are on the canary on every request, the deny-listed
ones never, and everyone else still splits
10 % (±3 points over 1,000 tenants); status.tenants counts the overrides. Adding the lists
restarts nothing. An abort sends the allow list back to stable, a retry brings it back, and
at 100 % the deny list is still on stable."""
import http.client
import json

from sluice_e2e import Stack, check, check_all_answered, log, main, wait_for

HOST = "payment.tenants.local"
NAME = "tenants"
ALLOW = [f"qa-{i}" for i in range(5)]
QUOTED = "o'brien qa"  # a quote and a space reach haproxy.cfg quoted, and still match
DENY = [f"bank-{i}" for i in range(5)]


def sides(s, prefix, count, rounds):
    result = s.traffic(HOST, tenants=count, prefix=prefix, rounds=rounds, record=True)
    check_all_answered(result)
    return result["tenants"]


def check_lists(s, allow_side, what):
    allow = sides(s, "qa-", len(ALLOW), 20)
    deny = sides(s, "bank-", len(DENY), 20)
    check(all(v == [allow_side] for v in allow.values()) and len(allow) == len(ALLOW),
          f"{what}: allow-listed tenants not all on {allow_side}: {allow}")
    check(all(v == ["stable"] for v in deny.values()) and len(deny) == len(DENY),
          f"{what}: deny-listed tenants not all on stable: {deny}")
    log(f"{what}: {len(ALLOW)} allow-listed tenants × 20 requests on {allow_side}, "
        f"{len(DENY)} deny-listed × 20 on stable")


def by_backend(s):
    """HAProxy's responses per destination of this rollout, from real Prometheus."""
    rows = s.prometheus_query(
        f'sum by (proxy) (haproxy_backend_http_responses_total{{proxy=~"canaryrollout:'
        f'{s.env["NAMESPACE"]}:{NAME}:{NAME}:.*"}})')
    return {labels["proxy"].rsplit(":", 1)[1]: value for labels, value in rows}


def quoted_tenant(s):
    """Who serves 20 requests of the tenant whose id has a quote and a space."""
    conn = http.client.HTTPConnection("127.0.0.1", int(s.env["GATEWAY_PORT"]), timeout=5)
    served = []
    for _ in range(20):
        conn.request("GET", "/", headers={"Host": HOST, "X-Tenant-ID": QUOTED})
        resp = conn.getresponse()
        resp.read()
        served.append(resp.getheader("X-Served-By", "none"))
    conn.close()
    return served


def scenario(build_dir):
    with Stack(build_dir, "tenants") as s:
        s.start_canary(NAME, HOST, "3s")
        st = s.pause_at_step(NAME, 1, 10)
        revision = st["canaryRevision"]
        s.kubectl("patch", "canaryrollout", NAME, "--type=merge", "-p",
                  json.dumps({"spec": {"tenants": {"canary": ALLOW + [QUOTED], "stable": DENY}}}))
        st = s.wait_status(NAME, lambda st: st.get("tenants") == {"canary": 6, "stable": 5},
                           20, "status.tenants {canary: 6, stable: 5}")
        check(st.get("canaryRevision") == revision and st.get("currentStep") == 1,
              f"adding tenant lists restarted or moved the rollout: {st}")

        def lists_in_force():
            try:
                check_lists(s, "canary", "at 10%")
                return True
            except Exception:  # noqa: BLE001 - the reload may still be under way
                return False
        wait_for(lists_in_force, 20, "the tenant lists in the data plane")
        check_lists(s, "canary", "at 10%")
        quoted = quoted_tenant(s)
        check(quoted == ["canary"] * 20, f"tenant {QUOTED!r} not on the canary: {quoted}")

        # Everyone else: 1,000 tenants still split at the step's weight, and HAProxy counts the
        # overrides apart (destinations of their own), as real Prometheus shows.
        before = by_backend(s)
        others = sides(s, "tenant-", 1000, 1)
        share = 100.0 * sum(1 for v in others.values() if v == ["canary"]) / len(others)
        log(f"at 10%: the other 1,000 tenants {share:.1f}% on the canary")
        check(abs(share - 10) <= 3, f"others' canary share {share:.1f}% not within 3 of 10%")
        check_lists(s, "canary", "at 10% (counted)")

        def counted():
            after = by_backend(s)
            d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            return d if d.get("override-canary", 0) >= 100 and d.get("override-stable", 0) >= 100 \
                else None
        d = wait_for(counted, 15, "Prometheus to count the overrides' requests")
        split_share = 100.0 * d.get("canary", 0) / (d.get("canary", 0) + d.get("stable", 0))
        log(f"Prometheus by destination: +{ {k: int(v) for k, v in sorted(d.items())} }; the split "
            f"alone {split_share:.1f}% canary")
        check(abs(split_share - 10) <= 4,
              f"the split's canary share in Prometheus {split_share:.1f}% not within 4 of 10%")

        # Abort: nobody on the canary, the allow list included.
        s.kubectl("annotate", "canaryrollout", NAME, "sluice.dev/abort=")
        st = s.wait_status(NAME, lambda st: st.get("phase") == "RolledBack", 20, "RolledBack")
        check(st.get("tenants") == {"canary": 0, "stable": 5},
              f"after the abort status.tenants is {st.get('tenants')}, want canary 0")
        check_lists(s, "stable", "after abort")
        check(quoted_tenant(s) == ["stable"] * 20, f"after the abort {QUOTED!r} not on stable")

        # Retry: back to step 0 with the allow list on the canary; promote: deny list stays.
        s.set_paused(NAME, False)
        s.kubectl("annotate", "canaryrollout", NAME, "sluice.dev/retry=")
        s.wait_status(NAME, lambda st: st.get("phase") == "Progressing" and
                      st.get("canaryWeight", 0) > 0, 20, "the retried rollout with weight")
        wait_for(lists_in_force, 20, "the allow list back on the canary after the retry")
        s.kubectl("annotate", "canaryrollout", NAME, "sluice.dev/promote=")
        s.wait_status(NAME, lambda st: st.get("phase") == "Succeeded", 20, "Succeeded")
        deny = sides(s, "bank-", len(DENY), 20)
        check(all(v == ["stable"] for v in deny.values()),
              f"at 100% deny-listed tenants reached the canary: {deny}")
        everyone = sides(s, "tenant-", 200, 1)
        check(all(v == ["canary"] for v in everyone.values()),
              "at 100% not every other tenant is on the canary")
        log("promoted: 200 other tenants all on the canary, the deny list still on stable")


if __name__ == "__main__":
    main(scenario)
