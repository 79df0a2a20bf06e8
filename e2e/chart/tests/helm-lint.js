'use strict';
// e2e.chart.helm-lint: real `helm lint --strict` passes with the default values and with every
// optional feature switched on, for the oldest Kubernetes the chart supports (its kubeVersion)
// and the release the tests run against; it fails on a chart with a template error (so the
// linter runs), and rendering for a release below kubeVersion is refused.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helm, chartDir, readYamlDocs, kubeVersion, Checker } = require('./lib');

const c = new Checker('helm-lint');

// Chart.yaml's kubeVersion is ">=1.26.0-0": lint for that oldest release and the pinned one.
const minKube = (/^>=\s*(\d+\.\d+\.\d+)/.exec(readYamlDocs(path.join(chartDir, 'Chart.yaml'))[0].kubeVersion) || [])[1];
c.ok(minKube, 'Chart.yaml has a kubeVersion lower bound');
for (const kube of [minKube, kubeVersion]) {
  for (const sets of [[], ['podDisruptionBudget.enabled=true', 'metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'metrics.grafanaDashboard.enabled=true', 'watchNamespace=shop']]) {
    const args = ['lint', chartDir, '--strict', '--namespace', 'sluice-system', '--kube-version', kube];
    for (const s of sets) args.push('--set', s);
    const r = helm(args);
    const what = `${sets.length ? sets.join(',') : 'default values'} for Kubernetes ${kube}`;
    c.equal(r.status, 0, `helm lint --strict with ${what} (output: ${(r.stdout + r.stderr).trim()})`);
    c.ok(/1 chart\(s\) linted, 0 chart\(s\) failed/.test(r.stdout), `helm lint reports success with ${what}`);
    c.ok(!/\[(WARNING|ERROR)\]/.test(r.stdout), `no lint warnings with ${what}`);
  }
}

// kubeVersion is enforced: a release just below it does not render.
const old = helm(['template', 'sluice', chartDir, '--kube-version', 'v1.25.16']);
c.ok(old.status !== 0 && /kubeVersion/.test(old.stderr), `helm template for Kubernetes 1.25 is refused by kubeVersion (stderr: ${old.stderr.trim()})`);

// A broken copy must fail: the linter really parses templates.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-lint-'));
try {
  const copy = path.join(tmp, 'sluice');
  fs.cpSync(chartDir, copy, { recursive: true });
  fs.appendFileSync(path.join(copy, 'templates', 'service.yaml'), '\n{{ .Values.metrics.port | nosuchfunction }}\n');
  const r = helm(['lint', copy, '--strict']);
  c.ok(r.status !== 0, 'helm lint fails on a template error');
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

c.done();
