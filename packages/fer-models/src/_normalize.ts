import * as ferData from '@fer/data';
import { FerModelsError } from './errors.js';

/** Turns raw 0-255 pixels into the model's input floats. */
export type NormalizeFn = (pixels: Uint8Array, count: number) => Float32Array;

/**
 * The normalizer described by `json` (a @fer/data NormalizerJSON), or pixels / 255 when `json` is absent.
 * NOTE: @fer/data's `normalizerFromJSON` is looked up at call time, so this package works with
 * versions of @fer/data that lack it as long as no normalizer is saved.
 */
export function normalizerFor(json: unknown): NormalizeFn {
  if (json === undefined || json === null) {
    return (pixels) => {
      const out = new Float32Array(pixels.length);
      for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
      return out;
    };
  }
  const fromJSON = (ferData as unknown as Record<string, unknown>).normalizerFromJSON;
  if (typeof fromJSON !== 'function') {
    throw new FerModelsError('E_MISSING_DEPENDENCY', 'the saved model has a normalizer but the installed @fer/data has no normalizerFromJSON. Update @fer/data.');
  }
  const n = (fromJSON as (j: unknown) => { apply(p: Uint8Array, c: number): Float32Array })(json);
  return (pixels, count) => n.apply(pixels, count);
}
