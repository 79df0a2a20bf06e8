'use strict';
// PATCH: JSON merge patch, JSON patch, strategic merge patch and server-side apply.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster, installWidgetCrd } = require('./helpers');

const GROUP = 'patch.sluice.dev';
let c; let ns;
test.before(async () => { c = await Cluster.start(); await installWidgetCrd(c, GROUP); ns = await c.createNamespace('patch'); });
test.after(async () => {
  await c.deleteNamespace(ns);
  await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${GROUP}`);
  await c.stop();
});

const cmUrl = (n) => `/api/v1/namespaces/${ns}/configmaps/${n}`;
const depUrl = (n) => `/apis/apps/v1/namespaces/${ns}/deployments/${n}`;
const wUrl = (n) => `/apis/${GROUP}/v1/namespaces/${ns}/widgets/${n}`;
const deployment = (name, containers) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } } });

// RFC 7386 / api-conventions (PATCH operations): null deletes, maps merge, lists replace.
test('JSON merge patch merges maps, deletes with null and replaces lists', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', labels: { a: '1', b: '2' } }, data: { x: '1', y: '2' } });
  const r = await c.patch(cmUrl('m'), { metadata: { labels: { b: null, c: '3' } }, data: { y: '22' } }, 'application/merge-patch+json');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.metadata.labels, { a: '1', c: '3' });
  assert.deepEqual(r.body.data, { x: '1', y: '22' });
});

// RFC 6902 JSON patch, including a failing test op (422 in kube-apiserver).
test('JSON patch applies operations in order; a failed test op rejects the patch', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j' }, data: { x: '1' } });
  const r = await c.patch(cmUrl('j'), [{ op: 'add', path: '/data/y', value: '2' }, { op: 'replace', path: '/data/x', value: '10' }, { op: 'remove', path: '/data/y' }], 'application/json-patch+json');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data, { x: '10' });
  const t = await c.patch(cmUrl('j'), [{ op: 'test', path: '/data/x', value: 'nope' }, { op: 'replace', path: '/data/x', value: '11' }], 'application/json-patch+json');
  assert.equal(t.status, 422);
  assert.equal((await c.get(cmUrl('j'))).body.data.x, '10');
});

// A patch carrying a stale metadata.resourceVersion is a precondition: 409 Conflict.
test('merge patch with a stale resourceVersion is 409 Conflict', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pre' }, data: { x: '1' } });
  await c.patch(cmUrl('pre'), { data: { x: '2' } }, 'application/merge-patch+json');
  const r = await c.patch(cmUrl('pre'), { metadata: { resourceVersion: a.body.metadata.resourceVersion }, data: { x: '3' } }, 'application/merge-patch+json');
  assert.equal(r.status, 409);
  assert.equal(r.body.reason, 'Conflict');
});

// strategic-merge-patch.md: containers merge by name, $patch: delete removes an element.
test('strategic merge patch merges containers by name', async () => {
  const a = await c.post(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('smp', [{ name: 'app', image: 'app:1' }, { name: 'side', image: 'side:1' }]));
  assert.equal(a.status, 201, a.text);
  const r = await c.patch(depUrl('smp'), { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }, { name: 'new', image: 'new:1' }] } } } }, 'application/strategic-merge-patch+json');
  assert.equal(r.status, 200, r.text);
  const byName = Object.fromEntries(r.body.spec.template.spec.containers.map((x) => [x.name, x.image]));
  assert.deepEqual(byName, { app: 'app:2', side: 'side:1', new: 'new:1' });
  const d = await c.patch(depUrl('smp'), { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } }, 'application/strategic-merge-patch+json');
  assert.deepEqual(d.body.spec.template.spec.containers.map((x) => x.name).sort(), ['app', 'new']);
});

// Strategic merge patch is not supported for custom resources (415 UnsupportedMediaType).
test('strategic merge patch on a custom resource is 415', async () => {
  await c.post(`/apis/${GROUP}/v1/namespaces/${ns}/widgets`, { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } });
  const r = await c.patch(wUrl('w'), { spec: { size: 2 } }, 'application/strategic-merge-patch+json');
  assert.equal(r.status, 415);
});

// server-side-apply.md: apply creates the object, records managedFields for the manager with
// operation Apply, and requires fieldManager (without it: 422 Invalid on PatchOptions).
test('server-side apply creates the object and records managedFields', async () => {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', labels: { owner: 'one' } }, data: { a: '1' } };
  const noMgr = await c.patch(cmUrl('ssa'), body, 'application/apply-patch+yaml');
  assert.equal(noMgr.status, 422);
  assert.equal(noMgr.body.reason, 'Invalid');
  assert.equal(noMgr.body.details.kind, 'PatchOptions');
  assert.deepEqual(noMgr.body.details.causes.map((x) => `${x.field}:${x.reason}`), ['fieldManager:FieldValueRequired']);
  const r = await c.patch(`${cmUrl('ssa')}?fieldManager=one`, body, 'application/apply-patch+yaml');
  assert.equal(r.status, 201, r.text);
  const mf = r.body.metadata.managedFields.find((m) => m.manager === 'one');
  assert.equal(mf.operation, 'Apply');
  assert.equal(mf.fieldsType, 'FieldsV1');
  assert.deepEqual(mf.fieldsV1['f:data'], { 'f:a': {} });
  assert.deepEqual(mf.fieldsV1['f:metadata']['f:labels'], { 'f:owner': {} });
  // YAML body works too.
  const y = await c.patch(`${cmUrl('ssa-yaml')}?fieldManager=one`, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-yaml\ndata:\n  k: v\n', 'application/apply-patch+yaml');
  assert.equal(y.status, 201, y.text);
  assert.deepEqual(y.body.data, { k: 'v' });
});

// server-side-apply.md#conflicts: another manager changing an owned field conflicts (409 naming
// the manager and field); force takes ownership; an equal value is shared without conflict.
test('server-side apply conflicts, force and shared ownership', async () => {
  const base = (v) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'own' }, data: { k: v } });
  assert.equal((await c.patch(`${cmUrl('own')}?fieldManager=alice`, base('a'), 'application/apply-patch+yaml')).status, 201);
  const same = await c.patch(`${cmUrl('own')}?fieldManager=bob`, base('a'), 'application/apply-patch+yaml');
  assert.equal(same.status, 200, 'same value: no conflict');
  const conflict = await c.patch(`${cmUrl('own')}?fieldManager=carol`, base('c'), 'application/apply-patch+yaml');
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.reason, 'Conflict');
  assert.match(conflict.body.message, /Apply failed with \d conflicts?: conflicts? with "(alice|bob)"/);
  assert.ok(conflict.body.details.causes.every((x) => x.reason === 'FieldManagerConflict' && x.field === '.data.k'));
  const forced = await c.patch(`${cmUrl('own')}?fieldManager=carol&force=true`, base('c'), 'application/apply-patch+yaml');
  assert.equal(forced.status, 200);
  assert.equal(forced.body.data.k, 'c');
  const owners = forced.body.metadata.managedFields.filter((m) => m.fieldsV1['f:data'] && m.fieldsV1['f:data']['f:k']).map((m) => m.manager);
  assert.deepEqual(owners, ['carol']);
});

// An Update (non-apply write) takes ownership of the fields it changes, so a later apply of a
// different value by the original applier conflicts with the updater.
test('server-side apply conflicts with a field changed by an update manager', async () => {
  await c.patch(`${cmUrl('upd')}?fieldManager=applier`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'upd' }, data: { k: '1' } }, 'application/apply-patch+yaml');
  const p = await c.patch(`${cmUrl('upd')}?fieldManager=editor`, { data: { k: '2' } }, 'application/merge-patch+json');
  assert.equal(p.status, 200);
  const editor = p.body.metadata.managedFields.find((m) => m.manager === 'editor');
  assert.equal(editor.operation, 'Update');
  const r = await c.patch(`${cmUrl('upd')}?fieldManager=applier`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'upd' }, data: { k: '1' } }, 'application/apply-patch+yaml');
  assert.equal(r.status, 409);
  assert.match(r.body.message, /conflict with "editor"/);
});

// server-side-apply.md#field-management: fields the manager stops applying are removed when
// nobody else owns them.
test('server-side apply removes fields the manager no longer applies', async () => {
  await c.patch(`${cmUrl('shrink')}?fieldManager=m`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shrink' }, data: { keep: '1', drop: '2' } }, 'application/apply-patch+yaml');
  const r = await c.patch(`${cmUrl('shrink')}?fieldManager=m`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shrink' }, data: { keep: '1' } }, 'application/apply-patch+yaml');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data, { keep: '1' });
});

// An apply that changes nothing does not write: resourceVersion stays (what lets controllers
// apply idempotently without churn).
test('server-side apply of an unchanged configuration keeps resourceVersion', async () => {
  const body = { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'idem' }, spec: { size: 3, steps: [10, 100] } };
  const a = await c.patch(`${wUrl('idem')}?fieldManager=op`, body, 'application/apply-patch+yaml');
  assert.equal(a.status, 201, a.text);
  const b = await c.patch(`${wUrl('idem')}?fieldManager=op`, body, 'application/apply-patch+yaml');
  assert.equal(b.status, 200);
  assert.equal(b.body.metadata.resourceVersion, a.body.metadata.resourceVersion);
  assert.equal(b.body.metadata.generation, 1);
  // Applying status through /status under its own manager.
  const s = await c.patch(`${wUrl('idem')}/status?fieldManager=op`, { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'idem' }, status: { phase: 'Ready' } }, 'application/apply-patch+yaml');
  assert.equal(s.status, 200, s.text);
  assert.equal(s.body.status.phase, 'Ready');
  assert.equal(s.body.metadata.generation, 1);
});

// server-side-apply.md#merge-strategy: containers are a map-list keyed by name, so two
// managers each applying their own container both keep them, and each owns k:{"name":...}.
test('server-side apply merges built-in map-lists by key across managers', async () => {
  const dep = (containers) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa-dep' },
    spec: { selector: { matchLabels: { app: 'ssa-dep' } }, template: { metadata: { labels: { app: 'ssa-dep' } }, spec: { containers } } } });
  const a = await c.patch(`${depUrl('ssa-dep')}?fieldManager=team-a`, dep([{ name: 'a', image: 'a:1' }]), 'application/apply-patch+yaml');
  assert.equal(a.status, 201, a.text);
  const b = await c.patch(`${depUrl('ssa-dep')}?fieldManager=team-b`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa-dep' },
    spec: { template: { spec: { containers: [{ name: 'b', image: 'b:1' }] } } } }, 'application/apply-patch+yaml');
  assert.equal(b.status, 200, b.text);
  assert.deepEqual(b.body.spec.template.spec.containers.map((x) => x.name).sort(), ['a', 'b']);
  const mb = b.body.metadata.managedFields.find((m) => m.manager === 'team-b');
  assert.ok(mb.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"b"}'], JSON.stringify(mb.fieldsV1));
  // team-b drops its container: it goes away, team-a's stays.
  const b2 = await c.patch(`${depUrl('ssa-dep')}?fieldManager=team-b`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa-dep' } }, 'application/apply-patch+yaml');
  assert.equal(b2.status, 200, b2.text);
  assert.deepEqual(b2.body.spec.template.spec.containers.map((x) => x.name), ['a']);
});

// server-side-apply.md#clearing-managedfields: writing managedFields: [] clears them; a
// non-empty list sent by the client replaces the live ones (what kubectl's client-side → server-
// side apply migration does). An object without managedFields is not free for all: the first
// apply to it treats every existing field as owned by the manager "before-first-apply", so a
// changed value conflicts with that manager.
test('managedFields can be reset or replaced by the client', async () => {
  await c.patch(`${cmUrl('mf')}?fieldManager=one`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mf' }, data: { a: '1' } }, 'application/apply-patch+yaml');
  const reset = await c.patch(cmUrl('mf'), { metadata: { managedFields: [] } }, 'application/merge-patch+json');
  assert.equal(reset.status, 200);
  assert.equal(reset.body.metadata.managedFields, undefined);
  const cm2 = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mf' }, data: { a: '2' } };
  const blocked = await c.patch(`${cmUrl('mf')}?fieldManager=two`, cm2, 'application/apply-patch+yaml');
  assert.equal(blocked.status, 409, blocked.text);
  assert.match(blocked.body.message, /conflict with "before-first-apply"/);
  const other = await c.patch(`${cmUrl('mf')}?fieldManager=two&force=true`, cm2, 'application/apply-patch+yaml');
  assert.equal(other.status, 200, other.text);
  const mine = [{ manager: 'three', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }];
  const replaced = await c.patch(cmUrl('mf'), [{ op: 'replace', path: '/metadata/managedFields', value: mine }], 'application/json-patch+json');
  assert.equal(replaced.status, 200, replaced.text);
  assert.deepEqual(replaced.body.metadata.managedFields.map((m) => m.manager), ['three']);
  const conflict = await c.patch(`${cmUrl('mf')}?fieldManager=two`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mf' }, data: { a: '3' } }, 'application/apply-patch+yaml');
  assert.equal(conflict.status, 409);
  assert.match(conflict.body.message, /conflict with "three"/);
});
