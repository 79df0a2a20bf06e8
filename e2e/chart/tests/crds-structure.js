'use strict';
// e2e.chart.crds-structure: our CRDs are structural and complete. Every property has a type and
// a description (kubectl explain), arrays and strings are bounded (CEL cost), the printer
// columns, short names and category match the API contract, printer columns point at fields
// that exist, defaults satisfy their own schema, and the CEL rules the contract asks for exist.

const path = require('node:path');
const { crdDir, listYaml, readYamlDocs, Checker } = require('./lib');
const { walk, validate } = require('./schema');

const c = new Checker('crds-structure');

const expected = {
  'sluice.dev_trafficpolicies.yaml': {
    kind: 'TrafficPolicy', plural: 'trafficpolicies', singular: 'trafficpolicy', short: ['tp'],
    columns: ['Strategy', 'Backends', 'Ready', 'Age'],
    celAt: ['spec', 'spec.tiers'],
    listMaps: ['spec.backends', 'spec.tiers'],
  },
  'sluice.dev_canaryrollouts.yaml': {
    kind: 'CanaryRollout', plural: 'canaryrollouts', singular: 'canaryrollout', short: ['cr'],
    columns: ['Phase', 'Step', 'Weight', 'Age'],
    celAt: ['spec', 'spec.steps', 'spec.route', 'spec.analysis.metrics[].thresholdRange'],
    listMaps: ['spec.analysis.metrics', 'status.conditions'],
    defaults: {
      'spec.steps': [5, 10, 25, 50, 75, 100], 'spec.stepInterval': '1m',
      'spec.analysis.interval': '30s', 'spec.analysis.failureLimit': 2,
      'spec.analysis.minRequests': 100, 'spec.route.provider': 'gatewayAPI',
    },
    enums: {
      'status.phase': ['Pending', 'Progressing', 'Paused', 'Promoting', 'Succeeded', 'RolledBack', 'Failed'],
      'status.analysis.metrics[].result': ['Pass', 'Fail', 'Inconclusive'],
      'spec.route.provider': ['gatewayAPI', 'haproxy'],
    },
  },
  'sluice.dev_tierlimits.yaml': {
    kind: 'TierLimit', plural: 'tierlimits', singular: 'tierlimit', short: ['tl'],
    columns: ['Tiers', 'HPA', 'Ready', 'Age'],
    celAt: ['spec', 'spec.tiers', 'spec.tiers[]', 'spec.autoscaling', 'spec.autoscaling.schedules[].cron'],
    listMaps: ['spec.tiers', 'spec.autoscaling.schedules'],
  },
};

// Resolves a printer column's simple JSONPath (.status.conditions[?(@.type=="Ready")].status)
// against the schema; returns the schema node or undefined.
function resolveColumn(root, jsonPath) {
  const cleaned = jsonPath.replace(/\[\?\([^)]*\)\]/g, '[]').replace(/^\./, '');
  let node = root;
  for (const part of cleaned.split('.')) {
    const m = /^([A-Za-z0-9_]+)(\[\])?$/.exec(part);
    if (!m) return undefined;
    if (m[1] === 'metadata' && node === root) return { type: 'object', metadata: true };
    node = node.properties && node.properties[m[1]];
    if (!node) return undefined;
    if (m[2]) node = node.items;
    if (!node) return undefined;
  }
  return node;
}

const files = listYaml(crdDir).map((f) => path.basename(f));
c.equal(files, Object.keys(expected).sort(), 'CRD files in crds/');

