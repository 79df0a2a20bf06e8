'use strict';
// Decoder for the Kubernetes protobuf wire format (application/vnd.kubernetes.protobuf) for the
// built-in kinds that kubectl's generator commands send as protobuf (`kubectl create namespace |
// configmap | secret | deployment | service | serviceaccount`). Format: the 4-byte magic
// "k8s\0", then runtime.Unknown{typeMeta{apiVersion=1,kind=2}=1, raw=2}, raw being the typed
// message (field numbers from k8s.io/api generated.proto). Unknown fields are skipped, zero
// scalars dropped (the Go marshaller writes every non-pointer field), pointer fields kept.

const { badRequest, ApiError } = require('./errors');

function reader(buf) {
  let pos = 0;
  const varint = () => {
    let result = 0n; let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw badRequest('truncated protobuf');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  return {
    done: () => pos >= buf.length,
    tag: () => { const t = Number(varint()); return [t >>> 3, t & 7]; },
    varint,
    bytes: () => { const n = Number(varint()); const b = buf.subarray(pos, pos + n); pos += n; return b; },
    skip: (wt) => {
      if (wt === 0) varint(); else if (wt === 1) pos += 8; else if (wt === 5) pos += 4;
      else if (wt === 2) { const n = Number(varint()); pos += n; } else throw badRequest(`unsupported protobuf wire type ${wt}`);
    },
  };
}

// Schema: { fieldNumber: [jsonName, type, sub?, flags?] }; type: string | bytes | int | bool |
// msg | map (string→string) | mapBytes (string→base64) | mapQty | time | intstr | qty.
// flags: 'r' repeated, 'p' pointer (keep zero values).
const Time = 'time';
const LabelSelector = {
  1: ['matchLabels', 'map'],
  2: ['matchExpressions', 'msg', { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', null, 'r'] }, 'r'],
};
const OwnerReference = { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool', null, 'p'], 7: ['blockOwnerDeletion', 'bool', null, 'p'] };
const ObjectMeta = {
  1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 11: ['labels', 'map'], 12: ['annotations', 'map'],
  13: ['ownerReferences', 'msg', OwnerReference, 'r'], 14: ['finalizers', 'string', null, 'r'],
};
const EnvVar = { 1: ['name', 'string'], 2: ['value', 'string'] };
const ContainerPort = { 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] };
const Resources = { 1: ['limits', 'mapQty'], 2: ['requests', 'mapQty'] };
const Container = {
  1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', 'string', null, 'r'], 4: ['args', 'string', null, 'r'], 5: ['workingDir', 'string'],
  6: ['ports', 'msg', ContainerPort, 'r'], 7: ['env', 'msg', EnvVar, 'r'], 8: ['resources', 'msg', Resources], 14: ['imagePullPolicy', 'string'],
};
const PodSpec = {
  2: ['containers', 'msg', Container, 'r'], 3: ['restartPolicy', 'string'], 7: ['nodeSelector', 'map'], 8: ['serviceAccountName', 'string'],
  20: ['initContainers', 'msg', Container, 'r'],
};
const PodTemplateSpec = { 1: ['metadata', 'msg', ObjectMeta], 2: ['spec', 'msg', PodSpec] };
const IntOrString = 'intstr';
const RollingUpdate = { 1: ['maxUnavailable', IntOrString, null, 'p'], 2: ['maxSurge', IntOrString, null, 'p'] };
const DeploymentSpec = {
  1: ['replicas', 'int', null, 'p'], 2: ['selector', 'msg', LabelSelector, 'p'], 3: ['template', 'msg', PodTemplateSpec],
  4: ['strategy', 'msg', { 1: ['type', 'string'], 2: ['rollingUpdate', 'msg', RollingUpdate, 'p'] }], 5: ['minReadySeconds', 'int'],
  6: ['revisionHistoryLimit', 'int', null, 'p'], 7: ['paused', 'bool'], 9: ['progressDeadlineSeconds', 'int', null, 'p'],
};
const ServicePort = { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', IntOrString], 5: ['nodePort', 'int'], 6: ['appProtocol', 'string', null, 'p'] };
const ServiceSpec = {
  1: ['ports', 'msg', ServicePort, 'r'], 2: ['selector', 'map'], 3: ['clusterIP', 'string'], 4: ['type', 'string'], 5: ['externalIPs', 'string', null, 'r'],
  7: ['sessionAffinity', 'string'], 10: ['externalName', 'string'], 18: ['clusterIPs', 'string', null, 'r'],
};
const KINDS = {
  'v1/Namespace': { 1: ['metadata', 'msg', ObjectMeta], 2: ['spec', 'msg', { 1: ['finalizers', 'string', null, 'r'] }] },
  'v1/ConfigMap': { 1: ['metadata', 'msg', ObjectMeta], 2: ['data', 'map'], 3: ['binaryData', 'mapBytes'], 4: ['immutable', 'bool', null, 'p'] },
  'v1/Secret': { 1: ['metadata', 'msg', ObjectMeta], 2: ['data', 'mapBytes'], 3: ['type', 'string'], 4: ['stringData', 'map'], 5: ['immutable', 'bool', null, 'p'] },
  'v1/ServiceAccount': { 1: ['metadata', 'msg', ObjectMeta], 4: ['automountServiceAccountToken', 'bool', null, 'p'] },
  'v1/Service': { 1: ['metadata', 'msg', ObjectMeta], 2: ['spec', 'msg', ServiceSpec] },
  'apps/v1/Deployment': { 1: ['metadata', 'msg', ObjectMeta], 2: ['spec', 'msg', DeploymentSpec] },
  'coordination.k8s.io/v1/Lease': { 1: ['metadata', 'msg', ObjectMeta],
    2: ['spec', 'msg', { 1: ['holderIdentity', 'string', null, 'p'], 2: ['leaseDurationSeconds', 'int', null, 'p'], 5: ['leaseTransitions', 'int', null, 'p'] }] },
};

function isZero(v) {
  return v === '' || v === 0 || v === false || v === undefined || (Array.isArray(v) && v.length === 0)
    || (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

function decodeMsg(buf, schema) {
  const r = reader(buf);
  const out = {};
  while (!r.done()) {
    const [fn, wt] = r.tag();
    const f = schema[fn];
    if (!f) { r.skip(wt); continue; }
    const [name, type, sub, flags] = f;
    const repeated = flags === 'r';
    let v;
    switch (type) {
      case 'string': v = r.bytes().toString('utf8'); break;
      case 'bytes': v = Buffer.from(r.bytes()).toString('base64'); break;
      case 'int': v = Number(BigInt.asIntN(64, r.varint())); break;
      case 'bool': v = r.varint() !== 0n; break;
      case 'msg': v = decodeMsg(r.bytes(), sub); break;
      case 'qty': v = decodeMsg(r.bytes(), { 1: ['s', 'string'] }).s || '0'; break;
      case 'intstr': {
        const m = decodeMsg(r.bytes(), { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] });
        v = m.type === 1 ? (m.strVal || '') : (m.intVal || 0);
        break;
      }
      case 'map': case 'mapBytes': case 'mapQty': {
        const valType = type === 'map' ? 'string' : type === 'mapBytes' ? 'bytes' : 'qty';
        const e = decodeMsg(r.bytes(), { 1: ['k', 'string'], 2: ['v', valType] });
        out[name] = out[name] || {};
        out[name][e.k || ''] = e.v === undefined ? (valType === 'bytes' ? '' : valType === 'qty' ? '0' : '') : e.v;
        continue;
      }
      default: r.skip(wt); continue;
    }
    if (repeated) { (out[name] = out[name] || []).push(v); continue; }
    if (flags !== 'p' && isZero(v) && type !== 'msg') continue;
    if (type === 'msg' && isZero(v) && flags !== 'p') continue;
    out[name] = v;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

// Returns the JSON object for a protobuf-encoded request body.
function decodeObject(buf) {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw badRequest('the body of the request was in an unknown format - missing protobuf magic');
  const unk = decodeMsg(buf.subarray(4), { 1: ['typeMeta', 'msg', { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }], 2: ['raw', 'bytes'] });
  const tm = unk.typeMeta || {};
  const schema = KINDS[`${tm.apiVersion}/${tm.kind}`];
  if (!schema) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - protobuf is not supported for ${tm.apiVersion}/${tm.kind} by this test server; accepted media types include: application/json, application/yaml`);
  }
  const obj = decodeMsg(Buffer.from(unk.raw || '', 'base64'), schema);
  return { apiVersion: tm.apiVersion, kind: tm.kind, ...obj };
}

module.exports = { decodeObject };
