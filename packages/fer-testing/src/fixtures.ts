import { mulberry32 } from './rng.js';

/**
 * `count` tiny seeded 48x48 gray "faces" with labels cycling over the 7 classes:
 * { pixels: Uint8Array(count*2304), labels: Uint8Array(count) }. Not meant to be learnable.
 */
export function tinyFaces(count = 10, seed = 1): { pixels: Uint8Array; labels: Uint8Array; width: 48; height: 48 } {
  const r = mulberry32(seed);
  const pixels = new Uint8Array(count * 48 * 48);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(r() * 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 7);
  return { pixels, labels, width: 48, height: 48 };
}
