// Horizontal reference lines on @fer/metrics' vega-lite charts: chance and the majority-class rate on the
// bar charts, the paper's final number on the training curves. Each line is a dashed rule with its label.
import type { VegaLiteSpec } from '@fer/metrics';

export interface ReferenceLine {
  value: number;
  label: string;
  color: string;
}

type Json = Record<string, unknown>;

/** Lines at the same value (to 0.1 point) share one label; labels of close lines are stacked so they never overlap. */
function arrange(lines: readonly ReferenceLine[]): (ReferenceLine & { dy: number })[] {
  const groups = new Map<string, ReferenceLine>();
  for (const l of lines.filter((x) => Number.isFinite(x.value))) {
    const k = (l.value * 1000).toFixed(0);
    const g = groups.get(k);
    groups.set(k, g ? { ...g, label: `${g.label} · ${l.label}` } : { ...l });
  }
  const sorted = [...groups.values()].sort((a, b) => a.value - b.value);
  let prev: { value: number; dy: number } | null = null;
  return sorted.map((l) => {
    const dy = prev && l.value - prev.value < 0.04 ? prev.dy - 12 : -2;
    prev = { value: l.value, dy };
    return { ...l, dy };
  });
}

function lineLayers(lines: readonly ReferenceLine[], yTitle: unknown): Json[] {
  return arrange(lines).flatMap((l) => [
    {
      data: { values: [{ v: l.value }] },
      mark: { type: 'rule', color: l.color, strokeDash: [5, 3], strokeWidth: 1.5 },
      encoding: { y: { field: 'v', type: 'quantitative', title: yTitle } },
    },
    {
      data: { values: [{ v: l.value, t: l.label }] },
      // Outside the plot, right of its edge: a label never runs through the bars (vega-lite's autosize pads for it).
      mark: { type: 'text', color: l.color, align: 'left', baseline: 'middle', dx: 4, dy: l.dy + 2, fontSize: 10 },
      encoding: { y: { field: 'v', type: 'quantitative', title: yTitle }, x: { value: 'width' }, text: { field: 't' } },
    },
  ]);
}

/** Adds the lines to a layered chart (perClassBarsSpec). */
export function withLines(spec: VegaLiteSpec, lines: readonly ReferenceLine[]): VegaLiteSpec {
  const s = structuredClone(spec) as unknown as Json;
  const layer = s.layer as Json[];
  const yTitle = ((layer[0].encoding as Json).y as Json).title;
  // NOTE: x: { value: 'width' } puts each label just right of the plot's right edge.
  s.layer = [...layer, ...lineLayers(lines, yTitle)];
  return s as unknown as VegaLiteSpec;
}

/** Adds the lines to the accuracy panel (the second) of trainingCurvesSpec. */
export function withAccuracyLines(spec: VegaLiteSpec, lines: readonly ReferenceLine[]): VegaLiteSpec {
  const s = structuredClone(spec) as unknown as Json;
  const panels = s.hconcat as Json[];
  const acc = panels[1];
  const { width, height, title, ...inner } = acc;
  const yTitle = ((inner.encoding as Json).y as Json).title;
  panels[1] = { width, height, title, layer: [inner, ...lineLayers(lines, yTitle)] };
  return s as unknown as VegaLiteSpec;
}

/** Axis labels split on ", " into lines (so long bar labels never overlap). */
export function multilineXLabels(spec: VegaLiteSpec): VegaLiteSpec {
  const s = structuredClone(spec) as unknown as Json;
  for (const l of s.layer as Json[]) {
    const x = (l.encoding as Json | undefined)?.x as Json | undefined;
    if (x && x.field) x.axis = { ...(x.axis as Json), labelAngle: 0, labelExpr: "split(datum.label, ', ')", labelLimit: 400 };
  }
  return s as unknown as VegaLiteSpec;
}

export const REFERENCE_COLORS = { chance: '#d62728', majority: '#7f7f7f', paper: '#2ca02c' } as const;
