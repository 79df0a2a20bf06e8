#!/usr/bin/env python3
"""e2e.control-plane.identity: the operator's identity and secrets on the real control plane.

1. Wrong CA: a kubeconfig whose certificate-authority-data is another CA (made here with
   openssl) is refused: no request reaches kube-apiserver (its audit log has none from that
   identity), the operator never becomes ready and its log says which CA was applied.
2. Token rotation: the operator starts with a tokenFile laid out as the kubelet projects it
   (token -> ..data/token, ..data -> a timestamped directory) holding a real TokenRequest token
   of a ServiceAccount with no rights (403s). The ..data symlink is swapped atomically to a
   token of a ServiceAccount with rights; without a restart the operator becomes ready and
   reconciles. The audit log shows both user names from the one process.
3. Prometheus over HTTPS: real Prometheus serving TLS (--web.config.file) with a certificate of
   a private CA given by --prometheus-ca-file: a TrafficPolicy's metrics are read; a server
   whose certificate another CA signed is refused, and the policy's status says so.
4. Confused deputy: a user who may only write Sluice objects in namespace A (RBAC, kubectl --as)
   cannot make the operator touch namespace B: a serviceRef.namespace is refused by the API
   server; a Service of the same name in B is never read (audit log); a parentRef to a Gateway
   in B is carried (Gateway API: the Gateway's allowedRoutes decides).
5. Secrets: with --log-level=trace, neither token, the client key, the kubeconfig token nor a
   Prometheus password given in an address appears in the operator's log, its Events, the
   TrafficPolicies' status, /metrics, /healthz or /readyz.
"""
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("SLUICE_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
PASSWORD = "hunter2-do-not-leak"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise Failure(f"timed out after {timeout}s waiting for {what}")


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)
    return os.path.join(d, f"{name}.crt")


def make_server_cert(d, ca, name):
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
            f"{name}.key", "-out", f"{name}.csr", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=d)
    return os.path.join(d, f"{name}.crt"), os.path.join(d, f"{name}.key")


class Operator:
    """sluice-operator as a plain process, its log in a file."""

    def __init__(self, binary, work, name, kubeconfig, ns, extra=()):
        self.metrics = free_port()
        self.probe = free_port()
        self.log_path = os.path.join(work, f"{name}.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--kubeconfig", kubeconfig, "--namespace", ns,
             "--metrics-bind-address", f"127.0.0.1:{self.metrics}",
             "--health-probe-bind-address", f"127.0.0.1:{self.probe}",
             "--log-level", "trace", *extra],
            stdout=self.log_file, stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})

    def ready(self):
        return http_get(f"http://127.0.0.1:{self.probe}/readyz")[0] == 200

    def endpoints(self):
        return {path: http_get(f"http://127.0.0.1:{port}{path}")[1]
                for port, path in ((self.metrics, "/metrics"), (self.probe, "/healthz"),
                                   (self.probe, "/readyz"))}

    def text(self):
        if not self.log_file.closed:
            self.log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, grace=15):
        """SIGTERM, then SIGKILL after `grace` seconds; True if it exited by itself."""
        exited = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                exited = False
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return exited


