'use strict';
// Object lifecycle semantics for built-in kinds.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster } = require('./helpers');

let c; let ns;
test.before(async () => { c = await Cluster.start(); ns = await c.createNamespace('crud'); });
test.after(async () => { await c.deleteNamespace(ns); await c.stop(); });

const cm = (name, data = { a: '1' }, extra = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data });

// api-conventions.md#metadata: uid, creationTimestamp and resourceVersion are set by the server.
test('create sets uid, creationTimestamp and resourceVersion and returns 201', async () => {
  const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('one'));
  assert.equal(r.status, 201);
  assert.match(r.body.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(r.body.metadata.creationTimestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.equal(typeof r.body.metadata.resourceVersion, 'string');
  assert.equal(r.body.metadata.namespace, ns);
  const g = await c.get(`/api/v1/namespaces/${ns}/configmaps/one`);
  assert.equal(g.status, 200);
  assert.equal(g.body.metadata.uid, r.body.metadata.uid);
  assert.deepEqual(g.body.data, { a: '1' });
});

// api-conventions.md#concurrency-control-and-consistency: resourceVersion changes on every write
// (it is opaque; we only compare equality and the fact that a new value appears).
test('resourceVersion changes on every update', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('rv'));
  const b = await c.put(`/api/v1/namespaces/${ns}/configmaps/rv`, { ...a.body, data: { a: '2' } });
  assert.equal(b.status, 200);
  assert.notEqual(b.body.metadata.resourceVersion, a.body.metadata.resourceVersion);
  const d = await c.put(`/api/v1/namespaces/${ns}/configmaps/rv`, { ...b.body, data: { a: '3' } });
  assert.notEqual(d.body.metadata.resourceVersion, b.body.metadata.resourceVersion);
});

// api-conventions.md#concurrency-control-and-consistency: an update carrying a stale
// resourceVersion fails with 409 Conflict.
test('update with a stale resourceVersion is 409 Conflict', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('stale'));
  const b = await c.put(`/api/v1/namespaces/${ns}/configmaps/stale`, { ...a.body, data: { a: '2' } });
  assert.equal(b.status, 200);
  const r = await c.put(`/api/v1/namespaces/${ns}/configmaps/stale`, { ...a.body, data: { a: '3' } });
  assert.equal(r.status, 409);
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.reason, 'Conflict');
  assert.match(r.body.message, /Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again/);
  assert.equal(r.body.details.name, 'stale');
  assert.equal(r.body.details.kind, 'configmaps');
});

// api-conventions.md#http-status-codes: 409 AlreadyExists on create of an existing name.
test('create of an existing name is 409 AlreadyExists', async () => {
  await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('dup'));
  const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('dup'));
  assert.equal(r.status, 409);
  assert.equal(r.body.reason, 'AlreadyExists');
  assert.equal(r.body.message, 'configmaps "dup" already exists');
});

// api-conventions.md#http-status-codes: 404 NotFound with a Status naming the resource.
test('get of a missing object is 404 NotFound', async () => {
  const r = await c.get(`/apis/apps/v1/namespaces/${ns}/deployments/missing`);
  assert.equal(r.status, 404);
  assert.equal(r.body.reason, 'NotFound');
  assert.equal(r.body.message, 'deployments.apps "missing" not found');
  assert.deepEqual({ name: r.body.details.name, group: r.body.details.group, kind: r.body.details.kind }, { name: 'missing', group: 'apps', kind: 'deployments' });
  const nsMissing = await c.post('/api/v1/namespaces/no-such-ns/configmaps', cm('x'));
  assert.equal(nsMissing.status, 404);
  assert.equal(nsMissing.body.message, 'namespaces "no-such-ns" not found');
});

// api-conventions.md / identifiers.md: names are DNS-1123 subdomains; violations are 422 Invalid
// with a cause naming metadata.name.
test('invalid object name is 422 Invalid with a field cause', async () => {
  const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('Bad_Name'));
  assert.equal(r.status, 422);
  assert.equal(r.body.reason, 'Invalid');
  assert.match(r.body.message, /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
  assert.equal(r.body.details.kind, 'ConfigMap');
  assert.equal(r.body.details.causes[0].field, 'metadata.name');
  assert.equal(r.body.details.causes[0].reason, 'FieldValueInvalid');
  const noName = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
  assert.equal(noName.status, 422);
  assert.equal(noName.body.details.causes[0].reason, 'FieldValueRequired');
  assert.equal(noName.body.details.causes[0].field, 'metadata.name');
});

