export { FerEngineError } from './errors.js';
export type { FerEngineErrorCode } from './errors.js';
