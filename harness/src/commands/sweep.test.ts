import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridSets, parseSpace, randomSampler } from '../sweep/space.js';
import { epochSeconds } from '../sweep/run.js';
import { runSweep, type LeaderboardRow, type TrialRunner } from './sweep.js';
import { runTrain } from './train.js';

const here = dirname(fileURLToPath(import.meta.url));
const harnessRoot = resolve(here, '..', '..');
let dir: string;
const quiet = () => undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fer-sweep-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** PublicTest accuracy of a trial with learning rate lr after epoch e: best near lr = 3e-4. */
const objective = (lr: number, e: number) => 0.6 - 0.1 * Math.abs(Math.log10(lr / 3e-4)) - 0.2 * Math.exp(-e / 2);

/**
 * A runner that writes what `fer train` writes (history.json per epoch, result.json at the end) from the
 * objective, pausing at `stopAfterEpoch` and honouring the stop signal between epochs. `lr=99` throws
 * E_DIVERGED, `lr=98` a non-config error.
 */
function fakeRunner(calls: { key: string; until: number | undefined }[], o: { maxEpochs: number; stopAfter?: () => boolean }): TrialRunner {
  return async (t) => {
    calls.push({ key: t.key, until: t.stopAfterEpoch });
    const lr = Number(t.sets.find((s) => s.startsWith('lr='))!.slice(3));
    if (lr === 99) throw Object.assign(new Error('train: diverged in epoch 1'), { code: 'E_DIVERGED' });
    if (lr === 98) throw new Error('disk on fire');
    await mkdir(t.dir, { recursive: true });
    const file = join(t.dir, 'history.json');
    const history: { epoch: number; valAccuracy: number }[] = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : [];
    await writeFile(join(t.dir, 'config.json'), JSON.stringify({ hash: `job-${t.key}` }));
    const until = t.stopAfterEpoch ?? o.maxEpochs;
    while (history.length < until) {
      if (t.stop.aborted) return;
      history.push({ epoch: history.length + 1, valAccuracy: objective(lr, history.length + 1) });
      await writeFile(file, JSON.stringify(history));
      t.log(`epoch ${history.length}: loss 1 acc 0.5 val_acc ${history[history.length - 1].valAccuracy}`);
      t.onStep();
      if (o.stopAfter?.()) return;
    }
    if (history.length >= o.maxEpochs) await writeFile(join(t.dir, 'result.json'), '{}');
  };
}

const lrOf = (r: LeaderboardRow) => Number(r.params.lr);

