'use strict';
// CustomResourceDefinitions: serving, admission (schema, pruning, defaults, CEL), tables.
const fs = require('fs');
const path = require('path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster, installWidgetCrd, widgetShortName, widgetCategory, onSomeonesCluster, REPO } = require('./helpers');

const GROUP = 'conformance.sluice.dev';
let c; let ns;
test.before(async () => { c = await Cluster.start(); await installWidgetCrd(c, GROUP); ns = await c.createNamespace('crd'); });
test.after(async () => {
  await c.deleteNamespace(ns);
  await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${GROUP}`);
  await c.stop();
});

const url = (name = '') => `/apis/${GROUP}/v1/namespaces/${ns}/widgets${name ? `/${name}` : ''}`;
const widget = (name, spec) => ({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name }, spec });

// custom-resource-definitions.md: a created CRD is Established and its kind is served with the
// names, scope, categories and subresources it declares.
test('CRD: the new kind appears in discovery with short names, categories and status subresource', async () => {
  const r = await c.get(`/apis/${GROUP}/v1`);
  assert.equal(r.status, 200);
  const w = r.body.resources.find((x) => x.name === 'widgets');
  assert.equal(w.kind, 'Widget');
  assert.equal(w.namespaced, true);
  assert.deepEqual(w.shortNames, [widgetShortName(GROUP)]);
  assert.deepEqual(w.categories, [widgetCategory(GROUP)]);
  assert.ok(r.body.resources.some((x) => x.name === 'widgets/status'));
  const crd = await c.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${GROUP}`);
  assert.deepEqual(crd.body.status.storedVersions, ['v1']);
  assert.equal(crd.body.status.acceptedNames.kind, 'Widget');
});

