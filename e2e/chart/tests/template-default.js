'use strict';
// e2e.chart.template-default: `helm template` with the chart's default values renders a
// hardened two-replica operator with leader election, least-privilege cluster RBAC, a metrics
// Service, no PodDisruptionBudget or ServiceMonitor, and (with --include-crds) exactly the
// CRDs from crds/. NOTES.txt tells the user what to do next.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helm, chartDir, parseDocs, crdDir, listYaml, readYamlDocs, Checker } = require('./lib');
const { checkCommon } = require('./rendered');

const c = new Checker('template-default');
const r = helm(['template', 'prod', chartDir, '--namespace', 'sluice-system', '--include-crds']);
if (!c.equal(r.status, 0, `helm template exit status (stderr: ${r.stderr.trim()})`)) c.done();
const all = parseDocs(r.stdout);
const crds = all.filter((d) => d.kind === 'CustomResourceDefinition');
const docs = all.filter((d) => d.kind !== 'CustomResourceDefinition');

c.equal(docs.map((d) => d.kind).sort(),
  ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'],
  'rendered kinds');
checkCommon(c, docs, {
  release: 'prod', fullname: 'prod-sluice', namespace: 'sluice-system', replicas: 2, watchNamespace: '',
  leaderElection: true, leaderElectionId: 'sluice-operator', logLevel: 'info',
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
});

// The chart's crds/ must hold the CRDs of crds/ (byte identity is e2e.chart.crds-in-sync).
const want = listYaml(crdDir).map((f) => readYamlDocs(f)[0]);
const byName = (a, b) => a.metadata.name.localeCompare(b.metadata.name);
c.equal(crds.sort(byName), want.sort(byName), 'CRDs rendered by the chart equal crds/');

// NOTES.txt, rendered by helm itself: `helm install --dry-run` needs a cluster, so a copy of the
// chart carries NOTES.txt inside a ConfigMap template and `helm template` renders that.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-notes-'));
try {
  const copy = path.join(tmp, 'sluice');
  fs.cpSync(chartDir, copy, { recursive: true });
  const notesSrc = fs.readFileSync(path.join(copy, 'templates', 'NOTES.txt'), 'utf8');
  fs.writeFileSync(path.join(copy, 'templates', 'zz-notes-for-test.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n' +
    notesSrc.split('\n').map((l) => `    ${l}`).join('\n') + '\n');
  const n = helm(['template', 'prod', copy, '--namespace', 'sluice-system', '--show-only', 'templates/zz-notes-for-test.yaml']);
  if (c.equal(n.status, 0, `rendering NOTES.txt (stderr: ${n.stderr.trim()})`)) {
    const text = parseDocs(n.stdout)[0].data.notes;
    for (const hint of [
      'kubectl -n sluice-system rollout status deployment/prod-sluice',
      'kubectl apply -f samples/',
      'kubectl get sluice',
      'port-forward service/prod-sluice-metrics 8080',
      'all namespaces',
      'kubectl apply -f crds/',
    ]) {
      c.ok(text.includes(hint), `NOTES mention "${hint}"`);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

c.done();
