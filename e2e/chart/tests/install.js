'use strict';
// e2e.chart.install: the chart installed for real with helm into namespaces that enforce the
// `restricted` Pod Security Standard (enforce, warn and audit), on a real control plane (the
// shared one of the CTest fixture `k8s`, $SLUICE_E2E_KUBECONFIG, or, run directly, its own):
//   - `helm install` with default values succeeds and prints no warning at all (the namespace
//     warns about any workload that would violate restricted);
//   - the Deployment's ReplicaSet creates the Pods (PodSecurity admits them), no FailedCreate;
//   - ServiceAccount, ClusterRole/ClusterRoleBinding, leader-election Role/RoleBinding and the
//     metrics Service exist; `kubectl auth can-i` as the ServiceAccount: every rule of the
//     ClusterRole holds, the Lease only in the release namespace, no Secrets, no deleting Pods;
//   - `helm upgrade` with a changed value rolls a new ReplicaSet with the new flag;
//   - `helm uninstall` leaves nothing behind (namespace and cluster-wide), the CRDs stay;
//   - with watchNamespace, a Role/RoleBinding in the watched namespace and no ClusterRole;
//   - restricted is really enforced: the chart's own pod, rendered and then broken one field at
//     a time, is refused naming the field, and a chart copy whose container allows privilege
//     escalation installs with helm showing the PodSecurity warning while its ReplicaSet reports
//     FailedCreate naming the field.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { repoRoot, chartDir, crdDir, listYaml, readYamlDocs, parseDocs, Checker, cluster, waitFor } = require('./lib');

const c = new Checker('install');
const id = process.pid;
const ns = `sluice-install-${id}`;
const release = `sluice-it-${id}`; // fullname = release (it contains "sluice")
// The Gateway API / Envoy Gateway CRDs the operator writes to, at the shared cluster's versions.
const upstream = ['gateway-api-v1.2.1', 'envoy-gateway-v1.2.8'].map((d) => path.resolve(repoRoot, '..', 'shared', 'crds', d));
const figures = [];
const releases = []; // [release, namespace] still installed, for the cleanup
const namespaces = [];
let k;

function kubectl(args, input) {
  return k.kubectl(args, input);
}

function getJson(args) {
  const r = kubectl([...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) : null;
}

function timed(what, fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  const ms = Number((process.hrtime.bigint() - t0) / 1000000n);
  figures.push(`${what} ${ms} ms`);
  return r;
}

const restricted = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
};

function createNamespace(name, labels) {
  const r = kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }));
  if (!c.equal(r.status, 0, `create namespace ${name} (stderr: ${r.stderr.trim()})`)) return false;
  namespaces.push(name);
  return true;
}

