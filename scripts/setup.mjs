#!/usr/bin/env node
// `pnpm run setup`: checks this checkout is ready to train and reproduce, builds what is out of date, and says
// what to do about anything missing. Required (exit 1 when missing): a supported Node, the installed
// dependencies, and the packages and the `fer` CLI built. Optional (reported, exit 0): the native CPU kernels,
// the FER2013 data, a GPU for WebGPU, Python with PyTorch for `pnpm bench`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildIfStale, readJson, staleReason, targets } from './build-if-stale.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** Whether `version` (e.g. '20.19.1') satisfies the root engines range ('>=20.19 <21 || >=22.12'). */
export function nodeSatisfies(version, range) {
  const v = version.replace(/^v/, '').split('.').map(Number);
  const cmp = (a) => { for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (a[i] ?? 0)) return (v[i] ?? 0) - (a[i] ?? 0); return 0; };
  return range.split('||').some((alt) => alt.trim().split(/\s+/).every((c) => {
    const m = /^(>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})$/.exec(c);
    if (!m) throw new Error(`setup: cannot read the engines range part "${c}"`);
    const d = cmp(m[2].split('.').map(Number));
    return { '>=': d >= 0, '<=': d <= 0, '>': d > 0, '<': d < 0, '=': d === 0, undefined: d === 0 }[m[1]];
  }));
}

/** The checks, in order: [{ name, ok, required, detail, fix? }]. */
export async function runChecks({ root = ROOT, env = process.env, build = true } = {}) {
  const checks = [];
  const add = (name, ok, required, detail, fix) => checks.push({ name, ok, required, detail, ...(ok ? {} : { fix }) });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

  const range = pkg.engines.node;
  add('node', nodeSatisfies(process.versions.node, range), true, `${process.versions.node} (needs ${range})`, `install Node 20.19+ or 22.12+ (e.g. nvm install 20)`);

  const pnpmWanted = pkg.packageManager.replace(/^pnpm@/, '');
  const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  const pnpmHave = pnpm.status === 0 ? pnpm.stdout.trim() : undefined;
  add('pnpm', pnpmHave === pnpmWanted, false, pnpmHave ? `${pnpmHave} (the repo pins ${pnpmWanted})` : 'not found', `corepack enable, or npm install -g pnpm@${pnpmWanted}`);

  const installed = existsSync(join(root, 'node_modules', '.pnpm')) && existsSync(join(root, 'harness', 'node_modules', 'citty'));
  add('dependencies', installed, true, installed ? 'installed' : 'node_modules missing', 'pnpm install');

  if (installed) {
    let built = [], error;
    if (build) {
      try {
        built = buildIfStale({ root, log: () => {} });
      } catch (e) {
        error = e;
      }
    }
    const stale = targets(root).filter((t) => staleReason(t, root)).map((t) => `${t.name} (${staleReason(t, root)})`);
    add('build', !error && !stale.length, true,
      error ? `failed: ${error.message.split('\n')[0]}` : stale.length ? `out of date: ${stale.join(', ')}` : built.length ? `rebuilt ${built.join(', ')}` : 'packages and the fer CLI are up to date',
      'pnpm build (shows the error)');
  }

  const nativeDir = join(root, 'packages', 'fer-engine-native-linux-x64-gnu');
  const record = readJson(join(nativeDir, 'native-build.json'));
  const nativeOk = existsSync(join(nativeDir, 'fer-engine-native.node')) && record?.built !== false;
  add('native CPU kernels', nativeOk, false,
    nativeOk ? `built${record?.compiler ? ` with ${record.compiler}` : ''} (training runs on oneDNN)` : `not built: ${record?.reason ?? 'fer-engine-native.node missing'}; training falls back to the slower WASM kernels`,
    'apt-get install g++ libdnnl-dev (Debian 12), then pnpm install (or pnpm --filter @fer/engine-native-linux-x64-gnu build)');

  const shared = join(root, '..', 'shared', 'data', 'fer2013', 'fer2013.csv.gz');
  const data = env.FER2013_PATH || (existsSync(shared) ? shared : undefined);
  const dataOk = !!data && existsSync(data);
  add('FER2013 data', dataOk, false,
    dataOk ? `${data}${env.FER2013_PATH ? ' (FER2013_PATH)' : ''}` : env.FER2013_PATH ? `FER2013_PATH=${env.FER2013_PATH} does not exist` : 'FER2013_PATH is not set',
    'download fer2013.csv(.gz) or fer2013.tar.gz from Kaggle (challenges-in-representation-learning-facial-expression-recognition-challenge) and export FER2013_PATH=/path/to/it; without it, fer and the tests use the synthetic set');

  if (installed) {
    try {
      const req = createRequire(join(root, 'harness', 'package.json'));
      const engine = await import(req.resolve('@fer/engine'));
      const info = await engine.initBackend();
      add('backend', true, false, `${info.backend}: ${info.reason}`);
      await engine.disposeBackend();
    } catch (e) {
      add('backend', false, false, `initBackend() failed: ${e.message}`, 'see packages/fer-engine/README.md, "Backends"');
    }
  }

  const py = spawnSync(env.FER_PYTHON || '/usr/bin/python3', ['-c', 'import torch, pandas; print(torch.__version__)'], { encoding: 'utf8' });
  add('PyTorch peer (pnpm bench only)', py.status === 0, false, py.status === 0 ? `torch ${py.stdout.trim()}` : 'python3 with torch and pandas not found', 'apt-get install python3-torch python3-pandas (only `pnpm bench` compares against PyTorch)');
  return checks;
}


// --- CLI ---

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const checks = await runChecks({ build: !process.argv.includes('--no-build') });
  for (const c of checks) {
    process.stdout.write(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name}: ${c.detail}\n${c.ok ? '' : `     fix: ${c.fix}\n`}`);
  }
  const failed = checks.filter((c) => !c.ok && c.required);
  process.stdout.write(failed.length ? `\nnot ready: ${failed.map((c) => c.name).join(', ')}\n` : '\nready: pnpm fer --help, pnpm reproduce --help\n');
  process.exit(failed.length ? 1 : 0);
}
