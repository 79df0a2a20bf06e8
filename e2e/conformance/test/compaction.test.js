'use strict';
// etcd compaction straight through to clients: a control plane of this file's own with
// kube-apiserver's watch cache off (--watch-cache=false), so watches and lists are served by
// etcd and a compacted resourceVersion is 410 Gone (api-concepts.md#410-gone-responses). With the
// watch cache on (the default) compaction alone does not expire them: faults.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster } = require('./helpers');

let c; let ns;
test.before(async () => { c = await Cluster.own({ apiserverFlags: '--watch-cache=false' }); ns = await c.createNamespace('compaction'); });
test.after(async () => { if (c) await c.stop(); });

const cmList = () => `/api/v1/namespaces/${ns}/configmaps`;
const cm = (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

// A resourceVersion at or after the compaction revision is still readable; so each case writes
// twice after the resourceVersion it keeps before compacting at the current revision.

test('watch: from a compacted resourceVersion, one ERROR event with 410 Expired; open watches go on', async () => {
  await c.post(cmList(), cm('w-1'));
  const rv = (await c.get(cmList())).body.metadata.resourceVersion;
  await c.post(cmList(), cm('w-2'));
  const ok = c.watch(`${cmList()}?watch=1&resourceVersion=${rv}`);
  await ok.ready;
  assert.ok(await ok.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'w-2'), 'served before the compaction');
  await c.post(cmList(), cm('w-3'));
  assert.ok(await ok.next((e) => e.object.metadata.name === 'w-3'));
  const compacted = Number(await c.clusterSh('compact'));
  assert.ok(compacted > Number(rv) + 1);
  await c.post(cmList(), cm('w-4'));
  assert.ok(await ok.next((e) => e.object.metadata.name === 'w-4'), 'a watch open across the compaction continues');
  ok.close();
  const w = c.watch(`${cmList()}?watch=1&resourceVersion=${rv}`);
  await w.ready;
  const ev = await w.next();
  await w.endedPromise();
  assert.equal(w.status, 200, 'the error comes as an event, not as the HTTP status');
  assert.equal(ev.type, 'ERROR');
  assert.equal(ev.object.kind, 'Status');
  assert.equal(ev.object.code, 410);
  assert.equal(ev.object.reason, 'Expired');
  assert.equal(ev.object.message, 'The resourceVersion for the provided watch is too old.');
  assert.equal(w.events.length, 0, 'nothing after the ERROR');
});

// api-concepts.md#retrieving-large-results-sets-in-chunks: a continue token whose snapshot was
// compacted is 410 Expired; the Status carries a new continue token for an inconsistent
// continuation, which a client may use or (like the operator's informer) restart the list.
test('list: a continue token from before a compaction is 410 Expired with an inconsistent continue', async () => {
  for (const n of ['l-1', 'l-2', 'l-3']) await c.post(cmList(), cm(n));
  const page = await c.get(`${cmList()}?limit=1&labelSelector=!none`);
  assert.deepEqual(page.body.items.map((i) => i.metadata.name), ['l-1']);
  await c.post(cmList(), cm('l-4'));
  await c.post(cmList(), cm('l-5'));
  await c.clusterSh('compact');
  const cont = await c.get(`${cmList()}?limit=1&labelSelector=!none&continue=${encodeURIComponent(page.body.metadata.continue)}`);
  assert.equal(cont.status, 410);
  assert.equal(cont.body.kind, 'Status');
  assert.equal(cont.body.reason, 'Expired');
  assert.match(cont.body.message, /^The provided continue parameter is too old to display a consistent list result/);
  const inconsistent = cont.body.metadata.continue;
  assert.ok(inconsistent, 'a continue token for the rest, at the current state');
  const rest = await c.get(`${cmList()}?limit=100&labelSelector=!none&continue=${encodeURIComponent(inconsistent)}`);
  assert.equal(rest.status, 200);
  assert.ok(rest.body.items.some((i) => i.metadata.name === 'l-5'), 'the rest includes writes made after the first page');
});

// resourceVersionMatch=Exact at a compacted resourceVersion: 410 Expired.
test('list: resourceVersionMatch=Exact at a compacted resourceVersion is 410 Expired', async () => {
  const rv = (await c.get(cmList())).body.metadata.resourceVersion;
  const exact = await c.get(`${cmList()}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
  assert.equal(exact.status, 200);
  await c.post(cmList(), cm('e-1'));
  await c.post(cmList(), cm('e-2'));
  await c.clusterSh('compact');
  const gone = await c.get(`${cmList()}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
  assert.equal(gone.status, 410);
  assert.equal(gone.body.reason, 'Expired');
  assert.equal(gone.body.message, 'The resourceVersion for the provided list is too old.');
});
