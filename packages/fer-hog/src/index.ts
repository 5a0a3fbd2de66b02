export { FerHogError } from './errors.js';
export type { FerHogErrorCode } from './errors.js';
