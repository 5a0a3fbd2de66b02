// Runs one training job of the plan into <out>/jobs/<hash>/ (skipped when finished, resumed when
// interrupted): trains with @fer/models `train()` (checkpoint every epoch, best PublicTest epoch
// kept), saves the model (`saveModel`), predicts PublicTest and PrivateTest with it (`predict`),
// and saves the pictures.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { classWeights, type FerDataset } from '@fer/data';
import { TRAIN_DEFAULTS, predict, saveModel, train, type EpochRecord, type ModelRegistry, type ProgressEvent, type StepperFactory, type TrainConfig } from '@fer/models';
import { activationTiles, filterTiles } from '../figures/pictures.js';
import { encodePng } from '../figures/png.js';
import { writeFileAtomicSync } from '../queue/fence.js';
import type { Job } from './plan.js';
import { trainSource, type PreparedData, type PreparedSplit } from './prepare.js';
import { CLASS_NAMES, SpecError, type RunSettings, type TrainSpec } from './spec.js';

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
  test: { accuracy: number; rows: number; predicted: number[] };
  /** Activation-map pictures, relative to the job folder. */
  activations: { epoch: number; layer: string; file: string }[];
  filters?: { layer: string; count: number; file: string };
  /** Set when a `fer worker` ran the job (reproduce --queue): who, how long the finishing attempt took, where it started. */
  worker?: { name: string; seconds: number; attempt: number; resumedFrom: number };
}

/** A job stopped on purpose (`--hours`, Ctrl-C) before its last epoch: its history so far, no predictions. */
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
}

export const isFinished = (o: JobOutcome | JobProgress | undefined): o is JobOutcome => o !== undefined && o.status !== 'in progress';

/**
 * The harness's train spec as @fer/models' TrainConfig (L2 and dropout are model config keys). Class weights
 * 'balanced' need the training rows' labels (@fer/data classWeights).
 * @example
 * trainConfig(DEFAULTS.train, 1) // { epochs: 30, batchSize: 128, seed: 1, optimizer: { name: 'adam', learningRate: 0.0001, ... }, ... }
 */
export function trainConfig(t: TrainSpec, seed: number, trainLabels?: Uint8Array): Partial<TrainConfig> {
  if (!['none', 'balanced'].includes(t.classWeights)) throw new SpecError('E_BAD_SPEC', `train.classWeights is ${JSON.stringify(t.classWeights)}, expected "none" or "balanced".`);
  if (t.classWeights === 'balanced' && !trainLabels) throw new SpecError('E_BAD_SPEC', 'train.classWeights "balanced" needs the training labels.');
  return {
    epochs: t.epochs, batchSize: t.batchSize, seed,
    optimizer: { ...TRAIN_DEFAULTS.optimizer, name: t.optimizer, learningRate: t.learningRate, momentum: t.momentum, nesterov: t.nesterov },
    schedule: { ...t.schedule }, earlyStopping: { ...t.earlyStopping }, labelSmoothing: t.labelSmoothing,
    classWeights: t.classWeights === 'balanced' ? Array.from(classWeights(trainLabels!, CLASS_NAMES.length)) : null,
  };
}

/** The model directory of a job (saveModel/loadModel format, best PublicTest epoch's weights). */
export const MODEL_DIR = 'model';

/**
 * The model config a job builds: the row's config resolved by the registry, widths scaled by `modelScale`
 * (smoke budget) with the model's own `scaleWidth` (@fer/models); a model without one keeps its widths.
 */
