// Messages between the main thread (data-parallel.ts) and a replica worker (_worker.ts).
import type { OptimizerSpec } from './types.js';

/** Layout of one model weight inside the shared weights buffer (Float32 elements). */
export interface WeightSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** What a worker gets in `workerData`. */
export interface ReplicaInit {
  workerIndex: number;
  numWorkers: number;
  backend: 'wasm' | 'cpu';
  /** wasm: use the native kernels (`'auto'`: when they load), with this many threads. */
  native: boolean | 'auto';
  nativeThreads: number;
  /** `model.toJSON(null, false)` of the main model. */
  modelTopology: unknown;
  /** All model weights (`model.weights`: trainable first, then non-trainable). */
  weightSpecs: WeightSpec[];
  numTrainable: number;
  /** Float32 elements of all trainable weights = length of one gradient slot. */
  gradSize: number;
  /** `model.weights` values, packed by `weightSpecs`; also used by `readWeights`. */
  weights: SharedArrayBuffer;
  /** `numWorkers` gradient slots of `gradSize` floats each; slot 0 holds the reduced sum. */
  grads: SharedArrayBuffer;
  /** For each model input, in order: which batch field feeds it. */
  inputFields: ('x' | 'hog')[];
  numClasses: number;
  /** Label smoothing epsilon: targets are `onehot * (1 - eps) + eps / numClasses`. */
  labelSmoothing: number;
  optimizer: OptimizerSpec;
  seed: number;
}

export type Request =
  | { type: 'grad'; step: number; batchSize: number; n: number; x: Float32Array; hog?: Float32Array; y: Uint8Array; w?: Float32Array }
  | { type: 'reduce'; lo: number; hi: number }
  | { type: 'apply'; learningRate: number }
  | { type: 'readWeights' }
  | { type: 'getWeights' }
  | { type: 'getOptState' }
  | { type: 'setOptState'; state: { name: string; data: Float32Array; shape: number[] }[] }
  | { type: 'memory' }
  | { type: 'dispose' };

export interface GradResult {
  /** This shard's contribution to the batch loss: `sum(w_i * CE_i) / B + (n / B) * regularization`. */
  loss: number;
  correct: number;
  /** Forward + backward time, and the time to copy the gradients into the shared slot. */
  computeMs: number;
  copyMs: number;
}

export interface ReplicaMemory {
  numTensors: number;
  numBytes: number;
  /** Size of the wasm heap in bytes (wasm backend only; it never shrinks, so growth = a leak). */
  wasmHeapBytes?: number;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError };
