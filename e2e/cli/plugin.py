#!/usr/bin/env python3
"""e2e.cli.plugin: `kubectl sluice` (operator/plugin) through the real kubectl's plugin
mechanism (kubectl-sluice found on PATH) against the real control plane, the real operator and
real traffic, with its exit codes and output text checked:

  get        the stack's rollout (Progressing, step 1/6, 5 % canary), a TrafficPolicy and a
             TierLimit; -o name (the same names as kubectl's own -o name), `get cr -A`
             (NAMESPACE column), an unknown kind (exit 2)
  status     the step, its progress bar, each analysis metric with value, threshold and
             verdict, the time to the next step, Events; tp/NAME and tl/NAME; a missing object
             (exit 1, "not found")
  --watch    in a real terminal (tmux): the screen is drawn, and after `kubectl sluice promote`
             redrawn in place with Succeeded and 100 % (the scrollback holds no stacked copies);
             piped: one plain, timestamped line per change across pause and resume
  verbs      pause, pause again (3), resume, resume a running rollout (3), abort (RolledBack),
             retry (Progressing), promote a Succeeded rollout (3), --region on a rollout
             without regions (3), --no-wait, and --timeout with the operator stopped (5)
  completion `kubectl __complete sluice ...` (kubectl >= 1.26 runs kubectl_complete-sluice) lists
             the commands and the rollouts; `completion bash` is valid bash
  render     samples/ rendered offline and accepted by the real API server (server dry run:
             HTTPRoute, BackendTrafficPolicy, HPA, ConfigMap; the stack installs the Gateway API
             and Envoy Gateway CRDs); every samples/invalid file refused (exit 4) naming its
             `# reject-field`; a missing path; --help with Examples and Exit codes
"""
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "canary"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tierlimit"))

from sluice_e2e import ROOT, Stack, check, log, main, wait_for  # noqa: E402
import tl_e2e as tl  # noqa: E402

HOST = "payment.cli.local"
HOST_TWO = "payment-two.cli.local"
POLICY_HOST = "checkout.cli.local"
TIERS = [{"name": "premium", "requestsPerSecond": 100, "burst": 200, "priority": 1},
         {"name": "free", "requestsPerSecond": 10, "burst": 20, "priority": 3}]
ESC = "\x1b"


