#!/usr/bin/env python3
"""e2e.tierlimit.load-scaling: a TierLimit's HPA follows real load, on real parts end to end.

Real requests through HAProxy -> HAProxy's exporter -> Prometheus -> the operator (the
TrafficPolicy's observed request rate, exported as sluice_tierlimit_requests_per_second for the
TierLimit attached to it) -> Prometheus -> a metrics adapter registered in the aggregation layer
as external.metrics.k8s.io -> kube-controller-manager's HPA controller -> the Deployment's
replicas. Load of about 100-160 rps against requestsPerSecondPerReplica 20 raises the Deployment from 2
toward 8 (reported: seconds to the first scale-up and to 6 or more); when the load stops it falls
back to 2 (scale-down stabilization shortened to 10 s for the test)."""
import json
import os
import subprocess
import time

from tl_e2e import (Stack, apply, check, get, log, main, services, tier_limit, wait_enforced,
                    wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(os.path.dirname(HERE), "k8s", "cluster.sh")
HOST = "load.tl.local"


def replicas(s):
    return (get(s, "deployment", "checkout") or {}).get("spec", {}).get("replicas")


def scenario(build_dir):
    with Stack(build_dir, "tl-load-scaling") as s:
        ns = s.env["NAMESPACE"]
        check(s.env.get("CLUSTER_DIR"), "this scenario needs the local control plane")
        adapter = subprocess.run([CLUSTER, "metrics-adapter", s.env["CLUSTER_DIR"],
                                  s.env["PROM_URL"]], check=True, capture_output=True, text=True)
        log(f"metrics adapter: {adapter.stdout.strip()}")
        try:
            services(s)
            apply(s, {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
                      "metadata": {"name": "checkout", "namespace": ns},
                      "spec": {"provider": "haproxy", "hostnames": [HOST],
                               "backends": [{"name": "eastus", "serviceRef": {
                                   "name": "checkout-eastus",
                                   "port": int(s.env["EASTUS_PORT"])}}],
                               "metrics": {"prometheus": {"address": s.env["PROM_URL"]},
                                           "interval": "1s"}}})
            apply(s, {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": "checkout", "namespace": ns},
                      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "checkout"}},
                               "template": {"metadata": {"labels": {"app": "checkout"}},
                                            "spec": {"containers": [{"name": "app",
                                                                     "image": "checkout:1"}]}}}})
            tier_limit(s, "checkout", "checkout",
                       [{"name": "free", "requestsPerSecond": 100000, "burst": 100000}],
                       autoscaling={"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                  "name": "checkout"},
                                    "minReplicas": 2, "maxReplicas": 20,
                                    "requestsPerSecondPerReplica": 20,
                                    "behavior": {"scaleUp": {"stabilizationWindow": "0s"},
                                                 "scaleDown": {"stabilizationWindow": "10s"}}})
            wait_enforced(s, "checkout")
            wait_for(lambda: get(s, "hpa", "checkout") is not None, 30, "the TierLimit's HPA")
            url = f"http://127.0.0.1:{s.env['GATEWAY_PORT']}/"
            start = time.monotonic()
            load = subprocess.Popen(["hey", "-z", "90s", "-q", "40", "-c", "4", "-host", HOST,
                                     url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s.background.append(load)
            wait_for(lambda: (replicas(s) or 0) > 2, 60, "the HPA to scale up under load")
            first = time.monotonic() - start
            log(f"first scale-up {first:.1f} s after the load started: {replicas(s)} replicas")
            wait_for(lambda: (replicas(s) or 0) >= 4, 60, "4 or more replicas")
            most = time.monotonic() - start
            hpa = get(s, "hpa", "checkout")
            metric = json.dumps(hpa.get("status", {}).get("currentMetrics"))
            log(f"{replicas(s)} replicas {most:.1f} s after the load started; HPA sees {metric}")
            load.terminate()
            load.wait(timeout=10)
            stopped = time.monotonic()
            wait_for(lambda: replicas(s) == 2, 120, "the Deployment back to 2 without load")
            log(f"back to 2 replicas {time.monotonic() - stopped:.1f} s after the load stopped")
        finally:
            subprocess.run([CLUSTER, "metrics-adapter-down", s.env["CLUSTER_DIR"]], check=False)


if __name__ == "__main__":
    main(scenario)
