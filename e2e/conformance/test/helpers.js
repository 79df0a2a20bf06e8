'use strict';
// Shared plumbing for the conformance suite: a real control plane (the shared one of the test
// run, a private one started by e2e/k8s/cluster.sh, or whatever a kubeconfig points at), plain
// HTTPS requests, watch streams, kubectl, kube-faults.
//
// Which cluster (first match):
//   SLUICE_E2E_KUBECONFIG   a test cluster given by the user (the CTest fixture is then a no-op)
//   SLUICE_CLUSTER_DIR      the shared control plane of the CTest fixture `k8s`
//   KUBECONFIG              any cluster; tests that install cluster-wide objects skip
//   (none)                  a private control plane for this test file
// Every test file works in namespaces of its own, so files share one cluster.

const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const net = require('net');
const http = require('http');
const { execFile, execFileSync, spawn, spawnSync } = require('child_process');
const yaml = require('js-yaml');

const HERE = path.resolve(__dirname, '..');
const REPO = path.resolve(HERE, '../..');
const CLUSTER_SH = path.join(REPO, 'e2e', 'k8s', 'cluster.sh');

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// KEY=VALUE lines of a cluster directory's env file (`export K=V`).
function readEnvFile(file) {
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m && !m[2].includes('$')) out[m[1]] = m[2];
  }
  return out;
}

