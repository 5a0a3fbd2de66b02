/** Machine-readable error codes of @fer/models. Branch on `code`, not `instanceof`. */
export type FerModelsErrorCode =
  | 'E_UNKNOWN_MODEL'
  | 'E_DUPLICATE_MODEL'
  | 'E_BAD_OPTION'
  | 'E_BAD_MODEL_DEF'
  | 'E_BAD_INPUT'
  | 'E_CHECKPOINT_CORRUPT'
  | 'E_CHECKPOINT_MISSING'
  | 'E_NON_FINITE_LOSS'
  | 'E_DIVERGED'
  | 'E_RUN_EXISTS'
  | 'E_CHECKPOINT_MISMATCH'
  | 'E_FS'
  | 'E_MODEL_LOAD'
  | 'E_MISSING_DEPENDENCY'
  | 'E_ABORTED';

/**
 * The one error class of @fer/models. The message says what was got, what was expected and how to fix it.
 * @example
 * try { registry.get('mini-xeption'); } catch (e) { if ((e as FerModelsError).code === 'E_UNKNOWN_MODEL') ... }
 */
export class FerModelsError extends Error {
  readonly code: FerModelsErrorCode;
  constructor(code: FerModelsErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-models] ${message}`, options);
    this.name = 'FerModelsError';
    this.code = code;
  }
}
