import { defineCommand } from 'citty';
import { splitIndices } from '@fer/data';
import { confusionMatrix, perClassTable, textTable, type ConfusionReport } from '@fer/metrics';
import { loadModel, predict } from '@fer/models';
import { startBackend } from '../backend.js';
import { SHARED_ARGS } from '../flags.js';
import { resolveData } from '../data.js';
import { gather } from '../reproduce/prepare.js';
import { isSplit } from './_models-common.js';

/** Accuracy, per-class measures and the confusion matrix of a saved model on one split. */
export async function runEvaluate(o: { model: string; data?: string; split?: string; backend?: string; log?: (l: string) => void }): Promise<{ split: string; synthetic: boolean; report: ConfusionReport }> {
  const split = o.split ?? 'PrivateTest';
  if (!isSplit(split)) throw new Error(`--split ${JSON.stringify(split)}: expected Training, PublicTest or PrivateTest.`);
  await startBackend(o.backend ?? 'auto');
  const loaded = await loadModel(o.model);
  try {
    const { ds } = await resolveData(o.data, o.log ?? ((l) => process.stderr.write(`${l}\n`)));
    const rows = gather(ds, splitIndices(ds, split));
    if (rows.labels.length === 0) throw new Error(`${ds.source}: the ${split} split is empty.`);
    const { labels } = await predict(loaded, rows.pixels, rows.labels.length);
    const classNames = loaded.meta.classNames.length ? loaded.meta.classNames : [...ds.classNames];
    const report = confusionMatrix({ actual: rows.labels, predicted: labels, numClasses: classNames.length, classNames });
    return { split, synthetic: ds.synthetic, report };
  } finally {
    loaded.model.dispose();
  }
}

/** The human-readable report: accuracy, per-class table, confusion matrix (rows = true class). */
export function formatEvaluation(e: { split: string; synthetic: boolean; report: ConfusionReport }): string {
  const r = e.report;
  const matrix = textTable({ header: ['true \\ predicted', ...r.classNames], rows: r.counts.map((row, i) => [r.classNames[i], ...row]) });
  return [
    `${e.split}${e.synthetic ? ' (SYNTHETIC data)' : ''}: accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.correct}/${r.total})`,
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
  },
  async run({ args }) {
    const e = await runEvaluate({ model: args.model, data: args.data, split: args.split, backend: args.backend });
    if (args.json) {
      const r = e.report;
      process.stdout.write(`${JSON.stringify({ split: e.split, synthetic: e.synthetic, accuracy: r.accuracy, total: r.total, perClass: r.perClass, counts: r.counts, classNames: r.classNames }, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatEvaluation(e)}\n`);
    }
  },
});
