import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectNoLeak } from '@fer/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fsOps } from './_fs.js';
import { listCheckpoints, readCheckpoint } from './_checkpoint.js';
import { builtinModels, createRegistry, learningRateAt, localStepper, resolveTrainConfig, train, type StepperFactory, type TrainStepBatch } from './index.js';
import { tinyTrainData } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const registry = createRegistry(builtinModels);
const small = { inputSize: 16, filters: [2, 3], denseUnits: 6 };
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = await mkdtemp(join(tmpdir(), 'fer-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function flatWeights(model: tf.LayersModel): number[] {
  return model.getWeights().flatMap((t) => Array.from(t.dataSync()));
}

describe('resolveTrainConfig', () => {
  it('fills the paper preset and rejects unknown keys and bad values', () => {
    const c = resolveTrainConfig();
    expect(c).toMatchObject({ epochs: 30, batchSize: 128, optimizer: { name: 'adam', learningRate: 1e-4 } });
    expect(() => resolveTrainConfig({ epoch: 3 })).toThrow(/unknown config key "epoch". Allowed keys: epochs, batchSize/);
    expect(() => resolveTrainConfig({ optimizer: { lr: 1 } })).toThrow(/unknown config key "lr"/);
    expect(() => resolveTrainConfig({ optimizer: { name: 'adagrad' } })).toThrow(/expected one of "adam", "sgd", "rmsprop"/);
    expect(() => resolveTrainConfig({ epochs: 0 })).toThrow(/E|expected an integer/);
    expect(() => resolveTrainConfig({ classWeights: [1, -1] })).toThrow(/classWeights/);
  });
  it('computes step, cosine and constant schedules', () => {
    const step = resolveTrainConfig({ epochs: 10, optimizer: { learningRate: 1 }, schedule: { kind: 'step', stepSize: 3, gamma: 0.5 } });
    expect([0, 2, 3, 6].map((e) => learningRateAt(step, e))).toEqual([1, 1, 0.5, 0.25]);
    const cos = resolveTrainConfig({ epochs: 10, optimizer: { learningRate: 1 }, schedule: { kind: 'cosine' } });
    expect(learningRateAt(cos, 0)).toBe(1);
    expect(learningRateAt(cos, 5)).toBeCloseTo(0.5, 10);
  });
});

describe('train', () => {
  it('is deterministic for a seed, differs across seeds, reports progress, leaks nothing', async () => {
    const run = async (seed: number) => {
      const model = registry.create('paper-shallow', small, { seed: 1 });
      const data = tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 });
      const events: number[] = [];
      const epochs: number[] = [];
      const result = await expectNoLeak(tf, () =>
        train({ model, data, config: { epochs: 2, seed, optimizer: { learningRate: 1e-3 } }, onProgress: (p) => events.push(p.step), onEpoch: (r) => epochs.push(r.epoch) }),
      );
      const w = flatWeights(model);
      model.dispose();
      return { w, result, events, epochs };
    };
    const a = await run(7), b = await run(7), c = await run(8);
    expect(a.w).toEqual(b.w);
    expect(a.w).not.toEqual(c.w);
    expect(a.events).toEqual([1, 2, 3, 1, 2, 3]);
    expect(a.epochs).toEqual([1, 2]);
    expect(a.result.history).toHaveLength(2);
    expect(a.result.history[1]).toMatchObject({ epoch: 2, lr: 1e-3 });
    expect(a.result.history[1].valAccuracy).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(a.result)).history).toHaveLength(2);
  });

  it('early-stops on a validation plateau, with class weights, label smoothing, SGD and a plateau schedule', async () => {
    // No BN: with lr 1e-9 nothing else moves, so validation accuracy is flat (BN moving statistics would move it).
    const model = registry.create('paper-shallow', { ...small, batchNorm: false }, { seed: 1 });
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const r = await train({
      model, data,
      config: {
        epochs: 5, classWeights: [1, 2, 1, 1, 1, 1, 1], labelSmoothing: 0.1,
        optimizer: { name: 'sgd', learningRate: 1e-9, momentum: 0.9, nesterov: true },
        schedule: { kind: 'plateau', patience: 0, factor: 0.5 }, earlyStopping: { patience: 2 },
      },
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.history).toHaveLength(3);
    expect(r.bestEpoch).toBe(1);
    expect(r.history.map((h) => h.lr)).toEqual([1e-9, 1e-9, 5e-10]);
    model.dispose();
  });

  it('stops with E_ABORTED when the signal aborts', async () => {
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const ac = new AbortController();
    await expect(train({ model, data, config: { epochs: 2 }, signal: ac.signal, onProgress: () => ac.abort() })).rejects.toMatchObject({ code: 'E_ABORTED', message: expect.stringMatching(/epoch 1, step 2/) });
    model.dispose();
  });

  it('stops on a NaN loss naming epoch and step and keeps the last good checkpoint', async () => {
    const ck = join(dir, 'nan');
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const base = tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 });
    const source = {
      stepsPerEpoch: base.train.stepsPerEpoch,
      *epoch(e: number): Iterable<TrainStepBatch> {
        let s = 0;
        for (const b of base.train.epoch(e)) {
          if (e === 1 && s === 2) yield { ...b, x: b.x.map(() => NaN) };
          else yield b;
          s++;
        }
      },
    };
    await expect(train({ model, data: { train: source }, config: { epochs: 3 }, checkpointDir: ck })).rejects.toMatchObject({
      code: 'E_NON_FINITE_LOSS',
      message: expect.stringMatching(/epoch 2, step 3.*last good checkpoint is .*ckpt-000001\.ferckpt/),
    });
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt']);
    model.dispose();
  });

  it('falls back to the previous checkpoint when the newest is corrupt', async () => {
    const ck = join(dir, 'corrupt');
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    await train({ model: m1, data, config: { epochs: 3 }, checkpointDir: ck });
    m1.dispose();
    expect(await readdir(ck)).toEqual(['ckpt-000002.ferckpt', 'ckpt-000003.ferckpt']);
    const newest = join(ck, 'ckpt-000003.ferckpt');
    const bytes = await readFile(newest);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(newest, bytes);
    const m2 = registry.create('paper-shallow', small, { seed: 1 });
    const warnings: string[] = [];
    const r = await train({ model: m2, data, config: { epochs: 3 }, checkpointDir: ck, resume: true, onWarning: (w) => warnings.push(w.code) });
    expect(r.resumedFromEpoch).toBe(2);
    expect(warnings).toEqual(['E_CHECKPOINT_CORRUPT']);
    expect(r.warnings[0].message).toMatch(/ckpt-000003.ferckpt: checksum mismatch/);
    expect(r.history).toHaveLength(3);
    // every checkpoint corrupt -> a clear error
    for (const f of await readdir(ck)) await writeFile(join(ck, f), 'garbage');
    await expect(train({ model: m2, data, config: { epochs: 4 }, checkpointDir: ck, resume: true })).rejects.toMatchObject({ code: 'E_CHECKPOINT_CORRUPT' });
    m2.dispose();
  });

  it('resumes exactly after the process is killed mid-epoch (bit-identical weights)', async () => {
    const script = join(here, '__fixtures__', 'train-child.ts');
    const runChild = (args: string[], onSpawn?: (kill: () => void) => void) =>
      new Promise<number | null>((res, rej) => {
        const child = spawn(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', script, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('error', rej);
        child.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? res(code) : rej(new Error(`child exited ${code}: ${err}`))));
        onSpawn?.(() => child.kill('SIGKILL'));
      });
    const full = join(dir, 'full'), cut = join(dir, 'cut');
    await runChild([full, join(dir, 'full.bin'), '0', '99']);
    await runChild([cut, join(dir, 'cut.bin'), '0', '2'], (kill) => {
      const timer = setInterval(() => {
        if (existsSync(join(cut, 'ckpt-000001.ferckpt'))) {
          clearInterval(timer);
          setTimeout(kill, 300); // epoch 2 steps sleep 150 ms each: we are mid-epoch 2
        }
      }, 20);
    });
    expect(existsSync(join(dir, 'cut.bin'))).toBe(false);
    expect(await readdir(cut)).toContain('ckpt-000001.ferckpt');
    expect(await readdir(cut)).not.toContain('ckpt-000002.ferckpt');
    await runChild([cut, join(dir, 'cut.bin'), '1', '99']);
    const info = JSON.parse(await readFile(join(dir, 'cut.bin.json'), 'utf8'));
    expect(info).toMatchObject({ resumedFromEpoch: 1, epochs: 3 });
    const a = await readFile(join(dir, 'full.bin')), b = await readFile(join(dir, 'cut.bin'));
    expect(a.length).toBeGreaterThan(1000);
    expect(Buffer.compare(a, b)).toBe(0);
  }, 120_000);

  it('a stop signal ends at a step boundary with a mid-epoch checkpoint; resume continues bit-exactly', async () => {
    const data = () => tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 });
    const config = { epochs: 3, seed: 5, optimizer: { learningRate: 1e-3 } };
    const strip = (h: { seconds: number }[]) => h.map((r) => ({ ...r, seconds: 0 }));
    const m0 = registry.create('paper-shallow', small, { seed: 1 });
    const whole = await train({ model: m0, data: data(), config, checkpointDir: join(dir, 'stop-full') });
    const w0 = flatWeights(m0);
    m0.dispose();
    // Stop after global step 5 = epoch 2, step 2 of 3; then once more at the start of epoch 3 (step 0).
    const ck = join(dir, 'stop-cut');
    for (const at of [5, 1]) {
      const m = registry.create('paper-shallow', small, { seed: 1 });
      const ac = new AbortController();
      let n = 0;
      const r = await expectNoLeak(tf, () => train({ model: m, data: data(), config, checkpointDir: ck, resume: true, stop: ac.signal, onProgress: () => { if (++n === at) ac.abort(); } }));
      m.dispose();
      expect(r.stopped).toEqual(at === 5 ? { epoch: 2, step: 2, steps: 3 } : { epoch: 3, step: 0, steps: 3 });
      expect(await readdir(ck)).toContain('partial.ferckpt');
      expect((await readCheckpoint(join(ck, 'partial.ferckpt'))).state.partial).toMatchObject({ step: at === 5 ? 2 : 0 });
    }
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    const rest = await train({ model: m1, data: data(), config, checkpointDir: ck, resume: true });
    expect(rest.stopped).toBeNull();
    expect(rest.resumedFromEpoch).toBe(2);
    expect(flatWeights(m1)).toEqual(w0);
    expect(strip(rest.history)).toEqual(strip(whole.history));
    expect(await readdir(ck)).not.toContain('partial.ferckpt');
    m1.dispose();
  });

  it('stopAfterEpoch pauses after an epoch of the full schedule; resume continues bit-exactly (successive halving)', async () => {
    const data = () => tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 });
    const config = { epochs: 4, seed: 3, optimizer: { learningRate: 1e-3 }, schedule: { kind: 'cosine' } };
    const strip = (h: { seconds: number }[]) => h.map((r) => ({ ...r, seconds: 0 }));
    const m0 = registry.create('paper-shallow', small, { seed: 2 });
    const whole = await train({ model: m0, data: data(), config, checkpointDir: join(dir, 'rung-full') });
    const w0 = flatWeights(m0);
    m0.dispose();
    const ck = join(dir, 'rung-cut');
    // rungs at 1 and 3 epochs of 4; the second call asks for an epoch already trained: it returns at once
    for (const [until, epochs] of [[1, 1], [1, 1], [3, 3]] as const) {
      const m = registry.create('paper-shallow', small, { seed: 2 });
      const r = await expectNoLeak(tf, () => train({ model: m, data: data(), config, checkpointDir: ck, resume: true, stopAfterEpoch: until }));
      m.dispose();
      expect(r.stopped).toEqual({ epoch: until + 1, step: 0, steps: 3 });
      expect(r.history).toHaveLength(epochs);
      expect(r.restoredBest).toBe(false);
      expect(await readdir(ck)).not.toContain('partial.ferckpt');
    }
    const m1 = registry.create('paper-shallow', small, { seed: 2 });
    const rest = await train({ model: m1, data: data(), config, checkpointDir: ck, resume: true, stopAfterEpoch: 9 });
    expect(rest.stopped).toBeNull();
    expect(rest.resumedFromEpoch).toBe(3);
    expect(flatWeights(m1)).toEqual(w0);
    expect(strip(rest.history)).toEqual(strip(whole.history));
    m1.dispose();
    const m2 = registry.create('paper-shallow', small, { seed: 2 });
    await expect(train({ model: m2, data: data(), config, stopAfterEpoch: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/stopAfterEpoch is 0, expected a positive integer/) });
    m2.dispose();
  });

  it('a stop requested from the event loop (a signal handler, a timer) is seen at the next step, not at the end', async () => {
    // A SIGINT handler or a UI event runs as an event-loop callback; a loop of compute steps and resolved promises
    // would never let it run until training ended. Here the stop comes from a setImmediate callback after step 1.
    const m = registry.create('paper-shallow', small, { seed: 1 });
    const ac = new AbortController();
    let n = 0;
    const r = await train({
      model: m, data: tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 }), config: { epochs: 3, seed: 5, optimizer: { learningRate: 1e-3 } },
      stop: ac.signal, onProgress: () => { if (++n === 1) setImmediate(() => ac.abort()); },
    });
    m.dispose();
    expect(r.stopped).toEqual({ epoch: 1, step: 1, steps: 3 });
  });
});

