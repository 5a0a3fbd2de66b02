// Training-step contract shared with @fer/models (docs/architecture.md, "@fer/models").
// NOTE: @fer/engine must not import @fer/models, so these types are structurally identical copies.
import type * as tf from '@tensorflow/tfjs';

/** Optimizer and its hyper-parameters, as in @fer/models. Missing fields take the tfjs/Keras defaults. */
export interface OptimizerSpec {
  name: 'adam' | 'sgd' | 'rmsprop';
  learningRate: number;
  /** sgd: momentum (0 = plain SGD); rmsprop: momentum. */
  momentum?: number;
  /** sgd only: Nesterov momentum. */
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** One mini-batch, as plain data. `x` is `size * h * w * c` floats (NHWC); `y` holds class indices. */
export interface TrainStepBatch {
  x: Float32Array;
  /** Second model input (`hog`), `size * hogLength` floats, for hybrid models. */
  hog?: Float32Array;
  y: Uint8Array;
  size: number;
  /** Per-sample loss weights (e.g. class weights); the loss is `mean(w_i * CE_i)` as in tfjs-layers `fit`. */
  sampleWeights?: Float32Array;
}

/** One named optimizer slot (e.g. Adam's `iter`, `…/m`, `…/v`), as plain data for checkpoints. */
export interface OptimizerStateEntry {
  name: string;
  data: Float32Array;
  shape: number[];
}

/** Runs training steps for one model; what @fer/engine's data-parallel trainer implements. */
export interface TrainStepper {
  step(batch: TrainStepBatch, learningRate: number): Promise<{ loss: number; accuracy: number }>;
  /** Copy replica weights (incl. batch-norm moving statistics) into the main model. */
  syncToModel(): Promise<void>;
  getOptimizerState(): Promise<OptimizerStateEntry[]>;
  setOptimizerState(state: OptimizerStateEntry[]): Promise<void>;
  dispose(): Promise<void>;
}

/** Builds a {@link TrainStepper} for a model; `train({ stepper })` in @fer/models takes one. */
export type StepperFactory = (args: {
  model: tf.LayersModel;
  optimizer: OptimizerSpec;
  seed: number;
  /** Label smoothing epsilon in [0, 1); default 0. */
  labelSmoothing?: number;
}) => Promise<TrainStepper>;
