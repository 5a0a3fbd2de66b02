/** Machine-readable error codes of @fer/metrics. Branch on `code`, not `instanceof`. */
export type FerMetricsErrorCode = string;

/**
 * The one error class of @fer/metrics. The message says what was got, what was expected and how to fix it.
 * @example
 * try { ... } catch (e) { if ((e as FerMetricsError).code === 'E_...') ... }
 */
export class FerMetricsError extends Error {
  readonly code: FerMetricsErrorCode;
  constructor(code: FerMetricsErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-metrics] ${message}`, options);
    this.name = 'FerMetricsError';
    this.code = code;
  }
}
