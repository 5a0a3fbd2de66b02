// Turns the jobs' results into one report section per experiment: the paper's numbers, ours
// (mean ± std over seeds, 95% CI), Δ, verdict; charts via @fer/metrics; picture figures.
import { confusionHeatmapSpec, confusionMatrix, markdownTable, mcnemar, perClassBarsSpec, trainingCurvesSpec, type VegaLiteSpec } from '@fer/metrics';
import { baselineLine, baselines, perClassBaselineLine, type Baselines } from './baselines.js';
import { sampleRows, type JobOutcome, type JobProgress } from '../job/execute.js';
import { CLASS_NAMES, type ExperimentSpec, type ProduceKind, type RowSpec, type RunSettings } from '../job/spec.js';
import { bootstrapRows, cellValue, formatCell, verdict, type CellValue, type Verdict } from './verdict.js';
import { REFERENCE_COLORS, multilineXLabels, withAccuracyLines, withLines, type ReferenceLine } from './_references.js';

export interface Figure { file: string; caption: string }
export interface VerdictRow { table: string; label: string; paper: number; ours: CellValue; verdict: Verdict }
export interface Section {
  id: string;
  ref: string;
  title: string;
  description: string;
  claim?: string;
  markdown: string;
  figures: Figure[];
  verdicts: VerdictRow[];
}

export interface SectionContext {
  exp: ExperimentSpec;
  /** Finished jobs per row id (one per seed). */
  rows: Map<string, JobOutcome[]>;
  valActual: Uint8Array;
  testActual: Uint8Array;
  settings: RunSettings;
  /** Renders a vega-lite spec to figures/<name>.png and returns the relative path. */
  chart(spec: VegaLiteSpec, name: string): Promise<string>;
  /** Copies a PNG made by a job into figures/ and returns the relative path. */
  picture(src: string, name: string): string;
  /** Extra figures made outside the jobs (DeepDream, HOG glyphs). */
  extra: Record<string, Figure[]>;
  /** Why this run gives no verdicts (smoke budget, synthetic data), else undefined. */
  notAResult?: string;
  /** Jobs stopped on purpose before their last epoch, per row id (their curves are drawn). */
  inProgress?: Map<string, JobProgress[]>;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : (x * 100).toFixed(1));
const sign = (d: number | null) => (d === null ? '—' : `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}`);
const MARKS: Record<Verdict['status'], string> = { reproduced: '✓ reproduced', 'not reproduced': '✗ not reproduced', inconclusive: '? inconclusive', 'not a result': 'not a result', 'not comparable': '—' };
const mark = (v: Verdict) => MARKS[v.status];

const splitBaselines = (ctx: SectionContext) => ({ val: { name: 'PublicTest', b: baselines(ctx.valActual) }, test: { name: 'PrivateTest', b: baselines(ctx.testActual) } });
const chanceLine = (b: Baselines): ReferenceLine => ({ value: b.chance, label: `chance ${pct(b.chance)}%`, color: REFERENCE_COLORS.chance });
const majorityLine = (s: { name: string; b: Baselines }): ReferenceLine => ({ value: s.b.majority.rate, label: `always ${s.b.majority.cls}: ${pct(s.b.majority.rate)}% of ${s.name}`, color: REFERENCE_COLORS.majority });

function measure(ctx: SectionContext, row: RowSpec, what: 'validation' | 'test' | number): CellValue {
  const jobs = ctx.rows.get(row.row) ?? [];
  const { iterations, seed } = { iterations: ctx.settings.report.bootstrap, seed: ctx.settings.seed };
  if (what === 'validation' || what === 'test') {
    const actual = what === 'test' ? ctx.testActual : ctx.valActual;
    return cellValue(jobs.map((j) => j[what].accuracy), jobs.length === 1 ? () => {
      const b = bootstrapRows(actual, jobs[0][what].predicted, iterations, seed).accuracy;
      return [b.lo, b.hi];
    } : undefined);
  }
  const recall = (j: JobOutcome) => {
    let n = 0, ok = 0;
    ctx.testActual.forEach((a, i) => { if (a === what) { n++; if (j.test.predicted[i] === a) ok++; } });
    return n ? ok / n : NaN;
  };
  return cellValue(jobs.map(recall), jobs.length === 1 ? () => {
    const b = bootstrapRows(ctx.testActual, jobs[0].test.predicted, iterations, seed).perClass[what];
    return [b.lo, b.hi];
  } : undefined);
}

