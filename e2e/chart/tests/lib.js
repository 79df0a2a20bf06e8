'use strict';
// Shared helpers for the e2e.chart.* tests: paths, running helm, parsing YAML, and a tiny
// assertion collector that reports every failure before exiting non-zero.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const chartTestDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(chartTestDir, '..', '..');
const chartDir = path.join(repoRoot, 'charts', 'sluice');
const crdDir = path.join(repoRoot, 'crds');
const samplesDir = path.join(repoRoot, 'samples');

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

function helm(args) {
  return run(path.join(chartTestDir, 'helm.sh'), args);
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
  repoRoot, chartDir, crdDir, samplesDir, chartTestDir, yaml,
  run, helm, template, parseDocs, readYamlDocs, listYaml, Checker,
};
