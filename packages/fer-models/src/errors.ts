/** Machine-readable error codes of @fer/models. Branch on `code`, not `instanceof`. */
export type FerModelsErrorCode = string;

/**
 * The one error class of @fer/models. The message says what was got, what was expected and how to fix it.
 * @example
 * try { ... } catch (e) { if ((e as FerModelsError).code === 'E_...') ... }
 */
export class FerModelsError extends Error {
  readonly code: FerModelsErrorCode;
  constructor(code: FerModelsErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-models] ${message}`, options);
    this.name = 'FerModelsError';
    this.code = code;
  }
}
