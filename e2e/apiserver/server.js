#!/usr/bin/env node
'use strict';
// Hermetic Kubernetes API server for Sluice tests. See README.md for behaviour and gaps.
// Usage: node server.js --cert C --key K --token T [--port 0] [--admin-port 0] [--dir D]
//        [--state-file F] [--history N] [--bookmark-interval-ms MS]

const fs = require('fs');
const http = require('http');
const https = require('https');
const crypto = require('crypto');
const path = require('path');
const yaml = require('js-yaml');
const E = require('./lib/errors');
const P = require('./lib/patch');
const S = require('./lib/schema');
const { builtinResources, ALL_VERBS } = require('./lib/builtins');
const { validateHpa } = require('./lib/hpa');
const EV = require('./lib/events');
const { checkTypes } = require('./lib/types');

// ---- options --------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = { port: 0, adminPort: 0, history: Number(process.env.SLUICE_APISERVER_HISTORY || 20000),
    bookmarkIntervalMs: Number(process.env.SLUICE_APISERVER_BOOKMARK_MS || 1000), stateFile: process.env.SLUICE_APISERVER_STATE_FILE || '' };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]; const v = argv[i + 1];
    const take = () => { i++; return v; };
    switch (a) {
      case '--port': o.port = Number(take()); break;
      case '--admin-port': o.adminPort = Number(take()); break;
      case '--cert': o.cert = take(); break;
      case '--key': o.key = take(); break;
      case '--token': o.token = take(); break;
      case '--dir': o.dir = take(); break;
      case '--state-file': o.stateFile = take(); break;
      case '--history': o.history = Number(take()); break;
      case '--bookmark-interval-ms': o.bookmarkIntervalMs = Number(take()); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.cert || !o.key || !o.token) throw new Error('--cert, --key and --token are required');
  if (!(o.history > 0)) throw new Error('--history must be positive');
  return o;
}

const isObj = P.isObj;
const CRD_CLEANUP = 'customresourcecleanup.apiextensions.k8s.io';
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const DNS1123_SUB = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

// kube-aware version ordering (k8s.io/apimachinery/pkg/version CompareKubeAwareVersionStrings).
function versionPriority(v) {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return [0, 0, 0, v];
  return [m[2] ? (m[2] === 'beta' ? 2 : 1) : 3, Number(m[1]), Number(m[3] || 0), v];
}
function sortVersions(vs) {
  return [...vs].sort((a, b) => {
    const x = versionPriority(a); const y = versionPriority(b);
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return y[i] - x[i];
    return a < b ? -1 : 1;
  });
}

// ---- label / field selectors ----------------------------------------------------------------------
function parseLabelSelector(s) {
  if (!s) return [];
  const reqs = [];
  const parts = [];
  let depth = 0; let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++; if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  for (let p of parts) {
    p = p.trim(); if (!p) continue;
    let m;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      reqs.push({ key: m[1], op: m[2], values: m[3].split(',').map((x) => x.trim()).filter((x) => x !== '' || true) });
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
    } else if ((m = /^!\s*([^\s!=]+)$/.exec(p))) reqs.push({ key: m[1], op: '!' });
    else if ((m = /^([^\s!=()]+)$/.exec(p))) reqs.push({ key: m[1], op: 'exists' });
    else throw E.badRequest(`unable to parse requirement: found '${p}', expected: in, notin, =, ==, !=, gt, lt`);
  }
  for (const r of reqs) checkRequirement(r, s);
  return reqs;
}
// Keys and values in selectors follow the label syntax (k8s.io/apimachinery labels.Parse).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
function checkRequirement(r, s) {
  if (!LABEL_KEY.test(r.key) || r.key.length > 316) throw E.badRequest(`unable to parse requirement: invalid label key "${r.key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  for (const v of r.values || []) {
    if (!LABEL_VALUE.test(v) || v.length > 63) throw E.badRequest(`unable to parse requirement: invalid label value: "${v}": at key: "${r.key}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  void s;
}

function matchLabels(reqs, labels) {
  labels = labels || {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key); const v = labels[r.key];
    switch (r.op) {
      case '=': if (!has || v !== r.values[0]) return false; break;
      case '!=': if (has && v === r.values[0]) return false; break;
      case 'in': if (!has || !r.values.includes(v)) return false; break;
      case 'notin': if (has && r.values.includes(v)) return false; break;
      case 'exists': if (!has) return false; break;
      case '!': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}
function parseFieldSelector(s, res) {
  if (!s) return [];
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(res.fieldSelectors || [])]);
  return s.split(',').filter(Boolean).map((p) => {
    const m = /^([^!=]+?)(==|=|!=)(.*)$/.exec(p.trim());
    if (!m) throw E.badRequest(`invalid selector: '${s}'; can't understand '${p}'`);
    if (!allowed.has(m[1])) throw E.badRequest(`field label not supported: ${m[1]}`);
    return { key: res.eventsV1 ? EV.fieldToCore(m[1]) : m[1], neg: m[2] === '!=', value: m[3] };
  });
}
function fieldValue(o, key) {
  let cur = o;
  for (const k of key.split('.')) { if (cur == null) return ''; cur = cur[k]; }
  if (key === 'source' && o.source) return o.source.component || '';
  return cur == null ? '' : String(cur);
}
function matchFields(reqs, o) {
  for (const r of reqs) if ((fieldValue(o, r.key) === r.value) === r.neg) return false;
  return true;
}

