// The one executor of a training job: `fer train`, a `pnpm reproduce` job (here or on a `fer worker`), each
// `fer sweep` trial. It writes one folder layout (JOB_FILES), resumes an interrupted job from its checkpoints,
// returns a finished one from its result.json, and reads the folders older harnesses wrote (legacyLayout).
//
//   config.json      the resolved job: hash, preset, seed, model + config, width scale, train spec, TrainConfig, data
//   history.json     one record per completed epoch (no wall-clock times: the same job writes the same bytes)
//   test-curve.json  PrivateTest accuracy per epoch (reported, never used for a choice)
//   checkpoints/     optimizer checkpoints (kept while the job is unfinished; then only with keepCheckpoints)
//   model/           the saved model (@fer/models saveModel), the best PublicTest epoch's weights
//   result.json      the outcome: predictions, accuracies, timings; its presence means "finished"
//   activations/, filters.png   pictures, when `pictures` is given (the reproduction's figures)
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FerDataset } from '@fer/data';
import {
  predict, resolveTrainConfig, saveModel, train,
  type EpochRecord, type ModelRegistry, type ProgressEvent, type StepperFactory, type TrainWarning,
} from '@fer/models';
import { activationTiles, filterTiles } from '../figures/pictures.js';
import { FerCliError } from '../errors.js';
import { encodePng } from '../figures/png.js';
import { fileError, writeFileAtomicSync } from './files.js';
import { augmentSpecs, prepareData, rowSets, trainSource, type PreparedData, type PreparedSplit } from './prepare.js';
import { scaledConfig, trainConfig, type ResolvedJob } from './resolve.js';
import type { RunSettings } from './spec.js';

/** The files of a job folder. */
export const JOB_FILES = {
  config: 'config.json',
  history: 'history.json',
  testCurve: 'test-curve.json',
  checkpoints: 'checkpoints',
  model: 'model',
  result: 'result.json',
} as const;

/** The model directory of a job (saveModel/loadModel format, best PublicTest epoch's weights). */
export const MODEL_DIR = JOB_FILES.model;

/** `layout` in config.json of the folders this version writes; older folders have none (see {@link legacyLayout}). */
export const JOB_LAYOUT = 2;

/** One epoch of a job's history (@fer/models' EpochRecord; validation is always given here). */
export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  lr: number;
  seconds: number;
  /** PrivateTest accuracy of this epoch's weights (reported, never used for selection); absent in older runs. */
  testAccuracy?: number;
}

export interface JobOutcome {
  hash: string;
  model: string;
  config: Record<string, unknown>;
  seed: number;
  epochs: number;
  status: 'trained' | 'cached';
  wallSeconds: number;
  params: number;
  history: EpochLog[];
  bestEpoch: number;
  resumedFrom: number;
  trainRows: number;
  validation: { accuracy: number; rows: number; predicted: number[] };
  /** PrivateTest with the chosen weights; `withheld` (accuracy NaN, no rows) when the job was run with `withholdTest`. */
  test: { accuracy: number; rows: number; predicted: number[]; withheld?: true };
  /** Activation-map pictures, relative to the job folder. */
  activations: { epoch: number; layer: string; file: string }[];
  filters?: { layer: string; count: number; file: string };
  /** Where it ran (not part of the job: the same job on another backend is the same job). */
  runtime?: { backend: string; workers: number };
  /** Set when a `fer worker` ran the job (reproduce --queue): who, how long the finishing attempt took, where it started. */
  worker?: { name: string; seconds: number; attempt: number; resumedFrom: number };
}

/** A job stopped on purpose (`--hours`, Ctrl-C, a sweep's rung) before its last epoch: its history so far, no predictions. */
export interface JobProgress {
  hash: string;
  model: string;
  seed: number;
  epochs: number;
  status: 'in progress';
  /** The 1-based epoch it is in, and the steps of it done. */
  at: { epoch: number; step: number; steps: number };
  /** Completed epochs (from this and earlier runs). */
  history: EpochLog[];
  wallSeconds: number;
  /** Ended on purpose after `stopAfterEpoch` (not by a stop signal). */
  paused: boolean;
}

export const isFinished = (o: JobOutcome | JobProgress | undefined): o is JobOutcome => o !== undefined && o.status !== 'in progress';

