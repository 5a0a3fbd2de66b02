import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '@fer/testing';
import { logLoss, topKAccuracy } from './probability.js';
import { FerMetricsError } from './errors.js';
import { fixtures, TOL } from './__fixtures__/sklearn.js';

const codeOf = (fn: () => unknown): string => errorCodeOf(fn, FerMetricsError);

describe('topKAccuracy and logLoss vs scikit-learn fixtures', () => {
  for (const c of fixtures.cases) {
    it(`${c.name}`, () => {
      const flat = Float64Array.from(c.probabilities.flat());
      for (const [k, want] of Object.entries(c.expected.topK)) {
        const got = topKAccuracy({ actual: c.actual, probabilities: c.probabilities, numClasses: c.numClasses, k: Number(k) });
        expect(got, `top-${k}`).toBeCloseTo(want, 12);
        expect(topKAccuracy({ actual: Int32Array.from(c.actual), probabilities: flat, numClasses: c.numClasses, k: Number(k) })).toBe(got);
      }
      const ll = logLoss({ actual: c.actual, probabilities: c.probabilities, numClasses: c.numClasses });
      expect(Math.abs(ll - c.expected.logLoss) / c.expected.logLoss, `log loss ${ll} vs ${c.expected.logLoss}`).toBeLessThanOrEqual(TOL);
      expect(logLoss({ actual: c.actual, probabilities: flat, numClasses: c.numClasses })).toBe(ll);
    });
  }

  it('accepts Float32Array softmax output (within float32 precision)', () => {
    const c = fixtures.cases[0];
    const f32 = Float32Array.from(c.probabilities.flat());
    expect(logLoss({ actual: c.actual, probabilities: f32, numClasses: c.numClasses })).toBeCloseTo(c.expected.logLoss, 5);
    expect(topKAccuracy({ actual: c.actual, probabilities: f32, numClasses: c.numClasses, k: 2 })).toBeCloseTo(c.expected.topK['2'], 2);
  });

  it('breaks ties like scikit-learn: the higher class index ranks first', () => {
    const probabilities = [[0.5, 0.5, 0, 0]];
    expect(topKAccuracy({ actual: [1], probabilities, numClasses: 4, k: 1 })).toBe(1);
    expect(topKAccuracy({ actual: [0], probabilities, numClasses: 4, k: 1 })).toBe(0);
    expect(topKAccuracy({ actual: [0], probabilities, numClasses: 4, k: 2 })).toBe(1);
  });

  it('k = 1 equals the accuracy of argmax predictions', () => {
    const c = fixtures.cases.find((x) => x.name === 'fer-like-7')!;
    const argmax = c.probabilities.map((row) => row.indexOf(Math.max(...row)));
    const acc = argmax.filter((p, i) => p === c.actual[i]).length / c.actual.length;
    expect(topKAccuracy({ actual: c.actual, probabilities: c.probabilities, numClasses: 7, k: 1 })).toBeCloseTo(acc, 15);
    expect(topKAccuracy({ actual: c.actual, probabilities: c.probabilities, numClasses: 7, k: 7 })).toBe(1);
  });
});

describe('probability bad input', () => {
  const ok = { actual: [0, 1], probabilities: [[0.9, 0.1], [0.2, 0.8]], numClasses: 2 };
  it('rejects wrong shapes', () => {
    expect(codeOf(() => logLoss({ ...ok, probabilities: new Float32Array(3) }))).toBe('E_BAD_PROBABILITIES');
    expect(codeOf(() => logLoss({ ...ok, probabilities: [[1, 0]] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => logLoss({ ...ok, probabilities: [[1, 0], [1, 0, 0]] }))).toBe('E_BAD_PROBABILITIES');
  });
  it('rejects logits, negative and NaN values', () => {
    expect(codeOf(() => logLoss({ ...ok, probabilities: [[2.1, -0.3], [0.2, 0.8]] }))).toBe('E_BAD_PROBABILITIES');
    expect(() => logLoss({ ...ok, probabilities: [[0.6, 0.6], [0.2, 0.8]] })).toThrow(/row 0 sums to 1.2, expected 1/);
    expect(codeOf(() => topKAccuracy({ ...ok, k: 1, probabilities: [[Number.NaN, 1], [0.2, 0.8]] }))).toBe('E_BAD_PROBABILITIES');
  });
  it('rejects labels out of range, empty input, bad k and unknown keys', () => {
    expect(codeOf(() => logLoss({ ...ok, actual: [0, 2] }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => logLoss({ ...ok, actual: [], probabilities: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => topKAccuracy({ ...ok, k: 0 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => topKAccuracy({ ...ok, k: 1, eps: 1e-7 } as never))).toBe('E_BAD_OPTION');
    expect(codeOf(() => logLoss({ ...ok, eps: 0.7 }))).toBe('E_BAD_OPTION');
  });
});
