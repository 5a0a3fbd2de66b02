import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { checkInt, checkOneOf, checkRange, resolveConfig } from './_config.js';
import { firstNonFinite, listCheckpoints, partialCheckpointFile, readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointArray } from './_checkpoint.js';
import { fsError, fsOps, removeStaleTempFiles } from './_fs.js';
import { SeededRandom } from './_random.js';
import { TRAIN_DEFAULTS } from './_train-defaults.js';
import { FerModelsError } from './errors.js';
import { evaluationLogProbs } from './_log-probs.js';
import { localStepper, type OptimizerSpec, type StepperFactory, type TrainStepBatch } from './stepper.js';

/** Training config. Plain data; unknown keys throw. The defaults are the `paper` preset (a model's own recipe: `paperTrainConfig` of ./builtins). */
export interface TrainConfig {
  /** Epochs. Paper: 30 (shallow), 35 (deep). */
  epochs: number;
  /** Batch size the caller's batcher should use (train() takes the batches as given). Paper: 128. */
  batchSize: number;
  /** Seeds Dropout masks (tfjs draws them from Math.random; swapped for a seeded PRNG during steps). */
  seed: number;
  /**
   * Optimizer. Default Adam lr 1e-4: the paper does not give its optimizer settings; Adam 1e-3
   * trains paper-shallow (18.9M FC weights) much worse in our measurements, 1e-4 works.
   */
  optimizer: { name: string; learningRate: number; momentum: number; nesterov: boolean; beta1: number; beta2: number; epsilon: number };
  /**
   * LR schedule. kind: 'constant' | 'step' (x gamma every stepSize epochs) | 'cosine' (to minLearningRate
   * over the run) | 'plateau' (x factor after `patience` epochs without validation improvement).
   */
  schedule: { kind: string; stepSize: number; gamma: number; minLearningRate: number; factor: number; patience: number };
  /** Early stopping on validation accuracy: patience 0 = off. restoreBest puts back the best epoch's weights at the end. */
  earlyStopping: { patience: number; minDelta: number; restoreBest: boolean };
  /** Per-class loss weights (length = classes), or null. */
  classWeights: number[] | null;
  /** Label smoothing epsilon. Default 0. */
  labelSmoothing: number;
  /** Images per forward pass when evaluating the validation set. */
  evalBatchSize: number;
}

export { TRAIN_DEFAULTS };

/**
 * Validates a (partial) train config and fills the defaults. Unknown keys and bad values throw E_BAD_OPTION.
 * @example
 * resolveTrainConfig({ epochs: 2, optimizer: { learningRate: 3e-4 } });
 */
export function resolveTrainConfig(config?: unknown): TrainConfig {
  const c = resolveConfig('train config', TRAIN_DEFAULTS, config);
  checkInt('train config.epochs', c.epochs, 1);
  checkInt('train config.batchSize', c.batchSize, 1);
  checkInt('train config.seed', c.seed, 0, 0xffffffff);
  checkOneOf('train config.optimizer.name', c.optimizer.name, ['adam', 'sgd', 'rmsprop'] as const);
  checkRange('train config.optimizer.learningRate', c.optimizer.learningRate, Number.MIN_VALUE, Infinity);
  checkOneOf('train config.schedule.kind', c.schedule.kind, ['constant', 'step', 'cosine', 'plateau'] as const);
  checkInt('train config.schedule.stepSize', c.schedule.stepSize, 1);
  checkInt('train config.schedule.patience', c.schedule.patience, 0);
  checkInt('train config.earlyStopping.patience', c.earlyStopping.patience, 0);
  checkRange('train config.labelSmoothing', c.labelSmoothing, 0, 1, true);
  checkInt('train config.evalBatchSize', c.evalBatchSize, 1);
  if (c.classWeights !== null && (!Array.isArray(c.classWeights) || c.classWeights.some((w) => typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)))) {
    throw new FerModelsError('E_BAD_OPTION', `train config.classWeights: got ${JSON.stringify(c.classWeights)}, expected null or an array of non-negative numbers, one per class (e.g. from @fer/data's classWeights).`);
  }
  return c;
}

