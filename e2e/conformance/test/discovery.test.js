'use strict';
// Discovery, authentication and OpenAPI.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Cluster } = require('./helpers');

let c; let ns;
test.before(async () => { c = await Cluster.start(); ns = await c.createNamespace('discovery'); });
test.after(async () => { await c.deleteNamespace(ns); await c.stop(); });

// https://kubernetes.io/docs/reference/access-authn-authz/authentication/ : a request with an
// invalid bearer token is rejected with 401 Unauthorized and a Status body. A request with no
// credentials at all is not: anonymous requests are enabled by default, so it is authenticated
// as system:anonymous and RBAC answers 403 Forbidden. A valid token without permissions is 403
// naming the ServiceAccount.
test('authentication: a wrong bearer token is 401; no credentials or no permissions is 403', async () => {
  const wrong = await c.get('/api/v1/namespaces', { token: 'not-the-token' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.kind, 'Status');
  assert.equal(wrong.body.apiVersion, 'v1');
  assert.equal(wrong.body.status, 'Failure');
  assert.equal(wrong.body.reason, 'Unauthorized');
  assert.equal(wrong.body.code, 401);
  const none = await c.get('/api/v1/namespaces', { token: null });
  assert.equal(none.status, 403);
  assert.equal(none.body.reason, 'Forbidden');
  assert.match(none.body.message, /User "system:anonymous" cannot list resource "namespaces"/);
  const token = await c.serviceAccountToken(ns, 'nobody');
  const valid = await c.get('/api/v1/namespaces', { token });
  assert.equal(valid.status, 403);
  assert.match(valid.body.message, new RegExp(`User "system:serviceaccount:${ns}:nobody" cannot list resource "namespaces"`));
  // /version is readable by anyone (system:public-info-viewer).
  assert.equal((await c.get('/version', { token: null })).status, 200);
});

// Content negotiation (api-concepts.md#alternate-representations-of-resources): JSON, YAML and
// protobuf are served; any other Accept is 406 NotAcceptable with a JSON Status.
test('content negotiation: YAML and protobuf served, text/html is 406', async () => {
  const cms = `/api/v1/namespaces/${ns}/configmaps`;
  const y = await c.get(cms, { accept: 'application/yaml' });
  assert.equal(y.status, 200);
  assert.match(y.headers['content-type'], /^application\/yaml/);
  assert.match(y.text, /^apiVersion: v1\nitems:/m);
  const pb = await c.get(cms, { accept: 'application/vnd.kubernetes.protobuf' });
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  for (const accept of ['text/html', 'text/plain']) {
    const r = await c.get(cms, { accept });
    assert.equal(r.status, 406, accept);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.body.reason, 'NotAcceptable');
    assert.match(r.body.message, /^406: Not Acceptable/);
  }
  assert.equal((await c.get(cms, { accept: '*/*' })).headers['content-type'], 'application/json');
});

// https://kubernetes.io/docs/reference/using-api/#api-versioning : /version reports the server version.
test('version: /version returns major, minor and gitVersion', async () => {
  const r = await c.get('/version');
  assert.equal(r.status, 200);
  assert.match(r.body.major, /^\d+$/);
  assert.match(r.body.minor, /^\d+\+?$/);
  assert.match(r.body.gitVersion, /^v\d+\.\d+\.\d+/);
});

// https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api : /api lists the
// legacy group versions, /apis the named groups with a preferred version.
test('discovery: /api and /apis list the core and named groups', async () => {
  const api = await c.get('/api');
  assert.equal(api.status, 200);
  assert.equal(api.body.kind, 'APIVersions');
  assert.ok(api.body.versions.includes('v1'));
  const apis = await c.get('/apis');
  assert.equal(apis.body.kind, 'APIGroupList');
  const names = apis.body.groups.map((g) => g.name);
  for (const g of ['apps', 'autoscaling', 'coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io']) assert.ok(names.includes(g), `group ${g} missing`);
  const autoscaling = apis.body.groups.find((g) => g.name === 'autoscaling');
  assert.ok(autoscaling.versions.some((v) => v.groupVersion === 'autoscaling/v2'));
  for (const g of apis.body.groups) assert.ok(g.preferredVersion && g.preferredVersion.groupVersion.startsWith(`${g.name}/`));
});