describe('runSweep (injected trial runner)', () => {
  it('ETA: from the epochs\' own reported times, so an epoch continued from a checkpoint counts whole', async () => {
    const out = join(dir, 'eta');
    const lines: string[] = [];
    // every epoch reports 5 minutes (as fer train does for an epoch continued from a checkpoint, whose remainder
    // took a moment here): 9 epochs expected, 1 done -> 8 x 5 min left
    const runTrial: TrialRunner = async (t) => {
      await mkdir(t.dir, { recursive: true });
      await writeFile(join(t.dir, 'config.json'), JSON.stringify({ hash: `job-${t.key}` }));
      const history: { epoch: number; valAccuracy: number }[] = [];
      while (history.length < 3) {
        history.push({ epoch: history.length + 1, valAccuracy: 0.3 });
        await writeFile(join(t.dir, 'history.json'), JSON.stringify(history));
        t.log(`epoch ${history.length}: loss 1.7894 acc 36.22% val_loss 1.5376 val_acc 30.00% (PublicTest, 3589 rows) lr 0.00241 (5m00s)`);
      }
      await writeFile(join(t.dir, 'result.json'), '{}');
    };
    const grid = gridSets(['lr=1e-4,3e-4,1e-3']);
    await runSweep({ model: 'paper-shallow', out, trials: 3, sample: (i: number) => grid[i] ?? null, baseSets: ['epochs=3'], log: (l) => lines.push(l), runTrial });
    expect(lines.find((l) => l.startsWith('[trial 1] epoch 1/3'))).toMatch(/1 epochs trained of ~9 expected, .* elapsed, ETA ~40m00s$/);
    expect(lines.find((l) => l.startsWith('[trial 2] epoch 1/3'))).toMatch(/ETA ~25m00s$/);
  });

  it('epochSeconds reads the time fer train prints at the end of an epoch line', () => {
    expect(epochSeconds('epoch 3: loss 1.7 acc 36.22% val_acc 40.96% (PublicTest, 3589 rows) lr 0.00241 (5m01s)')).toBe(301);
    expect(epochSeconds('epoch 1: ... lr 0.001 (1h02m03s)')).toBe(3723);
    expect(epochSeconds('epoch 1: ... lr 0.001 (42s)')).toBe(42);
    expect(epochSeconds('epoch 1: loss 1 acc 0.5 val_acc 0.3')).toBeUndefined();
  });

  it('grid without ASHA: every trial trains the full schedule; ranked by PublicTest; cached on rerun; failures kept', async () => {
    const out = join(dir, 'grid');
    const grid = gridSets(['lr=1e-4,3e-4,1e-3,99,98']);
    const calls: { key: string; until: number | undefined }[] = [];
    const o = { model: 'paper-shallow', out, trials: 10, sample: (i: number) => grid[i] ?? null, baseSets: ['epochs=3'], log: quiet, runTrial: fakeRunner(calls, { maxEpochs: 3 }) };
    const { rows, levels } = await runSweep(o);
    expect(levels).toEqual([3]);
    expect(rows.map((r) => r.params.lr)).toEqual(['3e-4', '1e-4', '1e-3', '99', '98']);
    expect(rows[0]).toMatchObject({ rank: 1, status: 'done', epochs: 3, bestEpoch: 3, hash: `job-${rows[0].key}` });
    expect(rows[0].accuracy).toHaveLength(3);
    expect(rows[3]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^E_DIVERGED: train: diverged/) });
    expect(rows[4]).toMatchObject({ status: 'failed', error: 'disk on fire' });
    expect(calls.map((c) => c.until)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const lb = JSON.parse(await readFile(join(out, 'leaderboard.json'), 'utf8'));
    expect(lb).toMatchObject({ scheduler: { kind: 'full', epochs: 3 }, winner: { trial: 1, key: rows[0].key, hash: rows[0].hash }, selection: expect.stringMatching(/PrivateTest is never read/) });
    expect(lb.trials).toHaveLength(5);
    const md = await readFile(join(out, 'leaderboard.md'), 'utf8');
    expect(md).toMatch(/\| +1 \| +2 \| 3e-4 +\| +3 \| 55\.54% +\|/);
    expect(md).toMatch(/Winner: trial 2 \(lr=3e-4\), PublicTest 55.54% at epoch 3, job hash job-/);
    // rerun: finished and config-failed trials answer from their folders; the non-config failure is tried again
    calls.length = 0;
    await runSweep(o);
    expect(calls.map((c) => c.key)).toEqual([rows[4].key]);
  });

  it('ASHA: trials pause at the rungs (stopAfterEpoch) and only the best go on; the best arm trains the full schedule', async () => {
    const out = join(dir, 'asha');
    const calls: { key: string; until: number | undefined }[] = [];
    const axes = parseSpace(['lr=log:1e-5..1e-2']);
    const { rows, levels } = await runSweep({ model: 'paper-shallow', out, trials: 9, sample: randomSampler(axes, 3), axes, asha: { minEpochs: 1 }, maxEpochs: 9, log: quiet, runTrial: fakeRunner(calls, { maxEpochs: 9 }) });
    expect(levels).toEqual([1, 3, 9]);
    expect(calls.filter((c) => c.until === 1)).toHaveLength(9);
    expect(calls.filter((c) => c.until === 3).length).toBeGreaterThanOrEqual(3);
    expect(calls.filter((c) => c.until === undefined).length).toBeGreaterThanOrEqual(1);
    const done = rows.filter((r) => r.status === 'done');
    expect(rows[0].status).toBe('done');
    // the winner is the trial whose lr is nearest 3e-4 (the objective's best arm)
    const nearest = [...rows].sort((a, b) => Math.abs(Math.log10(lrOf(a) / 3e-4)) - Math.abs(Math.log10(lrOf(b) / 3e-4)))[0];
    expect(rows[0].key).toBe(nearest.key);
    expect(done.every((r) => r.rung === 2 && r.epochs === 9)).toBe(true);
    expect(rows.filter((r) => r.status === 'paused').every((r) => r.epochs < 9)).toBe(true);
    // figures: small PNGs, linked from the leaderboard
    expect((await readdir(join(out, 'figures'))).sort()).toEqual(['accuracy-vs-lr.png', 'curves.png']);
    for (const f of ['curves.png', 'accuracy-vs-lr.png']) {
      const png = PNG.sync.read(await readFile(join(out, 'figures', f)));
      expect(png.width).toBeGreaterThan(300);
      expect(png.width).toBeLessThan(1000);
    }
    expect(await readFile(join(out, 'leaderboard.md'), 'utf8')).toMatch(/!\[figures\/curves\.png\]\(figures\/curves\.png\)/);
    // the same seed draws the same trials
    const again = await runSweep({ model: 'paper-shallow', out: join(dir, 'asha-again'), trials: 9, sample: randomSampler(axes, 3), axes, asha: { minEpochs: 1 }, maxEpochs: 9, log: quiet, runTrial: fakeRunner([], { maxEpochs: 9 }) });
    expect(again.rows.map((r) => [r.params.lr, r.epochs])).toEqual(rows.map((r) => [r.params.lr, r.epochs]));
  });

  it('--hours stops cleanly; the same call continues exactly where it stopped and ends as an uninterrupted sweep', async () => {
    const axes = parseSpace(['lr=log:1e-5..1e-2']);
    const base = { model: 'paper-shallow', trials: 9, axes, asha: { minEpochs: 1 }, maxEpochs: 9, log: quiet };
    const whole = await runSweep({ ...base, out: join(dir, 'hours-whole'), sample: randomSampler(axes, 5), runTrial: fakeRunner([], { maxEpochs: 9 }) });
    const out = join(dir, 'hours');
    let clock = 0;
    let trained = 0;
    const lines: string[] = [];
    // each epoch advances the clock by one "hour"; --hours 4 stops after 4 epochs
    const runner = (calls: { key: string; until: number | undefined }[]) => fakeRunner(calls, { maxEpochs: 9, stopAfter: () => { clock += 3600; trained++; return false; } });
    let parts = 0;
    for (;;) {
      parts++;
      const r = await runSweep({ ...base, out, sample: randomSampler(axes, 5), hours: 4, clock: () => clock, runTrial: runner([]), continueWith: 'pnpm fer sweep ... --hours 4', log: (l) => lines.push(l) });
      if (!r.stopped) break;
      expect(r.rows.some((row) => row.status === 'stopped') || r.rows.length > 0).toBe(true);
      expect(await readFile(join(out, 'leaderboard.md'), 'utf8')).toMatch(/Stopped early; continue with: `pnpm fer sweep \.\.\. --hours 4`/);
      expect(parts).toBeLessThan(30);
    }
    expect(parts).toBeGreaterThan(2);
    expect(lines.join('\n')).toMatch(/\[sweep\] stopped \(hours\) after .*Continue with:\n {2}pnpm fer sweep \.\.\. --hours 4/);
    const strip = (rows: LeaderboardRow[]) => rows.map((r) => [r.trial, r.params.lr, r.epochs, r.status, r.accuracy]);
    const final = JSON.parse(await readFile(join(out, 'leaderboard.json'), 'utf8')).trials as LeaderboardRow[];
    expect(strip(final)).toEqual(strip(whole.rows));
    // not one epoch trained twice
    const total = whole.rows.reduce((s, r) => s + r.epochs, 0);
    expect(trained).toBe(total);
    // the progress of a continued sweep counts the epochs trained before it too
    expect(lines.filter((l) => l.startsWith('[sweep] trial')).pop()).toMatch(new RegExp(`\\| ${total} epochs trained of ~\\d+ expected`));
  });

  it('--from: a sweep continued elsewhere takes the recorded trials (a folder, or only its leaderboard.json) and trains none of their epochs again', async () => {
    const axes = parseSpace(['lr=log:1e-5..1e-2']);
    const base = { model: 'paper-shallow', trials: 9, axes, asha: { minEpochs: 1 }, maxEpochs: 9, log: quiet };
    const whole = await runSweep({ ...base, out: join(dir, 'from-whole'), sample: randomSampler(axes, 7), runTrial: fakeRunner([], { maxEpochs: 9 }) });
    // a first machine trains 5 epochs, then its folder is lost but for the record
    let clock = 0;
    const first = join(dir, 'from-first');
    const part = await runSweep({ ...base, out: first, sample: randomSampler(axes, 7), hours: 5, clock: () => clock, runTrial: fakeRunner([], { maxEpochs: 9, stopAfter: () => { clock += 3600; return false; } }) });
    expect(part.stopped).toBe(true);
    const recorded = part.rows.reduce((n, r) => n + r.accuracy.length, 0);
    expect(recorded).toBeGreaterThanOrEqual(5);
    const strip = (rows: LeaderboardRow[]) => rows.map((r) => [r.trial, r.params.lr, r.epochs, r.status, r.accuracy]);
    for (const from of [first, join(first, 'leaderboard.json')]) {
      const out = join(dir, `from-${from.endsWith('.json') ? 'board' : 'folder'}`);
      let trained = 0;
      const lines: string[] = [];
      const r = await runSweep({ ...base, out, sample: randomSampler(axes, 7), from, log: (l) => lines.push(l), runTrial: fakeRunner([], { maxEpochs: 9, stopAfter: () => { trained++; return false; } }) });
      expect(lines.join('\n')).toMatch(new RegExp(`--from .*: ${part.rows.filter((row) => row.accuracy.length).length} trial\\(s\\) taken from there`));
      expect(strip(r.rows)).toEqual(strip(whole.rows));
      expect(trained).toBe(whole.rows.reduce((n, row) => n + row.epochs, 0) - recorded);
    }
    // another model's record, or none at all: a clear error before anything trains
    await expect(runSweep({ ...base, model: 'paper-deep', out: join(dir, 'from-other'), sample: randomSampler(axes, 7), from: join(first, 'leaderboard.json'), runTrial: fakeRunner([], { maxEpochs: 9 }) }))
      .rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/is a sweep of "paper-shallow", this one is of "paper-deep"/) });
    await expect(runSweep({ ...base, out: join(dir, 'from-none'), sample: randomSampler(axes, 7), from: join(dir, 'no-such-sweep'), runTrial: fakeRunner([], { maxEpochs: 9 }) }))
      .rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/no such file or folder/) });
  });

  it('checks the overrides and the budget before anything trains', async () => {
    const o = { model: 'paper-shallow', out: join(dir, 'bad'), log: quiet, runTrial: fakeRunner([], { maxEpochs: 1 }) };
    await expect(runSweep({ ...o, trials: 2, sample: () => ['lrr=1e-3'] })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/--set lrr: unknown key/) });
    await expect(runSweep({ ...o, trials: 0, sample: () => ['lr=1e-3'] })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/--trials 0/) });
    await expect(runSweep({ ...o, model: 'paper-shallo', trials: 1, sample: () => ['lr=1e-3'] })).rejects.toMatchObject({ code: 'E_UNKNOWN_MODEL' });
  });
});