// generateName: the server appends a random suffix (api-conventions.md#idempotency).
// Deployment validation (apps/v1 validation.go): spec.selector is required.
test('deployment without a selector is 422 naming spec.selector', async () => {
  const d = await c.post(`/apis/apps/v1/namespaces/${ns}/deployments`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nosel' },
    spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  assert.equal(d.status, 422);
  assert.match(d.body.message, /^Deployment\.apps "nosel" is invalid: /);
  assert.ok(d.body.details.causes.some((x) => x.field === 'spec.selector' && x.reason === 'FieldValueRequired'));
});

test('generateName produces a unique name', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
  const b = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
  assert.equal(a.status, 201); assert.equal(b.status, 201);
  assert.match(a.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  assert.notEqual(a.body.metadata.name, b.body.metadata.name);
});

// A typed (built-in) endpoint decodes a body without kind/apiVersion using the URL's type.
test('built-in kinds accept a body without kind and apiVersion', async () => {
  const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'typeless' }, data: { k: 'v' } });
  assert.equal(r.status, 201);
  assert.equal(r.body.kind, 'ConfigMap');
  assert.equal(r.body.apiVersion, 'v1');
});

test('a body whose namespace differs from the URL is 400 BadRequest', async () => {
  const r = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('wrongns', {}, { namespace: 'default' }));
  assert.equal(r.status, 400);
  assert.equal(r.body.reason, 'BadRequest');
});

// api-conventions.md#metadata: generation increases on spec changes only; status subresource
// semantics (api-conventions.md#spec-and-status): the main endpoint ignores status, /status
// ignores everything but status.
test('deployment: generation bumps on spec change only; status via /status only', async () => {
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } };
  const a = await c.post(`/apis/apps/v1/namespaces/${ns}/deployments`, dep);
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.metadata.generation, 1);
  const labels = await c.patch(`/apis/apps/v1/namespaces/${ns}/deployments/web`, { metadata: { labels: { extra: 'x' } } }, 'application/merge-patch+json');
  assert.equal(labels.body.metadata.generation, 1, 'metadata change must not bump generation');
  const spec = await c.patch(`/apis/apps/v1/namespaces/${ns}/deployments/web`, { spec: { replicas: 3 } }, 'application/merge-patch+json');
  assert.equal(spec.body.metadata.generation, 2);
  const viaMain = await c.patch(`/apis/apps/v1/namespaces/${ns}/deployments/web`, { status: { replicas: 7 } }, 'application/merge-patch+json');
  assert.equal(viaMain.status, 200);
  assert.ok(!viaMain.body.status || viaMain.body.status.replicas !== 7, 'main endpoint must ignore status');
  const viaStatus = await c.patch(`/apis/apps/v1/namespaces/${ns}/deployments/web/status`, { spec: { replicas: 9 }, status: { replicas: 2, observedGeneration: 2 } }, 'application/merge-patch+json');
  assert.equal(viaStatus.status, 200, viaStatus.text);
  assert.equal(viaStatus.body.status.replicas, 2);
  assert.equal(viaStatus.body.spec.replicas, 3, '/status must ignore spec');
  assert.equal(viaStatus.body.metadata.generation, 2);
});

// api-conventions.md: a write that changes nothing does not create a new resourceVersion.
test('a no-op update keeps the resourceVersion', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, cm('noop'));
  const b = await c.put(`/api/v1/namespaces/${ns}/configmaps/noop`, a.body);
  assert.equal(b.status, 200);
  assert.equal(b.body.metadata.resourceVersion, a.body.metadata.resourceVersion);
});