function pods(namespace, instance) {
  const l = getJson(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${instance}`]);
  return l ? l.items : [];
}

function replicaSets(namespace, instance) {
  const l = getJson(['get', 'replicasets', '-n', namespace, '-l', `app.kubernetes.io/instance=${instance}`]);
  return l ? l.items : [];
}

function events(namespace, reason) {
  const l = getJson(['get', 'events', '-n', namespace, '--field-selector', `reason=${reason}`]);
  return l ? l.items : [];
}

// `kubectl auth can-i` as the operator's ServiceAccount equals `want`. The authorizer learns
// new (Cluster)RoleBindings through a watch, so a grant may take a moment to show.
function can(c, want, sa, verbResource, where, what) {
  let r;
  waitFor(want ? 15000 : 0, () => {
    r = kubectl(['auth', 'can-i', ...verbResource, ...where, '--as', sa]);
    return r.stdout.trim() === (want ? 'yes' : 'no');
  });
  c.equal(r.stdout.trim(), want ? 'yes' : 'no', `${what} (kubectl auth can-i ${verbResource.join(' ')} ${where.join(' ')}; stderr: ${r.stderr.trim()})`);
}

// Each verb on each resource of `rules` is allowed to `sa` at `where`.
function grantsAll(sa, rules, where, what) {
  let n = 0;
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const res of rule.resources) {
        const [resource, sub] = res.split('/');
        const name = group ? `${resource}.${group}` : resource;
        for (const verb of rule.verbs) {
          can(c, true, sa, [verb, name, ...(sub ? [`--subresource=${sub}`] : [])], where, `${what} grants ${verb} ${res}${group ? ` (${group})` : ''}`);
          n++;
        }
      }
    }
  }
  c.ok(n > 0, `${what} has rules`);
}

// Namespaced objects left in a namespace, apart from what every namespace has (the default
// ServiceAccount, kube-root-ca.crt) and events.
let listable;
function leftovers(namespace) {
  if (!listable) {
    const r = kubectl(['api-resources', '--namespaced=true', '--verbs=list', '-o', 'name']);
    listable = r.stdout.split('\n').filter((x) => x && x !== 'events' && x !== 'events.events.k8s.io');
  }
  const l = getJson(['get', listable.join(','), '-n', namespace, '--ignore-not-found']);
  if (!l) return ['(kubectl get failed)'];
  return l.items.filter((o) => {
    const name = o.metadata.name;
    if (o.kind === 'ServiceAccount' && name === 'default') return false;
    if (o.kind === 'ConfigMap' && name === 'kube-root-ca.crt') return false;
    return true;
  }).map((o) => `${o.kind}/${name}`);
}

// The Pods of a release exist (the deployment and replicaset controllers made them) and none
// was refused.
function waitForPods(namespace, instance, want, extra = () => true) {
  const got = waitFor(60000, () => {
    const p = pods(namespace, instance).filter(extra);
    return p.length >= want ? p : null;
  }) || pods(namespace, instance).filter(extra);
  return got;
}

function installDefault() {
  // The CRDs come with the chart; on a shared cluster another test may have applied them first
  // (helm then leaves them alone).
  const crdNames = listYaml(crdDir).map((f) => readYamlDocs(f)[0].metadata.name);
  const r = timed('helm install', () => k.helm(['install', release, chartDir, '--namespace', ns]));
  if (!c.equal(r.status, 0, `helm install (stderr: ${r.stderr.trim()})`)) return false;
  releases.push([release, ns]);
  c.equal(r.stderr.trim(), '', 'helm install prints no warning (PodSecurity warn=restricted is on)');
  c.ok(!/PodSecurity|would violate|warning/i.test(r.stdout), `no warning in helm's output (stdout: ${r.stdout.trim()})`);
  c.ok(/STATUS: deployed/.test(r.stdout) && /REVISION: 1/.test(r.stdout), 'helm reports revision 1 deployed');
  c.ok(r.stdout.includes(`Sluice 0.1.0 is installed as "${release}" in namespace ${ns}`), 'helm prints the NOTES');

  const w = kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...crdNames.map((n) => `crd/${n}`)]);
  c.equal(w.status, 0, `the chart's CRDs are established (stderr: ${w.stderr.trim()})`);

  // Objects the chart creates.
  const sa = `system:serviceaccount:${ns}:${release}`;
  const objs = {
    [`serviceaccount/${release}`]: ns,
    [`service/${release}-metrics`]: ns,
    [`deployment.apps/${release}`]: ns,
    [`role.rbac.authorization.k8s.io/${release}-leader-election`]: ns,
    [`rolebinding.rbac.authorization.k8s.io/${release}-leader-election`]: ns,
    [`clusterrole.rbac.authorization.k8s.io/${release}`]: null,
    [`clusterrolebinding.rbac.authorization.k8s.io/${release}`]: null,
  };
  for (const [obj, namespace] of Object.entries(objs)) {
    const o = getJson(['get', obj, ...(namespace ? ['-n', namespace] : [])]);
    if (!c.ok(o, `${obj} exists`)) continue;
    c.equal([o.metadata.labels['app.kubernetes.io/managed-by'], (o.metadata.annotations || {})['meta.helm.sh/release-name']],
      ['Helm', release], `${obj}: managed by helm release ${release}`);
  }
  const crb = getJson(['get', `clusterrolebinding/${release}`]);
  if (crb) c.equal(crb.subjects, [{ kind: 'ServiceAccount', name: release, namespace: ns }], 'ClusterRoleBinding binds the chart\'s ServiceAccount');

  // The RBAC as the API server evaluates it for the operator's ServiceAccount: every rule of the
  // ClusterRole, everywhere; the Lease in the release namespace only; nothing else.
  const cr = getJson(['get', `clusterrole/${release}`]);
  if (cr) grantsAll(sa, cr.rules, ['--all-namespaces'], 'ClusterRole');
  can(c, true, sa, ['update', 'leases.coordination.k8s.io'], ['-n', ns], 'the operator may update its Lease in the release namespace');
  can(c, false, sa, ['update', 'leases.coordination.k8s.io'], ['-n', 'default'], 'no Lease access outside the release namespace');
  can(c, false, sa, ['get', 'secrets'], ['-n', ns], 'the operator may not read Secrets');
  can(c, false, sa, ['delete', 'pods'], ['-n', 'default'], 'the operator may not delete Pods');

  // The Deployment's ReplicaSet creates the Pods: PodSecurity (enforce=restricted) admits the
  // chart's pod template.
  const got = timed('pods created (after helm install)', () => waitForPods(ns, release, 2));
  // (A controller manager without its controllers' RBAC shows as ReplicaSetCreateError events.)
  const why = ['ReplicaSetCreateError', 'FailedCreate'].flatMap((reason) => events(ns, reason).map((e) => e.message));
  c.equal(got.length, 2, `the ReplicaSet created 2 Pods (events: ${JSON.stringify(why)})`);
  for (const p of got) {
    const owner = (p.metadata.ownerReferences || [])[0] || {};
    c.ok(owner.kind === 'ReplicaSet' && owner.name.startsWith(`${release}-`), `${p.metadata.name}: owned by the Deployment's ReplicaSet`);
    c.equal(p.spec.serviceAccountName, release, `${p.metadata.name}: runs as the chart's ServiceAccount`);
  }
  const rs = replicaSets(ns, release);
  c.equal(rs.length, 1, 'one ReplicaSet');
  for (const s of rs) c.ok(!(s.status.conditions || []).some((x) => x.type === 'ReplicaFailure'), `${s.metadata.name}: no ReplicaFailure condition`);
  c.equal(events(ns, 'FailedCreate').length, 0, 'no FailedCreate event in the namespace');
  return true;
}

