'use strict';
// HTTP layer: authentication, discovery, OpenAPI, REST verbs, list/watch/table, admin endpoint.

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const yaml = require('js-yaml');
const E = require('./errors');
const P = require('./patch');
const { decodeObject } = require('./protobuf');

function send(res, code, body, headers = {}) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
  res.end(data);
}
const SCALABLE = new Set(['Deployment', 'ReplicaSet']);
const RETURNS_DELETED = new Set(['Pod', 'ServiceAccount', 'Namespace']);

// autoscaling/v1 Scale view of a deployment or replica set (the scale subresource).
function scaleOf(o) {
  const ml = (o.spec.selector && o.spec.selector.matchLabels) || {};
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec.replicas },
    status: { replicas: (o.status && o.status.replicas) || 0, selector: Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(',') },
  };
}

function sendError(res, err) {
  if (!(err instanceof E.ApiError)) {
    console.error('internal error:', err && err.stack);
    err = new E.ApiError(500, 'InternalError', `Internal error occurred: ${err && err.message}`);
  }
  send(res, err.code, err.toStatus(), err.headers);
}
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
function userAgentManager(req) {
  const ua = req.headers['user-agent'] || 'unknown';
  return ua.split('/')[0];
}

function main(opts) {
  const { ApiServer, parseLabelSelector, matchLabels, parseFieldSelector, matchFields, jsonPath, humanDuration, sortVersions } = require('../server');
  const api = new ApiServer(opts);
  const start = Date.now();

  // ---- discovery ----
  const resourceEntries = (group, version) => {
    const out = [];
    for (const r of api.resources.values()) {
      if (r.group !== group || r.version !== version) continue;
      const e = { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
      if (r.shortNames.length) e.shortNames = r.shortNames;
      if (r.categories.length) e.categories = r.categories;
      out.push(e);
      if (r.status) out.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
      if (SCALABLE.has(r.kind) && r.builtin) out.push({ name: `${r.plural}/scale`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    }
    return out;
  };
  const groupList = () => {
    const groups = [];
    for (const [g, vs] of api.groups()) {
      if (g === '') continue;
      const sorted = sortVersions([...vs]);
      const pref = api.preferredVersion(g);
      groups.push({ name: g, versions: sorted.map((v) => ({ groupVersion: `${g}/${v}`, version: v })), preferredVersion: { groupVersion: `${g}/${pref}`, version: pref } });
    }
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  };

  // Aggregated discovery (apidiscovery.k8s.io/v2, KEP-3352): one document for /api or /apis.
  const AGG_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
  const wantsAggregated = (req) => (req.headers.accept || '').split(',').some((part) => {
    const ps = part.split(';').map((x) => x.trim());
    return ps.includes('as=APIGroupDiscoveryList') && ps.includes('v=v2') && ps.includes('g=apidiscovery.k8s.io');
  });
  const aggregatedGroup = (g) => {
    const vs = sortVersions([...api.groups().get(g)]);
    const pref = api.preferredVersion(g);
    const ordered = [pref, ...vs.filter((v) => v !== pref)];
    return {
      metadata: { name: g, creationTimestamp: null },
      versions: ordered.map((v) => ({
        version: v,
        resources: [...api.resources.values()].filter((r) => r.group === g && r.version === v).map((r) => {
          const e = { resource: r.plural, responseKind: { group: g, version: v, kind: r.kind }, scope: r.namespaced ? 'Namespaced' : 'Cluster', singularResource: r.singular, verbs: r.verbs };
          if (r.shortNames.length) e.shortNames = r.shortNames;
          if (r.categories.length) e.categories = r.categories;
          if (r.status) e.subresources = [{ subresource: 'status', responseKind: { group: g, version: v, kind: r.kind }, verbs: ['get', 'patch', 'update'] }];
          if (SCALABLE.has(r.kind) && r.builtin) (e.subresources = e.subresources || []).push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
          return e;
        }),
        freshness: 'Current',
      })),
    };
  };
  const aggregated = (core) => ({
    kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {},
    items: core ? [aggregatedGroup('')] : [...api.groups().keys()].filter((g) => g !== '').map(aggregatedGroup),
  });

  // ---- OpenAPI v3: enough for kubectl's fieldValidation probe and `kubectl explain` ----
  const gvPaths = () => {
    const paths = { 'api/v1': '/openapi/v3/api/v1' };
    for (const [g, vs] of api.groups()) if (g) for (const v of vs) paths[`apis/${g}/${v}`] = `/openapi/v3/apis/${g}/${v}`;
    return paths;
  };
  const schemaName = (r) => `${r.group ? r.group.split('.').reverse().join('.') : 'io.k8s.api.core'}.${r.version}.${r.kind}`;
  const openapiDoc = (group, version) => {
    const paths = {}; const schemas = {};
    const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((n) => ({ name: n, in: 'query', schema: { type: n === 'force' ? 'boolean' : 'string' } }));
    for (const r of api.resources.values()) {
      if (r.group !== group || r.version !== version) continue;
      const gvk = { group: r.group, version: r.version, kind: r.kind };
      const base = `${r.group ? `/apis/${r.group}` : '/api'}/${r.version}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
      const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
      // No requestBody on PATCH: kubectl then falls back to its compiled-in strategic-merge
      // metadata for built-ins and to JSON merge patch for custom resources, as with a cluster
      // whose OpenAPI lacks patch metadata.
      paths[base] = { get: { operationId: `read${r.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk, responses: { 200: { content: { 'application/json': { schema: ref } } } } },
        patch: { operationId: `patch${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: params, responses: { 200: { content: { 'application/json': { schema: ref } } } } },
        parameters: params };
      const sch = r.schema ? structuredClone(r.schema) : { type: 'object', description: `${r.kind} (built-in kind; schema not published by the test API server)`, 'x-kubernetes-preserve-unknown-fields': true,
        properties: { apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' }, kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
          metadata: { type: 'object', description: 'Standard object\'s metadata.' }, spec: { type: 'object', description: 'Spec', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', description: 'Status', 'x-kubernetes-preserve-unknown-fields': true } } };
      sch['x-kubernetes-group-version-kind'] = [gvk];
      if (sch.properties && sch.properties.metadata) sch.properties.metadata = { type: 'object', description: sch.properties.metadata.description || 'Standard object\'s metadata.' };
      schemas[schemaName(r)] = sch;
    }
    return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
  };

  // ---- tables ----
  const wantsTable = (req) => /as=Table/.test(req.headers.accept || '');
  const columnsFor = (r) => {
    const cols = [{ name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 }];
    if (r.crd) {
      for (const c of r.crdColumns) cols.push({ name: c.name, type: c.type, format: c.format || '', description: c.description, priority: c.priority });
      if (r.crdColumns.length === 0) cols.push({ name: 'Age', type: 'date', format: '', description: 'CreationTimestamp', priority: 0 });
    } else {
      for (const c of r.columns) cols.push({ name: c.name, type: c.type, format: '', description: c.name, priority: 0 });
      if (!r.noAge) cols.push({ name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 });
    }
    return cols;
  };
  const cellsFor = (r, o) => {
    const cells = [o.metadata.name];
    if (r.crd) {
      for (const c of r.crdColumns) {
        const vals = jsonPath(o, c.jsonPath);
        let v = vals.length ? vals[0] : null;
        if (v !== null && c.type === 'date') v = humanDuration(Date.now() - Date.parse(v));
        else if (v !== null && typeof v === 'object') v = JSON.stringify(v);
        else if (vals.length > 1 && c.type === 'string') v = vals.join(',');
        cells.push(v);
      }
      if (r.crdColumns.length === 0) cells.push(humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)));
    } else {
      for (const c of r.columns) { let v; try { v = c.fn(o); } catch { v = '<unknown>'; } cells.push(v); }
      if (!r.noAge) cells.push(humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)));
    }
    return cells;
  };
  const rowObject = (r, o, q) => {
    const inc = q.get('includeObject') || 'Metadata';
    if (inc === 'None') return undefined;
    if (inc === 'Object') return api.view(r, o);
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
  };
  const table = (r, items, meta, q) => ({
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta, columnDefinitions: columnsFor(r),
    rows: items.map((o) => ({ cells: cellsFor(r, o), object: rowObject(r, o, q) })),
  });

  // ---- list ----
  const listKindOf = (r) => r.listKind || `${r.kind}List`;
  const outItem = (r, o) => {
    const v = api.view(r, o);
    if (r.crd) return v;
    const { kind, apiVersion, ...rest } = v; return rest;
  };
  // Stored objects are immutable, so their JSON (per API version, as list item or as object)
  // is computed once: lists and watches of many objects then cost a string join.
  const jsonCache = new WeakMap();
  const cachedJson = (r, o, asItem) => {
    const key = `${asItem && !r.crd ? 'item' : 'obj'}|${r.eventsV1 ? 'events.k8s.io' : api.apiVersionOf(r)}`;
    let m = jsonCache.get(o);
    if (!m) { m = new Map(); jsonCache.set(o, m); }
    let j = m.get(key);
    if (j === undefined) { j = JSON.stringify(asItem ? outItem(r, o) : api.view(r, o)); m.set(key, j); }
    return j;
  };
  const doList = (r, ns, q, req, res) => {
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fsel = parseFieldSelector(q.get('fieldSelector'), r);
    const limit = Number(q.get('limit') || 0);
    let startAfter = null;
    const cont = q.get('continue');
    if (cont) {
      let tok;
      try { tok = JSON.parse(Buffer.from(cont, 'base64').toString('utf8')); } catch { throw E.badRequest('continue key is not valid: illegal base64 data'); }
      if (!tok || typeof tok.start !== 'string' || typeof tok.rv !== 'number') throw E.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      if (tok.rv < api.compactedRv) {
        throw new E.ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
      startAfter = tok.start;
    }
    const st = api.store(r);
    const keys = api.sorted(r.storageKey);
    let i = 0;
    if (startAfter !== null) { let lo = 0; let hi = keys.length; while (lo < hi) { const m = (lo + hi) >> 1; if (keys[m] <= startAfter) lo = m + 1; else hi = m; } i = lo; }
    const items = [];
    let next = null; let remaining = 0;
    for (; i < keys.length; i++) {
      const o = st.get(keys[i]);
      if (!o) continue;
      if (r.namespaced && ns && o.metadata.namespace !== ns) continue;
      if (!matchLabels(ls, o.metadata.labels) || !matchFields(fsel, o)) continue;
      if (limit && items.length >= limit) {
        next = keys[i - 1];
        for (; i < keys.length; i++) { const x = st.get(keys[i]); if (x && (!r.namespaced || !ns || x.metadata.namespace === ns) && matchLabels(ls, x.metadata.labels) && matchFields(fsel, x)) remaining++; }
        break;
      }
      items.push(o);
    }
    const meta = { resourceVersion: String(api.rv) };
    if (next !== null) {
      meta.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: api.rv, start: next })).toString('base64');
      if (!ls.length && !fsel.length) meta.remainingItemCount = remaining;
    }
    if (wantsTable(req)) return send(res, 200, table(r, items, meta, q));
    return send(res, 200, `{"kind":${JSON.stringify(listKindOf(r))},"apiVersion":${JSON.stringify(api.apiVersionOf(r))},"metadata":${JSON.stringify(meta)},"items":[${items.map((o) => cachedJson(r, o, true)).join(',')}]}`);
  };

  // ---- watch ----
  const doWatch = (r, ns, name, q, req, res) => {
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fsel = parseFieldSelector(q.get('fieldSelector'), r);
    if (name) fsel.push({ key: 'metadata.name', neg: false, value: name });
    const asTable = wantsTable(req);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const rvParam = q.get('resourceVersion');
    const timeout = Number(q.get('timeoutSeconds') || 0);
    if (rvParam && !/^\d+$/.test(rvParam)) throw E.badRequest(`invalid resource version: ${rvParam}`);
    res.on('error', () => { /* the client went away; cleanup runs on close */ });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    let lastRv = api.rv;
    // Coalesce the events produced in one tick (e.g. the initial ADDED burst) into few TLS
    // records and syscalls.
    let corked = false;
    const out = (line) => {
      if (!corked) { corked = true; res.cork(); process.nextTick(() => { corked = false; res.uncork(); }); }
      res.write(line);
    };
    const matches = (o) => o && (!r.namespaced || !ns || o.metadata.namespace === ns) && matchLabels(ls, o.metadata.labels) && matchFields(fsel, o);
    const encode = (type, o) => {
      if (asTable) return `${JSON.stringify({ type, object: table(r, [o], { resourceVersion: o.metadata.resourceVersion }, q) })}\n`;
      return `{"type":"${type}","object":${cachedJson(r, o, false)}}\n`;
    };
    const w = {
      storageKey: r.storageKey,
      send(ev) {
        const now = matches(ev.obj); const before = ev.prev ? matches(ev.prev) : false;
        let type = ev.type;
        if (type === 'MODIFIED') { if (now && !before) type = 'ADDED'; else if (!now && before) type = 'DELETED'; else if (!now) { lastRv = ev.rv; return; } } else if (!now) { lastRv = ev.rv; return; }
        lastRv = ev.rv;
        out(encode(type, ev.obj));
      },
      close(abrupt) { cleanup(); if (abrupt) res.destroy(); else res.end(); },
    };
    let bm = null; let to = null;
    const cleanup = () => { api.watches.delete(w); clearInterval(bm); clearTimeout(to); };
    req.on('close', cleanup);
    res.on('close', cleanup);
    if (rvParam === undefined || rvParam === null || rvParam === '' || rvParam === '0') {
      // "Get State and Start at Most Recent" (unset) / "Start at Any" (0): synthetic ADDED events.
      const st = api.store(r);
      for (const k of api.sorted(r.storageKey)) { const o = st.get(k); if (matches(o)) out(encode('ADDED', o)); }
      if (q.get('sendInitialEvents') === 'true' && bookmarks) out(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: api.apiVersionOf(r), metadata: { resourceVersion: String(api.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } } })}\n`);
    } else {
      const from = Number(rvParam);
      if (from < api.compactedRv) {
        // kube-apiserver answers 200 and then an ERROR event carrying the 410 Status.
        out(`${JSON.stringify({ type: 'ERROR', object: new E.ApiError(410, 'Expired', `too old resource version: ${from} (${api.compactedRv})`).toStatus() })}\n`);
        res.end();
        return;
      }
      for (let i = api.historyStart; i < api.history.length; i++) {
        const ev = api.history[i];
        if (ev.rv > from && ev.storageKey === r.storageKey) w.send(ev);
      }
    }
    api.watches.add(w);
    if (bookmarks) {
      bm = setInterval(() => {
        out(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: api.apiVersionOf(r), metadata: { resourceVersion: String(Math.max(lastRv, api.rv)) } } })}\n`);
      }, opts.bookmarkIntervalMs);
    }
    if (timeout > 0) to = setTimeout(() => { cleanup(); res.end(); }, timeout * 1000);
  };

  // ---- routing ----
  const parsePath = (p) => {
    let s;
    try { s = p.split('/').filter(Boolean).map(decodeURIComponent); } catch { return null; }
    let group; let version; let rest;
    if (s[0] === 'api') { group = ''; version = s[1]; rest = s.slice(2); } else if (s[0] === 'apis') { group = s[1]; version = s[2]; rest = s.slice(3); } else return null;
    if (!version) return { group, version, discovery: true };
    if (rest.length === 0) return { group, version, discovery: true };
    let ns = null;
    if (rest[0] === 'namespaces' && rest.length >= 3) { ns = rest[1]; rest = rest.slice(2); }
    return { group, version, ns, plural: rest[0], name: rest[1], subresource: rest[2], extra: rest.length > 3 };
  };

  const fieldManagerOf = (q, req) => q.get('fieldManager') || userAgentManager(req);

  async function handleResource(req, res, u, route) {
    const q = u.searchParams;
    let r = api.res(route.group, route.version, route.plural);
    if (!r && route.ns !== null && route.group === '' && route.plural === undefined) r = null;
    // /api/v1/namespaces/{name}[/status] addresses the namespace object itself.
    if (!r && route.group === '' && u.pathname.split('/').filter(Boolean)[2] === 'namespaces') {
      const parts = u.pathname.split('/').filter(Boolean);
      r = api.res('', 'v1', 'namespaces');
      route = { ...route, ns: null, name: parts[3], subresource: parts[4] };
    }
    if (!r || route.extra) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', { });
    if (!r.namespaced && route.ns) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    if (route.subresource === 'scale' && SCALABLE.has(r.kind) && r.builtin && route.name) return handleScale(req, res, r, route, u.searchParams);
    if (route.subresource && !(route.subresource === 'status' && r.status)) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    const ns = r.namespaced ? route.ns : '';
    const method = req.method;
    const name = route.name;
    const warnings = [];
    const opts = { fieldValidation: q.get('fieldValidation') || 'Warn', dryRun: q.has('dryRun'), manager: fieldManagerOf(q, req), subresource: route.subresource || '', warnings };
    // RFC 7234-style warning headers, as kube-apiserver sends them: 299 - "<text>".
    const warnHeaders = () => (warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {});
    const reply = (code, o) => (wantsTable(req) && code === 200 && o.metadata && o.metadata.uid
      ? send(res, code, table(r, [o], { resourceVersion: o.metadata.resourceVersion }, q), warnHeaders()) : send(res, code, api.view(r, o), warnHeaders()));

    if (method === 'GET') {
      if (!name) return (q.get('watch') === 'true' || q.get('watch') === '1') ? doWatch(r, ns, null, q, req, res) : doList(r, ns, q, req, res);
      if (q.get('watch') === 'true' || q.get('watch') === '1') return doWatch(r, ns, name, q, req, res);
      const o = api.get(r, ns, name);
      if (!o) throw E.notFound(r.group, r.plural, name);
      if (!wantsTable(req)) return send(res, 200, cachedJson(r, o, false));
      return reply(200, o);
    }
    const rawBuf = await readBody(req);
    let raw = rawBuf.toString('utf8');
    const reqCt = (req.headers['content-type'] || '').split(';')[0].trim();
    if ((method === 'POST' || method === 'PUT') && reqCt === 'application/vnd.kubernetes.protobuf') {
      raw = JSON.stringify(decodeObject(rawBuf));
    } else if ((method === 'POST' || method === 'PUT') && reqCt === 'application/yaml') {
      try { raw = JSON.stringify(yaml.load(raw)); } catch (e) { throw E.badRequest(`error decoding YAML: ${e.message}`); }
    } else if ((method === 'POST' || method === 'PUT') && reqCt && reqCt !== 'application/json') {
      throw new E.ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    }
    if (method === 'POST') {
      if (name) throw E.methodNotAllowed();
      let body; try { body = JSON.parse(raw); } catch (e) { throw E.badRequest(`the body of the request was in an unknown format - ${e.message}`); }
      api.checkTypeMeta(r, body);
      if (r.namespaced && body.metadata.namespace && body.metadata.namespace !== ns) throw E.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      const o = api.createInternal(r, body, opts.manager, { ...opts, namespace: ns });
      return reply(201, o);
    }
    if (method === 'PUT') {
      if (!name) throw E.methodNotAllowed();
      let body; try { body = JSON.parse(raw); } catch (e) { throw E.badRequest(`the body of the request was in an unknown format - ${e.message}`); }
      api.checkTypeMeta(r, body);
      if (r.namespaced && body.metadata.namespace && body.metadata.namespace !== ns) throw E.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      if (body.metadata.name && body.metadata.name !== name) throw E.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      const old = api.get(r, ns, name);
      if (!old) throw E.notFound(r.group, r.plural, name);
      const o = api.updateInternal(r, old, body, { ...opts, requireRv: !!r.crd });
      return reply(200, o);
    }
    if (method === 'PATCH') {
      if (!name) throw E.methodNotAllowed();
      const ct = (req.headers['content-type'] || '').split(';')[0].trim();
      if (ct === 'application/apply-patch+yaml' || ct === 'application/apply-patch+cbor') {
        let body; try { body = yaml.load(raw); } catch (e) { throw E.badRequest(`error decoding YAML: ${e.message}`); }
        const qq = new URLSearchParams(q); qq.subresource = route.subresource || '';
        const rq = { get: (k) => q.get(k), has: (k) => q.has(k), subresource: route.subresource || '', warnings };
        const { obj, created } = api.apply(r, ns, name, body, rq);
        return reply(created ? 201 : 200, obj);
      }
      const old = api.get(r, ns, name);
      if (!old) throw E.notFound(r.group, r.plural, name);
      let patch; try { patch = JSON.parse(raw); } catch (e) { throw E.badRequest(`error decoding patch: ${e.message}`); }
      const base = api.view(r, old);
      let next;
      if (ct === 'application/merge-patch+json') next = P.mergePatch(base, patch);
      else if (ct === 'application/json-patch+json') next = P.jsonPatch(base, patch);
      else if (ct === 'application/strategic-merge-patch+json') {
        if (r.crd) throw new E.ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources; use json patch or merge patch');
        next = P.strategicMerge(base, patch);
      } else throw new E.ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
      if (!P.isObj(next)) throw E.badRequest('patch produced a non-object');
      if (!next.metadata || next.metadata.resourceVersion === undefined) { next.metadata = next.metadata || {}; }
      // A patch that does not carry resourceVersion applies to the current object (no precondition).
      if (patch && P.isObj(patch) && !(patch.metadata && patch.metadata.resourceVersion)) next.metadata.resourceVersion = old.metadata.resourceVersion;
      if (next.kind !== r.kind || next.apiVersion !== api.apiVersionOf(r)) throw E.badRequest('patch changed kind or apiVersion');
      const o = api.updateInternal(r, old, next, opts);
      return reply(200, o);
    }
    if (method === 'DELETE') {
      let body = {};
      if (raw.trim()) { try { body = JSON.parse(raw); } catch (e) { throw E.badRequest(`error decoding DeleteOptions: ${e.message}`); } }
      if (q.get('propagationPolicy')) body.propagationPolicy = q.get('propagationPolicy');
      if (q.has('dryRun')) body.dryRun = true;
      if (body.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(body.propagationPolicy)) {
        throw E.invalid('DeleteOptions', 'DeleteOptions', '', '', [E.fieldError('FieldValueNotSupported', 'propagationPolicy', body.propagationPolicy, 'supported values: "Foreground", "Background", "Orphan", "nil"')]);
      }
      if (!name) {
        // deletecollection
        const ls = parseLabelSelector(q.get('labelSelector'));
        const fsel = parseFieldSelector(q.get('fieldSelector'), r);
        const items = [];
        for (const o of [...api.store(r).values()]) {
          if (r.namespaced && ns && o.metadata.namespace !== ns) continue;
          if (!matchLabels(ls, o.metadata.labels) || !matchFields(fsel, o)) continue;
          items.push(api.deleteInternal(r, o, body).obj);
        }
        return send(res, 200, { kind: listKindOf(r), apiVersion: api.apiVersionOf(r), metadata: { resourceVersion: String(api.rv) }, items: items.map((o) => outItem(r, o)) });
      }
      const o = api.get(r, ns, name);
      if (!o) throw E.notFound(r.group, r.plural, name);
      const { obj, deleted } = api.deleteInternal(r, o, body);
      // Stores with ReturnDeletedObject (custom resources, pods, service accounts) answer with
      // the object; the others with a Success Status once the object is gone (generic registry
      // finalizeDelete). An object kept by finalizers is returned with 202.
      if (deleted && !r.crd && !RETURNS_DELETED.has(r.kind)) {
        return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
          details: { name: obj.metadata.name, group: r.group || undefined, kind: r.plural, uid: obj.metadata.uid } });
      }
      return send(res, deleted ? 200 : 202, api.view(r, obj));
    }
    throw E.methodNotAllowed();
  }

  // The Kubernetes verb of a request (get, list, watch, create, update, patch, delete,
  // deletecollection) for fault filters; a filter may also name the HTTP method.
  const k8sVerb = (req, u) => {
    const route = parsePath(u.pathname);
    const named = route && !route.discovery && route.name !== undefined;
    const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
    switch (req.method) {
      case 'GET': return watch ? 'watch' : named ? 'get' : 'list';
      case 'POST': return 'create';
      case 'PUT': return 'update';
      case 'PATCH': return 'patch';
      case 'DELETE': return named ? 'delete' : 'deletecollection';
      default: return req.method.toLowerCase();
    }
  };
  async function handleScale(req, res, r, route, q) {
    const ns = route.ns;
    const cur = api.get(r, ns, route.name);
    if (!cur) throw E.notFound(r.group, r.plural, route.name);
    if (req.method === 'GET') return send(res, 200, scaleOf(cur));
    const raw = (await readBody(req)).toString('utf8');
    let body; try { body = JSON.parse(raw); } catch (e) { throw E.badRequest(`error decoding body: ${e.message}`); }
    const ct = (req.headers['content-type'] || '').split(';')[0].trim();
    let next;
    if (req.method === 'PUT') next = body;
    else if (req.method === 'PATCH' && ct === 'application/json-patch+json') next = P.jsonPatch(scaleOf(cur), body);
    else if (req.method === 'PATCH' && (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json')) next = P.mergePatch(scaleOf(cur), body);
    else throw E.methodNotAllowed();
    const replicas = next && next.spec && next.spec.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw E.invalid('Scale.autoscaling', 'Scale', 'autoscaling', route.name, [E.fieldError('FieldValueInvalid', 'spec.replicas', replicas, 'must be greater than or equal to 0')]);
    }
    const upd = structuredClone(cur);
    upd.spec.replicas = replicas;
    upd.metadata.resourceVersion = (next.metadata && next.metadata.resourceVersion) || cur.metadata.resourceVersion;
    const o = api.updateInternal(r, cur, upd, { manager: q.get('fieldManager') || userAgentManager(req), fieldValidation: 'Ignore' });
    return send(res, 200, scaleOf(o));
  }

  function faultFor(req, u) {
    const verb = k8sVerb(req, u);
    for (let i = 0; i < api.faults.length; i++) {
      const f = api.faults[i];
      if (f.verb && f.verb !== verb && f.verb.toUpperCase() !== req.method) continue;
      if (f.pathRe && !f.pathRe.test(u.pathname + u.search)) continue;
      f.count--;
      if (f.count <= 0) api.faults.splice(i, 1);
      return f;
    }
    return null;
  }
  const latencyFor = (req, u) => {
    let ms = 0;
    for (const l of api.latency) if ((!l.verb || l.verb === k8sVerb(req, u) || l.verb.toUpperCase() === req.method) && (!l.pathRe || l.pathRe.test(u.pathname + u.search))) ms = Math.max(ms, l.ms);
    return ms;
  };

  async function handle(req, res) {
    const u = new URL(req.url, 'https://127.0.0.1');
    const p = u.pathname.replace(/\/+$/, '') || '/';
    try {
      if (['/healthz', '/readyz', '/livez'].includes(p)) { res.writeHead(200, { 'Content-Type': 'text/plain' }); return res.end('ok'); }
      // Bearer token authenticator: scheme case-insensitive, token compared exactly.
      const auth = (req.headers.authorization || '').trim().split(/\s+/);
      const authorized = auth.length === 2 && auth[0].toLowerCase() === 'bearer' && auth[1] === opts.token;
      if (p !== '/version' && !authorized) {
        return send(res, 401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      }
      const delay = latencyFor(req, u);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const f = faultFor(req, u);
      if (f) {
        const reasons = { 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 409: 'Conflict', 504: 'Timeout', 403: 'Forbidden', 404: 'NotFound', 410: 'Expired' };
        const headers = {};
        if (f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter);
        await readBody(req);
        return send(res, f.status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: f.message || `injected fault (${f.status})`, reason: reasons[f.status] || 'Unknown', details: f.retryAfter !== undefined ? { retryAfterSeconds: f.retryAfter } : undefined, code: f.status }, headers);
      }
      if (p === '/version') return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-sluice-test', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: new Date(start).toISOString(), goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' });
      if ((p === '/api' || p === '/apis') && wantsAggregated(req)) return send(res, 200, aggregated(p === '/api'), { 'Content-Type': AGG_V2, Vary: 'Accept' });
      if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${server.address().port}` }] });
      if (p === '/apis') return send(res, 200, groupList());
      if (p === '/openapi/v3') {
        const paths = {};
        for (const [k, v] of Object.entries(gvPaths())) paths[k] = { serverRelativeURL: `${v}?hash=${api.rv}` };
        return send(res, 200, { paths });
      }
      if (p.startsWith('/openapi/v3/')) {
        const parts = p.slice('/openapi/v3/'.length).split('/');
        const [group, version] = parts[0] === 'api' ? ['', parts[1]] : [parts[1], parts[2]];
        if (!api.groups().has(group) || !api.groups().get(group).has(version)) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
        return send(res, 200, openapiDoc(group, version));
      }
      const route = parsePath(p);
      if (!route) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
      if (route.discovery) {
        if (!route.version) {
          const vs = api.groups().get(route.group);
          if (!vs) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
          const sorted = sortVersions([...vs]); const pref = api.preferredVersion(route.group);
          return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', name: route.group, versions: sorted.map((v) => ({ groupVersion: `${route.group}/${v}`, version: v })), preferredVersion: { groupVersion: `${route.group}/${pref}`, version: pref } });
        }
        const vs = api.groups().get(route.group);
        if (!vs || !vs.has(route.version)) throw new E.ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
        return send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: route.group ? `${route.group}/${route.version}` : route.version, resources: resourceEntries(route.group, route.version) });
      }
      await handleResource(req, res, u, route);
    } catch (err) {
      if (!res.headersSent) sendError(res, err); else res.end();
    }
  }

  const tls = { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) };
  const server = https.createServer(tls, (req, res) => { handle(req, res); });
  server.keepAliveTimeout = 60000;
  server.on('connection', (s) => { api.sockets.add(s); s.on('close', () => api.sockets.delete(s)); });
  server.on('secureConnection', (s) => { api.sockets.add(s); s.on('close', () => api.sockets.delete(s)); });

  // ---- admin endpoint (plain HTTP, 127.0.0.1) ----
  const admin = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    try {
      const raw = (await readBody(req)).toString('utf8');
      const body = raw.trim() ? JSON.parse(raw) : {};
      const re = (s) => (s ? new RegExp(s) : null);
      const route = `${req.method} ${u.pathname}`;
      switch (route) {
        case 'GET /healthz': return send(res, 200, { ok: true });
        case 'GET /state': {
          let objects = 0; for (const st of api.stores.values()) objects += st.size;
          return send(res, 200, { resourceVersion: api.rv, compactedResourceVersion: api.compactedRv, objects, watches: api.watches.size, faults: api.faults.map((f) => ({ ...f, pathRe: f.pathRe && f.pathRe.source })), latency: api.latency.map((l) => ({ ...l, pathRe: l.pathRe && l.pathRe.source })), historyLength: api.history.length - api.historyStart });
        }
        case 'POST /watches/drop': {
          const n = api.watches.size;
          for (const w of [...api.watches]) w.close(body.abrupt === true);
          return send(res, 200, { dropped: n });
        }
        case 'POST /faults': {
          const status = Number(body.status);
          if (!(status >= 400 && status <= 599)) throw E.badRequest('status must be 4xx or 5xx');
          const f = { count: Number(body.count || 1), status, verb: body.verb, pathRe: re(body.path), retryAfter: body.retryAfter, message: body.message };
          api.faults.push(f);
          return send(res, 200, { queued: api.faults.length });
        }
        case 'DELETE /faults': api.faults = []; api.latency = []; return send(res, 200, { cleared: true });
        case 'POST /compact': return send(res, 200, { compactedResourceVersion: api.compact(body.resourceVersion !== undefined ? Number(body.resourceVersion) : undefined) });
        case 'POST /latency': api.latency.push({ ms: Number(body.ms || 0), verb: body.verb, pathRe: re(body.path) }); return send(res, 200, { ok: true });
        case 'DELETE /latency': api.latency = []; return send(res, 200, { ok: true });
        case 'POST /restart': {
          const keep = body.keepState !== false;
          const downMs = Number(body.downMs ?? 200);
          for (const w of [...api.watches]) w.close(true);
          const port = server.address().port;
          server.close();
          for (const s of api.sockets) s.destroy();
          if (!keep) { api.reset(false); api.compactedRv = api.rv; } else api.compact();
          setTimeout(() => server.listen(port, '127.0.0.1'), downMs);
          return send(res, 200, { restarted: true, keepState: keep, downMs });
        }
        default: return send(res, 404, { error: `unknown admin route ${route}` });
      }
    } catch (err) { sendError(res, err instanceof SyntaxError ? E.badRequest(err.message) : err); }
  });

  const persist = () => { if (opts.stateFile) { try { api.saveState(opts.stateFile); } catch (e) { console.error('saving state failed:', e.message); } } };
  const shutdown = () => { persist(); process.exit(0); };
  process.on('SIGTERM', shutdown);
  process.on('uncaughtException', (e) => { console.error('uncaught exception (server keeps running):', e && e.stack); });
  process.on('SIGINT', shutdown);

  server.listen(opts.port, '127.0.0.1', () => {
    admin.listen(opts.adminPort, '127.0.0.1', () => {
      const port = server.address().port; const aport = admin.address().port;
      if (opts.dir) {
        fs.writeFileSync(path.join(opts.dir, 'admin-url.tmp'), `http://127.0.0.1:${aport}\n`);
        fs.renameSync(path.join(opts.dir, 'admin-url.tmp'), path.join(opts.dir, 'admin-url'));
        fs.writeFileSync(path.join(opts.dir, 'port.tmp'), `${port}\n`);
        fs.renameSync(path.join(opts.dir, 'port.tmp'), path.join(opts.dir, 'port'));
      }
      console.log(`sluice test apiserver listening on https://127.0.0.1:${port} (admin http://127.0.0.1:${aport}) in ${Date.now() - start} ms`);
    });
  });
  return { api, server, admin };
}

module.exports = { main };