// ---- JSONPath for printer columns (subset: .a.b, [n], [*], [?(@.k=="v")]) ------------------------
function jsonPath(obj, expr) {
  let nodes = [obj];
  const re = /\.([A-Za-z0-9_\-\\/]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]/g;
  let m; let pos = 0;
  const src = expr.replace(/^\{|\}$/g, '');
  while ((m = re.exec(src))) {
    if (m.index !== pos) return [];
    pos = re.lastIndex;
    const next = [];
    for (const n of nodes) {
      if (n == null) continue;
      if (m[1] !== undefined || m[5] !== undefined) { const k = (m[1] || m[5]).replace(/\\/g, ''); if (isObj(n) && n[k] !== undefined) next.push(n[k]); } else if (m[2] !== undefined) {
        if (!Array.isArray(n)) continue;
        if (m[2] === '*') next.push(...n); else if (n[Number(m[2])] !== undefined) next.push(n[Number(m[2])]);
      } else if (m[3] !== undefined) {
        if (!Array.isArray(n)) continue;
        for (const it of n) { const v = m[3].split('.').reduce((a, k) => (a == null ? a : a[k]), it); if (v != null && String(v) === m[4]) next.push(it); }
      }
    }
    nodes = next;
  }
  return nodes;
}
function humanDuration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '<invalid>';
  if (s < 120) return `${s}s`;
  const mnt = Math.floor(s / 60);
  if (mnt < 10) return `${mnt}m${s % 60 ? `${s % 60}s` : ''}`;
  if (mnt < 180) return `${mnt}m`;
  const h = Math.floor(mnt / 60);
  if (h < 8) return `${h}h${mnt % 60 ? `${mnt % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

// ---- the server -----------------------------------------------------------------------------------
class ApiServer {
  constructor(opts) {
    this.opts = opts;
    this.startedAt = Date.now();
    this.faults = [];
    this.latency = [];
    this.watches = new Set();
    this.sockets = new Set();
    this.reset(true);
    if (opts.stateFile && fs.existsSync(opts.stateFile)) this.loadState(opts.stateFile);
  }

  reset(first) {
    if (!first && this.rv === undefined) this.rv = 0;
    this.rv = this.rv || 0;
    this.stores = new Map();
    this.sortedKeys = new Map();
    this.ownerIndex = new Map(); // owner uid -> Set of "storageKey|objectKey"
    if (this.watches) for (const w of [...this.watches]) w.close(true);
    this.resources = new Map();
    this.history = [];
    this.historyStart = 0;
    this.compactedRv = this.rv;
    for (const r of builtinResources()) this.addResource(r);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.createInternal(this.res('', 'v1', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, 'kube-apiserver');
    }
    // Like a freshly started kube-apiserver, whose watch cache begins at the current version:
    // the bootstrap writes are not replayable.
    this.history = [];
    this.historyStart = 0;
    this.compactedRv = this.rv;
  }

  // ---- registry ----
  addResource(r) { this.resources.set(`${r.group}/${r.version}/${r.plural}`, r); if (!this.stores.has(r.storageKey)) this.stores.set(r.storageKey, new Map()); }
  res(group, version, plural) { return this.resources.get(`${group}/${version}/${plural}`); }
  groups() {
    const g = new Map();
    for (const r of this.resources.values()) {
      if (!g.has(r.group)) g.set(r.group, new Set());
      g.get(r.group).add(r.version);
    }
    return g;
  }
  preferredVersion(group) {
    const crd = [...this.resources.values()].find((r) => r.group === group && r.crd);
    const vs = [...this.groups().get(group)];
    if (crd) return sortVersions(vs)[0];
    return vs[0];
  }

  // ---- storage ----
  store(res) { return this.stores.get(res.storageKey); }
  key(ns, name) { return ns ? `${ns}/${name}` : name; }
  nextRv() { this.rv += 1; return this.rv; }
  sorted(storageKey) {
    let k = this.sortedKeys.get(storageKey);
    if (!k) { k = [...this.stores.get(storageKey).keys()].sort(); this.sortedKeys.set(storageKey, k); }
    return k;
  }
  put(res, obj, type, prev) {
    const st = this.store(res);
    const k = this.key(obj.metadata.namespace, obj.metadata.name);
    const prevStored = st.get(k);
    this.indexOwners(res.storageKey, k, prevStored, type === 'DELETED' ? null : obj);
    if (type === 'DELETED') st.delete(k); else st.set(k, obj);
    if (type !== 'MODIFIED') this.sortedKeys.delete(res.storageKey);
    const ev = { rv: Number(obj.metadata.resourceVersion), storageKey: res.storageKey, type, obj, prev };
    this.history.push(ev);
    if (this.history.length - this.historyStart > this.opts.history) {
      this.compactedRv = this.history[this.historyStart].rv;
      this.historyStart++;
      if (this.historyStart > 4096) { this.history = this.history.slice(this.historyStart); this.historyStart = 0; }
    }
    for (const w of this.watches) if (w.storageKey === res.storageKey) w.send(ev);
    this.dirty = true;
  }
  indexOwners(storageKey, k, before, after) {
    const ref = `${storageKey}|${k}`;
    const uids = (o) => ((o && o.metadata.ownerReferences) || []).map((r) => r.uid);
    for (const u of uids(before)) { const set = this.ownerIndex.get(u); if (set) { set.delete(ref); if (!set.size) this.ownerIndex.delete(u); } }
    for (const u of uids(after)) { let set = this.ownerIndex.get(u); if (!set) this.ownerIndex.set(u, (set = new Set())); set.add(ref); }
  }
  compact(upTo) {
    const target = upTo === undefined ? this.rv : Math.min(upTo, this.rv);
    while (this.historyStart < this.history.length && this.history[this.historyStart].rv <= target) this.historyStart++;
    this.compactedRv = Math.max(this.compactedRv, target);
    return this.compactedRv;
  }

  // ---- persistence ----
  // Built-in objects (CRDs among them) first, custom resources after, so that loading registers
  // every kind before its objects.
  saveState(file) {
    const out = { rv: this.rv, objects: [] };
    const storages = this.uniqueStorages();
    for (const crdPass of [false, true]) {
      for (const r of storages) {
        if (!!r.crd !== crdPass) continue;
        for (const o of this.store(r).values()) out.objects.push({ storageKey: r.storageKey, obj: o });
      }
    }
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out));
    fs.renameSync(tmp, file);
  }
  loadState(file) {
    const st = JSON.parse(fs.readFileSync(file, 'utf8'));
    this.rv = Math.max(this.rv, st.rv);
    for (const { storageKey, obj } of st.objects) {
      if (!this.stores.has(storageKey)) this.stores.set(storageKey, new Map());
      const k = this.key(obj.metadata.namespace, obj.metadata.name);
      this.indexOwners(storageKey, k, null, obj);
      this.stores.get(storageKey).set(k, obj);
      if (storageKey === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(obj);
    }
    this.sortedKeys.clear();
    this.compactedRv = this.rv;
  }

  // ---- CRDs ----
  registerCrd(crd) {
    this.unregisterCrd(crd.metadata.name);
    const spec = crd.spec;
    const storage = (spec.versions.find((v) => v.storage) || spec.versions[0]).name;
    for (const v of spec.versions) {
      if (!v.served) continue;
      const cols = (v.additionalPrinterColumns || []).map((c) => ({ name: c.name, type: c.type, format: c.format, description: c.description || '', priority: c.priority || 0, jsonPath: c.jsonPath }));
      this.addResource({
        group: spec.group, version: v.name, kind: spec.names.kind, plural: spec.names.plural,
        singular: spec.names.singular || spec.names.kind.toLowerCase(), listKind: spec.names.listKind || `${spec.names.kind}List`,
        namespaced: spec.scope === 'Namespaced', shortNames: spec.names.shortNames || [], categories: spec.names.categories || [],
        verbs: ALL_VERBS, status: !!(v.subresources && v.subresources.status), generation: true, crd: crd.metadata.name,
        crdStorageVersion: storage, schema: v.schema && v.schema.openAPIV3Schema, crdColumns: cols,
        storageKey: `${spec.group}/${spec.names.plural}`, nameRule: 'subdomain',
        selectableFields: (v.selectableFields || []).map((f) => f.jsonPath.replace(/^\./, '')),
        fieldSelectors: (v.selectableFields || []).map((f) => f.jsonPath.replace(/^\./, '')),
      });
    }
  }
  unregisterCrd(name) {
    for (const [k, r] of this.resources) if (r.crd === name) this.resources.delete(k);
  }

  // ---- object helpers ----
  qualifiedKind(res) { return res.group ? `${res.kind}.${res.group}` : res.kind; }
  apiVersionOf(res) { return res.group ? `${res.group}/${res.version}` : res.version; }
  // The object as seen through `res` (CRD versions share storage; conversion strategy None only
  // rewrites apiVersion).
  view(res, obj) {
    if (res.eventsV1) return EV.fromCore(obj);
    const av = this.apiVersionOf(res);
    if (obj.apiVersion === av) return obj;
    return { ...obj, apiVersion: av };
  }
  get(res, ns, name) { return this.store(res).get(this.key(res.namespaced ? ns : '', name)); }

  validateName(res, name, errs, fieldPath = 'metadata.name') {
    if (!name) { errs.push(E.fieldError('FieldValueRequired', fieldPath, undefined, 'name or generateName is required')); return; }
    if (res.nameRule === 'any') { if (name.includes('/') || name === '.' || name === '..') errs.push(E.fieldError('FieldValueInvalid', fieldPath, name, 'may not contain \'/\'')); return; }
    if (res.nameRule === 'label') {
      if (!DNS1123_LABEL.test(name) || name.length > 63) errs.push(E.fieldError('FieldValueInvalid', fieldPath, name, `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`));
    } else if (res.nameRule === 'dns1035') {
      if (!DNS1035_LABEL.test(name) || name.length > 63) errs.push(E.fieldError('FieldValueInvalid', fieldPath, name, `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`));
    } else if (!DNS1123_SUB.test(name) || name.length > 253) {
      errs.push(E.fieldError('FieldValueInvalid', fieldPath, name, `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`));
    }
  }

  validateMeta(res, obj, errs) {
    const md = obj.metadata;
    this.validateName(res, md.name, errs);
    for (const [field, map] of [['labels', md.labels], ['annotations', md.annotations]]) {
      if (map === undefined || map === null) continue;
      if (!isObj(map)) { errs.push(E.fieldError('FieldValueTypeInvalid', `metadata.${field}`, map, 'must be a map')); continue; }
      let total = 0;
      for (const [k, v] of Object.entries(map)) {
        const parts = k.split('/');
        const nameOk = parts.length <= 2 && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/.test(parts[parts.length - 1]) && parts[parts.length - 1].length <= 63
          && (parts.length === 1 || (DNS1123_SUB.test(parts[0]) && parts[0].length <= 253));
        if (!nameOk) errs.push(E.fieldError('FieldValueInvalid', `metadata.${field}`, k, `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`));
        if (typeof v !== 'string') { errs.push(E.fieldError('FieldValueTypeInvalid', `metadata.${field}.${k}`, v, 'must be a string')); continue; }
        if (field === 'labels' && (v.length > 63 || (v !== '' && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v)))) {
          errs.push(E.fieldError('FieldValueInvalid', 'metadata.labels', v, `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`));
        }
        total += k.length + v.length;
      }
      if (field === 'annotations' && total > 262144) errs.push(E.fieldError('FieldValueTooLong', 'metadata.annotations', undefined, 'must have at most 262144 bytes'));
    }
    if (md.finalizers !== undefined && !Array.isArray(md.finalizers)) errs.push(E.fieldError('FieldValueTypeInvalid', 'metadata.finalizers', md.finalizers, 'must be a list'));
    for (const [i, f] of (Array.isArray(md.finalizers) ? md.finalizers : []).entries()) {
      if (typeof f !== 'string' || !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(f)) {
        errs.push(E.fieldError('FieldValueInvalid', `metadata.finalizers[${i}]`, f, 'name part must consist of alphanumeric characters'));
      } else if (res.builtin && res.group !== 'apiextensions.k8s.io' && !f.includes('/') && !['kubernetes', 'orphan', 'foregroundDeletion'].includes(f)) {
        // Core validation's standard-or-qualified rule (pkg/apis/core/validation); custom
        // resources and CRDs only get the qualified-name format check.
        errs.push(E.fieldError('FieldValueInvalid', `metadata.finalizers[${i}]`, f, 'name is neither a standard finalizer name nor is it fully qualified'));
      }
    }
  }

  // Built-in defaults and the validation the operator and kubectl trip over.
  builtinAdmit(res, obj, old, errs) {
    const k = res.kind;
    if (k === 'Namespace') {
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec || {}) };
      obj.status = old ? old.status : { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels || {}), 'kubernetes.io/metadata.name': obj.metadata.name };
    } else if (k === 'Service') {
      obj.spec = obj.spec || {};
      obj.spec.type = obj.spec.type || 'ClusterIP';
      obj.spec.sessionAffinity = obj.spec.sessionAffinity || 'None';
      if (!obj.spec.clusterIP) {
        obj.spec.clusterIP = old && old.spec.clusterIP ? old.spec.clusterIP : (obj.spec.type === 'ExternalName' ? undefined : `10.96.${(this.rv >> 8) & 255}.${this.rv & 255}`);
      }
      if (obj.spec.clusterIP) obj.spec.clusterIPs = [obj.spec.clusterIP];
      for (const [i, p] of (obj.spec.ports || []).entries()) {
        p.protocol = p.protocol || 'TCP';
        if (p.targetPort === undefined) p.targetPort = p.port;
        if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) errs.push(E.fieldError('FieldValueInvalid', `spec.ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'));
      }
      obj.status = old ? old.status : { loadBalancer: {} };
    } else if (k === 'Deployment') {
      const s = obj.spec = obj.spec || {};
      if (s.replicas === undefined) s.replicas = 1;
      s.revisionHistoryLimit = s.revisionHistoryLimit ?? 10;
      s.progressDeadlineSeconds = s.progressDeadlineSeconds ?? 600;
      s.strategy = s.strategy || { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      if (!s.selector) errs.push(E.fieldError('FieldValueRequired', 'spec.selector', undefined, ''));
      else {
        const tl = (s.template && s.template.metadata && s.template.metadata.labels) || {};
        const ml = s.selector.matchLabels || {};
        if (!Object.entries(ml).every(([a, b]) => tl[a] === b)) errs.push(E.fieldError('FieldValueInvalid', 'spec.template.metadata.labels', tl, '`selector` does not match template `labels`'));
      }
      if (!s.template || !s.template.spec || !Array.isArray(s.template.spec.containers) || s.template.spec.containers.length === 0) {
        errs.push(E.fieldError('FieldValueRequired', 'spec.template.spec.containers', undefined, ''));
      }
      if (s.replicas < 0) errs.push(E.fieldError('FieldValueInvalid', 'spec.replicas', s.replicas, 'must be greater than or equal to 0'));
      if (old && JSON.stringify(old.spec.selector) !== JSON.stringify(s.selector)) errs.push(E.fieldError('FieldValueInvalid', 'spec.selector', s.selector, 'field is immutable'));
    } else if (k === 'HorizontalPodAutoscaler') {
      validateHpa(obj, errs);
    } else if (k === 'Secret') {
      obj.type = obj.type || 'Opaque';
      if (obj.stringData) {
        obj.data = { ...(obj.data || {}) };
        for (const [a, b] of Object.entries(obj.stringData)) obj.data[a] = Buffer.from(String(b)).toString('base64');
        delete obj.stringData;
      }
    } else if (k === 'CustomResourceDefinition') {
      this.crdAdmit(obj, old, errs);
    } else if (k === 'Event') {
      EV.validateCoreEvent(obj, errs);
    } else if (k === 'Pod') {
      if (!obj.spec || !Array.isArray(obj.spec.containers) || obj.spec.containers.length === 0) errs.push(E.fieldError('FieldValueRequired', 'spec.containers', undefined, ''));
      obj.status = old ? old.status : { phase: 'Pending' };
    }
  }

  crdAdmit(obj, old, errs) {
    const s = obj.spec || {};
    const names = s.names || {};
    if (!s.group) errs.push(E.fieldError('FieldValueRequired', 'spec.group', undefined, ''));
    if (!names.plural) errs.push(E.fieldError('FieldValueRequired', 'spec.names.plural', undefined, ''));
    if (!names.kind) errs.push(E.fieldError('FieldValueRequired', 'spec.names.kind', undefined, ''));
    if (!['Namespaced', 'Cluster'].includes(s.scope)) errs.push(E.fieldError('FieldValueNotSupported', 'spec.scope', s.scope, 'supported values: "Cluster", "Namespaced"'));
    if (s.group && names.plural && obj.metadata.name !== `${names.plural}.${s.group}`) {
      errs.push(E.fieldError('FieldValueInvalid', 'metadata.name', obj.metadata.name, 'must be spec.names.plural+"."+spec.group'));
    }
    if (!Array.isArray(s.versions) || s.versions.length === 0) errs.push(E.fieldError('FieldValueRequired', 'spec.versions', undefined, 'must have exactly one version marked as storage version'));
    else if (s.versions.filter((v) => v.storage).length !== 1) errs.push(E.fieldError('FieldValueInvalid', 'spec.versions', s.versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
    for (const [i, v] of (s.versions || []).entries()) {
      if (!v.schema || !v.schema.openAPIV3Schema) errs.push(E.fieldError('FieldValueRequired', `spec.versions[${i}].schema.openAPIV3Schema`, undefined, 'schemas are required'));
    }
    if (errs.length) return;
    names.singular = names.singular || names.kind.toLowerCase();
    names.listKind = names.listKind || `${names.kind}List`;
    if (!s.conversion) s.conversion = { strategy: 'None' };
    // Conflicting names with another CRD of the same group are refused by NamesAccepted in a real
    // cluster; we keep it simple and accept.
    const storage = s.versions.find((v) => v.storage).name;
    const stored = new Set((old && old.status && old.status.storedVersions) || []);
    stored.add(storage);
    const t = now();
    obj.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: t },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: t },
      ],
      acceptedNames: { ...names },
      storedVersions: [...stored],
    };
  }

  // Admission for a write. `op` is 'create' or 'update'. Mutates obj. Throws 422/400.
  admit(res, obj, old, opts = {}) {
    checkTypes(res, obj);
    const errs = [];
    this.validateMeta(res, obj, errs);
    let pruned = [];
    if (res.crd) {
      const r = S.admit(obj, old, res.schema);
      errs.push(...r.errors);
      pruned = r.pruned;
    } else {
      this.builtinAdmit(res, obj, old, errs);
    }
    // fieldValidation: Strict rejects unknown fields, Warn (the server default) accepts them
    // with a Warning header per field, Ignore drops them silently.
    if ((opts.fieldValidation || 'Warn') === 'Warn' && pruned.length && opts.warnings) {
      for (const p of pruned) opts.warnings.push(`unknown field "${p}"`);
    }
    if (opts.fieldValidation === 'Strict' && pruned.length) {
      const name = obj.metadata.name;
      throw E.badRequest(`${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`);
    }
    if (errs.length) throw E.invalid(this.qualifiedKind(res), res.kind, res.group, obj.metadata.name || obj.metadata.generateName || '', errs);
    return pruned;
  }

  checkNamespace(res, ns, name) {
    if (!res.namespaced) return;
    const nsObj = this.store(this.res('', 'v1', 'namespaces')).get(ns);
    if (!nsObj) throw E.notFound('', 'namespaces', ns);
    if (nsObj.metadata.deletionTimestamp) {
      throw E.forbidden(res.group, res.plural, name, `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  // Fill kind/apiVersion: optional for built-ins (decoded into the typed struct from the URL),
  // mandatory for custom resources (the unstructured decoder needs them: 400 BadRequest).
  checkTypeMeta(res, body) {
    if (!isObj(body)) throw E.badRequest('the body of the request was in an unknown format');
    const av = this.apiVersionOf(res);
    if (!body.kind || !body.apiVersion) {
      if (res.crd) {
        const what = !body.kind ? 'Kind' : 'Version';
        throw E.badRequest(`Object '${what}' is missing in '${JSON.stringify(body)}'`);
      }
      body.kind = body.kind || res.kind; body.apiVersion = body.apiVersion || av;
    }
    if (body.kind !== res.kind || body.apiVersion !== av) {
      const group = body.apiVersion.includes('/') ? body.apiVersion.split('/')[0] : '';
      if (body.kind !== res.kind || group !== res.group) {
        throw E.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${av})`);
      }
      body.apiVersion = av;
    }
    if (!isObj(body.metadata)) body.metadata = {};
  }

  // A body in `res`'s form → the stored form (only events.k8s.io/v1 differs).
  toStorage(res, body, errs) {
    if (!res.eventsV1) return body;
    if (errs) EV.validateEventsV1(body, errs);
    return EV.toCore(body);
  }

  createInternal(res, body, manager, opts = {}) {
    if (res.eventsV1) {
      const errs = [];
      body = this.toStorage(res, body, errs);
      if (errs.length) throw E.invalid('Event.events.k8s.io', 'Event', 'events.k8s.io', (body.metadata && body.metadata.name) || '', errs);
      res = this.res('', 'v1', 'events');
    }
    const obj = structuredClone(body);
    const md = obj.metadata = obj.metadata || {};
    if (!md.name && md.generateName) md.name = md.generateName + crypto.randomBytes(4).toString('hex').replace(/[^a-z0-9]/g, '').slice(0, 5);
    if (res.namespaced) md.namespace = opts.namespace || md.namespace;
    else delete md.namespace;
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink']) delete md[f];
    if (res.status && res.crd) delete obj.status;
    this.admit(res, obj, null, opts);
    if (res.namespaced) this.checkNamespace(res, md.namespace, md.name);
    if (this.get(res, md.namespace, md.name)) throw E.alreadyExists(res.group, res.plural, md.name);
    if (res.crd) {
      const crd = this.store(this.res('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')).get(res.crd);
      if (crd && crd.metadata.deletionTimestamp) {
        throw new E.ApiError(405, 'MethodNotAllowed', 'create not allowed while custom resource definition is terminating', { group: res.group, kind: res.plural });
      }
    }
    md.uid = crypto.randomUUID();
    md.creationTimestamp = now();
    if (res.generation) md.generation = 1;
    if (opts.dryRun) { md.resourceVersion = String(this.rv); return obj; }
    if (!opts.managedFields) {
      const fs1 = P.fieldSet(this.fieldSetView(res, obj), this.listInfoFor(res));
      md.managedFields = P.isEmptySet(fs1) ? undefined : [{ manager, operation: 'Update', apiVersion: this.apiVersionOf(res), time: md.creationTimestamp, fieldsType: 'FieldsV1', fieldsV1: fs1 }];
      if (!md.managedFields) delete md.managedFields;
    } else md.managedFields = opts.managedFields;
    md.resourceVersion = String(this.nextRv());
    this.put(res, obj, 'ADDED');
    if (res.kind === 'CustomResourceDefinition') this.registerCrd(obj);
    return obj;
  }

  fieldSetView(res, obj) {
    if (!res.status || obj.status === undefined) return obj;
    const { status, ...rest } = obj;
    return rest;
  }

  listInfoFor(res) {
    const schema = res.schema;
    return (p, field, items) => {
      if (p === '.metadata.finalizers') return { type: 'set' };
      if (p === '.metadata.ownerReferences') return { type: 'map', keys: ['uid'] };
      if (schema) {
        const sub = schemaAt(schema, p);
        if (sub) {
          const lt = sub['x-kubernetes-list-type'];
          if (lt === 'map' && sub['x-kubernetes-list-map-keys']) return { type: 'map', keys: sub['x-kubernetes-list-map-keys'] };
          if (lt === 'set') return { type: 'set' };
          return { type: 'atomic' };
        }
        return { type: 'atomic' };
      }
      const known = { containers: 'name', initContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath', conditions: 'type', imagePullSecrets: 'name' };
      if (field === 'ports') {
        if (/containers\[/.test(p)) return { type: 'map', keys: ['containerPort', 'protocol'] };
        return { type: 'map', keys: ['port', 'protocol'] };
      }
      if (known[field]) return { type: 'map', keys: [known[field]] };
      return { type: 'atomic' };
    };
  }

  // Field manager bookkeeping for non-apply writes: changed fields move to `manager`.
  updateManagedFields(res, old, diff, manager, subresource, base) {
    const { changed, removed } = diff;
    let mfs = structuredClone(base || old.metadata.managedFields || []);
    const apiVersion = this.apiVersionOf(res);
    if (changed.length === 0 && removed.length === 0) return mfs;
    for (const m of mfs) {
      for (const c of changed) P.removeChain(m.fieldsV1 || {}, c);
      for (const c of removed) P.removeChain(m.fieldsV1 || {}, c);
    }
    let mine = mfs.find((m) => m.manager === manager && m.operation === 'Update' && (m.subresource || '') === (subresource || ''));
    if (!mine) { mine = { manager, operation: 'Update', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: {} }; if (subresource) mine.subresource = subresource; mfs.push(mine); }
    for (const c of changed) P.addChain(mine.fieldsV1, c);
    mine.time = now(); mine.apiVersion = apiVersion;
    mfs = mfs.filter((m) => m.fieldsV1 && !P.isEmptySet(m.fieldsV1));
    return mfs;
  }

  // Commit `next` as the new state of `old`. Handles status/main split, admission, no-op
  // detection, generation and finalization-complete deletion.
  updateInternal(res, old, nextIn, opts) {
    if (res.eventsV1) { nextIn = this.toStorage(res, nextIn); res = this.res('', 'v1', 'events'); }
    const sub = opts.subresource || '';
    let next = structuredClone(nextIn);
    const md = next.metadata = next.metadata || {};
    if (md.resourceVersion !== undefined && md.resourceVersion !== '' && md.resourceVersion !== old.metadata.resourceVersion) {
      throw E.conflict(res.group, res.plural, old.metadata.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    if (opts.requireRv && (md.resourceVersion === undefined || md.resourceVersion === '')) {
      throw E.invalid(this.qualifiedKind(res), res.kind, res.group, old.metadata.name, [E.fieldError('FieldValueInvalid', 'metadata.resourceVersion', { goSyntax: '0x0' }, 'must be specified for an update')]);
    }
    if (md.name !== undefined && md.name !== old.metadata.name) throw E.badRequest(`the name of the object (${md.name}) does not match the name on the URL (${old.metadata.name})`);
    if (sub === 'status') {
      next = { ...structuredClone(old), status: next.status };
      if (next.status === undefined) delete next.status;
    } else if (res.status) {
      if (old.status === undefined) delete next.status; else next.status = structuredClone(old.status);
    }
    const nm = next.metadata;
    for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'name', 'namespace']) {
      if (old.metadata[f] === undefined) delete nm[f]; else nm[f] = old.metadata[f];
    }
    if (old.metadata.deletionTimestamp) {
      const added = (nm.finalizers || []).filter((f) => !(old.metadata.finalizers || []).includes(f));
      if (added.length) throw E.invalid(this.qualifiedKind(res), res.kind, res.group, old.metadata.name, [E.fieldError('FieldValueForbidden', 'metadata.finalizers', undefined, `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((a) => JSON.stringify(a)).join(', ')}}`)]);
    }
    if (sub !== 'status' && !opts.controller) this.admit(res, next, old, opts);
    else if (res.crd) { const r = S.admit(next, old, res.schema); if (r.errors.length) throw E.invalid(this.qualifiedKind(res), res.kind, res.group, old.metadata.name, r.errors); }
    const view = (o) => (sub === 'status' ? { status: o.status } : this.fieldSetView(res, o));
    const diff = P.diffChains(view(old), view(next), this.listInfoFor(res));
    // managedFields sent by the client (fieldmanager semantics): an empty list resets them, a
    // non-empty list replaces the live ones as the base (kubectl's client-side-apply → SSA
    // migration relies on this), absent keeps the live ones.
    const sent = nextIn.metadata && nextIn.metadata.managedFields;
    const userMf = !opts.managedFields && sub !== 'status' && Array.isArray(sent) && !P.deepEqual(sent, old.metadata.managedFields || []) ? sent : undefined;
    if (userMf && userMf.length === 0) nm.managedFields = [];
    else nm.managedFields = opts.managedFields || this.updateManagedFields(res, old, diff, opts.manager, sub, userMf);
    if (!nm.managedFields.length) delete nm.managedFields;
    nm.resourceVersion = old.metadata.resourceVersion;
    // No-op writes do not change resourceVersion and emit no event.
    // Everything outside the diffed view is server-owned and was copied from `old` above.
    if (diff.changed.length === 0 && diff.removed.length === 0 && next.apiVersion === old.apiVersion && !userMf) return old;
    if (res.generation) {
      // Any change outside metadata (and outside status when status is a subresource).
      const bumps = (c) => c.length > 0 && c[0] !== 'f:metadata' && !(res.status && c[0] === 'f:status');
      if (sub !== 'status' && (diff.changed.some(bumps) || diff.removed.some(bumps))) nm.generation = (old.metadata.generation || 0) + 1;
    }
    if (opts.dryRun) return next;
    if (nm.deletionTimestamp && (!nm.finalizers || nm.finalizers.length === 0)) {
      return this.removeNow(res, next);
    }
    nm.resourceVersion = String(this.nextRv());
    this.put(res, next, 'MODIFIED', old);
    if (res.kind === 'CustomResourceDefinition') this.registerCrd(next);
    if (nm.deletionTimestamp) this.later(() => this.processFinalizers(res, next));
    return next;
  }

  removeNow(res, obj) {
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(this.nextRv());
    this.put(res, gone, 'DELETED');
    this.later(() => this.collectDependents(gone, res));
    if (res.kind === 'CustomResourceDefinition') this.later(() => this.dropCrdData(gone));
    if (res.kind === 'Namespace') this.later(() => this.purgeNamespace(gone.metadata.name));
    return gone;
  }

  // DELETE semantics: finalizers keep the object with deletionTimestamp; propagationPolicy.
  deleteInternal(res, obj, options = {}) {
    if (options.preconditions && options.preconditions.resourceVersion && options.preconditions.resourceVersion !== obj.metadata.resourceVersion) {
      throw E.conflict(res.group, res.plural, obj.metadata.name, `the ResourceVersion in the precondition (${options.preconditions.resourceVersion}) does not match the ResourceVersion in record (${obj.metadata.resourceVersion}). The object might have been modified`);
    }
    if (options.preconditions && options.preconditions.uid && options.preconditions.uid !== obj.metadata.uid) {
      throw E.conflict(res.group, res.plural, obj.metadata.name, `the UID in the precondition (${options.preconditions.uid}) does not match the UID in record (${obj.metadata.uid}). The object might have been deleted and then recreated`);
    }
    let policy = options.propagationPolicy || (options.orphanDependents === true ? 'Orphan' : undefined);
    if (!policy) policy = 'Background';
    const finalizers = [...(obj.metadata.finalizers || [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    const isNs = res.kind === 'Namespace';
    const isCrd = res.kind === 'CustomResourceDefinition';
    // The CRD store adds its cleanup finalizer on the first delete (apiextensions REST.Delete).
    if (isCrd && !obj.metadata.deletionTimestamp && !finalizers.includes(CRD_CLEANUP)) finalizers.push(CRD_CLEANUP);
    if (finalizers.length === 0 && !isNs) return { obj: this.removeNow(res, obj), deleted: true };
    if (options.dryRun) return { obj, deleted: false };
    if (obj.metadata.deletionTimestamp && P.deepEqual(finalizers, obj.metadata.finalizers || [])) return { obj, deleted: false };
    const next = structuredClone(obj);
    next.metadata.finalizers = finalizers;
    if (!next.metadata.deletionTimestamp) { next.metadata.deletionTimestamp = now(); next.metadata.deletionGracePeriodSeconds = 0; if (res.generation) next.metadata.generation = (obj.metadata.generation || 0) + 1; }
    if (isNs) next.status = { ...(next.status || {}), phase: 'Terminating' };
    if (isCrd && next.status) {
      next.status = { ...next.status, conditions: [...(next.status.conditions || []).filter((x) => x.type !== 'Terminating'),
        { type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress', lastTransitionTime: now() }] };
    }
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    next.metadata.resourceVersion = String(this.nextRv());
    this.put(res, next, 'MODIFIED', obj);
    this.later(() => this.processFinalizers(res, next));
    return { obj: next, deleted: false };
  }

  // Background work of the built-in controllers: a failure is logged (like a controller's error
  // log) and never takes the server down.
  later(fn, ms = 0) {
    const run = () => { try { fn(); } catch (e) { console.error(`controller: ${e.message}`); } };
    if (ms) setTimeout(run, ms); else setImmediate(run);
  }

  // The garbage collector's and namespace controller's part of deletion.
  processFinalizers(res, obj) {
    const cur = this.get(res, obj.metadata.namespace, obj.metadata.name);
    if (!cur || cur.metadata.uid !== obj.metadata.uid || !cur.metadata.deletionTimestamp) return;
    const fin = cur.metadata.finalizers || [];
    const remove = (f) => {
      const c = this.get(res, cur.metadata.namespace, cur.metadata.name);
      if (!c) return;
      const n = structuredClone(c);
      n.metadata.finalizers = (n.metadata.finalizers || []).filter((x) => x !== f);
      if (!n.metadata.finalizers.length) delete n.metadata.finalizers;
      this.updateInternal(res, c, n, { manager: 'kube-controller-manager', controller: true });
    };
    if (fin.includes('orphan')) {
      for (const { r, o } of this.dependentsOf(cur.metadata.uid)) {
        const n = structuredClone(o);
        n.metadata.ownerReferences = n.metadata.ownerReferences.filter((x) => x.uid !== cur.metadata.uid);
        if (!n.metadata.ownerReferences.length) delete n.metadata.ownerReferences;
        this.updateInternal(r, o, n, { manager: 'kube-controller-manager', controller: true });
      }
      remove('orphan');
      return;
    }
    if (fin.includes(CRD_CLEANUP)) {
      // The CRD finalizer controller: delete every instance, wait until they are gone (their own
      // finalizers may hold them), then release the CRD.
      const st = this.stores.get(`${cur.spec.group}/${cur.spec.names.plural}`);
      const r = [...this.resources.values()].find((x) => x.crd === cur.metadata.name);
      if (st && r) for (const o of [...st.values()]) if (!o.metadata.deletionTimestamp) this.deleteInternal(r, o, {});
      if (!st || st.size === 0) remove(CRD_CLEANUP);
      else this.later(() => this.processFinalizers(res, cur), 50);
      return;
    }
    if (fin.includes('foregroundDeletion')) {
      const deps = this.dependentsOf(cur.metadata.uid);
      for (const { r, o } of deps) if (!o.metadata.deletionTimestamp) this.deleteInternal(r, o, { propagationPolicy: 'Foreground' });
      const blocking = this.dependentsOf(cur.metadata.uid);
      if (blocking.length === 0) remove('foregroundDeletion');
      else this.later(() => this.processFinalizers(res, cur), 50);
      return;
    }
    if (res.kind === 'Namespace' && cur.spec && (cur.spec.finalizers || []).includes('kubernetes')) {
      this.purgeNamespace(cur.metadata.name);
      const left = this.countNamespaced(cur.metadata.name);
      if (left === 0) {
        const c = this.get(res, '', cur.metadata.name);
        const n = structuredClone(c);
        n.spec.finalizers = n.spec.finalizers.filter((x) => x !== 'kubernetes');
        n.metadata.resourceVersion = String(this.nextRv());
        if (!(n.metadata.finalizers || []).length) this.removeNow(res, n);
        else this.put(res, n, 'MODIFIED', c);
      } else this.later(() => this.processFinalizers(res, cur), 50);
    }
  }

  countNamespaced(ns) {
    let n = 0;
    for (const r of this.uniqueStorages()) if (r.namespaced) for (const o of this.store(r).values()) if (o.metadata.namespace === ns) n++;
    return n;
  }
  uniqueStorages() {
    const seen = new Map();
    for (const r of this.resources.values()) if (!seen.has(r.storageKey)) seen.set(r.storageKey, r);
    return [...seen.values()];
  }
  purgeNamespace(ns) {
    for (const r of this.uniqueStorages()) {
      if (!r.namespaced) continue;
      for (const o of [...this.store(r).values()]) if (o.metadata.namespace === ns && !o.metadata.deletionTimestamp) this.deleteInternal(r, o, {});
    }
  }
  dropCrdData(crd) {
    const storageKey = `${crd.spec.group}/${crd.spec.names.plural}`;
    const st = this.stores.get(storageKey);
    if (!st) return;
    const fake = { storageKey, crd: crd.metadata.name };
    for (const o of [...st.values()]) {
      const g = structuredClone(o); g.metadata.resourceVersion = String(this.nextRv());
      this.put(fake, g, 'DELETED');
    }
    this.stores.delete(storageKey);
    this.unregisterCrd(crd.metadata.name);
    for (const w of [...this.watches]) if (w.storageKey === storageKey) w.close(false);
  }
  dependentsOf(uid) {
    const out = [];
    const set = this.ownerIndex.get(uid);
    if (!set) return out;
    const byStorage = new Map(this.uniqueStorages().map((r) => [r.storageKey, r]));
    for (const ref of set) {
      const i = ref.indexOf('|');
      const r = byStorage.get(ref.slice(0, i));
      const o = r && this.store(r).get(ref.slice(i + 1));
      if (o) out.push({ r, o });
    }
    return out;
  }
  // Background cascading deletion: a dependent whose owners are all gone is deleted; a dangling
  // reference next to a live owner is removed (garbage collector semantics).
  collectDependents(owner) {
    for (const { r, o } of this.dependentsOf(owner.metadata.uid)) {
      const cur = this.get(r, o.metadata.namespace, o.metadata.name);
      if (!cur || cur.metadata.deletionTimestamp) continue;
      const alive = (cur.metadata.ownerReferences || []).filter((x) => x.uid !== owner.metadata.uid && this.ownerExists(x, cur.metadata.namespace));
      if (alive.length === 0) this.deleteInternal(r, cur, { propagationPolicy: 'Background' });
      else {
        const n = structuredClone(cur);
        n.metadata.ownerReferences = n.metadata.ownerReferences.filter((x) => x.uid !== owner.metadata.uid);
        this.updateInternal(r, cur, n, { manager: 'kube-controller-manager', controller: true });
      }
    }
  }
  ownerExists(ref, ns) {
    for (const r of this.uniqueStorages()) {
      if (r.kind !== ref.kind) continue;
      const o = this.store(r).get(this.key(r.namespaced ? ns : '', ref.name));
      if (o && o.metadata.uid === ref.uid) return true;
    }
    return false;
  }

  // ---- server-side apply ----
  apply(res, ns, name, body, q) {
    const manager = q.get('fieldManager');
    if (!manager) throw E.badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    const force = q.get('force') === 'true';
    this.checkTypeMeta(res, body);
    if (res.eventsV1) { body = EV.toCore(body); res = this.res('', 'v1', 'events'); }
    if (body.metadata.name && body.metadata.name !== name) throw E.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const apiVersion = this.apiVersionOf(res);
    const li = this.listInfoFor(res);
    const old = this.get(res, ns, name);
    const sub = q.subresource || '';
    let applied = structuredClone(body);
    if (res.crd && res.schema) {
      const pr = []; S.prune(applied, res.schema, '', pr, true);
      if (q.get('fieldValidation') === 'Strict' && pr.length) throw E.badRequest(`.${pr[0]}: field not declared in schema`);
      if ((q.get('fieldValidation') || 'Warn') === 'Warn' && q.warnings) for (const p of pr) q.warnings.push(`unknown field "${p}"`);
    }
    const view = (o) => (sub === 'status' ? { status: o.status } : this.fieldSetView(res, o));
    const appliedSet = P.fieldSet(view(applied), li);
    if (!old) {
      if (sub) throw E.notFound(res.group, res.plural, name);
      const created = structuredClone(applied);
      created.metadata.name = name;
      const mf = [{ manager, operation: 'Apply', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: appliedSet }];
      return { obj: this.createInternal(res, created, manager, { namespace: ns, managedFields: mf, fieldValidation: q.get('fieldValidation'), dryRun: q.has('dryRun') }), created: true };
    }
    let mfs = structuredClone(old.metadata.managedFields || []);
    const conflicts = [];
    const merged = P.applyMerge(old, view(applied), li);
    for (const chain of P.leafChains(appliedSet)) {
      for (const m of mfs) {
        if (m.manager === manager && m.operation === 'Apply') continue;
        if ((m.subresource || '') !== sub) continue;
        if (!P.hasChain(m.fieldsV1 || {}, chain)) continue;
        if (!P.deepEqual(P.valueAt(old, chain), P.valueAt(applied, chain))) conflicts.push({ m, chain });
      }
    }
    if (conflicts.length && !force) {
      const byMgr = new Map();
      for (const c of conflicts) { const k = `${c.m.manager}|${c.m.apiVersion}`; if (!byMgr.has(k)) byMgr.set(k, []); byMgr.get(k).push(c); }
      let msg;
      if (conflicts.length === 1) msg = `Apply failed with 1 conflict: conflict with "${conflicts[0].m.manager}"${conflicts[0].m.subresource ? ` with subresource "${conflicts[0].m.subresource}"` : ''} using ${conflicts[0].m.apiVersion}: ${P.chainToPath(conflicts[0].chain)}`;
      else {
        msg = `Apply failed with ${conflicts.length} conflicts: ` + [...byMgr.values()].map((cs) => `conflicts with "${cs[0].m.manager}" using ${cs[0].m.apiVersion}:\n${cs.map((c) => `- ${P.chainToPath(c.chain)}`).join('\n')}`).join('\n');
      }
      throw new E.ApiError(409, 'Conflict', msg, {
        causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.m.manager}" using ${c.m.apiVersion}`, field: P.chainToPath(c.chain) })),
      });
    }
    for (const c of conflicts) P.removeChain(c.m.fieldsV1, c.chain);
    // Fields this manager applied before and no longer applies are removed unless someone else owns them.
    const prevMine = mfs.find((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource || '') === sub);
    let result = merged;
    if (sub === 'status') result = { ...old, status: merged.status };
    if (prevMine) {
      const stale = P.leafChains(prevMine.fieldsV1).filter((c) => !P.hasChain(appliedSet, c));
      const itemStale = [];
      const collectItems = (set, chain) => { for (const [k, v] of Object.entries(set)) { if (k === '.') continue; const c = [...chain, k]; if ((k.startsWith('k:') || k.startsWith('v:')) && !P.hasChain(appliedSet, c)) itemStale.push(c); else collectItems(v, c); } };
      collectItems(prevMine.fieldsV1, []);
      result = structuredClone(result);
      // Whole list items first (a stale item's own leaves would otherwise strip its key).
      for (const c of itemStale) if (!mfs.some((m) => m !== prevMine && P.hasChain(m.fieldsV1 || {}, c))) P.deleteItem(result, c);
      for (const c of stale) {
        if (mfs.some((m) => m !== prevMine && P.hasChain(m.fieldsV1 || {}, c))) continue;
        if (c[c.length - 1].startsWith('v:') || c[c.length - 1].startsWith('k:')) continue;
        P.deleteAt(result, c);
      }
    }
    mfs = mfs.filter((m) => !(m.manager === manager && m.operation === 'Apply' && (m.subresource || '') === sub));
    const entry = { manager, operation: 'Apply', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: appliedSet };
    if (sub) entry.subresource = sub;
    mfs.push(entry);
    mfs = mfs.filter((m) => m.fieldsV1 && !P.isEmptySet(m.fieldsV1));
    result.metadata = { ...result.metadata, resourceVersion: old.metadata.resourceVersion };
    // A no-op apply keeps the previous managedFields (and so the object) unchanged.
    const prevEntry = (old.metadata.managedFields || []).find((m) => m.manager === manager && m.operation === 'Apply' && (m.subresource || '') === sub);
    if (prevEntry && P.deepEqual(prevEntry.fieldsV1, appliedSet)) entry.time = prevEntry.time;
    return { obj: this.updateInternal(res, old, result, { manager, managedFields: mfs, subresource: sub, fieldValidation: q.get('fieldValidation'), dryRun: q.has('dryRun') }), created: false };
  }
}

function schemaAt(schema, p) {
  let cur = schema;
  const segs = p.split(/(?=\.)|(?=\[)/).filter(Boolean);
  for (const s of segs) {
    if (!cur) return null;
    if (s.startsWith('[')) { cur = cur.items; continue; }
    const k = s.slice(1);
    if (cur.type === 'array') cur = cur.items;
    if (cur && cur.properties && cur.properties[k]) cur = cur.properties[k];
    else if (cur && typeof cur.additionalProperties === 'object') cur = cur.additionalProperties;
    else return null;
  }
  return cur;
}

module.exports = { ApiServer, parseArgs, parseLabelSelector, matchLabels, parseFieldSelector, matchFields, jsonPath, humanDuration, sortVersions };

if (require.main === module) require('./lib/http').main(parseArgs(process.argv));
