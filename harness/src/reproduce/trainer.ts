// The harness's training loop: seeded shuffling and flips, one optimizer step per batch through a
// TrainStepper (the contract @fer/engine's data-parallel stepper implements), model selection on
// the validation split (PublicTest), and a checkpoint after every epoch so a run can resume.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from './rng.js';
import type { TrainSpec } from './spec.js';

export interface OptimizerSpec { name: 'adam' | 'sgd' | 'rmsprop'; learningRate: number; momentum?: number }
export interface TrainStepBatch { x: Float32Array; hog?: Float32Array; y: Uint8Array; size: number }
export interface SerializedTensor { name: string; data: Float32Array; shape: number[] }
/** Same contract as docs/architecture.md's TrainStepper (@fer/models / @fer/engine). */
export interface TrainStepper {
  step(batch: TrainStepBatch, learningRate: number): Promise<{ loss: number; accuracy: number }>;
  syncToModel(): Promise<void>;
  getOptimizerState(): Promise<SerializedTensor[]>;
  setOptimizerState(state: SerializedTensor[]): Promise<void>;
  dispose(): Promise<void>;
}
export type StepperFactory = (args: { model: tf.LayersModel; optimizer: OptimizerSpec; seed: number }) => Promise<TrainStepper>;

/** A split ready for the network: normalized pixels (count*48*48), labels, HOG rows if needed. */
export interface PreparedSplit {
  count: number;
  x: Float32Array;
  y: Uint8Array;
  hog?: Float32Array;
  /** HOG of the horizontally flipped images (for hybrid models trained with hflip). */
  hogFlipped?: Float32Array;
  hogLength: number;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
}

export interface TrainResult {
  history: EpochLog[];
  bestEpoch: number;
  resumedFrom: number;
}

const SIDE = 48;
const PX = SIDE * SIDE;

/** A single-thread stepper on the current tfjs backend. */
export const localStepper: StepperFactory = async ({ model, optimizer, seed }) => {
  const opt = makeOptimizer(optimizer);
  // NOTE: tfjs seeds unseeded random ops (Dropout masks) from Math.random; swapping in a seeded
  // PRNG while the step's ops are built makes a run repeatable (same as @fer/models' trainer).
  const rand = mulberry32(seed * 7919 + 17);
  const vars = () => model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    async step(batch, lr) {
      (opt as unknown as { learningRate: number }).learningRate = lr;
      let correct: tf.Scalar | undefined;
      const original = Math.random;
      Math.random = rand;
      let loss: tf.Scalar;
      try {
        loss = tf.tidy(() => {
        const inputs = toInputs(model, batch.x, batch.hog, batch.size);
        const ys = tf.oneHot(tf.tensor1d(batch.y, 'int32'), 7);
        return opt.minimize(() => {
          const p = model.apply(inputs, { training: true }) as tf.Tensor;
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(ys, 1)), 'float32')) as tf.Scalar);
          const ce = tf.mean(tf.metrics.categoricalCrossentropy(ys, p)) as tf.Scalar;
          const reg = model.losses.length ? tf.addN(model.losses.map((f) => (f as () => tf.Scalar)())) : tf.scalar(0);
          return tf.add(ce, reg) as tf.Scalar;
        }, true, vars()) as tf.Scalar;
        });
      } finally {
        Math.random = original;
      }
      const [l] = await loss.data();
      const c = correct ? (await correct.data())[0] : 0;
      loss.dispose();
      correct?.dispose();
      return { loss: l, accuracy: c / batch.size };
    },
    async syncToModel() {},
    async getOptimizerState() {
      const ws = await opt.getWeights();
      return Promise.all(ws.map(async (w) => ({ name: w.name, data: (await w.tensor.data()) as Float32Array, shape: w.tensor.shape })));
    },
    async setOptimizerState(state) {
      await opt.setWeights(state.map((s) => ({ name: s.name, tensor: tf.tensor(s.data, s.shape) })));
    },
    async dispose() { opt.dispose(); },
  };
};

function makeOptimizer(o: OptimizerSpec): tf.Optimizer {
  if (o.name === 'sgd') return o.momentum ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
  if (o.name === 'rmsprop') return tf.train.rmsprop(o.learningRate);
  return tf.train.adam(o.learningRate);
}