/** Where training batches come from: exactly the shape of @fer/data's `createBatcher` result. */
export interface TrainSource {
  stepsPerEpoch: number;
  /** The batches of epoch `e` (0-based). Must be a pure function of `e` for exact resume. */
  epoch(e: number): Iterable<TrainStepBatch>;
}

/** Validation arrays (normalized like the training batches). */
export interface ValidationSet {
  x: Float32Array;
  hog?: Float32Array;
  y: Uint8Array;
  count: number;
}

/** One record of the history (epochs are 1-based). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
}

/** A progress event after every step. */
export interface ProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

/** A problem that did not stop training (e.g. a corrupt checkpoint skipped on resume). */
export interface TrainWarning {
  code: string;
  message: string;
}

/** Arguments of {@link train}. */
export interface TrainArgs {
  model: tf.LayersModel;
  data: { train: TrainSource; validation?: ValidationSet };
  config?: Partial<TrainConfig> | Record<string, unknown>;
  onEpoch?: (record: EpochRecord) => void;
  onProgress?: (event: ProgressEvent) => void;
  onWarning?: (warning: TrainWarning) => void;
  signal?: AbortSignal;
  /**
   * A graceful stop: checked before every step; once aborted, training stops at that step boundary, writes a
   * mid-epoch checkpoint (`partial.ferckpt` in checkpointDir: weights, optimizer, RNG, the epoch's running sums)
   * and returns with `stopped` set. `resume: true` later continues from that very step, bit-exactly.
   * (`signal` instead throws E_ABORTED and keeps only the last completed epoch.)
   */
  stop?: AbortSignal;
  /**
   * Train only up to this 1-based epoch of the schedule, then return with `stopped: { epoch: stopAfterEpoch + 1,
   * step: 0, steps }`: the schedule (`config.epochs`, the learning rate of every epoch) stays that of the whole run,
   * so `resume: true` from the epoch's checkpoint continues bit-exactly as if training had never paused (successive
   * halving: a trial trained to a rung and promoted later). Needs `checkpointDir` to be resumable; no mid-epoch
   * checkpoint is written (the epoch's own is the resume point). Ignored when it is >= `config.epochs`.
   */
  stopAfterEpoch?: number;
  /** Step implementation; default {@link localStepper}. @fer/engine's `createDataParallelStepper()` fits here. */
  stepper?: StepperFactory;
  /** Writes a checkpoint after every epoch (keeps the newest two). Stale `*.tmp-*` files in it are removed on start. */
  checkpointDir?: string;
  /**
   * Continue from the newest valid checkpoint in checkpointDir (a fresh start if there is none). The
   * checkpoint's config (train config except `epochs`, plus `runConfig`) must equal this run's, else E_CHECKPOINT_MISMATCH.
   */
  resume?: boolean;
  /** A fresh run (no resume) into a checkpointDir holding checkpoints throws E_RUN_EXISTS unless this is true; then they are deleted first. */
  overwrite?: boolean;
  /** The rest of the run's resolved config (model, data; JSON-able). Stored in every checkpoint and compared on resume. */
  runConfig?: Record<string, unknown>;
}

/** What {@link train} returns (JSON-able). */
export interface TrainResult {
  config: TrainConfig;
  history: EpochRecord[];
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  stoppedEarly: boolean;
  /** Completed epochs restored from a checkpoint (0 when not resumed). */
  resumedFromEpoch: number;
  /** True when the best epoch's weights were put back at the end. */
  restoredBest: boolean;
  /** Set when `stop` ended training early: the 1-based epoch it was in and the steps of it done. The model holds the weights of that moment (not the best epoch's). */
  stopped: { epoch: number; step: number; steps: number } | null;
  warnings: TrainWarning[];
  seconds: number;
}

