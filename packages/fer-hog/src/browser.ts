// The browser entry of @fer/hog (the package's default export condition; Node resolves the `node` condition,
// index.ts). Free of Node built-ins: hog, hogBatch, hogImage. hogBatchParallel (worker_threads) is Node-only.
export { hog, hogBatch, hogLength } from './hog.js';
export { hogImage } from './hog-image.js';
export type { HogPicture } from './hog-image.js';
export type { HogBatchOptions, HogInputImage } from './hog.js';
export { HOG_BLOCK_NORMS, HOG_DEFAULTS, PAPER_HOG_OPTIONS } from './_options.js';
export type { HogBlockNorm, HogOptions, ResolvedHogOptions } from './_options.js';
export { FerHogError } from './errors.js';
export type { FerHogErrorCode } from './errors.js';
