import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { checkKeys, checkLabels, labelArray, sameLength, type LabelArray } from './_validate.js';

/** Options of {@link mcnemar}. All three arrays describe the same test rows, in the same order. */
export interface McNemarOptions {
  actual: LabelArray;
  /** Predictions of model A (e.g. the raw CNN). */
  predictedA: LabelArray;
  /** Predictions of model B (e.g. the hybrid CNN + HOG). */
  predictedB: LabelArray;
}

/** The result of {@link mcnemar}. */
export interface McNemarResult {
  /** Rows model A got right and model B got wrong. */
  b: number;
  /** Rows model A got wrong and model B got right. */
  c: number;
  /** b + c, the discordant rows the test looks at. */
  n: number;
  /** `[[both right, only A right], [only B right, both wrong]]`, statsmodels' table layout. */
  table: [[number, number], [number, number]];
  /** Two-sided exact p-value: min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when b + c = 0. */
  pValue: number;
  exact: true;
}

/**
 * McNemar's exact test: do two classifiers evaluated on the same rows differ in accuracy?
 * Same as statsmodels `mcnemar(table, exact=True)` and SciPy `binomtest(b, b + c, 0.5)`.
 * A small p-value (e.g. < 0.05) says the difference between A and B is unlikely to be chance.
 *
 * @example
 * const r = mcnemar({ actual: [0, 1, 1, 0], predictedA: [0, 1, 0, 0], predictedB: [0, 0, 0, 1] });
 * r.b; // 2 (A right, B wrong)
 * r.c; // 0
 * r.pValue; // 0.5
 */
export function mcnemar(options: McNemarOptions): McNemarResult {
  const fn = 'mcnemar';
  checkKeys(fn, options, ['actual', 'predictedA', 'predictedB']);
  const actual = labelArray(fn, 'actual', options.actual);
  const a = labelArray(fn, 'predictedA', options.predictedA);
  const bPred = labelArray(fn, 'predictedB', options.predictedB);
  sameLength(fn, ['actual', actual], ['predictedA', a]);
  sameLength(fn, ['actual', actual], ['predictedB', bPred]);
  checkLabels(fn, 'actual', actual);
  checkLabels(fn, 'predictedA', a);
  checkLabels(fn, 'predictedB', bPred);
  let both = 0;
  let b = 0;
  let c = 0;
  let neither = 0;
  for (let i = 0; i < actual.length; i++) {
    const ra = a[i] === actual[i];
    const rb = bPred[i] === actual[i];
    if (ra && rb) both++;
    else if (ra) b++;
    else if (rb) c++;
    else neither++;
  }
  const n = b + c;
  // McNemar 1947, exact form: under H0 each discordant row is A-only or B-only with probability 1/2.
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5));
  return { b, c, n, table: [[both, b], [c, neither]], pValue, exact: true };
}
