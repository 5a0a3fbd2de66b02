// The browser entry of @fer/data (the package's default export condition; Node resolves the `node` condition,
// index.ts). Everything here is free of Node built-ins: data sets in memory, splits, normalization,
// augmentation, batches and toGray48. The file loaders (loadDataset, loadFer2013Csv, loadKaggleTrainTest,
// loadFerPlus, loadImageFolder) are Node-only: they are in index.ts alone.
export { FerDataError } from './errors.js';
export type { FerDataErrorCode } from './errors.js';
export { EMOTIONS, SPLITS, FERPLUS_EMOTIONS, IMAGE_SIZE, IMAGE_PIXELS, NO_LABEL } from './labels.js';
export type { Emotion, SplitName } from './labels.js';
export { createDataset, datasetStats, subsetDataset } from './dataset.js';
export type { FerDataset, SplitStats } from './dataset.js';
export { toGray48 } from './gray.js';
export { makeSyntheticFer, SYNTHETIC_DEFAULT_COUNTS } from './synthetic.js';
export type { SyntheticOptions } from './synthetic.js';
export { dropTestDuplicates, findDuplicates, splitIndices, stratifiedHoldout, stratifiedKFold } from './splits.js';
export type { DuplicateReport } from './splits.js';
export { fitNormalizer, normalizerFromJSON } from './normalize.js';
export type { Normalizer, NormalizerJSON, NormalizerKind } from './normalize.js';
export { augment, validateAugment, AUGMENT_NAMES } from './augment.js';
export { mulberry32 } from './_rng.js';
export type { AugmentSpec, FillMode } from './augment.js';
export { batchToTensors, classWeights, createBatcher } from './batcher.js';
export type { Batch, Batcher, BatcherOptions } from './batcher.js';
