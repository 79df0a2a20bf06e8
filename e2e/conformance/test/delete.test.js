'use strict';
// Deletion: finalizers, propagation policies, garbage collection, namespace deletion.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster } = require('./helpers');

let c; let ns;
test.before(async () => { c = await Cluster.start(); ns = await c.createNamespace('del'); });
test.after(async () => { await c.deleteNamespace(ns); await c.stop(); });

const cmUrl = (n, namespace = ns) => `/api/v1/namespaces/${namespace}/configmaps/${n}`;
const cm = (name, meta = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...meta } });
const ownerRef = (o, extra = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name, uid: o.metadata.uid, ...extra });
const gone = async (url) => (await c.get(url)).status === 404;

// finalizers.md: an object with finalizers gets deletionTimestamp and stays until every
// finalizer is removed; then it disappears. The DELETE answers 200 (not 202 Accepted: that is
// only for the deprecated orphanDependents=false) with the object as it now is; deleting it
// again changes nothing and is 200 again.
test('finalizers keep a deleted object until they are removed', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('fin', { finalizers: ['example.com/hold'] }));
  const d = await c.del(cmUrl('fin'));
  assert.equal(d.status, 200);
  assert.equal(d.body.kind, 'ConfigMap');
  assert.ok(d.body.metadata.deletionTimestamp);
  const again = await c.del(cmUrl('fin'));
  assert.equal(again.status, 200);
  assert.equal(again.body.metadata.deletionTimestamp, d.body.metadata.deletionTimestamp);
  const g = await c.get(cmUrl('fin'));
  assert.equal(g.status, 200);
  assert.ok(g.body.metadata.deletionTimestamp, 'deletionTimestamp set');
  assert.deepEqual(g.body.metadata.finalizers, ['example.com/hold']);
  // New finalizers cannot be added once deletion started.
  const add = await c.patch(cmUrl('fin'), { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, 'application/merge-patch+json');
  assert.equal(add.status, 422);
  const rm = await c.patch(cmUrl('fin'), { metadata: { finalizers: null } }, 'application/merge-patch+json');
  assert.equal(rm.status, 200);
  await c.eventually(() => gone(cmUrl('fin')), 5000, 'object removed after last finalizer');
});

