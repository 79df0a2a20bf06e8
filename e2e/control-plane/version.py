#!/usr/bin/env python3
"""e2e.control-plane.version: the control plane under the tests is the real thing at the pinned
release. The API server process is kube-apiserver and /version reports the release it was
built from (K8S_VERSION, or the one pinned in e2e/k8s/go.mod); anonymous requests are refused
(TLS client auth and RBAC are on); a ServiceAccount token from the TokenRequest API
authenticates and is judged by RBAC; kubectl and helm are the pinned builds. Prints each part's
start time and RSS."""
import json
import os
import re
import subprocess
import sys
import urllib.request
import ssl

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def main():
    cluster = os.environ.get("SLUICE_CLUSTER_DIR")
    if not cluster:
        print("SKIP: no local control plane (SLUICE_CLUSTER_DIR unset)")
        return
    env = {}
    with open(os.path.join(cluster, "env")) as f:
        for line in f:
            if line.startswith("export ") and "$" not in line:
                k, _, v = line[7:].strip().partition("=")
                env[k] = v
    kubectl = os.path.join(env["K8S_BIN"], "kubectl")
    kc = ["--kubeconfig", os.path.join(cluster, "kubeconfig")]

    with open(os.path.join(ROOT, "e2e", "k8s", "go.mod")) as f:
        pinned = re.search(r"k8s\.io/kubernetes (v[0-9.]+)", f.read()).group(1)
    want = os.environ.get("K8S_VERSION") or pinned
    v = json.loads(subprocess.run([kubectl, *kc, "version", "-o", "json"], check=True,
                                  capture_output=True, text=True).stdout)
    server, client = v["serverVersion"]["gitVersion"], v["clientVersion"]["gitVersion"]
    if server != want or client != want:
        fail(f"kube-apiserver {server}, kubectl {client}; want {want}")
    with open(os.path.join(cluster, "pids", "kube-apiserver.pid")) as f:
        pid = f.read().strip()
    with open(f"/proc/{pid}/comm") as f:
        comm = f.read().strip()
    if comm != "kube-apiserver":
        fail(f"the API server process is {comm}, not kube-apiserver")
    helm = subprocess.run([os.path.join(env["K8S_BIN"], "helm"), "version", "--short"],
                          check=True, capture_output=True, text=True).stdout.strip()

    # No credentials: 401 (authentication is on; anonymous gets nothing).
    ctx = ssl.create_default_context(cafile=os.path.join(cluster, "pki", "ca.crt"))
    try:
        urllib.request.urlopen(env["APISERVER_URL"] + "/api/v1/namespaces", context=ctx, timeout=5)
        fail("an anonymous request listed namespaces")
    except urllib.error.HTTPError as e:
        if e.code not in (401, 403):
            fail(f"anonymous request answered {e.code}")
        anon = e.code
    # A fresh ServiceAccount's token authenticates and RBAC refuses what it was not granted.
    ns = f"version-check-{os.getpid()}"
    subprocess.run([kubectl, *kc, "create", "namespace", ns], check=True, capture_output=True)
    try:
        subprocess.run([kubectl, *kc, "-n", ns, "create", "serviceaccount", "probe"], check=True,
                       capture_output=True)
        token = subprocess.run([kubectl, *kc, "-n", ns, "create", "token", "probe"], check=True,
                               capture_output=True, text=True).stdout.strip()
        req = urllib.request.Request(env["APISERVER_URL"] + f"/api/v1/namespaces/{ns}/secrets",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            urllib.request.urlopen(req, context=ctx, timeout=5)
            fail("a ServiceAccount with no role listed Secrets")
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            if e.code != 403 or f"system:serviceaccount:{ns}:probe" not in body:
                fail(f"want 403 naming the ServiceAccount, got {e.code}: {body}")
    finally:
        subprocess.run([kubectl, *kc, "delete", "namespace", ns, "--wait=false"],
                       capture_output=True)
    stats = subprocess.run([os.path.join(ROOT, "e2e", "k8s", "cluster.sh"), "stats", cluster],
                           capture_output=True, text=True).stdout
    print(f"kube-apiserver {server} (process {comm}), kubectl {client}, helm {helm}; "
          f"anonymous: {anon}; ServiceAccount without a role: 403")
    print(stats.strip())
    print("PASS")


if __name__ == "__main__":
    main()