function compareRows(ctx: SectionContext, items: { label: string; paper: number | undefined; ours: CellValue }[]): { md: string; verdicts: VerdictRow[] } {
  const verdicts: VerdictRow[] = [];
  const rows = items.map((it) => {
    const v = verdict(it.paper, it.ours, ctx.settings.report.reproducedWithin, ctx.notAResult);
    if (it.paper !== undefined) verdicts.push({ table: ctx.exp.ref, label: it.label, paper: it.paper, ours: it.ours, verdict: v });
    return [it.label, pct(it.paper), formatCell(it.ours), sign(v.delta), mark(v)];
  });
  const seeds = items[0]?.ours.n ?? 0;
  const how = seeds > 1 ? `mean ± std over ${seeds} seeds [95% t-interval]` : 'one seed [95% bootstrap CI over test rows]';
  const b = splitBaselines(ctx);
  const lines = EXPERIMENT_KINDS[ctx.exp.produce].baselines;
  const base = lines === 'per-class' ? perClassBaselineLine(b.test) : lines === 'both' ? baselineLine([b.val, b.test]) : baselineLine([b.test]);
  const note = ctx.notAResult ? `\n*No verdicts: ${ctx.notAResult}.*\n` : '';
  return { md: `${markdownTable({ header: ['', 'paper %', `ours % (${how})`, 'Δ points', 'verdict'], rows, align: ['left', 'right', 'right', 'right', 'left'] })}\n\n${base}\n${note}`, verdicts };
}

/** Bar charts: chance and the majority-class rate of the split(s) they show. */
function barLines(ctx: SectionContext, splits: 'both' | 'test'): ReferenceLine[] {
  const b = splitBaselines(ctx);
  return [chanceLine(b.test.b), ...(splits === 'both' ? [majorityLine(b.val), majorityLine(b.test)] : [majorityLine(b.test)])];
}

/** The fixed part of a section (from the experiment). */
type SectionBase = Pick<Section, 'id' | 'ref' | 'title' | 'description' | 'claim'>;

/**
 * What an experiment kind is, in one place: whether its rows are trained (jobs of the plan), whether its jobs draw
 * pictures, the figures made from several jobs before the sections, the baseline line of its comparison tables, and
 * its report section. ProduceKind (../job/spec.ts) names them; a kind without a definition here does not compile.
 */
export interface ExperimentKind {
  /** Its rows are training jobs of the plan (false: it runs its own trials, as a sweep does). */
  trains: boolean;
  /** Its jobs draw activation maps and filters (../job/execute.ts `pictures`). */
  pictures: boolean;
  /** A figure from more than one job that reproduce/run.ts draws first: HOG glyphs, DeepDream. */
  extra?: 'hog' | 'deepdream';
  /** The baseline line under its comparison table: chance and majority of PrivateTest, of both splits, or per class. */
  baselines: 'test' | 'both' | 'per-class';
  /** Its report section (undefined: built elsewhere, from other results than jobs). */
  section?: (ctx: SectionContext, base: SectionBase) => Promise<Section>;
}

const nothing = async (_ctx: SectionContext, base: SectionBase): Promise<Section> => ({ ...base, markdown: '', verdicts: [], figures: [] });