/** Model inputs for a batch, in the model's input order ('image', then 'hog' for hybrids). */
export function toInputs(model: tf.LayersModel, x: Float32Array, hog: Float32Array | undefined, n: number): tf.Tensor | tf.Tensor[] {
  const img = tf.tensor4d(x, [n, SIDE, SIDE, 1]);
  if (model.inputs.length === 1) return img;
  if (!hog) throw new Error(`model "${model.name}" takes ${model.inputs.length} inputs but no HOG features were prepared`);
  const h = tf.tensor2d(hog, [n, hog.length / n]);
  return model.inputNames.map((name) => (/hog/i.test(name) ? h : img));
}

/**
 * Class probabilities for every row of a split (inference mode), `count*7` floats.
 * @example
 * const probs = await predictSplit(model, prepared.test)
 */
export async function predictSplit(model: tf.LayersModel, split: PreparedSplit, batchSize = 256): Promise<Float32Array> {
  const out = new Float32Array(split.count * 7);
  for (let s = 0; s < split.count; s += batchSize) {
    const n = Math.min(batchSize, split.count - s);
    const p = tf.tidy(() => {
      const inputs = toInputs(model, split.x.subarray(s * PX, (s + n) * PX), split.hog?.subarray(s * split.hogLength, (s + n) * split.hogLength), n);
      return model.predict(inputs) as tf.Tensor;
    });
    out.set(await p.data(), s * 7);
    p.dispose();
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

export function argmaxRows(probs: Float32Array, k = 7): Uint8Array {
  const out = new Uint8Array(probs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

function lossAndAccuracy(probs: Float32Array, y: Uint8Array): { loss: number; accuracy: number } {
  let loss = 0, correct = 0;
  const pred = argmaxRows(probs);
  for (let i = 0; i < y.length; i++) {
    loss -= Math.log(Math.max(probs[i * 7 + y[i]], 1e-7));
    if (pred[i] === y[i]) correct++;
  }
  return { loss: loss / Math.max(1, y.length), accuracy: correct / Math.max(1, y.length) };
}

/**
 * Trains `model` in place and leaves it holding the weights of the best validation epoch.
 * Resumes from `<dir>/last.*` when present.
 */
export async function trainModel(args: {
  model: tf.LayersModel;
  train: PreparedSplit;
  val: PreparedSplit;
  config: TrainSpec;
  seed: number;
  dir: string;
  stepperFactory?: StepperFactory;
  onBatch?: (step: number, steps: number, epoch: number, loss: number) => void;
  onEpoch?: (log: EpochLog, model: tf.LayersModel) => Promise<void> | void;
  signal?: AbortSignal;
}): Promise<TrainResult> {
  const { model, train, val, config, seed, dir } = args;
  mkdirSync(dir, { recursive: true });
  const optimizer: OptimizerSpec = { name: config.optimizer, learningRate: config.learningRate, momentum: config.optimizer === 'sgd' ? 0.9 : undefined };
  const stepper = await (args.stepperFactory ?? localStepper)({ model, optimizer, seed });
  let history: EpochLog[] = [];
  let bestEpoch = 0, bestAcc = -1, start = 0;
  const lastMeta = join(dir, 'state.json'); // weights live in last.bin + last.json
  if (existsSync(lastMeta)) {
    const meta = JSON.parse(readFileSync(lastMeta, 'utf8')) as { epoch: number; history: EpochLog[]; bestEpoch: number; bestAcc: number };
    loadWeights(model, join(dir, 'last'));
    const opt = join(dir, 'last-optimizer');
    if (existsSync(`${opt}.json`)) await stepper.setOptimizerState(readTensors(opt));
    history = meta.history;
    bestEpoch = meta.bestEpoch;
    bestAcc = meta.bestAcc;
    start = meta.epoch;
  }
  const resumedFrom = start;
  const augment = new Set(config.augment.split(',').map((s) => s.trim()).filter(Boolean));
  const bs = config.batchSize;
  const steps = Math.ceil(train.count / bs);
  const xb = new Float32Array(bs * PX);
  const hb = train.hog ? new Float32Array(bs * train.hogLength) : undefined;
  const yb = new Uint8Array(bs);
  try {
    for (let epoch = start + 1; epoch <= config.epochs; epoch++) {
      if (args.signal?.aborted) throw new Error('aborted');
      const t0 = performance.now();
      const rand = mulberry32(seed * 1000 + epoch);
      const order = shuffleInPlace(Uint32Array.from({ length: train.count }, (_, i) => i), rand);
      let lossSum = 0, accSum = 0, seen = 0;
      for (let s = 0; s < steps; s++) {
        const n = Math.min(bs, train.count - s * bs);
        for (let j = 0; j < n; j++) {
          const i = order[s * bs + j];
          const flip = augment.has('hflip') && rand() < 0.5;
          const dx = augment.has('shift') ? Math.round((rand() - 0.5) * 6) : 0;
          const dy = augment.has('shift') ? Math.round((rand() - 0.5) * 6) : 0;
          copyImage(train.x, i, xb, j, flip, dx, dy);
          yb[j] = train.y[i];
          if (hb && train.hog) {
            const src = flip && train.hogFlipped ? train.hogFlipped : train.hog;
            hb.set(src.subarray(i * train.hogLength, (i + 1) * train.hogLength), j * train.hogLength);
          }
        }
        const r = await stepper.step({ x: xb.subarray(0, n * PX), hog: hb?.subarray(0, n * train.hogLength), y: yb.subarray(0, n), size: n }, config.learningRate);
        lossSum += r.loss * n;
        accSum += r.accuracy * n;
        seen += n;
        args.onBatch?.(s + 1, steps, epoch, lossSum / seen);
      }
      await stepper.syncToModel();
      const v = lossAndAccuracy(await predictSplit(model, val), val.y);
      const log: EpochLog = { epoch, loss: lossSum / seen, accuracy: accSum / seen, valLoss: v.loss, valAccuracy: v.accuracy, seconds: (performance.now() - t0) / 1000 };
      history.push(log);
      if (v.accuracy > bestAcc) {
        bestAcc = v.accuracy;
        bestEpoch = epoch;
        saveWeights(model, join(dir, 'best'));
      }
      await args.onEpoch?.(log, model);
      saveWeights(model, join(dir, 'last'));
      writeTensors(join(dir, 'last-optimizer'), await stepper.getOptimizerState());
      writeAtomic(lastMeta, JSON.stringify({ epoch, history, bestEpoch, bestAcc }));
    }
  } finally {
    await stepper.dispose();
  }
  if (existsSync(join(dir, 'best.json'))) loadWeights(model, join(dir, 'best'));
  return { history, bestEpoch, resumedFrom };
}

function copyImage(src: Float32Array, i: number, dst: Float32Array, j: number, flip: boolean, dx: number, dy: number): void {
  const s = i * PX, d = j * PX;
  if (!flip && dx === 0 && dy === 0) { dst.set(src.subarray(s, s + PX), d); return; }
  for (let y = 0; y < SIDE; y++) {
    const sy = Math.min(SIDE - 1, Math.max(0, y - dy));
    for (let x = 0; x < SIDE; x++) {
      let sx = Math.min(SIDE - 1, Math.max(0, x - dx));
      if (flip) sx = SIDE - 1 - sx;
      dst[d + y * SIDE + x] = src[s + sy * SIDE + sx];
    }
  }
}

/** Writes every weight of the model (incl. batch-norm moving statistics) as `<base>.bin` + `<base>.json`. */
export function saveWeights(model: tf.LayersModel, base: string): void {
  writeTensors(base, model.weights.map((w) => {
    const t = w.read();
    return { name: w.originalName, data: t.dataSync() as Float32Array, shape: t.shape };
  }));
}

export function loadWeights(model: tf.LayersModel, base: string): void {
  const stored = readTensors(base);
  if (stored.length !== model.weights.length) throw new Error(`checkpoint ${base} holds ${stored.length} tensors, the model has ${model.weights.length}: delete the job folder to retrain`);
  const ts = stored.map((s) => tf.tensor(s.data, s.shape));
  model.setWeights(ts);
  ts.forEach((t) => t.dispose());
}

function writeTensors(base: string, tensors: SerializedTensor[]): void {
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const buf = new Float32Array(total);
  let o = 0;
  const specs = tensors.map((t) => { buf.set(t.data, o); o += t.data.length; return { name: t.name, shape: t.shape, size: t.data.length }; });
  writeAtomic(`${base}.bin`, new Uint8Array(buf.buffer));
  writeAtomic(`${base}.json`, JSON.stringify(specs));
}

function readTensors(base: string): SerializedTensor[] {
  const specs = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { name: string; shape: number[]; size: number }[];
  const raw = readFileSync(`${base}.bin`);
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let o = 0;
  return specs.map((s) => { const data = all.slice(o, o + s.size); o += s.size; return { name: s.name, shape: s.shape, data }; });
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}
