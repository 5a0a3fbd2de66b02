import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticFer } from '@fer/data';
import { initBackend } from '@fer/engine';
import { builtinModels, createRegistry, loadModel, resolveTrainConfig } from '@fer/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { executeJob, type JobOutcome } from './execute.js';
import { prepareData, rowSets } from './prepare.js';
import { trainConfig, type ResolvedJob } from './resolve.js';
import { DEFAULTS } from './spec.js';

const ds = makeSyntheticFer({ seed: 4, counts: { Training: 35, PublicTest: 14, PrivateTest: 14 } });
const registry = createRegistry(builtinModels);
const pictures = { samples: 2, maxEpochs: 2 };

function job(epochs: number): ResolvedJob {
  const train = { ...DEFAULTS.train, epochs, batchSize: 16, learningRate: 0.001 };
  return { hash: `test-${epochs}`, model: { name: 'mini-xception', config: {} }, modelScale: 0.125, train, seed: 3, budget: 'smoke', data: 'synthetic' };
}

describe('executeJob', () => {
  beforeAll(async () => { await initBackend({ backend: 'wasm' }); });
  const data = prepareData(ds, rowSets(ds, DEFAULTS.train), DEFAULTS.train, undefined);
  // keepCheckpoints: the test deletes result.json to fake a run stopped after epoch 1, so the checkpoints must stay.
  const run = async (dir: string, epochs: number, keepCheckpoints = true) => (await executeJob({ job: job(epochs), dir, registry, dataset: ds, data, pictures, keepCheckpoints })) as JobOutcome;

  it('maps the train spec onto @fer/models TrainConfig', () => {
    expect(trainConfig(DEFAULTS.train, 2)).toMatchObject({ epochs: 30, batchSize: 128, seed: 2, optimizer: { name: 'adam', learningRate: 0.0001 }, schedule: { kind: 'constant' }, classWeights: null });
    expect(resolveTrainConfig(trainConfig({ ...DEFAULTS.train, classWeights: 'balanced' }, 2, Uint8Array.from([0, 0, 1, 2, 3, 4, 5, 6]))).classWeights![0]).toBeCloseTo(8 / (7 * 2));
    expect(() => trainConfig({ ...DEFAULTS.train, classWeights: 'inverse' }, 2)).toThrow(/expected "none" or "balanced"/);
  });

  it('is repeatable, resumes an interrupted job from its checkpoint and skips a finished one', async () => {
    const a = await run(mkdtempSync(join(tmpdir(), 'fer-job-')), 2);
    const b = await run(mkdtempSync(join(tmpdir(), 'fer-job-')), 2);
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    expect(a.activations.map((s) => s.epoch)).toEqual([1, 1, 2, 2]);

    const dir = mkdtempSync(join(tmpdir(), 'fer-job-'));
    const first = await run(dir, 1);
    expect(first.resumedFrom).toBe(0);
    // Another job's result (1 epoch) with its checkpoints: the 2-epoch job continues from them.
    const second = await run(dir, 2);
    expect(second.status).toBe('trained');
    expect(second.resumedFrom).toBe(1);
    expect(second.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    expect(second.activations.map((s) => s.epoch)).toEqual([1, 1, 2, 2]);
    expect((await run(dir, 2)).status).toBe('cached');
    expect(existsSync(join(dir, 'checkpoints'))).toBe(true);

    // By default a finished job keeps its model and history and drops the optimizer checkpoints.
    const lean = mkdtempSync(join(tmpdir(), 'fer-job-'));
    const c = await run(lean, 1, false);
    expect(c.history).toHaveLength(1);
    expect(existsSync(join(lean, 'checkpoints'))).toBe(false);
    expect(existsSync(join(lean, 'model', 'weights.bin'))).toBe(true);

    expect(existsSync(join(dir, 'model', 'fer.json'))).toBe(true);
    const loaded = await loadModel(join(dir, 'model'));
    expect(loaded.meta.modelName).toBe('mini-xception');
    loaded.model.dispose();
  }, 120_000);
});