export const EXPERIMENT_KINDS: Readonly<Record<ProduceKind, ExperimentKind>> = {
  accuracy: { trains: true, pictures: false, baselines: 'both', section: accuracySection },
  'per-class': { trains: true, pictures: false, baselines: 'per-class', section: perClassOrConfusionSection },
  confusion: { trains: true, pictures: false, baselines: 'test', section: perClassOrConfusionSection },
  hybrid: { trains: true, pictures: false, extra: 'hog', baselines: 'test', section: hybridSection },
  histories: { trains: true, pictures: false, baselines: 'test', section: historiesSection },
  'activation-maps': { trains: true, pictures: true, baselines: 'test', section: activationMapsSection },
  filters: { trains: true, pictures: true, baselines: 'test', section: filtersSection },
  deepdream: { trains: true, pictures: false, extra: 'deepdream', baselines: 'test', section: async (ctx, base) => ({ ...(await nothing(ctx, base)), figures: ctx.extra.deepdream ?? [] }) },
  zoo: { trains: true, pictures: false, baselines: 'test', section: zooSection },
  // NOTE: a sweep's section needs the sweeps' leaderboards, not jobs: reproduce/run.ts builds it (sweep/reproduce.ts sweepSection).
  sweep: { trains: false, pictures: false, baselines: 'test' },
};

/** Builds the section of one experiment (its kind's `section`). */
export async function buildSection(ctx: SectionContext): Promise<Section> {
  const { exp } = ctx;
  const section = EXPERIMENT_KINDS[exp.produce].section;
  if (!section) throw new Error(`buildSection: experiment "${exp.id}" (produce '${exp.produce}') has its section built elsewhere.`);
  return section(ctx, { id: exp.id, ref: exp.ref, title: exp.title, description: exp.description, claim: exp.claim });
}

async function accuracySection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const items = exp.rows.flatMap((r) => [
    { label: `${r.label}, validation (PublicTest)`, paper: r.paper.validation, ours: measure(ctx, r, 'validation') },
    { label: `${r.label}, test (PrivateTest)`, paper: r.paper.test, ours: measure(ctx, r, 'test') },
  ]);
  const t = compareRows(ctx, items);
  const spec = perClassBarsSpec({
    classes: items.map((i) => i.label.replace(' (PublicTest)', '').replace(' (PrivateTest)', '')),
    series: [
      { name: 'paper', values: items.map((i) => i.paper ?? null) },
      { name: 'ours', values: items.map((i) => i.ours.mean), ci: items.map((i) => i.ours.ci) },
    ],
    title: 'Accuracy: paper vs ours', width: 130 * items.length, height: 300,
  });
  const chart = withLines(multilineXLabels(spec), barLines(ctx, 'both'));
  return { ...base, markdown: t.md, verdicts: t.verdicts, figures: [{ file: await ctx.chart(chart, `${exp.id}-bars`), caption: 'Validation and test accuracy, paper vs ours (error bars: our 95% CI; dashed: chance and the majority-class rate of each split).' }] };
}

async function perClassOrConfusionSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  let md = '';
  const verdicts: VerdictRow[] = [];
  const figures: Figure[] = [];
  for (const r of exp.rows) {
    const items = CLASS_NAMES.map((c, k) => ({ label: `${r.label}: ${c}`, paper: r.paper[c], ours: measure(ctx, r, k) }));
    if (exp.produce === 'per-class') {
      const t = compareRows(ctx, items);
      md += `**${r.label}**\n\n${t.md}\n`;
      verdicts.push(...t.verdicts);
      const spec = perClassBarsSpec({
        classes: [...CLASS_NAMES],
        series: [{ name: 'paper', values: items.map((i) => i.paper ?? null) }, { name: 'ours', values: items.map((i) => i.ours.mean), ci: items.map((i) => i.ours.ci) }],
        title: `${r.label}: per-expression test accuracy`,
      });
      figures.push({ file: await ctx.chart(withLines(spec, barLines(ctx, 'test')), `${exp.id}-${r.row}`), caption: `${r.label}: per-expression test accuracy, paper vs ours (error bars: 95% CI; dashed: chance, and the majority-class rate of PrivateTest).` });
    } else {
      const jobs = ctx.rows.get(r.row) ?? [];
      const counts = CLASS_NAMES.map(() => new Array<number>(7).fill(0));
      for (const j of jobs) {
        const cm = confusionMatrix({ actual: ctx.testActual, predicted: Uint8Array.from(j.test.predicted), numClasses: 7, classNames: [...CLASS_NAMES] });
        cm.counts.forEach((row, a) => row.forEach((v, p) => { counts[a][p] += v; }));
      }
      const spec = confusionHeatmapSpec({ counts, classNames: [...CLASS_NAMES] }, { title: `${r.label}: confusion on PrivateTest${jobs.length > 1 ? ` (summed over ${jobs.length} seeds)` : ''}`, show: 'both' });
      figures.push({ file: await ctx.chart(spec, `${exp.id}-${r.row}`), caption: `${r.label}: rows are the true expression, columns the predicted one; colour is the row share.` });
      const diag = counts.map((row, a) => row[a] / Math.max(1, row.reduce((x, y) => x + y, 0)));
      md += `**${r.label}** — diagonal (recall) vs the paper's per-expression accuracy: ${CLASS_NAMES.map((c, k) => `${c} ${pct(diag[k])} (paper ${pct(r.paper[c])})`).join(', ')}.\n\n`;
    }
  }
  return { ...base, markdown: md, verdicts, figures };
}

