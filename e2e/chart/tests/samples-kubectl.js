'use strict';
// e2e.chart.samples-kubectl: the real kubectl against the project's test API server
// (e2e/apiserver, or the cluster in $SLUICE_E2E_KUBECONFIG). Our CRDs and the upstream Gateway
// API / Envoy Gateway CRDs apply; every samples/*.yaml applies and gets the schema defaults;
// every samples/invalid/*.yaml is rejected with a message naming its `# reject-field`, and
// together they exercise every CEL rule; the status subresource feeds the printer columns;
// `kubectl get sluice`, the short names and `kubectl explain` work.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { repoRoot, crdDir, samplesDir, listYaml, readYamlDocs, run, Checker } = require('./lib');
const { walk } = require('./schema');

const c = new Checker('samples-kubectl');
const sharedCrds = path.resolve(repoRoot, '..', 'shared', 'crds');

let dir = null;
let pid = null;
let kubeconfig = process.env.SLUICE_E2E_KUBECONFIG;
const namespace = `sluice-samples-${process.pid}`;

function cleanup() {
  if (pid) {
    try { process.kill(pid, 'SIGTERM'); } catch (e) { /* already gone */ }
    pid = null;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = null;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(1); });

function kubectl(args, input) {
  return run('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, input, timeout: 60000 });
}

// kube-apiserver names the field first: "spec.steps: Invalid value", "spec.tiers[1]: Duplicate".
function namesField(message, field) {
  const esc = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s"'])${esc}(:|\\[)`, 'm').test(message);
}

function main() {
  if (!kubeconfig) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-chart-apiserver-'));
    const start = run(path.join(repoRoot, 'e2e', 'apiserver', 'run.sh'), [dir], { timeout: 60000 });
    if (fs.existsSync(path.join(dir, 'pid'))) pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim());
    if (!c.equal(start.status, 0, `e2e/apiserver/run.sh starts (stderr: ${start.stderr.trim()})`)) return;
    kubeconfig = path.join(dir, 'kubeconfig');
  }

  // CRDs: ours and the upstream kinds the operator writes.
  let r = kubectl(['apply', '-f', crdDir]);
  c.equal(r.status, 0, `kubectl apply -f crds/ (stderr: ${r.stderr.trim()})`);
  if (!c.ok(fs.existsSync(sharedCrds), `upstream CRDs at ${sharedCrds}`)) return;
  for (const sub of fs.readdirSync(sharedCrds).sort()) {
    const p = path.join(sharedCrds, sub);
    if (!fs.statSync(p).isDirectory()) continue;
    r = kubectl(['apply', '--server-side', '-f', p]);
    c.equal(r.status, 0, `kubectl apply -f shared/crds/${sub} (stderr: ${r.stderr.trim()})`);
  }
  const crdNames = listYaml(crdDir).map((f) => `crd/${readYamlDocs(f)[0].metadata.name}`);
  r = kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...crdNames]);
  if (!c.equal(r.status, 0, `CRDs established (stderr: ${r.stderr.trim()})`)) return;
  r = kubectl(['create', 'namespace', namespace]);
  c.equal(r.status, 0, `create namespace (stderr: ${r.stderr.trim()})`);

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

  // kubectl explain reads the descriptions.
  r = kubectl(['explain', 'tierlimit.spec.autoscaling.schedules.cron']);
  c.ok(r.status === 0 && /five-field cron expression/.test(r.stdout), `kubectl explain shows field descriptions (stderr: ${r.stderr.trim()})`);

  kubectl(['delete', 'namespace', namespace, '--wait=false']);
}

try {
  main();
} finally {
  cleanup();
}
c.done();