/** What {@link executeJob} takes. */
export interface ExecuteJobArgs {
  job: ResolvedJob;
  /** The job folder (created if missing). */
  dir: string;
  registry: ModelRegistry;
  dataset: FerDataset;
  /** The prepared rows (./prepare.ts); prepared here when not given (a caller running many jobs caches them). */
  data?: PreparedData;
  /** Default: @fer/models localStepper. */
  stepper?: StepperFactory;
  /** Graceful stop (`--hours`, Ctrl-C): training ends at the next step with a mid-epoch checkpoint; running the job again resumes there. */
  stop?: AbortSignal;
  /** End after this epoch of the full schedule (fer sweep's rungs); running the job again continues it. */
  stopAfterEpoch?: number;
  /** Keep the optimizer checkpoints of a finished job (default: deleted; the model and history stay). */
  keepCheckpoints?: boolean;
  /** Activation maps of sample faces at up to `maxEpochs` epochs, and the first layer's filters (the reproduction's figures). */
  pictures?: RunSettings['snapshots'];
  /** Where it runs, recorded in result.json. */
  runtime?: { backend: string; workers: number };
  /**
   * Never read PrivateTest (fer sweep's trials: selection reads PublicTest only): no test curve, and result.json's
   * `test` is `{ accuracy: NaN, rows: 0, predicted: [], withheld: true }`.
   */
  withholdTest?: boolean;
  /**
   * Called before every write in `dir` (and after every training step, before a checkpoint can be written);
   * throws to stop the job without writing (`fer worker`: the attempt's fencing token, src/queue/fence.ts).
   */
  fence?: () => void;
  onProgress?: (event: ProgressEvent) => void;
  onEpoch?: (log: EpochLog) => void;
  onWarning?: (w: TrainWarning) => void;
}

/**
 * Which older layout `dir` holds, if any: 'reproduce-1' (a reproduction job folder: job.json, checkpoint/), or
 * 'train-1' (a `fer train` folder: config.json without `layout`, checkpoints/, metrics.json). Both resume: their
 * checkpoints are read where they are, with the run config they were written under.
 */
export function legacyLayout(dir: string): 'reproduce-1' | 'train-1' | undefined {
  if (existsSync(join(dir, 'checkpoint'))) return 'reproduce-1';
  const cfg = join(dir, JOB_FILES.config);
  if (!existsSync(cfg)) return existsSync(join(dir, 'metrics.json')) ? 'train-1' : undefined;
  try {
    return (JSON.parse(readFileSync(cfg, 'utf8')) as { layout?: number }).layout === undefined ? 'train-1' : undefined;
  } catch {
    return undefined;
  }
}

/** The checkpoint folder of the job in `dir`: checkpoints/, or checkpoint/ in an older reproduction's job folder. */
export function checkpointsDir(dir: string): string {
  return join(dir, legacyLayout(dir) === 'reproduce-1' ? 'checkpoint' : JOB_FILES.checkpoints);
}

/** Whether the job in `dir` finished: its result.json (or, in a `fer train` folder of the older layout, metrics.json). */
export function jobFinished(dir: string): boolean {
  return existsSync(join(dir, JOB_FILES.result)) || existsSync(join(dir, 'metrics.json'));
}

/** The history records of history.json: an epoch's record without its wall-clock seconds (those are in result.json). */
export function historyRecords(history: readonly EpochLog[]): Omit<EpochLog, 'seconds'>[] {
  return history.map(({ seconds: _s, ...r }) => r);
}

/**
 * Trains one resolved job into `dir` (the layout of {@link JOB_FILES}): skipped when finished (result.json),
 * resumed from its checkpoints when interrupted. Trains with @fer/models `train()` (checkpoint every epoch, the
 * best PublicTest epoch kept), saves the model, predicts PublicTest and PrivateTest with it.
 * @example
 * const o = await executeJob({ job: resolveTrainJob({ model: 'paper-shallow', data: identity, registry }), dir, registry, dataset: ds });
 * if (isFinished(o)) console.log(o.validation.accuracy);
 */
