import { describe, expect, it } from 'vitest';
import { makeSyntheticFer } from '@fer/data';
import { builtinModels, createRegistry } from '@fer/models';
import { experiments } from '../../experiments/index.js';
import { dataIdentity, SYNTHETIC_SEED } from '../data.js';
import { parseOverrides } from '../job/overrides.js';
import { planJobs } from '../reproduce/plan.js';
import { BUDGETS } from '../job/spec.js';
import { resolveTrainJob } from './train.js';

const registry = createRegistry(builtinModels);
const data = dataIdentity(makeSyntheticFer({ seed: SYNTHETIC_SEED }));

describe('fer train and pnpm reproduce share one run spec', () => {
  it('fer train --preset paper --model paper-deep resolves to the same config hash as the reproduction\'s paper-deep row', () => {
    const plan = planJobs({ experiments, budget: 'paper', seeds: 1, data, registry });
    const row = plan.jobs.find((j) => j.model.name === 'paper-deep')!;
    expect(row.uses.map((u) => u.experiment)).toContain('accuracy');
    const job = resolveTrainJob({ model: 'paper-deep', preset: 'paper', data, registry });
    expect(job.hash).toBe(row.hash);
    const { uses: _uses, ...rowJob } = row;
    expect(job).toEqual(rowJob);
    expect(job.train).toMatchObject({ epochs: 35, batchSize: 128, optimizer: 'adam', learningRate: 1e-4, normalize: 'mean-image', augment: 'hflip', trainLimit: 0 });
  });

  it('every row of every budget, with the same --set on both sides, is the same job', () => {
    const sets = ['lr=3e-4', 'seed=4', 'l2=1e-4'];
    for (const budget of BUDGETS) {
      const plan = planJobs({ experiments, budget, seeds: 1, data, registry, cli: parseOverrides(sets) });
      for (const j of plan.jobs) {
        const mine = resolveTrainJob({ model: j.model.name, preset: budget, sets, data, registry });
        expect(mine.hash, `${budget} ${j.model.name}`).toBe(j.hash);
      }
    }
    const base = resolveTrainJob({ model: 'paper-shallow', data, registry });
    expect(base.budget).toBe('paper');
    expect(resolveTrainJob({ model: 'paper-shallow', data, registry, sets: ['lr=3e-4'] }).hash).not.toBe(base.hash);
    expect(resolveTrainJob({ model: 'paper-shallow', data, registry, sets: ['dropout=0.3'] }).model.config).toMatchObject({ denseDropout: 0.3 });
    expect(resolveTrainJob({ model: 'paper-shallow', data: { ...data, fingerprint: 'other' }, registry }).hash).not.toBe(base.hash);
  });

  it('rejects an unknown preset, model or key before any work', () => {
    expect(() => resolveTrainJob({ model: 'paper-deep', preset: 'fast', data, registry })).toThrow(/--preset fast: expected one of smoke, quick, paper/);
    expect(() => resolveTrainJob({ model: 'paper-dep', data, registry })).toThrow(/--model paper-dep: unknown model\. Did you mean "paper-deep"\?/);
    expect(() => resolveTrainJob({ model: 'paper-deep', data, registry, sets: ['report.bootstrap=3'] })).toThrow(/unknown key/);
    expect(() => resolveTrainJob({ model: 'paper-deep', data, registry, sets: ['model.dropuot=0.3'] })).toThrow(/unknown config key "dropuot"/);
  });
});
