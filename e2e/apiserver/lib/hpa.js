'use strict';
// autoscaling/v2 HorizontalPodAutoscaler defaults and validation, after
// k8s.io/kubernetes pkg/apis/autoscaling/validation/validation.go and v2 defaults.go.

const { fieldError } = require('./errors');

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const TARGET_TYPES = ['AverageValue', 'Utilization', 'Value'];
const SOURCE_FIELD = { Object: 'object', Pods: 'pods', Resource: 'resource', ContainerResource: 'containerResource', External: 'external' };
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

function validateTarget(t, p, errs, needsUtilizationOk) {
  if (!t) { errs.push(fieldError('FieldValueRequired', p, undefined, 'must specify a metric target')); return; }
  if (!TARGET_TYPES.includes(t.type)) {
    errs.push(fieldError('FieldValueNotSupported', `${p}.type`, t.type, `supported values: ${TARGET_TYPES.map((x) => JSON.stringify(x)).join(', ')}`));
    return;
  }
  if (t.type === 'Utilization' && !needsUtilizationOk) errs.push(fieldError('FieldValueInvalid', `${p}.type`, t.type, 'must be either Value or AverageValue'));
  if (t.type === 'Utilization' && !(Number.isInteger(t.averageUtilization) && t.averageUtilization > 0)) {
    errs.push(fieldError(t.averageUtilization === undefined ? 'FieldValueRequired' : 'FieldValueInvalid', `${p}.averageUtilization`, t.averageUtilization, t.averageUtilization === undefined ? 'must set averageUtilization when type is Utilization' : 'must be greater than 0'));
  }
  for (const q of ['value', 'averageValue']) {
    if (t[q] !== undefined && !QUANTITY.test(String(t[q]))) errs.push(fieldError('FieldValueInvalid', `${p}.${q}`, t[q], 'quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\''));
  }
  if (t.type === 'Value' && t.value === undefined) errs.push(fieldError('FieldValueRequired', `${p}.value`, undefined, 'must set value when type is Value'));
  if (t.type === 'AverageValue' && t.averageValue === undefined) errs.push(fieldError('FieldValueRequired', `${p}.averageValue`, undefined, 'must set averageValue when type is AverageValue'));
}

function validateRules(r, p, errs) {
  if (!r) return;
  if (r.stabilizationWindowSeconds !== undefined && !(r.stabilizationWindowSeconds >= 0 && r.stabilizationWindowSeconds <= 3600)) {
    errs.push(fieldError('FieldValueInvalid', `${p}.stabilizationWindowSeconds`, r.stabilizationWindowSeconds, r.stabilizationWindowSeconds < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600'));
  }
  if (r.selectPolicy !== undefined && !['Disabled', 'Max', 'Min'].includes(r.selectPolicy)) {
    errs.push(fieldError('FieldValueNotSupported', `${p}.selectPolicy`, r.selectPolicy, 'supported values: "Disabled", "Max", "Min"'));
  }
  (r.policies || []).forEach((pol, i) => {
    const pp = `${p}.policies[${i}]`;
    if (!['Percent', 'Pods'].includes(pol.type)) errs.push(fieldError('FieldValueNotSupported', `${pp}.type`, pol.type, 'supported values: "Percent", "Pods"'));
    if (!(pol.value > 0)) errs.push(fieldError('FieldValueInvalid', `${pp}.value`, pol.value, 'must be greater than zero'));
    if (!(pol.periodSeconds > 0)) errs.push(fieldError('FieldValueInvalid', `${pp}.periodSeconds`, pol.periodSeconds, 'must be greater than zero'));
    else if (pol.periodSeconds > 1800) errs.push(fieldError('FieldValueInvalid', `${pp}.periodSeconds`, pol.periodSeconds, 'must be less than or equal to 1800'));
  });
}

// Defaults of autoscaling/v2 (SetDefaults_HorizontalPodAutoscaler and behavior defaults).
function defaultHpa(spec) {
  if (spec.minReplicas === undefined) spec.minReplicas = 1;
  if (!spec.metrics || spec.metrics.length === 0) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  }
  if (spec.behavior) {
    const b = spec.behavior;
    b.scaleUp = { stabilizationWindowSeconds: 0, selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }], ...(b.scaleUp || {}) };
    b.scaleDown = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }], ...(b.scaleDown || {}) };
  }
}

