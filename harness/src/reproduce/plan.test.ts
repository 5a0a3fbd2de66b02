import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { hashConfig, stableStringify } from '../job/hash.js';
import { modelRecipe, paperDeep, paperShallow } from '@fer/models';
import { resolveTrain } from '../job/resolve.js';
import { planJobs } from './plan.js';

const data = { id: 'synthetic', fingerprint: 'abc', source: 'synthetic', synthetic: true };

describe('planner', () => {
  it('dedupes jobs shared across experiments: 6 models -> 6 jobs', () => {
    const plan = planJobs({ experiments, budget: 'smoke', seeds: 1, data });
    expect(plan.jobs.map((j) => j.model.name).sort()).toEqual(['mini-xception', 'paper-deep', 'paper-hybrid-deep', 'paper-hybrid-shallow', 'paper-shallow', 'vgg-fer']);
    const deep = plan.jobs.find((j) => j.model.name === 'paper-deep')!;
    expect(new Set(deep.uses.map((u) => u.experiment))).toEqual(new Set(['accuracy', 'per-expression', 'hybrid', 'confusion', 'histories', 'activation-maps', 'filters', 'deepdream']));
  });

  it('runs each row with N seeds and hashes seed, budget and data into the job', () => {
    const a = planJobs({ experiments, budget: 'smoke', seeds: 3, data });
    expect(a.jobs).toHaveLength(18);
    expect(a.cells.find((c) => c.experiment === 'accuracy' && c.row === 'deep')!.seeds).toEqual([1, 2, 3]);
    const b = planJobs({ experiments, budget: 'quick', seeds: 1, data });
    const c = planJobs({ experiments, budget: 'smoke', seeds: 1, data: { ...data, fingerprint: 'other' } });
    const hashes = (p: typeof a) => new Set(p.jobs.map((j) => j.hash));
    expect([...hashes(b)].some((h) => hashes(a).has(h))).toBe(false);
    expect([...hashes(c)].some((h) => hashes(a).has(h))).toBe(false);
    // Same inputs, same hashes (the cache key is stable).
    expect(hashes(planJobs({ experiments, budget: 'smoke', seeds: 3, data }))).toEqual(hashes(a));
  });

  it('layers defaults <- model recipe <- budget <- experiment <- row, caps epochs by the budget, then applies --set last', () => {
    const acc = experiments.find((e) => e.id === 'accuracy')!;
    const deep = modelRecipe(paperDeep), shallow = modelRecipe(paperShallow);
    expect(resolveTrain('paper', acc, acc.rows[1].train, {}, deep).epochs).toBe(35);
    expect(resolveTrain('paper', acc, acc.rows[0].train, {}, shallow).epochs).toBe(30);
    expect(resolveTrain('smoke', acc, acc.rows[1].train, {}, deep).epochs).toBe(2);
    expect(resolveTrain('smoke', acc, acc.rows[1].train, { train: { epochs: 5 } }, deep).epochs).toBe(5);
    expect(resolveTrain('paper', acc, acc.rows[1].train, {}, deep)).toMatchObject({ batchSize: 128, learningRate: 1e-4, normalize: 'mean-image', augment: 'hflip' });
    // the recipe sits under the budget and the experiment
    const own = { ...deep, epochs: 7, learningRate: 1e-3, normalizer: 'global' };
    expect(resolveTrain('paper', acc, undefined, {}, own)).toMatchObject({ epochs: 7, learningRate: 1e-3, normalize: 'global' });
    expect(resolveTrain('quick', acc, undefined, {}, own)).toMatchObject({ epochs: 2, batchSize: 64, learningRate: 1e-3 });
    expect(resolveTrain('paper', { base: { train: { learningRate: 5e-4 } } }, { epochs: 3 }, { train: { learningRate: 2e-4 } }, own)).toMatchObject({ epochs: 3, learningRate: 2e-4 });
    // the planner reads each model's recipe from the registry
    const plan = planJobs({ experiments: [acc], budget: 'paper', seeds: 1, data });
    expect(plan.jobs.map((j) => [j.model.name, j.train.epochs])).toEqual([['paper-shallow', 30], ['paper-deep', 35]]);
  });

  it('hashes the resolved model config, so changed model defaults retrain', () => {
    const r = (v: number) => (_n: string, c: Record<string, unknown>) => ({ dropout: v, ...c });
    const a = planJobs({ experiments, budget: 'smoke', seeds: 1, data, resolveModelConfig: r(0.25) });
    const b = planJobs({ experiments, budget: 'smoke', seeds: 1, data, resolveModelConfig: r(0.5) });
    expect(a.jobs[0].model.config).toEqual({ dropout: 0.25 });
    expect(a.jobs[0].hash).not.toBe(b.jobs[0].hash);
  });

  it('rejects bad seed counts', () => {
    expect(() => planJobs({ experiments, budget: 'smoke', seeds: 0, data })).toThrow(/seeds/);
  });

  it('hashes key order independently', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 0 } })).toBe('{"a":{"c":0,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(hashConfig({ a: 1, b: 2 })).toBe(hashConfig({ b: 2, a: 1 }));
    expect(hashConfig({ a: 1 })).not.toBe(hashConfig({ a: 2 }));
  });
});

describe('the report describes the optimizers from the resolved jobs', () => {
  it('says what each job trains with, grouped (not a fixed string)', async () => {
    const { describeOptimizers } = await import('./run.js');
    const { parseOverrides } = await import('../job/overrides.js');
    const paper = planJobs({ experiments, budget: 'paper', seeds: 1, data });
    expect(describeOptimizers(paper.jobs.filter((j) => j.model.name.startsWith('paper-')))).toBe('Adam, learning rate 0.0001, constant schedule');
    const sgd = planJobs({ experiments, budget: 'smoke', seeds: 1, data, cli: parseOverrides(['optimizer=sgd', 'lr=0.01', 'train.schedule.kind=step']) });
    expect(describeOptimizers(sgd.jobs)).toBe('SGD momentum 0.9, learning rate 0.01, step schedule (x0.1 every 10 epochs)');
  });
});
