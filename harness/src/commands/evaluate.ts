import { defineCommand } from 'citty';
import { IMAGE_PIXELS, splitIndices } from '@fer/data';
import { confusionMatrix, perClassTable, textTable, type ConfusionReport } from '@fer/metrics';
import { loadModel, predict } from '@fer/models';
import { backendLine, startBackend } from '../backend.js';
import { baselineLine, baselines, type Baselines } from '../report/baselines.js';
import { SHARED_ARGS } from '../flags.js';
import { DATA_FLAG_ARGS, dataFlags, resolveData, type DataFlags } from '../data.js';
import { gather } from '../job/prepare.js';
import { FerCliError, isSplit } from './_models-common.js';

/** Rows of the split left out because the model does not know their class (by name). */
export interface ExcludedClass { name: string; rows: number }

/**
 * Maps the data's class indices to the model's by class NAME (case-insensitive), never by position: a model
 * trained on [Happy, Sad, Angry] evaluated on the 7 FER2013 classes compares Happy with Happy. Data classes the
 * model lacks map to -1. Throws E_CLASS_MISMATCH when no name is shared.
 */
export function classMapping(modelClasses: readonly string[], dataClasses: readonly string[]): Int32Array {
  const byName = new Map(modelClasses.map((n, i) => [n.toLowerCase(), i]));
  const map = Int32Array.from(dataClasses, (n) => byName.get(n.toLowerCase()) ?? -1);
  if (!map.some((m) => m >= 0)) {
    throw new FerCliError('E_CLASS_MISMATCH', `fer evaluate: the model's classes (${modelClasses.join(', ')}) and the data's (${dataClasses.join(', ')}) share no name; expected the model's class names among the data's. Evaluate on data with the model's classes.`);
  }
  return map;
}

/** Accuracy, per-class measures and the confusion matrix of a saved model on one split (classes matched by name). */
export async function runEvaluate(o: { model: string; data?: string; split?: string; backend?: string; verbose?: boolean; dataFlags?: DataFlags; log?: (l: string) => void }): Promise<Evaluation> {
  const split = o.split ?? 'PrivateTest';
  if (!isSplit(split)) throw new Error(`--split ${JSON.stringify(split)}: expected Training, PublicTest or PrivateTest.`);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  log(backendLine(await startBackend(o.backend ?? 'auto'), o.verbose));
  const loaded = await loadModel(o.model);
  try {
    const { ds } = await resolveData(o.data, log, {}, o.dataFlags ?? {});
    const rows = gather(ds, splitIndices(ds, split));
    if (rows.labels.length === 0) throw new Error(`${ds.source}: the ${split} split is empty.`);
    const classNames = loaded.meta.classNames.length ? loaded.meta.classNames : [...ds.classNames];
    const map = classMapping(classNames, ds.classNames);
    // Rows of classes the model does not know cannot be right or wrong: left out, and said so.
    const keep: number[] = [];
    const left = new Map<number, number>();
    rows.labels.forEach((l, i) => { if (map[l] >= 0) keep.push(i); else left.set(l, (left.get(l) ?? 0) + 1); });
    const excluded = [...left].sort((a, b) => a[0] - b[0]).map(([l, n]) => ({ name: ds.classNames[l], rows: n }));
    if (keep.length === 0) throw new FerCliError('E_CLASS_MISMATCH', `fer evaluate: none of the ${rows.labels.length} ${split} rows is of a class the model knows (${classNames.join(', ')}); expected data with the model's classes.`);
    const pixels = new Uint8Array(keep.length * IMAGE_PIXELS);
    keep.forEach((r, j) => pixels.set(rows.pixels.subarray(r * IMAGE_PIXELS, (r + 1) * IMAGE_PIXELS), j * IMAGE_PIXELS));
    const actual = Uint8Array.from(keep, (r) => map[rows.labels[r]]);
    const { labels } = await predict(loaded, pixels, keep.length);
    const report = confusionMatrix({ actual, predicted: labels, numClasses: classNames.length, classNames });
    return { split, synthetic: ds.synthetic, report, excluded, baselines: baselines(actual, classNames.length, classNames) };
  } finally {
    loaded.model.dispose();
  }
}

/** What {@link runEvaluate} gives: the confusion report, the rows left out by class name, and the no-skill baselines of the rows kept (../reproduce/baselines.ts). */
export interface Evaluation { split: string; synthetic: boolean; report: ConfusionReport; excluded: ExcludedClass[]; baselines: Baselines }

/** The human-readable report: accuracy, the baselines, per-class table, confusion matrix (rows = true class). */
export function formatEvaluation(e: Evaluation): string {
  const r = e.report;
  const matrix = textTable({ header: ['true \\ predicted', ...r.classNames], rows: r.counts.map((row, i) => [r.classNames[i], ...row]) });
  const out = e.excluded?.length ? [`NOTE: ${e.excluded.reduce((a, x) => a + x.rows, 0)} rows of classes the model does not know were left out: ${e.excluded.map((x) => `${x.name} (${x.rows})`).join(', ')}.`] : [];
  return [
    ...out,
    `${e.split}${e.synthetic ? ' (SYNTHETIC data)' : ''}: accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.correct}/${r.total})`,
    baselineLine([{ name: e.split, b: e.baselines }]),
    '',
    perClassTable(r, { format: 'text' }),
    '',
    matrix,
  ].join('\n');
}

export default defineCommand({
  meta: { name: 'evaluate', description: 'Accuracy, per-class accuracy and the confusion matrix of a saved model on a split.' },
  args: {
    model: { type: 'string', description: 'saved model folder', required: true },
    data: SHARED_ARGS.data,
    split: { type: 'string', description: 'Training | PublicTest | PrivateTest', default: 'PrivateTest' },
    json: { type: 'boolean', description: 'print JSON', default: false },
    backend: SHARED_ARGS.backend,
    verbose: { type: 'boolean', description: 'print the backend\'s details, not just its one line', default: false },
    ...DATA_FLAG_ARGS,
  },
  async run({ args }) {
    const e = await runEvaluate({ model: args.model, data: args.data, split: args.split, backend: args.backend, verbose: Boolean(args.verbose), dataFlags: dataFlags(args) });
    if (args.json) {
      const r = e.report;
      process.stdout.write(`${JSON.stringify({ split: e.split, synthetic: e.synthetic, accuracy: r.accuracy, total: r.total, baselines: { chance: e.baselines.chance, majority: e.baselines.majority }, perClass: r.perClass, counts: r.counts, classNames: r.classNames, excluded: e.excluded }, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatEvaluation(e)}\n`);
    }
  },
});
