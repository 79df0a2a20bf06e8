'use strict';
// e2e.chart.crds-in-sync: the chart's crds/ is a byte-identical copy of crds/, the single source.
// Fix a failure with charts/sluice/sync-crds.sh.

const fs = require('node:fs');
const path = require('node:path');
const { crdDir, chartDir, listYaml, run, Checker } = require('./lib');

const c = new Checker('crds-in-sync');
const chartCrds = path.join(chartDir, 'crds');
const names = (dir) => listYaml(dir).map((f) => path.basename(f));

c.ok(names(crdDir).length === 3, 'crds/ holds the three CRDs');
c.equal(names(chartCrds), names(crdDir), 'charts/sluice/crds/ has the same files as crds/');
for (const n of names(crdDir)) {
  const src = fs.readFileSync(path.join(crdDir, n));
  const dst = path.join(chartCrds, n);
  c.ok(fs.existsSync(dst) && src.equals(fs.readFileSync(dst)),
    `charts/sluice/crds/${n} is identical to crds/${n} (run charts/sluice/sync-crds.sh)`);
}
// The sync script's own check agrees.
const r = run(path.join(chartDir, 'sync-crds.sh'), ['--check']);
c.equal(r.status, 0, `sync-crds.sh --check (stderr: ${r.stderr.trim()})`);

c.done();
