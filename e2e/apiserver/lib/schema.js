'use strict';
// Admission for custom resources against a CRD's structural OpenAPI v3 schema, in the order
// kube-apiserver applies it: prune unknown fields, apply defaults, validate the OpenAPI
// constraints, then evaluate x-kubernetes-validations (CEL).
// References: k8s.io/apiextensions-apiserver pkg/apiserver/schema/{pruning,defaulting},
// pkg/apiserver/validation (kube-openapi validate) and pkg/apiserver/schema/cel.

const { parse, plan, celEnv, isCelError, celFunc, celMethod, CelScalar, listType } = require('@bufbuild/cel');
const { strings } = require('@bufbuild/cel/ext');
const { fieldError } = require('./errors');

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v; // string, boolean, object
}

function pathJoin(base, key) { return base ? `${base}.${key}` : key; }

// ---- pruning --------------------------------------------------------------------------------
// Removes fields not declared in the schema unless x-kubernetes-preserve-unknown-fields.
// Returns the list of pruned paths (for fieldValidation=Strict/Warn).
function prune(value, schema, path, pruned, isRoot) {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => prune(v, schema.items, `${path}[${i}]`, pruned, false));
    return;
  }
  const props = schema.properties;
  const addl = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    if (isRoot && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    if (embedded && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    let sub;
    if (props && Object.prototype.hasOwnProperty.call(props, key)) sub = props[key];
    else if (addl && typeof addl === 'object') sub = addl;
    else if (addl === true || preserve) { continue; } else {
      pruned.push(pathJoin(path, key));
      delete value[key];
      continue;
    }
    prune(value[key], sub, pathJoin(path, key), pruned, false);
  }
}

// ---- defaulting ---------------------------------------------------------------------------------
function applyDefaults(value, schema) {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items) for (const v of value) applyDefaults(v, schema.items);
    return;
  }
  if (schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (value[key] === undefined && sub && sub.default !== undefined) value[key] = structuredClone(sub.default);
      if (value[key] === null && sub && sub.default !== undefined && !sub.nullable) value[key] = structuredClone(sub.default);
      if (value[key] !== undefined) applyDefaults(value[key], sub);
    }
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(value)) {
      if (!schema.properties || !(key in schema.properties)) applyDefaults(value[key], schema.additionalProperties);
    }
  }
}

// ---- OpenAPI validation -------------------------------------------------------------------------
const FORMATS = {
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s),
  uuid: (s) => /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(s),
  ipv4: (s) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((p) => +p < 256),
  hostname: (s) => s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(s),
};

const regexCache = new Map();
function compileRegex(p) {
  let r = regexCache.get(p);
  if (r === undefined) {
    try { r = new RegExp(p, 'u'); } catch { try { r = new RegExp(p); } catch { r = null; } }
    regexCache.set(p, r);
  }
  return r;
}