class WrongCaPrometheus:
    """An HTTPS server answering like Prometheus, with a certificate another CA signed."""

    def __init__(self, cert, key):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def audit_users(path, namespace_filter=None):
    """[(username, userAgent, objectRef.namespace, code)] of every audited request."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("stage") != "ResponseComplete":
                continue
            out.append((ev.get("user", {}).get("username", ""), ev.get("userAgent", ""),
                        ev.get("objectRef", {}).get("namespace", ""),
                        ev.get("responseStatus", {}).get("code", 0),
                        ev.get("requestURI", "")))
    return out


def scenario(build_dir):
    cluster = os.environ.get("SLUICE_CLUSTER_DIR")
    if not cluster:
        print("SKIP: needs the local control plane (SLUICE_CLUSTER_DIR): its audit log and CA")
        return
    env = {}
    with open(os.path.join(cluster, "env")) as f:
        for line in f:
            if line.startswith("export ") and "$" not in line:
                k, _, v = line[7:].strip().partition("=")
                env[k] = v.strip('"')
    kubectl_bin = os.path.join(env["K8S_BIN"], "kubectl")
    admin = os.path.join(cluster, "kubeconfig")
    audit = os.path.join(cluster, "logs", "audit.log")
    binary = os.path.join(build_dir, "operator", "cmd", "sluice-operator")

    def kubectl(*args, check_rc=True, stdin=None, as_user=None):
        cmd = [kubectl_bin, "--kubeconfig", admin]
        if as_user:
            cmd += ["--as", as_user]
        p = subprocess.run(cmd + list(args), input=stdin, text=True, capture_output=True)
        if check_rc and p.returncode != 0:
            raise Failure(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
        return p

    def apply(obj, as_user=None, check_rc=True):
        return kubectl("apply", "-f", "-", stdin=json.dumps(obj), as_user=as_user,
                       check_rc=check_rc)

    tag = str(os.getpid())
    ns_a, ns_b = f"identity-a-{tag}", f"identity-b-{tag}"
    work = tempfile.mkdtemp(prefix="sluice-e2e-identity-")
    operators, servers, procs = [], [], []
    started = time.monotonic()
    try:
        kubectl("apply", "--server-side", "--force-conflicts",
                "-f", os.path.join(SHARED, "crds", "gateway-api-v1.2.1"),
                "-f", os.path.join(SHARED, "crds", "envoy-gateway-v1.2.8"),
                "-f", os.path.join(ROOT, "crds"))
        kubectl("wait", "--for", "condition=Established", "--timeout", "60s",
                "crd/trafficpolicies.sluice.dev", "crd/httproutes.gateway.networking.k8s.io")
        for ns in (ns_a, ns_b):
            kubectl("create", "namespace", ns)
        for sa in ("nobody", "operator"):
            kubectl("-n", ns_a, "create", "serviceaccount", sa)
        # The operator's rights: everything in namespace A, nothing elsewhere.
        kubectl("-n", ns_a, "create", "rolebinding", "operator", "--clusterrole", "cluster-admin",
                f"--serviceaccount={ns_a}:operator")
        # alice may write Sluice objects in A and nothing else anywhere.
        apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "sluice-author", "namespace": ns_a},
               "rules": [{"apiGroups": ["sluice.dev"],
                          "resources": ["canaryrollouts", "trafficpolicies", "tierlimits"],
                          "verbs": ["get", "list", "watch", "create", "update", "patch"]}]})
        kubectl("-n", ns_a, "create", "rolebinding", "alice", "--role", "sluice-author",
                "--user", "alice")

        token = {sa: kubectl("-n", ns_a, "create", "token", sa, "--duration", "15m").stdout.strip()
                 for sa in ("nobody", "operator")}
        users = {sa: f"system:serviceaccount:{ns_a}:{sa}" for sa in token}
        admin_cfg = json.loads(kubectl("config", "view", "--raw", "-o", "json").stdout)
        cluster_cfg = admin_cfg["clusters"][0]["cluster"]
        server = cluster_cfg["server"]
        admin_user = admin_cfg["users"][0]["user"]
        client_key = base64.b64decode(admin_user["client-key-data"]).decode()

        def kubeconfig(path, ca_data, user):
            cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
                   "clusters": [{"name": "k", "cluster": {"server": server,
                                                          "certificate-authority-data": ca_data}}],
                   "users": [{"name": "u", "user": user}],
                   "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u",
                                                         "namespace": ns_a}}]}
            with open(path, "w") as f:
                json.dump(cfg, f)
            return path

        # --- 1. wrong CA ------------------------------------------------------------------
        make_ca(work, "wrong-ca")
        with open(os.path.join(work, "wrong-ca.crt"), "rb") as f:
            wrong_ca_data = base64.b64encode(f.read()).decode()
        # A kubeconfig token of a ServiceAccount with rights, and the admin's client key: all
        # that is missing is the right CA.
        wrong_kc = kubeconfig(os.path.join(work, "wrong-ca.kubeconfig"), wrong_ca_data,
                              {"token": token["operator"],
                               "client-certificate-data": admin_user["client-certificate-data"],
                               "client-key-data": admin_user["client-key-data"]})
        op = Operator(binary, work, "operator-wrong-ca", wrong_kc, ns_a)
        operators.append(op)
        want = f"TLS handshake with {server} failed: certificate verify failed ("
        wait_for(lambda: want in op.text(), 15, "the wrong-CA refusal in the log")
        time.sleep(1)
        check(not op.ready(), "ready with a kubeconfig whose CA did not sign the API server")
        line = next(l for l in op.text().splitlines() if want in l)
        check("certificate-authority of context \"c\"" in line, f"which CA is not said: {line}")
        log(f"wrong CA refused: {line.strip()[:300]}")
        refused_endpoints = {f"{k} (wrong CA)": v for k, v in op.endpoints().items()}
        # Not what this test is about, but said: while every request fails, SIGTERM does not end
        # the operator promptly (informers sit in the REST client's uninterruptible retries).
        t = time.monotonic()
        by_itself = op.stop(grace=3)
        log(f"wrong-CA operator: SIGTERM {'ended it' if by_itself else 'did not end it'} "
            f"within {time.monotonic() - t:.1f}s" + ("" if by_itself else "; SIGKILLed"))
        wrong_ca_log = op.text()
        # Nobody authenticated as the operator yet: no request got through the handshake.
        check(not [u for u in audit_users(audit) if u[0] == users["operator"]],
              "a request of the wrong-CA operator reached kube-apiserver")

        # --- 3 (servers first). Prometheus over HTTPS ----------------------------------------
        make_ca(work, "prom-ca")
        prom_cert, prom_key = make_server_cert(work, "prom-ca", "prometheus")
        make_ca(work, "other-ca")
        other_cert, other_key = make_server_cert(work, "other-ca", "impostor")
        prom_port = free_port()
        with open(os.path.join(work, "web.yml"), "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {prom_cert}\n  key_file: {prom_key}\n")
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1m}\n")
        prom_log = open(os.path.join(work, "prometheus.log"), "w")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml",
             f"--web.config.file={work}/web.yml", f"--web.listen-address=127.0.0.1:{prom_port}",
             f"--storage.tsdb.path={work}/tsdb"], stdout=prom_log, stderr=subprocess.STDOUT))
        prom_ctx = ssl.create_default_context(cafile=os.path.join(work, "prom-ca.crt"))

        def prom_ready():
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{prom_port}/-/ready", timeout=2,
                                            context=prom_ctx) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(prom_ready, 30, "Prometheus serving TLS")
        log(f"Prometheus serving TLS on 127.0.0.1:{prom_port} (a private CA's certificate)")
        impostor = WrongCaPrometheus(other_cert, other_key)
        servers.append(impostor)

        # --- 2. token rotation through the kubelet's ..data swap ------------------------------
        tokens = os.path.join(work, "serviceaccount")
        os.makedirs(os.path.join(tokens, "..2026_01_01_00_00_00.1"))
        with open(os.path.join(tokens, "..2026_01_01_00_00_00.1", "token"), "w") as f:
            f.write(token["nobody"])
        os.symlink("..2026_01_01_00_00_00.1", os.path.join(tokens, "..data"))
        os.symlink("..data/token", os.path.join(tokens, "token"))
        ca_data = cluster_cfg["certificate-authority-data"]
        kc = kubeconfig(os.path.join(work, "operator.kubeconfig"), ca_data,
                        {"tokenFile": os.path.join(tokens, "token")})

        services = [{"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "checkout-eastus", "namespace": ns},
                     "spec": {"ports": [{"port": 80}]}} for ns in (ns_a, ns_b)]
        for svc in services:
            apply(svc)

        def policy(name, address, extra_backend_ref=None, parent_ns=None):
            ref = {"name": "checkout-eastus", "port": 80, **(extra_backend_ref or {})}
            return {"apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
                    "metadata": {"name": name, "namespace": ns_a},
                    "spec": {"provider": "gatewayAPI",
                             "parentRefs": [{"name": "edge",
                                             **({"namespace": parent_ns} if parent_ns else {})}],
                             "hostnames": [f"{name}.example.com"], "strategy": "RoundRobin",
                             "backends": [{"name": "eastus", "serviceRef": ref, "weight": 100}],
                             "metrics": {"prometheus": {"address": address}, "interval": "2s",
                                         "queries": {"errorRate": "vector(0.001)",
                                                     "latencyP99Milliseconds": "vector(12)",
                                                     "requestsPerSecond": "vector(3)"}}}}

        # alice, who may only write Sluice objects in A, writes the policies the operator runs.
        check(kubectl("auth", "can-i", "create", "services", "-n", ns_b, as_user="alice",
                      check_rc=False).stdout.strip() == "no", "alice may create Services in B")
        apply(policy("tls-ok", f"https://127.0.0.1:{prom_port}", parent_ns=ns_b), as_user="alice")
        apply(policy("tls-wrong-ca", f"https://127.0.0.1:{impostor.port}"), as_user="alice")
        apply(policy("with-password",
                     f"https://alice:{PASSWORD}@127.0.0.1:{free_port()}"), as_user="alice")
        # 4. A serviceRef into B: the API server refuses the field (no namespace in the schema).
        refused = apply(policy("deputy", f"https://127.0.0.1:{prom_port}",
                               extra_backend_ref={"namespace": ns_b}),
                        as_user="alice", check_rc=False)
        check(refused.returncode != 0 and "serviceRef.namespace" in refused.stderr,
              f"a serviceRef.namespace was accepted: {refused.stdout} {refused.stderr}")
        log(f"serviceRef.namespace refused at admission: {refused.stderr.strip()[:200]}")

        op = Operator(binary, work, "operator", kc, ns_a,
                      ["--prometheus-ca-file", os.path.join(work, "prom-ca.crt")])
        operators.append(op)
        wait_for(lambda: " 403" in op.text() or "forbidden" in op.text().lower(), 20,
                 "the no-rights token's 403 in the log")
        time.sleep(2)
        check(not op.ready(), "ready with a token that may not list anything")
        status_of = lambda name: json.loads(kubectl(  # noqa: E731
            "-n", ns_a, "get", "trafficpolicy", name, "-o", "json").stdout).get("status", {})
        check(not status_of("tls-ok"), "a policy got status under the no-rights token")

        # Rotate as the kubelet does: new directory, new ..data link renamed over the old one.
        newdir = "..2026_01_01_00_10_00.2"
        os.makedirs(os.path.join(tokens, newdir))
        with open(os.path.join(tokens, newdir, "token"), "w") as f:
            f.write(token["operator"])
        os.symlink(newdir, os.path.join(tokens, "..data_tmp"))
        swapped = time.monotonic()
        os.rename(os.path.join(tokens, "..data_tmp"), os.path.join(tokens, "..data"))
        shutil.rmtree(os.path.join(tokens, "..2026_01_01_00_00_00.1"))
        wait_for(op.ready, 45, "the operator ready after the token rotation")
        ready_after = time.monotonic() - swapped

        def condition(name, ctype):
            for c in status_of(name).get("conditions", []):
                if c["type"] == ctype:
                    return c
            return None
        wait_for(lambda: (condition("tls-ok", "MetricsAvailable") or {}).get("status") == "True",
                 30, "tls-ok's metrics read from Prometheus over TLS")
        reconciled_after = time.monotonic() - swapped
        log(f"token rotation picked up without restart: ready {ready_after:.1f}s, "
            f"tls-ok reconciled {reconciled_after:.1f}s after the ..data swap (pid "
            f"{op.proc.pid} throughout)")
        check(op.proc.poll() is None, "the operator exited")

        wrong = wait_for(lambda: (c := condition("tls-wrong-ca", "MetricsAvailable")) and
                         c["status"] == "False" and c, 30, "tls-wrong-ca's MetricsAvailable")
        check("certificate verify failed" in wrong["message"] and
              "--prometheus-ca-file" in wrong["message"] and
              wrong["message"].count(f"https://127.0.0.1:{impostor.port}") == 1,
              f"the wrong Prometheus CA is not said clearly: {wrong['message']}")
        log(f"wrong Prometheus CA in status: {wrong['message'][:240]}")
        pw = wait_for(lambda: (c := condition("with-password", "MetricsAvailable")) and
                      c["status"] == "False" and c, 30, "with-password's MetricsAvailable")
        check("REDACTED@127.0.0.1" in pw["message"], f"address not shown redacted: {pw}")

        # 4. Nothing in B: the HTTPRoute stays in A with its parentRef to B's Gateway.
        route = json.loads(kubectl("-n", ns_a, "get", "httproute", "tls-ok", "-o",
                                   "json").stdout)
        check(route["spec"]["parentRefs"][0].get("namespace") == ns_b,
              f"parentRef to B not carried: {route['spec']['parentRefs']}")
        for ref in (r for rule in route["spec"]["rules"] for r in rule["backendRefs"]):
            check(ref.get("namespace", ns_a) == ns_a, f"backendRef outside A: {ref}")
        in_b = kubectl("-n", ns_b, "get", "httproutes,horizontalpodautoscalers,"
                       "backendtrafficpolicies", "-o", "name").stdout.split()
        check(not in_b, f"the operator wrote in B: {in_b}")
        op_requests = [u for u in audit_users(audit) if u[0] == users["operator"]]
        outside = [u for u in op_requests if u[2] and u[2] != ns_a]
        check(op_requests, "no request of the operator's identity in the audit log")
        check(not outside, f"the operator touched another namespace: {outside[:5]}")
        nobody = [u for u in audit_users(audit) if u[0] == users["nobody"]]
        check(nobody and all(u[3] == 403 for u in nobody) and
              all(u[1].startswith("sluice-operator") for u in nobody + op_requests),
              "the audit log does not show one process with both identities")
        log(f"audit log: {len(nobody)} requests as {users['nobody']} (all 403), "
            f"{len(op_requests)} as {users['operator']}, none outside {ns_a}")

        # --- 5. no secret anywhere ----------------------------------------------------------
        endpoints = op.endpoints()
        events = kubectl("-n", ns_a, "get", "events", "-o", "json").stdout
        statuses = json.dumps([status_of(n) for n in ("tls-ok", "tls-wrong-ca", "with-password")])
        op.stop()
        texts = {"wrong-CA operator log": wrong_ca_log, "operator log": op.text(),
                 "Events": events, "status": statuses,
                 **{f"endpoint {k}": v for k, v in {**refused_endpoints, **endpoints}.items()}}
        secrets = {"nobody token": token["nobody"], "operator token": token["operator"],
                   "nobody token signature": token["nobody"].rsplit(".", 1)[-1],
                   "operator token signature": token["operator"].rsplit(".", 1)[-1],
                   "client key": client_key.splitlines()[1],
                   "Prometheus password": PASSWORD, "Authorization header": "Bearer ",
                   "Authorization header name": "Authorization:"}
        log_lines = sum(t.count("\n") for t in texts.values())
        for where, text in texts.items():
            for what, secret in secrets.items():
                check(secret not in text, f"{what} found in {where}")
        # The logs must hold what there was to say (403s, TLS refusals, debug retries), or not
        # finding a secret in them proves nothing.
        check(" 403 Forbidden" in op.text() and "debug [kube] retrying" in wrong_ca_log,
              "the logs do not show the failures they should")
        log(f"no secret in {len(texts)} places ({log_lines} lines; operator logs "
            f"{len(wrong_ca_log.splitlines())} + {len(op.text().splitlines())} lines at "
            f"--log-level=trace), {len(secrets)} secrets looked for")
        log(f"PASS in {time.monotonic() - started:.1f}s")
    except Exception:
        for op in operators:
            lines = op.text().splitlines()[-40:]
            print(f"----- {os.path.basename(op.log_path)} (last {len(lines)} lines) -----",
                  file=sys.stderr)
            print("\n".join(line[:400] for line in lines), file=sys.stderr)
        raise
    finally:
        for op in operators:
            op.stop()
        for s in servers:
            s.stop()
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        for ns in (ns_a, ns_b):
            kubectl("delete", "namespace", ns, "--wait=false", check_rc=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        scenario(sys.argv[1] if len(sys.argv) > 1 else "build")
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