export async function executeJob(args: ExecuteJobArgs): Promise<JobOutcome | JobProgress> {
  const { job, dir, registry, dataset: ds } = args;
  const fence = args.fence ?? (() => undefined);
  const resultFile = join(dir, JOB_FILES.result);
  const earlier = readJson<JobOutcome>(resultFile);
  if (earlier?.hash === job.hash) return { ...earlier, status: 'cached' };
  // A finished job of another config here (`fer train --resume --set epochs=N` extends a run): its checkpoints decide
  // (train() refuses another config, E_CHECKPOINT_MISMATCH); the old result goes once training is under way.
  let staleResult = earlier !== undefined;
  if (staleResult && !existsSync(checkpointsDir(dir))) {
    throw new FerCliError('E_RUN_EXISTS', `${dir} holds the finished job ${earlier!.hash} (result.json) and no checkpoints to continue it from; expected job ${job.hash} or an empty folder. Use another folder, or delete this one (fer train --overwrite) to start over.`);
  }
  const write = (name: string, text: string | Uint8Array, what: string) => {
    fence();
    try {
      writeFileAtomicSync(join(dir, name), text);
    } catch (e) {
      throw fileError(e, `writing ${what}`, join(dir, name));
    }
  };
  fence();
  mkdirSync(dir, { recursive: true });
  const legacy = legacyLayout(dir);
  const t0 = performance.now();
  const config = scaledConfig(registry, job.model.name, job.model.config, job.modelScale);
  const hogOptions = registry.get(job.model.name).inputs.hog ? (config.hog as Record<string, unknown>) : undefined;
  const data = args.data ?? prepareData(ds, rowSets(ds, job.train), job.train, hogOptions as never);
  const trainCfg = resolveTrainConfig(trainConfig(job.train, job.seed, data.trainLabels));
  // The run config the checkpoints are checked against (@fer/models train `runConfig`); older layouts keep theirs.
  const limited = job.train.trainLimit > 0 || job.train.evalLimit > 0;
  const dataRecord = {
    normalizer: job.train.normalize, augment: augmentSpecs(job.train.augment), limit: job.train.trainLimit, validationLimit: job.train.evalLimit,
    classBalanced: job.train.classBalanced, classWeights: job.train.classWeights,
    ...(legacy === 'train-1' ? { source: ds.source } : {}), synthetic: ds.synthetic, ...(limited ? { subset: 'stratified' } : {}),
  };
  const runConfig = legacy === 'reproduce-1' ? undefined : legacy === 'train-1' ? { model: { name: job.model.name, config }, data: dataRecord } : { model: { name: job.model.name, config }, data: dataRecord, fingerprint: job.data };
  const checkpointDir = checkpointsDir(dir);
  const resolved = {
    layout: JOB_LAYOUT, hash: job.hash, preset: job.budget, seed: job.seed, model: { name: job.model.name, config }, modelScale: job.modelScale,
    spec: job.train, train: trainCfg,
    data: { ...dataRecord, fingerprint: job.data, trainRows: data.trainCount, validationRows: data.val.count, testRows: data.test.count },
  };
  const configText = `${JSON.stringify(resolved, null, 2)}\n`;
  // NOTE: an older fer train folder keeps its config.json (its checkpoints were written under that run config).
  if (legacy !== 'train-1' && !existsSync(join(dir, JOB_FILES.config))) write(JOB_FILES.config, configText, 'the resolved job');
  const pictures = args.pictures;
  if (pictures) mkdirSync(join(dir, 'activations'), { recursive: true });
  // NOTE: train()'s onEpoch gets the epoch record only, so the snapshots use this reference.
  const model = registry.create(job.model.name, config, { seed: job.seed });
  const hybrid = model.inputs.length > 1;
  const snaps = new Set(pictures ? snapshotEpochs(job.train.epochs, pictures.maxEpochs) : []);
  const sample = pictures ? sampleRows(data.val.y, pictures.samples) : [];
  const sx = new Float32Array(sample.length * 2304);
  const sraw = new Uint8Array(sample.length * 2304);
  sample.forEach((r, j) => { sx.set(data.val.x.subarray(r * 2304, (r + 1) * 2304), j * 2304); sraw.set(data.val.raw.subarray(r * 2304, (r + 1) * 2304), j * 2304); });
  const activations: JobOutcome['activations'] = [];
  const testCurve = readTestCurve(dir);
  // history.json after every epoch (earlier epochs from the file: a resumed job's train() reports only new ones).
  const history = readJson<Omit<EpochLog, 'seconds'>[]>(join(dir, JOB_FILES.history)) ?? [];
  // Snapshots: the forward pass runs inside onEpoch (train() does not await it), the reads and
  // PNG writes finish later; errors are kept and thrown after training.
  const pending: Promise<void>[] = [];
  let snapshotError: unknown;
  const snapshot = async (epoch: number) => {
    const tiles = await activationTiles(model, sx, sraw, sample.length);
    for (const [li, t] of tiles.entries()) write(activationFile(epoch, li), encodePng(t.raster), 'an activation map');
  };
  try {
    const trained = await train({
      model,
      data: { train: trainSource(ds, data, job.train, job.seed), validation: { x: data.val.x, hog: data.val.hog, y: data.val.y, count: data.val.count } },
      config: trainCfg,
      stepper: args.stepper,
      checkpointDir,
      resume: true,
      runConfig,
      stop: args.stop,
      stopAfterEpoch: args.stopAfterEpoch,
      onWarning: args.onWarning,
      onProgress: (p) => {
        // Checked after every step, so a fenced-off attempt never reaches its next checkpoint write.
        fence();
        if (staleResult) { rmSync(resultFile, { force: true }); staleResult = false; }
        args.onProgress?.(p);
      },
      onEpoch: (r) => {
        // The PrivateTest curve: inference only (no RNG draw, no weight change), so training stays bit-exact.
        if (!args.withholdTest) {
          testCurve[r.epoch] = splitAccuracy(model, data.test);
          write(JOB_FILES.testCurve, JSON.stringify(testCurve), 'the test curve');
        }
        const l = withTest(epochLog(r), testCurve);
        history.splice(r.epoch - 1, Infinity, ...historyRecords([l]));
        write(JOB_FILES.history, `${JSON.stringify(history, null, 2)}\n`, 'the training history');
        args.onEpoch?.(l);
        if (hybrid || !snaps.has(r.epoch) || sample.length === 0) return;
        pending.push(snapshot(r.epoch).catch((e: unknown) => { snapshotError ??= e; }));
      },
    });
    await Promise.all(pending);
    if (snapshotError) throw snapshotError;
    const full = trained.history.map((r) => withTest(epochLog(r), testCurve));
    write(JOB_FILES.history, `${JSON.stringify(historyRecords(full), null, 2)}\n`, 'the training history');
    if (legacy !== 'train-1') write(JOB_FILES.config, configText, 'the resolved job');
    if (trained.stopped) {
      return {
        hash: job.hash, model: job.model.name, seed: job.seed, epochs: job.train.epochs, status: 'in progress', at: trained.stopped, history: full,
        wallSeconds: full.reduce((a, h) => a + h.seconds, 0), paused: args.stopAfterEpoch !== undefined && !args.stop?.aborted,
      };
    }
    // Collect the snapshot list from disk so a resumed job still lists earlier epochs.
    for (const e of [...snaps].sort((a, b) => a - b)) {
      for (const [li, l] of (hybrid ? [] : ['first conv', 'deeper conv']).entries()) {
        const file = activationFile(e, li);
        if (existsSync(join(dir, file))) activations.push({ epoch: e, layer: l, file });
      }
    }
    const bestEpoch = trained.bestEpoch ?? full.length;
    // The model now holds the best PublicTest epoch's weights (train() restores them).
    fence();
    const meta = await saveModel(join(dir, JOB_FILES.model), model, {
      modelName: job.model.name, config, classNames: [...ds.classNames], normalizer: data.normalizer.toJSON(),
      ...(data.hog ? { hog: data.hog as Record<string, unknown> } : {}),
      training: { job: job.hash, bestEpoch, bestValAccuracy: trained.bestValAccuracy, epochs: full.length, synthetic: ds.synthetic },
    });
    const loaded = { model, meta };
    const valPred = (await predict(loaded, data.val.raw, data.val.count, { hog: data.val.hog })).labels;
    const testPred = args.withholdTest ? null : (await predict(loaded, data.test.raw, data.test.count, { hog: data.test.hog })).labels;
    const acc = (p: Uint8Array, y: Uint8Array) => p.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / Math.max(1, y.length);
    let filters: JobOutcome['filters'];
    const ft = pictures ? await filterTiles(model) : undefined;
    if (ft) {
      write('filters.png', encodePng(ft.raster), 'the filter picture');
      filters = { layer: ft.layer, count: ft.count, file: 'filters.png' };
    }
    const outcome: JobOutcome = {
      hash: job.hash, model: job.model.name, config, seed: job.seed, epochs: job.train.epochs, status: 'trained',
      // epochs trained by earlier, interrupted runs count too
      wallSeconds: (performance.now() - t0) / 1000 + full.slice(0, trained.resumedFromEpoch).reduce((a, h) => a + h.seconds, 0),
      params: model.countParams(),
      history: full, bestEpoch, resumedFrom: trained.resumedFromEpoch,
      trainRows: data.trainCount,
      validation: { accuracy: acc(valPred, data.val.y), rows: data.val.count, predicted: [...valPred] },
      test: testPred ? { accuracy: acc(testPred, data.test.y), rows: data.test.count, predicted: [...testPred] } : { accuracy: NaN, rows: 0, predicted: [], withheld: true },
      activations, filters,
      ...(args.runtime ? { runtime: args.runtime } : {}),
    };
    // Atomic (a uniquely named tmp + rename): a reader (or `fer worker` on another machine) never sees half a result.
    write(JOB_FILES.result, JSON.stringify(outcome), 'the job result');
    // The model, history and predictions are kept; the optimizer checkpoints (4x the model, twice) are only for resuming.
    if (!args.keepCheckpoints) rmSync(checkpointDir, { recursive: true, force: true });
    return outcome;
  } finally {
    await Promise.all(pending);
    model.dispose();
  }
}

