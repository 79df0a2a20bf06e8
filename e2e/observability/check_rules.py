#!/usr/bin/env python3
"""CTest alerts.promtool-check (label unit): the alerts and the dashboard, offline.

1. `promtool check rules charts/sluice/files/alerts.yaml`.
2. `promtool test rules e2e/observability/alerts_test.yaml`: synthetic series make every alert
   fire, and stay silent when healthy.
3. Every alert has a severity label, summary, description and a runbook_url naming a section of
   docs/runbooks.md that exists, and alerts_test.yaml has at least one case where it fires and
   one where it must not.
4. charts/sluice/files/dashboards/sluice.json is what gen_dashboard.py generates; every panel
   reads the ${datasource} variable; ids are unique; every panel query, its variables filled
   in, parses as PromQL (promtool check rules on them as recording rules).

Every failure is listed before the exit status 1."""
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dashboard_queries  # noqa: E402

ROOT = dashboard_queries.ROOT
ALERTS = os.path.join(ROOT, "charts", "sluice", "files", "alerts.yaml")
TESTS = os.path.join(HERE, "alerts_test.yaml")
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks.md")
SEVERITIES = {"critical", "warning", "info"}

failures = []


def fail(msg):
    failures.append(msg)


def promtool(*args, cwd=None):
    p = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd)
    return p.returncode, (p.stdout + p.stderr).strip()


def github_anchor(heading):
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def check_promtool():
    rc, out = promtool("check", "rules", ALERTS)
    if rc != 0:
        fail(f"promtool check rules {os.path.relpath(ALERTS, ROOT)}:\n{out}")
    rc, out = promtool("test", "rules", os.path.basename(TESTS), cwd=HERE)
    if rc != 0:
        fail(f"promtool test rules {os.path.relpath(TESTS, ROOT)}:\n{out}")


def check_rule_metadata():
    with open(ALERTS) as f:
        groups = yaml.safe_load(f)["groups"]
    with open(RUNBOOKS) as f:
        anchors = {github_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", f.read(), re.M)}
    with open(TESTS) as f:
        tests = yaml.safe_load(f)["tests"]
    fires, silent = set(), set()
    for t in tests:
        for case in t.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    names = []
    for g in groups:
        for r in g["rules"]:
            name = r.get("alert")
            if not name:
                continue
            names.append(name)
            sev = r.get("labels", {}).get("severity")
            if sev not in SEVERITIES:
                fail(f"{name}: severity label {sev!r} is not one of {sorted(SEVERITIES)}")
            ann = r.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key, "").strip():
                    fail(f"{name}: no {key} annotation")
            url = ann.get("runbook_url", "")
            m = re.fullmatch(r"docs/runbooks\.md#([\w-]+)", url)
            if not m:
                fail(f"{name}: runbook_url {url!r} is not docs/runbooks.md#<section>")
            elif m.group(1) not in anchors:
                fail(f"{name}: runbook_url {url!r}: docs/runbooks.md has no section with that "
                     f"anchor (sections: {sorted(anchors)})")
            elif m.group(1) != name.lower():
                fail(f"{name}: runbook_url {url!r} should point at the section #{name.lower()}")
            if name not in fires:
                fail(f"{name}: {os.path.relpath(TESTS, ROOT)} never expects it to fire")
            if name not in silent:
                fail(f"{name}: {os.path.relpath(TESTS, ROOT)} never expects it to stay silent")
    if len(names) != len(set(names)):
        fail(f"duplicate alert names: {names}")
    for name in sorted((fires | silent) - set(names)):
        fail(f"{os.path.relpath(TESTS, ROOT)} tests {name}, which alerts.yaml does not define")
    return names


def check_dashboard():
    p = subprocess.run([sys.executable, os.path.join(HERE, "gen_dashboard.py"), "--check"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail(p.stderr.strip() or p.stdout.strip())
    d = dashboard_queries.load()
    want_vars = {"datasource", "namespace", "name", "job"}
    have = dashboard_queries.variable_names(d)
    if not want_vars <= have:
        fail(f"dashboard template variables {sorted(have)} lack {sorted(want_vars - have)}")
    dsvar = [v for v in d["templating"]["list"] if v["name"] == "datasource"]
    if dsvar and (dsvar[0].get("type"), dsvar[0].get("query")) != ("datasource", "prometheus"):
        fail(f"the datasource variable is not of type datasource/prometheus: {dsvar[0]}")
    ids = [p["id"] for p in d["panels"]]
    if len(ids) != len(set(ids)):
        fail(f"dashboard panel ids are not unique: {ids}")
    panels = dashboard_queries.panels(d)
    for p in panels:
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"panel {p.get('title')!r}: datasource {p.get('datasource')} is not ${{datasource}}")
        if not p.get("targets"):
            fail(f"panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                fail(f"panel {p.get('title')!r} {t.get('refId')}: datasource is not ${{datasource}}")
    try:
        qs = dashboard_queries.queries(d, {"datasource": "prometheus", "namespace": "shop",
                                          "name": "checkout|pay", "job": ".*sluice.*"})
    except KeyError as e:
        fail(f"a dashboard query uses the variable ${e.args[0]}, which is not defined")
        return 0
    try:
        # A variable's series selector parses when count(selector) does.
        qs += [(f"variable ${v}", label, f"count({sel})") for v, label, sel in
               dashboard_queries.label_values_variables(d, {"namespace": "shop"})]
    except ValueError as e:
        fail(str(e))
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{i}", "expr": q} for i, (_, _, q) in enumerate(qs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        rc, out = promtool("check", "rules", path)
        if rc != 0:
            # Name the panels whose query promtool refused.
            bad = [f"  {title} ({ref}): {q}" for i, (title, ref, q) in enumerate(qs)
                   if f"dashboard:panel_{i}" in out or f"panel_{i}\"" in out]
            fail("dashboard queries that do not parse:\n" + ("\n".join(bad) or out) +
                 f"\npromtool: {out}")
    finally:
        os.unlink(path)
    return len(qs)


def main():
    for tool in ("promtool",):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print(f"alerts.promtool-check: {tool} not found (Debian package prometheus; "
                  "scripts/install-deps.sh installs it)", file=sys.stderr)
            sys.exit(1)
    check_promtool()
    names = check_rule_metadata()
    n = check_dashboard()
    if failures:
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
        print(f"alerts.promtool-check: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print(f"alerts.promtool-check: {len(names)} alerts checked and unit-tested by promtool; "
          f"{n} dashboard queries (panels and variables) parse")


if __name__ == "__main__":
    main()
