import { FerMetricsError } from './errors.js';
import { mulberry32, quantileSorted } from './_rng.js';
import {
  checkClassNames,
  checkFiniteNumber,
  checkInteger,
  checkKeys,
  checkLabels,
  checkNumClasses,
  inferNumClasses,
  labelArray,
  sameLength,
  type LabelArray,
} from './_validate.js';

/** Options of {@link bootstrapCI}. */
export interface BootstrapOptions {
  actual: LabelArray;
  predicted: LabelArray;
  /** Default: `classNames.length`, else the largest label + 1. */
  numClasses?: number;
  classNames?: readonly string[];
  /** Bootstrap resamples; default 1000. */
  iterations?: number;
  /** PRNG seed (mulberry32); default 0. The same seed gives the same interval. */
  seed?: number;
  /** Confidence level in (0, 1); default 0.95. */
  level?: number;
}

/** A point estimate with its percentile-bootstrap interval. */
export interface Interval {
  /** The measure on the full (not resampled) data. */
  estimate: number;
  lo: number;
  hi: number;
}

/** The result of {@link bootstrapCI}. */
export interface BootstrapResult {
  accuracy: Interval;
  /** Per-class accuracy (recall). `resamples` = how many resamples contained the class (only those count). */
  perClass: (Interval & { name: string; index: number; resamples: number })[];
  iterations: number;
  seed: number;
  level: number;
  method: 'percentile';
}

/**
 * Seeded percentile-bootstrap confidence intervals for accuracy and for each class's accuracy (recall).
 *
 * Each of `iterations` resamples draws N rows with replacement (`floor(rng() * N)`, mulberry32(seed));
 * the interval is the [(1 - level)/2, (1 + level)/2] quantiles of the resampled measure, with linear
 * interpolation (numpy's default). Resamples without any row of a class are skipped for that class;
 * a class absent from `actual` gets NaN everywhere. Efron & Tibshirani 1993, ch. 13.
 *
 * @example
 * const ci = bootstrapCI({ actual, predicted, seed: 1 });
 * `${ci.accuracy.estimate} [${ci.accuracy.lo}, ${ci.accuracy.hi}]`;
 */
export function bootstrapCI(options: BootstrapOptions): BootstrapResult {
  const fn = 'bootstrapCI';
  checkKeys(fn, options, ['actual', 'predicted', 'numClasses', 'classNames', 'iterations', 'seed', 'level']);
  const actual = labelArray(fn, 'actual', options.actual);
  const predicted = labelArray(fn, 'predicted', options.predicted);
  sameLength(fn, ['actual', actual], ['predicted', predicted]);
  const iterations = options.iterations === undefined ? 1000 : checkInteger(fn, 'iterations', options.iterations, 1, 10_000_000);
  const seed = options.seed === undefined ? 0 : checkInteger(fn, 'seed', options.seed, 0, 0xffffffff);
  const level = options.level === undefined ? 0.95 : checkFiniteNumber(fn, 'level', options.level, 0, 1);
  if (level === 0 || level === 1) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: level is ${level}, expected a confidence level strictly between 0 and 1 (e.g. 0.95).`);
  }
  let numClasses: number;
  if (options.numClasses !== undefined) {
    numClasses = checkNumClasses(fn, options.numClasses);
  } else {
    checkLabels(fn, 'actual', actual, options.classNames?.length);
    checkLabels(fn, 'predicted', predicted, options.classNames?.length);
    numClasses = options.classNames?.length ?? inferNumClasses(actual, predicted);
  }
  checkLabels(fn, 'actual', actual, numClasses);
  checkLabels(fn, 'predicted', predicted, numClasses);
  const names = options.classNames === undefined ? Array.from({ length: numClasses }, (_, i) => String(i)) : checkClassNames(fn, options.classNames, numClasses);

  const n = actual.length;
  const a = Int32Array.from(actual);
  const hit = new Uint8Array(n);
  for (let i = 0; i < n; i++) hit[i] = a[i] === predicted[i] ? 1 : 0;

  const rng = mulberry32(seed);
  const accs = new Float64Array(iterations);
  const perClass = Array.from({ length: numClasses }, () => new Float64Array(iterations));
  const perCount = new Int32Array(numClasses);
  const support = new Int32Array(numClasses);
  const correct = new Int32Array(numClasses);
  for (let it = 0; it < iterations; it++) {
    support.fill(0);
    correct.fill(0);
    let right = 0;
    for (let s = 0; s < n; s++) {
      const i = Math.floor(rng() * n);
      support[a[i]]++;
      if (hit[i]) {
        right++;
        correct[a[i]]++;
      }
    }
    accs[it] = right / n;
    for (let c = 0; c < numClasses; c++) if (support[c] > 0) perClass[c][perCount[c]++] = correct[c] / support[c];
  }

  const alpha = (1 - level) / 2;
  const fullSupport = new Int32Array(numClasses);
  const fullCorrect = new Int32Array(numClasses);
  let fullRight = 0;
  for (let i = 0; i < n; i++) {
    fullSupport[a[i]]++;
    if (hit[i]) {
      fullRight++;
      fullCorrect[a[i]]++;
    }
  }
  const interval = (values: Float64Array, estimate: number): Interval => {
    const sorted = values.sort();
    return { estimate, lo: quantileSorted(sorted, alpha), hi: quantileSorted(sorted, 1 - alpha) };
  };
  return {
    accuracy: interval(accs, fullRight / n),
    perClass: names.map((name, c) => ({
      name,
      index: c,
      resamples: perCount[c],
      ...interval(perClass[c].subarray(0, perCount[c]), fullSupport[c] === 0 ? Number.NaN : fullCorrect[c] / fullSupport[c]),
    })),
    iterations,
    seed,
    level,
    method: 'percentile',
  };
}