/**
 * Trains `model` in place. Deterministic for a given seed and backend (data order comes from the source,
 * Dropout masks from a seeded PRNG). With `checkpointDir`, writes weights, optimizer state, RNG state,
 * history, best-so-far and the resolved config after every epoch, atomically; `resume: true` continues exactly
 * (and refuses checkpoints of another config: E_CHECKPOINT_MISMATCH); a fresh run into a folder holding checkpoints
 * throws E_RUN_EXISTS unless `overwrite`. A NaN or infinite loss throws E_NON_FINITE_LOSS naming epoch and step;
 * non-finite weights after an epoch throw E_DIVERGED before anything is written. Both name the last good
 * checkpoint, which is kept. File-system errors throw E_FS naming the code, the phase and the path.
 * @example
 * const batcher = createBatcher({ dataset, indices, batchSize: 128, seed: 1, normalizer });
 * const result = await train({ model, data: { train: batcher, validation }, config: { epochs: 2 },
 *   onProgress: (p) => bar.update(p) });
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const t0 = performance.now();
  const config = resolveTrainConfig(args.config);
  const { model, data } = args;
  const warnings: TrainWarning[] = [];
  const warn = (w: TrainWarning) => {
    warnings.push(w);
    args.onWarning?.(w);
  };
  const numClasses = model.outputs[0].shape[1] ?? 0;
  if (config.classWeights && config.classWeights.length !== numClasses) {
    throw new FerModelsError('E_BAD_OPTION', `train config.classWeights: got ${config.classWeights.length} weights, expected ${numClasses} (one per model output class).`);
  }
  const rng = new SeededRandom(config.seed);
  const state = {
    history: [] as EpochRecord[],
    bestEpoch: null as number | null,
    bestValAccuracy: null as number | null,
    sinceBest: 0,
    plateau: { lr: config.optimizer.learningRate, wait: 0, best: -Infinity },
  };
  let bestWeights: Float32Array[] | null = null;
  let startEpoch = 0;
  let optimizerState: { name: string; data: Float32Array; shape: number[] }[] | null = null;
  const runConfig = { train: { ...jsonCopy(config), epochs: undefined }, run: jsonCopy(args.runConfig ?? null) };
  const configHash = createHash('sha256').update(JSON.stringify(runConfig)).digest('hex');
  /** The newest checkpoint known to hold finite weights (written or resumed from by this run). */
  let lastGood: string | null = null;
  const lastGoodText = () =>
    !args.checkpointDir ? 'no checkpoint was written (no checkpointDir)' : lastGood ? `the last good checkpoint is ${lastGood}` : `no checkpoint was written yet in ${args.checkpointDir}`;

  if (args.stopAfterEpoch !== undefined && !(Number.isInteger(args.stopAfterEpoch) && args.stopAfterEpoch >= 1)) {
    throw new FerModelsError('E_BAD_OPTION', `train: stopAfterEpoch is ${args.stopAfterEpoch}, expected a positive integer (a 1-based epoch of the schedule) or undefined.`);
  }
  if (args.resume && !args.checkpointDir) throw new FerModelsError('E_BAD_OPTION', 'train: resume is true but no checkpointDir was given. Pass the checkpointDir of the run to resume.');
  if (args.checkpointDir) {
    await removeStaleTempFiles(args.checkpointDir, 'checkpoint folder');
    if (!args.resume) {
      const old = await listCheckpoints(args.checkpointDir);
      if (old.length && !args.overwrite) {
        throw new FerModelsError('E_RUN_EXISTS', `train: checkpointDir ${args.checkpointDir} already holds ${old.length} checkpoints of another run (newest: epoch ${old[0].epoch}), expected an empty folder for a fresh run. Pass resume: true (fer train --resume) to continue that run, overwrite: true (fer train --overwrite) to delete them and start over, or choose another folder.`);
      }
      for (const f of [...old, { file: partialCheckpointFile(args.checkpointDir) }]) {
        try {
          await fsOps.rm(f.file, { force: true });
        } catch (e) {
          throw fsError(e, 'removing the old run\'s checkpoint', f.file);
        }
      }
    }
  }
  /** Where a mid-epoch checkpoint left off in epoch `startEpoch`: steps done and the epoch's running sums. */
  type MidEpoch = { step: number; lossSum: number; accSum: number; seen: number; images: number; seconds: number };
  let partial: MidEpoch | null = null;
  if (args.resume && args.checkpointDir) {
    const full = await loadNewestCheckpoint(args.checkpointDir, warn);
    const mid = await loadPartialCheckpoint(args.checkpointDir, full?.ck.epoch ?? 0, warn);
    const found = mid ?? full;
    if (found) {
      const { ck, file } = found;
      if (ck.legacy) warn({ code: 'E_CHECKPOINT_LEGACY', message: `${file}: an older checkpoint format (FERCKPT1) whose header (epoch, RNG state, history) is not checksummed; resuming from it anyway. New checkpoints cover the whole file.` });
      checkSameConfig(file, ck, runConfig, configHash, warn);
      lastGood = file;
      const weights = ck.arrays.filter((a) => a.group === 'weights');
      setModelWeights(model, weights, ck.epoch);
      const best = ck.arrays.filter((a) => a.group === 'best');
      bestWeights = best.length ? best.map((a) => a.data) : null;
      optimizerState = ck.arrays.filter((a) => a.group === 'optimizer').map((a) => ({ name: a.name, data: a.data, shape: a.shape }));
      const s = ck.state as typeof state & { rng: number };
      rng.state = s.rng;
      state.history = s.history;
      state.bestEpoch = s.bestEpoch;
      state.bestValAccuracy = s.bestValAccuracy;
      state.sinceBest = s.sinceBest;
      state.plateau = { ...s.plateau, best: s.plateau.best ?? -Infinity };
      startEpoch = ck.epoch;
      partial = mid ? (ck.state.partial as MidEpoch) : null;
    }
  }

  const spec: OptimizerSpec = {
    name: config.optimizer.name as OptimizerSpec['name'],
    learningRate: config.optimizer.learningRate,
    momentum: config.optimizer.momentum,
    nesterov: config.optimizer.nesterov,
    beta1: config.optimizer.beta1,
    beta2: config.optimizer.beta2,
    epsilon: config.optimizer.epsilon,
  };
  const stepper = await (args.stepper ?? localStepper)({ model, optimizer: spec, seed: config.seed, labelSmoothing: config.labelSmoothing });
  let stoppedEarly = false;
  let stopped: TrainResult['stopped'] = null;
  try {
    if (optimizerState && optimizerState.length) await stepper.setOptimizerState(optimizerState);
    const steps = data.train.stepsPerEpoch;
    let images = 0;
    let trainSeconds = 0;
    let stepsDone = 0;
    const totalSteps = (config.epochs - startEpoch) * steps - (partial?.step ?? 0);
    if (startEpoch >= config.epochs) stoppedEarly = state.history.length < config.epochs;
    for (let e = startEpoch; e < config.epochs; e++) {
      if (stoppedEarly) break;
      if (args.stopAfterEpoch !== undefined && e >= args.stopAfterEpoch) {
        stopped = { epoch: e + 1, step: e === startEpoch && partial ? partial.step : 0, steps };
        break;
      }
      const te = performance.now();
      const lr = learningRateAt(config, e, state.plateau.lr);
      // A mid-epoch resume replays the epoch's batches (a pure function of e) and skips the steps already done.
      const skip = e === startEpoch && partial ? partial.step : 0;
      const carried = e === startEpoch && partial ? partial.seconds : 0;
      let lossSum = skip ? partial!.lossSum : 0, accSum = skip ? partial!.accSum : 0, seen = skip ? partial!.seen : 0, s = 0;
      for (const batch of data.train.epoch(e)) {
        if (s < skip) {
          s++;
          continue;
        }
        // NOTE: a stop (or abort) requested from outside (a signal handler, a timer, a UI event) runs on the event loop,
        // which a loop of compute steps and resolved promises never lets turn: yield to it once per step (~0.1 ms).
        if (args.stop || args.signal) await yieldToEventLoop();
        if (args.stop?.aborted) {
          stopped = { epoch: e + 1, step: s, steps };
          if (args.checkpointDir) {
            await stepper.syncToModel();
            const arrays: CheckpointArray[] = [
              ...(await readModelWeights(model)),
              ...(await stepper.getOptimizerState()).map((o) => ({ group: 'optimizer', name: o.name, shape: o.shape, data: o.data })),
              ...(bestWeights ? bestWeights.map((d, i) => ({ group: 'best', name: String(i), shape: [d.length], data: d })) : []),
            ];
            const seconds = carried + (performance.now() - te) / 1000;
            await writeCheckpoint(args.checkpointDir, {
              epoch: e,
              state: { ...state, plateau: { ...state.plateau, best: Number.isFinite(state.plateau.best) ? state.plateau.best : null }, rng: rng.state, stoppedEarly, config, runConfig: runConfig.run, configHash, partial: { step: s, lossSum, accSum, seen, images: seen, seconds } },
              arrays,
            }, 2, partialCheckpointFile(args.checkpointDir));
          }
          break;
        }
        if (args.signal?.aborted) {
          throw new FerModelsError('E_ABORTED', `train: aborted in epoch ${e + 1}, step ${s + 1}; the newest checkpoint (if any) holds the last completed epoch. Pass resume: true to continue.`);
        }
        const b = config.classWeights ? withClassWeights(batch, config.classWeights) : batch;
        const ts = performance.now();
        const original = Math.random;
        let pending: Promise<{ loss: number; accuracy: number }>;
        Math.random = () => rng.next();
        try {
          pending = stepper.step(b, lr);
        } finally {
          Math.random = original;
        }
        const r = await pending;
        s++;
        if (!Number.isFinite(r.loss)) {
          throw new FerModelsError('E_NON_FINITE_LOSS', `train: the loss became ${r.loss} in epoch ${e + 1}, step ${s} (of ${steps}) at learning rate ${lr}, expected a finite loss. Lower the learning rate, check the inputs for NaN/Inf, or add L2/clipping; ${lastGoodText()} (kept).`);
        }
        trainSeconds += (performance.now() - ts) / 1000;
        stepsDone++;
        images += batch.size;
        lossSum += r.loss * batch.size;
        accSum += r.accuracy * batch.size;
        seen += batch.size;
        if (args.onProgress) {
          const perStep = trainSeconds / stepsDone;
          args.onProgress({
            epoch: e + 1, epochs: config.epochs, step: s, steps,
            loss: lossSum / seen, accuracy: accSum / seen,
            imagesPerSecond: images / Math.max(trainSeconds, 1e-9),
            etaSeconds: perStep * (totalSteps - stepsDone),
          });
        }
      }
      if (stopped) break;
      await stepper.syncToModel();
      // NOTE: the loss is computed before the update, so a bad last update of an epoch leaves a finite
      // loss and NaN weights: check the weights themselves before anything is evaluated or written.
      const weights = await readModelWeights(model);
      const bad = firstNonFinite(weights);
      if (bad) {
        throw new FerModelsError('E_DIVERGED', `train: diverged in epoch ${e + 1} (learning rate ${lr}): after its last step weight ${bad.array.name} (shape [${bad.array.shape.join(', ')}]) holds ${bad.value} at index ${bad.index}, expected finite weights (the losses were finite). Nothing of this epoch was saved; ${lastGoodText()}. Lower the learning rate or add L2/clipping and start over (overwrite: true / fer train --overwrite).`);
      }
      const val = data.validation ? await evaluateArrays(model, data.validation, config.evalBatchSize) : null;
      const record: EpochRecord = {
        epoch: e + 1,
        loss: seen ? lossSum / seen : NaN,
        accuracy: seen ? accSum / seen : NaN,
        valLoss: val ? val.loss : null,
        valAccuracy: val ? val.accuracy : null,
        lr,
        seconds: carried + (performance.now() - te) / 1000,
      };
      state.history.push(record);
      if (val) {
        if (state.bestValAccuracy === null || val.accuracy > state.bestValAccuracy + config.earlyStopping.minDelta) {
          state.bestValAccuracy = val.accuracy;
          state.bestEpoch = e + 1;
          state.sinceBest = 0;
          if (config.earlyStopping.restoreBest) bestWeights = weights.map((a) => a.data);
        } else {
          state.sinceBest++;
        }
        if (config.schedule.kind === 'plateau') {
          if (val.accuracy > state.plateau.best) {
            state.plateau.best = val.accuracy;
            state.plateau.wait = 0;
          } else if (++state.plateau.wait > config.schedule.patience) {
            state.plateau.lr = Math.max(state.plateau.lr * config.schedule.factor, config.schedule.minLearningRate);
            state.plateau.wait = 0;
          }
        }
        if (config.earlyStopping.patience > 0 && state.sinceBest >= config.earlyStopping.patience) stoppedEarly = true;
      }
      if (args.checkpointDir) {
        const arrays: CheckpointArray[] = [
          ...weights,
          ...(await stepper.getOptimizerState()).map((o) => ({ group: 'optimizer', name: o.name, shape: o.shape, data: o.data })),
          ...(bestWeights ? bestWeights.map((d, i) => ({ group: 'best', name: String(i), shape: [d.length], data: d })) : []),
        ];
        const badState = firstNonFinite(arrays);
        if (badState) {
          throw new FerModelsError('E_DIVERGED', `train: diverged in epoch ${e + 1} (learning rate ${lr}): ${badState.array.group} ${badState.array.name} holds ${badState.value} at index ${badState.index}, expected finite values. Nothing of this epoch was saved; ${lastGoodText()}. Lower the learning rate and start over (overwrite: true / fer train --overwrite).`);
        }
        lastGood = await writeCheckpoint(args.checkpointDir, {
          epoch: e + 1,
          state: { ...state, plateau: { ...state.plateau, best: Number.isFinite(state.plateau.best) ? state.plateau.best : null }, rng: rng.state, stoppedEarly, config, runConfig: runConfig.run, configHash },
          arrays,
        });
        await fsOps.rm(partialCheckpointFile(args.checkpointDir), { force: true }).catch((err: unknown) => { throw fsError(err, 'removing the mid-epoch checkpoint', partialCheckpointFile(args.checkpointDir!)); });
      }
      args.onEpoch?.(record);
    }
  } finally {
    await stepper.dispose();
  }
  let restoredBest = false;
  if (!stopped && config.earlyStopping.restoreBest && bestWeights && state.bestEpoch !== null && state.bestEpoch !== state.history.length) {
    setModelWeights(model, (await readModelWeights(model)).map((a, i) => ({ ...a, data: bestWeights![i] })), state.bestEpoch);
    restoredBest = true;
  }
  return {
    config,
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValAccuracy: state.bestValAccuracy,
    stoppedEarly,
    resumedFromEpoch: startEpoch,
    restoredBest,
    stopped,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Mean cross-entropy and accuracy of `model` (inference mode) on arrays; no tensors are left behind.
 * @example
 * const { loss, accuracy } = await evaluateArrays(model, { x, y, count }, 256);
 */
export async function evaluateArrays(model: tf.LayersModel, set: ValidationSet, batchSize = 256): Promise<{ loss: number; accuracy: number }> {
  const [, h, w, c] = model.inputs[0].shape as number[];
  const size = h * w * c;
  const hybrid = model.inputs.length > 1;
  const hogLen = hybrid ? (model.inputs[1].shape[1] ?? 0) : 0;
  if (set.x.length !== set.count * size || set.y.length !== set.count) {
    throw new FerModelsError('E_BAD_INPUT', `validation: got ${set.x.length} values and ${set.y.length} labels for count ${set.count}, expected ${set.count * size} values and ${set.count} labels.`);
  }
  if (hybrid && (!set.hog || set.hog.length !== set.count * hogLen)) {
    throw new FerModelsError('E_BAD_INPUT', `validation: the hybrid model needs hog of ${set.count * hogLen} values, got ${set.hog?.length ?? 'none'}.`);
  }
  let lossSum = 0, correct = 0;
  for (let s = 0; s < set.count; s += batchSize) {
    const n = Math.min(batchSize, set.count - s);
    const [lt, kt] = tf.tidy(() => {
      const xs = tf.tensor4d(set.x.subarray(s * size, (s + n) * size), [n, h, w, c]);
      const input = hybrid ? [xs, tf.tensor2d(set.hog!.subarray(s * hogLen, (s + n) * hogLen), [n, hogLen])] : xs;
      // The same cross-entropy as training's (log-softmax of the logits when the model ends in a softmax).
      const { logProbs } = evaluationLogProbs(model, input);
      const labels = tf.tensor1d(Int32Array.from(set.y.subarray(s, s + n)), 'int32');
      const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, logProbs.shape[1]!), logProbs)));
      const ok = tf.sum(tf.cast(tf.equal(tf.argMax(logProbs, 1), labels), 'float32'));
      return [ce, ok];
    });
    // NOTE: async reads: WebGPU in Node has no synchronous GPU read-back.
    const [l, k] = await Promise.all([lt.data(), kt.data()]).then(([a, b]) => [a[0], b[0]]).finally(() => tf.dispose([lt, kt]));
    lossSum += l;
    correct += k;
  }
  return { loss: set.count ? lossSum / set.count : NaN, accuracy: set.count ? correct / set.count : NaN };
}