// The pinned kubectl/helm/kube-faults: from the cluster directory, K8S_BIN, or e2e/k8s/build.sh
// (cached by version, so this costs a hash check).
function k8sBin(clusterDir) {
  if (clusterDir && fs.existsSync(path.join(clusterDir, 'env'))) {
    const env = readEnvFile(path.join(clusterDir, 'env'));
    if (env.K8S_BIN) return env.K8S_BIN;
  }
  if (process.env.K8S_BIN) return process.env.K8S_BIN;
  return execFileSync(path.join(REPO, 'e2e', 'k8s', 'build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

// True when the suite runs against a cluster named only by KUBECONFIG (maybe someone's real
// cluster): tests that install cluster-wide objects other than their own test CRDs skip.
function onSomeonesCluster() {
  return !process.env.SLUICE_E2E_KUBECONFIG && !process.env.SLUICE_CLUSTER_DIR && !!process.env.KUBECONFIG;
}

// A connection to an API server: TLS settings and credentials from a kubeconfig (or given).
class Cluster {
  // The cluster this suite runs against (see the header).
  static async start() {
    if (process.env.SLUICE_E2E_KUBECONFIG) {
      return new Cluster({ kubeconfig: process.env.SLUICE_E2E_KUBECONFIG, bin: k8sBin(null) });
    }
    if (process.env.SLUICE_CLUSTER_DIR) {
      const dir = process.env.SLUICE_CLUSTER_DIR;
      return new Cluster({ kubeconfig: path.join(dir, 'kubeconfig'), bin: k8sBin(dir), dir });
    }
    if (process.env.KUBECONFIG) {
      return new Cluster({ kubeconfig: process.env.KUBECONFIG, bin: k8sBin(null) });
    }
    return Cluster.own();
  }

  // A control plane of this test file's own (e2e/k8s/cluster.sh up), for what must not happen
  // to a shared one: restarts, etcd compaction, kube-apiserver flags (apiserverFlags, e.g.
  // '--watch-cache=false'). stop() takes it down.
  static async own({ apiserverFlags = '' } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-conformance-'));
    const c = new Cluster({ kubeconfig: path.join(dir, 'kubeconfig'), dir, ownDir: dir, lazy: true });
    // A crashed test process must not leave etcd and kube-apiserver behind.
    c._exitHook = () => { try { execFileSync(CLUSTER_SH, ['down', dir], { stdio: 'ignore' }); } catch { /* best effort */ } };
    process.on('exit', c._exitHook);
    execFileSync(CLUSTER_SH, ['up', dir], {
      env: { ...process.env, SLUICE_APISERVER_FLAGS: apiserverFlags }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180000,
    });
    c.bin = k8sBin(dir);
    c.loadKubeconfig();
    return c;
  }

  constructor({ kubeconfig, bin, dir, ownDir, lazy }) {
    this.kubeconfig = kubeconfig;
    this.bin = bin;
    this.dir = dir || null;        // cluster directory (cluster.sh), when we have one
    this.ownDir = ownDir || null;  // set when this file started the control plane
    if (!lazy) this.loadKubeconfig();
  }

  loadKubeconfig() {
    const kc = yaml.load(fs.readFileSync(this.kubeconfig, 'utf8'));
    const ctx = kc.contexts.find((x) => x.name === kc['current-context']).context;
    const cluster = kc.clusters.find((x) => x.name === ctx.cluster).cluster;
    const user = (kc.users.find((x) => x.name === ctx.user) || {}).user || {};
    const tls = {};
    if (cluster['certificate-authority-data']) tls.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
    else if (cluster['certificate-authority']) tls.ca = fs.readFileSync(cluster['certificate-authority']);
    if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
    this.serverTls = { ...tls };
    if (user['client-certificate-data']) tls.cert = Buffer.from(user['client-certificate-data'], 'base64');
    if (user['client-key-data']) tls.key = Buffer.from(user['client-key-data'], 'base64');
    if (user['client-certificate']) tls.cert = fs.readFileSync(user['client-certificate']);
    if (user['client-key']) tls.key = fs.readFileSync(user['client-key']);
    this.token = user.token || (user.tokenFile ? fs.readFileSync(user.tokenFile, 'utf8').trim() : null);
    this.setServer(cluster.server, tls);
  }

  setServer(server, tls) {
    const u = new URL(server);
    this.server = server;
    this.host = u.hostname; this.port = Number(u.port || 443); this.basePath = u.pathname.replace(/\/$/, '');
    this.tls = tls;
    if (this.agent) this.agent.destroy();
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16, ...tls });
    // Requests with a token of the test's choosing present no client certificate (kube-apiserver
    // authenticates a client certificate before looking at the bearer token).
    if (this.plainAgent) this.plainAgent.destroy();
    this.plainAgent = new https.Agent({ keepAlive: true, maxSockets: 16, ...this.serverTls });
  }

  // A client of a proxy in front of this server (kube-faults, which serves the API server's own
  // certificate), authenticating with a bearer token: client certificates end at the proxy.
  through(server, token) {
    const c = Object.create(Cluster.prototype);
    Object.assign(c, { kubeconfig: this.kubeconfig, bin: this.bin, dir: this.dir, ownDir: null, serverTls: this.serverTls, token });
    c.setServer(server, { ...this.serverTls });
    return c;
  }

  async stop() {
    this.agent.destroy();
    this.plainAgent.destroy();
    if (this._cache) fs.rmSync(this._cache, { recursive: true, force: true });
    if (this.ownDir) {
      execFileSync(CLUSTER_SH, ['down', this.ownDir], { stdio: 'ignore' });
      process.removeListener('exit', this._exitHook);
      fs.rmSync(this.ownDir, { recursive: true, force: true });
      this.ownDir = null;
    }
  }

  // e2e/k8s/cluster.sh COMMAND on this file's own control plane (restart-apiserver, compact,
  // faults-up...). Asynchronous, so open watches see what happens meanwhile. Connections kept
  // alive to a restarted server are dropped.
  async clusterSh(cmd) {
    if (!this.ownDir) throw new Error(`cluster.sh ${cmd} only on a control plane of the test's own`);
    const out = await new Promise((resolve, reject) => {
      execFile(CLUSTER_SH, [cmd, this.ownDir], { encoding: 'utf8', timeout: 120000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`cluster.sh ${cmd}: ${err.message}\n${stderr}`)); else resolve(stdout.trim());
      });
    });
    if (/apiserver/.test(cmd)) this.setServer(this.server, this.tls);
    return out;
  }

  // kube-apiserver killed (a crash) and started again by cluster.sh restart-apiserver.
  // WORKAROUND: cluster.sh sends SIGKILL and starts the new process at once, and the new one
  // sometimes finds its port still taken ("bind: address already in use"), exits, and cluster.sh
  // waits 90 s for a /readyz that never comes. So the old process is killed and waited for here
  // first, the port must be free, and a new process that dies at start is retried.
  async restartApiserver() {
    const pidFile = path.join(this.ownDir, 'pids', 'kube-apiserver.pid');
    const alive = (pid) => {
      try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
    };
    const portFree = () => new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(this.port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    for (let attempt = 1; ; attempt++) {
      const old = Number(fs.readFileSync(pidFile, 'utf8').trim());
      try { process.kill(old, 'SIGKILL'); } catch { /* already gone */ }
      for (let i = 0; i < 100 && (alive(old) || !(await portFree())); i++) await sleep(50);
      const child = execFile(CLUSTER_SH, ['restart-apiserver', this.ownDir], { encoding: 'utf8', timeout: 120000 });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      let code = null;
      for (;;) {
        code = await Promise.race([exited, sleep(250).then(() => undefined)]);
        if (code !== undefined) break;
        let pid = 0;
        try { pid = Number(fs.readFileSync(pidFile, 'utf8').trim()); } catch { /* not written yet */ }
        if (pid && pid !== old && !alive(pid)) {
          const log = fs.readFileSync(path.join(this.ownDir, 'logs', 'kube-apiserver.log'), 'utf8').trim().split('\n').pop();
          console.log(`# kube-apiserver died at start (attempt ${attempt}): ${log.slice(0, 300)}`);
          child.kill();
          await exited;
          code = -1;
          break;
        }
      }
      if (code === 0) break;
      if (code !== -1 || attempt >= 3) throw new Error(`cluster.sh restart-apiserver failed (${code}): ${stderr}`);
    }
    this.setServer(this.server, this.tls);
  }

  env() { return readEnvFile(path.join(this.dir, 'env')); }

  // One HTTPS request. Returns { status, headers, body, text } with body parsed as JSON when it
  // is. opts.token: a bearer token (null: none) sent without the kubeconfig's client certificate.
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
      const agent = opts.token === undefined ? this.agent : this.plainAgent;
      const req = https.request({ host: this.host, port: this.port, path: this.basePath + p, method, headers, agent }, (res) => {
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
      const { ca, cert, key, rejectUnauthorized } = this.tls;
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

  kubectlEnv() { return { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: this.cacheDir() }; }
  kubectl(args, input) {
    const r = spawnSync(path.join(this.bin, 'kubectl'), args, { input, encoding: 'utf8', env: this.kubectlEnv(), timeout: 30000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  kubectlAsync(args) { return spawn(path.join(this.bin, 'kubectl'), args, { env: this.kubectlEnv() }); }
  cacheDir() {
    if (!this._cache) this._cache = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kubectl-cache-'));
    return this._cache;
  }

  async createNamespace(prefix) {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await this.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.text}`);
    return name;
  }
  // Deletion is asynchronous (the namespace controller empties it); nobody waits for it.
  async deleteNamespace(name) { if (name) await this.del(`/api/v1/namespaces/${name}`); }

  // A ServiceAccount and a token for it (TokenRequest): bearer-token credentials, for
  // kube-faults and authentication checks. clusterAdmin: bound to cluster-admin (the binding is
  // named NS-NAME; remove it with deleteClusterAdminBinding).
  async serviceAccountToken(ns, name, { clusterAdmin = false } = {}) {
    const sa = await this.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } });
    if (sa.status !== 201) throw new Error(`serviceaccount: ${sa.status} ${sa.text}`);
    if (clusterAdmin) {
      const crb = await this.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        metadata: { name: `${ns}-${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      });
      if (crb.status !== 201) throw new Error(`clusterrolebinding: ${crb.status} ${crb.text}`);
    }
    const t = await this.post(`/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    if (t.status !== 201) throw new Error(`token request: ${t.status} ${t.text}`);
    return t.body.status.token;
  }
  async deleteClusterAdminBinding(ns, name) { await this.del(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${ns}-${name}`); }

  // Poll until fn() returns a truthy value (controllers act asynchronously).
  async eventually(fn, ms = 10000, what = 'condition') {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) { last = await fn(); if (last) return last; await sleep(50); }
    throw new Error(`timed out waiting for ${what}`);
  }
}

// kube-faults (e2e/k8s/faults) in front of a control plane of the test's own: faults are per
// proxy process, so a test starts its own rather than reconfigure the shared one.
class Faults {
  static async start(c) {
    await c.clusterSh('faults-up');
    const env = c.env();
    const f = new Faults();
    f.url = env.FAULTS_URL;
    f.adminUrl = env.FAULTS_ADMIN;
    return f;
  }
  // POST /faults?status=..&count=..&retryAfter=..&latency=..&match=..&dropWatches=now ...
  admin(method, p) {
    const u = new URL(p, this.adminUrl);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method }, (res) => {
        const chunks = []; res.on('data', (c) => chunks.push(c));
        res.on('end', () => { const t = Buffer.concat(chunks).toString(); let body = t; try { body = JSON.parse(t); } catch { /* text */ } resolve({ status: res.statusCode, body }); });
      });
      req.on('error', reject);
      req.end();
    });
  }
  set(params) { return this.admin('POST', `/faults?${new URLSearchParams(params)}`); }
  clear() { return this.admin('DELETE', '/faults'); }
  stats() { return this.admin('GET', '/stats'); }
}

// A CRD used by several tests: namespaced, status subresource, printer columns, category,
// structural schema with defaults, enums, bounds and CEL rules (incl. a transition rule).
// Each test file uses a group of its own; the short name and category carry the group's first
// label so that kubectl never has to choose between the widgets of two files.
const widgetShortName = (group) => `wdg-${group.split('.')[0]}`;
const widgetCategory = (group) => `sluice-${group.split('.')[0]}`;
function widgetCrd(group) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: [widgetShortName(group)], categories: [widgetCategory(group)] },
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
  await c.eventually(async () => {
    const g = await c.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`);
    return (g.body.status && g.body.status.conditions || []).some((x) => x.type === 'Established' && x.status === 'True');
  }, 20000, 'CRD established');
  await c.eventually(async () => (await c.get(`/apis/${group}/v1`)).status === 200, 20000, 'CRD served');
  return crd;
}

module.exports = { Cluster, onSomeonesCluster, Faults, sleep, widgetCrd, widgetShortName, widgetCategory, installWidgetCrd, REPO, HERE };
