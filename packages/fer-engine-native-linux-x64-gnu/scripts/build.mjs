#!/usr/bin/env node
// Builds fer-engine-native.node from src/*.cc with the system g++ against Debian's oneDNN (libdnnl-dev)
// and the Node-API headers of the node-api-headers npm package (nothing is downloaded).
//   node scripts/build.mjs            build when sources changed; when a tool or library is missing, say
//                                     why, write native-build.json { built: false, reason } and exit 0
//                                     (@fer/engine then runs on its WASM kernels and reports the reason)
//   node scripts/build.mjs --require  the same, but a missing tool or a failed build exits 1 (CI, prepack)
//   node scripts/build.mjs --check    exit 1 unless the last build succeeded and is up to date
// FER_NATIVE_REQUIRED=1 in the environment is the same as --require; FER_NATIVE_SKIP=1 skips the build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'fer-engine-native.node');
const record = join(root, 'native-build.json');
const args = new Set(process.argv.slice(2));
const required = args.has('--require') || process.env.FER_NATIVE_REQUIRED === '1';
const sources = readdirSync(join(root, 'src')).filter((f) => f.endsWith('.cc')).map((f) => join(root, 'src', f));
const inputs = [...sources, ...readdirSync(join(root, 'src')).filter((f) => f.endsWith('.h')).map((f) => join(root, 'src', f)), fileURLToPath(import.meta.url)];

function upToDate() {
  if (!existsSync(out)) return false;
  const t = statSync(out).mtimeMs;
  return inputs.every((f) => statSync(f).mtimeMs <= t);
}

function skip(reason) {
  writeFileSync(record, `${JSON.stringify({ built: false, reason, at: new Date().toISOString() }, null, 2)}\n`);
  const msg = `@fer/engine-native: not built: ${reason}. @fer/engine will use its WASM kernels.`;
  if (required) {
    console.error(`${msg}\nFix: apt-get install g++ libdnnl-dev (Debian 12), then pnpm --filter @fer/engine-native-linux-x64-gnu build.`);
    process.exit(1);
  }
  console.warn(`${msg} Fix: apt-get install g++ libdnnl-dev, then rebuild.`);
  process.exit(0);
}

if (args.has('--check')) {
  if (!upToDate()) {
    console.error('@fer/engine-native: fer-engine-native.node is missing or older than its sources; run pnpm build.');
    process.exit(1);
  }
  process.exit(0);
}
if (process.env.FER_NATIVE_SKIP === '1') skip('FER_NATIVE_SKIP=1');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`this package is for linux-x64, not ${process.platform}-${process.arch}`);
if (upToDate()) process.exit(0);

const cxx = process.env.CXX || 'g++';
if (spawnSync(cxx, ['--version'], { encoding: 'utf8' }).status !== 0) skip(`no C++ compiler (${cxx})`);
let napiInclude;
try {
  napiInclude = createRequire(join(root, 'package.json'))('node-api-headers').include_dir;
} catch {
  skip('the node-api-headers package is not installed (pnpm install)');
}
const dnnlHeader = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].find(existsSync);
if (!dnnlHeader) skip('oneDNN headers not found (/usr/include/oneapi/dnnl/dnnl.hpp; Debian package libdnnl-dev)');

const tmp = `${out}.tmp-${process.pid}`;
const flags = [
  '-std=c++17', '-O3', '-fPIC', '-shared', '-fvisibility=hidden', '-fopenmp',
  // NOTE: no FMA contraction, so element-wise results equal tfjs-backend-wasm's bit for bit, in every per-ISA copy
  // of src/eltwise_isa.h (the AVX2 and AVX-512 copies enable FMA instructions). No -march and no -ffast-math: the
  // baseline is x86-64's SSE2, and the wider copies are chosen at run time (src/eltwise.cc, kern()).
  '-ffp-contract=off', '-fno-math-errno',
  `-I${napiInclude}`, `-I${dirname(dirname(dnnlHeader))}`, '-DNAPI_VERSION=8',
  ...sources, '-o', tmp,
  // The published package carries its libraries in lib/ beside the binary; elsewhere the system's are used.
  // RPATH, not RUNPATH (--disable-new-dtags): only RPATH also serves the libraries' own dependencies
  // (oneDNN's libOpenCL and libgomp).
  "-Wl,-rpath,$ORIGIN/lib", '-Wl,--disable-new-dtags', '-Wl,--as-needed', '-ldnnl',
];
const t0 = performance.now();
try {
  execFileSync(cxx, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (e) {
  rmSync(tmp, { force: true });
  skip(`${cxx} failed (exit ${e.status ?? '?'}); see the compiler output above`);
}
renameSync(tmp, out);
const version = execFileSync(cxx, ['-dumpfullversion'], { encoding: 'utf8' }).trim();
writeFileSync(record, `${JSON.stringify({ built: true, compiler: `${cxx} ${version}`, seconds: Math.round((performance.now() - t0) / 100) / 10, at: new Date().toISOString() }, null, 2)}\n`);
console.log(`@fer/engine-native: built fer-engine-native.node in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
