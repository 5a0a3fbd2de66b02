// Issue 26: what a newcomer trips on, through the CLI as typed (tsx on the sources, like user-model.e2e.test.ts):
// suggestions for a misspelled command, flag or model; a subcommand's own --help; data flags and load-time
// checks; a user model in a folder outside the repository.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeSyntheticFer } from '@fer/data';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

/** `pnpm fer ...` typed in `o.cwd` (pnpm runs the harness at the repository root with the user's folder in INIT_CWD). */
function fer(args: string[], o: { cwd?: string; env?: Record<string, string>; onStdout?: (text: string, kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    // NOTE: as from a shell: citty prints usage through consola, which is silent under a test runner's variables.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST$|NODE_ENV$)/.test(k)));
    const child = spawn(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', join(here, 'cli.ts'), ...args], {
      cwd: join(repo, 'harness'), env: { ...env, FER2013_PATH: '', INIT_CWD: o.cwd ?? repo, FER_ENGINE_WEBGPU: '0', ...o.env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      o.onStdout?.(stdout, (sig) => child.kill(sig));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

/** A FER2013-style CSV of synthetic faces: `usage` false drops the Usage column; `bad` truncates one row. */
function csv(file: string, o: { usage?: boolean; bad?: boolean } = {}): string {
  const ds = makeSyntheticFer({ seed: 5, counts: { Training: 140, PublicTest: 35, PrivateTest: 35 } });
  const splits = ['Training', 'PublicTest', 'PrivateTest'];
  const lines = [o.usage === false ? 'emotion,pixels' : 'emotion,pixels,Usage'];
  for (let i = 0; i < ds.count; i++) {
    let px = Array.from(ds.pixels.subarray(i * 2304, (i + 1) * 2304)).join(' ');
    if (o.bad && i === 3) px = px.slice(0, 100);
    lines.push(o.usage === false ? `${ds.labels[i]},${px}` : `${ds.labels[i]},${px},${splits[ds.splits[i]]}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const TINY = ['--backend', 'cpu', '--set', 'model.filters=[2,2]', '--set', 'model.denseUnits=4', '--set', 'epochs=1', '--set', 'batch=16', '--set', 'limit=48', '--set', 'train.evalLimit=16'];

describe('newcomer: suggestions (one mechanism: src/suggest.ts)', () => {
  it('fer trian suggests train, without the whole usage', async () => {
    const r = await fer(['trian']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/fer: error E_UNKNOWN_COMMAND: fer trian: unknown command\. Did you mean "train"\?/);
    expect(r.stdout + r.stderr).not.toMatch(/USAGE/);
  }, 120_000);

  it('--epochs 3 suggests --set epochs=3; a misspelled model suggests the nearest and --config', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fer-newcomer-'));
    const e = await fer(['train', '--model', 'paper-shallow', '--out', out, '--epochs', '3']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/unknown flag --epochs\. Did you mean --set epochs=3\?/);
    const lr = await fer(['reproduce', '--learning-rate=1e-3', '--dry-run']);
    expect(lr.stderr).toMatch(/Did you mean --set train\.learningRate=1e-3\?/);
    const m = await fer(['train', '--model', 'paper-shalow', '--out', out, '--data', 'synthetic']);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/E_UNKNOWN_MODEL: --model paper-shalow: unknown model\. Did you mean "paper-shallow"\?/);
    expect(m.stderr).toMatch(/--config/);
    expect(m.stderr).not.toMatch(/registry\.register/);
  }, 120_000);

  it('fer data stats --help prints its own help', async () => {
    const r = await fer(['data', 'stats', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Per split and class counts, duplicates/);
    expect(r.stdout).toMatch(/--skip-bad-rows/);
    expect(r.stdout).not.toMatch(/Inspect FER data sets/);
  }, 120_000);
});

describe('newcomer: fer train stops cleanly', () => {
  it('SIGTERM mid-run: a checkpoint, the command that continues, exit 0; that command finishes the run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fer-newcomer-')), 'run');
    let sent = false;
    const args = ['train', '--model', 'paper-shallow', '--data', 'synthetic', '--out', out, ...TINY];
    const r = await fer(args, {
      env: { FER_REPRODUCE_TEST_HOLD_AFTER_STEPS: '2' },
      onStdout: (text, kill) => { if (!sent && text.includes('test hook: holding')) { sent = true; kill('SIGTERM'); } },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SIGTERM: stopping after the current training step, then writing a checkpoint/);
    expect(r.stdout).toMatch(/Stopped on request \(SIGTERM\) in epoch 1 of 1 \(step 2 of \d+\); checkpoint saved/);
    expect(existsSync(join(out, 'checkpoints', 'partial.ferckpt'))).toBe(true);
    const command = /Continue exactly where it stopped with:\n {2}(.+)/.exec(r.stdout)?.[1] ?? '';
    expect(command).toMatch(/^pnpm fer train --model paper-shallow .* --out \S+ --resume$/);
    const again = await fer(command.replace(/^pnpm fer /, '').split(' ').map((a) => a.replace(/^'(.*)'$/, '$1')));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/PublicTest accuracy [\d.]+% on a \d+-row subset of 350/);
  }, 300_000);
});

describe('newcomer: data dead ends', () => {
  it('a CSV without Usage says so at load time (no NaN metric); --split-seed carves the splits and trains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-newcomer-'));
    const file = csv(join(dir, 'nousage.csv'), { usage: false });
    const r = await fer(['train', '--model', 'paper-shallow', '--data', file, '--out', join(dir, 'a'), ...TINY]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_EMPTY_INPUT: .*nousage\.csv: no PublicTest and no PrivateTest rows .*without a Usage column.*--split-seed N/);
    expect(r.stdout + r.stderr).not.toMatch(/NaN/);
    expect(existsSync(join(dir, 'a', 'config.json'))).toBe(false);
    const ok = await fer(['train', '--model', 'paper-shallow', '--data', file, '--split-seed', '1', '--out', join(dir, 'b'), ...TINY]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/--split-seed 1: \d+ rows held out as PublicTest and \d+ as PrivateTest/);
    expect(ok.stdout).not.toMatch(/NaN/);
  }, 300_000);

  it('a truncated row names --skip-bad-rows, which fer train takes; --drop-test-duplicates works in train', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-newcomer-'));
    const file = csv(join(dir, 'bad.csv'), { bad: true });
    const r = await fer(['train', '--model', 'paper-shallow', '--data', file, '--out', join(dir, 'a'), ...TINY]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pass --skip-bad-rows to skip/);
    expect(r.stderr).not.toMatch(/onBadRow/);
    const ok = await fer(['train', '--model', 'paper-shallow', '--data', file, '--skip-bad-rows', '--drop-test-duplicates', '--out', join(dir, 'b'), ...TINY]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/skipped 1 bad row/);
  }, 300_000);
});

describe('newcomer: pnpm reproduce takes the same data flags and checks', () => {
  it('a truncated row names --skip-bad-rows, which reproduce takes (with --drop-test-duplicates); no Usage column: --split-seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-newcomer-'));
    const bad = csv(join(dir, 'bad.csv'), { bad: true });
    const plan = ['--only', 'accuracy', '--budget', 'smoke', '--dry-run', '--backend', process.env.FER_BACKEND ?? 'auto', '--set', 'train.trainLimit=48', '--set', 'train.evalLimit=16'];
    const r = await fer(['reproduce', '--data', bad, '--out', join(dir, 'a'), ...plan], { env: { FER_CACHE_DIR: join(dir, 'cache') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pass --skip-bad-rows to skip/);
    expect(r.stderr).not.toMatch(/onBadRow/);
    const ok = await fer(['reproduce', '--data', bad, '--skip-bad-rows', '--drop-test-duplicates', '--out', join(dir, 'b'), ...plan], { env: { FER_CACHE_DIR: join(dir, 'cache') } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/skipped 1 bad row/);
    expect(ok.stdout).toMatch(/^ETA ~/m);
    const nousage = csv(join(dir, 'nousage.csv'), { usage: false });
    const n = await fer(['reproduce', '--data', nousage, '--out', join(dir, 'c'), ...plan], { env: { FER_CACHE_DIR: join(dir, 'cache') } });
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/E_EMPTY_INPUT: .*nousage\.csv: no PublicTest and no PrivateTest rows .*--split-seed N/);
    const carved = await fer(['reproduce', '--data', nousage, '--split-seed', '1', '--out', join(dir, 'd'), ...plan], { env: { FER_CACHE_DIR: join(dir, 'cache') } });
    expect(carved.code, carved.stderr).toBe(0);
    expect(carved.stdout).toMatch(/--split-seed 1: \d+ rows held out as PublicTest and \d+ as PrivateTest/);
  }, 300_000);
});

describe('newcomer: a user model in a folder outside the repository', () => {
  it('its fer.config.mjs imports @tensorflow/tfjs and @fer/models and gets the harness\'s single copies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-own-folder-'));
    expect(dir.startsWith(repo)).toBe(false);
    // A second tfjs in the user's folder (what `npm install @tensorflow/tfjs` there gives): it must not be loaded.
    mkdirSync(join(dir, 'node_modules', '@tensorflow', 'tfjs'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', '@tensorflow', 'tfjs', 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs', version: '4.22.0', type: 'module', main: 'index.js' }));
    writeFileSync(join(dir, 'node_modules', '@tensorflow', 'tfjs', 'index.js'), "throw new Error('a second copy of tfjs was loaded');\n");
    // README "Add a model" steps 1 and 3: the model in its own file, a fer.config.mjs that lists it.
    writeFileSync(join(dir, 'my-net.mjs'), `import * as tf from '@tensorflow/tfjs';
import { defineModel, scaleWidths } from '@fer/models';
export const myNet = defineModel({
  name: 'my-net', description: 'tiny', paper: { cite: 'none' }, inputs: { image: [48, 48, 1] }, numClasses: 7,
  defaults: { inputSize: 48, numClasses: 7, filters: [2] },
  scaleWidth: (c, f) => scaleWidths(c, ['filters'], f),
  build(c) {
    const image = tf.input({ shape: [c.inputSize, c.inputSize, 1], name: 'image' });
    let x = tf.layers.conv2d({ filters: c.filters[0], kernelSize: 3 }).apply(image);
    x = tf.layers.globalAveragePooling2d({}).apply(x);
    return tf.model({ inputs: image, outputs: tf.layers.dense({ units: c.numClasses, activation: 'softmax' }).apply(x) });
  },
});
`);
    writeFileSync(join(dir, 'fer.config.mjs'), "import { myNet } from './my-net.mjs';\nexport default { models: [myNet] };\n");
    const r = await fer(['train', '--model', 'my-net', '--data', 'synthetic', '--out', join(dir, 'run'), '--backend', 'cpu', '--set', 'epochs=1', '--set', 'batch=16', '--set', 'limit=48', '--set', 'train.evalLimit=16'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/already registered|Cannot find package|second copy/);
    expect(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'))).toMatchObject({ model: { name: 'my-net' } });
  }, 300_000);
});