// Aggregated discovery (KEP-3352, kubernetes.io/docs/concepts/overview/kubernetes-api/#aggregated-discovery):
// asked for apidiscovery.k8s.io/v2, /apis answers one APIGroupDiscoveryList with every group,
// version and resource; a client not asking for it gets the legacy APIGroupList.
test('discovery: aggregated APIGroupDiscoveryList when requested', async () => {
  const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
  const r = await c.get('/apis', { accept });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /as=APIGroupDiscoveryList/);
  assert.equal(r.body.kind, 'APIGroupDiscoveryList');
  assert.equal(r.body.apiVersion, 'apidiscovery.k8s.io/v2');
  const apps = r.body.items.find((g) => g.metadata.name === 'apps');
  const dep = apps.versions.find((v) => v.version === 'v1').resources.find((x) => x.resource === 'deployments');
  // group and version are left empty: the resource's own group version.
  assert.deepEqual(dep.responseKind, { group: '', version: '', kind: 'Deployment' });
  assert.equal(dep.scope, 'Namespaced');
  assert.ok(dep.subresources.some((x) => x.subresource === 'status'));
  const core = await c.get('/api', { accept });
  assert.equal(core.body.kind, 'APIGroupDiscoveryList');
  assert.ok(core.body.items[0].versions[0].resources.some((x) => x.resource === 'configmaps' && x.scope === 'Namespaced'));
  const legacy = await c.get('/apis', { accept: 'application/json' });
  assert.equal(legacy.body.kind, 'APIGroupList');
});

// APIResourceList entries carry name, singularName, namespaced, kind, verbs and shortNames
// (k8s.io/apimachinery/pkg/apis/meta/v1 APIResource); subresources appear as "<name>/status".
test('discovery: /api/v1 and /apis/apps/v1 describe resources with verbs and short names', async () => {
  const v1 = await c.get('/api/v1');
  assert.equal(v1.body.kind, 'APIResourceList');
  assert.equal(v1.body.groupVersion, 'v1');
  const byName = Object.fromEntries(v1.body.resources.map((r) => [r.name, r]));
  for (const n of ['namespaces', 'configmaps', 'secrets', 'services', 'pods', 'events', 'endpoints']) assert.ok(byName[n], `${n} missing`);
  assert.equal(byName.namespaces.namespaced, false);
  assert.equal(byName.configmaps.namespaced, true);
  assert.equal(byName.configmaps.kind, 'ConfigMap');
  assert.deepEqual(byName.configmaps.shortNames, ['cm']);
  assert.ok(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'].every((v) => byName.configmaps.verbs.includes(v)));
  const apps = await c.get('/apis/apps/v1');
  const dep = apps.body.resources.find((r) => r.name === 'deployments');
  assert.equal(dep.kind, 'Deployment');
  assert.equal(dep.singularName, 'deployment');
  assert.ok(dep.shortNames.includes('deploy'));
  assert.ok(dep.categories.includes('all'));
  assert.ok(apps.body.resources.some((r) => r.name === 'deployments/status'));
  const missing = await c.get('/apis/nosuch.example.com/v1');
  assert.equal(missing.status, 404);
});

// kubectl validates with fieldValidation when the OpenAPI v3 document for the group version
// declares the parameter on PATCH (k8s.io/cli-runtime QueryParamVerifierV3).
test('openapi v3: index lists group versions and documents carry GVK-tagged PATCH operations', async () => {
  const idx = await c.get('/openapi/v3');
  assert.equal(idx.status, 200);
  assert.ok(idx.body.paths['api/v1']);
  assert.ok(idx.body.paths['apis/apps/v1']);
  const doc = await c.get(idx.body.paths['apis/apps/v1'].serverRelativeURL);
  assert.equal(doc.status, 200);
  const ops = Object.values(doc.body.paths).map((p) => p.patch).filter(Boolean);
  const dep = ops.find((o) => o['x-kubernetes-group-version-kind'] && o['x-kubernetes-group-version-kind'].kind === 'Deployment');
  assert.ok(dep, 'PATCH operation for Deployment');
  assert.ok((dep.parameters || []).some((p) => p.name === 'fieldValidation'));
});

// The built-in namespaces exist in every cluster.
test('namespaces default and kube-system exist', async () => {
  for (const ns of ['default', 'kube-system']) {
    const r = await c.get(`/api/v1/namespaces/${ns}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status.phase, 'Active');
  }
});

test('kubectl api-resources and get namespaces work against the server', () => {
  const r = c.kubectl(['api-resources']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
  const ns = c.kubectl(['get', 'namespaces']);
  assert.equal(ns.code, 0, ns.stderr);
  assert.match(ns.stdout, /^default\s+Active/m);
});
