#!/usr/bin/env python3
"""e2e.canary.error-spike: the canary starts failing at step 25 %; the rollout rolls back to 0 %
within 2 scrape intervals + 1 analysis interval, and afterwards no request reaches the canary."""
import time

from sluice_e2e import Stack, canary_share, check, log, main

HOST = "payment.spike.local"
SCRAPE = 1.0
ANALYSIS = 1.0


def scenario(build_dir):
    with Stack(build_dir, "spike") as s:
        s.apply_template("services.yaml.tmpl")
        s.background_traffic(HOST, rate=120)
        s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME="spike", HOSTNAME=HOST,
                         STEP_INTERVAL="3s", MIN_REQUESTS="5")
        s.wait_status("spike", lambda st: st.get("canaryWeight") == 25, 60, "weight 25")
        s.set_canary_errors(1.0)
        spike_at = time.monotonic()
        st = s.wait_status("spike", lambda st: st.get("phase") == "RolledBack", 30, "RolledBack")
        detected = time.monotonic() - spike_at
        log(f"rolled back {detected:.2f}s after the error spike started: {st.get('message')}")
        check(st.get("canaryWeight") == 0, f"rolled back but weight is {st.get('canaryWeight')}")
        # The bound includes kubectl's own polling (0.2 s) and start-up of the error counters.
        bound = 2 * SCRAPE + ANALYSIS + 1.0
        check(detected <= bound, f"rollback took {detected:.2f}s, more than {bound:.1f}s")
        check(st.get("message"), "status.message does not say why it rolled back")
        conditions = {c["type"]: c for c in st.get("conditions", [])}
        check(conditions.get("Degraded", {}).get("status") == "True",
              f"Degraded condition not True after rollback: {conditions}")
        share = canary_share(s.traffic(HOST, tenants=1000, prefix="after-", no_header=500))
        check(share == 0.0, f"after rollback {share:.2f}% of requests still reach the canary")
        events = s.kubectl("get", "events.events.k8s.io", "-o", "json").stdout
        check("RolledBack" in events or "Rollback" in events,
              "no Event records the rollback")


if __name__ == "__main__":
    main(scenario)
