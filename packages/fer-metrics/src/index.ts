export { FerMetricsError } from './errors.js';
export type { FerMetricsErrorCode } from './errors.js';
