'use strict';
// JSON type checks that the typed decoder of kube-apiserver performs for built-in kinds (and for
// ObjectMeta of every kind): a value of the wrong JSON type is a 400 BadRequest
// "<Kind> in version "<v>" cannot be handled as a <Kind>: json: cannot unmarshal ..." before any
// validation runs. Only the fields the operator and the tests write are described.

const { badRequest } = require('./errors');

const S = 'string'; const I = 'int32'; const I64 = 'int64'; const B = 'bool';
const mapOf = (t) => ({ map: t });
const arr = (t) => ({ arr: t });
const OwnerRef = { apiVersion: S, kind: S, name: S, uid: S, controller: B, blockOwnerDeletion: B };
const Meta = { name: S, generateName: S, namespace: S, uid: S, resourceVersion: S, labels: mapOf(S), annotations: mapOf(S),
  finalizers: arr(S), ownerReferences: arr(OwnerRef), generation: I64 };
const IntOrString = 'intstr';
const Container = { name: S, image: S, command: arr(S), args: arr(S), ports: arr({ name: S, containerPort: I, protocol: S }), env: arr({ name: S, value: S }), imagePullPolicy: S };
const PodTemplate = { metadata: Meta, spec: { containers: arr(Container), initContainers: arr(Container), serviceAccountName: S, nodeSelector: mapOf(S) } };
const Selector = { matchLabels: mapOf(S), matchExpressions: arr({ key: S, operator: S, values: arr(S) }) };
const Rules = { stabilizationWindowSeconds: I, selectPolicy: S, policies: arr({ type: S, value: I, periodSeconds: I }) };
const Target = { type: S, averageUtilization: I, value: IntOrString, averageValue: IntOrString };

const KINDS = {
  ConfigMap: { data: mapOf(S), binaryData: mapOf(S), immutable: B },
  Secret: { data: mapOf(S), stringData: mapOf(S), type: S, immutable: B },
  Namespace: { spec: { finalizers: arr(S) } },
  Service: { spec: { type: S, clusterIP: S, selector: mapOf(S), ports: arr({ name: S, port: I, targetPort: IntOrString, nodePort: I, protocol: S }) } },
  Deployment: { spec: { replicas: I, paused: B, minReadySeconds: I, revisionHistoryLimit: I, progressDeadlineSeconds: I, selector: Selector, template: PodTemplate,
    strategy: { type: S, rollingUpdate: { maxSurge: IntOrString, maxUnavailable: IntOrString } } } },
  HorizontalPodAutoscaler: { spec: { minReplicas: I, maxReplicas: I, scaleTargetRef: { apiVersion: S, kind: S, name: S },
    metrics: arr({ type: S, resource: { name: S, target: Target }, pods: { metric: { name: S }, target: Target }, external: { metric: { name: S }, target: Target } }),
    behavior: { scaleUp: Rules, scaleDown: Rules } } },
  Lease: { spec: { holderIdentity: S, leaseDurationSeconds: I, leaseTransitions: I, acquireTime: S, renewTime: S } },
};

function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}
const GO = { string: 'string', int32: 'int32', int64: 'int64', bool: 'bool', intstr: 'intstr.IntOrString' };

function check(v, t, path, fail) {
  if (v === null || v === undefined) return;
  const jt = jsonType(v);
  if (typeof t === 'string') {
    const ok = (t === S && jt === 'string') || (t === B && jt === 'boolean') || ((t === I || t === I64) && jt === 'number' && Number.isInteger(v))
      || (t === IntOrString && (jt === 'string' || (jt === 'number' && Number.isInteger(v))));
    if (!ok) fail(jt === 'number' ? 'number' : jt, path, GO[t]);
    return;
  }
  if (t.map) {
    if (jt !== 'object') { fail(jt, path, `map[string]${GO[t.map] || 'struct'}`); return; }
    for (const [k, x] of Object.entries(v)) check(x, t.map, `${path}.${k}`, fail);
    return;
  }
  if (t.arr) {
    if (jt !== 'array') { fail(jt, path, `[]${typeof t.arr === 'string' ? GO[t.arr] : 'struct'}`); return; }
    v.forEach((x) => check(x, t.arr, path, fail));
    return;
  }
  if (jt !== 'object') { fail(jt, path, 'struct'); return; }
  for (const [k, sub] of Object.entries(t)) check(v[k], sub, path ? `${path}.${k}` : k, fail);
}

function checkTypes(res, obj) {
  const fail = (jt, path, goType) => {
    throw badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: json: cannot unmarshal ${jt} into Go struct field ${res.kind}.${path} of type ${goType}`);
  };
  check(obj.metadata, Meta, 'metadata', fail);
  const spec = res.crd ? null : KINDS[res.kind];
  if (spec) check(obj, spec, '', fail);
}

module.exports = { checkTypes };
