'use strict';
// Faults, for real: API errors, latency and dropped watches from kube-faults (e2e/k8s/faults) in
// front of kube-apiserver, a kube-apiserver restart, etcd compaction under the watch cache. On a
// control plane of this file's own (default kube-apiserver flags, so the watch cache is on): a
// restart must not hit the shared one, and faults are per kube-faults process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster, Faults, sleep, installWidgetCrd } = require('./helpers');

const GROUP = 'faults.sluice.dev';
let c; let ns; let faults; let viaProxy;
test.before(async () => {
  c = await Cluster.own();
  ns = await c.createNamespace('faults');
  await installWidgetCrd(c, GROUP);
  faults = await Faults.start(c);
  // kube-faults ends TLS, so client certificates stop there: a ServiceAccount token instead.
  viaProxy = c.through(faults.url, await c.serviceAccountToken(ns, 'tester', { clusterAdmin: true }));
});
test.after(async () => {
  if (faults) await faults.clear();
  if (viaProxy) await viaProxy.stop();
  if (c) await c.stop();
});
test.afterEach(async () => { await faults.clear(); });

const cmList = () => `/api/v1/namespaces/${ns}/configmaps`;
const cm = (name, data) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

test('faults: the next N matching requests get the injected status, then service resumes', async () => {
  assert.equal((await viaProxy.get(cmList())).status, 200, 'the proxy forwards the token');
  assert.equal((await faults.set({ status: 500, count: 2, match: '/configmaps' })).status, 200);
  const other = await viaProxy.get('/api/v1/namespaces');
  assert.equal(other.status, 200, 'a request whose path does not match is served');
  const a = await viaProxy.get(cmList());
  const b = await viaProxy.get(`${cmList()}/whatever`);
  const d = await viaProxy.get(cmList());
  assert.equal(a.status, 500);
  assert.equal(a.body.kind, 'Status');
  assert.equal(a.body.reason, 'InternalError');
  assert.equal(a.body.code, 500);
  assert.equal(b.status, 500);
  assert.equal(d.status, 200);
  const stats = (await faults.stats()).body;
  assert.ok(stats.injected >= 2, JSON.stringify(stats));
});

test('faults: a faulted watch request gets the status instead of a stream', async () => {
  await faults.set({ status: 503, count: 1, match: '/configmaps' });
  const w = viaProxy.watch(`${cmList()}?watch=1`);
  await w.ready;
  await w.endedPromise();
  assert.equal(w.status, 503);
  assert.equal(w.events[0].reason, 'ServiceUnavailable');
  const ok = viaProxy.watch(`${cmList()}?watch=1`);
  await ok.ready;
  assert.equal(ok.status, 200);
  ok.close();
});

// A 429 says when to come back (Retry-After); the request was not processed.
test('faults: 429 carries Retry-After and has no effect', async () => {
  await faults.set({ status: 429, count: 1, retryAfter: 3, match: '/configmaps' });
  const r = await viaProxy.post(cmList(), cm('throttled'));
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '3');
  assert.equal(r.body.reason, 'TooManyRequests');
  assert.equal((await viaProxy.get(`${cmList()}/throttled`)).status, 404, 'the faulted request had no effect');
  assert.equal((await viaProxy.post(cmList(), cm('throttled'))).status, 201);
});

test('faults: latency slows matching requests only', async () => {
  await faults.set({ latency: '400ms', match: '/configmaps' });
  let t0 = Date.now();
  assert.equal((await viaProxy.get(cmList())).status, 200);
  const slow = Date.now() - t0;
  t0 = Date.now();
  await viaProxy.get('/api/v1/namespaces');
  const other = Date.now() - t0;
  await faults.clear();
  t0 = Date.now();
  await viaProxy.get(cmList());
  const fast = Date.now() - t0;
  assert.ok(slow >= 390, `slow request took ${slow} ms`);
  assert.ok(other < 390, `non-matching request took ${other} ms`);
  assert.ok(fast < 390, `request after clearing took ${fast} ms`);
});

// A dropped watch ends like a server-side timeout: the stream just closes, no ERROR event. A new
// watch from the last resourceVersion seen misses nothing.
test('faults: dropped watches end cleanly and resume from their last resourceVersion', async () => {
  const list = await viaProxy.get(cmList());
  const w = viaProxy.watch(`${cmList()}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`);
  await w.ready;
  await viaProxy.post(cmList(), cm('before-drop'));
  const seen = await w.next((e) => e.object.metadata.name === 'before-drop');
  assert.ok(seen);
  assert.equal((await faults.stats()).body.openWatches, 1);
  const r = await faults.set({ dropWatches: 'now' });
  assert.match(r.body, /dropped 1 watches/);
  await Promise.race([w.endedPromise(), sleep(3000)]);
  assert.ok(w.ended, 'watch ended');
  assert.ok(w.events.every((e) => e.type !== 'ERROR'));
  await viaProxy.post(cmList(), cm('while-away'));
  const again = viaProxy.watch(`${cmList()}?watch=1&resourceVersion=${seen.object.metadata.resourceVersion}`);
  await again.ready;
  assert.ok(await again.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'while-away'));
  again.close();
});