// custom-resource-definitions.md#defaulting and #field-pruning: defaults are applied and unknown
// fields dropped, except under x-kubernetes-preserve-unknown-fields.
test('CR admission: defaults applied, unknown fields pruned, preserved where declared', async () => {
  const r = await c.post(url(), widget('defaults', { size: 2, unknownField: 1, extra: { anything: { goes: true } } }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.spec.color, 'red');
  assert.deepEqual(r.body.spec.steps, []);
  assert.equal(r.body.spec.unknownField, undefined);
  assert.deepEqual(r.body.spec.extra, { anything: { goes: true } });
  assert.equal(r.body.metadata.generation, 1);
});

// With fieldValidation=Strict (what kubectl sends) unknown fields are an error instead.
test('CR admission: fieldValidation=Strict rejects unknown fields with 400', async () => {
  const r = await c.post(`${url()}?fieldValidation=Strict`, widget('strict', { size: 2, bogus: 1 }));
  assert.equal(r.status, 400);
  assert.equal(r.body.reason, 'BadRequest');
  assert.match(r.body.message, /unknown field "spec\.bogus"/);
});

// api-concepts.md#field-validation: the default (Warn) accepts unknown fields, drops them and
// says so in a Warning header; Ignore drops them silently.
test('CR admission: fieldValidation Warn (default) returns a Warning header, Ignore does not', async () => {
  const warn = await c.post(url(), widget('warned', { size: 2, bogus: 1 }));
  assert.equal(warn.status, 201, warn.text);
  assert.match(String(warn.headers.warning), /299 - "unknown field \\"spec\.bogus\\""/);
  assert.equal(warn.body.spec.bogus, undefined);
  const ignore = await c.post(`${url()}?fieldValidation=Ignore`, widget('ignored', { size: 2, bogus: 1 }));
  assert.equal(ignore.status, 201);
  assert.equal(ignore.headers.warning, undefined);
});

// custom-resource-definitions.md#validation: OpenAPI v3 constraints give 422 Invalid with one
// cause per field and the "<Kind>.<group> "<name>" is invalid: ..." message. One cause per field:
// a value both too long and not matching the pattern is reported as too long only. While the
// schema is violated the CEL rules are not run, which one more cause (field "<nil>") says.
test('CR admission: schema violations are 422 with causes naming each field', async () => {
  const r = await c.post(url(), widget('bad', { size: 11, color: 'purple', name: 'TooLongName', steps: [1, 'x'], port: true }));
  assert.equal(r.status, 422);
  assert.equal(r.body.reason, 'Invalid');
  assert.equal(r.body.details.kind, 'Widget');
  assert.equal(r.body.details.group, GROUP);
  assert.equal(r.body.details.name, 'bad');
  assert.match(r.body.message, new RegExp(`^Widget\\.${GROUP.replace(/\./g, '\\.')} "bad" is invalid: \\[`));
  const fields = r.body.details.causes.map((x) => `${x.field}:${x.reason}`);
  assert.ok(fields.includes('spec.size:FieldValueInvalid'), fields.join());
  assert.ok(fields.includes('spec.color:FieldValueNotSupported'), fields.join());
  assert.ok(fields.includes('spec.name:FieldValueTooLong'), fields.join());
  assert.ok(!fields.includes('spec.name:FieldValueInvalid'), fields.join()); // the pattern is not reported as well
  assert.ok(fields.includes('spec.steps[1]:FieldValueTypeInvalid'), fields.join());
  assert.ok(fields.includes('spec.port:FieldValueTypeInvalid'), fields.join());
  assert.ok(fields.includes('<nil>:FieldValueInvalid'), fields.join());
  const size = r.body.details.causes.find((x) => x.field === 'spec.size');
  assert.equal(size.message, 'Invalid value: 11: spec.size in body should be less than or equal to 10');
  const color = r.body.details.causes.find((x) => x.field === 'spec.color');
  assert.equal(color.message, 'Unsupported value: "purple": supported values: "red", "green", "blue"');
  const skipped = r.body.details.causes.find((x) => x.field === '<nil>');
  assert.match(skipped.message, /some validation rules were not checked because the object was invalid/);
  const pattern = await c.post(url(), widget('pattern', { size: 1, name: 'Abc' }));
  assert.equal(pattern.status, 422);
  assert.deepEqual(pattern.body.details.causes, [{ reason: 'FieldValueInvalid', field: 'spec.name', message: 'Invalid value: "Abc": spec.name in body should match \'^[a-z]+$\'' }]);
  const req = await c.post(url(), widget('noreq', { color: 'red' }));
  assert.equal(req.status, 422);
  assert.deepEqual(req.body.details.causes.map((x) => [x.field, x.reason]), [['spec.size', 'FieldValueRequired'], ['<nil>', 'FieldValueInvalid']]);
  assert.match(req.body.message, new RegExp(`^Widget\\.${GROUP.replace(/\./g, '\\.')} "noreq" is invalid: \\[spec\\.size: Required value, <nil>: Invalid value: null: some validation rules were not checked`));
});

test('CR admission: x-kubernetes-int-or-string accepts both integers and strings', async () => {
  assert.equal((await c.post(url(), widget('port-int', { size: 1, port: 8080 }))).status, 201);
  assert.equal((await c.post(url(), widget('port-str', { size: 1, port: 'http' }))).status, 201);
});

// custom-resource-definitions.md#validation-rules: CEL rules with message and fieldPath; the
// field is the fieldPath appended to the path of the node that declares the rule, and the
// message is "Invalid value: " and the rule's message. Releases before v1.35 also show the
// node's type ('Invalid value: "object": ...'); v1.35 and later show neither value nor type.
function celInvalid(message, ruleMessage) {
  return new RegExp(`^Invalid value: ("(object|array|string|integer|number|boolean)": )?${ruleMessage}$`).test(message);
}

test('CR admission: x-kubernetes-validations rules reject with their message and fieldPath', async () => {
  const r = await c.post(url(), widget('cel', { size: 1, steps: [5, 50, 20] }));
  assert.equal(r.status, 422);
  const causes = r.body.details.causes;
  assert.ok(causes.some((x) => x.field === 'spec.steps' && celInvalid(x.message, 'steps must be increasing')), JSON.stringify(causes));
  assert.ok(causes.some((x) => x.field === 'spec.steps' && celInvalid(x.message, 'the last step must be 100')), JSON.stringify(causes));
  assert.match(r.body.message, new RegExp(`^Widget\\.${GROUP.replace(/\./g, '\\.')} "cel" is invalid: \\[spec\\.steps: Invalid value: ("object": )?the last step must be 100, spec\\.steps: Invalid value: ("array": )?steps must be increasing\\]$`));
  const ok = await c.post(url(), widget('cel-ok', { size: 1, steps: [5, 50, 100] }));
  assert.equal(ok.status, 201, ok.text);
});

// custom-resource-definitions.md#transition-rules: rules using oldSelf run on update only.
test('CR admission: transition rule (self == oldSelf) makes a field immutable', async () => {
  const a = await c.post(url(), widget('immut', { size: 1, immutableId: 'abc' }));
  assert.equal(a.status, 201);
  const same = await c.patch(url('immut'), { spec: { size: 2 } }, 'application/merge-patch+json');
  assert.equal(same.status, 200, same.text);
  const changed = await c.patch(url('immut'), { spec: { immutableId: 'xyz' } }, 'application/merge-patch+json');
  assert.equal(changed.status, 422);
  assert.equal(changed.body.details.causes[0].field, 'spec.immutableId');
  assert.match(changed.body.details.causes[0].message, /immutableId is immutable/);
});

// Custom resources are decoded as unstructured: kind and apiVersion are mandatory (400).
test('CR create without kind/apiVersion is 400 BadRequest', async () => {
  const r = await c.post(url(), { metadata: { name: 'nokind' }, spec: { size: 1 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.reason, 'BadRequest');
  assert.match(r.body.message, /Object 'Kind' is missing/);
});

// custom-resources: updates of custom resources require metadata.resourceVersion (unconditional
// updates are not allowed for them). The message names the resource, not the kind.
test('CR update without resourceVersion is 422', async () => {
  await c.post(url(), widget('norv', { size: 1 }));
  const r = await c.put(url('norv'), widget('norv', { size: 2 }));
  assert.equal(r.status, 422);
  assert.equal(r.body.reason, 'Invalid');
  assert.equal(r.body.message, `widgets.${GROUP} "norv" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`);
});

// api-conventions.md#spec-and-status with the status subresource enabled.
test('CR status subresource: main endpoint ignores status, /status ignores spec, generation on spec only', async () => {
  const a = await c.post(url(), widget('st', { size: 1 }));
  assert.equal(a.status, 201);
  const s = await c.put(url('st/status'), { ...a.body, spec: { size: 9 }, status: { phase: 'Ready', observedGeneration: 1 } });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.body.status.phase, 'Ready');
  assert.equal(s.body.spec.size, 1);
  assert.equal(s.body.metadata.generation, 1);
  const m = await c.put(url('st'), { ...s.body, spec: { size: 3 }, status: { phase: 'Hacked' } });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.status.phase, 'Ready');
  assert.equal(m.body.metadata.generation, 2);
});

// kubectl get uses the Table format (meta.k8s.io/v1) and shows additionalPrinterColumns.
test('Table output carries the additionalPrinterColumns', async () => {
  const r = await c.get(url(), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  assert.equal(r.status, 200);
  assert.equal(r.body.kind, 'Table');
  const cols = r.body.columnDefinitions.map((x) => x.name);
  assert.deepEqual(cols.slice(0, 3), ['Name', 'Size', 'Phase']);
  const row = r.body.rows.find((x) => x.cells[0] === 'st');
  assert.equal(row.cells[1], 3);
  assert.equal(row.cells[2], 'Ready');
  assert.equal(row.object.kind, 'PartialObjectMetadata');
  const k = c.kubectl(['-n', ns, 'get', widgetShortName(GROUP), 'st']);
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, /NAME\s+SIZE\s+PHASE/);
  assert.match(k.stdout, /st\s+3\s+Ready/);
  const cat = c.kubectl(['-n', ns, 'get', widgetCategory(GROUP)]);
  assert.equal(cat.code, 0, cat.stderr);
  // One kind in the category: kubectl prints plain names, as for a single resource type.
  assert.match(cat.stdout, /^st\s+3\s+Ready/m);
});

// The upstream CRDs the operator generates objects for load and validate (Gateway API v1.2.1
// standard channel and Envoy Gateway BackendTrafficPolicy), including their CEL rules.
// Installed the way e2e/stack/stack.sh installs them into the shared cluster (server-side apply,
// field manager kubectl, forced), so both can run against one control plane.
// A CRD is served a moment after it is created: kubectl apply returns before that.
async function established(files) {
  const w = c.kubectl(['wait', '--for', 'condition=Established', '--timeout', '60s', ...files]);
  assert.equal(w.code, 0, w.stderr);
  const crds = c.kubectl(['get', ...files, '-o', 'json']);
  for (const crd of JSON.parse(crds.stdout).items) {
    const v = crd.spec.versions.find((x) => x.storage).name;
    const scope = crd.spec.scope === 'Namespaced' ? `namespaces/${ns}/` : '';
    await c.eventually(async () => (await c.get(`/apis/${crd.spec.group}/${v}/${scope}${crd.spec.names.plural}`)).status === 200, 20000, `${crd.metadata.name} served`);
  }
}
const skipOnSomeonesCluster = onSomeonesCluster() ? 'does not install CRDs into a cluster that KUBECONFIG points at' : false;
// The upstream CRDs live in shared/crds beside the clone (CI clones with ../shared next to it),
// or under $SLUICE_SHARED_DIR/crds: the same place e2e/stack/stack.sh installs them from.
const SHARED_CRDS = path.join(process.env.SLUICE_SHARED_DIR || path.resolve(REPO, '..', 'shared'), 'crds');
const UPSTREAM_CRDS = ['gateway-api-v1.2.1', 'envoy-gateway-v1.2.8'].map((d) => path.join(SHARED_CRDS, d));
// A directory the test needs: missing is a failure (a test that checked nothing must not pass).
function assertYamlDir(dir, hint) {
  assert.ok(fs.existsSync(dir), `${dir} does not exist (${hint})`);
  const yamls = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(yamls.length > 0, `${dir} holds no YAML files (${hint})`);
}
test('upstream Gateway API and Envoy Gateway CRDs load and admit objects', { skip: skipOnSomeonesCluster }, async () => {
  for (const d of UPSTREAM_CRDS) assertYamlDir(d, 'the upstream CRDs: shared/crds beside the clone, or set SLUICE_SHARED_DIR to the directory holding crds/');
  const files = UPSTREAM_CRDS.flatMap((d) => ['-f', d]);
  const r = c.kubectl(['apply', '--server-side', '--force-conflicts', ...files]);
  assert.equal(r.code, 0, r.stderr);
  await established(files);
  const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' },
    spec: { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'svc', port: 80, weight: 10 }] }] } };
  const ok = await c.post(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`, route);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.spec.rules[0].matches[0].path.type, 'PathPrefix', 'schema default applied');
  // Gateway API CEL: a backendRef to a Service needs a port.
  const bad = structuredClone(route); bad.metadata.name = 'bad'; delete bad.spec.rules[0].backendRefs[0].port;
  const rej = await c.post(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`, bad);
  assert.equal(rej.status, 422, rej.text);
  assert.match(rej.text, /Must have port for Service reference/);
});