async function hybridSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const first = (row: string) => (ctx.rows.get(row) ?? [])[0];
  const items = exp.rows.map((r) => ({ label: r.label, paper: r.paper.test, ours: measure(ctx, r, 'test') }));
  const t = compareRows(ctx, items);
  const pairs: [string, string][] = [['shallow', 'hybrid-shallow'], ['deep', 'hybrid-deep']];
  const mrows = pairs.filter(([a, b]) => first(a) && first(b)).map(([a, b]) => {
    const m = mcnemar({ actual: ctx.testActual, predictedA: Uint8Array.from(first(a).test.predicted), predictedB: Uint8Array.from(first(b).test.predicted) });
    const la = exp.rows.find((r) => r.row === a)!.label, lb = exp.rows.find((r) => r.row === b)!.label;
    return [`${la} vs ${lb}`, m.b, m.c, m.pValue < 0.001 ? m.pValue.toExponential(2) : m.pValue.toFixed(3), m.pValue < 0.05 ? 'differ (p < 0.05)' : 'no significant difference'];
  });
  const md = `${t.md}\nExact McNemar test on the same PrivateTest rows (seed ${ctx.settings.seed}); b = raw right & hybrid wrong, c = raw wrong & hybrid right:\n\n${markdownTable({ header: ['pair', 'b', 'c', 'p', 'reading'], rows: mrows })}\n`;
  const spec = perClassBarsSpec({
    classes: items.map((i) => i.label),
    series: [{ name: 'paper', values: items.map((i) => i.paper ?? null) }, { name: 'ours', values: items.map((i) => i.ours.mean), ci: items.map((i) => i.ours.ci) }],
    title: 'Raw pixels vs CNN + HOG (test accuracy)', width: 130 * items.length, height: 300,
  });
  const figures = [{ file: await ctx.chart(withLines(multilineXLabels(spec), barLines(ctx, 'test')), `${exp.id}-bars`), caption: 'Test accuracy of the raw-pixel and hybrid networks (paper: hybrid about equal to raw; dashed: chance and the majority-class rate of PrivateTest).' }, ...(ctx.extra.hog ?? [])];
  return { ...base, markdown: md, verdicts: t.verdicts, figures };
}

async function historiesSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const first = (row: string) => (ctx.rows.get(row) ?? [])[0];
  const figures: Figure[] = [];
  let md = '';
  for (const r of exp.rows) {
    const done = first(r.row);
    const going = (ctx.inProgress?.get(r.row) ?? [])[0];
    const j = done ?? going;
    if (!j) continue;
    const bestEpoch = done ? done.bestEpoch : j.history.reduce((b, h) => (h.valAccuracy > (j.history[b - 1]?.valAccuracy ?? -1) ? h.epoch : b), 0);
    const state = going && !done ? `In progress: epoch ${going.at.epoch} of ${going.epochs} (step ${going.at.step} of ${going.at.steps}); ${going.history.length} epoch(s) completed.` : `Best epoch ${bestEpoch} of ${j.epochs}.`;
    if (j.history.length === 0) {
      md += `- ${r.label}: ${state} No completed epoch yet, so no curve.\n`;
      continue;
    }
    const paperLine: ReferenceLine[] = r.paper.validation !== undefined ? [{ value: r.paper.validation, label: `paper's final ${pct(r.paper.validation)}%`, color: REFERENCE_COLORS.paper }] : [];
    const spec = withAccuracyLines(trainingCurvesSpec({ history: j.history.map((h) => ({ epoch: h.epoch, loss: h.loss, accuracy: h.accuracy, valLoss: h.valLoss, valAccuracy: h.valAccuracy })), title: `${r.label} (seed ${j.seed})${going && !done ? `: epoch ${going.at.epoch} of ${going.epochs}, in progress` : ''}` }), paperLine);
    figures.push({ file: await ctx.chart(spec, `${exp.id}-${r.row}`), caption: `${r.label}: loss and accuracy per epoch, training vs validation (PublicTest); dashed: the paper's final validation accuracy. ${state}` });
    const last = j.history[j.history.length - 1];
    md += `- ${r.label}: ${going && !done ? 'latest' : 'final'} validation accuracy ${pct(last?.valAccuracy)}% (paper ~${pct(r.paper.validation)}%), best ${pct(Math.max(...j.history.map((h) => h.valAccuracy)))}% at epoch ${bestEpoch}. ${state}\n`;
  }
  return { ...base, markdown: md, verdicts: [], figures };
}

