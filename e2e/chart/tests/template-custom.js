'use strict';
// e2e.chart.template-custom: non-default values change what they promise and nothing else:
// replicas, a PodDisruptionBudget, a ServiceMonitor, resource overrides, log level, extra args,
// a single watched namespace (RBAC becomes a Role there), leader election off for one replica,
// the refusal to run several replicas without leader election, a Prometheus CA bundle, the PrometheusRule and the
// Grafana dashboard ConfigMap.

const { template, parseDocs, Checker } = require('./lib');
const { checkCommon, find } = require('./rendered');

const c = new Checker('template-custom');

function render(valuesYaml, release = 'edge') {
  const r = template({ release, namespace: 'ops', valuesYaml });
  c.equal(r.status, 0, `helm template exit status (stderr: ${r.stderr.trim()})`);
  return r.status === 0 ? parseDocs(r.stdout) : [];
}

// 1. Everything on.
{
  const docs = render(`
replicaCount: 3
logLevel: debug
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
      - matchExpressions: [{key: node-role, operator: In, values: [control]}]
leaderElection: {enabled: true, id: edge-lock}
extraArgs: ["--workers=8"]
prometheus: {caBundle: {configMap: prometheus-ca, key: bundle.pem}}
podDisruptionBudget: {enabled: true, minAvailable: 2}
metrics:
  port: 8080
  service: {type: ClusterIP, port: 8080}
  serviceMonitor: {enabled: true, interval: 15s, scrapeTimeout: 5s, labels: {release: kube-prometheus}}
resources:
  requests: {cpu: 250m, memory: 256Mi}
  limits: {cpu: "2", memory: 1Gi}
`);
  checkCommon(c, docs, {
    release: 'edge', fullname: 'edge-sluice', namespace: 'ops', replicas: 3, watchNamespace: '',
    leaderElection: true, leaderElectionId: 'edge-lock', logLevel: 'debug', extraArgs: ['--workers=8'],
    prometheusCA: { configMap: 'prometheus-ca', key: 'bundle.pem' },
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role', operator: 'In', values: ['control'] }] }] } } },
  });
  const dep = find(docs, 'Deployment')[0];
  const pdbs = find(docs, 'PodDisruptionBudget');
  if (c.equal(pdbs.length, 1, 'PodDisruptionBudget rendered')) {
    c.equal(pdbs[0].apiVersion, 'policy/v1', 'PDB apiVersion');
    c.equal(pdbs[0].spec.minAvailable, 2, 'PDB minAvailable');
    c.equal(pdbs[0].spec.selector.matchLabels, dep.spec.selector.matchLabels, 'PDB selects the operator pods');
  }
  const sms = find(docs, 'ServiceMonitor');
  if (c.equal(sms.length, 1, 'ServiceMonitor rendered')) {
    const sm = sms[0];
    const svc = find(docs, 'Service')[0];
    c.equal(sm.apiVersion, 'monitoring.coreos.com/v1', 'ServiceMonitor apiVersion');
    c.equal(sm.metadata.labels.release, 'kube-prometheus', 'ServiceMonitor extra label');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
      c.equal(svc.metadata.labels[k], v, `ServiceMonitor selector ${k} matches the metrics Service`);
    }
    c.equal(sm.spec.namespaceSelector, { matchNames: ['ops'] }, 'ServiceMonitor namespaceSelector');
    c.equal(sm.spec.endpoints, [{ port: 'metrics', path: '/metrics', honorLabels: true, interval: '15s', scrapeTimeout: '5s' }], 'ServiceMonitor endpoints');
  }
}

// 2. One watched namespace, one replica, no leader election.
{
  const docs = render(`
replicaCount: 1
watchNamespace: shop
leaderElection: {enabled: false}
`, 'sluice');
  checkCommon(c, docs, {
    release: 'sluice', fullname: 'sluice', namespace: 'ops', replicas: 1, watchNamespace: 'shop',
    leaderElection: false, logLevel: 'info',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  });
  c.equal(find(docs, 'PodDisruptionBudget').length + find(docs, 'ServiceMonitor').length, 0, 'PDB and ServiceMonitor stay off by default');
}

// 2b. The Prometheus CA from a Secret; a ConfigMap and a Secret at once is refused.
{
  const docs = render('prometheus: {caBundle: {secret: prom-tls}}\n', 'sluice');
  checkCommon(c, docs, {
    release: 'sluice', fullname: 'sluice', namespace: 'ops', replicas: 2, watchNamespace: '',
    leaderElection: true, leaderElectionId: 'sluice-operator', logLevel: 'info',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    prometheusCA: { secret: 'prom-tls', key: 'ca.crt' },
  });
  const r = template({ release: 'x', namespace: 'ops', valuesYaml: 'prometheus: {caBundle: {secret: a, configMap: b}}\n' });
  c.ok(r.status !== 0 && /configMap or secret, not both/.test(r.stderr), `both refused (stderr: ${r.stderr.trim()})`);
}

// 3. Several replicas without leader election would reconcile twice: the chart refuses.
{
  const r = template({ release: 'x', namespace: 'ops', valuesYaml: 'replicaCount: 2\nleaderElection: {enabled: false}\n' });
  c.ok(r.status !== 0, 'replicaCount 2 without leader election fails to render');
  c.ok(/needs leaderElection\.enabled/.test(r.stderr), `the failure says why (stderr: ${r.stderr.trim()})`);
}

