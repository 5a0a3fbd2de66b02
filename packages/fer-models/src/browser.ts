// The browser entry of @fer/models (the package's default export condition; Node resolves the `node` condition,
// index.ts). Everything here is free of Node built-ins: the registry and the models, loadModel from a URL or
// from files in memory, and predict. saveModel, the file-system IO handlers and train (checkpoints on disk) are
// Node-only: they are in index.ts alone. scripts/browser-bundle.test.ts bundles this file for the browser.
export { FerModelsError } from './errors.js';
export type { FerModelsErrorCode } from './errors.js';
export { createRegistry, defineModel } from './registry.js';
export type { CreateOptions, ModelDef, ModelInputs, ModelRegistry, PaperRef, ReportedNumbers } from './registry.js';
export { builtinModels, paperTrainConfig } from './builtins.js';
export { RECIPE_DEFAULTS, modelRecipe, scaleWidths } from './recipe.js';
export type { ModelRecipe } from './recipe.js';
export type { BuiltinModelName } from './builtins.js';
export { paperDeep, paperHybridDeep, paperHybridShallow, paperShallow } from './models/paper.js';
export type { HybridExtraConfig, HybridHogConfig, PaperDeepConfig, PaperHybridDeepConfig, PaperHybridShallowConfig, PaperShallowConfig } from './models/paper.js';
export { vggFer } from './models/vgg-fer.js';
export type { VggFerConfig } from './models/vgg-fer.js';
export { miniXception } from './models/mini-xception.js';
export type { MiniXceptionConfig } from './models/mini-xception.js';
export { loadModelFromSource as loadModel, MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from './_load.js';
export type { ModelFiles, ModelSource } from './_load.js';
export type { LoadedModel, SavedModelMeta, StoredModelMeta } from './save-load.js';
export { predict } from './predict.js';
export type { Prediction, PredictOptions } from './predict.js';
export { localStepper, makeOptimizer } from './stepper.js';
export type { OptimizerSpec, OptimizerStateEntry, StepperFactory, TrainStepBatch, TrainStepper } from './stepper.js';
export { TRAIN_DEFAULTS } from './_train-defaults.js';
export type { EpochRecord, ProgressEvent, TrainArgs, TrainConfig, TrainResult, TrainSource, TrainWarning, ValidationSet } from './train.js';
