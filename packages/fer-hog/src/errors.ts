/** Machine-readable error codes of @fer/hog. Branch on `code`, not `instanceof`. */
export type FerHogErrorCode = string;

/**
 * The one error class of @fer/hog. The message says what was got, what was expected and how to fix it.
 * @example
 * try { ... } catch (e) { if ((e as FerHogError).code === 'E_...') ... }
 */
export class FerHogError extends Error {
  readonly code: FerHogErrorCode;
  constructor(code: FerHogErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-hog] ${message}`, options);
    this.name = 'FerHogError';
    this.code = code;
  }
}
