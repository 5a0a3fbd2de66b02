import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { classWeights } from '@fer/data';
import { confusionMatrix } from '@fer/metrics';
import {
  builtinModels, createRegistry, paperTrainConfig, predict, resolveTrainConfig, saveModel, train,
  type EpochRecord, type ProgressEvent, type TrainResult,
} from '@fer/models';
import {
  createProgressRenderer, FerCliError, formatSeconds, fsError, gather, loadData, parseSets, prepareTrainingData, removeStaleTempFiles, resolveDataConfig,
  runFiles, setupBackend, stepperFor,
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
  /** Delete another run's files in `out` first (a fresh run into a folder holding a run throws E_RUN_EXISTS otherwise). */
  overwrite?: boolean;
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
 * model), checkpoints/ and metrics.json (PublicTest) into `out`, each file atomically. A fresh run into a
 * folder holding another run throws E_RUN_EXISTS unless `overwrite`; `resume` refuses checkpoints of another config.
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
  await prepareRunFolder(o.out, { resume: o.resume ?? false, overwrite: o.overwrite ?? false });
  const resolved = {
    model: { name: o.model, config: modelConfig },
    train: trainConfig,
    data: { ...dataConfig, source: ds.source, synthetic: ds.synthetic, trainRows: prepared.trainIdx.length, validationRows: prepared.validation.count },
    backend: backend.backend,
    workers: o.workers ?? 1,
  };
  const configText = `${JSON.stringify(resolved, null, 2)}\n`;
  // NOTE: on resume, config.json is rewritten only after train() accepted the checkpoints' config.
  if (!o.resume || !existsSync(join(o.out, 'config.json'))) await runFiles.write(join(o.out, 'config.json'), configText, 'run config');
  log(`training ${o.model} on ${prepared.trainIdx.length} ${ds.synthetic ? 'SYNTHETIC' : ''} rows, validating on ${prepared.validation.count} PublicTest rows, ${trainConfig.epochs} epochs of ${prepared.train.stepsPerEpoch} steps`);
  const model = registry.create(o.model, modelConfig, { seed: trainConfig.seed });
  const history: EpochRecord[] = [];
  const historyFile = join(o.out, 'history.json');
  let historyWrite: Promise<void> = Promise.resolve();
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
      overwrite: o.overwrite ?? false,
      runConfig: { model: resolved.model, data: { ...dataConfig, source: ds.source, synthetic: ds.synthetic } },
      onProgress: o.onProgress ?? ((p) => bar!.update(p)),
      onWarning: (w) => log(`warning: ${w.message}`),
      onEpoch: (r) => {
        bar?.done();
        history.push(r);
        log(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(2)}% val_loss ${r.valLoss?.toFixed(4)} val_acc ${((r.valAccuracy ?? NaN) * 100).toFixed(2)}% lr ${r.lr} (${formatSeconds(r.seconds)})`);
        const text = `${JSON.stringify(history, null, 2)}\n`;
        historyWrite = historyWrite.then(() => runFiles.write(historyFile, text, 'training history'));
        historyWrite.catch(() => undefined); // awaited below; this only marks it handled if train() throws first
      },
    });
    await historyWrite;
    await runFiles.write(historyFile, `${JSON.stringify(result.history, null, 2)}\n`, 'training history');
    if (o.resume) await runFiles.write(join(o.out, 'config.json'), configText, 'run config');
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
    await runFiles.write(join(o.out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`, 'metrics');
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
    resume: { type: 'boolean', description: 'continue from out/checkpoints (refused when their config differs)', default: false },
    overwrite: { type: 'boolean', description: 'delete another run\'s files in --out first (a fresh run refuses a folder holding a run)', default: false },
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
      overwrite: Boolean(args.overwrite),
    });
  },
});

/** The files of a run in its `out` folder; `--overwrite` deletes them. */
const RUN_FILES = ['config.json', 'history.json', 'metrics.json', 'model', 'checkpoints', 'train.log'];

/**
 * Creates `out`, removes stale temp files, and for a fresh run refuses a folder holding another run
 * (metrics.json, model/ or checkpoints) unless `overwrite`, which deletes that run's files.
 */
async function prepareRunFolder(out: string, o: { resume: boolean; overwrite: boolean }): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw fsError(e, 'creating the run folder', out);
  }
  await removeStaleTempFiles([out, join(out, 'model'), join(out, 'checkpoints')]);
  if (o.resume) return;
  const ckpts = existsSync(join(out, 'checkpoints')) ? (await readdir(join(out, 'checkpoints'))).filter((n) => n.endsWith('.ferckpt')) : [];
  const found = [
    ...(existsSync(join(out, 'metrics.json')) ? ['metrics.json'] : []),
    ...(existsSync(join(out, 'model')) ? ['model/'] : []),
    ...(ckpts.length ? [`${ckpts.length} checkpoint${ckpts.length > 1 ? 's' : ''} in checkpoints/`] : []),
  ];
  if (found.length === 0) return;
  if (!o.overwrite) {
    throw new FerCliError('E_RUN_EXISTS', `fer train: ${out} already holds another run (${found.join(', ')}); expected an empty or new folder for a fresh run. Pass --resume to continue that run, --overwrite to delete its files and start over, or choose another --out.`);
  }
  for (const f of RUN_FILES) {
    try {
      await rm(join(out, f), { recursive: true, force: true });
    } catch (e) {
      throw fsError(e, 'removing the old run\'s files (--overwrite)', join(out, f));
    }
  }
}

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