function validateValue(value, schema, path, errs) {
  if (!schema) return;
  if (value === null) {
    if (!schema.nullable && schema.type) {
      errs.push(fieldError('FieldValueTypeInvalid', path, 'null', `${path} in body must be of type ${schema.type}: "null"`));
    }
    return;
  }
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') {
      errs.push(fieldError('FieldValueTypeInvalid', path, t, `${path} in body must be of type integer,string: "${t}"`));
      return;
    }
  } else if (schema.type) {
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) {
      errs.push(fieldError('FieldValueTypeInvalid', path, t, `${path} in body must be of type ${schema.type}: "${t}"`));
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push(fieldError('FieldValueNotSupported', path, value,
      `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`));
  }
  if (t === 'integer' || t === 'number') {
    if (schema.minimum !== undefined) {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
        errs.push(fieldError('FieldValueInvalid', path, value,
          `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`));
      }
    }
    if (schema.maximum !== undefined) {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
        errs.push(fieldError('FieldValueInvalid', path, value,
          `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`));
      }
    }
    if (schema.multipleOf && (value / schema.multipleOf) % 1 !== 0) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body should be a multiple of ${schema.multipleOf}`));
    }
    if (schema.format === 'int32' && (value > 2147483647 || value < -2147483648)) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body must be of type int32: "${value}"`));
    }
  }
  if (t === 'string') {
    const len = [...value].length;
    if (schema.maxLength !== undefined && len > schema.maxLength) {
      errs.push(fieldError('FieldValueTooLong', path, value, `may not be more than ${schema.maxLength} bytes`));
    }
    if (schema.minLength !== undefined && len < schema.minLength) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body should be at least ${schema.minLength} chars long`));
    }
    if (schema.pattern) {
      const re = compileRegex(schema.pattern);
      if (re && !re.test(value)) {
        errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body should match '${schema.pattern}'`));
      }
    }
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}`));
    }
  }
  if (t === 'array') {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errs.push(fieldError('FieldValueTooMany', path, value.length, `${value.length}: must have at most ${schema.maxItems} items`));
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errs.push(fieldError('FieldValueInvalid', path, value.length, `${path} in body should have at least ${schema.minItems} items`));
    }
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set') {
      const seen = new Set();
      value.forEach((v, i) => {
        const k = JSON.stringify(v);
        if (seen.has(k)) errs.push(fieldError('FieldValueDuplicate', `${path}[${i}]`, v, ''));
        seen.add(k);
      });
    } else if (listType === 'map' && schema['x-kubernetes-list-map-keys']) {
      const keys = schema['x-kubernetes-list-map-keys'];
      const seen = new Set();
      value.forEach((v, i) => {
        if (v && typeof v === 'object') {
          const k = JSON.stringify(keys.map((kk) => v[kk]));
          if (seen.has(k)) {
            const kv = {}; keys.forEach((kk) => { kv[kk] = v[kk]; });
            errs.push(fieldError('FieldValueDuplicate', `${path}[${i}]`, kv, ''));
          }
          seen.add(k);
        }
      });
    }
    if (schema.items) value.forEach((v, i) => validateValue(v, schema.items, `${path}[${i}]`, errs));
  }
  if (t === 'object') {
    if (schema.required) {
      for (const r of schema.required) {
        if (value[r] === undefined) errs.push(fieldError('FieldValueRequired', pathJoin(path, r), undefined, ''));
      }
    }
    const n = Object.keys(value).length;
    if (schema.maxProperties !== undefined && n > schema.maxProperties) {
      errs.push(fieldError('FieldValueTooMany', path, n, `${n}: must have at most ${schema.maxProperties} items`));
    }
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      errs.push(fieldError('FieldValueInvalid', path, n, `${path} in body should have at least ${schema.minProperties} properties`));
    }
    for (const [k, v] of Object.entries(value)) {
      let sub;
      if (schema.properties && schema.properties[k]) sub = schema.properties[k];
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') sub = schema.additionalProperties;
      if (sub) validateValue(v, sub, pathJoin(path, k), errs);
    }
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (!schema[key]) continue;
    const results = schema[key].map((s) => { const e = []; validateValue(value, s, path, e); return e; });
    if (key === 'allOf') results.forEach((r) => errs.push(...r));
    if (key === 'anyOf' && !results.some((r) => r.length === 0)) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body must validate at least one schema (anyOf)`));
    }
    if (key === 'oneOf' && results.filter((r) => r.length === 0).length !== 1) {
      errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body must validate one and only one schema (oneOf)`));
    }
  }
  if (schema.not) {
    const e = []; validateValue(value, schema.not, path, e);
    if (e.length === 0) errs.push(fieldError('FieldValueInvalid', path, value, `${path} in body should not be valid against the schema`));
  }
}

// ---- CEL -----------------------------------------------------------------------------------------
// Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library): lists (isSorted, sum, min, max,
// indexOf, lastIndexOf), regex (find, findAll), quantity (approximated as a double, see README).
const L = listType(CelScalar.DYN);
function cmp(a, b) {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = typeof a === 'bigint' ? Number(a) : a; const y = typeof b === 'bigint' ? Number(b) : b;
  return x < y ? -1 : x > y ? 1 : 0;
}
function toArr(list) { return Array.from(list); }
const SUFFIX = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
function parseQuantity(s) {
  const m = /^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(s);
  if (!m || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(m[1])) return null;
  const suf = m[2] || '';
  if (/^[eE]/.test(suf)) return Number(m[1]) * 10 ** Number(suf.slice(1));
  return Number(m[1]) * SUFFIX[suf];
}
const k8sFuncs = [
  celMethod('isSorted', L, [], CelScalar.BOOL, function () {
    const a = toArr(this); for (let i = 1; i < a.length; i++) if (cmp(a[i - 1], a[i]) > 0) return false; return true;
  }),
  celMethod('sum', L, [], CelScalar.DYN, function () {
    const a = toArr(this); if (a.length === 0) return 0n;
    return a.reduce((x, y) => (typeof x === 'bigint' && typeof y === 'bigint' ? x + y : Number(x) + Number(y)));
  }),
  celMethod('min', L, [], CelScalar.DYN, function () { const a = toArr(this); return a.reduce((x, y) => (cmp(x, y) <= 0 ? x : y)); }),
  celMethod('max', L, [], CelScalar.DYN, function () { const a = toArr(this); return a.reduce((x, y) => (cmp(x, y) >= 0 ? x : y)); }),
  celMethod('indexOf', L, [CelScalar.DYN], CelScalar.INT, function (v) {
    return BigInt(toArr(this).findIndex((x) => cmp(x, v) === 0 && typeof x === typeof v));
  }),
  celMethod('lastIndexOf', L, [CelScalar.DYN], CelScalar.INT, function (v) {
    const a = toArr(this); for (let i = a.length - 1; i >= 0; i--) if (a[i] === v) return BigInt(i); return -1n;
  }),
  celMethod('find', CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (re) {
    const m = new RegExp(re).exec(this); return m ? m[0] : '';
  }),
  celMethod('findAll', CelScalar.STRING, [CelScalar.STRING], listType(CelScalar.STRING), function (re) {
    return [...this.matchAll(new RegExp(re, 'g'))].map((m) => m[0]);
  }),
  celFunc('isQuantity', [CelScalar.STRING], CelScalar.BOOL, (s) => parseQuantity(s) !== null),
  celFunc('quantity', [CelScalar.STRING], CelScalar.DOUBLE, (s) => {
    const q = parseQuantity(s); if (q === null) throw new Error(`invalid quantity: ${s}`); return q;
  }),
  celMethod('isGreaterThan', CelScalar.DOUBLE, [CelScalar.DOUBLE], CelScalar.BOOL, function (o) { return this > o; }),
  celMethod('isLessThan', CelScalar.DOUBLE, [CelScalar.DOUBLE], CelScalar.BOOL, function (o) { return this < o; }),
  celMethod('compareTo', CelScalar.DOUBLE, [CelScalar.DOUBLE], CelScalar.INT, function (o) { return BigInt(cmp(this, o)); }),
  celMethod('asInteger', CelScalar.DOUBLE, [], CelScalar.INT, function () { return BigInt(Math.trunc(this)); }),
  celMethod('asApproximateFloat', CelScalar.DOUBLE, [], CelScalar.DOUBLE, function () { return this; }),
];

const env = celEnv({ funcs: [...strings, ...k8sFuncs] });
const planCache = new Map();
function compile(expr) {
  let p = planCache.get(expr);
  if (!p) {
    try { p = { fn: plan(env, parse(expr)) }; } catch (e) { p = { error: e.message }; }
    planCache.set(expr, p);
  }
  return p;
}

// JSON → CEL input guided by the schema: integers become int (bigint), objects maps.
function toCel(value, schema) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema && schema.items));
  if (typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      let sub;
      if (schema && schema.properties && schema.properties[k]) sub = schema.properties[k];
      else if (schema && typeof schema.additionalProperties === 'object') sub = schema.additionalProperties;
      out[k] = toCel(v, sub);
    }
    return out;
  }
  if (typeof value === 'number') {
    const t = schema && schema.type;
    if (t === 'number') return value;
    if (Number.isInteger(value) && (t === 'integer' || (schema && schema['x-kubernetes-int-or-string']) || !t)) return BigInt(value);
    return value;
  }
  return value;
}

function referencesOldSelf(rule) { return /\boldSelf\b/.test(rule); }

function celFieldPath(base, fp) {
  if (!fp) return base;
  return base + fp.replace(/^\./, base ? '.' : '');
}

function evalRule(r, selfVal, oldVal, hasOld, schema, path, errs) {
  const transition = referencesOldSelf(r.rule);
  if (transition && !hasOld && !r.optionalOldSelf) return;
  const p = compile(r.rule);
  const schemaType = schema['x-kubernetes-int-or-string'] ? 'integer' : (schema.type || 'object');
  if (p.error) {
    errs.push(fieldError('FieldValueInvalid', path, schemaType, `compilation failed: ${p.error}`));
    return;
  }
  const vars = { self: toCel(selfVal, schema) };
  if (transition) vars.oldSelf = hasOld ? toCel(oldVal, schema) : null;
  let res;
  try { res = p.fn(vars); } catch (e) { res = e; }
  if (res === true) return;
  let msg;
  if (res !== false && (isCelError(res) || res instanceof Error)) {
    // kube-apiserver reports evaluation errors as an Invalid value with the error text.
    msg = `${isCelError(res) ? res.message : res.message} evaluating rule: ${r.rule}`;
  } else if (r.messageExpression) {
    const mp = compile(r.messageExpression);
    let m; try { m = mp.fn ? mp.fn(vars) : null; } catch { m = null; }
    msg = typeof m === 'string' && m.trim() ? m : (r.message || `failed rule: ${r.rule}`);
  } else {
    msg = r.message || `failed rule: ${r.rule}`;
  }
  const fp = celFieldPath(path, r.fieldPath);
  switch (r.reason) {
    case 'FieldValueRequired': errs.push(fieldError('FieldValueRequired', fp, undefined, msg)); break;
    case 'FieldValueForbidden': errs.push(fieldError('FieldValueForbidden', fp, undefined, msg)); break;
    case 'FieldValueDuplicate': errs.push(fieldError('FieldValueDuplicate', fp, schemaType, msg)); break;
    default: errs.push(fieldError('FieldValueInvalid', fp, schemaType, msg));
  }
}

// Walk value and old value together (correlating by property name and by list-map keys, as
// kube-apiserver does for transition rules) and evaluate every rule whose node is present.
function validateCel(value, old, hasOld, schema, path, errs) {
  if (!schema || value === undefined || value === null) return;
  const rules = schema['x-kubernetes-validations'];
  if (rules) for (const r of rules) evalRule(r, value, old, hasOld && old !== undefined && old !== null, schema, path, errs);
  if (Array.isArray(value)) {
    if (!schema.items) return;
    const listTypeV = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'];
    let oldByKey = null;
    if (hasOld && Array.isArray(old) && listTypeV === 'map' && keys) {
      oldByKey = new Map(old.map((o) => [JSON.stringify(keys.map((k) => o && o[k])), o]));
    }
    value.forEach((v, i) => {
      let ov; let has = false;
      if (oldByKey) { ov = oldByKey.get(JSON.stringify(keys.map((k) => v && v[k]))); has = ov !== undefined; }
      else if (hasOld && Array.isArray(old) && listTypeV === 'set') { has = old.some((o) => JSON.stringify(o) === JSON.stringify(v)); ov = v; }
      validateCel(v, ov, has, schema.items, `${path}[${i}]`, errs);
    });
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      let sub;
      if (schema.properties && schema.properties[k]) sub = schema.properties[k];
      else if (typeof schema.additionalProperties === 'object') sub = schema.additionalProperties;
      if (!sub) continue;
      const has = hasOld && old && typeof old === 'object' && !Array.isArray(old) && old[k] !== undefined;
      validateCel(v, has ? old[k] : undefined, has, sub, pathJoin(path, k), errs);
    }
  }
}

// Full admission of a custom resource body (mutates obj: prune + default). Returns
// { errors: field errors, pruned: paths of unknown fields }.
function admit(obj, oldObj, schema) {
  const pruned = [];
  if (!schema) return { errors: [], pruned };
  prune(obj, schema, '', pruned, true);
  applyDefaults(obj, schema);
  const errs = [];
  const { metadata, apiVersion, kind, ...rest } = obj;
  const body = {};
  for (const [k, v] of Object.entries(rest)) body[k] = v;
  const top = { ...schema, properties: { ...(schema.properties || {}) } };
  delete top.properties.metadata; delete top.properties.apiVersion; delete top.properties.kind;
  if (top.required) top.required = top.required.filter((r) => !['metadata', 'apiVersion', 'kind'].includes(r));
  validateValue(body, top, '', errs);
  if (errs.length === 0) {
    const celSelf = { ...body };
    if (metadata) celSelf.metadata = { name: metadata.name, generateName: metadata.generateName };
    if (apiVersion) celSelf.apiVersion = apiVersion;
    if (kind) celSelf.kind = kind;
    let oldBody;
    if (oldObj) { oldBody = { ...oldObj }; oldBody.metadata = { name: oldObj.metadata.name, generateName: oldObj.metadata.generateName }; }
    validateCel(celSelf, oldBody, !!oldObj, schema, '', errs);
  }
  return { errors: errs, pruned };
}

module.exports = { admit, prune, applyDefaults, validateValue, validateCel, parseQuantity, compile };
