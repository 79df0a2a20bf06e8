'use strict';
// Fault injection through the admin endpoint (hermetic server only).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster, sleep, HERE, installWidgetCrd } = require('./helpers');

const external = process.env.KUBECONFIG ? 'fault injection needs the hermetic server (KUBECONFIG points at a real cluster)' : false;
if (external) console.log(`# skipping fault-injection tests: ${external}`);

let c; let ns;
test.before(async () => { if (external) return; c = await Cluster.start(); ns = await c.createNamespace('faults'); });
test.after(async () => { if (external) return; await c.admin('DELETE', '/faults'); await c.stop(); });

const cmList = () => `/api/v1/namespaces/${ns}/configmaps`;

test('faults: the next N matching requests get the injected status, then service resumes', { skip: external }, async () => {
  const q = await c.admin('POST', '/faults', { count: 2, status: 500, verb: 'GET', path: '/configmaps' });
  assert.equal(q.status, 200);
  const other = await c.get('/api/v1/namespaces');
  assert.equal(other.status, 200, 'a request not matching the path filter is served');
  const a = await c.get(cmList());
  const b = await c.get(cmList());
  const d = await c.get(cmList());
  assert.equal(a.status, 500);
  assert.equal(a.body.kind, 'Status');
  assert.equal(a.body.reason, 'InternalError');
  assert.equal(b.status, 500);
  assert.equal(d.status, 200);
});

test('faults: the verb filter uses Kubernetes verbs (list vs get vs watch)', { skip: external }, async () => {
  await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'verbs' } });
  await c.admin('POST', '/faults', { count: 1, status: 503, verb: 'list' });
  assert.equal((await c.get(`${cmList()}/verbs`)).status, 200, 'get is not list');
  const l = await c.get(cmList());
  assert.equal(l.status, 503);
  assert.equal(l.body.reason, 'ServiceUnavailable');
  await c.admin('POST', '/faults', { count: 1, status: 500, verb: 'watch' });
  assert.equal((await c.get(cmList())).status, 200, 'list is not watch');
  const w = c.watch(`${cmList()}?watch=1`);
  await w.ready;
  await w.endedPromise();
  assert.equal(w.status, 500);
});

test('faults: 429 carries Retry-After (header and details.retryAfterSeconds)', { skip: external }, async () => {
  await c.admin('POST', '/faults', { count: 1, status: 429, retryAfter: 3, verb: 'POST' });
  const r = await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'throttled' } });
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '3');
  assert.equal(r.body.reason, 'TooManyRequests');
  assert.equal(r.body.details.retryAfterSeconds, 3);
  assert.equal((await c.get(`${cmList()}/throttled`)).status, 404, 'the faulted request had no effect');
  assert.equal((await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'throttled' } })).status, 201);
});

test('faults: drop all watches ends open watch streams', { skip: external }, async () => {
  const w = c.watch(`${cmList()}?watch=1`);
  await w.ready;
  await sleep(50);
  const r = await c.admin('POST', '/watches/drop', {});
  assert.ok(r.body.dropped >= 1);
  await Promise.race([w.endedPromise(), sleep(3000)]);
  assert.ok(w.ended, 'watch ended');
});

test('faults: compaction makes older resourceVersions 410 Gone', { skip: external }, async () => {
  const rv = (await c.get(cmList())).body.metadata.resourceVersion;
  await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-rv' } });
  const ok = c.watch(`${cmList()}?watch=1&resourceVersion=${rv}`);
  await ok.ready;
  assert.ok(await ok.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'after-rv'));
  ok.close();
  await c.admin('POST', '/compact', {});
  const w = c.watch(`${cmList()}?watch=1&resourceVersion=${rv}`);
  await w.ready;
  const ev = await w.next();
  w.close();
  assert.equal(ev.type, 'ERROR');
  assert.equal(ev.object.code, 410);
  assert.equal(ev.object.reason, 'Expired');
  const page = await c.get(`${cmList()}?limit=1`);
  await c.admin('POST', '/compact', {});
  await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-compact' } });
  await c.admin('POST', '/compact', {});
  if (page.body.metadata.continue) {
    const cont = await c.get(`${cmList()}?limit=1&continue=${encodeURIComponent(page.body.metadata.continue)}`);
    assert.equal(cont.status, 410);
    assert.equal(cont.body.reason, 'Expired');
  }
});