test('protobuf-encoded create (kubectl create) works for built-in kinds', () => {
  const r = c.kubectl(['-n', ns, 'create', 'configmap', 'from-kubectl', '--from-literal=x=1']);
  assert.equal(r.code, 0, r.stderr);
  const s = c.kubectl(['-n', ns, 'create', 'secret', 'generic', 'sec', '--from-literal=p=q']);
  assert.equal(s.code, 0, s.stderr);
  const g = c.kubectl(['-n', ns, 'get', 'secret', 'sec', '-o', 'jsonpath={.data.p}']);
  assert.equal(Buffer.from(g.stdout, 'base64').toString(), 'q');
  const d = c.kubectl(['-n', ns, 'create', 'deployment', 'kd', '--image=nginx', '--replicas=0']);
  assert.equal(d.code, 0, d.stderr);
  const rep = c.kubectl(['-n', ns, 'get', 'deploy', 'kd', '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(rep.stdout, '0');
});

// autoscaling/v2 validation (pkg/apis/autoscaling/validation) and defaults (minReplicas 1,
// behavior policies) for the HPAs the operator writes.
test('HPA autoscaling/v2: defaults and validation', async () => {
  const hpa = (name, spec) => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name }, spec });
  const ok = await c.post(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, hpa('ok', {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    behavior: { scaleDown: { stabilizationWindowSeconds: 120 } } }));
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.spec.minReplicas, 1);
  assert.equal(ok.body.spec.behavior.scaleDown.stabilizationWindowSeconds, 120);
  assert.equal(ok.body.spec.behavior.scaleUp.selectPolicy, 'Max');
  const bad = await c.post(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, hpa('bad', {
    scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 4, maxReplicas: 2,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }, { type: 'Pods' }],
    behavior: { scaleUp: { stabilizationWindowSeconds: 4000 } } }));
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /^HorizontalPodAutoscaler\.autoscaling "bad" is invalid: \[/);
  const fields = bad.body.details.causes.map((x) => x.field);
  for (const f of ['spec.maxReplicas', 'spec.metrics[0].resource.target.averageUtilization', 'spec.metrics[1].pods', 'spec.behavior.scaleUp.stabilizationWindowSeconds']) {
    assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
  }
});

