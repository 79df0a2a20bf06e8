'use strict';
// The real kubectl against the server: the workflows users and the e2e scripts rely on.
const fs = require('fs');
const os = require('os');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const yaml = require('js-yaml');
const { Cluster, installWidgetCrd, sleep } = require('./helpers');

const GROUP = 'kubectl.sluice.dev';
// Qualified: other test files have widgets of their own groups in the same cluster.
const W = `widgets.${GROUP}`;
let c; let ns; let tmp;
test.before(async () => {
  c = await Cluster.start();
  await installWidgetCrd(c, GROUP);
  ns = await c.createNamespace('kubectl');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-test-'));
});
test.after(async () => {
  await c.deleteNamespace(ns);
  await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${GROUP}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  await c.stop();
});

function file(name, obj) { const p = path.join(tmp, name); fs.writeFileSync(p, yaml.dump(obj)); return p; }
const k = (...args) => c.kubectl(['-n', ns, ...args]);
const deployment = (image) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] } } } });

// kubectl apply (client-side): create, then a three-way strategic merge patch with the
// last-applied-configuration annotation; plain `kubectl apply -f` with default validation.
test('kubectl apply -f (client-side) creates and then updates a Deployment', () => {
  const f = file('dep.yaml', deployment('nginx:1.25'));
  const a = k('apply', '-f', f);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /deployment\.apps\/web created/);
  const f2 = file('dep.yaml', deployment('nginx:1.26'));
  const b = k('apply', '-f', f2);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /deployment\.apps\/web configured/);
  const g = k('get', 'deploy', 'web', '-o', 'json');
  const obj = JSON.parse(g.stdout);
  assert.equal(obj.spec.template.spec.containers[0].image, 'nginx:1.26');
  assert.equal(obj.metadata.generation, 2);
  assert.ok(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  const same = k('apply', '-f', f2);
  assert.match(same.stdout, /deployment\.apps\/web unchanged/);
});

test('kubectl apply --server-side and a conflict reported to the user', () => {
  const w = { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'ssa' }, spec: { size: 2 } };
  const f = file('w.yaml', w);
  const a = k('apply', '--server-side', '-f', f);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /widget\.kubectl\.sluice\.dev\/ssa serverside-applied/);
  const p = k('patch', W, 'ssa', '--type', 'merge', '-p', '{"spec":{"size":5}}');
  assert.equal(p.code, 0, p.stderr);
  const conflict = k('apply', '--server-side', '-f', f);
  assert.notEqual(conflict.code, 0);
  assert.match(conflict.stderr, /conflict with "kubectl-patch"/);
  const forced = k('apply', '--server-side', '--force-conflicts', '-f', f);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(k('get', W, 'ssa', '-o', 'jsonpath={.spec.size}').stdout, '2');
});

// server-side-apply.md#upgrading-from-client-side-apply-to-server-side-apply: kubectl migrates
// the client-side apply ownership (manager kubectl-client-side-apply) to its server-side manager
// on the first `apply --server-side`, so even a changed value does not conflict and needs no
// --force-conflicts.
test('kubectl apply: client-side to server-side migration', async () => {
  const cfg = (v) => file('mig.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mig' }, data: { k: v } });
  assert.equal(k('apply', '-f', cfg('1')).code, 0);
  const migrated = k('apply', '--server-side', '-f', cfg('2'));
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, /configmap\/mig serverside-applied/);
  const live = (await c.get(`/api/v1/namespaces/${ns}/configmaps/mig`)).body;
  const owners = live.metadata.managedFields.filter((m) => m.fieldsV1['f:data'] && m.fieldsV1['f:data']['f:k']).map((m) => `${m.manager}/${m.operation}`);
  assert.deepEqual(owners, ['kubectl/Apply']);
  const later = k('apply', '--server-side', '-f', cfg('3'));
  assert.equal(later.code, 0, later.stderr);
  assert.equal(k('get', 'cm', 'mig', '-o', 'jsonpath={.data.k}').stdout, '3');
});

