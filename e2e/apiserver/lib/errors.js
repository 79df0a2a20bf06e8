'use strict';
// Kubernetes-shaped errors. Every error the server returns is a metav1.Status built here, so the
// shape (kind, apiVersion, status, message, reason, details, code) is the same everywhere.

class ApiError extends Error {
  constructor(code, reason, message, details, headers) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers || {};
  }

  toStatus() {
    const s = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message };
    if (this.reason) s.reason = this.reason;
    if (this.details) s.details = this.details;
    s.code = this.code;
    return s;
  }
}

// "configmaps" for core, "deployments.apps" for groups: how kube-apiserver names a resource in
// NotFound / AlreadyExists / Conflict messages (qualified resource).
function qualifiedResource(group, plural) {
  return group ? `${plural}.${group}` : plural;
}

function notFound(group, plural, name) {
  return new ApiError(404, 'NotFound', `${qualifiedResource(group, plural)} "${name}" not found`,
    { name, group: group || undefined, kind: plural });
}

function alreadyExists(group, plural, name) {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, plural)} "${name}" already exists`,
    { name, group: group || undefined, kind: plural });
}

function conflict(group, plural, name, why) {
  return new ApiError(409, 'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${why}`,
    { name, group: group || undefined, kind: plural });
}

function badRequest(message) {
  return new ApiError(400, 'BadRequest', message);
}

function methodNotAllowed() {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function gone(message) {
  return new ApiError(410, 'Expired', message);
}

function forbidden(group, plural, name, why) {
  return new ApiError(403, 'Forbidden',
    `${qualifiedResource(group, plural)} "${name}" is forbidden: ${why}`,
    { name, group: group || undefined, kind: plural });
}

function unsupportedMediaType(ct) {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`
    + (ct ? '' : ''));
}

// field.Error equivalents. `type` is the cause reason (FieldValueInvalid...), `detail` the text.
function fieldError(type, field, value, detail) {
  return { type, field, value, detail };
}

function fmtValue(v) {
  if (v && typeof v === 'object' && typeof v.goSyntax === 'string') return v.goSyntax;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// The body of a field.Error (everything after "<field>: "), matching k8s.io/apimachinery
// pkg/util/validation/field/errors.go ErrorBody().
function fieldErrorBody(e) {
  switch (e.type) {
    case 'FieldValueRequired': return 'Required value' + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueForbidden': return 'Forbidden' + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueTooLong': return 'Too long' + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueTooMany': return 'Too many' + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueDuplicate': return `Duplicate value: ${fmtValue(e.value)}` + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueNotSupported': return `Unsupported value: ${fmtValue(e.value)}` + (e.detail ? `: ${e.detail}` : '');
    case 'FieldValueNotFound': return `Not found: ${fmtValue(e.value)}`;
    case 'FieldValueTypeInvalid': return `Invalid value: ${fmtValue(e.value)}` + (e.detail ? `: ${e.detail}` : '');
    default: return `Invalid value: ${fmtValue(e.value)}` + (e.detail ? `: ${e.detail}` : '');
  }
}

// errors.NewInvalid: 422 with one cause per field error and the aggregate message.
function invalid(kindQualified, kind, group, name, errs) {
  const strs = errs.map((e) => `${e.field || '<nil>'}: ${fieldErrorBody(e)}`);
  const agg = strs.length === 1 ? strs[0] : `[${strs.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kindQualified} "${name}" is invalid: ${agg}`, {
    name, group: group || undefined, kind,
    causes: errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  });
}

module.exports = {
  ApiError, notFound, alreadyExists, conflict, badRequest, methodNotAllowed, gone, forbidden,
  unsupportedMediaType, fieldError, fieldErrorBody, invalid, qualifiedResource,
};
