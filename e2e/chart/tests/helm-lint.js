'use strict';
// e2e.chart.helm-lint: real `helm lint --strict` passes with the default values and with every
// optional feature switched on, and fails on a chart with a template error (so the linter runs).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helm, chartDir, Checker } = require('./lib');

const c = new Checker('helm-lint');

for (const sets of [[], ['podDisruptionBudget.enabled=true', 'metrics.serviceMonitor.enabled=true', 'watchNamespace=shop']]) {
  const args = ['lint', chartDir, '--strict', '--namespace', 'sluice-system'];
  for (const s of sets) args.push('--set', s);
  const r = helm(args);
  const what = sets.length ? sets.join(',') : 'default values';
  c.equal(r.status, 0, `helm lint --strict with ${what} (output: ${(r.stdout + r.stderr).trim()})`);
  c.ok(/1 chart\(s\) linted, 0 chart\(s\) failed/.test(r.stdout), `helm lint reports success with ${what}`);
  c.ok(!/\[(WARNING|ERROR)\]/.test(r.stdout), `no lint warnings with ${what}`);
}

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
