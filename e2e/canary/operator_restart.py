#!/usr/bin/env python3
"""e2e.canary.operator-restart: the operator is killed (SIGKILL) mid-step and restarted.

Traffic through HAProxy keeps the current step's split, with no failed request, before the
kill, while no operator runs, while the new process waits for the dead one's Lease to run out,
and after it leads. Once the new process leads (the Lease names a new holder and its /metrics say
it leads) and has reconciled the rollout, the rollout is at the step it was killed at or the
next one (no skip, no rollback), and it goes on to Succeeded."""
from sluice_e2e import Failure, StatusHistory, Stack, canary_share, check, log, main, wait_for

HOST = "payment.restart.local"
NAME = "restart"
# stack.sh gives every operator it starts this lease (--lease-duration-seconds): the new process
# can lead a few seconds after the kill, once the dead process's Lease has run out.
LEASE_SECONDS = 8
# One step holds for a traffic window, the kill and a window with no operator.
STEP_INTERVAL = 12
TENANTS = 1000
# 1,000 tenants hashed onto the split: a few points of spread around the weight, far less than
# the distance to a neighbouring step's weight, to 0 % or to 100 %.
TOLERANCE = 5.0


def measure(s, what):
    """Sends TENANTS tenant-tagged requests through HAProxy between two status reads. Every
    request must be answered 200 by the stable or the canary backend, and the canary's share
    must be within TOLERANCE of the weight status shows. A window in which the step moved is
    measured again. Returns (status, tenants served by the canary)."""
    for _ in range(3):
        before = s.status(NAME)
        result = s.traffic(HOST, tenants=TENANTS, prefix="restart-", record=True)
        after = s.status(NAME)
        if before.get("currentStep") != after.get("currentStep"):
            log(f"{what}: the step moved from {before.get('currentStep')} to "
                f"{after.get('currentStep')} during the window; measuring again")
            continue
        share = canary_share(result)  # fails unless every request was answered 200
        weight = before.get("canaryWeight")
        log(f"{what}: step {before.get('currentStep')} weight {weight}%, canary share "
            f"{share:.1f}% of {result['requests']} requests, none failed")
        check(weight is not None and abs(share - weight) <= TOLERANCE,
              f"{what}: canary share {share:.1f}% is not within {TOLERANCE} points of the "
              f"step's weight {weight}%")
        on_canary = {t for t, served in result["tenants"].items() if served == ["canary"]}
        return before, on_canary
    raise Failure(f"{what}: the step moved during every traffic window")


def reconciles(s):
    """Reconciles of CanaryRollouts by the process on the operator's metrics port, errors not
    counted (None while it does not answer)."""
    url = s.env["OPERATOR_METRICS"]
    total = s.metric_sum(url, "controller_reconcile_total", controller="canaryrollout")
    errors = s.metric_sum(url, "controller_reconcile_total", controller="canaryrollout",
                          result="error")
    return None if total is None or errors is None else total - errors


def scenario(build_dir):
    with Stack(build_dir, "restart", env={"SLUICE_LEASE_SECONDS": str(LEASE_SECONDS)}) as s:
        s.start_canary(NAME, HOST, f"{STEP_INTERVAL}s")
        with StatusHistory(s, NAME) as history:
            s.wait_status(NAME, lambda st: st.get("currentStep", -1) >= 2, 90, "step 2")
            _, on_canary = measure(s, "before the kill")

            old = s.lease_holder()
            check(old, "the operator runs but the Lease names no holder")
            s.stack("operator-kill")
            killed = s.status(NAME)
            step = killed.get("currentStep")
            log(f"operator {old} killed at step {step} ({killed.get('canaryWeight')}%)")
            windows = [("while no operator runs", measure(s, "while no operator runs"))]

            s.stack("operator-start")
            log(f"new operator process started; the Lease names {s.lease_holder()}")
            windows.append(("after the new process started",
                            measure(s, "after the new process started")))

            metrics = s.env["OPERATOR_METRICS"]
            wait_for(lambda: s.lease_holder() not in (None, old) and
                     s.metric(metrics, "leader_election_is_leader") == 1, 60,
                     "the new operator process to lead (Lease holder changed, "
                     "leader_election_is_leader 1)")
            new = s.lease_holder()
            log(f"the new process leads: Lease holder {new}")
            wait_for(lambda: (reconciles(s) or 0) >= 1, 30,
                     "the new operator process to reconcile the rollout")
            st = s.status(NAME)
            log(f"after the new leader's first reconcile: step {st.get('currentStep')} "
                f"({st.get('canaryWeight')}%), phase {st.get('phase')}")
            check(st.get("currentStep") in (step, step + 1),
                  f"killed at step {step}; after the new process reconciled the rollout is at "
                  f"step {st.get('currentStep')} (only {step} or {step + 1} are right)")
            check(st.get("phase") in ("Progressing", "Paused"),
                  f"after the restart the rollout is {st.get('phase')}: {st}")
            windows.append(("after the new process leads",
                            measure(s, "after the new process leads")))

            for what, (_, later) in windows:
                moved_back = on_canary - later
                check(not moved_back, f"{what}: {len(moved_back)} tenants the canary served "
                      f"before the kill went back to stable: {sorted(moved_back)[:5]}")
            s.wait_status(NAME, lambda st: st.get("phase") == "Succeeded", 120, "Succeeded")
        history.check_no_skip_or_rollback()


if __name__ == "__main__":
    main(scenario)
