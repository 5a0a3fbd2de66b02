/** Machine-readable error codes of @fer/metrics. Branch on `code`, not `instanceof`. */
export type FerMetricsErrorCode =
  | 'E_EMPTY_INPUT' // no rows (or no values) where at least one is needed
  | 'E_LENGTH_MISMATCH' // two arrays that must pair up row by row have different lengths
  | 'E_BAD_LABEL' // a label is not an integer in [0, numClasses)
  | 'E_BAD_PROBABILITIES' // probabilities of the wrong shape, negative, NaN, or rows not summing to 1
  | 'E_BAD_OPTION' // an unknown option key, or an option of the wrong type or range
  | 'E_BAD_INPUT' // a non-finite value where a finite number is needed
  | 'E_RENDER'; // vega or resvg failed to render a chart

/**
 * The one error class of @fer/metrics. The message says what was got, what was expected and how to fix it.
 * @example
 * try {
 *   confusionMatrix({ actual: [0, 1], predicted: [0] });
 * } catch (e) {
 *   if ((e as FerMetricsError).code === 'E_LENGTH_MISMATCH') { ... }
 * }
 */
export class FerMetricsError extends Error {
  readonly code: FerMetricsErrorCode;
  constructor(code: FerMetricsErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-metrics] ${message}`, options);
    this.name = 'FerMetricsError';
    this.code = code;
  }
}