export function scaledConfig(registry: ModelRegistry, name: string, config: Record<string, unknown>, scale: number): Record<string, unknown> {
  const resolved = registry.resolveConfig(name, config);
  const def = registry.get(name);
  if (scale === 1 || !def.scaleWidth) return resolved;
  return registry.resolveConfig(name, def.scaleWidth(resolved, scale) as Record<string, unknown>);
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

export async function runJob(args: {
  job: Job;
  dir: string;
  registry: ModelRegistry;
  dataset: FerDataset;
  data: PreparedData;
  settings: RunSettings;
  stepperFactory?: StepperFactory;
  onProgress?: (event: ProgressEvent) => void;
  onEpoch?: (log: EpochLog) => void;
  /** Graceful stop (`--hours`, Ctrl-C): training ends at the next step with a mid-epoch checkpoint; re-running resumes there. */
  stop?: AbortSignal;
  /** Keep the optimizer checkpoints of a finished job (default: deleted; the model and history stay). */
  keepCheckpoints?: boolean;
  /**
   * Called before every write in `dir` (and after every training step, before a checkpoint can be written);
   * throws to stop the job without writing (`fer worker`: the attempt's fencing token, src/queue/fence.ts).
   */
  fence?: () => void;
}): Promise<JobOutcome | JobProgress> {
  const { job, dir, registry, data, settings } = args;
  const fence = args.fence ?? (() => undefined);
  const resultFile = join(dir, 'result.json');
  if (existsSync(resultFile)) return { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as JobOutcome), status: 'cached' };
  fence();
  mkdirSync(join(dir, 'activations'), { recursive: true });
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job, null, 2));
  const t0 = performance.now();
  const config = scaledConfig(registry, job.model.name, job.model.config, job.modelScale);
  // NOTE: train()'s onEpoch gets the epoch record only, so the snapshots use this reference.
  const model = registry.create(job.model.name, config, { seed: job.seed });
  const hybrid = model.inputs.length > 1;
  const snaps = new Set(snapshotEpochs(job.train.epochs, settings.snapshots.maxEpochs));
  const sample = sampleRows(data.val.y, settings.snapshots.samples);
  const sx = new Float32Array(sample.length * 2304);
  const sraw = new Uint8Array(sample.length * 2304);
  sample.forEach((r, j) => { sx.set(data.val.x.subarray(r * 2304, (r + 1) * 2304), j * 2304); sraw.set(data.val.raw.subarray(r * 2304, (r + 1) * 2304), j * 2304); });
  const activations: JobOutcome['activations'] = [];
  const testCurve = readTestCurve(dir);
  // Snapshots: the forward pass runs inside onEpoch (train() does not await it), the reads and
  // PNG writes finish later; errors are kept and thrown after training.
  const pending: Promise<void>[] = [];
  let snapshotError: unknown;
  const snapshot = async (epoch: number) => {
    const tiles = await activationTiles(model, sx, sraw, sample.length);
    fence();
    for (const [li, t] of tiles.entries()) writeFileSync(join(dir, activationFile(epoch, li)), encodePng(t.raster));
  };
  try {
    const trained = await train({
      model,
      data: { train: trainSource(args.dataset, data, job.train, job.seed), validation: { x: data.val.x, hog: data.val.hog, y: data.val.y, count: data.val.count } },
      config: trainConfig(job.train, job.seed, data.trainLabels),
      stepper: args.stepperFactory,
      checkpointDir: join(dir, 'checkpoint'),
      resume: true,
      stop: args.stop,
      onProgress: (p) => {
        // Checked after every step, so a fenced-off attempt never reaches its next checkpoint write.
        fence();
        args.onProgress?.(p);
      },
      onEpoch: (r) => {
        // The PrivateTest curve: inference only (no RNG draw, no weight change), so training stays bit-exact.
        testCurve[r.epoch] = splitAccuracy(model, data.test);
        fence();
        writeTestCurve(dir, testCurve);
        args.onEpoch?.(withTest(epochLog(r), testCurve));
        if (hybrid || !snaps.has(r.epoch) || sample.length === 0) return;
        pending.push(snapshot(r.epoch).catch((e: unknown) => { snapshotError ??= e; }));
      },
    });
    await Promise.all(pending);
    if (snapshotError) throw snapshotError;
    if (trained.stopped) {
      const history = trained.history.map((r) => withTest(epochLog(r), testCurve));
      return {
        hash: job.hash, model: job.model.name, seed: job.seed, epochs: job.train.epochs, status: 'in progress', at: trained.stopped, history,
        wallSeconds: history.reduce((a, h) => a + h.seconds, 0),
      };
    }
    // Collect the snapshot list from disk so a resumed job still lists earlier epochs.
    for (const e of [...snaps].sort((a, b) => a - b)) {
      for (const [li, l] of (hybrid ? [] : ['first conv', 'deeper conv']).entries()) {
        const file = activationFile(e, li);
        if (existsSync(join(dir, file))) activations.push({ epoch: e, layer: l, file });
      }
    }
    const history = trained.history.map((r) => withTest(epochLog(r), testCurve));
    const bestEpoch = trained.bestEpoch ?? history.length;
    // The model now holds the best PublicTest epoch's weights (train() restores them).
    fence();
    const meta = await saveModel(join(dir, MODEL_DIR), model, {
      modelName: job.model.name, config, classNames: [...CLASS_NAMES], normalizer: data.normalizer.toJSON(),
      ...(data.hog ? { hog: data.hog as Record<string, unknown> } : {}),
      training: { history, bestEpoch, job: job.hash },
    });
    const loaded = { model, meta };
    const valPred = (await predict(loaded, data.val.raw, data.val.count, { hog: data.val.hog })).labels;
    const testPred = (await predict(loaded, data.test.raw, data.test.count, { hog: data.test.hog })).labels;
    const acc = (p: Uint8Array, y: Uint8Array) => p.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / Math.max(1, y.length);
    let filters: JobOutcome['filters'];
    const ft = await filterTiles(model);
    if (ft) {
      fence();
      writeFileSync(join(dir, 'filters.png'), encodePng(ft.raster));
      filters = { layer: ft.layer, count: ft.count, file: 'filters.png' };
    }
    const outcome: JobOutcome = {
      hash: job.hash, model: job.model.name, config, seed: job.seed, epochs: job.train.epochs, status: 'trained',
      // epochs trained by earlier, interrupted runs count too
      wallSeconds: (performance.now() - t0) / 1000 + history.slice(0, trained.resumedFromEpoch).reduce((a, h) => a + h.seconds, 0),
      params: model.countParams(),
      history, bestEpoch, resumedFrom: trained.resumedFromEpoch,
      trainRows: data.trainCount,
      validation: { accuracy: acc(valPred, data.val.y), rows: data.val.count, predicted: [...valPred] },
      test: { accuracy: acc(testPred, data.test.y), rows: data.test.count, predicted: [...testPred] },
      activations, filters,
    };
    // Atomic (a uniquely named tmp + rename): a reader (or `fer worker` on another machine) never sees half a result.
    fence();
    writeFileAtomicSync(resultFile, JSON.stringify(outcome));
    // The model, history and predictions are kept; the optimizer checkpoints (4x the model, twice) are only for resuming.
    if (!args.keepCheckpoints) rmSync(join(dir, 'checkpoint'), { recursive: true, force: true });
    return outcome;
  } finally {
    await Promise.all(pending);
    model.dispose();
  }
}

function activationFile(epoch: number, layer: number): string {
  return `activations/e${String(epoch).padStart(3, '0')}-l${layer}.png`;
}

const TEST_CURVE = 'test-curve.json';

function readTestCurve(dir: string): Record<number, number> {
  const f = join(dir, TEST_CURVE);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<number, number>) : {};
}

function writeTestCurve(dir: string, curve: Record<number, number>): void {
  writeFileAtomicSync(join(dir, TEST_CURVE), JSON.stringify(curve));
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