class Cli:
    """`kubectl sluice ...` with the real kubectl, the plugin first on PATH."""

    def __init__(self, s):
        self.s = s
        self.ns = s.env["NAMESPACE"]
        self.plugin_dir = os.path.join(s.build_dir, "operator", "plugin")
        self.kubectl_bin = os.path.join(s.env["K8S_BIN"], "kubectl")
        self.env = dict(os.environ, KUBECONFIG=s.env["KUBECONFIG"], LANG="C.UTF-8",
                        PATH=os.pathsep.join([self.plugin_dir, s.env["K8S_BIN"],
                                              os.environ.get("PATH", "")]))
        check(os.access(os.path.join(self.plugin_dir, "kubectl-sluice"), os.X_OK),
              f"{self.plugin_dir}/kubectl-sluice is not built")

    def run(self, *args, stdin=None, timeout=60, namespace=True):
        """kubectl sluice ARGS -n NS: (exit code, stdout, stderr, seconds)."""
        argv = [self.kubectl_bin, "sluice", *args] + (["-n", self.ns] if namespace else [])
        start = time.monotonic()
        p = subprocess.run(argv, env=self.env, input=stdin, text=True, capture_output=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - start

    def expect(self, code, *args, out=(), err=(), **kw):
        """Runs kubectl sluice ARGS, checks the exit code and that stdout contains each of
        `out` and stderr each of `err`; returns stdout."""
        rc, stdout, stderr, took = self.run(*args, **kw)
        what = f"kubectl sluice {' '.join(args)}"
        check(rc == code, f"{what}: exit {rc}, expected {code}\nstdout:\n{stdout}\n"
              f"stderr:\n{stderr}")
        for text in out:
            check(text in stdout, f"{what}: stdout lacks {text!r}:\n{stdout}")
        for text in err:
            check(text in stderr, f"{what}: stderr lacks {text!r}:\n{stderr}")
        return stdout

    def kubectl(self, *args, stdin=None):
        return subprocess.run([self.kubectl_bin, *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=60)

    def phase(self, name):
        return self.s.kubectl("get", "canaryrollout", name, "-n", self.ns, "-o",
                              "jsonpath={.status.phase}").stdout


def rows(table):
    """A kubectl-style table as lists of cells (columns are separated by 3+ spaces)."""
    return [re.split(r" {3,}", line.strip()) for line in table.splitlines() if line.strip()]


def row_of(table, name):
    found = [r for r in rows(table) if name in r]
    check(len(found) == 1, f"expected one row for {name}:\n{table}")
    return found[0]


def status_of(st, kind):
    return next((c for c in st.get("conditions", []) if c["type"] == kind), {})


def offline_checks(c):
    """What needs no cluster: render, completion script, help."""
    samples = os.path.join(ROOT, "samples")
    rc, rendered, stderr, _ = c.run("render", "-f", samples + "/")
    check(rc == 0, f"render -f samples/: exit {rc}: {stderr}")
    kinds = sorted(set(re.findall(r"^kind: (\S+)$", rendered, re.M)))
    check(kinds == ["BackendTrafficPolicy", "ConfigMap", "HTTPRoute", "HorizontalPodAutoscaler"],
          f"render -f samples/ wrote kinds {kinds}")
    docs = len(re.findall(r"^kind: ", rendered, re.M))
    check(f"# Source: CanaryRollout {c.ns}/payment-api\n" in rendered,
          f"render: no '# Source:' comment naming the rollout:\n{rendered[:2000]}")
    p = c.kubectl("apply", "--dry-run=server", "-n", c.ns, "-f", "-", stdin=rendered)
    check(p.returncode == 0, f"the API server refused the rendered objects: {p.stderr}")
    accepted = [line for line in p.stdout.splitlines() if line.endswith("(server dry run)")]
    check(len(accepted) == docs, f"{docs} rendered objects, {len(accepted)} accepted by the "
          f"server:\n{p.stdout}")
    log(f"render -f samples/: {docs} objects ({', '.join(kinds)}) accepted by kube-apiserver "
        "(server dry run)")

    invalid = os.path.join(samples, "invalid")
    files = sorted(f for f in os.listdir(invalid) if f.endswith(".yaml"))
    check(files, "no samples/invalid/*.yaml")
    for f in files:
        path = os.path.join(invalid, f)
        with open(path) as fh:
            field = re.search(r"^# reject-field: (\S+)", fh.read(), re.M)
        check(field, f"{f} has no # reject-field line")
        c.expect(4, "render", "-f", path, err=(field.group(1),))
    log(f"render refused all {len(files)} samples/invalid files (exit 4), naming each "
        "reject-field")
    c.expect(4, "render", "-f", "/no/such", err=("/no/such: no such file or directory",))
    c.expect(2, "render", err=("--filename",))

    for args in (("--help",), ("render", "--help"), ("promote", "--help")):
        c.expect(0, *args, out=("Example", "Exit codes:", "5  the operator did not act"),
                 namespace=False)
    script = c.expect(0, "completion", "bash", out=("complete -F",), namespace=False)
    p = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    check(p.returncode == 0, f"completion bash is not valid bash: {p.stderr}")
    c.expect(2, "completion", "fish", namespace=False)


def completion_checks(c):
    """The real kubectl's completion of plugin arguments (kubectl_complete-sluice on PATH)."""
    p = c.kubectl("__complete", "sluice", "sta")
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and "status" in lines and lines[-1].startswith(":"),
          f"kubectl __complete sluice sta: {p.returncode} {p.stdout!r} {p.stderr[-500:]!r}")
    check("get" not in lines, f"kubectl __complete sluice sta offers get: {lines}")
    p = c.kubectl("__complete", "sluice", "status", "")
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and "cli" in lines and "cli-two" in lines and "tp/" in lines,
          f"kubectl __complete sluice status '': {p.stdout!r} {p.stderr[-500:]!r}")
    p = c.kubectl("__complete", "sluice", "status", "tp/")
    check("tp/cli-tp" in p.stdout.splitlines(),
          f"kubectl __complete sluice status tp/: {p.stdout!r} {p.stderr[-500:]!r}")
    log("kubectl __complete sluice: commands, rollout names and tp/NAME")


class Pipe:
    """`kubectl sluice status NAME --watch` with stdout to a pipe; lines as they come."""

    def __init__(self, c, name):
        argv = [c.kubectl_bin, "sluice", "status", name, "--watch", "--interval", "1s", "-n",
                c.ns]
        self.p = subprocess.Popen(argv, env=c.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.raw = b""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for chunk in iter(lambda: self.p.stdout.readline(), b""):
            with self.lock:
                self.raw += chunk

    def lines(self):
        with self.lock:
            return self.raw.decode(errors="replace").splitlines()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=10)
        self.thread.join(timeout=5)
        return self.p.stderr.read().decode(errors="replace")


