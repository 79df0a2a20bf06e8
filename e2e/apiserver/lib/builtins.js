'use strict';
// The built-in kinds served at start, with the discovery data kube-apiserver v1.32 publishes for
// them (verbs, shortNames, categories, namespaced) and the table columns `kubectl get` shows.

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function age(o) { return o.metadata.creationTimestamp; }

const RFC1123_SUBDOMAIN = 'subdomain';
const RFC1123_LABEL = 'label';
const RFC1035_LABEL = 'dns1035';

const defs = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], status: true, nameRule: RFC1123_LABEL,
    columns: [['Status', 'string', (o) => (o.status && o.status.phase) || '']] },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'],
    columns: [['Data', 'string', (o) => Object.keys(o.data || {}).length + Object.keys(o.binaryData || {}).length]] },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true,
    columns: [['Type', 'string', (o) => o.type || ''], ['Data', 'string', (o) => Object.keys(o.data || {}).length]] },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true, nameRule: RFC1035_LABEL,
    columns: [['Type', 'string', (o) => o.spec.type], ['Cluster-IP', 'string', (o) => o.spec.clusterIP || '<none>'],
      ['External-IP', 'string', () => '<none>'],
      ['Port(s)', 'string', (o) => (o.spec.ports || []).map((p) => `${p.port}/${p.protocol || 'TCP'}`).join(',') || '<none>']] },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'], status: true,
    columns: [['Ready', 'string', (o) => `0/${((o.spec && o.spec.containers) || []).length}`], ['Status', 'string', (o) => (o.status && o.status.phase) || 'Pending'],
      ['Restarts', 'integer', () => 0]] },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'],
    columns: [['Endpoints', 'string', (o) => ((o.subsets || []).flatMap((s) => (s.addresses || []).map((a) => a.ip)).join(',')) || '<none>']] },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], nameRule: 'any',
    columns: [['Type', 'string', (o) => o.type || ''], ['Reason', 'string', (o) => o.reason || ''],
      ['Object', 'string', (o) => (o.involvedObject ? `${(o.involvedObject.kind || '').toLowerCase()}/${o.involvedObject.name}` : '')],
      ['Message', 'string', (o) => o.message || '']],
    fieldSelectors: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
      'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'] },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], columns: [] },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true, generation: true,
    columns: [['Ready', 'string', (o) => `${(o.status && o.status.readyReplicas) || 0}/${o.spec.replicas}`],
      ['Up-to-date', 'integer', (o) => (o.status && o.status.updatedReplicas) || 0],
      ['Available', 'integer', (o) => (o.status && o.status.availableReplicas) || 0]] },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'], status: true, generation: true,
    columns: [['Desired', 'integer', (o) => (o.spec && o.spec.replicas) || 0], ['Current', 'integer', (o) => (o.status && o.status.replicas) || 0]] },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], status: true, generation: true,
    columns: [['Reference', 'string', (o) => (o.spec && o.spec.scaleTargetRef ? `${o.spec.scaleTargetRef.kind}/${o.spec.scaleTargetRef.name}` : '')],
      ['MinPods', 'integer', (o) => (o.spec && o.spec.minReplicas) || 1], ['MaxPods', 'integer', (o) => (o.spec && o.spec.maxReplicas) || 0],
      ['Replicas', 'integer', (o) => (o.status && o.status.currentReplicas) || 0]] },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true,
    columns: [['Holder', 'string', (o) => (o.spec && o.spec.holderIdentity) || '']] },
  { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], nameRule: 'any',
    storageKey: '/events', eventsV1: true,
    // Cells are computed from the stored (v1) form.
    columns: [['Reason', 'string', (o) => o.reason || ''], ['Object', 'string', (o) => (o.involvedObject ? `${(o.involvedObject.kind || '').toLowerCase()}/${o.involvedObject.name}` : '')], ['Note', 'string', (o) => o.message || '']],
    fieldSelectors: ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath', 'reason', 'type', 'reportingController'] },
  { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false,
    shortNames: ['crd', 'crds'], status: true, generation: true,
    columns: [['Created At', 'date', (o) => o.metadata.creationTimestamp]], noAge: true },
];

function builtinResources() {
  return defs.map((d) => ({
    ...d,
    singular: d.kind.toLowerCase(),
    shortNames: d.shortNames || [],
    categories: d.categories || [],
    verbs: ALL_VERBS,
    status: !!d.status,
    generation: !!d.generation,
    builtin: true,
    storageKey: d.storageKey || `${d.group}/${d.plural}`,
    nameRule: d.nameRule || RFC1123_SUBDOMAIN,
    columns: (d.columns || []).map(([name, type, fn]) => ({ name, type, fn })),
  }));
}

module.exports = { builtinResources, ALL_VERBS, age };
