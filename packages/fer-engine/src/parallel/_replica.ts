// One model replica: its own model copy and optimizer on this thread's tfjs backend.
// Runs inside a worker (see _worker.ts); kept free of worker_threads so it can be read in one go.
import * as tf from '@tensorflow/tfjs';
import { FerEngineError } from '../errors.js';
import { trainingLogProbs } from './_log-probs.js';
import { mixSeed, mulberry32 } from './_prng.js';
import type { GradResult, ReplicaInit, ReplicaMemory } from './_protocol.js';
import type { OptimizerSpec, OptimizerStateEntry } from './types.js';

/** A model replica that computes shard gradients and applies the averaged gradient. */
export class Replica {
  private constructor(
    private readonly init: ReplicaInit,
    private readonly model: tf.LayersModel,
    private optimizer: tf.Optimizer,
  ) {}

  /** Builds the model from the main model's topology and weights, and the optimizer from its spec. */
  static async create(init: ReplicaInit): Promise<Replica> {
    // NOTE: seed Math.random before anything draws from it (initializers, dropout), see seedStep().
    Math.random = mulberry32(mixSeed(init.seed, init.workerIndex, 0xffffffff));
    const model = await tf.models.modelFromJSON({ modelTopology: init.modelTopology as tf.io.ModelJSON['modelTopology'] });
    const weights = model.weights;
    if (weights.length !== init.weightSpecs.length || model.trainableWeights.length !== init.numTrainable) {
      model.dispose();
      throw new FerEngineError(
        'E_MODEL_MISMATCH',
        `Replica model has ${weights.length} weights (${model.trainableWeights.length} trainable), expected ` +
          `${init.weightSpecs.length} (${init.numTrainable} trainable). Use models built from standard tfjs layers only.`,
      );
    }
    const all = new Float32Array(init.weights);
    const values = init.weightSpecs.map((s, i) => {
      if (!sameShape(weights[i].shape, s.shape)) {
        throw new FerEngineError('E_MODEL_MISMATCH', `Replica weight ${i} "${weights[i].name}" has shape [${weights[i].shape}], expected [${s.shape}] as "${s.name}" in the main model.`);
      }
      // NOTE: slice() copies: the cpu backend would otherwise keep a view into the shared buffer.
      return tf.tensor(all.slice(s.offset, s.offset + s.size), s.shape);
    });
    model.setWeights(values);
    tf.dispose(values);
    return new Replica(init, model, createOptimizer(init.optimizer));
  }

