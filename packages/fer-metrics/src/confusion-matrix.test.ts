import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '@fer/testing';
import { confusionMatrix, confusionReportFromCounts } from './confusion-matrix.js';
import { FerMetricsError } from './errors.js';
import { fixtures, nanOf, TOL } from './__fixtures__/sklearn.js';

function close(got: number, want: number, what: string) {
  if (Number.isNaN(want)) expect(got, what).toBeNaN();
  else expect(Math.abs(got - want), `${what}: got ${got}, sklearn ${want}`).toBeLessThanOrEqual(TOL);
}

const codeOf = (fn: () => unknown): string => errorCodeOf(fn, FerMetricsError);

describe('confusionMatrix vs scikit-learn fixtures', () => {
  it('covers the degenerate cases the issue asks for', () => {
    const names = fixtures.cases.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['never-predicted', 'absent-class', 'perfect', 'single-sample', 'missing-entirely']));
  });

  for (const c of fixtures.cases) {
    it(`${c.name}: ${c.note}`, () => {
      const r = confusionMatrix({ actual: c.actual, predicted: c.predicted, numClasses: c.numClasses });
      const e = c.expected;
      expect(r.counts).toEqual(e.counts);
      expect(r.total).toBe(c.actual.length);
      r.normalized.forEach((row, i) => row.forEach((v, j) => close(v, e.normalized[i][j], `normalized[${i}][${j}]`)));
      close(r.accuracy, e.accuracy, 'accuracy');
      r.perClass.forEach((pc, i) => {
        close(pc.recall, e.perClass[i].recall, `recall[${i}]`);
        close(pc.precision, e.perClass[i].precision, `precision[${i}]`);
        close(pc.f1, e.perClass[i].f1, `f1[${i}]`);
        expect(pc.support).toBe(e.perClass[i].support);
      });
      for (const k of ['precision', 'recall', 'f1'] as const) {
        close(r.macro[k], e.macro[k], `macro ${k}`);
        close(r.weighted[k], e.weighted[k], `weighted ${k}`);
      }
      close(r.kappa, nanOf(e.kappa), 'kappa');
    });
  }

  it('gives the same report for number[], Uint8Array and Int32Array inputs', () => {
    const c = fixtures.cases[0];
    const a = confusionMatrix({ actual: c.actual, predicted: c.predicted, numClasses: c.numClasses });
    const b = confusionMatrix({ actual: Uint8Array.from(c.actual), predicted: Int32Array.from(c.predicted), numClasses: c.numClasses });
    expect(b).toEqual(a);
  });

  it('uses zero_division=0: a never-predicted class has precision 0, an absent class recall 0', () => {
    const r = confusionMatrix({ actual: [0, 0, 1, 1], predicted: [0, 0, 0, 0], numClasses: 3 });
    expect(r.perClass[1]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 2, predictedCount: 0 });
    expect(r.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.normalized[2]).toEqual([0, 0, 0]);
    expect(r.kappa).toBe(0);
  });
});

describe('confusionMatrix options', () => {
  it('takes class names (or their alias labels) and infers numClasses from them or the data', () => {
    const r = confusionMatrix({ actual: [0, 1, 2, 2], predicted: [0, 2, 2, 2], classNames: ['a', 'b', 'c'] });
    expect(r.counts).toEqual([[1, 0, 0], [0, 0, 1], [0, 0, 2]]);
    expect(r.perClass.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(confusionMatrix({ actual: [0, 1], predicted: [0, 3] }).numClasses).toBe(4);
    expect(confusionMatrix({ actual: [0, 1], predicted: [0, 1], labels: ['x', 'y', 'z'] }).classNames).toEqual(['x', 'y', 'z']);
    expect(confusionMatrix({ actual: [0], predicted: [0], numClasses: 2 }).classNames).toEqual(['0', '1']);
  });

  it('rebuilds the same report from counts', () => {
    const c = fixtures.cases[1];
    const r = confusionMatrix({ actual: c.actual, predicted: c.predicted, numClasses: c.numClasses });
    expect(confusionReportFromCounts(r.counts, r.classNames)).toEqual(r);
  });
});

describe('confusionMatrix bad input', () => {
  it('rejects arrays of different length', () => {
    expect(codeOf(() => confusionMatrix({ actual: [0, 1, 2], predicted: [0, 1] }))).toBe('E_LENGTH_MISMATCH');
    expect(() => confusionMatrix({ actual: [0, 1, 2], predicted: [0, 1] })).toThrow(/"actual" has 3 rows but "predicted" has 2/);
  });
  it('rejects empty input', () => {
    expect(codeOf(() => confusionMatrix({ actual: [], predicted: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => confusionReportFromCounts([[0, 0], [0, 0]]))).toBe('E_EMPTY_INPUT');
  });
  it('rejects labels out of range, negative or fractional', () => {
    expect(codeOf(() => confusionMatrix({ actual: [0, 7], predicted: [0, 1], numClasses: 7 }))).toBe('E_BAD_LABEL');
    expect(() => confusionMatrix({ actual: [0, 7], predicted: [0, 1], numClasses: 7 })).toThrow(/actual\[1\] is 7, expected an integer in \[0, 6\]/);
    expect(codeOf(() => confusionMatrix({ actual: [0, -1], predicted: [0, 1] }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => confusionMatrix({ actual: [0, 1], predicted: [0, 1.5] }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => confusionMatrix({ actual: [0, 2], predicted: [0, 1], classNames: ['a', 'b'] }))).toBe('E_BAD_LABEL');
    expect(codeOf(() => confusionMatrix({ actual: [0, 123456], predicted: [0, 1] }))).toBe('E_BAD_LABEL');
  });
  it('rejects unknown option keys, swapped-type inputs and bad class names', () => {
    expect(codeOf(() => confusionMatrix({ actual: [0], predicted: [0], numClass: 2 } as never))).toBe('E_BAD_OPTION');
    expect(codeOf(() => confusionMatrix({ actual: new Float32Array([0]), predicted: [0] } as never))).toBe('E_BAD_OPTION');
    expect(codeOf(() => confusionMatrix({ actual: [0], predicted: [0], numClasses: 0 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => confusionMatrix({ actual: [0], predicted: [0], classNames: ['a'], labels: ['a'] }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => confusionMatrix({ actual: [0], predicted: [0], numClasses: 3, classNames: ['a', 'b'] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => confusionReportFromCounts([[1, 2], [3]]))).toBe('E_BAD_INPUT');
  });
});
