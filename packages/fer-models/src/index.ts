export { FerModelsError } from './errors.js';
export type { FerModelsErrorCode } from './errors.js';
