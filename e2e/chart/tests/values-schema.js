'use strict';
// e2e.chart.values-schema: values.schema.json makes helm refuse bad values before rendering,
// naming the offending value; good values in the same places still render.

const { template, Checker } = require('./lib');

const c = new Checker('values-schema');

const good = template({ sets: ['replicaCount=3', 'logLevel=warn', 'metrics.port=9090', 'image.pullPolicy=Always'] });
c.equal(good.status, 0, `valid non-default values render (stderr: ${good.stderr.trim()})`);
const goodObs = template({ sets: ['metrics.grafanaDashboard.enabled=true', 'metrics.grafanaDashboard.namespace=monitoring',
  'metrics.grafanaDashboard.label.key=grafana.example.com/dashboard', 'metrics.grafanaDashboard.label.value=sluice',
  'metrics.prometheusRule.enabled=true', 'metrics.prometheusRule.runbookBaseURL=https://git.example.com/sluice/blob/main/'] });
c.equal(goodObs.status, 0, `valid dashboard and alert values render (stderr: ${goodObs.stderr.trim()})`);

const bad = [
  { sets: ['replicaCount=0'], field: 'replicaCount' },
  { sets: ['replicaCount=two'], field: 'replicaCount' },
  { sets: ['logLevel=verbose'], field: 'logLevel' },
  { sets: ['image.pullPolicy=Sometimes'], field: 'pullPolicy' },
  { sets: ['metrics.port=70000'], field: 'port' },
  { sets: ['health.port=0'], field: 'port' },
  { sets: ['replicas=2'], field: 'replicas' },
  { sets: ['resources.limits.cpu=lots'], field: 'cpu' },
  { sets: ['watchNamespace=Not_A_Namespace'], field: 'watchNamespace' },
  { sets: ['extraArgs[0]=workers=8'], field: 'extraArgs' },
  { sets: ['metrics.serviceMonitor.interval=often'], field: 'interval' },
  { valuesYaml: 'podDisruptionBudget: {enabled: true, minAvailable: -1}\n', field: 'minAvailable' },
  { sets: ['metrics.grafanaDashboard.enabled=yes'], field: 'enabled' },
  { sets: ['metrics.grafanaDashboard.namespace=Monitoring'], field: 'namespace' },
  { sets: ['metrics.grafanaDashboard.label.key=not a label'], field: 'key' },
  { sets: ['metrics.grafanaDashboard.label.value=not valid!'], field: 'value' },
  { sets: ['metrics.grafanaDashboard.folder=x'], field: 'folder' },
  { sets: ['metrics.prometheusRule.runbookBaseURL=git.example.com/sluice'], field: 'runbookBaseURL' },
];
for (const b of bad) {
  const r = template({ sets: b.sets || [], valuesYaml: b.valuesYaml });
  const what = b.sets ? b.sets.join(' ') : b.valuesYaml.trim();
  c.ok(r.status !== 0, `${what}: helm template must fail`);
  c.ok(/values don't meet the specifications of the schema/.test(r.stderr) && r.stderr.includes(b.field),
    `${what}: the schema error names ${b.field} (stderr: ${r.stderr.trim()})`);
}

c.done();
