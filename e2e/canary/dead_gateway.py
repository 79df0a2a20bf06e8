#!/usr/bin/env python3
"""e2e.canary.dead-gateway: HAProxy (master, workers and runtime API) is gone for 30 s in the
middle of a rollout. Status says so once, not once per retry; the retries back off; the
rollout takes no step it cannot apply; when HAProxy is back it runs the weight status records
(from the map file the operator kept current), the operator confirms it, and the rollout
finishes. Measured from outside: the operator's status writes in the audit log, its reconcile
retries from its own metrics, its CPU time from /proc."""
import datetime
import json
import os
import time

from sluice_e2e import Stack, check, check_all_answered, cpu_seconds, log, main

HOST = "payment.deadgw.local"
OUTAGE = 30.0


def status_writes(audit_path, user, ns, name, since, until):
    """update/patch calls of `user` on the rollout's status subresource between two times
    (seconds since the epoch), from the API server's audit log."""
    writes = 0
    seen = set()
    with open(audit_path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ref = ev.get("objectRef", {})
            if (ev.get("user", {}).get("username") != user or ev["auditID"] in seen or
                    ref.get("resource") != "canaryrollouts" or ref.get("subresource") != "status"
                    or ref.get("namespace") != ns or ref.get("name") != name or
                    ev.get("verb") not in ("update", "patch")):
                continue
            seen.add(ev["auditID"])
            ts = ev.get("requestReceivedTimestamp", "").replace("Z", "+00:00")
            t = datetime.datetime.fromisoformat(ts).timestamp()
            if since <= t <= until:
                writes += 1
    return writes


def reconcile_errors(s):
    return s.metric_sum(s.env["OPERATOR_METRICS"], "controller_reconcile_total",
                        controller="canaryrollout", result="error") or 0.0


def conditions(st):
    return {c["type"]: c for c in st.get("conditions", [])}


def scenario(build_dir):
    with Stack(build_dir, "deadgw") as s:
        ns = s.env["NAMESPACE"]
        s.start_canary("deadgw", HOST, "4s")
        st = s.wait_status("deadgw", lambda st: st.get("canaryWeight", 0) >= 10, 60, "weight 10")
        with open(os.path.join(s.dir, "pids", "operator.pid")) as f:
            pid = int(f.read().strip())

        down_at = time.time()
        s.stack("haproxy-stop")
        cpu0, errors0 = cpu_seconds(pid), reconcile_errors(s)
        st = s.wait_status("deadgw", lambda st: conditions(st).get("Ready", {}).get("reason") ==
                           "TrafficProviderError", 30, "status to report the dead HAProxy")
        weight = st.get("canaryWeight")
        message = conditions(st)["Ready"]["message"]
        log(f"reported {time.time() - down_at:.1f}s after HAProxy stopped, at weight {weight}: "
            f"{message}")
        check("HAProxy runtime API" in message, f"the condition does not name HAProxy: {message}")
        time.sleep(max(0.0, down_at + OUTAGE - time.time()))
        up_at = time.time()
        cpu = cpu_seconds(pid) - cpu0
        retries = reconcile_errors(s) - errors0
        st = s.status("deadgw")
        check(st.get("canaryWeight") == weight,
              f"the rollout moved from {weight} % to {st.get('canaryWeight')} % while HAProxy "
              f"could not apply it")

        s.stack("haproxy-start")
        st = s.wait_status("deadgw", lambda st: conditions(st).get("Ready", {}).get("reason") !=
                           "TrafficProviderError", 60, "the operator to see HAProxy back")
        log(f"recovered {time.time() - up_at:.1f}s after HAProxy was started again")
        # HAProxy restarted from the files: the weight it runs is the one status records (a
        # window in which the rollout stepped is measured again).
        for attempt in range(3):
            before = s.status("deadgw").get("canaryWeight")
            split = check_all_answered(s.traffic(HOST, tenants=1000, prefix=f"back{attempt}-"))
            if s.status("deadgw").get("canaryWeight") == before:
                break
        share = 100.0 * split["canary"] / split["total"]
        check(abs(share - before) <= 5,
              f"after the outage the canary serves {share:.1f} %, status says {before} %")
        time.sleep(2)  # the audit log is written in batches
        audit = os.path.join(s.env.get("CLUSTER_DIR", ""), "logs", "audit.log")
        writes = None
        if s.env.get("CLUSTER_DIR") and os.path.exists(audit):
            writes = status_writes(audit, f"system:serviceaccount:{ns}:sluice", ns, "deadgw",
                                   down_at, up_at)
        log(f"during {OUTAGE:.0f}s of dead HAProxy: {writes} status writes, {retries:.0f} "
            f"reconcile retries, operator CPU {100 * cpu / OUTAGE:.2f} %")
        if writes is not None:
            check(writes <= 2, f"{writes} status writes in {OUTAGE:.0f}s of outage (at most 2: "
                  "the error, once)")
        # Exponential backoff from 5 ms doubles past 30 s in about 13 retries.
        check(retries <= 20, f"{retries:.0f} reconcile retries in {OUTAGE:.0f}s: no backoff")
        check(cpu / OUTAGE < 0.05, f"operator CPU {100 * cpu / OUTAGE:.1f} % during the outage")

        s.wait_status("deadgw", lambda st: st.get("phase") == "Succeeded", 120, "Succeeded")


if __name__ == "__main__":
    main(scenario)
