/** Machine-readable error codes of @fer/engine. Branch on `code`, not `instanceof`. */
export type FerEngineErrorCode = string;

/**
 * The one error class of @fer/engine. The message says what was got, what was expected and how to fix it.
 * @example
 * try { ... } catch (e) { if ((e as FerEngineError).code === 'E_...') ... }
 */
export class FerEngineError extends Error {
  readonly code: FerEngineErrorCode;
  constructor(code: FerEngineErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-engine] ${message}`, options);
    this.name = 'FerEngineError';
    this.code = code;
  }
}