describe('fer sweep end to end (tiny, cpu, synthetic)', () => {
  const tiny = ['model.filters=[2,2]', 'model.denseUnits=4', 'batch=16', 'limit=48', 'data.validationLimit=32'];

  it('ASHA in this process: a promoted trial continues bit-exactly as an uninterrupted fer train run', async () => {
    const out = join(dir, 'e2e');
    const axes = parseSpace(['lr=log:1e-4..1e-2']);
    const saved = process.env.FER2013_PATH;
    process.env.FER2013_PATH = '';
    try {
      const { rows } = await runSweep({ model: 'paper-shallow', out, backend: 'cpu', trials: 3, sample: randomSampler(axes, 2), axes, baseSets: tiny, asha: { minEpochs: 1 }, maxEpochs: 3, log: quiet });
      expect(rows).toHaveLength(3);
      const top = rows[0];
      expect(top).toMatchObject({ status: 'done', epochs: 3, rung: 1 });
      expect(rows.slice(1).map((r) => [r.status, r.epochs])).toEqual([['paused', 1], ['paused', 1]]);
      // trained 1 epoch, paused, promoted, resumed from its checkpoint: the same as 3 epochs in one go
      const ref = await runTrain({ model: 'paper-shallow', out: join(dir, 'e2e-ref'), backend: 'cpu', sets: [...tiny, 'epochs=3', ...top.sets], withholdTest: true, log: quiet, onProgress: quiet });
      expect(top.accuracy).toEqual(ref.outcome.history.map((h) => h.valAccuracy));
      expect(top.hash).toBe(ref.hash);
      expect(top.config).toMatchObject({ model: { filters: [2, 2], denseUnits: 4 }, train: { epochs: 3, learningRate: Number(top.params.lr) }, modelScale: 1 });
      const strip = (h: { seconds: number }[]) => h.map((r) => ({ ...r, seconds: 0 }));
      expect(strip(JSON.parse(await readFile(join(out, 'trials', top.key, 'history.json'), 'utf8')))).toEqual(strip(ref.outcome.history));
      // PrivateTest is never evaluated by a trial: no test curve, no test accuracy or predictions in its result
      for (const r of rows) expect(existsSync(join(out, 'trials', r.key, 'test-curve.json'))).toBe(false);
      expect(JSON.parse(await readFile(join(out, 'trials', top.key, 'result.json'), 'utf8')).test).toEqual({ accuracy: null, rows: 0, predicted: [], withheld: true });
      // the finished trial keeps its model and no checkpoints; a paused one keeps its newest checkpoint only
      expect(existsSync(join(out, 'trials', top.key, 'model', 'model.json'))).toBe(true);
      expect(existsSync(join(out, 'trials', top.key, 'checkpoints'))).toBe(false);
      expect(await readdir(join(out, 'trials', rows[1].key, 'checkpoints'))).toEqual(['ckpt-000001.ferckpt']);
    } finally {
      if (saved === undefined) delete process.env.FER2013_PATH;
      else process.env.FER2013_PATH = saved;
    }
  }, 300_000);

  it('the fer sweep command: --space, --trials, --asha on --data synthetic', async () => {
    const out = join(dir, 'cli');
    const r = await runCli(['sweep', '--model', 'paper-shallow', '--data', 'synthetic', '--backend', 'cpu', '--out', out, '--space', 'lr=log:1e-4..1e-2', '--space', 'optimizer=adam,sgd', '--trials', '2', '--asha', '--max-epochs', '2', '--eta', '2', ...tiny.flatMap((s) => ['--set', s])]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[sweep\] paper-shallow \(preset paper\), 2 trials at most, ASHA: rungs at 1, 2 epochs \(eta 2\)/);
    expect(r.stdout).toMatch(/\[trial 1\] epoch 1\/1 \(rung; of 2\): .* \| sweep: 1 epochs trained of ~3 expected, .* elapsed, ETA ~/);
    expect(r.stdout).toMatch(/# Sweep of paper-shallow/);
    const lb = JSON.parse(await readFile(join(out, 'leaderboard.json'), 'utf8'));
    expect(lb.trials).toHaveLength(2);
    expect(lb.trials.map((t: LeaderboardRow) => t.epochs).sort()).toEqual([1, 2]);
    expect(Object.keys(lb.trials[0].params)).toEqual(['lr', 'optimizer']);
  }, 300_000);
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--conditions=@fer/source', '--import', 'tsx', join(here, '..', 'cli.ts'), ...args], { cwd: harnessRoot, env: { ...process.env, FER2013_PATH: '' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}
