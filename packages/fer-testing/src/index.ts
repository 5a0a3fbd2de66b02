// Private test utilities shared by the packages' tests (never published).
export { mulberry32, seededInts } from './rng.js';
export { expectNoLeak } from './leak.js';
export { tinyFaces } from './fixtures.js';