// events.k8s.io/v1 and v1 Events are the same objects seen through two APIs
// (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/): an Event written
// through one is read through the other with fields converted (regarding <-> involvedObject,
// note <-> message), and `kubectl describe` shows it.
test('events: events.k8s.io/v1 and v1 share objects with converted fields', async () => {
  const cmObj = (await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'evented' } })).body;
  const ev = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'evented.1' }, eventTime: '2024-01-01T00:00:00.000000Z',
    reportingController: 'sluice.dev/operator', reportingInstance: 'sluice-0', action: 'Reconcile', reason: 'Shifted', type: 'Normal', note: 'weights moved',
    regarding: { apiVersion: 'v1', kind: 'ConfigMap', name: 'evented', namespace: ns, uid: cmObj.metadata.uid } };
  const created = await c.post(`/apis/events.k8s.io/v1/namespaces/${ns}/events`, ev);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.note, 'weights moved');
  const core = await c.get(`/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=evented,involvedObject.kind=ConfigMap`)}`);
  assert.equal(core.status, 200);
  assert.equal(core.body.items.length, 1);
  assert.equal(core.body.items[0].message, 'weights moved');
  assert.equal(core.body.items[0].involvedObject.uid, cmObj.metadata.uid);
  assert.equal(core.body.items[0].reportingComponent, 'sluice.dev/operator');
  const back = await c.get(`/apis/events.k8s.io/v1/namespaces/${ns}/events?fieldSelector=regarding.name%3Devented`);
  assert.equal(back.body.items.length, 1);
  assert.equal(back.body.items[0].regarding.name, 'evented');
  // The dedupe path of the operator's EventRecorder (operator/kube/events.cpp): a merge patch of
  // series.count and series.lastObservedTime on events.k8s.io/v1.
  const series = await c.patch(`/apis/events.k8s.io/v1/namespaces/${ns}/events/evented.1`, { series: { count: 2, lastObservedTime: '2024-01-01T00:00:05.000000Z' } }, 'application/merge-patch+json');
  assert.equal(series.status, 200, series.text);
  assert.equal(series.body.series.count, 2);
  assert.deepEqual((await c.get(`/api/v1/namespaces/${ns}/events/evented.1`)).body.series, { count: 2, lastObservedTime: '2024-01-01T00:00:05.000000Z' });
  // Validation runs in two stages, in the core (v1) field names even for events.k8s.io/v1: the
  // namespace of the regarding object (core involvedObject), eventTime and type first; only an
  // event that passes those is checked for reportingController/reportingInstance/action/reason.
  const evUrl = `/apis/events.k8s.io/v1/namespaces/${ns}/events`;
  const invalid = await c.post(evUrl, { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'bad' }, type: 'Odd' });
  assert.equal(invalid.status, 422);
  assert.deepEqual(invalid.body.details.causes.map((x) => `${x.field}:${x.reason}`).sort(),
    ['eventTime:FieldValueRequired', 'involvedObject.namespace:FieldValueInvalid', 'type:FieldValueInvalid']);
  const incomplete = await c.post(evUrl, { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'bad' }, type: 'Normal',
    eventTime: '2024-01-01T00:00:00.000000Z', regarding: { kind: 'ConfigMap', name: 'evented', namespace: ns } });
  assert.equal(incomplete.status, 422);
  const fields = incomplete.body.details.causes.map((x) => x.field);
  for (const f of ['reportingController', 'reportingInstance', 'action', 'reason']) assert.ok(fields.includes(f), `${f} in ${fields}`);
  // A cluster-scoped object's events go to namespace "default" with no regarding.namespace
  // (what operator/kube/events.cpp does for them).
  const nsObj = (await c.get(`/api/v1/namespaces/${ns}`)).body;
  const clusterScoped = await c.post('/apis/events.k8s.io/v1/namespaces/default/events', { ...ev, metadata: { name: `${ns}.1` },
    regarding: { apiVersion: 'v1', kind: 'Namespace', name: ns, uid: nsObj.metadata.uid } });
  assert.equal(clusterScoped.status, 201, clusterScoped.text);
  await c.del(`/apis/events.k8s.io/v1/namespaces/default/events/${clusterScoped.body.metadata.name}`);
  const d = c.kubectl(['-n', ns, 'describe', 'configmap', 'evented']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Normal\s+Shifted\s+.*weights moved/);
});

// PUT of an object that does not exist: 404 NotFound for most kinds (ConfigMaps, Deployments,
// custom resources), but kinds whose registry strategy allows create-on-update (Leases,
// Endpoints, Events) create it (201), whatever resourceVersion the body carries.
test('PUT of a missing object: 404 for a ConfigMap, creates a Lease', async () => {
  const missing = await c.put(`/api/v1/namespaces/${ns}/configmaps/nope`, cm('nope'));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.reason, 'NotFound');
  const leaseUrl = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/lock`;
  const lease = (meta = {}) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lock', ...meta }, spec: { holderIdentity: 'a', leaseDurationSeconds: 10 } });
  const created = await c.put(leaseUrl, lease());
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.spec.holderIdentity, 'a');
  // Deleted between a GET and a PUT (what a leader elector does): the PUT with the old
  // resourceVersion recreates it instead of failing.
  assert.equal((await c.del(leaseUrl)).status, 200);
  const again = await c.put(leaseUrl, lease({ resourceVersion: created.body.metadata.resourceVersion }));
  assert.equal(again.status, 201, again.text);
  assert.notEqual(again.body.metadata.uid, created.body.metadata.uid);
  // Existing: a stale resourceVersion is still a 409.
  const stale = await c.put(leaseUrl, lease({ resourceVersion: created.body.metadata.resourceVersion }));
  assert.equal(stale.status, 409);
});

// A built-in object with a field of the wrong JSON type cannot be decoded: 400 BadRequest
// ("cannot be handled as a ...: json: cannot unmarshal ..."), not 422.
test('wrong JSON types in built-in kinds are 400 BadRequest', async () => {
  const a = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed' }, data: { n: 1 } });
  assert.equal(a.status, 400);
  assert.equal(a.body.reason, 'BadRequest');
  assert.match(a.body.message, /^ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field/);
  const b = await c.post(`/apis/apps/v1/namespaces/${ns}/deployments`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'typed' },
    spec: { replicas: '3', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  assert.equal(b.status, 400);
  assert.match(b.body.message, /cannot unmarshal string into Go struct field .*replicas of type int32/);
  const l = await c.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed2', labels: { a: true } } });
  assert.equal(l.status, 400);
});
