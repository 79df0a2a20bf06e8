#!/usr/bin/env python3
"""Soak and scale on the real control plane (issue 15): `make soak`, not part of `make test`
(about 30 minutes). Its own control plane (e2e/k8s/cluster.sh), the operator on it with the
Gateway API provider (no data plane: this measures the controller, its cache and its writes).

1. Converge: COUNT new CanaryRollouts at the operator's default client rate (--kube-api-qps 50,
   --kube-api-burst 100). Time from the first create to every one reconciled
   (status.observedGeneration == metadata.generation).
2. Baseline: the same writes the operator made for them (one HTTPRoute applied, one status
   written per CR) by a plain client at the same rate and burst, against the same API server.
   The ratio says how much of the converge time is the operator and how much the client rate.
3. Scale: COUNT TrafficPolicies and COUNT TierLimits more (an operator restarted with
   --kube-api-qps SOAK_QPS so the population lands quickly); RSS per cached CR.
4. Churn: CHURN_SECONDS of spec updates at CHURN_RATE a second across the three kinds; every
   update must converge. RSS, threads and open descriptors are sampled every 10 s (the curve is
   printed and written to OUT/curve.csv) and must be flat: the last minute's RSS within 10 % of
   the first minute's, threads within 4, and the most descriptors open in the last third of
   the run within 4 of the most in the first third (they follow pooled connections).

Usage: bench/soak/soak.py BUILD_DIR [OUT_DIR]; SOAK_COUNT (10000), SOAK_CHURN_SECONDS (600),
SOAK_CHURN_RATE (10), SOAK_QPS (400) override."""
import base64
import concurrent.futures
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("SLUICE_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
COUNT = int(os.environ.get("SOAK_COUNT", "10000"))
CHURN_SECONDS = int(os.environ.get("SOAK_CHURN_SECONDS", "600"))
CHURN_RATE = float(os.environ.get("SOAK_CHURN_RATE", "10"))
SOAK_QPS = int(os.environ.get("SOAK_QPS", "400"))
NS, BASE_NS = "soak", "soak-baseline"
GROUP = "/apis/sluice.dev/v1alpha1/namespaces"
KINDS = {"canaryrollouts": "CanaryRollout", "trafficpolicies": "TrafficPolicy",
         "tierlimits": "TierLimit"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Api:
    """kube-apiserver over HTTPS with the admin kubeconfig's client certificate; one connection
    per thread."""

    def __init__(self, kubeconfig, workdir):
        cfg = json.loads(subprocess.run(
            [KUBECTL, "--kubeconfig", kubeconfig, "config", "view", "--raw", "-o", "json"],
            check=True, capture_output=True, text=True).stdout)
        cluster = cfg["clusters"][0]["cluster"]
        user = cfg["users"][0]["user"]
        paths = {}
        for key, field in (("ca", cluster["certificate-authority-data"]),
                           ("cert", user["client-certificate-data"]),
                           ("key", user["client-key-data"])):
            paths[key] = os.path.join(workdir, key + ".pem")
            with open(paths[key], "wb") as f:
                f.write(base64.b64decode(field))
        self.host, self.port = cluster["server"].split("//")[1].split(":")
        self.ctx = ssl.create_default_context(cafile=paths["ca"])
        self.ctx.load_cert_chain(paths["cert"], paths["key"])
        self.local = threading.local()

    def request(self, method, path, body=None, content_type="application/json"):
        for attempt in range(5):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx,
                                                   timeout=120)
                self.local.conn = conn
            try:
                data = None if body is None else json.dumps(body).encode()
                conn.request(method, path, body=data, headers={"Content-Type": content_type})
                r = conn.getresponse()
                payload = r.read()
                if r.status == 429 or r.status >= 500:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return r.status, json.loads(payload) if payload else {}
            except (OSError, http.client.HTTPException):
                self.local.conn = None
                time.sleep(0.2)
        raise RuntimeError(f"{method} {path}: gave up")


def canary(ns, i):
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
            "metadata": {"name": f"c{i}", "namespace": ns},
            "spec": {"stable": {"serviceRef": {"name": "stable", "port": 80}},
                     "canary": {"serviceRef": {"name": "canary", "port": 80}},
                     "route": {"provider": "gatewayAPI", "parentRefs": [{"name": "edge"}],
                               "hostnames": [f"c{i}.example.com"]},
                     "steps": [5, 10, 25, 50, 75, 100], "stepInterval": "1h"}}


def policy(ns, i):
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
            "metadata": {"name": f"p{i}", "namespace": ns},
            "spec": {"provider": "gatewayAPI", "parentRefs": [{"name": "edge"}],
                     "hostnames": [f"p{i}.example.com"],
                     "backends": [{"name": "a", "serviceRef": {"name": "svc-a", "port": 80},
                                   "weight": 50},
                                  {"name": "b", "serviceRef": {"name": "svc-b", "port": 80},
                                   "weight": 50}]}}


