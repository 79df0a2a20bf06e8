'use strict';
// e2e.chart.dockerfile: no container engine runs here, so this checks the Dockerfile against
// what CI does. Stage 1 is debian:bookworm, runs scripts/install-deps.sh and the Makefile's
// cmake configure with the operator-only flags, then builds the sluice-operator target; every
// COPY source exists and survives .dockerignore; the runtime stage is slim, installs only the
// runtime libraries of the -dev packages CI builds with, runs as a non-root user, and its
// ENTRYPOINT is the binary copied from stage 1. The expected image size is documented.

const fs = require('node:fs');
const path = require('node:path');
const { repoRoot, run, Checker } = require('./lib');

const c = new Checker('dockerfile');
const text = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

// Parse: comments dropped, continuation lines joined, one {op, args, line} per instruction.
const instructions = [];
{
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (buf && line.startsWith('#')) return;
    if (!buf) start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/.exec(buf);
    instructions.push({ op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim(), line: start });
    buf = '';
  });
}
const stages = [];
for (const ins of instructions) {
  if (ins.op === 'FROM') stages.push({ from: ins.args, ins: [] });
  else if (stages.length) stages[stages.length - 1].ins.push(ins);
}

c.ok(/expected image size: about \d+ MB/i.test(text), 'the expected image size is documented');
if (!c.equal(stages.length, 2, 'two stages (build, runtime)')) c.done();
const [build, runtime] = stages;
c.ok(/^debian:bookworm(@sha256:[0-9a-f]{64})? AS build$/i.test(build.from), `build stage is debian:bookworm AS build (got ${build.from})`);
c.ok(/^(debian:bookworm-slim|gcr\.io\/distroless\/cc-debian12(:nonroot)?)(@sha256:[0-9a-f]{64})?$/.test(runtime.from),
  `runtime stage is bookworm-slim or distroless cc (got ${runtime.from})`);

// Commands run in stage 1, split on && so each is compared whole.
const buildRuns = build.ins.filter((i) => i.op === 'RUN').flatMap((i) => i.args.split(/\s*&&\s*/));
const workdir = (build.ins.filter((i) => i.op === 'WORKDIR').pop() || {}).args;
c.ok(workdir && workdir.startsWith('/'), 'build stage has an absolute WORKDIR');

// The same install script CI runs (Makefile `deps` target).
const makefile = fs.readFileSync(path.join(repoRoot, 'Makefile'), 'utf8');
c.ok(/^\t@?scripts\/install-deps\.sh\b/m.test(makefile), 'the Makefile installs dependencies with scripts/install-deps.sh');
c.ok(buildRuns.some((r) => /^scripts\/install-deps\.sh( --build-only)?$/.test(r)), 'stage 1 runs scripts/install-deps.sh');

// The same cmake configure command as the Makefile's `configure`, with BUILD_DIR=build and the
// operator-only flags; then the sluice-operator target.
const conf = /^\t@?(cmake -S \. -B \$\(BUILD_DIR\) -G Ninja) \$\(CMAKE_FLAGS\)/m.exec(makefile);
if (c.ok(conf, 'the Makefile configures with `cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)`')) {
  const want = `${conf[1].replace('$(BUILD_DIR)', 'build')} -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF`;
  c.ok(buildRuns.includes(want), `stage 1 configures exactly as CI: ${want}`);
}
c.ok(/^\t@?cmake --build \$\(BUILD_DIR\)/m.test(makefile), 'the Makefile builds with `cmake --build $(BUILD_DIR)`');
c.ok(buildRuns.includes('cmake --build build --target sluice-operator'), 'stage 1 builds the sluice-operator target');
const order = ['scripts/install-deps.sh', 'cmake -S', 'cmake --build'].map((p) => buildRuns.findIndex((r) => r.startsWith(p)));
c.ok(order.every((v, i) => v >= 0 && (i === 0 || v > order[i - 1])), 'install, configure, build run in that order');

// Every COPY source from the build context exists and is not excluded by .dockerignore.
const ignore = fs.existsSync(path.join(repoRoot, '.dockerignore'))
  ? fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  : [];
