// A table cell: mean ± std over seeds with a 95% CI (Student t over seeds, or a bootstrap over
// test rows when there is one seed), and whether the paper's number is reproduced.
import { bootstrapCI, summarizeSeeds } from '@fer/metrics';

export interface CellValue {
  mean: number;
  /** Sample std over seeds; NaN with one seed. */
  std: number;
  ci: [number, number] | null;
  n: number;
  method: 'seeds' | 'bootstrap' | 'none';
}

export type VerdictStatus = 'reproduced' | 'not reproduced' | 'inconclusive' | 'not a result' | 'not comparable';

export interface Verdict {
  delta: number | null;
  /** true = reproduced, false = not reproduced, null = no verdict (inconclusive, not a result, not comparable). */
  reproduced: boolean | null;
  status: VerdictStatus;
  why: string;
}

/** The widest 95% CI half-width (3 points) at which "the paper's number is inside our CI" means anything. */
export const MAX_HALF_WIDTH = 0.03;

/**
 * The verdict of one cell:
 * - `not a result` when `notAResult` says why (smoke budget, synthetic data): no verdict at all;
 * - `reproduced` when the paper's number lies inside our 95% CI or within `within` (2 points) of our mean,
 *   AND the CI half-width is at most 3 points (a 33-point-wide CI contains anything);
 * - `not reproduced` when the paper's number is outside our CI and more than 2 points off;
 * - `inconclusive` otherwise (inside or close, but the CI is too wide or missing).
 * @example
 * verdict(0.64, { mean: 0.63, std: NaN, ci: [0.62, 0.64], n: 1, method: 'bootstrap' }) // reproduced
 * verdict(0.75, { mean: 0.59, std: NaN, ci: [0.42, 0.76], n: 1, method: 'bootstrap' }) // inconclusive
 */
export function verdict(paper: number | undefined | null, v: CellValue | undefined, within = 0.02, notAResult?: string): Verdict {
  if (paper === undefined || paper === null || !v || !Number.isFinite(v.mean)) return { delta: null, reproduced: null, status: 'not comparable', why: 'not comparable' };
  const delta = v.mean - paper;
  if (notAResult) return { delta, reproduced: null, status: 'not a result', why: notAResult };
  const inCi = v.ci !== null && paper >= v.ci[0] - 1e-12 && paper <= v.ci[1] + 1e-12;
  const close = Math.abs(delta) <= within + 1e-12;
  const half = v.ci !== null && Number.isFinite(v.ci[0]) && Number.isFinite(v.ci[1]) ? (v.ci[1] - v.ci[0]) / 2 : NaN;
  const p = (x: number) => (x * 100).toFixed(1);
  if (!inCi && !close) {
    // Outside a CI of any width and more than 2 points off: the difference is real. Without a CI, no verdict.
    if (v.ci === null || !Number.isFinite(half)) return { delta, reproduced: null, status: 'inconclusive', why: `off by ${p(delta)} points, no 95% CI to judge it` };
    return { delta, reproduced: false, status: 'not reproduced', why: `off by ${p(delta)} points, outside our 95% CI` };
  }
  const how = inCi ? 'paper inside our 95% CI' : `within ${(within * 100).toFixed(0)} points`;
  if (!(half <= MAX_HALF_WIDTH + 1e-12)) {
    return { delta, reproduced: null, status: 'inconclusive', why: `${how}, but the CI half-width is ${Number.isFinite(half) ? `${p(half)} points` : 'unknown'} (more than ${p(MAX_HALF_WIDTH)}): too few rows or seeds to tell` };
  }
  return { delta, reproduced: true, status: 'reproduced', why: `${how}, CI half-width ${p(half)} points` };
}

/** Summarises one measure over seeds; with one seed, `bootstrap` supplies the interval. */
export function cellValue(values: readonly number[], bootstrap?: () => [number, number]): CellValue {
  if (values.length === 0) return { mean: NaN, std: NaN, ci: null, n: 0, method: 'none' };
  if (values.length === 1) return { mean: values[0], std: NaN, ci: bootstrap ? bootstrap() : null, n: 1, method: bootstrap ? 'bootstrap' : 'none' };
  const s = summarizeSeeds([...values]);
  return { mean: s.mean, std: s.std, ci: [s.ci95[0], s.ci95[1]], n: s.n, method: 'seeds' };
}

/** Bootstrap CIs of accuracy and per-class recall over the rows of one prediction set. */
export function bootstrapRows(actual: ArrayLike<number>, predicted: ArrayLike<number>, iterations: number, seed: number) {
  return bootstrapCI({ actual: Uint8Array.from(actual), predicted: Uint8Array.from(predicted), numClasses: 7, iterations, seed, level: 0.95 });
}

/** "61.2 ± 1.3 [59.0, 63.4]" in percent. */
export function formatCell(v: CellValue | undefined): string {
  if (!v || !Number.isFinite(v.mean)) return '—';
  const p = (x: number) => (x * 100).toFixed(1);
  const std = Number.isFinite(v.std) ? ` ± ${p(v.std)}` : '';
  const ci = v.ci ? ` [${p(v.ci[0])}, ${p(v.ci[1])}]` : '';
  return `${p(v.mean)}${std}${ci}`;
}
