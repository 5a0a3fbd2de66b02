// Rebuilds what is out of date before something runs from built output: each TypeScript package whose
// sources (or build config) are newer than its dist/index.js, then the harness (the `fer` CLI) when
// harness/src, harness/experiments or its config are newer than harness/dist/cli.js. Used by harness/bin/fer.mjs
// (so `pnpm fer` right after `pnpm install` works) and by the README doc-test (it packs the packages' dist).
// Only modification times are compared (stat of ~200 files, a few ms); builds run tsup in the package folder.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const SHARED = ['tsup.config.base.ts', 'tsconfig.base.json'];

/** The buildable targets in dependency order: TypeScript packages (tsup), then the harness. */
export function targets(root = ROOT) {
  const pkgs = readdirSync(join(root, 'packages'))
    .map((d) => ({ dir: join(root, 'packages', d), pkg: readJson(join(root, 'packages', d, 'package.json')) }))
    .filter((p) => p.pkg?.scripts?.build === 'tsup');
  const names = new Set(pkgs.map((p) => p.pkg.name));
  // Topological order over the @fer dependencies (a package's .d.ts build reads its dependencies' dist).
  const ordered = [];
  const visit = (p, seen = new Set()) => {
    if (ordered.includes(p) || seen.has(p)) return;
    seen.add(p);
    for (const dep of Object.keys({ ...p.pkg.dependencies, ...p.pkg.peerDependencies })) {
      if (names.has(dep)) visit(pkgs.find((q) => q.pkg.name === dep), seen);
    }
    ordered.push(p);
  };
  for (const p of pkgs) visit(p);
  const list = ordered.map((p) => ({ name: p.pkg.name, dir: p.dir, inputs: ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json'], output: 'dist/index.js' }));
  list.push({ name: '@fer/harness', dir: join(root, 'harness'), inputs: ['src', 'experiments', 'package.json', 'tsup.config.ts'], output: 'dist/cli.js' });
  return list;
}

/** Why `t` needs a build ('dist/index.js missing', 'src/x.ts changed'), or undefined when it is up to date. */
export function staleReason(t, root = ROOT) {
  let built;
  try {
    built = statSync(join(t.dir, t.output)).mtimeMs;
  } catch {
    return `${t.output} missing`;
  }
  for (const f of SHARED) if (mtime(join(root, f)) > built) return `${f} changed`;
  for (const input of t.inputs) {
    const newer = newestFile(join(t.dir, input));
    if (newer && newer.mtimeMs > built) return `${join(input, newer.rel).replace(/\/$/, '')} changed`;
  }
  return undefined;
}

/**
 * Builds every stale target (`only`: names to consider, default all). Returns the names built.
 * Throws with tsup's output when a build fails. A lock file keeps two processes from building at once.
 */
export function buildIfStale({ root = ROOT, only, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const all = targets(root).filter((t) => !only || only.includes(t.name));
  const stale = all.filter((t) => staleReason(t, root));
  if (!stale.length) return [];
  return withLock(join(root, 'node_modules', '.fer-build.lock'), () => {
    const built = [];
    for (const t of all) {
      const why = staleReason(t, root); // again: another process may have built it meanwhile
      if (!why) continue;
      log(`fer: building ${t.name} (${why}) ...`);
      const tsup = join(root, 'node_modules', '.bin', 'tsup');
      const r = spawnSync(tsup, [], { cwd: t.dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      if (r.status !== 0) {
        throw new Error(`building ${t.name} failed (tsup exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}\nFix the error above, or run \`pnpm build\` to see it.`);
      }
      built.push(t.name);
    }
    return built;
  });
}

// --- Internal helpers ---

/** A JSON file's content, or undefined when it is missing or not JSON (also used by scripts/setup.mjs). */
export function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest file under `path` (a file or a folder; tests and fixtures do not count), or undefined. */
function newestFile(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return { rel: '', mtimeMs: st.mtimeMs };
  let best;
  for (const e of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || /\.test\.ts$|__fixtures__/.test(join(e.parentPath, e.name))) continue;
    const full = join(e.parentPath, e.name);
    const m = mtime(full);
    if (!best || m > best.mtimeMs) best = { rel: full.slice(path.length + 1), mtimeMs: m };
  }
  return best;
}

/** Runs `fn` holding `lock` (created exclusively); waits for another holder, taking over a lock older than 10 min. */
function withLock(lock, fn) {
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 200) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (existsSync(lock) && Date.now() - mtime(lock) > 600_000) rmSync(lock, { force: true });
      if (waited === 0) process.stderr.write('fer: waiting for another build to finish ...\n');
      Atomics.wait(sleep, 0, 0, 200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
