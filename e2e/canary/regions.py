#!/usr/bin/env python3
"""e2e.canary.regions: one rollout, two regions told apart by the X-Geo-Region header. Held at
their first steps, eu-west serves 50 % from the canary and us-east 5 % (requests of no listed
region the lowest, 5 %), measured over 1,000 tenants each; HAProxy's metrics in real
Prometheus are split by region and version. Aborting us-east alone sends its traffic back to
stable and leaves eu-west at 50 %; eu-west then completes on its own analysis and the rollout
ends RolledBack with eu-west Succeeded."""
from sluice_e2e import Stack, check, check_all_answered, log, main, wait_for

HOST = "payment.regions.local"
NAME = "regions"


def share(s, region):
    headers = [f"X-Geo-Region: {region}"] if region else []
    result = s.traffic(HOST, tenants=1000, prefix=f"{region or 'none'}-", headers=headers)
    split = check_all_answered(result)
    return 100.0 * split["canary"] / split["total"]


def region_status(st, name):
    for g in st.get("regions", []):
        if g.get("name") == name:
            return g
    return {}


def check_shares(s, want, tolerance=4):
    got = {r: share(s, r) for r in want}
    log("canary share by region: " + ", ".join(f"{r or 'no region'} {v:.1f}% (want {want[r]}%)"
                                               for r, v in got.items()))
    for r, v in got.items():
        check(abs(v - want[r]) <= tolerance,
              f"{r or 'no region'}: canary share {v:.1f}% not within {tolerance} of {want[r]}%")


def scenario(build_dir):
    with Stack(build_dir, "regions") as s:
        ns = s.env["NAMESPACE"]
        s.apply_template("services.yaml.tmpl")
        for region in ("eu-west-1", "us-east-1", None):
            s.background_traffic(HOST, rate=40,
                                 headers=[f"X-Geo-Region: {region}"] if region else [])
        s.apply_template("rollout-regions.yaml.tmpl", ROLLOUT_NAME=NAME, HOSTNAME=HOST,
                         STEP_INTERVAL="3s", PAUSED="true")
        # Paused before the first step: nothing on the canary anywhere.
        st = s.wait_status(NAME, lambda st: len(st.get("regions", [])) == 2, 30,
                           "status.regions for both regions")
        check(st.get("canaryWeight") == 0, f"paused before the first step but weight: {st}")
        s.set_paused(NAME, False)
        s.wait_status(NAME, lambda st: region_status(st, "eu-west").get("canaryWeight") == 50,
                      20, "eu-west at its first step")
        s.set_paused(NAME, True)
        st = s.wait_status(NAME, lambda st: st.get("phase") == "Paused", 20, "Paused")
        eu, us = region_status(st, "eu-west"), region_status(st, "us-east")
        check(eu.get("canaryWeight") == 50 and eu.get("currentStep") == 0,
              f"eu-west not held at 50%: {eu}")
        check(us.get("canaryWeight") == 5 and us.get("currentStep") == 0,
              f"us-east not held at 5%: {us}")
        check(st.get("canaryWeight") == 5, f"top-level weight {st.get('canaryWeight')} != 5")
        check_shares(s, {"eu-west-1": 50, "us-east-1": 5, None: 5})

        # HAProxy's metrics, split by region and version, from Prometheus.
        def series():
            rows = s.prometheus_query(
                f'sum by (proxy) (haproxy_backend_http_responses_total{{proxy=~"canaryrollout:'
                f'{ns}:{NAME}:{NAME}:.*"}})')
            got = {labels["proxy"].rsplit(":", 1)[1]: v for labels, v in rows}
            want = {"canary-eu-west", "stable-eu-west", "canary-us-east", "stable-us-east",
                    "canary", "stable"}
            return got if want <= {k for k, v in got.items() if v > 0} else None
        got = wait_for(series, 20, "per-region, per-version HAProxy series in Prometheus")
        eu_share = 100 * got["canary-eu-west"] / (got["canary-eu-west"] + got["stable-eu-west"])
        log(f"Prometheus responses by backend: { {k: int(v) for k, v in sorted(got.items())} }; "
            f"eu-west canary {eu_share:.1f}%")

        # A rollback in us-east alone.
        s.kubectl("annotate", "canaryrollout", NAME, "sluice.dev/abort=us-east")
        st = s.wait_status(NAME, lambda st: region_status(st, "us-east").get("phase") ==
                           "RolledBack", 20, "us-east RolledBack")
        eu = region_status(st, "eu-west")
        check(eu.get("canaryWeight") == 50 and eu.get("phase") == "Paused",
              f"aborting us-east moved eu-west: {eu}")
        degraded = [c for c in st.get("conditions", []) if c["type"] == "Degraded"]
        check(degraded and degraded[0]["status"] == "True",
              f"a rolled-back region should make the rollout Degraded: {degraded}")
        check_shares(s, {"eu-west-1": 50, "us-east-1": 0, None: 0}, tolerance=4)

        # eu-west goes on alone, on its own analysis.
        s.set_paused(NAME, False)
        st = s.wait_status(NAME, lambda st: region_status(st, "eu-west").get("phase") ==
                           "Succeeded", 60, "eu-west Succeeded")
        check(st.get("phase") == "RolledBack",
              f"eu-west Succeeded and us-east RolledBack should read RolledBack: {st}")
        check_shares(s, {"eu-west-1": 100, "us-east-1": 0, None: 0}, tolerance=0)
        log("us-east rolled back alone; eu-west went to 100% on its own analysis")


if __name__ == "__main__":
    main(scenario)
