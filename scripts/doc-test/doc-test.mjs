#!/usr/bin/env node
// The README doc-test: packs every published package, installs the tarballs with npm into one fresh npm
// project in a temp folder (npm init -y; npm install of the packages and their peers at the catalog versions),
// and runs each README's runnable blocks there, verbatim (see readme.mjs for the marker and the output check).
// Offline: npm installs from a local registry that serves the packed tarballs and pnpm's store (registry.mjs).
//
//   node scripts/doc-test/doc-test.mjs [packages/fer-hog ...]   # all published packages by default
//   FER_DOC_TEST_KEEP=1 keeps the project (its path is printed) to try things in; --project <dir> reuses one.
//
// `pnpm test` runs it through doc-test.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { buildIfStale } from '../build-if-stale.mjs';
import { checkOutput, runnableBlocks } from './readme.mjs';
import { startRegistry } from './registry.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** The published packages (packages/* without "private": true): [{ name, dir, manifest }]. */
export function publishedPackages(root = ROOT) {
  return readdirSync(join(root, 'packages'))
    .map((d) => ({ dir: join(root, 'packages', d), manifest: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ name: p.manifest.name, dir: p.dir, manifest: p.manifest }));
}

/**
 * The peers every example may need, at the workspace catalog's versions, and jpeg-js (the JPEG decoder the photo
 * examples use) at @fer/face's dev version.
 */
export function catalogPeers(root = ROOT) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const version = (name) => {
    const m = new RegExp(`^\\s+'?${name.replace(/[/.]/g, '\\$&')}'?:\\s*(\\S+)`, 'm').exec(yaml);
    if (!m) throw new Error(`pnpm-workspace.yaml: no catalog entry for ${name}`);
    return m[1];
  };
  const jpeg = JSON.parse(readFileSync(join(root, 'packages', 'fer-face', 'package.json'), 'utf8')).devDependencies['jpeg-js'];
  return [...['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'].map((n) => `${n}@${version(n)}`), `jpeg-js@${jpeg}`];
}

/**
 * Packs the published packages and installs them into a fresh npm project under `dir` (a new temp folder by
 * default). Returns { dir, project, tarballs: [{ name, file, files, manifest }], skipped: [{ name, why }], seconds }.
 */
