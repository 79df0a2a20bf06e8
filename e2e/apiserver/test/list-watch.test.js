'use strict';
// List (chunking, selectors) and watch semantics.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster, sleep } = require('./helpers');

let c; let ns; let ns2;
test.before(async () => {
  c = await Cluster.start();
  ns = await c.createNamespace('list');
  ns2 = await c.createNamespace('list2');
  const labels = [{ app: 'a', tier: 'front' }, { app: 'a', tier: 'back' }, { app: 'b', tier: 'front' }, { app: 'c' }, {}];
  for (let i = 0; i < 12; i++) {
    const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${String(i).padStart(2, '0')}`, labels: labels[i % labels.length] } });
    assert.equal(r.status, 201);
  }
  await c.post(`/api/v1/namespaces/${ns2}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', labels: { app: 'a' } } });
});
test.after(async () => { await c.deleteNamespace(ns); await c.deleteNamespace(ns2); await c.stop(); });

const names = (r) => r.body.items.map((i) => i.metadata.name).sort();

// api-concepts.md#retrieving-large-results-sets-in-chunks: limit + opaque continue token; every
// object appears exactly once across the pages and the last page has no continue token.
test('list: limit and continue page through every object exactly once', async () => {
  const seen = [];
  let cont = '';
  let pages = 0;
  do {
    const r = await c.get(`/api/v1/namespaces/${ns}/configmaps?limit=5${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.kind, 'ConfigMapList');
    assert.ok(r.body.items.length <= 5);
    seen.push(...r.body.items.map((i) => i.metadata.name));
    cont = r.body.metadata.continue;
    if (cont) assert.equal(typeof r.body.metadata.remainingItemCount, 'number');
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.equal(seen.length, 12);
  assert.equal(new Set(seen).size, 12);
});

test('list: a malformed continue token is 400 BadRequest', async () => {
  const r = await c.get(`/api/v1/namespaces/${ns}/configmaps?limit=5&continue=not-a-token`);
  assert.equal(r.status, 400);
  assert.equal(r.body.reason, 'BadRequest');
});

// labels.md#label-selectors: equality-based (=, ==, !=) and set-based (in, notin, exists, !exists).
test('list: label selectors', async () => {
  const q = async (sel) => names(await c.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent(sel)}`));
  assert.deepEqual(await q('app=a'), ['cm-00', 'cm-01', 'cm-05', 'cm-06', 'cm-10', 'cm-11']);
  assert.deepEqual(await q('app==b'), ['cm-02', 'cm-07']);
  assert.deepEqual(await q('app=a,tier!=front'), ['cm-01', 'cm-06', 'cm-11']);
  assert.deepEqual(await q('app in (b,c)'), ['cm-02', 'cm-03', 'cm-07', 'cm-08']);
  assert.deepEqual(await q('app notin (a,b)'), ['cm-03', 'cm-04', 'cm-08', 'cm-09']);
  assert.deepEqual(await q('tier'), ['cm-00', 'cm-01', 'cm-02', 'cm-05', 'cm-06', 'cm-07', 'cm-10', 'cm-11']);
  assert.deepEqual(await q('!app'), ['cm-04', 'cm-09']);
});

test('list: a malformed label selector is 400 BadRequest', async () => {
  for (const sel of ['a=b=c', 'app in (a', 'bad key=x']) {
    const r = await c.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent(sel)}`);
    assert.equal(r.status, 400, sel);
    assert.equal(r.body.reason, 'BadRequest');
  }
});

// field-selectors.md: metadata.name and metadata.namespace are supported for every kind;
// unsupported fields are rejected with 400.
test('list: field selectors on metadata.name and metadata.namespace', async () => {
  assert.deepEqual(names(await c.get(`/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%3Dcm-03`)), ['cm-03']);
  assert.equal((await c.get(`/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name!%3Dcm-03`)).body.items.length, 11);
  const all = await c.get(`/api/v1/configmaps?fieldSelector=metadata.namespace%3D${ns2}`);
  assert.deepEqual(names(all), ['other']);
  const bad = await c.get(`/api/v1/namespaces/${ns}/configmaps?fieldSelector=data.x%3D1`);
  assert.equal(bad.status, 400);
});

// api-concepts.md: the cluster-scoped path lists a namespaced kind across all namespaces.
test('list: across all namespaces', async () => {
  const r = await c.get('/api/v1/configmaps?labelSelector=app%3Da');
  const mine = r.body.items.filter((i) => i.metadata.namespace === ns || i.metadata.namespace === ns2);
  assert.equal(mine.length, 7);
  assert.ok(mine.some((i) => i.metadata.namespace === ns2));
});

// api-concepts.md#efficient-detection-of-changes: a watch from a list's resourceVersion
// delivers ADDED, MODIFIED and DELETED in order, as newline-delimited JSON over a chunked
// response.
test('watch: from a list resourceVersion delivers ADDED, MODIFIED, DELETED', async () => {
  const list = await c.get(`/api/v1/namespaces/${ns}/configmaps`);
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
  await w.ready;
  assert.equal(w.status, 200);
  assert.equal(w.headers['transfer-encoding'], 'chunked');
  const created = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } });
  await c.patch(`/api/v1/namespaces/${ns}/configmaps/watched`, { data: { x: 'y' } }, 'application/merge-patch+json');
  await c.del(`/api/v1/namespaces/${ns}/configmaps/watched`);
  const isW = (t) => (e) => e.type === t && e.object.metadata.name === 'watched';
  const a = await w.next(isW('ADDED'));
  const m = await w.next(isW('MODIFIED'));
  const d = await w.next(isW('DELETED'));
  w.close();
  assert.ok(a && m && d, 'all three events');
  assert.equal(a.object.metadata.uid, created.body.metadata.uid);
  assert.equal(a.object.kind, 'ConfigMap');
  assert.deepEqual(m.object.data, { x: 'y' });
  assert.notEqual(a.object.metadata.resourceVersion, m.object.metadata.resourceVersion);
});

// api-concepts.md#semantics-for-watch: without resourceVersion the watch starts with synthetic
// ADDED events for the current state.
test('watch: without resourceVersion starts with the current objects', async () => {
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=app%3Db`);
  await w.ready;
  const first = await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'cm-02');
  const second = await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'cm-07');
  w.close();
  assert.ok(first && second);
});

