"""The panel queries of the Sluice Grafana dashboard (charts/sluice/files/dashboards/sluice.json)
with its template variables filled in, for the checks that evaluate them: check_rules.py (each
query must parse, through promtool) and e2e.observability.dashboard (each query must return data
from the local stack's real Prometheus)."""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DASHBOARD = os.path.join(ROOT, "charts", "sluice", "files", "dashboards", "sluice.json")

# Grafana's built-in variables, for Prometheus scraping every second (the local stack):
# $__rate_interval is at least 4 scrape intervals; $__range the dashboard's time range.
BUILTINS = {"__rate_interval": "5s", "__interval": "1s", "__range": "5m"}


def load(path=DASHBOARD):
    with open(path) as f:
        return json.load(f)


def panels(dashboard):
    """Every panel, rows' nested panels included, rows themselves excluded."""
    out = []
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def variable_names(dashboard):
    return {v["name"] for v in dashboard.get("templating", {}).get("list", [])}


def substitute(expr, values):
    """Fills $name, ${name} and ${name:format} from `values` (builtins included); a variable
    with no value raises KeyError naming it."""
    allv = {**BUILTINS, **values}

    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in allv:
            raise KeyError(name)
        return allv[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def queries(dashboard, values):
    """[(panel title, refId, expression with variables filled)] for every target."""
    out = []
    for p in panels(dashboard):
        for t in p.get("targets", []):
            out.append((p.get("title", "?"), t.get("refId", "?"), substitute(t["expr"], values)))
    return out


def label_values_variables(dashboard, values):
    """[(variable name, label, series selector)] for each query variable defined as
    label_values(SELECTOR, LABEL), its own references filled in from `values`."""
    out = []
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", v.get("definition", ""))
        if not m:
            raise ValueError(f"variable {v['name']}: not label_values(SELECTOR, LABEL): "
                             f"{v.get('definition')!r}")
        out.append((v["name"], m.group(2), substitute(m.group(1), values)))
    return out
