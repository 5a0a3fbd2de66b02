import { defineCommand } from 'citty';
import { splitIndices } from '@fer/data';
import { confusionMatrix, perClassTable, textTable, type ConfusionReport } from '@fer/metrics';
import { loadModel, predict } from '@fer/models';
import { backendLine, startBackend } from '../backend.js';
import { baselineLine, baselines, type Baselines } from '../reproduce/baselines.js';
import { SHARED_ARGS } from '../flags.js';
import { DATA_FLAG_ARGS, dataFlags, resolveData, type DataFlags } from '../data.js';
import { gather } from '../reproduce/prepare.js';
import { isSplit } from './_models-common.js';

/** Accuracy, per-class measures and the confusion matrix of a saved model on one split. */
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
    const { labels } = await predict(loaded, rows.pixels, rows.labels.length);
    const classNames = loaded.meta.classNames.length ? loaded.meta.classNames : [...ds.classNames];
    const report = confusionMatrix({ actual: rows.labels, predicted: labels, numClasses: classNames.length, classNames });
    return { split, synthetic: ds.synthetic, report, baselines: baselines(rows.labels, classNames.length, classNames) };
  } finally {
    loaded.model.dispose();
  }
}

/** What {@link runEvaluate} gives: the confusion report and the no-skill baselines of the split (../reproduce/baselines.ts). */
export interface Evaluation { split: string; synthetic: boolean; report: ConfusionReport; baselines: Baselines }

/** The human-readable report: accuracy, the baselines, per-class table, confusion matrix (rows = true class). */
export function formatEvaluation(e: Evaluation): string {
  const r = e.report;
  const matrix = textTable({ header: ['true \\ predicted', ...r.classNames], rows: r.counts.map((row, i) => [r.classNames[i], ...row]) });
  return [
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
      process.stdout.write(`${JSON.stringify({ split: e.split, synthetic: e.synthetic, accuracy: r.accuracy, total: r.total, baselines: { chance: e.baselines.chance, majority: e.baselines.majority }, perClass: r.perClass, counts: r.counts, classNames: r.classNames }, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatEvaluation(e)}\n`);
    }
  },
});