function upgrade() {
  const r = timed('helm upgrade', () => k.helm(['upgrade', release, chartDir, '--namespace', ns, '--set', 'logLevel=debug']));
  if (!c.equal(r.status, 0, `helm upgrade --set logLevel=debug (stderr: ${r.stderr.trim()})`)) return;
  c.equal(r.stderr.trim(), '', 'helm upgrade prints no warning');
  c.ok(/REVISION: 2/.test(r.stdout), 'helm reports revision 2');
  const st = k.helm(['status', release, '--namespace', ns, '-o', 'json']);
  if (c.equal(st.status, 0, `helm status (stderr: ${st.stderr.trim()})`)) {
    const s = JSON.parse(st.stdout);
    c.equal([s.version, s.info.status], [2, 'deployed'], 'helm status: revision 2 deployed');
  }
  const d = getJson(['get', `deployment/${release}`, '-n', ns]);
  c.ok(d && d.spec.template.spec.containers[0].args.includes('--log-level=debug'), 'the Deployment runs --log-level=debug');
  // No kubelet, so no Pod becomes available: the rollout surges one Pod of the new ReplicaSet.
  const hasDebug = (p) => p.spec.containers[0].args.includes('--log-level=debug');
  const got = waitForPods(ns, release, 1, hasDebug);
  c.ok(got.length >= 1, 'the new ReplicaSet created a Pod with --log-level=debug');
  const rs = replicaSets(ns, release);
  c.equal(rs.map((s) => s.metadata.annotations['deployment.kubernetes.io/revision']).sort(), ['1', '2'], 'ReplicaSets of Deployment revisions 1 and 2');
  c.equal(events(ns, 'FailedCreate').length, 0, 'no FailedCreate event after the upgrade');
}

