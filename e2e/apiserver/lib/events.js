'use strict';
// events.k8s.io/v1 and v1 Events are one resource in kube-apiserver, stored as v1 and converted
// (k8s.io/kubernetes pkg/apis/events/v1 conversion: regarding<->involvedObject, note<->message,
// reportingController<->reportingComponent, deprecated* <-> the legacy fields).
const { fieldError } = require('./errors');

const PAIRS = [
  ['regarding', 'involvedObject'], ['note', 'message'], ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'], ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'], ['deprecatedCount', 'count'],
];

function rename(obj, from, to) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    const i = from.indexOf(k);
    out[i >= 0 ? to[i] : k] = v;
  }
  return out;
}
const NEW = PAIRS.map((p) => p[0]); const OLD = PAIRS.map((p) => p[1]);

function toCore(ev) { return { ...rename(ev, NEW, OLD), apiVersion: 'v1', kind: 'Event' }; }
function fromCore(ev) { return { ...rename(ev, OLD, NEW), apiVersion: 'events.k8s.io/v1', kind: 'Event' }; }
function fieldToCore(f) {
  for (const [n, o] of PAIRS) if (f === n || f.startsWith(`${n}.`)) return o + f.slice(n.length);
  return f;
}

// Validation of a create through events.k8s.io/v1 (ValidateEventCreate for the v1 API), on the
// events.k8s.io form of the object.
function validateEventsV1(ev, errs) {
  if (!ev.eventTime) errs.push(fieldError('FieldValueRequired', 'eventTime', undefined, ''));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') errs.push(fieldError('FieldValueInvalid', 'type', '', `has invalid value: ${ev.type || ''}`));
  for (const f of ['reportingController', 'reportingInstance', 'action', 'reason']) {
    if (!ev[f]) errs.push(fieldError('FieldValueRequired', f, undefined, ''));
    else if (ev[f].length > 128) errs.push(fieldError('FieldValueInvalid', f, '', 'can have at most 128 characters'));
  }
  if (ev.note && ev.note.length > 1024) errs.push(fieldError('FieldValueInvalid', 'note', '', 'can have at most 1024 characters'));
  for (const f of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedSource']) if (ev[f]) errs.push(fieldError('FieldValueInvalid', f, '', 'needs to be unset'));
  if (ev.deprecatedCount) errs.push(fieldError('FieldValueInvalid', 'deprecatedCount', '', 'needs to be unset'));
}

// v1 Event: the involved object's namespace must match the event's (legacyValidateEvent).
function validateCoreEvent(ev, errs) {
  const io = ev.involvedObject || {};
  if (io.namespace && ev.metadata.namespace && io.namespace !== ev.metadata.namespace) {
    errs.push(fieldError('FieldValueInvalid', 'involvedObject.namespace', io.namespace, 'does not match event.namespace'));
  }
}

module.exports = { toCore, fromCore, fieldToCore, validateEventsV1, validateCoreEvent };
