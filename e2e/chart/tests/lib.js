'use strict';
// Shared helpers for the e2e.chart.* tests: paths, running helm, parsing YAML, the Kubernetes
// cluster of the tests that need one, and a tiny assertion collector that reports every failure
// before exiting non-zero.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const chartTestDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(chartTestDir, '..', '..');
const chartDir = path.join(repoRoot, 'charts', 'sluice');
const crdDir = path.join(repoRoot, 'crds');
const samplesDir = path.join(repoRoot, 'samples');
const k8sDir = path.join(repoRoot, 'e2e', 'k8s');

// The Kubernetes release the tests run against (e2e/k8s/go.mod pins it; K8S_VERSION overrides,
// as for e2e/k8s/build.sh). helm.sh renders offline for it too.
const kubeVersion = process.env.K8S_VERSION ||
  /^\s*k8s\.io\/kubernetes (v[0-9.]+)/m.exec(fs.readFileSync(path.join(k8sDir, 'go.mod'), 'utf8'))[1];

let yaml;
try {
  yaml = require(path.join(chartTestDir, 'node_modules', 'js-yaml'));
} catch (e) {
  console.error('js-yaml is missing: run scripts/install-node-deps.sh');
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function helm(args, opts = {}) {
  return run(path.join(chartTestDir, 'helm.sh'), args, opts);
}

// Renders the chart; `sets` are --set pairs, `valuesYaml` an optional values file's content.
function template({ release = 'sluice', namespace = 'sluice-system', sets = [], valuesYaml } = {}) {
  const args = ['template', release, chartDir, '--namespace', namespace];
  let tmp;
  if (valuesYaml !== undefined) {
    tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sluice-values-'));
    const file = path.join(tmp, 'values.yaml');
    fs.writeFileSync(file, valuesYaml);
    args.push('--values', file);
  }
  for (const s of sets) args.push('--set', s);
  try {
    return helm(args);
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function parseDocs(text) {
  return yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
}

function readYamlDocs(file) {
  return parseDocs(fs.readFileSync(file, 'utf8'));
}

function listYaml(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
}

function canonical(v) {
  return JSON.stringify(v, (k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.keys(val).sort().map((key) => [key, val[key]]))
      : val);
}

// `export NAME=value` lines of a cluster's env file (e2e/k8s/cluster.sh writes DIR/env).
function readEnvFile(file) {
  const env = {};
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) env[m[1]] = m[2];
  return env;
}

const ownClusters = [];
function stopOwnClusters() {
  while (ownClusters.length) {
    const dir = ownClusters.pop();
    spawnSync(path.join(k8sDir, 'cluster.sh'), ['down', dir], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
process.on('exit', stopOwnClusters);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { stopOwnClusters(); process.exit(1); });
}

// A client for one cluster: kubectl(args, input) and helm(args) with its kubeconfig.
function clusterClient(kubeconfig, bin, own) {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  return {
    kubeconfig, bin, own,
    kubectl: (args, input) => run(path.join(bin, 'kubectl'), args, { env, input, timeout: 60000 }),
    helm: (args) => helm(args, { env, timeout: 120000 }),
  };
}

// Starts a control plane of the test's own (e2e/k8s/cluster.sh), stopped when the process exits.
function startCluster(name) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), `sluice-${name}-`));
  ownClusters.push(dir);
  const r = run(path.join(k8sDir, 'cluster.sh'), ['up', dir], { timeout: 600000 });
  if (r.status !== 0) throw new Error(`e2e/k8s/cluster.sh up ${dir} failed: ${r.stderr.trim()}`);
  return clusterClient(path.join(dir, 'kubeconfig'), readEnvFile(path.join(dir, 'env')).K8S_BIN, true);
}

// The cluster a test runs against: SLUICE_E2E_KUBECONFIG (kubectl from e2e/k8s/build.sh), else
// the shared control plane of the CTest fixture `k8s` (SLUICE_CLUSTER_DIR), else one of the
// test's own (a test run directly with node).
function cluster(name) {
  if (process.env.SLUICE_E2E_KUBECONFIG) {
    const bin = run(path.join(k8sDir, 'build.sh'), [], { timeout: 3600000 });
    if (bin.status !== 0) throw new Error(`e2e/k8s/build.sh failed: ${bin.stderr.trim()}`);
    return clusterClient(process.env.SLUICE_E2E_KUBECONFIG, bin.stdout.trim(), false);
  }
  const dir = process.env.SLUICE_CLUSTER_DIR;
  if (dir) return clusterClient(path.join(dir, 'kubeconfig'), readEnvFile(path.join(dir, 'env')).K8S_BIN, false);
  return startCluster(name);
}

// Polls fn() (returning a truthy value when done) every 250 ms for up to `ms`; returns its last value.
function waitFor(ms, fn) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() >= deadline) return v;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
}

class Checker {
  constructor(name) {
    this.name = name;
    this.failures = [];
    this.checks = 0;
  }
  ok(cond, msg) {
    this.checks++;
    if (!cond) this.failures.push(msg);
    return !!cond;
  }
  // Deep equality; object key order does not matter, array order does.
  equal(actual, expected, msg) {
    const a = canonical(actual);
    const e = canonical(expected);
    return this.ok(a === e, `${msg}: got ${a}, want ${e}`);
  }
  fail(msg) {
    this.ok(false, msg);
  }
  // Prints the outcome and exits; a run with no check at all is a failure too.
  done() {
    if (this.checks === 0) this.failures.push('no check ran');
    for (const f of this.failures) console.error(`FAIL ${this.name}: ${f}`);
    if (this.failures.length) {
      console.error(`${this.name}: ${this.failures.length} of ${this.checks} checks failed`);
      process.exit(1);
    }
    console.log(`${this.name}: ${this.checks} checks passed`);
    process.exit(0);
  }
}

module.exports = {
  repoRoot, chartDir, crdDir, samplesDir, chartTestDir, k8sDir, yaml, kubeVersion,
  run, helm, template, parseDocs, readYamlDocs, listYaml, Checker,
  cluster, startCluster, waitFor,
};
