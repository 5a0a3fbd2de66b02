import { mkdirSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '@fer/testing';
import { confusionHeatmapSpec, perClassBarsSpec, trainingCurvesSpec, type VegaLiteSpec } from './charts.js';
import { renderPng, renderSvg } from './render.js';
import { confusionMatrix } from './confusion-matrix.js';
import { mulberry32 } from './_rng.js';
import { FerMetricsError } from './errors.js';

// Rendered charts are kept for people to look at (the issue asks for one of each by path).
const OUT = '/tmp/fer-metrics-charts';
const EMOTIONS = ['Angry', 'Disgust', 'Fear', 'Happy', 'Sad', 'Surprise', 'Neutral'];
const PAPER_DEEP = [0.53, 0.7, 0.46, 0.805, 0.63, 0.625, 0.515]; // Alizadeh & Fazel 2017, per-expression accuracy of the deep CNN

const codeOf = (fn: () => unknown): string => errorCodeOf(fn, FerMetricsError);

function fakeReport() {
  const rng = mulberry32(5);
  const actual: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < 700; i++) {
    const a = Math.floor(rng() * 7);
    actual.push(a);
    predicted.push(rng() < 0.6 ? a : Math.floor(rng() * 7));
  }
  return confusionMatrix({ actual, predicted, classNames: EMOTIONS });
}

/** Width and height from the IHDR chunk (bytes 16..23), after checking the PNG signature. */
function pngHeaderSize(bytes: Uint8Array): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(String.fromCharCode(...bytes.subarray(12, 16))).toBe('IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  expect(m, 'svg has width and height').not.toBeNull();
  return { width: Number(m![1]), height: Number(m![2]) };
}

/** Decodes the PNG and measures how much is drawn: share of non-white pixels, distinct colours, luminance variance. */
function pixelStats(bytes: Uint8Array) {
  const png = PNG.sync.read(Buffer.from(bytes));
  const n = png.width * png.height;
  let nonWhite = 0;
  let dark = 0;
  let sum = 0;
  let sum2 = 0;
  const colours = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = png.data[4 * i];
    const g = png.data[4 * i + 1];
    const b = png.data[4 * i + 2];
    const lum = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += lum;
    sum2 += lum * lum;
    if (lum < 250) nonWhite++;
    if (lum < 80) dark++;
    if (colours.size < 5000) colours.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { width: png.width, height: png.height, nonWhite: nonWhite / n, dark: dark / n, colours: colours.size, variance: sum2 / n - mean * mean };
}

