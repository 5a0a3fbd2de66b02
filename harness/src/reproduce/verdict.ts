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

export interface Verdict {
  delta: number | null;
  reproduced: boolean | null;
  why: string;
}

/**
 * Reproduced when the paper's number lies inside our 95% CI or within `within` (2 points) of our mean.
 * @example
 * verdict(0.64, { mean: 0.63, std: NaN, ci: [0.62, 0.64], n: 1, method: 'bootstrap' }) // reproduced
 */
export function verdict(paper: number | undefined | null, v: CellValue | undefined, within = 0.02): Verdict {
  if (paper === undefined || paper === null || !v || !Number.isFinite(v.mean)) return { delta: null, reproduced: null, why: 'not comparable' };
  const delta = v.mean - paper;
  const inCi = v.ci !== null && paper >= v.ci[0] - 1e-12 && paper <= v.ci[1] + 1e-12;
  const close = Math.abs(delta) <= within + 1e-12;
  return {
    delta,
    reproduced: inCi || close,
    why: inCi ? 'paper inside our 95% CI' : close ? `within ${(within * 100).toFixed(0)} points` : `off by ${(delta * 100).toFixed(1)} points, outside our 95% CI`,
  };
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