test('the project CRDs load and the samples validate as on a cluster', { skip: skipOnSomeonesCluster }, async () => {
  const crds = path.join(REPO, 'crds');
  assertYamlDir(crds, 'the project CRDs');
  const r = c.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crds]);
  assert.equal(r.code, 0, r.stderr);
  await established(['-f', crds]);
  const invalid = path.join(REPO, 'samples', 'invalid');
  assertYamlDir(invalid, 'the invalid samples');
  for (const f of fs.readdirSync(invalid).filter((x) => x.endsWith('.yaml'))) {
    const k = c.kubectl(['-n', ns, 'apply', '-f', path.join(invalid, f)]);
    assert.notEqual(k.code, 0, `${f} must be rejected`);
    assert.match(k.stderr, /is invalid|BadRequest|unknown field/, `${f}: ${k.stderr}`);
  }
});

// custom-resource-definition-versioning.md: every served version is reachable and shows the same
// objects (conversion strategy None changes only apiVersion); the group's preferred version is
// the highest by Kubernetes version priority; a cluster-scoped kind has no namespaced path.
test('multi-version, cluster-scoped CRD', async () => {
  const g = 'versions.sluice.dev';
  const schema = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { level: { type: 'integer' } } } } } };
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `gizmos.${g}` },
    spec: { group: g, scope: 'Cluster', names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo' },
      versions: [{ name: 'v1beta1', served: true, storage: false, schema }, { name: 'v1', served: true, storage: true, schema }, { name: 'v1alpha1', served: false, storage: false, schema }] } };
  const cr = await c.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  assert.equal(cr.status, 201, cr.text);
  try {
    await c.eventually(async () => (await c.get(`/apis/${g}/v1`)).status === 200, 10000, 'served');
    // Discovery learns each served version on its own: v1 can be served before the group
    // lists v1beta1 (seen with three scenarios beside this one).
    await c.eventually(async () => {
      const listed = await c.get(`/apis/${g}`);
      return listed.status === 200 && listed.body.versions.length === 2;
    }, 10000, 'both served versions in discovery');
    const group = await c.get(`/apis/${g}`);
    assert.equal(group.body.preferredVersion.version, 'v1');
    assert.deepEqual(group.body.versions.map((v) => v.version).sort(), ['v1', 'v1beta1']);
    assert.equal((await c.get(`/apis/${g}/v1alpha1`)).status, 404, 'unserved version');
    const made = await c.post(`/apis/${g}/v1beta1/gizmos`, { apiVersion: `${g}/v1beta1`, kind: 'Gizmo', metadata: { name: 'one' }, spec: { level: 3 } });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.body.metadata.namespace, undefined);
    const viaV1 = await c.get(`/apis/${g}/v1/gizmos/one`);
    assert.equal(viaV1.status, 200);
    assert.equal(viaV1.body.apiVersion, `${g}/v1`);
    assert.equal(viaV1.body.spec.level, 3);
    assert.equal((await c.get(`/apis/${g}/v1/namespaces/default/gizmos/one`)).status, 404);
  } finally {
    await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${g}`);
  }
});

// custom-resource-definitions.md#the-messageexpression-field and #field-reason: the message can be
// computed by CEL, and `reason` picks the cause type (here Forbidden). The CEL cost estimate is
// checked when the CRD is written: string(self.max) has no size bound, so a message built with
// it is refused (422) however small the rule; a messageExpression choosing between literals is
// fine.
test('CEL messageExpression and reason', async () => {
  const g = 'msgexpr.sluice.dev';
  const crd = (messageExpression) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `limits.${g}` },
    spec: { group: g, scope: 'Namespaced', names: { plural: 'limits', singular: 'limit', kind: 'Limit' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: 'self.max <= 100', messageExpression, fieldPath: '.max' },
          { rule: "!has(self.mode) || self.mode != 'legacy'", message: 'legacy mode is not allowed', reason: 'FieldValueForbidden', fieldPath: '.mode' },
        ],
        properties: { max: { type: 'integer' }, mode: { type: 'string' } } } } } } }] } });
  const costly = await c.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd("'max must be at most 100, got ' + string(self.max)"));
  assert.equal(costly.status, 422);
  assert.ok(costly.body.details.causes.some((x) => x.field.endsWith('x-kubernetes-validations[0].messageExpression') && /estimated messageExpression cost exceeds budget/.test(x.message)), costly.text);
  const ok = await c.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd("self.max > 1000 ? 'max must be at most 100, not above 1000' : 'max must be at most 100'"));
  assert.equal(ok.status, 201, ok.text);
  try {
    await c.eventually(async () => (await c.get(`/apis/${g}/v1`)).status === 200, 10000, 'served');
    const r = await c.post(`/apis/${g}/v1/namespaces/${ns}/limits`, { apiVersion: `${g}/v1`, kind: 'Limit', metadata: { name: 'l' }, spec: { max: 250, mode: 'legacy' } });
    assert.equal(r.status, 422);
    const byField = Object.fromEntries(r.body.details.causes.map((x) => [x.field, x]));
    assert.ok(celInvalid(byField['spec.max'].message, 'max must be at most 100'), byField['spec.max'].message);
    assert.equal(byField['spec.mode'].reason, 'FieldValueForbidden');
    assert.equal(byField['spec.mode'].message, 'Forbidden: legacy mode is not allowed');
    assert.equal((await c.post(`/apis/${g}/v1/namespaces/${ns}/limits`, { apiVersion: `${g}/v1`, kind: 'Limit', metadata: { name: 'ok' }, spec: { max: 5 } })).status, 201);
  } finally {
    await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/limits.${g}`);
  }
});

