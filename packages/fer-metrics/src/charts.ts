import type { TopLevelSpec } from 'vega-lite';
import { FerMetricsError } from './errors.js';
import type { ConfusionReport } from './confusion-matrix.js';
import { checkClassNames, checkInteger, checkKeys, describe } from './_validate.js';

/** A vega-lite specification (vega-lite's `TopLevelSpec`): render with {@link renderSvg} / {@link renderPng}, or in a browser with vega-embed. */
export type VegaLiteSpec = TopLevelSpec;

/** The font the chart specs name; {@link renderPng} ships it (DejaVu Sans), so output is the same on every machine. */
export const CHART_FONT = 'DejaVu Sans';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const BASE_CONFIG = { font: CHART_FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 11 }, title: { fontSize: 14 } };

/** Options of {@link confusionHeatmapSpec}. */
export interface ConfusionHeatmapOptions {
  /** Class names; default the report's, else "0", "1", ... */
  classNames?: readonly string[];
  title?: string;
  /** Text in each cell: the count (default), the row percentage, or both. */
  show?: 'count' | 'percent' | 'both';
  /** Colour by row-normalized share (default, comparable across classes) or by raw count. */
  colorBy?: 'normalized' | 'count';
  /** Side of one cell in pixels; default 48. */
  cellSize?: number;
  /** vega colour scheme; default 'blues'. */
  scheme?: string;
}

/**
 * Confusion-matrix heat map: rows are actual classes, columns predicted; each cell shows its count
 * and is coloured by its share of the row (per-class recall on the diagonal).
 * @example
 * const png = await renderPng(confusionHeatmapSpec(confusionMatrix({ actual, predicted, classNames: EMOTIONS })));
 */
