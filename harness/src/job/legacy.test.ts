// Job folders written before the one layout (../job/execute.ts JOB_FILES) still resume: a reproduction's job folder
// (job.json, checkpoint/, checkpoints without a run config) and a `fer train` folder (config.json without `layout`,
// checkpoints under the run config fer train wrote then). Made here the way those versions made them: with
// @fer/models train() and their run configs.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticFer } from '@fer/data';
import { initBackend } from '@fer/engine';
import { builtinModels, createRegistry, resolveTrainConfig, train } from '@fer/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { executeJob, legacyLayout, type JobOutcome } from './execute.js';
import { augmentSpecs, prepareData, rowSets, trainSource } from './prepare.js';
import { scaledConfig, trainConfig, type ResolvedJob } from './resolve.js';
import { DEFAULTS } from './spec.js';

const ds = makeSyntheticFer({ seed: 4, counts: { Training: 35, PublicTest: 14, PrivateTest: 14 } });
const registry = createRegistry(builtinModels);
const spec = { ...DEFAULTS.train, epochs: 2, batchSize: 16, learningRate: 0.001, augment: 'hflip' };
const job: ResolvedJob = { hash: 'legacy', model: { name: 'paper-shallow', config: {} }, modelScale: 0.125, train: spec, seed: 3, budget: 'smoke', data: 'synthetic' };
const data = prepareData(ds, rowSets(ds, spec), spec, undefined);
const config = scaledConfig(registry, job.model.name, job.model.config, job.modelScale);

/** One epoch of `job` as an older version trained it: checkpoints in `checkpointDir` under `runConfig`. */
async function olderEpoch(checkpointDir: string, runConfig: Record<string, unknown> | undefined) {
  const model = registry.create(job.model.name, config, { seed: job.seed });
  try {
    await train({
      model, data: { train: trainSource(ds, data, spec, job.seed), validation: { x: data.val.x, y: data.val.y, count: data.val.count } },
      config: resolveTrainConfig(trainConfig(spec, job.seed, data.trainLabels)), checkpointDir, resume: true, runConfig, stopAfterEpoch: 1,
    });
  } finally {
    model.dispose();
  }
}

describe('job folders of older versions', () => {
  beforeAll(async () => { await initBackend({ backend: 'wasm' }); });
  let fresh: JobOutcome;

  it('a reproduction job folder (job.json, checkpoint/) resumes where it stopped, as if it had never stopped', async () => {
    fresh = (await executeJob({ job, dir: mkdtempSync(join(tmpdir(), 'fer-legacy-')), registry, dataset: ds, data })) as JobOutcome;
    const dir = mkdtempSync(join(tmpdir(), 'fer-legacy-'));
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    await olderEpoch(join(dir, 'checkpoint'), undefined);
    expect(legacyLayout(dir)).toBe('reproduce-1');
    const o = (await executeJob({ job, dir, registry, dataset: ds, data })) as JobOutcome;
    expect(o).toMatchObject({ status: 'trained', resumedFrom: 1 });
    expect(o.history.map((h) => h.loss)).toEqual(fresh.history.map((h) => h.loss));
    expect(existsSync(join(dir, 'result.json'))).toBe(true);
    expect(existsSync(join(dir, 'checkpoint'))).toBe(false); // finished: the optimizer checkpoints go, as before
  }, 120_000);

  it('a fer train folder (config.json without layout, checkpoints/ under its run config) resumes and keeps its config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-legacy-'));
    const old = { hash: job.hash, preset: 'smoke', model: { name: job.model.name, config }, modelScale: job.modelScale, spec, backend: 'wasm', workers: 1 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(old));
    const dataRecord = {
      normalizer: spec.normalize, augment: augmentSpecs(spec.augment), limit: spec.trainLimit, validationLimit: spec.evalLimit,
      classBalanced: spec.classBalanced, classWeights: spec.classWeights, source: ds.source, synthetic: ds.synthetic,
    };
    await olderEpoch(join(dir, 'checkpoints'), { model: { name: job.model.name, config }, data: dataRecord });
    expect(legacyLayout(dir)).toBe('train-1');
    const o = (await executeJob({ job, dir, registry, dataset: ds, data })) as JobOutcome;
    expect(o).toMatchObject({ status: 'trained', resumedFrom: 1 });
    expect(o.history.map((h) => h.loss)).toEqual(fresh.history.map((h) => h.loss));
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual(old);
  }, 120_000);

  it('checkpoints of another run config are refused with what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fer-legacy-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ hash: 'x' }));
    await olderEpoch(join(dir, 'checkpoints'), { model: { name: job.model.name, config: { ...config, denseUnits: 3 } } });
    await expect(executeJob({ job, dir, registry, dataset: ds, data })).rejects.toMatchObject({
      code: 'E_CHECKPOINT_MISMATCH', message: expect.stringMatching(/another config.*start over with overwrite: true \(fer train --overwrite\), or use another folder/),
    });
  }, 120_000);
});