async function activationMapsSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const first = (row: string) => (ctx.rows.get(row) ?? [])[0];
  const figures: Figure[] = [];
  // The sample faces ../job/execute.ts used: the first PublicTest row of each expression, in this order, up to snapshots.samples.
  const faces = sampleRows(ctx.valActual, ctx.settings.snapshots.samples).map((i) => CLASS_NAMES[ctx.valActual[i]]);
  for (const r of exp.rows) {
    const j = first(r.row);
    for (const a of j?.activations ?? []) {
      figures.push({ file: ctx.picture(`jobs/${j.hash}/${a.file}`, `${exp.id}-${r.row}-e${a.epoch}-${a.layer.replace(/\s+/g, '-')}`), caption: `${r.label}, ${a.layer} layer after epoch ${a.epoch}: each row is a sample face followed by its most varied feature maps; ${faces.length} faces, top to bottom: ${faces.join(', ')}.` });
    }
  }
  return { ...base, markdown: figures.length ? '' : 'No activation maps were recorded.\n', verdicts: [], figures };
}

async function filtersSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const first = (row: string) => (ctx.rows.get(row) ?? [])[0];
  const figures: Figure[] = [];
  for (const r of exp.rows) {
    const j = first(r.row);
    if (j?.filters) figures.push({ file: ctx.picture(`jobs/${j.hash}/${j.filters.file}`, `${exp.id}-${r.row}`), caption: `${r.label}: the ${j.filters.count} kernels of ${j.filters.layer}, after training (best epoch ${j.bestEpoch}).` });
  }
  return { ...base, markdown: '', verdicts: [], figures };
}

async function zooSection(ctx: SectionContext, base: SectionBase): Promise<Section> {
  const { exp } = ctx;
  const first = (row: string) => (ctx.rows.get(row) ?? [])[0];
  const items = exp.rows.map((r) => ({ label: `${r.label}`, paper: r.paper.test, ours: measure(ctx, r, 'test') }));
  const t = compareRows(ctx, items);
  const params = exp.rows.map((r) => [r.label, first(r.row)?.params ?? '—', first(r.row)?.epochs ?? '—', r.source ?? '']);
  const spec = perClassBarsSpec({
    classes: items.map((i) => i.label.replace(/ \(.*\)/, '')),
    series: [{ name: 'reported', values: items.map((i) => i.paper ?? null) }, { name: 'ours', values: items.map((i) => i.ours.mean), ci: items.map((i) => i.ours.ci) }],
    title: 'Zoo models: reported vs ours (test accuracy)', width: 140 * items.length, height: 300,
  });
  return { ...base, markdown: `${t.md}\n${markdownTable({ header: ['model', 'parameters', 'epochs here', 'reported by'], rows: params })}\n`, verdicts: t.verdicts, figures: [{ file: await ctx.chart(withLines(multilineXLabels(spec), barLines(ctx, 'test')), `${exp.id}-bars`), caption: 'Modern models: reported vs ours (dashed: chance and the majority-class rate of PrivateTest).' }] };
}