// With the watch cache (kube-apiserver's default) etcd compaction does not reach watches or
// paginated lists: both are served from the cache, which still holds the compacted revisions.
// (Without the cache they get 410: compaction.test.js.)
test('etcd compaction: with the watch cache, older watches and continue tokens keep working', async () => {
  await c.post(cmList(), cm('c-1'));
  await c.post(cmList(), cm('c-2'));
  const rv = (await c.get(cmList())).body.metadata.resourceVersion;
  await c.post(cmList(), cm('c-3'));
  const page = await c.get(`${cmList()}?limit=1`);
  assert.ok(page.body.metadata.continue);
  await c.post(cmList(), cm('c-4'));
  const compacted = Number(await c.clusterSh('compact'));
  assert.ok(compacted > Number(rv) + 1, `compacted at ${compacted}`);
  const w = c.watch(`${cmList()}?watch=1&resourceVersion=${rv}`);
  await w.ready;
  const first = await w.next();
  w.close();
  assert.equal(first.type, 'ADDED');
  assert.equal(first.object.metadata.name, 'c-3');
  const cont = await c.get(`${cmList()}?limit=100&continue=${encodeURIComponent(page.body.metadata.continue)}`);
  assert.equal(cont.status, 200, cont.text);
});

// A kube-apiserver restart (etcd keeps the objects): every watch is cut, objects (custom
// resources and their CRDs included) are all there, resourceVersions continue where they were,
// and the new process's watch cache starts at the current resourceVersion, so a watch from a
// resourceVersion before the restart is 410 Expired: clients must relist.
test('restart: kube-apiserver restarted keeps objects, cuts watches, expires older resourceVersions', async () => {
  await c.post(cmList(), cm('survivor', { a: 'b' }));
  const cr = await c.post(`/apis/${GROUP}/v1/namespaces/${ns}/widgets`, { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'kept' }, spec: { size: 4 } });
  assert.equal(cr.status, 201, cr.text);
  const before = (await c.get(cmList())).body.metadata.resourceVersion;
  await c.post(cmList(), cm('later'));
  const direct = c.watch(`${cmList()}?watch=1&resourceVersion=${before}`);
  const proxied = viaProxy.watch(`${cmList()}?watch=1&resourceVersion=${before}`);
  await direct.ready;
  await proxied.ready;
  assert.ok(await direct.next((e) => e.object.metadata.name === 'later'));
  const t0 = Date.now();
  await c.restartApiserver();
  const restartMs = Date.now() - t0;
  await Promise.race([Promise.all([direct.endedPromise(), proxied.endedPromise()]), sleep(5000)]);
  assert.ok(direct.ended && proxied.ended, 'watches are cut by the restart');
  assert.deepEqual((await c.get(`${cmList()}/survivor`)).body.data, { a: 'b' });
  const kept = await c.get(`/apis/${GROUP}/v1/namespaces/${ns}/widgets/kept`);
  assert.equal(kept.status, 200, 'custom resources and their CRD persist');
  assert.equal(kept.body.spec.size, 4);
  const old = c.watch(`${cmList()}?watch=1&resourceVersion=${before}`);
  await old.ready;
  const ev = await old.next();
  old.close();
  assert.equal(ev && ev.type, 'ERROR', JSON.stringify(ev));
  assert.equal(ev.object.code, 410);
  assert.equal(ev.object.reason, 'Expired');
  const m = new RegExp(`^too old resource version: ${before} \\((\\d+)\\)$`).exec(ev.object.message);
  assert.ok(m, ev.object.message);
  assert.ok(Number(m[1]) > Number(before), 'the oldest resourceVersion the new cache serves is after the restart');
  // resourceVersion=1 likewise (a watch cache that has held every event since the cluster
  // started would still serve it: it is only too old once the cache no longer reaches back).
  const one = c.watch(`${cmList()}?watch=1&resourceVersion=1`);
  await one.ready;
  const ev1 = await one.next();
  one.close();
  assert.equal(ev1 && ev1.object.code, 410, JSON.stringify(ev1));
  const fresh = await c.post(cmList(), cm('after-restart'));
  assert.ok(Number(fresh.body.metadata.resourceVersion) > Number(before), 'resourceVersions continue');
  // Through kube-faults too, once the API server is back.
  assert.equal((await viaProxy.get(`${cmList()}/after-restart`)).status, 200);
  console.log(`# kube-apiserver restart took ${restartMs} ms`);
});
