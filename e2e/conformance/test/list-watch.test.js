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

// api-concepts.md#retrieving-large-results-sets-in-chunks: the pages of a list are one snapshot,
// taken at the first page's resourceVersion; every page carries that resourceVersion, and writes
// made meanwhile are not seen (a deleted object is still listed, a new one is not, a changed one
// shows its old content). The watch that follows starts from that resourceVersion and delivers
// those writes.
test('list: the pages of a paginated list are one consistent snapshot', async () => {
  const ns3 = await c.createNamespace('snapshot');
  const url = `/api/v1/namespaces/${ns3}/configmaps`;
  for (const n of ['p-1', 'p-2', 'p-3', 'p-4']) await c.post(url, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: { v: 'old' } });
  const first = await c.get(`${url}?limit=2`);
  assert.deepEqual(names(first), ['p-1', 'p-2']);
  const rv = first.body.metadata.resourceVersion;
  await c.del(`${url}/p-4`);
  await c.post(url, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p-5' }, data: { v: 'new' } });
  await c.patch(`${url}/p-3`, { data: { v: 'new' } }, 'application/merge-patch+json');
  const second = await c.get(`${url}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
  assert.equal(second.status, 200);
  assert.equal(second.body.metadata.resourceVersion, rv, 'every page has the snapshot resourceVersion');
  assert.deepEqual(second.body.items.map((i) => `${i.metadata.name}=${i.data.v}`), ['p-3=old', 'p-4=old']);
  assert.equal(second.body.metadata.continue, undefined);
  const w = c.watch(`${url}?watch=1&resourceVersion=${rv}`);
  await w.ready;
  const seen = [];
  for (let i = 0; i < 3; i++) { const e = await w.next(); if (e) seen.push(`${e.type} ${e.object.metadata.name}`); }
  w.close();
  assert.deepEqual(seen, ['DELETED p-4', 'ADDED p-5', 'MODIFIED p-3']);
  await c.deleteNamespace(ns3);
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
// carrying only a resourceVersion. kube-apiserver's cadence (watch cache): about once a minute,
// and about 2 s before the watch's timeoutSeconds runs out; and only when the resource has
// changed since the watch's resourceVersion (an idle resource gets no bookmarks at all). Here:
// timeoutSeconds=5 and writes to another namespace, so a bookmark comes 2-4 s in.
test('watch: allowWatchBookmarks delivers BOOKMARK events before the timeout', async () => {
  const list = await c.get(`/api/v1/namespaces/${ns}/configmaps`);
  const t0 = Date.now();
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=5&resourceVersion=${list.body.metadata.resourceVersion}`);
  await w.ready;
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++) {
      const r = await c.post(`/api/v1/namespaces/${ns2}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'ticker-' }, data: { i: String(i) } });
      assert.equal(r.status, 201);
      await sleep(300);
    }
  })();
  const b = await w.next((e) => e.type === 'BOOKMARK', 8000);
  const dt = Date.now() - t0;
  writing = false;
  await writes;
  w.close();
  assert.ok(b, 'a bookmark arrives');
  assert.ok(dt < 5000, `bookmark after ${dt} ms, before the timeout`);
  assert.equal(b.object.kind, 'ConfigMap');
  assert.equal(b.object.apiVersion, 'v1');
  assert.deepEqual(Object.keys(b.object.metadata), ['resourceVersion']);
  assert.ok(Number(b.object.metadata.resourceVersion) > Number(list.body.metadata.resourceVersion));
  assert.ok(w.events.every((e) => e.type !== 'ADDED'), 'writes elsewhere are not delivered, only their resourceVersion');
});

// KEP-3157 (watch-list, sendInitialEvents=true): the current objects as ADDED events, then a
// BOOKMARK annotated k8s.io/initial-events-end at once, then changes.
test('watch: sendInitialEvents ends the initial ADDED events with an annotated BOOKMARK', async () => {
  const w = c.watch(`/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=app%3Db&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
  await w.ready;
  const b = await w.next((e) => e.type === 'BOOKMARK', 3000);
  w.close();
  assert.ok(b, 'the initial-events-end bookmark');
  assert.equal(b.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['ADDED cm-02', 'ADDED cm-07']);
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
