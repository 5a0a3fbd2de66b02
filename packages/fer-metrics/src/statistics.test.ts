import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '@fer/testing';
import { bootstrapCI } from './bootstrap.js';
import { mcnemar } from './mcnemar.js';
import { summarizeSeeds } from './seeds.js';
import { mulberry32 } from './_rng.js';
import { FerMetricsError } from './errors.js';
import { fixtures, nanOf } from './__fixtures__/sklearn.js';

const codeOf = (fn: () => unknown): string => errorCodeOf(fn, FerMetricsError);

function close(got: number, want: number, tol: number, what: string) {
  if (Number.isNaN(want)) expect(got, what).toBeNaN();
  else expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tol);
}

describe('mulberry32', () => {
  it('is bit-exact with the Python port used for the bootstrap fixtures', () => {
    const r = mulberry32(42);
    expect(fixtures.mulberry32Seed42.map(() => r())).toEqual(fixtures.mulberry32Seed42);
  });
});

describe('bootstrapCI', () => {
  for (const c of fixtures.cases.filter((x) => x.expected.bootstrap)) {
    it(`${c.name}: same resamples and percentiles as the numpy reference`, () => {
      const e = c.expected.bootstrap!;
      const r = bootstrapCI({ actual: c.actual, predicted: c.predicted, numClasses: c.numClasses, iterations: e.iterations, seed: e.seed, level: e.level });
      close(r.accuracy.estimate, c.expected.accuracy, 1e-15, 'estimate');
      close(r.accuracy.lo, e.accuracy.lo, 1e-12, 'accuracy lo');
      close(r.accuracy.hi, e.accuracy.hi, 1e-12, 'accuracy hi');
      r.perClass.forEach((pc, i) => {
        expect(pc.resamples, `class ${i} resamples`).toBe(e.perClass[i].n);
        close(pc.lo, nanOf(e.perClass[i].lo), 1e-12, `class ${i} lo`);
        close(pc.hi, nanOf(e.perClass[i].hi), 1e-12, `class ${i} hi`);
        const support = c.expected.perClass[i].support;
        close(pc.estimate, support === 0 ? Number.NaN : c.expected.perClass[i].recall, 1e-15, `class ${i} estimate`);
      });
    });
  }

  it('is deterministic per seed, differs across seeds, and narrows with more data', () => {
    const c = fixtures.cases.find((x) => x.name === 'hybrid-vs-raw')!;
    const a = bootstrapCI({ actual: c.actual, predicted: c.predicted, seed: 3, iterations: 300 });
    expect(bootstrapCI({ actual: c.actual, predicted: c.predicted, seed: 3, iterations: 300 })).toEqual(a);
    expect(bootstrapCI({ actual: c.actual, predicted: c.predicted, seed: 4, iterations: 300 }).accuracy).not.toEqual(a.accuracy);
    expect(a.accuracy.lo).toBeLessThan(a.accuracy.estimate);
    expect(a.accuracy.hi).toBeGreaterThan(a.accuracy.estimate);
    const small = bootstrapCI({ actual: c.actual.slice(0, 60), predicted: c.predicted.slice(0, 60), seed: 3, iterations: 300 });
    expect(small.accuracy.hi - small.accuracy.lo).toBeGreaterThan(a.accuracy.hi - a.accuracy.lo);
    const wide = bootstrapCI({ actual: c.actual, predicted: c.predicted, seed: 3, iterations: 300, level: 0.99 });
    expect(wide.accuracy.hi - wide.accuracy.lo).toBeGreaterThan(a.accuracy.hi - a.accuracy.lo);
    expect(a).toMatchObject({ iterations: 300, seed: 3, level: 0.95, method: 'percentile' });
  });

  it('covers the true accuracy about 95% of the time (simulation)', () => {
    const rng = mulberry32(11);
    let covered = 0;
    const trials = 60;
    for (let t = 0; t < trials; t++) {
      const actual = Array.from({ length: 200 }, () => Math.floor(rng() * 3));
      const predicted = actual.map((a) => (rng() < 0.7 ? a : (a + 1) % 3));
      const ci = bootstrapCI({ actual, predicted, seed: t, iterations: 200 });
      if (ci.accuracy.lo <= 0.7 && 0.7 <= ci.accuracy.hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.85);
  });

  it('rejects bad input with typed errors', () => {
    expect(codeOf(() => bootstrapCI({ actual: [0, 1], predicted: [0] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => bootstrapCI({ actual: [], predicted: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => bootstrapCI({ actual: [0, 3], predicted: [0, 1], numClasses: 3 }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => bootstrapCI({ actual: [0], predicted: [0], level: 1 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => bootstrapCI({ actual: [0], predicted: [0], seed: -1 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => bootstrapCI({ actual: [0], predicted: [0], iterations: 0 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => bootstrapCI({ actual: [0], predicted: [0], iteration: 5 } as never))).toBe('E_BAD_OPTION');
  });
});

describe('mcnemar', () => {
  for (const c of fixtures.cases) {
    it(`${c.name}: b, c and the exact p-value match SciPy binomtest`, () => {
      const r = mcnemar({ actual: c.actual, predictedA: c.predicted, predictedB: c.predictedB });
      expect(r.b).toBe(c.expected.mcnemar.b);
      expect(r.c).toBe(c.expected.mcnemar.c);
      expect(r.exact).toBe(true);
      expect(Math.abs(r.pValue - c.expected.mcnemar.pValue)).toBeLessThanOrEqual(1e-12 * Math.max(1, c.expected.mcnemar.pValue) + 1e-15);
      const total = r.table[0][0] + r.table[0][1] + r.table[1][0] + r.table[1][1];
      expect(total).toBe(c.actual.length);
    });
  }

  it('is symmetric in the two models and gives p = 1 with no discordant rows', () => {
    const c = fixtures.cases[0];
    const ab = mcnemar({ actual: c.actual, predictedA: c.predicted, predictedB: c.predictedB });
    const ba = mcnemar({ actual: c.actual, predictedA: c.predictedB, predictedB: c.predicted });
    expect([ba.b, ba.c]).toEqual([ab.c, ab.b]);
    expect(ba.pValue).toBe(ab.pValue);
    expect(mcnemar({ actual: [0, 1], predictedA: [0, 0], predictedB: [0, 0] })).toMatchObject({ b: 0, c: 0, n: 0, pValue: 1 });
  });

  it('known value: b = 10, c = 0 gives 2 / 2^10', () => {
    const actual = new Array(10).fill(1);
    expect(mcnemar({ actual, predictedA: actual, predictedB: new Array(10).fill(0) }).pValue).toBeCloseTo(2 / 1024, 15);
  });

  it('rejects bad input with typed errors', () => {
    expect(codeOf(() => mcnemar({ actual: [0, 1], predictedA: [0, 1], predictedB: [0] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => mcnemar({ actual: [], predictedA: [], predictedB: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => mcnemar({ actual: [0, -1], predictedA: [0, 1], predictedB: [0, 1] }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => mcnemar({ actual: [0], predicted: [0], predictedB: [0] } as never))).toBe('E_BAD_OPTION');
  });
});

describe('summarizeSeeds', () => {
  for (const s of fixtures.seeds) {
    it(`[${s.values.map((v) => v.toFixed(3)).join(', ')}] matches numpy std(ddof=1) and SciPy t interval`, () => {
      const r = summarizeSeeds(s.values);
      expect(r.n).toBe(s.n);
      close(r.mean, s.mean, 1e-15, 'mean');
      close(r.std, nanOf(s.std), 1e-14, 'std');
      // NOTE: the t quantile (stdlib, a Boost port) and SciPy's agree to ~3e-11 relative, hence 1e-9 here.
      close(r.ci95[0], nanOf(s.ci95[0]), 1e-9, 'ci lo');
      close(r.ci95[1], nanOf(s.ci95[1]), 1e-9, 'ci hi');
    });
  }

  it('rejects empty and non-finite values', () => {
    expect(codeOf(() => summarizeSeeds([]))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => summarizeSeeds([0.5, Number.NaN]))).toBe('E_BAD_INPUT');
    expect(codeOf(() => summarizeSeeds('0.5' as never))).toBe('E_BAD_INPUT');
  });
});
