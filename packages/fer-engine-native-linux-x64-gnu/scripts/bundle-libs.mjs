#!/usr/bin/env node
// Makes the published package self-contained (run by `prepack`, after `build.mjs --require`):
//   1. copies into lib/ every non-glibc shared library fer-engine-native.node needs, as `ldd` resolves it
//      on this machine, and the non-glibc libraries those need in turn (ldd on each bundled library).
//      Each is copied from its real file (libdnnl.so.2.6) under its SONAME (lib/libdnnl.so.2), the name
//      the dynamic loader looks for; the addon is linked with -rpath $ORIGIN/lib, so lib/ wins over the
//      system's copies.
//   2. writes THIRD-PARTY-NOTICES.md (Debian package, version, license and the full copyright file of
//      each bundled library, plus the full text of the licenses those files only refer to);
//   3. writes lib/GLIBC_REQUIRED: the newest GLIBC_x.y symbol version the addon and the bundled libraries
//      need (readelf -V), i.e. the oldest glibc the package runs on;
//   4. checks that `ldd fer-engine-native.node` now resolves the bundled libraries from lib/, and that the
//      addon loads in a child `node -e "require('./fer-engine-native.node').info()"`.
// Exits 1 with the reason when fer-engine-native.node is missing, a dependency is not found, a tool
// (ldd, readelf, dpkg) is missing, or the addon does not load.
//
// What is bundled (expected on Debian 12: libdnnl.so.2, libgomp.so.1, libOpenCL.so.1): everything except
// the parts of glibc (GLIBC below) and the C++ runtime (SYSTEM below), as auditwheel does for Python wheels.
// oneDNN is not in most systems; libgomp (OpenMP) and libOpenCL (oneDNN links the OpenCL ICD loader, even
// for CPU-only use) usually are not either. glibc is never bundled: it must match the system's dynamic
// loader, and every glibc system has it. libstdc++.so.6 and libgcc_s.so.1 are not bundled either: Node
// itself links them, so inside Node the process's copies are always the ones used (the loader reuses a
// library already loaded under the same SONAME); the system's libstdc++ must provide the GLIBCXX version
// printed below. The addon links with RPATH (not RUNPATH), so lib/ also serves oneDNN's own dependencies.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const addon = join(root, 'fer-engine-native.node');
const libDir = join(root, 'lib');
const notices = join(root, 'THIRD-PARTY-NOTICES.md');
const TAG = '@fer/engine-native bundle-libs:';

/** glibc's own libraries (and the kernel's vDSO): never bundled. */
const GLIBC = /^(linux-vdso|linux-gate|ld-linux[\w.-]*|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libthread_db|libnss_\w+)\.so(\.\d+)*$/;

/** The C++ runtime, loaded by Node itself: never bundled (auditwheel's manylinux policy does the same). */
const SYSTEM = /^(libstdc\+\+|libgcc_s)\.so(\.\d+)*$/;