function validateHpa(obj, errs) {
  const s = obj.spec;
  if (!s || typeof s !== 'object') { errs.push(fieldError('FieldValueRequired', 'spec', undefined, '')); return; }
  defaultHpa(s);
  const ref = s.scaleTargetRef;
  if (!ref) errs.push(fieldError('FieldValueRequired', 'spec.scaleTargetRef', undefined, ''));
  else {
    if (!ref.kind) errs.push(fieldError('FieldValueRequired', 'spec.scaleTargetRef.kind', undefined, ''));
    if (!ref.name) errs.push(fieldError('FieldValueRequired', 'spec.scaleTargetRef.name', undefined, ''));
  }
  if (!(Number.isInteger(s.minReplicas) && s.minReplicas >= 1)) errs.push(fieldError('FieldValueInvalid', 'spec.minReplicas', s.minReplicas, 'must be greater than or equal to 1'));
  if (!(Number.isInteger(s.maxReplicas) && s.maxReplicas >= 1)) errs.push(fieldError('FieldValueInvalid', 'spec.maxReplicas', s.maxReplicas, 'must be greater than or equal to 1'));
  else if (Number.isInteger(s.minReplicas) && s.minReplicas > s.maxReplicas) errs.push(fieldError('FieldValueInvalid', 'spec.maxReplicas', s.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  (s.metrics || []).forEach((m, i) => {
    const p = `spec.metrics[${i}]`;
    if (!METRIC_TYPES.includes(m.type)) {
      errs.push(fieldError(m.type ? 'FieldValueNotSupported' : 'FieldValueRequired', `${p}.type`, m.type, m.type ? `supported values: ${METRIC_TYPES.map((x) => JSON.stringify(x)).join(', ')}` : ''));
      return;
    }
    const populated = Object.values(SOURCE_FIELD).filter((f) => m[f] !== undefined && m[f] !== null);
    if (populated.length > 1) errs.push(fieldError('FieldValueForbidden', p, undefined, 'must populate information for the given metric source (only)'));
    const src = m[SOURCE_FIELD[m.type]];
    if (!src) { errs.push(fieldError('FieldValueRequired', `${p}.${SOURCE_FIELD[m.type]}`, undefined, 'must populate information for the given metric source')); return; }
    const sp = `${p}.${SOURCE_FIELD[m.type]}`;
    if (m.type === 'Resource' || m.type === 'ContainerResource') {
      if (!src.name) errs.push(fieldError('FieldValueRequired', `${sp}.name`, undefined, 'must specify a resource name'));
      if (m.type === 'ContainerResource' && !src.container) errs.push(fieldError('FieldValueRequired', `${sp}.container`, undefined, 'must specify a container'));
      validateTarget(src.target, `${sp}.target`, errs, true);
    } else {
      if (!src.metric || !src.metric.name) errs.push(fieldError('FieldValueRequired', `${sp}.metric.name`, undefined, 'must specify a metric name'));
      if (m.type === 'Object' && (!src.describedObject || !src.describedObject.kind || !src.describedObject.name)) {
        errs.push(fieldError('FieldValueRequired', `${sp}.describedObject`, undefined, 'must specify kind and name'));
      }
      validateTarget(src.target, `${sp}.target`, errs, false);
    }
  });
  if (s.behavior) {
    validateRules(s.behavior.scaleUp, 'spec.behavior.scaleUp', errs);
    validateRules(s.behavior.scaleDown, 'spec.behavior.scaleDown', errs);
  }
}

module.exports = { validateHpa };