export async function prepareProject({ root = ROOT, dir, log = () => {} } = {}) {
  if (dir) return prepareIn({ root, dir, log });
  const tmp = mkdtempSync(join(tmpdir(), 'fer-doc-test-'));
  try {
    return await prepareIn({ root, dir: tmp, log });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function prepareIn({ root, dir, log }) {
  const t0 = performance.now();
  const pkgs = publishedPackages(root);
  // The tarballs hold dist/: build what is older than its sources first (a no-op after `pnpm build`).
  buildIfStale({ root, only: pkgs.map((p) => p.name), log });
  const tarDir = join(dir, 'tarballs');
  mkdirSync(tarDir, { recursive: true });
  const tarballs = [], skipped = [];
  for (const p of pkgs) {
    log(`packing ${p.name}`);
    const r = spawnSync('pnpm', ['pack', '--pack-destination', tarDir], { cwd: p.dir, encoding: 'utf8' });
    const file = r.status === 0 ? readdirSync(tarDir).map((f) => join(tarDir, f)).find((f) => !tarballs.some((t) => t.file === f)) : undefined;
    if (!file) {
      const why = `pnpm pack failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
      // NOTE: only the native addon may be missing (no g++/oneDNN here): @fer/engine then runs on its WASM
      // kernels, as for a user without the optional package. CI sets FER_NATIVE_REQUIRED=1.
      if (p.manifest.os && process.env.FER_NATIVE_REQUIRED !== '1') {
        skipped.push({ name: p.name, why });
        continue;
      }
      throw new Error(`${p.name}: ${why}`);
    }
    const files = tarList(file);
    const manifest = JSON.parse(spawnSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }).stdout);
    tarballs.push({ name: p.name, file, files, manifest });
  }
  const registry = await startRegistry({ store: join(root, 'node_modules', '.pnpm'), packed: tarballs });
  const project = join(dir, 'project');
  mkdirSync(project);
  try {
    const env = npmEnv(dir, registry.url);
    await run('npm', ['init', '-y'], { cwd: project, env });
    const specs = [...tarballs.filter((t) => !t.manifest.os).map((t) => t.name), ...catalogPeers(root)];
    log(`npm install ${specs.join(' ')}`);
    const r = await run('npm', ['install', '--no-audit', '--no-fund', ...specs], { cwd: project, env });
    if (r.status !== 0) throw new Error(`npm install ${specs.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  } finally {
    await registry.close();
  }
  return { dir, project, tarballs, skipped, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Runs one README block in `project` (in a folder per package) as a stranger would: `node <file>` with a
 * plain environment (no FER_* variables, no NODE_OPTIONS); the files it `uses` are copied from `packageDir`
 * beside it first. Returns { ok, message?, status, stdout, stderr, seconds }.
 */
export async function runBlock({ project, folder, block, packageDir, timeoutMs = 600_000 }) {
  const cwd = join(project, folder);
  mkdirSync(cwd, { recursive: true });
  for (const u of block.uses ?? []) {
    if (!packageDir) throw new Error(`README line ${block.line}: the block uses ${u}, but no packageDir was given to copy it from`);
    copyFileSync(join(packageDir, u), join(cwd, basename(u)));
  }
  writeFileSync(join(cwd, block.file), block.code);
  const t0 = performance.now();
  const r = await run(process.execPath, [block.file], { cwd, env: plainEnv(), timeoutMs });
  const seconds = (performance.now() - t0) / 1000;
  const where = `${folder}/${block.file} (README line ${block.line})`;
  let message;
  if (r.timedOut) message = `${where} did not finish in ${timeoutMs / 1000} s`;
  else if (r.status !== 0) message = `${where} exited with ${r.status ?? r.signal}:\n${r.stderr.trim()}`;
  else if (r.stderr.trim()) message = `${where} wrote to stderr (examples must run quietly):\n${r.stderr.trim()}`;
  else message = checkOutput(block, r.stdout);
  return { ok: !message, message: message && !message.startsWith(where) ? `${where}: ${message}` : message, ...r, seconds };
}

/** The runnable blocks of a README file, with the folder name to run them in. */
export function readmeBlocks(readmePath) {
  return runnableBlocks(readFileSync(readmePath, 'utf8'));
}

// --- Internal helpers ---

function tarList(file) {
  return spawnSync('tar', ['-tzf', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
}

/** npm with a private cache and config, pointed at the local registry only. */
function npmEnv(dir, registry) {
  const npmrc = join(dir, 'npmrc');
  writeFileSync(npmrc, `registry=${registry}\n`);
  writeFileSync(`${npmrc}-global`, '');
  return {
    ...plainEnv(),
    npm_config_userconfig: npmrc,
    npm_config_globalconfig: `${npmrc}-global`,
    npm_config_registry: registry,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
  };
}

function plainEnv() {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TERM', 'USER'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

function run(cmd, args, { cwd, env, timeoutMs = 900_000 }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

// --- CLI ---

if (process.argv[1] && basename(process.argv[1]) === 'doc-test.mjs') {
  const args = process.argv.slice(2);
  const reuse = args.includes('--project') ? args.splice(args.indexOf('--project'), 2)[1] : undefined;
  const only = args;
  const log = (m) => process.stderr.write(`${m}\n`);
  const prep = reuse ? { dir: undefined, project: reuse, skipped: [], seconds: 0 } : await prepareProject({ log });
  log(`${reuse ? 'reusing' : 'prepared'} ${prep.project} in ${prep.seconds.toFixed(1)} s${prep.skipped.length ? `; skipped: ${prep.skipped.map((s) => `${s.name} (${s.why})`).join('; ')}` : ''}`);
  let failed = 0;
  for (const p of publishedPackages()) {
    if (only.length && !only.some((o) => p.dir.endsWith(o.replace(/\/$/, '')))) continue;
    const readme = join(p.dir, 'README.md');
    const blocks = existsSync(readme) ? readmeBlocks(readme) : [];
    for (const b of blocks) {
      const r = await runBlock({ project: prep.project, folder: basename(p.dir), block: b, packageDir: p.dir });
      log(`${r.ok ? 'ok  ' : 'FAIL'} ${relative(ROOT, readme)}:${b.line} ${b.file} (${r.seconds.toFixed(1)} s)${r.ok ? '' : `\n${r.message}`}`);
      if (!r.ok) failed++;
    }
  }
  if (process.env.FER_DOC_TEST_KEEP === '1' || reuse) log(`kept ${prep.project}`);
  else rmSync(prep.dir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}
