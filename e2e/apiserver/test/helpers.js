'use strict';
// Shared plumbing for the conformance suite: a cluster (the hermetic server started through
// run.sh, or whatever KUBECONFIG points at), plain HTTPS requests, watch streams, kubectl.

const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const http = require('http');
const { execFileSync, spawn, spawnSync } = require('child_process');
const yaml = require('js-yaml');

const HERE = path.resolve(__dirname, '..');
const REPO = path.resolve(HERE, '../..');

class Cluster {
  static async start() {
    const c = new Cluster();
    if (process.env.KUBECONFIG) {
      c.kubeconfig = process.env.KUBECONFIG;
      c.external = true;
    } else {
      c.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-apiserver-test-'));
      execFileSync(path.join(HERE, 'run.sh'), [c.dir, '--bookmark-interval-ms', '300', '--history', '500'], { stdio: ['ignore', 'inherit', 'inherit'] });
      c.kubeconfig = path.join(c.dir, 'kubeconfig');
      c.pid = Number(fs.readFileSync(path.join(c.dir, 'pid'), 'utf8'));
      c.adminUrl = fs.readFileSync(path.join(c.dir, 'admin-url'), 'utf8').trim();
    }
    c.loadKubeconfig();
    return c;
  }

  loadKubeconfig() {
    const kc = yaml.load(fs.readFileSync(this.kubeconfig, 'utf8'));
    const ctx = kc.contexts.find((x) => x.name === kc['current-context']).context;
    const cluster = kc.clusters.find((x) => x.name === ctx.cluster).cluster;
    const user = (kc.users.find((x) => x.name === ctx.user) || {}).user || {};
    const u = new URL(cluster.server);
    this.host = u.hostname; this.port = Number(u.port || 443); this.basePath = u.pathname.replace(/\/$/, '');
    const tls = {};
    if (cluster['certificate-authority-data']) tls.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
    else if (cluster['certificate-authority']) tls.ca = fs.readFileSync(cluster['certificate-authority']);
    if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
    if (user['client-certificate-data']) tls.cert = Buffer.from(user['client-certificate-data'], 'base64');
    if (user['client-key-data']) tls.key = Buffer.from(user['client-key-data'], 'base64');
    if (user['client-certificate']) tls.cert = fs.readFileSync(user['client-certificate']);
    if (user['client-key']) tls.key = fs.readFileSync(user['client-key']);
    this.token = user.token || (user.tokenFile ? fs.readFileSync(user.tokenFile, 'utf8').trim() : null);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16, ...tls });
  }

  async stop() {
    this.agent.destroy();
    if (this._cache) fs.rmSync(this._cache, { recursive: true, force: true });
    if (this.pid) {
      try { process.kill(this.pid, 'SIGTERM'); } catch { /* already gone */ }
      for (let i = 0; i < 50; i++) { try { process.kill(this.pid, 0); } catch { break; } await sleep(20); }
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // One HTTPS request. Returns { status, headers, body } with body parsed as JSON when it is.
  request(method, p, body, opts = {}) {
    return new Promise((resolve, reject) => {
      const headers = { Accept: opts.accept || 'application/json', ...(opts.headers || {}) };
      const token = opts.token === undefined ? this.token : opts.token;
      if (token) headers.Authorization = `Bearer ${token}`;
      let data;
      if (body !== undefined) {
        data = Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
        headers['Content-Type'] = opts.contentType || 'application/json';
        headers['Content-Length'] = Buffer.byteLength(data);
      }
      const req = https.request({ host: this.host, port: this.port, path: this.basePath + p, method, headers, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try { parsed = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }
  get(p, o) { return this.request('GET', p, undefined, o); }
  post(p, b, o) { return this.request('POST', p, b, o); }
  put(p, b, o) { return this.request('PUT', p, b, o); }
  patch(p, b, type, o = {}) { return this.request('PATCH', p, typeof b === 'string' ? b : JSON.stringify(b), { ...o, contentType: type }); }
  del(p, b, o) { return this.request('DELETE', p, b, o); }

  // A watch stream: events are collected; next(pred, ms) resolves with the first matching one.
  watch(p) {
    const w = { events: [], waiters: [], ended: false, status: null };
    const deliver = () => {
      for (const wt of [...w.waiters]) {
        const i = w.events.findIndex(wt.pred);
        if (i >= 0) { const [ev] = w.events.splice(i, 1); w.waiters.splice(w.waiters.indexOf(wt), 1); clearTimeout(wt.timer); wt.resolve(ev); }
        else if (w.ended) { w.waiters.splice(w.waiters.indexOf(wt), 1); clearTimeout(wt.timer); wt.resolve(null); }
      }
    };
    w.next = (pred = () => true, ms = 5000) => new Promise((resolve) => {
      const wt = { pred, resolve };
      wt.timer = setTimeout(() => { w.waiters.splice(w.waiters.indexOf(wt), 1); resolve(null); }, ms);
      w.waiters.push(wt); deliver();
    });
    w.ready = new Promise((resolveReady, rejectReady) => {
      const headers = { Accept: 'application/json' };
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const { ca, cert, key, rejectUnauthorized } = this.agent.options;
      w.req = https.request({ ca, cert, key, rejectUnauthorized, host: this.host, port: this.port, path: this.basePath + p, method: 'GET', headers, agent: false }, (res) => {
        w.status = res.statusCode; w.headers = res.headers;
        let buf = '';
        res.on('data', (c) => {
          buf += c.toString('utf8');
          let i;
          while ((i = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); if (line.trim()) w.events.push(JSON.parse(line)); }
          deliver();
        });
        const end = () => { if (buf.trim()) { try { w.events.push(JSON.parse(buf)); } catch { /* partial */ } buf = ''; } w.ended = true; deliver(); };
        res.on('end', end); res.on('close', end); res.on('error', end);
        resolveReady(w);
      });
      w.req.on('error', (e) => { w.ended = true; deliver(); rejectReady(e); });
      w.req.end();
    });
    w.close = () => { try { w.req.destroy(); } catch { /* closed */ } };
    w.endedPromise = () => new Promise((resolve) => { const t = setInterval(() => { if (w.ended) { clearInterval(t); resolve(); } }, 10); });
    return w;
  }

  kubectl(args, input) {
    const r = spawnSync('kubectl', args, { input, encoding: 'utf8', env: { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cacheDir() }, timeout: 30000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  kubectlAsync(args) {
    return spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cacheDir() } });
  }
  cacheDir() {
    if (!this._cache) this._cache = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kubectl-cache-'));
    return this._cache;
  }

  // Admin (fault injection) endpoint; only on the hermetic server.
  admin(method, p, body) {
    if (!this.adminUrl) throw new Error('no admin endpoint on an external cluster');
    const u = new URL(p, this.adminUrl);
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        const chunks = []; res.on('data', (c) => chunks.push(c));
        res.on('end', () => { const t = Buffer.concat(chunks).toString(); resolve({ status: res.statusCode, body: t ? JSON.parse(t) : null }); });
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async createNamespace(prefix) {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await this.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.text}`);
    return name;
  }
  async deleteNamespace(name) { await this.del(`/api/v1/namespaces/${name}`); }

  // Poll until fn() returns a truthy value (for the garbage collector and namespace controller,
  // which act asynchronously on real clusters too).
  async eventually(fn, ms = 10000, what = 'condition') {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) { last = await fn(); if (last) return last; await sleep(50); }
    throw new Error(`timed out waiting for ${what}`);
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// A CRD used by several tests: namespaced, status subresource, printer columns, category,
// structural schema with defaults, enums, bounds and CEL rules (incl. a transition rule).
function widgetCrd(group) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wdg'], categories: ['conformance'] },
      versions: [{
        name: 'v1', served: true, storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }, { name: 'Phase', type: 'string', jsonPath: '.status.phase' }],
        schema: { openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object', required: ['size'],
              'x-kubernetes-validations': [{ rule: 'self.steps.size() == 0 || self.steps[self.steps.size() - 1] == 100', message: 'the last step must be 100', fieldPath: '.steps', reason: 'FieldValueInvalid' }],
              properties: {
                size: { type: 'integer', minimum: 1, maximum: 10 },
                color: { type: 'string', enum: ['red', 'green', 'blue'], default: 'red' },
                name: { type: 'string', maxLength: 8, pattern: '^[a-z]+$' },
                steps: { type: 'array', maxItems: 6, default: [], items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.isSorted()', message: 'steps must be increasing' }] },
                port: { 'x-kubernetes-int-or-string': true },
                immutableId: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'immutableId is immutable' }] },
                extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
            status: { type: 'object', properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } } },
          },
        } },
      }],
    },
  };
}

async function installWidgetCrd(c, group) {
  const crd = widgetCrd(group);
  const r = await c.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (r.status !== 201 && r.status !== 409) throw new Error(`CRD create: ${r.status} ${r.text}`);
  await c.eventually(async () => (await c.get(`/apis/${group}/v1`)).status === 200, 10000, 'CRD served');
  await c.eventually(async () => {
    const g = await c.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`);
    return (g.body.status && g.body.status.conditions || []).some((x) => x.type === 'Established' && x.status === 'True');
  }, 10000, 'CRD established');
  return crd;
}

module.exports = { Cluster, sleep, widgetCrd, installWidgetCrd, REPO, HERE };
