#!/usr/bin/env python3
"""The Grafana dashboard as code: writes charts/sluice/files/dashboards/sluice.json (the chart's
dashboard ConfigMap ships that file). `--check` fails when the committed JSON differs from what
this script generates (CTest alerts.promtool-check runs it).

Every panel query uses the template variables ${datasource} (a Prometheus data source),
$namespace and $name (the objects'; All is the regex .*) and $job (the operator's scrape job,
a regex, default .*sluice.*), and Grafana's $__rate_interval. e2e.observability.dashboard
evaluates every query against the local stack's real Prometheus.

    python3 e2e/observability/gen_dashboard.py          # regenerate
    python3 e2e/observability/gen_dashboard.py --check  # committed JSON up to date?
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "charts", "sluice", "files", "dashboards", "sluice.json")

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'namespace=~"$namespace", name=~"$name"'
OP = 'job=~"$job"'


class Layout:
    """Places panels left to right, 24 columns wide, and hands out ids."""

    def __init__(self):
        self.panels, self.next_id, self.x, self.y, self.row_h = [], 1, 0, 0, 0

    def _id(self):
        self.next_id += 1
        return self.next_id - 1

    def row(self, title):
        if self.x:
            self.y += self.row_h
        self.panels.append({"type": "row", "id": self._id(), "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1
        self.x, self.row_h = 0, 0

    def add(self, panel, w, h=8):
        if self.x + w > 24:
            self.y += self.row_h
            self.x, self.row_h = 0, 0
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)


def targets(*queries):
    """(expr, legend) pairs -> Grafana targets A, B, ..."""
    return [{"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend,
             "range": True, "instant": False}
            for i, (expr, legend) in enumerate(queries)]


def timeseries(title, description, queries, unit="short", min_=None, max_=None, stack=False,
               overrides=(), decimals=None, draw="line"):
    defaults = {"unit": unit, "custom": {"drawStyle": draw, "lineWidth": 1, "fillOpacity": 10,
                                         "showPoints": "never", "spanNulls": False,
                                         "stacking": {"mode": "normal" if stack else "none",
                                                      "group": "A"}},
                "color": {"mode": "palette-classic"}}
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"type": "timeseries", "title": title, "description": description, "datasource": DS,
            "targets": targets(*queries),
            "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
            "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def state_timeline(title, description, queries, mappings):
    return {"type": "state-timeline", "title": title, "description": description,
            "datasource": DS, "targets": targets(*queries),
            "fieldConfig": {"defaults": {"mappings": mappings, "color": {"mode": "thresholds"},
                                         "thresholds": {"mode": "absolute", "steps": [
                                             {"color": "red", "value": None},
                                             {"color": "green", "value": 1}]}},
                            "overrides": []},
            "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.8,
                        "legend": {"displayMode": "list", "placement": "bottom"}}}


def stat(title, description, queries, unit="short", thresholds=None):
    steps = thresholds or [{"color": "green", "value": None}]
    return {"type": "stat", "title": title, "description": description, "datasource": DS,
            "targets": targets(*queries),
            "fieldConfig": {"defaults": {"unit": unit, "color": {"mode": "thresholds"},
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False},
                        "colorMode": "value", "graphMode": "area", "textMode": "value_and_name",
                        "justifyMode": "auto", "orientation": "auto"}}


def dashed(regex):
    """An override drawing the series whose name matches `regex` as a dashed line."""
    return {"matcher": {"id": "byRegexp", "options": regex},
            "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                           {"id": "custom.fillOpacity", "value": 0}]}


def build():
    L = Layout()

    L.row("CanaryRollouts")
    L.add(timeseries(
        "Canary weight", "Percent of traffic on the canary (sluice_canary_weight), per rollout.",
        [(f"max by (namespace, name) (sluice_canary_weight{{{SEL}}})", "{{namespace}}/{{name}}")],
        unit="percent", min_=0, max_=100), 8)
    L.add(timeseries(
        "Canary step", "Current step (1-based, sluice_canary_step) of the rollout's step count "
        "(sluice_canary_steps, dashed).",
        [(f"max by (namespace, name) (sluice_canary_step{{{SEL}}})", "{{namespace}}/{{name}} step"),
         (f"max by (namespace, name) (sluice_canary_steps{{{SEL}}})",
          "{{namespace}}/{{name}} of steps")],
        min_=0, decimals=0, overrides=[dashed(".* of steps")]), 8)
    L.add(state_timeline(
        "Canary phase", "The phase each rollout is in (sluice_canary_phase == 1).",
        [(f"max by (namespace, name, phase) (sluice_canary_phase{{{SEL}}}) == 1",
          "{{namespace}}/{{name}} {{phase}}")],
        [{"type": "value", "options": {"1": {"text": "current"}}}]), 8)
    L.add(timeseries(
        "Analysis metrics against thresholds", "The last value of each analysis metric "
        "(sluice_canary_analysis_value) and its thresholdRange bounds (dashed: "
        "sluice_canary_analysis_threshold, bound min or max).",
        [(f"max by (namespace, name, metric) (sluice_canary_analysis_value{{{SEL}}})",
          "{{name}} {{metric}}"),
         (f"max by (namespace, name, metric, bound) (sluice_canary_analysis_threshold{{{SEL}}})",
          "{{name}} {{metric}} {{bound}} bound")],
        overrides=[dashed(".* bound")]), 12)
    L.add(state_timeline(
        "Analysis inconclusive", "1 while the rollout's last analysis was inconclusive (too few "
        "requests, or a query without data); SluiceCanaryStuckInconclusive fires after 10 "
        "minutes of it.",
        [(f"max by (namespace, name) (sluice_canary_analysis_inconclusive{{{SEL}}})",
          "{{namespace}}/{{name}}")],
        [{"type": "value", "options": {"0": {"text": "conclusive", "color": "green"},
                                       "1": {"text": "inconclusive", "color": "orange"}}}]), 6)
    L.add(stat(
        "Rollbacks", "Rollbacks by reason since the operator (its leader) started: "
        "sluice_canary_rollbacks_total. Any rollback also fires SluiceCanaryRolledBack.",
        [(f"max by (namespace, name, reason) (sluice_canary_rollbacks_total{{{SEL}}})",
          "{{name}} {{reason}}")],
        thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}]), 6)

    L.row("TrafficPolicies")
    L.add(timeseries(
        "Backend share of traffic", "Each backend's weight over the policy's total "
        "(sluice_trafficpolicy_backend_weight): drained backends fall to 0.",
        [(f"max by (namespace, name, backend) (sluice_trafficpolicy_backend_weight{{{SEL}}})"
          f" / on (namespace, name) group_left"
          f" sum by (namespace, name) (max by (namespace, name, backend)"
          f" (sluice_trafficpolicy_backend_weight{{{SEL}}}))",
          "{{name}}/{{backend}}")],
        unit="percentunit", min_=0, max_=1, stack=True), 8)
    L.add(state_timeline(
        "Backend health", "Each backend's health as the policy judges it "
        "(sluice_trafficpolicy_backend_healthy: its failover thresholds and `up`).",
        [(f"max by (namespace, name, backend) (sluice_trafficpolicy_backend_healthy{{{SEL}}})",
          "{{name}}/{{backend}}")],
        [{"type": "value", "options": {"0": {"text": "unhealthy", "color": "red"},
                                       "1": {"text": "healthy", "color": "green"}}}]), 8)
    L.add(timeseries(
        "Healthy backends, shifting, panic", "Healthy backends of all backends; shifting is 1 "
        "while traffic moves away from (or back to) a backend; panic is 1 when too few are "
        "healthy and traffic spreads over all of them.",
        [(f"max by (namespace, name) (sluice_trafficpolicy_healthy_backends{{{SEL}}})",
          "{{name}} healthy"),
         (f"max by (namespace, name) (sluice_trafficpolicy_backends{{{SEL}}})",
          "{{name}} backends"),
         (f"max by (namespace, name) (sluice_trafficpolicy_shifting{{{SEL}}})",
          "{{name}} shifting"),
         (f"max by (namespace, name) (sluice_trafficpolicy_panic{{{SEL}}})", "{{name}} panic")],
        min_=0, decimals=0, overrides=[dashed(".* backends")]), 8)
    L.add(timeseries(
        "Backend error rate", "Each backend's error rate as the policy measures it "
        "(sluice_trafficpolicy_backend_error_rate, from spec.metrics.queries.errorRate); above "
        "failover.errorRateThreshold the backend is drained.",
        [(f"max by (namespace, name, backend)"
          f" (sluice_trafficpolicy_backend_error_rate{{{SEL}}})", "{{name}}/{{backend}}")],
        unit="percentunit", min_=0), 12)
    L.add(timeseries(
        "Backend p99 latency", "Each backend's p99 latency as the policy measures it "
        "(sluice_trafficpolicy_backend_latency_p99_seconds); above "
        "failover.latencyThresholdMilliseconds the backend is drained.",
        [(f"max by (namespace, name, backend)"
          f" (sluice_trafficpolicy_backend_latency_p99_seconds{{{SEL}}})",
          "{{name}}/{{backend}}")],
        unit="s", min_=0), 12)
    L.add(timeseries(
        "Cost per hour by backend", "Estimated cost per hour of each backend's traffic "
        "(sluice_trafficpolicy_backend_cost_per_hour), stacked.",
        [(f"max by (namespace, name, backend)"
          f" (sluice_trafficpolicy_backend_cost_per_hour{{{SEL}}})", "{{name}}/{{backend}}")],
        min_=0, stack=True), 12)
    L.add(timeseries(
        "Cost against budget", "The policy's estimated total cost per hour "
        "(sluice_trafficpolicy_cost_per_hour) against spec.budget.maxCostPerHour (dashed; "
        "only for policies with a budget) and the budget state (0 under, 1 at alertAtPercent, "
        "2 over).",
        [(f"max by (namespace, name) (sluice_trafficpolicy_cost_per_hour{{{SEL}}})",
          "{{name}} cost"),
         (f"max by (namespace, name) (sluice_trafficpolicy_budget_per_hour{{{SEL}}})",
          "{{name}} budget"),
         (f"max by (namespace, name) (sluice_trafficpolicy_budget_state{{{SEL}}})",
          "{{name}} budget state")],
        min_=0, overrides=[dashed(".* budget$")]), 12)

    L.row("TierLimits")
    rate = "[$__rate_interval]"

    def tier_rate(metric):
        # Every operator replica reports the data plane's counts per target policy: one
        # replica's (max), summed over the policies.
        return (f"sum by (namespace, name, tier) (max by (namespace, name, trafficpolicy, tier)"
                f" (rate({metric}{{{SEL}}}{rate})))")

    L.add(timeseries(
        "Requests per tier", "Requests a second per tier (sluice_tierlimit_requests_total), "
        "refused ones included.",
        [(tier_rate("sluice_tierlimit_requests_total"), "{{name}} {{tier}}")],
        unit="reqps", min_=0), 8)
    L.add(timeseries(
        "429s per tier", "Requests a second answered 429 per tier "
        "(sluice_tierlimit_rejected_total).",
        [(tier_rate("sluice_tierlimit_rejected_total"), "{{name}} {{tier}}")],
        unit="reqps", min_=0), 8)
    L.add(timeseries(
        "Refused share per tier", "429s over all requests of the tier; "
        "SluiceTierRejectionRatioHigh fires above 25 % for 10 minutes.",
        [(tier_rate("sluice_tierlimit_rejected_total") + " / " +
          tier_rate("sluice_tierlimit_requests_total"), "{{name}} {{tier}}")],
        unit="percentunit", min_=0, max_=1), 8)
    L.add(timeseries(
        "HPA replicas against the floor", "The TierLimit's HPA: current and desired replicas "
        "(from its status), the floor in force (dashed: minReplicas, raised by an open "
        "schedule) and maxReplicas (dashed).",
        [(f"max by (namespace, name) (sluice_tierlimit_hpa_current_replicas{{{SEL}}})",
          "{{name}} current"),
         (f"max by (namespace, name) (sluice_tierlimit_hpa_desired_replicas{{{SEL}}})",
          "{{name}} desired"),
         (f"max by (namespace, name) (sluice_tierlimit_hpa_min_replicas{{{SEL}}})",
          "{{name}} floor"),
         (f"max by (namespace, name) (sluice_tierlimit_hpa_max_replicas{{{SEL}}})",
          "{{name}} max")],
        min_=0, decimals=0, overrides=[dashed(".* (floor|max)")]), 12)
    L.add(timeseries(
        "Request rate the HPA scales on", "sluice_tierlimit_requests_per_second: the External "
        "metric of the TierLimit's HPA (the requests a second of the policies it is attached to).",
        [('max by (namespace, tierlimit, trafficpolicy)'
          ' (sluice_tierlimit_requests_per_second{namespace=~"$namespace", tierlimit=~"$name"})',
          "{{tierlimit}} via {{trafficpolicy}}")],
        unit="reqps", min_=0), 12)

    L.row("Operator")
    L.add(stat(
        "Replicas up", "Operator replicas Prometheus scrapes successfully (up); "
        "SluiceOperatorDown fires when none is.",
        [(f"sum by (job) (up{{{OP}}})", "{{job}}")],
        thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}]), 4, 6)
    L.add(stat(
        "Leader", "Replicas holding the leader election Lease (leader_election_is_leader); "
        "exactly 1 is healthy, SluiceOperatorNoLeader fires at 0.",
        [(f"sum by (job) (leader_election_is_leader{{{OP}}})", "{{job}}")],
        thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1},
                    {"color": "orange", "value": 2}]), 4, 6)
    L.add(timeseries(
        "Reconciles by controller and result", "controller_reconcile_total: success, requeue, "
        "requeue_after, error (retried with backoff), terminal_error (not retried).",
        [(f"sum by (controller, result) (rate(controller_reconcile_total{{{OP}}}{rate}))",
          "{{controller}} {{result}}")],
        unit="ops", min_=0), 8, 6)
    L.add(timeseries(
        "Reconcile errors", "Failed reconciles a second per controller (result error or "
        "terminal_error; 0 while a controller has never failed). SluiceReconcileErrors fires "
        "above 0.05/s of result=error for 10 minutes.",
        [(f'sum by (controller) (rate(controller_reconcile_total{{{OP}, result=~"error|terminal_error"}}{rate}))'
          f" or sum by (controller) (rate(controller_reconcile_total{{{OP}}}{rate})) * 0",
          "{{controller}}")],
        unit="ops", min_=0), 8, 6)
    L.add(timeseries(
        "Work queue depth", "Keys waiting in each controller's work queue (workqueue_depth).",
        [(f"max by (name) (workqueue_depth{{{OP}}})", "{{name}}")], min_=0, decimals=0), 12)
    L.add(timeseries(
        "Reconcile duration p99", "99th percentile of controller_reconcile_duration_seconds "
        "per controller.",
        [(f"histogram_quantile(0.99, sum by (controller, le)"
          f" (rate(controller_reconcile_duration_seconds_bucket{{{OP}}}{rate})))",
          "{{controller}}")],
        unit="s", min_=0), 12)

    object_metrics = ("sluice_canary_steps|sluice_trafficpolicy_backends|"
                      "sluice_tierlimit_hpa_min_replicas")
    templating = [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
         "includeAll": False, "multi": False, "options": []},
        {"name": "namespace", "label": "Namespace", "type": "query", "datasource": DS,
         "query": {"query": f'label_values({{__name__=~"{object_metrics}"}}, namespace)',
                   "refId": "namespace"},
         "definition": f'label_values({{__name__=~"{object_metrics}"}}, namespace)',
         "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
         "current": {}, "hide": 0, "regex": "", "options": []},
        {"name": "name", "label": "Name", "type": "query", "datasource": DS,
         "description": "CanaryRollout, TrafficPolicy or TierLimit name",
         "query": {"query": f'label_values({{__name__=~"{object_metrics}", '
                            f'namespace=~"$namespace"}}, name)', "refId": "name"},
         "definition": f'label_values({{__name__=~"{object_metrics}", '
                       f'namespace=~"$namespace"}}, name)',
         "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
         "current": {}, "hide": 0, "regex": "", "options": []},
        {"name": "job", "label": "Operator job (regex)", "type": "textbox",
         "description": "The operator's scrape job: sluice-operator on the local stack, "
                        "<fullname>-metrics with the chart's ServiceMonitor",
         "query": ".*sluice.*", "current": {"text": ".*sluice.*", "value": ".*sluice.*"},
         "hide": 0, "options": [{"selected": True, "text": ".*sluice.*",
                                 "value": ".*sluice.*"}]},
    ]
    return {
        "uid": "sluice-overview",
        "title": "Sluice",
        "description": "CanaryRollouts, TrafficPolicies, TierLimits and the Sluice operator "
                       "(generated by e2e/observability/gen_dashboard.py).",
        "tags": ["sluice", "kubernetes", "operator"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "links": [],
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
             "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
             "name": "Annotations & Alerts", "type": "dashboard"},
            {"name": "Sluice alerts", "datasource": DS, "enable": True, "hide": False,
             "iconColor": "red", "expr": 'ALERTS{alertname=~"Sluice.*", alertstate="firing"}',
             "titleFormat": "{{alertname}}", "textFormat": "{{namespace}}/{{name}}",
             "step": "30s", "useValueForTime": False}]},
        "templating": {"list": templating},
        "panels": L.panels,
    }


def render():
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        try:
            with open(OUT) as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print(f"{os.path.relpath(OUT, ROOT)} is not what {os.path.relpath(__file__, ROOT)} "
                  "generates: run python3 e2e/observability/gen_dashboard.py", file=sys.stderr)
            sys.exit(1)
        print(f"{os.path.relpath(OUT, ROOT)} is up to date")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