async function renderAndCheck(name: string, spec: VegaLiteSpec, scale = 2) {
  const svg = await renderSvg(spec);
  const png = await renderPng(spec, { scale });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}/${name}.png`, png);
  writeFileSync(`${OUT}/${name}.svg`, svg);
  const s = svgSize(svg);
  const header = pngHeaderSize(png);
  expect(header).toEqual({ width: Math.ceil(s.width * scale), height: Math.ceil(s.height * scale) });
  const stats = pixelStats(png);
  expect({ width: stats.width, height: stats.height }).toEqual(header);
  expect(stats.variance, 'not a blank image').toBeGreaterThan(100);
  expect(stats.colours, 'more than a couple of colours').toBeGreaterThan(20);
  expect(stats.dark, 'dark pixels: text and axes were drawn').toBeGreaterThan(0.002);
  return { svg, png, stats, size: s };
}

describe('charts render to PNG', () => {
  it('confusion heat map with counts', async () => {
    const report = fakeReport();
    const spec = confusionHeatmapSpec(report, { title: 'Confusion matrix (synthetic)' });
    const { svg, size } = await renderAndCheck('confusion-heatmap', spec);
    for (const name of EMOTIONS) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain(`>${report.counts[3][3]}</text>`);
    expect(size.width).toBeGreaterThan(7 * 48);
    expect(size.height).toBeGreaterThan(7 * 48);
  });

  it('per-class bars, paper vs ours with error bars', async () => {
    const report = fakeReport();
    const spec = perClassBarsSpec({
      classes: EMOTIONS,
      title: 'Per-expression accuracy',
      series: [
        { name: 'paper (deep)', values: PAPER_DEEP },
        { name: 'ours', values: report.perClass.map((c) => c.recall), ci: report.perClass.map((c) => [c.recall - 0.05, c.recall + 0.05] as [number, number]) },
      ],
    });
    const { svg } = await renderAndCheck('per-class-bars', spec);
    expect(svg).toContain('>paper (deep)</text>');
    expect(svg).toContain('>Per-expression accuracy</text>');
  });

  it('training curves, train vs validation', async () => {
    const history = Array.from({ length: 25 }, (_, e) => ({
      epoch: e + 1,
      loss: 1.9 * Math.exp(-e / 8) + 0.3,
      accuracy: 0.7 - 0.45 * Math.exp(-e / 6),
      valLoss: 1.8 * Math.exp(-e / 10) + 0.5 + e * 0.01,
      valAccuracy: 0.62 - 0.4 * Math.exp(-e / 6),
    }));
    const { svg } = await renderAndCheck('training-curves', trainingCurvesSpec({ history, title: 'Training curves (synthetic)' }), 1);
    expect(svg).toContain('>validation</text>');
    expect(svg).toContain('>loss</text>');
  });

  it('draws text with the bundled font, and draws none without fonts', async () => {
    const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 200, height: 60, data: { values: [{ t: 'Happy 80%' }] }, mark: { type: 'text', fontSize: 30 }, encoding: { text: { field: 't' } }, config: { font: 'DejaVu Sans', view: { stroke: null } } } as VegaLiteSpec;
    const withFont = pixelStats(await renderPng(spec, { scale: 1 }));
    const noFont = pixelStats(await renderPng(spec, { scale: 1, fontFiles: [] }));
    expect(withFont.dark).toBeGreaterThan(0.02);
    expect(noFont.nonWhite).toBe(0);
  });
});

describe('chart specs', () => {
  it('heat map: one cell per pair, rows in class order, takes a bare count matrix', () => {
    const spec = confusionHeatmapSpec([[3, 1], [0, 4]], { classNames: ['no', 'yes'], show: 'both' }) as { data: { values: { text: string; share: number }[] }; encoding: { y: { sort: string[] } } };
    expect(spec.data.values.map((v) => v.text)).toEqual(['3 (75%)', '1 (25%)', '0 (0%)', '4 (100%)']);
    expect(spec.encoding.y.sort).toEqual(['no', 'yes']);
  });

  it('bars: null values draw no bar, NaN or null intervals draw no error bar', () => {
    const spec = perClassBarsSpec({ classes: ['a', 'b'], series: [{ name: 'ours', values: [0.5, null], ci: [[Number.NaN, Number.NaN], [0.1, 0.2]] }] }) as { layer: { data: { values: unknown[] } }[] };
    expect(spec.layer[0].data.values).toEqual([{ cls: 'a', series: 'ours', value: 0.5 }]);
    expect(spec.layer[1].data.values).toEqual([{ cls: 'b', series: 'ours', lo: 0.1, hi: 0.2 }]);
  });

  it('training curves skip missing validation values', () => {
    const spec = trainingCurvesSpec({ history: [{ epoch: 1, loss: 1, accuracy: 0.5 }, { epoch: 2, loss: 0.8, accuracy: 0.6, valLoss: 0.9, valAccuracy: 0.55 }] }) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(6);
  });

  it('rejects bad input with typed errors', () => {
    expect(codeOf(() => confusionHeatmapSpec([[1, 2], [3]]))).toBe('E_BAD_INPUT');
    expect(codeOf(() => confusionHeatmapSpec([]))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => confusionHeatmapSpec([[1]], { classNames: ['a', 'b'] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => confusionHeatmapSpec([[1]], { show: 'all' } as never))).toBe('E_BAD_OPTION');
    expect(codeOf(() => perClassBarsSpec({ classes: ['a', 'b'], series: [{ name: 'x', values: [1] }] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => perClassBarsSpec({ classes: ['a'], series: [{ name: 'x', values: [1] }, { name: 'x', values: [1] }] }))).toBe('E_BAD_INPUT');
    expect(codeOf(() => perClassBarsSpec({ classes: ['a'], series: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => trainingCurvesSpec({ history: [] }))).toBe('E_EMPTY_INPUT');
    expect(codeOf(() => trainingCurvesSpec({ history: [{ epoch: 1, loss: Number.NaN, accuracy: 0.5 }] }))).toBe('E_BAD_INPUT');
  });

  it('renderSvg wraps vega failures, renderPng checks its options', async () => {
    const bad = { data: { values: [{ a: 1 }] }, mark: 'nonsense', encoding: {} } as unknown as VegaLiteSpec;
    await expect(renderSvg(bad)).rejects.toMatchObject({ code: 'E_RENDER' });
    await expect(renderPng(confusionHeatmapSpec([[1]]), { scale: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(renderPng(confusionHeatmapSpec([[1]]), { dpi: 300 } as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});