  /** Loss and gradients on this worker's shard, written (already weighted by n/B) into this worker's slot. */
  grad(req: { step: number; batchSize: number; n: number; x: Float32Array; hog?: Float32Array; y: Uint8Array; w?: Float32Array }): GradResult {
    const { init, model } = this;
    const slot = new Float32Array(init.grads, init.workerIndex * init.gradSize * 4, init.gradSize);
    if (req.n === 0) {
      slot.fill(0);
      return { loss: 0, correct: 0, computeMs: 0, copyMs: 0 };
    }
    const t0 = performance.now();
    this.seedStep(req.step);
    const trainable = model.trainableWeights;
    const vars = trainable.map((w) => w.read() as tf.Variable);
    // NOTE: the forward pass updates the batch-norm moving statistics; keep the old ones (small) to
    // roll back a step that is rejected (non-finite loss), so a NaN batch cannot poison them.
    const frozen = model.nonTrainableWeights;
    const saved = frozen.map((w) => tf.clone(w.read()));
    let correctT: tf.Scalar | undefined;
    let result: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    try {
      result = tf.tidy(() => {
        const inputs = init.inputFields.map((field, i) => {
          const data = field === 'x' ? req.x : req.hog!;
          return tf.tensor(data, [req.n, ...(model.inputs[i].shape.slice(1) as number[])]);
        });
        const labels = tf.tensor1d(Int32Array.from(req.y), 'int32');
        let target = tf.oneHot(labels, init.numClasses).toFloat();
        if (init.labelSmoothing > 0) target = tf.add(tf.mul(target, 1 - init.labelSmoothing), init.labelSmoothing / init.numClasses);
        const weights = req.w ? tf.tensor1d(req.w) : null;
        return tf.variableGrads(() => {
          const { logProbs } = trainingLogProbs(model, inputs.length === 1 ? inputs[0] : inputs);
          correctT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logProbs, -1), labels), 'float32')) as tf.Scalar);
          // NOTE: the same loss as @fer/models' localStepper: cross-entropy from the logits (log-softmax;
          // clipped softmax output only for a model without a softmax head), sample-weighted, summed over the
          // shard and divided by the whole batch size B, plus this shard's share n/B of the layers'
          // regularization penalties (model.calculateLosses()). Summing the shards' values and gradients
          // gives exactly the whole-batch loss and gradient.
          const perSample = tf.neg(tf.sum(tf.mul(target, logProbs), -1));
          let loss = tf.div(tf.sum(weights ? tf.mul(perSample, weights) : perSample), req.batchSize) as tf.Scalar;
          const share = req.n / req.batchSize;
          for (const penalty of model.calculateLosses()) loss = tf.add(loss, tf.mul(penalty, share));
          return loss;
        }, vars);
      });
      const { value, grads } = result;
      const loss = value.dataSync()[0];
      if (!Number.isFinite(loss)) {
        frozen.forEach((w, i) => w.write(saved[i]));
        throw new FerEngineError(
          'E_NON_FINITE_LOSS',
          `Loss on this shard (${req.n} samples of step ${req.step}) is ${loss}. Expected a finite number. ` +
            'Lower the learning rate, check the inputs for NaN/Infinity, or add gradient-friendly normalization.',
        );
      }
      const t1 = performance.now();
      let offset = 0;
      for (let i = 0; i < trainable.length; i++) {
        const size = init.weightSpecs[i].size;
        const g = grads[vars[i].name];
        if (g) slot.set(g.dataSync() as Float32Array, offset);
        else slot.fill(0, offset, offset + size);
        offset += size;
      }
      return { loss, correct: correctT!.dataSync()[0], computeMs: t1 - t0, copyMs: performance.now() - t1 };
    } finally {
      if (result) tf.dispose([result.value, ...Object.values(result.grads)]);
      tf.dispose(saved);
      correctT?.dispose();
    }
  }

  /** Sums all gradient slots into slot 0 over elements [lo, hi). Always adds in slot order 0, 1, 2, ... */
  reduce(lo: number, hi: number): void {
    const { init } = this;
    const all = new Float32Array(init.grads);
    for (let k = 1; k < init.numWorkers; k++) {
      const base = k * init.gradSize;
      for (let j = lo; j < hi; j++) all[j] += all[base + j];
    }
  }

  /** Applies the reduced gradient in slot 0 with this replica's optimizer at `learningRate`. */
  apply(learningRate: number): void {
    const { init, model } = this;
    setLearningRate(this.optimizer, learningRate);
    const summed = new Float32Array(init.grads, 0, init.gradSize);
    const trainable = model.trainableWeights;
    tf.tidy(() => {
      const named: tf.NamedTensorMap = {};
      let offset = 0;
      for (let i = 0; i < trainable.length; i++) {
        const s = init.weightSpecs[i];
        // NOTE: a view, not a copy: the tensor is consumed and disposed inside this tidy, before slot 0 is rewritten.
        named[(trainable[i].read() as tf.Variable).name] = tf.tensor(summed.subarray(offset, offset + s.size), s.shape);
        offset += s.size;
      }
      this.optimizer.applyGradients(named);
    });
  }

  /** Writes all model weights (incl. batch-norm moving statistics) into the shared weights buffer. */
  readWeights(): void {
    const all = new Float32Array(this.init.weights);
    this.model.weights.forEach((w, i) => all.set(w.read().dataSync() as Float32Array, this.init.weightSpecs[i].offset));
  }

  /** Copies of all model weights (tests compare replicas with these). */
  getWeights(): Float32Array[] {
    return this.model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
  }

  async getOptimizerState(): Promise<OptimizerStateEntry[]> {
    const named = await this.optimizer.getWeights();
    const out = named.map(({ name, tensor }) => ({ name, data: Float32Array.from(tensor.dataSync()), shape: tensor.shape.slice() }));
    // NOTE: optimizers return their slot variables themselves (must live on) and a fresh `iter` scalar.
    for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
    // NOTE: as @fer/models' localStepper: Adam's setWeights recomputes beta^t with pow(), which differs in
    // the last bits from the running product; saving the products keeps a resumed run bit-identical.
    const adam = this.optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
    if (adam.accBeta1 && adam.accBeta2) {
      out.push({ name: '__accBeta1', data: Float32Array.from(adam.accBeta1.dataSync()), shape: [] });
      out.push({ name: '__accBeta2', data: Float32Array.from(adam.accBeta2.dataSync()), shape: [] });
    }
    return out;
  }

  /** Replaces the optimizer by a fresh one holding `state` (tfjs setWeights would leak the old slots). */
  async setOptimizerState(state: OptimizerStateEntry[]): Promise<void> {
    const fresh = createOptimizer(this.init.optimizer);
    const extra = state.filter((s) => s.name.startsWith('__'));
    const named = state.filter((s) => !s.name.startsWith('__')).map(({ name, data, shape }) => ({ name, tensor: tf.tensor(data, shape) }));
    try {
      await fresh.setWeights(named);
      const slots = fresh as unknown as Record<string, tf.Variable | undefined>;
      for (const e of extra) {
        const v = slots[e.name.slice(2)];
        if (v instanceof tf.Variable) tf.tidy(() => v.assign(tf.scalar(e.data[0])));
      }
    } catch (e) {
      fresh.dispose();
      throw new FerEngineError('E_BAD_OPTIMIZER_STATE', `Could not load optimizer state (${state.length} entries) into "${this.init.optimizer.name}": ${(e as Error).message}. Pass the state got from getOptimizerState() of a stepper with the same model and optimizer.`, { cause: e });
    } finally {
      tf.dispose(named.map((n) => n.tensor));
    }
    this.optimizer.dispose();
    this.optimizer = fresh;
  }

  memory(): ReplicaMemory {
    const m = tf.memory();
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    return { numTensors: m.numTensors, numBytes: m.numBytes, ...(wasm?.HEAPU8 ? { wasmHeapBytes: wasm.HEAPU8.byteLength } : {}) };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }

  // NOTE: tfjs Dropout draws masks with tf.randomUniform, whose default seed comes from Math.random().
  // Re-seeding Math.random per (seed, worker, step) makes every step's masks reproducible.
  private seedStep(step: number): void {
    Math.random = mulberry32(mixSeed(this.init.seed, this.init.workerIndex, step));
  }
}

/** Builds a tfjs optimizer from a spec (Keras defaults where the spec is silent). */
export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  switch (spec.name) {
    case 'adam':
      return tf.train.adam(spec.learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
    case 'sgd':
      return spec.momentum ? tf.train.momentum(spec.learningRate, spec.momentum, spec.nesterov ?? false) : tf.train.sgd(spec.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(spec.learningRate, 0.9, spec.momentum ?? 0, spec.epsilon ?? 1e-7);
  }
}

// --- Internal helpers ---

function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  // NOTE: SGD/momentum cache -learningRate in a scalar; setLearningRate refreshes it. Adam/RMSprop read the field.
  const o = optimizer as tf.Optimizer & { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === learningRate) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

function sameShape(a: readonly (number | null)[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
