'use strict';
// e2e.chart.samples-kubectl: kubectl against a real kube-apiserver (the shared control plane of
// the CTest fixture `k8s`, the cluster in $SLUICE_E2E_KUBECONFIG, or, run directly, one of its
// own). Our CRDs apply with the upstream Gateway API / Envoy Gateway CRDs the shared cluster
// uses (v1.2.1 / v1.2.8); every samples/*.yaml applies and gets the schema defaults; every
// samples/invalid/*.yaml is refused by admission with a message naming its `# reject-field`,
// stores nothing, and together they exercise every CEL rule; the status subresource feeds the
// printer columns; `kubectl get sluice`, the short names and `kubectl explain` of the three
// kinds work. In a control plane of its own, the oldest and newest upstream CRD releases apply
// next to ours, the newest over the oldest (an upgrade), so the shared cluster keeps v1.2.1.
// At every upstream release, the HTTPRoutes and BackendTrafficPolicies the render tests keep
// as goldens pass admission (server-side dry run).

const fs = require('node:fs');
const path = require('node:path');
const { repoRoot, crdDir, samplesDir, listYaml, readYamlDocs, Checker, cluster, startCluster } = require('./lib');
const { walk } = require('./schema');

const c = new Checker('samples-kubectl');
const sharedCrds = path.resolve(repoRoot, '..', 'shared', 'crds');
// What the shared cluster holds (e2e/stack applies the same): leave it so for the tests after us.
const sharedUpstream = ['gateway-api-v1.2.1', 'envoy-gateway-v1.2.8'];
const namespace = `sluice-samples-${process.pid}`;
let k;

function kubectl(args, input) {
  return k.kubectl(args, input);
}

// kube-apiserver's field errors (apimachinery field.ErrorList): `The CanaryRollout "x" is
// invalid: spec.steps: Invalid value: ...`, or one error per line after `is invalid: `, each
// `* spec.tiers[1]: Duplicate value: ...`. The field (or an item of it) opens an error.
function namesField(message, field) {
  const esc = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const type = '(Invalid value|Unsupported value|Duplicate value|Required value|Forbidden|Too long|Too many|Not found)';
  return new RegExp(`(is invalid: |^\\* )${esc}(\\[\\d+\\])?: ${type}`, 'm').test(message);
}

// Server-side, forcing conflicts, as e2e/stack applies them: concurrent tests apply the same.
function applyCrds(client, dirs, what) {
  const args = ['apply', '--server-side', '--force-conflicts'];
  for (const d of dirs) args.push('-f', d);
  const r = client.kubectl(args);
  c.equal(r.status, 0, `${what}: kubectl apply --server-side (stderr: ${r.stderr.trim()})`);
  const names = [];
  for (const d of dirs) for (const f of listYaml(d)) names.push(`crd/${readYamlDocs(f)[0].metadata.name}`);
  const w = client.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  return c.equal(w.status, 0, `${what}: ${names.length} CRDs established (stderr: ${w.stderr.trim()})`);
}

// The objects the operator generates for upstream kinds (the render tests' goldens: HTTPRoute,
// BackendTrafficPolicy) pass admission, CEL rules included, at the upstream release installed:
// server-side dry run, so nothing is stored (their owner does not exist).
const goldenDir = path.join(repoRoot, 'operator', 'render', 'test', 'golden');
function generatedObjectsAdmitted(client, ns, what) {
  const files = fs.readdirSync(goldenDir).filter((f) => f.endsWith('.json')).sort();
  const kinds = new Set();
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(path.join(goldenDir, f), 'utf8'));
    if (!/^(gateway\.networking\.k8s\.io|gateway\.envoyproxy\.io|autoscaling)\//.test(doc.apiVersion)) continue;
    kinds.add(doc.kind);
    doc.metadata.namespace = ns;
    const r = client.kubectl(['apply', '--dry-run=server', '-o', 'json', '-n', ns, '-f', '-'], JSON.stringify(doc));
    c.equal(r.status, 0, `${what}: ${f} (${doc.kind}) passes admission (stderr: ${r.stderr.trim()})`);
    const ownedOutright = f.startsWith('hpa_tierlimit') || doc.kind === 'BackendTrafficPolicy';
    if (r.status === 0 && ownedOutright) {
      // The operator owns this HPA and these policies outright and writes every defaulted
      // field: what the API server stores is exactly what was sent, so GitOps diffs and
      // applyIfChanged see no drift.
      c.equal(JSON.parse(r.stdout).spec, doc.spec, `${what}: ${f} is stored as sent (no server defaults)`);
    }
  }
  c.equal([...kinds].sort(), ['BackendTrafficPolicy', 'HTTPRoute', 'HorizontalPodAutoscaler'], `${what}: goldens of every generated kind`);
}

