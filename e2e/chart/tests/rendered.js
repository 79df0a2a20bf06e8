'use strict';
// Assertions shared by the template tests: what every rendering of the chart must satisfy.

const fs = require('node:fs');
const path = require('node:path');
const { repoRoot } = require('./lib');

// Exactly what the operator uses (e2e.control-plane.rbac proves each one against the audit log).
const EXPECTED_RULES = [
  { apiGroups: ['sluice.dev'], resources: ['canaryrollouts'], verbs: ['list', 'watch', 'patch'] },
  { apiGroups: ['sluice.dev'], resources: ['canaryrollouts/status'], verbs: ['update'] },
  { apiGroups: ['sluice.dev'], resources: ['trafficpolicies'], verbs: ['list', 'watch'] },
  { apiGroups: ['sluice.dev'], resources: ['trafficpolicies/status'], verbs: ['update'] },
  { apiGroups: ['sluice.dev'], resources: ['tierlimits'], verbs: ['list', 'watch'] },
  { apiGroups: ['sluice.dev'], resources: ['tierlimits/status'], verbs: ['update'] },
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['gateway.envoyproxy.io'], resources: ['backendtrafficpolicies'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['services', 'pods'], verbs: ['list', 'watch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];
const LEASE_RULES = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];

// Expands rules into sorted "group/resource:verb" grants so equal permissions compare equal
// however they are grouped.
function grants(rules) {
  const out = new Set();
  for (const r of rules || []) {
    for (const g of r.apiGroups || []) for (const res of r.resources || []) for (const v of r.verbs || []) {
      out.add(`${g}/${res}:${v}`);
    }
    if (r.resourceNames || r.nonResourceURLs) out.add(`unexpected:${JSON.stringify(r)}`);
  }
  return [...out].sort();
}

// The flags sluice-operator's CLI11 parser declares.
function operatorFlags() {
  const src = fs.readFileSync(path.join(repoRoot, 'operator', 'cmd', 'options.cpp'), 'utf8');
  return new Set([...src.matchAll(/add_(?:option|flag)\(\s*"(--[a-z0-9-]+)"/g)].map((m) => m[1]));
}

function find(docs, kind, nameSuffix = '') {
  return docs.filter((d) => d.kind === kind && d.metadata.name.endsWith(nameSuffix));
}

// Checks common to every rendering. `o`: {release, fullname, namespace, replicas, watchNamespace,
// leaderElection, leaderElectionId, logLevel, resources, extraArgs, prometheusCA}.
function checkCommon(c, docs, o) {
  const fullname = o.fullname;
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
  for (const d of docs) {
    const id = `${d.kind}/${d.metadata.name}`;
    const l = d.metadata.labels || {};
    c.equal(l['app.kubernetes.io/name'], 'sluice', `${id} label app.kubernetes.io/name`);
    c.equal(l['app.kubernetes.io/instance'], o.release, `${id} label app.kubernetes.io/instance`);
    c.equal(l['app.kubernetes.io/managed-by'], 'Helm', `${id} label app.kubernetes.io/managed-by`);
    c.equal(l['app.kubernetes.io/part-of'], 'sluice', `${id} label app.kubernetes.io/part-of`);
    c.ok(/^sluice-\d+\.\d+\.\d+/.test(l['helm.sh/chart'] || ''), `${id} label helm.sh/chart`);
    if (!clusterScoped.has(d.kind)) {
      const wantNs = (d.kind === 'Role' || d.kind === 'RoleBinding') && !d.metadata.name.endsWith('-leader-election')
        ? o.watchNamespace : o.namespace;
      c.equal(d.metadata.namespace, wantNs, `${id} namespace`);
    }
  }

  const deps = find(docs, 'Deployment');
  if (!c.equal(deps.length, 1, 'one Deployment')) return;
  const dep = deps[0];
  c.equal(dep.metadata.name, fullname, 'Deployment name');
  c.equal(dep.spec.replicas, o.replicas, 'Deployment replicas');
  const sel = dep.spec.selector.matchLabels;
  const podLabels = dep.spec.template.metadata.labels;
  c.equal(sel, { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/instance': o.release, 'app.kubernetes.io/component': 'operator' }, 'Deployment selector');
  for (const [k, v] of Object.entries(sel)) c.equal(podLabels[k], v, `pod label ${k} matches the selector`);

  const pod = dep.spec.template.spec;
  const sa = find(docs, 'ServiceAccount');
  c.equal(sa.map((s) => s.metadata.name), [fullname], 'ServiceAccount');
  c.equal(pod.serviceAccountName, fullname, 'pod serviceAccountName');
  c.equal(pod.securityContext.runAsNonRoot, true, 'pod runAsNonRoot');
  c.ok(pod.securityContext.runAsUser > 0, 'pod runAsUser is not root');
  c.equal(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' }, 'pod seccompProfile');
  c.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, 'no host namespaces');
  if (!c.equal(pod.containers.length, 1, 'one container')) return;
  const ctr = pod.containers[0];
  const sc = ctr.securityContext || {};
  c.equal(sc.allowPrivilegeEscalation, false, 'container allowPrivilegeEscalation');
  c.equal(sc.readOnlyRootFilesystem, true, 'container readOnlyRootFilesystem');
  c.equal(sc.runAsNonRoot, true, 'container runAsNonRoot');
  c.equal(sc.capabilities, { drop: ['ALL'] }, 'container capabilities');
  c.ok(!sc.privileged, 'container not privileged');
  c.equal(sc.seccompProfile, { type: 'RuntimeDefault' }, 'container seccompProfile');
  c.equal(ctr.image, 'sluice/sluice-operator:0.1.0', 'image defaults to the appVersion');

  const wantArgs = ['--metrics-bind-address=:8080', '--health-probe-bind-address=:8081'];
  if (o.leaderElection) {
    wantArgs.push('--leader-elect', `--leader-election-namespace=${o.namespace}`, `--leader-election-id=${o.leaderElectionId}`);
  }
  wantArgs.push(`--log-level=${o.logLevel}`);
  if (o.watchNamespace) wantArgs.push(`--namespace=${o.watchNamespace}`);
  if (o.prometheusCA) wantArgs.push(`--prometheus-ca-file=/etc/sluice/prometheus-ca/${o.prometheusCA.key}`);
  wantArgs.push(...(o.extraArgs || []));
  c.equal(ctr.args, wantArgs, 'operator args');
  c.ok(!ctr.command, 'the image ENTRYPOINT runs the operator (no command override)');
  c.equal(ctr.ports.map((p) => [p.name, p.containerPort, p.protocol]), [['metrics', 8080, 'TCP'], ['health', 8081, 'TCP']], 'container ports');
  c.equal(ctr.livenessProbe && ctr.livenessProbe.httpGet, { path: '/healthz', port: 'health' }, 'liveness probe');
  c.equal(ctr.readinessProbe && ctr.readinessProbe.httpGet, { path: '/readyz', port: 'health' }, 'readiness probe');
  c.equal(ctr.resources, o.resources, 'container resources');
  const caMounts = o.prometheusCA ? [{ name: 'prometheus-ca', mountPath: '/etc/sluice/prometheus-ca', readOnly: true }] : [];
  c.equal(ctr.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }, ...caMounts], 'only /tmp is writable (and the Prometheus CA read-only)');
  const caVolumes = [];
  if (o.prometheusCA) {
    const items = [{ key: o.prometheusCA.key, path: o.prometheusCA.key }];
    caVolumes.push(o.prometheusCA.configMap
      ? { name: 'prometheus-ca', configMap: { name: o.prometheusCA.configMap, items } }
      : { name: 'prometheus-ca', secret: { secretName: o.prometheusCA.secret, items } });
  }
  c.equal(pod.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, ...caVolumes], '/tmp is a bounded emptyDir (and the Prometheus CA)');
  if (o.affinity) {
    c.equal(pod.affinity, o.affinity, 'affinity from values');
  } else {
    const term = (((pod.affinity || {}).podAntiAffinity || {}).preferredDuringSchedulingIgnoredDuringExecution || [])[0];
    c.ok(term && term.podAffinityTerm.topologyKey === 'kubernetes.io/hostname', 'default anti-affinity spreads replicas over nodes');
    c.equal(term && term.podAffinityTerm.labelSelector.matchLabels, sel, 'anti-affinity selects the operator pods');
  }

  // Every flag the chart passes is one sluice-operator defines (operator/cmd/options.cpp).
  const known = new Set([...operatorFlags()]);
  if (c.ok(known.size >= 5, 'operator flags found in operator/cmd/options.cpp')) {
    for (const a of ctr.args.slice(0, ctr.args.length - (o.extraArgs || []).length)) {
      const flag = a.split('=')[0];
      c.ok(known.has(flag), `${flag} is a flag of sluice-operator`);
    }
  }

  // Metrics Service selects the operator pods and exposes the metrics port.
  const svcs = find(docs, 'Service');
  if (c.equal(svcs.map((s) => s.metadata.name), [`${fullname}-metrics`], 'metrics Service')) {
    const svc = svcs[0];
    c.equal(svc.spec.selector, sel, 'metrics Service selects the operator pods');
    c.equal(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['metrics', 8080, 'metrics']], 'metrics Service ports');
  }

  // RBAC: exactly what the operator uses, bound to its ServiceAccount.
  const [roleKind, bindingKind] = o.watchNamespace ? ['Role', 'RoleBinding'] : ['ClusterRole', 'ClusterRoleBinding'];
  const [otherRole, otherBinding] = o.watchNamespace ? ['ClusterRole', 'ClusterRoleBinding'] : [];
  const roles = find(docs, roleKind).filter((r) => r.metadata.name === fullname);
  if (c.equal(roles.length, 1, `one operator ${roleKind}`)) {
    c.equal(grants(roles[0].rules), grants(EXPECTED_RULES), `${roleKind} grants exactly what the operator uses`);
  }
  const bindings = find(docs, bindingKind).filter((b) => b.metadata.name === fullname);
  if (c.equal(bindings.length, 1, `one operator ${bindingKind}`)) {
    c.equal(bindings[0].roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: fullname }, `${bindingKind} roleRef`);
    c.equal(bindings[0].subjects, [{ kind: 'ServiceAccount', name: fullname, namespace: o.namespace }], `${bindingKind} subjects`);
  }
  if (otherRole) {
    c.equal(find(docs, otherRole).length + find(docs, otherBinding).length, 0, 'no cluster-wide RBAC when one namespace is watched');
  }
  const leaseRoles = find(docs, 'Role', '-leader-election');
  const leaseBindings = find(docs, 'RoleBinding', '-leader-election');
  if (o.leaderElection) {
    if (c.equal(leaseRoles.length, 1, 'one leader-election Role')) {
      c.equal(grants(leaseRoles[0].rules), grants(LEASE_RULES), 'leader-election Role grants leases get/create/update');
    }
    if (c.equal(leaseBindings.length, 1, 'one leader-election RoleBinding')) {
      c.equal(leaseBindings[0].roleRef.name, `${fullname}-leader-election`, 'leader-election RoleBinding roleRef');
      c.equal(leaseBindings[0].subjects, [{ kind: 'ServiceAccount', name: fullname, namespace: o.namespace }], 'leader-election RoleBinding subjects');
    }
  } else {
    c.equal(leaseRoles.length + leaseBindings.length, 0, 'no lease permissions without leader election');
  }
  // Nothing may grant more than the two roles above.
  const allGrants = new Set(docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole').flatMap((r) => grants(r.rules)));
  const allowed = new Set([...grants(EXPECTED_RULES), ...(o.leaderElection ? grants(LEASE_RULES) : [])]);
  c.equal([...allGrants].filter((g) => !allowed.has(g)), [], 'no grant beyond what the operator uses');
  c.ok(![...allGrants].some((g) => g.includes('*')), 'no wildcard grants');
}

module.exports = { checkCommon, find, grants, EXPECTED_RULES, LEASE_RULES };
