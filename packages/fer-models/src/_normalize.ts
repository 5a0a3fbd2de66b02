import { normalizerFromJSON, type NormalizerJSON } from '@fer/data';

/** Turns raw 0-255 pixels into the model's input floats. */
export type NormalizeFn = (pixels: Uint8Array, count: number) => Float32Array;

/** The normalizer described by `json` (a @fer/data NormalizerJSON), or pixels / 255 when `json` is absent. */
export function normalizerFor(json: unknown): NormalizeFn {
  if (json === undefined || json === null) {
    return (pixels) => {
      const out = new Float32Array(pixels.length);
      for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
      return out;
    };
  }
  const n = normalizerFromJSON(json as NormalizerJSON);
  return (pixels, count) => n.apply(pixels, count);
}
