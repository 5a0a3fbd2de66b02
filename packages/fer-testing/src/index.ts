// Private test utilities shared by the packages' tests (never published).
export { aleaDropoutMask, mulberry32, randomValues, seededInts } from './rng.js';
export { expectNoLeak } from './leak.js';
export { tinyFaces } from './fixtures.js';
export { ustarArchive } from './tar.js';
export { countCalls, errorCodeOf, expectAllClose, expectBitIdentical, expectNormClose, maxAbsDiff, rootMeanSquare } from './compare.js';
export { expectKernelClose, gradStep, readWeights, runKernelOn, setWeights, useFastCpuFilterGradient } from './tfjs.js';
export type { GradStep, KernelCase } from './tfjs.js';
