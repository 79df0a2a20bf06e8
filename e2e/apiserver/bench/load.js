#!/usr/bin/env node
'use strict';
// Load benchmark for the test API server: start-up time, bulk create, sustained writes with an
// open watch (delivery lag), full and paged lists. Prints numbers; asserts nothing.
// Usage: node bench/load.js [--objects 10000] [--rate 1000] [--seconds 10] [--concurrency 32]
//        [--kind configmap|trafficpolicy] [--smoke]
// --kind trafficpolicy drives the project's TrafficPolicy CRD (schema + CEL admission on every
// write) with the body of samples/trafficpolicy-checkout.yaml.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { Cluster, sleep } = require('../test/helpers');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : def; };
const smoke = args.includes('--smoke');
const OBJECTS = opt('objects', smoke ? 1000 : 10000);
const RATE = opt('rate', 1000);
const SECONDS = opt('seconds', smoke ? 2 : 10);
const CONC = opt('concurrency', 32);
const KIND = (() => { const i = args.indexOf('--kind'); return i >= 0 ? args[i + 1] : 'configmap'; })();
const yaml = require('js-yaml');
const REPO = path.resolve(__dirname, '../../..');

function pct(xs, p) { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; }
function rssMb(pid) {
  try { const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); return m ? (Number(m[1]) / 1024).toFixed(0) : '?'; } catch { return '?'; }
}

async function main() {
  let startupMs = null;
  if (!process.env.KUBECONFIG) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiserver-bench-'));
    const t0 = process.hrtime.bigint();
    execFileSync(path.join(__dirname, '..', 'run.sh'), [dir]);
    startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    process.env.KUBECONFIG = path.join(dir, 'kubeconfig');
    process.on('exit', () => { try { process.kill(Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'))); } catch { /* gone */ } fs.rmSync(dir, { recursive: true, force: true }); });
  }
  const c = await Cluster.start();
  c.agent.maxSockets = CONC;
  const pid = c.pid || Number(fs.readFileSync(path.join(path.dirname(process.env.KUBECONFIG), 'pid'), 'utf8'));
  const ns = await c.createNamespace('bench');
  let url = `/api/v1/namespaces/${ns}/configmaps`;
  let body = (i, v = 0) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `obj-${i}`, labels: { shard: String(i % 10) } }, data: { v: String(v), payload: 'x'.repeat(200) } });
  let update = (v) => ({ data: { v: String(v) } });
  let version = (o) => o.data && o.data.v;
  if (KIND === 'trafficpolicy') {
    execFileSync('kubectl', ['apply', '-f', path.join(REPO, 'crds')], { env: process.env, stdio: 'ignore' });
    await c.eventually(async () => (await c.get('/apis/sluice.dev/v1alpha1')).status === 200, 10000, 'CRD served');
    const sample = yaml.load(fs.readFileSync(path.join(REPO, 'samples', 'trafficpolicy-checkout.yaml'), 'utf8'));
    url = `/apis/sluice.dev/v1alpha1/namespaces/${ns}/trafficpolicies`;
    body = (i) => ({ ...sample, metadata: { name: `obj-${i}`, labels: { shard: String(i % 10) } } });
    // Each update moves one backend weight (kept within the schema's bounds) and is tracked
    // through the watch by that value in an annotation.
    update = (v) => ({ metadata: { annotations: { 'bench/v': String(v) } }, spec: { backends: sample.spec.backends.map((b, j) => (j === 0 ? { ...b, weight: v % 100 } : b)) } });
    version = (o) => o.metadata.annotations && o.metadata.annotations['bench/v'];
  } else if (KIND !== 'configmap') throw new Error(`unknown --kind ${KIND}`);

  // Bulk create with CONC requests in flight.
  let next = 0; const createLat = [];
  const t1 = Date.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < OBJECTS) {
      const i = next++; const s = process.hrtime.bigint();
      const r = await c.post(url, body(i));
      if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.text}`);
      createLat.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }));
  const createSec = (Date.now() - t1) / 1000;

  // Sustained updates at RATE/s with a watch open; measure delivery lag on the watch.
  const listRv = (await c.get(`${url}?limit=1`)).body.metadata.resourceVersion;
  const w = c.watch(`${url}?watch=1&resourceVersion=${listRv}`);
  await w.ready;
  const sentAt = new Map(); const lags = [];
  const origPush = w.events.push.bind(w.events);
  w.events.push = (ev) => { const k = `${ev.object.metadata.name}/${version(ev.object)}`; const t = sentAt.get(k); if (t) lags.push(Date.now() - t); return 0; };
  void origPush;
  const updLat = []; let sent = 0; let failed = 0;
  const t2 = Date.now(); const end = t2 + SECONDS * 1000;
  const inflight = new Set();
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - t2) / 1000) * RATE);
    while (sent < due && inflight.size < CONC * 4) {
      const i = sent % OBJECTS; const v = sent + 1; sent++;
      sentAt.set(`obj-${i}/${v}`, Date.now());
      const s = process.hrtime.bigint();
      const p = c.patch(`${url}/obj-${i}`, update(v), 'application/merge-patch+json').then((r) => {
        if (r.status !== 200) failed++;
        updLat.push(Number(process.hrtime.bigint() - s) / 1e6);
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await sleep(2);
  }
  await Promise.all(inflight);
  const updSec = (Date.now() - t2) / 1000;
  await sleep(300);
  w.close();

  const t3 = Date.now();
  const full = await c.get(url);
  const fullMs = Date.now() - t3;
  const t4 = Date.now(); let pages = 0; let cont = ''; let n = 0;
  do { const r = await c.get(`${url}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`); n += r.body.items.length; cont = r.body.metadata.continue; pages++; } while (cont);
  const pagedMs = Date.now() - t4;

  const report = {
    mode: smoke ? 'smoke' : 'full',
    kind: KIND,
    startupMs: startupMs === null ? 'n/a (external cluster)' : Math.round(startupMs),
    objects: OBJECTS,
    createPerSec: Math.round(OBJECTS / createSec),
    createLatencyMs: { p50: +pct(createLat, 0.5).toFixed(2), p99: +pct(createLat, 0.99).toFixed(2) },
    updateTargetPerSec: RATE,
    updateAchievedPerSec: Math.round(updLat.length / updSec),
    updateFailures: failed,
    updateLatencyMs: { p50: +pct(updLat, 0.5).toFixed(2), p99: +pct(updLat, 0.99).toFixed(2) },
    watchEventsSeen: lags.length,
    watchLagMs: { p50: pct(lags, 0.5), p99: pct(lags, 0.99) },
    fullListMs: fullMs, fullListItems: full.body.items.length,
    pagedListMs: pagedMs, pagedListPages: pages, pagedListItems: n,
    serverRssMb: rssMb(pid),
  };
  console.log(JSON.stringify(report, null, 2));
  await c.deleteNamespace(ns);
  c.agent.destroy();
  if (full.body.items.length !== OBJECTS || n !== OBJECTS) { console.error('list returned the wrong number of objects'); process.exit(1); }
  if (failed) { console.error(`${failed} updates failed`); process.exit(1); }
}

main().catch((e) => { console.error(e); process.exit(1); });