// Invalid custom resources are refused by plain `kubectl apply`, as on a cluster.
test('kubectl apply of an invalid custom resource fails with the admission message', () => {
  const f = file('bad.yaml', { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 50 } });
  const r = k('apply', '-f', f);
  assert.notEqual(r.code, 0);
  // kubectl rebuilds the message from details.kind and the causes.
  assert.match(r.stderr, /The Widget "bad" is invalid: spec\.size: Invalid value: 50: spec\.size in body should be less than or equal to 10/);
  const unknown = file('unknown.yaml', { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'unk' }, spec: { size: 1, nope: true } });
  const u = k('apply', '-f', unknown);
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /unknown field "spec\.nope"/);
});

test('kubectl get -o yaml, patch (strategic, merge, json), label and describe', () => {
  const y = k('get', 'deploy', 'web', '-o', 'yaml');
  assert.equal(y.code, 0, y.stderr);
  const obj = yaml.load(y.stdout);
  assert.equal(obj.kind, 'Deployment');
  assert.equal(obj.metadata.namespace, ns);
  const smp = k('patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}');
  assert.equal(smp.code, 0, smp.stderr);
  // Merged by name (patchMergeKey); the new container is put ahead of the existing one.
  assert.equal(k('get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[*].name}').stdout, 'sidecar nginx');
  const jp = k('patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]');
  assert.equal(jp.code, 0, jp.stderr);
  const lb = k('label', 'deploy', 'web', 'tier=front');
  assert.equal(lb.code, 0, lb.stderr);
  assert.equal(k('get', 'deploy', '-l', 'tier=front', '-o', 'name').stdout.trim(), 'deployment.apps/web');
  const d = k('describe', 'deploy', 'web');
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Name:\s+web/);
  assert.match(d.stdout, /Replicas:\s+4 desired/);
  const dw = k('describe', W, 'ssa');
  assert.equal(dw.code, 0, dw.stderr);
  assert.match(dw.stdout, /Kind:\s+Widget/);
});

// The scale subresource (autoscaling/v1 Scale) used by `kubectl scale`.
test('kubectl scale changes spec.replicas through the scale subresource', async () => {
  const r = k('scale', 'deploy', 'web', '--replicas=6');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(k('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}').stdout, '6');
  const s = await c.get(`/apis/apps/v1/namespaces/${ns}/deployments/web/scale`);
  assert.equal(s.status, 200);
  assert.equal(s.body.kind, 'Scale');
  assert.equal(s.body.apiVersion, 'autoscaling/v1');
  assert.equal(s.body.spec.replicas, 6);
  assert.equal(s.body.status.selector, 'app=web');
});

test('kubectl get -w streams changes', async () => {
  const proc = c.kubectlAsync(['-n', ns, 'get', W, '-w', '--request-timeout=10s']);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const deadline = Date.now() + 8000;
  while (!/ssa/.test(out) && Date.now() < deadline) await sleep(50);
  const p = k('patch', W, 'ssa', '--type', 'merge', '-p', '{"spec":{"size":7}}');
  assert.equal(p.code, 0, p.stderr);
  while (!/ssa\s+7/.test(out) && Date.now() < deadline) await sleep(50);
  proc.kill('SIGTERM');
  assert.match(out, /NAME\s+SIZE\s+PHASE/);
  assert.match(out, /ssa\s+7/);
});

test('kubectl explain shows a custom resource field', () => {
  const r = c.kubectl(['explain', `${W}.spec.color`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /KIND:\s+Widget/);
  assert.match(r.stdout, /color\s+<string>/);
});

test('kubectl delete waits for deletion; delete of a missing object fails with NotFound', () => {
  const r = k('delete', 'deploy', 'web');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployment\.apps "web" deleted/);
  const again = k('delete', 'deploy', 'web');
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /NotFound/);
});

test('kubectl create namespace / configmap and get all-namespaces', () => {
  const name = `${ns}-x`;
  assert.equal(c.kubectl(['create', 'namespace', name]).code, 0);
  assert.equal(c.kubectl(['-n', name, 'create', 'configmap', 'cfg', '--from-literal=a=b']).code, 0);
  const all = c.kubectl(['get', 'configmaps', '-A']);
  assert.match(all.stdout, new RegExp(`${name}\\s+cfg\\s+1`));
  assert.equal(c.kubectl(['delete', 'namespace', name]).code, 0);
});