export function confusionHeatmapSpec(input: Pick<ConfusionReport, 'counts'> & Partial<Pick<ConfusionReport, 'classNames'>> | readonly (readonly number[])[], options: ConfusionHeatmapOptions = {}): VegaLiteSpec {
  const fn = 'confusionHeatmapSpec';
  checkKeys(fn, options, ['classNames', 'title', 'show', 'colorBy', 'cellSize', 'scheme']);
  const counts = Array.isArray(input) ? (input as readonly (readonly number[])[]) : (input as { counts?: unknown }).counts;
  if (!Array.isArray(counts) || counts.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: got ${describe(counts)} as counts, expected a ConfusionReport or a non-empty square count matrix.`);
  }
  const k = counts.length;
  counts.forEach((row: unknown, i: number) => {
    if (!Array.isArray(row) || row.length !== k || row.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new FerMetricsError('E_BAD_INPUT', `${fn}: counts[${i}] is ${describe(row)}, expected ${k} non-negative numbers (a square matrix).`);
    }
  });
  const names = checkClassNames(fn, options.classNames ?? (Array.isArray(input) ? undefined : (input as { classNames?: string[] }).classNames) ?? counts.map((_: unknown, i: number) => String(i)), k);
  const show = oneOf(fn, 'show', options.show, ['count', 'percent', 'both'] as const, 'count');
  const colorBy = oneOf(fn, 'colorBy', options.colorBy, ['normalized', 'count'] as const, 'normalized');
  const cell = options.cellSize === undefined ? 48 : checkInteger(fn, 'cellSize', options.cellSize, 8, 400);
  const values: { actual: string; predicted: string; count: number; share: number; text: string; dark: boolean }[] = [];
  let maxCount = 0;
  for (const row of counts) for (const v of row) maxCount = Math.max(maxCount, v);
  counts.forEach((row: readonly number[], i: number) => {
    const sum = row.reduce((s, v) => s + v, 0);
    row.forEach((count, j) => {
      const share = sum === 0 ? 0 : count / sum;
      const pct = `${(share * 100).toFixed(0)}%`;
      const text = show === 'count' ? String(count) : show === 'percent' ? pct : `${count} (${pct})`;
      const intensity = colorBy === 'normalized' ? share : maxCount === 0 ? 0 : count / maxCount;
      values.push({ actual: names[i], predicted: names[j], count, share, text, dark: intensity > 0.55 });
    });
  });
  const colorField = colorBy === 'normalized' ? 'share' : 'count';
  return {
    $schema: SCHEMA,
    ...(options.title === undefined ? {} : { title: options.title }),
    width: cell * k * (show === 'both' ? 1.6 : 1),
    height: cell * k,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: names, title: 'Predicted', axis: { labelAngle: -40, orient: 'bottom' } },
      y: { field: 'actual', type: 'nominal', sort: names, title: 'Actual' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: colorField,
            type: 'quantitative',
            scale: { scheme: options.scheme ?? 'blues', ...(colorBy === 'normalized' ? { domain: [0, 1] } : {}) },
            title: colorBy === 'normalized' ? 'row share' : 'count',
            ...(colorBy === 'normalized' ? { legend: { format: '.0%' } } : {}),
          },
        },
      },
      {
        mark: { type: 'text', fontSize: Math.max(8, Math.min(14, Math.round(cell / 4))) },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: 'datum.dark', value: 'white' }, value: '#1a1a1a' },
        },
      },
    ],
    config: BASE_CONFIG,
  } as VegaLiteSpec;
}

/** One series of {@link perClassBarsSpec}, e.g. the paper's per-class accuracies or ours. */
export interface BarSeries {
  name: string;
  /** One value per class, in `classes` order; null/NaN = not reported (no bar). */
  values: readonly (number | null)[];
  /** Optional [lo, hi] interval per class, drawn as an error bar; null or NaN bounds draw none. */
  ci?: readonly (readonly [number, number] | null)[];
}

/** Options of {@link perClassBarsSpec}. */
export interface PerClassBarsOptions {
  classes: readonly string[];
  series: readonly BarSeries[];
  title?: string;
  /** Y axis title; default 'accuracy'. */
  yTitle?: string;
  /** Y axis domain; default [0, 1]. Pass null to let the data decide. */
  yDomain?: readonly [number, number] | null;
  /** Format the y axis as percentages (values stay fractions); default true when yDomain is [0, 1]. */
  percentAxis?: boolean;
  /** Width of the plot in pixels; default 70 per class. */
  width?: number;
  /** Height of the plot in pixels; default 260. */
  height?: number;
}

/**
 * Grouped per-class bars with several series side by side (e.g. paper vs ours), optional error bars.
 * @example
 * perClassBarsSpec({
 *   classes: ['Angry', 'Happy'],
 *   series: [{ name: 'paper', values: [0.41, 0.75] }, { name: 'ours', values: [0.45, 0.8], ci: [[0.4, 0.5], [0.77, 0.83]] }],
 * });
 */
export function perClassBarsSpec(options: PerClassBarsOptions): VegaLiteSpec {
  const fn = 'perClassBarsSpec';
  checkKeys(fn, options, ['classes', 'series', 'title', 'yTitle', 'yDomain', 'percentAxis', 'width', 'height']);
  const classes = options.classes;
  if (!Array.isArray(classes) || classes.length === 0 || classes.some((c) => typeof c !== 'string')) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: classes is ${describe(classes)}, expected a non-empty array of class names.`);
  }
  if (!Array.isArray(options.series) || options.series.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: series is ${describe(options.series)}, expected a non-empty array of { name, values }.`);
  }
  const rows: { cls: string; series: string; value: number }[] = [];
  const bars: { cls: string; series: string; lo: number; hi: number }[] = [];
  const seriesNames: string[] = [];
  options.series.forEach((s, si) => {
    checkKeys(`${fn} series[${si}]`, s, ['name', 'values', 'ci']);
    if (typeof s.name !== 'string') throw new FerMetricsError('E_BAD_INPUT', `${fn}: series[${si}].name is ${describe(s.name)}, expected a string.`);
    if (seriesNames.includes(s.name)) throw new FerMetricsError('E_BAD_INPUT', `${fn}: series name "${s.name}" appears twice; give each series its own name.`);
    seriesNames.push(s.name);
    if (!Array.isArray(s.values) || s.values.length !== classes.length) {
      throw new FerMetricsError('E_LENGTH_MISMATCH', `${fn}: series "${s.name}" has ${Array.isArray(s.values) ? s.values.length : 'no'} values, expected ${classes.length} (one per class, in classes order).`);
    }
    (s.values as readonly (number | null)[]).forEach((v, ci) => {
      if (v !== null && typeof v !== 'number') throw new FerMetricsError('E_BAD_INPUT', `${fn}: series "${s.name}" value ${ci} is ${describe(v)}, expected a number or null.`);
      if (v !== null && Number.isFinite(v)) rows.push({ cls: classes[ci], series: s.name, value: v });
    });
    if (s.ci !== undefined) {
      if (!Array.isArray(s.ci) || s.ci.length !== classes.length) {
        throw new FerMetricsError('E_LENGTH_MISMATCH', `${fn}: series "${s.name}" has ${Array.isArray(s.ci) ? s.ci.length : 'no'} intervals, expected ${classes.length} (one [lo, hi] or null per class).`);
      }
      (s.ci as readonly (readonly [number, number] | null)[]).forEach((iv, ci) => {
        if (iv === null) return;
        if (!Array.isArray(iv) || iv.length !== 2 || typeof iv[0] !== 'number' || typeof iv[1] !== 'number') {
          throw new FerMetricsError('E_BAD_INPUT', `${fn}: series "${s.name}" ci[${ci}] is ${describe(iv)}, expected [lo, hi] or null.`);
        }
        // NOTE: NaN bounds (bootstrapCI's answer for a class absent from the test rows) draw no error bar.
        if (Number.isFinite(iv[0]) && Number.isFinite(iv[1])) bars.push({ cls: classes[ci], series: s.name, lo: iv[0], hi: iv[1] });
      });
    }
  });
  const yDomain = options.yDomain === undefined ? [0, 1] : options.yDomain;
  const percentAxis = options.percentAxis ?? (yDomain !== null && yDomain[0] === 0 && yDomain[1] === 1);
  const width = options.width === undefined ? Math.max(200, 70 * classes.length) : checkInteger(fn, 'width', options.width, 50, 4000);
  const height = options.height === undefined ? 260 : checkInteger(fn, 'height', options.height, 50, 4000);
  const x = { field: 'cls', type: 'nominal', sort: classes, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'series', type: 'nominal', sort: seriesNames };
  const y = {
    type: 'quantitative',
    title: options.yTitle ?? 'accuracy',
    ...(yDomain === null ? {} : { scale: { domain: [...yDomain], clamp: true } }),
    ...(percentAxis ? { axis: { format: '.0%' } } : {}),
  };
  const layer: unknown[] = [
    {
      data: { values: rows },
      mark: { type: 'bar' },
      encoding: {
        x,
        xOffset,
        y: { ...y, field: 'value' },
        color: { field: 'series', type: 'nominal', sort: seriesNames, title: null, scale: { scheme: 'tableau10' }, legend: { orient: 'top' } },
      },
    },
  ];
  if (bars.length > 0) {
    layer.push({
      data: { values: bars },
      mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
      encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
    });
  }
  return {
    $schema: SCHEMA,
    ...(options.title === undefined ? {} : { title: options.title }),
    width,
    height,
    layer,
    config: BASE_CONFIG,
  } as VegaLiteSpec;
}

/** One epoch of training history (as written by the trainer's onEpoch). */
export interface HistoryEntry {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number | null;
  valAccuracy?: number | null;
}

/** Options of {@link trainingCurvesSpec}. */
export interface TrainingCurvesOptions {
  history: readonly HistoryEntry[];
  title?: string;
  /** Size of each of the two panels; default 320 x 220. */
  width?: number;
  height?: number;
}

/**
 * Training curves: loss (left) and accuracy (right) per epoch, train vs validation.
 * Entries without valLoss / valAccuracy draw the train line only.
 * @example
 * trainingCurvesSpec({ history: [{ epoch: 1, loss: 1.8, accuracy: 0.3, valLoss: 1.7, valAccuracy: 0.33 }, ...] });
 */
export function trainingCurvesSpec(options: TrainingCurvesOptions): VegaLiteSpec {
  const fn = 'trainingCurvesSpec';
  checkKeys(fn, options, ['history', 'title', 'width', 'height']);
  const history = options.history;
  if (!Array.isArray(history) || history.length === 0) {
    throw new FerMetricsError('E_EMPTY_INPUT', `${fn}: history is ${describe(history)}, expected a non-empty array of { epoch, loss, accuracy, valLoss?, valAccuracy? }.`);
  }
  const values: { epoch: number; metric: string; split: string; value: number }[] = [];
  history.forEach((h, i) => {
    if (h === null || typeof h !== 'object') throw new FerMetricsError('E_BAD_INPUT', `${fn}: history[${i}] is ${describe(h)}, expected { epoch, loss, accuracy, valLoss?, valAccuracy? }.`);
    for (const key of ['epoch', 'loss', 'accuracy'] as const) {
      if (typeof h[key] !== 'number' || !Number.isFinite(h[key])) {
        throw new FerMetricsError('E_BAD_INPUT', `${fn}: history[${i}].${key} is ${describe(h[key])}, expected a finite number.`);
      }
    }
    values.push({ epoch: h.epoch, metric: 'loss', split: 'train', value: h.loss }, { epoch: h.epoch, metric: 'accuracy', split: 'train', value: h.accuracy });
    if (typeof h.valLoss === 'number' && Number.isFinite(h.valLoss)) values.push({ epoch: h.epoch, metric: 'loss', split: 'validation', value: h.valLoss });
    if (typeof h.valAccuracy === 'number' && Number.isFinite(h.valAccuracy)) values.push({ epoch: h.epoch, metric: 'accuracy', split: 'validation', value: h.valAccuracy });
  });
  const width = options.width === undefined ? 320 : checkInteger(fn, 'width', options.width, 50, 4000);
  const height = options.height === undefined ? 220 : checkInteger(fn, 'height', options.height, 50, 4000);
  const panel = (metric: 'loss' | 'accuracy') => ({
    width,
    height,
    title: metric,
    transform: [{ filter: `datum.metric === '${metric}'` }],
    mark: { type: 'line', point: history.length <= 40 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false }, ...(metric === 'accuracy' ? { axis: { format: '.0%' } } : {}) },
      color: { field: 'split', type: 'nominal', sort: ['train', 'validation'], title: null, scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#f58518'] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
      strokeDash: { field: 'split', type: 'nominal', sort: ['train', 'validation'], title: null, scale: { domain: ['train', 'validation'], range: [[1, 0], [6, 3]] } },
    },
  });
  return {
    $schema: SCHEMA,
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    hconcat: [panel('loss'), panel('accuracy')],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: BASE_CONFIG,
  } as VegaLiteSpec;
}

// --- Internal helpers ---

function oneOf<T extends string>(fn: string, field: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) {
    throw new FerMetricsError('E_BAD_OPTION', `${fn}: ${field} is ${describe(v)}, expected one of ${allowed.map((a) => `"${a}"`).join(', ')}.`);
  }
  return v as T;
}
