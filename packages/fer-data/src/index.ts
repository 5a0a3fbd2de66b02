export { FerDataError } from './errors.js';
export type { FerDataErrorCode } from './errors.js';
