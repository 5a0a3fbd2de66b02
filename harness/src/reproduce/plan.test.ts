import { describe, expect, it } from 'vitest';
import { experiments } from '../../experiments/index.js';
import { hashConfig, stableStringify } from './hash.js';
import { planJobs, resolveTrain } from './plan.js';

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

  it('caps epochs by the budget, then applies --set last', () => {
    const acc = experiments.find((e) => e.id === 'accuracy')!;
    expect(resolveTrain('paper', acc, acc.rows[1].train).epochs).toBe(35);
    expect(resolveTrain('paper', acc, acc.rows[0].train).epochs).toBe(30);
    expect(resolveTrain('smoke', acc, acc.rows[1].train).epochs).toBe(2);
    expect(resolveTrain('smoke', acc, acc.rows[1].train, { train: { epochs: 5 } }).epochs).toBe(5);
    expect(resolveTrain('paper', acc, acc.rows[1].train).batchSize).toBe(128);
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