test('faults: latency slows matching responses', { skip: external }, async () => {
  await c.admin('POST', '/latency', { ms: 300, path: '/configmaps' });
  const t0 = Date.now();
  await c.get(cmList());
  const slow = Date.now() - t0;
  await c.admin('DELETE', '/latency');
  const t1 = Date.now();
  await c.get(cmList());
  const fast = Date.now() - t1;
  assert.ok(slow >= 290, `slow request took ${slow} ms`);
  assert.ok(fast < 290, `fast request took ${fast} ms`);
});

test('faults: restart with state kept, then with state lost', { skip: external }, async () => {
  await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'survivor' } });
  const w = c.watch(`${cmList()}?watch=1`);
  await w.ready;
  const before = (await c.get(cmList())).body.metadata.resourceVersion;
  await c.post(cmList(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' } });
  // Like a kube-apiserver restart: objects stay (etcd), the watch cache starts afresh.
  await c.admin('POST', '/restart', { keepState: true, downMs: 200 });
  await Promise.race([w.endedPromise(), sleep(3000)]);
  assert.ok(w.ended, 'watches are cut by a restart');
  await c.eventually(async () => { try { return (await c.get('/version')).status === 200; } catch { return false; } }, 5000, 'server back');
  assert.equal((await c.get(`${cmList()}/survivor`)).status, 200);
  const old = c.watch(`${cmList()}?watch=1&resourceVersion=${before}`);
  await old.ready;
  const ev = await old.next();
  old.close();
  assert.equal(ev && ev.object.code, 410, 'history does not survive a restart');
  await c.admin('POST', '/restart', { keepState: false, downMs: 100 });
  await c.eventually(async () => { try { return (await c.get('/version')).status === 200; } catch { return false; } }, 5000, 'server back');
  assert.equal((await c.get(`/api/v1/namespaces/${ns}`)).status, 404, 'state lost');
  assert.equal((await c.get('/api/v1/namespaces/default')).status, 200, 'default namespace recreated');
  const after = Number((await c.get('/api/v1/namespaces')).body.metadata.resourceVersion);
  assert.ok(after > Number(before), 'resourceVersions keep increasing across a wipe');
});

// --state-file: a stopped and restarted process keeps its objects.
test('faults: --state-file persists objects across a process restart', { skip: external }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiserver-state-'));
  const state = path.join(dir, 'state.json');
  const start = () => { execFileSync(path.join(HERE, 'run.sh'), [dir, '--state-file', state]); return Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')); };
  const stop = async (pid) => { process.kill(pid, 'SIGTERM'); for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); } catch { return; } await sleep(20); } };
  const saved = process.env.KUBECONFIG;
  try {
    let pid = start();
    process.env.KUBECONFIG = path.join(dir, 'kubeconfig');
    let s = await Cluster.start();
    assert.equal((await s.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'persisted' }, data: { a: 'b' } })).status, 201);
    await installWidgetCrd(s, 'state.sluice.dev');
    const cr = await s.post('/apis/state.sluice.dev/v1/namespaces/default/widgets', { apiVersion: 'state.sluice.dev/v1', kind: 'Widget', metadata: { name: 'kept' }, spec: { size: 4 } });
    assert.equal(cr.status, 201, cr.text);
    const rvBefore = Number(cr.body.metadata.resourceVersion);
    s.agent.destroy();
    await stop(pid);
    pid = start();
    s = await Cluster.start();
    const g = await s.get('/api/v1/namespaces/default/configmaps/persisted');
    const w = await s.get('/apis/state.sluice.dev/v1/namespaces/default/widgets/kept');
    const fresh = await s.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } });
    s.agent.destroy();
    assert.equal(w.status, 200, 'custom resource and its CRD persisted');
    assert.equal(w.body.spec.size, 4);
    assert.ok(Number(fresh.body.metadata.resourceVersion) > rvBefore, 'resourceVersion continues after the restart');
    await stop(pid);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.data, { a: 'b' });
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG; else process.env.KUBECONFIG = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