/** Epochs at which activation maps are saved: `k` spread over 1..epochs, always including the last. */
export function snapshotEpochs(epochs: number, k: number): number[] {
  if (k <= 1) return [epochs];
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.max(1, Math.round(1 + ((epochs - 1) * i) / (k - 1))));
  return [...out].sort((a, b) => a - b);
}

/** Sample faces for activation maps: the first PublicTest row of Happy, Surprise, Angry, Sad, ... */
export function sampleRows(labels: Uint8Array, samples: number): number[] {
  const order = [3, 5, 0, 4, 2, 6, 1];
  const out: number[] = [];
  for (const c of order) {
    if (out.length >= samples) break;
    const i = labels.indexOf(c);
    if (i >= 0) out.push(i);
  }
  return out;
}

function activationFile(epoch: number, layer: number): string {
  return `activations/e${String(epoch).padStart(3, '0')}-l${layer}.png`;
}

function readTestCurve(dir: string): Record<number, number> {
  return readJson<Record<number, number>>(join(dir, JOB_FILES.testCurve)) ?? {};
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function withTest(log: EpochLog, curve: Record<number, number>): EpochLog {
  const t = curve[log.epoch];
  return t === undefined ? log : { ...log, testAccuracy: t };
}

/** Accuracy of `model` (inference mode) on a prepared split, in batches of 256. */
function splitAccuracy(model: tf.LayersModel, split: PreparedSplit): number {
  let right = 0;
  const hogLen = split.hog ? split.hog.length / Math.max(1, split.count) : 0;
  for (let i = 0; i < split.count; i += 256) {
    const n = Math.min(256, split.count - i);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(split.x.subarray(i * 2304, (i + n) * 2304), [n, 48, 48, 1]);
      const inputs = split.hog ? [x, tf.tensor2d(split.hog.subarray(i * hogLen, (i + n) * hogLen), [n, hogLen])] : x;
      return (model.predict(inputs) as tf.Tensor).argMax(-1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let j = 0; j < n; j++) if (p[j] === split.y[i + j]) right++;
  }
  return right / Math.max(1, split.count);
}

function epochLog(r: EpochRecord): EpochLog {
  return { epoch: r.epoch, loss: r.loss, accuracy: r.accuracy, valLoss: r.valLoss ?? NaN, valAccuracy: r.valAccuracy ?? NaN, lr: r.lr, seconds: r.seconds };
}
