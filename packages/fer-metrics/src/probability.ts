import { checkFiniteNumber, checkInteger, checkKeys, checkLabels, checkNumClasses, labelArray, probabilityMatrix, type LabelArray, type ProbabilityInput } from './_validate.js';

/** Options of {@link topKAccuracy}. */
export interface TopKAccuracyOptions {
  /** True class index of each row. */
  actual: LabelArray;
  /** Class probabilities (or any scores), flat N*numClasses row-major or N rows. Rows must sum to 1. */
  probabilities: ProbabilityInput;
  numClasses: number;
  /** How many top-ranked classes count as a hit; 1 = ordinary accuracy. */
  k: number;
}

/**
 * Fraction of rows whose true class is among the `k` most probable classes.
 *
 * Ties are broken as scikit-learn's `top_k_accuracy_score` does (a stable ascending argsort,
 * reversed): among equal scores the higher class index ranks first. `k >= numClasses` gives 1.
 *
 * @example
 * topKAccuracy({ actual: [0, 1], probabilities: [[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]], numClasses: 3, k: 2 }); // 0.5
 */
export function topKAccuracy(options: TopKAccuracyOptions): number {
  const fn = 'topKAccuracy';
  checkKeys(fn, options, ['actual', 'probabilities', 'numClasses', 'k']);
  const numClasses = checkNumClasses(fn, options.numClasses);
  const actual = labelArray(fn, 'actual', options.actual);
  checkLabels(fn, 'actual', actual, numClasses);
  const k = checkInteger(fn, 'k', options.k, 1);
  const p = probabilityMatrix(fn, options.probabilities, actual.length, numClasses);
  let hits = 0;
  for (let i = 0; i < actual.length; i++) {
    const t = actual[i];
    const pt = p[i * numClasses + t];
    let ahead = 0; // classes ranked before the true one
    for (let j = 0; j < numClasses; j++) {
      const pj = p[i * numClasses + j];
      if (pj > pt || (pj === pt && j > t)) ahead++;
    }
    if (ahead < k) hits++;
  }
  return hits / actual.length;
}

/** Options of {@link logLoss}. */
export interface LogLossOptions {
  /** True class index of each row. */
  actual: LabelArray;
  /** Class probabilities, flat N*numClasses row-major or N rows; each row sums to 1 (within 1e-3). */
  probabilities: ProbabilityInput;
  numClasses: number;
  /** Probabilities are clipped to [eps, 1 - eps] (then rows renormalized) so log(0) never occurs. Default `Number.EPSILON`. */
  eps?: number;
}

/**
 * Mean negative log-likelihood of the true classes (cross-entropy, natural log).
 *
 * Matches scikit-learn 1.2's `log_loss(labels=range(numClasses))` with `eps='auto'` for float64:
 * clip to [eps, 1 - eps], renormalize each row, average -ln p(true class).
 *
 * @example
 * logLoss({ actual: [0, 1], probabilities: [[0.9, 0.1], [0.2, 0.8]], numClasses: 2 }); // (−ln 0.9 − ln 0.8) / 2 ≈ 0.164
 */
export function logLoss(options: LogLossOptions): number {
  const fn = 'logLoss';
  checkKeys(fn, options, ['actual', 'probabilities', 'numClasses', 'eps']);
  const numClasses = checkNumClasses(fn, options.numClasses);
  const actual = labelArray(fn, 'actual', options.actual);
  checkLabels(fn, 'actual', actual, numClasses);
  const eps = options.eps === undefined ? Number.EPSILON : checkFiniteNumber(fn, 'eps', options.eps, 0, 0.5);
  const p = probabilityMatrix(fn, options.probabilities, actual.length, numClasses);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    let rowSum = 0;
    for (let j = 0; j < numClasses; j++) rowSum += clip(p[i * numClasses + j], eps);
    sum -= Math.log(clip(p[i * numClasses + actual[i]], eps) / rowSum);
  }
  return sum / actual.length;
}

// --- Internal helpers ---

function clip(v: number, eps: number): number {
  return v < eps ? eps : v > 1 - eps ? 1 - eps : v;
}