// Every upstream release in shared/crds next to ours, oldest first, each over the last,
// in a control plane of our own: the shared one must keep the versions the stack uses.
function upstreamReleases() {
  const releases = fs.readdirSync(sharedCrds).filter((d) => fs.statSync(path.join(sharedCrds, d)).isDirectory());
  const version = (d) => d.replace(/^.*-v/, '').split('.').map(Number);
  const older = (a, b) => { const x = version(a); const y = version(b); for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]; return 0; };
  const byProject = {};
  for (const d of releases) (byProject[d.replace(/-v[0-9.]+$/, '')] ||= []).push(d);
  for (const list of Object.values(byProject)) list.sort(older);
  c.ok(Object.keys(byProject).length === 2 && Object.values(byProject).every((l) => l.length >= 2),
    `two releases each of gateway-api and envoy-gateway in shared/crds (got ${releases.join(', ')})`);
  const own = k.own ? k : startCluster('samples-upstream');
  if (!applyCrds(own, [crdDir], 'own cluster: crds/')) return;
  const ns = `sluice-upstream-${process.pid}`;
  const created = own.kubectl(['create', 'namespace', ns]);
  c.equal(created.status, 0, `own cluster: create namespace ${ns} (stderr: ${created.stderr.trim()})`);
  for (let i = 0; i < Math.max(...Object.values(byProject).map((l) => l.length)); i++) {
    const step = Object.values(byProject).map((l) => l[Math.min(i, l.length - 1)]);
    if (applyCrds(own, step.map((d) => path.join(sharedCrds, d)), `own cluster: ${step.join(' + ')}`)) {
      generatedObjectsAdmitted(own, ns, `own cluster: ${step.join(' + ')}`);
    }
  }
  own.kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (own === k) applyCrds(k, sharedUpstream.map((d) => path.join(sharedCrds, d)), `back to ${sharedUpstream.join(' + ')}`);
}

