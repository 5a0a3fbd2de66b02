/** Machine-readable error codes of @fer/data. Branch on `code`, not `instanceof`. */
export type FerDataErrorCode = string;

/**
 * The one error class of @fer/data. The message says what was got, what was expected and how to fix it.
 * @example
 * try { ... } catch (e) { if ((e as FerDataError).code === 'E_...') ... }
 */
export class FerDataError extends Error {
  readonly code: FerDataErrorCode;
  constructor(code: FerDataErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-data] ${message}`, options);
    this.name = 'FerDataError';
    this.code = code;
  }
}
