/**
 * Machine-readable error codes of @fer/hog. Branch on `code`, not `instanceof`
 * (two copies of the package may be installed side by side).
 *
 * - `E_BAD_OPTION`: an unknown option key, or a value of the wrong type or range.
 * - `E_UNKNOWN_NORM`: `blockNorm` is not one of `'L1' | 'L1-sqrt' | 'L2' | 'L2-Hys'`.
 * - `E_BAD_SIZE`: `width`, `height` or `count` is not a positive integer.
 * - `E_BAD_IMAGE`: the pixel buffer has the wrong type or length, or holds values HOG cannot take.
 * - `E_CELL_TOO_LARGE`: the cells or blocks do not fit in the image (no complete block).
 * - `E_WORKER_FAILED`: a worker thread of `hogBatch({ workers })` failed.
 */
export type FerHogErrorCode =
  | 'E_BAD_OPTION'
  | 'E_UNKNOWN_NORM'
  | 'E_BAD_SIZE'
  | 'E_BAD_IMAGE'
  | 'E_CELL_TOO_LARGE'
  | 'E_WORKER_FAILED';

/**
 * The one error class of @fer/hog. The message says what was got, what was expected and how to fix it.
 * @example
 * try {
 *   hog({ data, width: 48, height: 48 }, { blockNorm: 'L3' as never });
 * } catch (e) {
 *   if ((e as FerHogError).code === 'E_UNKNOWN_NORM') { ... }
 * }
 */
export class FerHogError extends Error {
  readonly code: FerHogErrorCode;
  constructor(code: FerHogErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-hog] ${message}`, options);
    this.name = 'FerHogError';
    this.code = code;
  }
}