/** localStepper, but after global step `at` (1-based) one weight of the model becomes NaN: a bad last update. */
function poisonAfterStep(at: number): StepperFactory {
  return async (a) => {
    const inner = await localStepper(a);
    let n = 0;
    return {
      ...inner,
      async step(batch, lr) {
        const r = await inner.step(batch, lr);
        if (++n === at) {
          const v = a.model.weights[0];
          tf.tidy(() => { v.write(tf.fill(v.shape as number[], NaN)); });
        }
        return r;
      },
    };
  };
}

async function allFinite(file: string): Promise<boolean> {
  const ck = await readCheckpoint(file);
  return ck.arrays.every((x) => x.data.every(Number.isFinite));
}

describe('nothing silent (issue 13)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('NaN weights after the last step of an epoch: E_DIVERGED names the last good checkpoint, which is kept', async () => {
    const ck = join(dir, 'nan-epoch-end');
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const data = tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 }); // 3 steps per epoch
    await expect(train({ model, data, config: { epochs: 3 }, checkpointDir: ck, stepper: poisonAfterStep(6) })).rejects.toMatchObject({
      code: 'E_DIVERGED',
      message: expect.stringMatching(/epoch 2.*NaN.*last good checkpoint is .*ckpt-000001\.ferckpt/s),
    });
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt']);
    expect(await allFinite(join(ck, 'ckpt-000001.ferckpt'))).toBe(true);
    model.dispose();
  });

  it('NaN weights after the last step of the run: E_DIVERGED instead of a result, finite checkpoints kept', async () => {
    const ck = join(dir, 'nan-run-end');
    const model = registry.create('paper-shallow', small, { seed: 1 });
    const data = tinyTrainData({ count: 12, inputSize: 16, batchSize: 4 });
    await expect(train({ model, data, config: { epochs: 3 }, checkpointDir: ck, stepper: poisonAfterStep(9) })).rejects.toMatchObject({
      code: 'E_DIVERGED',
      message: expect.stringMatching(/epoch 3.*last good checkpoint is .*ckpt-000002\.ferckpt/s),
    });
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt', 'ckpt-000002.ferckpt']);
    for (const f of await readdir(ck)) expect(await allFinite(join(ck, f))).toBe(true);
    // without a checkpointDir too
    const m2 = registry.create('paper-shallow', small, { seed: 1 });
    await expect(train({ model: m2, data, config: { epochs: 1 }, stepper: poisonAfterStep(3) })).rejects.toMatchObject({ code: 'E_DIVERGED', message: expect.stringMatching(/no checkpoint/) });
    model.dispose();
    m2.dispose();
  });

  it('a checkpoint whose header was edited (RNG state, epoch) is refused naming the file', async () => {
    const ck = join(dir, 'tamper');
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    await train({ model: m1, data, config: { epochs: 2 }, checkpointDir: ck });
    m1.dispose();
    const edit = async (file: string, re: RegExp, to: (m: string) => string) => {
      const text = (await readFile(file)).toString('latin1');
      const m = re.exec(text)!;
      expect(m, String(re)).not.toBeNull();
      const edited = text.slice(0, m.index) + to(m[0]) + text.slice(m.index + m[0].length);
      expect(edited.length).toBe(text.length);
      await writeFile(file, Buffer.from(edited, 'latin1'));
    };
    // RNG state of the newest: one digit changed (same length)
    await edit(join(ck, 'ckpt-000002.ferckpt'), /"rng":\d/, (s) => s.slice(0, -1) + String((Number(s.at(-1)) + 1) % 10));
    const m2 = registry.create('paper-shallow', small, { seed: 1 });
    const r = await train({ model: m2, data, config: { epochs: 2 }, checkpointDir: ck, resume: true });
    expect(r.resumedFromEpoch).toBe(1);
    expect(r.warnings.map((w) => w.code)).toEqual(['E_CHECKPOINT_CORRUPT']);
    expect(r.warnings[0].message).toMatch(/ckpt-000002\.ferckpt: checksum mismatch/);
    // epoch number of both: no usable checkpoint, a clear error naming the files
    await edit(join(ck, 'ckpt-000001.ferckpt'), /"epoch":1/, () => '"epoch":7');
    await edit(join(ck, 'ckpt-000002.ferckpt'), /"epoch":2/, () => '"epoch":7');
    await expect(train({ model: m2, data, config: { epochs: 2 }, checkpointDir: ck, resume: true })).rejects.toMatchObject({
      code: 'E_CHECKPOINT_CORRUPT',
      message: expect.stringMatching(/ckpt-000002\.ferckpt: checksum mismatch.*ckpt-000001\.ferckpt: checksum mismatch/s),
    });
    m2.dispose();
  });

  it('a fresh run into a folder holding another run refuses unless overwrite; overwrite clears it', async () => {
    const ck = join(dir, 'fresh-into-old');
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    await train({ model: m1, data, config: { epochs: 2, seed: 1 }, checkpointDir: ck });
    await expect(train({ model: m1, data, config: { epochs: 1, seed: 2 }, checkpointDir: ck })).rejects.toMatchObject({
      code: 'E_RUN_EXISTS',
      message: expect.stringMatching(/fresh-into-old.*2 checkpoints.*resume.*overwrite/s),
    });
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt', 'ckpt-000002.ferckpt']);
    const r = await train({ model: m1, data, config: { epochs: 1, seed: 2 }, checkpointDir: ck, overwrite: true });
    expect(r.history).toHaveLength(1);
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt']);
    expect((await readCheckpoint(join(ck, 'ckpt-000001.ferckpt'))).state).toMatchObject({ config: { seed: 2 } });
    m1.dispose();
  });

  it('resume refuses checkpoints of another config, naming the differing keys (more epochs are allowed)', async () => {
    const ck = join(dir, 'resume-other-config');
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    const runConfig = { model: { name: 'paper-shallow', config: small } };
    await train({ model: m1, data, config: { epochs: 1, seed: 1 }, checkpointDir: ck, runConfig });
    await expect(train({ model: m1, data, config: { epochs: 2, seed: 2, optimizer: { learningRate: 1e-3 } }, checkpointDir: ck, resume: true, runConfig })).rejects.toMatchObject({
      code: 'E_CHECKPOINT_MISMATCH',
      message: expect.stringMatching(/train\.seed: checkpoint 1, now 2.*train\.optimizer\.learningRate: checkpoint 0\.0001, now 0\.001/s),
    });
    await expect(train({ model: m1, data, config: { epochs: 2, seed: 1 }, checkpointDir: ck, resume: true, runConfig: { model: { name: 'paper-shallow', config: { ...small, denseUnits: 7 } } } })).rejects.toMatchObject({
      code: 'E_CHECKPOINT_MISMATCH',
      message: expect.stringMatching(/run\.model\.config\.denseUnits: checkpoint 6, now 7/),
    });
    const ok = await train({ model: m1, data, config: { epochs: 2, seed: 1 }, checkpointDir: ck, resume: true, runConfig });
    expect(ok).toMatchObject({ resumedFromEpoch: 1 });
    expect(ok.history).toHaveLength(2);
    m1.dispose();
  });

  it('removes stale temp files on start and leaves none behind', async () => {
    const ck = join(dir, 'stale-tmp');
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    await train({ model: m1, data, config: { epochs: 1 }, checkpointDir: ck });
    await writeFile(join(ck, 'ckpt-000002.ferckpt.tmp-99999999-1700000000000'), 'half a checkpoint');
    const r = await train({ model: m1, data, config: { epochs: 2 }, checkpointDir: ck, resume: true });
    expect(r.resumedFromEpoch).toBe(1);
    expect((await readdir(ck)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(await readdir(ck)).toEqual(['ckpt-000001.ferckpt', 'ckpt-000002.ferckpt']);
    m1.dispose();
  });

  it('file-system errors name the code, the phase and the path; read-only says read-only', async () => {
    const data = tinyTrainData({ count: 8, inputSize: 16, batchSize: 4 });
    const m1 = registry.create('paper-shallow', small, { seed: 1 });
    // a real error: the checkpoint folder lies below a regular file
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(train({ model: m1, data, config: { epochs: 1 }, checkpointDir: join(file, 'ckpts') })).rejects.toMatchObject({
      code: 'E_FS',
      message: expect.stringMatching(/ENOTDIR while .*checkpoint.* .*a-file\/ckpts.*is a file, not a folder/),
    });
    // a read-only folder: chmod when not root (root writes anyway), else the fs call fails as on a read-only mount
    const ro = join(dir, 'read-only');
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      vi.spyOn(fsOps, 'writeFile').mockRejectedValue(Object.assign(new Error(`EROFS: read-only file system, open '${ro}/x'`), { code: 'EROFS' }));
    } else {
      await import('node:fs/promises').then(async (fs) => { await fs.mkdir(ro); await fs.chmod(ro, 0o555); });
    }
    await expect(train({ model: m1, data, config: { epochs: 1 }, checkpointDir: ro })).rejects.toMatchObject({
      code: 'E_FS',
      message: expect.stringMatching(/(EROFS|EACCES) while writing checkpoint .*read-only.*ckpt-000001\.ferckpt|(EROFS|EACCES) while writing checkpoint .*ckpt-000001\.ferckpt: .*read-only/),
    });
    vi.restoreAllMocks();
    // a full disk
    vi.spyOn(fsOps, 'writeFile').mockRejectedValue(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    await expect(train({ model: m1, data, config: { epochs: 1 }, checkpointDir: join(dir, 'full-disk') })).rejects.toMatchObject({
      code: 'E_FS',
      message: expect.stringMatching(/^\[fer-models\] ENOSPC while writing checkpoint .*full-disk\/ckpt-000001\.ferckpt: the disk is full/),
    });
    expect(await listCheckpoints(join(dir, 'full-disk'))).toEqual([]);
    expect((await readdir(join(dir, 'full-disk'))).filter((n) => n.includes('.tmp-'))).toEqual([]);
    m1.dispose();
  });
});
