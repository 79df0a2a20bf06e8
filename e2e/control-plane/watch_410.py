#!/usr/bin/env python3
"""e2e.control-plane.watch-410: etcd compaction gives the operator a real 410 Gone, and the
relist loses no event. Its own control plane runs kube-apiserver with --watch-cache=false, so
watches are served by etcd itself and a watch resumed from before a compaction is refused.

The operator is frozen (SIGSTOP) and its watch connections are cut by the fault proxy; while it
cannot see anything, one rollout is created, one deleted and one changed, and etcd is compacted.
When it resumes, its watches come back from an old resourceVersion, get 410, relist, and every
one of the three changes is reflected: in status and in the HAProxy configuration."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "canary"))
from sluice_e2e import Stack, check, log, main, wait_for  # noqa: E402


def haproxy_cfg(s):
    with open(os.path.join(s.dir, "haproxy", "haproxy.cfg")) as f:
        return f.read()


def scenario(build_dir):
    with Stack(build_dir, "w410", own_cluster=True, faults=True,
               apiserver_flags="--watch-cache=false") as s:
        s.apply_template("services.yaml.tmpl")
        for name in ("kept", "gone"):
            s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME=name, HOSTNAME=f"{name}.w410.local",
                             STEP_INTERVAL="1h", MIN_REQUESTS="1000000")
        for name in ("kept", "gone"):
            s.wait_status(name, lambda st: st.get("observedGeneration") == 1, 30,
                          f"{name} reconciled")
        s.wait_status("gone", lambda st: "gone.w410.local" in haproxy_cfg(s), 30,
                      "gone.w410.local routed by HAProxy")

        with open(os.path.join(s.dir, "pids", "operator.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGSTOP)
        try:
            out = s.faults(dropWatches="now")
            log(f"operator frozen; fault proxy: {out.strip()}")
            s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME="new", HOSTNAME="new.w410.local",
                             STEP_INTERVAL="1h", MIN_REQUESTS="1000000")
            s.kubectl("delete", "canaryrollout", "gone")
            s.kubectl("patch", "canaryrollout", "kept", "--type=merge",
                      "-p", '{"spec":{"route":{"hostnames":["kept2.w410.local"]}}}')
            rev = s.cluster("compact")
            log(f"etcd compacted at revision {rev}")
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()

        s.wait_status("new", lambda st: st.get("observedGeneration") == 1, 30,
                      "the rollout created during the gap to be reconciled")
        s.wait_status("kept", lambda st: st.get("observedGeneration") == 2, 30,
                      "the change made during the gap to be reconciled")
        wait_for(lambda: "new.w410.local" in haproxy_cfg(s) and "kept2.w410.local" in haproxy_cfg(s)
             and "gone.w410.local" not in haproxy_cfg(s), 30,
             "HAProxy config to route new and kept2 and drop gone")
        log(f"all three changes applied {time.monotonic() - resumed:.1f} s after resuming")
        with open(os.path.join(s.dir, "logs", "operator.log")) as f:
            relists = [ln for ln in f if "canaryrollouts: resourceVersion too old" in ln]
        check(relists, "the operator never saw a 410 for canaryrollouts (no relist logged)")
        log(f"operator: {relists[0].strip()}")
        st = s.faults_stats()
        log(f"fault proxy: {st['watchesDropped']} watches dropped")


if __name__ == "__main__":
    main(scenario)