function fail(message) {
  console.error(`${TAG} ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) fail(`cannot run ${cmd} (${r.error.code ?? r.error.message}). It is needed to bundle the libraries; on Debian: ${cmd === 'ldd' ? 'libc-bin' : cmd === 'readelf' ? 'binutils' : 'dpkg'}.`);
  return r;
}

/** `ldd file` as [{ name, path }] (path undefined when "not found"; the vDSO has no path). */
function ldd(file) {
  const r = run('ldd', [file]);
  if (r.status !== 0) fail(`ldd ${file} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  const deps = [];
  for (const line of r.stdout.split('\n')) {
    let m = /^\s*(\S+) => not found/.exec(line);
    if (m) { deps.push({ name: m[1], path: undefined }); continue; }
    m = /^\s*(\S+) => (\/\S+) \(0x[0-9a-f]+\)/.exec(line);
    if (m) { deps.push({ name: m[1], path: m[2] }); continue; }
    m = /^\s*(\S+) \(0x[0-9a-f]+\)/.exec(line);
    if (m) deps.push({ name: basename(m[1]), path: m[1].startsWith('/') ? m[1] : undefined });
  }
  return deps;
}

/** The DT_NEEDED entries of file (the libraries it asks for itself). */
function needed(file) {
  return [...run('readelf', ['-d', '-W', file]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

function soname(file) {
  const m = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(run('readelf', ['-d', file]).stdout);
  return m ? m[1] : undefined;
}

/** The versions a file needs from other libraries (readelf -V, .gnu.version_r): ['GLIBC_2.14', 'GLIBCXX_3.4.29', ...]. */
function versionNeeds(file) {
  const out = run('readelf', ['-V', '-W', file]).stdout;
  const start = out.indexOf("Version needs section '.gnu.version_r'");
  if (start < 0) return [];
  return [...new Set([...out.slice(start).matchAll(/Name: (\S+)\s+Flags/g)].map((m) => m[1]))];
}

function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** The newest `${prefix}x.y` version in names, or undefined. */
function newest(names, prefix) {
  const vs = names.filter((n) => n.startsWith(prefix) && /^[\d.]+$/.test(n.slice(prefix.length))).map((n) => n.slice(prefix.length));
  return vs.sort(compareVersions).at(-1);
}

/** The Debian package that installed path (tries the real path and its /usr-merged twin). */
function debianPackage(path) {
  const real = realpathSync(path);
  const candidates = [...new Set([real, path, real.replace(/^\/usr\/lib\//, '/lib/'), real.replace(/^\/lib\//, '/usr/lib/'), path.replace(/^\/lib\//, '/usr/lib/'), path.replace(/^\/usr\/lib\//, '/lib/')])];
  for (const c of candidates) {
    const r = run('dpkg', ['-S', c]);
    if (r.status !== 0) continue;
    for (const line of r.stdout.split('\n')) {
      const m = /^([^\s:,]+)(?::[\w-]+)?: (\/.*)$/.exec(line);
      if (m && !line.startsWith('diversion')) return m[1];
    }
  }
  return undefined;
}

function query(pkg, field) {
  const r = run('dpkg-query', ['-W', `-f=\${${field}}`, pkg]);
  return r.status === 0 ? r.stdout.trim() : '';
}

/** The license short names of a Debian copyright file: its distinct License: lines (DEP-5), else a guess from the text. */
function licenseOf(text) {
  const names = [...new Set([...text.matchAll(/^License:[ \t]*(\S.*?)\s*$/gm)].map((m) => m[1]))];
  if (names.length) return names.join(', ');
  if (/GCC Runtime Library Exception/i.test(text) && /version 3/.test(text)) {
    return 'GPL-3.0-or-later WITH GCC-exception-3.1 (no machine-readable License: field; read from the text)';
  }
  return 'see the copyright file below (no machine-readable License: field)';
}

/** /usr/share/common-licenses texts a copyright file only refers to, for the license names it uses. */
function commonLicenses(license, text) {
  const files = new Set();
  const add = (name) => { if (existsSync(`/usr/share/common-licenses/${name}`)) files.add(name); };
  if (/Apache-2\.0/.test(license) && /common-licenses\/Apache-2\.0/.test(text)) add('Apache-2.0');
  if (/GPL-3/.test(license) && /common-licenses\/GPL-3/.test(text)) add('GPL-3');
  if (/(^|[^L])GPL-2/.test(license) && /common-licenses\/GPL-2/.test(text)) add('GPL-2');
  if (/LGPL-2\.1/.test(license) && /common-licenses\/LGPL-2\.1/.test(text)) add('LGPL-2.1');
  if (/LGPL-3/.test(license) && /common-licenses\/LGPL-3/.test(text)) add('LGPL-3');
  if (/MPL-2\.0/.test(license) && /common-licenses\/MPL-2\.0/.test(text)) add('MPL-2.0');
  return [...files];
}

/** The packing machine's distribution, e.g. "Debian GNU/Linux 12 (bookworm)". */
function distro() {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Debian';
  } catch {
    return 'Debian';
  }
}

function fence(text) {
  let f = '```';
  while (text.includes(f)) f += '`';
  return `${f}text\n${text.replace(/\s+$/, '')}\n${f}`;
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

// --- Checks ------------------------------------------------------------------------------
if (!existsSync(addon)) {
  fail(`${relative(process.cwd(), addon) || addon} is missing: nothing to bundle. Build it first: ` +
    'node scripts/build.mjs --require (needs g++ and libdnnl-dev), or pnpm --filter @fer/engine-native-linux-x64-gnu build.');
}
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`this package is for linux-x64, not ${process.platform}-${process.arch}.`);

// --- 1. Collect and copy -----------------------------------------------------------------
// Start from an empty lib/, so that ldd resolves the system's libraries (the ones to copy).
rmSync(libDir, { recursive: true, force: true });

/** soname -> { soname, from (ldd path), real, size, neededBy } */
const bundle = new Map();
const skipped = new Set();
const queue = [{ file: addon, label: 'fer-engine-native.node' }];
const directNeeds = new Set(needed(addon));
while (queue.length) {
  const { file, label } = queue.shift();
  // ldd lists the whole closure; the NEEDED entries say which of those this file itself asks for.
  const paths = new Map(ldd(file).map((d) => [d.name, d.path]));
  for (const name0 of needed(file)) {
    if (GLIBC.test(name0) || SYSTEM.test(name0)) { skipped.add(name0); continue; }
    const path = paths.get(name0);
    if (!path) fail(`${label} needs ${name0}, which ldd does not find. On Debian: apt-get install libdnnl2 (or libdnnl-dev), then run this again.`);
    const real = realpathSync(path);
    const name = soname(real) ?? name0;
    if (bundle.has(name)) { bundle.get(name).neededBy.add(label); continue; }
    bundle.set(name, { soname: name, from: path, real, size: statSync(real).size, neededBy: new Set([label]) });
    queue.push({ file: real, label: name });
  }
  for (const [name, path] of paths) if (GLIBC.test(name) || SYSTEM.test(name) || (path && (GLIBC.test(basename(path)) || SYSTEM.test(basename(path))))) skipped.add(name);
}
if (!bundle.size) fail('ldd lists no non-glibc library for fer-engine-native.node; expected at least libdnnl.so.2.');

mkdirSync(libDir, { recursive: true });
for (const lib of bundle.values()) {
  const dest = join(libDir, lib.soname);
  copyFileSync(lib.real, dest);
  chmodSync(dest, 0o644);
}
const total = [...bundle.values()].reduce((n, l) => n + l.size, 0);
console.log(`${TAG} copied ${bundle.size} libraries into lib/ (${mib(total)}):`);
for (const lib of bundle.values()) {
  console.log(`  lib/${lib.soname.padEnd(16)} ${mib(lib.size).padStart(9)}  from ${lib.real}  (needed by ${[...lib.neededBy].join(', ')})`);
}
console.log(`  not bundled (glibc, C++ runtime): ${[...skipped].sort().join(', ')}`);

// --- 2. THIRD-PARTY-NOTICES.md -----------------------------------------------------------
const libs = [...bundle.values()].map((lib) => {
  const pkg = debianPackage(lib.real);
  if (!pkg) fail(`dpkg -S does not know ${lib.real}, so its license cannot be recorded. Bundle only libraries from Debian packages.`);
  const copyrightPath = `/usr/share/doc/${pkg}/copyright`;
  if (!existsSync(copyrightPath)) fail(`${copyrightPath} is missing (package ${pkg}); cannot record the license of ${lib.soname}.`);
  const copyright = readFileSync(copyrightPath, 'utf8');
  const license = licenseOf(copyright);
  const source = query(pkg, 'source:Package') || pkg;
  const sourceVersion = query(pkg, 'source:Version') || query(pkg, 'Version');
  return { ...lib, pkg, version: query(pkg, 'Version'), source, sourceVersion, copyrightPath, copyrightReal: realpathSync(copyrightPath), copyright, license };
});

const lines = [
  '# Third-party notices',
  '',
  'GENERATED by `scripts/bundle-libs.mjs` (run by `npm pack`/`pnpm pack` through `prepack`) from the Debian',
  'packages of the machine that packed the package; do not edit it by hand.',
  '',
  '`@fer/engine-native-linux-x64-gnu` is MIT-licensed (see LICENSE). Its tarball also carries, in `lib/`, the',
  `shared libraries below, copied unmodified from the packages of ${distro()}. They keep their own licenses,`,
  'reproduced in full after the table (each package\'s `/usr/share/doc/<package>/copyright`, and the',
  'license texts those files refer to in `/usr/share/common-licenses`).',
  '',
  '| File | Debian package | Version | License |',
  '|---|---|---|---|',
  ...libs.map((l) => `| lib/${l.soname} | ${l.pkg} | ${l.version} | ${l.license.replace(/\|/g, '\\|')} |`),
  '',
  '## Where the sources are',
  '',
  'Each library is built by Debian from the source package named here; the exact sources are at',
  'https://snapshot.debian.org/package/SOURCE/VERSION/ and https://sources.debian.org/src/SOURCE/VERSION/.',
  '',
  ...libs.map((l) => `- lib/${l.soname}: ${l.real} from the binary package ${l.pkg} ${l.version}, source package ${l.source} ${l.sourceVersion} ` +
    `(https://snapshot.debian.org/package/${l.source}/${encodeURIComponent(l.sourceVersion)}/)`),
  '',
];
const seen = new Map();
for (const l of libs) {
  const key = l.copyrightReal;
  if (seen.has(key)) { seen.get(key).libs.push(l); continue; }
  seen.set(key, { libs: [l], text: l.copyright });
}
for (const { libs: group, text } of seen.values()) {
  lines.push(`## ${group.map((l) => `lib/${l.soname}`).join(', ')} (${[...new Set(group.map((l) => l.pkg))].join(', ')})`, '');
  lines.push(`Full text of ${[...new Set(group.map((l) => l.copyrightPath))].join(', ')}${group.length > 1 || group[0].copyrightPath !== group[0].copyrightReal ? ` (${group[0].copyrightReal})` : ''}:`, '');
  lines.push(fence(text), '');
}
const licenseTexts = new Set(libs.flatMap((l) => commonLicenses(l.license, l.copyright)));
for (const name of [...licenseTexts].sort()) {
  lines.push(`## License text: ${name}`, '', `Full text of /usr/share/common-licenses/${name} (referred to above):`, '');
  lines.push(fence(readFileSync(`/usr/share/common-licenses/${name}`, 'utf8')), '');
}
writeFileSync(notices, `${lines.join('\n').replace(/\n+$/, '')}\n`);
console.log(`${TAG} wrote THIRD-PARTY-NOTICES.md (${libs.map((l) => `${l.soname}: ${l.pkg} ${l.version}, ${l.license.split(' (')[0]}`).join('; ')}` +
  `${licenseTexts.size ? `; license texts: ${[...licenseTexts].sort().join(', ')}` : ''})`);

// --- 3. Minimum glibc --------------------------------------------------------------------
const needs = new Map([['fer-engine-native.node', versionNeeds(addon)], ...libs.map((l) => [`lib/${l.soname}`, versionNeeds(join(libDir, l.soname))])]);
let glibc = '0';
for (const names of needs.values()) {
  const v = newest(names, 'GLIBC_');
  if (v && compareVersions(v, glibc) > 0) glibc = v;
}
if (glibc === '0') fail('found no GLIBC_x.y version needs with readelf -V; cannot tell the minimum glibc.');
writeFileSync(join(libDir, 'GLIBC_REQUIRED'), `${glibc}\n`);
console.log(`${TAG} minimum glibc: ${glibc} (written to lib/GLIBC_REQUIRED); by file:`);
for (const [file, names] of needs) {
  const cxx = newest(names, 'GLIBCXX_');
  console.log(`  ${file.padEnd(24)} GLIBC_${newest(names, 'GLIBC_') ?? '-'}${cxx ? `  GLIBCXX_${cxx}` : ''}`);
}
const glibcxx = [...needs.entries()].filter(([f]) => !f.includes('libstdc++')).map(([, n]) => newest(n, 'GLIBCXX_')).filter(Boolean).sort(compareVersions).at(-1);
if (glibcxx) {
  console.log(`  note: inside Node the process's own libstdc++.so.6 is used (node loads it first), so the system's must provide GLIBCXX_${glibcxx}.`);
}

// --- 4. Verify ---------------------------------------------------------------------------
const resolved = new Map(ldd(addon).map((d) => [d.name, d.path]));
console.log(`${TAG} ldd fer-engine-native.node after bundling:`);
const wrongDirect = [];
const wrongTransitive = [];
for (const lib of bundle.values()) {
  const path = resolved.get(lib.soname);
  const fromLib = path && realpathSync(path) === realpathSync(join(libDir, lib.soname));
  const direct = directNeeds.has(lib.soname);
  console.log(`  ${lib.soname.padEnd(16)} => ${path ?? 'not listed'}  ${fromLib ? 'ok (lib/)' : direct ? 'WRONG: not from lib/' : 'system copy (needed only by a bundled library)'}`);
  if (!fromLib) (direct ? wrongDirect : wrongTransitive).push(lib.soname);
}
if (wrongDirect.length) {
  fail(`${wrongDirect.join(', ')} resolve outside lib/ although fer-engine-native.node needs them directly: ` +
    'is it still linked with -Wl,-rpath,$ORIGIN/lib (scripts/build.mjs)? Check: readelf -d fer-engine-native.node | grep PATH.');
}
if (wrongTransitive.length) {
  console.warn(`${TAG} WARNING: ${wrongTransitive.join(', ')} ${wrongTransitive.length === 1 ? 'is' : 'are'} needed only by bundled libraries and ` +
    'resolved from the system: the addon\'s DT_RUNPATH ($ORIGIN/lib) applies to its own dependencies only, and the bundled ' +
    'libraries have no run path of their own. On a machine without them the addon fails to load. Fix in scripts/build.mjs: ' +
    'link with -Wl,--disable-new-dtags (DT_RPATH also serves the dependencies of dependencies), or name them as direct ' +
    'dependencies (-Wl,--no-as-needed -lOpenCL -Wl,--as-needed).');
}

const probe = `
const info = require('./fer-engine-native.node').info();
const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
const libs = [...new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5]).filter((p) => p && /\\.so(\\.|$)/.test(p)))];
console.log(JSON.stringify({ info, libs }));`;
const child = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
if (child.status !== 0) fail(`the addon does not load in node (exit ${child.status}): ${(child.stderr || child.stdout).trim().split('\n').slice(0, 5).join(' | ')}`);
let loaded;
try {
  loaded = JSON.parse(child.stdout.trim().split('\n').at(-1));
} catch {
  fail(`the load check printed no result: ${child.stdout.trim()}`);
}
const { info, libs: mapped } = loaded;
console.log(`${TAG} loads in node ${process.version}: oneDNN ${info.dnnl}, ISA ${info.isa}, ${info.threads} thread(s); in that process:`);
for (const lib of bundle.values()) {
  const stem = lib.soname.replace(/\.so.*$/, '.so');
  const hit = mapped.find((p) => basename(p).startsWith(stem));
  const where = !hit ? 'not mapped' : dirname(hit) === libDir ? 'lib/ (bundled)' : `${hit} (system; ${/^lib(stdc\+\+|gcc_s)\./.test(lib.soname) ? 'node had already loaded it' : 'not the bundled copy'})`;
  console.log(`  ${lib.soname.padEnd(16)} ${where}`);
}
console.log(`${TAG} done: lib/ holds ${bundle.size} libraries, ${mib(total)}; glibc >= ${glibc}.`);
