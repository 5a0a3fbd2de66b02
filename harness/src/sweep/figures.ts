// The sweep's figures, as vega-lite specs rendered to small PNGs with @fer/metrics' renderPng (the report's
// renderer and font): PublicTest accuracy against each searched hyperparameter (log x for log-uniform axes), and
// the PublicTest curves of all trials coloured by the rung they reached.
import { CHART_FONT, type VegaLiteSpec } from '@fer/metrics';
import type { SpaceAxis } from './space.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, titleFontSize: 10 }, title: { fontSize: 12 } };

/** What a figure needs of a trial (a leaderboard row). */
export interface FigureTrial {
  trial: number;
  params: Record<string, string>;
  /** Epochs trained (the rung reached, in epochs). */
  epochs: number;
  publicTest: number | null;
  accuracy: readonly (number | null)[];
  status: string;
}

/**
 * Best PublicTest accuracy against one hyperparameter, one point per trial, coloured by the epochs it reached.
 * Numeric axes are quantitative (log scale for `log:` axes); a choice is nominal.
 * @example
 * accuracyVsParamSpec(rows, { key: 'lr', kind: 'log', lo: 1e-5, hi: 1e-3 }, 'paper-shallow')
 */
export function accuracyVsParamSpec(trials: readonly FigureTrial[], axis: SpaceAxis, title: string): VegaLiteSpec {
  const numeric = axis.kind !== 'choice' || axis.values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  const values = trials.filter((t) => t.publicTest !== null && t.params[axis.key] !== undefined).map((t) => ({
    x: numeric && axis.kind !== 'choice' ? Number(t.params[axis.key]) : t.params[axis.key],
    acc: t.publicTest,
    epochs: t.epochs,
    trial: t.trial + 1,
  }));
  const x = axis.kind === 'choice'
    ? { field: 'x', type: 'ordinal', title: axis.key, sort: numeric ? axis.values.map(Number).sort((a, b) => a - b).map(String) : axis.values, axis: { labelAngle: 0 } }
    : { field: 'x', type: 'quantitative', title: `${axis.key}${axis.kind === 'log' ? ' (log scale)' : ''}`, scale: axis.kind === 'log' ? { type: 'log', domain: [axis.lo, axis.hi] } : { zero: false, domain: [axis.lo, axis.hi] }, axis: axis.kind === 'log' ? { format: '.0e' } : {} };
  return {
    $schema: SCHEMA,
    title: `${title}: PublicTest accuracy against ${axis.key}`,
    width: 340,
    height: 220,
    data: { values },
    mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
    encoding: {
      x,
      y: { field: 'acc', type: 'quantitative', title: 'best PublicTest accuracy', scale: { zero: false }, axis: { format: '.0%' } },
      color: { field: 'epochs', type: 'ordinal', title: 'epochs trained', scale: { scheme: 'viridis' } },
    },
    config: CONFIG,
  } as VegaLiteSpec;
}

/**
 * PublicTest accuracy per epoch of every trial, one line each, coloured by the epochs it reached (the rung).
 * @example
 * sweepCurvesSpec(rows, 'paper-shallow')
 */
export function sweepCurvesSpec(trials: readonly FigureTrial[], title: string): VegaLiteSpec {
  const values = trials.flatMap((t) => t.accuracy.map((a, e) => ({ epoch: e + 1, acc: a, trial: t.trial + 1, epochs: t.epochs })).filter((p) => p.acc !== null));
  const longest = Math.max(1, ...trials.map((t) => t.accuracy.length));
  return {
    $schema: SCHEMA,
    title: `${title}: PublicTest accuracy per epoch, by rung reached`,
    width: 380,
    height: 240,
    data: { values },
    mark: { type: 'line', point: longest <= 12, strokeWidth: 1.5, opacity: 0.85 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 }, scale: { domain: [1, longest] } },
      y: { field: 'acc', type: 'quantitative', title: 'PublicTest accuracy', scale: { zero: false }, axis: { format: '.0%' } },
      color: { field: 'epochs', type: 'ordinal', title: 'epochs trained', scale: { scheme: 'viridis' } },
      detail: { field: 'trial', type: 'nominal' },
    },
    config: CONFIG,
  } as VegaLiteSpec;
}

/** A file name for a key: `train.learningRate` -> `train.learningRate`, `model.units` -> `model.units` (safe characters only). */
export function figureName(key: string): string {
  return `accuracy-vs-${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`;
}