// A watcher sees the deletionTimestamp as MODIFIED and the final removal as DELETED.
test('watch sees MODIFIED with deletionTimestamp, then DELETED', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('finw', { finalizers: ['example.com/hold'] }));
  const rv = (await c.get(`/api/v1/namespaces/${ns}/configmaps`)).body.metadata.resourceVersion;
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&fieldSelector=metadata.name%3Dfinw&resourceVersion=${rv}`);
  await w.ready;
  await c.del(cmUrl('finw'));
  const m = await w.next((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp);
  await c.patch(cmUrl('finw'), [{ op: 'remove', path: '/metadata/finalizers' }], 'application/json-patch+json');
  const d = await w.next((e) => e.type === 'DELETED');
  w.close();
  assert.ok(m, 'MODIFIED with deletionTimestamp');
  assert.ok(d, 'DELETED');
});

// garbage-collection.md#background-cascading-deletion: dependents whose owner is gone are
// deleted in the background.
test('background cascading deletion removes dependents', async () => {
  const owner = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('bg-owner'))).body;
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('bg-child', { ownerReferences: [ownerRef(owner)] }));
  const d = await c.del(cmUrl('bg-owner'), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
  assert.equal(d.status, 200);
  assert.ok(await gone(cmUrl('bg-owner')));
  await c.eventually(() => gone(cmUrl('bg-child')), 15000, 'dependent collected');
});

// garbage-collection.md: a dependent with another living owner is kept (the dangling reference
// is dropped).
test('a dependent with another living owner survives', async () => {
  const a = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('two-a'))).body;
  const b = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('two-b'))).body;
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('two-child', { ownerReferences: [ownerRef(a), ownerRef(b)] }));
  await c.del(cmUrl('two-a'));
  await c.eventually(async () => {
    const g = await c.get(cmUrl('two-child'));
    return g.status === 200 && g.body.metadata.ownerReferences.length === 1;
  }, 15000, 'dangling owner reference removed');
  assert.equal((await c.get(cmUrl('two-child'))).body.metadata.ownerReferences[0].uid, b.metadata.uid);
});

// garbage-collection.md#foreground-deletion: the owner gets the foregroundDeletion finalizer
// and goes away after its dependents.
test('foreground deletion removes dependents first', async () => {
  const owner = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('fg-owner'))).body;
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('fg-child', { ownerReferences: [ownerRef(owner, { blockOwnerDeletion: true })] }));
  const d = await c.del(cmUrl('fg-owner'), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
  assert.equal(d.status, 200);
  assert.ok(d.body.metadata.deletionTimestamp);
  assert.ok(d.body.metadata.finalizers.includes('foregroundDeletion'));
  await c.eventually(() => gone(cmUrl('fg-child')), 15000, 'dependent deleted');
  await c.eventually(() => gone(cmUrl('fg-owner')), 15000, 'owner deleted after dependents');
});

// garbage-collection.md#orphaned-dependents: Orphan removes the owner reference and keeps the
// dependent.
test('orphan deletion keeps dependents and removes their owner reference', async () => {
  const owner = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('or-owner'))).body;
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('or-child', { ownerReferences: [ownerRef(owner)] }));
  await c.del(cmUrl('or-owner'), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
  await c.eventually(() => gone(cmUrl('or-owner')), 15000, 'owner deleted');
  const child = await c.get(cmUrl('or-child'));
  assert.equal(child.status, 200);
  assert.equal(child.body.metadata.ownerReferences, undefined);
});

// Response of an immediate delete: a Success Status for stores without ReturnDeletedObject
// (configmaps), the deleted object for custom resources and pods (generic registry store).
test('immediate delete answers 200 with a Success Status for configmaps', async () => {
  const a = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('status-del'))).body;
  const d = await c.del(cmUrl('status-del'));
  assert.equal(d.status, 200);
  assert.equal(d.body.kind, 'Status');
  assert.equal(d.body.status, 'Success');
  assert.equal(d.body.details.name, 'status-del');
  assert.equal(d.body.details.kind, 'configmaps');
  assert.equal(d.body.details.uid, a.metadata.uid);
});

// api-concepts.md#dry-run: DELETE ?dryRun=All runs admission and answers as a delete would, but
// removes nothing and sets no deletionTimestamp.
test('DELETE with dryRun=All answers like a delete and changes nothing', async () => {
  const a = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('dry'))).body;
  const d = await c.del(`${cmUrl('dry')}?dryRun=All`);
  assert.equal(d.status, 200);
  assert.equal(d.body.kind, 'Status');
  assert.equal(d.body.status, 'Success');
  const g = await c.get(cmUrl('dry'));
  assert.equal(g.status, 200, 'still there');
  assert.equal(g.body.metadata.resourceVersion, a.metadata.resourceVersion);
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('dry-fin', { finalizers: ['example.com/hold'] }));
  const f = await c.del(`${cmUrl('dry-fin')}?dryRun=All`);
  assert.equal(f.status, 200);
  assert.ok(f.body.metadata.deletionTimestamp, 'the answer shows what a delete would do');
  assert.equal((await c.get(cmUrl('dry-fin'))).body.metadata.deletionTimestamp, undefined, 'but nothing was written');
  await c.patch(cmUrl('dry-fin'), { metadata: { finalizers: null } }, 'application/merge-patch+json');
  assert.equal((await c.del(`${cmUrl('nothing-here')}?dryRun=All`)).status, 404);
});

// api-conventions.md#concurrency-control-and-consistency: delete preconditions.
test('delete with a stale resourceVersion precondition is 409', async () => {
  const a = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('precond'))).body;
  await c.patch(cmUrl('precond'), { data: { x: '1' } }, 'application/merge-patch+json');
  const d = await c.del(cmUrl('precond'), { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: a.metadata.resourceVersion } });
  assert.equal(d.status, 409);
  assert.equal(d.body.reason, 'Conflict');
  assert.equal((await c.del(cmUrl('precond'))).status, 200);
  assert.equal((await c.del(cmUrl('precond'))).status, 404);
});

// namespaces.md: deleting a namespace puts it in Terminating, refuses new content, deletes its
// contents and then the namespace.
test('namespace deletion removes its contents and the namespace', async () => {
  const tmp = await c.createNamespace('doomed');
  await c.post(`/api/v1/namespaces/${tmp}/configmaps`, cm('inside', { finalizers: ['example.com/hold'] }));
  const d = await c.del(`/api/v1/namespaces/${tmp}`);
  assert.equal(d.status, 200);
  assert.equal(d.body.kind, 'Namespace');
  assert.equal(d.body.status.phase, 'Terminating');
  const g = await c.get(`/api/v1/namespaces/${tmp}`);
  assert.equal(g.body.status.phase, 'Terminating');
  const create = await c.post(`/api/v1/namespaces/${tmp}/configmaps`, cm('late'));
  assert.equal(create.status, 403);
  assert.equal(create.body.reason, 'Forbidden');
  assert.match(create.body.message, /because it is being terminated/);
  await c.eventually(async () => { const x = await c.get(cmUrl('inside', tmp)); return x.status === 200 && x.body.metadata.deletionTimestamp; }, 15000, 'content marked for deletion');
  await c.patch(cmUrl('inside', tmp), { metadata: { finalizers: null } }, 'application/merge-patch+json');
  await c.eventually(() => gone(`/api/v1/namespaces/${tmp}`), 30000, 'namespace removed');
});
