import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { classWeights } from '@fer/data';
import { confusionMatrix } from '@fer/metrics';
import {
  builtinModels, createRegistry, paperTrainConfig, predict, resolveTrainConfig, saveModel, train,
  type EpochRecord, type ProgressEvent, type TrainResult,
} from '@fer/models';
import {
  createProgressRenderer, formatSeconds, gather, loadData, parseSets, prepareTrainingData, resolveDataConfig, setupBackend, stepperFor,
} from './_models-common.js';
import { splitIndices } from '@fer/data';

/** Options of {@link runTrain} (what `fer train` parses). */
export interface RunTrainOptions {
  model: string;
  data?: string;
  sets?: string[];
  out: string;
  backend?: string;
  workers?: number;
  /** CPU threads of the native kernels (@fer/engine initBackend `threads`); default one per core. */
  threads?: number;
  resume?: boolean;
  log?: (line: string) => void;
  onProgress?: (p: ProgressEvent) => void;
}

/** What `fer train` writes to metrics.json. */
export interface TrainMetrics {
  model: string;
  split: 'PublicTest';
  accuracy: number;
  perClass: { name: string; recall: number; support: number }[];
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  epochs: number;
  trainSeconds: number;
  backend: string;
  synthetic: boolean;
  trainRows: number;
}

/**
 * Trains a registry model on a data set and writes config.json (resolved), history.json, model/ (saved
 * model), checkpoints/ and metrics.json (PublicTest) into `out`.
 */