for (const file of Object.keys(expected)) {
  const want = expected[file];
  const docs = readYamlDocs(path.join(crdDir, file));
  if (!c.ok(docs.length === 1, `${file}: one document`)) continue;
  const crd = docs[0];
  const where = `${want.kind}`;
  c.equal(crd.apiVersion, 'apiextensions.k8s.io/v1', `${where} apiVersion`);
  c.equal(crd.kind, 'CustomResourceDefinition', `${where} kind`);
  c.equal(crd.metadata.name, `${want.plural}.sluice.dev`, `${where} name`);
  c.equal(crd.spec.group, 'sluice.dev', `${where} group`);
  c.equal(crd.spec.scope, 'Namespaced', `${where} scope`);
  c.equal(crd.spec.names.kind, want.kind, `${where} names.kind`);
  c.equal(crd.spec.names.plural, want.plural, `${where} names.plural`);
  c.equal(crd.spec.names.singular, want.singular, `${where} names.singular`);
  c.equal(crd.spec.names.listKind, `${want.kind}List`, `${where} names.listKind`);
  c.equal(crd.spec.names.shortNames, want.short, `${where} shortNames`);
  c.equal(crd.spec.names.categories, ['sluice'], `${where} categories`);
  if (!c.equal(crd.spec.versions.map((v) => v.name), ['v1alpha1'], `${where} versions`)) continue;
  const v = crd.spec.versions[0];
  c.ok(v.served === true && v.storage === true, `${where}: v1alpha1 served and storage`);
  c.equal(v.subresources, { status: {} }, `${where} subresources`);
  const root = v.schema && v.schema.openAPIV3Schema;
  if (!c.ok(root && root.type === 'object', `${where}: openAPIV3Schema is an object schema`)) continue;

  // Printer columns.
  const cols = v.additionalPrinterColumns || [];
  c.equal(cols.map((col) => col.name), want.columns, `${where} printer columns`);
  for (const col of cols) {
    const node = resolveColumn(root, col.jsonPath);
    if (!c.ok(node, `${where} column ${col.name}: ${col.jsonPath} is not a field of the schema`)) continue;
    if (node.metadata) continue;
    const colType = col.type === 'date' ? 'string' : col.type;
    c.ok(node.type === colType, `${where} column ${col.name}: type ${col.type} but field is ${node.type}`);
    if (col.name !== 'Age') c.ok(col.description, `${where} column ${col.name} has a description`);
  }

  // Structural rules and completeness, node by node.
  walk(root, '', (node, p, ctx) => {
    const at = `${where}${p || ' (root)'}`;
    const isRootMeta = p === '.metadata';
    c.ok(node.type || node['x-kubernetes-int-or-string'], `${at}: has a type`);
    if (!isRootMeta) c.ok(typeof node.description === 'string' && node.description.length > 3, `${at}: has a description`);
    if (node.type === 'object') {
      c.ok(!(node.properties && node.additionalProperties), `${at}: additionalProperties beside properties`);
    }
    if (node.type === 'array') {
      c.ok(node.items, `${at}: array has items`);
      c.ok(Number.isInteger(node.maxItems), `${at}: array has maxItems (bounds CEL cost and object size)`);
    }
    if (node.type === 'string' && !['.apiVersion', '.kind'].includes(p)) {
      c.ok(Number.isInteger(node.maxLength) || node.enum || node.format === 'date-time',
        `${at}: string has maxLength, enum or a date-time format`);
    }
    if (node.pattern !== undefined) {
      let ok = true;
      try { new RegExp(node.pattern, 'u'); } catch (e) { ok = false; }
      c.ok(ok, `${at}: pattern compiles`);
    }
    if (node['x-kubernetes-int-or-string']) {
      c.ok(!node.type && !node.properties, `${at}: int-or-string has no type/properties`);
    }
    if (node.default !== undefined) {
      const errs = validate(node, node.default, p);
      c.ok(errs.length === 0, `${at}: default ${JSON.stringify(node.default)} breaks its own schema: ${JSON.stringify(errs)}`);
    }
    if (node['x-kubernetes-list-type'] === 'map') {
      const keys = node['x-kubernetes-list-map-keys'] || [];
      c.ok(keys.length > 0, `${at}: list-type map has keys`);
      for (const k of keys) {
        c.ok(node.items && (node.items.required || []).includes(k) || (node.items.properties[k] || {}).default !== undefined,
          `${at}: list-map key ${k} is required or defaulted`);
      }
    }
    for (const rule of node['x-kubernetes-validations'] || []) {
      c.ok(typeof rule.rule === 'string' && rule.rule.length > 0, `${at}: CEL rule is a string`);
      c.ok(typeof rule.message === 'string' && rule.message.length > 0, `${at}: CEL rule has a message`);
      // Functions kube-apiserver 1.26 does not have.
      for (const fn of ['quantity(', 'isQuantity(', 'format(', 'ip(', 'cidr(', 'sets.', '.sort(', 'lists.']) {
        c.ok(!rule.rule.includes(fn), `${at}: CEL rule uses ${fn}, which kube-apiserver 1.26 lacks`);
      }
      c.ok(!('fieldPath' in rule) && !('reason' in rule), `${at}: fieldPath/reason need kube-apiserver 1.28`);
    }
  });

  // The rules the contract asks for exist where expected.
  const byPath = {};
  walk(root, '', (node, p) => { byPath[p.replace(/^\./, '')] = node; });
  for (const p of want.celAt) {
    const node = byPath[p];
    c.ok(node && (node['x-kubernetes-validations'] || []).length > 0, `${where} ${p}: has CEL validation`);
  }
  for (const p of want.listMaps) {
    const node = byPath[p];
    c.ok(node && node['x-kubernetes-list-type'] === 'map', `${where} ${p}: is a list-type map`);
  }
  for (const [p, d] of Object.entries(want.defaults || {})) {
    c.equal(byPath[p] && byPath[p].default, d, `${where} ${p} default`);
  }
  for (const [p, e] of Object.entries(want.enums || {})) {
    c.equal(byPath[p] && byPath[p].enum, e, `${where} ${p} enum`);
  }
  // Status: conditions with the metav1.Condition shape, observedGeneration.
  const cond = byPath['status.conditions[]'];
  if (c.ok(cond, `${where}: status.conditions exists`)) {
    c.equal([...cond.required].sort(), ['lastTransitionTime', 'message', 'reason', 'status', 'type'], `${where} condition required fields`);
    c.equal(cond.properties.status.enum, ['True', 'False', 'Unknown'], `${where} condition status enum`);
    c.ok(cond.properties.observedGeneration && cond.properties.observedGeneration.type === 'integer', `${where} condition observedGeneration`);
  }
  c.ok(byPath['status.observedGeneration'] && byPath['status.observedGeneration'].type === 'integer', `${where}: status.observedGeneration`);
}

c.done();