/** The learning rate of epoch `e` (0-based) under `config.schedule`. */
export function learningRateAt(config: TrainConfig, e: number, plateauLr = config.optimizer.learningRate): number {
  const lr0 = config.optimizer.learningRate;
  const s = config.schedule;
  switch (s.kind) {
    case 'step':
      return lr0 * Math.pow(s.gamma, Math.floor(e / s.stepSize));
    case 'cosine':
      return s.minLearningRate + 0.5 * (lr0 - s.minLearningRate) * (1 + Math.cos((Math.PI * e) / config.epochs));
    case 'plateau':
      return plateauLr;
    default:
      return lr0;
  }
}

// --- Internal helpers ---

function withClassWeights(batch: TrainStepBatch, cw: number[]): TrainStepBatch {
  const w = new Float32Array(batch.size);
  for (let i = 0; i < batch.size; i++) w[i] = cw[batch.y[i]] * (batch.sampleWeights ? batch.sampleWeights[i] : 1);
  return { ...batch, sampleWeights: w };
}

async function readModelWeights(model: tf.LayersModel): Promise<CheckpointArray[]> {
  return Promise.all(model.weights.map(async (v, i) => ({ group: 'weights' as const, name: `${i}:${v.originalName}`, shape: v.shape as number[], data: Float32Array.from((await v.read().data()) as Float32Array) })));
}

