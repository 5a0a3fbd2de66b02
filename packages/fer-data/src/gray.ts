// RGBA or gray pictures of any size to the 48x48 gray bytes the models take. Browser-safe (no decoder, no
// file system): a page passes canvas ImageData, Node code the decoded PNG/JPEG.
import { FerDataError } from './errors.js';
import { IMAGE_SIZE } from './labels.js';

/**
 * Converts an RGBA (or gray) image of any size to 48x48 gray bytes, as loadImageFolder does: luma (0.299 R + 0.587 G + 0.114 B),
 * then an area-average resize (bilinear when enlarging), rounded. In a browser, pass a canvas's ImageData
 * (`{ data, width, height, channels: 4 }`; a Uint8ClampedArray is fine).
 * @example
 * const out = new Uint8Array(2304); toGray48({ data: rgba, width: 96, height: 96, channels: 4 }, out, 0);
 */
export function toGray48(img: { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: 1 | 3 | 4 }, out: Uint8Array, offset = 0): void {
  const { width: w, height: h, channels: ch, data } = img;
  if (w < 1 || h < 1 || data.length < w * h * ch) {
    throw new FerDataError('E_BAD_IMAGE', `toGray48: got ${data.length} bytes for ${w}x${h}x${ch}, expected ${w * h * ch}.`);
  }
  const gray = new Float32Array(w * h);
  if (ch === 1) for (let i = 0; i < w * h; i++) gray[i] = data[i];
  else for (let i = 0; i < w * h; i++) gray[i] = 0.299 * data[i * ch] + 0.587 * data[i * ch + 1] + 0.114 * data[i * ch + 2];
  const S = IMAGE_SIZE;
  let res = gray;
  if (w !== S || h !== S) {
    const wx = weights(w, S), wy = weights(h, S);
    const tmp = new Float32Array(S * h); // horizontal pass
    for (let y = 0; y < h; y++) for (let x = 0; x < S; x++) {
      let acc = 0;
      for (const [i, wt] of wx[x]) acc += gray[y * w + i] * wt;
      tmp[y * S + x] = acc;
    }
    res = new Float32Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      let acc = 0;
      for (const [i, wt] of wy[y]) acc += tmp[i * S + x] * wt;
      res[y * S + x] = acc;
    }
  }
  for (let i = 0; i < S * S; i++) {
    const v = Math.round(res[i]);
    out[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** Per output index: source indices and weights. Area average when shrinking, bilinear when enlarging. */
function weights(src: number, dst: number): [number, number][][] {
  const scale = src / dst;
  const out: [number, number][][] = [];
  for (let o = 0; o < dst; o++) {
    const list: [number, number][] = [];
    if (scale >= 1) {
      const a = o * scale, b = a + scale;
      for (let i = Math.floor(a); i < Math.ceil(b) && i < src; i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 1e-9) list.push([i, cover / scale]);
      }
    } else {
      const c = (o + 0.5) * scale - 0.5;
      const i0 = Math.floor(c), f = c - i0;
      const clampI = (i: number) => (i < 0 ? 0 : i >= src ? src - 1 : i);
      list.push([clampI(i0), 1 - f], [clampI(i0 + 1), f]);
    }
    out.push(list);
  }
  return out;
}