def tierlimit(ns, i):
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
            "metadata": {"name": f"t{i}", "namespace": ns},
            "spec": {"targetRefs": [{"kind": "TrafficPolicy", "name": f"p{i}"}],
                     "tiers": [{"name": "free", "requestsPerSecond": 10}],
                     "autoscaling": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                   "name": f"app{i}"},
                                     "minReplicas": 2, "maxReplicas": 20,
                                     "cpuUtilization": 70}}}


def create_all(api, plural, make, ns, count):
    def one(i):
        status, body = api.request("POST", f"{GROUP}/{ns}/{plural}", make(ns, i))
        if status not in (200, 201, 409):
            raise RuntimeError(f"create {plural} {i}: {status} {body.get('message')}")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def lagging(api, plural, ns):
    """(objects, not yet reconciled at their generation)."""
    _, body = api.request("GET", f"{GROUP}/{ns}/{plural}")
    items = body.get("items", [])
    behind = sum(1 for o in items if o.get("status", {}).get("observedGeneration") !=
                 o["metadata"].get("generation"))
    return len(items), behind


def wait_converged(api, plural, ns, count, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        n, behind = lagging(api, plural, ns)
        if n >= count and behind == 0:
            return time.monotonic() - t0
        time.sleep(2)
    raise RuntimeError(f"{plural}: not converged after {timeout} s ({behind} of {n} behind)")


class TokenBucket:
    """client-go's flowcontrol.NewTokenBucketRateLimiter(qps, burst), for the baseline."""

    def __init__(self, qps, burst):
        self.qps, self.burst, self.tokens, self.at = qps, burst, float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.qps)
            self.at = now
            self.tokens -= 1
            wait = -self.tokens / self.qps if self.tokens < 0 else 0
        if wait:
            time.sleep(wait)


def baseline(api, count, qps, burst):
    """The operator's writes for `count` new rollouts (an HTTPRoute applied server-side, a
    status written), by a plain client limited like the operator."""
    bucket = TokenBucket(qps, burst)

    def one(i):
        route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": f"c{i}", "namespace": BASE_NS},
                 "spec": {"parentRefs": [{"name": "edge"}], "hostnames": [f"c{i}.example.com"],
                          "rules": [{"backendRefs": [{"name": "stable", "port": 80,
                                                      "weight": 95},
                                                     {"name": "canary", "port": 80,
                                                      "weight": 5}]}]}}
        bucket.take()
        api.request("PATCH", f"/apis/gateway.networking.k8s.io/v1/namespaces/{BASE_NS}/httproutes/"
                    f"c{i}?fieldManager=soak-baseline&force=true", route,
                    "application/apply-patch+yaml")
        bucket.take()
        api.request("PATCH", f"{GROUP}/{BASE_NS}/canaryrollouts/c{i}/status",
                    {"status": {"observedGeneration": 1, "phase": "Progressing",
                                "currentStep": 0, "canaryWeight": 5}},
                    "application/merge-patch+json")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - t0


class Sampler:
    def __init__(self, pid_file, out):
        self.pid_file, self.out, self.rows = pid_file, out, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        with open(self.pid_file) as f:
            pid = int(f.read())
        status = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                status[k] = v.strip()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return int(status["VmRSS"].split()[0]) / 1024, int(status["Threads"]), fds

    def _run(self):
        t0 = time.monotonic()
        while not self._stop.wait(10):
            rss, threads, fds = self.sample()
            self.rows.append((time.monotonic() - t0, rss, threads, fds))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        with open(self.out, "w") as f:
            f.write("seconds,rss_mib,threads,fds\n")
            for r in self.rows:
                f.write(f"{r[0]:.0f},{r[1]:.1f},{r[2]},{r[3]}\n")