function setModelWeights(model: tf.LayersModel, arrays: CheckpointArray[], epoch: number): void {
  const vars = model.weights;
  if (arrays.length !== vars.length) {
    throw new FerModelsError('E_CHECKPOINT_CORRUPT', `checkpoint of epoch ${epoch} holds ${arrays.length} weight arrays, the model has ${vars.length}. It was written by another architecture or config; use a fresh checkpointDir.`);
  }
  vars.forEach((v, i) => {
    const n = (v.shape as number[]).reduce((a, b) => a * b, 1);
    if (arrays[i].data.length !== n) {
      throw new FerModelsError('E_CHECKPOINT_CORRUPT', `checkpoint of epoch ${epoch}: weight ${i} (${v.originalName}) has ${arrays[i].data.length} values, the model expects ${n} (shape [${v.shape.join(', ')}]). Use a fresh checkpointDir.`);
    }
  });
  tf.tidy(() => vars.forEach((v, i) => v.write(tf.tensor(arrays[i].data, v.shape as number[]))));
}

/** The mid-epoch checkpoint when it is newer than the newest full one (`after` completed epochs), else null (a stale one is ignored). */
async function loadPartialCheckpoint(dir: string, after: number, warn: (w: TrainWarning) => void): Promise<{ ck: Checkpoint; file: string } | null> {
  const file = partialCheckpointFile(dir);
  if (!(await fsOps.readdir(dir).catch(() => [] as string[])).includes('partial.ferckpt')) return null;
  try {
    const ck = await readCheckpoint(file);
    return ck.epoch >= after && ck.state.partial ? { ck, file } : null;
  } catch (e) {
    warn({ code: (e as FerModelsError).code ?? 'E_CHECKPOINT_CORRUPT', message: `${(e as Error).message} Falling back to the last completed epoch's checkpoint.` });
    return null;
  }
}

