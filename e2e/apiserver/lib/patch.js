'use strict';
// PATCH flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch
// (approximated: merge keys by field name, see README) and server-side apply with
// managedFields (fieldsV1) and conflict detection.

const { badRequest, ApiError } = require('./errors');

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const deepEqual = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---- RFC 7386 -----------------------------------------------------------------------------------
function mergePatch(target, patch) {
  if (!isObj(patch)) return structuredClone(patch);
  const out = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---- RFC 6902 -----------------------------------------------------------------------------------
function ptr(path) {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
function getAt(doc, parts) {
  let cur = doc;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[p === '-' ? cur.length : Number(p)] : cur[p];
  }
  return cur;
}
function jsonPatch(doc, ops) {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let d = structuredClone(doc);
  for (const op of ops) {
    const parts = ptr(op.path);
    const parentParts = parts.slice(0, -1);
    const last = parts[parts.length - 1];
    const parent = parts.length ? getAt(d, parentParts) : undefined;
    const fail = (why) => { throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`, { causes: [{ reason: 'FieldValueInvalid', message: why }] }); };
    const doAdd = (value) => {
      if (parts.length === 0) { d = value; return; }
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (!(i >= 0 && i <= parent.length)) fail(`add operation does not apply: doc is missing path: "${op.path}"`);
        parent.splice(i, 0, value);
      } else if (isObj(parent)) parent[last] = value;
      else fail(`add operation does not apply: doc is missing path: "${op.path}": missing value`);
    };
    const doRemove = () => {
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!(i >= 0 && i < parent.length)) fail(`remove operation does not apply: doc is missing path: "${op.path}"`);
        return parent.splice(i, 1)[0];
      }
      if (!isObj(parent) || !(last in parent)) fail(`remove operation does not apply: doc is missing path: "${op.path}": missing value`);
      const v = parent[last]; delete parent[last]; return v;
    };
    switch (op.op) {
      case 'add': doAdd(structuredClone(op.value)); break;
      case 'remove': doRemove(); break;
      case 'replace':
        if (parts.length === 0) { d = structuredClone(op.value); break; }
        if (getAt(d, parts) === undefined) fail(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
        if (Array.isArray(parent)) parent[Number(last)] = structuredClone(op.value); else parent[last] = structuredClone(op.value);
        break;
      case 'move': { const fromParts = ptr(op.from); const fp = getAt(d, fromParts.slice(0, -1)); const fl = fromParts[fromParts.length - 1];
        const v = Array.isArray(fp) ? fp.splice(Number(fl), 1)[0] : (() => { const x = fp[fl]; delete fp[fl]; return x; })();
        doAdd(v); break; }
      case 'copy': doAdd(structuredClone(getAt(d, ptr(op.from)))); break;
      case 'test':
        if (!deepEqual(getAt(d, parts), op.value)) fail(`testing value ${op.path} failed: test failed`);
        break;
      default: throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return d;
}

// ---- strategic merge patch ------------------------------------------------------------------------
// Merge keys of the built-in types kubectl patches (patchMergeKey in k8s.io/api): lists not named
// here are replaced atomically, as for fields without patchStrategy=merge.
const MERGE_KEYS = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name',
  volumes: 'name', volumeMounts: 'mountPath', volumeDevices: 'devicePath', imagePullSecrets: 'name',
  conditions: 'type', ownerReferences: 'uid', hostAliases: 'ip', topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name', tolerations: null, envFrom: null,
};
const PRIMITIVE_MERGE = new Set(['finalizers']);
function mergeKeyFor(field, parentPath, items) {
  if (field === 'ports') {
    if (parentPath.endsWith('containers[]') || parentPath.endsWith('Containers[]')) return 'containerPort';
    if (items.some((i) => isObj(i) && 'port' in i)) return 'port';
    return 'containerPort';
  }
  return MERGE_KEYS[field] || null;
}

function strategicMerge(target, patch, path = '') {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') { const p = { ...patch }; delete p.$patch; return structuredClone(p); }
  if (patch.$patch === 'delete') return undefined;
  const out = isObj(target) ? { ...target } : {};
  let retain = null;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys') { retain = v; continue; }
    if (k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x) => !v.some((y) => deepEqual(x, y)));
      continue;
    }
    if (v === null) { delete out[k]; continue; }
    if (Array.isArray(v)) {
      const cur = Array.isArray(out[k]) ? out[k] : [];
      const key = mergeKeyFor(k, path, [...cur, ...v]);
      if (key) out[k] = mergeList(cur, v, key, `${path}.${k}[]`);
      else if (PRIMITIVE_MERGE.has(k)) out[k] = [...cur, ...v.filter((x) => !cur.some((c) => deepEqual(c, x)))];
      else out[k] = structuredClone(v.filter((x) => !(isObj(x) && x.$patch)));
      const order = patch[`$setElementOrder/${k}`];
      if (key && Array.isArray(order)) {
        const idx = (e) => order.findIndex((o) => o[key] === e[key]);
        out[k].sort((a, b) => { const ia = idx(a); const ib = idx(b); return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib); });
      }
      continue;
    }
    if (isObj(v)) { const r = strategicMerge(out[k], v, `${path}.${k}`); if (r === undefined) delete out[k]; else out[k] = r; continue; }
    out[k] = v;
  }
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}
function mergeList(cur, patch, key, path) {
  const out = cur.map((x) => x);
  for (const item of patch) {
    if (!isObj(item)) { out.push(item); continue; }
    const i = out.findIndex((c) => isObj(c) && c[key] === item[key]);
    if (item.$patch === 'delete') { if (i >= 0) out.splice(i, 1); continue; }
    if (i >= 0) out[i] = strategicMerge(out[i], item, path);
    else out.push(strategicMerge({}, item, path));
  }
  return out;
}

// ---- server-side apply ----------------------------------------------------------------------------
// Field sets are trees in the fieldsV1 encoding: {"f:spec": {"f:replicas": {}}, ...}; list items
// of associative lists are "k:{...}", set members "v:<json>"; "." marks the item itself.
const IGNORED_META = new Set(['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation',
  'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name', 'namespace']);

// listInfo(path, fieldName, items) → {type: 'map', keys} | {type: 'set'} | {type: 'atomic'}
function fieldSet(obj, listInfo, path = '', top = true) {
  const set = {};
  for (const [k, v] of Object.entries(obj)) {
    if (top && (k === 'apiVersion' || k === 'kind')) continue;
    if (path === '.metadata' && IGNORED_META.has(k)) continue;
    const p = `${path}.${k}`;
    const fk = `f:${k}`;
    if (isObj(v)) {
      const sub = fieldSet(v, listInfo, p, false);
      if (top && k === 'metadata' && Object.keys(sub).length === 0) continue;
      set[fk] = sub;
    } else if (Array.isArray(v)) {
      const info = listInfo(p, k, v);
      if (info.type === 'map') {
        const sub = {};
        for (const item of v) {
          if (!isObj(item)) continue;
          const kv = {}; for (const kk of info.keys) if (item[kk] !== undefined) kv[kk] = item[kk];
          const inner = fieldSet(item, listInfo, `${p}[${itemKeyStr(kv)}]`, false);
          sub[`k:${JSON.stringify(kv)}`] = { '.': {}, ...inner };
        }
        set[fk] = sub;
      } else if (info.type === 'set') {
        const sub = {}; for (const item of v) sub[`v:${JSON.stringify(item)}`] = {};
        set[fk] = sub;
      } else set[fk] = {};
    } else set[fk] = {};
  }
  return set;
}
function itemKeyStr(kv) { return Object.entries(kv).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(','); }

// Flatten a fieldsV1 tree into leaf path strings (".spec.replicas", ".spec.containers[name="x"]").
function leaves(set, prefix = '', out = []) {
  for (const [k, v] of Object.entries(set)) {
    if (k === '.') continue;
    const seg = k.startsWith('f:') ? `.${k.slice(2)}` : k.startsWith('k:') ? `[${itemKeyStr(JSON.parse(k.slice(2)))}]` : k.startsWith('v:') ? `[${k.slice(2)}]` : `[${k}]`;
    const p = prefix + seg;
    const kids = Object.keys(v).filter((x) => x !== '.');
    if (kids.length === 0) out.push({ path: p, keys: pathKeys(prefix, k) });
    else leaves(v, p, out);
    if (kids.length && '.' in v) { /* item ownership is implied by its leaves */ }
  }
  return out;
}
function pathKeys() { return null; }

// Walk (tree-keyed) paths. Returns a list of fieldsV1 key chains for each leaf.
function leafChains(set, chain = [], out = []) {
  for (const [k, v] of Object.entries(set)) {
    if (k === '.') continue;
    const c = [...chain, k];
    const kids = Object.keys(v).filter((x) => x !== '.');
    if (kids.length === 0) out.push(c); else leafChains(v, c, out);
  }
  return out;
}
function chainToPath(chain) {
  return chain.map((k) => (k.startsWith('f:') ? `.${k.slice(2)}` : k.startsWith('k:') ? `[${itemKeyStr(JSON.parse(k.slice(2)))}]` : `[${k.slice(2)}]`)).join('');
}
function valueAt(obj, chain) {
  let cur = obj;
  for (const k of chain) {
    if (cur === undefined || cur === null) return undefined;
    if (k.startsWith('f:')) cur = isObj(cur) ? cur[k.slice(2)] : undefined;
    else if (k.startsWith('k:')) {
      const kv = JSON.parse(k.slice(2));
      cur = Array.isArray(cur) ? cur.find((i) => isObj(i) && Object.entries(kv).every(([a, b]) => deepEqual(i[a], b))) : undefined;
    } else if (k.startsWith('v:')) {
      const v = JSON.parse(k.slice(2));
      cur = Array.isArray(cur) && cur.some((i) => deepEqual(i, v)) ? v : undefined;
    } else return undefined;
  }
  return cur;
}
function hasChain(set, chain) {
  let cur = set;
  for (const k of chain) { if (!cur || !(k in cur)) return false; cur = cur[k]; }
  return true;
}
function removeChain(set, chain) {
  const stack = [];
  let cur = set;
  for (const k of chain) { if (!cur || !(k in cur)) return; stack.push([cur, k]); cur = cur[k]; }
  for (let i = stack.length - 1; i >= 0; i--) {
    const [parent, k] = stack[i];
    if (i === stack.length - 1) delete parent[k];
    else { const kids = Object.keys(parent[k]).filter((x) => x !== '.'); if (kids.length === 0) delete parent[k]; else break; }
  }
}
function addChain(set, chain) {
  let cur = set;
  for (const k of chain) { if (!cur[k]) cur[k] = {}; cur = cur[k]; if (chain.indexOf(k) >= 0 && k.startsWith('k:')) cur['.'] = cur['.'] || {}; }
}
function isEmptySet(set) { return Object.keys(set).length === 0; }

// Remove from obj the field at chain (only if it exists).
function deleteAt(obj, chain) {
  let cur = obj;
  for (let i = 0; i < chain.length - 1; i++) {
    const k = chain[i];
    if (k.startsWith('f:')) cur = isObj(cur) ? cur[k.slice(2)] : undefined;
    else if (k.startsWith('k:')) { const kv = JSON.parse(k.slice(2)); cur = Array.isArray(cur) ? cur.find((it) => isObj(it) && Object.entries(kv).every(([a, b]) => deepEqual(it[a], b))) : undefined; } else return;
    if (cur === undefined || cur === null) return;
  }
  const last = chain[chain.length - 1];
  if (last.startsWith('f:') && isObj(cur)) delete cur[last.slice(2)];
}
// Remove a whole list item (k: or v:) at chain.
function deleteItem(obj, chain) {
  const parent = valueAt(obj, chain.slice(0, -1));
  if (!Array.isArray(parent)) return;
  const last = chain[chain.length - 1];
  const match = last.startsWith('k:')
    ? ((it) => isObj(it) && Object.entries(JSON.parse(last.slice(2))).every(([a, b]) => deepEqual(it[a], b)))
    : ((it) => deepEqual(it, JSON.parse(last.slice(2))));
  const i = parent.findIndex(match); if (i >= 0) parent.splice(i, 1);
}

// Merge an applied configuration into live, lists by listInfo.
function applyMerge(live, applied, listInfo, path = '') {
  if (!isObj(applied)) return structuredClone(applied);
  const out = isObj(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(applied)) {
    const p = `${path}.${k}`;
    if (v === null) { delete out[k]; continue; }
    if (isObj(v)) { out[k] = applyMerge(out[k], v, listInfo, p); continue; }
    if (Array.isArray(v)) {
      const info = listInfo(p, k, v);
      const cur = Array.isArray(out[k]) ? out[k] : [];
      if (info.type === 'map') {
        const res = cur.map((x) => x);
        for (const item of v) {
          const i = res.findIndex((c) => isObj(c) && isObj(item) && info.keys.every((kk) => deepEqual(c[kk], item[kk])));
          if (i >= 0) res[i] = applyMerge(res[i], item, listInfo, p); else res.push(structuredClone(item));
        }
        out[k] = res;
      } else if (info.type === 'set') {
        out[k] = [...cur, ...v.filter((x) => !cur.some((c) => deepEqual(c, x)))];
      } else out[k] = structuredClone(v);
      continue;
    }
    out[k] = v;
  }
  return out;
}

// Fields whose values differ between two objects, as leaf chains of `after`'s field set plus
// leaves removed from `before`.
function changedChains(before, after, listInfo) {
  const aSet = fieldSet(after, listInfo);
  const out = [];
  for (const c of leafChains(aSet)) {
    if (!deepEqual(valueAt(before, c), valueAt(after, c))) out.push(c);
  }
  return { changed: out, afterSet: aSet };
}

// One walk over two objects: leaf chains (fieldsV1 keys) whose value was added or changed in
// `b`, and leaf chains of `a` that no longer exist in `b`. Same field-set rules as fieldSet().
function diffChains(a, b, listInfo) {
  const changed = []; const removed = [];
  const leavesOf = (v, chain, p, top, out) => {
    if (isObj(v)) {
      const keys = Object.keys(v);
      let any = false;
      for (const k of keys) {
        if (top && (k === 'apiVersion' || k === 'kind')) continue;
        if (p === '.metadata' && IGNORED_META.has(k)) continue;
        any = true;
        leavesOf(v[k], [...chain, `f:${k}`], `${p}.${k}`, false, out);
      }
      if (!any && !top && !(p === '.metadata')) out.push(chain);
      return;
    }
    if (Array.isArray(v) && chain.length) {
      const info = listInfo(p, chain[chain.length - 1].slice(2), v);
      if (info.type === 'map') {
        for (const item of v) {
          if (!isObj(item)) continue;
          const kv = {}; for (const kk of info.keys) if (item[kk] !== undefined) kv[kk] = item[kk];
          leavesOf(item, [...chain, `k:${JSON.stringify(kv)}`], `${p}[${itemKeyStr(kv)}]`, false, out);
        }
        return;
      }
      if (info.type === 'set') { for (const item of v) out.push([...chain, `v:${JSON.stringify(item)}`]); return; }
    }
    out.push(chain);
  };
  const walk = (x, y, chain, p, top) => {
    if (x === y) return;
    if (x === undefined) { leavesOf(y, chain, p, top, changed); return; }
    if (y === undefined) { leavesOf(x, chain, p, top, removed); return; }
    if (isObj(x) && isObj(y)) {
      for (const k of Object.keys(y)) {
        if (top && (k === 'apiVersion' || k === 'kind')) continue;
        if (p === '.metadata' && IGNORED_META.has(k)) continue;
        walk(x[k], y[k], [...chain, `f:${k}`], `${p}.${k}`, false);
      }
      for (const k of Object.keys(x)) {
        if (k in y) continue;
        if (top && (k === 'apiVersion' || k === 'kind')) continue;
        if (p === '.metadata' && IGNORED_META.has(k)) continue;
        leavesOf(x[k], [...chain, `f:${k}`], `${p}.${k}`, false, removed);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && chain.length) {
      const field = chain[chain.length - 1].slice(2);
      const info = listInfo(p, field, y.length ? y : x);
      if (info.type === 'map') {
        const keyOf = (item) => { const kv = {}; for (const kk of info.keys) if (item[kk] !== undefined) kv[kk] = item[kk]; return kv; };
        const xs = new Map(); for (const it of x) if (isObj(it)) { const kv = keyOf(it); xs.set(JSON.stringify(kv), [kv, it]); }
        const ys = new Map(); for (const it of y) if (isObj(it)) { const kv = keyOf(it); ys.set(JSON.stringify(kv), [kv, it]); }
        for (const [k, [kv, it]] of ys) walk(xs.has(k) ? xs.get(k)[1] : undefined, it, [...chain, `k:${k}`], `${p}[${itemKeyStr(kv)}]`, false);
        for (const [k, [kv, it]] of xs) if (!ys.has(k)) leavesOf(it, [...chain, `k:${k}`], `${p}[${itemKeyStr(kv)}]`, false, removed);
        return;
      }
      if (info.type === 'set') {
        const xs = new Set(x.map((i) => JSON.stringify(i))); const ys = new Set(y.map((i) => JSON.stringify(i)));
        for (const k of ys) if (!xs.has(k)) changed.push([...chain, `v:${k}`]);
        for (const k of xs) if (!ys.has(k)) removed.push([...chain, `v:${k}`]);
        return;
      }
      if (!deepEqual(x, y)) changed.push(chain);
      return;
    }
    if (typeof x === 'object' || typeof y === 'object') { if (!deepEqual(x, y)) leavesOf(y, chain, p, top, changed); return; }
    if (x !== y) changed.push(chain);
  };
  walk(a, b, [], '', true);
  return { changed, removed };
}

module.exports = {
  diffChains,
  mergePatch, jsonPatch, strategicMerge, fieldSet, leafChains, chainToPath, valueAt, hasChain,
  removeChain, addChain, isEmptySet, applyMerge, deleteAt, deleteItem, changedChains, deepEqual, isObj, leaves,
};
