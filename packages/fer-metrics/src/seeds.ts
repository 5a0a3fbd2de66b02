import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { FerMetricsError } from './errors.js';
import { describe } from './_validate.js';

/** The result of {@link summarizeSeeds}. */
export interface SeedSummary {
  mean: number;
  /** Sample standard deviation (ddof = 1, divides by n - 1); NaN when n = 1. */
  std: number;
  /** 95% confidence interval of the mean, Student's t with n - 1 degrees of freedom; [NaN, NaN] when n = 1. */
  ci95: [number, number];
  n: number;
}

/**
 * Mean, sample standard deviation (ddof = 1) and 95% t-interval of a measure across training seeds:
 * `mean ± t(0.975, n - 1) · std / √n` (SciPy `stats.t.interval(0.95, n - 1, mean, sem)`).
 * With one value the spread is unknown: std and the interval are NaN (not 0), so a table shows "—".
 *
 * @example
 * summarizeSeeds([0.61, 0.63, 0.65]); // { mean: 0.63, std: 0.02, ci95: [0.5803, 0.6797], n: 3 }
 */
export function summarizeSeeds(values: readonly number[] | Float32Array | Float64Array): SeedSummary {
  const fn = 'summarizeSeeds';
  if (!(Array.isArray(values) || values instanceof Float32Array || values instanceof Float64Array)) {
    throw new FerMetricsError('E_BAD_INPUT', `${fn}: got ${describe(values)}, expected an array of numbers (one measure per seed).`);
  }
  const n = values.length;
  if (n === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: got no values, expected one measure per training seed (at least one).`);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new FerMetricsError('E_BAD_INPUT', `${fn}: values[${i}] is ${describe(v)}, expected a finite number. Drop failed runs before summarizing.`);
    }
    sum += v;
  }
  const mean = sum / n;
  if (n === 1) return { mean, std: Number.NaN, ci95: [Number.NaN, Number.NaN], n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  const half = (tQuantile(0.975, n - 1) * std) / Math.sqrt(n);
  return { mean, std, ci95: [mean - half, mean + half], n };
}