async function loadNewestCheckpoint(dir: string, warn: (w: TrainWarning) => void): Promise<{ ck: Checkpoint; file: string } | null> {
  const files = await listCheckpoints(dir);
  const errors: string[] = [];
  for (const f of files) {
    try {
      return { ck: await readCheckpoint(f.file), file: f.file };
    } catch (e) {
      const message = (e as Error).message;
      errors.push(message);
      warn({ code: (e as FerModelsError).code ?? 'E_CHECKPOINT_CORRUPT', message: `${message} Falling back to the previous checkpoint.` });
    }
  }
  if (files.length > 0) {
    throw new FerModelsError('E_CHECKPOINT_CORRUPT', `no usable checkpoint in ${dir}: ${errors.join(' | ')}. Start over with overwrite: true (fer train --overwrite) or delete the folder.`);
  }
  return null;
}

/** Throws E_CHECKPOINT_MISMATCH when checkpoint `file` was written under another config, naming the differing keys. */
function checkSameConfig(file: string, ck: Checkpoint, now: { train: unknown; run: unknown }, hash: string, warn: (w: TrainWarning) => void): void {
  const s = ck.state as { config?: Record<string, unknown>; runConfig?: unknown; configHash?: string };
  if (!s.config) {
    warn({ code: 'E_CHECKPOINT_MISMATCH', message: `${file}: holds no config to compare with this run's; resuming without the check.` });
    return;
  }
  if (s.configHash === hash) return;
  const saved = { train: { ...s.config, epochs: undefined }, run: s.runConfig ?? null };
  const diffs: string[] = [];
  diffConfig(jsonCopy(saved), jsonCopy(now), '', diffs);
  // NOTE: FERCKPT1 checkpoints carry the train config but no run config or hash.
  if (s.configHash === undefined) diffs.splice(0, diffs.length, ...diffs.filter((d) => !d.startsWith('run')));
  if (diffs.length === 0) return;
  throw new FerModelsError('E_CHECKPOINT_MISMATCH', `train: cannot resume from ${file}: it was written by a run with another config (${diffs.length} differing key${diffs.length > 1 ? 's' : ''}: ${diffs.slice(0, 12).join('; ')}${diffs.length > 12 ? '; ...' : ''}). Expected the same resolved config (only train.epochs may change on resume). Resume with the checkpoint's config, start over with overwrite: true (fer train --overwrite), or use another folder.`);
}

function diffConfig(a: unknown, b: unknown, path: string, out: string[]): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffConfig(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: checkpoint ${JSON.stringify(a) ?? 'absent'}, now ${JSON.stringify(b) ?? 'absent'}`);
}

function jsonCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Resolves after the event loop has run its pending callbacks (signals, timers, I/O): setImmediate in Node, a 0 ms timer elsewhere. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