class Tmux:
    """A real terminal: a tmux server on a socket of its own, 120x45."""

    def __init__(self, c):
        self.c = c
        self.socket = f"sluice-cli-{os.getpid()}"

    def tmux(self, *args):
        p = subprocess.run(["tmux", "-u", "-L", self.socket, *args], env=self.c.env, text=True,
                           capture_output=True, timeout=20)
        check(p.returncode == 0, f"tmux {' '.join(args)}: {p.stderr}")
        return p.stdout

    def start(self, command):
        env = " ".join(f"{k}={shlex.quote(self.c.env[k])}" for k in ("PATH", "KUBECONFIG",
                                                                       "LANG"))
        # A failed plugin leaves its message (and exit code) on the screen.
        self.tmux("new-session", "-d", "-x", "120", "-y", "45",
                  f"env {env} {command}; echo EXITED $?; sleep 60")

    def screen(self):
        return self.tmux("capture-pane", "-p")

    def history(self):
        return self.tmux("capture-pane", "-p", "-S", "-")

    def kill(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=20)


def scenario(build_dir):
    started = time.monotonic()
    with Stack(build_dir, "cli") as s:
        c = Cli(s)
        ns = c.ns
        log(f"stack up in {time.monotonic() - started:.1f}s")
        # The main rollout under traffic, a second one without (its piped lines stay the same
        # until something changes), a TrafficPolicy with a TierLimit; 10 minutes a step.
        s.start_canary("cli", HOST, "10m", rate=160)  # 8 req/s on the canary: minRequests 5 a second
        s.apply_template("rollout.yaml.tmpl", ROLLOUT_NAME="cli-two", HOSTNAME=HOST_TWO,
                         STEP_INTERVAL="10m", MIN_REQUESTS="5")
        tl.services(s)
        tl.traffic_policy(s, "cli-tp", POLICY_HOST)
        tl.tier_limit(s, "cli-tl", "cli-tp", TIERS)

        t = time.monotonic()
        offline_checks(c)
        log(f"offline checks (render, help, completion script) in {time.monotonic() - t:.1f}s")

        # Analysis has passed with values for both metrics (the first runs, while traffic
        # starts, may be Inconclusive: too few requests).
        def analysed(st):
            metrics = st.get("analysis", {}).get("metrics", [])
            return (st.get("phase") == "Progressing" and st.get("canaryWeight") == 5 and
                    all(any(m.get("name") == n and "value" in m and m.get("result") == "Pass"
                            for m in metrics)
                        for n in ("error-rate", "latency-p99")))
        st = s.wait_status("cli", analysed, 40,
                           "rollout cli Progressing at 5 % with both metrics passing")
        s.wait_status("cli-two", lambda st: st.get("phase") == "Progressing", 20,
                      "cli-two Progressing")
        tl.wait_enforced(s, "cli-tl", timeout=30)
        wait_for(lambda: status_of(tl.get(s, "trafficpolicy", "cli-tp").get("status", {}),
                                   "Ready").get("status") == "True", 30, "cli-tp Ready")
        log(f"objects ready at {time.monotonic() - started:.1f}s")

        # --- get -------------------------------------------------------------------------
        out = c.expect(0, "get")
        check(rows(out)[0] == ["NAME", "STATUS", "HEALTH", "DETAIL", "AGE"],
              f"get: header {rows(out)[0]}")
        r = row_of(out, "canaryrollout/cli")
        check(r[1:4] == ["Progressing", "Progressing", "step 1/6, 5% canary"], f"get: {r}")
        r = row_of(out, "trafficpolicy/cli-tp")
        check(r[1:3] == ["Ready", "Healthy"] and r[3].startswith("1/1 backends healthy"),
              f"get: {r}")
        r = row_of(out, "tierlimit/cli-tl")
        check(r[1:3] == ["Ready", "Healthy"], f"get: {r}")
        check(len(rows(out)) == 5, f"get: expected 4 objects:\n{out}")
        names = sorted(c.expect(0, "get", "-o", "name").split())
        kubectl_names = sorted(s.kubectl("get", "canaryrollouts,trafficpolicies,tierlimits",
                                         "-n", ns, "-o", "name").stdout.split())
        check(names == kubectl_names and len(names) == 4,
              f"get -o name {names} != kubectl get -o name {kubectl_names}")
        out = c.expect(0, "get", "cr", "-A", namespace=False)
        check(rows(out)[0][:2] == ["NAMESPACE", "NAME"], f"get cr -A: header {rows(out)[0]}")
        mine = [r for r in rows(out)[1:] if r[0] == ns]
        check(sorted(r[1] for r in mine) == ["canaryrollout/cli", "canaryrollout/cli-two"] and
              all(r[1].startswith("canaryrollout/") for r in rows(out)[1:]),
              f"get cr -A:\n{out}")
        c.expect(2, "get", "bogus", err=('unknown kind "bogus"',))
        c.expect(2, "get", "-o", "wat", err=("--output wat",))
        log("get: table, -o name, cr -A, unknown kind")

        # --- status ----------------------------------------------------------------------
        out = c.expect(0, "status", "cli", out=(
            f"CanaryRollout {ns}/cli   Progressing (Progressing)",
            "Canary:   payment-api-canary   Stable: payment-api-stable",
            "Step:     1/6   [", "] 5% canary", "(step interval 10m)"))
        check(re.search(r"^Next step: in (9m\d*s?|10m)", out, re.M),
              f"status: no time to next step:\n{out}")
        check(re.search(r"^Analysis \(last run \d+s ago, 0/2 failures\):", out, re.M),
              f"status: no analysis header:\n{out}")
        measured = {m["name"]: m for m in st["analysis"]["metrics"]}
        for metric, threshold in (("error-rate", "<= 0.05"), ("latency-p99", "<= 500")):
            line = next((ln for ln in out.splitlines() if ln.strip().startswith(metric)), "")
            cells = re.split(r" {3,}", line.strip())
            check(len(cells) == 4 and cells[2] == threshold and cells[3].startswith("Pass") and
                  re.fullmatch(r"[0-9.e+-]+", cells[1]),
                  f"status: metric {metric} row {cells}:\n{out}")
            check(measured[metric]["result"] == "Pass", f"{metric} not Pass: {measured}")
        check(re.search(r"^Events \(last \d+\):", out, re.M), f"status: no Events:\n{out}")
        check(ESC not in out, "status (not a terminal) wrote escape codes")
        c.expect(0, "status", "tp/cli-tp", out=(f"TrafficPolicy {ns}/cli-tp   Ready (Healthy)",
                                               "Backends:", "eastus", "Shift: none"))
        c.expect(0, "status", "tierlimit", "cli-tl", out=(
            f"TierLimit {ns}/cli-tl   Ready (Healthy)", "Tiers:", "premium", "free",
            "RateLimitsEnforced"))
        c.expect(0, "status", "tl/cli-tl", out=(f"TierLimit {ns}/cli-tl",))
        c.expect(1, "status", "nosuch", err=("not found",))
        c.expect(2, "status", "bogus/x", err=('unknown kind "bogus"',))
        log("status: rollout (step, bar, metrics, next step, events), tp/, tl/, not found")

        completion_checks(c)

        # --- piped watch across pause and resume (cli-two), and the verbs ----------------
        pipe = Pipe(c, "cli-two")
        try:
            wait_for(lambda: any(" Progressing " in ln for ln in pipe.lines()), 10,
                     "the piped watch's first line")
            c.expect(3, "resume", "cli-two", err=("is not paused",))
            c.expect(0, "pause", "cli-two", out=("pause done", " Paused "))
            check(c.phase("cli-two") == "Paused", "pause done but the phase is not Paused")
            c.expect(3, "pause", "cli-two", err=("already paused",))
            wait_for(lambda: any(" Paused " in ln for ln in pipe.lines()), 10,
                     "the piped watch to print Paused")
            c.expect(0, "resume", "cli-two", out=("resume done", " Progressing "))
            check(c.phase("cli-two") == "Progressing", "resume done but not Progressing")
            wait_for(lambda: " Progressing " in pipe.lines()[-1] and len(pipe.lines()) >= 3, 10,
                     "the piped watch to print Progressing again")
            time.sleep(2)  # two more polls with nothing changing: no new line
        finally:
            err = pipe.stop()
        lines = pipe.lines()
        log(f"piped watch printed {len(lines)} lines")
        for ln in lines:
            log(f"  | {ln}")
        check(ESC.encode() not in pipe.raw, f"piped watch wrote escape codes: {pipe.raw!r}")
        prefix = re.compile(rf"^\d\d:\d\d:\d\d CanaryRollout {re.escape(ns)}/cli-two ")
        check(lines and all(prefix.match(ln) for ln in lines), f"piped lines: {lines} {err}")
        check(all(a != b for a, b in zip(lines, lines[1:])),
              f"piped watch repeated a line (one line per change): {lines}")
        phases = [ln.split()[3] for ln in lines]
        compressed = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
        check(compressed == ["Progressing", "Paused", "Progressing"],
              f"piped phases {phases}")
        check(any("Paused Suspended step 1/6, 5% canary" in ln for ln in lines),
              f"piped: no paused line: {lines}")

        c.expect(0, "abort", "cli-two", out=("abort done", " RolledBack "))
        check(c.phase("cli-two") == "RolledBack", "abort done but not RolledBack")
        c.expect(3, "abort", "cli-two", err=("already RolledBack",))
        c.expect(3, "pause", "cli-two", err=("no step to pause",))
        c.expect(3, "promote", "cli-two", err=("retry",))
        c.expect(0, "status", "cli-two", out=("Rolled back: kubectl sluice retry cli-two",))
        c.expect(0, "retry", "cli-two", out=("retry done", " Progressing "))
        check(c.phase("cli-two") == "Progressing", "retry done but not Progressing")
        c.expect(3, "retry", "cli-two", err=("applies only to a rolled-back rollout",))
        c.expect(3, "promote", "cli-two", "--region", "us-east",
                 err=("--region us-east: rollout cli-two has no spec.regions",))
        rc, out, err, took = c.run("pause", "cli-two", "--no-wait")
        check(rc == 0 and "pause requested" in out and "done" not in out and took < 5,
              f"pause --no-wait: exit {rc} in {took:.1f}s: {out} {err}")
        s.wait_status("cli-two", lambda st: st.get("phase") == "Paused", 20,
                      "Paused after pause --no-wait")
        c.expect(0, "resume", "cli-two", out=("resume done",))
        c.expect(2, "promote", "cli-two", "--timeout", "soon", err=("--timeout soon",))
        c.expect(2, "promote", "tp/cli-tp", err=("CanaryRollouts only",))
        c.expect(1, "promote", "nosuch", err=("not found",))
        log("verbs: pause/resume/abort/retry with preconditions, --region, --no-wait")

        # --- a real terminal: status --watch redrawn in place across promote -------------
        term = Tmux(c)
        header = f"CanaryRollout {ns}/cli   "
        try:
            term.start(f"kubectl sluice status cli --watch --interval 1s -n {ns}")
            screen = wait_for(lambda: (lambda sc: "Step:" in sc and sc)(term.screen()), 10,
                              "the watch screen in tmux")
            check(screen.startswith(header + "Progressing") and "] 5% canary" in screen and
                  "█" in screen and "watching every 1s" in screen and "Analysis" in screen,
                  f"tmux screen before promote:\n{screen}")
            check(ESC not in screen, "escape codes shown on the screen")
            before = term.screen()
            time.sleep(1.5)  # a few redraws before the promote
            out = c.expect(0, "promote", "cli", out=("promote done", " Succeeded "))
            log(f"promote: {out.strip()}")
            t = time.monotonic()
            screen = wait_for(lambda: (lambda sc: "Succeeded" in sc and sc)(term.screen()), 5,
                              "tmux to show Succeeded")
            log(f"tmux showed Succeeded {time.monotonic() - t:.1f}s after promote returned")
            check(screen.startswith(header + "Succeeded (Healthy)"),
                  f"the screen does not start with the header:\n{screen}")
            check("] 100% canary" in screen and "Next step:" not in screen and
                  "Progressing (Progressing)" not in screen and "EXITED" not in screen,
                  f"tmux screen after promote:\n{screen}\nbefore:\n{before}")
            history = term.history()
            copies = history.count(header)
            check(copies == 1, f"the watch was not redrawn in place: {copies} copies of the "
                  f"header in the terminal's scrollback:\n{history}")
            log("tmux: drawn, then redrawn in place with Succeeded 100 % (one header in the "
                "scrollback)")
        finally:
            term.kill()
        c.expect(3, "promote", "cli", err=("already Succeeded",))
        c.expect(3, "resume", "cli", err=("is not paused",))

        # --- the operator stopped: the request stays, --timeout expires -------------------
        s.stack("operator-stop")
        rc, out, err, took = c.run("abort", "cli-two", "--timeout", "3s")
        check(rc == 5 and "has not acted on it within 3s" in err and 3 <= took < 10,
              f"abort --timeout 3s with the operator stopped: exit {rc} in {took:.1f}s: {err}")
        ann = s.kubectl("get", "canaryrollout", "cli-two", "-n", ns, "-o",
                        "jsonpath={.metadata.annotations.sluice\\.dev/abort}").stdout
        check(ann == "true", f"the abort request is not on the object: {ann!r}")
        log(f"--timeout 3s with the operator stopped: exit 5 after {took:.1f}s")
    log(f"scenario in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main(scenario)
