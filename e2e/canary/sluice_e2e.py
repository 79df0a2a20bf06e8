"""Shared helpers for the CanaryRollout end-to-end scenarios.

Each scenario starts its own local stack (e2e/stack/stack.sh) in a fresh directory, drives it
with the real kubectl, real traffic through real HAProxy and real Prometheus, and tears it down
by PID. Nothing here sleeps to wait for logic: waits poll observable state with a deadline.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STACK = os.path.join(ROOT, "e2e", "stack", "stack.sh")
CLUSTER = os.path.join(ROOT, "e2e", "k8s", "cluster.sh")
LOADGEN = os.path.join(ROOT, "e2e", "stack", "loadgen.py")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Stack:
    """The local stack in a fresh directory. By default it uses the run's shared control plane
    (SLUICE_CLUSTER_DIR, a namespace of its own); own_cluster=True starts a control plane for
    this stack alone (for scenarios that restart or compact it), with extra kube-apiserver
    flags; faults=True puts the fault proxy (e2e/k8s/faults) between operator and API server.
    env adds variables for stack.sh, e.g. {"SLUICE_LEASE_SECONDS": "6"} (every operator the
    stack starts, at `up` and later, uses that lease duration)."""

    def __init__(self, build_dir, name, own_cluster=False, faults=False, apiserver_flags="",
                 env=None):
        self.build_dir = os.path.abspath(build_dir)
        self.dir = tempfile.mkdtemp(prefix=f"sluice-e2e-{name}-")
        self.env = {}
        self.background = []
        self.histories = []
        self.proc_env = dict(os.environ)
        if own_cluster:
            self.proc_env.pop("SLUICE_CLUSTER_DIR", None)
            self.proc_env.pop("SLUICE_E2E_KUBECONFIG", None)
            self.proc_env["SLUICE_APISERVER_FLAGS"] = apiserver_flags
        if faults:
            self.proc_env["SLUICE_STACK_FAULTS"] = "1"
        self.proc_env.update(env or {})

    def __enter__(self):
        try:
            subprocess.run([STACK, "up", self.dir, self.build_dir], check=True,
                           env=self.proc_env)
        except subprocess.CalledProcessError:
            self.dump_logs()
            self.down()
            raise
        self.env = read_env(os.path.join(self.dir, "env"))
        return self

    def __exit__(self, exc_type, exc, tb):
        for p in self.background:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
        if exc_type is not None:
            self.dump_logs()
        self.down()
        return False

    def down(self):
        subprocess.run([STACK, "down", self.dir], check=False, env=self.proc_env)

    def stack(self, command, *args):
        subprocess.run([STACK, command, self.dir, *args], check=True, env=self.proc_env)

    def cluster(self, command):
        """cluster.sh COMMAND on this stack's control plane (restart-apiserver, compact...)."""
        check(self.env.get("CLUSTER_DIR"), "this scenario needs the local control plane")
        p = subprocess.run([CLUSTER, command, self.env["CLUSTER_DIR"]], check=True,
                           capture_output=True, text=True, env=self.proc_env)
        return p.stdout.strip()

    def faults(self, **params):
        """Sets faults on the proxy: faults(status=429, count=5), faults(dropWatches="now")."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        req = urllib.request.Request(f"{self.env['FAULTS_ADMIN']}/faults?{query}", method="POST",
                                     data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()

    def faults_clear(self):
        req = urllib.request.Request(f"{self.env['FAULTS_ADMIN']}/faults", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()

    def faults_stats(self):
        with urllib.request.urlopen(f"{self.env['FAULTS_ADMIN']}/stats", timeout=5) as r:
            return json.loads(r.read())

    def dump_logs(self):
        logs = os.path.join(self.dir, "logs")
        if not os.path.isdir(logs):
            return
        for name in sorted(os.listdir(logs)):
            path = os.path.join(logs, name)
            with open(path, errors="replace") as f:
                lines = f.readlines()[-60:]
            print(f"----- {name} (last {len(lines)} lines) -----", file=sys.stderr)
            sys.stderr.writelines(lines)

    # --- kubectl -------------------------------------------------------------------------
    def kubectl(self, *args, check_rc=True, stdin=None):
        env = dict(os.environ, KUBECONFIG=self.env["KUBECONFIG"])
        kubectl = os.path.join(self.env["K8S_BIN"], "kubectl")
        p = subprocess.run([kubectl, *args], env=env, input=stdin, text=True,
                           capture_output=True)
        if check_rc and p.returncode != 0:
            raise Failure(f"kubectl {' '.join(args)} failed: {p.stderr.strip()}")
        return p

    def apply_template(self, template, **values):
        text = render(os.path.join(HERE, "manifests", template), {**self.env, **values})
        return self.kubectl("apply", "-f", "-", stdin=text)

    def metric(self, url, name):
        """The value of an unlabelled metric at a /metrics URL, or None."""
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{}"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def metric_sum(self, url, name, **labels):
        """The sum of the series of metric `name` at a /metrics URL whose labels include
        `labels` (metric_sum(url, "controller_reconcile_total", controller="canaryrollout")),
        0.0 when there is none, or None when the URL does not answer."""
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        total = 0.0
        for line in text.splitlines():
            series, _, value = line.rpartition(" ")
            if series == name or series.startswith(name + "{"):
                if all(w in series for w in wanted):
                    total += float(value)
        return total

    def lease_holder(self, lease="sluice-operator"):
        """spec.holderIdentity of the operator's leader election Lease, or None."""
        p = self.kubectl("get", "lease", lease, "-o", "json", check_rc=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout).get("spec", {}).get("holderIdentity")

    def start_canary(self, name, host, step_interval, rate=80):
        """The common opening: the stable and canary Services, steady load on `host` (so the
        analysis has requests to judge), and a rollout `name` stepping every `step_interval`."""
        self.apply_template("services.yaml.tmpl")
        self.background_traffic(host, rate=rate)
        self.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME=name, HOSTNAME=host,
                            STEP_INTERVAL=step_interval, MIN_REQUESTS="5")

    def prometheus_query(self, promql):
        """An instant query against the stack's real Prometheus: [(labels, value)]."""
        url = self.env["PROM_URL"] + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.loads(r.read())
        check(body.get("status") == "success", f"Prometheus refused {promql}: {body}")
        return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]

    def rollout(self, name):
        p = self.kubectl("get", "canaryrollout", name, "-o", "json")
        obj = json.loads(p.stdout)
        for history in self.histories:
            history.observe(obj)
        return obj

    def status(self, name):
        return self.rollout(name).get("status", {})

    def wait_status(self, name, pred, timeout, what):
        deadline = time.monotonic() + timeout
        last = {}
        while time.monotonic() < deadline:
            last = self.status(name)
            if pred(last):
                return last
            time.sleep(0.2)
        raise Failure(f"timed out after {timeout}s waiting for {what}; last status: "
                      f"{json.dumps(last)}")

    def set_paused(self, name, paused):
        self.kubectl("patch", "canaryrollout", name, "--type=merge",
                     "-p", '{"spec":{"paused":%s}}' % ("true" if paused else "false"))

    def pause_at_step(self, name, index, weight, timeout=60):
        """Waits for step `index`, pauses the rollout there (spec.paused, part of the user
        contract) and checks it holds the step's weight; returns the status."""
        st = self.wait_status(name, lambda st: st.get("currentStep", -1) >= index and
                              st.get("phase") in ("Progressing", "Paused", "Succeeded"),
                              timeout, f"step {index} ({weight}%)")
        check(st.get("currentStep") == index, f"rollout skipped past step {index}: status {st}")
        self.set_paused(name, True)
        st = self.wait_status(name, lambda st: st.get("phase") == "Paused", 20, "Paused")
        check(st.get("canaryWeight") == weight,
              f"paused at step {index} with weight {st.get('canaryWeight')} != {weight}")
        return st

    # --- data plane ----------------------------------------------------------------------
    def backend_admin(self, which, path, method="POST"):
        base = self.env["CANARY_ADMIN" if which == "canary" else "STABLE_ADMIN"]
        req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST"
                                     else None)
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def set_canary_errors(self, rate):
        return self.backend_admin("canary", f"/admin/config?errorRate={rate}")

    def traffic(self, host, tenants=1000, prefix="tenant-", no_header=0, record=False,
                rounds=1, concurrency=16, max_seconds=30, headers=()):
        args = [sys.executable, LOADGEN, "--port", self.env["GATEWAY_PORT"], "--host", host,
                "--tenants", str(tenants), "--rounds", str(rounds), "--prefix", prefix,
                "--no-header", str(no_header),
                "--concurrency", str(concurrency), "--max-seconds", str(max_seconds)]
        if record:
            args.append("--record-tenants")
        for h in headers:
            args += ["--header", h]
        p = subprocess.run(args, capture_output=True, text=True, check=True)
        return json.loads(p.stdout)

    def background_traffic(self, host, seconds=600, rate=60, headers=()):
        """Steady tenant-less load (hey, from Debian) so the analysis has requests to judge;
        `headers`: extra request headers ("X-Geo-Region: eu-west-1")."""
        url = f"http://127.0.0.1:{self.env['GATEWAY_PORT']}/"
        extra = []
        for h in headers:
            extra += ["-H", h]
        p = subprocess.Popen(["hey", "-z", f"{seconds}s", "-q", str(max(1, rate // 4)), "-c",
                              "4", "-host", host] + extra + [url], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.background.append(p)
        return p


def cpu_seconds(pid):
    """User plus system CPU seconds a process has used (0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def haproxy_runtime(s, command, timeout=2.0):
    """One command on HAProxy's runtime API, the socket the operator uses (HAPROXY_RUNTIME: a
    unix socket path, or host:port)."""
    address = s.env["HAPROXY_RUNTIME"]
    if address.startswith("/"):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(timeout)
        target = address
    else:
        host, port = address.rsplit(":", 1)
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(timeout)
        target = (host, int(port))
    with c:
        c.connect(target)
        c.sendall(command.encode() + b"\n")
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return out.decode()
            out += chunk


def wait_for(pred, timeout, what):
    """Polls pred() until it is true and returns its value; a Failure naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise Failure(f"timed out after {timeout}s waiting for {what}")


class StatusHistory:
    """Records a rollout's (currentStep, phase) while a scenario disturbs it (kills, restarts,
    faults): every status any read of the scenario sees, plus a poll every 0.15 s in the
    background, ordered by resourceVersion. Then checks the history a user would care about:
    steps only ever move up one at a time, and nothing rolled back.

        with StatusHistory(s, "name") as history:
            ...
        history.check_no_skip_or_rollback()
    """

    def __init__(self, stack, name):
        self.stack, self.name = stack, name
        self.seen = {}  # resourceVersion -> (currentStep, phase)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll)

    def observe(self, obj):
        if obj.get("metadata", {}).get("name") != self.name:
            return
        st = obj.get("status", {})
        with self._lock:
            self.seen[int(obj["metadata"]["resourceVersion"])] = (st.get("currentStep"),
                                                                  st.get("phase"))

    def _poll(self):
        while not self._stop.is_set():
            try:
                self.stack.rollout(self.name)
            except Exception:  # noqa: BLE001 - the API server may be down on purpose
                pass
            time.sleep(0.15)

    def __enter__(self):
        self.stack.histories.append(self)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.stack.histories.remove(self)
        return False

    def check_no_skip_or_rollback(self):
        with self._lock:
            ordered = [self.seen[rv] for rv in sorted(self.seen)]
        steps = [st for st, _ in ordered if st is not None]
        for a, b in zip(steps, steps[1:]):
            check(b in (a, a + 1), f"step went from {a} to {b}: sequence {steps}")
        check(not any(p == "RolledBack" for _, p in ordered), "a rollback happened")
        log(f"observed steps {sorted(set(steps))} in {len(ordered)} status versions")


def read_env(path):
    """Reads the `export K=V` lines stack.sh writes (values are already expanded)."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                env[k] = v
    return env


def render(path, values):
    with open(path) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("${" + k + "}", str(v))
    if "${" in text:
        start = text.index("${")
        raise Failure(f"{path}: no value for {text[start:text.index('}', start) + 1]}")
    return text


def traffic_split(result):
    """Who answered the requests of a traffic() result, from the responses themselves:
    {"stable": n, "canary": n, "other": n, "total": n}. "stable" and "canary" count only 200s
    served by that backend (X-Served-By); "other" is every other outcome: a backend's 5xx, the
    gateway's own 404 (no route) or 503 (no server), a request that got no answer at all."""
    by_status = result.get("byInstanceStatus")
    check(by_status is not None, "traffic result without byInstanceStatus (old loadgen.py?)")
    split = {"stable": 0, "canary": 0, "other": 0}
    for served, codes in by_status.items():
        for code, n in codes.items():
            side = served if served in ("stable", "canary") and code == "200" else "other"
            split[side] += n
    split["total"] = sum(split.values())
    check(split["total"] > 0, f"no requests were sent: {result}")
    return split


def describe_other(result):
    """The non-200 or unattributed outcomes of a traffic() result, for failure messages."""
    return {f"{served}:{code}": n for served, codes in result["byInstanceStatus"].items()
            for code, n in codes.items() if served not in ("stable", "canary") or code != "200"}


def check_all_answered(result):
    """Fails unless every request of a traffic() result was answered 200 by the stable or the
    canary backend; returns traffic_split(result)."""
    split = traffic_split(result)
    check(split["other"] == 0,
          f"{split['other']} of {split['total']} requests were not answered 200 by the stable "
          f"or the canary backend: {describe_other(result)}")
    return split


def _share(result, side):
    split = check_all_answered(result)
    return 100.0 * split[side] / split["total"]


def canary_share(result):
    """Percent of requests answered 200 by the canary. Fails unless every request was answered
    200 by the stable or the canary backend: a missing route (404), an unreachable gateway or a
    backend error is never "not canary"."""
    return _share(result, "canary")


def stable_share(result):
    """Percent of requests answered 200 by the stable backend; fails like canary_share."""
    return _share(result, "stable")


def main(scenario):
    """Runs scenario(build_dir) and turns Failure into a non-zero exit with a clear message."""
    build_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    start = time.monotonic()
    try:
        scenario(build_dir)
    except Failure as e:
        log(f"FAIL: {e}")
        sys.exit(1)
    log(f"PASS in {time.monotonic() - start:.1f}s")
