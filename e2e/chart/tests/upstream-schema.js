'use strict';
// e2e.chart.upstream-schema: the objects the operator generates for upstream kinds (the render
// tests' goldens: HTTPRoute, BackendTrafficPolicy) satisfy that kind's schema in every release
// kept in shared/crds (oldest and newest of Gateway API and of Envoy Gateway): types, enums,
// patterns, bounds, required, no unknown field. Offline; the CEL rules are kube-apiserver's
// part, in e2e.chart.samples-kubectl, which applies the same goldens on each release.

const fs = require('node:fs');
const path = require('node:path');
const { repoRoot, listYaml, readYamlDocs, Checker } = require('./lib');
const { validate } = require('./schema');

const c = new Checker('upstream-schema');
const sharedCrds = path.resolve(process.env.SLUICE_SHARED_DIR || path.resolve(repoRoot, '..', 'shared'), 'crds');
const goldenDir = path.join(repoRoot, 'operator', 'render', 'test', 'golden');

// The generated objects of upstream kinds, by kind.
function goldens() {
  const out = {};
  for (const f of fs.readdirSync(goldenDir).filter((x) => x.endsWith('.json')).sort()) {
    const doc = JSON.parse(fs.readFileSync(path.join(goldenDir, f), 'utf8'));
    if (/(^|\.)(k8s\.io|envoyproxy\.io)\//.test(doc.apiVersion) && !/^autoscaling\//.test(doc.apiVersion)) {
      (out[doc.kind] ||= []).push({ file: f, doc });
    }
  }
  return out;
}

// kind -> [{release, schema of the object's apiVersion}]
function schemas() {
  const out = {};
  for (const release of fs.readdirSync(sharedCrds).sort()) {
    const dir = path.join(sharedCrds, release);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of listYaml(dir)) {
      const crd = readYamlDocs(f)[0];
      for (const v of crd.spec.versions) {
        (out[crd.spec.names.kind] ||= []).push({ release, apiVersion: `${crd.spec.group}/${v.name}`, schema: v.schema.openAPIV3Schema });
      }
    }
  }
  return out;
}

if (c.ok(fs.existsSync(sharedCrds), `upstream CRDs at ${sharedCrds} (shared/crds beside the clone, or SLUICE_SHARED_DIR)`)) {
  const byKind = goldens();
  const crds = schemas();
  c.equal(Object.keys(byKind).sort(), ['BackendTrafficPolicy', 'HTTPRoute'], 'goldens cover the upstream kinds the operator writes');
  for (const [kind, objects] of Object.entries(byKind)) {
    for (const { file, doc } of objects) {
      const matching = (crds[kind] || []).filter((x) => x.apiVersion === doc.apiVersion);
      const releases = new Set(matching.map((x) => x.release));
      c.ok(releases.size >= 2, `${file}: ${kind} ${doc.apiVersion} is served by at least two releases in shared/crds (got ${[...releases].join(', ')})`);
      for (const { release, schema } of matching) {
        const errors = validate(schema, doc, '').map((e) => `${e.path.replace(/^\./, '')}: ${e.message}`);
        c.ok(errors.length === 0, `${file} against ${release}: ${errors.join('; ')}`);
      }
    }
  }
  // The checker itself: a field only the newer Envoy Gateway knows, and a duration only v1.2.8's
  // format accepts, must fail (so a pass above means something).
  const btp = byKind.BackendTrafficPolicy[0].doc;
  const older = crds.BackendTrafficPolicy.find((x) => x.release === 'envoy-gateway-v1.2.8').schema;
  const newer = crds.BackendTrafficPolicy.find((x) => x.release === 'envoy-gateway-v1.6.7').schema;
  const perEndpoint = structuredClone(btp);
  perEndpoint.spec.circuitBreaker.perEndpoint = { maxConnections: 1 };
  c.ok(validate(older, perEndpoint, '').some((e) => /perEndpoint/.test(e.path)), 'v1.2.8 refuses circuitBreaker.perEndpoint');
  const fraction = structuredClone(btp);
  fraction.spec.healthCheck.active.interval = '1.5s';
  c.ok(validate(newer, fraction, '').some((e) => /interval/.test(e.path)), 'v1.6.7 refuses a fractional duration');
  const wrongType = structuredClone(btp);
  wrongType.spec.healthCheck.active.type = 'HTTPS';
  c.ok(validate(older, wrongType, '').length > 0, 'an active check type outside the allOf enums is refused');
}

c.done();