function main() {
  k = cluster('samples');
  if (!c.ok(fs.existsSync(sharedCrds), `upstream CRDs at ${sharedCrds}`)) return;
  for (const d of sharedUpstream) c.ok(fs.existsSync(path.join(sharedCrds, d)), `shared/crds/${d} exists`);

  // CRDs: ours and the upstream kinds the operator writes, at the shared cluster's versions.
  if (!applyCrds(k, [crdDir, ...sharedUpstream.map((d) => path.join(sharedCrds, d))], 'crds/ + ' + sharedUpstream.join(' + '))) return;
  let r = kubectl(['create', 'namespace', namespace]);
  c.equal(r.status, 0, `create namespace (stderr: ${r.stderr.trim()})`);
  generatedObjectsAdmitted(k, namespace, sharedUpstream.join(' + '));

  // Valid samples apply.
  const applied = [];
  for (const file of listYaml(samplesDir)) {
    r = kubectl(['apply', '-n', namespace, '-f', file]);
    if (c.equal(r.status, 0, `${path.basename(file)} applies (stderr: ${r.stderr.trim()})`)) {
      for (const d of readYamlDocs(file)) applied.push(d);
    }
  }

  // Invalid samples are rejected, naming their field, and leave nothing behind.
  const rejections = [];
  const invalid = listYaml(path.join(samplesDir, 'invalid'));
  c.ok(invalid.length >= 11, 'invalid samples present');
  for (const file of invalid) {
    const name = path.basename(file);
    const field = (/^# reject-field: (\S+)/.exec(fs.readFileSync(file, 'utf8')) || [])[1];
    if (!c.ok(field, `${name}: has a reject-field line`)) continue;
    r = kubectl(['apply', '-n', namespace, '-f', file]);
    c.ok(r.status !== 0, `${name}: kubectl apply must fail`);
    c.ok(namesField(r.stderr, field), `${name}: the rejection names ${field} (stderr: ${r.stderr.trim()})`);
    rejections.push(r.stderr);
    const doc = readYamlDocs(file)[0];
    const g = kubectl(['get', '-n', namespace, `${doc.kind.toLowerCase()}.sluice.dev/${doc.metadata.name}`]);
    c.ok(g.status !== 0 && /NotFound|not found/.test(g.stderr), `${name}: nothing was stored`);
  }

  // Every CEL rule of our CRDs is exercised by some invalid sample (its message shows up). A
  // uniqueness rule that duplicates an x-kubernetes-list-type map may be pre-empted by the
  // list's own "Duplicate value" error, which counts for it.
  for (const f of listYaml(crdDir)) {
    const crd = readYamlDocs(f)[0];
    walk(crd.spec.versions[0].schema.openAPIV3Schema, '', (node) => {
      for (const rule of node['x-kubernetes-validations'] || []) {
        const seen = rejections.some((e) => e.includes(rule.message) ||
          (node['x-kubernetes-list-type'] === 'map' && /must be unique/.test(rule.message) && /Duplicate value/.test(e)));
        c.ok(seen, `${crd.spec.names.kind} rule "${rule.message}" is exercised by a samples/invalid file`);
      }
    });
  }

  // Schema defaults were applied (checkout-eastus leaves steps, interval and analysis knobs out).
  r = kubectl(['get', '-n', namespace, 'canaryrollout.sluice.dev/checkout-eastus', '-o', 'json']);
  if (c.equal(r.status, 0, 'get checkout-eastus')) {
    const spec = JSON.parse(r.stdout).spec;
    c.equal(spec.steps, [5, 10, 25, 50, 75, 100], 'default steps');
    c.equal(spec.stepInterval, '1m', 'default stepInterval');
    c.equal([spec.analysis.interval, spec.analysis.failureLimit, spec.analysis.minRequests], ['30s', 2, 100], 'default analysis interval/failureLimit/minRequests');
    c.equal(spec.paused, false, 'default paused');
    c.equal(spec.match[0].headers[0].type, 'Exact', 'default header match type');
  }

  // Status through the status subresource shows in the printer columns.
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ready = { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: now, observedGeneration: 1 };
  const statuses = {
    'canaryrollout.sluice.dev/payment-api': [{ phase: 'Progressing', currentStep: 2, canaryWeight: 25, conditions: [ready] }, ['Progressing', '2', '25']],
    'trafficpolicy.sluice.dev/checkout': [{ activeBackends: 3, conditions: [ready] }, ['Hybrid', '3', 'True']],
    'tierlimit.sluice.dev/checkout': [{ tierCount: 3, hpa: { name: 'checkout', minReplicas: 2 }, conditions: [ready] }, ['3', 'checkout', 'True']],
  };
  for (const [obj, [status, cols]] of Object.entries(statuses)) {
    r = kubectl(['patch', '-n', namespace, obj, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    if (!c.equal(r.status, 0, `${obj}: status patch (stderr: ${r.stderr.trim()})`)) continue;
    r = kubectl(['get', '-n', namespace, obj, '--no-headers']);
    const fields = r.stdout.trim().split(/\s+/);
    c.equal(fields.slice(1, 1 + cols.length), cols, `${obj}: printer columns`);
  }
  r = kubectl(['patch', '-n', namespace, 'canaryrollout.sluice.dev/payment-api', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Exploded"}}']);
  c.ok(r.status !== 0 && namesField(r.stderr, 'status.phase'), `status.phase is an enum (stderr: ${r.stderr.trim()})`);

  // Short names and the category.
  for (const [short, kind] of [['tp', 'trafficpolicy'], ['cr', 'canaryrollout'], ['tl', 'tierlimit']]) {
    r = kubectl(['get', '-n', namespace, short, '-o', 'name']);
    c.ok(r.status === 0 && r.stdout.includes(`${kind}.sluice.dev/`), `kubectl get ${short} lists ${kind}s (stderr: ${r.stderr.trim()})`);
  }
  r = kubectl(['get', 'sluice', '-n', namespace, '-o', 'name']);
  const listed = r.stdout.trim().split('\n').filter(Boolean).sort();
  const want = applied.map((d) => `${d.kind.toLowerCase()}.sluice.dev/${d.metadata.name}`).sort();
  c.equal(listed, want, 'kubectl get sluice lists every sample');

  // kubectl explain reads the descriptions (the published OpenAPI of each kind).
  for (const f of listYaml(crdDir)) {
    const crd = readYamlDocs(f)[0];
    const kind = crd.spec.names.kind;
    const top = crd.spec.versions[0].schema.openAPIV3Schema;
    r = kubectl(['explain', crd.spec.names.singular]);
    c.ok(r.status === 0 && new RegExp(`KIND:\\s+${kind}`).test(r.stdout) && /GROUP:\s+sluice\.dev\n/.test(r.stdout) && /VERSION:\s+v1alpha1\n/.test(r.stdout) &&
      r.stdout.includes(top.description.trim().split(/\s+/).slice(0, 4).join(' ')),
      `kubectl explain ${crd.spec.names.singular} shows the kind and its description (stdout: ${r.stdout.slice(0, 300)} stderr: ${r.stderr.trim()})`);
    r = kubectl(['explain', `${crd.spec.names.singular}.spec`]);
    const fields = Object.keys(top.properties.spec.properties);
    c.ok(r.status === 0 && fields.every((p) => new RegExp(`^\\s+${p}\\s+<`, 'm').test(r.stdout)),
      `kubectl explain ${crd.spec.names.singular}.spec lists ${fields.join(', ')} (stderr: ${r.stderr.trim()})`);
  }
  r = kubectl(['explain', 'tierlimit.spec.autoscaling.schedules.cron']);
  c.ok(r.status === 0 && /five-field cron expression/.test(r.stdout), `kubectl explain shows nested field descriptions (stderr: ${r.stderr.trim()})`);

  kubectl(['delete', 'namespace', namespace, '--wait=false']);

  upstreamReleases();
}

main();
c.done();