// A watch with a label selector sees an object leave the selection as DELETED (watch cache
// filtering semantics).
test('watch: an object that stops matching the selector is reported as DELETED', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mover', labels: { move: 'yes' } } });
  const list = await c.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=move%3Dyes`);
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=move%3Dyes&resourceVersion=${list.body.metadata.resourceVersion}`);
  await w.ready;
  await c.patch(`/api/v1/namespaces/${ns}/configmaps/mover`, { metadata: { labels: { move: 'no' } } }, 'application/merge-patch+json');
  const ev = await w.next((e) => e.object.metadata && e.object.metadata.name === 'mover');
  w.close();
  assert.ok(ev);
  assert.equal(ev.type, 'DELETED');
});

// api-concepts.md#watch-bookmarks: with allowWatchBookmarks the server sends BOOKMARK events
// carrying only a resourceVersion.
test('watch: allowWatchBookmarks delivers BOOKMARK events', { skip: process.env.KUBECONFIG ? 'a real apiserver sends bookmarks about once a minute' : false }, async () => {
  const list = await c.get(`/api/v1/namespaces/${ns}/configmaps`);
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=${list.body.metadata.resourceVersion}`);
  await w.ready;
  const b = await w.next((e) => e.type === 'BOOKMARK', 5000);
  w.close();
  assert.ok(b, 'a bookmark arrives');
  assert.equal(b.object.kind, 'ConfigMap');
  assert.match(b.object.metadata.resourceVersion, /^\d+$/);
});

// api-concepts.md: timeoutSeconds ends the watch cleanly.
test('watch: timeoutSeconds closes the stream', async () => {
  const t0 = Date.now();
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&timeoutSeconds=1&resourceVersion=${(await c.get(`/api/v1/namespaces/${ns}/configmaps`)).body.metadata.resourceVersion}`);
  await w.ready;
  await w.endedPromise();
  const dt = Date.now() - t0;
  assert.ok(dt >= 900, `ended after ${dt} ms`);
  assert.ok(dt < 4000, `ended after ${dt} ms`);
});

// api-concepts.md#410-gone-responses: a watch from a resourceVersion older than the retained
// history returns an ERROR event with a 410 Expired Status.
test('watch: a too-old resourceVersion gives 410 Gone (Expired)', async () => {
  // Generate enough writes to move the history window past resourceVersion 1.
  if (!process.env.KUBECONFIG) {
    for (let i = 0; i < 520; i++) await c.put(`/api/v1/namespaces/${ns}/configmaps/cm-00`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-00', labels: { app: 'a', tier: 'front' } }, data: { i: String(i) } });
  }
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=1`);
  await w.ready;
  const ev = await w.next(() => true, 5000);
  w.close();
  if (w.status === 410) return; // also allowed by the convention: the error as the HTTP status
  assert.ok(ev, 'an event');
  assert.equal(ev.type, 'ERROR');
  assert.equal(ev.object.kind, 'Status');
  assert.equal(ev.object.code, 410);
  assert.equal(ev.object.reason, 'Expired');
  assert.match(ev.object.message, /too old resource version/);
});