export async function runTrain(o: RunTrainOptions): Promise<{ metrics: TrainMetrics; result: TrainResult }> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const registry = createRegistry(builtinModels);
  const def = registry.get(o.model);
  const sets = parseSets(o.sets ?? []);
  // NOTE: the `dropout` alias means denseDropout for the paper models and `dropout` for vgg-fer.
  const defaults = def.defaults as Record<string, unknown>;
  if ('denseDropout' in sets.model && !('denseDropout' in defaults) && 'dropout' in defaults) {
    sets.model.dropout = sets.model.denseDropout;
    delete sets.model.denseDropout;
  }
  const modelConfig = registry.resolveConfig(o.model, sets.model);
  const trainConfig = resolveTrainConfig(mergeDeep(paperTrainConfig(o.model), sets.train));
  const dataConfig = resolveDataConfig(sets.data);
  const backend = await setupBackend(o.backend ?? 'auto', o.threads);
  log(`backend: ${backend.backend} (${backend.reason})`);
  const ds = await loadData(o.data, log);
  const hog = def.inputs.hog ? (modelConfig.hog as Record<string, unknown>) : undefined;
  const prepared = prepareTrainingData({ ds, data: dataConfig, batchSize: trainConfig.batchSize, seed: trainConfig.seed, hog });
  if (dataConfig.classWeights === 'balanced') trainConfig.classWeights = Array.from(classWeights(prepared.trainLabels, def.numClasses));
  await mkdir(o.out, { recursive: true });
  const resolved = {
    model: { name: o.model, config: modelConfig },
    train: trainConfig,
    data: { ...dataConfig, source: ds.source, synthetic: ds.synthetic, trainRows: prepared.trainIdx.length, validationRows: prepared.validation.count },
    backend: backend.backend,
    workers: o.workers ?? 1,
  };
  await writeFile(join(o.out, 'config.json'), `${JSON.stringify(resolved, null, 2)}\n`);
  log(`training ${o.model} on ${prepared.trainIdx.length} ${ds.synthetic ? 'SYNTHETIC' : ''} rows, validating on ${prepared.validation.count} PublicTest rows, ${trainConfig.epochs} epochs of ${prepared.train.stepsPerEpoch} steps`);
  const model = registry.create(o.model, modelConfig, { seed: trainConfig.seed });
  const history: EpochRecord[] = [];
  const bar = o.onProgress ? undefined : createProgressRenderer();
  let result: TrainResult;
  try {
    result = await train({
      model,
      data: { train: prepared.train, validation: prepared.validation },
      config: trainConfig,
      stepper: stepperFor(o.workers ?? 1, backend.backend),
      checkpointDir: join(o.out, 'checkpoints'),
      resume: o.resume ?? false,
      onProgress: o.onProgress ?? ((p) => bar!.update(p)),
      onWarning: (w) => log(`warning: ${w.message}`),
      onEpoch: (r) => {
        bar?.done();
        history.push(r);
        log(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(2)}% val_loss ${r.valLoss?.toFixed(4)} val_acc ${((r.valAccuracy ?? NaN) * 100).toFixed(2)}% lr ${r.lr} (${formatSeconds(r.seconds)})`);
        void writeFile(join(o.out, 'history.json'), `${JSON.stringify(history, null, 2)}\n`);
      },
    });
    await writeFile(join(o.out, 'history.json'), `${JSON.stringify(result.history, null, 2)}\n`);
    const stored = await saveModel(join(o.out, 'model'), model, {
      modelName: o.model,
      config: modelConfig,
      classNames: [...ds.classNames],
      normalizer: prepared.normalizer.toJSON(),
      ...(hog ? { hog } : {}),
      training: { bestEpoch: result.bestEpoch, bestValAccuracy: result.bestValAccuracy, epochs: result.history.length, seconds: result.seconds, synthetic: ds.synthetic, source: ds.source },
    });
    const val = gather(ds, splitIndices(ds, 'PublicTest'));
    const pred = await predict({ model, meta: stored }, val.pixels, val.count);
    const report = confusionMatrix({ actual: val.labels, predicted: pred.labels, numClasses: def.numClasses, classNames: [...ds.classNames] });
    const metrics: TrainMetrics = {
      model: o.model,
      split: 'PublicTest',
      accuracy: report.accuracy,
      perClass: report.perClass.map((c) => ({ name: c.name, recall: c.recall, support: c.support })),
      bestEpoch: result.bestEpoch,
      bestValAccuracy: result.bestValAccuracy,
      epochs: result.history.length,
      trainSeconds: result.seconds,
      backend: backend.backend,
      synthetic: ds.synthetic,
      trainRows: prepared.trainIdx.length,
    };
    await writeFile(join(o.out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    log(`PublicTest accuracy ${(report.accuracy * 100).toFixed(2)}% (best epoch ${result.bestEpoch}), ${formatSeconds(result.seconds)} on ${backend.backend}${ds.synthetic ? ' -- SYNTHETIC data' : ''}`);
    return { metrics, result };
  } finally {
    model.dispose();
  }
}

export default defineCommand({
  meta: { name: 'train', description: 'Train a registry model (paper preset by default) and save it with its config, history and PublicTest metrics.' },
  args: {
    model: { type: 'string', description: 'registry name, e.g. paper-shallow', required: true },
    data: { type: 'string', description: 'FER2013 csv(.gz) or other @fer/data format; default FER2013_PATH, else synthetic' },
    set: { type: 'string', description: 'override, repeatable: model.<k>=v, train.<k>=v, data.<k>=v or an alias (lr, l2, dropout, units, epochs, batch, seed, limit)' },
    out: { type: 'string', description: 'output folder', required: true },
    backend: { type: 'string', description: 'wasm | cpu | webgpu | tensorflow | auto', default: 'auto' },
    workers: { type: 'string', description: 'data-parallel worker threads (@fer/engine)', default: '1' },
    threads: { type: 'string', description: 'CPU threads of the native kernels (default: one per core)' },
    resume: { type: 'boolean', description: 'continue from out/checkpoints', default: false },
  },
  async run({ args, rawArgs }) {
    await runTrain({
      model: args.model,
      data: args.data,
      sets: collectRepeated(rawArgs, 'set'),
      out: args.out,
      backend: args.backend,
      workers: Number(args.workers),
      ...(args.threads !== undefined ? { threads: positiveThreads(args.threads) } : {}),
      resume: Boolean(args.resume),
    });
  },
});

function positiveThreads(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: got "${v}"; expected a positive integer, e.g. --threads 2.`);
  return n;
}

/** All values of a repeatable `--name v` / `--name=v` flag. */
export function collectRepeated(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    if (a === `--${name}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null ? mergeDeep(out[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
