// The trainer's defaults, apart from train.ts (file system, checkpoints) so the browser entry can read them
// (recipe.ts's RECIPE_DEFAULTS) without the trainer's Node code.
import type { TrainConfig } from './train.js';

/** The paper preset (Alizadeh & Fazel 2017): batch 128, 30 epochs, Adam 1e-4 (our choice), constant LR. */
export const TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  epochs: 30,
  batchSize: 128,
  seed: 1,
  optimizer: { name: 'adam', learningRate: 1e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  schedule: { kind: 'constant', stepSize: 10, gamma: 0.1, minLearningRate: 0, factor: 0.5, patience: 3 },
  earlyStopping: { patience: 0, minDelta: 0, restoreBest: true },
  classWeights: null,
  labelSmoothing: 0,
  evalBatchSize: 256,
}) as TrainConfig;