function globToRegex(p) {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') { out += '(.*/)?'; i++; } else out += '.*';
    }
    else if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}(/.*)?$`);
}
const rules = ignore.map((l) => {
  const neg = l.startsWith('!');
  const pat = (neg ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
  return { neg, re: globToRegex(pat) };
});
function excluded(file) {
  let ex = false;
  for (const r of rules) if (r.re.test(file)) ex = !r.neg;
  return ex;
}
const tracked = run('git', ['ls-files'], { cwd: repoRoot }).stdout.split('\n').filter(Boolean);
let copies = 0;
for (const stage of stages) {
  for (const ins of stage.ins.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
    const parts = ins.args.split(' ').filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      copies++;
      const abs = path.join(repoRoot, src);
      if (!c.ok(fs.existsSync(abs), `line ${ins.line}: COPY source ${src} exists`)) continue;
      const files = fs.statSync(abs).isDirectory()
        ? tracked.filter((f) => f.startsWith(`${src.replace(/\/$/, '')}/`))
        : [src];
      c.ok(files.length > 0, `line ${ins.line}: COPY source ${src} has tracked files`);
      const lost = files.filter(excluded);
      c.equal(lost.slice(0, 5), [], `line ${ins.line}: files of ${src} excluded by .dockerignore (first 5 shown)`);
    }
  }
}
c.ok(copies >= 3, 'stage 1 copies the sources it builds');
// Whatever the root CMakeLists.txt reads with tests and benchmarks off must be in the context:
// itself, cmake/ and every add_subdirectory() outside an if(SLUICE_BUILD_TESTS/BENCH) block.
const copied = new Set(build.ins.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
  .flatMap((i) => i.args.split(' ').filter((p) => !p.startsWith('--')).slice(0, -1).map((p) => p.replace(/\/$/, ''))));
const needed = new Set(['CMakeLists.txt']);
{
  const cm = fs.readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8').split('\n');
  const guards = [];
  for (const line of cm.map((l) => l.replace(/#.*/, '').trim())) {
    let m;
    if ((m = /^if\s*\((.*)\)$/i.exec(line))) guards.push(/SLUICE_BUILD_(TESTS|BENCH)/.test(m[1]));
    else if (/^endif\s*\(/i.test(line)) guards.pop();
    else if ((m = /^add_subdirectory\s*\(\s*([^\s)]+)/i.exec(line)) && !guards.some(Boolean)) needed.add(m[1]);
    else if ((m = /^include\s*\(\s*([^\s)]+)\/[^/\s)]+\.cmake/i.exec(line))) needed.add(m[1]);
  }
}
c.ok(needed.has('operator'), 'the root CMakeLists.txt builds operator/');
for (const n of needed) c.ok(copied.has(n), `stage 1 copies ${n}, which the configure step reads`);

// Runtime stage: the binary from stage 1 is the ENTRYPOINT; non-root user; only runtime libs.
const copyBin = runtime.ins.find((i) => i.op === 'COPY' && i.args.startsWith('--from=build '));
if (c.ok(copyBin, 'runtime stage copies from the build stage')) {
  const [, src, dst] = copyBin.args.split(' ');
  c.equal(src, `${workdir}/build/operator/cmd/sluice-operator`, 'the copied binary is the CMake output');
  const ep = runtime.ins.filter((i) => i.op === 'ENTRYPOINT').pop();
  let argv = null;
  try { argv = ep && JSON.parse(ep.args); } catch (e) { argv = null; }
  c.ok(Array.isArray(argv), 'ENTRYPOINT is in exec form');
  c.equal(argv && argv[0], dst, 'ENTRYPOINT runs the copied binary');
}
const users = runtime.ins.filter((i) => i.op === 'USER');
const user = users.length ? users[users.length - 1] : null;
if (c.ok(user, 'runtime stage sets USER')) {
  const [uid, gid] = user.args.split(':');
  c.ok(/^\d+$/.test(uid) && Number(uid) !== 0, `USER is a numeric non-root uid (got ${user.args})`);
  c.equal(uid, '65532', 'USER uid matches the chart (runAsUser 65532)');
  if (gid !== undefined) c.ok(Number(gid) !== 0, 'USER group is not root');
  const lastRun = Math.max(...runtime.ins.map((i, n) => (i.op === 'RUN' ? n : -1)));
  c.ok(runtime.ins.indexOf(user) > lastRun, 'USER comes after the last RUN');
}
const aptRuns = runtime.ins.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'));
const installed = aptRuns.flatMap((i) => i.args.split(/\s*&&\s*/))
  .filter((cmd) => cmd.startsWith('apt-get install'))
  .flatMap((cmd) => cmd.split(' ').slice(2).filter((w) => !w.startsWith('-')));
c.ok(aptRuns.every((i) => i.args.includes('--no-install-recommends')), 'apt-get install uses --no-install-recommends');
c.ok(aptRuns.every((i) => i.args.includes('rm -rf /var/lib/apt/lists/*')), 'apt lists are removed in the same layer');
c.ok(!installed.some((p) => p.endsWith('-dev') || ['build-essential', 'cmake', 'ninja-build', 'gcc', 'g++'].includes(p)),
  `runtime stage installs no build tools (got ${installed.join(' ')})`);
c.ok(installed.includes('ca-certificates'), 'runtime stage has CA certificates (TLS to the API server and Prometheus)');

// Each runtime library is what one of CI's -dev packages links against (on this bookworm
// machine, where scripts/install-deps.sh installed them).
const deps = fs.readFileSync(path.join(repoRoot, 'scripts', 'install-deps.sh'), 'utf8');
for (const dev of ['libcpprest-dev', 'libyaml-cpp-dev', 'libssl-dev', 'libspdlog-dev', 'libfmt-dev']) {
  c.ok(deps.includes(dev), `scripts/install-deps.sh installs ${dev}`);
  const q = run('dpkg-query', ['-W', '-f=${Depends}', dev]);
  if (!c.equal(q.status, 0, `${dev} is installed (run scripts/install-deps.sh)`)) continue;
  const runtimeLib = q.stdout.split(',').map((d) => d.trim().split(' ')[0]).find((d) => installed.includes(d));
  c.ok(runtimeLib, `the runtime stage installs the library ${dev} depends on (${q.stdout.split(',')[0]})`);
}
const unexpected = installed.filter((p) => !['libcpprest2.10', 'libyaml-cpp0.7', 'libssl3', 'libspdlog1.10', 'libfmt9', 'ca-certificates'].includes(p));
c.equal(unexpected, [], 'runtime stage installs nothing beyond the runtime libraries');

c.done();