function uninstall(rel, namespace, clusterWide, also = []) {
  const r = timed(`helm uninstall ${rel === release ? '(default values)' : '(watchNamespace)'}`,
    () => k.helm(['uninstall', rel, '--namespace', namespace]));
  if (!c.equal(r.status, 0, `helm uninstall ${rel} (stderr: ${r.stderr.trim()})`)) return;
  releases.splice(releases.findIndex(([x]) => x === rel), 1);
  c.equal(r.stderr.trim(), '', `helm uninstall ${rel} prints nothing on stderr`);
  // The garbage collector removes the ReplicaSets and Pods the Deployment owned.
  const left = timed(`namespace empty after helm uninstall ${rel === release ? '(default values)' : '(watchNamespace)'}`,
    () => waitFor(60000, () => [namespace, ...also].every((n) => leftovers(n).length === 0)));
  for (const n of [namespace, ...also]) c.equal(leftovers(n), [], `nothing of ${rel} is left in namespace ${n}`);
  if (!left) return;
  for (const obj of clusterWide) {
    const g = kubectl(['get', obj]);
    c.ok(g.status !== 0 && /NotFound/.test(g.stderr), `${obj} is gone`);
  }
  const l = k.helm(['list', '--namespace', namespace, '--all', '-q']);
  c.equal(l.stdout.trim(), '', `helm list shows no release in ${namespace}`);
}

function watchNamespace() {
  const relW = `sluice-itw-${id}`;
  const home = `${ns}-w`;
  const watched = `${ns}-watched`;
  if (!createNamespace(home, restricted) || !createNamespace(watched, restricted)) return;
  const r = timed('helm install (watchNamespace)', () => k.helm(['install', relW, chartDir, '--namespace', home, '--set', `watchNamespace=${watched}`, '--skip-crds']));
  if (!c.equal(r.status, 0, `helm install --set watchNamespace (stderr: ${r.stderr.trim()})`)) return;
  releases.push([relW, home]);
  c.equal(r.stderr.trim(), '', 'helm install with watchNamespace prints no warning');
  c.ok(r.stdout.includes(`objects in namespace ${watched}`), 'NOTES name the watched namespace');

  for (const obj of [`role/${relW}`, `rolebinding/${relW}`]) {
    const o = getJson(['get', obj, '-n', watched]);
    c.ok(o, `${obj} exists in the watched namespace ${watched}`);
  }
  const rb = getJson(['get', `rolebinding/${relW}`, '-n', watched]);
  if (rb) c.equal([rb.roleRef.kind, rb.roleRef.name, rb.subjects], ['Role', relW, [{ kind: 'ServiceAccount', name: relW, namespace: home }]], 'the RoleBinding binds the chart\'s ServiceAccount to the Role');
  for (const obj of [`clusterrole/${relW}`, `clusterrolebinding/${relW}`]) {
    const g = kubectl(['get', obj]);
    c.ok(g.status !== 0 && /NotFound/.test(g.stderr), `no ${obj} with watchNamespace`);
  }
  c.ok(getJson(['get', `role/${relW}-leader-election`, '-n', home]), 'the leader-election Role is in the release namespace');
  const sa = `system:serviceaccount:${home}:${relW}`;
  const role = getJson(['get', `role/${relW}`, '-n', watched]);
  if (role) {
    grantsAll(sa, role.rules, ['-n', watched], `Role in ${watched}`);
    const [r0] = role.rules;
    const first = [r0.verbs[0], r0.apiGroups[0] ? `${r0.resources[0]}.${r0.apiGroups[0]}` : r0.resources[0]];
    can(c, false, sa, first, ['-n', 'default'], `but not ${first.join(' ')} in another namespace`);
    can(c, false, sa, first, ['--all-namespaces'], `nor ${first.join(' ')} cluster-wide`);
  }
  const d = getJson(['get', `deployment/${relW}`, '-n', home]);
  c.ok(d && d.spec.template.spec.containers[0].args.includes(`--namespace=${watched}`), 'the operator runs with --namespace');
  c.equal(waitForPods(home, relW, 2).length, 2, 'the ReplicaSet created 2 Pods');
  uninstall(relW, home, [`clusterrole/${relW}`], [watched]);
}

