'use strict';
// Walks and applies the structural OpenAPI v3 schemas of our CRDs. This is not the admission
// path (kube-apiserver is, in e2e.chart.samples-kubectl); it lets the tests check the schemas'
// shape and that samples break no schema rule other than the one they are meant to break.

// Calls visit(node, path, ctx) for every schema node; ctx.propertyName is set for properties.
function walk(node, path, visit, ctx = {}) {
  visit(node, path, ctx);
  if (node.properties) {
    for (const [name, child] of Object.entries(node.properties)) {
      walk(child, `${path}.${name}`, visit, { propertyName: name, parent: node });
    }
  }
  if (node.items) walk(node.items, `${path}[]`, visit, { parent: node, isItems: true });
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    walk(node.additionalProperties, `${path}{}`, visit, { parent: node });
  }
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

// A Go duration, as kube-apiserver's `format: duration` takes it ("1m30s", "500ms").
const GO_DURATION = /^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+$|^0$/;

// Validates a value against a schema node; returns [{path, message}] in kube's path format
// (spec.tiers[1].burst). CEL rules are not evaluated here. allOf and anyOf (upstream CRDs use
// them for enums and int-or-string patterns) are applied; of the formats, int32, int64 and
// duration are checked.
function validate(schema, value, path, errors = []) {
  const t = typeOf(value);
  const want = schema.type;
  for (const sub of schema.allOf || []) validate(sub, value, path, errors);
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(sub, value, path).length === 0)) {
    errors.push({ path, message: 'matches none of anyOf' });
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') errors.push({ path, message: `must be integer or string, got ${t}` });
    return errors;
  }
  if (want) {
    const okType = want === t || (want === 'number' && t === 'integer');
    if (!okType) {
      errors.push({ path, message: `must be of type ${want}, got ${t}` });
      return errors;
    }
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push({ path, message: `unsupported value ${JSON.stringify(value)}` });
  }
  if (t === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push({ path, message: `should match '${schema.pattern}'` });
    }
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errors.push({ path, message: 'too long' });
    if (schema.minLength !== undefined && [...value].length < schema.minLength) errors.push({ path, message: 'too short' });
    if (schema.format === 'duration' && !GO_DURATION.test(value)) errors.push({ path, message: `not a duration: ${value}` });
  }
  if (t === 'integer' && schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) {
    errors.push({ path, message: 'out of int32 range' });
  }
  if (t === 'integer' || t === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ path, message: `below minimum ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum) errors.push({ path, message: `above maximum ${schema.maximum}` });
  }
  if (t === 'array') {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push({ path, message: 'too many items' });
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push({ path, message: 'too few items' });
    if (schema['x-kubernetes-list-type'] === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] || [];
      const seen = new Set();
      value.forEach((item, i) => {
        const k = JSON.stringify(keys.map((key) => item && item[key]));
        if (seen.has(k)) errors.push({ path: `${path}[${i}]`, message: 'duplicate value' });
        seen.add(k);
      });
    }
    if (schema['x-kubernetes-list-type'] === 'set') {
      const seen = new Set();
      value.forEach((item, i) => {
        const k = JSON.stringify(item);
        if (seen.has(k)) errors.push({ path: `${path}[${i}]`, message: 'duplicate value' });
        seen.add(k);
      });
    }
    if (schema.items) value.forEach((item, i) => validate(schema.items, item, `${path}[${i}]`, errors));
  }
  if (t === 'object') {
    for (const r of schema.required || []) {
      if (!(r in value)) errors.push({ path: `${path}.${r}`, message: 'required value' });
    }
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties && schema.properties[k]) {
        validate(schema.properties[k], v, `${path}.${k}`, errors);
      } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        validate(schema.additionalProperties, v, `${path}.${k}`, errors);
      } else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.properties) {
        errors.push({ path: `${path}.${k}`, message: 'unknown field' });
      }
    }
  }
  return errors;
}

// True when `path` is `field` or lies below it (spec.tiers[1].burst is under spec.tiers[1]).
function isUnder(path, field) {
  return path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);
}

module.exports = { walk, validate, typeOf, isUnder };