def churn(api, seconds, rate):
    """Spec updates at `rate` a second, round robin over the kinds and objects. Returns the
    number of updates and the most objects seen behind at once."""
    patches = {
        "canaryrollouts": lambda n: {"spec": {"stepInterval": f"{1 + n % 2}h"}},
        "trafficpolicies": lambda n: {"spec": {"backends": [
            {"name": "a", "serviceRef": {"name": "svc-a", "port": 80}, "weight": 50 + n % 2},
            {"name": "b", "serviceRef": {"name": "svc-b", "port": 80}, "weight": 50}]}},
        "tierlimits": lambda n: {"spec": {"tiers": [{"name": "free",
                                                     "requestsPerSecond": 10 + n % 2}]}},
    }
    prefix = {"canaryrollouts": "c", "trafficpolicies": "p", "tierlimits": "t"}
    plurals = list(patches)
    t0 = time.monotonic()
    n = 0
    worst = 0
    next_check = t0 + 30
    pool = concurrent.futures.ThreadPoolExecutor(8)
    latencies = {p: [] for p in plurals}

    def update(plural, path, body, measure):
        status, obj = api.request("PATCH", path, body, "application/merge-patch+json")
        if not measure or status != 200:
            return
        generation, start = obj["metadata"]["generation"], time.monotonic()
        while time.monotonic() - start < 120:
            _, now = api.request("GET", path)
            if now.get("status", {}).get("observedGeneration", 0) >= generation:
                latencies[plural].append(time.monotonic() - start)
                return
            time.sleep(0.05)

    while time.monotonic() - t0 < seconds:
        plural = plurals[n % 3]
        i = (n // 3) % COUNT
        round_ = n // (3 * COUNT) + 1
        pool.submit(update, plural, f"{GROUP}/{NS}/{plural}/{prefix[plural]}{i}",
                    patches[plural](round_), n % 30 < 3)
        n += 1
        if time.monotonic() >= next_check:
            behind = sum(lagging(api, p, NS)[1] for p in plurals)
            worst = max(worst, behind)
            log(f"churn: {n} updates, {behind} objects behind their generation")
            next_check += 30
        sleep = t0 + n / rate - time.monotonic()
        if sleep > 0:
            time.sleep(sleep)
    pool.shutdown(wait=True)
    for plural, values in latencies.items():
        if values:
            values.sort()
            log(f"churn: {plural} update to reconciled: median {statistics.median(values):.2f} s, "
                f"p99 {values[int(0.99 * (len(values) - 1))]:.2f} s over {len(values)}")
    return n, worst


def start_operator(work, kubeconfig, qps, burst, ports):
    log_path = os.path.join(OUT, f"operator-{qps}.log")
    p = subprocess.Popen([OPERATOR, "--kubeconfig", kubeconfig, "--namespace", NS,
                          "--metrics-bind-address", f"127.0.0.1:{ports[0]}",
                          "--health-probe-bind-address", f"127.0.0.1:{ports[1]}",
                          "--kube-api-qps", str(qps), "--kube-api-burst", str(burst),
                          "--log-level", os.environ.get("SOAK_LOG_LEVEL", "info")],
                         stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    with open(os.path.join(work, "operator.pid"), "w") as f:
        f.write(str(p.pid))
    return p


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    global KUBECTL, OPERATOR, OUT
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    out = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(build, "soak"))
    os.makedirs(out, exist_ok=True)
    OUT = out
    OPERATOR = os.path.join(build, "operator", "cmd", "sluice-operator")
    work = tempfile.mkdtemp(prefix="sluice-soak-")
    cluster = os.path.join(work, "cluster")
    subprocess.run([os.path.join(ROOT, "e2e", "k8s", "cluster.sh"), "up", cluster], check=True,
                   stdout=subprocess.DEVNULL)
    env = {}
    with open(os.path.join(cluster, "env")) as f:
        for line in f:
            if line.startswith("export "):
                k, _, v = line[7:].strip().partition("=")
                env[k] = v.strip('"')
    KUBECTL = os.path.join(env["K8S_BIN"], "kubectl")
    kubeconfig = os.path.join(cluster, "kubeconfig")
    operator = None
    try:
        subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "apply", "--server-side",
                        "-f", os.path.join(SHARED, "crds", "gateway-api-v1.2.1"),
                        "-f", os.path.join(SHARED, "crds", "envoy-gateway-v1.2.8"),
                        "-f", os.path.join(ROOT, "crds")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "wait", "--for",
                        "condition=Established", "--timeout", "60s",
                        "crd/canaryrollouts.sluice.dev", "crd/trafficpolicies.sluice.dev",
                        "crd/tierlimits.sluice.dev"], check=True, stdout=subprocess.DEVNULL)
        for ns in (NS, BASE_NS):
            subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "create", "namespace", ns],
                           check=True, stdout=subprocess.DEVNULL)
        api = Api(kubeconfig, work)
        for ns in (NS, BASE_NS):
            for svc in ("stable", "canary", "svc-a", "svc-b"):
                api.request("POST", f"/api/v1/namespaces/{ns}/services",
                            {"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": svc, "namespace": ns},
                             "spec": {"ports": [{"port": 80}], "selector": {"app": svc}}})
        ports = (free_port(), free_port())
        operator = start_operator(work, kubeconfig, 50, 100, ports)
        time.sleep(2)
        pid_file = os.path.join(work, "operator.pid")
        sampler0 = Sampler(pid_file, os.devnull)
        rss0, threads0, fds0 = sampler0.sample()
        log(f"operator idle: RSS {rss0:.1f} MiB, {threads0} threads, {fds0} fds")

        # 1. Converge at the default client rate.
        t0 = time.monotonic()
        create_all(api, "canaryrollouts", canary, NS, COUNT)
        created = time.monotonic() - t0
        converged = created + wait_converged(api, "canaryrollouts", NS, COUNT, 3600)
        rss1, threads1, fds1 = sampler0.sample()
        log(f"1. {COUNT} CanaryRollouts created in {created:.0f} s; all reconciled "
            f"{converged:.0f} s after the first create (qps 50, burst 100)")
        log(f"   RSS {rss1:.1f} MiB ({(rss1 - rss0) * 1024 / COUNT:.2f} KiB per cached rollout), "
            f"{threads1} threads, {fds1} fds")

        # 2. Baseline: the same writes by a plain client at the same rate.
        create_all(api, "canaryrollouts", canary, BASE_NS, COUNT)
        base = baseline(api, COUNT, 50, 100)
        log(f"2. baseline: {2 * COUNT} writes (an HTTPRoute applied and a status written per "
            f"rollout) at qps 50, burst 100: {base:.0f} s; operator converge / baseline = "
            f"{converged / base:.2f}")
        subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "delete", "namespace", BASE_NS,
                        "--wait=false"], check=True, stdout=subprocess.DEVNULL)

        # 3. Scale: the other two kinds, a faster client for the soak's setup.
        operator.kill()
        operator.wait()
        operator = start_operator(work, kubeconfig, SOAK_QPS, 2 * SOAK_QPS, ports)
        t0 = time.monotonic()
        create_all(api, "trafficpolicies", policy, NS, COUNT)
        create_all(api, "tierlimits", tierlimit, NS, COUNT)
        for plural in KINDS:
            wait_converged(api, plural, NS, COUNT, 3600)
        rss3, threads3, fds3 = sampler0.sample()
        log(f"3. {COUNT} of each kind reconciled {time.monotonic() - t0:.0f} s after the first "
            f"create (restarted operator, qps {SOAK_QPS}); RSS {rss3:.1f} MiB: "
            f"{(rss3 - rss0) * 1024 / (3 * COUNT):.2f} KiB per cached CR over idle; "
            f"{threads3} threads, {fds3} fds")

        # 4. Churn.
        with Sampler(pid_file, os.path.join(out, "curve.csv")) as sampler:
            updates, worst = churn(api, CHURN_SECONDS, CHURN_RATE)
            settle = sum(wait_converged(api, p, NS, COUNT, 600) for p in KINDS)
        rows = sampler.rows
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/metrics", timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(("controller_reconcile_duration_seconds_sum",
                                    "controller_reconcile_duration_seconds_count",
                                    "workqueue_adds_total", "workqueue_retries_total",
                                    "controller_reconcile_total")):
                    log(f"   {line}")
        log(f"4. churn: {updates} updates in {CHURN_SECONDS} s ({updates / CHURN_SECONDS:.1f}/s), "
            f"every one reconciled {settle:.0f} s after the last; at most {worst} objects "
            "behind at a 30 s check")
        log("   seconds  RSS MiB  threads  fds")
        for r in rows:
            log(f"   {r[0]:7.0f}  {r[1]:7.1f}  {r[2]:7d}  {r[3]:4d}")
        first = [r for r in rows if r[0] <= 60]
        last = [r for r in rows if r[0] >= rows[-1][0] - 60]
        rss_a = statistics.mean(r[1] for r in first)
        rss_b = statistics.mean(r[1] for r in last)
        ok = True
        if rss_b > 1.10 * rss_a:
            log(f"FAIL: RSS grew from {rss_a:.1f} to {rss_b:.1f} MiB")
            ok = False
        spread = max(r[2] for r in rows) - min(r[2] for r in rows)
        if spread > 4:
            log(f"FAIL: threads moved by {spread}")
            ok = False
        # Descriptors follow the client's pooled connections (opened under load, closed when
        # idle): they swing by ten or so. A leak is growth: the last third's highest count
        # above the first third's.
        third = max(1, len(rows) // 3)
        fds_a = max(r[3] for r in rows[:third])
        fds_b = max(r[3] for r in rows[-third:])
        if fds_b > fds_a + 4:
            log(f"FAIL: open descriptors grew from at most {fds_a} to {fds_b}")
            ok = False
        log(f"RSS first minute {rss_a:.1f} MiB, last minute {rss_b:.1f} MiB "
            f"({100 * (rss_b / rss_a - 1):+.1f} %); curve in {out}/curve.csv")
        return 0 if ok else 1
    finally:
        if operator:
            operator.kill()
        subprocess.run([os.path.join(ROOT, "e2e", "k8s", "cluster.sh"), "down", cluster],
                       check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