// Deleting a CRD deletes its custom resources and stops serving the kind.
test('deleting a CRD removes its objects and the endpoint', async () => {
  // A group of its own per run: a CRD left Terminating by an interrupted run cannot be reused.
  const g = `gone${Math.random().toString(36).slice(2, 8)}.sluice.dev`;
  await installWidgetCrd(c, g);
  assert.equal((await c.post(`/apis/${g}/v1/namespaces/${ns}/widgets`, { apiVersion: `${g}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } })).status, 201);
  // A finalizer on an instance holds the CRD in Terminating (customresourcecleanup finalizer).
  assert.equal((await c.post(`/apis/${g}/v1/namespaces/${ns}/widgets`, { apiVersion: `${g}/v1`, kind: 'Widget', metadata: { name: 'held', finalizers: ['example.com/hold'] }, spec: { size: 1 } })).status, 201);
  const d = await c.del(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${g}`);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body.metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
  const crdUrl = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${g}`;
  const terminating = await c.eventually(async () => {
    const x = await c.get(crdUrl);
    return x.status === 200 && x.body.metadata.deletionTimestamp && (x.body.status.conditions || []).some((k) => k.type === 'Terminating' && k.status === 'True') && x.body;
  }, 10000, 'CRD terminating');
  assert.ok(terminating.metadata.finalizers.includes('customresourcecleanup.apiextensions.k8s.io'));
  const late = await c.post(`/apis/${g}/v1/namespaces/${ns}/widgets`, { apiVersion: `${g}/v1`, kind: 'Widget', metadata: { name: 'late' }, spec: { size: 1 } });
  assert.equal(late.status, 403);
  assert.equal(late.body.reason, 'Forbidden');
  assert.match(late.body.message, /create not allowed while custom resource definition is terminating/);
  await c.eventually(async () => { const x = await c.get(`/apis/${g}/v1/namespaces/${ns}/widgets/held`); return x.status === 200 && x.body.metadata.deletionTimestamp; }, 10000, 'instance marked');
  assert.equal((await c.get(crdUrl)).status, 200, 'CRD waits for its instances');
  await c.patch(`/apis/${g}/v1/namespaces/${ns}/widgets/held`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
  await c.eventually(async () => (await c.get(crdUrl)).status === 404, 20000, 'CRD gone');
  await c.eventually(async () => (await c.get(`/apis/${g}/v1/namespaces/${ns}/widgets/w`)).status === 404, 20000, 'CR gone');
  await c.eventually(async () => (await c.get(`/apis/${g}/v1`)).status === 404, 20000, 'group version gone');
});