// The rendered chart pod, with one field broken at a time: PodSecurity refuses it, naming it.
function enforcement() {
  const t = k.helm(['template', release, chartDir, '--namespace', ns]);
  if (!c.equal(t.status, 0, `helm template (stderr: ${t.stderr.trim()})`)) return;
  const dep = parseDocs(t.stdout).find((d) => d.kind === 'Deployment');
  const podOf = (mutate) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `violating-${id}`, namespace: ns }, spec: JSON.parse(JSON.stringify(dep.spec.template.spec)) };
    pod.spec.serviceAccountName = 'default'; // the release is uninstalled by now
    mutate(pod.spec, pod.spec.containers[0]);
    return JSON.stringify(pod);
  };
  const ok = kubectl(['create', '--dry-run=server', '-f', '-'], podOf(() => {}));
  c.ok(ok.status === 0 && ok.stderr.trim() === '', `the chart's pod as rendered is admitted without warning (stderr: ${ok.stderr.trim()})`);

  const cases = [
    ['allowPrivilegeEscalation: true', (s, ct) => { ct.securityContext.allowPrivilegeEscalation = true; },
      ['allowPrivilegeEscalation != false', 'securityContext.allowPrivilegeEscalation=false']],
    ['no capabilities.drop', (s, ct) => { delete ct.securityContext.capabilities; },
      ['unrestricted capabilities', 'securityContext.capabilities.drop=["ALL"]']],
    ['capabilities.add NET_ADMIN', (s, ct) => { ct.securityContext.capabilities.add = ['NET_ADMIN']; },
      ['unrestricted capabilities', 'must not include "NET_ADMIN" in securityContext.capabilities.add']],
    ['runAsUser 0', (s) => { s.securityContext.runAsUser = 0; },
      ['runAsUser=0', 'pod must not set runAsUser=0']],
    ['no runAsNonRoot', (s, ct) => { delete s.securityContext.runAsNonRoot; delete ct.securityContext.runAsNonRoot; },
      ['runAsNonRoot != true', 'securityContext.runAsNonRoot=true']],
    ['no seccompProfile', (s, ct) => { delete s.securityContext.seccompProfile; delete ct.securityContext.seccompProfile; },
      ['seccompProfile', 'securityContext.seccompProfile.type']],
    ['hostNetwork', (s) => { s.hostNetwork = true; },
      ['host namespaces', 'hostNetwork=true']],
    ['hostPath volume', (s) => { s.volumes[0] = { name: 'tmp', hostPath: { path: '/tmp' } }; },
      ['restricted volume types', 'hostPath']],
  ];
  for (const [what, mutate, fields] of cases) {
    const r = kubectl(['create', '-f', '-'], podOf(mutate));
    if (r.status === 0) kubectl(['delete', 'pod', `violating-${id}`, '-n', ns, '--wait=false']);
    c.ok(r.status !== 0 && r.stderr.includes('violates PodSecurity "restricted:latest"') && fields.every((f) => r.stderr.includes(f)),
      `the chart's pod with ${what} is refused by PodSecurity naming ${fields.join(' / ')} (stderr: ${r.stderr.trim()})`);
  }
  // privileged: this cluster (--allow-privileged=false) refuses it at validation already.
  const p = kubectl(['create', '-f', '-'], podOf((s, ct) => { ct.securityContext.privileged = true; delete ct.securityContext.allowPrivilegeEscalation; }));
  if (p.status === 0) kubectl(['delete', 'pod', `violating-${id}`, '-n', ns, '--wait=false']);
  c.ok(p.status !== 0 && /securityContext\.privileged/.test(p.stderr), `a privileged container is refused naming securityContext.privileged (stderr: ${p.stderr.trim()})`);

  // A chart copy whose container allows privilege escalation: Deployments are only warned about,
  // so helm installs it and shows the warning; the ReplicaSet cannot create its Pods.
  const bad = `${ns}-bad`;
  const relB = `sluice-itb-${id}`;
  if (!createNamespace(bad, restricted)) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-install-'));
  try {
    const copy = path.join(tmp, 'sluice');
    fs.cpSync(chartDir, copy, { recursive: true });
    const file = path.join(copy, 'templates', 'deployment.yaml');
    const src = fs.readFileSync(file, 'utf8');
    if (!c.ok(src.includes('allowPrivilegeEscalation: false'), 'the chart sets allowPrivilegeEscalation: false')) return;
    fs.writeFileSync(file, src.replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true'));
    const r = k.helm(['install', relB, copy, '--namespace', bad, '--set', `watchNamespace=${bad}`, '--skip-crds']);
    if (!c.equal(r.status, 0, `helm install of the escalating copy (stderr: ${r.stderr.trim()})`)) return;
    releases.push([relB, bad]);
    c.ok(/would violate PodSecurity \\?"restricted:latest\\?": allowPrivilegeEscalation != false/.test(r.stderr),
      `helm shows the PodSecurity warning naming allowPrivilegeEscalation (stderr: ${r.stderr.trim()})`);
    const failure = waitFor(60000, () => {
      for (const s of replicaSets(bad, relB)) {
        const cond = (s.status.conditions || []).find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
        if (cond) return cond;
      }
      return null;
    });
    c.ok(failure && failure.reason === 'FailedCreate' && /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/.test(failure.message),
      `its ReplicaSet reports FailedCreate naming allowPrivilegeEscalation (condition: ${JSON.stringify(failure)})`);
    c.equal(pods(bad, relB).length, 0, 'and has no Pod');
    c.ok(events(bad, 'FailedCreate').some((e) => /securityContext\.allowPrivilegeEscalation=false/.test(e.message)), 'a FailedCreate event names securityContext.allowPrivilegeEscalation');
    const u = k.helm(['uninstall', relB, '--namespace', bad]);
    if (c.equal(u.status, 0, `helm uninstall of the escalating copy (stderr: ${u.stderr.trim()})`)) releases.splice(releases.findIndex(([x]) => x === relB), 1);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function cleanup() {
  for (const [rel, namespace] of releases.splice(0)) k.helm(['uninstall', rel, '--namespace', namespace]);
  if (namespaces.length) kubectl(['delete', 'namespace', ...namespaces.splice(0), '--wait=false']);
}

function main() {
  k = cluster('install');
  // As in a real installation, the Gateway API and Envoy Gateway CRDs are there first
  // (server-side, as e2e/stack applies the same ones).
  const a = kubectl(['apply', '--server-side', '--force-conflicts', ...upstream.flatMap((d) => ['-f', d])]);
  if (!c.equal(a.status, 0, `apply ${upstream.map((d) => path.basename(d)).join(' + ')} (stderr: ${a.stderr.trim()})`)) return;
  if (!createNamespace(ns, restricted)) return;
  const labels = getJson(['get', 'namespace', ns]).metadata.labels;
  c.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces restricted');
  if (installDefault()) {
    upgrade();
    uninstall(release, ns, [`clusterrole/${release}`, `clusterrolebinding/${release}`]);
    // helm never deletes CRDs (crds/ is install-only).
    const g = kubectl(['get', 'crd/canaryrollouts.sluice.dev']);
    c.equal(g.status, 0, 'the CRDs stay after helm uninstall');
  }
  watchNamespace();
  enforcement();
}

try {
  main();
} catch (e) {
  c.fail(`unexpected error: ${e.stack}`);
} finally {
  if (k) cleanup();
}
console.log(`install: ${figures.join('; ')}`);
c.done();
