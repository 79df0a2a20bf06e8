'use strict';
// e2e.chart.samples-schema: every sample is one of our kinds and satisfies its CRD's OpenAPI
// schema (types, enums, patterns, bounds, required, no unknown fields); every invalid sample
// declares `# reject-field:` and `# reason:` on its first two lines and breaks no schema rule
// outside its reject-field (so it is rejected for the reason it documents, not another). CEL
// rules are evaluated by the API server in e2e.chart.samples-kubectl.

const fs = require('node:fs');
const path = require('node:path');
const { crdDir, samplesDir, listYaml, readYamlDocs, Checker } = require('./lib');
const { validate, isUnder } = require('./schema');

const c = new Checker('samples-schema');

const schemas = {};
for (const f of listYaml(crdDir)) {
  const crd = readYamlDocs(f)[0];
  schemas[crd.spec.names.kind] = crd.spec.versions[0].schema.openAPIV3Schema;
}

function check(file, doc) {
  const name = path.relative(samplesDir, file);
  c.equal(doc.apiVersion, 'sluice.dev/v1alpha1', `${name} apiVersion`);
  const schema = schemas[doc.kind];
  if (!c.ok(schema, `${name}: kind ${doc.kind} is one of ours`)) return null;
  c.ok(doc.metadata && doc.metadata.name, `${name}: has metadata.name`);
  return validate(schema, doc, '').map((e) => ({ ...e, path: e.path.replace(/^\./, '') }));
}

const valid = listYaml(samplesDir);
c.ok(valid.length >= 3, 'samples/ has the valid examples');
const kinds = new Set();
for (const file of valid) {
  for (const doc of readYamlDocs(file)) {
    kinds.add(doc.kind);
    const errs = check(file, doc);
    if (errs) c.ok(errs.length === 0, `${path.basename(file)} breaks its schema: ${JSON.stringify(errs)}`);
  }
}
c.equal([...kinds].sort(), ['CanaryRollout', 'TierLimit', 'TrafficPolicy'], 'valid samples cover every kind');

const invalid = listYaml(path.join(samplesDir, 'invalid'));
c.ok(invalid.length >= 11, `samples/invalid/ has one file per rejected mistake (found ${invalid.length})`);
for (const file of invalid) {
  const name = path.basename(file);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const field = /^# reject-field: (\S+)$/.exec(lines[0]);
  const reason = /^# reason: (.+)$/.exec(lines[1] || '');
  c.ok(field, `${name}: first line is "# reject-field: <field path>"`);
  c.ok(reason, `${name}: second line is "# reason: <why>"`);
  const docs = readYamlDocs(file);
  if (!c.ok(docs.length === 1, `${name}: one object per file`) || !field) continue;
  const errs = check(file, docs[0]) || [];
  const outside = errs.filter((e) => !isUnder(e.path, field[1]));
  c.ok(outside.length === 0, `${name}: breaks schema rules outside ${field[1]}: ${JSON.stringify(outside)}`);
}

c.done();
