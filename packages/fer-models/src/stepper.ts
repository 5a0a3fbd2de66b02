import * as tf from '@tensorflow/tfjs';
import { checkOneOf } from './_config.js';
import { trainingLogProbs } from './_log-probs.js';
import { FerModelsError } from './errors.js';

/** Optimizer settings, plain data (so they can travel to worker threads). */
export interface OptimizerSpec {
  name: 'adam' | 'sgd' | 'rmsprop';
  learningRate: number;
  /** SGD/RMSprop momentum. SGD uses plain SGD when 0. */
  momentum?: number;
  /** Nesterov momentum (SGD). */
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** One training batch: normalized images (B*h*w, NHWC with C=1), optional HOG features, labels, weights. */
export interface TrainStepBatch {
  x: Float32Array;
  hog?: Float32Array;
  y: Uint8Array;
  size: number;
  sampleWeights?: Float32Array;
}

/** A named optimizer state tensor, as plain data. */
export interface OptimizerStateEntry {
  name: string;
  data: Float32Array;
  shape: number[];
}

/** Runs training steps for {@link train}; implemented here (same thread) and by @fer/engine (workers). */
export interface TrainStepper {
  step(batch: TrainStepBatch, learningRate: number): Promise<{ loss: number; accuracy: number }>;
  /** Copy replica weights (incl. BN moving stats) into the main model. */
  syncToModel(): Promise<void>;
  getOptimizerState(): Promise<OptimizerStateEntry[]>;
  setOptimizerState(state: OptimizerStateEntry[]): Promise<void>;
  dispose(): Promise<void>;
}

/** Creates a stepper for `model`. The model's weights at creation are the starting point. */
export type StepperFactory = (args: { model: tf.LayersModel; optimizer: OptimizerSpec; seed: number; labelSmoothing?: number }) => Promise<TrainStepper>;

/**
 * The same-thread stepper: `optimizer.minimize` over the (class-/sample-weighted, optionally
 * label-smoothed) cross-entropy of `model.apply(x, { training: true })`, computed from the logits
 * (log-softmax, as PyTorch's `CrossEntropyLoss`) when the model ends in a softmax, plus the layers' L2 penalties
 * (`model.calculateLosses()`). All tensor work in `step` runs synchronously, before the returned
 * promise settles, so {@link train} can seed tfjs' Dropout draws around it.
 * @example
 * const result = await train({ model, data, config, stepper: localStepper });
 */
export const localStepper: StepperFactory = async ({ model, optimizer: spec, labelSmoothing = 0 }) => {
  const optimizer = makeOptimizer(spec);
  const numClasses = model.outputs[0].shape[1] ?? 0;
  const [, h, w, c] = model.inputs[0].shape as number[];
  const hybrid = model.inputs.length > 1;
  const hogLen = hybrid ? (model.inputs[1].shape[1] ?? 0) : 0;
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  let currentLr = spec.learningRate;
  return {
    async step(batch, learningRate) {
      if (learningRate !== currentLr) {
        setLearningRate(optimizer, learningRate);
        currentLr = learningRate;
      }
      const n = batch.size;
      if (batch.x.length !== n * h * w * c || batch.y.length !== n) {
        throw new FerModelsError('E_BAD_INPUT', `train step: got x of ${batch.x.length} values and ${batch.y.length} labels for size ${n}, expected ${n * h * w * c} values (${n}x${h}x${w}x${c}) and ${n} labels.`);
      }
      if (hybrid && (!batch.hog || batch.hog.length !== n * hogLen)) {
        throw new FerModelsError('E_BAD_INPUT', `train step: the hybrid model needs batch.hog of ${n * hogLen} values (${n}x${hogLen}), got ${batch.hog?.length ?? 'none'}. Compute HOG with @fer/hog's hogBatch on the raw pixels.`);
      }
      let correct: tf.Tensor | undefined;
      const loss = tf.tidy(() => {
        const xs = tf.tensor4d(batch.x, [n, h, w, c]);
        const inputs = hybrid ? [xs, tf.tensor2d(batch.hog!, [n, hogLen])] : xs;
        const labels = tf.tensor1d(Int32Array.from(batch.y), 'int32');
        let target = tf.oneHot(labels, numClasses).toFloat();
        if (labelSmoothing > 0) target = tf.add(tf.mul(target, 1 - labelSmoothing), labelSmoothing / numClasses);
        const weights = batch.sampleWeights ? tf.tensor1d(batch.sampleWeights) : undefined;
        return optimizer.minimize(() => {
          const { logProbs } = trainingLogProbs(model, inputs);
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logProbs, 1), labels), 'float32')));
          const perExample = tf.neg(tf.sum(tf.mul(target, logProbs), 1));
          let total = tf.div(tf.sum(weights ? tf.mul(perExample, weights) : perExample), n) as tf.Scalar;
          for (const r of model.calculateLosses()) total = tf.add(total, r);
          return total;
        }, true, vars)!;
      });
      // NOTE: async reads: WebGPU in Node has no synchronous GPU read-back.
      const lossValue = (await loss.data())[0];
      const accuracy = (await correct!.data())[0] / n;
      loss.dispose();
      correct!.dispose();
      return { loss: lossValue, accuracy };
    },
    async syncToModel() {},
    async getOptimizerState() {
      const named = await optimizer.getWeights();
      const out: OptimizerStateEntry[] = [];
      for (const { name, tensor } of named) {
        out.push({ name, data: Float32Array.from(await tensor.data()), shape: tensor.shape.slice() });
        if (name === 'iter') tensor.dispose();
      }
      // NOTE: Adam's setWeights recomputes beta^t with pow(), which differs in the last bits from the
      // running product; saving the products keeps a resumed run bit-identical.
      const adam = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
      if (adam.accBeta1 && adam.accBeta2) {
        out.push({ name: '__accBeta1', data: Float32Array.from(await adam.accBeta1.data()), shape: [] });
        out.push({ name: '__accBeta2', data: Float32Array.from(await adam.accBeta2.data()), shape: [] });
      }
      return out;
    },
    async setOptimizerState(state) {
      const extra = state.filter((s) => s.name.startsWith('__'));
      const named = state.filter((s) => !s.name.startsWith('__')).map((s) => ({ name: s.name, tensor: tf.tensor(s.data, s.shape) }));
      await optimizer.setWeights(named);
      named.forEach((t) => t.tensor.dispose());
      const adam = optimizer as unknown as Record<string, tf.Variable | undefined>;
      for (const e of extra) {
        const v = adam[e.name.slice(2)];
        if (v) tf.tidy(() => v.assign(tf.scalar(e.data[0])));
      }
    },
    async dispose() {
      optimizer.dispose();
    },
  };
};

/** A tfjs optimizer for `spec`. */
export function makeOptimizer(spec: OptimizerSpec): tf.Optimizer {
  checkOneOf('optimizer.name', spec.name, ['adam', 'sgd', 'rmsprop'] as const);
  if (!(spec.learningRate > 0)) throw new FerModelsError('E_BAD_OPTION', `optimizer.learningRate: got ${spec.learningRate}, expected a positive number, e.g. 1e-4.`);
  switch (spec.name) {
    case 'adam':
      return tf.train.adam(spec.learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
    case 'rmsprop':
      return tf.train.rmsprop(spec.learningRate, 0.9, spec.momentum ?? 0, spec.epsilon ?? 1e-7);
    default:
      return (spec.momentum ?? 0) > 0 ? tf.train.momentum(spec.learningRate, spec.momentum!, spec.nesterov ?? false) : tf.train.sgd(spec.learningRate);
  }
}

// --- Internal helpers ---

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