// 4. No ServiceAccount created: the named one is used, and a name is required.
{
  const docs = render('serviceAccount: {create: false, name: existing-sa}\n');
  c.equal(find(docs, 'ServiceAccount').length, 0, 'no ServiceAccount created');
  c.equal(find(docs, 'Deployment')[0].spec.template.spec.serviceAccountName, 'existing-sa', 'existing ServiceAccount used');
  c.equal(find(docs, 'ClusterRoleBinding')[0].subjects[0].name, 'existing-sa', 'ClusterRoleBinding binds the existing ServiceAccount');
  const r = template({ release: 'x', namespace: 'ops', valuesYaml: 'serviceAccount: {create: false}\n' });
  c.ok(r.status !== 0 && /serviceAccount\.name is required/.test(r.stderr), 'create: false without a name fails with a clear message');
}

// 5. Alerts and dashboard (both off by default): the PrometheusRule carries files/alerts.yaml with
// the runbook prefix; the dashboard ConfigMap carries files/dashboards/sluice.json byte for byte,
// labelled for Grafana's sidecar (default and custom label), in its own namespace if asked.
{
  const fs = require('node:fs');
  const path = require('node:path');
  const { chartDir, yaml } = require('./lib');
  const dashboardFile = fs.readFileSync(path.join(chartDir, 'files', 'dashboards', 'sluice.json'), 'utf8');
  const alertsFile = yaml.load(fs.readFileSync(path.join(chartDir, 'files', 'alerts.yaml'), 'utf8'));

  const off = render('{}\n');
  c.equal(find(off, 'ConfigMap').length + find(off, 'PrometheusRule').length, 0, 'dashboard ConfigMap and PrometheusRule stay off by default');

  const docs = render(`
metrics:
  prometheusRule: {enabled: true, runbookBaseURL: "https://git.example.com/sluice/blob/main/"}
  grafanaDashboard: {enabled: true}
`);
  const cms = find(docs, 'ConfigMap');
  if (c.equal(cms.length, 1, 'dashboard ConfigMap rendered')) {
    const cm = cms[0];
    c.equal(cm.metadata.name, 'edge-sluice-dashboard', 'dashboard ConfigMap name');
    c.equal(cm.metadata.namespace, 'ops', 'dashboard ConfigMap in the release namespace by default');
    c.equal(cm.metadata.labels.grafana_dashboard, '1', 'dashboard ConfigMap has the sidecar label grafana_dashboard: "1"');
    c.equal(cm.metadata.labels['app.kubernetes.io/part-of'], 'sluice', 'dashboard ConfigMap has the chart labels');
    c.ok(!cm.metadata.annotations, 'no annotations unless asked');
    c.equal(Object.keys(cm.data), ['sluice.json'], 'dashboard ConfigMap data key');
    c.ok(cm.data['sluice.json'] === dashboardFile.replace(/\n$/, ''), 'dashboard ConfigMap holds files/dashboards/sluice.json unchanged');
    let d = {};
    try { d = JSON.parse(cm.data['sluice.json']); } catch (e) { c.fail(`dashboard JSON does not parse: ${e.message}`); }
    c.equal(d.uid, 'sluice-overview', 'dashboard uid');
    c.ok((d.templating || { list: [] }).list.some((v) => v.name === 'datasource' && v.type === 'datasource' && v.query === 'prometheus'), 'dashboard has a prometheus datasource variable');
  }
  const rules = find(docs, 'PrometheusRule');
  if (c.equal(rules.length, 1, 'PrometheusRule rendered')) {
    const got = rules[0].spec.groups;
    c.equal(got.map((g) => g.name), alertsFile.groups.map((g) => g.name), 'PrometheusRule groups are those of files/alerts.yaml');
    const urls = got.flatMap((g) => g.rules).map((r) => r.annotations.runbook_url);
    const want = alertsFile.groups.flatMap((g) => g.rules).map((r) => `https://git.example.com/sluice/blob/main/${r.annotations.runbook_url}`);
    c.equal(urls, want, 'every runbook_url carries runbookBaseURL');
    // Apart from the runbook prefix, the rules are the file's.
    const strip = (gs) => gs.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, annotations: { ...r.annotations, runbook_url: '' } })) }));
    c.equal(strip(got), strip(alertsFile.groups), 'PrometheusRule rules equal files/alerts.yaml');
  }

  const custom = render(`
metrics:
  grafanaDashboard:
    enabled: true
    namespace: monitoring
    label: {key: grafana.example.com/dashboard, value: sluice}
    annotations: {grafana_folder: Sluice}
`);
  const cm = find(custom, 'ConfigMap')[0] || { metadata: {} };
  c.equal(cm.metadata.namespace, 'monitoring', 'dashboard ConfigMap in metrics.grafanaDashboard.namespace');
  c.equal(cm.metadata.labels && cm.metadata.labels['grafana.example.com/dashboard'], 'sluice', 'custom sidecar label');
  c.ok(cm.metadata.labels && !('grafana_dashboard' in cm.metadata.labels), 'the default label is replaced, not added');
  c.equal(cm.metadata.annotations, { grafana_folder: 'Sluice' }, 'dashboard ConfigMap annotations');
}

c.done();
