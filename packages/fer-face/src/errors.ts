/**
 * Machine-readable error codes of @fer/face. Branch on `code`, not `instanceof`
 * (two copies of the package may be installed side by side).
 *
 * - `E_BAD_OPTION`: an unknown option key, or a value of the wrong type or range.
 * - `E_BAD_IMAGE`: the image is not a tfjs tensor `[height, width, 1|3|4]` or `{ data, width, height, channels? }`
 *   with as many bytes as its size says.
 * - `E_BAD_INPUT`: a face passed to `cropFaces` has no finite box or keypoints.
 * - `E_BAD_MODEL`: the detector model is not BlazeFace's (its outputs are not 896 anchors x 1 score and 16 values).
 * - `E_FS`: the vendored model files cannot be read (Node entry `@fer/face/node`).
 */
export type FerFaceErrorCode = 'E_BAD_OPTION' | 'E_BAD_IMAGE' | 'E_BAD_INPUT' | 'E_BAD_MODEL' | 'E_FS';

/**
 * The one error class of @fer/face. The message says what was got, what was expected and how to fix it.
 * @example
 * try {
 *   await detector.detect({ data: new Uint8Array(3), width: 2, height: 2 });
 * } catch (e) {
 *   if ((e as FerFaceError).code === 'E_BAD_IMAGE') { ... }
 * }
 */
export class FerFaceError extends Error {
  readonly code: FerFaceErrorCode;
  constructor(code: FerFaceErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-face] ${message}`, options);
    this.name = 'FerFaceError';
    this.code = code;
  }
}
